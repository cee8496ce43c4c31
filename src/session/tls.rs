//! The TLS side of the session: what a flow's handshake tells, read from its first records.

use std::sync::Arc;

use super::{Event, FlowFacts, FlowParsers, Session, TLS_CAP};
use crate::capture::Frame;
use crate::dissect::tls::{whole_hello, ClientHelloInfo, TlsEvent, TlsProgress, TlsReassembler};
use crate::flow::table::Observed;

/// Client segments searched for a ClientHello after a plain-text start.
const LATE_TLS_SEGMENTS: u8 = 8;

/// What the TLS handshake of a flow told.
#[derive(Debug, Clone, Default)]
pub struct TlsFacts {
    /// Shared: views of the session (the timeline's model) hold it too, copied at each build.
    pub client_hello: Option<Arc<ClientHelloInfo>>,
    pub client_hello_ns: Option<i64>,
    pub client_hello_frame: Option<u64>,
    /// Version chosen by the server (ServerHello supported_versions, else legacy).
    pub server_version: Option<u16>,
}

impl Session {
    pub(super) fn tls(&mut self, obs: &Observed<'_>, frame: &Frame<'_>) {
        let id = obs.flow as usize;
        let facts = &mut self.facts[id];
        if obs.up && facts.tls_up_done && facts.tls_late_budget > 0 && facts.tls.client_hello.is_none() {
            facts.tls_late_budget -= 1;
            if looks_like_client_hello(obs.payload) {
                facts.tls_up_done = false;
                facts.tls_late_budget = 0;
                let parsers = facts.parse.get_or_insert_with(Default::default);
                parsers.tls_up = Some(TlsReassembler::new(Some(obs.seq), TLS_CAP));
            }
        }
        if (obs.up && facts.tls_up_done) || (!obs.up && facts.tls_down_done) {
            return;
        }
        let isn = {
            let t = &self.table.flows()[id].tcp;
            if obs.up {
                t.client_isn
            } else {
                t.server_isn
            }
        }
        .map(|s| s.wrapping_add(1));
        // A whole hello in the segment that starts the stream needs no reassembler.
        let fresh = facts.parse.as_ref().is_none_or(|p| if obs.up { p.tls_up.is_none() } else { p.tls_down.is_none() });
        if fresh && isn.is_none_or(|base| base == obs.seq) {
            if let Some(ev) = whole_hello(obs.payload) {
                return self.tls_done(id, obs.up, Some(ev), frame);
            }
        }
        let parsers = facts.parse.get_or_insert_with(Default::default);
        let slot = if obs.up { &mut parsers.tls_up } else { &mut parsers.tls_down };
        let r = slot.get_or_insert_with(|| TlsReassembler::new(isn, TLS_CAP));
        let progress = r.push(obs.seq, obs.payload);
        match progress {
            TlsProgress::NeedMore => {}
            TlsProgress::NotTls => {
                if obs.up {
                    self.facts[id].tls_late_budget = LATE_TLS_SEGMENTS;
                }
                self.tls_done(id, obs.up, None, frame)
            }
            TlsProgress::Done(ev) => self.tls_done(id, obs.up, Some(ev), frame),
            TlsProgress::Malformed(why) => {
                let partial = slot_of(&mut self.facts[id], obs.up).and_then(|r| r.finish());
                self.warn_with("malformed-tls", Some(frame.number), Some(frame.offset), || {
                    format!("frame {}: TLS handshake skipped: {why}", frame.number)
                });
                self.tls_done(id, obs.up, partial, frame);
            }
        }
    }

    fn tls_done(&mut self, id: usize, up: bool, ev: Option<TlsEvent>, frame: &Frame<'_>) {
        let facts = &mut self.facts[id];
        if up {
            facts.tls_up_done = true;
        } else {
            facts.tls_down_done = true;
        }
        if let Some(p) = facts.parse.as_mut() {
            if up {
                p.tls_up = None;
            } else {
                p.tls_down = None;
            }
        }
        match ev {
            Some(TlsEvent::ClientHello(ch)) if up => {
                facts.tls.client_hello = Some(Arc::new(ch));
                facts.tls.client_hello_ns = Some(frame.ts_ns);
                facts.tls.client_hello_frame = Some(frame.number);
                self.stats.tls_client_hellos += 1;
                self.emit(Event::ClientHello(id as u32));
            }
            Some(TlsEvent::ServerHello(sh)) if !up => facts.tls.server_version = Some(sh.version),
            _ => {}
        }
    }

    /// The TLS part of [`Session::settle`]: a ClientHello cut short is read as far as it goes
    /// from the client side's reassembly state `p`, which the caller has taken from the flow.
    pub(super) fn settle_tls(&mut self, id: usize, p: &mut FlowParsers, emit: bool) {
        if self.facts[id].tls_up_done {
            return;
        }
        let Some(TlsEvent::ClientHello(ch)) = p.tls_up.take().and_then(|mut r| r.finish()) else {
            return;
        };
        let f = &self.table.flows()[id];
        let (ts, frame) = (f.last_ns, f.first_frame);
        let facts = &mut self.facts[id];
        facts.tls.client_hello = Some(Arc::new(ch));
        facts.tls.client_hello_ns = Some(ts);
        facts.tls.client_hello_frame.get_or_insert(frame);
        facts.tls_up_done = true;
        self.stats.tls_client_hellos += 1;
        if emit {
            self.emit(Event::ClientHello(id as u32));
        }
    }
}

fn slot_of(facts: &mut FlowFacts, up: bool) -> Option<&mut TlsReassembler> {
    let p = facts.parse.as_mut()?;
    if up {
        p.tls_up.as_mut()
    } else {
        p.tls_down.as_mut()
    }
}

/// A TLS record header carrying the start of a ClientHello.
fn looks_like_client_hello(p: &[u8]) -> bool {
    p.len() >= 6 && p[0] == 0x16 && p[1] == 3 && p[2] <= 4 && p[5] == 1
}
