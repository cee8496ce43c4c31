//! The JSON flow records of the many-flows shape (20,000 short TLS flows, see
//! benches/common), written twice over the same records: by `serde_json::to_writer` and by
//! `output::literal_keys`, which writes the same bytes (checked here before measuring) without
//! escaping the field names again for every record.

mod common;

use std::time::Duration;

use acrscope::analysis::Analyzer;
use acrscope::output::{json, literal_keys};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const FLOWS: usize = 20_000;

fn bench(c: &mut Criterion) {
    let s = common::many_flows_session(FLOWS);
    let a = Analyzer::default().analyze(&s);
    let write_all = |write: &dyn Fn(&mut Vec<u8>, &json::FlowRecord<'_>)| {
        let mut out = Vec::with_capacity(a.flows.len() * 1024);
        for v in &a.flows {
            write(&mut out, &json::flow_record(&s, v));
        }
        out
    };
    let serde = |out: &mut Vec<u8>, r: &json::FlowRecord<'_>| serde_json::to_writer(out, r).unwrap();
    let literal = |out: &mut Vec<u8>, r: &json::FlowRecord<'_>| literal_keys::write(out, r).unwrap();
    let bytes = write_all(&serde);
    assert_eq!(bytes, write_all(&literal), "the two writers must give the same bytes");
    let mut g = c.benchmark_group("json_flow_records");
    g.sample_size(20).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("serde_json", |b| b.iter(|| write_all(&serde)));
    g.bench_function("literal_keys", |b| b.iter(|| write_all(&literal)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
