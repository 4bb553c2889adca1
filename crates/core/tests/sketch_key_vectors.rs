//! Golden vectors of quantile-sketch bucket keys: `⌈log_γ x⌉` computed
//! independently with 300-bit arithmetic by
//! `scripts/make_sketch_key_vectors.py` (values at and around bucket edges,
//! subnormal and huge values, integers, random bit patterns), for the two
//! accuracies mlrig uses. Every path to a key — [`LogBuckets::key`],
//! [`QuantileSketch::add`], [`SketchBatch::push`] and
//! [`SketchBatch::push_int`] — must give these keys on every platform.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use mlrig_core::{LogBuckets, QuantileSketch, SketchBatch, SketchParams};
use serde::Deserialize;

const VECTORS: &str = include_str!("fixtures/sketch_keys.json");

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    relative_accuracy: f64,
    gamma: f64,
    key_of_smallest_subnormal: i32,
    key_of_f64_max: i32,
    keys: Vec<(f64, i32)>,
}

/// mlrig-validate's accuracy.
struct Validate;
impl SketchParams for Validate {
    const RELATIVE_ACCURACY: f64 = 0.005;
}

/// mlrig-features' accuracy (its exact mode does not change keys).
struct Features;
impl SketchParams for Features {
    const RELATIVE_ACCURACY: f64 = 0.001;
}

fn check<P: SketchParams>(case: &Case) {
    assert_eq!(case.relative_accuracy, P::RELATIVE_ACCURACY);
    let buckets = LogBuckets::of::<P>();
    assert_eq!(buckets.gamma().to_bits(), case.gamma.to_bits());
    assert_eq!(buckets.key(5e-324), case.key_of_smallest_subnormal);
    assert_eq!(buckets.key(f64::MAX), case.key_of_f64_max);
    assert!(case.keys.len() > 2_000);

    let mut mismatches = Vec::new();
    let mut expected: BTreeMap<i32, u64> = BTreeMap::new();
    let mut expected_integers: BTreeMap<i32, u64> = BTreeMap::new();
    let (mut one_by_one, mut batched, mut integers) = (
        QuantileSketch::<P>::new(),
        SketchBatch::<P>::default(),
        SketchBatch::<P>::default(),
    );
    for &(x, key) in &case.keys {
        if buckets.key(x) != key {
            mismatches.push(format!(
                "{x:e} ({:#018x}): {} ≠ {key}",
                x.to_bits(),
                buckets.key(x)
            ));
        }
        *expected.entry(key).or_default() += 1;
        one_by_one.add(x);
        batched.push(-x);
        if x.fract() == 0.0 && x < 9.2e18 {
            *expected_integers.entry(key).or_default() += 1;
            integers.push_int(x as i64);
            integers.push_int(-(x as i64));
        }
    }
    assert!(
        mismatches.is_empty(),
        "α = {}:\n{}",
        P::RELATIVE_ACCURACY,
        mismatches.join("\n")
    );

    let counts = |sketch: &QuantileSketch<P>, sign: &str| -> BTreeMap<i32, u64> {
        let json = serde_json::to_value(sketch).unwrap();
        serde_json::from_value(json[sign].clone()).unwrap()
    };
    assert_eq!(counts(&one_by_one, "positive"), expected);
    let mut sketch = QuantileSketch::<P>::new();
    sketch.absorb(&mut batched);
    assert_eq!(counts(&sketch, "negative"), expected);
    let mut sketch = QuantileSketch::<P>::new();
    sketch.absorb(&mut integers);
    assert!(expected_integers.values().sum::<u64>() > 300);
    assert_eq!(counts(&sketch, "positive"), expected_integers);
    assert_eq!(counts(&sketch, "negative"), expected_integers);
}

#[test]
fn keys_equal_the_high_precision_reference() {
    let vectors: Vectors = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(vectors.cases.len(), 2);
    check::<Validate>(&vectors.cases[0]);
    check::<Features>(&vectors.cases[1]);
}
