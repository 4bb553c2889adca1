//! [`SketchBucket`]: one bucket of a sketch, and quantiles over a list of
//! buckets ([`quantile_of_buckets`]).

/// One non-empty bucket of a sketch, as listed by
/// [`QuantileSketch::buckets`](super::QuantileSketch::buckets).
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
