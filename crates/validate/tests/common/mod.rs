//! Test-only helpers: a tiny CSV reader that turns the sample files into Arrow
//! batches (`?` and empty fields are missing; a column is Int64 if every
//! present value parses as an integer, else Float64 if every one parses as a
//! float, else Utf8); and the pbtxt round trip the property tests check.

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
                    DataType::Int64 => Arc::new(Int64Array::from(parsed::<i64>(slice))) as ArrayRef,
                    DataType::Float64 => {
                        Arc::new(Float64Array::from(parsed::<f64>(slice))) as ArrayRef
                    }
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

/// The cells parsed as `T` (`to_batches` checked that they parse).
fn parsed<T: std::str::FromStr>(cells: &[Option<String>]) -> Vec<Option<T>>
where
    T::Err: std::fmt::Debug,
{
    cells
        .iter()
        .map(|v| v.as_ref().map(|v| v.parse::<T>().unwrap()))
        .collect()
}

/// Reads a sample file as batches.
pub fn read_batches(file: &str, batch_rows: usize) -> (RawTable, SchemaRef, Vec<RecordBatch>) {
    let table = read_raw(file);
    let (schema, batches) = to_batches(&table, batch_rows);
    (table, schema, batches)
}

/// Writes `schema` as protobuf text and parses it back, which must give the
/// same schema. Returns the text and the schema read back.
pub fn pbtxt_round_trip(
    schema: &mlrig_validate::Schema,
) -> Result<(String, mlrig_validate::Schema), proptest::test_runner::TestCaseError> {
    use proptest::test_runner::TestCaseError;
    let text = schema
        .to_pbtxt()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back = mlrig_validate::Schema::from_pbtxt(&text)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    proptest::prop_assert_eq!(&back, schema, "{}", text);
    Ok((text, back))
}
