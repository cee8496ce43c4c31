//! ClientHello reassembly and parsing: a Go 1.24 hello with an X25519MLKEM768 key share spans
//! two segments; an X25519-only hello fits in one.

mod common;

use std::hint::black_box;
use std::time::Duration;

use acrscope::dissect::tls::{parse_client_hello, TlsProgress, TlsReassembler, DEFAULT_CAP};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use common::wire::{client_hello, Rng, MSS};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("tls");
    g.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(1));
    let mut rng = Rng(3);
    let pq = client_hello(&mut rng, "fabrikamreg.japaneast.data.azurecr.io", true, true);
    let small = client_hello(&mut rng, "fabrikamreg.azurecr.io", false, true);
    assert!(pq.len() > MSS && small.len() < MSS);

    g.bench_function("parse_client_hello_pq", |b| b.iter(|| parse_client_hello(black_box(&pq[5..])).unwrap()));
    g.bench_function("reassemble_pq_two_segments", |b| {
        b.iter(|| {
            let mut r = TlsReassembler::new(Some(1000), DEFAULT_CAP);
            let (a, rest) = pq.split_at(MSS);
            assert!(matches!(r.push(1000, black_box(a)), TlsProgress::NeedMore));
            match r.push(1000 + MSS as u32, black_box(rest)) {
                TlsProgress::Done(ev) => ev,
                other => panic!("{other:?}"),
            }
        })
    });
    g.bench_function("reassemble_x25519_one_segment", |b| {
        b.iter(|| {
            let mut r = TlsReassembler::new(Some(1000), DEFAULT_CAP);
            match r.push(1000, black_box(&small)) {
                TlsProgress::Done(ev) => ev,
                other => panic!("{other:?}"),
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
