//! [`FittedFeaturePipeline::check`]: verifies on data that the transformed
//! features have the properties their transforms promise, and reports every
//! violation with the output column and a count.
//!
//! | check | applies to | holds when |
//! |---|---|---|
//! | [`CheckKind::StandardizedMean`] | `standard_scale` outputs | `|mean| ≤ 1e-6` over non-NaN values |
//! | [`CheckKind::StandardizedStd`] | `standard_scale` outputs | `|std − 1| ≤ 1e-6` (population std), or std ≤ 1e-6 for a column constant in training (fitted scale 1) |
//! | [`CheckKind::GroupSum`] | one-hot / vocabulary / bucket groups | each row sums to 1, or 0 (unknown value without OOV bucket, or missing and not imputed) |
//! | [`CheckKind::NanAfterImputation`] | imputed columns with one numeric output (not `ordinal`: an unknown category's code is NaN even when imputed) | no NaN output |
//! | [`CheckKind::OutOfBounds`] | `clip` outputs, `min_max_scale` outputs | within `[min, max]` exactly / `feature_range` ± (1e-9 · width + 4 ulp of the fitted offset, the rounding of `x · scale + offset`) |
//!
//! The mean/std and min-max checks are only meaningful **on the training
//! data** (on new data they measure drift rather than bugs); the group-sum,
//! NaN and clip checks hold on any data. Tolerance constants:
//! [`STANDARDIZED_TOLERANCE`], [`BOUND_TOLERANCE`].

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::{ExactSum, FeatureMatrix, Transform};
use serde::Serialize;

use crate::fitted_column::FittedEncoding;
use crate::{FeaturesError, FittedFeaturePipeline};

/// Absolute tolerance of the standardized mean (0) and std (1) checks.
pub const STANDARDIZED_TOLERANCE: f64 = 1e-6;

/// Relative tolerance (times the interval width) of the min-max bound check.
pub const BOUND_TOLERANCE: f64 = 1e-9;

/// What a [`CheckViolation`] is about.
///
/// ```
/// use mlrig_features::CheckKind;
/// assert_eq!(serde_json::to_string(&CheckKind::GroupSum).unwrap(), "\"group_sum\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckKind {
    /// A standard-scaled output's mean is not ≈ 0.
    StandardizedMean,
    /// A standard-scaled output's std is not ≈ 1.
    StandardizedStd,
    /// A one-hot, vocabulary or bucket group does not sum to 0 or 1 in a row.
    GroupSum,
    /// An imputed column has a NaN output.
    NanAfterImputation,
    /// A clipped or min-max scaled output is outside its bounds.
    OutOfBounds,
}

/// One failed check.
///
/// ```
/// use mlrig_features::CheckKind;
/// # use mlrig_core::{Fit, ParamGuard};
/// # use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
/// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
/// # use std::sync::Arc;
/// # let batch = |v: Vec<f64>| RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(v)) as ArrayRef)]);
/// let spec = FeatureSpec::new().with_column(ColumnSpec::standard_scale("x"));
/// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch(vec![1.0, 2.0, 3.0])?])?;
/// let report = fitted.check(&[batch(vec![100.0, 101.0])?])?;
/// let v = &report.violations[0];
/// assert_eq!((v.column.as_str(), v.kind), ("x", CheckKind::StandardizedMean));
/// assert!(v.to_string().starts_with("x: standardized_mean ("));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CheckViolation {
    /// The output column (or, for a group, the input column).
    pub column: String,
    /// The check that failed.
    pub kind: CheckKind,
    /// How many values or rows fail (for mean/std: the values measured).
    pub count: u64,
    /// What was found, e.g. `mean 0.31`.
    pub detail: String,
}

impl std::fmt::Display for CheckViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = serde_json::to_value(self.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        write!(
            f,
            "{}: {kind} ({}): {}",
            self.column, self.count, self.detail
        )
    }
}

/// The result of [`FittedFeaturePipeline::check`].
///
/// ```
/// # use mlrig_core::{Fit, ParamGuard};
/// # use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
/// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
/// # use std::sync::Arc;
/// # let batch = |v: Vec<f64>| RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(v)) as ArrayRef)]);
/// let spec = FeatureSpec::new().with_column(ColumnSpec::standard_scale("x"));
/// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch(vec![1.0, 2.0, 3.0])?])?;
/// let report = fitted.check(&[batch(vec![1.0, 2.0, 3.0])?])?;
/// assert!(report.is_ok() && report.rows == 3 && report.checks > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FeatureCheckReport {
    /// Rows checked.
    pub rows: u64,
    /// Number of (output column or group, check) pairs evaluated.
    pub checks: u64,
    /// Every failed check: standardization, then groups, then NaN and bounds.
    pub violations: Vec<CheckViolation>,
}

impl FeatureCheckReport {
    /// `true` when no check failed.
    ///
    /// ```
    /// # use mlrig_core::{Fit, ParamGuard};
    /// # use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
    /// # use mlrig_features::{ColumnSpec, FeaturePipelineParams, FeatureSpec};
    /// # use std::sync::Arc;
    /// # let batch = |v: Vec<f64>| RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(v)) as ArrayRef)]);
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::standard_scale("x"));
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[batch(vec![1.0, 2.0, 3.0])?])?;
    /// assert!(!fitted.check(&[batch(vec![100.0, 101.0])?])?.is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Running sums of one standard-scaled output.
struct Standardized {
    column: usize,
    constant_in_training: bool,
    sum: ExactSum,
    squares: ExactSum,
    nans: u64,
}

/// A group of outputs that must sum to 0 or 1 per row (or exactly 1).
struct Group {
    name: String,
    start: usize,
    end: usize,
    must_be_one: bool,
    failing_rows: u64,
}

/// Outputs that must be non-NaN (imputed) or within bounds.
struct Bounded {
    column: usize,
    /// `(low, high, slack)`.
    bounds: Option<(f64, f64, f64)>,
    no_nan: bool,
    nans: u64,
    outside: u64,
}

impl FittedFeaturePipeline {
    /// Transforms `batches` and checks the properties in the module table
    /// (see [`CheckKind`]); errors only when a batch cannot be transformed.
    ///
    /// ```
    /// use mlrig_core::{Fit, ParamGuard};
    /// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    /// use mlrig_features::{CheckKind, ColumnSpec, FeaturePipelineParams, FeatureSpec, Imputation};
    /// use std::sync::Arc;
    ///
    /// let train = RecordBatch::try_from_iter([
    ///     ("x", Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0), Some(8.0)])) as ArrayRef),
    ///     ("c", Arc::new(StringArray::from(vec![Some("a"), Some("b"), None, Some("a")])) as ArrayRef),
    /// ])?;
    /// let spec = FeatureSpec::new()
    ///     .with_column(ColumnSpec::standard_scale("x").with_impute(Imputation::Median))
    ///     .with_column(ColumnSpec::one_hot("c").with_impute(Imputation::MostFrequent));
    /// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&[train.clone()])?;
    /// assert!(fitted.check(&[train])?.is_ok());
    ///
    /// let shifted = RecordBatch::try_from_iter([
    ///     ("x", Arc::new(Float64Array::from(vec![100.0, 101.0])) as ArrayRef),
    ///     ("c", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
    /// ])?;
    /// let report = fitted.check(&[shifted])?;
    /// assert_eq!(report.violations[0].kind, CheckKind::StandardizedMean);
    /// assert_eq!(report.violations[0].column, "x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self, batches: &[RecordBatch]) -> Result<FeatureCheckReport, FeaturesError> {
        let names = self.output_names();
        let mut standardized = Vec::new();
        let mut groups = Vec::new();
        let mut bounded = Vec::new();
        let mut offset = 0;
        for column in self.columns() {
            let imputed = column.impute_with.is_some();
            let width = column.width() - usize::from(column.missing_indicator);
            match &column.encode {
                FittedEncoding::StandardScale { scale, .. } => standardized.push(Standardized {
                    column: offset,
                    constant_in_training: *scale == 1.0,
                    sum: ExactSum::default(),
                    squares: ExactSum::default(),
                    nans: 0,
                }),
                FittedEncoding::OneHot { .. }
                | FittedEncoding::Bucketize { ordinal: false, .. }
                    if width > 0 =>
                {
                    groups.push(Group {
                        name: column.name.clone(),
                        start: offset,
                        end: offset + width,
                        must_be_one: imputed
                            && matches!(column.encode, FittedEncoding::Bucketize { .. }),
                        failing_rows: 0,
                    });
                }
                _ => {}
            }
            let bounds = match &column.encode {
                FittedEncoding::Clip { min, max } => Some((
                    min.unwrap_or(f64::NEG_INFINITY),
                    max.unwrap_or(f64::INFINITY),
                    0.0,
                )),
                FittedEncoding::MinMaxScale {
                    feature_range: [low, high],
                    offset,
                    ..
                } => Some((
                    *low,
                    *high,
                    BOUND_TOLERANCE * (high - low) + 4.0 * f64::EPSILON * offset.abs(),
                )),
                _ => None,
            };
            let numeric_single = !matches!(
                column.encode,
                FittedEncoding::OneHot { .. }
                    | FittedEncoding::Ordinal { .. }
                    | FittedEncoding::Hash { .. }
                    | FittedEncoding::DateParts { .. }
                    | FittedEncoding::Bucketize { ordinal: false, .. }
            );
            if bounds.is_some() || (imputed && numeric_single) {
                bounded.push(Bounded {
                    column: offset,
                    bounds,
                    no_nan: imputed,
                    nans: 0,
                    outside: 0,
                });
            }
            offset += column.width();
        }

        let mut rows = 0u64;
        for batch in batches {
            let features = self.transform(batch)?;
            rows += features.nrows() as u64;
            for row in 0..features.nrows() {
                let value = |column: usize| match features.matrix() {
                    FeatureMatrix::Dense(m) => m.get((row, column)).copied().unwrap_or(0.0),
                    FeatureMatrix::Sparse(m) => m.get(row, column).copied().unwrap_or(0.0),
                };
                for s in &mut standardized {
                    let v = value(s.column);
                    if v.is_nan() {
                        s.nans += 1;
                    } else {
                        s.sum.add(v);
                        s.squares.add_product(v, v);
                    }
                }
                for b in &mut bounded {
                    let v = value(b.column);
                    if v.is_nan() {
                        b.nans += u64::from(b.no_nan);
                    } else if let Some((low, high, slack)) = b.bounds {
                        b.outside += u64::from(v < low - slack || v > high + slack);
                    }
                }
                for g in &mut groups {
                    let sum: f64 = (g.start..g.end).map(value).sum();
                    let ok = sum == 1.0 || (!g.must_be_one && sum == 0.0);
                    g.failing_rows += u64::from(!ok);
                }
            }
        }

        let mut violations = Vec::new();
        let mut checks = 0u64;
        let name = |column: usize| names.get(column).cloned().unwrap_or_default();
        for s in standardized {
            checks += 2;
            let n = rows - s.nans;
            if n == 0 {
                continue;
            }
            let mean = s.sum.value() / n as f64;
            let variance = (s.squares.value() / n as f64 - mean * mean).max(0.0);
            let std = variance.sqrt();
            if mean.abs() > STANDARDIZED_TOLERANCE {
                violations.push(CheckViolation {
                    column: name(s.column),
                    kind: CheckKind::StandardizedMean,
                    count: n,
                    detail: format!(
                        "mean {mean} over {n} values (expected 0 ± {STANDARDIZED_TOLERANCE})"
                    ),
                });
            }
            let constant_ok = s.constant_in_training && std <= STANDARDIZED_TOLERANCE;
            if (std - 1.0).abs() > STANDARDIZED_TOLERANCE && !constant_ok {
                violations.push(CheckViolation {
                    column: name(s.column),
                    kind: CheckKind::StandardizedStd,
                    count: n,
                    detail: format!(
                        "std {std} over {n} values (expected 1 ± {STANDARDIZED_TOLERANCE})"
                    ),
                });
            }
        }
        for g in groups {
            checks += 1;
            if g.failing_rows > 0 {
                let expected = if g.must_be_one { "1" } else { "0 or 1" };
                violations.push(CheckViolation {
                    column: g.name,
                    kind: CheckKind::GroupSum,
                    count: g.failing_rows,
                    detail: format!(
                        "{} rows whose group does not sum to {expected}",
                        g.failing_rows
                    ),
                });
            }
        }
        for b in bounded {
            checks += u64::from(b.no_nan) + u64::from(b.bounds.is_some());
            if b.nans > 0 {
                violations.push(CheckViolation {
                    column: name(b.column),
                    kind: CheckKind::NanAfterImputation,
                    count: b.nans,
                    detail: format!("{} NaN outputs although the column is imputed", b.nans),
                });
            }
            if let (Some((low, high, _)), true) = (b.bounds, b.outside > 0) {
                violations.push(CheckViolation {
                    column: name(b.column),
                    kind: CheckKind::OutOfBounds,
                    count: b.outside,
                    detail: format!("{} values outside [{low}, {high}]", b.outside),
                });
            }
        }
        Ok(FeatureCheckReport {
            rows,
            checks,
            violations,
        })
    }
}
