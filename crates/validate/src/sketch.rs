//! The statistics' view of the quantile sketch: the validate crate's
//! parameters for [`mlrig_core::QuantileSketch`] (relative value error
//! [`QUANTILE_RELATIVE_ACCURACY`], no exact mode) and what TFDV-style
//! statistics derive from it — the median, the standard and quantiles
//! histograms, and the sketch carried in statistics files as the
//! [`VALUE_SKETCH`](crate::statistics::VALUE_SKETCH) custom statistic.
//!
//! A quantile `q` is within **relative value error `α`** (0.5 %) of the
//! exact order statistic `x₍⌊q·(n−1)⌋₎` (0-based): `|x̂ − x| ≤ α·|x|` for
//! normal `f64` values (see [`mlrig_core::QuantileSketch`] for the exact
//! bound). The rank is exact (counts are exact), so the *rank* error is only
//! what the value error implies. TFDV's KLL-style sketches state a rank error
//! `ε = 0.01` (the returned value's rank is within `ε·n` of `q·n`) and no
//! value bound; a relative value error is the stronger guarantee wherever
//! values are not packed closer than `α·|x|`, and it never lets a quantile
//! leave the data's range (results are clamped to the exact min/max). For
//! integer columns a bucket that can hold only one integer reports that
//! integer ([`snap_to_integers`]), so magnitudes below about `1/α` = 200
//! (ages, counts) have exact quantiles, histograms and KS statistics.

pub(crate) use mlrig_core::SketchBucket;
use mlrig_core::SketchParams;

use crate::statistics::{Histogram, HistogramBucket, HistogramType};

/// Relative value accuracy `α` of the quantile sketch behind `median`, the
/// histograms and the drift tests: every quantile is within `α·|x|` of the
/// exact order statistic.
///
/// ```
/// assert_eq!(mlrig_validate::QUANTILE_RELATIVE_ACCURACY, 0.005);
/// ```
pub const QUANTILE_RELATIVE_ACCURACY: f64 = 0.005;

/// Number of buckets of the standard and quantiles histograms (as TFDV).
pub(crate) const NUM_HISTOGRAM_BUCKETS: usize = 10;

/// The statistics' sketch parameters: α = [`QUANTILE_RELATIVE_ACCURACY`],
/// buckets only (exact modes would make the stored sketch depend on the
/// number of distinct values).
#[derive(Debug)]
pub(crate) struct ValueSketchParams;

impl SketchParams for ValueSketchParams {
    const RELATIVE_ACCURACY: f64 = QUANTILE_RELATIVE_ACCURACY;
}

/// The quantile sketch of a numeric column's values.
pub(crate) type QuantileSketch = mlrig_core::QuantileSketch<ValueSketchParams>;

/// A batch of values gathered for a [`QuantileSketch`].
pub(crate) type SketchBatch = mlrig_core::SketchBatch<ValueSketchParams>;

/// Median, standard (equal-width) histogram and quantiles histogram of a
/// sketch. `min`/`max` are the exact extremes; `num_nan` goes on both
/// histograms; `integer_valued` snaps bucket values to integers (see
/// [`snap_to_integers`]).
pub(crate) fn summaries(
    sketch: &QuantileSketch,
    min: f64,
    max: f64,
    num_nan: u64,
    integer_valued: bool,
) -> SketchSummaries {
    let mut buckets = sketch.buckets();
    if integer_valued {
        snap_to_integers(&mut buckets);
    }
    let median = quantile_of_buckets(&buckets, 0.5, min, max).unwrap_or(0.0);
    if buckets.is_empty() {
        let histograms = if num_nan > 0 {
            vec![Histogram {
                num_nan,
                ..Histogram::default()
            }]
        } else {
            Vec::new()
        };
        return SketchSummaries { median, histograms };
    }
    let standard = standard_histogram(&buckets, min, max, num_nan);
    let quantiles = quantiles_histogram(&buckets, min, max, num_nan);
    SketchSummaries {
        median,
        histograms: vec![standard, quantiles],
    }
}

/// The sketch as a tfmd histogram (one bucket per sketch bucket, bounds as
/// in [`SketchBucket`]), the form carried in statistics files.
pub(crate) fn to_histogram(sketch: &QuantileSketch) -> Histogram {
    Histogram {
        buckets: sketch
            .buckets()
            .into_iter()
            .map(|b| HistogramBucket {
                unmodelled: Default::default(),
                low_value: b.low,
                high_value: b.high,
                sample_count: b.count as f64,
            })
            .collect(),
        name: crate::statistics::VALUE_SKETCH.to_string(),
        ..Histogram::default()
    }
}

/// Median and histograms derived from a sketch.
pub(crate) struct SketchSummaries {
    pub(crate) median: f64,
    pub(crate) histograms: Vec<Histogram>,
}

/// The value of the bucket holding the 0-based order statistic
/// `⌊q·(n−1)⌋` of `buckets` (in increasing order; NaN `q` is the median),
/// clamped to `[min, max]`. `None` when the buckets are empty.
pub(crate) fn quantile_of_buckets(
    buckets: &[SketchBucket],
    q: f64,
    min: f64,
    max: f64,
) -> Option<f64> {
    let q = if q.is_nan() { 0.5 } else { q };
    mlrig_core::quantile_of_buckets(buckets, q).map(|value| value.clamp(min, max.max(min)))
}

/// Ten equal-width buckets on `[min, max]`; every sketch bucket's count goes
/// to the bucket holding its representative value (clamped to `[min, max]`),
/// so a value may land in a neighbouring bucket only when it lies within
/// `α·|x|` of a boundary. One bucket `[min, max]` when `min == max` or the
/// range is not finite.
fn standard_histogram(buckets: &[SketchBucket], min: f64, max: f64, num_nan: u64) -> Histogram {
    // Counts below 2⁵³ are exact as f64, so this is the plain count histogram.
    let weighted = buckets.iter().map(|b| (b.value, b.count as f64));
    standard_histogram_from(weighted, min, max, num_nan)
}

/// A standard histogram of `(value, weight)` points (plain counts or
/// weights): ten equal-width buckets over `[min, max]`, each point in the
/// bucket of its value clamped to the range.
pub(crate) fn standard_histogram_from(
    points: impl Iterator<Item = (f64, f64)> + Clone,
    min: f64,
    max: f64,
    num_nan: u64,
) -> Histogram {
    let total: f64 = points.clone().map(|(_, w)| w).sum();
    let width = (max - min) / NUM_HISTOGRAM_BUCKETS as f64;
    let mut out = Histogram {
        num_nan,
        ..Histogram::default()
    };
    if !(width.is_finite() && width > 0.0) {
        out.buckets.push(HistogramBucket {
            unmodelled: Default::default(),
            low_value: min,
            high_value: max,
            sample_count: total,
        });
        return out;
    }
    let mut weights = [0.0f64; NUM_HISTOGRAM_BUCKETS];
    for (value, w) in points {
        let v = value.clamp(min, max);
        let index = (((v - min) / width).floor() as usize).min(NUM_HISTOGRAM_BUCKETS - 1);
        weights[index] += w;
    }
    out.buckets = weights
        .iter()
        .enumerate()
        .map(|(i, w)| HistogramBucket {
            unmodelled: Default::default(),
            low_value: if i == 0 { min } else { min + width * i as f64 },
            high_value: if i + 1 == NUM_HISTOGRAM_BUCKETS {
                max
            } else {
                min + width * (i + 1) as f64
            },
            sample_count: *w,
        })
        .collect();
    out
}

/// TFDV's quantiles histogram: boundaries at the 0, 0.1, …, 1 quantiles
/// (`min` and `max` at the ends) and `n / 10` values in every bucket.
fn quantiles_histogram(buckets: &[SketchBucket], min: f64, max: f64, num_nan: u64) -> Histogram {
    let total: u64 = buckets.iter().map(|b| b.count).sum();
    quantiles_histogram_from(
        |q| quantile_of_buckets(buckets, q, min, max),
        min,
        max,
        num_nan,
        total as f64,
    )
}

/// A quantiles histogram from any quantile function (plain or weighted):
/// boundaries at the 0, 0.1, …, 1 quantiles, `total / 10` in every bucket.
pub(crate) fn quantiles_histogram_from(
    quantile: impl Fn(f64) -> Option<f64>,
    min: f64,
    max: f64,
    num_nan: u64,
    total: f64,
) -> Histogram {
    let n = NUM_HISTOGRAM_BUCKETS;
    let boundary = |j: usize| -> f64 {
        if j == 0 {
            min
        } else if j == n {
            max
        } else {
            quantile(j as f64 / n as f64).unwrap_or(min)
        }
    };
    Histogram {
        num_nan,
        buckets: (0..n)
            .map(|j| HistogramBucket {
                unmodelled: Default::default(),
                low_value: boundary(j),
                high_value: boundary(j + 1),
                sample_count: total / n as f64,
            })
            .collect(),
        histogram_type: HistogramType::Quantiles,
        ..Histogram::default()
    }
}

/// For integer-valued data: a bucket whose range holds exactly one integer
/// holds only that integer, so its value becomes exact (see
/// [`SketchBucket::snap_to_integer`]).
pub(crate) fn snap_to_integers(buckets: &mut [SketchBucket]) {
    buckets.iter_mut().for_each(SketchBucket::snap_to_integer);
}

/// Reads sketch buckets back from [`to_histogram`]'s form:
/// each bucket's value is the sketch's representative, recomputed from the
/// bound nearest to zero, or the bound itself for `0` and ±∞.
pub(crate) fn buckets_from_histogram(histogram: &Histogram) -> Vec<SketchBucket> {
    histogram
        .buckets
        .iter()
        .filter(|b| b.sample_count > 0.0 && !b.low_value.is_nan() && !b.high_value.is_nan())
        .map(|b| {
            let (low, high) = (b.low_value, b.high_value);
            // A bucket (γ^(k−1), γ^k] has representative γ^(k−1) · 2γ/(γ+1).
            let gamma = QuantileSketch::log_buckets().gamma();
            let scale = 2.0 * gamma / (gamma + 1.0);
            let value = if low == high {
                low
            } else if low > 0.0 {
                low * scale
            } else if high < 0.0 {
                high * scale
            } else {
                0.0
            };
            SketchBucket {
                low,
                high,
                value,
                count: b.sample_count.max(0.0) as u64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sketch_of(values: &[f64]) -> QuantileSketch {
        let mut s = QuantileSketch::default();
        for v in values {
            s.add(*v);
        }
        s
    }

    #[test]
    fn quantiles_are_within_the_relative_error_bound() {
        let values: Vec<f64> = (1..=10_000).map(|i| f64::from(i) * 0.37 - 900.0).collect();
        let buckets = sketch_of(&values).buckets();
        let (min, max) = (values[0], values[values.len() - 1]);
        for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0] {
            let exact = values[(q * (values.len() - 1) as f64).floor() as usize];
            let got = quantile_of_buckets(&buckets, q, min, max).unwrap();
            assert!(
                (got - exact).abs() <= QUANTILE_RELATIVE_ACCURACY * exact.abs() + 1e-12,
                "q={q}: {got} vs {exact}"
            );
        }
        assert_eq!(quantile_of_buckets(&buckets, 0.0, min, max), Some(min));
        assert_eq!(
            quantile_of_buckets(&buckets, f64::NAN, min, max),
            quantile_of_buckets(&buckets, 0.5, min, max)
        );
        assert_eq!(quantile_of_buckets(&[], 0.5, min, max), None);
    }

    #[test]
    fn stored_buckets_are_the_definition_with_alpha_half_a_percent() {
        // The `mlrig.value_sketch` form in statistics files: bucket k of a
        // magnitude m is ⌈log_γ m⌉, bounds (γ^(k−1), γ^k], γ = 1.005/0.995.
        let gamma: f64 = (1.0 + 0.005) / (1.0 - 0.005);
        let values = [-7.5, 0.0, 1.0, 2.0, 2.0, 39.0, 1e300, 123_456.789];
        let histogram = to_histogram(&sketch_of(&values));
        let mut expected: Vec<(f64, f64, f64)> = Vec::new();
        let bounds = |m: f64| {
            let k = (libm::log(m) / libm::log(gamma)).ceil();
            let ln_gamma = libm::log(gamma);
            (libm::exp((k - 1.0) * ln_gamma), libm::exp(k * ln_gamma))
        };
        let (low, high) = bounds(7.5);
        expected.push((-high, -low, 1.0));
        expected.push((0.0, 0.0, 1.0));
        for (m, count) in [
            (1.0, 1.0),
            (2.0, 2.0),
            (39.0, 1.0),
            (123_456.789, 1.0),
            (1e300, 1.0),
        ] {
            let (low, high) = bounds(m);
            expected.push((low, high, count));
        }
        let got: Vec<(f64, f64, f64)> = histogram
            .buckets
            .iter()
            .map(|b| (b.low_value, b.high_value, b.sample_count))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(histogram.name, crate::statistics::VALUE_SKETCH);
    }

    #[test]
    fn histograms_follow_tfdv_conventions() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        let s = sketch_of(&values);
        let integer = summaries(&s, 0.0, 99.0, 2, true);
        // Integers below 200 have a bucket each: exact.
        assert_eq!(integer.median, 49.0);
        assert_eq!(
            summaries(&s, 0.0, 99.0, 2, false).median,
            s.buckets()[49].value
        );
        let [standard, quantiles] = integer.histograms.as_slice() else {
            panic!("two histograms expected");
        };
        assert_eq!(standard.histogram_type, HistogramType::Standard);
        assert_eq!(standard.buckets.len(), 10);
        assert_eq!(standard.num_nan, 2);
        assert_eq!(standard.buckets[0].low_value, 0.0);
        assert_eq!(standard.buckets[9].high_value, 99.0);
        assert!(standard.buckets.iter().all(|b| b.sample_count == 10.0));
        assert_eq!(quantiles.histogram_type, HistogramType::Quantiles);
        assert!(quantiles.buckets.iter().all(|b| b.sample_count == 10.0));
        assert_eq!(quantiles.buckets[0].low_value, 0.0);
        assert_eq!(quantiles.buckets[9].high_value, 99.0);

        let single = summaries(&sketch_of(&[5.0, 5.0]), 5.0, 5.0, 0, true);
        assert_eq!(single.histograms[0].buckets.len(), 1);
        assert_eq!(single.histograms[0].buckets[0].sample_count, 2.0);

        let only_nan = summaries(&QuantileSketch::default(), 0.0, 0.0, 3, false);
        assert_eq!(only_nan.median, 0.0);
        assert_eq!(only_nan.histograms.len(), 1);
        assert_eq!(only_nan.histograms[0].num_nan, 3);
    }

    #[test]
    fn histogram_form_round_trips_bucket_values() {
        let s = sketch_of(&[-7.5, 0.0, 1.0, 2.0, 2.0, 1e300, f64::INFINITY]);
        let back = buckets_from_histogram(&to_histogram(&s));
        let direct = s.buckets();
        assert_eq!(back.len(), direct.len());
        for (a, b) in back.iter().zip(&direct) {
            assert_eq!(a.count, b.count);
            assert!(
                a.value == b.value || (a.value - b.value).abs() <= 1e-12 * b.value.abs(),
                "{a:?} vs {b:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn summaries_of_merged_parts_equal_one_pass(
            values in proptest::collection::vec(
                prop_oneof![any::<f64>(), -1e6f64..1e6, (-300i32..300).prop_map(f64::from)], 1..200),
            cut in 0usize..200,
        ) {
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            prop_assume!(!finite.is_empty());
            let (min, max) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
            let whole = sketch_of(&finite);
            let (a, b) = finite.split_at(cut.min(finite.len()));
            let mut merged = sketch_of(b);
            merged.merge(&sketch_of(a));
            prop_assert_eq!(&merged, &whole);
            let one = summaries(&whole, min, max, 0, false);
            let two = summaries(&merged, min, max, 0, false);
            prop_assert_eq!(one.median.to_bits(), two.median.to_bits());
            prop_assert_eq!(&one.histograms, &two.histograms);
            let mut sorted = finite.clone();
            sorted.sort_by(f64::total_cmp);
            let exact = sorted[(sorted.len() - 1) / 2];
            if exact == 0.0 || exact.abs() >= 1e-300 {
                prop_assert!((one.median - exact).abs() <= QUANTILE_RELATIVE_ACCURACY * exact.abs() * (1.0 + 1e-9));
            }
        }
    }
}
