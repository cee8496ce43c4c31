//! Builders for synthetic frames: raw IPv4 packets with DNS answers and TCP segments.
#![allow(dead_code)]

use std::net::Ipv4Addr;

use acrscope::capture::Frame;
use acrscope::session::Session;
use etherparse::PacketBuilder;

/// LINKTYPE_RAW.
pub const RAW: u16 = 101;

pub fn name(n: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    out
}

/// A DNS response for `query` (type A): CNAMEs along `chain[1..]`, then A records `addrs` on
/// the last name, every record with `ttl`.
pub fn dns_response(id: u16, chain: &[&str], addrs: &[Ipv4Addr], ttl: u32) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1]);
    m.extend_from_slice(&((chain.len() - 1 + addrs.len()) as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend(name(chain[0]));
    m.extend_from_slice(&[0, 1, 0, 1]);
    let rr = |m: &mut Vec<u8>, owner: &str, rtype: u16, rdata: &[u8]| {
        m.extend(name(owner));
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    };
    for w in chain.windows(2) {
        rr(&mut m, w[0], 5, &name(w[1]));
    }
    for a in addrs {
        rr(&mut m, chain[chain.len() - 1], 1, &a.octets());
    }
    m
}

pub fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4(src, dst, 64).udp(sport, dport);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

pub fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
    if syn {
        b = b.syn();
    } else {
        b = b.ack(1);
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

/// A raw-IP frame of a whole packet, without a comment.
pub fn raw_frame(number: u64, ts_ns: i64, data: &[u8]) -> Frame<'_> {
    Frame { number, ts_ns, link_type: RAW, interface: 0, orig_len: data.len() as u32, offset: 0, data, comment: None }
}

/// Feeds packets (time in seconds, bytes) as raw-IP frames.
pub fn session_of(packets: &[(f64, Vec<u8>)]) -> Session {
    let mut s = Session::default();
    for (i, (t, p)) in packets.iter().enumerate() {
        s.ingest(&raw_frame(i as u64 + 1, (t * 1e9) as i64, p));
    }
    s.finish();
    s
}

/// A minimal TLS 1.2 ClientHello record with one server_name.
pub fn client_hello(sni: &str) -> Vec<u8> {
    let n = sni.as_bytes();
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&((n.len() + 5) as u16).to_be_bytes());
    ext.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(n.len() as u16).to_be_bytes());
    ext.extend_from_slice(n);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0xc0, 0x2f, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut hs = vec![1, 0];
    hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hs.extend(body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

/// Waits until the capture loop publishes progress for which `ok` holds, and returns it (an
/// event, not a time: the 30 s only end a test that would otherwise hang).
pub fn wait_for_progress(
    r: &acrscope::engine::Running,
    what: &str,
    ok: impl FnMut(&acrscope::engine::Progress) -> bool,
) -> acrscope::engine::Progress {
    let mut rx = r.progress.clone();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let got = tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(ok)).await;
        got.unwrap_or_else(|_| panic!("waited 30 s for {what}")).expect("the capture loop ended first").clone()
    })
}

/// The full path of a program: PATH first, then the sbin directories a non-login shell may lack
/// (the root tests start dnsmasq, tcpdump, ss, openssl from there).
pub fn tool(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false));
    found
}

/// The fields of `/proc/PID/status` (uid, capabilities, NoNewPrivs of a running acrscope).
pub fn proc_status(pid: u32) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading /proc/PID/status");
    text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.to_string(), v.trim().to_string())).collect()
}
