//! [`SlicedStatistics`]: statistics of a whole dataset and of each slice of
//! it by the values of one categorical feature, as TFDV's
//! `get_feature_value_slicer` produces them.
//!
//! The result is one `DatasetFeatureStatisticsList` with one dataset per
//! slice, named by TFDV's slice keys: [`DEFAULT_SLICE_KEY`] (`All Examples`)
//! for the whole data, then `{feature}_{value}` (e.g. `sex_Female`) for each
//! value of the slicing feature, in value order. Rows where the slicing
//! feature is missing are in `All Examples` only.
//!
//! [`SlicedStatisticsAccumulator`] keeps one [`StatisticsAccumulator`] per
//! slice, so it merges exactly like them. The number of slices is capped
//! ([`SlicedStatisticsAccumulator::with_max_slices`], default 1,000) so memory
//! stays bounded; going beyond the cap is an error, whatever the split of the
//! data (the error depends only on the set of values seen).

use std::collections::BTreeMap;

use mlrig_core::Accumulator;
use mlrig_core::arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use mlrig_core::arrow_schema::SchemaRef;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::column_values::{ColumnKind, ColumnValues, column_values};
use crate::proto_json;
use crate::statistics::{DatasetStatistics, deserialize_dataset_list, serialize_dataset_list};
use crate::{StatisticsAccumulator, StatisticsParams, ValidateError};

/// TFDV's name of the slice holding every example.
///
/// ```
/// assert_eq!(mlrig_validate::DEFAULT_SLICE_KEY, "All Examples");
/// ```
pub const DEFAULT_SLICE_KEY: &str = "All Examples";

/// Default cap on the number of slices of a [`SlicedStatisticsAccumulator`].
const DEFAULT_MAX_SLICES: usize = 1_000;

/// Statistics of several slices of one dataset (a tfmd
/// `DatasetFeatureStatisticsList` with one dataset per slice).
///
/// ```
/// use mlrig_validate::{DEFAULT_SLICE_KEY, SlicedStatistics};
/// let json = r#"{"datasets":[{"name":"All Examples","numExamples":"3"},{"name":"sex_F","numExamples":"1"}]}"#;
/// let sliced = SlicedStatistics::from_tfmd_json(json)?;
/// assert_eq!(sliced.slice(DEFAULT_SLICE_KEY).unwrap().num_examples(), 3);
/// assert_eq!(sliced.slice_keys(), ["All Examples", "sex_F"]);
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SlicedStatistics {
    /// One dataset per slice; `name` is the slice key.
    pub datasets: Vec<DatasetStatistics>,
}

impl SlicedStatistics {
    /// The statistics of slice `key`.
    ///
    /// ```
    /// assert!(mlrig_validate::SlicedStatistics::default().slice("All Examples").is_none());
    /// ```
    pub fn slice(&self, key: &str) -> Option<&DatasetStatistics> {
        self.datasets.iter().find(|d| d.name == key)
    }

    /// The slice keys, in order.
    ///
    /// ```
    /// assert!(mlrig_validate::SlicedStatistics::default().slice_keys().is_empty());
    /// ```
    pub fn slice_keys(&self) -> Vec<&str> {
        self.datasets.iter().map(|d| d.name.as_str()).collect()
    }

    /// Pretty tfmd JSON with a trailing newline.
    ///
    /// ```
    /// let text = mlrig_validate::SlicedStatistics::default().to_tfmd_json()?;
    /// assert!(text.contains("\"datasets\": []"));
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn to_tfmd_json(&self) -> Result<String, ValidateError> {
        proto_json::to_pretty_json(self, "sliced statistics")
    }

    /// Parses tfmd JSON (`DatasetFeatureStatisticsList`, any number of datasets).
    ///
    /// ```
    /// let s = mlrig_validate::SlicedStatistics::from_tfmd_json(r#"{"datasets":[]}"#)?;
    /// assert!(s.datasets.is_empty());
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn from_tfmd_json(text: &str) -> Result<Self, ValidateError> {
        proto_json::from_json(text, "sliced statistics")
    }
}

impl crate::TfmdFile for SlicedStatistics {
    const MESSAGE: &'static str = "tensorflow.metadata.v0.DatasetFeatureStatisticsList";
    const WHAT: &'static str = "statistics";
}

impl Serialize for SlicedStatistics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_dataset_list(&self.datasets, serializer)
    }
}

impl<'de> Deserialize<'de> for SlicedStatistics {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self {
            datasets: deserialize_dataset_list(deserializer)?,
        })
    }
}

/// Streaming, exactly mergeable statistics of the whole data and of each
/// value of a categorical slicing feature (`Utf8`, integer or boolean column).
///
/// ```
/// use mlrig_core::Accumulator;
/// use mlrig_core::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
/// use mlrig_validate::{SlicedStatisticsAccumulator, StatisticsParams};
/// use std::sync::Arc;
///
/// let batch = RecordBatch::try_from_iter([
///     ("age", Arc::new(Int64Array::from(vec![30, 40, 50])) as ArrayRef),
///     ("sex", Arc::new(StringArray::from(vec![Some("F"), Some("M"), None])) as ArrayRef),
/// ]).unwrap();
/// let mut acc = SlicedStatisticsAccumulator::new(&batch.schema(), StatisticsParams::default(), "sex")?;
/// acc.update(&batch)?;
/// let sliced = acc.finish();
/// assert_eq!(sliced.slice_keys(), ["All Examples", "sex_F", "sex_M"]);
/// let female = sliced.slice("sex_F").unwrap();
/// assert_eq!(female.feature("age").unwrap().numeric().unwrap().mean, 30.0);
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicedStatisticsAccumulator {
    slice_feature: String,
    column: usize,
    max_slices: usize,
    /// An empty accumulator, cloned for each new slice.
    empty: StatisticsAccumulator,
    all: StatisticsAccumulator,
    slices: BTreeMap<String, StatisticsAccumulator>,
}

impl SlicedStatisticsAccumulator {
    /// An empty accumulator slicing by column `slice_feature` of `schema`.
    ///
    /// Errors when the column does not exist or is not categorical
    /// (strings, integers or booleans).
    ///
    /// ```
    /// use mlrig_core::arrow_schema::{DataType, Field, Schema};
    /// use mlrig_validate::{SlicedStatisticsAccumulator, StatisticsParams};
    /// use std::sync::Arc;
    /// let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
    /// let err = SlicedStatisticsAccumulator::new(&schema, StatisticsParams::default(), "x").unwrap_err();
    /// assert!(err.to_string().contains("categorical"));
    /// assert!(SlicedStatisticsAccumulator::new(&schema, StatisticsParams::default(), "y").is_err());
    /// ```
    pub fn new(
        schema: &SchemaRef,
        params: StatisticsParams,
        slice_feature: &str,
    ) -> Result<Self, ValidateError> {
        let Some((column, field)) = schema
            .fields()
            .iter()
            .enumerate()
            .find(|(_, f)| f.name() == slice_feature)
        else {
            return Err(ValidateError::BatchSchemaMismatch {
                column: slice_feature.to_string(),
                expected: "a column to slice by".into(),
                found: "no such column".into(),
            });
        };
        if !matches!(
            ColumnKind::of(field.data_type()),
            ColumnKind::Str | ColumnKind::Int | ColumnKind::Bool
        ) {
            return Err(ValidateError::BatchSchemaMismatch {
                column: slice_feature.to_string(),
                expected: "a categorical column (strings, integers or booleans) to slice by".into(),
                found: field.data_type().to_string(),
            });
        }
        let empty = StatisticsAccumulator::new(schema, params);
        let all = empty.clone();
        Ok(Self {
            slice_feature: slice_feature.to_string(),
            column,
            max_slices: DEFAULT_MAX_SLICES,
            empty,
            all,
            slices: BTreeMap::new(),
        })
    }

    /// Sets the largest number of slices (besides `All Examples`) before
    /// [`update`](Accumulator::update) or [`merge`](Accumulator::merge) fail
    /// (default 1,000).
    ///
    /// ```
    /// # use mlrig_core::arrow_schema::{DataType, Field, Schema};
    /// # use mlrig_validate::{SlicedStatisticsAccumulator, StatisticsParams};
    /// # let schema = std::sync::Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
    /// let acc = SlicedStatisticsAccumulator::new(&schema, StatisticsParams::default(), "s")?.with_max_slices(10);
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn with_max_slices(mut self, max_slices: usize) -> Self {
        self.max_slices = max_slices;
        self
    }

    /// The slice key of every row of `batch` (`None` where the feature is missing).
    fn row_keys(&self, batch: &RecordBatch) -> Vec<Option<String>> {
        let Some(array) = batch.columns().get(self.column) else {
            return Vec::new();
        };
        let key = |value: &dyn std::fmt::Display| format!("{}_{value}", self.slice_feature);
        match column_values(array) {
            ColumnValues::Str(values) => values.iter().map(|v| v.map(|v| key(&v))).collect(),
            ColumnValues::Int(values) => values.iter().map(|v| v.map(|v| key(&v))).collect(),
            ColumnValues::Bool(values) => values.iter().map(|v| v.map(|v| key(&v))).collect(),
            ColumnValues::Float(_) | ColumnValues::Other => vec![None; array.len()],
        }
    }

    fn check_slice_count(&self) -> Result<(), ValidateError> {
        if self.slices.len() > self.max_slices {
            return Err(ValidateError::TooManySlices {
                feature: self.slice_feature.clone(),
                max_slices: self.max_slices,
            });
        }
        Ok(())
    }
}

impl Accumulator for SlicedStatisticsAccumulator {
    type Output = SlicedStatistics;
    type Error = ValidateError;

    fn update(&mut self, batch: &RecordBatch) -> Result<(), ValidateError> {
        self.all.update(batch)?;
        let mut rows: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (row, key) in self.row_keys(batch).into_iter().enumerate() {
            if let Some(key) = key {
                rows.entry(key).or_default().push(row as u32);
            }
        }
        for (key, indices) in rows {
            let part = if indices.len() == batch.num_rows() {
                batch.clone()
            } else {
                let indices: ArrayRef = std::sync::Arc::new(UInt32Array::from(indices));
                take_rows(batch, &indices)?
            };
            let slice = self.slices.entry(key).or_insert_with(|| self.empty.clone());
            slice.update(&part)?;
        }
        self.check_slice_count()
    }

    fn merge(&mut self, other: Self) -> Result<(), ValidateError> {
        if self.slice_feature != other.slice_feature || self.max_slices != other.max_slices {
            return Err(ValidateError::IncompatibleMerge {
                reason: format!(
                    "sliced by `{}` (at most {} slices) vs `{}` (at most {})",
                    self.slice_feature, self.max_slices, other.slice_feature, other.max_slices
                ),
            });
        }
        self.all.merge(other.all)?;
        for (key, theirs) in other.slices {
            match self.slices.get_mut(&key) {
                Some(mine) => mine.merge(theirs)?,
                None => {
                    self.slices.insert(key, theirs);
                }
            }
        }
        self.check_slice_count()
    }

    fn finish(self) -> SlicedStatistics {
        let mut all = self.all.finish();
        all.name = DEFAULT_SLICE_KEY.to_string();
        let mut datasets = vec![all];
        for (key, slice) in self.slices {
            let mut stats = slice.finish();
            stats.name = key;
            datasets.push(stats);
        }
        SlicedStatistics { datasets }
    }
}

fn take_rows(batch: &RecordBatch, indices: &ArrayRef) -> Result<RecordBatch, ValidateError> {
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), indices.as_ref(), None))
        .collect::<Result<Vec<ArrayRef>, _>>()
        .map_err(|e| ValidateError::Core(mlrig_core::Error::from(e)))?;
    RecordBatch::try_new(batch.schema(), columns)
        .map_err(|e| ValidateError::Core(mlrig_core::Error::from(e)))
}

/// Computes sliced statistics of `batches` in parallel with rayon (the
/// result does not depend on the thread count or the batching).
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch};
/// use mlrig_validate::{compute_sliced_statistics, StatisticsParams};
/// use std::sync::Arc;
/// let batch = RecordBatch::try_from_iter([
///     ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 4.0])) as ArrayRef),
///     ("flag", Arc::new(BooleanArray::from(vec![true, false, true])) as ArrayRef),
/// ]).unwrap();
/// let sliced = compute_sliced_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default(), "flag")?;
/// assert_eq!(sliced.slice_keys(), ["All Examples", "flag_false", "flag_true"]);
/// assert_eq!(sliced.slice("flag_true").unwrap().feature("x").unwrap().numeric().unwrap().mean, 2.5);
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
pub fn compute_sliced_statistics(
    batches: &[RecordBatch],
    schema: &SchemaRef,
    params: &StatisticsParams,
    slice_feature: &str,
) -> Result<SlicedStatistics, ValidateError> {
    let empty = SlicedStatisticsAccumulator::new(schema, params.clone(), slice_feature)?;
    let accumulator = mlrig_core::accumulate_par(|| empty.clone(), batches)?;
    Ok(accumulator.finish())
}
