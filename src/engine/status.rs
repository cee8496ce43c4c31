//! What the capture loop lends its front end (the session and its source) and what it
//! publishes to the view between two model builds.

use crate::capture::live::Drops;
use crate::session::attribution::Attribution;
use crate::session::Session;

use super::Speed;

/// What the header shows about the source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStatus {
    /// File path or interface name (and why it was chosen).
    pub label: String,
    pub live: bool,
    /// Capture time "now": the replay's virtual clock, or the wall clock live.
    pub clock_ns: Option<i64>,
    /// Time of the first packet (the time axis origin).
    pub start_ns: Option<i64>,
    pub speed: Option<Speed>,
    pub paused: bool,
    /// The source has no more frames (end of file, or capture stopped).
    pub finished: bool,
    /// Packets the capture received, and those the kernel and the interface dropped (live,
    /// from pcap stats).
    pub received: Option<u64>,
    pub kernel_drops: Option<u64>,
    pub if_drops: Option<u64>,
    /// Reading stopped on this error (kept: everything before it is in the session).
    pub error: Option<String>,
    /// File size and bytes read so far, for a loading indicator.
    pub total_bytes: Option<u64>,
    pub read_bytes: u64,
    /// Live: who the capture runs as and its sandbox (`Confinement::summary`: `as root ...` only
    /// with `--user root`).
    pub confinement: Option<String>,
}

impl SourceStatus {
    pub fn drops(&self) -> Option<Drops> {
        Some(Drops { received: self.received?, kernel: self.kernel_drops?, interface: self.if_drops.unwrap_or(0) })
    }

    pub(super) fn set_drops(&mut self, d: Drops) {
        self.received = Some(d.received);
        self.kernel_drops = Some(d.kernel);
        self.if_drops = Some(d.interface);
    }
}

/// The session and its source, owned by the capture loop and lent to its front end.
pub struct Shared {
    pub session: Session,
    pub status: SourceStatus,
    /// Live with process attribution: what could not be attributed, and why.
    pub attribution: Option<Attribution>,
}

impl Shared {
    pub fn new(session: Session, status: SourceStatus) -> Shared {
        Shared { session, status, attribution: None }
    }
}

/// The cheap picture of the capture, published after every batch and tick: what the header
/// shows between two (costly) model builds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub status: SourceStatus,
    pub packets: u64,
    pub wire_bytes: u64,
    pub warnings: u64,
    pub flows_evicted: u64,
    pub flows: usize,
}

impl Progress {
    pub fn of(shared: &Shared) -> Progress {
        let st = &shared.session.stats;
        Progress {
            status: shared.status.clone(),
            packets: st.packets,
            wire_bytes: st.wire_bytes,
            warnings: st.warning_count(),
            flows_evicted: st.flows_evicted,
            flows: shared.session.flows().len(),
        }
    }
}
