//! The server side of TLS read from real captures: the certificate a TLS-inspecting gateway
//! sends in clear, the client's alert refusing it, the ServerHello of a flow tunnelled through
//! an HTTP proxy, and nothing of the kind for TLS 1.3.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use acrscope::analysis::Analyzer;
use acrscope::output::json;
use acrscope::pipeline;
use acrscope::session::{Limits, Session};
use common::{session_of, tcp};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tcp_flows(path: &Path) -> Vec<Value> {
    let (session, info) = pipeline::read_file(path, Limits::default(), |_| {}).unwrap();
    let analysis = Analyzer::default().analyze(&session);
    let report = serde_json::to_value(json::build(&session, &analysis, &info)).unwrap();
    report["flows"].as_array().unwrap().iter().filter(|f| f["proto"] == "tcp").cloned().collect()
}

/// Scenario I of the pull lab: a gateway answers for fabrikamreg.azurecr.io in TLS 1.2 with a
/// certificate of its own CA; the client refuses it with a fatal bad_certificate alert.
#[test]
fn intercepted_login_shows_the_gateway_certificate_and_the_client_alert() {
    let flows = tcp_flows(&root().join("tests/fixtures/lab/scenario-i-tls-intercepted.pcap"));
    assert_eq!(flows.len(), 2);
    for f in &flows {
        assert_eq!(f["sni"], "fabrikamreg.azurecr.io");
        assert_eq!(f["tls_server_version"], "TLS 1.2");
        let ms = f["tls_handshake_ms"].as_f64().unwrap();
        assert!(ms > 0.0 && ms < 100.0, "{ms}");
        let c = &f["tls_certificate"];
        assert_eq!(c["issuer_cn"], "Fabrikam Corp TLS Inspection CA", "{c}");
        assert_eq!(c["subject_cn"], "fabrikamreg.azurecr.io");
        let issuer = c["issuer"].as_str().unwrap();
        assert!(issuer.contains("O=Fabrikam Corp") && issuer.contains("OU=IT Security"), "{issuer}");
        let san: Vec<&str> = c["san"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(san.contains(&"fabrikamreg.azurecr.io"), "{san:?}");
        assert!(c["not_before"].as_str().unwrap() < c["not_after"].as_str().unwrap());
        assert_eq!(
            f["tls_alerts"],
            serde_json::json!([{"from": "client", "level": "fatal", "description": "bad_certificate", "code": 42}])
        );
    }
}

/// A healthy TLS 1.3 pull: the certificate is encrypted, and nobody sends an alert in clear.
#[test]
fn tls13_pull_has_no_certificate_and_no_alerts() {
    let flows = tcp_flows(&root().join("assets/captures/scenario-a-blob.pcap"));
    assert!(flows.len() >= 10);
    for f in &flows {
        assert_eq!(f["tls_server_version"], "TLS 1.3", "{}", f["id"]);
        assert!(f["tls_certificate"].is_null(), "{}", f["id"]);
        assert_eq!(f["tls_alerts"], serde_json::json!([]), "{}", f["id"]);
        assert!(f["tls_handshake_ms"].as_f64().unwrap() > 0.0);
    }
}

/// Scenario H: squid answers `200 Connection established` before the tunnelled ServerHello,
/// which is still read; the CONNECTs it refuses carry no TLS at all.
#[test]
fn tunnelled_flows_get_their_server_version_after_the_proxy_status_line() {
    let flows = tcp_flows(&root().join("tests/fixtures/lab/scenario-h-proxy-refused.pcap"));
    let tunnelled: Vec<&Value> = flows.iter().filter(|f| !f["sni"].is_null()).collect();
    assert!(tunnelled.len() >= 2, "{}", tunnelled.len());
    for f in &tunnelled {
        assert_eq!(f["tls_server_version"], "TLS 1.3", "{}", f["id"]);
        assert!(f["tls_handshake_ms"].as_f64().is_some(), "{}", f["id"]);
    }
    for f in flows.iter().filter(|f| f["sni"].is_null()) {
        assert!(f["tls_server_version"].is_null(), "{}", f["id"]);
        assert_eq!(f["tls_alerts"], serde_json::json!([]));
    }
}

const CLIENT: [u8; 4] = [10, 1, 0, 4];
const SERVER: [u8; 4] = [40, 79, 197, 136];

fn record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ty, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let n = (body.len() as u32).to_be_bytes();
    let mut m = vec![ty, n[1], n[2], n[3]];
    m.extend_from_slice(body);
    m
}

/// ServerHello (TLS 1.2, no extensions), Certificate (leaf, CA), ServerHelloDone: one record each.
fn server_flight() -> Vec<u8> {
    let mut sh = vec![3, 3];
    sh.extend_from_slice(&[9; 32]);
    sh.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    let leaf = std::fs::read(root().join("tests/fixtures/tls/leaf.der")).unwrap();
    let ca = std::fs::read(root().join("tests/fixtures/tls/ca.der")).unwrap();
    let u24 = |n: usize| (n as u32).to_be_bytes()[1..].to_vec();
    let mut list = Vec::new();
    for c in [&leaf, &ca] {
        list.extend(u24(c.len()));
        list.extend_from_slice(c);
    }
    let mut cert = u24(list.len());
    cert.extend(list);
    let mut out = record(22, &handshake(2, &sh));
    out.extend(record(22, &handshake(11, &cert)));
    out.extend(record(22, &handshake(14, &[])));
    out
}

fn only_flow(s: &Session) -> &acrscope::session::TlsFacts {
    assert_eq!(s.flows().len(), 1);
    &s.flow(0).facts.tls
}

/// The certificate spans three segments; it is read in the frame that completes the leaf.
#[test]
fn certificate_over_three_segments_in_a_session() {
    let flight = server_flight();
    let ch = common::client_hello("fabrikamreg.azurecr.io");
    let mut packets = vec![(0.0, tcp(CLIENT, 50000, SERVER, 443, 1000, false, &ch))];
    let cuts = [0, 200, 500, flight.len()];
    for (i, w) in cuts.windows(2).enumerate() {
        let seg = tcp(SERVER, 443, CLIENT, 50000, 5000 + w[0] as u32, false, &flight[w[0]..w[1]]);
        packets.push((0.010 + i as f64 * 0.001, seg));
    }
    packets.push((0.020, tcp(CLIENT, 50000, SERVER, 443, 1000 + ch.len() as u32, false, &record(21, &[2, 42]))));
    let s = session_of(&packets);
    let tls = only_flow(&s);
    assert_eq!(tls.server_version, Some(0x0303));
    assert_eq!(tls.server_hello_frame.get(), Some(2));
    assert_eq!(tls.server_hello_ns.get(), Some(10_000_000));
    assert_eq!(tls.server_first_payload_ns.get(), Some(10_000_000));
    let cert = tls.certificate.as_ref().unwrap();
    assert_eq!(cert.issuer_cn.as_deref(), Some("Fabrikam Corp TLS Inspection CA"));
    // The leaf ends at byte 596 of the flight: in the third server segment, frame 4.
    assert_eq!(tls.certificate_frame.get(), Some(4));
    assert_eq!(tls.alerts.len(), 1);
    let a = tls.alerts[0];
    assert!(a.from_client);
    assert_eq!((a.frame, a.level_name(), a.description(), a.code), (5, "fatal", "bad_certificate", 42));
}

/// A server that refuses the ClientHello with a fatal handshake_failure, and no ServerHello.
#[test]
fn server_alert_instead_of_a_server_hello_in_a_session() {
    let ch = common::client_hello("fabrikamreg.azurecr.io");
    let s = session_of(&[
        (0.0, tcp(CLIENT, 50001, SERVER, 443, 1, false, &ch)),
        (0.004, tcp(SERVER, 443, CLIENT, 50001, 7, false, &record(21, &[2, 40]))),
    ]);
    let tls = only_flow(&s);
    assert_eq!(tls.client_hello.as_ref().unwrap().sni.as_deref(), Some("fabrikamreg.azurecr.io"));
    assert_eq!(tls.server_version, None);
    assert!(tls.certificate.is_none());
    assert_eq!(tls.alerts.len(), 1);
    let a = tls.alerts[0];
    assert!(!a.from_client);
    assert_eq!((a.frame, a.ts_ns, a.level_name(), a.description()), (2, 4_000_000, "fatal", "handshake_failure"));
}
