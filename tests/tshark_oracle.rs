//! Conformance against Wireshark's tshark on real captures from public test suites
//! (tests/corpus/real, with tshark's output in oracle/; `make-oracle.sh` there remakes it): TLS SNI over TCP, QUIC SNI, plain
//! HTTP Host and DNS answers, and the transfer metrics of every TCP stream (tshark's
//! tcp.analysis). Every difference must be explained, one line each, in
//! docs/tshark-differences.tsv; the tests fail on any other.

mod transfer_check;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use acrscope::analysis::Analyzer;
use acrscope::output::json;
use acrscope::pipeline;
use acrscope::session::Limits;

use transfer_check::{check, Tally, FLOW_METRICS};

/// Kinds of docs/tshark-differences.tsv lines about transfer metrics: `tcp-<metric>`, and
/// `tcp-flow-missing` for a TCP stream of tshark's that no flow of ours matches.
const TCP_KIND: &str = "tcp-";

/// The real captures and tshark's output for them, in the repository.
fn fixtures() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/real");
    assert!(p.join("oracle").is_dir(), "{} is absent: the corpus is part of the repository", p.display());
    p
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

/// What is compared: SNI over TCP, SNI over QUIC, HTTP Host (same tuple shape), DNS answers.
struct Sets {
    sni: BTreeSet<Sni>,
    quic: BTreeSet<Sni>,
    http: BTreeSet<Sni>,
    dns: BTreeSet<Dns>,
}

fn oracle_snis(list: &Value) -> BTreeSet<Sni> {
    let mut sni = BTreeSet::new();
    for e in list.as_array().into_iter().flatten() {
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
    sni
}

fn oracle_sets(o: &Value) -> Sets {
    let http = o["http_host"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let host = e["host"].as_str()?.to_lowercase();
            Some((
                e["client"].as_str()?.to_lowercase(),
                e["client_port"].as_u64()?,
                e["server"].as_str()?.to_lowercase(),
                e["server_port"].as_u64()?,
                host.split(':').next().unwrap_or("").to_string(),
            ))
        })
        .collect();
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
    Sets { sni: oracle_snis(&o["sni"]), quic: oracle_snis(&o["quic_sni"]), http, dns }
}

fn our_sets(r: &Value) -> Sets {
    let (mut sni, mut quic, mut http) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for f in r["flows"].as_array().unwrap() {
        let key = |name: &str| {
            (
                f["client"].as_str().unwrap().to_lowercase(),
                f["client_port"].as_u64().unwrap(),
                f["server"].as_str().unwrap().to_lowercase(),
                f["server_port"].as_u64().unwrap(),
                name.to_lowercase(),
            )
        };
        if let Some(name) = f["sni"].as_str() {
            if f["quic_version"].is_null() {
                sni.insert(key(name));
            } else {
                quic.insert(key(name));
            }
        }
        if let Some(host) = f["http_host"].as_str() {
            http.insert(key(host));
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
    Sets { sni, quic, http, dns }
}

/// One real capture: its path in the corpus, tshark's oracle for it and our JSON report.
struct Real {
    rel: String,
    oracle: Value,
    report: Value,
}

/// Reads a capture as `acrscope report --format json` would. Damaged files: the error names
/// where, and every frame tshark read was read.
fn read_real(root: &Path, path: &Path) -> Real {
    let rel = path.strip_prefix(root).unwrap().to_string_lossy().to_string();
    let oracle: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("oracle").join(format!("{rel}.json"))).unwrap())
            .unwrap();
    let (session, info) = pipeline::read_file(path, Limits::default(), |_| {})
        .unwrap_or_else(|e| panic!("{rel}: could not be read: {e}"));
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
    Real { rel, oracle, report }
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
    let root = fixtures();
    let explained = explained();
    let mut unexplained = Vec::new();
    let mut used = BTreeSet::new();
    let (mut sni_total, mut sni_hit, mut dns_total, mut dns_hit) = (0, 0, 0, 0);
    let (mut quic_total, mut quic_hit, mut http_total, mut http_hit) = (0, 0, 0, 0);
    let files = captures(&root);
    assert!(files.len() >= 50, "expected the 53 real captures, found {}", files.len());
    for path in files {
        let Real { rel, oracle, report } = read_real(&root, &path);
        let (o, r) = (oracle_sets(&oracle), our_sets(&report));
        sni_total += o.sni.len();
        sni_hit += o.sni.intersection(&r.sni).count();
        quic_total += o.quic.len();
        quic_hit += o.quic.intersection(&r.quic).count();
        http_total += o.http.len();
        http_hit += o.http.intersection(&r.http).count();
        dns_total += o.dns.len();
        dns_hit += o.dns.intersection(&r.dns).count();
        let both = |kind: &'static str, o: &BTreeSet<Sni>, r: &BTreeSet<Sni>| {
            let missing = o.difference(r).map(|s| (format!("{kind}-missing"), sni_item(s))).collect::<Vec<_>>();
            missing
                .into_iter()
                .chain(r.difference(o).map(|s| (format!("{kind}-extra"), sni_item(s))))
                .collect::<Vec<_>>()
        };
        let diffs = both("sni", &o.sni, &r.sni)
            .into_iter()
            .chain(both("quic-sni", &o.quic, &r.quic))
            .chain(both("http-host", &o.http, &r.http))
            .chain(o.dns.difference(&r.dns).map(|d| ("dns-missing".to_string(), dns_item(d))))
            .chain(r.dns.difference(&o.dns).map(|d| ("dns-extra".to_string(), dns_item(d))));
        for (kind, item) in diffs {
            let key = (rel.clone(), kind.clone(), item.clone());
            if explained.contains_key(&key) {
                used.insert(key);
            } else {
                unexplained.push(format!("{rel}\t{kind}\t{item}"));
            }
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    eprintln!(
        "tshark agreement: TLS SNI {sni_hit}/{sni_total} ({:.1}%), DNS {dns_hit}/{dns_total} ({:.1}%), QUIC SNI \
         {quic_hit}/{quic_total} ({:.1}%), HTTP Host {http_hit}/{http_total} ({:.1}%)",
        pct(sni_hit, sni_total),
        pct(dns_hit, dns_total),
        pct(quic_hit, quic_total),
        pct(http_hit, http_total)
    );
    assert!(
        unexplained.is_empty(),
        "differences from tshark not in docs/tshark-differences.tsv:\n{}",
        unexplained.join("\n")
    );
    // The transfer metrics' entries (kind tcp-*) are checked by their own test.
    let stale: Vec<_> = explained.keys().filter(|k| !k.1.starts_with(TCP_KIND) && !used.contains(*k)).collect();
    assert!(stale.is_empty(), "docs/tshark-differences.tsv lists differences that no longer occur: {stale:?}");
    assert!(sni_hit * 100 >= sni_total * 99, "TLS SNI recall below 99%");
    assert!(dns_hit * 100 >= dns_total * 99, "DNS recall below 99%");
    assert!(quic_total >= 100, "the oracle lost its QUIC SNIs: {quic_total}");
    assert!(quic_hit * 100 >= quic_total * 95, "QUIC SNI recall below 95%");
    assert!(http_hit * 100 >= http_total * 99, "HTTP Host recall below 99%");
}

/// One TCP stream of tshark's whose metric differs from ours: the kind and item of its
/// docs/tshark-differences.tsv line, and both values.
struct TransferDifference {
    kind: String,
    item: String,
    detail: String,
}

/// Compares every TCP stream of the oracle with our flow of the same endpoints and first frame;
/// a stream without such a flow misses every metric. A stream whose start was not captured has
/// its metrics for either side as client (`reversed`): those of the side we took are compared.
fn transfer_differences(real: &Real, tally: &mut Tally) -> Vec<TransferDifference> {
    let lower = |v: &Value| v.as_str().unwrap_or_default().to_lowercase();
    let key = |f: &Value, first_frame: &Value| {
        let port = |p: &Value| p.as_u64().unwrap_or(u64::MAX);
        (lower(&f["client"]), port(&f["client_port"]), lower(&f["server"]), port(&f["server_port"]), port(first_frame))
    };
    let ours: BTreeMap<_, &Value> = real.report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["proto"] == "tcp")
        .map(|f| (key(f, &f["first_frame"]), f))
        .collect();
    let mut out = Vec::new();
    for stream in real.oracle["tcp_analysis"].as_array().into_iter().flatten() {
        let frame = &stream["first_frame"];
        let item = format!("{} -> {} frame {frame}", endpoint(stream, "client"), endpoint(stream, "server"));
        let sides = std::iter::once(stream).chain(stream.get("reversed"));
        let Some((flow, want)) = sides.filter_map(|w| Some((*ours.get(&key(w, frame))?, w))).next() else {
            FLOW_METRICS.iter().for_each(|m| tally.record(m.name, false));
            let detail = "no TCP flow of ours with these endpoints and first frame".to_string();
            out.push(TransferDifference { kind: format!("{TCP_KIND}flow-missing"), item, detail });
            continue;
        };
        for m in &FLOW_METRICS {
            let result = check(m, flow.as_object(), &want[m.name]);
            tally.record(m.name, result.is_ok());
            if let Err(miss) = result {
                let detail = format!("ours {}, tshark {}", miss.got, miss.want);
                out.push(TransferDifference { kind: format!("{TCP_KIND}{}", m.name), item: item.clone(), detail });
            }
        }
    }
    out
}

/// `addr:port` of one side of an oracle stream, `[addr]:port` for IPv6.
fn endpoint(stream: &Value, side: &str) -> String {
    let addr = stream[side].as_str().unwrap_or_default().to_lowercase();
    let port = &stream[format!("{side}_port")];
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

#[test]
fn transfer_metrics_agree_with_tshark_on_real_captures() {
    let root = fixtures();
    let explained = explained();
    let (mut unexplained, mut used) = (Vec::new(), BTreeSet::new());
    let (mut tally, mut streams) = (Tally::default(), 0);
    for path in captures(&root) {
        let real = read_real(&root, &path);
        streams += real.oracle["tcp_analysis"].as_array().map_or(0, Vec::len);
        for d in transfer_differences(&real, &mut tally) {
            let key = (real.rel.clone(), d.kind, d.item);
            if explained.contains_key(&key) {
                used.insert(key);
            } else {
                unexplained.push(format!("{}\t{}\t{}\t({})", key.0, key.1, key.2, d.detail));
            }
        }
    }
    eprintln!(
        "tshark agreement, transfer metrics of {streams} TCP streams: {}/{} (per metric: {})",
        tally.agreeing(),
        tally.total(),
        tally.per_metric()
    );
    assert!(streams >= 300, "the oracle lost its TCP streams: {streams} (make-oracle.sh remakes them)");
    assert!(
        unexplained.is_empty(),
        "{} transfer-metric differences from tshark not in docs/tshark-differences.tsv (file, kind, item, values):\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    let stale: Vec<_> = explained.keys().filter(|k| k.1.starts_with(TCP_KIND) && !used.contains(*k)).collect();
    assert!(stale.is_empty(), "docs/tshark-differences.tsv lists differences that no longer occur: {stale:?}");
    let below = tally.below(99);
    assert!(below.is_empty(), "transfer metrics agreeing with tshark on under 99% of the TCP streams: {below:?}");
}
