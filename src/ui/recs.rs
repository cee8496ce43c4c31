//! Each flow and DNS answer copied as the timeline and the details pane need them: the
//! records both the model and the row builder read (kept apart from the model so that rows
//! depend on the records, not on the model that uses rows).

use std::net::IpAddr;
use std::sync::Arc;

use crate::dissect::tls::ClientHelloInfo;
use crate::flow::Flow;
use crate::session::activity::Activity;
use crate::session::{FlowFacts, Session, TransferMetrics};

/// Pieces a sampled byte count is spread over, between the two times it was seen at.
const SAMPLE_PIECES: i64 = 16;

/// One flow as the timeline and the details pane need it.
#[derive(Debug, Clone)]
pub struct FlowRec {
    pub flow: Flow,
    /// Bytes over capture time: the session's record when it keeps one (wire bytes; shared,
    /// not copied), else sampled here from the flow's payload counters at each build.
    pub activity: Arc<Activity>,
    pub hello: Option<Arc<ClientHelloInfo>>,
    pub hello_ns: Option<i64>,
    pub server_version: Option<u16>,
    /// QUIC version, plain HTTP and proxy CONNECT, as (label, text) for the details pane.
    pub clear_text: Option<Arc<Vec<(&'static str, String)>>>,
    /// The local process that held the socket at the first packet (live only).
    pub process: Option<Arc<crate::procs::Process>>,
    /// The server's leaf certificate when it came in clear, and the alerts seen in clear.
    pub certificate: Option<Arc<crate::dissect::cert::CertInfo>>,
    pub alerts: Vec<crate::session::TlsAlert>,
    /// How the TCP transfer went; `None` for UDP.
    pub transfer: Option<TransferMetrics>,
    pub server_hello_ns: Option<i64>,
    /// Its stall as of the build's clock, when it stalled.
    pub stall: Option<crate::analysis::outcome::Stall>,
}

impl FlowRec {
    /// What its phases are read from, as of capture time `now_ns`.
    pub fn times(&self, now_ns: i64) -> crate::analysis::phases::Times<'_> {
        crate::analysis::phases::Times {
            flow: &self.flow,
            client_hello_ns: self.hello_ns,
            server_hello_ns: self.server_hello_ns,
            metrics: self.transfer.as_ref(),
            stall: self.stall,
            now_ns,
        }
    }
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
            Some(a) => Arc::clone(a),
            None => {
                // The first sight of a flow without a record: its bytes spread evenly from its
                // first to its last packet, the best the counters can say.
                let mut a = Activity::new(f.first_ns);
                spread(&mut a, f.first_ns, f.last_ns, f.bytes());
                Arc::new(a)
            }
        };
        FlowRec {
            flow: f.clone(),
            activity,
            hello: facts.tls.client_hello.clone(),
            hello_ns: facts.tls.client_hello_ns.get(),
            server_version: facts.tls.server_version,
            clear_text: clear_text(facts, f),
            process: facts.process.clone(),
            certificate: facts.tls.certificate.clone(),
            alerts: facts.tls.alerts.to_vec(),
            transfer: facts.transfer.as_deref().map(|t| t.metrics),
            server_hello_ns: facts.tls.server_hello_ns.get(),
            stall: None,
        }
    }

    fn update(&mut self, f: &Flow, facts: &FlowFacts) {
        if self.flow.packets() != f.packets() || self.flow.tcp != f.tcp {
            match &facts.activity {
                Some(a) => {
                    if !Arc::ptr_eq(&self.activity, a) {
                        self.activity = Arc::clone(a);
                    }
                }
                // The bytes that came since the last look arrived after the last packet seen
                // then and by the last packet now.
                None => spread(
                    Arc::make_mut(&mut self.activity),
                    self.flow.last_ns,
                    f.last_ns,
                    f.bytes().saturating_sub(self.flow.bytes()),
                ),
            }
            self.flow = f.clone();
            self.transfer = facts.transfer.as_deref().map(|t| t.metrics);
            if facts.http.is_some() || facts.quic.is_some() {
                self.clear_text = clear_text(facts, f);
            }
        }
        if self.hello.is_none() && facts.tls.client_hello.is_some() {
            self.hello = facts.tls.client_hello.clone();
            self.hello_ns = facts.tls.client_hello_ns.get();
        }
        self.server_version = facts.tls.server_version;
        self.server_hello_ns = facts.tls.server_hello_ns.get();
        if self.process.is_none() {
            self.process.clone_from(&facts.process);
        }
        if self.certificate.is_none() && facts.tls.certificate.is_some() {
            self.certificate.clone_from(&facts.tls.certificate);
        }
        if self.alerts.len() != facts.tls.alerts.len() {
            self.alerts = facts.tls.alerts.to_vec();
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
    /// The DNS flow that carried it (whose process asked).
    pub flow: u32,
}

/// Brings the flow records up to date with the session's flows.
pub(super) fn update_recs(recs: &mut Vec<FlowRec>, s: &Session) {
    recs.reserve(s.flows().len().saturating_sub(recs.len()));
    let now = s.now_ns().unwrap_or(0);
    for (i, f) in s.flows().iter().enumerate() {
        let facts = s.flow(i as u32).facts;
        let r = match recs.get_mut(i) {
            Some(r) => {
                r.update(f, facts);
                r
            }
            None => {
                recs.push(FlowRec::new(f, facts));
                &mut recs[i]
            }
        };
        // A stall grows with the clock, packet or not.
        r.stall = crate::analysis::outcome::stalled(f, facts, now);
    }
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
