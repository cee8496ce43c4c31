//! The columns left of the time axis, as data. A column's arm of [`Column::spec`] says all
//! there is to it: its heading, how wide it is (fixed, measured over the view's rows, or what
//! the time axis leaves), from what screen width it shows (columns of wider thresholds drop
//! first as the screen narrows) and the function that writes a row's text. [`Layout`] places
//! the columns a screen has room for; the time axis takes the rest. A new column is a
//! variant, its arm and its text function (and, when measured, its widest value in
//! [`Widths`]).

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::classify::Scope;
use crate::output::text::human_bytes;
use crate::ui::model::Model;
use crate::ui::rows::{Row, Widths};
use crate::ui::text::fit;
use crate::ui::theme::Theme;

/// The time axis keeps at least this many cells, whatever the host names need.
pub(super) const MIN_BAR: u16 = 24;
/// Host names are cut beyond this, so the time axis keeps most of a wide screen.
const MAX_HOST: usize = 44;
/// The server column is at least as wide as a short address (`1.2.3.4:9`) ...
const MIN_SERVER: usize = 9;
/// ... and cuts addresses beyond the widest IPv4 address and port.
const MAX_SERVER: usize = 22;
/// Process names are cut beyond this (`comm` is 15 bytes; a pid adds up to 8).
const MAX_PROCESS: usize = 24;
/// A terminal at least this wide also shows each row's byte count.
const BYTES_FROM_WIDTH: u16 = 110;
/// From this width the process that opened a row's flows has a column of its own; on a
/// narrower screen its name follows the host's, in the host cell.
const PROCESS_FROM_WIDTH: u16 = 120;
/// ... and from this width the column holds the pid too.
const PID_FROM_WIDTH: u16 = 140;

/// A column left of the time axis, in screen order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    /// `›` on the selected row, `✖` on a row whose flows failed.
    Mark,
    /// The role badge: five chars, so roles read without colour.
    Role,
    Host,
    /// The process that opened the row's flows (live, or a file that names them).
    Process,
    /// The server address, or how many addresses a host row spans.
    Server,
    Scope,
    Bytes,
}

/// What a column is: everything [`Layout`] and the drawing need to know of it.
struct Spec {
    heading: Option<&'static str>,
    align: Align,
    width: Width,
    /// Blank cells between the column before and this one.
    gap: u16,
    /// The narrowest screen that shows the column: columns of wider thresholds drop first
    /// as the screen narrows (the time axis keeps its room).
    shown_from: u16,
    /// The row's text for a cell of the given width, and its style; `None` leaves the cell
    /// as the row's background.
    text: TextFn,
}

/// The row's text for a cell of the given width.
type TextFn = for<'a> fn(&RowCtx<'a>, usize) -> Option<CellText<'a>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    /// Right-aligned in the whole cell (headings too).
    Right,
}

enum Width {
    Fixed(u16),
    /// The widest value among the view's rows, within bounds; `None`: no row has a value,
    /// and no column is drawn.
    Measured {
        of: fn(&Fit<'_>) -> Option<usize>,
        min: usize,
        max: usize,
    },
    /// What the other columns leave beside the time axis's [`MIN_BAR`], up to the widest
    /// value; at least `min` while the screen has it.
    Fill {
        of: fn(&Fit<'_>) -> usize,
        min: usize,
        max: usize,
    },
}

/// The column of [`Width::Fill`] while the others are measured.
struct Filler {
    /// Its index among the shown columns.
    at: usize,
    want: u16,
    min: u16,
}

/// What the widths of one frame are measured from.
struct Fit<'w> {
    widths: &'w Widths,
    pid: bool,
    process_in_host: bool,
}

impl Column {
    const ALL: [Column; 7] =
        [Column::Mark, Column::Role, Column::Host, Column::Process, Column::Server, Column::Scope, Column::Bytes];

    fn spec(self) -> Spec {
        match self {
            Column::Mark => Spec::new(None, Width::Fixed(1), mark_text).gap(0),
            Column::Role => Spec::new(Some("ROLE"), Width::Fixed(5), role_text).gap(0),
            Column::Host => Spec::new(Some("HOST"), Width::Fill { of: host_width, min: 8, max: MAX_HOST }, host_text),
            // At least as wide as its heading.
            Column::Process => {
                let width = Width::Measured { of: process_width, min: "PROCESS".len(), max: MAX_PROCESS };
                Spec::new(Some("PROCESS"), width, process_text).shown_from(PROCESS_FROM_WIDTH)
            }
            Column::Server => Spec::new(
                Some("SERVER"),
                Width::Measured { of: |f| Some(f.widths.addr), min: MIN_SERVER, max: MAX_SERVER },
                server_text,
            ),
            Column::Scope => Spec::new(None, Width::Fixed(4), scope_text),
            // The count is cut to one cell less than the column and set right: the first
            // cell is the gap.
            Column::Bytes => {
                Spec::new(Some("BYTES"), Width::Fixed(9), bytes_text).right().gap(0).shown_from(BYTES_FROM_WIDTH)
            }
        }
    }
}

impl Spec {
    /// Left-aligned, one cell after the column before, on every screen.
    fn new(heading: Option<&'static str>, width: Width, text: TextFn) -> Spec {
        Spec { heading, align: Align::Left, width, gap: 1, shown_from: 0, text }
    }

    fn gap(self, gap: u16) -> Spec {
        Spec { gap, ..self }
    }

    fn right(self) -> Spec {
        Spec { align: Align::Right, ..self }
    }

    fn shown_from(self, shown_from: u16) -> Spec {
        Spec { shown_from, ..self }
    }
}

/// The host label, or the label and the process when the process has no column.
fn host_width(f: &Fit<'_>) -> usize {
    if f.process_in_host {
        f.widths.label_process
    } else {
        f.widths.label
    }
}

fn process_width(f: &Fit<'_>) -> Option<usize> {
    (f.widths.process > 0).then_some(if f.pid { f.widths.process_pid } else { f.widths.process })
}

/// A column as placed on one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placed {
    column: Column,
    x: u16,
    width: u16,
}

/// Where the columns of one frame go, and the time axis after them.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// The shown columns, in screen order.
    placed: Vec<Placed>,
    /// The first cell of the rows (the selection spans from it to the separator).
    left: u16,
    /// The process column holds pids.
    pid: bool,
    /// The process's name goes into the host cell instead: some flow has one, the column
    /// does not fit.
    process_in_host: bool,
    /// The separator between the columns and the time axis.
    pub(super) sep: u16,
    pub(super) bar: u16,
    pub(super) bar_w: u16,
}

impl Layout {
    pub(super) fn new(area: Rect, widths: &Widths) -> Layout {
        let screen = area.width;
        let fit = Fit {
            widths,
            pid: screen >= PID_FROM_WIDTH,
            process_in_host: widths.process > 0 && screen < Column::Process.spec().shown_from,
        };
        let mut placed = Vec::with_capacity(Column::ALL.len());
        // The separator, and the shown columns but the one that fills.
        let mut fixed: u16 = 1;
        let mut fill = None;
        for column in Column::ALL {
            let spec = column.spec();
            if screen < spec.shown_from {
                continue;
            }
            let width = match spec.width {
                Width::Fixed(n) => n,
                Width::Measured { of, min, max } => match of(&fit) {
                    Some(n) => n.clamp(min, max) as u16,
                    None => continue,
                },
                Width::Fill { of, min, max } => {
                    fill = Some(Filler { at: placed.len(), want: of(&fit).clamp(min, max) as u16, min: min as u16 });
                    0
                }
            };
            fixed += spec.gap + width;
            placed.push(Placed { column, x: 0, width });
        }
        let room = screen.saturating_sub(fixed);
        if let Some(Filler { at, want, min }) = fill {
            placed[at].width = want.min(room.saturating_sub(MIN_BAR)).max(min.min(room));
        }
        let mut x = area.x;
        for p in &mut placed {
            x += p.column.spec().gap;
            p.x = x;
            x += p.width;
        }
        let (sep, bar) = (x, x + 1);
        Layout {
            placed,
            left: area.x,
            pid: fit.pid,
            process_in_host: fit.process_in_host,
            sep,
            bar,
            bar_w: area.right().saturating_sub(bar),
        }
    }

    /// The columns' headings on line `y`.
    pub(super) fn draw_headings(&self, buf: &mut Buffer, y: u16, t: &Theme) {
        for p in &self.placed {
            let spec = p.column.spec();
            if let Some(h) = spec.heading {
                write(buf, p, y, h, t.dim(), spec.align);
            }
        }
    }

    /// The columns of row `r` on line `y`.
    pub(super) fn draw_row(&self, buf: &mut Buffer, y: u16, r: &Row, model: &Model, selected: bool, t: &Theme) {
        if selected {
            buf.set_style(Rect { x: self.left, y, width: self.sep - self.left, height: 1 }, t.selected());
        }
        let views = &model.views;
        let failed = r.flows.iter().any(|&id| views.get(id as usize).is_some_and(|v| v.outcome.failed()));
        let ctx = RowCtx { row: r, model, theme: t, selected, failed, layout: self };
        for p in &self.placed {
            let spec = p.column.spec();
            if let Some(c) = (spec.text)(&ctx, usize::from(p.width)) {
                write(buf, p, y, &c.text, c.style, spec.align);
            }
        }
    }
}

fn write(buf: &mut Buffer, p: &Placed, y: u16, text: &str, style: Style, align: Align) {
    let w = usize::from(p.width);
    match align {
        Align::Left => buf.set_stringn(p.x, y, text, w, style),
        Align::Right => buf.set_stringn(p.x, y, format!("{text:>w$}"), w, style),
    };
}

/// What a column's text is made from.
struct RowCtx<'a> {
    row: &'a Row,
    model: &'a Model,
    theme: &'a Theme,
    selected: bool,
    /// Some flow of the row failed.
    failed: bool,
    layout: &'a Layout,
}

/// What a row shows in one column.
struct CellText<'a> {
    text: Cow<'a, str>,
    style: Style,
}

impl<'a> CellText<'a> {
    fn new(text: impl Into<Cow<'a, str>>, style: Style) -> Option<CellText<'a>> {
        Some(CellText { text: text.into(), style })
    }
}

fn mark_text<'a>(c: &RowCtx<'a>, _: usize) -> Option<CellText<'a>> {
    // The row's selection style stays on the selection mark.
    match (c.selected, c.failed) {
        (true, _) => CellText::new("›", Style::new()),
        (false, true) => CellText::new("✖", c.theme.error()),
        (false, false) => None,
    }
}

fn role_text<'a>(c: &RowCtx<'a>, _: usize) -> Option<CellText<'a>> {
    let t = c.theme;
    // The role stays readable; the mark and the colour say the row broke.
    let style = if c.failed { t.error() } else { t.group(c.row.group, c.row.private_link) };
    CellText::new(c.row.group.badge(), style.patch(t.bold()))
}

fn host_text<'a>(c: &RowCtx<'a>, width: usize) -> Option<CellText<'a>> {
    let (r, views) = (c.row, &c.model.views);
    // ` (dockerd)` after the host when the process has no column, kept whole while the host
    // keeps eight chars.
    let suffix = match c.layout.process_in_host.then(|| r.process_text(&c.model.flows, c.layout.pid)).flatten() {
        Some(p) => format!(" ({p})"),
        None => String::new(),
    };
    let suffix_w = suffix.chars().count();
    let room = if width >= suffix_w + 8 { width - suffix_w } else { width };
    let label = if r.alias {
        format!("{} ◇", fit(r.label(views), room.saturating_sub(2)))
    } else {
        fit(r.label(views), room)
    };
    CellText::new(fit(&(label + &suffix), width), Style::new())
}

fn process_text<'a>(c: &RowCtx<'a>, width: usize) -> Option<CellText<'a>> {
    let p = c.row.process_text(&c.model.flows, c.layout.pid)?;
    CellText::new(fit(&p, width), c.theme.dim())
}

fn server_text<'a>(c: &RowCtx<'a>, width: usize) -> Option<CellText<'a>> {
    CellText::new(fit(&c.row.addr_text(), width), Style::new())
}

fn scope_text<'a>(c: &RowCtx<'a>, _: usize) -> Option<CellText<'a>> {
    let t = c.theme;
    let (scope, style) = match c.row.scope {
        Scope::Private => ("priv", t.private()),
        Scope::Public => ("pub", Style::new()),
        Scope::Loopback => ("lo", t.dim()),
        Scope::LinkLocal => ("link", t.dim()),
    };
    CellText::new(scope, style)
}

fn bytes_text<'a>(c: &RowCtx<'a>, width: usize) -> Option<CellText<'a>> {
    CellText::new(fit(&human_bytes(c.row.bytes), width.saturating_sub(1)), c.theme.dim())
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Layout {
        /// Where `column` is on this frame; `None` when it is not shown.
        fn place(&self, column: Column) -> Option<Placed> {
            self.placed.iter().copied().find(|p| p.column == column)
        }
    }

    fn width(l: &Layout, c: Column) -> u16 {
        l.place(c).map_or(0, |p| p.width)
    }

    #[test]
    fn columns_leave_the_time_axis_room() {
        let w = Widths { label: 37, addr: 17, ..Widths::default() };
        let c = Layout::new(Rect::new(0, 0, 80, 10), &w);
        assert!(c.bar_w >= MIN_BAR, "{c:?}");
        assert_eq!(c.place(Column::Bytes), None);
        let wide = Layout::new(Rect::new(0, 0, 160, 10), &w);
        assert_eq!(width(&wide, Column::Host), 37, "a wide screen shows whole names");
        assert!(wide.place(Column::Bytes).is_some());
        assert_eq!(wide.bar + wide.bar_w, 160);
        assert_eq!((wide.place(Column::Process), wide.process_in_host), (None, false), "no process known: no column");
        let host = wide.place(Column::Host).unwrap();
        assert_eq!(wide.place(Column::Server).unwrap().x, host.x + 38, "{wide:?}");
    }

    #[test]
    fn the_process_has_a_column_on_wide_screens_and_joins_the_host_on_narrow_ones() {
        let w = Widths { label: 30, addr: 17, process: 7, process_pid: 11, label_process: 40 };
        let wide = Layout::new(Rect::new(0, 0, 160, 10), &w);
        assert_eq!((width(&wide, Column::Process), wide.pid, wide.process_in_host), (11, true, false), "{wide:?}");
        let host = wide.place(Column::Host).unwrap();
        assert_eq!(host.width, 30);
        let (process, server) = (wide.place(Column::Process).unwrap(), wide.place(Column::Server).unwrap());
        assert_eq!((process.x, server.x), (host.x + 31, host.x + 31 + 12));
        assert!(wide.bar_w >= MIN_BAR);
        let mid = Layout::new(Rect::new(0, 0, 125, 10), &w);
        assert_eq!((width(&mid, Column::Process), mid.pid), (7, false), "{mid:?}");
        let narrow = Layout::new(Rect::new(0, 0, 100, 10), &w);
        assert_eq!((width(&narrow, Column::Process), narrow.process_in_host), (0, true), "{narrow:?}");
        assert!(width(&narrow, Column::Host) > 30, "the host cell makes room for the name: {narrow:?}");
        assert!(narrow.bar_w >= MIN_BAR);
    }

    #[test]
    fn columns_drop_as_the_screen_narrows() {
        use Column::*;
        let w = Widths { label: 20, addr: 15, process: 7, process_pid: 11, label_process: 30 };
        let shown = |width| -> Vec<Column> {
            Layout::new(Rect::new(0, 0, width, 10), &w).placed.iter().map(|p| p.column).collect()
        };
        assert_eq!(shown(160), [Mark, Role, Host, Process, Server, Scope, Bytes]);
        assert_eq!(shown(PROCESS_FROM_WIDTH - 1), [Mark, Role, Host, Server, Scope, Bytes]);
        assert_eq!(shown(BYTES_FROM_WIDTH - 1), [Mark, Role, Host, Server, Scope]);
        assert_eq!(shown(40), [Mark, Role, Host, Server, Scope], "the time axis shrinks, the host cell too");
    }

    #[test]
    fn columns_sit_where_the_screen_has_always_had_them() {
        // Selection mark, badge and gap, host and gap, server and gap, scope, bytes, separator.
        let w = Widths { label: 20, addr: 15, ..Widths::default() };
        let c = Layout::new(Rect::new(3, 0, 120, 10), &w);
        let xs: Vec<(Column, u16, u16)> = c.placed.iter().map(|p| (p.column, p.x, p.width)).collect();
        assert_eq!(
            xs,
            [
                (Column::Mark, 3, 1),
                (Column::Role, 4, 5),
                (Column::Host, 10, 20),
                (Column::Server, 31, 15),
                (Column::Scope, 47, 4),
                (Column::Bytes, 51, 9)
            ]
        );
        assert_eq!((c.sep, c.bar, c.bar_w), (60, 61, 62));
    }
}
