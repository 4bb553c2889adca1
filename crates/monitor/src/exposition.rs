//! [`metrics_router`]: `GET /metrics` in the OpenMetrics text format or the
//! Prometheus text format 0.0.4, as the scraper's `Accept` header asks.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::ServingMetrics;

/// The `Content-Type` of the metrics page: OpenMetrics text, which
/// Prometheus negotiates and parses (it is what `prometheus-client` encodes).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of the Prometheus text format 0.0.4 (what a scraper
/// that does not ask for OpenMetrics, or `curl`, gets).
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A router serving `GET /metrics` (Prometheus scrape target) from `metrics`:
/// OpenMetrics when the `Accept` header ranks `application/openmetrics-text`
/// above `text/plain` by quality (as Prometheus' default header does; `q=0`
/// refuses it), else the Prometheus text format 0.0.4.
///
/// It has no fallback, so it can be merged into a server's router
/// (`server_router.merge(metrics_router(m))`). Its errors have a JSON body
/// `{"error": "..."}` (the server's error shape): 405 with `Allow` for
/// another method, 500 when the metrics cannot be encoded.
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
/// let response = runtime.block_on(app.clone().oneshot(Request::get("/metrics").body(Body::empty())?))?;
/// assert_eq!(response.headers()["content-type"], mlrig_monitor::PROMETHEUS_TEXT_CONTENT_TYPE);
///
/// let response = runtime.block_on(app.oneshot(Request::post("/metrics").body(Body::empty())?))?;
/// assert_eq!(response.status(), 405);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn metrics_router(metrics: Arc<ServingMetrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape).fallback(method_not_allowed))
        .with_state(metrics)
}

/// `{"error": message}` with `status`.
fn json_error(status: StatusCode, message: String) -> Response {
    (
        status,
        Json(std::collections::BTreeMap::from([("error", message)])),
    )
        .into_response()
}

async fn method_not_allowed(method: Method) -> Response {
    let mut response = json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on `/metrics`; use GET"),
    );
    response
        .headers_mut()
        .insert(ALLOW, axum::http::HeaderValue::from_static("GET,HEAD"));
    response
}

async fn scrape(State(metrics): State<Arc<ServingMetrics>>, headers: HeaderMap) -> Response {
    let accept: Vec<&str> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let rendered = if prefers_openmetrics(&accept.join(",")) {
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
        Err(error) => json_error(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

/// Whether an `Accept` header value ranks OpenMetrics above the Prometheus
/// text format: each format takes the `q` of the most specific media range
/// that matches it (`type/subtype`, then `type/*`, then `*/*`; the highest
/// `q` among equally specific ones), and OpenMetrics wins only when its `q`
/// is strictly higher. So `q=0` refuses OpenMetrics, and a header without a
/// preference (none, or `*/*` as `curl` sends) gets the 0.0.4 text.
fn prefers_openmetrics(accept: &str) -> bool {
    let ranges: Vec<(String, String, f64)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let (kind, subtype) = parts.next()?.split_once('/')?;
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, value)| value.trim().parse::<f64>().ok())?;
            Some((
                kind.trim().to_ascii_lowercase(),
                subtype.trim().to_ascii_lowercase(),
                q.clamp(0.0, 1.0),
            ))
        })
        .collect();
    let quality = |kind: &str, subtype: &str| -> f64 {
        let specificity = |(k, s, _): &(String, String, f64)| match (k.as_str(), s.as_str()) {
            (k, s) if k == kind && s == subtype => Some(2),
            (k, "*") if k == kind => Some(1),
            ("*", "*") => Some(0),
            _ => None,
        };
        let best = ranges.iter().filter_map(specificity).max();
        ranges
            .iter()
            .filter(|range| best.is_some() && specificity(range) == best)
            .map(|(_, _, q)| *q)
            .fold(0.0, f64::max)
    };
    quality("application", "openmetrics-text") > quality("text", "plain")
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

    /// Real `prometheus-client` output (a counter, a gauge with a unit, an
    /// info metric), converted.
    #[test]
    fn openmetrics_becomes_prometheus_text() {
        use prometheus_client::metrics::counter::Counter;
        use prometheus_client::metrics::gauge::Gauge;
        use prometheus_client::metrics::info::Info;
        use prometheus_client::registry::{Registry, Unit};

        let mut registry = Registry::with_prefix("a");
        let requests: Counter = Counter::default();
        requests.inc_by(3);
        registry.register("requests", "Requests", requests);
        let age: Gauge = Gauge::default();
        age.set(2);
        registry.register_with_unit("age", "Age", Unit::Seconds, age);
        registry.register("build", "Build", Info::new(vec![("version", "1")]));
        let mut openmetrics = String::new();
        prometheus_client::encoding::text::encode(&mut openmetrics, &registry).unwrap();
        assert!(
            openmetrics.contains("# UNIT a_age_seconds seconds\n"),
            "{openmetrics}"
        );
        assert_eq!(
            openmetrics_to_prometheus_text(&openmetrics),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total 3\n\
             # HELP a_age_seconds Age.\n# TYPE a_age_seconds gauge\na_age_seconds 2\n\
             # HELP a_build_info Build.\n# TYPE a_build_info gauge\na_build_info{version=\"1\"} 1\n"
        );
    }

    #[test]
    fn accept_ranks_formats_by_quality() {
        for (accept, openmetrics) in [
            ("", false),
            ("*/*", false),
            ("text/plain", false),
            ("application/openmetrics-text", true),
            ("Application/OpenMetrics-Text; version=1.0.0", true),
            ("application/openmetrics-text;q=0", false),
            ("application/openmetrics-text; q=0, text/plain", false),
            ("application/openmetrics-text;q=0.4,text/plain;q=0.5", false),
            // Prometheus' default scrape header.
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                true,
            ),
            ("application/*, text/plain;q=0.9", true),
            // text/plain takes text/*'s q=0.2, OpenMetrics */*'s 1.
            ("text/*;q=0.2, */*", true),
            ("application/openmetrics-text;q=nope", false),
        ] {
            assert_eq!(prefers_openmetrics(accept), openmetrics, "{accept:?}");
        }
    }
}
