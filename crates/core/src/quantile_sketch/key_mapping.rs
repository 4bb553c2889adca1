//! [`LogBuckets`]: the logarithmic bucket mapping of one relative accuracy
//! `α` — value → key `⌈log_γ m⌉` and key → bounds and representative.

use std::fmt;
use std::sync::{LazyLock, Mutex, OnceLock, PoisonError};

use super::bucket::SketchBucket;
use super::exact_key::at_most_power;
use super::{CheckedParams, INFINITY_KEY, SMALL_INTEGER_KEYS, SketchParams};

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
        *entry = (inverse, -libm::log(inverse));
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

    pub(super) fn registered(alpha: f64) -> &'static LogBuckets {
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
        let ln_gamma = libm::log(gamma);
        let inv_ln_gamma = 1.0 / ln_gamma;
        Self {
            relative_accuracy: alpha,
            gamma,
            ln_gamma,
            inv_ln_gamma,
            ln_representative_scale: libm::log(2.0 / (gamma + 1.0)),
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

    /// The key by definition, `⌈log_γ m⌉` of the real numbers `m` and `γ`
    /// (the `f64` values), for `m > 0` finite (`+∞` gets the reserved key;
    /// `0` gets `i32::MIN` and NaN or `m < 0`, meaningless, `0`).
    ///
    /// `s = ln m · (1/ln γ)` with libm's `log` (error below one ulp,
    /// `≈ 1.1·10⁻¹³`) is within `2·10⁻¹³/ln γ + |s|·2⁻⁵²` key units of the
    /// exact value, far inside the band `10⁻⁹·max(1/ln γ, 100)`; outside the
    /// band around integers its ceiling is the key. Inside, `n` (the nearest
    /// integer) or `n + 1` is, decided by comparing `m` with `γⁿ` carried in
    /// double-double precision ([`at_most_power`]).
    pub(super) fn key_by_definition(&self, magnitude: f64) -> i32 {
        if magnitude.is_infinite() {
            return INFINITY_KEY;
        }
        if magnitude.is_nan() || magnitude <= 0.0 {
            return if magnitude == 0.0 { i32::MIN } else { 0 };
        }
        // |ln m| ≤ 745 and 1/ln γ ≤ 5·10⁵: |key| < 4·10⁸, inside i32.
        let scaled = libm::log(magnitude) * self.inv_ln_gamma;
        let floor = scaled.floor();
        let fraction = scaled - floor;
        if (self.fallback_band..=1.0 - self.fallback_band).contains(&fraction) {
            return floor as i32 + 1;
        }
        let nearest = scaled.round() as i32;
        if at_most_power(magnitude, self.gamma, nearest) {
            nearest
        } else {
            nearest + 1
        }
    }

    /// The key of a magnitude `m > 0` (finite or `+∞`): `⌈log_γ m⌉`, exactly
    /// (of the real numbers `m` and `γ`, not of a rounded logarithm), the
    /// same on every platform.
    ///
    /// Evaluated without a libm call per value: `ln m = e·ln 2 + ln c +
    /// ln(m/c)` with `c` from a 256-entry table and a short series for
    /// `ln(m/c)` (`|m/c − 1| ≤ 2⁻⁹`, first omitted term `< 10⁻¹⁷`). That is
    /// within `2·10⁻¹³` of `ln m`; scaled by `1/ln γ` (whose product rounds
    /// within `|key|·2⁻⁵³ ≤ 1.7·10⁻¹³/ln γ`) it is within `5·10⁻¹³/ln γ` key
    /// units of the exact value. Wherever it is within `10⁻⁹·max(1/ln γ,
    /// 100)` of an integer (a margin of over 2,000×) the exact definition
    /// decides, so outside that band the ceiling is already the key.
    /// Subnormal, infinite and non-positive inputs take the definition too
    /// (for `m ≤ 0` or NaN the key is meaningless but never panics).
    ///
    /// ```
    /// use mlrig_core::{LogBuckets, SketchParams};
    /// struct Half;
    /// impl SketchParams for Half { const RELATIVE_ACCURACY: f64 = 0.005; }
    /// let buckets = LogBuckets::of::<Half>();
    /// assert_eq!(buckets.key(1.0), 0); // γ⁰ = 1 is the top of bucket 0
    /// assert_eq!(buckets.key(buckets.gamma()), 1);
    /// assert_eq!(buckets.key(2.0), 70); // γ⁶⁹ < 2 ≤ γ⁷⁰
    /// ```
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
    pub(crate) fn integer_key(&self, magnitude: u64) -> i32 {
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
    ///
    /// The bounds and the representative are `exp` (libm's, so the same
    /// bits everywhere) of `k·ln γ` and are within about `|k|·2⁻⁵³·ln γ`
    /// relative of the real `γᵏ` (a few hundred ulps at the extremes of the
    /// `f64` range): they describe the bucket, the key decides membership.
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
            low: libm::exp(f64::from(key - 1) * self.ln_gamma),
            high: libm::exp(log_high),
            value: libm::exp(log_high + self.ln_representative_scale).min(f64::MAX),
            count,
        }
    }
}
