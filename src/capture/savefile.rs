//! The `--write` file: classic pcap (microseconds), written to a file acrscope opened itself.
//! libpcap's own dumper wants a path (opened as whoever runs it, following links) or an unsafe
//! raw descriptor; this format is 24 bytes of header and 16 per packet, so it is written here.

use std::fs::File;
use std::io::{BufWriter, Write};

const MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;

/// Packets appended to an open file; the first write error stops the writing and is kept.
pub struct PcapWriter {
    out: BufWriter<File>,
    snaplen: u32,
    error: Option<std::io::Error>,
}

impl PcapWriter {
    /// Writes the file header for `link_type` (a LINKTYPE_* value).
    pub fn new(file: File, link_type: u16, snaplen: u32) -> std::io::Result<PcapWriter> {
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_MICROSECONDS.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&snaplen.to_le_bytes());
        h.extend_from_slice(&u32::from(link_type).to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, snaplen, error: None })
    }

    /// Appends one packet; `ts_usec` is the microseconds within `ts_sec`.
    pub fn write(&mut self, ts_sec: i64, ts_usec: i64, orig_len: u32, data: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let data = &data[..data.len().min(self.snaplen as usize)];
        let mut rec = [0u8; 16];
        // pcap's seconds are 32 bits; libpcap's dumper truncates them the same way.
        rec[0..4].copy_from_slice(&(ts_sec as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&(ts_usec.clamp(0, 999_999) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        if let Err(e) = self.out.write_all(&rec).and_then(|_| self.out.write_all(data)) {
            self.error = Some(e);
        }
    }

    pub fn flush(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
    }

    /// Why writing stopped, if it did.
    pub fn error(&self) -> Option<&std::io::Error> {
        self.error.as_ref()
    }
}

impl Drop for PcapWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::file::FileReader;

    #[test]
    fn what_is_written_reads_back_frame_for_frame() {
        let path = std::env::temp_dir().join(format!("acrscope-savefile-{}.pcap", std::process::id()));
        let mut w = PcapWriter::new(File::create(&path).unwrap(), 1, 262_144).unwrap();
        w.write(1_764_342_433, 442_633, 60, &[0xaa; 42]);
        w.write(1_764_342_434, 5, 9000, &[0xbb; 100]);
        w.flush();
        assert!(w.error().is_none());
        drop(w);
        let mut r = FileReader::open(&path).unwrap();
        let mut got = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            got.push((f.number, f.ts_ns, f.link_type, f.orig_len, f.data.to_vec()));
        }
        assert_eq!(
            got,
            vec![
                (1, 1_764_342_433_442_633_000, 1, 60, vec![0xaa; 42]),
                (2, 1_764_342_434_000_005_000, 1, 9000, vec![0xbb; 100]),
            ]
        );
        std::fs::remove_file(&path).unwrap();
    }
}
