//! `mlrig train` and `mlrig evaluate` end to end: multiclass targets, the
//! integer-target notice, byte-identical models for any thread count, the
//! baseline gate, slices, online updates of an SGD bundle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ADULT, assert_status, json_stdout, mlrig, stderr, success_json};

const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/iris.csv");
const WINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/wine.csv");

fn train(out: &std::path::Path, data: &str, target: &str, extra: &[&str]) -> std::process::Output {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "--format", "json", "train", data, "--target", target, "--out", out,
    ];
    args.extend_from_slice(extra);
    mlrig(args)
}

#[test]
fn models_and_evaluations_have_the_same_bytes_for_one_and_two_threads() {
    for (data, target) in [(ADULT, "income"), (IRIS, "species")] {
        let dirs: Vec<_> = ["1", "2"]
            .iter()
            .map(|threads| {
                let dir = tempfile::tempdir().unwrap();
                let out = dir.path().to_str().unwrap();
                let output = mlrig([
                    "--threads",
                    threads,
                    "train",
                    data,
                    "--target",
                    target,
                    "--out",
                    out,
                    "--name",
                    "m",
                ]);
                assert_status(&output, 0);
                dir
            })
            .collect();
        for file in ["model.json", "evaluation.json", "features.json"] {
            let read =
                |d: &tempfile::TempDir| std::fs::read(d.path().join("m/1").join(file)).unwrap();
            assert!(
                read(&dirs[0]) == read(&dirs[1]),
                "{data}: {file} differs between 1 and 2 threads"
            );
        }
    }
}

#[test]
fn integer_classes_are_trained_as_classes_with_a_notice_and_task_wins() {
    let dir = tempfile::tempdir().unwrap();
    let output = train(dir.path(), WINE, "class", &[]);
    let report = success_json(&output);
    assert_eq!(report["task"], "classification");
    assert_eq!(report["model"], "logistic_regression");
    assert!(
        stderr(&output).contains("pass --task regression"),
        "{}",
        stderr(&output)
    );
    let accuracy = report["evaluation"]["metrics"]["accuracy"]
        .as_f64()
        .unwrap();
    // scikit-learn's LogisticRegression on the same split: 0.9714 (tests/fixtures of mlrig-train).
    assert!((accuracy - 0.9714).abs() < 0.01, "{accuracy}");
    let classes = &report["evaluation"]["task"]["classification"]["classes"];
    assert_eq!(classes, &serde_json::json!(["0", "1", "2"]));

    let output = train(
        dir.path(),
        WINE,
        "class",
        &["--task", "regression", "--name", "wine_r"],
    );
    let report = success_json(&output);
    assert_eq!(report["task"], "regression");
    assert!(!stderr(&output).contains("pass --task regression"));
}

#[test]
fn a_worse_candidate_is_not_blessed_against_its_baseline_and_evaluate_names_metric_and_slice() {
    let dir = tempfile::tempdir().unwrap();
    let good = train(dir.path(), ADULT, "income", &["--name", "adult"]);
    assert_eq!(success_json(&good)["version"], 1);
    // A 2000× stronger penalty: a clearly worse model.
    let weak = r#"{"logistic_regression": {"c": 0.0005}}"#;
    let worse = train(
        dir.path(),
        ADULT,
        "income",
        &["--name", "adult", "--model", weak, "--slice", "gender"],
    );
    assert_status(&worse, 1);
    let report = json_stdout(&worse);
    assert_eq!(report["evaluation"]["blessed"], false);
    let reasons: Vec<&str> = report["evaluation"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("roc_auc dropped by") && r.contains("baseline version 1")),
        "{reasons:?}"
    );

    // The same comparison, standalone, on all rows of the file.
    let (v1, v2) = (dir.path().join("adult/1"), dir.path().join("adult/2"));
    let output = mlrig([
        "evaluate",
        "--model",
        v2.to_str().unwrap(),
        ADULT,
        "--baseline",
        v1.to_str().unwrap(),
        "--slice",
        "gender",
        "--max-drop",
        "roc_auc=0.005",
    ]);
    assert_status(&output, 1);
    let text = common::stdout(&output);
    assert!(text.contains("blessed: no"), "{text}");
    assert!(
        text.contains("slice gender=Female (1389 rows): roc_auc dropped by"),
        "{text}"
    );
    assert!(text.contains("slice gender=Male"), "{text}");

    // The baseline against itself passes, and --out writes the artifact.
    let file = dir.path().join("evaluation.json");
    let output = mlrig([
        "--format",
        "json",
        "evaluate",
        "--model",
        v1.to_str().unwrap(),
        ADULT,
        "--baseline",
        v1.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(success_json(&output)["evaluation"]["blessed"], true);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("mlrig.train.evaluation")
    );
}

#[test]
fn an_sgd_bundle_is_updated_with_new_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let sgd = r#"{"sgd_classifier": {"loss": "log_loss", "shuffle": false}}"#;
    let first = train(
        dir.path(),
        ADULT,
        "income",
        &["--name", "online", "--model", sgd],
    );
    assert_eq!(success_json(&first)["model"], "sgd_classifier");
    let v1 = dir.path().join("online/1");
    let second = train(
        dir.path(),
        ADULT,
        "income",
        &["--name", "online", "--warm-start", v1.to_str().unwrap()],
    );
    let report = success_json(&second);
    assert_eq!(report["version"], 2);
    let read = |v: &str| {
        std::fs::read_to_string(dir.path().join("online").join(v).join("model.json")).unwrap()
    };
    assert_ne!(read("1"), read("2"), "the warm start changed the weights");
    assert_eq!(
        std::fs::read(dir.path().join("online/1/features.json")).unwrap(),
        std::fs::read(dir.path().join("online/2/features.json")).unwrap(),
        "the feature pipeline is kept"
    );
    // A closed-form family cannot be updated in place.
    let third = train(dir.path(), IRIS, "species", &["--name", "iris"]);
    assert_status(&third, 0);
    let iris = dir.path().join("iris/1");
    let refused = train(
        dir.path(),
        IRIS,
        "species",
        &["--name", "iris", "--warm-start", iris.to_str().unwrap()],
    );
    assert_status(&refused, 2);
    assert!(
        stderr(&refused).contains("only sgd_classifier, sgd_regressor and gbdt"),
        "{}",
        stderr(&refused)
    );
}
