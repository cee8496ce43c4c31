//! Protocol trackers: the session decodes a frame once, finds its flow, and hands each TCP
//! segment or UDP datagram to the trackers in the order of [`super::trackers!`]'s list. Each
//! tracker owns its state (per-flow state, budgets, scratch buffers) and writes what it learns
//! into the flow's [`FlowFacts`].
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
//!      the counters, the DNS log, the event queue). Return [`Pass::Stop`] only to keep the
//!      trackers after this one from seeing it.
//!    - `EMPTY_SEGMENTS = true` to also get TCP segments without payload (handshake, ACKs).
//!    - `settle`: the flow gets no more packets (evicted, aged out, capture finished): read
//!      what is held as far as it goes, drop it, and say whether there was state.
//! 2. One line in the `trackers!` list of `session/mod.rs`: `name: name::NameTracker,`.
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
        if up { t.client_isn } else { t.server_isn }.map(|s| s.wrapping_add(1))
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
    ($($name:ident: $ty:ty,)*) => {
        #[derive(Default)]
        pub(super) struct Trackers {
            $($name: $ty,)*
        }

        #[derive(Debug, Default, Clone, Copy)]
        pub(super) struct FlowTrackers {
            $($name: <$ty as $crate::session::tracker::Tracker>::Inline,)*
        }

        impl Trackers {
            /// Whether any tracker reads TCP segments without payload.
            const EMPTY_SEGMENTS: bool = false $(|| <$ty as $crate::session::tracker::Tracker>::EMPTY_SEGMENTS)*;

            fn tcp(&mut self, cx: &mut tracker::Cx<'_>, seg: &tracker::Segment<'_>) {
                use $crate::session::tracker::{Pass, Tracker};
                let mut inline = cx.facts.trackers;
                let empty = seg.obs.payload.is_empty();
                'feed: {
                    $(
                        if (!empty || <$ty as Tracker>::EMPTY_SEGMENTS)
                            && self.$name.tcp(&mut inline.$name, cx, seg) == Pass::Stop
                        {
                            break 'feed;
                        }
                    )*
                }
                cx.facts.trackers = inline;
            }

            fn udp(&mut self, cx: &mut tracker::Cx<'_>, seg: &tracker::Segment<'_>) {
                use $crate::session::tracker::{Pass, Tracker};
                let mut inline = cx.facts.trackers;
                'feed: {
                    $(
                        if self.$name.udp(&mut inline.$name, cx, seg) == Pass::Stop {
                            break 'feed;
                        }
                    )*
                }
                cx.facts.trackers = inline;
            }

            /// Whether any tracker held state for the flow.
            fn settle(&mut self, cx: &mut tracker::Cx<'_>, emit: bool) -> bool {
                use $crate::session::tracker::Tracker;
                let mut inline = cx.facts.trackers;
                let mut held = false;
                $(held |= self.$name.settle(&mut inline.$name, cx, emit);)*
                cx.facts.trackers = inline;
                held
            }
        }
    };
}
pub(super) use trackers;
