//! Each metric with segments built by hand, times in milliseconds from the first SYN.

use super::*;
use crate::packet::tcp_flags::{ACK, FIN, RST, SYN};

const MS: i64 = 1_000_000;
/// SYN options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
const SYN_OPTIONS: [u8; 20] = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
/// SYN-ACK options: MSS 1400, window scale 2.
const SYN_ACK_OPTIONS: [u8; 8] = [2, 4, 5, 0x78, 1, 3, 3, 2];

/// One segment's header and its payload length (the bytes themselves do not matter here).
#[derive(Clone, Copy)]
struct Seg {
    up: bool,
    seq: u32,
    ack: u32,
    window: u16,
    flags: u8,
    len: usize,
    options: &'static [u8],
}

fn up(seq: u32, ack: u32, len: usize) -> Seg {
    Seg { up: true, seq, ack, window: 1000, flags: ACK, len, options: &[] }
}

fn down(seq: u32, ack: u32, len: usize) -> Seg {
    Seg { up: false, seq, ack, window: 1000, flags: ACK, len, options: &[] }
}

impl Seg {
    fn window(self, window: u16) -> Seg {
        Seg { window, ..self }
    }

    fn flags(self, flags: u8) -> Seg {
        Seg { flags, ..self }
    }
}

/// The client's ISN is `c`, the server's `s`; the handshake takes 40 ms (SYN at 0, SYN-ACK at
/// 40, ACK at 40).
fn handshake(c: u32, s: u32) -> Vec<(i64, Seg)> {
    vec![
        (0, Seg { up: true, seq: c, ack: 0, window: 64240, flags: SYN, len: 0, options: &SYN_OPTIONS }),
        (
            40,
            Seg {
                up: false,
                seq: s,
                ack: c.wrapping_add(1),
                window: 65160,
                flags: SYN | ACK,
                len: 0,
                options: &SYN_ACK_OPTIONS,
            },
        ),
        (40, up(c.wrapping_add(1), s.wrapping_add(1), 0)),
    ]
}

fn run(segments: &[(i64, Seg)]) -> TransferMetrics {
    let mut t = Transfer::default();
    feed(&mut t, segments);
    t.metrics
}

fn feed(t: &mut Transfer, segments: &[(i64, Seg)]) {
    let payload = vec![0u8; 4096];
    for &(ms, s) in segments {
        let seg = TcpSegment {
            sport: 1,
            dport: 2,
            seq: s.seq,
            ack: s.ack,
            window: s.window,
            flags: s.flags,
            option_bytes: s.options,
            payload: &payload[..s.len],
            cut: 0,
        };
        t.track(s.up, &seg, ms * MS, false);
    }
}

/// A handshake, a request of 100 bytes at 41 ms, then the server's segments of 1000 bytes
/// from its first data byte, each given as (time, index of the 1000-byte block).
fn download(blocks: &[(i64, u32)]) -> Vec<(i64, Seg)> {
    let (c, s) = (1000, 5000);
    let mut v = handshake(c, s);
    v.push((41, up(c + 1, s + 1, 100)));
    for &(ms, k) in blocks {
        v.push((ms, down(s + 1 + 1000 * k, c + 101, 1000)));
    }
    v
}

#[test]
fn syn_options_give_the_mss_and_the_handshake_the_round_trip() {
    let m = run(&download(&[(90, 0)]));
    assert_eq!((m.mss_up(), m.mss_down()), (Some(1460), Some(1400)));
    assert_eq!(m.max_segment_down, 1000);
    assert_eq!(m.ttfb_ns(), Some(49 * MS));
    assert_eq!(m.goodput_down_bps(), None, "one data segment gives no rate");
}

#[test]
fn a_segment_sent_again_is_a_retransmission() {
    let m = run(&download(&[(90, 0), (91, 1), (400, 1), (401, 2)]));
    assert_eq!(m.retransmissions_down, 1);
    assert_eq!((m.lost_segments_down, m.out_of_order_down), (0, 0));
    // Goodput leaves the copy out: 3000 bytes from 90 to 401 ms.
    let bps = m.goodput_down_bps().unwrap();
    assert!((bps - 3000.0 * 8.0 / 0.311).abs() < 1.0, "{bps}");
}

#[test]
fn a_lost_segment_then_its_late_copy() {
    // Block 1 never reaches the capture point; block 2 shows the hole; the copy of block 1
    // comes long after (a retransmission, not out of order).
    let m = run(&download(&[(90, 0), (91, 2), (500, 1), (501, 3)]));
    assert_eq!(m.lost_segments_down, 1);
    assert_eq!(m.retransmissions_down, 1);
    assert_eq!(m.out_of_order_down, 0);
}

#[test]
fn a_segment_filling_a_fresh_gap_is_out_of_order() {
    // Block 1 arrives 2 ms after block 2, well within the 40 ms round trip.
    let m = run(&download(&[(90, 0), (91, 2), (93, 1), (94, 3)]));
    assert_eq!((m.lost_segments_down, m.out_of_order_down, m.retransmissions_down), (1, 1, 0));
}

#[test]
fn resends_after_duplicate_acks_are_fast_retransmissions() {
    let (c, s) = (1000u32, 5000u32);
    let mut v = handshake(c, s);
    v.push((41, up(c + 1, s + 1, 100)));
    v.push((90, down(s + 1, c + 101, 1000)));
    v.push((91, down(s + 2001, c + 101, 1000)));
    // The client acks block 0 three times (two duplicates), then block 1 comes again.
    for ms in [130, 131, 132] {
        v.push((ms, up(c + 101, s + 1001, 0)));
    }
    v.push((140, down(s + 1001, c + 101, 1000)));
    let m = run(&v);
    assert_eq!((m.lost_segments_down, m.retransmissions_down), (1, 1));
}

#[test]
fn zero_windows_each_way_and_the_window_update_after() {
    let (c, s) = (1000u32, 5000u32);
    let mut v = handshake(c, s);
    v.push((41, up(c + 1, s + 1, 100)));
    v.push((90, down(s + 1, c + 101, 1000)));
    v.push((91, up(c + 101, s + 1001, 0).window(0)));
    v.push((95, up(c + 101, s + 1001, 0).window(0)));
    v.push((300, up(c + 101, s + 1001, 0).window(500)));
    v.push((301, down(s + 1001, c + 101, 0).window(0)));
    // A RST with a zero window is not a zero window.
    v.push((302, up(c + 101, s + 1001, 0).window(0).flags(RST | ACK)));
    let m = run(&v);
    assert_eq!((m.zero_windows_up, m.zero_windows_down), (2, 1));
    assert_eq!(m.retransmissions_down + m.retransmissions_up, 0);
}

#[test]
fn a_segment_reaching_the_client_s_scaled_window_is_window_full() {
    let (c, s) = (1000u32, 5000u32);
    let mut v = handshake(c, s);
    // The client advertises 16 << 7 = 2048 bytes from s + 1.
    v.push((41, up(c + 1, s + 1, 100).window(16)));
    v.push((90, down(s + 1, c + 101, 1000)));
    v.push((91, down(s + 1001, c + 101, 1048)));
    let m = run(&v);
    assert_eq!(m.window_full_down, 1);
    // Without the client's window scale option, 16 bytes are the window: no segment ends there.
    let mut plain = v.clone();
    plain[0].1.options = &[2, 4, 5, 0xb4];
    assert_eq!(run(&plain).window_full_down, 0);
}

#[test]
fn the_longest_gap_is_between_data_segments_only() {
    let (c, s) = (1000u32, 5000u32);
    let mut v = download(&[(90, 0), (100, 1)]);
    v.push((2000, down(s + 2001, c + 101, 0)));
    v.push((3100, down(s + 2001, c + 101, 1000)));
    v.push((3105, down(s + 3001, c + 101, 0).flags(FIN | ACK)));
    let m = run(&v);
    assert_eq!(m.max_gap_down_ns(), Some(3000 * MS));
    assert_eq!(m.last_data_down_ns(), Some(3100 * MS));
}

#[test]
fn sequence_numbers_wrap_at_two_to_the_32() {
    // The server's first data byte is 2^32 - 1500: its second segment wraps past zero.
    let (c, s) = (1000u32, u32::MAX - 1500);
    let mut v = handshake(c, s);
    v.push((41, up(c + 1, s.wrapping_add(1), 100)));
    for (ms, k) in [(90, 0u32), (91, 1), (92, 1), (93, 3), (94, 2)] {
        v.push((ms, down(s.wrapping_add(1 + 1000 * k), c + 101, 1000)));
    }
    let m = run(&v);
    assert_eq!(m.retransmissions_down, 1, "block 1 again");
    assert_eq!((m.lost_segments_down, m.out_of_order_down), (1, 1), "block 3 before block 2");
}

#[test]
fn a_retried_syn_does_not_count_as_data_and_the_mss_comes_from_the_first() {
    let (c, s) = (1000u32, 5000u32);
    let mut v = handshake(c, s);
    let retry = (1000, v[0].1);
    v.insert(1, retry);
    v[2].0 = 1040;
    v[3].0 = 1040;
    let m = run(&v);
    assert_eq!(m.mss_up(), Some(1460));
    assert_eq!(m.retransmissions_up, 1, "tshark marks a repeated SYN a retransmission");
    assert_eq!(m.retransmissions_down, 0);
}

/// Every TCP flow carries one: growing it is a decision this test makes visible (a capture of
/// 200,000 flows pays 200,000 times).
#[test]
fn a_transfer_stays_within_its_size() {
    assert!(std::mem::size_of::<Transfer>() <= 120, "Transfer: {} bytes", std::mem::size_of::<Transfer>());
}

#[test]
fn settling_keeps_what_the_views_read_and_counts_nothing_after() {
    let mut t = Transfer::default();
    // The server's second block never comes: the client's acknowledgements wait on a hole.
    let mut segs = download(&[(50, 0), (52, 2)]);
    segs.push((53, up(1101, 5001 + 1000, 0)));
    feed(&mut t, &segs);
    let (owed, acked) = (t.owed(), t.client_data_acked());
    assert_eq!(owed, Owed::RestOfBody);
    assert_eq!(acked, Some(true));
    t.settle();
    assert_eq!((t.owed(), t.client_data_acked()), (owed, acked), "settle keeps the answers");
    let before = t.metrics;
    feed(&mut t, &download(&[(60, 3)])[3..]);
    assert_eq!(format!("{:?}", t.metrics), format!("{before:?}"), "a settled flow counts no more segments");
}

#[test]
fn an_answer_owed_keeps_its_time_after_settling() {
    let mut t = Transfer::default();
    // The server's block, then a second request of the client that gets nothing back.
    let mut segs = download(&[(50, 0)]);
    segs.push((60, up(1101, 6001, 50)));
    feed(&mut t, &segs);
    assert_eq!(t.owed(), Owed::Answer(60 * MS));
    t.settle();
    assert_eq!(t.owed(), Owed::Answer(60 * MS));
}
