//! Statistics → schema → validation with `mlrig-validate` alone:
//!
//! ```text
//! cargo run -p mlrig-validate --example validate_csv
//! ```
//!
//! Computes the statistics of the shipped Adult sample, infers a schema from
//! them, and validates a deliberately shifted file against that schema
//! (`data/samples/adult_shifted.csv`: ages + 30, a new `workclass` value,
//! `hours-per-week` half missing, `fnlwgt` dropped, a new `device` column).
//!
//! `mlrig-validate` reads no files: it works on Arrow batches. An application
//! gets them from `mlrig-ingest` or any Arrow producer; this example reads
//! the sample files with the Arrow project's own CSV reader (`arrow-csv`, a
//! dev-dependency), whose batches are `mlrig_validate::arrow_array` batches.

use std::error::Error;
use std::fs::File;
use std::sync::Arc;

use arrow_csv::ReaderBuilder;
use arrow_csv::reader::Format;
use mlrig_validate::arrow_array::RecordBatch;
use mlrig_validate::{
    SchemaInferenceParams, StatisticsParams, ValidationOptions, compute_statistics, infer_schema,
    validate_batches,
};
use regex::Regex;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples");

fn main() -> Result<(), Box<dyn Error>> {
    // 1. Statistics of the training data (tensorflow-metadata statistics).
    let train = read_csv(&format!("{SAMPLES}/adult_sample.csv"))?;
    let stats = compute_statistics(
        std::slice::from_ref(&train),
        &train.schema(),
        &StatisticsParams::default(),
    )?;
    println!(
        "statistics: {} examples, {} features",
        stats.num_examples(),
        stats.features().len()
    );

    // 2. A schema inferred from them, as TFDV's `schema.pbtxt` would hold it.
    let schema = infer_schema(&stats, &SchemaInferenceParams::default());
    let pbtxt = schema.to_pbtxt()?;
    println!(
        "schema: {} features; first lines of schema.pbtxt:",
        schema.features().len()
    );
    for line in pbtxt.lines().take(6) {
        println!("  {line}");
    }

    // 3. New data validated against the schema: one line per anomaly.
    let serving = read_csv(&format!("{SAMPLES}/adult_shifted.csv"))?;
    let anomalies = validate_batches(
        &schema,
        &serving.schema(),
        [&serving],
        &ValidationOptions::default(),
    )?;
    println!(
        "adult_shifted.csv: {} anomalies\n{anomalies}",
        anomalies.len()
    );
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
