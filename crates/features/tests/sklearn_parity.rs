//! Parity with scikit-learn 1.9.1 on the shipped samples, against the
//! fixture written by `tests/fixtures/make_sklearn_features.py`.
//!
//! Where the definitions agree (StandardScaler, MinMaxScaler, mean /
//! most-frequent / constant SimpleImputer, OneHotEncoder) results match to
//! 1e-9 (relative for statistics, absolute for outputs); OrdinalEncoder
//! codes (NaN for unknown and missing) match exactly. Quantile-based
//! results (RobustScaler, median imputation, KBinsDiscretizer edges) come
//! from mlrig's mergeable sketch and must be within its stated bound:
//! `|mlrig − sklearn| ≤ α · max(|x_lower|, |x_higher|)`, α = 0.001, with
//! `x_lower`, `x_higher` the exact order statistics around the quantile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
use mlrig_core::arrow_schema::DataType;
use mlrig_core::{Fit, ParamGuard, Transform};
use mlrig_features::{
    ColumnSpec, ConstantValue, Encoding, FeaturePipelineParams, FeatureSpec, FittedFeaturePipeline,
    Imputation, MinMaxScaleParams, QuantileBucketizeParams, RobustScaleParams,
};
use serde_json::Value;

const ADULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/adult_sample.csv"
);
const CALIFORNIA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/california_sample.csv"
);
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/sklearn_features.json"
);
const ALPHA: f64 = 0.001;

fn fixture() -> Value {
    serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap()
}

fn data(name: &str) -> RecordBatch {
    match name {
        "adult" => common::csv_batch(ADULT, &["?"]).0,
        "california" => common::csv_batch(CALIFORNIA, &[]).0,
        other => panic!("unknown data set {other}"),
    }
}

/// A numeric column as `f64` (the samples have no missing numbers).
fn float_column(batch: &RecordBatch, name: &str) -> Vec<f64> {
    let column = batch.column_by_name(name).unwrap();
    match column.data_type() {
        DataType::Int64 => column
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|v| *v as f64)
            .collect(),
        _ => column.as_primitive::<Float64Type>().values().to_vec(),
    }
}

fn fit(spec: FeatureSpec, batch: &RecordBatch) -> FittedFeaturePipeline {
    FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(std::slice::from_ref(batch))
        .unwrap()
}

fn fit_one(column: ColumnSpec, batch: &RecordBatch) -> (FittedFeaturePipeline, Value) {
    let fitted = fit(FeatureSpec::new().with_column(column), batch);
    let json = serde_json::to_value(&fitted).unwrap();
    (fitted, json["columns"][0].clone())
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn assert_relative(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: mlrig {got} vs sklearn {want}"
    );
}

/// The first rows of output `index` of `fitted` on `batch`, against the
/// fixture's rows (column `index` of each), to 1e-9.
fn assert_rows(
    fitted: &FittedFeaturePipeline,
    batch: &RecordBatch,
    rows: &Value,
    index: usize,
    what: &str,
) {
    let out = fitted.transform(batch).unwrap().to_dense();
    for (row, expected) in rows.as_array().unwrap().iter().enumerate() {
        let want = floats(expected)[index];
        let got = out[[row, 0]];
        assert!(
            (got - want).abs() <= 1e-9,
            "{what} row {row}: {got} vs {want}"
        );
    }
}

/// `|got − want| ≤ α · max(|lower|, |higher|)` (plus float rounding).
fn assert_within_sketch_bound(got: f64, want: f64, brackets: &Value, what: &str) {
    let [lower, higher] = floats(brackets)[..] else {
        panic!("brackets")
    };
    let bound = ALPHA * lower.abs().max(higher.abs()) * (1.0 + 1e-9) + 1e-12;
    assert!(
        (got - want).abs() <= bound,
        "{what}: mlrig {got} vs sklearn {want} (bound {bound})"
    );
}

#[test]
fn standard_min_max_and_robust_scalers() {
    let fixture = fixture();
    for entry in fixture["scalers"].as_array().unwrap() {
        let batch = data(entry["data"].as_str().unwrap());
        for (i, name) in entry["columns"].as_array().unwrap().iter().enumerate() {
            let name = name.as_str().unwrap();

            let (fitted, json) = fit_one(ColumnSpec::standard_scale(name), &batch);
            let stats = &json["encode"]["standard_scale"];
            let standard = &entry["standard"];
            assert_relative(
                stats["mean"].as_f64().unwrap(),
                floats(&standard["mean"])[i],
                name,
            );
            assert_relative(
                stats["scale"].as_f64().unwrap(),
                floats(&standard["scale"])[i],
                name,
            );
            assert_rows(&fitted, &batch, &standard["rows"], i, name);

            let min_max = Encoding::MinMaxScale(MinMaxScaleParams::default());
            let (fitted, json) = fit_one(ColumnSpec::new(name, min_max), &batch);
            let stats = &json["encode"]["min_max_scale"];
            assert_relative(
                stats["scale"].as_f64().unwrap(),
                floats(&entry["min_max"]["scale"])[i],
                name,
            );
            assert_relative(
                stats["offset"].as_f64().unwrap(),
                floats(&entry["min_max"]["min"])[i],
                name,
            );
            assert_rows(&fitted, &batch, &entry["min_max"]["rows"], i, name);

            let symmetric = Encoding::MinMaxScale(MinMaxScaleParams {
                feature_range: [-1.0, 1.0],
                clip: true,
            });
            let (fitted, _) = fit_one(ColumnSpec::new(name, symmetric), &batch);
            assert_rows(
                &fitted,
                &batch,
                &entry["min_max_symmetric_clip"]["rows"],
                i,
                name,
            );

            let robust = Encoding::RobustScale(RobustScaleParams::default());
            let (_, json) = fit_one(ColumnSpec::new(name, robust), &batch);
            let stats = &json["encode"]["robust_scale"];
            let brackets = &entry["robust"]["brackets"][name];
            assert_within_sketch_bound(
                stats["center"].as_f64().unwrap(),
                floats(&entry["robust"]["center"])[i],
                &brackets["50"],
                &format!("{name} center"),
            );
            // The IQR's error is at most the sum of the two quantiles' bounds.
            let [l25, h25] = floats(&brackets["25"])[..] else {
                panic!()
            };
            let [l75, h75] = floats(&brackets["75"])[..] else {
                panic!()
            };
            let bound =
                ALPHA * (l25.abs().max(h25.abs()) + l75.abs().max(h75.abs())) * (1.0 + 1e-9);
            let scale = stats["scale"].as_f64().unwrap();
            let want = floats(&entry["robust"]["scale"])[i];
            // Few distinct values: the sketch keeps exact counts, so the
            // quantiles are numpy's.
            let mut distinct = float_column(&batch, name);
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            if distinct.len() <= 1024 {
                assert_relative(scale, want, &format!("{name} exact scale"));
                assert_relative(
                    stats["center"].as_f64().unwrap(),
                    floats(&entry["robust"]["center"])[i],
                    &format!("{name} exact center"),
                );
            }
            assert!(
                (scale - want).abs() <= bound + 1e-12,
                "{name} scale {scale} vs {want}"
            );
        }
    }
}

/// California with `MedInc` missing where `row % every == offset`.
fn california_with_missing(every: usize, offset: usize) -> RecordBatch {
    let batch = data("california");
    let index = batch.schema().index_of("MedInc").unwrap();
    let values = float_column(&batch, "MedInc");
    let holed: Vec<Option<f64>> = values
        .iter()
        .enumerate()
        .map(|(row, v)| (row % every != offset).then_some(*v))
        .collect();
    let mut columns = batch.columns().to_vec();
    columns[index] = Arc::new(Float64Array::from(holed)) as ArrayRef;
    let names = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect::<Vec<_>>();
    RecordBatch::try_from_iter(names.into_iter().zip(columns)).unwrap()
}

#[test]
fn simple_imputer_strategies() {
    let fixture = fixture();
    let imputers = &fixture["imputers"];
    let every = imputers["missing_every"].as_u64().unwrap() as usize;
    let offset = imputers["missing_offset"].as_u64().unwrap() as usize;
    let california = california_with_missing(every, offset);
    let fill = |impute: Imputation| {
        let (_, json) = fit_one(
            ColumnSpec::passthrough("MedInc").with_impute(impute),
            &california,
        );
        json["impute_with"]["number"].as_f64().unwrap()
    };
    assert_relative(
        fill(Imputation::Mean),
        imputers["mean"].as_f64().unwrap(),
        "mean",
    );
    assert_within_sketch_bound(
        fill(Imputation::Median),
        imputers["median"].as_f64().unwrap(),
        &imputers["median_brackets"],
        "median",
    );

    let (fitted, _) = fit_one(
        ColumnSpec::passthrough("MedInc")
            .with_impute(Imputation::Constant(ConstantValue::Float(-1.0))),
        &california,
    );
    assert_rows(
        &fitted,
        &california,
        &imputers["constant_rows"],
        0,
        "constant",
    );
    let (fitted, _) = fit_one(
        ColumnSpec::standard_scale("MedInc").with_impute(Imputation::Mean),
        &california,
    );
    assert_rows(
        &fitted,
        &california,
        &imputers["mean_then_standard_rows"],
        0,
        "mean + scale",
    );

    let adult = data("adult");
    let (_, json) = fit_one(
        ColumnSpec::passthrough("hours-per-week").with_impute(Imputation::MostFrequent),
        &adult,
    );
    assert_eq!(
        json["impute_with"]["number"].as_f64(),
        imputers["most_frequent_numeric"].as_f64()
    );
    let (_, json) = fit_one(
        ColumnSpec::one_hot("workclass").with_impute(Imputation::MostFrequent),
        &adult,
    );
    assert_eq!(
        json["impute_with"]["category"],
        imputers["most_frequent_text"]
    );
}

#[test]
fn one_hot_encoder_ignoring_unknown() {
    let fixture = fixture();
    let expected = &fixture["one_hot"];
    let adult = data("adult");
    let columns: Vec<&str> = expected["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let spec = columns.iter().fold(FeatureSpec::new(), |spec, c| {
        spec.with_column(ColumnSpec::one_hot(*c))
    });
    let fitted = fit(spec, &adult);
    // sklearn names `education_10th`; mlrig names `education=10th`.
    let sklearn_names: Vec<String> = expected["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let n = n.as_str().unwrap();
            let column = columns
                .iter()
                .find(|c| n.starts_with(&format!("{c}_")))
                .unwrap();
            format!("{column}={}", &n[column.len() + 1..])
        })
        .collect();
    assert_eq!(fitted.output_names(), sklearn_names);

    let out = fitted.transform(&adult).unwrap().to_dense();
    for (row, want) in expected["rows"].as_array().unwrap().iter().enumerate() {
        assert_eq!(out.row(row).to_vec(), floats(want), "row {row}");
    }
    for (record, want) in expected["unknown_input"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected["unknown_rows"].as_array().unwrap())
    {
        let one = fitted.transform_record(record).unwrap().to_dense();
        assert_eq!(one.row(0).to_vec(), floats(want), "{record}");
    }

    let spec = FeatureSpec::new()
        .with_column(ColumnSpec::one_hot("workclass").with_impute(Imputation::MostFrequent));
    let out = fit(spec, &adult).transform(&adult).unwrap().to_dense();
    for (row, want) in expected["imputed_workclass_rows"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(out.row(row).to_vec(), floats(want), "row {row}");
    }
}

/// Ordinal codes as floats; the fixture writes NaN (JSON has none) as null.
fn codes(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// `OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=nan,
/// encoded_missing_value=nan)`, alone and after a most-frequent imputer.
#[test]
fn ordinal_encoder_with_nan_for_unknown_and_missing() {
    let fixture = fixture();
    let expected = &fixture["ordinal"];
    let adult = data("adult");
    let columns: Vec<&str> = expected["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let spec = columns.iter().fold(FeatureSpec::new(), |spec, c| {
        spec.with_column(ColumnSpec::ordinal(*c))
    });
    let fitted = fit(spec, &adult);
    assert_eq!(fitted.output_names(), columns);
    let json = serde_json::to_value(&fitted).unwrap();
    let categories = expected["categories"].as_array().unwrap();
    for (i, want) in categories.iter().enumerate() {
        assert_eq!(
            &json["columns"][i]["encode"]["ordinal"]["categories"], want,
            "{}",
            columns[i]
        );
    }
    let counts: Vec<(String, usize)> = columns
        .iter()
        .zip(categories)
        .map(|(c, cats)| (c.to_string(), cats.as_array().unwrap().len()))
        .collect();
    assert_eq!(fitted.categorical_outputs(), counts);

    let out = fitted.transform(&adult).unwrap().to_dense();
    let row_indices = expected["row_indices"].as_array().unwrap();
    let rows = expected["rows"].as_array().unwrap();
    assert!(rows.iter().flat_map(codes).any(f64::is_nan));
    for (row, want) in row_indices.iter().zip(rows) {
        let row = row.as_u64().unwrap() as usize;
        assert_eq!(
            bits(&out.row(row).to_vec()),
            bits(&codes(want)),
            "row {row}"
        );
    }
    for (record, want) in expected["unknown_input"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected["unknown_rows"].as_array().unwrap())
    {
        let one = fitted.transform_record(record).unwrap().to_dense();
        assert_eq!(bits(&one.row(0).to_vec()), bits(&codes(want)), "{record}");
    }

    let spec = FeatureSpec::new()
        .with_column(ColumnSpec::ordinal("workclass").with_impute(Imputation::MostFrequent));
    let out = fit(spec, &adult).transform(&adult).unwrap().to_dense();
    for (row, want) in row_indices
        .iter()
        .zip(expected["imputed_workclass_rows"].as_array().unwrap())
    {
        let row = row.as_u64().unwrap() as usize;
        assert_eq!(out.row(row).to_vec(), codes(want), "row {row}");
    }
}

#[test]
fn kbins_discretizer_quantile_ordinal() {
    let fixture = fixture();
    for entry in fixture["kbins_quantile"].as_array().unwrap() {
        let name = entry["column"].as_str().unwrap();
        let batch = data(entry["data"].as_str().unwrap());
        let encoding = Encoding::QuantileBucketize(QuantileBucketizeParams {
            buckets: 5,
            ordinal: true,
        });
        let (fitted, json) = fit_one(ColumnSpec::new(name, encoding), &batch);
        let ours = floats(&json["encode"]["bucketize"]["boundaries"]);
        let edges = floats(&entry["edges"]);
        let theirs = &edges[1..edges.len() - 1];
        assert_eq!(ours.len(), theirs.len(), "{name}: {ours:?} vs {theirs:?}");
        let brackets = entry["brackets"].as_array().unwrap();
        for (got, want) in ours.iter().zip(theirs) {
            let bracket = brackets
                .iter()
                .find(|b| {
                    let [lo, hi] = floats(b)[..] else { panic!() };
                    lo <= *want && *want <= hi
                })
                .unwrap();
            assert_within_sketch_bound(*got, *want, bracket, name);
        }
        // Codes agree except for values between an mlrig and a sklearn edge
        // (none when the column has few distinct values: exact quantiles).
        let values = float_column(&batch, name);
        let mut distinct = values.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() <= 1024 {
            for (got, want) in ours.iter().zip(theirs) {
                assert_relative(*got, *want, &format!("{name} exact edge"));
            }
        }
        let out = fitted.transform(&batch).unwrap().to_dense();
        for (row, want) in floats(&entry["rows"]).iter().enumerate() {
            let got = out[[row, 0]];
            if got != *want {
                let x = values[row];
                let near = ours
                    .iter()
                    .zip(theirs)
                    .any(|(a, b)| a.min(*b) <= x && x <= a.max(*b));
                assert!(near, "{name} row {row}: value {x} code {got} vs {want}");
            }
        }
    }
}
