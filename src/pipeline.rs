//! Reading a capture file through the session model, keeping what was read when the file
//! ends badly.

use std::path::Path;

use crate::capture::file::{CaptureError, Format};
use crate::capture::source::{CaptureReader, OpenOptions, ReadOutcome};
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

/// What every reader of a capture does once the read has ended: the reader's warnings (all
/// of them counted, the first hundred located) and the error that cut the read short go into
/// the session's warnings. Returns that error's message (for `CaptureInfo::error`, the UI).
pub fn apply_outcome(session: &mut Session, outcome: &ReadOutcome) -> Option<String> {
    for w in &outcome.warnings {
        session.warn(w.kind, w.frame, Some(w.offset), w.message.clone());
    }
    for (kind, &n) in &outcome.counts {
        let located = outcome.warnings.iter().filter(|w| w.kind == *kind).count() as u64;
        if n > located {
            *session.stats.warnings.entry(kind).or_insert(0) += n - located;
        }
    }
    let kind = outcome.stop_kind()?;
    let msg = outcome.stop_message()?;
    session.warn(kind, None, None, msg.clone());
    Some(msg)
}

/// Reads the whole capture at `path` (`-`: standard input) into a new session. A capture cut
/// or corrupt part-way keeps everything before the damage: the error is in
/// `CaptureInfo::error` and counted as a warning. `progress` is called now and then with the
/// bytes read so far, on the scale of [`CaptureReader::total_bytes`].
pub fn read_file(path: &Path, limits: Limits, progress: impl FnMut(u64)) -> Result<(Session, CaptureInfo), OpenError> {
    let reader = CaptureReader::open(path, &OpenOptions::default())?;
    Ok(read_all(reader, limits, progress))
}

/// Reads `reader` to its end into a new session (see [`read_file`]).
pub fn read_all(reader: CaptureReader, limits: Limits, progress: impl FnMut(u64)) -> (Session, CaptureInfo) {
    read_all_with(reader, limits, progress, |_, _| {})
}

/// [`read_all`], calling `after` with the session and each frame once it has been ingested.
pub fn read_all_with(
    mut reader: CaptureReader,
    limits: Limits,
    mut progress: impl FnMut(u64),
    mut after: impl FnMut(&Session, &crate::capture::Frame<'_>),
) -> (Session, CaptureInfo) {
    let mut session = Session::new(limits);
    let mut info = CaptureInfo {
        source: reader.name().to_string(),
        format: match reader.compression() {
            Some(c) => format!("{}, {}-compressed", format_name(reader.format()), c.name()),
            None => format_name(reader.format()),
        },
        ..CaptureInfo::default()
    };
    let mut n: u64 = 0;
    while let Some(frame) = reader.next_frame() {
        session.ingest(&frame);
        after(&session, &frame);
        n += 1;
        if n % PROGRESS_FRAMES == 0 {
            progress(reader.progress_bytes());
        }
    }
    progress(reader.progress_bytes());
    info.error = apply_outcome(&mut session, &reader.into_outcome());
    session.finish();
    session.close_to_packets();
    info.first_ts = session.stats.first_ns.map(rfc3339_us);
    info.last_ts = session.stats.last_ns.map(rfc3339_us);
    (session, info)
}
