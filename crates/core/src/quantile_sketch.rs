//! [`QuantileSketch`]: a DDSketch-style quantile sketch with a relative value
//! error `α` chosen per use ([`SketchParams`]) and an exact, order-independent
//! merge.
//!
//! The sketch, its error bound and its fast batch path are documented on
//! [`QuantileSketch`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{LazyLock, Mutex, OnceLock, PoisonError};

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The compile-time parameters of a [`QuantileSketch`]: its relative value
/// accuracy and its optional exact mode.
///
/// A marker type per use keeps sketches with different parameters from
/// being merged (a type error) and lets the serialized form stay free of
/// parameters.
///
/// ```
/// use mlrig_core::{QuantileSketch, SketchParams};
///
/// /// 1 % relative error, exact up to 100 distinct values.
/// struct Coarse;
/// impl SketchParams for Coarse {
///     const RELATIVE_ACCURACY: f64 = 0.01;
///     const EXACT_DISTINCT_LIMIT: usize = 100;
/// }
///
/// let mut s = QuantileSketch::<Coarse>::default();
/// for v in [3.0, 1.0, 2.0] { s.add(v); }
/// assert_eq!(s.quantile(0.5), Some(2.0)); // exact: 3 distinct values ≤ 100
/// ```
pub trait SketchParams: 'static {
    /// The relative value accuracy `α`: every bucket representative is within
    /// `α·|x|` of the values in its bucket. Must lie in
    /// [`MIN_RELATIVE_ACCURACY`]`..=`[`MAX_RELATIVE_ACCURACY`] (checked when
    /// the sketch is compiled):
    ///
    /// ```compile_fail
    /// use mlrig_core::{QuantileSketch, SketchParams};
    /// struct Exact;
    /// impl SketchParams for Exact { const RELATIVE_ACCURACY: f64 = 0.0; }
    /// QuantileSketch::<Exact>::new().add(1.0); // error: must lie in [1e-6, 0.5]
    /// ```
    const RELATIVE_ACCURACY: f64;
    /// Exact value counts are kept while the data has at most this many
    /// distinct values, all finite (`0`: never; buckets only).
    const EXACT_DISTINCT_LIMIT: usize = 0;
}

/// The smallest supported [`SketchParams::RELATIVE_ACCURACY`] (keys must fit
/// an `i32` and the fast key path keeps its safety margin).
pub const MIN_RELATIVE_ACCURACY: f64 = 1e-6;
/// The largest supported [`SketchParams::RELATIVE_ACCURACY`].
pub const MAX_RELATIVE_ACCURACY: f64 = 0.5;

/// Rejects out-of-range parameters at compile time.
struct CheckedParams<P>(PhantomData<P>);

impl<P: SketchParams> CheckedParams<P> {
    const ACCURACY_IN_RANGE: () = assert!(
        P::RELATIVE_ACCURACY >= MIN_RELATIVE_ACCURACY
            && P::RELATIVE_ACCURACY <= MAX_RELATIVE_ACCURACY,
        "SketchParams::RELATIVE_ACCURACY must lie in [1e-6, 0.5]"
    );
}

/// Bucket key reserved for `±∞` (finite keys stay below `4·10⁸`).
const INFINITY_KEY: i32 = i32::MAX;

/// Keys of the integers `0..SMALL_INTEGER_KEYS` are kept in a table.
const SMALL_INTEGER_KEYS: usize = 1 << 16;

/// The logarithmic bucket mapping of one relative accuracy `α`: the keys of
/// values and the bounds of buckets. Shared, immutable and built once per
/// `α` per process ([`LogBuckets::of`]).
///
/// ```
/// use mlrig_core::{LogBuckets, SketchParams};
/// struct Half;
/// impl SketchParams for Half { const RELATIVE_ACCURACY: f64 = 0.005; }
///
/// let buckets = LogBuckets::of::<Half>();
/// let bucket = buckets.bucket(buckets.key(37.0), 1);
/// assert!(bucket.low < 37.0 && 37.0 <= bucket.high);
/// assert!((bucket.value - 37.0).abs() <= 0.005 * 37.0);
/// ```
pub struct LogBuckets {
    relative_accuracy: f64,
    gamma: f64,
    ln_gamma: f64,
    inv_ln_gamma: f64,
    /// `ln(2 / (γ + 1))`: the representative of bucket `k` is
    /// `exp(k·ln γ + ln(2 / (γ + 1)))`, computed in log space so buckets near
    /// `f64::MAX` do not overflow.
    ln_representative_scale: f64,
    /// See [`LogBuckets::key`].
    fallback_band: f64,
    small_integer_keys: OnceLock<Box<[i32]>>,
}

impl fmt::Debug for LogBuckets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogBuckets")
            .field("relative_accuracy", &self.relative_accuracy)
            .field("gamma", &self.gamma)
            .finish_non_exhaustive()
    }
}

/// Tables of the fast logarithm in [`LogBuckets::key`]: for `j` in `0..256`,
/// `(1/c, ln c)` with `c` (the `f64` nearest to) the centre of
/// `[1 + j/256, 1 + (j+1)/256)`. Independent of `α`.
static FAST_LN_TABLE: LazyLock<[(f64, f64); 256]> = LazyLock::new(|| {
    let mut table = [(0.0, 0.0); 256];
    for (j, entry) in table.iter_mut().enumerate() {
        let inverse = 1.0 / (1.0 + (j as f64 + 0.5) / 256.0);
        // ln(1/inverse), to match the inverse actually used.
        *entry = (inverse, -inverse.ln());
    }
    table
});

/// Registered mappings, found without locking once built (a handful of
/// accuracies per process in practice).
static REGISTRY: [OnceLock<LogBuckets>; 16] = [const { OnceLock::new() }; 16];
/// Mappings beyond the 16 slots of [`REGISTRY`].
static MORE_REGISTERED: Mutex<Vec<&'static LogBuckets>> = Mutex::new(Vec::new());

impl LogBuckets {
    /// The mapping of `P`'s relative accuracy (built on first use, then
    /// shared; a few atomic loads per call).
    pub fn of<P: SketchParams>() -> &'static LogBuckets {
        let () = CheckedParams::<P>::ACCURACY_IN_RANGE;
        Self::registered(P::RELATIVE_ACCURACY)
    }

    fn registered(alpha: f64) -> &'static LogBuckets {
        for slot in &REGISTRY {
            let buckets = slot.get_or_init(|| LogBuckets::new(alpha));
            if buckets.relative_accuracy.to_bits() == alpha.to_bits() {
                return buckets;
            }
        }
        let mut more = MORE_REGISTERED
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(buckets) = more
            .iter()
            .find(|b| b.relative_accuracy.to_bits() == alpha.to_bits())
        {
            return buckets;
        }
        let buckets: &'static LogBuckets = Box::leak(Box::new(LogBuckets::new(alpha)));
        more.push(buckets);
        buckets
    }

    fn new(alpha: f64) -> Self {
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        let ln_gamma = gamma.ln();
        let inv_ln_gamma = 1.0 / ln_gamma;
        Self {
            relative_accuracy: alpha,
            gamma,
            ln_gamma,
            inv_ln_gamma,
            ln_representative_scale: (2.0 / (gamma + 1.0)).ln(),
            fallback_band: 1e-9 * inv_ln_gamma.max(100.0),
            small_integer_keys: OnceLock::new(),
        }
    }

    /// The relative accuracy `α`.
    pub fn relative_accuracy(&self) -> f64 {
        self.relative_accuracy
    }

    /// `γ = (1 + α) / (1 − α)`: bucket `k` covers `(γ^(k−1), γ^k]`.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// The key by definition: `⌈ln m / ln γ⌉` with the platform's `f64::ln`.
    fn key_by_definition(&self, magnitude: f64) -> i32 {
        if magnitude.is_infinite() {
            return INFINITY_KEY;
        }
        // |ln m| ≤ 745 and 1/ln γ ≤ 5·10⁵: |key| < 4·10⁸, inside i32.
        (magnitude.ln() / self.ln_gamma).ceil() as i32
    }

    /// The key of a magnitude `m > 0` (finite or `+∞`): `⌈ln m / ln γ⌉`.
    ///
    /// Bit for bit the definition's result, evaluated without a libm call
    /// per value: `ln m = e·ln 2 + ln c + ln(m/c)` with `c` from a 256-entry
    /// table and a short series for `ln(m/c)` (`|m/c − 1| ≤ 2⁻⁹`, first
    /// omitted term `< 10⁻¹⁷`). That is within `2·10⁻¹³` of `ln m`, and the
    /// definition's `ln` within one ulp (`≈ 1.1·10⁻¹³`); scaled by `1/ln γ`
    /// (whose product rounds within `|key|·2⁻⁵³ ≤ 1.7·10⁻¹³/ln γ`) each
    /// evaluation is within `5·10⁻¹³/ln γ` key units of the exact value.
    /// Wherever the fast value is within `10⁻⁹·max(1/ln γ, 100)` of an
    /// integer (a margin of over 2,000×) the definition decides, so outside
    /// that band both have the same ceiling and the key never depends on the
    /// path. Subnormal, infinite and non-positive inputs take the definition
    /// too (for `m ≤ 0` or NaN the key is meaningless but never panics).
    #[inline(always)]
    pub fn key(&self, magnitude: f64) -> i32 {
        let bits = magnitude.to_bits();
        let biased_exponent = (bits >> 52) as i32;
        // Sign bit set (so biased_exponent > 0x7ff), zero/subnormal or ∞/NaN.
        if biased_exponent == 0 || biased_exponent >= 0x7ff {
            return self.key_by_definition(magnitude);
        }
        let (inverse, ln_centre) = FAST_LN_TABLE[((bits >> 44) & 0xff) as usize];
        let mantissa = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
        let r = mantissa * inverse - 1.0;
        let ln_1p = r * (1.0 + r * (-0.5 + r * (1.0 / 3.0 + r * (-0.25 + r * 0.2))));
        let ln = f64::from(biased_exponent - 1023) * std::f64::consts::LN_2 + (ln_centre + ln_1p);
        let scaled = ln * self.inv_ln_gamma;
        // |scaled| < 4·10⁸: the truncating cast is exact, and floor follows.
        let truncated = scaled as i32;
        let floor = if f64::from(truncated) > scaled {
            truncated - 1
        } else {
            truncated
        };
        let fraction = scaled - f64::from(floor);
        if !(self.fallback_band..=1.0 - self.fallback_band).contains(&fraction) {
            return self.key_by_definition(magnitude);
        }
        floor + 1
    }

    /// The key of a non-zero integer magnitude: the same as
    /// `key(magnitude as f64)`, from a table for magnitudes below 2¹⁶.
    #[inline]
    pub fn integer_key(&self, magnitude: u64) -> i32 {
        let table = self.small_integer_keys.get_or_init(|| {
            (0..SMALL_INTEGER_KEYS)
                .map(|i| if i == 0 { 0 } else { self.key(i as f64) })
                .collect()
        });
        match table.get(magnitude as usize) {
            Some(key) => *key,
            // Rounds like `x as f64` (to nearest is symmetric in sign).
            None => self.key(magnitude as f64),
        }
    }

    /// The positive bucket `key` holding `count` values: bounds
    /// `(γ^(key−1), γ^key]` and representative `2γ^key / (γ + 1)` (at most
    /// `f64::MAX`); the reserved key of `+∞` gives `[∞, ∞]` with value `∞`.
    /// Negative buckets are [`SketchBucket::negated`].
    pub fn bucket(&self, key: i32, count: u64) -> SketchBucket {
        if key == INFINITY_KEY {
            return SketchBucket {
                low: f64::INFINITY,
                high: f64::INFINITY,
                value: f64::INFINITY,
                count,
            };
        }
        let log_high = f64::from(key) * self.ln_gamma;
        SketchBucket {
            low: (f64::from(key - 1) * self.ln_gamma).exp(),
            high: log_high.exp(),
            value: (log_high + self.ln_representative_scale)
                .exp()
                .min(f64::MAX),
            count,
        }
    }
}

/// One non-empty bucket of a sketch, as listed by [`QuantileSketch::buckets`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SketchBucket {
    /// Smallest value the bucket can hold (exclusive for log buckets).
    pub low: f64,
    /// Largest value the bucket can hold.
    pub high: f64,
    /// The value reported for the bucket: within `α` of every member (the
    /// member itself for zeros, infinities and exact counts).
    pub value: f64,
    /// Number of values in the bucket.
    pub count: u64,
}

impl SketchBucket {
    /// The mirror bucket of negative values.
    ///
    /// ```
    /// use mlrig_core::SketchBucket;
    /// let b = SketchBucket { low: 1.0, high: 2.0, value: 1.5, count: 3 };
    /// assert_eq!(b.negated(), SketchBucket { low: -2.0, high: -1.0, value: -1.5, count: 3 });
    /// ```
    pub fn negated(self) -> Self {
        Self {
            low: -self.high,
            high: -self.low,
            value: -self.value,
            count: self.count,
        }
    }

    /// For integer-valued data: a bucket whose range holds exactly one
    /// integer holds only that integer, so its value becomes that integer.
    /// (Magnitudes below about `1/α` get one integer per bucket, so small
    /// integers have exact quantiles.)
    ///
    /// ```
    /// use mlrig_core::SketchBucket;
    /// let mut b = SketchBucket { low: 36.8, high: 37.2, value: 37.01, count: 1 };
    /// b.snap_to_integer();
    /// assert_eq!(b.value, 37.0);
    /// ```
    pub fn snap_to_integer(&mut self) {
        if !(self.low.is_finite() && self.high.is_finite()) {
            return;
        }
        let (first, last) = (self.low.ceil(), self.high.floor());
        if first == last {
            self.value = first;
        }
    }
}

/// The value of the bucket holding the 0-based order statistic
/// `⌊q·(n−1)⌋` of `buckets` (in increasing value order), `q` clamped into
/// `[0, 1]`; `None` when the buckets are empty or `q` is NaN.
///
/// ```
/// use mlrig_core::{quantile_of_buckets, SketchBucket};
/// let b = |value, count| SketchBucket { low: value, high: value, value, count };
/// assert_eq!(quantile_of_buckets(&[b(1.0, 2), b(5.0, 1)], 0.5), Some(1.0));
/// assert_eq!(quantile_of_buckets(&[b(1.0, 2), b(5.0, 1)], 1.0), Some(5.0));
/// ```
pub fn quantile_of_buckets(buckets: &[SketchBucket], q: f64) -> Option<f64> {
    let total = buckets
        .iter()
        .fold(0u64, |sum, b| sum.saturating_add(b.count));
    if total == 0 || q.is_nan() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * (total - 1) as f64).floor() as u64;
    value_at_rank(buckets.iter().copied(), rank)
}

/// The value of the bucket holding 0-based `rank`, or of the last non-empty
/// bucket when `rank` is beyond the total.
fn value_at_rank(buckets: impl Iterator<Item = SketchBucket>, rank: u64) -> Option<f64> {
    let mut seen = 0u64;
    let mut last = None;
    for bucket in buckets {
        if bucket.count == 0 {
            continue;
        }
        seen = seen.saturating_add(bucket.count);
        if seen > rank {
            return Some(bucket.value);
        }
        last = Some(bucket.value);
    }
    last
}

/// An `f64` (never NaN) ordered by `total_cmp`; `-0.0` is stored as `0.0`.
#[derive(Debug, Clone, Copy)]
struct ExactValue(f64);

impl ExactValue {
    fn new(value: f64) -> Self {
        ExactValue(value + 0.0)
    }
}

impl PartialEq for ExactValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}

impl Eq for ExactValue {}

impl PartialOrd for ExactValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ExactValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn add_count<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, count: u64) {
    let entry = map.entry(key).or_insert(0);
    *entry = entry.saturating_add(count);
}

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
/// `k = ⌈ln x / ln γ⌉` of the positive map, `x < 0` to bucket `⌈ln |x| / ln γ⌉`
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
/// Bucket keys are `⌈ln m / ln γ⌉` as evaluated with the platform's
/// `f64::ln`; within one build they are a pure function of the value. For
/// speed, [`LogBuckets::key`] uses a table-driven logarithm that defers to
/// `f64::ln` wherever the two could disagree, so it always returns the
/// definition's key; [`SketchBatch`] gathers a batch's keys and counts them
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
    negative: BTreeMap<i32, u64>,
    /// Count of zeros (`-0.0` included).
    zeros: u64,
    /// Bucket counts of the positive values.
    positive: BTreeMap<i32, u64>,
    /// Exact value counts while there are at most
    /// `P::EXACT_DISTINCT_LIMIT` distinct values (always empty when the
    /// limit is 0).
    exact: BTreeMap<ExactValue, u64>,
    /// More than `P::EXACT_DISTINCT_LIMIT > 0` distinct values were seen;
    /// `exact` is then empty.
    overflowed: bool,
    params: PhantomData<fn() -> P>,
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
            add_count(&mut self.exact, ExactValue::new(x), times);
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
    fn check_overflow(&mut self, infinite: bool) {
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
                    add_count(&mut self.exact, ExactValue::new(run[0]), run.len() as u64);
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
            .then(|| self.exact.iter().map(|(v, c)| (v.0, *c)).collect())
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
                    return Some(value.0);
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
                add_count(map, min + offset as i32, u64::from(count));
            }
        }
    } else {
        keys.sort_unstable();
        for run in keys.chunk_by(|a, b| a == b) {
            add_count(map, run[0], run.len() as u64);
        }
    }
    keys.clear();
}

/// Sketch input gathered over one batch: the keys of the values, counted
/// into a sketch at once by [`QuantileSketch::absorb`] (one map operation
/// per distinct key instead of one per value).
///
/// ```
/// use mlrig_core::{QuantileSketch, SketchBatch, SketchParams};
/// struct P;
/// impl SketchParams for P { const RELATIVE_ACCURACY: f64 = 0.005; }
///
/// let mut batch = SketchBatch::<P>::with_capacity(3);
/// batch.push(2.5);
/// batch.push(f64::NAN); // ignored
/// batch.push_int(-7);
/// let mut s = QuantileSketch::new();
/// s.absorb(&mut batch);
/// let mut one_by_one = QuantileSketch::new();
/// one_by_one.add(2.5);
/// one_by_one.add(-7.0);
/// assert_eq!(s, one_by_one);
/// ```
pub struct SketchBatch<P: SketchParams> {
    /// Keys of the magnitudes of positive (`[0]`) and negative (`[1]`)
    /// finite values. Indexed by the sign bit, so random signs cost no
    /// mispredicted branches.
    keys: [Vec<i32>; 2],
    zeros: u64,
    /// Positive (`[0]`) and negative (`[1]`) infinities.
    infinities: [u64; 2],
    /// The values themselves, when `P` keeps exact counts.
    values: Vec<f64>,
    buckets: &'static LogBuckets,
    params: PhantomData<fn() -> P>,
}

impl<P: SketchParams> Default for SketchBatch<P> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<P: SketchParams> fmt::Debug for SketchBatch<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SketchBatch")
            .field("keys", &self.keys)
            .field("zeros", &self.zeros)
            .field("infinities", &self.infinities)
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

impl<P: SketchParams> SketchBatch<P> {
    /// An empty batch with room for `values` values.
    pub fn with_capacity(values: usize) -> Self {
        let exact = P::EXACT_DISTINCT_LIMIT > 0;
        Self {
            keys: [Vec::with_capacity(values), Vec::with_capacity(values)],
            zeros: 0,
            infinities: [0; 2],
            values: Vec::with_capacity(if exact { values } else { 0 }),
            buckets: LogBuckets::of::<P>(),
            params: PhantomData,
        }
    }

    /// Adds one value; NaN is ignored.
    #[inline]
    pub fn push(&mut self, x: f64) {
        let magnitude = x.abs();
        let sign = usize::from(x.is_sign_negative());
        if P::EXACT_DISTINCT_LIMIT > 0 && !x.is_nan() {
            self.values.push(x);
        }
        if magnitude == 0.0 {
            self.zeros += 1;
        } else if magnitude == f64::INFINITY {
            self.infinities[sign] += 1;
        } else if !x.is_nan() {
            self.keys[sign].push(self.buckets.key(magnitude));
        }
    }

    /// Adds one integer: the same as `push(x as f64)`, with the keys of
    /// small magnitudes from a table.
    #[inline]
    pub fn push_int(&mut self, x: i64) {
        if P::EXACT_DISTINCT_LIMIT > 0 {
            self.values.push(x as f64);
        }
        let magnitude = x.unsigned_abs();
        if magnitude == 0 {
            self.zeros += 1;
            return;
        }
        self.keys[usize::from(x < 0)].push(self.buckets.integer_key(magnitude));
    }
}

/// Exact value counts, written as a list of `[value, count]` pairs (JSON
/// object keys can only be strings).
struct ExactPairs<'a>(&'a BTreeMap<ExactValue, u64>);

impl Serialize for ExactPairs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(v, c)| (v.0, *c)))
    }
}

/// The serialized form: `{"negative", "zeros", "positive"}` (bucket key →
/// count), plus `"exact"` (`[[value, count], …]`) and `"overflowed"` when
/// `P` keeps exact counts.
impl<P: SketchParams> Serialize for QuantileSketch<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let exact_mode = P::EXACT_DISTINCT_LIMIT > 0;
        let fields = if exact_mode { 5 } else { 3 };
        let mut s = serializer.serialize_struct("QuantileSketch", fields)?;
        s.serialize_field("negative", &self.negative)?;
        s.serialize_field("zeros", &self.zeros)?;
        s.serialize_field("positive", &self.positive)?;
        if exact_mode {
            s.serialize_field("exact", &ExactPairs(&self.exact))?;
            s.serialize_field("overflowed", &self.overflowed)?;
        }
        s.end()
    }
}

#[derive(Deserialize)]
struct SketchRepr {
    negative: BTreeMap<i32, u64>,
    zeros: u64,
    positive: BTreeMap<i32, u64>,
    #[serde(default)]
    exact: Vec<(f64, u64)>,
    #[serde(default)]
    overflowed: bool,
}

/// Reads the form written by `Serialize` and checks that it is consistent
/// (exact counts add up to the bucket counts, at most the limit, no NaN).
impl<'de, P: SketchParams> Deserialize<'de> for QuantileSketch<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = SketchRepr::deserialize(deserializer)?;
        let mut sketch = Self {
            negative: repr.negative,
            zeros: repr.zeros,
            positive: repr.positive,
            exact: BTreeMap::new(),
            overflowed: repr.overflowed && P::EXACT_DISTINCT_LIMIT > 0,
            params: PhantomData,
        };
        if P::EXACT_DISTINCT_LIMIT == 0 {
            return Ok(sketch);
        }
        if sketch.overflowed {
            if !repr.exact.is_empty() {
                return Err(D::Error::custom(
                    "quantile sketch: `exact` must be empty when `overflowed` is true",
                ));
            }
            return Ok(sketch);
        }
        for (value, count) in repr.exact {
            if !value.is_finite() {
                return Err(D::Error::custom(format!(
                    "quantile sketch: `exact` holds the non-finite value {value}"
                )));
            }
            add_count(&mut sketch.exact, ExactValue::new(value), count);
        }
        let exact_total = sketch
            .exact
            .values()
            .fold(0u64, |sum, c| sum.saturating_add(*c));
        if sketch.exact.len() > P::EXACT_DISTINCT_LIMIT || exact_total != sketch.count() {
            return Err(D::Error::custom(format!(
                "quantile sketch: `exact` holds {} distinct values counted {exact_total} times; \
                 expected at most {} distinct values counted {} times (the bucket total)",
                sketch.exact.len(),
                P::EXACT_DISTINCT_LIMIT,
                sketch.count()
            )));
        }
        Ok(sketch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// validate's parameters.
    struct HalfPercent;
    impl SketchParams for HalfPercent {
        const RELATIVE_ACCURACY: f64 = 0.005;
    }

    /// features' parameters.
    struct Fine;
    impl SketchParams for Fine {
        const RELATIVE_ACCURACY: f64 = 0.001;
        const EXACT_DISTINCT_LIMIT: usize = 1024;
    }

    /// A small exact limit, so proptests cross it.
    struct SmallExact;
    impl SketchParams for SmallExact {
        const RELATIVE_ACCURACY: f64 = 0.01;
        const EXACT_DISTINCT_LIMIT: usize = 8;
    }

    /// The extremes of the supported range.
    struct Finest;
    impl SketchParams for Finest {
        const RELATIVE_ACCURACY: f64 = MIN_RELATIVE_ACCURACY;
    }
    struct Coarsest;
    impl SketchParams for Coarsest {
        const RELATIVE_ACCURACY: f64 = MAX_RELATIVE_ACCURACY;
    }

    fn sketch_of<P: SketchParams>(values: &[f64]) -> QuantileSketch<P> {
        let mut s = QuantileSketch::default();
        values.iter().for_each(|v| s.add(*v));
        s
    }

    fn batched<P: SketchParams>(values: &[f64]) -> QuantileSketch<P> {
        let mut batch = SketchBatch::with_capacity(values.len());
        values.iter().for_each(|v| batch.push(*v));
        let mut s = QuantileSketch::default();
        s.absorb(&mut batch);
        s
    }

    fn bound(alpha: f64, x: f64) -> f64 {
        alpha * x.abs() * (1.0 + 1e-9) + f64::from_bits(1)
    }

    fn check_fast_keys<P: SketchParams>() {
        let buckets = LogBuckets::of::<P>();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Random bit patterns (every magnitude), random decimals, and the
        // neighbours of bucket boundaries γ^k, where the fallback decides.
        for _ in 0..100_000 {
            let x = f64::from_bits(next() >> 1);
            if x.is_finite() && x > 0.0 {
                assert_eq!(buckets.key(x), buckets.key_by_definition(x), "{x:e}");
            }
            let decimal = (next() >> 11) as f64 / 1e6;
            if decimal > 0.0 {
                assert_eq!(buckets.key(decimal), buckets.key_by_definition(decimal));
            }
        }
        for k in -2_000..2_000 {
            let boundary = buckets.gamma().powi(k);
            if !boundary.is_normal() {
                continue;
            }
            let mut x = f64::from_bits(boundary.to_bits() - 4);
            for _ in 0..9 {
                assert_eq!(
                    buckets.key(x),
                    buckets.key_by_definition(x),
                    "{x:e} near γ^{k}"
                );
                x = f64::from_bits(x.to_bits() + 1);
            }
        }
        for i in 1..SMALL_INTEGER_KEYS as u64 + 10 {
            assert_eq!(buckets.integer_key(i), buckets.key_by_definition(i as f64));
        }
        for i in [u64::MAX, 1 << 63, (1 << 53) + 1] {
            assert_eq!(buckets.integer_key(i), buckets.key_by_definition(i as f64));
        }
        assert_eq!(buckets.key(f64::INFINITY), INFINITY_KEY);
        assert_eq!(buckets.key(5e-324), buckets.key_by_definition(5e-324));
        assert_eq!(buckets.key(f64::MAX), buckets.key_by_definition(f64::MAX));
    }

    #[test]
    fn fast_keys_equal_the_definition_for_every_supported_accuracy() {
        check_fast_keys::<HalfPercent>();
        check_fast_keys::<Fine>();
        check_fast_keys::<Finest>();
        check_fast_keys::<Coarsest>();
    }

    #[test]
    fn mappings_are_shared_per_accuracy() {
        assert!(std::ptr::eq(
            LogBuckets::of::<HalfPercent>(),
            QuantileSketch::<HalfPercent>::log_buckets()
        ));
        assert!(!std::ptr::eq(
            LogBuckets::of::<HalfPercent>(),
            LogBuckets::of::<Fine>()
        ));
        assert_eq!(LogBuckets::of::<Fine>().relative_accuracy(), 0.001);
        // Beyond the lock-free slots, mappings are still found and shared.
        for i in 0..40 {
            let alpha = 0.002 + f64::from(i) * 1e-4;
            let a = LogBuckets::registered(alpha);
            assert_eq!(a.relative_accuracy(), alpha);
            assert!(std::ptr::eq(a, LogBuckets::registered(alpha)));
        }
    }

    #[test]
    fn representatives_are_within_alpha_up_to_f64_max() {
        let buckets = LogBuckets::of::<Fine>();
        for x in [
            1e-300,
            1e-9,
            0.1,
            1.0,
            2.5,
            37.0,
            1e9,
            f64::MAX / 2.0,
            f64::MAX,
        ] {
            let b = buckets.bucket(buckets.key(x), 1);
            assert!((b.value - x).abs() <= bound(0.001, x), "{x}: {b:?}");
            assert!(b.value.is_finite());
        }
    }

    #[test]
    fn quantiles_are_within_the_relative_error_bound() {
        let values: Vec<f64> = (1..=10_000).map(|i| f64::from(i) * 0.37 - 900.0).collect();
        let s = sketch_of::<HalfPercent>(&values);
        for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0] {
            let exact = values[(q * (values.len() - 1) as f64).floor() as usize];
            let got = s.quantile(q).unwrap();
            assert!(
                (got - exact).abs() <= bound(0.005, exact),
                "q={q}: {got} vs {exact}"
            );
        }
        assert_eq!(s.quantile(f64::NAN), None);
        assert_eq!(QuantileSketch::<HalfPercent>::new().quantile(0.5), None);
    }

    #[test]
    fn zeros_infinities_and_nan() {
        let s = sketch_of::<HalfPercent>(&[
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            -3.0,
            f64::NEG_INFINITY,
        ]);
        assert_eq!(s.count(), 5);
        let values: Vec<f64> = s.buckets().iter().map(|b| b.value).collect();
        assert_eq!(values[0], f64::NEG_INFINITY);
        assert!((values[1] + 3.0).abs() <= 0.015);
        assert_eq!(values[2], 0.0);
        assert_eq!(values[3], f64::INFINITY);
        assert_eq!(s.quantile(0.5), Some(0.0));
        assert_eq!(s.quantile(0.0), Some(f64::NEG_INFINITY));
        assert_eq!(s.quantile(1.0), Some(f64::INFINITY));
    }

    #[test]
    fn exact_mode_is_numpy_and_overflow_is_split_independent() {
        let s = sketch_of::<Fine>(&[40.0, 40.0, 35.0, 50.0, 40.0]);
        assert!(s.is_exact());
        assert_eq!(s.quantile_interpolated(0.5), Some(40.0));
        assert_eq!(s.quantile_interpolated(0.125), Some(37.5));
        assert_eq!(
            s.exact_counts(),
            Some(vec![(35.0, 1), (40.0, 3), (50.0, 1)])
        );
        let (mut a, mut b, mut whole) = (
            QuantileSketch::<Fine>::new(),
            QuantileSketch::<Fine>::new(),
            QuantileSketch::<Fine>::new(),
        );
        for i in 0..=Fine::EXACT_DISTINCT_LIMIT {
            let v = i as f64;
            whole.add(v);
            if i % 2 == 0 { a.add(v) } else { b.add(v) }
        }
        assert!(a.is_exact() && b.is_exact() && !whole.is_exact());
        assert_eq!(whole.exact_counts(), None);
        a.merge(&b);
        assert_eq!(a, whole);
    }

    #[test]
    fn interpolated_quantiles_of_buckets() {
        let s = sketch_of::<HalfPercent>(&[-2.0, 0.0, -0.0, 3.0, 10.0]);
        assert_eq!(s.quantile_interpolated(0.5), Some(0.0));
        let q = s.quantile_interpolated(0.625).unwrap();
        // Between 0 (rank 2) and ~3 (rank 3).
        assert!((q - 1.5).abs() <= 0.5 * bound(0.005, 3.0), "{q}");
    }

    #[test]
    fn serialized_form_keeps_each_crates_shape() {
        let s = sketch_of::<HalfPercent>(&[-1.0, 0.0, 2.0]);
        let json = serde_json::to_value(&s).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["negative", "positive", "zeros"]);
        assert_eq!(json["zeros"], 1);
        assert_eq!(json["positive"]["70"], 1); // ⌈ln 2 / ln γ⌉ = 70 for α = 0.005
        let s = sketch_of::<Fine>(&[-1.0, 0.0, 2.0, 2.0]);
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.ends_with(r#""exact":[[-1.0,1],[0.0,1],[2.0,2]],"overflowed":false}"#),
            "{json}"
        );
        // Inconsistent exact counts are rejected, not trusted.
        let bad = json.replace("[2.0,2]", "[2.0,3]");
        let err = serde_json::from_str::<QuantileSketch<Fine>>(&bad).unwrap_err();
        assert!(err.to_string().contains("expected at most 1024"), "{err}");
        let bad = json.replace(r#""overflowed":false"#, r#""overflowed":true"#);
        assert!(serde_json::from_str::<QuantileSketch<Fine>>(&bad).is_err());
    }

    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -1e6f64..1e6,
            (-20i32..20).prop_map(f64::from),
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::NAN),
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(-5e-324),
            (1u64..1 << 52).prop_map(f64::from_bits),
        ]
    }

    fn check_merge_and_serde<P: SketchParams>(
        values: &[f64],
        cut: usize,
        reverse: bool,
    ) -> Result<(), TestCaseError> {
        let whole = sketch_of::<P>(values);
        prop_assert_eq!(&batched::<P>(values), &whole);
        let cut = cut.min(values.len());
        let (a, b) = values.split_at(cut);
        let (mut first, second) = if reverse {
            (batched::<P>(b), sketch_of::<P>(a))
        } else {
            (sketch_of::<P>(a), batched::<P>(b))
        };
        first.merge(&second);
        prop_assert_eq!(&first, &whole);
        let json = serde_json::to_string(&whole).unwrap();
        let back: QuantileSketch<P> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &whole);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        Ok(())
    }

    fn check_bound<P: SketchParams>(values: &[f64], q: f64) -> Result<(), TestCaseError> {
        let alpha = P::RELATIVE_ACCURACY;
        let s = sketch_of::<P>(values);
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            prop_assert_eq!(s.quantile(q), None);
            return Ok(());
        }
        let rank = q * (sorted.len() - 1) as f64;
        let exact = sorted[rank.floor() as usize];
        let got = s.quantile(q).unwrap();
        if exact.is_infinite() || exact == 0.0 {
            prop_assert_eq!(got, exact);
        } else {
            prop_assert!(
                (got - exact).abs() <= bound(alpha, exact),
                "{} vs {}",
                got,
                exact
            );
        }
        for bucket in s.buckets() {
            prop_assert!(bucket.low <= bucket.value && bucket.value <= bucket.high);
        }
        let (lo, hi) = (sorted[rank.floor() as usize], sorted[rank.ceil() as usize]);
        if lo.is_finite() && hi.is_finite() && (hi - lo).is_finite() {
            let want = lo + (rank - rank.floor()) * (hi - lo);
            let got = s.quantile_interpolated(q).unwrap();
            let slack = bound(alpha, lo.abs().max(hi.abs())) + 1e-15 * want.abs();
            prop_assert!((got - want).abs() <= slack, "{} vs {}", got, want);
        }
        Ok(())
    }

    /// Reads `json` (if consistent) and uses every query and merge.
    fn exercise<P: SketchParams>(json: &serde_json::Value, q: f64) {
        if let Ok(s) = serde_json::from_value::<QuantileSketch<P>>(json.clone()) {
            let _ = (
                s.quantile(q),
                s.quantile_interpolated(q),
                s.buckets(),
                s.count(),
            );
            let mut merged = s.clone();
            merged.merge(&s);
            merged.add(q);
            let _ = merged.value_at_rank(u64::MAX);
        }
    }

    proptest! {
        #[test]
        fn merge_of_parts_equals_single_pass_bit_for_bit(
            values in proptest::collection::vec(any_value(), 0..200),
            cut in 0usize..200,
            reverse in any::<bool>(),
        ) {
            check_merge_and_serde::<HalfPercent>(&values, cut, reverse)?;
            check_merge_and_serde::<Fine>(&values, cut, reverse)?;
            check_merge_and_serde::<SmallExact>(&values, cut, reverse)?;
        }

        #[test]
        fn quantile_is_within_the_stated_bound(
            values in proptest::collection::vec(any_value(), 0..200),
            q in prop_oneof![0.0..=1.0f64, Just(0.0), Just(0.5), Just(1.0)],
        ) {
            check_bound::<HalfPercent>(&values, q)?;
            check_bound::<Fine>(&values, q)?;
            check_bound::<SmallExact>(&values, q)?;
            check_bound::<Finest>(&values, q)?;
            check_bound::<Coarsest>(&values, q)?;
        }

        #[test]
        fn integer_batches_equal_float_values(
            values in proptest::collection::vec(
                prop_oneof![any::<i64>(), -70_000i64..70_000, Just(i64::MIN), Just(0)], 0..100),
        ) {
            let mut ints = SketchBatch::<Fine>::default();
            values.iter().for_each(|v| ints.push_int(*v));
            let mut s = QuantileSketch::<Fine>::new();
            s.absorb(&mut ints);
            let floats: Vec<f64> = values.iter().map(|v| *v as f64).collect();
            prop_assert_eq!(&s, &sketch_of::<Fine>(&floats));
            let mut ints = SketchBatch::<HalfPercent>::with_capacity(values.len());
            values.iter().for_each(|v| ints.push_int(*v));
            let mut s = QuantileSketch::<HalfPercent>::new();
            s.absorb(&mut ints);
            prop_assert_eq!(&s, &sketch_of::<HalfPercent>(&floats));
        }

        #[test]
        fn arbitrary_json_never_panics(
            negative in proptest::collection::btree_map(any::<i32>(), any::<u64>(), 0..5),
            zeros in any::<u64>(),
            exact in proptest::collection::vec((any::<f64>(), any::<u64>()), 0..5),
            overflowed in any::<bool>(),
            q in any::<f64>(),
        ) {
            let json = serde_json::json!({
                "negative": negative, "zeros": zeros, "positive": negative,
                "exact": exact.iter().filter(|(v, _)| v.is_finite()).collect::<Vec<_>>(),
                "overflowed": overflowed,
            });
            exercise::<SmallExact>(&json, q);
            exercise::<HalfPercent>(&json, q);
        }
    }
}
