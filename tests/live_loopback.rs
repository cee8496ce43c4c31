//! End to end on the loopback interface, with real packets: a DNS server (dnsmasq) answering
//! with CNAME chains shaped like Azure's, two TLS servers (`openssl s_server`) standing in for a
//! registry's login server and its dedicated data endpoint, and clients that resolve the names
//! and fetch pages over HTTPS, as a pull does.
//!
//! How the traffic is made, and why:
//! - DNS is real and on the wire: this file sends the A queries itself (a few lines of
//!   `std::net::UdpSocket`) to dnsmasq on 127.0.0.x:53. curl cannot be pointed at a DNS server
//!   without c-ares (`--dns-servers`), which Debian's curl is not built with; `getent` only asks
//!   the system resolver; `dig` is not installed by CI. `curl --resolve` is not used: it would
//!   skip the DNS that acrscope must see.
//! - HTTPS: `curl --connect-to NAME:443:ADDR:443`, ADDR being the address of the DNS answer just
//!   received, so the SNI and the Host header carry the public name while the TCP connection
//!   goes to the loopback address. With an address literal as the target curl resolves
//!   nothing itself (checked with strace: its only connect() is to ADDR). `--noproxy '*'` keeps
//!   a proxy from the environment out of the way.
//!
//! SAFETY: every packet these tests make goes to 127.0.0.0/8. Each test has its own three
//! addresses (DNS server, login server, data server) among 127.0.0.61..=127.0.0.72, so the tests
//! run in parallel with each other and with anything else on the machine, and every capture is
//! filtered to those addresses.
//!
//! Needs root (capturing, port 53 and 443), dnsmasq, openssl and curl (and tcpdump for the
//! capture-file test, ss for the json one): those tests are `#[ignore = "needs root"]` and
//! fail, saying what is missing, when run without them (CI runs them as root with
//! `--include-ignored`).
//! Every child process is killed and every temporary directory removed on drop, panics
//! included; every wait has a deadline.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

const LOGIN: &str = "contosolive.azurecr.io";
const LOGIN_PRIVATELINK: &str = "contosolive.privatelink.azurecr.io";
const DATA: &str = "contosolive.westeurope.data.azurecr.io";
/// The dedicated data endpoint's chain, as Azure answers it (query name first).
const DATA_CHAIN: [&str; 4] =
    [DATA, "weu-0.data.azcr.io", "weu-acr-dp.trafficmanager.net", "d0001weu.westeurope.cloudapp.azure.com"];
const LOGIN_CHAIN: [&str; 2] = [LOGIN, LOGIN_PRIVATELINK];
/// TTL of every record dnsmasq serves here.
const TTL: u64 = 60;
/// curl's side of every connection: the source address the kernel picks towards 127.0.0.x.
const CLIENT: &str = "127.0.0.1";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_acrscope")
}

// --- prerequisites ---------------------------------------------------------------------------

fn is_root() -> bool {
    match Command::new("id").arg("-u").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim() == "0",
        // No `id`: the real uid from /proc.
        _ => std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
            .unwrap_or(false),
    }
}

/// Fails the test, saying what to do, when it cannot run here. These tests are
/// `#[ignore = "needs root"]`: running them is asking for root and the tools, so a missing one
/// is a failure, not a silent pass.
fn require(tools: &[&str]) {
    assert!(is_root(), "needs root (live capture on lo, servers on ports 53 and 443): run as root");
    let missing: Vec<&str> = tools.iter().copied().filter(|t| common::tool(t).is_none()).collect();
    assert!(
        missing.is_empty(),
        "{} not installed (apt-get install dnsmasq-base openssl curl tcpdump util-linux iproute2)",
        missing.join(", ")
    );
}

// --- temporary directories and child processes -----------------------------------------------

/// A directory removed on drop; world-readable, so a process run as `nobody` can use its files.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("acrscope-live-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
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

/// A child killed (SIGKILL) and reaped on drop unless it already ended.
struct Proc {
    name: String,
    child: Child,
    /// Where its stdout and stderr go, for the failure messages.
    log: Option<PathBuf>,
}

impl Proc {
    /// Starts `cmd` with stdin closed and stdout+stderr into `log`.
    fn spawn_logged(name: &str, mut cmd: Command, log: PathBuf) -> Proc {
        let f = std::fs::File::create(&log).unwrap();
        cmd.stdin(Stdio::null()).stdout(f.try_clone().unwrap()).stderr(f);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Proc { name: name.into(), child, log: Some(log) }
    }

    fn log_text(&self) -> String {
        self.log.as_ref().map(|p| std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default()
    }

    /// Panics (with its log) if the process has already ended.
    fn assert_running(&mut self) {
        if let Some(st) = self.child.try_wait().unwrap() {
            panic!("{} exited early ({st}); its output:\n{}", self.name, self.log_text());
        }
    }

    /// Waits for the exit until `deadline`; kills it and panics past it.
    fn wait_until(&mut self, deadline: Instant) -> ExitStatus {
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} did not exit in time (killed); its output:\n{}", self.name, self.log_text());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `sig` (e.g. `-INT`) with the shell's builtin `kill` (no procps needed).
    fn signal(&self, sig: &str) {
        let st = Command::new("sh").args(["-c", &format!("kill {sig} {}", self.child.id())]).status();
        assert!(st.map(|s| s.success()).unwrap_or(false), "kill {sig} {} failed", self.name);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Polls `ok` every 50 ms until it holds; panics with `what` after `limit`.
fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a socket is bound to `addr:port` in /proc/net/{tcp,udp} (TCP: listening). Reading
/// the kernel's table sends no packet, unlike a probe connection would.
fn bound(proto: &str, addr: Ipv4Addr, port: u16) -> bool {
    let want = format!("{:08X}:{:04X}", u32::from_ne_bytes(addr.octets()), port);
    let table = std::fs::read_to_string(format!("/proc/net/{proto}")).unwrap_or_default();
    table.lines().skip(1).any(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        c.get(1) == Some(&want.as_str()) && (proto != "tcp" || c.get(3) == Some(&"0A"))
    })
}

/// Whether `pid` holds a packet socket with a capture filter attached, as `ss -0 -b -p` shows
/// it: a BPF program of more than one instruction (one alone is libpcap's reject-all, set
/// while it drains the socket before the real filter).
fn has_capture_filter(pid: u32) -> bool {
    let Some(ss) = common::tool("ss") else { return false };
    let Ok(o) = Command::new(ss).args(["-0", "-b", "-p"]).output() else { return false };
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let owner = format!("pid={pid},");
    (0..lines.len()).filter(|&i| lines[i].contains(&owner)).any(|i| {
        lines[i + 1..].iter().take_while(|l| l.starts_with(char::is_whitespace)).any(|l| {
            l.trim_start()
                .strip_prefix("bpf filter (")
                .and_then(|r| r.split_once(')'))
                .and_then(|(n, _)| n.parse::<u32>().ok())
                .is_some_and(|n| n > 1)
        })
    })
}

// --- DNS on the wire -------------------------------------------------------------------------

/// What a DNS answer said.
#[derive(Debug)]
struct Answer {
    chain: Vec<String>,
    addresses: Vec<Ipv4Addr>,
    ttl: u32,
}

fn be16(m: &[u8], p: usize) -> usize {
    usize::from(u16::from_be_bytes([m[p], m[p + 1]]))
}

/// A (possibly compressed) name at `p`: the name and where the record goes on.
fn read_name(m: &[u8], mut p: usize) -> (String, usize) {
    let mut labels = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let len = usize::from(m[p]);
        if len == 0 {
            return (labels.join("."), end.unwrap_or(p + 1));
        }
        if len & 0xC0 == 0xC0 {
            end.get_or_insert(p + 2);
            p = ((len & 0x3F) << 8) | usize::from(m[p + 1]);
            continue;
        }
        labels.push(String::from_utf8_lossy(&m[p + 1..p + 1 + len]).to_ascii_lowercase());
        p += 1 + len;
    }
    panic!("DNS name loop in {m:02x?}");
}

/// Asks `server`:53 for the A records of `name` from 127.0.0.1 and reads the CNAME chain and
/// addresses of the answer. `attempts` > 1 only before a capture: a retry would put a second
/// query on the wire.
fn resolve(server: Ipv4Addr, name: &str, attempts: u32) -> Answer {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let id = (std::process::id() as u16).wrapping_mul(31).wrapping_add(sock.local_addr().unwrap().port());
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut buf = [0u8; 4096];
    for _ in 0..attempts {
        sock.send_to(&q, (server, 53)).unwrap();
        let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
        if from != (server, 53).into() || buf[..2] != id.to_be_bytes() {
            continue;
        }
        return parse_answer(&buf[..n], name);
    }
    panic!("no DNS answer from {server}:53 for {name}");
}

fn parse_answer(m: &[u8], name: &str) -> Answer {
    assert_eq!(m[3] & 0x0F, 0, "DNS rcode for {name}: {m:02x?}");
    let (qd, an) = (be16(m, 4), be16(m, 6));
    let mut p = 12;
    for _ in 0..qd {
        p = read_name(m, p).1 + 4;
    }
    let mut cnames = Vec::new();
    let mut addresses = Vec::new();
    let mut ttl = u32::MAX;
    for _ in 0..an {
        let (owner, q) = read_name(m, p);
        let (rtype, rttl, rdlen) =
            (be16(m, q), u32::from_be_bytes(m[q + 4..q + 8].try_into().unwrap()), be16(m, q + 8));
        let rd = q + 10;
        match rtype {
            5 => cnames.push((owner, read_name(m, rd).0)),
            1 => addresses.push(Ipv4Addr::new(m[rd], m[rd + 1], m[rd + 2], m[rd + 3])),
            _ => {}
        }
        ttl = ttl.min(rttl);
        p = rd + rdlen;
    }
    let mut chain = vec![name.to_string()];
    while let Some((_, next)) = cnames.iter().find(|(o, _)| o == chain.last().unwrap()) {
        assert!(chain.len() < 16, "CNAME loop: {cnames:?}");
        chain.push(next.clone());
    }
    Answer { chain, addresses, ttl }
}

// --- the lab: certificates, dnsmasq, two TLS servers -----------------------------------------

const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[srv_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:contosolive.azurecr.io,DNS:contosolive.privatelink.azurecr.io,\
DNS:contosolive.westeurope.data.azurecr.io
";

struct Lab {
    // Fields drop in order: the servers go before their directory.
    servers: Vec<Proc>,
    dir: TempDir,
    dns: Ipv4Addr,
    login: Ipv4Addr,
    data: Ipv4Addr,
}

/// What [`Lab::pull`] did, as the client saw it.
struct Pull {
    login_answer: Answer,
    data_answer: Answer,
    /// Bytes of body curl received, per request: login, login, data.
    downloaded: [u64; 3],
}

fn run_ok(what: &str, cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(o.status.success(), "{what} failed ({}):\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    o
}

impl Lab {
    /// Starts the servers of one test on 127.0.0.`n`, `n+1`, `n+2` (DNS, login, data) and checks
    /// that dnsmasq answers the whole chains.
    fn start(tag: &str, n: u8) -> Lab {
        let dir = TempDir::new(tag);
        let (dns, login, data) =
            (Ipv4Addr::new(127, 0, 0, n), Ipv4Addr::new(127, 0, 0, n + 1), Ipv4Addr::new(127, 0, 0, n + 2));
        let mut lab = Lab { servers: Vec::new(), dir, dns, login, data };
        lab.make_certificates();

        // dnsmasq synthesises a CNAME only towards a name it knows locally: the last name of
        // each chain is a --host-record, and each link of the data chain is a --cname of its
        // own (dnsmasq follows --cname to --cname). Nothing is forwarded (--no-resolv).
        let ttl = TTL.to_string();
        let mut cmd = Command::new(common::tool("dnsmasq").unwrap());
        cmd.args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--port=53",
            "--log-queries",
            "--log-facility=-",
            "--user=nobody",
            "--group=nogroup",
        ])
        .arg(format!("--listen-address={dns}"))
        .arg(format!("--pid-file={}", lab.dir.path("dnsmasq.pid").display()))
        .arg(format!("--host-record={LOGIN_PRIVATELINK},{login},{ttl}"))
        .arg(format!("--host-record={},{data},{ttl}", DATA_CHAIN[3]))
        .arg(format!("--cname={LOGIN},{LOGIN_PRIVATELINK},{ttl}"));
        for w in DATA_CHAIN.windows(2) {
            cmd.arg(format!("--cname={},{},{ttl}", w[0], w[1]));
        }
        let dnsmasq = Proc::spawn_logged("dnsmasq", cmd, lab.dir.path("dnsmasq.log"));
        lab.servers.push(dnsmasq);

        for (name, addr) in [("s_server login", login), ("s_server data", data)] {
            let mut cmd = Command::new(common::tool("openssl").unwrap());
            cmd.args(["s_server", "-www", "-quiet", "-accept", &format!("{addr}:443"), "-cert"])
                .arg(lab.dir.path("srv.pem"))
                .arg("-key")
                .arg(lab.dir.path("srv.key"));
            let log = lab.dir.path(&format!("{}.log", name.replace(' ', "-")));
            lab.servers.push(Proc::spawn_logged(name, cmd, log));
        }
        let ready = Instant::now() + Duration::from_secs(20);
        for (i, (proto, addr, port)) in
            [("udp", dns, 53), ("tcp", login, 443), ("tcp", data, 443)].into_iter().enumerate()
        {
            loop {
                lab.servers[i].assert_running();
                if bound(proto, addr, port) {
                    break;
                }
                assert!(Instant::now() < ready, "{} never bound {proto} {addr}:{port}", lab.servers[i].name);
                thread::sleep(Duration::from_millis(50));
            }
        }
        // Before any capture: dnsmasq must answer the chains as Azure would.
        let a = resolve(dns, LOGIN, 5);
        assert_eq!(a.chain, LOGIN_CHAIN, "dnsmasq's login chain; its log:\n{}", lab.servers[0].log_text());
        assert_eq!(a.addresses, [login]);
        let a = resolve(dns, DATA, 5);
        assert_eq!(a.chain, DATA_CHAIN, "dnsmasq's data chain; its log:\n{}", lab.servers[0].log_text());
        assert_eq!(a.addresses, [data]);
        assert_eq!(u64::from(a.ttl), TTL);
        lab
    }

    /// A CA and a server certificate for the three public names (EC P-256: fast to make).
    fn make_certificates(&self) {
        let d = &self.dir;
        std::fs::write(d.path("openssl.cnf"), OPENSSL_CNF).unwrap();
        let openssl = common::tool("openssl").unwrap();
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        run_ok(
            "openssl req (CA)",
            Command::new(&openssl)
                .current_dir(&d.0)
                .args(["req", "-x509", "-new", "-config", "openssl.cnf", "-extensions", "ca_ext", "-days", "2"])
                .args(key)
                .args(["-subj", "/CN=acrscope loopback test CA", "-keyout", "ca.key", "-out", "ca.pem"]),
        );
        run_ok(
            "openssl req (server)",
            Command::new(&openssl).current_dir(&d.0).args(["req", "-new", "-config", "openssl.cnf"]).args(key).args([
                "-subj",
                &format!("/CN={LOGIN}"),
                "-keyout",
                "srv.key",
                "-out",
                "srv.csr",
            ]),
        );
        run_ok(
            "openssl x509 (sign)",
            Command::new(&openssl).current_dir(&d.0).args([
                "x509",
                "-req",
                "-in",
                "srv.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "openssl.cnf",
                "-extensions",
                "srv_ext",
                "-out",
                "srv.pem",
            ]),
        );
    }

    /// The BPF filter that keeps only this lab's packets.
    fn filter(&self) -> String {
        format!("host {} or host {} or host {}", self.dns, self.login, self.data)
    }

    /// GET https://`name``path` over a TLS connection to `addr` (verified against the lab's CA);
    /// returns the body's size.
    fn https_get(&self, name: &str, addr: Ipv4Addr, path: &str) -> u64 {
        let o = run_ok(
            &format!("curl https://{name}{path} via {addr}"),
            Command::new(common::tool("curl").unwrap())
                .args(["-sS", "--http1.1", "--noproxy", "*", "--max-time", "20", "-o", "/dev/null"])
                .args(["-w", "%{http_code} %{size_download}", "--cacert"])
                .arg(self.dir.path("ca.pem"))
                .args(["--connect-to", &format!("{name}:443:{addr}:443"), &format!("https://{name}{path}")]),
        );
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let (code, size) = out.split_once(' ').unwrap_or_else(|| panic!("curl -w printed {out:?}"));
        assert_eq!(code, "200", "HTTP status of https://{name}{path}");
        size.parse().unwrap()
    }

    /// What a pull does, in miniature: resolve the login server, two requests to it on two
    /// connections, resolve the data endpoint, one request to it. Connects to the addresses the
    /// DNS answers gave.
    fn pull(&self) -> Pull {
        let login_answer = resolve(self.dns, LOGIN, 1);
        assert_eq!(login_answer.chain, LOGIN_CHAIN);
        let addr = login_answer.addresses[0];
        // SAFETY: connect only where the lab's DNS pointed, and only on the loopback.
        assert!(all_loopback(&[addr]), "{addr}");
        let first = self.https_get(LOGIN, addr, "/v2/");
        let second = self.https_get(LOGIN, addr, "/v2/contosolive/manifests/latest");
        let data_answer = resolve(self.dns, DATA, 1);
        assert_eq!(data_answer.chain, DATA_CHAIN);
        assert!(all_loopback(&data_answer.addresses), "{:?}", data_answer.addresses);
        let third = self.https_get(DATA, data_answer.addresses[0], "/v2/contosolive/blobs/sha256:0123abcd");
        Pull { login_answer, data_answer, downloaded: [first, second, third] }
    }
}

fn all_loopback(addrs: &[Ipv4Addr]) -> bool {
    !addrs.is_empty() && addrs.iter().all(Ipv4Addr::is_loopback)
}

// --- what acrscope must say about the lab's traffic ------------------------------------------

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|x| s(x).to_string()).collect()
}

/// Which of the lab's servers a flow (or DNS record) went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dns,
    Login,
    Data,
}

fn kind_of(lab: &Lab, f: &Value) -> Kind {
    let server = s(&f["server"]);
    if server == lab.dns.to_string() {
        Kind::Dns
    } else if server == lab.login.to_string() {
        Kind::Login
    } else if server == lab.data.to_string() {
        Kind::Data
    } else {
        panic!("a flow to {server}, not one of the lab's servers (the capture filter leaked): {f}")
    }
}

/// The fields of a flow record known as soon as the flow is named (ClientHello seen): every
/// flow record, `flow_open` events included. `login_region`: the login server's name has no
/// region; acrscope fills it in from the same registry's dedicated data endpoint (docs/json.md,
/// `region`), so it is `westeurope` once the data flow has been seen and null before.
fn assert_named_flow(lab: &Lab, f: &Value, login_region: Option<&str>) -> Kind {
    let k = kind_of(lab, f);
    let ctx = || format!("{k:?} flow {f}");
    assert_eq!(s(&f["client"]), CLIENT, "{}", ctx());
    // Loopback addresses are their own scope: never private, so never "via private link",
    // even with the privatelink name in the chain (docs/json.md, via_private_link).
    assert_eq!(s(&f["scope"]), "loopback", "{}", ctx());
    assert_eq!(f["via_private_link"], false, "{}", ctx());
    assert_eq!(f["service_tags"], serde_json::json!([]), "{}", ctx());
    assert!(f["well_known"].is_null(), "{}", ctx());
    assert_eq!(f["truncated"], false, "{}", ctx());
    if k == Kind::Dns {
        assert_eq!(s(&f["proto"]), "udp", "{}", ctx());
        assert_eq!(u(&f["server_port"]), 53, "{}", ctx());
        assert_eq!(s(&f["role"]), "dns", "{}", ctx());
        assert!(f["hostname"].is_null(), "{}", ctx());
        assert_eq!(s(&f["name_source"]), "none", "{}", ctx());
        assert_eq!(f["dns_chain"], serde_json::json!([]), "{}", ctx());
        assert!(f["provider"].is_null() && f["registry"].is_null() && f["sni"].is_null(), "{}", ctx());
        assert_eq!(s(&f["client_by"]), "port", "{}", ctx());
        assert_eq!(s(&f["tcp_state"]), "udp", "{}", ctx());
        return k;
    }
    let (host, role, region, chain): (&str, &str, Option<&str>, &[&str]) = match k {
        Kind::Login => (LOGIN, "acr-login", login_region, &LOGIN_CHAIN),
        _ => (DATA, "acr-data-dedicated", Some("westeurope"), &DATA_CHAIN),
    };
    assert_eq!(s(&f["proto"]), "tcp", "{}", ctx());
    assert_eq!(u(&f["server_port"]), 443, "{}", ctx());
    assert_eq!(s(&f["hostname"]), host, "{}", ctx());
    assert_eq!(s(&f["sni"]), host, "{}", ctx());
    assert_eq!(s(&f["name_source"]), "sni", "{}", ctx());
    assert_eq!(strings(&f["dns_chain"]), chain, "{}", ctx());
    assert_eq!(s(&f["role"]), role, "{}", ctx());
    assert_eq!(s(&f["provider"]), "acr", "{}", ctx());
    assert_eq!(s(&f["registry"]), "contosolive", "{}", ctx());
    assert_eq!(f["region"].as_str(), region, "{}", ctx());
    assert!(f["account"].is_null(), "{}", ctx());
    assert_eq!(strings(&f["alpn"]), ["http/1.1"], "{}", ctx());
    assert_eq!(s(&f["tls_version"]), "TLS 1.3", "{}", ctx());
    assert_eq!(f["tls_partial"], false, "{}", ctx());
    assert_eq!(s(&f["client_by"]), "handshake", "{}", ctx());
    assert!(u(&f["packets_up"]) >= 3 && u(&f["bytes_up"]) >= 200, "SYN, ACK, ClientHello at least: {}", ctx());
    k
}

/// The fields of a flow record once the connection is over: `flow_close` events and reports.
/// `downloaded`: the HTTP body curl received on it (TLS adds to it, never takes away).
/// `states`: the `tcp_state`s allowed for the TCP flows.
fn assert_finished_flow(
    lab: &Lab,
    f: &Value,
    downloaded: Option<u64>,
    login_region: Option<&str>,
    states: &[&str],
) -> Kind {
    let k = assert_named_flow(lab, f, login_region);
    let ctx = || format!("{k:?} flow {f}");
    if k == Kind::Dns {
        assert_eq!((u(&f["packets_up"]), u(&f["packets_down"])), (1, 1), "one query, one response: {}", ctx());
        assert!(u(&f["bytes_down"]) > u(&f["bytes_up"]), "the answer is longer than the query: {}", ctx());
        return k;
    }
    assert_eq!(s(&f["tls_server_version"]), "TLS 1.3", "{}", ctx());
    assert!(states.contains(&s(&f["tcp_state"])), "tcp_state one of {states:?}: {}", ctx());
    assert!(u(&f["packets_down"]) >= 3, "{}", ctx());
    if let Some(body) = downloaded {
        assert!(u(&f["bytes_down"]) > body, "more than the {body} bytes of HTTP body: {}", ctx());
    }
    k
}

fn assert_dns_record(lab: &Lab, d: &Value, name: &str) {
    let (chain, addr): (&[&str], Ipv4Addr) =
        if name == LOGIN { (&LOGIN_CHAIN, lab.login) } else { (&DATA_CHAIN, lab.data) };
    let ctx = || format!("DNS record {d}");
    assert_eq!(s(&d["query"]), name, "{}", ctx());
    assert_eq!(s(&d["qtype"]), "A", "{}", ctx());
    assert_eq!(u(&d["rcode"]), 0, "{}", ctx());
    assert_eq!(s(&d["rcode_name"]), "NOERROR", "{}", ctx());
    assert_eq!(strings(&d["chain"]), chain, "{}", ctx());
    assert_eq!(strings(&d["addresses"]), [addr.to_string()], "{}", ctx());
    assert_eq!(u(&d["ttl"]), TTL, "{}", ctx());
    assert_eq!(s(&d["client"]), CLIENT, "{}", ctx());
    assert_eq!(s(&d["server"]), lab.dns.to_string(), "{}", ctx());
    assert_eq!(u(&d["server_port"]), 53, "{}", ctx());
    assert_eq!(s(&d["transport"]), "udp", "{}", ctx());
    assert_eq!(d["complete"], true, "{}", ctx());
}

/// Everything a report (`report --format json`, or the summary of `live`) must say about one
/// run of [`Lab::pull`] captured whole.
fn assert_report_of_pull(lab: &Lab, r: &Value, pull: &Pull) {
    let flows = r["flows"].as_array().unwrap_or_else(|| panic!("no flows[]: {r}"));
    let kinds: Vec<Kind> = flows.iter().map(|f| kind_of(lab, f)).collect();
    // In order of first packet: query, login, login, query, data.
    assert_eq!(kinds, [Kind::Dns, Kind::Login, Kind::Login, Kind::Dns, Kind::Data], "flows: {flows:#?}");
    for (i, f) in flows.iter().enumerate() {
        assert_eq!(u(&f["id"]), i as u64, "flow ids are positions: {f}");
        let body = match i {
            1 => Some(pull.downloaded[0]),
            2 => Some(pull.downloaded[1]),
            4 => Some(pull.downloaded[2]),
            _ => None,
        };
        assert_finished_flow(lab, f, body, Some("westeurope"), &["closed"]);
    }
    assert_ne!(flows[1]["client_port"], flows[2]["client_port"], "two login connections");

    let dns = r["dns"].as_array().unwrap_or_else(|| panic!("no dns[]: {r}"));
    assert_eq!(dns.len(), 2, "dns: {dns:#?}");
    assert_dns_record(lab, &dns[0], LOGIN);
    assert_dns_record(lab, &dns[1], DATA);
    assert_eq!(strings(&dns[0]["chain"]), pull.login_answer.chain);
    assert_eq!(strings(&dns[1]["chain"]), pull.data_answer.chain);
    assert_eq!(u(&dns[0]["client_port"]), u(&flows[0]["client_port"]));
    assert_eq!(u(&dns[1]["client_port"]), u(&flows[3]["client_port"]));
    assert_eq!(r["unanswered_queries"], serde_json::json!([]));

    // The firewall view: one row per name.
    let eps = r["endpoints"].as_array().unwrap();
    let ep = |host: &str| {
        eps.iter().find(|e| e["hostname"] == host).unwrap_or_else(|| panic!("no endpoint {host}: {eps:#?}"))
    };
    let (l, d) = (ep(LOGIN), ep(DATA));
    assert_eq!((s(&l["role"]), u(&l["flows"])), ("acr-login", 2));
    assert_eq!((s(&d["role"]), u(&d["flows"])), ("acr-data-dedicated", 1));
    assert_eq!(strings(&l["addresses"]), [lab.login.to_string()]);
    assert_eq!(strings(&d["addresses"]), [lab.data.to_string()]);
    assert_eq!(strings(&l["dns_chain"]), LOGIN_CHAIN);
    assert_eq!(strings(&d["dns_chain"]), DATA_CHAIN);
    assert_eq!(s(&d["region"]), "westeurope");
    for e in [l, d] {
        assert_eq!(strings(&e["scopes"]), ["loopback"], "{e}");
        assert_eq!(e["via_private_link"], false, "{e}");
        assert_eq!(s(&e["registry"]), "contosolive", "{e}");
        assert_eq!(e["ports"], serde_json::json!([443]), "{e}");
        assert_eq!(strings(&e["proto"]), ["tcp"], "{e}");
    }

    // Findings: the dedicated data endpoint; no private-link finding of either kind, since a
    // loopback address is neither private nor public.
    let findings = r["findings"].as_array().unwrap();
    let kinds: Vec<&str> = findings.iter().map(|f| s(&f["kind"])).collect();
    let dedicated = findings
        .iter()
        .find(|f| f["kind"] == "data-via-dedicated-endpoint")
        .unwrap_or_else(|| panic!("no data-via-dedicated-endpoint finding: {findings:#?}"));
    assert_eq!(s(&dedicated["registry"]), "contosolive");
    assert!(strings(&dedicated["hosts"]).contains(&DATA.to_string()), "{dedicated}");
    assert!(!kinds.contains(&"private-link") && !kinds.contains(&"private-link-resolved-publicly"), "{kinds:?}");
    assert!(!kinds.contains(&"unnamed-flows") && !kinds.contains(&"unused-dns-answers"), "{kinds:?}");

    let st = &r["stats"];
    assert_eq!(u(&st["dns_responses"]), 2, "{st}");
    assert_eq!(u(&st["dns_queries"]), 2, "{st}");
    assert_eq!(u(&st["tls_client_hellos"]), 3, "{st}");
    assert_eq!(u(&st["flows"]), 5, "{st}");
    assert_eq!(u(&st["non_ip"]), 0, "{st}");
    let per_link: u64 = st["link_types"].as_object().unwrap().values().map(u).sum();
    assert_eq!(per_link, u(&st["packets"]), "{st}");
    assert_eq!(u(&st["link_types"]["ETHERNET"]), u(&st["packets"]), "lo is Ethernet-framed: {st}");
    let flow_packets: u64 = flows.iter().map(|f| u(&f["packets_up"]) + u(&f["packets_down"])).sum();
    assert_eq!(flow_packets, u(&st["packets"]), "every packet is in a flow: {st}");
}

// --- acrscope live as a child: stdout read line by line as it comes --------------------------

/// A running `acrscope live`: its stdout lines are read on a thread and stamped on arrival.
struct Live {
    proc: Proc,
    lines: mpsc::Receiver<(Instant, String)>,
    seen: Vec<(Instant, String)>,
    stdout: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
}

/// How a `live` run ended.
struct Ended {
    status: ExitStatus,
    lines: Vec<(Instant, String)>,
    stderr: String,
}

impl Ended {
    fn stdout(&self) -> String {
        self.lines.iter().map(|(_, l)| format!("{l}\n")).collect()
    }

    /// Every stdout line as a JSON object with an `event` string: (arrival, event name, object).
    fn events(&self) -> Vec<(Instant, String, Value)> {
        self.lines
            .iter()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(t, l)| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}\nstderr:\n{}", self.stderr));
                let name = v["event"].as_str().unwrap_or_else(|| panic!("no \"event\" string in {l}")).to_string();
                (*t, name, v)
            })
            .collect()
    }
}

impl Live {
    fn spawn(args: &[&str]) -> Live {
        let mut cmd = Command::new(bin());
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting acrscope {args:?}: {e}"));
        let out: ChildStdout = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Live {
            proc: Proc { name: format!("acrscope {}", args.join(" ")), child, log: None },
            lines: rx,
            seen: Vec::new(),
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    fn pid(&self) -> u32 {
        self.proc.child.id()
    }

    /// Waits for a stdout line holding `"event":"<event>"`; panics (with everything printed) if
    /// the process ends first or `limit` passes.
    fn wait_for_event(&mut self, event: &str, limit: Duration) -> Value {
        self.wait_for_line(event, limit, |v| v["event"] == event)
    }

    /// Waits for a stdout line whose JSON value satisfies `hit`; `what` names it in the panic.
    fn wait_for_line(&mut self, what: &str, limit: Duration, hit: impl Fn(&Value) -> bool) -> Value {
        let event = what;
        let deadline = Instant::now() + limit;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok((t, l)) => {
                    let hit = serde_json::from_str::<Value>(&l).ok().filter(|v| hit(v));
                    self.seen.push((t, l));
                    if let Some(v) = hit {
                        return v;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let e = self.end(Duration::from_secs(10));
                    panic!(
                        "{} ended ({}) before a {event:?} line:\n{}\nstderr:\n{}",
                        self.proc.name,
                        e.status,
                        e.stdout(),
                        e.stderr
                    );
                }
            }
            if Instant::now() >= deadline {
                let e = self.end(Duration::ZERO);
                panic!(
                    "no {event:?} line from {} in {limit:?}:\n{}\nstderr:\n{}",
                    self.proc.name,
                    e.stdout(),
                    e.stderr
                );
            }
        }
    }

    /// Waits up to `limit` for the exit (then kills it), and collects all it printed.
    fn end(&mut self, limit: Duration) -> Ended {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(st) = self.proc.child.try_wait().unwrap() {
                break Some(st);
            }
            if Instant::now() >= deadline {
                let _ = self.proc.child.kill();
                let _ = self.proc.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(50));
        };
        // The pipes close with the process (it has no children of its own).
        if let Some(h) = self.stdout.take() {
            let _ = h.join();
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.lines.try_iter());
        match status {
            Some(status) => Ended { status, lines, stderr },
            None => {
                let out: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
                panic!("{} did not exit within {limit:?} (killed):\n{out}\nstderr:\n{stderr}", self.proc.name)
            }
        }
    }
}

/// The report's fields that an event lacks (events may carry more: `event`, a time stamp).
fn missing_fields(event: &Value, record: &Value) -> Vec<String> {
    keys(record).into_iter().filter(|k| event.get(k).is_none()).collect()
}

/// The sorted key set of an object.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect();
    k.sort();
    k
}

fn same_flow(a: &Value, b: &Value) -> bool {
    ["proto", "client", "client_port", "server", "server_port"].iter().all(|k| a[k] == b[k])
}

// --- the tests -------------------------------------------------------------------------------

/// The harness checked against what already works: tcpdump writes the capture, `report`
/// reads it. If this fails, the lab is wrong, not `live`.
#[test]
#[ignore = "needs root"]
fn tcpdump_capture_of_the_lab_reports_names_chains_and_roles() {
    require(&["dnsmasq", "openssl", "curl", "tcpdump"]);
    let lab = Lab::start("tcpdump", 61);
    let pcap = lab.dir.path("lab.pcap");
    let mut cmd = Command::new(common::tool("tcpdump").unwrap());
    // -Z root: Debian's tcpdump otherwise becomes user tcpdump before creating the file.
    // --immediate-mode: without it packets wait in the kernel's ring for up to a second, and
    // those still there at ^C are never written ("received by filter" but not "captured").
    cmd.args(["-i", "lo", "-n", "-U", "--immediate-mode", "-Z", "root", "-s", "0", "-w"]).arg(&pcap).arg(lab.filter());
    let mut tcpdump = Proc::spawn_logged("tcpdump", cmd, lab.dir.path("tcpdump.log"));
    wait_for("tcpdump to listen on lo", Duration::from_secs(20), || {
        tcpdump.assert_running();
        tcpdump.log_text().contains("listening on lo")
    });
    let pull = lab.pull();
    // Stop tcpdump as a user would (^C) once the file holds every connection closed both
    // ways (-U writes each packet as it comes): read back with `report` until it does.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        tcpdump.assert_running();
        let o = Command::new(bin()).args(["report", "--format", "json"]).arg(&pcap).output().unwrap();
        let r: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        let flows = r["flows"].as_array().map(Vec::as_slice).unwrap_or_default();
        let tcp: Vec<&Value> = flows.iter().filter(|f| f["proto"] == "tcp").collect();
        if tcp.len() == pull.downloaded.len() && tcp.iter().all(|f| f["tcp_state"] == "closed") {
            break;
        }
        let held: Vec<String> =
            tcp.iter().map(|f| format!("{}:{} {}", f["server"], f["server_port"], f["tcp_state"])).collect();
        assert!(
            Instant::now() < deadline,
            "timed out after 20 s waiting for tcpdump to write the pull's last FINs: {} TCP connections \
             expected, the file had {}: {}\ntcpdump:\n{}",
            pull.downloaded.len(),
            held.len(),
            held.join(", "),
            tcpdump.log_text()
        );
        thread::sleep(Duration::from_millis(50));
    }
    tcpdump.signal("-INT");
    let st = tcpdump.wait_until(Instant::now() + Duration::from_secs(15));
    assert!(st.success() || st.code() == Some(130), "tcpdump: {st}\n{}", tcpdump.log_text());

    let o = Command::new(bin()).args(["report", "--format", "json"]).arg(&pcap).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "report: {}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s(&r["capture"]["source"]), pcap.to_str().unwrap());
    assert!(r["capture"]["error"].is_null(), "{}", r["capture"]);
    assert_report_of_pull(&lab, &r, &pull);
}

/// The contract of `live --format ndjson`: a `start` line, then `dns`, `flow_open`,
/// `flow_close` and `stats` events as things happen, and a `summary` holding the report.
#[test]
#[ignore = "needs root"]
fn live_ndjson_streams_dns_flow_and_stats_events_then_the_summary() {
    require(&["dnsmasq", "openssl", "curl"]);
    let lab = Lab::start("ndjson", 64);
    let filter = lab.filter();
    // No --duration: the capture ends when this test says so (SIGTERM), once the events it
    // expects were streamed, so nothing here depends on how fast the pull runs.
    let mut live = Live::spawn(&["live", "-i", "lo", "--format", "ndjson", "--filter", &filter]);
    let start = live.wait_for_event("start", Duration::from_secs(30));
    assert_eq!(s(&start["interface"]), "lo", "{start}");
    let pull = lab.pull();
    // The data connection is the pull's last: once its flow_close is out, every event of the
    // pull has been streamed while the capture is still running. The deadline only guards.
    live.wait_for_line("flow_close of the data endpoint", Duration::from_secs(60), |v| {
        v["event"] == "flow_close" && v["hostname"] == DATA
    });
    // And a periodic stats event that counts packets (the first after the pull, or later).
    live.wait_for_line("a stats event with packets", Duration::from_secs(60), |v| {
        v["event"] == "stats" && v["packets"].as_u64().is_some_and(|n| n > 0)
    });
    live.proc.signal("-TERM");
    let signalled = Instant::now();
    let ended = live.end(Duration::from_secs(40));
    assert_eq!(ended.status.code(), Some(0), "exit status; stderr:\n{}", ended.stderr);
    let all = ended.stdout();
    let events = ended.events();
    let names: Vec<&str> = events.iter().map(|(_, n, _)| n.as_str()).collect();

    // First `start`, last `summary`, each once.
    assert_eq!(names.first(), Some(&"start"), "{all}");
    assert_eq!(names.last(), Some(&"summary"), "{all}");
    assert_eq!(names.iter().filter(|n| **n == "start").count(), 1, "{all}");
    assert_eq!(names.iter().filter(|n| **n == "summary").count(), 1, "{all}");
    let start = &events[0].2;
    assert_eq!(s(&start["interface"]), "lo");
    // lo is Ethernet-framed: DLT_EN10MB, which acrscope names ETHERNET (stats.link_types).
    assert!(start["link_type"] == "ETHERNET" || start["link_type"] == 1, "link_type of lo: {start}");

    let summary = &events.last().unwrap().2;
    let report = &summary["report"];
    assert_report_of_pull(&lab, report, &pull);
    let rflows = report["flows"].as_array().unwrap();
    let rdns = report["dns"].as_array().unwrap();

    // `dns`: the report's dns[] records, field for field, in order.
    let dns: Vec<&Value> = events.iter().filter(|(_, n, _)| n == "dns").map(|(_, _, v)| v).collect();
    assert_eq!(dns.len(), 2, "{all}");
    assert_dns_record(&lab, dns[0], LOGIN);
    assert_dns_record(&lab, dns[1], DATA);
    for (e, r) in dns.iter().zip(rdns) {
        for k in keys(r) {
            assert_eq!(e[&k], r[&k], "field {k} of a dns event and of the report's dns[] record");
        }
    }

    check_flow_opens(&lab, &events, rflows, signalled, &all);
    check_flow_closes(&lab, &events, rflows, &pull, &all);
    check_stats(&events, report, &all);
}

type Events = [(Instant, String, Value)];

fn event_index(events: &Events, pred: &dyn Fn(&str, &Value) -> bool) -> Option<usize> {
    events.iter().position(|(_, n, v)| pred(n, v))
}

/// `flow_open`: one per flow, the report's fields, named when emitted, streamed before the end.
fn check_flow_opens(lab: &Lab, events: &Events, rflows: &[Value], signalled: Instant, all: &str) {
    let index_of = |pred: &dyn Fn(&str, &Value) -> bool| event_index(events, pred);
    for rf in rflows {
        let id = u(&rf["id"]);
        let opens: Vec<usize> =
            (0..events.len()).filter(|&i| events[i].1 == "flow_open" && same_flow(&events[i].2, rf)).collect();
        assert_eq!(opens.len(), 1, "one flow_open for flow {id} {rf}:\n{all}");
        let open = &events[opens[0]].2;
        assert_eq!(u(&open["id"]), id, "{open}");
        assert_eq!(missing_fields(open, rf), Vec::<String>::new(), "flow_open has the report's flow fields");
        // The login connections end before the data endpoint is even resolved: no region yet.
        let k = assert_named_flow(lab, open, None);
        // Named from what came before it: its DNS answer was printed first.
        let query = match k {
            Kind::Login => Some(LOGIN),
            Kind::Data => Some(DATA),
            Kind::Dns => None,
        };
        if let Some(q) = query {
            let answer = index_of(&|n, v| n == "dns" && v["query"] == q).unwrap();
            assert!(answer < opens[0], "the dns event of {q} comes before the flow_open of flow {id}:\n{all}");
        }
    }
    // As things happen, not at the end: the first login connection was announced before the
    // capture was told to stop.
    let first_login = events.iter().find(|(_, n, v)| n == "flow_open" && v["hostname"] == LOGIN).unwrap();
    assert!(first_login.0 < signalled, "flow_open of the first login was printed only after SIGTERM: not streamed");
}

/// `flow_close`: each TCP connection once, after its flow_open, with its totals.
fn check_flow_closes(lab: &Lab, events: &Events, rflows: &[Value], pull: &Pull, all: &str) {
    let index_of = |pred: &dyn Fn(&str, &Value) -> bool| event_index(events, pred);
    for (i, rf) in rflows.iter().enumerate() {
        let closes: Vec<usize> =
            (0..events.len()).filter(|&j| events[j].1 == "flow_close" && same_flow(&events[j].2, rf)).collect();
        if rf["proto"] == "udp" {
            // A UDP conversation has no end on the wire; if acrscope closes it at the end of
            // the capture, it is once, with the same totals.
            assert!(closes.len() <= 1, "{all}");
            if let Some(&j) = closes.first() {
                assert_finished_flow(lab, &events[j].2, None, None, &[]);
                assert_eq!(events[j].2["bytes_down"], rf["bytes_down"]);
            }
            continue;
        }
        assert_eq!(closes.len(), 1, "one flow_close for TCP flow {i}:\n{all}");
        let close = &events[closes[0]].2;
        let open = index_of(&|n, v| n == "flow_open" && same_flow(v, rf)).unwrap();
        assert!(open < closes[0], "flow_open before flow_close for flow {i}");
        assert_eq!(missing_fields(close, rf), Vec::<String>::new(), "flow_close has the report's flow fields");
        assert_eq!(close["id"], rf["id"]);
        let body = [None, Some(pull.downloaded[0]), Some(pull.downloaded[1]), None, Some(pull.downloaded[2])][i];
        // A login's region comes from the data flow, if that was seen by then.
        let data_open = index_of(&|n, v| n == "flow_open" && v["hostname"] == DATA);
        let region = data_open.filter(|&d| d < closes[0]).map(|_| "westeurope");
        // flow_close is written once the connection is closed both ways (the second FIN and
        // the last ACK after it, or a RST): its counts are final.
        assert_finished_flow(lab, close, body, region, &["closed", "reset"]);
        for k in ["bytes_up", "bytes_down", "packets_up", "packets_down"] {
            assert_eq!(close[k], rf[k], "{k} of flow {i} at close and in the summary");
        }
    }
}

/// `stats`: periodic, counters that only grow, nothing dropped on an idle loopback.
fn check_stats(events: &Events, report: &Value, all: &str) {
    let stats: Vec<&Value> = events.iter().filter(|(_, n, _)| n == "stats").map(|(_, _, v)| v).collect();
    assert!(!stats.is_empty(), "no stats event:\n{all}");
    for w in stats.windows(2) {
        assert!(u(&w[0]["packets"]) <= u(&w[1]["packets"]), "{} then {}", w[0], w[1]);
    }
    for st in &stats {
        assert_eq!(u(&st["kernel_drops"]), 0, "{st}");
        assert_eq!(u(&st["if_drops"]), 0, "{st}");
        assert!(u(&st["packets"]) <= u(&report["stats"]["packets"]), "{st}");
    }
    let last = stats.last().unwrap();
    assert!(u(&last["packets"]) > 0, "the last stats event counts the pull's packets: {all}");
    // Every TCP flow had closed by then: only the DNS conversations (UDP has no close) remain.
    let udp = report["flows"].as_array().unwrap().iter().filter(|f| f["proto"] == "udp").count();
    assert_eq!(u(&last["active_flows"]), udp as u64, "{last}");
}

/// `live --format json`: nothing but one document at the end, the report's.
#[test]
#[ignore = "needs root"]
fn live_json_prints_one_report_document() {
    require(&["dnsmasq", "openssl", "curl", "ss"]);
    let lab = Lab::start("json", 67);
    let filter = lab.filter();
    // 5 s rather than 3: room for the pull on a busy machine.
    let mut live = Live::spawn(&["live", "-i", "lo", "--format", "json", "--duration", "5", "--filter", &filter]);
    // No start line in this format: the capture is ready once the process's packet socket
    // has its filter (libpcap drops what came before it).
    let pid = live.pid();
    wait_for("acrscope live to filter its capture socket", Duration::from_secs(30), || {
        live.proc.assert_running();
        has_capture_filter(pid)
    });
    let pull = lab.pull();
    let ended = live.end(Duration::from_secs(40));
    assert_eq!(ended.status.code(), Some(0), "exit status; stderr:\n{}", ended.stderr);
    let out = ended.stdout();
    // from_str rejects anything after the first value: one document, nothing else.
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{out}"));
    assert_eq!(
        keys(&r),
        ["capture", "dns", "endpoints", "findings", "flows", "pulls", "stats", "unanswered_queries"],
        "the report's top-level fields"
    );
    assert!(r.get("event").is_none());
    assert_report_of_pull(&lab, &r, &pull);
}

/// `live --write FILE` saves the packets it analysed: `report FILE` names the same flows.
#[test]
#[ignore = "needs root"]
fn live_write_saves_a_capture_that_reports_the_same_flows() {
    require(&["dnsmasq", "openssl", "curl"]);
    let lab = Lab::start("write", 70);
    let filter = lab.filter();
    let pcap = lab.dir.path("written.pcap");
    let pcap_arg = pcap.to_str().unwrap().to_string();
    let mut live = Live::spawn(&[
        "live",
        "-i",
        "lo",
        "--format",
        "ndjson",
        "--duration",
        "5",
        "--filter",
        &filter,
        "--write",
        &pcap_arg,
    ]);
    live.wait_for_event("start", Duration::from_secs(30));
    let pull = lab.pull();
    let ended = live.end(Duration::from_secs(40));
    assert_eq!(ended.status.code(), Some(0), "exit status; stderr:\n{}", ended.stderr);
    let events = ended.events();
    let (_, last, summary) = events.last().unwrap_or_else(|| panic!("no output; stderr:\n{}", ended.stderr));
    assert_eq!(last, "summary", "{}", ended.stdout());
    let live_report = &summary["report"];
    assert_report_of_pull(&lab, live_report, &pull);

    let o = Command::new(bin()).args(["report", "--format", "json"]).arg(&pcap).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "report of the --write file: {}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(s(&r["capture"]["format"]).starts_with("pcap"), "{}", r["capture"]);
    assert!(r["capture"]["error"].is_null(), "the file was closed properly: {}", r["capture"]);
    assert_report_of_pull(&lab, &r, &pull);
    let names = |rep: &Value| -> Vec<(Value, Value, Value)> {
        rep["flows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["hostname"].clone(), f["role"].clone(), f["server"].clone()))
            .collect()
    };
    assert_eq!(names(&r), names(live_report), "the same flows, named the same, live and from the file");
    // Who asked is known live only (`process`, `asked_by_resolver`); the rest is the same.
    let asked = |rep: &Value| -> Vec<Value> {
        let mut dns = rep["dns"].as_array().unwrap().clone();
        for d in &mut dns {
            let d = d.as_object_mut().unwrap();
            d.remove("process");
            d.remove("asked_by_resolver");
        }
        dns
    };
    assert!(r["dns"].as_array().unwrap().iter().all(|d| d["process"].is_null()), "a file has no processes");
    assert_eq!(asked(&r), asked(live_report), "the same DNS records");
    assert_eq!(r["stats"]["packets"], live_report["stats"]["packets"], "every packet analysed was written");
    // Every per-flow figure (counts, times, transfer metrics, outcome) is the same from the
    // file; only what the live capture alone knows differs.
    let figures = |rep: &Value| -> Vec<Value> {
        let mut flows = rep["flows"].as_array().unwrap().clone();
        for f in &mut flows {
            let f = f.as_object_mut().unwrap();
            for live_only in ["process", "capture_drops", "ifindex"] {
                f.remove(live_only);
            }
        }
        flows
    };
    let (from_file, live_flows) = (figures(&r), figures(live_report));
    for (a, b) in from_file.iter().zip(&live_flows) {
        assert_eq!(a, b, "flow {} from the --write file and live", a["id"]);
    }
    assert!(live_report["flows"].as_array().unwrap().iter().all(|f| f["capture_drops"] == 0), "nothing dropped");
    assert!(r["flows"].as_array().unwrap().iter().all(|f| f.get("capture_drops").is_none()), "unknown from a file");
}

/// A wrong interface is a usage error (exit 2) that lists the ones there are.
#[test]
#[ignore = "needs root"]
fn live_on_an_unknown_interface_exits_2_and_lists_the_known_ones() {
    require(&[]);
    let mut live = Live::spawn(&["live", "-i", "nosuchif0", "--format", "ndjson", "--duration", "1"]);
    let ended = live.end(Duration::from_secs(30));
    assert_eq!(ended.status.code(), Some(2), "stderr:\n{}", ended.stderr);
    assert!(ended.stderr.contains("nosuchif0"), "stderr names the interface asked for:\n{}", ended.stderr);
    let words: Vec<&str> =
        ended.stderr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')).collect();
    assert!(words.contains(&"lo"), "stderr lists lo among the known interfaces:\n{}", ended.stderr);
    assert!(!ended.stdout().contains("\"start\""), "no capture started:\n{}", ended.stdout());
}

/// Without the capture privilege: a failure that says which capability and how to get it.
#[test]
#[ignore = "needs root"]
fn live_without_privilege_names_cap_net_raw_and_sudo() {
    require(&[]);
    // Run as nobody a copy of the binary in a world-readable directory (the checkout may be
    // under a directory nobody cannot enter).
    let dir = TempDir::new("nonroot");
    let copy = dir.path("acrscope");
    std::fs::copy(bin(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let args = ["live", "-i", "lo", "--duration", "1"];
    let mut cmd = if let Some(setpriv) = common::tool("setpriv") {
        let mut c = Command::new(setpriv);
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(&copy);
        c
    } else if let Some(runuser) = common::tool("runuser") {
        let mut c = Command::new(runuser);
        c.args(["-u", "nobody", "--"]).arg(&copy);
        c
    } else {
        panic!("neither setpriv nor runuser found: apt-get install util-linux");
    };
    cmd.args(args).current_dir("/").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Not as SUDO_UID's user either: the process must stay nobody.
    cmd.env_remove("SUDO_UID").env_remove("SUDO_GID").env_remove("SUDO_USER");
    let child = cmd.spawn().unwrap();
    let mut p = Proc { name: "acrscope live as nobody".into(), child, log: None };
    let st = p.wait_until(Instant::now() + Duration::from_secs(30));
    let mut out = String::new();
    let mut err = String::new();
    p.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    p.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!st.success(), "live as nobody must fail ({st}); stdout:\n{out}\nstderr:\n{err}");
    assert_ne!(st.code(), None, "it exits, not killed by a signal: {st}");
    assert!(err.contains("cap_net_raw"), "stderr names the capability:\n{err}");
    assert!(err.contains("sudo"), "stderr says how to run it with sudo:\n{err}");
    assert!(err.contains(" lo"), "stderr names the interface:\n{err}");
}

/// `acrscope interfaces` lists the loopback with its address (needs no privilege).
#[test]
fn interfaces_lists_lo_with_127_0_0_1() {
    let o = Command::new(bin()).arg("interfaces").stdin(Stdio::null()).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<&str> = out.lines().collect();
    let first = |l: &str| l.split_whitespace().next().map(|w| w.trim_end_matches(':').to_string());
    let at = lines
        .iter()
        .position(|l| first(l).as_deref() == Some("lo"))
        .unwrap_or_else(|| panic!("no line for lo:\n{out}"));
    // Its addresses on its own line, or on the indented lines under it.
    let block: Vec<&str> = std::iter::once(lines[at])
        .chain(lines[at + 1..].iter().copied().take_while(|l| l.starts_with(char::is_whitespace)))
        .collect();
    assert!(block.iter().any(|l| l.contains("127.0.0.1")), "lo with 127.0.0.1:\n{out}");
}

/// Headless live ends cleanly on SIGINT and SIGHUP too (a closed terminal), with the summary
/// of what it captured: every signal goes through the capture loop's one way out.
#[test]
#[ignore = "needs root"]
fn live_ndjson_ends_with_a_summary_on_sigint_and_sighup() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for c in listener.incoming() {
            drop(c);
        }
    });
    let filter = format!("tcp port {port}");
    for sig in ["-INT", "-HUP"] {
        let mut live = Live::spawn(&["live", "-i", "lo", "--format", "ndjson", "--filter", &filter]);
        live.wait_for_event("start", Duration::from_secs(30));
        drop(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
        live.wait_for_event("flow_open", Duration::from_secs(30));
        live.proc.signal(sig);
        let ended = live.end(Duration::from_secs(30));
        assert_eq!(ended.status.code(), Some(0), "{sig}: exit status; stderr:\n{}", ended.stderr);
        let events = ended.events();
        let (_, last, summary) = events.last().expect("events");
        assert_eq!(last, "summary", "{sig}: {}", ended.stdout());
        assert_eq!(summary["report"]["flows"].as_array().map(Vec::len), Some(1), "{sig}: {summary}");
    }
}
