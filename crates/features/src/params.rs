//! [`FeaturePipelineParams`] → [`FeaturePipelineValidParams`] →
//! [`FittedFeaturePipeline`]: declaring, checking and fitting a pipeline.

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::Schema;
use mlrig_core::{
    Accumulator, ExactSum, Fit, OrderedF64, ParallelAccumulation, ParamGuard, accumulate_par,
};

use crate::FeaturesError;
use crate::analyzer::{
    ColumnSummary, NumericSummary, SpreadAnalyzer, SummaryAnalyzer, most_frequent,
};
use crate::fitted::FittedFeaturePipeline;
use crate::fitted_column::{FillValue, FittedColumn, FittedCross, FittedEncoding};
use crate::input_column::{CATEGORICAL_TYPES, Category, ColumnType, NUMERIC_TYPES};
use crate::spec::{
    ColumnSpec, ConstantValue, CrossSpec, Encoding, FeatureSpec, Imputation, InputKind,
    OutputLayout, SPARSE_DENSITY_THRESHOLD, column_list,
};
use crate::value_counts::{DEFAULT_COUNT_CAPACITY, ValueCounts};

/// Parameters of a feature pipeline: a [`FeatureSpec`], not yet checked.
///
/// ```
/// use mlrig_core::ParamGuard;
/// use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
/// let params = FeaturePipelineParams::new(FeatureSpec::new().with_column(ColumnSpec::passthrough("x")));
/// assert!(params.check().is_ok());
/// assert!(FeaturePipelineParams::new(FeatureSpec::new()).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FeaturePipelineParams {
    spec: FeatureSpec,
}

impl FeaturePipelineParams {
    /// Parameters for `spec`.
    ///
    /// ```
    /// # use mlrig_features::{FeaturePipelineParams, FeatureSpec};
    /// let params = FeaturePipelineParams::new(FeatureSpec::new());
    /// assert!(params.spec().columns.is_empty());
    /// ```
    pub fn new(spec: FeatureSpec) -> Self {
        Self { spec }
    }

    /// The spec.
    ///
    /// ```
    /// # use mlrig_features::{FeaturePipelineParams, FeatureSpec};
    /// assert_eq!(FeaturePipelineParams::new(FeatureSpec::new()).spec(), &FeatureSpec::new());
    /// ```
    pub fn spec(&self) -> &FeatureSpec {
        &self.spec
    }
}

impl ParamGuard for FeaturePipelineParams {
    type Checked = FeaturePipelineValidParams;
    type Error = FeaturesError;

    /// Checks the spec: no column or cross listed twice, imputations that fit
    /// their encodings, valid encoding parameters, and at least one column
    /// or cross that produces features. Column types are checked at fit.
    fn check(self) -> Result<FeaturePipelineValidParams, FeaturesError> {
        self.spec.check()?;
        Ok(FeaturePipelineValidParams { spec: self.spec })
    }
}

/// A checked [`FeatureSpec`], ready to fit on training batches with
/// [`Fit::fit`].
///
/// Fitting reads the columns named by the spec (by name, so batches may hold
/// other columns), checks their types against the encodings, and computes the
/// statistics in two parallel passes of exactly-mergeable accumulators: the
/// fitted pipeline is the same, bit for bit, however the training data is
/// split into batches.
///
/// ```
/// use mlrig_core::{Fit, ParamGuard};
/// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
/// use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
/// use std::sync::Arc;
///
/// let spec = FeatureSpec::new().with_column(ColumnSpec::standard_scale("x"));
/// let params = FeaturePipelineParams::new(spec).check()?;
/// let batch = |v: Vec<f64>| RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(v)) as ArrayRef)]);
/// let whole = params.fit(&[batch(vec![1.0, 2.0, 4.0])?])?;
/// let parts = params.fit(&[batch(vec![4.0])?, batch(vec![1.0, 2.0])?])?;
/// assert_eq!(whole, parts);
///
/// let err = params.fit(&[batch(vec![])?.project(&[])?]).unwrap_err();
/// assert!(err.to_string().starts_with("column `x` is not in the input"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FeaturePipelineValidParams {
    spec: FeatureSpec,
}

impl FeaturePipelineValidParams {
    /// The checked spec.
    ///
    /// ```
    /// # use mlrig_core::ParamGuard;
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::passthrough("x"));
    /// let valid = FeaturePipelineParams::new(spec.clone()).check().unwrap();
    /// assert_eq!(valid.spec(), &spec);
    /// ```
    pub fn spec(&self) -> &FeatureSpec {
        &self.spec
    }
}

/// A spec column resolved against the training schema.
struct PlannedColumn<'a> {
    spec: &'a ColumnSpec,
    column_type: ColumnType,
}

/// A cross resolved against the training schema.
struct PlannedCross<'a> {
    spec: &'a CrossSpec,
    column_types: [ColumnType; 2],
}

impl Fit<[RecordBatch]> for FeaturePipelineValidParams {
    type Fitted = FittedFeaturePipeline;
    type Error = FeaturesError;

    fn fit(&self, batches: &[RecordBatch]) -> Result<FittedFeaturePipeline, FeaturesError> {
        let schema = batches
            .first()
            .ok_or(FeaturesError::NoTrainingData)?
            .schema();
        self.fit_from(&schema, &mut TrainingData::Batches(batches))
    }
}

/// What the caller of [`FeaturePipelineValidParams::fit_scan`] gets to feed
/// one pass: call it with each batch, in any number; an error (a batch
/// without a column the spec needs, say) ends the pass.
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
/// use mlrig_features::{BatchSink, FeaturesError};
/// use std::sync::Arc;
///
/// fn feed(sink: &mut BatchSink<'_>) -> Result<(), FeaturesError> {
///     let x = Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef;
///     sink(RecordBatch::try_from_iter([("x", x)]).map_err(mlrig_core::Error::from)?)
/// }
/// let mut rows = 0;
/// feed(&mut |batch: RecordBatch| { rows += batch.num_rows(); Ok(()) })?;
/// assert_eq!(rows, 2);
/// # Ok::<(), FeaturesError>(())
/// ```
pub type BatchSink<'a> = dyn FnMut(RecordBatch) -> Result<(), FeaturesError> + 'a;

/// Where the training batches come from.
enum TrainingData<'a, E> {
    /// All in memory.
    Batches(&'a [RecordBatch]),
    /// Streamed by the caller, once per pass.
    Scan(&'a mut dyn FnMut(&mut BatchSink<'_>) -> Result<(), E>),
}

impl<E: From<FeaturesError>> TrainingData<'_, E> {
    fn is_scan(&self) -> bool {
        matches!(self, TrainingData::Scan(_))
    }

    /// One pass of an accumulator over the data, in parallel on the rayon
    /// pool.
    fn run<A>(&mut self, template: A) -> Result<A, E>
    where
        A: Accumulator<Error = FeaturesError> + Clone + Send + Sync + 'static,
    {
        match self {
            TrainingData::Batches(batches) => Ok(accumulate_par(|| template.clone(), batches)?),
            TrainingData::Scan(scan) => {
                let mut accumulation = ParallelAccumulation::new(move || template.clone());
                scan(&mut |batch| accumulation.push(batch))?;
                Ok(accumulation.finish()?)
            }
        }
    }
}

impl FeaturePipelineValidParams {
    /// Fits on data too large to hold in memory: `scan` streams the training
    /// batches (e.g. reads a file) into the sink it is given, and is called
    /// once per pass (once or twice: standard scaling needs a second pass).
    /// Every scan must yield the same rows with the `schema` given; batches
    /// are accumulated on the rayon pool, at most one per thread in flight,
    /// so memory stays bounded by the batch size and the accumulators'
    /// bounded state. The result is the one [`Fit::fit`] gives on the same
    /// batches. Errors of `scan` are returned as they are; a scan that yields
    /// no row gives [`FeaturesError::NoTrainingData`].
    ///
    /// ```
    /// use mlrig_core::{Fit, ParamGuard};
    /// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
    /// use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec, FeaturesError};
    /// use std::sync::Arc;
    ///
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::standard_scale("x"));
    /// let params = FeaturePipelineParams::new(spec).check()?;
    /// let batch = |v: Vec<f64>| RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(v)) as ArrayRef)]);
    /// let batches = vec![batch(vec![1.0, 2.0])?, batch(vec![4.0])?];
    /// let mut passes = 0;
    /// let streamed = params.fit_scan(&batches[0].schema(), |sink| {
    ///     passes += 1;
    ///     batches.iter().try_for_each(|b| sink(b.clone()))
    /// })?;
    /// assert_eq!(passes, 2);
    /// assert_eq!(streamed, params.fit(&batches)?);
    ///
    /// let empty = params.fit_scan::<FeaturesError>(&batches[0].schema(), |_| Ok(()));
    /// assert!(matches!(empty, Err(FeaturesError::NoTrainingData)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fit_scan<E: From<FeaturesError>>(
        &self,
        schema: &Schema,
        mut scan: impl FnMut(&mut BatchSink<'_>) -> Result<(), E>,
    ) -> Result<FittedFeaturePipeline, E> {
        self.fit_from(schema, &mut TrainingData::Scan(&mut scan))
    }

    /// The two passes of a fit over `source`, whose batches have `schema`.
    fn fit_from<E: From<FeaturesError>>(
        &self,
        schema: &Schema,
        source: &mut TrainingData<'_, E>,
    ) -> Result<FittedFeaturePipeline, E> {
        let (plan, crosses) = self.plan(schema)?;

        // Pass 1: counts, exact sums, min/max, value counts, quantile
        // sketches; cross inputs are read to check their type in every batch.
        let capacity = self
            .spec
            .max_distinct_values
            .unwrap_or(DEFAULT_COUNT_CAPACITY);
        let mut summaries: Vec<ColumnSummary> =
            plan.iter().map(|p| summary_for(p, capacity)).collect();
        for cross in &crosses {
            for (name, column_type) in cross.spec.columns.iter().zip(cross.column_types) {
                summaries.push(ColumnSummary::categorical(name, column_type, false));
            }
        }
        let template = SummaryAnalyzer::new(summaries);
        let summary = source.run(template)?.finish();
        if summary.rows == 0 && source.is_scan() {
            return Err(FeaturesError::NoTrainingData.into());
        }

        let mut columns = Vec::with_capacity(plan.len());
        let mut pending = Vec::new();
        let mut missing = Vec::with_capacity(plan.len());
        for (planned, summary) in plan.iter().zip(summary.columns) {
            missing.push(match &summary {
                ColumnSummary::Numeric(s) => s.missing,
                ColumnSummary::Categorical(s) => s.missing,
            });
            let (column, spread) = fit_column(planned, summary)?;
            if let Some(spread) = spread {
                pending.push((columns.len(), spread));
            }
            columns.push(column);
        }

        // Pass 2: squared deviations of the standard-scaled columns.
        if !pending.is_empty() {
            let template =
                SpreadAnalyzer::new(pending.iter().map(|(_, s)| (s.name.clone(), s.mean)));
            let spreads = source.run(template)?.finish();
            for ((index, pending), spread) in pending.into_iter().zip(spreads) {
                let scale = pending.scale(spread.squares)?;
                if let Some(FittedColumn {
                    encode: FittedEncoding::StandardScale { scale: slot, .. },
                    ..
                }) = columns.get_mut(index)
                {
                    *slot = scale;
                }
            }
        }
        let crosses: Vec<FittedCross> = crosses
            .iter()
            .map(|c| FittedCross {
                columns: c.spec.columns.clone(),
                input_types: c.column_types,
                buckets: c.spec.buckets,
            })
            .collect();
        let output = match self.spec.output {
            OutputLayout::Auto => {
                let rows = summary.rows.max(1) as f64;
                let nonzeros: f64 = columns
                    .iter()
                    .zip(&missing)
                    .map(|(c, m)| c.expected_nonzeros(*m as f64 / rows))
                    .sum::<f64>()
                    + crosses.len() as f64;
                let width: usize = columns.iter().map(FittedColumn::width).sum::<usize>()
                    + crosses.iter().map(|c| c.buckets as usize).sum::<usize>();
                if width > 0 && nonzeros / (width as f64) < SPARSE_DENSITY_THRESHOLD {
                    OutputLayout::Sparse
                } else {
                    OutputLayout::Dense
                }
            }
            layout => layout,
        };
        Ok(FittedFeaturePipeline::new(
            columns,
            crosses,
            output,
            summary.rows,
        )?)
    }
}

/// The empty first-pass summary a planned column needs; value counts are
/// exact up to `capacity` distinct values.
fn summary_for(planned: &PlannedColumn<'_>, capacity: usize) -> ColumnSummary {
    let spec = planned.spec;
    let most_frequent = spec.impute == Some(Imputation::MostFrequent);
    match spec.encode.input_kind() {
        InputKind::Categorical => {
            let vocabulary = matches!(
                spec.encode,
                Encoding::OneHot | Encoding::Ordinal | Encoding::Vocabulary(_)
            );
            // A `top_k` vocabulary keeps at least `top_k` values after a
            // prune (which keeps half the capacity).
            let capacity = match &spec.encode {
                Encoding::Vocabulary(p) => p
                    .top_k
                    .map_or(capacity, |k| k.saturating_mul(2).max(capacity)),
                _ => capacity,
            };
            ColumnSummary::categorical_with_capacity(
                &spec.name,
                planned.column_type,
                vocabulary || most_frequent,
                ValueCounts::with_capacity(capacity),
            )
        }
        InputKind::DateText | InputKind::Unread => {
            ColumnSummary::categorical(&spec.name, planned.column_type, false)
        }
        InputKind::Numeric => {
            let sketch = spec.impute == Some(Imputation::Median)
                || matches!(
                    spec.encode,
                    Encoding::RobustScale(_) | Encoding::QuantileBucketize(_)
                );
            ColumnSummary::numeric(&spec.name, most_frequent, sketch, capacity)
        }
    }
}

impl FeaturePipelineValidParams {
    /// Resolves every spec column and cross against the first batch's
    /// schema: it must exist (even when dropped: a misspelt name is an error)
    /// and have a type the encoding reads.
    fn plan(
        &self,
        schema: &Schema,
    ) -> Result<(Vec<PlannedColumn<'_>>, Vec<PlannedCross<'_>>), FeaturesError> {
        let resolve = |name: &str, kind: InputKind, encoding: &str| {
            let field = schema
                .field_with_name(name)
                .map_err(|_| FeaturesError::MissingColumn {
                    column: name.to_string(),
                    available: column_list(schema),
                })?;
            let found = ColumnType::from_arrow(field.data_type());
            let (accepted, expected) = match kind {
                InputKind::Unread => return Ok(None),
                InputKind::Categorical => (found.filter(|t| t.is_categorical()), CATEGORICAL_TYPES),
                InputKind::DateText => (found.filter(|t| *t == ColumnType::Utf8), "Utf8"),
                InputKind::Numeric => (found.filter(|t| t.is_numeric()), NUMERIC_TYPES),
            };
            accepted
                .map(Some)
                .ok_or_else(|| FeaturesError::WrongColumnType {
                    column: name.to_string(),
                    expected: format!("{expected} (for {encoding})"),
                    found: field.data_type().to_string(),
                })
        };
        let mut plan = Vec::new();
        for spec in &self.spec.columns {
            if let Some(column_type) =
                resolve(&spec.name, spec.encode.input_kind(), spec.encode.name())?
            {
                plan.push(PlannedColumn { spec, column_type });
            }
        }
        let mut crosses = Vec::new();
        for spec in &self.spec.crosses {
            let mut column_types = [ColumnType::Utf8; 2];
            for (slot, name) in column_types.iter_mut().zip(&spec.columns) {
                if let Some(found) = resolve(name, InputKind::Categorical, "a cross")? {
                    *slot = found;
                }
            }
            crosses.push(PlannedCross { spec, column_types });
        }
        Ok((plan, crosses))
    }
}

/// What pass 2 needs to finish a standard-scaled column.
struct PendingScale {
    name: String,
    /// Rows the scaler sees (non-missing, plus imputed).
    count: u64,
    mean: f64,
    /// The imputed value and how many times it was imputed.
    fill: Option<(f64, u64)>,
}

impl PendingScale {
    /// The population standard deviation from the exact sum of squared
    /// deviations of the non-missing values, plus those of the imputed ones;
    /// 0 becomes 1 (scikit-learn's rule for constant columns).
    fn scale(&self, mut squares: ExactSum) -> Result<f64, FeaturesError> {
        if let Some((fill, times)) = self.fill {
            let deviation = fill - self.mean;
            let square = deviation * deviation;
            let rounding = deviation.mul_add(deviation, -square);
            squares.add_product(square, times as f64);
            squares.add_product(rounding, times as f64);
        }
        let std = (squares.value() / self.count as f64).sqrt();
        if !std.is_finite() {
            return Err(FeaturesError::NonFiniteStatistic {
                column: self.name.clone(),
                statistic: "standard deviation".into(),
            });
        }
        Ok(if std == 0.0 { 1.0 } else { std })
    }
}

fn no_values(name: &str, statistic: &str) -> FeaturesError {
    FeaturesError::NoTrainingValues {
        column: name.to_string(),
        statistic: statistic.to_string(),
    }
}

/// The error for a most-frequent value that cannot be found: no value at
/// all, or (beyond the exact capacity) none that stands out.
fn no_mode<K: Ord>(name: &str, counts: &ValueCounts<K>) -> FeaturesError {
    if counts.is_exact() {
        return no_values(name, "most frequent value");
    }
    FeaturesError::InvalidSpec {
        column: name.to_string(),
        reason: format!(
            "most_frequent imputation: more than {} distinct training values and none occurs more than {} times, so there is no most frequent value; impute a constant instead",
            counts.capacity(),
            counts.error_bound()
        ),
    }
}

fn finite(name: &str, statistic: &str, value: f64) -> Result<f64, FeaturesError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(FeaturesError::NonFiniteStatistic {
            column: name.to_string(),
            statistic: statistic.to_string(),
        })
    }
}

/// A scale below 10 machine epsilons becomes 1, as scikit-learn's
/// `_handle_zeros_in_scale` does.
fn nonzero_scale(scale: f64) -> f64 {
    if scale < 10.0 * f64::EPSILON {
        1.0
    } else {
        scale
    }
}

/// The mean of the non-missing values: exact for a constant column.
fn mean(s: &NumericSummary) -> Result<f64, FeaturesError> {
    match (s.min, s.max) {
        (Some(min), Some(max)) if min == max => Ok(min.get()),
        _ if s.observed == 0 => Err(no_values(&s.name, "mean")),
        _ => finite(&s.name, "mean", s.sum.value() / s.observed as f64),
    }
}

/// The `q`-quantile of the sketch, clamped into the exact `[min, max]`.
fn quantile(s: &NumericSummary, q: f64, statistic: &str) -> Result<f64, FeaturesError> {
    let value = s
        .sketch
        .as_ref()
        .and_then(|sketch| sketch.quantile_interpolated(q))
        .ok_or_else(|| no_values(&s.name, statistic))?;
    Ok(match (s.min, s.max) {
        (Some(min), Some(max)) => value.clamp(min.get(), max.get()),
        _ => value,
    })
}

fn invalid_fill(name: &str, value: &ConstantValue, column_type: ColumnType) -> FeaturesError {
    FeaturesError::InvalidSpec {
        column: name.to_string(),
        reason: format!(
            "the constant fill value {} does not fit a {column_type:?} column",
            serde_json::to_string(value).unwrap_or_default()
        ),
    }
}

/// The summary of the imputed column: `fill` added `missing` times.
fn with_fill(s: &NumericSummary, fill: Option<f64>) -> NumericSummary {
    let mut imputed = s.clone();
    if let Some(fill) = fill
        && s.missing > 0
    {
        let key = OrderedF64::new(fill);
        imputed.observed += s.missing;
        imputed.missing = 0;
        imputed.sum.add_product(fill, s.missing as f64);
        imputed.min = Some(s.min.map_or(key, |m| m.min(key)));
        imputed.max = Some(s.max.map_or(key, |m| m.max(key)));
        if let Some(sketch) = &mut imputed.sketch
            && fill.is_finite()
        {
            sketch.add_count(fill, s.missing);
        }
    }
    imputed
}

/// The numeric fill value of an imputation.
fn numeric_fill(
    spec: &ColumnSpec,
    s: &NumericSummary,
    column_type: ColumnType,
) -> Result<Option<f64>, FeaturesError> {
    let name = &spec.name;
    Ok(match &spec.impute {
        None => None,
        Some(Imputation::Mean) => Some(mean(s)?),
        Some(Imputation::Median) => Some(quantile(s, 0.5, "median")?),
        Some(Imputation::MostFrequent) => Some(
            most_frequent(s.counts.counts())
                .map(|v| v.get())
                .ok_or_else(|| no_mode(name, &s.counts))?,
        ),
        Some(Imputation::Constant(ConstantValue::Int(v))) => Some(*v as f64),
        Some(Imputation::Constant(ConstantValue::Float(v))) => Some(*v),
        Some(Imputation::Constant(other)) => return Err(invalid_fill(name, other, column_type)),
    })
}

/// The categorical fill value of an imputation.
fn category_fill(
    spec: &ColumnSpec,
    counts: &ValueCounts<Category>,
    column_type: ColumnType,
) -> Result<Option<Category>, FeaturesError> {
    let name = &spec.name;
    Ok(match &spec.impute {
        None => None,
        Some(Imputation::MostFrequent) => Some(
            most_frequent(counts.counts())
                .cloned()
                .ok_or_else(|| no_mode(name, counts))?,
        ),
        Some(Imputation::Constant(value)) => Some(match (value, column_type) {
            (ConstantValue::Bool(b), ColumnType::Boolean) => Category::Bool(*b),
            (ConstantValue::Int(i), ColumnType::Int64) => Category::Int(*i),
            (ConstantValue::Text(t), ColumnType::Utf8) => Category::Text(t.clone()),
            (other, _) => return Err(invalid_fill(name, other, column_type)),
        }),
        // Mean and median are rejected for categorical encodings by `check`.
        Some(_) => {
            return Err(FeaturesError::InvalidSpec {
                column: name.clone(),
                reason: "this imputation needs a numeric encoding".into(),
            });
        }
    })
}

/// Every category seen in training, sorted (numbers in order, `false <
/// true`, text by code point, as scikit-learn sorts them): the outputs of
/// `one_hot` and the codes of `ordinal`. Too many distinct values to count
/// exactly is an error naming the alternatives.
fn training_categories(
    name: &str,
    encoding: &Encoding,
    counts: ValueCounts<Category>,
) -> Result<Vec<Category>, FeaturesError> {
    if !counts.is_exact() {
        return Err(FeaturesError::TooManyCategories {
            column: name.to_string(),
            encoding: encoding.name().to_string(),
            limit: counts.capacity(),
        });
    }
    Ok(counts.into_counts().into_keys().collect())
}

/// The fitted vocabulary: values seen at least `min_frequency` times, the
/// `top_k` most frequent of them (ties to the smallest), sorted.
fn vocabulary(
    counts: std::collections::BTreeMap<Category, u64>,
    top_k: Option<usize>,
    min_frequency: u64,
) -> Vec<Category> {
    let mut kept: Vec<(Category, u64)> = counts
        .into_iter()
        .filter(|(_, count)| *count >= min_frequency)
        .collect();
    if let Some(k) = top_k
        && kept.len() > k
    {
        // Stable sort of a sorted list: equal counts stay smallest-first.
        kept.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        kept.truncate(k);
        kept.sort_by(|a, b| a.0.cmp(&b.0));
    }
    kept.into_iter().map(|(category, _)| category).collect()
}

/// Inner bucket boundaries at the `buckets`-quantiles: the edges
/// `[min, q(1/n), …, q((n−1)/n), max]` less every edge within 1e-8 of the
/// previous one (as `KBinsDiscretizer` drops narrow bins), without the ends.
fn quantile_boundaries(s: &NumericSummary, buckets: u32) -> Result<Vec<f64>, FeaturesError> {
    let (Some(min), Some(max)) = (s.min, s.max) else {
        return Err(no_values(&s.name, "quantiles"));
    };
    let mut edges = vec![min.get()];
    for i in 1..buckets {
        edges.push(quantile(s, f64::from(i) / f64::from(buckets), "quantiles")?);
    }
    edges.push(max.get());
    let mut kept = vec![edges[0]];
    for pair in edges.windows(2) {
        if pair[1] - pair[0] > 1e-8 {
            kept.push(pair[1]);
        }
    }
    let inner = kept.len().saturating_sub(1);
    Ok(kept.into_iter().take(inner).skip(1).collect())
}

/// Fits the encoding of a numeric column from the summary of the imputed
/// column; a standard-scaled column that is not constant also returns what
/// pass 2 must finish.
fn fit_numeric(
    spec: &ColumnSpec,
    s: &NumericSummary,
    fill: Option<f64>,
) -> Result<(FittedEncoding, Option<PendingScale>), FeaturesError> {
    let name = &spec.name;
    let imputed = with_fill(s, fill);
    let range = || match (imputed.min, imputed.max) {
        (Some(min), Some(max)) => Ok((min.get(), max.get())),
        _ => Err(no_values(name, "minimum and maximum")),
    };
    let encoding = match &spec.encode {
        Encoding::StandardScale => {
            if imputed.observed == 0 {
                return Err(no_values(name, "mean and standard deviation"));
            }
            let mean = mean(&imputed)?;
            let pending = (imputed.min != imputed.max).then(|| PendingScale {
                name: name.clone(),
                count: imputed.observed,
                mean,
                fill: fill.map(|f| (f, s.missing)),
            });
            // A constant column keeps scale 1; others get theirs in pass 2.
            let encoding = FittedEncoding::StandardScale { mean, scale: 1.0 };
            return Ok((encoding, pending));
        }
        Encoding::MinMaxScale(p) => {
            let (min, max) = range()?;
            let [a, b] = p.feature_range;
            let scale = (b - a) / nonzero_scale(finite(name, "range", max - min)?);
            FittedEncoding::MinMaxScale {
                scale,
                offset: finite(name, "minimum", a - min * scale)?,
                feature_range: p.feature_range,
                clip: p.clip,
            }
        }
        Encoding::RobustScale(p) => {
            let [low, high] = p.quantile_range;
            let center = quantile(&imputed, 0.5, "median")?;
            let spread = quantile(&imputed, high / 100.0, "quantiles")?
                - quantile(&imputed, low / 100.0, "quantiles")?;
            FittedEncoding::RobustScale {
                center,
                scale: nonzero_scale(finite(name, "quantile range", spread)?),
            }
        }
        Encoding::Clip(p) => FittedEncoding::Clip {
            min: p.min,
            max: p.max,
        },
        Encoding::Log | Encoding::Log1p => {
            let (transform, limit, expected) = if spec.encode == Encoding::Log {
                ("log", 0.0, "a value > 0")
            } else {
                ("log1p", -1.0, "a value > -1")
            };
            if let Some(min) = imputed.min
                && min.get() <= limit
            {
                return Err(FeaturesError::OutOfDomain {
                    column: name.clone(),
                    row: None,
                    value: min.get(),
                    transform: transform.into(),
                    expected: expected.into(),
                });
            }
            if spec.encode == Encoding::Log {
                FittedEncoding::Log
            } else {
                FittedEncoding::Log1p
            }
        }
        Encoding::Bucketize(p) => FittedEncoding::Bucketize {
            boundaries: p.boundaries.clone(),
            ordinal: p.ordinal,
        },
        Encoding::QuantileBucketize(p) => FittedEncoding::Bucketize {
            boundaries: quantile_boundaries(&imputed, p.buckets)?,
            ordinal: p.ordinal,
        },
        _ => FittedEncoding::Passthrough,
    };
    Ok((encoding, None))
}

/// Fits one column from its first-pass summary; a standard-scaled column
/// that is not constant also returns what pass 2 must finish.
fn fit_column(
    planned: &PlannedColumn<'_>,
    summary: ColumnSummary,
) -> Result<(FittedColumn, Option<PendingScale>), FeaturesError> {
    let spec = planned.spec;
    let input_type = planned.column_type;
    let (impute_with, encode, pending) = match summary {
        ColumnSummary::Categorical(s) => match &spec.encode {
            Encoding::DateParts(p) => (
                None,
                FittedEncoding::DateParts {
                    parts: p.parts.clone(),
                },
                None,
            ),
            encoding => {
                let fill = category_fill(spec, &s.counts, input_type)?;
                let encode = match encoding {
                    Encoding::Hash(p) => FittedEncoding::Hash {
                        buckets: p.buckets,
                        alternate_sign: p.alternate_sign,
                    },
                    Encoding::Vocabulary(p) => FittedEncoding::OneHot {
                        categories: vocabulary(s.counts.into_counts(), p.top_k, p.min_frequency),
                        oov_buckets: p.oov_buckets,
                    },
                    Encoding::Ordinal => FittedEncoding::Ordinal {
                        categories: training_categories(&spec.name, encoding, s.counts)?,
                    },
                    _ => FittedEncoding::OneHot {
                        categories: training_categories(&spec.name, encoding, s.counts)?,
                        oov_buckets: 0,
                    },
                };
                (fill.map(FillValue::Category), encode, None)
            }
        },
        ColumnSummary::Numeric(s) => {
            let fill = numeric_fill(spec, &s, input_type)?;
            let (encode, pending) = fit_numeric(spec, &s, fill)?;
            (fill.map(FillValue::Number), encode, pending)
        }
    };
    let column = FittedColumn {
        name: spec.name.clone(),
        input_type,
        impute_with,
        missing_indicator: spec.missing_indicator,
        encode,
    };
    Ok((column, pending))
}
