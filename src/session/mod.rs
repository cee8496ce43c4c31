//! The session model: the single source of truth every view reads. Frames go in; flows with
//! their TLS facts, DNS answers, names and counters come out. Plain data, no I/O.

pub mod activity;
pub mod attribution;
mod dns_log;
pub mod http;
pub mod naming;
pub mod quic;
pub mod stats;
mod tls;

use std::net::IpAddr;

use crate::capture::Frame;
use crate::dissect::dns::{self, DnsMessage, DnsTcpReassembler};
use crate::dissect::tls::TlsReassembler;
use crate::flow::{table::Observed, Flow, FlowTable, L4};
use crate::packet::defrag::{Defragmenter, FragKey};
use crate::packet::{self, link::linktype, DecodeError, Transport};
use dns_log::QueryKey;
pub use dns_log::{DnsAnswer, DnsLog, PendingQuery};
pub use stats::{Stats, Warning};
pub use tls::{TlsAlert, TlsFacts, MAX_FLOW_ALERTS};

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
    parse: Option<Box<FlowParsers>>,
    /// TLS reading of the client's and of the server's side.
    tls_up: tls::TlsSide,
    tls_down: tls::TlsSide,
    /// Bytes over time, kept only when a timeline asked for it. Shared with the timeline's
    /// published pictures rather than copied into them: a flow that has ended is never copied,
    /// one still going is copied at its next packet after a picture took it.
    pub activity: Option<std::sync::Arc<activity::Activity>>,
    /// A UDP flow that started with a QUIC Initial (its ClientHello goes to `tls`).
    pub quic: Option<Box<quic::QuicFacts>>,
    /// A TCP flow that started with an HTTP/1.x head (plain HTTP, or a CONNECT to a proxy).
    pub http: Option<Box<http::HttpFacts>>,
    /// The local process that held the flow's socket at its first packet (live captures), or
    /// the first that a packet comment of a `--write` pcapng names (see `attribution`).
    pub process: Option<std::sync::Arc<crate::procs::Process>>,
}

#[derive(Debug, Default)]
struct FlowParsers {
    tls_up: Option<TlsReassembler>,
    tls_down: Option<TlsReassembler>,
    dns_up: Option<DnsTcpReassembler>,
    dns_down: Option<DnsTcpReassembler>,
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

pub struct Session {
    pub table: FlowTable,
    /// Indexed like `table.flows()`; read through [`Session::flow`] and [`Session::flow_refs`].
    facts: Vec<FlowFacts>,
    pub dns: DnsLog,
    pub stats: Stats,
    events: Option<Vec<Event>>,
    /// The flow the frame ingested last was counted in.
    last_flow: Option<u32>,
    keep_activity: bool,
    reply_buf: Vec<Result<DnsMessage, dns::DnsError>>,
    defrag: Defragmenter,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(Limits::default())
    }
}

impl Session {
    pub fn new(limits: Limits) -> Session {
        Session {
            table: FlowTable::new(limits.max_active_flows),
            facts: Vec::new(),
            dns: DnsLog::new(limits.max_dns_answers),
            stats: Stats::default(),
            events: None,
            last_flow: None,
            keep_activity: false,
            reply_buf: Vec::new(),
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
        self.table.flows()
    }

    /// Flow `id` with its facts; panics on an id the session never gave out.
    pub fn flow(&self, id: u32) -> FlowRef<'_> {
        FlowRef { flow: &self.table.flows()[id as usize], facts: &self.facts[id as usize] }
    }

    /// Flow `id` with its facts, if the session gave that id out.
    pub fn get_flow(&self, id: u32) -> Option<FlowRef<'_>> {
        Some(FlowRef { flow: self.table.flows().get(id as usize)?, facts: self.facts.get(id as usize)? })
    }

    /// Names the process that holds flow `id`'s socket (tests and tools that attribute flows
    /// themselves; live captures go through [`attribution`]).
    pub fn set_process(&mut self, id: u32, process: Option<std::sync::Arc<crate::procs::Process>>) {
        self.facts[id as usize].process = process;
    }

    /// Every flow with its facts, in id order.
    pub fn flow_refs(&self) -> impl ExactSizeIterator<Item = FlowRef<'_>> {
        self.table.flows().iter().zip(&self.facts).map(|(flow, facts)| FlowRef { flow, facts })
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
                let seen = self.table.observe(&pkt, frame.ts_ns, frame.number, frame.interface, meta.ifindex);
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
        let Some(obs) = self.table.observe(&pkt, frame.ts_ns, frame.number, frame.interface, meta.ifindex) else {
            if let Transport::IcmpError(e) = pkt.transport {
                self.stats.icmp_errors += 1;
                if let Some(id) = self.table.icmp_error(&e, pkt.src, frame.ts_ns) {
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
        let found = match self.table.find(&pkt) {
            Some(f) => Some(f),
            None => self.table.observe(&pkt, frame.ts_ns, frame.number, frame.interface, None).map(|o| {
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
        let flow = &self.table.flows()[id as usize];
        let dns = is_dns_port(flow.server_port) || (flow.proto == L4::Udp && is_dns_port(flow.client_port));
        debug_assert_eq!(self.facts.len(), id as usize);
        self.facts.push(FlowFacts { dns, ..FlowFacts::default() });
        self.stats.flows += 1;
        self.stats.flows_evicted = self.table.stats.evicted;
        self.stats.peak_active_flows = self.table.stats.peak_active;
        self.emit(Event::FlowOpen(id));
        // Flows evicted to make room get no more packets: their reassembly buffers (up to
        // TLS_CAP and DNS_TCP_CAP each way) go now, so memory follows the hot table's cap.
        for gone in self.table.take_evicted() {
            if self.settle(gone as usize, true) {
                self.stats.flow_parsers_released += 1;
            }
        }
    }

    fn dissect(&mut self, obs: &Observed<'_>, frame: &Frame<'_>) {
        let id = obs.flow as usize;
        let (proto, server_port) = {
            let f = &self.table.flows()[id];
            (f.proto, f.server_port)
        };
        if obs.payload.is_empty() {
            return;
        }
        if self.facts[id].dns {
            match proto {
                L4::Udp => {
                    let r = dns::parse_message(obs.payload);
                    self.on_dns(r, obs, frame);
                }
                L4::Tcp => self.dns_over_tcp(obs, frame),
            }
            if proto == L4::Udp || server_port == 53 {
                return;
            }
        }
        if proto == L4::Tcp {
            self.tls(obs, frame);
            self.http(obs, frame);
        } else {
            self.quic(obs, frame);
        }
    }

    fn dns_over_tcp(&mut self, obs: &Observed<'_>, frame: &Frame<'_>) {
        let id = obs.flow as usize;
        let isn = {
            let t = &self.table.flows()[id].tcp;
            if obs.up {
                t.client_isn()
            } else {
                t.server_isn()
            }
        }
        .map(|s| s.wrapping_add(1));
        let parsers = self.facts[id].parse.get_or_insert_with(Default::default);
        let r = if obs.up { &mut parsers.dns_up } else { &mut parsers.dns_down };
        let r = r.get_or_insert_with(|| DnsTcpReassembler::new(isn, DNS_TCP_CAP));
        let mut out = std::mem::take(&mut self.reply_buf);
        r.push(obs.seq(), obs.payload, &mut out);
        for m in out.drain(..) {
            self.on_dns(m, obs, frame);
        }
        self.reply_buf = out;
    }

    fn on_dns(&mut self, r: Result<DnsMessage, dns::DnsError>, obs: &Observed<'_>, frame: &Frame<'_>) {
        let msg = match r {
            Ok(m) => m,
            Err(e) => {
                self.warn_with("malformed-dns", Some(frame.number), Some(frame.offset), || {
                    format!("frame {}: DNS message skipped: {e}", frame.number)
                });
                return;
            }
        };
        let f = &self.table.flows()[obs.flow as usize];
        // The asker is the receiver of a response and the sender of a query.
        let (client, client_port, server, server_port) = if obs.up != msg.is_response {
            (f.client, f.client_port, f.server, f.server_port)
        } else {
            (f.server, f.server_port, f.client, f.client_port)
        };
        let transport = f.proto;
        let key = QueryKey { client, client_port, server, id: msg.id };
        if !msg.is_response {
            self.stats.dns_queries += 1;
            self.dns.query(
                key,
                PendingQuery {
                    ts_ns: frame_ts(frame),
                    frame: frame.number,
                    client,
                    client_port,
                    server,
                    server_port,
                    transport,
                    query: msg.query.clone().unwrap_or_default(),
                    qtype: msg.qtype.clone().unwrap_or_default(),
                },
                &mut self.stats,
            );
            return;
        }
        self.stats.dns_responses += 1;
        self.dns.answered(&key);
        if !msg.complete {
            self.warn_with("truncated-dns", Some(frame.number), Some(frame.offset), || {
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
            flow: obs.flow,
            msg,
        };
        match self.dns.push(answer) {
            Ok(idx) => self.emit(Event::Dns(idx)),
            Err(dns_log::LogFull) => {
                // Counted, not stored: the report keeps the first answers it listed.
                self.stats.dns_answers_evicted += 1;
                if self.stats.dns_answers_evicted == 1 {
                    let max = self.dns.max_answers();
                    self.warn_with("dns-answers-capped", Some(frame.number), Some(frame.offset), || {
                        format!(
                            "frame {}: more than {max} DNS answers; later ones are counted, not stored",
                            frame.number
                        )
                    });
                }
            }
        }
    }

    /// Live captures: drops flows closed for 30 s or idle for 120 s (capture time) from the hot
    /// table and frees their reassembly state; idle ones get their [`Event::FlowClose`] now.
    pub fn age_out(&mut self, now_ns: i64) -> usize {
        const CLOSED_NS: i64 = 30 * 1_000_000_000;
        const IDLE_NS: i64 = 120 * 1_000_000_000;
        let n = self.table.age_out(now_ns, CLOSED_NS, IDLE_NS);
        for gone in self.table.take_evicted() {
            if self.settle(gone as usize, true) {
                self.stats.flow_parsers_released += 1;
            }
            let f = &self.table.flows()[gone as usize];
            if !(f.proto == L4::Tcp && f.tcp.closed()) {
                self.emit(Event::FlowClose(gone));
            }
        }
        self.stats.flows_aged_out = self.table.stats.aged_out;
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
        self.stats.flows_evicted = self.table.stats.evicted;
        self.stats.peak_active_flows = self.table.stats.peak_active;
    }

    /// Drops the reassembly state of flow `id`, reading a ClientHello cut short as far as it
    /// goes first. Whether there was state to drop.
    fn settle(&mut self, id: usize, emit: bool) -> bool {
        let named = self.settle_quic(id, emit) | self.settle_http(id);
        let Some(mut p) = self.facts[id].parse.take() else {
            return named;
        };
        self.settle_tls(id, &mut p, emit);
        true
    }

    /// Answers (indices into `dns`) that held `addr`, in arrival order.
    pub fn answers_for(&self, addr: &IpAddr) -> &[u32] {
        self.dns.answers_for(addr)
    }
}

fn frame_ts(frame: &Frame<'_>) -> i64 {
    frame.ts_ns
}

/// DNS, mDNS and LLMNR.
pub fn is_dns_port(port: u16) -> bool {
    matches!(port, 53 | 5353 | 5355)
}
