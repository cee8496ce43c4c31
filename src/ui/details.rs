//! Everything known about the selected row: its role and registry, how it was named, the DNS
//! chain, the 5-tuple and scope, service tags, bytes and packets each way, timing, the TLS
//! handshake, and the finding that concerns it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::app::{App, Pane};
use super::findings::icon;
use super::model::{FlowRec, Model};
use super::pane;
use super::rows::{Group, Row};
use super::text::{duration, rel, tls_version, wrap};
use super::theme::Theme;
use crate::analysis::{role_label, FlowView};
use crate::flow::{Flow, L4};
use crate::format::{human_ms, human_rate};
use crate::output::text::{human_bytes, sock};
use crate::session::naming::NameSource;
use crate::session::TransferMetrics;

/// Width of the label column.
const LABEL: usize = 10;

pub fn render(buf: &mut Buffer, area: Rect, app: &App, model: &Model) {
    let t = &app.theme;
    let row = app.selected_row(model);
    let title = match row {
        Some(r) => format!("Selected: {}", r.label(&model.views)),
        None => "Details".to_string(),
    };
    let inner = pane::top(buf, area, &title, app.focus == Pane::Details, t);
    let Some(r) = row else {
        buf.set_stringn(inner.x + 1, inner.y, "select a row (↑↓)", inner.width as usize, t.dim());
        return;
    };
    let lines = lines(r, model, usize::from(inner.width), t);
    pane::lines(buf, inner, &lines, &app.details_scroll, t);
}

/// The details of `r` as lines of at most `width` chars.
pub fn lines(r: &Row, model: &Model, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let first = r.flows.first().and_then(|&id| Some((model.flows.get(id as usize)?, model.views.get(id as usize)?)));
    let Some((rec, view)) = first else { return Vec::new() };
    let c = Selected { r, model, rec, view, origin: model.first_ns.unwrap_or(0), t };
    let mut out = Fields { lines: Vec::new(), width, t };
    c.role(&mut out);
    if r.group != Group::Dns {
        c.naming(&mut out);
    }
    c.flow(&mut out);
    c.traffic(&mut out);
    c.transfer(&mut out);
    c.outcome(&mut out);
    c.tls(&mut out);
    for (label, text) in rec.clear_text.iter().flat_map(|l| l.iter()) {
        out.field(label, text.clone(), Style::new());
    }
    c.findings_and_tags(&mut out);
    out.lines
}

/// Lines of a label and its value, the value wrapped beside the label column.
struct Fields<'t> {
    lines: Vec<Line<'static>>,
    width: usize,
    t: &'t Theme,
}

impl Fields<'_> {
    fn field(&mut self, label: &str, value: String, style: Style) {
        for (k, piece) in wrap(&value, self.width.saturating_sub(LABEL), 0).into_iter().enumerate() {
            let head = if k == 0 { format!("{label:<LABEL$}") } else { " ".repeat(LABEL) };
            self.lines.push(Line::from(vec![Span::styled(head, self.t.dim()), Span::styled(piece, style)]));
        }
    }
}

/// The selected row, with its first flow's record and view, as the sections read it.
struct Selected<'a> {
    r: &'a Row,
    model: &'a Model,
    rec: &'a FlowRec,
    view: &'a FlowView,
    /// The first packet's time, that times are given from.
    origin: i64,
    t: &'a Theme,
}

/// Bytes and packets each way over a row's flows, and how many of its TCP flows are open or
/// were reset.
#[derive(Default)]
struct Totals {
    up: u64,
    down: u64,
    packets_up: u64,
    packets_down: u64,
    open: usize,
    resets: usize,
}

impl Selected<'_> {
    fn flows(&self) -> impl Iterator<Item = &FlowRec> + '_ {
        self.r.flows.iter().filter_map(|&id| self.model.flows.get(id as usize))
    }

    fn role(&self, out: &mut Fields<'_>) {
        let (r, view, t) = (self.r, self.view, self.t);
        let mut role = role_label(r.role).to_string();
        if let Some(reg) = r.registry(&self.model.views) {
            role.push_str(&format!(" · registry {reg}"));
            if view.registry_inferred {
                role.push_str(" (from the login just before)");
            }
        }
        if let Some(region) = &view.class.region {
            role.push_str(&format!(" · {region}"));
        }
        out.field("role", role, t.group(r.group, r.private_link).patch(t.bold()));
    }

    fn naming(&self, out: &mut Fields<'_>) {
        let (view, origin) = (self.view, self.origin);
        let answer = view.naming.answer.and_then(|a| self.model.answers.get(a as usize));
        let named = match (view.naming.source, answer) {
            (NameSource::Sni, Some(a)) => format!("TLS SNI, and the DNS answer at {}s", rel(a.ts_ns - origin)),
            (NameSource::Sni, None) => "TLS SNI (no DNS answer for it in the capture)".to_string(),
            (NameSource::Dns, Some(a)) => format!("DNS answer at {}s (no SNI)", rel(a.ts_ns - origin)),
            (NameSource::QuicSni, _) => "SNI of the QUIC ClientHello (Initial packets)".to_string(),
            (NameSource::HttpHost, _) => "Host header of a plain HTTP request (no TLS)".to_string(),
            (NameSource::HttpConnect, _) => {
                "CONNECT target: the flow goes to a proxy, which resolved the name (no DNS here is normal)".to_string()
            }
            _ => "nothing: no SNI and no DNS answer held this address".to_string(),
        };
        out.field("named by", named, Style::new());
        if let Some(a) = answer.filter(|a| a.chain.len() > 1) {
            out.field("chain", a.chain.join(" → "), Style::new());
        }
    }

    /// The 5-tuple (or what the row's flows share), the interface and the process.
    fn flow(&self, out: &mut Fields<'_>) {
        let (r, model, f) = (self.r, self.model, &self.rec.flow);
        let scope = if r.private_link { "private (private link)".to_string() } else { r.scope.as_str().to_string() };
        let tuple = if r.flows.len() == 1 {
            format!(
                "{} {} → {} · {scope}",
                f.proto.as_str(),
                sock(f.client, f.client_port),
                sock(f.server, f.server_port)
            )
        } else {
            let what = if r.group == Group::Dns { "exchanges with" } else { "connections to" };
            format!("{} {} {what} {} · {scope}", r.flows.len(), f.proto.as_str(), r.addr_text())
        };
        out.field("flow", tuple, Style::new());
        if let Some(ix) = f.ifindex {
            // Only a live capture's index names an interface of this machine.
            let name = if model.status.live { model.interface_names.get(&ix).and_then(Option::as_deref) } else { None };
            let text = match name {
                Some(n) => format!("{n} (ifindex {ix})"),
                None => format!("ifindex {ix}"),
            };
            out.field("interface", text, Style::new());
        }
        if let Some(p) = &self.rec.process {
            out.field("process", crate::output::text::process_line(p), Style::new());
        }
    }

    /// Bytes and packets each way, and when.
    fn traffic(&self, out: &mut Fields<'_>) {
        let (r, f, origin) = (self.r, &self.rec.flow, self.origin);
        let mut n = Totals::default();
        for x in self.flows().map(|rec| &rec.flow) {
            n.up += x.bytes_up;
            n.down += x.bytes_down;
            n.packets_up += x.packets_up;
            n.packets_down += x.packets_down;
            n.open += usize::from(x.proto == L4::Tcp && !x.tcp.closed());
            n.resets += usize::from(x.tcp.reset());
        }
        out.field(
            "bytes",
            format!(
                "↑ {} in {} pkts · ↓ {} in {} pkts",
                human_bytes(n.up),
                n.packets_up,
                human_bytes(n.down),
                n.packets_down
            ),
            Style::new(),
        );
        let end = if f.proto == L4::Udp || self.view.outcome.failed() {
            // A failed flow's outcome line says how it ended.
            String::new()
        } else if r.flows.len() == 1 {
            // The state in the words of the JSON's tcp_state, with the packet that ended it.
            let state = f.state_name();
            let how = match state {
                "reset" => " (RST)",
                "closed" => " (FIN)",
                _ => "",
            };
            format!(" · {state}{how}")
        } else {
            format!(" · {} open, {} reset", n.open, n.resets)
        };
        let span = format!(
            "{}s → {}s, {}{end}",
            rel(r.first_ns - origin),
            rel(r.last_ns - origin),
            duration(r.last_ns - r.first_ns)
        );
        out.field("time", span, Style::new());
    }

    /// How the TCP transfers of the row went: round trip, goodput, what was resent or lost,
    /// zero windows, the longest silence and the segment sizes.
    fn transfer(&self, out: &mut Fields<'_>) {
        let flows: Vec<(&Flow, &TransferMetrics)> =
            self.flows().filter_map(|rec| Some((&rec.flow, rec.transfer.as_ref()?))).collect();
        if flows.is_empty() {
            return;
        }
        let mut parts = Vec::new();
        let rtts: Vec<i64> = flows.iter().filter_map(|(f, _)| f.tcp.connect_rtt_ns()).collect();
        match (rtts.iter().min(), rtts.iter().max()) {
            (Some(&a), Some(&b)) if a == b => parts.push(format!("RTT {}", human_ms(a))),
            (Some(&a), Some(&b)) => parts.push(format!("RTT {}–{}", human_ms(a), human_ms(b))),
            _ => {}
        }
        let best = flows
            .iter()
            .filter_map(|(_, m)| m.goodput_down_bps())
            .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
        if let Some(bps) = best {
            let what = if flows.len() > 1 { "best ↓" } else { "↓" };
            parts.push(format!("{what} {}", human_rate(bps)));
        }
        let sum = |get: fn(&TransferMetrics) -> u32| flows.iter().map(|(_, m)| get(m)).sum::<u32>();
        let counts = [
            (sum(|m| m.retransmissions_up + m.retransmissions_down), "retransmitted"),
            (sum(|m| m.lost_segments_down), "lost"),
            (sum(|m| m.out_of_order_down), "out of order"),
            (sum(|m| m.zero_windows_up), "client zero windows"),
            (sum(|m| m.zero_windows_down), "server zero windows"),
            (sum(|m| m.window_full_down), "window full"),
        ];
        parts.extend(counts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")));
        if let Some(gap) = flows.iter().filter_map(|(_, m)| m.max_gap_down_ns()).max() {
            parts.push(format!("longest gap {}", human_ms(gap)));
        }
        let (_, m) = flows[0];
        if flows.len() == 1 {
            if let Some(t) = m.ttfb_ns().filter(|t| *t >= 0) {
                parts.push(format!("first byte {}", human_ms(t)));
            }
            if let (Some(up), Some(down)) = (m.mss_up(), m.mss_down()) {
                parts.push(format!("MSS {up}/{down}, largest ↓ {}", m.max_segment_down));
            }
        }
        out.field("transfer", parts.join(" · "), Style::new());
    }

    /// How the flow (or the row's flows) ended: the failure first, with its evidence.
    fn outcome(&self, out: &mut Fields<'_>) {
        let (r, model) = (self.r, self.model);
        let outcomes: Vec<_> =
            r.flows.iter().filter_map(|&id| model.views.get(id as usize)).map(|v| v.outcome).collect();
        let failed = outcomes.iter().filter(|o| o.failed()).count();
        if r.flows.len() != 1 && failed == 0 {
            return;
        }
        let worst = outcomes.iter().copied().find(|o| o.failed()).unwrap_or(self.view.outcome);
        let mut text = worst.as_str().to_string();
        if r.flows.len() > 1 {
            text = format!("{failed} of {} flows {}", r.flows.len(), worst.as_str());
        }
        let first_failed =
            r.flows.iter().copied().find(|&id| model.views.get(id as usize).is_some_and(|v| v.outcome.failed()));
        let x = first_failed.and_then(|id| model.flows.get(id as usize)).map_or(&self.rec.flow, |rec| &rec.flow);
        if x.proto == L4::Tcp {
            let tcp = &x.tcp;
            if tcp.syns() > 1 || tcp.syn_unanswered() {
                let span = crate::analysis::outcome::syn_span_ns(x);
                text.push_str(&format!(" · {} SYNs over {}", tcp.syns(), duration(span)));
            }
            if let Some(rtt) = tcp.connect_rtt_ns() {
                text.push_str(&format!(" · connect {}", duration(rtt)));
            }
            if let Some(c) = tcp.server_close() {
                text.push_str(&format!(" · server closed with {}", c.how.as_str().to_ascii_uppercase()));
            }
        }
        if let Some(i) = x.icmp() {
            text.push_str(&format!(" · ICMP from {}: {}", i.from, i.error.describe()));
        }
        let style = if worst.failed() { self.t.error() } else { Style::new() };
        out.field("outcome", text, style);
    }

    /// The ClientHello, and what a TLS 1.2 server and either side's alerts said in clear:
    /// inspection shows here.
    fn tls(&self, out: &mut Fields<'_>) {
        if let Some((x, ch)) = self.flows().find_map(|x| Some((x, x.hello.as_ref()?))) {
            let mut s = match x.server_version {
                Some(v) => tls_version(v),
                None => format!("{} offered", tls_version(ch.offered_version())),
            };
            if !ch.alpn.is_empty() {
                s.push_str(&format!(" · ALPN {}", ch.alpn.join(", ")));
            }
            if let Some(sni) = &ch.sni {
                s.push_str(&format!(" · SNI {sni}"));
            }
            if ch.partial {
                s.push_str(" · ClientHello cut short");
            }
            out.field("tls", s, Style::new());
        }
        let rec = self.rec;
        let failed_style = if self.view.outcome.failed() { self.t.error() } else { Style::new() };
        if let Some(c) = rec.certificate.as_deref() {
            let mut s = format!("issued by {}", c.issuer_cn.as_deref().unwrap_or(&c.issuer));
            if let Some(cn) = &c.subject_cn {
                s.push_str(&format!(" · for {cn}"));
            }
            if !c.san.is_empty() {
                s.push_str(&format!(" · SAN {}", c.san.join(", ")));
            }
            out.field("cert", s, failed_style);
        }
        if !rec.alerts.is_empty() {
            let s: Vec<String> = rec
                .alerts
                .iter()
                .map(|a| {
                    let from = if a.from_client { "client" } else { "server" };
                    format!("{} {} from the {from}", a.level_name(), a.description())
                })
                .collect();
            out.field("alerts", s.join(" · "), failed_style);
        }
    }

    fn findings_and_tags(&self, out: &mut Fields<'_>) {
        let (model, view, t) = (self.model, self.view, self.t);
        for finding in model.findings_for(self.r.host(&model.views), self.r.server) {
            let (mark, style) = icon(finding, t);
            out.field("finding", format!("{mark} {}", finding.message), style);
        }
        if !view.tags.is_empty() {
            let tags: Vec<String> = view.tags.iter().map(|m| format!("{} ({})", m.tag, m.prefix)).collect();
            out.field("tags", tags.join(", "), Style::new());
        } else if !model.tags_loaded {
            out.field("tags", "- (give --service-tags FILE to name Azure service tags)".to_string(), t.dim());
        }
    }
}
