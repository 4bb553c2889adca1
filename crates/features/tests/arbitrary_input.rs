#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Arbitrary bytes into the feature-spec parsers (JSON and TOML) and the
//! fitted-pipeline artifact (issue 14, item 6): never a panic, never an
//! allocation out of proportion to a small input (the allocator below has a
//! hard limit), errors that name the line and column. A spec that parses is
//! also checked, fitted on a small batch and applied, so the parameters it
//! carries (bucket counts, ranges, boundaries) are fuzzed too.
//!
//! Case counts follow `PROPTEST_CASES` when it is set.

use std::sync::Arc;

use mlrig_features::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlrig_features::{
    FeaturePipelineParams, FeatureSpec, FeaturesError, Fit, FittedFeaturePipeline, ParamGuard,
    Transform,
};
use mlrig_testkit::{Mix, apply_all, cases};
use proptest::prelude::*;

// The whole test binary may hold at most this much heap at once.
mlrig_testkit::capped_allocator!(256 MiB);

const SPEC_JSON: &str = r#"{
  "columns": [
    {"name": "age", "impute": "median", "missing_indicator": true,
     "encode": {"bucketize": {"boundaries": [18, 65]}}},
    {"name": "hours", "impute": "mean", "encode": {"min_max_scale": {"feature_range": [-1, 1], "clip": true}}},
    {"name": "gain", "encode": "log1p"},
    {"name": "loss", "encode": {"clip": {"min": 0, "max": 2000}}},
    {"name": "weight", "encode": {"robust_scale": {"quantile_range": [10, 90]}}},
    {"name": "score", "encode": {"quantile_bucketize": {"buckets": 4, "ordinal": true}}},
    {"name": "count", "encode": "standard_scale"},
    {"name": "color", "impute": {"constant": "grey"}, "encode": {"vocabulary": {"top_k": 3, "min_frequency": 1, "oov_buckets": 2}}},
    {"name": "city", "impute": "most_frequent", "encode": "one_hot"},
    {"name": "job", "encode": {"hash": {"buckets": 8}}},
    {"name": "level", "encode": "ordinal"},
    {"name": "seen", "encode": {"date_parts": {"parts": ["year", "month", "weekday", "hour"]}}},
    {"name": "note", "encode": "drop"}
  ],
  "crosses": [{"columns": ["color", "city"], "buckets": 4}],
  "output": "auto"
}"#;

const SPEC_TOML: &str = r#"output = "sparse"

[[columns]]
name = "age"
impute = "median"
missing_indicator = true
encode = { quantile_bucketize = { buckets = 8 } }

[[columns]]
name = "color"
impute = { constant = "unknown" }
encode = "one_hot"

[[columns]]
name = "city"
encode = { vocabulary = { top_k = 10, oov_buckets = 2 } }

[[columns]]
name = "hours"
impute = "mean"
encode = "standard_scale"

[[columns]]
name = "gain"
encode = "log1p"

[[columns]]
name = "job"
encode = { hash = { buckets = 16 } }

[[crosses]]
columns = ["color", "job"]
buckets = 8
"#;

/// The training batch every parsed spec is fitted on.
fn batch() -> RecordBatch {
    let f = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
    let s = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
    RecordBatch::try_from_iter([
        (
            "age",
            f(vec![
                Some(17.0),
                Some(30.0),
                None,
                Some(70.0),
                Some(45.0),
                Some(30.0),
            ]),
        ),
        (
            "hours",
            f(vec![
                Some(40.0),
                Some(20.0),
                Some(60.0),
                None,
                Some(40.0),
                Some(10.0),
            ]),
        ),
        (
            "gain",
            f(vec![
                Some(0.0),
                Some(1000.0),
                Some(5.0),
                Some(0.0),
                None,
                Some(1.0),
            ]),
        ),
        (
            "loss",
            f(vec![
                Some(0.0),
                Some(3000.0),
                Some(5.0),
                Some(-1.0),
                None,
                Some(1.0),
            ]),
        ),
        (
            "weight",
            f(vec![
                Some(1.0),
                Some(2.0),
                Some(3.0),
                Some(4.0),
                Some(5.0),
                Some(6.0),
            ]),
        ),
        (
            "score",
            f(vec![
                Some(0.1),
                Some(0.2),
                Some(0.3),
                Some(0.4),
                Some(0.5),
                Some(0.6),
            ]),
        ),
        (
            "count",
            Arc::new(Int64Array::from(vec![
                Some(1),
                Some(2),
                None,
                Some(4),
                Some(5),
                Some(i64::MAX),
            ])) as ArrayRef,
        ),
        (
            "color",
            s(vec![
                Some("red"),
                Some("red"),
                None,
                Some("blue"),
                Some("teal"),
                Some(""),
            ]),
        ),
        (
            "city",
            s(vec![
                Some("Oslo"),
                None,
                Some("Rome"),
                Some("Oslo"),
                Some("Lima"),
                Some("Rome"),
            ]),
        ),
        (
            "job",
            s(vec![
                Some("a"),
                Some("b"),
                Some("c"),
                None,
                Some("a"),
                Some("\u{0}"),
            ]),
        ),
        (
            "level",
            s(vec![
                Some("lo"),
                Some("hi"),
                Some("lo"),
                Some("mid"),
                None,
                Some("hi"),
            ]),
        ),
        (
            "seen",
            s(vec![
                Some("2024-02-29"),
                Some("2024-03-01 08:00:00"),
                Some("x"),
                None,
                Some("2023-01-01T00:00:00Z"),
                Some("9999-12-31"),
            ]),
        ),
        ("note", s(vec![None, None, None, None, None, None])),
    ])
    .unwrap()
}

/// Check, fit and apply a parsed spec; errors are fine, panics are not.
fn exercised(spec: FeatureSpec) {
    let Ok(valid) = FeaturePipelineParams::new(spec).check() else {
        return;
    };
    let train = batch();
    let Ok(fitted) = valid.fit(std::slice::from_ref(&train)) else {
        return;
    };
    applied(&fitted, &train);
}

fn applied(fitted: &FittedFeaturePipeline, train: &RecordBatch) {
    let _ = fitted.transform(train);
    let _ = fitted.transform_record(&serde_json::json!({
        "age": 1e308, "hours": -0.0, "color": "new", "city": null, "job": 7, "seen": "2024-13-45",
        "count": 18446744073709551615u64, "score": "NaN"
    }));
    let _ = fitted.check(std::slice::from_ref(train));
}

fn mix() -> Mix {
    Mix {
        ..Mix::splicing(vec![
            "=",
            "\n",
            "-",
            "0",
            "1",
            "9",
            ".5",
            "e308",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "1e999999",
            "4294967295",
            "4294967296",
            "18446744073709551616",
            "-9223372036854775809",
            "null",
            "true",
            "\\u0000",
            "\\ud800",
            "[[columns]]\n",
            "\"name\": \"age\", ",
            "name = \"age\"\n",
            "\"buckets\": 4294967295, ",
            "\"top_k\": 18446744073709551615, ",
            "\"boundaries\": [1e308, -1e308, 0], ",
            "\"feature_range\": [1, 1], ",
            "\"quantile_range\": [90, 10], ",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
            "a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
            "x = { y = { z = { w = { v = { u = { t = { s = {\n",
        ])
    }
}

/// `valid` after 1–4 edits, as text (invalid UTF-8 replaced, as a file
/// reader that takes `&str` would have to).
fn mutated(valid: &'static str) -> impl Strategy<Value = String> {
    mix().mutate_text(valid, 1..5)
}

/// A JSON or TOML spec error names where it is.
fn located(error: &FeaturesError) -> Result<(), TestCaseError> {
    let text = error.to_string();
    match error {
        FeaturesError::SpecJson { source } => {
            prop_assert!(source.line() >= 1, "{text}");
            prop_assert!(text.contains("line ") && text.contains("column "), "{text}");
        }
        FeaturesError::SpecToml { source } => {
            prop_assert!(source.span().is_some(), "{text}");
            prop_assert!(text.contains("line "), "{text}");
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(192))]

    #[test]
    fn arbitrary_spec_text_never_panics(text in "\\PC{0,200}") {
        if let Ok(spec) = FeatureSpec::from_json(&text) { exercised(spec); }
        if let Ok(spec) = FeatureSpec::from_toml(&text) { exercised(spec); }
    }

    #[test]
    fn mutated_json_specs_never_panic(text in mutated(SPEC_JSON)) {
        match FeatureSpec::from_json(&text) {
            Ok(spec) => exercised(spec),
            Err(e) => located(&e)?,
        }
    }

    #[test]
    fn mutated_toml_specs_never_panic(text in mutated(SPEC_TOML)) {
        match FeatureSpec::from_toml(&text) {
            Ok(spec) => exercised(spec),
            Err(e) => located(&e)?,
        }
    }

    #[test]
    fn mutated_fitted_pipelines_never_panic(edits in mix().edits(1..4)) {
        // The fitted pipeline's JSON body (what `features.json` carries):
        // an edited one that still deserializes must transform without a panic.
        let train = batch();
        let spec = FeatureSpec::from_json(SPEC_JSON).unwrap();
        let fitted = FeaturePipelineParams::new(spec).check().unwrap().fit(std::slice::from_ref(&train)).unwrap();
        let mut bytes = serde_json::to_vec(&fitted).unwrap();
        apply_all(&mut bytes, &edits);
        if let Ok(fitted) = serde_json::from_slice::<FittedFeaturePipeline>(&bytes) {
            applied(&fitted, &train);
        }
    }
}

#[test]
fn the_valid_specs_fit() {
    for spec in [
        FeatureSpec::from_json(SPEC_JSON).unwrap(),
        FeatureSpec::from_toml(SPEC_TOML).unwrap(),
    ] {
        let fitted = FeaturePipelineParams::new(spec)
            .check()
            .unwrap()
            .fit(&[batch()])
            .unwrap();
        assert_eq!(fitted.transform(&batch()).unwrap().nrows(), 6);
    }
}

#[test]
fn spec_errors_name_the_line_and_column() {
    let err =
        FeatureSpec::from_json("{\"columns\": [\n  {\"name\": \"x\", \"encode\": \"scael\"}\n]}")
            .unwrap_err();
    assert!(err.to_string().contains("line 2 column"), "{err}");
    let err =
        FeatureSpec::from_toml("[[columns]]\nname = \"x\"\nencode = \"scael\"\n").unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn deep_nesting_in_a_spec_is_an_error() {
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(FeatureSpec::from_json(&json).is_err());
    let toml = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(FeatureSpec::from_toml(&toml).is_err());
    let toml = format!("a = {}{}", "{ b = ".repeat(100_000), "}".repeat(100_000));
    assert!(FeatureSpec::from_toml(&toml).is_err());
}

#[test]
fn the_largest_hash_space_stays_within_the_cap() {
    // Two 2^24-bucket outputs (the per-encoding maximum): 2^25 output names
    // would take gigabytes, so fitting refuses before building them.
    for output in ["dense", "auto", "sparse"] {
        let spec = FeatureSpec::from_json(&format!(
            r#"{{"columns": [{{"name": "job", "encode": {{"hash": {{"buckets": 16777216}}}}}}],
                 "crosses": [{{"columns": ["job", "city"], "buckets": 16777216}}],
                 "output": "{output}"}}"#
        ))
        .unwrap();
        let err = FeaturePipelineParams::new(spec)
            .check()
            .unwrap()
            .fit(&[batch()])
            .unwrap_err();
        assert!(
            matches!(
                err,
                FeaturesError::TooManyOutputs {
                    outputs: 33_554_432,
                    ..
                }
            ),
            "{err}"
        );
    }
    // At the limit it fits, and a six-row transform stays small.
    let spec = FeatureSpec::from_json(&format!(
        r#"{{"columns": [{{"name": "job", "encode": {{"hash": {{"buckets": {}}}}}}}], "output": "sparse"}}"#,
        mlrig_features::MAX_OUTPUT_COLUMNS
    ))
    .unwrap();
    let fitted = FeaturePipelineParams::new(spec)
        .check()
        .unwrap()
        .fit(&[batch()])
        .unwrap();
    assert_eq!(fitted.transform(&batch()).unwrap().ncols(), 1 << 20);
}
