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
//! Bucket keys are `⌈ln x / ln γ⌉` as evaluated with the platform's
//! `f64::ln`; all tier-1 Rust targets give identical results for the values
//! involved in practice, and within one build the keys are a pure function
//! of the value. For speed the key is computed with a table-driven
//! logarithm that defers to `f64::ln` wherever the two could disagree (see
//! `key_of`), so it is always the definition's key; values are counted per
//! batch (`SketchBatch`), one map update per distinct key.

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

/// Key of a magnitude `m > 0` (finite or infinite): `⌈ln m / ln γ⌉`, the
/// definition, evaluated with the platform's `f64::ln`.
fn key_by_ln(magnitude: f64) -> i32 {
    if magnitude.is_infinite() {
        return INFINITY_KEY;
    }
    let key = (magnitude.ln() / gamma().ln()).ceil();
    // Finite magnitudes give |key| < 80,000, far inside i32.
    key as i32
}

/// Tables of the fast logarithm in [`key_of`].
struct FastLn {
    /// For `j` in `0..256`: `(1/c, ln c)`, `c` (the `f64` nearest to) the
    /// centre of `[1 + j/256, 1 + (j+1)/256)`.
    table: [(f64, f64); 256],
    /// `1 / ln γ`.
    inv_ln_gamma: f64,
}

static FAST_LN: std::sync::LazyLock<FastLn> = std::sync::LazyLock::new(|| {
    let mut table = [(0.0, 0.0); 256];
    for (j, entry) in table.iter_mut().enumerate() {
        let inverse = 1.0 / (1.0 + (j as f64 + 0.5) / 256.0);
        // ln(1/inverse), to match the inverse actually used.
        *entry = (inverse, -inverse.ln());
    }
    FastLn {
        table,
        inv_ln_gamma: 1.0 / gamma().ln(),
    }
});

/// Half-width of the band around an integer in which [`key_of`] falls back
/// to [`key_by_ln`]. The fast logarithm is within `2·10⁻¹³` of `ln m`
/// (`e·ln 2` and the final additions round at `|ln m| ≤ 745`; the table,
/// the series on `|r| ≤ 2⁻⁹`, whose first omitted term is `< 10⁻¹⁷`, and the
/// product `m·(1/c)` add `< 10⁻¹⁵`), and the definition's `ln` is within one
/// ulp (`≈ 1.1·10⁻¹³`). In key units (`× 1/ln γ ≈ 100`, `|key| < 75,000`,
/// whose own rounding is `< 1.5·10⁻¹¹`) each evaluation is within `4·10⁻¹¹`
/// of the exact value, so a band of `10⁻⁷` leaves a margin of over 1,000×:
/// outside it both evaluations have the same ceiling.
const KEY_FALLBACK_BAND: f64 = 1e-7;

/// Key of a magnitude `m > 0` (finite or infinite): `⌈ln m / ln γ⌉`.
///
/// Bit for bit the same result as the definition ([`key_by_ln`]), but
/// without a libm call per value: `ln m = e·ln 2 + ln c + ln(m/c)` with `c`
/// from a 256-entry table and a short series for `ln(m/c)`. Whenever the
/// scaled logarithm is within [`KEY_FALLBACK_BAND`] of an integer (where the
/// two evaluations could round to different sides) the definition itself
/// decides, so the key never depends on which path computed it. Subnormal,
/// infinite and non-positive inputs take the definition too.
#[inline(always)]
pub(crate) fn key_of(magnitude: f64) -> i32 {
    let bits = magnitude.to_bits();
    let biased_exponent = (bits >> 52) as i32;
    // Sign bit set (so biased_exponent > 0x7ff), zero/subnormal or ∞/NaN.
    if biased_exponent == 0 || biased_exponent >= 0x7ff {
        return key_by_ln(magnitude);
    }
    let fast = &*FAST_LN;
    let (inverse, ln_centre) = fast.table[((bits >> 44) & 0xff) as usize];
    let mantissa = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    let r = mantissa * inverse - 1.0;
    // ln(1 + r) for |r| ≤ 2⁻⁹: the series' first omitted term is < 10⁻¹⁷.
    let ln_1p = r * (1.0 + r * (-0.5 + r * (1.0 / 3.0 + r * (-0.25 + r * 0.2))));
    let ln = f64::from(biased_exponent - 1023) * std::f64::consts::LN_2 + (ln_centre + ln_1p);
    let scaled = ln * fast.inv_ln_gamma;
    // |scaled| < 80,000: the truncating cast is exact, and floor follows.
    let truncated = scaled as i32;
    let floor = if f64::from(truncated) > scaled {
        truncated - 1
    } else {
        truncated
    };
    let fraction = scaled - f64::from(floor);
    if !(KEY_FALLBACK_BAND..=1.0 - KEY_FALLBACK_BAND).contains(&fraction) {
        return key_by_ln(magnitude);
    }
    floor + 1
}

/// Keys of the integers `1..SMALL_INTEGER_KEYS` (index = integer), for
/// integer columns.
const SMALL_INTEGER_KEYS: usize = 1 << 16;

static SMALL_INTEGER_KEY_TABLE: std::sync::LazyLock<Vec<i32>> = std::sync::LazyLock::new(|| {
    (0..SMALL_INTEGER_KEYS)
        .map(|i| if i == 0 { 0 } else { key_of(i as f64) })
        .collect()
});

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

/// Sketch input gathered over one batch: the keys of the values, counted
/// into the sketch's maps at once by [`QuantileSketch::absorb`] (one map
/// operation per distinct key instead of one per value).
#[derive(Debug, Default)]
pub(crate) struct SketchBatch {
    /// Keys of the magnitudes of positive (`[0]`) and negative (`[1]`)
    /// finite values. Indexed by the sign bit, so random signs cost no
    /// mispredicted branches.
    keys: [Vec<i32>; 2],
    zeros: u64,
    /// Positive (`[0]`) and negative (`[1]`) infinities.
    infinities: [u64; 2],
}

impl SketchBatch {
    /// An empty batch with room for `values` values.
    pub(crate) fn with_capacity(values: usize) -> Self {
        Self {
            keys: [Vec::with_capacity(values), Vec::with_capacity(values)],
            ..Self::default()
        }
    }

    /// Adds one value; NaN is ignored (callers count it separately).
    #[inline]
    pub(crate) fn push(&mut self, x: f64) {
        let magnitude = x.abs();
        let sign = usize::from(x.is_sign_negative());
        if magnitude == 0.0 {
            self.zeros += 1;
        } else if magnitude == f64::INFINITY {
            self.infinities[sign] += 1;
        } else if !x.is_nan() {
            self.keys[sign].push(key_of(magnitude));
        }
    }

    /// Adds one integer (the same key as `push(x as f64)`, from a table for
    /// small magnitudes).
    #[inline]
    pub(crate) fn push_int(&mut self, x: i64) {
        let magnitude = x.unsigned_abs();
        if magnitude == 0 {
            self.zeros += 1;
            return;
        }
        let key = match SMALL_INTEGER_KEY_TABLE.get(magnitude as usize) {
            Some(key) => *key,
            // Rounds like `x as f64` (to nearest is symmetric in sign).
            None => key_of(magnitude as f64),
        };
        self.keys[usize::from(x < 0)].push(key);
    }
}

/// Counts `keys` (emptied) into `map`, one map operation per distinct key.
fn count_keys(map: &mut BTreeMap<i32, u64>, keys: &mut Vec<i32>) {
    let (Some(&min), Some(&max)) = (keys.iter().min(), keys.iter().max()) else {
        return;
    };
    let span = (i64::from(max) - i64::from(min)) as usize + 1;
    // Dense counting when the keys are close together (u32 counts suffice).
    if span <= 4 * keys.len() + 1024 && u32::try_from(keys.len()).is_ok() {
        let mut counts = vec![0u32; span];
        for key in keys.iter() {
            counts[(key - min) as usize] += 1;
        }
        for (offset, count) in counts.into_iter().enumerate() {
            if count > 0 {
                *map.entry(min + offset as i32).or_insert(0) += u64::from(count);
            }
        }
    } else {
        keys.sort_unstable();
        for run in keys.chunk_by(|a, b| a == b) {
            *map.entry(run[0]).or_insert(0) += run.len() as u64;
        }
    }
    keys.clear();
}

impl QuantileSketch {
    /// Adds one value; NaN is ignored (callers count it separately).
    #[cfg(test)]
    pub(crate) fn add(&mut self, x: f64) {
        let mut batch = SketchBatch::default();
        batch.push(x);
        self.absorb(&mut batch);
    }

    /// Adds everything `batch` gathered and empties it (keeping its
    /// buffers). The same state as adding each value with `add`.
    pub(crate) fn absorb(&mut self, batch: &mut SketchBatch) {
        self.zeros += std::mem::take(&mut batch.zeros);
        let [positive_keys, negative_keys] = &mut batch.keys;
        count_keys(&mut self.positive, positive_keys);
        count_keys(&mut self.negative, negative_keys);
        let [positive_infinities, negative_infinities] = std::mem::take(&mut batch.infinities);
        for (map, count) in [
            (&mut self.positive, positive_infinities),
            (&mut self.negative, negative_infinities),
        ] {
            if count > 0 {
                *map.entry(INFINITY_KEY).or_insert(0) += count;
            }
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
    fn fast_keys_equal_the_definition() {
        let gamma = gamma();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        // Random bit patterns (every magnitude), random decimals, and the
        // neighbours of bucket boundaries γ^k, where the fallback decides.
        for _ in 0..300_000 {
            let bits = next() >> 1;
            let x = f64::from_bits(bits);
            if x.is_finite() && x > 0.0 {
                assert_eq!(key_of(x), key_by_ln(x), "{x:e}");
                checked += 1;
            }
            let decimal = (next() >> 11) as f64 / 1e6;
            if decimal > 0.0 {
                assert_eq!(key_of(decimal), key_by_ln(decimal), "{decimal}");
            }
        }
        for k in -2_000..2_000 {
            let boundary = gamma.powi(k);
            let mut x = f64::from_bits(boundary.to_bits() - 4);
            for _ in 0..9 {
                assert_eq!(key_of(x), key_by_ln(x), "{x:e} near γ^{k}");
                x = f64::from_bits(x.to_bits() + 1);
            }
        }
        for i in 1..SMALL_INTEGER_KEYS {
            assert_eq!(SMALL_INTEGER_KEY_TABLE[i], key_by_ln(i as f64));
        }
        assert!(checked > 250_000);
        assert_eq!(key_of(f64::INFINITY), INFINITY_KEY);
        assert_eq!(key_of(5e-324), key_by_ln(5e-324));
    }

    #[test]
    fn batched_keys_equal_per_value_keys() {
        let mut values: Vec<f64> = (0..5_000)
            .map(|i| (f64::from(i) - 2_500.0) * 0.731)
            .collect();
        values.extend([
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            1e300,
            -1e-300,
            f64::NAN,
        ]);
        let mut batch = SketchBatch::default();
        let mut expected = QuantileSketch::default();
        for v in &values {
            batch.push(*v);
            if v.is_nan() {
                continue;
            }
            let map = if *v > 0.0 {
                &mut expected.positive
            } else if *v < 0.0 {
                &mut expected.negative
            } else {
                expected.zeros += 1;
                continue;
            };
            *map.entry(key_by_ln(v.abs())).or_insert(0) += 1;
        }
        let mut sketch = QuantileSketch::default();
        sketch.absorb(&mut batch);
        assert_eq!(sketch, expected);
        // Spread-out keys take the sorting path.
        let spread = [1e-300, 1e300, 3.0, 1e-300, -1e200, -1e-200, -1e200];
        let mut batch = SketchBatch::default();
        let mut ints = SketchBatch::default();
        for v in spread {
            batch.push(v);
        }
        for i in [-70_000i64, -3, 0, 5, 65_535, 65_536, i64::MAX, i64::MIN] {
            ints.push_int(i);
            batch.push(i as f64);
        }
        let (mut a, mut b) = (QuantileSketch::default(), QuantileSketch::default());
        a.absorb(&mut batch);
        b.absorb(&mut ints);
        for v in spread {
            b.add(v);
        }
        assert_eq!(a, b);
        assert_eq!(a.count(), 15);
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
