//! Findings: what the flows mean for a firewall, in a sentence with the evidence.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use super::{Endpoint, FlowView};
use crate::classify::rules::{Role, Rules};
use crate::classify::scope::Scope;
use crate::format::human_bytes;
use crate::session::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    DataViaStorageAccount,
    DataViaDedicatedEndpoint,
    PrivateLink,
    PrivateLinkResolvedPublicly,
    UnnamedFlows,
    UnusedDnsAnswers,
    ConnectTimeout,
    ConnectRefused,
    Unreachable,
    ResetAfterClientHello,
    TlsAlert,
    DnsFailure,
    PrivateLinkRecordMissing,
    ProxyRefused,
    ViaProxy,
    TlsIntercepted,
    PlainHttpRegistry,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::DataViaStorageAccount => "data-via-storage-account",
            FindingKind::DataViaDedicatedEndpoint => "data-via-dedicated-endpoint",
            FindingKind::PrivateLink => "private-link",
            FindingKind::PrivateLinkResolvedPublicly => "private-link-resolved-publicly",
            FindingKind::UnnamedFlows => "unnamed-flows",
            FindingKind::UnusedDnsAnswers => "unused-dns-answers",
            FindingKind::ConnectTimeout => "connect-timeout",
            FindingKind::ConnectRefused => "connect-refused",
            FindingKind::Unreachable => "unreachable",
            FindingKind::ResetAfterClientHello => "reset-after-client-hello",
            FindingKind::TlsAlert => "tls-alert",
            FindingKind::DnsFailure => "dns-failure",
            FindingKind::PrivateLinkRecordMissing => "private-link-record-missing",
            FindingKind::ProxyRefused => "proxy-refused",
            FindingKind::ViaProxy => "via-proxy",
            FindingKind::TlsIntercepted => "tls-intercepted",
            FindingKind::PlainHttpRegistry => "plain-http-registry",
        }
    }
}

/// How much a finding matters to the pull: `error` broke it, `warning` may, `info` explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A finding's own fields, by kind (absent ones are left out of the JSON).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// connect-timeout: SYNs sent in all, and the longest time one flow kept trying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn_span_s: Option<f64>,
    /// reset-after-client-hello: "rst" or "fin".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_with: Option<&'static str>,
    /// unreachable: the ICMP message and who sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_from: Option<IpAddr>,
    /// dns-failure and private-link-record-missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_server: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privatelink_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The record to add, relative to `zone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// proxy-refused and via-proxy: the proxy as `address:port`, its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_authenticate: Option<String>,
    /// tls-alert and tls-intercepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_from: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_cn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_cn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub san: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_alert: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub registry: Option<String>,
    pub message: String,
    /// Host names the finding is about.
    pub hosts: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub bytes: u64,
    pub flows: u64,
    #[serde(flatten)]
    pub details: Details,
}

/// Every finding, most severe first (in the order they were made within a severity): every
/// view shows them in this order.
pub fn build(s: &Session, flows: &[FlowView], endpoints: &[Endpoint], rules: &Rules) -> Vec<Finding> {
    let mut out = Vec::new();
    super::failures::flow_failures(s, flows, &mut out);
    super::failures::dns_failures(s, flows, rules, &mut out);
    super::failures::via_proxy(s, flows, &mut out);
    registry_findings(flows, endpoints, &mut out);
    private_link_findings(s, flows, &mut out);
    unnamed(s, flows, &mut out);
    unused_answers(s, &mut out);
    plain_http_registry(s, flows, &mut out);
    out.sort_by_key(|f| f.severity);
    out
}

/// Registry traffic in plain HTTP (not a CONNECT to a proxy, no TLS): a registry name by the
/// rules, or the registry API (`/v2/`) on any name. One finding per registry (or host).
fn plain_http_registry(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<String, (Option<String>, Group)> = BTreeMap::new();
    for v in flows {
        let facts = s.flow(v.id).facts;
        let Some(req) = facts.http.as_ref().and_then(|h| h.request.as_ref()) else { continue };
        if req.connect.is_some() || facts.tls.client_hello.is_some() {
            continue;
        }
        let registry_role = !matches!(v.class.role, Role::Other | Role::Dns);
        let api =
            req.path.starts_with("/v2/") || req.path == "/v2" || req.path.contains("://") && req.path.contains("/v2/");
        if !registry_role && !api {
            continue;
        }
        let host = v.naming.hostname.clone().unwrap_or_else(|| s.flows()[v.id as usize].server.to_string());
        let key = v.class.registry.clone().unwrap_or_else(|| host.clone());
        let (_, g) = groups.entry(key).or_insert_with(|| (v.class.registry.clone(), Group::default()));
        if g.seen_hosts.insert(host.clone()) {
            g.hosts.push(host);
        }
        g.add(&s.flows()[v.id as usize]);
    }
    for (_, (reg, g)) in groups {
        let what = reg.as_deref().map_or_else(|| "A registry".to_string(), |r| format!("Registry {r}"));
        out.push(Finding {
            kind: FindingKind::PlainHttpRegistry,
            severity: Severity::Warning,
            message: format!(
                "{what} was reached over plain HTTP at {} ({}, {} in {} flows): its tokens, credentials and image \
                 data cross the network in clear, readable and changeable by anyone on the path. Serve it over \
                 HTTPS and take it out of the client's insecure registries.",
                g.hosts.join(", "),
                addrs_text(&g.addresses),
                human_bytes(g.bytes),
                g.flows
            ),
            registry: reg,
            hosts: g.hosts,
            addresses: g.addresses,
            bytes: g.bytes,
            flows: g.flows,
            details: Details::default(),
        });
    }
}

fn addrs_text(a: &[IpAddr]) -> String {
    a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

fn registry_findings(flows: &[FlowView], endpoints: &[Endpoint], out: &mut Vec<Finding>) {
    // A data endpoint none of whose flows got through served nothing: its failure finding
    // says so, and "layer data came from" would not be true.
    let mut served: FxHashSet<&str> = FxHashSet::default();
    for v in flows.iter().filter(|v| !v.outcome.failed()) {
        if let Some(h) = &v.naming.hostname {
            served.insert(h.as_str());
        }
    }
    for e in endpoints {
        let Some(host) = e.hostname.clone() else { continue };
        if !served.contains(host.as_str()) {
            continue;
        }
        let reg = e.registry.clone();
        let for_reg = reg.as_deref().map(|r| format!(" of registry {r}")).unwrap_or_default();
        match e.role_kind {
            Role::AcrDataBlob => out.push(Finding {
                kind: FindingKind::DataViaStorageAccount,
                severity: Severity::Info,
                message: format!(
                    "Layer data{for_reg} came from the storage account {host} ({}, {} in {} flows): the dedicated data \
                     endpoint is not enabled, so a firewall must allow {host} by name; its address is not fixed.",
                    addrs_text(&e.addresses),
                    human_bytes(e.bytes),
                    e.flows
                ),
                registry: reg,
                hosts: vec![host],
                addresses: e.addresses.clone(),
                bytes: e.bytes,
                flows: e.flows,
                details: Details::default(),
            }),
            Role::AcrDataDedicated if !e.via_private_link => {
                let tag = if e.service_tags.is_empty() {
                    String::new()
                } else {
                    format!(" (service tag {})", e.service_tags[0])
                };
                out.push(Finding {
                    kind: FindingKind::DataViaDedicatedEndpoint,
                    severity: Severity::Info,
                    message: format!(
                        "Layer data{for_reg} came from the dedicated data endpoint {host} → {}{tag}, {} in {} flows: \
                         allow {host} (and the login server); no storage account is involved.",
                        addrs_text(&e.addresses),
                        human_bytes(e.bytes),
                        e.flows
                    ),
                    registry: reg,
                    hosts: vec![host],
                    addresses: e.addresses.clone(),
                    bytes: e.bytes,
                    flows: e.flows,
                    details: Details::default(),
                });
            }
            _ => {}
        }
    }
}

fn private_link_findings(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    // Per registry: names that went through private link, and names whose privatelink alias
    // resolved to a public address.
    let mut private: BTreeMap<Option<String>, Group> = BTreeMap::new();
    let mut public: BTreeMap<Option<String>, Group> = BTreeMap::new();
    for v in flows.iter().filter(|v| v.privatelink_alias) {
        let f = &s.flows()[v.id as usize];
        let target = if v.via_private_link {
            &mut private
        } else if v.scope == Scope::Public {
            &mut public
        } else {
            continue;
        };
        // Looked up before it is cloned: most flows join a registry already there.
        let g = match target.get_mut(&v.class.registry) {
            Some(g) => g,
            None => target.entry(v.class.registry.clone()).or_default(),
        };
        if let Some(h) = &v.naming.hostname {
            if g.seen_hosts.insert(h.clone()) {
                g.hosts.push(h.clone());
            }
        }
        g.add(f);
    }
    for (reg, g) in private {
        let for_reg = reg.as_deref().map(|r| format!(" for registry {r}")).unwrap_or_default();
        out.push(Finding {
            kind: FindingKind::PrivateLink,
            severity: Severity::Info,
            message: format!(
                "Private link in use{for_reg}: {} resolved through privatelink.azurecr.io to the private addresses {} \
                 ({} in {} flows); the traffic stays in the virtual network.",
                g.hosts.join(" and "),
                addrs_text(&g.addresses),
                human_bytes(g.bytes),
                g.flows
            ),
            registry: reg,
            hosts: g.hosts,
            addresses: g.addresses,
            bytes: g.bytes,
            flows: g.flows,
            details: Details::default(),
        });
    }
    for (reg, g) in public {
        let for_reg = reg.as_deref().map(|r| format!(" for registry {r}")).unwrap_or_default();
        out.push(Finding {
            kind: FindingKind::PrivateLinkResolvedPublicly,
            severity: Severity::Warning,
            message: format!(
                "Private link is configured{for_reg} (privatelink alias in the DNS chain), but this client resolved {} \
                 to the public addresses {}: it does not use the private DNS zone, so the traffic left over the \
                 public endpoint ({} in {} flows).",
                g.hosts.join(" and "),
                addrs_text(&g.addresses),
                human_bytes(g.bytes),
                g.flows
            ),
            registry: reg,
            hosts: g.hosts,
            addresses: g.addresses,
            bytes: g.bytes,
            flows: g.flows,
            details: Details::default(),
        });
    }
}

/// Flows summed up, their names and addresses in order of first sight, each once.
#[derive(Default)]
struct Group {
    hosts: Vec<String>,
    addresses: Vec<IpAddr>,
    bytes: u64,
    flows: u64,
    seen_hosts: FxHashSet<String>,
    seen_addresses: FxHashSet<IpAddr>,
}

impl Group {
    fn add(&mut self, f: &crate::flow::Flow) {
        if self.seen_addresses.insert(f.server) {
            self.addresses.push(f.server);
        }
        self.bytes += f.bytes();
        self.flows += 1;
    }
}

fn unnamed(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    let mut g = Group::default();
    for v in flows.iter().filter(|v| v.naming.hostname.is_none() && v.class.role != Role::Dns) {
        g.add(&s.flows()[v.id as usize]);
    }
    if g.flows == 0 {
        return;
    }
    let shown: Vec<IpAddr> = g.addresses.iter().take(8).copied().collect();
    let more = g.addresses.len().saturating_sub(shown.len());
    out.push(Finding {
        kind: FindingKind::UnnamedFlows,
        severity: Severity::Info,
        registry: None,
        message: format!(
            "{} flows ({}) had no name: no DNS answer and no TLS SNI named their servers {}{}. The answer may have come \
             before the capture started, or from a cache.",
            g.flows,
            human_bytes(g.bytes),
            addrs_text(&shown),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ),
        hosts: Vec::new(),
        addresses: g.addresses,
        bytes: g.bytes,
        flows: g.flows,
        details: Details::default(),
    });
}

fn unused_answers(s: &Session, out: &mut Vec<Finding>) {
    let used: FxHashSet<IpAddr> = s.flows().iter().map(|f| f.server).collect();
    // Judged per name: a dual-stack client asks for A and AAAA and uses one of them, so a name
    // counts as used when any answer for it led to a flow. Names in order of first answer.
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    let mut by_name: Vec<(String, Vec<IpAddr>, bool)> = Vec::new();
    let mut seen: FxHashSet<(usize, IpAddr)> = FxHashSet::default();
    for a in s.dns.iter().filter(|a| !a.msg.addresses.is_empty()) {
        let q = crate::session::naming::normalize(a.query());
        let hit = a.msg.addresses.iter().any(|x| used.contains(x));
        let i = *index.entry(q).or_insert_with_key(|q| {
            by_name.push((q.clone(), Vec::new(), false));
            by_name.len() - 1
        });
        let (_, addrs, any) = &mut by_name[i];
        *any |= hit;
        for x in &a.msg.addresses {
            if seen.insert((i, *x)) {
                addrs.push(*x);
            }
        }
    }
    let mut hosts: Vec<String> = Vec::new();
    let mut addrs: Vec<IpAddr> = Vec::new();
    for (q, a, _) in by_name.into_iter().filter(|(_, _, any)| !any) {
        hosts.push(q);
        addrs.extend(a);
    }
    if hosts.is_empty() {
        return;
    }
    let shown: Vec<&str> = hosts.iter().take(8).map(|h| h.as_str()).collect();
    out.push(Finding {
        kind: FindingKind::UnusedDnsAnswers,
        severity: Severity::Info,
        registry: None,
        message: format!(
            "{} names were resolved but no flow went to their addresses: {}{}.",
            hosts.len(),
            shown.join(", "),
            if hosts.len() > shown.len() { format!(" and {} more", hosts.len() - shown.len()) } else { String::new() }
        ),
        hosts,
        addresses: addrs,
        bytes: 0,
        flows: 0,
        details: Details::default(),
    });
}
