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
//! The solver is dense: memory is `n × p` for the centred copy of the
//! features plus `p × p` for the normal equations, which suits up to a few
//! thousand features.

use mlrig_core::ndarray::{Array1, ArrayView1, Axis};
use mlrig_core::{Artifact, Fit, ParamGuard, Predict, Predictions, Task};
use serde::{Deserialize, Serialize};

use crate::cholesky::solve_spd;
use crate::dataset::{Dataset, check_feature_names, check_finite_features};
use crate::error::{Result, TrainError};
use crate::linear_score::linear_scores;
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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LinearRegressionParams {
    l2_penalty: f64,
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
        let x = features.to_dense();
        let y = ArrayView1::from(data.target().values());
        let rows = n as f64;
        let x_mean = x.sum_axis(Axis(0)) / rows;
        let y_mean = y.sum() / rows;
        let centered = x - x_mean.view().insert_axis(Axis(0));
        let y_centered = y.mapv(|v| v - y_mean);

        let mut gram = centered.t().dot(&centered);
        for j in 0..gram.nrows() {
            gram[[j, j]] += self.l2_penalty;
        }
        let rhs = centered.t().dot(&y_centered);
        let solution = solve_spd(&gram, &rhs, "linear regression normal equations")?;
        let intercept = y_mean - x_mean.dot(&solution.x);
        if !intercept.is_finite() {
            return Err(TrainError::Numerical {
                what: "linear regression".into(),
                reason: "the intercept is not finite (features or target too large?)".into(),
            });
        }
        Ok(LinearRegression {
            feature_names: features.names().to_vec(),
            target: data.target().name().to_string(),
            coefficients: solution.x.to_vec(),
            intercept,
            l2_penalty: self.l2_penalty,
            stabilizing_ridge: solution.ridge,
        })
    }
}

impl<'a> Fit<Dataset<'a, RegressionTarget>> for LinearRegressionParams {
    type Fitted = LinearRegression;
    type Error = TrainError;

    /// Checks the parameters, then fits.
    fn fit(&self, data: &Dataset<'a, RegressionTarget>) -> Result<LinearRegression> {
        self.clone().check()?.fit(data)
    }
}

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
pub struct LinearRegression {
    feature_names: Vec<String>,
    target: String,
    coefficients: Vec<f64>,
    intercept: f64,
    l2_penalty: f64,
    stabilizing_ridge: f64,
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

    #[test]
    fn single_row_predicts_its_target() {
        let m = fit(array![[3.0]], vec![7.0], 0.0).unwrap();
        assert_eq!(m.coefficients(), [0.0]);
        assert_eq!(m.intercept(), 7.0);
    }
}
