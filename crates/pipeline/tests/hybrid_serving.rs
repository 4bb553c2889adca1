#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hybrid inference end to end: `mlrig predict --key id` writes a table,
//! the server answers known keys from it and the others from the model;
//! the answers equal the live model's for the same rows in every protocol,
//! request order is kept, and the header, the metrics and the request log
//! say which source answered.

mod common;

use common::{sample, send};
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use mlrig_monitor::ServingMetrics;
use mlrig_pipeline::{
    BatchPredictJob, TrainingJob, load_model_dir, load_prediction_table, server_app,
    server_app_with, serving_extras,
};
use mlrig_serve::{
    ModelRegistry, PredictionTableConfig, RequestLogConfig, RequestLogEntry, ServerConfig,
};
use serde_json::{Value, json};

/// A trained model, the sample's rows as JSON records (features only, as
/// a client sends them) and a copy of the sample with an `id` column
/// (`1000 + row`).
struct Setup {
    dir: tempfile::TempDir,
    model_dir: PathBuf,
    name: &'static str,
    records: Vec<Value>,
    keyed_data: PathBuf,
}

fn setup(data: &str, target: &str, name: &'static str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    TrainingJob::new(sample(data), target)
        .with_name(name)
        .with_output_dir(dir.path())
        .run()
        .unwrap();
    let text = std::fs::read_to_string(sample(data)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut keyed = format!("id,{}\n", header.join(","));
    let mut records = Vec::new();
    for (i, line) in lines.enumerate() {
        keyed.push_str(&format!("{},{line}\n", 1000 + i));
        let record: serde_json::Map<String, Value> = header
            .iter()
            .zip(line.split(','))
            .filter(|(column, _)| **column != target)
            .map(|(column, cell)| {
                let value = cell
                    .parse::<f64>()
                    .map_or_else(|_| Value::from(cell), Value::from);
                (column.to_string(), value)
            })
            .collect();
        records.push(Value::Object(record));
    }
    let keyed_data = dir.path().join("keyed.csv");
    std::fs::write(&keyed_data, keyed).unwrap();
    Setup {
        model_dir: dir.path().join(name),
        dir,
        name,
        records,
        keyed_data,
    }
}

impl Setup {
    fn predict_table(&self, file: &str) -> PathBuf {
        let out = self.dir.path().join(file);
        BatchPredictJob::new(&self.model_dir, &self.keyed_data, &out)
            .with_key("id")
            .run()
            .unwrap();
        out
    }

    fn registry(&self) -> Arc<ModelRegistry> {
        let registry = Arc::new(ModelRegistry::new());
        registry
            .insert(load_model_dir(&self.model_dir).unwrap())
            .unwrap();
        registry
    }

    /// The router serving this model with `config`'s prediction tables.
    fn hybrid_app(&self, config: &ServerConfig) -> axum::Router {
        let registry = self.registry();
        let extras = serving_extras(config, &registry).unwrap();
        server_app_with(registry, Arc::new(ServingMetrics::new()), config, extras)
    }

    /// The record of row `row` with its key (`id = 1000 + row`, or `key` when given).
    fn keyed(&self, row: usize, key: Value) -> Value {
        let mut record = self.records[row].clone();
        record.as_object_mut().unwrap().insert("id".into(), key);
        record
    }
}

async fn call(
    app: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (StatusCode, HeaderMap, String) {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(app, "POST", uri, &all, body).await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn table_answers_equal_the_live_model_in_every_format_and_protocol() {
    for (data, target, name) in [
        ("iris.csv", "species", "iris"),
        ("california_sample.csv", "MedHouseVal", "housing"),
    ] {
        let setup = setup(data, target, name);
        let live = server_app(
            setup.registry(),
            Arc::new(ServingMetrics::new()),
            &ServerConfig::default(),
        );
        // Rows 0..n in a shuffled order, known keys mixed with unknown ones
        // (the key is a number, a string, absent or made up).
        let n = setup.records.len();
        let rows: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % n).collect();
        let instances: Vec<Value> = rows
            .iter()
            .enumerate()
            .map(|(j, &row)| match j % 5 {
                0 => setup.keyed(row, json!(format!("{}", 1000 + row))),
                1 => setup.keyed(row, json!(-1)),
                2 => setup.records[row].clone(),
                _ => setup.keyed(row, json!(1000 + row)),
            })
            .collect();
        let known = (0..rows.len()).filter(|j| j % 5 != 1 && j % 5 != 2).count();
        let plain: Vec<Value> = rows.iter().map(|&r| setup.records[r].clone()).collect();
        let rt = runtime();
        for file in ["t.csv", "t.parquet", "t.jsonl"] {
            let table = setup.predict_table(file);
            let mut config = ServerConfig::default().with_inline_predict_max_bytes(0);
            config.prediction_tables =
                vec![PredictionTableConfig::new(setup.name, &table).with_key("id")];
            let registry = setup.registry();
            let extras = serving_extras(&config, &registry).unwrap();
            let metrics = Arc::new(ServingMetrics::new());
            let hybrid = server_app_with(registry, metrics.clone(), &config, extras);
            for (uri, body, plain_body) in [
                (
                    format!("/v1/models/{name}:predict"),
                    json!({"instances": instances}),
                    json!({"instances": plain}),
                ),
                (
                    "/invocations".to_string(),
                    json!({"dataframe_records": instances}),
                    json!({"dataframe_records": plain}),
                ),
            ] {
                let (status, headers, answer) =
                    rt.block_on(call(&hybrid, &uri, &[], body.to_string()));
                assert_eq!(status, 200, "{file} {uri}: {answer}");
                let (_, _, expected) = rt.block_on(call(&live, &uri, &[], plain_body.to_string()));
                assert_eq!(
                    serde_json::from_str::<Value>(&answer).unwrap(),
                    serde_json::from_str::<Value>(&expected).unwrap(),
                    "{name} {file} {uri}"
                );
                assert_eq!(
                    headers["mlrig-prediction-source"],
                    format!("mixed; table={known}; model={}", rows.len() - known).as_str()
                );
            }
            let text = metrics.render().unwrap();
            let table_rows: f64 = text
                .lines()
                .filter(|l| {
                    l.starts_with("mlrig_predictions_total{") && l.contains("source=\"table\"")
                })
                .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
                .sum();
            assert_eq!(table_rows, 2.0 * known as f64, "{text}");
        }
    }
}

#[test]
fn the_table_really_answers_and_unknown_keys_fall_back() {
    let setup = setup("california_sample.csv", "MedHouseVal", "housing");
    let table = setup.predict_table("t.csv");
    // A doctored row proves the answer comes from the table.
    let text = std::fs::read_to_string(&table).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines[0], "id,prediction");
    lines[1] = "1000,12345.5".into();
    std::fs::write(&table, lines.join("\n") + "\n").unwrap();
    let mut config = ServerConfig::default();
    config.prediction_tables =
        vec![PredictionTableConfig::parse(&format!("housing={}", table.display())).unwrap()];
    let app = setup.hybrid_app(&config);
    let rt = runtime();
    let body = json!({"instances": [setup.keyed(0, json!(1000)), setup.keyed(0, json!("nope"))]});
    let (status, headers, answer) = rt.block_on(call(
        &app,
        "/v1/models/housing:predict",
        &[],
        body.to_string(),
    ));
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["predictions"][0], 12345.5);
    assert_ne!(answer["predictions"][1], 12345.5);
    assert_eq!(
        headers["mlrig-prediction-source"],
        "mixed; table=1; model=1"
    );
    // Open Inference: the key is one more tensor.
    let mut inputs: Vec<Value> = setup.records[0]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| json!({"name": name, "shape": [2], "datatype": "FP64", "data": [v, v]}))
        .collect();
    inputs.push(json!({"name": "id", "shape": [2], "datatype": "INT64", "data": [1000, 5]}));
    let (status, headers, answer) = rt.block_on(call(
        &app,
        "/v2/models/housing/infer",
        &[],
        json!({ "inputs": inputs }).to_string(),
    ));
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["outputs"][0]["data"][0], 12345.5);
    assert_ne!(answer["outputs"][0]["data"][1], 12345.5);
    assert_eq!(
        headers["mlrig-prediction-source"],
        "mixed; table=1; model=1"
    );
    // All from the table: the model is not asked, the header says so.
    let body = json!({"instances": [setup.keyed(0, json!(1000))]});
    let (_, headers, _) = rt.block_on(call(
        &app,
        "/v1/models/housing:predict",
        &[],
        body.to_string(),
    ));
    assert_eq!(
        headers["mlrig-prediction-source"],
        "table; table=1; model=0"
    );
    // A bad row the model answers is reported with its request index.
    let body = json!({"instances": [setup.keyed(0, json!(1000)), {"id": 5, "MedInc": "x"}]});
    let (status, _, answer) = rt.block_on(call(
        &app,
        "/v1/models/housing:predict",
        &[],
        body.to_string(),
    ));
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("instance 1"), "{answer}");
}

/// Contract violations of the rows the model answers in a mixed batch name
/// their instance numbers in the request, not in the model's sub-batch.
#[test]
fn contract_violations_of_model_rows_name_the_request_instance() {
    let setup = setup("california_sample.csv", "MedHouseVal", "housing");
    let table = setup.predict_table("t.csv");
    let mut config = ServerConfig::default();
    config.prediction_tables = vec![PredictionTableConfig::new("housing", &table).with_key("id")];
    let app = setup.hybrid_app(&config);
    let mut wrong_type = setup.keyed(3, json!(-1));
    wrong_type["MedInc"] = json!("x");
    let mut missing = setup.keyed(5, json!("nope"));
    missing.as_object_mut().unwrap().remove("HouseAge");
    // Rows 0, 2 and 4 come from the table; the model sees rows 1, 3 and 5
    // as its rows 0, 1 and 2.
    let instances = json!([
        setup.keyed(0, json!(1000)),
        setup.records[1],
        setup.keyed(2, json!(1002)),
        wrong_type,
        setup.keyed(4, json!(1004)),
        missing,
    ]);
    let rt = runtime();
    for (uri, body, key) in [
        (
            "/v1/models/housing:predict",
            json!({ "instances": instances }),
            "error",
        ),
        (
            "/invocations",
            json!({ "dataframe_records": instances }),
            "message",
        ),
    ] {
        let (status, _, answer) = rt.block_on(call(&app, uri, &[], body.to_string()));
        assert_eq!(status, 400, "{uri}: {answer}");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        let message = answer[key].as_str().unwrap();
        assert_eq!(
            message,
            "2 values break the model's input contract: \
             instance 3, field `MedInc`: expected a number, found string \"x\"; \
             instance 5, missing required field `HouseAge`",
            "{uri}"
        );
    }
}

#[test]
fn bad_tables_are_start_up_errors_naming_the_file() {
    let housing = setup("california_sample.csv", "MedHouseVal", "housing");
    let iris = setup("iris.csv", "species", "iris");
    let regression_table = housing.predict_table("h.parquet");
    let registry = iris.registry();
    let mut config = ServerConfig::default();
    config.prediction_tables = vec![PredictionTableConfig::new("iris", &regression_table)];
    let e = serving_extras(&config, &registry).unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("h.parquet")
            && message.contains("regression values")
            && message.contains("model `iris`"),
        "{message}"
    );
    assert!(e.is_invalid_input());
    config.prediction_tables = vec![PredictionTableConfig::new("nope", &regression_table)];
    let message = serving_extras(&config, &registry).unwrap_err().to_string();
    assert!(
        message.contains("model `nope`, which is not served (models: iris)"),
        "{message}"
    );

    let e = load_prediction_table(
        &PredictionTableConfig::new("housing", &regression_table).with_key("user"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("h.parquet: it has no key column `user` (columns: id, prediction)"),
        "{e}"
    );

    let unkeyed = housing.dir.path().join("unkeyed.csv");
    BatchPredictJob::new(&housing.model_dir, &housing.keyed_data, &unkeyed)
        .run()
        .unwrap();
    let e = load_prediction_table(&PredictionTableConfig::new("housing", &unkeyed))
        .unwrap_err()
        .to_string();
    assert!(e.contains("its first column is `prediction`"), "{e}");

    let broken = housing.dir.path().join("broken.csv");
    std::fs::write(&broken, "id,prediction\n1,2.5\n2,not a number\n").unwrap();
    let e = load_prediction_table(&PredictionTableConfig::new("housing", &broken))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("broken.csv") && e.contains("1 rows cannot be read"),
        "{e}"
    );
}

#[test]
fn sampled_requests_are_logged_with_their_sources() {
    let setup = setup("iris.csv", "species", "iris");
    let table = setup.predict_table("t.jsonl");
    let log_dir = setup.dir.path().join("log");
    let mut config = ServerConfig::default();
    config.prediction_tables = vec![PredictionTableConfig::new("iris", &table)];
    config.request_log = Some(RequestLogConfig::new(&log_dir));
    let registry = setup.registry();
    let extras = serving_extras(&config, &registry).unwrap();
    let log = extras.request_log().unwrap().clone();
    let metrics = Arc::new(ServingMetrics::new());
    let app = server_app_with(registry, metrics.clone(), &config, extras);
    let rt = runtime();
    let body = json!({"instances": [setup.keyed(3, json!(1003)), setup.records[4].clone()]});
    let (status, headers, answer) = rt.block_on(call(
        &app,
        "/v1/models/iris:predict",
        &[("x-request-id", "client-7")],
        body.to_string(),
    ));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(headers["x-request-id"], "client-7");
    let (_, headers, _) = rt.block_on(call(&app, "/v1/models/iris:predict", &[], body.to_string()));
    let generated = headers["x-request-id"].to_str().unwrap().to_string();
    assert!(!generated.is_empty());
    log.close();
    let file = std::fs::read_dir(&log_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let entries: Vec<RequestLogEntry> = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].request_id, "client-7");
    assert_eq!(entries[1].request_id, generated);
    let entry = &entries[0];
    assert_eq!(
        (entry.model.as_str(), entry.version, entry.source.as_str()),
        ("iris", 1, "mixed")
    );
    assert_eq!(entry.inputs, body["instances"].as_array().unwrap().clone());
    let predictions: Value = serde_json::from_str(&answer).unwrap();
    for (output, served) in entry
        .outputs
        .iter()
        .zip(predictions["predictions"].as_array().unwrap())
    {
        assert_eq!(output["prediction"], served["label"]);
        for (class, score) in served["classes"]
            .as_array()
            .unwrap()
            .iter()
            .zip(served["scores"].as_array().unwrap())
        {
            assert_eq!(&output[format!("score_{}", class.as_str().unwrap())], score);
        }
    }
    assert_eq!(entry.outputs[0]["source"], "table");
    assert_eq!(entry.outputs[1]["source"], "model");
    let text = metrics.render().unwrap();
    assert!(text.contains("mlrig_request_log_written_total 2"), "{text}");
    assert!(text.contains("mlrig_request_log_dropped_total 0"), "{text}");
}
