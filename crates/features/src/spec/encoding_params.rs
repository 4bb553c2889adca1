//! The parameter tables of the parametric [`Encoding`](super::Encoding)s.

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::Encoding;

/// The largest number of buckets of `hash`, crosses and out-of-vocabulary
/// buckets (2²⁴ output columns).
pub const MAX_HASH_BUCKETS: u32 = 1 << 24;

/// The largest number of output columns of a whole fitted pipeline (2²⁰,
/// scikit-learn's `FeatureHasher` default): every output column has a name
/// held in memory, so a spec of a few bytes asking for more (several
/// 2²⁴-bucket hashes) would cost gigabytes. Fitting a spec that needs more is
/// [`FeaturesError::TooManyOutputs`](crate::FeaturesError::TooManyOutputs),
/// and so is loading such an artifact.
///
/// ```
/// use mlrig_features::{FeaturePipelineParams, FeatureSpec, FeaturesError, Fit, ParamGuard, MAX_OUTPUT_COLUMNS};
/// use mlrig_features::arrow_array::{ArrayRef, RecordBatch, StringArray};
/// use std::sync::Arc;
/// let batch = RecordBatch::try_from_iter([("c", Arc::new(StringArray::from(vec!["a"])) as ArrayRef)])?;
/// let spec = FeatureSpec::from_json(&format!(
///     r#"{{"columns": [{{"name": "c", "encode": {{"hash": {{"buckets": {}}}}}}}]}}"#,
///     MAX_OUTPUT_COLUMNS + 1
/// ))?;
/// let err = FeaturePipelineParams::new(spec).check()?.fit(&[batch]).unwrap_err();
/// assert!(matches!(err, FeaturesError::TooManyOutputs { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_OUTPUT_COLUMNS: usize = 1 << 20;

/// Parameters of the `min_max_scale` encoding, [`Encoding::MinMaxScale`] (scikit-learn's `MinMaxScaler`).
///
/// ```
/// use mlrig_features::MinMaxScaleParams;
/// assert_eq!(MinMaxScaleParams::default().feature_range, [0.0, 1.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct MinMaxScaleParams {
    /// The output range `[a, b]`, `a < b`; default `[0, 1]`.
    pub feature_range: [f64; 2],
    /// Clip outputs of values outside the training range into
    /// `feature_range` (scikit-learn's `clip=True`); default `false`.
    pub clip: bool,
}

impl Default for MinMaxScaleParams {
    fn default() -> Self {
        Self {
            feature_range: [0.0, 1.0],
            clip: false,
        }
    }
}

/// Parameters of the `robust_scale` encoding, [`Encoding::RobustScale`] (scikit-learn's `RobustScaler`).
///
/// ```
/// use mlrig_features::RobustScaleParams;
/// assert_eq!(RobustScaleParams::default().quantile_range, [25.0, 75.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RobustScaleParams {
    /// The percentiles whose difference is the scale, `0 ≤ low < high ≤ 100`;
    /// default `[25, 75]` (the interquartile range).
    pub quantile_range: [f64; 2],
}

impl Default for RobustScaleParams {
    fn default() -> Self {
        Self {
            quantile_range: [25.0, 75.0],
        }
    }
}

/// Parameters of the `clip` encoding ([`Encoding::Clip`]): at least one bound.
///
/// ```
/// use mlrig_features::ClipParams;
/// let p: ClipParams = serde_json::from_str(r#"{"min": 0}"#).unwrap();
/// assert_eq!((p.min, p.max), (Some(0.0), None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ClipParams {
    /// The lower bound, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The upper bound, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Parameters of the `bucketize` encoding ([`Encoding::Bucketize`]): fixed boundaries.
///
/// ```
/// use mlrig_features::BucketizeParams;
/// let p: BucketizeParams = serde_json::from_str(r#"{"boundaries": [18, 65]}"#).unwrap();
/// assert_eq!(p.boundaries, [18.0, 65.0]);
/// assert!(!p.ordinal);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BucketizeParams {
    /// Strictly increasing, finite boundaries `b₀ < … < bₖ₋₁`; bucket `i`
    /// holds `bᵢ₋₁ ≤ x < bᵢ` (k + 1 buckets).
    #[cfg_attr(feature = "schemars", schemars(length(min = 1)))]
    pub boundaries: Vec<f64>,
    /// One output holding the bucket index instead of one-hot outputs.
    #[serde(default)]
    pub ordinal: bool,
}

/// Parameters of the `quantile_bucketize` encoding ([`Encoding::QuantileBucketize`]): boundaries at training
/// quantiles (scikit-learn's `KBinsDiscretizer(strategy="quantile")`).
///
/// ```
/// use mlrig_features::QuantileBucketizeParams;
/// let p: QuantileBucketizeParams = serde_json::from_str(r#"{"buckets": 4, "ordinal": true}"#).unwrap();
/// assert_eq!(p.buckets, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct QuantileBucketizeParams {
    /// The number of buckets asked for, 2 to 10,000; fewer remain when
    /// quantiles coincide (as scikit-learn drops bins narrower than 1e-8).
    #[cfg_attr(feature = "schemars", schemars(range(min = 2, max = 10_000)))]
    pub buckets: u32,
    /// One output holding the bucket index instead of one-hot outputs
    /// (scikit-learn's `encode="ordinal"`).
    #[serde(default)]
    pub ordinal: bool,
}

/// Parameters of the `vocabulary` encoding ([`Encoding::Vocabulary`]): one-hot encoding over a limited
/// vocabulary plus hashed out-of-vocabulary buckets.
///
/// ```
/// use mlrig_features::VocabularyParams;
/// let p: VocabularyParams = serde_json::from_str(r#"{"top_k": 10, "oov_buckets": 2}"#).unwrap();
/// assert_eq!((p.top_k, p.min_frequency, p.oov_buckets), (Some(10), 1, 2));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct VocabularyParams {
    /// Keep only the `k` most frequent values (ties to the smallest value).
    /// Exact while the column has at most max(65,536, 2k) distinct values;
    /// beyond, the counts come from a bounded summary and the values kept
    /// are the most frequent up to its error bound (see the crate docs).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    pub top_k: Option<usize>,
    /// Keep only values seen at least this many times (≥ 1; default 1).
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    pub min_frequency: u64,
    /// Number of out-of-vocabulary buckets (default 0: unknown values encode
    /// as all zeros); an unknown value goes to bucket `FNV-1a(value) mod n`,
    /// named `column=__oov_i__`.
    #[cfg_attr(feature = "schemars", schemars(range(max = MAX_HASH_BUCKETS)))]
    pub oov_buckets: u32,
}

impl Default for VocabularyParams {
    fn default() -> Self {
        Self {
            top_k: None,
            min_frequency: 1,
            oov_buckets: 0,
        }
    }
}

/// Parameters of the `hash` encoding, [`Encoding::Hash`] (the hashing trick, like scikit-learn's
/// `FeatureHasher(input_type="string")` on one value per row).
///
/// ```
/// use mlrig_features::HashParams;
/// let p: HashParams = serde_json::from_str(r#"{"buckets": 16}"#).unwrap();
/// assert!(p.alternate_sign);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    /// Number of output columns, 1 to [`MAX_HASH_BUCKETS`] (2²⁴).
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = MAX_HASH_BUCKETS)))]
    pub buckets: u32,
    /// Output `±1` by a bit of the hash (so collisions cancel on average)
    /// rather than `1`; default `true` as in scikit-learn.
    #[serde(default = "default_true")]
    pub alternate_sign: bool,
}

fn default_true() -> bool {
    true
}

/// A calendar part extracted by the `date_parts` encoding ([`Encoding::DateParts`]).
///
/// ```
/// use mlrig_features::DatePart;
/// assert_eq!(serde_json::to_string(&DatePart::Weekday).unwrap(), "\"weekday\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DatePart {
    /// The year, e.g. 2024.
    Year,
    /// The month, 1–12.
    Month,
    /// The day of the month, 1–31.
    Day,
    /// The day of the week, Monday = 0 … Sunday = 6.
    Weekday,
    /// The hour, 0–23 (0 for a date without a time).
    Hour,
}

impl DatePart {
    /// The output name suffix (`year`, `month`, ...).
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            DatePart::Year => "year",
            DatePart::Month => "month",
            DatePart::Day => "day",
            DatePart::Weekday => "weekday",
            DatePart::Hour => "hour",
        }
    }
}

/// Parameters of the `date_parts` encoding ([`Encoding::DateParts`]).
///
/// ```
/// use mlrig_features::{DatePart, DatePartsParams};
/// assert_eq!(DatePartsParams::default().parts.len(), 5);
/// let p: DatePartsParams = serde_json::from_str(r#"{"parts": ["year", "hour"]}"#).unwrap();
/// assert_eq!(p.parts, [DatePart::Year, DatePart::Hour]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct DatePartsParams {
    /// The parts to output, in this order, each at most once; default all
    /// of year, month, day, weekday, hour.
    #[cfg_attr(feature = "schemars", schemars(length(min = 1), extend("uniqueItems" = true)))]
    pub parts: Vec<DatePart>,
}

impl Default for DatePartsParams {
    fn default() -> Self {
        Self {
            parts: vec![
                DatePart::Year,
                DatePart::Month,
                DatePart::Day,
                DatePart::Weekday,
                DatePart::Hour,
            ],
        }
    }
}
