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
//! gets them from `mlrig-ingest` (or any Arrow reader); to stay on one crate,
//! this example builds them with the Arrow re-exported by `mlrig-validate`
//! from the sample files, which have no quoted cells.

use std::error::Error;
use std::sync::Arc;

use mlrig_validate::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlrig_validate::{
    SchemaInferenceParams, StatisticsParams, ValidationOptions, compute_statistics, infer_schema,
    validate_batches,
};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples");

fn main() -> Result<(), Box<dyn Error>> {
    // 1. Statistics of the training data (tensorflow-metadata statistics).
    let train = read_simple_csv(&format!("{SAMPLES}/adult_sample.csv"))?;
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
    let serving = read_simple_csv(&format!("{SAMPLES}/adult_shifted.csv"))?;
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
