//! The hello messages: the SNI, ALPN and versions of a ClientHello, the version a ServerHello
//! picked. Pure parsing of one whole (or cut) handshake message.

use thiserror::Error;
use tls_parser::{
    parse_tls_extension_alpn_content, parse_tls_extension_sni_content, parse_tls_handshake_client_hello,
    parse_tls_handshake_server_hello, TlsExtension,
};

use super::*;

/// What a ClientHello tells about where the client wants to go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientHelloInfo {
    /// First host_name of server_name, as sent but without a trailing dot; `None` when absent
    /// or unusable (empty, not UTF-8, control characters).
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub legacy_version: u16,
    /// supported_versions, GREASE values removed.
    pub supported_versions: Vec<u16>,
    /// The message was cut short; what is here was read from the part that was present, which
    /// held the whole server_name extension.
    pub partial: bool,
}

impl ClientHelloInfo {
    /// The versions the client offered: supported_versions when it sent them (TLS 1.3
    /// clients), else the legacy_version alone.
    pub fn offered_versions(&self) -> &[u16] {
        if self.supported_versions.is_empty() {
            std::slice::from_ref(&self.legacy_version)
        } else {
            &self.supported_versions
        }
    }

    /// The highest version the client offered.
    pub fn offered_version(&self) -> u16 {
        self.offered_versions().iter().copied().max().unwrap_or(self.legacy_version)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHelloInfo {
    /// supported_versions extension if present, else legacy_version.
    pub version: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlsError {
    #[error("handshake message truncated")]
    Truncated,
    #[error("unexpected handshake message type {0}")]
    WrongType(u8),
    #[error("malformed {0}")]
    Malformed(&'static str),
}

impl TlsError {
    pub(super) fn reason(&self) -> &'static str {
        match self {
            TlsError::Truncated => "handshake message truncated",
            TlsError::WrongType(_) => "unexpected handshake message type",
            TlsError::Malformed(why) => why,
        }
    }
}

/// Reads a ClientHello handshake message (type, 3-byte length, body).
///
/// A complete message is parsed strictly with tls-parser. A message shorter than its length
/// field says is walked tolerantly, extension by extension up to the first one that does not
/// fit; it yields `partial = true` when the server_name extension was among those that fit,
/// else [`TlsError::Truncated`]. Bytes after the message are ignored.
pub fn parse_client_hello(handshake: &[u8]) -> Result<ClientHelloInfo, TlsError> {
    let (ty, declared, body) = split_handshake(handshake)?;
    if ty != HS_CLIENT_HELLO {
        return Err(TlsError::WrongType(ty));
    }
    match body.get(..declared) {
        // A message whose inner lengths do not add up is still walked as far as it goes, as
        // tshark does: clients in the wild send such hellos and their SNI is still the answer.
        Some(body) => client_hello_complete(body).or_else(|e| match client_hello_partial(body) {
            Ok(ch) if ch.sni.is_some() => Ok(ClientHelloInfo { partial: true, ..ch }),
            _ => Err(e),
        }),
        None => client_hello_partial(body),
    }
}

/// Reads a ServerHello handshake message; it must be complete.
pub fn parse_server_hello(handshake: &[u8]) -> Result<ServerHelloInfo, TlsError> {
    let (ty, declared, body) = split_handshake(handshake)?;
    if ty != HS_SERVER_HELLO {
        return Err(TlsError::WrongType(ty));
    }
    let body = body.get(..declared).ok_or(TlsError::Truncated)?;
    let (rest, sh) = parse_tls_handshake_server_hello(body).map_err(|_| TlsError::Malformed("server hello"))?;
    let mut selected = None;
    match sh.ext {
        Some(ext) => walk_extensions(ext, true, |ty, data| {
            if ty == EXT_SUPPORTED_VERSIONS && selected.is_none() {
                if let [hi, lo] = data {
                    selected = Some(u16::from_be_bytes([*hi, *lo]));
                }
            }
        })?,
        // tls-parser reads an extension block whose length overruns the message as "none".
        None if !rest.is_empty() => return Err(TlsError::Malformed("server hello extensions")),
        None => {}
    }
    Ok(ServerHelloInfo { version: selected.unwrap_or(sh.version.0) })
}

/// Handshake type, declared body length, and the body bytes present (at most the declared).
fn split_handshake(h: &[u8]) -> Result<(u8, usize, &[u8]), TlsError> {
    let [ty, a, b, c, rest @ ..] = h else {
        return Err(TlsError::Truncated);
    };
    let declared = u24(*a, *b, *c);
    Ok((*ty, declared, rest.get(..declared).unwrap_or(rest)))
}

fn client_hello_complete(body: &[u8]) -> Result<ClientHelloInfo, TlsError> {
    let (rest, ch) = parse_tls_handshake_client_hello(body).map_err(|_| TlsError::Malformed("client hello"))?;
    let mut acc = ExtAcc::default();
    match ch.ext {
        Some(ext) => walk_extensions(ext, true, |ty, data| acc.apply(ty, data))?,
        None if !rest.is_empty() => return Err(TlsError::Malformed("client hello extensions")),
        None => {}
    }
    Ok(acc.into_info(ch.version.0, false))
}

/// Hand walk, because tls-parser needs the whole message and the point here is to get the SNI
/// out of the first segment when a later one never made it into the capture.
fn client_hello_partial(body: &[u8]) -> Result<ClientHelloInfo, TlsError> {
    let mut r = Reader(body);
    let legacy_version = r.u16().ok_or(TlsError::Truncated)?;
    r.take(32).ok_or(TlsError::Truncated)?;
    let sid_len = r.u8().ok_or(TlsError::Truncated)?;
    if sid_len > 32 {
        return Err(TlsError::Malformed("client hello session id"));
    }
    r.take(usize::from(sid_len)).ok_or(TlsError::Truncated)?;
    let suites_len = r.u16().ok_or(TlsError::Truncated)?;
    if suites_len % 2 == 1 {
        return Err(TlsError::Malformed("client hello cipher suites"));
    }
    r.take(usize::from(suites_len)).ok_or(TlsError::Truncated)?;
    let comp_len = r.u8().ok_or(TlsError::Truncated)?;
    r.take(usize::from(comp_len)).ok_or(TlsError::Truncated)?;
    let ext_len = usize::from(r.u16().ok_or(TlsError::Truncated)?);
    let ext = r.0.get(..ext_len).unwrap_or(r.0);
    let mut acc = ExtAcc::default();
    walk_extensions(ext, false, |ty, data| acc.apply(ty, data))?;
    if !acc.sni_seen {
        return Err(TlsError::Truncated);
    }
    Ok(acc.into_info(legacy_version, true))
}

/// Calls `f` with each extension's type and data. `strict`: an extension overrunning the block
/// is an error; otherwise the walk just stops there (the block was cut short).
fn walk_extensions(mut ext: &[u8], strict: bool, mut f: impl FnMut(u16, &[u8])) -> Result<(), TlsError> {
    while !ext.is_empty() {
        let mut r = Reader(ext);
        let one = r.u16().zip(r.u16()).and_then(|(ty, len)| Some((ty, r.take(usize::from(len))?)));
        let Some((ty, data)) = one else {
            return if strict { Err(TlsError::Malformed("extension length")) } else { Ok(()) };
        };
        f(ty, data);
        ext = r.0;
    }
    Ok(())
}

#[derive(Default)]
struct ExtAcc {
    sni: Option<String>,
    sni_seen: bool,
    alpn: Vec<String>,
    alpn_seen: bool,
    versions: Vec<u16>,
    versions_seen: bool,
}

impl ExtAcc {
    /// A repeated extension is illegal (RFC 8446 4.2); the first one is kept, so a second cannot
    /// override what a middlebox or server would most likely act on.
    fn apply(&mut self, ty: u16, data: &[u8]) {
        match ty {
            EXT_SERVER_NAME if !self.sni_seen => {
                self.sni_seen = true;
                self.sni = sni_from_ext(data);
            }
            EXT_ALPN if !self.alpn_seen => {
                self.alpn_seen = true;
                self.alpn = alpn_from_ext(data);
            }
            EXT_SUPPORTED_VERSIONS if !self.versions_seen => {
                self.versions_seen = true;
                self.versions = client_versions(data);
            }
            _ => {}
        }
    }

    fn into_info(self, legacy_version: u16, partial: bool) -> ClientHelloInfo {
        ClientHelloInfo { sni: self.sni, alpn: self.alpn, legacy_version, supported_versions: self.versions, partial }
    }
}

pub(super) fn sni_from_ext(data: &[u8]) -> Option<String> {
    match parse_tls_extension_sni_content(data) {
        Ok((_, TlsExtension::SNI(names))) => {
            names.iter().find(|(ty, _)| ty.0 == SNI_HOST_NAME).and_then(|(_, name)| host_name(name))
        }
        _ => None,
    }
}

/// Control characters are refused as well as non-UTF-8: the name ends up on a terminal.
fn host_name(raw: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(raw).ok()?;
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.chars().any(char::is_control) {
        return None;
    }
    Some(name.to_owned())
}

/// Protocol ids are opaque bytes; those that are not printable UTF-8 are left out rather than
/// shown mangled.
fn alpn_from_ext(data: &[u8]) -> Vec<String> {
    match parse_tls_extension_alpn_content(data) {
        Ok((_, TlsExtension::ALPN(protos))) => protos
            .iter()
            .filter_map(|p| std::str::from_utf8(p).ok())
            .filter(|p| !p.is_empty() && !p.chars().any(char::is_control))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Hand-parsed: tls-parser keeps this content parser private, and its public one guesses the
/// client or server form from the length.
fn client_versions(data: &[u8]) -> Vec<u16> {
    let Some((&n, list)) = data.split_first() else {
        return Vec::new();
    };
    let list = list.get(..usize::from(n)).unwrap_or(list);
    list.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).filter(|&v| !is_grease(v)).collect()
}

/// RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA.
pub(super) fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}
