//! Each slow-pull finding at both sides of its threshold (the README's "When a pull is slow or
//! hangs"), from conversations built packet by packet with real sequence numbers: just short
//! of the threshold nothing is said, just past it the finding is there with its figures.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use acrscope::analysis::finding::Fields;
use acrscope::analysis::findings::FindingKind;
use acrscope::analysis::outcome::Outcome;
use acrscope::analysis::{Analysis, Analyzer};
use acrscope::session::Session;
use etherparse::PacketBuilder;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);
const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 4);
const RESOLVER: Ipv4Addr = Ipv4Addr::new(168, 63, 129, 16);
const LOGIN: &str = "contoso.azurecr.io";
const LOGIN_ADDR: Ipv4Addr = Ipv4Addr::new(20, 43, 132, 131);
const BLOB: &str = "ceusprodstore01.blob.core.windows.net";
const BLOB_ADDR: Ipv4Addr = Ipv4Addr::new(20, 60, 172, 36);
const BLOB_ADDR6: Ipv6Addr = Ipv6Addr::new(0x2603, 0x1030, 0x20e, 3, 0, 0, 0, 0x23c);
/// What a full-size segment carries on an Ethernet path.
const MSS: usize = 1460;

type Packets = Vec<(f64, Vec<u8>)>;

/// A TLS handshake record: a ServerHello (TLS 1.2, one cipher suite, no extensions).
fn server_hello() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[9; 32]);
    body.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    let mut hs = vec![2, 0];
    hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hs.extend(body);
    record(0x16, &hs)
}

fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// The header of an application-data record of `len` bytes (its body follows in segments).
fn app_data_header(len: u16) -> Vec<u8> {
    let mut r = vec![0x17, 3, 3];
    r.extend_from_slice(&len.to_be_bytes());
    r
}

/// A DNS message: a query for `name` (`qtype` 1 or 28), or its answer with `addrs`.
fn dns(id: u16, name: &str, qtype: u16, addrs: &[IpAddr]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    let answer = !addrs.is_empty();
    m.extend_from_slice(if answer { &[0x81, 0x80] } else { &[0x01, 0x00] });
    m.extend_from_slice(&[0, 1]);
    m.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend(common::name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    for a in addrs {
        let rdata = match a {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        m.extend(common::name(name));
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend(rdata);
    }
    m
}

/// The answer that names `addr` as `name`, at `t`.
fn resolved(t: f64, name: &str, addr: IpAddr) -> (f64, Vec<u8>) {
    let qtype = if addr.is_ipv6() { 28 } else { 1 };
    (t, common::udp(RESOLVER.octets(), 53, CLIENT.octets(), 40000, &dns(7, name, qtype, &[addr])))
}

/// One TCP connection with real sequence and acknowledgement numbers, its packets in capture
/// order.
struct Conn {
    client: IpAddr,
    server: IpAddr,
    port: u16,
    /// The next sequence number of each side.
    up: u32,
    down: u32,
    /// The window the client advertises (no scaling: the SYNs carry only an MSS).
    window: u16,
    out: Packets,
}

impl Conn {
    fn new(client: IpAddr, server: IpAddr, port: u16) -> Conn {
        Conn { client, server, port, up: 1_000, down: 500_000, window: 65535, out: Vec::new() }
    }

    fn v4(server: Ipv4Addr, port: u16) -> Conn {
        Conn::new(IpAddr::V4(CLIENT), IpAddr::V4(server), port)
    }

    fn push(&mut self, t: f64, up: bool, flags: u8, options: &[u8], payload: &[u8]) {
        let (src, dst) = if up { (self.client, self.server) } else { (self.server, self.client) };
        let (sport, dport) = if up { (self.port, 443) } else { (443, self.port) };
        let (seq, ack, window) = if up { (self.up, self.down, self.window) } else { (self.down, self.up, 65535) };
        let ip = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
            _ => unreachable!("one family per connection"),
        };
        let mut b = ip.tcp(sport, dport, seq, window);
        if flags & SYN != 0 {
            b = b.syn();
        }
        if flags & ACK != 0 {
            b = b.ack(ack);
        }
        if flags & FIN != 0 {
            b = b.fin();
        }
        if flags & RST != 0 {
            b = b.rst();
        }
        if !options.is_empty() {
            b = b.options_raw(options).unwrap();
        }
        let mut p = Vec::new();
        b.write(&mut p, payload).unwrap();
        self.out.push((t, p));
        let used = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if up {
            self.up = self.up.wrapping_add(used);
        } else {
            self.down = self.down.wrapping_add(used);
        }
    }

    /// A SYN (again, for a retry: the same sequence number).
    fn syn(&mut self, t: f64) -> &mut Conn {
        let mss = (MSS as u16).to_be_bytes();
        self.push(t, true, SYN, &[2, 4, mss[0], mss[1]], b"");
        self.up = self.up.wrapping_sub(1);
        self
    }

    /// The SYN-ACK at `t` and the client's ACK with it.
    fn syn_ack(&mut self, t: f64) -> &mut Conn {
        self.up = self.up.wrapping_add(1);
        let mss = (MSS as u16).to_be_bytes();
        self.push(t, false, SYN | ACK, &[2, 4, mss[0], mss[1]], b"");
        self.push(t, true, ACK, &[], b"");
        self
    }

    /// SYN at `t`, connected one round trip later.
    fn connect(&mut self, t: f64, rtt: f64) -> &mut Conn {
        self.syn(t).syn_ack(t + rtt)
    }

    fn client(&mut self, t: f64, payload: &[u8]) -> &mut Conn {
        self.push(t, true, ACK, &[], payload);
        self
    }

    fn server(&mut self, t: f64, payload: &[u8]) -> &mut Conn {
        self.push(t, false, ACK, &[], payload);
        self
    }

    /// The client acknowledges everything so far, advertising `window`.
    fn ack(&mut self, t: f64, window: u16) -> &mut Conn {
        self.window = window;
        self.push(t, true, ACK, &[], b"");
        self.window = 65535;
        self
    }

    /// `n` bytes of the server's data the path lost: later segments arrive after a hole.
    fn lose(&mut self, n: usize) -> &mut Conn {
        self.down = self.down.wrapping_add(n as u32);
        self
    }

    fn close(&mut self, t: f64, up: bool, flags: u8) -> &mut Conn {
        self.push(t, up, flags | ACK, &[], b"");
        self
    }

    /// A TLS connection to `sni` up to the first request: connect, ClientHello, ServerHello,
    /// and the client's first application-data record.
    fn tls(&mut self, t: f64, rtt: f64, sni: &str) -> &mut Conn {
        self.connect(t, rtt).client(t + rtt, &common::client_hello(sni));
        self.server(t + 2.0 * rtt, &server_hello()).client(t + 2.0 * rtt, &record(0x17, &[1; 200]))
    }

    fn packets(&mut self) -> Packets {
        std::mem::take(&mut self.out)
    }
}

fn analyze(mut packets: Packets) -> (Session, Analysis) {
    packets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let s = common::session_of(&packets);
    let a = Analyzer::default().analyze(&s);
    (s, a)
}

/// The fields of the findings of `kind`.
fn found(a: &Analysis, kind: FindingKind) -> Vec<Fields> {
    a.findings.iter().filter(|f| f.kind() == kind).map(|f| f.fields().clone()).collect()
}

/// The fields of the one finding of `kind`.
fn the(a: &Analysis, kind: FindingKind) -> Fields {
    match found(a, kind).as_slice() {
        [one] => one.clone(),
        other => panic!("one {kind:?} finding, not {}: {:?}", other.len(), a.findings),
    }
}

fn outcomes(a: &Analysis) -> Vec<Outcome> {
    a.flows.iter().map(|v| v.outcome).collect()
}

/// A layer download from the storage account whose body stops inside a 16 KB record after
/// one segment, the client waiting `silent` seconds before giving up with a FIN.
fn cut_body(silent: f64) -> Packets {
    let mut c = Conn::v4(BLOB_ADDR, 50000);
    c.tls(0.1, 0.02, BLOB);
    let mut first = app_data_header(16_000);
    first.extend_from_slice(&[0; MSS - 5]);
    c.server(0.2, &first).ack(0.2, 65535).close(0.2 + silent, true, FIN);
    let mut p = c.packets();
    p.insert(0, resolved(0.0, BLOB, IpAddr::V4(BLOB_ADDR)));
    p
}

#[test]
fn a_body_cut_short_is_a_stall_after_five_silent_seconds() {
    let (_, a) = analyze(cut_body(4.9));
    assert!(found(&a, FindingKind::Stall).is_empty(), "4.9 s of silence is not a stall: {:?}", a.findings);
    assert!(!outcomes(&a).contains(&Outcome::Stalled));

    let (_, a) = analyze(cut_body(5.1));
    assert!(outcomes(&a).contains(&Outcome::Stalled), "{:?}", outcomes(&a));
    let Fields::Stall(st) = the(&a, FindingKind::Stall) else { unreachable!() };
    assert_eq!((st.ended_by, st.waiting_for, st.client_port), ("client-fin", "rest-of-body", 50000));
    assert!((st.stalled_s - 5.1).abs() < 1e-6, "{st:?}");
}

/// A response that ended on a record boundary, then a second request the server never answers.
fn unanswered_request(silent: f64, end: u8) -> Packets {
    let mut c = Conn::v4(BLOB_ADDR, 50001);
    c.tls(0.1, 0.02, BLOB).server(0.2, &record(0x17, &[0; 900])).ack(0.2, 65535);
    c.client(1.0, &record(0x17, &[2; 200])).close(1.0 + silent, false, end);
    let mut p = c.packets();
    p.insert(0, resolved(0.0, BLOB, IpAddr::V4(BLOB_ADDR)));
    p
}

#[test]
fn a_request_left_unanswered_is_a_stall_waiting_for_the_response() {
    let (_, a) = analyze(unanswered_request(4.99, RST));
    assert!(found(&a, FindingKind::Stall).is_empty(), "{:?}", a.findings);
    let (_, a) = analyze(unanswered_request(5.0, RST));
    let Fields::Stall(st) = the(&a, FindingKind::Stall) else { unreachable!() };
    assert_eq!((st.ended_by, st.waiting_for), ("server-rst", "response"));
    assert!(st.bytes_before > 900, "what came before the silence: {st:?}");
}

/// A ClientHello to the login server the server acknowledges (or not) and never answers; the
/// client closes after `waited` seconds.
fn unanswered_hello(waited: f64, acked: bool) -> Packets {
    let mut c = Conn::v4(LOGIN_ADDR, 50002);
    c.connect(0.1, 0.02).client(0.12, &common::client_hello(LOGIN));
    if acked {
        c.server(0.14, b"");
    }
    c.close(0.12 + waited, true, FIN);
    let mut p = c.packets();
    p.insert(0, resolved(0.0, LOGIN, IpAddr::V4(LOGIN_ADDR)));
    p
}

#[test]
fn a_client_hello_unanswered_for_five_seconds_is_a_handshake_timeout() {
    let (_, a) = analyze(unanswered_hello(4.9, true));
    assert!(found(&a, FindingKind::TlsHandshakeTimeout).is_empty(), "{:?}", a.findings);
    assert!(!outcomes(&a).contains(&Outcome::HandshakeTimeout));
    for acked in [true, false] {
        let (_, a) = analyze(unanswered_hello(5.1, acked));
        assert!(outcomes(&a).contains(&Outcome::HandshakeTimeout), "{:?}", outcomes(&a));
        let Fields::TlsHandshakeTimeout(t) = the(&a, FindingKind::TlsHandshakeTimeout) else { unreachable!() };
        assert_eq!((t.port, t.hello_acked, t.waited_s), (443, Some(acked), 5.1));
        assert!(found(&a, FindingKind::MtuBlackHole).is_empty());
    }
}

/// The server's first flight lost but for a last segment of `last` bytes; the client gives up
/// after 6 s.
fn black_hole(last: usize) -> Packets {
    let mut c = Conn::v4(LOGIN_ADDR, 50003);
    c.connect(0.1, 0.02).client(0.12, &common::client_hello(LOGIN));
    // The client's ACKs would only repeat the hole's start: they do not matter here.
    c.lose(2 * MSS).server(0.14, &vec![0; last]).close(6.12, true, FIN);
    let mut p = c.packets();
    p.insert(0, resolved(0.0, LOGIN, IpAddr::V4(LOGIN_ADDR)));
    p
}

#[test]
fn small_segments_through_and_full_ones_lost_is_an_mtu_black_hole() {
    // A last segment 64 bytes short of the MSS or more: the full-size ones did not fit. The
    // MSS to clamp to is what came through, or one every path carries if that is more.
    for (last, suggested) in [(34, 1240), (MSS - 65, MSS as u32 - 65)] {
        let (_, a) = analyze(black_hole(last));
        let Fields::MtuBlackHole(m) = the(&a, FindingKind::MtuBlackHole) else { unreachable!() };
        assert_eq!((m.mss_up, m.max_segment_down, m.lost_segments_down), (Some(MSS as u16), last as u32, 1));
        assert_eq!(m.suggested_mss, suggested);
        assert!(found(&a, FindingKind::TlsHandshakeTimeout).is_empty(), "the black hole explains the timeout");
        assert!(outcomes(&a).contains(&Outcome::HandshakeTimeout));
    }
    // Nearly full-size segments came through: the path carries them, the timeout stays plain.
    let (_, a) = analyze(black_hole(MSS - 64));
    assert!(found(&a, FindingKind::MtuBlackHole).is_empty(), "{:?}", a.findings);
    assert_eq!(found(&a, FindingKind::TlsHandshakeTimeout).len(), 1, "{:?}", a.findings);
}

/// How a slow layer download from the storage account went.
#[derive(Clone, Copy)]
struct Download {
    rtt: f64,
    /// Full-size segments, and the seconds between them.
    segments: usize,
    every: f64,
    /// Segments lost on the way, spread over the transfer.
    lost: usize,
    /// Times the client advertised a zero window.
    zero_windows: usize,
}

const STEADY: Download = Download { rtt: 0.02, segments: 200, every: 0.0105, lost: 0, zero_windows: 0 };

impl Download {
    fn packets(self) -> Packets {
        let mut c = Conn::v4(BLOB_ADDR, 50004);
        let start = 0.1 + 2.0 * self.rtt;
        c.tls(0.1, self.rtt, BLOB);
        let spread = |n: usize, i: usize| n > 0 && i % (self.segments / n) == self.segments / n / 2;
        for i in 0..self.segments {
            let at = start + i as f64 * self.every;
            if spread(self.lost, i) {
                c.lose(MSS);
            }
            c.server(at, &record(0x17, &[0; MSS - 5]));
            let window = if spread(self.zero_windows, i) { 0 } else { 65535 };
            c.ack(at, window);
        }
        c.close(start + self.segments as f64 * self.every, true, FIN);
        let mut p = c.packets();
        p.insert(0, resolved(0.0, BLOB, IpAddr::V4(BLOB_ADDR)));
        p
    }

    /// The slow-download finding's `limited_by`, or `None` without one.
    fn limited_by(self) -> Option<&'static str> {
        let (_, a) = analyze(self.packets());
        match found(&a, FindingKind::SlowDownload).as_slice() {
            [] => None,
            [Fields::SlowDownload(d)] => Some(d.limited_by),
            other => panic!("one finding per host: {other:?}"),
        }
    }
}

#[test]
fn a_download_is_slow_from_two_seconds_of_data_under_25_mbit_s() {
    // 200 segments 10.5 ms apart: 2.09 s of data at 1.1 Mbit/s; 9.5 ms apart, 1.89 s.
    assert_eq!(STEADY.limited_by(), Some("bandwidth"));
    assert_eq!(Download { every: 0.0095, ..STEADY }.limited_by(), None);
    // 4,600 segments over 2.09 s: 25.7 Mbit/s, fast enough; 4,400 at 24.6 Mbit/s are not.
    let fast = Download { segments: 4600, every: 2.09 / 4600.0, ..STEADY };
    assert_eq!(fast.limited_by(), None);
    assert_eq!(Download { segments: 4400, every: 2.09 / 4400.0, ..STEADY }.limited_by(), Some("bandwidth"));
    // Even a fast transfer the receiver held back is slow for it.
    assert_eq!(Download { zero_windows: 1, ..fast }.limited_by(), Some("receiver"));
}

#[test]
fn a_slow_download_names_what_held_it_back() {
    // Three lost segments of 200 (1.5%) limit it; two (fewer than three) do not, nor three of
    // 400 (0.75%), but four of 400 (1%) do.
    assert_eq!(Download { lost: 3, ..STEADY }.limited_by(), Some("loss"));
    assert_eq!(Download { lost: 2, ..STEADY }.limited_by(), Some("bandwidth"));
    let long = Download { segments: 400, every: 0.006, ..STEADY };
    assert_eq!(Download { lost: 3, ..long }.limited_by(), Some("bandwidth"));
    assert_eq!(Download { lost: 4, ..long }.limited_by(), Some("loss"));
    assert_eq!(Download { zero_windows: 1, ..STEADY }.limited_by(), Some("receiver"));
    assert_eq!(Download { rtt: 0.1, ..STEADY }.limited_by(), Some("latency"));
    assert_eq!(Download { rtt: 0.099, ..STEADY }.limited_by(), Some("bandwidth"));
    let (_, a) = analyze(Download { lost: 3, ..STEADY }.packets());
    let Fields::SlowDownload(d) = the(&a, FindingKind::SlowDownload) else { unreachable!() };
    assert_eq!((d.lost_segments_down, d.retransmissions_down, d.zero_windows_up), (3, 0, 0), "{d:?}");
}

/// Connections to the login server with these connect round trips.
fn logins(rtts: &[f64]) -> Packets {
    let mut p = vec![resolved(0.0, LOGIN, IpAddr::V4(LOGIN_ADDR))];
    for (i, rtt) in rtts.iter().enumerate() {
        let mut c = Conn::v4(LOGIN_ADDR, 51000 + i as u16);
        c.tls(0.1 + i as f64, *rtt, LOGIN).server(0.5 + i as f64, &record(0x17, &[0; 300]));
        p.extend(c.packets());
    }
    p
}

#[test]
fn a_registry_is_far_from_a_median_round_trip_of_100_ms() {
    for (rtts, far) in
        [(&[0.1][..], true), (&[0.099][..], false), (&[0.05, 0.15, 0.2], true), (&[0.05, 0.05, 0.2], false)]
    {
        let (_, a) = analyze(logins(rtts));
        let got = found(&a, FindingKind::FarRegistry);
        assert_eq!(got.len(), usize::from(far), "{rtts:?}: {:?}", a.findings);
        if let [Fields::FarRegistry(f)] = got.as_slice() {
            assert!((f.rtt_ms - rtts[rtts.len() / 2] * 1e3).abs() < 0.05, "{f:?}");
        }
    }
}

/// Written as the report writes every round trip ("131 ms"), not as the JSON field holds it
/// (130.8), so that two hosts of one pull do not read "130.8 ms" and "131 ms".
#[test]
fn a_far_round_trip_is_written_as_round_trips_are() {
    let (_, a) = analyze(logins(&[0.1308]));
    let message = &a.findings.iter().find(|f| f.kind() == FindingKind::FarRegistry).unwrap().message;
    assert!(message.contains("take 131 ms per round trip"), "{message}");
}

/// Connections to the storage account, each after `syns` SYNs one second apart.
fn retried(syns: &[usize]) -> Packets {
    let mut p = vec![resolved(0.0, BLOB, IpAddr::V4(BLOB_ADDR))];
    for (i, n) in syns.iter().enumerate() {
        let mut c = Conn::v4(BLOB_ADDR, 52000 + i as u16);
        let t = 0.1 + 10.0 * i as f64;
        for k in 0..*n {
            c.syn(t + k as f64);
        }
        c.syn_ack(t + *n as f64 - 0.98).client(t + *n as f64, &common::client_hello(BLOB));
        p.extend(c.packets());
    }
    p
}

#[test]
fn a_connection_that_needed_a_second_syn_is_a_connect_retry() {
    let (_, a) = analyze(retried(&[1, 1]));
    assert!(found(&a, FindingKind::ConnectRetries).is_empty(), "{:?}", a.findings);
    let (_, a) = analyze(retried(&[1, 2, 3]));
    let Fields::ConnectRetries(r) = the(&a, FindingKind::ConnectRetries) else { unreachable!() };
    assert_eq!((r.flows_total, r.syns, r.delay_s), (3, 5, 3.0));
    let f = a.findings.iter().find(|f| f.kind() == FindingKind::ConnectRetries).unwrap();
    assert_eq!(f.flows, 2);
    assert!(f.message.contains("SNAT port exhaustion"), "two flows to one address: {}", f.message);
}

/// An IPv6 connection to the storage account that gets no SYN-ACK, then an IPv4 one `after`
/// seconds later.
fn fallback(after: f64) -> Packets {
    let mut p = vec![resolved(0.0, BLOB, IpAddr::V6(BLOB_ADDR6)), resolved(0.0, BLOB, IpAddr::V4(BLOB_ADDR))];
    let mut six = Conn::new(IpAddr::V6(CLIENT6), IpAddr::V6(BLOB_ADDR6), 53000);
    six.syn(0.1).syn(1.1).syn(3.1);
    let mut four = Conn::v4(BLOB_ADDR, 53001);
    four.tls(0.1 + after, 0.02, BLOB).server(0.3 + after, &record(0x17, &[0; 300]));
    p.extend(six.packets());
    p.extend(four.packets());
    p
}

#[test]
fn ipv6_unanswered_then_ipv4_within_30_seconds_is_a_fallback() {
    let (_, a) = analyze(fallback(3.5));
    let Fields::Ipv6Fallback(f) = the(&a, FindingKind::Ipv6Fallback) else { unreachable!() };
    assert_eq!((f.broken_family, f.fallback_to, f.delay_s), ("ipv6", IpAddr::V4(BLOB_ADDR), 3.5));
    assert!(found(&a, FindingKind::ConnectTimeout).is_empty(), "the fallback explains the timeout");
    // 31 s later the IPv4 connection is another attempt, and the IPv6 one failed on its own.
    let (_, a) = analyze(fallback(31.0));
    assert!(found(&a, FindingKind::Ipv6Fallback).is_empty(), "{:?}", a.findings);
    assert_eq!(found(&a, FindingKind::ConnectTimeout).len(), 1, "{:?}", a.findings);
}

/// A lookup of `name`: `queries` queries from 0.1 s, 0.1 s apart, answered `latency` seconds
/// after the first.
fn lookup(name: &str, queries: usize, latency: f64) -> Packets {
    let mut p = Vec::new();
    for q in 0..queries {
        let t = 0.1 + 0.1 * q as f64;
        p.push((t, common::udp(CLIENT.octets(), 40000, RESOLVER.octets(), 53, &dns(7, name, 1, &[]))));
    }
    let answer = dns(7, name, 1, &[IpAddr::V4(LOGIN_ADDR)]);
    p.push((0.1 + latency, common::udp(RESOLVER.octets(), 53, CLIENT.octets(), 40000, &answer)));
    p
}

#[test]
fn a_registry_lookup_is_slow_from_one_second_or_a_quarter_when_retried() {
    for (queries, latency, slow) in [(1, 0.99, false), (1, 1.0, true), (2, 0.24, false), (2, 0.25, true)] {
        let (_, a) = analyze(lookup(LOGIN, queries, latency));
        let got = found(&a, FindingKind::DnsSlow);
        assert_eq!(got.len(), usize::from(slow), "{queries} queries, {latency} s: {:?}", a.findings);
        if let [Fields::DnsSlow(d)] = got.as_slice() {
            assert_eq!((d.queries, d.qtype.as_deref()), (queries as u32, Some("A")));
            assert!((d.latency_ms - latency * 1e3).abs() < 0.01, "{d:?}");
        }
    }
    // Only the registry's names: a slow lookup of another name is someone else's.
    let (_, a) = analyze(lookup("www.example.org", 1, 3.0));
    assert!(found(&a, FindingKind::DnsSlow).is_empty(), "{:?}", a.findings);
}

#[test]
fn segments_missing_while_the_capture_dropped_packets_are_not_the_paths_loss() {
    let mut packets = Download { lost: 3, ..STEADY }.packets();
    packets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut s = common::session_of(&packets);
    // The capture's own counter, read at each tick: 3 packets dropped during the transfer.
    for (tick, total) in [(0.0, 0), (0.5, 0), (1.0, 3), (1.5, 3)] {
        s.capture_drops.read((tick * 1e9) as i64, total);
    }
    let a = Analyzer::default().analyze(&s);
    let Fields::SlowDownload(d) = the(&a, FindingKind::SlowDownload) else { unreachable!() };
    assert_eq!((d.limited_by, d.lost_segments_down, d.capture_drops), ("bandwidth", 3, Some(3)), "{d:?}");
    let f = a.findings.iter().find(|f| f.kind() == FindingKind::SlowDownload).unwrap();
    assert!(f.message.contains("The capture itself dropped 3 packets during these transfers"), "{}", f.message);
    // From a file nothing is known of the capture's drops: the missing segments are loss.
    let (_, a) = analyze(Download { lost: 3, ..STEADY }.packets());
    let Fields::SlowDownload(d) = the(&a, FindingKind::SlowDownload) else { unreachable!() };
    assert_eq!((d.limited_by, d.capture_drops), ("loss", None), "from a file: {d:?}");
}
