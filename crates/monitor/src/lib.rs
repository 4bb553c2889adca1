//! # mlrig-monitor
//!
//! Monitoring for an mlrig model server: Prometheus metrics of requests,
//! latency, errors, predictions and model age at `GET /metrics` (Prometheus
//! text 0.0.4 or OpenMetrics), and **live training/serving skew, drift and
//! prediction drift** of every served model version, computed with the same
//! mergeable statistics accumulators and comparators as `mlrig stats` /
//! `mlrig validate` (mlrig-validate).
//!
//! ## Data flow
//!
//! ```text
//! request ──MetricsLayer──▶ server router (e.g. mlrig-serve) ──▶ response + ServedPredictions
//!   │ path → Route (protocol, endpoint, model, version)          │ (model, version, classes, scores, inputs)
//!   └─ ServingMetrics::record_request / record_served ◀───────────┤ counts, latency, errors, per-class predictions
//!                                                                 ▼
//!      LiveMonitor::observe ── try_send (bounded; full → mlrig_monitoring_dropped_total) ──┐  request path ends here
//!   ┌─────────────────────────── worker thread ◀──────────────────────────────────────────┘
//!   │ per version: queued batches (small ones concatenated) → open pane's StatisticsAccumulators
//!   │ pane closes after window/panes of time or max_rows/panes rows
//!   │ window = merge of the last `panes` panes, compared at a pane close or tick at most once per
//!   │ second (or pane duration, if shorter; `flush` compares what closed since)
//!   │ previous window = the newest compared window that ended before this one's first pane
//!   └─ compare_windows(baseline, previous, window, predictions, thresholds) → WindowComparison
//!        skew vs statistics.json · drift vs previous window · prediction drift vs prediction_statistics.json
//! GET /metrics ─▶ ServingMetrics::render ─▶ gauges read from the last comparison (mlrig_feature_skew, …)
//! GET /v1/models/{m}/monitoring ─▶ LiveMonitor::report (MonitoringSource) ─▶ MonitoringReport JSON
//! ```
//!
//! * [`ServingMetrics`] owns a `prometheus_client` registry; its docs list the
//!   request metrics and what every label means; [`LiveMonitor`]'s docs list
//!   the monitoring metrics.
//! * [`MetricsLayer`] is a tower layer for any HTTP service. It reads the
//!   protocol, endpoint, model and version from the request path ([`Route`])
//!   and the outcome from the status code; only models registered with
//!   [`ServingMetrics::register_model`] appear by name, so arbitrary paths
//!   cannot blow up the number of series. [`MetricsLayer::with_live_monitor`]
//!   also feeds the [`LiveMonitor`].
//! * [`compare_windows`] is pure: offline tools compare logged windows with it
//!   and get the live monitor's numbers. Its tests and thresholds:
//!   [`MonitoringThresholds`]; the window: [`MonitoringConfig`].
//! * [`metrics_router`] serves `GET /metrics`; merge it into the server's router.
//!
//! This crate does not depend on `mlrig-serve`: the application composes them
//! (mlrig-serve answers `/monitoring` from any `mlrig_core::MonitoringSource`).
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, body::Body, http::Request, routing::post};
//! use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
//! use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
//! use mlrig_monitor::{LiveMonitor, MetricsLayer, MonitoringBaseline, MonitoringConfig, ServingMetrics, metrics_router};
//! use mlrig_validate::{SchemaInferenceParams, StatisticsParams, compute_statistics, infer_schema};
//! use tower::ServiceExt;
//!
//! let metrics = Arc::new(ServingMetrics::new());
//! metrics.register_model("iris", 1, 1_700_000_000);
//!
//! // Live monitoring against the training statistics (a bundle's statistics.json and schema.json).
//! let batch = |v: Vec<&str>| RecordBatch::try_from_iter([("color", Arc::new(StringArray::from(v)) as ArrayRef)]).unwrap();
//! let training = batch(vec!["red", "blue", "red", "blue"]);
//! let stats = compute_statistics(&[training.clone()], &training.schema(), &StatisticsParams::default())?;
//! let schema = infer_schema(&stats, &SchemaInferenceParams::default());
//! let live = Arc::new(LiveMonitor::new(MonitoringConfig::default().with_max_rows(20), metrics.clone())?);
//! live.register_version("iris", 1, MonitoringBaseline::new(stats, schema));
//!
//! // Any server router; in mlrig it is `mlrig_serve::router(..)`, which attaches ServedPredictions.
//! let server = Router::new().route("/v1/models/{*rest}", post(|| async {
//!     let p = Predictions::Regression { values: array![1.0, 2.0] };
//!     let inputs = RecordBatch::try_from_iter([("color", Arc::new(StringArray::from(vec!["green", "green"])) as ArrayRef)]).unwrap();
//!     let mut response = axum::response::Response::new(Body::from("{\"predictions\":[1,2]}"));
//!     response.extensions_mut().insert(ServedPredictions::new("iris", 1, &p).with_inputs(Arc::new(inputs)));
//!     response
//! }));
//! let app = server
//!     .merge(metrics_router(metrics.clone()))
//!     .layer(MetricsLayer::new(metrics.clone()).with_live_monitor(live.clone()));
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let request = Request::post("/v1/models/iris:predict").body(Body::from("{}"))?;
//! assert_eq!(runtime.block_on(app.oneshot(request))?.status(), 200);
//! live.flush(); // the worker has seen the request (a pane is 2 rows here: 20 / 10)
//!
//! let text = metrics.render()?;
//! assert!(text.contains(
//!     "mlrig_requests_total{protocol=\"tf_serving\",endpoint=\"predict\",model=\"iris\",version=\"1\",outcome=\"success\"} 1"
//! ));
//! assert!(text.contains(
//!     "mlrig_feature_skew_over_threshold{model=\"iris\",version=\"1\",feature=\"color\",test=\"linf\"} 1"
//! ));
//! let report = live.report("iris", 1).unwrap();
//! assert_eq!(report.over_threshold().next().unwrap().feature, "color");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Feature flags
//!
//! | feature | enables |
//! |---|---|
//! | `schemars` | `schemars::JsonSchema` for [`MonitoringConfig`] (the server config's JSON Schema) |

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
    WindowComparison, compare_windows, prediction_batch, served_prediction_batch,
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
    DEFAULT_MAX_ROWS, DEFAULT_MAX_ROWS_PER_SECOND, DEFAULT_PANES, DEFAULT_QUEUE_CAPACITY,
    DEFAULT_WINDOW, MonitoringConfig, MonitoringThresholds,
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
