//! [`MonitorError`]: what can go wrong in `mlrig-monitor`.

/// Everything that can go wrong in `mlrig-monitor`.
///
/// ```
/// let e = mlrig_monitor::MonitorError::Encode;
/// assert_eq!(e.to_string(), "cannot encode the metrics in the OpenMetrics text format");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// Encoding the metrics registry failed.
    #[error("cannot encode the metrics in the OpenMetrics text format")]
    Encode,
    /// An error from `mlrig-core`.
    #[error(transparent)]
    Core(#[from] mlrig_core::Error),
}
