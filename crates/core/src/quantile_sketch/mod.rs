//! [`QuantileSketch`]: a DDSketch-style quantile sketch with a relative value
//! error `α` chosen per use ([`SketchParams`]) and an exact, order-independent
//! merge.
//!
//! The sketch, its error bound and its fast batch path are documented on
//! [`QuantileSketch`]. One concept per module:
//!
//! * `key_mapping`: [`LogBuckets`], value → bucket key (`⌈log_γ m⌉`) and
//!   bucket → bounds and representative, with a fast table-driven path;
//! * `exact_key`: the exact decision `m ≤ γⁿ` the key mapping falls back
//!   to near bucket edges (double-double arithmetic, no libm);
//! * `bucket`: [`SketchBucket`] and [`quantile_of_buckets`];
//! * `sketch`: [`QuantileSketch`] itself (add, merge, quantiles);
//! * `batch`: [`SketchBatch`], the per-batch fast path;
//! * `serde_form`: the serialized form and its consistency checks.
//!
//! Every float on these paths comes from IEEE-754 basic operations or the
//! pure-Rust [`libm`] crate, never the platform's math library, so a sketch
//! built on one machine has the same keys, bounds and representatives on
//! every other (see `docs/architecture.md`, "Deterministic math").

use std::marker::PhantomData;

mod batch;
mod bucket;
mod exact_key;
mod key_mapping;
mod serde_form;
mod sketch;
#[cfg(test)]
mod tests;

pub use batch::SketchBatch;
pub use bucket::{SketchBucket, quantile_of_buckets};
pub use key_mapping::LogBuckets;
pub use sketch::QuantileSketch;

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
