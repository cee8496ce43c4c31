//! `acrscope live` without the UI: events as they happen (NDJSON) or one report at the end,
//! until a duration, a packet count, Ctrl-C or SIGTERM ends the capture.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use serde::Serialize;

use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::{Analyzer, ViewCache};
use crate::capture::live::{Drops, LiveError, LiveSource};
use crate::capture::privileges::Confinement;
use crate::engine;
use crate::flow::L4;
use crate::output::annotate::Recorder;
use crate::output::json::{self, CaptureInfo, LiveInfo};
use crate::output::time::rfc3339_us;
use crate::packet::link::linktype;
use crate::procs::Attributor;
use crate::session::attribution::Attribution;
use crate::session::{Event, Limits, Session};
use crate::signals::Signals;

mod dns_names;
use dns_names::DnsNames;

/// How often `stats` events are written and idle flows are aged out.
const STATS_EVERY: Duration = Duration::from_secs(1);
/// A TCP flow without a ClientHello is announced (named by DNS, or unnamed) after this long.
const ANNOUNCE_AFTER: Duration = Duration::from_secs(1);
/// The longest a FIN-closed flow's `flow_close` waits for the last ACK.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How much of the capture's time passes between two looks at the flows still connecting and
/// still open, for a connect that timed out or a transfer that stalled: those are judged over
/// seconds, and a look at every batch of packets costs in proportion to the flows open.
const SCAN_NS: i64 = 100_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One JSON object per line as things happen, then a `summary` line.
    Ndjson,
    /// Only the report document at the end, as `report --format json`.
    Json,
}

pub use crate::engine::StopWhen;

/// How the headless capture runs, and what its `start` line and summary say about it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub output: Output,
    pub stop_when: StopWhen,
    pub limits: Limits,
    pub filter: Option<String>,
    /// Who the process became after giving up root.
    pub user: Option<String>,
    /// Its uid, capabilities and sandbox, for the `start` line.
    pub confinement: Option<Confinement>,
    /// `--process`: flow events only for flows of these process names (empty: all flows).
    pub processes: Vec<String>,
}

/// Runs the capture until it should stop (the source ends, `--count`, `--duration`, SIGINT,
/// SIGTERM or SIGHUP), writing to `out` (and each packet to `save`, the `--write` file), on the
/// capture loop of `engine` (the timeline's too). Returns the final counters. `procs` names
/// the process of each new flow, when attribution is on.
pub async fn run_headless(
    src: LiveSource,
    save: Option<Recorder>,
    analyzer: &Analyzer,
    plan: &Plan,
    procs: Option<Attributor>,
    out: &mut impl Write,
) -> Result<Option<Drops>, LiveError> {
    let started = std::time::Instant::now();
    let about = Interface { name: src.interface.clone(), chosen_because: src.chosen_because, link_type: src.link_type };
    let ndjson = plan.output == Output::Ndjson;
    if ndjson {
        write_start(out, &about, plan, procs.as_ref()).map_err(output_error)?;
    }
    let mut session = Session::new(plan.limits.clone());
    // Only the event lines drain them: kept for `--format json`, they would pile up for as
    // long as the capture runs.
    if ndjson {
        session.record_events();
    }
    let opts = engine::Options { save, procs, stop_when: plan.stop_when };
    let (capture, control) = engine::Capture::new(engine::Source::Live(src), session, false, opts);
    let mut front = Headless::new(analyzer, &mut *out, plan);
    let mut shared = until_signal(capture, &control, &mut front).await?;
    let Headless { mut ev, last_stats, .. } = front;
    if ndjson {
        ev.write(&mut shared.session, analyzer, out, true).map_err(output_error)?;
        // The closing counters, unless the periodic line has just given them.
        if last_stats.elapsed() > Duration::from_millis(100) {
            write_stats(out, &shared, &ev).map_err(output_error)?;
        }
    }
    write_report(out, &shared, analyzer, plan, &about, started).map_err(output_error)?;
    if let Some(e) = &shared.status.error {
        eprintln!("acrscope: warning: {e}; the capture stopped, everything before it is reported");
    }
    if let Some(w) = shared.session.stats.warning_samples.iter().find(|w| w.kind == "write-failed") {
        eprintln!("acrscope: warning: {}; the packets before are in it", w.message);
    }
    Ok(shared.status.drops())
}

fn output_error(e: std::io::Error) -> LiveError {
    LiveError::Other(format!("writing the output: {e}"))
}

/// The interface captured on, as the `start` line and the report name it.
struct Interface {
    name: String,
    chosen_because: Option<&'static str>,
    link_type: u16,
}

/// Runs the capture until it ends, or the first signal stops it.
async fn until_signal(
    capture: engine::Capture,
    control: &watch::Sender<engine::Command>,
    front: &mut impl engine::Front,
) -> Result<engine::Shared, LiveError> {
    let mut signals = Signals::new().map_err(|e| LiveError::Other(format!("installing the signal handlers: {e}")))?;
    let stopper = async {
        signals.recv().await;
        control.send_modify(|c| c.stop = true);
        std::future::pending::<()>().await;
    };
    tokio::select! {
        r = capture.run(front) => r.map_err(|e| LiveError::Other(format!("{e:#}"))),
        () = stopper => unreachable!("the stopper never ends"),
    }
}

/// The `start` line: what is captured, by whom, with which rights.
fn write_start(
    out: &mut impl Write,
    about: &Interface,
    plan: &Plan,
    procs: Option<&Attributor>,
) -> std::io::Result<()> {
    let c = plan.confinement.as_ref();
    let start = StartEvent {
        event: "start",
        acrscope_version: crate::VERSION,
        ts: rfc3339_us(crate::output::time::now_ns()),
        interface: &about.name,
        chosen_because: about.chosen_because,
        link_type: linktype::name(about.link_type),
        filter: plan.filter.as_deref(),
        user: plan.user.as_deref(),
        uid: c.map(|c| c.dropped.uid),
        kept_root: c.map(|c| c.dropped.kept_root),
        capabilities: c.map(|c| c.dropped.capabilities.as_str()),
        sandbox: c.map(|c| c.sandbox.to_string()),
        process_attribution: procs.map(Attributor::mode),
    };
    serde_json::to_writer(&mut *out, &start)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The report at the end: the whole document (`--format json`), or the `summary` line.
fn write_report(
    out: &mut impl Write,
    shared: &engine::Shared,
    analyzer: &Analyzer,
    plan: &Plan,
    about: &Interface,
    started: std::time::Instant,
) -> std::io::Result<()> {
    let session = &shared.session;
    let attribution = shared.attribution.as_ref();
    let drops = shared.status.drops();
    let info = CaptureInfo {
        acrscope_version: crate::VERSION,
        source: about.name.clone(),
        format: "live".into(),
        first_ts: session.stats.first_ns.map(rfc3339_us),
        last_ts: session.stats.last_ns.map(rfc3339_us),
        error: shared.status.error.clone(),
        live: Some(LiveInfo {
            interface: about.name.clone(),
            chosen_because: about.chosen_because,
            link_type: linktype::name(about.link_type),
            filter: plan.filter.clone(),
            user: plan.user.clone(),
            duration_s: started.elapsed().as_secs_f64(),
            received: drops.map(|d| d.received),
            kernel_drops: drops.map(|d| d.kernel),
            if_drops: drops.map(|d| d.interface),
            flows_unattributed: attribution.map(Attribution::unattributed),
            unattributed_because: attribution.map(Attribution::because),
        }),
    };
    let analysis = analyzer.analyze(session);
    let report = json::build(session, &analysis, &info);
    match plan.output {
        Output::Json => json::write(out, &report, std::io::IsTerminal::is_terminal(&std::io::stdout()))?,
        Output::Ndjson => {
            out.write_all(b"{\"event\":\"summary\",\"report\":")?;
            serde_json::to_writer(&mut *out, &report)?;
            out.write_all(b"}\n")?;
        }
    }
    out.flush()
}

/// The headless front end: event lines as the capture loop ingests, a `stats` line a second.
struct Headless<'a, W: Write> {
    analyzer: &'a Analyzer,
    out: &'a mut W,
    output: Output,
    ev: Announcer,
    next_stats: std::time::Instant,
    last_stats: std::time::Instant,
    reported_drops: u64,
}

impl<'a, W: Write> Headless<'a, W> {
    fn new(analyzer: &'a Analyzer, out: &'a mut W, plan: &Plan) -> Self {
        let now = std::time::Instant::now();
        Headless {
            analyzer,
            out,
            output: plan.output,
            ev: Announcer { only: plan.processes.clone(), ..Announcer::default() },
            next_stats: now + STATS_EVERY,
            last_stats: now,
            reported_drops: 0,
        }
    }
}

impl<W: Write> engine::Front for Headless<'_, W> {
    fn update(&mut self, shared: &mut engine::Shared, why: engine::Why) -> anyhow::Result<()> {
        self.write(shared, why).map_err(|e| anyhow::anyhow!("writing the output: {e}"))
    }
}

impl<W: Write> Headless<'_, W> {
    fn write(&mut self, shared: &mut engine::Shared, why: engine::Why) -> std::io::Result<()> {
        let ndjson = self.output == Output::Ndjson;
        match why {
            engine::Why::Frames => {
                if ndjson && self.ev.write(&mut shared.session, self.analyzer, self.out, false)? {
                    // A script reading the events sees each one as it happens.
                    self.out.flush()?;
                }
            }
            engine::Why::Tick if std::time::Instant::now() >= self.next_stats => {
                self.next_stats += STATS_EVERY;
                if let Some(d) = shared.status.drops().filter(|d| d.kernel > self.reported_drops) {
                    eprintln!(
                        "acrscope: warning: the capture is falling behind: {} packets dropped by the kernel so far \
                         (raise --buffer-size or narrow --filter)",
                        d.kernel
                    );
                    self.reported_drops = d.kernel;
                }
                if ndjson {
                    self.ev.write(&mut shared.session, self.analyzer, self.out, false)?;
                    write_stats(self.out, shared, &self.ev)?;
                    self.last_stats = std::time::Instant::now();
                    self.out.flush()?;
                }
            }
            // A connect attempt fails with no packet saying so: looked at again each tick.
            engine::Why::Tick => {
                if ndjson && self.ev.write(&mut shared.session, self.analyzer, self.out, false)? {
                    self.out.flush()?;
                }
            }
            engine::Why::End => {}
        }
        Ok(())
    }
}

/// The first line: what is captured, and who captures it with which rights (a struct, so
/// that `event` comes first).
#[derive(Serialize)]
struct StartEvent<'a> {
    event: &'static str,
    /// `crate::VERSION`: which build wrote these events.
    acrscope_version: &'static str,
    ts: String,
    interface: &'a str,
    chosen_because: Option<&'static str>,
    link_type: &'static str,
    filter: Option<&'a str>,
    /// Who the process became.
    user: Option<&'a str>,
    uid: Option<u32>,
    /// `--user root`: root kept on purpose.
    kept_root: Option<bool>,
    /// Left in the effective and permitted sets: "none".
    capabilities: Option<&'a str>,
    /// "landlock vN", or "unavailable (why)".
    sandbox: Option<String>,
    /// How flows are attributed to processes: "helper", "helper, own processes only", or
    /// null (off).
    process_attribution: Option<&'static str>,
}

#[derive(Serialize)]
struct StatsEvent {
    event: &'static str,
    ts: Option<String>,
    packets: u64,
    bytes: u64,
    flows: u64,
    active_flows: usize,
    flows_evicted: u64,
    flows_aged_out: u64,
    dns_responses: u64,
    tls_client_hellos: u64,
    warnings: u64,
    received: Option<u64>,
    kernel_drops: Option<u64>,
    if_drops: Option<u64>,
    flows_unattributed: Option<u64>,
    unattributed_because: Option<std::collections::BTreeMap<&'static str, u64>>,
    /// `--process`: flows not announced because another process (or none known) made them.
    flows_hidden: Option<u64>,
}

fn write_stats(out: &mut impl Write, shared: &engine::Shared, ev: &Announcer) -> std::io::Result<()> {
    let (s, drops, attribution) = (&shared.session, shared.status.drops(), shared.attribution.as_ref());
    let e = StatsEvent {
        event: "stats",
        ts: Some(rfc3339_us(crate::output::time::now_ns())),
        packets: s.stats.packets,
        bytes: s.stats.bytes,
        flows: s.stats.flows,
        active_flows: s.flows.open_len(),
        flows_evicted: s.flows.stats.evicted,
        flows_aged_out: s.flows.stats.aged_out,
        dns_responses: s.stats.dns_responses,
        tls_client_hellos: s.stats.tls_client_hellos,
        warnings: s.stats.warning_count(),
        received: drops.map(|d| d.received),
        kernel_drops: drops.map(|d| d.kernel),
        if_drops: drops.map(|d| d.interface),
        flows_unattributed: attribution.map(Attribution::unattributed),
        unattributed_because: attribution.map(Attribution::because),
        flows_hidden: (!ev.only.is_empty()).then_some(ev.hidden),
    };
    serde_json::to_writer(&mut *out, &e)?;
    out.write_all(b"\n")
}

/// Turns session events into `flow_open`, `flow_close` and `dns` lines. A TCP flow is
/// announced once it is named: at its ClientHello, else after [`ANNOUNCE_AFTER`] (the DNS
/// name, or none), else when it closes.
#[derive(Default)]
struct Announcer {
    /// TCP flows opened but not announced yet, with when they opened.
    waiting: Vec<(u32, Instant)>,
    /// Per flow: how far it is announced.
    state: Vec<Stage>,
    /// TCP flows that sent a SYN and have had no answer yet: looked at until they connect or fail.
    connecting: Vec<u32>,
    /// TCP flows still open: looked at until they close or stall.
    open_tcp: Vec<u32>,
    /// TCP flows closed with FINs whose last ACK has not come yet, with when they closed: their
    /// `flow_close` waits for it (the final counts), at most [`CLOSE_GRACE`].
    closing: Vec<(u32, Instant)>,
    /// Failures already announced as `finding` events (kind, registry, hosts).
    announced: std::collections::HashSet<(FindingKind, Option<String>, Vec<String>)>,
    /// `--process`: the process names whose flows are announced; empty for all.
    only: Vec<String>,
    /// Flows not announced because of `only`.
    hidden: u64,
    /// The DNS log by name, for the `finding` events of failing answers.
    dns_names: DnsNames,
    /// What the rules said of the names of the flows announced so far.
    views: ViewCache,
    /// When (capture time) the connecting and open flows are looked at next.
    next_scan_ns: Option<i64>,
}

/// How far a flow is announced ([`Announcer::state`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Stage {
    /// Not yet.
    #[default]
    Unannounced,
    /// Its `flow_open` is written.
    Opened,
    /// Its `flow_close` too.
    Closed,
    /// `--process` hides it: never announced, opened or closed.
    Hidden,
}

/// `finding` events written at most: a hostile network must not turn the stream into noise.
const MAX_FINDING_EVENTS: usize = 256;

impl Announcer {
    /// Writes what happened since the last call; whether anything was written.
    fn write(&mut self, s: &mut Session, a: &Analyzer, out: &mut impl Write, end: bool) -> std::io::Result<bool> {
        if end {
            // Ending the session sorts its unanswered queries: they are indexed afresh.
            self.dns_names = DnsNames::default();
        }
        let events = s.drain_events();
        let mut wrote = !events.is_empty();
        for e in events {
            match e {
                Event::Dns(i) => {
                    if let Some(d) = s.dns.get(i as usize) {
                        line(out, "dns", &json::dns_record(s, d))?;
                        if matches!(d.msg.rcode, 2 | 3 | 5) && self.announced.len() < MAX_FINDING_EVENTS {
                            let found = self.dns_names.failures(s, &a.rules);
                            self.findings(found, out)?;
                        }
                    }
                }
                Event::FlowOpen(id) => {
                    self.grow(id);
                    let f = &s.flows()[id as usize];
                    if f.proto == L4::Tcp && f.tcp.syn_unanswered() {
                        self.connecting.push(id);
                    }
                    if f.proto == L4::Tcp {
                        self.open_tcp.push(id);
                    }
                    // A QUIC ClientHello may span several datagrams: wait for it as for TCP.
                    let facts = s.flow(id).facts;
                    let quic_pending = facts.quic.is_some() && facts.tls.client_hello.is_none();
                    if f.proto == L4::Udp && !quic_pending {
                        self.open(s, a, out, id)?;
                    } else {
                        self.waiting.push((id, Instant::now()));
                    }
                }
                Event::ClientHello(id) => self.open(s, a, out, id)?,
                Event::FlowClose(id) => {
                    let f = &s.flows()[id as usize];
                    if f.proto == L4::Tcp && f.tcp.closed() && !f.tcp.settled() && !end {
                        self.closing.push((id, Instant::now()));
                    } else {
                        self.close(s, a, out, id)?;
                    }
                    self.failure(s, a, out, id)?;
                }
                Event::Icmp(id) => {
                    self.failure(s, a, out, id)?;
                }
            }
        }
        // A connect attempt fails, and a transfer stalls, without a packet saying so: the flows
        // are looked at again as the capture's clock goes on, every `SCAN_NS` of it.
        let now = s.now_ns().unwrap_or(0);
        if end || self.next_scan_ns.is_none_or(|next| now >= next) {
            self.next_scan_ns = Some(now.saturating_add(SCAN_NS));
            let mut still = Vec::new();
            for id in std::mem::take(&mut self.connecting) {
                let f = &s.flows()[id as usize];
                if f.tcp.saw_syn_ack() {
                    continue;
                }
                if !self.failure(s, a, out, id)? {
                    still.push(id);
                }
            }
            self.connecting = still;
            wrote |= self.stalls(s, a, out)?;
        }
        let due = Instant::now().checked_sub(ANNOUNCE_AFTER);
        let mut still = Vec::new();
        for (id, at) in std::mem::take(&mut self.waiting) {
            if end || due.is_some_and(|d| at <= d) {
                wrote = true;
                self.open(s, a, out, id)?;
            } else if self.state[id as usize] == Stage::Unannounced {
                still.push((id, at));
            }
        }
        self.waiting = still;
        wrote |= self.settle(s, a, out, end)?;
        if end {
            // Flows still open when the capture stopped get their totals too.
            for id in 0..self.state.len() as u32 {
                self.close(s, a, out, id)?;
            }
        }
        Ok(wrote)
    }

    /// The `flow_close` of flows whose close is over (or has waited long enough).
    fn settle(&mut self, s: &Session, a: &Analyzer, out: &mut impl Write, end: bool) -> std::io::Result<bool> {
        let due = Instant::now().checked_sub(CLOSE_GRACE);
        let mut wrote = false;
        let mut still = Vec::new();
        for (id, at) in std::mem::take(&mut self.closing) {
            if end || s.flows()[id as usize].tcp.settled() || due.is_some_and(|d| at <= d) {
                self.close(s, a, out, id)?;
                wrote = true;
            } else {
                still.push((id, at));
            }
        }
        self.closing = still;
        Ok(wrote)
    }

    /// A transfer stalls, or a handshake times out, without a packet saying so: each open TCP
    /// flow is looked at on every call, and either is announced while it lasts (the flow still
    /// open). Whether one was.
    fn stalls(&mut self, s: &Session, a: &Analyzer, out: &mut impl Write) -> std::io::Result<bool> {
        let now = s.now_ns().unwrap_or(0);
        let mut wrote = false;
        let mut still = Vec::new();
        for id in std::mem::take(&mut self.open_tcp) {
            let f = &s.flows()[id as usize];
            if f.tcp.closed() {
                continue;
            }
            if !crate::analysis::outcome::went_silent(f, s.flow(id).facts, now) {
                still.push(id);
                continue;
            }
            wrote |= self.failure(s, a, out, id)?;
        }
        self.open_tcp = still;
        Ok(wrote)
    }

    /// Writes a `finding` event when flow `id` failed and its failure was not announced yet.
    /// Whether the flow failed.
    fn failure(&mut self, s: &Session, a: &Analyzer, out: &mut impl Write, id: u32) -> std::io::Result<bool> {
        if self.hides(s, id) {
            return Ok(false);
        }
        // Most flows looked at here have not failed, and their state says so without naming them.
        if !a.may_have_failed(s, id) {
            return Ok(false);
        }
        let v = a.view(s, id, &mut self.views);
        if !v.outcome.failed() {
            return Ok(false);
        }
        let mut found = Vec::new();
        let one = std::slice::from_ref(&v);
        crate::analysis::failures::flow_failures(s, one, &Default::default(), &mut found);
        crate::analysis::slow::flow_findings(s, one, &mut found);
        self.findings(found, out)?;
        Ok(true)
    }

    fn findings(&mut self, found: Vec<Finding>, out: &mut impl Write) -> std::io::Result<()> {
        for f in found {
            if self.announced.len() >= MAX_FINDING_EVENTS {
                return Ok(());
            }
            if self.announced.insert((f.kind(), f.registry.clone(), f.hosts.clone())) {
                line(out, "finding", &f)?;
            }
        }
        Ok(())
    }

    fn grow(&mut self, id: u32) {
        if self.state.len() <= id as usize {
            self.state.resize(id as usize + 1, Stage::Unannounced);
        }
    }

    /// Whether `--process` hides flow `id`: made by another process, or by none known.
    fn hides(&self, s: &Session, id: u32) -> bool {
        !self.only.is_empty() && s.flow(id).facts.process.as_ref().is_none_or(|p| !p.is_one_of(&self.only))
    }

    fn open(&mut self, s: &Session, a: &Analyzer, out: &mut impl Write, id: u32) -> std::io::Result<()> {
        self.grow(id);
        if self.state[id as usize] != Stage::Unannounced {
            return Ok(());
        }
        if self.hides(s, id) {
            self.state[id as usize] = Stage::Hidden;
            self.hidden += 1;
            return Ok(());
        }
        self.state[id as usize] = Stage::Opened;
        let v = a.view(s, id, &mut self.views);
        line(out, "flow_open", &json::flow_record(s, &v))
    }

    fn close(&mut self, s: &Session, a: &Analyzer, out: &mut impl Write, id: u32) -> std::io::Result<()> {
        self.open(s, a, out, id)?;
        if matches!(self.state[id as usize], Stage::Closed | Stage::Hidden) {
            return Ok(());
        }
        self.state[id as usize] = Stage::Closed;
        let v = a.view(s, id, &mut self.views);
        line(out, "flow_close", &json::flow_record(s, &v))
    }
}

/// One event line: `"event"` first, then the record's fields.
fn line(out: &mut impl Write, event: &str, record: &impl Serialize) -> std::io::Result<()> {
    let mut body = Vec::with_capacity(1024);
    crate::output::literal_keys::write(&mut body, record)?;
    write!(out, "{{\"event\":\"{event}\"")?;
    match body.get(1..) {
        Some(rest) if rest != b"}" => {
            out.write_all(b",")?;
            out.write_all(rest)?;
        }
        _ => out.write_all(b"}")?,
    }
    out.write_all(b"\n")
}
