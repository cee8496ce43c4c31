//! The records of one TCP direction: rebuilds the first handshake message from its segments
//! and reads on through the records still in clear after it (leaf certificate, alerts).

use crate::dissect::cert::{parse_certificate, CertInfo};
use crate::dissect::held::SeqStream;

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsEvent {
    ClientHello(ClientHelloInfo),
    ServerHello(ServerHelloInfo),
    /// The first certificate of a Certificate message in clear (TLS 1.2 and older): the
    /// sender's own. Only a reassembler that follows the flight reports it.
    Certificate(Box<CertInfo>),
    /// An alert in clear, before the direction's records turned encrypted.
    Alert(AlertMessage),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProgress {
    NeedMore,
    NotTls,
    Done(TlsEvent),
    /// The handshake cannot be read; [`TlsReassembler::finish`] may still get a partial
    /// ClientHello out of what was held.
    Malformed(&'static str),
    /// Following the flight: its records in clear are over (encrypted records, a
    /// ChangeCipherSpec, or the cap reached); nothing more will be read.
    End,
}

#[derive(Debug, Clone)]
enum State {
    Active,
    /// Following the flight: the hello is read, the records in clear after it are walked.
    Flight,
    Done(TlsEvent),
    NotTls,
    Malformed(&'static str),
    /// Following the flight: it is over.
    Ended,
    /// `finish` was called: whatever could be had has been handed out.
    Spent,
}

/// Rebuilds the first handshake message of one TCP direction and, when asked to
/// ([`TlsReassembler::follow`]), reads on through the records in clear after it: the leaf
/// certificate of a TLS 1.2 server, alerts either way.
///
/// One buffer holds the stream from the base (at most `cap` bytes) with a short list of the
/// ranges held. Record headers are consumed from the front and the handshake fragments behind
/// them are moved left over them, so `buf[..hs_len]` is the handshake message as reassembled
/// so far and no second buffer is needed.
pub struct TlsReassembler {
    cap: usize,
    pub(super) stream: SeqStream,
    /// Stream offset of the first byte not yet consumed by the record walk.
    pos: usize,
    /// Fragment bytes left in the current record; 0 means a record header comes next.
    rec_left: usize,
    /// Records consumed (handshake and alert).
    records: u32,
    hs_len: usize,
    pending: u32,
    state: State,
    follow: bool,
    /// Events after the hello, for [`TlsReassembler::take_events`].
    events: Vec<TlsEvent>,
    alerts: u8,
    /// The leaf of a Certificate message has been looked at: one per flight is read (there is
    /// one, and a stream of them must not make events without bound).
    leaf_read: bool,
}

impl std::fmt::Debug for TlsReassembler {
    // The buffer itself is up to `cap` bytes of noise in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsReassembler")
            .field("cap", &self.cap)
            .field("stream", &self.stream)
            .field("pos", &self.pos)
            .field("hs_len", &self.hs_len)
            .field("state", &self.state)
            .field("follow", &self.follow)
            .finish_non_exhaustive()
    }
}

enum RecordHeader {
    Incomplete,
    Ok(usize),
    NotTls,
    Bad(&'static str),
}

/// Judged on as many bytes as there are, so that a non-TLS stream is dropped on its first byte.
fn record_header(h: &[u8], first: bool) -> RecordHeader {
    let bad = |why| {
        if first {
            RecordHeader::NotTls
        } else {
            RecordHeader::Bad(why)
        }
    };
    if h.first().is_some_and(|&t| t != CONTENT_HANDSHAKE) {
        return bad("non-handshake record inside the handshake message");
    }
    if h.get(1).is_some_and(|&major| major != 3) || h.get(2).is_some_and(|&minor| minor > 4) {
        return bad("record version");
    }
    let [_, _, _, hi, lo, ..] = h else {
        return RecordHeader::Incomplete;
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    // Zero-length handshake fragments are forbidden (RFC 8446 5.1).
    if len == 0 || len > MAX_RECORD_LEN {
        return bad("record length");
    }
    RecordHeader::Ok(len)
}

/// An alert record in clear: version 3.x, 2 bytes, a known level. Judged on the bytes there
/// are: `None` while they agree but are not all in, `Some(None)` when it is no such record
/// (an encrypted alert is longer than 2 bytes).
fn alert_record(h: &[u8]) -> Option<Option<AlertMessage>> {
    let ok = |i: usize, f: fn(u8) -> bool| h.get(i).is_none_or(|&b| f(b));
    let fits =
        ok(1, |b| b == 3) && ok(2, |b| b <= 4) && ok(3, |b| b == 0) && ok(4, |b| b == 2) && ok(5, |b| b == 1 || b == 2);
    if !fits {
        return Some(None);
    }
    let [_, _, _, _, _, level, description, ..] = *h else {
        return None;
    };
    Some(Some(AlertMessage { level, description }))
}

/// What the record walk does with the record starting at its position.
enum Step {
    Incomplete,
    Handshake(usize),
    /// A whole alert record (header and 2 bytes) is there.
    Alert(AlertMessage),
    /// The records in clear are over.
    Stop,
    NotTls,
    Bad(&'static str),
}

/// Where the leaf certificate's DER sits in a TLS 1.2 Certificate message (type, length,
/// certificate_list length, first certificate's length, DER), once it is all there.
/// `Some(None)`: it will never be (lengths that do not fit the message).
fn leaf_range(hs: &[u8]) -> Option<Option<std::ops::Range<usize>>> {
    let [_, m1, m2, m3, l1, l2, l3, c1, c2, c3, ..] = *hs else {
        return None;
    };
    let msg_end = HANDSHAKE_HEADER_LEN + u24(m1, m2, m3);
    let list_end = HANDSHAKE_HEADER_LEN + 3 + u24(l1, l2, l3);
    let end = 10 + u24(c1, c2, c3);
    if list_end > msg_end || end > list_end || end == 10 {
        return Some(None);
    }
    (hs.len() >= end).then_some(Some(10..end))
}

/// A segment that starts its stream with one whole handshake record holding a whole
/// ClientHello or ServerHello (the usual first segment): the event that
/// [`TlsReassembler::push`] would return as `Done` for it, read in place without buffering.
/// `None` in every other case, which the reassembler then handles.
pub fn whole_hello(payload: &[u8]) -> Option<TlsEvent> {
    let RecordHeader::Ok(len) = record_header(payload, true) else {
        return None;
    };
    let rec = payload.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len)?;
    let [ty, a, b, c, ..] = *rec else {
        return None;
    };
    let msg = rec.get(..HANDSHAKE_HEADER_LEN + u24(a, b, c))?;
    match ty {
        HS_CLIENT_HELLO => parse_client_hello(msg).ok().map(TlsEvent::ClientHello),
        HS_SERVER_HELLO => parse_server_hello(msg).ok().map(TlsEvent::ServerHello),
        _ => None,
    }
}

/// As [`whole_hello`], when the hello fills its record exactly (as all but a few servers
/// that pack more messages into the ServerHello's record do): with the bytes the record took,
/// where [`TlsReassembler::after_hello`] goes on.
pub fn whole_hello_record(payload: &[u8]) -> Option<(TlsEvent, usize)> {
    let RecordHeader::Ok(len) = record_header(payload, true) else {
        return None;
    };
    let [_, _, _, _, _, _, a, b, c, ..] = *payload else {
        return None;
    };
    if HANDSHAKE_HEADER_LEN + u24(a, b, c) != len {
        return None;
    }
    whole_hello(payload).map(|ev| (ev, RECORD_HEADER_LEN + len))
}

/// Whether a ServerHello says TLS 1.3 (or later): every record after it is encrypted.
fn encrypted_after(ev: &TlsEvent) -> bool {
    matches!(ev, TlsEvent::ServerHello(sh) if sh.version >= TLS13 && sh.version >> 8 == 3)
}

impl TlsEvent {
    /// Whether records in clear can still follow this hello in its direction (not so after a
    /// TLS 1.3 ServerHello).
    pub fn clear_records_follow(&self) -> bool {
        !encrypted_after(self)
    }
}

impl TlsReassembler {
    /// `isn`: sequence number of the SYN + 1 when the SYN was seen; else the first data segment
    /// pushed sets the base. `cap`: most stream bytes held (see [`DEFAULT_CAP`]).
    pub fn new(isn: Option<u32>, cap: usize) -> Self {
        TlsReassembler {
            cap,
            stream: SeqStream::new(isn, cap),
            pos: 0,
            rec_left: 0,
            records: 0,
            hs_len: 0,
            pending: 0,
            state: State::Active,
            follow: false,
            events: Vec::new(),
            alerts: 0,
            leaf_read: false,
        }
    }

    /// Reads on after the hello, through the records in clear that follow it in this direction:
    /// the rest of the handshake flight (a TLS 1.2 server's Certificate) and alerts, also alerts
    /// at the stream start (a server refusing the ClientHello). The hello is still returned as
    /// `Done` by the `push` that completes it; what follows is for [`Self::take_events`]; `End`
    /// once a ChangeCipherSpec, an encrypted record, a TLS 1.3 ServerHello or the cap is reached.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }

    /// Follows the flight of a direction whose hello was read elsewhere ([`whole_hello_record`]);
    /// `seq` is the sequence number of the first byte after the hello's record.
    pub fn after_hello(seq: u32, cap: usize) -> Self {
        TlsReassembler { state: State::Flight, records: 1, ..TlsReassembler::new(Some(seq), cap).follow() }
    }

    /// Certificates and alerts read so far and not taken yet, in stream order.
    pub fn take_events(&mut self) -> Vec<TlsEvent> {
        std::mem::take(&mut self.events)
    }

    /// Feeds one TCP segment of this direction, in capture order.
    ///
    /// Overlaps keep the bytes that arrived first, as most receiving stacks do, so a
    /// retransmission carrying different bytes does not rewrite what was already read.
    /// Once finished, input is ignored and the same outcome is returned again.
    pub fn push(&mut self, seq: u32, payload: &[u8]) -> TlsProgress {
        match &self.state {
            State::Active | State::Flight => {}
            State::Done(ev) => return TlsProgress::Done(ev.clone()),
            State::NotTls => return TlsProgress::NotTls,
            State::Malformed(why) => return TlsProgress::Malformed(why),
            State::Ended => return TlsProgress::End,
            State::Spent => return TlsProgress::Malformed("reassembly already finished"),
        }
        if payload.is_empty() {
            return TlsProgress::NeedMore;
        }
        self.stream.anchor(seq);
        // The encrypted records after a hello usually start a segment of their own: they end
        // the flight without being copied.
        if matches!(self.state, State::Flight)
            && self.rec_left == 0
            && self.hs_len == 0
            && self.contiguous_end() <= self.pos
            && self.stream.offset(seq) == Some(self.pos)
            && !matches!(payload[0], CONTENT_HANDSHAKE | CONTENT_ALERT)
        {
            self.end_flight();
            return TlsProgress::End;
        }
        self.stream.insert(seq, payload);
        if self.contiguous_end() == 0 {
            self.pending = self.pending.saturating_add(1);
            if self.pending > MAX_PENDING_SEGMENTS {
                return self.malformed("stream start missing");
            }
            return TlsProgress::NeedMore;
        }
        self.advance()
    }

    /// Best effort at flow end or when giving up, including right after `Malformed`: a
    /// ClientHello cut short is read as far as it goes (`partial = true`) if its server_name
    /// extension is there. `None` when nothing usable is held, or when the event was already
    /// returned by `push`. The reassembler is spent afterwards.
    pub fn finish(&mut self) -> Option<TlsEvent> {
        let resumable = matches!(self.state, State::Active | State::Malformed(_));
        self.state = State::Spent;
        let buf = self.stream.held_mut().take_buf();
        if !resumable {
            return None;
        }
        let hs = buf.get(..self.hs_len)?;
        if hs.first() != Some(&HS_CLIENT_HELLO) {
            return None;
        }
        parse_client_hello(hs).ok().map(TlsEvent::ClientHello)
    }

    pub fn is_finished(&self) -> bool {
        !matches!(self.state, State::Active | State::Flight)
    }

    fn contiguous_end(&self) -> usize {
        self.stream.held().prefix().len()
    }

    fn advance(&mut self) -> TlsProgress {
        let avail = self.contiguous_end();
        let mut hello = None;
        while self.pos < avail && !self.is_finished() {
            if self.rec_left == 0 {
                let hdr = self.stream.held().buf().get(self.pos..avail).unwrap_or_default();
                match self.next_record(hdr) {
                    Step::Incomplete => break,
                    Step::NotTls => return self.not_tls(),
                    Step::Bad(why) => return self.malformed(why),
                    Step::Stop => self.end_flight(),
                    Step::Alert(alert) => {
                        self.records += 1;
                        self.pos += RECORD_HEADER_LEN + 2;
                        if self.alerts < MAX_ALERTS {
                            self.alerts += 1;
                            self.events.push(TlsEvent::Alert(alert));
                        }
                    }
                    Step::Handshake(len) => {
                        self.records += 1;
                        self.pos += RECORD_HEADER_LEN;
                        self.rec_left = len;
                    }
                }
                continue;
            }
            let n = self.rec_left.min(avail - self.pos);
            // hs_len <= pos - 5 * records, so this moves bytes left over consumed headers.
            self.stream.held_mut().buf_mut().copy_within(self.pos..self.pos + n, self.hs_len);
            self.pos += n;
            self.rec_left -= n;
            self.hs_len += n;
            if let Some(out) = self.take_messages(&mut hello) {
                return out;
            }
        }
        if avail >= self.cap {
            // Nothing more can be taken in: the data beyond the cap is dropped on insert.
            match self.state {
                State::Flight => self.end_flight(),
                State::Active => {
                    return self.malformed(match self.stream.held().buf().first() {
                        Some(&HS_SERVER_HELLO) => "server hello exceeds cap",
                        _ => "client hello exceeds cap",
                    })
                }
                _ => {}
            }
        }
        match (hello, &self.state) {
            (Some(ev), _) => TlsProgress::Done(ev),
            (None, State::Ended) => TlsProgress::End,
            _ => TlsProgress::NeedMore,
        }
    }

    fn next_record(&self, h: &[u8]) -> Step {
        let first = self.records == 0;
        let flight = matches!(self.state, State::Flight);
        let Some(&ty) = h.first() else {
            return Step::Incomplete;
        };
        if ty == CONTENT_HANDSHAKE || !self.follow {
            return match record_header(h, first) {
                RecordHeader::Incomplete => Step::Incomplete,
                RecordHeader::Ok(len) => Step::Handshake(len),
                RecordHeader::NotTls => Step::NotTls,
                // After the hello a record that makes no sense ends the reading quietly: the
                // hello was what mattered, and the rest may be a later protocol's.
                RecordHeader::Bad(_) if flight => Step::Stop,
                RecordHeader::Bad(why) => Step::Bad(why),
            };
        }
        if self.hs_len > 0 {
            // Handshake messages may not be interleaved with other records (RFC 8446 5.1).
            return if flight { Step::Stop } else { Step::Bad("non-handshake record inside the handshake message") };
        }
        if ty == CONTENT_ALERT {
            match alert_record(h) {
                None => return Step::Incomplete,
                Some(Some(alert)) => return Step::Alert(alert),
                Some(None) => {}
            }
        }
        if first {
            Step::NotTls
        } else {
            Step::Stop
        }
    }

    /// Reads the complete handshake messages at the front of the handshake buffer; `hello` gets
    /// the hello when following the flight. `Some` when the walk must stop with that outcome.
    fn take_messages(&mut self, hello: &mut Option<TlsEvent>) -> Option<TlsProgress> {
        loop {
            let hs = self.stream.held().buf().get(..self.hs_len)?;
            let ty = *hs.first()?;
            let active = matches!(self.state, State::Active);
            if active && ty != HS_CLIENT_HELLO && ty != HS_SERVER_HELLO {
                return Some(self.not_tls());
            }
            let [_, a, b, c, ..] = *hs else {
                return None;
            };
            let need = HANDSHAKE_HEADER_LEN + u24(a, b, c);
            if active {
                let msg = hs.get(..need)?;
                let parsed = if ty == HS_CLIENT_HELLO {
                    parse_client_hello(msg).map(TlsEvent::ClientHello)
                } else {
                    parse_server_hello(msg).map(TlsEvent::ServerHello)
                };
                match parsed {
                    Err(e) => return Some(self.malformed(e.reason())),
                    Ok(ev) if !self.follow => {
                        self.release();
                        self.state = State::Done(ev.clone());
                        return Some(TlsProgress::Done(ev));
                    }
                    Ok(ev) => {
                        let encrypted = encrypted_after(&ev);
                        *hello = Some(ev);
                        self.state = State::Flight;
                        self.consume_message(need);
                        if encrypted {
                            self.end_flight();
                            return None;
                        }
                    }
                }
                continue;
            }
            if ty == HS_CERTIFICATE && !self.leaf_read {
                match leaf_range(hs) {
                    None => {}
                    Some(range) => {
                        self.leaf_read = true;
                        if let Some(cert) = range.and_then(|r| hs.get(r)).and_then(parse_certificate) {
                            self.events.push(TlsEvent::Certificate(Box::new(cert)));
                        }
                    }
                }
            }
            if self.hs_len < need {
                return None;
            }
            self.consume_message(need);
        }
    }

    /// Drops the first `need` bytes of the handshake buffer: one whole message.
    fn consume_message(&mut self, need: usize) {
        self.stream.held_mut().buf_mut().copy_within(need..self.hs_len, 0);
        self.hs_len -= need;
    }

    fn end_flight(&mut self) {
        self.release();
        self.state = State::Ended;
    }

    fn not_tls(&mut self) -> TlsProgress {
        self.release();
        self.state = State::NotTls;
        TlsProgress::NotTls
    }

    /// Keeps the reassembled handshake prefix for `finish`, drops the rest.
    fn malformed(&mut self, why: &'static str) -> TlsProgress {
        self.stream.held_mut().keep_front(self.hs_len);
        self.state = State::Malformed(why);
        TlsProgress::Malformed(why)
    }

    fn release(&mut self) {
        self.stream.held_mut().release();
    }
}
