//! The metric set of a task, computed from a model's [`Predictions`] and the
//! true values ([`Truth`]).

use std::collections::{BTreeMap, BTreeSet};

use mlrig_core::ndarray::{Array2, Axis};
use mlrig_core::{Predictions, Task};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::metrics::{self, Average};
use crate::target::{ClassTarget, RegressionTarget};

/// Number of equal-width bins of `expected_calibration_error`.
///
/// ```
/// assert_eq!(mlrig_train::CALIBRATION_BINS, 10);
/// ```
pub const CALIBRATION_BINS: usize = 10;

/// The metric reporting how many rows have a true class the model does not
/// know (present only when there are some; see [`task_metrics`]).
///
/// ```
/// use mlrig_train::{Predictions, Truth, UNKNOWN_CLASS_ROWS, ndarray::array, task_metrics};
/// let p = Predictions::Classification { classes: vec!["a".into(), "b".into()], probabilities: array![[0.5, 0.5]] };
/// assert_eq!(task_metrics(&p, &Truth::from_labels(["z"]))?.values[UNKNOWN_CLASS_ROWS], 1.0);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub const UNKNOWN_CLASS_ROWS: &str = "unknown_class_rows";

// The metrics of format version 2 come first in each list (alphabetical), so
// that messages listing the metrics still start as they did.
const BINARY_METRICS: [&str; 10] = [
    "accuracy",
    "log_loss",
    "roc_auc",
    "average_precision",
    "balanced_accuracy",
    "brier",
    "expected_calibration_error",
    "f1",
    "precision",
    "recall",
];

const MULTICLASS_METRICS: [&str; 10] = [
    "accuracy",
    "log_loss",
    "balanced_accuracy",
    "brier",
    "f1_macro",
    "f1_weighted",
    "precision_macro",
    "recall_macro",
    "roc_auc_ovr",
    "roc_auc_ovr_weighted",
];

const REGRESSION_METRICS: [&str; 4] = ["mae", "r2", "rmse", "mape"];

/// The metrics [`evaluate_classifier`] computes: [`metric_names`] of a
/// two-class task (kept for callers written before `metric_names`).
///
/// ```
/// use mlrig_train::{CLASSIFIER_METRICS, Task, metric_names};
/// let binary = Task::Classification { classes: vec!["no".into(), "yes".into()] };
/// assert_eq!(CLASSIFIER_METRICS, metric_names(&binary));
/// ```
pub const CLASSIFIER_METRICS: [&str; 10] = BINARY_METRICS;

/// The metrics [`evaluate_regressor`] computes: [`metric_names`] of
/// regression (kept for callers written before `metric_names`).
///
/// ```
/// use mlrig_train::{REGRESSOR_METRICS, Task, metric_names};
/// assert_eq!(REGRESSOR_METRICS, metric_names(&Task::Regression));
/// ```
pub const REGRESSOR_METRICS: [&str; 4] = REGRESSION_METRICS;

/// Name, direction (`true`: higher is better) and description of every
/// metric a task computes; the one table behind [`higher_is_better`] and the
/// thresholds JSON Schema.
pub(super) const METRICS: [(&str, bool, &str); 20] = [
    (
        "accuracy",
        true,
        "Fraction of rows whose predicted class is the true class (classification).",
    ),
    (
        "balanced_accuracy",
        true,
        "Mean recall over the true classes (classification).",
    ),
    (
        "precision",
        true,
        "Precision of the positive class (binary classification).",
    ),
    (
        "recall",
        true,
        "Recall of the positive class (binary classification).",
    ),
    (
        "f1",
        true,
        "F1 score of the positive class (binary classification).",
    ),
    (
        "roc_auc",
        true,
        "Area under the ROC curve (binary classification).",
    ),
    (
        "average_precision",
        true,
        "Area under the precision-recall curve, step-wise (binary classification).",
    ),
    (
        "log_loss",
        false,
        "Mean negative log-likelihood of the true class (classification).",
    ),
    (
        "brier",
        false,
        "Mean squared error of the class probabilities (classification).",
    ),
    (
        "expected_calibration_error",
        false,
        "Mean gap between predicted probability and observed frequency over 10 equal-width bins (binary classification).",
    ),
    (
        "precision_macro",
        true,
        "Precision averaged over the classes (multiclass classification).",
    ),
    (
        "recall_macro",
        true,
        "Recall averaged over the classes (multiclass classification).",
    ),
    (
        "f1_macro",
        true,
        "F1 score averaged over the classes (multiclass classification).",
    ),
    (
        "f1_weighted",
        true,
        "F1 score averaged over the classes, weighted by their number of rows (multiclass classification).",
    ),
    (
        "roc_auc_ovr",
        true,
        "One-vs-rest ROC AUC averaged over the classes (multiclass classification).",
    ),
    (
        "roc_auc_ovr_weighted",
        true,
        "One-vs-rest ROC AUC weighted by the classes' number of rows (multiclass classification).",
    ),
    ("r2", true, "Coefficient of determination R² (regression)."),
    ("rmse", false, "Root mean squared error (regression)."),
    ("mae", false, "Mean absolute error (regression)."),
    (
        "mape",
        false,
        "Mean absolute percentage error, as a fraction (regression).",
    ),
];

/// The largest drop of the headline metric allowed against a baseline when
/// [`BlessingThresholds::max_drop`](crate::BlessingThresholds::max_drop) is
/// empty (it then applies to the overall metric only, not to slices).
///
/// ```
/// use mlrig_train::DEFAULT_MAX_DROP;
/// assert_eq!(DEFAULT_MAX_DROP, 0.01);
/// ```
pub const DEFAULT_MAX_DROP: f64 = 0.01;

/// The true values of evaluation rows: class labels or real values.
///
/// ```
/// use mlrig_train::{ClassTarget, RegressionTarget, Truth};
/// let truth = Truth::from(ClassTarget::from_labels("y", ["b", "a", "b"]));
/// assert_eq!(truth, Truth::Classes { classes: vec!["a".into(), "b".into()], labels: vec![1, 0, 1] });
/// assert_eq!(truth, Truth::from_labels(["b", "a", "b"]));
/// let truth = Truth::from(RegressionTarget::new("price", vec![1.5, 2.0])?);
/// assert_eq!(truth.len(), 2);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Truth {
    /// Class names and, per row, the index of its class in `classes`. The
    /// names are matched to the model's classes by name, so the order and
    /// set of classes may differ from the model's.
    Classes {
        /// Class names.
        classes: Vec<String>,
        /// One index into `classes` per row.
        labels: Vec<usize>,
    },
    /// One real value per row.
    Values(Vec<f64>),
}

impl Truth {
    /// Class truth from one label per row (classes sorted byte-wise, as
    /// [`ClassTarget::from_labels`]).
    ///
    /// ```
    /// use mlrig_train::Truth;
    /// let Truth::Classes { classes, labels } = Truth::from_labels(["dog", "cat"]) else { unreachable!() };
    /// assert_eq!((classes, labels), (vec!["cat".to_string(), "dog".to_string()], vec![1, 0]));
    /// ```
    pub fn from_labels<S: Into<String>>(labels: impl IntoIterator<Item = S>) -> Self {
        Self::from(ClassTarget::from_labels("truth", labels))
    }

    /// Number of rows.
    ///
    /// ```
    /// assert_eq!(mlrig_train::Truth::Values(vec![1.0, 2.0]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Truth::Classes { labels, .. } => labels.len(),
            Truth::Values(values) => values.len(),
        }
    }

    /// `true` when there are no rows.
    ///
    /// ```
    /// assert!(mlrig_train::Truth::Values(vec![]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<ClassTarget> for Truth {
    fn from(target: ClassTarget) -> Self {
        Self::from(&target)
    }
}

impl From<&ClassTarget> for Truth {
    fn from(target: &ClassTarget) -> Self {
        Truth::Classes {
            classes: target.classes().to_vec(),
            labels: target.labels().to_vec(),
        }
    }
}

impl From<RegressionTarget> for Truth {
    fn from(target: RegressionTarget) -> Self {
        Self::from(&target)
    }
}

impl From<&RegressionTarget> for Truth {
    fn from(target: &RegressionTarget) -> Self {
        Truth::Values(target.values().to_vec())
    }
}

/// Metric values by name, and the metrics of the task that are undefined on
/// these rows with the reason (e.g. ROC AUC when one class is present).
///
/// ```
/// use mlrig_train::{Predictions, Truth, ndarray::array, task_metrics};
/// let predictions = Predictions::Regression { values: array![2.5] };
/// let m = task_metrics(&predictions, &Truth::Values(vec![3.0]))?;
/// assert_eq!(m.values["mae"], 0.5);
/// assert!(m.omitted["r2"].contains("need at least 2"), "{}", m.omitted["r2"]);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskMetrics {
    /// Metric values by name.
    pub values: BTreeMap<String, f64>,
    /// Metrics of the task left out because they are undefined on the rows: name → reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub omitted: BTreeMap<String, String>,
}

impl From<BTreeMap<String, f64>> for TaskMetrics {
    fn from(values: BTreeMap<String, f64>) -> Self {
        Self {
            values,
            omitted: BTreeMap::new(),
        }
    }
}

/// The metrics [`task_metrics`] computes for `task` (those of format
/// version 2 first, then alphabetical):
///
/// * binary classification (exactly 2 classes): `accuracy`, `log_loss`,
///   `roc_auc`, `average_precision`, `balanced_accuracy`, `brier`,
///   `expected_calibration_error`, `f1`, `precision`, `recall`;
/// * multiclass classification: `accuracy`, `log_loss`,
///   `balanced_accuracy`, `brier`, `f1_macro`, `f1_weighted`,
///   `precision_macro`, `recall_macro`, `roc_auc_ovr` (macro average),
///   `roc_auc_ovr_weighted`;
/// * regression: `mae`, `r2`, `rmse`, `mape`.
///
/// A task this version does not know has none. [`UNKNOWN_CLASS_ROWS`] is
/// not listed: it is a count, reported only when there are such rows.
///
/// ```
/// use mlrig_train::{Task, metric_names};
/// assert_eq!(metric_names(&Task::Regression), ["mae", "r2", "rmse", "mape"]);
/// let binary = Task::Classification { classes: vec!["no".into(), "yes".into()] };
/// assert_eq!(metric_names(&binary)[..3], ["accuracy", "log_loss", "roc_auc"]);
/// ```
pub fn metric_names(task: &Task) -> &'static [&'static str] {
    match task {
        Task::Classification { classes } if classes.len() == 2 => &BINARY_METRICS,
        Task::Classification { .. } => &MULTICLASS_METRICS,
        Task::Regression => &REGRESSION_METRICS,
        _ => &[],
    }
}

/// The metric a baseline comparison watches by default ([`DEFAULT_MAX_DROP`]):
/// `roc_auc` for binary classification, `accuracy` for multiclass, `r2` for
/// regression.
///
/// ```
/// use mlrig_train::{Task, headline_metric};
/// assert_eq!(headline_metric(&Task::Regression), Some("r2"));
/// ```
pub fn headline_metric(task: &Task) -> Option<&'static str> {
    match task {
        Task::Classification { classes } if classes.len() == 2 => Some("roc_auc"),
        Task::Classification { .. } => Some("accuracy"),
        Task::Regression => Some("r2"),
        _ => None,
    }
}

/// Whether a larger value of the metric is better: `Some(true)` for scores
/// (accuracy, AUC, R², …), `Some(false)` for losses and errors (log loss,
/// Brier, RMSE, [`UNKNOWN_CLASS_ROWS`], …), `None` for a name this crate does
/// not compute.
///
/// ```
/// use mlrig_train::higher_is_better;
/// assert_eq!(higher_is_better("roc_auc"), Some(true));
/// assert_eq!(higher_is_better("log_loss"), Some(false));
/// assert_eq!(higher_is_better("auc"), None);
/// ```
pub fn higher_is_better(metric: &str) -> Option<bool> {
    if metric == UNKNOWN_CLASS_ROWS {
        return Some(false);
    }
    METRICS
        .iter()
        .find(|(name, ..)| *name == metric)
        .map(|&(_, higher, _)| higher)
}

/// The metrics of `predictions` against `truth` for the model's task (see
/// [`metric_names`]).
///
/// Classification: the true classes are matched to the model's
/// `Predictions::Classification { classes, .. }` **by name**. The positive
/// class of a binary model is its second class, predicted when its
/// probability is above 0.5; a multiclass model predicts its most probable
/// class (ties: the first). A row whose true class the model does not know
/// counts as wrong for the label metrics (accuracy, balanced accuracy,
/// precision, recall, F1: each unknown class is a class of its own that is
/// never predicted, as scikit-learn treats string labels) and is left out of
/// the probability metrics (AUC, average precision, log loss, Brier,
/// calibration); their number is reported as [`UNKNOWN_CLASS_ROWS`] when
/// there is one.
///
/// A metric that is undefined on the rows (AUC with one class present, R²
/// of one row, probability metrics when no row has a known class) is left
/// out and listed in [`TaskMetrics::omitted`] with the reason, so that small
/// slices still get the metrics that exist.
///
/// Errors: no rows, a different number of predictions and true values,
/// class truth for a regression model or the reverse, a label outside
/// `classes`, fewer than two model classes, probabilities that are not
/// finite or outside `[0, 1]` (or rows that do not sum to 1, for the
/// multiclass probability metrics), non-finite regression values.
///
/// ```
/// use mlrig_train::{Predictions, Truth, ndarray::array, task_metrics};
/// let predictions = Predictions::Classification {
///     classes: vec!["no".into(), "yes".into()],
///     probabilities: array![[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]],
/// };
/// // "maybe" is unknown to the model: a wrong prediction, left out of AUC.
/// let truth = Truth::from_labels(["no", "yes", "maybe", "yes"]);
/// let m = task_metrics(&predictions, &truth)?;
/// assert_eq!(m.values["accuracy"], 0.75);
/// assert_eq!(m.values["roc_auc"], 1.0);
/// assert_eq!(m.values["unknown_class_rows"], 1.0);
///
/// // One class present: AUC is undefined and omitted, accuracy is not.
/// let m = task_metrics(&predictions, &Truth::from_labels(["no", "no", "no", "no"]))?;
/// assert_eq!(m.values["accuracy"], 0.5);
/// assert!(!m.values.contains_key("roc_auc") && m.omitted.contains_key("roc_auc"));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn task_metrics(predictions: &Predictions, truth: &Truth) -> Result<TaskMetrics> {
    Prepared::new(predictions, truth)?.metrics()
}

/// Binary classification metrics of positive-class probabilities: the
/// metrics [`task_metrics`] computes for a two-class model
/// ([`CLASSIFIER_METRICS`]; positive iff probability > 0.5). Undefined
/// metrics (AUC and average precision with one class) are left out.
///
/// ```
/// use mlrig_train::evaluate_classifier;
/// let m = evaluate_classifier(&[true, false, true], &[0.8, 0.5, 0.4])?;
/// assert!((m["accuracy"] - 2.0 / 3.0).abs() < 1e-15); // 0.5 counts as negative
/// assert_eq!(m["roc_auc"], 0.5);
/// assert!(!evaluate_classifier(&[true, true], &[0.8, 0.4])?.contains_key("roc_auc"));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn evaluate_classifier(
    y_true: &[bool],
    probabilities: &[f64],
) -> Result<BTreeMap<String, f64>> {
    metrics::check_pair(
        "evaluate_classifier",
        y_true.len(),
        "probabilities",
        probabilities.len(),
    )?;
    metrics::check_finite("evaluate_classifier", "probabilities", probabilities)?;
    metrics::check_unit_interval("evaluate_classifier", "probabilities", probabilities)?;
    let prepared = Prepared::Binary {
        truth: y_true.iter().map(|&y| usize::from(y)).collect(),
        positive: probabilities.to_vec(),
    };
    Ok(prepared.metrics()?.values)
}

/// Regression metrics of predicted values: those [`task_metrics`] computes
/// for a regression model ([`REGRESSOR_METRICS`]); R² of a single row is
/// left out.
///
/// ```
/// use mlrig_train::evaluate_regressor;
/// let m = evaluate_regressor(&[1.0, 2.0, 3.0], &[1.5, 2.0, 2.5])?;
/// assert_eq!(m["r2"], 0.75);
/// assert_eq!(m["mae"], 1.0 / 3.0);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn evaluate_regressor(y_true: &[f64], y_pred: &[f64]) -> Result<BTreeMap<String, f64>> {
    metrics::check_pair("evaluate_regressor", y_true.len(), "y_pred", y_pred.len())?;
    let prepared = Prepared::Regression {
        truth: y_true.to_vec(),
        predicted: y_pred.to_vec(),
    };
    Ok(prepared.metrics()?.values)
}

/// Checked predictions and truth in the form the metrics take. Class
/// indices below the model's class count are the model's classes; each
/// unknown true class gets an index of its own above them.
pub(super) enum Prepared {
    Binary {
        truth: Vec<usize>,
        positive: Vec<f64>,
    },
    Multiclass {
        truth: Vec<usize>,
        probabilities: Array2<f64>,
        /// Model classes plus unknown true classes.
        label_classes: usize,
    },
    Regression {
        truth: Vec<f64>,
        predicted: Vec<f64>,
    },
}

impl Prepared {
    pub(super) fn new(predictions: &Predictions, truth: &Truth) -> Result<Self> {
        metrics::check_pair("evaluation", truth.len(), "predictions", predictions.len())?;
        match (predictions, truth) {
            (Predictions::Regression { values }, Truth::Values(truth)) => {
                Ok(Prepared::Regression {
                    truth: truth.clone(),
                    predicted: values.to_vec(),
                })
            }
            (
                Predictions::Classification {
                    classes,
                    probabilities,
                },
                Truth::Classes {
                    classes: true_classes,
                    labels,
                },
            ) => Self::classification(classes, probabilities, true_classes, labels),
            (Predictions::Regression { .. }, Truth::Classes { .. }) => {
                Err(TrainError::invalid_parameter(
                    "truth",
                    "class labels given for the predictions of a regression model",
                ))
            }
            (Predictions::Classification { .. }, Truth::Values(_)) => {
                Err(TrainError::invalid_parameter(
                    "truth",
                    "real values given for the predictions of a classifier",
                ))
            }
            _ => Err(TrainError::invalid_parameter(
                "predictions",
                "this kind of predictions has no metrics",
            )),
        }
    }

    fn classification(
        classes: &[String],
        probabilities: &Array2<f64>,
        true_classes: &[String],
        labels: &[usize],
    ) -> Result<Self> {
        let k = classes.len();
        if k < 2 {
            return Err(TrainError::TooFewValues {
                what: "evaluation: model classes".into(),
                required: 2,
                found: k,
            });
        }
        if probabilities.ncols() != k {
            return Err(TrainError::LengthMismatch {
                what: "evaluation: probability columns vs model classes".into(),
                expected: k,
                found: probabilities.ncols(),
            });
        }
        metrics::check_class_indices("evaluation", "truth labels", labels, true_classes.len())?;
        check_probabilities(probabilities)?;
        // First occurrence wins, as in the model's probability columns.
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, name) in classes.iter().enumerate() {
            index.entry(name.as_str()).or_insert(i);
        }
        let unknown: BTreeSet<&str> = true_classes
            .iter()
            .map(String::as_str)
            .filter(|name| !index.contains_key(name))
            .collect();
        let label_classes = k + unknown.len();
        for (rank, name) in unknown.into_iter().enumerate() {
            index.insert(name, k + rank);
        }
        let truth = labels
            .iter()
            .map(|&label| {
                true_classes
                    .get(label)
                    .and_then(|name| index.get(name.as_str()))
                    .copied()
                    .unwrap_or(k)
            })
            .collect();
        Ok(if k == 2 {
            Prepared::Binary {
                truth,
                positive: probabilities.column(1).to_vec(),
            }
        } else {
            Prepared::Multiclass {
                truth,
                probabilities: probabilities.clone(),
                label_classes,
            }
        })
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Prepared::Binary { truth, .. } | Prepared::Multiclass { truth, .. } => truth.len(),
            Prepared::Regression { truth, .. } => truth.len(),
        }
    }

    /// The same kind of data restricted to `rows` (in that order).
    pub(super) fn select(&self, rows: &[usize]) -> Self {
        fn pick<T: Copy>(values: &[T], rows: &[usize]) -> Vec<T> {
            rows.iter()
                .filter_map(|&r| values.get(r).copied())
                .collect()
        }
        match self {
            Prepared::Binary { truth, positive } => Prepared::Binary {
                truth: pick(truth, rows),
                positive: pick(positive, rows),
            },
            Prepared::Multiclass {
                truth,
                probabilities,
                label_classes,
            } => Prepared::Multiclass {
                truth: pick(truth, rows),
                probabilities: probabilities.select(Axis(0), rows),
                label_classes: *label_classes,
            },
            Prepared::Regression { truth, predicted } => Prepared::Regression {
                truth: pick(truth, rows),
                predicted: pick(predicted, rows),
            },
        }
    }

    pub(super) fn metrics(&self) -> Result<TaskMetrics> {
        let mut out = Collector::default();
        match self {
            Prepared::Binary { truth, positive } => binary(&mut out, truth, positive)?,
            Prepared::Multiclass {
                truth,
                probabilities,
                label_classes,
            } => multiclass(&mut out, truth, probabilities, *label_classes)?,
            Prepared::Regression { truth, predicted } => {
                out.add("r2", metrics::r2(truth, predicted))?;
                out.add("rmse", metrics::rmse(truth, predicted))?;
                out.add("mae", metrics::mae(truth, predicted))?;
                out.add("mape", metrics::mape(truth, predicted))?;
            }
        }
        Ok(out.0)
    }
}

fn check_probabilities(probabilities: &Array2<f64>) -> Result<()> {
    for ((row, column), &value) in probabilities.indexed_iter() {
        if !value.is_finite() {
            return Err(TrainError::NonFinite {
                what: "evaluation: probabilities".into(),
                row,
                column: Some(column.to_string()),
                value,
            });
        }
        if !(0.0..=1.0).contains(&value) {
            return Err(TrainError::invalid_parameter(
                "probabilities",
                format!("probability {value} at row {row}, column {column} is outside [0, 1]"),
            ));
        }
    }
    Ok(())
}

const NO_KNOWN_CLASS: &str = "no row has a true class the model knows";

#[derive(Default)]
struct Collector(TaskMetrics);

impl Collector {
    /// Records a metric, or its omission when it is undefined on these rows;
    /// any other error is the caller's input and is returned.
    fn add(&mut self, name: &str, value: Result<f64>) -> Result<()> {
        match value {
            Ok(value) => {
                self.0.values.insert(name.into(), value);
            }
            Err(e @ (TrainError::UndefinedMetric { .. } | TrainError::TooFewValues { .. })) => {
                self.0.omitted.insert(name.into(), e.to_string());
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn omit_all(&mut self, names: &[&str], reason: &str) {
        for name in names {
            self.0.omitted.insert((*name).into(), reason.into());
        }
    }

    fn count_unknown(&mut self, truth: &[usize], known_classes: usize) {
        let unknown = truth.iter().filter(|&&t| t >= known_classes).count();
        if unknown > 0 {
            self.0
                .values
                .insert(UNKNOWN_CLASS_ROWS.into(), unknown as f64);
        }
    }
}

fn binary(out: &mut Collector, truth: &[usize], positive: &[f64]) -> Result<()> {
    let predicted: Vec<usize> = positive.iter().map(|&p| usize::from(p > 0.5)).collect();
    out.add("accuracy", metrics::accuracy(truth, &predicted))?;
    out.add(
        "balanced_accuracy",
        metrics::balanced_accuracy(truth, &predicted),
    )?;
    // An unknown class is not the positive class.
    let is_positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
    let predicted_positive: Vec<bool> = predicted.iter().map(|&p| p == 1).collect();
    out.add(
        "precision",
        metrics::precision(&is_positive, &predicted_positive),
    )?;
    out.add("recall", metrics::recall(&is_positive, &predicted_positive))?;
    out.add("f1", metrics::f1(&is_positive, &predicted_positive))?;

    let (y, p): (Vec<bool>, Vec<f64>) = truth
        .iter()
        .zip(positive)
        .filter(|(t, _)| **t < 2)
        .map(|(&t, &p)| (t == 1, p))
        .unzip();
    let probability_metrics = [
        "roc_auc",
        "average_precision",
        "log_loss",
        "brier",
        "expected_calibration_error",
    ];
    if y.is_empty() {
        out.omit_all(&probability_metrics, NO_KNOWN_CLASS);
    } else {
        out.add("roc_auc", metrics::roc_auc(&y, &p))?;
        out.add("average_precision", metrics::average_precision(&y, &p))?;
        out.add("log_loss", metrics::log_loss(&y, &p))?;
        out.add("brier", metrics::brier_score(&y, &p))?;
        out.add(
            "expected_calibration_error",
            metrics::expected_calibration_error(&y, &p, CALIBRATION_BINS),
        )?;
    }
    out.count_unknown(truth, 2);
    Ok(())
}

fn multiclass(
    out: &mut Collector,
    truth: &[usize],
    probabilities: &Array2<f64>,
    label_classes: usize,
) -> Result<()> {
    let k = probabilities.ncols();
    let predicted: Vec<usize> = probabilities
        .rows()
        .into_iter()
        .map(|row| {
            // The first most probable class, as `Predictions::labels`.
            let mut best = 0;
            for (c, &p) in row.iter().enumerate() {
                if row.get(best).is_some_and(|&b| p > b) {
                    best = c;
                }
            }
            best
        })
        .collect();
    out.add("accuracy", metrics::accuracy(truth, &predicted))?;
    out.add(
        "balanced_accuracy",
        metrics::balanced_accuracy(truth, &predicted),
    )?;
    let n = label_classes;
    out.add(
        "precision_macro",
        metrics::precision_multiclass(truth, &predicted, n, Average::Macro),
    )?;
    out.add(
        "recall_macro",
        metrics::recall_multiclass(truth, &predicted, n, Average::Macro),
    )?;
    out.add(
        "f1_macro",
        metrics::f1_multiclass(truth, &predicted, n, Average::Macro),
    )?;
    out.add(
        "f1_weighted",
        metrics::f1_multiclass(truth, &predicted, n, Average::Weighted),
    )?;

    let known: Vec<usize> = (0..truth.len()).filter(|&i| truth[i] < k).collect();
    let probability_metrics = ["roc_auc_ovr", "roc_auc_ovr_weighted", "log_loss", "brier"];
    if known.is_empty() {
        out.omit_all(&probability_metrics, NO_KNOWN_CLASS);
    } else {
        let y: Vec<usize> = known.iter().map(|&i| truth[i]).collect();
        let p = probabilities.select(Axis(0), &known);
        out.add(
            "roc_auc_ovr",
            metrics::roc_auc_ovr(&y, p.view(), Average::Macro),
        )?;
        out.add(
            "roc_auc_ovr_weighted",
            metrics::roc_auc_ovr(&y, p.view(), Average::Weighted),
        )?;
        out.add("log_loss", metrics::log_loss_multiclass(&y, p.view()))?;
        out.add("brier", metrics::brier_score_multiclass(&y, p.view()))?;
    }
    out.count_unknown(truth, k);
    Ok(())
}
