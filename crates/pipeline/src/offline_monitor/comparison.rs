//! The report's view of mlrig-monitor's [`compare_windows`] results: one
//! [`FeatureComparison`] per feature and test, as the live monitor computes
//! it (the same function, thresholds and alerting tests), plus the
//! `severity` the report ranks features by.

use mlrig_monitor::{
    MonitorError, MonitoringBaseline, MonitoringThresholds, WindowComparison, compare_windows,
};
use mlrig_validate::{DatasetStatistics, FeatureStatistics, Schema};
use serde::{Deserialize, Serialize};

/// One statistic of one feature against its reference (mlrig-monitor's
/// `FeatureComparison`, with the test as its name).
///
/// ```
/// use mlrig_pipeline::FeatureComparison;
/// let c: FeatureComparison = serde_json::from_str(
///     r#"{"feature":"workclass","test":"linf","value":0.4,"p_value":null,"threshold":0.1,"over_threshold":true}"#,
/// )?;
/// assert!(c.over_threshold);
/// assert_eq!(c.severity(), 4.0);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FeatureComparison {
    /// The feature (or `predicted_class` / `score` for predictions).
    pub feature: String,
    /// `linf`, `jsd`, `psi`, `ks`, `wasserstein` or `chisquare`.
    pub test: String,
    /// The statistic (for `ks`, the distance `D`; for `chisquare`, χ²).
    pub value: f64,
    /// The p-value (`ks`, `chisquare`).
    pub p_value: Option<f64>,
    /// The threshold applied: to the p-value for `ks` and `chisquare`
    /// (crossed when the p-value is below it), else to the value (crossed
    /// when above).
    pub threshold: f64,
    /// `true` when the threshold is crossed by one of the alerting tests
    /// (`MonitoringThresholds::alerting_tests`: `linf`, `jsd`, `psi` by
    /// default); the other tests are reported, never alerting.
    pub over_threshold: bool,
}

impl FeatureComparison {
    /// How far the statistic is toward its threshold: `value / threshold`
    /// (1 = at the threshold) for distance tests, `threshold / p_value` for
    /// p-value tests; what `features_changed` ranks by. Always finite.
    ///
    /// See [`FeatureComparison`] for an example.
    pub fn severity(&self) -> f64 {
        // Finite even for a p-value of 0 or a threshold of 0, so the report
        // stays valid JSON (serde_json writes non-finite numbers as null).
        let ratio = match self.p_value {
            Some(p) => self.threshold / p.max(f64::MIN_POSITIVE),
            None if self.threshold > 0.0 => self.value / self.threshold,
            None if self.value > 0.0 => f64::MAX,
            None => 0.0,
        };
        if ratio.is_nan() {
            0.0
        } else {
            ratio.min(f64::MAX)
        }
    }
}

impl From<&mlrig_monitor::FeatureComparison> for FeatureComparison {
    fn from(c: &mlrig_monitor::FeatureComparison) -> Self {
        FeatureComparison {
            feature: c.feature.clone(),
            test: c.test.name().to_string(),
            value: c.value,
            p_value: c.p_value,
            threshold: c.threshold,
            over_threshold: c.over_threshold,
        }
    }
}

/// The report's rows of some live comparisons.
pub(crate) fn converted(
    comparisons: &[mlrig_monitor::FeatureComparison],
) -> Vec<FeatureComparison> {
    comparisons.iter().map(FeatureComparison::from).collect()
}

/// A window compared with the baseline (skew, prediction drift) and the
/// previous window (drift).
pub(crate) fn compare_window(
    baseline: &MonitoringBaseline,
    previous: Option<&DatasetStatistics>,
    current: &DatasetStatistics,
    predictions: &DatasetStatistics,
    thresholds: &MonitoringThresholds,
) -> WindowComparison {
    compare_windows(baseline, previous, current, Some(predictions), thresholds)
}

/// A window's prediction statistics against the previous window's (the
/// previous window as the reference of a skew comparison: the thresholds'
/// defaults apply).
pub(crate) fn compare_predictions(
    previous: &DatasetStatistics,
    current: &DatasetStatistics,
    thresholds: &MonitoringThresholds,
) -> Vec<FeatureComparison> {
    let reference = MonitoringBaseline::new(previous.clone(), Schema::default());
    converted(&compare_windows(&reference, None, current, None, thresholds).skew)
}

/// Rows with a value of the feature.
pub(crate) fn non_missing(feature: &FeatureStatistics) -> u64 {
    feature.common().map_or(0, |c| c.num_non_missing)
}

/// Rows without a value of the feature.
pub(crate) fn missing(feature: &FeatureStatistics) -> u64 {
    feature.common().map_or(0, |c| c.num_missing)
}

/// An error of mlrig-monitor's prediction dataset (its shape comes from
/// the logged outputs).
pub(crate) fn monitor_error(e: MonitorError) -> crate::PipelineError {
    crate::PipelineError::InvalidOption {
        option: "logged outputs".into(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
    use mlrig_validate::{StatisticsParams, compute_statistics};
    use std::sync::Arc;

    fn stats(values: Vec<&str>) -> DatasetStatistics {
        let batch =
            RecordBatch::try_from_iter([("job", Arc::new(StringArray::from(values)) as ArrayRef)])
                .unwrap();
        compute_statistics(
            std::slice::from_ref(&batch),
            &batch.schema(),
            &StatisticsParams::default(),
        )
        .unwrap()
    }

    #[test]
    fn categorical_shift_crosses_the_linf_threshold_and_ranks_by_severity() {
        let thresholds = MonitoringThresholds::default();
        let reference = stats(vec!["a", "a", "b", "b"]);
        let same = compare_predictions(&reference, &stats(vec!["a", "b"]), &thresholds);
        let linf = same.iter().find(|c| c.test == "linf").unwrap();
        assert_eq!((linf.value, linf.over_threshold), (0.0, false));
        let shifted =
            compare_predictions(&reference, &stats(vec!["a", "a", "a", "b"]), &thresholds);
        let linf = shifted.iter().find(|c| c.test == "linf").unwrap();
        assert_eq!(linf.value, 0.25);
        assert!(linf.over_threshold);
        assert_eq!(linf.severity(), 2.5);
    }
}
