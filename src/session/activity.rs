//! Bytes per time slice of one flow, for the timeline's bars: a fixed number of bins whose
//! width doubles (merging neighbours) when a packet falls past the last one, so a flow's
//! history costs the same few hundred bytes whether it lasts a millisecond or a day.

/// Bins per flow.
pub const BINS: usize = 48;
/// Width of a bin when a flow starts: fine enough for the millisecond exchanges of a pull.
const FIRST_BIN_NS: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub start_ns: i64,
    pub bin_ns: i64,
    pub bins: [u32; BINS],
}

impl Activity {
    pub fn new(start_ns: i64) -> Activity {
        Activity { start_ns, bin_ns: FIRST_BIN_NS, bins: [0; BINS] }
    }

    /// Counts `bytes` (wire bytes of a packet) at `ts_ns`; earlier times land in the first bin.
    pub fn add(&mut self, ts_ns: i64, bytes: u32) {
        let mut at = ts_ns.saturating_sub(self.start_ns).max(0) / self.bin_ns;
        while at >= BINS as i64 {
            self.widen();
            at = ts_ns.saturating_sub(self.start_ns).max(0) / self.bin_ns;
        }
        let b = &mut self.bins[at as usize];
        *b = b.saturating_add(bytes);
    }

    fn widen(&mut self) {
        for i in 0..BINS / 2 {
            self.bins[i] = self.bins[2 * i].saturating_add(self.bins[2 * i + 1]);
        }
        self.bins[BINS / 2..].fill(0);
        self.bin_ns = self.bin_ns.saturating_mul(2);
    }

    /// Bytes falling in `[from_ns, to_ns)`, sharing a bin's bytes in proportion to the overlap.
    pub fn bytes_between(&self, from_ns: i64, to_ns: i64) -> f64 {
        if to_ns <= from_ns {
            return 0.0;
        }
        let mut sum = 0.0;
        for (i, &b) in self.bins.iter().enumerate() {
            if b == 0 {
                continue;
            }
            let s = self.start_ns + i as i64 * self.bin_ns;
            let e = s + self.bin_ns;
            let overlap = (e.min(to_ns) - s.max(from_ns)).max(0);
            if overlap > 0 {
                sum += f64::from(b) * overlap as f64 / self.bin_ns as f64;
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_widen_and_keep_every_byte() {
        let mut a = Activity::new(0);
        a.add(0, 100);
        a.add(500_000, 50);
        a.add(10 * 1_000_000_000, 7); // ten seconds later: many doublings
        assert_eq!(a.bins.iter().map(|&b| u64::from(b)).sum::<u64>(), 157);
        assert!(a.bin_ns * BINS as i64 > 10 * 1_000_000_000);
        let whole = a.bytes_between(0, a.bin_ns * BINS as i64);
        assert!((whole - 157.0).abs() < 1e-6);
        assert!((a.bytes_between(0, a.bin_ns) - 150.0).abs() < 1e-6);
    }
}
