//! Packet decoding: link layer, IP, TCP/UDP.

pub mod decode;
pub mod defrag;
pub mod link;
pub mod tcp;

pub use decode::{decode, DecodeError, IcmpError, Packet, Transport};
pub use tcp::{tcp_flags, TcpOptions, TcpSegment};
