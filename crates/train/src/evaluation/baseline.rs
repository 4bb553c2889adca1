//! Baseline comparison: how a candidate's metrics moved against those of the
//! model it would replace, overall and per slice.

use std::collections::BTreeMap;

use mlrig_core::Task;
use serde::{Deserialize, Serialize};

use super::slices::SliceMetrics;
use super::task_metrics::higher_is_better;

/// One metric of the candidate next to the baseline's, overall or in a slice.
///
/// ```
/// use mlrig_train::{BlessingThresholds, Evaluation, Task};
/// use std::collections::BTreeMap;
/// let evaluation = |log_loss: f64| {
///     let metrics = BTreeMap::from([("log_loss".to_string(), log_loss)]);
///     Evaluation::new(Task::Regression, metrics, 10, 5, BlessingThresholds::default())
/// };
/// let compared = evaluation(0.5)?.against_baseline(&evaluation(0.25)?, "version 1");
/// let delta = &compared.baseline().unwrap().deltas[0];
/// assert_eq!((delta.slice.as_deref(), delta.metric.as_str()), (None, "log_loss"));
/// assert_eq!((delta.candidate, delta.baseline, delta.change), (0.5, 0.25, 0.25));
/// assert_eq!(delta.worse_by, Some(0.25)); // a loss that rose
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricDelta {
    /// The slice key `"column=value"`; `None` for the overall metric.
    pub slice: Option<String>,
    /// The metric name.
    pub metric: String,
    /// The candidate's value.
    pub candidate: f64,
    /// The baseline's value.
    pub baseline: f64,
    /// `candidate − baseline`.
    pub change: f64,
    /// How much worse the candidate is in the metric's direction
    /// (`−change` for scores, `change` for losses; negative when it is
    /// better); `None` for a metric of unknown direction.
    pub worse_by: Option<f64>,
}

/// The comparison of an evaluation with a baseline's: one [`MetricDelta`]
/// per metric both have, overall first, then per slice both have (sorted).
/// Built by [`Evaluation::against_baseline`](crate::Evaluation::against_baseline).
///
/// ```
/// use mlrig_train::{BlessingThresholds, Evaluation, Task};
/// use std::collections::BTreeMap;
/// let metrics = BTreeMap::from([("r2".to_string(), 0.8)]);
/// let e = Evaluation::new(Task::Regression, metrics, 10, 5, BlessingThresholds::default())?;
/// let compared = e.clone().against_baseline(&e, "version 7");
/// let comparison = compared.baseline().unwrap();
/// assert_eq!(comparison.label, "version 7");
/// assert_eq!(comparison.delta(None, "r2").unwrap().change, 0.0);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BaselineComparison {
    /// What the baseline is, for people, e.g. `version 3`.
    pub label: String,
    /// The baseline's task.
    pub task: Task,
    /// The metrics both evaluations have.
    pub deltas: Vec<MetricDelta>,
}

impl BaselineComparison {
    /// The delta of `metric` overall (`slice` `None`) or in the slice with
    /// key `slice`.
    ///
    /// See [`BaselineComparison`] for an example.
    pub fn delta(&self, slice: Option<&str>, metric: &str) -> Option<&MetricDelta> {
        self.deltas
            .iter()
            .find(|d| d.slice.as_deref() == slice && d.metric == metric)
    }

    pub(super) fn new(
        label: String,
        task: Task,
        candidate: (&BTreeMap<String, f64>, &[SliceMetrics]),
        baseline: (&BTreeMap<String, f64>, &[SliceMetrics]),
    ) -> Self {
        let mut deltas = Vec::new();
        push_deltas(&mut deltas, None, candidate.0, baseline.0);
        let baseline_slices: BTreeMap<String, &SliceMetrics> =
            baseline.1.iter().map(|s| (s.key(), s)).collect();
        for slice in candidate.1 {
            let key = slice.key();
            if let Some(base) = baseline_slices.get(&key) {
                push_deltas(&mut deltas, Some(&key), &slice.metrics, &base.metrics);
            }
        }
        Self {
            label,
            task,
            deltas,
        }
    }
}

fn push_deltas(
    deltas: &mut Vec<MetricDelta>,
    slice: Option<&str>,
    candidate: &BTreeMap<String, f64>,
    baseline: &BTreeMap<String, f64>,
) {
    for (metric, &c) in candidate {
        let Some(&b) = baseline.get(metric) else {
            continue;
        };
        let change = c - b;
        // Finite metrics far apart can overflow; such a pair is not comparable (JSON has no infinity).
        if !change.is_finite() {
            continue;
        }
        deltas.push(MetricDelta {
            slice: slice.map(String::from),
            metric: metric.clone(),
            candidate: c,
            baseline: b,
            change,
            worse_by: higher_is_better(metric).map(|higher| if higher { -change } else { change }),
        });
    }
}
