//! `report FILE --annotate OUT.pcapng`: the capture again, every packet of a flow carrying a
//! comment (pcapng `opt_comment`, Wireshark's `frame.comment`) that says what acrscope made of
//! its flow. Interfaces (link type, timestamp resolution and offset) and timestamps are
//! copied as the source holds them, so the file lines up with the original packet for packet.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use crate::analysis::Analysis;
use crate::capture::file::InterfaceDesc;
use crate::capture::source::{CaptureReader, OpenOptions};
use crate::capture::Frame;
use crate::session::Session;

/// The comment of every packet of flow `flow_id`. The one place its text is made: a new fact
/// about a flow (its outcome, say) is added here and nowhere else.
pub fn annotation(session: &Session, analysis: &Analysis, flow_id: u32) -> String {
    let Some(view) = analysis.flows.get(flow_id as usize).filter(|v| v.id == flow_id) else {
        return format!("acrscope flow={flow_id}");
    };
    let host = view.naming.hostname.as_deref().unwrap_or("-");
    let registry = view.class.registry.as_deref().unwrap_or("-");
    let mut s = format!(
        "acrscope host={host} role={} registry={registry} scope={} outcome={}",
        view.class.role.as_str(),
        view.scope.as_str(),
        view.outcome.as_str()
    );
    if view.via_private_link {
        s.push_str(" private-link");
    }
    if let Some(f) = session.flows().get(flow_id as usize) {
        s.push_str(&format!(" flow={flow_id} server={}:{}", f.server, f.server_port));
    }
    s
}

/// The flow a frame was counted in, right after the session ingested it (`None`: not TCP or
/// UDP, or not decodable).
pub fn flow_of(session: &Session, frame: &Frame<'_>) -> Option<u32> {
    let (pkt, _) = crate::packet::decode(frame.link_type, frame.data).ok()?;
    session.table.find(&pkt).map(|(id, _)| id)
}

/// `flow_of` for every frame, in order, as `u32::MAX` for none: what [`write`] needs from
/// the first reading.
#[derive(Debug, Default)]
pub struct FrameFlows(Vec<u32>);

impl FrameFlows {
    pub fn push(&mut self, session: &Session, frame: &Frame<'_>) {
        self.0.push(flow_of(session, frame).unwrap_or(u32::MAX));
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

/// A pcapng writer (little-endian, one section), interfaces made as frames name them.
pub struct PcapngWriter<W: Write> {
    out: io::BufWriter<W>,
    /// (source section, source interface) → interface id in this file.
    interfaces: HashMap<(u32, u32), u32>,
    buf: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    pub fn new(out: W) -> io::Result<PcapngWriter<W>> {
        let mut w = PcapngWriter {
            out: io::BufWriter::with_capacity(1 << 16, out),
            interfaces: HashMap::new(),
            buf: Vec::new(),
        };
        let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        option(&mut body, 4, concat!("acrscope ", env!("CARGO_PKG_VERSION")).as_bytes());
        end_of_options(&mut body);
        w.block(0x0a0d_0d0a, &body)?;
        Ok(w)
    }

    /// One packet of source interface `interface` (in source `section`), its timestamp
    /// `raw_ts` in that interface's units.
    #[allow(clippy::too_many_arguments)]
    pub fn packet(
        &mut self,
        section: u32,
        interface: u32,
        desc: InterfaceDesc,
        raw_ts: u64,
        orig_len: u32,
        data: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
        let next = self.interfaces.len() as u32;
        let id = match self.interfaces.get(&(section, interface)) {
            Some(&id) => id,
            None => {
                self.interface_block(desc)?;
                self.interfaces.insert((section, interface), next);
                next
            }
        };
        let mut body = std::mem::take(&mut self.buf);
        body.clear();
        body.extend_from_slice(&id.to_le_bytes());
        body.extend_from_slice(&((raw_ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(raw_ts as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&orig_len.to_le_bytes());
        body.extend_from_slice(data);
        pad(&mut body);
        if let Some(c) = comment {
            option(&mut body, 1, c.as_bytes());
            end_of_options(&mut body);
        }
        let r = self.block(6, &body);
        self.buf = body;
        r
    }

    fn interface_block(&mut self, d: InterfaceDesc) -> io::Result<()> {
        let mut body = d.link_type.to_le_bytes().to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&d.snaplen.to_le_bytes());
        option(&mut body, 9, &[d.tsresol]);
        if d.offset_secs != 0 {
            option(&mut body, 14, &d.offset_secs.to_le_bytes());
        }
        end_of_options(&mut body);
        self.block(1, &body)
    }

    fn block(&mut self, btype: u32, body: &[u8]) -> io::Result<()> {
        let len = (body.len() + 12) as u32;
        self.out.write_all(&btype.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(body)?;
        self.out.write_all(&len.to_le_bytes())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn pad(b: &mut Vec<u8>) {
    b.resize(b.len().next_multiple_of(4), 0);
}

/// A pcapng option: code, length, value padded to 4 bytes (a comment longer than an option
/// can hold is cut at a character boundary).
fn option(b: &mut Vec<u8>, code: u16, value: &[u8]) {
    let mut v = value;
    if v.len() > usize::from(u16::MAX) - 3 {
        let s = String::from_utf8_lossy(v);
        let mut end = usize::from(u16::MAX) - 3;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        v = &value[..end];
    }
    b.extend_from_slice(&code.to_le_bytes());
    b.extend_from_slice(&(v.len() as u16).to_le_bytes());
    b.extend_from_slice(v);
    pad(b);
}

fn end_of_options(b: &mut Vec<u8>) {
    b.extend_from_slice(&[0, 0, 0, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_with_its_interfaces_and_times() {
        let mut out = Vec::new();
        let mut w = PcapngWriter::new(&mut out).unwrap();
        let micro = InterfaceDesc { link_type: 1, tsresol: 6, offset_secs: 0, snaplen: 65535 };
        let pow2 = InterfaceDesc { link_type: 276, tsresol: 0x80 | 20, offset_secs: 0, snaplen: 0 };
        w.packet(0, 0, micro, 1_700_000_000_123_456, 60, b"eth-frame", Some("acrscope host=a.example")).unwrap();
        w.packet(0, 3, pow2, 5 << 20, 4, b"sll2", None).unwrap();
        w.packet(0, 0, micro, 1_700_000_000_123_457, 3, b"abc", Some("é")).unwrap();
        w.finish().unwrap();
        let mut r =
            crate::capture::file::FileReader::from_reader(Box::new(std::io::Cursor::new(out)), "t".into()).unwrap();
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.ts_ns, f.link_type, f.interface, f.orig_len, f.data),
            (1_700_000_000_123_456_000, 1, 0, 60, &b"eth-frame"[..])
        );
        assert_eq!(r.raw_ts(), 1_700_000_000_123_456);
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.ts_ns, f.link_type, f.interface, f.data), (5_000_000_000, 276, 1, &b"sll2"[..]));
        assert_eq!(r.interface(1).unwrap().tsresol, 0x80 | 20);
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.interface, f.data), (0, &b"abc"[..]));
        assert!(r.next_frame().unwrap().is_none());
        assert_eq!(r.warning_count(), 0);
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
