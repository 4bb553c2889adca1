//! One window's statistics against a reference (the training statistics,
//! the previous window, the evaluation's predictions): one
//! [`FeatureComparison`] per feature and test, with the threshold applied.
//!
//! Categorical (string) features: the L∞ distance of the value frequencies
//! (`linf`). Numeric features: the Jensen–Shannon divergence of the
//! standard histograms (`jsd`), and the PSI, KS and normalized Wasserstein
//! tests of [`mlrig_validate::drift_tests`]. A feature's threshold is the
//! schema's comparator for that side (`skewComparator` against training,
//! `driftComparator` against the previous window) when it has one, else
//! the defaults of [`ComparisonThresholds`].

use std::collections::BTreeMap;

use mlrig_validate::{
    DatasetStatistics, DriftTest, DriftTestParams, FeatureComparator, FeatureStatistics,
    HistogramType, Schema, ValueStatistics, drift_tests, jensen_shannon_divergence,
    l_infinity_distance,
};
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// One statistic of one feature against its reference.
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
    /// `linf`, `jsd`, `psi`, `ks` or `wasserstein`.
    pub test: String,
    /// The statistic (for `ks`, the distance `D`).
    pub value: f64,
    /// The p-value (`ks` only).
    pub p_value: Option<f64>,
    /// The threshold applied: to the p-value for `ks` (crossed when the
    /// p-value is below it), else to the value (crossed when above).
    pub threshold: f64,
    /// `true` when the threshold is crossed.
    pub over_threshold: bool,
}

impl FeatureComparison {
    /// How far the statistic is toward its threshold: `value / threshold`
    /// (1 = at the threshold) for distance tests, `threshold / p_value` for
    /// `ks`; what `features_changed` ranks by.
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
        ratio.min(f64::MAX)
    }
}

/// The thresholds used when the schema has no comparator for a feature
/// (the defaults of the live monitor).
///
/// ```
/// let t = mlrig_pipeline::ComparisonThresholds::default();
/// assert_eq!((t.linf, t.jsd, t.psi, t.wasserstein, t.ks_p_value), (0.1, 0.1, 0.1, 0.1, 0.05));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ComparisonThresholds {
    /// L∞ distance of categorical value frequencies.
    pub linf: f64,
    /// Jensen–Shannon divergence of numeric histograms.
    pub jsd: f64,
    /// Population stability index.
    pub psi: f64,
    /// Wasserstein distance over the reference's standard deviation.
    pub wasserstein: f64,
    /// KS: a p-value below this crosses.
    pub ks_p_value: f64,
}

impl Default for ComparisonThresholds {
    fn default() -> Self {
        Self {
            linf: 0.1,
            jsd: 0.1,
            psi: 0.1,
            wasserstein: 0.1,
            ks_p_value: 0.05,
        }
    }
}

/// Which comparator of the schema applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Against the training statistics (`skewComparator`).
    Skew,
    /// Against the previous window or the evaluation's predictions (`driftComparator`).
    Drift,
}

/// Every comparison of `current` with `reference` over the features both
/// have with values on both sides, in the reference's feature order.
pub(crate) fn compare(
    reference: &DatasetStatistics,
    current: &DatasetStatistics,
    schema: Option<&Schema>,
    side: Side,
    defaults: &ComparisonThresholds,
) -> Result<Vec<FeatureComparison>, PipelineError> {
    let mut params = DriftTestParams::default();
    params.ks_p_value = defaults.ks_p_value;
    params.psi_threshold = defaults.psi;
    params.wasserstein_threshold = defaults.wasserstein;
    let mut tests: BTreeMap<&str, Vec<FeatureComparison>> = BTreeMap::new();
    let numeric_tests = drift_tests(reference, current, &params)?;
    for t in &numeric_tests {
        let name = match t.test {
            DriftTest::KolmogorovSmirnov => "ks",
            DriftTest::PopulationStabilityIndex => "psi",
            DriftTest::NormalizedWasserstein => "wasserstein",
            _ => continue,
        };
        tests
            .entry(t.feature.as_str())
            .or_default()
            .push(FeatureComparison {
                feature: t.feature.clone(),
                test: name.to_string(),
                value: t.statistic,
                p_value: t.p_value,
                threshold: t.threshold,
                over_threshold: t.drift_detected,
            });
    }
    let mut out = Vec::new();
    for r in reference.features() {
        let Some(c) = current.feature(&r.name) else {
            continue;
        };
        if non_missing(r) == 0 || non_missing(c) == 0 {
            continue;
        }
        let comparator = schema
            .and_then(|s| s.feature(&r.name))
            .and_then(|f| match side {
                Side::Skew => f.skew_comparator.as_ref(),
                Side::Drift => f.drift_comparator.as_ref(),
            });
        match (&r.stats, &c.stats) {
            (ValueStatistics::String(_), ValueStatistics::String(_)) => {
                let threshold = comparator.and_then(linf_threshold).unwrap_or(defaults.linf);
                let (_, distance) = l_infinity_distance(&value_counts(r), &value_counts(c));
                out.push(distance_comparison(&r.name, "linf", distance, threshold));
            }
            (ValueStatistics::Numeric(a), ValueStatistics::Numeric(b)) => {
                let threshold = comparator.and_then(jsd_threshold).unwrap_or(defaults.jsd);
                if let (Some(ha), Some(hb)) = (
                    a.histogram(HistogramType::Standard),
                    b.histogram(HistogramType::Standard),
                ) && let Some(divergence) = jensen_shannon_divergence(ha, hb)
                {
                    out.push(distance_comparison(&r.name, "jsd", divergence, threshold));
                }
                out.extend(tests.remove(r.name.as_str()).unwrap_or_default());
            }
            _ => {}
        }
    }
    Ok(out)
}

fn distance_comparison(feature: &str, test: &str, value: f64, threshold: f64) -> FeatureComparison {
    FeatureComparison {
        feature: feature.to_string(),
        test: test.to_string(),
        value,
        p_value: None,
        threshold,
        over_threshold: value > threshold,
    }
}

fn linf_threshold(c: &FeatureComparator) -> Option<f64> {
    c.infinity_norm.as_ref().and_then(|n| n.threshold)
}

fn jsd_threshold(c: &FeatureComparator) -> Option<f64> {
    c.jensen_shannon_divergence
        .as_ref()
        .and_then(|j| j.threshold)
}

/// Rows with a value of the feature.
pub(crate) fn non_missing(feature: &FeatureStatistics) -> u64 {
    feature.common().map_or(0, |c| c.num_non_missing)
}

/// Rows without a value of the feature.
pub(crate) fn missing(feature: &FeatureStatistics) -> u64 {
    feature.common().map_or(0, |c| c.num_missing)
}

/// Value → count of a string feature (rank histogram, else top values).
fn value_counts(feature: &FeatureStatistics) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    if let ValueStatistics::String(s) = &feature.stats {
        match &s.rank_histogram {
            Some(rank) if !rank.buckets.is_empty() => {
                for b in &rank.buckets {
                    *counts.entry(b.label.clone()).or_insert(0.0) += b.sample_count;
                }
            }
            _ => {
                for v in &s.top_values {
                    *counts.entry(v.value.clone()).or_insert(0.0) += v.frequency;
                }
            }
        }
    }
    counts
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
    fn categorical_shift_crosses_the_linf_threshold() {
        let reference = stats(vec!["a", "a", "b", "b"]);
        let same = compare(
            &reference,
            &stats(vec!["a", "b"]),
            None,
            Side::Skew,
            &ComparisonThresholds::default(),
        )
        .unwrap();
        assert_eq!(same.len(), 1);
        assert_eq!((same[0].value, same[0].over_threshold), (0.0, false));
        let shifted = compare(
            &reference,
            &stats(vec!["a", "a", "a", "b"]),
            None,
            Side::Skew,
            &ComparisonThresholds::default(),
        )
        .unwrap();
        assert_eq!((shifted[0].test.as_str(), shifted[0].value), ("linf", 0.25));
        assert!(shifted[0].over_threshold);
    }
}
