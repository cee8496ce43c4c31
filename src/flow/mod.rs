//! Bidirectional TCP/UDP flows: who is the client, counters each way, TCP state.

pub mod key;
pub mod table;
pub mod tcp;

use std::net::IpAddr;

pub use key::{Endpoint, FlowKey};
pub use table::FlowTable;
pub use tcp::{Close, CloseAt, SynAckSeen, SynSeen, TcpState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum L4 {
    Tcp,
    Udp,
}

impl L4 {
    pub fn as_str(self) -> &'static str {
        match self {
            L4::Tcp => "tcp",
            L4::Udp => "udp",
        }
    }
}

/// How the client side of a flow was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientBy {
    /// The sender of the SYN (or the receiver of the SYN-ACK).
    Handshake,
    /// The start was not captured: the side with the ephemeral port.
    Port,
}

impl ClientBy {
    /// The name serde gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientBy::Handshake => "handshake",
            ClientBy::Port => "port",
        }
    }
}

/// An ICMP error about a flow, as seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpSeen {
    pub error: crate::packet::IcmpError,
    /// The router or host that sent it.
    pub from: IpAddr,
    pub ts_ns: i64,
    pub count: u32,
}

/// One flow as counted on the wire; naming and classification live in the session model.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: u32,
    pub proto: L4,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub client_by: ClientBy,
    pub first_ns: i64,
    pub last_ns: i64,
    pub first_frame: u64,
    pub packets_up: u64,
    pub packets_down: u64,
    /// TCP/UDP payload bytes, retransmissions included (as summing tshark's `tcp.len` gives).
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// The connection: handshake and how each side closed; default for UDP.
    pub tcp: TcpState,
    /// pcapng interface of the first packet.
    pub interface: u32,
    /// Interface index from SLL2 (`-i any`), when known.
    pub ifindex: Option<u32>,
    /// Some payload of this flow was cut by the snaplen.
    pub truncated: bool,
    /// The first ICMP destination unreachable that quoted one of its packets (read through
    /// [`Flow::icmp`]). Boxed: few flows have one, and every flow would pay for it inline.
    icmp: Option<Box<IcmpSeen>>,
}

impl Flow {
    /// The connection's state in the one vocabulary every output uses (`tcp_state` of the
    /// JSON records): `udp`, `reset`, `closed`, `half-closed`, `established`, `syn-sent` or
    /// `midstream` (first seen after its handshake).
    pub fn state_name(&self) -> &'static str {
        match self.proto {
            L4::Udp => "udp",
            L4::Tcp => self.tcp.state_name(),
        }
    }

    /// The first ICMP destination unreachable that quoted one of its packets.
    pub fn icmp(&self) -> Option<IcmpSeen> {
        self.icmp.as_deref().copied()
    }

    pub fn packets(&self) -> u64 {
        self.packets_up + self.packets_down
    }

    pub fn bytes(&self) -> u64 {
        self.bytes_up + self.bytes_down
    }
}

/// Ports that identify a service rather than an ephemeral client port.
pub fn is_service_port(port: u16) -> bool {
    port < 1024
        || matches!(
            port,
            1433 | 1521
                | 2375
                | 2376
                | 3000
                | 3306
                | 4443
                | 5000
                | 5353
                | 5355
                | 5432
                | 5671
                | 5672
                | 6379
                | 6443
                | 8000
                | 8080
                | 8443
                | 8888
                | 9000
                | 9090
                | 9200
                | 9443
                | 27017
        )
}

/// Decides which endpoint is the server when the handshake was not seen.
pub fn server_is_first_by_port(first_port: u16, second_port: u16) -> bool {
    match (is_service_port(first_port), is_service_port(second_port)) {
        (true, false) => true,
        (false, true) => false,
        _ => first_port < second_port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(proto: L4, tcp: TcpState) -> Flow {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        Flow {
            id: 0,
            proto,
            client: ip,
            client_port: 50000,
            server: ip,
            server_port: 443,
            client_by: ClientBy::Handshake,
            first_ns: 0,
            last_ns: 0,
            first_frame: 1,
            packets_up: 0,
            packets_down: 0,
            bytes_up: 0,
            bytes_down: 0,
            tcp,
            interface: 0,
            ifindex: None,
            truncated: false,
            icmp: None,
        }
    }

    #[test]
    fn a_udp_flow_is_named_udp_whatever_its_tcp_state() {
        assert_eq!(flow(L4::Udp, TcpState::default()).state_name(), "udp");
        assert_eq!(flow(L4::Tcp, TcpState::default()).state_name(), "midstream");
    }

    /// Every flow of a capture stays in memory until the end: a field added here costs each
    /// of them, so growing a flow is a decision this test makes visible.
    #[test]
    fn a_flow_stays_within_its_size() {
        let sizes = (std::mem::size_of::<Flow>(), std::mem::size_of::<TcpState>());
        assert!(sizes.0 <= 208 && sizes.1 <= 80, "Flow and TcpState: {sizes:?}");
    }
}
