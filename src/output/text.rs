//! `report --format text` and `--format allowlist`: the same facts as the JSON, as tables.

use std::fmt::Write;

pub use crate::format::human_bytes;
use crate::format::rcode_name;

use super::json::CaptureInfo;
use super::time::{rfc3339_us, secs};
use crate::analysis::{role_label, Analysis, Endpoint};
use crate::session::Session;

/// Left-aligned columns sized to their widest cell (cells are counted in chars).
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < width.len() {
                width[i] = width[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, c) in cells.enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            s.push_str(c);
            if i + 1 < width.len() {
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut out, &mut head.iter().copied());
    for r in rows {
        line(&mut out, &mut r.iter().map(|s| s.as_str()));
    }
    out
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// A row's host: its name, else what the address is known to be, else what it serves.
pub fn endpoint_label(e: &Endpoint) -> String {
    match (&e.hostname, e.well_known) {
        (Some(h), _) => h.clone(),
        (None, Some(w)) => format!("({w})"),
        (None, None) if e.role == "dns" => "(DNS server)".into(),
        (None, None) => "(no name)".into(),
    }
}

pub fn allowlist(rows: &[Endpoint]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                e.registry.clone().unwrap_or_else(|| "-".into()),
                e.role.to_string(),
                endpoint_label(e),
                format!("{}/{}", join(&e.proto), join(&e.ports)),
                join(&e.addresses),
                join(&e.scopes) + if e.via_private_link { " (private link)" } else { "" },
                if e.service_tags.is_empty() { "-".into() } else { join(&e.service_tags) },
                e.flows.to_string(),
                human_bytes(e.bytes),
            ]
        })
        .collect();
    table(&["REGISTRY", "ROLE", "HOST", "PORTS", "ADDRESSES", "SCOPE", "SERVICE TAGS", "FLOWS", "BYTES"], &body)
}

pub fn report(s: &Session, a: &Analysis, info: &CaptureInfo) -> String {
    let mut o = String::new();
    let st = &s.stats;
    let _ = writeln!(o, "acrscope report: {} ({})", info.source, info.format);
    let _ = writeln!(
        o,
        "{} packets, {}, {} flows, {} DNS answers, {} TLS ClientHellos, {} warnings",
        st.packets,
        human_bytes(st.bytes),
        st.flows,
        st.dns_responses,
        st.tls_client_hellos,
        st.warning_count()
    );
    if st.quic_client_hellos + st.quic_undecryptable + st.http_requests + st.http_responses > 0 {
        let _ = writeln!(
            o,
            "{} QUIC ClientHellos ({} Initial packets not decrypted), {} plain HTTP requests, {} responses",
            st.quic_client_hellos, st.quic_undecryptable, st.http_requests, st.http_responses
        );
    }
    if let (Some(f), Some(l)) = (&info.first_ts, &info.last_ts) {
        let _ = writeln!(o, "from {f} to {l}");
    }
    if let Some(e) = &info.error {
        let _ = writeln!(o, "stopped early: {e}");
    }

    if !a.findings.is_empty() {
        let _ = writeln!(o, "\nFINDINGS");
        for f in &a.findings {
            let _ =
                writeln!(o, "- {:<7} [{}] {}", f.severity.as_str().to_ascii_uppercase(), f.kind.as_str(), f.message);
        }
    }

    let _ = writeln!(o, "\nENDPOINTS (what a firewall must allow)");
    o.push_str(&allowlist(&a.endpoints));

    let _ = writeln!(o, "\nFLOWS by registry and role (DNS exchanges are summed in ENDPOINTS)");
    let mut order: Vec<&crate::analysis::FlowView> = a.flows.iter().collect();
    order.sort_by_key(|v| {
        let f = &s.flows()[v.id as usize];
        (
            v.class.registry.is_none(),
            v.class.registry.clone(),
            crate::analysis::endpoints::role_order(v.class.role),
            f.first_ns,
        )
    });
    let t0 = st.first_ns.unwrap_or(0);
    // DNS exchanges are one flow per query: they are summed per server in ENDPOINTS instead.
    order.retain(|v| v.class.role != crate::classify::Role::Dns);
    let rows: Vec<Vec<String>> = order
        .iter()
        .map(|v| {
            let f = &s.flows()[v.id as usize];
            vec![
                v.class.registry.clone().unwrap_or_else(|| "-".into()),
                role_label(v.class.role).to_string(),
                v.naming.hostname.clone().unwrap_or_else(|| "-".into()),
                v.naming.source.as_str().to_string(),
                format!("{} {}:{} → {}", f.proto.as_str(), f.client, f.client_port, sock(f.server, f.server_port)),
                v.scope.as_str().to_string() + if v.via_private_link { "+pl" } else { "" },
                format!("+{}s", secs(f.first_ns - t0)),
                format!("{}s", secs(f.last_ns - f.first_ns)),
                format!("{}/{}", human_bytes(f.bytes_up), human_bytes(f.bytes_down)),
                v.outcome.as_str().to_string(),
            ]
        })
        .collect();
    o.push_str(&table(
        &["REGISTRY", "ROLE", "HOST", "BY", "FLOW", "SCOPE", "START", "DURATION", "UP/DOWN", "OUTCOME"],
        &rows,
    ));

    let clear: Vec<Vec<String>> = order
        .iter()
        .flat_map(|v| {
            let f = &s.flows()[v.id as usize];
            let facts = &s.facts[v.id as usize];
            let flow = format!("{}:{} → {}", f.client, f.client_port, sock(f.server, f.server_port));
            clear_text_lines(facts, f).into_iter().filter(|(k, _)| *k != "quic").map(move |(k, t)| {
                vec![v.naming.hostname.clone().unwrap_or_else(|| "-".into()), flow.clone(), k.to_string(), t]
            })
        })
        .collect();
    if !clear.is_empty() {
        let _ = writeln!(o, "\nIN CLEAR: plain HTTP and proxy CONNECTs (paths without their query string)");
        o.push_str(&table(&["HOST", "FLOW", "WHAT", "REQUEST AND ANSWER"], &clear));
    }

    let _ = writeln!(o, "\nDNS ANSWERS");
    let rows: Vec<Vec<String>> = s
        .dns
        .iter()
        .map(|d| {
            vec![
                format!("+{}s", secs(d.ts_ns - t0)),
                d.server.to_string(),
                d.msg.qtype.clone().unwrap_or_default(),
                d.msg.chain.join(" → "),
                if d.msg.addresses.is_empty() { rcode_name(d.msg.rcode).to_string() } else { join(&d.msg.addresses) },
                d.msg.min_ttl.map_or("-".into(), |t| t.to_string()),
            ]
        })
        .collect();
    o.push_str(&table(&["TIME", "SERVER", "TYPE", "CHAIN", "ADDRESSES", "TTL"], &rows));
    if !s.unanswered.is_empty() {
        let _ = writeln!(o, "\nUNANSWERED QUERIES");
        let rows: Vec<Vec<String>> = s
            .unanswered
            .iter()
            .map(|q| vec![rfc3339_us(q.ts_ns), q.server.to_string(), q.qtype.clone(), q.query.clone()])
            .collect();
        o.push_str(&table(&["TIME", "SERVER", "TYPE", "QUERY"], &rows));
    }
    if st.warning_count() > 0 {
        let _ = writeln!(o, "\nWARNINGS");
        for (k, n) in &st.warnings {
            let first = st.warning_samples.iter().find(|w| w.kind == *k);
            let _ =
                writeln!(o, "{n:>8}  {k}{}", first.map(|w| format!("  (first: {})", w.message)).unwrap_or_default());
        }
    }
    o
}

/// A QUIC version as people name it: `v1`, `v2`, `draft-29`, else its number.
pub fn quic_version_name(v: u32) -> String {
    match v {
        crate::dissect::quic::VERSION_1 => "v1".into(),
        crate::dissect::quic::VERSION_2 => "v2".into(),
        0xff00_0000..=0xff00_00ff => format!("draft-{}", v & 0xff),
        _ => format!("0x{v:08x}"),
    }
}

/// What a flow showed in clear besides TLS, as (label, text) lines for the text report and the
/// UI details: its QUIC version, its plain HTTP exchange, its CONNECT through a proxy.
pub fn clear_text_lines(facts: &crate::session::FlowFacts, f: &crate::flow::Flow) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(v) = facts.quic.as_ref().and_then(|q| q.version) {
        out.push(("quic", format!("QUIC {} (ClientHello read from its Initial packets)", quic_version_name(v))));
    }
    let Some(h) = facts.http.as_deref() else { return out };
    let mut answer = String::new();
    if let Some(r) = &h.response {
        answer.push_str(&format!(" → {}", r.status_line));
        if let Some(l) = &r.location_host {
            answer.push_str(&format!(" · Location {l}"));
        }
        if let Some(sv) = &r.server {
            answer.push_str(&format!(" · Server {sv}"));
        }
        if let Some(a) = &r.proxy_authenticate {
            answer.push_str(&format!(" · Proxy-Authenticate {a}"));
        }
    }
    match &h.request {
        Some(q) if q.connect.is_some() => {
            out.push(("proxy", format!("CONNECT {} via {}{answer}", q.path, sock(f.server, f.server_port))))
        }
        Some(q) => out
            .push(("http", format!("{} {}{} (plain HTTP){answer}", q.method, q.host.as_deref().unwrap_or(""), q.path))),
        None if h.response.is_some() => out.push(("http", format!("(request not captured){answer}"))),
        None => {}
    }
    out
}

/// `addr:port`, with brackets for IPv6.
/// A flow's process in one line: `dockerd (pid 812, uid 0) · /usr/bin/dockerd · container 3f1c6a0d8a1e`.
pub fn process_line(p: &crate::procs::Process) -> String {
    let mut line = format!("{} (pid {}, uid {})", p.name, p.pid, p.uid);
    if let Some(exe) = &p.exe {
        line.push_str(&format!(" · {exe}"));
    }
    if let Some(c) = &p.container {
        // The short form docker and crictl show.
        line.push_str(&format!(" · container {}", c.get(..12).unwrap_or(c)));
    }
    if p.side == crate::procs::Side::Server {
        // It accepted the flow rather than opened it.
        line.push_str(" · server end");
    }
    line
}

pub fn sock(ip: std::net::IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(ip, port).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_reads_in_one_line() {
        let mut p = crate::procs::Process {
            pid: 812,
            name: "dockerd".into(),
            exe: Some("/usr/bin/dockerd".into()),
            uid: 0,
            container: None,
            side: crate::procs::Side::Client,
        };
        assert_eq!(process_line(&p), "dockerd (pid 812, uid 0) · /usr/bin/dockerd");
        p.exe = None;
        p.container = Some("3f1c6a0d8a1e4c4fb1b8f2d77c0e5e9a0b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e".into());
        assert_eq!(process_line(&p), "dockerd (pid 812, uid 0) · container 3f1c6a0d8a1e");
        p.side = crate::procs::Side::Server;
        assert!(process_line(&p).ends_with(" · server end"));
    }
}
