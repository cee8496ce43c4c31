//! The `report --format json` document. Field names are a contract: see docs/json.md.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Serialize;

pub use crate::format::{rcode_name, tls_version_name, tls_version_text};

use super::time::Rfc3339Us;
use crate::analysis::{Analysis, FlowView};
use crate::session::{DnsAnswer, PendingQuery, Session, Stats};

/// The whole document. Its long arrays are [`Each`]: written record by record, so a report
/// on hundreds of thousands of flows is never held in memory whole.
#[derive(Serialize)]
pub struct Report<'a> {
    pub capture: &'a CaptureInfo,
    pub flows: Each<'a, FlowView, FlowRecord<'a>>,
    pub dns: Each<'a, DnsAnswer, DnsRecord<'a>>,
    pub unanswered_queries: Each<'a, PendingQuery, QueryRecord<'a>>,
    pub endpoints: &'a [crate::analysis::Endpoint],
    pub findings: &'a [crate::analysis::Finding],
    pub pulls: Vec<PullRecord<'a>>,
    pub stats: &'a Stats,
}

/// Where the time of one registry's pull went (docs/json.md, `pulls[]`).
#[derive(Serialize)]
pub struct PullRecord<'a> {
    pub registry: &'a str,
    pub start_ts: Rfc3339Us,
    pub end_ts: Rfc3339Us,
    pub duration_s: f64,
    pub resolving_s: f64,
    pub connecting_s: f64,
    pub tls_handshake_s: f64,
    pub waiting_s: f64,
    pub receiving_s: f64,
    pub stalled_s: f64,
    pub idle_s: f64,
    pub flows: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub throughput_bps: Option<f64>,
    pub best_flow_bps: Option<f64>,
    pub best_flow: Option<u32>,
    pub layer_downloads: u64,
    pub concurrent_downloads: u64,
}

pub fn pull_record(p: &crate::analysis::pulls::Pull) -> PullRecord<'_> {
    use crate::analysis::phases::Phase;
    let s = |ns: i64| (ns as f64 / 1e6).round() / 1e3;
    PullRecord {
        registry: &p.registry,
        start_ts: Rfc3339Us(p.start_ns),
        end_ts: Rfc3339Us(p.end_ns),
        duration_s: s(p.duration_ns()),
        resolving_s: s(p.time.of(Phase::Resolving)),
        connecting_s: s(p.time.of(Phase::Connecting)),
        tls_handshake_s: s(p.time.of(Phase::Handshake)),
        waiting_s: s(p.time.of(Phase::Waiting)),
        receiving_s: s(p.time.of(Phase::Receiving)),
        stalled_s: s(p.time.of(Phase::Stalled)),
        idle_s: s(p.time.idle_ns),
        flows: p.flows,
        bytes_up: p.bytes_up,
        bytes_down: p.bytes_down,
        throughput_bps: p.throughput_bps().map(f64::round),
        best_flow_bps: p.best_flow_bps.map(f64::round),
        best_flow: p.best_flow,
        layer_downloads: p.layer_downloads,
        concurrent_downloads: p.concurrent_downloads,
    }
}

/// A JSON array of one record per item, each made only when it is written.
pub struct Each<'a, T, R> {
    items: &'a [T],
    record: Box<dyn Fn(&'a T) -> R + Send + Sync + 'a>,
}

/// How the long arrays are spread over threads.
#[derive(Debug, Clone, Copy)]
struct Par {
    threads: usize,
    per_part: usize,
}

/// Records each thread writes at a time on one line: big enough to be worth a thread, small
/// enough that the parts in memory stay a few megabytes.
const RECORDS_PER_PART: usize = 1024;

impl<'a, T, R> Each<'a, T, R> {
    pub fn new(items: &'a [T], record: impl Fn(&'a T) -> R + Send + Sync + 'a) -> Self {
        Each { items, record: Box::new(record) }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The records, made one by one.
    pub fn iter(&self) -> impl Iterator<Item = R> + use<'_, 'a, T, R> {
        self.items.iter().map(&self.record)
    }
}

/// A record of a long array, as one line of JSON.
pub trait Record: Serialize {
    fn write_line(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        super::literal_keys::write(out, self)
    }
}

impl Record for FlowRecord<'_> {}

impl Record for DnsRecord<'_> {}

impl Record for QueryRecord<'_> {}

impl<'a, T: Sync, R: Record> Each<'a, T, R> {
    /// The array on one line, as `serde_json::to_writer` writes it, its records made and
    /// written on every core: a report of hundreds of thousands of flows is hundreds of
    /// megabytes of JSON.
    fn write_compact(&self, out: &mut impl std::io::Write, par: Par) -> std::io::Result<()> {
        let parts: Vec<&'a [T]> = self.items.chunks(par.per_part.max(1)).collect();
        let spare = crate::par::Spare::<Vec<u8>>::new();
        let make = |part: &'a [T]| {
            let mut buf = spare.take().unwrap_or_default();
            for (i, item) in part.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                (self.record)(item).write_line(&mut buf)?;
            }
            Ok::<_, serde_json::Error>(buf)
        };
        let mut write = |i: usize, part: serde_json::Result<Vec<u8>>| -> std::io::Result<()> {
            let mut part = part?;
            out.write_all(if i == 0 { b"[" } else { b"," })?;
            out.write_all(&part)?;
            part.clear();
            spare.give(part);
            Ok(())
        };
        crate::par::make_in_order(&parts, par.threads, |p| make(p), &mut write)?;
        out.write_all(if parts.is_empty() { b"[]" } else { b"]" })
    }
}

impl<T, R: Serialize> Serialize for Each<'_, T, R> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// What was read, and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureInfo {
    /// The acrscope that read it, with its commit (`crate::VERSION`): a report says what made it.
    pub acrscope_version: &'static str,
    pub source: String,
    pub format: String,
    /// RFC 3339 time of the first and last packet.
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
    /// Set when reading stopped early (truncated or corrupt file): what happened and where.
    pub error: Option<String>,
    /// Live captures only: the interface and libpcap's counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveInfo>,
}

impl Default for CaptureInfo {
    fn default() -> CaptureInfo {
        CaptureInfo {
            acrscope_version: crate::VERSION,
            source: String::new(),
            format: String::new(),
            first_ts: None,
            last_ts: None,
            error: None,
            live: None,
        }
    }
}

/// How a live capture went (`capture.live` of the report).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveInfo {
    pub interface: String,
    /// Why that interface (`default route`), when the user did not name it.
    pub chosen_because: Option<&'static str>,
    pub link_type: &'static str,
    pub filter: Option<String>,
    /// The user the capture ran as after giving up root, if it did.
    pub user: Option<String>,
    pub duration_s: f64,
    /// libpcap's counters: packets the kernel saw, dropped because acrscope fell behind, and
    /// dropped by the interface.
    pub received: Option<u64>,
    pub kernel_drops: Option<u64>,
    pub if_drops: Option<u64>,
    /// Flows no process could be found for, by reason; null when attribution was off.
    pub flows_unattributed: Option<u64>,
    pub unattributed_because: Option<std::collections::BTreeMap<&'static str, u64>>,
}

#[derive(Serialize)]
pub struct FlowRecord<'a> {
    pub id: u32,
    pub proto: &'static str,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub first_ts: Rfc3339Us,
    pub last_ts: Rfc3339Us,
    pub duration_s: f64,
    pub first_frame: u64,
    pub packets_up: u64,
    pub packets_down: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub sni: Option<&'a str>,
    pub alpn: &'a [String],
    /// Highest version the client offered (supported_versions, else legacy_version).
    pub tls_version: Option<Cow<'static, str>>,
    pub tls_offered_versions: Vec<Cow<'static, str>>,
    /// Version the server chose (ServerHello), when seen.
    pub tls_server_version: Option<Cow<'static, str>>,
    /// ClientHello to ServerHello, in milliseconds, when both were seen.
    pub tls_handshake_ms: Option<f64>,
    /// The server's leaf certificate, when it came in clear (TLS 1.2 and older).
    pub tls_certificate: Option<CertRecord<'a>>,
    /// Alerts sent in clear, either way, in capture order.
    pub tls_alerts: Vec<AlertRecord>,
    /// The ClientHello was cut (a segment missing): SNI read from what was there.
    pub tls_partial: bool,
    /// Plain HTTP: the first request's Host (lower-case, no port), method and path (never its
    /// query string), the first response's status and the host of its `Location`.
    pub http_host: Option<&'a str>,
    pub http_method: Option<&'a str>,
    pub http_path: Option<&'a str>,
    pub http_status: Option<u16>,
    pub http_location_host: Option<&'a str>,
    /// The client's `CONNECT` to a proxy, and the proxy's answer.
    pub http_connect: Option<HttpConnectRecord<'a>>,
    /// `addr:port` of the proxy this flow went through (its server side), for a CONNECT.
    pub proxy: Option<String>,
    /// QUIC version of the client's Initial packets (`0x00000001`), for a QUIC flow.
    pub quic_version: Option<String>,
    pub hostname: Option<&'a str>,
    pub name_source: &'static str,
    pub dns_chain: &'a [String],
    pub provider: Option<&'a str>,
    pub role: &'static str,
    pub registry: Option<&'a str>,
    pub region: Option<&'a str>,
    pub account: Option<&'a str>,
    pub via_private_link: bool,
    pub scope: &'static str,
    pub well_known: Option<&'static str>,
    pub service_tags: Vec<&'a str>,
    pub client_by: crate::flow::ClientBy,
    pub tcp_state: &'static str,
    /// How the flow ended or where it broke (docs/json.md lists the values).
    pub outcome: &'static str,
    /// The last SYN before the SYN-ACK to the SYN-ACK: the path's round trip.
    pub connect_rtt_ms: Option<f64>,
    /// SYNs the client sent (1 + retransmissions), and the seconds from the first to the last.
    pub syns: u16,
    pub syn_span_s: f64,
    /// Segments that carried only data already sent, client to server and back (tshark's
    /// retransmissions, fast and spurious ones included).
    pub retransmissions_up: u32,
    pub retransmissions_down: u32,
    /// How the transfer went, as tshark's TCP analysis counts it (docs/json.md); null for UDP.
    pub lost_segments_down: Option<u32>,
    pub out_of_order_down: Option<u32>,
    pub zero_windows_up: Option<u32>,
    pub zero_windows_down: Option<u32>,
    pub window_full_down: Option<u32>,
    pub max_gap_down_s: Option<f64>,
    pub goodput_down_bps: Option<f64>,
    pub mss_up: Option<u16>,
    pub mss_down: Option<u16>,
    pub max_segment_down: Option<u32>,
    pub ttfb_ms: Option<f64>,
    /// How each side first closed: "fin", "rst" or null.
    pub client_close: Option<&'static str>,
    pub server_close: Option<&'static str>,
    /// An ICMP destination unreachable that quoted this flow.
    pub icmp: Option<IcmpRecord>,
    pub truncated: bool,
    /// Live: packets the capture itself dropped (its ring was full) while the flow lasted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_drops: Option<u64>,
    pub interface: u32,
    pub ifindex: Option<u32>,
    /// The local process that held the socket when the first packet was seen (live only).
    pub process: Option<&'a crate::procs::Process>,
}

#[derive(Serialize)]
pub struct IcmpRecord {
    pub from: IpAddr,
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    pub description: &'static str,
    pub count: u32,
}

impl IcmpRecord {
    fn of(i: crate::flow::IcmpSeen) -> IcmpRecord {
        IcmpRecord {
            from: i.from,
            icmp_type: i.error.icmp_type,
            code: i.error.code,
            description: i.error.describe(),
            count: i.count,
        }
    }
}

#[derive(Serialize)]
pub struct HttpConnectRecord<'a> {
    /// `host:port` as the client asked for it.
    pub target: &'a str,
    pub status: Option<u16>,
    pub status_line: Option<&'a str>,
    pub proxy_authenticate: Option<&'a str>,
    /// The proxy's `Server` header (`squid/5.7`).
    pub proxy_server: Option<&'a str>,
}

#[derive(Serialize)]
pub struct DnsRecord<'a> {
    pub ts: Rfc3339Us,
    pub frame: u64,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub transport: &'static str,
    pub id: u16,
    pub query: &'a str,
    pub qtype: &'a str,
    pub rcode: u16,
    pub rcode_name: &'static str,
    pub chain: &'a [String],
    pub addresses: &'a [IpAddr],
    pub ttl: Option<u32>,
    pub complete: bool,
    /// From the first query of this lookup (same name and type, since their previous answer)
    /// to this answer; null when none was seen.
    pub latency_ms: Option<f64>,
    /// The queries of this lookup, retries included.
    pub queries: u32,
    /// Live: the local process that asked (the process of the DNS flow), or null.
    pub process: Option<&'a crate::procs::Process>,
    /// That process is a local resolver or cache (systemd-resolved, dnsmasq, ...): it asked
    /// for some other program, not necessarily the pull.
    pub asked_by_resolver: bool,
}

#[derive(Serialize)]
pub struct QueryRecord<'a> {
    pub ts: Rfc3339Us,
    pub frame: u64,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub transport: &'static str,
    pub query: &'a str,
    pub qtype: &'a str,
}

pub fn flow_record<'a>(s: &'a Session, v: &'a FlowView) -> FlowRecord<'a> {
    let f = &s.flows()[v.id as usize];
    let facts = s.flow(v.id).facts;
    let tls = &facts.tls;
    let transfer = facts.transfer.as_deref().map(|t| &t.metrics);
    let ch = tls.client_hello.as_ref();
    let http = facts.http.as_deref();
    let req = http.and_then(|h| h.request.as_ref());
    let resp = http.and_then(|h| h.response.as_ref());
    let connect = req.filter(|r| r.connect.is_some()).map(|r| HttpConnectRecord {
        target: &r.path,
        status: resp.map(|s| s.status),
        status_line: resp.map(|s| s.status_line.as_str()),
        proxy_authenticate: resp.and_then(|s| s.proxy_authenticate.as_deref()),
        proxy_server: resp.and_then(|s| s.server.as_deref()),
    });
    let offered: &[u16] = ch.map_or(&[], |c| c.offered_versions());
    FlowRecord {
        id: f.id,
        proto: f.proto.as_str(),
        client: f.client,
        client_port: f.client_port,
        server: f.server,
        server_port: f.server_port,
        first_ts: Rfc3339Us(f.first_ns),
        last_ts: Rfc3339Us(f.last_ns),
        duration_s: (f.last_ns - f.first_ns) as f64 / 1e9,
        first_frame: f.first_frame,
        packets_up: f.packets_up,
        packets_down: f.packets_down,
        bytes_up: f.bytes_up,
        bytes_down: f.bytes_down,
        sni: ch.and_then(|c| c.sni.as_deref()),
        alpn: ch.map_or(&[], |c| c.alpn.as_slice()),
        tls_version: ch.map(|c| tls_version_text(c.offered_version())),
        tls_offered_versions: offered.iter().map(|v| tls_version_text(*v)).collect(),
        tls_server_version: tls.server_version.map(tls_version_text),
        tls_handshake_ms: match (tls.client_hello_ns.get(), tls.server_hello_ns.get()) {
            (Some(c), Some(s)) if s >= c => Some(((s - c) / 1_000) as f64 / 1e3),
            _ => None,
        },
        tls_certificate: tls.certificate.as_deref().map(CertRecord::of),
        tls_alerts: tls.alerts.iter().map(AlertRecord::of).collect(),
        tls_partial: ch.is_some_and(|c| c.partial),
        http_host: req.and_then(|r| r.host.as_deref()),
        http_method: req.map(|r| r.method.as_str()),
        http_path: req.map(|r| r.path.as_str()),
        http_status: resp.map(|r| r.status),
        http_location_host: resp.and_then(|r| r.location_host.as_deref()),
        proxy: connect.as_ref().map(|_| crate::format::sock(f.server, f.server_port)),
        http_connect: connect,
        quic_version: facts.quic.as_ref().and_then(|q| q.version).map(|v| format!("0x{v:08x}")),
        hostname: v.naming.hostname.as_deref(),
        name_source: v.naming.source.as_str(),
        dns_chain: v.chain(s),
        provider: v.class.provider.as_deref(),
        role: v.class.role.as_str(),
        registry: v.class.registry.as_deref(),
        region: v.class.region.as_deref(),
        account: v.class.account.as_deref(),
        via_private_link: v.via_private_link,
        scope: v.scope.as_str(),
        well_known: v.well_known.map(crate::classify::scope::WellKnown::name),
        service_tags: v.tags.iter().map(|t| t.tag.as_str()).collect(),
        client_by: f.client_by,
        tcp_state: f.state_name(),
        outcome: v.outcome.as_str(),
        connect_rtt_ms: f.tcp.connect_rtt_ns().map(crate::analysis::outcome::ms),
        syns: f.tcp.syns(),
        syn_span_s: crate::analysis::outcome::syn_span_ns(f) as f64 / 1e9,
        retransmissions_up: transfer.map_or(0, |t| t.retransmissions_up),
        retransmissions_down: transfer.map_or(0, |t| t.retransmissions_down),
        lost_segments_down: transfer.map(|m| m.lost_segments_down),
        out_of_order_down: transfer.map(|m| m.out_of_order_down),
        zero_windows_up: transfer.map(|m| m.zero_windows_up),
        zero_windows_down: transfer.map(|m| m.zero_windows_down),
        window_full_down: transfer.map(|m| m.window_full_down),
        max_gap_down_s: transfer.and_then(|m| m.max_gap_down_ns()).map(|g| (g / 1_000) as f64 / 1e6),
        goodput_down_bps: transfer.and_then(|m| m.goodput_down_bps()).map(|b| (b * 10.0).round() / 10.0),
        mss_up: transfer.and_then(|m| m.mss_up()),
        mss_down: transfer.and_then(|m| m.mss_down()),
        max_segment_down: transfer.map(|m| m.max_segment_down),
        ttfb_ms: transfer.and_then(|m| m.ttfb_ns()).filter(|t| *t >= 0).map(crate::analysis::outcome::ms),
        client_close: f.tcp.client_close().map(|c| c.how.as_str()),
        server_close: f.tcp.server_close().map(|c| c.how.as_str()),
        icmp: f.icmp().map(IcmpRecord::of),
        capture_drops: s.capture_drops_of(v.id),
        truncated: f.truncated,
        interface: f.interface,
        ifindex: f.ifindex,
        process: facts.process.as_deref(),
    }
}

pub fn dns_record<'a>(s: &'a Session, a: &'a DnsAnswer) -> DnsRecord<'a> {
    let process = s.get_flow(a.flow).and_then(|f| f.facts.process.as_deref());
    DnsRecord {
        process,
        asked_by_resolver: process
            .is_some_and(|p| p.side == crate::procs::Side::Client && crate::procs::is_resolver(&p.name)),
        ts: Rfc3339Us(a.ts_ns),
        frame: a.frame,
        client: a.client,
        client_port: a.client_port,
        server: a.server,
        server_port: a.server_port,
        transport: a.transport.as_str(),
        id: a.msg.id,
        query: a.query(),
        qtype: a.msg.qtype.as_deref().unwrap_or(""),
        rcode: a.msg.rcode,
        rcode_name: rcode_name(a.msg.rcode),
        chain: &a.msg.chain,
        addresses: &a.msg.addresses,
        ttl: a.msg.min_ttl,
        complete: a.msg.complete,
        latency_ms: a.latency_ns().map(crate::analysis::outcome::ms),
        queries: a.queries,
    }
}

fn query_record(q: &PendingQuery) -> QueryRecord<'_> {
    QueryRecord {
        ts: Rfc3339Us(q.ts_ns),
        frame: q.frame,
        client: q.client,
        client_port: q.client_port,
        server: q.server,
        server_port: q.server_port,
        transport: q.transport.as_str(),
        query: &q.query,
        qtype: &q.qtype,
    }
}

pub fn build<'a>(s: &'a Session, a: &'a Analysis, info: &'a CaptureInfo) -> Report<'a> {
    Report {
        capture: info,
        flows: Each::new(&a.flows, move |v| flow_record(s, v)),
        dns: Each::new(&s.dns, move |d| dns_record(s, d)),
        unanswered_queries: Each::new(s.dns.unanswered(), query_record),
        endpoints: &a.endpoints,
        findings: &a.findings,
        pulls: a.pulls.iter().map(pull_record).collect(),
        stats: &s.stats,
    }
}

/// Writes the document record by record into `out`, then a newline: indented for a person
/// (`pretty`), on one line for a program. The content is the same; on one line it is
/// smaller and faster to write.
pub fn write(out: &mut impl std::io::Write, report: &Report<'_>, pretty: bool) -> std::io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut *out, report)?;
    } else {
        write_compact(out, report, Par { threads: crate::par::threads(8), per_part: RECORDS_PER_PART })?;
    }
    out.write_all(b"\n")
}

/// The bytes `serde_json::to_writer(out, report)` gives (a test holds it to that), with the
/// long arrays written on `threads` threads.
fn write_compact(out: &mut impl std::io::Write, r: &Report<'_>, par: Par) -> std::io::Result<()> {
    fn value(out: &mut impl std::io::Write, key: &str, v: &impl Serialize) -> std::io::Result<()> {
        write!(out, ",\"{key}\":")?;
        serde_json::to_writer(&mut *out, v).map_err(std::io::Error::from)
    }
    out.write_all(b"{\"capture\":")?;
    serde_json::to_writer(&mut *out, r.capture)?;
    out.write_all(b",\"flows\":")?;
    r.flows.write_compact(out, par)?;
    out.write_all(b",\"dns\":")?;
    r.dns.write_compact(out, par)?;
    out.write_all(b",\"unanswered_queries\":")?;
    r.unanswered_queries.write_compact(out, par)?;
    value(out, "endpoints", &r.endpoints)?;
    value(out, "findings", &r.findings)?;
    value(out, "pulls", &r.pulls)?;
    value(out, "stats", &r.stats)?;
    out.write_all(b"}")
}

/// The server's leaf certificate in a flow record.
#[derive(Serialize)]
pub struct CertRecord<'a> {
    pub subject_cn: Option<&'a str>,
    pub subject: &'a str,
    pub issuer_cn: Option<&'a str>,
    pub issuer: &'a str,
    pub san: &'a [String],
    pub not_before: super::time::Rfc3339S,
    pub not_after: super::time::Rfc3339S,
}

impl<'a> CertRecord<'a> {
    fn of(c: &'a crate::dissect::cert::CertInfo) -> CertRecord<'a> {
        CertRecord {
            subject_cn: c.subject_cn.as_deref(),
            subject: &c.subject,
            issuer_cn: c.issuer_cn.as_deref(),
            issuer: &c.issuer,
            san: &c.san,
            not_before: super::time::Rfc3339S(c.not_before),
            not_after: super::time::Rfc3339S(c.not_after),
        }
    }
}

#[derive(Serialize)]
pub struct AlertRecord {
    /// `client` or `server`: who sent it.
    pub from: &'static str,
    pub level: &'static str,
    pub description: &'static str,
    pub code: u8,
}

impl AlertRecord {
    fn of(a: &crate::session::TlsAlert) -> AlertRecord {
        AlertRecord {
            from: if a.from_client { "client" } else { "server" },
            level: a.level_name(),
            description: a.description(),
            code: a.code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analyzer;

    /// The one-line writer promises serde_json's bytes exactly, however the records are split
    /// over threads (parts of 1 to 5 records, 1 to 3 threads: rounds, joins and empty arrays).
    #[test]
    fn compact_writer_gives_serde_json_bytes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut captures: Vec<std::path::PathBuf> = Vec::new();
        for dir in ["assets/captures", "tests/fixtures/lab", "tests/fixtures/lab-extra"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                    captures.push(p);
                }
            }
        }
        assert!(captures.len() >= 8, "bundled captures not found: {captures:?}");
        for path in captures {
            let (session, info) = crate::pipeline::read_file(&path, Default::default(), |_| {}).unwrap();
            let analysis = Analyzer::default().analyze(&session);
            let report = build(&session, &analysis, &info);
            // A pull through a proxy resolves nothing itself: flows, no DNS; others carry both.
            assert!(report.flows.len() > 1, "{}: too small to test", path.display());
            let expected = serde_json::to_vec(&report).unwrap();
            for threads in 1..=3 {
                for per_part in 1..=5 {
                    let mut got = Vec::new();
                    write_compact(&mut got, &report, Par { threads, per_part }).unwrap();
                    assert!(
                        got == expected,
                        "{}: {threads} threads, {per_part} per part: output differs from serde_json's",
                        path.display()
                    );
                }
            }
        }
    }
}
