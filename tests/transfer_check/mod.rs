//! How a transfer metric of the report is compared with tshark's: the metrics, their tolerances
//! (those of the lab's slow_compare.py) and a per-metric tally. Shared by tests/transfer_metrics.rs
//! (lab captures) and tests/tshark_oracle.rs (real captures).
#![allow(dead_code)]

use serde_json::{Map, Value};

/// How close the report's value must be to tshark's.
#[derive(Clone, Copy, Debug)]
pub enum Tolerance {
    /// Within max(1, 10%).
    Count,
    /// Within max(1 ms, 5%).
    Millis,
    /// Within max(5 ms, 5%), in seconds.
    GapSeconds,
    /// Within 10%.
    Rate,
    /// Equal.
    Exact,
}

pub struct Metric {
    pub name: &'static str,
    pub tolerance: Tolerance,
}

const fn metric(name: &'static str, tolerance: Tolerance) -> Metric {
    Metric { name, tolerance }
}

/// Per TCP flow, flat on each `flows[]` item of the report.
pub const FLOW_METRICS: [Metric; 12] = [
    metric("connect_rtt_ms", Tolerance::Millis),
    metric("retransmissions_down", Tolerance::Count),
    metric("lost_segments_down", Tolerance::Count),
    metric("out_of_order_down", Tolerance::Count),
    metric("zero_windows_up", Tolerance::Count),
    metric("zero_windows_down", Tolerance::Count),
    metric("window_full_down", Tolerance::Count),
    metric("max_gap_down_s", Tolerance::GapSeconds),
    metric("goodput_down_bps", Tolerance::Rate),
    metric("mss_up", Tolerance::Exact),
    metric("mss_down", Tolerance::Exact),
    metric("max_segment_down", Tolerance::Exact),
];

/// Per DNS answer, on each `dns[]` item of the report.
pub const DNS_METRICS: [Metric; 2] = [metric("latency_ms", Tolerance::Millis), metric("queries", Tolerance::Count)];

impl Tolerance {
    fn allows(self, got: f64, want: f64) -> bool {
        let diff = (got - want).abs();
        match self {
            Tolerance::Count => diff <= (0.1 * want.abs()).max(1.0),
            Tolerance::Millis => diff <= (0.05 * want.abs()).max(1.0),
            Tolerance::GapSeconds => diff <= (0.05 * want.abs()).max(0.005),
            Tolerance::Rate => diff <= 0.1 * want.abs(),
            Tolerance::Exact => got == want,
        }
    }
}

/// One metric of one flow or answer that does not agree.
pub struct Miss {
    pub metric: &'static str,
    /// The report's value, or "missing" when the field is absent.
    pub got: String,
    pub want: Value,
}

/// Compares `metric` of `ours` (a flow or DNS answer of the report; None when there is none)
/// with tshark's value: an expected null must be null or absent, a number must be a number
/// within the tolerance.
pub fn check(m: &Metric, ours: Option<&Map<String, Value>>, want: &Value) -> Result<(), Miss> {
    let got = ours.and_then(|o| o.get(m.name));
    let ok = match (want.as_f64(), got) {
        (None, None | Some(Value::Null)) => want.is_null(),
        (Some(w), Some(g)) => g.as_f64().is_some_and(|g| m.tolerance.allows(g, w)),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let got = got.map_or_else(|| "missing".to_string(), Value::to_string);
    Err(Miss { metric: m.name, got, want: want.clone() })
}

/// Agreeing and compared values per metric, in the order of the metric lists.
#[derive(Default)]
pub struct Tally {
    rows: Vec<(&'static str, usize, usize)>,
}

impl Tally {
    pub fn record(&mut self, metric: &'static str, agrees: bool) {
        let i = match self.rows.iter().position(|r| r.0 == metric) {
            Some(i) => i,
            None => {
                self.rows.push((metric, 0, 0));
                self.rows.len() - 1
            }
        };
        self.rows[i].1 += usize::from(agrees);
        self.rows[i].2 += 1;
    }

    pub fn agreeing(&self) -> usize {
        self.rows.iter().map(|r| r.1).sum()
    }

    pub fn total(&self) -> usize {
        self.rows.iter().map(|r| r.2).sum()
    }

    /// Metrics that agree on fewer than `percent` % of their values.
    pub fn below(&self, percent: usize) -> Vec<&'static str> {
        self.rows.iter().filter(|r| r.1 * 100 < r.2 * percent).map(|r| r.0).collect()
    }

    /// `connect_rtt_ms 10/12, retransmissions_down 12/12, ...`
    pub fn per_metric(&self) -> String {
        self.rows.iter().map(|(m, a, t)| format!("{m} {a}/{t}")).collect::<Vec<_>>().join(", ")
    }
}
