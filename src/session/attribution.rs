//! The process of each flow: asked for once, at the flow's first packet (live captures), or
//! read from the packet comments of a pcapng that `live --write` made (replay, report).

use crate::flow::L4;
use crate::procs::{Attributor, Miss, Proto, Query};

use super::Session;

/// Which process holds each new flow's socket, asked once per flow, with the misses counted.
#[derive(Default)]
pub struct Attribution {
    /// The first flow not asked about yet.
    next: usize,
    misses: std::collections::BTreeMap<Miss, u64>,
}

impl Attribution {
    /// Asks for the process of every flow opened since the last call, in one exchange with the
    /// helper; call it soon after the packets are ingested, while the flows' sockets are most
    /// likely still there.
    pub fn catch_up(&mut self, s: &mut Session, procs: &mut Attributor) {
        let first = self.next;
        let qs: Vec<Query> = s.flows()[first.min(s.flows().len())..]
            .iter()
            .map(|f| Query {
                proto: match f.proto {
                    L4::Tcp => Proto::Tcp,
                    L4::Udp => Proto::Udp,
                },
                client: std::net::SocketAddr::new(f.client, f.client_port),
                server: std::net::SocketAddr::new(f.server, f.server_port),
            })
            .collect();
        if qs.is_empty() {
            return;
        }
        self.next += qs.len();
        let mut answers = Vec::with_capacity(qs.len());
        procs.lookup_many(&qs, &mut answers);
        for (id, answer) in (first..).zip(answers) {
            match answer {
                Ok(p) => s.set_process(id as u32, Some(std::sync::Arc::new(p))),
                Err(m) => *self.misses.entry(m).or_default() += 1,
            }
        }
    }

    /// Flows no process was found for.
    pub fn unattributed(&self) -> u64 {
        self.misses.values().sum()
    }

    /// The same by reason.
    pub fn because(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.misses.iter().map(|(m, n)| (m.as_str(), *n)).collect()
    }
}

/// A flow without a process takes the one the comment of its packet names (a `--write`
/// pcapng of acrscope; see [`crate::procs::comment`]); call it right after the packet is
/// ingested. Flows that have one keep it: the comment is not even read then.
pub fn from_comment(s: &mut Session, comment: &str) {
    let Some(id) = s.last_flow() else { return };
    let Some(facts) = s.facts.get_mut(id as usize) else { return };
    if facts.process.is_none() {
        facts.process = crate::procs::comment::read(comment).map(std::sync::Arc::new);
    }
}
