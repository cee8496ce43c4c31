//! Findings: what the flows mean for a firewall, in a sentence with the evidence.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use super::{Endpoint, FlowView};
use crate::classify::rules::Role;
use crate::classify::scope::Scope;
use crate::output::text::human_bytes;
use crate::session::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    DataViaStorageAccount,
    DataViaDedicatedEndpoint,
    PrivateLink,
    PrivateLinkResolvedPublicly,
    UnnamedFlows,
    UnusedDnsAnswers,
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
            FindingKind::PlainHttpRegistry => "plain-http-registry",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub registry: Option<String>,
    pub message: String,
    /// Host names the finding is about.
    pub hosts: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub bytes: u64,
    pub flows: u64,
}

pub fn build(s: &Session, flows: &[FlowView], endpoints: &[Endpoint]) -> Vec<Finding> {
    let mut out = Vec::new();
    registry_findings(endpoints, &mut out);
    private_link_findings(s, flows, &mut out);
    unnamed(s, flows, &mut out);
    unused_answers(s, &mut out);
    plain_http_registry(s, flows, &mut out);
    out
}

/// Registry traffic in plain HTTP (not a CONNECT to a proxy, no TLS): a registry name by the
/// rules, or the registry API (`/v2/`) on any name. One finding per registry (or host).
// severity: warning
fn plain_http_registry(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<String, (Option<String>, Group)> = BTreeMap::new();
    for v in flows {
        let facts = &s.facts[v.id as usize];
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
        });
    }
}

fn addrs_text(a: &[IpAddr]) -> String {
    a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

fn registry_findings(endpoints: &[Endpoint], out: &mut Vec<Finding>) {
    for e in endpoints {
        let Some(host) = e.hostname.clone() else { continue };
        let reg = e.registry.clone();
        let for_reg = reg.as_deref().map(|r| format!(" of registry {r}")).unwrap_or_default();
        match e.role_kind {
            Role::AcrDataBlob => out.push(Finding {
                kind: FindingKind::DataViaStorageAccount,
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
            }),
            Role::AcrDataDedicated if !e.via_private_link => {
                let tag = if e.service_tags.is_empty() {
                    String::new()
                } else {
                    format!(" (service tag {})", e.service_tags[0])
                };
                out.push(Finding {
                    kind: FindingKind::DataViaDedicatedEndpoint,
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
        });
    }
    for (reg, g) in public {
        let for_reg = reg.as_deref().map(|r| format!(" for registry {r}")).unwrap_or_default();
        out.push(Finding {
            kind: FindingKind::PrivateLinkResolvedPublicly,
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
    });
}
