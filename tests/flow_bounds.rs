//! Resource bounds of the engine, fed synthetic frames in memory: the hot flow table's cap,
//! reassembly state released with evicted flows, and the DNS answer cap, each with counters
//! that add up.

mod common;

use acrscope::session::{Limits, Session};

use common::raw_frame as frame;

/// Writes flow `i`'s client address and port into a raw IPv4/TCP or UDP packet.
fn set_client(p: &mut [u8], i: u32) {
    p[12..16].copy_from_slice(&[10, (i >> 24) as u8 | 0x40, (i >> 16) as u8, (i >> 8) as u8]);
    p[20..22].copy_from_slice(&(1024 + (i & 0xff) as u16).to_be_bytes());
}

#[test]
fn a_million_flows_through_a_cap_of_ten_thousand() {
    const FLOWS: u32 = 1_000_000;
    const CAP: usize = 10_000;
    let mut s = Session::new(Limits { max_active_flows: CAP, ..Limits::default() });
    let mut syn = common::tcp([10, 0, 0, 1], 1, [40, 79, 197, 136], 443, 7, true, &[]);
    for i in 0..FLOWS {
        set_client(&mut syn, i);
        // 1 ms apart: the oldest flows go idle (120 s) along the way, the rest by age.
        s.ingest(&frame(u64::from(i) + 1, i64::from(i) * 1_000_000, &syn));
    }
    s.finish();
    let st = &s.stats;
    assert_eq!(st.flows, u64::from(FLOWS));
    assert_eq!(s.flows().len(), FLOWS as usize);
    assert!(st.peak_active_flows <= CAP as u64, "peak {}", st.peak_active_flows);
    assert!(s.flows.active_len() <= CAP);
    assert_eq!(st.flows_evicted + s.flows.active_len() as u64, st.flows);
    assert_eq!(st.packets, u64::from(FLOWS));
    assert_eq!(st.warning_count(), 0);
}

#[test]
fn reassembly_state_goes_with_evicted_flows() {
    // Each flow sends one byte 60,000 bytes past its stream start: a TLS reassembler would hold
    // a 60 KB buffer for it. Only flows still in the hot table may keep theirs.
    const FLOWS: u32 = 20_000;
    const CAP: usize = 500;
    let mut s = Session::new(Limits { max_active_flows: CAP, ..Limits::default() });
    let mut syn = common::tcp([10, 0, 0, 1], 1, [40, 79, 197, 136], 443, 1000, true, &[]);
    let mut far = common::tcp([10, 0, 0, 1], 1, [40, 79, 197, 136], 443, 1001 + 60_000, false, &[0x16]);
    let mut n = 0;
    for i in 0..FLOWS {
        set_client(&mut syn, i);
        set_client(&mut far, i);
        for p in [&syn, &far] {
            n += 1;
            s.ingest(&frame(n, i64::from(i) * 1_000_000, p));
        }
    }
    let released = s.stats.flow_parsers_released;
    assert!(released >= u64::from(FLOWS) - CAP as u64, "released {released}");
    assert!(released <= s.stats.flows_evicted);
    s.finish();
    assert_eq!(s.stats.flows, u64::from(FLOWS));
    assert_eq!(s.stats.tls_client_hellos, 0);
}

#[test]
fn a_hello_cut_short_is_still_read_when_its_flow_is_evicted() {
    // Flow 0 sends the start of a ClientHello (its SNI whole) and never the rest; then enough
    // other flows arrive to evict it.
    let mut s = Session::new(Limits { max_active_flows: 16, ..Limits::default() });
    let hello = client_hello_start("registry-1.docker.io");
    let syn = common::tcp([10, 0, 0, 1], 40000, [40, 79, 197, 136], 443, 1000, true, &[]);
    let data = common::tcp([10, 0, 0, 1], 40000, [40, 79, 197, 136], 443, 1001, false, &hello);
    s.ingest(&frame(1, 0, &syn));
    s.ingest(&frame(2, 1, &data));
    let mut other = common::tcp([10, 0, 0, 2], 1, [40, 79, 197, 136], 443, 7, true, &[]);
    for i in 0..64u32 {
        set_client(&mut other, i);
        s.ingest(&frame(u64::from(i) + 3, 1_000 + i64::from(i), &other));
    }
    assert!(s.stats.flow_parsers_released >= 1);
    let ch = s.flow(0).facts.tls.client_hello.as_ref().expect("hello read on eviction");
    assert_eq!(ch.sni.as_deref(), Some("registry-1.docker.io"));
    assert!(ch.partial);
    s.finish();
    assert_eq!(s.stats.tls_client_hellos, 1);
}

/// A ClientHello record whose declared length runs 1000 bytes past its end (the rest never
/// sent), with the server_name extension whole.
fn client_hello_start(sni: &str) -> Vec<u8> {
    let n = sni.len() as u16;
    let mut body = vec![3, 3];
    body.extend_from_slice(&[1; 32]);
    body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&(n + 5).to_be_bytes());
    ext.extend_from_slice(&(n + 3).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&n.to_be_bytes());
    ext.extend_from_slice(sni.as_bytes());
    body.extend_from_slice(&(ext.len() as u16 + 1000).to_be_bytes());
    body.extend(ext);
    let declared = body.len() + 1000;
    let mut hs = vec![1, 0, (declared >> 8) as u8, declared as u8];
    hs.extend(body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&((declared + 4) as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

#[test]
fn dns_answers_beyond_the_cap_are_counted_not_stored() {
    const CAP: usize = 100;
    let mut s = Session::new(Limits { max_dns_answers: CAP, ..Limits::default() });
    let mut n = 0;
    for i in 0..1000u32 {
        let q = format!("h{i}.example");
        let answer = common::dns_response(i as u16, &[&q], &[[192, 0, 2, (i % 250) as u8].into()], 60);
        let resp = common::udp([10, 0, 0, 53], 53, [10, 0, 0, 1], 40000, &answer);
        // A query (QR clear) from another port: never answered.
        let mut query = answer.clone();
        query[2] = 0x01;
        query[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        let ask = common::udp([10, 0, 0, 1], 40001, [10, 0, 0, 53], 53, &query);
        for p in [&resp, &ask] {
            n += 1;
            s.ingest(&frame(n, i64::from(i) * 1_000_000, p));
        }
    }
    s.finish();
    let st = &s.stats;
    assert_eq!(st.dns_responses, 1000);
    assert_eq!(s.dns.len(), CAP);
    assert_eq!(st.dns_answers_evicted, 1000 - CAP as u64);
    assert_eq!(st.warnings.get("dns-answers-capped"), Some(&1));
    // The first answers are the ones kept, and still name their addresses.
    assert_eq!(s.dns[0].query(), "h0.example");
    assert!(!s.answers_for(&"192.0.2.0".parse().unwrap()).is_empty());
    assert_eq!(st.dns_queries, 1000);
    assert_eq!(s.dns.unanswered().len(), CAP);
    assert_eq!(st.dns_queries_dropped, 1000 - CAP as u64);
}

#[test]
fn closed_flows_are_evicted_before_open_ones() {
    // Cap 16: eight flows stay open, then eight are reset (more recent, but closed). The next
    // new flow makes room by dropping the closed ones: the open flows keep their entries.
    let mut s = Session::new(Limits { max_active_flows: 16, ..Limits::default() });
    let mut syn = common::tcp([10, 0, 0, 1], 1, [40, 79, 197, 136], 443, 7, true, &[]);
    let mut n = 0;
    let mut feed = |s: &mut Session, p: &[u8], t: i64| {
        n += 1;
        s.ingest(&frame(n, t, p));
    };
    for i in 0..16u32 {
        set_client(&mut syn, i);
        feed(&mut s, &syn, i64::from(i));
        if i >= 8 {
            let mut rst = syn.clone();
            rst[33] = 0x04; // RST
            feed(&mut s, &rst, i64::from(i));
        }
    }
    set_client(&mut syn, 16);
    feed(&mut s, &syn, 20);
    assert_eq!(s.stats.flows, 17);
    assert_eq!(s.flows.stats.evicted, 8);
    // The open flows are still found: another packet of each opens nothing new.
    for i in 0..8u32 {
        set_client(&mut syn, i);
        feed(&mut s, &syn, 30);
    }
    assert_eq!(s.stats.flows, 17);
}
