//! [`PredictionTable`]: precomputed predictions of one model, by key, for
//! hybrid inference (answer known keys from the table, the others from the
//! live model).
//!
//! The table is what `mlrig predict --key COL` writes: the key column, the
//! `prediction` column and, for a classifier, one `score_<class>` column
//! per class in the model's class order. Other columns (`--with-input`)
//! are ignored, except that every column named `score_…` other than the
//! key is read as a class's score: input data with such a column makes a
//! `--with-input` table fail to load (a start-up error, never wrong
//! answers); write the table without `--with-input`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_core::arrow_schema::{DataType, Schema};
use mlrig_core::ndarray::{Array1, Array2};
use mlrig_core::{Predictions, ServableInfo, Task};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServeError;

/// The column holding the prediction (the value, or the predicted class).
pub const PREDICTION_COLUMN: &str = "prediction";
/// Prefix of a classifier's per-class probability columns.
pub const SCORE_PREFIX: &str = "score_";

/// Which prediction table answers for which model (`prediction_tables` in
/// the server config file; `mlrig serve --prediction-table MODEL=FILE[:KEY]`).
///
/// ```
/// let c: mlrig_serve::PredictionTableConfig =
///     serde_json::from_str(r#"{"model": "adult", "path": "adult-predictions.parquet", "key": "id"}"#)?;
/// assert_eq!(c.key.as_deref(), Some("id"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PredictionTableConfig {
    /// The model whose requests the table answers.
    pub model: String,
    /// The table: CSV, Parquet or JSON Lines, as `mlrig predict --key` writes it.
    pub path: std::path::PathBuf,
    /// The key column of the table and the request field holding the key
    /// (default: the table's first column, where `mlrig predict` writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl PredictionTableConfig {
    /// The table at `path` for `model`, keyed by its first column.
    ///
    /// ```
    /// let c = mlrig_serve::PredictionTableConfig::new("adult", "p.csv");
    /// assert_eq!((c.model.as_str(), c.key), ("adult", None));
    /// ```
    pub fn new(model: &str, path: impl Into<std::path::PathBuf>) -> Self {
        PredictionTableConfig {
            model: model.to_string(),
            path: path.into(),
            key: None,
        }
    }

    /// Keys the table by column `key`.
    ///
    /// ```
    /// let c = mlrig_serve::PredictionTableConfig::new("adult", "p.csv").with_key("id");
    /// assert_eq!(c.key.as_deref(), Some("id"));
    /// ```
    pub fn with_key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    /// Parses the command-line form `MODEL=FILE[:KEY]` (`:KEY` is split
    /// off only after a `.csv`, `.parquet`, `.jsonl` or `.ndjson` file name).
    ///
    /// ```
    /// use mlrig_serve::PredictionTableConfig;
    /// let c = PredictionTableConfig::parse("adult=out/p.parquet:id")?;
    /// assert_eq!(c, PredictionTableConfig::new("adult", "out/p.parquet").with_key("id"));
    /// assert_eq!(PredictionTableConfig::parse("adult=p.csv")?.key, None);
    /// assert!(PredictionTableConfig::parse("p.csv").is_err());
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    /// A message saying the expected form when there is no `MODEL=` or no file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let usage = || {
            format!("expected MODEL=FILE[:KEY], e.g. adult=predictions.parquet:id; got {text:?}")
        };
        let (model, rest) = text.split_once('=').ok_or_else(usage)?;
        if model.is_empty() || rest.is_empty() {
            return Err(usage());
        }
        let is_table = |file: &str| {
            [".csv", ".parquet", ".jsonl", ".ndjson"]
                .iter()
                .any(|ext| file.ends_with(ext))
        };
        Ok(match rest.rsplit_once(':') {
            Some((file, key)) if is_table(file) && !key.is_empty() => {
                PredictionTableConfig::new(model, file).with_key(key)
            }
            _ => PredictionTableConfig::new(model, rest),
        })
    }
}

/// The predictions of one model for a set of keys, in memory.
///
/// Keys are compared as text: a key column of any integer, float, boolean
/// or string type is stored as its text, and a request's key value as the
/// text of its JSON value (a string as is, a number or boolean as its JSON
/// text), so `42` and `"42"` both find key `42`. A float key is written as
/// the shortest text that reads back to it (`1.5`, `2.0`). `null`, lists
/// and objects have no key (the model answers).
///
/// Memory: one hash slot per row (a boxed key and a `u32` row number, 24
/// bytes, plus a control byte, at a load factor of at most 7/8), one heap
/// allocation per key (32 bytes for a key of up to 24 bytes) and one
/// `f64` per row and output column. [`PredictionTable::memory_bytes`]
/// estimates it; measured: 98 MB of resident memory per million rows of a
/// binary classifier with 8-byte keys (estimate 94 MB), about 2.7 million
/// lookups per second on one core.
///
/// ```
/// use std::sync::Arc;
/// use mlrig_serve::PredictionTable;
/// use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
/// use mlrig_serve::arrow_schema::{DataType, Field, Schema};
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("id", DataType::Utf8, false),
///     Field::new("prediction", DataType::Float64, false),
/// ]));
/// let batch = RecordBatch::try_new(schema.clone(), vec![
///     Arc::new(StringArray::from(vec!["a", "42"])),
///     Arc::new(Float64Array::from(vec![1.5, 2.5])),
/// ])?;
/// let table = PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch])?;
/// assert_eq!(table.len(), 2);
/// assert_eq!(table.row_of(&serde_json::json!(42)), Some(1));
/// assert_eq!(table.row_of(&serde_json::json!("b")), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PredictionTable {
    model: String,
    key: String,
    origin: String,
    /// Empty for regression.
    classes: Vec<String>,
    index: HashMap<Box<str>, u32>,
    /// Row-major: one value (regression) or one probability per class.
    values: Vec<f64>,
}

/// Where a column of the table is.
struct Columns {
    key: usize,
    prediction: usize,
    scores: Vec<usize>,
    /// The type of each of these columns in the schema.
    types: Vec<(usize, DataType)>,
}

impl PredictionTable {
    /// Builds the table of model `model` from the `batches` of a file with
    /// `schema` (`origin` names the file in errors), keyed by column `key`.
    ///
    /// # Errors
    /// [`ServeError::PredictionTable`] naming `origin` when the key or the
    /// `prediction` column is missing, a column has the wrong type (in
    /// `schema` or in a batch), a key is null or repeated, a score is null, a classifier's `prediction`
    /// is not its most probable class, or the table has more than
    /// `u32::MAX` rows.
    pub fn from_batches(
        model: &str,
        key: &str,
        origin: &str,
        schema: &Schema,
        batches: impl IntoIterator<Item = RecordBatch>,
    ) -> Result<Self, ServeError> {
        let error = |reason: String| ServeError::PredictionTable {
            origin: origin.to_string(),
            reason,
        };
        let columns = locate_columns(schema, key).map_err(error)?;
        let classes: Vec<String> = columns
            .scores
            .iter()
            .map(|&i| schema.field(i).name()[SCORE_PREFIX.len()..].to_string())
            .collect();
        let mut table = PredictionTable {
            model: model.to_string(),
            key: key.to_string(),
            origin: origin.to_string(),
            classes,
            index: HashMap::new(),
            values: Vec::new(),
        };
        let mut row = 0usize;
        for batch in batches {
            table.push(&batch, &columns, &mut row).map_err(error)?;
        }
        table.index.shrink_to_fit();
        table.values.shrink_to_fit();
        Ok(table)
    }

    fn push(
        &mut self,
        batch: &RecordBatch,
        columns: &Columns,
        row: &mut usize,
    ) -> Result<(), String> {
        // A batch that does not have the schema's columns is an error, not a panic.
        let batch_schema = batch.schema();
        for (i, expected) in &columns.types {
            let found = batch_schema.fields().get(*i).map(|f| f.data_type());
            if found != Some(expected) {
                return Err(format!(
                    "row {}: column {} is {} in a batch but {expected} in the schema",
                    *row + 1,
                    i + 1,
                    found.map_or_else(|| "missing".to_string(), ToString::to_string),
                ));
            }
        }
        let keys = batch.column(columns.key);
        let prediction = batch.column(columns.prediction);
        let scores: Vec<_> = columns
            .scores
            .iter()
            .map(|&i| batch.column(i).as_primitive::<Float64Type>())
            .collect();
        self.index.reserve(batch.num_rows());
        for i in 0..batch.num_rows() {
            let line = *row + 1;
            *row += 1;
            let Some(key) = key_text(keys.as_ref(), i) else {
                return Err(format!(
                    "row {line}: the key column `{}` is empty",
                    self.key
                ));
            };
            let number = u32::try_from(self.index.len())
                .map_err(|_| format!("more than {} rows", u32::MAX))?;
            match self.index.entry(key.into_owned().into_boxed_str()) {
                Entry::Occupied(entry) => {
                    return Err(format!(
                        "row {line}: key {:?} is repeated (first at row {}); a key must name one row",
                        entry.key(),
                        entry.get() + 1
                    ));
                }
                Entry::Vacant(entry) => {
                    entry.insert(number);
                }
            }
            if self.classes.is_empty() {
                let value = prediction.as_primitive::<Float64Type>();
                if value.is_null(i) {
                    return Err(format!("row {line}: `{PREDICTION_COLUMN}` is empty"));
                }
                self.values.push(value.value(i));
                continue;
            }
            let start = self.values.len();
            for (class, score) in self.classes.iter().zip(&scores) {
                if score.is_null(i) {
                    return Err(format!("row {line}: `{SCORE_PREFIX}{class}` is empty"));
                }
                self.values.push(score.value(i));
            }
            let label = prediction.as_string::<i32>();
            let best = argmax(&self.values[start..]);
            if label.is_null(i)
                || Some(label.value(i)) != self.classes.get(best).map(String::as_str)
            {
                return Err(format!(
                    "row {line}: `{PREDICTION_COLUMN}` is {:?} but the most probable class of its scores is {:?}",
                    (!label.is_null(i)).then(|| label.value(i)),
                    self.classes.get(best)
                ));
            }
        }
        Ok(())
    }

    /// The model the table answers for.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert_eq!(t.model(), "price");
    /// ```
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The request field holding the key.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert_eq!(t.key(), "id");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where the table was read from.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert_eq!(t.origin(), "p.csv");
    /// ```
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The classes of the `score_<class>` columns, in order (empty for a
    /// regression table).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert!(t.classes().is_empty());
    /// ```
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The number of keys.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert_eq!(t.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// `true` when the table has no row.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert!(!t.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// An estimate of the memory the table holds, in bytes: hash slots (of
    /// the capacity, a control byte each), one allocation per key (its
    /// bytes plus an 8-byte header, rounded up to 16, at least 32 bytes, as
    /// glibc's allocator does) and the values.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert!(t.memory_bytes() > 2 * 8);
    /// ```
    pub fn memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Box<str>, u32)>() + 1;
        let keys: usize = self
            .index
            .keys()
            .map(|k| (k.len() + 8).next_multiple_of(16).max(32))
            .sum();
        self.index.capacity() * slot + keys + self.values.capacity() * std::mem::size_of::<f64>()
    }

    /// The row of the key `value` (a request field's JSON value), if the
    /// table has it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert_eq!(t.row_of(&serde_json::json!("a")), Some(0));
    /// assert_eq!(t.row_of(&serde_json::json!(null)), None);
    /// ```
    pub fn row_of(&self, value: &Value) -> Option<usize> {
        let text = json_key_text(value)?;
        self.index.get(text.as_ref()).map(|&row| row as usize)
    }

    /// Checks that the table answers what `model` answers: a regression
    /// table for a regression model, the same classes in the same order for
    /// a classifier.
    ///
    /// # Errors
    /// [`ServeError::PredictionTable`] naming the table and both sides.
    ///
    /// ```
    /// use mlrig_serve::{ServableInfo, Task};
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// assert!(t.check_model(&ServableInfo::new("price", 1, Task::Regression, "y")).is_ok());
    /// let classifier = Task::Classification { classes: vec!["a".into(), "b".into()] };
    /// assert!(t.check_model(&ServableInfo::new("price", 1, classifier, "y")).is_err());
    /// ```
    pub fn check_model(&self, model: &ServableInfo) -> Result<(), ServeError> {
        if self.fits(&model.task) {
            return Ok(());
        }
        let table = if self.classes.is_empty() {
            "regression values (a numeric `prediction`, no `score_<class>` column)".to_string()
        } else {
            format!("classes {:?} (its `score_<class>` columns)", self.classes)
        };
        let expected = match &model.task {
            Task::Classification { classes } => format!("classes {classes:?}"),
            _ => "regression values".to_string(),
        };
        Err(ServeError::PredictionTable {
            origin: self.origin.clone(),
            reason: format!(
                "it holds {table} but model `{}` version {} predicts {expected}; write the table with `mlrig predict` from this model",
                model.name, model.version
            ),
        })
    }

    /// `true` when the table's outputs are the ones a model solving `task` gives.
    pub(crate) fn fits(&self, task: &Task) -> bool {
        match task {
            Task::Regression => self.classes.is_empty(),
            Task::Classification { classes } => *classes == self.classes,
            _ => false,
        }
    }

    /// The predictions of table rows `rows`, in that order.
    pub(crate) fn predictions(&self, rows: &[usize]) -> Predictions {
        if self.classes.is_empty() {
            return Predictions::Regression {
                values: Array1::from_iter(rows.iter().map(|&r| self.values[r])),
            };
        }
        let width = self.classes.len();
        let mut probabilities = Array2::zeros((rows.len(), width));
        for (mut out, &r) in probabilities.rows_mut().into_iter().zip(rows) {
            for (o, v) in out.iter_mut().zip(&self.values[r * width..(r + 1) * width]) {
                *o = *v;
            }
        }
        Predictions::Classification {
            classes: self.classes.clone(),
            probabilities,
        }
    }
}

/// The most probable class (ties go to the first), as the servers' `label`.
fn argmax(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}

fn locate_columns(schema: &Schema, key: &str) -> Result<Columns, String> {
    let names = || mlrig_core::column_list(schema);
    let key_index = schema.index_of(key).map_err(|_| {
        format!(
            "it has no key column `{key}` (columns: {}); write it with `mlrig predict --key {key}`",
            names()
        )
    })?;
    let prediction = schema.index_of(PREDICTION_COLUMN).map_err(|_| {
        format!(
            "it has no `{PREDICTION_COLUMN}` column (columns: {}); is it a table written by `mlrig predict`?",
            names()
        )
    })?;
    let scores: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(i, f)| *i != key_index && f.name().starts_with(SCORE_PREFIX))
        .map(|(i, _)| i)
        .collect();
    if !key_type_supported(schema.field(key_index).data_type()) {
        return Err(format!(
            "key column `{key}` has type {}; a key is text, an integer, a float or a boolean",
            schema.field(key_index).data_type()
        ));
    }
    for &i in &scores {
        let field = schema.field(i);
        if field.data_type() != &DataType::Float64 {
            return Err(format!(
                "column `{}` has type {} but a score is a Float64",
                field.name(),
                field.data_type()
            ));
        }
    }
    let expected = if scores.is_empty() {
        DataType::Float64
    } else {
        DataType::Utf8
    };
    if schema.field(prediction).data_type() != &expected {
        return Err(format!(
            "column `{PREDICTION_COLUMN}` has type {} but a {} table's is {expected}",
            schema.field(prediction).data_type(),
            if scores.is_empty() {
                "regression"
            } else {
                "classification"
            }
        ));
    }
    let types = [key_index, prediction]
        .iter()
        .chain(&scores)
        .map(|&i| (i, schema.field(i).data_type().clone()))
        .collect();
    Ok(Columns {
        key: key_index,
        prediction,
        scores,
        types,
    })
}

/// The split keys' types ([`mlrig_core::is_key_type`]), booleans and floats.
fn key_type_supported(data_type: &DataType) -> bool {
    mlrig_core::is_key_type(data_type)
        || matches!(
            data_type,
            DataType::Boolean | DataType::Float32 | DataType::Float64
        )
}

/// The text of row `i` of a key column (`None` when null).
fn key_text(column: &dyn Array, i: usize) -> Option<Cow<'_, str>> {
    if column.is_null(i) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Utf8 => Cow::Borrowed(column.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Cow::Borrowed(column.as_string::<i64>().value(i)),
        DataType::Utf8View => Cow::Borrowed(column.as_string_view().value(i)),
        DataType::Boolean => Cow::Borrowed(if column.as_boolean().value(i) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8 => Cow::Owned(column.as_primitive::<Int8Type>().value(i).to_string()),
        DataType::Int16 => Cow::Owned(column.as_primitive::<Int16Type>().value(i).to_string()),
        DataType::Int32 => Cow::Owned(column.as_primitive::<Int32Type>().value(i).to_string()),
        DataType::Int64 => Cow::Owned(column.as_primitive::<Int64Type>().value(i).to_string()),
        DataType::UInt8 => Cow::Owned(column.as_primitive::<UInt8Type>().value(i).to_string()),
        DataType::UInt16 => Cow::Owned(column.as_primitive::<UInt16Type>().value(i).to_string()),
        DataType::UInt32 => Cow::Owned(column.as_primitive::<UInt32Type>().value(i).to_string()),
        DataType::UInt64 => Cow::Owned(column.as_primitive::<UInt64Type>().value(i).to_string()),
        DataType::Float32 => {
            Cow::Owned(float32_text(column.as_primitive::<Float32Type>().value(i)))
        }
        DataType::Float64 => Cow::Owned(float_text(column.as_primitive::<Float64Type>().value(i))),
        _ => return None,
    })
}

/// A float key as JSON writes it (shortest round-trip text, `2.0` not `2`).
fn float_text(v: f64) -> String {
    serde_json::Number::from_f64(v).map_or_else(|| format!("{v}"), |n| n.to_string())
}

/// A `Float32` key as JSON writes the number it was written as: `0.1`, not
/// the text of the nearest `f64` (`0.10000000149011612`).
fn float32_text(v: f32) -> String {
    // Rust writes the shortest text that reads back to the same `f32`.
    float_text(format!("{v}").parse().unwrap_or(f64::from(v)))
}

/// The text of a request's key value: a string as is, a number or boolean
/// as its JSON text; `None` for null, lists and objects.
pub(crate) fn json_key_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::{Float64Array, Int64Array, StringArray};
    use mlrig_core::arrow_schema::Field;
    use serde_json::json;
    use std::sync::Arc;

    fn classifier_table(
        keys: Vec<i64>,
        labels: Vec<&str>,
        yes: Vec<f64>,
    ) -> Result<PredictionTable, ServeError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("prediction", DataType::Utf8, false),
            Field::new("score_no", DataType::Float64, false),
            Field::new("score_yes", DataType::Float64, false),
        ]));
        let no: Vec<f64> = yes.iter().map(|y| 1.0 - y).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(keys)),
                Arc::new(StringArray::from(labels)),
                Arc::new(Float64Array::from(no)),
                Arc::new(Float64Array::from(yes)),
            ],
        )
        .unwrap();
        PredictionTable::from_batches("adult", "id", "t.parquet", &schema, [batch])
    }

    #[test]
    fn integer_keys_match_numbers_and_strings_and_rows_come_back_in_order() {
        let table = classifier_table(
            vec![7, 8, 9],
            vec!["no", "yes", "no"],
            vec![0.25, 0.75, 0.5],
        )
        .unwrap();
        assert_eq!(table.classes(), ["no", "yes"]);
        assert_eq!(table.row_of(&json!(8)), Some(1));
        assert_eq!(table.row_of(&json!("8")), Some(1));
        assert_eq!(table.row_of(&json!(8.5)), None);
        assert_eq!(table.row_of(&json!([8])), None);
        let Predictions::Classification { probabilities, .. } = table.predictions(&[2, 0]) else {
            unreachable!()
        };
        assert_eq!(probabilities.row(0).to_vec(), [0.5, 0.5]);
        assert_eq!(probabilities.row(1).to_vec(), [0.75, 0.25]);
    }

    #[test]
    fn bad_tables_are_refused_naming_the_file_and_row() {
        let e = classifier_table(vec![7, 7], vec!["no", "no"], vec![0.1, 0.2])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.parquet") && e.contains("row 2: key \"7\" is repeated (first at row 1)"),
            "{e}"
        );
        let e = classifier_table(vec![7], vec!["no"], vec![0.9])
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1: `prediction` is Some(\"no\")"), "{e}");
        let schema = Schema::new(vec![Field::new("prediction", DataType::Float64, false)]);
        let e = PredictionTable::from_batches("m", "id", "p.csv", &schema, [])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "prediction table p.csv: it has no key column `id` (columns: prediction)"
            ),
            "{e}"
        );
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("prediction", DataType::Utf8, false),
        ]);
        let e = PredictionTable::from_batches("m", "id", "p.csv", &schema, [])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a regression table's is Float64"), "{e}");
    }

    #[test]
    fn a_batch_that_does_not_match_the_schema_is_an_error() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("prediction", DataType::Float64, false),
        ]);
        let other = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("prediction", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            other,
            vec![
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(Float64Array::from(vec![0.5])),
            ],
        )
        .unwrap();
        let e = PredictionTable::from_batches("m", "id", "p.csv", &schema, [batch])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 1: column 1 is Int64 in a batch but Utf8"),
            "{e}"
        );
        let narrow = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false)]));
        let batch =
            RecordBatch::try_new(narrow, vec![Arc::new(StringArray::from(vec!["a"]))]).unwrap();
        let e = PredictionTable::from_batches("m", "id", "p.csv", &schema, [batch])
            .unwrap_err()
            .to_string();
        assert!(e.contains("column 2 is missing"), "{e}");
    }

    #[test]
    fn a_table_fits_only_a_model_with_the_same_outputs() {
        let table = classifier_table(vec![1], vec!["yes"], vec![0.9]).unwrap();
        let same = Task::Classification {
            classes: vec!["no".into(), "yes".into()],
        };
        let swapped = Task::Classification {
            classes: vec!["yes".into(), "no".into()],
        };
        assert!(
            table
                .check_model(&ServableInfo::new("adult", 1, same, "y"))
                .is_ok()
        );
        let e = table
            .check_model(&ServableInfo::new("adult", 3, swapped, "y"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.parquet")
                && e.contains("classes [\"no\", \"yes\"]")
                && e.contains("model `adult` version 3 predicts classes [\"yes\", \"no\"]"),
            "{e}"
        );
        assert!(!table.fits(&Task::Regression));
    }

    #[test]
    fn float_keys_are_written_as_json_writes_them() {
        assert_eq!(float_text(2.0), "2.0");
        assert_eq!(float_text(1.5), "1.5");
        assert_eq!(json_key_text(&json!(2.0)).as_deref(), Some("2.0"));
        for (v, request) in [
            (0.1f32, json!(0.1)),
            (2.0, json!(2.0)),
            (-1e20, json!(-1e20)),
        ] {
            assert_eq!(
                float32_text(v).as_str(),
                json_key_text(&request).unwrap(),
                "{v}"
            );
        }
    }
}
