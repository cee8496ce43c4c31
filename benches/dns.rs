//! DNS response handling: decoding an ACR answer (CNAME chain of four names and an address),
//! and the session's handling of answer frames (decode, flow, parse, index by address).

mod common;

use std::hint::black_box;
use std::time::Duration;

use acrscope::capture::Frame;
use acrscope::dissect::dns;
use acrscope::packet::link::linktype;
use acrscope::session::Session;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dns");
    g.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));

    let msg = common::acr_dns_message(0x78b0, "fabrikamreg.azurecr.io", &[common::v4(40, 79, 197, 136)]);
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_acr_chain", |b| b.iter(|| dns::parse_message(black_box(&msg)).unwrap()));

    // 1,000 answers for 50 names over 8 shared front-end addresses, into a fresh session.
    let frames: Vec<Vec<u8>> = (0..1000u16)
        .map(|i| {
            let name = format!("registry{:02}.azurecr.io", i % 50);
            common::acr_dns_response(i, &name, &[common::v4(40, 79, 197, 128 + (i % 8) as u8)])
        })
        .collect();
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("session_1000_answers", |b| {
        b.iter_batched_ref(
            Session::default,
            |s| {
                for (i, f) in frames.iter().enumerate() {
                    s.ingest(&Frame {
                        number: i as u64 + 1,
                        ts_ns: i as i64 * 1_000_000,
                        link_type: linktype::ETHERNET,
                        interface: 0,
                        orig_len: f.len() as u32,
                        offset: 0,
                        data: f,
                        comment: None,
                    });
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
