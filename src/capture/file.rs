//! Capture files: classic pcap and pcapng, read in pure Rust through one large buffer that
//! frames are sliced out of (no copy per record).
//! libpcap refuses pcapng files whose interfaces have different link types; this reader keeps
//! a link type per interface. The format is told by the magic number, never the extension.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::blocks::{Block, Blocks, HEAD};
use super::Frame;

/// A captured packet longer than this is taken as a corrupt length field (libpcap's limit).
pub const MAX_PACKET: usize = 256 * 1024;
/// A pcapng block longer than this is taken as corrupt.
const MAX_BLOCK: usize = 16 * 1024 * 1024;
/// Located reader warnings kept; their count is always complete.
const MAX_WARNINGS: usize = 100;
/// Packet comments longer than this are not passed on (acrscope's own are a few hundred
/// bytes; what reads them needs no more).
pub const MAX_COMMENT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap { nanos: bool, big_endian: bool },
    PcapNg,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{name}: {source}")]
    Io { name: String, source: std::io::Error },
    /// Reading failed part-way (a disk or network file system error).
    #[error("{name}: read error at byte offset {offset} (frame {frame}): {source}")]
    Read { name: String, offset: u64, frame: u64, source: std::io::Error },
    #[error(
        "{name}: not a pcap or pcapng capture (it starts with {}); save captures with tcpdump -w or Wireshark",
        hex(magic)
    )]
    NotACapture { name: String, magic: Vec<u8> },
    #[error("{name}: file cut short inside a {what} at byte offset {offset} (frame {frame})")]
    Truncated { name: String, offset: u64, frame: u64, what: &'static str },
    #[error("{name}: corrupt at byte offset {offset} (frame {frame}): {reason}")]
    Corrupt { name: String, offset: u64, frame: u64, reason: String },
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "nothing: the file is empty".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

/// Something skipped that did not stop reading.
#[derive(Debug, Clone)]
pub struct ReaderWarning {
    pub kind: &'static str,
    pub offset: u64,
    pub frame: Option<u64>,
    pub message: String,
}

/// A capture interface as the file describes it: what a writer needs to keep its frames'
/// link type and timestamps exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceDesc {
    pub link_type: u16,
    /// pcapng's if_tsresol byte (6: microseconds, 9: nanoseconds, 0x80 | n: 2^-n seconds).
    pub tsresol: u8,
    /// pcapng's if_tsoffset, in seconds.
    pub offset_secs: i64,
    /// pcap's snapshot length (0 when the file does not say).
    pub snaplen: u32,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u16,
    tsresol: u8,
    snaplen: u32,
    /// Timestamp units per second, as a (base, exponent) pair: 10^6 by default.
    units_per_sec: u128,
    offset_secs: i64,
}

pub struct FileReader {
    name: String,
    input: Blocks,
    format: Format,
    big_endian: bool,
    /// pcap only: link type and timestamp unit of the single interface.
    pcap_link: u16,
    /// pcap only: the snapshot length the header declares.
    snaplen: u32,
    /// pcap only: how the writer ordered the two length fields (see `pcap_header`).
    lengths: Lengths,
    interfaces: Vec<Interface>,
    /// Bytes read from the input and not consumed yet are `chunk[pos..end]`: the current
    /// block, with the rest of the one before it just in front.
    chunk: Vec<u8>,
    pos: usize,
    end: usize,
    /// The input has ended.
    eof: bool,
    /// The body of the record or block read last is `chunk[body_at..body_at + body_len]`.
    body_at: usize,
    body_len: usize,
    /// Bytes consumed from the input.
    offset: u64,
    frames: u64,
    last_ts: i64,
    /// The last frame's timestamp in its interface's units, before any conversion.
    last_raw_ts: u64,
    /// pcapng sections begun (interface ids count from 0 again in each).
    section: u32,
    /// Where the comment of the packet block read last is in its body (pcapng only): valid
    /// UTF-8, at most [`MAX_COMMENT`] bytes.
    comment_at: Option<(usize, usize)>,
    done: bool,
    warnings: Vec<ReaderWarning>,
    warning_count: u64,
    /// Every warning counted by kind, including those beyond the located ones kept.
    warning_counts: BTreeMap<&'static str, u64>,
}

impl FileReader {
    pub fn open(path: &Path) -> Result<FileReader, CaptureError> {
        let name = path.display().to_string();
        let io = |source| CaptureError::Io { name: name.clone(), source };
        let f = File::open(path).map_err(io)?;
        let input = Blocks::ahead(Box::new(f), None).map_err(io)?;
        FileReader::with_blocks(input, name)
    }

    /// Reads `r` ahead on a thread of its own (a file, a pipe, a decompressor).
    pub fn read_ahead(
        r: Box<dyn Read + Send>,
        name: String,
        wake: Option<std::sync::Arc<tokio::sync::Notify>>,
    ) -> Result<FileReader, CaptureError> {
        let input = Blocks::ahead(r, wake).map_err(|source| CaptureError::Io { name: name.clone(), source })?;
        FileReader::with_blocks(input, name)
    }

    /// Reads `r` on the caller's thread (in-memory data, tests, fuzzing).
    pub fn from_reader(r: Box<dyn Read + Send>, name: String) -> Result<FileReader, CaptureError> {
        FileReader::with_blocks(Blocks::direct(r), name)
    }

    fn with_blocks(input: Blocks, name: String) -> Result<FileReader, CaptureError> {
        let mut rd = FileReader {
            name,
            input,
            format: Format::PcapNg,
            big_endian: false,
            pcap_link: 0,
            snaplen: 0,
            lengths: Lengths::Normal,
            interfaces: Vec::new(),
            chunk: Vec::new(),
            pos: 0,
            end: 0,
            eof: false,
            body_at: 0,
            comment_at: None,
            body_len: 0,
            offset: 0,
            frames: 0,
            last_ts: 0,
            last_raw_ts: 0,
            section: 0,
            done: false,
            warnings: Vec::new(),
            warning_count: 0,
            warning_counts: BTreeMap::new(),
        };
        let mut magic = [0u8; 4];
        let got = rd.fill(&mut magic)?;
        if got < 4 {
            return Err(CaptureError::NotACapture { name: rd.name, magic: magic[..got].to_vec() });
        }
        match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => rd.pcap_header(false, false)?,
            [0xa1, 0xb2, 0xc3, 0xd4] => rd.pcap_header(false, true)?,
            [0x4d, 0x3c, 0xb2, 0xa1] => rd.pcap_header(true, false)?,
            [0xa1, 0xb2, 0x3c, 0x4d] => rd.pcap_header(true, true)?,
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                rd.format = Format::PcapNg;
                rd.section_header(magic)?;
            }
            _ => return Err(CaptureError::NotACapture { name: rd.name, magic: magic.to_vec() }),
        }
        Ok(rd)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn bytes_read(&self) -> u64 {
        self.offset
    }

    pub fn warnings(&self) -> &[ReaderWarning] {
        &self.warnings
    }

    /// All reader warnings, including those beyond the located ones kept.
    pub fn warning_count(&self) -> u64 {
        self.warning_count
    }

    /// Interface `id` of the current section.
    pub fn interface(&self, id: u32) -> Option<InterfaceDesc> {
        self.interfaces.get(id as usize).map(|i| InterfaceDesc {
            link_type: i.link_type,
            tsresol: i.tsresol,
            offset_secs: i.offset_secs,
            snaplen: i.snaplen,
        })
    }

    /// The timestamp of the frame read last, in its interface's units as the file holds it.
    pub fn raw_ts(&self) -> u64 {
        self.last_raw_ts
    }

    /// The comment (pcapng `opt_comment`, Wireshark's `frame.comment`) of the frame read last:
    /// the first one, if it is UTF-8 as the format requires (as [`Frame::comment`] has it).
    pub fn comment(&self) -> Option<&str> {
        let (a, b) = self.comment_at?;
        std::str::from_utf8(self.body().get(a..b)?).ok()
    }

    /// Which pcapng section the frame read last is in (interface ids are per section).
    pub fn section(&self) -> u32 {
        self.section
    }

    /// All reader warnings by kind.
    pub fn warning_counts(&self) -> &BTreeMap<&'static str, u64> {
        &self.warning_counts
    }

    /// Whether [`Self::next_frame`] can answer without waiting for the input: a whole record
    /// is buffered, the input has a block ready, or the input has ended. A reader of a pipe
    /// asks this before taking a lock it would otherwise hold while the writer is idle.
    pub fn ready(&mut self) -> bool {
        if self.done || self.eof || self.whole_record_buffered() {
            return true;
        }
        self.input.ready()
    }

    fn whole_record_buffered(&self) -> bool {
        let b = &self.chunk[self.pos..self.end];
        match self.format {
            Format::Pcap { .. } => {
                if b.len() < 16 {
                    return false;
                }
                let (incl, orig) = (self.u32_at(b, 8) as usize, self.u32_at(b, 12) as usize);
                let incl = match self.lengths {
                    Lengths::Normal => incl,
                    Lengths::Swapped => orig,
                    Lengths::MaybeSwapped => incl.min(orig),
                };
                b.len() >= 16 + incl
            }
            Format::PcapNg => b.len() >= 8 && b.len() >= self.u32_at(b, 4) as usize,
        }
    }

    /// The next frame, `Ok(None)` at the end. After an error, always `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        self.comment_at = None;
        let r = match self.format {
            Format::Pcap { .. } => self.next_pcap(),
            Format::PcapNg => self.next_pcapng(),
        };
        match r {
            Ok(Some(m)) => Ok(Some(Frame {
                number: self.frames,
                ts_ns: m.ts_ns,
                link_type: m.link_type,
                interface: m.interface,
                orig_len: m.orig_len,
                offset: m.offset,
                data: &self.body()[m.start..m.end],
                comment: self.comment(),
            })),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    // ---- low level -------------------------------------------------------------------------

    /// Makes `n` bytes available at `chunk[pos..]`, fewer only where the input ends.
    fn ensure(&mut self, n: usize) -> Result<(), CaptureError> {
        while self.end - self.pos < n && !self.eof {
            match self.input.next_block() {
                None => self.eof = true,
                Some(Ok(block)) => self.append(block),
                Some(Err(source)) => {
                    self.eof = true;
                    // Where the input failed: past what was consumed and what is buffered.
                    let offset = self.offset + (self.end - self.pos) as u64;
                    let (name, frame) = (self.name.clone(), self.frames + 1);
                    return Err(CaptureError::Read { name, offset, frame, source });
                }
            }
        }
        Ok(())
    }

    /// Puts `block` after the unconsumed bytes.
    fn append(&mut self, block: Block) {
        let left = self.end - self.pos;
        if left <= HEAD {
            // The usual case: the rest of a record goes in the room before the new data and
            // the new block becomes the buffer.
            let mut buf = block.buf;
            buf[HEAD - left..HEAD].copy_from_slice(&self.chunk[self.pos..self.end]);
            let old = std::mem::replace(&mut self.chunk, buf);
            self.input.recycle(old);
            self.pos = HEAD - left;
            self.end = HEAD + block.len;
        } else {
            // A record longer than the room (a large pcapng block) grows the buffer instead.
            self.chunk.copy_within(self.pos..self.end, 0);
            self.chunk.truncate(left);
            self.chunk.extend_from_slice(&block.buf[HEAD..HEAD + block.len]);
            self.pos = 0;
            self.end = self.chunk.len();
            self.input.recycle(block.buf);
        }
    }

    /// Consumes up to `n` bytes; how many there were.
    fn consume(&mut self, n: usize) -> usize {
        let got = n.min(self.end - self.pos);
        self.pos += got;
        self.offset += got as u64;
        got
    }

    /// Reads as many bytes as are there, up to `out.len()`.
    fn fill(&mut self, out: &mut [u8]) -> Result<usize, CaptureError> {
        self.ensure(out.len())?;
        let at = self.pos;
        let got = self.consume(out.len());
        out[..got].copy_from_slice(&self.chunk[at..at + got]);
        Ok(got)
    }

    /// Reads exactly `n` bytes as the current body ([`Self::body`]); a short read is `Truncated`.
    fn fill_buf(&mut self, n: usize, start: u64, what: &'static str) -> Result<(), CaptureError> {
        self.ensure(n)?;
        self.body_at = self.pos;
        self.body_len = self.consume(n);
        if self.body_len < n {
            return Err(self.truncated(start, what));
        }
        Ok(())
    }

    /// The record or block body read last by `fill_buf`.
    fn body(&self) -> &[u8] {
        &self.chunk[self.body_at..self.body_at + self.body_len]
    }

    fn truncated(&self, offset: u64, what: &'static str) -> CaptureError {
        CaptureError::Truncated { name: self.name.clone(), offset, frame: self.frames + 1, what }
    }

    fn corrupt(&self, offset: u64, reason: String) -> CaptureError {
        CaptureError::Corrupt { name: self.name.clone(), offset, frame: self.frames + 1, reason }
    }

    fn warn(&mut self, kind: &'static str, offset: u64, frame: Option<u64>, message: String) {
        self.warning_count += 1;
        *self.warning_counts.entry(kind).or_insert(0) += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(ReaderWarning { kind, offset, frame, message });
        }
    }

    fn u16_at(&self, b: &[u8], at: usize) -> u16 {
        let x = [b[at], b[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(x)
        } else {
            u16::from_le_bytes(x)
        }
    }

    fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let x = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(x)
        } else {
            u32::from_le_bytes(x)
        }
    }

    // ---- pcap ------------------------------------------------------------------------------

    fn pcap_header(&mut self, nanos: bool, big_endian: bool) -> Result<(), CaptureError> {
        self.format = Format::Pcap { nanos, big_endian };
        self.big_endian = big_endian;
        let mut rest = [0u8; 20];
        if self.fill(&mut rest)? < 20 {
            return Err(self.truncated(0, "global header"));
        }
        // Writers of format versions before 2.3 put the original length first; 2.3 files come
        // both ways (libpcap and Wireshark read them with the same rule).
        let (major, minor) = (self.u16_at(&rest, 0), self.u16_at(&rest, 2));
        self.lengths = match (major, minor) {
            (0..=1, _) | (2, 0..=2) => Lengths::Swapped,
            (2, 3) => Lengths::MaybeSwapped,
            _ => Lengths::Normal,
        };
        // Upper bits of the link-type field carry FCS length flags; the type is the low 16.
        self.pcap_link = (self.u32_at(&rest, 16) & 0xffff) as u16;
        self.snaplen = self.u32_at(&rest, 12);
        self.interfaces = vec![Interface {
            link_type: self.pcap_link,
            units_per_sec: if nanos { 1_000_000_000 } else { 1_000_000 },
            offset_secs: 0,
            tsresol: if nanos { 9 } else { 6 },
            snaplen: self.snaplen,
        }];
        Ok(())
    }

    fn next_pcap(&mut self) -> Result<Option<Meta>, CaptureError> {
        let start = self.offset;
        self.ensure(16)?;
        // Read in place: a 16-byte copy through `fill` costs a memmove call per packet.
        let Some(&hdr) = self.chunk[self.pos..self.end].first_chunk::<16>() else {
            let got = self.consume(16);
            return if got == 0 { Ok(None) } else { Err(self.truncated(start, "record header")) };
        };
        self.consume(16);
        let secs = self.u32_at(&hdr, 0);
        let frac = self.u32_at(&hdr, 4);
        let (mut incl, mut orig) = (self.u32_at(&hdr, 8), self.u32_at(&hdr, 12));
        if self.lengths == Lengths::Swapped || (self.lengths == Lengths::MaybeSwapped && incl > orig) {
            std::mem::swap(&mut incl, &mut orig);
        }
        let incl = incl as usize;
        if incl > MAX_PACKET {
            return Err(self.corrupt(start, format!("record claims {incl} captured bytes (limit {MAX_PACKET})")));
        }
        if self.snaplen > 0 && incl > self.snaplen as usize {
            // Read all the same, as libpcap and Wireshark do: some writers put a wrong snaplen.
            let (frame, snaplen) = (self.frames + 1, self.snaplen);
            let msg = format!(
                "{}: frame {frame} at byte offset {start} holds {incl} bytes, more than the snaplen {snaplen}",
                self.name
            );
            self.warn("record-over-snaplen", start, Some(frame), msg);
        }
        self.fill_buf(incl, start, "packet data")?;
        self.frames += 1;
        // pcap has only these two units: no 128-bit division per packet for them.
        let frac_ns = match self.interfaces[0].units_per_sec {
            1_000_000 => i64::from(frac) * 1_000,
            1_000_000_000 => i64::from(frac),
            unit => (u128::from(frac) * 1_000_000_000 / unit) as i64,
        };
        let ts_ns = i64::from(secs) * 1_000_000_000 + frac_ns;
        self.last_ts = ts_ns;
        self.last_raw_ts = u64::from(secs) * self.interfaces[0].units_per_sec as u64 + u64::from(frac);
        Ok(Some(Meta {
            ts_ns,
            link_type: self.pcap_link,
            interface: 0,
            orig_len: orig,
            offset: start,
            start: 0,
            end: incl,
        }))
    }

    // ---- pcapng ----------------------------------------------------------------------------

    /// Reads a Section Header Block whose magic was read already.
    fn section_header(&mut self, _magic: [u8; 4]) -> Result<(), CaptureError> {
        let start = self.offset - 4;
        let mut len = [0u8; 4];
        if self.fill(&mut len)? < 4 {
            return Err(self.truncated(start, "section header block"));
        }
        self.rest_of_section(start, len)
    }

    /// The rest of a Section Header Block after its magic and length: the byte-order magic
    /// decides how every later number of the section is read.
    fn rest_of_section(&mut self, start: u64, len_bytes: [u8; 4]) -> Result<(), CaptureError> {
        let mut bom = [0u8; 4];
        if self.fill(&mut bom)? < 4 {
            return Err(self.truncated(start, "section header block"));
        }
        self.big_endian = match bom {
            [0x1a, 0x2b, 0x3c, 0x4d] => true,
            [0x4d, 0x3c, 0x2b, 0x1a] => false,
            _ => return Err(self.corrupt(start, "section header without a byte-order magic".into())),
        };
        let len = self.u32_at(&len_bytes, 0) as usize;
        if len < 28 || len % 4 != 0 || len > MAX_BLOCK {
            return Err(self.corrupt(start, format!("section header block length {len}")));
        }
        self.fill_buf(len - 12, start, "section header block")?;
        self.interfaces.clear();
        self.section += 1;
        Ok(())
    }

    fn next_pcapng(&mut self) -> Result<Option<Meta>, CaptureError> {
        loop {
            let start = self.offset;
            let mut hdr = [0u8; 8];
            let got = self.fill(&mut hdr)?;
            if got == 0 {
                return Ok(None);
            }
            if got < 8 {
                return Err(self.truncated(start, "block header"));
            }
            if hdr[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                // A new section: byte order and interfaces start afresh.
                self.rest_of_section(start, [hdr[4], hdr[5], hdr[6], hdr[7]])?;
                continue;
            }
            let btype = self.u32_at(&hdr, 0);
            let len = self.u32_at(&hdr, 4) as usize;
            if len < 12 || len % 4 != 0 || len > MAX_BLOCK {
                return Err(self.corrupt(start, format!("block of type 0x{btype:08x} has length {len}")));
            }
            self.fill_buf(len - 8, start, "block")?;
            let body_len = len - 12;
            let trailer = self.u32_at(self.body(), body_len) as usize;
            if trailer != len {
                return Err(self.corrupt(start, format!("block length {len} but trailing length {trailer}")));
            }
            match btype {
                1 => self.interface_block(start, body_len)?,
                6 => {
                    if let Some(m) = self.packet_block(start, body_len, 20, true)? {
                        return Ok(Some(m));
                    }
                }
                2 => {
                    // Obsolete Packet Block: interface id is 16 bits, then drops count.
                    if let Some(m) = self.packet_block(start, body_len, 20, false)? {
                        return Ok(Some(m));
                    }
                }
                3 => {
                    if let Some(m) = self.simple_block(start, body_len)? {
                        return Ok(Some(m));
                    }
                }
                // Name resolution, interface statistics, decryption secrets, custom blocks:
                // nothing we need.
                4 | 5 | 0x0a | 0x0bad | 0x4000_0bad | 0x8000_0001 => {}
                other => self.warn(
                    "pcapng-unknown-block",
                    start,
                    None,
                    format!("{}: unknown pcapng block type 0x{other:08x} at byte offset {start} skipped", self.name),
                ),
            }
        }
    }

    fn interface_block(&mut self, start: u64, body_len: usize) -> Result<(), CaptureError> {
        if body_len < 8 {
            return Err(self.corrupt(start, "interface description block too short".into()));
        }
        let link_type = self.u16_at(self.body(), 0);
        let snaplen = self.u32_at(self.body(), 4);
        let mut iface = Interface { link_type, units_per_sec: 1_000_000, offset_secs: 0, tsresol: 6, snaplen };
        // Options: code (2), length (2), value padded to 4.
        let mut at = 8;
        while at + 4 <= body_len {
            let code = self.u16_at(self.body(), at);
            let olen = self.u16_at(self.body(), at + 2) as usize;
            let v = at + 4;
            if code == 0 || v + olen > body_len {
                break;
            }
            match (code, olen) {
                (9, 1) => {
                    let r = self.body()[v];
                    iface.tsresol = r;
                    let exp = u32::from(r & 0x7f);
                    iface.units_per_sec = if r & 0x80 != 0 {
                        if exp > 64 {
                            0
                        } else {
                            1u128 << exp
                        }
                    } else {
                        10u128.checked_pow(exp).unwrap_or(0)
                    };
                    if iface.units_per_sec == 0 {
                        self.warn(
                            "pcapng-bad-tsresol",
                            start,
                            None,
                            format!("{}: interface at byte offset {start} has an unusable if_tsresol {r}", self.name),
                        );
                        iface.units_per_sec = 1_000_000;
                        iface.tsresol = 6;
                    }
                }
                (14, 8) => {
                    let b = &self.body()[v..v + 8];
                    let x = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                    iface.offset_secs = if self.big_endian { i64::from_be_bytes(x) } else { i64::from_le_bytes(x) };
                }
                _ => {}
            }
            at = v + olen.div_ceil(4) * 4;
        }
        self.interfaces.push(iface);
        Ok(())
    }

    fn packet_block(
        &mut self,
        start: u64,
        body_len: usize,
        fixed: usize,
        epb: bool,
    ) -> Result<Option<Meta>, CaptureError> {
        if body_len < fixed {
            return Err(self.corrupt(start, "packet block too short".into()));
        }
        let iface_id = if epb { self.u32_at(self.body(), 0) } else { u32::from(self.u16_at(self.body(), 0)) };
        let hi = self.u32_at(self.body(), 4);
        let lo = self.u32_at(self.body(), 8);
        let caplen = self.u32_at(self.body(), 12) as usize;
        let orig = self.u32_at(self.body(), 16);
        if caplen > MAX_PACKET {
            return Err(
                self.corrupt(start, format!("packet block claims {caplen} captured bytes (limit {MAX_PACKET})"))
            );
        }
        if fixed + caplen > body_len {
            return Err(
                self.corrupt(start, format!("packet block of {body_len} bytes cannot hold {caplen} captured bytes"))
            );
        }
        self.frames += 1;
        let Some(iface) = self.interfaces.get(iface_id as usize).copied() else {
            let msg = format!(
                "{}: frame {} at byte offset {start} names interface {iface_id}, which is not defined; skipped",
                self.name, self.frames
            );
            self.warn("pcapng-unknown-interface", start, Some(self.frames), msg);
            return Ok(None);
        };
        let raw = (u128::from(hi) << 32) | u128::from(lo);
        self.last_raw_ts = (u64::from(hi) << 32) | u64::from(lo);
        let secs = raw / iface.units_per_sec;
        let frac = raw % iface.units_per_sec;
        let ns = (secs as i128) * 1_000_000_000
            + (frac * 1_000_000_000 / iface.units_per_sec) as i128
            + i128::from(iface.offset_secs) * 1_000_000_000;
        let ts_ns = ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        self.last_ts = ts_ns;
        self.comment_at = self.packet_comment(start, fixed + caplen.div_ceil(4) * 4);
        Ok(Some(Meta {
            ts_ns,
            link_type: iface.link_type,
            interface: iface_id,
            orig_len: orig,
            offset: start,
            start: fixed,
            end: fixed + caplen,
        }))
    }

    /// Where the first `opt_comment` among the options from `at` is. An option that runs past
    /// its block, a comment that is not UTF-8 or longer than [`MAX_COMMENT`]: a counted
    /// warning, and no comment (the packet itself is read as usual).
    fn packet_comment(&mut self, start: u64, mut at: usize) -> Option<(usize, usize)> {
        // The block's trailing length is not part of the options.
        let end = self.body().len().checked_sub(4)?;
        let mut found = None;
        let mut trouble = None;
        while at + 4 <= end {
            let (code, len) = (self.u16_at(self.body(), at), usize::from(self.u16_at(self.body(), at + 2)));
            let v = at + 4;
            if code == 0 {
                break;
            }
            if v + len > end {
                trouble = Some(("pcapng-bad-option", format!("option {code} of {len} bytes runs past its block")));
                break;
            }
            if code == 1 && found.is_none() {
                if len > MAX_COMMENT {
                    trouble = Some(("pcapng-long-comment", format!("a comment of {len} bytes (limit {MAX_COMMENT})")));
                } else if std::str::from_utf8(&self.body()[v..v + len]).is_err() {
                    trouble = Some(("pcapng-bad-comment", "a comment that is not UTF-8".into()));
                } else {
                    found = Some((v, v + len));
                }
            }
            at = v + len.div_ceil(4) * 4;
        }
        if let Some((kind, what)) = trouble {
            let msg = format!("{}: frame {} at byte offset {start}: {what}; ignored", self.name, self.frames);
            self.warn(kind, start, Some(self.frames), msg);
            if kind == "pcapng-bad-option" {
                return None;
            }
        }
        found
    }

    fn simple_block(&mut self, start: u64, body_len: usize) -> Result<Option<Meta>, CaptureError> {
        if body_len < 4 {
            return Err(self.corrupt(start, "simple packet block too short".into()));
        }
        let orig = self.u32_at(self.body(), 0);
        self.frames += 1;
        let Some(iface) = self.interfaces.first().copied() else {
            let msg = format!(
                "{}: frame {} at byte offset {start} comes before any interface; skipped",
                self.name, self.frames
            );
            self.warn("pcapng-unknown-interface", start, Some(self.frames), msg);
            return Ok(None);
        };
        // The captured length is the smaller of the original length and what the block holds.
        let caplen = (orig as usize).min(body_len - 4);
        Ok(Some(Meta {
            ts_ns: self.last_ts,
            link_type: iface.link_type,
            interface: 0,
            orig_len: orig,
            offset: start,
            start: 4,
            end: 4 + caplen,
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lengths {
    Normal,
    Swapped,
    MaybeSwapped,
}

/// Where a frame sits in the reusable buffer, and its header fields.
struct Meta {
    ts_ns: i64,
    link_type: u16,
    interface: u32,
    orig_len: u32,
    offset: u64,
    start: usize,
    end: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: Vec<u8>) -> Result<FileReader, CaptureError> {
        FileReader::from_reader(Box::new(std::io::Cursor::new(bytes)), "test.cap".into())
    }

    fn pcap(magic: u32, be: bool, version: (u16, u16), records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let w16 = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut f = Vec::new();
        f.extend_from_slice(&w32(magic));
        f.extend_from_slice(&w16(version.0));
        f.extend_from_slice(&w16(version.1));
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&w32(65535));
        f.extend_from_slice(&w32(0x4000_0001)); // Ethernet, with FCS flag bits set
        for (s, frac, data) in records {
            f.extend_from_slice(&w32(*s));
            f.extend_from_slice(&w32(*frac));
            f.extend_from_slice(&w32(data.len() as u32));
            f.extend_from_slice(&w32(data.len() as u32 + 10));
            f.extend_from_slice(data);
        }
        f
    }

    /// Frame number, time, link type, interface and bytes of a frame read.
    type Read = (u64, i64, u16, u32, Vec<u8>);

    fn all(mut r: FileReader) -> (Vec<Read>, Option<CaptureError>) {
        let mut out = Vec::new();
        loop {
            match r.next_frame() {
                Ok(Some(f)) => out.push((f.number, f.ts_ns, f.link_type, f.interface, f.data.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn pcap_micro_and_nano_both_byte_orders() {
        for (magic, be, nanos) in
            [(0xa1b2c3d4, false, false), (0xa1b2c3d4, true, false), (0xa1b23c4d, false, true), (0xa1b23c4d, true, true)]
        {
            let f = pcap(magic, be, (2, 4), &[(10, 250, b"abc"), (11, 0, b"de")]);
            let r = reader(f).unwrap();
            assert_eq!(r.format(), Format::Pcap { nanos, big_endian: be });
            let (frames, err) = all(r);
            assert!(err.is_none());
            let frac_ns = if nanos { 250 } else { 250_000 };
            assert_eq!(frames[0], (1, 10_000_000_000 + frac_ns, 1, 0, b"abc".to_vec()));
            assert_eq!(frames[1].0, 2);
            assert_eq!(frames[1].4, b"de");
        }
    }

    #[test]
    fn old_pcap_versions_have_swapped_lengths() {
        let mut f = pcap(0xa1b2c3d4, false, (2, 2), &[]);
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&900u32.to_le_bytes()); // original length first
        f.extend_from_slice(&4u32.to_le_bytes());
        f.extend_from_slice(b"wxyz");
        let (frames, err) = all(reader(f).unwrap());
        assert!(err.is_none());
        assert_eq!(frames[0].4, b"wxyz");
    }

    #[test]
    fn cuts_are_located() {
        let full = pcap(0xa1b2c3d4, false, (2, 4), &[(1, 0, b"0123456789"), (2, 0, b"abcdefghij")]);
        // Inside the global header.
        match reader(full[..10].to_vec()) {
            Err(CaptureError::Truncated { offset: 0, what: "global header", .. }) => {}
            other => panic!("{:?}", other.err()),
        }
        // Inside the second record's header, then inside its data.
        for (cut, what) in [(24 + 26 + 5, "record header"), (24 + 26 + 16 + 3, "packet data")] {
            let (frames, err) = all(reader(full[..cut].to_vec()).unwrap());
            assert_eq!(frames.len(), 1);
            match err {
                Some(CaptureError::Truncated { offset: 50, frame: 2, what: w, .. }) => assert_eq!(w, what),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn oversized_record_is_corrupt_and_keeps_what_came_before() {
        let mut f = pcap(0xa1b2c3d4, false, (2, 4), &[(1, 0, b"ok")]);
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&(4u32 << 20).to_le_bytes());
        f.extend_from_slice(&(4u32 << 20).to_le_bytes());
        f.extend_from_slice(&[0; 64]);
        let (frames, err) = all(reader(f).unwrap());
        assert_eq!(frames.len(), 1);
        let e = err.unwrap();
        assert!(matches!(e, CaptureError::Corrupt { offset: 42, frame: 2, .. }), "{e}");
        assert!(e.to_string().contains("byte offset 42"));
    }

    #[test]
    fn garbage_appended_is_a_located_error() {
        let mut f = pcap(0xa1b2c3d4, false, (2, 4), &[(1, 0, b"ok")]);
        f.extend_from_slice(&[0xff; 40]);
        let (frames, err) = all(reader(f).unwrap());
        assert_eq!(frames.len(), 1);
        assert!(matches!(err, Some(CaptureError::Corrupt { frame: 2, .. })));
    }

    /// Gives `ok` bytes of `data`, then fails.
    struct Failing {
        data: std::io::Cursor<Vec<u8>>,
        ok: u64,
    }

    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let left = self.ok.saturating_sub(self.data.position());
            if left == 0 {
                return Err(std::io::Error::other("device gone"));
            }
            let n = buf.len().min(left as usize);
            std::io::Read::read(&mut self.data, &mut buf[..n])
        }
    }

    #[test]
    fn read_error_names_the_file_and_offset() {
        let f = pcap(0xa1b2c3d4, false, (2, 4), &[(1, 0, b"0123456789"), (2, 0, b"abcdefghij")]);
        let input = Failing { data: std::io::Cursor::new(f), ok: 55 };
        let (frames, err) = all(FileReader::from_reader(Box::new(input), "disk.pcap".into()).unwrap());
        assert_eq!(frames.len(), 1);
        let e = err.unwrap();
        assert!(matches!(e, CaptureError::Read { offset: 55, frame: 2, .. }), "{e:?}");
        assert_eq!(e.to_string(), "disk.pcap: read error at byte offset 55 (frame 2): device gone");
    }

    #[test]
    fn not_a_capture() {
        let e = reader(b"hello, this is text\n".to_vec()).err().unwrap();
        assert!(matches!(e, CaptureError::NotACapture { .. }));
        assert!(e.to_string().contains("68 65 6c 6c"), "{e}");
        assert!(matches!(reader(Vec::new()).err().unwrap(), CaptureError::NotACapture { .. }));
    }

    // ---- pcapng ----

    fn block(btype: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = (body.len() + 12) as u32;
        let mut b = btype.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    fn shb() -> Vec<u8> {
        let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&(-1i64).to_le_bytes());
        block(0x0a0d_0d0a, &body)
    }

    fn idb(link: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = link.to_le_bytes().to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&0u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[r, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]);
        }
        block(1, &body)
    }

    fn epb(iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        block(6, &body)
    }

    #[test]
    fn pcapng_interfaces_with_their_own_link_types_and_resolutions() {
        let mut f = shb();
        f.extend(idb(1, Some(9))); // Ethernet, nanoseconds
        f.extend(idb(276, Some(0x80 | 20))); // SLL2, 2^-20 s
        f.extend(epb(0, 1_500_000_000, b"eth"));
        f.extend(block(0x0bad_f00d, b"mystery")); // unknown: skipped, counted
        f.extend(epb(1, 3 << 20, b"sll2"));
        let mut spb = 3u32.to_le_bytes().to_vec();
        spb.extend_from_slice(b"spb");
        f.extend(block(3, &spb));
        let r = reader(f).unwrap();
        assert_eq!(r.format(), Format::PcapNg);
        let mut r = r;
        let mut got = Vec::new();
        while let Some(fr) = r.next_frame().unwrap() {
            got.push((fr.number, fr.ts_ns, fr.link_type, fr.interface, fr.data.to_vec()));
        }
        assert_eq!(got[0], (1, 1_500_000_000, 1, 0, b"eth".to_vec()));
        assert_eq!(got[1], (2, 3_000_000_000, 276, 1, b"sll2".to_vec()));
        assert_eq!(got[2], (3, 3_000_000_000, 1, 0, b"spb".to_vec()));
        assert_eq!(r.warning_count(), 1);
        assert_eq!(r.warnings()[0].kind, "pcapng-unknown-block");
    }

    #[test]
    fn pcapng_bad_block_length_and_undefined_interface() {
        let mut f = shb();
        f.extend(idb(1, None));
        f.extend(epb(5, 0, b"x")); // no interface 5: skipped with a warning
        f.extend(epb(0, 7, b"y"));
        let mut bad = 6u32.to_le_bytes().to_vec();
        bad.extend_from_slice(&13u32.to_le_bytes()); // not a multiple of 4
        f.extend(bad);
        let mut r = reader(f).unwrap();
        let fr = r.next_frame().unwrap().unwrap();
        assert_eq!((fr.number, fr.ts_ns, fr.data), (2, 7_000, &b"y"[..]));
        let e = r.next_frame().err().unwrap();
        assert!(matches!(e, CaptureError::Corrupt { .. }), "{e}");
        assert!(r.next_frame().unwrap().is_none());
        assert_eq!(r.warnings()[0].kind, "pcapng-unknown-interface");
    }

    #[test]
    fn pcapng_cut_inside_a_block() {
        let mut f = shb();
        f.extend(idb(1, None));
        let whole = f.len();
        f.extend(epb(0, 0, b"abcdefgh"));
        let mut r = reader(f[..whole + 20].to_vec()).unwrap();
        match r.next_frame() {
            Err(CaptureError::Truncated { offset, what: "block", .. }) => assert_eq!(offset, whole as u64),
            other => panic!("{:?}", other.map(|f| f.map(|f| f.number))),
        }
    }

    /// An EPB of `data` with these options (code, value), as they come (no end option).
    fn epb_with(data: &[u8], options: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = epb(0, 0, data)[8..].to_vec();
        body.truncate(body.len() - 4);
        for (code, v) in options {
            body.extend_from_slice(&code.to_le_bytes());
            body.extend_from_slice(&(v.len() as u16).to_le_bytes());
            body.extend_from_slice(v);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        block(6, &body)
    }

    #[test]
    fn packet_comments_are_read_and_bad_options_counted() {
        let mut f = shb();
        f.extend(idb(1, None));
        // A flags option before the comment; a second comment is not the one taken.
        f.extend(epb_with(
            b"a",
            &[(2, vec![0; 4]), (1, b"acrscope process=dockerd pid=812".to_vec()), (1, b"x".to_vec())],
        ));
        f.extend(epb(0, 0, b"b"));
        f.extend(epb_with(b"c", &[(1, vec![0xff, 0xfe])]));
        f.extend(epb_with(b"d", &[(1, vec![b'x'; MAX_COMMENT + 1])]));
        // A comment that claims more bytes than its block holds.
        let mut bad = epb_with(b"e", &[(1, b"abcd".to_vec())]);
        let at = bad.len() - 4 - 8 + 2;
        bad[at..at + 2].copy_from_slice(&200u16.to_le_bytes());
        f.extend(bad);
        f.extend(epb_with(b"f", &[(1, "é".as_bytes().to_vec())]));
        let mut r = reader(f).unwrap();
        let mut got = Vec::new();
        while let Some(fr) = r.next_frame().unwrap() {
            got.push((fr.data.to_vec(), fr.comment.map(str::to_string)));
        }
        let comments: Vec<Option<&str>> = got.iter().map(|(_, c)| c.as_deref()).collect();
        assert_eq!(comments, [Some("acrscope process=dockerd pid=812"), None, None, None, None, Some("é")]);
        assert_eq!(got.iter().map(|(d, _)| d[0]).collect::<Vec<_>>(), b"abcdef", "every packet is read");
        let kinds: Vec<&str> = r.warnings().iter().map(|w| w.kind).collect();
        assert_eq!(kinds, ["pcapng-bad-comment", "pcapng-long-comment", "pcapng-bad-option"]);
        assert!(r.warnings()[2].message.contains("frame 5"), "{:?}", r.warnings()[2]);
    }
}
