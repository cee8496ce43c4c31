//! Flow lookup: every TCP/UDP packet finds (or opens) its flow and is counted in it.

mod common;

use std::hint::black_box;
use std::time::Duration;

use acrscope::flow::FlowTable;
use acrscope::packet::{self, link::linktype, Packet};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use common::wire::{Rng, Tcp, ACK, FIN, MSS, SYN};

/// `flows` established connections, then `per_flow` data segments of each, interleaved.
fn trace(flows: usize, per_flow: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(11);
    let mut conns: Vec<Tcp> = (0..flows)
        .map(|i| {
            let client = common::v4(10, 1, (i / 250) as u8, 4 + (i % 250) as u8);
            let server = common::v4(20, 60, (i % 200) as u8, 36);
            Tcp::new(&mut rng, common::CLIENT_MAC, client, 40_000 + (i % 20_000) as u16, server, 443)
        })
        .collect();
    let data = vec![0x5a; MSS];
    let mut out = Vec::new();
    for k in conns.iter_mut() {
        out.push(k.seg(true, SYN, &[]));
    }
    for round in 0..per_flow {
        for k in conns.iter_mut() {
            out.push(if round % 3 == 2 { k.seg(true, ACK, &[]) } else { k.seg(false, ACK, &data) });
        }
    }
    for k in conns.iter_mut() {
        out.push(k.seg(true, FIN | ACK, &[]));
    }
    out
}

fn decoded(frames: &[Vec<u8>]) -> Vec<Packet<'_>> {
    frames.iter().map(|f| packet::decode(linktype::ETHERNET, f).unwrap().0).collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("flow_table");
    g.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));

    // Lookups in a warm table of 4,096 active flows.
    let frames = trace(4096, 8);
    let pkts = decoded(&frames);
    let mut table = FlowTable::new(1_000_000);
    for (i, p) in pkts.iter().enumerate() {
        table.observe(p, i as i64, i as u64, 0, None);
    }
    let hot = &pkts[4096..pkts.len() - 4096];
    g.throughput(Throughput::Elements(hot.len() as u64));
    g.bench_function("observe_4096_active", |b| {
        b.iter(|| {
            for (i, p) in hot.iter().enumerate() {
                black_box(table.observe(p, 1_000 + i as i64, i as u64, 0, None));
            }
        })
    });

    // Opening 50,000 flows into an empty table, then their packets (the many-flows shape).
    let frames = trace(50_000, 3);
    let pkts = decoded(&frames);
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.sample_size(10);
    g.bench_function("open_and_count_50k_flows", |b| {
        b.iter_batched_ref(
            || FlowTable::new(1_000_000),
            |t| {
                for (i, p) in pkts.iter().enumerate() {
                    black_box(t.observe(p, i as i64, i as u64, 0, None));
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
