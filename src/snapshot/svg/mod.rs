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

/// Whether a cell's symbol is drawn as shapes rather than with a font.
pub fn is_vector(c: char) -> bool {
    matches!(c as u32, 0x2500..=0x259F | 0x2800..=0x28FF | 0x23F8)
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
    list: Vec<(Rgb, u16, [f64; 4])>,
    /// (colour, alpha, y, h, right edge) → index in `list`, in hundredths.
    by_right: HashMap<(Rgb, u16, i64, i64, i64), usize>,
    /// (colour, alpha, x, w, bottom edge) → index in `list`, in hundredths.
    by_bottom: HashMap<(Rgb, u16, i64, i64, i64), usize>,
}

type Key = (Rgb, u16, i64, i64, i64);

impl Rects {
    fn keys(&self, i: usize) -> (Key, Key) {
        let (c, a, [x, y, w, h]) = self.list[i];
        ((c, a, hund(y), hund(h), hund(x + w)), (c, a, hund(x), hund(w), hund(y + h)))
    }

    fn unkey(&mut self, i: usize) {
        let (r, b) = self.keys(i);
        if self.by_right.get(&r) == Some(&i) {
            self.by_right.remove(&r);
        }
        if self.by_bottom.get(&b) == Some(&i) {
            self.by_bottom.remove(&b);
        }
    }

    fn key(&mut self, i: usize) {
        let (r, b) = self.keys(i);
        self.by_right.insert(r, i);
        self.by_bottom.insert(b, i);
    }

    fn add(&mut self, c: Rgb, alpha: f64, x: f64, y: f64, w: f64, h: f64) {
        if w <= 0.0 || h <= 0.0 {
            return;
        }
        let a = (alpha * 100.0).round() as u16;
        if let Some(&i) = self.by_right.get(&(c, a, hund(y), hund(h), hund(x))) {
            self.unkey(i);
            self.list[i].2[2] += w;
            self.key(i);
            return;
        }
        if let Some(&i) = self.by_bottom.get(&(c, a, hund(x), hund(w), hund(y))) {
            self.unkey(i);
            self.list[i].2[3] += h;
            self.key(i);
            return;
        }
        self.list.push((c, a, [x, y, w, h]));
        self.key(self.list.len() - 1);
    }

    fn svg(&self) -> String {
        let mut s = String::new();
        for (c, a, [x, y, w, h]) in &self.list {
            let op = if *a < 100 { format!(r#" fill-opacity="{}""#, num(*a as f64 / 100.0)) } else { String::new() };
            let _ = writeln!(
                s,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"{op}/>"#,
                num(*x),
                num(*y),
                num(*w),
                num(*h),
                c.hex()
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

/// A shape of a vector glyph, in the cell's own coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Prim {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        alpha: f64,
    },
    /// A path stroked 1 unit wide.
    Stroke {
        d: String,
    },
    Dot {
        cx: f64,
        cy: f64,
        r: f64,
    },
}

fn rect(x: f64, y: f64, w: f64, h: f64) -> Prim {
    Prim::Rect { x, y, w, h, alpha: 1.0 }
}

/// Line weights of the four arms of a box-drawing character, in the order left, right, up,
/// down: 0 none, 1 light, 2 heavy, 3 double. U+2500–254B and U+2550–256C, U+2574–257F;
/// dashes, arcs and diagonals are drawn apart.
fn arms(c: u32) -> Option<[u8; 4]> {
    const LIGHT_HEAVY: [&str; 76] = [
        "1100", "2200", "0011", "0022", "", "", "", "", "", "", "", "", // 2500–250B
        "0101", "0201", "0102", "0202", "1001", "2001", "1002", "2002", // 250C–2513
        "0110", "0210", "0120", "0220", "1010", "2010", "1020", "2020", // 2514–251B
        "0111", "0211", "0121", "0112", "0122", "0221", "0212", "0222", // 251C–2523
        "1011", "2011", "1021", "1012", "1022", "2021", "2012", "2022", // 2524–252B
        "1101", "2101", "1201", "2201", "1102", "2102", "1202", "2202", // 252C–2533
        "1110", "2110", "1210", "2210", "1120", "2120", "1220", "2220", // 2534–253B
        "1111", "2111", "1211", "2211", "1121", "1112", "1122", "2121", // 253C–2543
        "1221", "2112", "1212", "2221", "2212", "2122", "1222", "2222", // 2544–254B
    ];
    const DOUBLE: [&str; 29] = [
        "3300", "0033", "0301", "0103", "0303", "3001", "1003", "3003", // 2550–2557
        "0310", "0130", "0330", "3010", "1030", "3030", "0311", "0133", // 2558–255F
        "0333", "3011", "1033", "3033", "3301", "1103", "3303", "3310", // 2560–2567
        "1130", "3330", "3311", "1133", "3333", // 2568–256C
    ];
    const HALVES: [&str; 12] =
        ["1000", "0010", "0100", "0001", "2000", "0020", "0200", "0002", "1200", "0012", "2100", "0021"];
    let s = match c {
        0x2500..=0x254B => LIGHT_HEAVY[(c - 0x2500) as usize],
        0x2550..=0x256C => DOUBLE[(c - 0x2550) as usize],
        0x2574..=0x257F => HALVES[(c - 0x2574) as usize],
        _ => return None,
    };
    let b = s.as_bytes();
    if b.len() != 4 {
        return None;
    }
    Some([b[0] - b'0', b[1] - b'0', b[2] - b'0', b[3] - b'0'])
}

/// The shapes of a vector-drawn character in a cell `cw`×`ch` units; `None` for characters
/// drawn from the font.
pub fn vector_glyph(c: char, cw: f64, ch: f64) -> Option<Vec<Prim>> {
    let u = c as u32;
    // Line centres: on a pixel centre at 1× and on pixel edges at 2×.
    let cx = (cw / 2.0).floor() + 0.5;
    let cy = (ch / 2.0).floor() + 0.5;
    let mut p = Vec::new();
    match u {
        0x2500..=0x257F => {
            if let Some(a) = arms(u) {
                box_lines(&mut p, a, cw, ch, cx, cy);
            } else if let Some((vertical, heavy, n)) = dashes(u) {
                let t = if heavy { 2.0 } else { 1.0 };
                let len = if vertical { ch } else { cw };
                let seg = len / n as f64;
                for i in 0..n {
                    let s = i as f64 * seg + seg / 4.0;
                    if vertical {
                        p.push(rect(cx - t / 2.0, s, t, seg / 2.0));
                    } else {
                        p.push(rect(s, cy - t / 2.0, seg / 2.0, t));
                    }
                }
            } else {
                let r = (cw - cx).min(cx);
                let d = match u {
                    0x256D => format!(
                        "M{} {}H{}A{} {} 0 0 0 {} {}V{}",
                        num(cw),
                        num(cy),
                        num(cx + r),
                        num(r),
                        num(r),
                        num(cx),
                        num(cy + r),
                        num(ch)
                    ),
                    0x256E => format!(
                        "M0 {}H{}A{} {} 0 0 1 {} {}V{}",
                        num(cy),
                        num(cx - r),
                        num(r),
                        num(r),
                        num(cx),
                        num(cy + r),
                        num(ch)
                    ),
                    0x256F => format!(
                        "M0 {}H{}A{} {} 0 0 0 {} {}V0",
                        num(cy),
                        num(cx - r),
                        num(r),
                        num(r),
                        num(cx),
                        num(cy - r)
                    ),
                    0x2570 => format!(
                        "M{} {}H{}A{} {} 0 0 1 {} {}V0",
                        num(cw),
                        num(cy),
                        num(cx + r),
                        num(r),
                        num(r),
                        num(cx),
                        num(cy - r)
                    ),
                    0x2571 => format!("M{} 0L0 {}", num(cw), num(ch)),
                    0x2572 => format!("M0 0L{} {}", num(cw), num(ch)),
                    0x2573 => format!("M{} 0L0 {}M0 0L{} {}", num(cw), num(ch), num(cw), num(ch)),
                    _ => return None,
                };
                p.push(Prim::Stroke { d });
            }
        }
        0x2580 => p.push(rect(0.0, 0.0, cw, ch / 2.0)),
        0x2581..=0x2588 => {
            let h = ch * (u - 0x2580) as f64 / 8.0;
            p.push(rect(0.0, ch - h, cw, h));
        }
        0x2589..=0x258F => p.push(rect(0.0, 0.0, cw * (0x2590 - u) as f64 / 8.0, ch)),
        0x2590 => p.push(rect(cw / 2.0, 0.0, cw / 2.0, ch)),
        0x2591..=0x2593 => p.push(Prim::Rect { x: 0.0, y: 0.0, w: cw, h: ch, alpha: (u - 0x2590) as f64 * 0.25 }),
        0x2594 => p.push(rect(0.0, 0.0, cw, ch / 8.0)),
        0x2595 => p.push(rect(cw * 7.0 / 8.0, 0.0, cw / 8.0, ch)),
        0x2596..=0x259F => {
            // Quadrants: upper left, upper right, lower left, lower right.
            const Q: [u8; 10] = [0b0010, 0b0001, 0b1000, 0b1011, 0b1001, 0b1110, 0b1101, 0b0100, 0b0110, 0b0111];
            let bits = Q[(u - 0x2596) as usize];
            let (hw, hh) = (cw / 2.0, ch / 2.0);
            for (i, (x, y)) in [(0.0, 0.0), (hw, 0.0), (0.0, hh), (hw, hh)].into_iter().enumerate() {
                if bits & (0b1000 >> i) != 0 {
                    p.push(rect(x, y, hw, hh));
                }
            }
        }
        0x2800..=0x28FF => {
            // Dots 1–3 and 7 down the left column, 4–6 and 8 down the right.
            const POS: [(u8, u8); 8] = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)];
            let bits = u - 0x2800;
            for (i, &(col, row)) in POS.iter().enumerate() {
                if bits & (1 << i) != 0 {
                    let x = cw * (0.3 + 0.4 * col as f64);
                    let y = ch * (1.0 + 2.0 * row as f64) / 8.0;
                    p.push(Prim::Dot { cx: x, cy: y, r: (cw / 7.0).max(0.8) });
                }
            }
        }
        0x23F8 => {
            let bw = (cw / 4.0).max(1.0);
            p.push(rect(cw / 2.0 - bw * 1.5, ch * 0.25, bw, ch * 0.5));
            p.push(rect(cw / 2.0 + bw * 0.5, ch * 0.25, bw, ch * 0.5));
        }
        _ => return None,
    }
    Some(p)
}

/// Dashed lines: (vertical, heavy, dashes per cell).
fn dashes(u: u32) -> Option<(bool, bool, u32)> {
    Some(match u {
        0x2504 => (false, false, 3),
        0x2505 => (false, true, 3),
        0x2506 => (true, false, 3),
        0x2507 => (true, true, 3),
        0x2508 => (false, false, 4),
        0x2509 => (false, true, 4),
        0x250A => (true, false, 4),
        0x250B => (true, true, 4),
        0x254C => (false, false, 2),
        0x254D => (false, true, 2),
        0x254E => (true, false, 2),
        0x254F => (true, true, 2),
        _ => return None,
    })
}

/// Distance between the centre of a double line's two strokes and the cell's line centre.
const GAP: f64 = 2.0;

fn box_lines(p: &mut Vec<Prim>, a: [u8; 4], cw: f64, ch: f64, cx: f64, cy: f64) {
    let [l, r, u, d] = a;
    let thick = |w: u8| if w == 2 { 2.0 } else { 1.0 };
    let half = |w: u8| if w == 0 { 0.0f64 } else { thick(w) / 2.0 };
    if !a.contains(&3) {
        // Light and heavy: each arm from its edge to just past the centre, far enough to
        // cover the perpendicular arms' width, so corners are square and joins seamless.
        let hv = half(u).max(half(d));
        let hh = half(l).max(half(r));
        let ext_h = if hv > 0.0 { hv } else { 0.0 };
        let ext_v = if hh > 0.0 { hh } else { 0.0 };
        if l > 0 {
            p.push(rect(0.0, cy - half(l), cx + ext_h, thick(l)));
        }
        if r > 0 {
            p.push(rect(cx - ext_h, cy - half(r), cw - cx + ext_h, thick(r)));
        }
        if u > 0 {
            p.push(rect(cx - half(u), 0.0, thick(u), cy + ext_v));
        }
        if d > 0 {
            p.push(rect(cx - half(d), cy - ext_v, thick(d), ch - cy + ext_v));
        }
        return;
    }
    // Double lines (1 unit strokes at ±GAP from the centre), possibly meeting single ones.
    let reach = |w: u8| if w == 3 { GAP } else { 0.0 };
    let has = |w: u8| w > 0;
    let dbl = |w: u8| w == 3;
    let hline = |p: &mut Vec<Prim>, y: f64, x0: f64, x1: f64| {
        if x1 > x0 {
            p.push(rect(x0, y - 0.5, x1 - x0, 1.0));
        }
    };
    let vline = |p: &mut Vec<Prim>, x: f64, y0: f64, y1: f64| {
        if y1 > y0 {
            p.push(rect(x - 0.5, y0, 1.0, y1 - y0));
        }
    };
    // Horizontal double arms: a top stroke that stops at the up arm (or turns the corner
    // into the down arm), and a bottom stroke the other way round; vertical ones likewise.
    let top = cy - GAP;
    let bottom = cy + GAP;
    if dbl(r) {
        for (y, near, far) in [(top, u, d), (bottom, d, u)] {
            let start = if has(near) {
                cx + reach(near) - 0.5
            } else if dbl(l) {
                0.0
            } else if has(far) {
                cx - reach(far) - 0.5
            } else {
                cx - 0.5
            };
            hline(p, y, start, cw);
        }
    }
    if dbl(l) {
        for (y, near, far) in [(top, u, d), (bottom, d, u)] {
            let end = if has(near) {
                cx - reach(near) + 0.5
            } else if dbl(r) {
                cw
            } else if has(far) {
                cx + reach(far) + 0.5
            } else {
                cx + 0.5
            };
            hline(p, y, 0.0, end);
        }
    }
    let left = cx - GAP;
    let right = cx + GAP;
    if dbl(d) {
        for (x, near, far) in [(left, l, r), (right, r, l)] {
            let start = if has(near) {
                cy + reach(near) - 0.5
            } else if dbl(u) {
                0.0
            } else if has(far) {
                cy - reach(far) - 0.5
            } else {
                cy - 0.5
            };
            vline(p, x, start, ch);
        }
    }
    if dbl(u) {
        for (x, near, far) in [(left, l, r), (right, r, l)] {
            let end = if has(near) {
                cy - reach(near) + 0.5
            } else if dbl(d) {
                ch
            } else if has(far) {
                cy + reach(far) + 0.5
            } else {
                cy + 0.5
            };
            vline(p, x, 0.0, end);
        }
    }
    // Single arms beside double ones: straight through when the opposite arm is there too;
    // otherwise up to the near double stroke when double arms stand on both sides, or to the
    // far one (a corner) when on one side only.
    // `single_end` says how far short of the centre the arm stops (negative: past it), or
    // `None` when the arm runs on through the cell.
    let single_end = |opposite: u8, side_a: u8, side_b: u8| -> Option<f64> {
        if has(opposite) {
            return None;
        }
        Some(match (dbl(side_a), dbl(side_b)) {
            (true, true) => GAP - 0.5,
            (true, false) | (false, true) => -(GAP + 0.5),
            (false, false) => -0.5,
        })
    };
    if l == 1 {
        let end = single_end(r, u, d).map_or(cx, |e| cx - e);
        hline(p, cy, 0.0, end);
    }
    if r == 1 {
        let start = single_end(l, u, d).map_or(cx, |e| cx + e);
        hline(p, cy, start, cw);
    }
    if u == 1 {
        let end = single_end(d, l, r).map_or(cy, |e| cy - e);
        vline(p, cx, 0.0, end);
    }
    if d == 1 {
        let start = single_end(u, l, r).map_or(cy, |e| cy + e);
        vline(p, cx, start, ch);
    }
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

    #[test]
    fn box_corners_reach_both_edges() {
        // ┌: a right arm to the right edge and a down arm to the bottom, meeting at the centre.
        let p = vector_glyph('┌', 8.0, 16.0).unwrap();
        assert_eq!(p, vec![rect(4.0, 8.0, 4.0, 1.0), rect(4.0, 8.0, 1.0, 8.0)]);
        // ─ spans the cell; │ too.
        assert_eq!(vector_glyph('─', 8.0, 16.0).unwrap(), vec![rect(0.0, 8.0, 4.5, 1.0), rect(4.5, 8.0, 3.5, 1.0)]);
        assert_eq!(vector_glyph('│', 8.0, 16.0).unwrap(), vec![rect(4.0, 0.0, 1.0, 8.5), rect(4.0, 8.5, 1.0, 7.5)]);
        // ╔: two strokes each way, the outer corner closed.
        let p = vector_glyph('╔', 8.0, 16.0).unwrap();
        assert!(p.contains(&rect(2.0, 6.0, 6.0, 1.0)), "{p:?}");
        assert!(p.contains(&rect(2.0, 6.0, 1.0, 10.0)), "{p:?}");
        assert!(p.contains(&rect(6.0, 10.0, 2.0, 1.0)), "{p:?}");
        assert!(p.contains(&rect(6.0, 10.0, 1.0, 6.0)), "{p:?}");
    }

    #[test]
    fn blocks_fill_their_eighths() {
        assert_eq!(vector_glyph('█', 8.0, 16.0).unwrap(), vec![rect(0.0, 0.0, 8.0, 16.0)]);
        assert_eq!(vector_glyph('▁', 8.0, 16.0).unwrap(), vec![rect(0.0, 14.0, 8.0, 2.0)]);
        assert_eq!(vector_glyph('▄', 8.0, 16.0).unwrap(), vec![rect(0.0, 8.0, 8.0, 8.0)]);
        assert_eq!(vector_glyph('▏', 8.0, 16.0).unwrap(), vec![rect(0.0, 0.0, 1.0, 16.0)]);
        assert_eq!(vector_glyph('▚', 8.0, 16.0).unwrap(), vec![rect(0.0, 0.0, 4.0, 8.0), rect(4.0, 8.0, 4.0, 8.0)]);
        assert!(vector_glyph('a', 8.0, 16.0).is_none());
        assert!(vector_glyph('◆', 8.0, 16.0).is_none());
        assert_eq!(vector_glyph('⣿', 8.0, 16.0).unwrap().len(), 8);
    }
}
