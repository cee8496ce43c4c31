//! What the screen shows, copied out of the shared session in one short lock so drawing never
//! holds it. A [`Builder`] keeps what is costly to redo (each flow's naming and
//! classification, the DNS pane's grouping) and redoes it only for what changed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::analysis::{endpoints, findings, infer, Analyzer, Finding, FlowView, Inferred};
use crate::cli::ViewKind;
use crate::dissect::tls::ClientHelloInfo;
use crate::engine::{Shared, SourceStatus};
use crate::flow::Flow;
use crate::session::activity::Activity;
use crate::session::{FlowFacts, Session};

use super::rows::{self, Line, Widths};

/// Flows from which a build uses two threads: below, starting one costs more than it saves.
const PARALLEL_FROM: usize = 4096;

/// Pieces a sampled byte count is spread over, between the two times it was seen at.
const SAMPLE_PIECES: i64 = 16;

/// One flow as the timeline and the details pane need it.
#[derive(Debug, Clone)]
pub struct FlowRec {
    pub flow: Flow,
    /// Bytes over capture time: the session's record when it keeps one (wire bytes), else
    /// sampled here from the flow's payload counters each time the model is built.
    pub activity: Activity,
    pub hello: Option<Arc<ClientHelloInfo>>,
    pub hello_ns: Option<i64>,
    pub server_version: Option<u16>,
    /// QUIC version, plain HTTP and proxy CONNECT, as (label, text) for the details pane.
    pub clear_text: Option<Arc<Vec<(&'static str, String)>>>,
    /// The local process that held the socket at the first packet (live only).
    pub process: Option<Arc<crate::procs::Process>>,
}

/// Only flows with QUIC or HTTP facts get lines (and an allocation).
fn clear_text(facts: &FlowFacts, f: &Flow) -> Option<Arc<Vec<(&'static str, String)>>> {
    if facts.http.is_none() && facts.quic.is_none() {
        return None;
    }
    Some(Arc::new(crate::output::text::clear_text_lines(facts, f)))
}

impl FlowRec {
    fn new(f: &Flow, facts: &FlowFacts) -> FlowRec {
        let activity = match &facts.activity {
            Some(a) => (**a).clone(),
            None => {
                // The first sight of a flow read at full speed: its bytes spread evenly from its
                // first to its last packet, the best the counters can say.
                let mut a = Activity::new(f.first_ns);
                spread(&mut a, f.first_ns, f.last_ns, f.bytes());
                a
            }
        };
        FlowRec {
            flow: f.clone(),
            activity,
            hello: facts.tls.client_hello.clone(),
            hello_ns: facts.tls.client_hello_ns,
            server_version: facts.tls.server_version,
            clear_text: clear_text(facts, f),
            process: facts.process.clone(),
        }
    }

    fn update(&mut self, f: &Flow, facts: &FlowFacts) {
        if self.flow.packets() != f.packets() || self.flow.tcp != f.tcp {
            match &facts.activity {
                Some(a) => self.activity.clone_from(&**a),
                // The bytes that came since the last look arrived after the last packet seen
                // then and by the last packet now.
                None => spread(
                    &mut self.activity,
                    self.flow.last_ns,
                    f.last_ns,
                    f.bytes().saturating_sub(self.flow.bytes()),
                ),
            }
            self.flow = f.clone();
            if facts.http.is_some() || facts.quic.is_some() {
                self.clear_text = clear_text(facts, f);
            }
        }
        if self.hello.is_none() && facts.tls.client_hello.is_some() {
            self.hello = facts.tls.client_hello.clone();
            self.hello_ns = facts.tls.client_hello_ns;
        }
        self.server_version = facts.tls.server_version;
        if self.process.is_none() {
            self.process.clone_from(&facts.process);
        }
    }
}

/// Adds `bytes` evenly over `[from_ns, to_ns]`.
fn spread(a: &mut Activity, from_ns: i64, to_ns: i64, bytes: u64) {
    if bytes == 0 {
        return;
    }
    let span = to_ns.saturating_sub(from_ns).max(0);
    let pieces = if span == 0 { 1 } else { SAMPLE_PIECES };
    let share = bytes / pieces as u64;
    for k in 0..pieces {
        let at = from_ns.saturating_add(((i128::from(span) * i128::from(2 * k + 1)) / i128::from(2 * pieces)) as i64);
        let b = if k == pieces - 1 { bytes - share * (pieces as u64 - 1) } else { share };
        a.add(at, u32::try_from(b).unwrap_or(u32::MAX));
    }
}

/// A DNS answer as the panes need it.
#[derive(Debug, Clone)]
pub struct AnswerRec {
    pub ts_ns: i64,
    pub server: IpAddr,
    pub qtype: String,
    pub chain: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub ttl: Option<u32>,
    pub rcode: u16,
}

/// Answers with the same CNAME chain, as one entry of the DNS pane: a pull asks the same
/// question (A and AAAA) once per connection, and the chain is what a reader needs to see.
#[derive(Debug, Clone)]
pub struct DnsEntry {
    pub chain: Vec<String>,
    pub qtypes: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub ttl: Option<u32>,
    /// The last non-zero response code (NXDOMAIN, SERVFAIL), else 0.
    pub rcode: u16,
    pub first_ns: i64,
    pub last_ns: i64,
    pub count: u32,
}

#[derive(Debug, Default)]
pub struct Model {
    pub status: SourceStatus,
    pub packets: u64,
    pub bytes: u64,
    pub warnings: u64,
    pub flows_evicted: u64,
    /// The time axis origin: the first packet.
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// By flow id.
    pub flows: Vec<FlowRec>,
    /// By flow id: named, classified, registry and region inferred.
    pub views: Vec<FlowView>,
    /// By index into the session's `dns`.
    pub answers: Vec<AnswerRec>,
    pub dns: Vec<DnsEntry>,
    /// Indices into `dns`, latest answer first.
    pub dns_order: Vec<u32>,
    pub findings: Vec<Finding>,
    /// The analyzer had a service tags file (so an empty list means "in no tag").
    pub tags_loaded: bool,
    pub flow_lines: Vec<Line>,
    pub host_lines: Vec<Line>,
    pub flow_widths: Widths,
    pub host_widths: Widths,
    /// Bumped at each build, so the UI state knows to re-apply its filter and selection.
    pub version: u64,
}

impl Model {
    pub fn lines(&self, view: ViewKind) -> &[Line] {
        match view {
            ViewKind::Flows => &self.flow_lines,
            ViewKind::Endpoints => &self.host_lines,
        }
    }

    pub fn widths(&self, view: ViewKind) -> Widths {
        match view {
            ViewKind::Flows => self.flow_widths,
            ViewKind::Endpoints => self.host_widths,
        }
    }

    /// The capture clock: the replay's (or live) "now", else the last packet.
    pub fn now_ns(&self) -> Option<i64> {
        self.status.clock_ns.or(self.last_ns)
    }

    /// The end of the time axis: the later of the clock and the last packet.
    pub fn end_ns(&self) -> Option<i64> {
        match (self.status.clock_ns, self.last_ns) {
            (Some(c), Some(l)) => Some(c.max(l)),
            (c, l) => c.or(l),
        }
    }

    /// Findings that concern a host or an address.
    pub fn findings_for<'a>(&'a self, host: Option<&'a str>, addr: IpAddr) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings
            .iter()
            .filter(move |f| host.is_some_and(|h| f.hosts.iter().any(|x| x == h)) || f.addresses.contains(&addr))
    }
}

/// Keeps the costly parts of the model between builds.
#[derive(Debug, Default)]
pub struct Builder {
    /// What each flow's view (in the model) was made from: how many of the ClientHello and an
    /// HTTP request were known, and how many answers held the server address.
    sig: Vec<(u8, usize)>,
    /// What the last build inferred into the model's views, taken back before the next.
    inferred: Inferred,
    dns_index: HashMap<Vec<String>, u32>,
    /// Only what happened by this capture time is shown (a headless render of a moment).
    until: Option<i64>,
}

impl Builder {
    pub fn new(until: Option<i64>) -> Builder {
        Builder { until, ..Builder::default() }
    }

    /// Brings `model` up to date with `shared`.
    pub fn update(&mut self, model: &mut Model, shared: &Shared, analyzer: &Analyzer) {
        let s = &shared.session;
        let parallel = s.flows().len() >= PARALLEL_FROM && crate::par::threads(2) > 1;
        // The flow records do not depend on the views: they are copied while views are made.
        let Model { flows, views, findings, .. } = model;
        crate::par::join(
            parallel,
            || update_recs(flows, s),
            || {
                std::mem::take(&mut self.inferred).undo(views);
                self.update_views(views, s, analyzer);
                self.inferred = infer(s, views);
                let eps = endpoints::build(s, views);
                *findings = findings::build(s, views, &eps, &analyzer.rules);
            },
        );
        model.tags_loaded = analyzer.tags.is_some();
        self.update_dns(model, s);

        model.status = shared.status.clone();
        if let Some(at) = self.until {
            model.status.clock_ns = Some(at);
        }
        let st = &s.stats;
        model.packets = st.packets;
        model.bytes = st.wire_bytes;
        model.warnings = st.warning_count();
        model.flows_evicted = st.flows_evicted;
        model.first_ns = shared.status.start_ns.or(st.first_ns);
        model.last_ns = match self.until {
            Some(at) => st.last_ns.map(|l| l.min(at)),
            None => st.last_ns,
        };
        let lines = |view| {
            let lines = rows::build(view, &model.views, &model.flows, &model.answers, self.until);
            let widths = rows::widths(&lines);
            (lines, widths)
        };
        let ((flow_lines, flow_widths), (host_lines, host_widths)) =
            crate::par::join(parallel, || lines(ViewKind::Flows), || lines(ViewKind::Endpoints));
        (model.flow_lines, model.flow_widths) = (flow_lines, flow_widths);
        (model.host_lines, model.host_widths) = (host_lines, host_widths);
        model.version += 1;
    }

    /// Names and classifies new flows, and again only those whose naming may have changed:
    /// the ClientHello or an HTTP request arrived, or an answer holding the server address did and could name
    /// the flow better than the one it has (one from before the flow began, or the flow had
    /// only a later one or none).
    fn update_views(&mut self, views: &mut Vec<FlowView>, s: &Session, analyzer: &Analyzer) {
        // Flows to (re)name, in id order: the new ones come last, so they are pushed in turn.
        let mut todo: Vec<u32> = Vec::new();
        for (i, f) in s.flows().iter().enumerate() {
            let id = i as u32;
            let held = s.answers_for(&f.server);
            // A name can also come from a plain HTTP request or a CONNECT, after the flow began.
            let facts = &s.facts[i];
            let named = u8::from(facts.tls.client_hello.is_some())
                + u8::from(facts.http.as_ref().is_some_and(|h| h.request.is_some()));
            let sig = (named, held.len());
            let Some(old) = self.sig.get(i).copied() else {
                todo.push(id);
                self.sig.push(sig);
                continue;
            };
            if old == sig {
                continue;
            }
            let named_after_start =
                views[i].naming.answer.and_then(|a| s.dns.get(a as usize)).is_none_or(|a| a.ts_ns > f.first_ns);
            let new_before_start = held
                .get(old.1..)
                .unwrap_or(&[])
                .iter()
                .any(|&a| s.dns.get(a as usize).is_some_and(|a| a.ts_ns <= f.first_ns));
            if old.0 != sig.0 || named_after_start || new_before_start {
                todo.push(id);
            }
            self.sig[i] = sig;
        }
        for (id, v) in todo.iter().zip(analyzer.views(s, &todo)) {
            match views.get_mut(*id as usize) {
                Some(slot) => *slot = v,
                None => views.push(v),
            }
        }
        // Outcomes move on with every packet (a flow connects, closes, or its SYNs go
        // unanswered as time passes): cheap to decide, so decided again for every flow.
        for v in views.iter_mut() {
            v.outcome = analyzer.outcome(s, v.id, &v.class);
        }
    }

    fn update_dns(&mut self, model: &mut Model, s: &Session) {
        let until = self.until.unwrap_or(i64::MAX);
        let from = model.answers.len();
        for a in s.dns.get(from..).unwrap_or(&[]) {
            let rec = AnswerRec {
                ts_ns: a.ts_ns,
                server: a.server,
                qtype: a.msg.qtype.clone().unwrap_or_default(),
                chain: a.msg.chain.clone(),
                addresses: a.msg.addresses.clone(),
                ttl: a.msg.min_ttl,
                rcode: a.msg.rcode,
            };
            if rec.ts_ns <= until && !rec.chain.is_empty() {
                self.add_entry(model, &rec);
            }
            model.answers.push(rec);
        }
        if model.answers.len() != from {
            model.dns_order = (0..model.dns.len() as u32).collect();
            model.dns_order.sort_by_key(|&i| std::cmp::Reverse((model.dns[i as usize].last_ns, i)));
        }
    }

    fn add_entry(&mut self, model: &mut Model, a: &AnswerRec) {
        let i = *self.dns_index.entry(a.chain.clone()).or_insert_with(|| {
            model.dns.push(DnsEntry {
                chain: a.chain.clone(),
                qtypes: Vec::new(),
                addresses: Vec::new(),
                ttl: None,
                rcode: 0,
                first_ns: a.ts_ns,
                last_ns: a.ts_ns,
                count: 0,
            });
            model.dns.len() as u32 - 1
        });
        let e = &mut model.dns[i as usize];
        if !a.qtype.is_empty() && !e.qtypes.contains(&a.qtype) {
            e.qtypes.push(a.qtype.clone());
        }
        for x in &a.addresses {
            if !e.addresses.contains(x) {
                e.addresses.push(*x);
            }
        }
        e.ttl = match (e.ttl, a.ttl) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if a.rcode != 0 {
            e.rcode = a.rcode;
        }
        e.first_ns = e.first_ns.min(a.ts_ns);
        e.last_ns = e.last_ns.max(a.ts_ns);
        e.count += 1;
    }
}

/// Brings the flow records up to date with the session's flows.
fn update_recs(recs: &mut Vec<FlowRec>, s: &Session) {
    for (i, f) in s.flows().iter().enumerate() {
        let facts = &s.facts[i];
        match recs.get_mut(i) {
            Some(r) => r.update(f, facts),
            None => recs.push(FlowRec::new(f, facts)),
        }
    }
}

/// Builds a model from scratch (a headless render, a test).
pub fn build(shared: &Shared, analyzer: &Analyzer, until: Option<i64>) -> Model {
    let mut m = Model::default();
    Builder::new(until).update(&mut m, shared, analyzer);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_every_byte_between_its_times() {
        let mut a = Activity::new(1_000);
        spread(&mut a, 1_000, 5_000_000, 1_000_003);
        let total: u64 = a.bins.iter().map(|&b| u64::from(b)).sum();
        assert_eq!(total, 1_000_003);
        assert_eq!(a.bytes_between(0, 1_000), 0.0, "nothing before the first time");
        let by_end = a.bytes_between(0, 5_000_001 + a.bin_ns);
        assert!((by_end - 1_000_003.0).abs() < 1e-3, "everything by the last time: {by_end}");
        assert!(a.bytes_between(0, 2_500_000) < 600_000.0, "spread, not piled at the start");
        let mut one = Activity::new(0);
        spread(&mut one, 7, 7, 10);
        assert_eq!(one.bins.iter().map(|&b| u64::from(b)).sum::<u64>(), 10);
        spread(&mut one, 7, 9, 0);
        assert_eq!(one.bins.iter().map(|&b| u64::from(b)).sum::<u64>(), 10);
    }
}
