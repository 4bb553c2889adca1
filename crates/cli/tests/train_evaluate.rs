//! `mlrig train` and `mlrig evaluate` end to end: multiclass targets, the
//! integer-target notice, byte-identical models for any thread count, the
//! baseline gate, slices, online updates of an SGD bundle; gradient-boosted
//! trees (`--model gbdt`): many-level categories and missing numbers,
//! importances, warm starts.
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

/// Trains `data` with `--threads 1` and `--threads 2` (plus `extra`) and
/// checks the bundles' model, evaluation and feature files have the same bytes.
fn assert_same_bytes_for_one_and_two_threads(data: &str, target: &str, extra: &[&str]) {
    let dirs: Vec<_> = ["1", "2"]
        .iter()
        .map(|threads| {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().to_str().unwrap();
            let mut args = vec![
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
            ];
            args.extend_from_slice(extra);
            let output = mlrig(args);
            assert_status(&output, 0);
            dir
        })
        .collect();
    for file in ["model.json", "evaluation.json", "features.json"] {
        let read = |d: &tempfile::TempDir| std::fs::read(d.path().join("m/1").join(file)).unwrap();
        assert!(
            read(&dirs[0]) == read(&dirs[1]),
            "{data} {extra:?}: {file} differs between 1 and 2 threads"
        );
    }
}

#[test]
fn models_and_evaluations_have_the_same_bytes_for_one_and_two_threads() {
    for (data, target) in [(ADULT, "income"), (IRIS, "species")] {
        assert_same_bytes_for_one_and_two_threads(data, target, &[]);
    }
}

#[test]
fn gbdt_models_and_evaluations_have_the_same_bytes_for_one_and_two_threads() {
    for (data, target) in [(ADULT, "income"), (IRIS, "species")] {
        assert_same_bytes_for_one_and_two_threads(data, target, &["--model", "gbdt"]);
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
        stderr(&output).contains("--task regression for mlrig train"),
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
    assert!(!stderr(&output).contains("--task regression for mlrig train"));
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

/// A CSV of `rows` rows: `shop`, a string column of 1,000 levels (every
/// level present, a few hundred of them frequent); `amount`, a number
/// missing in about one row in seven; `weekday`, an unrelated integer; and
/// `bought` (`yes`/`no`), which depends on the shop's level (every third
/// level buys more), on the amount, and on whether the amount is missing.
fn many_levels_csv(path: &std::path::Path, rows: usize) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        // xorshift64*: reproducible without a dependency.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::from("shop,amount,weekday,bought\n");
    for i in 0..rows {
        let level = if i < 1000 {
            i
        } else {
            // Multiplications only: the same bits on every platform.
            let u = uniform();
            (1000.0 * u * u * u) as usize
        };
        let shop_effect = if level % 3 == 0 { 1.5 } else { -1.0 };
        let (amount, amount_effect) = if uniform() < 0.15 {
            (String::new(), 2.0)
        } else {
            let a = 100.0 * uniform();
            (format!("{a:.2}"), (a - 50.0) / 20.0)
        };
        let noise = 2.0 * uniform() - 1.0;
        let bought = if shop_effect + amount_effect + noise > 0.0 {
            "yes"
        } else {
            "no"
        };
        let weekday = (uniform() * 7.0) as u32;
        text += &format!("shop_{level:04},{amount},{weekday},{bought}\n");
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn gbdt_trains_on_a_1000_level_category_and_missing_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shops.csv");
    many_levels_csv(&data, 5_000);
    let output = train(
        dir.path(),
        data.to_str().unwrap(),
        "bought",
        &["--model", "gbdt"],
    );
    let report = success_json(&output);
    assert_eq!(report["model"], "gbdt");
    assert_eq!(report["evaluation"]["blessed"], true);
    assert_eq!(
        (report["train_rows"].as_u64(), report["eval_rows"].as_u64()),
        (Some(4_000), Some(1_000))
    );
    // One column per input: the category as codes, not 1,000 one-hot columns.
    assert_eq!(report["feature_columns"], 3);
    let auc = report["evaluation"]["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.8, "roc_auc {auc}");
    let importances = report["evaluation"]["importances"]
        .as_array()
        .unwrap_or_else(|| panic!("no importances in {report}"));
    let find = |feature: &str| {
        importances
            .iter()
            .find(|i| i["feature"] == feature)
            .unwrap_or_else(|| panic!("no `{feature}` in {importances:?}"))
    };
    let (shop, amount, weekday) = (find("shop"), find("amount"), find("weekday"));
    eprintln!("importances: {importances:?}; roc_auc {auc}");
    assert!(shop["splits"].as_u64().unwrap() > 0, "{shop}");
    assert!(amount["splits"].as_u64().unwrap() > 0, "{amount}");
    let gain = |i: &serde_json::Value| i["gain"].as_f64().unwrap();
    assert!(
        gain(shop) > gain(weekday) && gain(amount) > gain(weekday),
        "{importances:?}"
    );
    // The bundle's features: the shop's levels seen in training (800 of the
    // first 1,000 rows, and more among the rest) as one ordinal column.
    let features = common::read_json(&dir.path().join("shops/1/features.json")).to_string();
    let levels = features.matches("\"shop_").count();
    assert!(
        features.contains("ordinal") && (800..=1000).contains(&levels),
        "{levels} levels in {features:.500}"
    );
}

#[test]
fn evaluate_on_a_gbdt_bundle_shows_the_importances() {
    let dir = tempfile::tempdir().unwrap();
    let output = train(
        dir.path(),
        ADULT,
        "income",
        &["--name", "trees", "--model", r#"{"gbdt": {"rounds": 20}}"#],
    );
    assert_eq!(success_json(&output)["model"], "gbdt");
    let version = dir.path().join("trees/1");
    let output = mlrig(["evaluate", "--model", version.to_str().unwrap(), ADULT]);
    assert_status(&output, 0);
    let text = common::stdout(&output);
    let line = text
        .lines()
        .find(|l| l.starts_with("importance (share of gain): "))
        .unwrap_or_else(|| panic!("no importance line in:\n{text}"));
    // The top features, each with its share and split count.
    let parts: Vec<&str> = line["importance (share of gain): ".len()..]
        .split(", ")
        .collect();
    assert_eq!(parts.len(), 5, "{line}");
    assert!(
        parts
            .iter()
            .all(|p| p.contains("% (") && p.ends_with(" splits)")),
        "{line}"
    );
    assert!(text.contains("blessed: yes"), "{text}");
    let output = mlrig([
        "--format",
        "json",
        "evaluate",
        "--model",
        version.to_str().unwrap(),
        ADULT,
    ]);
    let report = success_json(&output);
    assert_eq!(
        report["evaluation"]["importances"].as_array().map(Vec::len),
        Some(14)
    );
}

#[test]
fn a_gbdt_bundle_warm_started_on_new_rows_adds_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let first = train(
        dir.path(),
        ADULT,
        "income",
        &["--name", "trees", "--model", r#"{"gbdt": {"rounds": 10}}"#],
    );
    assert_eq!(success_json(&first)["model"], "gbdt");
    let v1 = dir.path().join("trees/1");
    let second = train(
        dir.path(),
        ADULT,
        "income",
        &["--name", "trees", "--warm-start", v1.to_str().unwrap()],
    );
    let report = success_json(&second);
    assert_eq!(
        (report["version"].as_u64(), report["model"].as_str()),
        (Some(2), Some("gbdt"))
    );
    let model = |v: &str| {
        let path = dir.path().join("trees").join(v).join("model.json");
        let model = <mlrig_train::Model as mlrig_core::Artifact>::load(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .value;
        match model {
            mlrig_train::Model::Gbdt(m) => m,
            other => panic!("not a gbdt: {}", other.name()),
        }
    };
    let (old, new) = (model("1"), model("2"));
    assert_eq!((old.rounds(), new.rounds()), (10, 20));
    assert_eq!(new.trees().len(), 20, "one tree per round for two classes");
    assert_eq!(&new.trees()[..10], old.trees(), "the first rounds are kept");
    assert_eq!(
        std::fs::read(dir.path().join("trees/1/features.json")).unwrap(),
        std::fs::read(dir.path().join("trees/2/features.json")).unwrap(),
        "the feature pipeline is kept"
    );
}

#[test]
fn time_column_records_the_newest_row_and_a_missing_one_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dated.csv");
    let mut text = String::from("x,day,y\n");
    for i in 0..50 {
        let day = if i == 3 {
            "soon".to_string()
        } else {
            format!("2025-06-{:02}", i % 28 + 1)
        };
        text.push_str(&format!("{i},{day},{}\n", 3 * i + 1));
    }
    std::fs::write(&data, text).unwrap();
    let data = data.to_str().unwrap();

    let output = train(
        dir.path(),
        data,
        "y",
        &[
            "--name",
            "m",
            "--time-column",
            "day",
            "--allow-leakage",
            "x",
        ],
    );
    let report = success_json(&output);
    assert_eq!(report["time_column"]["newest"], "2025-06-28T00:00:00Z");
    assert_eq!(report["time_column"]["unparseable"], 1);
    assert!(
        stderr(&output).contains("time column `day`: 1 of 50 values"),
        "{}",
        stderr(&output)
    );
    let manifest = common::read_json(&dir.path().join("m/1/manifest.json"));
    assert_eq!(manifest["data_newest_row"], "2025-06-28T00:00:00Z");
    assert!(dir.path().join("m/1/prediction_statistics.json").is_file());

    let output = train(
        dir.path(),
        data,
        "y",
        &["--name", "m", "--time-column", "dya"],
    );
    assert_status(&output, 2);
    let message = common::assert_one_line_error(&output);
    assert!(
        message.contains("time column `dya`: not in the data"),
        "{message}"
    );
}
