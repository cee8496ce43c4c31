//! From a link payload to addresses, ports and the TCP/UDP payload: borrowed slices only, no
//! allocation. Tunnels (IP-in-IP, GRE, GTP-U, VXLAN) are opened so the innermost flow is seen,
//! as tshark reports it.

use std::net::IpAddr;

use etherparse::{IpNumber, LaxIpSlice};

use super::link::{self, be16, be32, LinkPayload};
use super::tcp::TcpSegment;

/// How many tunnel layers are opened before giving up (guards against crafted nesting).
const MAX_TUNNEL_DEPTH: usize = 4;
const GTPU_PORT: u16 = 2152;
const VXLAN_PORT: u16 = 4789;
/// A TCP header without options.
const TCP_FIXED_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    /// An ICMP or ICMPv6 error about a TCP/UDP packet (destination unreachable): the quoted
    /// packet names the flow it is about.
    IcmpError(IcmpError),
    /// Neither TCP nor UDP (other ICMP, ESP, ...), or a later IP fragment.
    Other {
        proto: u8,
    },
}

/// An ICMP/ICMPv6 destination unreachable and the packet it quotes (RFC 792, RFC 4443): the
/// quote is the offending packet's IP header and at least the first 8 bytes of its L4 header,
/// enough for both ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// The quoted packet: it was sent by `src` of the quote to `dst` of the quote.
    pub proto: u8,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
}

impl IcmpError {
    /// The type and code as a person reads them (`administratively prohibited`, ...).
    pub fn describe(&self) -> &'static str {
        match (self.v6, self.icmp_type, self.code) {
            (false, 3, 0) => "network unreachable",
            (false, 3, 1) => "host unreachable",
            (false, 3, 2) => "protocol unreachable",
            (false, 3, 3) => "port unreachable",
            (false, 3, 6 | 7) => "destination unknown",
            (false, 3, 9 | 10 | 13) => "administratively prohibited",
            (false, 3, _) => "destination unreachable",
            (true, 1, 0) => "no route to destination",
            (true, 1, 1) => "administratively prohibited",
            (true, 1, 3) => "address unreachable",
            (true, 1, 4) => "port unreachable",
            (true, 1, 5) => "source address failed ingress/egress policy",
            (true, 1, 6) => "reject route to destination",
            (true, 1, _) => "destination unreachable",
            _ => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub transport: Transport<'a>,
    /// The L4 payload is shorter than the headers say (snaplen or a lying length field).
    pub truncated: bool,
    /// An IP fragment: only the first one carries the L4 header, and its payload is partial.
    pub fragment: bool,
    /// Where this fragment fits in its datagram (for reassembly).
    pub frag: Option<FragInfo<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragInfo<'a> {
    pub id: u32,
    /// Byte offset of this fragment's data in the datagram.
    pub offset: usize,
    pub more: bool,
    pub proto: u8,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    Link(link::LinkError),
    NotIp,
    BadIpHeader,
    TruncatedIp,
    TruncatedTcp,
    TruncatedUdp,
}

impl DecodeError {
    /// A stable name, used as the warning kind in reports.
    pub fn kind(self) -> &'static str {
        match self {
            DecodeError::Link(e) => e.kind(),
            DecodeError::NotIp => "not-ip",
            DecodeError::BadIpHeader => "bad-ip-header",
            DecodeError::TruncatedIp => "truncated-ip-header",
            DecodeError::TruncatedTcp => "truncated-tcp-header",
            DecodeError::TruncatedUdp => "truncated-udp-header",
        }
    }
}

/// Decodes one captured frame down to its innermost TCP/UDP flow.
pub fn decode(link_type: u16, data: &[u8]) -> Result<(Packet<'_>, link::LinkMeta), DecodeError> {
    let (payload, meta) = link::strip(link_type, data).map_err(DecodeError::Link)?;
    match payload {
        LinkPayload::Ip(ip) => Ok((decode_ip(ip, 0)?, meta)),
        LinkPayload::NotIp => Err(DecodeError::NotIp),
    }
}

/// Decodes an IP packet (version from its first nibble).
pub fn decode_ip(data: &[u8], depth: usize) -> Result<Packet<'_>, DecodeError> {
    let (ip, _ext_err) = LaxIpSlice::from_slice(data).map_err(|e| match e {
        etherparse::err::ip::LaxHeaderSliceError::Len(_) => DecodeError::TruncatedIp,
        etherparse::err::ip::LaxHeaderSliceError::Content(_) => DecodeError::BadIpHeader,
    })?;
    let src = ip.source_addr();
    let dst = ip.destination_addr();
    let pl = ip.payload();
    let frag = if pl.fragmented { frag_info(&ip, pl.ip_number.0, pl.payload) } else { None };
    let first_fragment = frag.is_some_and(|f| f.offset == 0);
    let base = Packet {
        src,
        dst,
        transport: Transport::Other { proto: pl.ip_number.0 },
        truncated: pl.incomplete,
        fragment: pl.fragmented,
        frag,
    };
    if pl.fragmented && !first_fragment {
        return Ok(base);
    }
    let bytes = pl.payload;
    match pl.ip_number {
        IpNumber::TCP => decode_tcp(base, bytes, if pl.incomplete { bytes_cut(&ip, data, bytes) } else { 0 }),
        IpNumber::UDP => decode_udp(base, bytes, depth),
        IpNumber::ICMP | IpNumber::IPV6_ICMP => Ok(decode_icmp(base, pl.ip_number == IpNumber::IPV6_ICMP, bytes)),
        IpNumber::IPV4 | IpNumber::IPV6 if depth < MAX_TUNNEL_DEPTH && !pl.fragmented => {
            decode_ip(bytes, depth + 1).or(Ok(base))
        }
        IpNumber::GRE if depth < MAX_TUNNEL_DEPTH && !pl.fragmented => Ok(open_gre(bytes, depth).unwrap_or(base)),
        _ => Ok(base),
    }
}

fn frag_info<'a>(ip: &LaxIpSlice<'a>, proto: u8, data: &'a [u8]) -> Option<FragInfo<'a>> {
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            Some(FragInfo {
                id: u32::from(h.identification()),
                offset: usize::from(h.fragments_offset().value()) * 8,
                more: h.more_fragments(),
                proto,
                data,
            })
        }
        LaxIpSlice::Ipv6(v6) => v6.extensions().clone().into_iter().find_map(|e| match e {
            etherparse::Ipv6ExtensionSlice::Fragment(f) => {
                let h = f.to_header();
                Some(FragInfo {
                    id: h.identification,
                    offset: usize::from(h.fragment_offset.value()) * 8,
                    more: h.more_fragments,
                    proto,
                    data,
                })
            }
            _ => None,
        }),
    }
}

/// Decodes the TCP/UDP header of a reassembled datagram.
pub fn decode_datagram<'a>(src: IpAddr, dst: IpAddr, proto: u8, datagram: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
    let base =
        Packet { src, dst, transport: Transport::Other { proto }, truncated: false, fragment: false, frag: None };
    match IpNumber(proto) {
        IpNumber::TCP => decode_tcp(base, datagram, 0),
        IpNumber::UDP => decode_udp(base, datagram, MAX_TUNNEL_DEPTH),
        _ => Ok(base),
    }
}

/// A destination unreachable quoting a TCP or UDP packet becomes [`Transport::IcmpError`];
/// any other ICMP message stays [`Transport::Other`].
fn decode_icmp<'a>(base: Packet<'a>, v6: bool, bytes: &[u8]) -> Packet<'a> {
    let (Some(&icmp_type), Some(&code)) = (bytes.first(), bytes.get(1)) else { return base };
    if icmp_type != if v6 { 1 } else { 3 } {
        return base;
    }
    // Type, code, checksum and 4 unused bytes, then the quote. The quote is usually cut short,
    // so its IP header is read leniently.
    let Some(Ok((ip, _))) = bytes.get(8..).map(LaxIpSlice::from_slice) else { return base };
    let pl = ip.payload();
    let proto = pl.ip_number;
    if !(proto == IpNumber::TCP || proto == IpNumber::UDP) || (pl.fragmented && pl.payload.len() < 4) {
        return base;
    }
    let (Some(sport), Some(dport)) = (be16(pl.payload, 0), be16(pl.payload, 2)) else { return base };
    let e = IcmpError {
        v6,
        icmp_type,
        code,
        proto: proto.0,
        src: ip.source_addr(),
        sport,
        dst: ip.destination_addr(),
        dport,
    };
    Packet { transport: Transport::IcmpError(e), ..base }
}

/// How many bytes of an IP packet's payload the capture lacks: what its header declares
/// beyond what `payload` (which starts inside `data`) holds.
fn bytes_cut(ip: &LaxIpSlice<'_>, data: &[u8], payload: &[u8]) -> usize {
    let declared = match ip {
        LaxIpSlice::Ipv4(v4) => usize::from(v4.header().total_len()),
        LaxIpSlice::Ipv6(v6) => IPV6_HEADER + usize::from(v6.header().payload_length()),
    };
    let start = (payload.as_ptr() as usize).saturating_sub(data.as_ptr() as usize);
    declared.saturating_sub(start).saturating_sub(payload.len())
}

/// `missing`: bytes of the segment (header or payload) beyond those captured.
fn decode_tcp<'a>(base: Packet<'a>, bytes: &'a [u8], missing: usize) -> Result<Packet<'a>, DecodeError> {
    let sport = be16(bytes, 0).ok_or(DecodeError::TruncatedTcp)?;
    let dport = be16(bytes, 2).ok_or(DecodeError::TruncatedTcp)?;
    let seq = be32(bytes, 4).ok_or(DecodeError::TruncatedTcp)?;
    let offset_byte = *bytes.get(12).ok_or(DecodeError::TruncatedTcp)?;
    let flags = *bytes.get(13).ok_or(DecodeError::TruncatedTcp)?;
    let header_len = usize::from(offset_byte >> 4) * 4;
    if header_len < TCP_FIXED_HEADER {
        return Err(DecodeError::TruncatedTcp);
    }
    // Read after the header length is known good: a header cut before them reads as zero.
    let ack = be32(bytes, 8).unwrap_or(0);
    let window = be16(bytes, 14).unwrap_or(0);
    let (option_bytes, payload, header_cut) = match bytes.get(header_len..) {
        Some(p) => (&bytes[TCP_FIXED_HEADER..header_len], p, false),
        // Options cut off by the snaplen: the flags and ports are still good.
        None => (bytes.get(TCP_FIXED_HEADER..).unwrap_or_default(), &bytes[bytes.len()..], true),
    };
    let wire_payload = (bytes.len() + missing).saturating_sub(header_len);
    let cut = u32::try_from(wire_payload.saturating_sub(payload.len())).unwrap_or(u32::MAX);
    let seg = TcpSegment { sport, dport, seq, ack, window, flags, option_bytes, payload, cut };
    Ok(Packet { transport: Transport::Tcp(seg), truncated: base.truncated || header_cut, ..base })
}

fn decode_udp<'a>(base: Packet<'a>, bytes: &'a [u8], depth: usize) -> Result<Packet<'a>, DecodeError> {
    let sport = be16(bytes, 0).ok_or(DecodeError::TruncatedUdp)?;
    let dport = be16(bytes, 2).ok_or(DecodeError::TruncatedUdp)?;
    let len = usize::from(be16(bytes, 4).ok_or(DecodeError::TruncatedUdp)?);
    if bytes.len() < 8 {
        return Err(DecodeError::TruncatedUdp);
    }
    // The UDP length bounds the payload (Ethernet padding follows short datagrams); a length
    // larger than what was captured means the datagram was cut. Fragments carry only part.
    let mut truncated = base.truncated;
    let end = if base.fragment {
        bytes.len()
    } else if len >= 8 && len <= bytes.len() {
        len
    } else {
        truncated |= len > bytes.len();
        bytes.len()
    };
    let payload = &bytes[8..end];
    if depth < MAX_TUNNEL_DEPTH && !base.fragment {
        if let Some(inner) = open_udp_tunnel(sport, dport, payload, depth) {
            return Ok(inner);
        }
    }
    Ok(Packet { transport: Transport::Udp { sport, dport, payload }, truncated, ..base })
}

/// GTP-U (mobile core) and VXLAN (overlay networks) carry whole packets inside UDP.
fn open_udp_tunnel(sport: u16, dport: u16, payload: &[u8], depth: usize) -> Option<Packet<'_>> {
    if sport == GTPU_PORT || dport == GTPU_PORT {
        let flags = *payload.first()?;
        let msg_type = *payload.get(1)?;
        // Version 1, protocol type GTP, message type G-PDU.
        if flags >> 5 != 1 || flags & 0x10 == 0 || msg_type != 0xff {
            return None;
        }
        let mut at = 8usize;
        if flags & 0x07 != 0 {
            at = 12;
            if flags & 0x04 != 0 {
                // Extension headers: length in 4-byte units, next type in the last byte.
                let mut next = *payload.get(11)?;
                while next != 0 {
                    let units = usize::from(*payload.get(at)?);
                    if units == 0 {
                        return None;
                    }
                    at += units * 4;
                    next = *payload.get(at - 1)?;
                }
            }
        }
        return decode_ip(payload.get(at..)?, depth + 1).ok();
    }
    if dport == VXLAN_PORT {
        if payload.first()? & 0x08 == 0 {
            return None;
        }
        let inner = payload.get(8..)?;
        let ethertype = be16(inner, 12)?;
        return match link::by_ethertype(ethertype, inner.get(14..)?).ok()? {
            LinkPayload::Ip(ip) => decode_ip(ip, depth + 1).ok(),
            LinkPayload::NotIp => None,
        };
    }
    None
}

fn open_gre(bytes: &[u8], depth: usize) -> Option<Packet<'_>> {
    let flags = be16(bytes, 0)?;
    let proto = be16(bytes, 2)?;
    if flags & 0x0007 != 0 {
        return None; // Only GRE version 0 carries plain ethertypes.
    }
    let mut at = 4;
    for bit in [0x8000u16, 0x2000, 0x1000] {
        // Checksum(+reserved), key and sequence number: 4 bytes each when present.
        if flags & bit != 0 {
            at += 4;
        }
    }
    match link::by_ethertype(proto, bytes.get(at..)?).ok()? {
        LinkPayload::Ip(ip) => decode_ip(ip, depth + 1).ok(),
        LinkPayload::NotIp => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::link::linktype;
    use crate::packet::tcp_flags;

    fn ipv4(proto: u8, l4: &[u8]) -> Vec<u8> {
        let total = (20 + l4.len()) as u16;
        let mut p = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, 10, 1, 0, 4, 40, 79, 197, 136];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(l4);
        p
    }

    fn tcp(sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&sport.to_be_bytes());
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        t.extend_from_slice(payload);
        t
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = Vec::new();
        u.extend_from_slice(&sport.to_be_bytes());
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    #[test]
    fn raw_ipv4_tcp() {
        let p = ipv4(6, &tcp(48416, 443, 7, tcp_flags::SYN, b""));
        let (pkt, _) = decode(linktype::RAW, &p).unwrap();
        assert_eq!(pkt.src.to_string(), "10.1.0.4");
        assert_eq!(pkt.dst.to_string(), "40.79.197.136");
        assert_eq!(
            pkt.transport,
            Transport::Tcp(TcpSegment {
                sport: 48416,
                dport: 443,
                seq: 7,
                ack: 0,
                window: 0xffff,
                flags: tcp_flags::SYN,
                option_bytes: b"",
                payload: b"",
                cut: 0,
            })
        );
    }

    #[test]
    fn udp_length_trims_ethernet_padding() {
        let mut d = udp(53, 5000, b"abc");
        d.extend_from_slice(&[0, 0, 0]);
        let mut p = ipv4(17, &d);
        p[2..4].copy_from_slice(&(20u16 + 11).to_be_bytes());
        let (pkt, _) = decode(linktype::RAW, &p).unwrap();
        assert_eq!(pkt.transport, Transport::Udp { sport: 53, dport: 5000, payload: b"abc" });
    }

    #[test]
    fn ipv6_with_extension_headers() {
        // Hop-by-hop (8 bytes) then destination options (8 bytes) then UDP.
        let u = udp(53, 4000, b"x");
        let mut p = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
        p[4..6].copy_from_slice(&((16 + u.len()) as u16).to_be_bytes());
        p[6] = 0; // hop-by-hop
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&u);
        let (pkt, _) = decode(linktype::IPV6, &p).unwrap();
        assert_eq!(pkt.src.to_string(), "2001:db8::1");
        assert_eq!(pkt.transport, Transport::Udp { sport: 53, dport: 4000, payload: b"x" });
    }

    #[test]
    fn gtpu_tunnel_is_opened() {
        let inner = ipv4(6, &tcp(1234, 443, 1, tcp_flags::ACK, b"hello"));
        let mut gtp = vec![0x30, 0xff, 0, 0, 0, 0, 0, 1];
        gtp[2..4].copy_from_slice(&(inner.len() as u16).to_be_bytes());
        gtp.extend_from_slice(&inner);
        let mut outer = ipv4(17, &udp(2152, 2152, &gtp));
        outer[12..16].copy_from_slice(&[172, 16, 0, 1]);
        let (pkt, _) = decode(linktype::IPV4, &outer).unwrap();
        assert_eq!(pkt.src.to_string(), "10.1.0.4");
        assert!(matches!(pkt.transport, Transport::Tcp(TcpSegment { dport: 443, payload: b"hello", .. })));
    }

    #[test]
    fn later_fragment_has_no_ports() {
        let mut p = ipv4(17, &[1, 2, 3, 4, 5, 6, 7, 8]);
        p[6] = 0x00;
        p[7] = 0x10; // offset 16 * 8 bytes, last fragment
        let (pkt, _) = decode(linktype::RAW, &p).unwrap();
        assert!(pkt.fragment);
        assert_eq!(pkt.transport, Transport::Other { proto: 17 });
    }

    #[test]
    fn snaplen_cut_tcp_keeps_ports() {
        let full = ipv4(6, &tcp(5555, 443, 9, tcp_flags::ACK, &[0x16; 200]));
        let cut = &full[..60];
        let (pkt, _) = decode(linktype::RAW, cut).unwrap();
        assert!(pkt.truncated);
        assert!(
            matches!(pkt.transport, Transport::Tcp(TcpSegment { sport: 5555, payload, .. }) if payload.len() == 20)
        );
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        assert_eq!(decode(linktype::RAW, &[0x45, 0, 0]).unwrap_err(), DecodeError::TruncatedIp);
        assert_eq!(decode(linktype::RAW, &[0x75; 40]).unwrap_err(), DecodeError::BadIpHeader);
        let p = ipv4(6, &[0, 1, 0]);
        assert_eq!(decode(linktype::RAW, &p).unwrap_err(), DecodeError::TruncatedTcp);
        let p = ipv4(17, &[0, 1, 0]);
        assert_eq!(decode(linktype::RAW, &p).unwrap_err(), DecodeError::TruncatedUdp);
    }
}
