//! Naming and classifying every flow after the read (`Analyzer::analyze`) on the many-flows
//! shape: 20,000 short TLS flows from 200 clients to 400 registries, whose login servers share
//! eight front-end addresses, with a DNS answer before each client's first flow to a name.

mod common;

use std::time::Duration;

use acrscope::analysis::Analyzer;
use acrscope::capture::Frame;
use acrscope::packet::link::linktype;
use acrscope::session::Session;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use common::wire::{client_hello, dns_message, udp_frame, Rng, Tcp, ACK, GATEWAY_MAC, PSH, SYN};

const FLOWS: usize = 20_000;

fn session() -> Session {
    let mut rng = Rng(5);
    let mut s = Session::default();
    let mut n = 0u64;
    let mut ingest = |s: &mut Session, ts: i64, f: &[u8]| {
        n += 1;
        s.ingest(&Frame {
            number: n,
            ts_ns: ts,
            link_type: linktype::ETHERNET,
            interface: 0,
            orig_len: f.len() as u32,
            offset: 0,
            data: f,
        });
    };
    let mut seen = std::collections::HashSet::new();
    for i in 0..FLOWS {
        let ts = i as i64 * 2_000_000;
        let client_no = i % 200;
        let client = common::v4(10, 1, 0, client_no as u8);
        let mac = [0, 0x0d, 0x3a, 0x10, 0, client_no as u8];
        let reg = (client_no * 2 + i / 200 % 2) % 400;
        let (name, server) = match i % 3 {
            0 => (format!("registry{reg:03}.azurecr.io"), common::v4(40, 79, 197, 128 + (reg % 8) as u8)),
            1 => {
                (format!("registry{reg:03}.japaneast.data.azurecr.io"), common::v4(40, 79, 198, 128 + (reg % 8) as u8))
            }
            _ => (format!("jpeacrprod{reg:03}.blob.core.windows.net"), common::v4(20, 60, 33, (reg % 8) as u8)),
        };
        if seen.insert((client_no, name.clone())) {
            let chain = common::acr_chain(&name);
            let msg = dns_message(i as u16, &name, 1, Some((&chain, &[server], 60)));
            let f = udp_frame(GATEWAY_MAC, mac, (common::v4(168, 63, 129, 16), 53), (client, 30_000), 128, 1, &msg);
            ingest(&mut s, ts, &f);
        }
        let mut k = Tcp::new(&mut rng, mac, client, 40_000 + (i / 200) as u16, server, 443);
        ingest(&mut s, ts + 1, &k.seg(true, SYN, &[]));
        ingest(&mut s, ts + 2, &k.seg(false, SYN | ACK, &[]));
        let ch = client_hello(&mut rng, &name, false, true);
        ingest(&mut s, ts + 3, &k.seg(true, PSH | ACK, &ch));
    }
    s.finish();
    s
}

fn bench(c: &mut Criterion) {
    let s = session();
    assert_eq!(s.flows().len(), FLOWS + 200);
    let analyzer = Analyzer::default();
    let mut g = c.benchmark_group("analysis");
    g.sample_size(10).measurement_time(Duration::from_secs(6)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(s.flows().len() as u64));
    g.bench_function("analyze_20k_flows", |b| b.iter(|| analyzer.analyze(&s)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
