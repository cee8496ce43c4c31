//! The file loop: a capture file or a pipe, read as fast as it goes or at a pace, paused and
//! resumed by the view; a followed file waits for growth.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;
use tokio::time::{Duration, Instant};

use crate::capture::source::CaptureReader;
use crate::capture::Frame;

use super::turn::{next_command, until, Loop};
use super::{Front, Speed, Why, BATCH};

/// Reads the file until its end, a stop command, `--duration` or `--count`.
pub(super) async fn run<F: Front>(
    l: &mut Loop<'_, F>,
    mut reader: Box<CaptureReader>,
    speed: Speed,
    wake: &Notify,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut pacer = Pacer::new(speed, l.cmd.paused);
    let mut next = Next::More;
    l.shared.status.paused = l.cmd.paused;
    loop {
        if pacer.set_paused(l.cmd.paused) {
            l.shared.status.paused = l.cmd.paused;
            l.publish();
        }
        if l.cmd.stop || next == Next::End {
            break;
        }
        if !l.cmd.paused && next == Next::More {
            next = read(l, &mut reader, &mut pacer)?;
            if next == Next::End {
                continue;
            }
        }
        match wait(l, &pacer, next, wake).await? {
            Some(n) => next = n,
            None => break,
        }
    }
    if let Some(h) = pacer.held.take() {
        l.sink.ingest(&mut l.shared, &h.frame());
    }
    // A followed file stops waiting for growth.
    stop.store(true, Ordering::Relaxed);
    let status = &mut l.shared.status;
    status.read_bytes = reader.progress_bytes();
    let outcome = reader.into_outcome();
    if let Some(e) = crate::pipeline::apply_outcome(&mut l.shared.session, &outcome) {
        status.error = Some(e);
    }
    // At the end the clock stands on the last packet (a stopped replay keeps its own).
    let last = l.shared.session.stats.last_ns;
    status.clock_ns = if l.cmd.stop { status.clock_ns.or(last) } else { last };
    Ok(())
}

/// Reads what is due, up to a batch, and tells the front end.
fn read<F: Front>(l: &mut Loop<'_, F>, reader: &mut CaptureReader, pacer: &mut Pacer) -> anyhow::Result<Next> {
    let before = l.shared.session.stats.packets;
    let next = pacer.read(reader, l);
    l.shared.status.read_bytes = reader.progress_bytes();
    if let Some(now) = pacer.clock_after_read(l.shared.session.stats.last_ns) {
        l.shared.status.clock_ns = Some(now);
    }
    l.batch_done(before)?;
    Ok(next)
}

/// Waits for whichever comes first: a command, a tick, more input, the held frame's time;
/// `None` at the `--duration` deadline.
async fn wait<F: Front>(
    l: &mut Loop<'_, F>,
    pacer: &Pacer,
    mut next: Next,
    wake: &Notify,
) -> anyhow::Result<Option<Next>> {
    let paused = l.cmd.paused;
    let waiting_input = !paused && next == Next::Input;
    let due = match next {
        Next::Until(t) if !paused => Some(t),
        _ => None,
    };
    tokio::select! {
        biased;
        c = next_command(&mut l.commands, l.cmd) => l.cmd = c,
        _ = until(l.deadline) => return Ok(None),
        _ = l.tick.tick() => {
            // A paced replay's clock moves the "now" cursor between frames.
            if let Some(now) = pacer.moving_clock() {
                l.shared.status.clock_ns = Some(now);
            }
            l.tell(Why::Tick)?;
        }
        () = wake.notified(), if waiting_input => next = Next::More,
        () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => next = Next::More,
        () = std::future::ready(()), if !paused && next == Next::More => {}
    }
    // A pause or a resume is seen at the top; a resumed replay reads again.
    if !l.cmd.paused && matches!(next, Next::Until(_)) && due.is_none() {
        next = Next::More;
    }
    Ok(Some(next))
}

/// A replay's pacing: its clock (started at the first frame, standing still while paused) and
/// the frame read ahead of it, held until its time comes.
struct Pacer {
    speed: Speed,
    paused: bool,
    clock: Option<Clock>,
    held: Option<Held>,
}

impl Pacer {
    fn new(speed: Speed, paused: bool) -> Pacer {
        Pacer { speed, paused, clock: None, held: None }
    }

    /// Stops or restarts the clock; whether that changed anything.
    fn set_paused(&mut self, paused: bool) -> bool {
        if paused == self.paused {
            return false;
        }
        if let Some(c) = self.clock.as_mut() {
            c.rebase(if paused { 0.0 } else { factor(self.speed) });
        }
        self.paused = paused;
        true
    }

    /// Capture time "now" after a read: the last packet when reading as fast as it goes, else
    /// the clock; none before the first frame.
    fn clock_after_read(&self, last_ns: Option<i64>) -> Option<i64> {
        let c = self.clock.as_ref()?;
        Some(if self.speed == Speed::Max { last_ns.unwrap_or(c.anchor_ns) } else { c.now_ns() })
    }

    /// The clock of a paced replay that is running.
    fn moving_clock(&self) -> Option<i64> {
        self.clock.as_ref().filter(|_| !(self.paused || self.speed == Speed::Max)).map(Clock::now_ns)
    }

    /// When a frame of capture time `ts_ns` is due, if not now. The first frame starts the clock.
    fn due(&mut self, ts_ns: i64) -> Option<Instant> {
        let speed = self.speed;
        let c = self.clock.get_or_insert_with(|| Clock {
            anchor_wall: Instant::now(),
            anchor_ns: ts_ns,
            speed: factor(speed),
        });
        (speed != Speed::Max && ts_ns > c.now_ns()).then(|| c.wall_at(ts_ns))
    }

    /// Ingests what is due, up to a batch.
    fn read<F: Front>(&mut self, reader: &mut CaptureReader, l: &mut Loop<'_, F>) -> Next {
        if let Some(h) = self.held.take() {
            if let Some(at) = self.due(h.ts_ns) {
                self.held = Some(h);
                return Next::Until(at);
            }
            if l.ingest(&h.frame()) {
                return Next::End;
            }
        }
        let streaming = reader.streaming();
        for _ in 0..BATCH {
            // A pipe or a growing file may have nothing yet: the loop waits for it, keys and
            // ticks meanwhile. A file on disk is read ahead and never keeps the loop long, so it
            // is not asked: asking at every frame would slow a full-speed read.
            if streaming && !reader.ready() {
                return Next::Input;
            }
            let Some(frame) = reader.next_frame() else { return Next::End };
            if let Some(at) = self.due(frame.ts_ns) {
                self.held = Some(Held::of(&frame));
                return Next::Until(at);
            }
            if l.ingest(&frame) {
                return Next::End;
            }
        }
        Next::More
    }
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

fn factor(s: Speed) -> f64 {
    match s {
        Speed::Max => f64::INFINITY,
        Speed::Factor(f) => f,
    }
}
