//! IPv4 and IPv6 fragment reassembly, bounded: large DNS answers (DNSSEC, long chains) arrive
//! in fragments, and only the first one carries the UDP header.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

/// The largest datagram an IP packet can carry.
const MAX_DATAGRAM: usize = 65_535;
/// Datagrams being reassembled at once; the oldest is dropped beyond this.
const MAX_PENDING: usize = 1024;
/// A datagram whose fragments are this old (capture time) is given up.
const TIMEOUT_NS: i64 = 30 * 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    /// Byte ranges held, kept sorted and merged.
    have: Vec<(usize, usize)>,
    /// Total length, known once the last fragment (more = false) was seen.
    total: Option<usize>,
    first_ns: i64,
    first_frame: u64,
}

impl Pending {
    fn contiguous(&self) -> usize {
        match self.have.first() {
            Some(&(0, end)) => end,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DefragStats {
    pub reassembled: u64,
    /// Datagrams given up (timeout, too many pending, or still incomplete at the end).
    pub incomplete: u64,
    pub overlaps: u64,
}

/// A datagram whose fragments never all arrived: what was there from its start.
#[derive(Debug)]
pub struct Partial {
    pub key: FragKey,
    pub data: Vec<u8>,
    pub first_frame: u64,
}

#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: FxHashMap<FragKey, Pending>,
    pub stats: DefragStats,
}

impl Defragmenter {
    /// Adds one fragment (`offset` in bytes). Returns the whole L4 datagram once complete.
    pub fn add(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        payload: &[u8],
        ts_ns: i64,
        frame: u64,
    ) -> Option<Vec<u8>> {
        let end = offset.checked_add(payload.len())?;
        if end > MAX_DATAGRAM {
            return None;
        }
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING {
            self.expire(ts_ns);
        }
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            data: Vec::new(),
            have: Vec::new(),
            total: None,
            first_ns: ts_ns,
            first_frame: frame,
        });
        if p.data.len() < end {
            p.data.resize(end, 0);
        }
        // The first copy of a byte wins, as for TCP segments.
        let mut overlapped = false;
        let mut pos = offset;
        while pos < end {
            let held = p.have.iter().find(|&&(s, e)| s <= pos && pos < e);
            match held {
                Some(&(_, e)) => {
                    overlapped = true;
                    pos = e.min(end);
                }
                None => {
                    let next = p.have.iter().map(|&(s, _)| s).filter(|&s| s > pos).min().unwrap_or(end).min(end);
                    p.data[pos..next].copy_from_slice(&payload[pos - offset..next - offset]);
                    pos = next;
                }
            }
        }
        if overlapped {
            self.stats.overlaps += 1;
        }
        p.have.push((offset, end));
        p.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(p.have.len());
        for &(s, e) in &p.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        p.have = merged;
        if !more {
            p.total = Some(end);
        }
        match p.total {
            Some(total) if p.contiguous() >= total => {
                let mut done = self.pending.remove(&key)?;
                done.data.truncate(total);
                self.stats.reassembled += 1;
                Some(done.data)
            }
            _ => None,
        }
    }

    /// Drops datagrams that timed out, and the oldest half when the table is still full.
    fn expire(&mut self, now_ns: i64) {
        let before = self.pending.len();
        self.pending.retain(|_, p| now_ns.saturating_sub(p.first_ns) <= TIMEOUT_NS);
        if self.pending.len() >= MAX_PENDING {
            let mut ts: Vec<i64> = self.pending.values().map(|p| p.first_ns).collect();
            let mid = ts.len() / 2;
            let (_, cut, _) = ts.select_nth_unstable(mid);
            let cut = *cut;
            self.pending.retain(|_, p| p.first_ns > cut);
        }
        self.stats.incomplete += (before - self.pending.len()) as u64;
    }

    /// At the end: the datagrams still incomplete, with what they held from their start.
    pub fn drain_incomplete(&mut self) -> Vec<Partial> {
        let mut out: Vec<Partial> = self
            .pending
            .drain()
            .map(|(key, mut p)| {
                let n = p.contiguous();
                p.data.truncate(n);
                Partial { key, data: p.data, first_frame: p.first_frame }
            })
            .collect();
        self.stats.incomplete += out.len() as u64;
        out.sort_by_key(|p| p.first_frame);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FragKey {
        FragKey { src: "10.0.0.1".parse().unwrap(), dst: "10.0.0.2".parse().unwrap(), id: 7, proto: 17 }
    }

    #[test]
    fn fragments_out_of_order_reassemble() {
        let mut d = Defragmenter::default();
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        assert_eq!(d.add(key(), 2400, false, &data[2400..], 3, 3), None);
        assert_eq!(d.add(key(), 0, true, &data[..1200], 1, 1), None);
        assert_eq!(d.add(key(), 1200, true, &data[1200..2400], 2, 2), Some(data));
        assert_eq!(d.stats.reassembled, 1);
    }

    #[test]
    fn overlap_keeps_the_first_copy() {
        let mut d = Defragmenter::default();
        d.add(key(), 0, true, &[1; 16], 1, 1);
        let out = d.add(key(), 8, false, &[2; 16], 2, 2).unwrap();
        assert_eq!(&out[..16], &[1; 16]);
        assert_eq!(&out[16..], &[2; 8]);
        assert_eq!(d.stats.overlaps, 1);
    }

    #[test]
    fn missing_fragment_leaves_the_start_for_the_end() {
        let mut d = Defragmenter::default();
        d.add(key(), 0, true, &[9; 1480], 1, 5);
        d.add(key(), 2960, false, &[9; 100], 1, 6);
        let rest = d.drain_incomplete();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].data.len(), 1480);
        assert_eq!(rest[0].first_frame, 5);
        assert_eq!(d.stats.incomplete, 1);
    }

    #[test]
    fn bounded_pending_and_size() {
        let mut d = Defragmenter::default();
        assert_eq!(d.add(key(), 65_000, true, &[0; 1000], 0, 1), None);
        assert!(d.pending.is_empty());
        for i in 0..5000u32 {
            d.add(FragKey { id: i, ..key() }, 0, true, &[0; 8], i64::from(i), 1);
        }
        assert!(d.pending.len() <= MAX_PENDING);
        assert_eq!(d.stats.incomplete as usize + d.pending.len(), 5000);
    }
}
