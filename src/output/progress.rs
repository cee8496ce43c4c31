//! A progress bar on stderr while a large capture file is read: bytes read of the file's size,
//! packets per second and the time left. indicatif draws it only when stderr is a terminal, so
//! scripts and redirected output never see it, and at most 20 times a second; the line is
//! wiped once reading is done.

use std::time::{Duration, Instant};

use indicatif::{ProgressDrawTarget, ProgressStyle};

/// Nothing is drawn for reads shorter than this (small files would only flicker).
const SHOW_AFTER: Duration = Duration::from_millis(300);
const TEMPLATE: &str = "[{bar:24}] {percent:>3}%  {decimal_bytes} / {decimal_total_bytes}  {msg}  {eta_precise} left";

pub struct ProgressBar {
    bar: indicatif::ProgressBar,
    frames: u64,
    frames_per_update: u64,
    start: Instant,
    /// Whether the bar may draw on stderr (once `SHOW_AFTER` has passed).
    shown: bool,
    enabled: bool,
}

impl ProgressBar {
    /// A bar for reading `total` bytes, where each [`update`](Self::update) stands for
    /// `frames_per_update` more frames read. Drawn only if stderr is a terminal.
    pub fn new(total: u64, frames_per_update: u64) -> ProgressBar {
        let bar = indicatif::ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template(TEMPLATE).expect("a valid template").progress_chars("#.");
        bar.set_style(style);
        let enabled = !ProgressDrawTarget::stderr().is_hidden();
        ProgressBar { bar, frames: 0, frames_per_update, start: Instant::now(), shown: false, enabled }
    }

    /// A bar that never draws.
    pub fn hidden() -> ProgressBar {
        let mut p = ProgressBar::new(0, 0);
        p.enabled = false;
        p
    }

    /// `bytes` of the file have been read.
    pub fn update(&mut self, bytes: u64) {
        self.frames += self.frames_per_update;
        if !self.enabled {
            return;
        }
        let elapsed = self.start.elapsed();
        if !self.shown {
            if elapsed < SHOW_AFTER {
                return;
            }
            self.shown = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        // The position first: setting the message may draw, and must not show 0 bytes read.
        self.bar.set_position(bytes);
        self.bar.set_message(rate(self.frames, elapsed));
    }

    /// Wipes the bar, if it was drawn.
    pub fn finish(&mut self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

impl Drop for ProgressBar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `2.0 M packets/s`: frames read per second so far.
fn rate(frames: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let v = if secs > 0.0 { frames as f64 / secs } else { 0.0 };
    let n = if v >= 1e6 {
        format!("{:.1} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0} k", v / 1e3)
    } else {
        format!("{v:.0}")
    };
    format!("{n} packets/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_packets_per_second() {
        assert_eq!(rate(2_000_000, Duration::from_secs(1)), "2.0 M packets/s");
        assert_eq!(rate(70_000, Duration::from_secs(2)), "35 k packets/s");
        assert_eq!(rate(5, Duration::ZERO), "0 packets/s");
    }

    #[test]
    fn hidden_bar_never_draws() {
        let mut p = ProgressBar::hidden();
        p.start -= SHOW_AFTER * 2;
        p.update(100);
        assert!(!p.shown && p.bar.is_hidden());
        p.finish();
        assert!(p.bar.is_finished());
    }

    #[test]
    fn template_is_valid_and_shows_bytes_of_total() {
        let bar = indicatif::ProgressBar::with_draw_target(Some(5_000), ProgressDrawTarget::hidden());
        bar.set_style(ProgressStyle::with_template(TEMPLATE).unwrap().progress_chars("#."));
        bar.set_position(2_500);
        assert_eq!(bar.position(), 2_500);
        assert_eq!(bar.length(), Some(5_000));
    }
}
