//! The replay side of the capture loop: paced and unpaced replays read every frame, pause
//! holds the clock, the end is published once with everything read.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use acrscope::engine::Speed;
use acrscope::engine::{spawn, Options, Running, Source};
use acrscope::session::Limits;

fn capture() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/captures/scenario-b-dedicated.pcap"))
}

fn start(speed: Speed, paused: bool) -> Running {
    let source = Source::open(capture(), speed, false).unwrap();
    spawn(source, Limits::default(), paused, Options::default(), ()).unwrap()
}

#[test]
fn max_speed_reads_everything_and_finishes() {
    let r = start(Speed::Max, false);
    let progress = r.progress.clone();
    let s = r.wait().unwrap();
    assert!(s.status.finished);
    assert_eq!(s.session.stats.packets, 590);
    assert_eq!(s.status.clock_ns, s.session.stats.last_ns);
    assert_eq!(s.status.read_bytes, std::fs::metadata(capture()).unwrap().len());
    // The last thing published is the end, with every packet.
    let last = progress.borrow().clone();
    assert!(last.status.finished);
    assert_eq!(last.packets, 590);
}

#[test]
fn paced_replay_follows_the_recorded_clock() {
    // The capture spans about 0.4 s; at 4x it takes about 0.1 s, never less than its span / 4.
    let t0 = Instant::now();
    let s = start(Speed::Factor(4.0), false).wait().unwrap();
    let took = t0.elapsed();
    let span = Duration::from_nanos((s.session.stats.last_ns.unwrap() - s.session.stats.first_ns.unwrap()) as u64);
    assert_eq!(s.session.stats.packets, 590);
    assert!(took >= span / 4, "took {took:?} for a span of {span:?} at 4x");
}

#[test]
fn a_paused_replay_reads_nothing_until_resumed_and_stops_when_asked() {
    let r = start(Speed::Factor(1.0), true);
    let p = common::wait_for_progress(&r, "the paused state", |p| p.status.paused);
    assert_eq!(p.packets, 0, "read while paused");
    r.set_paused(false);
    let p = common::wait_for_progress(&r, "packets", |p| p.packets > 0);
    assert!(!p.status.paused);
    let s = r.finish().unwrap();
    assert!(s.status.finished);
    assert!(s.session.stats.packets > 0);
}

#[test]
fn the_end_of_the_source_is_published_once_with_everything_read() {
    let r = start(Speed::Max, true);
    let mut rx = r.progress.clone();
    r.set_paused(false);
    let p = common::wait_for_progress(&r, "the end", |p| p.status.finished);
    assert_eq!(p.packets, 590);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        rx.wait_for(|p| p.status.finished).await.unwrap();
        // Nothing after the end: the next change is the channel closing.
        assert!(rx.changed().await.is_err(), "published again after the end");
    });
    r.wait().unwrap();
}
