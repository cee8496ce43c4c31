//! Naming and classifying every flow after the read (`Analyzer::analyze`) on the many-flows
//! shape: 20,000 short TLS flows from 200 clients to 400 registries, whose login servers share
//! eight front-end addresses, with a DNS answer before each client's first flow to a name.

mod common;

use std::time::Duration;

use acrscope::analysis::Analyzer;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const FLOWS: usize = 20_000;

fn bench(c: &mut Criterion) {
    let s = common::many_flows_session(FLOWS);
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
