//! A progress bar on stderr while a large capture file is read: bytes read of the file's size,
//! packets per second and the time left. Drawn only when stderr is a terminal, so scripts and
//! redirected output never see it; the line is wiped once reading is done.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use super::text::human_bytes;

/// Nothing is drawn for reads shorter than this (small files would only flicker).
const SHOW_AFTER: Duration = Duration::from_millis(300);
/// Redraws at most this often.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
const BAR_CELLS: usize = 24;

pub struct ProgressBar {
    total: u64,
    bytes: u64,
    frames: u64,
    frames_per_update: u64,
    start: Instant,
    last_draw: Option<Instant>,
    enabled: bool,
}

impl ProgressBar {
    /// A bar for reading `total` bytes, where each [`update`](Self::update) stands for
    /// `frames_per_update` more frames read. Drawn only if stderr is a terminal.
    pub fn new(total: u64, frames_per_update: u64) -> ProgressBar {
        ProgressBar {
            total,
            bytes: 0,
            frames: 0,
            frames_per_update,
            start: Instant::now(),
            last_draw: None,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// A bar that never draws.
    pub fn hidden() -> ProgressBar {
        ProgressBar { enabled: false, ..ProgressBar::new(0, 0) }
    }

    /// `bytes` of the file have been read.
    pub fn update(&mut self, bytes: u64) {
        self.bytes = bytes;
        self.frames += self.frames_per_update;
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.start);
        if elapsed < SHOW_AFTER || self.last_draw.is_some_and(|t| now.duration_since(t) < REDRAW_EVERY) {
            return;
        }
        self.last_draw = Some(now);
        let line = render(self.bytes, self.total, self.frames, elapsed);
        let mut err = std::io::stderr().lock();
        // A terminal that went away is no reason to stop reading.
        let _ = write!(err, "\r{line}\x1b[K").and_then(|_| err.flush());
    }

    /// Wipes the bar, if it was drawn.
    pub fn finish(&mut self) {
        if self.last_draw.take().is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K").and_then(|_| err.flush());
        }
    }
}

impl Drop for ProgressBar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// One line: `[#########...............]  38%  452.1 MB / 1.2 GB  2.1 M packets/s  0:02 left`.
pub fn render(bytes: u64, total: u64, frames: u64, elapsed: Duration) -> String {
    let frac = if total == 0 { 0.0 } else { (bytes as f64 / total as f64).clamp(0.0, 1.0) };
    let filled = ((frac * BAR_CELLS as f64) as usize).min(BAR_CELLS);
    let bar: String = "#".repeat(filled) + &".".repeat(BAR_CELLS - filled);
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { frames as f64 / secs } else { 0.0 };
    let left = if bytes > 0 && total > bytes && secs > 0.0 {
        let t = (total - bytes) as f64 * secs / bytes as f64;
        format!("{} left", clock(t))
    } else {
        String::new()
    };
    format!(
        "[{bar}] {:>3.0}%  {} / {}  {} packets/s  {left}",
        frac * 100.0,
        human_bytes(bytes),
        human_bytes(total),
        human_count(rate)
    )
    .trim_end()
    .to_string()
}

fn human_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// `m:ss`, or `h:mm:ss` past an hour.
fn clock(secs: f64) -> String {
    let s = secs.round().max(0.0) as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_share_sizes_rate_and_time_left() {
        let l = render(400_000_000, 1_200_000_000, 2_000_000, Duration::from_secs(1));
        assert_eq!(l, "[########................]  33%  400.0 MB / 1.2 GB  2.0 M packets/s  0:02 left");
    }

    #[test]
    fn start_end_and_empty_file() {
        let l = render(0, 5_000, 0, Duration::ZERO);
        assert!(l.starts_with("[........................]   0%  0 B / 5.0 kB  0 packets/s"), "{l}");
        let l = render(5_000, 5_000, 70_000, Duration::from_secs(2));
        assert!(l.starts_with("[########################] 100%"), "{l}");
        assert!(!l.contains("left") && l.contains("35 k packets/s"), "{l}");
        assert!(render(10, 0, 1, Duration::from_secs(1)).contains("  0%"));
    }

    #[test]
    fn long_reads_count_hours() {
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock(59.6), "1:00");
    }

    #[test]
    fn hidden_bar_never_draws() {
        let mut p = ProgressBar::hidden();
        p.update(100);
        p.finish();
        assert!(p.last_draw.is_none());
    }
}
