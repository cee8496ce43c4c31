//! The view's event loop (tokio): terminal events (crossterm's `EventStream`), signals, the
//! published builds and counters of the capture loop, a frame timer. It draws at most ~30
//! times a second and only when something changed, and never waits for the capture side:
//! it draws the newest picture published (see `publish.rs`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{self, Event, EventStream, KeyEventKind, MouseEventKind};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;

use super::app::{Action, App};
use super::model::{Built, Model};
use super::terminal::{self, Guard, Term};
use super::theme::{color_wanted, Theme};
use crate::engine::Running;
use crate::signals::Signals;
use crate::ui::ViewKind;

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(33);
/// How often the terminal is checked to still be there.
const ALIVE_EVERY: Duration = Duration::from_secs(1);

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
}

impl Default for UiOptions {
    fn default() -> Self {
        UiOptions {
            view: ViewKind::Flows,
            color: color_wanted(),
            screenshot_dir: PathBuf::from("."),
            save_screen: None,
            quit_at_end: false,
        }
    }
}

/// Runs the timeline for the capture loop `engine`, drawing the builds published on
/// `models`, until the user quits; the terminal is restored on every way out, and the capture
/// loop is told to stop. Meant to end the process: the session and the model are left for the
/// system to reclaim.
pub fn run(engine: Running, models: watch::Receiver<Arc<Built>>, opts: UiOptions) -> anyhow::Result<()> {
    let result =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the event loop").and_then(
            |rt| {
                rt.block_on(async {
                    let mut signals = Signals::new().context("installing the signal handlers")?;
                    let mut guard = Guard::take()?;
                    let r = event_loop(&mut guard.term, &mut signals, &engine, models, &opts).await;
                    // From now on a signal ends the process the default way.
                    signals.arm();
                    drop(guard);
                    r
                })
            },
        );
    engine.stop();
    // The process ends next: freeing a session of a million flows one allocation at a time
    // takes longer than the system takes to reclaim it whole (`report` does the same).
    std::mem::forget(engine);
    result
}

async fn event_loop(
    term: &mut Term,
    signals: &mut Signals,
    engine: &Running,
    mut models: watch::Receiver<Arc<Built>>,
    opts: &UiOptions,
) -> anyhow::Result<()> {
    let mut app = App::new(Theme::new(opts.color), opts.view);
    // Not freed on the way out, for the reason the session is not (see `run`).
    let mut model = std::mem::ManuallyDrop::new(Model::new(models.borrow_and_update().clone()));
    let mut progress = engine.progress.clone();
    model.set_progress(&progress.borrow_and_update());
    app.sync(&model);
    let mut events = EventStream::new();
    let mut alive = tokio::time::interval(ALIVE_EVERY);
    alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    let mut end_drawn = false;
    // Live pause: the view stands still while the capture goes on.
    let mut frozen = false;
    // The capture loop has ended (its channels closed) after publishing its last build.
    let mut ended = false;
    loop {
        if terminal::panicked() {
            anyhow::bail!("a thread of acrscope panicked (the message is above)");
        }
        if ended && !model.status.finished {
            // Both channels close when the capture loop ends, after its last build and
            // counters: one may be seen closed before the other's last value is taken.
            take_newest(&mut model, &mut app, &mut models, &mut progress);
            dirty = true;
            if !model.status.finished {
                anyhow::bail!("the capture thread stopped before the end of its input");
            }
        }
        // The end is what a user of a fast replay waits for: it is drawn at once.
        let end_news = model.status.finished && !end_drawn;
        let since_draw = last_draw.map_or(FRAME, |t| t.elapsed());
        if dirty && (since_draw >= FRAME || end_news) {
            term.draw(|f| super::render(f, &app, &model)).context("drawing the screen")?;
            last_draw = Some(Instant::now());
            dirty = false;
            end_drawn = model.status.finished;
            if opts.quit_at_end && model.status.finished {
                return Ok(());
            }
        }
        let next_frame = last_draw.map_or_else(Instant::now, |t| t + FRAME);
        tokio::select! {
            () = signals.recv() => return Ok(()),
            ev = events.next() => {
                let ev = match ev {
                    Some(ev) => ev.context("reading the terminal")?,
                    None => anyhow::bail!("terminal input ended"),
                };
                match handle(ev, &mut app, &mut model, engine, term, opts, &mut frozen) {
                    Some(Action::Quit) => return Ok(()),
                    Some(Action::TogglePause) if !frozen && model.status.live => {
                        // Resumed: catch up with everything captured meanwhile.
                        take_newest(&mut model, &mut app, &mut models, &mut progress);
                        model.status.paused = false;
                        dirty = true;
                    }
                    Some(_) => dirty = true,
                    None => {}
                }
            }
            r = models.changed(), if !frozen && !ended => match r {
                Ok(()) => {
                    model.set_built(models.borrow_and_update().clone());
                    app.sync(&model);
                    dirty = true;
                }
                Err(_) => ended = true,
            },
            r = progress.changed(), if !frozen && !ended => match r {
                Ok(()) => {
                    model.set_progress(&progress.borrow_and_update());
                    dirty = true;
                }
                Err(_) => ended = true,
            },
            () = tokio::time::sleep_until(next_frame), if dirty => {}
            _ = alive.tick() => {
                // A terminal that hung up fails this; the loop would otherwise wait forever.
                crossterm::terminal::window_size().context("the terminal went away")?;
            }
        }
    }
}

/// Shows the newest build and counters the capture loop has published.
fn take_newest(
    model: &mut Model,
    app: &mut App,
    models: &mut watch::Receiver<Arc<Built>>,
    progress: &mut watch::Receiver<crate::engine::Progress>,
) {
    model.set_built(models.borrow_and_update().clone());
    model.set_progress(&progress.borrow_and_update());
    app.sync(model);
}

/// Applies one terminal event; `None` when it changed nothing on screen.
fn handle(
    ev: Event,
    app: &mut App,
    model: &mut Model,
    engine: &Running,
    term: &Term,
    opts: &UiOptions,
    frozen: &mut bool,
) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => {
            let action = app.on_key(k, model);
            match action {
                Action::TogglePause => toggle_pause(app, model, engine, frozen),
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

/// A replay's clock stops; a live view freezes while the capture goes on (a capture cannot
/// pause without losing packets), and catches up when resumed.
fn toggle_pause(app: &mut App, model: &mut Model, engine: &Running, frozen: &mut bool) {
    if model.status.finished {
        app.status = Some("the capture has ended: nothing to pause".into());
        return;
    }
    if model.status.live {
        *frozen = !*frozen;
        model.status.paused = *frozen;
        app.status = Some(
            if *frozen {
                "view paused, the capture goes on: space resumes"
            } else {
                "resumed: caught up with the capture"
            }
            .into(),
        );
        return;
    }
    let paused = !engine.control.borrow().paused;
    engine.set_paused(paused);
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
