//! Findings for a pull that broke: flows that never connected, were refused, reset after the
//! ClientHello, stopped by a proxy or by TLS inspection, and names that did not resolve. Each
//! says what broke, where, and what to do. Failures of registry traffic get one finding per
//! host and kind; everything else is summed up per kind, so a busy host's noise stays one line.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rustc_hash::FxHashSet;

use super::findings::{Details, Finding, FindingKind, Severity};
use super::outcome::{syn_span_ns, Outcome};
use super::FlowView;
use crate::classify::rules::{Role, Rules};
use crate::flow::{Close, Flow};
use crate::session::naming::normalize;
use crate::session::Session;

/// Hosts named in the text of a summed-up finding; the JSON lists them all.
const SHOWN: usize = 8;

/// A registry's login, data or token role: what a pull talks to.
fn is_registry_role(role: Role) -> bool {
    matches!(
        role,
        Role::AcrLogin
            | Role::AcrDataDedicated
            | Role::AcrDataBlob
            | Role::RegistryLogin
            | Role::RegistryAuth
            | Role::RegistryData
    )
}

/// Whether a flow belongs to a pull: a registry's login, data or token host.
pub fn is_registry_traffic(v: &FlowView) -> bool {
    v.class.registry.is_some() || is_registry_role(v.class.role)
}

/// The finding kind of a failed outcome.
pub fn kind_of(o: Outcome) -> Option<FindingKind> {
    Some(match o {
        Outcome::ConnectTimeout => FindingKind::ConnectTimeout,
        Outcome::ConnectRefused => FindingKind::ConnectRefused,
        Outcome::Unreachable => FindingKind::Unreachable,
        Outcome::ResetAfterClientHello => FindingKind::ResetAfterClientHello,
        Outcome::TlsAlert => FindingKind::TlsAlert,
        Outcome::TlsIntercepted => FindingKind::TlsIntercepted,
        Outcome::ProxyRefused => FindingKind::ProxyRefused,
        Outcome::Ok | Outcome::Open | Outcome::Reset => return None,
    })
}

/// What the flows of one failure have in common, gathered flow by flow.
#[derive(Default)]
struct Group {
    registry: Option<String>,
    region: Option<String>,
    role: Role,
    hosts: Vec<String>,
    addresses: Vec<IpAddr>,
    ports: Vec<u16>,
    flows: u64,
    bytes: u64,
    syns: u64,
    syn_span_ns: i64,
    closed_rst: u64,
    closed_fin: u64,
    icmp: Option<crate::flow::IcmpSeen>,
    /// The first certificate, fatal alert and server TLS version seen among the flows.
    cert: Option<std::sync::Arc<crate::dissect::cert::CertInfo>>,
    alert: Option<crate::session::TlsAlert>,
    client_alert: Option<crate::session::TlsAlert>,
    tls_version: Option<u16>,
    /// A CONNECT through a proxy: the port asked for and the proxy's answer.
    connect_port: Option<u16>,
    status: Option<u16>,
    status_line: Option<String>,
    proxy_authenticate: Option<String>,
    seen: FxHashSet<String>,
}

impl Group {
    fn add(&mut self, v: &FlowView, f: &Flow, facts: &crate::session::FlowFacts) {
        let tls = &facts.tls;
        if self.cert.is_none() {
            self.cert = tls.certificate.clone();
        }
        let fatal = |from_client: bool| tls.alerts.iter().find(|a| a.level == 2 && a.from_client == from_client);
        self.alert = self.alert.or_else(|| fatal(false).or_else(|| fatal(true)).copied());
        self.client_alert = self.client_alert.or(fatal(true).copied());
        self.tls_version = self.tls_version.or(tls.server_version);
        if let Some(h) = facts.http.as_deref() {
            if let (Some((_, port)), None) = (h.connect(), self.connect_port) {
                self.connect_port = Some(port);
            }
            if let (Some(r), None) = (&h.response, self.status) {
                self.status = Some(r.status);
                self.status_line = Some(r.status_line.clone());
                self.proxy_authenticate = r.proxy_authenticate.clone();
            }
        }
        let host = v.naming.hostname.clone().unwrap_or_else(|| f.server.to_string());
        if self.seen.insert(host.clone()) {
            self.hosts.push(host);
        }
        if !self.addresses.contains(&f.server) {
            self.addresses.push(f.server);
        }
        if !self.ports.contains(&f.server_port) {
            self.ports.push(f.server_port);
        }
        if self.registry.is_none() {
            self.registry = v.class.registry.clone();
        }
        if self.region.is_none() {
            self.region = v.class.region.clone();
        }
        if self.role == Role::Other {
            self.role = v.class.role;
        }
        self.flows += 1;
        self.bytes += f.bytes();
        self.syns += u64::from(f.tcp.syns);
        self.syn_span_ns = self.syn_span_ns.max(syn_span_ns(f));
        match f.tcp.server_close {
            Some((Close::Rst, _)) => self.closed_rst += 1,
            Some((Close::Fin, _)) => self.closed_fin += 1,
            None => {}
        }
        if self.icmp.is_none() {
            self.icmp = f.icmp;
        }
    }

    fn port(&self) -> u16 {
        self.ports.first().copied().unwrap_or(0)
    }

    /// `host` and, when they differ, `host (addr:port)`.
    fn where_(&self) -> String {
        let host = list(&self.hosts);
        let addrs: Vec<String> = self.addresses.iter().take(SHOWN).map(|a| sock(*a, self.port())).collect();
        if self.hosts.len() == 1 && self.hosts[0] == self.addresses.first().map(|a| a.to_string()).unwrap_or_default() {
            return addrs.join(", ");
        }
        format!("{host} ({})", addrs.join(", "))
    }
}

/// Failed flows, grouped into findings.
pub fn flow_failures(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    // Registry traffic: per kind, registry and host. The rest: per kind.
    let mut groups: BTreeMap<(FindingKind, bool, Option<String>, String), Group> = BTreeMap::new();
    for v in flows {
        let Some(kind) = kind_of(v.outcome) else { continue };
        let f = &s.flows()[v.id as usize];
        let registry = is_registry_traffic(v);
        let key = if registry {
            let host = v.naming.hostname.clone().unwrap_or_else(|| f.server.to_string());
            (kind, true, v.class.registry.clone(), host)
        } else {
            (kind, false, None, String::new())
        };
        groups.entry(key).or_default().add(v, f, s.flow(v.id).facts);
    }
    for ((kind, registry, _, _), g) in groups {
        out.push(if registry { registry_failure(kind, g) } else { other_failure(kind, g) });
    }
}

/// "Layer downloads of registry fabrikamreg", "Requests to the login server of registry x".
fn what(g: &Group) -> String {
    let of = g.registry.as_deref().map(|r| format!(" of registry {r}")).unwrap_or_default();
    match g.role {
        Role::AcrDataBlob | Role::AcrDataDedicated | Role::RegistryData => format!("Layer downloads{of}"),
        Role::AcrLogin | Role::RegistryLogin => format!("Requests to the login server{of}"),
        Role::RegistryAuth | Role::Auth => format!("Token requests{of}"),
        _ => format!("Connections{of}"),
    }
}

/// What else would do instead of allowing a storage account by name.
fn alternative(g: &Group) -> String {
    match (g.role, &g.registry, &g.region) {
        (Role::AcrDataBlob, Some(reg), Some(region)) => {
            format!(", or enable the dedicated data endpoint and allow {reg}.{region}.data.azurecr.io")
        }
        (Role::AcrDataBlob, Some(reg), None) => {
            format!(", or enable the dedicated data endpoints of {reg} and allow {reg}.<region>.data.azurecr.io")
        }
        _ => String::new(),
    }
}

fn registry_failure(kind: FindingKind, g: Group) -> Finding {
    let what = what(&g);
    let host = list(&g.hosts);
    let port = g.port();
    let n = g.flows;
    let flows = plural(n, "flow");
    let mut d = Details { port: Some(port), ..Details::default() };
    let message = match kind {
        FindingKind::ConnectTimeout => {
            d.syns = Some(g.syns);
            d.syn_span_s = Some(round1(g.syn_span_ns));
            format!(
                "{what} from {} never connected: {} over {} s, no answer ({flows}). Something between this \
                 host and the server drops them: allow {host} on TCP {port}{}.",
                g.where_(),
                plural(g.syns, "SYN"),
                round1(g.syn_span_ns),
                alternative(&g)
            )
        }
        FindingKind::ConnectRefused => format!(
            "{what} to {} were refused: the SYN was answered with a RST ({flows}). Nothing listens there or a \
             firewall rejects the connection: check that {host} resolves to the right address, and allow it on \
             TCP {port}{}.",
            g.where_(),
            alternative(&g)
        ),
        FindingKind::Unreachable => {
            let (why, from) = g.icmp.map_or(("unreachable", None), |i| (i.error.describe(), Some(i.from)));
            if let Some(i) = g.icmp {
                d.icmp_type = Some(i.error.icmp_type);
                d.icmp_code = Some(i.error.code);
                d.icmp = Some(i.error.describe());
                d.icmp_from = Some(i.from);
            }
            let advice = if why == "administratively prohibited" || why.contains("policy") || why.contains("reject") {
                format!("a firewall rule rejects it: allow {host} on port {port}{}", alternative(&g))
            } else {
                "a route or the host is missing on the way: check the routing to that address".to_string()
            };
            format!(
                "{what} to {} failed: {} answered that the destination is {why} ({flows}); {advice}.",
                g.where_(),
                from.map_or_else(|| "a router".to_string(), |a| a.to_string()),
            )
        }
        FindingKind::ResetAfterClientHello => {
            let with = if g.closed_rst >= g.closed_fin { "rst" } else { "fin" };
            d.closed_with = Some(with);
            format!(
                "{what} from {} were cut after the TLS ClientHello: the connection opened, the client named {host} \
                 (SNI), and the other side closed it with a {} before any ServerHello ({flows}). A firewall or \
                 proxy that filters by TLS server name is blocking {host}: add {host} to its allow-list \
                 (application or SNI rule){}.",
                g.where_(),
                with.to_ascii_uppercase(),
                alternative(&g)
            )
        }
        FindingKind::TlsAlert => {
            let (desc, from) = g
                .alert
                .map_or(("unknown", "server"), |a| (a.description(), if a.from_client { "client" } else { "server" }));
            d.alert = Some(desc.to_string());
            d.alert_from = Some(from);
            let advice = match (from, desc) {
                ("client", "bad_certificate" | "unknown_ca" | "certificate_unknown" | "decrypt_error") => {
                    "the client does not trust the certificate it got: look for a TLS-inspecting gateway on the way, \
                     or a missing CA in the runtime's trust store"
                }
                ("server", "handshake_failure" | "protocol_version" | "insufficient_security") => {
                    "the server (or a middlebox in its place) refuses the client's TLS versions or ciphers: check \
                     the client's TLS settings and any gateway that terminates TLS"
                }
                ("server", "unrecognized_name" | "access_denied") => {
                    "the server (or a middlebox in its place) refuses this server name: check the name and the \
                     gateway's rules"
                }
                _ => "check for a TLS-inspecting gateway or a server that does not accept the client's TLS",
            };
            format!(
                "{what} to {} failed in the TLS handshake: the {from} sent the fatal alert {desc} ({flows}); {advice}.",
                g.where_()
            )
        }
        FindingKind::TlsIntercepted => {
            let issuer_cn = g.cert.as_ref().and_then(|c| c.issuer_cn.clone()).unwrap_or_else(|| "?".into());
            if let Some(c) = &g.cert {
                d.issuer = Some(c.issuer.clone());
                d.issuer_cn = c.issuer_cn.clone();
                d.subject_cn = c.subject_cn.clone();
                d.san = Some(c.san.clone());
            }
            d.tls_version = g.tls_version.map(crate::format::tls_version_name);
            d.client_alert = g.client_alert.map(|a| a.description().to_string());
            let refused = match g.client_alert {
                Some(a) => format!(", and the client refused it with the alert {}", a.description()),
                None => String::new(),
            };
            format!(
                "TLS to {} is intercepted: the certificate for {host} was issued by \"{issuer_cn}\", not by an issuer \
                 its provider uses{refused} ({flows}). A TLS-inspecting gateway sits on the way: exempt {host} (and \
                 the registry's other hosts) from TLS inspection, or add the gateway's CA to the container runtime's \
                 trust store.",
                g.where_()
            )
        }
        FindingKind::ProxyRefused => {
            let proxy = list(&g.addresses.iter().map(|a| sock(*a, port)).collect::<Vec<_>>());
            let target_port = g.connect_port.unwrap_or(port);
            d.port = Some(target_port);
            d.proxy = Some(proxy.clone());
            d.status = g.status;
            d.status_line = g.status_line.clone();
            d.proxy_authenticate = g.proxy_authenticate.clone();
            let answer = g.status_line.clone().unwrap_or_else(|| "a refusal".into());
            let advice = match g.status {
                Some(407) => format!(
                    "it wants credentials{}: give them in the runtime's proxy setting \
                     (HTTPS_PROXY=http://user:password@{proxy}) or have {host} allowed without them",
                    g.proxy_authenticate.as_deref().map(|a| format!(" ({a})")).unwrap_or_default()
                ),
                Some(403) => format!(
                    "its rules do not allow {host}: add {host} to the proxy's allow-list (squid: an `acl ... \
                     dstdomain` line), or to NO_PROXY if it can be reached directly{}",
                    alternative(&g)
                ),
                _ => format!("check the proxy's logs for why it refuses {host}"),
            };
            format!(
                "{what}: the HTTP proxy {proxy} refused to tunnel to {host}:{target_port} with \"{answer}\" ({flows}); \
                 {advice}."
            )
        }
        _ => format!("{what} to {} failed ({flows}).", g.where_()),
    };
    // Inspection the client accepted did not break the pull; it is still worth knowing.
    let severity = if kind == FindingKind::TlsIntercepted && g.client_alert.is_none() && g.alert.is_none() {
        Severity::Warning
    } else {
        Severity::Error
    };
    Finding {
        kind,
        severity,
        registry: g.registry,
        message,
        hosts: g.hosts,
        addresses: g.addresses,
        bytes: g.bytes,
        flows: g.flows,
        details: d,
    }
}

/// Flows that are not registry traffic, summed up: they may explain a slow host, not the pull.
fn other_failure(kind: FindingKind, g: Group) -> Finding {
    let shown: Vec<String> = g.hosts.iter().take(SHOWN).cloned().collect();
    let more = g.hosts.len().saturating_sub(shown.len());
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    let why = g.icmp.map(|i| format!(" ({} from {})", i.error.describe(), i.from)).unwrap_or_default();
    let message = format!(
        "{} that are not registry traffic ended as {}{why}: {}{more}. Not part of the pull; listed so nothing is \
         hidden.",
        plural(g.flows, "flow"),
        kind.as_str(),
        shown.join(", ")
    );
    let mut details = Details::default();
    if kind == FindingKind::ConnectTimeout {
        details.syns = Some(g.syns);
        details.syn_span_s = Some(round1(g.syn_span_ns));
    }
    if let Some(i) = g.icmp {
        details.icmp_type = Some(i.error.icmp_type);
        details.icmp_code = Some(i.error.code);
        details.icmp = Some(i.error.describe());
        details.icmp_from = Some(i.from);
    }
    Finding {
        kind,
        severity: Severity::Info,
        registry: None,
        message,
        hosts: g.hosts,
        addresses: g.addresses,
        bytes: g.bytes,
        flows: g.flows,
        details,
    }
}

/// Tunnels a proxy opened (CONNECT answered 2xx), per registry and proxy: normal behind a
/// proxy, and why the client asked no DNS for those names.
pub fn via_proxy(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(Option<String>, String), Group> = BTreeMap::new();
    for v in flows {
        let facts = s.flow(v.id).facts;
        if !facts.http.as_deref().is_some_and(|h| h.tunnel_open()) {
            continue;
        }
        let f = &s.flows()[v.id as usize];
        let proxy = sock(f.server, f.server_port);
        groups.entry((v.class.registry.clone(), proxy)).or_default().add(v, f, facts);
    }
    for ((registry, proxy), g) in groups {
        let what = registry.as_deref().map_or_else(|| "Traffic".to_string(), |r| format!("Registry {r}"));
        let message = format!(
            "{what} is reached through the HTTP proxy {proxy}: {} tunnelled with CONNECT ({}). The client resolves \
             no names itself, so no DNS answers are expected; the proxy must allow {}.",
            list(&g.hosts),
            plural(g.flows, "flow"),
            list(&g.hosts)
        );
        out.push(Finding {
            kind: FindingKind::ViaProxy,
            severity: Severity::Info,
            registry,
            message,
            hosts: g.hosts,
            addresses: g.addresses,
            bytes: g.bytes,
            flows: g.flows,
            details: Details { proxy: Some(proxy), port: g.connect_port, ..Details::default() },
        });
    }
}

/// Names a registry pull needed that did not resolve: NXDOMAIN, SERVFAIL, REFUSED, or no answer
/// at all, judged per name (one good answer for any type of query clears the name: clients ask
/// for A and AAAA at once). A chain that enters a private-link zone and ends in NXDOMAIN means
/// the zone lacks the record: that gets its own finding, saying which record to add.
pub fn dns_failures(s: &Session, flows: &[FlowView], rules: &Rules, out: &mut Vec<Finding>) {
    struct Name {
        rcode: Option<u16>,
        server: Option<IpAddr>,
        chain: Vec<String>,
        queries: u64,
        /// Queries that got no answer at all.
        unanswered: u64,
        resolved: bool,
    }
    let mut names: BTreeMap<String, Name> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut entry = |q: &str, names: &mut BTreeMap<String, Name>| -> String {
        let key = normalize(q);
        if !names.contains_key(&key) {
            order.push(key.clone());
            names.insert(
                key.clone(),
                Name { rcode: None, server: None, chain: Vec::new(), queries: 0, unanswered: 0, resolved: false },
            );
        }
        key
    };
    for a in &s.dns {
        if a.query().is_empty() {
            continue;
        }
        let key = entry(a.query(), &mut names);
        let n = names.get_mut(&key).expect("just inserted");
        n.queries += 1;
        match a.msg.rcode {
            // NOERROR without an address (no record of that type) neither clears nor fails a name.
            0 => n.resolved |= !a.msg.addresses.is_empty(),
            // NXDOMAIN tells the most: keep it over a SERVFAIL from another try.
            rc @ (2 | 3 | 5) if n.rcode.is_none_or(|old| old != 3) => {
                n.rcode = Some(rc);
                n.server = Some(a.server);
                n.chain = a.msg.chain.clone();
            }
            _ => {}
        }
    }
    for q in s.dns.unanswered() {
        if q.query.is_empty() {
            continue;
        }
        let key = entry(&q.query, &mut names);
        let n = names.get_mut(&key).expect("just inserted");
        n.queries += 1;
        n.unanswered += 1;
        if n.server.is_none() {
            n.server = Some(q.server);
        }
    }
    // Names flows were opened for resolve by definition; a name the client resolved at all
    // (any query type) is not a failure, nor is one whose host a flow reached anyway.
    let reached: FxHashSet<String> = flows.iter().filter_map(|v| v.naming.hostname.clone()).collect();
    let mut other: Vec<String> = Vec::new();
    let mut other_queries = 0u64;
    for key in order {
        let n = &names[&key];
        if n.resolved || reached.contains(&key) || (n.rcode.is_none() && n.unanswered == 0) {
            continue;
        }
        // A nameless answer with an empty chain: look at the name itself.
        let on_chain = if n.chain.is_empty() { std::slice::from_ref(&key) } else { n.chain.as_slice() };
        let classes: Vec<_> = on_chain.iter().map(|c| rules.classify(c)).collect();
        let class = classes.iter().find(|c| c.registry.is_some() || c.role != Role::Other);
        let Some(class) = class.filter(|c| is_registry_role(c.role)) else {
            other.push(key.clone());
            other_queries += n.queries;
            continue;
        };
        let registry = class.registry.clone();
        let rcode = n.rcode.map_or("no answer", crate::format::rcode_name);
        let server = n.server.map_or_else(|| "the DNS server".to_string(), |a| a.to_string());
        let alias = n.chain.iter().rev().find(|c| rules.is_privatelink_alias(c));
        if let (Some(3), Some(alias)) = (n.rcode, alias) {
            let zone = privatelink_zone(alias);
            let record = alias.strip_suffix(&format!(".{zone}")).unwrap_or(alias).to_string();
            out.push(Finding {
                kind: FindingKind::PrivateLinkRecordMissing,
                severity: Severity::Error,
                registry,
                message: format!(
                    "{key} does not resolve: its CNAME leads to {alias} in the private DNS zone {zone}, and that zone \
                     has no record for it (NXDOMAIN from {server}). Add an A record `{record}` to the private DNS \
                     zone {zone} linked to this virtual network, with the private endpoint's address for {key} \
                     (or recreate the private endpoint's DNS zone group so Azure adds it)."
                ),
                hosts: vec![key.clone()],
                addresses: Vec::new(),
                bytes: 0,
                flows: 0,
                details: Details {
                    rcode: Some("NXDOMAIN"),
                    dns_server: n.server,
                    queries: Some(n.queries),
                    chain: Some(n.chain.clone()),
                    privatelink_name: Some(alias.clone()),
                    zone: Some(zone.to_string()),
                    record: Some(record),
                    ..Details::default()
                },
            });
            continue;
        }
        let advice = match n.rcode {
            Some(3) => "the name does not exist: check the registry's name, and for a data endpoint that the \
                        registry's dedicated data endpoints are enabled"
                .to_string(),
            Some(2) => format!(
                "the resolver {server} could not get an answer: check its forwarders and that it may reach the \
                 zone's name servers"
            ),
            Some(5) => format!("the resolver {server} refuses to answer this client: check its access rules"),
            _ => format!("{server} never answered: allow UDP and TCP port 53 to it, or check that it runs"),
        };
        let via = if n.chain.len() > 1 { format!(" (via {})", n.chain[1..].join(" → ")) } else { String::new() };
        out.push(Finding {
            kind: FindingKind::DnsFailure,
            severity: Severity::Error,
            registry,
            message: format!(
                "{key} did not resolve{via}: {rcode} from {server} ({}); {advice}.",
                plural(n.queries, "query")
            ),
            hosts: vec![key.clone()],
            addresses: Vec::new(),
            bytes: 0,
            flows: 0,
            details: Details {
                rcode: Some(rcode),
                dns_server: n.server,
                queries: Some(n.queries),
                chain: (!n.chain.is_empty()).then(|| n.chain.clone()),
                ..Details::default()
            },
        });
    }
    if !other.is_empty() {
        let shown: Vec<&str> = other.iter().take(SHOWN).map(|h| h.as_str()).collect();
        let more = other.len() - shown.len();
        out.push(Finding {
            kind: FindingKind::DnsFailure,
            severity: Severity::Info,
            registry: None,
            message: format!(
                "{} that are not registry names did not resolve: {}{}. Not part of the pull.",
                plural(other.len() as u64, "name"),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ),
            hosts: other,
            addresses: Vec::new(),
            bytes: 0,
            flows: 0,
            details: Details { queries: Some(other_queries), ..Details::default() },
        });
    }
}

/// `fabrikamreg.japaneast.data.privatelink.azurecr.io` → `privatelink.azurecr.io`: the zone is
/// the name from its `privatelink` label on, as Azure names its private DNS zones.
pub fn privatelink_zone(name: &str) -> &str {
    let mut at = 0;
    for label in name.split('.') {
        if label.eq_ignore_ascii_case("privatelink") {
            return &name[at..];
        }
        at += label.len() + 1;
    }
    name.split_once('.').map_or(name, |(_, rest)| rest)
}

fn sock(a: IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(_) => format!("{a}:{port}"),
        IpAddr::V6(_) => format!("[{a}]:{port}"),
    }
}

fn list(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n if n <= SHOWN => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
        n => format!("{} and {} more", items[..SHOWN].join(", "), n - SHOWN),
    }
}

fn plural(n: u64, what: &str) -> String {
    match (n, what) {
        (1, _) => format!("1 {what}"),
        (_, "query") => format!("{n} queries"),
        _ => format!("{n} {what}s"),
    }
}

fn round1(ns: i64) -> f64 {
    (ns as f64 / 1e8).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_link_zone_is_named_from_its_label() {
        assert_eq!(privatelink_zone("fabrikamreg.japaneast.data.privatelink.azurecr.io"), "privatelink.azurecr.io");
        assert_eq!(privatelink_zone("acct.privatelink.blob.core.windows.net"), "privatelink.blob.core.windows.net");
        assert_eq!(privatelink_zone("x.PrivateLink.azurecr.cn"), "PrivateLink.azurecr.cn");
    }

    #[test]
    fn lists_read_as_words() {
        let v: Vec<String> = (1..=3).map(|i| format!("h{i}")).collect();
        assert_eq!(list(&v), "h1, h2 and h3");
        assert_eq!(plural(1, "SYN"), "1 SYN");
        assert_eq!(plural(27, "SYN"), "27 SYNs");
        assert_eq!(plural(2, "query"), "2 queries");
        assert_eq!(round1(19_500_000_000), 19.5);
    }
}
