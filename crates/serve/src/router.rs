//! [`router`]: the TF Serving REST API as an axum [`Router`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::any;

use crate::model_path::{ModelEndpoint, TF_SERVING_ENDPOINTS, parse_model_path};
use crate::{ModelRegistry, ServeError, ServerConfig, predict};

#[derive(Clone)]
struct ApiState {
    registry: Arc<ModelRegistry>,
    max_body_bytes: usize,
    inline_predict_max_bytes: usize,
}

/// The TF Serving REST API over `registry`:
///
/// | method | path | answer |
/// |---|---|---|
/// | POST | `/v1/models/{name}[/versions/{n}]:predict` | predictions (see the crate docs for the JSON shapes) |
/// | POST | `/v1/models/{name}[/versions/{n}]:classify` | `{"result": [[[label, score], ...], ...]}` |
/// | POST | `/v1/models/{name}[/versions/{n}]:regress` | `{"result": [value, ...]}` |
/// | GET | `/v1/models/{name}[/versions/{n}]` | model version status |
/// | GET | `/v1/models/{name}[/versions/{n}]/metadata` | model spec, task, classes, input fields |
///
/// Without `/versions/{n}` the latest (highest) version answers (the status
/// without a version lists every loaded version). Status, as TF Serving writes it:
///
/// ```json
/// {"model_version_status": [{"version": "1", "state": "AVAILABLE",
///   "status": {"error_code": "OK", "error_message": ""}}]}
/// ```
///
/// Metadata: TF Serving's `model_spec`; `metadata` describes the mlrig model
/// (instead of a TensorFlow `signature_def`). `classes` (in `scores` order) is
/// present for classifiers only; `json_type` is the JSON value an instance
/// gives for the field (`number`, `integer`, `boolean` or `string`):
///
/// ```json
/// {"model_spec": {"name": "adult", "signature_name": "", "version": "3"},
///  "metadata": {"task": "classification", "classes": ["<=50K", ">50K"], "target": "income",
///    "created_at_unix": 1700000000,
///    "inputs": [{"name": "age", "dtype": "Int64", "json_type": "integer", "nullable": true}]}}
/// ```
///
/// Every error
/// is JSON `{"error": "..."}`: 400 for a bad request (naming the instance,
/// field, expected and found value), 404 for an unknown model, version or
/// path, 405 for a wrong method, 413 for a body over
/// [`ServerConfig::max_body_bytes`], 504 past [`ServerConfig::request_timeout`],
/// 500 (generic text, details logged) when the model itself fails. The
/// `Content-Type` of a request is not checked (TF Serving's examples post with
/// `curl -d`); the body must parse as JSON.
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
    let state = ApiState {
        registry,
        max_body_bytes: config.max_body_bytes,
        inline_predict_max_bytes: config.inline_predict_max_bytes,
    };
    Router::new()
        .route("/v1/models/{*rest}", any(tf_serving))
        .fallback(endpoint_not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            config.request_timeout,
            enforce_timeout,
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
        hint: TF_SERVING_ENDPOINTS,
    }
}

async fn tf_serving(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    rest: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServeError> {
    let rest = rest.map_err(|r| ServeError::bad_request(r.body_text()))?;
    let target = parse_model_path(&rest, uri.path())?;
    let expected = match target.endpoint {
        ModelEndpoint::Infer(_) => Method::POST,
        ModelEndpoint::Status | ModelEndpoint::Metadata => Method::GET,
    };
    if method != expected && !(method == Method::HEAD && expected == Method::GET) {
        return Err(ServeError::MethodNotAllowed {
            method: method.to_string(),
            path: uri.path().to_string(),
            allowed: if expected == Method::POST {
                "POST"
            } else {
                "GET"
            },
        });
    }
    match target.endpoint {
        ModelEndpoint::Status => {
            // Resolving first gives the same 404 messages as the other endpoints.
            let servable = state.registry.get(&target.name, target.version)?;
            let versions = match target.version {
                Some(_) => vec![servable.info().version],
                None => state.registry.versions(&target.name),
            };
            Ok(Json(crate::model_status::model_status(&versions)).into_response())
        }
        ModelEndpoint::Metadata => {
            let servable = state.registry.get(&target.name, target.version)?;
            Ok(Json(crate::model_status::model_metadata(servable.as_ref())).into_response())
        }
        ModelEndpoint::Infer(verb) => {
            let body = body.map_err(|rejection| body_error(&rejection, state.max_body_bytes))?;
            let servable = state.registry.get(&target.name, target.version)?;
            // Small requests are cheaper to run in place than to hand to the
            // blocking pool; large ones would stall this worker's other connections.
            let inline = body.len() <= state.inline_predict_max_bytes;
            let run = move || predict::infer(servable.as_ref(), verb, &body);
            let encoded = if inline {
                run()
            } else {
                tokio::task::spawn_blocking(run)
                    .await
                    .map_err(|e| ServeError::Internal {
                        reason: format!("the prediction task failed: {e}"),
                    })?
            }?;
            let mut response = encoded.into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(response)
        }
    }
}

fn body_error(rejection: &BytesRejection, limit: usize) -> ServeError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ServeError::PayloadTooLarge { limit }
    } else {
        ServeError::bad_request(format!(
            "cannot read the request body: {}",
            rejection.body_text()
        ))
    }
}
