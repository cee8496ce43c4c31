//! `acrscope snapshot FILE --cast OUT.cast`: the replay recorded headless as an asciicast v2
//! file (asciinema's format: a JSON header line, then one `[seconds, "o", text]` line per
//! frame), at the capture's pace or N times faster. Every frame repaints the whole screen, so
//! the screen after any frame is that frame alone; the last is the end of the replay, the
//! same screen as `snapshot --end`.

use std::io::Write;

use crate::analysis::Analyzer;
use crate::capture::source::CaptureReader;
use crate::engine::Shared;
use crate::engine::Speed;
use crate::session::Limits;

use super::{load_watched, screen, text, At, View};

/// Cast time between two frames (before it grows, see [`MAX_FRAMES`]).
const STEP_SECS: f64 = 0.1;
/// After this many frames the step doubles, so that a long capture gives a file of a
/// reasonable size (and takes a reasonable time to draw).
const MAX_FRAMES: u64 = 1200;

/// Home, clear: each frame is the whole screen.
const REPAINT: &str = "\x1b[H\x1b[2J";
/// Hide the cursor (the UI does too), sent with the first frame.
const HIDE_CURSOR: &str = "\x1b[?25l";

/// Records the replay of `reader` into `out`; returns the final state (as [`super::load`]).
pub fn record(
    reader: CaptureReader,
    analyzer: &Analyzer,
    view: &View,
    speed: f64,
    limits: Limits,
    out: &mut impl Write,
) -> anyhow::Result<Shared> {
    anyhow::ensure!(speed.is_finite() && speed > 0.0, "the speed of a recording must be a positive factor");
    let header = serde_json::json!({
        "version": 2,
        "width": view.width,
        "height": view.height,
        "title": format!("acrscope {}", reader.label()),
        "env": {"TERM": "xterm-256color"},
    });
    writeln!(out, "{header}")?;
    let mut rec =
        Recorder { out, step_ns: STEP_SECS * speed * 1e9, next_ns: None, speed, last: None, frames: 0, error: None };
    let shared = load_watched(reader, At::End, limits, |shared, ts| rec.before(shared, ts, analyzer, view));
    if let Some(e) = rec.error.take() {
        return Err(e.into());
    }
    // The end, as `snapshot --end` draws it, never before the frame ahead of it.
    let start = shared.status.start_ns.unwrap_or(0);
    let end = shared.status.clock_ns.unwrap_or(start);
    let t = rec.secs(start, end).max(rec.last.as_ref().map_or(0.0, |l| l.0));
    let frame = repaint(&screen(&shared, analyzer, view), rec.frames == 0);
    rec.emit(t, &frame)?;
    Ok(shared)
}

struct Recorder<'o, W: Write> {
    out: &'o mut W,
    /// Capture nanoseconds between two frames.
    step_ns: f64,
    /// Capture time of the next frame.
    next_ns: Option<i64>,
    speed: f64,
    /// Time and text of the frame written last.
    last: Option<(f64, String)>,
    frames: u64,
    error: Option<std::io::Error>,
}

impl<W: Write> Recorder<'_, W> {
    fn secs(&self, start: i64, at: i64) -> f64 {
        (at.saturating_sub(start)) as f64 / 1e9 / self.speed
    }

    /// Before a frame at capture time `ts` is read: the screen at the last frame time it
    /// passes (none when the frame is not past the next one yet).
    fn before(&mut self, shared: &mut Shared, ts: i64, analyzer: &Analyzer, view: &View) {
        if self.error.is_some() {
            return;
        }
        let start = shared.status.start_ns.unwrap_or(ts);
        let next = *self.next_ns.get_or_insert(start);
        if ts < next {
            return;
        }
        // The last frame time at or before `ts`: a quiet stretch gives one frame, not many.
        let steps = ((ts - next) as f64 / self.step_ns).floor();
        let at = next + (steps * self.step_ns) as i64;
        self.next_ns = Some(at + (self.step_ns as i64).max(1));
        shared.status.clock_ns = Some(at);
        shared.status.speed = Some(Speed::Factor(self.speed));
        let frame = repaint(&screen(shared, analyzer, view), self.frames == 0);
        if self.last.as_ref().is_some_and(|l| l.1 == frame) {
            return;
        }
        let t = self.secs(start, at);
        if let Err(e) = self.emit(t, &frame) {
            self.error = Some(e);
        }
        if self.frames % MAX_FRAMES == 0 {
            self.step_ns *= 2.0;
        }
    }

    fn emit(&mut self, t: f64, frame: &str) -> std::io::Result<()> {
        let line = serde_json::to_string(&(round_us(t), "o", frame)).map_err(std::io::Error::other)?;
        writeln!(self.out, "{line}")?;
        self.frames += 1;
        self.last = Some((t, frame.to_string()));
        Ok(())
    }
}

/// Seconds to the microsecond: short lines, and times that compare as they print.
fn round_us(t: f64) -> f64 {
    (t * 1e6).round() / 1e6
}

/// The whole screen, in colour, from the top left, rows separated by CR LF and no line feed
/// after the last (which would scroll the terminal).
fn repaint(buf: &ratatui::buffer::Buffer, first: bool) -> String {
    let body = text::ansi(buf);
    let mut s = String::with_capacity(body.len() + 16);
    if first {
        s.push_str(HIDE_CURSOR);
    }
    s.push_str(REPAINT);
    s.push_str(&body.trim_end_matches('\n').replace('\n', "\r\n"));
    s
}
