//! Findings: what the flows mean for a firewall, in a sentence with the evidence.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::finding::{self as kind, About};
pub use super::finding::{Finding, FindingKind, Severity};
use super::{Endpoint, FlowView};
use crate::classify::rules::{Role, Rules};
use crate::classify::scope::Scope;
use crate::format::human_bytes;
use crate::session::Session;

/// Every finding, most severe first (in the order they were made within a severity): every
/// view shows them in this order.
pub fn build(s: &Session, flows: &[FlowView], endpoints: &[Endpoint], rules: &Rules) -> Vec<Finding> {
    let mut out = Vec::new();
    let fallback = super::slow::fallback_flows(s, flows);
    super::failures::flow_failures(s, flows, &fallback, &mut out);
    super::failures::dns_failures(s, flows, rules, &mut out);
    super::failures::via_proxy(s, flows, &mut out);
    registry_findings(flows, endpoints, &mut out);
    private_link_findings(s, flows, &mut out);
    unnamed(s, flows, &mut out);
    unused_answers(s, &mut out);
    plain_http_registry(s, flows, &mut out);
    super::slow::build(s, flows, rules, &fallback, &mut out);
    out.sort_by_key(|f| f.severity);
    out
}

/// Registry traffic in plain HTTP (not a CONNECT to a proxy, no TLS): a registry name by the
/// rules, or the registry API (`/v2/`) on any name. One finding per registry (or host).
fn plain_http_registry(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
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
        let host = v
            .naming
            .hostname
            .as_deref()
            .map(str::to_string)
            .unwrap_or_else(|| s.flows()[v.id as usize].server.to_string());
        let key = v.class.registry.as_deref().map(str::to_string).unwrap_or_else(|| host.clone());
        let t = tallies.entry(key).or_insert_with(|| Tally::of(v.class.registry.as_deref().map(str::to_string)));
        t.add_host(&host);
        t.add(&s.flows()[v.id as usize]);
    }
    for t in tallies.into_values() {
        let what = t.registry.as_deref().map_or_else(|| "A registry".to_string(), |r| format!("Registry {r}"));
        let message = format!(
            "{what} was reached over plain HTTP at {} ({}, {} in {} flows): its tokens, credentials and image data \
             cross the network in clear, readable and changeable by anyone on the path. Serve it over HTTPS and take \
             it out of the client's insecure registries.",
            t.hosts.join(", "),
            addrs_text(&t.addresses),
            human_bytes(t.bytes),
            t.flows
        );
        out.push(Finding::new(kind::PlainHttpRegistry, Severity::Warning, t.about(), message));
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
            served.insert(&**h);
        }
    }
    for e in endpoints {
        let Some(host) = e.hostname.clone() else { continue };
        if !served.contains(host.as_str()) {
            continue;
        }
        let for_reg = e.registry.as_deref().map(|r| format!(" of registry {r}")).unwrap_or_default();
        let about = || About {
            registry: e.registry.clone(),
            hosts: vec![host.clone()],
            addresses: e.addresses.clone(),
            bytes: e.bytes,
            flows: e.flows,
        };
        match e.role_kind {
            Role::AcrDataBlob => {
                let message = format!(
                    "Layer data{for_reg} came from the storage account {host} ({}, {} in {} flows): the dedicated data \
                     endpoint is not enabled, so a firewall must allow {host} by name; its address is not fixed.",
                    addrs_text(&e.addresses),
                    human_bytes(e.bytes),
                    e.flows
                );
                out.push(Finding::new(kind::DataViaStorageAccount, Severity::Info, about(), message));
            }
            Role::AcrDataDedicated if !e.via_private_link => {
                let tag = if e.service_tags.is_empty() {
                    String::new()
                } else {
                    format!(" (service tag {})", e.service_tags[0])
                };
                let message = format!(
                    "Layer data{for_reg} came from the dedicated data endpoint {host} → {}{tag}, {} in {} flows: \
                     allow {host} (and the login server); no storage account is involved.",
                    addrs_text(&e.addresses),
                    human_bytes(e.bytes),
                    e.flows
                );
                out.push(Finding::new(kind::DataViaDedicatedEndpoint, Severity::Info, about(), message));
            }
            _ => {}
        }
    }
}

fn private_link_findings(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    // Per registry: names that went through private link, and names whose privatelink alias
    // resolved to a public address.
    let mut private: BTreeMap<Option<Arc<str>>, Tally> = BTreeMap::new();
    let mut public: BTreeMap<Option<Arc<str>>, Tally> = BTreeMap::new();
    for v in flows.iter().filter(|v| v.privatelink_alias) {
        let f = &s.flows()[v.id as usize];
        let target = if v.via_private_link {
            &mut private
        } else if v.scope == Scope::Public {
            &mut public
        } else {
            continue;
        };
        let t = target
            .entry(v.class.registry.clone())
            .or_insert_with(|| Tally::of(v.class.registry.as_deref().map(str::to_string)));
        if let Some(h) = &v.naming.hostname {
            t.add_host(h);
        }
        t.add(f);
    }
    for t in private.into_values() {
        let for_reg = t.registry.as_deref().map(|r| format!(" for registry {r}")).unwrap_or_default();
        let message = format!(
            "Private link in use{for_reg}: {} resolved through privatelink.azurecr.io to the private addresses {} ({} \
             in {} flows); the traffic stays in the virtual network.",
            t.hosts.join(" and "),
            addrs_text(&t.addresses),
            human_bytes(t.bytes),
            t.flows
        );
        out.push(Finding::new(kind::PrivateLink, Severity::Info, t.about(), message));
    }
    for t in public.into_values() {
        let for_reg = t.registry.as_deref().map(|r| format!(" for registry {r}")).unwrap_or_default();
        let message = format!(
            "Private link is configured{for_reg} (privatelink alias in the DNS chain), but this client resolved {} to \
             the public addresses {}: it does not use the private DNS zone, so the traffic left over the public \
             endpoint ({} in {} flows).",
            t.hosts.join(" and "),
            addrs_text(&t.addresses),
            human_bytes(t.bytes),
            t.flows
        );
        out.push(Finding::new(kind::PrivateLinkResolvedPublicly, Severity::Warning, t.about(), message));
    }
}

/// Flows summed up for a finding of the healthy kinds: their names and addresses in order of
/// first sight, each once.
#[derive(Default)]
struct Tally {
    registry: Option<String>,
    hosts: Vec<String>,
    addresses: Vec<IpAddr>,
    bytes: u64,
    flows: u64,
    seen_hosts: FxHashSet<String>,
    seen_addresses: FxHashSet<IpAddr>,
}

impl Tally {
    fn of(registry: Option<String>) -> Tally {
        Tally { registry, ..Tally::default() }
    }

    fn add(&mut self, f: &crate::flow::Flow) {
        if self.seen_addresses.insert(f.server) {
            self.addresses.push(f.server);
        }
        self.bytes += f.bytes();
        self.flows += 1;
    }

    /// A host's name is copied once, when first seen: many flows share a few hosts.
    fn add_host(&mut self, host: &str) {
        if !self.seen_hosts.contains(host) {
            self.seen_hosts.insert(host.to_string());
            self.hosts.push(host.to_string());
        }
    }

    fn about(self) -> About {
        About {
            registry: self.registry,
            hosts: self.hosts,
            addresses: self.addresses,
            bytes: self.bytes,
            flows: self.flows,
        }
    }
}

fn unnamed(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    let mut t = Tally::default();
    for v in flows.iter().filter(|v| v.naming.hostname.is_none() && v.class.role != Role::Dns) {
        t.add(&s.flows()[v.id as usize]);
    }
    if t.flows == 0 {
        return;
    }
    let shown: Vec<IpAddr> = t.addresses.iter().take(8).copied().collect();
    let more = t.addresses.len().saturating_sub(shown.len());
    let message = format!(
        "{} flows ({}) had no name: no DNS answer and no TLS SNI named their servers {}{}. The answer may have come \
         before the capture started, or from a cache.",
        t.flows,
        human_bytes(t.bytes),
        addrs_text(&shown),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    );
    out.push(Finding::new(kind::UnnamedFlows, Severity::Info, t.about(), message));
}
/// A name the DNS answered with addresses, and whether any flow went to one of them.
struct Resolved {
    name: String,
    addresses: Vec<IpAddr>,
    used: bool,
}

fn unused_answers(s: &Session, out: &mut Vec<Finding>) {
    let used: FxHashSet<IpAddr> = s.flows().iter().map(|f| f.server).collect();
    // Judged per name: a dual-stack client asks for A and AAAA and uses one of them, so a name
    // counts as used when any answer for it led to a flow. Names in order of first answer.
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    let mut by_name: Vec<Resolved> = Vec::new();
    let mut seen: FxHashSet<(usize, IpAddr)> = FxHashSet::default();
    for a in s.dns.iter().filter(|a| !a.msg.addresses.is_empty()) {
        let q = crate::session::naming::normalize(a.query());
        let hit = a.msg.addresses.iter().any(|x| used.contains(x));
        let i = *index.entry(q).or_insert_with_key(|q| {
            by_name.push(Resolved { name: q.clone(), addresses: Vec::new(), used: false });
            by_name.len() - 1
        });
        let r = &mut by_name[i];
        r.used |= hit;
        for x in &a.msg.addresses {
            if seen.insert((i, *x)) {
                r.addresses.push(*x);
            }
        }
    }
    let mut hosts: Vec<String> = Vec::new();
    let mut addrs: Vec<IpAddr> = Vec::new();
    for r in by_name.into_iter().filter(|r| !r.used) {
        hosts.push(r.name);
        addrs.extend(r.addresses);
    }
    if hosts.is_empty() {
        return;
    }
    let shown: Vec<&str> = hosts.iter().take(8).map(|h| h.as_str()).collect();
    let message = format!(
        "{} names were resolved but no flow went to their addresses: {}{}.",
        hosts.len(),
        shown.join(", "),
        if hosts.len() > shown.len() { format!(" and {} more", hosts.len() - shown.len()) } else { String::new() }
    );
    let about = About { hosts, addresses: addrs, ..About::default() };
    out.push(Finding::new(kind::UnusedDnsAnswers, Severity::Info, about, message));
}
