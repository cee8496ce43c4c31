//! The screen as an SVG picture: a grid of `CELL_W`×`CELL_H` cells on a background rect.
//!
//! Text is drawn per row in runs of cells of one style, each character at its own cell's x
//! (an `x` list, one number per character), so columns line up whatever font the viewer has;
//! a row's text can be read back from those numbers (column = x / `CELL_W`, row = y /
//! `CELL_H`). Box drawing (U+2500–257F), block elements (U+2580–259F), braille (U+2800–28FF)
//! and the pause sign are not taken from a font: they are drawn as rectangles and strokes
//! that fill the cell edge to edge, so lines join and bars stand flush in every viewer.
//!
//! The output is deterministic: coordinates are multiples of 1/100 printed without
//! trailing zeros, and elements come in cell order.

use std::collections::HashMap;
use std::fmt::Write as _;

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::Modifier;

use super::{row_cells, Rgb, Theme};

mod glyph;
pub use glyph::{is_vector, vector_glyph, Prim};

/// Cell width in SVG user units (CSS px).
pub const CELL_W: u32 = 8;
/// Cell height in SVG user units; a multiple of 8, so block eighths fall on whole units.
pub const CELL_H: u32 = 16;
/// The font size that gives DejaVu Sans Mono (advance 0.602 em) an advance of `CELL_W`.
pub const FONT_SIZE: &str = "13.3";
/// Text baseline below the top of its cell.
pub const BASELINE: f64 = 12.5;
/// The fonts asked for, best first: the one we ship for PNGs, then each system's own.
pub const FONT_FAMILY: &str = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace";

/// The buffer as a standalone SVG document.
pub fn render(buf: &Buffer, theme: &Theme) -> String {
    let area = buf.area;
    let (w, h) = (area.width as u32 * CELL_W, area.height as u32 * CELL_H);
    let mut out = String::with_capacity(64 * 1024);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" data-cols="{}" data-rows="{}" data-cell-width="{CELL_W}" data-cell-height="{CELL_H}" font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}" xml:space="preserve" style="white-space:pre">"#,
        area.width, area.height
    );
    let _ = writeln!(out, r#"<rect width="{w}" height="{h}" fill="{}"/>"#, theme.bg.hex());

    let mut backgrounds = Rects::default();
    let mut shapes = Rects::default();
    let mut strokes = String::new();
    let mut texts = String::new();
    for y in 0..area.height {
        let y0 = y as f64 * CELL_H as f64;
        let cells = row_cells(buf, y);
        for &(x, cell, cw) in &cells {
            let x0 = x as f64 * CELL_W as f64;
            let wpx = cw as f64 * CELL_W as f64;
            let (fg, bg) = theme.cell_colors(cell);
            if bg != theme.bg {
                backgrounds.add(bg, 1.0, x0, y0, wpx, CELL_H as f64);
            }
            if cell.modifier.contains(Modifier::HIDDEN) {
                continue;
            }
            if cell.modifier.contains(Modifier::UNDERLINED) {
                shapes.add(fg, 1.0, x0, y0 + BASELINE + 1.5, wpx, 1.0);
            }
            if cell.modifier.contains(Modifier::CROSSED_OUT) {
                shapes.add(fg, 1.0, x0, y0 + 8.0, wpx, 1.0);
            }
            let mut chars = cell.symbol().chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                if let Some(prims) = vector_glyph(c, wpx, CELL_H as f64) {
                    for p in prims {
                        match p {
                            Prim::Rect { x, y, w, h, alpha } => shapes.add(fg, alpha, x0 + x, y0 + y, w, h),
                            Prim::Stroke { d } => {
                                let _ = writeln!(
                                    strokes,
                                    r#"<path d="{}" transform="translate({} {})" fill="none" stroke="{}" stroke-width="1"/>"#,
                                    d,
                                    num(x0),
                                    num(y0),
                                    fg.hex()
                                );
                            }
                            Prim::Dot { cx, cy, r } => {
                                let _ = writeln!(
                                    strokes,
                                    r#"<circle cx="{}" cy="{}" r="{}" fill="{}"/>"#,
                                    num(x0 + cx),
                                    num(y0 + cy),
                                    num(r),
                                    fg.hex()
                                );
                            }
                        }
                    }
                }
            }
        }
        text_runs(&mut texts, &cells, theme, y0 + BASELINE);
    }
    out.push_str(&backgrounds.svg());
    out.push_str(&shapes.svg());
    out.push_str(&strokes);
    out.push_str(&texts);
    out.push_str("</svg>\n");
    out
}

/// A character drawn from a font, or nothing to draw (space, shapes, hidden).
fn is_text(cell: &Cell) -> bool {
    let s = cell.symbol();
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (None, _) => false,
        (Some(c), None) => !c.is_whitespace() && !is_vector(c),
        (Some(_), Some(_)) => !s.trim().is_empty(),
    }
}

#[derive(PartialEq, Clone, Copy)]
struct TextStyle {
    fg: Rgb,
    bold: bool,
    italic: bool,
}

/// Runs of same-style text cells of one row as `<text>` elements. A run may hold up to 3
/// spaces (which draw nothing) so a phrase stays one element; each character gets the x of
/// its cell. A symbol of several chars (a letter with combining marks) is an element of its
/// own, placed by its first char.
fn text_runs(out: &mut String, cells: &[(u16, &Cell, u16)], theme: &Theme, baseline: f64) {
    struct Run {
        style: TextStyle,
        xs: Vec<u16>,
        text: String,
    }
    let flush = |out: &mut String, run: &mut Option<Run>| {
        let Some(r) = run.take() else { return };
        let xs: Vec<String> = r.xs.iter().map(|&x| (x as u32 * CELL_W).to_string()).collect();
        let mut attrs = format!(r#" fill="{}""#, r.style.fg.hex());
        if r.style.bold {
            attrs.push_str(r#" font-weight="bold""#);
        }
        if r.style.italic {
            attrs.push_str(r#" font-style="italic""#);
        }
        let _ = writeln!(out, r#"<text x="{}" y="{}"{attrs}>{}</text>"#, xs.join(" "), num(baseline), escape(&r.text));
    };
    let mut run: Option<Run> = None;
    let mut spaces: Vec<u16> = Vec::new();
    for &(x, cell, _) in cells {
        let visible = !cell.modifier.contains(Modifier::HIDDEN);
        if !visible || !is_text(cell) {
            let blank = cell.symbol().chars().all(char::is_whitespace);
            if blank && run.is_some() && spaces.len() < 3 {
                spaces.push(x);
            } else {
                flush(out, &mut run);
                spaces.clear();
            }
            continue;
        }
        let style = TextStyle {
            fg: theme.cell_colors(cell).0,
            bold: cell.modifier.contains(Modifier::BOLD),
            italic: cell.modifier.contains(Modifier::ITALIC),
        };
        let single = cell.symbol().chars().count() == 1;
        if run.as_ref().is_some_and(|r| r.style != style) || !single {
            flush(out, &mut run);
            spaces.clear();
        }
        let r = run.get_or_insert_with(|| Run { style, xs: Vec::new(), text: String::new() });
        for sx in spaces.drain(..) {
            r.xs.push(sx);
            r.text.push(' ');
        }
        r.xs.push(x);
        r.text.push_str(cell.symbol());
        if !single {
            flush(out, &mut run);
        }
    }
    flush(out, &mut run);
}

/// Rectangles by colour; one that continues another of the same colour (same height to its
/// right, or same width below it) makes that one longer instead, so runs of lines and bars
/// are single shapes without seams.
#[derive(Default)]
struct Rects {
    list: Vec<Fill>,
    /// Index in `list` by right edge.
    by_right: HashMap<Edge, usize>,
    /// Index in `list` by bottom edge.
    by_bottom: HashMap<Edge, usize>,
}

/// A filled rectangle.
#[derive(Clone, Copy)]
struct Fill {
    colour: Rgb,
    /// Opacity in hundredths.
    alpha: u16,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// An edge that a rectangle of the same colour and opacity may continue: where the edge is,
/// and where it starts along it and how long it is, in hundredths.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Edge {
    colour: Rgb,
    alpha: u16,
    start: i64,
    len: i64,
    at: i64,
}

impl Fill {
    fn right(&self) -> Edge {
        Edge {
            colour: self.colour,
            alpha: self.alpha,
            start: hund(self.y),
            len: hund(self.h),
            at: hund(self.x + self.w),
        }
    }

    fn bottom(&self) -> Edge {
        Edge {
            colour: self.colour,
            alpha: self.alpha,
            start: hund(self.x),
            len: hund(self.w),
            at: hund(self.y + self.h),
        }
    }

    /// The right edge a rectangle continuing this one to its left would have.
    fn left(&self) -> Edge {
        Edge { at: hund(self.x), ..self.right() }
    }

    /// The bottom edge a rectangle continuing this one from above would have.
    fn top(&self) -> Edge {
        Edge { at: hund(self.y), ..self.bottom() }
    }
}

impl Rects {
    fn unkey(&mut self, i: usize) {
        let (r, b) = (self.list[i].right(), self.list[i].bottom());
        if self.by_right.get(&r) == Some(&i) {
            self.by_right.remove(&r);
        }
        if self.by_bottom.get(&b) == Some(&i) {
            self.by_bottom.remove(&b);
        }
    }

    fn key(&mut self, i: usize) {
        self.by_right.insert(self.list[i].right(), i);
        self.by_bottom.insert(self.list[i].bottom(), i);
    }

    fn add(&mut self, colour: Rgb, alpha: f64, x: f64, y: f64, w: f64, h: f64) {
        if w <= 0.0 || h <= 0.0 {
            return;
        }
        let f = Fill { colour, alpha: (alpha * 100.0).round() as u16, x, y, w, h };
        if let Some(&i) = self.by_right.get(&f.left()) {
            self.unkey(i);
            self.list[i].w += w;
            self.key(i);
            return;
        }
        if let Some(&i) = self.by_bottom.get(&f.top()) {
            self.unkey(i);
            self.list[i].h += h;
            self.key(i);
            return;
        }
        self.list.push(f);
        self.key(self.list.len() - 1);
    }

    fn svg(&self) -> String {
        let mut s = String::new();
        for f in &self.list {
            let op = if f.alpha < 100 {
                format!(r#" fill-opacity="{}""#, num(f.alpha as f64 / 100.0))
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"{op}/>"#,
                num(f.x),
                num(f.y),
                num(f.w),
                num(f.h),
                f.colour.hex()
            );
        }
        s
    }
}

fn hund(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

/// A number as SVG text: at most two decimals, no trailing zeros, no `-0`.
pub fn num(v: f64) -> String {
    let h = hund(v);
    if h % 100 == 0 {
        return (h / 100).to_string();
    }
    let s = format!("{}{}.{:02}", if h < 0 { "-" } else { "" }, h.abs() / 100, h.abs() % 100);
    s.trim_end_matches('0').to_string()
}

pub(crate) fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c if (c as u32) < 0x20 => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_short_and_stable() {
        assert_eq!(num(8.0), "8");
        assert_eq!(num(4.5), "4.5");
        assert_eq!(num(13.333), "13.33");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(-2.25), "-2.25");
    }
}
