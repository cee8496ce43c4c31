//! Which process opened each flow (issue 17): `acrscope live` started through sudo names the
//! root-owned client of a loopback TLS connection, through a helper process that holds only
//! CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH while the packet parser holds nothing.
//!
//! Needs root (CI runs the tests as root, with `--include-ignored`) and `openssl`. Every packet
//! goes to 127.0.0.91 (127.0.0.92 for the short flows), and every capture is filtered to it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_acrscope");
/// The sudo caller: `nobody` on Debian.
const UID: u32 = 65534;
const PATIENCE: Duration = Duration::from_secs(30);
/// CAP_DAC_READ_SEARCH (bit 2) and CAP_SYS_PTRACE (bit 19), as /proc/PID/status shows them.
const HELPER_CAPS: &str = "0000000000080004";

/// A running `acrscope live` whose stdout lines arrive on a channel; killed on drop.
struct Live {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Live {
    fn spawn(filter: &str) -> Live {
        Live::spawn_with(filter, &[])
    }

    fn spawn_with(filter: &str, more: &[&str]) -> Live {
        let mut child = Command::new(BIN)
            .args(["live", "-i", "lo", "--format", "ndjson", "--filter", filter])
            .args(more)
            .env("SUDO_UID", UID.to_string())
            .env("SUDO_GID", UID.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Live { child, lines }
    }

    /// The next event line, or a panic with acrscope's stderr.
    fn next(&mut self, what: &str) -> serde_json::Value {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(l) => serde_json::from_str(&l).expect("an event line is JSON"),
            Err(_) => {
                let _ = self.child.kill();
                let mut err = String::new();
                let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("no {what}; stderr:\n{err}");
            }
        }
    }

    fn start(&mut self) -> serde_json::Value {
        let v = self.next("start line");
        assert_eq!(v["event"], "start", "{v}");
        v
    }

    /// The `flow_close` events until `n` flows to `port` have closed (a closed flow carries
    /// its `process` from its first packet, as its `flow_open` did).
    fn closed_flows(&mut self, port: u16, n: usize) -> Vec<serde_json::Value> {
        let mut found = Vec::new();
        while found.len() < n {
            let v = self.next("flow_close");
            if v["event"] == "flow_close" && v["server_port"] == port {
                found.push(v);
            }
        }
        found
    }

    /// The helper: acrscope's child named acrscope-procs.
    fn helper_pid(&self) -> u32 {
        let parent = self.child.id().to_string();
        let found = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let is = s.lines().any(|l| l == "Name:\tacrscope-procs")
                && s.lines().any(|l| l.strip_prefix("PPid:").map(str::trim) == Some(parent.as_str()));
            is.then_some(pid)
        });
        found.expect("acrscope live runs its helper as a child named acrscope-procs")
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A throw-away key and self-signed certificate for `openssl s_server`.
fn certificate() -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("acrscope-procs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let st = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=acrscope.test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(st.success(), "openssl req failed");
    (key, cert)
}

/// A port of 127.0.0.91 free now.
fn free_port(addr: &str) -> u16 {
    TcpListener::bind((addr, 0)).unwrap().local_addr().unwrap().port()
}

#[test]
#[ignore = "needs root"]
fn a_root_owned_tls_client_is_named_by_a_helper_holding_only_two_capabilities() {
    assert!(nix::unistd::geteuid().is_root(), "run as root: cargo test -- --include-ignored");
    let addr = "127.0.0.91";
    let port = free_port(addr);
    let (key, cert) = certificate();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept", &format!("{addr}:{port}"), "-key"])
        .arg(&key)
        .arg("-cert")
        .arg(&cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server_stdin = server.stdin.take();
    let _server = Killed(server);
    // Listening once a connection succeeds; this probe is over before the capture starts.
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect((addr, port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut live = Live::spawn(&format!("host {addr} and tcp port {port}"));
    let start = live.start();
    assert_eq!(start["process_attribution"], "helper", "{start}");

    let parser = common::proc_status(live.child.id());
    assert_eq!(parser["CapEff"], "0000000000000000", "the packet parser holds nothing");
    assert_eq!(parser["CapPrm"], "0000000000000000");
    assert_eq!(parser["NoNewPrivs"], "1");
    let helper_pid = live.helper_pid();
    let helper = common::proc_status(helper_pid);
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(helper[set], HELPER_CAPS, "{set} of the helper: only cap_sys_ptrace and cap_dac_read_search");
    }
    assert_eq!(helper["CapInh"], "0000000000000000");
    assert_eq!(helper["CapAmb"], "0000000000000000");
    assert_eq!(helper["NoNewPrivs"], "1");
    assert!(helper["Uid"].split_whitespace().all(|u| u != "0"), "the helper is not root: {}", helper["Uid"]);
    eprintln!(
        "parser pid {}: Uid {} CapEff {} NoNewPrivs {}; helper pid {helper_pid}: Uid {} CapEff {} CapBnd {} NoNewPrivs {}",
        live.child.id(),
        parser["Uid"],
        parser["CapEff"],
        parser["NoNewPrivs"],
        helper["Uid"],
        helper["CapEff"],
        helper["CapBnd"],
        helper["NoNewPrivs"]
    );

    // The client, as root (as dockerd is), holds its TLS connection for two seconds.
    let deadline = Instant::now() + PATIENCE;
    let mut client = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", &format!("{addr}:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client_pid = client.id();
    let mut stdin = client.stdin.take().unwrap();
    let _ = stdin.write_all(b"hello\n");
    std::thread::sleep(Duration::from_secs(2));
    drop(stdin);
    let _client = Killed(client);
    let _ = Command::new("kill").arg(client_pid.to_string()).status();

    let flow = live.closed_flows(port, 1).remove(0);
    assert!(Instant::now() < deadline + PATIENCE);
    let p = &flow["process"];
    assert_eq!(p["pid"], client_pid, "the client's pid: {flow}");
    assert_eq!(p["name"], "openssl", "{flow}");
    assert_eq!(p["uid"], 0, "{flow}");
    assert!(p["exe"].as_str().is_some_and(|e| e.ends_with("/openssl")), "{flow}");
    assert!(p["container"].is_null(), "{flow}");
    assert_eq!(p["side"], "client", "the client opened it: {flow}");
    assert_eq!(flow["sni"], serde_json::Value::Null, "s_client sends no SNI to an address: {flow}");
    assert!(flow["tls_version"].is_string(), "a TLS flow: {flow}");

    // The helper ends with acrscope, even killed outright (PR_SET_PDEATHSIG).
    live.child.kill().unwrap();
    live.child.wait().unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let state = std::fs::read_to_string(format!("/proc/{helper_pid}/status"))
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("State:").map(|v| v.trim().to_string())));
        match state {
            None => break,
            Some(s) if s.starts_with('Z') => break,
            Some(s) => assert!(Instant::now() < deadline, "the helper outlived acrscope: {s}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Short flows: a client that connects and closes at once leaves its socket in TIME_WAIT,
/// without an inode, some 50 µs after its SYN, before acrscope has even read the SYN (120-270
/// µs later in a debug build): that rate is measured and printed (0 of 10), as is the rate of
/// connections held 1 ms, and each miss must be counted with its reason. A connection that
/// lives a few milliseconds (a token request does) must be attributed. docs/security.md has
/// the measured rates and where the time goes.
#[test]
#[ignore = "needs root"]
fn short_flows_are_attributed_or_say_why_not() {
    assert!(nix::unistd::geteuid().is_root(), "run as root: cargo test -- --include-ignored");
    let addr = "127.0.0.92";
    let listener = TcpListener::bind((addr, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            drop(c);
        }
    });
    let mut live = Live::spawn(&format!("host {addr} and tcp port {port}"));
    live.start();
    const TRIES: usize = 10;
    let me = u64::from(std::process::id());
    let mut rates = Vec::new();
    let mut flows_so_far = 0;
    for hold in [Duration::ZERO, Duration::from_millis(1), Duration::from_millis(5)] {
        for _ in 0..TRIES {
            let c = TcpStream::connect((addr, port)).unwrap();
            std::thread::sleep(hold);
            drop(c);
        }
        let flows = live.closed_flows(port, TRIES);
        flows_so_far += TRIES;
        let mut attributed = 0;
        for f in &flows {
            match f["process"]["pid"].as_u64() {
                Some(pid) => {
                    assert_eq!(pid, me, "the test process made every flow: {f}");
                    attributed += 1;
                }
                None => assert!(f["process"].is_null(), "{f}"),
            }
        }
        rates.push((hold, attributed));
        // The misses are counted with a reason in the stats.
        let stats = loop {
            let v = live.next("stats");
            if v["event"] == "stats" && v["flows"] == flows_so_far as u64 {
                break v;
            }
        };
        let missed: u64 = rates.iter().map(|(_, n)| (TRIES - n) as u64).sum();
        assert_eq!(stats["flows_unattributed"], missed, "{stats}");
        let because = stats["unattributed_because"].as_object().unwrap();
        assert_eq!(because.values().filter_map(|v| v.as_u64()).sum::<u64>(), missed, "{stats}");
        eprintln!(
            "held {hold:?}: {attributed} of {TRIES} attributed; misses so far: {}",
            stats["unattributed_because"]
        );
    }
    // Held 1 ms: 10 of 10 on an idle machine, as few as 4 of 10 seen while other builds kept
    // both cores busy (debug build): printed, not asserted.
    assert!(rates[2].1 >= TRIES - 1, "flows held 5 ms: {rates:?}");
}

/// `--process NAME`: only that process's flows are announced, the others counted as hidden.
#[test]
#[ignore = "needs root"]
fn process_filter_shows_only_the_named_processes_flows() {
    assert!(nix::unistd::geteuid().is_root(), "run as root: cargo test -- --include-ignored");
    let addr = "127.0.0.93";
    let listener = TcpListener::bind((addr, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            drop(c);
        }
    });
    let me = std::fs::read_to_string("/proc/self/comm").unwrap().trim_end().to_string();
    let mut live =
        Live::spawn_with(&format!("host {addr} and tcp port {port}"), &["--process", &format!("{me},dockerd")]);
    live.start();
    // Another process's connection first: curl (its request fails, the listener drops it).
    let st = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "--max-time", "5", &format!("http://{addr}:{port}/")])
        .status()
        .expect("curl is installed");
    assert!(!st.success(), "the listener answers nothing");
    let c = TcpStream::connect((addr, port)).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let mine = c.local_addr().unwrap().port();
    drop(c);
    let flows = live.closed_flows(port, 1);
    assert_eq!(flows[0]["client_port"], mine, "curl's flow is hidden, this one shown: {}", flows[0]);
    assert_eq!(flows[0]["process"]["name"], me.as_str(), "{}", flows[0]);
    let stats = loop {
        let v = live.next("stats");
        if v["event"] == "stats" && v["flows"] == 2 {
            break v;
        }
    };
    assert_eq!(stats["flows_hidden"], 1, "{stats}");
}

/// A DNS answer names the process that asked: here the test itself, which is no resolver.
#[test]
#[ignore = "needs root"]
fn a_dns_answer_names_the_process_that_asked() {
    use std::net::UdpSocket;
    assert!(nix::unistd::geteuid().is_root(), "run as root: cargo test -- --include-ignored");
    let addr = "127.0.0.94";
    let server = UdpSocket::bind((addr, 53)).expect("binding port 53 (root)");
    let mut live = Live::spawn(&format!("host {addr} and udp port 53"));
    live.start();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    let question: &[u8] = b"\x07acrscop\x04test\x00\x00\x01\x00\x01";
    let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(question);
    client.send_to(&query, (addr, 53)).unwrap();
    let mut buf = [0u8; 512];
    let (n, from) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &query[..]);
    let mut answer = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    answer.extend_from_slice(question);
    answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 7]);
    server.send_to(&answer, from).unwrap();
    client.recv_from(&mut buf).unwrap();
    let dns = loop {
        let v = live.next("dns event");
        if v["event"] == "dns" {
            break v;
        }
    };
    assert_eq!(dns["query"], "acrscop.test", "{dns}");
    assert_eq!(dns["process"]["pid"], std::process::id(), "the asker: {dns}");
    assert_eq!(dns["asked_by_resolver"], false, "{dns}");
}

/// `--process` filters ndjson events only: asked of the json report, it is a usage error.
#[test]
fn process_filter_outside_ndjson_is_a_usage_error() {
    let o = Command::new(BIN).args(["live", "--format", "json", "--process", "dockerd"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--process filters the events of --format ndjson"), "{err}");
}
