//! Plain HTTP/1.x on any TCP port: the first request and the first response of a flow, and the
//! CONNECT of a client to its proxy. A flow's Host names it when it has no SNI (`http-host`);
//! a CONNECT names it by its target (`http-connect`).

use super::tracker::{Cx, Pass, PerFlow, Segment, Tracker};
use crate::dissect::http::{looks_like_request, looks_like_response, Head, HeadProgress, HeadReader};
pub use crate::dissect::http::{Request, Response};

/// CONNECT exchanges followed on one connection: a proxy asking for credentials (407) is
/// usually asked again on the same connection, and its last answer is the one that counts.
const MAX_CONNECT_EXCHANGES: u8 = 4;

/// The HTTP heads of a flow. The query string of the path is never kept (see
/// [`crate::dissect::http`]).
#[derive(Debug, Default)]
pub struct HttpFacts {
    pub request: Option<Request>,
    pub request_ns: i64,
    pub request_frame: u64,
    /// The first response; for a CONNECT, the proxy's last answer (after a 407 the client may
    /// ask again with credentials on the same connection).
    pub response: Option<Response>,
    pub response_ns: i64,
    pub response_frame: u64,
}

/// The reading of a flow's heads, dropped once both sides are done.
#[derive(Debug, Default)]
struct Reading {
    up: Side,
    down: Side,
    /// Heads read past the first, on a CONNECT connection.
    again: u8,
}

impl Reading {
    fn side(&mut self, up: bool) -> &mut Side {
        if up {
            &mut self.up
        } else {
            &mut self.down
        }
    }
}

#[derive(Debug, Default)]
enum Side {
    /// Not started: waiting for the first segment of this direction.
    #[default]
    Waiting,
    Reading(HeadReader),
    Done,
}

impl HttpFacts {
    /// The CONNECT target (host, port), when the flow is a client's tunnel through a proxy.
    pub fn connect(&self) -> Option<(&str, u16)> {
        self.request.as_ref()?.connect.as_ref().map(|(h, p)| (h.as_str(), *p))
    }

    /// The proxy answered the CONNECT with a 2xx: what follows is the tunnelled stream.
    pub fn tunnel_open(&self) -> bool {
        self.connect().is_some() && self.response.as_ref().is_some_and(|r| (200..300).contains(&r.status))
    }
}

/// Plain HTTP/1.x heads on TCP flows that start with one.
#[derive(Debug, Default)]
pub(super) struct HttpTracker {
    reading: PerFlow<Reading>,
}

/// Per flow: the tracker is still reading heads.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Reads(bool);

impl Tracker for HttpTracker {
    type Inline = Reads;

    /// Costs nothing on a flow that has a TLS ClientHello and no HTTP start, and a few compares
    /// on the first segment of any other.
    fn tcp(&mut self, reads: &mut Reads, cx: &mut Cx<'_>, seg: &Segment<'_>) -> Pass {
        let started = cx.facts.http.is_some();
        if (started && !reads.0) || (!started && cx.facts.tls.client_hello.is_some()) {
            return Pass::Next;
        }
        let up = seg.up();
        let start = cx.stream_start(up);
        let looks = |p: &[u8]| if up { looks_like_request(p) } else { looks_like_response(p) };
        if !started {
            if start.is_some_and(|s| s != seg.seq()) || !looks(seg.payload()) {
                return Pass::Next;
            }
            cx.facts.http = Some(Box::default());
            reads.0 = true;
        }
        let r = self.reading.get_or_insert_with(cx.id, Reading::default);
        let side = r.side(up);
        if matches!(side, Side::Waiting) {
            *side = if looks(seg.payload()) || start.is_some_and(|s| s != seg.seq()) {
                Side::Reading(HeadReader::new(start))
            } else {
                Side::Done
            };
        }
        let progress = match side {
            Side::Reading(h) => match h.push(seg.seq(), seg.payload()) {
                HeadProgress::NeedMore => None,
                p => Some((p, h.head_end_seq())),
            },
            _ => None,
        };
        if let Some((progress, end)) = progress {
            *side = Side::Done;
            read_head(r, cx, seg, progress, end);
        }
        if matches!((&r.up, &r.down), (Side::Done, Side::Done)) {
            self.reading.remove(cx.id);
            reads.0 = false;
        }
        Pass::Next
    }

    fn settle(&mut self, reads: &mut Reads, cx: &mut Cx<'_>, _emit: bool) -> bool {
        self.reading.remove(cx.id);
        std::mem::take(&mut reads.0)
    }
}

/// Keeps a head one side completed (its stream position `end`), and on a CONNECT connection
/// gets ready for the next.
fn read_head(r: &mut Reading, cx: &mut Cx<'_>, seg: &Segment<'_>, progress: HeadProgress, end: Option<u32>) {
    let (up, frame) = (seg.up(), seg.frame);
    let Some(h) = cx.facts.http.as_deref_mut() else { return };
    // On a CONNECT connection the next head may follow: the client asks again (with
    // credentials) after a refusal, and the proxy answers again.
    let connect =
        h.connect().is_some() || matches!(&progress, HeadProgress::Done(Head::Request(q)) if q.connect.is_some());
    if connect && r.again < MAX_CONNECT_EXCHANGES {
        let next = match &progress {
            HeadProgress::Done(Head::Request(_)) if up => end,
            HeadProgress::Done(Head::Response(s)) if !up && !(200..300).contains(&s.status) => {
                end.map(|e| e.wrapping_add(s.content_length.unwrap_or(0).min(u64::from(u32::MAX >> 1)) as u32))
            }
            _ => None,
        };
        if let Some(next) = next {
            r.again += 1;
            *r.side(up) = Side::Reading(HeadReader::new(Some(next)));
        }
    }
    match progress {
        HeadProgress::Done(Head::Request(q)) if up && h.request.is_none() => {
            h.request = Some(q);
            h.request_ns = frame.ts_ns;
            h.request_frame = frame.number;
            cx.stats.http_requests += 1;
        }
        HeadProgress::Done(Head::Response(s)) if !up => {
            if h.response.is_none() {
                cx.stats.http_responses += 1;
            }
            if h.response.is_none() || connect {
                h.response = Some(s);
                h.response_ns = frame.ts_ns;
                h.response_frame = frame.number;
            }
        }
        HeadProgress::TooLong => {
            cx.stats.http_heads_too_long += 1;
            cx.stats.warn_with("http-head-too-long", Some(frame.number), Some(frame.offset), || {
                format!(
                    "frame {}: HTTP head longer than {} bytes (or its start missing); not read",
                    frame.number,
                    crate::dissect::http::HEAD_CAP
                )
            });
        }
        _ => {}
    }
}
