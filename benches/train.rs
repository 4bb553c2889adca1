//! Benchmarks of `mlrig-train` on the shipped Adult sample: L2 logistic
//! regression fit on the `FeatureSpec::infer` features (dense and CSR), one
//! SGD epoch (`partial_fit`), the label-leakage check, prediction of one row and of the whole sample,
//! and the whole serving path for one JSON record (`transform_record` +
//! `predict`); the same for gradient-boosted trees (100 rounds, 31 leaves) on
//! the tree features (raw numbers, category codes).
//!
//! Run with `cargo bench --bench train`; results land in
//! `target/criterion/train/<bench>/new/estimates.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod adult_sample;
mod bench_config;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlrig::core::arrow_array::RecordBatch;
use mlrig::core::arrow_schema::Schema;
use mlrig::core::{Features, Fit, ParamGuard, Predict, Transform};
use mlrig::features::{FeaturePipelineParams, FeatureSpec, FeaturesError, FittedFeaturePipeline};
use mlrig::ingest::{ReadOptions, read_csv};
use mlrig::train::{
    ClassTarget, Dataset, GradientBoostingParams, LeakageParams, LogisticRegressionParams, Model,
    SgdClassifierLoss, SgdClassifierParams,
};
use std::hint::black_box;

/// How a feature spec is inferred from the schema and the target.
type Inference = fn(&Schema, &str) -> Result<FeatureSpec, FeaturesError>;

/// The Adult sample read, its feature pipeline inferred by `infer` and
/// fitted, and the transformed features with the class target.
fn adult_features(infer: Inference) -> (FittedFeaturePipeline, Features, ClassTarget) {
    let (_, batches, _) = read_csv(adult_sample::PATH, ReadOptions::default()).unwrap();
    assert_eq!(batches.len(), 1, "the sample fits in one default batch");
    let batch: &RecordBatch = &batches[0];
    let spec = infer(&batch.schema(), adult_sample::TARGET).unwrap();
    let pipeline = FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(&batches)
        .unwrap();
    let features = pipeline.transform(batch).unwrap();
    let target = ClassTarget::from_column(batch, adult_sample::TARGET).unwrap();
    (pipeline, features, target)
}

fn train(c: &mut Criterion) {
    let (pipeline, features, target) = adult_features(FeatureSpec::infer);
    let rows = features.to_dense().nrows();
    let dataset = Dataset::new(&features, &target).unwrap();
    let params = LogisticRegressionParams::default().check().unwrap();
    let fitted = params.fit(&dataset).unwrap();
    assert!(fitted.converged(), "the benchmarked fit must converge");
    let model = Model::from(fitted);

    let mut group = c.benchmark_group("train");
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("logistic_fit_adult_sample", |b| {
        b.iter(|| params.fit(black_box(&dataset)).unwrap())
    });
    let sparse = features.to_sparse_features();
    let sparse_dataset = Dataset::new(&sparse, &target).unwrap();
    group.bench_function("logistic_fit_adult_sample_csr", |b| {
        b.iter(|| params.fit(black_box(&sparse_dataset)).unwrap())
    });
    let sgd = SgdClassifierParams::default()
        .with_loss(SgdClassifierLoss::LogLoss)
        .with_shuffle(false)
        .check()
        .unwrap();
    let started = sgd.fit(&sparse_dataset).unwrap();
    group.bench_function("sgd_epoch_adult_sample_csr", |b| {
        b.iter_batched(
            || started.clone(),
            |mut model| model.partial_fit(black_box(&sparse_dataset)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    let (_, batches, _) = read_csv(adult_sample::PATH, ReadOptions::default()).unwrap();
    let batch = &batches[0];
    let (train, eval) = (
        batch.slice(0, 3257),
        batch.slice(3257, batch.num_rows() - 3257),
    );
    let leakage = LeakageParams::default().check().unwrap();
    let task = model.task();
    group.bench_function("leakage_check_adult_sample", |b| {
        b.iter(|| {
            let (t, e) = (std::slice::from_ref(&train), std::slice::from_ref(&eval));
            leakage.run(t, e, adult_sample::TARGET, &task).unwrap()
        })
    });
    predictions(&mut group, "logistic_", &model, &features, &pipeline);
    group.finish();
}

/// Prediction of the whole sample, of one row, and the serving path of one
/// JSON record (`transform_record` + `predict`); the predictions are named
/// `<prefix>predict_…`, the record `serve_one_record` (as before).
fn predictions(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    prefix: &str,
    model: &Model,
    features: &Features,
    pipeline: &FittedFeaturePipeline,
) {
    let record = adult_sample::first_record();
    let one_row = pipeline.transform_record(&record).unwrap();
    group.throughput(Throughput::Elements(features.nrows() as u64));
    group.bench_function(format!("{prefix}predict_adult_sample"), |b| {
        b.iter(|| model.predict(black_box(features)).unwrap())
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("{prefix}predict_one_row"), |b| {
        b.iter(|| model.predict(black_box(&one_row)).unwrap())
    });
    group.bench_function("serve_one_record", |b| {
        b.iter(|| {
            let row = pipeline.transform_record(black_box(&record)).unwrap();
            model.predict(&row).unwrap()
        })
    });
}

/// Gradient-boosted trees on the features trees get in a pipeline
/// (`FeatureSpec::infer_for_trees`: raw numbers, category codes split
/// natively): the fit (100 rounds, 31 leaves) and predictions.
fn gbdt(c: &mut Criterion) {
    let (pipeline, features, target) = adult_features(FeatureSpec::infer_for_trees);
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
    let model = Model::from(model);

    let mut group = c.benchmark_group("gbdt");
    group.throughput(Throughput::Elements(features.nrows() as u64));
    group.bench_function("fit_adult_sample_100_rounds_31_leaves", |b| {
        b.iter(|| params.fit(black_box(&dataset)).unwrap())
    });
    predictions(&mut group, "", &model, &features, &pipeline);
    group.finish();
}

criterion_group! {
    name = benches;
    config = bench_config::criterion();
    targets = train, gbdt
}
criterion_main!(benches);
