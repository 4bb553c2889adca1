//! Benchmarks of static inference (`mlrig predict`, `BatchPredictJob`): the
//! whole streaming path — read the CSV, score every batch with the bundle's
//! servable on all cores, write the prediction table atomically.
//!
//! * `predict/adult_sample_csv`: the shipped Adult sample scored by the
//!   logistic regression `TrainingJob` trains on it, into a CSV table.
//! * `predict/big_csv_1m` (only when `MLRIG_BENCH_BIG_CSV` names the
//!   1,000,000-row file of `../shared/tools/make_big.py`): that file scored by
//!   the logistic regression trained on it (training is not timed), into a
//!   CSV table; reading the file *is* timed here, it is part of the path.
//!
//! Run with `cargo bench --bench predict`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

// Shared with the other benches; this one takes their paths and settings, not their readers.
#[allow(dead_code)]
mod adult_sample;
mod bench_config;
#[allow(dead_code)]
mod big_csv;

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlrig::pipeline::{BatchPredictJob, TrainingJob};

/// Trains the default model for `target` on `data` as model `name` under
/// `dir`; returns the model directory.
fn train(data: &Path, target: &str, dir: &Path, name: &str) -> PathBuf {
    TrainingJob::new(data, target)
        .with_name(name)
        .with_output_dir(dir)
        .run()
        .unwrap();
    dir.join(name)
}

fn predict(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(adult_sample::PATH);
    let model = train(data, adult_sample::TARGET, dir.path(), "adult");
    let job = BatchPredictJob::new(&model, data, dir.path().join("adult.csv"));
    let rows = job.run().unwrap().rows_read;
    let mut group = c.benchmark_group("predict");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("adult_sample_csv", |b| b.iter(|| job.run().unwrap()));
    group.finish();

    let Some(path) = std::env::var_os(big_csv::VAR) else {
        eprintln!(
            "SKIPPED predict/big_csv_1m: set {} to the CSV of `make_big.py --rows 1000000`",
            big_csv::VAR
        );
        return;
    };
    let big = Path::new(&path);
    let model = train(big, "label", dir.path(), "big");
    let job = BatchPredictJob::new(&model, big, dir.path().join("big.csv"));
    let rows = job.run().unwrap().rows_read;
    let mut group = big_csv::group(c, "predict", rows as usize);
    group.bench_function("big_csv_1m", |b| b.iter(|| job.run().unwrap()));
    group.finish();
}

criterion_group! {
    name = benches;
    config = bench_config::criterion();
    targets = predict
}
criterion_main!(benches);
