//! The TLS side of the session: what a flow's handshake tells, read from its first records.

use std::sync::Arc;

use super::tracker::{Cx, Pass, PerFlow, Segment, Tracker};
use super::{Event, TLS_CAP};
use crate::capture::Frame;
use crate::compact::{FrameNo, Ns};
use crate::dissect::cert::CertInfo;
use crate::dissect::tls::{whole_hello_record, AlertMessage, ClientHelloInfo, TlsEvent, TlsProgress, TlsReassembler};

/// Client segments searched for a ClientHello after a plain-text start.
const LATE_TLS_SEGMENTS: u8 = 8;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_ALERT: u8 = 21;

/// What the TLS handshake of a flow told.
#[derive(Debug, Clone, Default)]
pub struct TlsFacts {
    /// Shared: views of the session (the timeline's model) hold it too, copied at each build.
    pub client_hello: Option<Arc<ClientHelloInfo>>,
    pub client_hello_ns: Ns,
    pub client_hello_frame: FrameNo,
    /// Version chosen by the server (ServerHello supported_versions, else legacy).
    pub server_version: Option<u16>,
    pub server_hello_ns: Ns,
    pub server_hello_frame: FrameNo,
    /// The server's leaf certificate, when it came in clear (TLS 1.2 and older; TLS 1.3
    /// encrypts it), and the frame that completed it.
    pub certificate: Option<Arc<CertInfo>>,
    pub certificate_frame: FrameNo,
    /// Alerts sent in clear either way, in capture order; the first [`MAX_FLOW_ALERTS`].
    pub alerts: Alerts,
    /// Capture time of the server's first payload (whatever it carries).
    pub server_first_payload_ns: Ns,
}

/// Alerts kept per flow: a handshake that fails shows one or two.
pub const MAX_FLOW_ALERTS: usize = 4;

/// A flow's alerts, read as a slice. Boxed behind one pointer: few flows see an alert, and
/// every flow would carry an empty vector's 24 bytes.
#[derive(Debug, Clone, Default)]
// The box is the point: one thin pointer (8 bytes) in every flow, where a `Vec` or a boxed
// slice would take 24 or 16.
#[allow(clippy::box_collection)]
pub struct Alerts(Option<Box<Vec<TlsAlert>>>);

impl Alerts {
    fn push(&mut self, a: TlsAlert) {
        self.0.get_or_insert_with(Box::default).push(a);
    }
}

impl std::ops::Deref for Alerts {
    type Target = [TlsAlert];

    fn deref(&self) -> &[TlsAlert] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

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

/// TLS over TCP: the ClientHello, ServerHello, certificate and alerts of each flow's first
/// records, read from the segment that carries them or, when split, from a reassembled stream.
#[derive(Debug, Default)]
pub(super) struct TlsTracker {
    streams: PerFlow<Streams>,
}

/// The reassembly state of a flow's sides; a side's reassembler goes when it is done.
#[derive(Debug, Default)]
struct Streams {
    up: Option<TlsReassembler>,
    down: Option<TlsReassembler>,
}

impl Streams {
    fn side(&mut self, up: bool) -> &mut Option<TlsReassembler> {
        if up {
            &mut self.up
        } else {
            &mut self.down
        }
    }
}

/// TLS reading of each side of a flow, read on every segment.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct TlsSides {
    up: TlsSide,
    down: TlsSide,
    /// The tracker has held streams for the flow.
    held: bool,
}

impl TlsSides {
    fn side(&mut self, up: bool) -> &mut TlsSide {
        if up {
            &mut self.up
        } else {
            &mut self.down
        }
    }
}

impl Tracker for TlsTracker {
    type Inline = TlsSides;

    fn tcp(&mut self, sides: &mut TlsSides, cx: &mut Cx<'_>, seg: &Segment<'_>) -> Pass {
        let up = seg.up();
        if !up {
            cx.facts.tls.server_first_payload_ns.get_or_set(seg.frame.ts_ns);
        }
        if self.late_start(sides, cx, seg) {
            self.read(sides, cx, seg);
        }
        Pass::Next
    }

    /// A ClientHello cut short is read as far as it goes.
    fn settle(&mut self, sides: &mut TlsSides, cx: &mut Cx<'_>, emit: bool) -> bool {
        let streams = self.streams.remove(cx.id);
        if !std::mem::take(&mut sides.held) {
            return false;
        }
        if sides.up.done {
            return true;
        }
        let Some(TlsEvent::ClientHello(ch)) = streams.and_then(|s| s.up).and_then(|mut r| r.finish()) else {
            return true;
        };
        let shared = cx.hellos.share(ch);
        let tls = &mut cx.facts.tls;
        tls.client_hello = Some(shared);
        tls.client_hello_ns = Ns::at(cx.flow.last_ns);
        tls.client_hello_frame.get_or_set(cx.flow.first_frame);
        sides.up.done = true;
        cx.stats.tls_client_hellos += 1;
        if emit {
            cx.emit(Event::ClientHello(cx.id));
        }
        true
    }
}

impl TlsTracker {
    /// Reads one segment of a side that is not done.
    fn read(&mut self, sides: &mut TlsSides, cx: &mut Cx<'_>, seg: &Segment<'_>) {
        let (up, frame, payload) = (seg.up(), seg.frame, seg.payload());
        let isn = cx.stream_start(up);
        // A whole hello in the segment that starts the stream needs no reassembly. What follows
        // it is read only if it is still in clear (a TLS 1.2 flight, an alert): most flows go
        // encrypted right away and never need a reassembler.
        let fresh =
            !sides.held || self.streams.get(cx.id).is_none_or(|s| if up { s.up.is_none() } else { s.down.is_none() });
        let hello_read = if up { cx.facts.tls.client_hello.is_some() } else { cx.facts.tls.server_version.is_some() };
        let mut after_hello = None;
        if fresh && hello_read {
            after_hello = Some((seg.seq(), payload));
        } else if fresh && isn.is_none_or(|base| base == seg.seq()) {
            if let Some((ev, used)) = whole_hello_record(payload) {
                let more = ev.clear_records_follow();
                on_event(cx, up, ev, frame);
                if !more {
                    return self.end(sides, cx.id, up);
                }
                match payload.get(used..) {
                    Some(rest) if !rest.is_empty() => after_hello = Some((seg.seq().wrapping_add(used as u32), rest)),
                    _ => return,
                }
            }
        }
        let (seq, payload) = after_hello.unwrap_or((seg.seq(), payload));
        if after_hello.is_some() && !matches!(payload[0], CONTENT_HANDSHAKE | CONTENT_ALERT) {
            return self.end(sides, cx.id, up);
        }
        sides.held = true;
        let slot = self.streams.get_or_insert_with(cx.id, Streams::default).side(up);
        let r = slot.get_or_insert_with(|| match after_hello {
            Some(_) => TlsReassembler::after_hello(seq, TLS_CAP),
            None => TlsReassembler::new(isn, TLS_CAP).follow(),
        });
        let progress = r.push(seq, payload);
        let events = r.take_events();
        let finished = r.is_finished();
        match progress {
            TlsProgress::NeedMore | TlsProgress::End => {}
            TlsProgress::NotTls => sides.side(up).late_budget = LATE_TLS_SEGMENTS,
            TlsProgress::Done(ev) => on_event(cx, up, ev, frame),
            TlsProgress::Malformed(why) => {
                let partial = slot.as_mut().and_then(|r| r.finish());
                cx.stats.warn_with("malformed-tls", Some(frame.number), Some(frame.offset), || {
                    format!("frame {}: TLS handshake skipped: {why}", frame.number)
                });
                if let Some(ev) = partial {
                    on_event(cx, up, ev, frame);
                }
            }
        }
        for ev in events {
            on_event(cx, up, ev, frame);
        }
        if finished {
            self.end(sides, cx.id, up);
        }
    }

    /// Nothing more is read in this direction: its reassembly state goes.
    fn end(&mut self, sides: &mut TlsSides, id: u32, up: bool) {
        sides.side(up).done = true;
        if let Some(s) = self.streams.get_mut(id) {
            *s.side(up) = None;
            if s.up.is_none() && s.down.is_none() {
                self.streams.remove(id);
            }
        }
    }

    /// Whether the segment is to be read as TLS: not when this side is done, unless a side
    /// that did not start as TLS still has late segments to look at and this one starts a
    /// hello (the reading starts again there).
    fn late_start(&mut self, sides: &mut TlsSides, cx: &Cx<'_>, seg: &Segment<'_>) -> bool {
        let up = seg.up();
        let (hello_known, looks): (_, fn(&[u8]) -> bool) = if up {
            (cx.facts.tls.client_hello.is_some(), looks_like_client_hello)
        } else {
            (cx.facts.tls.server_version.is_some(), looks_like_server_start)
        };
        let side = sides.side(up);
        if side.done && side.late_budget > 0 && !hello_known {
            side.late_budget -= 1;
            if looks(seg.payload()) {
                *side = TlsSide::default();
                sides.held = true;
                let slot = self.streams.get_or_insert_with(cx.id, Streams::default).side(up);
                *slot = Some(TlsReassembler::new(Some(seg.seq()), TLS_CAP).follow());
            }
        }
        !sides.side(up).done
    }
}

/// Keeps what one message in direction `up` (client to server) told.
fn on_event(cx: &mut Cx<'_>, up: bool, ev: TlsEvent, frame: &Frame<'_>) {
    let tls = &mut cx.facts.tls;
    match ev {
        TlsEvent::ClientHello(ch) if up => {
            tls.client_hello = Some(cx.hellos.share(ch));
            tls.client_hello_ns = Ns::at(frame.ts_ns);
            tls.client_hello_frame = FrameNo::at(frame.number);
            cx.stats.tls_client_hellos += 1;
            cx.emit(Event::ClientHello(cx.id));
        }
        TlsEvent::ServerHello(sh) if !up => {
            tls.server_version = Some(sh.version);
            tls.server_hello_ns = Ns::at(frame.ts_ns);
            tls.server_hello_frame = FrameNo::at(frame.number);
        }
        TlsEvent::Certificate(cert) if !up && tls.certificate.is_none() => {
            tls.certificate = Some(Arc::from(cert));
            tls.certificate_frame = FrameNo::at(frame.number);
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

/// TLS reading of one side of a flow.
#[derive(Debug, Default, Clone, Copy)]
struct TlsSide {
    /// Nothing more is read: the hello was read, or the side did not start as TLS.
    done: bool,
    /// Segments still looked at for a hello after a non-TLS start (SOCKS, HTTP CONNECT and
    /// STARTTLS put TLS after a plain-text exchange; a proxy answers `200 Connection
    /// established` before the ServerHello).
    late_budget: u8,
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

#[cfg(test)]
mod tests {
    /// Every flow carries these facts, TLS or not, until the report: growing them is a
    /// decision this test makes visible.
    #[test]
    fn a_flow_s_tls_facts_stay_within_their_size() {
        assert!(std::mem::size_of::<super::TlsFacts>() <= 80, "TlsFacts: {}", std::mem::size_of::<super::TlsFacts>());
    }
}
