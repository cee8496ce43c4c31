//! The lab captures (real registry pulls in the four ACR set-ups) are reported with the names,
//! chains, addresses, roles and findings their `expected.json` lists.

use std::path::{Path, PathBuf};

use serde_json::Value;

use acrscope::analysis::Analyzer;
use acrscope::output::json;
use acrscope::pipeline;
use acrscope::session::Limits;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every lab capture we carry, with its expected.json.
fn lab_captures() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    // The bundled captures (their expected.json in tests/fixtures/lab), the other lab captures,
    // and variants made with the pull lab for other registries, regions, IPv6 and link types.
    for (dir, exp_dir) in [
        ("assets/captures", "tests/fixtures/lab"),
        ("tests/fixtures/lab", "tests/fixtures/lab"),
        ("tests/fixtures/lab-extra", "tests/fixtures/lab-extra"),
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                let exp = root().join(exp_dir).join(format!("{name}.expected.json"));
                // A bundled path scenario (a slow pull) keeps its expected.json with the other
                // path scenarios: tests/slow_findings.rs checks it.
                if root().join("tests/fixtures/lab/path").join(format!("{name}.expected.json")).exists() {
                    continue;
                }
                assert!(exp.exists(), "{name} has no expected.json");
                // Failing pulls are checked by tests/failures.rs against their `failures`.
                let text = std::fs::read_to_string(&exp).unwrap();
                if !text.contains("\"failures\"") {
                    out.push((p, exp));
                }
            }
        }
    }
    out.sort();
    assert!(out.len() >= 14, "the seven lab captures and the variants are carried, found {}", out.len());
    out
}

fn report(path: &Path) -> Value {
    let (session, info) = pipeline::read_file(path, Limits::default(), |_| {}).unwrap();
    let analysis = Analyzer::default().analyze(&session);
    serde_json::to_value(json::build(&session, &analysis, &info)).unwrap()
}

fn our_role(lab_role: &str) -> (&'static str, bool) {
    match lab_role {
        "login" => ("acr-login", false),
        "blob" => ("acr-data-blob", false),
        "dedicated-data" => ("acr-data-dedicated", false),
        "privatelink-login" => ("acr-login", true),
        "privatelink-data" => ("acr-data-dedicated", true),
        other => panic!("unknown lab role {other}"),
    }
}

/// The registry's region: named by its dedicated data endpoint, else by the front end its login
/// server's chain ends at (`*.<region>.cloudapp.azure.com`).
fn region_of(exp: &Value) -> String {
    let data = s(&exp["scenario"]["data_endpoint"]);
    if data.contains(".data.azurecr.") {
        return data.split('.').nth(1).unwrap().to_string();
    }
    let login = exp["names"].as_array().unwrap().iter().find(|n| n["role"] == "login").unwrap();
    let last = s(login["cname_chain"].as_array().unwrap().last().unwrap());
    last.strip_suffix(".cloudapp.azure.com").unwrap().rsplit('.').next().unwrap().to_string()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[test]
fn every_lab_flow_has_the_expected_name_role_chain_and_counts() {
    for (pcap, exp) in lab_captures() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let exp: Value = serde_json::from_str(&std::fs::read_to_string(&exp).unwrap()).unwrap();
        let rep = report(&pcap);
        assert!(rep["capture"]["error"].is_null(), "{name}: {}", rep["capture"]["error"]);
        assert_eq!(rep["stats"]["packets"], exp["frames"], "{name}: frames");
        let flows = rep["flows"].as_array().unwrap();
        let registry = s(&exp["scenario"]["registry_login_server"]).split('.').next().unwrap().to_string();
        for ef in exp["flows"].as_array().unwrap() {
            let port = ef["client_port"].as_u64().unwrap();
            let f = flows
                .iter()
                .find(|f| f["client_port"].as_u64() == Some(port) && f["proto"] == ef["proto"])
                .unwrap_or_else(|| panic!("{name}: no flow from client port {port}"));
            let what = format!("{name} flow :{port}");
            assert_eq!(f["client"], ef["client"], "{what}");
            assert_eq!(f["server"], ef["server"], "{what}");
            assert_eq!(f["server_port"], ef["server_port"], "{what}");
            assert_eq!(f["sni"], ef["sni"], "{what}");
            assert_eq!(f["hostname"], ef["sni"], "{what}");
            assert_eq!(f["name_source"], "sni", "{what}");
            assert_eq!(f["dns_chain"], ef["name_chain"], "{what}");
            assert_eq!(f["scope"], ef["scope"], "{what}");
            let (role, pl) = our_role(ef["role"].as_str().unwrap());
            assert_eq!(f["role"], role, "{what}");
            assert_eq!(f["via_private_link"], pl, "{what}");
            assert_eq!(f["registry"], registry.as_str(), "{what}");
            assert_eq!(f["bytes_up"], ef["tcp_payload_to_server"], "{what}");
            assert_eq!(f["bytes_down"], ef["tcp_payload_to_client"], "{what}");
            assert_eq!(f["packets_up"], ef["frames_to_server"], "{what}");
            assert_eq!(f["packets_down"], ef["frames_to_client"], "{what}");
            if role == "acr-data-dedicated" || role == "acr-login" {
                assert_eq!(f["region"], region_of(&exp).as_str(), "{what}: region");
            }
        }
    }
}

#[test]
fn every_lab_name_resolves_through_its_chain_to_its_address() {
    for (pcap, exp) in lab_captures() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let exp: Value = serde_json::from_str(&std::fs::read_to_string(&exp).unwrap()).unwrap();
        let rep = report(&pcap);
        let dns = rep["dns"].as_array().unwrap();
        assert_eq!(dns.len(), exp["dns_responses"].as_array().unwrap().len(), "{name}: DNS responses");
        for n in exp["names"].as_array().unwrap() {
            let host = n["name"].as_str().unwrap();
            let hits: Vec<&Value> =
                dns.iter().filter(|d| d["query"] == host && !d["addresses"].as_array().unwrap().is_empty()).collect();
            assert!(!hits.is_empty(), "{name}: no answer for {host}");
            for d in hits {
                assert_eq!(d["chain"], n["cname_chain"], "{name}: chain of {host}");
                // An IPv6 capture's A answers (asked in parallel) hold the IPv4 address.
                let ok = d["addresses"] == serde_json::json!([n["address"]])
                    || (!n["address_ipv4"].is_null() && d["addresses"] == serde_json::json!([n["address_ipv4"]]));
                assert!(ok, "{name}: address of {host}: {}", d["addresses"]);
            }
            let ep = rep["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["hostname"] == host)
                .unwrap_or_else(|| panic!("{name}: no endpoint row for {host}"));
            assert_eq!(ep["addresses"], serde_json::json!([n["address"]]), "{name}: endpoint {host}");
            assert_eq!(ep["scopes"], serde_json::json!([n["scope"]]), "{name}: endpoint {host}");
        }
    }
}

/// The lab starts capturing before the pull asks anything: every answer is timed from a query
/// seen. Where an expected.json gives tshark's view of each lookup (`latency_ms` and `queries`
/// of its `dns_responses`, by `../shared/lab/pathlab.py`), the answer of the same frame agrees.
#[test]
fn every_lab_answer_is_timed_from_its_first_query() {
    for (pcap, exp) in lab_captures() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let exp: Value = serde_json::from_str(&std::fs::read_to_string(&exp).unwrap()).unwrap();
        let rep = report(&pcap);
        for d in rep["dns"].as_array().unwrap() {
            let (frame, ms, queries) = (&d["frame"], d["latency_ms"].as_f64(), d["queries"].as_u64());
            assert!(queries >= Some(1) && ms.is_some_and(|ms| ms >= 0.0), "{name}: frame {frame}: {d}");
            let Some(want) = exp["dns_responses"].as_array().unwrap().iter().find(|e| e["frame"] == *frame) else {
                panic!("{name}: frame {frame} is not an expected DNS response");
            };
            if let Some(want_ms) = want["latency_ms"].as_f64() {
                let ms = ms.unwrap();
                assert!((ms - want_ms).abs() <= f64::max(1.0, want_ms * 0.05), "{name}: frame {frame}: {ms} ms");
                assert_eq!(queries, want["queries"].as_u64(), "{name}: frame {frame}: queries");
            }
        }
    }
}

#[test]
fn each_setup_gets_the_finding_that_names_it() {
    for (pcap, exp) in lab_captures() {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let exp: Value = serde_json::from_str(&std::fs::read_to_string(&exp).unwrap()).unwrap();
        let want = match exp["scenario"]["id"].as_str().unwrap() {
            "a" => "data-via-storage-account",
            "b" => "data-via-dedicated-endpoint",
            "c" => "private-link",
            "d" => "private-link-resolved-publicly",
            other => panic!("unknown scenario {other}"),
        };
        let rep = report(&pcap);
        let kinds: Vec<String> = rep["findings"].as_array().unwrap().iter().map(|f| s(&f["kind"])).collect();
        assert!(kinds.iter().any(|k| k == want), "{name}: findings {kinds:?} lack {want}");
        let f = rep["findings"].as_array().unwrap().iter().find(|f| f["kind"] == want).unwrap();
        let registry = s(&exp["scenario"]["registry_login_server"]).split('.').next().unwrap().to_string();
        assert_eq!(f["registry"], registry.as_str(), "{name}");
        // Every name a lab pull resolved was used (by its A or, on IPv6, its AAAA answer).
        assert!(!kinds.iter().any(|k| k == "unused-dns-answers"), "{name}: {kinds:?}");
        // Scenario c stays private: nothing may claim data left over a public endpoint.
        if want == "private-link" {
            assert!(!kinds.iter().any(|k| k == "private-link-resolved-publicly" || k == "data-via-storage-account"));
        }
    }
}
