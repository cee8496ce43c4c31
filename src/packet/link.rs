//! Link-layer headers: everything between the capture record and the first IP header.
//! etherparse knows Ethernet and Linux SLL v1, but not SLL2, BSD loopback or the ethertype
//! chains we see in the wild (QinQ, PPPoE, MPLS), so the link layer is decoded here in one place.

/// LINKTYPE_* values (<https://www.tcpdump.org/linktypes.html>).
pub mod linktype {
    pub const NULL: u16 = 0;
    pub const ETHERNET: u16 = 1;
    /// DLT_RAW as OpenBSD and some Linux versions number it.
    pub const RAW_OPENBSD: u16 = 12;
    pub const RAW_BSD: u16 = 14;
    pub const RAW: u16 = 101;
    pub const LOOP: u16 = 108;
    pub const LINUX_SLL: u16 = 113;
    pub const IPV4: u16 = 228;
    pub const IPV6: u16 = 229;
    pub const LINUX_SLL2: u16 = 276;

    pub fn name(link_type: u16) -> &'static str {
        match link_type {
            NULL => "NULL",
            ETHERNET => "ETHERNET",
            RAW | RAW_OPENBSD | RAW_BSD => "RAW",
            LOOP => "LOOP",
            LINUX_SLL => "LINUX_SLL",
            IPV4 => "IPV4",
            IPV6 => "IPV6",
            LINUX_SLL2 => "LINUX_SLL2",
            _ => "other",
        }
    }
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;

/// Tags and shims that may stack; beyond this the frame is treated as garbage.
const MAX_LINK_SHIMS: usize = 8;

/// What the link layer carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPayload<'a> {
    /// An IP packet (version still to be checked by the IP decoder).
    Ip(&'a [u8]),
    /// A valid frame that carries something other than IP (ARP, LLDP, ...).
    NotIp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    UnknownLinkType,
    Truncated,
}

impl LinkError {
    pub fn kind(self) -> &'static str {
        match self {
            LinkError::UnknownLinkType => "unknown-link-type",
            LinkError::Truncated => "truncated-link-header",
        }
    }
}

/// The link header's fields that matter beyond the payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkMeta {
    /// Interface index from a LINUX_SLL2 header (`tcpdump -i any`).
    pub ifindex: Option<u32>,
}

/// Strips the link header of `link_type` from `data`.
pub fn strip(link_type: u16, data: &[u8]) -> Result<(LinkPayload<'_>, LinkMeta), LinkError> {
    let meta = LinkMeta::default();
    match link_type {
        linktype::ETHERNET => {
            let ethertype = be16(data, 12).ok_or(LinkError::Truncated)?;
            Ok((by_ethertype(ethertype, &data[14..])?, meta))
        }
        linktype::LINUX_SLL => {
            // packet type, ARPHRD, address length, 8 address bytes, protocol.
            let proto = be16(data, 14).ok_or(LinkError::Truncated)?;
            Ok((by_ethertype(proto, &data[16..])?, meta))
        }
        linktype::LINUX_SLL2 => {
            // protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 address bytes.
            let proto = be16(data, 0).ok_or(LinkError::Truncated)?;
            let ifindex = be32(data, 4).ok_or(LinkError::Truncated)?;
            if data.len() < 20 {
                return Err(LinkError::Truncated);
            }
            let meta = LinkMeta { ifindex: Some(ifindex) };
            Ok((by_ethertype(proto, &data[20..])?, meta))
        }
        linktype::NULL | linktype::LOOP => {
            if data.len() < 4 {
                return Err(LinkError::Truncated);
            }
            // DLT_NULL stores the address family in the capturing host's byte order, DLT_LOOP
            // in network order; small values tell which.
            let raw = [data[0], data[1], data[2], data[3]];
            let le = u32::from_le_bytes(raw);
            let family = if link_type == linktype::LOOP || le > 0xffff { u32::from_be_bytes(raw) } else { le };
            let rest = &data[4..];
            Ok((
                match family {
                    // AF_INET everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD),
                    // 28 (FreeBSD), 30 (macOS).
                    2 | 10 | 24 | 28 | 30 => LinkPayload::Ip(rest),
                    _ => LinkPayload::NotIp,
                },
                meta,
            ))
        }
        linktype::RAW | linktype::RAW_OPENBSD | linktype::RAW_BSD | linktype::IPV4 | linktype::IPV6 => {
            Ok((LinkPayload::Ip(data), meta))
        }
        _ => Err(LinkError::UnknownLinkType),
    }
}

/// Follows an ethertype through VLAN tags, PPPoE and MPLS to IP.
pub fn by_ethertype(mut ethertype: u16, mut data: &[u8]) -> Result<LinkPayload<'_>, LinkError> {
    for _ in 0..MAX_LINK_SHIMS {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(LinkPayload::Ip(data)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                ethertype = be16(data, 2).ok_or(LinkError::Truncated)?;
                data = &data[4..];
            }
            ETHERTYPE_PPPOE_SESSION => {
                // 6-byte PPPoE header, then the 2-byte PPP protocol. The header's length
                // (protocol included) ends the packet: what follows is the frame's padding.
                let ppp = be16(data, 6).ok_or(LinkError::Truncated)?;
                let len = usize::from(be16(data, 4).ok_or(LinkError::Truncated)?);
                let end = (6 + len).clamp(8, data.len());
                let rest = &data[8..end];
                return Ok(match ppp {
                    0x0021 | 0x0057 => LinkPayload::Ip(rest),
                    _ => LinkPayload::NotIp,
                });
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => {
                // Label stack entries until the bottom-of-stack bit; the payload's first
                // nibble then says IPv4 or IPv6 (no ethertype follows MPLS).
                loop {
                    let entry = be32(data, 0).ok_or(LinkError::Truncated)?;
                    data = &data[4..];
                    if entry & 0x100 != 0 {
                        break;
                    }
                }
                return Ok(match data.first().map(|b| b >> 4) {
                    Some(4) | Some(6) => LinkPayload::Ip(data),
                    _ => LinkPayload::NotIp,
                });
            }
            _ => return Ok(LinkPayload::NotIp),
        }
    }
    Ok(LinkPayload::NotIp)
}

pub(crate) fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

pub(crate) fn be32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [u8; 4] = [0x45, 0, 0, 20];

    fn ip_of(r: Result<(LinkPayload<'_>, LinkMeta), LinkError>) -> Vec<u8> {
        match r.unwrap().0 {
            LinkPayload::Ip(p) => p.to_vec(),
            LinkPayload::NotIp => panic!("not ip"),
        }
    }

    #[test]
    fn ethernet_with_qinq() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00]);
        f.extend_from_slice(&IP);
        assert_eq!(ip_of(strip(linktype::ETHERNET, &f)), IP);
    }

    #[test]
    fn ethernet_pppoe() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0x64, 0x11, 0, 0, 1, 0, 22, 0x00, 0x21]);
        f.extend_from_slice(&IP);
        assert_eq!(ip_of(strip(linktype::ETHERNET, &f)), IP);
    }

    #[test]
    fn ethernet_arp_is_not_ip() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(strip(linktype::ETHERNET, &f).unwrap().0, LinkPayload::NotIp);
    }

    #[test]
    fn mpls_two_labels() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0x47, 0, 1, 0, 64, 0, 2, 1, 64]);
        f.extend_from_slice(&IP);
        assert_eq!(ip_of(strip(linktype::ETHERNET, &f)), IP);
    }

    #[test]
    fn sll_v1() {
        let mut f = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        f.extend_from_slice(&IP);
        assert_eq!(ip_of(strip(linktype::LINUX_SLL, &f)), IP);
    }

    #[test]
    fn sll_v2_carries_ifindex() {
        let mut f = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 7, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0];
        f.extend_from_slice(&IP);
        let (p, meta) = strip(linktype::LINUX_SLL2, &f).unwrap();
        assert_eq!(p, LinkPayload::Ip(&IP));
        assert_eq!(meta.ifindex, Some(7));
    }

    #[test]
    fn null_both_byte_orders_and_loop() {
        let mut le = vec![2, 0, 0, 0];
        le.extend_from_slice(&IP);
        assert_eq!(ip_of(strip(linktype::NULL, &le)), IP);
        let mut be = vec![0, 0, 0, 30];
        be.extend_from_slice(&IP);
        assert_eq!(ip_of(strip(linktype::NULL, &be)), IP);
        assert_eq!(ip_of(strip(linktype::LOOP, &be)), IP);
        let mut other = vec![0, 0, 0, 7];
        other.extend_from_slice(&IP);
        assert_eq!(strip(linktype::LOOP, &other).unwrap().0, LinkPayload::NotIp);
    }

    #[test]
    fn raw_ipv4_ipv6_pass_through() {
        for lt in [linktype::RAW, linktype::IPV4, linktype::IPV6, linktype::RAW_BSD] {
            assert_eq!(ip_of(strip(lt, &IP)), IP);
        }
    }

    #[test]
    fn truncated_and_unknown() {
        assert_eq!(strip(linktype::ETHERNET, &[0; 13]), Err(LinkError::Truncated));
        assert_eq!(strip(linktype::LINUX_SLL2, &[0; 19]), Err(LinkError::Truncated));
        assert_eq!(strip(linktype::NULL, &[2, 0]), Err(LinkError::Truncated));
        assert_eq!(strip(147, &IP), Err(LinkError::UnknownLinkType));
        let mut vlan_cut = vec![0u8; 12];
        vlan_cut.extend_from_slice(&[0x81, 0x00, 0]);
        assert_eq!(strip(linktype::ETHERNET, &vlan_cut), Err(LinkError::Truncated));
    }
}
