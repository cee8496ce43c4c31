//! Loading Azure service tags and looking addresses up in them, on a synthetic file shaped like
//! Microsoft's (about 3,000 tags and 50,000 prefixes, nested, IPv4 and IPv6). Generated in
//! memory and deterministic, so the figures compare across runs and machines.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use acrscope::classify::service_tags::ServiceTags;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};

const REGIONS: usize = 60;
const SERVICES: usize = 48;
const LOOKUPS: usize = 100_000;

/// xorshift64*: fixed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

#[derive(Clone, Copy)]
enum Net {
    V4(u32, u8),
    V6(u128, u8),
}

impl Net {
    fn text(self) -> String {
        match self {
            Net::V4(a, l) => format!("{}/{l}", Ipv4Addr::from(a)),
            Net::V6(a, l) => format!("{}/{l}", Ipv6Addr::from(a)),
        }
    }

    /// A narrower network inside this one.
    fn sub(self, rng: &mut Rng, len: u8) -> Net {
        match self {
            Net::V4(a, l) => {
                let free = u32::from(len - l);
                let part = (rng.next() as u32) & ((1u32 << free) - 1);
                let host = 32 - u32::from(len);
                Net::V4(a | part.checked_shl(host).unwrap_or(0), len)
            }
            Net::V6(a, l) => {
                let free = u32::from(len - l);
                let part = u128::from(rng.next()) & ((1u128 << free) - 1);
                let host = 128 - u32::from(len);
                Net::V6(a | part.checked_shl(host).unwrap_or(0), len)
            }
        }
    }

    fn random_address(self, rng: &mut Rng) -> IpAddr {
        match self {
            Net::V4(a, l) => {
                let host = (rng.next() as u32).checked_shr(u32::from(l)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(a | host))
            }
            Net::V6(a, l) => {
                let bits = (u128::from(rng.next()) << 64) | u128::from(rng.next());
                IpAddr::V6(Ipv6Addr::from(a | bits.checked_shr(u32::from(l)).unwrap_or(0)))
            }
        }
    }
}

fn tag(name: &str, region: &str, service: &str, nets: &[Net]) -> Value {
    let prefixes: Vec<String> = nets.iter().map(|n| n.text()).collect();
    json!({
        "name": name,
        "id": name,
        "properties": {
            "changeNumber": 42,
            "region": region,
            "regionId": 0,
            "platform": "Azure",
            "systemService": service,
            "addressPrefixes": prefixes,
            "networkFeatures": ["API", "NSG", "UDR", "FW"]
        }
    })
}

struct Fixture {
    json: String,
    listed: usize,
    addresses: Vec<IpAddr>,
}

fn fixture() -> Fixture {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut values = Vec::new();
    let mut all_cloud = Vec::new();
    let mut region_blocks = Vec::new();
    let mut service_nets = Vec::new();

    let regions: Vec<Vec<Net>> = (0..REGIONS)
        .map(|_| {
            let mut blocks: Vec<Net> = (0..10)
                .map(|_| {
                    let a = (rng.range(20, 220) as u32) << 24 | (rng.below(256) as u32) << 16;
                    Net::V4(a, rng.range(14, 16) as u8)
                })
                .collect();
            blocks.extend((0..4).map(|_| {
                let a = (0x2603_u128 << 112) | (u128::from(rng.below(1 << 16)) << 96);
                Net::V6(a, 32)
            }));
            blocks
        })
        .collect();
    for (r, blocks) in regions.iter().enumerate() {
        all_cloud.extend_from_slice(blocks);
        region_blocks.extend_from_slice(blocks);
        values.push(tag(&format!("AzureCloud.region{r}"), &format!("region{r}"), "", blocks));
    }
    values.push(tag("AzureCloud", "", "", &all_cloud));

    for s in 0..SERVICES {
        let service = format!("Service{s}");
        let mut wide = Vec::new();
        for (r, blocks) in regions.iter().enumerate() {
            let nets: Vec<Net> = (0..rng.range(5, 12))
                .map(|_| {
                    let parent = blocks[rng.below(blocks.len() as u64) as usize];
                    let len = match parent {
                        Net::V4(..) => rng.range(20, 32) as u8,
                        Net::V6(..) => rng.range(40, 64) as u8,
                    };
                    parent.sub(&mut rng, len)
                })
                .collect();
            wide.extend_from_slice(&nets);
            service_nets.extend_from_slice(&nets);
            values.push(tag(&format!("{service}.Region{r}"), &format!("region{r}"), &service, &nets));
        }
        values.push(tag(&service, "", &service, &wide));
    }
    let listed = 2 * (all_cloud.len() + service_nets.len());
    let json = serde_json::to_string_pretty(&json!({
        "changeNumber": 312,
        "cloud": "Public",
        "values": values
    }))
    .unwrap_or_default();

    // Mostly addresses a pull would meet (inside service ranges), some only inside the broad
    // ranges, some in nothing at all.
    let addresses = (0..LOOKUPS)
        .map(|i| match i % 10 {
            0..=5 => service_nets[rng.below(service_nets.len() as u64) as usize].random_address(&mut rng),
            6 | 7 => region_blocks[rng.below(region_blocks.len() as u64) as usize].random_address(&mut rng),
            8 => IpAddr::V4(Ipv4Addr::from(rng.next() as u32)),
            _ => IpAddr::V6(Ipv6Addr::from((u128::from(rng.next()) << 64) | u128::from(rng.next()))),
        })
        .collect();
    Fixture { json, listed, addresses }
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    let tags = match ServiceTags::from_json(&f.json, "synthetic.json") {
        Ok(t) => t,
        Err(e) => panic!("the synthetic file must load: {e}"),
    };
    let hits: usize = f.addresses.iter().map(|a| tags.lookup(*a).len()).sum();
    eprintln!(
        "synthetic service tags: {} bytes, {} tags, {} listed prefixes ({} distinct), \
         {LOOKUPS} lookups giving {hits} matches",
        f.json.len(),
        tags.len(),
        f.listed,
        tags.prefix_count()
    );

    let mut g = c.benchmark_group("service_tags");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Bytes(f.json.len() as u64));
    g.bench_function("from_json", |b| {
        b.iter(|| ServiceTags::from_json(black_box(&f.json), "synthetic.json").map(|t| t.len()))
    });
    g.throughput(Throughput::Elements(LOOKUPS as u64));
    g.bench_function("lookup_100k", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for a in &f.addresses {
                n += tags.lookup(black_box(*a)).len();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
