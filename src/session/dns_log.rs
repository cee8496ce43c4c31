//! The DNS log: every answer seen (up to a cap), indexed by the addresses it held, and the
//! queries still waiting for an answer (a bounded table) or left without one.

use std::net::IpAddr;
use std::ops::Deref;

use rustc_hash::FxHashMap;

use crate::dissect::dns::DnsMessage;
use crate::flow::L4;

use super::Stats;

/// DNS queries waiting for an answer; older ones are dropped (and counted) beyond this.
const MAX_PENDING_QUERIES: usize = 100_000;
const NS_PER_S: i64 = 1_000_000_000;

/// A DNS response as seen on the wire.
#[derive(Debug, Clone)]
pub struct DnsAnswer {
    pub ts_ns: i64,
    pub frame: u64,
    /// The host that asked (receiver of the response).
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub transport: L4,
    pub flow: u32,
    pub msg: DnsMessage,
}

impl DnsAnswer {
    pub fn query(&self) -> &str {
        self.msg.query.as_deref().unwrap_or("")
    }

    /// Whether this answer's TTL still covered `at_ns`.
    pub fn valid_at(&self, at_ns: i64) -> bool {
        let ttl_ns = i64::from(self.msg.min_ttl.unwrap_or(0)) * NS_PER_S;
        at_ns >= self.ts_ns && at_ns <= self.ts_ns.saturating_add(ttl_ns)
    }
}

/// A DNS query that has not (yet) been answered.
#[derive(Debug, Clone)]
pub struct PendingQuery {
    pub ts_ns: i64,
    pub frame: u64,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub transport: L4,
    pub query: String,
    pub qtype: String,
}

/// What pairs a response with its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct QueryKey {
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub id: u16,
}

/// An address an answer held, and the hash of a name on its chain ([`name_key`]).
type AddrName = (IpAddr, u64);
/// The host that asked, and an address its answer held.
type AskerAddr = (IpAddr, IpAddr);
/// The host that asked, an address its answer held, and the hash of a name on its chain.
type AskerAddrName = (IpAddr, IpAddr, u64);

/// The answer could not be stored: the log holds `max_answers` already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LogFull;

/// Reads as the slice of its answers, in arrival order (the index of an answer is its id in
/// [`super::Event::Dns`] and [`super::naming::Naming::answer`]).
pub struct DnsLog {
    answers: Vec<DnsAnswer>,
    /// The capture time of each answer, packed: naming binary-searches answer lists by time,
    /// and this keeps those searches in cache.
    ts: Vec<i64>,
    /// Answer indices (in arrival order) by the addresses they hold.
    by_addr: FxHashMap<IpAddr, Vec<u32>>,
    /// Answer indices (in arrival order) by an address they hold and the hash of a name on
    /// their chain: naming a flow by its SNI looks only at these, not at every answer that
    /// held a shared front-end address.
    by_addr_name: FxHashMap<AddrName, Vec<u32>>,
    /// The same two indices for the answers given to one asker: a flow is named first from its
    /// own client's answers, and looking for them among every client's would walk the whole
    /// list for a client that never asked.
    by_asker_addr: FxHashMap<AskerAddr, Vec<u32>>,
    by_asker_addr_name: FxHashMap<AskerAddrName, Vec<u32>>,
    /// No answer arrived with an earlier capture time than the one before it: every list above
    /// is then in (time, index) order and can be searched instead of scanned.
    time_ordered: bool,
    /// The longest TTL of any answer, in nanoseconds.
    max_ttl_ns: i64,
    pending: FxHashMap<QueryKey, PendingQuery>,
    unanswered: Vec<PendingQuery>,
    /// Answers stored, and unanswered queries listed, at most.
    max_answers: usize,
}

impl Deref for DnsLog {
    type Target = [DnsAnswer];

    fn deref(&self) -> &[DnsAnswer] {
        &self.answers
    }
}

impl<'a> IntoIterator for &'a DnsLog {
    type Item = &'a DnsAnswer;
    type IntoIter = std::slice::Iter<'a, DnsAnswer>;

    fn into_iter(self) -> Self::IntoIter {
        self.answers.iter()
    }
}

impl DnsLog {
    pub(super) fn new(max_answers: usize) -> DnsLog {
        DnsLog {
            answers: Vec::new(),
            ts: Vec::new(),
            by_addr: FxHashMap::default(),
            by_addr_name: FxHashMap::default(),
            by_asker_addr: FxHashMap::default(),
            by_asker_addr_name: FxHashMap::default(),
            time_ordered: true,
            max_ttl_ns: 0,
            pending: FxHashMap::default(),
            unanswered: Vec::new(),
            max_answers,
        }
    }

    /// The answers stored at most.
    pub fn max_answers(&self) -> usize {
        self.max_answers
    }

    /// Queries never answered, in (time, frame) order once the capture has ended.
    pub fn unanswered(&self) -> &[PendingQuery] {
        &self.unanswered
    }

    /// Waits for the answer to `q`.
    pub(super) fn query(&mut self, key: QueryKey, q: PendingQuery, stats: &mut Stats) {
        if self.pending.len() >= MAX_PENDING_QUERIES {
            self.expire_pending(stats);
        }
        self.pending.insert(key, q);
    }

    /// The query a response answers waits no longer.
    pub(super) fn answered(&mut self, key: &QueryKey) {
        self.pending.remove(key);
    }

    /// Stores an answer and indexes it by the addresses it held; its index.
    pub(super) fn push(&mut self, answer: DnsAnswer) -> Result<u32, LogFull> {
        if self.answers.len() >= self.max_answers {
            return Err(LogFull);
        }
        let idx = self.answers.len() as u32;
        if self.answers.last().is_some_and(|prev| answer.ts_ns < prev.ts_ns) {
            self.time_ordered = false;
        }
        self.max_ttl_ns = self.max_ttl_ns.max(i64::from(answer.msg.min_ttl.unwrap_or(0)) * NS_PER_S);
        let push = |list: &mut Vec<u32>| {
            if list.last() != Some(&idx) {
                list.push(idx);
            }
        };
        let client = answer.client;
        let keys: Vec<u64> = answer.msg.chain.iter().map(|n| name_key(n)).collect();
        for &a in &answer.msg.addresses {
            push(self.by_addr.entry(a).or_default());
            push(self.by_asker_addr.entry((client, a)).or_default());
            for &k in &keys {
                push(self.by_addr_name.entry((a, k)).or_default());
                push(self.by_asker_addr_name.entry((client, a, k)).or_default());
            }
        }
        self.ts.push(answer.ts_ns);
        self.answers.push(answer);
        Ok(idx)
    }

    /// Moves the oldest half of the pending queries to the unanswered list.
    fn expire_pending(&mut self, stats: &mut Stats) {
        let mut all: Vec<(QueryKey, PendingQuery)> = self.pending.drain().collect();
        all.sort_by_key(|(_, q)| q.ts_ns);
        let keep = all.split_off(all.len() / 2);
        stats.dns_queries_evicted += all.len() as u64;
        self.keep_unanswered(all.into_iter().map(|(_, q)| q), stats);
        self.pending.extend(keep);
    }

    /// Adds to the unanswered list, oldest first, as long as it holds fewer than
    /// `max_answers`; the rest are only counted (`dns_queries_dropped`).
    fn keep_unanswered(&mut self, queries: impl Iterator<Item = PendingQuery>, stats: &mut Stats) {
        for q in queries {
            if self.unanswered.len() < self.max_answers {
                self.unanswered.push(q);
            } else {
                stats.dns_queries_dropped += 1;
            }
        }
    }

    /// The capture has ended: queries still waiting become unanswered.
    pub(super) fn finish(&mut self, stats: &mut Stats) {
        let mut rest: Vec<PendingQuery> = self.pending.drain().map(|(_, q)| q).collect();
        rest.sort_by_key(|q| (q.ts_ns, q.frame));
        self.keep_unanswered(rest.into_iter(), stats);
        self.unanswered.sort_by_key(|q| (q.ts_ns, q.frame));
    }

    /// Answers (indices) that held `addr`, in arrival order.
    pub fn answers_for(&self, addr: &IpAddr) -> &[u32] {
        as_slice(self.by_addr.get(addr))
    }

    /// The answers (indices, in arrival order) that held `addr` — with `name` on their chain
    /// when it is given (equal ignoring ASCII case; rarely another name of the same hash, so
    /// check) — as two lists: those given to `asker`, and those given to anyone.
    pub fn answers_for_asker(&self, asker: IpAddr, addr: IpAddr, name: Option<&str>) -> (&[u32], &[u32]) {
        match name.map(name_key) {
            Some(k) => {
                (as_slice(self.by_asker_addr_name.get(&(asker, addr, k))), as_slice(self.by_addr_name.get(&(addr, k))))
            }
            None => (as_slice(self.by_asker_addr.get(&(asker, addr))), as_slice(self.by_addr.get(&addr))),
        }
    }

    /// Whether answers arrived in capture-time order, and the longest TTL among them (ns).
    pub(crate) fn answer_order(&self) -> (bool, i64) {
        (self.time_ordered, self.max_ttl_ns)
    }

    /// The capture time of answer `i`.
    pub(crate) fn answer_ts(&self, i: u32) -> i64 {
        self.ts[i as usize]
    }
}

fn as_slice(v: Option<&Vec<u32>>) -> &[u32] {
    v.map_or(&[], |v| v.as_slice())
}

/// Hash of a host name, ignoring ASCII case: names that are equal ignoring case hash the same.
fn name_key(name: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for b in name.bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.write_usize(name.len());
    h.finish()
}
