//! Live ndjson announces a failure as soon as it is known, so a script can stop at the first:
//! a connection refused on loopback gives a `finding` event before the capture ends.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_acrscope");

/// A loopback port nothing listens on: bound, then released.
fn closed_port(ip: Ipv4Addr) -> u16 {
    let l = TcpListener::bind(SocketAddrV4::new(ip, 0)).unwrap();
    l.local_addr().unwrap().port()
}

#[test]
#[ignore = "needs root"]
fn a_refused_connection_is_announced_as_a_finding_while_the_capture_runs() {
    let ip = Ipv4Addr::new(127, 0, 0, 83);
    let port = closed_port(ip);
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
