//! TLS hello dissection: the SNI, ALPN and versions of a ClientHello, the version a ServerHello
//! picked, and the per-direction TCP reassembly that rebuilds that first handshake message and
//! can read on through the records still in clear after it (leaf certificate, alerts).
//!
//! Pure logic: no I/O, no panics on any input, memory bounded by the reassembler's `cap`.

//!
//! By layer: [`hello`] parses the hello messages, [`alert`] names alerts, [`stream`] walks the
//! records of one TCP direction and rebuilds the messages they carry.

pub mod alert;
pub mod hello;
pub mod stream;
#[cfg(test)]
mod tests;

pub use alert::AlertMessage;
pub use hello::{parse_client_hello, parse_server_hello, ClientHelloInfo, ServerHelloInfo, TlsError};
pub use stream::{whole_hello, whole_hello_record, TlsEvent, TlsProgress, TlsReassembler};

/// Room for a full 16 KiB record plus its header, and for a ClientHello spread over several
/// records (post-quantum key shares and padding make hellos of several KiB).
pub const DEFAULT_CAP: usize = 64 * 1024;

/// RFC 8446 allows a record of 2^14 bytes plus 2048 of expansion; anything longer at the
/// stream start is not TLS.
const MAX_RECORD_LEN: usize = 16384 + 2048;
const RECORD_HEADER_LEN: usize = 5;
const HANDSHAKE_HEADER_LEN: usize = 4;
const CONTENT_HANDSHAKE: u8 = 22;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
const CONTENT_ALERT: u8 = 21;
const TLS13: u16 = 0x0304;
/// Alerts kept per direction: a peer sends one or two before it closes.
const MAX_ALERTS: u8 = 4;
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const SNI_HOST_NAME: u8 = 0;

/// With the ISN known, segments past a missing stream start are held in case the start is only
/// late; this many without it and the start is taken as lost (e.g. dropped by the capture).
const MAX_PENDING_SEGMENTS: u32 = 16;

/// A 24-bit big-endian length (handshake messages, certificate lists).
fn u24(a: u8, b: u8, c: u8) -> usize {
    (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c)
}
