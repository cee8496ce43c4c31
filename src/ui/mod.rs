//! The live timeline: a pull unfolding flow by flow, from a replayed file or a live interface.
//!
//! One pure function draws the whole screen from the UI state ([`app::App`]) and a picture of
//! the session ([`model::Model`], built and published by [`publish`]) into any ratatui buffer: the terminal, a screenshot, a test or a
//! headless snapshot all get the same picture.

pub mod app;
pub mod axis;
pub mod details;
pub mod dns_pane;
pub mod findings;
pub mod footer;
pub mod header;
pub mod help;
pub mod model;
pub mod pace;
pub mod pane;
pub mod publish;
pub mod recs;
pub mod rows;
pub mod run;
pub mod screenshot;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod timeline;
mod view_kind;

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal};

use crate::analysis::Analyzer;
use crate::engine::Shared;
use app::{App, Geometry, Pane};
use model::Model;
use theme::Theme;

pub use run::{run, UiOptions};
pub use screenshot::buffer_text;
pub use view_kind::ViewKind;

/// Smallest screen the layout works in; below it the screen says so.
const MIN_WIDTH: u16 = 40;
const MIN_HEIGHT: u16 = 12;
/// From this width the DNS answers and the details sit side by side.
const SIDE_BY_SIDE: u16 = 100;

/// Draws the screen: a pure function of the UI state and the model.
pub fn render(frame: &mut Frame<'_>, app: &App, model: &Model) {
    let area = frame.area();
    draw(frame.buffer_mut(), area, app, model);
}

/// As [`render`], into any buffer area.
pub fn draw(buf: &mut Buffer, area: Rect, app: &App, model: &Model) {
    let t = &app.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!("acrscope needs at least {MIN_WIDTH}x{MIN_HEIGHT} (this is {}x{})", area.width, area.height);
        buf.set_stringn(area.x, area.y, &msg, area.width as usize, t.bold());
        return;
    }
    let a = layout(area, app, model);
    header::render(buf, a.header, model, t);
    let window = timeline::render(buf, a.timeline, app, model);
    if let Some(r) = a.dns {
        dns_pane::render(buf, r, app, model);
    }
    if let Some(r) = a.details {
        details::render(buf, r, app, model);
    }
    findings::render(buf, a.findings, app, model);
    footer::render(buf, a.footer, app);
    if app.help {
        help::render(buf, area, t);
    }
    app.geometry.set(Geometry {
        timeline: a.timeline,
        body_y: a.timeline.y + 1,
        body_rows: a.timeline.height.saturating_sub(1),
        dns: a.dns,
        details: a.details,
        findings: a.findings,
        window: window.map(|w| (w.t0, w.t1, w.cells)),
    });
}

struct Areas {
    header: Rect,
    timeline: Rect,
    dns: Option<Rect>,
    details: Option<Rect>,
    findings: Rect,
    footer: Rect,
}

fn layout(area: Rect, app: &App, model: &Model) -> Areas {
    let h = area.height;
    let line = |y: u16, height: u16| Rect { x: area.x, y, width: area.width, height };
    let findings_need = (findings::cached_lines(app, model, usize::from(area.width)).len() as u16).max(1);
    let mut findings_h = findings_need.min(if h < 30 { 2 } else { (h / 10).max(3) });
    let bottom_want = if app.details {
        h / 2
    } else if h < 30 {
        7
    } else {
        h * 3 / 10
    };
    // The timeline keeps at least its axis and four rows.
    let mut bottom_h = bottom_want.min(h.saturating_sub(2 + findings_h + 5));
    let mut timeline_h = h - 2 - findings_h - bottom_h;
    // Room the timeline's rows do not need goes to the findings, then to the panes below.
    let timeline_need = (app.visible.len() as u16).saturating_add(1).max(5);
    if timeline_h > timeline_need {
        let spare = timeline_h - timeline_need;
        let to_findings = spare.min(findings_need - findings_h);
        findings_h += to_findings;
        bottom_h += spare - to_findings;
        timeline_h = timeline_need;
    }
    let bottom = line(area.y + 1 + timeline_h, bottom_h);
    let (dns, details) = if bottom_h == 0 {
        (None, None)
    } else if area.width >= SIDE_BY_SIDE {
        let left = bottom.width * 9 / 20;
        (
            Some(Rect { width: left, ..bottom }),
            Some(Rect { x: bottom.x + left + 1, width: bottom.width - left - 1, ..bottom }),
        )
    } else if app.details || app.focus == Pane::Details {
        (None, Some(bottom))
    } else {
        (Some(bottom), None)
    };
    Areas {
        header: line(area.y, 1),
        timeline: line(area.y + 1, timeline_h),
        dns,
        details,
        findings: line(bottom.bottom(), findings_h),
        footer: line(area.bottom() - 1, 1),
    }
}

/// What a headless render shows.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    pub width: u16,
    pub height: u16,
    pub view: ViewKind,
    /// Select the first row whose host contains this (else the first row).
    pub select: Option<String>,
    /// Show the details pane of the selection, as Enter does.
    pub details: bool,
    /// Show the capture as it was at this capture time (ns since the epoch): later flows and
    /// answers are left out, the clock stands there. `None`: everything, at the end.
    pub at_ns: Option<i64>,
    pub color: bool,
    /// `--process`: only these processes' flows (and the DNS answers they used); empty: all.
    pub processes: Vec<String>,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            width: 120,
            height: 40,
            view: ViewKind::Flows,
            select: None,
            details: false,
            at_ns: None,
            color: theme::color_wanted(),
            processes: Vec::new(),
        }
    }
}

/// The screen for `shared`, drawn headless: the same widgets the terminal shows.
pub fn render_to_buffer(shared: &Shared, analyzer: &Analyzer, opts: &ViewOptions) -> Buffer {
    let mut built = model::Built::default();
    model::Builder::new(opts.at_ns).only_processes(&opts.processes).update(&mut built, shared, analyzer);
    let model = Model::new(std::sync::Arc::new(built));
    let mut app = App::new(Theme::new(opts.color), opts.view);
    app.sync(&model);
    if let Some(sel) = &opts.select {
        app.select_matching(&model, sel);
    }
    app.details = opts.details;
    if opts.details {
        app.focus = Pane::Details;
    }
    render_buffer(&app, &model, opts.width, opts.height)
}

/// Draws into a fresh buffer of `width` x `height`.
pub fn render_buffer(app: &App, model: &Model, width: u16, height: u16) -> Buffer {
    let mut term = match Terminal::new(TestBackend::new(width.max(1), height.max(1))) {
        Ok(t) => t,
        Err(e) => match e {},
    };
    // Drawing into memory cannot fail.
    let _ = term.draw(|f| render(f, app, model));
    term.backend().buffer().clone()
}
