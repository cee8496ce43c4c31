use super::hello::{is_grease, sni_from_ext};
use super::*;

const MSS: usize = 1448;
const X25519MLKEM768: u16 = 0x11ec;
const X25519: u16 = 0x001d;
const SNI: &str = "registry-1.docker.io";

fn len16(data: &[u8]) -> Vec<u8> {
    let mut v = u16::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(data);
    v
}

fn len8(data: &[u8]) -> Vec<u8> {
    let mut v = vec![u8::try_from(data.len()).unwrap()];
    v.extend_from_slice(data);
    v
}

fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
    let mut v = ty.to_be_bytes().to_vec();
    v.extend(len16(data));
    v
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let n = u32::try_from(body.len()).unwrap().to_be_bytes();
    let mut v = vec![ty, n[1], n[2], n[3]];
    v.extend_from_slice(body);
    v
}

fn sni_ext(name: &[u8]) -> Vec<u8> {
    let mut entry = vec![SNI_HOST_NAME];
    entry.extend(len16(name));
    ext(EXT_SERVER_NAME, &len16(&entry))
}

/// A TLS 1.3 ClientHello in Go's extension order: server_name first, key_share late.
fn client_hello(sni: Option<&[u8]>, alpn: &[&str], versions: &[u16], key_shares: &[(u16, usize)]) -> Vec<u8> {
    let mut exts = Vec::new();
    if let Some(name) = sni {
        exts.extend(sni_ext(name));
    }
    exts.extend(ext(5, &[1, 0, 0, 0, 0]));
    let groups: Vec<u8> = [X25519MLKEM768, X25519, 0x0017].iter().flat_map(|g| g.to_be_bytes()).collect();
    exts.extend(ext(10, &len16(&groups)));
    exts.extend(ext(11, &[1, 0]));
    let sigs: Vec<u8> = [0x0804u16, 0x0403, 0x0805].iter().flat_map(|s| s.to_be_bytes()).collect();
    exts.extend(ext(13, &len16(&sigs)));
    if !alpn.is_empty() {
        let list: Vec<u8> = alpn.iter().flat_map(|p| len8(p.as_bytes())).collect();
        exts.extend(ext(EXT_ALPN, &len16(&list)));
    }
    if !versions.is_empty() {
        let list: Vec<u8> = versions.iter().flat_map(|v| v.to_be_bytes()).collect();
        exts.extend(ext(EXT_SUPPORTED_VERSIONS, &len8(&list)));
    }
    if !key_shares.is_empty() {
        let mut shares = Vec::new();
        for &(group, size) in key_shares {
            shares.extend(group.to_be_bytes());
            let key: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            shares.extend(len16(&key));
        }
        exts.extend(ext(51, &len16(&shares)));
    }
    exts.extend(ext(45, &[1, 1]));
    let mut body = vec![0x03, 0x03];
    body.extend([0x11; 32]);
    body.extend(len8(&[0x22; 32]));
    let suites: Vec<u8> = [0x1301u16, 0x1302, 0x1303, 0xc02b].iter().flat_map(|s| s.to_be_bytes()).collect();
    body.extend(len16(&suites));
    body.extend(len8(&[0]));
    body.extend(len16(&exts));
    handshake(HS_CLIENT_HELLO, &body)
}

/// What Go 1.24 sends by default: X25519MLKEM768 plus X25519 shares, ~1.5 KB.
fn pq_hello() -> Vec<u8> {
    client_hello(Some(SNI.as_bytes()), &["h2", "http/1.1"], &[0x0304, 0x0303], &[(X25519MLKEM768, 1216), (X25519, 32)])
}

fn server_hello(selected: Option<u16>) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend([0x33; 32]);
    body.extend(len8(&[0x22; 32]));
    body.extend(0x1301u16.to_be_bytes());
    body.push(0);
    let mut exts = Vec::new();
    if let Some(v) = selected {
        exts.extend(ext(EXT_SUPPORTED_VERSIONS, &v.to_be_bytes()));
    }
    let mut share = X25519.to_be_bytes().to_vec();
    share.extend(len16(&[0x44; 32]));
    exts.extend(ext(51, &share));
    body.extend(len16(&exts));
    handshake(HS_SERVER_HELLO, &body)
}

/// Wraps a handshake message in records of at most `frag` bytes each.
fn records(hs: &[u8], frag: usize) -> Vec<u8> {
    hs.chunks(frag)
        .flat_map(|c| {
            let mut r = vec![CONTENT_HANDSHAKE, 3, 1];
            r.extend(len16(c));
            r
        })
        .collect()
}

/// (stream offset, bytes) of each segment.
fn segments(stream: &[u8], mss: usize) -> Vec<(usize, Vec<u8>)> {
    stream.chunks(mss).enumerate().map(|(i, c)| (i * mss, c.to_vec())).collect()
}

fn seq(base: u32, off: usize) -> u32 {
    base.wrapping_add(u32::try_from(off).unwrap())
}

fn expect_client_hello(p: TlsProgress) -> ClientHelloInfo {
    match p {
        TlsProgress::Done(TlsEvent::ClientHello(ch)) => ch,
        other => panic!("expected a ClientHello, got {other:?}"),
    }
}

fn full_pq_info() -> ClientHelloInfo {
    ClientHelloInfo {
        sni: Some(SNI.to_owned()),
        alpn: vec!["h2".to_owned(), "http/1.1".to_owned()],
        legacy_version: 0x0303,
        supported_versions: vec![0x0304, 0x0303],
        partial: false,
    }
}

/// Offset just past the server_name extension in a handshake message from `client_hello`.
fn sni_ext_end(name_len: usize) -> usize {
    4 + 2 + 32 + 1 + 32 + 2 + 8 + 2 + 2 + 4 + 2 + 1 + 2 + name_len
}

#[test]
fn parses_complete_client_hello() {
    let hs = pq_hello();
    assert!(hs.len() > 1400 && hs.len() < 1600, "len {}", hs.len());
    assert_eq!(parse_client_hello(&hs), Ok(full_pq_info()));
}

#[test]
fn alpn_h2_and_http11() {
    let hs = client_hello(Some(b"a.example"), &["h2", "http/1.1"], &[], &[]);
    let ch = parse_client_hello(&hs).unwrap();
    assert_eq!(ch.alpn, vec!["h2", "http/1.1"]);
    assert!(ch.supported_versions.is_empty());
}

#[test]
fn grease_stripped_from_versions() {
    let hs = client_hello(Some(b"a.example"), &[], &[0x2a2a, 0x0304, 0xfafa, 0x0303, 0x0a0a], &[]);
    let ch = parse_client_hello(&hs).unwrap();
    assert_eq!(ch.supported_versions, vec![0x0304, 0x0303]);
    assert!(ch.alpn.is_empty());
    assert!(!is_grease(0x0304) && !is_grease(0x0a1a) && is_grease(0x3a3a));
}

#[test]
fn sni_names_cleaned_or_rejected() {
    let sni = |name: &[u8]| {
        let hs = client_hello(Some(name), &[], &[], &[]);
        parse_client_hello(&hs).unwrap().sni
    };
    assert_eq!(sni(b"Registry.Example.COM."), Some("Registry.Example.COM".into()));
    assert_eq!(sni(b"192.0.2.7"), Some("192.0.2.7".into()));
    assert_eq!(sni(b""), None);
    assert_eq!(sni(b"."), None);
    assert_eq!(sni(b"bad\xff\xfe.example"), None);
    assert_eq!(sni(b"evil\x1b[2J.example"), None);
    let hs = client_hello(None, &[], &[], &[]);
    assert_eq!(parse_client_hello(&hs).unwrap().sni, None);
}

#[test]
fn first_host_name_entry_wins_and_other_types_skipped() {
    let mut list = vec![7];
    list.extend(len16(b"not-a-host-name"));
    list.push(SNI_HOST_NAME);
    list.extend(len16(b"first.example"));
    list.push(SNI_HOST_NAME);
    list.extend(len16(b"second.example"));
    let ext_data = len16(&list);
    assert_eq!(sni_from_ext(&ext_data), Some("first.example".into()));
}

#[test]
fn truncated_hello_partial_only_once_sni_fits() {
    let hs = pq_hello();
    let sni_end = sni_ext_end(SNI.len());
    assert_eq!(&hs[sni_end - SNI.len()..sni_end], SNI.as_bytes());
    for cut in 0..hs.len() {
        let got = parse_client_hello(&hs[..cut]);
        if cut < sni_end {
            assert_eq!(got, Err(TlsError::Truncated), "cut {cut}");
        } else {
            let ch = got.unwrap();
            assert_eq!(ch.sni.as_deref(), Some(SNI), "cut {cut}");
            assert!(ch.partial);
        }
    }
}

#[test]
fn wrong_type_and_garbage_rejected() {
    let mut hs = pq_hello();
    hs[0] = 11;
    assert_eq!(parse_client_hello(&hs), Err(TlsError::WrongType(11)));
    assert_eq!(parse_server_hello(&pq_hello()), Err(TlsError::WrongType(1)));
    assert_eq!(parse_client_hello(&[1, 0]), Err(TlsError::Truncated));
    // Extensions block longer than the message: complete but inconsistent. Without an SNI
    // that is an error; with one, the SNI is still read (as tshark does), marked partial.
    let ext_len_at = 4 + 2 + 32 + 33 + 10 + 2;
    let mut hs = client_hello(None, &["h2"], &[], &[]);
    hs[ext_len_at] = 0xff;
    assert!(matches!(parse_client_hello(&hs), Err(TlsError::Malformed(_))));
    let mut hs = client_hello(Some(b"a.example"), &[], &[], &[]);
    hs[ext_len_at] = 0xff;
    let ch = parse_client_hello(&hs).unwrap();
    assert_eq!((ch.sni.as_deref(), ch.partial), (Some("a.example"), true));
}

#[test]
fn server_hello_version() {
    let sh = parse_server_hello(&server_hello(Some(0x0304))).unwrap();
    assert_eq!(sh.version, 0x0304);
    let sh = parse_server_hello(&server_hello(None)).unwrap();
    assert_eq!(sh.version, 0x0303);
    let full = server_hello(Some(0x0304));
    assert_eq!(parse_server_hello(&full[..40]), Err(TlsError::Truncated));
}

#[test]
fn reassembler_server_hello() {
    let stream = records(&server_hello(Some(0x0304)), 16384);
    let mut r = TlsReassembler::new(Some(5000), DEFAULT_CAP);
    assert_eq!(r.push(5000, &stream), TlsProgress::Done(TlsEvent::ServerHello(ServerHelloInfo { version: 0x0304 })));
    assert!(r.is_finished());
    assert_eq!(r.finish(), None);
}

#[test]
fn single_segment() {
    let stream = records(&pq_hello(), 16384);
    let mut r = TlsReassembler::new(None, DEFAULT_CAP);
    assert!(!r.is_finished());
    assert_eq!(expect_client_hello(r.push(77, &stream)), full_pq_info());
    assert!(r.is_finished());
    // Input after the outcome is ignored; the outcome is repeated, the buffer is gone.
    assert_eq!(expect_client_hello(r.push(77, &stream)), full_pq_info());
    assert!(r.stream.held().buf().is_empty());
    assert_eq!(r.finish(), None);
}

#[test]
fn pq_hello_over_two_segments() {
    let stream = records(&pq_hello(), 16384);
    let segs = segments(&stream, MSS);
    assert_eq!(segs.len(), 2);
    let isn = 1_000_000;
    let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP);
    assert_eq!(r.push(seq(isn, segs[0].0), &segs[0].1), TlsProgress::NeedMore);
    assert!(!r.is_finished());
    let ch = expect_client_hello(r.push(seq(isn, segs[1].0), &segs[1].1));
    assert_eq!(ch, full_pq_info());
}

#[test]
fn three_segments_out_of_order_with_retransmission() {
    let stream = records(&pq_hello(), 16384);
    let segs = segments(&stream, 600);
    assert_eq!(segs.len(), 3);
    let isn = 42;
    let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP);
    for i in [2, 0, 0] {
        assert_eq!(r.push(seq(isn, segs[i].0), &segs[i].1), TlsProgress::NeedMore);
    }
    let ch = expect_client_hello(r.push(seq(isn, segs[1].0), &segs[1].1));
    assert_eq!(ch, full_pq_info());
}

#[test]
fn without_isn_a_later_segment_first_is_taken_as_start() {
    let stream = records(&pq_hello(), 16384);
    let segs = segments(&stream, 600);
    let mut r = TlsReassembler::new(None, DEFAULT_CAP);
    assert_eq!(r.push(seq(9, segs[2].0), &segs[2].1), TlsProgress::NotTls);
    assert!(r.is_finished());
}

#[test]
fn segment_before_base_is_clipped() {
    let stream = records(&pq_hello(), 16384);
    let isn = 10;
    // Base from the first segment seen; then a segment starting 100 bytes earlier whose
    // tail overlaps it.
    let mut r = TlsReassembler::new(None, DEFAULT_CAP);
    assert_eq!(r.push(isn, &stream[..700]), TlsProgress::NeedMore);
    let mut early = vec![0xee; 100];
    early.extend_from_slice(&stream[..900]);
    assert_eq!(r.push(isn.wrapping_sub(100), &early), TlsProgress::NeedMore);
    assert_eq!(r.push(seq(isn, 20_000), &[1, 2, 3]), TlsProgress::NeedMore);
    assert_eq!(r.push(isn.wrapping_sub(5000), &[1, 2, 3]), TlsProgress::NeedMore);
    assert_eq!(r.stream.held().ranges(), [(0, 900), (20_000, 20_003)]);
    let ch = expect_client_hello(r.push(seq(isn, 900), &stream[900..]));
    assert_eq!(ch, full_pq_info());
}

#[test]
fn handshake_split_across_records() {
    let hs = pq_hello();
    // Split mid-body, inside the 4-byte handshake header, and into many small records.
    for frag in [hs.len() / 2 + 1, 3, 2, 100] {
        let stream = records(&hs, frag);
        let mut r = TlsReassembler::new(None, DEFAULT_CAP);
        let mut last = TlsProgress::NeedMore;
        for (off, seg) in segments(&stream, MSS) {
            last = r.push(seq(7, off), &seg);
        }
        assert_eq!(expect_client_hello(last), full_pq_info(), "frag {frag}");
    }
}

#[test]
fn byte_by_byte() {
    let stream = records(&pq_hello(), 700);
    let mut r = TlsReassembler::new(Some(0), DEFAULT_CAP);
    for (off, seg) in segments(&stream, 1) {
        let p = r.push(seq(0, off), &seg);
        if off + 1 < stream.len() {
            assert_eq!(p, TlsProgress::NeedMore, "off {off}");
        } else {
            assert_eq!(expect_client_hello(p), full_pq_info());
        }
    }
}

#[test]
fn second_segment_missing_finish_gives_partial_sni() {
    let stream = records(&pq_hello(), 16384);
    let segs = segments(&stream, MSS);
    let isn = 3_000_000_000;
    let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP);
    assert_eq!(r.push(isn, &segs[0].1), TlsProgress::NeedMore);
    // The key share is cut, but everything before it (SNI, ALPN, versions) was read.
    let expected = ClientHelloInfo { partial: true, ..full_pq_info() };
    assert_eq!(r.finish(), Some(TlsEvent::ClientHello(expected)));
    assert!(r.is_finished());
    assert_eq!(r.finish(), None);
    assert!(matches!(r.push(isn, &segs[0].1), TlsProgress::Malformed(_)));
}

#[test]
fn finish_without_sni_gives_nothing() {
    let stream = records(&pq_hello(), 16384);
    let mut r = TlsReassembler::new(None, DEFAULT_CAP);
    assert_eq!(r.push(1, &stream[..60]), TlsProgress::NeedMore);
    assert_eq!(r.finish(), None);
}

/// Choice: the first copy of a byte wins, as in most stacks (Linux, Windows), so what the
/// server most likely read is what is reported.
#[test]
fn overlapping_retransmission_keeps_first_copy() {
    let stream = records(&pq_hello(), 16384);
    let name_at = 5 + sni_ext_end(SNI.len()) - SNI.len();
    let mut forged = stream.clone();
    forged[name_at..name_at + 8].copy_from_slice(b"attacker");

    let isn = 500;
    let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP);
    assert_eq!(r.push(isn, &stream[..name_at + 10]), TlsProgress::NeedMore);
    // Overlaps the name with different bytes, and brings new bytes beyond.
    let from = name_at - 20;
    assert_eq!(r.push(seq(isn, from), &forged[from..1000]), TlsProgress::NeedMore);
    let ch = expect_client_hello(r.push(seq(isn, 1000), &forged[1000..]));
    assert_eq!(ch.sni.as_deref(), Some(SNI));

    // The other way round the first (forged) copy stays too.
    let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP);
    assert_eq!(r.push(isn, &forged[..name_at + 10]), TlsProgress::NeedMore);
    let ch = expect_client_hello(r.push(isn, &stream));
    assert_eq!(ch.sni.as_deref(), Some("attacker-1.docker.io"));
}

#[test]
fn sequence_wrap_around() {
    let stream = records(&pq_hello(), 16384);
    let isn = u32::MAX - 699;
    let segs = segments(&stream, 400);
    assert_eq!(segs.len(), 4);
    assert!(seq(isn, segs[2].0) < isn, "the hello must straddle 2^32");
    let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP);
    let mut last = TlsProgress::NeedMore;
    for &i in &[1, 0, 3, 2] {
        last = r.push(seq(isn, segs[i].0), &segs[i].1);
    }
    assert_eq!(expect_client_hello(last), full_pq_info());
}

#[test]
fn isn_zero_and_syn_at_top_of_sequence_space() {
    let stream = records(&pq_hello(), 16384);
    // SYN seq 0 gives base 1; SYN seq u32::MAX gives base 0.
    for isn in [1, 0] {
        let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP);
        let segs = segments(&stream, MSS);
        assert_eq!(r.push(seq(isn, segs[1].0), &segs[1].1), TlsProgress::NeedMore);
        let ch = expect_client_hello(r.push(isn, &segs[0].1));
        assert_eq!(ch, full_pq_info(), "isn {isn}");
    }
}

#[test]
fn http_is_not_tls() {
    let mut r = TlsReassembler::new(None, DEFAULT_CAP);
    assert_eq!(r.push(1, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), TlsProgress::NotTls);
    assert!(r.is_finished());
    assert_eq!(r.push(30, b"more"), TlsProgress::NotTls);
    assert_eq!(r.finish(), None);
}

#[test]
fn record_header_checks_at_stream_start() {
    let not_tls = |bytes: &[u8]| TlsReassembler::new(None, DEFAULT_CAP).push(0, bytes);
    assert_eq!(not_tls(&[0x16]), TlsProgress::NeedMore);
    assert_eq!(not_tls(&[0x16, 3, 1, 0]), TlsProgress::NeedMore);
    assert_eq!(not_tls(&[0x17, 3, 3, 0, 10]), TlsProgress::NotTls);
    assert_eq!(not_tls(&[0x16, 2, 0]), TlsProgress::NotTls);
    assert_eq!(not_tls(&[0x16, 3, 5]), TlsProgress::NotTls);
    assert_eq!(not_tls(&[0x16, 3, 3, 0x48, 0x01]), TlsProgress::NotTls);
    assert_eq!(not_tls(&[0x16, 3, 3, 0, 0]), TlsProgress::NotTls);
    // A handshake, but not a hello: a Certificate first is no stream start we know.
    assert_eq!(not_tls(&[0x16, 3, 3, 0, 4, 11, 0, 0, 0]), TlsProgress::NotTls);
    // Any port, any minor version up to 4; SSL 3.0 record is fine.
    assert_eq!(not_tls(&[0x16, 3, 0, 0x48, 0x00, 1]), TlsProgress::NeedMore);
}

#[test]
fn non_handshake_record_inside_hello_is_malformed() {
    let hs = pq_hello();
    let mut stream = records(&hs[..200], 200);
    stream.extend([21, 3, 3, 0, 2, 2, 40]);
    let mut r = TlsReassembler::new(None, DEFAULT_CAP);
    assert!(matches!(r.push(1, &stream), TlsProgress::Malformed(_)));
    // The SNI was in the first record, so finish still has it.
    let Some(TlsEvent::ClientHello(ch)) = r.finish() else {
        panic!("no partial hello");
    };
    assert_eq!((ch.sni.as_deref(), ch.partial), (Some(SNI), true));
}

#[test]
fn hello_claiming_16_mb_is_malformed() {
    let mut hs = vec![HS_CLIENT_HELLO, 0xff, 0xff, 0xff];
    hs.resize(200_000, 0);
    let stream = records(&hs, 16384);
    let mut r = TlsReassembler::new(Some(0), DEFAULT_CAP);
    let mut out = TlsProgress::NeedMore;
    let mut fed = 0;
    for (off, seg) in segments(&stream, MSS) {
        out = r.push(seq(0, off), &seg);
        fed = off + seg.len();
        if r.is_finished() {
            break;
        }
    }
    assert_eq!(out, TlsProgress::Malformed("client hello exceeds cap"));
    assert!((DEFAULT_CAP..DEFAULT_CAP + MSS).contains(&fed), "fed {fed}");
    assert!(r.stream.held().buf().len() <= DEFAULT_CAP);
    // Nothing readable in a hello of zeros.
    assert_eq!(r.finish(), None);
}

#[test]
fn oversized_hello_still_yields_sni_through_finish() {
    let mut hs = pq_hello();
    hs[1..4].copy_from_slice(&[0xff, 0xff, 0xff]);
    hs.resize(100_000, 0);
    let stream = records(&hs, 16384);
    let mut r = TlsReassembler::new(None, DEFAULT_CAP);
    let out = r.push(8, &stream);
    assert_eq!(out, TlsProgress::Malformed("client hello exceeds cap"));
    let expected = ClientHelloInfo { partial: true, ..full_pq_info() };
    assert_eq!(r.finish(), Some(TlsEvent::ClientHello(expected)));
}

#[test]
fn small_cap_gives_up_with_partial() {
    let stream = records(&pq_hello(), 16384);
    let mut r = TlsReassembler::new(None, 1000);
    assert_eq!(r.push(0, &stream), TlsProgress::Malformed("client hello exceeds cap"));
    let Some(TlsEvent::ClientHello(ch)) = r.finish() else {
        panic!("no partial hello");
    };
    assert_eq!((ch.sni.as_deref(), ch.partial), (Some(SNI), true));
}

#[test]
fn stream_start_missing_gives_up() {
    let stream = records(&pq_hello(), 16384);
    let mut r = TlsReassembler::new(Some(100), DEFAULT_CAP);
    for i in 0..MAX_PENDING_SEGMENTS {
        assert_eq!(r.push(seq(100, 10 + i as usize), &stream[10..11]), TlsProgress::NeedMore);
        assert_eq!(r.push(seq(100, 10), &[]), TlsProgress::NeedMore);
    }
    assert_eq!(r.push(seq(100, 50), &stream[50..60]), TlsProgress::Malformed("stream start missing"));
    assert_eq!(r.finish(), None);
}

#[test]
fn range_list_is_bounded() {
    let mut r = TlsReassembler::new(Some(0), DEFAULT_CAP);
    for i in 0..1000 {
        r.push(2 * i + 1, &[0]);
        assert!(r.stream.held().ranges().len() <= crate::dissect::held::MAX_RANGES);
    }
    // Far beyond the cap, or just at it: ignored.
    r.push(u32::try_from(DEFAULT_CAP).unwrap(), &[1; 10]);
    r.push(1 << 30, &[1; 10]);
    assert!(r.stream.held().buf().len() <= DEFAULT_CAP);
}

/// Deterministic xorshift: no dev-dependency needed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_segmentation_order_and_corruption_never_panic() {
    let clean = records(&pq_hello(), 500);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut done_clean = 0;
    for round in 0..2000 {
        let mut stream = clean.clone();
        let corrupt = round % 2 == 1;
        if corrupt {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(stream.len());
                stream[at] = rng.next() as u8;
            }
        }
        let mut segs: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut off = 0;
        while off < stream.len() {
            let n = 1 + rng.below(900);
            let end = (off + n).min(stream.len());
            segs.push((off, stream[off..end].to_vec()));
            // Sometimes an overlapping resend from a bit earlier.
            if rng.below(4) == 0 && off > 0 {
                let from = off - rng.below(off.min(300));
                segs.push((from, stream[from..end].to_vec()));
            }
            off = end;
        }
        for i in (1..segs.len()).rev() {
            if rng.below(3) == 0 {
                segs.swap(i, rng.below(i + 1));
            }
        }
        let isn = rng.next() as u32;
        let known = rng.below(2) == 0;
        let cap = [DEFAULT_CAP, 700, 1600][rng.below(3)];
        let mut r = TlsReassembler::new(known.then_some(isn), cap);
        let mut out = TlsProgress::NeedMore;
        for (o, s) in &segs {
            if rng.below(20) == 0 {
                continue; // lost
            }
            out = r.push(seq(isn, *o), s);
            assert!(r.stream.held().buf().len() <= cap);
            if r.is_finished() {
                break;
            }
        }
        let fin = r.finish();
        if !corrupt && known && cap == DEFAULT_CAP {
            if let TlsProgress::Done(TlsEvent::ClientHello(ch)) = &out {
                assert_eq!(ch, &full_pq_info());
                done_clean += 1;
            }
            if let Some(TlsEvent::ClientHello(ch)) = fin {
                assert_eq!(ch.sni.as_deref(), Some(SNI));
                assert!(ch.partial);
            }
        }
    }
    assert!(done_clean > 100, "only {done_clean} clean rounds completed");
}

#[test]
fn offered_version_is_the_highest_supported_else_the_legacy_one() {
    let ch = full_pq_info();
    assert_eq!((ch.offered_versions(), ch.offered_version()), (&[0x0304, 0x0303][..], 0x0304));
    let old = ClientHelloInfo { supported_versions: Vec::new(), legacy_version: 0x0302, ..ch };
    assert_eq!((old.offered_versions(), old.offered_version()), (&[0x0302][..], 0x0302));
}

#[test]
fn parsers_survive_random_bytes() {
    // What any parsed hello promises, whatever the bytes were (ClientHelloInfo's docs).
    fn check(ch: &ClientHelloInfo) {
        if let Some(sni) = &ch.sni {
            assert!(!sni.is_empty(), "{sni:?}");
            assert!(!sni.chars().any(char::is_control), "{sni:?}");
        }
        assert!(!ch.supported_versions.iter().any(|&v| is_grease(v)), "GREASE kept: {ch:?}");
    }
    let mut rng = Rng(12345);
    let hs = pq_hello();
    let sni_end = sni_ext_end(SNI.len());
    assert_eq!(parse_client_hello(&hs), Ok(full_pq_info()));
    let mut partial = 0;
    for _ in 0..5000 {
        let len = rng.below(hs.len() + 1);
        let mut m = hs[..len].to_vec();
        let mut flipped = false;
        for _ in 0..rng.below(6) {
            if !m.is_empty() {
                let at = rng.below(m.len());
                let b = rng.next() as u8;
                flipped |= m[at] != b;
                m[at] = b;
            }
        }
        let ch = parse_client_hello(&m);
        if let Ok(ch) = &ch {
            check(ch);
        }
        if !flipped {
            match len {
                l if l == hs.len() => assert_eq!(ch, Ok(full_pq_info())),
                l if l >= sni_end => {
                    let ch = ch.unwrap_or_else(|e| panic!("prefix of {l} bytes holds the SNI: {e}"));
                    assert_eq!((ch.sni.as_deref(), ch.partial), (Some(SNI), true), "prefix of {l} bytes");
                    partial += 1;
                }
                l => assert_ne!(ch.ok().and_then(|c| c.sni).as_deref(), Some(SNI), "SNI from {l} bytes"),
            }
            if m.len() >= 4 {
                assert_eq!(parse_server_hello(&m), Err(TlsError::WrongType(HS_CLIENT_HELLO)));
            }
        }
        let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
        if let Ok(ch) = parse_client_hello(&junk) {
            check(&ch);
        }
        if let Ok(sh) = parse_server_hello(&junk) {
            assert_eq!(junk[0], HS_SERVER_HELLO, "{sh:?} from a message of another type");
        }
    }
    assert!(partial > 100, "only {partial} partial hellos seen");
}

// --- following the flight: certificate and alerts ---------------------------------------

use crate::dissect::cert::tests::{CA, LEAF};

/// A TLS 1.2 Certificate message carrying `certs` in order.
fn certificate_msg(certs: &[&[u8]]) -> Vec<u8> {
    let u24b = |n: usize| u32::try_from(n).unwrap().to_be_bytes()[1..].to_vec();
    let mut list = Vec::new();
    for c in certs {
        list.extend(u24b(c.len()));
        list.extend_from_slice(c);
    }
    let mut body = u24b(list.len());
    body.extend(list);
    handshake(HS_CERTIFICATE, &body)
}

fn record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ty, 3, 3];
    r.extend(len16(body));
    r
}

const CCS: [u8; 6] = [20, 3, 3, 0, 1, 1];

/// ServerHello (TLS 1.2), Certificate (leaf, CA) and ServerHelloDone, one record each.
fn tls12_server_flight() -> Vec<u8> {
    let mut s = records(&server_hello(None), 16384);
    s.extend(records(&certificate_msg(&[LEAF, CA]), 16384));
    s.extend(records(&handshake(14, &[]), 16384));
    s
}

fn expect_leaf(events: &[TlsEvent]) {
    let [TlsEvent::Certificate(c)] = events else {
        panic!("expected one certificate, got {events:?}");
    };
    assert_eq!(c.subject_cn.as_deref(), Some("fabrikamreg.azurecr.io"));
    assert_eq!(c.issuer_cn.as_deref(), Some("Fabrikam Corp TLS Inspection CA"));
}

#[test]
fn certificate_chain_over_several_segments_in_any_order() {
    let stream = tls12_server_flight();
    let segs = segments(&stream, 300);
    assert!(segs.len() >= 4, "{} segments", segs.len());
    let sh = TlsEvent::ServerHello(ServerHelloInfo { version: 0x0303 });
    for order in [(0..segs.len()).collect::<Vec<_>>(), (0..segs.len()).rev().collect()] {
        let isn = 77;
        let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP).follow();
        let mut hello = Vec::new();
        let mut events = Vec::new();
        for &i in &order {
            match r.push(seq(isn, segs[i].0), &segs[i].1) {
                TlsProgress::Done(ev) => hello.push(ev),
                TlsProgress::NeedMore => {}
                other => panic!("{other:?}"),
            }
            events.extend(r.take_events());
        }
        assert_eq!(hello, std::slice::from_ref(&sh));
        expect_leaf(&events);
        // The server then waits for the client; its ChangeCipherSpec ends the reading.
        assert!(!r.is_finished());
        assert_eq!(r.push(seq(isn, stream.len()), &CCS), TlsProgress::End);
        assert!(r.is_finished());
        assert!(r.stream.held().allocated() == 0 && r.stream.held().ranges().is_empty());
    }
}

#[test]
fn certificate_split_over_many_records_and_segments() {
    // The Certificate message in 100-byte records (the header itself split), the records
    // cut into 150-byte segments, fed with a retransmission of each.
    let mut stream = records(&server_hello(None), 16384);
    stream.extend(records(&certificate_msg(&[LEAF, CA]), 100));
    stream.extend(records(&handshake(14, &[]), 16384));
    stream.extend(CCS);
    let mut r = TlsReassembler::new(None, DEFAULT_CAP).follow();
    let mut events = Vec::new();
    let mut outs = Vec::new();
    for (off, seg) in segments(&stream, 150) {
        for _ in 0..2 {
            outs.push(r.push(seq(1 << 31, off), &seg));
            events.extend(r.take_events());
        }
    }
    assert_eq!(outs.iter().filter(|o| matches!(o, TlsProgress::Done(TlsEvent::ServerHello(_)))).count(), 1);
    assert_eq!(outs.last(), Some(&TlsProgress::End));
    expect_leaf(&events);
}

#[test]
fn server_hello_certificate_and_done_in_one_record() {
    let mut hs = server_hello(None);
    hs.extend(certificate_msg(&[LEAF, CA]));
    hs.extend(handshake(14, &[]));
    let mut stream = records(&hs, 16384);
    stream.extend(CCS);
    // Not for the in-place path: the hello does not fill its record.
    assert_eq!(whole_hello_record(&stream), None);
    let mut r = TlsReassembler::new(None, DEFAULT_CAP).follow();
    let out = r.push(5, &stream);
    assert_eq!(out, TlsProgress::Done(TlsEvent::ServerHello(ServerHelloInfo { version: 0x0303 })));
    expect_leaf(&r.take_events());
    assert!(r.is_finished(), "the ChangeCipherSpec ends it");
    assert_eq!(r.push(5, &stream), TlsProgress::End);
}

#[test]
fn after_a_whole_hello_the_flight_is_read_from_the_record_end() {
    let stream = tls12_server_flight();
    let (ev, used) = whole_hello_record(&stream).unwrap();
    assert_eq!(ev, TlsEvent::ServerHello(ServerHelloInfo { version: 0x0303 }));
    assert!(ev.clear_records_follow());
    let isn = u32::MAX - 100;
    let next = seq(isn, used);
    let mut r = TlsReassembler::after_hello(next, DEFAULT_CAP);
    let rest = &stream[used..];
    assert_eq!(r.push(next, &rest[..400]), TlsProgress::NeedMore);
    assert!(r.take_events().is_empty());
    assert_eq!(r.push(seq(next, 400), &rest[400..]), TlsProgress::NeedMore);
    expect_leaf(&r.take_events());
}

#[test]
fn tls13_server_hello_ends_the_reading_at_once() {
    let mut stream = records(&server_hello(Some(0x0304)), 16384);
    stream.extend(CCS);
    stream.extend(record(23, &[0x55; 40]));
    let (ev, _) = whole_hello_record(&stream).unwrap();
    assert!(!ev.clear_records_follow());
    let mut r = TlsReassembler::new(None, DEFAULT_CAP).follow();
    assert_eq!(r.push(1, &stream), TlsProgress::Done(ev));
    assert!(r.is_finished());
    assert!(r.take_events().is_empty());
}

#[test]
fn encrypted_records_after_a_hello_are_not_copied() {
    let mut r = TlsReassembler::after_hello(1000, DEFAULT_CAP);
    let mut seg = CCS.to_vec();
    seg.extend(record(23, &[0x55; 4000]));
    assert_eq!(r.push(1000, &seg), TlsProgress::End);
    assert_eq!(r.stream.held().allocated(), 0);
    // An encrypted alert (TLS 1.2 after ChangeCipherSpec: longer than 2 bytes) is no alert.
    let mut r = TlsReassembler::after_hello(1000, DEFAULT_CAP);
    assert_eq!(r.push(1000, &record(21, &[0x66; 26])), TlsProgress::End);
    assert!(r.take_events().is_empty());
}

#[test]
fn client_alert_after_its_hello() {
    // The client's bad_certificate after a certificate it does not trust (TLS 1.2).
    let mut stream = records(&pq_hello(), 16384);
    let hello_len = stream.len();
    stream.extend(record(21, &[2, 42]));
    let isn = 9;
    let mut r = TlsReassembler::new(Some(isn), DEFAULT_CAP).follow();
    expect_client_hello(r.push(isn, &stream[..hello_len]));
    assert_eq!(r.push(seq(isn, hello_len), &stream[hello_len..hello_len + 6]), TlsProgress::NeedMore);
    assert!(r.take_events().is_empty());
    assert_eq!(r.push(seq(isn, hello_len + 6), &stream[hello_len + 6..]), TlsProgress::NeedMore);
    let events = r.take_events();
    assert_eq!(events, [TlsEvent::Alert(AlertMessage { level: 2, description: 42 })]);
    let TlsEvent::Alert(a) = events[0] else { unreachable!() };
    assert_eq!((a.level_name(), a.description_name()), ("fatal", "bad_certificate"));
}

#[test]
fn server_alert_instead_of_a_server_hello() {
    let mut r = TlsReassembler::new(Some(50), DEFAULT_CAP).follow();
    let mut seg = record(21, &[2, 40]);
    seg.extend(record(21, &[1, 0]));
    assert_eq!(r.push(50, &seg), TlsProgress::NeedMore);
    let events = r.take_events();
    assert_eq!(
        events,
        [
            TlsEvent::Alert(AlertMessage { level: 2, description: 40 }),
            TlsEvent::Alert(AlertMessage { level: 1, description: 0 })
        ]
    );
    let names: Vec<_> = events
        .iter()
        .map(|e| match e {
            TlsEvent::Alert(a) => a.description_name(),
            _ => "",
        })
        .collect();
    assert_eq!(names, ["handshake_failure", "close_notify"]);
    // Without following, an alert first is no TLS stream start (as before).
    assert_eq!(TlsReassembler::new(Some(50), DEFAULT_CAP).push(50, &seg), TlsProgress::NotTls);
    // An alert record with an unknown level is not taken for one.
    let mut r = TlsReassembler::new(Some(50), DEFAULT_CAP).follow();
    assert_eq!(r.push(50, &record(21, &[7, 40])), TlsProgress::NotTls);
    assert_eq!(AlertMessage { level: 9, description: 250 }.description_name(), "unknown");
    assert_eq!(AlertMessage { level: 9, description: 250 }.level_name(), "unknown");
}

#[test]
fn alerts_are_bounded() {
    let mut r = TlsReassembler::after_hello(0, DEFAULT_CAP);
    let seg: Vec<u8> = (0..100).flat_map(|_| record(21, &[1, 90])).collect();
    r.push(0, &seg);
    assert_eq!(r.take_events().len(), usize::from(MAX_ALERTS));
    // One certificate per flight, however many Certificate messages come.
    let hs: Vec<u8> = (0..20).flat_map(|_| certificate_msg(&[LEAF])).collect();
    let mut r = TlsReassembler::after_hello(0, DEFAULT_CAP);
    assert_eq!(r.push(0, &records(&hs, 16384)), TlsProgress::NeedMore);
    expect_leaf(&r.take_events());
}

#[test]
fn a_chain_past_the_cap_still_gives_its_leaf() {
    let big = vec![0x30; 80_000];
    let hs = certificate_msg(&[LEAF, &big]);
    let stream = records(&hs, 16384);
    let mut r = TlsReassembler::after_hello(0, DEFAULT_CAP);
    let mut out = TlsProgress::NeedMore;
    let mut events = Vec::new();
    for (off, seg) in segments(&stream, MSS) {
        out = r.push(seq(0, off), &seg);
        events.extend(r.take_events());
        assert!(r.stream.held().buf().len() <= DEFAULT_CAP);
        if r.is_finished() {
            break;
        }
    }
    assert_eq!(out, TlsProgress::End);
    expect_leaf(&events);
}

#[test]
fn following_survives_random_segmentation_and_corruption() {
    let clean = tls12_server_flight();
    let mut rng = Rng(0xfeed_beef);
    let mut leaves = 0;
    for round in 0..1000 {
        let mut stream = clean.clone();
        if round % 2 == 1 {
            for _ in 0..1 + rng.below(6) {
                let at = rng.below(stream.len());
                stream[at] = rng.next() as u8;
            }
        }
        let mut off = 0;
        let mut segs = Vec::new();
        while off < stream.len() {
            let end = (off + 1 + rng.below(700)).min(stream.len());
            segs.push((off, stream[off..end].to_vec()));
            off = end;
        }
        for i in (1..segs.len()).rev() {
            if rng.below(3) == 0 {
                segs.swap(i, rng.below(i + 1));
            }
        }
        let cap = [DEFAULT_CAP, 900][rng.below(2)];
        let mut r = TlsReassembler::new(Some(3), cap).follow();
        let mut events = Vec::new();
        for (o, s) in &segs {
            r.push(seq(3, *o), s);
            events.extend(r.take_events());
            assert!(r.stream.held().buf().len() <= cap);
        }
        if round % 2 == 0 && cap == DEFAULT_CAP {
            expect_leaf(&events);
            leaves += 1;
        }
        let _ = r.finish();
    }
    assert!(leaves > 200, "{leaves}");
}
