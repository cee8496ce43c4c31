//! The server's TLS record boundaries, followed through its byte stream: a transfer that went
//! silent in the middle of a record was cut short (the client was still owed the rest), one
//! that went silent at a record's end may simply have finished. Only the 5-byte headers are
//! read, so the state is a few numbers whatever the flow carries.

/// TLS record types a server sends: change_cipher_spec, alert, handshake, application_data,
/// heartbeat.
const RECORD_TYPES: std::ops::RangeInclusive<u8> = 20..=24;
/// The largest record body TLS allows (2^14 plus the expansion TLS 1.2 permits).
const MAX_RECORD: u32 = (1 << 14) + 2048;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// No SYN-ACK seen: where the stream starts is not known.
    #[default]
    Unknown,
    /// Following: every byte since the SYN-ACK was seen, in order.
    Following,
    /// A hole, a cut payload or something not TLS: the boundaries are lost for good.
    Lost,
}

/// Where the server's stream stands against its records.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Records {
    state: State,
    /// Sequence number of the next byte expected.
    next: u32,
    /// Header bytes of the next record read so far (0 to 4), and its length's bytes.
    header: u8,
    length: [u8; 2],
    /// Body bytes of the current record still to come.
    remaining: u32,
}

impl Records {
    /// The server's SYN-ACK: its first data byte comes at `isn + 1`.
    pub(super) fn start(&mut self, isn: u32) {
        if self.state == State::Unknown {
            *self = Records { state: State::Following, next: isn.wrapping_add(1), ..Records::default() };
        }
    }

    /// A server segment of `len` payload bytes (as the IP header declares them) starting at
    /// `seq`, of which `payload` was captured.
    pub(super) fn feed(&mut self, seq: u32, len: u32, payload: &[u8]) {
        if self.state != State::Following || len == 0 {
            return;
        }
        let ahead = seq.wrapping_sub(self.next) as i32;
        if ahead > 0 {
            self.state = State::Lost;
            return;
        }
        let skip = ahead.unsigned_abs();
        if skip >= len {
            return;
        }
        if payload.len() < len as usize {
            self.state = State::Lost;
            return;
        }
        self.next = seq.wrapping_add(len);
        self.consume(&payload[skip as usize..]);
    }

    fn consume(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let n = bytes.len().min(self.remaining as usize);
                self.remaining -= n as u32;
                bytes = &bytes[n..];
                continue;
            }
            let b = bytes[0];
            bytes = &bytes[1..];
            match self.header {
                0 if !RECORD_TYPES.contains(&b) => {
                    self.state = State::Lost;
                    return;
                }
                3 | 4 => self.length[usize::from(self.header) - 3] = b,
                _ => {}
            }
            self.header += 1;
            if self.header == 5 {
                self.header = 0;
                self.remaining = u32::from(u16::from_be_bytes(self.length));
                if self.remaining > MAX_RECORD {
                    self.state = State::Lost;
                    return;
                }
            }
        }
    }

    /// Whether the last byte that arrived ended a record: `Some(false)` when the stream stopped
    /// inside one, `None` when the boundaries are not known.
    pub(super) fn at_boundary(&self) -> Option<bool> {
        (self.state == State::Following).then_some(self.header == 0 && self.remaining == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u8, len: u16) -> Vec<u8> {
        let mut r = vec![kind, 3, 3, (len >> 8) as u8, len as u8];
        r.resize(5 + usize::from(len), 0xaa);
        r
    }

    #[test]
    fn a_stream_cut_inside_a_record_is_not_at_a_boundary() {
        let mut r = Records::default();
        assert_eq!(r.at_boundary(), None, "no SYN-ACK: unknown");
        r.start(999);
        let mut stream = record(22, 90);
        stream.extend(record(23, 3000));
        // Split across segments at awkward places, header bytes included.
        let (a, b) = stream.split_at(97);
        r.feed(1000, a.len() as u32, a);
        assert_eq!(r.at_boundary(), Some(false), "two header bytes of the second record read");
        let b1 = &b[..1000];
        r.feed(1097, b1.len() as u32, b1);
        assert_eq!(r.at_boundary(), Some(false));
        // A retransmission of what was seen changes nothing; one overlapping the edge adds the rest.
        r.feed(1097, b1.len() as u32, b1);
        let overlap = &stream[1000..];
        r.feed(1000 + 1000, overlap.len() as u32, overlap);
        assert_eq!(r.at_boundary(), Some(true));
    }

    #[test]
    fn a_hole_a_cut_payload_or_a_bad_header_loses_the_boundaries() {
        let rec = record(23, 10);
        let mut r = Records::default();
        r.start(0);
        r.feed(5, rec.len() as u32, &rec);
        assert_eq!(r.at_boundary(), None, "a hole before it");
        let mut r = Records::default();
        r.start(0);
        r.feed(1, rec.len() as u32 + 5, &rec);
        assert_eq!(r.at_boundary(), None, "the capture holds less than the segment");
        let mut r = Records::default();
        r.start(0);
        r.feed(1, 3, b"GET");
        assert_eq!(r.at_boundary(), None, "not TLS");
        let mut r = Records::default();
        r.start(0);
        r.feed(1, rec.len() as u32, &rec);
        assert_eq!(r.at_boundary(), Some(true));
    }
}
