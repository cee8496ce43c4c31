//! Asks the resolver the way a container runtime's resolver does (A and AAAA, recursion
//! desired, TCP when the answer is truncated) and keeps the whole answer.
//!
//! Queries are built and read with hickory-proto rather than sent through hickory's resolver:
//! the resolver's API drops the CNAME chain of an NXDOMAIN answer, and that chain is what names
//! a private DNS zone missing its record. The servers come from the system's resolv.conf
//! (the `resolv-conf` crate hickory's resolver reads it with), or from `--resolver`.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};

use super::result::DnsAnswer;

/// The servers asked, in order: the next is tried when one does not answer.
#[derive(Debug, Clone)]
pub struct Resolver {
    pub servers: Vec<SocketAddr>,
    /// Names the runtime would take from /etc/hosts before asking DNS (not with `--resolver`).
    pub hosts: Vec<(IpAddr, Vec<String>)>,
}

const HOSTS: &str = "/etc/hosts";

/// Where an answer came from when none did: the user reads it in the report.
const RESOLV_CONF: &str = "/etc/resolv.conf";

impl Resolver {
    /// The system's servers, as resolv.conf lists them.
    pub fn system() -> Result<Resolver, String> {
        let text = std::fs::read(RESOLV_CONF).map_err(|e| format!("cannot read {RESOLV_CONF}: {e}"))?;
        let conf = resolv_conf::Config::parse(&text).map_err(|e| format!("{RESOLV_CONF}: {e}"))?;
        let servers: Vec<SocketAddr> =
            conf.nameservers.iter().map(|n| SocketAddr::new(IpAddr::from(n.clone()), 53)).collect();
        if servers.is_empty() {
            return Err(format!("{RESOLV_CONF} lists no nameserver; give one with --resolver ADDRESS"));
        }
        let hosts = std::fs::read_to_string(HOSTS).map(|t| parse_hosts(&t)).unwrap_or_default();
        Ok(Resolver { servers, hosts })
    }

    /// The addresses /etc/hosts gives `name` for `qtype`'s family, as a runtime's resolver
    /// (nsswitch `files` first) would take them.
    fn hosts_entry(&self, name: &str, qtype: RecordType) -> Option<Vec<IpAddr>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let listed: Vec<IpAddr> =
            self.hosts.iter().filter(|(_, names)| names.contains(&name)).map(|(a, _)| *a).collect();
        if listed.is_empty() {
            return None;
        }
        Some(listed.into_iter().filter(|a| a.is_ipv4() == (qtype == RecordType::A)).collect())
    }

    /// Asks for `name`'s records of `qtype`; every server in turn until one answers or the
    /// deadline passes.
    pub fn lookup(&self, name: &str, qtype: RecordType, deadline: Instant) -> DnsAnswer {
        let started = Instant::now();
        let mut answer = DnsAnswer::new(name, qtype.to_string());
        if let Some(addresses) = self.hosts_entry(name, qtype) {
            answer.source = HOSTS;
            answer.rcode = Some("NOERROR");
            answer.chain = vec![answer.name.clone()];
            answer.addresses = addresses;
            return answer;
        }
        let Ok(qname) = Name::from_ascii(format!("{}.", name.trim_end_matches('.'))) else {
            answer.error = Some(format!("{name} is not a host name"));
            return answer;
        };
        let mut errors = Vec::new();
        // Each server gets an equal share of the time left, as resolv.conf's `attempts` would.
        for (i, server) in self.servers.iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            let share = left / (self.servers.len() - i) as u32;
            if share.is_zero() {
                break;
            }
            match ask(*server, &qname, qtype, Instant::now() + share) {
                Ok(msg) => {
                    answer.fill(&msg, *server);
                    answer.ms = started.elapsed().as_secs_f64() * 1e3;
                    return answer;
                }
                Err(e) => errors.push(format!("{server}: {e}")),
            }
        }
        answer.ms = started.elapsed().as_secs_f64() * 1e3;
        answer.not_run = errors.is_empty();
        answer.error = (!errors.is_empty()).then(|| format!("no server answered ({})", errors.join("; ")));
        answer
    }
}

impl DnsAnswer {
    fn fill(&mut self, msg: &Message, server: SocketAddr) {
        self.server = Some(server.ip());
        self.rcode = Some(crate::format::rcode_name(u16::from(msg.metadata.response_code)));
        // The chain, in the order the answer follows it from the name asked.
        let mut at = self.name.to_ascii_lowercase();
        self.chain.push(at.clone());
        for _ in 0..msg.answers.len() {
            let next = msg.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(c) if text(&r.name) == at => Some(text(&c.0)),
                _ => None,
            });
            match next {
                Some(n) if !self.chain.contains(&n) => {
                    self.chain.push(n.clone());
                    at = n;
                }
                _ => break,
            }
        }
        for r in &msg.answers {
            match &r.data {
                RData::A(a) => self.addresses.push(IpAddr::V4(a.0)),
                RData::AAAA(a) => self.addresses.push(IpAddr::V6(a.0)),
                _ => {}
            }
        }
    }
}

fn text(n: &Name) -> String {
    let mut s = n.to_ascii();
    if s.ends_with('.') {
        s.pop();
    }
    s.make_ascii_lowercase();
    s
}

/// One question to one server: UDP, then TCP if the answer was truncated.
fn ask(server: SocketAddr, name: &Name, qtype: RecordType, deadline: Instant) -> std::io::Result<Message> {
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name.clone(), qtype));
    let wire = query.to_vec().map_err(std::io::Error::other)?;
    let local: SocketAddr = if server.is_ipv4() { "0.0.0.0:0".parse() } else { "[::]:0".parse() }.unwrap();
    let sock = UdpSocket::bind(local)?;
    sock.connect(server)?;
    sock.send(&wire)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"));
        }
        sock.set_read_timeout(Some(left))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))
            }
            Err(e) => return Err(e),
        };
        // A stray datagram (an old answer, a spoofed one) is not ours: keep waiting.
        let Ok(msg) = Message::from_vec(&buf[..n]) else { continue };
        if msg.metadata.id != query.metadata.id {
            continue;
        }
        if msg.metadata.truncation {
            return ask_tcp(server, &wire, deadline);
        }
        return Ok(msg);
    }
}

fn ask_tcp(server: SocketAddr, wire: &[u8], deadline: Instant) -> std::io::Result<Message> {
    let left = |d: Instant| d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let mut s = TcpStream::connect_timeout(&server, left(deadline))?;
    s.set_read_timeout(Some(left(deadline)))?;
    s.set_write_timeout(Some(left(deadline)))?;
    let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    s.write_all(&framed)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf)?;
    Message::from_vec(&buf).map_err(std::io::Error::other)
}

/// /etc/hosts: an address, then its names; `#` starts a comment.
fn parse_hosts(text: &str) -> Vec<(IpAddr, Vec<String>)> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split('#').next()?.split_whitespace();
            let addr = words.next()?.parse().ok()?;
            Some((addr, words.map(|w| w.trim_end_matches('.').to_ascii_lowercase()).collect()))
        })
        .collect()
}

/// `--resolver 10.0.0.4`, `10.0.0.4:5353`, `[fd00::53]:53`.
pub fn parse_server(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("--resolver {s}: give an address, with :port if not 53"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_entries_come_before_dns() {
        let hosts = parse_hosts("127.0.0.1 localhost\n10.1.2.5  FabrikamReg.azurecr.io. # private endpoint\nfd00::5 fabrikamreg.azurecr.io\nbad line\n");
        let r = Resolver { servers: vec!["127.0.0.1:9".parse().unwrap()], hosts };
        let far = Instant::now() + Duration::from_secs(1);
        let a = r.lookup("fabrikamreg.azurecr.io", RecordType::A, far);
        assert_eq!((a.source, a.addresses.as_slice()), (HOSTS, &["10.1.2.5".parse::<IpAddr>().unwrap()][..]));
        let aaaa = r.lookup("fabrikamreg.azurecr.io", RecordType::AAAA, far);
        assert_eq!(aaaa.addresses, ["fd00::5".parse::<IpAddr>().unwrap()]);
        assert_eq!(r.lookup("other.azurecr.io", RecordType::A, far).source, "dns");
        assert_eq!(parse_server("10.0.0.4").unwrap().port(), 53);
        assert_eq!(parse_server("[fd00::53]:5353").unwrap().port(), 5353);
    }
}
