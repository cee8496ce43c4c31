//! Bytes of a stream that arrive in pieces, out of order and overlapping (QUIC CRYPTO frames,
//! the first TCP segments of an HTTP exchange), held in one buffer from offset 0 up to a cap.
//!
//! Pure logic: no panics on any input, memory bounded by `cap`.

/// A stream split into many tiny disjoint pieces must not grow the range list (or the cost of
/// merging it) without bound.
const MAX_RANGES: usize = 64;

#[derive(Clone, Default)]
pub struct Held {
    cap: usize,
    buf: Vec<u8>,
    /// Sorted, disjoint, non-touching `[start, end)` offsets present in `buf`.
    ranges: Vec<(usize, usize)>,
    /// Bytes offered beyond the cap, or dropped because the range list was full.
    dropped: u64,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").field("cap", &self.cap).field("ranges", &self.ranges).finish_non_exhaustive()
    }
}

impl Held {
    pub fn new(cap: usize) -> Self {
        Held { cap, ..Held::default() }
    }

    /// Stores `data` at stream offset `start`; the first copy of a byte wins (a retransmission
    /// with other bytes does not rewrite what was read). Whatever lies beyond the cap is dropped.
    pub fn insert(&mut self, start: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let Ok(start) = usize::try_from(start) else {
            self.dropped += data.len() as u64;
            return;
        };
        if start >= self.cap {
            self.dropped += data.len() as u64;
            return;
        }
        let end = start.saturating_add(data.len()).min(self.cap);
        self.dropped += (data.len() - (end - start)) as u64;
        let data = &data[..end - start];
        let touches = self.ranges.iter().any(|&(s, e)| s <= end && start <= e);
        if !touches && self.ranges.len() >= MAX_RANGES {
            self.dropped += data.len() as u64;
            return;
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        let mut at = start;
        for &(s, e) in &self.ranges {
            if e <= at {
                continue;
            }
            if s >= end {
                break;
            }
            if s > at {
                self.buf[at..s].copy_from_slice(&data[at - start..s - start]);
            }
            at = e;
            if at >= end {
                break;
            }
        }
        if at < end {
            self.buf[at..end].copy_from_slice(&data[at - start..]);
        }
        self.ranges.push((start, end));
        self.ranges.sort_unstable_by_key(|r| r.0);
        let mut w = 0;
        for i in 1..self.ranges.len() {
            let (s, e) = self.ranges[i];
            if s <= self.ranges[w].1 {
                self.ranges[w].1 = self.ranges[w].1.max(e);
            } else {
                w += 1;
                self.ranges[w] = (s, e);
            }
        }
        self.ranges.truncate(w + 1);
    }

    /// The bytes held without a gap from offset 0.
    pub fn prefix(&self) -> &[u8] {
        match self.ranges.first() {
            Some(&(0, end)) => &self.buf[..end],
            _ => &[],
        }
    }

    /// Whether some bytes are held.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether nothing more fits: the prefix reaches the cap.
    pub fn is_full(&self) -> bool {
        self.prefix().len() >= self.cap
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Frees the buffer (the state stays readable as empty).
    pub fn release(&mut self) {
        self.buf = Vec::new();
        self.ranges = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_overlapping_pieces_make_one_prefix() {
        let mut h = Held::new(16);
        h.insert(4, b"efgh");
        assert_eq!(h.prefix(), b"");
        h.insert(0, b"abcd");
        assert_eq!(h.prefix(), b"abcdefgh");
        // An overlap keeps the first copy.
        h.insert(2, b"XXXXXXij");
        assert_eq!(h.prefix(), b"abcdefghij");
        // Beyond the cap: cut and counted.
        h.insert(12, b"mnopqrst");
        assert_eq!(h.dropped(), 4);
        assert!(!h.is_full());
        h.insert(10, b"kl");
        assert_eq!(h.prefix(), b"abcdefghijklmnop");
        assert!(h.is_full());
    }

    #[test]
    fn range_list_is_bounded() {
        let mut h = Held::new(1 << 20);
        for i in 0..1000u64 {
            h.insert(i * 10 + 5, b"x");
        }
        assert!(h.ranges.len() <= MAX_RANGES);
        assert!(h.dropped() > 0);
    }
}
