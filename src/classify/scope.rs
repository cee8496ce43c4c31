//! Where an address lives: whether a firewall rule for it is about the internet at all.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// RFC 1918, RFC 4193 unique-local, and RFC 6598 shared (CGNAT) space.
    Private,
    Public,
    Loopback,
    LinkLocal,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Private => "private",
            Scope::Public => "public",
            Scope::Loopback => "loopback",
            Scope::LinkLocal => "link-local",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything not private, loopback or link-local counts as public, documentation and
/// multicast ranges included: the point is whether traffic may cross a perimeter firewall.
pub fn scope(ip: IpAddr) -> Scope {
    match ip {
        IpAddr::V4(v4) => scope_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            // A dual-stack socket reports IPv4 peers this way; the IPv4 address is the truth.
            Some(v4) => scope_v4(v4),
            None => scope_v6(v6),
        },
    }
}

fn scope_v4(ip: Ipv4Addr) -> Scope {
    let [a, b, ..] = ip.octets();
    match (a, b) {
        (127, _) => Scope::Loopback,
        (169, 254) => Scope::LinkLocal,
        (10, _) => Scope::Private,
        (172, 16..=31) => Scope::Private,
        (192, 168) => Scope::Private,
        (100, 64..=127) => Scope::Private,
        _ => Scope::Public,
    }
}

fn scope_v6(ip: Ipv6Addr) -> Scope {
    let first = ip.segments()[0];
    if ip == Ipv6Addr::LOCALHOST {
        Scope::Loopback
    } else if first & 0xffc0 == 0xfe80 {
        Scope::LinkLocal
    } else if first & 0xfe00 == 0xfc00 {
        Scope::Private
    } else {
        Scope::Public
    }
}

/// Addresses that mean something on their own, whatever name led to them. One byte, where
/// the name would take sixteen: every flow's view holds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WellKnown {
    AzureDns,
    AzureMetadata,
}

impl WellKnown {
    pub fn of(ip: IpAddr) -> Option<WellKnown> {
        let v4 = match ip {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => v6.to_ipv4_mapped()?,
        };
        match v4.octets() {
            // The same virtual address is Azure's recursive resolver and the wireserver (VM
            // agent, health probes); in a pull it is DNS, so that name leads.
            [168, 63, 129, 16] => Some(WellKnown::AzureDns),
            [169, 254, 169, 254] => Some(WellKnown::AzureMetadata),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WellKnown::AzureDns => "Azure platform DNS",
            WellKnown::AzureMetadata => "Azure instance metadata",
        }
    }
}

/// What the address is, when it means something on its own (see [`WellKnown`]).
pub fn well_known(ip: IpAddr) -> Option<&'static str> {
    WellKnown::of(ip).map(WellKnown::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_range_boundary_falls_on_the_right_side() {
        let table = [
            ("0.0.0.0", Scope::Public),
            ("9.255.255.255", Scope::Public),
            ("10.0.0.0", Scope::Private),
            ("10.255.255.255", Scope::Private),
            ("11.0.0.0", Scope::Public),
            ("172.15.255.255", Scope::Public),
            ("172.16.0.0", Scope::Private),
            ("172.31.255.255", Scope::Private),
            ("172.32.0.0", Scope::Public),
            ("192.167.255.255", Scope::Public),
            ("192.168.0.0", Scope::Private),
            ("192.168.255.255", Scope::Private),
            ("192.169.0.0", Scope::Public),
            ("100.63.255.255", Scope::Public),
            ("100.64.0.0", Scope::Private),
            ("100.127.255.255", Scope::Private),
            ("100.128.0.0", Scope::Public),
            ("126.255.255.255", Scope::Public),
            ("127.0.0.0", Scope::Loopback),
            ("127.255.255.255", Scope::Loopback),
            ("128.0.0.0", Scope::Public),
            ("169.253.255.255", Scope::Public),
            ("169.254.0.0", Scope::LinkLocal),
            ("169.254.255.255", Scope::LinkLocal),
            ("169.255.0.0", Scope::Public),
            ("8.8.8.8", Scope::Public),
            ("40.79.197.136", Scope::Public),
            ("168.63.129.16", Scope::Public),
            ("255.255.255.255", Scope::Public),
            ("::1", Scope::Loopback),
            ("::", Scope::Public),
            ("::2", Scope::Public),
            ("fbff:ffff::1", Scope::Public),
            ("fc00::", Scope::Private),
            ("fd12:3456::1", Scope::Private),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Scope::Private),
            ("fe00::1", Scope::Public),
            ("fe7f:ffff::1", Scope::Public),
            ("fe80::", Scope::LinkLocal),
            ("fe80::1", Scope::LinkLocal),
            ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Scope::LinkLocal),
            ("fec0::1", Scope::Public),
            ("::ffff:10.0.0.1", Scope::Private),
            ("::ffff:127.0.0.1", Scope::Loopback),
            ("::ffff:169.254.1.1", Scope::LinkLocal),
            ("::ffff:8.8.8.8", Scope::Public),
            ("2001:db8::1", Scope::Public),
            ("2603:1040::1", Scope::Public),
        ];
        for (addr, want) in table {
            assert_eq!(scope(ip(addr)), want, "{addr}");
        }
    }

    #[test]
    fn scopes_print_as_the_report_names_them() {
        assert_eq!(Scope::Private.as_str(), "private");
        assert_eq!(Scope::Public.as_str(), "public");
        assert_eq!(Scope::Loopback.as_str(), "loopback");
        assert_eq!(Scope::LinkLocal.as_str(), "link-local");
        for s in [Scope::Private, Scope::Public, Scope::Loopback, Scope::LinkLocal] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
    }

    #[test]
    fn well_known_addresses_are_named() {
        assert_eq!(well_known(ip("168.63.129.16")), Some("Azure platform DNS"));
        assert_eq!(well_known(ip("::ffff:168.63.129.16")), Some("Azure platform DNS"));
        assert_eq!(well_known(ip("169.254.169.254")), Some("Azure instance metadata"));
        assert_eq!(well_known(ip("168.63.129.17")), None);
        assert_eq!(well_known(ip("8.8.8.8")), None);
        assert_eq!(well_known(ip("::1")), None);
    }
}
