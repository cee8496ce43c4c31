//! Where the time of a pull went, per registry: from its first DNS query to its last byte, the
//! time spent resolving, connecting, in TLS handshakes, waiting for first bytes, receiving,
//! stalled and idle (each instant counted once, see [`phases::breakdown`]), with the bytes, the
//! throughput overall and of the best flow, and how many layer downloads ran at once.

use rustc_hash::{FxHashMap, FxHashSet};

use super::phases::{self, Breakdown, Phase, Span};
use super::FlowView;
use crate::classify::rules::Role;
use crate::session::naming::normalize;
use crate::session::Session;

/// One registry's pull (all its flows in the capture).
#[derive(Debug, Clone, PartialEq)]
pub struct Pull {
    pub registry: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub time: Breakdown,
    pub flows: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// The data flows that carried data, and the most that carried it at the same time.
    pub layer_downloads: u64,
    pub concurrent_downloads: u64,
    /// The best goodput of one data flow (of any flow, without data flows), and that flow.
    pub best_flow_bps: Option<f64>,
    pub best_flow: Option<u32>,
}

impl Pull {
    pub fn duration_ns(&self) -> i64 {
        self.end_ns - self.start_ns
    }

    /// Server bytes per second over the whole pull, in bits.
    pub fn throughput_bps(&self) -> Option<f64> {
        let d = self.duration_ns();
        (d > 0 && self.bytes_down > 0).then(|| self.bytes_down as f64 * 8.0 / (d as f64 / 1e9))
    }
}

fn is_data(role: Role) -> bool {
    matches!(role, Role::AcrDataBlob | Role::AcrDataDedicated | Role::RegistryData)
}

/// The pulls of every registry the flows name, in order of their first flow.
pub fn build(s: &Session, flows: &[FlowView]) -> Vec<Pull> {
    // Registries in order of their first flow.
    let mut index: FxHashMap<&str, usize> = FxHashMap::default();
    let mut registries: Vec<(&str, Vec<&FlowView>)> = Vec::new();
    for v in flows {
        if let Some(r) = v.class.registry.as_deref() {
            let i = *index.entry(r).or_insert_with(|| {
                registries.push((r, Vec::new()));
                registries.len() - 1
            });
            registries[i].1.push(v);
        }
    }
    let now = s.now_ns().unwrap_or(0);
    let by_name = lookups_by_name(s);
    registries.into_iter().filter_map(|(r, views)| pull(s, r, &views, &by_name, now)).collect()
}

fn pull(s: &Session, registry: &str, views: &[&FlowView], by_name: &LookupsByName, now: i64) -> Option<Pull> {
    let mut spans: Vec<Span> = lookups(s, views, by_name);
    let mut downloads: Vec<Span> = Vec::new();
    let mut p = Pull {
        registry: registry.to_string(),
        start_ns: i64::MAX,
        end_ns: i64::MIN,
        time: Breakdown::default(),
        flows: 0,
        bytes_up: 0,
        bytes_down: 0,
        layer_downloads: 0,
        concurrent_downloads: 0,
        best_flow_bps: None,
        best_flow: None,
    };
    let has_data = views.iter().any(|v| is_data(v.class.role));
    for v in views {
        let f = &s.flows()[v.id as usize];
        let facts = s.flow(v.id).facts;
        let from = spans.len();
        phases::phases_into(&phases::Times::of(f, facts, now), &mut spans);
        if is_data(v.class.role) {
            downloads.extend(spans[from..].iter().filter(|sp| sp.phase == Phase::Receiving));
        }
        p.start_ns = p.start_ns.min(f.first_ns);
        p.end_ns = p.end_ns.max(f.last_ns);
        p.flows += 1;
        p.bytes_up += f.bytes_up;
        p.bytes_down += f.bytes_down;
        // The best of the layer downloads: a login flow's few kilobytes in a burst say nothing
        // of what the path carries.
        let goodput = facts.transfer.as_deref().and_then(|t| t.metrics.goodput_down_bps());
        let counts = is_data(v.class.role) || !has_data;
        if counts && goodput.is_some_and(|g| p.best_flow_bps.is_none_or(|b| g > b)) {
            p.best_flow_bps = goodput;
            p.best_flow = Some(v.id);
        }
    }
    if p.flows == 0 {
        return None;
    }
    p.start_ns = spans.iter().map(|sp| sp.start_ns).fold(p.start_ns, i64::min);
    p.time = phases::breakdown(&spans, p.start_ns, p.end_ns);
    p.layer_downloads = downloads.len() as u64;
    p.concurrent_downloads = most_at_once(&downloads);
    Some(p)
}

/// Each timed DNS lookup, as its answer's index and span, under the name it was for. Built once
/// for all registries: a busy capture has thousands of registries and of answers.
type LookupsByName = FxHashMap<String, Vec<(usize, Span)>>;

fn lookups_by_name(s: &Session) -> LookupsByName {
    let mut by_name = LookupsByName::default();
    for (i, a) in s.dns.iter().enumerate() {
        if let Some(lat) = a.latency_ns() {
            let span = Span { phase: Phase::Resolving, start_ns: a.ts_ns - lat, end_ns: a.ts_ns };
            by_name.entry(normalize(a.query())).or_default().push((i, span));
        }
    }
    by_name
}

/// The DNS lookups of the registry's names (those its flows were named by, and the other
/// lookups of the same names: the AAAA beside the A, a retry): from each lookup's first query to
/// its answer, in the order of the answers.
fn lookups(s: &Session, views: &[&FlowView], by_name: &LookupsByName) -> Vec<Span> {
    // The names as written first: a registry's flows share a few, normalized once each.
    let mut written: FxHashSet<&str> = FxHashSet::default();
    for v in views {
        if let Some(a) = v.naming.answer.and_then(|i| s.dns.get(i as usize)) {
            written.insert(a.query());
        }
        if let Some(h) = &v.naming.hostname {
            written.insert(h);
        }
    }
    let names: FxHashSet<String> = written.into_iter().map(normalize).collect();
    let mut found: Vec<(usize, Span)> = names.iter().filter_map(|n| by_name.get(n)).flatten().copied().collect();
    found.sort_unstable_by_key(|&(i, _)| i);
    found.into_iter().map(|(_, span)| span).collect()
}

/// The most spans open at one instant.
fn most_at_once(spans: &[Span]) -> u64 {
    let mut edges: Vec<(i64, i8)> = spans.iter().flat_map(|s| [(s.start_ns, 1), (s.end_ns, -1)]).collect();
    // At one instant, ends before starts: back-to-back transfers did not overlap.
    edges.sort_unstable();
    let (mut now, mut most) = (0i64, 0i64);
    for (_, d) in edges {
        now += i64::from(d);
        most = most.max(now);
    }
    most as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_to_back_transfers_are_not_concurrent() {
        let s = |a, b| Span { phase: Phase::Receiving, start_ns: a, end_ns: b };
        assert_eq!(most_at_once(&[s(0, 10), s(10, 20)]), 1);
        assert_eq!(most_at_once(&[s(0, 10), s(5, 20), s(6, 7)]), 3);
        assert_eq!(most_at_once(&[]), 0);
    }
}
