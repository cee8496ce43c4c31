//! Writes large, realistic, deterministic captures for the benchmarks (benches/compare.sh).
//!
//! ```sh
//! cargo run --release --example gen_capture -- --seed 1 --pulls 200 --out target/bench-data/pulls.pcap
//! cargo run --release --example gen_capture -- --seed 1 --short-flows 200000 --out target/bench-data/flows.pcap
//! ```
//!
//! Pull mode: registry pulls in the four ACR set-ups (a: login + storage account, b: dedicated
//! data endpoint, c: private link to private addresses, d: private link alias resolved to public
//! addresses). Each pull resolves its login server and its data host (UDP DNS, whole CNAME
//! chains; an A query, or AAAA for the one pull in five that runs over IPv6), opens two login
//! connections and three layer downloads (TLS 1.3 ClientHellos with SNI, ALPN,
//! supported_versions and key_share; half carry a 1216-byte X25519MLKEM768 share and so span two
//! segments), streams the layers in 1448-byte segments that the client ACKs every second one,
//! and closes with FIN/ACK. 200 pulls make about 1.1 GB and 1.1 M packets.
//!
//! Short-flows mode: `N` short TLS connections from 200 clients to a few thousand host names
//! (ACR and other registries), each a handshake, a ClientHello, a server flight, a request, a
//! response and a FIN close, about 14 packets; DNS lookups whenever a client's cached answer has
//! expired. 200,000 flows make about 2.8 M packets and 1.5 GB.
//!
//! `--data-scale F` multiplies the bytes each flow carries (the layers of a pull, the response of
//! a short flow) without changing the flows: same seed, same flows, same DNS answers. Pulls with
//! `--data-scale 2` have twice the packets; short flows need `--data-scale 5.5` for that (their
//! response is 2 of their ~13 packets).
//!
//! Classic pcap, microsecond timestamps, Ethernet, checksums correct. Same arguments, same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use clap::Parser;

#[path = "../benches/common/wire.rs"]
mod wire;

use wire::*;

#[derive(Parser, Debug)]
#[command(about = "Writes a deterministic synthetic capture of ACR pulls or of many short TLS flows")]
struct Args {
    /// Seed of the generator: the same seed and options give the same file, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Registry pulls to write (pull mode).
    #[arg(long, default_value_t = 200)]
    pulls: u32,
    /// Write this many short TLS flows instead of pulls.
    #[arg(long)]
    short_flows: Option<u32>,
    /// Multiplies the data each flow carries (same flows, more packets).
    #[arg(long, default_value_t = 1.0)]
    data_scale: f64,
    /// Output file (pcap).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut w = PcapWriter::create(&args.out)?;
    let mut g = Gen::new(args.seed, args.data_scale);
    match args.short_flows {
        Some(n) => g.short_flows(&mut w, n)?,
        None => g.pulls(&mut w, args.pulls)?,
    }
    w.finish()?;
    eprintln!(
        "{}: {} packets, {} bytes, {} TCP flows, {} DNS answers",
        args.out.display(),
        w.packets,
        w.bytes,
        g.tcp_flows,
        g.dns_answers
    );
    Ok(())
}

// ---- pcap output --------------------------------------------------------------------------

struct PcapWriter {
    out: BufWriter<File>,
    packets: u64,
    bytes: u64,
    last_ns: i64,
}

impl PcapWriter {
    fn create(path: &std::path::Path) -> std::io::Result<PcapWriter> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&[0; 8])?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?; // Ethernet
        Ok(PcapWriter { out, packets: 0, bytes: 24, last_ns: 0 })
    }

    fn packet(&mut self, ts_ns: i64, frame: &[u8]) -> std::io::Result<()> {
        // Time never goes backwards in a capture written by one tap.
        let ts = ts_ns.max(self.last_ns);
        self.last_ns = ts;
        let us = ts / 1000;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(frame)?;
        self.packets += 1;
        self.bytes += 16 + frame.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Packets of a few flows, merged into time order before they are written.
#[derive(Default)]
struct Batch {
    pkts: Vec<(i64, u32, Vec<u8>)>,
    order: u32,
}

impl Batch {
    fn push(&mut self, ts_ns: i64, frame: Vec<u8>) {
        self.pkts.push((ts_ns, self.order, frame));
        self.order += 1;
    }

    fn write(&mut self, w: &mut PcapWriter) -> std::io::Result<i64> {
        self.pkts.sort_unstable_by_key(|p| (p.0, p.1));
        let mut last = w.last_ns;
        for (ts, _, f) in self.pkts.drain(..) {
            w.packet(ts, &f)?;
            last = last.max(ts);
        }
        self.order = 0;
        Ok(last)
    }
}

// ---- the ACR world ------------------------------------------------------------------------

const REGIONS: [(&str, &str, &str); 8] = [
    ("japaneast", "jpe", "tyo22"),
    ("eastus", "eus", "bl2"),
    ("westeurope", "weu", "ams23"),
    ("westus2", "wus2", "mwh20"),
    ("southeastasia", "sea", "sg2"),
    ("northeurope", "neu", "db5"),
    ("australiaeast", "aue", "syd26"),
    ("uksouth", "uks", "lon24"),
];

const WORDS: [&str; 24] = [
    "fabrikam",
    "contoso",
    "northwind",
    "adventure",
    "tailspin",
    "wingtip",
    "litware",
    "proseware",
    "fourthcoffee",
    "woodgrove",
    "alpine",
    "margie",
    "lucerne",
    "coho",
    "wideworld",
    "relecloud",
    "trey",
    "humongous",
    "blueyonder",
    "datum",
    "southridge",
    "lamna",
    "graphic",
    "vanarsdel",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    /// Login server and a storage account.
    Blob,
    /// Dedicated data endpoint.
    Dedicated,
    /// Private link: private addresses.
    PrivateLink,
    /// Private link alias in the chain, public addresses.
    AliasPublic,
}

struct Registry {
    name: String,
    region: usize,
    setup: Setup,
    account: String,
    cluster: u32,
    /// Private endpoint addresses (login, data) for `Setup::PrivateLink`.
    private: (Ipv4Addr, Ipv4Addr),
}

/// A name the client resolves and connects to, with what DNS says about it.
#[derive(Clone)]
struct Host {
    name: String,
    chain: Vec<String>,
    v4: IpAddr,
    v6: Option<IpAddr>,
}

fn region_v4(region: usize, kind: u8, n: u8) -> IpAddr {
    // Azure front ends: 20.x / 40.x / 52.x, one block per region and kind.
    let first = [40u8, 20, 52, 13][usize::from(kind) % 4];
    IpAddr::V4(Ipv4Addr::new(first, 40 + region as u8 * 7 + kind, 197, 128 + n))
}

fn region_v6(region: usize, kind: u8, n: u8) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2603, 0x1030, 0x0400 + region as u16, u16::from(kind), 0, 0, 0, u16::from(n) + 1))
}

impl Registry {
    fn new(rng: &mut Rng, i: usize) -> Registry {
        let word = WORDS[i % WORDS.len()];
        let name = format!("{word}{}{:03}", ["reg", "acr", "cr", "prod", "dev"][i / WORDS.len() % 5], i);
        let region = rng.below(REGIONS.len() as u64) as usize;
        let setup = [Setup::Blob, Setup::Dedicated, Setup::PrivateLink, Setup::AliasPublic][i % 4];
        let abbr = REGIONS[region].1;
        let account = format!("{abbr}acrprod{}st{:02}", i % 7, rng.below(40));
        let p = i as u8;
        let private = if i % 8 < 4 {
            (Ipv4Addr::new(10, 20 + (i / 250) as u8, p, 4), Ipv4Addr::new(10, 20 + (i / 250) as u8, p, 5))
        } else {
            (Ipv4Addr::new(192, 168, p, 72), Ipv4Addr::new(192, 168, p, 73))
        };
        Registry { name, region, setup, account, cluster: rng.range(1, 40) as u32, private }
    }

    fn login_host(&self) -> Host {
        let (region, abbr, _) = REGIONS[self.region];
        let n = (self.name.len() % 3) as u8;
        let fe = vec![
            format!("{abbr}-{n}-az.fe.azcr.io"),
            format!("{abbr}-{n}-acr-az-reg.trafficmanager.net"),
            format!("r0223{abbr}-{n}-az.{region}.cloudapp.azure.com"),
        ];
        let name = format!("{}.azurecr.io", self.name);
        let alias = format!("{}.privatelink.azurecr.io", self.name);
        let mut chain = vec![name.clone()];
        let (v4, v6) = match self.setup {
            Setup::Blob | Setup::Dedicated => {
                chain.extend(fe);
                (region_v4(self.region, 0, n), Some(region_v6(self.region, 0, n)))
            }
            Setup::PrivateLink => {
                chain.push(alias);
                (IpAddr::V4(self.private.0), None)
            }
            Setup::AliasPublic => {
                chain.push(alias);
                chain.extend(fe);
                (region_v4(self.region, 0, n), Some(region_v6(self.region, 0, n)))
            }
        };
        Host { name, chain, v4, v6 }
    }

    fn data_host(&self) -> Host {
        let (region, abbr, site) = REGIONS[self.region];
        let dp = vec![
            format!("{abbr}-0.data.azcr.io"),
            format!("{abbr}-acr-dp.trafficmanager.net"),
            format!("d0223{abbr}.{region}.cloudapp.azure.com"),
        ];
        let name = format!("{}.{region}.data.azurecr.io", self.name);
        let alias = format!("{}.{region}.data.privatelink.azurecr.io", self.name);
        match self.setup {
            Setup::Blob => {
                let name = format!("{}.blob.core.windows.net", self.account);
                let chain = vec![name.clone(), format!("blob.{site}prdstr{:02}a.store.core.windows.net", self.cluster)];
                let c = self.cluster as u8;
                let v4 = IpAddr::V4(Ipv4Addr::new(20, 60 + self.region as u8, c, 36));
                let v6 = IpAddr::V6(Ipv6Addr::new(0x2603, 0x1037, self.region as u16, u16::from(c), 0, 0, 0, 0x24));
                Host { name, chain, v4, v6: Some(v6) }
            }
            Setup::Dedicated => {
                let mut chain = vec![name.clone()];
                chain.extend(dp);
                Host { name, chain, v4: region_v4(self.region, 1, 0), v6: Some(region_v6(self.region, 1, 0)) }
            }
            Setup::PrivateLink => {
                Host { name: name.clone(), chain: vec![name, alias], v4: IpAddr::V4(self.private.1), v6: None }
            }
            Setup::AliasPublic => {
                let mut chain = vec![name.clone(), alias];
                chain.extend(dp);
                Host { name, chain, v4: region_v4(self.region, 1, 0), v6: Some(region_v6(self.region, 1, 0)) }
            }
        }
    }
}

/// Other names a node pulling images talks to.
fn other_hosts() -> Vec<Host> {
    let mk = |name: &str, chain: &[&str], a: [u8; 4], v6: u16| Host {
        name: name.to_string(),
        chain: std::iter::once(name).chain(chain.iter().copied()).map(str::to_string).collect(),
        v4: IpAddr::V4(Ipv4Addr::from(a)),
        v6: Some(IpAddr::V6(Ipv6Addr::new(0x2a01, 0x111, 0xf100, v6, 0, 0, 0, 1))),
    };
    vec![
        mk("mcr.microsoft.com", &["mcr.microsoft.com.akamaized.net", "a1234.dscx.akamai.net"], [23, 45, 67, 89], 1),
        mk(
            "login.microsoftonline.com",
            &["login.mso.msidentity.com", "ak.privatelink.msidentity.com"],
            [20, 190, 160, 20],
            2,
        ),
        mk(
            "management.azure.com",
            &["management.privatelink.azure.com", "arm-frontdoor-prod.trafficmanager.net"],
            [4, 150, 240, 10],
            3,
        ),
        mk("registry-1.docker.io", &[], [54, 227, 20, 253], 4),
        mk("auth.docker.io", &[], [54, 236, 113, 205], 5),
        mk("production.cloudflare.docker.com", &[], [104, 16, 99, 55], 6),
        mk("ghcr.io", &[], [140, 82, 121, 33], 7),
        mk("pkg-containers.githubusercontent.com", &[], [185, 199, 108, 154], 8),
    ]
}

struct Client {
    mac: [u8; 6],
    v4: IpAddr,
    v6: IpAddr,
    next_port: u16,
    dns_id: u16,
}

impl Client {
    fn new(i: usize) -> Client {
        Client {
            mac: [0x00, 0x0d, 0x3a, 0x10, (i >> 8) as u8, i as u8],
            v4: IpAddr::V4(Ipv4Addr::new(10, 1, (i / 250) as u8, 4 + (i % 250) as u8)),
            v6: IpAddr::V6(Ipv6Addr::new(0xfd00, 0x10, 0x1, 0, 0, 0, (i >> 16) as u16, i as u16 + 4)),
            next_port: 40_000 + (i as u16 % 64) * 300,
            dns_id: i as u16 * 7919,
        }
    }

    fn port(&mut self) -> u16 {
        self.next_port = if self.next_port >= 60_999 { 32_768 } else { self.next_port + 1 };
        self.next_port
    }
}

const RESOLVER: IpAddr = IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16));

struct Gen {
    rng: Rng,
    scale: f64,
    noise: Vec<u8>,
    tcp_flows: u64,
    dns_answers: u64,
}

impl Gen {
    fn new(seed: u64, scale: f64) -> Gen {
        let mut rng = Rng(seed ^ 0x5eed_acc0_5c0e);
        let mut noise = vec![0u8; 1 << 16];
        rng.fill(&mut noise);
        Gen { rng, scale: scale.max(0.01), noise, tcp_flows: 0, dns_answers: 0 }
    }

    fn scaled(&self, n: usize) -> usize {
        ((n as f64) * self.scale).round().max(1.0) as usize
    }

    /// A query and its answer; returns the time after the answer.
    fn dns(&mut self, b: &mut Batch, c: &mut Client, host: &Host, v6: bool, t: i64) -> i64 {
        c.dns_id = c.dns_id.wrapping_add(1);
        let port = c.port();
        let qtype = if v6 { 28 } else { 1 };
        let q = dns_message(c.dns_id, &host.name, qtype, None);
        b.push(t, udp_frame(c.mac, GATEWAY_MAC, (c.v4, port), (RESOLVER, 53), 64, c.dns_id, &q));
        let addrs: Vec<IpAddr> = if v6 { host.v6.into_iter().collect() } else { vec![host.v4] };
        let r = dns_message(c.dns_id, &host.name, qtype, Some((&host.chain, &addrs, 60)));
        let t = t + self.rng.range(400_000, 3_000_000) as i64;
        b.push(t, udp_frame(GATEWAY_MAC, c.mac, (RESOLVER, 53), (c.v4, port), 128, c.dns_id, &r));
        self.dns_answers += 1;
        t
    }

    /// Handshake and ClientHello/server flight; returns the connection and the time after.
    fn open(&mut self, b: &mut Batch, c: &mut Client, host: &Host, v6: bool, t: i64, rtt: i64) -> (Tcp, i64) {
        self.tcp_flows += 1;
        let server = if v6 { host.v6.unwrap_or(host.v4) } else { host.v4 };
        let client = if server.is_ipv6() { c.v6 } else { c.v4 };
        let mut k = Tcp::new(&mut self.rng, c.mac, client, c.port(), server, 443);
        let mut t = t;
        b.push(t, k.seg(true, SYN, &[]));
        t += rtt;
        b.push(t, k.seg(false, SYN | ACK, &[]));
        t += 30_000;
        b.push(t, k.seg(true, ACK, &[]));
        let pq = self.rng.chance(1, 2);
        let alpn = self.rng.chance(2, 3);
        let ch = client_hello(&mut self.rng, &host.name, pq, alpn);
        for part in ch.chunks(MSS) {
            t += 15_000;
            b.push(t, k.seg(true, PSH | ACK, part));
        }
        t += rtt;
        let enc = self.rng.range(2500, 4200) as usize;
        let flight = server_flight(&mut self.rng, pq, enc);
        for (i, part) in flight.chunks(MSS).enumerate() {
            b.push(t, k.seg(false, if i == 0 { ACK } else { PSH | ACK }, part));
            if i % 2 == 1 {
                b.push(t + 20_000, k.seg(true, ACK, &[]));
            }
            t += 12_000;
        }
        // Change cipher spec and Finished.
        let mut fin = vec![0x14, 0x03, 0x03, 0x00, 0x01, 0x01];
        fin.extend(app_data(&mut self.rng, 53));
        t += 40_000;
        b.push(t, k.seg(true, PSH | ACK, &fin));
        (k, t)
    }

    /// A request and its response of `resp` bytes, with ACKs.
    fn exchange(&mut self, b: &mut Batch, k: &mut Tcp, t: i64, req: usize, resp: usize, rtt: i64) -> i64 {
        let mut t = t + 50_000;
        let r = app_data(&mut self.rng, req);
        for part in r.chunks(MSS) {
            b.push(t, k.seg(true, PSH | ACK, part));
            t += 10_000;
        }
        t += rtt;
        let r = app_data(&mut self.rng, resp);
        for (i, part) in r.chunks(MSS).enumerate() {
            b.push(t, k.seg(false, PSH | ACK, part));
            if i % 2 == 1 {
                b.push(t + 20_000, k.seg(true, ACK, &[]));
            }
            t += 12_000;
        }
        t += 25_000;
        b.push(t, k.seg(true, ACK, &[]));
        t
    }

    fn close(&mut self, b: &mut Batch, k: &mut Tcp, t: i64, rtt: i64) -> i64 {
        let mut t = t + 100_000;
        b.push(t, k.seg(true, FIN | ACK, &[]));
        t += rtt;
        b.push(t, k.seg(false, FIN | ACK, &[]));
        t += 30_000;
        b.push(t, k.seg(true, ACK, &[]));
        t
    }

    /// A layer download: `total` bytes in MSS segments, one client ACK per two segments.
    fn download(&mut self, b: &mut Batch, k: &mut Tcp, t: i64, total: usize, rtt: i64) -> i64 {
        let mut t = self.exchange(b, k, t, 420, 900, rtt);
        let s = Stream { total, salt: self.rng.below(1 << 16) as usize };
        let gap = self.rng.range(9_000, 16_000) as i64; // 0.7-1.3 Gbit/s
        let mut buf = Vec::with_capacity(MSS);
        let mut off = 0;
        let mut n = 0u64;
        while off < total {
            buf.clear();
            s.write(&self.noise, off, &mut buf);
            off += buf.len();
            b.push(t, k.seg(false, ACK, &buf));
            n += 1;
            if n % 2 == 0 || off >= total {
                b.push(t + 25_000, k.seg(true, ACK, &[]));
            }
            t += gap;
        }
        t + 25_000
    }

    fn pulls(&mut self, w: &mut PcapWriter, pulls: u32) -> std::io::Result<()> {
        let registries: Vec<Registry> = (0..50).map(|i| Registry::new(&mut self.rng, i)).collect();
        let mut clients: Vec<Client> = (0..20).map(Client::new).collect();
        let mut b = Batch::default();
        let mut t: i64 = 1_760_000_000 * 1_000_000_000;
        for p in 0..pulls {
            let reg = &registries[self.rng.below(registries.len() as u64) as usize];
            let login = reg.login_host();
            let data = reg.data_host();
            let c = &mut clients[p as usize % 20];
            let v6 = reg.setup != Setup::PrivateLink && self.rng.chance(1, 5);
            let rtt =
                if reg.setup == Setup::PrivateLink { 900_000 } else { self.rng.range(1_500_000, 4_000_000) as i64 };
            let mut now = self.dns(&mut b, c, &login, v6, t);
            // Login server: the API version check and token, then the manifest.
            for _ in 0..2 {
                let (mut k, at) = self.open(&mut b, c, &login, v6, now + 200_000, rtt);
                let mut at = self.exchange(&mut b, &mut k, at, 620, 1_700, rtt);
                at = self.exchange(&mut b, &mut k, at, 700, 2_900, rtt);
                now = self.close(&mut b, &mut k, at, rtt);
            }
            let at = self.dns(&mut b, c, &data, v6, now + 300_000);
            // Three layers at once.
            let mut end = at;
            for l in 0..3 {
                let raw = self.rng.range(300_000, 3_200_000) as usize;
                let size = self.scaled(raw);
                let (mut k, at2) = self.open(&mut b, c, &data, v6, at + l * 70_000, rtt);
                let done = self.download(&mut b, &mut k, at2, size, rtt);
                end = end.max(self.close(&mut b, &mut k, done, rtt));
            }
            t = b.write(w)?.max(end) + self.rng.range(200_000_000, 2_000_000_000) as i64;
        }
        Ok(())
    }

    /// About 14 packets: handshake, ClientHello, a two-segment server flight, Finished with
    /// the request, a two-segment response, ACKs, FIN close.
    fn short_flow(&mut self, b: &mut Batch, c: &mut Client, host: &Host, t: i64, rtt: i64) -> i64 {
        self.tcp_flows += 1;
        let mut k = Tcp::new(&mut self.rng, c.mac, c.v4, c.port(), host.v4, 443);
        let mut t = t;
        b.push(t, k.seg(true, SYN, &[]));
        t += rtt;
        b.push(t, k.seg(false, SYN | ACK, &[]));
        t += 30_000;
        b.push(t, k.seg(true, ACK, &[]));
        let pq = self.rng.chance(1, 4);
        let alpn = self.rng.chance(2, 3);
        let ch = client_hello(&mut self.rng, &host.name, pq, alpn);
        for part in ch.chunks(MSS) {
            t += 15_000;
            b.push(t, k.seg(true, PSH | ACK, part));
        }
        t += rtt;
        // Resumed or compressed certificates: the flight fits in two segments.
        let hello_len = if pq { 1_250 } else { 130 };
        let enc = 2 * MSS - hello_len - 6 - 5 - self.rng.below(200) as usize;
        let flight = server_flight(&mut self.rng, pq, enc);
        for part in flight.chunks(MSS) {
            b.push(t, k.seg(false, PSH | ACK, part));
            t += 12_000;
        }
        // Finished and the request in one segment.
        let mut req = vec![0x14, 0x03, 0x03, 0x00, 0x01, 0x01];
        req.extend(app_data(&mut self.rng, 53));
        let n = self.rng.range(150, 320) as usize;
        req.extend(app_data(&mut self.rng, n));
        t += 40_000;
        b.push(t, k.seg(true, PSH | ACK, &req));
        t += rtt;
        // Filled from the noise table: `--data-scale` changes the packets, not the flows.
        let n = self.scaled(2 * MSS - 5);
        let resp = app_data_noise(&self.noise, self.rng.below(1 << 16) as usize, n);
        for (i, part) in resp.chunks(MSS).enumerate() {
            b.push(t, k.seg(false, PSH | ACK, part));
            if i % 2 == 1 {
                b.push(t + 20_000, k.seg(true, ACK, &[]));
            }
            t += 12_000;
        }
        if resp.len().div_ceil(MSS) % 2 == 1 {
            b.push(t + 20_000, k.seg(true, ACK, &[]));
        }
        self.close(b, &mut k, t, rtt)
    }

    fn short_flows(&mut self, w: &mut PcapWriter, flows: u32) -> std::io::Result<()> {
        let registries: Vec<Registry> = (0..2000).map(|i| Registry::new(&mut self.rng, i)).collect();
        let others = other_hosts();
        let mut clients: Vec<Client> = (0..200).map(Client::new).collect();
        // Each client pulls from a handful of registries.
        let working: Vec<Vec<usize>> = (0..clients.len())
            .map(|_| (0..4).map(|_| self.rng.below(registries.len() as u64) as usize).collect())
            .collect();
        let mut cache: Vec<rustc_hash::FxHashMap<String, i64>> =
            (0..clients.len()).map(|_| Default::default()).collect();
        let mut b = Batch::default();
        let mut t: i64 = 1_760_000_000 * 1_000_000_000;
        let per_batch = 256;
        let mut done = 0;
        while done < flows {
            let n = per_batch.min(flows - done);
            let mut end = t;
            for i in 0..n {
                let ci = self.rng.below(clients.len() as u64) as usize;
                let pick = self.rng.below(10);
                let host = if pick < 7 {
                    let reg = &registries[working[ci][self.rng.below(4) as usize]];
                    if pick < 3 {
                        reg.login_host()
                    } else {
                        reg.data_host()
                    }
                } else {
                    others[self.rng.below(others.len() as u64) as usize].clone()
                };
                let c = &mut clients[ci];
                let mut start = t + i64::from(i) * 1_900_000 + self.rng.below(1_000_000) as i64;
                let expired = cache[ci].get(&host.name).is_none_or(|&until| until < start);
                if expired {
                    start = self.dns(&mut b, c, &host, false, start) + 100_000;
                    cache[ci].insert(host.name.clone(), start + 60_000_000_000);
                }
                let rtt = self.rng.range(800_000, 6_000_000) as i64;
                end = end.max(self.short_flow(&mut b, c, &host, start, rtt));
            }
            done += n;
            // The next batch starts once this one is done, at a time that does not depend on
            // how much data the flows carried (so `--data-scale` keeps the same flows).
            b.write(w)?;
            t = (t + i64::from(n) * 1_900_000 + 100_000_000).max(end);
        }
        Ok(())
    }
}
