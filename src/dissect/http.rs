//! HTTP/1.x request and response heads in clear: the method, path and Host of a request, the
//! status, `Location` host, `Proxy-Authenticate` and `Server` of a response, and the target of
//! a proxy's `CONNECT host:port`. Recognised on any TCP port, from the first bytes of a stream.
//!
//! What is kept never holds a credential: the request path loses its query string (SAS tokens
//! of blob URLs are credentials), a URL its user information, and no request header other than
//! Host is read (Authorization and Proxy-Authorization are never looked at).
//!
//! Pure logic: no I/O, no panics on any input, memory bounded by [`HEAD_CAP`] per direction.

use super::held::SeqStream;

/// Bytes of one message head held before giving up on it: real heads are well under 8 KiB
/// (servers refuse larger ones); beyond this it is counted, not read.
pub const HEAD_CAP: usize = 16 * 1024;
/// Longest method, path, status line or header value kept, in bytes.
const MAX_FIELD: usize = 512;
/// Segments held past a missing stream start before taking the start as lost.
const MAX_PENDING_SEGMENTS: u32 = 16;

const METHODS: [&[u8]; 9] = [b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE"];

/// A request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path (origin form) or the URL without user information (absolute form), with its
    /// query string and fragment removed; for CONNECT the `host:port` target.
    pub path: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    /// The Host header, lower-case, without its port.
    pub host: Option<String>,
    /// For CONNECT: the target host (lower-case, IPv6 without brackets) and port.
    pub connect: Option<(String, u16)>,
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The whole status line, e.g. `HTTP/1.1 403 Forbidden`.
    pub status_line: String,
    /// The host of the `Location` header when it is an absolute URL (a registry's 307 to its
    /// data endpoint), lower-case; the rest of the URL (a SAS token) is never kept.
    pub location_host: Option<String>,
    pub proxy_authenticate: Option<String>,
    pub server: Option<String>,
    /// The body's length when the head gives it, to find the next head on the connection.
    pub content_length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    Request(Request),
    Response(Response),
}

/// Whether a stream starting with `p` may be an HTTP/1.x request: a method and a space (or,
/// for a segment shorter than that, the start of one).
pub fn looks_like_request(p: &[u8]) -> bool {
    METHODS.iter().any(|m| {
        if p.len() > m.len() {
            p.starts_with(m) && p[m.len()] == b' '
        } else {
            !p.is_empty() && m.starts_with(p)
        }
    })
}

/// Whether a stream starting with `p` may be an HTTP/1.x response.
pub fn looks_like_response(p: &[u8]) -> bool {
    const START: &[u8] = b"HTTP/1.";
    let n = p.len().min(START.len());
    n > 0 && p[..n] == START[..n]
}

/// Where the head ends in `buf` (the offset just past the empty line), if it does.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(off) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + off;
        let rest = &buf[nl + 1..];
        if rest.first() == Some(&b'\n') {
            return Some(nl + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        i = nl + 1;
    }
    None
}

/// Text of a field as kept: printable ASCII only (controls, which could drive a terminal, and
/// bytes over 0x7e become U+FFFD; not `?`, which would read as a query string), trimmed, at
/// most [`MAX_FIELD`] bytes.
fn clean(b: &[u8]) -> String {
    let b = b.trim_ascii();
    let b = &b[..b.len().min(MAX_FIELD)];
    b.iter().map(|&c| if (0x20..0x7f).contains(&c) { c as char } else { char::REPLACEMENT_CHARACTER }).collect()
}

fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// The headers of a head (after its first line) as (name, value).
fn headers(head: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    lines(head).skip(1).filter_map(|l| {
        let colon = l.iter().position(|&b| b == b':')?;
        Some((l[..colon].trim_ascii(), l[colon + 1..].trim_ascii()))
    })
}

fn header<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    headers(head).find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
}

/// A host name or address as written in a Host header, URL or CONNECT target: lower-case,
/// without port, IPv6 without brackets; `None` when it holds what no host name holds.
pub fn host_part(authority: &[u8]) -> Option<(String, Option<u16>)> {
    let a = authority.trim_ascii();
    let (host, port) = if let Some(rest) = a.strip_prefix(b"[") {
        let close = rest.iter().position(|&b| b == b']')?;
        let port = rest[close + 1..].strip_prefix(b":");
        (&rest[..close], port)
    } else {
        match a.iter().rposition(|&b| b == b':') {
            Some(i) => (&a[..i], Some(&a[i + 1..])),
            None => (a, None),
        }
    };
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty()
        || host.len() > 253
        || !host.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':' | b'%'))
    {
        return None;
    }
    let port = match port {
        Some(p) => Some(std::str::from_utf8(p).ok()?.parse::<u16>().ok()?),
        None => None,
    };
    Some((String::from_utf8_lossy(host).to_ascii_lowercase(), port))
}

/// The path or URL of a request target without query string, fragment or user information.
fn safe_target(t: &[u8]) -> String {
    let cut = t.iter().position(|&b| b == b'?' || b == b'#').unwrap_or(t.len());
    let t = &t[..cut];
    // Absolute form: drop `user:password@` from the authority.
    if let Some(scheme_end) = t.windows(3).position(|w| w == b"://") {
        let auth_start = scheme_end + 3;
        let auth_end = t[auth_start..].iter().position(|&b| b == b'/').map_or(t.len(), |i| auth_start + i);
        if let Some(at) = t[auth_start..auth_end].iter().rposition(|&b| b == b'@') {
            let mut out = t[..auth_start].to_vec();
            out.extend_from_slice(&t[auth_start + at + 1..]);
            return clean(&out);
        }
    }
    clean(t)
}

/// The host of an absolute URL (`scheme://[user@]host[:port]/...`).
fn url_host(url: &[u8]) -> Option<String> {
    let start = url.windows(3).position(|w| w == b"://")? + 3;
    let rest = &url[start..];
    let end = rest.iter().position(|&b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(rest.len());
    let auth = &rest[..end];
    let auth = auth.iter().rposition(|&b| b == b'@').map_or(auth, |at| &auth[at + 1..]);
    host_part(auth).map(|(h, _)| h)
}

/// Reads a whole request head (through its empty line, or all of what is held).
pub fn parse_request(head: &[u8]) -> Option<Request> {
    let first = lines(head).next()?;
    let mut parts = first.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !METHODS.contains(&method) || !version.starts_with(b"HTTP/1.") {
        return None;
    }
    let connect = if method == b"CONNECT" {
        let (h, p) = host_part(target)?;
        Some((h, p?))
    } else {
        None
    };
    let host = header(head, "host").and_then(host_part).map(|(h, _)| h);
    Some(Request {
        method: clean(method),
        path: if connect.is_some() { clean(target) } else { safe_target(target) },
        version: clean(version),
        host,
        connect,
    })
}

/// Reads a whole response head.
pub fn parse_response(head: &[u8]) -> Option<Response> {
    let first = lines(head).next()?;
    if !first.starts_with(b"HTTP/1.") {
        return None;
    }
    let code = first.split(|&b| b == b' ').nth(1)?;
    if code.len() != 3 {
        return None;
    }
    let status = std::str::from_utf8(code).ok()?.parse::<u16>().ok()?;
    let text = |name| header(head, name).map(clean).filter(|s| !s.is_empty());
    Some(Response {
        status,
        status_line: clean(first),
        location_host: header(head, "location").and_then(url_host),
        proxy_authenticate: text("proxy-authenticate"),
        server: text("server"),
        content_length: header(head, "content-length").and_then(|v| std::str::from_utf8(v).ok()?.parse().ok()),
    })
}

/// What one segment gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadProgress {
    NeedMore,
    Done(Head),
    /// The stream does not start with an HTTP/1.x head.
    NotHttp,
    /// The head is longer than [`HEAD_CAP`], or its start never arrived.
    TooLong,
}

/// Rebuilds the first message head of one TCP direction from its segments (split, out of
/// order, retransmitted), up to [`HEAD_CAP`] bytes.
#[derive(Debug, Clone)]
pub struct HeadReader {
    stream: SeqStream,
    pending: u32,
    finished: bool,
    /// Sequence number just past the head read, once one was.
    end: Option<u32>,
}

impl HeadReader {
    /// `start`: sequence number of the stream's first byte when the SYN was seen; else the
    /// first segment pushed is taken as the start.
    pub fn new(start: Option<u32>) -> Self {
        HeadReader { stream: SeqStream::new(start, HEAD_CAP), pending: 0, finished: false, end: None }
    }

    pub fn push(&mut self, seq: u32, payload: &[u8]) -> HeadProgress {
        if self.finished || payload.is_empty() {
            return HeadProgress::NeedMore;
        }
        let base = self.stream.anchor(seq);
        self.stream.insert(seq, payload);
        let p = self.stream.held().prefix();
        if p.is_empty() {
            self.pending += 1;
            if self.pending > MAX_PENDING_SEGMENTS {
                return self.done(HeadProgress::TooLong);
            }
            return HeadProgress::NeedMore;
        }
        if !looks_like_request(p) && !looks_like_response(p) {
            return self.done(HeadProgress::NotHttp);
        }
        let Some(end) = head_end(p) else {
            if self.stream.held().is_full() {
                return self.done(HeadProgress::TooLong);
            }
            return HeadProgress::NeedMore;
        };
        let head = &p[..end];
        self.end = Some(base.wrapping_add(end as u32));
        let parsed = if looks_like_response(head) {
            parse_response(head).map(Head::Response)
        } else {
            parse_request(head).map(Head::Request)
        };
        self.done(parsed.map_or(HeadProgress::NotHttp, HeadProgress::Done))
    }

    fn done(&mut self, p: HeadProgress) -> HeadProgress {
        self.finished = true;
        self.stream.held_mut().release();
        p
    }

    /// The sequence number just past the head that was read (where the next message, or this
    /// one's body, begins).
    pub fn head_end_seq(&self) -> Option<u32> {
        self.end
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(segments: &[(u32, &[u8])], start: Option<u32>) -> HeadProgress {
        let mut r = HeadReader::new(start);
        let mut out = HeadProgress::NeedMore;
        for &(seq, p) in segments {
            let got = r.push(seq, p);
            if out == HeadProgress::NeedMore {
                out = got;
            }
        }
        out
    }

    #[test]
    fn request_split_over_three_segments() {
        let whole: &[u8] =
            b"GET /v2/hello/manifests/v1?x=1 HTTP/1.1\r\nHost: Registry.Example:5000\r\nUser-Agent: t\r\n\r\n";
        let (a, rest) = whole.split_at(10);
        let (b, c) = rest.split_at(30);
        let mut r = HeadReader::new(Some(100));
        assert_eq!(r.push(100, a), HeadProgress::NeedMore);
        assert_eq!(r.push(110, b), HeadProgress::NeedMore);
        let HeadProgress::Done(Head::Request(q)) = r.push(140, c) else { panic!("no request") };
        assert_eq!(q.method, "GET");
        assert_eq!(q.path, "/v2/hello/manifests/v1");
        assert_eq!(q.host.as_deref(), Some("registry.example"));
        assert_eq!(q.version, "HTTP/1.1");
        assert_eq!(q.connect, None);
    }

    #[test]
    fn out_of_order_and_retransmitted_segments() {
        let whole: &[u8] = b"POST /a HTTP/1.0\r\nHost: h\r\n\r\nbody";
        let got = read(&[(1010, &whole[10..]), (1000, &whole[..12]), (1000, &whole[..12])], Some(1000));
        assert!(matches!(got, HeadProgress::Done(Head::Request(ref q)) if q.method == "POST" && q.path == "/a"));
    }

    #[test]
    fn pipelined_requests_give_the_first() {
        let two: &[u8] = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: b\r\n\r\n";
        let HeadProgress::Done(Head::Request(q)) = read(&[(5, two)], None) else { panic!() };
        assert_eq!((q.path.as_str(), q.host.as_deref()), ("/one", Some("a")));
    }

    #[test]
    fn response_with_location_host_only() {
        let r: &[u8] = b"HTTP/1.1 307 Temporary Redirect\r\nServer: nginx\r\nLocation: https://user:pw@Acct.blob.core.windows.net/docker/data?sv=2020&sig=SECRET\r\n\r\n";
        let HeadProgress::Done(Head::Response(s)) = read(&[(1, r)], None) else { panic!() };
        assert_eq!(s.status, 307);
        assert_eq!(s.status_line, "HTTP/1.1 307 Temporary Redirect");
        assert_eq!(s.location_host.as_deref(), Some("acct.blob.core.windows.net"));
        assert_eq!(s.server.as_deref(), Some("nginx"));
        assert!(!format!("{s:?}").contains("SECRET"));
    }

    #[test]
    fn connect_on_any_port_and_407() {
        let q = parse_request(b"CONNECT fabrikam.azurecr.io:443 HTTP/1.1\r\nHost: fabrikam.azurecr.io:443\r\nProxy-Authorization: Basic c2VjcmV0\r\n\r\n").unwrap();
        assert_eq!(q.connect, Some(("fabrikam.azurecr.io".into(), 443)));
        assert_eq!(q.path, "fabrikam.azurecr.io:443");
        assert!(!format!("{q:?}").contains("c2VjcmV0"));
        let q = parse_request(b"CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(q.connect, Some(("2001:db8::1".into(), 8443)));
        assert_eq!(parse_request(b"CONNECT noport HTTP/1.1\r\n\r\n"), None);
        let s = parse_response(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nServer: squid/5.7\r\n\r\n").unwrap();
        assert_eq!(s.status, 407);
        assert_eq!(s.proxy_authenticate.as_deref(), Some("Basic realm=\"corp\""));
        assert_eq!(s.server.as_deref(), Some("squid/5.7"));
    }

    #[test]
    fn absolute_form_loses_query_and_user_info() {
        let q = parse_request(
            b"GET http://bob:hunter2@mirror.example/pool/a.deb?token=SECRET HTTP/1.1\r\nHost: mirror.example\r\n\r\n",
        )
        .unwrap();
        assert_eq!(q.path, "http://mirror.example/pool/a.deb");
    }

    #[test]
    fn not_http_and_limits() {
        assert_eq!(read(&[(1, b"\x16\x03\x01\x02\x00\x01")], None), HeadProgress::NotHttp);
        assert_eq!(read(&[(1, b"SSH-2.0-OpenSSH\r\n")], None), HeadProgress::NotHttp);
        assert_eq!(read(&[(1, b"GET / FTP/1.0\r\n\r\n")], None), HeadProgress::NotHttp);
        let big = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; HEAD_CAP]].concat();
        assert_eq!(read(&[(1, &big)], None), HeadProgress::TooLong);
        // A control character in a value is not copied.
        let s = parse_response(b"HTTP/1.1 200 OK\r\nServer: a\x1b[31mb\r\n\r\n").unwrap();
        assert_eq!(s.server.as_deref(), Some("a\u{fffd}[31mb"));
        // The fuzz target's case: a NUL in the path is not turned into a `?`.
        let q = parse_request(b"GET /ho\0\0tect.html HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(q.path, "/ho\u{fffd}\u{fffd}tect.html");
        assert!(looks_like_request(b"GE"));
        assert!(!looks_like_request(b"GETX / HTTP/1.1"));
        assert!(looks_like_response(b"HTTP/"));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x = 0x1234_5678_u32;
        for _ in 0..2000 {
            let mut seg = b"GET /".to_vec();
            for _ in 0..(x % 64) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                seg.push(x as u8 % 128);
            }
            let _ = read(&[(x, &seg), (x.wrapping_add(3), &seg)], Some(x));
            let _ = parse_response(&seg);
            let _ = host_part(&seg);
        }
    }
}
