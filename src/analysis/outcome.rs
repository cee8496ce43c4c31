//! How each flow ended: connected and carried data, or where it broke. Computed once per flow
//! (on its [`super::FlowView`]); the findings, the JSON, the ndjson events and the UI all read it.

use super::finding::FindingKind;
use crate::flow::{Close, Flow, L4};
use crate::session::FlowFacts;

/// A client that got no SYN-ACK is still "connecting" until it has retransmitted its SYN (the
/// first retransmission comes after 1 s on Linux, Windows and macOS) or this long has passed.
const CONNECT_PATIENCE_NS: i64 = 3_000_000_000;
/// A transfer silent this long while the client was owed data has stalled (README, "When a
/// pull is slow or hangs").
pub const STALL_NS: i64 = 5_000_000_000;
/// A ClientHello unanswered this long: the client's handshake timeout is near (Go's and so
/// Docker's and containerd's is 10 s).
pub const HANDSHAKE_PATIENCE_NS: i64 = 5_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Connected, payload both ways (or closed cleanly).
    Ok,
    /// SYNs never answered.
    ConnectTimeout,
    /// SYN answered by a RST.
    ConnectRefused,
    /// An ICMP destination unreachable quoted the flow.
    Unreachable,
    /// Handshake done, ClientHello sent, the server side closed (RST or FIN) before any
    /// ServerHello: an SNI-filtering firewall, usually.
    ResetAfterClientHello,
    /// A fatal TLS alert ended the handshake.
    TlsAlert,
    /// The server's certificate came from an issuer the rules do not expect for its provider.
    TlsIntercepted,
    /// An HTTP proxy answered the CONNECT with something other than 2xx.
    ProxyRefused,
    /// The server side reset the connection after data had flowed.
    Reset,
    /// ClientHello sent, no ServerHello, no refusal: the client gave up waiting (or has waited
    /// [`HANDSHAKE_PATIENCE_NS`] when the capture ended).
    HandshakeTimeout,
    /// The server's data stopped while the client was owed more, for at least [`STALL_NS`],
    /// and then the flow or the capture ended.
    Stalled,
    /// Still open (or still connecting) when the capture ended.
    Open,
}

impl Outcome {
    /// Its name: a failure reported as a finding of its own kind is named as that kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ConnectTimeout => FindingKind::ConnectTimeout.as_str(),
            Outcome::ConnectRefused => FindingKind::ConnectRefused.as_str(),
            Outcome::Unreachable => FindingKind::Unreachable.as_str(),
            Outcome::ResetAfterClientHello => FindingKind::ResetAfterClientHello.as_str(),
            Outcome::TlsAlert => FindingKind::TlsAlert.as_str(),
            Outcome::TlsIntercepted => FindingKind::TlsIntercepted.as_str(),
            Outcome::ProxyRefused => FindingKind::ProxyRefused.as_str(),
            Outcome::Reset => "reset",
            Outcome::HandshakeTimeout => "handshake-timeout",
            Outcome::Stalled => "stalled",
            Outcome::Open => "open",
        }
    }

    /// The flow did not do what it was opened for.
    pub fn failed(self) -> bool {
        !matches!(self, Outcome::Ok | Outcome::Open)
    }

    /// A word or two for a table cell or a badge.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ConnectTimeout => "no answer",
            Outcome::ConnectRefused => "refused",
            Outcome::Unreachable => "unreachable",
            Outcome::ResetAfterClientHello => "reset at hello",
            Outcome::TlsAlert => "tls alert",
            Outcome::TlsIntercepted => "intercepted",
            Outcome::ProxyRefused => "proxy refused",
            Outcome::Reset => "reset",
            Outcome::HandshakeTimeout => "hello timeout",
            Outcome::Stalled => "stalled",
            Outcome::Open => "open",
        }
    }
}

/// The outcome of `flow` as of capture time `now_ns` (the last packet seen), from what the wire
/// showed. [`Outcome::TlsIntercepted`] needs the rules, so the caller decides it.
pub fn outcome(flow: &Flow, facts: &FlowFacts, now_ns: i64) -> Outcome {
    let icmp = flow.icmp().is_some();
    if flow.proto == L4::Udp {
        return if icmp && flow.packets_down == 0 {
            Outcome::Unreachable
        } else if flow.packets_up > 0 && flow.packets_down > 0 {
            Outcome::Ok
        } else {
            Outcome::Open
        };
    }
    let t = &flow.tcp;
    let server_close = t.server_close();
    let server_reset = server_close.is_some_and(|c| c.how == Close::Rst);
    if t.syn_unanswered() {
        if server_reset {
            return Outcome::ConnectRefused;
        }
        if icmp {
            return Outcome::Unreachable;
        }
        let waited = t.syn().map_or(0, |s| now_ns.saturating_sub(s.first_ns));
        return if t.syns() >= 2 || waited >= CONNECT_PATIENCE_NS { Outcome::ConnectTimeout } else { Outcome::Open };
    }
    if icmp && flow.packets_down == 0 {
        return Outcome::Unreachable;
    }
    if let Some(h) = facts.http.as_deref().filter(|h| h.connect().is_some()) {
        if h.response.as_ref().is_some_and(|r| !(200..300).contains(&r.status)) {
            return Outcome::ProxyRefused;
        }
    }
    let tls = &facts.tls;
    // A fatal alert in clear ends a handshake on purpose: the most exact account of it.
    if tls.alerts.iter().any(|a| a.level == 2) && !handshake_done(facts) {
        return Outcome::TlsAlert;
    }
    if let Some(ch_ns) = tls.client_hello_ns.get() {
        let answered = facts.transfer.as_ref().and_then(|t| t.metrics.last_data_down_ns()).is_some_and(|p| p > ch_ns);
        if tls.server_version.is_none() && !answered {
            if let Some(close) = server_close {
                if close.ts_ns >= ch_ns {
                    return Outcome::ResetAfterClientHello;
                }
            }
        }
    }
    if handshake_timed_out(flow, facts, now_ns) {
        return Outcome::HandshakeTimeout;
    }
    if stalled(flow, facts, now_ns).is_some() {
        return Outcome::Stalled;
    }
    let both = flow.bytes_up > 0 && flow.bytes_down > 0;
    // The server aborting after data flowed. A client that closed too (before, or with its own
    // FIN or RST already in flight: after a RST arrives its socket sends nothing more) was
    // ending the connection itself, as many healthy clients do with a RST.
    if server_reset && both && t.client_close().is_none() {
        return Outcome::Reset;
    }
    if both || server_close.is_some() || t.client_close().is_some() {
        Outcome::Ok
    } else {
        Outcome::Open
    }
}

/// A ClientHello neither answered with a ServerHello nor refused, and no request after it (a
/// client cannot send one before the handshake ends), until the client closed or the capture
/// ended at least [`HANDSHAKE_PATIENCE_NS`] after it.
fn handshake_timed_out(flow: &Flow, facts: &FlowFacts, now_ns: i64) -> bool {
    let tls = &facts.tls;
    let Some(ch_ns) = tls.client_hello_ns.get() else { return false };
    if tls.server_version.is_some() || flow.tcp.server_close().is_some() || facts.quic.is_some() {
        return false;
    }
    if facts.transfer.as_ref().is_some_and(|t| t.metrics.request_ns().is_some()) {
        return false;
    }
    let end = flow.tcp.client_close().map_or(now_ns, |c| c.ts_ns);
    end - ch_ns >= HANDSHAKE_PATIENCE_NS
}

/// The server went silent while the client waited on it: the ClientHello got no answer (see
/// [`handshake_timed_out`]) or the transfer stalled. Neither comes with a packet saying so, so
/// a live capture asks this of its open flows as its clock goes on.
pub fn went_silent(flow: &Flow, facts: &FlowFacts, now_ns: i64) -> bool {
    handshake_timed_out(flow, facts, now_ns) || stalled(flow, facts, now_ns).is_some()
}

/// A stall: how it looked, for the outcome and the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// When the silence began (the server's last data, or the request that got no answer),
    /// and when the flow (or the capture) ended after it.
    pub since_ns: i64,
    pub end_ns: i64,
    pub ended_by: StallEnd,
    /// The client was owed the rest of a body (else the answer to a request).
    pub mid_body: bool,
}

/// What ended a stalled flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallEnd {
    ClientFin,
    ClientRst,
    ServerFin,
    ServerRst,
    /// Still silent when the capture ended.
    CaptureEnd,
}

impl StallEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            StallEnd::ClientFin => "client-fin",
            StallEnd::ClientRst => "client-rst",
            StallEnd::ServerFin => "server-fin",
            StallEnd::ServerRst => "server-rst",
            StallEnd::CaptureEnd => "capture-end",
        }
    }
}

/// The stall of a TCP flow whose server data stopped while the client was owed more (see
/// [`crate::session::transfer::Owed`]) and nothing came for [`STALL_NS`] before the flow
/// ended, or before `now_ns` while it is still open.
pub fn stalled(flow: &Flow, facts: &FlowFacts, now_ns: i64) -> Option<Stall> {
    use crate::session::transfer::Owed;
    // A ClientHello that got no answer is a handshake that timed out, whatever came before it:
    // its wait is the handshake's in every view, as it is in the flow's outcome.
    if handshake_timed_out(flow, facts, now_ns) {
        return None;
    }
    let t = facts.transfer.as_deref()?;
    let last = t.metrics.last_data_down_ns()?;
    let (since, mid_body) = match t.owed() {
        Owed::RestOfBody => (last, true),
        Owed::Answer(asked) => (asked, false),
        Owed::Nothing => return None,
    };
    // A side that closed before the silence began had ended the exchange: a client that had
    // left was not waiting, and one whose server had closed was told so.
    if [flow.tcp.client_close(), flow.tcp.server_close()].iter().flatten().any(|c| c.ts_ns < since) {
        return None;
    }
    let closes = [(flow.tcp.client_close(), true), (flow.tcp.server_close(), false)];
    let first_close = closes
        .iter()
        .filter_map(|&(c, client)| c.filter(|c| c.ts_ns >= since).map(|c| (c, client)))
        .min_by_key(|(c, _)| c.ts_ns);
    let (end_ns, ended_by) = match first_close {
        Some((c, true)) => (c.ts_ns, if c.how == Close::Rst { StallEnd::ClientRst } else { StallEnd::ClientFin }),
        Some((c, false)) => (c.ts_ns, if c.how == Close::Rst { StallEnd::ServerRst } else { StallEnd::ServerFin }),
        None => (now_ns, StallEnd::CaptureEnd),
    };
    (end_ns - since >= STALL_NS).then_some(Stall { since_ns: since, end_ns, ended_by, mid_body })
}

/// Whether the TLS handshake got as far as both hellos and the server's data after them (in
/// TLS 1.2 a fatal alert can still follow the ServerHello, as a client refusing a certificate
/// sends it there).
fn handshake_done(facts: &FlowFacts) -> bool {
    let tls = &facts.tls;
    tls.server_version.is_some() && tls.alerts.iter().all(|a| a.level != 2)
}

/// Milliseconds, for the JSON and the details pane.
pub fn ms(ns: i64) -> f64 {
    (ns as f64 / 1e3).round() / 1e3
}

/// What a failed connect attempt looked like: SYNs sent and the time from the first to the last.
pub fn syn_span_ns(flow: &Flow) -> i64 {
    flow.tcp.syn().map_or(0, |s| s.span_ns())
}
