//! Benchmarks of the live monitor on the shipped Adult sample (reading the
//! CSV is not timed):
//!
//! * `live_monitor/observe_8_rows`: the request path — what
//!   `MetricsLayer` adds to a response of 8 rows (a registry lookup, `Arc`
//!   clones, the scores copied, a `try_send`).
//! * `live_monitor/pane_close_100_rows`: the worker — 100 rows arriving in
//!   requests of 10 rows, accumulated and closing one pane of a 10-pane,
//!   1,000-row window: the window's statistics merged from its panes and
//!   compared with training (skew), the previous window (drift) and the
//!   evaluation's predictions (prediction drift).
//!
//! Run with `cargo bench -p mlrig-monitor --bench live_monitor`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::ndarray::Array2;
use mlrig_core::{Predictions, ServedPredictions};
use mlrig_monitor::{
    LiveMonitor, ManualClock, MonitoringBaseline, MonitoringConfig, ServingMetrics,
    served_prediction_batch,
};
use mlrig_validate::{SchemaInferenceParams, StatisticsParams, compute_statistics, infer_schema};

const ADULT_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/adult_sample.csv"
);

fn adult() -> RecordBatch {
    let (schema, batches, _) =
        mlrig_ingest::read_csv(ADULT_SAMPLE, mlrig_ingest::ReadOptions::default()).unwrap();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn predictions(rows: usize) -> Predictions {
    Predictions::Classification {
        classes: vec!["<=50K".into(), ">50K".into()],
        probabilities: Array2::from_shape_fn((rows, 2), |(r, c)| {
            let yes = (r % 10) as f64 / 10.0 + 0.05;
            if c == 1 { yes } else { 1.0 - yes }
        }),
    }
}

fn monitor(rows: &RecordBatch, config: MonitoringConfig) -> LiveMonitor {
    let stats = compute_statistics(
        std::slice::from_ref(rows),
        &rows.schema(),
        &StatisticsParams::default(),
    )
    .unwrap();
    let schema = infer_schema(&stats, &SchemaInferenceParams::default());
    let served = ServedPredictions::new("adult", 1, &predictions(1000));
    let p = served_prediction_batch(&served).unwrap();
    let p = compute_statistics(
        std::slice::from_ref(&p),
        &p.schema(),
        &StatisticsParams::default(),
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_secs(1_000_000),
    ));
    let live = LiveMonitor::with_clock(config, Arc::new(ServingMetrics::new()), clock).unwrap();
    live.register_version(
        "adult",
        1,
        MonitoringBaseline::new(stats, schema)
            .with_predictions(p)
            .without_features(&["income"]),
    );
    live
}

fn requests(rows: &RecordBatch, per_request: usize, count: usize) -> Vec<ServedPredictions> {
    let keep: Vec<usize> = (0..rows.num_columns())
        .filter(|i| rows.schema().field(*i).name() != "income")
        .collect();
    let inputs = rows.project(&keep).unwrap();
    (0..count)
        .map(|i| {
            let offset = (i * per_request) % (inputs.num_rows() - per_request);
            ServedPredictions::new("adult", 1, &predictions(per_request))
                .with_inputs(Arc::new(inputs.slice(offset, per_request)))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rows = adult();
    let mut group = c.benchmark_group("live_monitor");

    let live = monitor(
        &rows,
        MonitoringConfig::default().with_queue_capacity(1 << 16),
    );
    let served = requests(&rows, 8, 64);
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("observe_8_rows", |b| {
        b.iter(|| {
            live.observe(black_box(&served[i % served.len()]));
            i += 1;
        });
    });
    live.flush();

    let config = MonitoringConfig::default()
        .with_max_rows(1000)
        .with_panes(10)
        .with_queue_capacity(1 << 12);
    let live = monitor(&rows, config);
    let pane = requests(&rows, 10, 100);
    // Fill the window and the previous window first.
    for served in &pane {
        live.observe(served);
    }
    live.flush();
    group.throughput(Throughput::Elements(100));
    let mut next = 0;
    group.bench_function("pane_close_100_rows", |b| {
        b.iter(|| {
            // 100 rows = one pane.
            for _ in 0..10 {
                live.observe(&pane[next % pane.len()]);
                next += 1;
            }
            live.flush();
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
