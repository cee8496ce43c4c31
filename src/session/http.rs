//! Plain HTTP/1.x on any TCP port: the first request and the first response of a flow, and the
//! CONNECT of a client to its proxy. A flow's Host names it when it has no SNI (`http-host`);
//! a CONNECT names it by its target (`http-connect`).

use super::Session;
use crate::capture::Frame;
use crate::dissect::http::{looks_like_request, looks_like_response, Head, HeadProgress, HeadReader};
pub use crate::dissect::http::{Request, Response};
use crate::flow::table::Observed;

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
    up: Side,
    down: Side,
    /// Heads read past the first, on a CONNECT connection.
    again: u8,
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

    fn reading(&self) -> bool {
        !matches!((&self.up, &self.down), (Side::Done, Side::Done))
    }
}

impl Session {
    /// One TCP segment with payload. Costs nothing on a flow that has a TLS ClientHello and no
    /// HTTP start, and a few compares on the first segment of any other.
    pub(super) fn http(&mut self, obs: &Observed<'_>, frame: &Frame<'_>) {
        let id = obs.flow as usize;
        let facts = &mut self.facts[id];
        if facts.http.as_ref().is_some_and(|h| !h.reading()) {
            return;
        }
        if facts.http.is_none() && facts.tls.client_hello.is_some() {
            return;
        }
        let t = &self.table.flows()[id].tcp;
        let start = if obs.up { t.client_isn() } else { t.server_isn() }.map(|s| s.wrapping_add(1));
        let looks = |p: &[u8]| if obs.up { looks_like_request(p) } else { looks_like_response(p) };
        let h = match facts.http.as_deref_mut() {
            Some(h) => h,
            None => {
                if start.is_some_and(|s| s != obs.seq()) || !looks(obs.payload) {
                    return;
                }
                facts.http.insert(Box::default())
            }
        };
        let side = if obs.up { &mut h.up } else { &mut h.down };
        if matches!(side, Side::Waiting) {
            *side = if looks(obs.payload) || start.is_some_and(|s| s != obs.seq()) {
                Side::Reading(HeadReader::new(start))
            } else {
                Side::Done
            };
        }
        let Side::Reading(r) = side else { return };
        let progress = r.push(obs.seq(), obs.payload);
        if progress == HeadProgress::NeedMore {
            return;
        }
        let end = r.head_end_seq();
        *side = Side::Done;
        // On a CONNECT connection the next head may follow: the client asks again (with
        // credentials) after a refusal, and the proxy answers again.
        let connect =
            h.connect().is_some() || matches!(&progress, HeadProgress::Done(Head::Request(q)) if q.connect.is_some());
        if connect && h.again < MAX_CONNECT_EXCHANGES {
            let next = match &progress {
                HeadProgress::Done(Head::Request(_)) if obs.up => end,
                HeadProgress::Done(Head::Response(s)) if !obs.up && !(200..300).contains(&s.status) => {
                    end.map(|e| e.wrapping_add(s.content_length.unwrap_or(0).min(u64::from(u32::MAX >> 1)) as u32))
                }
                _ => None,
            };
            if let Some(next) = next {
                h.again += 1;
                let side = if obs.up { &mut h.up } else { &mut h.down };
                *side = Side::Reading(HeadReader::new(Some(next)));
            }
        }
        match progress {
            HeadProgress::Done(Head::Request(q)) if obs.up && h.request.is_none() => {
                h.request = Some(q);
                h.request_ns = frame.ts_ns;
                h.request_frame = frame.number;
                self.stats.http_requests += 1;
            }
            HeadProgress::Done(Head::Response(s)) if !obs.up => {
                if h.response.is_none() {
                    self.stats.http_responses += 1;
                }
                if h.response.is_none() || connect {
                    h.response = Some(s);
                    h.response_ns = frame.ts_ns;
                    h.response_frame = frame.number;
                }
            }
            HeadProgress::TooLong => {
                self.stats.http_heads_too_long += 1;
                self.warn_with("http-head-too-long", Some(frame.number), Some(frame.offset), || {
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

    /// Drops the head readers of flow `id`. Whether there were any.
    pub(super) fn settle_http(&mut self, id: usize) -> bool {
        let Some(h) = self.facts[id].http.as_deref_mut() else { return false };
        let had = h.reading();
        for side in [&mut h.up, &mut h.down] {
            *side = Side::Done;
        }
        had
    }
}
