//! The schema's comparisons of one dataset with another: per-feature
//! [`FeatureComparator`]s (training/serving skew, drift between spans) and
//! the dataset-level [`DatasetConstraints`] with their example-count
//! [`NumericValueComparator`]s.

use serde::{Deserialize, Serialize};

use crate::proto_json::{opt_double, opt_int64};

/// How two datasets' distributions of a feature are compared (tfmd
/// `FeatureComparator`, the type of `skewComparator` and `driftComparator`).
///
/// ```
/// use mlrig_validate::{FeatureComparator, InfinityNorm};
/// let c = FeatureComparator::infinity_norm(0.01);
/// assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"infinityNorm":{"threshold":0.01}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct FeatureComparator {
    /// L∞ distance between the normalized value counts (categorical features).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infinity_norm: Option<InfinityNorm>,
    /// Jensen–Shannon divergence between histograms (numeric features).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jensen_shannon_divergence: Option<JensenShannonDivergence>,
    /// Largest count difference relative to the total count (categorical).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized_abs_difference: Option<NormalizedAbsoluteDifference>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

impl FeatureComparator {
    /// A comparator with only an L∞ threshold.
    ///
    /// ```
    /// let c = mlrig_validate::FeatureComparator::infinity_norm(0.1);
    /// assert_eq!(c.infinity_norm.unwrap().threshold, Some(0.1));
    /// ```
    pub fn infinity_norm(threshold: f64) -> Self {
        Self {
            infinity_norm: Some(InfinityNorm {
                unmodelled: Default::default(),
                threshold: Some(threshold),
            }),
            ..Self::default()
        }
    }

    /// A comparator with only a Jensen–Shannon divergence threshold (on the
    /// `STANDARD` histograms).
    ///
    /// ```
    /// let c = mlrig_validate::FeatureComparator::jensen_shannon_divergence(0.1);
    /// assert_eq!(c.jensen_shannon_divergence.unwrap().threshold, Some(0.1));
    /// ```
    pub fn jensen_shannon_divergence(threshold: f64) -> Self {
        Self {
            jensen_shannon_divergence: Some(JensenShannonDivergence {
                unmodelled: Default::default(),
                threshold: Some(threshold),
                source: None,
            }),
            ..Self::default()
        }
    }
}

/// An L∞ threshold (tfmd `InfinityNorm`): `max_i |p_i − q_i|` over the
/// normalized value counts must not exceed `threshold`.
///
/// ```
/// let n = mlrig_validate::InfinityNorm { unmodelled: Default::default(), threshold: Some(0.05) };
/// assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"threshold":0.05}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InfinityNorm {
    /// Largest allowed distance, in `[0, 1]`; unset means no check.
    #[serde(with = "opt_double", skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// A Jensen–Shannon divergence threshold (tfmd `JensenShannonDivergence`).
///
/// ```
/// let j: mlrig_validate::JensenShannonDivergence =
///     serde_json::from_str(r#"{"threshold":0.1,"source":{"type":"QUANTILES"}}"#).unwrap();
/// assert_eq!(j.threshold, Some(0.1));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JensenShannonDivergence {
    /// Largest allowed divergence (in bits, so in `[0, 1]`); unset means no check.
    #[serde(with = "opt_double", skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Which histogram to compare (default `STANDARD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<HistogramSelection>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// The histogram a divergence is computed on (tfmd `HistogramSelection`).
///
/// ```
/// use mlrig_validate::{HistogramSelection, HistogramSelectionType};
/// let s = HistogramSelection { unmodelled: Default::default(), selection_type: Some(HistogramSelectionType::Quantiles) };
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"type":"QUANTILES"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HistogramSelection {
    /// The histogram type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub selection_type: Option<HistogramSelectionType>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// The values of tfmd `HistogramSelection.Type`.
///
/// ```
/// assert_eq!(mlrig_validate::HistogramSelectionType::default(),
///            mlrig_validate::HistogramSelectionType::Default);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum HistogramSelectionType {
    /// The default (`STANDARD`).
    #[default]
    Default,
    /// The equal-count `QUANTILES` histogram (robust to outliers).
    Quantiles,
    /// The equal-width `STANDARD` histogram.
    Standard,
}

/// A normalized absolute difference threshold (tfmd
/// `NormalizedAbsoluteDifference`): `max_i |x_i − y_i| / Σ_i (x_i + y_i)`
/// over the raw value counts must not exceed `threshold`.
///
/// ```
/// let d = mlrig_validate::NormalizedAbsoluteDifference { unmodelled: Default::default(), threshold: Some(0.2) };
/// assert_eq!(d.threshold, Some(0.2));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NormalizedAbsoluteDifference {
    /// Largest allowed difference, in `[0, 1]`; unset means no check.
    #[serde(with = "opt_double", skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Constraints on the dataset as a whole (tfmd `DatasetConstraints`,
/// `Schema.dataset_constraints`).
///
/// ```
/// use mlrig_validate::{DatasetConstraints, Schema};
/// let mut schema = Schema::default();
/// schema.dataset_constraints = Some(DatasetConstraints {
///     min_examples_count: Some(100),
///     ..DatasetConstraints::default()
/// });
/// assert!(schema.to_pbtxt()?.contains("dataset_constraints {\n  min_examples_count: 100\n}"));
/// assert!(schema.to_tfmd_json()?.contains("\"minExamplesCount\": \"100\""));
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DatasetConstraints {
    /// Bounds on the ratio of examples to the previous span's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_examples_drift_comparator: Option<NumericValueComparator>,
    /// Bounds on the ratio of examples to the previous version's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_examples_version_comparator: Option<NumericValueComparator>,
    /// Fewest examples.
    #[serde(with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub min_examples_count: Option<i64>,
    /// Most examples.
    #[serde(with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub max_examples_count: Option<i64>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

impl DatasetConstraints {
    /// `true` when no constraint is set (an empty `dataset_constraints {}`).
    ///
    /// ```
    /// assert!(mlrig_validate::DatasetConstraints::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Bounds on a ratio `current / control` (tfmd `NumericValueComparator`).
///
/// ```
/// let c = mlrig_validate::NumericValueComparator { unmodelled: Default::default(),
///     min_fraction_threshold: Some(0.5),
///     max_fraction_threshold: None,
/// };
/// assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"minFractionThreshold":0.5}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NumericValueComparator {
    /// The smallest allowed ratio.
    #[serde(with = "opt_double", skip_serializing_if = "Option::is_none")]
    pub min_fraction_threshold: Option<f64>,
    /// The largest allowed ratio.
    #[serde(with = "opt_double", skip_serializing_if = "Option::is_none")]
    pub max_fraction_threshold: Option<f64>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}
