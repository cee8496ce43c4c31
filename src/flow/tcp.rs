//! The state of one TCP connection as the wire showed it: the handshake, and how each side
//! closed. Each fact is recorded once; readers ask questions ([`TcpState::closed`],
//! [`TcpState::state_name`], …) rather than read fields. What the data did is not connection
//! state: the transfer analysis (sequence, windows, gaps) belongs to the session.

use crate::compact::Ns;
use crate::packet::{tcp_flags, TcpSegment};

/// How one side of a TCP connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Close {
    Fin,
    Rst,
}

impl Close {
    pub fn as_str(self) -> &'static str {
        match self {
            Close::Fin => "fin",
            Close::Rst => "rst",
        }
    }

    /// The close a segment's flags carry; a RST wins over a FIN sent with it.
    fn of(flags: u8) -> Option<Close> {
        if flags & tcp_flags::RST != 0 {
            Some(Close::Rst)
        } else if flags & tcp_flags::FIN != 0 {
            Some(Close::Fin)
        } else {
            None
        }
    }
}

/// A side's first FIN or RST, and its capture time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseAt {
    pub how: Close,
    pub ts_ns: i64,
}

/// How one side of a connection closed: its first FIN or RST, and whether it ever sent each.
/// Both are kept because they differ: a side that sends a FIN and then a RST closed first
/// with a FIN, yet reset the connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SideClose {
    /// The first FIN or RST: how (`None` until one) and when, apart rather than as an
    /// `Option<CloseAt>`, which would take twice the room.
    first_how: Option<Close>,
    first_ns: i64,
    fin: bool,
    rst: bool,
}

impl SideClose {
    fn record(&mut self, flags: u8, ts_ns: i64) {
        if let (None, Some(how)) = (self.first_how, Close::of(flags)) {
            (self.first_how, self.first_ns) = (Some(how), ts_ns);
        }
        self.fin |= flags & tcp_flags::FIN != 0;
        self.rst |= flags & tcp_flags::RST != 0;
    }

    /// The first FIN or RST this side sent.
    fn first(&self) -> Option<CloseAt> {
        self.first_how.map(|how| CloseAt { how, ts_ns: self.first_ns })
    }

    fn sent_fin(&self) -> bool {
        self.fin
    }

    fn sent_rst(&self) -> bool {
        self.rst
    }
}

/// The client's SYNs before the server answered: the first and its retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynSeen {
    /// The sequence number of the first SYN (the client's ISN).
    pub isn: u32,
    /// SYNs sent before the SYN-ACK, the first included.
    pub count: u16,
    pub first_ns: i64,
    /// The last SYN before the SYN-ACK: the one the server answered.
    pub last_ns: i64,
}

impl SynSeen {
    /// From the first SYN to the last: how long the client kept trying.
    pub fn span_ns(&self) -> i64 {
        self.last_ns - self.first_ns
    }
}

/// The server's first SYN-ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynAckSeen {
    /// The server's ISN.
    pub isn: u32,
    pub ts_ns: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpState {
    syn: HeldSyn,
    syn_ack: HeldSynAck,
    client: SideClose,
    server: SideClose,
    /// Segments seen after the connection closed (saturating): the last ACK of a FIN close.
    after_close: u8,
}

/// A [`SynSeen`] as held, unseen while `first_ns` is unknown: an `Option<SynSeen>` would
/// take 8 bytes more on every TCP flow, and a busy capture holds hundreds of thousands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct HeldSyn {
    isn: u32,
    count: u16,
    first_ns: Ns,
    last_ns: i64,
}

impl HeldSyn {
    fn get(self) -> Option<SynSeen> {
        let HeldSyn { isn, count, first_ns, last_ns } = self;
        Some(SynSeen { isn, count, first_ns: first_ns.get()?, last_ns })
    }
}

/// A [`SynAckSeen`] as held, unseen while `ts_ns` is unknown (see [`HeldSyn`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct HeldSynAck {
    isn: u32,
    ts_ns: Ns,
}

impl HeldSynAck {
    fn get(self) -> Option<SynAckSeen> {
        Some(SynAckSeen { isn: self.isn, ts_ns: self.ts_ns.get()? })
    }
}

impl TcpState {
    /// Counts one segment, sent by the client when `up`, captured at `ts_ns`.
    pub fn track(&mut self, up: bool, seg: &TcpSegment<'_>, ts_ns: i64) {
        if seg.has(tcp_flags::SYN) {
            self.track_syn(up, seg.seq, seg.has(tcp_flags::ACK), ts_ns);
        }
        if self.closed() {
            self.after_close = self.after_close.saturating_add(1);
        }
        let side = if up { &mut self.client } else { &mut self.server };
        side.record(seg.flags, ts_ns);
    }

    fn track_syn(&mut self, up: bool, seq: u32, ack: bool, ts_ns: i64) {
        if !ack && up {
            let answered = self.saw_syn_ack();
            let syn = &mut self.syn;
            if !syn.first_ns.is_some() {
                *syn = HeldSyn { isn: seq, count: 0, first_ns: Ns::at(ts_ns), last_ns: ts_ns };
            }
            // A SYN after the SYN-ACK repeats one the server already answered: not a retry.
            if !answered {
                syn.count = syn.count.saturating_add(1);
                syn.last_ns = ts_ns;
            }
        } else if !up && !self.saw_syn_ack() {
            self.syn_ack = HeldSynAck { isn: seq, ts_ns: Ns::at(ts_ns) };
        }
    }

    /// The client's SYNs, when any was seen.
    pub fn syn(&self) -> Option<SynSeen> {
        self.syn.get()
    }

    /// The server's SYN-ACK, when seen.
    pub fn syn_ack(&self) -> Option<SynAckSeen> {
        self.syn_ack.get()
    }

    pub fn saw_syn(&self) -> bool {
        self.syn.first_ns.is_some()
    }

    pub fn saw_syn_ack(&self) -> bool {
        self.syn_ack.ts_ns.is_some()
    }

    /// The client asked to connect and no answer came (yet).
    pub fn syn_unanswered(&self) -> bool {
        self.saw_syn() && !self.saw_syn_ack()
    }

    /// SYNs the client sent (the first and its retransmissions).
    pub fn syns(&self) -> u16 {
        self.syn().map_or(0, |s| s.count)
    }

    /// The client's ISN, from its first SYN.
    pub fn client_isn(&self) -> Option<u32> {
        self.syn().map(|s| s.isn)
    }

    /// The server's ISN, from its SYN-ACK.
    pub fn server_isn(&self) -> Option<u32> {
        self.syn_ack().map(|s| s.isn)
    }

    /// The path's round trip at connect: the last SYN before the SYN-ACK to the SYN-ACK (a
    /// retried connect still shows the round trip; the time lost to retries is the SYNs' span).
    pub fn connect_rtt_ns(&self) -> Option<i64> {
        Some(self.syn_ack()?.ts_ns - self.syn()?.last_ns).filter(|d| *d >= 0)
    }

    /// How the client closed, if it did.
    pub fn client_close(&self) -> Option<CloseAt> {
        self.client.first()
    }

    /// How the server closed, if it did.
    pub fn server_close(&self) -> Option<CloseAt> {
        self.server.first()
    }

    /// Either side sent a RST.
    pub fn reset(&self) -> bool {
        self.client.sent_rst() || self.server.sent_rst()
    }

    /// The connection ended: a RST, or a FIN each way.
    pub fn closed(&self) -> bool {
        self.reset() || (self.client.sent_fin() && self.server.sent_fin())
    }

    /// The close is over, the counts final: a RST (nothing follows it), or a segment (the last
    /// ACK) after a FIN each way.
    pub fn settled(&self) -> bool {
        self.reset() || (self.closed() && self.after_close > 0)
    }

    /// Capture time of the first FIN or RST of either side.
    pub fn close_ns(&self) -> Option<i64> {
        let at = |side: &SideClose| side.first().map(|c| c.ts_ns);
        match (at(&self.client), at(&self.server)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The connection's state in the one vocabulary every output uses: `reset`, `closed`,
    /// `half-closed`, `established`, `syn-sent` or `midstream` (first seen after its
    /// handshake).
    pub fn state_name(&self) -> &'static str {
        let fins = (self.client.sent_fin(), self.server.sent_fin());
        if self.reset() {
            "reset"
        } else if fins.0 && fins.1 {
            "closed"
        } else if fins.0 || fins.1 {
            "half-closed"
        } else if self.saw_syn() && self.saw_syn_ack() {
            "established"
        } else if self.saw_syn() {
            "syn-sent"
        } else {
            "midstream"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_flags::{ACK, FIN, RST, SYN};

    fn seg(seq: u32, flags: u8, payload: &[u8]) -> TcpSegment<'_> {
        TcpSegment { sport: 1, dport: 2, seq, ack: 0, window: 0, flags, option_bytes: &[], payload, cut: 0 }
    }

    /// The state after `segments`, each (sent by the client, flags), one nanosecond apart.
    fn after(segments: &[(bool, u8)]) -> TcpState {
        let mut t = TcpState::default();
        for (i, &(up, flags)) in segments.iter().enumerate() {
            t.track(up, &seg(1, flags, b""), i as i64);
        }
        t
    }

    #[test]
    fn a_fin_close_is_settled_by_the_last_ack_a_reset_at_once() {
        let fins = [(true, SYN), (false, SYN | ACK), (true, FIN | ACK), (false, FIN | ACK)];
        assert!(after(&fins).closed() && !after(&fins).settled(), "the last ACK is still to come");
        let mut acked = fins.to_vec();
        acked.push((true, ACK));
        assert!(after(&acked).settled());
        assert!(after(&[(true, SYN), (false, RST | ACK)]).settled());
        assert!(!after(&fins[..3]).settled(), "half-closed");
    }

    #[test]
    fn state_names_in_order_of_precedence() {
        let up = [(true, SYN), (false, SYN | ACK)];
        let half = [up[0], up[1], (true, FIN | ACK)];
        let closed = [half[0], half[1], half[2], (false, FIN | ACK)];
        let reset = [closed[0], closed[1], closed[2], closed[3], (false, RST)];
        let cases: [(&[(bool, u8)], &str); 6] = [
            (&reset, "reset"),
            (&closed, "closed"),
            (&half, "half-closed"),
            (&up, "established"),
            (&up[..1], "syn-sent"),
            (&[(true, ACK)], "midstream"),
        ];
        for (segments, want) in cases {
            assert_eq!(after(segments).state_name(), want, "{segments:?}");
        }
    }

    #[test]
    fn a_fin_then_a_rst_closes_with_the_fin_but_resets() {
        let t = after(&[(true, SYN), (false, SYN | ACK), (true, FIN | ACK), (true, RST)]);
        assert_eq!(t.client_close(), Some(CloseAt { how: Close::Fin, ts_ns: 2 }));
        assert_eq!(t.server_close(), None);
        assert!(t.reset() && t.closed());
        assert_eq!(t.close_ns(), Some(2));
    }

    #[test]
    fn one_fin_each_way_closes_and_a_fin_with_a_rst_is_a_rst() {
        let t = after(&[(true, FIN | ACK), (false, FIN | ACK)]);
        assert!(t.closed() && !t.reset());
        assert_eq!(t.server_close().map(|c| c.how), Some(Close::Fin));
        let t = after(&[(false, FIN | RST)]);
        assert_eq!(t.server_close().map(|c| c.how), Some(Close::Rst));
        assert_eq!(t.state_name(), "reset");
    }

    #[test]
    fn retransmitted_syns_are_counted_and_timed() {
        let t = after(&[(true, SYN), (true, SYN), (true, SYN), (false, SYN | ACK)]);
        assert_eq!(t.syns(), 3);
        assert_eq!(t.syn().map(|s| s.span_ns()), Some(2));
        assert_eq!(t.connect_rtt_ns(), Some(1), "from the last SYN");
        assert_eq!(t.client_isn(), Some(1));
    }
}
