//! QUIC flows: the client's Initial packets read for its ClientHello, which then names the flow
//! as a TLS ClientHello does (`name_source` `quic-sni`).

use std::sync::Arc;

use super::{Event, Session};
use crate::capture::Frame;
use crate::dissect::quic::{starts_with_initial, QuicProgress, QuicReader};
use crate::flow::table::Observed;

/// What the QUIC Initial packets of a flow told, beyond the ClientHello (kept in `TlsFacts`).
#[derive(Debug, Default)]
pub struct QuicFacts {
    /// Version of the first client Initial that decrypted (`0x00000001`, `0x6b3343cf`, ...).
    pub version: Option<u32>,
    /// Dropped once the ClientHello is read or given up on.
    reader: Option<QuicReader>,
}

impl Session {
    /// One UDP datagram. Costs a few compares unless it starts with a QUIC Initial of a known
    /// version, or the flow already showed one.
    pub(super) fn quic(&mut self, obs: &Observed<'_>, frame: &Frame<'_>) {
        let id = obs.flow as usize;
        let facts = &mut self.facts[id];
        let q = match facts.quic.as_deref_mut() {
            Some(q) if q.reader.is_some() => q,
            Some(_) => return,
            None => {
                if facts.tls.client_hello.is_some() || !starts_with_initial(obs.payload) {
                    return;
                }
                facts.quic.insert(Box::new(QuicFacts { version: None, reader: Some(QuicReader::new()) }))
            }
        };
        let Some(r) = q.reader.as_mut() else { return };
        let (opened, failed) = (r.opened, r.undecryptable);
        let progress = r.push(obs.payload, obs.up);
        let (opened, failed) = (r.opened - opened, r.undecryptable - failed);
        let why = r.last_error;
        q.version = r.version;
        let hello = match progress {
            QuicProgress::NeedMore => None,
            QuicProgress::Done(ch) => {
                q.reader = None;
                Some(ch)
            }
            QuicProgress::Malformed(m) => {
                let partial = r.finish();
                q.reader = None;
                self.warn_with("malformed-quic", Some(frame.number), Some(frame.offset), || {
                    format!("frame {}: QUIC ClientHello not read: {m}", frame.number)
                });
                partial
            }
            QuicProgress::NotQuic => {
                q.reader = None;
                None
            }
        };
        self.stats.quic_initials += u64::from(opened);
        if failed > 0 {
            self.stats.quic_undecryptable += u64::from(failed);
            self.warn_with("quic-undecryptable", Some(frame.number), Some(frame.offset), || {
                format!("frame {}: {}; packet skipped", frame.number, why.unwrap_or("QUIC Initial not decrypted"))
            });
        }
        if let Some(ch) = hello {
            self.quic_hello(id, ch, frame.ts_ns, Some(frame.number), true);
        }
    }

    fn quic_hello(
        &mut self,
        id: usize,
        ch: crate::dissect::tls::ClientHelloInfo,
        ts_ns: i64,
        frame: Option<u64>,
        emit: bool,
    ) {
        let tls = &mut self.facts[id].tls;
        tls.client_hello = Some(Arc::new(ch));
        tls.client_hello_ns = Some(ts_ns);
        tls.client_hello_frame = frame.or(tls.client_hello_frame);
        self.stats.quic_client_hellos += 1;
        if emit {
            self.emit(Event::ClientHello(id as u32));
        }
    }

    /// At flow end: a ClientHello whose CRYPTO data was cut short is read as far as it goes.
    /// Whether there was a reader to drop.
    pub(super) fn settle_quic(&mut self, id: usize, emit: bool) -> bool {
        let Some(mut r) = self.facts[id].quic.as_mut().and_then(|q| q.reader.take()) else {
            return false;
        };
        if self.facts[id].tls.client_hello.is_none() {
            if let Some(ch) = r.finish() {
                let f = &self.table.flows()[id];
                let (ts, first) = (f.last_ns, f.first_frame);
                self.quic_hello(id, ch, ts, Some(first), emit);
            }
        }
        true
    }
}
