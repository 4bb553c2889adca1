//! The prediction table that static inference writes: which columns it has
//! ([`TableLayout`]), how rows are encoded ([`TableEncoder`], on any thread)
//! and the file they go to ([`TableWriter`]: CSV, Parquet or JSON Lines by
//! extension, written atomically).
//!
//! Columns, in order: the key column (`--key`), then every input column
//! (`--with-input`, the key not repeated), then the model's output:
//!
//! * regression: `prediction` (`Float64`);
//! * classification: `prediction` (`Utf8`, the most probable class, ties to
//!   the first class) and one `score_<class>` (`Float64`, the class
//!   probability) per class, in the model's class order.
//!
//! A key column plus the prediction columns is what a server needs to answer
//! from the table (hybrid inference: look the key up, fall back to the model).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlrig_core::AtomicFile;
use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
use mlrig_core::arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use mlrig_core::arrow_schema::{DataType, Field, Schema, SchemaRef};
use mlrig_core::{Predictions, Task};
use mlrig_ingest::{CsvRows, CsvWriter};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::PipelineError;

/// The column holding the prediction: the value (regression) or the class.
pub const PREDICTION_COLUMN: &str = "prediction";
/// Prefix of the per-class probability columns (`score_<class>`).
pub const SCORE_PREFIX: &str = "score_";

/// Largest Parquet row group the table writer buffers, in bytes.
const PARQUET_ROW_GROUP_BYTES: usize = 64 << 20;

/// The file format of a prediction table, chosen by the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TableFormat {
    /// `.csv`: a header row, then one row per prediction (nulls are empty fields).
    Csv,
    /// `.parquet`: one Arrow column per table column (Snappy, row groups up to 64 MiB).
    Parquet,
    /// `.jsonl` / `.ndjson`: one JSON object per line (non-finite numbers as `null`).
    JsonLines,
}

impl TableFormat {
    /// The format `path`'s extension names.
    ///
    /// ```
    /// use mlrig_pipeline::TableFormat;
    /// assert_eq!(TableFormat::of_path("out/p.parquet".as_ref())?, TableFormat::Parquet);
    /// assert!(TableFormat::of_path("p.xlsx".as_ref()).is_err());
    /// # Ok::<(), mlrig_pipeline::PipelineError>(())
    /// ```
    pub fn of_path(path: &Path) -> Result<Self, PipelineError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Ok(TableFormat::Csv),
            Some("parquet") => Ok(TableFormat::Parquet),
            Some("jsonl" | "ndjson") => Ok(TableFormat::JsonLines),
            _ => Err(PipelineError::UnsupportedOutput {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// The table's columns: which input columns are copied, and the prediction
/// columns the model's task gives.
#[derive(Debug, Clone)]
pub(crate) struct TableLayout {
    schema: SchemaRef,
    /// Indices of the copied input columns, in output order.
    copied: Vec<usize>,
    /// The classes of a classifier (empty for regression).
    classes: Vec<String>,
}

impl TableLayout {
    /// The layout for data of schema `input` (read from `file`) scored by a
    /// model solving `task`.
    pub(crate) fn new(
        input: &SchemaRef,
        task: &Task,
        key: Option<&str>,
        with_input: bool,
        file: &Path,
    ) -> Result<Self, PipelineError> {
        let mut copied = Vec::new();
        if let Some(key) = key {
            let index = input.index_of(key).map_err(|_| PipelineError::MissingKey {
                file: file.to_path_buf(),
                column: key.to_string(),
                available: mlrig_core::column_list(input),
            })?;
            copied.push(index);
        }
        if with_input {
            let key = copied.first().copied();
            copied.extend((0..input.fields().len()).filter(|&i| Some(i) != key));
        }
        let mut fields: Vec<Field> = copied
            .iter()
            .map(|&i| input.field(i).as_ref().clone())
            .collect();
        let classes =
            match task {
                Task::Regression => {
                    fields.push(Field::new(PREDICTION_COLUMN, DataType::Float64, false));
                    Vec::new()
                }
                Task::Classification { classes } => {
                    fields.push(Field::new(PREDICTION_COLUMN, DataType::Utf8, false));
                    fields.extend(classes.iter().map(|c| {
                        Field::new(format!("{SCORE_PREFIX}{c}"), DataType::Float64, false)
                    }));
                    classes.clone()
                }
                _ => {
                    return Err(PipelineError::InconsistentBundle {
                        path: file.to_path_buf(),
                        reason: "the model solves a task this version cannot write predictions for"
                            .into(),
                    });
                }
            };
        for (i, field) in fields.iter().enumerate() {
            if fields[..i].iter().any(|f| f.name() == field.name()) {
                return Err(PipelineError::OutputColumnClash {
                    column: field.name().clone(),
                });
            }
        }
        Ok(TableLayout {
            schema: Arc::new(Schema::new(fields)),
            copied,
            classes,
        })
    }

    /// The table's schema.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The table rows of `batch` and its `predictions` (one per row).
    pub(crate) fn rows(
        &self,
        batch: &RecordBatch,
        predictions: &Predictions,
    ) -> Result<RecordBatch, PipelineError> {
        let mut columns: Vec<ArrayRef> = self
            .copied
            .iter()
            .map(|&i| Arc::clone(batch.column(i)))
            .collect();
        match predictions {
            Predictions::Regression { values } => {
                columns.push(Arc::new(Float64Array::from_iter_values(
                    values.iter().copied(),
                )));
            }
            Predictions::Classification {
                classes,
                probabilities,
            } => {
                if *classes != self.classes {
                    return Err(PipelineError::InconsistentBundle {
                        path: "(loaded model)".into(),
                        reason: format!(
                            "the model predicts classes {classes:?} but its task lists {:?}",
                            self.classes
                        ),
                    });
                }
                // Checked before the labels index `classes`: a corrupt bundle
                // must not make a label point past the class list.
                if probabilities.ncols() != classes.len() {
                    return Err(PipelineError::InconsistentBundle {
                        path: "(loaded model)".into(),
                        reason: format!(
                            "the model returned {} probability columns for {} classes",
                            probabilities.ncols(),
                            classes.len()
                        ),
                    });
                }
                let labels = predictions.labels().unwrap_or_default();
                let labels: Vec<&str> = labels
                    .iter()
                    .filter_map(|&l| classes.get(l).map(String::as_str))
                    .collect();
                columns.push(Arc::new(StringArray::from_iter_values(labels)));
                columns.extend(probabilities.columns().into_iter().map(|c| {
                    Arc::new(Float64Array::from_iter_values(c.iter().copied())) as ArrayRef
                }));
            }
            _ => {
                return Err(PipelineError::InconsistentBundle {
                    path: "(loaded model)".into(),
                    reason: "the model returned a kind of prediction this version cannot write"
                        .into(),
                });
            }
        }
        if columns.len() != self.schema.fields().len() {
            return Err(PipelineError::InconsistentBundle {
                path: "(loaded model)".into(),
                reason: format!(
                    "the model returned {} output columns, its task {}",
                    columns.len() - self.copied.len(),
                    self.schema.fields().len() - self.copied.len()
                ),
            });
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(arrow_error)?)
    }
}

fn arrow_error(e: mlrig_core::arrow_schema::ArrowError) -> mlrig_core::Error {
    mlrig_core::Error::component("arrow", e, false)
}

/// Turns table rows into what the writer appends: CSV or JSON Lines text,
/// or the batch itself for Parquet. Needs no file, so the rows of several
/// batches are encoded on several threads and appended in order.
#[derive(Debug, Clone)]
pub(crate) enum TableEncoder {
    Csv,
    Parquet,
    /// `"name":` of each column, JSON-escaped once.
    JsonLines(Vec<String>),
}

/// Encoded rows of one batch.
pub(crate) enum EncodedRows {
    Csv(CsvRows),
    Batch(RecordBatch),
    JsonLines { text: Vec<u8>, rows: usize },
}

impl EncodedRows {
    /// The number of table rows.
    pub(crate) fn rows(&self) -> usize {
        match self {
            EncodedRows::Csv(rows) => rows.rows() as usize,
            EncodedRows::Batch(batch) => batch.num_rows(),
            EncodedRows::JsonLines { rows, .. } => *rows,
        }
    }
}

impl TableEncoder {
    /// The encoder for tables of `schema` in `format`.
    pub(crate) fn new(format: TableFormat, schema: &SchemaRef) -> Result<Self, PipelineError> {
        Ok(match format {
            TableFormat::Csv => TableEncoder::Csv,
            TableFormat::Parquet => TableEncoder::Parquet,
            TableFormat::JsonLines => TableEncoder::JsonLines(
                schema
                    .fields()
                    .iter()
                    .map(|f| {
                        serde_json::to_string(f.name())
                            .map(|k| format!("{k}:"))
                            .map_err(|source| PipelineError::Json {
                                context: format!("column name {:?}", f.name()),
                                source,
                            })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Encodes `rows`.
    pub(crate) fn encode(&self, rows: RecordBatch) -> Result<EncodedRows, PipelineError> {
        Ok(match self {
            TableEncoder::Csv => EncodedRows::Csv(CsvRows::encode(&rows)?),
            TableEncoder::Parquet => EncodedRows::Batch(rows),
            TableEncoder::JsonLines(keys) => {
                let mut line = String::new();
                for row in 0..rows.num_rows() {
                    line.push('{');
                    for (i, column) in rows.columns().iter().enumerate() {
                        if i > 0 {
                            line.push(',');
                        }
                        line.push_str(&keys[i]);
                        push_json_value(&mut line, column.as_ref(), row);
                    }
                    line.push_str("}\n");
                }
                EncodedRows::JsonLines {
                    text: line.into_bytes(),
                    rows: rows.num_rows(),
                }
            }
        })
    }
}

/// Writes prediction tables to a temporary file that [`TableWriter::commit`]
/// renames into place.
pub(crate) enum TableWriter {
    Csv(CsvWriter),
    Parquet(Box<ArrowWriter<AtomicFile>>, PathBuf),
    JsonLines(BufWriter<AtomicFile>, PathBuf),
}

impl TableWriter {
    /// Starts the table at `path` in `format`.
    pub(crate) fn create(
        path: &Path,
        format: TableFormat,
        schema: &SchemaRef,
    ) -> Result<Self, PipelineError> {
        Ok(match format {
            TableFormat::Csv => TableWriter::Csv(CsvWriter::create(path, Arc::clone(schema))?),
            TableFormat::Parquet => {
                let file = AtomicFile::create(path)?;
                // Row groups end at 64 MiB, so a wide table (--with-input) keeps memory bounded.
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_bytes(Some(PARQUET_ROW_GROUP_BYTES))
                    .build();
                let writer = ArrowWriter::try_new(file, Arc::clone(schema), Some(properties))
                    .map_err(|e| parquet_error(path, e))?;
                TableWriter::Parquet(Box::new(writer), path.to_path_buf())
            }
            TableFormat::JsonLines => TableWriter::JsonLines(
                BufWriter::with_capacity(1 << 20, AtomicFile::create(path)?),
                path.to_path_buf(),
            ),
        })
    }

    /// Appends rows encoded by the [`TableEncoder`] of the same format.
    pub(crate) fn append(&mut self, rows: EncodedRows) -> Result<(), PipelineError> {
        match (self, rows) {
            (TableWriter::Csv(w), EncodedRows::Csv(rows)) => w.append(rows)?,
            (TableWriter::Parquet(w, path), EncodedRows::Batch(rows)) => {
                w.write(&rows).map_err(|e| parquet_error(path, e))?
            }
            (TableWriter::JsonLines(w, path), EncodedRows::JsonLines { text, .. }) => w
                .write_all(&text)
                .map_err(|e| mlrig_core::Error::io(path.as_path(), e))?,
            _ => {
                return Err(mlrig_core::Error::component(
                    "mlrig-pipeline",
                    std::io::Error::other("rows encoded for another table format"),
                    false,
                )
                .into());
            }
        }
        Ok(())
    }

    /// Finishes the file and renames it into place.
    pub(crate) fn commit(self) -> Result<(), PipelineError> {
        match self {
            TableWriter::Csv(w) => {
                w.commit()?;
            }
            TableWriter::Parquet(w, path) => {
                w.into_inner()
                    .map_err(|e| parquet_error(&path, e))?
                    .commit()?;
            }
            TableWriter::JsonLines(w, path) => {
                w.into_inner()
                    .map_err(|e| mlrig_core::Error::io(&path, e.into_error()))?
                    .commit()?;
            }
        }
        Ok(())
    }
}

fn parquet_error(path: &Path, e: parquet::errors::ParquetError) -> mlrig_core::Error {
    mlrig_core::Error::io(path, std::io::Error::other(e))
}

/// Appends one value as JSON (the ingestion types; anything else is `null`).
fn push_json_value(line: &mut String, column: &dyn Array, row: usize) {
    use std::fmt::Write as _;
    if column.is_null(row) {
        line.push_str("null");
        return;
    }
    match column.data_type() {
        DataType::Boolean => {
            line.push_str(if column.as_boolean().value(row) {
                "true"
            } else {
                "false"
            });
        }
        DataType::Int64 => {
            let _ = write!(line, "{}", column.as_primitive::<Int64Type>().value(row));
        }
        DataType::Float64 => {
            let v = column.as_primitive::<Float64Type>().value(row);
            if v.is_finite() {
                let _ = write!(line, "{v:?}");
            } else {
                line.push_str("null");
            }
        }
        DataType::Utf8 => {
            let text = column.as_string::<i32>().value(row);
            // Serializing a &str cannot fail.
            line.push_str(&serde_json::to_string(text).unwrap_or_default());
        }
        _ => line.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::Int64Array;
    use mlrig_core::ndarray::array;

    fn input() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("x", DataType::Float64, true),
        ]))
    }

    fn classifier() -> Task {
        Task::Classification {
            classes: vec!["no".into(), "yes".into()],
        }
    }

    #[test]
    fn key_first_then_inputs_then_label_and_one_score_per_class() {
        let layout =
            TableLayout::new(&input(), &classifier(), Some("x"), true, Path::new("d.csv")).unwrap();
        let names: Vec<_> = layout.schema().fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["x", "id", "prediction", "score_no", "score_yes"]);
        let batch = RecordBatch::try_new(
            input(),
            vec![
                Arc::new(Int64Array::from(vec![7, 8])),
                Arc::new(Float64Array::from(vec![0.5, 1.5])),
            ],
        )
        .unwrap();
        let predictions = Predictions::Classification {
            classes: vec!["no".into(), "yes".into()],
            probabilities: array![[0.9, 0.1], [0.5, 0.5]],
        };
        let rows = layout.rows(&batch, &predictions).unwrap();
        assert_eq!(
            rows.column(2).as_string::<i32>().value(1),
            "no",
            "ties go to the first class"
        );
        assert_eq!(rows.column(4).as_primitive::<Float64Type>().value(0), 0.1);
    }

    #[test]
    fn more_probability_columns_than_classes_is_an_inconsistent_bundle_not_a_panic() {
        let layout =
            TableLayout::new(&input(), &classifier(), None, false, Path::new("d.csv")).unwrap();
        let batch = RecordBatch::try_new(
            input(),
            vec![
                Arc::new(Int64Array::from(vec![7])),
                Arc::new(Float64Array::from(vec![0.5])),
            ],
        )
        .unwrap();
        let predictions = Predictions::Classification {
            classes: vec!["no".into(), "yes".into()],
            probabilities: array![[0.1, 0.2, 0.7]],
        };
        let e = layout.rows(&batch, &predictions).unwrap_err();
        assert!(
            matches!(e, PipelineError::InconsistentBundle { .. })
                && e.to_string()
                    .contains("3 probability columns for 2 classes"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_key_and_a_clashing_column_are_named() {
        let e = TableLayout::new(
            &input(),
            &Task::Regression,
            Some("user"),
            false,
            Path::new("d.csv"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("`user`") && e.to_string().contains("id, x"),
            "{e}"
        );
        let clash = Arc::new(Schema::new(vec![Field::new(
            "prediction",
            DataType::Int64,
            true,
        )]));
        let e = TableLayout::new(&clash, &Task::Regression, None, true, Path::new("d.csv"))
            .unwrap_err();
        assert!(e.to_string().contains("`prediction`"), "{e}");
        // Without --with-input the data's own `prediction` column is not copied.
        assert!(
            TableLayout::new(&clash, &Task::Regression, None, false, Path::new("d.csv")).is_ok()
        );
    }

    #[test]
    fn json_lines_write_nulls_and_non_finite_numbers_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("a\"b"), None])),
                Arc::new(Float64Array::from(vec![f64::INFINITY, 0.25])),
            ],
        )
        .unwrap();
        let encoder = TableEncoder::new(TableFormat::JsonLines, &schema).unwrap();
        let mut writer = TableWriter::create(&path, TableFormat::JsonLines, &schema).unwrap();
        writer.append(encoder.encode(batch).unwrap()).unwrap();
        assert!(!path.exists(), "nothing appears before the commit");
        writer.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"k\":\"a\\\"b\",\"v\":null}\n{\"k\":null,\"v\":0.25}\n"
        );
    }
}
