//! Tests of the quantile sketch: keys, bounds, merge, serde.

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
        let boundary = libm::pow(buckets.gamma(), f64::from(k));
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
    let s =
        sketch_of::<HalfPercent>(&[0.0, -0.0, f64::NAN, f64::INFINITY, -3.0, f64::NEG_INFINITY]);
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
    assert_eq!(json["positive"]["70"], 1); // ⌈log_γ 2⌉ = 70 for α = 0.005
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
    fn keys_are_monotone_and_step_by_at_most_one(
        bits in 1u64..0x7ff0_0000_0000_0000,
        steps in 1u64..4,
    ) {
        // Exact keys are a non-decreasing step function of the value; a
        // rounded logarithm could step back by one next to a bucket edge.
        let (x, y) = (f64::from_bits(bits), f64::from_bits(bits + steps));
        for buckets in [LogBuckets::of::<HalfPercent>(), LogBuckets::of::<Fine>(), LogBuckets::of::<Finest>()] {
            let (a, b) = (buckets.key(x), buckets.key(y));
            prop_assert!(a <= b, "{:e}: {} then {}", x, a, b);
            // Subnormals are spaced wider than buckets near 2⁻¹⁰⁷⁴.
            prop_assert!(!x.is_normal() || b - a <= 1, "{:e}: {} then {}", x, a, b);
        }
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
