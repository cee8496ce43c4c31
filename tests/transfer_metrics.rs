//! The transfer metrics of every TCP flow (RTT, retransmissions, loss, windows, gaps, goodput,
//! MSS) and the latency of every DNS answer agree with what tshark gave for the lab captures
//! (`tcp_analysis` and `latency_ms` / `queries` in their expected.json, made by the lab's
//! pathlab.py), with the tolerances of the lab's slow_compare.py (tests/transfer_check).

mod transfer_check;

use std::path::{Path, PathBuf};

use serde_json::Value;

use acrscope::analysis::Analyzer;
use acrscope::output::json;
use acrscope::pipeline;
use acrscope::session::Limits;

use transfer_check::{check, Miss, Tally, DNS_METRICS, FLOW_METRICS};

/// How many flows or answers with a mismatch the failure message shows.
const SHOWN: usize = 40;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A lab capture whose expected.json carries tshark's TCP analysis.
struct LabCapture {
    name: String,
    capture: PathBuf,
    expected: Value,
}

/// The capture an expected.json describes: beside it, or among the bundled captures.
fn capture_of(dir: &Path, name: &str) -> PathBuf {
    let beside = dir.join(name);
    if beside.exists() {
        return beside;
    }
    let bundled = root().join("assets/captures").join(name);
    assert!(bundled.exists(), "{name}: the capture is neither beside its expected.json nor in assets/captures");
    bundled
}

fn lab_captures() -> Vec<LabCapture> {
    let mut out = Vec::new();
    for dir in
        ["tests/fixtures/lab", "tests/fixtures/lab/path", "tests/fixtures/lab-extra", "tests/fixtures/lab-extra/path"]
    {
        let dir = root().join(dir);
        for e in std::fs::read_dir(&dir).unwrap() {
            let file = e.unwrap().file_name().to_string_lossy().to_string();
            let Some(name) = file.strip_suffix(".expected.json") else { continue };
            let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(&file)).unwrap())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let flows = expected["flows"].as_array().into_iter().flatten();
            if flows.clone().any(|f| f.get("tcp_analysis").is_some()) {
                out.push(LabCapture { name: name.to_string(), capture: capture_of(&dir, name), expected });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn report(path: &Path) -> Value {
    let (session, info) = pipeline::read_file(path, Limits::default(), |_| {}).unwrap();
    let analysis = Analyzer::default().analyze(&session);
    serde_json::to_value(json::build(&session, &analysis, &info)).unwrap()
}

/// Compares one capture's flows and DNS answers; each flow or answer with a mismatch becomes one
/// line of `misses`.
fn compare(lab: &LabCapture, report: &Value, tally: &mut Tally, misses: &mut Vec<String>) {
    let ours: Vec<&Value> = report["flows"].as_array().unwrap().iter().filter(|f| f["proto"] == "tcp").collect();
    for want in lab.expected["flows"].as_array().into_iter().flatten() {
        let Some(ta) = want.get("tcp_analysis") else { continue };
        let flow = ours.iter().copied().find(|f| {
            f["client_port"] == want["client_port"]
                && f["server"].as_str().map(str::to_lowercase) == want["server"].as_str().map(str::to_lowercase)
                && f["server_port"] == want["server_port"]
        });
        let label = format!(
            "{}: flow {}:{} -> {}:{}{}",
            lab.name,
            want["client"].as_str().unwrap_or("?"),
            want["client_port"],
            want["server"].as_str().unwrap_or("?"),
            want["server_port"],
            if flow.is_none() { " (not in the report)" } else { "" }
        );
        let results = FLOW_METRICS.iter().filter(|m| ta.get(m.name).is_some()).map(|m| {
            let r = check(m, flow.and_then(Value::as_object), &ta[m.name]);
            (m.name, r)
        });
        record(&label, results, tally, misses);
    }
    let answers = report["dns"].as_array().unwrap();
    for want in lab.expected["dns_responses"].as_array().into_iter().flatten() {
        if want.get("latency_ms").is_none() {
            continue;
        }
        let answer = answers.iter().find(|d| d["frame"] == want["frame"]);
        let label = format!(
            "{}: DNS answer frame {} ({} {}){}",
            lab.name,
            want["frame"],
            want["query"].as_str().unwrap_or("?"),
            want["qtype"].as_str().unwrap_or("?"),
            if answer.is_none() { " (not in the report)" } else { "" }
        );
        let results = DNS_METRICS.iter().map(|m| (m.name, check(m, answer.and_then(Value::as_object), &want[m.name])));
        record(&label, results, tally, misses);
    }
}

/// Counts each metric's result and, when some differ, adds `label: metric got X want Y; ...`.
fn record(
    label: &str,
    results: impl Iterator<Item = (&'static str, Result<(), Miss>)>,
    tally: &mut Tally,
    misses: &mut Vec<String>,
) {
    let mut wrong = Vec::new();
    for (metric, result) in results {
        tally.record(metric, result.is_ok());
        if let Err(m) = result {
            wrong.push(format!("{} got {} want {}", m.metric, m.got, m.want));
        }
    }
    if !wrong.is_empty() {
        misses.push(format!("{label}: {}", wrong.join("; ")));
    }
}

#[test]
fn transfer_metrics_agree_with_tshark_on_the_lab_captures() {
    let labs = lab_captures();
    assert!(
        labs.len() >= 21,
        "the lab captures a-d, j-r and the path variants carry tcp_analysis, found {}",
        labs.len()
    );
    let mut tally = Tally::default();
    let mut misses = Vec::new();
    let mut right = 0;
    for lab in &labs {
        let before = misses.len();
        compare(lab, &report(&lab.capture), &mut tally, &mut misses);
        right += usize::from(misses.len() == before);
    }
    eprintln!(
        "transfer: metrics {}/{} agree (per metric: {}), captures {right}/{} right",
        tally.agreeing(),
        tally.total(),
        tally.per_metric(),
        labs.len()
    );
    assert!(tally.total() > 0, "no metric was compared");
    assert!(
        misses.is_empty(),
        "{} flows or DNS answers differ from tshark's; the first {}:\n{}",
        misses.len(),
        misses.len().min(SHOWN),
        misses[..misses.len().min(SHOWN)].join("\n")
    );
}

/// The tolerances of slow_compare.py, at their edges: a value just inside passes, one just
/// outside fails, a null wants null or nothing, and a missing or non-numeric value fails.
#[test]
fn each_metric_is_compared_with_the_lab_tolerance() {
    use serde_json::json;
    let metric = |name: &str| FLOW_METRICS.iter().chain(&DNS_METRICS).find(|m| m.name == name).unwrap();
    let agrees = |name: &str, got: Value, want: Value| {
        let ours = json!({ name: got });
        check(metric(name), ours.as_object(), &want).is_ok()
    };
    let cases = [
        ("retransmissions_down", json!(1), json!(0), true),
        ("retransmissions_down", json!(2), json!(0), false),
        ("lost_segments_down", json!(108), json!(100), true),
        ("lost_segments_down", json!(111), json!(100), false),
        ("queries", json!(2), json!(1), true),
        ("connect_rtt_ms", json!(10.9), json!(10.0), true),
        ("connect_rtt_ms", json!(11.2), json!(10.0), false),
        ("connect_rtt_ms", json!(204.0), json!(200.0), true),
        ("latency_ms", json!(211.0), json!(200.0), false),
        ("max_gap_down_s", json!(0.0049), json!(0.0), true),
        ("max_gap_down_s", json!(0.006), json!(0.0), false),
        ("max_gap_down_s", json!(10.4), json!(10.0), true),
        ("max_gap_down_s", json!(10.6), json!(10.0), false),
        ("goodput_down_bps", json!(1_090_000.0), json!(1_000_000.0), true),
        ("goodput_down_bps", json!(1_110_000.0), json!(1_000_000.0), false),
        ("mss_up", json!(1460), json!(1460), true),
        ("mss_down", json!(1459), json!(1460), false),
        ("max_segment_down", json!(1449), json!(1448), false),
        ("connect_rtt_ms", Value::Null, Value::Null, true),
        ("goodput_down_bps", json!(0.0), Value::Null, false),
        ("zero_windows_up", Value::Null, json!(0), false),
        ("zero_windows_up", json!(false), json!(0), false),
    ];
    for (name, got, want, expected) in cases {
        assert_eq!(agrees(name, got.clone(), want.clone()), expected, "{name}: got {got} want {want}");
    }
    assert!(check(metric("mss_up"), None, &Value::Null).is_ok(), "an expected null accepts an absent field");
    assert!(check(metric("mss_up"), None, &json!(1460)).is_err(), "an absent field is a miss");
}
