//! Test-only helpers: a tiny CSV reader that turns the sample files into Arrow
//! batches (`?` and empty fields are missing; a column is Int64 if every
//! present value parses as an integer, else Float64 if every one parses as a
//! float, else Utf8).

#![allow(dead_code)]

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlrig_core::arrow_schema::{DataType, Field, Schema, SchemaRef};

/// A CSV file as raw cells (`None` = missing).
pub struct RawTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl RawTable {
    pub fn column(&self, name: &str) -> Vec<Option<String>> {
        let i = self.header.iter().position(|h| h == name).unwrap();
        self.rows.iter().map(|r| r[i].clone()).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.header.iter().any(|h| h == name)
    }
}

pub fn sample_path(file: &str) -> String {
    format!("{}/../../data/samples/{file}", env!("CARGO_MANIFEST_DIR"))
}

pub fn read_raw(file: &str) -> RawTable {
    read_raw_from(&sample_path(file), &["", "?"])
}

/// Reads any CSV file; a cell is missing when, trimmed, it is one of
/// `missing_tokens` (TFDV's CSV decoder treats only `""` as missing).
pub fn read_raw_from(path: &str, missing_tokens: &[&str]) -> RawTable {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .map(|cell| {
                    let cell = cell.trim();
                    (!missing_tokens.contains(&cell)).then(|| cell.to_string())
                })
                .collect()
        })
        .collect();
    RawTable { header, rows }
}

fn column_type(values: &[Option<String>]) -> DataType {
    let present = || values.iter().flatten();
    if present().all(|v| v.parse::<i64>().is_ok()) {
        DataType::Int64
    } else if present().all(|v| v.parse::<f64>().is_ok()) {
        DataType::Float64
    } else {
        DataType::Utf8
    }
}

/// The table as batches of at most `batch_rows` rows.
pub fn to_batches(table: &RawTable, batch_rows: usize) -> (SchemaRef, Vec<RecordBatch>) {
    let columns: Vec<Vec<Option<String>>> = table.header.iter().map(|h| table.column(h)).collect();
    let types: Vec<DataType> = columns.iter().map(|c| column_type(c)).collect();
    let schema = Arc::new(Schema::new(
        table
            .header
            .iter()
            .zip(&types)
            .map(|(h, t)| Field::new(h, t.clone(), true))
            .collect::<Vec<_>>(),
    ));
    let mut batches = Vec::new();
    let mut start = 0;
    while start < table.rows.len() {
        let end = (start + batch_rows).min(table.rows.len());
        let arrays: Vec<ArrayRef> = columns
            .iter()
            .zip(&types)
            .map(|(values, t)| {
                let slice = &values[start..end];
                match t {
                    DataType::Int64 => Arc::new(Int64Array::from(
                        slice
                            .iter()
                            .map(|v| v.as_ref().map(|v| v.parse::<i64>().unwrap()))
                            .collect::<Vec<_>>(),
                    )) as ArrayRef,
                    DataType::Float64 => Arc::new(Float64Array::from(
                        slice
                            .iter()
                            .map(|v| v.as_ref().map(|v| v.parse::<f64>().unwrap()))
                            .collect::<Vec<_>>(),
                    )) as ArrayRef,
                    _ => Arc::new(StringArray::from(
                        slice.iter().map(|v| v.as_deref()).collect::<Vec<_>>(),
                    )) as ArrayRef,
                }
            })
            .collect();
        batches.push(RecordBatch::try_new(schema.clone(), arrays).unwrap());
        start = end;
    }
    (schema, batches)
}

/// Reads a sample file as batches.
pub fn read_batches(file: &str, batch_rows: usize) -> (RawTable, SchemaRef, Vec<RecordBatch>) {
    let table = read_raw(file);
    let (schema, batches) = to_batches(&table, batch_rows);
    (table, schema, batches)
}
