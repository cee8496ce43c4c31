//! Conformance against Wireshark's tshark on real captures from public test suites
//! (../shared/fixtures/real, with tshark's output in oracle/). Every difference must be
//! explained, one line each, in docs/tshark-differences.tsv; the test fails on any other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use acrscope::analysis::Analyzer;
use acrscope::output::json;
use acrscope::pipeline;
use acrscope::session::Limits;

fn fixtures() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real");
    if p.join("oracle").is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {} is absent; the tshark conformance test needs ../shared beside the repo", p.display());
        None
    }
}

fn captures(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().unwrap() != "oracle" {
                    stack.push(p);
                }
            } else if matches!(p.extension().and_then(|x| x.to_str()), Some("pcap" | "pcapng" | "cap")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

type Sni = (String, u64, String, u64, String);
type Dns = (String, Vec<String>);

fn oracle_sets(o: &Value) -> (BTreeSet<Sni>, BTreeSet<Dns>) {
    let mut sni = BTreeSet::new();
    for e in o["sni"].as_array().into_iter().flatten() {
        if let Some(name) = e["server_name"].as_str() {
            sni.insert((
                e["src"].as_str().unwrap().to_lowercase(),
                e["sport"].as_u64().unwrap(),
                e["dst"].as_str().unwrap().to_lowercase(),
                e["dport"].as_u64().unwrap(),
                name.to_lowercase(),
            ));
        }
    }
    let mut dns = BTreeSet::new();
    for e in o["dns"].as_array().into_iter().flatten() {
        let mut addrs: Vec<String> = e["a"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(e["aaaa"].as_array().into_iter().flatten())
            .map(|a| a.as_str().unwrap().to_lowercase())
            .collect();
        if addrs.is_empty() {
            continue;
        }
        addrs.sort();
        dns.insert((e["query"].as_str().unwrap_or("").to_lowercase().trim_end_matches('.').to_string(), addrs));
    }
    (sni, dns)
}

fn our_sets(r: &Value) -> (BTreeSet<Sni>, BTreeSet<Dns>) {
    let mut sni = BTreeSet::new();
    for f in r["flows"].as_array().unwrap() {
        if let Some(name) = f["sni"].as_str() {
            sni.insert((
                f["client"].as_str().unwrap().to_lowercase(),
                f["client_port"].as_u64().unwrap(),
                f["server"].as_str().unwrap().to_lowercase(),
                f["server_port"].as_u64().unwrap(),
                name.to_lowercase(),
            ));
        }
    }
    let mut dns = BTreeSet::new();
    for d in r["dns"].as_array().unwrap() {
        let mut addrs: Vec<String> =
            d["addresses"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_lowercase()).collect();
        if addrs.is_empty() {
            continue;
        }
        addrs.sort();
        dns.insert((d["query"].as_str().unwrap().to_lowercase(), addrs));
    }
    (sni, dns)
}

/// (file, kind, item) → verdict, from docs/tshark-differences.tsv.
fn explained() -> BTreeMap<(String, String, String), String> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/tshark-differences.tsv");
    let text = std::fs::read_to_string(p).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 5, "docs/tshark-differences.tsv: short line: {line}");
        assert!(matches!(cols[3], "acrscope-right" | "tshark-right" | "both-right"), "bad verdict in: {line}");
        out.insert((cols[0].to_string(), cols[1].to_string(), cols[2].to_string()), cols[3].to_string());
    }
    out
}

fn sni_item(s: &Sni) -> String {
    format!("{}:{} -> {}:{} {}", s.0, s.1, s.2, s.3, s.4)
}

fn dns_item(d: &Dns) -> String {
    format!("{} = {}", d.0, d.1.join(","))
}

#[test]
fn agreement_with_tshark_on_real_captures() {
    let Some(root) = fixtures() else { return };
    let explained = explained();
    let mut unexplained = Vec::new();
    let mut used = BTreeSet::new();
    let (mut sni_total, mut sni_hit, mut dns_total, mut dns_hit) = (0, 0, 0, 0);
    let files = captures(&root);
    assert!(files.len() >= 50, "expected the 53 real captures, found {}", files.len());
    for path in files {
        let rel = path.strip_prefix(&root).unwrap().to_string_lossy().to_string();
        let oracle: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("oracle").join(format!("{rel}.json"))).unwrap())
                .unwrap();
        let (session, info) = pipeline::read_file(&path, Limits::default(), |_| {})
            .unwrap_or_else(|e| panic!("{rel}: could not be read: {e}"));
        // Damaged files: the error names where, and every frame tshark read was read.
        if oracle["tshark_exit_status"].as_i64() != Some(0) {
            let err = info.error.clone().unwrap_or_default();
            assert!(err.contains("offset") || err.contains("frame"), "{rel}: error lacks a location: {err:?}");
        }
        assert!(
            session.stats.packets >= oracle["frames_read"].as_u64().unwrap(),
            "{rel}: read {} frames, tshark {}",
            session.stats.packets,
            oracle["frames_read"]
        );
        let analysis = Analyzer::default().analyze(&session);
        let report = serde_json::to_value(json::build(&session, &analysis, &info)).unwrap();
        let (o_sni, o_dns) = oracle_sets(&oracle);
        let (r_sni, r_dns) = our_sets(&report);
        sni_total += o_sni.len();
        sni_hit += o_sni.intersection(&r_sni).count();
        dns_total += o_dns.len();
        dns_hit += o_dns.intersection(&r_dns).count();
        let diffs = o_sni
            .difference(&r_sni)
            .map(|s| ("sni-missing", sni_item(s)))
            .chain(r_sni.difference(&o_sni).map(|s| ("sni-extra", sni_item(s))))
            .chain(o_dns.difference(&r_dns).map(|d| ("dns-missing", dns_item(d))))
            .chain(r_dns.difference(&o_dns).map(|d| ("dns-extra", dns_item(d))));
        for (kind, item) in diffs {
            let key = (rel.clone(), kind.to_string(), item.clone());
            if explained.contains_key(&key) {
                used.insert(key);
            } else {
                unexplained.push(format!("{rel}\t{kind}\t{item}"));
            }
        }
    }
    eprintln!(
        "tshark agreement: TLS SNI {sni_hit}/{sni_total} ({:.1}%), DNS {dns_hit}/{dns_total} ({:.1}%)",
        100.0 * sni_hit as f64 / sni_total.max(1) as f64,
        100.0 * dns_hit as f64 / dns_total.max(1) as f64
    );
    assert!(
        unexplained.is_empty(),
        "differences from tshark not in docs/tshark-differences.tsv:\n{}",
        unexplained.join("\n")
    );
    let stale: Vec<_> = explained.keys().filter(|k| !used.contains(*k)).collect();
    assert!(stale.is_empty(), "docs/tshark-differences.tsv lists differences that no longer occur: {stale:?}");
    assert!(sni_hit * 100 >= sni_total * 99, "TLS SNI recall below 99%");
    assert!(dns_hit * 100 >= dns_total * 99, "DNS recall below 99%");
}
