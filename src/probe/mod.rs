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
    let host = match host.as_str() {
        // Docker Hub's names for itself; its API is served by another host, as the runtime knows.
        "docker.io" | "index.docker.io" => "registry-1.docker.io".to_string(),
        h if h.contains('.') => host,
        _ => format!("{host}.azurecr.io"),
    };
    Ok(Target { host, port })
}

/// Runs every check; `progress` hears one line per check as it ends (from several threads).
pub fn run(opts: &Options, rules: &Rules, progress: &(dyn Fn(&str) + Sync)) -> Result<ProbeReport, String> {
    let started = Instant::now();
    let login = login_target(&opts.name)?;
    let resolver = if opts.resolvers.is_empty() {
        dns::Resolver::system()?
    } else {
        dns::Resolver { servers: opts.resolvers.clone(), hosts: Vec::new() }
    };
    let proxies = proxy::ProxyConfig::from_env()?;
    let trust = tls::Trust::load(&opts.ca_files)?;
    let cx = Context {
        rules,
        resolver: &resolver,
        proxies: &proxies,
        trust: &trust,
        family: opts.family,
        // A little before the limit, so that the report is out by then.
        deadline: started + opts.timeout.saturating_sub(Duration::from_millis(50)),
        progress,
    };
    let mut login_check = cx.resolve(&login, "login server");
    // The data endpoint's name comes from the login server's CNAME chain, not from its
    // answers: checked while the login server's addresses are, so that one address that
    // does not answer leaves the other endpoints their time.
    let data = data_endpoint(&cx, &login_check, login.port);
    let (data_check, realm_check, image) = std::thread::scope(|s| {
        let job = data.as_ref().map(|t| s.spawn(|| cx.endpoint(t, "dedicated data endpoint", None)));
        cx.check_addresses(&mut login_check, &login, Some("/v2/"));
        // The realm and the image need only the login server: they go on while the data
        // endpoint is still being waited for.
        let realm_check = realm(&login_check).map(|t| cx.endpoint(&t, "token realm", None));
        let known: Vec<EndpointCheck> = std::iter::once(login_check.clone()).chain(realm_check.clone()).collect();
        let image = opts
            .image
            .as_ref()
            .map(|reference| image::follow(&cx, &known, &login, reference, opts.credentials.as_ref()));
        (job.and_then(|j| j.join().ok()), realm_check, image)
    });
    let mut endpoints = vec![login_check];
    endpoints.extend(data_check);
    endpoints.extend(realm_check);
    let image = image.map(|(checked, redirect)| {
        // A redirect to the data endpoint already checked is that endpoint.
        endpoints.extend(redirect.filter(|ep| !endpoints.iter().any(|e| e.host == ep.host)));
        checked
    });
    let findings = verdict::judge(&mut endpoints, image.as_ref(), rules);
    let notes = notes(&endpoints, data.is_some(), &proxies, &login);
    Ok(ProbeReport {
        registry: endpoints[0].registry.clone().unwrap_or_else(|| login.host.clone()),
        login_server: login.host.clone(),
        resolvers: resolver.servers.clone(),
        proxy: proxies.https.as_ref().map(|p| p.authority.clone()),
        timeout_s: opts.timeout.as_secs_f64(),
        elapsed_s: started.elapsed().as_secs_f64(),
        findings,
        notes,
        endpoints,
        image,
    })
}

/// The dedicated data endpoint of the region the login server's CNAME chain names.
fn data_endpoint(cx: &Context, login: &EndpointCheck, port: u16) -> Option<Target> {
    let class = cx.rules.classify(&login.host);
    let suffix = login.host.split_once(".azurecr.").map(|(_, s)| s)?;
    let (reg, region) = (login.registry.as_ref()?, login.region.as_ref()?);
    (class.provider.as_deref() == Some("acr"))
        .then(|| Target { host: format!("{reg}.{region}.data.azurecr.{suffix}"), port })
}

/// The token realm's host, when it is not the login server.
fn realm(login: &EndpointCheck) -> Option<Target> {
    let challenge = login.addresses.iter().find_map(|a| a.http.as_ref()?.www_authenticate.as_deref())?;
    endpoint::realm_target(challenge).filter(|t| t.host != login.host)
}

/// What was not checked, and why, in words a user can act on.
fn notes(endpoints: &[EndpointCheck], data: bool, proxies: &proxy::ProxyConfig, login: &Target) -> Vec<String> {
    let mut out = Vec::new();
    let login_check = &endpoints[0];
    let acr = login_check.role == crate::classify::rules::Role::AcrLogin;
    if acr && !data {
        let why = if proxies.for_host(&login.host, login.port).is_some() {
            "the proxy resolves the login server, so its CNAME chain (which names the region) is not seen here"
        } else {
            "the login server's CNAME chain names no region"
        };
        out.push(format!(
            "The dedicated data endpoint was not checked: {why}. Give --image REPO:TAG to follow a layer to where it \
             comes from."
        ));
    }
    for e in endpoints.iter().filter(|e| e.not_run()) {
        out.push(format!("{} was not checked: the time (--timeout) ran out first.", e.host));
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
        assert_eq!(t("docker.io").unwrap(), "registry-1.docker.io:443");
        assert!(t("fab rikam").unwrap_err().contains("not a registry name"));
        assert!(t("").is_err());
        assert!(t("r.example:http").unwrap_err().contains("port"));
    }
}
