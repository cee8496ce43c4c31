//! Bytes of a stream that arrive in pieces, out of order and overlapping (QUIC CRYPTO frames,
//! the first TCP segments of a TLS or HTTP exchange), held in one buffer from offset 0 up to a
//! cap; [`SeqStream`] places TCP segments in it by sequence number. The one TCP reassembler of
//! the crate: TLS and HTTP read a stream's start from it; DNS over TCP consumes what it read
//! and keeps a stricter policy over it (see `dns::DnsTcpReassembler`).
//!
//! Pure logic: no panics on any input, memory bounded by `cap`.

/// A stream split into many tiny disjoint pieces must not grow the range list (or the cost of
/// merging it) without bound.
pub(crate) const MAX_RANGES: usize = 64;

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

    /// The whole buffer, gaps included (zeros where nothing arrived).
    pub fn buf(&self) -> &[u8] {
        &self.buf
    }

    /// The whole buffer, for a reader that rewrites bytes of the prefix it has consumed in
    /// place (TLS moves handshake fragments over the record headers before them): later
    /// inserts fill only gaps, so they never write into the prefix.
    pub fn buf_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Keeps the first `len` bytes of the buffer for the caller to read and holds nothing
    /// more: the range list goes.
    pub fn keep_front(&mut self, len: usize) {
        self.buf.truncate(len);
        self.ranges = Vec::new();
    }

    /// The ranges held, for tests of the readers built on this.
    #[cfg(test)]
    pub(crate) fn ranges(&self) -> &[(usize, usize)] {
        &self.ranges
    }

    /// The buffer's allocation, for tests that check it was freed.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes that fit from offset 0.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Drops the first `n` bytes, read and done with: offsets then start `n` bytes later, and
    /// the cap bounds what is held rather than how far the stream goes.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        if n == 0 {
            return;
        }
        self.buf.drain(..n);
        self.ranges.retain_mut(|r| {
            r.0 = r.0.saturating_sub(n);
            r.1 = r.1.saturating_sub(n);
            r.1 > 0
        });
    }

    /// Holds nothing, keeping the allocations for what comes next.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ranges.clear();
    }

    /// Takes the buffer, leaving nothing held.
    pub fn take_buf(&mut self) -> Vec<u8> {
        self.ranges = Vec::new();
        std::mem::take(&mut self.buf)
    }
}

/// One TCP direction held by stream offset: the sequence number of its first byte (the SYN's
/// plus one, or else the first segment's) is offset 0.
#[derive(Clone, Debug)]
pub struct SeqStream {
    base: Option<u32>,
    held: Held,
}

impl SeqStream {
    pub fn new(base: Option<u32>, cap: usize) -> Self {
        SeqStream { base, held: Held::new(cap) }
    }

    /// The stream's first sequence number, taken from `seq` when not known yet.
    pub fn anchor(&mut self, seq: u32) -> u32 {
        *self.base.get_or_insert(seq)
    }

    /// The stream offset of `seq`: sequence space wraps, and its upper half from the base is
    /// behind it (`None`).
    pub fn offset(&self, seq: u32) -> Option<usize> {
        let rel = seq.wrapping_sub(self.base?);
        (rel < 1 << 31).then_some(rel as usize)
    }

    /// Stores one segment. Bytes behind the base (a retransmission of what came before it,
    /// or, with the base taken from a later segment, an earlier segment) are cut off.
    pub fn insert(&mut self, seq: u32, payload: &[u8]) {
        let base = self.anchor(seq);
        let rel = seq.wrapping_sub(base);
        if rel < 1 << 31 {
            self.held.insert(u64::from(rel), payload);
        } else if let Some(tail) = payload.get(rel.wrapping_neg() as usize..) {
            self.held.insert(0, tail);
        }
    }

    pub fn held(&self) -> &Held {
        &self.held
    }

    /// The sequence number right after the bytes held without a gap from the base.
    pub fn next_seq(&self) -> Option<u32> {
        Some(self.base?.wrapping_add(self.held.prefix().len() as u32))
    }

    /// Drops the first `n` bytes held (a reader that consumes the stream as it goes): the
    /// base moves past them.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.held.prefix().len());
        self.held.consume(n);
        self.base = self.base.map(|b| b.wrapping_add(n as u32));
    }

    /// Drops everything held and starts the stream again at `seq` (a reader that does not
    /// read across a gap).
    pub fn restart(&mut self, seq: u32) {
        self.held.clear();
        self.base = Some(seq);
    }

    pub fn held_mut(&mut self) -> &mut Held {
        &mut self.held
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
