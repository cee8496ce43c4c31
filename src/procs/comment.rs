//! A flow's process in the words of a pcapng packet comment (`live --write OUT.pcapng`):
//! ` process=dockerd pid=812 uid=0 side=client container=… exe=/usr/bin/dockerd`, written and
//! read here only, so that `replay` and `report` of such a file give the process back.
//!
//! Values are percent-escaped where they hold a space, `%`, `=` or a control character (a
//! process may name itself `Web Content`), so that every field is one space-free token.

use std::fmt::Write as _;

use super::{Process, Side};

/// Longest name and path taken from a comment: `comm` is 15 bytes, a path at most PATH_MAX.
const MAX_NAME: usize = 64;
const MAX_PATH: usize = 4096;

/// Appends ` process=… pid=… uid=… side=…` (and ` container=…`, ` exe=…` when known).
pub fn write(out: &mut String, p: &Process) {
    out.push_str(" process=");
    escape(out, &p.name);
    // Writing to a String cannot fail.
    let _ = write!(out, " pid={} uid={} side={}", p.pid, p.uid, side_word(p.side));
    if let Some(c) = &p.container {
        out.push_str(" container=");
        escape(out, c);
    }
    if let Some(e) = &p.exe {
        out.push_str(" exe=");
        escape(out, e);
    }
}

/// The process a comment names, if it names one (`process=` and `pid=` at least). The last
/// ` process=` counts: what comes before it (a host name) is not the writer's to vouch for.
pub fn read(comment: &str) -> Option<Process> {
    let at = comment.rfind(" process=").map(|i| i + 1).or_else(|| comment.starts_with("process=").then_some(0))?;
    let mut p = Process {
        pid: 0,
        name: String::new(),
        exe: None,
        // As for a process whose status could not be read.
        uid: u32::MAX,
        container: None,
        side: Side::Client,
    };
    let mut pid = None;
    for token in comment[at..].split(' ') {
        let Some((key, value)) = token.split_once('=') else { continue };
        match key {
            "process" => p.name = unescape(value, MAX_NAME)?,
            "pid" => pid = value.parse().ok(),
            "uid" => p.uid = value.parse().ok()?,
            "side" => {
                p.side = match value {
                    "server" => Side::Server,
                    _ => Side::Client,
                }
            }
            "container" => p.container = Some(unescape(value, MAX_NAME)?),
            "exe" => p.exe = Some(unescape(value, MAX_PATH)?),
            _ => {}
        }
    }
    p.pid = pid?;
    (!p.name.is_empty()).then_some(p)
}

fn side_word(s: Side) -> &'static str {
    match s {
        Side::Client => "client",
        Side::Server => "server",
    }
}

fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            ' ' | '%' | '=' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// `None` for a bad escape or a value longer than `max` bytes.
fn unescape(s: &str, max: usize) -> Option<String> {
    if s.len() > 3 * max {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    (out.len() <= max).then_some(())?;
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dockerd() -> Process {
        Process {
            pid: 812,
            name: "dockerd".into(),
            exe: Some("/usr/bin/dockerd".into()),
            uid: 0,
            container: None,
            side: Side::Client,
        }
    }

    #[test]
    fn a_process_reads_back_as_written() {
        let mut s = String::from("acrscope host=mcr.microsoft.com role=other flow=3 server=1.2.3.4:443");
        write(&mut s, &dockerd());
        assert!(s.ends_with(" process=dockerd pid=812 uid=0 side=client exe=/usr/bin/dockerd"), "{s}");
        assert_eq!(read(&s), Some(dockerd()));
        let odd = Process {
            name: "Web Content=%1\t".into(),
            exe: Some("/opt/my app/bin".into()),
            container: Some("3f1c6a0d".into()),
            side: Side::Server,
            uid: 1000,
            ..dockerd()
        };
        let mut s = String::from("acrscope host=-");
        write(&mut s, &odd);
        assert!(!s["acrscope host=- ".len()..].split(' ').any(|t| !t.contains('=')), "one token per field: {s}");
        assert_eq!(read(&s), Some(odd));
    }

    #[test]
    fn comments_without_a_whole_process_name_none() {
        assert_eq!(read("acrscope host=a.example flow=1 server=1.2.3.4:443"), None);
        assert_eq!(read("acrscope process=dockerd"), None, "no pid");
        assert_eq!(read("acrscope process= pid=1"), None, "no name");
        assert_eq!(read("acrscope process=a%zz pid=1"), None, "bad escape");
        assert_eq!(read("acrscope process=a% pid=1"), None, "cut escape");
        assert_eq!(read(&format!("acrscope process={} pid=1", "a".repeat(MAX_NAME + 1))), None);
        assert_eq!(read("process=x pid=7").map(|p| p.pid), Some(7));
        // A host name that pretends to be a process does not win over the writer's field.
        let p = read("acrscope host=x process=evil pid=1 flow=2 process=dockerd pid=812").unwrap();
        assert_eq!((p.name.as_str(), p.pid, p.uid), ("dockerd", 812, u32::MAX));
    }
}
