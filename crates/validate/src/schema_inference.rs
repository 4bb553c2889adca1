//! [`infer_schema`]: a first [`Schema`] from [`DatasetStatistics`], with
//! TFDV's rules.
//!
//! | statistics | schema |
//! |---|---|
//! | `INT` (Arrow integers) | `type: INT` (+ `intDomain` min/max, see below) |
//! | `INT` with string stats `true`/`false` (Arrow booleans) | `type: INT`, `boolDomain {}` |
//! | `FLOAT` | `type: FLOAT` (+ `floatDomain` min/max) |
//! | `STRING`, `BYTES` | `type: BYTES`; a schema-level `stringDomain` named after the feature when it has at most [`SchemaInferenceParams::max_string_domain_size`] distinct values |
//! | never missing | `presence {minFraction: 1, minCount: 1}`, `shape {dim {size: 1}}` |
//! | sometimes missing | `presence {minCount: 1}`, `valueCount {min: 1, max: 1}` |
//! | never present | no presence constraint |
//!
//! Numeric ranges are an mlrig option TFDV lacks ([`SchemaInferenceParams::infer_numeric_ranges`],
//! on by default): the observed `[min, max]`, widened on each side by
//! `numeric_range_margin × (max − min)`, rounded outwards (integers to whole
//! numbers, floats to `f32` values since tfmd stores `FloatDomain` bounds as
//! `float`). An infinite bound is left open.

use serde::{Deserialize, Serialize};

use crate::schema::{
    BoolDomain, Feature, FeaturePresence, FeatureType, FixedShape, FloatDomain, IntDomain, Schema,
    StringDomain, ValueCount,
};
use crate::statistics::{DatasetStatistics, FeatureStatistics, StatisticsType, ValueStatistics};

/// Options of [`infer_schema`].
///
/// ```
/// use mlrig_validate::SchemaInferenceParams;
/// let p = SchemaInferenceParams::default().with_numeric_range_margin(0.1);
/// assert_eq!((p.max_string_domain_size, p.infer_numeric_ranges), (100, true));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchemaInferenceParams {
    /// Largest number of distinct values for which a string domain is
    /// inferred (default 100, as TFDV).
    pub max_string_domain_size: usize,
    /// Infer `intDomain`/`floatDomain` from the observed min/max (default true).
    pub infer_numeric_ranges: bool,
    /// Relative margin added on each side of an inferred range, as a fraction
    /// of `max − min` (default 0). Negative or non-finite values count as 0.
    pub numeric_range_margin: f64,
    /// Infer `shape {dim {size: 1}}` for features that are always present
    /// (default true, as TFDV's `infer_feature_shape`).
    pub infer_feature_shape: bool,
}

impl Default for SchemaInferenceParams {
    fn default() -> Self {
        Self {
            max_string_domain_size: 100,
            infer_numeric_ranges: true,
            numeric_range_margin: 0.0,
            infer_feature_shape: true,
        }
    }
}

impl SchemaInferenceParams {
    /// Sets [`max_string_domain_size`](Self::max_string_domain_size).
    ///
    /// ```
    /// # use mlrig_validate::SchemaInferenceParams;
    /// assert_eq!(SchemaInferenceParams::default().with_max_string_domain_size(5).max_string_domain_size, 5);
    /// ```
    pub fn with_max_string_domain_size(mut self, size: usize) -> Self {
        self.max_string_domain_size = size;
        self
    }

    /// Sets [`infer_numeric_ranges`](Self::infer_numeric_ranges).
    ///
    /// ```
    /// # use mlrig_validate::SchemaInferenceParams;
    /// assert!(!SchemaInferenceParams::default().with_infer_numeric_ranges(false).infer_numeric_ranges);
    /// ```
    pub fn with_infer_numeric_ranges(mut self, infer: bool) -> Self {
        self.infer_numeric_ranges = infer;
        self
    }

    /// Sets [`numeric_range_margin`](Self::numeric_range_margin).
    ///
    /// ```
    /// # use mlrig_validate::SchemaInferenceParams;
    /// assert_eq!(SchemaInferenceParams::default().with_numeric_range_margin(0.5).numeric_range_margin, 0.5);
    /// ```
    pub fn with_numeric_range_margin(mut self, margin: f64) -> Self {
        self.numeric_range_margin = margin;
        self
    }

    /// Sets [`infer_feature_shape`](Self::infer_feature_shape).
    ///
    /// ```
    /// # use mlrig_validate::SchemaInferenceParams;
    /// assert!(!SchemaInferenceParams::default().with_infer_feature_shape(false).infer_feature_shape);
    /// ```
    pub fn with_infer_feature_shape(mut self, infer: bool) -> Self {
        self.infer_feature_shape = infer;
        self
    }

    fn margin(&self) -> f64 {
        if self.numeric_range_margin.is_finite() && self.numeric_range_margin > 0.0 {
            self.numeric_range_margin
        } else {
            0.0
        }
    }
}

/// Infers a schema from statistics (see the module docs for the rules).
///
/// ```
/// use mlrig_core::arrow_array::{Int64Array, RecordBatch, StringArray};
/// use mlrig_validate::{compute_statistics, infer_schema, SchemaInferenceParams, StatisticsParams};
/// use std::sync::Arc;
/// let batch = RecordBatch::try_from_iter([
///     ("age", Arc::new(Int64Array::from(vec![30, 50])) as _),
///     ("city", Arc::new(StringArray::from(vec![Some("Oslo"), None])) as _),
/// ]).unwrap();
/// let stats = compute_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default())?;
/// let schema = infer_schema(&stats, &SchemaInferenceParams::default());
/// let age = schema.feature("age").unwrap();
/// assert_eq!(age.int_domain.as_ref().map(|d| (d.min, d.max)), Some((Some(30), Some(50))));
/// assert_eq!(age.presence.as_ref().unwrap().min_fraction, Some(1.0));
/// assert_eq!(schema.feature("city").unwrap().domain.as_deref(), Some("city"));
/// assert_eq!(schema.string_domain[0].value, vec!["Oslo"]);
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
pub fn infer_schema(stats: &DatasetStatistics, params: &SchemaInferenceParams) -> Schema {
    let mut schema = Schema::default();
    for feature_stats in stats.features() {
        let (feature, domain) = infer_feature(feature_stats, params);
        schema.features.push(feature);
        schema.string_domain.extend(domain);
    }
    schema
}

pub(crate) fn infer_feature(
    stats: &FeatureStatistics,
    params: &SchemaInferenceParams,
) -> (Feature, Option<StringDomain>) {
    let feature_type = match stats.feature_type {
        StatisticsType::Int => FeatureType::Int,
        StatisticsType::Float => FeatureType::Float,
        StatisticsType::String | StatisticsType::Bytes => FeatureType::Bytes,
        StatisticsType::Struct => FeatureType::Struct,
    };
    let mut feature = Feature::new(stats.name.clone(), feature_type);
    if let Some(common) = stats.common()
        && common.num_non_missing > 0
    {
        let always_present = common.num_missing == 0;
        feature.presence = Some(FeaturePresence {
            unmodelled: Default::default(),
            min_fraction: always_present.then_some(1.0),
            min_count: Some(1),
        });
        if always_present && params.infer_feature_shape {
            feature.shape = Some(FixedShape::scalar());
        } else {
            feature.value_count = Some(ValueCount {
                unmodelled: Default::default(),
                min: Some(1),
                max: Some(1),
            });
        }
    }
    let mut string_domain = None;
    match &stats.stats {
        ValueStatistics::Numeric(numeric) if params.infer_numeric_ranges => {
            let non_nan = numeric
                .common_stats
                .num_non_missing
                .saturating_sub(numeric.num_nan());
            if non_nan > 0 {
                let (lo, hi) = widened(numeric.min, numeric.max, params.margin());
                match feature_type {
                    FeatureType::Int => {
                        feature.int_domain = Some(IntDomain {
                            min: int_floor(lo),
                            max: int_ceil(hi),
                            ..IntDomain::default()
                        });
                    }
                    FeatureType::Float => {
                        feature.float_domain = Some(FloatDomain {
                            min: f32_floor(lo),
                            max: f32_ceil(hi),
                            ..FloatDomain::default()
                        });
                    }
                    _ => {}
                }
            }
        }
        ValueStatistics::String(strings) => {
            let labels: Vec<&str> = strings
                .rank_histogram
                .iter()
                .flat_map(|h| h.buckets.iter().map(|b| b.label.as_str()))
                .collect();
            let complete = !stats.distinct_capped()
                && strings.unique > 0
                && labels.len() as u64 == strings.unique;
            if feature_type == FeatureType::Int {
                if complete && labels.iter().all(|l| *l == "true" || *l == "false") {
                    feature.bool_domain = Some(BoolDomain::default());
                }
            } else if complete && strings.unique <= params.max_string_domain_size as u64 {
                let mut values: Vec<String> = labels.iter().map(|l| (*l).to_string()).collect();
                values.sort_unstable();
                values.dedup();
                feature.domain = Some(stats.name.clone());
                string_domain = Some(StringDomain::new(stats.name.clone(), values));
            }
        }
        _ => {}
    }
    (feature, string_domain)
}

/// `[min − m·w, max + m·w]` with `w = max − min`; an infinite width adds nothing.
fn widened(min: f64, max: f64, margin: f64) -> (f64, f64) {
    let width = max - min;
    if margin == 0.0 || !width.is_finite() {
        return (min, max);
    }
    (min - margin * width, max + margin * width)
}

/// The f64 spacing at `x` (what rounding a large integer to f64 may have cost).
fn spacing(x: f64) -> f64 {
    let a = x.abs();
    f64::from_bits(a.to_bits() + 1) - a
}

const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53

pub(crate) fn int_floor(x: f64) -> Option<i64> {
    if !x.is_finite() {
        return None;
    }
    // Beyond 2^53 the statistic may have been rounded up: widen by one spacing.
    let x = if x.abs() >= EXACT_INTEGERS {
        x - spacing(x)
    } else {
        x
    };
    Some(x.floor() as i64) // saturating cast
}

pub(crate) fn int_ceil(x: f64) -> Option<i64> {
    if !x.is_finite() {
        return None;
    }
    let x = if x.abs() >= EXACT_INTEGERS {
        x + spacing(x)
    } else {
        x
    };
    Some(x.ceil() as i64)
}

/// The largest `f32` value ≤ `x`, or no bound when there is none.
pub(crate) fn f32_floor(x: f64) -> Option<f64> {
    let f = x as f32;
    let f = if f64::from(f) > x { f.next_down() } else { f };
    f.is_finite().then_some(f64::from(f))
}

/// The smallest `f32` value ≥ `x`, or no bound when there is none.
pub(crate) fn f32_ceil(x: f64) -> Option<f64> {
    let f = x as f32;
    let f = if f64::from(f) < x { f.next_up() } else { f };
    f.is_finite().then_some(f64::from(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_bounds_round_outwards_to_f32() {
        let lo = f32_floor(0.1).unwrap();
        let hi = f32_ceil(0.1).unwrap();
        assert!(lo <= 0.1 && hi >= 0.1 && lo < hi);
        assert_eq!(f64::from(lo as f32), lo);
        assert_eq!(f32_floor(1.5), Some(1.5));
        assert_eq!(f32_ceil(f64::MAX), None);
        assert_eq!(f32_floor(f64::NEG_INFINITY), None);
    }

    #[test]
    fn integer_bounds_contain_rounded_extremes() {
        assert_eq!(int_floor(17.0), Some(17));
        assert_eq!(int_ceil(89.2), Some(90));
        let big = i64::MAX - 10;
        assert!(int_ceil(big as f64).unwrap() >= big);
        assert!(int_floor((i64::MIN + 10) as f64).unwrap() <= i64::MIN + 10);
        let odd = (1i64 << 53) + 1;
        assert!(int_floor(odd as f64).unwrap() <= odd);
        assert!(int_ceil(odd as f64).unwrap() >= odd);
    }

    #[test]
    fn margin_widens_both_sides() {
        assert_eq!(widened(0.0, 10.0, 0.1), (-1.0, 11.0));
        assert_eq!(widened(f64::NEG_INFINITY, 1.0, 0.5).1, 1.0);
    }
}
