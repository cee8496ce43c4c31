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

/// `2.4 Mbit/s`, `950 kbit/s`: a rate in decimal bit units, two significant digits at least.
pub fn human_rate(bits_per_s: f64) -> String {
    const UNITS: [&str; 4] = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"];
    let mut v = bits_per_s.max(0.0);
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if v < 10.0 && u > 0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// `85 µs`, `40.6 ms`, `160 ms`, `1.2 s`: a round trip or a wait, to what a reader compares.
pub fn human_ms(ns: i64) -> String {
    let ms = ns.max(0) as f64 / 1e6;
    if ms < 1.0 {
        format!("{} µs", ns.max(0) / 1000)
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
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
