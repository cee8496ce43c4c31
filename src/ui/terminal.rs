//! Taking the terminal over and always giving it back: on quit, Ctrl-C, SIGTERM, SIGHUP, an
//! error and a panic. `ratatui::init()` does not turn mouse capture on or off, so everything
//! is enabled and undone by hand, in one place.

use std::io::{stdout, IsTerminal, Stdout, Write};
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen,
    LeaveAlternateScreen,
};
use crossterm::{execute, queue};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<FrameWriter<Stdout>>>;

/// Holds one frame and hands it to the terminal in one write, between the marks of a
/// synchronized update, so that a terminal (or tmux, or a screen reader polling the pane) never
/// shows the top of a new frame over the bottom of the last. A frame cut short by a panic is
/// dropped, never written after the terminal is restored; `BufWriter` would flush it on drop.
pub struct FrameWriter<W: Write> {
    out: W,
    /// The opening mark of a synchronized update, then the frame.
    buf: Vec<u8>,
    /// The length of the opening mark: the buffer holds no frame at this length.
    start: usize,
}

impl<W: Write> FrameWriter<W> {
    fn new(out: W) -> FrameWriter<W> {
        let mut buf = Vec::with_capacity(64 * 1024);
        // Writing a command's escape sequence into memory cannot fail.
        let _ = queue!(buf, BeginSynchronizedUpdate);
        FrameWriter { out, start: buf.len(), buf }
    }
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() == self.start {
            return Ok(());
        }
        queue!(self.buf, EndSynchronizedUpdate)?;
        let written = self.out.write_all(&self.buf).and_then(|()| self.out.flush());
        self.buf.truncate(self.start);
        written
    }
}

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
        let term = Terminal::new(CrosstermBackend::new(FrameWriter::new(stdout())))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Records each `write` call it is given.
    #[derive(Default)]
    struct Calls(Vec<Vec<u8>>);

    impl Write for Calls {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.push(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_frame_goes_out_whole_in_one_write_between_the_update_marks() {
        let mut w = FrameWriter::new(Calls::default());
        w.write_all(b"top").unwrap();
        w.write_all(b" middle").unwrap();
        assert!(w.out.0.is_empty(), "nothing is written before the frame ends");
        w.flush().unwrap();
        assert_eq!(w.out.0, vec![b"\x1b[?2026htop middle\x1b[?2026l".to_vec()]);
        w.flush().unwrap();
        assert_eq!(w.out.0.len(), 1, "no frame, no write");
        w.write_all(b"next").unwrap();
        w.flush().unwrap();
        assert_eq!(w.out.0[1], b"\x1b[?2026hnext\x1b[?2026l".to_vec());
    }

    #[test]
    fn a_frame_never_flushed_is_never_written() {
        let mut calls = Calls::default();
        {
            let mut w = FrameWriter::new(&mut calls);
            w.write_all(b"half a frame").unwrap();
        }
        assert!(calls.0.is_empty());
    }
}
