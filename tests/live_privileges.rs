//! Least privilege in live capture (docs/security.md): whoever starts it (root through sudo, a
//! user holding cap_net_raw and cap_net_admin, plain root), acrscope opens the capture, then
//! runs without any capability, with no_new_privs, as an ordinary user, in a Landlock sandbox;
//! and paths a sudo caller names are opened with the caller's rights, never through a link.
//!
//! Needs root (CI runs the tests as root, with `--include-ignored`). Every packet the tests
//! send goes to 127.0.0.81..=127.0.0.84, one address per test, and every capture is filtered
//! to its test's address, so the tests run in parallel with the others.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_acrscope");
/// `nobody` on Debian; any unprivileged uid works, it need not have a name.
const UID: u32 = 65534;
/// How long any step may take before the test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(30);

/// A directory removed on drop, world-writable and sticky like /tmp, so that both root and
/// the unprivileged user can create files in it.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("acrscope-priv-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        TempDir(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `acrscope live` whose stdout lines arrive on a channel.
struct Live {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Live {
    fn spawn(mut cmd: Command) -> Live {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
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

    /// The `start` line: written once the process has dropped everything and is sandboxed.
    fn start(&mut self) -> serde_json::Value {
        let line = match self.lines.recv_timeout(PATIENCE) {
            Ok(l) => l,
            Err(_) => {
                let _ = self.child.kill();
                let mut err = String::new();
                let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("no start line; stderr:\n{err}");
            }
        };
        let v: serde_json::Value = serde_json::from_str(&line).expect("the start line is JSON");
        assert_eq!(v["event"], "start", "{line}");
        v
    }

    /// Sends datagrams to `to` until the process exits (it stops after `--count` packets);
    /// its exit status and stderr.
    fn feed_until_exit(mut self, to: &str) -> (std::process::ExitStatus, String) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let deadline = std::time::Instant::now() + PATIENCE;
        let st = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(std::time::Instant::now() < deadline, "acrscope did not stop after its --count");
            let _ = sock.send_to(b"acrscope privilege test", (to, 9));
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        (st, err)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `acrscope live` on lo for `addr`, stopping after 4 packets, writing them to `write`.
fn live_args(addr: &str, write: &Path) -> Vec<String> {
    let filter = format!("host {addr}");
    ["live", "-i", "lo", "--format", "ndjson", "--count", "4", "--filter", &filter, "--write"]
        .iter()
        .map(|s| s.to_string())
        .chain(std::iter::once(write.display().to_string()))
        .collect()
}

/// What the three starts must all show while they capture.
fn assert_dropped(pid: u32, start: &serde_json::Value) {
    let s = common::proc_status(pid);
    let uids: Vec<u32> = s["Uid"].split_whitespace().map(|u| u.parse().unwrap()).collect();
    assert_eq!(uids.len(), 4, "{s:?}");
    assert!(uids.iter().all(|&u| u != 0), "real, effective, saved and fs uid are not root: {uids:?}");
    assert_eq!(s["CapEff"], "0000000000000000", "no effective capability");
    assert_eq!(s["CapPrm"], "0000000000000000", "no permitted capability");
    assert_eq!(s["CapInh"], "0000000000000000", "no inheritable capability");
    assert_eq!(s["CapAmb"], "0000000000000000", "no ambient capability");
    assert_eq!(s["NoNewPrivs"], "1");
    assert_eq!(start["uid"], uids[1], "the start event gives the uid: {start}");
    assert_eq!(start["capabilities"], "none", "{start}");
    assert_eq!(start["kept_root"], false, "{start}");
    let sandbox = start["sandbox"].as_str().unwrap_or_default();
    assert!(sandbox.starts_with("landlock v"), "this kernel has Landlock (/proc/config.gz): {start}");
    eprintln!(
        "pid {pid}: Uid {} CapEff {} CapPrm {} NoNewPrivs {} sandbox {sandbox}",
        s["Uid"], s["CapEff"], s["CapPrm"], s["NoNewPrivs"]
    );
}

/// The `--write` file holds a capture that `report` reads back, with the packets analysed.
fn assert_written(path: &Path, owner: u32) {
    let meta = std::fs::metadata(path).expect("the --write file exists");
    assert_eq!(meta.uid(), owner, "owner of {}", path.display());
    let back = Command::new(BIN).args(["report", "--format", "json"]).arg(path).output().unwrap();
    assert!(back.status.success(), "{}", String::from_utf8_lossy(&back.stderr));
    let r: serde_json::Value = serde_json::from_slice(&back.stdout).unwrap();
    assert!(r["stats"]["packets"].as_u64().unwrap_or(0) >= 4, "the packets were written: {}", r["stats"]);
    assert!(r["capture"]["error"].is_null(), "{}", r["capture"]);
}

fn as_sudo_caller(cmd: &mut Command) -> &mut Command {
    cmd.env("SUDO_UID", UID.to_string()).env("SUDO_GID", UID.to_string())
}

#[test]
#[ignore = "needs root"]
fn under_sudo_the_capture_runs_as_the_caller_without_capabilities() {
    let dir = TempDir::new("sudo");
    let out = dir.path("capture.pcap");
    let mut cmd = Command::new(BIN);
    as_sudo_caller(&mut cmd).args(live_args("127.0.0.81", &out));
    let mut live = Live::spawn(cmd);
    let start = live.start();
    assert_dropped(live.child.id(), &start);
    let user = start["user"].as_str().unwrap_or_default();
    assert!(user == "nobody" || user.parse() == Ok(UID), "the caller's name (or number): {start}");
    let groups = common::proc_status(live.child.id())["Groups"].clone();
    assert!(!groups.split_whitespace().any(|g| g == "0"), "root's group kept: {groups}");
    let (st, err) = live.feed_until_exit("127.0.0.81");
    assert!(st.success(), "{st}: {err}");
    // Created by the caller, after the switch: theirs without any chown.
    assert_written(&out, UID);
}

#[test]
#[ignore = "needs root"]
fn a_user_holding_the_capture_capabilities_gives_them_up_once_the_capture_is_open() {
    let dir = TempDir::new("caps");
    // A copy nobody can run (the checkout may be under a directory nobody cannot enter).
    let bin = dir.path("acrscope");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path("capture.pcap");
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={UID}"),
        &format!("--regid={UID}"),
        "--clear-groups",
        "--inh-caps=+net_raw,+net_admin",
        "--ambient-caps=+net_raw,+net_admin",
        "--",
    ])
    .arg(&bin)
    .args(live_args("127.0.0.82", &out))
    .current_dir(&dir.0)
    .env_remove("SUDO_UID")
    .env_remove("SUDO_GID");
    let mut live = Live::spawn(cmd);
    let start = live.start();
    assert_dropped(live.child.id(), &start);
    let (st, err) = live.feed_until_exit("127.0.0.82");
    assert!(st.success(), "{st}: {err}");
    assert_written(&out, UID);
}

#[test]
#[ignore = "needs root"]
fn plain_root_becomes_nobody_once_the_capture_and_its_file_are_open() {
    let dir = TempDir::new("root");
    let out = dir.path("capture.pcap");
    let mut cmd = Command::new(BIN);
    cmd.args(live_args("127.0.0.83", &out)).env_remove("SUDO_UID").env_remove("SUDO_GID");
    let mut live = Live::spawn(cmd);
    let start = live.start();
    assert_dropped(live.child.id(), &start);
    assert_eq!(start["user"], "nobody", "{start}");
    let (st, err) = live.feed_until_exit("127.0.0.83");
    assert!(st.success(), "{st}: {err}");
    // Root named the file: opened as root before the switch, and written after it.
    assert_written(&out, 0);
}

#[test]
#[ignore = "needs root"]
fn user_root_keeps_root_on_purpose_without_capabilities_and_says_so() {
    let dir = TempDir::new("userroot");
    let out = dir.path("capture.pcap");
    let mut cmd = Command::new(BIN);
    as_sudo_caller(&mut cmd).args(live_args("127.0.0.84", &out)).args(["--user", "root"]);
    let mut live = Live::spawn(cmd);
    let start = live.start();
    let s = common::proc_status(live.child.id());
    assert_eq!(s["Uid"].split_whitespace().collect::<Vec<_>>(), ["0"; 4], "root kept");
    assert_eq!((s["CapEff"].as_str(), s["CapPrm"].as_str()), ("0000000000000000", "0000000000000000"));
    assert_eq!(s["CapBnd"], "0000000000000000", "root can and does empty its bounding set");
    assert_eq!(s["NoNewPrivs"], "1");
    assert_eq!((&start["user"], &start["uid"], &start["kept_root"]), (&"root".into(), &0.into(), &true.into()));
    let (st, err) = live.feed_until_exit("127.0.0.84");
    assert!(st.success(), "{st}: {err}");
    assert_written(&out, 0);
}

#[test]
#[ignore = "needs root"]
fn a_write_path_linked_to_a_root_file_is_refused_and_the_file_left_alone() {
    let dir = TempDir::new("symlink");
    let precious = dir.path("shadow");
    std::fs::write(&precious, b"root:$6$secret:19000:0:99999:7:::\n").unwrap();
    std::fs::set_permissions(&precious, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&precious).unwrap();
    // The attack: the user plants a link at the path they then pass to `sudo acrscope`.
    let link = dir.path("pull.pcap");
    std::os::unix::fs::symlink(&precious, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(UID), Some(UID)).unwrap();
    let mut cmd = Command::new(BIN);
    as_sudo_caller(&mut cmd).args(["live", "-i", "lo", "--format", "ndjson", "--duration", "1", "--write"]).arg(&link);
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "a usage error; stderr:\n{err}");
    assert!(err.contains(&link.display().to_string()), "stderr names the path:\n{err}");
    assert!(err.contains("symbolic link"), "stderr says why:\n{err}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("\"start\""), "no capture started");
    let after = std::fs::metadata(&precious).unwrap();
    assert_eq!(std::fs::read(&precious).unwrap(), b"root:$6$secret:19000:0:99999:7:::\n");
    assert_eq!(
        (after.len(), after.uid(), after.gid(), after.mode()),
        (before.len(), before.uid(), before.gid(), before.mode()),
        "size, owner and mode unchanged"
    );
}

#[test]
#[ignore = "needs root"]
fn a_write_path_the_caller_could_not_create_is_refused() {
    let dir = TempDir::new("rootdir");
    let private = dir.path("root-only");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let target = private.join("pull.pcap");
    let mut cmd = Command::new(BIN);
    as_sudo_caller(&mut cmd)
        .args(["live", "-i", "lo", "--format", "ndjson", "--duration", "1", "--write"])
        .arg(&target);
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr:\n{err}");
    assert!(err.contains("Permission denied") && err.contains(&target.display().to_string()), "{err}");
    assert!(!target.exists(), "root did not create it on the caller's behalf");
}

#[test]
#[ignore = "needs root"]
fn rules_and_service_tags_files_only_root_can_read_are_refused_under_sudo() {
    let dir = TempDir::new("rules");
    for (flag, name) in [("--rules", "rules.toml"), ("--service-tags", "ServiceTags_Public.json")] {
        let path = dir.path(name);
        // Not valid either way: were it read as root, the error would be a parse error instead.
        std::fs::write(&path, "this is not toml [ nor json\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut cmd = Command::new(BIN);
        as_sudo_caller(&mut cmd).args(["live", "-i", "lo", "--format", "ndjson", "--duration", "1", flag]).arg(&path);
        let o = cmd.stdin(Stdio::null()).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag}: stderr:\n{err}");
        assert!(err.contains("Permission denied"), "{flag}: {err}");
        assert!(err.contains(&path.display().to_string()), "{flag}: {err}");
        assert!(!err.contains("line"), "{flag}: nothing of the file's content leaks: {err}");
    }
}

/// Set in the child process of the Landlock test: the directory to work in.
const LANDLOCK_CHILD: &str = "ACRSCOPE_LANDLOCK_CHILD";

/// The ruleset `acrscope live` applies for its UI (the wider of its two), applied in a child
/// process (this test, run again): a file outside the allowed set cannot be opened, nor a TCP
/// connection made, while the open `--write` file and the screenshot directory still take
/// writes.
#[test]
#[ignore = "needs Landlock (Linux 5.13+; 6.7+ for the TCP rules)"]
fn landlock_keeps_the_parsing_process_to_its_output() {
    match std::env::var_os(LANDLOCK_CHILD) {
        Some(dir) => landlock_child(Path::new(&dir)),
        None => {
            let dir = TempDir::new("landlock");
            std::fs::create_dir(dir.path("shots")).unwrap();
            std::fs::write(dir.path("outside.txt"), b"not for the sandbox").unwrap();
            let o = Command::new(std::env::current_exe().unwrap())
                .args(["landlock_keeps_the_parsing_process_to_its_output", "--exact", "--include-ignored"])
                .args(["--nocapture", "--test-threads=1"])
                .env(LANDLOCK_CHILD, &dir.0)
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&o.stdout);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "child failed:\n{out}\n{err}");
            assert!(out.contains("1 passed"), "the child ran the checks:\n{out}");
            assert!(err.contains("sandbox: landlock v"), "{err}");
            assert_eq!(std::fs::read(dir.path("output.pcap")).unwrap(), b"written before and after");
            assert_eq!(std::fs::read(dir.path("shots/shot.txt")).unwrap(), b"screenshot");
            assert!(!dir.path("created-outside.txt").exists());
        }
    }
}

fn landlock_child(dir: &Path) {
    use acrscope::capture::sandbox::{confine, Allowed};
    use std::io::Write;
    let mut output = std::fs::File::create(dir.join("output.pcap")).unwrap();
    output.write_all(b"written before").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sandbox = confine(&Allowed::live_ui(&dir.join("shots")));
    eprintln!("sandbox: {sandbox}");
    assert!(sandbox.is_enforced(), "{sandbox}");

    output.write_all(b" and after").unwrap();
    std::fs::write(dir.join("shots/shot.txt"), b"screenshot").expect("the screenshot directory takes new files");
    let denied = |r: std::io::Result<()>, what: &str| match r {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{what}: {e}"),
        Ok(()) => panic!("{what}: allowed inside the sandbox"),
    };
    denied(std::fs::read(dir.join("outside.txt")).map(drop), "reading a file beside the output");
    denied(std::fs::read("/etc/passwd").map(drop), "reading /etc/passwd");
    denied(std::fs::write(dir.join("created-outside.txt"), b"x"), "creating a file outside the screenshots");
    denied(std::fs::OpenOptions::new().append(true).open(dir.join("output.pcap")).map(drop), "reopening the output");
    denied(TcpStream::connect(("127.0.0.1", port)).map(drop), "a TCP connection");
    denied(TcpListener::bind("127.0.0.1:0").map(drop), "a TCP listener");
    // What the live UI reads as it runs: interface names.
    assert!(std::fs::read_to_string("/sys/class/net/lo/ifindex").is_ok(), "interface names stay readable");
}
