//! [`QuantileSketch`]: the sketch itself — adding values, merging,
//! listing buckets and answering quantiles.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use super::batch::{SketchBatch, count_keys};
use super::bucket::SketchBucket;
use super::key_mapping::LogBuckets;
use super::{INFINITY_KEY, SketchParams};
use crate::OrderedF64;

/// Adds `count` to `map[key]` (saturating).
pub(super) fn add_count<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, count: u64) {
    let entry = map.entry(key).or_insert(0);
    *entry = entry.saturating_add(count);
}

/// The sum of the counts of `map` (saturating).
fn total(map: &BTreeMap<i32, u64>) -> u64 {
    map.values().fold(0u64, |sum, c| sum.saturating_add(*c))
}

/// An exactly mergeable quantile sketch of `f64` values with the relative
/// accuracy and exact mode of `P`. NaN is ignored; `±∞` are counted.
///
/// # How values are kept
///
/// With `γ = (1 + α) / (1 − α)`, every non-NaN value `x` goes to a
/// logarithmic bucket: `0` and `-0` to a zero counter, `x > 0` to bucket
/// `k = ⌈log_γ x⌉` of the positive map, `x < 0` to bucket `⌈log_γ |x|⌉`
/// of the negative map, and `±∞` to a reserved key of either map. Bucket `k`
/// covers `(γ^(k−1), γ^k]`; its representative `2γ^k / (γ + 1)` (at most
/// `f64::MAX`) is within relative error `α` of every value in it.
///
/// Optionally ([`SketchParams::EXACT_DISTINCT_LIMIT`] `> 0`) the sketch also
/// keeps exact value counts while the data has at most that many distinct
/// values, all finite; quantiles are then the exact order statistics.
/// Whether the exact counts survive depends only on the distinct values of
/// all the data, so it too is independent of how the data was split.
///
/// The state is integer count maps, so merging adds counts: **the same bits
/// whatever the split of the data or the merge order**. Buckets are never
/// collapsed (that would depend on order); instead their number is bounded by
/// the `f64` exponent range: about `ln(max / min) / ln γ ≈ ln(max / min) / (2α)`
/// buckets per sign, a few thousand for data spanning a few decades.
///
/// # The error bound
///
/// [`QuantileSketch::quantile`] returns the 0-based order statistic
/// `x₍⌊q·(n−1)⌋₎` exactly in exact mode; otherwise it returns the
/// representative `x̂` of the bucket holding it, with
///
/// ```text
/// |x̂ − x| ≤ α·|x| · (1 + 10⁻⁹) + 2⁻¹⁰⁷⁴
/// ```
///
/// (the `10⁻⁹` covers the rounding of `ln` and `exp`, about `10⁻¹²` in
/// practice; the `2⁻¹⁰⁷⁴` the spacing of subnormal numbers; `±∞` and `0` are
/// returned exactly). Ranks are exact (counts are exact), so the rank error is
/// only what the value error implies. [`QuantileSketch::quantile_interpolated`]
/// interpolates between the order statistics `x₍⌊r⌋₎` and `x₍⌈r⌉₎`,
/// `r = q·(n − 1)`, as numpy's default `"linear"` percentile, and is within
/// `α · max(|x₍⌊r⌋₎|, |x₍⌈r⌉₎|)` (same slack) of numpy's exact result.
///
/// # Keys, fast
///
/// Bucket keys are `⌈log_γ m⌉` of the real numbers, exactly, so they are
/// the same on every platform and in every release (golden vectors in
/// `tests/fixtures/sketch_keys.json` pin them). For speed,
/// [`LogBuckets::key`] uses a table-driven logarithm that defers to an exact
/// comparison with `γᵏ` wherever a rounded logarithm could be on the wrong
/// side of a bucket edge; [`SketchBatch`] gathers a batch's keys and counts them
/// into the maps at once (one map update per distinct key), with a table of
/// keys for small integers.
///
/// # Example
///
/// ```
/// use mlrig_core::{QuantileSketch, SketchParams};
/// struct HalfPercent;
/// impl SketchParams for HalfPercent { const RELATIVE_ACCURACY: f64 = 0.005; }
///
/// let (mut a, mut b) = (QuantileSketch::<HalfPercent>::default(), QuantileSketch::default());
/// for i in 1..=1000 { a.add(f64::from(i)); }
/// for i in 1001..=2000 { b.add(f64::from(i)); }
/// a.merge(&b);
/// assert_eq!(a.count(), 2000);
/// let median = a.quantile(0.5).unwrap(); // exact order statistic: 1000
/// assert!((median - 1000.0).abs() <= 0.005 * 1000.0);
/// ```
pub struct QuantileSketch<P: SketchParams> {
    /// Bucket counts of the negative values, by the key of `|x|`.
    pub(super) negative: BTreeMap<i32, u64>,
    /// Count of zeros (`-0.0` included).
    pub(super) zeros: u64,
    /// Bucket counts of the positive values.
    pub(super) positive: BTreeMap<i32, u64>,
    /// Exact value counts while there are at most
    /// `P::EXACT_DISTINCT_LIMIT` distinct values (always empty when the
    /// limit is 0).
    pub(super) exact: BTreeMap<OrderedF64, u64>,
    /// More than `P::EXACT_DISTINCT_LIMIT > 0` distinct values were seen;
    /// `exact` is then empty.
    pub(super) overflowed: bool,
    pub(super) params: PhantomData<fn() -> P>,
}

impl<P: SketchParams> Default for QuantileSketch<P> {
    fn default() -> Self {
        Self {
            negative: BTreeMap::new(),
            zeros: 0,
            positive: BTreeMap::new(),
            exact: BTreeMap::new(),
            overflowed: false,
            params: PhantomData,
        }
    }
}

impl<P: SketchParams> Clone for QuantileSketch<P> {
    fn clone(&self) -> Self {
        Self {
            negative: self.negative.clone(),
            zeros: self.zeros,
            positive: self.positive.clone(),
            exact: self.exact.clone(),
            overflowed: self.overflowed,
            params: PhantomData,
        }
    }
}

impl<P: SketchParams> PartialEq for QuantileSketch<P> {
    fn eq(&self, other: &Self) -> bool {
        self.zeros == other.zeros
            && self.overflowed == other.overflowed
            && self.positive == other.positive
            && self.negative == other.negative
            && self.exact == other.exact
    }
}

impl<P: SketchParams> fmt::Debug for QuantileSketch<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("QuantileSketch");
        s.field("relative_accuracy", &P::RELATIVE_ACCURACY)
            .field("negative", &self.negative)
            .field("zeros", &self.zeros)
            .field("positive", &self.positive);
        if P::EXACT_DISTINCT_LIMIT > 0 {
            s.field("exact", &self.exact)
                .field("overflowed", &self.overflowed);
        }
        s.finish()
    }
}

impl<P: SketchParams> QuantileSketch<P> {
    /// An empty sketch (the same as `default()`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The bucket mapping of `P`.
    pub fn log_buckets() -> &'static LogBuckets {
        LogBuckets::of::<P>()
    }

    /// Whether quantiles are currently exact: `P` keeps exact counts and the
    /// data has had at most `P::EXACT_DISTINCT_LIMIT` distinct values, all
    /// finite.
    pub fn is_exact(&self) -> bool {
        P::EXACT_DISTINCT_LIMIT > 0 && !self.overflowed
    }

    /// Adds one value; NaN is ignored.
    pub fn add(&mut self, x: f64) {
        self.add_count(x, 1);
    }

    /// Adds `times` copies of `x`; NaN is ignored.
    pub fn add_count(&mut self, x: f64, times: u64) {
        if times == 0 || x.is_nan() {
            return;
        }
        if self.is_exact() {
            add_count(&mut self.exact, OrderedF64::new(x), times);
            self.check_overflow(x.is_infinite());
        }
        let magnitude = x.abs();
        if magnitude == 0.0 {
            self.zeros = self.zeros.saturating_add(times);
            return;
        }
        let key = Self::log_buckets().key(magnitude);
        let map = if x.is_sign_negative() {
            &mut self.negative
        } else {
            &mut self.positive
        };
        add_count(map, key, times);
    }

    /// Ends exact mode when the limit is exceeded or `infinite` (exact
    /// counts hold finite values only, so that they serialize as JSON).
    pub(super) fn check_overflow(&mut self, infinite: bool) {
        if infinite || self.exact.len() > P::EXACT_DISTINCT_LIMIT {
            self.overflowed = true;
            self.exact.clear();
        }
    }

    /// Adds everything `batch` gathered and empties it (keeping its
    /// buffers). The same state as adding each value with [`add`](Self::add).
    pub fn absorb(&mut self, batch: &mut SketchBatch<P>) {
        self.zeros = self.zeros.saturating_add(std::mem::take(&mut batch.zeros));
        let [positive_keys, negative_keys] = &mut batch.keys;
        count_keys(&mut self.positive, positive_keys);
        count_keys(&mut self.negative, negative_keys);
        let [positive_infinities, negative_infinities] = std::mem::take(&mut batch.infinities);
        if positive_infinities > 0 {
            add_count(&mut self.positive, INFINITY_KEY, positive_infinities);
        }
        if negative_infinities > 0 {
            add_count(&mut self.negative, INFINITY_KEY, negative_infinities);
        }
        if self.is_exact() {
            batch.values.sort_unstable_by(f64::total_cmp);
            let infinite = batch.values.first().is_some_and(|v| v.is_infinite())
                || batch.values.last().is_some_and(|v| v.is_infinite());
            if !infinite {
                for run in batch.values.chunk_by(|a, b| a == b) {
                    add_count(&mut self.exact, OrderedF64::new(run[0]), run.len() as u64);
                    if self.exact.len() > P::EXACT_DISTINCT_LIMIT {
                        break;
                    }
                }
            }
            self.check_overflow(infinite);
        }
        batch.values.clear();
    }

    /// Adds everything `other` counted: counts add, so the result does not
    /// depend on how the data was split or in which order parts merge.
    pub fn merge(&mut self, other: &QuantileSketch<P>) {
        if other.overflowed {
            self.overflowed = true;
            self.exact.clear();
        } else if self.is_exact() {
            for (value, count) in &other.exact {
                add_count(&mut self.exact, *value, *count);
            }
            self.check_overflow(false);
        }
        self.zeros = self.zeros.saturating_add(other.zeros);
        for (key, count) in &other.positive {
            add_count(&mut self.positive, *key, *count);
        }
        for (key, count) in &other.negative {
            add_count(&mut self.negative, *key, *count);
        }
    }

    /// Number of values added (NaN excluded).
    pub fn count(&self) -> u64 {
        self.zeros
            .saturating_add(total(&self.positive))
            .saturating_add(total(&self.negative))
    }

    /// Whether no value was added.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The non-empty log buckets in increasing value order (zeros as one
    /// bucket `[0, 0]`, infinities as `[±∞, ±∞]`). Exact counts, when kept,
    /// are not used: see [`exact_counts`](Self::exact_counts).
    pub fn buckets(&self) -> Vec<SketchBucket> {
        let buckets = Self::log_buckets();
        let mut out = Vec::with_capacity(self.negative.len() + self.positive.len() + 1);
        out.extend(
            self.negative
                .iter()
                .rev()
                .map(|(key, count)| buckets.bucket(*key, *count).negated()),
        );
        if self.zeros > 0 {
            out.push(SketchBucket {
                low: 0.0,
                high: 0.0,
                value: 0.0,
                count: self.zeros,
            });
        }
        out.extend(
            self.positive
                .iter()
                .map(|(key, count)| buckets.bucket(*key, *count)),
        );
        out
    }

    /// The exact `(value, count)` pairs in increasing order while
    /// [`is_exact`](Self::is_exact), else `None`.
    pub fn exact_counts(&self) -> Option<Vec<(f64, u64)>> {
        self.is_exact()
            .then(|| self.exact.iter().map(|(v, c)| (v.get(), *c)).collect())
    }

    /// The value of the 0-based order statistic `rank` (`rank < count`):
    /// exact in exact mode, else its bucket's representative. `None` when
    /// `rank ≥ count`.
    pub fn value_at_rank(&self, rank: u64) -> Option<f64> {
        if rank >= self.count() {
            return None;
        }
        if self.is_exact() {
            let mut seen = 0u64;
            for (value, count) in &self.exact {
                seen = seen.saturating_add(*count);
                if rank < seen {
                    return Some(value.get());
                }
            }
            return None;
        }
        let buckets = Self::log_buckets();
        let mut seen = 0u64;
        for (key, count) in self.negative.iter().rev() {
            seen = seen.saturating_add(*count);
            if rank < seen {
                return Some(-buckets.bucket(*key, *count).value);
            }
        }
        seen = seen.saturating_add(self.zeros);
        if rank < seen {
            return Some(0.0);
        }
        let (key, count) = self.positive.iter().find(|(_, count)| {
            seen = seen.saturating_add(**count);
            rank < seen
        })?;
        Some(buckets.bucket(*key, *count).value)
    }

    /// The `q`-quantile (`q` clamped into `[0, 1]`): the 0-based order
    /// statistic `⌊q·(n−1)⌋`, within the bound stated on
    /// [`QuantileSketch`].
    /// `None` when the sketch is empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 || q.is_nan() {
            return None;
        }
        self.value_at_rank((q.clamp(0.0, 1.0) * (n - 1) as f64).floor() as u64)
    }

    /// The `q`-quantile (`q` clamped into `[0, 1]`) with numpy's default
    /// `"linear"` interpolation between the order statistics `⌊r⌋` and
    /// `⌈r⌉`, `r = q·(n − 1)`. `None` when the sketch is empty or `q` is NaN.
    ///
    /// ```
    /// use mlrig_core::{QuantileSketch, SketchParams};
    /// struct Exact;
    /// impl SketchParams for Exact {
    ///     const RELATIVE_ACCURACY: f64 = 0.001;
    ///     const EXACT_DISTINCT_LIMIT: usize = 1024;
    /// }
    /// let mut s = QuantileSketch::<Exact>::new();
    /// for v in [40.0, 40.0, 35.0, 50.0, 40.0] { s.add(v); }
    /// assert_eq!(s.quantile_interpolated(0.125), Some(37.5)); // numpy.percentile(…, 12.5)
    /// ```
    pub fn quantile_interpolated(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 || q.is_nan() {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * (n - 1) as f64;
        let low = rank.floor();
        let fraction = rank - low;
        let below = self.value_at_rank(low as u64)?;
        if fraction == 0.0 {
            return Some(below);
        }
        let above = self.value_at_rank(rank.ceil() as u64)?;
        Some(below + fraction * (above - below))
    }
}
