#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Open Inference and MLflow requests of any shape: never a 500, always the
//! protocol's error document; and valid requests answer exactly what TF
//! Serving answers for the same rows.

mod fakes;

use axum::http::StatusCode;
use proptest::prelude::*;
use serde_json::{Value, json};

fn element() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (-50f64..50.0).prop_map(Value::from),
        2 => (-5i64..5).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => prop::sample::select(vec!["eve", "boss", "", "NaN"]).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!({"a": 1})),
    ]
}

fn data() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(element(), 0..6).prop_map(Value::Array),
        prop::collection::vec(
            prop::collection::vec(element(), 0..3).prop_map(Value::Array),
            0..4
        )
        .prop_map(Value::Array),
        element(),
    ]
}

/// One input tensor: JSON data, or binary data of some length.
fn input() -> impl Strategy<Value = (Value, Vec<u8>)> {
    let name = prop::sample::select(vec![
        "x", "score", "sender", "urgent", "links", "features", "other",
    ]);
    let datatype = prop::sample::select(vec![
        "FP64", "FP32", "INT64", "INT8", "UINT16", "BOOL", "BYTES", "FP16", "nope",
    ]);
    // Small dimensions that may match the data, and huge ones (up to
    // i64::MAX) that must be refused before anything is allocated.
    let dimension =
        prop_oneof![4 => -1i64..4, 1 => any::<i64>(), 1 => (30u32..63).prop_map(|p| 1i64 << p)];
    let shape = prop::collection::vec(dimension, 0..3);
    (
        name,
        datatype,
        shape,
        prop::option::of(data()),
        prop::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(name, datatype, shape, data, binary)| match data {
            Some(data) => (
                json!({"name": name, "datatype": datatype, "shape": shape, "data": data}),
                vec![],
            ),
            None => (
                json!({"name": name, "datatype": datatype, "shape": shape,
                       "parameters": {"binary_data_size": binary.len()}}),
                binary,
            ),
        })
}

fn v2_path() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "/v2/models/linear/infer",
        "/v2/models/linear/versions/1/infer",
        "/v2/models/spam/infer",
        "/v2/models/colors/infer",
        "/v2/models/nope/infer",
    ])
}

fn check_v2(
    status: StatusCode,
    header_length: Option<usize>,
    body: &[u8],
) -> Result<(), TestCaseError> {
    prop_assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        String::from_utf8_lossy(body)
    );
    let document: Value =
        serde_json::from_slice(&body[..header_length.unwrap_or(body.len())]).unwrap();
    prop_assert!(
        status.is_success() || document["error"].is_string(),
        "{status} {document}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_tensors_never_500(
        path in v2_path(),
        inputs in prop::collection::vec(input(), 0..4),
        binary_output in any::<bool>(),
        trailing in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let (tensors, binary): (Vec<Value>, Vec<Vec<u8>>) = inputs.into_iter().unzip();
        let header = json!({"inputs": tensors, "parameters": {"binary_data_output": binary_output}}).to_string();
        let body = [header.as_bytes(), &binary.concat(), &trailing].concat();
        let (status, length, answer) =
            fakes::send_raw(path, &[("inference-header-content-length", header.len().to_string())], body);
        check_v2(status, length, &answer)?;
    }

    #[test]
    fn arbitrary_bytes_and_header_lengths_never_500(
        path in v2_path(),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        length in prop::option::of(0usize..80),
    ) {
        let headers: Vec<(&str, String)> =
            length.map(|n| ("inference-header-content-length", n.to_string())).into_iter().collect();
        let (status, length, answer) = fakes::send_raw(path, &headers, bytes);
        check_v2(status, length, &answer)?;
    }

    /// One tensor per field, JSON or binary: the same numbers as TF Serving's `:predict`.
    #[test]
    fn infer_equals_tf_serving(xs in prop::collection::vec(-300f64..300.0, 1..20), binary in any::<bool>()) {
        let (status, _, tf) = fakes::send_raw(
            "/v1/models/colors:predict",
            &[],
            json!({"instances": xs.iter().map(|x| json!({"x": x})).collect::<Vec<_>>()}).to_string().into_bytes(),
        );
        prop_assert_eq!(status, StatusCode::OK);
        let tf: Value = serde_json::from_slice(&tf).unwrap();
        let expected: Vec<f64> = tf["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect::<Vec<_>>())
            .collect();
        let (header, payload) = if binary {
            let payload: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
            (json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [xs.len()],
                "parameters": {"binary_data_size": payload.len()}}],
                "outputs": [{"name": "scores", "parameters": {"binary_data": true}}]}), payload)
        } else {
            (json!({"inputs": [{"name": "x", "datatype": "FP64", "shape": [xs.len(), 1], "data": xs}],
                "outputs": [{"name": "scores"}]}), vec![])
        };
        let header = header.to_string();
        let (status, length, answer) = fakes::send_raw(
            "/v2/models/colors/infer",
            &[("inference-header-content-length", header.len().to_string())],
            [header.as_bytes(), &payload].concat(),
        );
        prop_assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer));
        let got: Vec<f64> = match length {
            Some(n) => answer[n..].chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
            None => {
                let document: Value = serde_json::from_slice(&answer).unwrap();
                document["outputs"][0]["data"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
            }
        };
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn arbitrary_mlflow_bodies_never_500(
        key in prop::sample::select(vec!["dataframe_split", "dataframe_records", "instances", "inputs", "params", "data"]),
        value in data(),
        columns in prop::collection::vec(prop::sample::select(vec!["x", "score", "sender", "y"]), 0..3),
        csv in any::<bool>(),
    ) {
        let body = if csv {
            let mut text = columns.join(",");
            text.push('\n');
            text.push_str(&value.to_string().replace(['[', ']'], ""));
            text.into_bytes()
        } else if key == "dataframe_split" {
            json!({key: {"columns": columns, "data": value}}).to_string().into_bytes()
        } else {
            json!({key: value}).to_string().into_bytes()
        };
        let content_type = if csv { "text/csv" } else { "application/json" };
        for model in ["linear", "spam", "colors"] {
            let (status, _, answer) = fakes::send_raw(
                &format!("/invocations?model={model}"),
                &[("content-type", content_type.to_string())],
                body.clone(),
            );
            prop_assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "{}", String::from_utf8_lossy(&answer));
            let document: Value = serde_json::from_slice(&answer).unwrap();
            prop_assert!(
                status.is_success() || (document["error_code"].is_string() && document["message"].is_string()),
                "{status} {document}"
            );
        }
    }
}
