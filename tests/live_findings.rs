//! Live ndjson announces a failure as soon as it is known, so a script can stop at the first:
//! a connection refused on loopback gives a `finding` event before the capture ends.

use std::io::{BufRead, BufReader, Lines};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_acrscope");

/// A loopback port nothing listens on: bound, then released.
fn closed_port(ip: Ipv4Addr) -> u16 {
    let l = TcpListener::bind(SocketAddrV4::new(ip, 0)).unwrap();
    l.local_addr().unwrap().port()
}

/// `acrscope live` in ndjson on `lo` for one TCP port, and its event lines once the capture
/// is open (its `start` read).
fn capture(ip: Ipv4Addr, port: u16) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(BIN)
        .args(["live", "-i", "lo", "--format", "ndjson", "--duration", "60", "--filter"])
        .arg(format!("host {ip} and tcp port {port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting acrscope live (needs root)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let start: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(start["event"], "start", "{start}");
    (child, lines)
}

#[test]
#[ignore = "needs root"]
fn a_refused_connection_is_announced_as_a_finding_while_the_capture_runs() {
    let ip = Ipv4Addr::new(127, 0, 0, 83);
    let port = closed_port(ip);
    let (mut child, mut lines) = capture(ip, port);
    // The capture is open once `start` is written: the SYN and its RST are seen.
    let err = TcpStream::connect(SocketAddrV4::new(ip, port)).expect_err("nothing listens there");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let mut finding = None;
    let mut closed = None;
    for l in lines.by_ref() {
        let v: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
        match v["event"].as_str() {
            Some("flow_close") => closed = Some(v),
            Some("finding") => {
                finding = Some(v);
                break;
            }
            _ => {}
        }
    }
    // The finding came while the capture still runs: end it now.
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let finding = finding.expect("a finding event before the capture ended");
    assert_eq!(finding["kind"], "connect-refused", "{finding}");
    assert_eq!(finding["addresses"][0], ip.to_string(), "{finding}");
    let closed = closed.expect("the flow's close came first");
    assert_eq!(closed["outcome"], "connect-refused", "{closed}");
    assert_eq!(closed["server_port"], port);
}

/// A TLS handshake record holding a ServerHello (TLS 1.2, one cipher suite, no extensions).
fn server_hello() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[9; 32]);
    body.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    let mut r = vec![0x16, 3, 3, 0, body.len() as u8 + 4, 2, 0, 0, body.len() as u8];
    r.extend(body);
    r
}

/// An application-data record of `len` bytes of which only the first `sent` follow.
fn cut_record(len: u16, sent: usize) -> Vec<u8> {
    let mut r = vec![0x17, 3, 3];
    r.extend_from_slice(&len.to_be_bytes());
    r.extend(std::iter::repeat_n(0, sent));
    r
}

/// A registry watched by `acrscope live`: on a loopback port of `ip`, it takes one connection,
/// plays `script` on it, then holds the socket open and silent until `done` is sent to.
struct SilentRegistry {
    port: u16,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    done: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn silent_registry(ip: Ipv4Addr, script: impl FnOnce(&mut TcpStream) + Send + 'static) -> SilentRegistry {
    let server = TcpListener::bind(SocketAddrV4::new(ip, 0)).unwrap();
    let port = server.local_addr().unwrap().port();
    let (child, lines) = capture(ip, port);
    let (done, until_done) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let (mut c, _) = server.accept().unwrap();
        script(&mut c);
        let _ = until_done.recv();
    });
    SilentRegistry { port, child, lines, done, thread }
}

/// The first `finding` event, read while the flow of `client_port` is still open: its close
/// coming first fails the test, the capture's end gives `None`.
fn first_finding_while_open(lines: &mut Lines<BufReader<ChildStdout>>, client_port: u16) -> Option<serde_json::Value> {
    for l in lines.by_ref() {
        let v: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
        match v["event"].as_str() {
            Some("flow_close") if v["client_port"] == client_port => panic!("the flow closed before its finding: {v}"),
            Some("finding") => return Some(v),
            Some("summary") => return None,
            _ => {}
        }
    }
    None
}

#[test]
#[ignore = "needs root"]
fn a_layer_download_that_stops_mid_body_is_announced_as_a_stall_while_it_lasts() {
    use std::io::{Read, Write};
    let ip = Ipv4Addr::new(127, 0, 0, 84);
    // The registry answers the handshake and the request, sends a tenth of a 16 KB record,
    // then nothing, its socket kept open until the client has gone.
    let SilentRegistry { port, mut child, mut lines, done, thread: registry } = silent_registry(ip, |c| {
        let mut buf = [0u8; 4096];
        let _ = c.read(&mut buf).unwrap();
        c.write_all(&server_hello()).unwrap();
        let _ = c.read(&mut buf).unwrap();
        c.write_all(&cut_record(16_000, 1_600)).unwrap();
    });
    let mut client = TcpStream::connect(SocketAddrV4::new(ip, port)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    client.write_all(&common::client_hello("contoso.azurecr.io")).unwrap();
    let mut buf = [0u8; 4096];
    let _ = client.read(&mut buf).unwrap();
    client.write_all(&[0x17, 3, 3, 0, 4, 1, 2, 3, 4]).unwrap();
    let mut got = 0;
    while got < 1_605 {
        got += client.read(&mut buf).unwrap();
    }
    // No packet follows: the capture's own clock must find the stall.
    let finding = first_finding_while_open(&mut lines, client_port);
    let finding = finding.expect("a finding event while the transfer is stalled");
    assert_eq!(finding["kind"], "stall", "{finding}");
    assert_eq!(finding["client_port"], client_port, "{finding}");
    assert_eq!(finding["waiting_for"], "rest-of-body", "{finding}");
    assert_eq!(finding["ended_by"], "capture-end", "announced while it lasts: {finding}");
    assert!(finding["stalled_s"].as_f64().unwrap() >= 5.0, "{finding}");
    drop(client);
    let _ = done.send(());
    registry.join().unwrap();
    let mut closed = None;
    for l in lines.by_ref() {
        let v: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
        if v["event"] == "flow_close" && v["client_port"] == client_port {
            closed = Some(v);
            break;
        }
    }
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let closed = closed.expect("the flow's close after the client gave up");
    assert_eq!(closed["outcome"], "stalled", "{closed}");
}

#[test]
#[ignore = "needs root"]
fn a_client_hello_left_unanswered_is_announced_as_a_handshake_timeout_while_it_waits() {
    use std::io::{Read, Write};
    let ip = Ipv4Addr::new(127, 0, 0, 85);
    // The registry takes the connection and the ClientHello, and never answers it: a device on
    // the path that holds the handshake.
    let SilentRegistry { port, mut child, mut lines, done, thread: registry } = silent_registry(ip, |c| {
        let _ = c.read(&mut [0u8; 4096]).unwrap();
    });
    let mut client = TcpStream::connect(SocketAddrV4::new(ip, port)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    client.write_all(&common::client_hello("contoso.azurecr.io")).unwrap();
    let finding = first_finding_while_open(&mut lines, client_port);
    drop(client);
    let _ = done.send(());
    registry.join().unwrap();
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let finding = finding.expect("a finding event while the ClientHello waits");
    assert_eq!(finding["kind"], "tls-handshake-timeout", "{finding}");
    assert_eq!(finding["hello_acked"], true, "the server's stack acknowledged it: {finding}");
    assert!(finding["waited_s"].as_f64().unwrap() >= 5.0, "{finding}");
}
