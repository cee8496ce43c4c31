//! The UI's own state (selection, panes, filter, time window, overlays) and what keys and the
//! mouse do to it. Drawing reads this and the model, nothing else.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::axis::{View, Window};
use super::model::Model;
use super::rows::{Line, Row};
use super::theme::Theme;
use crate::ui::ViewKind;

/// Rows moved per mouse wheel notch.
const WHEEL_ROWS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Timeline,
    Dns,
    Details,
    Findings,
}

impl Pane {
    fn next(self) -> Pane {
        match self {
            Pane::Timeline => Pane::Dns,
            Pane::Dns => Pane::Details,
            Pane::Details => Pane::Findings,
            Pane::Findings => Pane::Timeline,
        }
    }
}

/// What the event loop must do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    TogglePause,
    Screenshot,
}

/// Where the last frame put things, for the mouse and for paging.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Geometry {
    pub timeline: Rect,
    /// First screen row of timeline lines (below the axis).
    pub body_y: u16,
    pub body_rows: u16,
    pub dns: Option<Rect>,
    pub details: Option<Rect>,
    pub findings: Rect,
    pub window: Option<(i64, i64, u16)>,
}

#[derive(Debug)]
pub struct App {
    pub theme: Theme,
    pub view: ViewKind,
    pub focus: Pane,
    pub help: bool,
    /// Enter: the details pane takes the bottom area (and more of the screen).
    pub details: bool,
    /// The applied filter, lower-case.
    pub filter: String,
    /// The filter being typed, while `/` is open.
    pub input: Option<String>,
    /// Line indices (into the model's lines for `view`) that pass the filter.
    pub visible: Vec<u32>,
    /// Position in `visible` of the selected row.
    pub selected: Option<usize>,
    /// A flow of the selected row, to find it again after the model is rebuilt.
    anchor: Option<u32>,
    /// Until the user picks a row, the selection stays on the first row that carried layer
    /// data (else the first row), so the details and the visible rows tell the pull's story.
    pub auto_select: bool,
    /// First line of `visible` on screen; kept by the renderer so the selection stays in view.
    pub offset: Cell<usize>,
    /// Lines scrolled in each side pane; the renderer keeps them within the text.
    pub dns_scroll: Cell<usize>,
    pub details_scroll: Cell<usize>,
    pub findings_scroll: Cell<usize>,
    pub time: View,
    /// A message for the footer (where a screenshot went), until the next key.
    pub status: Option<String>,
    pub geometry: Cell<Geometry>,
    /// The findings wrapped to a width, for the model version they were made from: wrapping
    /// every finding at each frame cost most of a frame with many registries.
    pub findings_cache: RefCell<Option<FindingsCache>>,
    seen_version: u64,
}

#[derive(Debug)]
pub struct FindingsCache {
    pub version: u64,
    pub width: usize,
    pub finished: bool,
    pub lines: Rc<Vec<ratatui::text::Line<'static>>>,
}

impl App {
    pub fn new(theme: Theme, view: ViewKind) -> App {
        App {
            theme,
            view,
            focus: Pane::Timeline,
            help: false,
            details: false,
            filter: String::new(),
            input: None,
            visible: Vec::new(),
            selected: None,
            anchor: None,
            auto_select: true,
            offset: Cell::new(0),
            dns_scroll: Cell::new(0),
            details_scroll: Cell::new(0),
            findings_scroll: Cell::new(0),
            time: View::default(),
            status: None,
            geometry: Cell::new(Geometry::default()),
            findings_cache: RefCell::new(None),
            seen_version: 0,
        }
    }

    /// Re-applies the filter and finds the selection again when the model was rebuilt.
    pub fn sync(&mut self, model: &Model) {
        if model.version != self.seen_version {
            self.seen_version = model.version;
            self.refilter(model);
        }
    }

    fn refilter(&mut self, model: &Model) {
        let needle = self.input.as_deref().unwrap_or(&self.filter).to_ascii_lowercase();
        let lines = model.lines(self.view);
        self.visible.clear();
        let mut heading: Option<u32> = None;
        for (i, l) in lines.iter().enumerate() {
            match l {
                Line::Heading(_) => heading = Some(i as u32),
                Line::Row(r) if r.matches(&needle, &model.views, &model.flows) => {
                    if let Some(h) = heading.take() {
                        self.visible.push(h);
                    }
                    self.visible.push(i as u32);
                }
                Line::Row(_) => {}
            }
        }
        let anchored = if self.auto_select {
            self.position_of(model, |r| r.group.is_data())
        } else {
            self.anchor.and_then(|id| self.position_of(model, |r| r.flows.contains(&id)))
        };
        self.selected = anchored.or_else(|| self.first_row(model, 0, true));
        self.remember(model);
    }

    fn position_of(&self, model: &Model, pred: impl Fn(&Row) -> bool) -> Option<usize> {
        let lines = model.lines(self.view);
        self.visible.iter().position(|&i| lines.get(i as usize).and_then(Line::row).is_some_and(&pred))
    }

    /// The first row at or after (`forward`) / before `from` in `visible`.
    fn first_row(&self, model: &Model, from: usize, forward: bool) -> Option<usize> {
        let lines = model.lines(self.view);
        let is_row = |p: usize| {
            self.visible.get(p).and_then(|&i| lines.get(i as usize)).is_some_and(|l| matches!(l, Line::Row(_)))
        };
        if forward {
            (from..self.visible.len()).find(|&p| is_row(p))
        } else {
            (0..=from.min(self.visible.len().saturating_sub(1))).rev().find(|&p| is_row(p))
        }
    }

    fn remember(&mut self, model: &Model) {
        self.anchor = self.selected_row(model).map(|r| r.flows[0]);
    }

    pub fn selected_row<'m>(&self, model: &'m Model) -> Option<&'m Row> {
        let i = *self.visible.get(self.selected?)?;
        model.lines(self.view).get(i as usize)?.row()
    }

    /// Selects the first row whose host column contains `needle`.
    pub fn select_matching(&mut self, model: &Model, needle: &str) -> bool {
        let n = needle.to_ascii_lowercase();
        match self.position_of(model, |r| r.label(&model.views).to_ascii_lowercase().contains(&n)) {
            Some(p) => {
                self.selected = Some(p);
                self.auto_select = false;
                self.remember(model);
                true
            }
            None => false,
        }
    }

    fn move_selection(&mut self, model: &Model, delta: isize) {
        self.auto_select = false;
        let Some(cur) = self.selected else {
            self.selected = self.first_row(model, 0, true);
            self.remember(model);
            return;
        };
        let target = cur.saturating_add_signed(delta).min(self.visible.len().saturating_sub(1));
        let found = if delta >= 0 {
            self.first_row(model, target, true).or_else(|| self.first_row(model, target, false))
        } else {
            self.first_row(model, target, false).or_else(|| self.first_row(model, target, true))
        };
        if found.is_some() {
            self.selected = found;
            self.details_scroll.set(0);
        }
        self.remember(model);
    }

    fn page(&self) -> isize {
        (self.geometry.get().body_rows.max(2) - 1) as isize
    }

    /// The time window the last frame drew.
    fn window(&self) -> Option<Window> {
        self.geometry.get().window.map(|(t0, t1, cells)| Window { t0, t1, cells })
    }

    pub fn on_key(&mut self, k: KeyEvent, model: &Model) -> Action {
        self.status = None;
        if k.modifiers.contains(KeyModifiers::CONTROL) && matches!(k.code, KeyCode::Char('c') | KeyCode::Char('d')) {
            return Action::Quit;
        }
        if self.input.is_some() {
            self.on_input_key(k, model);
            return Action::None;
        }
        if self.help {
            if matches!(k.code, KeyCode::Char('q')) {
                return Action::Quit;
            }
            // Any other key only closes the overlay.
            self.help = false;
            return Action::None;
        }
        match k.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Esc if self.details => {
                self.details = false;
                if self.focus == Pane::Details {
                    self.focus = Pane::Timeline;
                }
            }
            KeyCode::Esc => return Action::Quit,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char(' ') => return Action::TogglePause,
            KeyCode::Char('s') => return Action::Screenshot,
            KeyCode::Enter => {
                self.details = !self.details;
                self.focus = if self.details { Pane::Details } else { Pane::Timeline };
                self.details_scroll.set(0);
            }
            KeyCode::Tab => self.focus = self.focus.next(),
            KeyCode::BackTab => {
                for _ in 0..3 {
                    self.focus = self.focus.next();
                }
            }
            KeyCode::Char('g') => {
                self.view = match self.view {
                    ViewKind::Flows => ViewKind::Endpoints,
                    ViewKind::Endpoints => ViewKind::Flows,
                };
                self.offset.set(0);
                self.refilter(model);
                if self.selected.is_none() {
                    self.selected = self.first_row(model, 0, true);
                }
                self.status = Some(match self.view {
                    ViewKind::Flows => "one row per flow".into(),
                    ViewKind::Endpoints => "one row per host".into(),
                });
            }
            KeyCode::Char('/') => self.input = Some(self.filter.clone()),
            KeyCode::Char('+') | KeyCode::Char('=') => {
                if let Some(w) = self.window() {
                    self.time.zoom_in(w);
                }
            }
            KeyCode::Char('-') | KeyCode::Char('_') => {
                if let Some(w) = self.window() {
                    self.time.zoom_out(w);
                }
            }
            KeyCode::Left | KeyCode::Char('h') => self.pan(-1),
            KeyCode::Right | KeyCode::Char('l') => self.pan(1),
            KeyCode::Char('f') => self.time.follow(),
            KeyCode::Up | KeyCode::Char('k') => self.scroll(model, -1),
            KeyCode::Down | KeyCode::Char('j') => self.scroll(model, 1),
            KeyCode::PageUp => self.scroll(model, -self.page()),
            KeyCode::PageDown => self.scroll(model, self.page()),
            KeyCode::Home => self.scroll(model, isize::MIN / 2),
            KeyCode::End => self.scroll(model, isize::MAX / 2),
            _ => {}
        }
        Action::None
    }

    fn pan(&mut self, dir: i64) {
        match self.window() {
            Some(w) if self.time.zoom > 0 => self.time.pan(w, dir),
            _ => self.status = Some("zoom in (+) first: the whole capture is shown".into()),
        }
    }

    /// Moves the selection (timeline) or scrolls the focused pane.
    fn scroll(&mut self, model: &Model, delta: isize) {
        let by = |v: &Cell<usize>| v.set(v.get().saturating_add_signed(delta));
        match self.focus {
            Pane::Timeline => self.move_selection(model, delta),
            Pane::Dns => by(&self.dns_scroll),
            Pane::Details => by(&self.details_scroll),
            Pane::Findings => by(&self.findings_scroll),
        }
    }

    fn on_input_key(&mut self, k: KeyEvent, model: &Model) {
        let Some(text) = self.input.as_mut() else { return };
        match k.code {
            KeyCode::Enter => {
                self.filter = text.to_ascii_lowercase();
                self.input = None;
            }
            KeyCode::Esc => self.input = None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !c.is_control() => text.push(c),
            _ => return,
        }
        // The rows follow the filter as it is typed.
        self.offset.set(0);
        self.refilter(model);
    }

    /// Wheel scrolls the pane under the pointer; a click selects a timeline row.
    pub fn on_mouse(&mut self, m: MouseEvent, model: &Model) -> bool {
        let g = self.geometry.get();
        let at = Position::new(m.column, m.row);
        let pane = if g.timeline.contains(at) {
            Pane::Timeline
        } else if g.dns.is_some_and(|r| r.contains(at)) {
            Pane::Dns
        } else if g.details.is_some_and(|r| r.contains(at)) {
            Pane::Details
        } else if g.findings.contains(at) {
            Pane::Findings
        } else {
            return false;
        };
        match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let d = if m.kind == MouseEventKind::ScrollUp { -(WHEEL_ROWS as isize) } else { WHEEL_ROWS as isize };
                let keep = self.focus;
                self.focus = pane;
                self.scroll(model, d);
                self.focus = keep;
                true
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                if pane == Pane::Timeline && m.row >= g.body_y {
                    let p = self.offset.get() + usize::from(m.row - g.body_y);
                    if self.first_row(model, p, true) == Some(p) {
                        self.selected = Some(p);
                        self.auto_select = false;
                        self.details_scroll.set(0);
                        self.remember(model);
                    }
                }
                true
            }
            _ => false,
        }
    }
}
