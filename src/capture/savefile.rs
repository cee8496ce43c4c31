//! Capture files written by acrscope: `live --write` (classic pcap, or pcapng with a comment
//! per packet when the name ends in `.pcapng`) and `report --annotate` (pcapng). Always to a
//! file acrscope opened itself: libpcap's own dumper wants a path (opened as whoever runs it,
//! following links) or an unsafe raw descriptor, and both formats are a few fixed-size headers
//! around the packet bytes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::file::InterfaceDesc;
use super::Frame;

const MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;

/// Classic pcap with microsecond timestamps.
pub struct PcapWriter<W: Write> {
    out: BufWriter<W>,
    snaplen: u32,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for `link_type` (a LINKTYPE_* value).
    pub fn new(out: W, link_type: u16, snaplen: u32) -> io::Result<PcapWriter<W>> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_MICROSECONDS.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        h[16..20].copy_from_slice(&snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&u32::from(link_type).to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, snaplen })
    }

    /// Appends one packet; `ts_usec` is the microseconds within `ts_sec`.
    pub fn write(&mut self, ts_sec: i64, ts_usec: i64, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let data = &data[..data.len().min(self.snaplen as usize)];
        let mut rec = [0u8; 16];
        // pcap's seconds are 32 bits; libpcap's dumper truncates them the same way.
        rec[0..4].copy_from_slice(&(ts_sec as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&(ts_usec.clamp(0, 999_999) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(data)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A pcapng writer (little-endian, one section), interfaces made as frames name them.
pub struct PcapngWriter<W: Write> {
    out: BufWriter<W>,
    /// (source section, source interface) → interface id in this file.
    interfaces: HashMap<(u32, u32), u32>,
    /// The interface of the packet before, looked up without hashing (a live capture has one).
    last: Option<((u32, u32), u32)>,
    /// The options of the packet being written (reused: no allocation per packet).
    opts: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    pub fn new(out: W) -> io::Result<PcapngWriter<W>> {
        let mut w = PcapngWriter {
            out: BufWriter::with_capacity(1 << 16, out),
            interfaces: HashMap::new(),
            last: None,
            opts: Vec::new(),
        };
        let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        option(&mut body, 4, format!("acrscope {}", crate::VERSION).as_bytes());
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
        let id = self.interface_id((section, interface), desc)?;
        self.opts.clear();
        if let Some(c) = comment {
            option(&mut self.opts, 1, c.as_bytes());
            end_of_options(&mut self.opts);
        }
        // Written in place, header, packet, padding, options: the packet bytes are not copied
        // into a block first.
        let padded = data.len().next_multiple_of(4);
        let len = (12 + 20 + padded + self.opts.len()) as u32;
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&6u32.to_le_bytes());
        head[4..8].copy_from_slice(&len.to_le_bytes());
        head[8..12].copy_from_slice(&id.to_le_bytes());
        head[12..16].copy_from_slice(&((raw_ts >> 32) as u32).to_le_bytes());
        head[16..20].copy_from_slice(&(raw_ts as u32).to_le_bytes());
        head[20..24].copy_from_slice(&(data.len() as u32).to_le_bytes());
        head[24..28].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..padded - data.len()])?;
        self.out.write_all(&self.opts)?;
        self.out.write_all(&len.to_le_bytes())
    }

    fn interface_id(&mut self, key: (u32, u32), desc: InterfaceDesc) -> io::Result<u32> {
        if let Some((k, id)) = self.last {
            if k == key {
                return Ok(id);
            }
        }
        let id = match self.interfaces.get(&key) {
            Some(&id) => id,
            None => {
                let next = self.interfaces.len() as u32;
                self.interface_block(desc)?;
                self.interfaces.insert(key, next);
                next
            }
        };
        self.last = Some((key, id));
        Ok(id)
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

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
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

/// What `live --write PATH` writes, told by the name: pcapng (with comments) for `.pcapng`,
/// classic pcap for anything else, as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    Pcap,
    Pcapng,
}

impl SaveFormat {
    pub fn for_path(path: &Path) -> SaveFormat {
        match path.extension() {
            Some(e) if e.eq_ignore_ascii_case("pcapng") => SaveFormat::Pcapng,
            _ => SaveFormat::Pcap,
        }
    }
}

/// The `live --write` file: frames appended as the capture hands them over; the first write
/// error stops the writing and is kept (the packets before it stay in the file).
pub struct Savefile {
    kind: Kind,
    error: Option<io::Error>,
}

enum Kind {
    Pcap(PcapWriter<File>),
    /// One interface, timestamps in its units (`desc.tsresol`).
    Pcapng(PcapngWriter<File>, InterfaceDesc),
}

impl Savefile {
    /// Starts the file: its header, for frames of `link_type` cut at `snaplen`, with
    /// timestamps of `tsresol` (6: microseconds, 9: nanoseconds) as the capture delivers them.
    pub fn new(file: File, format: SaveFormat, link_type: u16, snaplen: u32, tsresol: u8) -> io::Result<Savefile> {
        let kind = match format {
            SaveFormat::Pcap => Kind::Pcap(PcapWriter::new(file, link_type, snaplen)?),
            SaveFormat::Pcapng => {
                let desc = InterfaceDesc { link_type, tsresol, offset_secs: 0, snaplen };
                Kind::Pcapng(PcapngWriter::new(file)?, desc)
            }
        };
        Ok(Savefile { kind, error: None })
    }

    /// Whether the format holds a comment per packet (asking for comments costs the caller).
    pub fn takes_comments(&self) -> bool {
        matches!(self.kind, Kind::Pcapng(..))
    }

    /// Appends `frame`; `comment` goes into pcapng's `opt_comment` (pcap has no place for it).
    pub fn write(&mut self, frame: &Frame<'_>, comment: Option<&str>) {
        if self.error.is_some() {
            return;
        }
        let r = match &mut self.kind {
            Kind::Pcap(w) => {
                let (sec, ns) = (frame.ts_ns.div_euclid(1_000_000_000), frame.ts_ns.rem_euclid(1_000_000_000));
                w.write(sec, ns / 1000, frame.orig_len, frame.data)
            }
            Kind::Pcapng(w, desc) => {
                let per_unit = if desc.tsresol == 9 { 1 } else { 1000 };
                let raw_ts = u64::try_from(frame.ts_ns.div_euclid(per_unit)).unwrap_or(0);
                let data = &frame.data[..frame.data.len().min(desc.snaplen as usize)];
                let orig_len = frame.orig_len.max(data.len() as u32);
                w.packet(0, 0, *desc, raw_ts, orig_len, data, comment)
            }
        };
        if let Err(e) = r {
            self.error = Some(e);
        }
    }

    pub fn flush(&mut self) {
        if self.error.is_some() {
            return;
        }
        let r = match &mut self.kind {
            Kind::Pcap(w) => w.flush(),
            Kind::Pcapng(w, _) => w.flush(),
        };
        if let Err(e) = r {
            self.error = Some(e);
        }
    }

    /// Why writing stopped, if it did.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }
}

impl Drop for Savefile {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::FileReader;

    fn frame(number: u64, ts_ns: i64, orig_len: u32, data: &[u8]) -> Frame<'_> {
        Frame { number, ts_ns, link_type: 1, interface: 0, orig_len, offset: 0, data, comment: None }
    }

    /// Number, time, link type, length on the wire, bytes, comment.
    type Read = (u64, i64, u16, u32, Vec<u8>, Option<String>);

    fn read_back(path: &Path) -> Vec<Read> {
        let mut r = FileReader::open(path).unwrap();
        let mut got = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            let row = (f.number, f.ts_ns, f.link_type, f.orig_len, f.data.to_vec());
            got.push((row.0, row.1, row.2, row.3, row.4, r.comment().map(str::to_string)));
        }
        assert_eq!(r.warning_count(), 0);
        got
    }

    #[test]
    fn pcap_reads_back_frame_for_frame() {
        let path = std::env::temp_dir().join(format!("acrscope-savefile-{}.pcap", std::process::id()));
        assert_eq!(SaveFormat::for_path(&path), SaveFormat::Pcap);
        let mut w = Savefile::new(File::create(&path).unwrap(), SaveFormat::Pcap, 1, 262_144, 6).unwrap();
        assert!(!w.takes_comments());
        w.write(&frame(1, 1_764_342_433_442_633_000, 60, &[0xaa; 42]), Some("dropped: pcap has no comments"));
        w.write(&frame(2, 1_764_342_434_000_005_000, 9000, &[0xbb; 100]), None);
        w.flush();
        assert!(w.error().is_none());
        drop(w);
        assert_eq!(
            read_back(&path),
            vec![
                (1, 1_764_342_433_442_633_000, 1, 60, vec![0xaa; 42], None),
                (2, 1_764_342_434_000_005_000, 1, 9000, vec![0xbb; 100], None),
            ]
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn pcapng_reads_back_with_exact_times_lengths_and_comments() {
        let path = std::env::temp_dir().join(format!("acrscope-savefile-{}.PcapNG", std::process::id()));
        assert_eq!(SaveFormat::for_path(&path), SaveFormat::Pcapng);
        let mut w = Savefile::new(File::create(&path).unwrap(), SaveFormat::Pcapng, 1, 262_144, 6).unwrap();
        assert!(w.takes_comments());
        w.write(&frame(1, 1_764_342_433_442_633_000, 60, &[0xaa; 42]), Some("acrscope host=a.example role=x"));
        w.write(&frame(2, 1_764_342_434_000_005_000, 9000, &[0xbb; 101]), None);
        w.write(&frame(3, 1_764_342_435_000_000_000, 3, b"abc"), Some("é"));
        w.flush();
        assert!(w.error().is_none());
        drop(w);
        assert_eq!(
            read_back(&path),
            vec![
                (1, 1_764_342_433_442_633_000, 1, 60, vec![0xaa; 42], Some("acrscope host=a.example role=x".into())),
                (2, 1_764_342_434_000_005_000, 1, 9000, vec![0xbb; 101], None),
                (3, 1_764_342_435_000_000_000, 1, 3, b"abc".to_vec(), Some("é".into())),
            ]
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn pcapng_in_nanoseconds_keeps_them() {
        let mut out = Vec::new();
        let mut w = PcapngWriter::new(&mut out).unwrap();
        let nano = InterfaceDesc { link_type: 1, tsresol: 9, offset_secs: 0, snaplen: 65535 };
        w.packet(0, 0, nano, 1_700_000_000_123_456_789, 10, b"0123456789", Some("c")).unwrap();
        w.finish().unwrap();
        let mut r = FileReader::from_reader(Box::new(io::Cursor::new(out)), "t".into()).unwrap();
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.ts_ns, f.data), (1_700_000_000_123_456_789, &b"0123456789"[..]));
        assert_eq!(r.interface(0).unwrap().tsresol, 9);
        assert_eq!(r.comment(), Some("c"));
    }

    #[test]
    fn pcapng_interfaces_and_raw_times_are_kept() {
        let mut out = Vec::new();
        let mut w = PcapngWriter::new(&mut out).unwrap();
        let micro = InterfaceDesc { link_type: 1, tsresol: 6, offset_secs: 0, snaplen: 65535 };
        let pow2 = InterfaceDesc { link_type: 276, tsresol: 0x80 | 20, offset_secs: 0, snaplen: 0 };
        w.packet(0, 0, micro, 1_700_000_000_123_456, 60, b"eth-frame", Some("acrscope host=a.example")).unwrap();
        w.packet(0, 3, pow2, 5 << 20, 4, b"sll2", None).unwrap();
        w.packet(0, 0, micro, 1_700_000_000_123_457, 3, b"abc", Some("é")).unwrap();
        w.finish().unwrap();
        let mut r = FileReader::from_reader(Box::new(io::Cursor::new(out)), "t".into()).unwrap();
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.ts_ns, f.link_type, f.interface, f.orig_len, f.data),
            (1_700_000_000_123_456_000, 1, 0, 60, &b"eth-frame"[..])
        );
        assert_eq!(r.raw_ts(), 1_700_000_000_123_456);
        assert_eq!(r.comment(), Some("acrscope host=a.example"));
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.ts_ns, f.link_type, f.interface, f.data), (5_000_000_000, 276, 1, &b"sll2"[..]));
        assert_eq!(r.interface(1).unwrap().tsresol, 0x80 | 20);
        assert_eq!(r.comment(), None);
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.interface, f.data), (0, &b"abc"[..]));
        assert_eq!(r.comment(), Some("é"));
        assert!(r.next_frame().unwrap().is_none());
        assert_eq!(r.warning_count(), 0);
    }
}
