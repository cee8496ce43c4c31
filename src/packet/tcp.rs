//! A TCP segment as decoded from its header: numbers, flags, window, options and payload.
//! Options stay as their bytes and are read on demand ([`TcpSegment::options`]): most
//! segments' options are never looked at, and reading them would cost every packet.

/// The flag bits of the TCP header's 13th byte.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// One TCP segment, borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    /// The acknowledgement number; meaningful only with [`tcp_flags::ACK`].
    pub ack: u32,
    /// The advertised window, unscaled (the scale is in the SYN's options).
    pub window: u16,
    pub flags: u8,
    /// The option bytes between the fixed header and the payload (what the snaplen kept).
    pub option_bytes: &'a [u8],
    pub payload: &'a [u8],
    /// Payload bytes the IP header declares beyond those captured (cut by the snaplen).
    pub cut: u32,
}

impl TcpSegment<'_> {
    /// The payload's length on the wire (tshark's `tcp.len`), captured or not.
    pub fn seglen(&self) -> u32 {
        (self.payload.len() as u32).saturating_add(self.cut)
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// A SYN without ACK: the first segment of a connection (or its retransmission).
    pub fn is_syn_only(&self) -> bool {
        self.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN
    }

    /// The options this segment carries; malformed or cut ones end the reading.
    pub fn options(&self) -> TcpOptions {
        TcpOptions::parse(self.option_bytes)
    }
}

/// Left and right edge of one SACK block (RFC 2018).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SackBlock {
    pub left: u32,
    pub right: u32,
}

/// The timestamps option (RFC 7323).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timestamps {
    pub value: u32,
    pub echo_reply: u32,
}

/// At most this many SACK blocks fit in 40 bytes of options.
pub const MAX_SACK_BLOCKS: usize = 4;

/// The options of one segment that flow analysis reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    sack: [SackBlock; MAX_SACK_BLOCKS],
    sack_len: u8,
    pub timestamps: Option<Timestamps>,
    /// The options ended early: an option ran past the bytes there are, or had a length
    /// below 2.
    pub malformed: bool,
}

mod kind {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

impl TcpOptions {
    /// Reads options from `bytes` (at most 40 in a valid header; any length is read safely).
    pub fn parse(bytes: &[u8]) -> TcpOptions {
        let mut o = TcpOptions::default();
        let mut rest = bytes;
        while let Some((&k, after)) = rest.split_first() {
            match k {
                kind::END => break,
                kind::NOP => {
                    rest = after;
                    continue;
                }
                _ => {}
            }
            let len = after.first().map_or(0, |&l| usize::from(l));
            let Some(body) = rest.get(2..len).filter(|_| len >= 2) else {
                o.malformed = true;
                break;
            };
            o.read(k, body);
            rest = &rest[len..];
        }
        o
    }

    fn read(&mut self, k: u8, body: &[u8]) {
        match (k, body.len()) {
            (kind::MSS, 2) => self.mss = Some(u16::from_be_bytes([body[0], body[1]])),
            (kind::WINDOW_SCALE, 1) => self.window_scale = Some(body[0]),
            (kind::SACK_PERMITTED, 0) => self.sack_permitted = true,
            (kind::SACK, n) if n % 8 == 0 => {
                for b in body.chunks_exact(8).take(MAX_SACK_BLOCKS) {
                    self.sack[usize::from(self.sack_len)] = SackBlock { left: be32(&b[..4]), right: be32(&b[4..]) };
                    self.sack_len += 1;
                }
            }
            (kind::TIMESTAMPS, 8) => {
                self.timestamps = Some(Timestamps { value: be32(&body[..4]), echo_reply: be32(&body[4..]) });
            }
            _ => {}
        }
    }

    /// The SACK blocks, in the order the segment lists them.
    pub fn sack_blocks(&self) -> &[SackBlock] {
        &self.sack[..usize::from(self.sack_len)]
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_syn_s_options() {
        // MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
        let b = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7];
        let o = TcpOptions::parse(&b);
        assert_eq!(o.mss, Some(1460));
        assert!(o.sack_permitted);
        assert_eq!(o.timestamps, Some(Timestamps { value: 1, echo_reply: 2 }));
        assert_eq!(o.window_scale, Some(7));
        assert!(!o.malformed);
    }

    #[test]
    fn reads_sack_blocks() {
        let b = [1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40];
        let o = TcpOptions::parse(&b);
        assert_eq!(o.sack_blocks(), [SackBlock { left: 10, right: 20 }, SackBlock { left: 30, right: 40 }]);
    }

    #[test]
    fn malformed_options_end_the_reading_without_panicking() {
        for b in [&[2u8][..], &[2, 0], &[2, 1, 0], &[2, 9, 1, 2], &[5, 200, 0], &[8, 10, 0, 0]] {
            assert!(TcpOptions::parse(b).malformed, "{b:?}");
        }
        // A SACK longer than four blocks keeps four; odd lengths are skipped.
        let mut b = vec![5, 2 + 5 * 8];
        b.extend([0; 5 * 8]);
        assert_eq!(TcpOptions::parse(&b).sack_blocks().len(), MAX_SACK_BLOCKS);
        assert!(TcpOptions::parse(&[5, 5, 0, 0, 0]).sack_blocks().is_empty());
        assert_eq!(TcpOptions::parse(&[0, 2, 4, 5, 0xb4]).mss, None, "nothing after the end option");
    }
}
