//! The `?` overlay: keys, and the legend of badges, colours and marks (the same styles the
//! timeline uses, so the legend is the key to the colours).

use crate::analysis::phases::Phase;
use crate::ui::timeline::bars::phase_glyph;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::rows::Group;
use super::theme::Theme;

/// Two keys a line, so the whole help fits a 80x24 terminal.
const KEYS: [(&str, &str); 14] = [
    ("↑↓ j k", "select (or scroll a pane)"),
    ("PgUp PgDn", "a page up, down"),
    ("Home End", "first, last row"),
    ("⏎", "details (Esc closes)"),
    ("Tab", "next pane"),
    ("g", "rows per flow or host"),
    ("/", "filter: host, address, role"),
    ("+ -", "zoom the time axis"),
    ("← →", "pan the time axis"),
    ("f", "follow now"),
    ("space", "pause or resume (live: the view; capture goes on)"),
    ("s", "save the screen as text"),
    ("mouse", "wheel scrolls, click selects"),
    ("q Esc", "quit"),
];

fn legend(t: &Theme) -> Vec<Line<'static>> {
    let badge = |g: Group, pl: bool, what: &'static str| {
        vec![Span::styled(format!("  {:<6}", g.badge()), t.heading(g, pl)), Span::raw(what)]
    };
    let mut out = vec![Line::from(Span::styled(" Roles: badge and colour", t.bold()))];
    let pairs = [
        (Group::Login, "registry login server", Group::DataDedicated, "dedicated data endpoint"),
        (Group::DataStorage, "storage account (layers)", Group::Auth, "Entra ID / Resource Manager"),
        (Group::Dns, "DNS server", Group::Other, "anything else"),
    ];
    for (g, what, g2, what2) in pairs {
        let mut spans = badge(g, false, what);
        spans.push(Span::raw(" ".repeat(28usize.saturating_sub(what.chars().count()))));
        spans.extend(badge(g2, false, what2));
        out.push(Line::from(spans));
    }
    out.push(Line::from(vec![
        Span::styled("  priv  ", t.private()),
        Span::raw("private address (magenta rows: through private link)"),
    ]));
    out.push(Line::from(vec![
        Span::styled("  ◇     ", t.private()),
        Span::raw("a privatelink alias is in the DNS chain"),
    ]));
    out.push(Line::from(Span::styled(" Marks on the time axis", t.bold())));
    out.push(Line::from(vec![
        Span::styled("  ◆", t.dns_mark()),
        Span::raw(" DNS answer that named the host   "),
        Span::styled("▶", t.bold()),
        Span::raw(" TLS ClientHello (SNI)"),
    ]));
    out.push(Line::from(Span::raw("  │ closed (FIN)   ✕ reset (RST)   ─ open, no bytes in that time")));
    let mut phases = vec![Span::raw("  ")];
    for p in [Phase::Connecting, Phase::Handshake, Phase::Waiting, Phase::Stalled] {
        let (ch, style) = phase_glyph(p, t.bold(), t);
        phases.push(Span::styled(ch.to_string(), style));
        let gap = if p == Phase::Stalled { "" } else { " " };
        phases.push(Span::raw(format!(" {}{gap}", p.label())));
    }
    out.push(Line::from(phases));
    out.push(Line::from(Span::raw("  ▁▂▃▄▅▆▇█ bytes per time cell, log scale; █ the busiest cell on screen")));
    out.push(Line::from(Span::raw("  ▼ ┊ now, while replaying or live")));
    out
}

pub fn render(buf: &mut Buffer, area: Rect, t: &Theme) {
    let mut lines = vec![Line::from(Span::styled(" Keys", t.bold()))];
    for pair in KEYS.chunks(2) {
        let mut spans = Vec::new();
        for (k, what) in pair {
            spans.push(Span::styled(format!("  {k:<10}"), t.key()));
            spans.push(Span::raw(format!("{what:<29}")));
        }
        lines.push(Line::from(spans));
    }
    lines.extend(legend(t));
    lines.push(Line::from(Span::styled(" any key closes this help", t.dim())));
    let w = lines.iter().map(Line::width).max().unwrap_or(40) as u16 + 4;
    let h = lines.len() as u16 + 2;
    let r = Rect {
        x: area.x + area.width.saturating_sub(w) / 2,
        y: area.y + area.height.saturating_sub(h) / 2,
        width: w.min(area.width),
        height: h.min(area.height),
    };
    Clear.render(r, buf);
    let block = Block::new().borders(Borders::ALL).title(Span::styled(" acrscope: keys and legend ", t.bold()));
    let inner = block.inner(r);
    block.render(r, buf);
    for (k, l) in lines.iter().take(inner.height as usize).enumerate() {
        buf.set_line(inner.x + 1, inner.y + k as u16, l, inner.width.saturating_sub(1));
    }
}
