//! The features crate's parameters for [`mlrig_core::QuantileSketch`], the
//! sketch behind median imputation, robust scaling and quantile buckets.
//!
//! **Exact for few distinct values.** The sketch keeps exact value counts
//! while the column has at most [`EXACT_DISTINCT_LIMIT`] (1,024) distinct
//! values, and then its quantiles are numpy's exactly. Whether the counts
//! are kept depends only on the number of distinct values in all the data,
//! so it is independent of the split and merge order.
//!
//! **Error bound.** Otherwise, with `α` = [`SKETCH_RELATIVE_ERROR`] (0.001),
//! [`mlrig_core::QuantileSketch::quantile_interpolated`] returns numpy's
//! `"linear"` percentile (the interpolation between the order statistics
//! `x₍⌊r⌋₎` and `x₍⌈r⌉₎`, `r = q·(n − 1)`) computed from the bucket
//! representatives, so it is within `α · max(|x₍⌊r⌋₎|, |x₍⌈r⌉₎|)` of the exact
//! value (plus float rounding of `ln`/`exp`, about 1e-12 relative). The size
//! is bounded by the value range, not the row count: about
//! `ln(max / min) / ln γ ≈ 500 · ln(max / min)` buckets per sign.

use mlrig_core::SketchParams;

/// The relative-value error bound `α` of every [`QuantileSketch`].
pub(crate) const SKETCH_RELATIVE_ERROR: f64 = 0.001;

/// Up to this many distinct values, quantiles are exact.
pub(crate) const EXACT_DISTINCT_LIMIT: usize = 1024;

/// The fit-time sketch parameters: α = [`SKETCH_RELATIVE_ERROR`], exact up
/// to [`EXACT_DISTINCT_LIMIT`] distinct values.
#[derive(Debug)]
pub(crate) struct FitSketchParams;

impl SketchParams for FitSketchParams {
    const RELATIVE_ACCURACY: f64 = SKETCH_RELATIVE_ERROR;
    const EXACT_DISTINCT_LIMIT: usize = EXACT_DISTINCT_LIMIT;
}

/// The mergeable quantile sketch of a numeric column at fit time. Only
/// finite values are added (the input columns reject infinities).
pub(crate) type QuantileSketch = mlrig_core::QuantileSketch<FitSketchParams>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// numpy's "linear" percentile of sorted values, and its two order statistics.
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
        assert!(s.is_exact());
        assert_eq!(s.quantile_interpolated(0.5), Some(40.0));
        assert_eq!(s.quantile_interpolated(0.125), Some(37.5));
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
        assert!(a.is_exact() && b.is_exact() && !whole.is_exact());
        a.merge(&b);
        assert_eq!(a, whole);
    }

    #[test]
    fn summaries_keep_their_serialized_form() {
        // Analyzer state serializes the sketch; the shape is unchanged from
        // the features-only sketch it replaced.
        let mut s = QuantileSketch::default();
        for v in [-1.0, 0.0, 2.0, 2.0] {
            s.add(v);
        }
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"negative":{"0":1},"zeros":1,"positive":{"347":2},"exact":[[-1.0,1],[0.0,1],[2.0,2]],"overflowed":false}"#
        );
        assert_eq!(serde_json::from_str::<QuantileSketch>(&json).unwrap(), s);
    }

    proptest! {
        #[test]
        fn quantile_is_within_the_bound_beyond_the_exact_limit(
            values in proptest::collection::vec(
                prop_oneof![9 => -1e6..1e6f64, 1 => (-5i32..5).prop_map(f64::from)],
                1200..1400),
            q in 0.0..=1.0f64,
        ) {
            let mut s = QuantileSketch::default();
            for v in &values {
                s.add(*v);
            }
            prop_assume!(!s.is_exact());
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let (want, lo, hi) = exact(&sorted, q);
            let got = s.quantile_interpolated(q).unwrap();
            let bound = SKETCH_RELATIVE_ERROR * lo.abs().max(hi.abs()) * (1.0 + 1e-9) + 1e-300;
            prop_assert!((got - want).abs() <= bound, "{} vs {} (bound {})", got, want, bound);
        }
    }
}
