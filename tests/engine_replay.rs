//! The replay feeder: paced and unpaced replays read every frame, pause holds the clock.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use acrscope::cli::Speed;
use acrscope::engine::{lock, spawn_replay};
use acrscope::session::Limits;

fn capture() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/captures/scenario-b-dedicated.pcap"))
}

#[test]
fn max_speed_reads_everything_and_finishes() {
    let f = spawn_replay(capture(), Speed::Max, false, Limits::default()).unwrap();
    f.handle.join().unwrap();
    let g = lock(&f.shared);
    assert!(g.status.finished);
    assert_eq!(g.session.stats.packets, 590);
    assert_eq!(g.status.clock_ns, g.session.stats.last_ns);
    assert_eq!(g.status.read_bytes, std::fs::metadata(capture()).unwrap().len());
    assert!(f.control.generation() > 0);
}

#[test]
fn paced_replay_follows_the_recorded_clock() {
    // The capture spans about 0.4 s; at 4x it takes about 0.1 s, never less than its span / 4.
    let t0 = Instant::now();
    let f = spawn_replay(capture(), Speed::Factor(4.0), false, Limits::default()).unwrap();
    f.handle.join().unwrap();
    let took = t0.elapsed();
    let g = lock(&f.shared);
    let span = Duration::from_nanos((g.session.stats.last_ns.unwrap() - g.session.stats.first_ns.unwrap()) as u64);
    assert_eq!(g.session.stats.packets, 590);
    assert!(took >= span / 4, "took {took:?} for a span of {span:?} at 4x");
}

#[test]
fn a_paused_replay_reads_nothing_until_resumed_and_stops_when_asked() {
    let f = spawn_replay(capture(), Speed::Factor(1.0), true, Limits::default()).unwrap();
    // A paused feeder bumps the generation once per turn of its loop: three turns seen paused
    // (an event, not a time; the deadline only ends a hang) and still nothing read.
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = f.control.generation();
    while f.control.generation() < first + 3 {
        assert!(Instant::now() < deadline, "the paused feeder did not turn its loop in 10 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(lock(&f.shared).session.stats.packets, 0);
    assert!(lock(&f.shared).status.paused);
    f.control.paused.store(false, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while lock(&f.shared).session.stats.packets == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(lock(&f.shared).session.stats.packets > 0);
    f.control.stop.store(true, Ordering::Relaxed);
    f.handle.join().unwrap();
    assert!(lock(&f.shared).status.finished);
}

#[test]
fn the_end_of_the_source_is_announced_once_with_everything_read() {
    let f = spawn_replay(capture(), Speed::Max, true, Limits::default()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = f.shared.clone();
    f.control.on_end(move || {
        // Called after the session is complete and unlocked: the view can take it at once.
        let g = lock(&shared);
        let _ = tx.send((g.status.finished, g.session.stats.packets));
    });
    f.control.paused.store(false, Ordering::Relaxed);
    let got = rx.recv_timeout(Duration::from_secs(20)).expect("on_end was not called");
    assert_eq!(got, (true, 590));
    f.handle.join().unwrap();
    assert!(rx.try_recv().is_err(), "on_end called more than once");
}
