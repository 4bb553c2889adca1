#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Live monitoring hooks of the router: the input rows attached to what
//! was served, and `GET /v1/models/{m}[/versions/{v}|/labels/{l}]/monitoring`
//! answered from a `MonitoringSource`.

mod fakes;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use fakes::{call, error_of, registry};
use mlrig_core::arrow_array::{Array, Float64Array, RecordBatch, StringArray};
use mlrig_core::arrow_schema::{DataType, Field, Schema};
use mlrig_core::{MonitoringSource, ServedPredictions};
use mlrig_serve::{PredictionTable, ServerConfig, ServingExtras, router_with};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Reports for the versions it was told about; remembers what it was asked.
#[derive(Default)]
struct Reports {
    monitored: Vec<(String, u64)>,
    asked: Mutex<Vec<(String, u64)>>,
}

impl Reports {
    fn of(monitored: &[(&str, u64)]) -> Arc<Self> {
        Arc::new(Self {
            monitored: monitored.iter().map(|(m, v)| (m.to_string(), *v)).collect(),
            asked: Mutex::default(),
        })
    }
}

impl MonitoringSource for Reports {
    fn monitoring_report(&self, model: &str, version: u64) -> Option<Value> {
        self.asked
            .lock()
            .unwrap()
            .push((model.to_string(), version));
        self.monitored
            .iter()
            .any(|(m, v)| m == model && *v == version)
            .then(|| json!({"model": model, "version": version, "skew": {"features": []}}))
    }
}

fn monitored_app(source: Arc<Reports>) -> axum::Router {
    let registry = registry();
    registry.set_label("linear", "stable", 1).unwrap();
    registry.set_label("linear", "canary", 2).unwrap();
    router_with(
        registry,
        &ServerConfig::default(),
        ServingExtras::new().with_monitoring(source),
    )
}

#[tokio::test]
async fn monitoring_answers_the_resolved_version_from_the_source() {
    let source = Reports::of(&[("linear", 2), ("spam", 3)]);
    let app = monitored_app(source.clone());
    for (path, version) in [
        ("/v1/models/linear/monitoring", 2),
        ("/v1/models/linear/versions/2/monitoring", 2),
        ("/v1/models/linear/labels/canary/monitoring", 2),
        ("/v1/models/spam/monitoring", 3),
    ] {
        let (status, body) = call(app.clone(), "GET", path, Body::empty()).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["version"], version, "{path}: {body}");
        assert_eq!(body["skew"], json!({"features": []}), "{path}");
    }
    // Latest and labels are resolved before the source is asked.
    assert_eq!(
        source.asked.lock().unwrap().as_slice(),
        &[
            ("linear".to_string(), 2),
            ("linear".to_string(), 2),
            ("linear".to_string(), 2),
            ("spam".to_string(), 3)
        ]
    );
}

#[tokio::test]
async fn unmonitored_or_unknown_versions_are_404_in_tf_serving_shape() {
    let app = monitored_app(Reports::of(&[("linear", 2)]));
    for path in [
        "/v1/models/linear/versions/1/monitoring",
        "/v1/models/linear/labels/stable/monitoring",
    ] {
        let (status, body) = call(app.clone(), "GET", path, Body::empty()).await;
        assert_eq!(status, 404, "{path}: {body}");
        let message = error_of(&body);
        assert!(
            message.starts_with("no monitoring report for model `linear` version 1: the version is served unmonitored"),
            "{message}"
        );
        assert_eq!(body.as_object().unwrap().len(), 1, "only `error`: {body}");
    }
    let (status, body) = call(
        app.clone(),
        "GET",
        "/v1/models/linear/versions/9/monitoring",
        Body::empty(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        error_of(&body).contains("Specific(linear, 9); available versions of linear: 1, 2"),
        "{body}"
    );
    let (status, body) = call(
        app.clone(),
        "GET",
        "/v1/models/nope/monitoring",
        Body::empty(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(error_of(&body).contains("Latest(nope)"), "{body}");
    let (status, body) = call(
        app.clone(),
        "GET",
        "/v1/models/linear/labels/gone/monitoring",
        Body::empty(),
    )
    .await;
    assert_eq!(status, 400, "an unknown label, as for the other endpoints");
    assert!(error_of(&body).contains("labels of linear"), "{body}");
    let (status, body) = call(
        app.clone(),
        "POST",
        "/v1/models/linear/monitoring",
        "{}".to_string(),
    )
    .await;
    assert_eq!(status, 405, "{body}");
    assert!(error_of(&body).contains("use GET"), "{body}");
}

#[tokio::test]
async fn without_monitoring_the_endpoint_says_it_is_off() {
    let app = router_with(registry(), &ServerConfig::default(), ServingExtras::new());
    let (status, body) = call(app, "GET", "/v1/models/linear/monitoring", Body::empty()).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        error_of(&body),
        "no monitoring report for model `linear` version 2: live monitoring is off on this server"
    );
}

/// Sends one request through `app`; returns what the response says was served.
async fn served_by(app: axum::Router, method: &str, path: &str, body: &str) -> ServedPredictions {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200, "{method} {path}");
    response
        .extensions()
        .get::<ServedPredictions>()
        .cloned()
        .unwrap_or_else(|| panic!("{method} {path}: no ServedPredictions"))
}

fn floats(batch: &RecordBatch, column: &str) -> Vec<Option<f64>> {
    let array = batch
        .column_by_name(column)
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    (0..array.len())
        .map(|i| array.is_valid(i).then(|| array.value(i)))
        .collect()
}

#[tokio::test]
async fn every_protocol_attaches_the_rows_the_model_saw_when_monitoring() {
    let app = monitored_app(Reports::of(&[]));
    let requests = [
        (
            "/v1/models/linear:predict",
            r#"{"instances": [{"x": 1.0}, {"x": -2}]}"#,
        ),
        (
            "/v1/models/linear:predict",
            r#"{"inputs": {"x": [1.0, -2.0]}}"#,
        ),
        (
            "/v1/models/linear:regress",
            r#"{"examples": [{"x": 1.0}, {"x": -2}]}"#,
        ),
        (
            "/v2/models/linear/infer",
            r#"{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [1.0, -2.0]}]}"#,
        ),
    ];
    for (path, body) in requests {
        let served = served_by(app.clone(), "POST", path, body).await;
        let inputs = served
            .inputs
            .unwrap_or_else(|| panic!("{path}: no inputs attached"));
        assert_eq!(inputs.num_rows(), 2, "{path}");
        assert_eq!(floats(&inputs, "x"), [Some(1.0), Some(-2.0)], "{path}");
        assert_eq!(served.scores, [4.0, -5.0], "{path}");
    }

    let plain = router_with(registry(), &ServerConfig::default(), ServingExtras::new());
    let served = served_by(
        plain,
        "POST",
        "/v1/models/linear:predict",
        r#"{"instances": [{"x": 1.0}]}"#,
    )
    .await;
    assert!(served.inputs.is_none(), "off by default: nothing attached");
}

#[tokio::test]
async fn hybrid_answers_attach_only_the_rows_the_model_predicted() {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("prediction", DataType::Float64, false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema.clone()),
        vec![
            Arc::new(StringArray::from(vec!["known"])),
            Arc::new(Float64Array::from(vec![100.0])),
        ],
    )
    .unwrap();
    let table =
        PredictionTable::from_batches("linear", "id", "table.csv", &schema, [batch]).unwrap();
    let extras = ServingExtras::new()
        .with_prediction_table(table)
        .with_monitoring(Reports::of(&[]));
    let app = router_with(registry(), &ServerConfig::default(), extras);
    let served = served_by(
        app.clone(),
        "POST",
        "/v1/models/linear:predict",
        r#"{"instances": [{"id": "known", "x": 7.0}, {"id": "new", "x": 1.0}, {"id": "other", "x": 2.0}]}"#,
    )
    .await;
    assert_eq!((served.rows, served.table_rows), (3, 1));
    let inputs = served.inputs.expect("the model's rows");
    assert_eq!(floats(&inputs, "x"), [Some(1.0), Some(2.0)]);

    let all_known = served_by(
        app,
        "POST",
        "/v1/models/linear:predict",
        r#"{"instances": [{"id": "known", "x": 7.0}]}"#,
    )
    .await;
    assert!(all_known.inputs.is_none(), "the model predicted no row");
}
