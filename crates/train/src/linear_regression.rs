//! Ordinary least squares and ridge regression, solved by the normal equations.
//!
//! The objective is scikit-learn's `LinearRegression` (`alpha = 0`) and
//! `Ridge(alpha)`:
//!
//! ```text
//! minimise over w, b:   Σᵢ (yᵢ − xᵢ·w − b)²  +  alpha · ‖w‖²
//! ```
//!
//! The intercept `b` is not penalised. Features and target are centred, so
//! `b = ȳ − x̄·w` and `w` solves `(XcᵀXc + alpha·I) w = Xcᵀyc`, which is
//! factorised by Cholesky after scaling to unit diagonal (see the `cholesky`
//! module). Centring also keeps the system well conditioned.
//!
//! **Singular systems.** With `alpha = 0`, collinear or duplicated columns
//! make `XᵀX` singular. Columns that are constant in the training data get a
//! coefficient of exactly 0. Otherwise, if a pivot is below `1e-10` (relative
//! to the column's variance), the smallest ridge of `1e-9, 1e-7, … , 1` (times
//! each column's sum of squares) that makes the factorisation succeed is
//! added, and reported by [`LinearRegression::stabilizing_ridge`]. For
//! exactly collinear columns this approximates the minimum-norm solution that
//! scikit-learn's `lstsq` returns, with the same predictions.
//!
//! **Memory and scale.** The normal equations are summed over fixed row
//! blocks (in parallel, added in block order, so the result has the same
//! bits for any thread count): a dense block is centred as it is read, a CSR
//! matrix is read through its stored entries and never densified. Memory is
//! the `p × p` system; above 4096 features the same objective is minimised
//! by L-BFGS / Newton-CG instead (memory linear in `p`, tolerance `1e-10`
//! on the averaged gradient). Sample weights (scikit-learn's
//! `sample_weight`) multiply each row's squared error.

use mlrig_core::ndarray::{Array1, Array2, Axis, Slice};
use mlrig_core::{Artifact, FeatureMatrix, Fit, ParamGuard, Predict, Predictions, Task};
use serde::{Deserialize, Serialize};

use crate::cholesky::solve_spd;
use crate::dataset::{Dataset, check_feature_names, check_finite_features, fit_after_check};
use crate::error::{Result, TrainError};
use crate::linear_score::linear_scores;
use crate::optimizer::{Objective, minimize};
use crate::row_blocks::{add_scaled_row, fold_blocks, ncols, row_scores};
use crate::target::{RegressionTarget, Target};

/// Parameters of least-squares regression, before validation.
///
/// ```
/// use mlrig_core::{Features, Fit, ParamGuard, Predict, Predictions, ndarray::array};
/// use mlrig_train::{Dataset, LinearRegressionParams, RegressionTarget};
///
/// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0], [2.0]])?;
/// let y = RegressionTarget::new("y", vec![1.0, 3.0, 5.0])?;
/// let model = LinearRegressionParams::default().check()?.fit(&Dataset::new(&x, &y)?)?;
/// assert!((model.coefficients()[0] - 2.0).abs() < 1e-12);
/// assert!((model.intercept() - 1.0).abs() < 1e-12);
/// let Predictions::Regression { values } = model.predict(&x)? else { unreachable!() };
/// assert!((values[2] - 5.0).abs() < 1e-12);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct LinearRegressionParams {
    /// Ridge penalty `alpha` on `‖w‖²` (0 = ordinary least squares), ≥ 0.
    l2_penalty: f64,
    /// Whether to fit the (unpenalised) intercept; `false` fixes it at 0.
    fit_intercept: bool,
}

impl Default for LinearRegressionParams {
    /// Ordinary least squares with an intercept (scikit-learn's defaults).
    fn default() -> Self {
        Self {
            l2_penalty: 0.0,
            fit_intercept: true,
        }
    }
}

impl LinearRegressionParams {
    /// The ridge penalty `alpha` on `‖w‖²` (scikit-learn's `Ridge(alpha)`);
    /// 0, the default, is ordinary least squares. Must be finite and ≥ 0.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LinearRegressionParams;
    /// assert_eq!(LinearRegressionParams::default().with_l2_penalty(2.0).check()?.l2_penalty(), 2.0);
    /// assert!(LinearRegressionParams::default().with_l2_penalty(-1.0).check().is_err());
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_l2_penalty(mut self, alpha: f64) -> Self {
        self.l2_penalty = alpha;
        self
    }

    /// Whether to fit the intercept (scikit-learn's `fit_intercept`);
    /// default `true`. With `false` the features and target are not centred
    /// and the intercept is 0.
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ndarray::array};
    /// use mlrig_train::{Dataset, LinearRegressionParams, RegressionTarget};
    /// let x = Features::dense(vec!["x".into()], array![[1.0], [2.0]])?;
    /// let y = RegressionTarget::new("y", vec![3.0, 5.0])?;
    /// let model = LinearRegressionParams::default().with_fit_intercept(false).fit(&Dataset::new(&x, &y)?)?;
    /// assert_eq!(model.intercept(), 0.0);
    /// assert!((model.coefficients()[0] - 13.0 / 5.0).abs() < 1e-12); // Σxy / Σx²
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_fit_intercept(mut self, fit_intercept: bool) -> Self {
        self.fit_intercept = fit_intercept;
        self
    }
}

/// Validated parameters of least-squares regression; [`Fit`] them to a [`Dataset`].
///
/// ```
/// use mlrig_core::ParamGuard;
/// use mlrig_train::LinearRegressionParams;
/// let checked = LinearRegressionParams::default().check()?;
/// assert_eq!(checked.l2_penalty(), 0.0);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegressionValidParams {
    l2_penalty: f64,
    fit_intercept: bool,
}

impl LinearRegressionValidParams {
    /// The ridge penalty `alpha`.
    ///
    /// ```
    /// # use mlrig_core::ParamGuard;
    /// # use mlrig_train::LinearRegressionParams;
    /// assert_eq!(LinearRegressionParams::default().check()?.l2_penalty(), 0.0);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn l2_penalty(&self) -> f64 {
        self.l2_penalty
    }
}

impl ParamGuard for LinearRegressionParams {
    type Checked = LinearRegressionValidParams;
    type Error = TrainError;

    fn check(self) -> Result<LinearRegressionValidParams> {
        if !(self.l2_penalty.is_finite() && self.l2_penalty >= 0.0) {
            return Err(TrainError::invalid_parameter(
                "l2_penalty",
                format!("must be finite and >= 0, got {}", self.l2_penalty),
            ));
        }
        Ok(LinearRegressionValidParams {
            l2_penalty: self.l2_penalty,
            fit_intercept: self.fit_intercept,
        })
    }
}

impl<'a> Fit<Dataset<'a, RegressionTarget>> for LinearRegressionValidParams {
    type Fitted = LinearRegression;
    type Error = TrainError;

    fn fit(&self, data: &Dataset<'a, RegressionTarget>) -> Result<LinearRegression> {
        let features = data.features();
        let n = features.nrows();
        if n == 0 {
            return Err(TrainError::TooFewValues {
                what: "linear regression: training rows".into(),
                required: 1,
                found: 0,
            });
        }
        check_finite_features(features)?;
        let y = data.target().values();
        let weights: Vec<f64> = match data.sample_weights() {
            Some(w) => w.to_vec(),
            None => vec![1.0; n],
        };
        let (x_mean, y_mean) = if self.fit_intercept {
            weighted_means(features.matrix(), y, &weights)
        } else {
            // No centring: the model passes through the origin.
            (vec![0.0; features.ncols()], 0.0)
        };
        let (coefficients, stabilizing_ridge) = if features.ncols() <= MAX_NORMAL_EQUATIONS {
            let (gram, rhs) =
                centred_normal_equations(features.matrix(), y, &weights, &x_mean, y_mean);
            let mut gram = gram;
            for j in 0..gram.nrows() {
                gram[[j, j]] += self.l2_penalty;
            }
            let solution = solve_spd(&gram, &rhs, "linear regression normal equations")?;
            (solution.x.to_vec(), solution.ridge)
        } else {
            (
                self.fit_iteratively(features.matrix(), y, &weights, &x_mean, y_mean)?,
                0.0,
            )
        };
        let intercept = y_mean
            - x_mean
                .iter()
                .zip(&coefficients)
                .map(|(m, w)| m * w)
                .sum::<f64>();
        if !intercept.is_finite() || coefficients.iter().any(|w| !w.is_finite()) {
            return Err(TrainError::Numerical {
                what: "linear regression".into(),
                reason:
                    "the coefficients are not finite (features or target too large? scale them)"
                        .into(),
            });
        }
        Ok(LinearRegression {
            feature_names: features.names().to_vec(),
            target: data.target().name().to_string(),
            coefficients,
            intercept,
            l2_penalty: self.l2_penalty,
            stabilizing_ridge,
        })
    }
}

/// The widest matrix solved by the normal equations (a `p × p` Gram matrix
/// and its Cholesky factor: 128 MiB at 4096); wider ones are fitted
/// iteratively with memory linear in `p`.
const MAX_NORMAL_EQUATIONS: usize = 4096;

impl LinearRegressionValidParams {
    /// Minimises `½·Σ wᵢ (yᵢ − ȳ − (xᵢ − x̄)·w)² + ½·α‖w‖²` (the same optimum
    /// as the normal equations) with L-BFGS / Newton-CG, for wide matrices.
    fn fit_iteratively(
        &self,
        matrix: &FeatureMatrix,
        y: &[f64],
        weights: &[f64],
        x_mean: &[f64],
        y_mean: f64,
    ) -> Result<Vec<f64>> {
        let total: f64 = weights.iter().sum();
        let objective = LeastSquares {
            matrix,
            y,
            weights,
            x_mean,
            y_mean,
            inverse_total_weight: 1.0 / total,
            penalty: self.l2_penalty / total,
        };
        let minimum =
            minimize(&objective, vec![0.0; x_mean.len()], 1e-10, 10_000).ok_or_else(|| {
                TrainError::Numerical {
                    what: "linear regression".into(),
                    reason:
                        "the objective is not finite (features or target too large? scale them)"
                            .into(),
                }
            })?;
        Ok(minimum.x)
    }
}

/// Weighted column means of the features and the mean of the target.
fn weighted_means(matrix: &FeatureMatrix, y: &[f64], weights: &[f64]) -> (Vec<f64>, f64) {
    let p = ncols(matrix);
    let mut sums = vec![0.0; p + 2];
    fold_blocks(
        matrix,
        &mut sums,
        |rows| {
            let mut partial = vec![0.0; p + 2];
            for row in rows {
                let w = weights.get(row).copied().unwrap_or(0.0);
                add_scaled_row(matrix, row, w, &mut partial[..p], 0);
                partial[p] += w * y.get(row).copied().unwrap_or(0.0);
                partial[p + 1] += w;
            }
            partial
        },
        |total, partial| total.iter_mut().zip(partial).for_each(|(t, v)| *t += v),
    );
    let total = sums[p + 1];
    let y_mean = sums[p] / total;
    sums.truncate(p);
    sums.iter_mut().for_each(|s| *s /= total);
    (sums, y_mean)
}

/// The centred weighted normal equations `XcᵀWXc` and `XcᵀW(y − ȳ)`, summed
/// over row blocks in block order. Dense blocks are centred as they are
/// read; a CSR matrix is never densified: its uncentred sums are corrected
/// by `S·x̄x̄ᵀ` at the end.
fn centred_normal_equations(
    matrix: &FeatureMatrix,
    y: &[f64],
    weights: &[f64],
    x_mean: &[f64],
    y_mean: f64,
) -> (Array2<f64>, Array1<f64>) {
    let p = x_mean.len();
    let mut total = (Array2::<f64>::zeros((p, p)), Array1::<f64>::zeros(p), 0.0);
    fold_blocks(
        matrix,
        &mut total,
        |rows| {
            let mut gram = Array2::<f64>::zeros((p, p));
            let mut rhs = Array1::<f64>::zeros(p);
            let mut weight = 0.0;
            match matrix {
                FeatureMatrix::Dense(m) => {
                    let mut block = m.slice_axis(Axis(0), Slice::from(rows.clone())).to_owned();
                    for (mut row, i) in block.rows_mut().into_iter().zip(rows) {
                        let root = weights.get(i).copied().unwrap_or(0.0).sqrt();
                        row.iter_mut()
                            .zip(x_mean)
                            .for_each(|(x, m)| *x = (*x - m) * root);
                        let target = (y.get(i).copied().unwrap_or(0.0) - y_mean) * root;
                        rhs.scaled_add(target, &row);
                    }
                    gram = block.t().dot(&block);
                }
                FeatureMatrix::Sparse(m) => {
                    for i in rows {
                        let w = weights.get(i).copied().unwrap_or(0.0);
                        let target = w * (y.get(i).copied().unwrap_or(0.0) - y_mean);
                        weight += w;
                        let Some(view) = m.outer_view(i) else {
                            continue;
                        };
                        for (j, &xj) in view.iter() {
                            rhs[j] += target * xj;
                            for (k, &xk) in view.iter() {
                                gram[[j, k]] += w * xj * xk;
                            }
                        }
                    }
                }
            }
            (gram, rhs, weight)
        },
        |(gram, rhs, weight), (g, r, w)| {
            *gram += &g;
            *rhs += &r;
            *weight += w;
        },
    );
    let (mut gram, rhs, weight) = total;
    if matches!(matrix, FeatureMatrix::Sparse(_)) {
        // Σ w (x − x̄)(x − x̄)ᵀ = Σ w x xᵀ − S x̄ x̄ᵀ; the target is already
        // centred, and Σ w (y − ȳ) = 0 removes the x̄ term of the right side.
        for j in 0..p {
            for k in 0..p {
                gram[[j, k]] -= weight * x_mean[j] * x_mean[k];
            }
        }
    }
    (gram, rhs)
}

/// The averaged ridge objective on implicitly centred data, for wide matrices.
struct LeastSquares<'a> {
    matrix: &'a FeatureMatrix,
    y: &'a [f64],
    weights: &'a [f64],
    x_mean: &'a [f64],
    y_mean: f64,
    inverse_total_weight: f64,
    /// `α / S`.
    penalty: f64,
}

impl LeastSquares<'_> {
    /// `Xc·v` for row `row`: `x·v − x̄·v`, centring without densifying.
    fn centred_score(&self, row: usize, v: &[f64], mean_score: f64) -> f64 {
        let mut score = [0.0];
        row_scores(self.matrix, row, v, &[0.0], &mut score);
        score[0] - mean_score
    }

    /// `(1/S)·Xcᵀ W r(row)` accumulated in blocks, where `residual` maps a
    /// row to its weighted residual; the `− x̄·Σr` term applies the centring.
    fn pull_back(&self, residual: impl Fn(usize) -> f64 + Sync, out: &mut [f64]) {
        let p = self.x_mean.len();
        let mut total = vec![0.0; p + 1];
        fold_blocks(
            self.matrix,
            &mut total,
            |rows| {
                let mut partial = vec![0.0; p + 1];
                for row in rows {
                    let r = residual(row);
                    add_scaled_row(self.matrix, row, r, &mut partial[..p], 0);
                    partial[p] += r;
                }
                partial
            },
            |t, partial| t.iter_mut().zip(partial).for_each(|(t, v)| *t += v),
        );
        for ((o, t), m) in out.iter_mut().zip(&total).zip(self.x_mean) {
            *o = (t - m * total[p]) * self.inverse_total_weight;
        }
    }
}

impl Objective for LeastSquares<'_> {
    fn value_and_gradient(&self, w: &[f64], gradient: &mut [f64]) -> f64 {
        let mean_score: f64 = self.x_mean.iter().zip(w).map(|(m, w)| m * w).sum();
        let residual = |row: usize| {
            let weight = self.weights.get(row).copied().unwrap_or(0.0);
            let target = self.y.get(row).copied().unwrap_or(0.0) - self.y_mean;
            weight * (self.centred_score(row, w, mean_score) - target)
        };
        self.pull_back(residual, gradient);
        let mut loss = 0.0;
        fold_blocks(
            self.matrix,
            &mut loss,
            |rows| {
                rows.map(|row| {
                    let weight = self.weights.get(row).copied().unwrap_or(0.0);
                    let target = self.y.get(row).copied().unwrap_or(0.0) - self.y_mean;
                    let e = self.centred_score(row, w, mean_score) - target;
                    weight * e * e
                })
                .fold(0.0, |a, b| a + b)
            },
            |total, part| *total += part,
        );
        let mut penalty = 0.0;
        for (g, w) in gradient.iter_mut().zip(w) {
            *g += self.penalty * w;
            penalty += w * w;
        }
        0.5 * loss * self.inverse_total_weight + 0.5 * self.penalty * penalty
    }

    fn hessian_vector(&self, _w: &[f64], v: &[f64], out: &mut [f64]) -> bool {
        let mean_score: f64 = self.x_mean.iter().zip(v).map(|(m, v)| m * v).sum();
        let product = |row: usize| {
            self.weights.get(row).copied().unwrap_or(0.0) * self.centred_score(row, v, mean_score)
        };
        self.pull_back(product, out);
        out.iter_mut()
            .zip(v)
            .for_each(|(o, v)| *o += self.penalty * v);
        true
    }
}

fit_after_check!(LinearRegressionParams, RegressionTarget => LinearRegression);

/// A fitted linear regression: `ŷ = x·w + b`.
///
/// ```
/// use mlrig_core::{Features, Fit, Predict, ndarray::array};
/// use mlrig_train::{Dataset, LinearRegressionParams, RegressionTarget};
/// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
/// let y = RegressionTarget::new("y", vec![0.0, 2.0])?;
/// let model = LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?;
/// assert_eq!(model.feature_names(), ["x"]);
/// assert_eq!(model.stabilizing_ridge(), 0.0);
/// // Predicting with other columns is an error, not a silent misalignment.
/// let other = Features::dense(vec!["z".into()], array![[1.0]])?;
/// assert!(model.predict(&other).unwrap_err().is_invalid_input());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredLinearRegression")]
pub struct LinearRegression {
    feature_names: Vec<String>,
    target: String,
    coefficients: Vec<f64>,
    intercept: f64,
    l2_penalty: f64,
    stabilizing_ridge: f64,
}

/// [`LinearRegression`] as read from JSON, before its shape is checked.
#[derive(Deserialize)]
struct StoredLinearRegression {
    feature_names: Vec<String>,
    target: String,
    coefficients: Vec<f64>,
    intercept: f64,
    l2_penalty: f64,
    stabilizing_ridge: f64,
}

impl TryFrom<StoredLinearRegression> for LinearRegression {
    type Error = TrainError;

    fn try_from(s: StoredLinearRegression) -> Result<Self> {
        if s.coefficients.len() != s.feature_names.len() {
            return Err(TrainError::ShapeMismatch {
                expected: format!("{} coefficients (one per feature)", s.feature_names.len()),
                got: format!("{} coefficients", s.coefficients.len()),
            });
        }
        Ok(Self {
            feature_names: s.feature_names,
            target: s.target,
            coefficients: s.coefficients,
            intercept: s.intercept,
            l2_penalty: s.l2_penalty,
            stabilizing_ridge: s.stabilizing_ridge,
        })
    }
}

impl LinearRegression {
    /// The feature columns the model was trained on, in order.
    ///
    /// See [`LinearRegression`] for an example.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The target column the model was trained on.
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, ndarray::array};
    /// # use mlrig_train::{Dataset, LinearRegressionParams, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// # let y = RegressionTarget::new("price", vec![0.0, 2.0])?;
    /// let model = LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?;
    /// assert_eq!(model.target(), "price");
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn target(&self) -> &str {
        &self.target
    }

    /// One coefficient per feature, in [`feature_names`](Self::feature_names) order.
    ///
    /// See [`LinearRegressionParams`] for an example.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The intercept `b` (not penalised).
    ///
    /// See [`LinearRegressionParams`] for an example.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The ridge penalty `alpha` the model was fitted with.
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, ndarray::array};
    /// # use mlrig_train::{Dataset, LinearRegressionParams, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// # let y = RegressionTarget::new("y", vec![0.0, 2.0])?;
    /// let model = LinearRegressionParams::default().with_l2_penalty(1.0).fit(&Dataset::new(&x, &y)?)?;
    /// assert_eq!(model.l2_penalty(), 1.0);
    /// assert!(model.coefficients()[0] < 2.0); // shrunk towards 0
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn l2_penalty(&self) -> f64 {
        self.l2_penalty
    }

    /// The extra ridge, relative to each column's centred sum of squares,
    /// that was needed because the normal equations were singular (collinear
    /// features); 0 when none was needed.
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ndarray::array};
    /// use mlrig_train::{Dataset, LinearRegressionParams, RegressionTarget};
    /// // Two identical columns: OLS has no unique solution.
    /// let x = Features::dense(vec!["a".into(), "b".into()], array![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])?;
    /// let y = RegressionTarget::new("y", vec![0.0, 2.0, 4.0])?;
    /// let model = LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?;
    /// assert!(model.stabilizing_ridge() > 0.0);
    /// assert!((model.coefficients()[0] - 1.0).abs() < 1e-6); // minimum-norm split
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn stabilizing_ridge(&self) -> f64 {
        self.stabilizing_ridge
    }

    /// What the model predicts: [`Task::Regression`].
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, Task, ndarray::array};
    /// # use mlrig_train::{Dataset, LinearRegressionParams, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// # let y = RegressionTarget::new("y", vec![0.0, 2.0])?;
    /// # let model = LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?;
    /// assert_eq!(model.task(), Task::Regression);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn task(&self) -> Task {
        Task::Regression
    }

    /// The predicted values, one per row.
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, ndarray::array};
    /// # use mlrig_train::{Dataset, LinearRegressionParams, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// # let y = RegressionTarget::new("y", vec![0.0, 2.0])?;
    /// # let model = LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?;
    /// let v = model.predict_values(&x)?;
    /// assert!((v[1] - 2.0).abs() < 1e-12);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn predict_values(&self, features: &mlrig_core::Features) -> Result<Vec<f64>> {
        check_feature_names(&self.feature_names, features)?;
        linear_scores(features, &self.coefficients, self.intercept)
    }
}

impl Predict for LinearRegression {
    type Error = TrainError;

    fn predict(&self, features: &mlrig_core::Features) -> Result<Predictions> {
        Ok(Predictions::Regression {
            values: Array1::from(self.predict_values(features)?),
        })
    }
}

impl Artifact for LinearRegression {
    const KIND: &'static str = "mlrig.train.linear_regression";
    const FORMAT_VERSION: u32 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::Features;
    use mlrig_core::ndarray::{Array2, array};

    fn fit(x: Array2<f64>, y: Vec<f64>, alpha: f64) -> Result<LinearRegression> {
        let names: Vec<String> = (0..x.ncols()).map(|j| format!("x{j}")).collect();
        let f = Features::dense(names, x)?;
        let y = RegressionTarget::new("y", y)?;
        LinearRegressionParams::default()
            .with_l2_penalty(alpha)
            .fit(&Dataset::new(&f, &y)?)
    }

    #[test]
    fn recovers_an_exact_linear_function() {
        let x = array![[1.0, 2.0], [2.0, -1.0], [3.0, 0.5], [4.0, 4.0], [-2.0, 1.0]];
        let y: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| 3.0 * r[0] - 2.0 * r[1] + 0.5)
            .collect();
        let m = fit(x, y, 0.0).unwrap();
        assert!((m.coefficients()[0] - 3.0).abs() < 1e-12);
        assert!((m.coefficients()[1] + 2.0).abs() < 1e-12);
        assert!((m.intercept() - 0.5).abs() < 1e-12);
        assert_eq!(m.stabilizing_ridge(), 0.0);
    }

    #[test]
    fn ridge_matches_the_closed_form_and_leaves_the_intercept_alone() {
        // One feature: w = Sxy / (Sxx + alpha), b = ȳ − x̄ w (sklearn Ridge).
        let x = array![[1.0], [2.0], [4.0]];
        let y = vec![1.0, 3.0, 2.0];
        // x̄ = 7/3, ȳ = 2; Sxx = 14/3, Sxy = 1.
        let m = fit(x, y, 1.0).unwrap();
        let w = 1.0 / (14.0 / 3.0 + 1.0);
        assert!((m.coefficients()[0] - w).abs() < 1e-14);
        assert!((m.intercept() - (2.0 - 7.0 / 3.0 * w)).abs() < 1e-14);
    }

    #[test]
    fn constant_columns_get_zero_weight_and_duplicates_a_minimal_ridge() {
        let x = array![
            [1.0, 5.0, 1.0],
            [2.0, 5.0, 2.0],
            [3.0, 5.0, 3.0],
            [5.0, 5.0, 5.0]
        ];
        let y = vec![2.0, 4.0, 6.0, 10.0];
        let m = fit(x.clone(), y, 0.0).unwrap();
        assert_eq!(m.coefficients()[1], 0.0);
        assert!(m.stabilizing_ridge() > 0.0);
        let f = Features::dense(vec!["x0".into(), "x1".into(), "x2".into()], x).unwrap();
        for (p, t) in m
            .predict_values(&f)
            .unwrap()
            .iter()
            .zip([2.0, 4.0, 6.0, 10.0])
        {
            assert!((p - t).abs() < 1e-6, "{p} vs {t}");
        }
    }

    #[test]
    fn rejects_bad_parameters_and_data() {
        for alpha in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(
                LinearRegressionParams::default()
                    .with_l2_penalty(alpha)
                    .check()
                    .is_err()
            );
        }
        let e = fit(Array2::zeros((0, 2)), vec![], 0.0).unwrap_err();
        assert!(matches!(e, TrainError::TooFewValues { .. }), "{e}");
        let e = fit(array![[1.0], [f64::NAN]], vec![1.0, 2.0], 0.0).unwrap_err();
        assert!(matches!(e, TrainError::NonFinite { row: 1, .. }), "{e}");
        let e = fit(array![[1e300], [-1e300]], vec![1.0, 2.0], 0.0).unwrap_err();
        assert!(matches!(e, TrainError::Numerical { .. }), "{e}");
    }

    fn wavy(n: usize, p: usize) -> (Array2<f64>, Vec<f64>) {
        let x = Array2::from_shape_fn((n, p), |(i, j)| {
            if (i + 2 * j) % 3 == 0 {
                0.0
            } else {
                libm::sin((i * p + j) as f64 * 0.37) * (j + 1) as f64
            }
        });
        let y = (0..n)
            .map(|i| libm::cos(i as f64 * 0.11) * 3.0 + x[[i, 0]] - 0.5 * x[[i, p - 1]])
            .collect();
        (x, y)
    }

    #[test]
    fn sparse_weighted_and_iterative_fits_agree_with_the_dense_normal_equations() {
        let (x, y) = wavy(300, 6);
        let names: Vec<String> = (0..6).map(|j| format!("x{j}")).collect();
        let dense = Features::dense(names, x.clone()).unwrap();
        let target = RegressionTarget::new("y", y.clone()).unwrap();
        let params = LinearRegressionParams::default()
            .with_l2_penalty(0.3)
            .check()
            .unwrap();
        let reference = params.fit(&Dataset::new(&dense, &target).unwrap()).unwrap();
        let close = |a: &LinearRegression, tolerance: f64| {
            for (p, q) in a.coefficients().iter().chain([&a.intercept()]).zip(
                reference
                    .coefficients()
                    .iter()
                    .chain([&reference.intercept()]),
            ) {
                assert!((p - q).abs() < tolerance, "{p} vs {q}");
            }
        };
        let sparse = dense.to_sparse_features();
        close(
            &params
                .fit(&Dataset::new(&sparse, &target).unwrap())
                .unwrap(),
            1e-11,
        );

        // Integer weights = repeated rows.
        let weights: Vec<f64> = (0..300).map(|i| (i % 3) as f64).collect();
        let weighted = params
            .fit(
                &Dataset::new(&dense, &target)
                    .unwrap()
                    .with_sample_weights(&weights)
                    .unwrap(),
            )
            .unwrap();
        let repeated: Vec<usize> = (0..300)
            .flat_map(|i| std::iter::repeat_n(i, i % 3))
            .collect();
        let xr = Features::dense(
            (0..6).map(|j| format!("x{j}")).collect::<Vec<_>>(),
            x.select(Axis(0), &repeated),
        )
        .unwrap();
        let yr = RegressionTarget::new("y", repeated.iter().map(|&i| y[i]).collect()).unwrap();
        let expanded = params.fit(&Dataset::new(&xr, &yr).unwrap()).unwrap();
        for (a, b) in weighted.coefficients().iter().zip(expanded.coefficients()) {
            assert!((a - b).abs() < 1e-11, "{a} vs {b}");
        }

        // The iterative solver for wide data reaches the same optimum.
        let ones = vec![1.0; 300];
        let (x_mean, y_mean) = weighted_means(dense.matrix(), &y, &ones);
        let iterative = params
            .fit_iteratively(sparse.matrix(), &y, &ones, &x_mean, y_mean)
            .unwrap();
        for (a, b) in iterative.iter().zip(reference.coefficients()) {
            assert!((a - b).abs() < 1e-8, "{a} vs {b}");
        }
    }

    #[test]
    fn single_row_predicts_its_target() {
        let m = fit(array![[3.0]], vec![7.0], 0.0).unwrap();
        assert_eq!(m.coefficients(), [0.0]);
        assert_eq!(m.intercept(), 7.0);
    }
}
