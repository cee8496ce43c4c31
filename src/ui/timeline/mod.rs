//! The main pane: one line per flow or host under group headings; at the left what it is
//! (role badge, host, server, scope), at the right when it happened and how much went through
//! (shaded cells on a time axis, with marks for the DNS answer, the ClientHello and the close).
//! Only the lines on screen are laid out, so the cost of a frame does not grow with the flows.
//! The columns are data (`columns`); the time cells of the rows are `bars`.

pub(crate) mod bars;
mod columns;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::app::App;
use super::axis::Window;
use super::model::Model;
use super::rows::Line;
use super::theme::Theme;
use bars::Strips;
use columns::Layout;

/// Draws the timeline into `area`; returns the time window it used.
pub fn render(buf: &mut Buffer, area: Rect, app: &App, model: &Model) -> Option<Window> {
    if area.height < 2 || area.width < 20 {
        return None;
    }
    let t = &app.theme;
    let lines = model.lines(app.view);
    let cols = Layout::new(area, &model.widths(app.view));
    let (Some(start), Some(end)) = (model.first_ns, model.end_ns()) else {
        empty_message(buf, area, app, model, t);
        return None;
    };
    let w = app.time.window(start, end, cols.bar_w.max(1));
    let now = (!model.status.finished).then(|| model.now_ns()).flatten().and_then(|n| w.cell(n));

    axis_line(buf, area, &cols, &w, start, now, t);
    let body = Rect { y: area.y + 1, height: area.height - 1, ..area };
    if app.visible.is_empty() {
        empty_message(buf, body, app, model, t);
        return Some(w);
    }
    let off = keep_selection_in_view(app, model, body.height as usize);
    let shown: Vec<&Line> =
        app.visible.iter().skip(off).take(body.height as usize).filter_map(|&i| lines.get(i as usize)).collect();

    let mut strips = Strips::new(cols.bar_w, shown.len(), now);
    for (k, line) in shown.iter().enumerate() {
        if let Line::Row(r) = line {
            strips.fill(k, r, model, &w);
        }
    }
    let max = strips.max();

    for (k, line) in shown.iter().enumerate() {
        let y = body.y + k as u16;
        let selected = app.selected.is_some_and(|s| s == off + k);
        match line {
            Line::Heading(h) => {
                let style = t.heading(h.group, h.private_link);
                let text = format!("─ {} ", h.text());
                buf.set_stringn(area.x, y, &text, area.width as usize, style);
                let used = text.chars().count() as u16;
                for x in area.x + used.min(area.width)..area.right() {
                    buf[(x, y)].set_char('─').set_style(t.dim());
                }
            }
            Line::Row(r) => {
                cols.draw_row(buf, y, r, model, selected, t);
                strips.draw(buf, k, (cols.bar, y), r, max, t);
                buf[(cols.sep, y)].set_char('│').set_style(t.dim());
            }
        }
    }
    let headings: Vec<bool> = shown.iter().map(|l| l.row().is_none()).collect();
    scrollbar(buf, &cols, body, (off, app.visible.len()), &headings, t);
    Some(w)
}

/// The offset that keeps the selected row (and the heading above a group's first row) on
/// screen, remembered for the next frame. While the selection follows the data rows by
/// itself, their whole group is brought into view, with as much as fits of what came before.
fn keep_selection_in_view(app: &App, model: &Model, rows: usize) -> usize {
    let lines = model.lines(app.view);
    let n = app.visible.len();
    let is_heading =
        |p: usize| app.visible.get(p).and_then(|&i| lines.get(i as usize)).is_some_and(|l| l.row().is_none());
    let mut off = app.offset.get().min(n.saturating_sub(1));
    if let Some(sel) = app.selected {
        if app.auto_select {
            let heading = (0..=sel).rev().find(|&p| is_heading(p)).unwrap_or(0);
            let end = (sel + 1..n).find(|&p| is_heading(p)).unwrap_or(n);
            off = (end.saturating_sub(rows)).min(heading);
        } else if sel < off {
            off = sel;
        } else if sel >= off + rows {
            off = sel + 1 - rows;
        }
        if off == sel && sel > 0 && is_heading(sel - 1) {
            off -= 1;
        }
    }
    off = off.min(n.saturating_sub(rows));
    app.offset.set(off);
    off
}

fn axis_line(buf: &mut Buffer, area: Rect, c: &Layout, w: &Window, origin: i64, now: Option<u16>, t: &Theme) {
    let y = area.y;
    let dim = t.dim();
    c.draw_headings(buf, y, t);
    buf[(c.sep, y)].set_char('│').set_style(dim);
    let mut free_from = 0u16;
    for (x, label) in w.ticks(origin, 8) {
        let len = label.chars().count() as u16;
        if x < free_from || x + len > c.bar_w {
            continue;
        }
        buf.set_stringn(c.bar + x, y, &label, len as usize, dim);
        free_from = x + len + 1;
    }
    if let Some(x) = now {
        buf[(c.bar + x, y)].set_char('▼').set_style(t.bold());
    }
}

/// A thumb on the separator column; heading lines keep their text whole.
fn scrollbar(buf: &mut Buffer, c: &Layout, body: Rect, (off, total): (usize, usize), headings: &[bool], t: &Theme) {
    let h = usize::from(body.height);
    if total <= h || h == 0 {
        return;
    }
    let thumb = (h * h / total).max(1);
    let top = (off * (h - thumb)) / (total - h).max(1);
    for k in top..(top + thumb).min(h) {
        if !headings.get(k).copied().unwrap_or(false) {
            buf[(c.sep, body.y + k as u16)].set_char('┃').set_style(t.bold());
        }
    }
}

fn empty_message(buf: &mut Buffer, body: Rect, app: &App, model: &Model, t: &Theme) {
    let msg = if !app.filter.is_empty() || app.input.is_some() {
        let f = app.input.as_deref().unwrap_or(&app.filter);
        format!("no row matches “{f}”: / to change the filter")
    } else if let Some(n) = model.hidden_by_process.filter(|&n| n > 0) {
        format!("no flow of the processes of --process yet ({n} of others hidden)")
    } else if model.status.finished {
        "no TCP or UDP flow in this capture".to_string()
    } else if model.status.paused {
        "paused before the first packet: space starts the replay".to_string()
    } else {
        "waiting for the first flow…".to_string()
    };
    let y = body.y + body.height / 2;
    let x = body.x + body.width.saturating_sub(msg.chars().count() as u16) / 2;
    buf.set_stringn(x, y, &msg, body.width as usize, t.dim());
}
