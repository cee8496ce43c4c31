//! How each flow ended, built packet by packet in IPv4 and IPv6: every outcome of a failing pull
//! (never connected, refused, unreachable, cut after the ClientHello by a RST or a FIN, refused by
//! a proxy with a 403 or a 407) and the finding that says what to do.

mod common;

use std::net::IpAddr;

use acrscope::analysis::finding::Fields;
use acrscope::analysis::findings::{FindingKind, Severity};
use acrscope::analysis::outcome::Outcome;
use acrscope::analysis::{Analysis, Analyzer};
use acrscope::session::Session;
use etherparse::{IpNumber, PacketBuilder};

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const RST: u8 = 0x04;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;

/// One side of a test connection, in either address family.
#[derive(Clone, Copy)]
struct Net {
    client: IpAddr,
    server: IpAddr,
    /// A router on the way, for ICMP errors.
    router: IpAddr,
}

fn v4() -> Net {
    Net {
        client: "10.1.0.4".parse().unwrap(),
        server: "20.60.172.36".parse().unwrap(),
        router: "10.1.0.1".parse().unwrap(),
    }
}

fn v6() -> Net {
    Net {
        client: "2001:db8:1::4".parse().unwrap(),
        server: "2603:1030:20e:3::23c".parse().unwrap(),
        router: "2001:db8:1::1".parse().unwrap(),
    }
}

fn ip_builder(src: IpAddr, dst: IpAddr) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed families"),
    }
}

/// A TCP segment with `flags`.
fn seg(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = ip_builder(src, dst).tcp(sport, dport, seq, 65535);
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & ACK != 0 {
        b = b.ack(1);
    }
    if flags & RST != 0 {
        b = b.rst();
    }
    if flags & FIN != 0 {
        b = b.fin();
    }
    if flags & PSH != 0 {
        b = b.psh();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// An ICMP (or ICMPv6) destination unreachable from `router`, quoting `quoted` (the client's
/// packet) as routers do: its IP header and the first 8 bytes after it.
fn unreachable(router: IpAddr, to: IpAddr, code: u8, quoted: &[u8]) -> Vec<u8> {
    let ip_len = match to {
        IpAddr::V4(_) => usize::from(quoted[0] & 0x0f) * 4,
        IpAddr::V6(_) => 40,
    };
    let quote = &quoted[..(ip_len + 8).min(quoted.len())];
    let mut out = Vec::new();
    match to {
        IpAddr::V4(_) => ip_builder(router, to).icmpv4_raw(3, code, [0; 4]).write(&mut out, quote).unwrap(),
        IpAddr::V6(_) => ip_builder(router, to).icmpv6_raw(1, code, [0; 4]).write(&mut out, quote).unwrap(),
    }
    out
}

fn run(packets: &[(f64, Vec<u8>)]) -> (Session, Analysis) {
    let mut s = Session::default();
    for (i, (t, p)) in packets.iter().enumerate() {
        s.ingest(&common::raw_frame(i as u64 + 1, (t * 1e9) as i64, p));
    }
    s.finish();
    let a = Analyzer::default().analyze(&s);
    (s, a)
}

/// The outcome of the one TCP flow.
fn tcp_outcome(a: &Analysis, s: &Session) -> Outcome {
    let tcp: Vec<_> = a.flows.iter().filter(|v| s.flows()[v.id as usize].proto == acrscope::flow::L4::Tcp).collect();
    assert_eq!(tcp.len(), 1, "one TCP flow");
    tcp[0].outcome
}

/// The DNS answer that names the storage account, so the flow is registry traffic.
fn named(n: Net) -> (f64, Vec<u8>) {
    let (IpAddr::V4(c), IpAddr::V4(s)) = (n.client, n.server) else {
        // IPv6: an AAAA answer built by hand is not needed; the ClientHello names the flow.
        return (0.0, Vec::new());
    };
    let answer = common::dns_response(7, &["jpeacrprod0st17.blob.core.windows.net"], &[s], 60);
    (0.0, common::udp([168, 63, 129, 16], 53, c.octets(), 40000, &answer))
}

fn with_name(n: Net, mut p: Vec<(f64, Vec<u8>)>) -> Vec<(f64, Vec<u8>)> {
    let dns = named(n);
    if !dns.1.is_empty() {
        p.insert(0, dns);
    }
    p
}

#[test]
fn unanswered_syns_are_a_connect_timeout_with_their_count_and_span() {
    for n in [v4(), v6()] {
        let syn = |t: f64| (t, seg(n.client, 50000, n.server, 443, 100, SYN, b""));
        let (s, a) = run(&with_name(n, vec![syn(0.01), syn(1.01), syn(3.01), syn(7.01)]));
        assert_eq!(tcp_outcome(&a, &s), Outcome::ConnectTimeout);
        let f = s.flows().iter().find(|f| f.server_port == 443).unwrap();
        assert_eq!(f.tcp.syns(), 4);
        assert_eq!(f.tcp.syn().unwrap().span_ns(), 7_000_000_000);
        if n.client.is_ipv4() {
            let finding = a.findings.iter().find(|f| f.kind() == FindingKind::ConnectTimeout).expect("a finding");
            assert_eq!(finding.severity, Severity::Error);
            assert_eq!(finding.hosts, ["jpeacrprod0st17.blob.core.windows.net"]);
            let Fields::ConnectTimeout(t) = finding.fields() else { panic!("{:?}", finding.fields()) };
            assert_eq!((t.syns, t.syn_span_s), (4, 7.0));
            assert!(
                finding.message.contains("allow jpeacrprod0st17.blob.core.windows.net on TCP 443"),
                "{}",
                finding.message
            );
        }
    }
}

#[test]
fn a_single_fresh_syn_is_still_connecting_not_a_failure() {
    for n in [v4(), v6()] {
        let (s, a) = run(&[(0.0, seg(n.client, 50000, n.server, 443, 100, SYN, b""))]);
        assert_eq!(tcp_outcome(&a, &s), Outcome::Open);
        assert!(a.findings.iter().all(|f| f.severity != Severity::Error));
    }
}

#[test]
fn a_syn_answered_by_a_rst_is_refused() {
    for n in [v4(), v6()] {
        let (s, a) = run(&with_name(
            n,
            vec![
                (0.01, seg(n.client, 50000, n.server, 443, 100, SYN, b"")),
                (0.02, seg(n.server, 443, n.client, 50000, 0, RST | ACK, b"")),
            ],
        ));
        assert_eq!(tcp_outcome(&a, &s), Outcome::ConnectRefused);
        assert!(a.findings.iter().any(|f| f.kind() == FindingKind::ConnectRefused));
    }
}

#[test]
fn an_icmp_unreachable_quoting_the_syn_names_the_flow_and_its_code() {
    for n in [v4(), v6()] {
        let syn = seg(n.client, 50000, n.server, 443, 100, SYN, b"");
        // Administratively prohibited: code 13 in ICMP, code 1 in ICMPv6.
        let code = if n.client.is_ipv4() { 13 } else { 1 };
        let (s, a) = run(&with_name(n, vec![(0.01, syn.clone()), (0.02, unreachable(n.router, n.client, code, &syn))]));
        assert_eq!(tcp_outcome(&a, &s), Outcome::Unreachable);
        let f = s.flows().iter().find(|f| f.server_port == 443).unwrap();
        let icmp = f.icmp().expect("the ICMP error is on the flow");
        assert_eq!(icmp.from, n.router);
        assert_eq!(icmp.error.code, code);
        assert_eq!(icmp.error.describe(), "administratively prohibited");
        let finding = a.findings.iter().find(|f| f.kind() == FindingKind::Unreachable).expect("a finding");
        let Fields::Unreachable(u) = finding.fields() else { panic!("{:?}", finding.fields()) };
        assert_eq!(u.icmp.as_ref().map(|i| i.icmp_from), Some(n.router));
        assert!(finding.message.contains("administratively prohibited"), "{}", finding.message);
        assert_eq!(s.stats.icmp_errors, 1);
    }
}

/// Handshake, ClientHello, then the server side closes with `close` and never says ServerHello.
fn cut_after_hello(n: Net, close: u8) -> Vec<(f64, Vec<u8>)> {
    let hello = common::client_hello("jpeacrprod0st17.blob.core.windows.net");
    vec![
        (0.010, seg(n.client, 50000, n.server, 443, 100, SYN, b"")),
        (0.011, seg(n.server, 443, n.client, 50000, 900, SYN | ACK, b"")),
        (0.012, seg(n.client, 50000, n.server, 443, 101, ACK, b"")),
        (0.013, seg(n.client, 50000, n.server, 443, 101, ACK | PSH, &hello)),
        (0.014, seg(n.server, 443, n.client, 50000, 901, close | ACK, b"")),
    ]
}

#[test]
fn a_rst_or_a_fin_instead_of_a_server_hello_is_reset_after_client_hello() {
    for n in [v4(), v6()] {
        for (close, word) in [(RST, "rst"), (FIN, "fin")] {
            let (s, a) = run(&cut_after_hello(n, close));
            assert_eq!(tcp_outcome(&a, &s), Outcome::ResetAfterClientHello, "{word}");
            let finding =
                a.findings.iter().find(|f| f.kind() == FindingKind::ResetAfterClientHello).expect("a finding");
            let Fields::ResetAfterClientHello(r) = finding.fields() else { panic!("{:?}", finding.fields()) };
            assert_eq!(r.closed_with, Some(word));
            assert_eq!(finding.hosts, ["jpeacrprod0st17.blob.core.windows.net"]);
            assert!(finding.message.contains("SNI"), "{}", finding.message);
        }
    }
}

#[test]
fn a_connection_with_data_both_ways_is_ok_and_a_client_rst_at_the_end_is_normal() {
    for n in [v4(), v6()] {
        let hello = common::client_hello("fabrikamreg.azurecr.io");
        let (s, a) = run(&[
            (0.010, seg(n.client, 50000, n.server, 443, 100, SYN, b"")),
            (0.011, seg(n.server, 443, n.client, 50000, 900, SYN | ACK, b"")),
            (0.012, seg(n.client, 50000, n.server, 443, 101, ACK | PSH, &hello)),
            (0.013, seg(n.server, 443, n.client, 50000, 901, ACK | PSH, b"\x16\x03\x03\x00\x01\x02")),
            (0.014, seg(n.client, 50000, n.server, 443, 101 + hello.len() as u32, RST | ACK, b"")),
        ]);
        assert_eq!(tcp_outcome(&a, &s), Outcome::Ok);
        let f = s.flows().iter().find(|f| f.server_port == 443).unwrap();
        assert_eq!(f.tcp.connect_rtt_ns(), Some(1_000_000));
        assert!(a.findings.iter().all(|f| f.severity != Severity::Error), "{:?}", a.findings);
    }
}

#[test]
fn a_retransmitted_segment_is_counted() {
    let n = v4();
    let (s, _) = run(&[
        (0.010, seg(n.client, 50000, n.server, 443, 100, SYN, b"")),
        (0.011, seg(n.server, 443, n.client, 50000, 900, SYN | ACK, b"")),
        (0.012, seg(n.client, 50000, n.server, 443, 101, ACK | PSH, b"GET")),
        (0.212, seg(n.client, 50000, n.server, 443, 101, ACK | PSH, b"GET")),
        (0.213, seg(n.client, 50000, n.server, 443, 104, ACK | PSH, b" /")),
    ]);
    let f = s.flows().iter().find(|f| f.server_port == 443).unwrap();
    let m = s.flow(f.id).facts.transfer.as_deref().map(|t| t.metrics).unwrap();
    assert_eq!((m.retransmissions_up, m.retransmissions_down), (1, 0));
}

/// A CONNECT to a proxy on port 3128, split over two segments, answered with `status`.
fn through_proxy(answer: &[u8]) -> Vec<(f64, Vec<u8>)> {
    let n = Net { server: "10.0.0.10".parse().unwrap(), ..v4() };
    let req1 = b"CONNECT jpeacrprod0st17.blob.core.windows.net:443 HTTP/1.1\r\nHost: jpeacrprod0st17.blob";
    let req2 = b".core.windows.net:443\r\nUser-Agent: Go-http-client/1.1\r\n\r\n";
    vec![
        (0.010, seg(n.client, 50000, n.server, 3128, 100, SYN, b"")),
        (0.011, seg(n.server, 3128, n.client, 50000, 900, SYN | ACK, b"")),
        (0.012, seg(n.client, 50000, n.server, 3128, 101, ACK | PSH, req1)),
        (0.013, seg(n.client, 50000, n.server, 3128, 101 + req1.len() as u32, ACK | PSH, req2)),
        (0.014, seg(n.server, 3128, n.client, 50000, 901, ACK | PSH, answer)),
        (0.015, seg(n.server, 3128, n.client, 50000, 901 + answer.len() as u32, FIN | ACK, b"")),
    ]
}

#[test]
fn a_proxy_refusing_the_connect_is_proxy_refused_with_its_status() {
    let (s, a) = run(&through_proxy(b"HTTP/1.1 403 Forbidden\r\nServer: squid/5.7\r\nContent-Length: 0\r\n\r\n"));
    assert_eq!(tcp_outcome(&a, &s), Outcome::ProxyRefused);
    let v = &a.flows[0];
    assert_eq!(v.naming.hostname.as_deref(), Some("jpeacrprod0st17.blob.core.windows.net"));
    let finding = a.findings.iter().find(|f| f.kind() == FindingKind::ProxyRefused).expect("a finding");
    let Fields::ProxyRefused(p) = finding.fields() else { panic!("{:?}", finding.fields()) };
    assert_eq!(p.status, Some(403));
    assert_eq!(p.proxy.as_deref(), Some("10.0.0.10:3128"));
    assert_eq!(p.port, Some(443));
    assert_eq!(p.status_line.as_deref(), Some("HTTP/1.1 403 Forbidden"));
    assert!(finding.message.contains("allow-list"), "{}", finding.message);
}

#[test]
fn a_407_says_the_proxy_wants_credentials() {
    let (s, a) = run(&through_proxy(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n",
    ));
    assert_eq!(tcp_outcome(&a, &s), Outcome::ProxyRefused);
    let finding = a.findings.iter().find(|f| f.kind() == FindingKind::ProxyRefused).expect("a finding");
    let Fields::ProxyRefused(p) = finding.fields() else { panic!("{:?}", finding.fields()) };
    assert_eq!(p.status, Some(407));
    assert_eq!(p.proxy_authenticate.as_deref(), Some("Basic realm=\"corp\""));
    assert!(finding.message.contains("credentials"), "{}", finding.message);
}

#[test]
fn a_name_that_did_not_resolve_is_a_dns_failure_and_a_private_zone_gap_says_which_record() {
    let client = [10, 1, 0, 4];
    let server = [168, 63, 129, 16];
    // NXDOMAIN with the CNAME into the private-link zone (RFC 6604), as Azure DNS answers.
    let mut m = Vec::new();
    m.extend_from_slice(&[0, 9, 0x81, 0x83, 0, 1, 0, 1, 0, 0, 0, 0]);
    m.extend(common::name("fabrikamreg.japaneast.data.azurecr.io"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend(common::name("fabrikamreg.japaneast.data.azurecr.io"));
    let target = common::name("fabrikamreg.japaneast.data.privatelink.azurecr.io");
    m.extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 60]);
    m.extend_from_slice(&(target.len() as u16).to_be_bytes());
    m.extend(target);
    let (_, a) = run(&[(0.01, common::udp(server, 53, client, 40001, &m))]);
    let f = a.findings.iter().find(|f| f.kind() == FindingKind::PrivateLinkRecordMissing).expect("a finding");
    assert_eq!(f.hosts, ["fabrikamreg.japaneast.data.azurecr.io"]);
    let Fields::PrivateLinkRecordMissing(m) = f.fields() else { panic!("{:?}", f.fields()) };
    assert_eq!(m.zone, "privatelink.azurecr.io");
    assert_eq!(m.record, "fabrikamreg.japaneast.data");
    assert_eq!(m.rcode, "NXDOMAIN");
    assert_eq!(f.registry.as_deref(), Some("fabrikamreg"));

    // The same NXDOMAIN without a private-link alias is a plain dns-failure.
    let mut m = Vec::new();
    m.extend_from_slice(&[0, 10, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend(common::name("fabrikamreg.azurecr.io"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    let (_, a) = run(&[(0.01, common::udp(server, 53, client, 40002, &m))]);
    let f = a.findings.iter().find(|f| f.kind() == FindingKind::DnsFailure).expect("a finding");
    let Fields::DnsFailure(d) = f.fields() else { panic!("{:?}", f.fields()) };
    assert_eq!((f.severity, d.rcode), (Severity::Error, Some("NXDOMAIN")));
    // A search-domain miss for a name that is no registry's is summed up as information.
    let mut m = Vec::new();
    m.extend_from_slice(&[0, 11, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend(common::name("printer.corp.example"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    let (_, a) = run(&[(0.01, common::udp(server, 53, client, 40003, &m))]);
    assert!(a.findings.iter().all(|f| f.severity == Severity::Info), "{:?}", a.findings);
}

#[test]
fn the_icmp_decoder_ignores_what_is_not_an_unreachable_about_tcp_or_udp() {
    let n = v4();
    // An echo request and an unreachable quoting an ICMP packet: neither names a flow.
    let mut echo = Vec::new();
    ip_builder(n.client, n.server).icmpv4_echo_request(1, 1).write(&mut echo, b"ping").unwrap();
    let mut inner = Vec::new();
    ip_builder(n.client, n.server).icmpv4_echo_request(1, 2).write(&mut inner, b"ping").unwrap();
    let (s, _) = run(&[(0.0, echo), (0.1, unreachable(n.router, n.client, 1, &inner))]);
    assert_eq!(s.stats.icmp_errors, 0);
    assert_eq!(s.flows().len(), 0);
    let _ = IpNumber::ICMP;
}
