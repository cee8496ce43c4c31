//! The session model: the single source of truth every view reads. Frames go in; flows with
//! their TLS facts, DNS answers, names and counters come out. Plain data, no I/O.

pub mod activity;
pub mod attribution;
mod dns_log;
mod dns_tcp;
pub mod drops;
mod hellos;
pub mod http;
pub mod naming;
pub mod quic;
pub mod stats;
mod tls;
mod tracker;
pub mod transfer;

use std::net::IpAddr;

use crate::capture::Frame;
use crate::dissect::dns;
use crate::flow::{table::Observed, Flow, FlowTable, L4};
use crate::packet::defrag::{Defragmenter, FragKey};
use crate::packet::{self, link::linktype, DecodeError, Transport};
pub use dns_log::{DnsAnswer, DnsLog, PendingQuery};
pub use stats::{Stats, Warning};
pub use tls::{TlsAlert, TlsFacts, MAX_FLOW_ALERTS};
pub use transfer::TransferMetrics;

/// Bytes a TLS reassembler may hold for one direction of one flow: a full 16 KiB record with
/// its header, and a ClientHello spread over several records.
pub const TLS_CAP: usize = 64 * 1024;
/// Bytes a DNS-over-TCP reassembler may hold: one maximal message and its length prefix.
pub const DNS_TCP_CAP: usize = 64 * 1024 + 2;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Flows kept in the hot table (closed and idle flows are evicted first).
    pub max_active_flows: usize,
    /// DNS answers stored (listed in reports, used for naming), and unanswered queries kept.
    /// Beyond it answers are still counted (`dns_responses`, `dns_answers_evicted`) but not
    /// stored: the first ones stay, so the report and the naming of early flows do not change
    /// as a capture grows.
    pub max_dns_answers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // About 1 GB of flow state at the worst.
        Limits { max_active_flows: 1_000_000, max_dns_answers: 1_000_000 }
    }
}

/// Per-flow facts beyond the counters; reassembly state is dropped once it has served.
#[derive(Debug, Default)]
pub struct FlowFacts {
    pub tls: TlsFacts,
    /// The flow carries DNS (port 53, mDNS or LLMNR).
    pub dns: bool,
    /// The trackers' bytes for this flow (their bigger state is theirs, by flow id).
    trackers: FlowTrackers,
    /// Bytes over time, kept only when a timeline asked for it. Shared with the timeline's
    /// published pictures rather than copied into them: a flow that has ended is never copied,
    /// one still going is copied at its next packet after a picture took it.
    pub activity: Option<std::sync::Arc<activity::Activity>>,
    /// A UDP flow that started with a QUIC Initial (its ClientHello goes to `tls`).
    pub quic: Option<Box<quic::QuicFacts>>,
    /// A TCP flow that started with an HTTP/1.x head (plain HTTP, or a CONNECT to a proxy).
    pub http: Option<Box<http::HttpFacts>>,
    /// How the TCP transfer went (sequence analysis, windows, timing); TCP flows only.
    pub transfer: Option<Box<transfer::Transfer>>,
    /// The local process that held the flow's socket at its first packet (live captures), or
    /// the first that a packet comment of a `--write` pcapng names (see `attribution`).
    pub process: Option<std::sync::Arc<crate::procs::Process>>,
}

// The protocol trackers, in the order each packet is handed to them: the transfer analysis sees
// every TCP segment first, DNS over TCP keeps port 53 to itself, TLS reads before HTTP (a
// ClientHello rules HTTP out). See `tracker` for how to add one.
tracker::trackers! {
    transfer: transfer::TransferTracker,
    dns_tcp: dns_tcp::DnsTcpTracker,
    tls: tls::TlsTracker,
    http: http::HttpTracker,
    quic: quic::QuicTracker,
    #[cfg(test)]
    segments: tracker::tests::SegmentCounter,
}

/// Things that happened, for live views (ndjson, the timeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    FlowOpen(u32),
    /// The flow learned its TLS ClientHello.
    ClientHello(u32),
    /// Closed both ways, or reset, or aged out idle in a live capture.
    FlowClose(u32),
    Dns(u32),
    /// An ICMP destination unreachable quoted one of the flow's packets.
    Icmp(u32),
}

/// One flow as the session knows it: its counters and what its payload told.
#[derive(Debug, Clone, Copy)]
pub struct FlowRef<'a> {
    pub flow: &'a Flow,
    pub facts: &'a FlowFacts,
}

/// The coordinator: decodes each frame once, counts it in its flow, and hands its payload to
/// the protocol trackers.
pub struct Session {
    pub flows: FlowTable,
    /// Indexed like `flows.flows()`; read through [`Session::flow`] and [`Session::flow_refs`].
    facts: Vec<FlowFacts>,
    trackers: Trackers,
    /// One shared copy per distinct ClientHello.
    hellos: hellos::Hellos,
    pub dns: DnsLog,
    pub stats: Stats,
    /// What the capture itself lost, and when (live only).
    pub capture_drops: drops::CaptureDrops,
    events: Option<Vec<Event>>,
    /// The flow the frame ingested last was counted in.
    last_flow: Option<u32>,
    keep_activity: bool,
    defrag: Defragmenter,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(Limits::default())
    }
}

impl Session {
    /// What "now" is for the flows: the last packet, or a live capture's clock when later.
    pub fn now_ns(&self) -> Option<i64> {
        match (self.stats.last_ns, self.stats.clock_ns) {
            (Some(l), Some(c)) => Some(l.max(c)),
            (l, c) => l.or(c),
        }
    }

    /// Packets the capture dropped during flow `id`'s life (see [`drops::CaptureDrops::during`]);
    /// `None` from a file.
    pub fn capture_drops_of(&self, id: u32) -> Option<u64> {
        let f = &self.flows()[id as usize];
        self.capture_drops.during(f.first_ns, f.last_ns)
    }

    pub fn new(limits: Limits) -> Session {
        Session {
            flows: FlowTable::new(limits.max_active_flows),
            facts: Vec::new(),
            trackers: Trackers::default(),
            hellos: hellos::Hellos::default(),
            dns: DnsLog::new(limits.max_dns_answers),
            stats: Stats::default(),
            capture_drops: drops::CaptureDrops::default(),
            events: None,
            last_flow: None,
            keep_activity: false,
            defrag: Defragmenter::default(),
        }
    }

    /// Keeps each flow's bytes over time (for timelines; reports do without).
    pub fn record_activity(&mut self) {
        self.keep_activity = true;
    }

    /// Starts recording [`Event`]s for [`Session::drain_events`].
    pub fn record_events(&mut self) {
        self.events.get_or_insert_with(Vec::new);
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        self.events.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn emit(&mut self, e: Event) {
        if let Some(ev) = self.events.as_mut() {
            ev.push(e);
        }
    }

    pub fn flows(&self) -> &[Flow] {
        self.flows.flows()
    }

    /// Flow `id` with its facts; panics on an id the session never gave out.
    pub fn flow(&self, id: u32) -> FlowRef<'_> {
        FlowRef { flow: &self.flows.flows()[id as usize], facts: &self.facts[id as usize] }
    }

    /// Flow `id` with its facts, if the session gave that id out.
    pub fn get_flow(&self, id: u32) -> Option<FlowRef<'_>> {
        Some(FlowRef { flow: self.flows.flows().get(id as usize)?, facts: self.facts.get(id as usize)? })
    }

    /// Names the process that holds flow `id`'s socket (tests and tools that attribute flows
    /// themselves; live captures go through [`attribution`]).
    pub fn set_process(&mut self, id: u32, process: Option<std::sync::Arc<crate::procs::Process>>) {
        self.facts[id as usize].process = process;
    }

    /// Every flow with its facts, in id order.
    pub fn flow_refs(&self) -> impl ExactSizeIterator<Item = FlowRef<'_>> {
        self.flows.flows().iter().zip(&self.facts).map(|(flow, facts)| FlowRef { flow, facts })
    }

    /// The flow (TCP or UDP) the frame ingested last was counted in: `None` for a frame of no
    /// flow (not IP, ICMP, a later IP fragment, undecodable).
    pub fn last_flow(&self) -> Option<u32> {
        self.last_flow
    }

    pub fn warn(&mut self, kind: &'static str, frame: Option<u64>, offset: Option<u64>, msg: impl Into<String>) {
        self.stats.warn(kind, frame, offset, msg);
    }

    /// As [`Session::warn`], building the message only when it is kept.
    pub fn warn_with(
        &mut self,
        kind: &'static str,
        frame: Option<u64>,
        offset: Option<u64>,
        msg: impl FnOnce() -> String,
    ) {
        self.stats.warn_with(kind, frame, offset, msg);
    }

    /// Reads one frame into the model.
    pub fn ingest(&mut self, frame: &Frame<'_>) {
        self.ingest_frame(frame);
        if let Some(c) = frame.comment {
            attribution::from_comment(self, c);
        }
    }

    fn ingest_frame(&mut self, frame: &Frame<'_>) {
        self.last_flow = None;
        let st = &mut self.stats;
        st.packets += 1;
        st.bytes += frame.data.len() as u64;
        st.wire_bytes += u64::from(frame.orig_len.max(frame.data.len() as u32));
        if let Some(last) = st.last_ns {
            if frame.ts_ns < last {
                st.out_of_order_timestamps += 1;
            }
        }
        st.first_ns = Some(st.first_ns.map_or(frame.ts_ns, |f| f.min(frame.ts_ns)));
        st.last_ns = Some(st.last_ns.map_or(frame.ts_ns, |l| l.max(frame.ts_ns)));
        let lt = linktype::name(frame.link_type);
        if let Some(n) = st.link_types.get_mut(lt) {
            *n += 1;
        } else {
            st.link_types.insert(lt.to_string(), 1);
        }

        let (pkt, meta) = match packet::decode(frame.link_type, frame.data) {
            Ok(p) => p,
            Err(DecodeError::NotIp) => {
                self.stats.non_ip += 1;
                return;
            }
            Err(e) => {
                let msg = || match e {
                    DecodeError::Link(packet::link::LinkError::UnknownLinkType) => {
                        format!("frame {}: link type {} is not supported; frame skipped", frame.number, frame.link_type)
                    }
                    _ => format!("frame {}: {}", frame.number, e.kind()),
                };
                self.warn_with(e.kind(), Some(frame.number), Some(frame.offset), msg);
                return;
            }
        };
        self.stats.ip_packets += 1;
        if let Some(fr) = pkt.frag {
            self.stats.ip_fragments += 1;
            // The first fragment carries the ports: it is counted in its flow. The payload is
            // dissected once the datagram is whole (or, if it never is, at the end).
            if fr.offset == 0 {
                let seen = self.flows.observe(&pkt, frame.ts_ns, frame.number, frame.interface, meta.ifindex);
                self.last_flow = seen.as_ref().map(|o| o.flow);
                if let Some(obs) = seen.filter(|o| o.new) {
                    self.open_flow(obs.flow);
                }
            }
            let key = FragKey { src: pkt.src, dst: pkt.dst, id: fr.id, proto: fr.proto };
            if let Some(datagram) = self.defrag.add(key, fr.offset, fr.more, fr.data, frame.ts_ns, frame.number) {
                self.dissect_datagram(key, &datagram, frame, false);
            }
            return;
        }
        let Some(obs) = self.flows.observe(&pkt, frame.ts_ns, frame.number, frame.interface, meta.ifindex) else {
            if let Transport::IcmpError(e) = pkt.transport {
                self.stats.icmp_errors += 1;
                if let Some(id) = self.flows.icmp_error(&e, pkt.src, frame.ts_ns) {
                    self.emit(Event::Icmp(id));
                }
                return;
            }
            self.stats.other_transport += 1;
            // The decoder follows a bounded IPv6 extension chain (each header type once, as
            // RFC 8200 orders them); a packet that stops on an extension header is not guessed at.
            if let (IpAddr::V6(_), Transport::Other { proto: 0 | 43 | 60 | 135 | 139 | 140 | 253 | 254 }) =
                (pkt.src, pkt.transport)
            {
                self.warn_with("ipv6-extension-chain", Some(frame.number), Some(frame.offset), || {
                    format!("frame {}: IPv6 extension headers not followed to their end; packet skipped", frame.number)
                });
            }
            return;
        };
        self.last_flow = Some(obs.flow);
        if obs.new {
            self.open_flow(obs.flow);
        }
        if self.keep_activity {
            let a = self.facts[obs.flow as usize]
                .activity
                .get_or_insert_with(|| std::sync::Arc::new(activity::Activity::new(frame.ts_ns)));
            std::sync::Arc::make_mut(a).add(frame.ts_ns, frame.orig_len.max(frame.data.len() as u32));
        }
        if pkt.truncated && !obs.payload.is_empty() {
            self.warn_with("truncated-payload", Some(frame.number), Some(frame.offset), || {
                format!("frame {}: payload cut by the capture's snaplen", frame.number)
            });
        }
        self.dissect(&obs, frame);
        if obs.closed_now {
            self.emit(Event::FlowClose(obs.flow));
        }
    }

    /// Dissects a datagram put together from IP fragments (`partial`: some never arrived).
    fn dissect_datagram(&mut self, key: FragKey, datagram: &[u8], frame: &Frame<'_>, partial: bool) {
        let Ok(mut pkt) = packet::decode::decode_datagram(key.src, key.dst, key.proto, datagram) else {
            return;
        };
        pkt.truncated = partial;
        let found = match self.flows.find(&pkt) {
            Some(f) => Some(f),
            None => self.flows.observe(&pkt, frame.ts_ns, frame.number, frame.interface, None).map(|o| {
                if o.new {
                    self.open_flow(o.flow);
                }
                (o.flow, o.up)
            }),
        };
        let Some((flow, up)) = found else { return };
        let (tcp, payload) = match pkt.transport {
            Transport::Tcp(t) => (Some(t), t.payload),
            Transport::Udp { payload, .. } => (None, payload),
            Transport::Other { .. } | Transport::IcmpError(_) => return,
        };
        let obs = Observed { flow, up, new: false, tcp, payload, closed_now: false };
        self.dissect(&obs, frame);
    }

    fn open_flow(&mut self, id: u32) {
        let flow = &self.flows.flows()[id as usize];
        let dns = is_dns_port(flow.server_port) || (flow.proto == L4::Udp && is_dns_port(flow.client_port));
        debug_assert_eq!(self.facts.len(), id as usize);
        self.facts.push(FlowFacts { dns, ..FlowFacts::default() });
        self.stats.flows += 1;
        self.stats.flows_evicted = self.flows.stats.evicted;
        self.stats.peak_active_flows = self.flows.stats.peak_active;
        self.emit(Event::FlowOpen(id));
        // Flows evicted to make room get no more packets: their reassembly buffers (up to
        // TLS_CAP and DNS_TCP_CAP each way) go now, so memory follows the hot table's cap.
        for gone in self.flows.take_evicted() {
            if self.settle(gone as usize, true) {
                self.stats.flow_parsers_released += 1;
            }
        }
    }

    /// The flow's facts and the rest of the session a tracker may touch, borrowed apart from
    /// the trackers themselves.
    fn split(&mut self, id: u32) -> (&mut Trackers, tracker::Cx<'_>) {
        let Session { flows, facts, trackers, dns, stats, events, hellos, .. } = self;
        let flow = &flows.flows()[id as usize];
        let cx = tracker::Cx { id, flow, facts: &mut facts[id as usize], stats, dns, events, hellos };
        (trackers, cx)
    }

    fn dissect(&mut self, obs: &Observed<'_>, frame: &Frame<'_>) {
        if obs.payload.is_empty() && !Trackers::EMPTY_SEGMENTS {
            return;
        }
        let (trackers, mut cx) = self.split(obs.flow);
        let seg = tracker::Segment { obs, frame };
        match cx.flow.proto {
            L4::Tcp => trackers.tcp(&mut cx, &seg),
            L4::Udp if obs.payload.is_empty() => {}
            // DNS over UDP is one message a datagram: no state to keep, no tracker.
            L4::Udp if cx.facts.dns => dns_tcp::read_message(&mut cx, dns::parse_message(obs.payload), &seg),
            L4::Udp => trackers.udp(&mut cx, &seg),
        }
    }

    /// Live captures: drops flows closed for 30 s or idle for 120 s (capture time) from the hot
    /// table and frees their reassembly state; idle ones get their [`Event::FlowClose`] now.
    pub fn age_out(&mut self, now_ns: i64) -> usize {
        const CLOSED_NS: i64 = 30 * 1_000_000_000;
        const IDLE_NS: i64 = 120 * 1_000_000_000;
        let n = self.flows.age_out(now_ns, CLOSED_NS, IDLE_NS);
        for gone in self.flows.take_evicted() {
            if self.settle(gone as usize, true) {
                self.stats.flow_parsers_released += 1;
            }
            let f = &self.flows.flows()[gone as usize];
            if !(f.proto == L4::Tcp && f.tcp.closed()) {
                self.emit(Event::FlowClose(gone));
            }
        }
        self.stats.flows_aged_out = self.flows.stats.aged_out;
        n
    }

    /// Ends the capture: partial ClientHellos are read as far as they go, pending queries
    /// become unanswered.
    pub fn finish(&mut self) {
        // Datagrams whose later fragments were never captured: read what their start holds,
        // as tshark does (a DNS answer's first records are usually there).
        for p in self.defrag.drain_incomplete() {
            let frame = Frame {
                number: p.first_frame,
                ts_ns: self.stats.last_ns.unwrap_or(0),
                link_type: 0,
                interface: 0,
                orig_len: 0,
                offset: 0,
                data: &[],
                comment: None,
            };
            self.warn(
                "ip-fragments-missing",
                Some(p.first_frame),
                None,
                format!("frame {}: IP datagram incomplete (fragments missing); read its first part", p.first_frame),
            );
            self.dissect_datagram(p.key, &p.data, &frame, true);
        }
        self.stats.ip_reassembled = self.defrag.stats.reassembled;
        for id in 0..self.facts.len() {
            self.settle(id, false);
        }
        self.dns.finish(&mut self.stats);
        self.stats.flows_evicted = self.flows.stats.evicted;
        self.stats.peak_active_flows = self.flows.stats.peak_active;
    }

    /// After [`Session::finish`] on a capture read to its end: what only took packets in goes,
    /// so that the analysis after it has the room. No packet may be ingested after it.
    pub fn close_to_packets(&mut self) {
        self.flows.close_to_packets();
        self.facts.shrink_to_fit();
    }

    /// Drops the reassembly state of flow `id`, reading a ClientHello cut short as far as it
    /// goes first. Whether there was state to drop.
    fn settle(&mut self, id: usize, emit: bool) -> bool {
        let (trackers, mut cx) = self.split(id as u32);
        trackers.settle(&mut cx, emit)
    }

    /// Answers (indices into `dns`) that held `addr`, in arrival order.
    pub fn answers_for(&self, addr: &IpAddr) -> &[u32] {
        self.dns.answers_for(addr)
    }
}

/// DNS, mDNS and LLMNR.
pub fn is_dns_port(port: u16) -> bool {
    matches!(port, 53 | 5353 | 5355)
}
