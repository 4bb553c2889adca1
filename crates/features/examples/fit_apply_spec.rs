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
//! gets them from `mlrig-ingest` or any Arrow producer; this example reads
//! the sample file with the Arrow project's own CSV reader (`arrow-csv`, a
//! dev-dependency), whose batches are `mlrig_features::arrow_array` batches.

use std::error::Error;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_csv::ReaderBuilder;
use arrow_csv::reader::Format;
use mlrig_features::arrow_array::RecordBatch;
use mlrig_features::{
    Artifact, FeatureMatrix, FeaturePipelineParams, FeatureSpec, Fit, FittedFeaturePipeline,
    ParamGuard, Transform,
};
use regex::Regex;

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
    let train = read_csv(ADULT)?;

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

/// Reads a CSV file into one batch with the Arrow project's CSV reader
/// (`arrow-csv`): column types are inferred from every row (`Int64`,
/// `Float64`, `Utf8`, …), and empty cells and `?` are missing (null), as
/// `mlrig-ingest` reads them by default. Any Arrow producer feeds mlrig.
fn read_csv(path: &str) -> Result<RecordBatch, Box<dyn Error>> {
    let open = || File::open(path).map_err(|e| format!("{path}: {e}"));
    let format = Format::default()
        .with_header(true)
        .with_null_regex(Regex::new(r"^\??$")?);
    let (schema, rows) = format.infer_schema(open()?, None)?;
    let mut reader = ReaderBuilder::new(Arc::new(schema))
        .with_format(format)
        .with_batch_size(rows.max(1))
        .build(open()?)?;
    Ok(reader.next().ok_or(format!("{path}: no rows"))??)
}
