//! [`FeaturePipelineParams`] → [`FeaturePipelineValidParams`] →
//! [`FittedFeaturePipeline`]: declaring, checking and fitting a pipeline.

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::{Accumulator, ExactSum, Fit, ParamGuard, accumulate_par};

use crate::FeaturesError;
use crate::analyzer::{
    ColumnSummary, NumericSummary, OrderedF64, SpreadAnalyzer, SummaryAnalyzer, most_frequent,
};
use crate::fitted::{FittedColumn, FittedFeaturePipeline};
use crate::input_column::{CATEGORICAL_TYPES, ColumnType, NUMERIC_TYPES};
use crate::spec::{ColumnSpec, Encoding, FeatureSpec, Imputation, column_list};

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

    /// Checks the spec: no column listed twice, no mean imputation of a
    /// one-hot column, no imputation of a dropped column, and at least one
    /// column that produces features. Column types are checked at fit.
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

impl Fit<[RecordBatch]> for FeaturePipelineValidParams {
    type Fitted = FittedFeaturePipeline;
    type Error = FeaturesError;

    fn fit(&self, batches: &[RecordBatch]) -> Result<FittedFeaturePipeline, FeaturesError> {
        let plan = self.plan(batches)?;

        // Pass 1: counts, exact sums, min/max, value counts.
        let template = SummaryAnalyzer::new(
            plan.iter()
                .map(|p| match p.spec.encode {
                    Encoding::OneHot => ColumnSummary::categorical(&p.spec.name, p.column_type),
                    _ => ColumnSummary::numeric(
                        &p.spec.name,
                        p.spec.impute == Some(Imputation::MostFrequent),
                    ),
                })
                .collect(),
        );
        let summary = accumulate_par(|| template.clone(), batches)?.finish();

        let mut columns = Vec::with_capacity(plan.len());
        let mut pending = Vec::new();
        for (planned, summary) in plan.iter().zip(summary.columns) {
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
            let spreads = accumulate_par(|| template.clone(), batches)?.finish();
            for ((index, pending), spread) in pending.into_iter().zip(spreads) {
                let scale = pending.scale(spread.squares)?;
                if let Some(FittedColumn::StandardScale { scale: slot, .. }) =
                    columns.get_mut(index)
                {
                    *slot = scale;
                }
            }
        }
        FittedFeaturePipeline::new(columns, summary.rows)
    }
}

impl FeaturePipelineValidParams {
    /// Resolves every spec column against the first batch's schema: it must
    /// exist (even when dropped: a misspelt name is an error) and have a type
    /// the encoding reads.
    fn plan(&self, batches: &[RecordBatch]) -> Result<Vec<PlannedColumn<'_>>, FeaturesError> {
        let schema = batches
            .first()
            .ok_or(FeaturesError::NoTrainingData)?
            .schema();
        let mut plan = Vec::new();
        for spec in &self.spec.columns {
            let field =
                schema
                    .field_with_name(&spec.name)
                    .map_err(|_| FeaturesError::MissingColumn {
                        column: spec.name.clone(),
                        available: column_list(&schema),
                    })?;
            let found = ColumnType::from_arrow(field.data_type());
            let (accepted, expected) = match spec.encode {
                Encoding::Drop => continue,
                Encoding::OneHot => (found.filter(|t| t.is_categorical()), CATEGORICAL_TYPES),
                _ => (found.filter(|t| t.is_numeric()), NUMERIC_TYPES),
            };
            let column_type = accepted.ok_or_else(|| FeaturesError::WrongColumnType {
                column: spec.name.clone(),
                expected: format!("{expected} (for {})", encoding_name(spec.encode)),
                found: field.data_type().to_string(),
            })?;
            plan.push(PlannedColumn { spec, column_type });
        }
        Ok(plan)
    }
}

fn encoding_name(encoding: Encoding) -> String {
    serde_json::to_value(encoding)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{encoding:?}"))
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

/// The mean of the non-missing values: exact for a constant column.
fn mean(s: &NumericSummary) -> Result<f64, FeaturesError> {
    match (s.min, s.max) {
        (Some(min), Some(max)) if min == max => Ok(min.0),
        _ if s.observed == 0 => Err(no_values(&s.name, "mean")),
        _ => finite(&s.name, "mean", s.sum.value() / s.observed as f64),
    }
}

/// Fits one column from its first-pass summary; a standard-scaled column
/// that is not constant also returns what pass 2 must finish.
fn fit_column(
    planned: &PlannedColumn<'_>,
    summary: ColumnSummary,
) -> Result<(FittedColumn, Option<PendingScale>), FeaturesError> {
    let spec = planned.spec;
    let name = spec.name.clone();
    let input_type = planned.column_type;
    match summary {
        ColumnSummary::Categorical(s) => {
            let impute_with = match spec.impute {
                Some(_) => Some(
                    most_frequent(&s.counts)
                        .cloned()
                        .ok_or_else(|| no_values(&name, "most frequent value"))?,
                ),
                None => None,
            };
            let column = FittedColumn::OneHot {
                name,
                input_type,
                impute_with,
                categories: s.counts.into_keys().collect(),
            };
            Ok((column, None))
        }
        ColumnSummary::Numeric(s) => {
            let impute_with = match spec.impute {
                None => None,
                Some(Imputation::Mean) => Some(mean(&s)?),
                Some(_) => Some(
                    most_frequent(&s.counts)
                        .map(|v| v.0)
                        .ok_or_else(|| no_values(&name, "most frequent value"))?,
                ),
            };
            if spec.encode != Encoding::StandardScale {
                return Ok((
                    FittedColumn::Passthrough {
                        name,
                        input_type,
                        impute_with,
                    },
                    None,
                ));
            }
            // The scaler sees the imputed column, as in an sklearn Pipeline.
            let mut imputed = s.clone();
            if let Some(fill) = impute_with
                && s.missing > 0
            {
                let key = OrderedF64::new(fill);
                imputed.observed += s.missing;
                imputed.sum.add_product(fill, s.missing as f64);
                imputed.min = Some(s.min.map_or(key, |m| m.min(key)));
                imputed.max = Some(s.max.map_or(key, |m| m.max(key)));
            }
            if imputed.observed == 0 {
                return Err(no_values(&name, "mean and standard deviation"));
            }
            let mean = mean(&imputed)?;
            let constant = imputed.min == imputed.max;
            let column = FittedColumn::StandardScale {
                name: name.clone(),
                input_type,
                impute_with,
                mean,
                // A constant column keeps scale 1; others get theirs in pass 2.
                scale: 1.0,
            };
            let pending = (!constant).then(|| PendingScale {
                name,
                count: imputed.observed,
                mean,
                fill: impute_with.map(|f| (f, s.missing)),
            });
            Ok((column, pending))
        }
    }
}
