//! Fit a feature spec on training data and apply it, with `mlrig-features` alone:
//!
//! ```text
//! cargo run -p mlrig-features --example fit_apply_spec
//! ```
//!
//! The spec is the JSON a user writes (`FeatureSpec::load` reads it from a
//! `.json` file, or `.toml` with the `toml` feature): it is checked, fitted on
//! the shipped Adult sample, and applied to a batch and to one row; the fitted
//! pipeline is an artifact that serving loads back.
//!
//! `mlrig-features` reads no files: it works on Arrow batches. An application
//! gets them from `mlrig-ingest` (or any Arrow reader); to stay on one crate,
//! this example builds them with the Arrow re-exported by `mlrig-features`
//! from the sample file, which has no quoted cells.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use mlrig_features::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlrig_features::{
    Artifact, FeatureMatrix, FeaturePipelineParams, FeatureSpec, Fit, FittedFeaturePipeline,
    ParamGuard, Transform,
};

const ADULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/adult_sample.csv"
);

/// What a user writes in `spec.json`.
const SPEC: &str = r#"{
  "columns": [
    {"name": "age", "impute": "mean", "encode": "standard_scale"},
    {"name": "hours-per-week", "encode": {"quantile_bucketize": {"buckets": 4}}},
    {"name": "workclass", "impute": "most_frequent", "encode": "one_hot"},
    {"name": "occupation", "encode": {"vocabulary": {"min_frequency": 100, "oov_buckets": 1}}}
  ],
  "crosses": [{"columns": ["education", "gender"], "buckets": 8}],
  "output": "auto"
}"#;

fn main() -> Result<(), Box<dyn Error>> {
    let train = read_simple_csv(ADULT)?;

    // Params → checked params → fitted pipeline (typos and bad parameters fail at `check`).
    let spec = FeatureSpec::from_json(SPEC)?;
    let pipeline = FeaturePipelineParams::new(spec)
        .check()?
        .fit(std::slice::from_ref(&train))?;
    println!(
        "fitted on {} rows: {} output columns",
        train.num_rows(),
        pipeline.output_names().len()
    );
    println!("outputs: {}", pipeline.output_names().join(", "));

    // Apply to the whole batch: dense, or CSR when sparse enough ("output": "auto").
    let features = pipeline.transform(&train)?;
    let storage = if matches!(features.matrix(), FeatureMatrix::Sparse(_)) {
        "sparse (CSR)"
    } else {
        "dense"
    };
    println!(
        "transformed: {} x {} {storage} matrix",
        features.nrows(),
        features.ncols()
    );

    // One row alone gives the same bits as inside the batch (this is what serving runs).
    let first = pipeline.transform(&train.slice(0, 1))?;
    println!("row 0: {:?}", first.to_dense().row(0).to_vec());
    assert_eq!(first.to_dense().row(0), features.to_dense().row(0));

    // The fitted pipeline is an artifact (format version, fingerprint): save, load, same pipeline.
    let bytes = pipeline.to_artifact_bytes(&[])?.1;
    let loaded = FittedFeaturePipeline::from_artifact_bytes(&bytes, Path::new("features.json"))?;
    println!(
        "artifact: {} bytes, fingerprint {}",
        bytes.len(),
        loaded.header.fingerprint
    );
    assert_eq!(loaded.value, pipeline);
    Ok(())
}

/// Reads a small CSV file without quoted cells into one batch. A column is
/// `Int64` when every present cell is an integer, `Float64` when every one is
/// a number, `Utf8` otherwise; empty cells and `?` are missing (null), as
/// `mlrig-ingest` reads them by default.
fn read_simple_csv(path: &str) -> Result<RecordBatch, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or(format!("{path}: empty"))?
        .split(',')
        .collect();
    let mut columns: Vec<Vec<Option<&str>>> = vec![Vec::new(); header.len()];
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != header.len() {
            let line_number = i + 2;
            return Err(format!(
                "{path}:{line_number}: {} cells, expected {}",
                cells.len(),
                header.len()
            )
            .into());
        }
        for (column, cell) in columns.iter_mut().zip(cells) {
            column.push((!matches!(cell, "" | "?")).then_some(cell));
        }
    }
    let arrays = header.into_iter().zip(columns).map(|(name, cells)| {
        let present = || cells.iter().flatten();
        let array: ArrayRef = if present().all(|v| v.parse::<i64>().is_ok()) {
            Arc::new(Int64Array::from_iter(
                cells.iter().map(|v| v.and_then(|v| v.parse().ok())),
            ))
        } else if present().all(|v| v.parse::<f64>().is_ok()) {
            Arc::new(Float64Array::from_iter(
                cells.iter().map(|v| v.and_then(|v| v.parse().ok())),
            ))
        } else {
            Arc::new(StringArray::from(cells.clone()))
        };
        (name, array)
    });
    Ok(RecordBatch::try_from_iter(arrays)?)
}
