//! TFDV's drift and skew comparators: [`compare`] (a feature's
//! `driftComparator`, current vs previous data) and [`compare_skew`] (its
//! `skewComparator`, serving vs training data), on two [`DatasetStatistics`].
//!
//! The metrics are TFDV's (`tensorflow_data_validation/anomalies/metrics.cc`):
//!
//! * **L∞ distance** ([`InfinityNorm`](crate::InfinityNorm)), for features
//!   with string statistics: both value-count maps (rank histogram, or top
//!   values when there is none) are normalized to probabilities and the
//!   largest absolute difference over the union of values is taken. Anomaly
//!   `COMPARATOR_L_INFTY_HIGH` when it is above the threshold. As in TFDV,
//!   numeric features have no value counts, so the distance is 0.
//! * **Normalized absolute difference**: `max_i |x_i − y_i| / Σ_i (x_i + y_i)`
//!   on the raw counts; `COMPARATOR_NORMALIZED_ABSOLUTE_DIFFERENCE_HIGH`.
//! * **Jensen–Shannon divergence** ([`JensenShannonDivergence`](crate::JensenShannonDivergence)),
//!   for numeric features, on the `STANDARD` histograms (or `QUANTILES` if
//!   the comparator's `source` says so): the two histograms are re-bucketed
//!   onto the union of their boundaries assuming values spread uniformly
//!   within a bucket, a NaN bucket is added when either side has NaNs, both
//!   are normalized, and `JSD = ½ KL(P‖M) + ½ KL(Q‖M)` with `M = ½(P + Q)`
//!   and base-2 logarithms (so it lies in `[0, 1]`).
//!   `COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH` when above the threshold.
//!
//! A feature missing from either statistics, or with no values on one side,
//! is not compared (absence is [`Validator`](crate::Validator)'s concern).

use std::collections::BTreeMap;

use crate::statistics::{
    DatasetStatistics, FeatureStatistics, Histogram, HistogramBucket, HistogramType,
    ValueStatistics,
};
use crate::{
    Anomalies, Anomaly, AnomalyKind, FeatureComparator, HistogramSelectionType, Schema,
    ValidateError,
};

/// Which schema comparator to apply, and how to name the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Drift,
    Skew,
}

impl Comparison {
    fn comparator(self, feature: &crate::Feature) -> Option<&FeatureComparator> {
        match self {
            Comparison::Drift => feature.drift_comparator.as_ref(),
            Comparison::Skew => feature.skew_comparator.as_ref(),
        }
    }

    /// TFDV's wording: "between current and previous" / "between training and serving".
    fn sides(self) -> &'static str {
        match self {
            Comparison::Drift => "current and previous",
            Comparison::Skew => "training and serving",
        }
    }
}

/// Applies every feature's `driftComparator` to `reference` (previous data)
/// and `current` statistics, as TFDV's `validate_statistics(…,
/// previous_statistics=…)` does.
///
/// Errors only when a comparator cannot be evaluated: a numeric feature with
/// values whose statistics carry no histogram of the selected type.
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
/// use mlrig_validate::*;
/// use std::sync::Arc;
///
/// let stats = |values: Vec<&str>| {
///     let batch = RecordBatch::try_from_iter([("job", Arc::new(StringArray::from(values)) as ArrayRef)]).unwrap();
///     compute_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default()).unwrap()
/// };
/// let previous = stats(vec!["a", "a", "b", "b"]);
/// let current = stats(vec!["a", "a", "a", "b"]);
/// let mut schema = infer_schema(&previous, &SchemaInferenceParams::default());
/// schema.feature_mut("job").unwrap().drift_comparator = Some(FeatureComparator::infinity_norm(0.2));
/// let anomalies = compare(&previous, &current, &schema)?;
/// let a = anomalies.get("job", &AnomalyKind::ComparatorLInftyHigh).unwrap();
/// assert_eq!(a.found, "0.25 (value `b`)");
/// # Ok::<(), ValidateError>(())
/// ```
pub fn compare(
    reference: &DatasetStatistics,
    current: &DatasetStatistics,
    schema: &Schema,
) -> Result<Anomalies, ValidateError> {
    compare_with(reference, current, schema, Comparison::Drift)
}

/// Applies every feature's `skewComparator` to `training` and `serving`
/// statistics, as TFDV's `validate_statistics(…, serving_statistics=…)`.
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
/// use mlrig_validate::*;
/// use std::sync::Arc;
///
/// let stats = |values: Vec<f64>| {
///     let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(values)) as ArrayRef)]).unwrap();
///     compute_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default()).unwrap()
/// };
/// let training = stats((0..100).map(f64::from).collect());
/// let serving = stats((50..150).map(f64::from).collect());
/// let mut schema = infer_schema(&training, &SchemaInferenceParams::default());
/// schema.feature_mut("x").unwrap().skew_comparator =
///     Some(FeatureComparator::jensen_shannon_divergence(0.1));
/// let anomalies = compare_skew(&training, &serving, &schema)?;
/// assert!(anomalies.get("x", &AnomalyKind::ComparatorJensenShannonDivergenceHigh).is_some());
/// # Ok::<(), ValidateError>(())
/// ```
pub fn compare_skew(
    training: &DatasetStatistics,
    serving: &DatasetStatistics,
    schema: &Schema,
) -> Result<Anomalies, ValidateError> {
    compare_with(training, serving, schema, Comparison::Skew)
}

fn compare_with(
    reference: &DatasetStatistics,
    current: &DatasetStatistics,
    schema: &Schema,
    comparison: Comparison,
) -> Result<Anomalies, ValidateError> {
    let mut anomalies = Anomalies::default();
    for feature in schema.features() {
        let Some(comparator) = comparison.comparator(feature) else {
            continue;
        };
        let (Some(reference), Some(current)) = (
            reference.feature(&feature.name),
            current.feature(&feature.name),
        ) else {
            continue;
        };
        let count = current.common().map_or(0, |c| c.num_non_missing);
        let sides = comparison.sides();
        if let Some(threshold) = comparator.infinity_norm.as_ref().and_then(|n| n.threshold) {
            let (value, distance) =
                l_infinity_distance(&value_counts(reference), &value_counts(current));
            if distance > threshold {
                let mut anomaly = Anomaly::new(
                    &feature.name,
                    AnomalyKind::ComparatorLInftyHigh,
                    format!("L-infinity distance at most {threshold}"),
                    format!("{} (value `{value}`)", six_digits(distance)),
                    count,
                    Vec::new(),
                );
                anomaly.description = format!(
                    "The Linfty distance between {sides} is {} (up to six significant digits), \
                     above the threshold {threshold}. The feature value with maximum difference is: {value}",
                    six_digits(distance)
                );
                anomalies.push(anomaly);
            }
        }
        if let Some(threshold) = comparator
            .normalized_abs_difference
            .as_ref()
            .and_then(|n| n.threshold)
        {
            let (value, difference) =
                normalized_absolute_difference(&value_counts(reference), &value_counts(current));
            if difference > threshold {
                let mut anomaly = Anomaly::new(
                    &feature.name,
                    AnomalyKind::ComparatorNormalizedAbsoluteDifferenceHigh,
                    format!("normalized absolute difference at most {threshold}"),
                    format!("{} (value `{value}`)", six_digits(difference)),
                    count,
                    Vec::new(),
                );
                anomaly.description = format!(
                    "The normalized absolute difference between {sides} is {} (up to six \
                     significant digits), above the threshold {threshold}. The feature value with \
                     maximum difference is: {value}",
                    six_digits(difference)
                );
                anomalies.push(anomaly);
            }
        }
        if let Some(jsd) = &comparator.jensen_shannon_divergence
            && let Some(threshold) = jsd.threshold
        {
            let kind = match jsd.source.as_ref().and_then(|s| s.selection_type) {
                Some(HistogramSelectionType::Quantiles) => HistogramType::Quantiles,
                _ => HistogramType::Standard,
            };
            let Some(divergence) = histogram_divergence(&feature.name, reference, current, kind)?
            else {
                continue;
            };
            if divergence > threshold {
                let mut anomaly = Anomaly::new(
                    &feature.name,
                    AnomalyKind::ComparatorJensenShannonDivergenceHigh,
                    format!("Jensen-Shannon divergence at most {threshold}"),
                    six_digits(divergence),
                    count,
                    Vec::new(),
                );
                anomaly.description = format!(
                    "The approximate Jensen-Shannon divergence between {sides} is {} (up to six \
                     significant digits), above the threshold {threshold}.",
                    six_digits(divergence)
                );
                anomalies.push(anomaly);
            }
        }
    }
    Ok(anomalies)
}

/// `x` with six significant digits, trailing zeros trimmed (TFDV's wording).
fn six_digits(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let decimals = (5 - libm::log10(x.abs()).floor() as i32).clamp(0, 17) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The JSD of a numeric feature's histograms of type `kind`; `None` when a
/// side has no values (nothing to compare).
fn histogram_divergence(
    name: &str,
    reference: &FeatureStatistics,
    current: &FeatureStatistics,
    kind: HistogramType,
) -> Result<Option<f64>, ValidateError> {
    let (Some(a), Some(b)) = (reference.numeric(), current.numeric()) else {
        return Ok(None);
    };
    let has_values = |n: &crate::NumericStatistics| n.common_stats.num_non_missing > 0;
    if !has_values(a) || !has_values(b) {
        return Ok(None);
    }
    let histogram = |n: &crate::NumericStatistics, side: &str| {
        // A NaN-only column has a bucketless histogram: NaN mass only.
        n.histogram(kind)
            .cloned()
            .or_else(|| {
                (n.num_nan() > 0).then(|| Histogram {
                    num_nan: n.num_nan(),
                    histogram_type: kind,
                    ..Histogram::default()
                })
            })
            .ok_or_else(|| ValidateError::IncomparableStatistics {
                feature: name.to_string(),
                reason: format!("the {side} statistics have no {kind:?} histogram"),
            })
    };
    let (ha, hb) = (histogram(a, "reference")?, histogram(b, "current")?);
    Ok(jensen_shannon_divergence(&ha, &hb))
}

/// Value → count of a feature with string statistics (the rank histogram,
/// else the top values), as TFDV's L∞ comparator reads them; empty for
/// other features. The input of [`l_infinity_distance`] and
/// [`normalized_absolute_difference`].
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
/// use mlrig_validate::{StatisticsParams, compute_statistics, value_counts};
/// use std::sync::Arc;
/// let batch = RecordBatch::try_from_iter([(
///     "job",
///     Arc::new(StringArray::from(vec!["a", "b", "b"])) as ArrayRef,
/// )])?;
/// let stats = compute_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default())?;
/// let counts = value_counts(stats.feature("job").unwrap());
/// assert_eq!((counts["a"], counts["b"]), (1.0, 2.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn value_counts(feature: &FeatureStatistics) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    if let ValueStatistics::String(s) = &feature.stats {
        match &s.rank_histogram {
            Some(rank) if !rank.buckets.is_empty() => {
                for b in &rank.buckets {
                    *counts.entry(b.label.clone()).or_insert(0.0) += b.sample_count;
                }
            }
            _ => {
                for v in &s.top_values {
                    *counts.entry(v.value.clone()).or_insert(0.0) += v.frequency;
                }
            }
        }
    }
    counts
}

fn normalize(counts: &BTreeMap<String, f64>) -> BTreeMap<&str, f64> {
    let total: f64 = counts.values().sum();
    counts
        .iter()
        .map(|(k, v)| (k.as_str(), if total > 0.0 { v / total } else { 0.0 }))
        .collect()
}

/// TFDV's L∞ distance between normalized counts, with the value where it is
/// reached (the last in value order among ties, as TFDV).
///
/// ```
/// use std::collections::BTreeMap;
/// let a = BTreeMap::from([("x".to_string(), 3.0), ("y".to_string(), 1.0)]);
/// let b = BTreeMap::from([("x".to_string(), 1.0), ("y".to_string(), 1.0)]);
/// let (value, d) = mlrig_validate::l_infinity_distance(&a, &b);
/// assert_eq!((value.as_str(), d), ("y", 0.25));
/// ```
pub fn l_infinity_distance(
    reference: &BTreeMap<String, f64>,
    current: &BTreeMap<String, f64>,
) -> (String, f64) {
    let (p, q) = (normalize(reference), normalize(current));
    let mut keys: Vec<&str> = p.keys().chain(q.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut best = (String::new(), 0.0);
    for key in keys {
        let d = (p.get(key).copied().unwrap_or(0.0) - q.get(key).copied().unwrap_or(0.0)).abs();
        if d >= best.1 {
            best = (key.to_string(), d);
        }
    }
    best
}

/// TFDV's normalized absolute difference `max_i |x_i − y_i| / Σ_i (x_i + y_i)`
/// on raw counts, with the value where the maximum is reached.
///
/// ```
/// use std::collections::BTreeMap;
/// let a = BTreeMap::from([("x".to_string(), 30.0)]);
/// let b = BTreeMap::from([("x".to_string(), 10.0)]);
/// assert_eq!(mlrig_validate::normalized_absolute_difference(&a, &b).1, 0.5);
/// ```
pub fn normalized_absolute_difference(
    reference: &BTreeMap<String, f64>,
    current: &BTreeMap<String, f64>,
) -> (String, f64) {
    let total: f64 = reference.values().chain(current.values()).sum();
    if total <= 0.0 {
        return (String::new(), 0.0);
    }
    let mut keys: Vec<&String> = reference.keys().chain(current.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut best = (String::new(), 0.0);
    for key in keys {
        let x = reference.get(key).copied().unwrap_or(0.0);
        let y = current.get(key).copied().unwrap_or(0.0);
        let d = (x - y).abs() / total;
        if d >= best.1 {
            best = (key.clone(), d);
        }
    }
    best
}

/// TFDV's approximate Jensen–Shannon divergence (base 2, in `[0, 1]`) of two
/// histograms: aligned on the union of their boundaries (uniform spread
/// within a bucket), a NaN bucket added when either has NaNs, normalized.
/// `None` when either histogram is empty or a boundary is not finite (the
/// uniform spread is then undefined).
///
/// ```
/// use mlrig_validate::{Histogram, HistogramBucket, jensen_shannon_divergence};
/// let h = |counts: [f64; 2]| Histogram {
///     buckets: vec![
///         HistogramBucket { unmodelled: Default::default(), low_value: 0.0, high_value: 1.0, sample_count: counts[0] },
///         HistogramBucket { unmodelled: Default::default(), low_value: 1.0, high_value: 2.0, sample_count: counts[1] },
///     ],
///     ..Histogram::default()
/// };
/// assert_eq!(jensen_shannon_divergence(&h([1.0, 1.0]), &h([2.0, 2.0])), Some(0.0));
/// assert_eq!(jensen_shannon_divergence(&h([1.0, 0.0]), &h([0.0, 1.0])), Some(1.0));
/// ```
pub fn jensen_shannon_divergence(reference: &Histogram, current: &Histogram) -> Option<f64> {
    let finite = |h: &Histogram| {
        h.buckets.iter().all(|b| {
            b.low_value.is_finite() && b.high_value.is_finite() && b.low_value <= b.high_value
        })
    };
    if !finite(reference) || !finite(current) {
        return None;
    }
    let (mut p, mut q) = align_histograms(&reference.buckets, &current.buckets);
    if reference.num_nan > 0 || current.num_nan > 0 {
        p.push(reference.num_nan as f64);
        q.push(current.num_nan as f64);
    }
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    if !(sp > 0.0 && sq > 0.0) || p.len() != q.len() {
        return None;
    }
    let kl = |a: &[f64], m: &[f64]| -> f64 {
        a.iter()
            .zip(m)
            .filter(|(x, y)| **x > 0.0 && **y > 0.0)
            .map(|(x, y)| x * libm::log2(x / y))
            .sum()
    };
    let p: Vec<f64> = p.iter().map(|x| x / sp).collect();
    let q: Vec<f64> = q.iter().map(|x| x / sq).collect();
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    Some((kl(&p, &m) + kl(&q, &m)) / 2.0)
}

/// The two histograms' counts on common buckets (TFDV's `AlignHistograms`).
fn align_histograms(a: &[HistogramBucket], b: &[HistogramBucket]) -> (Vec<f64>, Vec<f64>) {
    let boundaries_of = |h: &[HistogramBucket]| -> Vec<f64> {
        let mut v: Vec<f64> = h.iter().flat_map(|b| [b.low_value, b.high_value]).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let (ba, bb) = (boundaries_of(a), boundaries_of(b));
    if ba == bb {
        return (
            a.iter().map(|b| b.sample_count).collect(),
            b.iter().map(|b| b.sample_count).collect(),
        );
    }
    let mut boundaries: Vec<f64> = ba.iter().chain(&bb).copied().collect();
    boundaries.sort_by(f64::total_cmp);
    boundaries.dedup();
    // A single-value histogram gets its value twice, so that value gets a
    // (zero-width) bucket of its own.
    for (own, h) in [(&ba, a), (&bb, b)] {
        if own.len() == 1
            && let Some(first) = h.first()
        {
            let v = first.low_value;
            let at = boundaries.partition_point(|x| *x <= v);
            boundaries.insert(at, v);
        }
    }
    (rebucket(&boundaries, a), rebucket(&boundaries, b))
}

/// Redistributes `buckets` onto `boundaries` assuming a uniform spread within
/// each bucket (TFDV's `RebucketHistogram`), defensively bounded.
fn rebucket(boundaries: &[f64], buckets: &[HistogramBucket]) -> Vec<f64> {
    let slots = boundaries.len().saturating_sub(1);
    let mut counts = vec![0.0; slots];
    let mut index = 0usize;
    for bucket in buckets {
        let (low, high, count) = (bucket.low_value, bucket.high_value, bucket.sample_count);
        while index < slots && low > boundaries[index] {
            index += 1;
        }
        if index >= slots {
            break;
        }
        if low == high && low == boundaries[index] {
            counts[index] += count;
            index += 1;
            continue;
        }
        let start = index;
        while index < slots && high > boundaries[index] {
            index += 1;
        }
        let range = high - low;
        for (slot, count_slot) in counts.iter_mut().enumerate().take(index).skip(start) {
            let width = boundaries[slot + 1] - boundaries[slot];
            *count_slot += if range > 0.0 {
                width / range * count
            } else {
                0.0
            };
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(buckets: &[(f64, f64, f64)]) -> Histogram {
        Histogram {
            buckets: buckets
                .iter()
                .map(|(l, h, c)| HistogramBucket {
                    unmodelled: Default::default(),
                    low_value: *l,
                    high_value: *h,
                    sample_count: *c,
                })
                .collect(),
            ..Histogram::default()
        }
    }

    #[test]
    fn misaligned_histograms_are_rebucketed_uniformly() {
        // [0,2) with 4 values vs [0,1),[1,2) with 2 and 2: identical after
        // alignment (uniform spread).
        let a = hist(&[(0.0, 2.0, 4.0)]);
        let b = hist(&[(0.0, 1.0, 2.0), (1.0, 2.0, 2.0)]);
        assert_eq!(jensen_shannon_divergence(&a, &b), Some(0.0));
        // Disjoint supports: divergence 1 bit.
        let c = hist(&[(2.0, 3.0, 5.0)]);
        assert_eq!(jensen_shannon_divergence(&a, &c), Some(1.0));
        // Partial overlap, by hand: a → [0,1):2, [1,2):2, [2,3):0;
        // d = [1,3) with 4 → [0,1):0, [1,2):2, [2,3):2.
        let d = hist(&[(1.0, 3.0, 4.0)]);
        let jsd = jensen_shannon_divergence(&a, &d).unwrap();
        // P = (.5,.5,0), Q = (0,.5,.5), M = (.25,.5,.25): JSD = ½(.5·1 + .5·1)·… = 0.5
        assert!((jsd - 0.5).abs() < 1e-15, "{jsd}");
    }

    #[test]
    fn single_value_histograms_and_nan_buckets() {
        let a = hist(&[(5.0, 5.0, 3.0)]);
        let b = hist(&[(5.0, 5.0, 6.0)]);
        assert_eq!(jensen_shannon_divergence(&a, &b), Some(0.0));
        let mut c = b.clone();
        c.num_nan = 6;
        // P = (1, 0), Q = (.5, .5): JSD = ½[1·log2(1/.75)] + ½[.5·log2(.5/.75) + .5·log2(.5/.25)]
        let expected = 0.5 * libm::log2(1.0 / 0.75)
            + 0.5 * (0.5 * libm::log2(0.5 / 0.75) + 0.5 * libm::log2(2.0));
        let got = jensen_shannon_divergence(&a, &c).unwrap();
        assert!((got - expected).abs() < 1e-15);
        assert_eq!(jensen_shannon_divergence(&a, &hist(&[])), None);
        let infinite = hist(&[(f64::NEG_INFINITY, 1.0, 1.0)]);
        assert_eq!(jensen_shannon_divergence(&a, &infinite), None);
    }

    #[test]
    fn garbage_histograms_do_not_panic() {
        let weird = hist(&[
            (3.0, 1.0, 2.0),
            (0.0, 0.0, -1.0),
            (9.0, 9.5, 1.0),
            (2.0, 2.0, 1.0),
        ]);
        let other = hist(&[(0.0, 10.0, 1.0)]);
        let _ = jensen_shannon_divergence(&weird, &other);
        let _ = jensen_shannon_divergence(&other, &weird);
    }

    #[test]
    fn six_significant_digits() {
        assert_eq!(six_digits(0.25), "0.25");
        assert_eq!(six_digits(0.123_456_789), "0.123457");
        assert_eq!(six_digits(0.000_123_456_789), "0.000123457");
        assert_eq!(six_digits(1.0), "1");
    }
}
