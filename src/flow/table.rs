//! The flow table: finds or opens the flow of each packet and counts it.
//! Flows are kept in arrival order (their index is their id); the hash map holds only flows
//! still active, so its size stays bounded however long a capture runs.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use etherparse::IpNumber;

use super::{server_is_first_by_port, ClientBy, Endpoint, Flow, FlowKey, TcpState, L4};
use crate::packet::{tcp_flags, Packet, TcpSegment, Transport};

/// Flows idle this long (capture time) may be dropped from the hot table when it is full.
const IDLE_NS: i64 = 120 * 1_000_000_000;
/// The smallest hot table, whatever the limit asks: eviction needs some room to work in.
const MIN_ACTIVE: usize = 16;
/// Eviction frees at least this fraction (1/n) of a full hot table, so that it does not run
/// again on the next new flow.
const EVICT_FREES_ONE_IN: usize = 8;

impl Observed<'_> {
    /// The TCP sequence number of the payload's first byte (0 for UDP).
    pub fn seq(&self) -> u32 {
        self.tcp.map_or(0, |t| t.seq)
    }
}

/// What the table learned about one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed<'a> {
    pub flow: u32,
    /// Sent by the client.
    pub up: bool,
    /// This packet opened the flow.
    pub new: bool,
    /// The segment's header, for a TCP packet.
    pub tcp: Option<TcpSegment<'a>>,
    pub payload: &'a [u8],
    /// This packet completed the TCP close (the second FIN, or a RST).
    pub closed_now: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableStats {
    /// Flows dropped from the hot table to respect `max_active` (still reported).
    pub evicted: u64,
    /// High-water mark of flows in the hot table.
    pub peak_active: u64,
    /// Flows aged out of the hot table in a live capture: closed a while ago, or idle.
    pub aged_out: u64,
}

pub struct FlowTable {
    flows: Vec<Flow>,
    active: FxHashMap<FlowKey, u32>,
    max_active: usize,
    pub stats: TableStats,
    /// Flows evicted since the last [`FlowTable::take_evicted`].
    evicted_ids: Vec<u32>,
}

impl FlowTable {
    pub fn new(max_active: usize) -> FlowTable {
        FlowTable {
            flows: Vec::new(),
            active: FxHashMap::default(),
            max_active: max_active.max(MIN_ACTIVE),
            stats: TableStats::default(),
            evicted_ids: Vec::new(),
        }
    }

    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }

    pub fn get(&self, id: u32) -> Option<&Flow> {
        self.flows.get(id as usize)
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut Flow> {
        self.flows.get_mut(id as usize)
    }

    /// Flows in the hot table that have not closed (closed ones stay a while, for late packets).
    pub fn open_len(&self) -> usize {
        self.active.values().filter(|&&id| !self.flows[id as usize].tcp.closed()).count()
    }

    /// A capture read to its end takes no more packets: the hot table goes, and the flows
    /// keep no spare room (a vector grown by doubling holds up to twice what it needs).
    pub fn close_to_packets(&mut self) {
        self.active = FxHashMap::default();
        self.flows.shrink_to_fit();
    }

    pub fn active_len(&self) -> usize {
        self.active.len()
    }

    /// The flows evicted from the hot table since the last call: no packet reaches them any
    /// more, so the state kept to dissect them can go.
    pub fn take_evicted(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.evicted_ids)
    }

    /// Counts `pkt` in its flow, opening the flow when needed. `None` for non-TCP/UDP.
    pub fn observe<'a>(
        &mut self,
        pkt: &Packet<'a>,
        ts_ns: i64,
        frame: u64,
        interface: u32,
        ifindex: Option<u32>,
    ) -> Option<Observed<'a>> {
        let (proto, sport, dport, tcp, payload) = match pkt.transport {
            Transport::Tcp(t) => (L4::Tcp, t.sport, t.dport, Some(t), t.payload),
            Transport::Udp { sport, dport, payload } => (L4::Udp, sport, dport, None, payload),
            Transport::Other { .. } | Transport::IcmpError(_) => return None,
        };
        let key = FlowKey::new(proto, Endpoint::new(pkt.src, sport), Endpoint::new(pkt.dst, dport));
        let reopens = |table: &Self, id| tcp.is_some_and(|t| t.is_syn_only() && table.is_port_reuse(id, t.seq));
        let mut new = false;
        let id = match self.active.get(&key) {
            Some(&id) if !reopens(self, id) => id,
            _ => {
                new = true;
                let by = Opening { pkt, sport, dport, flags: tcp.map_or(0, |t| t.flags) };
                self.open(key, &by, ts_ns, frame, interface, ifindex)
            }
        };
        let flow = &mut self.flows[id as usize];
        let up = flow.client == pkt.src && flow.client_port == sport;
        flow.last_ns = flow.last_ns.max(ts_ns);
        flow.first_ns = flow.first_ns.min(ts_ns);
        flow.truncated |= pkt.truncated;
        let len = payload.len() as u64;
        if up {
            flow.packets_up += 1;
            flow.bytes_up += len;
        } else {
            flow.packets_down += 1;
            flow.bytes_down += len;
        }
        let mut closed_now = false;
        if let Some(seg) = &tcp {
            let was_closed = flow.tcp.closed();
            flow.tcp.track(up, seg, ts_ns);
            closed_now = !was_closed && flow.tcp.closed();
        }
        Some(Observed { flow: id, up, new, tcp, payload, closed_now })
    }

    /// The active flow of `pkt` and whether it goes client→server, without counting it.
    pub fn find(&self, pkt: &Packet<'_>) -> Option<(u32, bool)> {
        let (proto, sport, dport) = match pkt.transport {
            Transport::Tcp(t) => (L4::Tcp, t.sport, t.dport),
            Transport::Udp { sport, dport, .. } => (L4::Udp, sport, dport),
            Transport::Other { .. } | Transport::IcmpError(_) => return None,
        };
        let key = FlowKey::new(proto, Endpoint::new(pkt.src, sport), Endpoint::new(pkt.dst, dport));
        let id = *self.active.get(&key)?;
        let f = &self.flows[id as usize];
        Some((id, f.client == pkt.src && f.client_port == sport))
    }

    /// Records an ICMP error on the active flow of the packet it quotes. The flow it names.
    pub fn icmp_error(&mut self, e: &crate::packet::IcmpError, from: IpAddr, ts_ns: i64) -> Option<u32> {
        let proto = if e.proto == IpNumber::TCP.0 { L4::Tcp } else { L4::Udp };
        let key = FlowKey::new(proto, Endpoint::new(e.src, e.sport), Endpoint::new(e.dst, e.dport));
        let id = *self.active.get(&key)?;
        let f = &mut self.flows[id as usize];
        match &mut f.icmp {
            Some(seen) => seen.count = seen.count.saturating_add(1),
            None => f.icmp = Some(Box::new(super::IcmpSeen { error: *e, from, ts_ns, count: 1 })),
        }
        f.last_ns = f.last_ns.max(ts_ns);
        Some(id)
    }

    /// A new SYN on a known 5-tuple is a new connection when the ISN differs (clients reuse
    /// ports; a retransmitted SYN keeps its ISN), or the old connection carried data or ended
    /// after it was answered. A client that resets a stray ACK and sends its SYN again, same
    /// ISN, is still making the same attempt (tshark keeps it in one stream too).
    fn is_port_reuse(&self, id: u32, seq: u32) -> bool {
        let f = &self.flows[id as usize];
        let ended = f.tcp.closed() && (f.tcp.saw_syn_ack() || f.tcp.client_isn().is_none());
        ended || f.tcp.client_isn().is_some_and(|isn| isn != seq) || f.bytes_up > 0
    }

    fn open(
        &mut self,
        key: FlowKey,
        by: &Opening<'_, '_>,
        ts_ns: i64,
        frame: u64,
        interface: u32,
        ifindex: Option<u32>,
    ) -> u32 {
        if self.active.len() >= self.max_active {
            self.evict(ts_ns);
        }
        let Opening { pkt, sport, dport, flags } = *by;
        let (client_by, src_is_client) = if key.proto == L4::Tcp && flags & tcp_flags::SYN != 0 {
            (ClientBy::Handshake, flags & tcp_flags::ACK == 0)
        } else {
            (ClientBy::Port, !server_is_first_by_port(sport, dport))
        };
        let (src, dst) = (Endpoint::new(pkt.src, sport), Endpoint::new(pkt.dst, dport));
        let (client, server) = if src_is_client { (src, dst) } else { (dst, src) };
        let id = self.flows.len() as u32;
        self.flows.push(Flow {
            id,
            proto: key.proto,
            client: client.ip,
            client_port: client.port,
            server: server.ip,
            server_port: server.port,
            client_by,
            first_ns: ts_ns,
            last_ns: ts_ns,
            first_frame: frame,
            packets_up: 0,
            packets_down: 0,
            bytes_up: 0,
            bytes_down: 0,
            tcp: TcpState::default(),
            interface,
            ifindex,
            truncated: false,
            icmp: None,
        });
        self.active.insert(key, id);
        self.stats.peak_active = self.stats.peak_active.max(self.active.len() as u64);
        id
    }

    /// Drops from the hot table the flows closed more than `closed_ns` ago and those idle for
    /// more than `idle_ns` (capture time), so a capture running for days stays bounded. The
    /// flows stay in the list; the ids dropped are returned by [`FlowTable::take_evicted`].
    pub fn age_out(&mut self, now_ns: i64, closed_ns: i64, idle_ns: i64) -> usize {
        let flows = &self.flows;
        let gone = &mut self.evicted_ids;
        let before = self.active.len();
        self.active.retain(|_, id| {
            let f = &flows[*id as usize];
            let quiet = now_ns.saturating_sub(f.last_ns);
            let keep = !((f.tcp.closed() && quiet > closed_ns) || quiet > idle_ns);
            if !keep {
                gone.push(*id);
            }
            keep
        });
        let n = before - self.active.len();
        self.stats.aged_out += n as u64;
        n
    }

    /// Frees room in the hot table: closed and idle flows first, then the least recently
    /// active, so that at least an eighth of the table is free afterwards.
    fn evict(&mut self, now_ns: i64) {
        let flows = &self.flows;
        let gone = &mut self.evicted_ids;
        let before = self.active.len();
        self.active.retain(|_, id| {
            let f = &flows[*id as usize];
            let keep = !(f.tcp.closed() || now_ns.saturating_sub(f.last_ns) > IDLE_NS);
            if !keep {
                gone.push(*id);
            }
            keep
        });
        let target = self.max_active - self.max_active / EVICT_FREES_ONE_IN;
        if self.active.len() > target {
            let mut last: Vec<i64> = self.active.values().map(|id| flows[*id as usize].last_ns).collect();
            let cut_at = self.active.len() - target;
            let (_, cutoff, _) = last.select_nth_unstable(cut_at);
            let cutoff = *cutoff;
            self.active.retain(|_, id| {
                let keep = flows[*id as usize].last_ns > cutoff;
                if !keep {
                    gone.push(*id);
                }
                keep
            });
        }
        self.stats.evicted += (before - self.active.len()) as u64;
    }
}

/// The packet that opens a flow: its ports and flags decide which side is the client.
#[derive(Clone, Copy)]
struct Opening<'p, 'a> {
    pkt: &'p Packet<'a>,
    sport: u16,
    dport: u16,
    /// TCP flags; 0 for UDP.
    flags: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp<'a>(src: &str, sport: u16, dst: &str, dport: u16, seq: u32, flags: u8, payload: &'a [u8]) -> Packet<'a> {
        Packet {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            transport: Transport::Tcp(TcpSegment {
                sport,
                dport,
                seq,
                ack: 0,
                window: 0,
                flags,
                option_bytes: &[],
                payload,
                cut: 0,
            }),
            truncated: false,
            fragment: false,
            frag: None,
        }
    }

    use tcp_flags::{ACK, FIN, RST, SYN};

    #[test]
    fn syn_sender_is_client_and_counts_go_each_way() {
        let mut t = FlowTable::new(100);
        let c = "10.1.0.4";
        let s = "40.79.197.136";
        let o = t.observe(&tcp(c, 50000, s, 443, 100, SYN, b""), 1, 1, 0, None).unwrap();
        assert!(o.new && o.up);
        let o = t.observe(&tcp(s, 443, c, 50000, 900, SYN | ACK, b""), 2, 2, 0, None).unwrap();
        assert!(!o.new && !o.up);
        t.observe(&tcp(c, 50000, s, 443, 101, ACK, b"hello"), 3, 3, 0, None);
        t.observe(&tcp(s, 443, c, 50000, 901, ACK, b"world!"), 4, 4, 0, None);
        let f = &t.flows()[0];
        assert_eq!((f.client.to_string(), f.client_port), (c.to_string(), 50000));
        assert_eq!((f.packets_up, f.packets_down, f.bytes_up, f.bytes_down), (2, 2, 5, 6));
        assert_eq!((f.tcp.client_isn(), f.tcp.server_isn()), (Some(100), Some(900)));
        assert_eq!((f.first_ns, f.last_ns), (1, 4));
        assert_eq!(f.client_by, ClientBy::Handshake);
    }

    #[test]
    fn midstream_flow_uses_the_service_port() {
        let mut t = FlowTable::new(100);
        t.observe(&tcp("40.79.197.136", 443, "10.1.0.4", 50000, 5, ACK, b"x"), 1, 1, 0, None);
        let f = &t.flows()[0];
        assert_eq!(f.server_port, 443);
        assert_eq!(f.client_by, ClientBy::Port);
        assert_eq!(f.bytes_down, 1);
    }

    #[test]
    fn port_reuse_after_fin_opens_a_new_flow() {
        let mut t = FlowTable::new(100);
        let (c, s) = ("10.0.0.1", "10.0.0.2");
        t.observe(&tcp(c, 40000, s, 443, 1, SYN, b""), 1, 1, 0, None);
        t.observe(&tcp(c, 40000, s, 443, 1, SYN, b""), 2, 2, 0, None); // retransmitted SYN
        t.observe(&tcp(c, 40000, s, 443, 2, FIN | ACK, b""), 3, 3, 0, None);
        t.observe(&tcp(s, 443, c, 40000, 9, FIN | ACK, b""), 4, 4, 0, None);
        let o = t.observe(&tcp(c, 40000, s, 443, 777, SYN, b""), 5, 5, 0, None).unwrap();
        assert!(o.new);
        assert_eq!(t.flows().len(), 2);
        assert_eq!(t.flows()[0].packets_up, 3);
        assert_eq!(t.flows()[0].tcp.close_ns(), Some(3));
    }

    #[test]
    fn the_hot_table_stays_under_its_cap() {
        let mut t = FlowTable::new(64);
        for i in 0..1000u16 {
            t.observe(&tcp("10.0.0.1", 10000 + i, "10.0.0.2", 443, 1, SYN, b""), i64::from(i), 1, 0, None);
        }
        assert!(t.active_len() <= 64);
        assert_eq!(t.flows().len(), 1000);
        assert_eq!(t.stats.evicted as usize + t.active_len(), 1000);
        assert_eq!(t.stats.peak_active, 64);
        assert_eq!(t.take_evicted().len() as u64, t.stats.evicted);
        assert!(t.take_evicted().is_empty());
    }

    #[test]
    fn age_out_drops_closed_and_idle_flows_but_keeps_busy_ones() {
        const S: i64 = 1_000_000_000;
        let mut t = FlowTable::new(100);
        let (c, s) = ("10.0.0.1", "10.0.0.2");
        // 0: closed at 1 s; 1: idle since 2 s; 2: busy until 199 s.
        t.observe(&tcp(c, 40000, s, 443, 1, SYN, b""), S, 1, 0, None);
        t.observe(&tcp(c, 40000, s, 443, 2, RST, b""), S, 2, 0, None);
        t.observe(&tcp(c, 40001, s, 443, 1, SYN, b""), 2 * S, 3, 0, None);
        t.observe(&tcp(c, 40002, s, 443, 1, SYN, b""), 2 * S, 4, 0, None);
        t.observe(&tcp(c, 40002, s, 443, 2, ACK, b"x"), 199 * S, 5, 0, None);
        assert_eq!(t.age_out(20 * S, 30 * S, 120 * S), 0, "nothing is old enough yet");
        assert_eq!(t.age_out(40 * S, 30 * S, 120 * S), 1);
        assert_eq!(t.take_evicted(), vec![0]);
        assert_eq!(t.age_out(200 * S, 30 * S, 120 * S), 1);
        assert_eq!(t.take_evicted(), vec![1]);
        assert_eq!((t.active_len(), t.stats.aged_out, t.stats.evicted), (1, 2, 0));
        assert_eq!(t.flows().len(), 3, "aged-out flows stay reported");
    }
}
