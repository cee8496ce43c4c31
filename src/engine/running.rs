//! Setting a capture loop up, once for every front end: on a thread of its own under the
//! timeline ([`spawn`]), or awaited where it stands (headless live, [`Capture::run`]).

use tokio::sync::watch;

use crate::session::{Limits, Session};

use super::turn::{Loop, Sink};
use super::{file, live, Command, Front, Options, Progress, Shared, Source};

/// A capture loop set up and not started: its source, the session it fills, what it does with
/// each frame, and its channels (commands in, [`Progress`] out).
pub struct Capture {
    source: Source,
    shared: Shared,
    opts: Options,
    commands: watch::Receiver<Command>,
    progress: watch::Sender<Progress>,
}

impl Capture {
    /// Sets up the loop of `source` into `session`, paused or not. The sender steers it
    /// ([`Command`]); the loop stops once the sender is gone (nobody left to capture for).
    pub fn new(source: Source, session: Session, paused: bool, opts: Options) -> (Capture, watch::Sender<Command>) {
        let shared = Shared::new(session, source.status());
        let (control, commands) = watch::channel(Command { paused, stop: false });
        // Without a receiver nothing is published (headless); a view subscribes.
        let (progress, _) = watch::channel(Progress::of(&shared));
        (Capture { source, shared, opts, commands, progress }, control)
    }

    /// Runs the loop on a thread of its own, steered by `control`.
    pub fn spawn(
        self,
        control: watch::Sender<Command>,
        mut front: impl Front + Send + 'static,
    ) -> std::io::Result<Running> {
        let progress = self.progress.subscribe();
        let name = if matches!(self.source, Source::Live(_)) { "capture" } else { "replay" };
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(self.run(&mut front))
        })?;
        Ok(Running { control, progress, thread })
    }

    /// Reads the source into the session until the source ends, a stop command, the `--count`
    /// or the `--duration` deadline; returns the session. Runs on whatever runtime awaits it.
    pub async fn run(self, front: &mut impl Front) -> anyhow::Result<Shared> {
        let Capture { source, shared, opts, commands, progress } = self;
        let mut l = Loop::new(shared, Sink::new(opts), commands, &progress, front);
        match source {
            Source::Live(src) => live::run(&mut l, src).await?,
            Source::File { reader, speed, wake, stop } => file::run(&mut l, reader, speed, &wake, &stop).await?,
        }
        l.end()
    }
}

/// Starts the capture loop of `source` on a thread of its own, for a timeline (the session
/// keeps each flow's bytes over time).
pub fn spawn(
    source: Source,
    limits: Limits,
    paused: bool,
    opts: Options,
    front: impl Front + Send + 'static,
) -> std::io::Result<Running> {
    let mut session = Session::new(limits);
    session.record_activity();
    let (capture, control) = Capture::new(source, session, paused, opts);
    capture.spawn(control, front)
}

/// A capture loop running on a thread of its own (the timeline's: drawing never waits for it).
pub struct Running {
    pub control: watch::Sender<Command>,
    pub progress: watch::Receiver<Progress>,
    /// The session at the end (or the front end's error).
    pub thread: std::thread::JoinHandle<anyhow::Result<Shared>>,
}

impl Running {
    pub fn stop(&self) {
        self.control.send_modify(|c| c.stop = true);
    }

    pub fn set_paused(&self, paused: bool) {
        self.control.send_modify(|c| c.paused = paused);
    }

    /// Stops the loop and waits for its session.
    pub fn finish(self) -> anyhow::Result<Shared> {
        self.stop();
        self.wait()
    }

    /// Waits for the source to end; its session.
    pub fn wait(self) -> anyhow::Result<Shared> {
        self.thread.join().map_err(|_| anyhow::anyhow!("the capture thread panicked"))?
    }
}
