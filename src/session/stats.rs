//! Counters for everything read, and warnings counted by kind with a few located samples.

use std::collections::BTreeMap;

use serde::Serialize;

/// Located warnings kept for the report; the counts by kind are always complete.
const MAX_WARNING_SAMPLES: usize = 200;

#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub kind: &'static str,
    /// 1-based frame number, when the warning concerns one frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// Byte offset in the capture file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub packets: u64,
    /// Captured bytes (what the file holds).
    pub bytes: u64,
    /// Bytes on the wire (before any snaplen cut).
    pub wire_bytes: u64,
    pub link_types: BTreeMap<String, u64>,
    pub ip_packets: u64,
    pub non_ip: u64,
    pub ip_fragments: u64,
    /// Datagrams put together from their fragments.
    pub ip_reassembled: u64,
    pub other_transport: u64,
    /// ICMP/ICMPv6 destination unreachable messages quoting a TCP or UDP packet.
    pub icmp_errors: u64,
    pub dns_responses: u64,
    pub dns_queries: u64,
    pub tls_client_hellos: u64,
    /// ClientHellos read from QUIC Initial packets (not in `tls_client_hellos`).
    pub quic_client_hellos: u64,
    /// Client QUIC Initial packets decrypted, and those that did not decrypt with the Initial
    /// keys of their connection (counted, never guessed at).
    pub quic_initials: u64,
    pub quic_undecryptable: u64,
    /// Plain HTTP/1.x request and response heads read (the first of each flow), and heads
    /// longer than the cap (16 KiB) that were not.
    pub http_requests: u64,
    pub http_responses: u64,
    pub http_heads_too_long: u64,
    pub flows: u64,
    /// Flows dropped from the hot table to respect its cap (still reported).
    pub flows_evicted: u64,
    pub peak_active_flows: u64,
    /// Flows aged out of the hot table in a live capture (closed or idle; still reported).
    pub flows_aged_out: u64,
    /// Flows evicted from the hot table while holding reassembly state, which was dropped
    /// (a ClientHello cut short was read first).
    pub flow_parsers_released: u64,
    /// Pending DNS queries dropped to respect their cap (moved to the unanswered list).
    pub dns_queries_evicted: u64,
    /// DNS lookups under way (names and types asked, not answered yet) dropped to respect their
    /// cap: their answers, if they come, show no latency.
    pub dns_lookups_evicted: u64,
    /// DNS answers beyond `Limits::max_dns_answers`: counted in `dns_responses`, not stored
    /// (not listed, not used for naming).
    pub dns_answers_evicted: u64,
    /// Unanswered queries beyond `Limits::max_dns_answers`: counted, not listed.
    pub dns_queries_dropped: u64,
    pub warnings: BTreeMap<&'static str, u64>,
    pub warning_samples: Vec<Warning>,
    /// Timestamps that went backwards (the capture is not in time order).
    pub out_of_order_timestamps: u64,
    #[serde(skip)]
    pub first_ns: Option<i64>,
    #[serde(skip)]
    pub last_ns: Option<i64>,
    /// A live capture's clock at its last tick (wall time, as its packets are stamped): time
    /// passes for a stalled flow even when no packet comes. Not part of the JSON.
    #[serde(skip)]
    pub clock_ns: Option<i64>,
}

impl Stats {
    pub fn warn(&mut self, kind: &'static str, frame: Option<u64>, offset: Option<u64>, message: impl Into<String>) {
        self.warn_with(kind, frame, offset, || message.into());
    }

    /// Counts a warning; the message is built only while samples are still kept, so a
    /// warning repeated on every packet costs no allocation.
    pub fn warn_with(
        &mut self,
        kind: &'static str,
        frame: Option<u64>,
        offset: Option<u64>,
        message: impl FnOnce() -> String,
    ) {
        *self.warnings.entry(kind).or_insert(0) += 1;
        if self.warning_samples.len() < MAX_WARNING_SAMPLES {
            self.warning_samples.push(Warning { kind, frame, offset, message: message() });
        }
    }

    pub fn warning_count(&self) -> u64 {
        self.warnings.values().sum()
    }
}
