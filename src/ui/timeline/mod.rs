//! The main pane: one line per flow or host under group headings; at the left what it is
//! (role badge, host, server, scope), at the right when it happened and how much went through
//! (shaded cells on a time axis, with marks for the DNS answer, the ClientHello and the close).
//! Only the lines on screen are laid out, so the cost of a frame does not grow with the flows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::app::App;
use super::axis::Window;
use super::model::{FlowRec, Model};
use super::rows::{Line, Row, Widths};
use super::text::fit;
use super::theme::Theme;
use crate::classify::Scope;
use crate::output::text::human_bytes;
use crate::session::activity::Activity;

/// Shades from a trickle to the busiest cell on screen.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Decades of bytes per cell the eight shades cover (log scale): a cell with a thousandth of
/// the busiest cell's bytes still shows, as the lowest shade.
const DECADES: f64 = 3.0;
/// The time axis keeps at least this many cells, whatever the host names need.
const MIN_BAR: u16 = 24;
/// Host names are cut beyond this, so the time axis keeps most of a wide screen.
const MAX_HOST: usize = 44;
/// A terminal at least this wide also shows each row's byte count.
const BYTES_FROM_WIDTH: u16 = 110;
/// From this width the process that opened a row's flows has a column of its own; on a
/// narrower screen its name follows the host's, in the host cell.
const PROCESS_FROM_WIDTH: u16 = 120;
/// ... and from this width the column holds the pid too.
const PID_FROM_WIDTH: u16 = 140;
/// Process names are cut beyond this (`comm` is 15 bytes; a pid adds up to 8).
const MAX_PROCESS: usize = 24;

/// What is drawn in a time cell besides its shade, by priority (the highest wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    None,
    Dns,
    Fin,
    /// A SYN that got no answer (yet).
    Syn,
    Rst,
    Hello,
}

/// Column positions of one frame.
#[derive(Debug, Clone, Copy)]
struct Cols {
    badge: u16,
    host: u16,
    host_w: u16,
    /// The process column (width 0: none), with pids or without.
    process: u16,
    process_w: u16,
    pid: bool,
    /// The process's name goes into the host cell instead: some flow has one, the column
    /// does not fit.
    process_in_host: bool,
    addr: u16,
    addr_w: u16,
    scope: u16,
    bytes: Option<u16>,
    sep: u16,
    bar: u16,
    bar_w: u16,
}

fn columns(area: Rect, w: Widths) -> Cols {
    let addr_w = w.addr.clamp(9, 22) as u16;
    let bytes_w: u16 = if area.width >= BYTES_FROM_WIDTH { 9 } else { 0 };
    let pid = area.width >= PID_FROM_WIDTH;
    let process_w = match w.process {
        0 => 0,
        _ if area.width < PROCESS_FROM_WIDTH => 0,
        // At least as wide as its heading.
        n => (if pid { w.process_pid } else { n }).clamp(7, MAX_PROCESS) as u16,
    };
    let process_in_host = w.process > 0 && process_w == 0;
    let label_w = if process_in_host { w.label_process } else { w.label };
    // Selection mark, badge, gaps, process, scope, separator.
    let fixed = 1 + 5 + 1 + 1 + addr_w + 1 + 4 + bytes_w + 1 + if process_w > 0 { process_w + 1 } else { 0 };
    let room = area.width.saturating_sub(fixed);
    let host_w = (label_w.clamp(8, MAX_HOST) as u16).min(room.saturating_sub(MIN_BAR)).max(8.min(room));
    let badge = area.x + 1;
    let host = badge + 6;
    let process = host + host_w + 1;
    let addr = if process_w > 0 { process + process_w + 1 } else { process };
    let scope = addr + addr_w + 1;
    let bytes = (bytes_w > 0).then_some(scope + 4);
    let sep = scope + 4 + bytes_w;
    let bar = sep + 1;
    Cols {
        badge,
        host,
        host_w,
        process,
        process_w,
        pid,
        process_in_host,
        addr,
        addr_w,
        scope,
        bytes,
        sep,
        bar,
        bar_w: area.right().saturating_sub(bar),
    }
}

/// Draws the timeline into `area`; returns the time window it used.
pub fn render(buf: &mut Buffer, area: Rect, app: &App, model: &Model) -> Option<Window> {
    if area.height < 2 || area.width < 20 {
        return None;
    }
    let t = &app.theme;
    let lines = model.lines(app.view);
    let cols = columns(area, model.widths(app.view));
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

    // Bytes per cell for every row on screen first: the shades are relative to the busiest.
    let bw = usize::from(cols.bar_w);
    let mut bytes = vec![0f64; bw * shown.len()];
    let mut marks = vec![Mark::None; bw * shown.len()];
    let mut spans = vec![false; bw * shown.len()];
    for (k, line) in shown.iter().enumerate() {
        if let Line::Row(r) = line {
            let s = k * bw..(k + 1) * bw;
            strip(r, model, &w, &mut bytes[s.clone()], &mut marks[s.clone()], &mut spans[s]);
        }
    }
    let max = bytes.iter().copied().fold(0.0, f64::max);

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
                left_columns(buf, &cols, y, r, model, selected, t);
                let s = k * bw..(k + 1) * bw;
                cells(buf, &cols, y, r, (&bytes[s.clone()], &marks[s.clone()], &spans[s]), max, now, t);
            }
        }
        if !matches!(line, Line::Heading(_)) {
            buf[(cols.sep, y)].set_char('│').set_style(t.dim());
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

fn axis_line(buf: &mut Buffer, area: Rect, c: &Cols, w: &Window, origin: i64, now: Option<u16>, t: &Theme) {
    let y = area.y;
    let dim = t.dim();
    buf.set_stringn(c.badge, y, "ROLE", 5, dim);
    buf.set_stringn(c.host, y, "HOST", c.host_w as usize, dim);
    if c.process_w > 0 {
        buf.set_stringn(c.process, y, "PROCESS", c.process_w as usize, dim);
    }
    buf.set_stringn(c.addr, y, "SERVER", c.addr_w as usize, dim);
    if let Some(x) = c.bytes {
        buf.set_stringn(x, y, "    BYTES", 9, dim);
    }
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

fn left_columns(buf: &mut Buffer, c: &Cols, y: u16, r: &Row, model: &Model, selected: bool, t: &Theme) {
    let views = &model.views;
    let role = t.group(r.group, r.private_link);
    if selected {
        buf.set_style(Rect { x: c.badge - 1, y, width: c.sep - (c.badge - 1), height: 1 }, t.selected());
        buf[(c.badge - 1, y)].set_char('›');
    }
    let failed = r.flows.iter().any(|&id| views.get(id as usize).is_some_and(|v| v.outcome.failed()));
    if failed {
        // The role stays readable; the mark and the colour say the row broke.
        buf.set_stringn(c.badge, y, r.group.badge(), 5, t.error().patch(t.bold()));
        if !selected {
            buf[(c.badge - 1, y)].set_char('✖').set_style(t.error());
        }
    } else {
        buf.set_stringn(c.badge, y, r.group.badge(), 5, role.patch(t.bold()));
    }
    let host_w = c.host_w as usize;
    let process = if c.process_w > 0 || c.process_in_host { r.process_text(&model.flows, c.pid) } else { None };
    // ` (dockerd)` after the host when the process has no column, kept whole while the host
    // keeps eight chars.
    let suffix = match &process {
        Some(p) if c.process_in_host => format!(" ({p})"),
        _ => String::new(),
    };
    let suffix_w = suffix.chars().count();
    let room = if host_w >= suffix_w + 8 { host_w - suffix_w } else { host_w };
    let label = if r.alias {
        format!("{} ◇", fit(r.label(views), room.saturating_sub(2)))
    } else {
        fit(r.label(views), room)
    };
    buf.set_stringn(c.host, y, fit(&(label + &suffix), host_w), host_w, Style::new());
    if let (Some(p), true) = (&process, c.process_w > 0) {
        buf.set_stringn(c.process, y, fit(p, c.process_w as usize), c.process_w as usize, t.dim());
    }
    buf.set_stringn(c.addr, y, fit(&r.addr_text(), c.addr_w as usize), c.addr_w as usize, Style::new());
    let (scope, style) = match r.scope {
        Scope::Private => ("priv", t.private()),
        Scope::Public => ("pub", Style::new()),
        Scope::Loopback => ("lo", t.dim()),
        Scope::LinkLocal => ("link", t.dim()),
    };
    buf.set_stringn(c.scope, y, scope, 4, style);
    if let Some(x) = c.bytes {
        buf.set_stringn(x, y, format!("{:>9}", fit(&human_bytes(r.bytes), 8)), 9, t.dim());
    }
}

/// Bytes, marks and lifetime of one row's flows over the window's cells.
fn strip(r: &Row, model: &Model, w: &Window, bytes: &mut [f64], marks: &mut [Mark], spans: &mut [bool]) {
    let mut mark = |x: u16, m: Mark| {
        if let Some(slot) = marks.get_mut(usize::from(x)) {
            *slot = (*slot).max(m);
        }
    };
    for &ts in &r.dns_marks {
        if let Some(x) = w.cell(ts) {
            mark(x, Mark::Dns);
        }
    }
    for &id in &r.flows {
        let Some(rec) = model.flows.get(id as usize) else { continue };
        let f = &rec.flow;
        let Some((a, b)) = w.cells_between(f.first_ns, f.last_ns) else { continue };
        spans[usize::from(a)..=usize::from(b)].fill(true);
        // SYNs that were never answered carried no data: the line and the attempts say it.
        if !f.tcp.syn || f.tcp.syn_ack {
            add_activity(bytes, w, &rec.activity, f.first_ns, f.last_ns);
        }
        if f.tcp.syn && !f.tcp.syn_ack {
            // Each attempt is not kept, the first and the last are: a row of tries reads as one.
            for ts in [f.tcp.first_syn_ns, f.tcp.last_syn_ns].into_iter().flatten() {
                if let Some(x) = w.cell(ts) {
                    mark(x, Mark::Syn);
                }
            }
        }
        if let Some(x) = rec.hello_ns.and_then(|h| w.cell(h)) {
            mark(x, Mark::Hello);
        }
        if let Some(x) = f.tcp.close_ns.and_then(|c| w.cell(c)) {
            // On a one-cell flow the ClientHello mark says more than the close.
            if rec.hello_ns.and_then(|h| w.cell(h)) != Some(x) {
                mark(x, if f.tcp.rst { Mark::Rst } else { Mark::Fin });
            }
        }
        if let Some(x) = answer_cell(model, id, rec, w) {
            mark(x, Mark::Dns);
        }
    }
}

/// The cell of the DNS answer that named the flow: the cell before the flow's first when they
/// would share one, so the answer reads as what came first.
fn answer_cell(model: &Model, id: u32, rec: &FlowRec, w: &Window) -> Option<u16> {
    let a = model.views.get(id as usize)?.naming.answer?;
    let x = w.cell(model.answers.get(a as usize)?.ts_ns)?;
    let first = w.cell(rec.flow.first_ns);
    Some(if first == Some(x) && x > 0 { x - 1 } else { x })
}

/// Adds a flow's bytes to the cells its activity bins overlap. A bin that reaches past the
/// flow's first or last packet holds bytes of the flow's lifetime only, so it is cut to it.
fn add_activity(out: &mut [f64], w: &Window, a: &Activity, first_ns: i64, last_ns: i64) {
    let cell_ns = w.cell_ns();
    for (i, &b) in a.bins.iter().enumerate() {
        if b == 0 {
            continue;
        }
        let s = a.start_ns.saturating_add(i as i64 * a.bin_ns);
        let e = s.saturating_add(a.bin_ns);
        let (ls, le) = (s.max(first_ns), e.min(last_ns.saturating_add(1)));
        let (cs, ce) = (ls.max(w.t0), le.min(w.t1));
        if le <= ls || ce <= cs {
            continue;
        }
        let life = (le - ls) as f64;
        let x0 = ((cs - w.t0) as f64 / cell_ns) as usize;
        let x1 = (((ce - w.t0) as f64 / cell_ns).ceil() as usize).min(out.len());
        for (x, slot) in out.iter_mut().enumerate().take(x1).skip(x0) {
            let c0 = w.t0 as f64 + x as f64 * cell_ns;
            let overlap = (ce as f64).min(c0 + cell_ns) - (cs as f64).max(c0);
            if overlap > 0.0 {
                *slot += f64::from(b) * overlap / life;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn cells(
    buf: &mut Buffer,
    c: &Cols,
    y: u16,
    r: &Row,
    (bytes, marks, spans): (&[f64], &[Mark], &[bool]),
    max: f64,
    now: Option<u16>,
    t: &Theme,
) {
    let role = t.group(r.group, r.private_link);
    for x in 0..c.bar_w {
        let i = usize::from(x);
        let (ch, style) = match marks[i] {
            Mark::Hello => ('▶', role.patch(t.bold())),
            Mark::Rst => ('✕', role.patch(t.bold())),
            Mark::Syn => ('?', t.error()),
            Mark::Fin => ('│', role),
            Mark::Dns => ('◆', t.dns_mark()),
            Mark::None => match shade(bytes[i], max) {
                Some(b) => (b, role),
                None if spans[i] => ('─', role.patch(t.dim())),
                None if now == Some(x) => ('┊', t.dim()),
                None => continue,
            },
        };
        buf[(c.bar + x, y)].set_char(ch).set_style(style);
    }
}

/// The block for `b` bytes when the busiest cell has `max`, on a log scale.
fn shade(b: f64, max: f64) -> Option<char> {
    if b < 0.5 || max <= 0.0 {
        return None;
    }
    let level = 8.0 + 8.0 * (b / max).log10() / DECADES;
    Some(BLOCKS[(level.ceil() as usize).clamp(1, 8) - 1])
}

/// A thumb on the separator column; heading lines keep their text whole.
fn scrollbar(buf: &mut Buffer, c: &Cols, body: Rect, (off, total): (usize, usize), headings: &[bool], t: &Theme) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_follow_a_log_scale_of_the_busiest_cell() {
        assert_eq!(shade(0.0, 100.0), None);
        assert_eq!(shade(100.0, 100.0), Some('█'));
        assert_eq!(shade(1000.0, 1e6), Some('▁'), "a thousandth still shows");
        assert_eq!(shade(1.0, 1e9), Some('▁'), "less shows as the lowest shade");
        assert!(shade(0.1, 100.0).is_none(), "dust from sharing a bin between cells does not");
        let mid = shade(10.0, 1000.0).unwrap();
        assert!(mid > '▁' && mid < '█', "{mid}");
    }

    #[test]
    fn columns_leave_the_time_axis_room() {
        let w = Widths { label: 37, addr: 17, ..Widths::default() };
        let c = columns(Rect::new(0, 0, 80, 10), w);
        assert!(c.bar_w >= MIN_BAR, "{c:?}");
        assert_eq!(c.bytes, None);
        let wide = columns(Rect::new(0, 0, 160, 10), w);
        assert_eq!(wide.host_w, 37, "a wide screen shows whole names");
        assert!(wide.bytes.is_some());
        assert_eq!(wide.bar + wide.bar_w, 160);
        assert_eq!((wide.process_w, wide.process_in_host), (0, false), "no process known: no column");
        assert_eq!(wide.addr, wide.host + 38, "{wide:?}");
    }

    #[test]
    fn the_process_has_a_column_on_wide_screens_and_joins_the_host_on_narrow_ones() {
        let w = Widths { label: 30, addr: 17, process: 7, process_pid: 11, label_process: 40 };
        let wide = columns(Rect::new(0, 0, 160, 10), w);
        assert_eq!((wide.process_w, wide.pid, wide.process_in_host), (11, true, false), "{wide:?}");
        assert_eq!(wide.host_w, 30);
        assert_eq!((wide.process, wide.addr), (wide.host + 31, wide.host + 31 + 12));
        assert!(wide.bar_w >= MIN_BAR);
        let mid = columns(Rect::new(0, 0, 125, 10), w);
        assert_eq!((mid.process_w, mid.pid), (7, false), "{mid:?}");
        let narrow = columns(Rect::new(0, 0, 100, 10), w);
        assert_eq!((narrow.process_w, narrow.process_in_host), (0, true), "{narrow:?}");
        assert!(narrow.host_w > 30, "the host cell makes room for the name: {narrow:?}");
        assert!(narrow.bar_w >= MIN_BAR);
    }

    #[test]
    fn activity_lands_in_the_cells_of_its_time() {
        let w = Window { t0: 0, t1: 10_000_000, cells: 10 };
        let mut a = Activity::new(0);
        a.add(500_000, 1000);
        a.add(7_500_000, 3000);
        let mut out = vec![0.0; 10];
        add_activity(&mut out, &w, &a, 0, 9_999_999);
        assert!((out[0] - 1000.0).abs() < 1e-6, "{out:?}");
        assert!((out[7] - 3000.0).abs() < 1e-6, "{out:?}");
        assert!((out.iter().sum::<f64>() - 4000.0).abs() < 1e-6);
    }
}
