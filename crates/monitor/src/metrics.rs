//! [`ServingMetrics`]: the Prometheus metrics of a model server.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mlrig_core::{RequestLogCounters, ServableInfo, ServedPredictions};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::{MonitorError, Route};

/// Upper bounds of the latency histogram, in seconds: a 1-2.5-5 series from
/// 25 µs to 10 s, plus 30 s (the server's default request timeout).
pub const LATENCY_BUCKETS_SECONDS: [f64; 19] = [
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds of the histogram of classifiers' scores (the predicted
/// class's probability): 0.05 to 1 in steps of 0.05.
pub const SCORE_BUCKETS: [f64; 20] = [
    0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85,
    0.9, 0.95, 1.0,
];

/// Upper bounds of the histogram of regression models' predicted values:
/// ±1-2.5-5 series from 0.01 to 1e6 (the scale of a target is unknown, so
/// relative resolution is kept over 8 decades either side of 0).
pub const VALUE_BUCKETS: [f64; 49] = [
    -1e6, -5e5, -2.5e5, -1e5, -5e4, -2.5e4, -1e4, -5e3, -2.5e3, -1e3, -500.0, -250.0, -100.0,
    -50.0, -25.0, -10.0, -5.0, -2.5, -1.0, -0.5, -0.25, -0.1, -0.05, -0.025, 0.0, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1e3, 2.5e3, 5e3, 1e4, 2.5e4,
    5e4, 1e5, 2.5e5, 5e5, 1e6,
];

/// The label value for a model or version the metrics do not know.
pub const UNKNOWN: &str = "unknown";

/// Labels of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    protocol: &'static str,
    endpoint: &'static str,
    model: String,
    version: String,
    outcome: &'static str,
}

/// Labels of the latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    protocol: &'static str,
    endpoint: &'static str,
    model: String,
    version: String,
}

/// Labels of the error counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    protocol: &'static str,
    endpoint: &'static str,
    model: String,
    version: String,
    code: String,
}

/// Labels of the prediction counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PredictionLabels {
    model: String,
    version: String,
    class: String,
    source: &'static str,
}

/// `source` of predictions the live model made.
pub const SOURCE_MODEL: &str = "model";
/// `source` of predictions answered from a prediction table (hybrid inference).
pub const SOURCE_TABLE: &str = "table";

/// Labels of the input anomaly counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnomalyLabels {
    model: String,
    version: String,
    feature: String,
    kind: &'static str,
}

/// Labels of per-model metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
    version: String,
}

/// Labels of per-model (not per-version) metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelNameLabels {
    model: String,
}

/// Registered models: name → version → created_at (Unix seconds).
type ModelTable = Arc<RwLock<BTreeMap<String, BTreeMap<u64, u64>>>>;

/// How a request ended, for `mlrig_requests_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A response with this HTTP status was produced.
    Status(u16),
    /// The service failed without producing a response.
    ServiceError,
    /// The request was dropped before a response (the client went away).
    Cancelled,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Status(s) if s >= 500 => "server_error",
            Outcome::Status(s) if s >= 400 => "client_error",
            Outcome::Status(_) => "success",
            Outcome::ServiceError => "server_error",
            Outcome::Cancelled => "cancelled",
        }
    }

    fn error_code(self) -> Option<String> {
        match self {
            Outcome::Status(s) if s >= 400 => Some(s.to_string()),
            Outcome::Status(_) | Outcome::Cancelled => None,
            Outcome::ServiceError => Some("service_error".into()),
        }
    }
}

/// The resolved, bounded labels of one request (see [`ServingMetrics::labels_for_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLabelValues {
    /// Protocol, from a fixed set (see [`Route`]).
    pub protocol: &'static str,
    /// Endpoint, from a fixed set (see [`Route`]).
    pub endpoint: &'static str,
    /// A registered model's name, [`UNKNOWN`], or empty when the path names no model.
    pub model: String,
    /// A registered version of that model, [`UNKNOWN`], or empty when the path names no model.
    pub version: String,
}

/// The Prometheus metrics of a model server, in one
/// [`prometheus_client`] registry:
///
/// | metric | type | labels |
/// |---|---|---|
/// | `mlrig_requests_total` | counter | `protocol`, `endpoint`, `model`, `version`, `outcome` |
/// | `mlrig_request_duration_seconds` | histogram ([`LATENCY_BUCKETS_SECONDS`]) | `protocol`, `endpoint`, `model`, `version` |
/// | `mlrig_request_errors_total` | counter | `protocol`, `endpoint`, `model`, `version`, `code` |
/// | `mlrig_requests_in_flight` | gauge | — |
/// | `mlrig_predictions_total` | counter (instances predicted) | `model`, `version`, `class` (the predicted class; empty for regression), `source` (`model`, or `table` for rows answered from a prediction table) |
/// | `mlrig_prediction_score` | histogram ([`SCORE_BUCKETS`]) of a classifier's predicted-class probability | `model`, `version` |
/// | `mlrig_prediction_value` | histogram ([`VALUE_BUCKETS`]) of a regression model's predicted values | `model`, `version` |
/// | `mlrig_input_anomalies_total` | counter (input values accepted although unusual) | `model`, `version`, `feature`, `kind` (`missing`, `unseen_category`, `out_of_range`) |
/// | `mlrig_model_age_seconds` | gauge, computed at scrape time | `model`, `version` |
/// | `mlrig_request_log_written_total`, `mlrig_request_log_dropped_total` | counters, read at scrape time (after [`ServingMetrics::register_request_log`]) | — |
/// | `mlrig_model_versions_available` | gauge, computed at scrape time: registered versions | `model` |
/// | `mlrig_model_load_failures_total` | counter ([`ServingMetrics::record_model_load_failure`]) | `model` |
/// | `mlrig_build_info` | info (`1`) | `version` (of mlrig) |
///
/// Label semantics, all with bounded cardinality:
/// * `protocol`, `endpoint`: from the request path, fixed sets (see [`Route`]).
///   A path no endpoint answers has endpoint `other` and empty `model` and
///   `version`, whatever model it names.
/// * `model`: the model named in the path if it was registered with
///   [`ServingMetrics::register_model`], else `unknown`; empty for paths that
///   name no model (health, `/metrics`). Raw path text never becomes a label,
///   so requests for made-up models cannot create new series.
/// * `version`: the version that answered when the response says so (a
///   [`ServedPredictions`] in its extensions, which also resolves version
///   labels such as `/labels/stable`); else the version in the path if
///   registered for that model; for a path without a version, the model's
///   latest registered version; else `unknown`.
/// * `outcome`: `success` (status < 400), `client_error` (4xx),
///   `server_error` (5xx or a failed service), `cancelled` (dropped before a response).
/// * `code`: the HTTP status (≥ 400) as text, or `service_error`.
/// * `feature`: an input field of the model's contract (bounded by its
///   training schema); `unknown` for a model that is not registered.
/// * `kind`: what the server's input contract let through — a required
///   field missing (imputed by the feature pipeline), a category outside
///   the training values, a number outside the training range
///   (`mlrig_core::InputContract`).
///
/// ```
/// use mlrig_monitor::ServingMetrics;
/// let metrics = ServingMetrics::new();
/// metrics.register_model("iris", 2, 1_700_000_000);
/// let text = metrics.render()?;
/// assert!(text.contains("mlrig_model_age_seconds{model=\"iris\",version=\"2\"}"));
/// assert!(text.contains("mlrig_build_info{version=\""));
/// assert!(text.ends_with("# EOF\n"));
/// # Ok::<(), mlrig_monitor::MonitorError>(())
/// ```
#[derive(Debug)]
pub struct ServingMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    errors: Family<ErrorLabels, Counter>,
    in_flight: Gauge,
    predictions: Family<PredictionLabels, Counter>,
    scores: Family<ModelLabels, Histogram, fn() -> Histogram>,
    values: Family<ModelLabels, Histogram, fn() -> Histogram>,
    input_anomalies: Family<AnomalyLabels, Counter>,
    models: ModelTable,
    request_log: RequestLogSlot,
    load_failures: Family<ModelNameLabels, Counter>,
    live: LiveSlot,
}

/// The live monitor's collector, once a `LiveMonitor` uses these metrics.
type LiveSlot = Arc<RwLock<Option<Arc<dyn Collector>>>>;

/// The request log's counters, once registered.
type RequestLogSlot = Arc<RwLock<Option<Arc<RequestLogCounters>>>>;

impl Default for ServingMetrics {
    fn default() -> Self {
        Self::new()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS_SECONDS)
}

fn score_histogram() -> Histogram {
    Histogram::new(SCORE_BUCKETS)
}

fn value_histogram() -> Histogram {
    Histogram::new(VALUE_BUCKETS)
}

impl ServingMetrics {
    /// Metrics with every family registered and no model known yet (labelled
    /// families appear in the output once they have a series).
    ///
    /// ```
    /// let text = mlrig_monitor::ServingMetrics::new().render()?;
    /// assert!(text.contains("mlrig_requests_in_flight 0"));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let errors = Family::<ErrorLabels, Counter>::default();
        let in_flight = Gauge::default();
        let predictions = Family::<PredictionLabels, Counter>::default();
        let scores: Family<ModelLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(score_histogram);
        let values: Family<ModelLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(value_histogram);
        let input_anomalies = Family::<AnomalyLabels, Counter>::default();
        let models = ModelTable::default();

        let mut registry = Registry::default();
        registry.register(
            "mlrig_requests",
            "HTTP requests handled, by protocol, endpoint, model, version and outcome",
            requests.clone(),
        );
        registry.register_with_unit(
            "mlrig_request_duration",
            "Time from receiving a request to sending the response headers",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "mlrig_request_errors",
            "HTTP requests answered with an error status (code >= 400), by status code",
            errors.clone(),
        );
        registry.register(
            "mlrig_requests_in_flight",
            "HTTP requests being handled right now",
            in_flight.clone(),
        );
        registry.register(
            "mlrig_predictions",
            "Instances predicted, by model, version and predicted class (empty for regression)",
            predictions.clone(),
        );
        registry.register(
            "mlrig_prediction_score",
            "Probability of the predicted class, per instance, of classification models",
            scores.clone(),
        );
        registry.register(
            "mlrig_prediction_value",
            "Predicted value, per instance, of regression models",
            values.clone(),
        );
        let load_failures = Family::<ModelNameLabels, Counter>::default();
        registry.register(
            "mlrig_model_load_failures",
            "Model versions that failed to load (half-written, corrupt, mislabelled, failed warm-up) and were skipped",
            load_failures.clone(),
        );
        registry.register(
            "mlrig_input_anomalies",
            "Input values accepted although unusual (a required field missing, an unseen category, an out-of-range number), by model, version, feature and kind",
            input_anomalies.clone(),
        );
        registry.register_collector(Box::new(ModelAgeCollector {
            models: models.clone(),
        }));
        let request_log = RequestLogSlot::default();
        registry.register_collector(Box::new(RequestLogCollector {
            counters: request_log.clone(),
        }));
        let live = LiveSlot::default();
        registry.register_collector(Box::new(LiveSlotCollector { live: live.clone() }));
        registry.register(
            "mlrig_build",
            "Build information of mlrig",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        Self {
            registry,
            requests,
            durations,
            errors,
            in_flight,
            predictions,
            scores,
            values,
            input_anomalies,
            models,
            request_log,
            load_failures,
            live,
        }
    }

    /// Exports a live monitor's metrics (a second call replaces the first).
    pub(crate) fn set_live_collector(&self, collector: Arc<dyn Collector>) {
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = Some(collector);
    }

    /// Reports a request log's counters as `mlrig_request_log_written_total`
    /// and `mlrig_request_log_dropped_total` (read when scraped; a second
    /// call replaces the first log).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let metrics = mlrig_monitor::ServingMetrics::new();
    /// let counters = Arc::new(mlrig_core::RequestLogCounters::default());
    /// metrics.register_request_log(counters.clone());
    /// counters.add_dropped(2);
    /// assert!(metrics.render()?.contains("mlrig_request_log_dropped_total 2"));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn register_request_log(&self, counters: Arc<RequestLogCounters>) {
        *self
            .request_log
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(counters);
    }

    /// Counts a version of `model` that failed to load
    /// (`mlrig_model_load_failures_total{model}`).
    ///
    /// ```
    /// let metrics = mlrig_monitor::ServingMetrics::new();
    /// metrics.record_model_load_failure("iris");
    /// assert!(metrics.render()?.contains("mlrig_model_load_failures_total{model=\"iris\"} 1"));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn record_model_load_failure(&self, model: &str) {
        self.load_failures
            .get_or_create(&ModelNameLabels {
                model: model.to_string(),
            })
            .inc();
    }

    fn read_models(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, BTreeMap<u64, u64>>> {
        // Writers only insert or remove single entries, so a poisoned table is consistent.
        self.models.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes a model version known: its name and version become label values
    /// and `mlrig_model_age_seconds` reports its age from `created_at_unix`
    /// (seconds since the Unix epoch). Registering again updates the time.
    ///
    /// ```
    /// let metrics = mlrig_monitor::ServingMetrics::new();
    /// metrics.register_model("iris", 1, 1_700_000_000);
    /// assert_eq!(metrics.labels_for_path("/v1/models/iris:predict").version, "1");
    /// ```
    pub fn register_model(&self, name: &str, version: u64, created_at_unix: u64) {
        self.models
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_string())
            .or_default()
            .insert(version, created_at_unix);
    }

    /// [`ServingMetrics::register_model`] from a servable's info.
    ///
    /// ```
    /// use mlrig_core::{ServableInfo, Task};
    /// let metrics = mlrig_monitor::ServingMetrics::new();
    /// metrics.register_servable(&ServableInfo::new("iris", 4, Task::Regression, "y"));
    /// assert_eq!(metrics.labels_for_path("/v1/models/iris").version, "4");
    /// ```
    pub fn register_servable(&self, info: &ServableInfo) {
        self.register_model(&info.name, info.version, info.created_at_unix);
    }

    /// Forgets a model version (it no longer reports an age; its requests are
    /// labelled `unknown`). Series already recorded stay until restart.
    ///
    /// ```
    /// let metrics = mlrig_monitor::ServingMetrics::new();
    /// metrics.register_model("iris", 1, 0);
    /// metrics.unregister_model("iris", 1);
    /// assert_eq!(metrics.labels_for_path("/v1/models/iris").model, "unknown");
    /// ```
    pub fn unregister_model(&self, name: &str, version: u64) {
        let mut models = self.models.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(versions) = models.get_mut(name) {
            versions.remove(&version);
            if versions.is_empty() {
                models.remove(name);
            }
        }
    }

    /// The bounded label values for a request path: see the label semantics
    /// on [`ServingMetrics`].
    ///
    /// ```
    /// let metrics = mlrig_monitor::ServingMetrics::new();
    /// metrics.register_model("iris", 1, 0);
    /// metrics.register_model("iris", 2, 0);
    /// let l = metrics.labels_for_path("/v1/models/iris/versions/1:predict");
    /// assert_eq!((l.protocol, l.endpoint, l.model.as_str(), l.version.as_str()),
    ///            ("tf_serving", "predict", "iris", "1"));
    /// assert_eq!(metrics.labels_for_path("/v1/models/iris:predict").version, "2");
    /// assert_eq!(metrics.labels_for_path("/v1/models/iris/versions/9:predict").version, "unknown");
    /// assert_eq!(metrics.labels_for_path("/v1/models/made-up:predict").model, "unknown");
    /// assert_eq!(metrics.labels_for_path("/metrics").model, "");
    /// let unknown = metrics.labels_for_path("/v2/models/iris/versions/1/nonsense");
    /// assert_eq!((unknown.endpoint, unknown.model.as_str(), unknown.version.as_str()), ("other", "", ""));
    /// ```
    pub fn labels_for_path(&self, path: &str) -> RequestLabelValues {
        let route = Route::from_path(path);
        let (model, version) = match &route.model {
            // A path that no endpoint answers names no model, whatever it says.
            _ if route.endpoint == "other" => (String::new(), String::new()),
            None => (String::new(), String::new()),
            Some(name) => self.resolve_model(name, route.version),
        };
        RequestLabelValues {
            protocol: route.protocol,
            endpoint: route.endpoint,
            model,
            version,
        }
    }

    fn resolve_model(&self, name: &str, version: Option<&str>) -> (String, String) {
        let models = self.read_models();
        let Some(versions) = models.get(name) else {
            return (UNKNOWN.into(), UNKNOWN.into());
        };
        let version = match version {
            None => versions.keys().next_back().copied(),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|v| versions.contains_key(v)),
        };
        (
            name.to_string(),
            version.map_or_else(|| UNKNOWN.to_string(), |v| v.to_string()),
        )
    }

    /// Records one finished request: counts it, observes its latency and
    /// counts an error for a status ≥ 400. [`crate::MetricsLayer`] calls this
    /// for every request; call it yourself only for requests that bypass it.
    ///
    /// ```
    /// use mlrig_monitor::{Outcome, ServingMetrics};
    /// use std::time::Duration;
    /// let metrics = ServingMetrics::new();
    /// let labels = metrics.labels_for_path("/v1/models/iris:predict");
    /// metrics.record_request(&labels, Outcome::Status(404), Duration::from_millis(3));
    /// let text = metrics.render()?;
    /// assert!(text.contains("mlrig_request_errors_total{protocol=\"tf_serving\",endpoint=\"predict\",model=\"unknown\",version=\"unknown\",code=\"404\"} 1"));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn record_request(&self, labels: &RequestLabelValues, outcome: Outcome, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                protocol: labels.protocol,
                endpoint: labels.endpoint,
                model: labels.model.clone(),
                version: labels.version.clone(),
                outcome: outcome.label(),
            })
            .inc();
        if outcome == Outcome::Cancelled {
            return;
        }
        self.durations
            .get_or_create(&RouteLabels {
                protocol: labels.protocol,
                endpoint: labels.endpoint,
                model: labels.model.clone(),
                version: labels.version.clone(),
            })
            .observe(elapsed.as_secs_f64());
        if let Some(code) = outcome.error_code() {
            self.errors
                .get_or_create(&ErrorLabels {
                    protocol: labels.protocol,
                    endpoint: labels.endpoint,
                    model: labels.model.clone(),
                    version: labels.version.clone(),
                    code,
                })
                .inc();
        }
    }

    /// Adds `instances` to `mlrig_predictions_total` of a registered model
    /// version (unregistered ones count under `unknown`), with an empty
    /// `class` (use [`ServingMetrics::record_served`] to count per class).
    ///
    /// ```
    /// let metrics = mlrig_monitor::ServingMetrics::new();
    /// metrics.register_model("iris", 1, 0);
    /// metrics.record_predictions("iris", 1, 3);
    /// assert!(metrics.render()?.contains("mlrig_predictions_total{model=\"iris\",version=\"1\",class=\"\",source=\"model\"} 3"));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn record_predictions(&self, model: &str, version: u64, instances: u64) {
        let (model, version) = self.resolve_model(model, Some(&version.to_string()));
        self.predictions
            .get_or_create(&PredictionLabels {
                model,
                version,
                class: String::new(),
                source: SOURCE_MODEL,
            })
            .inc_by(instances);
    }

    /// Records what a request was answered with: instances per predicted
    /// class in `mlrig_predictions_total`, each instance's score
    /// (classifiers) or value (regression) in its histogram, and the
    /// accepted input anomalies in `mlrig_input_anomalies_total`.
    /// [`crate::MetricsLayer`] calls this for every response that carries a
    /// [`ServedPredictions`] (mlrig-serve attaches one to every prediction).
    ///
    /// ```
    /// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
    /// let metrics = mlrig_monitor::ServingMetrics::new();
    /// metrics.register_model("adult", 2, 0);
    /// let p = Predictions::Classification {
    ///     classes: vec!["no".into(), "yes".into()],
    ///     probabilities: array![[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]],
    /// };
    /// metrics.record_served(&ServedPredictions::new("adult", 2, &p));
    /// let text = metrics.render()?;
    /// assert!(text.contains("mlrig_predictions_total{model=\"adult\",version=\"2\",class=\"yes\",source=\"model\"} 2"));
    /// assert!(text.contains("mlrig_prediction_score_count{model=\"adult\",version=\"2\"} 3"));
    ///
    /// use mlrig_core::{InputAnomalyCount, InputAnomalyKind};
    /// let anomalies = vec![InputAnomalyCount::new("race", InputAnomalyKind::UnseenCategory, 2)];
    /// metrics.record_served(&ServedPredictions::new("adult", 2, &p).with_input_anomalies(anomalies));
    /// assert!(metrics.render()?.contains(
    ///     "mlrig_input_anomalies_total{model=\"adult\",version=\"2\",feature=\"race\",kind=\"unseen_category\"} 2"));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn record_served(&self, served: &ServedPredictions) {
        let (model, version) = self.resolve_model(&served.model, Some(&served.version.to_string()));
        let known = model != UNKNOWN;
        for anomaly in &served.input_anomalies {
            self.input_anomalies
                .get_or_create(&AnomalyLabels {
                    model: model.clone(),
                    version: version.clone(),
                    // An unknown model's features are not bounded label values.
                    feature: if known {
                        anomaly.feature.clone()
                    } else {
                        UNKNOWN.into()
                    },
                    kind: anomaly.kind.label(),
                })
                .inc_by(anomaly.count);
        }
        let table_rows = served.table_rows.min(served.rows);
        let count = |class: String, source: &'static str, n: u64| {
            if n > 0 {
                self.predictions
                    .get_or_create(&PredictionLabels {
                        model: model.clone(),
                        version: version.clone(),
                        class,
                        source,
                    })
                    .inc_by(n);
            }
        };
        if served.class_counts.is_empty() {
            count(String::new(), SOURCE_MODEL, served.rows - table_rows);
            count(String::new(), SOURCE_TABLE, table_rows);
        }
        for (class, total) in &served.class_counts {
            let from_table = served
                .table_class_counts
                .iter()
                .find(|(c, _)| c == class)
                .map_or(0, |(_, n)| (*n).min(*total));
            // An unknown model's classes are not bounded label values.
            let class = if known { class.clone() } else { UNKNOWN.into() };
            count(class.clone(), SOURCE_MODEL, total - from_table);
            count(class, SOURCE_TABLE, from_table);
        }
        let family = if served.is_classification {
            &self.scores
        } else {
            &self.values
        };
        let histogram = family.get_or_create(&ModelLabels { model, version });
        for score in served.scores.iter().filter(|s| s.is_finite()) {
            histogram.observe(*score);
        }
    }

    /// The model and version labels of a response that says which version
    /// answered; `None` when the model is not registered.
    pub(crate) fn served_labels(&self, served: &ServedPredictions) -> Option<(String, String)> {
        let (model, version) = self.resolve_model(&served.model, Some(&served.version.to_string()));
        (model != UNKNOWN).then_some((model, version))
    }

    pub(crate) fn request_started(&self) {
        self.in_flight.inc();
    }

    pub(crate) fn request_ended(&self) {
        self.in_flight.dec();
    }

    /// Encodes every metric in the OpenMetrics text format (served by
    /// [`crate::metrics_router`] with [`crate::OPENMETRICS_CONTENT_TYPE`]).
    ///
    /// # Errors
    /// [`MonitorError::Encode`] if the encoder fails (it writes to a `String`,
    /// so only a metric's own encoding can fail).
    pub fn render(&self) -> Result<String, MonitorError> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|_| MonitorError::Encode)?;
        Ok(text)
    }

    /// Encodes every metric in the Prometheus text format 0.0.4 (served by
    /// [`crate::metrics_router`] to scrapers that do not ask for OpenMetrics).
    ///
    /// # Errors
    /// As [`ServingMetrics::render`].
    ///
    /// ```
    /// let text = mlrig_monitor::ServingMetrics::new().render_prometheus_text()?;
    /// assert!(text.contains("# TYPE mlrig_requests_in_flight gauge"));
    /// assert!(text.contains("# TYPE mlrig_build_info gauge"));
    /// assert!(!text.contains("# EOF"));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn render_prometheus_text(&self) -> Result<String, MonitorError> {
        self.render()
            .map(|text| crate::exposition::openmetrics_to_prometheus_text(&text))
    }
}

/// Computes `mlrig_model_age_seconds` when scraped.
#[derive(Debug)]
struct ModelAgeCollector {
    models: ModelTable,
}

impl Collector for ModelAgeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let models = self.models.read().unwrap_or_else(PoisonError::into_inner);
        let mut metric = encoder.encode_descriptor(
            "mlrig_model_age",
            "Time since the model version was trained (its bundle's created_at); negative if created_at is in the future.",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for (name, versions) in models.iter() {
            for (version, created_at) in versions {
                let labels = ModelLabels {
                    model: name.clone(),
                    version: version.to_string(),
                };
                let age = now - *created_at as f64;
                metric.encode_family(&labels)?.encode_gauge(&age)?;
            }
        }
        let mut available = encoder.encode_descriptor(
            "mlrig_model_versions_available",
            "Versions of the model being served",
            None,
            MetricType::Gauge,
        )?;
        for (name, versions) in models.iter() {
            let labels = ModelNameLabels {
                model: name.clone(),
            };
            let count = i64::try_from(versions.len()).unwrap_or(i64::MAX);
            available.encode_family(&labels)?.encode_gauge(&count)?;
        }
        Ok(())
    }
}

/// Encodes the live monitor's metrics when scraped (nothing without one).
#[derive(Debug)]
struct LiveSlotCollector {
    live: LiveSlot,
}

impl Collector for LiveSlotCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let live = self
            .live
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match live {
            Some(collector) => collector.encode(encoder),
            None => Ok(()),
        }
    }
}

/// Reports the request log's counters when scraped.
#[derive(Debug)]
struct RequestLogCollector {
    counters: RequestLogSlot,
}

impl Collector for RequestLogCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counters = self.counters.read().unwrap_or_else(PoisonError::into_inner);
        let Some(counters) = counters.as_ref() else {
            return Ok(());
        };
        for (name, help, value) in [
            (
                "mlrig_request_log_written",
                "Request log entries written to files",
                counters.written(),
            ),
            (
                "mlrig_request_log_dropped",
                "Request log entries dropped (queue full, writer stopped or write failed)",
                counters.dropped(),
            ),
        ] {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            metric
                .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_bounded_labels() {
        assert_eq!(Outcome::Status(200).label(), "success");
        assert_eq!(Outcome::Status(302).label(), "success");
        assert_eq!(Outcome::Status(404).label(), "client_error");
        assert_eq!(Outcome::Status(503).label(), "server_error");
        assert_eq!(Outcome::Cancelled.label(), "cancelled");
        assert_eq!(Outcome::Status(200).error_code(), None);
        assert_eq!(Outcome::Status(413).error_code().as_deref(), Some("413"));
    }

    #[test]
    fn input_anomalies_of_an_unregistered_model_have_bounded_labels() {
        use mlrig_core::{InputAnomalyCount, InputAnomalyKind, Predictions};
        let metrics = ServingMetrics::new();
        let p = Predictions::Regression {
            values: mlrig_core::ndarray::array![1.0],
        };
        let anomalies = vec![
            InputAnomalyCount::new("made-up-field", InputAnomalyKind::Missing, 2),
            InputAnomalyCount::new("x", InputAnomalyKind::OutOfRange, 1),
        ];
        metrics
            .record_served(&ServedPredictions::new("ghost", 1, &p).with_input_anomalies(anomalies));
        let text = metrics.render().unwrap();
        assert!(
            text.contains(r#"mlrig_input_anomalies_total{model="unknown",version="unknown",feature="unknown",kind="missing"} 2"#),
            "{text}"
        );
        assert!(!text.contains("made-up-field"), "{text}");
        assert!(
            text.contains(r#"feature="unknown",kind="out_of_range"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn model_age_is_computed_at_scrape_time() {
        let metrics = ServingMetrics::new();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        metrics.register_model("m", 1, now - 3600);
        let text = metrics.render().unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("mlrig_model_age_seconds{"))
            .unwrap();
        let age: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((3600.0..3600.0 + 86_400.0).contains(&age), "{line}");
        assert!(text.contains("# UNIT mlrig_model_age_seconds seconds"));
    }
}
