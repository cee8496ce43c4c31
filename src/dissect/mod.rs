//! Dissectors: pure functions from payload bytes to facts (DNS answers, TLS hellos).
//! They know nothing of flows or views, so they are easy to test and fuzz.

pub mod cert;
pub mod dns;
pub mod held;
pub mod http;
pub mod quic;
pub mod tls;
