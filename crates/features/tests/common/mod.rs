//! A tiny test-only CSV reader (the real one lives in mlrig-ingest, which this
//! crate must not depend on): every column is Int64 if all its present values
//! parse as integers, else Float64 if they parse as numbers, else Utf8.

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

/// Header and rows of a CSV file; `missing` tokens become `None`.
pub fn read_csv(path: &str, missing: &[&str]) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .map(|v| (!missing.contains(&v)).then(|| v.to_string()))
                .collect()
        })
        .collect();
    (header, rows)
}

/// One column of the rows as an Arrow array with an inferred type.
pub fn column_array(rows: &[Vec<Option<String>>], index: usize) -> ArrayRef {
    let values: Vec<Option<&str>> = rows.iter().map(|r| r[index].as_deref()).collect();
    let present = || values.iter().flatten();
    if present().all(|v| v.parse::<i64>().is_ok()) {
        Arc::new(Int64Array::from(
            values
                .iter()
                .map(|v| v.map(|v| v.parse::<i64>().unwrap()))
                .collect::<Vec<_>>(),
        ))
    } else if present().all(|v| v.parse::<f64>().is_ok()) {
        Arc::new(Float64Array::from(
            values
                .iter()
                .map(|v| v.map(|v| v.parse::<f64>().unwrap()))
                .collect::<Vec<_>>(),
        ))
    } else {
        Arc::new(StringArray::from(values))
    }
}

/// The whole file as one record batch.
pub fn csv_batch(
    path: &str,
    missing: &[&str],
) -> (RecordBatch, Vec<String>, Vec<Vec<Option<String>>>) {
    let (header, rows) = read_csv(path, missing);
    let columns = header
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), column_array(&rows, i)));
    (RecordBatch::try_from_iter(columns).unwrap(), header, rows)
}
