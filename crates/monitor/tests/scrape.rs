#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Requests through a composed router (a stand-in server + `metrics_router`,
//! wrapped in `MetricsLayer`), then a scrape of `/metrics`.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use mlrig_monitor::{MetricsLayer, OPENMETRICS_CONTENT_TYPE, ServingMetrics, metrics_router};
use proptest::prelude::*;
use tower::{Service, ServiceExt};

/// A stand-in for the model server: answers by model name.
fn server() -> Router {
    Router::new()
        .route(
            "/v1/models/{*rest}",
            post(|Path(rest): Path<String>, body: String| async move {
                if rest.starts_with("boom") {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "{\"error\":\"internal\"}",
                    )
                } else if !rest.starts_with("iris") {
                    (StatusCode::NOT_FOUND, "{\"error\":\"not found\"}")
                } else if body == "bad" {
                    (StatusCode::BAD_REQUEST, "{\"error\":\"bad\"}")
                } else {
                    (StatusCode::OK, "{\"predictions\":[1.0]}")
                }
            }),
        )
        .route("/v2/health/live", get(|| async { "" }))
        .route("/slow", get(std::future::pending::<()>))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn app(metrics: &Arc<ServingMetrics>) -> Router {
    server()
        .merge(metrics_router(metrics.clone()))
        .layer(MetricsLayer::new(metrics.clone()))
}

async fn send(app: &Router, method: &str, path: &str, body: &'static str) -> StatusCode {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body))
        .unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

fn value_of(text: &str, series: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"));
    line[series.len() + 1..].parse().unwrap()
}

#[tokio::test]
async fn scrape_reports_requests_latency_errors_and_model_age() {
    let metrics = Arc::new(ServingMetrics::new());
    metrics.register_model("iris", 1, now() - 7200);
    metrics.register_model("iris", 2, now() - 60);
    let app = app(&metrics);

    for _ in 0..3 {
        assert_eq!(
            send(&app, "POST", "/v1/models/iris:predict", "{}").await,
            200
        );
    }
    assert_eq!(
        send(&app, "POST", "/v1/models/iris/versions/1:predict", "{}").await,
        200
    );
    assert_eq!(
        send(&app, "POST", "/v1/models/iris:predict", "bad").await,
        400
    );
    assert_eq!(
        send(&app, "POST", "/v1/models/nope:predict", "{}").await,
        404
    );
    assert_eq!(
        send(&app, "POST", "/v1/models/boom:predict", "{}").await,
        500
    );
    assert_eq!(send(&app, "GET", "/v2/health/live", "").await, 200);
    metrics.record_predictions("iris", 2, 3);

    let response = app
        .clone()
        .oneshot(
            Request::get("/metrics")
                .header("accept", "application/openmetrics-text; version=1.0.0")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], OPENMETRICS_CONTENT_TYPE);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();

    let requests = |endpoint: &str, model: &str, version: &str, outcome: &str| {
        let protocol = if endpoint == "live" {
            "open_inference"
        } else {
            "tf_serving"
        };
        value_of(
            &text,
            &format!(
                "mlrig_requests_total{{protocol=\"{protocol}\",endpoint=\"{endpoint}\",model=\"{model}\",version=\"{version}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    // Without a version in the path, the latest registered version (2) is the label.
    assert_eq!(requests("predict", "iris", "2", "success"), 3.0);
    assert_eq!(requests("predict", "iris", "1", "success"), 1.0);
    assert_eq!(requests("predict", "iris", "2", "client_error"), 1.0);
    assert_eq!(
        requests("predict", "unknown", "unknown", "client_error"),
        1.0
    );
    assert_eq!(
        requests("predict", "unknown", "unknown", "server_error"),
        1.0
    );
    assert_eq!(requests("live", "", "", "success"), 1.0);

    let route = "protocol=\"tf_serving\",endpoint=\"predict\",model=\"iris\",version=\"2\"";
    assert_eq!(
        value_of(
            &text,
            &format!("mlrig_request_duration_seconds_count{{{route}}}")
        ),
        4.0
    );
    assert_eq!(
        value_of(
            &text,
            &format!("mlrig_request_duration_seconds_bucket{{le=\"+Inf\",{route}}}")
        ),
        4.0
    );
    assert!(
        value_of(
            &text,
            &format!("mlrig_request_duration_seconds_sum{{{route}}}")
        ) > 0.0
    );
    assert!(text.contains("# TYPE mlrig_request_duration_seconds histogram"));

    let errors = |model: &str, code: &str| {
        value_of(
            &text,
            &format!(
                "mlrig_request_errors_total{{protocol=\"tf_serving\",endpoint=\"predict\",model=\"{model}\",version=\"{}\",code=\"{code}\"}}",
                if model == "iris" { "2" } else { "unknown" }
            ),
        )
    };
    assert_eq!(errors("iris", "400"), 1.0);
    assert_eq!(errors("unknown", "404"), 1.0);
    assert_eq!(errors("unknown", "500"), 1.0);
    assert!(!text.contains("code=\"200\""));

    let age_v1 = value_of(
        &text,
        "mlrig_model_age_seconds{model=\"iris\",version=\"1\"}",
    );
    let age_v2 = value_of(
        &text,
        "mlrig_model_age_seconds{model=\"iris\",version=\"2\"}",
    );
    assert!(age_v1 >= 7200.0, "{age_v1}");
    assert!(age_v2 > 0.0 && age_v2 < age_v1, "{age_v2} {age_v1}");
    assert_eq!(
        value_of(
            &text,
            "mlrig_predictions_total{model=\"iris\",version=\"2\",class=\"\",source=\"model\"}"
        ),
        3.0
    );
    assert_eq!(
        value_of(
            &text,
            &format!(
                "mlrig_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        1.0
    );
    // The scrape itself is in flight while the page is rendered.
    assert_eq!(value_of(&text, "mlrig_requests_in_flight"), 1.0);
    assert!(text.ends_with("# EOF\n"));

    // The scrape was counted once it finished.
    let again = metrics.render().unwrap();
    assert_eq!(
        value_of(
            &again,
            "mlrig_requests_total{protocol=\"metrics\",endpoint=\"metrics\",model=\"\",version=\"\",outcome=\"success\"}"
        ),
        1.0
    );
    assert_eq!(value_of(&again, "mlrig_requests_in_flight"), 0.0);
}

#[tokio::test]
async fn dropped_requests_count_as_cancelled() {
    let metrics = Arc::new(ServingMetrics::new());
    let mut app = app(&metrics);
    let service = ServiceExt::<Request<Body>>::ready(&mut app).await.unwrap();
    let mut pending = Box::pin(service.call(Request::get("/slow").body(Body::empty()).unwrap()));
    // Poll once so the request reaches the (never finishing) handler.
    std::future::poll_fn(|cx| {
        assert!(pending.as_mut().poll(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
    assert_eq!(
        value_of(&metrics.render().unwrap(), "mlrig_requests_in_flight"),
        1.0
    );
    drop(pending);
    let text = metrics.render().unwrap();
    assert_eq!(value_of(&text, "mlrig_requests_in_flight"), 0.0);
    assert_eq!(
        value_of(
            &text,
            "mlrig_requests_total{protocol=\"other\",endpoint=\"other\",model=\"\",version=\"\",outcome=\"cancelled\"}"
        ),
        1.0
    );
    assert!(!text.contains("mlrig_request_duration_seconds_count"));
}

/// Every value of `label` in the exposition text.
fn label_values(text: &str, label: &str) -> BTreeSet<String> {
    let key = format!("{label}=\"");
    let mut values = BTreeSet::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("mlrig_build_info"))
    {
        for (i, _) in line.match_indices(&key) {
            let rest = &line[i + key.len()..];
            values.insert(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    values
}

fn uri_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("v1".to_string()),
        Just("v2".to_string()),
        Just("models".to_string()),
        Just("versions".to_string()),
        Just("iris".to_string()),
        Just("1".to_string()),
        Just("metadata".to_string()),
        Just("iris:predict".to_string()),
        "[a-zA-Z0-9:._~%-]{0,12}",
    ];
    prop::collection::vec(segment, 0..7).prop_map(|s| format!("/{}", s.join("/")))
}

proptest! {
    #[test]
    fn arbitrary_paths_give_bounded_labels(paths in prop::collection::vec(uri_path(), 1..12), raw in "\\PC{0,40}") {
        let metrics = Arc::new(ServingMetrics::new());
        metrics.register_model("iris", 1, 0);
        // Label resolution on any text never panics and stays in the bounded sets.
        let labels = metrics.labels_for_path(&raw);
        prop_assert!(["", "unknown", "iris"].contains(&labels.model.as_str()));

        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let app = app(&metrics);
        for path in &paths {
            let Ok(request) = Request::post(path.as_str()).body(Body::from("{}")) else { continue };
            let response = runtime.block_on(app.clone().oneshot(request)).unwrap();
            prop_assert!(response.status().as_u16() < 600);
        }
        let text = metrics.render().unwrap();
        let allowed = |values: &[&str]| values.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        prop_assert!(label_values(&text, "model").is_subset(&allowed(&["", "unknown", "iris"])), "{text}");
        prop_assert!(label_values(&text, "version").is_subset(&allowed(&["", "unknown", "1"])), "{text}");
        prop_assert!(label_values(&text, "protocol").is_subset(&allowed(&["tf_serving", "open_inference", "mlflow", "metrics", "other"])));
        prop_assert!(label_values(&text, "endpoint").is_subset(&allowed(&[
            "predict", "classify", "regress", "status", "metadata", "server_metadata", "live", "ready",
            "infer", "invocations", "ping", "health", "version", "metrics", "other",
        ])));
        prop_assert!(label_values(&text, "outcome").is_subset(&allowed(&["success", "client_error", "server_error"])));
        prop_assert!(label_values(&text, "code").iter().all(|c| c.len() == 3 && c.parse::<u16>().is_ok_and(|c| c >= 400)));
    }
}

/// A response that says which version answered (as mlrig-serve's do) is
/// counted per class and labelled with that version, also behind a label.
#[tokio::test]
async fn served_predictions_are_counted_per_class_and_labelled_by_the_answering_version() {
    use axum::response::IntoResponse;
    use mlrig_monitor::{PROMETHEUS_TEXT_CONTENT_TYPE, ServedPredictions};
    let metrics = Arc::new(ServingMetrics::new());
    metrics.register_model("iris", 1, now());
    metrics.register_model("iris", 2, now());
    let server = Router::new().route(
        "/v1/models/{*rest}",
        post(|| async {
            let predictions = mlrig_core::Predictions::Classification {
                classes: vec!["a".into(), "b".into()],
                probabilities: mlrig_core::ndarray::array![[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]],
            };
            let mut response = "{}".into_response();
            response
                .extensions_mut()
                .insert(ServedPredictions::new("iris", 1, &predictions));
            response
        }),
    );
    let app = server
        .merge(metrics_router(metrics.clone()))
        .layer(MetricsLayer::new(metrics.clone()));
    let path = "/v1/models/iris/labels/stable:predict";
    assert_eq!(send(&app, "POST", path, "{}").await, 200);
    assert_eq!(
        send(&app, "GET", "/v2/models/iris/versions/1/nonsense", "").await,
        404
    );

    // No Accept header: the Prometheus text format 0.0.4.
    let response = app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        PROMETHEUS_TEXT_CONTENT_TYPE
    );
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(!text.contains("# EOF"), "{text}");
    assert!(
        text.contains("# TYPE mlrig_predictions_total counter"),
        "{text}"
    );
    let predicted = |class: &str| {
        value_of(
            &text,
            &format!(
                "mlrig_predictions_total{{model=\"iris\",version=\"1\",class=\"{class}\",source=\"model\"}}"
            ),
        )
    };
    assert_eq!((predicted("a"), predicted("b")), (1.0, 2.0));
    assert_eq!(
        value_of(
            &text,
            "mlrig_prediction_score_count{model=\"iris\",version=\"1\"}"
        ),
        3.0
    );
    assert_eq!(
        value_of(
            &text,
            "mlrig_prediction_score_bucket{le=\"0.6\",model=\"iris\",version=\"1\"}"
        ),
        1.0
    );
    // The label path counts under the version that answered (1), not the latest (2).
    assert_eq!(
        value_of(
            &text,
            "mlrig_requests_total{protocol=\"tf_serving\",endpoint=\"predict\",model=\"iris\",version=\"1\",outcome=\"success\"}"
        ),
        1.0
    );
    // A path no endpoint answers names no model.
    assert_eq!(
        value_of(
            &text,
            "mlrig_requests_total{protocol=\"open_inference\",endpoint=\"other\",model=\"\",version=\"\",outcome=\"client_error\"}"
        ),
        1.0
    );
}
