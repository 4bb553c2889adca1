//! [`router`]: the three serving protocols over one [`ModelRegistry`] as an
//! axum [`Router`], and what their handlers share (state, method checks,
//! body limits, where a prediction runs).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use crate::inference::with_row_limit;
use crate::limits::{HttpLimits, PredictionLimiter, harden};
use crate::serving_extras::annotate;
use crate::{
    InputContractConfig, ModelRegistry, ServeError, ServerConfig, ServingExtras, mlflow,
    open_inference, tf_serving,
};

/// Every endpoint of the three protocols, for 404 messages.
const ALL_ENDPOINTS: &str = "endpoints are TF Serving's /v1/models/{name}[/versions/{n}|/labels/{l}][/metadata|/monitoring|:predict|:classify|:regress], \
     Open Inference Protocol's /v2, /v2/health/live|ready and /v2/models/{name}[/versions/{n}][/ready|/infer], \
     MLflow's /invocations, /ping, /health, /version, and /metrics when metrics are enabled";

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub registry: Arc<ModelRegistry>,
    pub max_body_bytes: usize,
    pub inline_predict_max_bytes: usize,
    /// Most rows per request (`ServerConfig::max_instances_per_request`).
    pub max_instances: usize,
    /// The prediction concurrency limit and queue.
    pub limiter: Arc<PredictionLimiter>,
    /// Prediction tables and the request log.
    pub extras: Arc<ServingExtras>,
    /// How strictly input contracts are enforced.
    pub input_contract: Arc<InputContractConfig>,
}

impl ApiState {
    /// Runs a prediction on this worker for a small body, on tokio's
    /// blocking pool for a large one (it would stall this worker's other
    /// connections), once the concurrency limit gives it a slot (503 when
    /// the queue is full or the wait too long), with the server's row limit
    /// in force for the protocols' parsers.
    pub(crate) async fn run_predict<T, F>(&self, body_len: usize, run: F) -> Result<T, ServeError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, ServeError> + Send + 'static,
    {
        let permit = self.limiter.acquire().await?;
        let max_instances = self.max_instances;
        if body_len <= self.inline_predict_max_bytes {
            let result = with_row_limit(max_instances, run);
            drop(permit);
            result
        } else {
            // The permit moves into the task: a request that timed out
            // keeps its slot until its prediction really ends.
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                with_row_limit(max_instances, run)
            })
            .await
            .map_err(|e| ServeError::Internal {
                reason: format!("the prediction task failed: {e}"),
            })?
        }
    }
}

/// The three serving protocols over `registry`, each answering with its
/// own shapes (the conformance notes are `docs/protocols.md`):
///
/// | protocol | method | path | answer |
/// |---|---|---|---|
/// | TF Serving | POST | `/v1/models/{name}[/versions/{n}\|/labels/{l}]:predict` | `{"predictions": ...}` / `{"outputs": ...}` (see the crate docs) |
/// | TF Serving | POST | `/v1/models/{name}[/versions/{n}\|/labels/{l}]:classify` | `{"results": [[[label, score], ...], ...]}` |
/// | TF Serving | POST | `/v1/models/{name}[/versions/{n}\|/labels/{l}]:regress` | `{"results": [value, ...]}` |
/// | TF Serving | GET | `/v1/models/{name}[/versions/{n}\|/labels/{l}]` | model version status, newest first |
/// | TF Serving | GET | `/v1/models/{name}[/versions/{n}\|/labels/{l}]/metadata` | model spec, `signature_def` (`DT_*` dtypes), task, classes |
/// | mlrig (TF Serving style) | GET | `/v1/models/{name}[/versions/{n}\|/labels/{l}]/monitoring` | the version's live monitoring report (with [`ServingExtras::with_monitoring`]; 404 otherwise) |
/// | Open Inference v2 | GET | `/v2/health/live`, `/v2/health/ready` | 200, empty body |
/// | Open Inference v2 | GET | `/v2` | server metadata (extension `binary_tensor_data`) |
/// | Open Inference v2 | GET | `/v2/models/{name}[/versions/{n}]` | model metadata: inputs (one tensor per field), outputs |
/// | Open Inference v2 | GET | `/v2/models/{name}[/versions/{n}]/ready` | 200, empty body |
/// | Open Inference v2 | POST | `/v2/models/{name}[/versions/{n}]/infer` | JSON or binary tensors |
/// | MLflow | POST | `/invocations` | `{"predictions": [...]}` |
/// | MLflow | GET | `/ping`, `/health` | 200 |
/// | MLflow | GET | `/version` | the mlrig version |
///
/// Without a version the latest (highest) version answers; a label
/// answers with the version it points at ([`ModelRegistry::set_label`]).
/// TF Serving status, as TF Serving writes it:
///
/// ```json
/// {"model_version_status": [{"version": "2", "state": "AVAILABLE",
///   "status": {"error_code": "OK", "error_message": ""}}, {"version": "1", ...}]}
/// ```
///
/// TF Serving metadata: `model_spec`, and in `metadata` the
/// `signature_def` (`serving_default`: one input per field, outputs
/// `predictions` or `scores`/`classes`/`label`) next to mlrig's own
/// description of the model (`task`, `classes` in `scores` order, `target`,
/// `created_at_unix`, `inputs` with their JSON type):
///
/// ```json
/// {"model_spec": {"name": "adult", "signature_name": "", "version": "3"},
///  "metadata": {"signature_def": {"signature_def": {"serving_default": {
///      "inputs": {"age": {"dtype": "DT_INT64", "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": false}, "name": "age"}},
///      "outputs": {...}, "method_name": "tensorflow/serving/predict"}}},
///    "task": "classification", "classes": ["<=50K", ">50K"], "target": "income",
///    "created_at_unix": 1700000000,
///    "inputs": [{"name": "age", "dtype": "Int64", "json_type": "integer", "nullable": true}]}}
/// ```
///
/// Errors: TF Serving and Open Inference answer JSON `{"error": "..."}`,
/// MLflow `{"error_code": "BAD_REQUEST", "message": "..."}`: 400 for a bad
/// request (naming the instance, field, expected and found value; a
/// request breaking the model's input contract lists every violation, up
/// to ten) or an
/// unknown label, 404 for an unknown model, version or path, 405 for a
/// wrong method, 413 for a body over [`ServerConfig::max_body_bytes`]
/// (at once when `Content-Length` says so, before any `100 Continue`) or a
/// response over [`ServerConfig::max_response_bytes`], 415
/// for an MLflow body that is neither JSON nor CSV, 503 with `Retry-After`
/// when the prediction queue is full or a prediction waited
/// [`ServerConfig::queue_timeout`] for one of
/// [`ServerConfig::max_concurrent_predictions`] slots, 504 past
/// [`ServerConfig::request_timeout`], 500 (generic text, details logged)
/// when the model itself fails. Every 4xx/5xx the router answers has a JSON
/// body in the protocol's shape (an outer layer wraps any other). TF Serving's and Open Inference's
/// `Content-Type` is not checked (TF Serving's examples post with
/// `curl -d`).
///
/// The router has a JSON 404 fallback, so merge routers that have none (such
/// as `mlrig_monitor::metrics_router`) into it, not the other way round.
///
/// ```
/// use std::sync::Arc;
/// use mlrig_serve::{ModelRegistry, ServerConfig, router};
/// let app: axum::Router = router(Arc::new(ModelRegistry::new()), &ServerConfig::default());
/// ```
pub fn router(registry: Arc<ModelRegistry>, config: &ServerConfig) -> Router {
    router_with(registry, config, ServingExtras::new())
}

/// [`router`] with prediction tables answering known keys (hybrid
/// inference) and a request log: see [`ServingExtras`] and
/// `docs/protocols.md`. With extras, a prediction of a model that has a
/// table carries the `mlrig-prediction-source` response header, and with a
/// request log every response carries an `x-request-id` (the request's own,
/// or a new one).
///
/// ```
/// use std::sync::Arc;
/// use mlrig_serve::{ModelRegistry, ServerConfig, ServingExtras, router_with};
/// # fn table() -> mlrig_serve::PredictionTable {
/// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
/// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
/// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
/// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
/// # let t = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
/// # t }
/// let extras = ServingExtras::new().with_prediction_table(table());
/// let app: axum::Router = router_with(Arc::new(ModelRegistry::new()), &ServerConfig::default(), extras);
/// ```
pub fn router_with(
    registry: Arc<ModelRegistry>,
    config: &ServerConfig,
    extras: ServingExtras,
) -> Router {
    let extras = Arc::new(extras);
    let state = ApiState {
        registry,
        max_body_bytes: config.max_body_bytes,
        inline_predict_max_bytes: config.inline_predict_max_bytes,
        max_instances: config.max_instances_per_request,
        limiter: Arc::new(PredictionLimiter::new(config)),
        extras: extras.clone(),
        input_contract: Arc::new(config.input_contract.clone()),
    };
    let app = Router::new()
        .route("/v1/models/{*rest}", any(tf_serving::handle))
        .route("/v2", any(open_inference::server_metadata))
        .route("/v2/health/live", any(open_inference::live))
        .route("/v2/health/ready", any(open_inference::ready))
        .route("/v2/models/{*rest}", any(open_inference::handle))
        .route("/invocations", any(mlflow::invocations))
        .route("/ping", any(mlflow::ping))
        .route("/health", any(mlflow::ping))
        .route("/version", any(mlflow::version))
        .fallback(endpoint_not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            config.request_timeout,
            enforce_timeout,
        ));
    let app = if !extras.annotates() {
        app
    } else {
        app.layer(middleware::from_fn_with_state(extras, annotate))
    };
    // Outermost, so it sees every answer (framework rejections included).
    app.layer(middleware::from_fn_with_state(
        HttpLimits {
            max_body_bytes: config.max_body_bytes,
            max_response_bytes: config.max_response_bytes,
        },
        harden,
    ))
}

async fn enforce_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ServeError::Timeout { after: limit }.into_response(),
    }
}

async fn endpoint_not_found(uri: Uri) -> ServeError {
    ServeError::EndpointNotFound {
        path: uri.path().to_string(),
        hint: ALL_ENDPOINTS,
    }
}

/// `Ok` when `method` is `expected` (HEAD counts as GET).
pub(crate) fn check_method(method: &Method, expected: Method, uri: &Uri) -> Result<(), ServeError> {
    if *method == expected || (*method == Method::HEAD && expected == Method::GET) {
        return Ok(());
    }
    Err(ServeError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
        allowed: if expected == Method::POST {
            "POST"
        } else {
            "GET"
        },
    })
}

/// A body that could not be read: over the limit (413) or broken (400).
pub(crate) fn body_error(rejection: &BytesRejection, limit: usize) -> ServeError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ServeError::PayloadTooLarge { limit }
    } else {
        ServeError::bad_request(format!(
            "cannot read the request body: {}",
            rejection.body_text()
        ))
    }
}
