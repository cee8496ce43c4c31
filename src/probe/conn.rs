//! TCP to one address, directly or through the proxy's `CONNECT`, bounded by the probe's
//! deadline; each failure named as a capture would name it.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use base64::Engine;

use super::proxy::Proxy;
use super::result::{Connect, Outcome, Tunnel};
use super::tcpinfo;

/// The time left before `deadline`; at least a millisecond, since a zero timeout means
/// "none" to the socket calls.
pub fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
}

pub fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// How an I/O error ends a step.
pub fn outcome_of(e: &io::Error) -> Outcome {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Outcome::Timeout,
        ErrorKind::ConnectionRefused => Outcome::Refused,
        ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => Outcome::Unreachable,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => Outcome::Reset,
        ErrorKind::UnexpectedEof => Outcome::Closed,
        _ => Outcome::Error,
    }
}

/// Connects to `addr`; the stream has read and write timeouts up to the deadline.
pub fn connect(addr: SocketAddr, deadline: Instant) -> (Connect, Option<TcpStream>) {
    let started = Instant::now();
    if deadline <= started {
        return (Connect { outcome: Outcome::NotRun, ms: 0.0, error: None, tcp: None }, None);
    }
    match TcpStream::connect_timeout(&addr, left(deadline)) {
        Ok(s) => {
            let ms = ms_since(started);
            let tcp = tcpinfo::read(&s);
            let _ = s.set_nodelay(true);
            let _ = s.set_read_timeout(Some(left(deadline)));
            let _ = s.set_write_timeout(Some(left(deadline)));
            (Connect { outcome: Outcome::Ok, ms, error: None, tcp }, Some(s))
        }
        Err(e) => {
            let c = Connect { outcome: outcome_of(&e), ms: ms_since(started), error: Some(e.to_string()), tcp: None };
            (c, None)
        }
    }
}

/// The proxy's address: a name in HTTPS_PROXY is resolved by the system, as the runtime would.
pub fn proxy_address(p: &Proxy) -> Result<SocketAddr, String> {
    p.authority
        .to_socket_addrs()
        .map_err(|e| format!("the proxy {} does not resolve: {e}", p.authority))?
        .next()
        .ok_or_else(|| format!("the proxy {} has no address", p.authority))
}

/// `CONNECT host:port` on a connection to the proxy; `Ok` when the proxy answered 2xx.
pub fn tunnel(s: &mut TcpStream, p: &Proxy, host: &str, port: u16) -> Tunnel {
    let started = Instant::now();
    let mut t = Tunnel {
        proxy: p.authority.clone(),
        outcome: Outcome::Ok,
        ms: 0.0,
        status: None,
        status_line: None,
        proxy_authenticate: None,
        error: None,
    };
    let auth = p.credentials.as_ref().map_or_else(String::new, |c| {
        format!("Proxy-Authorization: Basic {}\r\n", base64::engine::general_purpose::STANDARD.encode(c))
    });
    let request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n");
    let head = s.write_all(request.as_bytes()).and_then(|()| read_head(s));
    t.ms = ms_since(started);
    match head {
        Ok(head) => {
            let (status, line, authenticate) = parse_connect_answer(&head);
            t.outcome = if status.is_some_and(|c| (200..300).contains(&c)) { Outcome::Ok } else { Outcome::Refused };
            (t.status, t.status_line, t.proxy_authenticate) = (status, line, authenticate);
        }
        Err(e) => {
            t.outcome = outcome_of(&e);
            t.error = Some(e.to_string());
        }
    }
    t
}

/// Reads a response head byte by byte, so that nothing of the tunnelled stream after it is
/// taken; bounded, as a proxy's answer may be anything.
fn read_head(s: &mut TcpStream) -> io::Result<Vec<u8>> {
    const MAX_HEAD: usize = 16 * 1024;
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::new(ErrorKind::InvalidData, "the proxy's answer has no end of head"));
        }
        match s.read(&mut b)? {
            0 => return Err(io::Error::new(ErrorKind::UnexpectedEof, "the proxy closed the connection")),
            _ => head.push(b[0]),
        }
    }
    Ok(head)
}

fn parse_connect_answer(head: &[u8]) -> (Option<u16>, Option<String>, Option<String>) {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    if r.parse(head).is_err() {
        let line = String::from_utf8_lossy(head.split(|&b| b == b'\n').next().unwrap_or(&[])).trim().to_string();
        return (None, Some(line), None);
    }
    let line = format!("{} {}", r.code.unwrap_or(0), r.reason.unwrap_or(""));
    let authenticate = r
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("proxy-authenticate"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned());
    (r.code, Some(line.trim().to_string()), authenticate)
}

/// Addresses of one family only, when `--ipv4` or `--ipv6` asks for it.
pub fn family_allowed(a: &IpAddr, only: Option<u8>) -> bool {
    match only {
        Some(4) => a.is_ipv4(),
        Some(6) => a.is_ipv6(),
        _ => true,
    }
}
