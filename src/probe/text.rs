//! The probe's report for a reader: a verdict per endpoint with what each check saw, then the
//! findings, in the words and order of a capture's report.

use std::fmt::Write;

use super::result::{AddressCheck, EndpointCheck, ImageCheck, Outcome, ProbeReport};
use crate::analysis::finding::Severity;

pub fn report(r: &ProbeReport) -> String {
    let mut o = String::new();
    let resolvers: Vec<String> = r.resolvers.iter().map(|s| s.ip().to_string()).collect();
    let _ = writeln!(
        o,
        "acrscope probe {} — resolver {}, {}, {:.2} s (timeout {:.0} s)",
        r.login_server,
        resolvers.join(", "),
        r.proxy.as_deref().map_or("no proxy".to_string(), |p| format!("proxy {p}")),
        r.elapsed_s,
        r.timeout_s
    );
    let _ = writeln!(o, "\nENDPOINTS");
    for e in &r.endpoints {
        endpoint(&mut o, e);
    }
    if let Some(i) = &r.image {
        image(&mut o, i);
    }
    if !r.notes.is_empty() {
        let _ = writeln!(o, "\nNOT CHECKED");
        for n in &r.notes {
            let _ = writeln!(o, "- {n}");
        }
    }
    if !r.findings.is_empty() {
        let _ = writeln!(o, "\nFINDINGS");
        for f in &r.findings {
            let _ =
                writeln!(o, "- {:<7} [{}] {}", f.severity.as_str().to_ascii_uppercase(), f.kind().as_str(), f.message);
        }
    }
    let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let _ = writeln!(
        o,
        "\n{}",
        match (errors, warnings) {
            (0, 0) => format!("VERDICT: this host can reach every endpoint a pull from {} needs.", r.registry),
            (0, w) => format!("VERDICT: {} is reachable, with {w} warning(s) above.", r.registry),
            (e, w) =>
                format!("VERDICT: a pull from {} fails from this host: {e} error(s), {w} warning(s) above.", r.registry),
        }
    );
    o
}

fn endpoint(o: &mut String, e: &EndpointCheck) {
    let mark = match (e.verdict.as_str(), e.ok) {
        ("ok", _) => "ok",
        (_, false) => "FAIL",
        _ if e.not_run() => "--",
        _ => "WARN",
    };
    let _ = writeln!(
        o,
        "  {mark:<4}  {} ({}){}",
        e.host,
        e.why,
        if e.verdict == "ok" { String::new() } else { format!(": {}", e.verdict) }
    );
    for d in &e.dns {
        let chain = if d.chain.len() > 1 { format!("  {}", d.chain.join(" → ")) } else { String::new() };
        let addrs: Vec<String> = d.addresses.iter().map(|a| a.to_string()).collect();
        let answer =
            d.rcode.map_or_else(|| format!("no answer ({})", d.error.as_deref().unwrap_or("")), str::to_string);
        let _ = writeln!(
            o,
            "        DNS {:<4} {answer} {:.1} ms{chain}{}",
            d.qtype,
            d.ms,
            match (addrs.is_empty(), d.rcode) {
                (false, _) => format!(" → {}", addrs.join(", ")),
                (true, Some("NOERROR")) => " → no address".to_string(),
                _ => String::new(),
            }
        );
    }
    for a in &e.addresses {
        let _ = writeln!(o, "        {}", address(a));
    }
}

/// One address's checks: the connection on one line, TLS and the answer on the next ones.
fn address(a: &AddressCheck) -> String {
    let mut first = vec![crate::format::sock(a.address, a.port)];
    first.push(match a.connect.outcome {
        Outcome::Ok => format!("connect {:.1} ms", a.connect.ms),
        o => format!("connect {} after {:.1} ms", o.word(), a.connect.ms),
    });
    if let Some(t) = a.connect.tcp {
        first.push(format!("rtt {:.1} ms, {} retransmitted", t.rtt_ms, t.retransmits));
    }
    if let Some(t) = &a.tunnel {
        let answer = t.status_line.clone().unwrap_or_else(|| t.outcome.word().into());
        first.push(format!("CONNECT via {}: {answer}", t.proxy));
    }
    let mut lines = vec![first.join("  ")];
    if let Some(t) = &a.tls {
        let mut line = match t.outcome {
            Outcome::Ok | Outcome::Untrusted => format!(
                "{} {:.1} ms{}",
                t.version.as_deref().unwrap_or("TLS"),
                t.ms,
                t.alpn.as_deref().map(|p| format!(" ALPN {p}")).unwrap_or_default()
            ),
            o => format!("TLS {} after {:.1} ms", o.word(), t.ms),
        };
        if let Some(c) = &t.certificate {
            let trust = if t.verified { "verified" } else { "NOT verified" };
            line.push_str(&format!("  issuer \"{}\" ({trust})", c.issuer_cn.as_deref().unwrap_or(&c.issuer)));
        }
        lines.push(format!("  {line}"));
    }
    if let Some(h) = &a.http {
        let got = h.status_line.clone().unwrap_or_else(|| h.error.clone().unwrap_or_default());
        let bearer =
            h.www_authenticate.as_deref().filter(|w| w.to_ascii_lowercase().starts_with("bearer")).map(|_| " Bearer");
        lines.push(format!("  {} {got}{} {:.1} ms", h.request, bearer.unwrap_or(""), h.ms));
    }
    lines.join("\n        ")
}

fn image(o: &mut String, i: &ImageCheck) {
    let _ = writeln!(o, "\nIMAGE {}", i.reference);
    for (what, h) in [("token", &i.token), ("manifest", &i.manifest), ("layer", &i.blob)] {
        if let Some(h) = h {
            let got = h.status_line.clone().unwrap_or_else(|| h.error.clone().unwrap_or_default());
            let _ = writeln!(o, "        {what:<8} {} {got} {:.1} ms", h.request, h.ms);
        }
    }
    if let Some(host) = &i.redirect_host {
        let _ = writeln!(o, "        redirect to {host}");
    }
    if let Some(d) = i.download.as_ref().filter(|d| d.bytes == 0 && d.error.is_some()) {
        let _ = writeln!(o, "        download failed: {}", d.error.as_deref().unwrap_or(""));
    } else if let Some(d) = &i.download {
        let _ = writeln!(
            o,
            "        download {} in {:.2} s ({:.1} Mbit/s, first byte {:.1} ms){}",
            crate::format::human_bytes(d.bytes),
            d.seconds,
            d.mbit_per_s,
            d.ms_to_first_byte,
            d.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    if let Some(e) = &i.error {
        let _ = writeln!(o, "        stopped: {e}");
    }
}
