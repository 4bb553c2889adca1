//! Benchmarks of gradient-boosted trees on the shipped Adult sample with the
//! features trees get in a pipeline (`FeatureSpec::infer_for_trees`: raw
//! numbers, category codes split natively): the fit (100 rounds, 31
//! leaves), prediction of the whole sample, of one row, and the serving
//! path of one JSON record (`transform_record` + `predict`).
//!
//! Run with `cargo bench --bench gbdt`; results land in
//! `target/criterion/gbdt/<bench>/new/estimates.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod adult_sample;
mod bench_config;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlrig::core::{Fit, ParamGuard, Predict, Transform};
use mlrig::features::{FeaturePipelineParams, FeatureSpec};
use mlrig::ingest::{ReadOptions, read_csv};
use mlrig::train::{ClassTarget, Dataset, GradientBoostingParams};
use std::hint::black_box;

fn gbdt(c: &mut Criterion) {
    let (_, batches, _) = read_csv(adult_sample::PATH, ReadOptions::default()).unwrap();
    let batch = &batches[0];
    let spec = FeatureSpec::infer_for_trees(&batch.schema(), adult_sample::TARGET).unwrap();
    let pipeline = FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(&batches)
        .unwrap();
    let features = pipeline.transform(batch).unwrap();
    let target = ClassTarget::from_column(batch, adult_sample::TARGET).unwrap();
    let categorical = pipeline
        .categorical_outputs()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let params = GradientBoostingParams::default()
        .with_categorical(categorical)
        .check()
        .unwrap();
    let dataset = Dataset::new(&features, &target).unwrap();
    let model = params.fit(&dataset).unwrap();
    assert_eq!(model.rounds(), 100);
    let record = adult_sample::first_record();
    let one_row = pipeline.transform_record(&record).unwrap();

    let mut group = c.benchmark_group("gbdt");
    group.throughput(Throughput::Elements(features.nrows() as u64));
    group.bench_function("fit_adult_sample_100_rounds_31_leaves", |b| {
        b.iter(|| params.fit(black_box(&dataset)).unwrap())
    });
    group.bench_function("predict_adult_sample", |b| {
        b.iter(|| model.predict(black_box(&features)).unwrap())
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("predict_one_row", |b| {
        b.iter(|| model.predict(black_box(&one_row)).unwrap())
    });
    group.bench_function("serve_one_record", |b| {
        b.iter(|| {
            let row = pipeline.transform_record(black_box(&record)).unwrap();
            model.predict(&row).unwrap()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = bench_config::criterion();
    targets = gbdt
}
criterion_main!(benches);
