//! [`MonitoringSource`]: where a server finds a model version's live
//! monitoring report.

/// Something that can describe what a served model version has seen
/// lately: its live skew, drift and anomalies.
///
/// `mlrig-serve` answers `GET /v1/models/{m}/monitoring` from the source it
/// was given, and `mlrig-monitor`'s live monitor is one; the trait lives in
/// core so that neither crate depends on the other (as with
/// [`ServedPredictions`](crate::ServedPredictions)).
///
/// ```
/// use mlrig_core::MonitoringSource;
/// struct Fixed;
/// impl MonitoringSource for Fixed {
///     fn monitoring_report(&self, model: &str, version: u64) -> Option<serde_json::Value> {
///         (model == "adult").then(|| serde_json::json!({ "model": model, "version": version }))
///     }
/// }
/// assert_eq!(Fixed.monitoring_report("adult", 3).unwrap()["version"], 3);
/// assert!(Fixed.monitoring_report("iris", 1).is_none());
/// ```
pub trait MonitoringSource: Send + Sync {
    /// The monitoring report of `model` at `version` as JSON, or `None`
    /// when that version is not monitored.
    fn monitoring_report(&self, model: &str, version: u64) -> Option<serde_json::Value>;
}
