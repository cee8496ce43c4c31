//! `acrscope live --write OUT.pcapng` on loopback: a TLS connection with an SNI, captured by a
//! process that gave root up for an unprivileged user, saved as pcapng whose packets carry
//! comments that Wireshark (tshark) shows, from the ClientHello on with the host name, and
//! each with the process that opened the flow, which `report` of the file gives back.
//!
//! Needs root (capture on lo, the switch to uid 65534), openssl and tshark: the test is
//! `#[ignore = "needs root"]`, and a missing tool fails it.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const SERVER: &str = "127.0.0.93";
const PORT: u16 = 9443;
const SNI: &str = "registry.example";
/// The user the capture switches to (SUDO_UID/SUDO_GID): nobody.
const NOBODY: u32 = 65534;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_acrscope")
}

/// A child killed and reaped on drop unless it already ended.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether something listens on `SERVER:PORT`, from the kernel's table (no probe packet,
/// which the capture would see).
fn listening() -> bool {
    let want = format!("{:08X}:{PORT:04X}", u32::from_le_bytes(SERVER.parse::<std::net::Ipv4Addr>().unwrap().octets()));
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .any(|l| l.split_whitespace().nth(1) == Some(want.as_str()) && l.split_whitespace().nth(3) == Some("0A"))
}

/// The next stdout line of acrscope that satisfies `hit`, as JSON; panics with what came
/// before after `limit`.
fn wait_line(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    limit: Duration,
    hit: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(l) => {
                let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
                seen.push(l);
                if hit(&v) {
                    return v;
                }
            }
            Err(e) => panic!("no such line from acrscope ({e}); it printed:\n{}", seen.join("\n")),
        }
    }
}

fn run_ok(what: &str, cmd: &mut Command) -> std::process::Output {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(o.status.success(), "{what}: {}\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    o
}

#[test]
#[ignore = "needs root"]
fn live_write_pcapng_comments_every_packet_from_the_client_hello_on_with_its_host() {
    let need =
        |name| common::tool(name).unwrap_or_else(|| panic!("{name} not installed (apt-get install openssl tshark)"));
    let (openssl, tshark) = (need("openssl"), need("tshark"));
    let dir = TempDir(std::env::temp_dir().join(format!("acrscope-live-pcapng-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    // nobody creates the file: the directory is theirs.
    std::os::unix::fs::chown(&dir.0, Some(NOBODY), Some(NOBODY)).expect("chown (needs root)");
    let out = dir.0.join("live.pcapng");
    let mut server = tls_server(&openssl, &dir.0);

    let filter = format!("host {SERVER} and port {PORT}");
    let mut live = Proc(
        Command::new(bin())
            .args(["live", "-i", "lo", "--format", "ndjson", "--filter", &filter, "--write"])
            .arg(&out)
            .env("SUDO_UID", NOBODY.to_string())
            .env("SUDO_GID", NOBODY.to_string())
            .env_remove("SUDO_USER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting acrscope live"),
    );
    let stdout = live.0.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let start = wait_line(&lines, &mut seen, Duration::from_secs(30), |v| v["event"] == "start");
    assert_eq!(start["uid"], NOBODY, "the capture runs as nobody: {start}");

    // The client keeps its connection until its flow is announced (as a registry client's
    // lasts longer than the reading of /proc for a process not seen before).
    let mut client = Proc(
        Command::new(&openssl)
            .args(["s_client", "-servername", SNI, "-connect", &format!("{SERVER}:{PORT}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("running openssl s_client"),
    );
    let named = |v: &Value| v["hostname"] == SNI && v["server"] == SERVER && v["server_port"] == PORT;
    let open = wait_line(&lines, &mut seen, Duration::from_secs(30), |v| v["event"] == "flow_open" && named(v));
    assert_eq!(open["proto"], "tcp", "{open}");
    drop(client.0.stdin.take());
    let mut shown = String::new();
    std::io::Read::read_to_string(&mut client.0.stdout.take().unwrap(), &mut shown).unwrap();
    assert!(shown.contains("BEGIN CERTIFICATE"), "no TLS handshake: {shown}");
    drop(client);
    wait_line(&lines, &mut seen, Duration::from_secs(30), |v| v["event"] == "flow_close" && named(v));
    let _ = server.0.wait();

    // The capture ends as Ctrl-C ends it.
    let st = Command::new("sh").args(["-c", &format!("kill -INT {}", live.0.id())]).status().unwrap();
    assert!(st.success(), "kill -INT");
    let summary = wait_line(&lines, &mut seen, Duration::from_secs(30), |v| v["event"] == "summary");
    let status = live.0.wait().unwrap();
    reader.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut live.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "acrscope live: {status}\n{stderr}");
    assert!(!stderr.contains("stopped being written"), "{stderr}");

    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY), "the file is the user's, created after the switch");

    let live_report = &summary["report"];
    let found = check_report_of_file(&out, live_report);

    check_comments(&tshark, &out, live_report, &found);
}

/// tshark reads the file's comments: the ClientHello and every later packet of the flow name
/// the host and the process.
fn check_comments(tshark: &std::path::Path, out: &std::path::Path, live_report: &Value, found: &Value) {
    // tshark: the ClientHello and every later packet of the flow name the host; the packets
    // before it (the handshake) carry a comment too, without a name yet.
    let o = run_ok(
        "tshark",
        Command::new(tshark).arg("-r").arg(out).args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "tls.handshake.type",
            "-e",
            "frame.comment",
        ]),
    );
    let rows: Vec<(String, String)> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (a, b) = l.split_once('|').unwrap_or((l, ""));
            (a.to_string(), b.to_string())
        })
        .collect();
    assert_eq!(rows.len() as u64, live_report["stats"]["packets"].as_u64().unwrap(), "{rows:?}");
    let hello = rows
        .iter()
        .position(|(types, _)| types.split(',').any(|t| t == "1"))
        .unwrap_or_else(|| panic!("no ClientHello in {rows:?}"));
    let host = format!("host={SNI} ");
    for (i, (_, comment)) in rows.iter().enumerate() {
        assert!(comment.starts_with("acrscope host="), "packet {} has no comment: {rows:?}", i + 1);
        assert!(comment.contains(&format!("server={SERVER}:{PORT}")), "packet {}: {comment}", i + 1);
        // Attributed at its first packet, before that packet was written.
        assert!(comment.contains(&format!(" process=openssl pid={} ", found["pid"])), "packet {}: {comment}", i + 1);
        if i >= hello {
            assert!(comment.contains(&host), "packet {} (ClientHello is {}): {comment}", i + 1, hello + 1);
        }
    }
    assert!(rows.len() > hello + 1, "packets after the ClientHello: {rows:?}");
    let (_, last) = rows.last().unwrap();
    assert!(last.contains("outcome=ok"), "the last packet knows how the flow ended: {last}");
}

/// A TLS server for SNI on SERVER:PORT (openssl s_server, a throw-away certificate in `dir`),
/// listening when this returns.
fn tls_server(openssl: &std::path::Path, dir: &std::path::Path) -> Proc {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    run_ok(
        "openssl req",
        Command::new(openssl)
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-days", "1", "-subj", &format!("/CN={SNI}"), "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let mut server = Proc(
        Command::new(openssl)
            .args(["s_server", "-quiet", "-naccept", "1", "-accept", &format!("{SERVER}:{PORT}"), "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            // Kept open: at the end of its input s_server would close the connection at once.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting openssl s_server"),
    );
    let until = Instant::now() + Duration::from_secs(20);
    while !listening() {
        assert!(server.0.try_wait().unwrap().is_none(), "openssl s_server exited early");
        assert!(Instant::now() < until, "openssl s_server does not listen on {SERVER}:{PORT}");
        std::thread::sleep(Duration::from_millis(20));
    }

    server
}

/// acrscope reads the file the live capture wrote back to the same flows and processes;
/// returns the process that live attribution found for the flow.
fn check_report_of_file(out: &std::path::Path, live_report: &Value) -> Value {
    // acrscope reads its own file back to the same flows.
    let o = run_ok("acrscope report", Command::new(bin()).args(["report", "--format", "json"]).arg(out));
    let again: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["capture"]["format"], "pcapng");
    assert!(again["capture"]["error"].is_null(), "{}", again["capture"]);
    assert_eq!(again["stats"]["packets"], live_report["stats"]["packets"], "every packet analysed was written");
    let flows = |r: &Value| -> Vec<(Value, Value, Value, Value, Value)> {
        r["flows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let packets = f["packets_up"].as_u64().unwrap() + f["packets_down"].as_u64().unwrap();
                (
                    f["hostname"].clone(),
                    f["client_port"].clone(),
                    f["server"].clone(),
                    f["role"].clone(),
                    packets.into(),
                )
            })
            .collect()
    };
    assert_eq!(flows(&again), flows(live_report), "the same flows live and from the file");
    // The process live attribution found (this test's openssl client, as root) is in the
    // packets' comments: the report of the file names it again, every field alike.
    let process = |r: &Value| -> Value {
        let f = r["flows"].as_array().unwrap().iter().find(|f| f["hostname"] == SNI).cloned();
        f.unwrap_or_else(|| panic!("no flow of {SNI}: {r}"))["process"].clone()
    };
    let found = process(live_report);
    assert_eq!(
        (&found["name"], &found["uid"], &found["side"]),
        (&"openssl".into(), &0.into(), &"client".into()),
        "{}",
        live_report["capture"]
    );
    assert_eq!(process(&again), found, "the file names the process the capture found");
    found
}
