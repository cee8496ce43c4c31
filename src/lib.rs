//! acrscope: which hosts and addresses a container pull really talks to, from DNS answers and
//! TLS ClientHello SNI seen on the wire.
// Denied, not forbidden: `probe::tcpinfo` reads TCP_INFO, which no safe crate of ours exposes.
#![deny(unsafe_code)]

/// `0.2.0 (a1b2c3d 2026-12-05)`: the crate's version and the commit it was built from, which
/// build.rs reads from git; a build outside a git checkout says so instead of guessing.
pub const VERSION: &str = match option_env!("ACRSCOPE_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

pub mod analysis;
pub mod capture;
pub mod classify;
pub mod compact;
pub mod dissect;
pub mod engine;
pub mod flow;
pub mod format;
pub mod live;
pub mod malloc;
pub mod output;
pub mod packet;
pub mod par;
pub mod pipeline;
pub mod probe;
pub mod procs;
pub mod session;
pub mod signals;
pub mod snapshot;
pub mod ui;
