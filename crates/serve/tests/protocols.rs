#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Open Inference Protocol v2 and MLflow scoring endpoints, called
//! in-process; every answer is compared with TF Serving's for the same rows
//! (one prediction path).

mod fakes;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use fakes::{Colors, sigmoid};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Sends a request with the given headers; returns status, headers and body bytes.
async fn send(
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: impl Into<Body>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = fakes::app()
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

async fn v2_json(method: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let (status, headers, bytes) = send(
        method,
        path,
        &[("content-type", "application/json".into())],
        body.to_string(),
    )
    .await;
    assert_eq!(headers["content-type"], "application/json", "{path}");
    (status, json_of(&bytes))
}

async fn tf_predict(model: &str, instances: Value) -> Value {
    let (_, json) = fakes::post(
        &format!("/v1/models/{model}:predict"),
        &json!({ "instances": instances }).to_string(),
    )
    .await;
    json["predictions"].clone()
}

#[tokio::test]
async fn health_and_server_metadata() {
    for path in [
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/linear/ready",
        "/v2/models/linear/versions/1/ready",
    ] {
        let (status, _, body) = send("GET", path, &[], Body::empty()).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.is_empty(), "{path}: health answers have an empty body");
    }
    let (status, json) = v2_json("GET", "/v2", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(json["name"], "mlrig");
    assert_eq!(json["extensions"], json!(["binary_tensor_data"]));
    let (status, json) = v2_json("GET", "/v2/models/iris/ready", Value::Null).await;
    assert_eq!(status, 404);
    assert!(
        json["error"].as_str().unwrap().contains("Latest(iris)"),
        "{json}"
    );
    let (status, json) = v2_json("GET", "/v2/models/linear/versions/9/ready", Value::Null).await;
    assert_eq!(status, 404, "{json}");
    let (status, json) = v2_json("POST", "/v2/health/live", Value::Null).await;
    assert_eq!(status, 405, "{json}");

    let empty = mlrig_serve::router(
        std::sync::Arc::new(mlrig_serve::ModelRegistry::new()),
        &mlrig_serve::ServerConfig::default(),
    );
    let response = empty
        .oneshot(
            Request::get("/v2/health/ready")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "no model loaded: not ready");
}

#[tokio::test]
async fn model_metadata_lists_one_tensor_per_field_and_the_outputs() {
    let (status, json) = v2_json("GET", "/v2/models/spam", Value::Null).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(
        json,
        json!({
            "name": "spam", "versions": ["3"], "platform": "mlrig",
            "inputs": [
                {"name": "score", "datatype": "FP64", "shape": [-1]},
                {"name": "sender", "datatype": "BYTES", "shape": [-1]},
                {"name": "urgent", "datatype": "BOOL", "shape": [-1]},
                {"name": "links", "datatype": "INT64", "shape": [-1]}
            ],
            "outputs": [
                {"name": "label", "datatype": "BYTES", "shape": [-1]},
                {"name": "scores", "datatype": "FP64", "shape": [-1, 2]}
            ]
        })
    );
    let (_, json) = v2_json("GET", "/v2/models/linear/versions/1", Value::Null).await;
    assert_eq!(json["versions"], json!(["1", "2"]));
    assert_eq!(
        json["outputs"],
        json!([{"name": "predictions", "datatype": "FP64", "shape": [-1]}])
    );
}

#[tokio::test]
async fn infer_json_one_tensor_per_column_matches_tf_serving() {
    let (status, json) = v2_json(
        "POST",
        "/v2/models/spam/infer",
        json!({"id": "r1", "inputs": [
            {"name": "score", "datatype": "FP64", "shape": [3], "data": [2.0, 5.0, -1.0]},
            {"name": "sender", "datatype": "BYTES", "shape": [3, 1], "data": [["eve"], ["boss"], ["x"]]}
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["model_name"], "spam");
    assert_eq!(json["model_version"], "3");
    assert_eq!(json["id"], "r1");
    let tf = tf_predict(
        "spam",
        json!([{"score": 2.0, "sender": "eve"}, {"score": 5.0, "sender": "boss"}, {"score": -1.0, "sender": "x"}]),
    )
    .await;
    let outputs = json["outputs"].as_array().unwrap();
    assert_eq!(outputs[0]["name"], "label");
    assert_eq!(outputs[0]["shape"], json!([3]));
    let labels: Vec<Value> = tf
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].clone())
        .collect();
    assert_eq!(outputs[0]["data"], Value::Array(labels));
    assert_eq!(outputs[1]["name"], "scores");
    assert_eq!(outputs[1]["shape"], json!([3, 2]));
    let scores: Vec<Value> = tf
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["scores"].as_array().unwrap().clone())
        .collect();
    assert_eq!(outputs[1]["data"], Value::Array(scores));
}

#[tokio::test]
async fn infer_json_matrix_input_and_requested_outputs() {
    // One [N, F] tensor: columns are the fields in schema order.
    let (status, json) = v2_json(
        "POST",
        "/v2/models/linear/versions/1/infer",
        json!({"inputs": [{"name": "features", "datatype": "FP32", "shape": [2, 1], "data": [1.0, 2.5]}]}),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["model_version"], "1");
    assert_eq!(
        json["outputs"],
        json!([{"name": "predictions", "datatype": "FP64", "shape": [2], "data": [3.0, 6.0]}])
    );
    let (status, json) = v2_json(
        "POST",
        "/v2/models/colors/infer",
        json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [0.5]}],
               "outputs": [{"name": "scores"}]}),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let outputs = json["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["data"], json!(Colors::probabilities(0.5)));
}

/// The binary tensor extension as `tritonclient` uses it: binary inputs,
/// `binary_data_output`, and the response split by its header length.
#[tokio::test]
async fn infer_binary_inputs_and_outputs() {
    let scores: Vec<u8> = [2.0f64, -1.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let senders: Vec<u8> = ["eve", "boss"]
        .iter()
        .flat_map(|s| [&(s.len() as u32).to_le_bytes()[..], s.as_bytes()].concat())
        .collect();
    let header = json!({"inputs": [
        {"name": "score", "datatype": "FP64", "shape": [2], "parameters": {"binary_data_size": scores.len()}},
        {"name": "sender", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": senders.len()}}
    ], "parameters": {"binary_data_output": true}})
    .to_string();
    let body = [header.as_bytes(), &scores, &senders].concat();
    let (status, headers, bytes) = send(
        "POST",
        "/v2/models/spam/infer",
        &[("inference-header-content-length", header.len().to_string())],
        body,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["content-type"], "application/octet-stream");
    let json_length: usize = headers["inference-header-content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let document = json_of(&bytes[..json_length]);
    let binary = &bytes[json_length..];
    let outputs = document["outputs"].as_array().unwrap();
    assert!(outputs.iter().all(|o| o.get("data").is_none()));
    let label_size = outputs[0]["parameters"]["binary_data_size"]
        .as_u64()
        .unwrap() as usize;
    let score_size = outputs[1]["parameters"]["binary_data_size"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(label_size + score_size, binary.len());
    let expected_labels = [
        &4u32.to_le_bytes()[..],
        b"spam",
        &3u32.to_le_bytes(),
        b"ham",
    ]
    .concat();
    assert_eq!(&binary[..label_size], &expected_labels[..]);
    let probabilities: Vec<f64> = binary[label_size..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(probabilities, [1.0 - sigmoid(2.0), sigmoid(2.0), 1.0, 0.0]);

    // Per-output choice: label as JSON, scores binary.
    let header = json!({"inputs": [
        {"name": "score", "datatype": "FP64", "shape": [2], "parameters": {"binary_data_size": scores.len()}},
        {"name": "sender", "datatype": "BYTES", "shape": [2], "data": ["eve", "boss"]}
    ], "outputs": [{"name": "label", "parameters": {"binary_data": false}}, {"name": "scores", "parameters": {"binary_data": true}}]})
    .to_string();
    let (status, headers, bytes) = send(
        "POST",
        "/v2/models/spam/infer",
        &[("inference-header-content-length", header.len().to_string())],
        [header.as_bytes(), &scores].concat(),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let json_length: usize = headers["inference-header-content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let document = json_of(&bytes[..json_length]);
    assert_eq!(document["outputs"][0]["data"], json!(["spam", "ham"]));
    assert_eq!(bytes.len() - json_length, 32);
}

/// Every error is `{"error": "..."}` and says what is wrong.
#[tokio::test]
async fn infer_errors_name_the_problem() {
    let cases = [
        (json!({"inputs": []}), "no rows"),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [2], "data": [1.0]}]}),
            "has shape [2] (2 elements) but 1 values",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1]}]}),
            "neither `data` nor the binary_data_size parameter",
        ),
        (
            json!({"inputs": [{"name": "y", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}]}),
            "must be one [N, 1] tensor whose columns are the fields x",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [1]}, {"name": "y", "datatype": "FP64", "shape": [1], "data": [1]}]}),
            "input `y` is not a field of the model",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 2], "data": [1, 2]}]}),
            "a field's tensor has shape [N] or [N, 1]",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}),
            "field `x`: expected a number, found string \"a\"",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1], "data": []}]}),
            "must have non-negative dimensions",
        ),
        (
            json!({"inputs": [{"name": "m", "datatype": "FP64", "shape": [0, 1], "data": []}]}),
            "the request has no rows",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [{"a": 1}]}]}),
            "holds tensor elements",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [1]}], "outputs": [{"name": "label"}]}),
            "requested output `label` is not an output of the model",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [1]}], "parameters": {"binary_data_output": "yes"}}),
            "binary_data_output must be true or false",
        ),
        (
            json!({"input": []}),
            "the inference request is not valid: unknown field `input`",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [1]}, {"name": "x", "datatype": "FP64", "shape": [1], "data": [2]}]}),
            "input `x` is sent twice",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [1]}], "outputs": [{"name": "predictions", "parameters": {"classification": 2}}]}),
            "requested output `predictions`: parameter `classification` is not supported; parameters read here: binary_data",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [1], "parameters": {"shared_memory_region": "r"}}]}),
            "input `x`: parameter `shared_memory_region` is not supported",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP16", "shape": [1], "data": [1.0]}]}),
            "datatype \"FP16\" is not supported",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "BF16", "shape": [1], "data": [1.0]}]}),
            "datatype \"BF16\" is not supported",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "nope", "shape": [1], "data": [1.0]}]}),
            "datatype \"nope\" is not supported",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "INT64", "shape": [2], "data": [1, 2.5]}]}),
            "input `x`: element 1 is number 2.5 but the datatype is INT64",
        ),
        (
            json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": ["1"]}]}),
            "but the datatype is FP64",
        ),
    ];
    for (body, expected) in cases {
        let (status, json) = v2_json("POST", "/v2/models/linear/infer", body.clone()).await;
        assert_eq!(status, 400, "{body}: {json}");
        let message = json["error"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{body}:\n  got      {message}\n  expected {expected}"
        );
    }
    let (status, json) = v2_json(
        "POST",
        "/v2/models/spam/infer",
        json!({"inputs": [
            {"name": "score", "datatype": "FP64", "shape": [2], "data": [1, 2]},
            {"name": "sender", "datatype": "BYTES", "shape": [1], "data": ["eve"]}
        ]}),
    )
    .await;
    assert_eq!(status, 400, "{json}");
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("input `sender` has 1 values but input `score` has 2"),
        "{json}"
    );
    // Binary framing errors.
    let header = json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "parameters": {"binary_data_size": 8}}]}).to_string();
    for (length, extra, expected) in [
        (header.len() + 100, 8, "but the body has only"),
        (header.len(), 4, "binary_data_size is 8 but only 4 bytes"),
        (
            header.len(),
            16,
            "8 bytes of binary tensor data follow the inputs",
        ),
    ] {
        let body = [header.as_bytes(), &vec![0u8; extra]].concat();
        let (status, _, bytes) = send(
            "POST",
            "/v2/models/linear/infer",
            &[("inference-header-content-length", length.to_string())],
            body,
        )
        .await;
        assert_eq!(status, 400);
        let message = json_of(&bytes)["error"].as_str().unwrap().to_string();
        assert!(message.contains(expected), "{message}");
    }
    let (status, _, bytes) = send(
        "POST",
        "/v2/models/linear/infer",
        &[("inference-header-content-length", "many".into())],
        "{}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        json_of(&bytes)["error"]
            .as_str()
            .unwrap()
            .contains("Inference-Header-Content-Length")
    );
    let (status, json) = v2_json("GET", "/v2/models/linear/infer", Value::Null).await;
    assert_eq!(status, 405, "{json}");
    let (status, json) = v2_json(
        "POST",
        "/v2/models/broken/infer",
        json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [1]}]}),
    )
    .await;
    assert_eq!(status, 500);
    assert!(!json["error"].as_str().unwrap().contains("secret"));
}

/// A shape claiming far more elements than were sent (2^40, near i64::MAX,
/// a product that overflows) is a 400 JSON error on the JSON and the binary
/// path: nothing is reserved from the shape, and the server keeps answering.
#[tokio::test]
async fn huge_shapes_are_400_without_allocating() {
    let huge = [1i64 << 40, i64::MAX - 1, 1 << 62];
    for dim in huge {
        for (name, shape) in [
            ("x", json!([dim])),
            ("m", json!([dim, 1])),
            ("x", json!([dim, dim])),
        ] {
            let body = json!({"inputs": [{"name": name, "datatype": "FP64", "shape": shape, "data": [1]}]});
            let (status, json) = v2_json("POST", "/v2/models/linear/infer", body.clone()).await;
            assert_eq!(status, 400, "{body}: {json}");
            let message = json["error"].as_str().unwrap();
            assert!(
                message.contains("at most 100000 rows")
                    || message.contains("more elements than any request body"),
                "{body}: {message}"
            );
            let header = json!({"inputs": [{"name": name, "datatype": "FP64", "shape": shape, "parameters": {"binary_data_size": 8}}]}).to_string();
            let (status, _, bytes) = send(
                "POST",
                "/v2/models/linear/infer",
                &[("inference-header-content-length", header.len().to_string())],
                [header.as_bytes(), &1.0f64.to_le_bytes()].concat(),
            )
            .await;
            assert_eq!(status, 400, "{header}");
            let message = json_of(&bytes)["error"].as_str().unwrap().to_string();
            assert!(
                message.contains("at most 100000 rows")
                    || message.contains("more elements than any request body"),
                "{header}: {message}"
            );
        }
    }
    // Within the row limit, the shape is still checked against the data.
    let (status, json) = v2_json(
        "POST",
        "/v2/models/linear/infer",
        json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [100000], "data": [1]}]}),
    )
    .await;
    assert_eq!(status, 400, "{json}");
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("(100000 elements) but 1 values"),
        "{json}"
    );
    let header = json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [100000], "parameters": {"binary_data_size": 8}}]}).to_string();
    let (status, _, bytes) = send(
        "POST",
        "/v2/models/linear/infer",
        &[("inference-header-content-length", header.len().to_string())],
        [header.as_bytes(), &1.0f64.to_le_bytes()].concat(),
    )
    .await;
    assert_eq!(status, 400);
    let message = json_of(&bytes)["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("(100000 elements of 8 bytes) but binary_data_size is 8"),
        "{message}"
    );
    let (status, json) = v2_json(
        "POST",
        "/v2/models/linear/infer",
        json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [1]}]}),
    )
    .await;
    assert_eq!(status, 200, "{json}");
}

/// `MAX_ROWS_PER_REQUEST` bounds the rows of every protocol before records
/// are built (one byte per row in a `UINT8` tensor would otherwise cost a
/// map per byte); exactly the limit is still answered.
#[tokio::test]
async fn rows_beyond_the_limit_are_400_in_every_protocol() {
    let limit = mlrig_serve::MAX_ROWS_PER_REQUEST;
    let expected = format!("at most {limit} rows");
    for (rows, datatype, width) in [
        (limit, "FP64", 8),
        (limit + 1, "UINT8", 1),
        (limit + 1, "FP64", 8),
    ] {
        let header = json!({"inputs": [{"name": "x", "datatype": datatype, "shape": [rows],
            "parameters": {"binary_data_size": rows * width}}]})
        .to_string();
        let (status, _, bytes) = send(
            "POST",
            "/v2/models/linear/infer",
            &[("inference-header-content-length", header.len().to_string())],
            [header.as_bytes(), &vec![0u8; rows * width]].concat(),
        )
        .await;
        if rows == limit {
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
            continue;
        }
        assert_eq!(status, 400);
        let message = json_of(&bytes)["error"].as_str().unwrap().to_string();
        assert!(message.contains(&expected), "{message}");
    }
    let ones = vec!["1"; limit + 1];
    let instances = format!("[{}]", ones.join(","));
    for (path, body) in [
        (
            "/v1/models/linear:predict",
            format!("{{\"instances\": {instances}}}"),
        ),
        (
            "/v1/models/linear:predict",
            format!("{{\"inputs\": {{\"x\": {instances}}}}}"),
        ),
    ] {
        let (status, json) = fakes::post(path, &body).await;
        assert_eq!(status, 400, "{path}");
        assert!(
            json["error"].as_str().unwrap().contains(&expected),
            "{json}"
        );
    }
    let (status, json) = invocations(
        "/invocations?model=linear",
        "text/csv",
        &format!("x\n{}\n", ones.join("\n")),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        json["message"].as_str().unwrap().contains(&expected),
        "{json}"
    );
    let (status, json) = invocations(
        "/invocations?model=linear",
        "application/json",
        &format!("{{\"inputs\": {instances}}}"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        json["message"].as_str().unwrap().contains(&expected),
        "{json}"
    );
}

async fn invocations(path: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
    let (status, headers, bytes) = send(
        "POST",
        path,
        &[("content-type", content_type.into())],
        body.to_string(),
    )
    .await;
    assert_eq!(headers["content-type"], "application/json", "{path} {body}");
    (status, json_of(&bytes))
}

#[tokio::test]
async fn mlflow_every_input_format_matches_tf_serving() {
    let tf = tf_predict(
        "spam",
        json!([{"score": 2.0, "sender": "eve"}, {"score": 5.0, "sender": "boss"}]),
    )
    .await;
    let expected = json!({"predictions": tf});
    let bodies = [
        (
            "application/json",
            r#"{"dataframe_split": {"columns": ["score", "sender"], "data": [[2.0, "eve"], [5.0, "boss"]], "index": [0, 1]}}"#,
        ),
        (
            "application/json; charset=utf-8",
            r#"{"dataframe_records": [{"score": 2.0, "sender": "eve"}, {"score": 5.0, "sender": "boss"}]}"#,
        ),
        (
            "application/json",
            r#"{"instances": [{"score": 2.0, "sender": "eve"}, {"score": 5.0, "sender": "boss"}], "params": {}}"#,
        ),
        (
            "application/json",
            r#"{"inputs": {"score": [2.0, 5.0], "sender": ["eve", "boss"]}}"#,
        ),
        (
            "application/json",
            r#"{"inputs": [[2.0, "eve", null, null], [5.0, "boss", null, null]]}"#,
        ),
        ("text/csv", "score,sender\n2.0,eve\n5,boss\n"),
        (
            "TEXT/CSV; charset=utf-8",
            "sender,score,urgent,links\neve,2,,\nboss,5.0,false,\n",
        ),
    ];
    for (content_type, body) in bodies {
        let (status, json) = invocations("/invocations?model=spam", content_type, body).await;
        assert_eq!(status, 200, "{content_type} {body}: {json}");
        assert_eq!(json, expected, "{content_type} {body}");
    }
    let (status, json) = invocations(
        "/invocations?model=linear&version=1",
        "application/json",
        r#"{"instances": [1.0, 2.0]}"#,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json, json!({"predictions": [3.0, 5.0]}));
}

/// Errors are MLflow's `{"error_code": ..., "message": ...}`.
#[tokio::test]
async fn mlflow_errors_have_mlflow_shapes() {
    let cases = [
        (
            "/invocations",
            "application/json",
            r#"{"instances": [{"x": 1}]}"#,
            400,
            "BAD_REQUEST",
            "5 models are loaded (broken, clash, colors, linear, spam)",
        ),
        (
            "/invocations?model=iris",
            "application/json",
            r#"{"instances": [{"x": 1}]}"#,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "Latest(iris)",
        ),
        (
            "/invocations?model=linear",
            "text/plain",
            "x\n1\n",
            415,
            "BAD_REQUEST",
            "application/json, text/csv (with no parameter but charset=utf-8); got \"text/plain\"",
        ),
        (
            "/invocations?model=linear",
            "",
            "{}",
            415,
            "BAD_REQUEST",
            "got \"\"",
        ),
        (
            "/invocations?model=linear",
            "application/json; format=pandas-split",
            "{}",
            415,
            "BAD_REQUEST",
            "with no parameter but charset=utf-8); got \"application/json; format=pandas-split\"",
        ),
        (
            "/invocations?model=linear",
            "text/csv; charset=latin-1",
            "x\n1\n",
            415,
            "BAD_REQUEST",
            "got \"text/csv; charset=latin-1\"",
        ),
        (
            "/invocations?model=linear",
            "application/json",
            r#"{"instances": [], "inputs": []}"#,
            400,
            "BAD_REQUEST",
            "exactly one of the keys dataframe_split, dataframe_records, instances, inputs",
        ),
        (
            "/invocations?model=linear",
            "application/json",
            r#"{"data": []}"#,
            400,
            "BAD_REQUEST",
            "found keys: data",
        ),
        (
            "/invocations?model=linear",
            "application/json",
            r#"[1]"#,
            400,
            "BAD_REQUEST",
            "must be a JSON object",
        ),
        (
            "/invocations?model=linear",
            "application/json",
            r#"{"instances": [], "params": {"k": 1}}"#,
            400,
            "BAD_REQUEST",
            "takes no `params`",
        ),
        (
            "/invocations?model=linear",
            "application/json",
            r#"{"dataframe_records": []}"#,
            400,
            "BAD_REQUEST",
            "has no rows",
        ),
        (
            "/invocations?model=linear",
            "application/json",
            r#"{"dataframe_split": {"columns": ["x"], "data": [[1, 2]]}}"#,
            400,
            "BAD_REQUEST",
            "row 0 has 2 values for 1 columns",
        ),
        (
            "/invocations?model=linear",
            "application/json",
            r#"{"dataframe_records": [{"x": "a"}]}"#,
            400,
            "BAD_REQUEST",
            "instance 0, field `x`: expected a number",
        ),
        (
            "/invocations?model=linear",
            "text/csv",
            "x\n",
            400,
            "BAD_REQUEST",
            "the request has no rows",
        ),
        (
            "/invocations?model=linear",
            "text/csv",
            "x\n1,2\n",
            400,
            "BAD_REQUEST",
            "the CSV body cannot be read",
        ),
        (
            "/invocations?model=linear",
            "text/csv",
            "y\n1\n",
            400,
            "BAD_REQUEST",
            "`y`",
        ),
        (
            "/invocations?model=linear&version=x",
            "text/csv",
            "x\n1\n",
            400,
            "BAD_REQUEST",
            "bad query string",
        ),
        (
            "/invocations?model=broken",
            "text/csv",
            "x\n1\n",
            500,
            "INTERNAL_ERROR",
            "internal error",
        ),
    ];
    for (path, content_type, body, status, code, message) in cases {
        let (got, json) = invocations(path, content_type, body).await;
        assert_eq!(got, status, "{path} {content_type} {body}: {json}");
        assert_eq!(json["error_code"], code, "{path} {body}: {json}");
        let text = json["message"].as_str().unwrap();
        assert!(
            text.contains(message),
            "{path} {body}:\n  got      {text}\n  expected {message}"
        );
    }
    let (status, _, bytes) = send("GET", "/invocations", &[], Body::empty()).await;
    assert_eq!(status, 405);
    assert_eq!(json_of(&bytes)["error_code"], "BAD_REQUEST");
}

#[tokio::test]
async fn mlflow_ping_health_and_version() {
    for path in ["/ping", "/health"] {
        let (status, headers, body) = send("GET", path, &[], Body::empty()).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body, b"\n");
        assert_eq!(headers["content-type"], "application/json");
    }
    let (status, _, body) = send("GET", "/version", &[], Body::empty()).await;
    assert_eq!(status, 200);
    assert_eq!(body, env!("CARGO_PKG_VERSION").as_bytes());
    let empty = mlrig_serve::router(
        std::sync::Arc::new(mlrig_serve::ModelRegistry::new()),
        &mlrig_serve::ServerConfig::default(),
    );
    let response = empty
        .oneshot(Request::get("/ping").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        json_of(&bytes),
        json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no model is loaded; start the server with at least one model"})
    );
}
