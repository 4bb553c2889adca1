//! [`FeatureSpec`]: which transform each input column gets, declared in
//! JSON, TOML or Rust.
//!
//! ```json
//! {"columns": [
//!   {"name": "age", "impute": "median", "missing_indicator": true,
//!    "encode": {"quantile_bucketize": {"buckets": 4}}},
//!   {"name": "workclass", "impute": {"constant": "unknown"}, "encode": "one_hot"},
//!   {"name": "fnlwgt", "encode": "drop"}
//! ],
//!  "crosses": [{"columns": ["workclass", "education"], "buckets": 64}],
//!  "output": "auto"}
//! ```
//!
//! The same in TOML (e.g. a section of a pipeline config):
//!
//! ```toml
//! output = "auto"
//! [[columns]]
//! name = "age"
//! impute = "mean"
//! encode = { min_max_scale = { feature_range = [-1.0, 1.0] } }
//! ```
//!
//! Every struct rejects unknown fields, so a misspelt key is an error rather
//! than a silently ignored setting. Input columns the spec does not list are
//! ignored (scikit-learn's `ColumnTransformer(remainder="drop")`). An
//! encoding is a name (`"standard_scale"`) or a one-key table of its
//! parameters (`{"hash": {"buckets": 32}}`); an encoding whose parameters all
//! have defaults may be written either way (`"min_max_scale"`).

use std::collections::BTreeSet;

use mlrig_core::arrow_schema::{DataType, Schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::FeaturesError;

/// The largest number of buckets of `hash`, crosses and out-of-vocabulary
/// buckets (2²⁴ output columns).
pub const MAX_HASH_BUCKETS: u32 = 1 << 24;

/// How missing values of a column are filled before encoding.
///
/// A value is missing when it is null or, in a `Float64` column, NaN.
/// Statistics are computed on the training data at fit time, as scikit-learn's
/// `SimpleImputer` does.
///
/// | imputation | inputs | fill value |
/// |---|---|---|
/// | `"mean"` | numeric encodings | mean of the non-missing values (exact sum) |
/// | `"median"` | numeric encodings | median from the quantile sketch (relative error ≤ 0.001) |
/// | `"most_frequent"` | numeric and categorical | most frequent value; ties to the smallest |
/// | `{"constant": v}` | numeric and categorical | `v`: a number for numeric encodings, else a value of the column's type |
///
/// ```
/// use mlrig_features::{ConstantValue, Imputation};
/// let i: Imputation = serde_json::from_str("\"most_frequent\"").unwrap();
/// assert_eq!(i, Imputation::MostFrequent);
/// let c: Imputation = serde_json::from_str(r#"{"constant": "unknown"}"#).unwrap();
/// assert_eq!(c, Imputation::Constant(ConstantValue::Text("unknown".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Imputation {
    /// The mean of the non-missing training values (numeric encodings).
    Mean,
    /// The median of the non-missing training values (numeric encodings),
    /// from the mergeable quantile sketch: within relative error 0.001 of
    /// the two middle values that `SimpleImputer(strategy="median")` averages.
    Median,
    /// The most frequent non-missing training value; ties go to the smallest
    /// value (numeric order, `false < true`, or string order by code point),
    /// like `SimpleImputer(strategy="most_frequent")`.
    MostFrequent,
    /// A fixed value, like `SimpleImputer(strategy="constant", fill_value=v)`.
    Constant(ConstantValue),
}

/// The fill value of [`Imputation::Constant`], written as a plain JSON/TOML
/// value (`0`, `2.5`, `true`, `"unknown"`).
///
/// ```
/// use mlrig_features::ConstantValue;
/// let v: Vec<ConstantValue> = serde_json::from_str(r#"[1, 1.5, false, "x"]"#).unwrap();
/// assert_eq!(v[0], ConstantValue::Int(1));
/// assert_eq!(v[1], ConstantValue::Float(1.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ConstantValue {
    /// A boolean (for `Boolean` columns).
    Bool(bool),
    /// An integer (numeric encodings, or categorical `Int64` columns).
    Int(i64),
    /// A number (numeric encodings).
    Float(f64),
    /// A string (for `Utf8` columns).
    Text(String),
}

/// Parameters of [`Encoding::MinMaxScale`] (scikit-learn's `MinMaxScaler`).
///
/// ```
/// use mlrig_features::MinMaxScaleParams;
/// assert_eq!(MinMaxScaleParams::default().feature_range, [0.0, 1.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Parameters of [`Encoding::RobustScale`] (scikit-learn's `RobustScaler`).
///
/// ```
/// use mlrig_features::RobustScaleParams;
/// assert_eq!(RobustScaleParams::default().quantile_range, [25.0, 75.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Parameters of [`Encoding::Clip`]: at least one bound.
///
/// ```
/// use mlrig_features::ClipParams;
/// let p: ClipParams = serde_json::from_str(r#"{"min": 0}"#).unwrap();
/// assert_eq!((p.min, p.max), (Some(0.0), None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClipParams {
    /// The lower bound, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The upper bound, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Parameters of [`Encoding::Bucketize`]: fixed boundaries.
///
/// ```
/// use mlrig_features::BucketizeParams;
/// let p: BucketizeParams = serde_json::from_str(r#"{"boundaries": [18, 65]}"#).unwrap();
/// assert_eq!(p.boundaries, [18.0, 65.0]);
/// assert!(!p.ordinal);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketizeParams {
    /// Strictly increasing, finite boundaries `b₀ < … < bₖ₋₁`; bucket `i`
    /// holds `bᵢ₋₁ ≤ x < bᵢ` (k + 1 buckets).
    pub boundaries: Vec<f64>,
    /// One output holding the bucket index instead of one-hot outputs.
    #[serde(default)]
    pub ordinal: bool,
}

/// Parameters of [`Encoding::QuantileBucketize`]: boundaries at training
/// quantiles (scikit-learn's `KBinsDiscretizer(strategy="quantile")`).
///
/// ```
/// use mlrig_features::QuantileBucketizeParams;
/// let p: QuantileBucketizeParams = serde_json::from_str(r#"{"buckets": 4, "ordinal": true}"#).unwrap();
/// assert_eq!(p.buckets, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantileBucketizeParams {
    /// The number of buckets asked for, 2 to 10,000; fewer remain when
    /// quantiles coincide (as scikit-learn drops bins narrower than 1e-8).
    pub buckets: u32,
    /// One output holding the bucket index instead of one-hot outputs
    /// (scikit-learn's `encode="ordinal"`).
    #[serde(default)]
    pub ordinal: bool,
}

/// Parameters of [`Encoding::Vocabulary`]: one-hot encoding over a limited
/// vocabulary plus hashed out-of-vocabulary buckets.
///
/// ```
/// use mlrig_features::VocabularyParams;
/// let p: VocabularyParams = serde_json::from_str(r#"{"top_k": 10, "oov_buckets": 2}"#).unwrap();
/// assert_eq!((p.top_k, p.min_frequency, p.oov_buckets), (Some(10), 1, 2));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VocabularyParams {
    /// Keep only the `k` most frequent values (ties to the smallest value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    /// Keep only values seen at least this many times (≥ 1; default 1).
    pub min_frequency: u64,
    /// Number of out-of-vocabulary buckets (default 0: unknown values encode
    /// as all zeros); an unknown value goes to bucket `FNV-1a(value) mod n`,
    /// named `column=__oov_i__`.
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

/// Parameters of [`Encoding::Hash`] (the hashing trick, like scikit-learn's
/// `FeatureHasher(input_type="string")` on one value per row).
///
/// ```
/// use mlrig_features::HashParams;
/// let p: HashParams = serde_json::from_str(r#"{"buckets": 16}"#).unwrap();
/// assert!(p.alternate_sign);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    /// Number of output columns, 1 to [`MAX_HASH_BUCKETS`].
    pub buckets: u32,
    /// Output `±1` by a bit of the hash (so collisions cancel on average)
    /// rather than `1`; default `true` as in scikit-learn.
    #[serde(default = "default_true")]
    pub alternate_sign: bool,
}

fn default_true() -> bool {
    true
}

/// A calendar part extracted by [`Encoding::DateParts`].
///
/// ```
/// use mlrig_features::DatePart;
/// assert_eq!(serde_json::to_string(&DatePart::Weekday).unwrap(), "\"weekday\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// Parameters of [`Encoding::DateParts`].
///
/// ```
/// use mlrig_features::{DatePart, DatePartsParams};
/// assert_eq!(DatePartsParams::default().parts.len(), 5);
/// let p: DatePartsParams = serde_json::from_str(r#"{"parts": ["year", "hour"]}"#).unwrap();
/// assert_eq!(p.parts, [DatePart::Year, DatePart::Hour]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatePartsParams {
    /// The parts to output, in this order, each at most once; default all
    /// of year, month, day, weekday, hour.
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

/// How a column becomes output features.
///
/// | encoding | input types | outputs (names) |
/// |---|---|---|
/// | `standard_scale` | `Int64`, `Float64` | `(x − mean) / std` (`age`) |
/// | `min_max_scale` | `Int64`, `Float64` | `(x − min) / (max − min) · (b − a) + a` (`age`) |
/// | `robust_scale` | `Int64`, `Float64` | `(x − median) / (q₇₅ − q₂₅)` (`age`) |
/// | `clip` | `Int64`, `Float64` | `x` clamped to `[min, max]` (`age`) |
/// | `log` / `log1p` | `Int64`, `Float64` | `ln x` / `ln(1 + x)` (`age`) |
/// | `passthrough` | `Int64`, `Float64` | `x` as `f64` (`age`) |
/// | `bucketize` / `quantile_bucketize` | `Int64`, `Float64` | one-hot buckets (`age_bucket[3]`), or the index (`age_bucket`) |
/// | `one_hot` | `Utf8`, `Boolean`, `Int64` | one per training category, sorted (`color=red`) |
/// | `vocabulary` | `Utf8`, `Boolean`, `Int64` | one per kept category, then OOV buckets (`color=__oov_0__`) |
/// | `hash` | `Utf8`, `Boolean`, `Int64` | `buckets` columns, `±1` in one (`color_hash[5]`) |
/// | `date_parts` | `Utf8` | one per part (`ts_year`, `ts_weekday`) |
/// | `drop` | any | none; the column is not read |
///
/// See the crate documentation for what each does with missing, NaN, ±∞,
/// unknown and mistyped values.
///
/// ```
/// use mlrig_features::{Encoding, HashParams};
/// let e: Encoding = serde_json::from_str("\"one_hot\"").unwrap();
/// assert_eq!(e, Encoding::OneHot);
/// assert!(serde_json::from_str::<Encoding>("\"one-hot\"").is_err());
/// let h: Encoding = serde_json::from_str(r#"{"hash": {"buckets": 8}}"#).unwrap();
/// assert_eq!(h, Encoding::Hash(HashParams { buckets: 8, alternate_sign: true }));
/// assert_eq!(serde_json::to_string(&h).unwrap(), r#"{"hash":{"buckets":8,"alternate_sign":true}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Encoding {
    /// Standard scaling: `z = (x − mean) / std`, with the population standard
    /// deviation, and a scale of 1 for a constant column (scikit-learn's
    /// `StandardScaler`). The statistics are those of the imputed column, as
    /// in `Pipeline([SimpleImputer(...), StandardScaler()])`.
    StandardScale,
    /// Min-max scaling to `feature_range` (scikit-learn's `MinMaxScaler`;
    /// a constant column gets range 1, so it maps to `a`).
    MinMaxScale(MinMaxScaleParams),
    /// Robust scaling: `(x − median) / (q_high − q_low)` with quantiles from
    /// the mergeable sketch (scikit-learn's `RobustScaler`; a zero range
    /// becomes 1).
    RobustScale(RobustScaleParams),
    /// Clamping into `[min, max]`.
    Clip(ClipParams),
    /// The natural logarithm; a value ≤ 0 is an error naming the column and
    /// row.
    Log,
    /// `ln(1 + x)`; a value ≤ −1 is an error naming the column and row.
    Log1p,
    /// The numeric value unchanged, cast to `f64`.
    Passthrough,
    /// Buckets with fixed boundaries.
    Bucketize(BucketizeParams),
    /// Buckets with boundaries at training quantiles from the sketch.
    QuantileBucketize(QuantileBucketizeParams),
    /// One-hot encoding over the sorted training categories; an unknown or
    /// missing (not imputed) value encodes as all zeros
    /// (`OneHotEncoder(handle_unknown="ignore")`).
    OneHot,
    /// One-hot encoding over a vocabulary limited by frequency, plus
    /// hashed out-of-vocabulary buckets.
    Vocabulary(VocabularyParams),
    /// Feature hashing into a fixed number of columns.
    Hash(HashParams),
    /// Calendar parts of a date/time string.
    DateParts(DatePartsParams),
    /// No output; the column is not read.
    Drop,
}

/// Every encoding name, for error messages.
const ENCODING_NAMES: &[&str] = &[
    "standard_scale",
    "min_max_scale",
    "robust_scale",
    "clip",
    "log",
    "log1p",
    "passthrough",
    "bucketize",
    "quantile_bucketize",
    "one_hot",
    "vocabulary",
    "hash",
    "date_parts",
    "drop",
];

/// What an encoding reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputKind {
    /// `Int64` or `Float64`, as `f64`.
    Numeric,
    /// `Utf8`, `Boolean` or `Int64` values.
    Categorical,
    /// `Utf8` date/time strings.
    DateText,
    /// Nothing (drop).
    Unread,
}

impl Encoding {
    /// The encoding's name as written in a spec.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Encoding::StandardScale => "standard_scale",
            Encoding::MinMaxScale(_) => "min_max_scale",
            Encoding::RobustScale(_) => "robust_scale",
            Encoding::Clip(_) => "clip",
            Encoding::Log => "log",
            Encoding::Log1p => "log1p",
            Encoding::Passthrough => "passthrough",
            Encoding::Bucketize(_) => "bucketize",
            Encoding::QuantileBucketize(_) => "quantile_bucketize",
            Encoding::OneHot => "one_hot",
            Encoding::Vocabulary(_) => "vocabulary",
            Encoding::Hash(_) => "hash",
            Encoding::DateParts(_) => "date_parts",
            Encoding::Drop => "drop",
        }
    }

    pub(crate) fn input_kind(&self) -> InputKind {
        match self {
            Encoding::OneHot | Encoding::Vocabulary(_) | Encoding::Hash(_) => {
                InputKind::Categorical
            }
            Encoding::DateParts(_) => InputKind::DateText,
            Encoding::Drop => InputKind::Unread,
            _ => InputKind::Numeric,
        }
    }

    /// Checks the parameters; the error is the reason.
    fn check(&self) -> Result<(), String> {
        match self {
            Encoding::MinMaxScale(p) => {
                let [a, b] = p.feature_range;
                if !(a.is_finite() && b.is_finite() && a < b) {
                    return Err(format!(
                        "min_max_scale: feature_range [{a}, {b}] must be finite with min < max"
                    ));
                }
            }
            Encoding::RobustScale(p) => {
                let [low, high] = p.quantile_range;
                if !(0.0 <= low && low < high && high <= 100.0) {
                    return Err(format!(
                        "robust_scale: quantile_range [{low}, {high}] must satisfy 0 ≤ low < high ≤ 100"
                    ));
                }
            }
            Encoding::Clip(p) => match (p.min, p.max) {
                (None, None) => return Err("clip: give `min`, `max` or both".into()),
                (Some(v), _) | (_, Some(v)) if !v.is_finite() => {
                    return Err(format!("clip: bound {v} is not finite"));
                }
                (Some(min), Some(max)) if min > max => {
                    return Err(format!("clip: min {min} is greater than max {max}"));
                }
                _ => {}
            },
            Encoding::Bucketize(p) => {
                if p.boundaries.is_empty() {
                    return Err("bucketize: `boundaries` is empty".into());
                }
                if p.boundaries.iter().any(|b| !b.is_finite())
                    || p.boundaries.windows(2).any(|w| w[0] >= w[1])
                {
                    return Err(
                        "bucketize: `boundaries` must be finite and strictly increasing".into(),
                    );
                }
            }
            Encoding::QuantileBucketize(p) if !(2..=10_000).contains(&p.buckets) => {
                return Err(format!(
                    "quantile_bucketize: buckets = {} must be 2 to 10000",
                    p.buckets
                ));
            }
            Encoding::Vocabulary(p) => {
                if p.top_k == Some(0) {
                    return Err("vocabulary: top_k must be at least 1".into());
                }
                if p.min_frequency == 0 {
                    return Err("vocabulary: min_frequency must be at least 1".into());
                }
                if p.oov_buckets > MAX_HASH_BUCKETS {
                    return Err(format!(
                        "vocabulary: oov_buckets = {} exceeds {MAX_HASH_BUCKETS}",
                        p.oov_buckets
                    ));
                }
            }
            Encoding::Hash(p) if !(1..=MAX_HASH_BUCKETS).contains(&p.buckets) => {
                return Err(format!(
                    "hash: buckets = {} must be 1 to {MAX_HASH_BUCKETS}",
                    p.buckets
                ));
            }
            Encoding::DateParts(p) => {
                if p.parts.is_empty() {
                    return Err("date_parts: `parts` is empty".into());
                }
                let distinct: BTreeSet<_> = p.parts.iter().collect();
                if distinct.len() != p.parts.len() {
                    return Err("date_parts: a part is listed twice".into());
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Deserializes a parameter struct from an empty table (an encoding written
/// by name only): defaults, or "missing field" naming what is required.
fn params_by_name<'de, T: Deserialize<'de>, E: de::Error>() -> Result<T, E> {
    T::deserialize(de::value::MapDeserializer::<_, E>::new(
        std::iter::empty::<(&str, ())>(),
    ))
}

struct EncodingVisitor;

impl<'de> Visitor<'de> for EncodingVisitor {
    type Value = Encoding;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an encoding name or a one-key table of its parameters")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Encoding, E> {
        Ok(match name {
            "standard_scale" => Encoding::StandardScale,
            "min_max_scale" => Encoding::MinMaxScale(params_by_name()?),
            "robust_scale" => Encoding::RobustScale(params_by_name()?),
            "clip" => Encoding::Clip(params_by_name()?),
            "log" => Encoding::Log,
            "log1p" => Encoding::Log1p,
            "passthrough" => Encoding::Passthrough,
            "bucketize" => Encoding::Bucketize(params_by_name()?),
            "quantile_bucketize" => Encoding::QuantileBucketize(params_by_name()?),
            "one_hot" => Encoding::OneHot,
            "vocabulary" => Encoding::Vocabulary(params_by_name()?),
            "hash" => Encoding::Hash(params_by_name()?),
            "date_parts" => Encoding::DateParts(params_by_name()?),
            "drop" => Encoding::Drop,
            other => return Err(E::unknown_variant(other, ENCODING_NAMES)),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Encoding, A::Error> {
        let Some(name) = map.next_key::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        let encoding = match name.as_str() {
            "min_max_scale" => Encoding::MinMaxScale(map.next_value()?),
            "robust_scale" => Encoding::RobustScale(map.next_value()?),
            "clip" => Encoding::Clip(map.next_value()?),
            "bucketize" => Encoding::Bucketize(map.next_value()?),
            "quantile_bucketize" => Encoding::QuantileBucketize(map.next_value()?),
            "vocabulary" => Encoding::Vocabulary(map.next_value()?),
            "hash" => Encoding::Hash(map.next_value()?),
            "date_parts" => Encoding::DateParts(map.next_value()?),
            unit if ENCODING_NAMES.contains(&unit) => {
                return Err(de::Error::custom(format!(
                    "encoding `{unit}` takes no parameters; write \"{unit}\""
                )));
            }
            other => return Err(de::Error::unknown_variant(other, ENCODING_NAMES)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "an encoding table has one key (the encoding); found also `{extra}`"
            )));
        }
        Ok(encoding)
    }
}

impl<'de> Deserialize<'de> for Encoding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EncodingVisitor)
    }
}

/// The storage of the pipeline's output [`Features`](mlrig_core::Features).
///
/// `auto` decides once, at fit, from the fitted structure: sparse (CSR) when
/// the expected density is below [`SPARSE_DENSITY_THRESHOLD`] (0.3). The
/// expected density counts one non-zero per numeric output and per one-hot,
/// bucket, hashed or crossed group, and the training fraction of missing
/// values per missing indicator, divided by the number of outputs. Deciding
/// at fit keeps the storage of a one-row serving batch the same as that of a
/// training batch.
///
/// ```
/// use mlrig_features::OutputLayout;
/// assert_eq!(OutputLayout::default(), OutputLayout::Dense);
/// assert_eq!(serde_json::from_str::<OutputLayout>("\"auto\"").unwrap(), OutputLayout::Auto);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutputLayout {
    /// Always a dense matrix (the default).
    #[default]
    Dense,
    /// Always CSR.
    Sparse,
    /// CSR when the expected density is below [`SPARSE_DENSITY_THRESHOLD`].
    Auto,
}

/// The expected density below which [`OutputLayout::Auto`] chooses CSR.
pub const SPARSE_DENSITY_THRESHOLD: f64 = 0.3;

/// A feature cross: the pair of values of two categorical columns, hashed
/// (FNV-1a) into `buckets` one-hot columns named `a_x_b[i]`. A row with
/// either value missing has all zeros (crosses are not imputed).
///
/// ```
/// use mlrig_features::CrossSpec;
/// let c: CrossSpec = serde_json::from_str(r#"{"columns": ["city", "job"], "buckets": 32}"#).unwrap();
/// assert_eq!(c, CrossSpec::new("city", "job", 32));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CrossSpec {
    /// The two input columns (`Utf8`, `Boolean` or `Int64`), distinct.
    pub columns: [String; 2],
    /// Number of output columns, 1 to [`MAX_HASH_BUCKETS`].
    pub buckets: u32,
}

impl CrossSpec {
    /// A cross of columns `a` and `b` into `buckets` columns.
    ///
    /// ```
    /// # use mlrig_features::CrossSpec;
    /// assert_eq!(CrossSpec::new("a", "b", 4).columns, ["a", "b"]);
    /// ```
    pub fn new(a: impl Into<String>, b: impl Into<String>, buckets: u32) -> Self {
        Self {
            columns: [a.into(), b.into()],
            buckets,
        }
    }

    /// The prefix of the output names, `a_x_b`.
    pub(crate) fn output_prefix(&self) -> String {
        format!("{}_x_{}", self.columns[0], self.columns[1])
    }

    fn check(&self) -> Result<(), FeaturesError> {
        let invalid = |reason: String| FeaturesError::InvalidSpec {
            column: self.output_prefix(),
            reason,
        };
        let [a, b] = &self.columns;
        if a.is_empty() || b.is_empty() || a == b {
            return Err(invalid(
                "a cross needs two distinct, non-empty column names".into(),
            ));
        }
        if !(1..=MAX_HASH_BUCKETS).contains(&self.buckets) {
            return Err(invalid(format!(
                "cross: buckets = {} must be 1 to {MAX_HASH_BUCKETS}",
                self.buckets
            )));
        }
        Ok(())
    }
}

/// The transform of one input column.
///
/// ```
/// use mlrig_features::{ColumnSpec, Encoding, Imputation};
/// let c = ColumnSpec::standard_scale("age").with_impute(Imputation::Mean);
/// assert_eq!(c.name, "age");
/// assert_eq!(c.encode, Encoding::StandardScale);
/// let json = serde_json::to_string(&c).unwrap();
/// assert_eq!(json, r#"{"name":"age","impute":"mean","encode":"standard_scale"}"#);
/// let c = c.with_missing_indicator();
/// assert!(serde_json::to_string(&c).unwrap().contains(r#""missing_indicator":true"#));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ColumnSpec {
    /// The input column name (matched exactly).
    pub name: String,
    /// How missing values are filled; `None` leaves them missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impute: Option<Imputation>,
    /// Add an output `name_missing`: 1 where the input value is missing
    /// (null, NaN, or an unparsable date), else 0, whether or not it is
    /// imputed (scikit-learn's `add_indicator=True`, but always present and
    /// placed right after the column's outputs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing_indicator: bool,
    /// How the column becomes features.
    pub encode: Encoding,
}

impl ColumnSpec {
    /// A column with `encode` and no imputation.
    ///
    /// ```
    /// use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::new("x", Encoding::Passthrough), ColumnSpec::passthrough("x"));
    /// ```
    pub fn new(name: impl Into<String>, encode: Encoding) -> Self {
        Self {
            name: name.into(),
            impute: None,
            missing_indicator: false,
            encode,
        }
    }

    /// A standard-scaled numeric column.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::standard_scale("x").encode, Encoding::StandardScale);
    /// ```
    pub fn standard_scale(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::StandardScale)
    }

    /// A one-hot encoded categorical column.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::one_hot("city").encode, Encoding::OneHot);
    /// ```
    pub fn one_hot(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::OneHot)
    }

    /// A numeric column passed through as `f64`.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::passthrough("x").encode, Encoding::Passthrough);
    /// ```
    pub fn passthrough(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::Passthrough)
    }

    /// A column that is explicitly not used.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::drop("id").encode, Encoding::Drop);
    /// ```
    pub fn drop(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::Drop)
    }

    /// The same column with missing values filled by `impute`.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Imputation};
    /// let c = ColumnSpec::one_hot("city").with_impute(Imputation::MostFrequent);
    /// assert_eq!(c.impute, Some(Imputation::MostFrequent));
    /// ```
    pub fn with_impute(mut self, impute: Imputation) -> Self {
        self.impute = Some(impute);
        self
    }

    /// The same column with a `name_missing` indicator output.
    ///
    /// ```
    /// # use mlrig_features::ColumnSpec;
    /// assert!(ColumnSpec::passthrough("x").with_missing_indicator().missing_indicator);
    /// ```
    pub fn with_missing_indicator(mut self) -> Self {
        self.missing_indicator = true;
        self
    }

    /// Checks that the imputation fits the encoding and the parameters are
    /// valid (types are checked at fit).
    pub(crate) fn check(&self) -> Result<(), FeaturesError> {
        let invalid = |reason: &str| FeaturesError::InvalidSpec {
            column: self.name.clone(),
            reason: reason.to_string(),
        };
        if self.name.is_empty() {
            return Err(invalid("the column name is empty"));
        }
        self.encode.check().map_err(|reason| invalid(&reason))?;
        let kind = self.encode.input_kind();
        if kind == InputKind::Unread && (self.impute.is_some() || self.missing_indicator) {
            return Err(invalid(
                "a dropped column is not read, so it cannot be imputed or get a missing \
                 indicator; remove `impute` and `missing_indicator`",
            ));
        }
        match (&self.impute, kind) {
            (Some(Imputation::Mean | Imputation::Median), InputKind::Categorical) => Err(invalid(
                "`impute = \"mean\"` and `\"median\"` need a numeric encoding; \
                 use \"most_frequent\" or a constant for categorical encodings",
            )),
            (Some(_), InputKind::DateText) => Err(invalid(
                "date_parts columns are not imputed (an unparsable date is missing); \
                 use `missing_indicator`",
            )),
            (Some(Imputation::Constant(ConstantValue::Float(v))), _) if !v.is_finite() => {
                Err(invalid("the constant fill value is not finite"))
            }
            (
                Some(Imputation::Constant(ConstantValue::Bool(_) | ConstantValue::Text(_))),
                InputKind::Numeric,
            ) => Err(invalid(
                "a numeric encoding needs a numeric constant fill value",
            )),
            _ => Ok(()),
        }
    }
}

/// The transforms of a feature pipeline: one entry per input column (the
/// output features follow the order of the entries), then the feature
/// crosses, and the output storage.
///
/// Build it from JSON/TOML (serde), in Rust, or with [`FeatureSpec::infer`].
///
/// ```
/// use mlrig_features::{ColumnSpec, CrossSpec, FeatureSpec, Imputation, OutputLayout};
/// let spec = FeatureSpec::new()
///     .with_column(ColumnSpec::standard_scale("age").with_impute(Imputation::Mean))
///     .with_column(ColumnSpec::one_hot("workclass"))
///     .with_cross(CrossSpec::new("workclass", "sex", 16))
///     .with_output(OutputLayout::Auto);
/// let json = r#"{"columns": [
///     {"name": "age", "impute": "mean", "encode": "standard_scale"},
///     {"name": "workclass", "encode": "one_hot"}],
///   "crosses": [{"columns": ["workclass", "sex"], "buckets": 16}],
///   "output": "auto"}"#;
/// assert_eq!(FeatureSpec::from_json(json).unwrap(), spec);
///
/// let typo = r#"{"columns": [{"name": "age", "imput": "mean", "encode": "passthrough"}]}"#;
/// let err = FeatureSpec::from_json(typo).unwrap_err();
/// assert!(err.to_string().contains("unknown field `imput`"), "{err}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FeatureSpec {
    /// One entry per input column, in output order.
    pub columns: Vec<ColumnSpec>,
    /// Feature crosses, output after the columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crosses: Vec<CrossSpec>,
    /// Dense, sparse or automatic output storage (default dense).
    #[serde(default, skip_serializing_if = "is_dense")]
    pub output: OutputLayout,
}

fn is_dense(layout: &OutputLayout) -> bool {
    *layout == OutputLayout::Dense
}

impl FeatureSpec {
    /// An empty spec; add columns with [`FeatureSpec::with_column`].
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// assert!(FeatureSpec::new().columns.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The spec with `column` appended.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, FeatureSpec};
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::passthrough("x"));
    /// assert_eq!(spec.columns.len(), 1);
    /// ```
    pub fn with_column(mut self, column: ColumnSpec) -> Self {
        self.columns.push(column);
        self
    }

    /// The spec with `cross` appended.
    ///
    /// ```
    /// # use mlrig_features::{CrossSpec, FeatureSpec};
    /// let spec = FeatureSpec::new().with_cross(CrossSpec::new("a", "b", 8));
    /// assert_eq!(spec.crosses.len(), 1);
    /// ```
    pub fn with_cross(mut self, cross: CrossSpec) -> Self {
        self.crosses.push(cross);
        self
    }

    /// The spec with output storage `output`.
    ///
    /// ```
    /// # use mlrig_features::{FeatureSpec, OutputLayout};
    /// assert_eq!(FeatureSpec::new().with_output(OutputLayout::Sparse).output, OutputLayout::Sparse);
    /// ```
    pub fn with_output(mut self, output: OutputLayout) -> Self {
        self.output = output;
        self
    }

    /// Parses a JSON spec; errors name the misspelt field, line and column.
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// let spec = FeatureSpec::from_json(r#"{"columns": [{"name": "x", "encode": "drop"}]}"#).unwrap();
    /// assert_eq!(spec.columns[0].name, "x");
    /// assert!(FeatureSpec::from_json(r#"{"columns": [{"name": "x", "encode": "dorp"}]}"#).is_err());
    /// ```
    pub fn from_json(text: &str) -> Result<Self, FeaturesError> {
        serde_json::from_str(text).map_err(|source| FeaturesError::SpecJson { source })
    }

    /// Parses a TOML spec (`[[columns]]` tables); errors name the key, line and column.
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// let spec = FeatureSpec::from_toml(r#"
    ///     [[columns]]
    ///     name = "age"
    ///     impute = "mean"
    ///     encode = "standard_scale"
    /// "#).unwrap();
    /// assert_eq!(spec.columns[0].name, "age");
    /// assert!(FeatureSpec::from_toml("[[columns]]\nname = \"x\"\nencode = \"scael\"").is_err());
    /// ```
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Self, FeaturesError> {
        toml::from_str(text).map_err(|source| FeaturesError::SpecToml { source })
    }

    /// Reads a spec file: `.json`, or `.toml` with the `toml` feature.
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("spec.json");
    /// std::fs::write(&path, r#"{"columns": [{"name": "x", "encode": "drop"}]}"#).unwrap();
    /// assert_eq!(FeatureSpec::load(&path).unwrap().columns.len(), 1);
    /// assert!(FeatureSpec::load(&dir.path().join("spec.yaml")).is_err());
    /// ```
    pub fn load(path: &std::path::Path) -> Result<Self, FeaturesError> {
        let file_error = |reason: String| FeaturesError::SpecFile {
            path: path.to_path_buf(),
            reason,
        };
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !matches!(extension, "json" | "toml") {
            return Err(file_error(format!(
                "unknown extension `.{extension}`; use .json or .toml"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        match extension {
            #[cfg(feature = "toml")]
            "toml" => Self::from_toml(&text),
            #[cfg(not(feature = "toml"))]
            "toml" => Err(file_error(
                "TOML specs need the `toml` feature of mlrig-features".into(),
            )),
            _ => Self::from_json(&text),
        }
        .map_err(|e| match e {
            // The file's name replaces the generic "feature spec" prefix.
            FeaturesError::SpecJson { source } => file_error(source.to_string()),
            #[cfg(feature = "toml")]
            FeaturesError::SpecToml { source } => file_error(crate::error::toml_message(&source)),
            other => file_error(other.to_string()),
        })
    }

    /// A default spec for a table: mean imputation and standard scaling for
    /// `Int64` and `Float64` columns, most-frequent imputation and one-hot
    /// encoding for `Utf8` and `Boolean` columns, in schema order, without
    /// the `target` column.
    ///
    /// Fails when `target` is not in the schema (a misspelt target would
    /// otherwise become a feature) or a column has another Arrow type.
    ///
    /// ```
    /// use mlrig_features::{ColumnSpec, FeatureSpec, Imputation};
    /// use mlrig_core::arrow_schema::{DataType, Field, Schema};
    /// let schema = Schema::new(vec![
    ///     Field::new("age", DataType::Int64, true),
    ///     Field::new("city", DataType::Utf8, true),
    ///     Field::new("income", DataType::Utf8, true),
    /// ]);
    /// let spec = FeatureSpec::infer(&schema, "income").unwrap();
    /// assert_eq!(spec, FeatureSpec::new()
    ///     .with_column(ColumnSpec::standard_scale("age").with_impute(Imputation::Mean))
    ///     .with_column(ColumnSpec::one_hot("city").with_impute(Imputation::MostFrequent)));
    /// assert!(FeatureSpec::infer(&schema, "incme").is_err());
    /// ```
    pub fn infer(schema: &Schema, target: &str) -> Result<Self, FeaturesError> {
        if schema.field_with_name(target).is_err() {
            return Err(FeaturesError::MissingColumn {
                column: target.to_string(),
                available: column_list(schema),
            });
        }
        let mut spec = FeatureSpec::new();
        for field in schema.fields().iter().filter(|f| f.name() != target) {
            let column = match field.data_type() {
                DataType::Int64 | DataType::Float64 => {
                    ColumnSpec::standard_scale(field.name()).with_impute(Imputation::Mean)
                }
                DataType::Utf8 | DataType::Boolean => {
                    ColumnSpec::one_hot(field.name()).with_impute(Imputation::MostFrequent)
                }
                other => {
                    return Err(FeaturesError::WrongColumnType {
                        column: field.name().clone(),
                        expected: "Int64, Float64, Utf8 or Boolean".into(),
                        found: other.to_string(),
                    });
                }
            };
            spec.columns.push(column);
        }
        Ok(spec)
    }

    /// Checks every entry, that no column is listed twice, no cross twice,
    /// and that something produces features.
    pub(crate) fn check(&self) -> Result<(), FeaturesError> {
        let mut seen = BTreeSet::new();
        for column in &self.columns {
            column.check()?;
            if !seen.insert(column.name.as_str()) {
                return Err(FeaturesError::DuplicateColumn {
                    column: column.name.clone(),
                });
            }
        }
        let mut crosses = BTreeSet::new();
        for cross in &self.crosses {
            cross.check()?;
            if !crosses.insert(&cross.columns) {
                return Err(FeaturesError::DuplicateColumn {
                    column: cross.output_prefix(),
                });
            }
        }
        if self.crosses.is_empty() && self.columns.iter().all(|c| c.encode == Encoding::Drop) {
            return Err(FeaturesError::EmptySpec);
        }
        Ok(())
    }
}

pub(crate) use mlrig_core::column_list;

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_schema::Field;

    #[test]
    fn json_round_trip_and_spelling() {
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::standard_scale("a").with_impute(Imputation::Mean))
            .with_column(ColumnSpec::one_hot("b").with_impute(Imputation::MostFrequent))
            .with_column(ColumnSpec::passthrough("c"))
            .with_column(ColumnSpec::drop("d"));
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(
            json,
            r#"{"columns":[{"name":"a","impute":"mean","encode":"standard_scale"},{"name":"b","impute":"most_frequent","encode":"one_hot"},{"name":"c","encode":"passthrough"},{"name":"d","encode":"drop"}]}"#
        );
        assert_eq!(FeatureSpec::from_json(&json).unwrap(), spec);
    }

    #[test]
    fn typos_are_errors_that_name_the_field() {
        for (text, needle) in [
            (
                r#"{"columns": [{"name": "a", "encode": "passthrough", "impute": "medain"}]}"#,
                "unknown variant `medain`",
            ),
            (
                r#"{"columns": [{"name": "a", "encode": "hashing"}]}"#,
                "unknown variant `hashing`",
            ),
            (
                r#"{"columns": [{"name": "a", "encode": "hash"}]}"#,
                "missing field `buckets`",
            ),
            (
                r#"{"columns": [{"name": "a", "encode": {"hash": {"buckets": 2, "sign": true}}}]}"#,
                "unknown field `sign`",
            ),
            (
                r#"{"columns": [{"name": "a", "encode": {"log": {}}}]}"#,
                "takes no parameters",
            ),
            (
                r#"{"columns": [{"name": "a", "encoding": "passthrough"}]}"#,
                "unknown field `encoding`",
            ),
            (r#"{"column": []}"#, "unknown field `column`"),
            (r#"{"columns": [{"name": "a"}]}"#, "missing field `encode`"),
        ] {
            let err = FeatureSpec::from_json(text).unwrap_err();
            assert!(matches!(err, FeaturesError::SpecJson { .. }));
            assert!(err.to_string().contains(needle), "{err}");
            assert!(err.to_string().contains("line 1 column"), "{err}");
        }
    }

    #[test]
    fn check_rejects_inconsistent_entries() {
        let mean_one_hot = FeatureSpec::new()
            .with_column(ColumnSpec::one_hot("city").with_impute(Imputation::Mean));
        let err = mean_one_hot.check().unwrap_err();
        assert!(
            err.to_string().starts_with("feature spec, column `city`"),
            "{err}"
        );

        let drop_impute = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("x"))
            .with_column(ColumnSpec::drop("id").with_impute(Imputation::MostFrequent));
        assert!(matches!(
            drop_impute.check(),
            Err(FeaturesError::InvalidSpec { column, .. }) if column == "id"
        ));

        let duplicate = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("x"))
            .with_column(ColumnSpec::standard_scale("x"));
        assert!(matches!(
            duplicate.check(),
            Err(FeaturesError::DuplicateColumn { column }) if column == "x"
        ));

        assert!(matches!(
            FeatureSpec::new().check(),
            Err(FeaturesError::EmptySpec)
        ));
        let only_dropped = FeatureSpec::new().with_column(ColumnSpec::drop("x"));
        assert!(matches!(
            only_dropped.check(),
            Err(FeaturesError::EmptySpec)
        ));
        let unnamed = FeatureSpec::new().with_column(ColumnSpec::passthrough(""));
        assert!(unnamed.check().is_err());

        let fine = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("x").with_impute(Imputation::MostFrequent))
            .with_column(ColumnSpec::drop("id"));
        assert!(fine.check().is_ok());
    }

    #[test]
    fn parametric_encodings_round_trip_and_check() {
        let json = r#"{"columns": [
            {"name": "a", "encode": "min_max_scale"},
            {"name": "b", "impute": "median", "missing_indicator": true,
             "encode": {"robust_scale": {"quantile_range": [10, 90]}}},
            {"name": "c", "impute": {"constant": -1}, "encode": {"clip": {"max": 5}}},
            {"name": "d", "encode": "log1p"},
            {"name": "e", "encode": {"bucketize": {"boundaries": [0, 1.5], "ordinal": true}}},
            {"name": "f", "encode": {"quantile_bucketize": {"buckets": 4}}},
            {"name": "g", "impute": {"constant": "?"}, "encode": {"vocabulary": {"top_k": 3, "oov_buckets": 2}}},
            {"name": "h", "encode": {"hash": {"buckets": 8, "alternate_sign": false}}},
            {"name": "i", "missing_indicator": true, "encode": {"date_parts": {"parts": ["weekday"]}}}
        ], "crosses": [{"columns": ["g", "h"], "buckets": 4}], "output": "sparse"}"#;
        let spec = FeatureSpec::from_json(json).unwrap();
        spec.check().unwrap();
        assert_eq!(
            spec.columns[0].encode,
            Encoding::MinMaxScale(MinMaxScaleParams::default())
        );
        assert_eq!(
            spec.columns[2].impute,
            Some(Imputation::Constant(ConstantValue::Int(-1)))
        );
        let text = serde_json::to_string(&spec).unwrap();
        assert_eq!(FeatureSpec::from_json(&text).unwrap(), spec);

        let bad = [
            Encoding::MinMaxScale(MinMaxScaleParams {
                feature_range: [1.0, 1.0],
                clip: false,
            }),
            Encoding::RobustScale(RobustScaleParams {
                quantile_range: [75.0, 25.0],
            }),
            Encoding::Clip(ClipParams::default()),
            Encoding::Clip(ClipParams {
                min: Some(2.0),
                max: Some(1.0),
            }),
            Encoding::Bucketize(BucketizeParams {
                boundaries: vec![1.0, 1.0],
                ordinal: false,
            }),
            Encoding::QuantileBucketize(QuantileBucketizeParams {
                buckets: 1,
                ordinal: false,
            }),
            Encoding::Vocabulary(VocabularyParams {
                top_k: Some(0),
                ..VocabularyParams::default()
            }),
            Encoding::Hash(HashParams {
                buckets: 0,
                alternate_sign: true,
            }),
            Encoding::DateParts(DatePartsParams {
                parts: vec![DatePart::Day, DatePart::Day],
            }),
        ];
        for encode in bad {
            let spec = FeatureSpec::new().with_column(ColumnSpec::new("x", encode.clone()));
            let err = spec.check().unwrap_err();
            assert!(err.to_string().contains(encode.name()), "{encode:?}: {err}");
        }
        for column in [
            ColumnSpec::one_hot("x").with_impute(Imputation::Median),
            ColumnSpec::new("x", Encoding::DateParts(DatePartsParams::default()))
                .with_impute(Imputation::MostFrequent),
            ColumnSpec::passthrough("x")
                .with_impute(Imputation::Constant(ConstantValue::Text("a".into()))),
            ColumnSpec::passthrough("x")
                .with_impute(Imputation::Constant(ConstantValue::Float(f64::NAN))),
            ColumnSpec::drop("x").with_missing_indicator(),
        ] {
            assert!(FeatureSpec::new().with_column(column).check().is_err());
        }
        let only_cross = FeatureSpec::new().with_cross(CrossSpec::new("a", "b", 3));
        assert!(only_cross.check().is_ok());
        for cross in [CrossSpec::new("a", "a", 3), CrossSpec::new("a", "b", 0)] {
            assert!(FeatureSpec::new().with_cross(cross).check().is_err());
        }
        let twice = only_cross.with_cross(CrossSpec::new("a", "b", 5));
        assert!(matches!(
            twice.check(),
            Err(FeaturesError::DuplicateColumn { column }) if column == "a_x_b"
        ));
    }

    #[test]
    fn infer_by_type_excluding_target() {
        let schema = Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("target", DataType::Float64, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("n", DataType::Int64, false),
        ]);
        let spec = FeatureSpec::infer(&schema, "target").unwrap();
        let names: Vec<_> = spec.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["f", "flag", "n"]);
        assert_eq!(
            spec.columns[1],
            ColumnSpec::one_hot("flag").with_impute(Imputation::MostFrequent)
        );
        assert_eq!(
            spec.columns[2],
            ColumnSpec::standard_scale("n").with_impute(Imputation::Mean)
        );
        assert!(spec.check().is_ok());

        let err = FeatureSpec::infer(&schema, "y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `y` is not in the input; it has: f, target, flag, n"
        );
        let dates = Schema::new(vec![
            Field::new("d", DataType::Date32, true),
            Field::new("y", DataType::Int64, true),
        ]);
        let err = FeatureSpec::infer(&dates, "y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `d`: expected Int64, Float64, Utf8 or Boolean, found Date32"
        );
    }
}
