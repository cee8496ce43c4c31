//! Real failing pulls (the lab's scenarios e to i: storage account dropped, reset after the
//! ClientHello, private-link record missing, proxy refusing a CONNECT, TLS inspection) get the
//! findings their expected.json lists, with the kind's own fields, and every flow its name and
//! role; healthy pulls get no error. The same check as the lab's failure_compare.py --strict.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_acrscope");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn report(path: &Path) -> Value {
    let out = Command::new(BIN).args(["report", "--format", "json"]).arg(path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The lab captures we carry, with their expected.json, failing ones or healthy ones.
fn captures(failing: bool) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    // The bundled captures keep their expected.json in tests/fixtures/lab.
    for (dir, exp_dir) in [
        ("assets/captures", "tests/fixtures/lab"),
        ("tests/fixtures/lab", "tests/fixtures/lab"),
        ("tests/fixtures/lab-extra", "tests/fixtures/lab-extra"),
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
                continue;
            }
            let mut exp = root().join(exp_dir).join(format!("{name}.expected.json"));
            if !exp.exists() {
                // A bundled path scenario (slow, not failed): tests/slow_findings.rs checks it.
                exp = root().join("tests/fixtures/lab/path").join(format!("{name}.expected.json"));
            }
            let exp: Value = serde_json::from_str(&std::fs::read_to_string(exp).unwrap()).unwrap();
            if exp.get("slow_findings").is_some() {
                continue;
            }
            if exp.get("failures").is_some() == failing {
                out.push((p, exp));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn role(lab: &str) -> &str {
    match lab {
        "login" | "privatelink-login" => "acr-login",
        "blob" => "acr-data-blob",
        "dedicated-data" | "privatelink-data" => "acr-data-dedicated",
        other => panic!("lab role {other}"),
    }
}

#[test]
fn every_failing_pull_gets_its_findings_with_their_fields() {
    let all = captures(true);
    assert!(all.len() >= 5, "scenarios e to i are carried, found {}", all.len());
    for (path, exp) in all {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let doc = report(&path);
        let findings = doc["findings"].as_array().unwrap();
        for want in exp["failures"].as_array().unwrap() {
            let kind = want["kind"].as_str().unwrap();
            let hosts: Vec<&str> = want["hosts"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
            let got = findings
                .iter()
                .find(|f| {
                    f["kind"] == kind && hosts.iter().all(|h| f["hosts"].as_array().unwrap().iter().any(|x| x == h))
                })
                .unwrap_or_else(|| panic!("{name}: no {kind} finding for {hosts:?}: {findings:#?}"));
            assert_eq!(got["registry"], want["registry"], "{name} {kind}: registry");
            assert!(!got["message"].as_str().unwrap().is_empty());
            for field in ["status", "proxy"] {
                if let Some(v) = want.get(field) {
                    assert_eq!(&got[field], v, "{name} {kind}: {field}");
                }
            }
            if let Some(rc) = want.get("rcode") {
                assert_eq!(&got["rcode"], rc, "{name} {kind}: rcode");
            }
            if let Some(pl) = want.get("privatelink_name") {
                assert_eq!(&got["privatelink_name"], pl, "{name} {kind}: privatelink_name");
                assert_eq!(got["zone"], want["zone"], "{name} {kind}: zone");
            }
            if let Some(cn) = want.get("issuer_cn") {
                assert_eq!(&got["issuer_cn"], cn, "{name} {kind}: issuer");
                assert_eq!(got["client_alert"], want["client_alert"], "{name} {kind}: the client's alert");
                assert_eq!(got["tls_version"], want["tls_version"], "{name} {kind}: TLS version");
            }
            if let Some(addrs) = want.get("addresses") {
                for a in addrs.as_array().unwrap() {
                    assert!(got["addresses"].as_array().unwrap().contains(a), "{name} {kind}: address {a}");
                }
            }
            for field in ["syns", "flows", "port", "closed_with"] {
                if let (Some(v), Some(g)) = (want.get(field), got.get(field)) {
                    assert_eq!(g, v, "{name} {kind}: {field}");
                }
            }
            let severity = got["severity"].as_str().unwrap();
            let expected = if kind == "via-proxy" { "info" } else { "error" };
            assert_eq!(severity, expected, "{name} {kind}: severity");
        }
        // Every flow is named and classified; each failing one has its outcome.
        let flows = doc["flows"].as_array().unwrap();
        for want in exp["flows_named"].as_array().unwrap() {
            let f = flows
                .iter()
                .find(|f| {
                    f["client_port"] == want["client_port"] && f["server"] == want["server"] && f["proto"] == "tcp"
                })
                .unwrap_or_else(|| panic!("{name}: no flow {}", want["client_port"]));
            assert_eq!(f["hostname"], want["hostname"], "{name} flow {}", want["client_port"]);
            assert_eq!(f["role"], role(want["role"].as_str().unwrap()), "{name} flow {}", want["client_port"]);
        }
        for want in exp["flows"].as_array().unwrap() {
            let Some(outcome) = want.get("outcome").and_then(|o| o.as_str()) else { continue };
            let f = flows.iter().find(|f| f["client_port"] == want["client_port"] && f["proto"] == "tcp").unwrap();
            assert_eq!(f["outcome"], outcome, "{name} flow {} outcome", want["client_port"]);
        }
    }
}

#[test]
fn a_healthy_pull_gets_no_error_finding() {
    let all = captures(false);
    assert!(all.len() >= 10, "the healthy lab captures are carried, found {}", all.len());
    for (path, _) in all {
        let doc = report(&path);
        for f in doc["findings"].as_array().unwrap() {
            let severity = f["severity"].as_str().unwrap();
            assert_ne!(severity, "error", "{}: {f:#}", path.display());
            if severity == "warning" {
                // The one warning a healthy pull had before: private link configured but bypassed.
                assert_eq!(f["kind"], "private-link-resolved-publicly", "{}: {f:#}", path.display());
            }
        }
        for f in doc["flows"].as_array().unwrap() {
            let o = f["outcome"].as_str().unwrap();
            assert!(["ok", "open", "reset"].contains(&o), "{}: flow {} {o}", path.display(), f["client_port"]);
        }
    }
}

#[test]
fn fail_on_exits_3_when_such_a_finding_exists_and_0_otherwise() {
    let failing = root().join("assets/captures/scenario-e-blob-blocked.pcap");
    let out = Command::new(BIN).args(["report", "--fail-on", "error"]).arg(&failing).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ERROR   [connect-timeout]"), "the report is still written");
    assert!(String::from_utf8_lossy(&out.stderr).contains("connect-timeout"));
    let healthy = root().join("assets/captures/scenario-a-blob.pcap");
    let out = Command::new(BIN).args(["report", "--fail-on", "warning"]).arg(&healthy).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Private link bypassed is a warning: --fail-on warning stops on it, --fail-on error does not.
    let d = root().join("assets/captures/scenario-d-both-public.pcap");
    let warn = Command::new(BIN).args(["report", "--fail-on", "warning"]).arg(&d).output().unwrap();
    let err = Command::new(BIN).args(["report", "--fail-on", "error"]).arg(&d).output().unwrap();
    assert_eq!((warn.status.code(), err.status.code()), (Some(3), Some(0)));
    // The allowlist prints no findings, and still stops on them.
    let out = Command::new(BIN)
        .args(["report", "--format", "allowlist", "--fail-on", "error"])
        .arg(&failing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("REGISTRY"), "the allowlist is still written");
}

#[test]
fn the_timeline_marks_a_failed_row_and_counts_the_errors() {
    let dir = std::env::temp_dir().join(format!("acrscope-failures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("e.txt");
    let status = Command::new(BIN)
        .args(["snapshot", "--size", "120x40", "-o"])
        .arg(&out)
        .arg(root().join("assets/captures/scenario-e-blob-blocked.pcap"))
        .status()
        .unwrap();
    assert!(status.success());
    let screen = std::fs::read_to_string(&out).unwrap();
    assert!(screen.lines().next().unwrap().contains("✖ 1 error"), "{screen}");
    let failed: Vec<&str> = screen.lines().filter(|l| l.contains("jpeacrprod0st17") && l.contains("BLOB")).collect();
    assert_eq!(failed.len(), 3, "{screen}");
    // The rows not selected carry the mark; their bars show the SYN attempts.
    assert!(failed.iter().filter(|l| l.starts_with('✖')).count() >= 2, "{screen}");
    assert!(failed.iter().all(|l| l.contains('?')), "{screen}");
    assert!(screen.contains("connect-timeout · 9 SYNs"), "the details say the outcome: {screen}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_details_show_the_certificate_and_alert_of_an_intercepted_connection() {
    let dir = std::env::temp_dir().join(format!("acrscope-failures-i-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("i.txt");
    let status = Command::new(BIN)
        .args(["snapshot", "--size", "140x40", "-o"])
        .arg(&out)
        .arg(root().join("tests/fixtures/lab/scenario-i-tls-intercepted.pcap"))
        .status()
        .unwrap();
    assert!(status.success());
    let screen = std::fs::read_to_string(&out).unwrap();
    assert!(screen.contains("issued by Fabrikam Corp TLS Inspection CA"), "{screen}");
    assert!(screen.contains("fatal bad_certificate from the client"), "{screen}");
    assert!(screen.contains("tls-intercepted"), "{screen}");
    let _ = std::fs::remove_dir_all(&dir);
}
