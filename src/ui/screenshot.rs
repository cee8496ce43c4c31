//! `s`: the screen as plain text in a file named for the capture time shown.

use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Writes `buf` as text into `dir`, as `acrscope-<capture time>.txt` (a numbered name when
/// that one exists); returns the path.
pub fn save(buf: &Buffer, dir: &Path, capture_ns: i64) -> std::io::Result<PathBuf> {
    let stamp = crate::output::time::rfc3339_us(capture_ns).replace(':', "-");
    let text = buffer_text(buf);
    for n in 0..1000 {
        let name = if n == 0 { format!("acrscope-{stamp}.txt") } else { format!("acrscope-{stamp}-{n}.txt") };
        let path = dir.join(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(text.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "a thousand screenshots of this moment already"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn saves_the_text_under_a_new_name_each_time() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 2));
        buf.set_string(0, 0, "LOGIN ▶▁▂", Style::new());
        buf.set_string(0, 1, "DNS ◆", Style::new());
        assert_eq!(buffer_text(&buf), "LOGIN ▶▁▂\nDNS ◆\n");
        let dir = std::env::temp_dir().join(format!("acrscope-shot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = save(&buf, &dir, 1_764_342_433_442_633_000).unwrap();
        let b = save(&buf, &dir, 1_764_342_433_442_633_000).unwrap();
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("acrscope-20") && name.ends_with(".txt") && !name.contains(':'), "{name}");
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "LOGIN ▶▁▂\nDNS ◆\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
