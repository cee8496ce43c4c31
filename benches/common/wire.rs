//! Wire-format builders shared by the capture generator (examples/gen_capture.rs) and the
//! criterion benchmarks: Ethernet, IPv4/IPv6, TCP with timestamps, UDP, TLS 1.3 hellos and
//! records, DNS messages with compressed CNAME chains. Checksums are correct.
#![allow(dead_code)]

use std::net::IpAddr;

// ---- randomness ---------------------------------------------------------------------------

/// SplitMix64: tiny, seedable, good enough for synthetic traffic.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
    pub fn fill(&mut self, out: &mut [u8]) {
        for c in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

// ---- packets ------------------------------------------------------------------------------

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const MSS: usize = 1448;
pub const GATEWAY_MAC: [u8; 6] = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc];

pub fn checksum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

pub fn checksum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4/IPv6 around an L4 segment whose checksum field sits at `csum_at`.
#[allow(clippy::too_many_arguments)]
pub fn ip_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ttl: u8,
    ip_id: u16,
    mut l4: Vec<u8>,
    csum_at: usize,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 40 + l4.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    // Pseudo-header sum for the L4 checksum.
    let mut sum = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum = checksum_add(sum, &s.octets());
            sum = checksum_add(sum, &d.octets());
            sum += u32::from(proto) + l4.len() as u32;
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            sum = checksum_add(sum, &s.octets());
            sum = checksum_add(sum, &d.octets());
            sum += l4.len() as u32 + u32::from(proto);
        }
        _ => unreachable!("mixed address families"),
    }
    sum = checksum_add(sum, &l4);
    let mut c = checksum_fold(sum);
    if c == 0 && proto == 17 {
        c = 0xffff;
    }
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&[0x08, 0x00]);
            let total = (20 + l4.len()) as u16;
            let mut h = [0u8; 20];
            h[0] = 0x45;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[4..6].copy_from_slice(&ip_id.to_be_bytes());
            h[6] = 0x40; // DF
            h[8] = ttl;
            h[9] = proto;
            h[12..16].copy_from_slice(&s.octets());
            h[16..20].copy_from_slice(&d.octets());
            let hc = checksum_fold(checksum_add(0, &h));
            h[10..12].copy_from_slice(&hc.to_be_bytes());
            f.extend_from_slice(&h);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend_from_slice(&[0x60, 0x0a, (ip_id >> 8) as u8 & 0x0f, ip_id as u8]);
            f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            f.push(proto);
            f.push(ttl);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => unreachable!(),
    }
    f.extend_from_slice(&l4);
    f
}

/// One TCP connection as the client's capture sees it.
pub struct Tcp {
    pub c_mac: [u8; 6],
    pub c: IpAddr,
    pub s: IpAddr,
    pub cport: u16,
    pub sport: u16,
    pub c_next: u32,
    pub s_next: u32,
    pub c_tsval: u32,
    pub s_tsval: u32,
    pub c_id: u16,
    pub s_id: u16,
    pub s_ttl: u8,
}

impl Tcp {
    pub fn new(rng: &mut Rng, c_mac: [u8; 6], c: IpAddr, cport: u16, s: IpAddr, sport: u16) -> Tcp {
        Tcp {
            c_mac,
            c,
            s,
            cport,
            sport,
            c_next: rng.next() as u32,
            s_next: rng.next() as u32,
            c_tsval: rng.next() as u32 >> 4,
            s_tsval: rng.next() as u32 >> 4,
            c_id: rng.next() as u16,
            s_id: rng.next() as u16,
            s_ttl: if matches!(s, IpAddr::V4(a) if a.is_private()) { 64 } else { 113 },
        }
    }

    /// A segment in either direction; sequence numbers advance by what it carries.
    pub fn seg(&mut self, up: bool, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (seq, ack) = if up { (self.c_next, self.s_next) } else { (self.s_next, self.c_next) };
        let syn = flags & SYN != 0;
        let mut t = Vec::with_capacity(40 + payload.len());
        let (sp, dp) = if up { (self.cport, self.sport) } else { (self.sport, self.cport) };
        t.extend_from_slice(&sp.to_be_bytes());
        t.extend_from_slice(&dp.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&(if flags & ACK != 0 { ack } else { 0 }).to_be_bytes());
        let hlen: u8 = if syn { 40 } else { 32 };
        t.push((hlen / 4) << 4);
        t.push(flags);
        t.extend_from_slice(&(if syn { 64_240u16 } else { 2_048 }).to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
        let (tsval, tsecr) = if up { (self.c_tsval, self.s_tsval) } else { (self.s_tsval, self.c_tsval) };
        if syn {
            // MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
            t.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
            t.extend_from_slice(&tsval.to_be_bytes());
            t.extend_from_slice(&(if flags & ACK != 0 { tsecr } else { 0 }).to_be_bytes());
            t.extend_from_slice(&[1, 3, 3, 7]);
        } else {
            t.extend_from_slice(&[1, 1, 8, 10]);
            t.extend_from_slice(&tsval.to_be_bytes());
            t.extend_from_slice(&tsecr.to_be_bytes());
        }
        t.extend_from_slice(payload);
        let adv = payload.len() as u32 + u32::from(syn) + u32::from(flags & FIN != 0);
        if up {
            self.c_next = self.c_next.wrapping_add(adv);
            self.c_tsval = self.c_tsval.wrapping_add(1);
            self.c_id = self.c_id.wrapping_add(1);
            ip_frame(self.c_mac, GATEWAY_MAC, self.c, self.s, 6, 64, self.c_id, t, 16)
        } else {
            self.s_next = self.s_next.wrapping_add(adv);
            self.s_tsval = self.s_tsval.wrapping_add(1);
            self.s_id = self.s_id.wrapping_add(1);
            ip_frame(GATEWAY_MAC, self.c_mac, self.s, self.c, 6, self.s_ttl, self.s_id, t, 16)
        }
    }
}

pub fn udp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    ttl: u8,
    id: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&src.1.to_be_bytes());
    u.extend_from_slice(&dst.1.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    ip_frame(src_mac, dst_mac, src.0, dst.0, 17, ttl, id, u, 6)
}

// ---- TLS ----------------------------------------------------------------------------------

pub const X25519MLKEM768: u16 = 0x11ec;
pub const X25519: u16 = 0x001d;

pub fn put16(v: &mut Vec<u8>, x: usize) {
    v.extend_from_slice(&(x as u16).to_be_bytes());
}

pub fn ext(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    out.extend_from_slice(&ty.to_be_bytes());
    put16(out, data.len());
    out.extend_from_slice(data);
}

pub fn handshake_record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![0x16, 0x03, 0x01];
    put16(&mut r, body.len() + 4);
    r.push(ty);
    r.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    r.extend_from_slice(body);
    r
}

/// A TLS 1.3 ClientHello record as Go's crypto/tls sends it (docker, containerd).
pub fn client_hello(rng: &mut Rng, sni: &str, pq: bool, alpn: bool) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    body.extend_from_slice(&random);
    body.push(32);
    rng.fill(&mut random);
    body.extend_from_slice(&random);
    let suites = [
        0x1301u16, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014,
        0x009c, 0x009d, 0x002f, 0x0035,
    ];
    put16(&mut body, suites.len() * 2);
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    let mut sn = vec![0];
    put16(&mut sn, sni.len());
    sn.extend_from_slice(sni.as_bytes());
    let mut sn_list = Vec::new();
    put16(&mut sn_list, sn.len());
    sn_list.extend_from_slice(&sn);
    ext(&mut exts, 0, &sn_list);
    ext(&mut exts, 5, &[1, 0, 0, 0, 0]);
    let groups: &[u16] =
        if pq { &[X25519MLKEM768, X25519, 0x0017, 0x0018, 0x0019] } else { &[X25519, 0x0017, 0x0018, 0x0019] };
    let mut g = Vec::new();
    put16(&mut g, groups.len() * 2);
    for x in groups {
        g.extend_from_slice(&x.to_be_bytes());
    }
    ext(&mut exts, 10, &g);
    ext(&mut exts, 11, &[1, 0]);
    ext(&mut exts, 35, &[]);
    let sigs = [0x0804u16, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603, 0x0201, 0x0203];
    let mut sg = Vec::new();
    put16(&mut sg, sigs.len() * 2);
    for s in sigs {
        sg.extend_from_slice(&s.to_be_bytes());
    }
    ext(&mut exts, 13, &sg);
    ext(&mut exts, 0xff01, &[0]);
    if alpn {
        let list = b"\x02h2\x08http/1.1";
        let mut a = Vec::new();
        put16(&mut a, list.len());
        a.extend_from_slice(list);
        ext(&mut exts, 16, &a);
    }
    ext(&mut exts, 18, &[]);
    ext(&mut exts, 43, &[4, 0x03, 0x04, 0x03, 0x03]);
    let mut shares = Vec::new();
    if pq {
        let mut k = vec![0u8; 1216];
        rng.fill(&mut k);
        shares.extend_from_slice(&X25519MLKEM768.to_be_bytes());
        put16(&mut shares, k.len());
        shares.extend_from_slice(&k);
    }
    let mut k = [0u8; 32];
    rng.fill(&mut k);
    shares.extend_from_slice(&X25519.to_be_bytes());
    put16(&mut shares, 32);
    shares.extend_from_slice(&k);
    let mut ks = Vec::new();
    put16(&mut ks, shares.len());
    ks.extend_from_slice(&shares);
    ext(&mut exts, 51, &ks);
    ext(&mut exts, 45, &[1, 1]);
    put16(&mut body, exts.len());
    body.extend_from_slice(&exts);
    handshake_record(1, &body)
}

/// ServerHello, ChangeCipherSpec and the encrypted rest of the server's first flight.
pub fn server_flight(rng: &mut Rng, pq: bool, encrypted: usize) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    body.extend_from_slice(&random);
    body.push(32);
    rng.fill(&mut random);
    body.extend_from_slice(&random);
    body.extend_from_slice(&0x1301u16.to_be_bytes());
    body.push(0);
    let mut exts = Vec::new();
    ext(&mut exts, 43, &[0x03, 0x04]);
    let (group, len) = if pq { (X25519MLKEM768, 1120) } else { (X25519, 32) };
    let mut share = group.to_be_bytes().to_vec();
    put16(&mut share, len);
    let mut k = vec![0u8; len];
    rng.fill(&mut k);
    share.extend_from_slice(&k);
    ext(&mut exts, 51, &share);
    put16(&mut body, exts.len());
    body.extend_from_slice(&exts);
    let mut out = handshake_record(2, &body);
    out.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    out.extend(app_data(rng, encrypted));
    out
}

/// Encrypted application data records carrying `n` bytes in all.
pub fn app_data(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + n / 16384 * 5 + 5);
    let mut left = n;
    while left > 0 {
        let len = left.min(16384 + 17);
        out.extend_from_slice(&[0x17, 0x03, 0x03]);
        put16(&mut out, len);
        let at = out.len();
        out.resize(at + len, 0);
        rng.fill(&mut out[at..]);
        left -= len;
    }
    out
}

/// [`app_data`] filled from a noise table instead of the generator, so that how much is sent
/// does not change what is drawn next.
pub fn app_data_noise(noise: &[u8], salt: usize, n: usize) -> Vec<u8> {
    let s = Stream { total: n + n.div_ceil(REC_BODY) * 5, salt };
    let mut out = Vec::with_capacity(s.total);
    while out.len() < s.total {
        let at = out.len();
        s.write(noise, at, &mut out);
    }
    out
}

/// Bytes of a long encrypted download: full-size records, the last one shorter.
pub struct Stream {
    pub total: usize,
    pub salt: usize,
}

pub const REC_BODY: usize = 16384 + 17;
pub const REC: usize = REC_BODY + 5;

impl Stream {
    pub fn write(&self, noise: &[u8], from: usize, out: &mut Vec<u8>) {
        let end = (from + MSS).min(self.total);
        let mut off = from;
        while off < end {
            let rec = off / REC;
            let pos = off % REC;
            if pos < 5 {
                let len = (self.total - rec * REC - 5).min(REC_BODY);
                out.push([0x17, 0x03, 0x03, (len >> 8) as u8, len as u8][pos]);
                off += 1;
                continue;
            }
            let upto = ((rec + 1) * REC).min(end);
            let at = (off + self.salt) & (noise.len() - 1);
            let n = (upto - off).min(noise.len() - at);
            out.extend_from_slice(&noise[at..at + n]);
            off += n;
        }
    }
}

// ---- DNS ----------------------------------------------------------------------------------

pub fn dns_name(out: &mut Vec<u8>, name: &str, seen: &mut Vec<(String, u16)>) {
    let mut rest = name;
    loop {
        if rest.is_empty() {
            out.push(0);
            return;
        }
        if let Some((_, at)) = seen.iter().find(|(n, _)| n == rest) {
            out.extend_from_slice(&(0xc000 | at).to_be_bytes());
            return;
        }
        if out.len() < 0x3fff {
            seen.push((rest.to_string(), out.len() as u16));
        }
        let (label, next) = rest.split_once('.').unwrap_or((rest, ""));
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
        rest = next;
    }
}

/// A query (`answers` None) or a response: the CNAME chain from `name`, then the addresses.
pub fn dns_message(id: u16, name: &str, qtype: u16, answers: Option<(&[String], &[IpAddr], u32)>) -> Vec<u8> {
    let mut m = Vec::with_capacity(256);
    m.extend_from_slice(&id.to_be_bytes());
    let (flags, ancount) = match answers {
        None => (0x0100u16, 0usize),
        Some((chain, addrs, _)) => (0x8180, chain.len().saturating_sub(1) + addrs.len()),
    };
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&(ancount as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    let mut seen = Vec::new();
    dns_name(&mut m, name, &mut seen);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    let Some((chain, addrs, ttl)) = answers else {
        return m;
    };
    let rr = |m: &mut Vec<u8>, owner: &str, ty: u16, seen: &mut Vec<(String, u16)>| {
        dns_name(m, owner, seen);
        m.extend_from_slice(&ty.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
    };
    for pair in chain.windows(2) {
        rr(&mut m, &pair[0], 5, &mut seen);
        let len_at = m.len();
        m.extend_from_slice(&[0, 0]);
        dns_name(&mut m, &pair[1], &mut seen);
        let rdlen = (m.len() - len_at - 2) as u16;
        m[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    }
    let last = chain.last().map(String::as_str).unwrap_or(name);
    for a in addrs {
        match a {
            IpAddr::V4(v4) => {
                rr(&mut m, last, 1, &mut seen);
                m.extend_from_slice(&4u16.to_be_bytes());
                m.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                rr(&mut m, last, 28, &mut seen);
                m.extend_from_slice(&16u16.to_be_bytes());
                m.extend_from_slice(&v6.octets());
            }
        }
    }
    m
}
