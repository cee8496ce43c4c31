//! The `report` command as a user runs it: exit codes, formats, bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_acrscope"))
}

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/captures").join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("acrscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn json_report_of_the_bundled_capture_has_the_contract_fields() {
    let p = capture("scenario-b-dedicated.pcap");
    let o = run(&["report", "--format", "json", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let r = json_of(&o);
    let f = &r["flows"][0];
    for k in [
        "proto",
        "client",
        "client_port",
        "server",
        "server_port",
        "first_ts",
        "last_ts",
        "packets_up",
        "packets_down",
        "bytes_up",
        "bytes_down",
        "sni",
        "alpn",
        "tls_version",
        "hostname",
        "name_source",
        "dns_chain",
        "provider",
        "role",
        "registry",
        "region",
        "via_private_link",
        "scope",
        "service_tags",
    ] {
        assert!(f.get(k).is_some(), "flow lacks {k}");
    }
    assert_eq!(f["first_ts"].as_str().unwrap().len(), "2026-11-28T15:07:13.065708Z".len());
    assert!(f["first_ts"].as_str().unwrap().ends_with('Z'));
    let d = &r["dns"][0];
    for k in ["ts", "client", "server", "transport", "query", "qtype", "rcode", "chain", "addresses", "ttl"] {
        assert!(d.get(k).is_some(), "dns lacks {k}");
    }
    assert_eq!(r["stats"]["packets"], 590);
    assert_eq!(r["stats"]["link_types"]["ETHERNET"], 590);
    assert!(r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["hostname"] == "fabrikamreg.japaneast.data.azurecr.io"));
}

#[test]
fn text_and_allowlist_formats() {
    let p = capture("scenario-a-blob.pcap");
    let o = run(&["report", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(t.contains("FINDINGS") && t.contains("data-via-storage-account"), "{t}");
    assert!(t.contains("jpeacrprod0st17.blob.core.windows.net"));
    let o = run(&["report", "--format", "allowlist", p.to_str().unwrap()]);
    let t = String::from_utf8(o.stdout).unwrap();
    let login = t.lines().find(|l| l.contains("fabrikamreg.azurecr.io")).unwrap();
    assert!(login.contains("acr-login") && login.contains("tcp/443") && login.contains("40.79.197.136"), "{login}");
}

#[test]
fn a_file_that_is_not_a_capture_exits_2_and_says_so() {
    let p = tmp("notes.pcap");
    std::fs::write(&p, "just some text, not packets\n").unwrap();
    let o = run(&["report", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("notes.pcap") && err.contains("not a pcap or pcapng capture"), "{err}");
    assert!(!err.contains("panicked"));
    let o = run(&["report", "/nonexistent/x.pcap"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_cut_capture_reports_what_came_before_with_a_located_warning() {
    let full = std::fs::read(capture("scenario-a-blob.pcap")).unwrap();
    let p = tmp("cut.pcap");
    std::fs::write(&p, &full[..full.len() / 2 + 7]).unwrap();
    let o = run(&["report", "--format", "json", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let r = json_of(&o);
    let err = r["capture"]["error"].as_str().unwrap();
    assert!(err.contains("byte offset") && err.contains("frame"), "{err}");
    assert!(r["stats"]["packets"].as_u64().unwrap() > 100);
    assert!(r["flows"].as_array().unwrap().iter().any(|f| f["sni"] == "fabrikamreg.azurecr.io"));
    assert_eq!(r["stats"]["warnings"]["truncated-file"], 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cut short"));
}

#[test]
fn an_empty_capture_gives_an_empty_report() {
    let full = std::fs::read(capture("scenario-a-blob.pcap")).unwrap();
    let p = tmp("empty.pcap");
    std::fs::write(&p, &full[..24]).unwrap();
    let o = run(&["report", "--format", "json", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let r = json_of(&o);
    assert_eq!(r["flows"].as_array().unwrap().len(), 0);
    assert_eq!(r["stats"]["packets"], 0);
    assert!(r["capture"]["error"].is_null());
}

#[test]
fn bad_rules_and_service_tags_files_are_named_with_their_line() {
    let rules = tmp("rules.toml");
    std::fs::write(&rules, "[[rule]]\nname = \"x\"\nprovider = \"acr\"\nrole = \"acr-login\"\npattern = '(unclosed'\n")
        .unwrap();
    let p = capture("scenario-a-blob.pcap");
    let o = run(&["report", "--rules", rules.to_str().unwrap(), p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("rules.toml:") && err.contains("(unclosed"), "{err}");
    let tags = tmp("tags.json");
    std::fs::write(
        &tags,
        "{\"values\": [ {\"name\": \"A\", \"properties\": {\"addressPrefixes\": [\"1.2.3.0/99\"]}} ]}",
    )
    .unwrap();
    let o = run(&["report", "--service-tags", tags.to_str().unwrap(), p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("tags.json") && err.contains("1.2.3.0/99"), "{err}");
}

#[test]
fn service_tags_name_the_data_endpoint_address() {
    let tags = tmp("ServiceTags_Public_test.json");
    std::fs::write(
        &tags,
        r#"{"changeNumber": 1, "cloud": "Public", "values": [
          {"name": "AzureContainerRegistry.JapanEast", "id": "AzureContainerRegistry.JapanEast",
           "properties": {"region": "japaneast", "systemService": "AzureContainerRegistry",
                          "addressPrefixes": ["40.79.197.128/25", "2603:1040:407::/48"]}},
          {"name": "AzureCloud", "id": "AzureCloud", "properties": {"region": "", "systemService": "",
                          "addressPrefixes": ["40.64.0.0/10"]}}]}"#,
    )
    .unwrap();
    let p = capture("scenario-b-dedicated.pcap");
    let o = run(&["report", "--format", "json", "--service-tags", tags.to_str().unwrap(), p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let r = json_of(&o);
    let data = r["flows"].as_array().unwrap().iter().find(|f| f["role"] == "acr-data-dedicated").unwrap();
    assert_eq!(data["service_tags"], serde_json::json!(["AzureContainerRegistry.JapanEast", "AzureCloud"]));
    let finding =
        r["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "data-via-dedicated-endpoint").unwrap();
    assert!(finding["message"].as_str().unwrap().contains("AzureContainerRegistry.JapanEast"));
}
