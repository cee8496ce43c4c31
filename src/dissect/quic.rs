//! QUIC Initial packets: the ClientHello a QUIC client sends, read the way any on-path observer
//! can (RFC 9001 section 5.2: the Initial keys derive from the client's Destination Connection
//! ID, so they protect against tampering, not against reading).
//!
//! QUIC v1 (RFC 9000/9001), v2 (RFC 9369) and the IETF drafts 21 to 34 (and mvfst's versions
//! that follow them). For each client Initial: derive the keys, remove header protection,
//! decrypt (AES-128-GCM), walk the frames and put the CRYPTO frames' data in offset order;
//! once the ClientHello handshake message is whole, hand it to [`parse_client_hello`].
//!
//! Pure logic: no I/O, no panics on any input, memory bounded ([`CRYPTO_CAP`] per connection).
//! A packet that does not decrypt is counted by the reader, never guessed at.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;

use super::held::Held;
use super::tls::{parse_client_hello, ClientHelloInfo};

/// CRYPTO bytes held per connection: a post-quantum ClientHello is 1.5 to 2 KiB, and a client
/// may add padding or large extensions; beyond this nothing is a plausible first flight.
pub const CRYPTO_CAP: usize = 32 * 1024;
/// Client Initial packets opened per connection before giving up on a ClientHello.
const MAX_INITIALS: u32 = 64;
/// Long-header packets looked at in one datagram (RFC 9000 12.2 coalescing).
const MAX_COALESCED: usize = 8;
/// Datagrams of a flow looked at before deciding it does not carry a readable QUIC start.
const MAX_DATAGRAMS_WITHOUT_INITIAL: u32 = 16;
const MAX_CID_LEN: usize = 20;
const TAG_LEN: usize = 16;
const SAMPLE_LEN: usize = 16;
const HS_CLIENT_HELLO: u8 = 1;

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

const SALT_DRAFT_22: [u8; 20] = hex20(b"7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a");
const SALT_DRAFT_23: [u8; 20] = hex20(b"c3eef712c72ebb5a11a7d2432bb46365bef9f502");
const SALT_DRAFT_29: [u8; 20] = hex20(b"afbfec289993d24c9e9786f19c6111e04390a899");
const SALT_V1: [u8; 20] = hex20(b"38762cf7f55934b34d179ae6a4c80cadccbb7f0a");
const SALT_V2: [u8; 20] = hex20(b"0dede3def700a6db819381be6e269dcbf9bd2ed9");

const fn hex20(s: &[u8; 40]) -> [u8; 20] {
    const fn nib(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < 20 {
        out[i] = nib(s[2 * i]) << 4 | nib(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// How one QUIC version protects its Initial packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionParams {
    pub salt: &'static [u8; 20],
    pub key_label: &'static [u8],
    pub iv_label: &'static [u8],
    pub hp_label: &'static [u8],
    /// The long-header packet type bits (0x30 of the first byte, shifted) of an Initial.
    pub initial_type: u8,
    /// And of a Retry (which has no Length field: it fills the rest of the datagram).
    pub retry_type: u8,
}

const V1_LABELS: (&[u8], &[u8], &[u8]) = (b"quic key", b"quic iv", b"quic hp");

/// The parameters of `version`, `None` for versions whose Initials cannot be read here.
pub fn version_params(version: u32) -> Option<VersionParams> {
    let draft = match version {
        VERSION_1 => 34,
        VERSION_2 => {
            return Some(VersionParams {
                salt: &SALT_V2,
                key_label: b"quicv2 key",
                iv_label: b"quicv2 iv",
                hp_label: b"quicv2 hp",
                initial_type: 1,
                retry_type: 0,
            })
        }
        0xff00_0015..=0xff00_0022 => version & 0xff,
        // mvfst (Facebook) ran drafts under its own numbers.
        0xface_b001 => 22,
        0xface_b002 => 27,
        0xface_b00e => 32,
        _ => return None,
    };
    let salt = match draft {
        ..=22 => &SALT_DRAFT_22,
        23..=28 => &SALT_DRAFT_23,
        29..=32 => &SALT_DRAFT_29,
        _ => &SALT_V1,
    };
    let (key_label, iv_label, hp_label) = V1_LABELS;
    Some(VersionParams { salt, key_label, iv_label, hp_label, initial_type: 0, retry_type: 3 })
}

/// Whether `datagram` starts with a long-header Initial packet of a version read here: the
/// cheap test done before any crypto, so that other UDP traffic costs a few compares.
pub fn starts_with_initial(datagram: &[u8]) -> bool {
    let [first, v0, v1, v2, v3, ..] = *datagram else {
        return false;
    };
    if first & 0x80 == 0 {
        return false;
    }
    version_params(u32::from_be_bytes([v0, v1, v2, v3])).is_some_and(|p| (first >> 4) & 3 == p.initial_type)
}

/// The client's Initial packet protection keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialKeys {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

/// HKDF-Expand-Label (RFC 8446 7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) -> Option<()> {
    let mut info = Vec::with_capacity(4 + 6 + label.len());
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    prk.expand(&info, out).ok()
}

/// The keys that protect the client's Initial packets of a connection whose client chose
/// `dcid` as the Destination Connection ID of its first Initial (RFC 9001 5.2, RFC 9369 3.3).
pub fn client_initial_keys(version: u32, dcid: &[u8]) -> Option<InitialKeys> {
    let p = version_params(version)?;
    let initial = Hkdf::<Sha256>::new(Some(p.salt), dcid);
    let mut secret = [0u8; 32];
    expand_label(&initial, b"client in", &mut secret)?;
    let client = Hkdf::<Sha256>::from_prk(&secret).ok()?;
    let mut keys = InitialKeys { key: [0; 16], iv: [0; 12], hp: [0; 16] };
    expand_label(&client, p.key_label, &mut keys.key)?;
    expand_label(&client, p.iv_label, &mut keys.iv)?;
    expand_label(&client, p.hp_label, &mut keys.hp)?;
    Some(keys)
}

/// Reads a variable-length integer (RFC 9000 16) at `*pos`.
fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *b.get(*pos)?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(*pos..pos.checked_add(len)?)?;
    let mut v = u64::from(first & 0x3f);
    for &x in &bytes[1..] {
        v = v << 8 | u64::from(x);
    }
    *pos += len;
    Some(v)
}

/// A long-header Initial packet, located in its datagram (header protection still on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialHeader<'a> {
    pub version: u32,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// Offset of the (protected) packet number in the packet.
    pub pn_offset: usize,
}

/// One long-header packet at the start of `d`: the header of an Initial of a known version (or
/// `None` for another type), and the packet's length in the datagram. `None` overall when the
/// rest of the datagram cannot be split into packets (short header, unknown version, damage).
fn next_packet(d: &[u8]) -> Option<(Option<InitialHeader<'_>>, usize)> {
    let first = *d.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(d.get(1..5)?.try_into().ok()?);
    let p = version_params(version)?;
    let mut pos = 5;
    let dcid_len = usize::from(*d.get(pos)?);
    if dcid_len > MAX_CID_LEN {
        return None;
    }
    let dcid = d.get(pos + 1..pos + 1 + dcid_len)?;
    pos += 1 + dcid_len;
    let scid_len = usize::from(*d.get(pos)?);
    if scid_len > MAX_CID_LEN {
        return None;
    }
    let scid = d.get(pos + 1..pos + 1 + scid_len)?;
    pos += 1 + scid_len;
    let ty = (first >> 4) & 3;
    if ty == p.retry_type {
        return Some((None, d.len()));
    }
    if ty == p.initial_type {
        let token_len = usize::try_from(varint(d, &mut pos)?).ok()?;
        pos = pos.checked_add(token_len)?;
    }
    let len = usize::try_from(varint(d, &mut pos)?).ok()?;
    let end = pos.checked_add(len)?;
    if end > d.len() {
        // Cut by the capture's snaplen, or not a packet at all.
        return None;
    }
    let header = (ty == p.initial_type).then_some(InitialHeader { version, dcid, scid, pn_offset: pos });
    Some((header, end))
}

/// Why an Initial packet could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Too short for the header-protection sample and the tag.
    Short,
    /// The AEAD tag did not verify with these keys.
    Decrypt,
}

/// Removes header protection from the Initial `packet` (the whole packet, header first) and
/// decrypts it in place with `keys`. `largest_pn`: the largest packet number opened before on
/// this connection, to expand the truncated one. Returns the packet number and the range of
/// `packet` that holds the plaintext frames.
pub fn open_initial(
    packet: &mut [u8],
    pn_offset: usize,
    keys: &InitialKeys,
    largest_pn: Option<u64>,
) -> Result<(u64, std::ops::Range<usize>), OpenError> {
    let sample_at = pn_offset + 4;
    let sample: [u8; SAMPLE_LEN] =
        packet.get(sample_at..sample_at + SAMPLE_LEN).and_then(|s| s.try_into().ok()).ok_or(OpenError::Short)?;
    let mut block = aes::Block::from(sample);
    aes::Aes128::new(&keys.hp.into()).encrypt_block(&mut block);
    let mask = block;
    packet[0] ^= mask[0] & 0x0f;
    let pn_len = usize::from(packet[0] & 3) + 1;
    let mut truncated = 0u64;
    for i in 0..pn_len {
        packet[pn_offset + i] ^= mask[1 + i];
        truncated = truncated << 8 | u64::from(packet[pn_offset + i]);
    }
    let pn = decode_pn(largest_pn, truncated, pn_len * 8);
    let body = pn_offset + pn_len;
    if packet.len() < body + TAG_LEN {
        return Err(OpenError::Short);
    }
    let mut nonce = keys.iv;
    for (i, b) in pn.to_be_bytes().iter().enumerate() {
        nonce[4 + i] ^= b;
    }
    let tag_at = packet.len() - TAG_LEN;
    let (head, rest) = packet.split_at_mut(body);
    let (ct, tag) = rest.split_at_mut(tag_at - body);
    let tag = Tag::clone_from_slice(tag);
    Aes128Gcm::new(&keys.key.into())
        .decrypt_in_place_detached(Nonce::from_slice(&nonce), head, ct, &tag)
        .map_err(|_| OpenError::Decrypt)?;
    Ok((pn, body..tag_at))
}

/// RFC 9000 A.3: the full packet number closest to the next one expected.
fn decode_pn(largest: Option<u64>, truncated: u64, bits: usize) -> u64 {
    let Some(largest) = largest else { return truncated };
    let expected = largest + 1;
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate + hwin <= expected && candidate < (1 << 62) - win {
        candidate + win
    } else if candidate > expected + hwin && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// The CRYPTO frames of a decrypted Initial payload, as (offset, data), in packet order.
/// Stops at the first frame an Initial may not carry or that does not fit (what came before
/// is kept); `Err` names that frame.
pub fn crypto_frames<'a>(payload: &'a [u8], mut each: impl FnMut(u64, &'a [u8])) -> Result<(), &'static str> {
    let mut pos = 0;
    while pos < payload.len() {
        let ty = varint(payload, &mut pos).ok_or("frame type")?;
        match ty {
            0x00 | 0x01 => {}
            0x02 | 0x03 => {
                let mut ack = || -> Option<()> {
                    for _ in 0..2 {
                        varint(payload, &mut pos)?;
                    }
                    let ranges = varint(payload, &mut pos)?;
                    varint(payload, &mut pos)?;
                    for _ in 0..ranges.min(payload.len() as u64) {
                        varint(payload, &mut pos)?;
                        varint(payload, &mut pos)?;
                    }
                    if ty == 0x03 {
                        for _ in 0..3 {
                            varint(payload, &mut pos)?;
                        }
                    }
                    Some(())
                };
                ack().ok_or("ACK frame")?;
            }
            0x06 => {
                let offset = varint(payload, &mut pos).ok_or("CRYPTO frame")?;
                let len = varint(payload, &mut pos).and_then(|l| usize::try_from(l).ok()).ok_or("CRYPTO frame")?;
                let data = payload.get(pos..pos.saturating_add(len)).ok_or("CRYPTO frame length")?;
                pos += len;
                each(offset, data);
            }
            0x1c | 0x1d => {
                let mut close = || -> Option<()> {
                    varint(payload, &mut pos)?;
                    if ty == 0x1c {
                        varint(payload, &mut pos)?;
                    }
                    let len = usize::try_from(varint(payload, &mut pos)?).ok()?;
                    payload.get(pos..pos.checked_add(len)?)?;
                    pos += len;
                    Some(())
                };
                close().ok_or("CONNECTION_CLOSE frame")?;
            }
            _ => return Err("frame not allowed in an Initial packet"),
        }
    }
    Ok(())
}

/// What one datagram gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuicProgress {
    /// Nothing decided yet (or nothing in this datagram).
    NeedMore,
    /// The ClientHello is whole and read.
    Done(ClientHelloInfo),
    /// The ClientHello cannot be read: CRYPTO data beyond the cap, or a malformed message.
    /// [`QuicReader::finish`] may still read a cut one.
    Malformed(&'static str),
    /// The flow shows no QUIC Initial that can be read; nothing more is looked at.
    NotQuic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Finished,
}

/// Reads the client's ClientHello from the Initial packets of one UDP flow, fed datagram by
/// datagram in capture order with their direction.
///
/// The client speaks first: the direction of the first Initial that opens with the client keys
/// is the client's, and only its datagrams are opened from then on (the server's Initials use
/// other keys). The keys come from the first Initial's Destination Connection ID and are kept;
/// a packet that does not open with them is tried with keys from its own DCID (after a Retry
/// the client starts over with the connection ID the server chose).
#[derive(Debug, Clone)]
pub struct QuicReader {
    state: State,
    /// Direction (`up`) of the client, once a packet opened.
    client_up: Option<bool>,
    keys: Option<(Vec<u8>, InitialKeys)>,
    /// Version of the first Initial opened.
    pub version: Option<u32>,
    largest_pn: Option<u64>,
    crypto: Held,
    initials: u32,
    datagrams_without_initial: u32,
    /// Initial packets opened, and those that did not open with any key.
    pub opened: u32,
    pub undecryptable: u32,
    /// The last reason a packet could not be read, for a warning.
    pub last_error: Option<&'static str>,
}

impl Default for QuicReader {
    fn default() -> Self {
        QuicReader::new()
    }
}

impl QuicReader {
    pub fn new() -> Self {
        QuicReader {
            state: State::Active,
            client_up: None,
            keys: None,
            version: None,
            largest_pn: None,
            crypto: Held::new(CRYPTO_CAP),
            initials: 0,
            datagrams_without_initial: 0,
            opened: 0,
            undecryptable: 0,
            last_error: None,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// Feeds one datagram; `up`: sent by the side the flow table calls the client.
    pub fn push(&mut self, datagram: &[u8], up: bool) -> QuicProgress {
        if self.state == State::Finished {
            return QuicProgress::NeedMore;
        }
        if self.client_up.is_some_and(|c| c != up) {
            return QuicProgress::NeedMore;
        }
        let mut rest = datagram;
        let mut saw_initial = false;
        for _ in 0..MAX_COALESCED {
            let Some((header, len)) = next_packet(rest) else { break };
            let (packet, tail) = rest.split_at(len);
            rest = tail;
            let Some(h) = header else { continue };
            saw_initial = true;
            self.initials += 1;
            if let Some(done) = self.initial(packet, h, up) {
                return done;
            }
            if self.initials >= MAX_INITIALS {
                return self.give_up("no whole ClientHello in the client's Initial packets");
            }
        }
        if !saw_initial && self.opened == 0 {
            self.datagrams_without_initial += 1;
            if self.datagrams_without_initial >= MAX_DATAGRAMS_WITHOUT_INITIAL {
                self.state = State::Finished;
                self.crypto.release();
                return QuicProgress::NotQuic;
            }
        }
        QuicProgress::NeedMore
    }

    fn initial(&mut self, packet: &[u8], h: InitialHeader<'_>, up: bool) -> Option<QuicProgress> {
        let mut buf = packet.to_vec();
        let mut opened = None;
        if let Some((_, keys)) = &self.keys {
            opened = open_initial(&mut buf, h.pn_offset, keys, self.largest_pn).ok();
        }
        if opened.is_none() && self.keys.as_ref().is_none_or(|(dcid, _)| dcid != h.dcid) {
            if let Some(keys) = client_initial_keys(h.version, h.dcid) {
                buf.copy_from_slice(packet);
                if let Ok(o) = open_initial(&mut buf, h.pn_offset, &keys, self.largest_pn) {
                    self.keys = Some((h.dcid.to_vec(), keys));
                    opened = Some(o);
                }
            }
        }
        let Some((pn, range)) = opened else {
            self.undecryptable += 1;
            self.last_error = Some("QUIC Initial packet did not decrypt with the client's Initial keys");
            return None;
        };
        self.opened += 1;
        self.client_up = Some(up);
        self.version.get_or_insert(h.version);
        self.largest_pn = Some(self.largest_pn.map_or(pn, |l| l.max(pn)));
        let crypto = &mut self.crypto;
        if let Err(why) = crypto_frames(&buf[range], |offset, data| crypto.insert(offset, data)) {
            self.last_error = Some(why);
        }
        self.check()
    }

    fn check(&mut self) -> Option<QuicProgress> {
        let hs = self.crypto.prefix();
        let [ty, a, b, c, ..] = *hs else {
            return None;
        };
        if ty != HS_CLIENT_HELLO {
            return Some(self.give_up("first CRYPTO data is not a ClientHello"));
        }
        let need = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
        if need > CRYPTO_CAP {
            return Some(self.give_up("ClientHello larger than the CRYPTO cap"));
        }
        let msg = hs.get(..need)?;
        let parsed = parse_client_hello(msg);
        self.state = State::Finished;
        self.crypto.release();
        Some(match parsed {
            Ok(ch) => QuicProgress::Done(ch),
            Err(_) => QuicProgress::Malformed("malformed ClientHello in QUIC CRYPTO frames"),
        })
    }

    fn give_up(&mut self, why: &'static str) -> QuicProgress {
        // The CRYPTO bytes stay for `finish`.
        self.state = State::Finished;
        QuicProgress::Malformed(why)
    }

    /// At flow end or when giving up: a ClientHello whose CRYPTO data is cut short is read as
    /// far as it goes (`partial`) if its server_name extension is there.
    pub fn finish(&mut self) -> Option<ClientHelloInfo> {
        let hs = self.crypto.prefix();
        let out = (hs.first() == Some(&HS_CLIENT_HELLO)).then(|| parse_client_hello(hs).ok()).flatten();
        self.state = State::Finished;
        self.crypto.release();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::AeadInPlace;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    const DCID: &str = "8394c8f03e515708";

    fn rfc9001_packet() -> Vec<u8> {
        unhex(include_str!("testdata/rfc9001-a2-client-initial.hex"))
    }

    /// RFC 9001 A.1: the client's Initial keys.
    #[test]
    fn rfc9001_client_keys() {
        let k = client_initial_keys(VERSION_1, &unhex(DCID)).unwrap();
        assert_eq!(k.key.to_vec(), unhex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(k.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(k.hp.to_vec(), unhex("9f50449e04a0e810283a1e9933adedd2"));
    }

    /// RFC 9001 A.2: header protection removed (first byte c3, packet number 2) and the
    /// payload decrypted to the CRYPTO frame of the appendix followed by PADDING.
    #[test]
    fn rfc9001_client_initial_opens() {
        let mut p = rfc9001_packet();
        assert_eq!(p.len(), 1200);
        let (h, len) = next_packet(&p).unwrap();
        let h = h.unwrap();
        assert_eq!((len, h.version, h.dcid, h.pn_offset), (1200, VERSION_1, &unhex(DCID)[..], 18));
        let (keys, pn_offset) = (client_initial_keys(h.version, h.dcid).unwrap(), h.pn_offset);
        let (pn, range) = open_initial(&mut p, pn_offset, &keys, None).unwrap();
        assert_eq!(pn, 2);
        assert_eq!(p[..22].to_vec(), unhex("c300000001088394c8f03e5157080000449e00000002"));
        let frame = unhex(include_str!("testdata/rfc9001-a2-crypto-frame.hex"));
        let plain = &p[range];
        assert_eq!(plain.len(), 1162);
        assert_eq!(&plain[..frame.len()], &frame[..]);
        assert!(plain[frame.len()..].iter().all(|&b| b == 0), "PADDING after the CRYPTO frame");
    }

    #[test]
    fn rfc9001_client_hello_read() {
        let mut r = QuicReader::new();
        let QuicProgress::Done(ch) = r.push(&rfc9001_packet(), true) else { panic!("no ClientHello") };
        assert_eq!(ch.sni.as_deref(), Some("example.com"));
        assert_eq!(ch.alpn, vec!["alpn".to_string()]);
        assert_eq!(ch.supported_versions, vec![0x0304]);
        assert_eq!((r.version, r.opened, r.undecryptable), (Some(VERSION_1), 1, 0));
    }

    /// A changed bit anywhere in the protected payload: counted as undecryptable, no SNI.
    #[test]
    fn tampered_packet_is_counted_not_read() {
        let mut p = rfc9001_packet();
        p[600] ^= 1;
        let mut r = QuicReader::new();
        assert_eq!(r.push(&p, true), QuicProgress::NeedMore);
        assert_eq!((r.opened, r.undecryptable), (0, 1));
        assert_eq!(r.finish(), None);
    }

    /// RFC 9369 A.1/A.2: QUIC v2 keys and its client Initial (Initial type bits 01).
    #[test]
    fn rfc9369_v2_client_initial() {
        let k = client_initial_keys(VERSION_2, &unhex(DCID)).unwrap();
        assert_eq!(k.key.to_vec(), unhex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(k.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
        assert_eq!(k.hp.to_vec(), unhex("45b95e15235d6f45a6b19cbcb0294ba9"));
        let p = unhex(include_str!("testdata/rfc9369-a2-client-initial.hex"));
        assert!(starts_with_initial(&p));
        let mut r = QuicReader::new();
        let QuicProgress::Done(ch) = r.push(&p, true) else { panic!("no ClientHello") };
        assert_eq!(ch.sni.as_deref(), Some("example.com"));
        assert_eq!(r.version, Some(VERSION_2));
    }

    /// Builds a protected v1 client Initial carrying `frames` (padded to 1200 bytes).
    fn seal(dcid: &[u8], pn: u32, frames: &[u8]) -> Vec<u8> {
        let keys = client_initial_keys(VERSION_1, dcid).unwrap();
        let mut payload = frames.to_vec();
        let pn_len = 4;
        let header_len = 1 + 4 + 1 + dcid.len() + 1 + 1 + 2 + pn_len;
        payload.resize(1200 - header_len - TAG_LEN, 0);
        let length = (pn_len + payload.len() + TAG_LEN) as u16 | 0x4000;
        let mut p = vec![0xc3];
        p.extend_from_slice(&VERSION_1.to_be_bytes());
        p.push(dcid.len() as u8);
        p.extend_from_slice(dcid);
        p.push(0);
        p.push(0);
        p.extend_from_slice(&length.to_be_bytes());
        let pn_offset = p.len();
        p.extend_from_slice(&pn.to_be_bytes());
        let mut nonce = keys.iv;
        for (i, b) in u64::from(pn).to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= b;
        }
        let tag = Aes128Gcm::new(&keys.key.into())
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &p, &mut payload)
            .unwrap();
        p.extend_from_slice(&payload);
        p.extend_from_slice(&tag);
        let mut block = aes::Block::clone_from_slice(&p[pn_offset + 4..pn_offset + 20]);
        aes::Aes128::new(&keys.hp.into()).encrypt_block(&mut block);
        p[0] ^= block[0] & 0x0f;
        for i in 0..pn_len {
            p[pn_offset + i] ^= block[1 + i];
        }
        p
    }

    fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0x06];
        f.extend_from_slice(&(0x8000_0000 | offset as u32).to_be_bytes());
        f.extend_from_slice(&(0x4000 | data.len() as u16).to_be_bytes());
        f.extend_from_slice(data);
        f
    }

    /// The ClientHello of RFC 9001 A.2 (the CRYPTO frame's data).
    fn hello() -> Vec<u8> {
        unhex(include_str!("testdata/rfc9001-a2-crypto-frame.hex"))[4..].to_vec()
    }

    /// A ClientHello split over two Initial packets that arrive in reverse order, the second
    /// one with its two pieces out of order and a PING between them.
    #[test]
    fn client_hello_split_over_two_packets_in_reverse_order() {
        let dcid = unhex("0011223344556677");
        let ch = hello();
        let (a, b) = ch.split_at(100);
        let (b1, b2) = b.split_at(70);
        let first = seal(&dcid, 0, &crypto_frame(0, a));
        let mut frames = crypto_frame(170, b2);
        frames.push(0x01);
        frames.extend(crypto_frame(100, b1));
        let second = seal(&dcid, 1, &frames);
        let mut r = QuicReader::new();
        assert_eq!(r.push(&second, true), QuicProgress::NeedMore);
        let QuicProgress::Done(got) = r.push(&first, true) else { panic!("no ClientHello") };
        assert_eq!(got.sni.as_deref(), Some("example.com"));
        assert_eq!(r.opened, 2);
    }

    /// Two packets coalesced in one datagram (the second a Handshake packet, skipped).
    #[test]
    fn coalesced_packets_are_walked() {
        let dcid = unhex("0102030405060708");
        let mut d = seal(&dcid, 0, &crypto_frame(0, &hello()));
        d.truncate(600);
        // Fix the Length field: the packet is now cut, so it is a damaged datagram...
        assert!(next_packet(&d).is_none());
        // ...whereas a whole Initial followed by a Handshake packet is split correctly.
        let mut d = seal(&dcid, 0, &crypto_frame(0, &hello()));
        d.extend_from_slice(&[0xe0, 0, 0, 0, 1, 0, 0, 0x05, 1, 2, 3, 4, 5]);
        let (_, len) = next_packet(&d).unwrap();
        assert_eq!(len, 1200);
        let (h, len2) = next_packet(&d[len..]).unwrap();
        assert!(h.is_none());
        assert_eq!(len2, 13);
        assert!(matches!(QuicReader::new().push(&d, true), QuicProgress::Done(_)));
    }

    /// Server Initials (other keys) do not disturb the client's once its direction is known.
    #[test]
    fn other_direction_ignored_after_client_known() {
        let dcid = unhex("a1a2a3a4a5a6a7a8");
        let ch = hello();
        let mut r = QuicReader::new();
        assert_eq!(r.push(&seal(&dcid, 0, &crypto_frame(0, &ch[..50])), true), QuicProgress::NeedMore);
        let mut noise = seal(&unhex("ffff"), 0, &[1]);
        noise[100] ^= 0xff;
        assert_eq!(r.push(&noise, false), QuicProgress::NeedMore);
        assert_eq!(r.undecryptable, 0);
        assert!(matches!(r.push(&seal(&dcid, 1, &crypto_frame(50, &ch[50..])), true), QuicProgress::Done(_)));
    }

    #[test]
    fn cut_hello_read_at_finish() {
        let dcid = unhex("0102");
        let ch = hello();
        let mut r = QuicReader::new();
        assert_eq!(r.push(&seal(&dcid, 0, &crypto_frame(0, &ch[..120])), true), QuicProgress::NeedMore);
        let got = r.finish().unwrap();
        assert!(got.partial);
        assert_eq!(got.sni.as_deref(), Some("example.com"));
    }

    #[test]
    fn non_quic_udp_is_dropped_quickly() {
        let mut r = QuicReader::new();
        for i in 0..MAX_DATAGRAMS_WITHOUT_INITIAL {
            let p = r.push(&[0x40, 1, 2, 3, 4, 5, 6], true);
            assert_eq!(p == QuicProgress::NotQuic, i + 1 == MAX_DATAGRAMS_WITHOUT_INITIAL);
        }
        assert!(!starts_with_initial(&[0x17, 3, 3, 0, 10]));
        assert!(!starts_with_initial(&[0xc0, 0, 0, 0, 0]));
    }

    #[test]
    fn packet_numbers_expand() {
        assert_eq!(decode_pn(Some(0xa82f30ea), 0x9b32, 16), 0xa82f9b32);
        assert_eq!(decode_pn(None, 5, 8), 5);
        assert_eq!(decode_pn(Some(255), 1, 8), 257);
    }
}
