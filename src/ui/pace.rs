//! When the screen's picture is rebuilt. A build reads the session, so it runs on the capture
//! loop, which reads nothing meanwhile, and it costs in proportion to the flows: rebuilt too
//! often, the screen slows down the very reading it shows. (The view never waits for it: it
//! draws the last build published.)

use std::time::Duration;

/// Shortest time between two builds.
const EVERY: Duration = Duration::from_millis(200);
/// Builds take at most about this share of the time (a paced replay, a live capture).
const SHARE: u32 = 8;
/// While a file is read as fast as it goes, builds take at most about this share: what the
/// user waits for is the end, and each build before it delays it.
const LOADING_SHARE: u32 = 16;
/// Nor does a build start when the end of such a read is predicted sooner than this: the
/// build at the end comes soon, and the loading bar says how soon.
const END_NEAR: Duration = Duration::from_secs(1);

/// What the source is doing, as the pace needs it.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub finished: bool,
    /// A file read as fast as it goes (`--speed max`).
    pub loading: bool,
    /// Bytes read of the file's size.
    pub read: u64,
    pub total: Option<u64>,
    pub flows: usize,
}

#[derive(Debug, Default)]
pub struct Pace {
    /// When the last build ended, what it cost, and the flows it had.
    last: Option<(Duration, Duration, usize)>,
}

impl Pace {
    /// Whether to build now; `now` is the time since the UI started.
    pub fn due(&self, now: Duration, src: Source) -> bool {
        // The end is shown as soon as it comes, with everything read.
        if src.finished {
            return true;
        }
        let Some((at, cost, flows)) = self.last else { return true };
        let since = now.saturating_sub(at);
        if !src.loading {
            return since >= EVERY.max(cost * SHARE);
        }
        // A build costs about in proportion to the flows.
        let grown = src.flows as f64 / flows.max(1) as f64;
        let next = cost.mul_f64(grown.max(1.0));
        if since < EVERY.max(next * LOADING_SHARE) {
            return false;
        }
        match src.total {
            Some(total) if src.read > 0 && total > src.read => {
                let left = now.mul_f64((total - src.read) as f64 / src.read as f64);
                left >= END_NEAR.max(next * 2)
            }
            _ => true,
        }
    }

    /// A build ended at `now` after costing `cost`, with `flows` flows.
    pub fn built(&mut self, now: Duration, cost: Duration, flows: usize) {
        self.last = Some((now, cost, flows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn src(loading: bool, read: u64, flows: usize) -> Source {
        Source { finished: false, loading, read, total: Some(1_000), flows }
    }

    #[test]
    fn the_first_build_and_the_end_are_never_held_back() {
        let mut p = Pace::default();
        assert!(p.due(ms(0), src(true, 1, 10)));
        p.built(ms(10), ms(500), 10);
        assert!(!p.due(ms(11), src(true, 2, 10)));
        assert!(p.due(ms(11), Source { finished: true, ..src(true, 2, 10) }));
    }

    #[test]
    fn paced_sources_build_every_200_ms_or_eight_times_the_cost() {
        let mut p = Pace::default();
        p.built(ms(0), ms(5), 100);
        assert!(!p.due(ms(199), src(false, 0, 100)));
        assert!(p.due(ms(200), src(false, 0, 100)));
        p.built(ms(0), ms(50), 100);
        assert!(!p.due(ms(399), src(false, 0, 100)));
        assert!(p.due(ms(400), src(false, 0, 100)));
    }

    #[test]
    fn a_fast_read_builds_less_as_flows_grow_and_not_near_its_end() {
        let mut p = Pace::default();
        // 10 ms for 1,000 flows: at 4,000 flows the next is taken to cost 40 ms, so it waits
        // 16 x 40 ms.
        p.built(ms(100), ms(10), 1_000);
        assert!(!p.due(ms(100 + 639), src(true, 100, 4_000)));
        assert!(p.due(ms(100 + 640), src(true, 100, 4_000)));
        // Fewer flows than at the last build (evictions) do not make a build look cheaper.
        assert!(!p.due(ms(100 + 199), src(true, 100, 10)));
        assert!(p.due(ms(100 + 200), src(true, 100, 10)));
        // At 740 ms with 90% read, the end is predicted in 82 ms: wait for it.
        assert!(!p.due(ms(740), src(true, 900, 4_000)));
        // 30% read at 10 s: the end is 23 s away, and a build is due.
        assert!(p.due(ms(10_000), src(true, 300, 4_000)));
        // The size unknown: only the share holds builds back.
        assert!(p.due(ms(10_000), Source { total: None, ..src(true, 300, 4_000) }));
    }
}
