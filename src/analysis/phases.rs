//! What a flow was doing when: connecting, in its TLS handshake, waiting for the server's first
//! byte, receiving, stalled. Computed here once from the flow's own times; the pull summary
//! (where the time went) and the timeline's bars both read it.

use super::outcome::{stalled, Stall};
use crate::flow::{Flow, L4};
use crate::session::{FlowFacts, TransferMetrics};

/// A flow's phases, most advanced last: where two overlap, the later one is what the flow was
/// doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Looking up a name (a pull's, not a flow's own phase).
    Resolving,
    Connecting,
    Handshake,
    Waiting,
    Receiving,
    Stalled,
}

impl Phase {
    pub const ALL: [Phase; 6] =
        [Phase::Resolving, Phase::Connecting, Phase::Handshake, Phase::Waiting, Phase::Receiving, Phase::Stalled];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Resolving => "resolving",
            Phase::Connecting => "connecting",
            Phase::Handshake => "handshake",
            Phase::Waiting => "waiting",
            Phase::Receiving => "receiving",
            Phase::Stalled => "stalled",
        }
    }

    /// In words, for the screen.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Handshake => "TLS handshake",
            Phase::Waiting => "waiting for the first byte",
            p => p.as_str(),
        }
    }
}

/// One phase of one flow, from `start_ns` to `end_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub phase: Phase,
    pub start_ns: i64,
    pub end_ns: i64,
}

/// What a flow's phases are read from: its own times, as the session or a view's copy of it
/// holds them.
#[derive(Debug, Clone, Copy)]
pub struct Times<'a> {
    pub flow: &'a Flow,
    pub client_hello_ns: Option<i64>,
    pub server_hello_ns: Option<i64>,
    pub metrics: Option<&'a TransferMetrics>,
    /// The flow's stall, when it stalled.
    pub stall: Option<Stall>,
    /// Capture time now (the end of a flow still open).
    pub now_ns: i64,
}

impl<'a> Times<'a> {
    pub fn of(flow: &'a Flow, facts: &'a FlowFacts, now_ns: i64) -> Times<'a> {
        Times {
            flow,
            client_hello_ns: facts.tls.client_hello_ns.get(),
            server_hello_ns: facts.tls.server_hello_ns.get(),
            metrics: facts.transfer.as_deref().map(|t| &t.metrics),
            stall: stalled(flow, facts, now_ns),
            now_ns,
        }
    }
}

/// The phases of a TCP flow in time order (none for UDP): connecting from the first SYN to the
/// SYN-ACK (or on, unanswered); the TLS handshake from the ClientHello to the request (or to the
/// ServerHello if no request followed, or on, unanswered); waiting from the request to the
/// server's first data after it; receiving from then to the server's last data; stalled from
/// there to the end, when the flow stalled.
pub fn phases(t: &Times<'_>) -> Vec<Span> {
    let mut out = Vec::new();
    phases_into(t, &mut out);
    out
}

/// [`phases`] appended to `out`: a report's pulls go through every flow, and one vector for all
/// of them saves an allocation each.
pub fn phases_into(t: &Times<'_>, out: &mut Vec<Span>) {
    let flow = t.flow;
    if flow.proto != L4::Tcp {
        return;
    }
    let end = flow.tcp.close_ns().unwrap_or(t.now_ns).max(flow.last_ns);
    let mut push = |phase, start_ns: i64, end_ns: i64| {
        if end_ns >= start_ns {
            out.push(Span { phase, start_ns, end_ns });
        }
    };
    if let Some(syn) = flow.tcp.syn() {
        let answered = flow.tcp.syn_ack().map(|a| a.ts_ns);
        push(Phase::Connecting, syn.first_ns, answered.unwrap_or(end));
    }
    let request = t.metrics.and_then(|m| m.request_ns());
    let response = t.metrics.and_then(|m| m.response_ns());
    if let Some(ch) = t.client_hello_ns {
        push(Phase::Handshake, ch, request.or(t.server_hello_ns).unwrap_or(end).max(ch));
    }
    if let Some(req) = request {
        push(Phase::Waiting, req, response.unwrap_or(end));
    }
    let last = t.metrics.and_then(|m| m.last_data_down_ns());
    if let (Some(first), Some(last)) = (response, last) {
        push(Phase::Receiving, first, last);
    }
    if let Some(st) = t.stall {
        push(Phase::Stalled, st.since_ns, st.end_ns);
    }
}

/// The time in each phase of many flows together, over `[start_ns, end_ns]`: every instant is
/// counted once, for the most advanced phase any flow was in then, or as idle when none was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Breakdown {
    /// Indexed by [`Phase`] as `Phase::ALL` orders them.
    pub phase_ns: [i64; 6],
    pub idle_ns: i64,
}

/// Splits `[start_ns, end_ns]` among `spans` (a sweep over their edges).
pub fn breakdown(spans: &[Span], start_ns: i64, end_ns: i64) -> Breakdown {
    let mut edges: Vec<(i64, bool, Phase)> = Vec::with_capacity(spans.len() * 2);
    for s in spans {
        let (a, b) = (s.start_ns.max(start_ns), s.end_ns.min(end_ns));
        if b > a {
            edges.push((a, true, s.phase));
            edges.push((b, false, s.phase));
        }
    }
    edges.sort_unstable_by_key(|e| (e.0, e.1));
    let mut active = [0u32; 6];
    let mut out = Breakdown::default();
    let mut at = start_ns;
    for (t, opens, phase) in edges {
        out.add(&active, t - at);
        at = t;
        let n = &mut active[phase as usize];
        *n = if opens { *n + 1 } else { n.saturating_sub(1) };
    }
    out.add(&active, end_ns - at);
    out
}

impl Breakdown {
    fn add(&mut self, active: &[u32; 6], ns: i64) {
        if ns <= 0 {
            return;
        }
        match active.iter().rposition(|&n| n > 0) {
            Some(i) => self.phase_ns[i] += ns,
            None => self.idle_ns += ns,
        }
    }

    pub fn of(&self, p: Phase) -> i64 {
        self.phase_ns[p as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(phase: Phase, a: i64, b: i64) -> Span {
        Span { phase, start_ns: a, end_ns: b }
    }

    #[test]
    fn every_instant_counts_once_for_the_most_advanced_phase() {
        let spans = [
            span(Phase::Connecting, 10, 20),
            span(Phase::Handshake, 20, 30),
            span(Phase::Receiving, 25, 60),
            span(Phase::Connecting, 40, 50),
            span(Phase::Stalled, 60, 90),
        ];
        let b = breakdown(&spans, 0, 100);
        assert_eq!(b.of(Phase::Connecting), 10);
        assert_eq!(b.of(Phase::Handshake), 5);
        assert_eq!(b.of(Phase::Receiving), 35);
        assert_eq!(b.of(Phase::Stalled), 30);
        assert_eq!(b.idle_ns, 10 + 10);
        assert_eq!(b.phase_ns.iter().sum::<i64>() + b.idle_ns, 100);
    }

    #[test]
    fn spans_outside_the_window_are_cut_to_it() {
        let b = breakdown(&[span(Phase::Waiting, -50, 30), span(Phase::Receiving, 90, 500)], 0, 100);
        assert_eq!((b.of(Phase::Waiting), b.of(Phase::Receiving), b.idle_ns), (30, 10, 60));
    }
}
