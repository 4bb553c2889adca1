//! Properties of the protobuf text format: every schema survives
//! `to_pbtxt` → `from_pbtxt` unchanged, and the parser never panics, however
//! broken its input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use mlrig_validate::*;
use proptest::prelude::*;

/// Every f64 except NaN (which is written and read, but is not equal to itself).
fn any_double() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{INFINITE, NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        NORMAL | SUBNORMAL | ZERO | INFINITE | NEGATIVE | POSITIVE,
        Just(1e-5),
        Just(0.1),
        Just(1e16),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z_\"'\\\\\n\t é]{0,6}"]
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

fn int_domain() -> impl Strategy<Value = IntDomain> {
    (
        opt(text()),
        opt(any::<i64>()),
        opt(any::<i64>()),
        any::<bool>(),
    )
        .prop_map(|(name, min, max, is_categorical)| IntDomain {
            unmodelled: Default::default(),
            name,
            min,
            max,
            is_categorical,
        })
}

fn float_domain() -> impl Strategy<Value = FloatDomain> {
    (
        opt(text()),
        opt(any_double()),
        opt(any_double()),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(
            |(name, min, max, (disallow_nan, disallow_inf, is_categorical))| FloatDomain {
                unmodelled: Default::default(),
                name,
                // tfmd stores `float` bounds: only `f32` values survive a file.
                min: min.map(|x: f64| f64::from(x as f32)),
                max: max.map(|x: f64| f64::from(x as f32)),
                disallow_nan,
                disallow_inf,
                is_categorical,
            },
        )
}

fn string_domain() -> impl Strategy<Value = StringDomain> {
    (opt(text()), proptest::collection::vec(text(), 0..4)).prop_map(|(name, value)| StringDomain {
        unmodelled: Default::default(),
        name,
        value,
    })
}

fn comparator() -> impl Strategy<Value = FeatureComparator> {
    let selection = prop_oneof![
        Just(HistogramSelectionType::Default),
        Just(HistogramSelectionType::Quantiles),
        Just(HistogramSelectionType::Standard),
    ];
    (
        opt(opt(any_double())),
        opt((opt(any_double()), opt(opt(selection)))),
        opt(opt(any_double())),
    )
        .prop_map(|(infinity, jsd, nad)| {
            let mut c = FeatureComparator::default();
            c.infinity_norm = infinity.map(|threshold| InfinityNorm {
                unmodelled: Default::default(),
                threshold,
            });
            c.jensen_shannon_divergence = jsd.map(|(threshold, source)| JensenShannonDivergence {
                unmodelled: Default::default(),
                threshold,
                source: source.map(|selection_type| HistogramSelection {
                    unmodelled: Default::default(),
                    selection_type,
                }),
            });
            c.normalized_abs_difference = nad.map(|threshold| NormalizedAbsoluteDifference {
                unmodelled: Default::default(),
                threshold,
            });
            c
        })
}

fn feature() -> impl Strategy<Value = Feature> {
    let feature_type = prop_oneof![
        Just(FeatureType::TypeUnknown),
        Just(FeatureType::Bytes),
        Just(FeatureType::Int),
        Just(FeatureType::Float),
        Just(FeatureType::Struct),
    ];
    let stage = prop_oneof![
        Just(LifecycleStage::UnknownStage),
        Just(LifecycleStage::Planned),
        Just(LifecycleStage::Alpha),
        Just(LifecycleStage::Beta),
        Just(LifecycleStage::Production),
        Just(LifecycleStage::Deprecated),
        Just(LifecycleStage::DebugOnly),
        Just(LifecycleStage::Disabled),
        Just(LifecycleStage::ValidationDerived),
    ];
    let constraints = (
        opt((opt(any_double()), opt(any::<i64>()))),
        opt(proptest::collection::vec((any::<i64>(), opt(text())), 0..3)),
        opt((opt(any::<i64>()), opt(any::<i64>()))),
        opt(opt(any_double())),
    );
    let domains = (
        opt(text()),
        opt(int_domain()),
        opt(float_domain()),
        opt(string_domain()),
        opt((opt(text()), opt(text()), opt(text()))),
    );
    let rest = (
        proptest::collection::vec(text(), 0..3),
        proptest::collection::vec(text(), 0..3),
        opt(stage),
        any::<bool>(),
        opt(comparator()),
        opt(comparator()),
    );
    (text(), feature_type, constraints, domains, rest).prop_map(
        |(name, feature_type, constraints, domains, rest)| {
            let mut f = Feature::new(name, feature_type);
            let (presence, shape, value_count, mass) = constraints;
            f.presence = presence.map(|(min_fraction, min_count)| FeaturePresence {
                unmodelled: Default::default(),
                min_fraction,
                min_count,
            });
            f.shape = shape.map(|dims| FixedShape {
                unmodelled: Default::default(),
                dim: dims
                    .into_iter()
                    .map(|(size, name)| Dim {
                        unmodelled: Default::default(),
                        size,
                        name,
                    })
                    .collect(),
            });
            let value_count = value_count.filter(|_| f.shape.is_none());
            f.value_count = value_count.map(|(min, max)| ValueCount {
                unmodelled: Default::default(),
                min,
                max,
            });
            f.distribution_constraints = mass.map(|min_domain_mass| DistributionConstraints {
                unmodelled: Default::default(),
                min_domain_mass,
            });
            let (domain, int_domain, float_domain, string_domain, bool_domain) = domains;
            // tfmd's `domain_info` is a oneof: keep the first domain given.
            if domain.is_some() {
                f.domain = domain;
            } else if int_domain.is_some() {
                f.int_domain = int_domain;
            } else if float_domain.is_some() {
                f.float_domain = float_domain;
            } else if string_domain.is_some() {
                f.string_domain = string_domain;
            }
            let bool_domain = bool_domain.filter(|_| {
                f.domain.is_none()
                    && f.int_domain.is_none()
                    && f.float_domain.is_none()
                    && f.string_domain.is_none()
            });
            f.bool_domain = bool_domain.map(|(name, true_value, false_value)| BoolDomain {
                unmodelled: Default::default(),
                name,
                true_value,
                false_value,
            });
            let (in_env, not_in_env, stage, deprecated, skew, drift) = rest;
            f.in_environment = in_env;
            f.not_in_environment = not_in_env;
            f.lifecycle_stage = stage;
            f.deprecated = deprecated;
            f.skew_comparator = skew;
            f.drift_comparator = drift;
            f
        },
    )
}

fn schema() -> impl Strategy<Value = Schema> {
    (
        proptest::collection::vec(feature(), 0..4),
        proptest::collection::vec(string_domain(), 0..3),
        proptest::collection::vec(float_domain(), 0..2),
        proptest::collection::vec(int_domain(), 0..2),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(|(features, strings, floats, ints, environments)| {
            let mut s = Schema::default();
            s.features = features;
            s.string_domain = strings;
            s.float_domain = floats;
            s.int_domain = ints;
            s.default_environment = environments;
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn schema_survives_pbtxt_round_trip(schema in schema()) {
        let (text, _) = common::pbtxt_round_trip(&schema)?;
        // And the text form agrees with the JSON form.
        let json = Schema::from_tfmd_json(&schema.to_tfmd_json().unwrap()).unwrap();
        prop_assert_eq!(json.to_pbtxt().unwrap(), text);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in any::<String>()) {
        if let Err(e) = Schema::from_pbtxt(&text) {
            let ValidateError::TextFormat { line, column, .. } = e else {
                return Err(TestCaseError::fail(format!("unexpected error kind: {e}")));
            };
            prop_assert!(line >= 1 && line <= text.lines().count() + 1);
            prop_assert!(column >= 1);
        }
    }

    #[test]
    fn parser_never_panics_on_damaged_schemas(
        schema in schema(),
        cut in any::<prop::sample::Index>(),
        insert in "[{}<>\\[\\]:;,\"'#\\\\a-z0-9 \n.-]{0,3}",
    ) {
        let text = schema.to_pbtxt().unwrap();
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let damaged = format!("{}{insert}{}", &text[..at], &text[at..]);
        let _ = Schema::from_pbtxt(&damaged);
        let _ = Schema::from_pbtxt(&text[..at]);
    }
}

#[test]
fn nan_thresholds_are_written_and_read_as_nan() {
    let mut schema = Schema::default();
    let mut f = Feature::new("x", FeatureType::Float);
    f.drift_comparator = Some(FeatureComparator::infinity_norm(f64::NAN));
    schema.features.push(f);
    let text = schema.to_pbtxt().unwrap();
    assert!(text.contains("threshold: nan"), "{text}");
    let back = Schema::from_pbtxt(&text).unwrap();
    let threshold = back.features[0]
        .drift_comparator
        .as_ref()
        .and_then(|c| c.infinity_norm.as_ref())
        .and_then(|n| n.threshold)
        .unwrap();
    assert!(threshold.is_nan());
}
