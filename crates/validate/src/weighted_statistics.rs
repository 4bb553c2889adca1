//! Weighted statistics: the state kept per column when
//! [`StatisticsParams::with_weight_feature`](crate::StatisticsParams::with_weight_feature)
//! names a weight column, and the tfmd `weighted*Stats` it finishes to.
//!
//! Every weighted quantity is an [`ExactSum`] of weights (or of weight ×
//! value products, computed exactly with two-product splitting), so the
//! weighted statistics merge bit for bit like the unweighted ones:
//!
//! * presence: total weight of present and missing examples;
//! * numeric: `Σw`, `Σw·x`, `Σw·x²` (mean and population standard deviation
//!   derived at `finish` without cancellation) and a weighted version of the
//!   log-bucket sketch (one exact weight sum per bucket) for the weighted
//!   median and histograms, with the same relative value error `α`;
//! * strings and booleans: an exact weight sum per value, for the values the
//!   distinct counter keeps (so beyond the distinct cap the weighted top
//!   values come from the same deterministic sample).
//!
//! Memory: an `ExactSum` is about 0.5 KiB, so a weighted numeric column costs
//! about 0.5 KiB per non-empty sketch bucket and a weighted string column
//! about 0.5 KiB per kept value (≤ `max_distinct_values`).

use std::collections::BTreeMap;

use mlrig_core::ExactSum;
use serde::{Deserialize, Serialize};

use crate::sketch::{QuantileSketch, SketchBucket, quantiles_histogram_from};
use crate::statistics::{
    FreqAndValue, RankBucket, RankHistogram, WeightedCommonStatistics, WeightedNumericStatistics,
    WeightedStringStatistics,
};

/// Adds `a·b·w` exactly (when no product under- or overflows): `a·b` is
/// split into its rounded value and rounding error, each multiplied by `w`
/// exactly by [`ExactSum::add_product`].
fn add_triple_product(sum: &mut ExactSum, w: f64, a: f64, b: f64) {
    let p = a * b;
    let e = a.mul_add(b, -p);
    sum.add_product(w, p);
    if e != 0.0 {
        sum.add_product(w, e);
    }
}

/// Adds `c · Σ` for an exact sum `Σ` (its value and the value of its
/// remainder; the remainder's own remainder is far below an ulp).
fn add_scaled(target: &mut ExactSum, c: f64, sum: &ExactSum) {
    let value = sum.value();
    let mut remainder = sum.clone();
    remainder.add(-value);
    target.add_product(c, value);
    target.add_product(c, remainder.value());
}

/// Weighted state of one column.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct WeightedColumn {
    present: ExactSum,
    missing: ExactSum,
    numeric: WeightedNumeric,
    categories: BTreeMap<String, ExactSum>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct WeightedNumeric {
    weight: ExactSum,
    sum: ExactSum,
    sum_squares: ExactSum,
    negative: BTreeMap<i32, ExactSum>,
    zeros: ExactSum,
    positive: BTreeMap<i32, ExactSum>,
}

impl WeightedColumn {
    /// A present or missing example of weight `w`.
    pub(crate) fn add_presence(&mut self, present: bool, w: f64) {
        if present {
            self.present.add(w);
        } else {
            self.missing.add(w);
        }
    }

    /// A non-NaN numeric value `x` (exactly `hi + lo` for integers beyond
    /// 2⁵³; pass `lo = 0` otherwise) of weight `w`.
    pub(crate) fn add_number(&mut self, hi: f64, lo: f64, w: f64) {
        let n = &mut self.numeric;
        n.weight.add(w);
        n.sum.add_product(w, hi);
        add_triple_product(&mut n.sum_squares, w, hi, hi);
        if lo != 0.0 {
            n.sum.add_product(w, lo);
            add_triple_product(&mut n.sum_squares, w, 2.0 * hi, lo);
            add_triple_product(&mut n.sum_squares, w, lo, lo);
        }
        let x = hi + lo;
        let buckets = QuantileSketch::log_buckets();
        if x == 0.0 {
            n.zeros.add(w);
        } else if x > 0.0 {
            n.positive.entry(buckets.key(x)).or_default().add(w);
        } else {
            n.negative.entry(buckets.key(-x)).or_default().add(w);
        }
    }

    /// A categorical value of weight `w`.
    pub(crate) fn add_category(&mut self, value: &str, w: f64) {
        match self.categories.get_mut(value) {
            Some(sum) => sum.add(w),
            None => {
                let mut sum = ExactSum::default();
                sum.add(w);
                self.categories.insert(value.to_string(), sum);
            }
        }
    }

    /// Keeps only the categories `keep` accepts (the distinct counter's sample).
    pub(crate) fn retain_categories(&mut self, keep: impl Fn(&str) -> bool) {
        self.categories.retain(|value, _| keep(value));
    }

    /// Adds everything `other` accumulated.
    pub(crate) fn merge(&mut self, other: &WeightedColumn) {
        self.present.merge(&other.present);
        self.missing.merge(&other.missing);
        let (a, b) = (&mut self.numeric, &other.numeric);
        a.weight.merge(&b.weight);
        a.sum.merge(&b.sum);
        a.sum_squares.merge(&b.sum_squares);
        a.zeros.merge(&b.zeros);
        for (key, w) in &b.positive {
            a.positive.entry(*key).or_default().merge(w);
        }
        for (key, w) in &b.negative {
            a.negative.entry(*key).or_default().merge(w);
        }
        for (value, w) in &other.categories {
            self.categories.entry(value.clone()).or_default().merge(w);
        }
    }

    /// tfmd `WeightedCommonStatistics` (scalar columns: one value per present example).
    pub(crate) fn common(&self) -> WeightedCommonStatistics {
        let present = self.present.value();
        WeightedCommonStatistics {
            unmodelled: Default::default(),
            num_non_missing: present,
            num_missing: self.missing.value(),
            avg_num_values: if present > 0.0 { 1.0 } else { 0.0 },
            tot_num_values: present,
        }
    }

    /// tfmd `WeightedNumericStatistics`; histograms use the exact unweighted
    /// `min`/`max` for the `STANDARD` bucket bounds, as the unweighted ones.
    pub(crate) fn numeric(
        &self,
        min: f64,
        max: f64,
        num_nan: u64,
        integer_valued: bool,
    ) -> WeightedNumericStatistics {
        let n = &self.numeric;
        let total = n.weight.value();
        let (mean, std_dev) = if total > 0.0 {
            let mean = n.sum.value() / total;
            if !mean.is_finite() || !n.sum_squares.value().is_finite() {
                (mean, f64::NAN)
            } else {
                // Σw(x − m)² = Σwx² − 2m·Σwx + m²·Σw, in exact arithmetic.
                let mut deviations = n.sum_squares.clone();
                add_scaled(&mut deviations, -2.0 * mean, &n.sum);
                let square = mean * mean;
                add_scaled(&mut deviations, square, &n.weight);
                add_scaled(&mut deviations, mean.mul_add(mean, -square), &n.weight);
                (mean, (deviations.value() / total).max(0.0).sqrt())
            }
        } else {
            (0.0, 0.0)
        };
        let mut buckets = self.weighted_buckets();
        if integer_valued {
            for (bucket, _) in &mut buckets {
                bucket.snap_to_integer();
            }
        }
        let median = weighted_quantile(&buckets, 0.5, min, max).unwrap_or(0.0);
        let histograms = if buckets.is_empty() || total <= 0.0 {
            Vec::new()
        } else {
            vec![
                crate::sketch::standard_histogram_from(
                    buckets.iter().map(|(b, w)| (b.value, *w)),
                    min,
                    max,
                    num_nan,
                ),
                quantiles_histogram_from(
                    |q| weighted_quantile(&buckets, q, min, max),
                    min,
                    max,
                    num_nan,
                    total,
                ),
            ]
        };
        WeightedNumericStatistics {
            unmodelled: Default::default(),
            mean,
            std_dev,
            median,
            histograms,
        }
    }

    /// The weighted sketch buckets in increasing value order (the
    /// `SketchBucket` count is unused; the weight goes alongside).
    fn weighted_buckets(&self) -> Vec<(SketchBucket, f64)> {
        let n = &self.numeric;
        let buckets = QuantileSketch::log_buckets();
        let mut out = Vec::with_capacity(n.negative.len() + n.positive.len() + 1);
        out.extend(
            n.negative
                .iter()
                .rev()
                .map(|(key, w)| (buckets.bucket(*key, 0).negated(), w.value())),
        );
        let zeros = n.zeros.value();
        if zeros != 0.0 {
            let zero = SketchBucket {
                low: 0.0,
                high: 0.0,
                value: 0.0,
                count: 0,
            };
            out.push((zero, zeros));
        }
        out.extend(
            n.positive
                .iter()
                .map(|(key, w)| (buckets.bucket(*key, 0), w.value())),
        );
        out
    }

    /// tfmd `WeightedStringStatistics` over the kept values.
    pub(crate) fn strings(
        &self,
        num_top_values: usize,
        num_rank_buckets: usize,
    ) -> WeightedStringStatistics {
        let mut entries: Vec<(&str, f64)> = self
            .categories
            .iter()
            .map(|(value, w)| (value.as_str(), w.value()))
            .collect();
        entries.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let top_values = entries
            .iter()
            .take(num_top_values)
            .map(|(value, w)| FreqAndValue {
                unmodelled: Default::default(),
                value: (*value).to_string(),
                frequency: *w,
            })
            .collect();
        let buckets: Vec<RankBucket> = entries
            .iter()
            .take(num_rank_buckets)
            .enumerate()
            .map(|(rank, (value, w))| RankBucket {
                unmodelled: Default::default(),
                low_rank: rank as u64,
                high_rank: rank as u64,
                label: (*value).to_string(),
                sample_count: *w,
            })
            .collect();
        WeightedStringStatistics {
            unmodelled: Default::default(),
            top_values,
            rank_histogram: (!buckets.is_empty()).then(|| RankHistogram {
                unmodelled: Default::default(),
                buckets,
                name: String::new(),
            }),
        }
    }
}

/// The smallest bucket value whose cumulative weight reaches `q` of the total.
fn weighted_quantile(buckets: &[(SketchBucket, f64)], q: f64, min: f64, max: f64) -> Option<f64> {
    let total: f64 = buckets.iter().map(|(_, w)| w).sum();
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let target = q.clamp(0.0, 1.0) * total;
    let mut seen = 0.0;
    for (bucket, w) in buckets {
        seen += w;
        if *w > 0.0 && seen >= target {
            return Some(bucket.value.clamp(min, max.max(min)));
        }
    }
    buckets
        .iter()
        .rev()
        .find(|(_, w)| *w > 0.0)
        .map(|(b, _)| b.value.clamp(min, max.max(min)))
}
