//! [`Encoding`]: how a column becomes output features, written as a name or
//! a one-key table of its parameters.

use std::collections::BTreeSet;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::encoding_params::{
    BucketizeParams, ClipParams, DatePartsParams, HashParams, MAX_HASH_BUCKETS, MinMaxScaleParams,
    QuantileBucketizeParams, RobustScaleParams, VocabularyParams,
};

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
/// | `ordinal` | `Utf8`, `Boolean`, `Int64` | the category's index in the sorted training categories, as `f64` (`color`) |
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
/// let o: Encoding = serde_json::from_str("\"ordinal\"").unwrap();
/// assert_eq!(o, Encoding::Ordinal);
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
    /// The index of the value in the sorted training categories (those of
    /// `one_hot`) as one output `0.0, 1.0, …` named as the column; an
    /// unknown or missing (not imputed) value encodes as NaN
    /// (`OrdinalEncoder(handle_unknown="use_encoded_value",
    /// unknown_value=np.nan, encoded_missing_value=np.nan)`). For models that
    /// split on categories natively (gradient-boosted trees):
    /// [`FittedFeaturePipeline::categorical_outputs`](crate::FittedFeaturePipeline::categorical_outputs)
    /// names these outputs and their number of categories.
    Ordinal,
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
pub(super) const ENCODING_NAMES: &[&str] = &[
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
    "ordinal",
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
            Encoding::Ordinal => "ordinal",
            Encoding::Vocabulary(_) => "vocabulary",
            Encoding::Hash(_) => "hash",
            Encoding::DateParts(_) => "date_parts",
            Encoding::Drop => "drop",
        }
    }

    pub(crate) fn input_kind(&self) -> InputKind {
        match self {
            Encoding::OneHot | Encoding::Ordinal | Encoding::Vocabulary(_) | Encoding::Hash(_) => {
                InputKind::Categorical
            }
            Encoding::DateParts(_) => InputKind::DateText,
            Encoding::Drop => InputKind::Unread,
            _ => InputKind::Numeric,
        }
    }

    /// Checks the parameters; the error is the reason.
    pub(super) fn check(&self) -> Result<(), String> {
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
            "ordinal" => Encoding::Ordinal,
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
