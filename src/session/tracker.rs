//! Protocol trackers: the session decodes a frame once, finds its flow, and hands each TCP
//! segment or UDP datagram to the trackers in the order of the `trackers!` list in
//! `session/mod.rs`. Each tracker owns its state (per-flow state, budgets, scratch buffers)
//! and writes what it learns into the flow's [`FlowFacts`].
//!
//! # Adding a tracker
//! 1. A new module `session/NAME.rs` with a `#[derive(Default)] pub(super) struct NameTracker`
//!    and an `impl Tracker for NameTracker`:
//!    - `type Inline`: the few bytes read on every packet of every flow (flags, small
//!      counters), kept in each flow's facts; `()` when a tracker needs none. Keep it to a few
//!      bytes: every flow pays for it, and `FlowFacts` must not grow.
//!    - Anything bigger (a reassembler, per-direction counters) goes in a [`PerFlow`] field of
//!      the tracker: created on the first segment of a flow that needs it, removed when the
//!      tracker is done with the flow (or in [`Tracker::settle`]).
//!    - `tcp` / `udp`: one segment or datagram of a flow, with its [`Cx`] (the flow, its facts,
//!      the counters, the DNS log, the event queue). [`Segment::obs`] holds the decoded
//!      `TcpSegment` (seq, ack, window, flags; options parsed on demand). Return
//!      [`Pass::Stop`] only to keep the trackers after this one from seeing the packet.
//!    - `EMPTY_SEGMENTS = true` to also get TCP segments without payload (handshake, ACKs);
//!      the other trackers still see only segments with payload.
//!    - `settle`: the flow gets no more packets (evicted, aged out, capture finished): read
//!      what is held as far as it goes, drop it, and say whether it was reassembly state (the
//!      `flow_parsers_released` counter; a tracker of counters says `false`).
//! 2. `mod NAME;` and one line in the `trackers!` list of `session/mod.rs`:
//!    `name: NAME::NameTracker,` (its place in the list is its turn for each packet).
//!
//! A TCP analysis, for example: `EMPTY_SEGMENTS = true`, per-direction state (next sequence
//! number, window and scale, counters) in a `PerFlow` created at the flow's first segment and
//! removed in `settle`, its results written to a field of [`FlowFacts`] when the flow settles.
//! The test tracker at the end of this file has that shape.
//!
//! Dispatch is static (the list expands into plain calls), so a tracker that ignores a
//! protocol costs nothing on its packets.

use std::fmt::Debug;

use rustc_hash::FxHashMap;

use super::{DnsLog, Event, FlowFacts, Stats};
use crate::flow::Flow;

/// Whether the trackers after this one see the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    Next,
    Stop,
}

/// What a tracker may read and write while it handles one packet of flow `id`.
pub(super) struct Cx<'a> {
    pub id: u32,
    pub flow: &'a Flow,
    /// The flow's facts. Its tracker bytes (`FlowFacts::trackers`) are handed to each tracker
    /// separately and written back after the packet: read them only through that argument.
    pub facts: &'a mut FlowFacts,
    pub stats: &'a mut Stats,
    pub dns: &'a mut DnsLog,
    pub(super) events: &'a mut Option<Vec<Event>>,
    pub(super) hellos: &'a mut super::hellos::Hellos,
}

impl Cx<'_> {
    pub fn emit(&mut self, e: Event) {
        if let Some(ev) = self.events.as_mut() {
            ev.push(e);
        }
    }

    /// Sequence number of the first payload byte in direction `up`, when the handshake was seen.
    pub fn stream_start(&self, up: bool) -> Option<u32> {
        let t = &self.flow.tcp;
        if up { t.client_isn() } else { t.server_isn() }.map(|s| s.wrapping_add(1))
    }
}

/// One protocol's reading of flows. See the module documentation for how to add one.
pub(super) trait Tracker {
    /// Per-flow bytes kept inline in every flow's facts.
    type Inline: Default + Copy + Debug;
    /// Also called for TCP segments without payload.
    const EMPTY_SEGMENTS: bool = false;

    fn tcp(&mut self, _inline: &mut Self::Inline, _cx: &mut Cx<'_>, _seg: &Segment<'_>) -> Pass {
        Pass::Next
    }

    fn udp(&mut self, _inline: &mut Self::Inline, _cx: &mut Cx<'_>, _seg: &Segment<'_>) -> Pass {
        Pass::Next
    }

    /// The flow gets no more packets: finish and drop its state; `emit` asks for events (not
    /// at the end of a capture). Whether there was state to drop.
    fn settle(&mut self, _inline: &mut Self::Inline, _cx: &mut Cx<'_>, _emit: bool) -> bool {
        false
    }
}

/// One packet of a flow as the trackers see it.
pub(super) struct Segment<'a> {
    pub obs: &'a crate::flow::table::Observed<'a>,
    pub frame: &'a crate::capture::Frame<'a>,
}

impl Segment<'_> {
    /// Sent by the client.
    pub fn up(&self) -> bool {
        self.obs.up
    }

    pub fn seq(&self) -> u32 {
        self.obs.seq()
    }

    pub fn payload(&self) -> &[u8] {
        self.obs.payload
    }
}

/// A tracker's state for the flows that need it, by flow id: allocated on the flows that need
/// it, not on every flow.
#[derive(Debug)]
pub(super) struct PerFlow<T>(FxHashMap<u32, T>);

impl<T> Default for PerFlow<T> {
    fn default() -> Self {
        PerFlow(FxHashMap::default())
    }
}

impl<T> PerFlow<T> {
    pub fn get(&self, id: u32) -> Option<&T> {
        self.0.get(&id)
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.0.get_mut(&id)
    }

    pub fn get_or_insert_with(&mut self, id: u32, f: impl FnOnce() -> T) -> &mut T {
        self.0.entry(id).or_insert_with(f)
    }

    pub fn remove(&mut self, id: u32) -> Option<T> {
        self.0.remove(&id)
    }
}

/// Declares the trackers of the session, in dispatch order: the set of trackers
/// (`Trackers`), the per-flow bytes of all of them (`FlowTrackers`, in each flow's facts), and
/// the calls that feed them.
macro_rules! trackers {
    ($($(#[$attr:meta])* $name:ident: $ty:ty,)*) => {
        #[derive(Default)]
        pub(super) struct Trackers {
            $($(#[$attr])* $name: $ty,)*
        }

        #[derive(Debug, Default, Clone, Copy)]
        pub(super) struct FlowTrackers {
            $($(#[$attr])* $name: <$ty as $crate::session::tracker::Tracker>::Inline,)*
        }

        impl Trackers {
            /// Whether any tracker reads TCP segments without payload.
            const EMPTY_SEGMENTS: bool = {
                #[allow(unused_mut)]
                let mut any = false;
                $($(#[$attr])* {
                    any |= <$ty as $crate::session::tracker::Tracker>::EMPTY_SEGMENTS;
                })*
                any
            };

            fn tcp(&mut self, cx: &mut tracker::Cx<'_>, seg: &tracker::Segment<'_>) {
                use $crate::session::tracker::{Pass, Tracker};
                let mut inline = cx.facts.trackers;
                let empty = seg.obs.payload.is_empty();
                'feed: {
                    $($(#[$attr])* {
                        if (!empty || <$ty as Tracker>::EMPTY_SEGMENTS)
                            && self.$name.tcp(&mut inline.$name, cx, seg) == Pass::Stop
                        {
                            break 'feed;
                        }
                    })*
                }
                cx.facts.trackers = inline;
            }

            fn udp(&mut self, cx: &mut tracker::Cx<'_>, seg: &tracker::Segment<'_>) {
                use $crate::session::tracker::{Pass, Tracker};
                let mut inline = cx.facts.trackers;
                'feed: {
                    $($(#[$attr])* {
                        if self.$name.udp(&mut inline.$name, cx, seg) == Pass::Stop {
                            break 'feed;
                        }
                    })*
                }
                cx.facts.trackers = inline;
            }

            /// Whether any tracker held state for the flow.
            fn settle(&mut self, cx: &mut tracker::Cx<'_>, emit: bool) -> bool {
                use $crate::session::tracker::Tracker;
                let mut inline = cx.facts.trackers;
                let mut held = false;
                $($(#[$attr])* {
                    held |= self.$name.settle(&mut inline.$name, cx, emit);
                })*
                cx.facts.trackers = inline;
                held
            }
        }
    };
}
pub(super) use trackers;

#[cfg(test)]
pub(super) mod tests {
    //! A tracker that sees every TCP segment, as the TCP analysis does: registered in the list
    //! of `session/mod.rs` for the unit tests only.

    use super::{Cx, Pass, PerFlow, Segment, Tracker};
    use crate::session::Session;

    /// Segments each way of each flow, empty ones included.
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct Count {
        up: u32,
        down: u32,
    }

    #[derive(Debug, Default)]
    pub struct SegmentCounter {
        counts: PerFlow<Count>,
        /// Each flow's count once it ended, by flow id.
        settled: Vec<(u32, Count)>,
    }

    impl Tracker for SegmentCounter {
        type Inline = ();
        const EMPTY_SEGMENTS: bool = true;

        fn tcp(&mut self, _: &mut (), cx: &mut Cx<'_>, seg: &Segment<'_>) -> Pass {
            let c = self.counts.get_or_insert_with(cx.id, Count::default);
            if seg.up() {
                c.up += 1;
            } else {
                c.down += 1;
            }
            Pass::Next
        }

        /// No reassembly state: `flow_parsers_released` does not count it.
        fn settle(&mut self, _: &mut (), cx: &mut Cx<'_>, _emit: bool) -> bool {
            if let Some(c) = self.counts.remove(cx.id) {
                self.settled.push((cx.id, c));
            }
            false
        }
    }

    /// A segment of a connection from port 40000 to 443 whose client sends first (`up`); the
    /// client's first segment is its SYN.
    fn tcp(up: bool, seq: u32, payload: &[u8]) -> Vec<u8> {
        let (c, sv) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let b = match up {
            true => etherparse::PacketBuilder::ipv4(c, sv, 64).tcp(40000, 443, seq, 65535),
            false => etherparse::PacketBuilder::ipv4(sv, c, 64).tcp(443, 40000, seq, 65535),
        };
        let b = match (up, seq) {
            (true, 100) => b.syn(),
            (false, 900) => b.syn().ack(101),
            _ => b.ack(1),
        };
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn a_tracker_sees_every_segment_and_settles_at_the_end() {
        let packets = [
            tcp(true, 100, &[]),
            tcp(false, 900, &[]),
            tcp(true, 101, &[]),
            tcp(true, 101, b"hello"),
            tcp(false, 901, b"world"),
        ];
        let mut s = Session::default();
        for (i, p) in packets.iter().enumerate() {
            let frame = crate::capture::Frame {
                number: i as u64 + 1,
                ts_ns: i as i64 * 1_000_000,
                link_type: 101,
                interface: 0,
                orig_len: p.len() as u32,
                offset: 0,
                data: p,
                comment: None,
            };
            s.ingest(&frame);
        }
        assert!(s.trackers.segments.settled.is_empty());
        s.finish();
        assert_eq!(s.trackers.segments.settled, vec![(0, Count { up: 3, down: 2 })]);
        assert!(s.trackers.segments.counts.get(0).is_none());
        assert_eq!(s.stats.flow_parsers_released, 0);
    }
}
