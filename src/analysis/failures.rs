//! Findings for a pull that broke: flows that never connected, were refused, reset after the
//! ClientHello, stopped by a proxy or by TLS inspection, and names that did not resolve. Each
//! says what broke, where, and what to do. Failures of registry traffic get one finding per
//! host and kind; everything else is summed up per kind, so a busy host's noise stays one line.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rustc_hash::FxHashSet;

use super::finding::{self as kind, About, Fields, Finding, FindingKind, Severity};
use super::outcome::{syn_span_ns, Outcome};
use super::FlowView;
use crate::classify::rules::{Role, Rules};
use crate::flow::{Close, Flow, IcmpSeen};
use crate::format::sock;
use crate::session::naming::normalize;
use crate::session::{DnsAnswer, PendingQuery, Session};

/// Hosts named in the text of a summed-up finding; the JSON lists them all.
const SHOWN: usize = 8;

/// A registry's login, data or token role: what a pull talks to.
pub(super) fn is_registry_role(role: Role) -> bool {
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

/// The outcomes that are failures, each found as the finding kind of the same name. In the
/// order of those kinds: findings of one severity come in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Failure {
    ConnectTimeout,
    ConnectRefused,
    Unreachable,
    ResetAfterClientHello,
    TlsAlert,
    ProxyRefused,
    TlsIntercepted,
}

impl Failure {
    fn of(o: Outcome) -> Option<Failure> {
        Some(match o {
            Outcome::ConnectTimeout => Failure::ConnectTimeout,
            Outcome::ConnectRefused => Failure::ConnectRefused,
            Outcome::Unreachable => Failure::Unreachable,
            Outcome::ResetAfterClientHello => Failure::ResetAfterClientHello,
            Outcome::TlsAlert => Failure::TlsAlert,
            Outcome::TlsIntercepted => Failure::TlsIntercepted,
            Outcome::ProxyRefused => Failure::ProxyRefused,
            Outcome::Ok | Outcome::Open | Outcome::Reset | Outcome::HandshakeTimeout | Outcome::Stalled => return None,
        })
    }

    fn kind(self) -> FindingKind {
        match self {
            Failure::ConnectTimeout => FindingKind::ConnectTimeout,
            Failure::ConnectRefused => FindingKind::ConnectRefused,
            Failure::Unreachable => FindingKind::Unreachable,
            Failure::ResetAfterClientHello => FindingKind::ResetAfterClientHello,
            Failure::TlsAlert => FindingKind::TlsAlert,
            Failure::ProxyRefused => FindingKind::ProxyRefused,
            Failure::TlsIntercepted => FindingKind::TlsIntercepted,
        }
    }

    /// Failures of registry traffic: what broke, where, and what to do.
    fn of_registry(self, g: FailedFlows) -> Finding {
        match self {
            Failure::ConnectTimeout => connect_timeout(g),
            Failure::ConnectRefused => connect_refused(g),
            Failure::Unreachable => unreachable(g),
            Failure::ResetAfterClientHello => reset_after_client_hello(g),
            Failure::TlsAlert => tls_alert(g),
            Failure::ProxyRefused => proxy_refused(g),
            Failure::TlsIntercepted => tls_intercepted(g),
        }
    }

    /// The fields of failures of other traffic, summed up: what ICMP said, and SYNs.
    fn summed_fields(self, g: &FailedFlows) -> Fields {
        let icmp = g.icmp.map(icmp_fields);
        match self {
            Failure::ConnectTimeout => {
                kind::ConnectTimeout { port: None, syns: g.syns, syn_span_s: round1(g.syn_span_ns), icmp }.into()
            }
            Failure::ConnectRefused => kind::ConnectRefused { port: None, icmp }.into(),
            Failure::Unreachable => kind::Unreachable { port: None, icmp }.into(),
            Failure::ResetAfterClientHello => {
                kind::ResetAfterClientHello { port: None, closed_with: None, icmp }.into()
            }
            Failure::TlsAlert => kind::TlsAlert { port: None, icmp, alert: None, alert_from: None }.into(),
            Failure::ProxyRefused => kind::ProxyRefused {
                port: None,
                icmp,
                proxy: None,
                status: None,
                status_line: None,
                proxy_authenticate: None,
            }
            .into(),
            Failure::TlsIntercepted => {
                kind::TlsIntercepted { port: None, icmp, certificate: None, tls_version: None, client_alert: None }
                    .into()
            }
        }
    }
}

/// What the failed flows of one finding have in common, gathered flow by flow.
#[derive(Default)]
struct FailedFlows {
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
    icmp: Option<IcmpSeen>,
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

impl FailedFlows {
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
        let host = v.naming.hostname.as_deref().map(str::to_string).unwrap_or_else(|| f.server.to_string());
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
            self.registry = v.class.registry.as_deref().map(str::to_string);
        }
        if self.region.is_none() {
            self.region = v.class.region.as_deref().map(str::to_string);
        }
        if self.role == Role::Other {
            self.role = v.class.role;
        }
        self.flows += 1;
        self.bytes += f.bytes();
        self.syns += u64::from(f.tcp.syns());
        self.syn_span_ns = self.syn_span_ns.max(syn_span_ns(f));
        match f.tcp.server_close().map(|c| c.how) {
            Some(Close::Rst) => self.closed_rst += 1,
            Some(Close::Fin) => self.closed_fin += 1,
            None => {}
        }
        if self.icmp.is_none() {
            self.icmp = f.icmp();
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

/// What failed flows are grouped by: registry traffic per kind, registry and host; the rest
/// per kind. The findings come in this order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct FailureKey {
    failure: Failure,
    registry_traffic: bool,
    registry: Option<String>,
    host: String,
}

/// Failed flows, grouped into findings; `explained` are left out (an `ipv6-fallback` says why
/// they failed).
pub fn flow_failures(s: &Session, flows: &[FlowView], explained: &FxHashSet<u32>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<FailureKey, FailedFlows> = BTreeMap::new();
    for v in flows.iter().filter(|v| !explained.contains(&v.id)) {
        let Some(failure) = Failure::of(v.outcome) else { continue };
        let f = &s.flows()[v.id as usize];
        let key = if is_registry_traffic(v) {
            let host = v.naming.hostname.as_deref().map(str::to_string).unwrap_or_else(|| f.server.to_string());
            FailureKey {
                failure,
                registry_traffic: true,
                registry: v.class.registry.as_deref().map(str::to_string),
                host,
            }
        } else {
            FailureKey { failure, registry_traffic: false, registry: None, host: String::new() }
        };
        groups.entry(key).or_default().add(v, f, s.flow(v.id).facts);
    }
    for (key, g) in groups {
        out.push(if key.registry_traffic { key.failure.of_registry(g) } else { other_failure(key.failure, g) });
    }
}

/// "Layer downloads of registry fabrikamreg", "Requests to the login server of registry x".
fn what(g: &FailedFlows) -> String {
    let of = g.registry.as_deref().map(|r| format!(" of registry {r}")).unwrap_or_default();
    match g.role {
        Role::AcrDataBlob | Role::AcrDataDedicated | Role::RegistryData => format!("Layer downloads{of}"),
        Role::AcrLogin | Role::RegistryLogin => format!("Requests to the login server{of}"),
        Role::RegistryAuth | Role::Auth => format!("Token requests{of}"),
        _ => format!("Connections{of}"),
    }
}

/// What else would do instead of allowing a storage account by name.
fn alternative(g: &FailedFlows) -> String {
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

fn icmp_fields(i: IcmpSeen) -> kind::Icmp {
    kind::Icmp { icmp_type: i.error.icmp_type, icmp_code: i.error.code, icmp: i.error.describe(), icmp_from: i.from }
}

fn connect_timeout(g: FailedFlows) -> Finding {
    let (what, host, port, flows) = (what(&g), list(&g.hosts), g.port(), plural(g.flows, "flow"));
    let message = format!(
        "{what} from {} never connected: {} over {} s, no answer ({flows}). Something between this host and the \
         server drops them: allow {host} on TCP {port}{}.",
        g.where_(),
        plural(g.syns, "SYN"),
        round1(g.syn_span_ns),
        alternative(&g)
    );
    let fields = kind::ConnectTimeout { port: Some(port), syns: g.syns, syn_span_s: round1(g.syn_span_ns), icmp: None };
    Finding::new(fields, Severity::Error, g.about(), message)
}

fn connect_refused(g: FailedFlows) -> Finding {
    let (what, host, port, flows) = (what(&g), list(&g.hosts), g.port(), plural(g.flows, "flow"));
    let message = format!(
        "{what} to {} were refused: the SYN was answered with a RST ({flows}). Nothing listens there or a firewall \
         rejects the connection: check that {host} resolves to the right address, and allow it on TCP {port}{}.",
        g.where_(),
        alternative(&g)
    );
    Finding::new(kind::ConnectRefused { port: Some(port), icmp: None }, Severity::Error, g.about(), message)
}

fn unreachable(g: FailedFlows) -> Finding {
    let (what, host, port, flows) = (what(&g), list(&g.hosts), g.port(), plural(g.flows, "flow"));
    let (why, from) = g.icmp.map_or(("unreachable", None), |i| (i.error.describe(), Some(i.from)));
    let advice = if why == "administratively prohibited" || why.contains("policy") || why.contains("reject") {
        format!("a firewall rule rejects it: allow {host} on port {port}{}", alternative(&g))
    } else {
        "a route or the host is missing on the way: check the routing to that address".to_string()
    };
    let message = format!(
        "{what} to {} failed: {} answered that the destination is {why} ({flows}); {advice}.",
        g.where_(),
        from.map_or_else(|| "a router".to_string(), |a| a.to_string()),
    );
    let fields = kind::Unreachable { port: Some(port), icmp: g.icmp.map(icmp_fields) };
    Finding::new(fields, Severity::Error, g.about(), message)
}

fn reset_after_client_hello(g: FailedFlows) -> Finding {
    let (what, host, port, flows) = (what(&g), list(&g.hosts), g.port(), plural(g.flows, "flow"));
    let with = if g.closed_rst >= g.closed_fin { "rst" } else { "fin" };
    let message = format!(
        "{what} from {} were cut after the TLS ClientHello: the connection opened, the client named {host} (SNI), \
         and the other side closed it with a {} before any ServerHello ({flows}). A firewall or proxy that filters \
         by TLS server name is blocking {host}: add {host} to its allow-list (application or SNI rule){}.",
        g.where_(),
        with.to_ascii_uppercase(),
        alternative(&g)
    );
    let fields = kind::ResetAfterClientHello { port: Some(port), closed_with: Some(with), icmp: None };
    Finding::new(fields, Severity::Error, g.about(), message)
}

fn tls_alert(g: FailedFlows) -> Finding {
    let (what, port, flows) = (what(&g), g.port(), plural(g.flows, "flow"));
    let (desc, from) =
        g.alert.map_or(("unknown", "server"), |a| (a.description(), if a.from_client { "client" } else { "server" }));
    let advice = match (from, desc) {
        ("client", "bad_certificate" | "unknown_ca" | "certificate_unknown" | "decrypt_error") => {
            "the client does not trust the certificate it got: look for a TLS-inspecting gateway on the way, or a \
             missing CA in the runtime's trust store"
        }
        ("server", "handshake_failure" | "protocol_version" | "insufficient_security") => {
            "the server (or a middlebox in its place) refuses the client's TLS versions or ciphers: check the \
             client's TLS settings and any gateway that terminates TLS"
        }
        ("server", "unrecognized_name" | "access_denied") => {
            "the server (or a middlebox in its place) refuses this server name: check the name and the gateway's \
             rules"
        }
        _ => "check for a TLS-inspecting gateway or a server that does not accept the client's TLS",
    };
    let message = format!(
        "{what} to {} failed in the TLS handshake: the {from} sent the fatal alert {desc} ({flows}); {advice}.",
        g.where_()
    );
    let fields = kind::TlsAlert { port: Some(port), icmp: None, alert: Some(desc.to_string()), alert_from: Some(from) };
    Finding::new(fields, Severity::Error, g.about(), message)
}

fn tls_intercepted(g: FailedFlows) -> Finding {
    let (host, port, flows) = (list(&g.hosts), g.port(), plural(g.flows, "flow"));
    let issuer_cn = g.cert.as_ref().and_then(|c| c.issuer_cn.clone()).unwrap_or_else(|| "?".into());
    let refused = match g.client_alert {
        Some(a) => format!(", and the client refused it with the alert {}", a.description()),
        None => String::new(),
    };
    let message = format!(
        "TLS to {} is intercepted: the certificate for {host} was issued by \"{issuer_cn}\", not by an issuer its \
         provider uses{refused} ({flows}). A TLS-inspecting gateway sits on the way: exempt {host} (and the \
         registry's other hosts) from TLS inspection, or add the gateway's CA to the container runtime's trust store.",
        g.where_()
    );
    let fields = kind::TlsIntercepted {
        port: Some(port),
        icmp: None,
        certificate: g.cert.as_ref().map(|c| kind::Certificate {
            issuer: c.issuer.clone(),
            issuer_cn: c.issuer_cn.clone(),
            subject_cn: c.subject_cn.clone(),
            san: c.san.clone(),
        }),
        tls_version: g.tls_version.map(crate::format::tls_version_name),
        client_alert: g.client_alert.map(|a| a.description().to_string()),
    };
    // Inspection the client accepted did not break the pull; it is still worth knowing.
    let severity = if g.client_alert.is_none() && g.alert.is_none() { Severity::Warning } else { Severity::Error };
    Finding::new(fields, severity, g.about(), message)
}

fn proxy_refused(g: FailedFlows) -> Finding {
    let (what, host, port, flows) = (what(&g), list(&g.hosts), g.port(), plural(g.flows, "flow"));
    let proxy = list(&g.addresses.iter().map(|a| sock(*a, port)).collect::<Vec<_>>());
    let target_port = g.connect_port.unwrap_or(port);
    let answer = g.status_line.clone().unwrap_or_else(|| "a refusal".into());
    let advice = match g.status {
        Some(407) => format!(
            "it wants credentials{}: give them in the runtime's proxy setting \
             (HTTPS_PROXY=http://user:password@{proxy}) or have {host} allowed without them",
            g.proxy_authenticate.as_deref().map(|a| format!(" ({a})")).unwrap_or_default()
        ),
        Some(403) => format!(
            "its rules do not allow {host}: add {host} to the proxy's allow-list (squid: an `acl ... dstdomain` \
             line), or to NO_PROXY if it can be reached directly{}",
            alternative(&g)
        ),
        _ => format!("check the proxy's logs for why it refuses {host}"),
    };
    let message = format!(
        "{what}: the HTTP proxy {proxy} refused to tunnel to {host}:{target_port} with \"{answer}\" ({flows}); \
         {advice}."
    );
    let fields = kind::ProxyRefused {
        port: Some(target_port),
        icmp: None,
        proxy: Some(proxy),
        status: g.status,
        status_line: g.status_line.clone(),
        proxy_authenticate: g.proxy_authenticate.clone(),
    };
    Finding::new(fields, Severity::Error, g.about(), message)
}

/// Flows that are not registry traffic, summed up: they may explain a slow host, not the pull.
fn other_failure(failure: Failure, g: FailedFlows) -> Finding {
    let shown: Vec<String> = g.hosts.iter().take(SHOWN).cloned().collect();
    let more = g.hosts.len().saturating_sub(shown.len());
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    let why = g.icmp.map(|i| format!(" ({} from {})", i.error.describe(), i.from)).unwrap_or_default();
    let message = format!(
        "{} that are not registry traffic ended as {}{why}: {}{more}. Not part of the pull; listed so nothing is \
         hidden.",
        plural(g.flows, "flow"),
        failure.kind().as_str(),
        shown.join(", ")
    );
    let fields = failure.summed_fields(&g);
    Finding::new(fields, Severity::Info, About { registry: None, ..g.about() }, message)
}

/// Tunnels a proxy opened (CONNECT answered 2xx), per registry and proxy: normal behind a
/// proxy, and why the client asked no DNS for those names.
pub fn via_proxy(s: &Session, flows: &[FlowView], out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(Option<String>, String), FailedFlows> = BTreeMap::new();
    for v in flows {
        let facts = s.flow(v.id).facts;
        if !facts.http.as_deref().is_some_and(|h| h.tunnel_open()) {
            continue;
        }
        let f = &s.flows()[v.id as usize];
        let proxy = sock(f.server, f.server_port);
        groups.entry((v.class.registry.as_deref().map(str::to_string), proxy)).or_default().add(v, f, facts);
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
        let fields = kind::ViaProxy { port: g.connect_port, proxy };
        out.push(Finding::new(fields, Severity::Info, About { registry, ..g.about() }, message));
    }
}
/// What the DNS said about one name, over all the queries for it.
struct NameAsked {
    rcode: Option<u16>,
    server: Option<IpAddr>,
    chain: Vec<String>,
    queries: u64,
    /// Queries that got no answer at all.
    unanswered: u64,
    resolved: bool,
}

/// The names queried, normalized, in order of first query.
#[derive(Default)]
struct NamesAsked {
    order: Vec<String>,
    by_name: BTreeMap<String, NameAsked>,
}

impl NamesAsked {
    fn entry(&mut self, query: &str) -> &mut NameAsked {
        let key = normalize(query);
        if !self.by_name.contains_key(&key) {
            self.order.push(key.clone());
        }
        self.by_name.entry(key).or_insert(NameAsked {
            rcode: None,
            server: None,
            chain: Vec::new(),
            queries: 0,
            unanswered: 0,
            resolved: false,
        })
    }

    fn gather<'a>(
        answers: impl IntoIterator<Item = &'a DnsAnswer>,
        unanswered: impl IntoIterator<Item = &'a PendingQuery>,
    ) -> NamesAsked {
        let mut names = NamesAsked::default();
        for a in answers {
            if a.query().is_empty() {
                continue;
            }
            let n = names.entry(a.query());
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
        for q in unanswered {
            if q.query.is_empty() {
                continue;
            }
            let n = names.entry(&q.query);
            n.queries += 1;
            n.unanswered += 1;
            if n.server.is_none() {
                n.server = Some(q.server);
            }
        }
        names
    }
}

/// Names a registry pull needed that did not resolve: NXDOMAIN, SERVFAIL, REFUSED, or no answer
/// at all, judged per name (one good answer for any type of query clears the name: clients ask
/// for A and AAAA at once). A chain that enters a private-link zone and ends in NXDOMAIN means
/// the zone lacks the record: that gets its own finding, saying which record to add.
pub fn dns_failures(s: &Session, flows: &[FlowView], rules: &Rules, out: &mut Vec<Finding>) {
    dns_failures_of(s.dns.iter(), s.dns.unanswered(), flows, rules, out);
}

/// [`dns_failures`] over some of the answers and unanswered queries (each in log order): a
/// name's findings depend only on its own, so a live capture judges the names that changed.
pub fn dns_failures_of<'a>(
    answers: impl IntoIterator<Item = &'a DnsAnswer>,
    unanswered: impl IntoIterator<Item = &'a PendingQuery>,
    flows: &[FlowView],
    rules: &Rules,
    out: &mut Vec<Finding>,
) {
    let names = NamesAsked::gather(answers, unanswered);
    // Names flows were opened for resolve by definition; a name the client resolved at all
    // (any query type) is not a failure, nor is one whose host a flow reached anyway.
    let reached: FxHashSet<&str> = flows.iter().filter_map(|v| v.naming.hostname.as_deref()).collect();
    let mut other: Vec<String> = Vec::new();
    let mut other_queries = 0u64;
    for key in names.order {
        let n = &names.by_name[&key];
        if n.resolved || reached.contains(key.as_str()) || (n.rcode.is_none() && n.unanswered == 0) {
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
        let alias = n.chain.iter().rev().find(|c| rules.is_privatelink_alias(c));
        out.push(match (n.rcode, alias) {
            (Some(3), Some(alias)) => {
                private_link_record_missing(key, n, alias, class.registry.as_deref().map(str::to_string))
            }
            _ => dns_failure(key, n, class.registry.as_deref().map(str::to_string)),
        });
    }
    if !other.is_empty() {
        out.push(other_dns_failures(other, other_queries));
    }
}

fn private_link_record_missing(key: String, n: &NameAsked, alias: &str, registry: Option<String>) -> Finding {
    let server = n.server.map_or_else(|| "the DNS server".to_string(), |a| a.to_string());
    let zone = privatelink_zone(alias);
    let record = alias.strip_suffix(&format!(".{zone}")).unwrap_or(alias).to_string();
    let message = format!(
        "{key} does not resolve: its CNAME leads to {alias} in the private DNS zone {zone}, and that zone has no \
         record for it (NXDOMAIN from {server}). Add an A record `{record}` to the private DNS zone {zone} linked to \
         this virtual network, with the private endpoint's address for {key} (or recreate the private endpoint's \
         DNS zone group so Azure adds it)."
    );
    let fields = kind::PrivateLinkRecordMissing {
        rcode: "NXDOMAIN",
        dns_server: n.server,
        queries: n.queries,
        chain: n.chain.clone(),
        privatelink_name: alias.to_string(),
        zone: zone.to_string(),
        record,
    };
    Finding::new(fields, Severity::Error, About { registry, hosts: vec![key], ..About::default() }, message)
}

fn dns_failure(key: String, n: &NameAsked, registry: Option<String>) -> Finding {
    let rcode = n.rcode.map_or("no answer", crate::format::rcode_name);
    let server = n.server.map_or_else(|| "the DNS server".to_string(), |a| a.to_string());
    let advice = match n.rcode {
        Some(3) => "the name does not exist: check the registry's name, and for a data endpoint that the registry's \
                    dedicated data endpoints are enabled"
            .to_string(),
        Some(2) => format!(
            "the resolver {server} could not get an answer: check its forwarders and that it may reach the zone's \
             name servers"
        ),
        Some(5) => format!("the resolver {server} refuses to answer this client: check its access rules"),
        _ => format!("{server} never answered: allow UDP and TCP port 53 to it, or check that it runs"),
    };
    let via = if n.chain.len() > 1 { format!(" (via {})", n.chain[1..].join(" → ")) } else { String::new() };
    let message =
        format!("{key} did not resolve{via}: {rcode} from {server} ({}); {advice}.", plural(n.queries, "query"));
    let fields = kind::DnsFailure {
        rcode: Some(rcode),
        dns_server: n.server,
        queries: n.queries,
        chain: (!n.chain.is_empty()).then(|| n.chain.clone()),
    };
    Finding::new(fields, Severity::Error, About { registry, hosts: vec![key], ..About::default() }, message)
}

/// Names that are not a registry's, summed up.
fn other_dns_failures(other: Vec<String>, queries: u64) -> Finding {
    let shown: Vec<&str> = other.iter().take(SHOWN).map(|h| h.as_str()).collect();
    let more = other.len() - shown.len();
    let message = format!(
        "{} that are not registry names did not resolve: {}{}. Not part of the pull.",
        plural(other.len() as u64, "name"),
        shown.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    );
    let fields = kind::DnsFailure { rcode: None, dns_server: None, queries, chain: None };
    Finding::new(fields, Severity::Info, About { hosts: other, ..About::default() }, message)
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

pub(super) fn list(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n if n <= SHOWN => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
        n => format!("{} and {} more", items[..SHOWN].join(", "), n - SHOWN),
    }
}

pub(super) fn plural(n: u64, what: &str) -> String {
    match (n, what) {
        (1, _) => format!("1 {what}"),
        (_, "query") => format!("{n} queries"),
        _ => format!("{n} {what}s"),
    }
}

pub(super) fn round1(ns: i64) -> f64 {
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
    fn failures_come_in_the_order_of_their_kinds() {
        use Failure::*;
        let all = [
            ConnectTimeout,
            ConnectRefused,
            Unreachable,
            ResetAfterClientHello,
            TlsAlert,
            ProxyRefused,
            TlsIntercepted,
        ];
        for w in all.windows(2) {
            assert!(w[0] < w[1] && w[0].kind() < w[1].kind(), "{:?} {:?}", w[0], w[1]);
        }
        for o in all.map(|f| f.kind().as_str()) {
            assert_eq!(Failure::of(outcome_named(o)).map(|f| f.kind().as_str()), Some(o));
        }
    }

    fn outcome_named(name: &str) -> Outcome {
        [
            Outcome::ConnectTimeout,
            Outcome::ConnectRefused,
            Outcome::Unreachable,
            Outcome::ResetAfterClientHello,
            Outcome::TlsAlert,
            Outcome::TlsIntercepted,
            Outcome::ProxyRefused,
        ]
        .into_iter()
        .find(|o| o.as_str() == name)
        .unwrap()
    }

    /// A kind's own fields follow the common ones, in the order docs/json.md gives.
    #[test]
    fn a_tls_alert_names_the_alert_and_who_sent_it() {
        let alert = crate::session::TlsAlert { frame: 4, ts_ns: 0, from_client: false, level: 2, code: 40 };
        let g = FailedFlows {
            hosts: vec!["fabrikamreg.azurecr.io".into()],
            addresses: vec![IpAddr::from([20, 43, 132, 130])],
            ports: vec![443],
            flows: 1,
            alert: Some(alert),
            ..FailedFlows::default()
        };
        let f = Failure::TlsAlert.of_registry(g);
        assert_eq!(f.kind(), FindingKind::TlsAlert);
        let json = serde_json::to_string(&f).unwrap();
        assert!(json.ends_with(r#""flows":1,"port":443,"alert":"handshake_failure","alert_from":"server"}"#), "{json}");
        assert!(f.message.contains("the server sent the fatal alert handshake_failure"), "{}", f.message);
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
