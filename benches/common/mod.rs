//! Inputs shared by the criterion benchmarks: real-looking frames built with the same code as
//! the capture generator (examples/gen_capture.rs), deterministic.
#![allow(dead_code)]

#[path = "wire.rs"]
pub mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use acrscope::capture::Frame;
use acrscope::packet::link::linktype;
use acrscope::session::Session;

use wire::*;

pub const CLIENT_MAC: [u8; 6] = [0x00, 0x0d, 0x3a, 0x10, 0, 1];

pub fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

pub fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2603, 0x1030, 0x400, 0, 0, 0, 0, last))
}

/// The mix of a layer download as the client's capture sees it: two 1448-byte data segments,
/// then the client's ACK; one frame in eight over IPv6, one in 64 a DNS answer.
pub fn pull_mix(n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(7);
    let mut k4 = Tcp::new(&mut rng, CLIENT_MAC, v4(10, 1, 0, 4), 40_001, v4(20, 60, 33, 36), 443);
    let mut k6 = Tcp::new(&mut rng, CLIENT_MAC, v6(4), 40_002, v6(0x24), 443);
    let data = vec![0x5a; MSS];
    let dns = acr_dns_response(1, "fabrikamreg.azurecr.io", &[v4(40, 79, 197, 136)]);
    (0..n)
        .map(|i| {
            if i % 64 == 63 {
                return dns.clone();
            }
            let k = if i % 8 == 7 { &mut k6 } else { &mut k4 };
            if i % 3 == 2 {
                k.seg(true, ACK, &[])
            } else {
                k.seg(false, ACK, &data)
            }
        })
        .collect()
}

/// The CNAME chain of an ACR login server through its front end, as the resolver returns it.
pub fn acr_chain(login: &str) -> Vec<String> {
    vec![
        login.to_string(),
        "jpe-2-az.fe.azcr.io".to_string(),
        "jpe-2-acr-az-reg.trafficmanager.net".to_string(),
        "r0223jpe-2-az.japaneast.cloudapp.azure.com".to_string(),
    ]
}

/// A DNS response frame (Ethernet, IPv4, UDP) for `name` with the ACR chain and `addrs`.
pub fn acr_dns_response(id: u16, name: &str, addrs: &[IpAddr]) -> Vec<u8> {
    let qtype = if addrs.first().is_some_and(|a| a.is_ipv6()) { 28 } else { 1 };
    let msg = dns_message(id, name, qtype, Some((&acr_chain(name), addrs, 60)));
    udp_frame(GATEWAY_MAC, CLIENT_MAC, (v4(168, 63, 129, 16), 53), (v4(10, 1, 0, 4), 40_000 + id), 128, id, &msg)
}

/// The DNS message alone (UDP payload) of [`acr_dns_response`].
pub fn acr_dns_message(id: u16, name: &str, addrs: &[IpAddr]) -> Vec<u8> {
    dns_message(id, name, 1, Some((&acr_chain(name), addrs, 60)))
}

/// `flows` short TLS flows from 200 clients to 400 registries, whose login servers share eight
/// front-end addresses, with a DNS answer before each client's first flow to a name.
pub fn many_flows_session(flows: usize) -> Session {
    let mut rng = Rng(5);
    let mut s = Session::default();
    // As the timeline's sessions do (live, replay, snapshot): each flow's bytes over time.
    s.record_activity();
    let mut n = 0u64;
    let mut ingest = |s: &mut Session, ts: i64, f: &[u8]| {
        n += 1;
        s.ingest(&Frame {
            number: n,
            ts_ns: ts,
            link_type: linktype::ETHERNET,
            interface: 0,
            orig_len: f.len() as u32,
            offset: 0,
            data: f,
            comment: None,
        });
    };
    let mut seen = std::collections::HashSet::new();
    for i in 0..flows {
        let ts = i as i64 * 2_000_000;
        let client_no = i % 200;
        let client = v4(10, 1, 0, client_no as u8);
        let mac = [0, 0x0d, 0x3a, 0x10, 0, client_no as u8];
        let reg = (client_no * 2 + i / 200 % 2) % 400;
        let (name, server) = match i % 3 {
            0 => (format!("registry{reg:03}.azurecr.io"), v4(40, 79, 197, 128 + (reg % 8) as u8)),
            1 => (format!("registry{reg:03}.japaneast.data.azurecr.io"), v4(40, 79, 198, 128 + (reg % 8) as u8)),
            _ => (format!("jpeacrprod{reg:03}.blob.core.windows.net"), v4(20, 60, 33, (reg % 8) as u8)),
        };
        if seen.insert((client_no, name.clone())) {
            let chain = acr_chain(&name);
            let msg = dns_message(i as u16, &name, 1, Some((&chain, &[server], 60)));
            let f = udp_frame(GATEWAY_MAC, mac, (v4(168, 63, 129, 16), 53), (client, 30_000), 128, 1, &msg);
            ingest(&mut s, ts, &f);
        }
        let mut k = Tcp::new(&mut rng, mac, client, 40_000 + (i / 200) as u16, server, 443);
        ingest(&mut s, ts + 1, &k.seg(true, SYN, &[]));
        ingest(&mut s, ts + 2, &k.seg(false, SYN | ACK, &[]));
        let ch = client_hello(&mut rng, &name, false, true);
        ingest(&mut s, ts + 3, &k.seg(true, PSH | ACK, &ch));
    }
    s.finish();
    s
}
