//! The capture side: one event loop (tokio) owns the session. It reads the source (a file at
//! its recorded pace, or a live interface), ages flows on one clock, obeys the view's
//! commands (pause, stop) and tells a front end what changed: the timeline's model publisher,
//! or the NDJSON writer of a headless capture. Views never touch the session; they get what the
//! front end publishes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::{Instant, MissedTickBehavior};

use crate::capture::live::{Drops, LiveSource};
use crate::capture::source::{CaptureReader, OpenOptions};
use crate::capture::Frame;
use crate::output::annotate::Recorder;
use crate::session::attribution::Attribution;
use crate::session::{Limits, Session};

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

/// What the header shows about the source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStatus {
    /// File path or interface name (and why it was chosen).
    pub label: String,
    pub live: bool,
    /// Capture time "now": the replay's virtual clock, or the wall clock live.
    pub clock_ns: Option<i64>,
    /// Time of the first packet (the time axis origin).
    pub start_ns: Option<i64>,
    pub speed: Option<Speed>,
    pub paused: bool,
    /// The source has no more frames (end of file, or capture stopped).
    pub finished: bool,
    /// Packets the capture received, and those the kernel and the interface dropped (live,
    /// from pcap stats).
    pub received: Option<u64>,
    pub kernel_drops: Option<u64>,
    pub if_drops: Option<u64>,
    /// Reading stopped on this error (kept: everything before it is in the session).
    pub error: Option<String>,
    /// File size and bytes read so far, for a loading indicator.
    pub total_bytes: Option<u64>,
    pub read_bytes: u64,
    /// Live: who the capture runs as and its sandbox (`Confinement::summary`: `as root ...` only
    /// with `--user root`).
    pub confinement: Option<String>,
}

impl SourceStatus {
    pub fn drops(&self) -> Option<Drops> {
        Some(Drops { received: self.received?, kernel: self.kernel_drops?, interface: self.if_drops.unwrap_or(0) })
    }

    fn set_drops(&mut self, d: Drops) {
        self.received = Some(d.received);
        self.kernel_drops = Some(d.kernel);
        self.if_drops = Some(d.interface);
    }
}

/// The session and its source, owned by the capture loop and lent to its front end.
pub struct Shared {
    pub session: Session,
    pub status: SourceStatus,
    /// Live with process attribution: what could not be attributed, and why.
    pub attribution: Option<Attribution>,
}

impl Shared {
    pub fn new(session: Session, status: SourceStatus) -> Shared {
        Shared { session, status, attribution: None }
    }
}

/// What the view asks of the capture loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    /// A replay's clock stands still (a live capture never pauses: its view freezes instead,
    /// so no packet is lost).
    pub paused: bool,
    pub stop: bool,
}

/// The cheap picture of the capture, published after every batch and tick: what the header
/// shows between two (costly) model builds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub status: SourceStatus,
    pub packets: u64,
    pub wire_bytes: u64,
    pub warnings: u64,
    pub flows_evicted: u64,
    pub flows: usize,
}

impl Progress {
    pub fn of(shared: &Shared) -> Progress {
        let st = &shared.session.stats;
        Progress {
            status: shared.status.clone(),
            packets: st.packets,
            wire_bytes: st.wire_bytes,
            warnings: st.warning_count(),
            flows_evicted: st.flows_evicted,
            flows: shared.session.flows().len(),
        }
    }
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

/// Starts the capture loop on a thread of its own.
pub fn spawn(
    source: Source,
    limits: Limits,
    paused: bool,
    opts: Options,
    mut front: impl Front + Send + 'static,
) -> std::io::Result<Running> {
    let mut session = Session::new(limits);
    session.record_activity();
    let shared = Shared::new(session, source.status());
    let (control, commands) = watch::channel(Command { paused, stop: false });
    let (tx, progress) = watch::channel(Progress::of(&shared));
    let name = if matches!(source, Source::Live(_)) { "capture" } else { "replay" };
    let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(run(source, shared, opts, &mut front, commands, &tx))
    })?;
    Ok(Running { control, progress, thread })
}

/// A replay's clock: capture time advances with wall time × speed while not paused.
struct Clock {
    anchor_wall: Instant,
    anchor_ns: i64,
    speed: f64,
}

impl Clock {
    fn now_ns(&self) -> i64 {
        let el = self.anchor_wall.elapsed().as_secs_f64() * self.speed * 1e9;
        self.anchor_ns.saturating_add(el as i64)
    }

    fn rebase(&mut self, speed: f64) {
        self.anchor_ns = self.now_ns();
        self.anchor_wall = Instant::now();
        self.speed = speed;
    }

    /// When capture time `ts_ns` comes.
    fn wall_at(&self, ts_ns: i64) -> Instant {
        if self.speed <= 0.0 || !self.speed.is_finite() {
            return self.anchor_wall;
        }
        let ahead = (ts_ns.saturating_sub(self.now_ns())).max(0) as f64 / self.speed / 1e9;
        Instant::now() + Duration::from_secs_f64(ahead.min(3600.0))
    }
}

/// A frame read ahead of the replay clock, held until its time comes.
struct Held {
    data: Vec<u8>,
    number: u64,
    ts_ns: i64,
    link_type: u16,
    interface: u32,
    orig_len: u32,
    offset: u64,
    /// A pcapng comment may name the flow's process (a recording of a live capture).
    comment: Option<Box<str>>,
}

impl Held {
    fn of(frame: &Frame<'_>) -> Held {
        Held {
            data: frame.data.to_vec(),
            number: frame.number,
            ts_ns: frame.ts_ns,
            link_type: frame.link_type,
            interface: frame.interface,
            orig_len: frame.orig_len,
            offset: frame.offset,
            comment: frame.comment.map(Box::from),
        }
    }

    fn frame(&self) -> Frame<'_> {
        Frame {
            number: self.number,
            ts_ns: self.ts_ns,
            link_type: self.link_type,
            interface: self.interface,
            orig_len: self.orig_len,
            offset: self.offset,
            data: &self.data,
            comment: self.comment.as_deref(),
        }
    }
}

/// What a turn of reading left the loop to wait for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Next {
    /// More is there now.
    More,
    /// The file reader has nothing yet.
    Input,
    /// The next frame is due at this time (a paced replay).
    Until(Instant),
    /// The source ended (end of file, capture error, `--count`).
    End,
}

/// What is done with each frame: ingested, attributed, recorded, counted.
struct Sink<'o> {
    opts: &'o mut Options,
}

impl Sink<'_> {
    fn ingest(&mut self, shared: &mut Shared, frame: &Frame<'_>) {
        shared.status.start_ns.get_or_insert(frame.ts_ns);
        shared.session.ingest(frame);
        if let Some(p) = self.opts.procs.as_mut() {
            // At the first packet, while the socket is still there: a short flow is gone by
            // the time it would be announced.
            shared.attribution.get_or_insert_with(Attribution::default).catch_up(&mut shared.session, p);
        }
        if let Some(r) = self.opts.save.as_mut() {
            r.record(&shared.session, frame);
        }
    }

    fn counted_out(&self, shared: &Shared) -> bool {
        self.opts.stop_when.count.is_some_and(|c| shared.session.stats.packets >= c)
    }

    /// Flushes the `--write` file; says once (a warning) when it stopped being written.
    fn flush(&mut self, shared: &mut Shared) {
        if let Some(r) = self.opts.save.as_mut() {
            r.flush();
            if let Some(e) = r.error().map(|e| e.to_string()) {
                shared.session.warn("write-failed", None, None, format!("the --write file stopped being written: {e}"));
                self.opts.save = None;
            }
        }
    }
}

/// The capture loop: reads `source` into `shared` until the source ends, a stop command, the
/// `--count` or the `--duration` deadline; returns the session. Runs on whatever runtime
/// awaits it (a thread of its own under the timeline, the main thread for headless live).
pub async fn run(
    source: Source,
    mut shared: Shared,
    mut opts: Options,
    front: &mut impl Front,
    mut commands: watch::Receiver<Command>,
    progress: &watch::Sender<Progress>,
) -> anyhow::Result<Shared> {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let deadline = opts.stop_when.duration.map(|d| Instant::now() + d);
    let mut cmd = *commands.borrow_and_update();
    if opts.procs.is_some() {
        shared.attribution.get_or_insert_with(Attribution::default);
    }
    let publish = |shared: &Shared| {
        // Nobody reads it (headless): not even made.
        if progress.is_closed() {
            return;
        }
        progress.send_if_modified(|p| {
            let now = Progress::of(shared);
            let changed = *p != now;
            *p = now;
            changed
        });
    };
    match source {
        Source::Live(src) => {
            let mut live = src.into_stream()?;
            let mut ended = false;
            while !cmd.stop && !ended {
                tokio::select! {
                    biased;
                    c = next_command(&mut commands, cmd) => cmd = c,
                    _ = until(deadline) => break,
                    _ = tick.tick() => {
                        let now = crate::output::time::now_ns();
                        shared.status.clock_ns = Some(now);
                        shared.status.start_ns.get_or_insert(now);
                        if let Some(d) = live.drops() {
                            shared.status.set_drops(d);
                        }
                        // One aging clock: the later of the wall clock and the last packet, so
                        // idle flows age out even when nothing arrives.
                        shared.session.age_out(shared.session.stats.last_ns.map_or(now, |l| l.max(now)));
                        Sink { opts: &mut opts }.flush(&mut shared);
                        front.update(&mut shared, Why::Tick)?;
                        publish(&shared);
                    }
                    r = live.read(BATCH) => {
                        if let Err(e) = r {
                            // The interface went away or the capture failed: keep what was read.
                            let e = e.to_string();
                            shared.session.warn("capture-failed", None, None, e.clone());
                            shared.status.error = Some(e);
                            ended = true;
                        }
                        let mut sink = Sink { opts: &mut opts };
                        let before = shared.session.stats.packets;
                        let mut frames = live.frames();
                        for i in 0..frames.len() {
                            sink.ingest(&mut shared, &frames.frame(i));
                            if sink.counted_out(&shared) {
                                ended = true;
                                break;
                            }
                        }
                        frames.clear();
                        drop(frames);
                        if shared.session.stats.packets != before {
                            shared.status.clock_ns = Some(crate::output::time::now_ns());
                            front.update(&mut shared, Why::Frames)?;
                        }
                        publish(&shared);
                    }
                }
            }
            if let Some(d) = live.drops() {
                shared.status.set_drops(d);
            }
            Sink { opts: &mut opts }.flush(&mut shared);
        }
        Source::File { mut reader, speed, wake, stop } => {
            let mut clock: Option<Clock> = None;
            let mut held: Option<Held> = None;
            let mut was_paused = cmd.paused;
            let mut next = Next::More;
            shared.status.paused = cmd.paused;
            loop {
                if cmd.paused != was_paused {
                    if let Some(c) = clock.as_mut() {
                        c.rebase(if cmd.paused { 0.0 } else { factor(speed) });
                    }
                    was_paused = cmd.paused;
                    shared.status.paused = cmd.paused;
                    publish(&shared);
                }
                if cmd.stop || next == Next::End {
                    break;
                }
                if !cmd.paused && next == Next::More {
                    let mut sink = Sink { opts: &mut opts };
                    let before = shared.session.stats.packets;
                    next = read_file(&mut reader, speed, &mut clock, &mut held, &mut shared, &mut sink);
                    shared.status.read_bytes = reader.progress_bytes();
                    if let Some(c) = &clock {
                        shared.status.clock_ns = Some(if speed == Speed::Max {
                            shared.session.stats.last_ns.unwrap_or(c.anchor_ns)
                        } else {
                            c.now_ns()
                        });
                    }
                    if shared.session.stats.packets != before {
                        front.update(&mut shared, Why::Frames)?;
                    }
                    publish(&shared);
                    if next == Next::End {
                        continue;
                    }
                }
                let waiting_input = !cmd.paused && next == Next::Input;
                let due = match next {
                    Next::Until(t) if !cmd.paused => Some(t),
                    _ => None,
                };
                tokio::select! {
                    biased;
                    c = next_command(&mut commands, cmd) => cmd = c,
                    _ = until(deadline) => break,
                    _ = tick.tick() => {
                        // A paced replay's clock moves the "now" cursor between frames.
                        if let (Some(c), false) = (&clock, cmd.paused || speed == Speed::Max) {
                            shared.status.clock_ns = Some(c.now_ns());
                        }
                        front.update(&mut shared, Why::Tick)?;
                        publish(&shared);
                    }
                    () = wake.notified(), if waiting_input => next = Next::More,
                    () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => next = Next::More,
                    () = std::future::ready(()), if !cmd.paused && next == Next::More => {}
                }
                // A pause or a resume is seen at the top; a resumed replay reads again.
                if !cmd.paused && matches!(next, Next::Until(_)) && due.is_none() {
                    next = Next::More;
                }
            }
            if let Some(h) = held.take() {
                Sink { opts: &mut opts }.ingest(&mut shared, &h.frame());
            }
            // A followed file stops waiting for growth.
            stop.store(true, Ordering::Relaxed);
            shared.status.read_bytes = reader.progress_bytes();
            let outcome = reader.into_outcome();
            if let Some(e) = crate::pipeline::apply_outcome(&mut shared.session, &outcome) {
                shared.status.error = Some(e);
            }
            // At the end the clock stands on the last packet (a stopped replay keeps its own).
            let last = shared.session.stats.last_ns;
            shared.status.clock_ns = if cmd.stop { shared.status.clock_ns.or(last) } else { last };
        }
    }
    shared.session.finish();
    shared.status.finished = true;
    front.update(&mut shared, Why::End)?;
    publish(&shared);
    Ok(shared)
}

/// Reads from a file what is due, up to a batch.
fn read_file(
    reader: &mut CaptureReader,
    speed: Speed,
    clock: &mut Option<Clock>,
    held: &mut Option<Held>,
    shared: &mut Shared,
    sink: &mut Sink<'_>,
) -> Next {
    let paced = speed != Speed::Max;
    let streaming = reader.streaming();
    if let Some(h) = held.take() {
        let c = clock.get_or_insert_with(|| Clock {
            anchor_wall: Instant::now(),
            anchor_ns: h.ts_ns,
            speed: factor(speed),
        });
        if paced && h.ts_ns > c.now_ns() {
            let at = c.wall_at(h.ts_ns);
            *held = Some(h);
            return Next::Until(at);
        }
        sink.ingest(shared, &h.frame());
        if sink.counted_out(shared) {
            return Next::End;
        }
    }
    for _ in 0..BATCH {
        // A pipe or a growing file may have nothing yet: the loop waits for it, keys and
        // ticks meanwhile. (A file on disk is read ahead and never keeps the loop long: not
        // asked, which saved 2% of a full-speed read.)
        if streaming && !reader.ready() {
            return Next::Input;
        }
        let Some(frame) = reader.next_frame() else { return Next::End };
        let c = clock.get_or_insert_with(|| Clock {
            anchor_wall: Instant::now(),
            anchor_ns: frame.ts_ns,
            speed: factor(speed),
        });
        if paced && frame.ts_ns > c.now_ns() {
            let at = c.wall_at(frame.ts_ns);
            *held = Some(Held::of(&frame));
            return Next::Until(at);
        }
        sink.ingest(shared, &frame);
        if sink.counted_out(shared) {
            return Next::End;
        }
    }
    Next::More
}

/// The view's next command; a stop once the view is gone (nobody to capture for).
async fn next_command(commands: &mut watch::Receiver<Command>, now: Command) -> Command {
    match commands.changed().await {
        Ok(()) => *commands.borrow_and_update(),
        Err(_) => Command { stop: true, ..now },
    }
}

/// Resolves at `deadline`, never without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn factor(s: Speed) -> f64 {
    match s {
        Speed::Max => f64::INFINITY,
        Speed::Factor(f) => f,
    }
}

/// The first SIGINT, SIGTERM or SIGHUP ends the capture (each caller restores what it must);
/// a second one acts at once, the default way, should the way out be stuck.
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    second_acts: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers; call inside a tokio runtime.
    pub fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let second_acts = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
            signal_hook::flag::register_conditional_default(sig, second_acts.clone())?;
        }
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            second_acts,
        })
    }

    /// The first signal; from then on the next one ends the process.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
        self.second_acts.store(true, Ordering::SeqCst);
    }

    /// A signal from now on ends the process the default way (the view has let go of the
    /// terminal, or is about to).
    pub fn arm(&self) {
        self.second_acts.store(true, Ordering::SeqCst);
    }
}
