#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Whatever a client sends, the server answers with JSON and never with a 500.

mod fakes;

use axum::http::StatusCode;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("instances".to_string()),
        Just("inputs".to_string()),
        Just("examples".to_string()),
        Just("context".to_string()),
        Just("signature_name".to_string()),
        Just("contributions".to_string()),
        Just("x".to_string()),
        Just("score".to_string()),
        Just("sender".to_string()),
        Just("urgent".to_string()),
        Just("links".to_string()),
        "\\PC{0,6}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        Just(json!("boss")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A record with the models' field names and values of any type: mostly
/// valid, often one wrong type away from valid.
fn record() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        4 => (-50f64..50.0).prop_map(Value::from),
        2 => (-5i64..5).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => prop::sample::select(vec!["eve", "boss", ""]).prop_map(Value::from),
        1 => Just(Value::Null),
        1 => json_value(),
    ];
    let field = prop::sample::select(vec!["x", "score", "sender", "urgent", "links", "other"]);
    prop::collection::btree_map(field, value, 0..4).prop_map(|fields| {
        Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    })
}

fn path() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "/v1/models/linear:predict",
        "/v1/models/linear/versions/1:predict",
        "/v1/models/spam:predict",
        "/v1/models/spam:classify",
        "/v1/models/linear:regress",
        "/v1/models/spam:regress",
        "/v1/models/spam/metadata",
        "/v1/models/colors:predict",
        "/v1/models/clash:predict",
        "/v1/models/nope:predict",
    ])
}

fn check(path: &str, body: Vec<u8>) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, json) = runtime.block_on(fakes::call(fakes::app(), "POST", path, body));
    prop_assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "{path}: {json}"
    );
    prop_assert!(
        status.is_success() || json["error"].is_string(),
        "{path}: {status} {json}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_json_never_500s(path in path(), value in json_value()) {
        check(path, value.to_string().into_bytes())?;
    }

    #[test]
    fn arbitrary_request_shapes_never_500(
        path in path(),
        top in prop::sample::select(vec!["instances", "inputs", "examples"]),
        records in prop::collection::vec(json_value(), 0..5),
    ) {
        let body = json!({ top: records });
        check(path, body.to_string().into_bytes())?;
    }

    #[test]
    fn near_valid_records_never_500(
        path in path(),
        top in prop::sample::select(vec!["instances", "examples"]),
        records in prop::collection::vec(record(), 1..5),
    ) {
        let body = json!({ top: records });
        check(path, body.to_string().into_bytes())?;
    }

    #[test]
    fn any_contributions_value_never_500s(
        path in path(),
        top in prop::sample::select(vec!["instances", "examples"]),
        records in prop::collection::vec(record(), 1..5),
        flag in prop_oneof![3 => Just(json!(true)), 1 => Just(json!(false)), 1 => json_value()],
    ) {
        let body = json!({ top: records, "contributions": flag });
        check(path, body.to_string().into_bytes())?;
    }

    #[test]
    fn arbitrary_bytes_never_500(path in path(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check(path, bytes)?;
    }
}
