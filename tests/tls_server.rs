//! The server side of TLS read from real captures: the certificate a TLS-inspecting gateway
//! sends in clear, the client's alert refusing it, the ServerHello of a flow tunnelled through
//! an HTTP proxy, and nothing of the kind for TLS 1.3.

use std::path::{Path, PathBuf};

use serde_json::Value;

use acrscope::analysis::Analyzer;
use acrscope::output::json;
use acrscope::pipeline;
use acrscope::session::Limits;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tcp_flows(path: &Path) -> Vec<Value> {
    let (session, info) = pipeline::read_file(path, Limits::default(), |_| {}).unwrap();
    let analysis = Analyzer::default().analyze(&session);
    let report = serde_json::to_value(json::build(&session, &analysis, &info)).unwrap();
    report["flows"].as_array().unwrap().iter().filter(|f| f["proto"] == "tcp").cloned().collect()
}

/// Scenario I of ../shared/lab: a gateway answers for fabrikamreg.azurecr.io in TLS 1.2 with a
/// certificate of its own CA; the client refuses it with a fatal bad_certificate alert.
#[test]
fn intercepted_login_shows_the_gateway_certificate_and_the_client_alert() {
    let flows = tcp_flows(&root().join("tests/fixtures/tls/scenario-i-tls-intercepted.pcap"));
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
    let flows = tcp_flows(&root().join("tests/fixtures/tls/scenario-h-proxy-refused.pcap"));
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
