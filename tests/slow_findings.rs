//! The slow-pull findings on the lab's path scenarios: every finding the lab's expected.json
//! lists (`slow_findings`: kind, host, `limited_by`) is in the report, and no capture without
//! such expectations (the healthy and the failing pulls) raises a finding of those kinds.

use std::path::{Path, PathBuf};

use serde_json::Value;

use acrscope::analysis::Analyzer;
use acrscope::output::json;
use acrscope::pipeline;
use acrscope::session::Limits;

const SLOW_KINDS: [&str; 8] = [
    "stall",
    "mtu-black-hole",
    "tls-handshake-timeout",
    "slow-download",
    "far-registry",
    "connect-retries",
    "ipv6-fallback",
    "dns-slow",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn report(path: &Path) -> Value {
    let (session, info) = pipeline::read_file(path, Limits::default(), |_| {}).unwrap();
    let analysis = Analyzer::default().analyze(&session);
    serde_json::to_value(json::build(&session, &analysis, &info)).unwrap()
}

/// (expected.json, its capture) of every lab capture in the repository.
fn captures() -> Vec<(Value, PathBuf)> {
    let mut out = Vec::new();
    for dir in ["tests/fixtures/lab", "tests/fixtures/lab/path", "tests/fixtures/lab-extra/path"] {
        let dir = root().join(dir);
        for e in std::fs::read_dir(&dir).unwrap() {
            let file = e.unwrap().file_name().to_string_lossy().to_string();
            let Some(name) = file.strip_suffix(".expected.json") else { continue };
            let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(&file)).unwrap()).unwrap();
            let beside = dir.join(name);
            let capture = if beside.exists() { beside } else { root().join("assets/captures").join(name) };
            out.push((expected, capture));
        }
    }
    out
}

#[test]
fn each_path_scenario_is_named_and_no_other_pull_raises_a_slow_finding() {
    let mut misses = Vec::new();
    let mut expected_total = 0;
    for (expected, capture) in captures() {
        let got = report(&capture);
        let findings = got["findings"].as_array().unwrap();
        let want = expected["slow_findings"].as_array().cloned().unwrap_or_default();
        expected_total += want.len();
        for w in &want {
            let host = &w["hosts"][0];
            let found = findings.iter().any(|f| {
                f["kind"] == w["kind"]
                    && f["hosts"].as_array().unwrap().contains(host)
                    && (w.get("limited_by").is_none() || f["limited_by"] == w["limited_by"])
            });
            if !found {
                misses.push(format!("{}: no {} for {host}", capture.display(), w["kind"]));
            }
        }
        if want.is_empty() && expected.get("failures").is_none() {
            for f in findings.iter().filter(|f| SLOW_KINDS.contains(&f["kind"].as_str().unwrap())) {
                misses.push(format!("{}: false alarm {}", capture.display(), f["kind"]));
            }
        }
    }
    assert!(expected_total >= 16, "the path scenarios j-r and their variants are in tests/fixtures/lab*/path");
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn a_stalled_layer_download_is_stalled_not_ok_and_its_time_is_counted() {
    let got = report(&root().join("assets/captures/scenario-m-stall-mid-layer.pcap"));
    let stalled: Vec<&Value> = got["flows"].as_array().unwrap().iter().filter(|f| f["outcome"] == "stalled").collect();
    assert_eq!(stalled.len(), 1, "one flow stalled");
    assert_eq!(stalled[0]["client_port"], 34340);
    let stall = got["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "stall").unwrap();
    assert_eq!(stall["ended_by"], "client-fin");
    assert_eq!(stall["waiting_for"], "rest-of-body");
    assert!((stall["stalled_s"].as_f64().unwrap() - 19.897).abs() < 0.01, "{stall}");
    let pull = &got["pulls"][0];
    let parts = ["resolving_s", "connecting_s", "tls_handshake_s", "waiting_s", "receiving_s", "stalled_s", "idle_s"];
    let sum: f64 = parts.iter().map(|k| pull[*k].as_f64().unwrap()).sum();
    assert!((sum - pull["duration_s"].as_f64().unwrap()).abs() < 0.01, "the parts add up: {pull}");
    assert!(pull["stalled_s"].as_f64().unwrap() > 19.0, "{pull}");
}

#[test]
fn an_mtu_black_hole_is_a_handshake_timeout_explained() {
    let got = report(&root().join("tests/fixtures/lab/path/scenario-n-mtu-black-hole.pcap"));
    let outcomes: Vec<&Value> = got["flows"].as_array().unwrap().iter().map(|f| &f["outcome"]).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "handshake-timeout").count(), 2, "{outcomes:?}");
    let kinds: Vec<&Value> = got["findings"].as_array().unwrap().iter().map(|f| &f["kind"]).collect();
    assert_eq!(kinds, ["mtu-black-hole"], "the black hole explains the timeouts: no second finding");
    let f = &got["findings"][0];
    assert_eq!((f["mss_up"].as_u64(), f["max_segment_down"].as_u64()), (Some(1460), Some(34)));
    // The ClientHellos waited in the handshake, not in a stall: the pull's time says so too.
    let pull = &got["pulls"][0];
    assert_eq!(pull["stalled_s"].as_f64(), Some(0.0), "{pull}");
    assert!(pull["tls_handshake_s"].as_f64().unwrap() > 19.9, "{pull}");
}
