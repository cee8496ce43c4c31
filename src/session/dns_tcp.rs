//! DNS messages into the session's [`DnsLog`]: one per UDP datagram, or several per TCP
//! connection, read by [`DnsTcpTracker`] from each direction's stream.

use super::dns_log::{self, QueryKey};
use super::tracker::{Cx, Pass, PerFlow, Segment, Tracker};
use super::{DnsAnswer, Event, PendingQuery, DNS_TCP_CAP};
use crate::dissect::dns::{DnsError, DnsMessage, DnsTcpReassembler};

/// DNS over TCP on the flows that carry DNS (see `FlowFacts::dns`).
#[derive(Debug, Default)]
pub(super) struct DnsTcpTracker {
    streams: PerFlow<Streams>,
    /// Messages one segment completed; kept to reuse its allocation.
    messages: Vec<Result<DnsMessage, DnsError>>,
}

/// The client's and the server's stream. They last as long as the flow: a connection may carry
/// any number of messages.
#[derive(Debug, Default)]
struct Streams {
    up: Option<DnsTcpReassembler>,
    down: Option<DnsTcpReassembler>,
}

/// Per flow: whether the tracker holds streams for it.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Held(bool);

impl Tracker for DnsTcpTracker {
    type Inline = Held;

    fn tcp(&mut self, held: &mut Held, cx: &mut Cx<'_>, seg: &Segment<'_>) -> Pass {
        if !cx.facts.dns {
            return Pass::Next;
        }
        let up = seg.up();
        let start = cx.stream_start(up);
        held.0 = true;
        let streams = self.streams.get_or_insert_with(cx.id, Streams::default);
        let r = if up { &mut streams.up } else { &mut streams.down };
        let r = r.get_or_insert_with(|| DnsTcpReassembler::new(start, DNS_TCP_CAP));
        let mut out = std::mem::take(&mut self.messages);
        r.push(seg.seq(), seg.payload(), &mut out);
        for m in out.drain(..) {
            read_message(cx, m, seg);
        }
        self.messages = out;
        // Port 53 carries nothing else; mDNS and LLMNR ports may also carry TLS or HTTP.
        if cx.flow.server_port == 53 {
            Pass::Stop
        } else {
            Pass::Next
        }
    }

    fn settle(&mut self, held: &mut Held, cx: &mut Cx<'_>, _emit: bool) -> bool {
        self.streams.remove(cx.id);
        std::mem::take(&mut held.0)
    }
}

/// Logs one DNS message of the segment's flow: a query waits for its answer, an answer is
/// stored (up to the log's cap) for naming.
pub(super) fn read_message(cx: &mut Cx<'_>, r: Result<DnsMessage, DnsError>, seg: &Segment<'_>) {
    let frame = seg.frame;
    let msg = match r {
        Ok(m) => m,
        Err(e) => {
            cx.stats.warn_with("malformed-dns", Some(frame.number), Some(frame.offset), || {
                format!("frame {}: DNS message skipped: {e}", frame.number)
            });
            return;
        }
    };
    let f = cx.flow;
    // The asker is the receiver of a response and the sender of a query.
    let (client, client_port, server, server_port) = if seg.up() != msg.is_response {
        (f.client, f.client_port, f.server, f.server_port)
    } else {
        (f.server, f.server_port, f.client, f.client_port)
    };
    let transport = f.proto;
    let key = QueryKey { client, client_port, server, id: msg.id };
    let (name, qtype) = (msg.query.as_deref().unwrap_or(""), msg.qtype.as_deref().unwrap_or(""));
    if !msg.is_response {
        cx.stats.dns_queries += 1;
        cx.dns.asked(name, qtype, frame.ts_ns, cx.stats);
        let query = PendingQuery {
            ts_ns: frame.ts_ns,
            frame: frame.number,
            client,
            client_port,
            server,
            server_port,
            transport,
            query: msg.query.clone().unwrap_or_default(),
            qtype: msg.qtype.clone().unwrap_or_default(),
        };
        cx.dns.query(key, query, cx.stats);
        return;
    }
    cx.stats.dns_responses += 1;
    cx.dns.answered(&key);
    let lookup = cx.dns.lookup_answered(name, qtype, frame.ts_ns);
    if !msg.complete {
        cx.stats.warn_with("truncated-dns", Some(frame.number), Some(frame.offset), || {
            format!("frame {}: DNS response cut short or unreadable in part; kept whole records", frame.number)
        });
    }
    let answer = DnsAnswer {
        ts_ns: frame.ts_ns,
        frame: frame.number,
        client,
        client_port,
        server,
        server_port,
        transport,
        flow: cx.id,
        latency_ns: lookup.latency_ns,
        queries: lookup.queries,
        msg,
    };
    match cx.dns.push(answer) {
        Ok(idx) => cx.emit(Event::Dns(idx)),
        Err(dns_log::LogFull) => {
            // Counted, not stored: the report keeps the first answers it listed.
            cx.stats.dns_answers_evicted += 1;
            if cx.stats.dns_answers_evicted == 1 {
                let max = cx.dns.max_answers();
                cx.stats.warn_with("dns-answers-capped", Some(frame.number), Some(frame.offset), || {
                    format!("frame {}: more than {max} DNS answers; later ones are counted, not stored", frame.number)
                });
            }
        }
    }
}
