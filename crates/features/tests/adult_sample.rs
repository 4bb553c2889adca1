//! The feature pipeline on the shipped UCI Adult sample (`?` = missing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
use mlrig_core::arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use mlrig_core::arrow_schema::DataType;
use mlrig_core::{Artifact, FeatureMatrix, Features, Fit, ParamGuard, Transform};
use mlrig_features::{
    ColumnSpec, Encoding, FeaturePipelineParams, FeatureSpec, FeaturesError, FittedFeaturePipeline,
    Imputation, OutputLayout,
};
use serde_json::Value;

const ADULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/adult_sample.csv"
);

#[test]
fn inferred_pipeline_on_adult() {
    let (batch, header, rows) = common::csv_batch(ADULT, &["?"]);
    let schema = batch.schema();
    let spec = FeatureSpec::infer(&schema, "income").unwrap();
    assert_eq!(spec.columns.len(), header.len() - 1);
    assert!(spec.columns.iter().all(|c| c.name != "income"));

    // Expected width from the raw file: one per numeric column, one per
    // distinct present value of each string column.
    let mut expected_width = 0;
    let mut numeric = Vec::new();
    for (i, name) in header.iter().enumerate() {
        if name == "income" {
            continue;
        }
        match schema.field(i).data_type() {
            DataType::Utf8 => {
                let levels: BTreeSet<&str> = rows.iter().filter_map(|r| r[i].as_deref()).collect();
                expected_width += levels.len();
            }
            DataType::Int64 | DataType::Float64 => {
                expected_width += 1;
                numeric.push(name.clone());
            }
            other => panic!("unexpected type {other} for {name}"),
        }
    }
    assert_eq!(numeric.len(), 6, "{numeric:?}");

    // Fit on several batches (the parallel path) and on the whole: identical.
    let parts = chunks(&batch, 1000);
    let params = FeaturePipelineParams::new(spec).check().unwrap();
    let fitted = params.fit(&parts).unwrap();
    let whole = params.fit(std::slice::from_ref(&batch)).unwrap();
    assert_eq!(fitted.fingerprint().unwrap(), whole.fingerprint().unwrap());
    assert_eq!(fitted.training_rows(), 4071);

    let names = fitted.output_names();
    assert_eq!(names.len(), expected_width);
    assert!(names.contains(&"age".to_string()));
    assert!(names.contains(&"workclass=Private".to_string()));
    assert!(fitted.input_schema().field_with_name("income").is_err());

    let features = fitted.transform(&batch).unwrap();
    let dense = features.to_dense();
    assert_eq!(dense.dim(), (4071, expected_width));
    assert!(dense.iter().all(|v| v.is_finite()), "NaN or inf in output");

    for name in &numeric {
        let j = names.iter().position(|n| n == name).unwrap();
        let col = dense.column(j);
        let n = col.len() as f64;
        let mean = col.sum() / n;
        let std = (col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 1e-9, "{name}: mean {mean}");
        assert!((std - 1.0).abs() < 1e-9, "{name}: std {std}");
    }
    // Every categorical column is imputed, so each row has exactly one 1 per column.
    for (i, name) in header.iter().enumerate() {
        if schema.field(i).data_type() != &DataType::Utf8 || name == "income" {
            continue;
        }
        let prefix = format!("{name}=");
        let cols: Vec<usize> = (0..names.len())
            .filter(|j| names[*j].starts_with(&prefix))
            .collect();
        for row in dense.rows() {
            assert_eq!(cols.iter().map(|j| row[*j]).sum::<f64>(), 1.0, "{name}");
        }
    }
    // workclass has missing values, imputed with its most frequent value.
    let private = names.iter().position(|n| n == "workclass=Private").unwrap();
    let workclass = header.iter().position(|h| h == "workclass").unwrap();
    let missing_row = rows.iter().position(|r| r[workclass].is_none()).unwrap();
    assert_eq!(dense[[missing_row, private]], 1.0);

    // Serving path: JSON records of the first rows give the same rows.
    for (row, values) in rows.iter().enumerate().take(50) {
        let mut record = serde_json::Map::new();
        for (i, name) in header.iter().enumerate() {
            let Some(v) = &values[i] else { continue };
            if name == "income" {
                continue;
            }
            let json = match schema.field(i).data_type() {
                DataType::Int64 => serde_json::json!(v.parse::<i64>().unwrap()),
                _ => serde_json::json!(v),
            };
            record.insert(name.clone(), json);
        }
        let one = fitted
            .transform_record(&serde_json::Value::Object(record))
            .unwrap();
        assert_eq!(one.to_dense().row(0), dense.row(row), "row {row}");
    }

    // The checks hold on the training data.
    let report = fitted.check(&parts).unwrap();
    assert!(report.is_ok(), "{:?}", report.violations);
    assert_eq!(report.rows, 4071);
    assert!(report.checks >= 6 * 2 + 8, "{report:?}");

    // Artifact round trip.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("features.json");
    fitted.save(&path, &[]).unwrap();
    let loaded = FittedFeaturePipeline::load(&path).unwrap();
    assert_eq!(loaded.header.kind, "mlrig.features.pipeline");
    assert_eq!(loaded.header.format_version, 3);
    assert_eq!(loaded.value.transform(&batch).unwrap(), features);
}

/// `infer_for_trees`: numbers pass through untouched, strings become codes
/// in their sorted levels, missing values stay NaN; one output per column.
#[test]
fn trees_pipeline_on_adult() {
    let (batch, header, rows) = common::csv_batch(ADULT, &["?"]);
    let schema = batch.schema();
    let spec = FeatureSpec::infer_for_trees(&schema, "income").unwrap();
    assert_eq!(spec.output, OutputLayout::Dense);
    let mut strings = Vec::new();
    for (column, field) in spec
        .columns
        .iter()
        .zip(schema.fields().iter().filter(|f| f.name() != "income"))
    {
        assert_eq!(&column.name, field.name());
        assert_eq!(column.impute, None, "{}", column.name);
        assert!(!column.missing_indicator);
        let expected = match field.data_type() {
            DataType::Utf8 => {
                strings.push(column.name.clone());
                Encoding::Ordinal
            }
            _ => Encoding::Passthrough,
        };
        assert_eq!(column.encode, expected, "{}", column.name);
    }
    assert_eq!(strings.len(), 8, "{strings:?}");

    let params = FeaturePipelineParams::new(spec).check().unwrap();
    let fitted = params.fit(&chunks(&batch, 1000)).unwrap();
    let whole = params.fit(std::slice::from_ref(&batch)).unwrap();
    assert_eq!(fitted.fingerprint().unwrap(), whole.fingerprint().unwrap());
    let inputs: Vec<&String> = header.iter().filter(|h| *h != "income").collect();
    assert_eq!(fitted.output_names().iter().collect::<Vec<_>>(), inputs);

    // Expected codes from the raw file: the index in the sorted levels.
    let dense = fitted.transform(&batch).unwrap().to_dense();
    let mut categorical = Vec::new();
    let mut missing_codes = 0;
    for (j, name) in fitted.output_names().iter().enumerate() {
        let i = header.iter().position(|h| h == name).unwrap();
        let levels: Vec<&str> = rows
            .iter()
            .filter_map(|r| r[i].as_deref())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for (row, values) in rows.iter().enumerate() {
            let got = dense[[row, j]];
            let want = match (&values[i], strings.contains(name)) {
                (None, _) => f64::NAN,
                (Some(v), true) => levels.binary_search(&v.as_str()).unwrap() as f64,
                (Some(v), false) => v.parse::<f64>().unwrap(),
            };
            assert_eq!(got.to_bits(), want.to_bits(), "{name} row {row}");
            missing_codes += usize::from(got.is_nan());
        }
        if strings.contains(name) {
            categorical.push((name.clone(), levels.len()));
        }
    }
    assert!(missing_codes > 0, "the sample has missing workclass values");
    assert_eq!(fitted.categorical_outputs(), categorical);
    let workclass = categorical.iter().find(|(n, _)| n == "workclass").unwrap();
    assert!(workclass.1 > 5, "{workclass:?}");

    // Serving records and a saved and loaded pipeline give the same bits.
    let features = fitted.transform(&batch).unwrap();
    for row in (0..batch.num_rows()).step_by(101) {
        let record = json_record(&fitted, &batch, row);
        let served = fitted.transform_record(&record).unwrap();
        let expected: Vec<u64> = dense.row(row).iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits(&served), expected, "row {row} as JSON {record}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("features.json");
    fitted.save(&path, &[]).unwrap();
    let loaded = FittedFeaturePipeline::load(&path).unwrap().value;
    assert_eq!(bits(&loaded.transform(&batch).unwrap()), bits(&features));
    assert_eq!(loaded.categorical_outputs(), categorical);
}

#[test]
fn unknown_spec_column_is_named_at_fit() {
    let (batch, _, _) = common::csv_batch(ADULT, &["?"]);
    let spec = FeatureSpec::new()
        .with_column(ColumnSpec::standard_scale("age").with_impute(Imputation::Mean))
        .with_column(ColumnSpec::one_hot("work_class"));
    let err = FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(&[batch])
        .unwrap_err();
    assert!(matches!(&err, FeaturesError::MissingColumn { column, .. } if column == "work_class"));
    assert!(
        err.to_string()
            .starts_with("column `work_class` is not in the input; it has: age, workclass,"),
        "{err}"
    );
}

#[test]
fn typo_in_spec_json_is_named() {
    let text = r#"{"columns": [
        {"name": "age", "impute": "mean", "encode": "standard_scale"},
        {"name": "workclass", "imputer": "most_frequent", "encode": "one_hot"}
    ]}"#;
    let err = FeatureSpec::from_json(text).unwrap_err();
    assert!(err.to_string().contains("unknown field `imputer`"), "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn full_adult_when_available() {
    let Ok(dir) = std::env::var("MLRIG_DATA_DIR") else {
        eprintln!("SKIPPED: full UCI Adult test; set MLRIG_DATA_DIR=../shared/data");
        return;
    };
    let path = format!("{dir}/adult.csv");
    let (batch, _, _) = common::csv_batch(&path, &["?"]);
    let spec = FeatureSpec::infer(&batch.schema(), "income").unwrap();
    let parts = chunks(&batch, 8192);
    let params = FeaturePipelineParams::new(spec).check().unwrap();
    let fitted = params.fit(&parts).unwrap();
    assert_eq!(
        fitted.fingerprint().unwrap(),
        params
            .fit(std::slice::from_ref(&batch))
            .unwrap()
            .fingerprint()
            .unwrap()
    );
    let features = fitted.transform(&batch).unwrap();
    assert!(features.to_dense().iter().all(|v| v.is_finite()));
}

/// The JSON record of row `row` of `batch` (the pipeline's input columns;
/// nulls left out).
fn json_record(pipeline: &FittedFeaturePipeline, batch: &RecordBatch, row: usize) -> Value {
    let mut object = serde_json::Map::new();
    for field in pipeline.input_schema().fields() {
        let column = batch.column_by_name(field.name()).unwrap();
        if column.is_null(row) {
            continue;
        }
        let value = match field.data_type() {
            DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
            DataType::Float64 => Value::from(column.as_primitive::<Float64Type>().value(row)),
            DataType::Utf8 => Value::from(column.as_string::<i32>().value(row)),
            other => panic!("unexpected input type {other}"),
        };
        object.insert(field.name().clone(), value);
    }
    Value::Object(object)
}

/// `batch` cut into consecutive slices of `rows` rows (the last one shorter).
fn chunks(batch: &RecordBatch, rows: usize) -> Vec<RecordBatch> {
    (0..batch.num_rows())
        .step_by(rows)
        .map(|start| batch.slice(start, rows.min(batch.num_rows() - start)))
        .collect()
}

fn bits(features: &Features) -> Vec<u64> {
    features.to_dense().iter().map(|v| v.to_bits()).collect()
}

/// The sample has 4,071 rows, so a batch is written in several blocks of
/// rows; every row must still equal its one-row batch and its JSON record,
/// and `transform_batches` of any split must equal `transform` of the whole.
#[test]
fn whole_sample_equals_rows_records_and_parallel_batches() {
    let (batch, _, _) = common::csv_batch(ADULT, &["?"]);
    let rows = batch.num_rows();
    assert!(rows > 4_000);
    for output in [OutputLayout::Dense, OutputLayout::Sparse] {
        let spec = FeatureSpec::infer(&batch.schema(), "income")
            .unwrap()
            .with_output(output);
        let pipeline = FeaturePipelineParams::new(spec)
            .check()
            .unwrap()
            .fit(std::slice::from_ref(&batch))
            .unwrap();
        let whole = pipeline.transform(&batch).unwrap();
        assert_eq!(
            matches!(whole.matrix(), FeatureMatrix::Sparse(_)),
            output == OutputLayout::Sparse
        );
        let dense = whole.to_dense();
        for row in 0..rows {
            let expected: Vec<u64> = dense.row(row).iter().map(|v| v.to_bits()).collect();
            let one = pipeline.transform(&batch.slice(row, 1)).unwrap();
            assert_eq!(bits(&one), expected, "row {row} as a one-row batch");
            if row % 97 == 0 || row + 1 == rows {
                let record = json_record(&pipeline, &batch, row);
                let served = pipeline.transform_record(&record).unwrap();
                assert_eq!(bits(&served), expected, "row {row} as JSON {record}");
            }
        }
        for cuts in [vec![0, rows], vec![0, 1, 1030, 1030, 3000, rows]] {
            let parts: Vec<RecordBatch> = cuts
                .windows(2)
                .map(|w| batch.slice(w[0], w[1] - w[0]))
                .collect();
            let stacked = pipeline.transform_batches(&parts).unwrap();
            assert_eq!(stacked, whole, "cuts {cuts:?}");
        }
        let none = pipeline.transform_batches(&[]).unwrap();
        assert_eq!((none.nrows(), none.ncols()), (0, whole.ncols()));
    }
}

/// Errors from a later block or batch name the row counted from the start.
#[test]
fn error_rows_count_across_blocks_and_batches() {
    let values: Vec<f64> = (0..3_000).map(f64::from).collect();
    let make = |values: Vec<f64>| {
        RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(values)) as ArrayRef)])
            .unwrap()
    };
    let spec = FeatureSpec::new().with_column(ColumnSpec::standard_scale("x"));
    let pipeline = FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(&[make(values.clone())])
        .unwrap();
    let mut bad = values.clone();
    bad[2_500] = f64::INFINITY;
    let err = pipeline.transform(&make(bad.clone())).unwrap_err();
    assert!(
        matches!(err, FeaturesError::NonFiniteValue { row: 2_500, .. }),
        "{err}"
    );
    let err = pipeline
        .transform_batches(&[make(values), make(bad)])
        .unwrap_err();
    assert!(
        matches!(err, FeaturesError::NonFiniteValue { row: 5_500, .. }),
        "{err}"
    );
}
