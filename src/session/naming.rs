//! Which name a flow was opened for: for a client's CONNECT to a proxy, its target; else the SNI
//! when the ClientHello (over TCP or QUIC) had one; else the Host of a plain HTTP request; else
//! the DNS name whose answer held the server address most recently before the flow began.

use std::sync::Arc;

use serde::Serialize;

use super::{DnsAnswer, Session};
use crate::flow::Flow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameSource {
    Sni,
    /// The SNI of a ClientHello carried in QUIC Initial packets.
    QuicSni,
    /// The Host header of a plain HTTP request (no SNI).
    HttpHost,
    /// The target of the client's `CONNECT host:port` to a proxy: the flow goes to the proxy,
    /// for that name.
    HttpConnect,
    Dns,
    None,
}

impl NameSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Sni => "sni",
            NameSource::QuicSni => "quic-sni",
            NameSource::HttpHost => "http-host",
            NameSource::HttpConnect => "http-connect",
            NameSource::Dns => "dns",
            NameSource::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    pub hostname: Option<Arc<str>>,
    pub source: NameSource,
    /// The DNS answer (index into `Session::dns`) whose chain led to the server address.
    pub answer: Option<u32>,
}

impl Session {
    /// Names flow `id` from what the session holds now (call again later to use more data).
    pub fn name_flow(&self, id: u32) -> Naming {
        let Some(flow) = self.flows().get(id as usize) else {
            return Naming { hostname: None, source: NameSource::None, answer: None };
        };
        let facts = &self.facts[id as usize];
        // Behind a proxy the client resolves nothing: the proxy's address explains no name.
        if let Some((target, _)) = facts.http.as_ref().and_then(|h| h.connect()) {
            return Naming { hostname: Some(normalize(target).into()), source: NameSource::HttpConnect, answer: None };
        }
        let sni = facts.tls.client_hello.as_ref().and_then(|ch| ch.sni.as_deref()).map(normalize);
        let (named, source) = match sni {
            Some(sni) if facts.quic.is_some() => (Some(sni), NameSource::QuicSni),
            Some(sni) => (Some(sni), NameSource::Sni),
            None => {
                // An address literal in Host says nothing DNS does not say better.
                let host = facts.http.as_ref().and_then(|h| h.request.as_ref()?.host.as_deref());
                (host.filter(|h| h.parse::<std::net::IpAddr>().is_err()).map(normalize), NameSource::HttpHost)
            }
        };
        if let Some(name) = named {
            // Only a chain that starts from (or passes through) the name explains this address.
            let ids = self.dns.answers_for_asker(flow.client, flow.server, Some(&name));
            let answer = self.pick_answer(flow, ids, |a| a.msg.chain.iter().any(|n| n.eq_ignore_ascii_case(&name)));
            return Naming { hostname: Some(name.into()), source, answer };
        }
        match self
            .pick_answer(flow, self.dns.answers_for_asker(flow.client, flow.server, None), |a| !a.query().is_empty())
        {
            Some(i) => Naming {
                hostname: Some(normalize(self.dns[i as usize].query()).into()),
                source: NameSource::Dns,
                answer: Some(i),
            },
            None => Naming { hostname: None, source: NameSource::None, answer: None },
        }
    }

    /// Among the answers that held the flow's server address and pass `fits`: the latest one
    /// still valid (TTL) when the flow began, else the latest before it, else the first after.
    /// Answers given to the flow's own client are preferred at each step. `ids`: in arrival
    /// order, the answers given to the flow's client and those given to anyone that held the
    /// address and may pass `fits`.
    fn pick_answer(&self, flow: &Flow, ids: (&[u32], &[u32]), fits: impl Fn(&DnsAnswer) -> bool) -> Option<u32> {
        let (mine, all) = ids;
        if all.is_empty() {
            return None;
        }
        let start = flow.first_ns;
        let (time_ordered, max_ttl_ns) = self.dns.answer_order();
        if time_ordered {
            // The lists are in (time, index) order: the answers up to the flow's start come
            // first, the latest of them last, and only the latest TTL's worth of them can still
            // be valid.
            for (ids, same_client) in [(mine, true), (all, false)] {
                let ok = |a: &DnsAnswer| (!same_client || a.client == flow.client) && fits(a);
                let split = ids.partition_point(|&i| self.dns.answer_ts(i) <= start);
                let mut latest = None;
                for &i in ids[..split].iter().rev() {
                    let a = &self.dns[i as usize];
                    if latest.is_some() && a.ts_ns.saturating_add(max_ttl_ns) < start {
                        break;
                    }
                    if ok(a) {
                        if a.valid_at(start) {
                            return Some(i);
                        }
                        latest.get_or_insert(i);
                    }
                }
                if latest.is_some() {
                    return latest;
                }
                if let Some(&i) = ids[split..].iter().find(|&&i| ok(&self.dns[i as usize])) {
                    return Some(i);
                }
            }
            return None;
        }
        let cands = || all.iter().copied().filter(|&i| fits(&self.dns[i as usize])).map(|i| (i, &self.dns[i as usize]));
        for same_client in [true, false] {
            let mine = |a: &DnsAnswer| !same_client || a.client == flow.client;
            let before = || cands().filter(|(_, a)| a.ts_ns <= start && mine(a));
            if let Some((i, _)) = before().filter(|(_, a)| a.valid_at(start)).max_by_key(|(i, a)| (a.ts_ns, *i)) {
                return Some(i);
            }
            if let Some((i, _)) = before().max_by_key(|(i, a)| (a.ts_ns, *i)) {
                return Some(i);
            }
            if let Some((i, _)) = cands().filter(|(_, a)| a.ts_ns > start && mine(a)).min_by_key(|(i, a)| (a.ts_ns, *i))
            {
                return Some(i);
            }
        }
        None
    }
}

/// Host names compare and print lower-case, without the root dot.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}
