//! What the side panes share: a title rule at the top (bold and reversed when the pane has the
//! focus) and a scrollable list of styled lines below it.

use std::cell::Cell;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::theme::Theme;

/// Draws the title rule and returns the area below it.
pub fn top(buf: &mut Buffer, area: Rect, title: &str, focused: bool, t: &Theme) -> Rect {
    if area.height == 0 {
        return area;
    }
    for x in area.left()..area.right() {
        buf[(x, area.y)].set_char('─').set_style(t.dim());
    }
    let text = format!(" {title} ");
    let (x, _) = buf.set_stringn(area.x + 1, area.y, &text, area.width.saturating_sub(2) as usize, t.title(focused));
    if area.x + 1 + text.chars().count() as u16 > area.right() && x > area.x {
        buf[(x.saturating_sub(1).max(area.x), area.y)].set_char('…');
    }
    Rect { y: area.y + 1, height: area.height - 1, ..area }
}

/// Draws `lines` from the pane's scroll position on, one per screen row, and keeps that
/// position within the last screenful.
pub fn lines(buf: &mut Buffer, area: Rect, lines: &[Line<'_>], scroll: &Cell<usize>, t: &Theme) {
    let h = usize::from(area.height);
    let first = scroll.get().min(lines.len().saturating_sub(h));
    scroll.set(first);
    for (k, l) in lines.iter().skip(first).take(h).enumerate() {
        buf.set_line(area.x, area.y + k as u16, l, area.width);
    }
    more(buf, area, lines.len().saturating_sub(first + h), t);
}

/// Says how many lines are below the pane's last row.
pub fn more(buf: &mut Buffer, area: Rect, below: usize, t: &Theme) {
    if below == 0 || area.height == 0 {
        return;
    }
    let text = format!(" ↓ {below} more ");
    let w = text.chars().count() as u16;
    let x = area.right().saturating_sub(w).max(area.x);
    buf.set_stringn(x, area.bottom() - 1, &text, area.width as usize, t.bold());
}
