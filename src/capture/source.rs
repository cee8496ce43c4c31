//! The one way a capture is read, whoever reads it (`report`, the capture loop of `replay`, `snapshot`,
//! the fuzz pipeline): a source (a file, standard input, a file still being written, any of
//! them gzip- or zstd-compressed) becomes frames, and the reading ends with one
//! [`ReadOutcome`] (located reader warnings, counts, and the error that cut it short, if any)
//! that the session takes in one place (`pipeline::apply_outcome`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::file::{CaptureError, FileReader, Format, InterfaceDesc, ReaderWarning};
use super::Frame;

/// The path that names standard input.
pub const STDIN: &str = "-";

/// How often a followed file is looked at again once it has no more bytes.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// How a capture's bytes are compressed, told by their magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// How to open a source.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Keep reading a file that is still being written (`tail -f`): its end is not the end
    /// of the capture until this flag is set.
    pub follow: Option<Arc<AtomicBool>>,
    /// Told whenever more of the input has been read (see [`CaptureReader::ready`]).
    pub wake: Option<Arc<tokio::sync::Notify>>,
}

/// A capture being read: frames, then one outcome.
pub struct CaptureReader {
    reader: FileReader,
    /// The source as the user named it (`-` is "standard input").
    name: String,
    compression: Option<Compression>,
    /// Size of the file on disk (not for a pipe or a file still growing).
    total_bytes: Option<u64>,
    /// Bytes taken from the file or pipe itself (before decompression).
    raw_read: Arc<AtomicU64>,
    frames: u64,
    stop: Option<CaptureError>,
    streaming: bool,
}

/// How a read ended: what the session is told (see `pipeline::apply_outcome`).
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// Frames handed out.
    pub frames: u64,
    /// Located reader warnings (the first hundred).
    pub warnings: Vec<ReaderWarning>,
    /// Every reader warning by kind.
    pub counts: BTreeMap<&'static str, u64>,
    /// The error that ended the read before the end of the input; what came before was read.
    pub stop: Option<CaptureError>,
}

impl ReadOutcome {
    /// The warning kind of the error that ended the read.
    pub fn stop_kind(&self) -> Option<&'static str> {
        self.stop.as_ref().map(|e| match e {
            CaptureError::Truncated { .. } => "truncated-file",
            // A compressed file cut short: the decompressor meets the end of its input.
            CaptureError::Read { source, .. } if source.kind() == std::io::ErrorKind::UnexpectedEof => "truncated-file",
            CaptureError::Corrupt { .. } => "corrupt-file",
            _ => "read-error",
        })
    }

    /// The error that ended the read, with how much was read before it.
    pub fn stop_message(&self) -> Option<String> {
        self.stop.as_ref().map(|e| format!("{e}; {} frames before it were read", self.frames))
    }
}

impl CaptureReader {
    /// Opens `path` (`-`: standard input). Errors are the user's: no such file, not a capture.
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<CaptureReader, CaptureError> {
        let stdin = path.as_os_str() == STDIN;
        let display = if stdin { "standard input".to_string() } else { path.display().to_string() };
        let io = |source| CaptureError::Io { name: display.clone(), source };
        let (raw, total_bytes): (Box<dyn Read + Send>, Option<u64>) = if stdin {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() {
                return Err(io(std::io::Error::other(
                    "is a terminal, not a capture: pipe one in (tcpdump -U -w - | acrscope replay -)",
                )));
            }
            (Box::new(std::io::stdin()), None)
        } else {
            let f = File::open(path).map_err(io)?;
            let meta = f.metadata().map_err(io)?;
            let size = (meta.is_file() && opts.follow.is_none()).then_some(meta.len());
            match &opts.follow {
                Some(stop) => (Box::new(Follow { file: f, stop: stop.clone() }), None),
                None => (Box::new(f), size),
            }
        };
        let streaming = stdin || opts.follow.is_some();
        CaptureReader::from_input(raw, display, total_bytes, streaming, opts.wake.clone())
    }

    /// Reads a capture from any input (compressed or not), named `name` in messages.
    pub fn from_reader(input: Box<dyn Read + Send>, name: String) -> Result<CaptureReader, CaptureError> {
        CaptureReader::from_input(input, name, None, true, None)
    }

    fn from_input(
        raw: Box<dyn Read + Send>,
        name: String,
        total_bytes: Option<u64>,
        streaming: bool,
        wake: Option<Arc<tokio::sync::Notify>>,
    ) -> Result<CaptureReader, CaptureError> {
        let raw_read = Arc::new(AtomicU64::new(0));
        let mut counted = Counted { inner: raw, n: raw_read.clone() };
        let mut head = Vec::with_capacity(4);
        (&mut counted)
            .take(4)
            .read_to_end(&mut head)
            .map_err(|source| CaptureError::Io { name: name.clone(), source })?;
        let compression = match head.as_slice() {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd] => Some(Compression::Zstd),
            _ => None,
        };
        if let Some(other) = unsupported_compression(&head) {
            return Err(CaptureError::Io {
                name,
                source: std::io::Error::other(format!(
                    "{other}-compressed; decompress it first ({}) or compress with gzip or zstd, which acrscope reads",
                    match other {
                        "xz" => "xz -d",
                        "bzip2" => "bunzip2",
                        _ => "lz4 -d",
                    }
                )),
            });
        }
        let whole: Box<dyn Read + Send> = Box::new(Cursor::new(head).chain(counted));
        let (input, reader_name): (Box<dyn Read + Send>, String) = match compression {
            None => (whole, name.clone()),
            Some(c) => {
                let dec: Box<dyn Read + Send> = match c {
                    // Several gzip members one after the other are one stream (as `zcat` reads them).
                    Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
                    Compression::Zstd => Box::new(
                        zstd::stream::read::Decoder::new(whole)
                            .map_err(|source| CaptureError::Io { name: name.clone(), source })?,
                    ),
                };
                (dec, format!("{name} ({}; byte offsets are in the decompressed data)", c.name()))
            }
        };
        let reader = FileReader::read_ahead(input, reader_name, wake)?;
        Ok(CaptureReader { reader, name, compression, total_bytes, raw_read, frames: 0, stop: None, streaming })
    }

    /// The next frame; `None` at the end of the input or at an error (kept for the outcome).
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        match self.reader.next_frame() {
            Ok(Some(f)) => {
                self.frames += 1;
                Some(f)
            }
            Ok(None) => None,
            Err(e) => {
                self.stop = Some(e);
                None
            }
        }
    }

    /// Whether [`Self::next_frame`] answers without waiting for a pipe or a growing file.
    pub fn ready(&mut self) -> bool {
        self.reader.ready()
    }

    pub fn format(&self) -> Format {
        self.reader.format()
    }

    /// Interface `id` of the current section (see [`FileReader::interface`]).
    pub fn interface(&self, id: u32) -> Option<InterfaceDesc> {
        self.reader.interface(id)
    }

    /// The frame read last: its pcapng section and its timestamp as the file holds it.
    pub fn raw_position(&self) -> (u32, u64) {
        (self.reader.section(), self.reader.raw_ts())
    }

    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// The source as the user named it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A pipe or a file still being written: frames arrive as they are written.
    pub fn streaming(&self) -> bool {
        self.streaming
    }

    /// `replay NAME (pcapng, gzip)`: what the UI header shows.
    pub fn label(&self) -> String {
        let short = Path::new(&self.name)
            .file_name()
            .filter(|_| self.name != "standard input")
            .map_or_else(|| self.name.clone(), |n| n.to_string_lossy().into_owned());
        let format = match self.format() {
            Format::PcapNg => "pcapng",
            Format::Pcap { .. } => "pcap",
        };
        match self.compression {
            Some(c) => format!("replay {short} ({format}, {})", c.name()),
            None => format!("replay {short} ({format})"),
        }
    }

    /// Size of the file on disk, for a progress bar (none for a pipe or a growing file).
    pub fn total_bytes(&self) -> Option<u64> {
        self.total_bytes
    }

    /// Bytes of the file read so far, on the same scale as [`Self::total_bytes`] (compressed
    /// bytes for a compressed file).
    pub fn progress_bytes(&self) -> u64 {
        match self.compression {
            None => self.reader.bytes_read(),
            Some(_) => self.raw_read.load(Ordering::Relaxed),
        }
    }

    /// Bytes of capture data consumed (after decompression).
    pub fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }

    /// How the read went so far (at the end: how it ended).
    pub fn outcome(&self) -> ReadOutcome {
        ReadOutcome {
            frames: self.frames,
            warnings: self.reader.warnings().to_vec(),
            counts: self.reader.warning_counts().clone(),
            stop: self.stop.as_ref().map(clone_error),
        }
    }

    /// The outcome, the reader given up.
    pub fn into_outcome(mut self) -> ReadOutcome {
        let stop = self.stop.take();
        ReadOutcome { stop, ..self.outcome() }
    }
}

/// `CaptureError` holds an `io::Error`, which cannot be cloned: the same kind and message.
fn clone_error(e: &CaptureError) -> CaptureError {
    let io = |s: &std::io::Error| std::io::Error::new(s.kind(), s.to_string());
    match e {
        CaptureError::Io { name, source } => CaptureError::Io { name: name.clone(), source: io(source) },
        CaptureError::Read { name, offset, frame, source } => {
            CaptureError::Read { name: name.clone(), offset: *offset, frame: *frame, source: io(source) }
        }
        CaptureError::NotACapture { name, magic } => {
            CaptureError::NotACapture { name: name.clone(), magic: magic.clone() }
        }
        CaptureError::Truncated { name, offset, frame, what } => {
            CaptureError::Truncated { name: name.clone(), offset: *offset, frame: *frame, what }
        }
        CaptureError::Corrupt { name, offset, frame, reason } => {
            CaptureError::Corrupt { name: name.clone(), offset: *offset, frame: *frame, reason: reason.clone() }
        }
    }
}

/// Compressions we recognise but do not read.
fn unsupported_compression(head: &[u8]) -> Option<&'static str> {
    match head {
        [0xfd, 0x37, 0x7a, 0x58] => Some("xz"),
        [0x42, 0x5a, 0x68, ..] => Some("bzip2"),
        [0x04, 0x22, 0x4d, 0x18] => Some("lz4"),
        _ => None,
    }
}

/// Counts the bytes read through it.
struct Counted {
    inner: Box<dyn Read + Send>,
    n: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let got = self.inner.read(buf)?;
        self.n.fetch_add(got as u64, Ordering::Relaxed);
        Ok(got)
    }
}

/// A file still being written: at its end, waits for more (as `tail -f` does) until `stop`.
struct Follow {
    file: File,
    stop: Arc<AtomicBool>,
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let got = self.file.read(buf)?;
            if got > 0 || buf.is_empty() || self.stop.load(Ordering::Relaxed) {
                return Ok(got);
            }
            // No event tells a reader that a file grew (inotify is Linux-only and needs
            // care with rotation); a short poll is what tail does too.
            std::thread::sleep(FOLLOW_POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(records: usize) -> Vec<u8> {
        let mut f = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
        f.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        for i in 0..records {
            f.extend_from_slice(&(i as u32).to_le_bytes());
            f.extend_from_slice(&[0; 4]);
            f.extend_from_slice(&3u32.to_le_bytes());
            f.extend_from_slice(&3u32.to_le_bytes());
            f.extend_from_slice(b"abc");
        }
        f
    }

    fn count(mut r: CaptureReader) -> (u64, ReadOutcome) {
        let mut n = 0;
        while r.next_frame().is_some() {
            n += 1;
        }
        (n, r.into_outcome())
    }

    #[test]
    fn gzip_and_zstd_read_as_the_plain_bytes() {
        use std::io::Write;
        let plain = pcap(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(Cursor::new(plain.clone()), 3).unwrap();
        for (bytes, c) in [(plain.clone(), None), (gz, Some(Compression::Gzip)), (zst, Some(Compression::Zstd))] {
            let r = CaptureReader::from_reader(Box::new(Cursor::new(bytes)), "t".into()).unwrap();
            assert_eq!(r.compression(), c);
            let (n, o) = count(r);
            assert_eq!((n, o.frames), (1000, 1000));
            assert!(o.stop.is_none());
        }
    }

    #[test]
    fn a_cut_compressed_file_keeps_what_came_before_and_says_where() {
        use std::io::Write;
        let plain = pcap(5000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let r = CaptureReader::from_reader(Box::new(Cursor::new(gz[..gz.len() / 2].to_vec())), "c.gz".into()).unwrap();
        let (n, o) = count(r);
        assert!(n > 0 && n < 5000, "{n}");
        let msg = o.stop_message().unwrap();
        assert!(msg.contains("decompressed data"), "{msg}");
    }

    #[test]
    fn other_compressions_are_named() {
        let e = CaptureReader::from_reader(Box::new(Cursor::new(vec![0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])), "x".into())
            .err()
            .unwrap();
        assert!(e.to_string().contains("xz -d"), "{e}");
    }

    #[test]
    fn a_followed_file_is_read_as_it_grows_until_told_to_stop() {
        let dir = std::env::temp_dir().join(format!("acrscope-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("grow.pcap");
        let all = pcap(20);
        let head = 24 + 19 * 19;
        std::fs::write(&path, &all[..head + 4]).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut r = CaptureReader::open(&path, &OpenOptions { follow: Some(stop.clone()), wake: None }).unwrap();
        for _ in 0..19 {
            assert!(r.next_frame().is_some());
        }
        // The 20th record is half written: the reader waits for the rest instead of
        // calling the file cut.
        let writer = {
            let (path, rest) = (path.clone(), all[head + 4..].to_vec());
            let stop = stop.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
                f.write_all(&rest).unwrap();
                f.flush().unwrap();
                stop.store(true, Ordering::Relaxed);
            })
        };
        assert_eq!(r.next_frame().map(|f| f.data.to_vec()), Some(b"abc".to_vec()));
        writer.join().unwrap();
        let (rest, o) = count(r);
        assert_eq!(rest, 0);
        assert!(o.stop.is_none(), "{:?}", o.stop);
        assert_eq!(o.frames, 20);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
