//! The answer the user came for: each finding in words (where the layers came from, whether
//! private link held, what a firewall must allow), wrapped to the pane.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use std::rc::Rc;

use super::app::{App, FindingsCache, Pane};
use super::model::Model;
use super::pane;
use super::text::duration;
use super::text::wrap;
use super::theme::Theme;
use crate::analysis::findings::{Finding, FindingKind, Severity};
use crate::analysis::phases::Phase;
use crate::analysis::pulls::Pull;
use crate::format::{human_bytes, human_rate};

/// A mark that reads without colour: a cross for what broke the pull, a warning sign for what
/// may, a tick for an answer, a dot for a remark.
pub fn icon(f: &Finding, t: &Theme) -> (&'static str, Style) {
    match (f.severity, f.kind()) {
        (Severity::Error, _) => ("✖", t.error()),
        (Severity::Warning, _) => ("⚠", t.warn()),
        (
            Severity::Info,
            FindingKind::DataViaStorageAccount
            | FindingKind::DataViaDedicatedEndpoint
            | FindingKind::PrivateLink
            | FindingKind::ViaProxy,
        ) => ("✔", t.good()),
        (Severity::Info, _) => ("•", t.dim()),
    }
}

/// The findings as lines of at most `width` chars.
pub fn lines(model: &Model, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    // The findings come most severe first: a small screen shows what broke the pull. Where
    // the time went follows the first, the headline, before the rest.
    let mut time_went_at = None;
    for (i, f) in model.findings.iter().enumerate() {
        let (mark, style) = icon(f, t);
        for (k, piece) in wrap(&f.message, width.saturating_sub(3), 0).into_iter().enumerate() {
            let lead = if k == 0 { Span::styled(format!(" {mark} "), style) } else { Span::raw("   ") };
            out.push(Line::from(vec![lead, Span::raw(piece)]));
        }
        if i == 0 {
            time_went_at = Some(out.len());
        }
    }
    let mut times = Vec::new();
    for p in &model.pulls {
        for (k, piece) in wrap(&time_went(p, model.status.finished), width.saturating_sub(3), 0).into_iter().enumerate()
        {
            let lead = if k == 0 { Span::styled(" ◷ ", t.bold()) } else { Span::raw("   ") };
            times.push(Line::from(vec![lead, Span::raw(piece)]));
        }
    }
    let at = time_went_at.unwrap_or(0);
    out.splice(at..at, times);
    if out.is_empty() {
        let msg = if model.status.finished {
            " No registry traffic recognised: no login server, storage account or data endpoint was named."
        } else {
            " Waiting for registry traffic: the finding appears once layers start to flow."
        };
        out.push(Line::from(Span::styled(msg, t.dim())));
    }
    out
}

/// Where a registry's pull spent its time, largest part first: "fabrikamreg took 20.2 s:
/// stalled 19.9 s (98%), idle 226 ms (1%), … 1.2 MB at 468 kbit/s (best flow 35 Mbit/s), 3
/// layer downloads (3 at once)."
fn time_went(p: &Pull, finished: bool) -> String {
    let total = p.duration_ns();
    let mut parts: Vec<(&str, i64)> = Phase::ALL.iter().map(|&ph| (ph.label(), p.time.of(ph))).collect();
    parts.push(("idle", p.time.idle_ns));
    parts.retain(|&(_, ns)| ns > 0);
    parts.sort_by_key(|&(_, ns)| std::cmp::Reverse(ns));
    let share = |ns: i64| (ns as f64 * 100.0 / total.max(1) as f64).round();
    let mut said: Vec<String> =
        parts.iter().map(|&(what, ns)| format!("{what} {} ({:.0}%)", duration(ns), share(ns))).collect();
    // The parts under 1% together: a reader wants what the time went to.
    if let Some(first_small) = parts.iter().position(|&(_, ns)| share(ns) < 1.0).filter(|&i| i > 0) {
        said.truncate(first_small);
        said.push("the rest under 1%".into());
    }
    let took = if finished { "took" } else { "so far" };
    let mut out = format!("{} {took} {}: {}.", p.registry, duration(total), said.join(", "));
    if let Some(rate) = p.throughput_bps() {
        out.push_str(&format!(" {} at {}", human_bytes(p.bytes_down), human_rate(rate)));
        if let Some(best) = p.best_flow_bps {
            out.push_str(&format!(" (best flow {})", human_rate(best)));
        }
        out.push('.');
    }
    if p.layer_downloads > 0 {
        let n = p.layer_downloads;
        out.push_str(&format!(
            " {n} layer download{} ({} at once).",
            if n == 1 { "" } else { "s" },
            p.concurrent_downloads
        ));
    }
    out
}

/// [`lines`], made again only when the model or the width changed.
pub fn cached_lines(app: &App, model: &Model, width: usize) -> Rc<Vec<Line<'static>>> {
    let mut cache = app.findings_cache.borrow_mut();
    if let Some(c) = cache.as_ref() {
        if c.version == model.version && c.width == width && c.finished == model.status.finished {
            return c.lines.clone();
        }
    }
    let ls = Rc::new(lines(model, width, &app.theme));
    *cache = Some(FindingsCache { version: model.version, width, finished: model.status.finished, lines: ls.clone() });
    ls
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App, model: &Model) {
    let t = &app.theme;
    let ls = cached_lines(app, model, usize::from(area.width));
    if app.focus == Pane::Findings {
        let mut marked = (*ls).clone();
        if let Some(first) = marked.first_mut() {
            first.spans.insert(0, Span::styled("▌", t.title(true)));
        }
        pane::lines(buf, area, &marked, &app.findings_scroll, t);
    } else {
        pane::lines(buf, area, &ls, &app.findings_scroll, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::phases::Breakdown;

    const S: i64 = 1_000_000_000;

    fn pull(phase_ns: [i64; 6], idle_ns: i64) -> Pull {
        Pull {
            registry: "contoso".into(),
            start_ns: 0,
            end_ns: phase_ns.iter().sum::<i64>() + idle_ns,
            time: Breakdown { phase_ns, idle_ns },
            flows: 5,
            bytes_up: 1_000,
            bytes_down: 2_500_000,
            layer_downloads: 3,
            concurrent_downloads: 2,
            best_flow_bps: Some(9.7e6),
            best_flow: Some(3),
        }
    }

    #[test]
    fn where_the_time_went_says_the_largest_parts_first_and_sums_the_small_ones() {
        // Resolving, connecting, handshake, waiting, receiving, stalled.
        let p = pull([S / 1000, S / 10, S / 5, 0, 2 * S, 20 * S], S / 2);
        assert_eq!(
            time_went(&p, true),
            "contoso took 22.8s: stalled 20.0s (88%), receiving 2.00s (9%), idle 500 ms (2%), TLS handshake \
             200 ms (1%), the rest under 1%. 2.5 MB at 877 kbit/s (best flow 9.7 Mbit/s). 3 layer downloads \
             (2 at once)."
        );
        assert!(time_went(&p, false).starts_with("contoso so far 22.8s: "));
    }

    #[test]
    fn a_pull_without_data_says_only_its_time() {
        let mut p = pull([0, 3 * S, 0, 0, 0, 0], 0);
        (p.bytes_down, p.layer_downloads) = (0, 0);
        assert_eq!(time_went(&p, true), "contoso took 3.00s: connecting 3.00s (100%).");
    }
}
