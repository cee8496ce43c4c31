//! What the fuzz targets share: the input formats (read by the targets, written by the seed
//! generator in `examples/seed.rs`) and the body of each target, so that a crash file can also
//! be replayed from a plain test.
//!
//! Formats, all big-endian:
//! - `decode_frame`: `[selector][frame bytes]`; `selector % 8` picks the link type in
//!   [`LINK_TYPES`].
//! - `dns`: `[0][DNS message]` parses one message (and, as a cross-check, the same message
//!   framed in one TCP segment); `[1][segments]` feeds a DNS-over-TCP reassembler.
//! - `tls_reassembly`: `[segments]` for one TCP direction.
//! - `pipeline`: a capture file (pcap or pcapng), as is.
//! - `quic`: `[datagrams]` of one UDP flow: `[len: u16][len bytes]` repeated, `len & 0x8000`
//!   set for a datagram from the server side, `len & 0x7fff` cut to what is left.
//! - `http`: `[segments]` for one TCP direction, read by the HTTP head reader; the bytes after
//!   the 5-byte header are also parsed as one request head and one response head.
//!
//! `[segments]` is `[flags: u8][isn: u32]` then, until the input ends,
//! `[delta: i16][len: u16][len bytes]`: the segment's sequence number is the end of the
//! previous segment plus `delta` (so zeros make an in-order stream), and `len` is cut to what
//! is left. `flags & 1`: the ISN (`isn`, the sequence number of the first data byte) is known.

use std::io::Cursor;
use std::sync::OnceLock;

use acrscope::analysis::Analyzer;
use acrscope::capture::source::CaptureReader;
use acrscope::dissect::dns::{parse_message, DnsTcpReassembler};
use acrscope::dissect::http::{parse_request, parse_response, HeadProgress, HeadReader};
use acrscope::dissect::quic::{crypto_frames, QuicProgress, QuicReader};
use acrscope::dissect::tls::{parse_client_hello, parse_server_hello, whole_hello, TlsProgress, TlsReassembler};
use acrscope::output::json;
use acrscope::packet::{self, decode::decode_datagram, Transport};
use acrscope::session::{Limits, DNS_TCP_CAP, TLS_CAP};

/// Link types the decoder supports, in selector order.
pub const LINK_TYPES: [u16; 8] = [0, 1, 101, 108, 113, 228, 229, 276];

/// The selector byte of `link_type` for the `decode_frame` format.
pub fn selector(link_type: u16) -> Option<u8> {
    LINK_TYPES.iter().position(|&l| l == link_type).map(|i| i as u8)
}

/// One TCP segment: sequence number and payload.
pub type Segment<'a> = (u32, &'a [u8]);

/// Reads `[segments]`: the ISN when known, and the segments.
pub fn read_segments(data: &[u8]) -> (Option<u32>, Vec<Segment<'_>>) {
    let Some((head, mut rest)) = data.split_first_chunk::<5>() else {
        return (None, Vec::new());
    };
    let isn = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    let known = head[0] & 1 != 0;
    let mut next = isn;
    let mut out = Vec::new();
    while let Some((h, tail)) = rest.split_first_chunk::<4>() {
        let delta = i16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]])).min(tail.len());
        let seq = next.wrapping_add(delta as i32 as u32);
        out.push((seq, &tail[..len]));
        next = seq.wrapping_add(len as u32);
        rest = &tail[len..];
    }
    (known.then_some(isn), out)
}

/// Writes `[segments]` for in-order segments of one stream (`isn`: first byte's number).
pub fn write_segments(isn: Option<u32>, segments: &[Segment<'_>]) -> Vec<u8> {
    let mut out = vec![u8::from(isn.is_some())];
    let first = isn.or(segments.first().map(|s| s.0)).unwrap_or(0);
    out.extend_from_slice(&first.to_be_bytes());
    let mut next = first;
    for &(seq, payload) in segments {
        let payload = &payload[..payload.len().min(usize::from(u16::MAX))];
        let delta = seq.wrapping_sub(next) as i32;
        let delta = delta.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        out.extend_from_slice(&delta.to_be_bytes());
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.extend_from_slice(payload);
        next = next.wrapping_add(delta as i32 as u32).wrapping_add(payload.len() as u32);
    }
    out
}

/// (a) One frame through the link layer, IP (tunnels, fragments) and TCP/UDP.
pub fn decode_frame(data: &[u8]) {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(sel % 8)];
    let Ok((pkt, _meta)) = packet::decode(link_type, frame) else {
        return;
    };
    // The payload is part of the frame; read it as a datagram too (as defragmentation does).
    let payload = match pkt.transport {
        Transport::Tcp(packet::TcpSegment { payload, .. }) | Transport::Udp { payload, .. } => payload,
        Transport::Other { .. } | Transport::IcmpError(_) => pkt.frag.map_or(&[][..], |f| f.data),
    };
    assert!(payload.len() <= frame.len());
    for proto in [6, 17] {
        let _ = decode_datagram(pkt.src, pkt.dst, proto, payload);
    }
}

/// (b) DNS: one message, or a DNS-over-TCP stream.
pub fn dns(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let parsed = parse_message(rest);
        if let Ok(m) = &parsed {
            let mut seen = std::collections::HashSet::new();
            assert!(m.addresses.iter().all(|a| seen.insert(*a)), "repeated address");
            assert!(m.chain.len() <= 17, "chain of {}", m.chain.len());
        }
        // The same message in one TCP segment gives the same result.
        if let Ok(len) = u16::try_from(rest.len()) {
            let mut framed = len.to_be_bytes().to_vec();
            framed.extend_from_slice(rest);
            let mut r = DnsTcpReassembler::new(Some(1000), DNS_TCP_CAP);
            let mut out = Vec::new();
            r.push(1000, &framed, &mut out);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0], parsed);
        }
        return;
    }
    let (isn, segs) = read_segments(rest);
    let mut r = DnsTcpReassembler::new(isn, DNS_TCP_CAP);
    let mut out = Vec::new();
    for (seq, payload) in segs {
        r.push(seq, payload, &mut out);
        out.clear();
    }
}

/// (c) The TLS hello reassembler on the segments of one direction.
pub fn tls_reassembly(data: &[u8]) {
    let (isn, segs) = read_segments(data);
    let mut r = TlsReassembler::new(isn, TLS_CAP);
    let mut last = TlsProgress::NeedMore;
    for &(seq, payload) in &segs {
        let _ = whole_hello(payload);
        last = r.push(seq, payload);
    }
    let finished = r.finish();
    if let TlsProgress::Done(_) = last {
        assert!(finished.is_none(), "an event handed out twice");
    }
    // In order from the ISN with no gap: a whole hello in the concatenated stream is what the
    // reassembler finds.
    let in_order = isn.is_some() && segs.first().is_some_and(|s| Some(s.0) == isn) && {
        let mut next = segs[0].0;
        segs.iter().all(|&(seq, p)| {
            let ok = seq == next;
            next = next.wrapping_add(p.len() as u32);
            ok
        })
    };
    if in_order {
        let stream: Vec<u8> = segs.iter().flat_map(|s| s.1.iter().copied()).collect();
        if let Some(ev) = whole_hello(&stream) {
            assert_eq!(last, TlsProgress::Done(ev), "reassembly and whole_hello disagree");
        }
    }
    // Reading on past the hello (certificate, alerts) finds the same hello, hands it out once,
    // and keeps its events bounded.
    let mut f = TlsReassembler::new(isn, TLS_CAP).follow();
    let mut hello = None;
    let mut events = 0;
    for &(seq, payload) in &segs {
        if let TlsProgress::Done(ev) = f.push(seq, payload) {
            assert!(hello.is_none(), "a hello handed out twice");
            hello = Some(ev);
        }
        events += f.take_events().len();
    }
    if let TlsProgress::Done(ev) = &last {
        assert_eq!(hello.as_ref(), Some(ev), "following changed the hello");
    }
    assert!(events <= 5, "{events} events");
    if let Some(h) = data.get(5..) {
        let _ = parse_client_hello(h);
        let _ = parse_server_hello(h);
        let _ = acrscope::dissect::cert::parse_certificate(h);
    }
}

/// Reads `[datagrams]`: (from the client side, datagram).
pub fn read_datagrams(data: &[u8]) -> Vec<(bool, &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((h, tail)) = rest.split_first_chunk::<2>() {
        let v = u16::from_be_bytes(*h);
        let len = usize::from(v & 0x7fff).min(tail.len());
        out.push((v & 0x8000 == 0, &tail[..len]));
        rest = &tail[len..];
    }
    out
}

/// Writes `[datagrams]`.
pub fn write_datagrams(datagrams: &[(bool, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(up, d) in datagrams {
        let d = &d[..d.len().min(0x7fff)];
        out.extend_from_slice(&((d.len() as u16) | if up { 0 } else { 0x8000 }).to_be_bytes());
        out.extend_from_slice(d);
    }
    out
}

/// (e) The QUIC Initial reader on the datagrams of one flow.
pub fn quic(data: &[u8]) {
    let mut r = QuicReader::new();
    let mut done = false;
    for (up, d) in read_datagrams(data) {
        match r.push(d, up) {
            QuicProgress::Done(_) => {
                assert!(!done, "a ClientHello handed out twice");
                done = true;
            }
            QuicProgress::NeedMore => {}
            QuicProgress::Malformed(_) | QuicProgress::NotQuic => assert!(r.is_finished()),
        }
        assert!(r.opened + r.undecryptable <= 64 + 8, "more Initial packets opened than the cap");
    }
    let _ = r.finish();
    // The frame walker on the raw bytes, as if they were a decrypted payload.
    let _ = crypto_frames(data, |_, d| assert!(d.len() <= data.len()));
}

/// (f) The HTTP head reader on the segments of one direction, and the head parsers.
pub fn http(data: &[u8]) {
    let (isn, segs) = read_segments(data);
    let mut r = HeadReader::new(isn);
    let mut got = None;
    for &(seq, payload) in &segs {
        let p = r.push(seq, payload);
        if p != HeadProgress::NeedMore {
            assert!(got.is_none(), "a head handed out twice");
            got = Some(p);
        }
    }
    if let Some(HeadProgress::Done(head)) = &got {
        // What is kept never holds a query string.
        if let acrscope::dissect::http::Head::Request(q) = head {
            assert!(!q.path.contains('?'), "query kept: {}", q.path);
        }
    }
    if let Some(h) = data.get(5..) {
        if let Some(q) = parse_request(h) {
            assert!(!q.path.contains('?'));
        }
        let _ = parse_response(h);
    }
}

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(Analyzer::default)
}

/// (d) A whole capture file through the reader, the session, the analysis and the JSON report.
pub fn pipeline(data: &[u8]) {
    let Ok(reader) = CaptureReader::from_reader(Box::new(Cursor::new(data.to_vec())), "fuzz.pcap".into()) else {
        return;
    };
    // A small flow cap, so that eviction is exercised too.
    let limits = Limits { max_active_flows: 16, ..Limits::default() };
    let (session, info) = acrscope::pipeline::read_all(reader, limits, |_| {});
    let analysis = analyzer().analyze(&session);
    let report = json::build(&session, &analysis, &info);
    let mut out = Vec::new();
    json::write(&mut out, &report, false).expect("JSON report");
    assert!(session.flows.active_len() <= 16);
}
