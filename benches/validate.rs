//! Benchmarks of `mlrig-validate` on the shipped Adult samples: statistics of
//! `adult_sample.csv`, validation of `adult_shifted.csv` against the schema
//! inferred from those statistics, and the drift tests (KS, PSI, Wasserstein,
//! χ²) between the two data sets' statistics. Reading the CSVs is not timed.
//!
//! `validate/statistics_1m` computes the statistics of the 1,000,000-row
//! synthetic file of `../shared/tools/make_big.py` when
//! `MLRIG_BENCH_BIG_CSV` names it (reading not timed); `mlrig stats` on the
//! same file, read included, is timed by `scripts/bench_validate.py`.
//!
//! Run with `cargo bench --bench validate`; results land in
//! `target/criterion/validate/<bench>/new/estimates.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod bench_config;
mod big_csv;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlrig::core::arrow_array::RecordBatch;
use mlrig::core::arrow_schema::SchemaRef;
use mlrig::ingest::{ReadOptions, read_csv};
use mlrig::validate::{
    AnomalyKind, DatasetStatistics, DriftTestParams, SchemaInferenceParams, StatisticsParams,
    ValidationOptions, compute_statistics, drift_tests, infer_schema, validate_batches,
};
use std::hint::black_box;

const ADULT_SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/samples/adult_sample.csv");
const ADULT_SHIFTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/samples/adult_shifted.csv"
);

/// A CSV as `read_csv` returns it with default options.
fn read(path: &str) -> (SchemaRef, Vec<RecordBatch>, usize) {
    let (schema, batches, _) = read_csv(path, ReadOptions::default()).unwrap();
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    (schema, batches, rows)
}

fn statistics(schema: &SchemaRef, batches: &[RecordBatch]) -> DatasetStatistics {
    compute_statistics(batches, schema, &StatisticsParams::default()).unwrap()
}

fn validate(c: &mut Criterion) {
    let (sample_schema, sample, sample_rows) = read(ADULT_SAMPLE);
    let (shifted_schema, shifted, shifted_rows) = read(ADULT_SHIFTED);
    let params = StatisticsParams::default();
    let reference = statistics(&sample_schema, &sample);
    let current = statistics(&shifted_schema, &shifted);
    let schema = infer_schema(&reference, &SchemaInferenceParams::default());
    let options = ValidationOptions::default();

    // The work measured below finds what it should: the shifted sample has an
    // unseen workclass and the drift tests cover the shared columns.
    let anomalies = validate_batches(&schema, &shifted_schema, &shifted, &options).unwrap();
    assert!(
        anomalies
            .get("workclass", &AnomalyKind::EnumTypeUnexpectedStringValues)
            .is_some(),
        "{anomalies}"
    );
    let tests = drift_tests(&reference, &current, &DriftTestParams::default()).unwrap();
    assert!(tests.iter().any(|t| t.drift_detected), "{tests:?}");

    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(sample_rows as u64));
    group.bench_function("statistics_adult_sample", |b| {
        b.iter(|| compute_statistics(black_box(&sample), &sample_schema, &params).unwrap())
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("infer_schema_adult_sample", |b| {
        b.iter(|| infer_schema(black_box(&reference), &SchemaInferenceParams::default()))
    });
    group.throughput(Throughput::Elements(shifted_rows as u64));
    group.bench_function("validate_adult_shifted", |b| {
        b.iter(|| {
            validate_batches(&schema, &shifted_schema, black_box(&shifted), &options).unwrap()
        })
    });
    group.throughput(Throughput::Elements(tests.len() as u64));
    group.bench_function("drift_tests_adult", |b| {
        b.iter(|| {
            drift_tests(
                black_box(&reference),
                black_box(&current),
                &DriftTestParams::default(),
            )
            .unwrap()
        })
    });
    group.finish();
}

/// Statistics of the big synthetic file, from batches already in memory.
fn statistics_big(c: &mut Criterion) {
    let Some((schema, batches, rows)) = big_csv::read("validate/statistics_1m") else {
        return;
    };
    let params = StatisticsParams::default();

    let mut group = big_csv::group(c, "validate", rows);
    group.bench_function("statistics_1m", |b| {
        b.iter(|| compute_statistics(black_box(&batches), &schema, &params).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = bench_config::criterion();
    targets = validate, statistics_big
}
criterion_main!(benches);
