#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The composed path: CSV → bundle → servable → HTTP, on shipped samples and
//! (with MLRIG_DATA_DIR) on the full data sets with the issue's quality bars.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mlrig_core::{ModelBundle, Predictions, records_to_batch};
use mlrig_monitor::ServingMetrics;
use mlrig_pipeline::{
    EVALUATION_FILE, FEATURES_FILE, MODEL_FILE, PipelineError, SCHEMA_FILE, STATISTICS_FILE,
    TaskKind, TrainingJob, load_model_dir, server_app,
};
use mlrig_serve::{ModelRegistry, ServerConfig};
use serde_json::json;
use tower::ServiceExt;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/samples")
        .join(name)
}

fn full_data(name: &str) -> Option<PathBuf> {
    match std::env::var_os("MLRIG_DATA_DIR") {
        Some(dir) => Some(Path::new(&dir).join(name)),
        None => {
            eprintln!(
                "SKIPPED: full-data test on {name}: set MLRIG_DATA_DIR=../shared/data to run it"
            );
            None
        }
    }
}

fn adult_record() -> serde_json::Value {
    json!({"age": 45, "workclass": "Private", "education": "Masters", "educational-num": 14,
           "marital-status": "Married-civ-spouse", "occupation": "Exec-managerial", "hours-per-week": 50})
}

#[test]
fn adult_sample_trains_a_blessed_bundle_that_serves_the_same_numbers() {
    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(sample("adult_sample.csv"), "income")
        .with_name("adult")
        .with_output_dir(out.path())
        .run()
        .unwrap();
    assert_eq!(report.version, 1);
    assert_eq!(
        report.ingest.rows_read,
        report.ingest.rows_accepted + report.ingest.rows_quarantined
    );
    assert_eq!(report.train_rows + report.eval_rows, 4071);
    assert_eq!(report.eval_rows, 4071 / 5); // rows 4, 9, …, 4069
    let auc = report.evaluation.metrics()["roc_auc"];
    assert!(auc > 0.85, "AUC {auc}");
    assert!(report.evaluation.blessed());

    let bundle = ModelBundle::open(&report.bundle_dir).unwrap();
    for file in [
        SCHEMA_FILE,
        STATISTICS_FILE,
        FEATURES_FILE,
        MODEL_FILE,
        EVALUATION_FILE,
    ] {
        assert!(bundle.manifest().files.contains_key(file), "{file}");
    }
    assert_eq!(
        bundle.manifest().lineage,
        vec![mlrig_core::Fingerprint::of_file(&sample("adult_sample.csv")).unwrap()]
    );
    let schema: serde_json::Value = bundle.read_json(SCHEMA_FILE).unwrap();
    assert!(
        schema["feature"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "workclass")
    );

    // The servable answers a one-record batch exactly as the n-record batch.
    let servable = load_model_dir(&out.path().join("adult")).unwrap();
    assert!(
        servable.input_schema().field_with_name("income").is_err(),
        "the target is not an input"
    );
    let records = vec![
        adult_record(),
        json!({"age": 22, "workclass": "Never-seen-before"}),
        json!({}),
    ];
    let all = servable
        .predict(&records_to_batch(&records, &servable.input_schema()).unwrap())
        .unwrap();
    for (i, record) in records.iter().enumerate() {
        let one = servable
            .predict(
                &records_to_batch(std::slice::from_ref(record), &servable.input_schema()).unwrap(),
            )
            .unwrap();
        match (&one, &all) {
            (
                Predictions::Classification {
                    probabilities: p1,
                    classes,
                },
                Predictions::Classification {
                    probabilities: pn, ..
                },
            ) => {
                assert_eq!(classes, &["<=50K", ">50K"]);
                assert_eq!(p1.row(0).to_vec(), pn.row(i).to_vec(), "record {i}");
            }
            other => panic!("expected classification, got {other:?}"),
        }
    }
}

#[test]
fn versions_increase_and_a_tampered_bundle_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let job = TrainingJob::new(sample("california_sample.csv"), "MedHouseVal")
        .with_output_dir(out.path());
    let first = job.run().unwrap();
    let second = job.run().unwrap();
    assert_eq!(
        (first.name.as_str(), first.version, second.version),
        ("california_sample", 1, 2)
    );
    assert!(first.evaluation.metrics()["r2"] > 0.5);

    let model = second.bundle_dir.join(MODEL_FILE);
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(
        &model,
        text.replacen("\"intercept\": ", "\"intercept\": 1", 1),
    )
    .unwrap();
    let err = load_model_dir(&out.path().join("california_sample"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("fingerprint mismatch"), "{err}");
    // The previous version is intact and still loads.
    load_model_dir(&first.bundle_dir).unwrap();
}

#[test]
fn bad_jobs_fail_with_clear_errors() {
    let out = tempfile::tempdir().unwrap();
    let err = TrainingJob::new(sample("adult_sample.csv"), "incme")
        .with_output_dir(out.path())
        .run()
        .unwrap_err();
    assert!(matches!(err, PipelineError::MissingTarget { .. }), "{err}");
    assert!(
        err.to_string().contains("no target column `incme`") && err.to_string().contains("income"),
        "{err}"
    );

    let err = TrainingJob::new(sample("adult_sample.csv"), "workclass")
        .with_output_dir(out.path())
        .run()
        .unwrap_err();
    assert!(
        err.to_string().contains("workclass"),
        "a 7-class or missing-valued target is refused clearly: {err}"
    );

    let err = load_model_dir(out.path()).err().unwrap();
    assert!(matches!(err, PipelineError::NoModel { .. }), "{err}");

    let err = TrainingJob::new(out.path().join("missing.csv"), "y")
        .with_output_dir(out.path())
        .run()
        .unwrap_err();
    assert!(err.to_string().contains("missing.csv"), "{err}");
    // Nothing half-written was left behind.
    assert!(std::fs::read_dir(out.path()).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".staging")
    }));
}

#[test]
fn forced_regression_on_an_integer_target() {
    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(sample("adult_sample.csv"), "hours-per-week")
        .with_task(TaskKind::Regression)
        .with_model(serde_json::from_str(r#"{"linear_regression": {"l2_penalty": 1.0}}"#).unwrap())
        .with_output_dir(out.path())
        .run()
        .unwrap();
    assert!(report.evaluation.metrics().contains_key("rmse"));
    // A classifier for a regression task is refused before any work.
    let e = TrainingJob::new(sample("adult_sample.csv"), "hours-per-week")
        .with_task(TaskKind::Regression)
        .with_model(serde_json::from_str(r#"{"logistic_regression": {}}"#).unwrap())
        .with_output_dir(out.path())
        .run()
        .unwrap_err();
    assert!(e.to_string().contains("drop --task"), "{e}");
}

async fn call(app: &axum::Router, method: &str, uri: &str, body: String) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[test]
fn server_app_predicts_and_exposes_metrics() {
    let out = tempfile::tempdir().unwrap();
    TrainingJob::new(sample("adult_sample.csv"), "income")
        .with_name("adult")
        .with_output_dir(out.path())
        .run()
        .unwrap();
    let registry = Arc::new(ModelRegistry::new());
    registry
        .insert(load_model_dir(&out.path().join("adult")).unwrap())
        .unwrap();
    let app = server_app(
        registry,
        Arc::new(ServingMetrics::new()),
        &ServerConfig::default(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let body = json!({"instances": [adult_record()]}).to_string();
        let (status, text) = call(&app, "POST", "/v1/models/adult:predict", body).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let label = value["predictions"][0]["label"].as_str().unwrap();
        assert!(label == "<=50K" || label == ">50K");

        let (status, text) = call(&app, "POST", "/v1/models/adult:predict", r#"{"instances":[{"age":"x"}]}"#.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(text.contains("field `age`"), "{text}");

        let (status, text) = call(&app, "GET", "/metrics", String::new()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(text.contains(r#"mlrig_requests_total{protocol="tf_serving",endpoint="predict",model="adult",version="1",outcome="success"} 1"#), "{text}");
        assert!(text.contains("mlrig_model_age_seconds{model=\"adult\",version=\"1\"}"), "{text}");
    });
}

/// scikit-learn's numbers on the same split and preprocessing
/// (`scripts/sklearn_quality.py` writes the fixture).
fn sklearn_quality(file: &str, metric: &str) -> f64 {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn_quality.json"
    ))
    .unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    all[file][metric]
        .as_f64()
        .unwrap_or_else(|| panic!("no {metric} for {file}"))
}

#[test]
fn multinomial_models_match_scikit_learn_accuracy_on_the_small_classics() {
    for (file, target) in [
        ("iris.csv", "species"),
        ("penguins.csv", "species"),
        ("wine.csv", "class"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let report = TrainingJob::new(sample(file), target)
            .with_output_dir(out.path())
            .run()
            .unwrap();
        let classes = match report.evaluation.task() {
            mlrig_pipeline::Task::Classification { classes } => classes.len(),
            other => panic!("{file}: {other:?}"),
        };
        assert_eq!(classes, 3, "{file}");
        let ours = report.evaluation.metrics()["accuracy"];
        let theirs = sklearn_quality(file, "accuracy");
        eprintln!("{file}: accuracy {ours:.4}, scikit-learn {theirs:.4}");
        assert!((ours - theirs).abs() <= 0.01, "{file}: {ours} vs {theirs}");
        assert!(
            report.evaluation.blessed(),
            "{file}: {:?}",
            report.evaluation.reasons()
        );
    }
}

#[test]
fn full_chicago_taxi_names_tips_as_a_leak_and_is_not_blessed() {
    let Some(path) = full_data("chicago_taxi.csv") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(&path, "big_tipper")
        .with_output_dir(out.path())
        .run()
        .unwrap();
    let suspects: Vec<&str> = report
        .leakage
        .suspects()
        .iter()
        .map(|s| s.column.as_str())
        .collect();
    assert_eq!(suspects, ["tips"]);
    assert!(!report.evaluation.blessed());
    assert!(
        report
            .evaluation
            .reasons()
            .iter()
            .any(|r| r.contains("label_leakage") && r.contains("`tips`")),
        "{:?}",
        report.evaluation.reasons()
    );
    // Allowed by name, the same job passes the leakage check.
    let report = TrainingJob::new(&path, "big_tipper")
        .with_output_dir(out.path())
        .with_baseline(mlrig_pipeline::Baseline::None)
        .with_leakage(mlrig_pipeline::LeakageParams::default().with_allowed(["tips"]))
        .run()
        .unwrap();
    assert!(
        report.evaluation.checks().iter().all(|c| c.passed),
        "{:?}",
        report.evaluation.checks()
    );
}

#[test]
fn full_adult_reaches_auc_0_90() {
    let Some(path) = full_data("adult.csv") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(path, "income")
        .with_output_dir(out.path())
        .run()
        .unwrap();
    assert_eq!((report.train_rows, report.eval_rows), (39_074, 9_768));
    let auc = report.evaluation.metrics()["roc_auc"];
    eprintln!(
        "adult.csv: AUC {auc:.6}, metrics {:?}",
        report.evaluation.metrics()
    );
    assert!(auc >= 0.90, "AUC {auc}");
    let theirs = sklearn_quality("adult.csv", "roc_auc");
    assert!(
        (auc - theirs).abs() <= 0.001,
        "AUC {auc} vs scikit-learn {theirs}"
    );
}

#[test]
fn full_california_reaches_r2_0_58() {
    let Some(path) = full_data("california_housing.csv") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(path, "MedHouseVal")
        .with_output_dir(out.path())
        .run()
        .unwrap();
    assert_eq!((report.train_rows, report.eval_rows), (16_512, 4_128));
    let r2 = report.evaluation.metrics()["r2"];
    eprintln!(
        "california_housing.csv: R² {r2:.10}, metrics {:?}",
        report.evaluation.metrics()
    );
    assert!(r2 >= 0.58, "R² {r2}");
}

#[test]
fn a_model_directory_serves_its_highest_blessed_version() {
    use mlrig_train::BlessingThresholds;
    let out = tempfile::tempdir().unwrap();
    let job = TrainingJob::new(sample("california_sample.csv"), "MedHouseVal")
        .with_name("h")
        .with_output_dir(out.path());
    let blessed = job.clone().run().unwrap();
    let failed = job
        .clone()
        .with_thresholds(BlessingThresholds::default().with_min("r2", 0.99))
        .run()
        .unwrap();
    assert!(blessed.evaluation.blessed() && !failed.evaluation.blessed());
    assert!(
        failed.evaluation.reasons().iter().any(|r| r.contains("r2")),
        "{:?}",
        failed.evaluation.reasons()
    );
    // Version 2 failed its gate: the model directory serves version 1; version 2 only when named.
    assert_eq!(
        load_model_dir(&out.path().join("h"))
            .unwrap()
            .info()
            .version,
        1
    );
    assert_eq!(
        load_model_dir(&failed.bundle_dir).unwrap().info().version,
        2
    );

    std::fs::remove_dir_all(&blessed.bundle_dir).unwrap();
    let err = load_model_dir(&out.path().join("h")).err().unwrap();
    assert!(matches!(err, PipelineError::NoBlessedModel { .. }), "{err}");

    let err = job
        .with_thresholds(BlessingThresholds::default().with_min("roc_auc", 0.5))
        .run()
        .unwrap_err();
    assert!(matches!(err, PipelineError::UnknownMetric { .. }), "{err}");
    assert!(err.to_string().contains("mae, r2, rmse"), "{err}");
}

fn gbdt_spec() -> mlrig_pipeline::ModelSpec {
    serde_json::from_str::<mlrig_pipeline::ModelSpec>(r#"{"gbdt": {"rounds": 20}}"#).unwrap()
}

fn logit(p: f64) -> f64 {
    libm::log(p / (1.0 - p))
}

/// `"contributions": true` on a gbdt bundle served through the TF Serving
/// router: one object per instance, one entry per model feature plus
/// `(bias)`, summing to the log-odds of the served probability of `>50K`.
#[test]
fn gbdt_bundle_serves_contributions_on_request() {
    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(sample("adult_sample.csv"), "income")
        .with_name("adult")
        .with_model(gbdt_spec())
        .with_output_dir(out.path())
        .run()
        .unwrap();
    let model = ModelBundle::open(&report.bundle_dir)
        .unwrap()
        .load::<mlrig_train::Model>(MODEL_FILE)
        .unwrap()
        .value;
    let mut features: Vec<String> = model.feature_names().to_vec();
    features.sort();
    assert!(!features.is_empty());

    let registry = Arc::new(ModelRegistry::new());
    registry
        .insert(load_model_dir(&report.bundle_dir).unwrap())
        .unwrap();
    let app = mlrig_serve::router(registry, &ServerConfig::default());
    let records = [
        adult_record(),
        json!({"age": 22, "workclass": "Never-seen-before"}),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let path = "/v1/models/adult:predict";
        let body = json!({"instances": records, "contributions": true}).to_string();
        let (status, text) = call(&app, "POST", path, body).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let explained: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut keys: Vec<&String> = explained.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["contributions", "predictions"]);
        let entries = explained["contributions"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        for (i, entry) in entries.iter().enumerate() {
            let prediction = &explained["predictions"][i];
            assert_eq!(prediction["classes"], json!(["<=50K", ">50K"]));
            let p = prediction["scores"][1].as_f64().unwrap();
            // One group (binary): a flat object, one entry per feature, the bias apart.
            let entry = entry.as_object().unwrap();
            let mut named: Vec<String> = entry
                .keys()
                .filter(|k| k.as_str() != "(bias)")
                .cloned()
                .collect();
            named.sort();
            assert_eq!(named, features, "instance {i}");
            assert_eq!(entry.len(), features.len() + 1, "instance {i}");
            let total: f64 = entry.values().map(|v| v.as_f64().unwrap()).sum();
            let bias = entry["(bias)"].as_f64().unwrap();
            assert!(bias.is_finite() && bias != 0.0, "instance {i}: bias {bias}");
            assert!(
                (total - logit(p)).abs() < 1e-9,
                "instance {i}: contributions sum to {total}, logit of P(>50K) = {p} is {}",
                logit(p)
            );
        }
        // The two records differ, and so do their explanations.
        assert_ne!(entries[0], entries[1]);

        // Without the key (or with `false`) the answer is today's, byte for byte.
        let plain = json!({"instances": records}).to_string();
        let (status, plain_text) = call(&app, "POST", path, plain).await;
        assert_eq!(status, StatusCode::OK, "{plain_text}");
        let off = json!({"instances": records, "contributions": false}).to_string();
        let (status, off_text) = call(&app, "POST", path, off).await;
        assert_eq!(status, StatusCode::OK, "{off_text}");
        assert_eq!(off_text, plain_text);
        assert_eq!(
            plain_text,
            json!({"predictions": explained["predictions"]}).to_string()
        );

        // Columnar: the same explanations, in the same list form.
        let (status, text) = call(
            &app,
            "POST",
            path,
            json!({"inputs": {"age": [30, 22], "workclass": ["Private", null]}, "contributions": true})
                .to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let columnar: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (status, text) = call(
            &app,
            "POST",
            path,
            json!({"instances": [{"age": 30, "workclass": "Private"}, {"age": 22}], "contributions": true})
                .to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let rows: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(columnar["contributions"], rows["contributions"]);
        assert_eq!(columnar["outputs"]["scores"][0], rows["predictions"][0]["scores"]);

        // A non-boolean is refused, naming the key and what was found.
        let (status, text) = call(
            &app,
            "POST",
            path,
            json!({"instances": records, "contributions": "yes"}).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("`contributions`") && text.contains("string \\\"yes\\\""), "{text}");
    });
}

/// A regression gbdt explains the predicted value (group: the target), a
/// multiclass one each class's softmax logit (groups: the classes); a linear
/// model has no contributions, and asking for them is the caller's error.
#[test]
fn regression_and_multiclass_contributions_explain_the_raw_scores_and_linear_models_have_none() {
    let out = tempfile::tempdir().unwrap();
    let job = TrainingJob::new(sample("california_sample.csv"), "MedHouseVal")
        .with_name("h")
        .with_output_dir(out.path());
    let gbdt = job.clone().with_model(gbdt_spec()).run().unwrap();
    let servable = load_model_dir(&gbdt.bundle_dir).unwrap();
    let records = [
        json!({"MedInc": 8.3, "HouseAge": 41, "AveRooms": 7.0, "Latitude": 37.88, "Longitude": -122.23}),
        json!({}),
    ];
    let batch = records_to_batch(&records, &servable.input_schema()).unwrap();
    let Predictions::Regression { values } = servable.predict(&batch).unwrap() else {
        panic!("expected regression values");
    };
    let contributions = servable.contributions(&batch).unwrap();
    assert_eq!(contributions.groups(), ["MedHouseVal"]);
    assert_eq!(contributions.len(), 2);
    for (i, value) in values.iter().enumerate() {
        let sum = contributions.row_sum(i, 0).unwrap();
        assert!((sum - value).abs() < 1e-9, "row {i}: {sum} vs {value}");
    }

    let linear = job.run().unwrap();
    let servable = load_model_dir(&linear.bundle_dir).unwrap();
    let e = servable.contributions(&batch).unwrap_err();
    assert!(e.is_invalid_input(), "{e}");
    assert!(e.to_string().contains("only gbdt models"), "{e}");

    let iris = TrainingJob::new(sample("iris.csv"), "species")
        .with_model(gbdt_spec())
        .with_output_dir(out.path())
        .run()
        .unwrap();
    let servable = load_model_dir(&iris.bundle_dir).unwrap();
    let records = [
        json!({"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}),
        json!({"sepal_length_cm": 6.7, "sepal_width_cm": 3.0, "petal_length_cm": 5.2, "petal_width_cm": 2.3}),
    ];
    let batch = records_to_batch(&records, &servable.input_schema()).unwrap();
    let Predictions::Classification {
        classes,
        probabilities,
    } = servable.predict(&batch).unwrap()
    else {
        panic!("expected class probabilities");
    };
    let contributions = servable.contributions(&batch).unwrap();
    assert_eq!(contributions.groups(), classes);
    assert_eq!(classes.len(), 3);
    for i in 0..2 {
        let exp: Vec<f64> = (0..3)
            .map(|k| libm::exp(contributions.row_sum(i, k).unwrap()))
            .collect();
        let total: f64 = exp.iter().sum();
        for k in 0..3 {
            let p = probabilities[[i, k]];
            assert!((exp[k] / total - p).abs() < 1e-9, "row {i} class {k}: {p}");
        }
    }
}
