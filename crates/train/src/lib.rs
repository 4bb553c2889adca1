//! # mlrig-train
//!
//! Models, metrics, evaluation and the blessing gate of mlrig: least squares
//! and ridge, logistic regression (binary and multinomial), SGD with
//! `partial_fit`, all with scikit-learn's objectives, on dense or CSR
//! features; histogram gradient-boosted trees with LightGBM's algorithm and
//! exact integer histograms; scikit-learn's metric definitions; slices,
//! baselines, label leakage.
//!
//! ## Data flow
//!
//! ```text
//! train + eval batches, target ──infer_task──▶ TaskChoice (classes or values, with a notice)
//!   ──TrainingTarget::from_arrays──▶ target;  ──LeakageCheck::run──▶ LeakageReport (suspects)
//! train Features (mlrig-features; dense or CSR) + target (+ sample weights)
//!   ──ModelSpec::fit──▶ Model (LinearRegression │ LogisticRegression │ SgdClassifier │ SgdRegressor │ Gbdt;
//!      Artifact "mlrig.train.model" = a bundle's model.json)
//!      Model::partial_fit: one more SGD epoch, or more boosting rounds
//!      Model::importances / Model::contributions (trees: split gains, TreeSHAP)
//! eval Features ──Model::predict──▶ Predictions + Truth ──task_metrics / slice_metrics──▶ metrics
//!   ──Evaluation::new(…, BlessingThresholds).with_slices(…).against_baseline(…).with_check(GateCheck)
//!   ──▶ Evaluation (blessed, or one reason per failure; evaluation.json)
//! ```
//!
//! * **Models** follow linfa's parameter pattern via [`mlrig_core::ParamGuard`]
//!   and [`mlrig_core::Fit`]: `Params` → checked `ValidParams` → fitted model;
//!   [`ModelSpec`] names any of them (serde, JSON Schema). Logistic
//!   regression and wide least squares use L-BFGS finished by Newton-CG
//!   (memory linear in the number of features); passes over the rows run in
//!   parallel over fixed row blocks added in order, so fits have the same
//!   bits for any thread count. Sparse input is never densified.
//! * **Gradient-boosted trees** ([`GradientBoostingParams`] → [`GradientBoosting`]):
//!   binned `u8`/`u16` columns, leaf-wise growth, native categorical splits on
//!   integer codes, learned missing-value directions, early stopping. Gradients
//!   are quantized to integers with seeded stochastic rounding, so histograms
//!   of any split of the rows merge to the same bits: a model has the same
//!   bytes for any thread count.
//! * **Online learning**: [`SgdClassifier`] and [`SgdRegressor`] are linear
//!   models trained by stochastic gradient descent with scikit-learn's
//!   `SGDClassifier` / `SGDRegressor` semantics, on dense or CSR features;
//!   `partial_fit` updates them batch by batch, also after a save and load.
//! * A fitted model stores the names of the feature columns it was trained on
//!   and rejects other columns at prediction time ([`TrainError::ShapeMismatch`]).
//!   A row's prediction has the same bits alone or inside a batch.
//! * **Metrics** ([`metrics`]) use exact sums, so they do not depend on row order.
//! * **Splits** ([`SplitRule`]) depend only on the global row number or a key,
//!   never on batch boundaries, thread count or machine.
//!
//! ## Quick start
//!
//! ```
//! use mlrig_train::{Features, Fit, ParamGuard, Predict, Predictions, Task, ndarray::array};
//! use mlrig_train::{
//!     BlessingThresholds, ClassTarget, Dataset, Evaluation, LogisticRegressionParams, Model,
//!     SplitRule, evaluate_classifier,
//! };
//!
//! // Hours studied → passed the exam.
//! let hours = array![[0.5], [1.0], [1.5], [2.0], [2.5], [3.0], [3.5], [4.0], [4.5], [5.0]];
//! let passed = ["no", "no", "no", "yes", "no", "yes", "no", "yes", "yes", "yes"];
//!
//! // Hold out every fifth row (i % 5 == 4).
//! let rule = SplitRule::modulo(5, vec![4])?;
//! let (train_rows, eval_rows): (Vec<usize>, Vec<usize>) =
//!     (0..10).partition(|&i| !rule.is_eval(i as u64, None));
//! let take = |rows: &[usize]| -> Result<(Features, ClassTarget), mlrig_train::TrainError> {
//!     let x = hours.select(mlrig_train::ndarray::Axis(0), rows);
//!     let y = ClassTarget::from_labels("passed", rows.iter().map(|&i| passed[i]));
//!     Ok((Features::dense(vec!["hours".into()], x)?, y))
//! };
//! let (x_train, y_train) = take(&train_rows)?;
//! let (x_eval, y_eval) = take(&eval_rows)?;
//!
//! // Fit L2 logistic regression (scikit-learn's C = 1).
//! let model = LogisticRegressionParams::default()
//!     .with_c(1.0)
//!     .check()?
//!     .fit(&Dataset::new(&x_train, &y_train)?)?;
//! assert!(model.converged());
//! let model = Model::from(model);
//!
//! // Predict and evaluate on the held-out rows.
//! let Predictions::Classification { probabilities, .. } = model.predict(&x_eval)? else {
//!     unreachable!("logistic regression classifies")
//! };
//! let positive: Vec<f64> = probabilities.column(1).to_vec();
//! let metrics = evaluate_classifier(&y_eval.positive_indicator()?, &positive)?;
//! let evaluation = Evaluation::new(
//!     model.task(),
//!     metrics,
//!     train_rows.len() as u64,
//!     eval_rows.len() as u64,
//!     BlessingThresholds::default().with_min("roc_auc", 0.5),
//! )?;
//! assert!(evaluation.blessed());
//! # Ok::<(), mlrig_train::TrainError>(())
//! ```
//!
//! ## Feature flags
//!
//! | feature | enables | default |
//! |---|---|---|
//! | `schemars` | `schemars::JsonSchema` for [`BlessingThresholds`] (the schema is `docs/schemas/blessing-thresholds.schema.json`) | no |

mod cholesky;
mod class_weight;
mod dataset;
mod error;
mod evaluation;
mod gbdt;
mod leakage;
mod linear_regression;
mod linear_score;
mod logistic_regression;
pub mod metrics;
mod model;
mod model_spec;
mod optimizer;
mod row_blocks;
mod sgd;
pub mod split;
mod target;
mod task;

pub use class_weight::ClassWeight;
pub use dataset::Dataset;
pub use error::{Result, TrainError};
pub use evaluation::{
    BaselineComparison, BlessingThresholds, CALIBRATION_BINS, CLASSIFIER_METRICS, CalibrationPoint,
    ConfusionMatrix, CurvePoint, DEFAULT_MAX_DROP, DEFAULT_MAX_SLICE_VALUES, Evaluation,
    EvaluationCurves, GateCheck, MAX_CURVE_POINTS, MIN_SLICE_ROWS_FOR_DROP, MISSING_SLICE_VALUE,
    MetricDelta, OTHER_SLICE_VALUE, REGRESSOR_METRICS, SliceColumn, SliceMetrics, SliceThresholds,
    TaskMetrics, Truth, UNKNOWN_CLASS_ROWS, evaluate_classifier, evaluate_regressor,
    evaluation_curves, headline_metric, higher_is_better, metric_names, slice_metrics,
    task_metrics,
};
pub use gbdt::{
    Child, Condition, EarlyStopping, FeatureImportance, GbdtLoss, GbdtTarget, GradientBoosting,
    GradientBoostingParams, GradientBoostingValidParams, Leaf, Node, Tree,
};
pub use leakage::{
    ColumnKind, ColumnLeakage, LeakageCheck, LeakageMetric, LeakageParams, LeakageReport,
    LeakageRule, PairOperation, PartnerScore, Suspect,
};
pub use linear_regression::{
    LinearRegression, LinearRegressionParams, LinearRegressionValidParams,
};
pub use logistic_regression::{
    LogisticRegression, LogisticRegressionParams, LogisticRegressionValidParams,
};
pub use mlrig_core::SplitRule;
pub use model::{Convergence, Model};
pub use model_spec::{ModelSpec, TrainingTarget, smoke_step};
pub use optimizer::StopReason;
pub use sgd::{
    LearningRate, SgdClassifier, SgdClassifierLoss, SgdClassifierParams, SgdClassifierValidParams,
    SgdRegressor, SgdRegressorLoss, SgdRegressorParams, SgdRegressorValidParams,
};
pub use target::{ClassTarget, RegressionTarget, Target};
pub use task::{MAX_INTEGER_CLASSES, TaskChoice, TaskKind, infer_task};

// What users need to name this crate's inputs and outputs, so that depending
// on `mlrig-train` alone is enough (one path each; see docs/architecture.md).
pub use mlrig_core::Error as CoreError;
pub use mlrig_core::{
    Artifact, ArtifactHeader, FeatureMatrix, Features, Fingerprint, Fit, ParamGuard, Predict,
    Predictions, Stored, Task, arrow_array, arrow_schema, ndarray, sprs,
};

/// The README's code, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
