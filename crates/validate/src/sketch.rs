//! [`QuantileSketch`]: a DDSketch-style quantile sketch whose merge is exact.
//!
//! Every non-NaN value `x` goes to a logarithmic bucket: `0` (and `-0`) to a
//! zero counter, `x > 0` to bucket `k = ⌈ln x / ln γ⌉` of the positive map,
//! `x < 0` to bucket `⌈ln |x| / ln γ⌉` of the negative map, and ±∞ to the
//! reserved key [`INFINITY_KEY`]. With `γ = (1 + α) / (1 − α)` the bucket
//! `k` covers `(γ^(k−1), γ^k]`, and its representative value `2γ^k / (γ + 1)`
//! is within relative error `α` of every value in it.
//!
//! The state is three integer count maps, so merging two sketches adds
//! counts: **the same bits whatever the split of the data or the merge
//! order**. There is no collapsing of buckets (which would depend on order);
//! instead the number of buckets is bounded by the `f64` exponent range:
//! at most about 2 × 145,000 buckets for data spanning every finite `f64`
//! magnitude, a few hundred for data spanning a few decades.
//!
//! # The bound that holds
//!
//! A quantile `q` returned by [`QuantileSketch::quantile`] is within
//! **relative value error `α`** ([`QUANTILE_RELATIVE_ACCURACY`], 0.5 %) of
//! the exact order statistic `x₍⌊q·(n−1)⌋₎` (0-based): `|x̂ − x| ≤ α·|x|`
//! for normal `f64` values (subnormal magnitudes below `f64::MIN_POSITIVE`
//! are placed correctly but their representative loses precision).
//! The rank is exact (counts are exact), so the *rank* error is only what
//! the value error implies. TFDV's KLL-style sketches state a rank error
//! `ε = 0.01` (the returned value's rank is within `ε·n` of `q·n`) and no
//! value bound; a relative value error is the stronger guarantee wherever
//! values are not packed closer than `α·|x|`, and it never lets a quantile
//! leave the data's range (results are clamped to the exact min/max).
//!
//! Bucket keys use the platform's `f64::ln`; all tier-1 Rust targets give
//! identical results for the values involved in practice, and within one
//! build the keys are a pure function of the value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::statistics::{Histogram, HistogramBucket, HistogramType};

/// Relative value accuracy `α` of the quantile sketch behind `median`, the
/// histograms and the drift tests: every quantile is within `α·|x|` of the
/// exact order statistic.
///
/// ```
/// assert_eq!(mlrig_validate::QUANTILE_RELATIVE_ACCURACY, 0.005);
/// ```
pub const QUANTILE_RELATIVE_ACCURACY: f64 = 0.005;

/// Bucket key reserved for ±∞.
const INFINITY_KEY: i32 = i32::MAX;

/// Number of buckets of the standard and quantiles histograms (as TFDV).
pub(crate) const NUM_HISTOGRAM_BUCKETS: usize = 10;

fn gamma() -> f64 {
    (1.0 + QUANTILE_RELATIVE_ACCURACY) / (1.0 - QUANTILE_RELATIVE_ACCURACY)
}

/// Exactly mergeable log-bucket quantile sketch of non-NaN `f64` values.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct QuantileSketch {
    negative: BTreeMap<i32, u64>,
    zeros: u64,
    positive: BTreeMap<i32, u64>,
}

/// One non-empty sketch bucket, in increasing value order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SketchBucket {
    /// Smallest value the bucket can hold.
    pub(crate) low: f64,
    /// Largest value the bucket can hold.
    pub(crate) high: f64,
    /// The value reported for the bucket (within `α` of every member).
    pub(crate) value: f64,
    /// Number of values in the bucket.
    pub(crate) count: u64,
}

/// Key of a magnitude `m > 0` (finite or infinite).
pub(crate) fn key_of(magnitude: f64) -> i32 {
    if magnitude.is_infinite() {
        return INFINITY_KEY;
    }
    let key = (magnitude.ln() / gamma().ln()).ceil();
    // Finite magnitudes give |key| < 80,000, far inside i32.
    key as i32
}

/// `(low, high, representative)` magnitudes of positive bucket `key`.
pub(crate) fn bounds_of(key: i32) -> (f64, f64, f64) {
    if key == INFINITY_KEY {
        return (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    }
    let ln_gamma = gamma().ln();
    let high = (f64::from(key) * ln_gamma).exp();
    let low = (f64::from(key - 1) * ln_gamma).exp();
    // 2γ^k / (γ + 1), in log space so it does not overflow near f64::MAX.
    let value = (f64::from(key) * ln_gamma + (2.0 / (gamma() + 1.0)).ln()).exp();
    (low, high, value)
}

impl QuantileSketch {
    /// Adds one value; NaN is ignored (callers count it separately).
    pub(crate) fn add(&mut self, x: f64) {
        self.add_count(x, 1);
    }

    fn add_count(&mut self, x: f64, count: u64) {
        if x.is_nan() || count == 0 {
            return;
        }
        if x == 0.0 {
            self.zeros += count;
        } else if x > 0.0 {
            *self.positive.entry(key_of(x)).or_insert(0) += count;
        } else {
            *self.negative.entry(key_of(-x)).or_insert(0) += count;
        }
    }

    /// Adds everything `other` counted (exact: counts add).
    pub(crate) fn merge(&mut self, other: &QuantileSketch) {
        self.zeros += other.zeros;
        for (key, count) in &other.positive {
            *self.positive.entry(*key).or_insert(0) += count;
        }
        for (key, count) in &other.negative {
            *self.negative.entry(*key).or_insert(0) += count;
        }
    }

    /// Number of values added.
    pub(crate) fn count(&self) -> u64 {
        self.zeros + self.positive.values().sum::<u64>() + self.negative.values().sum::<u64>()
    }

    /// The non-empty buckets in increasing value order.
    pub(crate) fn buckets(&self) -> Vec<SketchBucket> {
        let mut out = Vec::with_capacity(self.negative.len() + self.positive.len() + 1);
        for (key, count) in self.negative.iter().rev() {
            let (low, high, value) = bounds_of(*key);
            out.push(SketchBucket {
                low: -high,
                high: -low,
                value: -value,
                count: *count,
            });
        }
        if self.zeros > 0 {
            out.push(SketchBucket {
                low: 0.0,
                high: 0.0,
                value: 0.0,
                count: self.zeros,
            });
        }
        for (key, count) in &self.positive {
            let (low, high, value) = bounds_of(*key);
            out.push(SketchBucket {
                low,
                high,
                value,
                count: *count,
            });
        }
        out
    }

    /// The `q`-quantile (`q` in `[0, 1]`): the representative of the bucket
    /// holding the 0-based order statistic `⌊q·(n−1)⌋`, clamped to
    /// `[min, max]`. `None` when the sketch is empty.
    #[cfg(test)]
    pub(crate) fn quantile(&self, q: f64, min: f64, max: f64) -> Option<f64> {
        quantile_of_buckets(&self.buckets(), q, min, max)
    }

    /// Median, standard (equal-width) histogram and quantiles histogram.
    /// `min`/`max` are the exact extremes; `num_nan` goes on both histograms;
    /// `integer_valued` snaps bucket values to integers (see [`snap_to_integers`]).
    pub(crate) fn summaries(
        &self,
        min: f64,
        max: f64,
        num_nan: u64,
        integer_valued: bool,
    ) -> SketchSummaries {
        let mut buckets = self.buckets();
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

    /// The sketch as a tfmd histogram (one bucket per sketch bucket, bounds
    /// as in [`SketchBucket`]), the form carried in statistics files.
    pub(crate) fn to_histogram(&self) -> Histogram {
        Histogram {
            buckets: self
                .buckets()
                .into_iter()
                .map(|b| HistogramBucket {
                    low_value: b.low,
                    high_value: b.high,
                    sample_count: b.count as f64,
                })
                .collect(),
            name: crate::statistics::VALUE_SKETCH.to_string(),
            ..Histogram::default()
        }
    }
}

/// Median and histograms derived from a sketch.
pub(crate) struct SketchSummaries {
    pub(crate) median: f64,
    pub(crate) histograms: Vec<Histogram>,
}

/// Quantile over buckets in increasing order (see [`QuantileSketch::quantile`]).
pub(crate) fn quantile_of_buckets(
    buckets: &[SketchBucket],
    q: f64,
    min: f64,
    max: f64,
) -> Option<f64> {
    let total: u64 = buckets.iter().map(|b| b.count).sum();
    if total == 0 {
        return None;
    }
    let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
    let rank = (q * (total - 1) as f64).floor() as u64;
    let mut seen = 0u64;
    for bucket in buckets {
        seen += bucket.count;
        if seen > rank {
            return Some(bucket.value.clamp(min, max.max(min)));
        }
    }
    buckets.last().map(|b| b.value.clamp(min, max.max(min)))
}

/// Ten equal-width buckets on `[min, max]`; every sketch bucket's count goes
/// to the bucket holding its representative value (clamped to `[min, max]`),
/// so a value may land in a neighbouring bucket only when it lies within
/// `α·|x|` of a boundary. One bucket `[min, max]` when `min == max` or the
/// range is not finite.
fn standard_histogram(buckets: &[SketchBucket], min: f64, max: f64, num_nan: u64) -> Histogram {
    let total: u64 = buckets.iter().map(|b| b.count).sum();
    let width = (max - min) / NUM_HISTOGRAM_BUCKETS as f64;
    let mut out = Histogram {
        num_nan,
        ..Histogram::default()
    };
    if !(width.is_finite() && width > 0.0) {
        out.buckets.push(HistogramBucket {
            low_value: min,
            high_value: max,
            sample_count: total as f64,
        });
        return out;
    }
    let mut counts = [0u64; NUM_HISTOGRAM_BUCKETS];
    for bucket in buckets {
        let v = bucket.value.clamp(min, max);
        let index = (((v - min) / width).floor() as usize).min(NUM_HISTOGRAM_BUCKETS - 1);
        counts[index] += bucket.count;
    }
    out.buckets = counts
        .iter()
        .enumerate()
        .map(|(i, count)| HistogramBucket {
            low_value: if i == 0 { min } else { min + width * i as f64 },
            high_value: if i + 1 == NUM_HISTOGRAM_BUCKETS {
                max
            } else {
                min + width * (i + 1) as f64
            },
            sample_count: *count as f64,
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
/// holds only that integer, so its value becomes exact. (Magnitudes below
/// about `1/α` = 200 get one integer per bucket, so small integers such as
/// ages or counts have exact quantiles, histograms and KS statistics.)
pub(crate) fn snap_to_integers(buckets: &mut [SketchBucket]) {
    buckets.iter_mut().for_each(snap_to_integer);
}

/// [`snap_to_integers`] for one bucket.
pub(crate) fn snap_to_integer(bucket: &mut SketchBucket) {
    if !(bucket.low.is_finite() && bucket.high.is_finite()) {
        return;
    }
    let (first, last) = (bucket.low.ceil(), bucket.high.floor());
    if first == last {
        bucket.value = first;
    }
}

/// Reads sketch buckets back from [`QuantileSketch::to_histogram`]'s form:
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
            let scale = 2.0 * gamma() / (gamma() + 1.0);
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
        let s = sketch_of(&values);
        let (min, max) = (values[0], values[values.len() - 1]);
        for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0] {
            let exact = values[(q * (values.len() - 1) as f64).floor() as usize];
            let got = s.quantile(q, min, max).unwrap();
            assert!(
                (got - exact).abs() <= QUANTILE_RELATIVE_ACCURACY * exact.abs() + 1e-12,
                "q={q}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn zeros_infinities_and_nan() {
        let s = sketch_of(&[0.0, -0.0, f64::NAN, f64::INFINITY, -3.0, f64::NEG_INFINITY]);
        assert_eq!(s.count(), 5);
        let values: Vec<f64> = s.buckets().iter().map(|b| b.value).collect();
        assert_eq!(values[0], f64::NEG_INFINITY);
        assert!((values[1] + 3.0).abs() <= 0.015);
        assert_eq!(values[2], 0.0);
        assert_eq!(values[3], f64::INFINITY);
        assert_eq!(s.quantile(0.5, f64::NEG_INFINITY, f64::INFINITY), Some(0.0));
    }

    #[test]
    fn histograms_follow_tfdv_conventions() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        let s = sketch_of(&values);
        let summaries = s.summaries(0.0, 99.0, 2, true);
        // Integers below 200 have a bucket each: exact.
        assert_eq!(summaries.median, 49.0);
        assert_eq!(
            s.summaries(0.0, 99.0, 2, false).median,
            s.buckets()[49].value
        );
        let [standard, quantiles] = summaries.histograms.as_slice() else {
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

        let single = sketch_of(&[5.0, 5.0]).summaries(5.0, 5.0, 0, true);
        assert_eq!(single.histograms[0].buckets.len(), 1);
        assert_eq!(single.histograms[0].buckets[0].sample_count, 2.0);
    }

    #[test]
    fn histogram_form_round_trips_bucket_values() {
        let s = sketch_of(&[-7.5, 0.0, 1.0, 2.0, 2.0, 1e300, f64::INFINITY]);
        let back = buckets_from_histogram(&s.to_histogram());
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
        fn merge_of_parts_equals_single_pass_bit_for_bit(
            values in proptest::collection::vec(
                prop_oneof![any::<f64>(), -1e6f64..1e6, Just(0.0), Just(-0.0)], 0..200),
            cut in 0usize..200,
            reverse in any::<bool>(),
        ) {
            let whole = sketch_of(&values);
            let cut = cut.min(values.len());
            let (a, b) = values.split_at(cut);
            let (mut first, second) = if reverse { (sketch_of(b), sketch_of(a)) } else { (sketch_of(a), sketch_of(b)) };
            first.merge(&second);
            prop_assert_eq!(&first, &whole);
            let json = serde_json::to_string(&whole).unwrap();
            let back: QuantileSketch = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &whole);
            // Every value lies within its bucket, and the representative within α.
            for bucket in whole.buckets() {
                prop_assert!(bucket.low <= bucket.value && bucket.value <= bucket.high);
            }
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            if let (Some(min), Some(max)) = (
                finite.iter().copied().reduce(f64::min),
                finite.iter().copied().reduce(f64::max),
            ) {
                let s = sketch_of(&finite);
                let mut sorted = finite.clone();
                sorted.sort_by(f64::total_cmp);
                let exact = sorted[(sorted.len() - 1) / 2];
                let got = s.quantile(0.5, min, max).unwrap();
                if exact == 0.0 || exact.abs() >= 1e-300 {
                    prop_assert!((got - exact).abs() <= QUANTILE_RELATIVE_ACCURACY * exact.abs() * (1.0 + 1e-9));
                }
            }
        }
    }
}
