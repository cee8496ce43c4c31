//! The live loop: frames as libpcap hands them over, the wall clock for "now".

use crate::capture::live::{LiveError, LiveSource, LiveStream};

use super::turn::{next_command, until, Loop};
use super::{Front, Why, BATCH};

/// Captures until a stop command, `--duration`, `--count` or a capture error.
pub(super) async fn run<F: Front>(l: &mut Loop<'_, F>, src: LiveSource) -> anyhow::Result<()> {
    let mut live = src.into_stream()?;
    if let Some(d) = live.drops() {
        // The base the drops of every flow are counted from.
        l.shared.session.capture_drops.read(crate::output::time::now_ns(), d.kernel);
    }
    let mut ended = false;
    while !l.cmd.stop && !ended {
        tokio::select! {
            biased;
            c = next_command(&mut l.commands, l.cmd) => l.cmd = c,
            _ = until(l.deadline) => break,
            _ = l.tick.tick() => tick(l, &mut live)?,
            r = live.read(BATCH) => ended = batch(l, &live, r)?,
        }
    }
    if let Some(d) = live.drops() {
        l.shared.status.set_drops(d);
        let now = crate::output::time::now_ns();
        l.shared.session.capture_drops.read(now, d.kernel);
    }
    l.sink.flush(&mut l.shared);
    Ok(())
}

/// The clock moves, drop counters are read, idle flows age out, the `--write` file is flushed.
fn tick<F: Front>(l: &mut Loop<'_, F>, live: &mut LiveStream) -> anyhow::Result<()> {
    let now = crate::output::time::now_ns();
    let status = &mut l.shared.status;
    status.clock_ns = Some(now);
    status.start_ns.get_or_insert(now);
    let drops = live.drops();
    if let Some(d) = drops {
        status.set_drops(d);
    }
    // One aging clock: the later of the wall clock and the last packet, so idle flows age out
    // even when nothing arrives.
    let session = &mut l.shared.session;
    if let Some(d) = drops {
        session.capture_drops.read(now, d.kernel);
    }
    session.stats.clock_ns = Some(now);
    session.age_out(session.stats.last_ns.map_or(now, |last| last.max(now)));
    l.sink.flush(&mut l.shared);
    l.tell(Why::Tick)
}

/// Ingests what one read brought; whether the capture ended (its error, or `--count`).
fn batch<F: Front>(l: &mut Loop<'_, F>, live: &LiveStream, read: Result<(), LiveError>) -> anyhow::Result<bool> {
    let mut ended = false;
    if let Err(e) = read {
        // The interface went away or the capture failed: keep what was read.
        let e = e.to_string();
        l.shared.session.warn("capture-failed", None, None, e.clone());
        l.shared.status.error = Some(e);
        ended = true;
    }
    let before = l.shared.session.stats.packets;
    let mut frames = live.frames();
    for i in 0..frames.len() {
        if l.ingest(&frames.frame(i)) {
            ended = true;
            break;
        }
    }
    frames.clear();
    drop(frames);
    if l.shared.session.stats.packets != before {
        l.shared.status.clock_ns = Some(crate::output::time::now_ns());
    }
    l.batch_done(before).map(|()| ended)
}
