//! How each TCP transfer went, as Wireshark's TCP analysis (`tcp.analysis.*` of tshark 4.0)
//! counts it from the capture point: retransmissions, lost and out-of-order segments, zero
//! and full windows, the longest silence, goodput, MSS and the time to the first byte.
//!
//! The classification follows `tcp_analyze_sequence_number` of Wireshark's packet-tcp.c step
//! by step (same order, same tests), because users compare our counts with what Wireshark
//! shows them, and a second opinion on "what is a retransmission" would only confuse. It keeps
//! a few numbers per direction and never a per-segment history, so its memory per flow is
//! fixed ([`Transfer`] is boxed on the TCP flows only).

use crate::packet::{tcp_flags, TcpSegment};

use super::tracker::{Cx, Pass, Segment, Tracker};
use crate::compact::Ns;

mod records;

/// Out-of-order threshold when no handshake gave a round trip (Wireshark's 3 ms).
const DEFAULT_OOO_NS: i64 = 3_000_000;
/// A resend within this time of the other side's duplicate ACKs is a fast retransmission.
const FAST_RETRANSMISSION_NS: i64 = 20_000_000;
/// Largest window scale shift (RFC 7323).
const MAX_WINDOW_SHIFT: u8 = 14;

/// What the wire told about a direction's window scaling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Scale {
    /// No SYN seen from this side: the advertised windows cannot be read.
    #[default]
    Unknown,
    /// The handshake set no scaling (a SYN without the option): windows are as sent.
    Off,
    /// Windows from this side are shifted left by this much.
    Shift(u8),
}

impl Scale {
    fn shift(self) -> u32 {
        match self {
            Scale::Shift(s) => u32::from(s),
            _ => 0,
        }
    }
}

/// What a segment was found to be (Wireshark's `TCP_A_*` flags, the ones the metrics read or
/// the classification depends on).
mod mark {
    pub const RETRANSMISSION: u16 = 1 << 0;
    pub const FAST_RETRANSMISSION: u16 = 1 << 1;
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 2;
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    pub const LOST_SEGMENT: u16 = 1 << 4;
    pub const ZERO_WINDOW: u16 = 1 << 5;
    pub const WINDOW_FULL: u16 = 1 << 6;
    pub const KEEP_ALIVE: u16 = 1 << 7;
    pub const ZERO_WINDOW_PROBE: u16 = 1 << 8;
    pub const DUPLICATE_ACK: u16 = 1 << 9;
    /// Any of the three that tshark counts as a retransmission.
    pub const ANY_RETRANSMISSION: u16 = RETRANSMISSION | FAST_RETRANSMISSION | SPURIOUS_RETRANSMISSION;
}

/// One direction's sequence state, as Wireshark keeps it (`tcp_analyze_seq_info`); a zero
/// `next_seq` means "not known yet", as there.
#[derive(Debug, Clone, Copy, Default)]
struct Side {
    /// The sequence number after the highest byte (or SYN/FIN) sent so far.
    next_seq: u32,
    /// The last acknowledgement number this side sent.
    last_ack: u32,
    next_seq_ns: i64,
    last_ack_ns: i64,
    /// The last window this side advertised, as sent (unscaled).
    window: u16,
    /// Duplicate ACKs this side sent in a row (only "two or more" matters).
    dup_acks: u16,
    /// The marks of this side's last segment (a keep-alive or window probe shapes the reply).
    last_marks: u16,
    scale: Scale,
}

/// The counts and times of one flow's transfer; what every view reads.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TransferMetrics {
    /// Segments carrying only data already seen (tshark: retransmission, fast or spurious).
    pub retransmissions_up: u32,
    pub retransmissions_down: u32,
    /// Server segments that started beyond the highest byte seen: something before them
    /// never reached the capture point.
    pub lost_segments_down: u32,
    /// Server segments filling an earlier gap soon after it opened.
    pub out_of_order_down: u32,
    /// Segments advertising a zero window, sent by the client / the server.
    pub zero_windows_up: u32,
    pub zero_windows_down: u32,
    /// Server segments that filled the client's advertised window.
    pub window_full_down: u32,
    /// The largest server payload (as the IP header declares it).
    pub max_segment_down: u32,
    /// Server payload not counted as retransmitted, and the first and last such segment.
    pub good_bytes_down: u64,
    first_good_down: Ns,
    last_good_down: Ns,
    /// The longest time between two server segments carrying data.
    max_gap_down: Ns,
    /// The client's first request after the handshake, and the server's first data after it.
    request: Ns,
    response: Ns,
    /// Capture time of the last server segment carrying data, and of the client's first new
    /// data since then (a request still unanswered, or what the client sent as it closed).
    last_data_down: Ns,
    asked: Ns,
    /// The MSS options of the client's SYN and of the server's SYN-ACK (0: none).
    mss_up: u16,
    mss_down: u16,
}

impl TransferMetrics {
    /// Server payload bits per second over the span of the non-retransmitted data: null with
    /// fewer than two such segments (then the span is zero).
    pub fn goodput_down_bps(&self) -> Option<f64> {
        let (a, b) = (self.first_good_down.get()?, self.last_good_down.get()?);
        (b > a).then(|| self.good_bytes_down as f64 * 8.0 / ((b - a) as f64 / 1e9))
    }

    /// From the first to the last server data segment not counted as retransmitted.
    pub fn data_span_ns(&self) -> Option<i64> {
        Some(self.last_good_down.get()? - self.first_good_down.get()?)
    }

    /// From the client's request to the server's first data after it.
    pub fn ttfb_ns(&self) -> Option<i64> {
        Some(self.response.get()? - self.request.get()?)
    }

    /// The client's first request after the handshake.
    pub fn request_ns(&self) -> Option<i64> {
        self.request.get()
    }

    /// The server's first data after the client's request.
    pub fn response_ns(&self) -> Option<i64> {
        self.response.get()
    }

    /// The longest time between two server segments carrying data.
    pub fn max_gap_down_ns(&self) -> Option<i64> {
        self.max_gap_down.get()
    }

    /// Capture time of the last server segment carrying data.
    pub fn last_data_down_ns(&self) -> Option<i64> {
        self.last_data_down.get()
    }

    /// The MSS option of the client's SYN.
    pub fn mss_up(&self) -> Option<u16> {
        Some(self.mss_up).filter(|m| *m != 0)
    }

    /// The MSS option of the server's SYN-ACK.
    pub fn mss_down(&self) -> Option<u16> {
        Some(self.mss_down).filter(|m| *m != 0)
    }
}

/// One TCP flow's transfer: its metrics, and the sequence state that makes them while the
/// flow takes packets. That state goes when the flow settles (see [`Transfer::settle`]),
/// leaving what the views read of it: every flow of a busy capture is held until the report,
/// and most of them ended long before.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    pub metrics: TransferMetrics,
    live: Option<Box<Sequence>>,
    /// What [`Transfer::owed`] and [`Transfer::client_data_acked`] said when the state went;
    /// an answer owed is kept as its kind only, its time being `metrics.asked` (which no longer
    /// changes), so that the whole stays within 120 bytes (a 128-byte allocation, not 144).
    owed: OwedKind,
    client_data_acked: Option<bool>,
    /// Set by [`Transfer::settle`]: segments after it are not counted, since the state that
    /// would read them against the earlier ones is gone.
    settled: bool,
}

/// The sequence analysis of one TCP flow in progress.
#[derive(Debug, Clone, Default)]
struct Sequence {
    up: Side,
    down: Side,
    /// The last SYN without ACK, and the handshake's round trip from it to the first segment
    /// with ACK and no SYN (Wireshark's `ts_mru_syn` and `ts_first_rtt`, tshark's
    /// `tcp.analysis.initial_rtt`).
    last_syn: Ns,
    first_rtt: Ns,
    /// The server's TLS record boundaries (followed on TLS flows only).
    records: records::Records,
    /// The client's SYN's sequence number, and the highest acknowledgement the client sent
    /// (both 0 until seen).
    syn_seq_up: u32,
    acked_by_client: u32,
}

/// What the client was still owed when the server's data stopped: what makes a silence a
/// stall rather than the quiet of a finished exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Owed {
    /// The server's last data stopped inside a TLS record, or left a hole the client's
    /// acknowledgements still wait to have filled.
    RestOfBody,
    /// The client sent data (a request) after the server's last, at this capture time.
    Answer(i64),
    /// Nothing the capture shows: the exchange may have finished.
    #[default]
    Nothing,
}

/// [`Owed`] without its time, as a settled [`Transfer`] keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum OwedKind {
    RestOfBody,
    Answer,
    #[default]
    Nothing,
}

/// Reads every TCP segment (empty ones too) into the flow's [`Transfer`].
#[derive(Debug, Default)]
pub(super) struct TransferTracker;

impl Tracker for TransferTracker {
    type Inline = ();
    const EMPTY_SEGMENTS: bool = true;

    fn tcp(&mut self, _: &mut (), cx: &mut Cx<'_>, seg: &Segment<'_>) -> Pass {
        let Some(&(mut tcp)) = seg.obs.tcp.as_ref() else {
            return Pass::Next;
        };
        // Bytes the IP header declares beyond the frame's own length were never on this wire
        // (a bad length field): only what the snaplen cut off counts, as tshark counts it.
        let snapped = (seg.frame.orig_len as usize).saturating_sub(seg.frame.data.len());
        tcp.cut = tcp.cut.min(u32::try_from(snapped).unwrap_or(u32::MAX));
        let tls = cx.facts.tls.client_hello_ns.is_some();
        let t = cx.facts.transfer.get_or_insert_with(Box::default);
        t.track(seg.up(), &tcp, seg.frame.ts_ns, tls);
        Pass::Next
    }

    /// Counters only, not reassembly: `flow_parsers_released` does not count them.
    fn settle(&mut self, _: &mut (), cx: &mut Cx<'_>, _emit: bool) -> bool {
        if let Some(t) = cx.facts.transfer.as_deref_mut() {
            t.settle();
        }
        false
    }
}

impl Transfer {
    /// One segment, sent by the client when `up`, captured at `ts_ns`; `tls` when the flow
    /// has shown a ClientHello.
    pub fn track(&mut self, up: bool, seg: &TcpSegment<'_>, ts_ns: i64, tls: bool) {
        if self.settled {
            return;
        }
        let q = self.live.get_or_insert_with(Box::default);
        q.handshake(&mut self.metrics, up, seg, ts_ns);
        let marks = q.classify(up, seg, ts_ns);
        q.count(&mut self.metrics, up, seg, ts_ns, marks, tls);
    }

    /// The flow takes no more packets: keeps what is read of the sequence state, drops it.
    pub fn settle(&mut self) {
        self.settled = true;
        if let Some(q) = self.live.take() {
            self.owed = match q.owed(&self.metrics) {
                Owed::RestOfBody => OwedKind::RestOfBody,
                Owed::Answer(_) => OwedKind::Answer,
                Owed::Nothing => OwedKind::Nothing,
            };
            self.client_data_acked = q.client_data_acked();
        }
    }

    /// What the client was still owed at the server's last data (see [`Owed`]).
    pub fn owed(&self) -> Owed {
        match (&self.live, self.owed) {
            (Some(q), _) => q.owed(&self.metrics),
            (None, OwedKind::RestOfBody) => Owed::RestOfBody,
            (None, OwedKind::Answer) => self.metrics.asked.get().map_or(Owed::Nothing, Owed::Answer),
            (None, OwedKind::Nothing) => Owed::Nothing,
        }
    }

    /// Whether the server acknowledged any of the client's data (a ClientHello dropped on the
    /// way never is); `None` without the client's SYN.
    pub fn client_data_acked(&self) -> Option<bool> {
        self.live.as_ref().map_or(self.client_data_acked, |q| q.client_data_acked())
    }
}

impl Sequence {
    /// Window scaling, MSS, and the round trip the out-of-order test uses.
    fn handshake(&mut self, m: &mut TransferMetrics, up: bool, seg: &TcpSegment<'_>, ts_ns: i64) {
        let syn = seg.has(tcp_flags::SYN);
        if syn {
            let o = seg.options();
            let ack = seg.has(tcp_flags::ACK);
            if !ack {
                self.last_syn = Ns::at(ts_ns);
            }
            if up && !ack {
                self.syn_seq_up = seg.seq;
            }
            if !up && ack {
                self.records.start(seg.seq);
            }
            let (fwd, rev) = if up { (&mut self.up, &mut self.down) } else { (&mut self.down, &mut self.up) };
            if fwd.scale == Scale::Unknown {
                fwd.scale = o.window_scale.map_or(Scale::Off, |s| Scale::Shift(s.min(MAX_WINDOW_SHIFT)));
            }
            // Scaling needs the option both ways: a SYN-ACK without it turns it off for both.
            if ack && o.window_scale.is_none() {
                fwd.scale = Scale::Off;
                rev.scale = Scale::Off;
            }
            let mss = o.mss.unwrap_or(0);
            match (up, ack) {
                (true, false) if m.mss_up == 0 => m.mss_up = mss,
                (false, true) if m.mss_down == 0 => m.mss_down = mss,
                _ => {}
            }
        } else if seg.flags & tcp_flags::ACK != 0 && self.first_rtt.get().is_none() {
            if let Some(s) = self.last_syn.get() {
                self.first_rtt = Ns::at(ts_ns - s);
            }
        }
    }

    /// Wireshark's classification of one segment; updates the direction's state.
    fn classify(&mut self, up: bool, seg: &TcpSegment<'_>, ts_ns: i64) -> u16 {
        let ooo_ns = self.first_rtt.get().filter(|&r| r != 0).unwrap_or(DEFAULT_OOO_NS);
        let (fwd, rev) = if up { (&mut self.up, &mut self.down) } else { (&mut self.down, &mut self.up) };
        let s = Seen { seq: seg.seq, ack: seg.ack, len: seg.seglen(), flags: seg.flags, window: seg.window, ts_ns };
        let mut marks = fwd.marks_forward(rev, &s);
        if s.ack != fwd.last_ack {
            fwd.dup_acks = 0;
        }
        if s.len > 0 || s.flags & (tcp_flags::SYN | tcp_flags::FIN) != 0 {
            marks |= retransmission_kind(fwd, rev, &s, ooo_ns, marks);
        }
        fwd.advance(&s, marks);
        fwd.window = s.window;
        fwd.last_ack = s.ack;
        fwd.last_ack_ns = ts_ns;
        fwd.last_marks = marks;
        marks
    }

    /// Adds one classified segment to the metrics.
    fn count(&mut self, m: &mut TransferMetrics, up: bool, seg: &TcpSegment<'_>, ts_ns: i64, marks: u16, tls: bool) {
        let len = seg.seglen();
        let retransmitted = marks & mark::ANY_RETRANSMISSION != 0;
        if up && seg.has(tcp_flags::ACK) && (self.acked_by_client == 0 || seq_diff(seg.ack, self.acked_by_client) > 0) {
            self.acked_by_client = seg.ack;
        }
        if !up && tls && len > 0 {
            self.records.feed(seg.seq, len, seg.payload);
        }
        let zero_window = u32::from(marks & mark::ZERO_WINDOW != 0);
        if up {
            if len > 0 && !retransmitted && m.asked.get().is_none() {
                m.asked = Ns::at(ts_ns);
            }
            m.retransmissions_up += u32::from(retransmitted);
            m.zero_windows_up += zero_window;
            let request = len > 0 && m.request.get().is_none() && !starts_tls_handshake(seg.payload, tls);
            if request {
                m.request = Ns::at(ts_ns);
            }
            return;
        }
        m.retransmissions_down += u32::from(retransmitted);
        m.lost_segments_down += u32::from(marks & mark::LOST_SEGMENT != 0);
        m.out_of_order_down += u32::from(marks & mark::OUT_OF_ORDER != 0);
        m.zero_windows_down += zero_window;
        m.window_full_down += u32::from(marks & mark::WINDOW_FULL != 0);
        m.max_segment_down = m.max_segment_down.max(len);
        if len == 0 {
            return;
        }
        if let Some(last) = m.last_data_down.get() {
            let gap = ts_ns - last;
            m.max_gap_down = Ns::at(m.max_gap_down.get().map_or(gap, |g| g.max(gap)));
        }
        m.last_data_down = Ns::at(ts_ns);
        m.asked = Ns::NONE;
        if m.request.get().is_some() && m.response.get().is_none() {
            m.response = Ns::at(ts_ns);
        }
        if !retransmitted {
            m.good_bytes_down += u64::from(len);
            if m.first_good_down.get().is_none() {
                m.first_good_down = Ns::at(ts_ns);
            }
            m.last_good_down = Ns::at(ts_ns);
        }
    }
}

impl Sequence {
    fn owed(&self, metrics: &TransferMetrics) -> Owed {
        let hole = self.acked_by_client != 0
            && self.down.next_seq != 0
            && seq_diff(self.down.next_seq, self.acked_by_client) > 1;
        if metrics.last_data_down.get().is_some() && (hole || self.records.at_boundary() == Some(false)) {
            return Owed::RestOfBody;
        }
        // Only what came after the request counts: before it, the client's data is its side of
        // the handshake.
        match (metrics.asked.get(), metrics.request.get()) {
            (Some(asked), Some(request)) if asked >= request => Owed::Answer(asked),
            _ => Owed::Nothing,
        }
    }

    fn client_data_acked(&self) -> Option<bool> {
        (self.up.scale != Scale::Unknown)
            .then(|| self.down.last_ack != 0 && seq_diff(self.down.last_ack, self.syn_seq_up.wrapping_add(1)) > 0)
    }
}

/// A client segment of the TLS handshake rather than a request: on a TLS flow anything but an
/// application-data record (TLS 1.2 sends its Finished as a handshake record; TLS 1.3 in
/// compatibility mode leads its Finished flight with a ChangeCipherSpec record), and before
/// the ClientHello is known (this analysis sees a segment before the TLS tracker does) a
/// segment that opens with a handshake record.
fn starts_tls_handshake(payload: &[u8], tls: bool) -> bool {
    match payload.first() {
        Some(&0x17) => false,
        Some(&b) => tls || b == 0x16,
        None => tls,
    }
}

/// The numbers of one segment the classification reads.
struct Seen {
    seq: u32,
    ack: u32,
    /// Payload length as the IP header declares it (the capture may hold less).
    len: u32,
    flags: u8,
    /// As sent (unscaled).
    window: u16,
    ts_ns: i64,
}

/// Signed distance in sequence space (RFC 1982): positive when `a` is after `b`.
fn seq_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

impl Side {
    /// The marks that depend on this side's own history and the other side's window and
    /// acknowledgements: probes, zero windows, lost segments, keep-alives, full windows,
    /// duplicate ACKs (Wireshark's tests up to `finished_fwd`).
    fn marks_forward(&mut self, rev: &Side, s: &Seen) -> u16 {
        let Seen { seq, ack, len, flags, window, .. } = *s;
        let control = flags & (tcp_flags::SYN | tcp_flags::FIN | tcp_flags::RST) != 0;
        if len == 1 && seq == self.next_seq && rev.window == 0 {
            return mark::ZERO_WINDOW_PROBE;
        }
        let mut marks = 0;
        if window == 0 && !control {
            marks |= mark::ZERO_WINDOW;
        }
        if self.next_seq != 0 && seq_diff(seq, self.next_seq) > 0 && flags & tcp_flags::RST == 0 {
            marks |= mark::LOST_SEGMENT;
        }
        if len <= 1 && seq == self.next_seq.wrapping_sub(1) && !control {
            marks |= mark::KEEP_ALIVE;
        }
        let rev_edge = rev.last_ack.wrapping_add(u32::from(rev.window) << rev.scale.shift());
        if len > 0 && rev.scale != Scale::Unknown && seq.wrapping_add(len) == rev_edge && !control {
            marks |= mark::WINDOW_FULL;
        }
        let repeats = len == 0 && window == self.window && seq == self.next_seq && ack == self.last_ack && !control;
        if repeats && window != 0 && rev.last_marks & mark::KEEP_ALIVE != 0 {
            return marks;
        }
        if repeats && window == 0 && rev.last_marks & mark::ZERO_WINDOW_PROBE != 0 {
            return marks;
        }
        if repeats && window != 0 {
            self.dup_acks = self.dup_acks.saturating_add(1);
            marks |= mark::DUPLICATE_ACK;
        }
        marks
    }

    /// Moves the highest sequence number seen (a window probe does not).
    fn advance(&mut self, s: &Seen, marks: u16) {
        let Seen { seq, len, flags, ts_ns, .. } = *s;
        let mut next = seq.wrapping_add(len);
        if flags & (tcp_flags::SYN | tcp_flags::FIN) != 0 {
            next = next.wrapping_add(1);
        }
        if (seq_diff(next, self.next_seq) > 0 || self.next_seq == 0) && marks & mark::ZERO_WINDOW_PROBE == 0 {
            self.next_seq = next;
            self.next_seq_ns = ts_ns;
        }
    }
}

/// A segment with data (or a SYN or FIN) that did not advance the sequence: a fast
/// retransmission, out of order, a spurious or a plain retransmission, in Wireshark's order.
fn retransmission_kind(fwd: &Side, rev: &Side, s: &Seen, ooo_ns: i64, marks: u16) -> u16 {
    let Seen { seq, len, ts_ns, .. } = *s;
    if marks & mark::KEEP_ALIVE != 0 {
        return 0;
    }
    let mut not_advanced = fwd.next_seq != 0 && seq_diff(seq, fwd.next_seq) < 0;
    // One byte before the highest seen, carrying more: new data after a window probe.
    if len > 1 && fwd.next_seq.wrapping_sub(1) == seq {
        not_advanced = false;
    }
    if not_advanced && rev.dup_acks >= 2 && rev.last_ack == seq && ts_ns - rev.last_ack_ns < FAST_RETRANSMISSION_NS {
        return mark::FAST_RETRANSMISSION;
    }
    // Data the other side had already acknowledged is a spurious retransmission, however soon
    // it came (tshark 4.0 tests this before out-of-order).
    if len > 0 && rev.last_ack != 0 && seq_diff(seq.wrapping_add(len), rev.last_ack) <= 0 {
        return mark::SPURIOUS_RETRANSMISSION;
    }
    if not_advanced && ts_ns - fwd.next_seq_ns < ooo_ns && fwd.next_seq != seq.wrapping_add(len) {
        return mark::OUT_OF_ORDER;
    }
    if not_advanced {
        return mark::RETRANSMISSION;
    }
    0
}

#[cfg(test)]
mod tests;
