//! [`metrics_router`]: `GET /metrics` in the OpenMetrics text format or the
//! Prometheus text format 0.0.4, as the scraper's `Accept` header asks.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::ServingMetrics;

/// The `Content-Type` of the metrics page: OpenMetrics text, which
/// Prometheus negotiates and parses (it is what `prometheus-client` encodes).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of the Prometheus text format 0.0.4 (what a scraper
/// that does not ask for OpenMetrics, or `curl`, gets).
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A router serving `GET /metrics` (Prometheus scrape target) from `metrics`:
/// OpenMetrics when the `Accept` header names `application/openmetrics-text`
/// (as Prometheus does by default), else the Prometheus text format 0.0.4.
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
/// let request = Request::get("/metrics")
///     .header("accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
///     .body(Body::empty())?;
/// let response = runtime.block_on(app.clone().oneshot(request))?;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], OPENMETRICS_CONTENT_TYPE);
///
/// let response = runtime.block_on(app.oneshot(Request::get("/metrics").body(Body::empty())?))?;
/// assert_eq!(response.headers()["content-type"], mlrig_monitor::PROMETHEUS_TEXT_CONTENT_TYPE);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn metrics_router(metrics: Arc<ServingMetrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<ServingMetrics>>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.to_ascii_lowercase()
                .contains("application/openmetrics-text")
        });
    let rendered = if openmetrics {
        metrics
            .render()
            .map(|text| (OPENMETRICS_CONTENT_TYPE, text))
    } else {
        metrics
            .render_prometheus_text()
            .map(|text| (PROMETHEUS_TEXT_CONTENT_TYPE, text))
    };
    match rendered {
        Ok((content_type, text)) => ([(CONTENT_TYPE, content_type)], text).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// OpenMetrics text (as `prometheus-client` writes it) → Prometheus text
/// format 0.0.4: no `# UNIT` or `# EOF` lines; a counter family is named
/// with its `_total` suffix, an info family becomes a gauge named
/// `<name>_info`, `unknown` becomes `untyped`. Samples are unchanged.
pub(crate) fn openmetrics_to_prometheus_text(openmetrics: &str) -> String {
    let types: std::collections::HashMap<&str, &str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .collect();
    let renamed = |name: &str| match types.get(name) {
        Some(&"counter") => format!("{name}_total"),
        Some(&"info") => format!("{name}_info"),
        _ => name.to_string(),
    };
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some((name, help)) = line.strip_prefix("# HELP ").and_then(|r| r.split_once(' ')) {
            text.push_str(&format!("# HELP {} {help}\n", renamed(name)));
        } else if let Some((name, kind)) =
            line.strip_prefix("# TYPE ").and_then(|r| r.split_once(' '))
        {
            let kind = match kind {
                "info" => "gauge",
                "unknown" => "untyped",
                other => other,
            };
            text.push_str(&format!("# TYPE {} {kind}\n", renamed(name)));
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_becomes_prometheus_text() {
        let openmetrics = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total{x=\"1\"} 3\n\
            # HELP a_age Age.\n# TYPE a_age gauge\n# UNIT a_age seconds\na_age_seconds 2.0\n\
            # HELP a_build Build.\n# TYPE a_build info\na_build_info{version=\"1\"} 1\n# EOF\n";
        assert_eq!(
            openmetrics_to_prometheus_text(openmetrics),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total{x=\"1\"} 3\n\
             # HELP a_age Age.\n# TYPE a_age gauge\na_age_seconds 2.0\n\
             # HELP a_build_info Build.\n# TYPE a_build_info gauge\na_build_info{version=\"1\"} 1\n"
        );
    }
}
