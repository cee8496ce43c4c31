//! Which process opened a flow: the socket inode from netlink sock_diag (else
//! `/proc/net/*`), then the process that holds `socket:[inode]` among `/proc/*/fd`, then its
//! name, executable, uid and container.
//!
//! Reading another user's `/proc/<pid>/fd` takes `CAP_SYS_PTRACE` (and `CAP_DAC_READ_SEARCH`
//! for the directory itself). The process that parses packets holds neither: under root the
//! lookups run in a helper process ([`helper`]) that keeps only those two; without root the
//! helper holds nothing and reaches only the user's own processes.
//!
//! This module uses nothing else of the crate: the helper runs it alone.

pub mod comment;
pub mod diag;
pub mod helper;
pub mod parse;

use std::collections::HashMap;
use std::fmt;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The process that holds a flow's socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    /// `comm`: at most 15 bytes, as `ps` shows it.
    pub name: String,
    /// Where its executable is; null when it could not be read.
    pub exe: Option<String>,
    pub uid: u32,
    /// The container id (64 hex digits) when the process runs in a container or pod.
    pub container: Option<String>,
    /// Which end of the flow it holds: the client's (it opened the flow), or the server's
    /// (it accepted it: a service of this host, or the client's socket was gone already).
    pub side: Side,
}

impl Process {
    /// Whether `--process NAMES` keeps it: its name (`comm`, as `ps` shows it) is one of them.
    pub fn is_one_of(&self, names: &[String]) -> bool {
        names.contains(&self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// A flow as its first packet shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub proto: Proto,
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// Why a flow has no process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Miss {
    /// No socket of this host matches (the flow is another host's, or it closed already).
    #[serde(rename = "socket gone")]
    SocketGone,
    /// The socket is there but the process holding it could not be read.
    #[serde(rename = "no privilege")]
    NoPrivilege,
    /// Too many lookups at once: the table of processes was not read again.
    #[serde(rename = "busy")]
    Busy,
    /// The helper process ended or did not answer.
    #[serde(rename = "helper gone")]
    HelperGone,
}

impl Miss {
    pub fn as_str(self) -> &'static str {
        match self {
            Miss::SocketGone => "socket gone",
            Miss::NoPrivilege => "no privilege",
            Miss::Busy => "busy",
            Miss::HelperGone => "helper gone",
        }
    }
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads of all of `/proc/*/fd` allowed per second: each is a few milliseconds on a busy host,
/// and a flood of new flows must not turn into a flood of scans.
const SCANS_PER_SECOND: u32 = 50;

/// Processes whose fds are read first for a new socket.
const RECENT: usize = 8;

/// The newest processes (highest pids), read next, before all of /proc.
const NEWEST: usize = 16;

/// Socket inodes remembered at most (a few megabytes).
const MAX_HOLDERS: usize = 1 << 16;

/// How long what a process is (name, exe, uid, container) is taken as read, and for how many
/// processes at most.
const PROCESS_FRESH: Duration = Duration::from_secs(1);
const MAX_PROCESSES: usize = 4096;

/// Looks flows up in `/proc` (or another root, for tests).
#[derive(Debug)]
pub struct Resolver {
    root: PathBuf,
    /// sock_diag, for the real /proc; `None` where netlink is not there (then /proc/net).
    diag: Option<diag::Diag>,
    /// Socket inode to the pid holding it, from the last scan.
    holders: HashMap<u64, u32>,
    /// Processes whose fds could not be read at the last scan.
    denied: usize,
    window: Instant,
    scans_in_window: u32,
    /// The pids found last, most recent first.
    recent: Vec<u32>,
    /// By pid: its start time, when it was read, what it was.
    processes: HashMap<u32, (u64, Instant, Process)>,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::new("/proc")
    }
}

impl Resolver {
    pub fn new(root: impl Into<PathBuf>) -> Resolver {
        let root = root.into();
        let diag = if root == Path::new("/proc") { diag::Diag::open().ok() } else { None };
        Resolver {
            root,
            diag,
            holders: HashMap::new(),
            denied: 0,
            window: Instant::now(),
            scans_in_window: 0,
            recent: Vec::new(),
            processes: HashMap::new(),
        }
    }

    pub fn lookup(&mut self, q: &Query) -> Result<Process, Miss> {
        let (inode, side) = self.socket_inode(q).ok_or(Miss::SocketGone)?;
        let pid = match self.holders.get(&inode) {
            Some(&pid) if self.root.join(pid.to_string()).exists() => pid,
            _ => self.holder(q, inode, side)?,
        };
        // Most recent first, at most RECENT of them.
        self.recent.retain(|&p| p != pid);
        self.recent.insert(0, pid);
        self.recent.truncate(RECENT);
        Ok(self.process(pid, side))
    }

    /// The pid holding a socket not seen before: the processes that opened the last flows
    /// first (a pull's daemon opens many; reading one process's fds is cheap), then all.
    fn holder(&mut self, q: &Query, inode: u64, side: Side) -> Result<u32, Miss> {
        if self.holders.len() > MAX_HOLDERS {
            // Only full scans clear the map; reads of single processes would grow it forever.
            self.holders.clear();
        }
        for pid in self.recent.clone() {
            self.scan_pid(pid);
            if let Some(&pid) = self.holders.get(&inode) {
                return Ok(pid);
            }
        }
        // A short flow's socket is often closed by now (its inode gone with its last fd): then
        // no process holds it, and reading all of /proc (milliseconds, more on a busy host)
        // would only delay the flows behind it. sock_diag says so in microseconds.
        if !self.still_held(q, inode, side) {
            return Err(Miss::SocketGone);
        }
        // A process started a moment ago (a CLI's request, a token fetch) is likelier to hold
        // a socket not seen yet than one of the many that run for long; it is found here in a
        // fraction of a full scan, while its flow may still be open.
        for pid in self.newest() {
            self.scan_pid(pid);
            if let Some(&pid) = self.holders.get(&inode) {
                return Ok(pid);
            }
        }
        self.scan()?;
        match self.holders.get(&inode).copied() {
            Some(pid) => Ok(pid),
            // Closed while /proc was read: that, not the processes it could not read, is why.
            None if self.denied > 0 && self.still_held(q, inode, side) => Err(Miss::NoPrivilege),
            None => Err(Miss::SocketGone),
        }
    }

    /// The inode of this host's socket for the flow: the client's end first (the flow's
    /// opener), else the server's (a connection to a service of this host).
    fn socket_inode(&mut self, q: &Query) -> Option<(u64, Side)> {
        if let Some(d) = self.diag.as_mut() {
            let mut answered = true;
            for (local, remote, side) in [(q.client, q.server, Side::Client), (q.server, q.client, Side::Server)] {
                match d.find(q.proto, local, remote) {
                    Some(diag::Found::Socket { inode, .. }) if inode != 0 => return Some((inode, side)),
                    Some(_) => {}
                    None => answered = false,
                }
            }
            if answered {
                return None;
            }
        }
        self.socket_inode_from_files(q)
    }

    /// Whether the socket of `q` still has `inode` (a process holds it); true when sock_diag
    /// cannot say (then the scan decides).
    fn still_held(&mut self, q: &Query, inode: u64, side: Side) -> bool {
        let Some(d) = self.diag.as_mut() else { return true };
        let (local, remote) = match side {
            Side::Client => (q.client, q.server),
            Side::Server => (q.server, q.client),
        };
        match d.find(q.proto, local, remote) {
            Some(diag::Found::Socket { inode: now, .. }) => now == inode,
            Some(diag::Found::NoSocket) => false,
            None => true,
        }
    }

    /// The same from `/proc/net/*`, slower (the kernel walks its whole socket table).
    fn socket_inode_from_files(&self, q: &Query) -> Option<(u64, Side)> {
        let files: [&str; 2] = match q.proto {
            Proto::Tcp => ["net/tcp", "net/tcp6"],
            Proto::Udp => ["net/udp", "net/udp6"],
        };
        let mut sockets = Vec::new();
        for f in files {
            if let Ok(text) = std::fs::read_to_string(self.root.join(f)) {
                sockets.extend(parse::net_sockets(&text));
            }
        }
        let live = |s: &&parse::SocketEntry| s.inode != 0;
        let exact = |local: SocketAddr, remote: SocketAddr| {
            sockets.iter().filter(live).find(|s| s.local == local && s.remote == remote).map(|s| s.inode)
        };
        // An unconnected UDP socket shows no remote end, and one bound to any address no local one.
        let bound = |local: SocketAddr, remote: SocketAddr| {
            sockets
                .iter()
                .filter(live)
                .find(|s| {
                    s.local.port() == local.port()
                        && (s.local.ip() == local.ip() || s.local.ip().is_unspecified())
                        && (s.remote == remote || s.remote.port() == 0)
                })
                .map(|s| s.inode)
        };
        let client = |i| (i, Side::Client);
        let server = |i| (i, Side::Server);
        exact(q.client, q.server).map(client).or_else(|| exact(q.server, q.client).map(server)).or_else(|| {
            match q.proto {
                Proto::Udp => bound(q.client, q.server).map(client).or_else(|| bound(q.server, q.client).map(server)),
                Proto::Tcp => None,
            }
        })
    }

    /// The [`NEWEST`] highest pids (the newest processes, until pids wrap around).
    fn newest(&self) -> Vec<u32> {
        let Ok(dir) = std::fs::read_dir(&self.root) else { return Vec::new() };
        let mut pids: Vec<u32> = dir.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect();
        pids.sort_unstable_by(|a, b| b.cmp(a));
        pids.truncate(NEWEST);
        pids
    }

    /// Reads every process's fd links again, at most [`SCANS_PER_SECOND`] times a second.
    fn scan(&mut self) -> Result<(), Miss> {
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.window = Instant::now();
            self.scans_in_window = 0;
        }
        if self.scans_in_window >= SCANS_PER_SECOND {
            return Err(Miss::Busy);
        }
        self.scans_in_window += 1;
        self.holders.clear();
        self.denied = 0;
        let Ok(dir) = std::fs::read_dir(&self.root) else { return Err(Miss::NoPrivilege) };
        for entry in dir.flatten() {
            if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
                if !self.scan_pid(pid) {
                    self.denied += 1;
                }
            }
        }
        Ok(())
    }

    /// Adds the sockets `pid` holds to `holders`; false when its fds could not be read.
    fn scan_pid(&mut self, pid: u32) -> bool {
        let fds = match std::fs::read_dir(self.root.join(pid.to_string()).join("fd")) {
            Ok(d) => d,
            Err(e) => return e.kind() != ErrorKind::PermissionDenied,
        };
        for fd in fds.flatten() {
            let link = match std::fs::read_link(fd.path()) {
                Ok(l) => l,
                Err(e) if e.kind() == ErrorKind::PermissionDenied => return false,
                // Closed meanwhile.
                Err(_) => continue,
            };
            if let Some(inode) = link.to_str().and_then(parse::socket_inode) {
                self.holders.entry(inode).or_insert(pid);
            }
        }
        true
    }

    /// What `pid` is: read once a second at most for the same process (a pull's daemon opens
    /// hundreds of flows, and reading its comm, exe, status and cgroup for each would dominate
    /// the helper's work). The same process means the same pid and start time, so a pid the
    /// kernel gave to a new process is read afresh.
    fn process(&mut self, pid: u32, side: Side) -> Process {
        let dir = self.root.join(pid.to_string());
        let started = std::fs::read_to_string(dir.join("stat")).ok().as_deref().and_then(parse::stat_start_time);
        if let (Some(t), Some((at, when, p))) = (started, self.processes.get(&pid)) {
            if *at == t && when.elapsed() < PROCESS_FRESH {
                return Process { side, ..p.clone() };
            }
        }
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        let p = Process {
            pid,
            name: read("comm").map(|c| c.trim_end_matches('\n').to_string()).unwrap_or_default(),
            exe: std::fs::read_link(dir.join("exe")).ok().map(|p| p.to_string_lossy().into_owned()),
            uid: read("status").as_deref().and_then(parse::status_uid).unwrap_or(u32::MAX),
            container: read("cgroup").as_deref().and_then(parse::container_id),
            side,
        };
        if let Some(t) = started {
            if self.processes.len() >= MAX_PROCESSES {
                self.processes.clear();
            }
            self.processes.insert(pid, (t, Instant::now(), p.clone()));
        }
        p
    }
}

/// Local resolvers and caches, by the name `comm` gives them (15 bytes at most): a DNS
/// query they send is made for some other program.
const RESOLVERS: &[&str] = &[
    "systemd-resolve",
    "dnsmasq",
    "unbound",
    "named",
    "nscd",
    "coredns",
    "kresd",
    "pdns_recursor",
    "stubby",
    "dnscrypt-proxy",
    "resolved",
];

/// Whether a process of this name is a local resolver or cache.
pub fn is_resolver(name: &str) -> bool {
    RESOLVERS.contains(&name)
}

/// What attribution does in this run: ask the helper, look up in-process, or nothing.
pub enum Attributor {
    Helper(helper::Client),
    /// Lookups in the calling process: only where no Landlock domain hides the other
    /// processes (tests, tools); `acrscope live` always uses the helper.
    InProcess(Resolver),
}

impl Attributor {
    pub fn lookup(&mut self, q: &Query) -> Result<Process, Miss> {
        match self {
            Attributor::Helper(c) => c.lookup(q),
            Attributor::InProcess(r) => r.lookup(q),
        }
    }

    /// The answers to `qs`, in their order, into `out`.
    pub fn lookup_many(&mut self, qs: &[Query], out: &mut Vec<Result<Process, Miss>>) {
        match self {
            Attributor::Helper(c) => c.lookup_many(qs, out),
            Attributor::InProcess(r) => out.extend(qs.iter().map(|q| r.lookup(q))),
        }
    }

    /// For the `start` event.
    pub fn mode(&self) -> &'static str {
        match self {
            Attributor::Helper(c) if c.privileged => "helper",
            Attributor::Helper(_) => "helper, own processes only",
            Attributor::InProcess(_) => "this process only",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream, UdpSocket};

    #[test]
    fn own_tcp_connection_is_attributed_to_this_process() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let q = Query { proto: Proto::Tcp, client: client.local_addr().unwrap(), server: server.local_addr().unwrap() };
        let mut r = Resolver::default();
        let p = r.lookup(&q).unwrap();
        assert_eq!(p.pid, std::process::id());
        assert_eq!(p.side, Side::Client);
        assert!(!p.name.is_empty());
        assert_eq!(p.uid, nix::unistd::getuid().as_raw());
        assert!(p.exe.as_deref().is_some_and(|e| e.contains("acrscope")), "{p:?}");
        // The second lookup is served by the cache.
        assert_eq!(r.lookup(&q).unwrap(), p);
        // The client's socket gone, the server's end still names a process, as such.
        let (accepted, _) = server.accept().unwrap();
        drop(client);
        let p = r.lookup(&q).unwrap();
        assert_eq!((p.pid, p.side), (std::process::id(), Side::Server));
        drop(accepted);
    }

    #[test]
    fn unconnected_udp_socket_and_a_gone_socket() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let q = Query { proto: Proto::Udp, client: a.local_addr().unwrap(), server: "127.0.0.1:9".parse().unwrap() };
        let mut r = Resolver::default();
        assert_eq!(r.lookup(&q).unwrap().pid, std::process::id());
        drop(a);
        assert_eq!(r.lookup(&q), Err(Miss::SocketGone));
    }

    #[test]
    fn a_socket_closed_before_the_scan_is_gone_without_reading_all_of_proc() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let q = Query { proto: Proto::Tcp, client: client.local_addr().unwrap(), server: server.local_addr().unwrap() };
        let mut r = Resolver::default();
        let (inode, side) = r.socket_inode(&q).unwrap();
        assert!(r.still_held(&q, inode, side));
        drop(client);
        assert!(!r.still_held(&q, inode, side), "closed: no process holds it");
        assert_eq!(r.holder(&q, inode, side), Err(Miss::SocketGone));
        assert_eq!(r.scans_in_window, 0, "/proc was not read for it");
    }

    #[test]
    fn what_a_process_is_is_read_again_when_another_process_has_its_pid() {
        let root = std::env::temp_dir().join(format!("acrscope-fake-proc-{}", std::process::id()));
        let dir = root.join("4242");
        std::fs::create_dir_all(&dir).unwrap();
        let become_ = |comm: &str, started: u64| {
            std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
            std::fs::write(dir.join("stat"), format!("4242 ({comm}) S {}{started} 0 0\n", "1 ".repeat(18))).unwrap();
            std::fs::write(dir.join("status"), "Name:\tx\nUid:\t0\t0\t0\t0\n").unwrap();
        };
        let mut r = Resolver::new(&root);
        become_("dockerd", 100);
        assert_eq!(r.process(4242, Side::Client).name, "dockerd");
        // The same process (pid and start time): what was read stands, for a second.
        std::fs::write(dir.join("comm"), "renamed\n").unwrap();
        let p = r.process(4242, Side::Server);
        assert_eq!((p.name.as_str(), p.uid, p.side), ("dockerd", 0, Side::Server));
        // Another process with that pid is read afresh.
        become_("containerd", 200);
        assert_eq!(r.process(4242, Side::Client).name, "containerd");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_new_socket_of_a_new_process_is_found_before_all_of_proc_is_read() {
        let root = std::env::temp_dir().join(format!("acrscope-fake-newest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        // Processes 1000..1040, each holding socket 5000 + pid.
        for pid in 1000..1040u32 {
            let fd = root.join(pid.to_string()).join("fd");
            std::fs::create_dir_all(&fd).unwrap();
            std::os::unix::fs::symlink(format!("socket:[{}]", 5000 + pid), fd.join("3")).unwrap();
        }
        let q =
            Query { proto: Proto::Tcp, client: "127.0.0.1:1".parse().unwrap(), server: "127.0.0.1:2".parse().unwrap() };
        let mut r = Resolver::new(&root);
        assert_eq!(r.holder(&q, 5000 + 1039, Side::Client), Ok(1039));
        assert_eq!(r.holder(&q, 5000 + 1024, Side::Client), Ok(1024), "the sixteenth newest");
        assert_eq!(r.scans_in_window, 0, "found without reading all of /proc");
        assert_eq!(r.holder(&q, 5000 + 1000, Side::Client), Ok(1000), "an old process: after a full scan");
        assert_eq!(r.scans_in_window, 1);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn resolvers_are_known_by_their_comm() {
        assert!(is_resolver("systemd-resolve"), "comm cuts systemd-resolved to 15 bytes");
        assert!(is_resolver("dnsmasq"));
        assert!(!is_resolver("dockerd"));
        assert!(!is_resolver("systemd-resolved-not"));
    }

    #[test]
    fn misses_serialize_as_their_reasons() {
        assert_eq!(serde_json::to_string(&Miss::NoPrivilege).unwrap(), "\"no privilege\"");
        assert_eq!(Miss::SocketGone.to_string(), "socket gone");
    }
}
