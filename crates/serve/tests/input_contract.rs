#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A servable with an input contract behind the real router: arbitrary
//! records are answered 200 or a 400 that names a field (or the record's
//! shape), never a 500; the same violation is refused alike by the three
//! protocols; a servable without a contract keeps the old rules.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::{DataType, Field, Schema, SchemaRef};
use mlrig_core::{
    FieldContract, InputContract, Predictions, Servable, ServableInfo, Task, ValueDomain, ValueKind,
};
use mlrig_serve::{InputContractConfig, ModelRegistry, RulesSetting, ServerConfig, router};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Predicts 1.0 per row; `age` (integer, 0..=120, required) and `colour`
/// (text: red or blue).
struct Contracted {
    info: ServableInfo,
    contract: Option<InputContract>,
}

impl Contracted {
    fn new(with_contract: bool) -> Arc<Self> {
        let contract = InputContract::new(vec![
            FieldContract::new("age", ValueKind::Integer)
                .with_required(true)
                .with_domain(ValueDomain::Integers {
                    min: Some(0),
                    max: Some(120),
                }),
            FieldContract::new("colour", ValueKind::String)
                .with_domain(ValueDomain::strings(["blue", "red"])),
        ]);
        Arc::new(Self {
            info: ServableInfo::new("people", 1, Task::Regression, "y"),
            contract: with_contract.then_some(contract),
        })
    }
}

impl Servable for Contracted {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("age", DataType::Int64, true),
            Field::new("colour", DataType::Utf8, true),
        ]))
    }
    fn info(&self) -> &ServableInfo {
        &self.info
    }
    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        Ok(Predictions::Regression {
            values: vec![1.0; batch.num_rows()].into(),
        })
    }
    fn input_contract(&self) -> Option<&InputContract> {
        self.contract.as_ref()
    }
}

fn app(with_contract: bool, config: &ServerConfig) -> axum::Router {
    let registry = Arc::new(ModelRegistry::new());
    registry.insert(Contracted::new(with_contract)).unwrap();
    router(registry, config)
}

fn send(app: &axum::Router, path: &str, content_type: &str, body: String) -> (StatusCode, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let request = Request::post(path)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    })
}

fn tf(app: &axum::Router, instances: Value) -> (StatusCode, Value) {
    let body = json!({ "instances": instances }).to_string();
    send(app, "/v1/models/people:predict", "application/json", body)
}

#[test]
fn the_three_protocols_refuse_a_violation_alike() {
    let app = app(true, &ServerConfig::default());
    let expected = "2 values break the model's input contract: instance 0, field `colour`: expected a string, found number 7; instance 1, missing required field `age`";
    let (status, body) = tf(&app, json!([{"age": 3, "colour": 7}, {"colour": "red"}]));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], expected);
    let v2 = json!({"inputs": [
        {"name": "age", "datatype": "INT64", "shape": [2], "data": [3, null]},
        {"name": "colour", "datatype": "INT64", "shape": [2], "data": [7, null]},
    ]});
    let (status, body) = send(
        &app,
        "/v2/models/people/infer",
        "application/json",
        v2.to_string(),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "2 values break the model's input contract: instance 0, field `colour`: expected a string, found number 7; instance 1, missing required field `age`"
    );
    let mlflow =
        json!({"dataframe_split": {"columns": ["age", "colour"], "data": [[3, 7], [null, "red"]]}});
    let (status, body) = send(&app, "/invocations", "application/json", mlflow.to_string());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_code"], "BAD_REQUEST");
    assert_eq!(body["message"], expected);
}

#[test]
fn without_a_contract_the_batch_rules_stay() {
    // A number for a text field is its JSON text; nothing is required.
    let app = app(false, &ServerConfig::default());
    let (status, body) = tf(&app, json!([{"colour": 7}, {"colour": "green"}]));
    assert_eq!(status, StatusCode::OK, "{body}");
    // With the contract relaxed, the unseen category and the missing age
    // are scored; the wrong type is not.
    let lenient = ServerConfig::default()
        .with_input_contract(InputContractConfig::default().with_default(RulesSetting::Lenient));
    let app = self::app(true, &lenient);
    let (status, body) = tf(&app, json!([{"colour": "green"}, {"age": 500}]));
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = tf(&app, json!([{"age": "old"}]));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-200i64..200).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![Just("red"), Just("blue"), Just("NaN"), Just("green")].prop_map(Value::from),
        "\\PC{0,5}".prop_map(Value::from),
        Just(json!([1])),
        Just(json!({"k": 1})),
    ]
}

fn record() -> impl Strategy<Value = Value> {
    prop_oneof![
        9 => proptest::collection::btree_map(
            prop_oneof![Just("age".to_string()), Just("colour".to_string()), "[a-z]{1,2}"],
            value(),
            0..4,
        )
        .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_records_pass_or_name_a_field(
        records in proptest::collection::vec(record(), 1..5),
        strict in any::<bool>(),
    ) {
        let config = if strict {
            ServerConfig::default()
                .with_input_contract(InputContractConfig::default().with_default(RulesSetting::Strict))
        } else {
            ServerConfig::default()
        };
        let (status, body) = tf(&app(true, &config), Value::Array(records));
        match status {
            StatusCode::OK => prop_assert_eq!(body["predictions"].as_array().map(Vec::len).is_some(), true),
            StatusCode::BAD_REQUEST => {
                let error = body["error"].as_str().unwrap();
                prop_assert!(error.contains("field `") || error.contains("JSON object"), "{}", error);
            }
            other => prop_assert!(false, "status {} body {}", other, body),
        }
    }
}
