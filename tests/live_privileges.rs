//! Least privilege in live capture: started as root through sudo, acrscope opens the capture
//! and the `--write` file, then runs as the sudo caller. Needs root (CI runs as root).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_acrscope");
/// `nobody` on Debian; any unprivileged uid works, it need not have a name.
const UID: u32 = 65534;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

/// The real, effective, saved and filesystem uids of `pid`.
fn uids(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading /proc/PID/status");
    let line = status.lines().find(|l| l.starts_with("Uid:")).expect("a Uid line");
    line.split_whitespace().skip(1).map(|v| v.parse().expect("a uid")).collect()
}

fn groups(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading /proc/PID/status");
    status.lines().find(|l| l.starts_with("Groups:")).unwrap_or_default().to_string()
}

#[test]
fn under_sudo_the_capture_runs_as_the_caller_and_the_written_file_is_theirs() {
    if !is_root() {
        eprintln!("SKIPPED: live capture needs root (CI runs the tests as root)");
        return;
    }
    // World-writable like /tmp, so the file can be created before and after the switch.
    let dir = std::env::temp_dir().join(format!("acrscope-priv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("capture.pcap");
    let mut child = Command::new(BIN)
        .args(["live", "-i", "lo", "--format", "ndjson", "--duration", "3", "--filter", "host 127.0.0.79", "--write"])
        .arg(&out)
        .env("SUDO_UID", UID.to_string())
        .env("SUDO_GID", UID.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting acrscope live");
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The start line is written after the switch, before any packet is parsed.
    let start = lines.next().expect("a start line").expect("reading stdout");
    let start: serde_json::Value = serde_json::from_str(&start).expect("start is JSON");
    assert_eq!(start["event"], "start");
    assert_eq!(start["interface"], "lo");
    let while_running = uids(pid);
    let groups_running = groups(pid);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut summary = None;
    for l in lines {
        let l = l.expect("reading stdout");
        let v: serde_json::Value = serde_json::from_str(&l).expect("every line is JSON");
        if v["event"] == "summary" {
            summary = Some(v);
        }
        assert!(Instant::now() < deadline, "acrscope live ran past its --duration");
    }
    let status = child.wait().expect("waiting for acrscope");
    assert!(status.success(), "exit status {status}");
    assert_eq!(while_running, vec![UID; 4], "real, effective, saved and fs uid after the open");
    assert!(!groups_running.split_whitespace().skip(1).any(|g| g == "0"), "root's group kept: {groups_running}");
    let meta = std::fs::metadata(&out).expect("the --write file exists");
    assert_eq!((meta.uid(), meta.gid()), (UID, UID), "the --write file belongs to the sudo caller");
    let summary = summary.expect("a summary line");
    let user = summary["report"]["capture"]["live"]["user"].as_str().unwrap_or_default().to_string();
    assert!(user == "nobody" || user == UID.to_string(), "capture.live.user is {user:?}");
    // The file is a capture acrscope (and Wireshark) can read back.
    let back = Command::new(BIN).args(["report", "--format", "json"]).arg(&out).output().unwrap();
    assert!(back.status.success(), "{}", String::from_utf8_lossy(&back.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_sudo_variables_root_stays_root_and_says_nothing_was_dropped() {
    if !is_root() {
        eprintln!("SKIPPED: live capture needs root (CI runs the tests as root)");
        return;
    }
    let out = Command::new(BIN)
        .args(["live", "-i", "lo", "--format", "ndjson", "--duration", "1", "--filter", "host 127.0.0.79"])
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .output()
        .expect("running acrscope live");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let first = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().to_string();
    let start: serde_json::Value = serde_json::from_str(&first).expect("start is JSON");
    assert_eq!(start["user"], serde_json::Value::Null);
}
