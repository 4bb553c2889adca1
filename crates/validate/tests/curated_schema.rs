//! Curated schemas against TensorFlow Data Validation 1.16.1 (fixtures made by
//! `tests/fixtures/tfdv/make_curated_fixtures.py`):
//!
//! * a user-edited schema (tightened domain and ranges, changed presence, a
//!   deprecated feature, value counts, drift/skew comparators, environments,
//!   dataset constraints), written by TFDV, loads from `.pbtxt` and `.json`
//!   to the same [`Schema`] and is written back unchanged;
//! * a tfmd field mlrig does not act on survives load and save in every
//!   format, and a field tfmd does not have is an error naming its line;
//! * [`update_schema`] gives exactly TFDV's `update_schema` on the same
//!   statistics, and keeps what the data meets;
//! * the validator finds TFDV's dataset-level and value-count anomalies,
//!   with TFDV's descriptions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{read_raw_from, sample_path, to_batches};
use mlrig_validate::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tfdv");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

fn curated() -> Schema {
    Schema::load(&fixture("adult_curated.schema.pbtxt")).unwrap()
}

/// TFDV's own update mode: new features get no shape and no numeric range.
fn tfdv_like_options() -> SchemaUpdateOptions {
    SchemaUpdateOptions::default().with_inference(
        SchemaInferenceParams::default()
            .with_infer_feature_shape(false)
            .with_infer_numeric_ranges(false),
    )
}

#[test]
fn every_edit_of_the_curated_schema_survives_both_formats() {
    let text = std::fs::read_to_string(fixture("adult_curated.schema.pbtxt")).unwrap();
    let schema = curated();
    assert_eq!(
        Schema::load(&fixture("adult_curated.schema.json")).unwrap(),
        schema
    );
    assert_eq!(schema.to_pbtxt().unwrap(), text, "rewritten byte for byte");
    assert_eq!(
        Schema::from_tfmd_json(&schema.to_tfmd_json().unwrap()).unwrap(),
        schema
    );
    let dir = tempfile::tempdir().unwrap();
    for name in ["copy.pbtxt", "copy.json"] {
        let path = dir.path().join(name);
        schema.save(&path).unwrap();
        assert_eq!(Schema::load(&path).unwrap(), schema, "{name}");
    }

    // The edits themselves.
    let age = schema.feature("age").unwrap();
    assert_eq!(
        (
            age.int_domain.as_ref().unwrap().min,
            age.int_domain.as_ref().unwrap().max
        ),
        (Some(17), Some(90))
    );
    assert_eq!(
        age.drift_comparator
            .as_ref()
            .unwrap()
            .jensen_shannon_divergence
            .as_ref()
            .unwrap()
            .threshold,
        Some(0.1)
    );
    let workclass = schema.feature("workclass").unwrap();
    let domain = schema.string_domain_of(workclass).unwrap().unwrap();
    assert!(!domain.value.iter().any(|v| v == "Never-worked"));
    assert_eq!(
        workclass.drift_comparator,
        Some(FeatureComparator::infinity_norm(0.01))
    );
    assert_eq!(
        schema.feature("education").unwrap().skew_comparator,
        Some(FeatureComparator::infinity_norm(0.05))
    );
    let occupation = schema.feature("occupation").unwrap();
    assert_eq!(
        occupation.presence.as_ref().unwrap().min_fraction,
        Some(0.5)
    );
    let fnlwgt = schema.feature("fnlwgt").unwrap();
    assert_eq!(fnlwgt.lifecycle_stage, Some(LifecycleStage::Deprecated));
    assert_eq!(
        schema.feature("race").unwrap().value_count,
        Some(ValueCount {
            unmodelled: Default::default(),
            min: Some(2),
            max: None
        })
    );
    assert_eq!(schema.default_environment, ["TRAINING", "SERVING"]);
    let income = schema.feature("income").unwrap();
    assert!(!schema.is_in_environment(income, "SERVING"));
    let constraints = schema.dataset_constraints.as_ref().unwrap();
    assert_eq!(constraints.min_examples_count, Some(1000));
    assert_eq!(constraints.max_examples_count, Some(100000));
    assert_eq!(
        constraints.num_examples_drift_comparator,
        Some(NumericValueComparator {
            unmodelled: Default::default(),
            min_fraction_threshold: Some(0.5),
            max_fraction_threshold: Some(2.0),
        })
    );
    assert_eq!(
        constraints
            .num_examples_version_comparator
            .as_ref()
            .unwrap()
            .max_fraction_threshold,
        Some(0.05)
    );
}

#[test]
fn fields_mlrig_does_not_act_on_survive_an_edit_and_a_typo_is_an_error_naming_its_line() {
    let text = std::fs::read_to_string(fixture("adult_curated.schema.pbtxt")).unwrap();
    let line = text.lines().position(|l| l == "  name: \"race\"").unwrap() + 1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.pbtxt");

    // A tfmd field mlrig does not act on is kept, in every format.
    let edited = text.replacen(
        "  name: \"race\"\n",
        "  name: \"race\"\n  annotation {\n    tag: \"sensitive\"\n  }\n",
        1,
    );
    std::fs::write(&path, &edited).unwrap();
    let schema = Schema::load(&path).unwrap();
    assert_eq!(schema.unmodelled_fields(), ["feature[race].annotation"]);
    let written = schema.to_pbtxt().unwrap();
    assert!(
        written.contains("  annotation {\n    tag: \"sensitive\"\n  }\n"),
        "{written}"
    );
    for file in ["schema.json", "schema.pb", "copy.pbtxt"] {
        let copy = dir.path().join(file);
        schema.save(&copy).unwrap();
        assert_eq!(Schema::load(&copy).unwrap(), schema, "{file}");
    }

    // A field tfmd does not have is an error naming it, its line and column.
    let typo = text.replacen(
        "  name: \"race\"\n",
        "  name: \"race\"\n  anotation {\n  }\n",
        1,
    );
    std::fs::write(&path, typo).unwrap();
    let err = Schema::load(&path).unwrap_err().to_string();
    let expected = format!(
        "{}:{}:3: unknown field `anotation` in tensorflow.metadata.v0.Feature",
        path.display(),
        line + 1
    );
    assert!(err.starts_with(&expected), "{err}\nexpected: {expected}");

    let json = std::fs::read_to_string(fixture("adult_curated.schema.json")).unwrap();
    let edited = json.replacen(
        "\"name\": \"race\",",
        "\"name\": \"race\",\n      \"anotation\": {\"tag\": [\"sensitive\"]},",
        1,
    );
    let path = dir.path().join("schema.json");
    std::fs::write(&path, edited).unwrap();
    let err = Schema::load(&path).unwrap_err().to_string();
    assert!(err.contains("unrecognized field name 'anotation'"), "{err}");
    assert!(err.contains(" line "), "{err}");
}

#[test]
fn update_schema_gives_tfdv_update_schema_and_lists_its_changes() {
    let stats = DatasetStatistics::load_file(&fixture("adult_shifted.stats.json")).unwrap();
    let tfdv = Schema::load(&fixture("adult_curated_updated.schema.pbtxt")).unwrap();
    let update = update_schema(&curated(), &stats, &tfdv_like_options()).unwrap();
    assert_eq!(update.schema, tfdv);
    assert_eq!(
        update.schema.to_pbtxt().unwrap(),
        std::fs::read_to_string(fixture("adult_curated_updated.schema.pbtxt")).unwrap()
    );
    let changes: Vec<(&str, SchemaChangeKind, &str, &str, &str)> = update
        .changes
        .iter()
        .map(|c| {
            (
                c.feature.as_str(),
                c.kind,
                c.field.as_str(),
                c.before.as_str(),
                c.after.as_str(),
            )
        })
        .collect();
    use SchemaChangeKind::*;
    assert_eq!(
        changes,
        [
            ("age", RelaxedConstraint, "int_domain.max", "90", "112"),
            (
                "workclass",
                ExtendedDomain,
                "string_domain \"workclass\"",
                "7 values",
                "8 values"
            ),
            (
                "relationship",
                RelaxedConstraint,
                "value_count.max",
                "0",
                "1"
            ),
            ("race", RelaxedConstraint, "value_count.min", "2", "1"),
            (
                "capital-gain",
                RelaxedConstraint,
                "int_domain.max",
                "1000",
                "99999"
            ),
            (
                "hours-per-week",
                RelaxedConstraint,
                "presence.min_fraction",
                "0.95",
                "0.5"
            ),
            (
                "hours-per-week",
                RelaxedConstraint,
                "shape",
                "[1]",
                "removed"
            ),
            ("device", AddedFeature, "feature", "unset", "BYTES"),
        ]
    );
    assert!(update.changes[1].reason.contains("\"Space-agency\""));
    // What the data meets is untouched: the tightened min of age, the
    // relaxed presence of occupation, the deprecated fnlwgt, comparators,
    // environments, dataset constraints.
    let (before, after) = (curated(), &update.schema);
    for name in [
        "occupation",
        "fnlwgt",
        "educational-num",
        "income",
        "education",
    ] {
        assert_eq!(after.feature(name), before.feature(name), "{name}");
    }
    assert_eq!(after.dataset_constraints, before.dataset_constraints);
    assert_eq!(after.default_environment, before.default_environment);
    // A second update with the same statistics changes nothing.
    let again = update_schema(after, &stats, &tfdv_like_options()).unwrap();
    assert!(again.is_unchanged(), "{:?}", again.changes);
}

#[test]
fn tfdv_schemas_are_fixed_points_of_their_own_statistics() {
    for name in ["adult_sample", "iris", "penguins", "wine", "diabetes"] {
        let schema = Schema::load(&fixture(&format!("{name}.schema.pbtxt"))).unwrap();
        let stats = DatasetStatistics::load_file(&fixture(&format!("{name}.stats.json"))).unwrap();
        let update = update_schema(&schema, &stats, &tfdv_like_options()).unwrap();
        assert!(update.is_unchanged(), "{name}: {:?}", update.changes);
        assert_eq!(update.schema, schema, "{name}");
    }
}

/// The kinds the validator checks from data; the drift comparators are
/// [`compare`]'s and `INVALID_FEATURE_SHAPE` is not checked (see
/// tfdv_golden.rs).
fn checked_by_the_validator(kind: &AnomalyKind) -> bool {
    !matches!(
        kind.name(),
        "COMPARATOR_L_INFTY_HIGH"
            | "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH"
            | "INVALID_FEATURE_SHAPE"
    )
}

#[test]
fn validator_finds_tfdv_dataset_and_value_count_anomalies_with_tfdv_descriptions() {
    let text = std::fs::read_to_string(fixture("adult_curated.anomalies.json")).unwrap();
    let tfdv = Anomalies::from_tfmd_json(&text).unwrap();
    let dataset: Vec<&str> = tfdv
        .iter()
        .filter(|a| a.feature == Anomaly::DATASET)
        .map(|a| a.kind.name())
        .collect();
    assert_eq!(
        dataset,
        [
            "COMPARATOR_LOW_NUM_EXAMPLES",
            "COMPARATOR_HIGH_NUM_EXAMPLES",
            "DATASET_LOW_NUM_EXAMPLES"
        ]
    );

    let table = read_raw_from(&sample_path("adult_shifted.csv"), &[""]);
    let (batch_schema, batches) = to_batches(&table, 128);
    let previous = DatasetStatistics::load_file(&fixture("adult_sample.stats.json")).unwrap();
    let options = ValidationOptions::default()
        .with_previous_span_num_examples(previous.num_examples)
        .with_previous_version_num_examples(previous.num_examples);
    let mlrig = validate_batches(&curated(), &batch_schema, &batches, &options).unwrap();

    let set = |a: &Anomalies| -> BTreeSet<(String, String)> {
        a.iter()
            .filter(|a| checked_by_the_validator(&a.kind))
            .map(|a| (a.feature.clone(), a.kind.name().to_string()))
            .collect()
    };
    assert_eq!(set(&mlrig), set(&tfdv), "{mlrig}");

    let tfdv_words = [
        AnomalyKind::FeatureTypeLowNumberValues,
        AnomalyKind::FeatureTypeHighNumberValues,
        AnomalyKind::DatasetLowNumExamples,
        AnomalyKind::ComparatorLowNumExamples,
        AnomalyKind::ComparatorHighNumExamples,
    ];
    for kind in &tfdv_words {
        let theirs = tfdv.iter().find(|a| a.kind == *kind).unwrap();
        let ours = mlrig.get(&theirs.feature, kind).unwrap();
        assert_eq!(ours.description, theirs.description, "{kind}");
    }
    // Every anomaly names expected and found.
    for a in &mlrig {
        assert!(!a.expected.is_empty() && !a.found.is_empty(), "{a}");
    }
    let race = mlrig
        .get("race", &AnomalyKind::FeatureTypeLowNumberValues)
        .unwrap();
    assert_eq!(race.expected, "at least 2 values per example");
    assert_eq!(race.found, "1 value in each of 400 examples");
    let low = mlrig
        .get(Anomaly::DATASET, &AnomalyKind::DatasetLowNumExamples)
        .unwrap();
    assert_eq!(
        low.to_string(),
        "(dataset): DATASET_LOW_NUM_EXAMPLES: expected at least 1000 examples, found 400 examples"
    );

    // The same from statistics alone.
    let stats = DatasetStatistics::load_file(&fixture("adult_shifted.stats.json")).unwrap();
    let from_stats =
        check_dataset_constraints(&curated(), &stats, Some(&previous), Some(&previous));
    let mlrig_dataset: Vec<&Anomaly> = mlrig
        .iter()
        .filter(|a| a.feature == Anomaly::DATASET)
        .collect();
    assert_eq!(from_stats.iter().collect::<Vec<_>>(), mlrig_dataset);

    // And the JSON puts them in tfmd's `datasetAnomalyInfo`.
    let json: serde_json::Value = serde_json::from_str(&mlrig.to_tfmd_json().unwrap()).unwrap();
    let reasons = json["datasetAnomalyInfo"]["reason"].as_array().unwrap();
    assert_eq!(reasons.len(), 3);
    assert!(json["anomalyInfo"].get("").is_none());
    assert_eq!(
        Anomalies::from_tfmd_json(&mlrig.to_tfmd_json().unwrap()).unwrap(),
        mlrig
    );
}

#[test]
fn value_count_anomalies_list_every_offending_row_with_all_rows() {
    let schema = Schema::from_pbtxt(
        "feature { name: 'x' type: INT value_count { max: 0 } }\n\
         feature { name: 'y' type: INT value_counts { value_count { min: 1 } value_count { min: 1 } } }",
    )
    .unwrap();
    let table = common::RawTable {
        header: vec!["x".into(), "y".into()],
        rows: (0..12)
            .map(|i| vec![(i % 3 != 0).then(|| i.to_string()), Some(i.to_string())])
            .collect(),
    };
    let (batch_schema, batches) = to_batches(&table, 5);
    let all = ValidationOptions::default().with_all_rows();
    let anomalies = validate_batches(&schema, &batch_schema, &batches, &all).unwrap();
    let high = anomalies
        .get("x", &AnomalyKind::FeatureTypeHighNumberValues)
        .unwrap();
    let expected: Vec<u64> = (0..12).filter(|i| i % 3 != 0).collect();
    assert_eq!(high.example_rows, expected);
    assert_eq!(high.count, 8);
    let nested = anomalies
        .get("y", &AnomalyKind::ValueNestednessMismatch)
        .unwrap();
    assert_eq!(nested.count, 12);
    assert_eq!(nested.example_rows, [0, 1, 2, 3, 4], "column-level: capped");
    assert_eq!(
        nested.description,
        "The values have a different nest level than expected. Value counts will not be checked."
    );
}
