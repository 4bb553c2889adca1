//! # mlrig-serve
//!
//! The model server of mlrig: a [`ModelRegistry`] of loaded models
//! ([`mlrig_core::Servable`]s) answering three protocols from one axum
//! router — TF Serving REST, the Open Inference Protocol v2 (KServe /
//! Triton, JSON and binary tensors) and MLflow's scoring server.
//!
//! ## Data flow
//!
//! ```text
//! TF Serving  POST /v1/models/{m}[/versions/{n}|/labels/{l}]:predict|:classify|:regress  {"instances": ...} | {"inputs": ...} | {"examples": ...}
//! Open Inf.   POST /v2/models/{m}[/versions/{n}]/infer    one tensor per field or one [N, F] tensor, JSON or binary
//! MLflow      POST /invocations                           dataframe_split | dataframe_records | instances | inputs | text/csv
//!   │ serve_with: ≤ max_connections (else 503 + Retry-After), head within header_read_timeout, idle ≤ idle_timeout
//!   │ router: path → protocol module (tf_serving, open_inference, mlflow); body ≤ max_body_bytes (413 from Content-Length,
//!   │ before any 100 Continue), request ≤ request_timeout, response ≤ max_response_bytes, every 4xx/5xx body JSON
//!   │ a prediction slot: ≤ max_concurrent_predictions running, the rest queued ≤ queue_timeout (else 503 + Retry-After)
//!   │ the module parses its format into JSON records (bad shape → 400 in the protocol's error shape;
//!   │ 1..=max_instances_per_request rows, checked before records are built)
//!   ▼
//! ModelRegistry::select(name, Latest | Specific(n) | Label(l)) ──▶ Arc<dyn Servable>   (unknown → 404 / 400 naming what exists)
//!   │ with a PredictionTable for the model (router_with): rows whose key it holds are answered from it,
//!   │ only the others go on to the model; both merged back in request order (hybrid inference)
//!   │ records ──InputContract::check (types, required fields, training values; InputContractConfig's rules)
//!   │         (violations → one 400 listing them; accepted anomalies → counted)
//!   │ records ──mlrig_core::records_to_batch(input_schema)──▶ RecordBatch   (bad field → 400)
//!   ▼ (inline for small bodies, tokio blocking pool for large ones)
//! Servable::predict(&batch) ──▶ Predictions ──▶ the module formats them: {"predictions"} / {"outputs"} / {"results"},
//!   │                                             v2 output tensors (`predictions`, or `label` + `scores`), MLflow {"predictions"}
//!   ├──▶ ServedPredictions in the response's extensions (model, version, classes, scores, table rows, input anomalies, with monitoring the input rows: read by mlrig-monitor)
//!   └──▶ sampled requests: RequestLogEntry ─try_send─▶ RequestLog's bounded queue ─▶ writer thread ─▶ rotating JSONL / Parquet files
//! ```
//!
//! Every protocol goes through the same registry lookup, the same batch
//! conversion and the same `predict`: a request is turned into the Arrow
//! batch training used, so the servable runs the same transform code on it
//! (no training/serving skew from code), and a row gets the same prediction
//! whichever protocol carried it. The conformance notes of each protocol
//! (what is supported, every deviation) are `docs/protocols.md`.
//!
//! * [`router`] builds the axum [`Router`](axum::Router) of all three
//!   protocols (endpoint table on [`router`]); errors are JSON: TF Serving's
//!   and Open Inference's `{"error": "..."}`, MLflow's
//!   `{"error_code": "...", "message": "..."}`.
//! * [`InputContractConfig`] (the `input_contract` key of [`ServerConfig`])
//!   says how strictly each model's input contract
//!   ([`Servable::input_contract`], from the bundle's training schema) is
//!   enforced: a wrong JSON type is always a 400; a missing required field
//!   or an unseen category is a 400 by default and an out-of-range number
//!   is counted; any rule can be relaxed or tightened per model and
//!   feature. See "Input contract" in `docs/protocols.md`.
//! * [`ModelRegistry`] maps name → version → servable, and labels
//!   ([`ModelRegistry::set_label`]) to versions.
//! * [`ModelManager`] keeps the registry in step with model base paths and
//!   a [`ModelConfig`] (TF Serving's model server semantics: poll, version
//!   policy, labels, load → verify → warm up before a version is available,
//!   drain on unload, broken versions skipped and shown as `END` in the
//!   status); loading one version is a [`VersionLoader`] (model bundles:
//!   `mlrig_pipeline::BundleLoader`). Guide: `docs/serving.md`.
//! * [`router_with`] adds [`ServingExtras`]: [`PredictionTable`]s answering
//!   known keys (hybrid inference; the `mlrig-prediction-source` header says
//!   which source answered) and a [`RequestLog`] (sampled requests and their
//!   predictions in rotating files, never blocking serving; `x-request-id`)
//!   and live monitoring ([`ServingExtras::with_monitoring`]: the rows each
//!   model predicted ride along in [`ServedPredictions::inputs`] for a
//!   monitoring metrics layer, and `GET /v1/models/{name}[/versions/{n}|/labels/{l}]/monitoring`
//!   answers a [`MonitoringSource`](mlrig_core::MonitoringSource)'s report).
//! * [`serve_with`] runs any router on a listener with the connection limits
//!   of a [`ServerConfig`] (header-read and idle timeouts, max connections)
//!   and graceful shutdown ([`serve`]: the default limits);
//!   [`shutdown_signal`] resolves on Ctrl-C or SIGTERM. Every limit is listed
//!   in `docs/protocols.md` ("Limits").
//! * Metrics are not built in: compose with `mlrig-monitor`
//!   (`router(..).merge(metrics_router(..)).layer(MetricsLayer::new(..))`).
//!
//! ## TF Serving response shapes
//!
//! | request | regression | classification |
//! |---|---|---|
//! | `:predict` `{"instances": [...]}` | `{"predictions": [2.5, 3.1]}` | `{"predictions": [{"classes": ["no", "yes"], "scores": [0.2, 0.8], "label": "yes"}]}` |
//! | `:predict` `{"inputs": {...}}` | `{"outputs": [2.5, 3.1]}` | `{"outputs": {"classes": [[...]], "scores": [[...]], "label": [...]}}` |
//! | `:classify` `{"examples": [...]}` | 400 | `{"results": [[["no", 0.2], ["yes", 0.8]]]}` |
//! | `:regress` `{"examples": [...]}` | `{"results": [2.5, 3.1]}` | 400 |
//! | MLflow `/invocations` (any input format) | `{"predictions": [2.5, 3.1]}` | as `:predict` rows |
//! | Open Inference `/infer` | output `predictions` FP64 `[N]` | outputs `label` BYTES `[N]`, `scores` FP64 `[N, C]` |
//!
//! `scores` are the class probabilities in the order of `classes`; `label` is
//! the most probable class (ties go to the first). Non-finite values are
//! written as `null`; `NaN`, `Infinity` and `-Infinity` are accepted as
//! input literals, as TF Serving does. Model status and metadata documents
//! are described in [`router`].
//!
//! ## Contributions (opt-in)
//!
//! A `:predict` request (row or columnar) may add `"contributions": true` to
//! get, next to `predictions`/`outputs`, how much each feature moved each
//! instance's score ([`Servable::contributions`]; TreeSHAP for the
//! gradient-boosted trees of `mlrig-pipeline` bundles). Without the key, or
//! with `false`, the response is byte for byte the one above; a value that is
//! not a boolean is a 400 naming the key and what was found; `:classify` and
//! `:regress` refuse the key as unknown.
//!
//! | model | one entry of `"contributions"` (one per instance) |
//! |---|---|
//! | regression (group: the target) | `{"x": 1.5, "z": -0.2, "(bias)": 2.0}` |
//! | binary classification (group: `classes[1]`, log-odds) | `{"age": 0.31, "hours": -0.12, "(bias)": -1.2}` |
//! | multiclass (one group per class, softmax logits) | `{"setosa": {"petal": 2.1, "(bias)": 0.1}, "versicolor": {...}, "virginica": {...}}` |
//!
//! Values are on the model's raw margin scale (before the sigmoid or
//! softmax) and sum, `"(bias)"` included, to the raw score, e.g. to
//! `logit(scores[1])` for a binary classifier. The bias key is always
//! `"(bias)"` ([`Contributions::BIAS`]); a model with a feature of that name
//! cannot report contributions. A model that cannot explain its predictions
//! (the default [`Servable::contributions`], or a non-tree model of a
//! bundle) answers 400 with the reason.
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//! use axum::body::Body;
//! use axum::http::Request;
//! use mlrig_serve::arrow_array::{RecordBatch, cast::AsArray, types::Float64Type};
//! use mlrig_serve::arrow_schema::{DataType, Field, Schema, SchemaRef};
//! use mlrig_serve::{Predictions, Servable, ServableInfo, Task};
//! use mlrig_serve::{ModelRegistry, ServerConfig, router};
//! use tower::ServiceExt;
//!
//! /// y = 2x + 1
//! struct Linear(ServableInfo);
//! impl Servable for Linear {
//!     fn input_schema(&self) -> SchemaRef {
//!         Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]))
//!     }
//!     fn info(&self) -> &ServableInfo { &self.0 }
//!     fn predict(&self, batch: &RecordBatch) -> Result<Predictions, mlrig_serve::CoreError> {
//!         let x = batch.column(0).as_primitive::<Float64Type>();
//!         Ok(Predictions::Regression { values: x.values().iter().map(|x| 2.0 * x + 1.0).collect() })
//!     }
//! }
//!
//! let registry = Arc::new(ModelRegistry::new());
//! let info = ServableInfo::new("linear", 1, Task::Regression, "y").with_created_at_unix(1_700_000_000);
//! registry.insert(Arc::new(Linear(info)))?;
//! let app = router(registry, &ServerConfig::default());
//!
//! let request = Request::post("/v1/models/linear:predict")
//!     .body(Body::from(r#"{"instances": [{"x": 1.0}, {"x": 2.5}]}"#))?;
//! let runtime = tokio::runtime::Runtime::new()?;
//! let response = runtime.block_on(app.oneshot(request))?;
//! assert_eq!(response.status(), 200);
//! let body = runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX))?;
//! assert_eq!(&body[..], br#"{"predictions":[3.0,6.0]}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! To serve over TCP: `serve_with(TcpListener::bind("0.0.0.0:8501").await?, app, &config, shutdown_signal()).await`.
//!
//! ## Feature flags
//!
//! | feature | enables | default |
//! |---|---|---|
//! | `schemars` | `schemars::JsonSchema` for [`ServerConfig`] and [`ModelConfig`] (the schemas are `docs/schemas/server-config.schema.json` and `docs/schemas/model-config.schema.json`) | no |
//! | `parquet` | Parquet files for the [`RequestLog`] (`format: "parquet"`) | no |

mod config;
mod duration_serde;
mod error;
mod head_errors;
mod hybrid;
mod inference;
mod input_contract;
mod lifecycle;
mod limits;
mod mlflow;
mod model_config;
mod model_config_label;
mod model_path;
mod model_status;
mod open_inference;
mod prediction_table;
mod registry;
mod request_log;
#[cfg(feature = "parquet")]
mod request_log_parquet;
mod router;
mod server;
mod serving_extras;
#[cfg(test)]
mod test_servable;
mod tf_json;
mod tf_serving;

pub use config::ServerConfig;
pub use error::ServeError;
pub use inference::MAX_ROWS_PER_REQUEST;
pub use input_contract::{InputContractConfig, PartialRules, RulesSetting};
pub use lifecycle::{
    LifecycleObserver, ManagerHandle, ModelManager, ReconcileReport, Reloader, VersionLoader,
    parse_version_dir, reload_on_sighup,
};
pub use model_config::{ConfigFormat, ModelConfig, ModelEntry, VersionPolicy};
pub use model_config_label::set_model_config_label;
pub use prediction_table::{
    PREDICTION_COLUMN, PredictionTable, PredictionTableConfig, SCORE_PREFIX,
};
pub use registry::{ModelRegistry, VersionSelector};
pub use request_log::{RequestLog, RequestLogConfig, RequestLogEntry, RequestLogFormat};
pub use router::{router, router_with};
pub use server::{serve, serve_with, shutdown_signal};
pub use serving_extras::{PREDICTION_SOURCE_HEADER, REQUEST_ID_HEADER, ServingExtras};

// What users need to name this crate's inputs and outputs, so that depending
// on `mlrig-serve` alone is enough to serve a custom model (one path each; see
// docs/architecture.md). `axum` and `tokio` are public dependencies: `router`
// returns an `axum::Router` and `serve` takes a `tokio::net::TcpListener`.
pub use mlrig_core::Error as CoreError;
pub use mlrig_core::{
    ContractAction, ContractRules, Contributions, FieldContract, InputContract, Predictions,
    RequestLogCounters, Servable, ServableInfo, ServedPredictions, Task, ValueDomain, ValueKind,
    arrow_array, arrow_schema, ndarray,
};
pub use {axum, tokio};

/// The README's code, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
