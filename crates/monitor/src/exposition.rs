//! [`metrics_router`]: `GET /metrics` in the OpenMetrics text format.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::ServingMetrics;

/// The `Content-Type` of the metrics page: OpenMetrics text, which
/// Prometheus negotiates and parses (it is what `prometheus-client` encodes).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A router serving `GET /metrics` (Prometheus scrape target) from `metrics`.
///
/// It has no fallback, so it can be merged into a server's router
/// (`server_router.merge(metrics_router(m))`).
///
/// ```
/// use std::sync::Arc;
/// use axum::body::Body;
/// use axum::http::Request;
/// use tower::ServiceExt;
/// use mlrig_monitor::{OPENMETRICS_CONTENT_TYPE, ServingMetrics, metrics_router};
///
/// let app = metrics_router(Arc::new(ServingMetrics::new()));
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let response = runtime.block_on(app.oneshot(Request::get("/metrics").body(Body::empty())?))?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], OPENMETRICS_CONTENT_TYPE);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn metrics_router(metrics: Arc<ServingMetrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<ServingMetrics>>) -> Response {
    match metrics.render() {
        Ok(text) => ([(CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], text).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
