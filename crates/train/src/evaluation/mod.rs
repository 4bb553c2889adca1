//! Evaluation of a model on held-out rows and the blessing decision —
//! whether the model is good enough to be pushed to serving.
//!
//! ```text
//! Predictions + Truth ──task_metrics──▶ TaskMetrics ──Evaluation::new(…, BlessingThresholds)
//!                     ──slice_metrics(SliceColumn…)──▶ SliceMetrics ──.with_slices
//! baseline Evaluation ──.against_baseline──▶ BaselineComparison (max_drop)
//! pipeline checks ──.with_check(GateCheck)──▶ blessed() / reasons()
//! ```
//!
//! * [`task_metrics`]: the task's metric set ([`metric_names`]) from
//!   predictions, with undefined metrics omitted rather than failing.
//! * [`slice_metrics`]: the same per value of slice columns.
//! * [`BlessingThresholds`]: `min`/`max` bounds, `max_drop` against a
//!   baseline, per-slice thresholds.
//! * [`evaluation_curves`]: ROC, precision–recall, calibration and
//!   confusion-matrix points for reports.
//! * [`Evaluation`]: the `evaluation.json` artifact and the decision.
//!
//! A complete gate:
//!
//! ```
//! use mlrig_train::{BlessingThresholds, Evaluation, GateCheck, Predictions, SliceColumn};
//! use mlrig_train::{SliceThresholds, Truth, ndarray::array, slice_metrics, task_metrics};
//!
//! let truth = Truth::from_labels(["no", "yes", "no", "yes", "no", "yes"]);
//! let sex = SliceColumn::new("sex", ["F", "F", "F", "M", "M", "M"].map(Some));
//! let evaluate = |p: [f64; 6], thresholds: BlessingThresholds| {
//!     let predictions = Predictions::Classification {
//!         classes: vec!["no".into(), "yes".into()],
//!         probabilities: array![[1.0 - p[0], p[0]], [1.0 - p[1], p[1]], [1.0 - p[2], p[2]],
//!                               [1.0 - p[3], p[3]], [1.0 - p[4], p[4]], [1.0 - p[5], p[5]]],
//!     };
//!     let task = mlrig_train::Task::Classification { classes: vec!["no".into(), "yes".into()] };
//!     Evaluation::new(task, task_metrics(&predictions, &truth)?, 60, 6, thresholds)?
//!         .with_slices(slice_metrics(&predictions, &truth, &[sex.clone()])?)
//! };
//! let baseline = evaluate([0.1, 0.9, 0.2, 0.8, 0.3, 0.7], BlessingThresholds::default())?;
//! let thresholds = BlessingThresholds::default()
//!     .with_min("accuracy", 0.8)
//!     .with_slice("sex=F", SliceThresholds::default().with_max_drop("roc_auc", 0.05));
//! let candidate = evaluate([0.1, 0.9, 0.95, 0.8, 0.3, 0.7], thresholds)?
//!     .against_baseline(&baseline, "version 3")
//!     .with_check(GateCheck::pass("serveability"));
//! assert!(!candidate.blessed());
//! // Accuracy 5/6 passes; the default allows roc_auc to drop by 0.01 overall.
//! assert_eq!(candidate.reasons(), [
//!     "roc_auc dropped by 0.3333 (1.0000 → 0.6667), more than the allowed 0.01 against baseline version 3",
//!     "slice sex=F: roc_auc dropped by 0.5000 (1.0000 → 0.5000), more than the allowed 0.05 against baseline version 3",
//! ]);
//! # Ok::<(), mlrig_train::TrainError>(())
//! ```

mod artifact;
mod baseline;
mod curves;
mod slices;
mod task_metrics;
mod thresholds;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

pub use artifact::{Evaluation, GateCheck, MIN_SLICE_ROWS_FOR_DROP};
pub use baseline::{BaselineComparison, MetricDelta};
pub use curves::{
    CalibrationPoint, ConfusionMatrix, CurvePoint, EvaluationCurves, MAX_CURVE_POINTS,
    evaluation_curves,
};
pub use slices::{
    DEFAULT_MAX_SLICE_VALUES, MISSING_SLICE_VALUE, OTHER_SLICE_VALUE, SliceColumn, SliceMetrics,
    slice_metrics,
};
pub use task_metrics::{
    CALIBRATION_BINS, CLASSIFIER_METRICS, DEFAULT_MAX_DROP, REGRESSOR_METRICS, TaskMetrics, Truth,
    UNKNOWN_CLASS_ROWS, evaluate_classifier, evaluate_regressor, headline_metric, higher_is_better,
    metric_names, task_metrics,
};
pub use thresholds::{BlessingThresholds, SliceThresholds};
