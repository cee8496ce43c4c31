//! Taking the terminal over and always giving it back: on quit, Ctrl-C, SIGTERM, SIGHUP, an
//! error and a panic. `ratatui::init()` does not turn mouse capture on or off, so everything
//! is enabled and undone by hand, in one place.

use std::io::{stdout, IsTerminal, Stdout};
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// The terminal is in our hands (raw mode, alternate screen, mouse capture, hidden cursor).
static TAKEN: AtomicBool = AtomicBool::new(false);
/// A thread panicked while the UI ran; the loop ends on seeing it.
static PANICKED: AtomicBool = AtomicBool::new(false);

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Undoes everything [`Guard::take`] did; does nothing the second time.
pub fn restore() {
    if TAKEN.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
    }
}

/// Whether this process has a terminal to read keys from besides stdin.
fn controlling_terminal() -> bool {
    std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").is_ok()
}

pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// Owns the terminal while the UI runs; dropping it restores the terminal and the previous
/// panic hook.
pub struct Guard {
    pub term: Term,
    prev_hook: Option<Arc<Hook>>,
}

impl Guard {
    pub fn take() -> anyhow::Result<Guard> {
        // Keys come from the terminal: stdin when it is one, else /dev/tty (crossterm opens it
        // itself), so `tcpdump -w - | acrscope replay -` keeps its keys.
        if !std::io::stdout().is_terminal() || !(std::io::stdin().is_terminal() || controlling_terminal()) {
            anyhow::bail!(
                "the timeline needs a terminal (stdout is not one, or there is no terminal to read keys from); for text, use `acrscope report FILE`"
            );
        }
        let term = Terminal::new(CrosstermBackend::new(stdout()))?;
        let prev: Arc<Hook> = Arc::new(std::panic::take_hook());
        let chained = prev.clone();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            // The message must land on the normal screen, in cooked mode, to be read.
            restore();
            chained(info);
        }));
        // From here on, dropping the guard undoes whatever was done, on every error path.
        // Signals are the event loop's (`signals::Signals`): it ends on the first, and leaves
        // through this guard's drop.
        let mut guard = Guard { term, prev_hook: Some(prev) };
        TAKEN.store(true, Ordering::SeqCst);
        enable_raw_mode().context("switching the terminal to raw mode")?;
        execute!(stdout(), EnterAlternateScreen, EnableMouseCapture).context("setting up the terminal")?;
        guard.term.hide_cursor()?;
        guard.term.clear()?;
        Ok(guard)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
        if let Some(prev) = self.prev_hook.take() {
            let _ = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| prev(info)));
        }
    }
}
