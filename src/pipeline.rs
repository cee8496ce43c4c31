//! Reading a capture file through the session model, keeping what was read when the file
//! ends badly.

use std::path::Path;

use crate::capture::file::{CaptureError, FileReader, Format};
use crate::output::json::CaptureInfo;
use crate::output::time::rfc3339_us;
use crate::session::{Limits, Session};

/// Why a file could not be read at all (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(#[from] pub CaptureError);

pub fn format_name(f: Format) -> String {
    match f {
        Format::Pcap { nanos, big_endian } => format!(
            "pcap ({}, {})",
            if nanos { "nanosecond" } else { "microsecond" },
            if big_endian { "big-endian" } else { "little-endian" }
        ),
        Format::PcapNg => "pcapng".to_string(),
    }
}

/// `read_file` reports progress after every this many frames, and once at the end.
pub const PROGRESS_FRAMES: u64 = 65_536;

/// Reads the whole file at `path` into a new session. A file that is cut or corrupt part-way
/// keeps everything before the damage: the error is in `CaptureInfo::error` and counted as a
/// warning. `progress` is called now and then with the bytes read so far.
pub fn read_file(
    path: &Path,
    limits: Limits,
    mut progress: impl FnMut(u64),
) -> Result<(Session, CaptureInfo), OpenError> {
    let mut reader = FileReader::open(path)?;
    let mut session = Session::new(limits);
    let mut info = CaptureInfo {
        source: path.display().to_string(),
        format: format_name(reader.format()),
        ..CaptureInfo::default()
    };
    let mut n: u64 = 0;
    let err = loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                session.ingest(&frame);
                n += 1;
                if n % PROGRESS_FRAMES == 0 {
                    progress(reader.bytes_read());
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    progress(reader.bytes_read());
    for w in reader.warnings() {
        session.warn(w.kind, w.frame, Some(w.offset), w.message.clone());
    }
    if let Some(e) = err {
        let kind = match e {
            CaptureError::Truncated { .. } => "truncated-file",
            CaptureError::Corrupt { .. } => "corrupt-file",
            _ => "read-error",
        };
        let msg = format!("{e}; {n} frames before it were read");
        session.warn(kind, None, None, msg.clone());
        info.error = Some(msg);
    }
    session.finish();
    info.first_ts = session.stats.first_ns.map(rfc3339_us);
    info.last_ts = session.stats.last_ns.map(rfc3339_us);
    Ok((session, info))
}
