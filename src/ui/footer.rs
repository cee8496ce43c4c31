//! The bottom line: the filter being typed, or the last message (where a screenshot went),
//! then as many key hints as fit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::app::App;

/// Key hints, most useful first: a narrow terminal keeps the head of the list.
const HINTS: [(&str, &str); 12] = [
    ("↑↓", "select"),
    ("⏎", "details"),
    ("/", "filter"),
    ("g", "flows/hosts"),
    ("+/-", "zoom"),
    ("←→", "pan"),
    ("space", "pause"),
    ("Tab", "pane"),
    ("f", "follow"),
    ("s", "screenshot"),
    ("?", "help"),
    ("q", "quit"),
];

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let right = area.right();
    let mut x = area.x + 1;
    let mut put = |x: &mut u16, text: &str, style: Style| {
        let w = text.chars().count() as u16;
        if *x + w <= right {
            buf.set_stringn(*x, area.y, text, w as usize, style);
            *x += w;
            true
        } else {
            false
        }
    };
    if let Some(input) = &app.input {
        put(&mut x, "filter: ", t.bold());
        put(&mut x, input, Style::new());
        put(&mut x, "▏", t.bold());
        put(&mut x, "   ⏎ apply  Esc cancel  (host, address, role, registry)", t.dim());
        return;
    }
    if let Some(msg) = &app.status {
        if !put(&mut x, msg, t.bold()) {
            let room = right.saturating_sub(x) as usize;
            buf.set_stringn(x, area.y, super::text::fit(msg, room), room, t.bold());
            return;
        }
        put(&mut x, "   ", Style::new());
    } else if !app.filter.is_empty() {
        put(&mut x, &format!("filter “{}”", app.filter), t.warn());
        put(&mut x, "   ", Style::new());
    }
    // The quit key always shows, at the right end.
    let quit = "q quit";
    let stop = right.saturating_sub(quit.len() as u16 + 1);
    for (key, what) in HINTS.iter().take(HINTS.len() - 1) {
        let w = (key.chars().count() + what.chars().count() + 3) as u16;
        if x + w > stop {
            break;
        }
        put(&mut x, key, t.key());
        put(&mut x, &format!(" {what}  "), t.dim());
    }
    buf.set_stringn(stop, area.y, "q", 1, t.key());
    buf.set_stringn(stop + 1, area.y, " quit", 5, t.dim());
}
