#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The HTTP request decoders of every protocol under a capped allocator
//! (issue 14, item 6): byte-level and structure-aware mutations of valid TF
//! Serving, Open Inference (JSON and binary tensors) and MLflow (JSON and
//! CSV) requests, sent in process through the router (the decoders are
//! private; the router is their only caller). Never a 500, always the
//! protocol's error document, and never an allocation out of proportion
//! to a small body: a shape, a `binary_data_size` or a BYTES length prefix
//! from the client must not size a buffer. `arbitrary_bodies.rs` and
//! `arbitrary_protocol_bodies.rs` cover generated (not mutated) requests.
//!
//! Case counts follow `PROPTEST_CASES` when it is set.

mod fakes;

use axum::http::StatusCode;
use mlrig_testkit::{Mix, apply_all, cases};
use proptest::prelude::*;
use serde_json::Value;

// The whole test binary may hold at most this much heap at once.
mlrig_testkit::capped_allocator!(256 MiB);

/// Not a 500; an error answer is the protocol's JSON error document.
fn well_formed(
    path: &str,
    status: StatusCode,
    header_length: Option<usize>,
    body: &[u8],
) -> Result<(), TestCaseError> {
    prop_assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "{path}: {}",
        String::from_utf8_lossy(body)
    );
    let json = &body[..header_length.unwrap_or(body.len()).min(body.len())];
    let document: Value = serde_json::from_slice(json)
        .map_err(|e| TestCaseError::fail(format!("{path}: {status}: not JSON ({e})")))?;
    if !status.is_success() {
        let mlflow = path.starts_with("/invocations");
        let ok = if mlflow {
            document["error_code"].is_string() && document["message"].is_string()
        } else {
            document["error"].is_string()
        };
        prop_assert!(ok, "{path}: {status} {document}");
    }
    Ok(())
}

/// A request: path, headers, body.
type HttpRequest = (&'static str, Vec<(&'static str, String)>, Vec<u8>);

/// A valid request of each protocol.
fn valid_requests() -> Vec<HttpRequest> {
    let json = |s: &str| s.as_bytes().to_vec();
    let binary_header = r#"{"inputs":[{"name":"x","datatype":"FP64","shape":[2],"parameters":{"binary_data_size":16}}],"outputs":[{"name":"predictions","parameters":{"binary_data":true}}]}"#;
    let mut binary = binary_header.as_bytes().to_vec();
    binary.extend(1.5f64.to_le_bytes());
    binary.extend((-2.0f64).to_le_bytes());
    let bytes_header = r#"{"inputs":[{"name":"sender","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":8}},{"name":"links","datatype":"FP64","shape":[1],"data":[2]},{"name":"score","datatype":"FP64","shape":[1],"data":[0.5]},{"name":"urgent","datatype":"BOOL","shape":[1],"data":[true]}]}"#;
    let mut bytes = bytes_header.as_bytes().to_vec();
    bytes.extend(4u32.to_le_bytes());
    bytes.extend(b"boss");
    vec![
        (
            "/v1/models/linear:predict",
            vec![],
            json(r#"{"instances": [{"x": 1.5}, {"x": -2}]}"#),
        ),
        (
            "/v1/models/linear:predict",
            vec![],
            json(r#"{"inputs": {"x": [1.5, 2.5]}}"#),
        ),
        (
            "/v1/models/colors:predict",
            vec![],
            json(r#"{"signature_name": "serving_default", "instances": [{"x": 3}]}"#),
        ),
        (
            "/v1/models/spam:classify",
            vec![],
            json(
                r#"{"examples": [{"sender": "boss", "urgent": true, "score": 0.5}], "context": {"links": 1}}"#,
            ),
        ),
        (
            "/v1/models/linear:regress",
            vec![],
            json(r#"{"examples": [{"x": 1e300}, {"x": -0.0}]}"#),
        ),
        (
            "/v2/models/linear/infer",
            vec![],
            json(
                r#"{"id": "1", "inputs": [{"name": "x", "datatype": "FP64", "shape": [2, 1], "data": [[1.5], [2.5]]}]}"#,
            ),
        ),
        (
            "/v2/models/colors/versions/1/infer",
            vec![],
            json(
                r#"{"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "data": [1, "NaN", "-Infinity"]}], "outputs": [{"name": "scores"}]}"#,
            ),
        ),
        (
            "/v2/models/linear/infer",
            vec![(
                "inference-header-content-length",
                binary_header.len().to_string(),
            )],
            binary,
        ),
        (
            "/v2/models/spam/infer",
            vec![(
                "inference-header-content-length",
                bytes_header.len().to_string(),
            )],
            bytes,
        ),
        (
            "/invocations?model=linear",
            vec![("content-type", "application/json".into())],
            json(r#"{"dataframe_split": {"columns": ["x"], "data": [[1.5], [2]]}}"#),
        ),
        (
            "/invocations?model=spam",
            vec![("content-type", "application/json".into())],
            json(
                r#"{"dataframe_records": [{"sender": "boss", "urgent": false, "links": 1, "score": 0.1}]}"#,
            ),
        ),
        (
            "/invocations?model=linear",
            vec![("content-type", "application/json".into())],
            json(r#"{"instances": [{"x": 1}], "params": {}}"#),
        ),
        (
            "/invocations?model=linear",
            vec![("content-type", "text/csv".into())],
            json("x\n1.5\n\"2\"\n"),
        ),
        (
            "/invocations?model=spam",
            vec![("content-type", "text/csv; charset=utf-8".into())],
            json("sender,urgent,links,score\nboss,true,2,0.5\n\"a,b\",false,,1e3\n"),
        ),
    ]
}

fn mix() -> Mix {
    Mix {
        delete_max: 32,
        duplicate_max: 128,
        ..Mix::splicing(vec![
            "\n",
            "\r\n",
            "-",
            "0",
            "1e999999",
            "-1e999999",
            "NaN",
            "\"NaN\"",
            "Infinity",
            "\"Infinity\"",
            "null",
            "true",
            "\\u0000",
            "\\ud800",
            "18446744073709551615",
            "9223372036854775807",
            "-9223372036854775808",
            "1000000000, 1000000000, ",
            "[1000000000, 1000000000]",
            "4294967295",
            "\"binary_data_size\": 18446744073709551615, ",
            "\"shape\": [-1], ",
            "\"datatype\": \"BYTES\", ",
            "\"x\": 1, \"x\": 2, ",
            "\"instances\": [], ",
            "\u{fffd}\u{ffff}",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
        ])
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn mutated_requests_never_500(
        which in any::<prop::sample::Index>(),
        edits in mix().edits(1..4),
        header_delta in prop::option::of(-8i64..8),
    ) {
        let requests = valid_requests();
        let (path, mut headers, mut body) = requests[which.index(requests.len())].clone();
        apply_all(&mut body, &edits);
        // Sometimes the binary header length no longer matches the body.
        if let (Some(delta), Some((_, length))) = (header_delta, headers.iter_mut().find(|(n, _)| *n == "inference-header-content-length")) {
            let n: i64 = length.parse().unwrap();
            *length = (n + delta).max(0).to_string();
        }
        let (status, header_length, answer) = fakes::send_raw(path, &headers, body);
        well_formed(path, status, header_length, &answer)?;
    }
}

#[test]
fn the_valid_requests_succeed() {
    for (path, headers, body) in valid_requests() {
        let (status, header_length, answer) = fakes::send_raw(path, &headers, body);
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&answer)
        );
        well_formed(path, status, header_length, &answer).unwrap();
    }
}

#[test]
fn claimed_sizes_do_not_size_buffers() {
    // A shape of 10^18 elements, a binary_data_size of 2^64 − 1 and a BYTES
    // element claiming 2^31 bytes: 400s, from a body of a few hundred bytes.
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "/v2/models/linear/infer",
            r#"{"inputs":[{"name":"x","datatype":"FP64","shape":[1000000000,1000000000],"data":[1]}]}"#.into(),
            vec![],
        ),
        (
            "/v2/models/linear/infer",
            r#"{"inputs":[{"name":"x","datatype":"FP64","shape":[1],"parameters":{"binary_data_size":18446744073709551615}}]}"#.into(),
            vec![0; 8],
        ),
        (
            "/v2/models/spam/infer",
            r#"{"inputs":[{"name":"sender","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":8}}]}"#.into(),
            [0xff, 0xff, 0xff, 0x7f, b'a', b'b', b'c', b'd'].to_vec(),
        ),
    ];
    for (path, header, payload) in cases {
        let headers = [("inference-header-content-length", header.len().to_string())];
        let body = [header.as_bytes(), &payload].concat();
        let (status, header_length, answer) = fakes::send_raw(path, &headers, body);
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            String::from_utf8_lossy(&answer)
        );
        well_formed(path, status, header_length, &answer).unwrap();
    }
    // TF Serving: a deeply nested instance list is a 400 naming the fault.
    let deep = format!(
        "{{\"instances\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (status, _, answer) = fakes::send_raw("/v1/models/linear:predict", &[], deep.into_bytes());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let document: Value = serde_json::from_slice(&answer).unwrap();
    assert!(
        document["error"].as_str().unwrap().contains("column"),
        "{document}"
    );
}
