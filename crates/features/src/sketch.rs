//! [`QuantileSketch`]: a DDSketch-style log-bucket quantile sketch whose merge
//! is exact (bucket counts are added), so any split of the data and any merge
//! order give the same sketch, bit for bit.
//!
//! A positive value `x` falls in bucket `i = ⌈ln x / ln γ⌉` with
//! `γ = (1 + α) / (1 − α)`; negative values use the same index of `|x|` in a
//! second map, and zeros are counted apart. A bucket is represented by
//! `2γⁱ / (γ + 1)`, which is within relative error `α` of every value in it.
//!
//! **Exact for few distinct values.** Next to the buckets the sketch keeps
//! exact value counts while the column has at most [`EXACT_DISTINCT_LIMIT`]
//! (1,024) distinct values, and then its quantiles are numpy's exactly. Whether
//! the counts are kept depends only on the number of distinct values in all
//! the data, so this too is independent of the split and merge order.
//!
//! **Error bound.** Otherwise, with `α = 0.001`, [`QuantileSketch::quantile`] returns
//! numpy's `"linear"` percentile (the interpolation between the order
//! statistics `x₍⌊r⌋₎` and `x₍⌈r⌉₎`, `r = q·(n − 1)`) computed from the bucket
//! representatives, so it is within `α · max(|x₍⌊r⌋₎|, |x₍⌈r⌉₎|)` of the exact
//! value (plus float rounding of `ln`/`exp`, about 1e-12 relative). The size
//! is bounded by the value range, not the row count: about
//! `ln(max / min) / ln γ ≈ 500 · ln(max / min)` buckets per sign.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyzer::{OrderedF64, count_pairs};

/// The relative-value error bound `α` of every [`QuantileSketch`].
pub(crate) const SKETCH_RELATIVE_ERROR: f64 = 0.001;

/// Up to this many distinct values, quantiles are exact.
pub(crate) const EXACT_DISTINCT_LIMIT: usize = 1024;

fn gamma() -> f64 {
    (1.0 + SKETCH_RELATIVE_ERROR) / (1.0 - SKETCH_RELATIVE_ERROR)
}

/// The bucket of a positive, finite value.
fn bucket(magnitude: f64) -> i32 {
    // |ln x| ≤ 745 for every positive finite f64, so the index fits an i32.
    (magnitude.ln() / gamma().ln()).ceil() as i32
}

/// The representative of a bucket: within relative `α` of its values.
fn representative(index: i32) -> f64 {
    let g = gamma();
    // In log space, so buckets next to f64::MAX do not overflow.
    (f64::from(index) * g.ln() + (2.0 / (g + 1.0)).ln())
        .exp()
        .min(f64::MAX)
}

/// A mergeable quantile sketch with relative-value error
/// [`SKETCH_RELATIVE_ERROR`]; see the module docs for the bound.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct QuantileSketch {
    /// Bucket counts of the negative values, by the index of `|x|`.
    negative: BTreeMap<i32, u64>,
    /// Count of zeros (`-0.0` included).
    zeros: u64,
    /// Bucket counts of the positive values.
    positive: BTreeMap<i32, u64>,
    /// Exact value counts, while there are at most
    /// [`EXACT_DISTINCT_LIMIT`] distinct values.
    #[serde(with = "count_pairs")]
    exact: BTreeMap<OrderedF64, u64>,
    /// More than [`EXACT_DISTINCT_LIMIT`] distinct values were seen;
    /// `exact` is then empty.
    overflowed: bool,
}

impl QuantileSketch {
    /// Adds `times` copies of the finite value `value`.
    pub(crate) fn add_count(&mut self, value: f64, times: u64) {
        if times == 0 || !value.is_finite() {
            return;
        }
        if !self.overflowed {
            *self.exact.entry(OrderedF64::new(value)).or_insert(0) += times;
            self.check_overflow();
        }
        if value == 0.0 {
            self.zeros += times;
        } else if value > 0.0 {
            *self.positive.entry(bucket(value)).or_insert(0) += times;
        } else {
            *self.negative.entry(bucket(-value)).or_insert(0) += times;
        }
    }

    /// Adds one finite value.
    pub(crate) fn add(&mut self, value: f64) {
        self.add_count(value, 1);
    }

    fn check_overflow(&mut self) {
        if self.exact.len() > EXACT_DISTINCT_LIMIT {
            self.overflowed = true;
            self.exact.clear();
        }
    }

    /// Adds every count of `other`.
    pub(crate) fn merge(&mut self, other: &QuantileSketch) {
        if other.overflowed {
            self.overflowed = true;
            self.exact.clear();
        } else if !self.overflowed {
            for (value, count) in &other.exact {
                *self.exact.entry(*value).or_insert(0) += count;
            }
            self.check_overflow();
        }
        self.zeros += other.zeros;
        for (index, count) in &other.negative {
            *self.negative.entry(*index).or_insert(0) += count;
        }
        for (index, count) in &other.positive {
            *self.positive.entry(*index).or_insert(0) += count;
        }
    }

    /// Number of values added.
    pub(crate) fn count(&self) -> u64 {
        self.zeros + self.negative.values().sum::<u64>() + self.positive.values().sum::<u64>()
    }

    /// The approximate value of the order statistic of 0-based `rank`
    /// (`rank < count`).
    fn at_rank(&self, rank: u64) -> Option<f64> {
        let mut seen = 0u64;
        if !self.overflowed {
            for (value, count) in &self.exact {
                seen += count;
                if rank < seen {
                    return Some(value.0);
                }
            }
            return None;
        }
        // Most negative first: largest |x| index first.
        for (index, count) in self.negative.iter().rev() {
            seen += count;
            if rank < seen {
                return Some(-representative(*index));
            }
        }
        seen += self.zeros;
        if rank < seen {
            return Some(0.0);
        }
        for (index, count) in &self.positive {
            seen += count;
            if rank < seen {
                return Some(representative(*index));
            }
        }
        None
    }

    /// An empty sketch that keeps buckets only (as after an overflow).
    #[cfg(test)]
    fn buckets_only() -> Self {
        Self {
            overflowed: true,
            ..Self::default()
        }
    }

    /// The `q`-quantile (`0 ≤ q ≤ 1`) with numpy's `"linear"` interpolation
    /// between order statistics; `None` when the sketch is empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * (n - 1) as f64;
        let low = rank.floor();
        let fraction = rank - low;
        let below = self.at_rank(low as u64)?;
        if fraction == 0.0 {
            return Some(below);
        }
        let above = self.at_rank(rank.ceil() as u64)?;
        Some(below + fraction * (above - below))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// numpy's "linear" percentile of sorted values.
    fn exact(sorted: &[f64], q: f64) -> (f64, f64, f64) {
        let rank = q * (sorted.len() - 1) as f64;
        let (lo, hi) = (sorted[rank.floor() as usize], sorted[rank.ceil() as usize]);
        (lo + (rank - rank.floor()) * (hi - lo), lo, hi)
    }

    #[test]
    fn few_distinct_values_are_exact_and_overflow_is_split_independent() {
        let mut s = QuantileSketch::default();
        for v in [40.0, 40.0, 35.0, 50.0, 40.0] {
            s.add(v);
        }
        assert_eq!(s.quantile(0.5), Some(40.0));
        assert_eq!(s.quantile(0.125), Some(37.5));
        let (mut a, mut b, mut whole) = (
            QuantileSketch::default(),
            QuantileSketch::default(),
            QuantileSketch::default(),
        );
        for i in 0..=EXACT_DISTINCT_LIMIT {
            let v = i as f64;
            whole.add(v);
            if i % 2 == 0 { a.add(v) } else { b.add(v) }
        }
        assert!(!a.overflowed && !b.overflowed && whole.overflowed);
        a.merge(&b);
        assert_eq!(a, whole);
    }

    #[test]
    fn representatives_are_within_alpha() {
        for x in [1e-300, 1e-9, 0.1, 1.0, 2.5, 37.0, 1e9, f64::MAX / 2.0] {
            let r = representative(bucket(x));
            assert!(
                (r - x).abs() <= SKETCH_RELATIVE_ERROR * x * (1.0 + 1e-9),
                "{x}: {r}"
            );
        }
    }

    #[test]
    fn quantiles_of_small_sets() {
        let mut s = QuantileSketch::buckets_only();
        assert_eq!(s.quantile(0.5), None);
        for v in [-2.0, 0.0, -0.0, 3.0, 10.0] {
            s.add(v);
        }
        s.add(f64::NAN);
        assert_eq!(s.count(), 5);
        assert_eq!(s.quantile(0.5), Some(0.0));
        let top = s.quantile(1.0).unwrap();
        assert!((top - 10.0).abs() <= 0.01 * 1.0001);
        let bottom = s.quantile(0.0).unwrap();
        assert!((bottom + 2.0).abs() <= 0.002 * 1.0001);
        // Between 0 (rank 2) and 3 (rank 3): 0 + 0.5 · ~3.
        let q = s.quantile(0.625).unwrap();
        assert!((q - 1.5).abs() <= 0.0015 * 1.0001, "{q}");
    }

    proptest! {
        #[test]
        fn quantile_is_within_the_bound(
            values in proptest::collection::vec(prop_oneof![-1e6..1e6f64, (-5i32..5).prop_map(f64::from)], 1..200),
            q in 0.0..=1.0f64,
        ) {
            let mut s = QuantileSketch::buckets_only();
            for v in &values {
                s.add(*v);
            }
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let (want, lo, hi) = exact(&sorted, q);
            let got = s.quantile(q).unwrap();
            let bound = SKETCH_RELATIVE_ERROR * lo.abs().max(hi.abs()) * (1.0 + 1e-9) + 1e-300;
            prop_assert!((got - want).abs() <= bound, "{} vs {} (bound {})", got, want, bound);
        }

        #[test]
        fn merge_is_exact_under_any_split(
            values in proptest::collection::vec(-1e9..1e9f64, 0..100),
            cut in 0usize..100,
        ) {
            let cut = cut.min(values.len());
            let mut whole = QuantileSketch::default();
            values.iter().for_each(|v| whole.add(*v));
            let mut left = QuantileSketch::default();
            values[..cut].iter().for_each(|v| left.add(*v));
            let mut right = QuantileSketch::default();
            values[cut..].iter().for_each(|v| right.add(*v));
            right.merge(&left);
            prop_assert_eq!(&right, &whole);
            let json = serde_json::to_string(&right).unwrap();
            prop_assert_eq!(serde_json::from_str::<QuantileSketch>(&json).unwrap(), whole);
        }
    }
}
