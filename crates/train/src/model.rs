//! [`Model`]: any fitted model of this crate, the content of a bundle's `model.json`.

use mlrig_core::ndarray::Array3;
use mlrig_core::{Artifact, Features, Predict, Predictions, Task};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::gbdt::GradientBoosting;
use crate::linear_regression::LinearRegression;
use crate::logistic_regression::LogisticRegression;
use crate::sgd::{SgdClassifier, SgdRegressor};

/// A fitted model of any kind; serialises as `{"linear_regression": {…}}` or
/// `{"logistic_regression": {…}}` inside the artifact envelope
/// (kind `mlrig.train.model`, format version 3).
///
/// ```
/// use mlrig_core::{Artifact, Features, Fit, Predict, ndarray::array};
/// use mlrig_train::{Dataset, LinearRegressionParams, Model, RegressionTarget};
///
/// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
/// let y = RegressionTarget::new("y", vec![1.0, 3.0])?;
/// let model = Model::from(LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?);
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("model.json");
/// model.save(&path, &[])?;
/// let loaded = Model::load(&path)?.value;
/// assert_eq!(loaded.predict(&x)?, model.predict(&x)?);
/// assert_eq!(loaded.feature_names(), ["x"]);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Model {
    /// Least squares or ridge regression.
    LinearRegression(LinearRegression),
    /// Logistic regression, binary or multinomial.
    LogisticRegression(LogisticRegression),
    /// A linear classifier trained by SGD (updatable with `partial_fit`).
    SgdClassifier(SgdClassifier),
    /// A linear regressor trained by SGD (updatable with `partial_fit`).
    SgdRegressor(SgdRegressor),
    /// Gradient-boosted trees (`partial_fit` adds rounds); boxed, as an
    /// ensemble is much larger than a linear model's header.
    Gbdt(Box<GradientBoosting>),
}

impl Model {
    /// The feature columns the model expects, in order.
    ///
    /// See [`Model`] for an example.
    pub fn feature_names(&self) -> &[String] {
        match self {
            Model::LinearRegression(m) => m.feature_names(),
            Model::LogisticRegression(m) => m.feature_names(),
            Model::SgdClassifier(m) => m.feature_names(),
            Model::SgdRegressor(m) => m.feature_names(),
            Model::Gbdt(m) => m.feature_names(),
        }
    }

    /// The target column the model was trained on.
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, ndarray::array};
    /// # use mlrig_train::{Dataset, LinearRegressionParams, Model, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// # let y = RegressionTarget::new("price", vec![1.0, 3.0])?;
    /// let model = Model::from(LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?);
    /// assert_eq!(model.target(), "price");
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn target(&self) -> &str {
        match self {
            Model::LinearRegression(m) => m.target(),
            Model::LogisticRegression(m) => m.target(),
            Model::SgdClassifier(m) => m.target(),
            Model::SgdRegressor(m) => m.target(),
            Model::Gbdt(m) => m.target(),
        }
    }

    /// How the optimiser ended, for iterative fits (`None` for the closed-form
    /// least squares): iterations (L-BFGS/Newton-CG steps, or SGD epochs)
    /// and whether the tolerance was reached.
    ///
    /// ```
    /// use mlrig_core::{Features, ndarray::array};
    /// use mlrig_train::{ClassTarget, ModelSpec, TaskKind, TrainingTarget};
    /// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0], [2.0], [3.0]])?;
    /// let y = TrainingTarget::Classes(ClassTarget::from_labels("y", ["a", "b", "a", "b"]));
    /// let model = ModelSpec::for_task(TaskKind::Classification).fit(&x, &y, None)?;
    /// let convergence = model.convergence().unwrap();
    /// assert!(convergence.converged && convergence.iterations > 0);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn convergence(&self) -> Option<Convergence> {
        match self {
            Model::LinearRegression(_) => None,
            Model::LogisticRegression(m) => Some(Convergence {
                iterations: m.iterations(),
                converged: m.converged(),
            }),
            Model::SgdClassifier(m) => Some(Convergence {
                iterations: m.epochs(),
                converged: m.converged(),
            }),
            Model::SgdRegressor(m) => Some(Convergence {
                iterations: m.epochs(),
                converged: m.converged(),
            }),
            // Boosting runs its rounds (or stops early by design).
            Model::Gbdt(_) => None,
        }
    }

    /// The family's name, as in [`ModelSpec`](crate::ModelSpec) (`logistic_regression`, …).
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, ndarray::array};
    /// # use mlrig_train::{Dataset, LinearRegressionParams, Model, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// # let y = RegressionTarget::new("y", vec![1.0, 3.0])?;
    /// let model = Model::from(LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?);
    /// assert_eq!(model.name(), "linear_regression");
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Model::LinearRegression(_) => "linear_regression",
            Model::LogisticRegression(_) => "logistic_regression",
            Model::SgdClassifier(_) => "sgd_classifier",
            Model::SgdRegressor(_) => "sgd_regressor",
            Model::Gbdt(_) => "gbdt",
        }
    }

    /// The largest absolute coefficient or intercept (`NaN` if any is not
    /// finite): what the numerical-stability gate looks at, since exploding
    /// weights mean an ill-posed fit even when the metrics look fine.
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, ndarray::array};
    /// # use mlrig_train::{Dataset, LinearRegressionParams, Model, RegressionTarget};
    /// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// let y = RegressionTarget::new("y", vec![1.0, -3.0])?;
    /// let model = Model::from(LinearRegressionParams::default().fit(&mlrig_train::Dataset::new(&x, &y)?)?);
    /// assert!((model.largest_weight() - 4.0).abs() < 1e-12);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn largest_weight(&self) -> f64 {
        let weights: Box<dyn Iterator<Item = f64> + '_> = match self {
            Model::LinearRegression(m) => {
                Box::new(m.coefficients().iter().copied().chain([m.intercept()]))
            }
            Model::LogisticRegression(m) => Box::new(
                m.coefficients()
                    .iter()
                    .flatten()
                    .chain(m.intercepts())
                    .copied(),
            ),
            Model::SgdClassifier(m) => Box::new(
                m.coefficients()
                    .iter()
                    .flatten()
                    .chain(m.intercepts())
                    .copied(),
            ),
            Model::SgdRegressor(m) => {
                Box::new(m.coefficients().iter().copied().chain([m.intercept()]))
            }
            Model::Gbdt(m) => Box::new(
                m.trees()
                    .iter()
                    .flat_map(|t| t.leaves.iter().map(|l| l.value))
                    .chain(m.base_scores().iter().copied()),
            ),
        };
        weights.fold(0.0, |largest: f64, w| {
            if w.is_finite() && !largest.is_nan() {
                largest.max(w.abs())
            } else {
                f64::NAN
            }
        })
    }

    /// Updates an SGD model with one more epoch over new rows, or adds the
    /// spec's rounds of trees fitted on them to a boosted ensemble (online
    /// learning: the old rows are not needed). Other families are refitted
    /// from scratch instead, so they refuse, naming the way out.
    ///
    /// ```
    /// use mlrig_core::{Features, ndarray::array};
    /// use mlrig_train::{ClassTarget, ModelSpec, TrainingTarget};
    /// let x = Features::dense(vec!["x".into()], array![[-1.0], [1.0], [-2.0], [2.0]])?;
    /// let y = TrainingTarget::Classes(ClassTarget::from_labels("y", ["a", "b", "a", "b"]));
    /// let spec: ModelSpec = serde_json::from_str(r#"{"sgd_classifier": {"loss": "log_loss"}}"#).unwrap();
    /// let mut model = spec.fit(&x, &y, None)?;
    /// model.partial_fit(&x, &y, None)?;
    /// let mut other = ModelSpec::for_task(mlrig_train::TaskKind::Classification).fit(&x, &y, None)?;
    /// assert!(other.partial_fit(&x, &y, None).unwrap_err().to_string().contains("sgd_"));
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn partial_fit(
        &mut self,
        features: &Features,
        target: &crate::TrainingTarget,
        sample_weights: Option<&[f64]>,
    ) -> Result<()> {
        use crate::{Dataset, TrainingTarget};
        match (self, target) {
            (Model::SgdClassifier(m), TrainingTarget::Classes(y)) => {
                m.partial_fit(&Dataset::weighted(features, y, sample_weights)?)
            }
            (Model::SgdRegressor(m), TrainingTarget::Values(y)) => {
                m.partial_fit(&Dataset::weighted(features, y, sample_weights)?)
            }
            (Model::Gbdt(m), TrainingTarget::Classes(y)) => {
                m.fit_more(&Dataset::weighted(features, y, sample_weights)?)
            }
            (Model::Gbdt(m), TrainingTarget::Values(y)) => {
                m.fit_more(&Dataset::weighted(features, y, sample_weights)?)
            }
            (model, _) => Err(crate::TrainError::invalid_parameter(
                "warm start",
                format!(
                    "only sgd_classifier, sgd_regressor and gbdt models can be updated with new rows \
                     (this is a {} model of task {:?}, the target was read for {:?}); retrain it instead",
                    model.name(),
                    model.task(),
                    target.task()
                ),
            )),
        }
    }

    /// Split-count and gain importances per feature (tree models only).
    ///
    /// See [`GradientBoosting::importances`].
    pub fn importances(&self) -> Option<Vec<crate::FeatureImportance>> {
        match self {
            Model::Gbdt(m) => Some(m.importances()),
            _ => None,
        }
    }

    /// Per-feature contributions to each prediction on the raw score scale,
    /// `rows × groups × (features + 1)` with the bias last; see
    /// [`GradientBoosting::contributions`]. Only gbdt models have them (a
    /// linear model's are its coefficients times the centred features).
    ///
    /// ```
    /// use mlrig_core::{Features, ndarray::array};
    /// use mlrig_train::{ModelSpec, RegressionTarget, TaskKind, TrainingTarget};
    /// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0], [2.0], [3.0]])?;
    /// let y = TrainingTarget::Values(RegressionTarget::new("y", vec![0.0, 1.0, 2.0, 3.0])?);
    /// let linear = ModelSpec::for_task(TaskKind::Regression).fit(&x, &y, None)?;
    /// let e = linear.contributions(&x).unwrap_err();
    /// assert!(e.to_string().contains("only gbdt models"), "{e}");
    /// let spec: ModelSpec = serde_json::from_str(r#"{"gbdt": {"rounds": 3, "min_samples_leaf": 1}}"#).unwrap();
    /// assert_eq!(spec.fit(&x, &y, None)?.contributions(&x)?.dim(), (4, 1, 2));
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn contributions(&self, features: &Features) -> Result<Array3<f64>> {
        match self {
            Model::Gbdt(m) => m.contributions(features),
            model => Err(crate::TrainError::invalid_parameter(
                "contributions",
                format!(
                    "only gbdt models have per-prediction contributions (TreeSHAP); \
                     this is a {} model",
                    model.name()
                ),
            )),
        }
    }

    /// What the model predicts (for serving metadata).
    ///
    /// ```
    /// # use mlrig_core::{Features, Fit, Task, ndarray::array};
    /// # use mlrig_train::{Dataset, LinearRegressionParams, Model, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// # let y = RegressionTarget::new("y", vec![1.0, 3.0])?;
    /// let model = Model::from(LinearRegressionParams::default().fit(&Dataset::new(&x, &y)?)?);
    /// assert_eq!(model.task(), Task::Regression);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn task(&self) -> Task {
        match self {
            Model::LinearRegression(m) => m.task(),
            Model::LogisticRegression(m) => m.task(),
            Model::SgdClassifier(m) => m.task(),
            Model::SgdRegressor(m) => m.task(),
            Model::Gbdt(m) => m.task(),
        }
    }
}

/// How an iterative fit ended (see [`Model::convergence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Convergence {
    /// Optimiser iterations (L-BFGS / Newton-CG steps) or SGD epochs.
    pub iterations: usize,
    /// Whether the tolerance was reached before the iteration limit.
    pub converged: bool,
}

impl From<LinearRegression> for Model {
    fn from(model: LinearRegression) -> Self {
        Model::LinearRegression(model)
    }
}

impl From<LogisticRegression> for Model {
    fn from(model: LogisticRegression) -> Self {
        Model::LogisticRegression(model)
    }
}

impl From<SgdClassifier> for Model {
    fn from(model: SgdClassifier) -> Self {
        Model::SgdClassifier(model)
    }
}

impl From<SgdRegressor> for Model {
    fn from(model: SgdRegressor) -> Self {
        Model::SgdRegressor(model)
    }
}

impl From<GradientBoosting> for Model {
    fn from(model: GradientBoosting) -> Self {
        Model::Gbdt(Box::new(model))
    }
}

impl Predict for Model {
    type Error = crate::TrainError;

    fn predict(&self, features: &Features) -> Result<Predictions> {
        match self {
            Model::LinearRegression(m) => m.predict(features),
            Model::LogisticRegression(m) => m.predict(features),
            Model::SgdClassifier(m) => m.predict(features),
            Model::SgdRegressor(m) => m.predict(features),
            Model::Gbdt(m) => m.predict(features),
        }
    }
}

impl Artifact for Model {
    const KIND: &'static str = "mlrig.train.model";
    // Version 3: logistic regression may be multinomial (coefficients one row
    // per weight vector, intercepts a list). Version 2: `libm` math.
    const FORMAT_VERSION: u32 = 3;
}
