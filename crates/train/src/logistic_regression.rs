//! Logistic regression with an L2 penalty, binary or multinomial, fitted by
//! L-BFGS on dense or CSR features.
//!
//! The objective is scikit-learn's `LogisticRegression(C=c, penalty="l2",
//! solver="lbfgs")`, with sᵢ = sample weight × class weight:
//!
//! ```text
//! minimise over W, b:   C · Σᵢ sᵢ · loss(yᵢ, zᵢ)  +  ½ ‖W‖²,    zᵢ = W·xᵢ + b
//! ```
//!
//! * **Binary** (2 classes): one weight vector, `loss = log(1 + e^{−z})` for
//!   the positive class (the second in sorted order) and `log(1 + e^{z})`
//!   for the negative; `P(positive) = σ(z)`.
//! * **Multinomial** (3 or more classes): one weight vector per class,
//!   `loss = log Σ_c e^{z_c} − z_y` (softmax cross-entropy) and
//!   `P(c) = softmax(z)_c`. As in scikit-learn, the intercepts (which the
//!   objective determines only up to a common shift) start at 0 and keep a
//!   zero sum.
//!
//! The intercepts are not penalised, so the minimum is finite even for
//! separable classes. Sparse (CSR) features are used as they are: nothing
//! is densified, and memory is the matrix plus a few vectors of `k · p`.
//!
//! **Optimiser.** L-BFGS (see the `optimizer` module) on the averaged
//! objective `(1/S)·Σ sᵢ·loss + ‖W‖²/(2·C·S)`, `S = Σ sᵢ` — the same
//! minimiser, scaled as scikit-learn scales it, so the tolerance means the
//! same in both. The gradient is computed over fixed row blocks in parallel
//! (rayon) and added in block order, so the fitted model has the same bits
//! for any number of threads (see the `row_blocks` module).
//!
//! **Convergence** is declared when the largest absolute gradient component
//! is at most the tolerance, or when the objective stops decreasing at
//! working precision; the model records the iterations, the final gradient
//! norm and the [`StopReason`](crate::StopReason).
//!
//! **Numerical stability.** σ, `log(1 + e^t)` and softmax are evaluated in
//! forms that never overflow, so saturated probabilities give finite losses.

use mlrig_core::ndarray::Array2;
use mlrig_core::{Artifact, FeatureMatrix, Fit, ParamGuard, Predict, Predictions, Task};
use serde::{Deserialize, Serialize};

use crate::class_weight::{ClassWeight, example_weights};
use crate::dataset::{Dataset, check_feature_names, check_finite_features, fit_after_check};
use crate::error::{Result, TrainError};
use crate::optimizer::{Objective, StopReason, minimize};
use crate::row_blocks::{add_scaled_row, add_squared_row, all_scores, fold_blocks, row_scores};
use crate::target::{ClassTarget, Target};

/// Parameters of logistic regression, before validation.
///
/// ```
/// use mlrig_core::{Features, Fit, ParamGuard, Predict, Predictions, ndarray::array};
/// use mlrig_train::{ClassTarget, Dataset, LogisticRegressionParams};
///
/// let x = Features::dense(vec!["x".into()], array![[-2.0], [-1.0], [0.5], [1.0], [2.0], [-0.5]])?;
/// let y = ClassTarget::from_labels("y", ["no", "no", "yes", "yes", "yes", "yes"]);
/// let model = LogisticRegressionParams::default().with_c(1.0).check()?.fit(&Dataset::new(&x, &y)?)?;
/// assert!(model.converged());
/// let Predictions::Classification { classes, probabilities } = model.predict(&x)? else { unreachable!() };
/// assert_eq!(classes, ["no", "yes"]);
/// assert!(probabilities[[4, 1]] > 0.5 && probabilities[[0, 1]] < 0.5);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct LogisticRegressionParams {
    /// Inverse regularisation strength (scikit-learn's `C`), > 0.
    c: f64,
    /// The most L-BFGS iterations, ≥ 1.
    max_iterations: usize,
    /// Convergence tolerance on the averaged objective's max-abs gradient, > 0.
    tolerance: f64,
    /// How much each class counts (`uniform` or `balanced`).
    class_weight: ClassWeight,
    /// Whether to fit the (unpenalised) intercepts; `false` fixes them at 0.
    fit_intercept: bool,
}

impl Default for LogisticRegressionParams {
    /// `C = 1`, 1000 iterations, tolerance `1e-6`, uniform class weights
    /// (scikit-learn: `C = 1`, `max_iter = 100`, `tol = 1e-4`; the tighter
    /// tolerance costs a few more iterations and gives coefficients that do
    /// not depend on where the optimiser started).
    fn default() -> Self {
        Self {
            c: 1.0,
            max_iterations: 1000,
            tolerance: 1e-6,
            class_weight: ClassWeight::Uniform,
            fit_intercept: true,
        }
    }
}

impl LogisticRegressionParams {
    /// Inverse regularisation strength `C` (scikit-learn's `C`): larger means
    /// a weaker penalty. Must be finite and > 0; default 1.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LogisticRegressionParams;
    /// assert!(LogisticRegressionParams::default().with_c(0.0).check().is_err());
    /// ```
    pub fn with_c(mut self, c: f64) -> Self {
        self.c = c;
        self
    }

    /// The most L-BFGS iterations to run (≥ 1); default 1000.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LogisticRegressionParams;
    /// assert_eq!(LogisticRegressionParams::default().with_max_iterations(5).check()?.max_iterations(), 5);
    /// assert!(LogisticRegressionParams::default().with_max_iterations(0).check().is_err());
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = max_iterations;
        self
    }

    /// Convergence tolerance on the averaged objective's gradient (max-abs
    /// norm, see the module docs). Must be finite and > 0; default `1e-6`.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LogisticRegressionParams;
    /// assert!(LogisticRegressionParams::default().with_tolerance(f64::NAN).check().is_err());
    /// ```
    pub fn with_tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// How much each class counts in the loss; default [`ClassWeight::Uniform`].
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::{ClassWeight, LogisticRegressionParams};
    /// let p = LogisticRegressionParams::default().with_class_weight(ClassWeight::Balanced).check()?;
    /// assert_eq!(p.class_weight(), ClassWeight::Balanced);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.class_weight = class_weight;
        self
    }

    /// Whether to fit intercepts (scikit-learn's `fit_intercept`); default
    /// `true`. With `false` the intercepts are 0 and the model passes
    /// through the origin.
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ndarray::array};
    /// use mlrig_train::{ClassTarget, Dataset, LogisticRegressionParams};
    /// let x = Features::dense(vec!["x".into()], array![[-1.0], [1.0], [2.0], [-2.0]])?;
    /// let y = ClassTarget::from_labels("y", ["a", "b", "b", "a"]);
    /// let model = LogisticRegressionParams::default().with_fit_intercept(false).fit(&Dataset::new(&x, &y)?)?;
    /// assert_eq!(model.intercepts(), [0.0]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_fit_intercept(mut self, fit_intercept: bool) -> Self {
        self.fit_intercept = fit_intercept;
        self
    }
}

/// Validated parameters of logistic regression; [`Fit`] them to a [`Dataset`].
///
/// ```
/// use mlrig_core::ParamGuard;
/// use mlrig_train::LogisticRegressionParams;
/// let p = LogisticRegressionParams::default().check()?;
/// assert_eq!((p.c(), p.max_iterations(), p.tolerance()), (1.0, 1000, 1e-6));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionValidParams {
    c: f64,
    max_iterations: usize,
    tolerance: f64,
    class_weight: ClassWeight,
    fit_intercept: bool,
}

impl LogisticRegressionValidParams {
    /// Inverse regularisation strength `C`.
    ///
    /// See [`LogisticRegressionValidParams`] for an example.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// The most L-BFGS iterations.
    ///
    /// See [`LogisticRegressionValidParams`] for an example.
    pub fn max_iterations(&self) -> usize {
        self.max_iterations
    }

    /// The gradient tolerance.
    ///
    /// See [`LogisticRegressionValidParams`] for an example.
    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    /// The class weighting.
    ///
    /// See [`LogisticRegressionParams::with_class_weight`] for an example.
    pub fn class_weight(&self) -> ClassWeight {
        self.class_weight
    }

    /// Whether intercepts are fitted.
    ///
    /// See [`LogisticRegressionParams::with_fit_intercept`] for an example.
    pub fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }
}

impl ParamGuard for LogisticRegressionParams {
    type Checked = LogisticRegressionValidParams;
    type Error = TrainError;

    fn check(self) -> Result<LogisticRegressionValidParams> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(TrainError::invalid_parameter(
                "c",
                format!("must be finite and > 0, got {}", self.c),
            ));
        }
        if self.max_iterations == 0 {
            return Err(TrainError::invalid_parameter(
                "max_iterations",
                "must be at least 1",
            ));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(TrainError::invalid_parameter(
                "tolerance",
                format!("must be finite and > 0, got {}", self.tolerance),
            ));
        }
        Ok(LogisticRegressionValidParams {
            c: self.c,
            max_iterations: self.max_iterations,
            tolerance: self.tolerance,
            class_weight: self.class_weight,
            fit_intercept: self.fit_intercept,
        })
    }
}

/// `1 / (1 + e^{-z})` without overflow.
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + libm::exp(-z))
    } else {
        let e = libm::exp(z);
        e / (1.0 + e)
    }
}

/// `log(1 + e^t)` without overflow or loss of precision.
fn softplus(t: f64) -> f64 {
    t.max(0.0) + libm::log1p(libm::exp(-t.abs()))
}

/// Softmax of `z` in place, shifted by the maximum so nothing overflows;
/// returns `log Σ e^{z}` (before the shift is undone).
fn softmax_in_place(z: &mut [f64]) -> f64 {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for v in z.iter_mut() {
        *v = libm::exp(*v - max);
        total += *v;
    }
    for v in z.iter_mut() {
        *v /= total;
    }
    max + libm::log(total)
}

/// Number of weight vectors: one for two classes, one per class otherwise.
fn outputs(classes: usize) -> usize {
    if classes == 2 { 1 } else { classes }
}

/// The averaged penalised objective over `θ = [W (m × p, row-major), b (m)]`.
struct LogisticObjective<'a> {
    matrix: &'a FeatureMatrix,
    labels: &'a [usize],
    weights: &'a [f64],
    outputs: usize,
    features: usize,
    /// `1 / S`, the averaging factor of the loss.
    inverse_total_weight: f64,
    /// `1 / (C · S)`, the factor of the penalty.
    penalty: f64,
    /// `false`: the intercepts stay at their start, 0 (their gradient and
    /// curvature are masked, so no step ever moves them).
    fit_intercept: bool,
}

impl LogisticObjective<'_> {
    /// Adds row `row`'s weighted loss gradient into `gradient`; returns its
    /// weighted loss.
    fn add_row(&self, row: usize, theta: &[f64], scores: &mut [f64], gradient: &mut [f64]) -> f64 {
        let (m, p) = (self.outputs, self.features);
        let weight = self.weights.get(row).copied().unwrap_or(0.0);
        if weight == 0.0 {
            return 0.0;
        }
        let label = self.labels.get(row).copied().unwrap_or(0);
        row_scores(self.matrix, row, &theta[..m * p], &theta[m * p..], scores);
        let loss = if m == 1 {
            let (z, positive) = (scores[0], label == 1);
            scores[0] = sigmoid(z) - if positive { 1.0 } else { 0.0 };
            if positive { softplus(-z) } else { softplus(z) }
        } else {
            let true_score = scores.get(label).copied().unwrap_or(0.0);
            let log_total = softmax_in_place(scores);
            if let Some(p) = scores.get_mut(label) {
                *p -= 1.0;
            }
            log_total - true_score
        };
        for (c, &residual) in scores.iter().enumerate() {
            let r = weight * residual;
            add_scaled_row(self.matrix, row, r, gradient, c);
            gradient[m * p + c] += r;
        }
        weight * loss
    }
}

impl Objective for LogisticObjective<'_> {
    fn value_and_gradient(&self, theta: &[f64], gradient: &mut [f64]) -> f64 {
        let (m, p) = (self.outputs, self.features);
        let mut total = (0.0, vec![0.0; theta.len()]);
        fold_blocks(
            self.matrix,
            &mut total,
            |rows| {
                let mut scores = vec![0.0; m];
                let mut partial = vec![0.0; theta.len()];
                let mut loss = 0.0;
                for row in rows {
                    loss += self.add_row(row, theta, &mut scores, &mut partial);
                }
                (loss, partial)
            },
            |(loss, sum), (block_loss, partial)| {
                *loss += block_loss;
                sum.iter_mut().zip(partial).for_each(|(s, g)| *s += g);
            },
        );
        let (loss, sum) = total;
        let mut penalty = 0.0;
        for (j, (g, s)) in gradient.iter_mut().zip(&sum).enumerate() {
            *g = s * self.inverse_total_weight;
            if j < m * p {
                *g += theta[j] * self.penalty;
                penalty += theta[j] * theta[j];
            }
        }
        if !self.fit_intercept {
            gradient[m * p..].iter_mut().for_each(|g| *g = 0.0);
        }
        loss * self.inverse_total_weight + 0.5 * penalty * self.penalty
    }

    /// `H(θ)·v`: per row, the scores' curvature `s·(diag(π) − ππᵀ)` applied
    /// to `u = V·x + v_b` (binary: `s·π(1 − π)·u`), pulled back through `x`,
    /// plus the penalty's `v/(C·S)`. One pass over the data, in row blocks.
    fn hessian_vector(&self, theta: &[f64], v: &[f64], out: &mut [f64]) -> bool {
        let (m, p) = (self.outputs, self.features);
        let mut total = vec![0.0; theta.len()];
        fold_blocks(
            self.matrix,
            &mut total,
            |rows| {
                let mut partial = vec![0.0; theta.len()];
                let (mut pi, mut u) = (vec![0.0; m], vec![0.0; m]);
                for row in rows {
                    let weight = self.weights.get(row).copied().unwrap_or(0.0);
                    if weight == 0.0 {
                        continue;
                    }
                    row_scores(self.matrix, row, &theta[..m * p], &theta[m * p..], &mut pi);
                    row_scores(self.matrix, row, &v[..m * p], &v[m * p..], &mut u);
                    if m == 1 {
                        let q = sigmoid(pi[0]);
                        u[0] *= weight * q * (1.0 - q);
                    } else {
                        softmax_in_place(&mut pi);
                        let mean = pi.iter().zip(&u).fold(0.0, |a, (p, u)| a + p * u);
                        u.iter_mut()
                            .zip(&pi)
                            .for_each(|(u, p)| *u = weight * p * (*u - mean));
                    }
                    for (c, &r) in u.iter().enumerate() {
                        add_scaled_row(self.matrix, row, r, &mut partial, c);
                        partial[m * p + c] += r;
                    }
                }
                partial
            },
            |sum, partial| sum.iter_mut().zip(partial).for_each(|(s, v)| *s += v),
        );
        for (j, (o, t)) in out.iter_mut().zip(&total).enumerate() {
            *o = t * self.inverse_total_weight;
            if j < m * p {
                *o += v[j] * self.penalty;
            } else if !self.fit_intercept {
                *o = 0.0;
            }
        }
        true
    }

    /// The Hessian's diagonal at θ = 0, where every probability is ½ (binary)
    /// or `1/k`: `q·(1/S)·Σ sᵢ xᵢⱼ² + 1/(C·S)` with `q = p(1 − p)`.
    fn diagonal(&self) -> Option<Vec<f64>> {
        let (m, p) = (self.outputs, self.features);
        let q = if m == 1 {
            0.25
        } else {
            (m as f64 - 1.0) / (m as f64 * m as f64)
        };
        let mut squares = vec![0.0; p + 1];
        fold_blocks(
            self.matrix,
            &mut squares,
            |rows| {
                let mut partial = vec![0.0; p + 1];
                for row in rows {
                    let w = self.weights.get(row).copied().unwrap_or(0.0);
                    add_squared_row(self.matrix, row, w, &mut partial[..p]);
                    partial[p] += w;
                }
                partial
            },
            |total, partial| total.iter_mut().zip(partial).for_each(|(t, v)| *t += v),
        );
        let intercept = q * squares[p] * self.inverse_total_weight;
        let weights = squares[..p]
            .iter()
            .map(|s| q * s * self.inverse_total_weight + self.penalty);
        let per_output: Vec<f64> = weights.collect();
        let mut diagonal = Vec::with_capacity(m * p + m);
        for _ in 0..m {
            diagonal.extend_from_slice(&per_output);
        }
        diagonal.extend(std::iter::repeat_n(intercept, m));
        Some(diagonal)
    }
}

impl<'a> Fit<Dataset<'a, ClassTarget>> for LogisticRegressionValidParams {
    type Fitted = LogisticRegression;
    type Error = TrainError;

    fn fit(&self, data: &Dataset<'a, ClassTarget>) -> Result<LogisticRegression> {
        let target = data.target();
        let features = data.features();
        check_finite_features(features)?;
        let k = target.classes().len();
        let weights = example_weights(data, self.class_weight);
        let mut present = vec![false; k];
        for (&label, &w) in target.labels().iter().zip(&weights) {
            if let Some(p) = present.get_mut(label).filter(|_| w > 0.0) {
                *p = true;
            }
        }
        if k < 2 || present.iter().any(|p| !p) {
            return Err(TrainError::WrongClassCount {
                column: target.name().into(),
                expected:
                    "at least 2 classes, each with a row of positive weight in the training rows"
                        .into(),
                classes: target.classes().to_vec(),
            });
        }
        let total_weight: f64 = weights.iter().sum();
        let (m, p) = (outputs(k), features.ncols());
        let objective = LogisticObjective {
            matrix: features.matrix(),
            labels: target.labels(),
            weights: &weights,
            outputs: m,
            features: p,
            inverse_total_weight: 1.0 / total_weight,
            penalty: 1.0 / (self.c * total_weight),
            fit_intercept: self.fit_intercept,
        };
        let numerical = |reason: &str| TrainError::Numerical {
            what: "logistic regression".into(),
            reason: reason.into(),
        };
        let minimum = minimize(
            &objective,
            vec![0.0; m * p + m],
            self.tolerance,
            self.max_iterations,
        )
        .ok_or_else(|| numerical("the objective is not finite (features too large? scale them)"))?;
        if minimum.x.iter().any(|v| !v.is_finite()) {
            return Err(numerical("the coefficients are not finite"));
        }
        let (coefficients, intercepts) = minimum.x.split_at(m * p);
        Ok(LogisticRegression {
            feature_names: features.names().to_vec(),
            target: target.name().to_string(),
            classes: target.classes().to_vec(),
            coefficients: coefficients
                .chunks(p.max(1))
                .take(m)
                .map(<[f64]>::to_vec)
                .collect(),
            intercepts: intercepts.to_vec(),
            c: self.c,
            class_weight: self.class_weight,
            iterations: minimum.iterations,
            converged: minimum.stop.converged(),
            stop: minimum.stop,
            gradient_norm: minimum.gradient_norm,
        })
    }
}

fit_after_check!(LogisticRegressionParams, ClassTarget => LogisticRegression);

/// A fitted logistic regression: `P(positive | x) = σ(x·w + b)` for two
/// classes, `P(c | x) = softmax(W·x + b)_c` for more.
///
/// ```
/// use mlrig_core::{Features, Fit, ndarray::array};
/// use mlrig_train::{ClassTarget, Dataset, LogisticRegressionParams};
/// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0], [2.0], [3.0]])?;
/// let y = ClassTarget::from_labels("y", ["a", "b", "a", "b"]);
/// let model = LogisticRegressionParams::default().fit(&Dataset::new(&x, &y)?)?;
/// assert_eq!(model.classes(), ["a", "b"]);
/// assert_eq!((model.coefficients().len(), model.intercepts().len()), (1, 1));
/// assert!(model.converged() && model.iterations() < 20);
/// let p = model.predict_positive(&x)?;
/// assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
///
/// // Three classes: one weight vector per class.
/// let y3 = ClassTarget::from_labels("y", ["a", "b", "c", "c"]);
/// let model = LogisticRegressionParams::default().fit(&Dataset::new(&x, &y3)?)?;
/// assert_eq!((model.coefficients().len(), model.intercepts().len()), (3, 3));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredLogisticRegression")]
pub struct LogisticRegression {
    feature_names: Vec<String>,
    target: String,
    classes: Vec<String>,
    /// One row per weight vector (1 for binary, one per class otherwise).
    coefficients: Vec<Vec<f64>>,
    intercepts: Vec<f64>,
    c: f64,
    class_weight: ClassWeight,
    iterations: usize,
    converged: bool,
    stop: StopReason,
    gradient_norm: f64,
}

/// [`LogisticRegression`] as read from JSON, before its shapes are checked
/// (an edited `model.json` must be an error, not an index out of range at
/// the first prediction).
#[derive(Deserialize)]
struct StoredLogisticRegression {
    feature_names: Vec<String>,
    target: String,
    classes: Vec<String>,
    coefficients: Vec<Vec<f64>>,
    intercepts: Vec<f64>,
    c: f64,
    class_weight: ClassWeight,
    iterations: usize,
    converged: bool,
    stop: StopReason,
    gradient_norm: f64,
}

impl TryFrom<StoredLogisticRegression> for LogisticRegression {
    type Error = TrainError;

    fn try_from(s: StoredLogisticRegression) -> Result<Self> {
        let functions = if s.classes.len() == 2 {
            1
        } else {
            s.classes.len()
        };
        // A model without features is written with no coefficient rows.
        let rows_ok = (s.coefficients.len() == functions
            && s.coefficients
                .iter()
                .all(|row| row.len() == s.feature_names.len()))
            || (s.feature_names.is_empty() && s.coefficients.is_empty());
        let shape_ok = s.classes.len() >= 2 && s.intercepts.len() == functions && rows_ok;
        if !shape_ok {
            return Err(TrainError::ShapeMismatch {
                expected: format!(
                    "at least 2 classes, {functions} coefficient rows of {} and {functions} intercepts",
                    s.feature_names.len()
                ),
                got: format!(
                    "{} classes, {} coefficient rows and {} intercepts",
                    s.classes.len(),
                    s.coefficients.len(),
                    s.intercepts.len()
                ),
            });
        }
        Ok(Self {
            feature_names: s.feature_names,
            target: s.target,
            classes: s.classes,
            coefficients: s.coefficients,
            intercepts: s.intercepts,
            c: s.c,
            class_weight: s.class_weight,
            iterations: s.iterations,
            converged: s.converged,
            stop: s.stop,
            gradient_norm: s.gradient_norm,
        })
    }
}

impl LogisticRegression {
    /// The feature columns the model was trained on, in order.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The target column the model was trained on.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The class labels, sorted: the probability-column order.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The weight vectors, as scikit-learn's `coef_`: one row (the positive
    /// class's log-odds per unit) for two classes, one per class otherwise.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn coefficients(&self) -> &[Vec<f64>] {
        &self.coefficients
    }

    /// The intercepts, as scikit-learn's `intercept_` (not penalised).
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn intercepts(&self) -> &[f64] {
        &self.intercepts
    }

    /// The `C` the model was fitted with.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// The class weighting the model was fitted with.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn class_weight(&self) -> ClassWeight {
        self.class_weight
    }

    /// L-BFGS iterations used.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the optimum was reached within the iteration limit.
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ndarray::array};
    /// use mlrig_train::{ClassTarget, Dataset, LogisticRegressionParams, StopReason};
    /// // Separable data with a weak penalty needs many steps; one is not enough.
    /// let x = Features::dense(vec!["x".into()], array![[-1.0], [1.0]])?;
    /// let y = ClassTarget::from_labels("y", ["a", "b"]);
    /// let params = LogisticRegressionParams::default().with_c(1e6).with_max_iterations(1);
    /// let model = params.fit(&Dataset::new(&x, &y)?)?;
    /// assert!(!model.converged());
    /// assert_eq!((model.iterations(), model.stop_reason()), (1, StopReason::MaxIterations));
    /// assert!(model.gradient_norm() > 1e-6);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Why the optimiser stopped.
    ///
    /// See [`LogisticRegression::converged`] for an example.
    pub fn stop_reason(&self) -> StopReason {
        self.stop
    }

    /// The final max-abs gradient of the averaged objective (see the module docs).
    ///
    /// See [`LogisticRegression::converged`] for an example.
    pub fn gradient_norm(&self) -> f64 {
        self.gradient_norm
    }

    /// What the model predicts: classification with its classes.
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, Task, ndarray::array};
    /// # use mlrig_train::{ClassTarget, Dataset, LogisticRegressionParams};
    /// # let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// # let y = ClassTarget::from_labels("y", ["a", "b"]);
    /// # let model = LogisticRegressionParams::default().fit(&Dataset::new(&x, &y)?)?;
    /// assert_eq!(model.task(), Task::Classification { classes: vec!["a".into(), "b".into()] });
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn task(&self) -> Task {
        Task::Classification {
            classes: self.classes.clone(),
        }
    }

    /// The probability of the positive (second) class for each row of a
    /// binary model; for more classes, the probability of the last class.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn predict_positive(&self, features: &mlrig_core::Features) -> Result<Vec<f64>> {
        let probabilities = self.probabilities(features)?;
        let last = probabilities.ncols().saturating_sub(1);
        Ok(probabilities.column(last).to_vec())
    }

    fn flat_coefficients(&self) -> Vec<f64> {
        self.coefficients.iter().flatten().copied().collect()
    }

    /// `rows × classes` probabilities.
    fn probabilities(&self, features: &mlrig_core::Features) -> Result<Array2<f64>> {
        check_feature_names(&self.feature_names, features)?;
        check_finite_features(features)?;
        let m = self.intercepts.len();
        let scores = all_scores(
            features.matrix(),
            &self.flat_coefficients(),
            &self.intercepts,
        );
        let n = features.nrows();
        let k = self.classes.len();
        let mut probabilities = Array2::<f64>::zeros((n, k));
        for (mut row, z) in probabilities
            .rows_mut()
            .into_iter()
            .zip(scores.chunks(m.max(1)))
        {
            if m == 1 {
                // σ(−z) rather than 1 − σ(z): accurate when σ(z) is near 1.
                row[0] = sigmoid(-z[0]);
                row[1] = sigmoid(z[0]);
            } else {
                let mut z = z.to_vec();
                softmax_in_place(&mut z);
                row.iter_mut().zip(z).for_each(|(slot, p)| *slot = p);
            }
        }
        Ok(probabilities)
    }
}

impl Predict for LogisticRegression {
    type Error = TrainError;

    fn predict(&self, features: &mlrig_core::Features) -> Result<Predictions> {
        Ok(Predictions::Classification {
            classes: self.classes.clone(),
            probabilities: self.probabilities(features)?,
        })
    }
}

impl Artifact for LogisticRegression {
    const KIND: &'static str = "mlrig.train.logistic_regression";
    // Version 3: multinomial models; coefficients are one row per weight
    // vector and intercepts a list (scikit-learn's `coef_` / `intercept_`).
    const FORMAT_VERSION: u32 = 3;
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::Features;
    use mlrig_core::ndarray::array;

    fn fit_with(
        x: Array2<f64>,
        labels: &[&str],
        params: LogisticRegressionParams,
    ) -> Result<LogisticRegression> {
        let names: Vec<String> = (0..x.ncols()).map(|j| format!("x{j}")).collect();
        let f = Features::dense(names, x)?;
        let y = ClassTarget::from_labels("y", labels.iter().copied());
        params.fit(&Dataset::new(&f, &y)?)
    }

    #[test]
    fn stable_functions_do_not_overflow() {
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(-745.0) - 5e-324).abs() < 1e-323);
        assert_eq!(softplus(1000.0), 1000.0);
        assert_eq!(softplus(-1000.0), 0.0);
        assert!((softplus(0.0) - std::f64::consts::LN_2).abs() < 1e-16);
        assert!((softplus(-40.0) - libm::exp(-40.0)).abs() < 1e-30);
    }

    #[test]
    fn optimum_has_zero_gradient_of_the_sklearn_objective() {
        let x = array![
            [0.5, 1.0],
            [1.5, -1.0],
            [-0.3, 0.2],
            [2.0, 2.0],
            [-1.0, 0.0],
            [0.1, -0.7]
        ];
        let labels = ["n", "p", "n", "p", "n", "p"];
        let c = 0.7;
        let m = fit_with(
            x.clone(),
            &labels,
            LogisticRegressionParams::default().with_c(c),
        )
        .unwrap();
        assert!(m.converged());
        // Recompute the gradient independently at the fitted point.
        let mut g = [0.0; 3];
        for (row, label) in x.rows().into_iter().zip(labels) {
            let z = row[0] * m.coefficients()[0][0]
                + row[1] * m.coefficients()[0][1]
                + m.intercepts()[0];
            let r = sigmoid(z) - if label == "p" { 1.0 } else { 0.0 };
            g[0] += c * r * row[0];
            g[1] += c * r * row[1];
            g[2] += c * r;
        }
        g[0] += m.coefficients()[0][0];
        g[1] += m.coefficients()[0][1];
        for gi in g {
            assert!(gi.abs() < 1e-6 * c * 6.0 + 1e-12, "{g:?}");
        }
    }

    #[test]
    fn separable_data_stays_finite() {
        let x = array![[-3.0], [-2.0], [-1.0], [1.0], [2.0], [3.0]];
        let labels = ["a", "a", "a", "b", "b", "b"];
        let m = fit_with(x, &labels, LogisticRegressionParams::default()).unwrap();
        assert!(m.converged());
        assert!(m.coefficients()[0][0].is_finite() && m.coefficients()[0][0] > 0.0);
        let strong = fit_with(
            array![[-1.0], [1.0]],
            &["a", "b"],
            LogisticRegressionParams::default().with_c(1e8),
        )
        .unwrap();
        assert!(strong.coefficients()[0][0].is_finite());
    }

    #[test]
    fn constant_and_duplicate_columns_do_not_break_the_solver() {
        let x = array![
            [1.0, 1.0, 4.0],
            [2.0, 2.0, 4.0],
            [3.0, 3.0, 4.0],
            [4.0, 4.0, 4.0]
        ];
        let m = fit_with(
            x,
            &["a", "b", "a", "b"],
            LogisticRegressionParams::default(),
        )
        .unwrap();
        assert!(m.converged());
        // A constant column is absorbed by the unpenalised intercept.
        assert!(
            m.coefficients()[0][2].abs() < 1e-5,
            "{:?}",
            m.coefficients()
        );
        assert!((m.coefficients()[0][0] - m.coefficients()[0][1]).abs() < 1e-9);
    }

    #[test]
    fn rejects_single_class_targets() {
        let e = fit_with(
            array![[1.0], [2.0]],
            &["a", "a"],
            LogisticRegressionParams::default(),
        )
        .unwrap_err();
        assert!(matches!(e, TrainError::WrongClassCount { .. }), "{e}");
    }

    #[test]
    fn probabilities_sum_to_one_and_match_predict_positive() {
        let x = array![[0.0], [1.0], [2.0], [3.0]];
        let m = fit_with(
            x.clone(),
            &["a", "b", "a", "b"],
            LogisticRegressionParams::default(),
        )
        .unwrap();
        let f = Features::dense(vec!["x0".into()], x).unwrap();
        let Predictions::Classification { probabilities, .. } = m.predict(&f).unwrap() else {
            panic!("classification expected")
        };
        let positive = m.predict_positive(&f).unwrap();
        for (row, p) in probabilities.rows().into_iter().zip(positive) {
            assert_eq!(row[1], p);
            assert!((row[0] + row[1] - 1.0).abs() < 1e-15);
        }
    }
}
