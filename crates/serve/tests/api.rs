#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The TF Serving REST API, called in-process through `tower::ServiceExt::oneshot`.

mod fakes;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use fakes::{CREATED_AT, Colors, Gate, Linear, call, error_of, get, post, sigmoid};
use mlrig_serve::{ModelRegistry, ServerConfig, router};
use serde_json::{Value, json};

#[tokio::test]
async fn predicts_regression_in_row_format_with_latest_and_pinned_versions() {
    let (status, json) = post(
        "/v1/models/linear:predict",
        r#"{"instances": [{"x": 1.0}, {"x": -2}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    // Latest is version 2: y = 3x + 1.
    assert_eq!(json, json!({"predictions": [4.0, -5.0]}));

    let (status, json) = post(
        "/v1/models/linear/versions/1:predict",
        r#"{"signature_name": "serving_default", "instances": [{"x": 1.0}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"predictions": [3.0]}));

    // A single-input model also takes bare values, as in TF Serving.
    let (status, json) = post("/v1/models/linear:predict", r#"{"instances": [0.5, 2]}"#).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"predictions": [2.5, 7.0]}));
}

#[tokio::test]
async fn predicts_regression_in_columnar_format() {
    let (status, json) = post(
        "/v1/models/linear:predict",
        r#"{"inputs": {"x": [1.0, 2.0, 3.0]}}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"outputs": [4.0, 7.0, 10.0]}));
    let (status, json) = post("/v1/models/linear:predict", r#"{"inputs": [1.0]}"#).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"outputs": [4.0]}));
}

#[tokio::test]
async fn predicts_classification_in_row_and_columnar_format() {
    let (status, json) = post(
        "/v1/models/spam:predict",
        r#"{"instances": [{"score": 2.0, "sender": "eve", "urgent": true, "links": 3},
                          {"score": 5.0, "sender": "boss"},
                          {"score": -1.0, "sender": null}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let predictions = json["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 3);
    let first = &predictions[0];
    assert_eq!(first["classes"], json!(["ham", "spam"]));
    assert_eq!(first["scores"][1].as_f64().unwrap(), sigmoid(2.0));
    assert_eq!(first["scores"][0].as_f64().unwrap(), 1.0 - sigmoid(2.0));
    assert_eq!(first["label"], "spam");
    assert_eq!(predictions[1]["label"], "ham");
    assert_eq!(predictions[1]["scores"], json!([1.0, 0.0]));
    assert_eq!(predictions[2]["label"], "ham");

    let (status, columnar) = post(
        "/v1/models/spam:predict",
        r#"{"inputs": {"score": [2.0, 5.0, -1.0], "sender": ["eve", "boss", null]}}"#,
    )
    .await;
    assert_eq!(status, 200, "{columnar}");
    let outputs = &columnar["outputs"];
    assert_eq!(outputs["label"], json!(["spam", "ham", "ham"]));
    assert_eq!(outputs["classes"][2], json!(["ham", "spam"]));
    for (i, row) in predictions.iter().enumerate() {
        assert_eq!(outputs["scores"][i], row["scores"], "instance {i}");
    }
}

#[tokio::test]
async fn classify_and_regress_use_tf_serving_results_shapes() {
    let (status, json) = post(
        "/v1/models/spam:classify",
        r#"{"context": {"sender": "eve"}, "examples": [{"score": 0.0}, {"score": 3.0}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        json,
        json!({"results": [[["ham", 0.5], ["spam", 0.5]], [["ham", 1.0 - sigmoid(3.0)], ["spam", sigmoid(3.0)]]]})
    );
    let (status, json) = post(
        "/v1/models/linear/versions/1:regress",
        r#"{"examples": [{"x": 1.0}, {"x": 0.0}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"results": [3.0, 1.0]}));
}

/// Every 400 names what is wrong: the instance, the field, expected vs found.
#[tokio::test]
async fn bad_requests_are_400_naming_the_field() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "/v1/models/linear:predict",
            r#"{"instances": [{"x": 1}, {"x": "forty"}]}"#,
            "instance 1, field `x`: expected a number, found string \"forty\"",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"instances": [{"x": 1}, {}]}"#,
            "instance 1, missing required field `x`",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"instances": [{"x": null}]}"#,
            "instance 0, missing required field `x`",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"instances": [{"x": 1, "z": 2}]}"#,
            "instance 0, unknown field `z`; expected one of: x",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"inputs": {"score": [1.0], "links": [1.5]}}"#,
            "instance 0, field `links`: expected an integer, found number 1.5",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"instances": [{"score": 1, "urgent": "yes"}]}"#,
            "instance 0, field `urgent`: expected true or false, found string \"yes\"",
        ),
        // The model itself rejects a null score as the caller's fault.
        (
            "/v1/models/spam:predict",
            r#"{"instances": [{"score": 1}, {"sender": "eve"}]}"#,
            "instance 1, missing required field `score`",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"instances": [[1, 2]]}"#,
            "instance 0, field `(record)`: expected a JSON object of field names to values, found an array",
        ),
        (
            "/v1/models/linear:predict",
            "{\"instances\": [{\"x\": 1}",
            "request body is not valid JSON: EOF while parsing",
        ),
        (
            "/v1/models/linear:predict",
            "x=1&y=2",
            "request body is not valid JSON: expected value at line 1 column 1",
        ),
        ("/v1/models/linear:predict", "", "request body is empty"),
        (
            "/v1/models/linear:predict",
            "[1, 2]",
            "request body must be a JSON object",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"instances": []}"#,
            "the request has no rows",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"inputs": {}}"#,
            "the request has no rows",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"instances": {"x": 1}}"#,
            "`instances` must be a list of instances, found an object",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"instances": [{"x": 1}], "inputs": {"x": [1]}}"#,
            "both `instances`",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"rows": [{"x": 1}]}"#,
            "unknown key `rows`",
        ),
        (
            "/v1/models/linear:predict",
            r#"{"signature_name": "other", "instances": [{"x": 1}]}"#,
            "unknown signature_name string \"other\"",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"inputs": {"score": [1, 2], "sender": ["a"]}}"#,
            "`inputs.sender` has 1 values but `inputs.score` has 2",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"inputs": {"score": 1}}"#,
            "`inputs.score` must be a list with one value per instance, found number 1",
        ),
        (
            "/v1/models/spam:classify",
            r#"{"examples": [{"score": 1}, 7]}"#,
            "example 1: expected an object",
        ),
        // Classify needs a classifier and regress a regression model.
        (
            "/v1/models/linear:classify",
            r#"{"examples": [{"x": 1.0}]}"#,
            "regression model",
        ),
        (
            "/v1/models/spam:regress",
            r#"{"examples": [{"score": 1.0}]}"#,
            "classification model",
        ),
        (
            "/v1/models/linear:explain",
            r#"{"instances": [{"x": 1}]}"#,
            "unknown method `:explain`",
        ),
        (
            "/v1/models/linear/versions/latest:predict",
            r#"{"instances": [{"x": 1}]}"#,
            "model version must be a positive integer, found `latest`",
        ),
        (
            "/v1/models/linear/labels/stable:predict",
            r#"{"instances": [{"x": 1}]}"#,
            "Unrecognized servable version label: stable; labels of linear: none",
        ),
    ];
    for (path, body, expected) in cases {
        let (status, json) = post(path, body).await;
        assert_eq!(status, 400, "{path} {body}: {json}");
        let message = error_of(&json);
        assert!(
            message.contains(expected),
            "{path} {body}:\n  got      {message}\n  expected {expected}"
        );
    }
}

#[tokio::test]
async fn unknown_models_versions_and_paths_are_404_json() {
    let (status, json) = post("/v1/models/iris:predict", r#"{"instances": [{"x": 1}]}"#).await;
    assert_eq!(status, 404);
    assert_eq!(
        error_of(&json),
        "Servable not found for request: Latest(iris); available models: broken, clash, colors, linear, spam"
    );
    let (status, json) = post(
        "/v1/models/linear/versions/7:predict",
        r#"{"instances": [{"x": 1}]}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        error_of(&json),
        "Servable not found for request: Specific(linear, 7); available versions of linear: 1, 2"
    );
    let (status, json) = get("/v1/models/iris/metadata").await;
    assert_eq!(status, 404);
    assert!(error_of(&json).contains("Latest(iris)"));
    for path in [
        "/v2/models/linear/config",
        "/",
        "/v1/models",
        "/v1/models/linear/extra",
    ] {
        let (status, json) = get(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(error_of(&json).contains(path), "{path}: {json}");
    }
}

#[tokio::test]
async fn wrong_method_is_405_json() {
    let (status, json) = get("/v1/models/linear:predict").await;
    assert_eq!(status, 405);
    assert!(error_of(&json).contains("use POST"), "{json}");
    let (status, _) = post("/v1/models/linear", "{}").await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let app = router(
        fakes::registry(),
        &ServerConfig::default().with_max_body_bytes(64),
    );
    let big = format!(
        r#"{{"instances": [{}]}}"#,
        vec![r#"{"x": 1.0}"#; 20].join(",")
    );
    assert!(big.len() > 64);
    let (status, json) = call(app.clone(), "POST", "/v1/models/linear:predict", big).await;
    assert_eq!(status, 413);
    assert_eq!(
        error_of(&json),
        "request body is larger than the limit of 64 bytes"
    );
    // Just under the limit is fine.
    let (status, json) = call(
        app,
        "POST",
        "/v1/models/linear:predict",
        r#"{"instances": [{"x": 1.0}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
}

#[tokio::test]
async fn status_endpoints_report_available_versions() {
    let (status, json) = get("/v1/models/linear").await;
    assert_eq!(status, 200);
    assert_eq!(
        json,
        json!({"model_version_status": [
            {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}},
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]})
    );
    let (status, json) = get("/v1/models/linear/versions/1").await;
    assert_eq!(status, 200);
    assert_eq!(json["model_version_status"].as_array().unwrap().len(), 1);
    assert_eq!(json["model_version_status"][0]["version"], "1");
    let (status, _) = get("/v1/models/linear/versions/3").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn metadata_describes_task_classes_and_inputs() {
    let (status, json) = get("/v1/models/spam/metadata").await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        json["model_spec"],
        json!({"name": "spam", "signature_name": "", "version": "3"})
    );
    let metadata = &json["metadata"];
    assert_eq!(metadata["task"], "classification");
    assert_eq!(metadata["classes"], json!(["ham", "spam"]));
    assert_eq!(metadata["target"], "is_spam");
    assert_eq!(metadata["created_at_unix"], CREATED_AT);
    assert_eq!(
        metadata["inputs"],
        json!([
            {"name": "score", "dtype": "Float64", "json_type": "number", "nullable": true},
            {"name": "sender", "dtype": "Utf8", "json_type": "string", "nullable": true},
            {"name": "urgent", "dtype": "Boolean", "json_type": "boolean", "nullable": true},
            {"name": "links", "dtype": "Int64", "json_type": "integer", "nullable": true}
        ])
    );
    let (status, json) = get("/v1/models/linear/versions/1/metadata").await;
    assert_eq!(status, 200);
    assert_eq!(json["model_spec"]["version"], "1");
    assert_eq!(json["metadata"]["task"], "regression");
    assert!(json["metadata"].get("classes").is_none());
    assert_eq!(
        json["metadata"]["signature_def"],
        json!({"signature_def": {"serving_default": {
            "inputs": {"x": {"dtype": "DT_DOUBLE", "name": "x",
                "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": false}}},
            "outputs": {"predictions": {"dtype": "DT_DOUBLE", "name": "predictions",
                "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": false}}},
            "method_name": "tensorflow/serving/predict"
        }}})
    );
}

#[tokio::test]
async fn metadata_signature_def_has_tf_dtypes_and_classifier_outputs() {
    let (_, json) = get("/v1/models/spam/metadata").await;
    let signature = &json["metadata"]["signature_def"]["signature_def"]["serving_default"];
    let dtypes: Vec<(&str, &str)> = signature["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v["dtype"].as_str().unwrap()))
        .collect();
    assert_eq!(
        dtypes,
        [
            ("links", "DT_INT64"),
            ("score", "DT_DOUBLE"),
            ("sender", "DT_STRING"),
            ("urgent", "DT_BOOL")
        ]
    );
    assert_eq!(
        signature["outputs"]["scores"]["tensor_shape"]["dim"],
        json!([{"size": "-1", "name": ""}, {"size": "2", "name": ""}])
    );
    assert_eq!(signature["outputs"]["label"]["dtype"], "DT_STRING");
    assert_eq!(signature["outputs"]["classes"]["dtype"], "DT_STRING");
}

#[tokio::test]
async fn labels_route_through_the_registry() {
    let registry = fakes::registry();
    let app = || router(registry.clone(), &ServerConfig::default());
    let body = r#"{"instances": [{"x": 1.0}]}"#;
    let (status, json) = call(
        app(),
        "POST",
        "/v1/models/linear/labels/stable:predict",
        body,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&json),
        "Unrecognized servable version label: stable; labels of linear: none"
    );
    registry.set_label("linear", "stable", 1).unwrap();
    registry.set_label("linear", "canary", 2).unwrap();
    let (status, json) = call(
        app(),
        "POST",
        "/v1/models/linear/labels/stable:predict",
        body,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"predictions": [3.0]}));
    let (_, json) = call(
        app(),
        "POST",
        "/v1/models/linear/labels/canary:regress",
        r#"{"examples": [{"x": 1.0}]}"#,
    )
    .await;
    assert_eq!(json, json!({"results": [4.0]}));
    let (status, json) = call(
        app(),
        "GET",
        "/v1/models/linear/labels/stable",
        Body::empty(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json["model_version_status"][0]["version"], "1");
    let (_, json) = call(
        app(),
        "GET",
        "/v1/models/linear/labels/canary/metadata",
        Body::empty(),
    )
    .await;
    assert_eq!(json["model_spec"]["version"], "2");
    let (status, json) = call(app(), "GET", "/v1/models/linear/labels/beta", Body::empty()).await;
    assert_eq!(status, 400);
    assert!(
        error_of(&json).ends_with("labels of linear: canary, stable"),
        "{json}"
    );
    // A label can only point at a loaded version.
    assert!(registry.set_label("linear", "stable", 9).is_err());
    // A label that cannot be addressed in a path is the caller's error (400).
    for label in ["", "a/b", "v:1"] {
        let err = registry.set_label("linear", label, 1).unwrap_err();
        assert!(
            matches!(err, mlrig_serve::ServeError::InvalidLabel { .. }),
            "{err}"
        );
        assert_eq!(err.status_code(), 400, "{err}");
    }
    assert_eq!(registry.labels("linear").len(), 2);
}

#[tokio::test]
async fn verbs_are_case_insensitive() {
    for verb in ["PREDICT", "Predict", "pReDiCt"] {
        let (status, json) = post(
            &format!("/v1/models/linear:{verb}"),
            r#"{"instances": [{"x": 1.0}]}"#,
        )
        .await;
        assert_eq!(status, 200, "{verb}: {json}");
        assert_eq!(json, json!({"predictions": [4.0]}));
    }
    let (status, json) = post("/v1/models/linear:REGRESS", r#"{"examples": [{"x": 0.0}]}"#).await;
    assert_eq!((status.as_u16(), json), (200, json!({"results": [1.0]})));
}

#[tokio::test]
async fn non_finite_literals_are_accepted_as_in_tf_serving() {
    // The model sees NaN and ±∞ (its answers are not finite, written as null).
    let (status, json) = post(
        "/v1/models/linear:predict",
        r#"{"instances": [{"x": NaN}, {"x": Infinity}, {"x": -Infinity}, {"x": 1}]}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"predictions": [null, null, null, 4.0]}));
    let (status, json) = post(
        "/v1/models/spam:predict",
        r#"{"inputs": {"score": [Infinity], "sender": ["NaN Infinity"]}}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["outputs"]["label"], json!(["spam"]));
    let (status, json) = post(
        "/v1/models/linear:predict",
        r#"{"instances": [{"x": Nan}]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        error_of(&json).starts_with("request body is not valid JSON"),
        "{json}"
    );
}

#[tokio::test]
async fn model_failures_are_500_without_internal_details() {
    let (status, json) = post("/v1/models/broken:predict", r#"{"instances": [{"x": 1}]}"#).await;
    assert_eq!(status, 500);
    let message = error_of(&json);
    assert!(!message.contains("secret"), "{message}");
    assert!(message.contains("internal error"), "{message}");
}

/// Large requests run on the blocking pool; the answer is the same as inline.
#[tokio::test]
async fn blocking_pool_and_inline_give_identical_answers() {
    let instances: Vec<Value> = (0..500)
        .map(|i| json!({"score": i as f64 / 50.0 - 5.0}))
        .collect();
    let body = json!({ "instances": instances }).to_string();
    let inline = router(
        fakes::registry(),
        &ServerConfig::default().with_inline_predict_max_bytes(usize::MAX),
    );
    let pooled = router(
        fakes::registry(),
        &ServerConfig::default().with_inline_predict_max_bytes(0),
    );
    let (s1, a) = call(inline, "POST", "/v1/models/spam:predict", body.clone()).await;
    let (s2, b) = call(pooled, "POST", "/v1/models/spam:predict", body).await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (200, 200));
    assert_eq!(a, b);
    assert_eq!(a["predictions"].as_array().unwrap().len(), 500);
}

#[tokio::test]
async fn slow_requests_time_out_with_504_json() {
    let registry = Arc::new(ModelRegistry::new());
    let (gate, release) = Gate::new();
    registry.insert(gate).unwrap();
    let app = router(
        registry,
        &ServerConfig::default()
            .with_request_timeout(Duration::from_millis(50))
            .with_inline_predict_max_bytes(0),
    );
    let (status, json) = call(
        app,
        "POST",
        "/v1/models/gate:predict",
        Body::from(r#"{"instances": [{"x": 1}]}"#),
    )
    .await;
    release.send(()).unwrap();
    assert_eq!(status, 504);
    assert_eq!(error_of(&json), "request did not complete within 50 ms");
}

#[tokio::test]
async fn hot_inserted_versions_are_served_immediately() {
    let registry = fakes::registry();
    let app = router(registry.clone(), &ServerConfig::default());
    registry.insert(Linear::new(5, 10.0)).unwrap();
    let (status, json) = call(
        app.clone(),
        "POST",
        "/v1/models/linear:predict",
        r#"{"instances": [{"x": 1}]}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json, json!({"predictions": [11.0]}));
    registry.remove("linear", 5);
    let (_, json) = call(
        app,
        "POST",
        "/v1/models/linear:predict",
        r#"{"instances": [{"x": 1}]}"#,
    )
    .await;
    assert_eq!(json, json!({"predictions": [4.0]}));
}

/// The raw response body of a POST through the default app.
async fn post_bytes(path: &str, body: &str) -> (u16, Vec<u8>) {
    use tower::ServiceExt;
    let request = axum::http::Request::post(path)
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = fakes::app().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

fn logit(p: f64) -> f64 {
    libm::log(p / (1.0 - p))
}

/// `"contributions": true` adds one flat object per instance for a binary
/// model (the log-odds of `spam`), in row and columnar requests alike;
/// `false` or no key answers exactly the bytes of today's response.
#[tokio::test]
async fn binary_contributions_are_opt_in_and_flat() {
    let path = "/v1/models/spam:predict";
    let instances =
        r#"[{"score": 2.0, "sender": "eve"}, {"score": 5.0, "sender": "boss"}, {"score": -1.0}]"#;
    let (status, plain) = post_bytes(path, &format!(r#"{{"instances": {instances}}}"#)).await;
    assert_eq!(status, 200);
    let (status, off) = post_bytes(
        path,
        &format!(r#"{{"contributions": false, "instances": {instances}}}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(off).unwrap(),
        String::from_utf8(plain.clone()).unwrap()
    );

    let (status, json) = post(
        path,
        &format!(r#"{{"instances": {instances}, "contributions": true}}"#),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        json["contributions"],
        json!([
            {"score": 2.0, "sender": 0.0, "(bias)": 0.0},
            // −∞ (P(spam) = 0) is written as null, like every non-finite value.
            {"score": 5.0, "sender": null, "(bias)": 0.0},
            {"score": -1.0, "sender": 0.0, "(bias)": 0.0},
        ])
    );
    // The rest of the response is the plain one.
    let mut rest = json.clone();
    rest.as_object_mut().unwrap().remove("contributions");
    assert_eq!(rest, serde_json::from_slice::<Value>(&plain).unwrap());
    for i in [0, 2] {
        let entry = json["contributions"][i].as_object().unwrap();
        let total: f64 = entry.values().map(|v| v.as_f64().unwrap()).sum();
        let p = json["predictions"][i]["scores"][1].as_f64().unwrap();
        assert!((total - logit(p)).abs() < 1e-12, "instance {i}");
    }

    // Columnar: `outputs` plus the same list.
    let (status, columnar) = post(
        path,
        r#"{"inputs": {"score": [2.0, 5.0, -1.0], "sender": ["eve", "boss", null]}, "contributions": true}"#,
    )
    .await;
    assert_eq!(status, 200, "{columnar}");
    assert_eq!(columnar["contributions"], json["contributions"]);
    assert_eq!(columnar["outputs"]["label"], json!(["spam", "ham", "ham"]));
    let (status, plain_columnar) = post(
        path,
        r#"{"inputs": {"score": [2.0, 5.0, -1.0], "sender": ["eve", "boss", null]}}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(plain_columnar, json!({"outputs": columnar["outputs"]}));
}

/// A multiclass model answers one object per class, keyed by class name,
/// whose values sum to the class's logit.
#[tokio::test]
async fn multiclass_contributions_are_keyed_by_class() {
    let (status, json) = post(
        "/v1/models/colors:predict",
        r#"{"instances": [{"x": 1.0}, {"x": -2.0}], "contributions": true}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        json["contributions"],
        json!([
            {"red": {"x": 1.0, "(bias)": 0.5}, "green": {"x": -1.0, "(bias)": 0.0}, "blue": {"x": 0.0, "(bias)": -0.5}},
            {"red": {"x": -2.0, "(bias)": 0.5}, "green": {"x": 2.0, "(bias)": 0.0}, "blue": {"x": 0.0, "(bias)": -0.5}},
        ])
    );
    for (i, x) in [1.0, -2.0].into_iter().enumerate() {
        let logits: Vec<f64> = fakes::COLOR_CLASSES
            .iter()
            .map(|class| {
                json["contributions"][i][class]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_f64().unwrap())
                    .sum()
            })
            .collect();
        let total: f64 = logits.iter().map(|l| libm::exp(*l)).sum();
        for (k, p) in Colors::probabilities(x).into_iter().enumerate() {
            assert!((libm::exp(logits[k]) / total - p).abs() < 1e-15);
            assert_eq!(json["predictions"][i]["scores"][k].as_f64().unwrap(), p);
        }
    }
    // A one-input model takes bare values with contributions too.
    let (status, bare) = post(
        "/v1/models/colors:predict",
        r#"{"inputs": [1.0, -2.0], "contributions": true}"#,
    )
    .await;
    assert_eq!(status, 200, "{bare}");
    assert_eq!(bare["contributions"], json["contributions"]);
}

/// Asking for contributions wrongly, or of a model that has none, is a 400
/// naming the reason; `:classify` and `:regress` do not know the key.
#[tokio::test]
async fn contribution_requests_that_cannot_be_answered_are_400() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "/v1/models/linear:predict",
            r#"{"instances": [{"x": 1}], "contributions": true}"#,
            "contributions not supported: model `linear` version 2 does not compute per-prediction feature contributions",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"instances": [{"score": 1}], "contributions": "yes"}"#,
            "`contributions` must be true or false, found string \"yes\"",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"inputs": {"score": [1]}, "contributions": 1}"#,
            "`contributions` must be true or false, found number 1",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"instances": [{"score": 1}], "contributions": null}"#,
            "`contributions` must be true or false, found null",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"instances": [{"score": 1}], "contributions": [true]}"#,
            "`contributions` must be true or false, found an array",
        ),
        // A bad record is reported as without the key.
        (
            "/v1/models/spam:predict",
            r#"{"instances": [{"score": 1}, {"sender": "eve"}], "contributions": true}"#,
            "instance 1, missing required field `score`",
        ),
        (
            "/v1/models/clash:predict",
            r#"{"instances": [{"x": 1}], "contributions": true}"#,
            "contributions not supported: the model has a feature named `(bias)`, the name reserved for the bias",
        ),
        (
            "/v1/models/spam:classify",
            r#"{"examples": [{"score": 1}], "contributions": true}"#,
            "unknown key `contributions` in the request; expected `examples` or `context` (and optionally `signature_name`)",
        ),
        (
            "/v1/models/linear:regress",
            r#"{"examples": [{"x": 1}], "contributions": false}"#,
            "unknown key `contributions`",
        ),
        (
            "/v1/models/spam:predict",
            r#"{"instances": [{"score": 1}], "explain": true}"#,
            "unknown key `explain` in the request; expected `instances` or `inputs` (and optionally `contributions`, `signature_name`)",
        ),
    ];
    for (path, body, expected) in cases {
        let (status, json) = post(path, body).await;
        assert_eq!(status, 400, "{path} {body}: {json}");
        let message = error_of(&json);
        assert!(
            message.contains(expected),
            "{path} {body}:\n  got      {message}\n  expected {expected}"
        );
    }
    // Without the key the model without contributions predicts as ever.
    let (status, json) = post("/v1/models/clash:predict", r#"{"instances": [{"x": 1}]}"#).await;
    assert_eq!(
        (status.as_u16(), json),
        (200, json!({"predictions": [1.0]}))
    );
    // A model failure is still a 500, with or without the key.
    let (status, _) = post(
        "/v1/models/broken:predict",
        r#"{"instances": [{"x": 1}], "contributions": true}"#,
    )
    .await;
    assert_eq!(status, 500);
}
