//! One endpoint: its names resolved, and every address connected to, TLS set up, and (for the
//! login server) asked `GET /v2/`, all at once.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Instant;

use super::conn::{self, left};
use super::dns::Resolver;
use super::http;
use super::proxy::{Proxy, ProxyConfig};
use super::result::{AddressCheck, Connect, EndpointCheck, Http, Outcome};
use super::tcpinfo;
use super::tls::{self, TlsStream, Trust};
use crate::classify::rules::Rules;

/// A registry's answer bodies are small; the probe reads no more of them than this.
pub const BODY_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

/// What every check needs.
pub struct Context<'a> {
    pub rules: &'a Rules,
    pub resolver: &'a Resolver,
    pub proxies: &'a ProxyConfig,
    pub trust: &'a Trust,
    pub family: Option<u8>,
    pub deadline: Instant,
    pub progress: &'a (dyn Fn(&str) + Sync),
}

impl Context<'_> {
    /// Resolves `t` and checks each of its addresses; `path` is asked on each.
    pub fn endpoint(&self, t: &Target, why: &'static str, path: Option<&str>) -> EndpointCheck {
        let mut e = self.resolve(t, why);
        self.check_addresses(&mut e, t, path);
        e
    }

    /// The endpoint's names resolved (A and AAAA at once); through a proxy, nothing: the
    /// runtime leaves DNS to the proxy.
    pub fn resolve(&self, t: &Target, why: &'static str) -> EndpointCheck {
        let class = self.rules.classify(&t.host);
        let mut e = EndpointCheck {
            host: t.host.clone(),
            role: class.role,
            why,
            registry: class.registry.as_deref().map(str::to_string),
            region: class.region.as_deref().map(str::to_string),
            dns: Vec::new(),
            addresses: Vec::new(),
            verdict: String::new(),
            ok: false,
        };
        if self.proxies.for_host(&t.host, t.port).is_some() {
            return e;
        }
        e.dns = std::thread::scope(|s| {
            let jobs: Vec<_> = super::qtypes(self.family)
                .into_iter()
                .map(|q| s.spawn(move || self.resolver.lookup(&t.host, q, self.deadline)))
                .collect();
            jobs.into_iter().filter_map(|j| j.join().ok()).collect()
        });
        for d in &e.dns {
            (self.progress)(&dns_line(d));
        }
        // The region a name of the chain carries (a geo-replica's, a private link's), else the
        // front end's `*.<region>.cloudapp.azure.com`.
        if e.region.is_none() {
            let chain = e.chain();
            let named = chain.iter().skip(1).find_map(|n| self.rules.classify(n).region);
            let region =
                named.map(|r| r.to_string()).or_else(|| chain.iter().find_map(|n| crate::analysis::cloudapp_region(n)));
            e.region = region;
        }
        e
    }

    /// Every address of `e` (or the proxy) checked at once.
    pub fn check_addresses(&self, e: &mut EndpointCheck, t: &Target, path: Option<&str>) {
        if let Some(p) = self.proxies.for_host(&t.host, t.port) {
            e.addresses.push(self.via_proxy(p, t, path));
            return;
        }
        let mut addrs: Vec<IpAddr> = e.dns.iter().flat_map(|d| d.addresses.iter().copied()).collect();
        addrs.dedup();
        e.addresses = std::thread::scope(|s| {
            let jobs: Vec<_> = addrs.iter().map(|a| s.spawn(move || self.address(t, *a, path))).collect();
            jobs.into_iter().filter_map(|j| j.join().ok()).collect()
        });
    }

    /// Connect, TLS and `path` on one address.
    fn address(&self, t: &Target, addr: IpAddr, path: Option<&str>) -> AddressCheck {
        let (connect, stream) = conn::connect(SocketAddr::new(addr, t.port), self.deadline);
        let mut check = AddressCheck { address: addr, port: t.port, connect, tunnel: None, tls: None, http: None };
        (self.progress)(&format!("{} {addr}:{} connect: {}", t.host, t.port, step(&check.connect)));
        if let Some(s) = stream {
            self.over_tcp(&mut check, t, s, path);
        }
        check
    }

    /// Through the proxy: the runtime leaves DNS to it, so the only address is the proxy's.
    fn via_proxy(&self, p: &Proxy, t: &Target, path: Option<&str>) -> AddressCheck {
        let addr = match conn::proxy_address(p) {
            Ok(a) => a,
            Err(e) => {
                let failed = Connect { outcome: Outcome::Error, ms: 0.0, error: Some(e), tcp: None };
                let none: IpAddr = [0, 0, 0, 0].into();
                return AddressCheck { address: none, port: 0, connect: failed, tunnel: None, tls: None, http: None };
            }
        };
        let (connect, stream) = conn::connect(addr, self.deadline);
        let mut check =
            AddressCheck { address: addr.ip(), port: addr.port(), connect, tunnel: None, tls: None, http: None };
        (self.progress)(&format!("proxy {} connect: {}", p.authority, step(&check.connect)));
        let Some(mut s) = stream else { return check };
        let tunnel = conn::tunnel(&mut s, p, &t.host, t.port);
        (self.progress)(&format!("proxy {} CONNECT {}:{}: {}", p.authority, t.host, t.port, tunnel.outcome.word()));
        let through = tunnel.outcome == Outcome::Ok;
        check.tunnel = Some(tunnel);
        if through {
            self.over_tcp(&mut check, t, s, path);
        }
        check
    }

    fn over_tcp(&self, check: &mut AddressCheck, t: &Target, s: TcpStream, path: Option<&str>) {
        let (tls, stream) = tls::handshake(self.trust, self.rules, &t.host, s);
        (self.progress)(&format!("{} {} TLS: {} in {:.1} ms", t.host, check.address, tls.outcome.word(), tls.ms));
        check.tls = Some(tls);
        let Some(mut stream) = stream else { return };
        if let Some(path) = path {
            let h = get(&mut stream, &t.host, path, &[]);
            (self.progress)(&format!(
                "{} {} GET {path}: {}",
                t.host,
                check.address,
                h.status_line.as_deref().unwrap_or("no answer")
            ));
            check.http = Some(h);
        }
        // Read last, so that the round trip is sampled over the whole exchange.
        if check.tunnel.is_none() {
            check.connect.tcp = tcpinfo::read(&stream.sock).or(check.connect.tcp);
        }
    }

    /// A fresh TLS connection to the first address of `e` a runtime could use.
    pub fn reconnect(&self, e: &EndpointCheck, t: &Target) -> Result<TlsStream, String> {
        let usable = e.addresses.iter().find(|a| a.usable()).ok_or_else(|| {
            format!("no address of {} gave a connection a runtime would use (its findings say why)", t.host)
        })?;
        let s = match &usable.tunnel {
            Some(_) => {
                let p = self.proxies.for_host(&t.host, t.port).ok_or("the proxy went away")?;
                let (c, s) = conn::connect(SocketAddr::new(usable.address, usable.port), self.deadline);
                let mut s = s.ok_or_else(|| format!("the proxy's connection {}", c.outcome.word()))?;
                let tunnel = conn::tunnel(&mut s, p, &t.host, t.port);
                if tunnel.outcome != Outcome::Ok {
                    return Err(format!("the proxy's CONNECT {}", tunnel.outcome.word()));
                }
                s
            }
            None => {
                let (c, s) = conn::connect(SocketAddr::new(usable.address, t.port), self.deadline);
                s.ok_or_else(|| format!("the connection to {} {}", usable.address, c.outcome.word()))?
            }
        };
        let _ = s.set_read_timeout(Some(left(self.deadline)));
        let (tls, stream) = tls::handshake(self.trust, self.rules, &t.host, s);
        stream.filter(|_| tls.verified).ok_or_else(|| format!("TLS with {} {}", t.host, tls.outcome.word()))
    }
}

/// `GET path`, its answer summed up (the body is read and dropped).
pub fn get(s: &mut TlsStream, host: &str, path: &str, headers: &[(&str, &str)]) -> Http {
    let mut h = Http { request: format!("GET {path}"), ..Http::default() };
    match http::get_head(s, host, path, headers) {
        Ok((head, _)) => fill(&mut h, &head),
        Err(e) => h.error = Some(e.to_string()),
    }
    h
}

pub fn fill(h: &mut Http, head: &http::Head) {
    h.status = Some(head.status);
    h.status_line = Some(head.line.clone());
    h.ms = head.ttfb_ms;
    h.server = head.header("server").map(str::to_string);
    h.www_authenticate = head.header("www-authenticate").map(str::to_string);
    h.location = head.header("location").map(str::to_string);
}

/// The host of a `Bearer realm="https://host/oauth2/token",…` challenge.
pub fn realm_target(challenge: &str) -> Option<Target> {
    let realm = param(challenge, "realm")?;
    url_target(&realm)
}

/// One parameter of an authentication challenge.
pub fn param(challenge: &str, name: &str) -> Option<String> {
    let at = challenge.to_ascii_lowercase().find(&format!("{name}=\""))?;
    let rest = &challenge[at + name.len() + 2..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Host and port of an `https://` URL.
pub fn url_target(url: &str) -> Option<Target> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?']).next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (authority, 443),
    };
    (!host.is_empty()).then(|| Target { host: host.to_ascii_lowercase(), port })
}

fn step(c: &Connect) -> String {
    match c.outcome {
        Outcome::Ok => format!("ok in {:.1} ms", c.ms),
        o => format!("{} after {:.1} ms", o.word(), c.ms),
    }
}

fn dns_line(d: &super::result::DnsAnswer) -> String {
    let answer = d.rcode.unwrap_or("no answer");
    format!("{} {}: {answer} in {:.1} ms, {} address(es)", d.name, d.qtype, d.ms, d.addresses.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_realm_of_a_challenge() {
        let c = r#"Bearer realm="https://fabrikamreg.azurecr.io/oauth2/token",service="fabrikamreg.azurecr.io""#;
        assert_eq!(realm_target(c), Some(Target { host: "fabrikamreg.azurecr.io".into(), port: 443 }));
        assert_eq!(param(c, "service").as_deref(), Some("fabrikamreg.azurecr.io"));
        assert_eq!(url_target("https://Auth.Example:8443/token?x=1").unwrap().port, 8443);
        assert_eq!(realm_target("Basic realm=\"x\""), None);
        assert_eq!(realm_target("Bearer realm=\"https://"), None);
    }
}
