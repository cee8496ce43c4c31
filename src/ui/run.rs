//! The event loop. The feeder thread reads and analyses; this loop copies what changed into
//! the model (a few times a second at most), draws (at most ~30 times a second, and only when
//! something changed: the session, the replay clock, a key, the size), and sleeps otherwise,
//! so an idle screen costs next to nothing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{self, Event, KeyEventKind, MouseEventKind};

use super::app::{Action, App};
use super::model::{Builder, Model};
use super::pace::{Pace, Source};
use super::terminal::{self, Guard, Term};
use super::theme::{color_wanted, Theme};
use crate::analysis::Analyzer;
use crate::cli::{Speed, ViewKind};
use crate::engine::{lock_for_view, Feeder};

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(33);
/// Longest sleep with nothing to do: how soon a signal or a dead terminal is noticed.
const IDLE: Duration = Duration::from_millis(250);
/// How often the terminal is checked to still be there.
const ALIVE_EVERY: Duration = Duration::from_secs(1);
/// The input thread's wait for a key, between looks at its stop flag.
const INPUT_POLL: Duration = Duration::from_millis(200);

/// Saves a screen into a directory, named after the capture time; returns the files written.
pub type SaveScreen = fn(&ratatui::buffer::Buffer, &std::path::Path, i64) -> anyhow::Result<Vec<PathBuf>>;

/// How the UI starts.
#[derive(Debug, Clone)]
pub struct UiOptions {
    /// One row per flow, or per host.
    pub view: ViewKind,
    pub color: bool,
    /// Where `s` saves screenshots.
    pub screenshot_dir: PathBuf,
    /// How `s` saves the screen (the caller passes `snapshot::save_screen`: the encoders live
    /// there, and `snapshot` already draws through `ui`, so `ui` must not call it back).
    /// `None`: `s` says screenshots are not available.
    pub save_screen: Option<SaveScreen>,
    /// Quit once the whole source has been shown (to time the UI; see benches/ui_load.sh).
    pub quit_at_end: bool,
    /// `--process`: only these processes' flows (and the DNS answers they used) are shown, the
    /// others counted in the header; empty: every flow. See `model::Builder::only_processes`.
    pub processes: Vec<String>,
}

impl Default for UiOptions {
    fn default() -> Self {
        UiOptions {
            view: ViewKind::Flows,
            color: color_wanted(),
            screenshot_dir: PathBuf::from("."),
            save_screen: None,
            quit_at_end: false,
            processes: Vec::new(),
        }
    }
}

/// Runs the timeline for `feeder` (a replayed file or a live capture) until the user quits;
/// the terminal is restored on every way out, and the feeder is told to stop. Meant to end
/// the process: the session and the model are left for the system to reclaim.
pub fn run(feeder: Feeder, analyzer: Analyzer, opts: UiOptions) -> anyhow::Result<()> {
    let result = match Guard::take() {
        Ok(mut guard) => {
            let stop_input = Arc::new(AtomicBool::new(false));
            let (tx, input) = mpsc::channel();
            let ended = tx.clone();
            feeder.control.on_end(move || {
                let _ = ended.send(Msg::SourceEnded);
            });
            spawn_input(tx, stop_input.clone());
            let r = event_loop(&mut guard.term, &guard.signalled, &feeder, &analyzer, &opts, &input);
            stop_input.store(true, Ordering::SeqCst);
            drop(guard);
            r
        }
        Err(e) => Err(e),
    };
    feeder.control.stop.store(true, Ordering::SeqCst);
    // The process ends next: freeing a session of a million flows one allocation at a time
    // takes longer than the system takes to reclaim it whole (`report` does the same).
    std::mem::forget(feeder.shared);
    result
}

/// What wakes the loop before its timer does.
enum Msg {
    Input(std::io::Result<Event>),
    SourceEnded,
}

/// Terminal events come from their own thread: a read that never returns (crossterm spins
/// inside `poll` once the terminal is gone) must not keep the loop from noticing.
fn spawn_input(tx: Sender<Msg>, stop: Arc<AtomicBool>) {
    let tx2 = tx.clone();
    let spawned = std::thread::Builder::new().name("ui-input".into()).spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let ev = match event::poll(INPUT_POLL) {
                Ok(false) => continue,
                Ok(true) => event::read(),
                Err(e) => Err(e),
            };
            let failed = ev.is_err();
            if tx.send(Msg::Input(ev)).is_err() || failed {
                break;
            }
        }
    });
    if let Err(e) = spawned {
        // No input thread: the loop ends with this.
        let _ = tx2.send(Msg::Input(Err(e)));
    }
}

fn event_loop(
    term: &mut Term,
    signalled: &AtomicBool,
    feeder: &Feeder,
    analyzer: &Analyzer,
    opts: &UiOptions,
    input: &Receiver<Msg>,
) -> anyhow::Result<()> {
    let mut app = App::new(Theme::new(opts.color), opts.view);
    // Not freed on the way out, for the reason the session is not (see `run`).
    let mut model = std::mem::ManuallyDrop::new(Model::default());
    let mut builder = Builder::new(None);
    let mut seen_gen: Option<u64> = None;
    let started = Instant::now();
    let mut pace = Pace::default();
    let mut last_draw: Option<Instant> = None;
    let mut last_alive = Instant::now();
    let mut dirty = true;
    let mut end_drawn = false;
    // Packets in the session at the last build: more is news for the next one.
    let mut built_packets = 0;
    loop {
        if signalled.load(Ordering::SeqCst) {
            return Ok(());
        }
        if terminal::panicked() {
            anyhow::bail!("a thread of acrscope panicked (the message is above)");
        }
        let gen = feeder.control.generation();
        if seen_gen != Some(gen) {
            let g = lock_for_view(&feeder.shared, &feeder.control);
            // A paused or waiting feeder bumps the generation with nothing new but its clock.
            let news = model.version == 0
                || g.session.stats.packets != built_packets
                || g.status.finished != model.status.finished;
            let source = Source {
                finished: g.status.finished,
                loading: g.status.speed == Some(Speed::Max) && !g.status.live,
                read: g.status.read_bytes,
                total: g.status.total_bytes,
                flows: g.session.flows().len(),
            };
            if news && pace.due(started.elapsed(), source) {
                let began = Instant::now();
                builder.update(&mut model, &g, analyzer);
                built_packets = g.session.stats.packets;
                drop(g);
                pace.built(started.elapsed(), began.elapsed(), model.flows.len());
                seen_gen = Some(gen);
                app.sync(&model);
                dirty = true;
            } else {
                // Between builds the counters, the clock and the replay state move the screen
                // (a long load at full speed may go seconds without a build).
                let st = &g.session.stats;
                if st.packets != model.packets {
                    model.packets = st.packets;
                    model.bytes = st.wire_bytes;
                    model.warnings = st.warning_count();
                    model.flows_evicted = st.flows_evicted;
                    dirty = true;
                }
                if g.status.clock_ns != model.status.clock_ns || g.status.paused != model.status.paused {
                    // "end" waits for the build that shows what was read up to the end.
                    let finished = model.status.finished;
                    model.status.clone_from(&g.status);
                    model.status.finished = finished;
                    dirty = true;
                }
                if !news {
                    seen_gen = Some(gen);
                }
            }
        }
        // The generation is read again: the feeder may have ended (and bumped it) since the
        // build above, which then could not have shown the end.
        if feeder.handle.is_finished() && !model.status.finished && seen_gen == Some(feeder.control.generation()) {
            anyhow::bail!("the capture thread stopped before the end of its input");
        }
        let since_draw = last_draw.map_or(FRAME, |t| t.elapsed());
        // The end is what a user of a fast replay waits for: it is drawn at once.
        let end_news = model.status.finished && !end_drawn;
        if dirty && (since_draw >= FRAME || end_news) {
            term.draw(|f| super::render(f, &app, &model)).context("drawing the screen")?;
            last_draw = Some(Instant::now());
            dirty = false;
            end_drawn = model.status.finished;
            if opts.quit_at_end && model.status.finished {
                return Ok(());
            }
        }
        if last_alive.elapsed() >= ALIVE_EVERY {
            // A terminal that hung up fails this; the loop would otherwise wait forever.
            crossterm::terminal::window_size().context("the terminal went away")?;
            last_alive = Instant::now();
        }

        let busy = seen_gen != Some(feeder.control.generation()) || !model.status.finished;
        let wait = if dirty {
            FRAME.saturating_sub(last_draw.map_or(FRAME, |t| t.elapsed()))
        } else if busy {
            FRAME
        } else {
            IDLE
        };
        let first = match input.recv_timeout(wait) {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => anyhow::bail!("terminal input ended"),
        };
        // Handle every event already waiting before drawing once.
        for msg in std::iter::once(first).chain(input.try_iter()) {
            let ev = match msg {
                Msg::Input(ev) => ev.context("reading the terminal")?,
                // The loop's top sees what the source did.
                Msg::SourceEnded => continue,
            };
            match handle(ev, &mut app, &model, feeder, term, opts) {
                Some(Action::Quit) => return Ok(()),
                Some(_) => dirty = true,
                None => {}
            }
        }
    }
}

/// Applies one terminal event; `None` when it changed nothing on screen.
fn handle(ev: Event, app: &mut App, model: &Model, feeder: &Feeder, term: &Term, opts: &UiOptions) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => {
            let action = app.on_key(k, model);
            match action {
                Action::TogglePause => toggle_pause(app, model, feeder),
                Action::Screenshot => screenshot(app, model, term, opts),
                Action::Quit | Action::None => {}
            }
            Some(action)
        }
        // Pointer motion changes nothing; redrawing for it would cost CPU for nothing.
        Event::Mouse(m)
            if m.kind != MouseEventKind::Moved && m.kind != MouseEventKind::Drag(event::MouseButton::Left) =>
        {
            app.on_mouse(m, model).then_some(Action::None)
        }
        Event::Resize(..) => Some(Action::None),
        _ => None,
    }
}

fn toggle_pause(app: &mut App, model: &Model, feeder: &Feeder) {
    if model.status.finished {
        app.status = Some("the capture has ended: nothing to pause".into());
        return;
    }
    let paused = !feeder.control.paused.load(Ordering::SeqCst);
    feeder.control.paused.store(paused, Ordering::SeqCst);
    app.status = Some(if paused { "paused: space resumes" } else { "playing" }.into());
}

fn screenshot(app: &mut App, model: &Model, term: &Term, opts: &UiOptions) {
    let size = match term.size() {
        Ok(s) => s,
        Err(e) => {
            app.status = Some(format!("screenshot failed: {e}"));
            return;
        }
    };
    let Some(save) = opts.save_screen else {
        app.status = Some("screenshots are not available here".to_string());
        return;
    };
    let buf = super::render_buffer(app, model, size.width, size.height);
    let at = model.now_ns().unwrap_or(0);
    // SVG (colours, as seen) and text beside it; see `crate::snapshot::save_screen`.
    app.status = Some(match save(&buf, &opts.screenshot_dir, at) {
        Ok(p) => {
            format!("screen saved to {}", p.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and "))
        }
        Err(e) => format!("screenshot not saved in {}: {e:#}", opts.screenshot_dir.display()),
    });
}
