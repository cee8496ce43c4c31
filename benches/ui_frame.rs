//! The timeline UI with 10,000 flows: building the view model from the session (done when the
//! capture loop read something) and drawing one frame (done at most ~30 times a second). Only the
//! visible rows are laid out, so the frame time must not follow the number of flows.

mod common;

use std::time::Duration;

use acrscope::analysis::Analyzer;
use acrscope::engine::{Shared, SourceStatus};
use acrscope::ui::app::App;
use acrscope::ui::theme::Theme;
use acrscope::ui::ViewKind;
use acrscope::ui::{self, model};
use criterion::{criterion_group, Criterion};

fn shared(flows: usize) -> Shared {
    let session = common::many_flows_session(flows);
    let status = SourceStatus {
        label: format!("bench {flows} flows"),
        clock_ns: session.stats.last_ns,
        start_ns: session.stats.first_ns,
        finished: true,
        ..SourceStatus::default()
    };
    Shared::new(session, status)
}

fn bench(c: &mut Criterion) {
    let analyzer = Analyzer::default();
    let mut g = c.benchmark_group("ui");
    g.sample_size(20).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    for flows in [100usize, 10_000] {
        let sh = shared(flows);
        let m = model::build(&sh, &analyzer, None);
        let mut app = App::new(Theme::new(true), ViewKind::Flows);
        app.sync(&m);
        g.bench_function(format!("draw_frame_120x40_{flows}_flows"), |b| {
            b.iter(|| ui::render_buffer(&app, &m, 120, 40))
        });
        g.bench_function(format!("build_model_{flows}_flows"), |b| b.iter(|| model::build(&sh, &analyzer, None)));
    }
    g.finish();
}

criterion_group!(benches, bench);

// criterion_main!, with the allocator set first as the program sets it: a cold build makes
// megabytes of vectors, and whether they come back as fresh pages depends on that setting
// (docs/performance.md).
fn main() {
    acrscope::malloc::fix_mmap_threshold();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
