//! Naming flows from DNS answers: which answer explains a connection when several could.

mod common;

use std::net::Ipv4Addr;

use acrscope::analysis::{findings::FindingKind, Analyzer, ViewCache};
use acrscope::session::naming::NameSource;
use common::{dns_response, session_of, tcp, udp};

const CLIENT: [u8; 4] = [10, 1, 0, 4];
const OTHER_CLIENT: [u8; 4] = [10, 1, 0, 9];
const DNS: [u8; 4] = [168, 63, 129, 16];
const SERVER: [u8; 4] = [40, 79, 197, 136];

fn answer(t: f64, to: [u8; 4], id: u16, chain: &[&str], ttl: u32) -> (f64, Vec<u8>) {
    (t, udp(DNS, 53, to, 40000 + id, &dns_response(id, chain, &[Ipv4Addr::from(SERVER)], ttl)))
}

fn syn(t: f64, from: [u8; 4], port: u16) -> (f64, Vec<u8>) {
    (t, tcp(from, port, SERVER, 443, 1000, true, &[]))
}

fn hostname(packets: &[(f64, Vec<u8>)], flow_port: u16) -> (Option<String>, NameSource, Vec<String>) {
    let s = session_of(packets);
    let id = s.flows().iter().find(|f| f.client_port == flow_port).unwrap().id;
    let a = Analyzer::default();
    let v = a.view(&s, id, &mut ViewCache::default());
    (v.naming.hostname.as_deref().map(str::to_string), v.naming.source, v.chain(&s).to_vec())
}

#[test]
fn the_latest_answer_before_the_flow_names_it() {
    let p = vec![
        answer(0.0, CLIENT, 1, &["first.example", "cdn.example.net"], 300),
        answer(1.0, CLIENT, 2, &["second.example", "cdn.example.net"], 300),
        syn(2.0, CLIENT, 50000),
    ];
    let (h, src, chain) = hostname(&p, 50000);
    assert_eq!(h.as_deref(), Some("second.example"));
    assert_eq!(src, NameSource::Dns);
    assert_eq!(chain, ["second.example", "cdn.example.net"]);
}

#[test]
fn an_answer_whose_ttl_ran_out_yields_to_one_still_valid() {
    // first.example was answered later but with a 5 s TTL that ran out before the flow.
    let p = vec![
        answer(0.0, CLIENT, 1, &["long.example"], 3600),
        answer(1.0, CLIENT, 2, &["short.example"], 5),
        syn(20.0, CLIENT, 50001),
    ];
    assert_eq!(hostname(&p, 50001).0.as_deref(), Some("long.example"));
}

#[test]
fn with_every_ttl_run_out_the_latest_still_serves() {
    let p = vec![
        answer(0.0, CLIENT, 1, &["old.example"], 1),
        answer(1.0, CLIENT, 2, &["newer.example"], 1),
        syn(30.0, CLIENT, 50002),
    ];
    assert_eq!(hostname(&p, 50002).0.as_deref(), Some("newer.example"));
}

#[test]
fn an_answer_seen_after_the_flow_began_serves_when_none_came_before() {
    let p = vec![syn(0.0, CLIENT, 50003), answer(0.5, CLIENT, 1, &["late.example"], 60)];
    let (h, src, _) = hostname(&p, 50003);
    assert_eq!(h.as_deref(), Some("late.example"));
    assert_eq!(src, NameSource::Dns);
}

#[test]
fn the_flows_own_client_is_preferred() {
    let p = vec![
        answer(0.0, CLIENT, 1, &["mine.example"], 300),
        answer(1.0, OTHER_CLIENT, 2, &["theirs.example"], 300),
        syn(2.0, CLIENT, 50004),
    ];
    assert_eq!(hostname(&p, 50004).0.as_deref(), Some("mine.example"));
}

#[test]
fn sni_wins_and_takes_the_chain_that_passes_through_it() {
    let hello = common::client_hello("fabrikamreg.azurecr.io");
    let p = vec![
        answer(0.0, CLIENT, 1, &["fabrikamreg.azurecr.io", "jpe-2-az.fe.azcr.io"], 300),
        answer(0.5, CLIENT, 2, &["unrelated.example"], 300),
        syn(1.0, CLIENT, 50005),
        (1.1, tcp(CLIENT, 50005, SERVER, 443, 1001, false, &hello)),
    ];
    let (h, src, chain) = hostname(&p, 50005);
    assert_eq!(h.as_deref(), Some("fabrikamreg.azurecr.io"));
    assert_eq!(src, NameSource::Sni);
    assert_eq!(chain, ["fabrikamreg.azurecr.io", "jpe-2-az.fe.azcr.io"]);
}

#[test]
fn unnamed_flows_and_unused_answers_become_findings() {
    let p = vec![
        (0.0, udp(DNS, 53, CLIENT, 40001, &dns_response(1, &["idle.example"], &[Ipv4Addr::new(1, 2, 3, 4)], 60))),
        (1.0, tcp(CLIENT, 50006, [93, 184, 216, 34], 443, 5, true, &[])),
    ];
    let s = session_of(&p);
    let a = Analyzer::default().analyze(&s);
    let unnamed = a.findings.iter().find(|f| f.kind() == FindingKind::UnnamedFlows).unwrap();
    assert_eq!(unnamed.flows, 1);
    assert_eq!(unnamed.addresses[0].to_string(), "93.184.216.34");
    let unused = a.findings.iter().find(|f| f.kind() == FindingKind::UnusedDnsAnswers).unwrap();
    assert_eq!(unused.hosts, ["idle.example"]);
}

/// Views made one flow at a time with one cache kept between them (the live events, the
/// annotations) are the views made each with nothing cached.
#[test]
fn a_view_is_the_same_whatever_its_cache_holds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/captures");
    let a = Analyzer::default();
    for name in ["scenario-a-blob.pcap", "scenario-b-dedicated.pcap", "scenario-c-privatelink.pcap"] {
        let (s, _) = acrscope::pipeline::read_file(&dir.join(name), Default::default(), |_| {}).unwrap();
        assert!(s.flows().len() > 5, "{name}");
        let mut shared = ViewCache::default();
        for id in (0..s.flows().len() as u32).chain(0..s.flows().len() as u32) {
            let alone = format!("{:?}", a.view(&s, id, &mut ViewCache::default()));
            let cached = format!("{:?}", a.view(&s, id, &mut shared));
            assert_eq!(cached, alone, "{name}: flow {id}");
        }
    }
}
