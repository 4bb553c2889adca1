//! [`MonitoringReport`]: the JSON of `GET /v1/models/{m}/monitoring`.

use std::collections::BTreeMap;

use mlrig_validate::Anomalies;
use serde::{Deserialize, Serialize};

use crate::FeatureComparison;
use crate::comparison::tfmd_anomalies;

/// The live monitoring state of one model version: its current window, the
/// last comparisons (skew vs training, drift vs the previous window,
/// prediction drift vs the evaluation's predictions) with their
/// tensorflow-metadata anomalies, NaN/±∞ counts and ages.
///
/// ```
/// use mlrig_monitor::MonitoringReport;
/// let json = serde_json::json!({
///     "model": "adult", "version": 3,
///     "window": {"start": null, "end": null, "rows": 0, "max_rows": 10000, "duration_seconds": 300.0},
///     "windows_compared": 0,
///     "skew": {"features": [], "anomalies": {}},
///     "drift": null, "prediction_drift": null,
///     "missing_features": [], "errors": [],
///     "nonfinite": {"input": {}, "output": {}},
///     "dropped_batches": 0, "sampled_out_rows": 0, "skipped_batches": 0,
///     "model_age_seconds": 60.0, "data_age_seconds": null
/// });
/// let report: MonitoringReport = serde_json::from_value(json.clone())?;
/// assert_eq!(report.version, 3);
/// assert_eq!(serde_json::to_value(&report)?, json);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MonitoringReport {
    /// The model.
    pub model: String,
    /// Its version.
    pub version: u64,
    /// The compared window.
    pub window: WindowSummary,
    /// Windows compared since the version was registered (one per pane close).
    pub windows_compared: u64,
    /// The window vs the training statistics.
    pub skew: ComparisonSection,
    /// The window vs the previous non-overlapping window; `null` until there is one.
    pub drift: Option<ComparisonSection>,
    /// The window's predictions vs the evaluation's; `null` when the bundle
    /// has no prediction statistics.
    pub prediction_drift: Option<ComparisonSection>,
    /// Training features the window has no value of.
    pub missing_features: Vec<String>,
    /// Features that could not be compared, and why.
    pub errors: Vec<String>,
    /// NaN/±∞ values seen since registration.
    pub nonfinite: NonFiniteCounts,
    /// Request batches dropped because the monitoring queue was full (all models).
    pub dropped_batches: u64,
    /// Rows left unmonitored because the monitoring row budget was spent (all
    /// models; absent in reports written before the budget existed).
    #[serde(default)]
    pub sampled_out_rows: u64,
    /// Request batches left out because their columns did not match the window's.
    pub skipped_batches: u64,
    /// Time since training (seconds).
    pub model_age_seconds: f64,
    /// Time since the newest training row (seconds), when the bundle knows it.
    pub data_age_seconds: Option<f64>,
}

impl MonitoringReport {
    /// The comparisons over their threshold: skew, then drift, then prediction drift.
    ///
    /// ```
    /// # let json = serde_json::json!({"model":"m","version":1,"window":{"start":null,"end":null,"rows":0,"max_rows":1,"duration_seconds":1.0},"windows_compared":0,"skew":{"features":[{"feature":"job","test":"linf","value":0.5,"p_value":null,"threshold":0.1,"over_threshold":true}],"anomalies":{}},"drift":null,"prediction_drift":null,"missing_features":[],"errors":[],"nonfinite":{"input":{},"output":{}},"dropped_batches":0,"skipped_batches":0,"model_age_seconds":0.0,"data_age_seconds":null});
    /// let report: mlrig_monitor::MonitoringReport = serde_json::from_value(json)?;
    /// assert_eq!(report.over_threshold().next().unwrap().feature, "job");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn over_threshold(&self) -> impl Iterator<Item = &FeatureComparison> {
        self.skew
            .features
            .iter()
            .chain(self.drift.iter().flat_map(|s| &s.features))
            .chain(self.prediction_drift.iter().flat_map(|s| &s.features))
            .filter(|c| c.over_threshold)
    }
}

/// The window a report describes.
///
/// ```
/// let w: mlrig_monitor::WindowSummary = serde_json::from_str(
///     r#"{"start":"2026-12-07T12:00:00.000Z","end":"2026-12-07T12:05:00.000Z","rows":1000,"max_rows":10000,"duration_seconds":300.0}"#)?;
/// assert_eq!(w.rows, 1000);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WindowSummary {
    /// Start of its first pane (RFC 3339), `null` before the first pane closed.
    pub start: Option<String>,
    /// End of its last pane (RFC 3339).
    pub end: Option<String>,
    /// Rows in it.
    pub rows: u64,
    /// The configured row bound of a window.
    pub max_rows: u64,
    /// The configured time span of a window (seconds).
    pub duration_seconds: f64,
}

/// One kind of comparison: per-feature tests and tfmd anomalies.
///
/// ```
/// let s: mlrig_monitor::ComparisonSection =
///     serde_json::from_str(r#"{"features":[],"anomalies":{}}"#)?;
/// assert!(s.anomalies.is_empty());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ComparisonSection {
    /// Every test of every compared feature.
    pub features: Vec<FeatureComparison>,
    /// The tensorflow-metadata anomalies (`COMPARATOR_L_INFTY_HIGH`, …), as tfmd JSON.
    #[serde(with = "tfmd_anomalies")]
    pub anomalies: Anomalies,
}

impl ComparisonSection {
    /// A section from its parts.
    ///
    /// ```
    /// let s = mlrig_monitor::ComparisonSection::new(Vec::new(), Default::default());
    /// assert!(s.features.is_empty());
    /// ```
    pub fn new(features: Vec<FeatureComparison>, anomalies: Anomalies) -> Self {
        Self {
            features,
            anomalies,
        }
    }
}

/// NaN/±∞ counts per feature: inputs (numeric columns) and outputs (`score`).
///
/// ```
/// let n: mlrig_monitor::NonFiniteCounts = serde_json::from_str(r#"{"input":{"age":2},"output":{}}"#)?;
/// assert_eq!(n.input["age"], 2);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NonFiniteCounts {
    /// Input feature → values.
    pub input: BTreeMap<String, u64>,
    /// Output (`score`) → values.
    pub output: BTreeMap<String, u64>,
}
