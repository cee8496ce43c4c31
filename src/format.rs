//! Names and units as every view prints them: byte counts, socket addresses, DNS rcodes, TLS
//! versions. A leaf: the analysis and every view use it, and it uses nothing of the crate.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

/// `1.2 MB`, `532 B`: decimal units, one decimal place.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `addr:port`, with brackets for IPv6.
pub fn sock(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

pub fn tls_version_name(v: u16) -> String {
    tls_version_text(v).into_owned()
}

/// [`tls_version_name`], allocating only for versions without a name.
pub fn tls_version_text(v: u16) -> Cow<'static, str> {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        _ => format!("0x{v:04x}").into(),
    }
}

pub fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "OTHER",
    }
}
