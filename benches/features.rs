//! Benchmarks of `mlrig-features` on the shipped Adult sample: fitting the
//! `FeatureSpec::infer` pipeline (mean-impute + scale numerics,
//! most-frequent-impute + one-hot strings), transforming the whole sample,
//! and transforming one JSON record — the serving hot path.
//!
//! `features/fit_transform_1m` fits and transforms the 1,000,000-row
//! synthetic file of `../shared/tools/make_big.py` (10 numeric columns, 5
//! string columns with 3 to 1,000 levels; CSR output) when
//! `MLRIG_BENCH_BIG_CSV` names it; reading the CSV is not timed.
//!
//! Run with `cargo bench --bench features`; results land in
//! `target/criterion/features/<bench>/new/estimates.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod adult_sample;
mod bench_config;
mod big_csv;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlrig::core::arrow_array::RecordBatch;
use mlrig::core::{Fit, ParamGuard, Transform};
use mlrig::features::{
    FeaturePipelineParams, FeaturePipelineValidParams, FeatureSpec, OutputLayout,
};
use mlrig::ingest::{ReadOptions, read_csv};
use std::hint::black_box;

/// The big synthetic CSV's target column.
const BIG_TARGET: &str = "label";

/// The Adult sample as `read_csv` returns it with default options (one
/// batch: the sample is smaller than the default batch size).
fn adult_batches() -> Vec<RecordBatch> {
    let (_, batches, _) = read_csv(adult_sample::PATH, ReadOptions::default()).unwrap();
    batches
}

fn inferred_params(batches: &[RecordBatch]) -> FeaturePipelineValidParams {
    let spec = FeatureSpec::infer(&batches[0].schema(), adult_sample::TARGET).unwrap();
    FeaturePipelineParams::new(spec).check().unwrap()
}

fn features(c: &mut Criterion) {
    let batches = adult_batches();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let params = inferred_params(&batches);
    let pipeline = params.fit(&batches).unwrap();
    let record = adult_sample::first_record();
    // The record transforms to the same row as the batch (same code path).
    assert_eq!(
        pipeline
            .transform_record(&record)
            .unwrap()
            .to_dense()
            .row(0),
        pipeline.transform(&batches[0]).unwrap().to_dense().row(0)
    );

    let mut group = c.benchmark_group("features");
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("fit_adult_sample", |b| {
        b.iter(|| params.fit(black_box(&batches)).unwrap())
    });
    group.bench_function("transform_adult_sample", |b| {
        b.iter(|| {
            for batch in &batches {
                black_box(pipeline.transform(black_box(batch)).unwrap());
            }
        })
    });
    group.bench_function("fit_transform_adult_sample", |b| {
        b.iter(|| {
            let fitted = params.fit(black_box(&batches)).unwrap();
            for batch in &batches {
                black_box(fitted.transform(batch).unwrap());
            }
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("transform_record", |b| {
        b.iter(|| pipeline.transform_record(black_box(&record)).unwrap())
    });
    group.finish();
}

/// Fit + transform of the big synthetic file into one CSR matrix: what
/// scikit-learn's `ColumnTransformer.fit_transform` does.
fn fit_transform_big(c: &mut Criterion) {
    let Some((schema, batches, rows)) = big_csv::read("features/fit_transform_1m") else {
        return;
    };
    let spec = FeatureSpec::infer(&schema, BIG_TARGET)
        .unwrap()
        .with_output(OutputLayout::Sparse);
    let params = FeaturePipelineParams::new(spec).check().unwrap();
    let fitted = params.fit(&batches).unwrap();
    let features = fitted.transform_batches(&batches).unwrap();
    eprintln!(
        "features/fit_transform_1m: {} batches, {rows} rows -> {} x {}, {} non-zeros",
        batches.len(),
        features.nrows(),
        features.ncols(),
        features.to_sparse().nnz()
    );
    drop(features);

    let mut group = big_csv::group(c, "features", rows);
    group.bench_function("fit_transform_1m", |b| {
        b.iter(|| {
            let fitted = params.fit(black_box(&batches)).unwrap();
            fitted.transform_batches(&batches).unwrap()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = bench_config::criterion();
    targets = features, fit_transform_big
}
criterion_main!(benches);
