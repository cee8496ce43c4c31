//! Link and IP decoding of the frames a pull capture is made of (Ethernet, IPv4 and IPv6, TCP
//! data and ACKs, a few DNS answers): the first thing every frame costs.

mod common;

use std::hint::black_box;
use std::time::Duration;

use acrscope::packet::{self, link::linktype, Transport};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const FRAMES: usize = 4096;

fn bench(c: &mut Criterion) {
    let frames = common::pull_mix(FRAMES);
    let mut g = c.benchmark_group("decode");
    g.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.bench_function("ethernet_pull_mix_4096", |b| {
        b.iter(|| {
            let mut bytes = 0usize;
            for f in &frames {
                if let Ok((p, _)) = packet::decode(linktype::ETHERNET, black_box(f)) {
                    if let Transport::Tcp(acrscope::packet::TcpSegment { payload, .. })
                    | Transport::Udp { payload, .. } = p.transport
                    {
                        bytes += payload.len();
                    }
                }
            }
            bytes
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
