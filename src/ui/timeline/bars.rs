//! The time axis part of each row: the bytes of the row's flows as shaded cells (relative to
//! the busiest cell on screen), a line over their lifetime, and marks for what happened when.

use ratatui::buffer::Buffer;
use ratatui::style::Style;

use crate::analysis::phases::{phases, Phase};
use crate::session::activity::Activity;
use crate::ui::axis::Window;
use crate::ui::model::{FlowRec, Model};
use crate::ui::rows::Row;
use crate::ui::theme::Theme;

/// Shades from a trickle to the busiest cell on screen.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Decades of bytes per cell the eight shades cover (log scale): a cell with a thousandth of
/// the busiest cell's bytes still shows, as the lowest shade.
const DECADES: f64 = 3.0;

/// What is drawn in a time cell besides its shade, by priority (the highest wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    None,
    Dns,
    Fin,
    /// A SYN that got no answer (yet).
    Syn,
    Rst,
    Hello,
}

impl Mark {
    /// The glyph and style of the mark on a row drawn in `role`; `None` for no mark.
    fn glyph(self, role: Style, t: &Theme) -> Option<(char, Style)> {
        Some(match self {
            Mark::None => return None,
            Mark::Hello => ('▶', role.patch(t.bold())),
            Mark::Rst => ('✕', role.patch(t.bold())),
            Mark::Syn => ('?', t.error()),
            Mark::Fin => ('│', role),
            Mark::Dns => ('◆', t.dns_mark()),
        })
    }
}

/// How a cell with no bytes and no mark shows what its flows were doing: the legend (help)
/// draws the same glyphs. A receiving flow's cells with bytes are shaded instead.
pub(crate) fn phase_glyph(p: Phase, role: Style, t: &Theme) -> (char, Style) {
    match p {
        Phase::Resolving | Phase::Connecting => ('·', t.warn()),
        Phase::Handshake => ('╌', role),
        Phase::Waiting => ('┈', t.warn()),
        Phase::Receiving => ('─', role.patch(t.dim())),
        Phase::Stalled => ('░', t.error()),
    }
}

/// The time cells of the rows on screen, `width` per row: made for every row first, since
/// the shades are relative to the busiest cell on screen.
pub(super) struct Strips {
    width: usize,
    /// Bytes per cell.
    bytes: Vec<f64>,
    marks: Vec<Mark>,
    /// Cells within some flow's lifetime.
    spans: Vec<bool>,
    /// The furthest phase any of the row's flows was in, per cell.
    phases: Vec<Option<Phase>>,
    /// The cell of the capture clock, while it runs.
    now: Option<u16>,
}

impl Strips {
    pub(super) fn new(width: u16, rows: usize, now: Option<u16>) -> Strips {
        let width = usize::from(width);
        Strips {
            width,
            bytes: vec![0.0; width * rows],
            marks: vec![Mark::None; width * rows],
            spans: vec![false; width * rows],
            phases: vec![None; width * rows],
            now,
        }
    }

    fn cells(&self, k: usize) -> std::ops::Range<usize> {
        k * self.width..(k + 1) * self.width
    }

    /// Bytes, marks and lifetime of row `r`'s flows over the window's cells, as line `k`.
    pub(super) fn fill(&mut self, k: usize, r: &Row, model: &Model, w: &Window) {
        let s = self.cells(k);
        fill_phases(&mut self.phases[s.clone()], r, model, w);
        let (bytes, marks, spans) = (&mut self.bytes[s.clone()], &mut self.marks[s.clone()], &mut self.spans[s]);
        let mut mark = |x: u16, m: Mark| {
            if let Some(slot) = marks.get_mut(usize::from(x)) {
                *slot = (*slot).max(m);
            }
        };
        for &ts in &r.dns_marks {
            if let Some(x) = w.cell(ts) {
                mark(x, Mark::Dns);
            }
        }
        for &id in &r.flows {
            let Some(rec) = model.flows.get(id as usize) else { continue };
            let f = &rec.flow;
            let Some((a, b)) = w.cells_between(f.first_ns, f.last_ns) else { continue };
            spans[usize::from(a)..=usize::from(b)].fill(true);
            // SYNs that were never answered carried no data: the line and the attempts say it.
            if !f.tcp.syn_unanswered() {
                add_activity(bytes, w, &rec.activity, f.first_ns, f.last_ns);
            }
            if let Some(syn) = f.tcp.syn().filter(|_| f.tcp.syn_unanswered()) {
                // Each attempt is not kept, the first and the last are: a row of tries reads as one.
                for ts in [syn.first_ns, syn.last_ns] {
                    if let Some(x) = w.cell(ts) {
                        mark(x, Mark::Syn);
                    }
                }
            }
            if let Some(x) = rec.hello_ns.and_then(|h| w.cell(h)) {
                mark(x, Mark::Hello);
            }
            if let Some(x) = f.tcp.close_ns().and_then(|c| w.cell(c)) {
                // On a one-cell flow the ClientHello mark says more than the close.
                if rec.hello_ns.and_then(|h| w.cell(h)) != Some(x) {
                    mark(x, if f.tcp.reset() { Mark::Rst } else { Mark::Fin });
                }
            }
            if let Some(x) = answer_cell(model, id, rec, w) {
                mark(x, Mark::Dns);
            }
        }
    }

    /// The bytes of the busiest cell on screen.
    pub(super) fn max(&self) -> f64 {
        self.bytes.iter().copied().fold(0.0, f64::max)
    }

    /// Line `k`'s cells of row `r`, from `x0` on line `y`, shaded against `max` bytes.
    pub(super) fn draw(&self, buf: &mut Buffer, k: usize, (x0, y): (u16, u16), r: &Row, max: f64, t: &Theme) {
        let role = t.group(r.group, r.private_link);
        let s = self.cells(k);
        let (bytes, marks, spans) = (&self.bytes[s.clone()], &self.marks[s.clone()], &self.spans[s.clone()]);
        let phases = &self.phases[s];
        for x in 0..self.width as u16 {
            let i = usize::from(x);
            let (ch, style) = match marks[i].glyph(role, t) {
                Some(g) => g,
                None => match shade(bytes[i], max) {
                    Some(b) => (b, role),
                    None if phases[i].is_some() => phase_glyph(phases[i].unwrap_or(Phase::Receiving), role, t),
                    None if spans[i] => ('─', role.patch(t.dim())),
                    None if self.now == Some(x) => ('┊', t.dim()),
                    None => continue,
                },
            };
            buf[(x0 + x, y)].set_char(ch).set_style(style);
        }
    }
}

/// The furthest phase of row `r`'s flows in each cell (a stall shows over the rest).
fn fill_phases(cells: &mut [Option<Phase>], r: &Row, model: &Model, w: &Window) {
    let now = model.now_ns().unwrap_or(0);
    for &id in &r.flows {
        let Some(rec) = model.flows.get(id as usize) else { continue };
        for sp in phases(&rec.times(now)) {
            let Some((a, b)) = w.cells_between(sp.start_ns, sp.end_ns) else { continue };
            for c in &mut cells[usize::from(a)..=usize::from(b)] {
                *c = (*c).max(Some(sp.phase));
            }
        }
    }
}

/// The cell of the DNS answer that named the flow: the cell before the flow's first when they
/// would share one, so the answer reads as what came first.
fn answer_cell(model: &Model, id: u32, rec: &FlowRec, w: &Window) -> Option<u16> {
    let a = model.views.get(id as usize)?.naming.answer?;
    let x = w.cell(model.answers.get(a as usize)?.ts_ns)?;
    let first = w.cell(rec.flow.first_ns);
    Some(if first == Some(x) && x > 0 { x - 1 } else { x })
}

/// Adds a flow's bytes to the cells its activity bins overlap. A bin that reaches past the
/// flow's first or last packet holds bytes of the flow's lifetime only, so it is cut to it.
fn add_activity(out: &mut [f64], w: &Window, a: &Activity, first_ns: i64, last_ns: i64) {
    let cell_ns = w.cell_ns();
    for (i, &b) in a.bins.iter().enumerate() {
        if b == 0 {
            continue;
        }
        let s = a.start_ns.saturating_add(i as i64 * a.bin_ns);
        let e = s.saturating_add(a.bin_ns);
        let (ls, le) = (s.max(first_ns), e.min(last_ns.saturating_add(1)));
        let (cs, ce) = (ls.max(w.t0), le.min(w.t1));
        if le <= ls || ce <= cs {
            continue;
        }
        let life = (le - ls) as f64;
        let x0 = ((cs - w.t0) as f64 / cell_ns) as usize;
        let x1 = (((ce - w.t0) as f64 / cell_ns).ceil() as usize).min(out.len());
        for (x, slot) in out.iter_mut().enumerate().take(x1).skip(x0) {
            let c0 = w.t0 as f64 + x as f64 * cell_ns;
            let overlap = (ce as f64).min(c0 + cell_ns) - (cs as f64).max(c0);
            if overlap > 0.0 {
                *slot += f64::from(b) * overlap / life;
            }
        }
    }
}

/// The block for `b` bytes when the busiest cell has `max`, on a log scale.
fn shade(b: f64, max: f64) -> Option<char> {
    if b < 0.5 || max <= 0.0 {
        return None;
    }
    let level = 8.0 + 8.0 * (b / max).log10() / DECADES;
    Some(BLOCKS[(level.ceil() as usize).clamp(1, 8) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_follow_a_log_scale_of_the_busiest_cell() {
        assert_eq!(shade(0.0, 100.0), None);
        assert_eq!(shade(100.0, 100.0), Some('█'));
        assert_eq!(shade(1000.0, 1e6), Some('▁'), "a thousandth still shows");
        assert_eq!(shade(1.0, 1e9), Some('▁'), "less shows as the lowest shade");
        assert!(shade(0.1, 100.0).is_none(), "dust from sharing a bin between cells does not");
        let mid = shade(10.0, 1000.0).unwrap();
        assert!(mid > '▁' && mid < '█', "{mid}");
    }

    #[test]
    fn activity_lands_in_the_cells_of_its_time() {
        let w = Window { t0: 0, t1: 10_000_000, cells: 10 };
        let mut a = Activity::new(0);
        a.add(500_000, 1000);
        a.add(7_500_000, 3000);
        let mut out = vec![0.0; 10];
        add_activity(&mut out, &w, &a, 0, 9_999_999);
        assert!((out[0] - 1000.0).abs() < 1e-6, "{out:?}");
        assert!((out[7] - 3000.0).abs() < 1e-6, "{out:?}");
        assert!((out.iter().sum::<f64>() - 4000.0).abs() < 1e-6);
    }
}
