//! Writes the seed corpora of the fuzz targets from capture files:
//! `cargo run --release --manifest-path fuzz/Cargo.toml --example seed -- OUT_DIR CAPTURE_OR_DIR...`
//! (`fuzz/seed.sh` runs it on the project's captures). Each target gets `OUT_DIR/<target>/`.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use acrscope::capture::file::FileReader;
use acrscope::packet::{self, TcpSegment, Transport};
use acrscope_fuzz::{selector, write_datagrams, write_segments};

const FRAMES_PER_FILE: usize = 150;
const WINDOWS_PER_FILE: usize = 12;
const WINDOW_BYTES: usize = 24 * 1024;
const WINDOW_FRAMES: usize = 48;
const DNS_PER_FILE: usize = 60;
const TLS_PER_FILE: usize = 40;
const TLS_SEGMENTS: usize = 8;
const QUIC_PER_FILE: usize = 40;
const QUIC_DATAGRAMS: usize = 6;
const HTTP_PER_FILE: usize = 40;

struct Out {
    dir: PathBuf,
    seen: HashSet<(&'static str, u64)>,
    written: HashMap<&'static str, usize>,
}

impl Out {
    fn put(&mut self, target: &'static str, bytes: &[u8]) -> bool {
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let id = h.finish();
        if !self.seen.insert((target, id)) {
            return false;
        }
        let d = self.dir.join(target);
        std::fs::create_dir_all(&d).expect("corpus directory");
        std::fs::write(d.join(format!("seed-{id:016x}")), bytes).expect("seed file");
        *self.written.entry(target).or_default() += 1;
        true
    }
}

/// A frame as read, owned.
struct Owned {
    ts_ns: i64,
    link_type: u16,
    orig_len: u32,
    data: Vec<u8>,
}

fn pcap(frames: &[Owned]) -> Vec<u8> {
    let mut f = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&262_144u32.to_le_bytes());
    f.extend_from_slice(&u32::from(frames[0].link_type).to_le_bytes());
    for fr in frames {
        let us = fr.ts_ns.max(0) / 1000;
        f.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&(fr.data.len() as u32).to_le_bytes());
        f.extend_from_slice(&fr.orig_len.max(fr.data.len() as u32).to_le_bytes());
        f.extend_from_slice(&fr.data);
    }
    f
}

fn block(btype: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    body.resize(body.len().next_multiple_of(4), 0);
    let len = (body.len() + 12) as u32;
    let mut b = btype.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&body);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

/// A pcapng file with one interface per link type in `frames`.
fn pcapng(frames: &[Owned]) -> Vec<u8> {
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut f = block(0x0a0d_0d0a, &shb);
    let mut ifaces: Vec<u16> = Vec::new();
    for fr in frames {
        if !ifaces.contains(&fr.link_type) {
            ifaces.push(fr.link_type);
            let mut idb = fr.link_type.to_le_bytes().to_vec();
            idb.extend_from_slice(&[0, 0]);
            idb.extend_from_slice(&0u32.to_le_bytes());
            f.extend(block(1, &idb));
        }
        let iface = ifaces.iter().position(|&l| l == fr.link_type).unwrap_or(0) as u32;
        let us = (fr.ts_ns.max(0) / 1000) as u64;
        let mut epb = iface.to_le_bytes().to_vec();
        epb.extend_from_slice(&((us >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(us as u32).to_le_bytes());
        epb.extend_from_slice(&(fr.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&fr.orig_len.max(fr.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&fr.data);
        f.extend(block(6, &epb));
    }
    f
}

type Dir = (IpAddr, u16, IpAddr, u16);

fn seed_file(path: &Path, out: &mut Out) -> Result<(), String> {
    let mut reader = FileReader::open(path).map_err(|e| e.to_string())?;
    let mut frames = Vec::new();
    while let Ok(Some(f)) = reader.next_frame() {
        frames.push(Owned { ts_ns: f.ts_ns, link_type: f.link_type, orig_len: f.orig_len, data: f.data.to_vec() });
    }
    if frames.is_empty() {
        return Ok(());
    }
    // (d) Windows of whole frames, as pcap and as pcapng.
    let mut windows: Vec<&[Owned]> = Vec::new();
    let mut start = 0;
    while start < frames.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < frames.len() && end - start < WINDOW_FRAMES && bytes + frames[end].data.len() <= WINDOW_BYTES {
            bytes += frames[end].data.len();
            end += 1;
        }
        let end = end.max(start + 1);
        windows.push(&frames[start..end]);
        start = end;
    }
    let step = windows.len().div_ceil(WINDOWS_PER_FILE);
    for (i, w) in windows.iter().step_by(step).enumerate() {
        let same_link = w.iter().all(|f| f.link_type == w[0].link_type);
        if i % 2 == 0 && same_link {
            out.put("pipeline", &pcap(w));
        } else {
            out.put("pipeline", &pcapng(w));
        }
    }
    // (a) Single frames; (b) DNS messages and streams; (c) TLS hello streams.
    let mut n_frames = 0;
    let mut n_dns = 0;
    let mut streams: HashMap<Dir, Vec<(u32, Vec<u8>)>> = HashMap::new();
    let mut order: Vec<Dir> = Vec::new();
    // UDP flows that start with a QUIC long header, keyed by the client's direction.
    let mut quic: HashMap<Dir, Vec<(bool, Vec<u8>)>> = HashMap::new();
    let mut quic_order: Vec<Dir> = Vec::new();
    for fr in &frames {
        let Some(sel) = selector(fr.link_type) else { continue };
        if n_frames < FRAMES_PER_FILE {
            let mut s = vec![sel];
            s.extend_from_slice(&fr.data);
            if out.put("decode_frame", &s) {
                n_frames += 1;
            }
        }
        let Ok((pkt, _)) = packet::decode(fr.link_type, &fr.data) else { continue };
        match pkt.transport {
            Transport::Udp { sport, dport, payload }
                if n_dns < DNS_PER_FILE && [sport, dport].iter().any(|p| matches!(p, 53 | 5353 | 5355)) =>
            {
                let mut s = vec![0];
                s.extend_from_slice(payload);
                if out.put("dns", &s) {
                    n_dns += 1;
                    // The same message over TCP, in three segments with one retransmitted.
                    let mut framed = (payload.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(payload);
                    let (a, b) = (framed.len() / 3, 2 * framed.len() / 3);
                    let isn = 1_000u32;
                    let segs = [
                        (isn, &framed[..a]),
                        (isn + a as u32, &framed[a..b]),
                        (isn + a as u32, &framed[a..b]),
                        (isn + b as u32, &framed[b..]),
                    ];
                    let mut s = vec![1];
                    s.extend(write_segments(Some(isn), &segs));
                    out.put("dns", &s);
                }
            }
            Transport::Udp { sport, dport, payload } if !payload.is_empty() => {
                let dir = (pkt.src, sport, pkt.dst, dport);
                let back = (pkt.dst, dport, pkt.src, sport);
                if let Some(v) = quic.get_mut(&back) {
                    if v.len() < QUIC_DATAGRAMS {
                        v.push((false, payload.to_vec()));
                    }
                } else if let Some(v) = quic.get_mut(&dir) {
                    if v.len() < QUIC_DATAGRAMS {
                        v.push((true, payload.to_vec()));
                    }
                } else if payload[0] & 0x80 != 0 && quic_order.len() < QUIC_PER_FILE {
                    quic.insert(dir, vec![(true, payload.to_vec())]);
                    quic_order.push(dir);
                }
            }
            Transport::Tcp(TcpSegment { sport, dport, seq, payload, .. }) if !payload.is_empty() => {
                let dir = (pkt.src, sport, pkt.dst, dport);
                let v = streams.entry(dir).or_insert_with(|| {
                    order.push(dir);
                    Vec::new()
                });
                if v.len() < TLS_SEGMENTS {
                    v.push((seq, payload.to_vec()));
                }
            }
            _ => {}
        }
    }
    for dir in quic_order {
        let d: Vec<(bool, &[u8])> = quic[&dir].iter().map(|(up, p)| (*up, p.as_slice())).collect();
        out.put("quic", &write_datagrams(&d));
        // The same datagrams in reverse order (a ClientHello over several Initials).
        let rev: Vec<(bool, &[u8])> = d.iter().rev().copied().collect();
        out.put("quic", &write_datagrams(&rev));
    }
    let mut n_tls = 0;
    let mut n_http = 0;
    for dir in order {
        let segs = &streams[&dir];
        let as_ref: Vec<(u32, &[u8])> = segs.iter().map(|(s, p)| (*s, p.as_slice())).collect();
        if dir.1 == 53 || dir.3 == 53 {
            let mut s = vec![1];
            s.extend(write_segments(Some(as_ref[0].0), &as_ref));
            out.put("dns", &s);
        } else if segs[0].1.first() == Some(&0x16) && n_tls < TLS_PER_FILE {
            out.put("tls_reassembly", &write_segments(Some(as_ref[0].0), &as_ref));
            out.put("tls_reassembly", &write_segments(None, &as_ref));
            n_tls += 1;
        } else if n_http < HTTP_PER_FILE
            && segs[0].1.first().is_some_and(|b| b.is_ascii_uppercase())
            && segs[0].1.len() >= 4
        {
            out.put("http", &write_segments(Some(as_ref[0].0), &as_ref));
            n_http += 1;
        }
    }
    Ok(())
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: seed OUT_DIR CAPTURE_OR_DIR...");
        std::process::exit(2);
    };
    let mut out = Out { dir: PathBuf::from(dir), seen: HashSet::new(), written: HashMap::new() };
    let mut files = Vec::new();
    for a in args {
        let p = PathBuf::from(a);
        if p.is_dir() {
            let mut stack = vec![p];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap") {
                        files.push(p);
                    }
                }
            }
        } else {
            files.push(p);
        }
    }
    files.sort();
    for f in &files {
        if let Err(e) = seed_file(f, &mut out) {
            eprintln!("seed: skipped {}: {e}", f.display());
        }
    }
    let mut counts: Vec<_> = out.written.into_iter().collect();
    counts.sort();
    for (t, n) in counts {
        println!("{t}: {n} seeds");
    }
}
