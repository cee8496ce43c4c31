//! Hostile and broken captures, built here from hand-made packets, through the real binary
//! (`report --format json`): the exit code, the warning kinds in `stats.warnings`, and what is
//! still reported. Files under `tests/fixtures/broken/` (inputs the fuzzers found) are replayed
//! too. Every case is also read by the replay feeder and by `snapshot`, which must count the
//! same warnings (see [`same_warnings_in_every_reader`]).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use etherparse::PacketBuilder;
use serde_json::Value;

const CLIENT: [u8; 4] = [10, 1, 0, 4];
const RESOLVER: [u8; 4] = [168, 63, 129, 16];
const SERVER: [u8; 4] = [40, 79, 197, 136];
const HOST: &str = "fabrikamreg.azurecr.io";
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

// ---- packets -------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Flags {
    Syn,
    SynAck,
    Ack,
}

fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, seq: u32, flags: Flags, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B).ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    let b = match flags {
        Flags::Syn => b.syn(),
        Flags::SynAck => b.syn().ack(1),
        Flags::Ack => b.ack(1),
    };
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B).ipv4(src, dst, 64).udp(sport, dport);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

fn dns_query(id: u16, q: &str) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend(common::name(q));
    m.extend_from_slice(&[0, 1, 0, 1]);
    m
}

/// A DNS response header with `qd` questions and `an` answers claimed.
fn dns_header(id: u16, qd: u16, an: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x81, 0x80]);
    m.extend_from_slice(&qd.to_be_bytes());
    m.extend_from_slice(&an.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m
}

fn rr(owner: &[u8], rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut r = owner.to_vec();
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// A ClientHello in one handshake record: server_name `sni`, then a padding extension of
/// `pad` bytes (so that the hello reaches past the SNI).
fn client_hello(sni: &str, pad: usize) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    let mut ext = Vec::new();
    let n = sni.len() as u16;
    ext.extend_from_slice(&[0, 0]);
    ext.extend_from_slice(&(n + 5).to_be_bytes());
    ext.extend_from_slice(&(n + 3).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&n.to_be_bytes());
    ext.extend_from_slice(sni.as_bytes());
    ext.extend_from_slice(&[0, 21]);
    ext.extend_from_slice(&(pad as u16).to_be_bytes());
    ext.extend(std::iter::repeat_n(0, pad));
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut hs = vec![1, 0, 0, 0];
    hs[1..4].copy_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

/// Where the server name ends in [`client_hello`]'s bytes.
fn sni_end(sni: &str) -> usize {
    5 + 4 + 2 + 32 + 1 + 4 + 2 + 2 + 4 + 2 + 1 + 2 + sni.len()
}

/// A DNS lookup of [`HOST`] (query and answer), then a TLS connection to its address.
fn good_frames() -> Vec<Vec<u8>> {
    let answer = common::dns_response(0x78b0, &[HOST, "jpe-2-az.fe.azcr.io"], &[SERVER.into()], 60);
    vec![
        udp(CLIENT, 40000, RESOLVER, 53, &dns_query(0x78b0, HOST)),
        udp(RESOLVER, 53, CLIENT, 40000, &answer),
        tcp(CLIENT, 50000, SERVER, 443, 1000, Flags::Syn, &[]),
        tcp(SERVER, 443, CLIENT, 50000, 5000, Flags::SynAck, &[]),
        tcp(CLIENT, 50000, SERVER, 443, 1001, Flags::Ack, &[]),
        tcp(CLIENT, 50000, SERVER, 443, 1001, Flags::Ack, &client_hello(HOST, 0)),
        tcp(SERVER, 443, CLIENT, 50000, 5001, Flags::Ack, &[]),
    ]
}

// ---- files ---------------------------------------------------------------------------------

/// A classic pcap (microseconds, little-endian) being written; `records[i]` is where frame
/// `i + 1` starts.
struct Pcap {
    bytes: Vec<u8>,
    records: Vec<usize>,
}

impl Pcap {
    fn new(snaplen: u32, link_type: u32) -> Pcap {
        let mut b = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
        b.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&snaplen.to_le_bytes());
        b.extend_from_slice(&link_type.to_le_bytes());
        Pcap { bytes: b, records: Vec::new() }
    }

    /// A frame at `ts_us`, cut to `keep` bytes (its original length stays).
    fn add_cut(&mut self, ts_us: u64, data: &[u8], keep: usize) -> &mut Pcap {
        let keep = keep.min(data.len());
        self.records.push(self.bytes.len());
        self.bytes.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(keep as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&data[..keep]);
        self
    }

    fn add(&mut self, ts_us: u64, data: &[u8]) -> &mut Pcap {
        self.add_cut(ts_us, data, data.len())
    }

    fn of(frames: &[Vec<u8>]) -> Pcap {
        let mut p = Pcap::new(65535, 1);
        for (i, f) in frames.iter().enumerate() {
            p.add(1_700_000_000_000_000 + 1000 * i as u64, f);
        }
        p
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("acrscope-broken-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

struct Report {
    code: Option<i32>,
    json: Value,
    stderr: String,
}

impl Report {
    fn warnings(&self, kind: &str) -> u64 {
        self.json["stats"]["warnings"][kind].as_u64().unwrap_or(0)
    }

    fn stat(&self, name: &str) -> u64 {
        self.json["stats"][name].as_u64().unwrap_or_else(|| panic!("no stats.{name}"))
    }

    fn flows(&self) -> &Vec<Value> {
        self.json["flows"].as_array().unwrap()
    }

    /// The TCP flow from `CLIENT:port`.
    fn flow(&self, port: u16) -> &Value {
        self.flows()
            .iter()
            .find(|f| f["client_port"] == port && f["proto"] == "tcp")
            .unwrap_or_else(|| panic!("no flow from port {port}"))
    }

    fn error(&self) -> &str {
        self.json["capture"]["error"].as_str().unwrap_or("")
    }
}

fn report_path(path: &Path, extra: &[&str]) -> Report {
    let o = Command::new(env!("CARGO_BIN_EXE_acrscope"))
        .args(["report", "--format", "json"])
        .args(extra)
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let json = if o.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"))
    };
    let r = Report { code: o.status.code(), json, stderr };
    same_warnings_in_every_reader(path, extra, &r);
    r
}

/// The replay feeder (at full speed) and `snapshot --end` read `path` into the same warning
/// kinds and counts as `report` did, and end on the same error; a file `report` cannot open
/// (exit 2) neither of them opens either, with the same message.
fn same_warnings_in_every_reader(path: &Path, extra: &[&str], r: &Report) {
    use acrscope::engine::Speed;
    use acrscope::session::Limits;
    let mut limits = Limits::default();
    if let Some(i) = extra.iter().position(|a| *a == "--max-flows") {
        limits.max_active_flows = extra[i + 1].parse().unwrap();
    }
    let feeder = acrscope::engine::Source::open(path, Speed::Max, false);
    let snap = acrscope::snapshot::load(path, acrscope::snapshot::At::End, limits.clone());
    if r.code == Some(2) {
        let (f, s) = (feeder.err().expect("replay opened it"), snap.err().expect("snapshot opened it"));
        assert!(r.stderr.contains(&f.to_string()), "replay: {f} / report: {}", r.stderr);
        assert_eq!(f.to_string(), s.to_string());
        return;
    }
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let want: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(r.json["stats"]["warnings"].clone()).unwrap();
    let counts = |s: &acrscope::session::Session| -> std::collections::BTreeMap<String, u64> {
        s.stats.warnings.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let feeder = feeder.unwrap();
    let g = acrscope::engine::spawn(feeder, limits, false, Default::default(), ()).unwrap().wait().unwrap();
    assert!(g.status.finished);
    assert_eq!(counts(&g.session), want, "replay feeder vs report: {}", path.display());
    assert_eq!(g.status.error.as_deref().unwrap_or(""), r.error(), "replay feeder: {}", path.display());
    let snap = snap.unwrap();
    assert_eq!(counts(&snap.session), want, "snapshot vs report: {}", path.display());
    assert_eq!(snap.status.error.as_deref().unwrap_or(""), r.error(), "snapshot: {}", path.display());
    assert_eq!(g.session.stats.packets, r.stat("packets"));
    assert_eq!(snap.session.stats.packets, r.stat("packets"));
}

fn report(name: &str, bytes: &[u8], extra: &[&str]) -> Report {
    let p = tmp(name);
    std::fs::write(&p, bytes).unwrap();
    report_path(&p, extra)
}

/// What [`good_frames`] gives when all of it is read.
fn assert_all_reported(r: &Report) {
    assert_eq!(r.flows().len(), 2);
    assert_eq!(r.flow(50000)["sni"], HOST);
    assert_eq!(r.json["dns"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["dns"][0]["addresses"][0], "40.79.197.136");
}

// ---- the file itself -------------------------------------------------------------------------

#[test]
fn the_good_capture_reads_clean() {
    let r = report("good.pcap", &Pcap::of(&good_frames()).bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_all_reported(&r);
    assert_eq!(r.json["stats"]["warnings"], serde_json::json!({}));
    assert_eq!(r.flow(50000)["hostname"], HOST);
}

#[test]
fn cut_inside_the_global_header_is_unreadable_input() {
    let p = Pcap::of(&good_frames());
    let path = tmp("cut-global.pcap");
    std::fs::write(&path, &p.bytes[..10]).unwrap();
    let r = report_path(&path, &[]);
    assert_eq!(r.code, Some(2));
    assert_eq!(r.json, Value::Null);
    assert!(r.stderr.contains(&path.display().to_string()), "{}", r.stderr);
    assert!(r.stderr.contains("global header at byte offset 0"), "{}", r.stderr);
}

#[test]
fn cut_inside_a_record_header_keeps_what_came_before() {
    let p = Pcap::of(&good_frames());
    let at = p.records[6];
    let r = report("cut-record-header.pcap", &p.bytes[..at + 5], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("truncated-file"), 1);
    for part in ["cut-record-header.pcap", "inside a record header", &format!("byte offset {at}"), "(frame 7)"] {
        assert!(r.error().contains(part), "{part:?} not in {}", r.error());
    }
    assert!(r.stderr.contains("warning"), "{}", r.stderr);
    assert_all_reported(&r);
}

#[test]
fn cut_inside_packet_data_loses_only_that_frame() {
    let p = Pcap::of(&good_frames());
    let at = p.records[5];
    let r = report("cut-data.pcap", &p.bytes[..at + 16 + 40], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("truncated-file"), 1);
    assert!(r.error().contains(&format!("inside a packet data at byte offset {at} (frame 6)")), "{}", r.error());
    // The connection was opened by frames 3-5; its ClientHello was in frame 6.
    assert_eq!(r.flows().len(), 2);
    assert_eq!(r.flow(50000)["sni"], Value::Null);
    assert_eq!(r.json["dns"].as_array().unwrap().len(), 1);
}

#[test]
fn a_lab_capture_cut_in_the_middle_still_reports_its_first_half() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/captures/scenario-a-blob.pcap");
    let full = std::fs::read(&path).unwrap();
    let whole = report_path(&path, &[]);
    let r = report("lab-cut.pcap", &full[..full.len() / 2 + 7], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("truncated-file") + r.warnings("corrupt-file"), 1);
    let (n, all) = (r.stat("packets"), whole.stat("packets"));
    assert!(n > 0 && n < all, "{n} of {all} packets");
    assert!(!r.flows().is_empty() && r.flows().len() <= whole.flows().len());
    assert!(r.flows().iter().any(|f| f["sni"].is_string()));
}

#[test]
fn records_longer_than_the_snaplen_are_read_and_flagged() {
    let frames = good_frames();
    let mut p = Pcap::new(128, 1);
    for (i, f) in frames.iter().enumerate() {
        p.add(1_700_000_000_000_000 + i as u64, f);
    }
    let over = frames.iter().filter(|f| f.len() > 128).count() as u64;
    assert!(over >= 1);
    let r = report("over-snaplen.pcap", &p.bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("record-over-snaplen"), over);
    let samples = r.json["stats"]["warning_samples"].as_array().unwrap();
    let sample = samples.iter().find(|w| w["kind"] == "record-over-snaplen").unwrap()["message"].as_str().unwrap();
    assert!(sample.contains("over-snaplen.pcap: frame ") && sample.contains("byte offset"), "{sample}");
    assert_all_reported(&r);
}

#[test]
fn a_record_over_256_kib_is_corrupt_and_ends_the_read() {
    let mut p = Pcap::of(&good_frames());
    let at = p.bytes.len();
    p.add(1_700_000_001_000_000, &vec![0; 300_000]);
    p.add(1_700_000_001_000_001, &good_frames()[0]);
    let r = report("over-256k.pcap", &p.bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("corrupt-file"), 1);
    let want = format!("corrupt at byte offset {at} (frame 8): record claims 300000 captured bytes (limit 262144)");
    assert!(r.error().contains(&want), "{}", r.error());
    assert_eq!(r.stat("packets"), 7);
    assert_all_reported(&r);
}

#[test]
fn garbage_appended_is_a_located_warning() {
    let p = Pcap::of(&good_frames());
    let at = p.bytes.len();
    let mut long = p.bytes.clone();
    long.extend_from_slice(&[0xff; 40]);
    let r = report("garbage.pcap", &long, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("corrupt-file"), 1);
    assert!(r.error().contains(&format!("byte offset {at} (frame 8)")), "{}", r.error());
    assert_all_reported(&r);
    // A few bytes only: not even a record header.
    let mut short = p.bytes.clone();
    short.extend_from_slice(b"junk\n");
    let r = report("garbage-short.pcap", &short, &[]);
    assert_eq!(r.code, Some(0));
    assert_eq!(r.warnings("truncated-file"), 1);
    assert!(r.error().contains("record header"), "{}", r.error());
    assert_all_reported(&r);
}

fn block(btype: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    body.resize(body.len().next_multiple_of(4), 0);
    let len = (body.len() + 12) as u32;
    let mut b = btype.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend(body);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn epb(ts_us: u64, data: &[u8]) -> Vec<u8> {
    let mut body = 0u32.to_le_bytes().to_vec();
    body.extend_from_slice(&((ts_us >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts_us as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    block(6, &body)
}

#[test]
fn pcapng_unknown_block_is_skipped_and_a_bad_length_ends_the_read() {
    let mut f =
        block(0x0a0d_0d0a, &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    f.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
    let frames = good_frames();
    let mut unknown_at = 0;
    for (i, fr) in frames.iter().enumerate() {
        if i == 2 {
            unknown_at = f.len();
            f.extend(block(0x0bad_f00d, b"what is this"));
        }
        f.extend(epb(1_700_000_000_000_000 + i as u64, fr));
    }
    let bad_at = f.len();
    f.extend_from_slice(&6u32.to_le_bytes());
    f.extend_from_slice(&13u32.to_le_bytes());
    f.extend_from_slice(&[0; 20]);
    let r = report("bad.pcapng", &f, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("pcapng-unknown-block"), 1);
    assert_eq!(r.warnings("corrupt-file"), 1);
    let sample = r.json["stats"]["warning_samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "pcapng-unknown-block")
        .unwrap()
        .clone();
    assert_eq!(sample["offset"], unknown_at);
    assert!(sample["message"].as_str().unwrap().contains("bad.pcapng"));
    let want = format!("bad.pcapng: corrupt at byte offset {bad_at} (frame 8): block of type 0x00000006 has length 13");
    assert!(r.error().contains(&want), "{}", r.error());
    assert_all_reported(&r);
}

// ---- packets cut or crafted --------------------------------------------------------------------

#[test]
fn a_96_byte_snaplen_hides_the_sni_and_says_truncated() {
    let mut p = Pcap::new(96, 1);
    for (i, f) in good_frames().iter().enumerate() {
        p.add_cut(1_700_000_000_000_000 + i as u64, f, 96);
    }
    let r = report("snaplen96.pcap", &p.bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let f = r.flow(50000);
    assert_eq!(f["sni"], Value::Null, "no SNI is guessed");
    assert_eq!(f["truncated"], true);
    assert_eq!(f["tls_partial"], false);
    assert!(r.warnings("truncated-payload") >= 2, "{}", r.json["stats"]["warnings"]);
    // The DNS answer is cut inside its first record: listed, incomplete, without address.
    assert_eq!(r.warnings("truncated-dns"), 1);
    let d = &r.json["dns"][0];
    assert_eq!((d["query"].as_str(), d["complete"].as_bool()), (Some(HOST), Some(false)));
    assert_eq!(d["addresses"], serde_json::json!([]));
    assert!(r.stat("wire_bytes") > r.stat("bytes"));
}

#[test]
fn overlapping_segments_with_different_bytes_keep_the_first_copy() {
    let real = client_hello("aaaa.example.com", 200);
    let fake = client_hello("bbbb.example.com", 200);
    let end = sni_end("aaaa.example.com");
    assert_eq!(&real[end - 16..end], b"aaaa.example.com");
    let mut frames = Vec::new();
    for (port, order) in [(50001u16, [0, 1]), (50002, [1, 0])] {
        frames.push(tcp(CLIENT, port, SERVER, 443, 1000, Flags::Syn, &[]));
        frames.push(tcp(SERVER, 443, CLIENT, port, 5000, Flags::SynAck, &[]));
        // Segment 0: the real hello up to the end of its name. Segment 1: the other hello
        // from byte 40 to its end (its bytes 40..end overlap segment 0 and differ).
        let segs = [(1001, &real[..end]), (1001 + 40, &fake[40..])];
        for i in order {
            let (seq, data) = segs[i];
            frames.push(tcp(CLIENT, port, SERVER, 443, seq, Flags::Ack, data));
        }
    }
    let r = report("overlap.pcap", &Pcap::of(&frames).bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.flow(50001)["sni"], "aaaa.example.com");
    assert_eq!(r.flow(50002)["sni"], "bbbb.example.com");
    assert_eq!(r.json["stats"]["warnings"], serde_json::json!({}));
}

#[test]
fn a_client_hello_claiming_16_mb_stays_within_the_cap_and_keeps_its_sni() {
    let mut hello = client_hello(HOST, 64);
    hello[6..9].copy_from_slice(&[0xff, 0xff, 0xff]);
    let mut frames = vec![
        tcp(CLIENT, 50000, SERVER, 443, 1000, Flags::Syn, &[]),
        tcp(SERVER, 443, CLIENT, 50000, 5000, Flags::SynAck, &[]),
        tcp(CLIENT, 50000, SERVER, 443, 1001, Flags::Ack, &hello),
    ];
    // More handshake records, 70 KiB in all: past the 64 KiB reassembly cap.
    let mut seq = 1001 + hello.len() as u32;
    for _ in 0..7 {
        let mut rec = vec![0x16, 3, 1, 0x27, 0x10];
        rec.extend_from_slice(&[0x41; 10_000]);
        for chunk in rec.chunks(1400) {
            frames.push(tcp(CLIENT, 50000, SERVER, 443, seq, Flags::Ack, chunk));
            seq += chunk.len() as u32;
        }
    }
    let r = report("hello-16mb.pcap", &Pcap::of(&frames).bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("malformed-tls"), 1);
    let f = r.flow(50000);
    assert_eq!(f["sni"], HOST);
    assert_eq!(f["tls_partial"], true);
    assert_eq!(r.stat("tls_client_hellos"), 1);
}

#[test]
fn hostile_dns_answers() {
    let q = common::name("loop.example");
    let mut frames = Vec::new();
    let mut respond = |port: u16, msg: Vec<u8>| frames.push(udp(RESOLVER, 53, CLIENT, port, &msg));
    // 1. The second answer's name is a compression pointer to itself: the first is kept.
    let mut m = dns_header(1, 1, 2);
    m.extend(&q);
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend(rr(&[0xc0, 12], 1, &[1, 2, 3, 4]));
    let at = m.len() as u8;
    m.extend(rr(&[0xc0, at], 1, &[5, 6, 7, 8]));
    respond(41001, m);
    // 2. The question's name is a pointer loop: nothing can be read.
    let mut m = dns_header(2, 1, 1);
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    m.extend(rr(&[0xc0, 12], 1, &[1, 2, 3, 4]));
    respond(41002, m);
    // 3. 65,535 answers claimed, one present.
    let mut m = dns_header(3, 1, 65535);
    m.extend(common::name("many.example"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend(rr(&[0xc0, 12], 1, &[9, 9, 9, 9]));
    respond(41003, m);
    // 4. A question label of 64 bytes.
    let mut m = dns_header(4, 1, 0);
    m.push(64);
    m.extend_from_slice(&[b'a'; 64]);
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    respond(41004, m);
    // 5. A CNAME whose target has a 64-byte label, then a good A record: stepped over.
    let mut m = dns_header(5, 1, 2);
    m.extend(common::name("long.example"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    let mut target = vec![64];
    target.extend_from_slice(&[b'b'; 64]);
    target.push(0);
    m.extend(rr(&[0xc0, 12], 5, &target));
    m.extend(rr(&[0xc0, 12], 1, &[7, 7, 7, 7]));
    respond(41005, m);
    let r = report("dns.pcap", &Pcap::of(&frames).bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.warnings("malformed-dns"), 2);
    assert_eq!(r.warnings("truncated-dns"), 3);
    let dns = r.json["dns"].as_array().unwrap();
    let by_id = |id: u64| dns.iter().find(|d| d["id"] == id);
    assert_eq!(dns.len(), 3);
    assert_eq!(by_id(1).unwrap()["addresses"], serde_json::json!(["1.2.3.4"]));
    assert_eq!(by_id(1).unwrap()["complete"], false);
    assert!(by_id(2).is_none() && by_id(4).is_none());
    assert_eq!(by_id(3).unwrap()["addresses"], serde_json::json!(["9.9.9.9"]));
    assert_eq!(by_id(5).unwrap()["addresses"], serde_json::json!(["7.7.7.7"]));
    assert_eq!(r.flows().len(), 5);
    assert_eq!(r.stat("dns_responses"), 3);
}

#[test]
fn ipv6_with_a_long_chain_of_extension_headers() {
    let answer = common::dns_response(7, &["v6.example"], &[[192, 0, 2, 7].into()], 60);
    let mut u = Vec::new();
    u.extend_from_slice(&53u16.to_be_bytes());
    u.extend_from_slice(&40000u16.to_be_bytes());
    u.extend_from_slice(&((8 + answer.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend(&answer);
    let mut frames = Vec::new();
    for (n, cut) in [(2usize, false), (200, false), (200, true)] {
        // Hop-by-hop first, then destination options, each 8 bytes, then UDP.
        let mut ext = Vec::new();
        for i in 0..n {
            let next = if i + 1 == n { 17 } else { 60 };
            ext.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
        }
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend_from_slice(&((ext.len() + u.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 64]);
        ip.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53]);
        ip.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n as u8]);
        ip.extend(ext);
        ip.extend(&u);
        let mut eth = MAC_A.to_vec();
        eth.extend_from_slice(&MAC_B);
        eth.extend_from_slice(&[0x86, 0xdd]);
        eth.extend(ip);
        if cut {
            // The capture stops in the middle of the chain.
            eth.truncate(14 + 40 + 8 * n / 2 + 3);
        }
        frames.push(eth);
    }
    let r = report("ipv6-ext.pcap", &Pcap::of(&frames).bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // Two headers or two hundred: followed to the UDP header (each takes 8 bytes or more, so
    // the walk is bounded by the frame). Cut in the middle of the chain: counted, not guessed at.
    let dns = r.json["dns"].as_array().unwrap();
    assert_eq!(dns.len(), 2);
    assert_eq!((dns[0]["client"].as_str(), dns[1]["client"].as_str()), (Some("2001:db8::2"), Some("2001:db8::c8")));
    assert_eq!(r.warnings("ipv6-extension-chain"), 1, "{}", r.json["stats"]["warnings"]);
    assert_eq!(r.stat("packets"), 3);
    assert_eq!(r.stat("other_transport"), 1);
}

#[test]
fn a_syn_flood_is_counted_within_the_flow_cap() {
    const SYNS: u32 = 100_000;
    let mut p = Pcap::new(65535, 1);
    let mut frame = tcp(CLIENT, 1, SERVER, 443, 7, Flags::Syn, &[]);
    for i in 0..SYNS {
        // Source address and port from the counter (IPv4 checksums are not checked).
        frame[26..30].copy_from_slice(&[10, 2, (i >> 16) as u8, (i >> 8) as u8]);
        frame[34..36].copy_from_slice(&(1024 + (i & 0xff) as u16).to_be_bytes());
        p.add(1_700_000_000_000_000 + u64::from(i) * 10, &frame);
    }
    let r = report("syn-flood.pcap", &p.bytes, &["--max-flows", "1000"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stat("flows"), u64::from(SYNS));
    assert_eq!(r.flows().len(), SYNS as usize);
    assert!(r.stat("peak_active_flows") <= 1000, "{}", r.stat("peak_active_flows"));
    let evicted = r.stat("flows_evicted");
    assert!((u64::from(SYNS) - 1000..u64::from(SYNS)).contains(&evicted), "{evicted}");
    assert_eq!(r.stat("flow_parsers_released"), 0);
    assert_eq!(r.flows()[0]["tcp_state"], "syn-sent");
}

#[test]
fn timestamps_going_backwards_are_counted() {
    let frames = good_frames();
    let ts = [10, 9, 11, 12, 8, 13, 13];
    let mut p = Pcap::new(65535, 1);
    for (f, t) in frames.iter().zip(ts) {
        p.add(1_700_000_000_000_000 + t * 1000, f);
    }
    let r = report("time.pcap", &p.bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stat("out_of_order_timestamps"), 2);
    assert_all_reported(&r);
    assert_eq!(r.json["capture"]["first_ts"], "2023-11-14T22:13:20.008000Z");
    assert_eq!(r.json["capture"]["last_ts"], "2023-11-14T22:13:20.013000Z");
}

#[test]
fn zero_length_udp_is_a_flow_without_bytes() {
    let mut frames = good_frames();
    frames.push(udp(CLIENT, 40001, RESOLVER, 53, &[]));
    frames.push(udp(CLIENT, 40002, [10, 1, 0, 9], 9999, &[]));
    // A UDP length field of 0 (as jumbograms use): the captured bytes are the payload.
    let mut zero = udp(CLIENT, 40003, [10, 1, 0, 9], 9999, b"abc");
    zero[38..40].copy_from_slice(&[0, 0]);
    frames.push(zero);
    let r = report("udp0.pcap", &Pcap::of(&frames).bytes, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.json["stats"]["warnings"], serde_json::json!({}));
    let udp_flow = |port: u16| r.flows().iter().find(|f| f["client_port"] == port).unwrap().clone();
    for port in [40001, 40002] {
        let f = udp_flow(port);
        assert_eq!((f["packets_up"].as_u64(), f["bytes_up"].as_u64()), (Some(1), Some(0)));
    }
    assert_eq!(udp_flow(40003)["bytes_up"], 3);
    assert_eq!(r.flows().len(), 5);
    assert_eq!(r.flow(50000)["sni"], HOST);
}

// ---- inputs the fuzzers found ----------------------------------------------------------------

/// Every file in tests/fixtures/broken/ is read to the end without a crash: exit 0 with a JSON
/// report, or 2 for a file that is not a capture at all.
#[test]
fn fuzzer_findings_are_read_without_a_crash() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            continue;
        }
        n += 1;
        let r = report_path(&p, &[]);
        match r.code {
            Some(0) => assert!(r.json.is_object(), "{}", p.display()),
            Some(2) => assert!(r.stderr.contains(&p.display().to_string()), "{}: {}", p.display(), r.stderr),
            other => panic!("{}: exit {other:?}: {}", p.display(), r.stderr),
        }
    }
    assert!(n > 0, "no files in {}", dir.display());
}
