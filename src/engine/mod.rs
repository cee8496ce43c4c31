//! The capture side: one event loop (tokio) owns the session. It reads the source (a file at
//! its recorded pace, or a live interface), ages flows on one clock, obeys the view's
//! commands (pause, stop) and tells a front end what changed: the timeline's model publisher,
//! or the NDJSON writer of a headless capture. Views never touch the session; they get what the
//! front end publishes.
//!
//! [`Capture`] sets a loop up (the same for the timeline's thread, [`spawn`], and for headless
//! live, which awaits [`Capture::run`] itself); `turn` holds what both loops share, `live` and
//! `file` are the loops of each source (the file's pacing in its `Pacer`). How a user ends a
//! capture (signals) is the front ends' business: see [`crate::signals`].

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::capture::live::LiveSource;
use crate::capture::source::{CaptureReader, OpenOptions};
use crate::output::annotate::Recorder;

mod file;
mod live;
mod running;
mod status;
mod turn;

pub use running::{spawn, Capture, Running};
pub use status::{Progress, Shared, SourceStatus};

/// Frames ingested between two looks at commands and timers when reading as fast as possible:
/// long enough to amortise the look, short enough that a key or a tick is never kept waiting.
const BATCH: usize = 4096;
/// The one clock of the capture side: a live "now" cursor, kernel drop counters, idle flows
/// aged out, the `--write` file flushed, the front end's periodic work (stats lines).
const TICK: Duration = Duration::from_millis(250);

/// A replay's pace: a factor of the recorded pace, or as fast as the file reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    Factor(f64),
    Max,
}

/// What the view asks of the capture loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    /// A replay's clock stands still (a live capture never pauses: its view freezes instead,
    /// so no packet is lost).
    pub paused: bool,
    pub stop: bool,
}

/// Why the front end is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Frames were ingested.
    Frames,
    /// The capture loop's tick ([`TICK`]).
    Tick,
    /// The source has ended; the session is complete.
    End,
}

/// What turns the session into something a user sees: called on the capture loop, with the
/// session, after each batch of frames, at each tick and at the end.
pub trait Front {
    fn update(&mut self, shared: &mut Shared, why: Why) -> anyhow::Result<()>;
}

/// No front end: only [`Progress`] is published (tests, tools).
impl Front for () {
    fn update(&mut self, _: &mut Shared, _: Why) -> anyhow::Result<()> {
        Ok(())
    }
}

/// When a capture ends, besides the end of its source and a stop command.
#[derive(Debug, Clone, Copy, Default)]
pub struct StopWhen {
    pub duration: Option<Duration>,
    pub count: Option<u64>,
}

/// What the loop does with each frame besides ingesting it.
#[derive(Default)]
pub struct Options {
    /// The `--write` file: each frame, once ingested.
    pub save: Option<Recorder>,
    /// Names the process of each new flow (live).
    pub procs: Option<crate::procs::Attributor>,
    pub stop_when: StopWhen,
}

/// Where frames come from.
pub enum Source {
    /// A capture file or a pipe, read as fast as it goes or at `speed`.
    File {
        reader: Box<CaptureReader>,
        speed: Speed,
        /// Told when the file reader has more (see [`OpenOptions::wake`]).
        wake: Arc<Notify>,
        /// Ends a followed file's wait for growth.
        stop: Arc<AtomicBool>,
    },
    Live(LiveSource),
}

impl Source {
    /// Opens `path` (`-`: standard input; errors here are the user's: not a capture,
    /// unreadable). `follow`: keep reading a file still being written until stopped.
    pub fn open(path: &Path, speed: Speed, follow: bool) -> Result<Source, crate::pipeline::OpenError> {
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        let opts = OpenOptions { follow: follow.then(|| stop.clone()), wake: Some(wake.clone()) };
        let reader = CaptureReader::open(path, &opts)?;
        Ok(Source::File { reader: Box::new(reader), speed, wake, stop })
    }

    /// The header's first picture of this source.
    pub fn status(&self) -> SourceStatus {
        match self {
            Source::File { reader, speed, .. } => SourceStatus {
                label: reader.label(),
                speed: Some(*speed),
                total_bytes: reader.total_bytes(),
                ..SourceStatus::default()
            },
            Source::Live(src) => SourceStatus {
                label: src.label(),
                live: true,
                confinement: src.confinement.clone(),
                ..SourceStatus::default()
            },
        }
    }
}
