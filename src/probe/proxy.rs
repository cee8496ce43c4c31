//! The proxy a container runtime would use for a host: `HTTPS_PROXY` and `NO_PROXY` read as
//! Go's `httpproxy.FromEnvironment` reads them (Docker and containerd both use it), since a
//! probe that disagrees with the runtime about the proxy tests the wrong path.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `host:port` as given (a name or an address).
    pub authority: String,
    /// `user:password` from the URL, for `Proxy-Authorization: Basic`.
    pub credentials: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    pub https: Option<Proxy>,
    no_proxy: Vec<String>,
}

impl ProxyConfig {
    /// From the environment: upper case first, as Go reads it.
    pub fn from_env() -> Result<ProxyConfig, String> {
        let var = |a: &str, b: &str| std::env::var(a).ok().or_else(|| std::env::var(b).ok()).filter(|v| !v.is_empty());
        ProxyConfig::new(var("HTTPS_PROXY", "https_proxy").as_deref(), var("NO_PROXY", "no_proxy").as_deref())
    }

    pub fn new(https_proxy: Option<&str>, no_proxy: Option<&str>) -> Result<ProxyConfig, String> {
        let https = https_proxy.map(parse_url).transpose()?;
        let no_proxy = no_proxy
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(ProxyConfig { https, no_proxy })
    }

    /// The proxy for `https://host:port`, or `None` to connect directly.
    pub fn for_host(&self, host: &str, port: u16) -> Option<&Proxy> {
        let proxy = self.https.as_ref()?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host == "localhost" || host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback()) {
            return None;
        }
        (!self.no_proxy.iter().any(|e| bypasses(e, &host, port))).then_some(proxy)
    }
}

fn parse_url(url: &str) -> Result<Proxy, String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "HTTPS_PROXY={url}: acrscope probe speaks to http:// proxies only, not {scheme}://; \
                 give the proxy as http://host:port"
            ))
        }
        None => url,
    };
    let rest = rest.split('/').next().unwrap_or(rest);
    let (credentials, authority) = match rest.rsplit_once('@') {
        Some((c, a)) => (Some(c.to_string()), a),
        None => (None, rest),
    };
    if authority.is_empty() {
        return Err(format!("HTTPS_PROXY={url} names no proxy host"));
    }
    // Go's default port for an http:// proxy.
    let has_port = authority.rsplit_once(':').is_some_and(|(h, p)| !h.ends_with(':') && p.parse::<u16>().is_ok());
    let authority = if has_port { authority.to_string() } else { format!("{authority}:80") };
    Ok(Proxy { authority, credentials })
}

/// One `NO_PROXY` entry: `*`, a host and its subdomains (`example.com`, `.example.com`), an
/// address, or a CIDR block; any of them with `:port`.
fn bypasses(entry: &str, host: &str, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some((net, bits)) = entry.split_once('/') {
        return match (net.parse::<IpAddr>(), bits.parse::<u8>(), host.parse::<IpAddr>()) {
            (Ok(n), Ok(b), Ok(h)) => in_block(h, n, b),
            _ => false,
        };
    }
    let (name, want_port) = match entry.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse::<u16>().ok()),
        _ => (entry, None),
    };
    if want_port.is_some_and(|p| p != port) {
        return false;
    }
    let name = name.trim_start_matches("*.").trim_start_matches('.');
    host == name || host.strip_suffix(name).is_some_and(|s| s.ends_with('.'))
}

fn in_block(host: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (host, net) {
        (IpAddr::V4(h), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(h) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(h), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(h) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_as_go_does() {
        let c = ProxyConfig::new(
            Some("http://u:p@proxy.corp:3128"),
            Some("corp.example, .internal,10.0.0.0/8,registry.io:8443"),
        )
        .unwrap();
        let p = c.https.clone().unwrap();
        assert_eq!((p.authority.as_str(), p.credentials.as_deref()), ("proxy.corp:3128", Some("u:p")));
        assert!(c.for_host("corp.example", 443).is_none());
        assert!(c.for_host("a.corp.example", 443).is_none());
        assert!(c.for_host("notcorp.example", 443).is_some());
        assert!(c.for_host("x.internal", 443).is_none());
        assert!(c.for_host("10.1.2.3", 443).is_none());
        assert!(c.for_host("11.1.2.3", 443).is_some());
        assert!(c.for_host("registry.io", 443).is_some(), "another port");
        assert!(c.for_host("127.0.0.1", 443).is_none(), "loopback is never proxied");
        assert!(ProxyConfig::new(Some("p:3128"), Some("*")).unwrap().for_host("a.b", 443).is_none());
        assert_eq!(ProxyConfig::new(Some("p"), None).unwrap().https.unwrap().authority, "p:80");
        assert!(ProxyConfig::new(Some("socks5://p:1080"), None).unwrap_err().contains("http://"));
        assert!(ProxyConfig::new(None, None).unwrap().for_host("a.b", 443).is_none());
    }
}
