//! DNS messages: the question, the CNAME chain and the addresses of the answer section.
//! Records are decoded one by one (hickory-proto's decoder), so a message cut by the snaplen
//! still yields its whole records, and a broken record ends the message without losing the
//! ones before it.

use std::net::IpAddr;

use hickory_proto::op::Query;
use hickory_proto::rr::{RData, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::held::SeqStream;

/// CNAME hops followed before a chain is cut (resolvers stop well before this).
const MAX_CHAIN: usize = 16;
const HEADER_LEN: usize = 12;
/// The smallest possible resource record: root name, type, class, TTL, rdlength.
const MIN_RECORD: usize = 11;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    /// Owner name, lower-case, no trailing dot.
    pub name: String,
    pub rtype: String,
    pub ttl: u32,
    /// A CNAME target, an address, or the record's text form for other types.
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub is_response: bool,
    pub opcode: u8,
    pub rcode: u16,
    pub truncated_flag: bool,
    /// First question, lower-case, no trailing dot.
    pub query: Option<String>,
    pub qtype: Option<String>,
    /// `[query, cname1, cname2, ...]` through the answer section; `[query]` without CNAMEs.
    pub chain: Vec<String>,
    /// A/AAAA data of the answer section, in order, without repeats.
    pub addresses: Vec<IpAddr>,
    /// Smallest TTL of the answer records on the chain.
    pub min_ttl: Option<u32>,
    pub answers: Vec<AnswerRecord>,
    /// False when the message was cut and only its first records could be read.
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("shorter than a DNS header ({0} bytes)")]
    Short(usize),
    #[error("question name cannot be decoded: {0}")]
    BadName(String),
    #[error("no question and no answer could be decoded")]
    Empty,
}

/// Host names print lower-case, without the root dot.
fn name_text(n: &hickory_proto::rr::Name) -> String {
    let mut s = n.to_ascii();
    if s.ends_with('.') {
        s.pop();
    }
    s.make_ascii_lowercase();
    s
}

pub fn parse_message(bytes: &[u8]) -> Result<DnsMessage, DnsError> {
    if bytes.len() < HEADER_LEN {
        return Err(DnsError::Short(bytes.len()));
    }
    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
    let flags = u16::from_be_bytes([bytes[2], bytes[3]]);
    let qdcount = u16::from_be_bytes([bytes[4], bytes[5]]) as usize;
    let ancount = u16::from_be_bytes([bytes[6], bytes[7]]) as usize;
    let mut dec = BinDecoder::new(bytes);
    // Header fields were read above; step over them in the decoder.
    if dec.read_slice(HEADER_LEN).is_err() {
        return Err(DnsError::Short(bytes.len()));
    }
    let q = read_questions(bytes, &mut dec, qdcount)?;
    let mut complete = q.complete;
    let records = if q.located { read_records(bytes, &mut dec, ancount, &mut complete) } else { Vec::new() };
    if q.query.is_none() && records.is_empty() && qdcount + ancount > 0 {
        return Err(DnsError::Empty);
    }
    let answers: Vec<AnswerRecord> = records.iter().map(answer_record).collect();
    // mDNS responses often carry no question: the first answer's owner starts the chain.
    let origin = q.query.clone().or_else(|| answers.first().map(|a| a.name.clone()));
    let (chain, min_ttl) = follow_chain(origin.as_deref(), &answers);
    let mut addresses: Vec<IpAddr> = Vec::new();
    for r in &records {
        let ip = match &r.data {
            RData::A(a) => IpAddr::V4(a.0),
            RData::AAAA(a) => IpAddr::V6(a.0),
            _ => continue,
        };
        if !addresses.contains(&ip) {
            addresses.push(ip);
        }
    }
    // Addresses count toward the TTL only where they hang off the chain's last name.
    let last = chain.last().cloned();
    let addr_ttl = answers
        .iter()
        .filter(|a| (a.rtype == "A" || a.rtype == "AAAA") && Some(&a.name) == last.as_ref())
        .map(|a| a.ttl)
        .min();
    let min_ttl = match (min_ttl, addr_ttl) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(DnsMessage {
        id,
        is_response: flags & flag::RESPONSE != 0,
        opcode: ((flags >> flag::OPCODE_SHIFT) & flag::OPCODE_MASK) as u8,
        rcode: flags & flag::RCODE_MASK,
        truncated_flag: flags & flag::TRUNCATED != 0,
        query: q.query,
        qtype: q.qtype,
        chain,
        addresses,
        min_ttl,
        answers,
        complete,
    })
}

/// Bits of the header's flags word (RFC 1035 4.1.1).
mod flag {
    pub const RESPONSE: u16 = 0x8000;
    pub const OPCODE_SHIFT: u16 = 11;
    pub const OPCODE_MASK: u16 = 0x0f;
    pub const TRUNCATED: u16 = 0x0200;
    pub const RCODE_MASK: u16 = 0x000f;
}

/// What the question section told.
struct Questions {
    /// The first question's name and type.
    query: Option<String>,
    qtype: Option<String>,
    /// Every question was read.
    complete: bool,
    /// The decoder stands at the answer section (a question that could not be stepped over
    /// leaves it lost).
    located: bool,
}

fn read_questions<'b>(bytes: &'b [u8], dec: &mut BinDecoder<'b>, qdcount: usize) -> Result<Questions, DnsError> {
    let mut q = Questions { query: None, qtype: None, complete: true, located: true };
    for i in 0..qdcount {
        let at = dec.index();
        match Query::read(dec) {
            Ok(read) if i == 0 => {
                q.query = Some(name_text(read.name()));
                q.qtype = Some(read.query_type().to_string());
            }
            Ok(_) => {}
            Err(e) if i == 0 => return Err(DnsError::BadName(e.to_string())),
            // A later question hickory refuses (say, a name over 255 bytes) is stepped over by
            // its wire shape, so the answers after it are still found.
            Err(_) => {
                q.complete = false;
                match skip_name(bytes, at).map(|p| p + 4).filter(|&p| p <= bytes.len()) {
                    Some(next) => *dec = decoder_at(bytes, next),
                    None => {
                        q.located = false;
                        break;
                    }
                }
            }
        }
    }
    Ok(q)
}

/// Reads up to `ancount` records; `complete` turns false when one is skipped or missing.
fn read_records<'b>(
    bytes: &'b [u8],
    dec: &mut BinDecoder<'b>,
    ancount: usize,
    complete: &mut bool,
) -> Vec<Record<RData>> {
    let mut records = Vec::new();
    // A count larger than the bytes could hold is a lie: never reserve for it.
    let possible = bytes.len().saturating_sub(dec.index()) / MIN_RECORD;
    records.reserve(ancount.min(possible));
    for _ in 0..ancount {
        if dec.is_empty() {
            *complete = false;
            break;
        }
        let at = dec.index();
        match Record::<RData>::read(dec) {
            Ok(r) => records.push(r),
            Err(_) => {
                *complete = false;
                // Skip a record we cannot decode when its framing is sound; a record cut
                // by the end of the data ends the section.
                match skip_record(bytes, at) {
                    Some(next) => *dec = decoder_at(bytes, next),
                    None => break,
                }
            }
        }
    }
    records
}

fn answer_record(r: &Record<RData>) -> AnswerRecord {
    AnswerRecord {
        name: name_text(&r.name),
        rtype: r.record_type().to_string(),
        ttl: r.ttl,
        data: match &r.data {
            RData::CNAME(c) => name_text(&c.0),
            RData::A(a) => a.0.to_string(),
            RData::AAAA(a) => a.0.to_string(),
            other => rdata_text(other),
        },
    }
}

/// The text form of other record data. hickory's `Display` returns an error for some data it
/// decoded (an OPT record with a cut option, say), and `to_string` panics on that: such data
/// shows as its type alone.
fn rdata_text(data: &RData) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if write!(s, "{data}").is_err() {
        s.clear();
        let _ = write!(s, "({} record data not printable)", data.record_type());
    }
    s
}

/// A decoder positioned at `at` (the whole message stays visible for compression pointers).
fn decoder_at(bytes: &[u8], at: usize) -> BinDecoder<'_> {
    let mut d = BinDecoder::new(bytes);
    let _ = d.read_slice(at.min(bytes.len()));
    d
}

/// The offset just past the (possibly compressed) name at `at`, following no pointers.
fn skip_name(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return (at + 2 <= bytes.len()).then_some(at + 2),
            l if l <= 63 => at += 1 + usize::from(l),
            _ => return None,
        }
    }
}

/// The offset just past the resource record at `at`, from its framing alone.
fn skip_record(bytes: &[u8], at: usize) -> Option<usize> {
    let fixed = skip_name(bytes, at)?;
    let rdlen = usize::from(u16::from_be_bytes([*bytes.get(fixed + 8)?, *bytes.get(fixed + 9)?]));
    let next = fixed + 10 + rdlen;
    (next <= bytes.len()).then_some(next)
}

/// Follows CNAMEs from `origin` through the answers, case-insensitively, guarding loops.
fn follow_chain(origin: Option<&str>, answers: &[AnswerRecord]) -> (Vec<String>, Option<u32>) {
    let Some(origin) = origin else {
        return (Vec::new(), None);
    };
    let mut chain = vec![origin.to_string()];
    let mut ttl: Option<u32> = None;
    while chain.len() <= MAX_CHAIN {
        let cur = chain.last().map(String::as_str).unwrap_or_default();
        let Some(next) = answers.iter().find(|a| a.rtype == "CNAME" && a.name == cur) else {
            break;
        };
        if chain.contains(&next.data) {
            break;
        }
        ttl = Some(ttl.map_or(next.ttl, |t| t.min(next.ttl)));
        chain.push(next.data.clone());
    }
    (chain, ttl)
}

/// RFC 1035 §4.2.2 messages over TCP: a 2-byte length, then the message, several per
/// connection, split across segments anyhow. Held in a [`SeqStream`] under a stricter policy
/// than the TLS and HTTP readers': bytes are taken strictly in order, a gap drops what is held
/// (out-of-order DNS over TCP is rare, and guessing message boundaries across a hole misreads),
/// and reading resumes only at a segment that plausibly starts with a length prefix. Read
/// messages are consumed, so the cap bounds the bytes held, not the connection's length.
#[derive(Debug)]
pub struct DnsTcpReassembler {
    /// Based at the next unread byte: its sequence number is `next_seq()` minus what is held
    /// (None until the first segment when the handshake was not seen).
    stream: SeqStream,
    /// A gap was seen (a segment missing): skip to the next segment that starts a message.
    lost: bool,
}

impl DnsTcpReassembler {
    pub fn new(isn: Option<u32>, cap: usize) -> Self {
        DnsTcpReassembler { stream: SeqStream::new(isn, cap.max(2 + HEADER_LEN)), lost: false }
    }

    /// Adds one segment (in capture order) and appends every message it completes to `out`.
    /// Retransmitted bytes are skipped; a segment after a gap drops what was held.
    pub fn push(&mut self, seq: u32, payload: &[u8], out: &mut Vec<Result<DnsMessage, DnsError>>) {
        if payload.is_empty() {
            return;
        }
        let mut data = payload;
        let mut seq = seq;
        if let Some(next) = self.stream.next_seq() {
            let ahead = seq.wrapping_sub(next) as i32;
            if ahead < 0 {
                // Some or all of it was seen already.
                let seen = (-(ahead as i64)) as usize;
                if seen >= data.len() {
                    return;
                }
                data = &data[seen..];
                seq = next;
            } else if ahead > 0 {
                self.stream.restart(seq);
                self.lost = true;
            }
        }
        let after = seq.wrapping_add(data.len() as u32);
        if self.lost {
            // Resynchronise only on a segment that plausibly begins with a length prefix.
            if data.len() >= 2 + HEADER_LEN && usize::from(u16::from_be_bytes([data[0], data[1]])) >= HEADER_LEN {
                self.lost = false;
            } else {
                return self.stream.restart(after);
            }
        }
        let held = self.stream.held();
        if held.prefix().len() + data.len() > held.cap() {
            self.lost = true;
            return self.stream.restart(after);
        }
        self.stream.insert(seq, data);
        let buf = self.stream.held().prefix();
        let mut at = 0;
        while buf.len() - at >= 2 {
            let len = usize::from(u16::from_be_bytes([buf[at], buf[at + 1]]));
            if buf.len() - at - 2 < len {
                break;
            }
            out.push(parse_message(&buf[at + 2..at + 2 + len]));
            at += 2 + len;
        }
        self.stream.consume(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a name as plain labels.
    fn name(n: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for l in n.split('.').filter(|l| !l.is_empty()) {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
        out
    }

    fn rr(owner: &str, rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
        let mut r = name(owner);
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&1u16.to_be_bytes());
        r.extend_from_slice(&ttl.to_be_bytes());
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(rdata);
        r
    }

    fn message(id: u16, flags: u16, q: &str, qtype: u16, answers: &[Vec<u8>]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&name(q));
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        for a in answers {
            m.extend_from_slice(a);
        }
        m
    }

    fn acr_chain() -> Vec<u8> {
        message(
            0x78b0,
            0x8180,
            "FabrikamReg.azurecr.io",
            1,
            &[
                rr("fabrikamreg.azurecr.io", 5, 60, &name("jpe-2-az.fe.azcr.io")),
                rr("JPE-2-AZ.fe.azcr.io", 5, 30, &name("jpe-2-acr-az-reg.trafficmanager.net")),
                rr("jpe-2-acr-az-reg.trafficmanager.net", 5, 60, &name("r0223jpe-2-az.japaneast.cloudapp.azure.com")),
                rr("r0223jpe-2-az.japaneast.cloudapp.azure.com", 1, 45, &[40, 79, 197, 136]),
            ],
        )
    }

    #[test]
    fn three_hop_chain_with_mixed_case() {
        let m = parse_message(&acr_chain()).unwrap();
        assert!(m.is_response && m.complete);
        assert_eq!(m.id, 0x78b0);
        assert_eq!(m.query.as_deref(), Some("fabrikamreg.azurecr.io"));
        assert_eq!(m.qtype.as_deref(), Some("A"));
        assert_eq!(
            m.chain,
            [
                "fabrikamreg.azurecr.io",
                "jpe-2-az.fe.azcr.io",
                "jpe-2-acr-az-reg.trafficmanager.net",
                "r0223jpe-2-az.japaneast.cloudapp.azure.com"
            ]
        );
        assert_eq!(m.addresses, vec!["40.79.197.136".parse::<IpAddr>().unwrap()]);
        assert_eq!(m.min_ttl, Some(30));
        assert_eq!(m.answers.len(), 4);
    }

    #[test]
    fn aaaa_answer_and_out_of_order_cnames() {
        let m = parse_message(&message(
            1,
            0x8180,
            "a.example",
            28,
            &[
                rr("c.example", 28, 10, &"2001:db8::7".parse::<std::net::Ipv6Addr>().unwrap().octets()),
                rr("b.example", 5, 10, &name("c.example")),
                rr("a.example", 5, 10, &name("b.example")),
            ],
        ))
        .unwrap();
        assert_eq!(m.chain, ["a.example", "b.example", "c.example"]);
        assert_eq!(m.addresses, vec!["2001:db8::7".parse::<IpAddr>().unwrap()]);
        assert_eq!(m.qtype.as_deref(), Some("AAAA"));
    }

    #[test]
    fn cname_loop_ends_the_chain() {
        let m = parse_message(&message(
            1,
            0x8180,
            "a.example",
            1,
            &[rr("a.example", 5, 10, &name("b.example")), rr("b.example", 5, 10, &name("a.example"))],
        ))
        .unwrap();
        assert_eq!(m.chain, ["a.example", "b.example"]);
        assert!(m.addresses.is_empty());
    }

    #[test]
    fn cut_in_the_third_record_keeps_the_first_two() {
        let full = acr_chain();
        let cut = &full[..full.len() - 8];
        let m = parse_message(cut).unwrap();
        assert!(!m.complete);
        assert_eq!(m.answers.len(), 3);
        assert_eq!(m.chain.len(), 4);
        assert!(m.addresses.is_empty());
    }

    #[test]
    fn compression_pointer_loop_is_an_error() {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]); // name points at itself
        assert!(matches!(parse_message(&m), Err(DnsError::BadName(_))));
    }

    #[test]
    fn label_over_63_bytes_is_an_error() {
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 64];
        m.extend_from_slice(&[b'a'; 64]);
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(matches!(parse_message(&m), Err(DnsError::BadName(_))));
    }

    #[test]
    fn record_data_hickory_cannot_print_does_not_panic() {
        // Found by the `dns` fuzz target: an OPT record in the answer section whose option is
        // cut (hickory decodes it, then its Display fails and `to_string` panicked).
        let m = [
            0x01, 0x00, 0x0d, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0x02, 0x01, 0x1e, 0x00, 0x00, 0x29, 0xff, 0xff, 0xff,
            0xff, 0xff, 0x00, 0x00, 0x02, 0x03, 0x6c,
        ];
        let r = parse_message(&m).unwrap();
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].rtype, "OPT");
        assert_eq!(r.answers[0].data, "(OPT record data not printable)");
        assert!(!r.complete);
    }

    #[test]
    fn nxdomain_and_query() {
        let m = parse_message(&message(9, 0x8183, "nope.example", 1, &[])).unwrap();
        assert_eq!(m.rcode, 3);
        assert!(m.addresses.is_empty());
        assert_eq!(m.chain, ["nope.example"]);
        let q = parse_message(&message(9, 0x0100, "x.example", 1, &[])).unwrap();
        assert!(!q.is_response);
    }

    #[test]
    fn huge_answer_count_allocates_nothing_for_it() {
        let mut m = message(1, 0x8180, "a.example", 1, &[rr("a.example", 1, 5, &[1, 2, 3, 4])]);
        m[6] = 0xff;
        m[7] = 0xff;
        let r = parse_message(&m).unwrap();
        assert!(!r.complete);
        assert_eq!(r.addresses, vec!["1.2.3.4".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn undecodable_second_question_and_record_are_stepped_over() {
        // Two questions, the second with a name over 255 bytes; then an answer hickory
        // refuses (an A record with 5 bytes of data) before a good one.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 2, 0, 2, 0, 0, 0, 0];
        m.extend(name("www.xt.com"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        for _ in 0..5 {
            m.push(63);
            m.extend_from_slice(&[b'x'; 63]);
        }
        m.push(0);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend(rr("www.xt.com", 1, 0, &[1, 2, 3, 4, 5]));
        m.extend(rr("www.xt.com", 1, 0, &[66, 66, 66, 66]));
        let r = parse_message(&m).unwrap();
        assert_eq!(r.query.as_deref(), Some("www.xt.com"));
        assert_eq!(r.addresses, vec!["66.66.66.66".parse::<IpAddr>().unwrap()]);
        assert!(!r.complete);
    }

    #[test]
    fn response_without_question_has_no_query_but_a_chain() {
        let mut m = vec![0, 0, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend(rr("printer.local", 1, 120, &[169, 254, 1, 2]));
        let r = parse_message(&m).unwrap();
        assert_eq!(r.query, None);
        assert_eq!(r.chain, ["printer.local"]);
        assert_eq!(r.addresses, vec!["169.254.1.2".parse::<IpAddr>().unwrap()]);
    }

    fn framed(m: &[u8]) -> Vec<u8> {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(m);
        v
    }

    #[test]
    fn tcp_two_messages_in_one_segment() {
        let mut seg = framed(&acr_chain());
        seg.extend(framed(&message(2, 0x8180, "b.example", 1, &[rr("b.example", 1, 5, &[5, 6, 7, 8])])));
        let mut r = DnsTcpReassembler::new(Some(1000), 65_538);
        let mut out = Vec::new();
        r.push(1000, &seg, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].as_ref().unwrap().query.as_deref(), Some("b.example"));
    }

    #[test]
    fn tcp_split_over_three_segments_with_a_retransmission_and_split_prefix() {
        let all = framed(&acr_chain());
        let mut r = DnsTcpReassembler::new(Some(0), 65_538);
        let mut out = Vec::new();
        r.push(0, &all[..1], &mut out); // half the length prefix
        r.push(1, &all[1..40], &mut out);
        r.push(1, &all[1..40], &mut out); // retransmitted
        assert!(out.is_empty());
        r.push(40, &all[40..], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ref().unwrap().addresses.len(), 1);
    }

    #[test]
    fn tcp_without_isn_starts_at_the_first_segment() {
        let all = framed(&acr_chain());
        let mut r = DnsTcpReassembler::new(None, 65_538);
        let mut out = Vec::new();
        r.push(777, &all[..10], &mut out);
        r.push(787, &all[10..], &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn tcp_gap_drops_what_was_held_and_resyncs_on_a_length_prefix() {
        let a = framed(&acr_chain());
        assert!(a.len() > 20);
        let b = framed(&message(2, 0x8180, "b.example", 1, &[rr("b.example", 1, 5, &[5, 6, 7, 8])]));
        let mut r = DnsTcpReassembler::new(Some(0), 65_538);
        let mut out = Vec::new();
        r.push(0, &a[..20], &mut out);
        // Bytes 20..30 never arrive; what follows the hole does not start with a length prefix
        // (it is no message's start) and is skipped.
        r.push(30, &[0; 16], &mut out);
        assert!(out.is_empty());
        r.push(46, &b, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].as_ref().unwrap().query.as_deref(), Some("b.example"));
    }

    #[test]
    fn tcp_messages_read_are_consumed_so_a_connection_outgrows_the_cap() {
        let a = framed(&acr_chain());
        let mut r = DnsTcpReassembler::new(Some(0), a.len());
        let mut out = Vec::new();
        for i in 0..5u32 {
            r.push(i * a.len() as u32, &a, &mut out);
        }
        assert_eq!(out.len(), 5);
    }
}
