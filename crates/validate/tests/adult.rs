//! Statistics, schema inference and validation on the shipped UCI Adult samples,
//! checked against values computed independently from the raw CSV cells.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{RawTable, read_batches, to_batches};
use mlrig_core::Accumulator;
use mlrig_core::Artifact;
use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::SchemaRef;
use mlrig_validate::*;

fn ints(table: &RawTable, name: &str) -> Vec<Option<i64>> {
    table
        .column(name)
        .iter()
        .map(|v| v.as_ref().map(|v| v.parse().unwrap()))
        .collect()
}

/// Validates `batches` with the default options.
fn validate_with_defaults(
    schema: &Schema,
    batch_schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Anomalies {
    validate_batches(schema, batch_schema, batches, &ValidationOptions::default()).unwrap()
}

/// The (feature, kind name) of every anomaly, in order.
fn kinds(anomalies: &Anomalies) -> Vec<(&str, &str)> {
    anomalies
        .iter()
        .map(|a| (a.feature.as_str(), a.kind.name()))
        .collect()
}

fn adult_statistics() -> (RawTable, DatasetStatistics) {
    let (table, schema, batches) = read_batches("adult_sample.csv", 1000);
    let stats = compute_statistics(&batches, &schema, &StatisticsParams::default()).unwrap();
    (table, stats)
}

#[test]
fn adult_statistics_match_an_independent_computation() {
    let (table, stats) = adult_statistics();
    assert_eq!(stats.num_examples(), table.rows.len() as u64);
    assert_eq!(stats.num_examples(), 4071);

    for name in ["age", "capital-gain", "hours-per-week", "fnlwgt"] {
        let values = ints(&table, name);
        let present: Vec<i64> = values.iter().flatten().copied().collect();
        let n = present.len() as i128;
        let s1: i128 = present.iter().map(|v| i128::from(*v)).sum();
        let s2: i128 = present
            .iter()
            .map(|v| i128::from(*v) * i128::from(*v))
            .sum();
        let f = stats.feature(name).unwrap();
        assert_eq!(f.feature_type, StatisticsType::Int);
        let num = f.numeric().unwrap();
        assert_eq!(
            num.common_stats.num_non_missing,
            present.len() as u64,
            "{name}"
        );
        assert_eq!(
            num.common_stats.num_missing,
            (values.len() - present.len()) as u64
        );
        assert_eq!(num.min, *present.iter().min().unwrap() as f64, "{name}");
        assert_eq!(num.max, *present.iter().max().unwrap() as f64, "{name}");
        // The exact sum is an integer below 2^53: the mean is one division.
        assert_eq!(num.mean, s1 as f64 / n as f64, "{name}");
        let variance = (n * s2 - s1 * s1) as f64 / (n * n) as f64;
        let std = variance.sqrt();
        assert!(
            (num.std_dev - std).abs() <= std * 1e-12,
            "{name}: {} vs {std}",
            num.std_dev
        );
        assert_eq!(
            num.num_zeros,
            present.iter().filter(|v| **v == 0).count() as u64
        );
        assert_eq!(num.num_nan(), 0);

        // Median and quantiles: within relative error α of the exact order
        // statistics; the standard histogram's buckets hold every value.
        let mut sorted = present.clone();
        sorted.sort_unstable();
        let at = |q: f64| sorted[(q * (sorted.len() - 1) as f64).floor() as usize] as f64;
        let within = |got: f64, exact: f64| {
            (got - exact).abs() <= QUANTILE_RELATIVE_ACCURACY * exact.abs() * (1.0 + 1e-12)
        };
        assert!(within(num.median, at(0.5)), "{name}: median {}", num.median);
        let quantiles = num.histogram(HistogramType::Quantiles).unwrap();
        for (j, bucket) in quantiles.buckets.iter().enumerate().skip(1) {
            let exact = at(j as f64 / 10.0);
            assert!(
                within(bucket.low_value, exact),
                "{name} q{j}: {bucket:?} vs {exact}"
            );
            assert_eq!(bucket.sample_count, n as f64 / 10.0);
        }
        let standard = num.histogram(HistogramType::Standard).unwrap();
        assert_eq!(standard.buckets.len(), 10);
        let total: f64 = standard.buckets.iter().map(|b| b.sample_count).sum();
        assert_eq!(total, n as f64);
        let common = &num.common_stats;
        assert_eq!(
            (
                common.min_num_values,
                common.max_num_values,
                common.avg_num_values
            ),
            (1, 1, 1.0)
        );
    }

    for name in ["workclass", "occupation", "native-country", "income"] {
        let values = table.column(name);
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for v in values.iter().flatten() {
            *counts.entry(v.as_str()).or_default() += 1;
        }
        let f = stats.feature(name).unwrap();
        assert_eq!(f.feature_type, StatisticsType::String);
        assert!(!f.distinct_capped());
        let s = f.string().unwrap();
        let present: u64 = counts.values().sum();
        assert_eq!(s.common_stats.num_non_missing, present);
        assert_eq!(
            s.common_stats.num_missing,
            values.len() as u64 - present,
            "{name}"
        );
        assert_eq!(s.unique, counts.len() as u64);
        let (top, top_count) = counts
            .iter()
            .max_by_key(|(v, c)| (**c, std::cmp::Reverse(**v)))
            .unwrap();
        assert_eq!(s.top_values[0].value, *top);
        assert_eq!(s.top_values[0].frequency, *top_count as f64);
        let bytes: usize = values.iter().flatten().map(String::len).sum();
        assert_eq!(s.avg_length, (bytes as f64 / present as f64) as f32);
        assert_eq!(
            s.rank_histogram.as_ref().unwrap().buckets.len(),
            counts.len()
        );
    }
    let workclass = stats.feature("workclass").unwrap().string().unwrap();
    assert_eq!(workclass.top_values[0].value, "Private");
    assert_eq!(workclass.common_stats.num_missing, 240);
}

#[test]
fn statistics_do_not_depend_on_batching() {
    let (_, stats) = adult_statistics();
    let (_, schema, batches) = read_batches("adult_sample.csv", 37);
    let mut acc = StatisticsAccumulator::new(&schema, StatisticsParams::default());
    for b in batches.iter().rev() {
        acc.update(b).unwrap();
    }
    assert_eq!(
        acc.finish().to_tfmd_json().unwrap(),
        stats.to_tfmd_json().unwrap()
    );
}

#[test]
fn statistics_json_is_tfmd_and_round_trips() {
    let (_, stats) = adult_statistics();
    let text = stats.to_tfmd_json().unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dataset = &value["datasets"][0];
    assert_eq!(dataset["numExamples"], "4071");
    let age = &dataset["features"][0];
    assert_eq!(age["path"]["step"][0], "age");
    assert_eq!(age["type"], "INT");
    assert_eq!(age["numStats"]["commonStats"]["numNonMissing"], "4071");
    assert_eq!(age["numStats"]["min"], 17.0);
    let workclass = &dataset["features"][1];
    assert_eq!(workclass["type"], "STRING");
    assert_eq!(workclass["stringStats"]["topValues"][0]["value"], "Private");
    assert!(workclass["stringStats"]["unique"].is_string());

    let back = DatasetStatistics::from_tfmd_json(&text).unwrap();
    assert_eq!(back, stats);
    assert_eq!(back.to_tfmd_json().unwrap(), text);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statistics.json");
    stats.save_file(&path).unwrap();
    assert_eq!(DatasetStatistics::load_file(&path).unwrap(), stats);
    let artifact = dir.path().join("statistics.artifact.json");
    stats.save(&artifact, &[]).unwrap();
    assert_eq!(DatasetStatistics::load(&artifact).unwrap().value, stats);
}

fn adult_schema() -> Schema {
    let (_, stats) = adult_statistics();
    infer_schema(&stats, &SchemaInferenceParams::default())
}

#[test]
fn inferred_schema_follows_tfdv_rules() {
    let schema = adult_schema();
    let raw = common::read_raw("adult_sample.csv");
    assert_eq!(schema.features().len(), raw.header.len());

    let age = schema.feature("age").unwrap();
    assert_eq!(age.feature_type, FeatureType::Int);
    assert_eq!(
        age.presence,
        Some(FeaturePresence {
            unmodelled: Default::default(),
            min_fraction: Some(1.0),
            min_count: Some(1)
        })
    );
    assert_eq!(age.shape, Some(FixedShape::scalar()));
    let domain = age.int_domain.as_ref().unwrap();
    assert_eq!((domain.min, domain.max), (Some(17), Some(90)));

    let workclass = schema.feature("workclass").unwrap();
    assert_eq!(workclass.feature_type, FeatureType::Bytes);
    assert_eq!(
        workclass.presence,
        Some(FeaturePresence {
            unmodelled: Default::default(),
            min_fraction: None,
            min_count: Some(1)
        })
    );
    assert_eq!(
        workclass.value_count,
        Some(ValueCount {
            unmodelled: Default::default(),
            min: Some(1),
            max: Some(1)
        })
    );
    let values: BTreeSet<String> = raw.column("workclass").into_iter().flatten().collect();
    let domain = schema.string_domain_of(workclass).unwrap().unwrap();
    assert_eq!(
        domain.value.iter().cloned().collect::<BTreeSet<_>>(),
        values
    );
    assert!(domain.value.contains(&"Private".to_string()));

    let text = schema.to_tfmd_json().unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["feature"][0]["name"], "age");
    assert_eq!(json["feature"][0]["intDomain"]["min"], "17");
    assert_eq!(json["feature"][0]["presence"]["minCount"], "1");
    assert_eq!(json["feature"][0]["shape"]["dim"][0]["size"], "1");
    assert_eq!(json["feature"][1]["domain"], "workclass");
    assert!(
        json["stringDomain"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "workclass")
    );
    assert_eq!(Schema::from_tfmd_json(&text).unwrap(), schema);

    let dir = tempfile::tempdir().unwrap();
    let artifact = dir.path().join("schema.artifact.json");
    mlrig_core::Artifact::save(&schema, &artifact, &[]).unwrap();
    assert_eq!(
        <Schema as mlrig_core::Artifact>::load(&artifact)
            .unwrap()
            .value,
        schema
    );
    assert_eq!(Schema::load(&artifact).unwrap(), schema);
}

#[test]
fn adult_sample_is_valid_against_its_own_schema() {
    let schema = adult_schema();
    let (_, batch_schema, batches) = read_batches("adult_sample.csv", 500);
    let anomalies = validate_with_defaults(&schema, &batch_schema, &batches);
    assert!(anomalies.is_empty(), "{anomalies}");
    assert_eq!(anomalies.to_string(), "no anomalies");
}

/// (feature, kind) pairs a shifted file must produce, derived from the raw
/// cells of both files without the library.
fn expected_anomalies(train: &RawTable, shifted: &RawTable) -> BTreeSet<(String, String)> {
    let mut expected = BTreeSet::new();
    let is_int = |t: &RawTable, c: &str| {
        t.column(c)
            .iter()
            .flatten()
            .all(|v| v.parse::<i64>().is_ok())
    };
    for name in &train.header {
        if !shifted.has(name) {
            expected.insert((name.clone(), "SCHEMA_MISSING_COLUMN".into()));
            continue;
        }
        let (a, b) = (train.column(name), shifted.column(name));
        if is_int(train, name) {
            let parse = |v: &Vec<Option<String>>| -> Vec<i64> {
                v.iter().flatten().map(|x| x.parse().unwrap()).collect()
            };
            let (a, b) = (parse(&a), parse(&b));
            if b.iter().max() > a.iter().max() {
                expected.insert((name.clone(), "INT_TYPE_BIG_INT".into()));
            }
            if b.iter().min() < a.iter().min() {
                expected.insert((name.clone(), "INT_TYPE_SMALL_INT".into()));
            }
        } else {
            let known: BTreeSet<&String> = a.iter().flatten().collect();
            if b.iter().flatten().any(|v| !known.contains(v)) {
                expected.insert((name.clone(), "ENUM_TYPE_UNEXPECTED_STRING_VALUES".into()));
            }
        }
        if a.iter().all(Option::is_some) && b.iter().any(Option::is_none) {
            expected.insert((name.clone(), "FEATURE_TYPE_LOW_FRACTION_PRESENT".into()));
        }
    }
    for name in &shifted.header {
        if !train.has(name) {
            expected.insert((name.clone(), "SCHEMA_NEW_COLUMN".into()));
        }
    }
    expected
}

#[test]
fn shifted_data_has_exactly_the_expected_anomalies() {
    let schema = adult_schema();
    let train = common::read_raw("adult_sample.csv");
    let (shifted, batch_schema, batches) = read_batches("adult_shifted.csv", 64);
    let anomalies = validate_with_defaults(&schema, &batch_schema, &batches);

    let found: BTreeSet<(String, String)> = anomalies
        .iter()
        .map(|a| (a.feature.clone(), a.kind.name().to_string()))
        .collect();
    let expected = expected_anomalies(&train, &shifted);
    // The documented shifts are all there (so the independent derivation is not vacuous) …
    for pair in [
        ("fnlwgt", "SCHEMA_MISSING_COLUMN"),
        ("device", "SCHEMA_NEW_COLUMN"),
        ("workclass", "ENUM_TYPE_UNEXPECTED_STRING_VALUES"),
        ("age", "INT_TYPE_BIG_INT"),
        ("hours-per-week", "FEATURE_TYPE_LOW_FRACTION_PRESENT"),
    ] {
        assert!(
            expected.contains(&(pair.0.into(), pair.1.into())),
            "{pair:?}"
        );
    }
    // … and the validator finds exactly the derived set.
    assert_eq!(found, expected, "\n{anomalies}");
    assert_eq!(anomalies.len(), expected.len());

    let rows_where = |column: &str, pred: &dyn Fn(&Option<String>) -> bool| -> Vec<u64> {
        shifted
            .column(column)
            .iter()
            .enumerate()
            .filter(|(_, v)| pred(v))
            .map(|(i, _)| i as u64)
            .collect()
    };
    let space = rows_where("workclass", &|v| v.as_deref() == Some("Space-agency"));
    let a = anomalies
        .get("workclass", &AnomalyKind::EnumTypeUnexpectedStringValues)
        .unwrap();
    assert_eq!(a.count, space.len() as u64);
    assert_eq!(a.count, 80);
    assert_eq!(a.example_rows, space[..5]);
    assert!(a.found.contains("\"Space-agency\" (80)"), "{}", a.found);
    let present = shifted.column("workclass").iter().flatten().count();
    let share = format!("{:.2}%", 100.0 * space.len() as f64 / present as f64);
    assert!(a.found.starts_with(&share), "{} vs {share}", a.found);

    let old = rows_where("age", &|v| {
        v.as_ref().is_some_and(|x| x.parse::<i64>().unwrap() > 90)
    });
    let a = anomalies.get("age", &AnomalyKind::IntTypeBigInt).unwrap();
    assert_eq!(
        (a.count, a.example_rows.as_slice()),
        (old.len() as u64, &old[..5])
    );
    assert_eq!(a.expected, "at most 90");
    assert_eq!(a.found, "112");

    let missing = rows_where("hours-per-week", &Option::is_none);
    let a = anomalies
        .get(
            "hours-per-week",
            &AnomalyKind::FeatureTypeLowFractionPresent,
        )
        .unwrap();
    assert_eq!((a.count, a.example_rows.as_slice()), (200, &missing[..5]));
    assert_eq!(a.found, "present in 50.00% (200 of 400)");

    let a = anomalies
        .get("fnlwgt", &AnomalyKind::SchemaMissingColumn)
        .unwrap();
    assert_eq!(
        (a.count, a.example_rows.as_slice()),
        (400, &[0, 1, 2, 3, 4][..])
    );
    let a = anomalies
        .get("device", &AnomalyKind::SchemaNewColumn)
        .unwrap();
    assert_eq!(a.count, 400);

    // One line per anomaly, naming feature, kind, expected, found, count, rows.
    let text = anomalies.to_string();
    assert_eq!(text.lines().count(), anomalies.len());
    assert!(text.lines().any(|l| {
        l.starts_with("age: INT_TYPE_BIG_INT: expected at most 90, found 112 (")
            && l.contains(&format!(
                "; rows {}",
                old[..5]
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
    }));

    // JSON: tfmd shape with mlrig details, and back.
    let json_text = anomalies.to_tfmd_json().unwrap();
    let json: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    let reason = &json["anomalyInfo"]["workclass"]["reason"][0];
    assert_eq!(reason["type"], "ENUM_TYPE_UNEXPECTED_STRING_VALUES");
    assert_eq!(reason["count"], "80");
    assert_eq!(json["anomalyInfo"]["workclass"]["severity"], "ERROR");
    assert_eq!(Anomalies::from_tfmd_json(&json_text).unwrap(), anomalies);

    // Streaming: the same result one batch of 7 rows at a time.
    let (_, _, small) = read_batches("adult_shifted.csv", 7);
    let again = validate_with_defaults(&schema, &batch_schema, &small);
    assert_eq!(again, anomalies);
}

#[test]
fn a_label_absent_at_serving_is_not_an_anomaly() {
    let mut schema = adult_schema();
    schema.default_environment = vec!["TRAINING".into(), "SERVING".into()];
    schema
        .feature_mut("income")
        .unwrap()
        .not_in_environment
        .push("SERVING".into());
    // Survives the file format.
    let schema = Schema::from_tfmd_json(&schema.to_tfmd_json().unwrap()).unwrap();
    assert!(
        schema
            .to_tfmd_json()
            .unwrap()
            .contains("\"notInEnvironment\"")
    );

    let mut table = common::read_raw("adult_sample.csv");
    let income = table.header.iter().position(|h| h == "income").unwrap();
    table.header.remove(income);
    for row in &mut table.rows {
        row.remove(income);
    }
    let (batch_schema, batches) = to_batches(&table, 1000);

    let serving = ValidationOptions::default().with_environment("SERVING");
    let anomalies = validate_batches(&schema, &batch_schema, &batches, &serving).unwrap();
    assert!(anomalies.is_empty(), "{anomalies}");

    let training = ValidationOptions::default().with_environment("TRAINING");
    let anomalies = validate_batches(&schema, &batch_schema, &batches, &training).unwrap();
    assert_eq!(kinds(&anomalies), [("income", "SCHEMA_MISSING_COLUMN")]);

    let none = validate_with_defaults(&schema, &batch_schema, &batches);
    assert_eq!(none.len(), 1);

    let err = validate_batches(
        &schema,
        &batch_schema,
        &batches,
        &ValidationOptions::default().with_environment("MOBILE"),
    )
    .unwrap_err();
    assert!(
        matches!(err, ValidateError::UnknownEnvironment { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "environment `MOBILE` is not defined in the schema (known: SERVING, TRAINING)"
    );
}

#[test]
fn type_mismatch_is_reported_and_value_checks_are_skipped() {
    let schema = adult_schema();
    let mut table = common::read_raw("adult_sample.csv");
    let age = table.header.iter().position(|h| h == "age").unwrap();
    table.rows[3][age] = Some("unknown".into()); // turns the column into Utf8
    let (batch_schema, batches) = to_batches(&table, 1000);
    let anomalies = validate_with_defaults(&schema, &batch_schema, &batches);
    assert_eq!(kinds(&anomalies), [("age", "UNEXPECTED_DATA_TYPE")]);
    let a = anomalies.iter().next().unwrap();
    assert_eq!(a.found, "a Utf8 column");
    assert_eq!(
        (a.count, a.example_rows.as_slice()),
        (4071, &[0, 1, 2, 3, 4][..])
    );
}
