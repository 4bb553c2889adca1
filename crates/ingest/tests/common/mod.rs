//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use mlrig_core::arrow_array::{
    Array, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use mlrig_core::arrow_schema::DataType;
use mlrig_ingest::IngestSummary;

/// A shipped sample file.
pub fn sample(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples")).join(name)
}

/// Writes `bytes` to a new file in `dir`.
pub fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// One cell rendered for comparison (`None` for null; floats by bits).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    FloatBits(u64),
    Text(String),
}

/// All rows of the batches, in order, as values.
pub fn rows(batches: &[RecordBatch]) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|column| value(column.as_ref(), row))
                    .collect(),
            );
        }
    }
    out
}

fn value(column: &dyn Array, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Null;
    }
    let any = column.as_any();
    match column.data_type() {
        DataType::Boolean => Value::Bool(any.downcast_ref::<BooleanArray>().unwrap().value(row)),
        DataType::Int64 => Value::Int(any.downcast_ref::<Int64Array>().unwrap().value(row)),
        DataType::Float64 => Value::FloatBits(
            any.downcast_ref::<Float64Array>()
                .unwrap()
                .value(row)
                .to_bits(),
        ),
        DataType::Utf8 => Value::Text(
            any.downcast_ref::<StringArray>()
                .unwrap()
                .value(row)
                .to_string(),
        ),
        other => panic!("unexpected column type {other}"),
    }
}

/// The invariant every summary must satisfy, in total and per file.
pub fn assert_totals(summary: &IngestSummary) {
    assert_eq!(
        summary.rows_read,
        summary.rows_accepted + summary.rows_quarantined + summary.rows_sampled_out,
        "{summary:?}"
    );
    for f in &summary.files {
        assert_eq!(
            f.rows_read,
            f.rows_accepted + f.rows_quarantined + f.rows_sampled_out,
            "{f:?}"
        );
    }
    let sum = |g: fn(&mlrig_ingest::FileSummary) -> u64| summary.files.iter().map(g).sum::<u64>();
    assert_eq!(sum(|f| f.rows_read), summary.rows_read);
    assert_eq!(sum(|f| f.rows_accepted), summary.rows_accepted);
    assert_eq!(sum(|f| f.rows_quarantined), summary.rows_quarantined);
    assert_eq!(sum(|f| f.rows_sampled_out), summary.rows_sampled_out);
    assert_eq!(sum(|f| f.rows_split_off), summary.rows_split_off);
    assert!(
        summary.rows_split_off <= summary.rows_accepted,
        "{summary:?}"
    );
    assert!(
        summary
            .files
            .iter()
            .all(|f| f.rows_split_off <= f.rows_accepted)
    );
}

/// `bytes` compressed with gzip.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
