//! The screen as text: plain (`.txt`, trailing spaces trimmed) or with ANSI SGR colour codes
//! (`.ansi`, for `cat` in a terminal; every line ends with a reset).

use std::fmt::Write as _;

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};

use super::row_cells;

/// One line per row, trailing spaces trimmed; a wide character stands for its two cells.
pub fn plain(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for (_, cell, _) in row_cells(buf, y) {
            line.push_str(symbol(cell));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn symbol(cell: &Cell) -> &str {
    match cell.symbol() {
        "" => " ",
        s => s,
    }
}

/// One line per row with SGR codes wherever the style changes and a reset at each line's
/// end. Trailing cells that show nothing (a space on the default background, no underline
/// or reverse) are left out.
pub fn ansi(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let cells = row_cells(buf, y);
        let keep = cells.iter().rposition(|(_, c, _)| !blank(c)).map_or(0, |i| i + 1);
        let mut current: Option<String> = None;
        for (_, cell, _) in &cells[..keep] {
            let sgr = sgr(cell);
            if current.as_deref() != Some(sgr.as_str()) {
                out.push_str(&sgr);
                current = Some(sgr);
            }
            out.push_str(symbol(cell));
        }
        out.push_str("\x1b[0m\n");
    }
    out
}

fn blank(c: &Cell) -> bool {
    c.symbol().trim().is_empty()
        && c.bg == Color::Reset
        && !c.modifier.intersects(Modifier::REVERSED | Modifier::UNDERLINED | Modifier::CROSSED_OUT)
}

/// The full SGR sequence for a cell's style, starting from a reset.
pub fn sgr(cell: &Cell) -> String {
    let mut codes = String::from("0");
    for (m, code) in [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::SLOW_BLINK, "5"),
        (Modifier::RAPID_BLINK, "6"),
        (Modifier::REVERSED, "7"),
        (Modifier::HIDDEN, "8"),
        (Modifier::CROSSED_OUT, "9"),
    ] {
        if cell.modifier.contains(m) {
            codes.push(';');
            codes.push_str(code);
        }
    }
    color(&mut codes, cell.fg, 30);
    color(&mut codes, cell.bg, 40);
    format!("\x1b[{codes}m")
}

/// Appends the SGR parameters of a colour; `base` is 30 for foreground, 40 for background.
fn color(codes: &mut String, c: Color, base: u8) {
    let named = |n: u8| if n < 8 { base + n } else { base + 60 + n - 8 };
    let _ = match c {
        Color::Reset => return,
        Color::Black => write!(codes, ";{}", named(0)),
        Color::Red => write!(codes, ";{}", named(1)),
        Color::Green => write!(codes, ";{}", named(2)),
        Color::Yellow => write!(codes, ";{}", named(3)),
        Color::Blue => write!(codes, ";{}", named(4)),
        Color::Magenta => write!(codes, ";{}", named(5)),
        Color::Cyan => write!(codes, ";{}", named(6)),
        Color::Gray => write!(codes, ";{}", named(7)),
        Color::DarkGray => write!(codes, ";{}", named(8)),
        Color::LightRed => write!(codes, ";{}", named(9)),
        Color::LightGreen => write!(codes, ";{}", named(10)),
        Color::LightYellow => write!(codes, ";{}", named(11)),
        Color::LightBlue => write!(codes, ";{}", named(12)),
        Color::LightMagenta => write!(codes, ";{}", named(13)),
        Color::LightCyan => write!(codes, ";{}", named(14)),
        Color::White => write!(codes, ";{}", named(15)),
        Color::Indexed(i) => write!(codes, ";{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => write!(codes, ";{};2;{r};{g};{b}", base + 8),
    };
}
