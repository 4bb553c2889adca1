#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Edited model files (issue 14, item 6): the JSON body of every model
//! family (`model.json` of a bundle), mutated byte-wise and structurally;
//! one that still deserializes must predict, explain and report its
//! importances without a panic and without an allocation out of proportion
//! to its size (the allocator below has a hard limit) — tree node indices,
//! class counts and weight lengths come from the file. Model specs and
//! blessing thresholds are fuzzed in `mlrig-pipeline`'s `arbitrary_input`,
//! which sees every config type.
//!
//! Case counts follow `PROPTEST_CASES` when it is set.

use std::sync::OnceLock;

use mlrig_core::ndarray::Array2;
use mlrig_core::{Features, Predict};
use mlrig_testkit::{Edit, Mix, apply_all, cases};
use mlrig_train::{ClassTarget, Model, ModelSpec, RegressionTarget, TrainingTarget};
use proptest::prelude::*;

// The whole test binary may hold at most this much heap at once.
mlrig_testkit::capped_allocator!(256 MiB);

fn features(rows: usize, columns: usize) -> Features {
    let names: Vec<String> = (0..columns).map(|j| format!("f{j}")).collect();
    let x = Array2::from_shape_fn((rows, columns), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f64 - 5.0 + if j == 0 { i as f64 / 10.0 } else { 0.0 }
    });
    Features::dense(names, x).unwrap()
}

/// One fitted model of each family, as JSON.
fn model_files() -> &'static Vec<Vec<u8>> {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let x = features(40, 3);
        let classes = TrainingTarget::Classes(ClassTarget::from_labels(
            "c",
            (0..40).map(|i| ["a", "b", "c"][i % 3]),
        ));
        let binary = TrainingTarget::Classes(ClassTarget::from_labels(
            "b",
            (0..40).map(|i| if i % 2 == 0 { "yes" } else { "no" }),
        ));
        let values = TrainingTarget::Values(
            RegressionTarget::new("y", (0..40).map(|i| f64::from(i) * 0.5).collect()).unwrap(),
        );
        let spec = |json: &str| serde_json::from_str::<ModelSpec>(json).unwrap();
        [
            (spec(r#"{"linear_regression": {}}"#), &values),
            (spec(r#"{"logistic_regression": {}}"#), &classes),
            (spec(r#"{"logistic_regression": {}}"#), &binary),
            (spec(r#"{"sgd_classifier": {"max_iter": 5}}"#), &binary),
            (spec(r#"{"sgd_regressor": {"max_iter": 5}}"#), &values),
            (spec(r#"{"gbdt": {"rounds": 3}}"#), &classes),
            (spec(r#"{"gbdt": {"rounds": 3}}"#), &values),
        ]
        .into_iter()
        .map(|(spec, target)| serde_json::to_vec(&spec.fit(&x, target, None).unwrap()).unwrap())
        .collect()
    })
}

fn mix() -> Mix {
    Mix {
        numbers: vec![
            "0",
            "-1",
            "1",
            "2",
            "3",
            "7",
            "255",
            "65535",
            "4294967295",
            "18446744073709551615",
            "9223372036854775807",
            "-9223372036854775808",
            "1e308",
            "-1e308",
            "0.5",
            "1e-320",
            "NaN",
            "null",
            "[]",
            "[1, 2, 3, 4, 5]",
        ],
        truncate: 0,
        insert: 0,
        delete_max: 16,
        duplicate_max: 64,
        splice: 2,
        number: 6,
        ..Mix::splicing(vec![
            "-",
            "0",
            "null",
            "1e308",
            "-1e308",
            "18446744073709551615",
            "4294967295",
            "-1",
            "1e999999",
        ])
    }
}

/// Everything a server and the CLI do with a loaded model.
fn used(model: &Model) {
    for columns in [3, 0, 1, 5] {
        let x = features(4, columns);
        let _ = model.predict(&x);
        let _ = model.contributions(&x);
    }
    let _ = model.importances();
    let _ = model.feature_names();
    let _ = model.largest_weight();
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn mutated_models_never_panic(
        which in any::<prop::sample::Index>(),
        edits in mix().edits(1..4),
    ) {
        let files = model_files();
        let mut bytes = files[which.index(files.len())].clone();
        apply_all(&mut bytes, &edits);
        if let Ok(model) = serde_json::from_slice::<Model>(&bytes) {
            used(&model);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(model) = serde_json::from_slice::<Model>(&bytes) {
            used(&model);
        }
    }
}

#[test]
fn the_valid_models_predict() {
    for file in model_files() {
        let model: Model = serde_json::from_slice(file).unwrap();
        let predictions = model.predict(&features(4, 3)).unwrap();
        assert_eq!(predictions.len(), 4);
    }
}

#[test]
fn most_number_edits_still_load_so_the_property_reaches_predict() {
    // The property is only worth something if edited models get past serde.
    let mut loaded = 0;
    let mut tried = 0;
    for (k, file) in model_files().iter().enumerate() {
        for i in 0..40 {
            for replacement in ["0", "-1", "4294967295", "1e308", "7"] {
                let mut bytes = file.clone();
                Edit::Number(i * 31 + k, replacement).apply(&mut bytes);
                tried += 1;
                if let Ok(model) = serde_json::from_slice::<Model>(&bytes) {
                    loaded += 1;
                    used(&model);
                }
            }
        }
    }
    assert!(
        loaded * 4 > tried,
        "{loaded} of {tried} edited models loaded"
    );
}

#[test]
fn a_model_whose_weights_do_not_match_its_features_is_an_error() {
    // Found by `mutated_models_never_panic`: a comma spliced into a number of
    // a logistic regression's coefficients made an extra weight, and the
    // first prediction indexed past the end of a row.
    for file in &model_files()[..3] {
        let mut model: serde_json::Value = serde_json::from_slice(file).unwrap();
        let body = model.as_object_mut().unwrap().values_mut().next().unwrap();
        let coefficients = &mut body["coefficients"];
        match coefficients {
            serde_json::Value::Array(rows) if rows[0].is_array() => {
                rows[0].as_array_mut().unwrap().push(0.5.into());
            }
            serde_json::Value::Array(weights) => weights.push(0.5.into()),
            other => panic!("{other}"),
        }
        let err = serde_json::from_value::<Model>(model).unwrap_err();
        assert!(err.to_string().contains("coefficient"), "{err}");
    }
}

#[test]
fn a_gbdt_with_more_base_scores_than_groups_is_an_error() {
    // Found by `mutated_models_never_panic`: a comma spliced into
    // `base_scores` gave a regression model two of them, and prediction
    // read one row past the end.
    let regression = model_files().last().unwrap();
    let mut model: serde_json::Value = serde_json::from_slice(regression).unwrap();
    model["gbdt"]["base_scores"]
        .as_array_mut()
        .unwrap()
        .push(0.0.into());
    let model: Model = serde_json::from_value(model).unwrap();
    let err = model.predict(&features(4, 3)).unwrap_err();
    assert!(err.to_string().contains("base scores"), "{err}");
}
