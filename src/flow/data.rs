//! What the payload of a TCP flow did, as far as the flow itself reports it: retransmitted
//! segments each way and when the server last sent data. The connection's state (handshake,
//! closing) is [`super::TcpState`]; a deeper transfer analysis reads its own segments.

use crate::packet::TcpSegment;

/// The payload one side sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sent {
    /// The sequence number after the highest byte seen.
    next_seq: Option<u32>,
    /// Segments carrying only data already seen.
    retransmissions: u32,
}

impl Sent {
    fn track(&mut self, seq: u32, len: usize) {
        // Sequence space wraps: "already seen" is "ends at or before the highest end so far",
        // compared as a signed distance (RFC 1982 style), not as plain integers.
        let end = seq.wrapping_add(len as u32);
        match self.next_seq {
            Some(n) if (end.wrapping_sub(n) as i32) <= 0 => {
                self.retransmissions = self.retransmissions.saturating_add(1);
            }
            _ => self.next_seq = Some(end),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpData {
    up: Sent,
    down: Sent,
    /// Capture time of the last segment with payload from the server.
    last_payload_down_ns: Option<i64>,
}

impl TcpData {
    /// Counts one segment's payload, sent by the client when `up`, captured at `ts_ns`.
    pub fn track(&mut self, up: bool, seg: &TcpSegment<'_>, ts_ns: i64) {
        if seg.payload.is_empty() {
            return;
        }
        if up {
            self.up.track(seg.seq, seg.payload.len());
        } else {
            self.down.track(seg.seq, seg.payload.len());
            self.last_payload_down_ns = Some(ts_ns);
        }
    }

    /// Segments the client sent again.
    pub fn retransmissions_up(&self) -> u32 {
        self.up.retransmissions
    }

    /// Segments the server sent again.
    pub fn retransmissions_down(&self) -> u32 {
        self.down.retransmissions
    }

    /// Capture time of the last segment with payload from the server.
    pub fn last_payload_down_ns(&self) -> Option<i64> {
        self.last_payload_down_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u32, payload: &[u8]) -> TcpSegment<'_> {
        TcpSegment { sport: 1, dport: 2, seq, ack: 0, window: 0, flags: 0, option_bytes: &[], payload }
    }

    #[test]
    fn data_already_seen_is_a_retransmission_across_the_wrap() {
        let mut d = TcpData::default();
        let start = u32::MAX - 2;
        d.track(true, &seg(start, b"abcd"), 1);
        d.track(true, &seg(start, b"abcd"), 2);
        d.track(true, &seg(start.wrapping_add(4), b"ef"), 3);
        d.track(false, &seg(7, b"xy"), 4);
        d.track(false, &seg(9, b""), 5);
        assert_eq!((d.retransmissions_up(), d.retransmissions_down()), (1, 0));
        assert_eq!(d.last_payload_down_ns(), Some(4));
    }
}
