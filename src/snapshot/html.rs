//! The screen as an HTML fragment: one `<pre>` with inline styles, to paste into docs,
//! tickets or wiki pages (no stylesheet, no script). Box and block characters come from the
//! reader's monospace font here; for a picture that never depends on fonts, use the SVG.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

use super::svg::{escape, FONT_FAMILY};
use super::{row_cells, Rgb, Theme};

pub fn render(buf: &Buffer, theme: &Theme) -> String {
    let mut out = format!(
        r#"<pre style="background:{};color:{};font-family:{};font-size:13px;line-height:1.2;padding:8px;margin:0;overflow-x:auto;">"#,
        theme.bg.hex(),
        theme.fg.hex(),
        FONT_FAMILY.replace('\'', "")
    );
    for y in 0..buf.area.height {
        let cells = row_cells(buf, y);
        let mut open: Option<String> = None;
        let mut line = String::new();
        // Trailing cells that show nothing are left out.
        let keep = cells
            .iter()
            .rposition(|(_, c, _)| {
                let (_, bg) = theme.cell_colors(c);
                !c.symbol().trim().is_empty() || bg != theme.bg || c.modifier.contains(Modifier::UNDERLINED)
            })
            .map_or(0, |i| i + 1);
        for (_, cell, _) in &cells[..keep] {
            let style = css(theme, cell);
            if open.as_deref() != Some(style.as_str()) {
                if open.as_deref().is_some_and(|s| !s.is_empty()) {
                    line.push_str("</span>");
                }
                if !style.is_empty() {
                    let _ = write!(line, r#"<span style="{style}">"#);
                }
                open = Some(style);
            }
            let s = match cell.symbol() {
                "" => " ",
                s => s,
            };
            line.push_str(&escape(s));
        }
        if open.is_some_and(|s| !s.is_empty()) {
            line.push_str("</span>");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("</pre>\n");
    out
}

/// Inline CSS for a cell, empty for the default look.
fn css(theme: &Theme, cell: &ratatui::buffer::Cell) -> String {
    let (fg, bg): (Rgb, Rgb) = theme.cell_colors(cell);
    let mut s = String::new();
    if fg != theme.fg {
        let _ = write!(s, "color:{};", fg.hex());
    }
    if bg != theme.bg {
        let _ = write!(s, "background:{};", bg.hex());
    }
    if cell.modifier.contains(Modifier::BOLD) {
        s.push_str("font-weight:bold;");
    }
    if cell.modifier.contains(Modifier::ITALIC) {
        s.push_str("font-style:italic;");
    }
    let under = cell.modifier.contains(Modifier::UNDERLINED);
    let strike = cell.modifier.contains(Modifier::CROSSED_OUT);
    match (under, strike) {
        (true, true) => s.push_str("text-decoration:underline line-through;"),
        (true, false) => s.push_str("text-decoration:underline;"),
        (false, true) => s.push_str("text-decoration:line-through;"),
        (false, false) => {}
    }
    if cell.modifier.contains(Modifier::HIDDEN) {
        s.push_str("visibility:hidden;");
    }
    s
}
