#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The input contract of a real bundle (trained on the adult sample) through
//! the real router: refused requests name the field in each protocol's
//! error shape; relaxed features are scored and counted on /metrics.

mod common;

use common::send;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;
use mlrig_core::ContractAction;
use mlrig_monitor::ServingMetrics;
use mlrig_pipeline::{TrainingJob, load_model_dir, server_app};
use mlrig_serve::{InputContractConfig, ModelRegistry, PartialRules, RulesSetting, ServerConfig};
use serde_json::{Value, json};

/// The adult model, trained once for every test of this file.
fn model_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = tempfile::tempdir().unwrap();
        let sample: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/samples")
            .join("adult_sample.csv");
        TrainingJob::new(sample, "income")
            .with_name("adult")
            .with_output_dir(out.path())
            .run()
            .unwrap();
        out
    })
    .path()
}

fn app(config: &ServerConfig) -> axum::Router {
    let registry = Arc::new(ModelRegistry::new());
    registry
        .insert(load_model_dir(&model_dir().join("adult")).unwrap())
        .unwrap();
    server_app(registry, Arc::new(ServingMetrics::new()), config)
}

/// Every input of the adult sample (the target left out).
fn full_record() -> Value {
    json!({"age": 45, "workclass": "Private", "fnlwgt": 160000, "education": "Masters",
           "educational-num": 14, "marital-status": "Married-civ-spouse",
           "occupation": "Exec-managerial", "relationship": "Husband", "race": "White",
           "gender": "Male", "capital-gain": 0, "capital-loss": 0, "hours-per-week": 50,
           "native-country": "United-States"})
}

fn with(changes: Value, removed: &[&str]) -> Value {
    let mut record = full_record();
    let object = record.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        object.insert(key.clone(), value.clone());
    }
    for key in removed {
        object.remove(*key);
    }
    record
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (StatusCode, String) {
    let (status, _, text) = send(app, method, uri, headers, body).await;
    (status, text)
}

async fn tf_predict(app: &axum::Router, instances: Vec<Value>) -> (StatusCode, String) {
    let body = json!({ "instances": instances }).to_string();
    call(app, "POST", "/v1/models/adult:predict", &[], body).await
}

/// One Open Inference v2 tensor per field (INT64 for integers, BYTES for
/// strings), from one record.
fn v2_body(record: &Value) -> String {
    let inputs: Vec<Value> = record
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| {
            let datatype = if value.is_string() { "BYTES" } else { "INT64" };
            json!({"name": name, "shape": [1], "datatype": datatype, "data": [value]})
        })
        .collect();
    json!({ "inputs": inputs }).to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_bundle_has_a_contract_from_its_training_schema() {
    let servable = load_model_dir(&model_dir().join("adult")).unwrap();
    let contract = servable.input_contract().expect("a bundle has a contract");
    let required: Vec<&str> = contract
        .fields()
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name.as_str())
        .collect();
    // `?` (missing) appears in workclass, occupation and native-country only.
    for optional in ["workclass", "occupation", "native-country"] {
        assert!(!required.contains(&optional), "{required:?}");
    }
    for always in ["age", "fnlwgt", "race", "hours-per-week"] {
        assert!(required.contains(&always), "{required:?}");
    }
    assert!(contract.field("race").unwrap().domain.is_some());
    assert!(contract.field("age").unwrap().domain.is_some());
}

/// Training read the sample's `?` cells as missing (ingest's missing
/// tokens), so `?` is no training value: a client says "missing" with
/// `null` or by leaving the field out, and the feature pipeline imputes it
/// as it imputed `?` in training. The string `"?"` is an unseen category
/// (a 400 by default), never silently imputed: the bundle does not record
/// which tokens training read as missing.
#[test]
fn the_training_missing_token_is_sent_as_null() {
    let servable = load_model_dir(&model_dir().join("adult")).unwrap();
    let workclass = servable
        .input_contract()
        .unwrap()
        .field("workclass")
        .unwrap();
    assert!(!workclass.required);
    let Some(mlrig_core::ValueDomain::Strings(values)) = &workclass.domain else {
        panic!("workclass has a string domain: {workclass:?}");
    };
    assert!(values.iter().all(|v| v != "?"), "{values:?}");
    let app = app(&ServerConfig::default());
    runtime().block_on(async {
        let (status, text) = tf_predict(
            &app,
            vec![
                with(json!({"workclass": null}), &[]),
                with(json!({}), &["workclass"]),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["predictions"][0], answer["predictions"][1]);
        let (status, text) = tf_predict(&app, vec![with(json!({"workclass": "?"}), &[])]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(
            text.contains("instance 0, field `workclass`: expected one of the ")
                && text.ends_with("found string \\\"?\\\"\"}"),
            "{text}"
        );
    });
}

#[test]
fn strict_by_default_names_the_field_in_every_protocol() {
    let app = app(&ServerConfig::default());
    runtime().block_on(async {
        let (status, text) = tf_predict(&app, vec![full_record()]).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        // Optional fields may be left out.
        let (status, text) = tf_predict(&app, vec![with(json!({}), &["workclass"])]).await;
        assert_eq!(status, StatusCode::OK, "{text}");

        let wrong_type = "instance 0, field `race`: expected a string, found number 3";
        let number_for_string = with(json!({"race": 3}), &[]);
        let (status, text) = tf_predict(&app, vec![number_for_string.clone()]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["error"], wrong_type, "{text}");

        let (status, text) = tf_predict(&app, vec![with(json!({}), &["fnlwgt"])]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(
            text.contains("instance 0, missing required field `fnlwgt`"),
            "{text}"
        );

        let (status, text) = tf_predict(&app, vec![with(json!({"race": "Martian"}), &[])]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(
            text.contains("instance 0, field `race`: expected one of the ")
                && text.contains("training values (")
                && text.contains("White")
                && text.ends_with("found string \\\"Martian\\\"\"}"),
            "{text}"
        );

        // Every violation of a request, in one message.
        let (status, text) = tf_predict(
            &app,
            vec![
                full_record(),
                with(json!({"age": "forty"}), &["gender"]),
                with(json!({"workclass": "Spy"}), &[]),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        let message = serde_json::from_str::<Value>(&text).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.starts_with("3 values break the model's input contract: instance 1, field `age`: expected an integer, found string \"forty\"; instance 1, missing required field `gender`; instance 2, field `workclass`: expected one of the "),
            "{message}"
        );

        // The same refusal through Open Inference v2 and MLflow.
        let (status, text) = call(
            &app,
            "POST",
            "/v2/models/adult/infer",
            &[],
            v2_body(&number_for_string),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["error"], wrong_type);
        let body = json!({"dataframe_records": [number_for_string]}).to_string();
        let json_type = [("content-type", "application/json")];
        let (status, text) = call(&app, "POST", "/invocations", &json_type, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["error_code"], "BAD_REQUEST", "{text}");
        assert_eq!(error["message"], wrong_type, "{text}");
        // CSV has no JSON types: a string column reads its cells as text,
        // so the unseen category is what is refused.
        let record = with(json!({"race": "Martian"}), &[]);
        let object = record.as_object().unwrap();
        let header: Vec<&str> = object.keys().map(String::as_str).collect();
        let row: Vec<String> = object
            .values()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        let csv = format!("{}\n{}\n", header.join(","), row.join(","));
        let (status, text) = call(&app, "POST", "/invocations", &[("content-type", "text/csv")], csv).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("field `race`: expected one of the"), "{text}");

        // Out of range is scored and counted by default.
        let (status, text) = tf_predict(&app, vec![with(json!({"age": 150}), &[]), full_record()]).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let (_, metrics) = call(&app, "GET", "/metrics", &[], String::new()).await;
        assert!(
            metrics.contains(r#"mlrig_input_anomalies_total{model="adult",version="1",feature="age",kind="out_of_range"} 1"#),
            "{metrics}"
        );
    });
}

#[test]
fn relaxed_features_are_scored_and_counted_in_both_expositions() {
    let contract = InputContractConfig::default()
        .with_rules("adult", "race", RulesSetting::Lenient)
        .with_rules(
            "adult",
            "*",
            RulesSetting::Rules({
                let mut p = PartialRules::default();
                p.missing = Some(ContractAction::Accept);
                p
            }),
        );
    let app = app(&ServerConfig::default().with_input_contract(contract));
    runtime().block_on(async {
        let (status, text) = tf_predict(
            &app,
            vec![
                with(json!({"race": "Martian"}), &[]),
                with(json!({"race": "Venusian"}), &["fnlwgt"]),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        // Not relaxed: an unseen workclass; never relaxed: a wrong type.
        let (status, text) = tf_predict(&app, vec![with(json!({"workclass": "Spy"}), &[])]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        let (status, text) = tf_predict(&app, vec![with(json!({"race": 3}), &[])]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("expected a string, found number 3"), "{text}");
        // Through v2 too: counted the same way.
        let body = v2_body(&with(json!({"race": "Plutonian"}), &[]));
        let (status, text) = call(&app, "POST", "/v2/models/adult/infer", &[], body).await;
        assert_eq!(status, StatusCode::OK, "{text}");

        for accept in [
            "application/openmetrics-text; version=1.0.0",
            "text/plain; version=0.0.4",
        ] {
            let (status, metrics) = call(&app, "GET", "/metrics", &[("accept", accept)], String::new()).await;
            assert_eq!(status, StatusCode::OK);
            for line in [
                r#"mlrig_input_anomalies_total{model="adult",version="1",feature="race",kind="unseen_category"} 3"#,
                r#"mlrig_input_anomalies_total{model="adult",version="1",feature="fnlwgt",kind="missing"} 1"#,
            ] {
                assert!(metrics.contains(line), "{accept}: {line} not in\n{metrics}");
            }
            assert!(metrics.contains("# TYPE mlrig_input_anomalies"), "{metrics}");
            assert!(!metrics.contains(r#"feature="workclass""#), "refused requests count nothing: {metrics}");
        }
    });
}
