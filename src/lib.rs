//! acrscope: which hosts and addresses a container pull really talks to, from DNS answers and
//! TLS ClientHello SNI seen on the wire.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod classify;
pub mod cli;
pub mod dissect;
pub mod engine;
pub mod flow;
pub mod format;
pub mod live;
pub mod output;
pub mod packet;
pub mod par;
pub mod pipeline;
pub mod procs;
pub mod session;
pub mod snapshot;
pub mod ui;
