//! Packet decoding: link layer, IP, TCP/UDP.

pub mod decode;
pub mod defrag;
pub mod link;

pub use decode::{decode, tcp_flags, DecodeError, IcmpError, Packet, Transport};
