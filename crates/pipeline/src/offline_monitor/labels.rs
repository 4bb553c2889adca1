//! Delayed labels: a CSV / JSON Lines / Parquet file of true outcomes, keyed
//! to logged rows by request id (+ row index) or by an input field's value.
//!
//! Convention: with `--join-key request_id`, a label row carries
//! `request_id` (the request's id, as logged and echoed in the response's
//! `x-request-id`) and optionally `row`, the 0-based index of the instance
//! within the request (absent or empty = 0, the request's first instance).
//! With any other join key `COL`, a label row carries `COL`, matched by text
//! against the logged input field `COL` (every logged row with that value
//! gets the label). Either way the outcome is in the column named like the
//! model's target (e.g. `income`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_core::arrow_schema::DataType;
use mlrig_ingest::{InferenceOptions, ReadOptions, read_data};
use serde::Serialize;

use crate::PipelineError;

/// The join key that means "the logged request id (+ `row`)".
pub const REQUEST_ID_KEY: &str = "request_id";
/// The optional label column holding the row index within a request.
pub const ROW_COLUMN: &str = "row";

/// A label's true value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LabelValue {
    Class(String),
    Value(f64),
}

/// The key a logged row is looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LabelKey {
    Request(String, u64),
    Field(String),
}

impl LabelKey {
    fn text(&self) -> String {
        match self {
            LabelKey::Request(id, row) => format!("{id}#{row}"),
            LabelKey::Field(value) => value.clone(),
        }
    }
}

#[derive(Debug)]
struct Label {
    value: LabelValue,
    row: u64,
    matched: bool,
}

/// A label row that was not used, and why (the `--quarantine` file's lines).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UnusedLabel {
    /// 1-based data row of the labels file.
    pub row: u64,
    /// The key as text (`request_id#row` for request-id joins).
    pub key: Option<String>,
    /// `no_logged_row`, `duplicate_key`, `missing_key`, `missing_label`, `invalid_row`.
    pub reason: &'static str,
}

/// The labels of a file, by key.
#[derive(Debug)]
pub(crate) struct Labels {
    pub(crate) file: PathBuf,
    pub(crate) join_key: String,
    labels: HashMap<LabelKey, Label>,
    pub(crate) rows_read: u64,
    /// Rows the reader could not parse (counted in `rows_read`).
    pub(crate) unreadable: u64,
    rejected: Vec<UnusedLabel>,
}

impl Labels {
    /// Reads `file`, whose `target` column holds classes (`classifier`) or
    /// values, keyed by `join_key`.
    pub(crate) fn read(
        file: &Path,
        join_key: &str,
        target: &str,
        classifier: bool,
    ) -> Result<Self, PipelineError> {
        let inference = InferenceOptions::default()
            .with_column_type(join_key, DataType::Utf8)
            .with_column_type(
                target,
                if classifier {
                    DataType::Utf8
                } else {
                    DataType::Float64
                },
            );
        let options = ReadOptions::default().with_inference(inference);
        let (schema, batches, report) = read_data(file, options)?;
        for column in [join_key, target] {
            if schema.field_with_name(column).is_err() {
                return Err(PipelineError::MissingColumn {
                    column: column.to_string(),
                    available: mlrig_core::column_list(&schema),
                });
            }
        }
        let by_request = join_key == REQUEST_ID_KEY;
        let mut labels = Labels {
            file: file.to_path_buf(),
            join_key: join_key.to_string(),
            labels: HashMap::new(),
            rows_read: 0,
            unreadable: report.summary.rows_quarantined,
            rejected: Vec::new(),
        };
        for batch in &batches {
            labels.add_batch(batch, join_key, target, by_request)?;
        }
        labels.rows_read += labels.unreadable;
        Ok(labels)
    }

    fn add_batch(
        &mut self,
        batch: &RecordBatch,
        join_key: &str,
        target: &str,
        by_request: bool,
    ) -> Result<(), PipelineError> {
        let column = |name: &str| batch.column_by_name(name);
        let (Some(keys), Some(truth)) = (column(join_key), column(target)) else {
            return Ok(());
        };
        let keys = keys.as_string::<i32>();
        let rows = by_request.then(|| column(ROW_COLUMN)).flatten();
        for i in 0..batch.num_rows() {
            self.rows_read += 1;
            let line = self.rows_read;
            if keys.is_null(i) {
                self.reject(line, None, "missing_key");
                continue;
            }
            let key_text = keys.value(i).to_string();
            let key = if by_request {
                match rows.map(|r| row_index(r.as_ref(), i)).unwrap_or(Some(0)) {
                    Some(row) => LabelKey::Request(key_text, row),
                    None => {
                        self.reject(line, Some(key_text), "invalid_row");
                        continue;
                    }
                }
            } else {
                LabelKey::Field(key_text)
            };
            let value = if truth.is_null(i) {
                None
            } else {
                match truth.data_type() {
                    DataType::Utf8 => Some(LabelValue::Class(
                        truth.as_string::<i32>().value(i).to_string(),
                    )),
                    DataType::Float64 => {
                        let v = truth.as_primitive::<Float64Type>().value(i);
                        v.is_finite().then_some(LabelValue::Value(v))
                    }
                    _ => None,
                }
            };
            let Some(value) = value else {
                self.reject(line, Some(key.text()), "missing_label");
                continue;
            };
            if self.labels.contains_key(&key) {
                self.reject(line, Some(key.text()), "duplicate_key");
                continue;
            }
            self.labels.insert(
                key,
                Label {
                    value,
                    row: line,
                    matched: false,
                },
            );
        }
        Ok(())
    }

    fn reject(&mut self, row: u64, key: Option<String>, reason: &'static str) {
        self.rejected.push(UnusedLabel { row, key, reason });
    }

    /// The label of `key`, marking it matched.
    pub(crate) fn take(&mut self, key: &LabelKey) -> Option<LabelValue> {
        let label = self.labels.get_mut(key)?;
        label.matched = true;
        Some(label.value.clone())
    }

    /// Label rows matched by at least one logged row.
    pub(crate) fn matched(&self) -> u64 {
        self.labels.values().filter(|l| l.matched).count() as u64
    }

    /// Every label row not used, in file order: rejected ones and those no
    /// logged row matched (`no_logged_row`).
    pub(crate) fn unused(&self) -> Vec<UnusedLabel> {
        let mut out = self.rejected.clone();
        out.extend(
            self.labels
                .iter()
                .filter(|(_, l)| !l.matched)
                .map(|(key, l)| UnusedLabel {
                    row: l.row,
                    key: Some(key.text()),
                    reason: "no_logged_row",
                }),
        );
        out.sort_by_key(|u| u.row);
        out
    }
}

/// A `row` cell as an index: a non-negative integer (or its text); null = 0.
fn row_index(array: &dyn Array, i: usize) -> Option<u64> {
    if array.is_null(i) {
        return Some(0);
    }
    match array.data_type() {
        DataType::Int64 => u64::try_from(array.as_primitive::<Int64Type>().value(i)).ok(),
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(i);
            (v >= 0.0 && v.fract() == 0.0 && v < 9.0e15).then_some(v as u64)
        }
        DataType::Utf8 => array.as_string::<i32>().value(i).trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_labels_with_rows_duplicates_and_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("labels.csv");
        std::fs::write(
            &file,
            "request_id,row,income\nr1,0,>50K\nr1,1,<=50K\nr1,1,>50K\n,0,>50K\nr2,,\nr3,x,>50K\nr4,,<=50K\n",
        )
        .unwrap();
        let mut labels = Labels::read(&file, "request_id", "income", true).unwrap();
        assert_eq!(labels.rows_read, 7);
        assert_eq!(
            labels.take(&LabelKey::Request("r1".into(), 1)),
            Some(LabelValue::Class("<=50K".into()))
        );
        assert_eq!(
            labels.take(&LabelKey::Request("r4".into(), 0)),
            Some(LabelValue::Class("<=50K".into()))
        );
        assert_eq!(labels.take(&LabelKey::Request("r9".into(), 0)), None);
        assert_eq!(labels.matched(), 2);
        let reasons: Vec<(u64, &str)> = labels.unused().iter().map(|u| (u.row, u.reason)).collect();
        assert_eq!(
            reasons,
            [
                (1, "no_logged_row"),
                (3, "duplicate_key"),
                (4, "missing_key"),
                (5, "missing_label"),
            ]
        );
        // `x` is not an integer in the (integer) `row` column: the reader
        // quarantines the row, counted as unreadable.
        assert_eq!(labels.unreadable, 1);
    }
}
