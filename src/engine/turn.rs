//! What the live loop and the file loop share: the session, what is done with each frame, the
//! view's commands, the one clock, and the front end to tell.

use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::capture::Frame;
use crate::session::attribution::Attribution;

use super::{Command, Front, Options, Progress, Shared, Why, TICK};

/// The state of a running capture loop, whichever its source.
pub(super) struct Loop<'a, F: Front> {
    pub shared: Shared,
    pub sink: Sink,
    pub commands: watch::Receiver<Command>,
    /// The view's last command.
    pub cmd: Command,
    pub tick: Interval,
    /// `--duration`: when the capture ends.
    pub deadline: Option<Instant>,
    progress: &'a watch::Sender<Progress>,
    front: &'a mut F,
}

impl<'a, F: Front> Loop<'a, F> {
    pub fn new(
        mut shared: Shared,
        sink: Sink,
        mut commands: watch::Receiver<Command>,
        progress: &'a watch::Sender<Progress>,
        front: &'a mut F,
    ) -> Self {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let deadline = sink.opts.stop_when.duration.map(|d| Instant::now() + d);
        let cmd = *commands.borrow_and_update();
        if sink.opts.procs.is_some() {
            shared.attribution.get_or_insert_with(Attribution::default);
        }
        Loop { shared, sink, commands, cmd, tick, deadline, progress, front }
    }

    /// Publishes the [`Progress`] when it changed.
    pub fn publish(&self) {
        // Nobody reads it (headless): not even made.
        if self.progress.is_closed() {
            return;
        }
        self.progress.send_if_modified(|p| {
            let now = Progress::of(&self.shared);
            let changed = *p != now;
            *p = now;
            changed
        });
    }

    /// Tells the front end, then publishes.
    pub fn tell(&mut self, why: Why) -> anyhow::Result<()> {
        self.front.update(&mut self.shared, why)?;
        self.publish();
        Ok(())
    }

    /// After a batch: the front end hears of frames only if some were ingested since
    /// `packets_before`; the progress is published either way.
    pub fn batch_done(&mut self, packets_before: u64) -> anyhow::Result<()> {
        self.sink.attribute(&mut self.shared);
        if self.shared.session.stats.packets != packets_before {
            self.front.update(&mut self.shared, Why::Frames)?;
        }
        self.publish();
        Ok(())
    }

    /// Ingests `frame` with everything that goes with it; whether `--count` is reached.
    pub fn ingest(&mut self, frame: &Frame<'_>) -> bool {
        self.sink.ingest(&mut self.shared, frame);
        self.sink.counted_out(&self.shared)
    }

    /// The source has ended: the session is complete, the front end told.
    pub fn end(mut self) -> anyhow::Result<Shared> {
        self.sink.attribute(&mut self.shared);
        self.shared.session.finish();
        self.shared.status.finished = true;
        self.tell(Why::End)?;
        Ok(self.shared)
    }
}

/// What is done with each frame: ingested, attributed, recorded, counted.
pub(super) struct Sink {
    opts: Options,
}

impl Sink {
    pub fn new(opts: Options) -> Sink {
        Sink { opts }
    }

    pub fn ingest(&mut self, shared: &mut Shared, frame: &Frame<'_>) {
        shared.status.start_ns.get_or_insert(frame.ts_ns);
        shared.session.ingest(frame);
        if self.opts.save.is_some() {
            // The packet's comment names its flow's process: known before it is written.
            self.attribute(shared);
        }
        if let Some(r) = self.opts.save.as_mut() {
            r.record(&shared.session, frame);
        }
    }

    /// Asks for the processes of the flows opened since the last call, all at once, at the
    /// end of each batch of packets: soon after each flow's first packet, while its socket is
    /// still there (a short flow is gone by the time it would be announced).
    pub fn attribute(&mut self, shared: &mut Shared) {
        if let Some(p) = self.opts.procs.as_mut() {
            shared.attribution.get_or_insert_with(Attribution::default).catch_up(&mut shared.session, p);
        }
    }

    pub fn counted_out(&self, shared: &Shared) -> bool {
        self.opts.stop_when.count.is_some_and(|c| shared.session.stats.packets >= c)
    }

    /// Flushes the `--write` file; says once (a warning) when it stopped being written.
    pub fn flush(&mut self, shared: &mut Shared) {
        if let Some(r) = self.opts.save.as_mut() {
            r.flush();
            if let Some(e) = r.error().map(|e| e.to_string()) {
                shared.session.warn("write-failed", None, None, format!("the --write file stopped being written: {e}"));
                self.opts.save = None;
            }
        }
    }
}

/// The view's next command; a stop once the view is gone (nobody to capture for).
pub(super) async fn next_command(commands: &mut watch::Receiver<Command>, now: Command) -> Command {
    match commands.changed().await {
        Ok(()) => *commands.borrow_and_update(),
        Err(_) => Command { stop: true, ..now },
    }
}

/// Resolves at `deadline`, never without one.
pub(super) async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
