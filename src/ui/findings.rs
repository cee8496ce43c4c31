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
use super::text::wrap;
use super::theme::Theme;
use crate::analysis::findings::{Finding, FindingKind, Severity};

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
    // The findings come most severe first: a small screen shows what broke the pull.
    for f in &model.findings {
        let (mark, style) = icon(f, t);
        for (k, piece) in wrap(&f.message, width.saturating_sub(3), 0).into_iter().enumerate() {
            let lead = if k == 0 { Span::styled(format!(" {mark} "), style) } else { Span::raw("   ") };
            out.push(Line::from(vec![lead, Span::raw(piece)]));
        }
    }
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
