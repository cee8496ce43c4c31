//! The TLS side of the session: what a flow's handshake tells, read from its first records.

use std::sync::Arc;

use super::{Event, FlowFacts, FlowParsers, Session, TLS_CAP};
use crate::capture::Frame;
use crate::dissect::cert::CertInfo;
use crate::dissect::tls::{whole_hello_record, AlertMessage, ClientHelloInfo, TlsEvent, TlsProgress, TlsReassembler};
use crate::flow::table::Observed;

/// Client segments searched for a ClientHello after a plain-text start.
const LATE_TLS_SEGMENTS: u8 = 8;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_ALERT: u8 = 21;

/// What the TLS handshake of a flow told.
#[derive(Debug, Clone, Default)]
pub struct TlsFacts {
    /// Shared: views of the session (the timeline's model) hold it too, copied at each build.
    pub client_hello: Option<Arc<ClientHelloInfo>>,
    pub client_hello_ns: Option<i64>,
    pub client_hello_frame: Option<u64>,
    /// Version chosen by the server (ServerHello supported_versions, else legacy).
    pub server_version: Option<u16>,
    pub server_hello_ns: Option<i64>,
    pub server_hello_frame: Option<u64>,
    /// The server's leaf certificate, when it came in clear (TLS 1.2 and older; TLS 1.3
    /// encrypts it), and the frame that completed it.
    pub certificate: Option<Arc<CertInfo>>,
    pub certificate_frame: Option<u64>,
    /// Alerts sent in clear either way, in capture order; the first [`MAX_FLOW_ALERTS`].
    pub alerts: Vec<TlsAlert>,
    /// Capture time of the server's first payload (whatever it carries).
    pub server_first_payload_ns: Option<i64>,
}

/// Alerts kept per flow: a handshake that fails shows one or two.
pub const MAX_FLOW_ALERTS: usize = 4;

/// An alert seen in clear on a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsAlert {
    pub frame: u64,
    pub ts_ns: i64,
    pub from_client: bool,
    /// 1 warning, 2 fatal.
    pub level: u8,
    /// The description code (42 for bad_certificate).
    pub code: u8,
}

impl TlsAlert {
    /// `warning`, `fatal` (or `unknown`).
    pub fn level_name(&self) -> &'static str {
        self.message().level_name()
    }

    /// The registry's name of the description, e.g. `bad_certificate`.
    pub fn description(&self) -> &'static str {
        self.message().description_name()
    }

    fn message(&self) -> AlertMessage {
        AlertMessage { level: self.level, description: self.code }
    }
}

impl Session {
    pub(super) fn tls(&mut self, obs: &Observed<'_>, frame: &Frame<'_>) {
        let id = obs.flow as usize;
        let up = obs.up;
        let facts = &mut self.facts[id];
        if !up {
            facts.tls.server_first_payload_ns.get_or_insert(frame.ts_ns);
        }
        if !late_start(facts, up, obs) {
            return;
        }
        let isn = {
            let t = &self.table.flows()[id].tcp;
            if up {
                t.client_isn()
            } else {
                t.server_isn()
            }
        }
        .map(|s| s.wrapping_add(1));
        // A whole hello in the segment that starts the stream needs no reassembly. What follows
        // it is read only if it is still in clear (a TLS 1.2 flight, an alert): most flows go
        // encrypted right away and never need a reassembler.
        let fresh = facts.parse.as_ref().is_none_or(|p| if up { p.tls_up.is_none() } else { p.tls_down.is_none() });
        let hello_read = if up { facts.tls.client_hello.is_some() } else { facts.tls.server_version.is_some() };
        let mut after_hello = None;
        if fresh && hello_read {
            after_hello = Some((obs.seq(), obs.payload));
        } else if fresh && isn.is_none_or(|base| base == obs.seq()) {
            if let Some((ev, used)) = whole_hello_record(obs.payload) {
                let more = ev.clear_records_follow();
                self.on_tls_event(id, up, ev, frame);
                if !more {
                    return self.tls_end(id, up);
                }
                match obs.payload.get(used..) {
                    Some(rest) if !rest.is_empty() => after_hello = Some((obs.seq().wrapping_add(used as u32), rest)),
                    _ => return,
                }
            }
        }
        let (seq, payload) = after_hello.unwrap_or((obs.seq(), obs.payload));
        if after_hello.is_some() && !matches!(payload[0], CONTENT_HANDSHAKE | CONTENT_ALERT) {
            return self.tls_end(id, up);
        }
        let parsers = self.facts[id].parse.get_or_insert_with(Default::default);
        let slot = if up { &mut parsers.tls_up } else { &mut parsers.tls_down };
        let r = slot.get_or_insert_with(|| match after_hello {
            Some(_) => TlsReassembler::after_hello(seq, TLS_CAP),
            None => TlsReassembler::new(isn, TLS_CAP).follow(),
        });
        let progress = r.push(seq, payload);
        let events = r.take_events();
        let finished = r.is_finished();
        match progress {
            TlsProgress::NeedMore | TlsProgress::End => {}
            TlsProgress::NotTls => self.facts[id].tls_side(up).late_budget = LATE_TLS_SEGMENTS,
            TlsProgress::Done(ev) => self.on_tls_event(id, up, ev, frame),
            TlsProgress::Malformed(why) => {
                let partial = slot_of(&mut self.facts[id], up).and_then(|r| r.finish());
                self.warn_with("malformed-tls", Some(frame.number), Some(frame.offset), || {
                    format!("frame {}: TLS handshake skipped: {why}", frame.number)
                });
                if let Some(ev) = partial {
                    self.on_tls_event(id, up, ev, frame);
                }
            }
        }
        for ev in events {
            self.on_tls_event(id, up, ev, frame);
        }
        if finished {
            self.tls_end(id, up);
        }
    }

    /// Nothing more is read in this direction: its reassembly state goes.
    fn tls_end(&mut self, id: usize, up: bool) {
        let facts = &mut self.facts[id];
        facts.tls_side(up).done = true;
        if let Some(p) = facts.parse.as_mut() {
            if up {
                p.tls_up = None;
            } else {
                p.tls_down = None;
            }
        }
    }

    /// Keeps what one message in direction `up` (client to server) told.
    fn on_tls_event(&mut self, id: usize, up: bool, ev: TlsEvent, frame: &Frame<'_>) {
        let tls = &mut self.facts[id].tls;
        match ev {
            TlsEvent::ClientHello(ch) if up => {
                tls.client_hello = Some(Arc::new(ch));
                tls.client_hello_ns = Some(frame.ts_ns);
                tls.client_hello_frame = Some(frame.number);
                self.stats.tls_client_hellos += 1;
                self.emit(Event::ClientHello(id as u32));
            }
            TlsEvent::ServerHello(sh) if !up => {
                tls.server_version = Some(sh.version);
                tls.server_hello_ns = Some(frame.ts_ns);
                tls.server_hello_frame = Some(frame.number);
            }
            TlsEvent::Certificate(cert) if !up && tls.certificate.is_none() => {
                tls.certificate = Some(Arc::from(cert));
                tls.certificate_frame = Some(frame.number);
            }
            TlsEvent::Alert(a) if tls.alerts.len() < MAX_FLOW_ALERTS => tls.alerts.push(TlsAlert {
                frame: frame.number,
                ts_ns: frame.ts_ns,
                from_client: up,
                level: a.level,
                code: a.description,
            }),
            _ => {}
        }
    }

    /// The TLS part of [`Session::settle`]: a ClientHello cut short is read as far as it goes
    /// from the client side's reassembly state `p`, which the caller has taken from the flow.
    pub(super) fn settle_tls(&mut self, id: usize, p: &mut FlowParsers, emit: bool) {
        if self.facts[id].tls_up.done {
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
        facts.tls_up.done = true;
        self.stats.tls_client_hellos += 1;
        if emit {
            self.emit(Event::ClientHello(id as u32));
        }
    }
}

/// TLS reading of one side of a flow.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct TlsSide {
    /// Nothing more is read: the hello was read, or the side did not start as TLS.
    done: bool,
    /// Segments still looked at for a hello after a non-TLS start (SOCKS, HTTP CONNECT and
    /// STARTTLS put TLS after a plain-text exchange; a proxy answers `200 Connection
    /// established` before the ServerHello).
    late_budget: u8,
}

impl FlowFacts {
    fn tls_side(&mut self, up: bool) -> &mut TlsSide {
        if up {
            &mut self.tls_up
        } else {
            &mut self.tls_down
        }
    }
}

/// Whether the segment is to be read as TLS: not when this side is done, unless a side that
/// did not start as TLS still has late segments to look at and this one starts a hello (the
/// reading starts again there).
fn late_start(facts: &mut FlowFacts, up: bool, obs: &Observed<'_>) -> bool {
    let (side, hello_known, looks): (_, _, fn(&[u8]) -> bool) = if up {
        (&mut facts.tls_up, facts.tls.client_hello.is_some(), looks_like_client_hello)
    } else {
        (&mut facts.tls_down, facts.tls.server_version.is_some(), looks_like_server_start)
    };
    if side.done && side.late_budget > 0 && !hello_known {
        side.late_budget -= 1;
        if looks(obs.payload) {
            *side = TlsSide::default();
            let parsers = facts.parse.get_or_insert_with(Default::default);
            let slot = if up { &mut parsers.tls_up } else { &mut parsers.tls_down };
            *slot = Some(TlsReassembler::new(Some(obs.seq()), TLS_CAP).follow());
        }
    }
    !side.done
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

/// A TLS record header carrying the start of a ServerHello, or an alert in clear (a server
/// refusing the ClientHello).
fn looks_like_server_start(p: &[u8]) -> bool {
    let tls_record = |ty: u8| p.len() >= 6 && p[0] == ty && p[1] == 3 && p[2] <= 4;
    (tls_record(0x16) && p[5] == 2) || (tls_record(0x15) && p[3] == 0 && p[4] == 2 && matches!(p[5], 1 | 2))
}
