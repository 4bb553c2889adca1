//! Deterministic test doubles of `mlrig_core::Servable` shared by the
//! integration tests, helpers to call a router in-process, and a parser of
//! the raw HTTP/1.1 responses of a server on a TCP port.

#![allow(dead_code)]

use std::sync::{Arc, Mutex, mpsc};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::Float64Type;
use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_core::arrow_schema::{DataType, Field, Schema, SchemaRef};
use mlrig_core::ndarray::{Array1, Array2, Array3};
use mlrig_core::{Contributions, Error, Predictions, Servable, ServableInfo, Task};
use mlrig_serve::{ModelRegistry, ServerConfig, router};
use serde_json::Value;
use tower::ServiceExt;

pub const CREATED_AT: u64 = 1_700_000_000;

fn info(name: &str, version: u64, task: Task, target: &str) -> ServableInfo {
    ServableInfo::new(name, version, task, target).with_created_at_unix(CREATED_AT)
}

/// Regression `y = slope * x + 1` on one required Float64 column `x`; no
/// contributions (the trait's default).
pub struct Linear {
    info: ServableInfo,
    slope: f64,
}

impl Linear {
    pub fn new(version: u64, slope: f64) -> Arc<Self> {
        Arc::new(Self {
            info: info("linear", version, Task::Regression, "y"),
            slope,
        })
    }
}

impl Servable for Linear {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]))
    }
    fn info(&self) -> &ServableInfo {
        &self.info
    }
    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        let x = batch.column(0).as_primitive::<Float64Type>();
        Ok(Predictions::Regression {
            values: x.values().iter().map(|x| self.slope * x + 1.0).collect(),
        })
    }
}

/// Two classes `ham`/`spam`: P(spam) = sigmoid(score), and 0 when `sender`
/// is `"boss"`. `score` is nullable in the schema but required by the model,
/// which reports a null score as the caller's error.
///
/// Contributions to the log-odds of `spam`: `score` contributes the score,
/// `sender` −∞ for the boss (else 0), the bias is 0.
pub struct SpamFilter {
    info: ServableInfo,
}

impl SpamFilter {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            info: info(
                "spam",
                3,
                Task::Classification {
                    classes: vec!["ham".into(), "spam".into()],
                },
                "is_spam",
            ),
        })
    }
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-x))
}

impl Servable for SpamFilter {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("score", DataType::Float64, true),
            Field::new("sender", DataType::Utf8, true),
            Field::new("urgent", DataType::Boolean, true),
            Field::new("links", DataType::Int64, true),
        ]))
    }
    fn info(&self) -> &ServableInfo {
        &self.info
    }
    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        let score = batch.column(0).as_primitive::<Float64Type>();
        let sender = batch.column(1).as_string::<i32>();
        let mut probabilities = Array2::zeros((batch.num_rows(), 2));
        for i in 0..batch.num_rows() {
            if score.is_null(i) {
                return Err(Error::MissingField {
                    instance: Some(i),
                    field: "score".into(),
                });
            }
            let spam = if sender.is_valid(i) && sender.value(i) == "boss" {
                0.0
            } else {
                sigmoid(score.value(i))
            };
            probabilities[[i, 0]] = 1.0 - spam;
            probabilities[[i, 1]] = spam;
        }
        Ok(Predictions::Classification {
            classes: vec!["ham".into(), "spam".into()],
            probabilities,
        })
    }
    fn contributions(&self, batch: &RecordBatch) -> mlrig_core::Result<Contributions> {
        let score = batch.column(0).as_primitive::<Float64Type>();
        let sender = batch.column(1).as_string::<i32>();
        let mut values = Array3::zeros((batch.num_rows(), 1, 3));
        for i in 0..batch.num_rows() {
            if score.is_null(i) {
                return Err(Error::MissingField {
                    instance: Some(i),
                    field: "score".into(),
                });
            }
            values[[i, 0, 0]] = score.value(i);
            if sender.is_valid(i) && sender.value(i) == "boss" {
                values[[i, 0, 1]] = f64::NEG_INFINITY;
            }
        }
        Contributions::new(
            vec!["score".into(), "sender".into()],
            vec!["spam".into()],
            values,
        )
    }
}

/// Three classes `red`/`green`/`blue` from one required Float64 column `x`:
/// softmax of the logits `x + 0.5`, `−x`, `−0.5`, explained per class (`x`
/// contributes `x`, `−x`, 0; the biases are 0.5, 0, −0.5).
pub struct Colors {
    info: ServableInfo,
}

pub const COLOR_CLASSES: [&str; 3] = ["red", "green", "blue"];
const COLOR_SLOPES: [f64; 3] = [1.0, -1.0, 0.0];
const COLOR_BIASES: [f64; 3] = [0.5, 0.0, -0.5];

impl Colors {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            info: info(
                "colors",
                1,
                Task::Classification {
                    classes: COLOR_CLASSES.map(String::from).to_vec(),
                },
                "color",
            ),
        })
    }

    /// The softmax probabilities of the logits for `x`.
    pub fn probabilities(x: f64) -> [f64; 3] {
        let exp = [0, 1, 2].map(|k| libm::exp(COLOR_SLOPES[k] * x + COLOR_BIASES[k]));
        let total: f64 = exp.iter().sum();
        exp.map(|e| e / total)
    }
}

impl Servable for Colors {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]))
    }
    fn info(&self) -> &ServableInfo {
        &self.info
    }
    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        let x = batch.column(0).as_primitive::<Float64Type>();
        let mut probabilities = Array2::zeros((batch.num_rows(), 3));
        for (i, x) in x.values().iter().enumerate() {
            for (k, p) in Self::probabilities(*x).into_iter().enumerate() {
                probabilities[[i, k]] = p;
            }
        }
        Ok(Predictions::Classification {
            classes: COLOR_CLASSES.map(String::from).to_vec(),
            probabilities,
        })
    }
    fn contributions(&self, batch: &RecordBatch) -> mlrig_core::Result<Contributions> {
        let x = batch.column(0).as_primitive::<Float64Type>();
        let values = Array3::from_shape_fn((batch.num_rows(), 3, 2), |(i, k, f)| {
            [COLOR_SLOPES[k] * x.value(i), COLOR_BIASES[k]][f]
        });
        Contributions::new(
            vec!["x".into()],
            COLOR_CLASSES.map(String::from).to_vec(),
            values,
        )
    }
}

/// A regression model with a feature literally named `(bias)`: it predicts
/// `x`, but its contributions cannot be named.
pub struct Clash {
    info: ServableInfo,
}

impl Clash {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            info: info("clash", 1, Task::Regression, "y"),
        })
    }
}

impl Servable for Clash {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]))
    }
    fn info(&self) -> &ServableInfo {
        &self.info
    }
    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        let x = batch.column(0).as_primitive::<Float64Type>();
        Ok(Predictions::Regression {
            values: x.values().iter().copied().collect(),
        })
    }
    fn contributions(&self, batch: &RecordBatch) -> mlrig_core::Result<Contributions> {
        let x = batch.column(0).as_primitive::<Float64Type>();
        let values =
            Array3::from_shape_fn((batch.num_rows(), 1, 2), |(i, _, f)| [x.value(i), 0.0][f]);
        Contributions::new(vec!["(bias)".into()], vec!["y".into()], values)
    }
}

/// A model whose prediction always fails on the server's side (its files vanished).
pub struct Broken {
    info: ServableInfo,
}

impl Broken {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            info: info("broken", 1, Task::Regression, "y"),
        })
    }
}

impl Servable for Broken {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]))
    }
    fn info(&self) -> &ServableInfo {
        &self.info
    }
    fn predict(&self, _batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        Err(Error::io(
            "/secret/models/broken/1/model.json",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ))
    }
}

/// A model that blocks in `predict` until the test sends on the channel.
pub struct Gate {
    info: ServableInfo,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Gate {
    pub fn new() -> (Arc<Self>, mpsc::Sender<()>) {
        let (tx, rx) = mpsc::channel();
        (
            Arc::new(Self {
                info: info("gate", 1, Task::Regression, "y"),
                release: Mutex::new(rx),
            }),
            tx,
        )
    }
}

impl Servable for Gate {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]))
    }
    fn info(&self) -> &ServableInfo {
        &self.info
    }
    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        if let Ok(rx) = self.release.lock() {
            let _ = rx.recv();
        }
        Ok(Predictions::Regression {
            values: Array1::zeros(batch.num_rows()),
        })
    }
}

/// linear v1 (slope 2) and v2 (slope 3), spam v3, broken v1, colors v1, clash v1.
pub fn registry() -> Arc<ModelRegistry> {
    let registry = Arc::new(ModelRegistry::new());
    registry.insert(Linear::new(1, 2.0)).unwrap();
    registry.insert(Linear::new(2, 3.0)).unwrap();
    registry.insert(SpamFilter::new()).unwrap();
    registry.insert(Broken::new()).unwrap();
    registry.insert(Colors::new()).unwrap();
    registry.insert(Clash::new()).unwrap();
    registry
}

pub fn app() -> axum::Router {
    router(registry(), &ServerConfig::default())
}

/// Sends one request through `app` in-process; returns the status and the body as JSON.
pub async fn call(
    app: axum::Router,
    method: &str,
    path: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{method} {path} answered {status} without a JSON content type"
    );
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {bytes:?}"));
    (status, json)
}

pub async fn post(path: &str, body: &str) -> (StatusCode, Value) {
    call(app(), "POST", path, body.to_string()).await
}

pub async fn get(path: &str) -> (StatusCode, Value) {
    call(app(), "GET", path, Body::empty()).await
}

/// POSTs raw `body` bytes with `headers` through `app` on a runtime of its
/// own; returns the status, the Open Inference binary header length
/// (`inference-header-content-length`, which must be a number when present)
/// and the body.
pub fn send_raw(
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, Option<usize>, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = Request::post(path);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = app()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let header_length = response
            .headers()
            .get("inference-header-content-length")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, header_length, bytes.to_vec())
    })
}

/// The `error` message of an error response.
pub fn error_of(json: &Value) -> &str {
    json["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error document: {json}"))
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-cased names and trimmed values.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// The first complete response in `raw` (a `Content-Length` body), if any.
pub fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(Some(0), |(_, v)| v.parse().ok())?;
    let body = raw.get(end + 4..end + 4 + length)?.to_vec();
    Some(HttpResponse {
        status,
        headers,
        body,
    })
}
