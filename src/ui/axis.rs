//! The time axis: which slice of capture time the timeline shows (zoom, pan, follow), how a
//! time maps to a cell, and where the tick labels go.

/// Deepest zoom: each step halves the span shown.
pub const MAX_ZOOM: u32 = 24;
/// Narrowest span shown, whatever the zoom.
const MIN_SPAN_NS: i64 = 10_000;

/// A slice of capture time over `cells` columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub t0: i64,
    pub t1: i64,
    pub cells: u16,
}

/// Where the user put the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub zoom: u32,
    /// The right edge stays on "now" (the clock, or the last packet).
    pub follow: bool,
    /// The left edge, when not following.
    pub left_ns: Option<i64>,
}

impl Default for View {
    fn default() -> Self {
        View { zoom: 0, follow: true, left_ns: None }
    }
}

impl View {
    /// The window over `[start, end]` of capture time.
    pub fn window(&self, start: i64, end: i64, cells: u16) -> Window {
        let total = end.saturating_sub(start).max(MIN_SPAN_NS);
        let span = (total >> self.zoom.min(MAX_ZOOM)).max(MIN_SPAN_NS);
        let t0 = match (self.zoom, self.follow, self.left_ns) {
            (0, ..) => start,
            (_, false, Some(l)) => l.clamp(start, start + total - span),
            _ => start + total - span,
        };
        Window { t0, t1: t0.saturating_add(span), cells: cells.max(1) }
    }

    pub fn zoom_in(&mut self, current: Window) {
        if self.zoom < MAX_ZOOM {
            self.zoom += 1;
            if !self.follow {
                // Around the middle of what is shown.
                self.left_ns = Some(current.t0 + current.span() / 4);
            }
        }
    }

    pub fn zoom_out(&mut self, current: Window) {
        if self.zoom > 0 {
            self.zoom -= 1;
            if !self.follow {
                self.left_ns = Some(current.t0 - current.span() / 2);
            }
        }
    }

    /// Moves by a quarter of the span; `dir` < 0 goes back in time. Leaves follow mode.
    pub fn pan(&mut self, current: Window, dir: i64) {
        if self.zoom == 0 {
            return;
        }
        self.follow = false;
        self.left_ns = Some(current.t0 + dir * (current.span() / 4).max(1));
    }

    pub fn follow(&mut self) {
        self.follow = true;
        self.left_ns = None;
    }
}

impl Window {
    pub fn span(&self) -> i64 {
        (self.t1 - self.t0).max(1)
    }

    pub fn cell_ns(&self) -> f64 {
        self.span() as f64 / f64::from(self.cells)
    }

    /// The cell `ts` falls in; `None` outside the window.
    pub fn cell(&self, ts: i64) -> Option<u16> {
        if ts < self.t0 || ts > self.t1 {
            return None;
        }
        let c = ((ts - self.t0) as f64 / self.cell_ns()) as i64;
        Some(c.clamp(0, i64::from(self.cells) - 1) as u16)
    }

    /// The cells `[from, to]` covers, clipped to the window; `None` when it misses it.
    pub fn cells_between(&self, from: i64, to: i64) -> Option<(u16, u16)> {
        if to < self.t0 || from > self.t1 {
            return None;
        }
        let a = self.cell(from.max(self.t0))?;
        let b = self.cell(to.min(self.t1))?;
        Some((a, b))
    }

    /// Tick positions and labels (seconds from `origin`), at least `gap` cells apart.
    pub fn ticks(&self, origin: i64, gap: u16) -> Vec<(u16, String)> {
        let want = self.cell_ns() * f64::from(gap.max(1));
        let step = nice_step(want);
        let rel0 = self.t0 - origin;
        let first = rel0.div_euclid(step) * step + if rel0.rem_euclid(step) == 0 { 0 } else { step };
        let mut out = Vec::new();
        let mut t = first;
        while t + origin <= self.t1 {
            if let Some(x) = self.cell(t + origin) {
                out.push((x, tick_label(t, step)));
            }
            t += step;
        }
        out
    }
}

/// The smallest of 1, 2, 5 × 10^k ns (then minutes and hours) at least `want`.
fn nice_step(want: f64) -> i64 {
    let mut base: i64 = 1_000;
    loop {
        for m in [1, 2, 5] {
            let s = base * m;
            if s as f64 >= want {
                return s;
            }
        }
        if base >= 10_000_000_000 {
            break;
        }
        base *= 10;
    }
    for s in [60, 120, 300, 600, 1800, 3600, 7200, 21_600, 43_200, 86_400] {
        let ns = s * 1_000_000_000;
        if ns as f64 >= want {
            return ns;
        }
    }
    ((want / 86_400e9).ceil() as i64).max(1) * 86_400_000_000_000
}

/// `0s`, `0.25s`, `1.5s`, `2m`, `1h30`.
fn tick_label(rel_ns: i64, step: i64) -> String {
    if step >= 60_000_000_000 {
        let m = rel_ns / 60_000_000_000;
        return if m >= 60 { format!("{}h{:02}", m / 60, m % 60) } else { format!("{m}m") };
    }
    if rel_ns == 0 {
        return "0s".into();
    }
    let decimals = (9 - (step as f64).log10().floor() as i32).max(0) as usize;
    format!("{:.*}s", decimals, rel_ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn fit_shows_everything_and_zoom_halves_at_the_right_edge() {
        let v = View::default();
        let w = v.window(1_000, 1_000 + 400 * MS, 80);
        assert_eq!((w.t0, w.t1), (1_000, 1_000 + 400 * MS));
        assert_eq!(w.cell(1_000), Some(0));
        assert_eq!(w.cell(1_000 + 400 * MS), Some(79));
        assert_eq!(w.cell(999), None);
        let z = View { zoom: 1, ..View::default() };
        let w = z.window(0, 400 * MS, 80);
        assert_eq!((w.t0, w.t1), (200 * MS, 400 * MS), "following: the latest half");
        let mut p = z;
        p.pan(w, -1);
        assert!(!p.follow);
        let w2 = p.window(0, 400 * MS, 80);
        assert_eq!((w2.t0, w2.t1), (150 * MS, 350 * MS));
        p.pan(w2, -10);
        assert_eq!(p.window(0, 400 * MS, 80).t0, 0, "panning stops at the start");
    }

    #[test]
    fn ticks_are_round_and_spaced() {
        let w = View::default().window(0, 530 * MS, 60);
        let t = w.ticks(0, 8);
        let labels: Vec<&str> = t.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0s", "0.1s", "0.2s", "0.3s", "0.4s", "0.5s"]);
        assert!(t.windows(2).all(|p| p[1].0 - p[0].0 >= 8), "{t:?}");
        let long = View::default().window(0, 3 * 3600 * 1_000_000_000, 100);
        let l = long.ticks(0, 8);
        assert!(l.iter().any(|(_, s)| s == "1h00"), "{l:?}");
    }

    #[test]
    fn cells_between_clips_to_the_window() {
        let w = View::default().window(0, 100 * MS, 10);
        assert_eq!(w.cells_between(-5 * MS, 15 * MS), Some((0, 1)));
        assert_eq!(w.cells_between(95 * MS, 200 * MS), Some((9, 9)));
        assert_eq!(w.cells_between(101 * MS, 200 * MS), None);
    }
}
