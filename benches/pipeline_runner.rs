//! Benchmarks of the pipeline runner (`mlrig run`, `Pipeline::run`): what a
//! run costs when every step runs, and what the runner itself costs when
//! nothing changed (fingerprinting the spans, looking up each step's key).
//!
//! * `pipeline/adult_sample_full`: the shipped Adult sample from ingest to
//!   push, in a fresh pipeline root and base path each iteration.
//! * `pipeline/adult_sample_cached`: the same config run again: every step cached.
//! * `pipeline/big_csv_1m_cached` (only when `MLRIG_BENCH_BIG_CSV` names the
//!   1,000,000-row file of `../shared/tools/make_big.py`): a cached run over
//!   that file — the cost of noticing that nothing changed.
//!
//! Run with `cargo bench --bench pipeline_runner`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

// Shared with the other benches; this one takes their paths and settings, not their readers.
#[allow(dead_code)]
mod adult_sample;
mod bench_config;
#[allow(dead_code)]
mod big_csv;

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlrig::pipeline::{Pipeline, PipelineConfig, RunOutcome};

/// A pipeline over `data` whose state, schema and versions live in `dir`.
fn pipeline(data: &Path, target: &str, dir: &Path) -> Pipeline {
    let text = format!(
        "name = \"bench\"\n[data]\nfiles = [{:?}]\ntarget = {target:?}\n[gates.anomalies]\nallow = [\"ENUM_TYPE_UNEXPECTED_STRING_VALUES\"]\n[push]\nbase_path = \"models\"\n",
        data.display().to_string()
    );
    let config = PipelineConfig::from_toml_str(&text, "bench.toml").unwrap();
    Pipeline::new(config, dir)
}

fn runs(c: &mut Criterion) {
    let data = Path::new(adult_sample::PATH);
    let rows = std::fs::read_to_string(data).unwrap().lines().count() as u64 - 1;
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(rows));
    group.sample_size(10);
    group.bench_function("adult_sample_full", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().unwrap();
            let record = pipeline(data, adult_sample::TARGET, dir.path())
                .run()
                .unwrap();
            assert!(matches!(record.outcome, RunOutcome::Pushed { .. }));
        });
    });
    let dir = tempfile::tempdir().unwrap();
    let warm = pipeline(data, adult_sample::TARGET, dir.path());
    warm.run().unwrap();
    group.bench_function("adult_sample_cached", |b| {
        b.iter(|| {
            let record = warm.run().unwrap();
            assert!(matches!(record.outcome, RunOutcome::Unchanged { .. }));
        });
    });
    group.finish();

    let Some(path) = std::env::var_os(big_csv::VAR) else {
        eprintln!(
            "SKIPPED pipeline/big_csv_1m_cached: set {} to the CSV of `make_big.py --rows 1000000`",
            big_csv::VAR
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let big = pipeline(Path::new(&path), "label", dir.path());
    let first = big.run().unwrap();
    let rows = first.steps[0].summary["rows_read"].as_u64().unwrap_or(0);
    let mut group = big_csv::group(c, "pipeline", rows as usize);
    group.bench_function("big_csv_1m_cached", |b| {
        b.iter(|| {
            assert!(matches!(
                big.run().unwrap().outcome,
                RunOutcome::Unchanged { .. }
            ))
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = bench_config::criterion();
    targets = runs
}
criterion_main!(benches);
