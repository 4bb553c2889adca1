//! # mlrig-monitor
//!
//! Prometheus metrics for an mlrig model server: request counts, latency,
//! errors, requests in flight, predictions per class, score histograms and
//! model age, exposed at `GET /metrics` in the Prometheus text format 0.0.4
//! or, when the scraper's `Accept` asks for it, OpenMetrics.
//!
//! ## Data flow
//!
//! ```text
//! request ──MetricsLayer──▶ server router (e.g. mlrig-serve) ──▶ response
//!   │ path → Route (protocol, endpoint, model, version)    │ status → outcome, code
//!   │                                                       │ extensions: ServedPredictions (model, version, classes, scores)
//!   └──────────── ServingMetrics::record_request ◀──────────┘  (count, latency, errors; labelled by the answering version)
//!                 ServingMetrics::record_served  ◀──────────┘  (predictions per class, score / value histograms)
//! register_model(name, version, created_at) ─▶ known models (label values, model age)
//! GET /metrics ──metrics_router──▶ ServingMetrics::render (OpenMetrics) | render_prometheus_text (0.0.4)
//! ```
//!
//! * [`ServingMetrics`] owns a `prometheus_client` registry; its docs list the
//!   metrics and what every label means.
//! * [`MetricsLayer`] is a tower layer for any HTTP service. It does not know
//!   the server's types: it reads the protocol, endpoint, model and version
//!   from the request path ([`Route`]) and the outcome from the status code.
//!   Only models registered with [`ServingMetrics::register_model`] appear by
//!   name, so arbitrary paths cannot blow up the number of series.
//! * [`metrics_router`] serves `GET /metrics`; merge it into the server's router.
//!
//! This crate does not depend on `mlrig-serve`: the application composes them.
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, body::Body, http::Request, routing::post};
//! use mlrig_monitor::{MetricsLayer, ServingMetrics, metrics_router};
//! use tower::ServiceExt;
//!
//! let metrics = Arc::new(ServingMetrics::new());
//! metrics.register_model("iris", 1, 1_700_000_000);
//!
//! // Any server router; in mlrig it is `mlrig_serve::router(..)`.
//! let server = Router::new().route("/v1/models/{*rest}", post(|| async { "{\"predictions\":[1]}" }));
//! let app = server.merge(metrics_router(metrics.clone())).layer(MetricsLayer::new(metrics.clone()));
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let request = Request::post("/v1/models/iris:predict").body(Body::from("{}"))?;
//! assert_eq!(runtime.block_on(app.oneshot(request))?.status(), 200);
//!
//! let text = metrics.render()?;
//! assert!(text.contains(
//!     "mlrig_requests_total{protocol=\"tf_serving\",endpoint=\"predict\",model=\"iris\",version=\"1\",outcome=\"success\"} 1"
//! ));
//! assert!(text.contains("mlrig_model_age_seconds{model=\"iris\",version=\"1\"}"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Feature flags
//!
//! `mlrig-monitor` has none.

mod comparison;
mod error;
mod exposition;
mod layer;
mod live;
mod metrics;
mod monitoring_config;
mod report;
mod route;
mod window;

pub use comparison::{
    ComparisonTest, FeatureComparison, MonitoringBaseline, PREDICTED_CLASS_FEATURE, SCORE_FEATURE,
    WindowComparison, compare_windows, prediction_batch,
};
pub use error::MonitorError;
pub use exposition::{OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE, metrics_router};
pub use layer::{MetricsLayer, MetricsService, ResponseFuture};
pub use live::{Clock, LiveMonitor, ManualClock, SystemClock};
pub use metrics::{
    LATENCY_BUCKETS_SECONDS, Outcome, RequestLabelValues, SCORE_BUCKETS, ServingMetrics, UNKNOWN,
    VALUE_BUCKETS,
};
pub use monitoring_config::{
    DEFAULT_MAX_ROWS, DEFAULT_PANES, DEFAULT_QUEUE_CAPACITY, DEFAULT_WINDOW, MonitoringConfig,
    MonitoringThresholds,
};
pub use report::{ComparisonSection, MonitoringReport, NonFiniteCounts, WindowSummary};
pub use route::Route;

// What users need to name this crate's inputs and outputs, so that depending
// on `mlrig-monitor` alone is enough (one path each; see docs/architecture.md).
// `axum` is a public dependency: `metrics_router` returns an `axum::Router`.
pub use axum;
pub use mlrig_core::Error as CoreError;
pub use mlrig_core::{ServableInfo, ServedPredictions, Task};
pub use mlrig_validate::{Anomalies, DatasetStatistics, Schema};

/// The README's code, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
