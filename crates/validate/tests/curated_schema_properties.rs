//! Properties of curated schemas:
//!
//! * write → parse is the identity for any schema, in both formats, with
//!   every modelled field (dataset constraints and value counts included);
//! * `update_schema(schema, statistics of data that validates)` is a no-op,
//!   and after any update the same data validates (dataset-level anomalies
//!   aside: update_schema never relaxes dataset constraints, as TFDV).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlrig_validate::*;
use proptest::prelude::*;

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

/// Any f64 but NaN (not equal to itself).
fn double() -> impl Strategy<Value = f64> {
    use proptest::num::f64::{INFINITE, NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        NORMAL | SUBNORMAL | ZERO | INFINITE | NEGATIVE | POSITIVE,
        Just(0.5)
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z\"\\\\ é]{0,5}"]
}

fn value_count() -> impl Strategy<Value = ValueCount> {
    (opt(any::<i64>()), opt(any::<i64>())).prop_map(|(min, max)| ValueCount {
        unmodelled: Default::default(),
        min,
        max,
    })
}

fn comparator() -> impl Strategy<Value = NumericValueComparator> {
    (opt(double()), opt(double())).prop_map(|(min_fraction_threshold, max_fraction_threshold)| {
        NumericValueComparator {
            unmodelled: Default::default(),
            min_fraction_threshold,
            max_fraction_threshold,
        }
    })
}

fn feature() -> impl Strategy<Value = Feature> {
    let stage = prop_oneof![
        Just(LifecycleStage::Production),
        Just(LifecycleStage::Deprecated),
        Just(LifecycleStage::Disabled),
    ];
    (
        name(),
        prop_oneof![
            Just(FeatureType::Int),
            Just(FeatureType::Bytes),
            Just(FeatureType::Float)
        ],
        opt((opt(double()), opt(any::<i64>()))),
        opt(value_count()),
        opt(proptest::collection::vec(value_count(), 0..3)),
        opt((opt(any::<i64>()), opt(any::<i64>()))),
        opt(stage),
        (
            proptest::collection::vec(name(), 0..2),
            proptest::collection::vec(name(), 0..2),
            opt(double()),
            opt(proptest::collection::vec(name(), 0..3)),
        ),
    )
        .prop_map(
            |(name, t, presence, count, counts, range, stage, (envs, not_envs, drift, strings))| {
                let mut f = Feature::new(name, t);
                f.presence = presence.map(|(min_fraction, min_count)| FeaturePresence {
                    unmodelled: Default::default(),
                    min_fraction,
                    min_count,
                });
                f.value_count = count;
                f.value_counts = counts.map(|value_count| ValueCountList {
                    unmodelled: Default::default(),
                    value_count,
                });
                f.int_domain = range.map(|(min, max)| IntDomain {
                    min,
                    max,
                    ..IntDomain::default()
                });
                f.lifecycle_stage = stage;
                f.in_environment = envs;
                f.not_in_environment = not_envs;
                f.drift_comparator = drift.map(FeatureComparator::infinity_norm);
                f.string_domain = strings.map(|value| StringDomain {
                    unmodelled: Default::default(),
                    name: None,
                    value,
                });
                // tfmd `oneof`s: one shape and one domain at most.
                if f.value_count.is_some() {
                    f.value_counts = None;
                }
                if f.int_domain.is_some() {
                    f.string_domain = None;
                }
                f
            },
        )
}

fn schema() -> impl Strategy<Value = Schema> {
    (
        proptest::collection::vec(feature(), 0..4),
        proptest::collection::vec(name(), 0..3),
        opt((
            opt(comparator()),
            opt(comparator()),
            opt(any::<i64>()),
            opt(any::<i64>()),
        )),
    )
        .prop_map(|(features, environments, constraints)| {
            let mut s = Schema::default();
            s.features = features;
            s.default_environment = environments;
            s.dataset_constraints =
                constraints.map(|(drift, version, min, max)| DatasetConstraints {
                    unmodelled: Default::default(),
                    num_examples_drift_comparator: drift,
                    num_examples_version_comparator: version,
                    min_examples_count: min,
                    max_examples_count: max,
                });
            s
        })
}

/// A small table: an int, a float (with NaN and ∞ now and then) and a
/// string column, each with missing values.
#[derive(Debug, Clone)]
struct Data {
    ints: Vec<Option<i64>>,
    floats: Vec<Option<f64>>,
    strings: Vec<Option<&'static str>>,
}

fn data() -> impl Strategy<Value = Data> {
    let float = prop_oneof![
        8 => (-10.0f64..10.0).prop_map(Some),
        1 => Just(None),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)].prop_map(Some),
    ];
    (1usize..25).prop_flat_map(move |n| {
        (
            proptest::collection::vec(opt(-20i64..20), n),
            proptest::collection::vec(float.clone(), n),
            proptest::collection::vec(
                opt(prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")]),
                n,
            ),
        )
            .prop_map(|(ints, floats, strings)| Data {
                ints,
                floats,
                strings,
            })
    })
}

impl Data {
    fn batch(&self) -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "i",
                Arc::new(Int64Array::from(self.ints.clone())) as ArrayRef,
            ),
            (
                "f",
                Arc::new(Float64Array::from(self.floats.clone())) as ArrayRef,
            ),
            (
                "s",
                Arc::new(StringArray::from(self.strings.clone())) as ArrayRef,
            ),
        ])
        .unwrap()
    }
}

/// How a user might have edited the inferred schema: bounds anywhere
/// around the data, presence and value counts of any strictness, extra or
/// fewer domain values, deprecated, dropped and extra features.
#[derive(Debug, Clone)]
struct Edits {
    int_range: (Option<i64>, Option<i64>),
    float_range: (Option<f64>, Option<f64>, bool, bool),
    domain: Vec<&'static str>,
    min_domain_mass: Option<f64>,
    presence: [Option<f64>; 3],
    min_count: [Option<i64>; 3],
    value_count: [Option<(Option<i64>, Option<i64>)>; 3],
    deprecate: Option<usize>,
    drop: Option<usize>,
    ghost_presence: Option<Option<i64>>,
    shape: bool,
    /// Keep only the edits the data meets (so that half of the cases are
    /// curated schemas the data validates against).
    lenient: bool,
}

fn fraction() -> impl Strategy<Value = Option<f64>> {
    opt(prop_oneof![Just(0.3), Just(0.8), Just(1.0)])
}

fn count() -> impl Strategy<Value = Option<i64>> {
    opt(0i64..30)
}

fn bounds() -> impl Strategy<Value = Option<(Option<i64>, Option<i64>)>> {
    opt((opt(0i64..3), opt(0i64..3)))
}

fn edits() -> impl Strategy<Value = Edits> {
    (
        (opt(-25i64..25), opt(-25i64..25)),
        (
            opt(-12.0f64..12.0),
            opt(-12.0f64..12.0),
            any::<bool>(),
            any::<bool>(),
        ),
        proptest::sample::subsequence(vec!["a", "b", "c", "d", "e"], 0..5),
        opt(prop_oneof![Just(0.5), Just(0.9)]),
        [fraction(), fraction(), fraction()],
        [count(), count(), count()],
        [bounds(), bounds(), bounds()],
        (
            opt(0usize..3),
            opt(0usize..3),
            opt(opt(0i64..2)),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(|t| Edits {
            int_range: t.0,
            float_range: t.1,
            domain: t.2,
            min_domain_mass: t.3,
            presence: t.4,
            min_count: t.5,
            value_count: t.6,
            deprecate: t.7.0,
            drop: t.7.1,
            ghost_presence: t.7.2,
            shape: t.7.3,
            lenient: t.7.4,
        })
}

impl Edits {
    /// The edits reduced to what `data` meets.
    fn met_by(mut self, data: &Data) -> Self {
        let n = data.ints.len() as f64;
        let ints: Vec<i64> = data.ints.iter().flatten().copied().collect();
        let (lo, hi) = (ints.iter().min().copied(), ints.iter().max().copied());
        self.int_range = (
            self.int_range.0.map(|m| lo.map_or(m, |lo| m.min(lo))),
            self.int_range.1.map(|m| hi.map_or(m, |hi| m.max(hi))),
        );
        let floats: Vec<f64> = data.floats.iter().flatten().copied().collect();
        let finite = floats.iter().copied().filter(|x| !x.is_nan());
        let flo = finite.clone().fold(f64::INFINITY, f64::min);
        let fhi = finite.fold(f64::NEG_INFINITY, f64::max);
        let (min, max, nan, inf) = self.float_range;
        self.float_range = (
            min.filter(|_| flo > f64::NEG_INFINITY).map(|m| m.min(flo)),
            max.filter(|_| fhi < f64::INFINITY).map(|m| m.max(fhi)),
            nan && !floats.iter().any(|x| x.is_nan()),
            inf && !floats.iter().any(|x| x.is_infinite()),
        );
        let mut domain = self.domain.clone();
        domain.extend(data.strings.iter().flatten().copied());
        domain.sort_unstable();
        domain.dedup();
        self.domain = domain;
        let present = [
            data.ints.iter().flatten().count(),
            data.floats.iter().flatten().count(),
            data.strings.iter().flatten().count(),
        ];
        for (k, present) in present.into_iter().enumerate() {
            let fraction = present as f64 / n;
            self.presence[k] = self.presence[k].filter(|f| *f <= fraction);
            self.min_count[k] = self.min_count[k].filter(|c| *c <= present as i64);
            if present > 0 {
                self.value_count[k] = self.value_count[k]
                    .map(|(min, max)| (min.map(|m| m.min(1)), max.map(|m| m.max(1))));
            }
        }
        self.drop = None;
        self.ghost_presence = self.ghost_presence.map(|_| None);
        self
    }
}

fn curated(stats: &DatasetStatistics, e: &Edits) -> Schema {
    let params = SchemaInferenceParams::default().with_infer_feature_shape(e.shape);
    let mut schema = infer_schema(stats, &params);
    for (k, name) in ["i", "f", "s"].into_iter().enumerate() {
        let Some(f) = schema.feature_mut(name) else {
            continue;
        };
        f.presence = match (e.presence[k], e.min_count[k]) {
            (None, None) => None,
            (min_fraction, min_count) => Some(FeaturePresence {
                unmodelled: Default::default(),
                min_fraction,
                min_count,
            }),
        };
        // A shape means a value in every example: only with min_fraction 1.
        if f.presence.as_ref().and_then(|p| p.min_fraction) != Some(1.0) {
            f.shape = None;
        }
        if let Some((min, max)) = e.value_count[k] {
            f.shape = None;
            f.value_count = Some(ValueCount {
                unmodelled: Default::default(),
                min,
                max,
            });
        }
        if e.deprecate == Some(k) {
            f.lifecycle_stage = Some(LifecycleStage::Deprecated);
        }
    }
    if let Some(i) = schema.feature_mut("i") {
        i.int_domain = Some(IntDomain {
            min: e.int_range.0,
            max: e.int_range.1,
            ..IntDomain::default()
        });
    }
    if let Some(f) = schema.feature_mut("f") {
        let (min, max, disallow_nan, disallow_inf) = e.float_range;
        // tfmd bounds are `f32`s: round outwards, as schema inference does.
        let outwards = |x: f64, down: bool| {
            let f = x as f32;
            match (down, f64::from(f)) {
                (true, v) if v > x => f64::from(f.next_down()),
                (false, v) if v < x => f64::from(f.next_up()),
                (_, v) => v,
            }
        };
        f.float_domain = Some(FloatDomain {
            min: min.map(|x| outwards(x, true)),
            max: max.map(|x| outwards(x, false)),
            disallow_nan,
            disallow_inf,
            ..FloatDomain::default()
        });
    }
    if let Some(s) = schema.feature_mut("s") {
        s.domain = None;
        s.string_domain = Some(StringDomain {
            unmodelled: Default::default(),
            name: None,
            value: e.domain.iter().map(|v| v.to_string()).collect(),
        });
        s.distribution_constraints =
            e.min_domain_mass
                .map(|min_domain_mass| DistributionConstraints {
                    unmodelled: Default::default(),
                    min_domain_mass: Some(min_domain_mass),
                });
    }
    schema
        .string_domain
        .retain(|d| d.name.as_deref() != Some("s"));
    if let Some(k) = e.drop {
        let name = ["i", "f", "s"][k];
        schema.features.retain(|f| f.name != name);
    }
    if let Some(min_count) = e.ghost_presence {
        let mut ghost = Feature::new("ghost", FeatureType::Int);
        ghost.presence = Some(FeaturePresence {
            unmodelled: Default::default(),
            min_fraction: None,
            min_count,
        });
        schema.features.push(ghost);
    }
    schema.dataset_constraints = Some(DatasetConstraints {
        min_examples_count: Some(1000),
        ..DatasetConstraints::default()
    });
    schema
}

/// The anomalies about features (update_schema leaves dataset constraints alone).
fn feature_anomalies(schema: &Schema, batch: &RecordBatch) -> Vec<String> {
    let found = validate_batches(
        schema,
        &batch.schema(),
        [batch],
        &ValidationOptions::default(),
    )
    .unwrap();
    found
        .iter()
        .filter(|a| !a.kind.is_dataset_level())
        .map(ToString::to_string)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_then_parse_is_the_identity_in_both_formats(schema in schema()) {
        let (text, back) = common::pbtxt_round_trip(&schema)?;
        prop_assert_eq!(back.to_pbtxt().unwrap(), text);
        let json = schema.to_tfmd_json().unwrap();
        prop_assert_eq!(Schema::from_tfmd_json(&json).unwrap(), schema);
    }

    #[test]
    fn update_is_a_no_op_on_valid_data_and_makes_any_data_valid(data in data(), e in edits()) {
        let batch = data.batch();
        let stats = compute_statistics(std::slice::from_ref(&batch), &batch.schema(), &StatisticsParams::default()).unwrap();
        let e = if e.lenient { e.clone().met_by(&data) } else { e };
        let schema = curated(&stats, &e);
        let options = SchemaUpdateOptions::default();
        let update = update_schema(&schema, &stats, &options).unwrap();
        let before = feature_anomalies(&schema, &batch);
        if before.is_empty() {
            prop_assert!(update.is_unchanged(), "{:?}", update.changes);
            prop_assert_eq!(&update.schema, &schema);
        } else {
            prop_assert!(!update.is_unchanged(), "anomalies {:?} but no change", before);
        }
        let after = feature_anomalies(&update.schema, &batch);
        prop_assert!(after.is_empty(), "after {:?}: {:?}", update.changes, after);
        prop_assert_eq!(update.schema.dataset_constraints.clone(), schema.dataset_constraints.clone());
        let again = update_schema(&update.schema, &stats, &options).unwrap();
        prop_assert!(again.is_unchanged(), "{:?}", again.changes);
        // And the curated schema itself survives both formats.
        prop_assert_eq!(Schema::from_pbtxt(&update.schema.to_pbtxt().unwrap()).unwrap(), update.schema.clone());
    }
}
