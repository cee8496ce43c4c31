//! `acrscope probe`: every endpoint a pull from one registry needs, checked from this host
//! with plain sockets (no capture, no privilege), and judged in the findings' vocabulary of a
//! capture. Checks of one stage run at once, each bounded by one deadline (`--timeout`), so a
//! probe of a name that does not answer ends in time.

pub mod conn;
pub mod dns;
pub mod endpoint;
pub mod http;
pub mod image;
pub mod proxy;
pub mod result;
pub mod tcpinfo;
pub mod text;
pub mod tls;
pub mod verdict;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use crate::classify::rules::Rules;
use endpoint::{Context, Target};
use result::{EndpointCheck, ProbeReport};

/// What `acrscope probe` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// `fabrikamreg`, `fabrikamreg.azurecr.io`, or any registry host (optionally `:port`).
    pub name: String,
    /// `repository:tag` (or `@digest`) to follow to its first layer.
    pub image: Option<String>,
    pub timeout: Duration,
    /// 4 or 6: only that family's addresses.
    pub family: Option<u8>,
    pub ca_files: Vec<PathBuf>,
    /// Instead of resolv.conf's servers.
    pub resolvers: Vec<SocketAddr>,
    /// `user`, `password` for the registry's token service.
    pub credentials: Option<(String, String)>,
}

/// `fabrikamreg` → `fabrikamreg.azurecr.io`; a URL or `host:port` is cut to its host and port.
pub fn login_target(name: &str) -> Result<Target, String> {
    let rest = name.split_once("://").map_or(name, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("").trim().trim_end_matches('.').to_ascii_lowercase();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            (h.to_string(), p.parse().map_err(|_| format!("{name}: `{p}` is not a port number"))?)
        }
        _ => (authority.clone(), 443),
    };
    let valid = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !valid {
        return Err(format!("`{name}` is not a registry name: give `fabrikamreg` or `fabrikamreg.azurecr.io`"));
    }
    let host = if host.contains('.') { host } else { format!("{host}.azurecr.io") };
    Ok(Target { host, port })
}

/// Runs every check; `progress` hears one line per check as it ends (from several threads).
pub fn run(opts: &Options, rules: &Rules, progress: &(dyn Fn(&str) + Sync)) -> Result<ProbeReport, String> {
    let started = Instant::now();
    let login = login_target(&opts.name)?;
    let resolver = if opts.resolvers.is_empty() {
        dns::Resolver::system()?
    } else {
        dns::Resolver { servers: opts.resolvers.clone() }
    };
    let proxies = proxy::ProxyConfig::from_env()?;
    let trust = tls::Trust::load(&opts.ca_files)?;
    let cx = Context {
        rules,
        resolver: &resolver,
        proxies: &proxies,
        trust: &trust,
        family: opts.family,
        deadline: started + opts.timeout,
        progress,
    };
    let login_check = cx.endpoint(&login, "login server", Some("/v2/"));
    let (mut endpoints, mut image) = (vec![login_check], None);
    let more: Vec<(Target, &'static str)> = derived(&cx, &endpoints[0], login.port);
    endpoints.extend(std::thread::scope(|s| {
        let jobs: Vec<_> = more.iter().map(|(t, why)| s.spawn(|| cx.endpoint(t, why, None))).collect();
        jobs.into_iter().filter_map(|j| j.join().ok()).collect::<Vec<_>>()
    }));
    if let Some(reference) = &opts.image {
        let (checked, redirect) = image::follow(&cx, &endpoints, &login, reference, opts.credentials.as_ref());
        if let Some(ep) = redirect {
            if !endpoints.iter().any(|e| e.host == ep.host) {
                endpoints.push(ep);
            }
        }
        image = Some(checked);
    }
    let findings = verdict::judge(&mut endpoints, image.as_ref(), rules);
    Ok(ProbeReport {
        registry: endpoints[0].registry.clone().unwrap_or_else(|| login.host.clone()),
        login_server: login.host.clone(),
        resolvers: resolver.servers.clone(),
        proxy: proxies.https.as_ref().map(|p| p.authority.clone()),
        timeout_s: opts.timeout.as_secs_f64(),
        elapsed_s: started.elapsed().as_secs_f64(),
        findings,
        endpoints,
        image,
    })
}

/// The hosts the login server's answers point to: the dedicated data endpoint of the region
/// its CNAME chain names, and the token realm's host when it is another.
fn derived(cx: &Context, login: &EndpointCheck, port: u16) -> Vec<(Target, &'static str)> {
    let mut out = Vec::new();
    let class = cx.rules.classify(&login.host);
    if let (Some(reg), Some(region), Some(suffix)) =
        (&login.registry, &login.region, login.host.split_once(".azurecr.").map(|(_, s)| s))
    {
        if class.provider.as_deref() == Some("acr") {
            let host = format!("{reg}.{region}.data.azurecr.{suffix}");
            out.push((Target { host, port }, "dedicated data endpoint"));
        }
    }
    if let Some(realm) = login.addresses.iter().find_map(|a| a.http.as_ref()?.www_authenticate.as_deref()) {
        if let Some(t) = endpoint::realm_target(realm).filter(|t| t.host != login.host) {
            out.push((t, "token realm"));
        }
    }
    out
}

/// The families asked for: A unless `--ipv6`, AAAA unless `--ipv4`.
pub fn qtypes(family: Option<u8>) -> Vec<RecordType> {
    match family {
        Some(4) => vec![RecordType::A],
        Some(6) => vec![RecordType::AAAA],
        _ => vec![RecordType::A, RecordType::AAAA],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_is_named_as_users_name_it() {
        let t = |n: &str| login_target(n).map(|t| format!("{}:{}", t.host, t.port));
        assert_eq!(t("fabrikamreg").unwrap(), "fabrikamreg.azurecr.io:443");
        assert_eq!(t("FabrikamReg.azurecr.io.").unwrap(), "fabrikamreg.azurecr.io:443");
        assert_eq!(t("https://fabrikamreg.azurecr.io/v2/").unwrap(), "fabrikamreg.azurecr.io:443");
        assert_eq!(t("registry.example:5000").unwrap(), "registry.example:5000");
        assert!(t("fab rikam").unwrap_err().contains("not a registry name"));
        assert!(t("").is_err());
        assert!(t("r.example:http").unwrap_err().contains("port"));
    }
}
