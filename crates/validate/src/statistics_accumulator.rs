//! [`StatisticsAccumulator`]: one streaming pass over record batches that
//! produces [`DatasetStatistics`], mergeable bit for bit.
//!
//! State per column: counts (present, missing, zeros, NaN), exact min/max,
//! [`ExactSum`]s of the values and of their squares, and for strings and
//! booleans exact per-value counts (capped, see below). Everything is either an
//! integer or an exact sum, so any split of the data, merged in any order,
//! finishes to the same bits as a single pass.
//!
//! # Precision
//!
//! * `mean` is the exact sum rounded once to `f64`, divided by the count (≤ 1 ulp
//!   from the exact mean, plus the division's ½ ulp).
//! * `std_dev` is the population standard deviation (as TFDV). The sum of
//!   squared deviations `Σx² − 2m·Σx + n·m²` is evaluated in exact arithmetic
//!   from the exact sums (only the sub-ulp remainder of `Σx` is rounded), so
//!   there is no cancellation even when the mean is large against the spread;
//!   the result is within a few ulps of the true value. Integers beyond 2⁵³ are
//!   split into two exactly representable halves, so their sums are exact too.
//! * If a value is ±∞ the mean is ±∞ (or NaN) and `std_dev` is NaN; the same
//!   holds when squares overflow `f64` (|x| > ~1.3e154).
//! * Per batch, the sums of ordinary values (integers up to 2⁵³, floats
//!   between 2⁻⁴⁰⁰ and 2⁴⁰⁰) are first gathered exactly in plain integers
//!   and added to the [`ExactSum`]s in a few exact pieces: the same exact
//!   sums, so the same bits, at a fraction of the cost per value.
//!
//! # Median and histograms
//!
//! Numeric columns also feed a DDSketch-style [`QuantileSketch`] (integer
//! counts in logarithmic buckets, so it merges exactly too). `median`, the
//! `STANDARD` and `QUANTILES` histograms and the [`VALUE_SKETCH`] custom
//! statistic are derived from it at `finish`; quantiles are within relative
//! value error [`QUANTILE_RELATIVE_ACCURACY`](crate::QUANTILE_RELATIVE_ACCURACY)
//! of the exact order statistic (see the `sketch` module docs for how this
//! relates to TFDV's rank error ε = 0.01).
//!
//! # Distinct values
//!
//! Strings keep exact counts of up to [`StatisticsParams::max_distinct_values`]
//! distinct values. Beyond that a deterministic sample of that many values is
//! kept (see `DistinctCounter`): their counts stay exact, `unique` becomes a
//! HyperLogLog estimate (`p = 14`, ≈ 0.8 % standard error, registers merged
//! by maximum, so still exact under any split) and the feature carries the
//! [`DISTINCT_CAPPED`] flag; top values are then the most frequent values
//! *of the sample*.

mod column;

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::{DataType, SchemaRef};
use mlrig_core::{Accumulator, ExactSum};
use serde::{Deserialize, Serialize};

use crate::ValidateError;
use crate::column_values::{ColumnValues, column_values};
use crate::statistics::DatasetStatistics;
use column::ColumnAccumulator;

/// Options of the statistics pass.
///
/// ```
/// use mlrig_validate::StatisticsParams;
/// let p = StatisticsParams::default().with_max_distinct_values(50).with_num_top_values(5);
/// assert_eq!(p.max_distinct_values, 50);
/// assert_eq!(p.num_top_values, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatisticsParams {
    /// Distinct string values counted exactly per column (default 1,000).
    pub max_distinct_values: usize,
    /// Values listed in `topValues` (default 20, as TFDV).
    pub num_top_values: usize,
    /// Buckets of the rank histogram, one value each (default 1,000); schema
    /// inference reads the string domain from it.
    pub num_rank_histogram_buckets: usize,
    /// The dataset name written in the statistics (default empty).
    pub dataset_name: String,
    /// A numeric column holding each example's weight (default none). When
    /// set, every feature also gets TFDV's weighted statistics
    /// (`weightedCommonStats`, `weightedNumericStats`, `weightedStringStats`)
    /// and the dataset its `weightedNumExamples`. Weights must be finite and
    /// `≥ 0`; a missing weight is an error, as in TFDV.
    #[serde(default)]
    pub weight_feature: Option<String>,
}

impl Default for StatisticsParams {
    fn default() -> Self {
        Self {
            max_distinct_values: 1_000,
            num_top_values: 20,
            num_rank_histogram_buckets: 1_000,
            dataset_name: String::new(),
            weight_feature: None,
        }
    }
}

impl StatisticsParams {
    /// Sets [`max_distinct_values`](Self::max_distinct_values).
    ///
    /// ```
    /// # use mlrig_validate::StatisticsParams;
    /// assert_eq!(StatisticsParams::default().with_max_distinct_values(7).max_distinct_values, 7);
    /// ```
    pub fn with_max_distinct_values(mut self, cap: usize) -> Self {
        self.max_distinct_values = cap;
        self
    }

    /// Sets [`num_top_values`](Self::num_top_values).
    ///
    /// ```
    /// # use mlrig_validate::StatisticsParams;
    /// assert_eq!(StatisticsParams::default().with_num_top_values(3).num_top_values, 3);
    /// ```
    pub fn with_num_top_values(mut self, n: usize) -> Self {
        self.num_top_values = n;
        self
    }

    /// Sets [`num_rank_histogram_buckets`](Self::num_rank_histogram_buckets).
    ///
    /// ```
    /// # use mlrig_validate::StatisticsParams;
    /// let p = StatisticsParams::default().with_num_rank_histogram_buckets(10);
    /// assert_eq!(p.num_rank_histogram_buckets, 10);
    /// ```
    pub fn with_num_rank_histogram_buckets(mut self, n: usize) -> Self {
        self.num_rank_histogram_buckets = n;
        self
    }

    /// Sets [`dataset_name`](Self::dataset_name).
    ///
    /// ```
    /// # use mlrig_validate::StatisticsParams;
    /// assert_eq!(StatisticsParams::default().with_dataset_name("train").dataset_name, "train");
    /// ```
    pub fn with_dataset_name(mut self, name: impl Into<String>) -> Self {
        self.dataset_name = name.into();
        self
    }

    /// Sets [`weight_feature`](Self::weight_feature).
    ///
    /// ```
    /// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    /// use mlrig_validate::{compute_statistics, StatisticsParams};
    /// use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([
    ///     ("x", Arc::new(Float64Array::from(vec![1.0, 3.0])) as ArrayRef),
    ///     ("w", Arc::new(Float64Array::from(vec![3.0, 1.0])) as ArrayRef),
    /// ]).unwrap();
    /// let params = StatisticsParams::default().with_weight_feature("w");
    /// let stats = compute_statistics(&[batch.clone()], &batch.schema(), &params)?;
    /// assert_eq!(stats.weighted_num_examples, 4.0);
    /// let x = stats.feature("x").unwrap().numeric().unwrap();
    /// assert_eq!((x.mean, x.weighted_numeric_stats.as_ref().unwrap().mean), (2.0, 1.5));
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn with_weight_feature(mut self, column: impl Into<String>) -> Self {
        self.weight_feature = Some(column.into());
        self
    }
}

/// Streaming, exactly mergeable statistics of record batches with one schema.
///
/// ```
/// use mlrig_core::Accumulator;
/// use mlrig_core::arrow_array::{Int64Array, RecordBatch, StringArray};
/// use mlrig_validate::{StatisticsAccumulator, StatisticsParams};
/// use std::sync::Arc;
///
/// let batch = RecordBatch::try_from_iter([
///     ("age", Arc::new(Int64Array::from(vec![Some(30), None, Some(50)])) as _),
///     ("city", Arc::new(StringArray::from(vec!["Oslo", "Oslo", "Rome"])) as _),
/// ]).unwrap();
/// let mut acc = StatisticsAccumulator::new(&batch.schema(), StatisticsParams::default());
/// acc.update(&batch)?;
/// let stats = acc.finish();
/// let age = stats.feature("age").unwrap().numeric().unwrap();
/// assert_eq!((age.mean, age.std_dev, age.common_stats.num_missing), (40.0, 10.0, 1));
/// let city = stats.feature("city").unwrap().string().unwrap();
/// assert_eq!(city.top_values[0].value, "Oslo");
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatisticsAccumulator {
    params: StatisticsParams,
    num_examples: u64,
    /// Total example weight (only with a weight feature).
    total_weight: ExactSum,
    columns: Vec<ColumnAccumulator>,
}

impl StatisticsAccumulator {
    /// An empty accumulator for batches with `schema`.
    ///
    /// ```
    /// use mlrig_core::Accumulator;
    /// use mlrig_core::arrow_schema::{DataType, Field, Schema};
    /// use mlrig_validate::{StatisticsAccumulator, StatisticsParams};
    /// use std::sync::Arc;
    /// let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
    /// let stats = StatisticsAccumulator::new(&schema, StatisticsParams::default()).finish();
    /// assert_eq!(stats.num_examples(), 0);
    /// assert_eq!(stats.features().len(), 1);
    /// ```
    pub fn new(schema: &SchemaRef, params: StatisticsParams) -> Self {
        let columns = schema
            .fields()
            .iter()
            .map(|field| ColumnAccumulator::new(field, &params))
            .collect();
        Self {
            params,
            num_examples: 0,
            total_weight: ExactSum::default(),
            columns,
        }
    }

    /// The parameters this accumulator was created with.
    ///
    /// ```
    /// # use mlrig_core::arrow_schema::Schema;
    /// # use mlrig_validate::{StatisticsAccumulator, StatisticsParams};
    /// let acc = StatisticsAccumulator::new(&std::sync::Arc::new(Schema::empty()), StatisticsParams::default());
    /// assert_eq!(acc.params(), &StatisticsParams::default());
    /// ```
    pub fn params(&self) -> &StatisticsParams {
        &self.params
    }

    /// The example weights of `batch`, when there is a weight feature.
    fn weights(&self, batch: &RecordBatch) -> Result<Option<Vec<f64>>, ValidateError> {
        let Some(name) = &self.params.weight_feature else {
            return Ok(None);
        };
        let Some(index) = self.columns.iter().position(|c| c.name == *name) else {
            return Err(ValidateError::BatchSchemaMismatch {
                column: name.clone(),
                expected: "a numeric weight column".into(),
                found: "no such column".into(),
            });
        };
        let array = &batch.columns()[index];
        let values: Vec<Option<f64>> = match column_values(array) {
            ColumnValues::Int(v) => v.iter().map(|x| x.map(|x| x as f64)).collect(),
            ColumnValues::Float(v) => v.iter().collect(),
            _ => {
                return Err(ValidateError::BatchSchemaMismatch {
                    column: name.clone(),
                    expected: "a numeric weight column".into(),
                    found: array.data_type().to_string(),
                });
            }
        };
        values
            .into_iter()
            .enumerate()
            .map(|(row, w)| match w {
                Some(w) if w.is_finite() && w >= 0.0 => Ok(w),
                other => Err(ValidateError::InvalidWeight {
                    column: name.clone(),
                    row,
                    found: other.map_or_else(|| "null".to_string(), |w| w.to_string()),
                }),
            })
            .collect::<Result<Vec<f64>, _>>()
            .map(Some)
    }

    fn check_batch(&self, batch: &RecordBatch) -> Result<(), ValidateError> {
        let schema = batch.schema();
        if schema.fields().len() != self.columns.len() {
            return Err(ValidateError::BatchSchemaMismatch {
                column: "(columns)".into(),
                expected: format!("{} columns", self.columns.len()),
                found: format!("{} columns", schema.fields().len()),
            });
        }
        for (column, field) in self.columns.iter().zip(schema.fields()) {
            if column.name != *field.name() {
                return Err(ValidateError::BatchSchemaMismatch {
                    column: column.name.clone(),
                    expected: format!("column `{}` at this position", column.name),
                    found: format!("column `{}`", field.name()),
                });
            }
            if column.data_type != *field.data_type() {
                return Err(ValidateError::BatchSchemaMismatch {
                    column: column.name.clone(),
                    expected: column.data_type.to_string(),
                    found: field.data_type().to_string(),
                });
            }
        }
        Ok(())
    }
}

impl Accumulator for StatisticsAccumulator {
    type Output = DatasetStatistics;
    type Error = ValidateError;

    fn update(&mut self, batch: &RecordBatch) -> Result<(), ValidateError> {
        self.check_batch(batch)?;
        let weights = self.weights(batch)?;
        self.num_examples += batch.num_rows() as u64;
        for (column, array) in self.columns.iter_mut().zip(batch.columns()) {
            column.update(array.as_ref(), column_values(array));
            if let Some(weights) = &weights {
                column.update_weighted(array.as_ref(), column_values(array), weights);
            }
        }
        if let Some(weights) = &weights {
            for w in weights {
                self.total_weight.add(*w);
            }
        }
        Ok(())
    }

    fn merge(&mut self, other: Self) -> Result<(), ValidateError> {
        if self.params != other.params {
            return Err(ValidateError::IncompatibleMerge {
                reason: format!("parameters differ: {:?} vs {:?}", self.params, other.params),
            });
        }
        let layout = |a: &Self| -> Vec<(String, DataType)> {
            a.columns
                .iter()
                .map(|c| (c.name.clone(), c.data_type.clone()))
                .collect()
        };
        if layout(self) != layout(&other) {
            return Err(ValidateError::IncompatibleMerge {
                reason: "the accumulators were created for different schemas".into(),
            });
        }
        if let Some((a, b)) = self
            .columns
            .iter()
            .zip(&other.columns)
            .find(|(a, b)| !a.same_kind(b))
        {
            return Err(ValidateError::IncompatibleMerge {
                reason: format!("column `{}` has different state kinds ({})", a.name, b.name),
            });
        }
        self.num_examples += other.num_examples;
        self.total_weight.merge(&other.total_weight);
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            mine.merge(theirs);
        }
        Ok(())
    }

    fn finish(self) -> DatasetStatistics {
        let params = self.params;
        DatasetStatistics {
            unmodelled: Default::default(),
            name: params.dataset_name.clone(),
            num_examples: self.num_examples,
            weighted_num_examples: self.total_weight.value(),
            features: self
                .columns
                .into_iter()
                .map(|c| c.finish(&params))
                .collect(),
        }
    }
}

/// Computes the statistics of `batches` (all with `schema`) in parallel with
/// rayon. The result does not depend on the thread count or the batching.
///
/// ```
/// use mlrig_core::arrow_array::{Float64Array, RecordBatch};
/// use mlrig_validate::{compute_statistics, StatisticsParams};
/// use std::sync::Arc;
/// let batch = RecordBatch::try_from_iter([
///     ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, f64::NAN, 0.0])) as _),
/// ]).unwrap();
/// let stats = compute_statistics(&[batch.clone(), batch.clone()], &batch.schema(), &StatisticsParams::default())?;
/// let x = stats.feature("x").unwrap().numeric().unwrap();
/// assert_eq!((x.mean, x.num_zeros, x.num_nan(), x.max), (1.0, 2, 2, 2.0));
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
pub fn compute_statistics(
    batches: &[RecordBatch],
    schema: &SchemaRef,
    params: &StatisticsParams,
) -> Result<DatasetStatistics, ValidateError> {
    let accumulator = mlrig_core::accumulate_par(
        || StatisticsAccumulator::new(schema, params.clone()),
        batches,
    )?;
    Ok(accumulator.finish())
}
