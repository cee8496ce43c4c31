//! Capture and analysis run apart from drawing: a feeder thread reads frames (a file at its
//! recorded pace, or a live interface) into a shared session; views lock it briefly to draw.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::capture::live::LiveSource;
use crate::capture::source::{CaptureReader, OpenOptions};
use crate::capture::Frame;
use crate::cli::Speed;
use crate::output::annotate::Recorder;
use crate::session::{Limits, Session};

/// Frames ingested per lock when reading as fast as possible: long enough to amortise the
/// lock, short enough that a frame is never kept waiting long.
const BATCH: usize = 4096;
/// Longest sleep of a paced feeder, so pause, stop and speed changes take effect quickly.
const TICK: Duration = Duration::from_millis(20);

/// What the header shows about the source.
#[derive(Debug, Clone, Default)]
pub struct SourceStatus {
    /// File path or interface name (and why it was chosen).
    pub label: String,
    pub live: bool,
    /// Capture time "now": the replay's virtual clock, or the last packet's time live.
    pub clock_ns: Option<i64>,
    /// Time of the first packet (the time axis origin).
    pub start_ns: Option<i64>,
    pub speed: Option<Speed>,
    pub paused: bool,
    /// The source has no more frames (end of file, or capture stopped).
    pub finished: bool,
    /// Packets the kernel dropped (live), from pcap stats.
    pub kernel_drops: Option<u64>,
    /// Packets the interface dropped (live), from pcap stats.
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

/// The session and its source, shared between the feeder and the views.
pub struct Shared {
    pub session: Session,
    pub status: SourceStatus,
}

/// Knobs the UI turns while the feeder runs.
#[derive(Debug, Default)]
pub struct Control {
    /// Told when the source ends: a view asleep until its next frame or key sees the end at
    /// once instead.
    on_end: Mutex<OnEnd>,
    pub paused: AtomicBool,
    /// Shared with a followed file's reader, which waits for growth until it is set.
    pub stop: Arc<AtomicBool>,
    /// Bumped by the feeder whenever it changed the shared state, so views redraw only then.
    pub generation: AtomicU64,
    /// Replay speed factor × 1000; 0 means as fast as possible.
    pub speed_milli: AtomicU64,
    /// A view is waiting for the lock: a feeder reading as fast as it can lets it in between
    /// two batches (a mutex is not fair, and the feeder would take it back at once).
    pub view_waiting: AtomicBool,
}

/// A callback for [`Control::on_end`].
#[derive(Default)]
struct OnEnd(Option<Box<dyn Fn() + Send>>);

impl std::fmt::Debug for OnEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "OnEnd(set)" } else { "OnEnd(none)" })
    }
}

impl Control {
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Calls `f` when the source has ended (after the last [`Control::bump`]).
    pub fn on_end(&self, f: impl Fn() + Send + 'static) {
        self.on_end.lock().unwrap_or_else(|p| p.into_inner()).0 = Some(Box::new(f));
    }

    /// The last bump: the source has ended.
    fn ended(&self) {
        self.bump();
        if let Some(f) = &self.on_end.lock().unwrap_or_else(|p| p.into_inner()).0 {
            f();
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn set_speed(&self, s: Speed) {
        let v = match s {
            Speed::Max => 0,
            Speed::Factor(f) => ((f * 1000.0).round() as u64).max(1),
        };
        self.speed_milli.store(v, Ordering::Relaxed);
    }

    pub fn speed(&self) -> Speed {
        match self.speed_milli.load(Ordering::Relaxed) {
            0 => Speed::Max,
            m => Speed::Factor(m as f64 / 1000.0),
        }
    }
}

pub type SharedState = Arc<Mutex<Shared>>;

/// Locks the shared state; a feeder that panicked leaves it usable (the data is plain).
pub fn lock(s: &SharedState) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Locks the shared state for a view, ahead of a feeder that is about to take it again.
pub fn lock_for_view<'s>(s: &'s SharedState, control: &Control) -> MutexGuard<'s, Shared> {
    control.view_waiting.store(true, Ordering::Release);
    let g = lock(s);
    control.view_waiting.store(false, Ordering::Release);
    g
}

/// Between two batches: waits (briefly) for a view that asked for the lock to get it.
fn let_view_in(control: &Control) {
    let until = Instant::now() + Duration::from_millis(50);
    while control.view_waiting.load(Ordering::Acquire) && Instant::now() < until {
        std::thread::yield_now();
    }
}

pub struct Feeder {
    pub shared: SharedState,
    pub control: Arc<Control>,
    pub handle: JoinHandle<()>,
}

/// Opens `path` (`-`: standard input; errors here are the user's: not a capture,
/// unreadable) and starts replaying it. `follow`: keep reading a file still being written
/// until the replay is stopped.
pub fn spawn_replay(
    path: &Path,
    speed: Speed,
    paused: bool,
    limits: Limits,
) -> Result<Feeder, crate::pipeline::OpenError> {
    spawn_replay_with(path, speed, paused, limits, false)
}

/// [`spawn_replay`], following a growing file if `follow`.
pub fn spawn_replay_with(
    path: &Path,
    speed: Speed,
    paused: bool,
    limits: Limits,
    follow: bool,
) -> Result<Feeder, crate::pipeline::OpenError> {
    let control = Arc::new(Control::default());
    let opts = OpenOptions { follow: follow.then(|| control.stop.clone()) };
    let reader = CaptureReader::open(path, &opts)?;
    let mut session = Session::new(limits);
    session.record_activity();
    let shared = Arc::new(Mutex::new(Shared {
        session,
        status: SourceStatus {
            label: reader.label(),
            speed: Some(speed),
            paused,
            total_bytes: reader.total_bytes(),
            ..SourceStatus::default()
        },
    }));
    control.set_speed(speed);
    control.paused.store(paused, Ordering::Relaxed);
    let (s2, c2) = (shared.clone(), control.clone());
    let handle = std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || replay(reader, &s2, &c2))
        .expect("spawning the replay thread");
    Ok(Feeder { shared, control, handle })
}

/// The replay clock: capture time advances with wall time × speed while not paused.
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
            comment: None,
        }
    }
}

fn replay(mut reader: CaptureReader, shared: &SharedState, control: &Control) {
    let streaming = reader.streaming();
    let mut clock: Option<Clock> = None;
    let mut held: Option<Held> = None;
    let mut was_paused = false;
    let mut last_speed = control.speed();
    'outer: loop {
        if control.stop.load(Ordering::Relaxed) {
            break;
        }
        let paused = control.paused.load(Ordering::Relaxed);
        let speed = control.speed();
        if let Some(c) = clock.as_mut() {
            if paused != was_paused || speed != last_speed {
                c.rebase(if paused { 0.0 } else { factor(speed) });
            }
        }
        was_paused = paused;
        last_speed = speed;
        let mut g = lock(shared);
        g.status.paused = paused;
        g.status.speed = Some(speed);
        if let Some(c) = &clock {
            g.status.clock_ns = Some(c.now_ns());
        }
        if paused {
            drop(g);
            control.bump();
            std::thread::sleep(TICK);
            continue;
        }
        if let Some(h) = held.take() {
            g.status.start_ns.get_or_insert(h.ts_ns);
            let c = clock.get_or_insert_with(|| Clock {
                anchor_wall: Instant::now(),
                anchor_ns: h.ts_ns,
                speed: factor(speed),
            });
            if speed != Speed::Max && h.ts_ns > c.now_ns() {
                held = Some(h);
                drop(g);
                control.bump();
                std::thread::sleep(TICK);
                continue;
            }
            g.session.ingest(&h.frame());
            if speed == Speed::Max {
                g.status.clock_ns = Some(h.ts_ns);
            }
        }
        for _ in 0..BATCH {
            // A pipe or a growing file may have nothing yet: wait for it without the lock,
            // so the screen keeps its keys and its clock meanwhile. (A file on disk is read
            // ahead and never keeps the lock long: it is read as before.)
            if streaming && !reader.ready() {
                break;
            }
            let Some(frame) = reader.next_frame() else { break 'outer };
            g.status.start_ns.get_or_insert(frame.ts_ns);
            let c = clock.get_or_insert_with(|| Clock {
                anchor_wall: Instant::now(),
                anchor_ns: frame.ts_ns,
                speed: factor(speed),
            });
            if speed != Speed::Max && frame.ts_ns > c.now_ns() {
                held = Some(Held::of(&frame));
                break;
            }
            g.session.ingest(&frame);
            if speed == Speed::Max {
                g.status.clock_ns = Some(frame.ts_ns);
            }
        }
        g.status.read_bytes = reader.progress_bytes();
        drop(g);
        control.bump();
        let_view_in(control);
        if streaming && held.is_none() && !reader.ready() {
            match reader.next_frame() {
                Some(frame) => held = Some(Held::of(&frame)),
                None => break 'outer,
            }
        }
    }
    let mut g = lock(shared);
    if let Some(h) = held.take() {
        g.status.start_ns.get_or_insert(h.ts_ns);
        g.session.ingest(&h.frame());
    }
    g.status.read_bytes = reader.progress_bytes();
    let outcome = reader.into_outcome();
    g.status.error = crate::pipeline::apply_outcome(&mut g.session, &outcome);
    g.session.finish();
    g.status.finished = true;
    // At the end the clock stands on the last packet (a stopped replay keeps its own time).
    let last = g.session.stats.last_ns;
    g.status.clock_ns = if control.stop.load(Ordering::Relaxed) { g.status.clock_ns.or(last) } else { last };
    drop(g);
    control.ended();
}

/// Starts feeding a live capture (opened non-blocking) into a new session, and each packet,
/// once ingested, to `save` (the `--write` file). `procs` names the process of each new flow,
/// when attribution is on.
pub fn spawn_live(
    src: LiveSource,
    save: Option<Recorder>,
    limits: Limits,
    procs: Option<crate::procs::Attributor>,
) -> Feeder {
    let mut session = Session::new(limits);
    session.record_activity();
    let shared = Arc::new(Mutex::new(Shared {
        session,
        status: SourceStatus {
            label: src.label(),
            live: true,
            confinement: src.confinement.clone(),
            ..SourceStatus::default()
        },
    }));
    let control = Arc::new(Control::default());
    let (s2, c2) = (shared.clone(), control.clone());
    let handle = std::thread::Builder::new()
        .name("live".into())
        .spawn(move || live(src, save, procs, &s2, &c2))
        .expect("spawning the capture thread");
    Feeder { shared, control, handle }
}

/// Live capture never pauses: a paused screen must not lose packets, so the feeder keeps
/// reading and only the view stands still.
fn live(
    mut src: LiveSource,
    mut save: Option<Recorder>,
    mut procs: Option<crate::procs::Attributor>,
    shared: &SharedState,
    control: &Control,
) {
    let mut next_tick = Instant::now();
    let mut attribution = crate::session::attribution::Attribution::default();
    while !control.stop.load(Ordering::Relaxed) {
        let mut got = 0usize;
        let mut g = lock(shared);
        let mut failed = None;
        while got < BATCH {
            match src.next_frame() {
                Ok(Some(frame)) => {
                    g.status.start_ns.get_or_insert(frame.ts_ns);
                    g.session.ingest(&frame);
                    if let Some(p) = procs.as_mut() {
                        attribution.catch_up(&mut g.session, p);
                    }
                    if let Some(r) = save.as_mut() {
                        r.record(&g.session, &frame);
                    }
                    got += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        let now = crate::output::time::now_ns();
        g.status.clock_ns = Some(now);
        g.status.start_ns.get_or_insert(now);
        let tick = Instant::now() >= next_tick;
        if tick {
            // Four times a second: the "now" cursor moves, and an idle screen stays cheap.
            next_tick = Instant::now() + Duration::from_millis(250);
            if let Some(d) = src.drops() {
                g.status.kernel_drops = Some(d.kernel);
                g.status.if_drops = Some(d.interface);
            }
            g.session.age_out(now);
            if let Some(r) = save.as_mut() {
                r.flush();
                if let Some(e) = r.error().map(|e| e.to_string()) {
                    // Said once: the file is no longer written from here on.
                    g.session.warn("write-failed", None, None, format!("the --write file stopped being written: {e}"));
                    save = None;
                }
            }
        }
        if let Some(e) = failed {
            g.session.warn("capture-failed", None, None, e.clone());
            g.status.error = Some(e);
            break;
        }
        drop(g);
        if got > 0 || tick {
            control.bump();
        }
        if got == 0 {
            src.wait();
        }
    }
    if let Some(r) = save.as_mut() {
        r.flush();
    }
    let mut g = lock(shared);
    if let Some(e) = save.as_ref().and_then(Recorder::error) {
        g.session.warn("write-failed", None, None, format!("the --write file stopped being written: {e}"));
    }
    if let Some(d) = src.drops() {
        g.status.kernel_drops = Some(d.kernel);
        g.status.if_drops = Some(d.interface);
    }
    g.session.finish();
    g.status.finished = true;
    drop(g);
    control.ended();
}

fn factor(s: Speed) -> f64 {
    match s {
        Speed::Max => f64::INFINITY,
        Speed::Factor(f) => f,
    }
}
