//! Annotated pcapng for Wireshark: every packet of a flow carries a comment (pcapng
//! `opt_comment`, Wireshark's `frame.comment`) that says what acrscope made of its flow.
//! `report FILE --annotate OUT.pcapng` writes the capture again with what the whole capture
//! says, interfaces (link type, timestamp resolution and offset) and timestamps copied as the
//! source holds them; `live --write OUT.pcapng` ([`Recorder`]) writes each packet as it is
//! captured, with what was known of its flow at that moment.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::analysis::outcome::Outcome;
use crate::analysis::{Analysis, Analyzer, FlowView, ViewCache};
use crate::capture::savefile::{PcapngWriter, Savefile};
use crate::capture::source::{CaptureReader, OpenOptions};
use crate::capture::Frame;
use crate::session::Session;

/// The comment of every packet of flow `flow_id`, from the analysis of the whole capture.
pub fn annotation(session: &Session, analysis: &Analysis, flow_id: u32) -> String {
    let mut s = String::new();
    match analysis.flows.get(flow_id as usize).filter(|v| v.id == flow_id) {
        Some(view) => write_annotation(&mut s, session, view),
        None => {
            let _ = write!(s, "acrscope flow={flow_id}");
        }
    }
    s
}

/// Replaces `out` with the comment of flow `view.id`. The one place its text is made: a new
/// fact about a flow is added here and nowhere else.
pub fn write_annotation(out: &mut String, session: &Session, view: &FlowView) {
    out.clear();
    let host = view.naming.hostname.as_deref().unwrap_or("-");
    let registry = view.class.registry.as_deref().unwrap_or("-");
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "acrscope host={host} role={} registry={registry} scope={} outcome={}",
        view.class.role.as_str(),
        view.scope.as_str(),
        view.outcome.as_str()
    );
    if view.via_private_link {
        out.push_str(" private-link");
    }
    if let Some(f) = session.flows().get(view.id as usize) {
        let _ = write!(out, " flow={} server={}:{}", view.id, f.server, f.server_port);
    }
    // Last, so that `replay` and `report` of the file read it back (see procs::comment).
    if let Some(p) = session.get_flow(view.id).and_then(|f| f.facts.process.as_deref()) {
        crate::procs::comment::write(out, p);
    }
}

/// The flow of every frame, in order, as `u32::MAX` for none: what [`write()`] needs from the
/// first reading.
#[derive(Debug, Default)]
pub struct FrameFlows(Vec<u32>);

impl FrameFlows {
    /// Records the flow of the frame `session` has just ingested.
    pub fn push(&mut self, session: &Session) {
        self.0.push(session.last_flow().unwrap_or(u32::MAX));
    }
}

/// `live --write FILE`: each frame written right after the session ingested it (so that what
/// the frame itself taught, a ClientHello's name say, is in its own comment), with its flow's
/// comment when the file is pcapng.
pub struct Recorder {
    file: Savefile,
    comments: Option<LiveComments>,
}

impl Recorder {
    /// Comments are made with `analyzer`'s rules (copied: the capture may run on a thread of
    /// its own).
    pub fn new(file: Savefile, analyzer: &Analyzer) -> Recorder {
        let comments = file.takes_comments().then(|| LiveComments::new(analyzer.clone()));
        Recorder { file, comments }
    }

    /// Writes `frame`, which `session` has just ingested.
    pub fn record(&mut self, session: &Session, frame: &Frame<'_>) {
        let comment = match (self.comments.as_mut(), session.last_flow()) {
            (Some(c), Some(id)) => Some(c.comment(session, id)),
            _ => None,
        };
        self.file.write(frame, comment);
    }

    /// Writes out what is buffered, so the file can be read while the capture runs.
    pub fn flush(&mut self) {
        self.file.flush();
    }

    /// Why the file stopped being written (a full disk), if it did.
    pub fn error(&self) -> Option<&io::Error> {
        self.file.error()
    }
}

/// The comment of each flow, kept between its packets. A flow's view (naming, rules, outcome)
/// costs far more than a packet may at 1 Gbit/s, so it is made again only when what the
/// comment says may have changed: when something arrived that names the flow or decides its
/// outcome (its ClientHello, an HTTP request, a certificate, a close or reset, an ICMP error:
/// the session's ClientHello and FlowClose events, and what names a flow without one), or a
/// DNS answer holding its server address (the Dns event). These are read from the session's
/// state rather than its event queue, which the ndjson announcer drains and the UI does not
/// keep.
struct LiveComments {
    analyzer: Analyzer,
    /// By flow id.
    slots: Vec<Slot>,
    /// Flows by server address: those a new DNS answer may name.
    by_server: FxHashMap<IpAddr, Vec<u32>>,
    /// The session's DNS answers looked at so far.
    dns_seen: usize,
    /// Comments made, for the tests to see that they are not made per packet.
    made: u64,
    views: ViewCache,
}

#[derive(Default)]
struct Slot {
    text: String,
    /// What the text was made from; `None`: to be made (again).
    made_from: Option<Inputs>,
}

/// What a flow's comment depends on that can change during the flow, besides DNS answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Inputs {
    /// Bits: ClientHello, HTTP request, server certificate, process.
    facts: u8,
    /// As [`crate::analysis::outcome::outcome`] says now (a cheap look at the flow's state).
    outcome: Outcome,
}

impl LiveComments {
    fn new(analyzer: Analyzer) -> LiveComments {
        LiveComments {
            analyzer,
            slots: Vec::new(),
            by_server: FxHashMap::default(),
            dns_seen: 0,
            made: 0,
            views: ViewCache::default(),
        }
    }

    fn comment(&mut self, s: &Session, id: u32) -> &str {
        self.new_flows(s, id);
        self.new_answers(s);
        let now = inputs(s, id);
        let slot = &mut self.slots[id as usize];
        if slot.made_from != Some(now) {
            write_annotation(&mut slot.text, s, &self.analyzer.view(s, id, &mut self.views));
            slot.made_from = Some(now);
            self.made += 1;
        }
        &slot.text
    }

    /// Makes room for flows up to `id` (flow ids count up from 0) and indexes their servers.
    fn new_flows(&mut self, s: &Session, id: u32) {
        let flows = s.flows();
        while self.slots.len() <= id as usize && self.slots.len() < flows.len() {
            let next = self.slots.len();
            self.by_server.entry(flows[next].server).or_default().push(next as u32);
            self.slots.push(Slot::default());
        }
    }

    /// A DNS answer may name flows to its addresses (or give them a CNAME chain): theirs are
    /// made again at their next packet.
    fn new_answers(&mut self, s: &Session) {
        for answer in s.dns.get(self.dns_seen..).unwrap_or_default() {
            for addr in &answer.msg.addresses {
                for &id in self.by_server.get(addr).map_or(&[][..], Vec::as_slice) {
                    self.slots[id as usize].made_from = None;
                }
            }
        }
        self.dns_seen = s.dns.len();
    }
}

fn inputs(s: &Session, id: u32) -> Inputs {
    let crate::session::FlowRef { flow, facts } = s.flow(id);
    let http_request = facts.http.as_ref().is_some_and(|h| h.request.is_some());
    let bits =
        [facts.tls.client_hello.is_some(), http_request, facts.tls.certificate.is_some(), facts.process.is_some()];
    Inputs {
        facts: bits.iter().enumerate().fold(0, |acc, (i, &b)| acc | (u8::from(b) << i)),
        outcome: crate::analysis::outcome::outcome(flow, facts, s.stats.last_ns.unwrap_or(flow.last_ns)),
    }
}

/// Opens `path` for writing without following a symbolic link at its place (a link planted
/// where the output goes must not redirect it); an existing regular file is replaced.
pub fn create_no_follow(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)
}

/// Reads `input` a second time and writes it to `out` as pcapng with the comments. Returns
/// the packets written.
pub fn write(
    input: &Path,
    out: impl Write,
    session: &Session,
    analysis: &Analysis,
    flows: &FrameFlows,
) -> Result<u64, AnnotateError> {
    let mut reader = CaptureReader::open(input, &OpenOptions::default())?;
    let mut w = PcapngWriter::new(out)?;
    let mut comments: HashMap<u32, String> = HashMap::new();
    let mut n = 0usize;
    while let Some(frame) = reader.next_frame() {
        // Copied out: the reader is asked about the frame's interface and raw time next.
        let (number, interface, orig_len, data) = (frame.number, frame.interface, frame.orig_len, frame.data.to_vec());
        let (section, raw_ts) = reader.raw_position();
        let desc = reader.interface(interface).ok_or(AnnotateError::Changed(number))?;
        let flow = *flows.0.get(n).ok_or(AnnotateError::Changed(number))?;
        n += 1;
        let comment = (flow != u32::MAX)
            .then(|| comments.entry(flow).or_insert_with(|| annotation(session, analysis, flow)).as_str());
        w.packet(section, interface, desc, raw_ts, orig_len, &data, comment)?;
    }
    w.finish()?;
    Ok(n as u64)
}

#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    #[error("{0}")]
    Capture(#[from] crate::capture::file::CaptureError),
    #[error("writing the annotated capture: {0}")]
    Io(#[from] io::Error),
    #[error("the capture changed while it was read a second time (at frame {0})")]
    Changed(u64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::FileReader;
    use crate::capture::savefile::SaveFormat;

    /// `input` written as `live --write X.pcapng` writes it, then read back beside a second
    /// session that follows the same frames: each packet of a flow carries the comment a
    /// view made afresh at that packet gives (the kept comments are never stale), from the
    /// ClientHello on with the flow's SNI. Returns (packets, flows, comments made, packets
    /// named by their SNI).
    fn record_and_check(input: &Path) -> (u64, u64, u64, u64) {
        let tag = input.file_name().unwrap().to_string_lossy();
        record_frames_and_check(&tag, &read_all(input))
    }

    /// A frame copied out of its reader: (time, link type, length on the wire, bytes).
    type Owned = (i64, u16, u32, Vec<u8>);

    fn read_all(input: &Path) -> Vec<Owned> {
        let mut r = FileReader::open(input).unwrap();
        let mut all = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            all.push((f.ts_ns, f.link_type, f.orig_len, f.data.to_vec()));
        }
        all
    }

    fn record_frames_and_check(tag: &str, frames: &[Owned]) -> (u64, u64, u64, u64) {
        let out = std::env::temp_dir().join(format!("acrscope-recorder-{}-{tag}.pcapng", std::process::id()));
        let analyzer = Analyzer::default();
        let mut session = Session::default();
        let mut rec = None;
        let mut packets = 0u64;
        for (n, (ts_ns, link_type, orig_len, data)) in frames.iter().enumerate() {
            let frame = Frame {
                number: n as u64 + 1,
                ts_ns: *ts_ns,
                link_type: *link_type,
                interface: 0,
                orig_len: *orig_len,
                offset: 0,
                data,
                comment: None,
            };
            let rec = rec.get_or_insert_with(|| {
                let f = std::fs::File::create(&out).unwrap();
                let file = Savefile::new(f, SaveFormat::Pcapng, frame.link_type, 262_144, 6).unwrap();
                Recorder::new(file, &analyzer)
            });
            session.ingest(&frame);
            rec.record(&session, &frame);
            packets += 1;
        }
        let mut rec = rec.unwrap();
        rec.flush();
        assert!(rec.error().is_none());
        let made = rec.comments.as_ref().unwrap().made;
        drop(rec);

        let mut back = FileReader::open(&out).unwrap();
        let mut again = Session::default();
        let (mut named, mut read) = (0, 0u64);
        let mut fresh = String::new();
        while let Some(frame) = back.next_frame().unwrap() {
            again.ingest(&frame);
            read += 1;
            let comment = back.comment();
            let Some(id) = again.last_flow() else {
                assert_eq!(comment, None, "{tag}: frame {read}");
                continue;
            };
            let comment = comment.unwrap_or_else(|| panic!("{tag}: frame {read} of flow {id} has no comment"));
            write_annotation(&mut fresh, &again, &analyzer.view(&again, id, &mut Default::default()));
            assert_eq!(comment, fresh, "{tag}: frame {read}");
            if let Some(sni) = again.flow(id).facts.tls.client_hello.as_ref().and_then(|c| c.sni.as_deref()) {
                assert!(comment.contains(&format!("host={sni} ")), "{tag}: frame {read}: {comment}");
                named += 1;
            }
        }
        assert_eq!(read, packets, "{tag}");
        std::fs::remove_file(&out).unwrap();
        (packets, session.flows().len() as u64, made, named)
    }

    #[test]
    fn live_comments_are_those_of_the_moment_and_made_per_change_not_per_packet() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (packets, flows, made, named) = record_and_check(&root.join("assets/captures/scenario-b-dedicated.pcap"));
        assert!(flows >= 3 && made >= flows, "{made} comments made for {flows} flows");
        // A flow's comment changes when it is named and as its outcome is learnt (a DNS flow's
        // at its answer): a few times, whatever its length.
        assert!(made <= 4 * flows && made * 4 < packets, "{made} comments made for {flows} flows, {packets} packets");
        assert!(named > packets / 2, "{named} of {packets} packets named by their SNI");
        // Private link, a blocked storage account (connect timeouts), a reset after the
        // ClientHello, a proxy's refusal, an intercepting gateway: outcomes and names that
        // change during a flow.
        for input in [
            "assets/captures/scenario-c-privatelink.pcap",
            "assets/captures/scenario-e-blob-blocked.pcap",
            "tests/fixtures/lab/scenario-b-dedicated-sll2.pcap",
            "tests/fixtures/lab/scenario-f-blob-reset-after-hello.pcap",
            "tests/fixtures/lab/scenario-g-privatelink-data-missing.pcap",
            "tests/fixtures/lab/scenario-h-proxy-refused.pcap",
            "tests/fixtures/lab/scenario-i-tls-intercepted.pcap",
        ] {
            let (packets, flows, made, _) = record_and_check(&root.join(input));
            assert!(packets > 0 && flows > 0 && made >= flows, "{input}");
        }
    }

    /// A DNS answer that arrives while flows to its addresses are under way (it was delayed
    /// until the first packet of the first of them): their comments change at their next
    /// packet, to what a fresh view says (the private-link alias, the registry).
    #[test]
    fn a_late_dns_answer_changes_the_comments_of_flows_to_its_addresses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let frames = read_all(&root.join("assets/captures/scenario-c-privatelink.pcap"));
        // Which frames are answers, to which addresses, and the server of each frame's flow.
        let mut s = Session::default();
        let mut answers = Vec::new();
        let mut servers = Vec::new();
        for (n, (ts_ns, link_type, orig_len, data)) in frames.iter().enumerate() {
            let f = Frame {
                number: n as u64 + 1,
                ts_ns: *ts_ns,
                link_type: *link_type,
                interface: 0,
                orig_len: *orig_len,
                offset: 0,
                data,
                comment: None,
            };
            let before = s.dns.len();
            s.ingest(&f);
            let is_dns = s.last_flow().is_some_and(|id| s.flow(id).facts.dns);
            answers.push((s.dns.len() > before).then(|| s.dns[before].msg.addresses.clone()));
            servers.push(s.last_flow().filter(|_| !is_dns).map(|id| s.flows()[id as usize].server));
        }
        let mut reordered = Vec::new();
        let mut held: Vec<(usize, Vec<IpAddr>)> = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            if let Some(addrs) = answers[i].clone().filter(|a| !a.is_empty()) {
                held.push((i, addrs));
                continue;
            }
            reordered.push(frame.clone());
            if let Some(server) = servers[i] {
                held.retain(|(j, addrs)| {
                    let release = addrs.contains(&server);
                    if release {
                        reordered.push(frames[*j].clone());
                    }
                    !release
                });
            }
        }
        reordered.extend(held.iter().map(|(j, _)| frames[*j].clone()));
        assert_eq!(reordered.len(), frames.len());
        let late = answers.iter().filter(|a| a.as_ref().is_some_and(|a| !a.is_empty())).count();
        assert!(late > 0);
        // record_frames_and_check compares every packet's comment with a fresh view's.
        let (_, _, made, _) = record_frames_and_check("late-dns", &reordered);
        assert!(made > 0);
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("acrscope-nofollow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.join("out.pcapng");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(create_no_follow(&link).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
