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
    /// Computing or comparing statistics failed (`mlrig-validate`).
    #[error(transparent)]
    Validate(#[from] mlrig_validate::ValidateError),
    /// Prediction labels and scores of different lengths.
    #[error("{labels} predicted classes but {scores} scores: expected one of each per row")]
    PredictionShape {
        /// Number of labels.
        labels: usize,
        /// Number of scores.
        scores: usize,
    },
    /// The live monitor's background thread could not be started.
    #[error("cannot start the live monitoring thread")]
    Thread(#[source] std::io::Error),
}

impl MonitorError {
    /// `true` when the caller's input is at fault; a [`MonitorError::Core`]
    /// keeps [`mlrig_core::Error::is_invalid_input`]'s answer, encoding the
    /// metrics is a failure of the system.
    ///
    /// ```
    /// use mlrig_monitor::MonitorError;
    /// assert!(!MonitorError::Encode.is_invalid_input());
    /// let e = MonitorError::from(mlrig_core::Error::MissingField { instance: None, field: "age".into() });
    /// assert!(e.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        match self {
            MonitorError::Encode | MonitorError::Thread(_) => false,
            MonitorError::Core(e) => e.is_invalid_input(),
            MonitorError::Validate(e) => e.is_invalid_input(),
            MonitorError::PredictionShape { .. } => true,
        }
    }
}
