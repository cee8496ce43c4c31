//! QUIC flows: the client's Initial packets read for its ClientHello, which then names the flow
//! as a TLS ClientHello does (`name_source` `quic-sni`).

use super::tracker::{Cx, Pass, PerFlow, Segment, Tracker};
use super::Event;
use crate::compact::{FrameNo, Ns};
use crate::dissect::quic::{starts_with_initial, QuicProgress, QuicReader};
use crate::dissect::tls::ClientHelloInfo;

/// What the QUIC Initial packets of a flow told, beyond the ClientHello (kept in `TlsFacts`).
#[derive(Debug, Default)]
pub struct QuicFacts {
    /// Version of the first client Initial that decrypted (`0x00000001`, `0x6b3343cf`, ...).
    pub version: Option<u32>,
}

/// The client's Initial packets of UDP flows that start with one.
#[derive(Debug, Default)]
pub(super) struct QuicTracker {
    /// Dropped once the ClientHello is read or given up on.
    readers: PerFlow<QuicReader>,
}

/// Per flow: the tracker is still reading Initials.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Reads(bool);

impl Tracker for QuicTracker {
    type Inline = Reads;

    /// Costs a few compares unless the datagram starts with a QUIC Initial of a known version,
    /// or the flow already showed one.
    fn udp(&mut self, reads: &mut Reads, cx: &mut Cx<'_>, seg: &Segment<'_>) -> Pass {
        if cx.facts.quic.is_some() {
            if !reads.0 {
                return Pass::Next;
            }
        } else {
            if cx.facts.tls.client_hello.is_some() || !starts_with_initial(seg.payload()) {
                return Pass::Next;
            }
            cx.facts.quic = Some(Box::default());
            reads.0 = true;
        }
        let r = self.readers.get_or_insert_with(cx.id, QuicReader::new);
        let (opened, failed) = (r.opened, r.undecryptable);
        let progress = r.push(seg.payload(), seg.up());
        let (opened, failed) = (r.opened - opened, r.undecryptable - failed);
        let why = r.last_error;
        if let Some(q) = cx.facts.quic.as_deref_mut() {
            q.version = r.version;
        }
        let frame = seg.frame;
        let done = !matches!(progress, QuicProgress::NeedMore);
        let hello = match progress {
            QuicProgress::NeedMore => None,
            QuicProgress::Done(ch) => Some(ch),
            QuicProgress::Malformed(m) => {
                let partial = r.finish();
                cx.stats.warn_with("malformed-quic", Some(frame.number), Some(frame.offset), || {
                    format!("frame {}: QUIC ClientHello not read: {m}", frame.number)
                });
                partial
            }
            QuicProgress::NotQuic => None,
        };
        if done {
            self.readers.remove(cx.id);
            reads.0 = false;
        }
        cx.stats.quic_initials += u64::from(opened);
        if failed > 0 {
            cx.stats.quic_undecryptable += u64::from(failed);
            cx.stats.warn_with("quic-undecryptable", Some(frame.number), Some(frame.offset), || {
                format!("frame {}: {}; packet skipped", frame.number, why.unwrap_or("QUIC Initial not decrypted"))
            });
        }
        if let Some(ch) = hello {
            hello_read(cx, ch, frame.ts_ns, Some(frame.number), true);
        }
        Pass::Next
    }

    /// A ClientHello whose CRYPTO data was cut short is read as far as it goes.
    fn settle(&mut self, reads: &mut Reads, cx: &mut Cx<'_>, emit: bool) -> bool {
        let Some(mut r) = self.readers.remove(cx.id) else {
            return false;
        };
        reads.0 = false;
        if cx.facts.tls.client_hello.is_none() {
            if let Some(ch) = r.finish() {
                let (ts, first) = (cx.flow.last_ns, cx.flow.first_frame);
                hello_read(cx, ch, ts, Some(first), emit);
            }
        }
        true
    }
}

fn hello_read(cx: &mut Cx<'_>, ch: ClientHelloInfo, ts_ns: i64, frame: Option<u64>, emit: bool) {
    let shared = cx.hellos.share(ch);
    let tls = &mut cx.facts.tls;
    tls.client_hello = Some(shared);
    tls.client_hello_ns = Ns::at(ts_ns);
    if let Some(n) = frame {
        tls.client_hello_frame = FrameNo::at(n);
    }
    cx.stats.quic_client_hellos += 1;
    if emit {
        cx.emit(Event::ClientHello(cx.id));
    }
}
