//! [`Evaluation`]: the evaluation artifact and the blessing decision.

use std::collections::BTreeMap;

use mlrig_core::{Artifact, Task};
use serde::{Deserialize, Serialize};

use super::baseline::BaselineComparison;
use super::curves::EvaluationCurves;
use super::slices::SliceMetrics;
use super::task_metrics::{DEFAULT_MAX_DROP, TaskMetrics, headline_metric, metric_names};
use super::thresholds::{BlessingThresholds, bound_failures, why};
use crate::error::{Result, TrainError};
use crate::gbdt::FeatureImportance;

/// A named check a model must pass before it is blessed, besides its
/// metrics (e.g. label leakage, numerical stability, serveability); the
/// pipeline adds them with [`Evaluation::with_check`].
///
/// ```
/// use mlrig_train::GateCheck;
/// let ok = GateCheck::pass("serveability");
/// assert!(ok.passed && ok.details.is_empty());
/// let leak = GateCheck::fail("label_leakage", ["feature `refund_id` predicts the label alone (AUC 0.999)"]);
/// assert!(!leak.passed);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateCheck {
    /// The check's name, e.g. `label_leakage`.
    pub name: String,
    /// Whether the model passed.
    pub passed: bool,
    /// What the check found, one sentence each (why it failed, or notes).
    pub details: Vec<String>,
}

impl GateCheck {
    /// A passed check without details.
    ///
    /// See [`GateCheck`] for an example.
    pub fn pass(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            passed: true,
            details: Vec::new(),
        }
    }

    /// A failed check and why.
    ///
    /// See [`GateCheck`] for an example.
    pub fn fail<S: Into<String>>(
        name: impl Into<String>,
        details: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            passed: false,
            details: details.into_iter().map(Into::into).collect(),
        }
    }
}

/// Metrics of a model on evaluation rows, overall and per slice, its
/// comparison with a baseline, pre-blessing checks and the blessing
/// decision; the content of a bundle's `evaluation.json` (artifact kind
/// `mlrig.train.evaluation`, format version 3).
///
/// Built with [`Evaluation::new`], then [`with_slices`](Self::with_slices),
/// [`against_baseline`](Self::against_baseline) (after `with_slices`, so the
/// slices are compared) and [`with_check`](Self::with_check). Each step
/// re-decides the blessing from everything recorded so far: the model is
/// blessed iff
///
/// 1. every overall `min`/`max` threshold holds,
/// 2. every slice named in `thresholds.slices` was evaluated and holds its
///    `min`/`max`,
/// 3. with a baseline: the baseline has the same kind of task, and no metric
///    in `max_drop` (default: [`DEFAULT_MAX_DROP`] on the
///    [`headline_metric`]) or in a slice's `max_drop` got worse by more than
///    allowed (a metric missing on either side fails); the overall
///    `max_drop` also applies to each slice of at least
///    [`MIN_SLICE_ROWS_FOR_DROP`] rows that has no bounds of its own,
/// 4. every [`GateCheck`] passed.
///
/// [`reasons`](Self::reasons) lists every failure, one sentence each.
///
/// ```
/// use mlrig_core::Task;
/// use mlrig_train::{BlessingThresholds, Evaluation, evaluate_classifier};
///
/// let metrics = evaluate_classifier(&[false, true, true, false], &[0.2, 0.9, 0.6, 0.4])?;
/// let thresholds = BlessingThresholds::default().with_min("roc_auc", 0.9);
/// let task = Task::Classification { classes: vec!["<=50K".into(), ">50K".into()] };
/// let evaluation = Evaluation::new(task, metrics, 16, 4, thresholds)?;
/// assert!(evaluation.blessed());
/// assert_eq!(evaluation.metrics()["accuracy"], 1.0);
/// assert!(evaluation.reasons().is_empty());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    task: Task,
    metrics: BTreeMap<String, f64>,
    omitted: BTreeMap<String, String>,
    train_rows: u64,
    eval_rows: u64,
    thresholds: BlessingThresholds,
    slices: Vec<SliceMetrics>,
    baseline: Option<BaselineComparison>,
    checks: Vec<GateCheck>,
    blessed: bool,
    reasons: Vec<String>,
    /// Split and gain importances (tree models; empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    importances: Vec<FeatureImportance>,
    /// ROC, precision–recall, calibration and confusion-matrix points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    curves: Option<EvaluationCurves>,
}

impl Evaluation {
    /// Records the overall metrics (a map, or the [`TaskMetrics`] of
    /// [`task_metrics`](crate::task_metrics), whose omitted metrics then
    /// explain failed bounds) and decides the blessing. Fails when a metric
    /// or threshold is not finite (it could not be written as JSON) or a
    /// `max_drop` is negative.
    ///
    /// ```
    /// use mlrig_core::Task;
    /// use mlrig_train::{BlessingThresholds, Evaluation};
    /// use std::collections::BTreeMap;
    /// let metrics = BTreeMap::from([("r2".to_string(), 0.5)]);
    /// let t = BlessingThresholds::default().with_min("r2", 0.58);
    /// let e = Evaluation::new(Task::Regression, metrics, 80, 20, t)?;
    /// assert!(!e.blessed());
    /// assert_eq!(e.reasons(), ["r2 = 0.5 is below the minimum 0.58"]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn new(
        task: Task,
        metrics: impl Into<TaskMetrics>,
        train_rows: u64,
        eval_rows: u64,
        thresholds: BlessingThresholds,
    ) -> Result<Self> {
        thresholds.check()?;
        let TaskMetrics { values, omitted } = metrics.into();
        check_finite("metrics", &values)?;
        let mut evaluation = Self {
            task,
            metrics: values,
            omitted,
            train_rows,
            eval_rows,
            thresholds,
            slices: Vec::new(),
            baseline: None,
            checks: Vec::new(),
            blessed: false,
            reasons: Vec::new(),
            importances: Vec::new(),
            curves: None,
        };
        evaluation.decide();
        Ok(evaluation)
    }

    /// Records the slices' metrics (replacing earlier ones; stored sorted by
    /// column, then value) and applies the slice thresholds.
    ///
    /// Fails on a non-finite metric, two slices with the same column and
    /// value, or when a baseline was already recorded (call this first so
    /// that the comparison covers the slices).
    ///
    /// ```
    /// use mlrig_train::{BlessingThresholds, Evaluation, Predictions, SliceColumn, SliceThresholds};
    /// use mlrig_train::{Truth, ndarray::array, slice_metrics, task_metrics};
    /// let predictions = Predictions::Regression { values: array![1.0, 2.0, 3.0, 5.0] };
    /// let truth = Truth::Values(vec![1.0, 2.0, 3.0, 4.0]);
    /// let region = SliceColumn::new("region", ["north", "north", "south", "south"].map(Some));
    /// let thresholds = BlessingThresholds::default()
    ///     .with_slice("region=south", SliceThresholds::default().with_max("mae", 0.25));
    /// let e = Evaluation::new(Task::Regression, task_metrics(&predictions, &truth)?, 40, 4, thresholds)?
    ///     .with_slices(slice_metrics(&predictions, &truth, &[region])?)?;
    /// assert_eq!(e.slices().len(), 2);
    /// assert_eq!(e.reasons(), ["slice region=south: mae = 0.5 is above the maximum 0.25"]);
    /// # use mlrig_train::Task;
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_slices(mut self, mut slices: Vec<SliceMetrics>) -> Result<Self> {
        if self.baseline.is_some() {
            return Err(TrainError::invalid_parameter(
                "slices",
                "record the slices before comparing with a baseline, so that the comparison covers them",
            ));
        }
        slices.sort_by(|a, b| (&a.column, &a.value).cmp(&(&b.column, &b.value)));
        let same =
            |a: &SliceMetrics, b: &SliceMetrics| (&a.column, &a.value) == (&b.column, &b.value);
        if let Some(twice) = slices.windows(2).find_map(|pair| match pair {
            [a, b] if same(a, b) => Some(a.key()),
            _ => None,
        }) {
            return Err(TrainError::invalid_parameter(
                "slices",
                format!("slice {twice} is given twice"),
            ));
        }
        for slice in &slices {
            check_finite(&format!("slices.{}", slice.key()), &slice.metrics)?;
        }
        self.slices = slices;
        self.decide();
        Ok(self)
    }

    /// Compares the metrics, overall and of every slice both have, with the
    /// `baseline`'s (replacing an earlier comparison) and applies
    /// `max_drop`; `label` names the baseline in reasons (e.g. `version 3`).
    ///
    /// ```
    /// use mlrig_train::{BlessingThresholds, Evaluation, Task};
    /// use std::collections::BTreeMap;
    /// let evaluation = |r2: f64| {
    ///     let metrics = BTreeMap::from([("r2".to_string(), r2)]);
    ///     Evaluation::new(Task::Regression, metrics, 100, 25, BlessingThresholds::default())
    /// };
    /// let baseline = evaluation(0.8)?;
    /// // Default: r2 may drop by at most 0.01.
    /// assert!(evaluation(0.795)?.against_baseline(&baseline, "version 3").blessed());
    /// let worse = evaluation(0.75)?.against_baseline(&baseline, "version 3");
    /// assert_eq!(worse.reasons(), [
    ///     "r2 dropped by 0.0500 (0.8000 → 0.7500), more than the allowed 0.01 against baseline version 3",
    /// ]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn against_baseline(mut self, baseline: &Evaluation, label: impl Into<String>) -> Self {
        self.baseline = Some(BaselineComparison::new(
            label.into(),
            baseline.task.clone(),
            (&self.metrics, &self.slices),
            (&baseline.metrics, &baseline.slices),
        ));
        self.decide();
        self
    }

    /// Records a pre-blessing check (replacing an earlier one of the same
    /// name); a failed check withholds the blessing.
    ///
    /// ```
    /// use mlrig_train::{BlessingThresholds, Evaluation, GateCheck, Task};
    /// use std::collections::BTreeMap;
    /// let e = Evaluation::new(Task::Regression, BTreeMap::new(), 10, 5, BlessingThresholds::default())?
    ///     .with_check(GateCheck::pass("serveability"))
    ///     .with_check(GateCheck::fail("label_leakage", ["feature `y_copy` equals the label"]));
    /// assert_eq!(e.checks().len(), 2);
    /// assert_eq!(e.reasons(), ["check label_leakage failed: feature `y_copy` equals the label"]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_check(mut self, check: GateCheck) -> Self {
        match self.checks.iter_mut().find(|c| c.name == check.name) {
            Some(existing) => *existing = check,
            None => self.checks.push(check),
        }
        self.decide();
        self
    }

    /// The prediction task.
    ///
    /// See [`Evaluation`] for an example.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// Metric values by name.
    ///
    /// See [`Evaluation`] for an example.
    pub fn metrics(&self) -> &BTreeMap<String, f64> {
        &self.metrics
    }

    /// Metrics of the task left out because they are undefined on the
    /// evaluation rows: name → reason (see [`TaskMetrics::omitted`]).
    ///
    /// ```
    /// use mlrig_train::{BlessingThresholds, Evaluation, Predictions, Task, Truth, ndarray::array, task_metrics};
    /// let m = task_metrics(&Predictions::Regression { values: array![1.0] }, &Truth::Values(vec![1.5]))?;
    /// let e = Evaluation::new(Task::Regression, m, 9, 1, BlessingThresholds::default().with_min("r2", 0.5))?;
    /// assert!(e.omitted().contains_key("r2"));
    /// assert!(e.reasons()[0].starts_with("r2 was not computed (r2: y_true: need at least 2"), "{:?}", e.reasons());
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn omitted(&self) -> &BTreeMap<String, String> {
        &self.omitted
    }

    /// Number of training rows.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn train_rows(&self) -> u64 {
        self.train_rows
    }

    /// Number of evaluation rows the metrics were computed on.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn eval_rows(&self) -> u64 {
        self.eval_rows
    }

    /// The thresholds the decision was made against.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn thresholds(&self) -> &BlessingThresholds {
        &self.thresholds
    }

    /// Records the model's feature importances (split counts and gains of
    /// a tree model), most gain first; they do not affect the blessing.
    ///
    /// ```
    /// use mlrig_core::Task;
    /// use mlrig_train::{BlessingThresholds, Evaluation, FeatureImportance};
    /// use std::collections::BTreeMap;
    /// let metrics = BTreeMap::from([("r2".to_string(), 0.5)]);
    /// let e = Evaluation::new(Task::Regression, metrics, 80, 20, BlessingThresholds::default())?
    ///     .with_importances(vec![
    ///         FeatureImportance::new("a", 3, 1.5),
    ///         FeatureImportance::new("b", 1, 9.0),
    ///     ]);
    /// assert_eq!(e.importances()[0].feature, "b");
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_importances(mut self, mut importances: Vec<FeatureImportance>) -> Self {
        importances.sort_by(|a, b| b.gain.total_cmp(&a.gain).then(a.feature.cmp(&b.feature)));
        self.importances = importances;
        self
    }

    /// Feature importances, most gain first (see [`Self::with_importances`]).
    pub fn importances(&self) -> &[FeatureImportance] {
        &self.importances
    }

    /// Records the points of the evaluation's charts (replacing earlier
    /// ones); they do not take part in the blessing.
    ///
    /// ```
    /// use mlrig_train::{BlessingThresholds, Evaluation, Predictions, Truth, evaluation_curves};
    /// use mlrig_train::{ndarray::array, task_metrics};
    /// let predictions = Predictions::Regression { values: array![1.0, 2.0, 3.0] };
    /// let truth = Truth::Values(vec![1.0, 2.5, 3.0]);
    /// let e = Evaluation::new(mlrig_train::Task::Regression, task_metrics(&predictions, &truth)?,
    ///                         30, 3, BlessingThresholds::default())?
    ///     .with_curves(evaluation_curves(&predictions, &truth)?);
    /// assert_eq!(e.curves().map(|c| c.calibration.len()), Some(3));
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_curves(mut self, curves: EvaluationCurves) -> Self {
        self.curves = Some(curves);
        self
    }

    /// The charts' points, when recorded (see [`Self::with_curves`]).
    pub fn curves(&self) -> Option<&EvaluationCurves> {
        self.curves.as_ref()
    }

    /// The slices' metrics, sorted by column, then value.
    ///
    /// See [`Evaluation::with_slices`] for an example.
    pub fn slices(&self) -> &[SliceMetrics] {
        &self.slices
    }

    /// The comparison with the baseline, if one was made.
    ///
    /// See [`Evaluation::against_baseline`] for an example.
    pub fn baseline(&self) -> Option<&BaselineComparison> {
        self.baseline.as_ref()
    }

    /// The pre-blessing checks, in the order they were first recorded.
    ///
    /// See [`Evaluation::with_check`] for an example.
    pub fn checks(&self) -> &[GateCheck] {
        &self.checks
    }

    /// `true` when nothing withholds the blessing ([`reasons`](Self::reasons) is empty).
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn blessed(&self) -> bool {
        self.blessed
    }

    /// Every reason the model is not blessed, one sentence each, naming the
    /// slice (if any), the metric, the values and the bound; empty when
    /// blessed.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }

    /// Recomputes the decision from everything recorded, so the builders
    /// may be called in any order.
    fn decide(&mut self) {
        let mut reasons = Vec::new();
        let t = &self.thresholds;
        bound_failures(
            &mut reasons,
            "",
            &t.min,
            &t.max,
            &self.metrics,
            &self.omitted,
        );
        let slices: BTreeMap<String, &SliceMetrics> =
            self.slices.iter().map(|s| (s.key(), s)).collect();
        for (key, bounds) in &t.slices {
            match slices.get(key) {
                Some(slice) => bound_failures(
                    &mut reasons,
                    &format!("slice {key}: "),
                    &bounds.min,
                    &bounds.max,
                    &slice.metrics,
                    &slice.omitted,
                ),
                None => reasons.push(format!(
                    "slice {key} has thresholds but was not evaluated (no such column and value among the {} slices)",
                    self.slices.len()
                )),
            }
        }
        if let Some(comparison) = &self.baseline {
            self.baseline_failures(&mut reasons, comparison, &slices);
        }
        for check in self.checks.iter().filter(|c| !c.passed) {
            if check.details.is_empty() {
                reasons.push(format!("check {} failed", check.name));
            }
            for detail in &check.details {
                reasons.push(format!("check {} failed: {detail}", check.name));
            }
        }
        self.blessed = reasons.is_empty();
        self.reasons = reasons;
    }

    fn baseline_failures(
        &self,
        reasons: &mut Vec<String>,
        comparison: &BaselineComparison,
        slices: &BTreeMap<String, &SliceMetrics>,
    ) {
        let label = &comparison.label;
        if metric_names(&comparison.task) != metric_names(&self.task) {
            reasons.push(format!(
                "baseline {label} cannot be compared: its task ({}) computes other metrics than the candidate's ({})",
                task_kind(&comparison.task),
                task_kind(&self.task)
            ));
            return;
        }
        let t = &self.thresholds;
        let default_drop: BTreeMap<String, f64> = headline_metric(&self.task)
            .map(|m| BTreeMap::from([(m.to_string(), DEFAULT_MAX_DROP)]))
            .unwrap_or_default();
        let overall = if t.max_drop.is_empty() {
            &default_drop
        } else {
            &t.max_drop
        };
        let scopes = std::iter::once((None, overall, &self.metrics, &self.omitted)).chain(
            t.slices.iter().filter_map(|(key, bounds)| {
                // A slice that was not evaluated is already a reason.
                let slice = slices.get(key)?;
                Some((
                    Some(key.as_str()),
                    &bounds.max_drop,
                    &slice.metrics,
                    &slice.omitted,
                ))
            }),
        );
        for (slice, max_drop, metrics, omitted) in scopes {
            let prefix = slice
                .map(|key| format!("slice {key}: "))
                .unwrap_or_default();
            for (metric, &allowed) in max_drop {
                let Some(delta) = comparison.delta(slice, metric) else {
                    reasons.push(if metrics.contains_key(metric) {
                        format!(
                            "{prefix}{metric} cannot be compared: baseline {label} has no value for it, and its drop may be at most {allowed}"
                        )
                    } else {
                        format!(
                            "{prefix}{metric} was not computed{} but may drop by at most {allowed} against baseline {label}",
                            why(omitted.get(metric))
                        )
                    });
                    continue;
                };
                match delta.worse_by {
                    None => reasons.push(format!(
                        "{prefix}{metric} has no known direction, so its allowed drop {allowed} against baseline {label} cannot be checked"
                    )),
                    Some(worse_by) if worse_by > allowed => {
                        let verb = if delta.change < 0.0 { "dropped" } else { "rose" };
                        reasons.push(format!(
                            "{prefix}{metric} {verb} by {worse_by:.4} ({:.4} → {:.4}), more than the allowed {allowed} against baseline {label}",
                            delta.baseline, delta.candidate
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        // The overall `max_drop` also watches every evaluated slice without
        // bounds of its own and with enough rows to be more than noise; a
        // metric undefined in a slice (one class present) is skipped there.
        let implicit = self
            .slices
            .iter()
            .filter(|s| s.rows >= MIN_SLICE_ROWS_FOR_DROP && !t.slices.contains_key(&s.key()));
        for slice in implicit {
            let key = slice.key();
            for (metric, &allowed) in overall {
                let Some(delta) = comparison.delta(Some(&key), metric) else {
                    continue;
                };
                if let Some(worse_by) = delta.worse_by.filter(|w| *w > allowed) {
                    let verb = if delta.change < 0.0 {
                        "dropped"
                    } else {
                        "rose"
                    };
                    reasons.push(format!(
                        "slice {key} ({} rows): {metric} {verb} by {worse_by:.4} ({:.4} → {:.4}), more than the allowed {allowed} against baseline {label}",
                        slice.rows, delta.baseline, delta.candidate
                    ));
                }
            }
        }
    }
}

/// The fewest rows a slice needs for the overall `max_drop` to apply to it
/// (explicit slice thresholds apply whatever the size).
pub const MIN_SLICE_ROWS_FOR_DROP: u64 = 100;

fn task_kind(task: &Task) -> String {
    match task {
        Task::Classification { classes } => format!("classification of {} classes", classes.len()),
        Task::Regression => "regression".into(),
        _ => "an unknown task".into(),
    }
}

fn check_finite(what: &str, metrics: &BTreeMap<String, f64>) -> Result<()> {
    match metrics.iter().find(|(_, v)| !v.is_finite()) {
        Some((name, value)) => Err(TrainError::invalid_parameter(
            &format!("{what}.{name}"),
            format!("must be finite, got {value}"),
        )),
        None => Ok(()),
    }
}

impl Artifact for Evaluation {
    const KIND: &'static str = "mlrig.train.evaluation";
    // Version 3: slices, the baseline comparison, gate checks and omitted
    // metrics are recorded, and classifiers get the full metric set; version
    // 2 files (libm values) are not read.
    const FORMAT_VERSION: u32 = 3;
}
