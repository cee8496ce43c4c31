//! What the screen shows, copied out of the shared session in one short lock so drawing never
//! holds it. A [`Builder`] keeps what is costly to redo (each flow's naming and
//! classification, the DNS pane's grouping) and redoes it only for what changed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::analysis::pulls::{self, Pull};
use crate::analysis::{endpoints, findings, infer, Analyzer, Endpoint, Finding, FlowView, Inferred};
use crate::engine::{Shared, SourceStatus};
use crate::session::Session;
use crate::ui::ViewKind;

use super::recs::update_recs;
pub use super::recs::{AnswerRec, FlowRec};
use super::rows::{self, Line, ViewLines, Widths};

/// Flows from which a build uses two threads: below, starting one costs more than it saves.
const PARALLEL_FROM: usize = 4096;

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

/// The costly part of what the screen shows, built on the capture side from the session and
/// published whole: the view reads it, never builds it.
#[derive(Debug, Clone, Default)]
pub struct Built {
    /// The source and the counters when this was built.
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
    /// One per host and role, as `report` lists them; the findings are made from them.
    pub endpoints: Vec<Endpoint>,
    pub findings: Vec<Finding>,
    /// Where each registry's pull spent its time.
    pub pulls: Vec<Pull>,
    /// Live capture: the names of the interfaces the flows came in on, by ifindex, looked up
    /// once each (a lookup scans /sys/class/net; drawing must not).
    pub interface_names: HashMap<u32, Option<String>>,
    /// The analyzer had a service tags file (so an empty list means "in no tag").
    pub tags_loaded: bool,
    /// The lines of the flow view and of the host view.
    pub flow_rows: ViewLines,
    pub host_rows: ViewLines,
    /// Bumped at each build, so the UI state knows to re-apply its filter and selection.
    pub version: u64,
    /// `--process`: how many flows it hides; `None` without it.
    pub hidden_by_process: Option<usize>,
    /// What the next build of this one starts from (each published copy keeps its own, so a
    /// build may start from any earlier one).
    state: BuildState,
}

/// What a build keeps for the next one, so that it redoes only what changed.
#[derive(Debug, Clone, Default)]
struct BuildState {
    /// By flow id: what each flow's view was made from.
    sig: Vec<ViewSig>,
    /// What the last build inferred into the views, taken back before the next.
    inferred: Inferred,
    dns_index: HashMap<Vec<String>, u32>,
    /// Flow records whose interface has been named (a flow's ifindex never changes).
    named_interfaces: usize,
}

/// What a flow's view was made from: when it changes, the view may have to be made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ViewSig {
    /// How many of the ClientHello and an HTTP request were known.
    named_by: u8,
    /// How many answers held the server address.
    answers: usize,
}

impl Built {
    pub fn rows(&self, view: ViewKind) -> &ViewLines {
        match view {
            ViewKind::Flows => &self.flow_rows,
            ViewKind::Endpoints => &self.host_rows,
        }
    }

    pub fn lines(&self, view: ViewKind) -> &[Line] {
        &self.rows(view).lines
    }

    pub fn widths(&self, view: ViewKind) -> Widths {
        self.rows(view).widths
    }

    /// Findings that concern a host or an address.
    pub fn findings_for<'a>(&'a self, host: Option<&'a str>, addr: IpAddr) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings
            .iter()
            .filter(move |f| host.is_some_and(|h| f.hosts.iter().any(|x| x == h)) || f.addresses.contains(&addr))
    }
}

/// What is drawn: the newest published build, and the newest counters and source status
/// (which move between builds).
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub built: Arc<Built>,
    pub status: SourceStatus,
    pub packets: u64,
    pub bytes: u64,
    pub warnings: u64,
    pub flows_evicted: u64,
}

impl std::ops::Deref for Model {
    type Target = Built;

    fn deref(&self) -> &Built {
        &self.built
    }
}

impl Model {
    pub fn new(built: Arc<Built>) -> Model {
        let mut m = Model::default();
        m.set_built(built);
        m
    }

    /// Shows a newer build (its counters too, unless newer ones came meanwhile).
    pub fn set_built(&mut self, built: Arc<Built>) {
        if built.packets >= self.packets || built.status.finished {
            self.status.clone_from(&built.status);
            self.packets = built.packets;
            self.bytes = built.bytes;
            self.warnings = built.warnings;
            self.flows_evicted = built.flows_evicted;
        }
        self.status.finished = built.status.finished;
        self.built = built;
    }

    /// The newest counters and source status. "end" waits for the build that shows what was
    /// read up to the end.
    pub fn set_progress(&mut self, p: &crate::engine::Progress) {
        let finished = self.built.status.finished;
        self.status.clone_from(&p.status);
        self.status.finished = finished;
        self.packets = p.packets;
        self.bytes = p.wire_bytes;
        self.warnings = p.warnings;
        self.flows_evicted = p.flows_evicted;
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
}

/// Builds the screen's picture from the session: in full, or from an earlier build, redoing
/// only what changed.
#[derive(Debug)]
pub struct Builder {
    /// Only what happened by this capture time is shown (a headless render of a moment).
    until: Option<i64>,
    /// `--process NAMES`: only these processes' flows and the DNS answers they used are shown.
    only: Vec<String>,
    /// Threads a large build may use; `None`: two when the machine has them (asked only when
    /// a build is large: the question reads the cgroup's files).
    threads: Option<usize>,
}

impl Builder {
    pub fn new(until: Option<i64>) -> Builder {
        Builder { until, only: Vec::new(), threads: None }
    }

    /// At most `n` threads (1: everything on the caller's), whatever the machine has.
    pub fn threads(mut self, n: usize) -> Builder {
        self.threads = Some(n.max(1));
        self
    }

    /// Shows only the flows of the processes named (as `ps` names them; none: every flow), and
    /// the DNS answers they used (see [`rows::Shown::of`]).
    pub fn only_processes(mut self, names: &[String]) -> Builder {
        self.only = names.to_vec();
        self
    }

    /// Brings `model` up to date with `shared`.
    ///
    /// After naming (which uses every core by itself) the work runs as two chains: the flow
    /// records, the DNS pane and the rows of both views on one thread; the inferences, the
    /// endpoints, the findings and the pulls on the other. The rows need the inferences,
    /// which the second chain hands over as soon as they are made, so the rows (which
    /// `report` does not make) do not wait for the findings. The chains are split where
    /// their CPU time is about even (docs/performance.md).
    pub fn update(&self, model: &mut Built, shared: &Shared, analyzer: &Analyzer) {
        let s = &shared.session;
        let parallel = s.flows().len() >= PARALLEL_FROM && self.threads.unwrap_or_else(|| crate::par::threads(2)) > 1;
        let Built { flows, views, findings, pulls: pull_times, endpoints: eps, answers, dns, dns_order, state, .. } =
            model;
        let BuildState { sig, inferred, dns_index, .. } = state;
        std::mem::take(inferred).undo(views);
        update_views(sig, views, s, analyzer);
        let mut pane = DnsPane { entries: dns, order: dns_order, index: dns_index };
        let mut analyse = |views: &mut Vec<FlowView>| *inferred = infer(s, views);
        let mut conclude = |views: &[FlowView]| {
            *eps = endpoints::build(s, views);
            *findings = findings::build(s, views, eps, &analyzer.rules);
            *pull_times = pulls::build(s, views);
        };
        let (flow_rows, host_rows, hidden) = if parallel {
            let (to_rows, views_in) = std::sync::mpsc::sync_channel::<&[FlowView]>(1);
            std::thread::scope(|scope| {
                let analysis_chain = scope.spawn(move || {
                    analyse(views);
                    let views: &[FlowView] = views;
                    // Dropped by a panic too, so the rows chain stops waiting.
                    let _ = to_rows.send(views);
                    conclude(views);
                });
                let r = self.records(flows, answers, &mut pane, s);
                let rows = views_in.recv().ok().map(|views| {
                    (self.lines(ViewKind::Flows, views, &r), self.lines(ViewKind::Endpoints, views, &r), r.hidden())
                });
                // A panic of the analysis chain is carried on; without one, the views came.
                analysis_chain.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                rows.expect("the analysis chain hands over the views unless it panicked")
            })
        } else {
            let r = self.records(flows, answers, &mut pane, s);
            analyse(views);
            conclude(views);
            (self.lines(ViewKind::Flows, views, &r), self.lines(ViewKind::Endpoints, views, &r), r.hidden())
        };
        (model.flow_rows, model.host_rows) = (flow_rows, host_rows);
        model.hidden_by_process = hidden;
        model.tags_loaded = analyzer.tags.is_some();
        model.status = shared.status.clone();
        if model.status.live {
            let from = model.state.named_interfaces.min(model.flows.len());
            for rec in &model.flows[from..] {
                if let Some(ix) = rec.flow.ifindex {
                    model.interface_names.entry(ix).or_insert_with(|| crate::capture::live::interface_name(ix));
                }
            }
            model.state.named_interfaces = model.flows.len();
        }
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
        model.version += 1;
    }

    /// The flow records and the DNS pane brought up to date, and (`--process`) what is shown.
    fn records<'m>(
        &self,
        flows: &'m mut Vec<FlowRec>,
        answers: &'m mut Vec<AnswerRec>,
        pane: &mut DnsPane<'_>,
        s: &Session,
    ) -> Records<'m> {
        update_recs(flows, s);
        pane.update(answers, s, self.until);
        let shown = (!self.only.is_empty()).then(|| rows::Shown::of(&self.only, flows, answers, self.until));
        if let Some(sh) = &shown {
            // The answers the shown flows used can come before them: the DNS pane is chosen
            // again at each build.
            pane.keep(answers, &sh.answers);
        }
        Records { flows, answers, shown: shown.map(Arc::new) }
    }

    fn lines(&self, view: ViewKind, views: &[FlowView], r: &Records<'_>) -> ViewLines {
        let lines = rows::build(view, views, r.flows, r.answers, self.until, r.shown.as_deref());
        ViewLines { widths: rows::widths(&lines, r.flows), lines }
    }
}

/// The records a build's rows of both views are made from.
struct Records<'m> {
    flows: &'m [FlowRec],
    answers: &'m [AnswerRec],
    shown: Option<Arc<rows::Shown>>,
}

impl Records<'_> {
    /// `--process`: how many flows it hides.
    fn hidden(&self) -> Option<usize> {
        self.shown.as_ref().map(|s| s.hidden)
    }
}

/// Names and classifies new flows, and again only those whose naming may have changed:
/// the ClientHello or an HTTP request arrived, or an answer holding the server address did and could name
/// the flow better than the one it has (one from before the flow began, or the flow had
/// only a later one or none).
fn update_views(sig_of: &mut Vec<ViewSig>, views: &mut Vec<FlowView>, s: &Session, analyzer: &Analyzer) {
    // Flows to (re)name, in id order: the new ones come last, so they are pushed in turn.
    let mut todo: Vec<u32> = Vec::new();
    for (i, f) in s.flows().iter().enumerate() {
        let id = i as u32;
        let held = s.answers_for(&f.server);
        // A name can also come from a plain HTTP request or a CONNECT, after the flow began.
        let facts = s.flow(id).facts;
        let named = u8::from(facts.tls.client_hello.is_some())
            + u8::from(facts.http.as_ref().is_some_and(|h| h.request.is_some()));
        let sig = ViewSig { named_by: named, answers: held.len() };
        let Some(old) = sig_of.get(i).copied() else {
            todo.push(id);
            sig_of.push(sig);
            continue;
        };
        if old == sig {
            continue;
        }
        let named_after_start =
            views[i].naming.answer.and_then(|a| s.dns.get(a as usize)).is_none_or(|a| a.ts_ns > f.first_ns);
        let new_before_start = held
            .get(old.answers..)
            .unwrap_or(&[])
            .iter()
            .any(|&a| s.dns.get(a as usize).is_some_and(|a| a.ts_ns <= f.first_ns));
        if old.named_by != sig.named_by || named_after_start || new_before_start {
            todo.push(id);
        }
        sig_of[i] = sig;
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

/// The DNS pane's part of a build: one entry per CNAME chain.
struct DnsPane<'m> {
    entries: &'m mut Vec<DnsEntry>,
    /// Indices into `entries`, latest answer first.
    order: &'m mut Vec<u32>,
    index: &'m mut HashMap<Vec<String>, u32>,
}

impl DnsPane<'_> {
    /// Copies the session's new answers into `answers` and adds those by `until` to the pane.
    fn update(&mut self, answers: &mut Vec<AnswerRec>, s: &Session, until: Option<i64>) {
        let until = until.unwrap_or(i64::MAX);
        let from = answers.len();
        for a in s.dns.get(from..).unwrap_or(&[]) {
            let rec = AnswerRec {
                ts_ns: a.ts_ns,
                server: a.server,
                qtype: a.msg.qtype.clone().unwrap_or_default(),
                chain: a.msg.chain.clone(),
                addresses: a.msg.addresses.clone(),
                ttl: a.msg.min_ttl,
                rcode: a.msg.rcode,
                flow: a.flow,
            };
            if rec.ts_ns <= until && !rec.chain.is_empty() {
                self.add(&rec);
            }
            answers.push(rec);
        }
        if answers.len() != from {
            self.sort(None);
        }
    }

    fn add(&mut self, a: &AnswerRec) {
        let entries = &mut *self.entries;
        let i = *self.index.entry(a.chain.clone()).or_insert_with(|| {
            entries.push(DnsEntry {
                chain: a.chain.clone(),
                qtypes: Vec::new(),
                addresses: Vec::new(),
                ttl: None,
                rcode: 0,
                first_ns: a.ts_ns,
                last_ns: a.ts_ns,
                count: 0,
            });
            entries.len() as u32 - 1
        });
        let e = &mut entries[i as usize];
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

    /// Only the entries of the answers `used` says.
    fn keep(&mut self, answers: &[AnswerRec], used: &[bool]) {
        let mut keep = vec![false; self.entries.len()];
        for (a, _) in answers.iter().zip(used).filter(|(_, &u)| u) {
            if let Some(&i) = self.index.get(&a.chain) {
                keep[i as usize] = true;
            }
        }
        self.sort(Some(&keep));
    }

    /// The entries (those `keep` says, else all), latest answer first.
    fn sort(&mut self, keep: Option<&[bool]>) {
        let entries = &*self.entries;
        *self.order =
            (0..entries.len() as u32).filter(|&i| keep.is_none_or(|k| k.get(i as usize) == Some(&true))).collect();
        self.order.sort_by_key(|&i| std::cmp::Reverse((entries[i as usize].last_ns, i)));
    }
}

/// Builds a model from scratch (a headless render, a test).
pub fn build(shared: &Shared, analyzer: &Analyzer, until: Option<i64>) -> Model {
    let mut m = Built::default();
    Builder::new(until).update(&mut m, shared, analyzer);
    Model::new(Arc::new(m))
}
