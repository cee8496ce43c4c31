//! Just enough HTTP/1.1 for a registry's answers: one request per connection
//! (`Connection: close`), heads parsed by httparse, bodies bounded.

use std::io::{self, ErrorKind, Read, Write};
use std::time::Instant;

/// A registry's head is a few hundred bytes; anything past this is not one.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Head {
    pub status: u16,
    pub line: String,
    pub headers: Vec<(String, String)>,
    /// From the request's first byte written to the response's first byte read.
    pub ttfb_ms: f64,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.trim().parse().ok())
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

/// Sends `GET path` and reads the head; the bytes of the body already read come back with it.
pub fn get_head<S: Read + Write>(
    s: &mut S,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<(Head, Vec<u8>)> {
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: acrscope-probe/{}\r\nConnection: close\r\n",
        env!("CARGO_PKG_VERSION")
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    // From before the write: over TLS, the flush may already read the answer.
    let sent = Instant::now();
    s.write_all(req.as_bytes())?;
    s.flush()?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut first = None;
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(ErrorKind::UnexpectedEof, "the server closed the connection before answering"));
        }
        first.get_or_insert_with(|| sent.elapsed().as_secs_f64() * 1e3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, used)) = parse_head(&buf)? {
            let head = Head { ttfb_ms: first.unwrap_or(0.0), ..head };
            return Ok((head, buf.split_off(used)));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(ErrorKind::InvalidData, "the answer's head is over 64 KiB: not HTTP"));
        }
    }
}

fn parse_head(buf: &[u8]) -> io::Result<Option<(Head, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut r = httparse::Response::new(&mut headers);
    match r.parse(buf) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(used)) => {
            let status = r.code.unwrap_or(0);
            let head = Head {
                status,
                line: format!("{status} {}", r.reason.unwrap_or("")).trim().to_string(),
                headers: r
                    .headers
                    .iter()
                    .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect(),
                ttfb_ms: 0.0,
            };
            Ok(Some((head, used)))
        }
        Err(e) => {
            let line = String::from_utf8_lossy(buf.split(|&b| b == b'\n').next().unwrap_or(&[])).into_owned();
            Err(io::Error::new(ErrorKind::InvalidData, format!("not an HTTP answer ({e}): {}", line.trim())))
        }
    }
}

/// Reads the body after `head` (content-length, chunked, or up to the close), keeping at most
/// `limit` bytes; `sink` sees every byte as it arrives.
pub fn read_body<S: Read>(
    s: &mut S,
    head: &Head,
    mut pending: Vec<u8>,
    limit: usize,
    sink: &mut dyn FnMut(usize),
) -> io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let want = if head.chunked() { None } else { head.content_length() };
    let mut got = 0u64;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if !pending.is_empty() {
            sink(pending.len());
            got += pending.len() as u64;
            let room = (limit + MAX_HEAD).saturating_sub(raw.len());
            raw.extend_from_slice(&pending[..pending.len().min(room)]);
            pending.clear();
        }
        if want.is_some_and(|w| got >= w) || (head.chunked() && raw.ends_with(b"0\r\n\r\n")) {
            break;
        }
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            // A TLS peer that closes without close_notify: the body ended all the same.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && want.is_none() => break,
            Err(e) => return Err(e),
        }
    }
    if let Some(w) = want {
        raw.truncate(usize::try_from(w).unwrap_or(usize::MAX));
    }
    let mut body = if head.chunked() { dechunk(&raw) } else { raw };
    body.truncate(limit);
    Ok(body)
}

/// The data of a chunked body, as far as it is well formed.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol]).ok().and_then(|l| {
            let hex = l.split(';').next().unwrap_or("").trim();
            usize::from_str_radix(hex, 16).ok()
        });
        let Some(size) = size.filter(|&n| n > 0) else { break };
        let start = eol + 2;
        let end = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..end]);
        raw = raw.get(end + 2..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A canned server: whatever is written goes nowhere, reads come from `answer`.
    struct Canned(io::Cursor<Vec<u8>>);

    impl Read for Canned {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            self.0.read(b)
        }
    }

    impl Write for Canned {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn exchange(answer: &[u8], limit: usize) -> io::Result<(Head, Vec<u8>)> {
        let mut s = Canned(io::Cursor::new(answer.to_vec()));
        let (head, rest) = get_head(&mut s, "h", "/v2/", &[])?;
        let body = read_body(&mut s, &head, rest, limit, &mut |_| {})?;
        Ok((head, body))
    }

    #[test]
    fn bodies_by_length_by_chunks_and_by_close() {
        let (h, b) =
            exchange(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\nWww-Authenticate: x\r\n\r\nabcdEXTRA", 99)
                .unwrap();
        assert_eq!((h.status, h.line.as_str(), b.as_slice()), (401, "401 Unauthorized", &b"abcd"[..]));
        assert_eq!(h.header("www-authenticate"), Some("x"));
        let (_, b) =
            exchange(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 99)
                .unwrap();
        assert_eq!(b, b"abcde");
        let (_, b) = exchange(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", 5).unwrap();
        assert_eq!(b, b"until");
    }

    #[test]
    fn garbage_and_silence_are_errors_not_panics() {
        let e = exchange(b"SSH-2.0-OpenSSH_9.2\r\n\r\n", 10).unwrap_err();
        assert!(e.to_string().contains("not an HTTP answer"), "{e}");
        let e = exchange(b"", 10).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
        let huge = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &vec![b'a'; 70_000]].concat();
        assert!(exchange(&huge, 10).is_err());
    }
}
