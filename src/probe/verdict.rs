//! A probe's checks judged in the findings of a capture (`connect-timeout`, `tls-intercepted`,
//! `private-link-record-missing`, …), one finding per endpoint and kind, and each endpoint's
//! verdict: the one fact every view of a probe reads.

use std::net::IpAddr;

use crate::analysis::finding::{self as kind, About, Finding, Severity};
use crate::analysis::slow::{DNS_SLOW_NS, FAR_RTT_NS, SLOW_RATE_BPS, SLOW_SECONDS_NS};
use crate::classify::rules::{Role, Rules};
use crate::classify::scope::{scope, Scope};

use super::result::{AddressCheck, EndpointCheck, ImageCheck, Outcome};

/// Judges every endpoint (setting its verdict) and the image's steps.
pub fn judge(endpoints: &mut [EndpointCheck], image: Option<&ImageCheck>, rules: &Rules) -> Vec<Finding> {
    let mut all = Vec::new();
    for e in endpoints.iter_mut() {
        if e.not_run() {
            (e.ok, e.verdict) = (true, "not checked: the time (--timeout) ran out first".to_string());
            continue;
        }
        let found = endpoint(e, rules);
        let worst = found.iter().filter(|f| f.severity != Severity::Info).min_by_key(|f| f.severity);
        e.ok = worst.is_none_or(|f| f.severity != Severity::Error);
        e.verdict = match worst {
            None => "ok".to_string(),
            Some(f) => format!("{} {}", f.severity.as_str(), f.kind().as_str()),
        };
        all.extend(found);
    }
    if let Some(i) = image {
        all.extend(image_findings(i, endpoints));
    }
    all.extend(via_proxy(endpoints));
    all.sort_by_key(|f| (f.severity, f.kind()));
    all
}

fn about(e: &EndpointCheck, addresses: Vec<IpAddr>) -> About {
    let flows = addresses.len() as u64;
    About { registry: e.registry.clone(), hosts: vec![e.host.clone()], addresses, bytes: 0, flows }
}

fn endpoint(e: &EndpointCheck, rules: &Rules) -> Vec<Finding> {
    let mut out = Vec::new();
    dns(e, rules, &mut out);
    if e.addresses.is_empty() {
        return out;
    }
    connect(e, &mut out);
    tunnel(e, &mut out);
    tls(e, &mut out);
    http(e, &mut out);
    path(e, &mut out);
    out
}

/// A name that does not resolve, resolves slowly, or through a private link.
fn dns(e: &EndpointCheck, rules: &Rules, out: &mut Vec<Finding>) {
    let chain = e.chain().to_vec();
    let alias = chain.iter().rev().find(|c| rules.is_privatelink_alias(c)).cloned();
    let slowest = e.dns.iter().max_by(|a, b| a.ms.total_cmp(&b.ms));
    if let Some(d) = slowest.filter(|d| d.ms >= DNS_SLOW_NS as f64 / 1e6 && d.server.is_some()) {
        let message = format!(
            "{} took {:.0} ms to resolve ({} from {}): every pull waits for it; check the resolver's forwarders \
             and its cache.",
            e.host,
            d.ms,
            d.qtype,
            d.server.map_or_else(String::new, |s| s.to_string())
        );
        let fields = kind::DnsSlow {
            latency_ms: d.ms,
            queries: 1,
            qtype: Some(d.qtype.clone()),
            dns_server: d.server.unwrap_or(IpAddr::from([0, 0, 0, 0])),
        };
        out.push(Finding::new(fields, Severity::Warning, about(e, Vec::new()), message));
    }
    let addresses: Vec<IpAddr> = e.dns.iter().flat_map(|d| d.addresses.iter().copied()).collect();
    if !addresses.is_empty() || e.dns.is_empty() {
        if let Some(alias) = alias {
            out.push(private_link(e, &alias, &addresses));
        }
        return;
    }
    let d = e.dns.iter().find(|d| d.rcode != Some("NOERROR")).unwrap_or(&e.dns[0]);
    if e.why == "dedicated data endpoint" && d.rcode == Some("NXDOMAIN") && alias.is_none() {
        let message = format!(
            "{} has no dedicated data endpoint ({} does not exist): layers come from a storage account \
             (*.blob.core.windows.net), which the firewall must allow; `--image` names the account.",
            e.registry.as_deref().unwrap_or(&e.host),
            e.host
        );
        out.push(Finding::new(kind::DataViaStorageAccount, Severity::Info, about(e, Vec::new()), message));
        return;
    }
    out.push(match (d.rcode, alias) {
        (Some("NXDOMAIN"), Some(alias)) => record_missing(e, d, &alias),
        _ => dns_failure(e, d),
    });
}

fn private_link(e: &EndpointCheck, alias: &str, addresses: &[IpAddr]) -> Finding {
    let private = addresses.iter().any(|a| scope(*a) == Scope::Private);
    if private {
        let message = format!("{} resolves through the private link {alias} to a private address.", e.host);
        return Finding::new(kind::PrivateLink, Severity::Info, about(e, addresses.to_vec()), message);
    }
    let message = format!(
        "{} resolves through the private link {alias}, but to a public address: this host does not use the \
         private DNS zone {} (link it to this virtual network, or forward the zone to Azure DNS 168.63.129.16).",
        e.host,
        crate::analysis::failures::privatelink_zone(alias)
    );
    Finding::new(kind::PrivateLinkResolvedPublicly, Severity::Warning, about(e, addresses.to_vec()), message)
}

fn record_missing(e: &EndpointCheck, d: &super::result::DnsAnswer, alias: &str) -> Finding {
    let zone = crate::analysis::failures::privatelink_zone(alias);
    let record = alias.strip_suffix(&format!(".{zone}")).unwrap_or(alias).to_string();
    let server = d.server.map_or_else(|| "the DNS server".into(), |s| s.to_string());
    let message = format!(
        "{} does not resolve: its CNAME leads to {alias} in the private DNS zone {zone}, and that zone has no record \
         for it (NXDOMAIN from {server}). Add an A record `{record}` to the private DNS zone {zone} linked to this \
         virtual network, with the private endpoint's address for {} (or recreate the private endpoint's DNS zone \
         group so Azure adds it).",
        e.host, e.host
    );
    let fields = kind::PrivateLinkRecordMissing {
        rcode: "NXDOMAIN",
        dns_server: d.server,
        queries: e.dns.len() as u64,
        chain: d.chain.clone(),
        privatelink_name: alias.to_string(),
        zone: zone.to_string(),
        record,
    };
    Finding::new(fields, Severity::Error, about(e, Vec::new()), message)
}

fn dns_failure(e: &EndpointCheck, d: &super::result::DnsAnswer) -> Finding {
    let server = d.server.map_or_else(|| "the DNS server".into(), |s| s.to_string());
    let (rcode, advice) = match d.rcode {
        Some("NXDOMAIN") => ("NXDOMAIN", "the name does not exist: check the registry's name".to_string()),
        Some("NOERROR") => ("NOERROR", "the name exists but has no address of the family asked".to_string()),
        Some(r @ "SERVFAIL") => (r, format!("the resolver {server} could not get an answer: check its forwarders")),
        Some(r @ "REFUSED") => (r, format!("the resolver {server} refuses this host: check its access rules")),
        Some(r) => (r, "check the resolver".to_string()),
        None => (
            "no answer",
            format!(
                "{}: allow UDP and TCP port 53 to the resolver, or check that it runs",
                d.error.clone().unwrap_or_default()
            ),
        ),
    };
    let via = if d.chain.len() > 1 { format!(" (via {})", d.chain[1..].join(" → ")) } else { String::new() };
    let from = if d.server.is_some() { format!(" from {server}") } else { String::new() };
    let message = format!("{} did not resolve{via}: {rcode}{from}; {advice}.", e.host);
    let fields = kind::DnsFailure {
        rcode: Some(rcode),
        dns_server: d.server,
        queries: e.dns.len() as u64,
        chain: (d.chain.len() > 1).then(|| d.chain.clone()),
    };
    Finding::new(fields, Severity::Error, about(e, Vec::new()), message)
}

/// Addresses that did not connect: all of them (an error), one family while the other
/// connects (`ipv6-fallback`), or some of one family (a warning: a runtime trying one first waits).
fn connect(e: &EndpointCheck, out: &mut Vec<Finding>) {
    let failed: Vec<&AddressCheck> =
        e.addresses.iter().filter(|a| !matches!(a.connect.outcome, Outcome::Ok | Outcome::NotRun)).collect();
    if failed.is_empty() {
        return;
    }
    let ok: Vec<&AddressCheck> = e.addresses.iter().filter(|a| a.connect.outcome == Outcome::Ok).collect();
    let families = |v: &[&AddressCheck]| (v.iter().any(|a| a.address.is_ipv4()), v.iter().any(|a| a.address.is_ipv6()));
    let (ok4, ok6) = families(&ok);
    let (bad4, bad6) = families(&failed);
    if !ok.is_empty() && ((bad6 && !ok6 && ok4 && !bad4) || (bad4 && !ok4 && ok6 && !bad6)) {
        out.push(fallback(e, &failed, ok[0]));
        return;
    }
    let severity = if ok.is_empty() { Severity::Error } else { Severity::Warning };
    out.push(connect_failure(e, &failed, severity, ok.len()));
}

fn fallback(e: &EndpointCheck, failed: &[&AddressCheck], used: &AddressCheck) -> Finding {
    let family = if failed[0].address.is_ipv6() { "ipv6" } else { "ipv4" };
    let delay = failed.iter().map(|a| a.connect.ms).fold(0.0, f64::max) / 1e3;
    let addrs: Vec<String> = failed.iter().map(|a| a.address.to_string()).collect();
    let (name, record) = if family == "ipv6" { ("IPv6", "AAAA") } else { ("IPv4", "A") };
    let how = match failed[0].connect.outcome {
        Outcome::Timeout => "no answer",
        Outcome::Refused => "refused",
        _ => "unreachable",
    };
    let message = format!(
        "{} has {name} addresses that do not connect ({}: {how} after {delay:.1} s) while {} does: a runtime that \
         tries {name} first waits before it falls back. Fix the {name} route or firewall, or have the host prefer the \
         other family (gai.conf) or the resolver not answer {record} for it.",
        e.host,
        addrs.join(", "),
        used.address,
    );
    let fields =
        kind::Ipv6Fallback { port: failed[0].port, broken_family: family, fallback_to: used.address, delay_s: delay };
    Finding::new(fields, Severity::Warning, about(e, failed.iter().map(|a| a.address).collect()), message)
}

/// Linux sends a SYN again 1, 3, 7, 15, 31 s after the first: the SYNs of a connect that
/// waited `ms`.
fn syns_within(ms: f64) -> (u64, f64) {
    let at = [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0];
    let sent: Vec<f64> = at.iter().copied().filter(|t| *t * 1e3 <= ms).collect();
    (sent.len() as u64, sent.last().copied().unwrap_or(0.0))
}

fn connect_failure(e: &EndpointCheck, failed: &[&AddressCheck], severity: Severity, ok: usize) -> Finding {
    let first = failed[0];
    let port = Some(first.port);
    let what = if first.tunnel.is_some() || e.addresses.iter().all(|a| a.port != 443 && a.port != first.port) {
        format!("the proxy {}", first.address)
    } else {
        list(failed)
    };
    let some = if ok > 0 { format!(" ({} of {} addresses)", failed.len(), failed.len() + ok) } else { String::new() };
    let addrs = failed.iter().map(|a| a.address).collect();
    let (fields, words): (kind::Fields, String) = match first.connect.outcome {
        Outcome::Timeout => {
            let (syns, span) = syns_within(first.connect.ms);
            (
                kind::ConnectTimeout { port, syns, syn_span_s: span, icmp: None }.into(),
                format!("did not answer the connection in {:.1} s: a firewall drops it (allow TCP {} to {} for this host), or nothing routes there", first.connect.ms / 1e3, first.port, e.host),
            )
        }
        Outcome::Refused => (
            kind::ConnectRefused { port, icmp: None }.into(),
            format!("refused the connection: nothing listens on port {} there, or a firewall rejects it", first.port),
        ),
        Outcome::Unreachable => (
            kind::Unreachable { port, icmp: None }.into(),
            "is unreachable from this host: no route (check the routes and the network security groups)".into(),
        ),
        _ => (
            kind::Unreachable { port, icmp: None }.into(),
            format!("could not be connected to: {}", first.connect.error.clone().unwrap_or_default()),
        ),
    };
    let message = format!("{} ({what}{some}) {words}.", e.host);
    Finding::new(fields, severity, about(e, addrs), message)
}

fn list(a: &[&AddressCheck]) -> String {
    a.iter().map(|a| crate::format::sock(a.address, a.port)).collect::<Vec<_>>().join(", ")
}

/// The proxy refusing `CONNECT`.
fn tunnel(e: &EndpointCheck, out: &mut Vec<Finding>) {
    let Some((a, t)) = e.addresses.iter().find_map(|a| Some((a, a.tunnel.as_ref()?))) else { return };
    if t.outcome == Outcome::Ok {
        return;
    }
    let answer = t.status_line.clone().unwrap_or_else(|| t.outcome.word().to_string());
    let advice = match t.status {
        Some(407) => "it wants credentials: give them in the runtime's proxy setting \
                      (HTTPS_PROXY=http://user:password@proxy:port)"
            .to_string(),
        Some(403) => format!(
            "its rules do not allow {}: add it to the proxy's allow-list (squid: an `acl ... dstdomain` line), or to \
             NO_PROXY if it can be reached directly",
            e.host
        ),
        _ => "check the proxy's logs for why".to_string(),
    };
    let message = format!("The proxy {} refused CONNECT {}:443 with {answer}; {advice}.", t.proxy, e.host);
    let fields = kind::ProxyRefused {
        port: Some(a.port),
        icmp: None,
        proxy: Some(t.proxy.clone()),
        status: t.status,
        status_line: t.status_line.clone(),
        proxy_authenticate: t.proxy_authenticate.clone(),
    };
    out.push(Finding::new(fields, Severity::Error, about(e, vec![a.address]), message));
}

/// What the TLS handshakes say: interception by issuer first, then how a handshake failed.
fn tls(e: &EndpointCheck, out: &mut Vec<Finding>) {
    let with: Vec<&AddressCheck> = e.addresses.iter().filter(|a| a.tls.is_some()).collect();
    let addrs = |f: &dyn Fn(&AddressCheck) -> bool| with.iter().filter(|a| f(a)).map(|a| a.address).collect::<Vec<_>>();
    let intercepted =
        with.iter().find(|a| tls_of(a).certificate.as_ref().is_some_and(|c| c.issuer_expected == Some(false)));
    if let Some(a) = intercepted {
        out.push(intercepted_finding(
            e,
            a,
            addrs(&|a| tls_of(a).certificate.as_ref().is_some_and(|c| c.issuer_expected == Some(false))),
        ));
    }
    let failed = with.iter().find(|a| !matches!(tls_of(a).outcome, Outcome::Ok | Outcome::Untrusted));
    if let Some(a) = failed {
        let same = addrs(&|x| tls_of(x).outcome == tls_of(a).outcome);
        out.push(handshake_failure(e, a, same));
    } else if intercepted.is_none() {
        if let Some(a) = with.iter().find(|a| tls_of(a).outcome == Outcome::Untrusted) {
            out.push(untrusted(e, a, addrs(&|x| tls_of(x).outcome == Outcome::Untrusted)));
        }
    }
}

fn tls_of(a: &AddressCheck) -> &super::result::Tls {
    a.tls.as_ref().expect("filtered on tls")
}

fn intercepted_finding(e: &EndpointCheck, a: &AddressCheck, addrs: Vec<IpAddr>) -> Finding {
    let t = tls_of(a);
    let c = t.certificate.as_ref().expect("filtered on a certificate");
    let issuer_cn = c.issuer_cn.clone().unwrap_or_else(|| c.issuer.clone());
    let (severity, trusted) = if t.verified {
        (Severity::Warning, "this host trusts that issuer, so pulls work, but every byte is decrypted on the way")
    } else {
        (Severity::Error, "this host does not trust it, so a runtime refuses the connection")
    };
    let message = format!(
        "TLS to {} is intercepted: the certificate for it was issued by \"{issuer_cn}\", not by an issuer its \
         provider uses; {trusted}. A TLS-inspecting gateway sits on the way: exempt {} (and the registry's other \
         hosts) from TLS inspection, or add the gateway's CA to the container runtime's trust store.",
        e.host, e.host
    );
    let fields = kind::TlsIntercepted {
        port: Some(a.port),
        icmp: None,
        certificate: Some(kind::Certificate {
            issuer: c.issuer.clone(),
            issuer_cn: c.issuer_cn.clone(),
            subject_cn: c.subject_cn.clone(),
            san: c.san.clone(),
        }),
        tls_version: t.version.clone(),
        client_alert: None,
    };
    Finding::new(fields, severity, about(e, addrs), message)
}

fn handshake_failure(e: &EndpointCheck, a: &AddressCheck, addrs: Vec<IpAddr>) -> Finding {
    let t = tls_of(a);
    let port = Some(a.port);
    match t.outcome {
        Outcome::Reset | Outcome::Closed => {
            let how = if t.outcome == Outcome::Reset { "RST" } else { "FIN" };
            let message = format!(
                "{} closed the connection ({how}) right after the ClientHello named it: a firewall that filters by \
                 name (SNI) refuses it. Allow {} in its application rules (TLS/HTTPS, port {}).",
                e.host, e.host, a.port
            );
            let fields = kind::ResetAfterClientHello { port, closed_with: Some(how), icmp: None };
            Finding::new(fields, Severity::Error, about(e, addrs), message)
        }
        Outcome::Timeout => {
            let message = format!(
                "{} accepted the connection but never answered the ClientHello ({:.1} s): something on the path \
                 holds TLS (an inspecting firewall, an MTU problem); check the firewall's TLS rules.",
                e.host,
                t.ms / 1e3
            );
            let fields = kind::TlsHandshakeTimeout { port: a.port, hello_acked: None, waited_s: t.ms / 1e3 };
            Finding::new(fields, Severity::Error, about(e, addrs), message)
        }
        _ => {
            let alert = t.alert.clone().unwrap_or_else(|| t.error.clone().unwrap_or_default());
            let message = format!(
                "TLS to {} failed: the server sent {alert}; check for a TLS-inspecting gateway or a server that does \
                 not accept this client's TLS.",
                e.host
            );
            let fields = kind::TlsAlert { port, icmp: None, alert: t.alert.clone(), alert_from: Some("server") };
            Finding::new(fields, Severity::Error, about(e, addrs), message)
        }
    }
}

fn untrusted(e: &EndpointCheck, a: &AddressCheck, addrs: Vec<IpAddr>) -> Finding {
    let t = tls_of(a);
    let why = t.verify_error.clone().unwrap_or_default();
    let alert = if why.contains("Expired") || why.contains("expired") {
        "certificate_expired"
    } else if why.contains("UnknownIssuer") || why.contains("unknown issuer") {
        "unknown_ca"
    } else {
        "bad_certificate"
    };
    let message = format!(
        "The certificate of {} does not verify on this host ({why}): a runtime refuses it. Install its CA in the \
         host's trust store (for Docker: /etc/docker/certs.d/{}/ca.crt), or fix the server's certificate.",
        e.host, e.host
    );
    let fields =
        kind::TlsAlert { port: Some(a.port), icmp: None, alert: Some(alert.into()), alert_from: Some("client") };
    Finding::new(fields, Severity::Error, about(e, addrs), message)
}

/// `GET /v2/` answered with what no registry answers.
fn http(e: &EndpointCheck, out: &mut Vec<Finding>) {
    let odd = e.addresses.iter().filter(|a| a.usable()).find_map(|a| {
        let h = a.http.as_ref()?;
        let bearer = h.www_authenticate.as_deref().is_some_and(|w| w.to_ascii_lowercase().starts_with("bearer"));
        let fine = (h.status == Some(401) && h.www_authenticate.is_some()) || h.status == Some(200);
        (!fine || (h.status == Some(401) && !bearer && e.role == Role::AcrLogin)).then_some((a, h))
    });
    let Some((a, h)) = odd else { return };
    let got = h.status_line.clone().unwrap_or_else(|| h.error.clone().unwrap_or_else(|| "no answer".into()));
    let by = h.server.as_deref().map(|s| format!(" (Server: {s})")).unwrap_or_default();
    let advice = match h.status {
        Some(403) => "a firewall's or proxy's rule answers for the registry: allow the host there",
        Some(404) => "no registry API at this address: check the name, and a reverse proxy's routes",
        Some(407) => "a proxy wants credentials: set them in the runtime's proxy setting",
        Some(s) if s >= 500 => "the registry (or a gateway before it) fails: try again, check Azure's status",
        _ => "something other than the registry answers: a captive portal, a proxy's page, a wrong address",
    };
    let message = format!(
        "{} {} answered {got}{by} where a registry answers 401 with a Bearer challenge; {advice}.",
        e.host, h.request
    );
    let fields = kind::UnexpectedAnswer {
        port: a.port,
        request: h.request.clone(),
        status: h.status,
        status_line: h.status_line.clone(),
        server: h.server.clone(),
        expected: "401 with WWW-Authenticate: Bearer",
    };
    out.push(Finding::new(fields, Severity::Error, about(e, vec![a.address]), message));
}

/// Distance and SYN retries, from the kernel's view of the connections.
fn path(e: &EndpointCheck, out: &mut Vec<Finding>) {
    let direct: Vec<&AddressCheck> =
        e.addresses.iter().filter(|a| a.tunnel.is_none() && a.connect.outcome == Outcome::Ok).collect();
    let mut rtts: Vec<f64> = direct.iter().filter_map(|a| a.connect.tcp.map(|t| t.rtt_ms)).collect();
    rtts.sort_by(f64::total_cmp);
    if let Some(&median) = rtts.get(rtts.len() / 2).filter(|&&r| r >= FAR_RTT_NS as f64 / 1e6) {
        let region = e.region.as_deref().map(|r| format!(" (region {r})")).unwrap_or_default();
        let message = format!(
            "{}{region} is {median:.0} ms away (TCP round trip): every request of a pull waits at least that long; \
             pull from a geo-replica near this host, or run the build near the registry.",
            e.host
        );
        let fields = kind::FarRegistry { rtt_ms: median, region: e.region.clone() };
        out.push(Finding::new(
            fields,
            Severity::Warning,
            about(e, direct.iter().map(|a| a.address).collect()),
            message,
        ));
    }
    let retried: Vec<&&AddressCheck> = direct.iter().filter(|a| a.connect.ms >= 900.0).collect();
    if let Some(a) = retried.first() {
        let (syns, _) = syns_within(a.connect.ms);
        let message = format!(
            "{} connected only after {:.1} s ({syns} SYNs): first connection attempts are dropped on the way \
             (a firewall's or SNAT port exhaustion); check the path's SNAT ports and firewall logs.",
            e.host,
            a.connect.ms / 1e3
        );
        let fields =
            kind::ConnectRetries { port: a.port, flows_total: direct.len() as u64, syns, delay_s: a.connect.ms / 1e3 };
        out.push(Finding::new(
            fields,
            Severity::Warning,
            about(e, retried.iter().map(|a| a.address).collect()),
            message,
        ));
    }
}

/// The image's steps: a refusal on the way, where the layers come from, and how fast.
fn image_findings(i: &ImageCheck, endpoints: &[EndpointCheck]) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(host) = &i.redirect_host else { return out };
    let Some(ep) = endpoints.iter().find(|e| &e.host == host) else { return out };
    let storage = ep.role == Role::AcrDataBlob;
    let message = format!(
        "Layers of {} come from {} {host}: the firewall must allow it.",
        ep.registry.as_deref().or(endpoints[0].registry.as_deref()).unwrap_or("the registry"),
        if storage { "the storage account" } else { "the dedicated data endpoint" }
    );
    let a = About { registry: endpoints[0].registry.clone(), hosts: vec![host.clone()], ..About::default() };
    out.push(if storage {
        Finding::new(kind::DataViaStorageAccount, Severity::Info, a.clone(), message)
    } else {
        Finding::new(kind::DataViaDedicatedEndpoint, Severity::Info, a.clone(), message)
    });
    if let Some(d) = i.download.as_ref().filter(|d| d.error.is_none() && d.bytes > 0) {
        let bps = d.bytes as f64 * 8.0 / d.seconds.max(1e-9);
        if d.seconds * 1e9 >= SLOW_SECONDS_NS as f64 && bps < SLOW_RATE_BPS {
            out.push(slow(d, bps, a));
        }
    }
    out
}

fn slow(d: &super::result::Download, bps: f64, a: About) -> Finding {
    let (retrans, rtt) = d.tcp.map_or((0, None), |t| (u64::from(t.retransmits), Some(t.rtt_ms)));
    let limited_by = if retrans > 0 {
        "loss"
    } else if rtt.is_some_and(|r| r >= FAR_RTT_NS as f64 / 1e6) {
        "latency"
    } else {
        "unknown"
    };
    let message = format!(
        "A layer from {} came slowly: {} in {:.1} s ({:.1} Mbit/s), limited by {limited_by} ({retrans} segments \
         sent again, round trip {:.0} ms).",
        a.hosts[0],
        crate::format::human_bytes(d.bytes),
        d.seconds,
        bps / 1e6,
        rtt.unwrap_or(0.0)
    );
    let fields = kind::SlowDownload {
        limited_by,
        seconds: d.seconds,
        goodput_bps: bps,
        retransmissions_down: retrans,
        lost_segments_down: 0,
        zero_windows_up: 0,
        window_full_down: 0,
        rtt_ms: rtt,
        capture_drops: None,
    };
    Finding::new(fields, Severity::Warning, a, message)
}

/// One `via-proxy` for the hosts reached through the proxy.
fn via_proxy(endpoints: &[EndpointCheck]) -> Option<Finding> {
    let through: Vec<&EndpointCheck> =
        endpoints.iter().filter(|e| e.addresses.iter().any(|a| a.tunnel.is_some())).collect();
    let first = through.first()?.addresses.iter().find_map(|a| a.tunnel.as_ref())?;
    let hosts: Vec<String> = through.iter().map(|e| e.host.clone()).collect();
    let message = format!("{} reached through the proxy {} (HTTPS_PROXY).", hosts.join(", "), first.proxy);
    let fields = kind::ViaProxy { port: Some(443), proxy: first.proxy.clone() };
    let a = About { registry: endpoints[0].registry.clone(), hosts, ..About::default() };
    Some(Finding::new(fields, Severity::Info, a, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::result::{Connect, DnsAnswer, Http, Tls};

    fn answer(addrs: &[&str]) -> DnsAnswer {
        let mut d = DnsAnswer::new("fabrikamreg.azurecr.io", "A".into());
        d.rcode = Some("NOERROR");
        d.chain = vec!["fabrikamreg.azurecr.io".into()];
        d.addresses = addrs.iter().map(|a| a.parse().unwrap()).collect();
        d
    }

    fn reached(addr: &str, outcome: Outcome, status: Option<u16>) -> AddressCheck {
        let ok = outcome == Outcome::Ok;
        AddressCheck {
            address: addr.parse().unwrap(),
            port: 443,
            connect: Connect { outcome, ms: if ok { 1.0 } else { 3000.0 }, error: None, tcp: None },
            tunnel: None,
            tls: ok.then(|| Tls {
                outcome: Outcome::Ok,
                ms: 2.0,
                version: Some("TLS 1.3".into()),
                alpn: None,
                verified: true,
                verify_error: None,
                certificate: None,
                chain: Vec::new(),
                alert: None,
                error: None,
            }),
            http: status.map(|s| Http {
                request: "GET /v2/".into(),
                status: Some(s),
                status_line: Some(format!("{s} X")),
                server: Some("fw".into()),
                ..Http::default()
            }),
        }
    }

    fn login(addresses: Vec<AddressCheck>) -> EndpointCheck {
        EndpointCheck {
            host: "fabrikamreg.azurecr.io".into(),
            role: Role::AcrLogin,
            why: "login server",
            registry: Some("fabrikamreg".into()),
            region: None,
            dns: vec![answer(
                &addresses
                    .iter()
                    .map(|a| a.address.to_string())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )],
            addresses,
            verdict: String::new(),
            ok: false,
        }
    }

    fn kinds(endpoints: &mut [EndpointCheck]) -> Vec<String> {
        judge(endpoints, None, &Rules::builtin())
            .iter()
            .map(|f| format!("{} {}", f.kind().as_str(), f.severity.as_str()))
            .collect()
    }

    #[test]
    fn one_address_of_two_not_answering_is_a_warning_and_all_an_error() {
        let mut e =
            [login(vec![reached("10.0.0.1", Outcome::Ok, Some(401)), reached("10.0.0.2", Outcome::Timeout, None)])];
        e[0].addresses[0].http.as_mut().unwrap().www_authenticate = Some("Bearer realm=\"x\"".into());
        assert_eq!(kinds(&mut e), ["connect-timeout warning"]);
        assert!(e[0].ok);
        let mut e = [login(vec![reached("10.0.0.2", Outcome::Refused, None)])];
        assert_eq!(kinds(&mut e), ["connect-refused error"]);
        assert_eq!((e[0].ok, e[0].verdict.as_str()), (false, "error connect-refused"));
    }

    #[test]
    fn a_firewall_answering_v2_is_an_unexpected_answer() {
        let mut e = [login(vec![reached("10.0.0.1", Outcome::Ok, Some(403))])];
        assert_eq!(kinds(&mut e), ["unexpected-answer error"]);
        let mut e = [login(vec![reached("10.0.0.1", Outcome::Ok, Some(200))])];
        assert_eq!(kinds(&mut e), Vec::<String>::new(), "an anonymous registry answers 200");
    }

    #[test]
    fn what_the_time_did_not_reach_is_not_judged() {
        let mut e = [login(Vec::new())];
        e[0].dns[0] = DnsAnswer { not_run: true, ..DnsAnswer::new("fabrikamreg.azurecr.io", "A".into()) };
        assert_eq!(kinds(&mut e), Vec::<String>::new());
        assert!(e[0].verdict.starts_with("not checked"));
    }
}
