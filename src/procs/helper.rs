//! The attribution helper: a process of its own that holds only what reading other users'
//! `/proc/<pid>/fd` takes, so that the process parsing packets holds nothing (as OpenSSH's
//! privilege separation and Wireshark's dumpcap do it).
//!
//! acrscope spawns it before opening the capture (so that it inherits no capture socket), as
//! a re-exec of its own binary with the hidden subcommand [`SUBCOMMAND`]. Started by root,
//! the helper becomes an unprivileged user keeping only `CAP_SYS_PTRACE` and
//! `CAP_DAC_READ_SEARCH` (bounding set included); started by a user holding capture
//! capabilities (setcap), it drops them all and reads that user's own processes only. Either
//! way it sets no_new_privs and answers over a socketpair, one line each way:
//!
//! - first, from the helper: `ready <what it holds>` or `error <why>`;
//! - request: `tcp 127.0.0.1:40000 127.0.0.1:443` (protocol, client, server);
//! - answer: `{"Found":{"pid":..}}` or `{"Miss":"socket gone"}`.
//!
//! It ends when its parent does: end of file on the socket, and `PR_SET_PDEATHSIG`.
//!
//! It is not sandboxed with Landlock, unlike the packet parser: a Landlock domain may not
//! ptrace-access (even only to read `/proc/<pid>/fd` links or `exe`) any process outside
//! itself, which is all the helper is for. That is also why the lookups do not run in the
//! sandboxed packet parser even without root.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{self, Gid, Uid};
use serde::{Deserialize, Serialize};

use super::{Miss, Process, Proto, Query, Resolver};

/// The hidden subcommand that runs the helper: `acrscope __procs-helper UID GID PARENT_PID`.
pub const SUBCOMMAND: &str = "__procs-helper";

/// How long the helper may take to start, and then to answer one lookup.
const START_PATIENCE: Duration = Duration::from_secs(5);
const ANSWER_PATIENCE: Duration = Duration::from_secs(2);
/// Questions sent to the helper before its answers are read: their answers (a few hundred
/// bytes each) must fit in the socket's buffer, or the helper would wait for room to answer
/// while this side still writes.
const MAX_ASKED: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
enum Answer {
    Found(Process),
    Miss(Miss),
}

/// The parent's end of the helper.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    pid: u32,
    /// What the helper said it holds once confined.
    pub holds: String,
    /// It reads every process (started as root), not only the user's own.
    pub privileged: bool,
    gone: bool,
}

impl Client {
    /// Starts the helper, which becomes `uid`/`gid` when started as root (else stays the user it
    /// is). Call before the capture is open and before any thread starts. The error says why,
    /// for a one-line warning.
    pub fn spawn(uid: u32, gid: u32) -> Result<Client, String> {
        let (ours, theirs) = UnixStream::pair().map_err(|e| format!("a socketpair: {e}"))?;
        let theirs_out = theirs.try_clone().map_err(|e| e.to_string())?;
        // /proc/self/exe rather than a path: the binary that runs is the one re-executed,
        // even if the file was replaced since.
        let child = Command::new("/proc/self/exe")
            .arg0("acrscope-procs")
            .arg(SUBCOMMAND)
            .arg(uid.to_string())
            .arg(gid.to_string())
            .arg(std::process::id().to_string())
            .env_clear()
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::from(OwnedFd::from(theirs_out)))
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting it: {e}"))?;
        // The child is never waited for: it ends with this process.
        let pid = child.id();
        drop(child);
        ours.set_read_timeout(Some(START_PATIENCE)).map_err(|e| e.to_string())?;
        let writer = ours.try_clone().map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(ours);
        let mut first = String::new();
        reader.read_line(&mut first).map_err(|e| format!("waiting for it: {e}"))?;
        let first = first.trim_end();
        if let Some(why) = first.strip_prefix("error ") {
            return Err(why.to_string());
        }
        let holds = first.strip_prefix("ready ").ok_or_else(|| format!("it said {first:?}"))?.to_string();
        reader.get_ref().set_read_timeout(Some(ANSWER_PATIENCE)).map_err(|e| e.to_string())?;
        let privileged = unistd::geteuid().is_root();
        Ok(Client { reader, writer, pid, holds, privileged, gone: false })
    }

    /// The helper's pid (tests read its `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn lookup(&mut self, q: &Query) -> Result<Process, Miss> {
        let mut found = Vec::with_capacity(1);
        self.lookup_many(std::slice::from_ref(q), &mut found);
        found.pop().unwrap_or(Err(Miss::HelperGone))
    }

    /// The answers to `qs`, in their order, into `out`. The questions go in one write and the
    /// answers are read after: a round trip to the helper (two context switches) for a batch
    /// of new flows, not for each.
    pub fn lookup_many(&mut self, qs: &[Query], out: &mut Vec<Result<Process, Miss>>) {
        for batch in qs.chunks(MAX_ASKED) {
            let answers = if self.gone { None } else { self.ask(batch) };
            match answers {
                Some(a) => out.extend(a.into_iter().map(|a| match a {
                    Answer::Found(p) => Ok(p),
                    Answer::Miss(m) => Err(m),
                })),
                None => {
                    // A helper that failed once is not waited for again on every new flow.
                    self.gone = true;
                    out.extend(batch.iter().map(|_| Err(Miss::HelperGone)));
                }
            }
        }
    }

    fn ask(&mut self, qs: &[Query]) -> Option<Vec<Answer>> {
        // Made whole first: formatted straight into the socket, each piece of a line (every
        // octet of an address) would be a system call of its own.
        use std::fmt::Write as _;
        let mut request = String::new();
        for q in qs {
            let _ = writeln!(request, "{} {} {}", q.proto.as_str(), q.client, q.server);
        }
        self.writer.write_all(request.as_bytes()).ok()?;
        let mut answers = Vec::with_capacity(qs.len());
        let mut line = String::new();
        for _ in qs {
            line.clear();
            self.reader.read_line(&mut line).ok().filter(|&n| n > 0)?;
            answers.push(serde_json::from_str(&line).ok()?);
        }
        Some(answers)
    }
}

/// The helper's `main`: `args` are what follows the subcommand. Returns the exit code.
pub fn main(args: &[String]) -> u8 {
    let mut out = std::io::stdout().lock();
    let parsed = match args {
        [uid, gid, parent] => uid.parse().ok().zip(gid.parse().ok()).zip(parent.parse::<i32>().ok()),
        _ => None,
    };
    let Some(((uid, gid), parent)) = parsed else {
        let _ = writeln!(out, "error usage: acrscope {SUBCOMMAND} UID GID PARENT_PID (started by acrscope live)");
        return 2;
    };
    match confine(uid, gid, parent) {
        Ok(holds) => {
            if writeln!(out, "ready {holds}").and_then(|_| out.flush()).is_err() {
                return 1;
            }
        }
        Err(why) => {
            let _ = writeln!(out, "error {why}");
            return 1;
        }
    }
    serve(BufReader::new(std::io::stdin().lock()), out, &mut Resolver::default());
    0
}

/// Answers lookups until the parent closes its end. The answers to questions that came
/// together go out together: they are flushed once no further whole question is already read,
/// so a batch of new flows costs the parent one read, not one per flow.
fn serve<R: Read>(mut input: BufReader<R>, out: impl Write, resolver: &mut Resolver) {
    let mut out = BufWriter::new(out);
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = match parse_request(&line) {
            Some(q) => match resolver.lookup(&q) {
                Ok(p) => Answer::Found(p),
                Err(m) => Answer::Miss(m),
            },
            None => Answer::Miss(Miss::SocketGone),
        };
        let Ok(text) = serde_json::to_string(&answer) else { return };
        if writeln!(out, "{text}").is_err() {
            return;
        }
        if !input.buffer().contains(&b'\n') && out.flush().is_err() {
            return;
        }
    }
}

fn parse_request(line: &str) -> Option<Query> {
    let mut f = line.split_ascii_whitespace();
    let proto = match f.next()? {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => return None,
    };
    Some(Query { proto, client: f.next()?.parse().ok()?, server: f.next()?.parse().ok()? })
}

/// What the helper keeps: reading another user's fd directory and links, nothing else.
fn kept() -> CapsHashSet {
    [Capability::CAP_SYS_PTRACE, Capability::CAP_DAC_READ_SEARCH].into_iter().collect()
}

/// As root: becomes `uid`/`gid` with only [`kept`]. Otherwise: drops every capability (the
/// binary's file capabilities came back with the exec). Then no_new_privs and the
/// parent-death signal. Says what it holds, or why it could not.
fn confine(uid: u32, gid: u32, parent: i32) -> Result<String, String> {
    let _ = nix::sys::prctl::set_name(c"acrscope-procs");
    if !unistd::geteuid().is_root() {
        return confine_unprivileged(parent);
    }
    let keep = kept();
    let permitted = caps::read(None, CapSet::Permitted).map_err(|e| e.to_string())?;
    if !keep.is_subset(&permitted) {
        return Err("it does not hold CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (acrscope was not started as root)".into());
    }
    if uid == 0 {
        return Err("it must not run as root".into());
    }
    // The bounding set first: dropping from it takes CAP_SETPCAP, gone a moment later.
    for c in caps::read(None, CapSet::Bounding).map_err(|e| e.to_string())? {
        if !keep.contains(&c) {
            caps::drop(None, CapSet::Bounding, c).map_err(|e| format!("dropping {c} from the bounding set: {e}"))?;
        }
    }
    // Keep the permitted set across the change of user (it would be emptied), then trim it.
    caps::securebits::set_keepcaps(true).map_err(|e| format!("keepcaps: {e}"))?;
    unistd::setgroups(&[]).map_err(|e| format!("dropping the groups: {e}"))?;
    let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
    unistd::setresgid(gid, gid, gid).map_err(|e| format!("switching to group {gid}: {e}"))?;
    unistd::setresuid(uid, uid, uid).map_err(|e| format!("switching to user {uid}: {e}"))?;
    caps::securebits::set_keepcaps(false).map_err(|e| format!("keepcaps: {e}"))?;
    caps::clear(None, CapSet::Ambient).map_err(|e| e.to_string())?;
    caps::clear(None, CapSet::Inheritable).map_err(|e| e.to_string())?;
    caps::set(None, CapSet::Permitted, &keep).map_err(|e| format!("trimming the permitted set: {e}"))?;
    caps::set(None, CapSet::Effective, &keep).map_err(|e| format!("raising the kept capabilities: {e}"))?;
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    // Set after the change of user, which clears it; then make sure the parent did not end
    // before it was set.
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(|e| format!("pdeathsig: {e}"))?;
    if unistd::getppid().as_raw() != parent {
        return Err("acrscope ended before its helper started".into());
    }
    for set in [CapSet::Effective, CapSet::Permitted, CapSet::Bounding] {
        let now = caps::read(None, set).map_err(|e| e.to_string())?;
        if now != keep {
            return Err(format!("its {set:?} capabilities are {now:?}, not only the two it needs"));
        }
    }
    if unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err("it could become root again".into());
    }
    Ok(format!("uid {uid}, cap_sys_ptrace and cap_dac_read_search, no_new_privs"))
}

fn confine_unprivileged(parent: i32) -> Result<String, String> {
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).unwrap_or(false) {
        caps::clear(None, CapSet::Bounding).map_err(|e| format!("the bounding set: {e}"))?;
    }
    for set in [CapSet::Ambient, CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
        caps::clear(None, set).map_err(|e| format!("clearing the {set:?} capabilities: {e}"))?;
    }
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(|e| format!("pdeathsig: {e}"))?;
    if unistd::getppid().as_raw() != parent {
        return Err("acrscope ended before its helper started".into());
    }
    Ok(format!("uid {}, no capability, no_new_privs: own processes only", unistd::getuid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn requests_parse_and_bad_ones_are_refused() {
        let q = parse_request("tcp 127.0.0.1:40000 [::1]:443").unwrap();
        assert_eq!(q.proto, Proto::Tcp);
        assert_eq!(q.client, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(q.server, "[::1]:443".parse().unwrap());
        assert!(parse_request("icmp 1.2.3.4:0 1.2.3.4:0").is_none());
        assert!(parse_request("tcp 127.0.0.1").is_none());
        assert!(parse_request("").is_none());
    }

    #[test]
    fn serve_answers_each_line_until_end_of_input() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let input = format!(
            "tcp {} {}\nnonsense\ntcp 127.0.0.1:1 127.0.0.1:2\n",
            client.local_addr().unwrap(),
            server.local_addr().unwrap()
        );
        let mut out = Vec::new();
        serve(BufReader::new(input.as_bytes()), &mut out, &mut Resolver::default());
        let lines: Vec<Answer> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert!(matches!(&lines[0], Answer::Found(p) if p.pid == std::process::id()), "{:?}", lines[0]);
        assert!(matches!(lines[1], Answer::Miss(Miss::SocketGone)));
        assert!(matches!(lines[2], Answer::Miss(Miss::SocketGone)));
    }

    /// More questions than go in one exchange, asked at once: every answer comes back, in the
    /// questions' order, and none is waited for in vain.
    #[test]
    fn many_questions_at_once_are_answered_in_order() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let theirs_out = theirs.try_clone().unwrap();
        let helper = std::thread::spawn(move || serve(BufReader::new(theirs), theirs_out, &mut Resolver::default()));
        ours.set_read_timeout(Some(ANSWER_PATIENCE)).unwrap();
        let mut client = Client {
            writer: ours.try_clone().unwrap(),
            reader: BufReader::new(ours),
            pid: 0,
            holds: String::new(),
            privileged: false,
            gone: false,
        };
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let gone =
            Query { proto: Proto::Tcp, client: "127.0.0.1:1".parse().unwrap(), server: "127.0.0.1:2".parse().unwrap() };
        let ours_q =
            Query { proto: Proto::Tcp, client: socket.local_addr().unwrap(), server: server.local_addr().unwrap() };
        let mut qs: Vec<Query> = vec![gone; 3 * MAX_ASKED + 5];
        let found_at = [0, MAX_ASKED - 1, MAX_ASKED, qs.len() - 1];
        for &i in &found_at {
            qs[i] = ours_q;
        }
        let mut answers = Vec::new();
        client.lookup_many(&qs, &mut answers);
        assert_eq!(answers.len(), qs.len());
        for (i, a) in answers.iter().enumerate() {
            if found_at.contains(&i) {
                assert!(matches!(a, Ok(p) if p.pid == std::process::id()), "answer {i}: {a:?}");
            } else {
                assert!(matches!(a, Err(Miss::SocketGone)), "answer {i}: {a:?}");
            }
        }
        assert!(client.lookup(&gone).is_err() && !client.gone);
        drop(client);
        helper.join().unwrap();
    }

    /// Counts the writes it is given.
    struct Writes(usize);

    impl Write for Writes {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Gives one line per read, as questions asked one at a time arrive.
    struct OneLineAtATime<'a>(std::str::Lines<'a>);

    impl Read for OneLineAtATime<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some(l) = self.0.next() else { return Ok(0) };
            let line = format!("{l}\n");
            buf[..line.len()].copy_from_slice(line.as_bytes());
            Ok(line.len())
        }
    }

    #[test]
    fn questions_read_together_are_answered_in_one_write_and_a_lone_one_at_once() {
        let questions = "tcp 127.0.0.1:1 127.0.0.1:2\n".repeat(5);
        let mut together = Writes(0);
        serve(BufReader::new(questions.as_bytes()), &mut together, &mut Resolver::default());
        assert_eq!(together.0, 1, "five answers read together, one write");
        let mut alone = Writes(0);
        serve(BufReader::new(OneLineAtATime(questions.lines())), &mut alone, &mut Resolver::default());
        assert_eq!(alone.0, 5, "each answer written before the next question is waited for");
    }
}
