//! The DNS log: every answer seen (up to a cap), indexed by the addresses it held, the
//! queries still waiting for an answer (a bounded table) or left without one, and the lookups
//! (a name and type asked since its last answer, another bounded table) that time each answer.

use std::net::IpAddr;
use std::ops::Deref;

use rustc_hash::FxHashMap;

use crate::dissect::dns::DnsMessage;
use crate::flow::L4;

use super::Stats;

/// DNS queries waiting for an answer; older ones are dropped (and counted) beyond this.
const MAX_PENDING_QUERIES: usize = 100_000;
/// Names and types asked and not answered since; the oldest half is dropped (and counted in
/// `dns_lookups_evicted`) beyond this, and their answers, if they come, show no latency.
const MAX_OPEN_LOOKUPS: usize = 100_000;
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
    /// From the lookup's first query to this answer; meaningless when `queries` is 0.
    pub(super) latency_ns: i64,
    /// The queries of this lookup: those for the same name (ignoring case) and type since the
    /// previous answer for them, by anyone, with any id; 0 when none was seen.
    pub queries: u32,
    pub msg: DnsMessage,
}

impl DnsAnswer {
    pub fn query(&self) -> &str {
        self.msg.query.as_deref().unwrap_or("")
    }

    /// From the first query of this answer's lookup to the answer; None when no query of it
    /// was seen (the capture began after it, or it was dropped from the bounded table).
    pub fn latency_ns(&self) -> Option<i64> {
        (self.queries > 0).then_some(self.latency_ns)
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

/// A lookup under way: a name and type asked since the last answer for them.
#[derive(Debug, Clone)]
struct OpenLookup {
    /// Checked, since the table is keyed by a hash ([`lookup_key`]).
    name: Box<str>,
    qtype: Box<str>,
    first_query_ns: i64,
    queries: u32,
}

/// What an answer's lookup took: see [`DnsAnswer::latency_ns`] and [`DnsAnswer::queries`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct LookupTiming {
    pub latency_ns: i64,
    pub queries: u32,
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
    /// Lookups under way, by [`lookup_key`] of their name and type.
    lookups: FxHashMap<u64, OpenLookup>,
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
            lookups: FxHashMap::default(),
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

    /// A query for `name` and `qtype` at `ts_ns`: the first one since their last answer starts a
    /// lookup, the others (retries, other askers, other ids) count in it.
    pub(super) fn asked(&mut self, name: &str, qtype: &str, ts_ns: i64, stats: &mut Stats) {
        let key = lookup_key(name, qtype);
        if let Some(l) = self.lookups.get_mut(&key) {
            if l.name.eq_ignore_ascii_case(name) && *l.qtype == *qtype {
                l.queries = l.queries.saturating_add(1);
                return;
            }
        } else if self.lookups.len() >= MAX_OPEN_LOOKUPS {
            self.expire_lookups(stats);
        }
        // A new lookup, or another name of the same hash: the older one loses its start (its
        // answer shows no latency) rather than being timed by another name's queries.
        let l = OpenLookup { name: name.into(), qtype: qtype.into(), first_query_ns: ts_ns, queries: 1 };
        self.lookups.insert(key, l);
    }

    /// An answer for `name` and `qtype` at `ts_ns` ends their lookup: its timing, or the
    /// default (no query seen) without one.
    pub(super) fn lookup_answered(&mut self, name: &str, qtype: &str, ts_ns: i64) -> LookupTiming {
        let key = lookup_key(name, qtype);
        match self.lookups.get(&key) {
            Some(l) if l.name.eq_ignore_ascii_case(name) && *l.qtype == *qtype => {
                let t = LookupTiming { latency_ns: ts_ns.saturating_sub(l.first_query_ns), queries: l.queries };
                self.lookups.remove(&key);
                t
            }
            _ => LookupTiming::default(),
        }
    }

    /// Drops the oldest half of the lookups under way.
    fn expire_lookups(&mut self, stats: &mut Stats) {
        let mut starts: Vec<(i64, u64)> = self.lookups.iter().map(|(&k, l)| (l.first_query_ns, k)).collect();
        let half = starts.len() / 2;
        if half == 0 {
            return;
        }
        starts.select_nth_unstable(half - 1);
        for (_, k) in &starts[..half] {
            self.lookups.remove(k);
        }
        stats.dns_lookups_evicted += half as u64;
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

/// Hash of a lookup's name (ignoring ASCII case) and type.
fn lookup_key(name: &str, qtype: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write_u64(name_key(name));
    h.write(qtype.as_bytes());
    h.write_usize(qtype.len());
    h.finish()
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

#[cfg(test)]
mod tests {
    //! Lookup timing, from DNS messages in UDP packets built by hand.

    use crate::session::Session;

    const CLIENT: [u8; 4] = [10, 0, 0, 1];
    const RESOLVER: [u8; 4] = [10, 0, 0, 53];
    const A: u16 = 1;
    const AAAA: u16 = 28;

    /// A DNS message with one question and no records: a query, or an answer to it.
    fn message(id: u16, response: bool, name: &str, qtype: u16) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(if response { &[0x81, 0x80] } else { &[0x01, 0x00] });
        m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    /// One packet of the test: at `ms` milliseconds, from the client's `port` (a query) or to
    /// it (an answer).
    struct Msg {
        ms: i64,
        port: u16,
        id: u16,
        response: bool,
        name: &'static str,
        qtype: u16,
    }

    fn query(ms: i64, port: u16, id: u16, name: &'static str, qtype: u16) -> Msg {
        Msg { ms, port, id, response: false, name, qtype }
    }

    fn answer(ms: i64, port: u16, id: u16, name: &'static str, qtype: u16) -> Msg {
        Msg { ms, port, id, response: true, name, qtype }
    }

    /// The session after these messages: its answers' (latency in ms, queries), in order.
    fn timings(msgs: &[Msg]) -> Vec<(Option<f64>, u32)> {
        let mut s = Session::default();
        for (i, m) in msgs.iter().enumerate() {
            let payload = message(m.id, m.response, m.name, m.qtype);
            let b = match m.response {
                false => etherparse::PacketBuilder::ipv4(CLIENT, RESOLVER, 64).udp(m.port, 53),
                true => etherparse::PacketBuilder::ipv4(RESOLVER, CLIENT, 64).udp(53, m.port),
            };
            let mut data = Vec::with_capacity(b.size(payload.len()));
            b.write(&mut data, &payload).unwrap();
            let frame = crate::capture::Frame {
                number: i as u64 + 1,
                ts_ns: m.ms * 1_000_000,
                link_type: 101,
                interface: 0,
                orig_len: data.len() as u32,
                offset: 0,
                data: &data,
                comment: None,
            };
            s.ingest(&frame);
        }
        s.finish();
        s.dns.iter().map(|a| (a.latency_ns().map(|ns| ns as f64 / 1e6), a.queries)).collect()
    }

    const NAME: &str = "myreg.azurecr.io";

    #[test]
    fn an_answered_query_takes_the_time_between_them() {
        let t = timings(&[query(1000, 40000, 7, NAME, A), answer(1012, 40000, 7, NAME, A)]);
        assert_eq!(t, [(Some(12.0), 1)]);
    }

    #[test]
    fn retries_with_other_ids_and_ports_count_from_the_first_query() {
        let t = timings(&[
            query(0, 40000, 1, NAME, A),
            query(5000, 40001, 2, NAME, A),
            query(10000, 40002, 3, NAME, A),
            answer(10030, 40002, 3, NAME, A),
        ]);
        assert_eq!(t, [(Some(10030.0), 3)]);
    }

    #[test]
    fn each_lookup_of_a_name_is_timed_on_its_own() {
        let t = timings(&[
            query(0, 40000, 1, NAME, A),
            answer(20, 40000, 1, NAME, A),
            query(60_000, 40001, 2, NAME, A),
            answer(60_003, 40001, 2, NAME, A),
        ]);
        assert_eq!(t, [(Some(20.0), 1), (Some(3.0), 1)]);
    }

    #[test]
    fn a_and_aaaa_of_one_name_are_separate_lookups() {
        let t = timings(&[
            query(0, 40000, 1, NAME, A),
            query(1, 40000, 2, NAME, AAAA),
            query(500, 40000, 3, NAME, AAAA),
            answer(502, 40000, 3, NAME, AAAA),
            answer(510, 40000, 1, NAME, A),
        ]);
        assert_eq!(t, [(Some(501.0), 2), (Some(510.0), 1)]);
    }

    #[test]
    fn an_answer_without_a_query_seen_has_no_latency() {
        let t = timings(&[
            answer(7, 40000, 1, NAME, A),
            query(10, 40000, 2, "other.example.com", A),
            answer(20, 40000, 3, NAME, AAAA),
            // A second answer to the same query: its lookup ended with the first.
            query(30, 40000, 4, NAME, A),
            answer(31, 40000, 4, NAME, A),
            answer(32, 40000, 4, NAME, A),
        ]);
        assert_eq!(t, [(None, 0), (None, 0), (Some(1.0), 1), (None, 0)]);
    }

    #[test]
    fn names_differing_in_case_are_one_lookup() {
        let t = timings(&[
            query(0, 40000, 1, "MyReg.AzureCR.io", A),
            query(1000, 40001, 2, "myreg.azurecr.IO", A),
            answer(1004, 40001, 2, "MYREG.azurecr.io", A),
        ]);
        assert_eq!(t, [(Some(1004.0), 2)]);
    }

    #[test]
    fn lookups_beyond_the_cap_drop_the_oldest_and_count_them() {
        let mut log = super::DnsLog::new(10);
        let mut stats = super::Stats::default();
        let names: Vec<String> = (0..=super::MAX_OPEN_LOOKUPS).map(|i| format!("n{i}.example.com")).collect();
        for (i, n) in names.iter().enumerate() {
            log.asked(n, "A", i as i64, &mut stats);
        }
        let half = super::MAX_OPEN_LOOKUPS as u64 / 2;
        assert_eq!(stats.dns_lookups_evicted, half);
        assert_eq!(log.lookup_answered(&names[0], "A", 1_000_000), super::LookupTiming::default());
        let last = names.len() - 1;
        let t = log.lookup_answered(&names[last], "A", 1_000_000);
        assert_eq!(t, super::LookupTiming { latency_ns: 1_000_000 - last as i64, queries: 1 });
    }

    /// The log holds up to a million answers: a field added to them costs each, so growing an
    /// answer is a decision this test makes visible.
    #[test]
    fn an_answer_stays_within_its_size() {
        let size = std::mem::size_of::<super::DnsAnswer>();
        assert!(size <= 208, "DnsAnswer: {size}");
    }
}
