//! Packets the capture itself lost (its kernel ring was full), and when: libpcap's drop counter
//! is read at each tick of a live capture, and each rise is kept with the interval it happened
//! in. A flow's gaps can then be told apart: a segment missing while the capture dropped
//! packets may be the capture's loss, not the path's.

/// Rises kept at most; beyond, neighbours merge (coarser times, the same totals).
const MAX_RISES: usize = 4096;

/// `drops` packets lost between two reads of the counter, at `since_ns` and `at_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rise {
    since_ns: i64,
    at_ns: i64,
    drops: u64,
}

#[derive(Debug, Clone, Default)]
pub struct CaptureDrops {
    rises: Vec<Rise>,
    /// The last read: when, and the counter then. `None` until the first (never, from a file).
    last: Option<(i64, u64)>,
}

impl CaptureDrops {
    /// The counter read at capture time `now_ns` (it only grows; a smaller value is a counter
    /// that restarted, taken as the new base).
    pub fn read(&mut self, now_ns: i64, total: u64) {
        if let Some((since_ns, before)) = self.last {
            if total > before {
                self.rises.push(Rise { since_ns, at_ns: now_ns.max(since_ns), drops: total - before });
                if self.rises.len() > MAX_RISES {
                    self.merge();
                }
            }
        }
        self.last = Some((now_ns, total));
    }

    fn merge(&mut self) {
        let merged = self
            .rises
            .chunks(2)
            .map(|c| {
                let (a, b) = (c[0], c[c.len() - 1]);
                Rise { since_ns: a.since_ns, at_ns: b.at_ns, drops: c.iter().map(|r| r.drops).sum() }
            })
            .collect();
        self.rises = merged;
    }

    /// Whether the counter was ever read: a live capture's, not a file's.
    pub fn known(&self) -> bool {
        self.last.is_some()
    }

    /// Packets the capture dropped while something lasted, from `first_ns` to `last_ns`: every
    /// rise whose interval overlaps it (a rise is only known to within one tick, so this errs
    /// towards counting); `None` from a file.
    pub fn during(&self, first_ns: i64, last_ns: i64) -> Option<u64> {
        if !self.known() {
            return None;
        }
        // The rises come in time order: those that ended before the flow began are skipped
        // in one search.
        let from = self.rises.partition_point(|r| r.at_ns < first_ns);
        Some(self.rises[from..].iter().take_while(|r| r.since_ns <= last_ns).map(|r| r.drops).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn drops_count_for_what_lasted_while_they_happened() {
        let mut d = CaptureDrops::default();
        assert_eq!(d.during(0, 10 * S), None, "a file knows nothing of drops");
        d.read(0, 0);
        d.read(S, 0);
        d.read(2 * S, 5);
        d.read(3 * S, 5);
        d.read(4 * S, 12);
        assert_eq!(d.during(0, S / 2), Some(0), "over before the drops");
        assert_eq!(d.during(S + S / 2, S + S / 2), Some(5), "within the tick of the first rise");
        assert_eq!(d.during(S / 2, 10 * S), Some(12));
        assert_eq!(d.during(3 * S + 1, 3 * S + 2), Some(7));
        assert_eq!(d.during(5 * S, 6 * S), Some(0), "after the last rise");
    }

    #[test]
    fn the_record_stays_bounded_and_keeps_the_totals() {
        let mut d = CaptureDrops::default();
        for i in 0..3 * MAX_RISES as i64 {
            d.read(i * S, i as u64);
        }
        assert!(d.rises.len() <= MAX_RISES, "{}", d.rises.len());
        let all = 3 * MAX_RISES as u64 - 1;
        assert_eq!(d.during(0, i64::MAX), Some(all));
        assert!(d.rises.windows(2).all(|w| w[0].at_ns <= w[1].since_ns), "still in time order");
    }

    #[test]
    fn a_counter_that_restarts_is_a_new_base() {
        let mut d = CaptureDrops::default();
        d.read(0, 100);
        d.read(S, 3);
        d.read(2 * S, 4);
        assert_eq!(d.during(0, 3 * S), Some(1));
    }
}
