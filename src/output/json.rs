//! The `report --format json` document. Field names are a contract: see docs/json.md.

use std::net::IpAddr;

use serde::Serialize;

use super::time::rfc3339_us;
use crate::analysis::{Analysis, FlowView};
use crate::session::{DnsAnswer, PendingQuery, Session, Stats};

#[derive(Serialize)]
pub struct Report<'a> {
    pub capture: &'a CaptureInfo,
    pub flows: Vec<FlowRecord<'a>>,
    pub dns: Vec<DnsRecord<'a>>,
    pub unanswered_queries: Vec<QueryRecord<'a>>,
    pub endpoints: Vec<crate::analysis::Endpoint>,
    pub findings: Vec<crate::analysis::Finding>,
    pub stats: &'a Stats,
}

/// What was read, and how it ended.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureInfo {
    pub source: String,
    pub format: String,
    /// RFC 3339 time of the first and last packet.
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
    /// Set when reading stopped early (truncated or corrupt file): what happened and where.
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct FlowRecord<'a> {
    pub id: u32,
    pub proto: &'static str,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub first_ts: String,
    pub last_ts: String,
    pub duration_s: f64,
    pub first_frame: u64,
    pub packets_up: u64,
    pub packets_down: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub sni: Option<&'a str>,
    pub alpn: &'a [String],
    /// Highest version the client offered (supported_versions, else legacy_version).
    pub tls_version: Option<String>,
    pub tls_offered_versions: Vec<String>,
    /// Version the server chose (ServerHello), when seen.
    pub tls_server_version: Option<String>,
    /// The ClientHello was cut (a segment missing): SNI read from what was there.
    pub tls_partial: bool,
    pub hostname: Option<String>,
    pub name_source: &'static str,
    pub dns_chain: Vec<String>,
    pub provider: Option<String>,
    pub role: &'static str,
    pub registry: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub via_private_link: bool,
    pub scope: &'static str,
    pub well_known: Option<&'static str>,
    pub service_tags: Vec<String>,
    pub client_by: crate::flow::ClientBy,
    pub tcp_state: &'static str,
    pub truncated: bool,
    pub interface: u32,
    pub ifindex: Option<u32>,
}

#[derive(Serialize)]
pub struct DnsRecord<'a> {
    pub ts: String,
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
}

#[derive(Serialize)]
pub struct QueryRecord<'a> {
    pub ts: String,
    pub frame: u64,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub transport: &'static str,
    pub query: &'a str,
    pub qtype: &'a str,
}

pub fn tls_version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        _ => format!("0x{v:04x}"),
    }
}

pub fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "OTHER",
    }
}

pub fn flow_record<'a>(s: &'a Session, v: &FlowView) -> FlowRecord<'a> {
    let f = &s.flows()[v.id as usize];
    let tls = &s.facts[v.id as usize].tls;
    let ch = tls.client_hello.as_ref();
    let offered: Vec<u16> = ch
        .map(|c| if c.supported_versions.is_empty() { vec![c.legacy_version] } else { c.supported_versions.clone() })
        .unwrap_or_default();
    FlowRecord {
        id: f.id,
        proto: f.proto.as_str(),
        client: f.client,
        client_port: f.client_port,
        server: f.server,
        server_port: f.server_port,
        first_ts: rfc3339_us(f.first_ns),
        last_ts: rfc3339_us(f.last_ns),
        duration_s: (f.last_ns - f.first_ns) as f64 / 1e9,
        first_frame: f.first_frame,
        packets_up: f.packets_up,
        packets_down: f.packets_down,
        bytes_up: f.bytes_up,
        bytes_down: f.bytes_down,
        sni: ch.and_then(|c| c.sni.as_deref()),
        alpn: ch.map_or(&[], |c| c.alpn.as_slice()),
        tls_version: offered.iter().max().map(|v| tls_version_name(*v)),
        tls_offered_versions: offered.iter().map(|v| tls_version_name(*v)).collect(),
        tls_server_version: tls.server_version.map(tls_version_name),
        tls_partial: ch.is_some_and(|c| c.partial),
        hostname: v.naming.hostname.clone(),
        name_source: v.naming.source.as_str(),
        dns_chain: v.chain(s).to_vec(),
        provider: v.class.provider.clone(),
        role: v.class.role.as_str(),
        registry: v.class.registry.clone(),
        region: v.class.region.clone(),
        account: v.class.account.clone(),
        via_private_link: v.via_private_link,
        scope: v.scope.as_str(),
        well_known: crate::classify::scope::well_known(f.server),
        service_tags: v.tags.iter().map(|t| t.tag.clone()).collect(),
        client_by: f.client_by,
        tcp_state: tcp_state(f),
        truncated: f.truncated,
        interface: f.interface,
        ifindex: f.ifindex,
    }
}

fn tcp_state(f: &crate::flow::Flow) -> &'static str {
    use crate::flow::L4;
    if f.proto == L4::Udp {
        return "udp";
    }
    let t = &f.tcp;
    if t.rst {
        "reset"
    } else if t.fin_up && t.fin_down {
        "closed"
    } else if t.fin_up || t.fin_down {
        "half-closed"
    } else if t.syn && t.syn_ack {
        "established"
    } else if t.syn {
        "syn-sent"
    } else {
        "midstream"
    }
}

pub fn dns_record(a: &DnsAnswer) -> DnsRecord<'_> {
    DnsRecord {
        ts: rfc3339_us(a.ts_ns),
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
    }
}

fn query_record(q: &PendingQuery) -> QueryRecord<'_> {
    QueryRecord {
        ts: rfc3339_us(q.ts_ns),
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

pub fn build<'a>(s: &'a Session, a: &Analysis, info: &'a CaptureInfo) -> Report<'a> {
    Report {
        capture: info,
        flows: a.flows.iter().map(|v| flow_record(s, v)).collect(),
        dns: s.dns.iter().map(dns_record).collect(),
        unanswered_queries: s.unanswered.iter().map(query_record).collect(),
        endpoints: a.endpoints.clone(),
        findings: a.findings.clone(),
        stats: &s.stats,
    }
}
