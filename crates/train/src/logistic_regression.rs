//! Binary logistic regression with an L2 penalty, fitted by Newton's method.
//!
//! The objective is scikit-learn's `LogisticRegression(C=c, penalty="l2")`:
//!
//! ```text
//! minimise over w, b:   C · Σᵢ logloss(yᵢ, σ(xᵢ·w + b))  +  ½ ‖w‖²
//! ```
//!
//! with `yᵢ ∈ {0, 1}` (1 = the positive class, the second in sorted order) and
//! the intercept `b` not penalised. Because `‖w‖²` is penalised the minimum is
//! finite even when the classes are linearly separable.
//!
//! **Optimiser.** Newton's method on centred features (which does not change
//! the objective, as `b` is unpenalised, but conditions the Hessian): each
//! step solves `H δ = g` by Cholesky (see the `cholesky` module; a singular
//! Hessian gets a minimal ridge), followed by a backtracking (Armijo) line
//! search that halves the step until the objective decreases.
//!
//! **Convergence** is declared when the largest absolute component of the
//! gradient of the *averaged* objective `(1/n)·Σ logloss + ‖w‖²/(2·C·n)`
//! (the gradient above divided by `C·n`) is at most the tolerance — the same
//! scaling and norm as scikit-learn's `lbfgs` solver, so `tol` means the same
//! thing in both, whatever the number of rows. The fitted model records the
//! Newton iterations used, whether it converged, and that final gradient norm.
//!
//! **Numerical stability.** σ and `log(1 + e^t)` are evaluated in forms that
//! never overflow, so saturated probabilities give finite losses.

use mlrig_core::ndarray::{Array1, Array2, Axis, Slice};
use mlrig_core::{Artifact, Fit, ParamGuard, Predict, Predictions, Task};
use serde::{Deserialize, Serialize};

use crate::cholesky::solve_spd;
use crate::dataset::{Dataset, check_feature_names, check_finite_features};
use crate::error::{Result, TrainError};
use crate::linear_score::linear_scores;
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
pub struct LogisticRegressionParams {
    c: f64,
    max_iterations: usize,
    tolerance: f64,
}

impl Default for LogisticRegressionParams {
    /// scikit-learn's defaults: `C = 1`, 100 iterations, tolerance `1e-6`
    /// (scikit-learn's `tol` default is `1e-4`; Newton reaches `1e-6` in a
    /// few more steps).
    fn default() -> Self {
        Self {
            c: 1.0,
            max_iterations: 100,
            tolerance: 1e-6,
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

    /// The most Newton iterations to run (≥ 1); default 100.
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
}

/// Validated parameters of logistic regression; [`Fit`] them to a [`Dataset`].
///
/// ```
/// use mlrig_core::ParamGuard;
/// use mlrig_train::LogisticRegressionParams;
/// let p = LogisticRegressionParams::default().check()?;
/// assert_eq!((p.c(), p.max_iterations(), p.tolerance()), (1.0, 100, 1e-6));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionValidParams {
    c: f64,
    max_iterations: usize,
    tolerance: f64,
}

impl LogisticRegressionValidParams {
    /// Inverse regularisation strength `C`.
    ///
    /// See [`LogisticRegressionValidParams`] for an example.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// The most Newton iterations.
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

/// The penalised objective `C Σ logloss + ½‖w‖²` at `theta = [w, b]`.
fn objective(design: &Array2<f64>, y: &[bool], theta: &Array1<f64>, c: f64, p: usize) -> f64 {
    let z = design.dot(theta);
    let loss: f64 = z
        .iter()
        .zip(y)
        .map(|(&z, &positive)| if positive { softplus(-z) } else { softplus(z) })
        .sum();
    let penalty: f64 = theta.iter().take(p).map(|w| w * w).sum();
    c * loss + 0.5 * penalty
}

/// Armijo sufficient-decrease constant of the line search.
const ARMIJO: f64 = 1e-4;
/// The most step halvings per line search.
const MAX_HALVINGS: usize = 50;

impl<'a> Fit<Dataset<'a, ClassTarget>> for LogisticRegressionValidParams {
    type Fitted = LogisticRegression;
    type Error = TrainError;

    fn fit(&self, data: &Dataset<'a, ClassTarget>) -> Result<LogisticRegression> {
        let target = data.target();
        let y = target.positive_indicator()?;
        let features = data.features();
        check_finite_features(features)?;
        let n = features.nrows();
        let p = features.ncols();
        let positives = y.iter().filter(|&&v| v).count();
        if positives == 0 || positives == n {
            return Err(TrainError::WrongClassCount {
                column: target.name().into(),
                expected: "both classes present in the training rows".into(),
                classes: target.classes().to_vec(),
            });
        }
        let rows = n as f64;
        let c = self.c;

        // Design matrix [centred features | 1].
        let x = features.to_dense();
        let x_mean = x.sum_axis(Axis(0)) / rows;
        let mut design = Array2::<f64>::ones((n, p + 1));
        design
            .slice_axis_mut(Axis(1), Slice::from(..p))
            .assign(&(x - x_mean.view().insert_axis(Axis(0))));

        let mut theta = Array1::<f64>::zeros(p + 1);
        theta[p] = libm::log(positives as f64 / (n - positives) as f64);
        let y_value: Array1<f64> = y.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect();

        let mut iterations = 0;
        let mut converged = false;
        let gradient_norm = loop {
            let z = design.dot(&theta);
            let prob = z.mapv(sigmoid);
            let mut gradient = design.t().dot(&(&prob - &y_value)) * c;
            for j in 0..p {
                gradient[j] += theta[j];
            }
            let norm = gradient.iter().fold(0.0f64, |m, g| m.max(g.abs())) / (c * rows);
            if !norm.is_finite() {
                return Err(TrainError::Numerical {
                    what: "logistic regression".into(),
                    reason: "the gradient is not finite (features too large?)".into(),
                });
            }
            if norm <= self.tolerance {
                converged = true;
                break norm;
            }
            if iterations == self.max_iterations {
                break norm;
            }

            // Newton step: H = C·Xᵀ diag(p(1−p)) X + diag(1, …, 1, 0).
            let root_weight = prob.mapv(|q| (c * q * (1.0 - q)).sqrt());
            let weighted = &design * &root_weight.view().insert_axis(Axis(1));
            let mut hessian = weighted.t().dot(&weighted);
            for j in 0..p {
                hessian[[j, j]] += 1.0;
            }
            let step = solve_spd(&hessian, &gradient, "logistic regression Newton step")?.x;

            let current = objective(&design, &y, &theta, c, p);
            let slope = gradient.dot(&step);
            let mut t = 1.0;
            let mut accepted = None;
            for _ in 0..MAX_HALVINGS {
                let candidate = &theta - &(&step * t);
                if objective(&design, &y, &candidate, c, p) <= current - ARMIJO * t * slope {
                    accepted = Some(candidate);
                    break;
                }
                t *= 0.5;
            }
            iterations += 1;
            match accepted {
                Some(next) => theta = next,
                // No decrease is representable any more: the optimum is
                // reached to working precision.
                None => break norm,
            }
        };

        let weights = theta.slice_axis(Axis(0), Slice::from(..p));
        let coefficients = weights.to_vec();
        let intercept = theta[p] - x_mean.dot(&weights);
        if !intercept.is_finite() || coefficients.iter().any(|w| !w.is_finite()) {
            return Err(TrainError::Numerical {
                what: "logistic regression".into(),
                reason: "the coefficients are not finite".into(),
            });
        }
        Ok(LogisticRegression {
            feature_names: features.names().to_vec(),
            target: target.name().to_string(),
            classes: target.classes().to_vec(),
            coefficients,
            intercept,
            c,
            iterations,
            converged,
            gradient_norm,
        })
    }
}

impl<'a> Fit<Dataset<'a, ClassTarget>> for LogisticRegressionParams {
    type Fitted = LogisticRegression;
    type Error = TrainError;

    /// Checks the parameters, then fits.
    fn fit(&self, data: &Dataset<'a, ClassTarget>) -> Result<LogisticRegression> {
        self.clone().check()?.fit(data)
    }
}

/// A fitted binary logistic regression: `P(positive | x) = σ(x·w + b)`.
///
/// ```
/// use mlrig_core::{Features, Fit, ndarray::array};
/// use mlrig_train::{ClassTarget, Dataset, LogisticRegressionParams};
/// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0], [2.0], [3.0]])?;
/// let y = ClassTarget::from_labels("y", ["a", "b", "a", "b"]);
/// let model = LogisticRegressionParams::default().fit(&Dataset::new(&x, &y)?)?;
/// assert_eq!(model.classes(), ["a", "b"]);
/// assert!(model.converged() && model.iterations() < 10);
/// let p = model.predict_positive(&x)?;
/// assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    feature_names: Vec<String>,
    target: String,
    classes: Vec<String>,
    coefficients: Vec<f64>,
    intercept: f64,
    c: f64,
    iterations: usize,
    converged: bool,
    gradient_norm: f64,
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

    /// `[negative, positive]` class labels, the probability-column order.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// One coefficient per feature (log-odds per unit).
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The intercept (log-odds at `x = 0`, not penalised).
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The `C` the model was fitted with.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// Newton iterations used.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the gradient criterion was met within the iteration limit.
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ndarray::array};
    /// use mlrig_train::{ClassTarget, Dataset, LogisticRegressionParams};
    /// // Separable data with a weak penalty needs many steps; one is not enough.
    /// let x = Features::dense(vec!["x".into()], array![[-1.0], [1.0]])?;
    /// let y = ClassTarget::from_labels("y", ["a", "b"]);
    /// let params = LogisticRegressionParams::default().with_c(1e6).with_max_iterations(1);
    /// let model = params.fit(&Dataset::new(&x, &y)?)?;
    /// assert!(!model.converged());
    /// assert_eq!(model.iterations(), 1);
    /// assert!(model.gradient_norm() > 1e-6);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// The final max-abs gradient of the averaged objective (see the module docs).
    ///
    /// See [`LogisticRegression::converged`] for an example.
    pub fn gradient_norm(&self) -> f64 {
        self.gradient_norm
    }

    /// What the model predicts: classification with its two classes.
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

    /// The probability of the positive class for each row.
    ///
    /// See [`LogisticRegression`] for an example.
    pub fn predict_positive(&self, features: &mlrig_core::Features) -> Result<Vec<f64>> {
        check_feature_names(&self.feature_names, features)?;
        Ok(linear_scores(features, &self.coefficients, self.intercept)?
            .into_iter()
            .map(sigmoid)
            .collect())
    }
}

impl Predict for LogisticRegression {
    type Error = TrainError;

    fn predict(&self, features: &mlrig_core::Features) -> Result<Predictions> {
        check_feature_names(&self.feature_names, features)?;
        let scores = linear_scores(features, &self.coefficients, self.intercept)?;
        let mut probabilities = Array2::<f64>::zeros((scores.len(), 2));
        for (mut row, z) in probabilities.rows_mut().into_iter().zip(scores) {
            // σ(−z) rather than 1 − σ(z): accurate when σ(z) is near 1.
            row[0] = sigmoid(-z);
            row[1] = sigmoid(z);
        }
        Ok(Predictions::Classification {
            classes: self.classes.clone(),
            probabilities,
        })
    }
}

impl Artifact for LogisticRegression {
    const KIND: &'static str = "mlrig.train.logistic_regression";
    // Version 2: values computed with the `libm` crate (deterministic math, issue 8) may differ in the last bit from version 1 files.
    const FORMAT_VERSION: u32 = 2;
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
            let z = row[0] * m.coefficients()[0] + row[1] * m.coefficients()[1] + m.intercept();
            let r = sigmoid(z) - if label == "p" { 1.0 } else { 0.0 };
            g[0] += c * r * row[0];
            g[1] += c * r * row[1];
            g[2] += c * r;
        }
        g[0] += m.coefficients()[0];
        g[1] += m.coefficients()[1];
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
        assert!(m.coefficients()[0].is_finite() && m.coefficients()[0] > 0.0);
        let strong = fit_with(
            array![[-1.0], [1.0]],
            &["a", "b"],
            LogisticRegressionParams::default().with_c(1e8),
        )
        .unwrap();
        assert!(strong.coefficients()[0].is_finite());
    }

    #[test]
    fn constant_and_duplicate_columns_do_not_break_newton() {
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
        assert_eq!(m.coefficients()[2], 0.0);
        assert!((m.coefficients()[0] - m.coefficients()[1]).abs() < 1e-9);
    }

    #[test]
    fn rejects_non_binary_and_single_class_targets() {
        let e = fit_with(
            array![[1.0], [2.0], [3.0]],
            &["a", "b", "c"],
            LogisticRegressionParams::default(),
        )
        .unwrap_err();
        assert!(matches!(e, TrainError::WrongClassCount { .. }), "{e}");
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
