//! The offline monitor's report: the JSON document `mlrig monitor --format
//! json` prints (and the text output renders).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use mlrig_monitor::MonitoringThresholds;

use super::comparison::FeatureComparison;

/// What `mlrig monitor` found in a request log (and its delayed labels).
///
/// Totals add up: `rows.rows_read == rows.rows_used + rows.rows_skipped`,
/// `rows.rows_used == rows.labelled + rows.unlabelled`, and, with labels,
/// `labels.rows_read == labels.matched + labels.unused`.
///
/// ```
/// let report: mlrig_pipeline::MonitorReport = serde_json::from_str(r#"{
///   "model": "adult", "version": 1, "bundle": "models/adult/1", "window_seconds": 3600,
///   "thresholds": {"linf": 0.1, "jsd": 0.1, "psi": 0.1, "wasserstein": 0.1, "ks": 0.05, "chisquare": 0.05,
///                  "alerting_tests": ["linf", "jsd", "psi"]},
///   "prediction_baseline": false,
///   "rows": {"files": 1, "entries": 0, "unreadable_entries": 0, "rows_read": 0, "rows_used": 0,
///            "rows_skipped": 0, "skipped": {}, "labelled": 0, "unlabelled": 0, "unreadable": []},
///   "labels": null, "windows": [], "features_changed": [], "presence": [], "quality": null,
///   "slices_dropped": [], "alerts": []
/// }"#)?;
/// assert!(report.alerts.is_empty());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct MonitorReport {
    /// The model's name (log entries of other models are skipped).
    pub model: String,
    /// The version monitored (log entries of other versions are skipped).
    pub version: u64,
    /// The version directory whose statistics, schema and evaluation were used.
    pub bundle: PathBuf,
    /// Window length; windows are aligned to the Unix epoch.
    pub window_seconds: u64,
    /// The thresholds used where the schema has no comparator, and the
    /// tests that alert (mlrig-monitor's `MonitoringThresholds`).
    pub thresholds: MonitoringThresholds,
    /// `true` when the bundle has `prediction_statistics.json` (the
    /// evaluation's predictions), so windows report prediction drift
    /// against it; otherwise only window-to-window prediction drift.
    pub prediction_baseline: bool,
    /// Entries and rows read, used and skipped.
    pub rows: RowTotals,
    /// The labels file's totals (with `--labels`).
    pub labels: Option<LabelTotals>,
    /// One entry per window holding rows, oldest first.
    pub windows: Vec<WindowReport>,
    /// Which features changed most since training: every compared feature,
    /// the test furthest over (or closest to) its threshold on all the
    /// used rows together, most changed first.
    pub features_changed: Vec<FeatureChange>,
    /// Features never missing or always missing in the logged rows, unlike
    /// training.
    pub presence: Vec<PresenceChange>,
    /// Quality on all labelled rows, overall and per `--slice` value.
    pub quality: Option<QualityReport>,
    /// Slices whose quality on labelled rows is worse than in the bundle's
    /// evaluation by more than the allowed drop, worst first.
    pub slices_dropped: Vec<SliceDrop>,
    /// Every threshold crossed, one sentence each (exit status 1 when any).
    pub alerts: Vec<String>,
}

/// Row accounting of the request log.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct RowTotals {
    /// Log files read.
    pub files: u64,
    /// Requests read (one log entry each).
    pub entries: u64,
    /// Lines (or Parquet rows) that are not a request log entry; their
    /// rows are unknown and not in `rows_read`.
    pub unreadable_entries: u64,
    /// Instances of the requests read.
    pub rows_read: u64,
    /// Rows in the windows' statistics.
    pub rows_used: u64,
    /// Rows left out (`rows_read - rows_used`).
    pub rows_skipped: u64,
    /// Skipped rows by reason: `other_model`, `other_version`,
    /// `invalid_input` (a record the model's input schema rejects),
    /// `invalid_output` (outputs missing or not the model's),
    /// `invalid_timestamp` (before 1970 or after 9999).
    pub skipped: BTreeMap<String, u64>,
    /// Used rows with a label.
    pub labelled: u64,
    /// Used rows without a label (all of them without `--labels`).
    pub unlabelled: u64,
    /// The first unreadable entries (at most 10): `file:line: reason`.
    pub unreadable: Vec<String>,
}

/// The labels file's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct LabelTotals {
    /// The labels file.
    pub file: PathBuf,
    /// The join key (`request_id`, or an input field).
    pub join_key: String,
    /// Label rows read (including rows the reader could not parse).
    pub rows_read: u64,
    /// Label rows that matched at least one used logged row.
    pub matched: u64,
    /// Label rows not used (`rows_read - matched`).
    pub unused: u64,
    /// Unused label rows by reason: `no_logged_row`, `duplicate_key`,
    /// `missing_key`, `missing_label`, `invalid_row`, `unreadable`.
    pub unused_reasons: BTreeMap<String, u64>,
}

/// One time window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct WindowReport {
    /// Start (inclusive), RFC 3339 UTC.
    pub start: String,
    /// End (exclusive), RFC 3339 UTC.
    pub end: String,
    /// Rows in the window.
    pub rows: u64,
    /// Of which labelled.
    pub labelled: u64,
    /// Of which without a label.
    pub unlabelled: u64,
    /// Inputs against the training statistics (training/serving skew).
    pub skew: Vec<FeatureComparison>,
    /// Inputs against the previous window with rows (none for the first).
    pub drift: Option<Vec<FeatureComparison>>,
    /// `predicted_class` / `score` against the evaluation's predictions
    /// (when the bundle has them).
    pub prediction_drift: Option<Vec<FeatureComparison>>,
    /// `predicted_class` / `score` against the previous window.
    pub prediction_window_drift: Option<Vec<FeatureComparison>>,
    /// Quality of the window's labelled rows (with `--labels`, when any).
    pub quality: Option<QualityReport>,
    /// Thresholds crossed in this window.
    pub alerts: Vec<String>,
    /// Features that could not be compared in this window, and why.
    pub incomparable: Vec<String>,
}

/// The training issue's task metrics on labelled rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct QualityReport {
    /// Labelled rows.
    pub rows: u64,
    /// Metric values by name (those `mlrig evaluate` reports for the task).
    pub metrics: BTreeMap<String, f64>,
    /// Metrics undefined on these rows, with the reason.
    pub omitted: BTreeMap<String, String>,
    /// Per value of each `--slice` column.
    pub slices: Vec<SliceQuality>,
}

/// The metrics of one slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SliceQuality {
    /// The slice column (an input feature).
    pub column: String,
    /// Its value (`(missing)` for absent values).
    pub value: String,
    /// Labelled rows in the slice.
    pub rows: u64,
    /// Metric values by name.
    pub metrics: BTreeMap<String, f64>,
}

/// How much one feature changed since training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FeatureChange {
    /// The feature.
    pub feature: String,
    /// The test with the highest severity.
    pub test: String,
    /// Its statistic on all used rows against training.
    pub value: f64,
    /// Its threshold.
    pub threshold: f64,
    /// `value / threshold` (`threshold / p_value` for `ks`): above 1 is over.
    pub severity: f64,
    /// `true` when over the threshold.
    pub over_threshold: bool,
    /// Windows in which any skew test of the feature was over its threshold.
    pub windows_over: u64,
}

/// A feature whose presence in serving differs from training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct PresenceChange {
    /// The feature.
    pub feature: String,
    /// `never_missing` (missing in training, never in the logged rows) or
    /// `always_missing` (present in training, never in the logged rows).
    pub change: String,
    /// Fraction of training rows without a value.
    pub training_missing_fraction: f64,
    /// Fraction of logged rows without a value.
    pub serving_missing_fraction: f64,
}

/// A slice whose live quality is worse than in the evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct SliceDrop {
    /// `column=value`, as in the evaluation.
    pub slice: String,
    /// The metric (the task's headline metric).
    pub metric: String,
    /// In the bundle's evaluation.
    pub evaluation: f64,
    /// On the labelled logged rows.
    pub live: f64,
    /// How much worse (positive = worse, whichever direction is better).
    pub drop: f64,
    /// The drop allowed (the evaluation thresholds' `max_drop`, else the option given).
    pub max_drop: f64,
    /// Labelled rows in the slice.
    pub rows: u64,
}
