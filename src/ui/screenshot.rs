//! The screen as plain text (the `s` key's `.txt`, tests and headless renders).

use ratatui::buffer::Buffer;

/// The buffer as text, one line per row, trailing spaces trimmed. (The cell after a wide
/// character holds a space of its own; none of the UI's symbols is wide.)
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::with_capacity(usize::from(area.width + 1) * usize::from(area.height) * 2);
    for y in area.top()..area.bottom() {
        let start = out.len();
        for x in area.left()..area.right() {
            out.push_str(buf[(x, y)].symbol());
        }
        let kept = out[start..].trim_end().len();
        out.truncate(start + kept);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn one_line_per_row_without_trailing_spaces() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 2));
        buf.set_string(0, 0, "LOGIN ▶▁▂", Style::new());
        buf.set_string(0, 1, "DNS ◆", Style::new());
        assert_eq!(buffer_text(&buf), "LOGIN ▶▁▂\nDNS ◆\n");
    }
}
