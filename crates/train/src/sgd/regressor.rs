//! [`SgdRegressor`]: linear regression by SGD (scikit-learn's `SGDRegressor`).

use mlrig_core::ndarray::Array1;
use mlrig_core::{Artifact, Features, Fit, ParamGuard, Predict, Predictions, Task};
use serde::{Deserialize, Serialize};

use super::epochs::{LinearFunction, Problem, run_epochs};
use super::learning_rate::LearningRate;
use super::loss::{LossFunction, SgdRegressorLoss};
use super::params::sgd_params;
use super::rows::Rows;
use crate::dataset::{Dataset, check_feature_names, check_finite_features, fit_after_check};
use crate::error::{Result, TrainError};
use crate::linear_score::linear_scores;
use crate::target::{RegressionTarget, Target};

sgd_params! {
    /// Parameters of an SGD regressor, before validation; the defaults are
    /// scikit-learn's `SGDRegressor()` defaults, with `seed` 0.
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ParamGuard, ndarray::array};
    /// use mlrig_train::{Dataset, LearningRate, RegressionTarget, SgdRegressorParams};
    ///
    /// let x = Features::dense(vec!["x".into()], array![[0.0], [0.5], [1.0], [1.5], [2.0]])?;
    /// let y = RegressionTarget::new("y", vec![1.0, 2.0, 3.0, 4.0, 5.0])?;
    /// let model = SgdRegressorParams::default()
    ///     .with_learning_rate(LearningRate::Constant)
    ///     .with_eta0(0.05)
    ///     .with_tolerance(None)
    ///     .with_max_iter(2000)
    ///     .check()?
    ///     .fit(&Dataset::new(&x, &y)?)?;
    /// assert!((model.coefficients()[0] - 2.0).abs() < 0.05);
    /// assert!((model.intercept() - 1.0).abs() < 0.05);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    ///
    #[doc = include_str!("algorithm.md")]
    pub struct SgdRegressorParams checked as SgdRegressorValidParams {
        first {
            loss: SgdRegressorLoss = SgdRegressorLoss::SquaredError,
            epsilon: f64 = 0.1,
        }
        shared { learning_rate: LearningRate::InvScaling, power_t: 0.25 }
        last {}
    }
    /// scikit-learn's defaults: squared error (Huber `epsilon = 0.1`),
    /// `alpha = 1e-4`, `invscaling` with `eta0 = 0.01` and `power_t = 0.25`,
    /// an intercept, 1000 epochs at most, `tol = 1e-3` over 5 epochs,
    /// shuffled rows, sparse intercept decay 0.01.
    impl Default;
}

impl SgdRegressorParams {
    /// The loss; default [`SgdRegressorLoss::SquaredError`].
    ///
    /// ```
    /// # use mlrig_core::ParamGuard;
    /// use mlrig_train::{SgdRegressorLoss, SgdRegressorParams};
    /// let p = SgdRegressorParams::default().with_loss(SgdRegressorLoss::Huber).check()?;
    /// assert_eq!(p.loss(), SgdRegressorLoss::Huber);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_loss(mut self, loss: SgdRegressorLoss) -> Self {
        self.loss = loss;
        self
    }

    /// Where the Huber loss turns from quadratic to linear (finite, ≥ 0);
    /// default 0.1. Unused by `squared_error`.
    ///
    /// ```
    /// # use mlrig_core::ParamGuard;
    /// use mlrig_train::SgdRegressorParams;
    /// assert!(SgdRegressorParams::default().with_epsilon(-1.0).check().is_err());
    /// assert_eq!(SgdRegressorParams::default().with_epsilon(1.35).check()?.epsilon(), 1.35);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
}

/// Validated parameters of an SGD regressor: [`Fit`] them to a
/// [`Dataset`], or [`start`](Self::start) an untrained model for
/// [`SgdRegressor::partial_fit`]. (De)serialises as
/// [`SgdRegressorParams`], validating on the way in.
///
/// ```
/// use mlrig_core::ParamGuard;
/// use mlrig_train::{LearningRate, SgdRegressorLoss, SgdRegressorParams};
/// let p = SgdRegressorParams::default().check()?;
/// assert_eq!((p.loss(), p.epsilon(), p.alpha()), (SgdRegressorLoss::SquaredError, 0.1, 1e-4));
/// assert_eq!((p.learning_rate(), p.eta0(), p.power_t()), (LearningRate::InvScaling, 0.01, 0.25));
/// assert_eq!((p.fit_intercept(), p.max_iter(), p.tolerance()), (true, 1000, Some(1e-3)));
/// assert_eq!((p.n_iter_no_change(), p.shuffle(), p.seed()), (5, true, 0));
/// assert_eq!(p.sparse_intercept_decay(), 0.01);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SgdRegressorParams", into = "SgdRegressorParams")]
pub struct SgdRegressorValidParams {
    params: SgdRegressorParams,
}

impl SgdRegressorValidParams {
    /// The loss.
    ///
    /// See [`SgdRegressorValidParams`] for an example.
    pub fn loss(&self) -> SgdRegressorLoss {
        self.params.loss
    }

    /// The Huber threshold.
    ///
    /// See [`SgdRegressorValidParams`] for an example.
    pub fn epsilon(&self) -> f64 {
        self.params.epsilon
    }

    /// An untrained model (weights 0, `t = 1`) for `target` and the feature
    /// columns, to be trained batch by batch with [`SgdRegressor::partial_fit`].
    ///
    /// ```
    /// use mlrig_core::{Features, ParamGuard, ndarray::array};
    /// use mlrig_train::{Dataset, RegressionTarget, SgdRegressorParams};
    ///
    /// let mut model = SgdRegressorParams::default().check()?.start("y", vec!["x".into()]);
    /// assert_eq!((model.coefficients(), model.intercept(), model.t()), (&[0.0][..], 0.0, 1));
    /// for batch in [[0.0, 1.0], [2.0, 3.0]] {
    ///     let x = Features::dense(vec!["x".into()], array![[batch[0]], [batch[1]]])?;
    ///     let y = RegressionTarget::new("y", vec![2.0 * batch[0], 2.0 * batch[1]])?;
    ///     model.partial_fit(&Dataset::new(&x, &y)?)?;
    /// }
    /// assert_eq!((model.t(), model.epochs()), (5, 1));
    /// assert!(model.coefficients()[0] > 0.0);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn start(&self, target: impl Into<String>, feature_names: Vec<String>) -> SgdRegressor {
        SgdRegressor {
            coefficients: vec![0.0; feature_names.len()],
            intercept: 0.0,
            feature_names,
            target: target.into(),
            params: self.clone(),
            t: 1,
            epochs: 0,
            converged: false,
        }
    }
}

impl ParamGuard for SgdRegressorParams {
    type Checked = SgdRegressorValidParams;
    type Error = TrainError;

    fn check(self) -> Result<SgdRegressorValidParams> {
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return Err(TrainError::invalid_parameter(
                "epsilon",
                format!("must be finite and >= 0, got {}", self.epsilon),
            ));
        }
        self.check_shared()?;
        Ok(SgdRegressorValidParams { params: self })
    }
}

impl<'a> Fit<Dataset<'a, RegressionTarget>> for SgdRegressorValidParams {
    type Fitted = SgdRegressor;
    type Error = TrainError;

    /// Trains a new model for up to `max_iter` epochs (at least one row).
    fn fit(&self, data: &Dataset<'a, RegressionTarget>) -> Result<SgdRegressor> {
        let features = data.features();
        if features.nrows() == 0 {
            return Err(TrainError::TooFewValues {
                what: "SGD regressor training rows".into(),
                required: 1,
                found: 0,
            });
        }
        let mut model = self.start(data.target().name(), features.names().to_vec());
        model.train(data, self.params.max_iter)?;
        Ok(model)
    }
}

fit_after_check!(SgdRegressorParams, RegressionTarget => SgdRegressor);

/// A linear regression `x·w + b` trained by SGD. Serialises as JSON
/// (validated when read) and continues training with
/// [`partial_fit`](Self::partial_fit) after a save and load.
///
/// ```
/// use mlrig_core::{Features, Fit, Predict, Predictions, Task, ndarray::array};
/// use mlrig_train::{Dataset, RegressionTarget, SgdRegressor, SgdRegressorParams};
///
/// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0], [2.0], [3.0]])?;
/// let y = RegressionTarget::new("y", vec![0.5, 1.5, 2.5, 3.5])?;
/// let model = SgdRegressorParams::default().with_eta0(0.1).fit(&Dataset::new(&x, &y)?)?;
/// assert_eq!((model.feature_names(), model.target()), (&["x".to_string()][..], "y"));
/// assert_eq!(model.task(), Task::Regression);
/// assert!(model.converged());
/// assert_eq!(model.t(), 1 + 4 * model.epochs() as u64);
/// assert_eq!(model.params().eta0(), 0.1);
/// let Predictions::Regression { values } = model.predict(&x)? else { unreachable!() };
/// assert!((values[3] - 3.5).abs() < 0.2, "{values}");
/// assert_eq!(values[3], model.coefficients()[0] * 3.0 + model.intercept());
///
/// let loaded: SgdRegressor = serde_json::from_str(&serde_json::to_string(&model)?)?;
/// assert_eq!(loaded, model);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredSgdRegressor")]
pub struct SgdRegressor {
    feature_names: Vec<String>,
    target: String,
    coefficients: Vec<f64>,
    intercept: f64,
    params: SgdRegressorValidParams,
    t: u64,
    epochs: usize,
    converged: bool,
}

/// [`SgdRegressor`] as read from JSON, before its shapes are checked.
#[derive(Deserialize)]
struct StoredSgdRegressor {
    feature_names: Vec<String>,
    target: String,
    coefficients: Vec<f64>,
    intercept: f64,
    params: SgdRegressorValidParams,
    t: u64,
    epochs: usize,
    converged: bool,
}

impl TryFrom<StoredSgdRegressor> for SgdRegressor {
    type Error = TrainError;

    fn try_from(s: StoredSgdRegressor) -> Result<Self> {
        if s.coefficients.len() != s.feature_names.len() {
            return Err(TrainError::ShapeMismatch {
                expected: format!("{} coefficients (one per feature)", s.feature_names.len()),
                got: format!("{} coefficients", s.coefficients.len()),
            });
        }
        if !(s.intercept.is_finite() && s.coefficients.iter().all(|w| w.is_finite())) || s.t == 0 {
            return Err(TrainError::invalid_parameter(
                "sgd regressor",
                "weights must be finite and t >= 1",
            ));
        }
        Ok(Self {
            feature_names: s.feature_names,
            target: s.target,
            coefficients: s.coefficients,
            intercept: s.intercept,
            params: s.params,
            t: s.t,
            epochs: s.epochs,
            converged: s.converged,
        })
    }
}

impl SgdRegressor {
    /// The feature columns the model was trained on, in order.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The target column.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// One coefficient per feature.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The intercept.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The parameters the model trains with.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn params(&self) -> &SgdRegressorValidParams {
        &self.params
    }

    /// One plus the number of rows trained on (scikit-learn's `t_`), the
    /// counter of the learning-rate schedule.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn t(&self) -> u64 {
        self.t
    }

    /// The epochs of the last training call (scikit-learn's `n_iter_`); 1
    /// after `partial_fit`.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Whether the last training call stopped because the objective stopped
    /// improving; `false` after `partial_fit`.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// What the model predicts: regression.
    ///
    /// See [`SgdRegressor`] for an example.
    pub fn task(&self) -> Task {
        Task::Regression
    }

    /// One epoch over `data`, continuing the learning-rate schedule (`t`
    /// keeps counting), without the data seen before. The features must be
    /// the model's columns. On error the model is unchanged. An empty batch
    /// changes nothing.
    ///
    /// See [`SgdRegressorValidParams::start`] for an example.
    pub fn partial_fit(&mut self, data: &Dataset<'_, RegressionTarget>) -> Result<()> {
        self.train(data, 1)
    }

    fn train(&mut self, data: &Dataset<'_, RegressionTarget>, max_epochs: usize) -> Result<()> {
        let features = data.features();
        check_feature_names(&self.feature_names, features)?;
        check_finite_features(features)?;
        let n = features.nrows();
        if n == 0 {
            return Ok(());
        }
        let problem = Problem {
            rows: Rows::new(features.matrix()),
            targets: data.target().values(),
            sample_weights: data.sample_weights(),
            positive_weight: 1.0,
            negative_weight: 1.0,
        };
        let mut function = LinearFunction {
            coefficients: self.coefficients.clone(),
            intercept: self.intercept,
        };
        let params = &self.params.params;
        let loss = match params.loss {
            SgdRegressorLoss::SquaredError => LossFunction::Squared,
            SgdRegressorLoss::Huber => LossFunction::Huber {
                epsilon: params.epsilon,
            },
        };
        let settings = params.settings(loss, features, max_epochs);
        let outcome = run_epochs(&mut function, &problem, &settings, self.t, "SGD regressor")?;
        self.coefficients = function.coefficients;
        self.intercept = function.intercept;
        self.t = self
            .t
            .saturating_add((outcome.epochs as u64).saturating_mul(n as u64));
        self.epochs = outcome.epochs;
        self.converged = outcome.converged;
        Ok(())
    }
}

impl Predict for SgdRegressor {
    type Error = TrainError;

    fn predict(&self, features: &Features) -> Result<Predictions> {
        check_feature_names(&self.feature_names, features)?;
        let values = linear_scores(features, &self.coefficients, self.intercept)?;
        Ok(Predictions::Regression {
            values: Array1::from(values),
        })
    }
}

impl Artifact for SgdRegressor {
    const KIND: &'static str = "mlrig.train.sgd_regressor";
    const FORMAT_VERSION: u32 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_read_from_hand_written_json() {
        let p: SgdRegressorParams = serde_json::from_str(
            r#"{"$schema": "sgd.schema.json", "loss": "huber", "epsilon": 1.0}"#,
        )
        .unwrap();
        let expected = SgdRegressorParams::default()
            .with_loss(SgdRegressorLoss::Huber)
            .with_epsilon(1.0);
        assert_eq!(p, expected);
        assert!(serde_json::from_str::<SgdRegressorValidParams>(r#"{"eta0": -1}"#).is_err());
    }

    #[test]
    fn deserialising_checks_shapes() {
        let model = SgdRegressorParams::default()
            .check()
            .unwrap()
            .start("y", vec!["x".into()]);
        let mut json = serde_json::to_value(&model).unwrap();
        json["coefficients"] = serde_json::json!([1.0, 2.0]);
        let e = serde_json::from_value::<SgdRegressor>(json).unwrap_err();
        assert!(e.to_string().contains("1 coefficients"), "{e}");
        let mut json = serde_json::to_value(&model).unwrap();
        json["t"] = serde_json::json!(0);
        assert!(serde_json::from_value::<SgdRegressor>(json).is_err());
    }
}
