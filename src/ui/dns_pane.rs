//! The DNS answers as they arrive, latest first: the name asked, every CNAME of the chain on
//! its own line, and the addresses it ended at. Answers with the same chain are one entry (a
//! pull asks A and AAAA again for every connection).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::app::{App, Pane};
use super::model::{DnsEntry, Model};
use super::pane;
use super::text::{fit, rel};
use super::theme::Theme;

pub fn render(buf: &mut Buffer, area: Rect, app: &App, model: &Model) {
    let t = &app.theme;
    let n = model.dns_order.len();
    let title = if n == 0 { "DNS answers".to_string() } else { format!("DNS answers · {n} names, latest first") };
    let inner = pane::top(buf, area, &title, app.focus == Pane::Dns, t);
    if inner.height == 0 {
        return;
    }
    if n == 0 {
        buf.set_stringn(inner.x + 1, inner.y, "no DNS answer yet", inner.width as usize, t.dim());
        return;
    }
    // Only the entries on screen are turned into text: a long capture has thousands.
    let h = usize::from(inner.height);
    let total: usize = model.dns_order.iter().map(|&i| entry_lines(&model.dns[i as usize])).sum();
    let first = app.dns_scroll.get().min(total.saturating_sub(h));
    app.dns_scroll.set(first);
    let origin = model.first_ns.unwrap_or(0);
    let width = usize::from(inner.width);
    let mut at = 0;
    let mut y = inner.y;
    for &i in &model.dns_order {
        let e = &model.dns[i as usize];
        let n = entry_lines(e);
        if at + n <= first {
            at += n;
            continue;
        }
        for (k, line) in lines(e, origin, width, t).into_iter().enumerate() {
            if at + k >= first && y < inner.bottom() {
                buf.set_line(inner.x, y, &line, inner.width);
                y += 1;
            }
        }
        at += n;
        if y >= inner.bottom() {
            break;
        }
    }
    pane::more(buf, inner, total.saturating_sub(first + h), t);
}

fn entry_lines(e: &DnsEntry) -> usize {
    1 + e.chain.len().saturating_sub(1) + 1
}

fn lines(e: &DnsEntry, origin: i64, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::with_capacity(entry_lines(e));
    let query = e.chain.first().map_or("", String::as_str);
    let mut head = vec![
        Span::styled(format!("{:>6} ", rel(e.last_ns - origin)), t.dim()),
        Span::styled(query.to_string(), t.bold()),
        Span::raw(format!(" {}", if e.qtypes.is_empty() { "?".to_string() } else { e.qtypes.join("/") })),
    ];
    if e.count > 1 {
        head.push(Span::styled(format!(" ×{}", e.count), t.dim()));
    }
    if e.rcode != 0 {
        head.push(Span::styled(format!(" {}", crate::output::json::rcode_name(e.rcode)), t.error()));
    }
    out.push(Line::from(head));
    let room = width.saturating_sub(9);
    for name in e.chain.iter().skip(1) {
        let alias = name.contains(".privatelink.");
        let style = if alias { t.private() } else { Style::new() };
        let mut spans = vec![Span::raw("       → "), Span::styled(fit(name, room), style)];
        if alias {
            spans.push(Span::styled(" ◇", t.private()));
        }
        out.push(Line::from(spans));
    }
    let addrs = if e.addresses.is_empty() {
        "(no address)".to_string()
    } else {
        e.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
    };
    let ttl = e.ttl.map(|t| format!("  ttl {t}")).unwrap_or_default();
    out.push(Line::from(vec![
        Span::raw("       = "),
        Span::styled(fit(&addrs, room.saturating_sub(ttl.len())), t.bold()),
        Span::styled(ttl, t.dim()),
    ]));
    out
}
