//! [`SgdClassifier`]: linear classification by SGD (scikit-learn's `SGDClassifier`).

use std::collections::BTreeSet;

use mlrig_core::ndarray::Array2;
use mlrig_core::{Artifact, Features, Fit, ParamGuard, Predict, Predictions, Task};
use serde::{Deserialize, Serialize};

use super::epochs::{LinearFunction, Problem, run_epochs};
use super::learning_rate::LearningRate;
use super::loss::{LossFunction, SgdClassifierLoss};
use super::params::sgd_params;
use super::probabilities::row_probabilities;
use super::rows::Rows;
use crate::class_weight::ClassWeight;
use crate::dataset::{Dataset, check_feature_names, check_finite_features, fit_after_check};
use crate::error::{Result, TrainError};
use crate::linear_score::linear_scores;
use crate::target::{ClassTarget, Target};

sgd_params! {
    /// Parameters of an SGD classifier, before validation; the defaults are
    /// scikit-learn's `SGDClassifier()` defaults, with `seed` 0.
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ParamGuard, Predict, ndarray::array};
    /// use mlrig_train::{ClassTarget, Dataset, LearningRate, SgdClassifierLoss, SgdClassifierParams};
    ///
    /// let x = Features::dense(vec!["x".into()], array![[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])?;
    /// let y = ClassTarget::from_labels("y", ["no", "no", "no", "yes", "yes", "yes"]);
    /// let model = SgdClassifierParams::default()
    ///     .with_loss(SgdClassifierLoss::LogLoss)
    ///     .with_learning_rate(LearningRate::Optimal)
    ///     .with_alpha(0.01)
    ///     .check()?
    ///     .fit(&Dataset::new(&x, &y)?)?;
    /// assert_eq!(model.classes(), ["no", "yes"]);
    /// assert_eq!(model.predict(&x)?.labels(), Some(vec![0, 0, 0, 1, 1, 1]));
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    ///
    #[doc = include_str!("algorithm.md")]
    pub struct SgdClassifierParams checked as SgdClassifierValidParams {
        first { loss: SgdClassifierLoss = SgdClassifierLoss::Hinge }
        shared { learning_rate: LearningRate::Optimal, power_t: 0.5 }
        last { class_weight: ClassWeight = ClassWeight::Uniform }
    }
    /// scikit-learn's defaults: hinge loss, `alpha = 1e-4`, `optimal` rate
    /// (`eta0 = 0.01`, `power_t = 0.5` for the other rates), an intercept,
    /// 1000 epochs at most, `tol = 1e-3` over 5 epochs, shuffled rows,
    /// uniform class weights, sparse intercept decay 0.01.
    impl Default;
}

impl SgdClassifierParams {
    /// The loss; default [`SgdClassifierLoss::Hinge`].
    ///
    /// ```
    /// # use mlrig_core::ParamGuard;
    /// use mlrig_train::{SgdClassifierLoss, SgdClassifierParams};
    /// let p = SgdClassifierParams::default().with_loss(SgdClassifierLoss::ModifiedHuber).check()?;
    /// assert_eq!(p.loss(), SgdClassifierLoss::ModifiedHuber);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_loss(mut self, loss: SgdClassifierLoss) -> Self {
        self.loss = loss;
        self
    }

    /// Per-class weights; default [`ClassWeight::Uniform`].
    ///
    /// ```
    /// # use mlrig_core::ParamGuard;
    /// use mlrig_train::{ClassWeight, SgdClassifierParams};
    /// let p = SgdClassifierParams::default().with_class_weight(ClassWeight::Balanced).check()?;
    /// assert_eq!(p.class_weight(), ClassWeight::Balanced);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.class_weight = class_weight;
        self
    }
}

/// Validated parameters of an SGD classifier: [`Fit`] them to a
/// [`Dataset`], or [`start`](Self::start) an untrained model for
/// [`SgdClassifier::partial_fit`]. (De)serialises as
/// [`SgdClassifierParams`], validating on the way in.
///
/// ```
/// use mlrig_core::ParamGuard;
/// use mlrig_train::{ClassWeight, LearningRate, SgdClassifierLoss, SgdClassifierParams};
/// let p = SgdClassifierParams::default().check()?;
/// assert_eq!((p.loss(), p.alpha(), p.learning_rate()), (SgdClassifierLoss::Hinge, 1e-4, LearningRate::Optimal));
/// assert_eq!((p.eta0(), p.power_t(), p.fit_intercept()), (0.01, 0.5, true));
/// assert_eq!((p.max_iter(), p.tolerance(), p.n_iter_no_change()), (1000, Some(1e-3), 5));
/// assert_eq!((p.shuffle(), p.seed(), p.class_weight()), (true, 0, ClassWeight::Uniform));
/// assert_eq!(p.sparse_intercept_decay(), 0.01);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SgdClassifierParams", into = "SgdClassifierParams")]
pub struct SgdClassifierValidParams {
    params: SgdClassifierParams,
}

impl SgdClassifierValidParams {
    /// The loss.
    ///
    /// See [`SgdClassifierValidParams`] for an example.
    pub fn loss(&self) -> SgdClassifierLoss {
        self.params.loss
    }

    /// The class weighting.
    ///
    /// See [`SgdClassifierValidParams`] for an example.
    pub fn class_weight(&self) -> ClassWeight {
        self.params.class_weight
    }

    /// An untrained model (all weights 0, `t = 1`) for `target` with the
    /// complete list of `classes` (at least 2, distinct; the positive class
    /// of a binary model is the second) and the feature columns, to be
    /// trained batch by batch with [`SgdClassifier::partial_fit`].
    /// [`ClassWeight::Balanced`] is refused: it needs the labels of `fit`.
    ///
    /// ```
    /// use mlrig_core::{Features, ParamGuard, ndarray::array};
    /// use mlrig_train::{ClassTarget, Dataset, SgdClassifierLoss, SgdClassifierParams};
    ///
    /// let params = SgdClassifierParams::default().with_loss(SgdClassifierLoss::LogLoss).check()?;
    /// let classes = vec!["cat".to_string(), "dog".into(), "fox".into()];
    /// let mut model = params.start("animal", classes, vec!["weight".into()])?;
    /// assert_eq!((model.t(), model.epochs()), (1, 0));
    ///
    /// // The first batch has no fox: fine, the classes were given up front.
    /// let x = Features::dense(vec!["weight".into()], array![[4.0], [30.0], [5.0]])?;
    /// let y = ClassTarget::from_labels("animal", ["cat", "dog", "cat"]);
    /// model.partial_fit(&Dataset::new(&x, &y)?)?;
    /// assert_eq!(model.t(), 4);
    ///
    /// // A class outside the list is an error.
    /// let y = ClassTarget::from_labels("animal", ["cat", "owl", "cat"]);
    /// let e = model.partial_fit(&Dataset::new(&x, &y)?).unwrap_err();
    /// assert!(e.to_string().contains("owl"), "{e}");
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn start(
        &self,
        target: impl Into<String>,
        classes: Vec<String>,
        feature_names: Vec<String>,
    ) -> Result<SgdClassifier> {
        let target = target.into();
        check_classes(&target, &classes)?;
        if self.params.class_weight == ClassWeight::Balanced {
            return Err(TrainError::invalid_parameter(
                "class_weight",
                "`balanced` needs the class frequencies of the training labels: \
                 use `fit`, or `uniform` for a model trained only by `partial_fit`",
            ));
        }
        let class_weights = vec![1.0; classes.len()];
        Ok(SgdClassifier::untrained(
            self.clone(),
            target,
            classes,
            feature_names,
            class_weights,
        ))
    }
}

impl ParamGuard for SgdClassifierParams {
    type Checked = SgdClassifierValidParams;
    type Error = TrainError;

    fn check(self) -> Result<SgdClassifierValidParams> {
        self.check_shared()?;
        Ok(SgdClassifierValidParams { params: self })
    }
}

/// Fails unless there are at least two distinct classes.
fn check_classes(target: &str, classes: &[String]) -> Result<()> {
    let distinct: BTreeSet<&String> = classes.iter().collect();
    if classes.len() < 2 || distinct.len() != classes.len() {
        return Err(TrainError::WrongClassCount {
            column: target.into(),
            expected: "at least 2 distinct classes".into(),
            classes: classes.to_vec(),
        });
    }
    Ok(())
}

impl<'a> Fit<Dataset<'a, ClassTarget>> for SgdClassifierValidParams {
    type Fitted = SgdClassifier;
    type Error = TrainError;

    /// Trains a new model for up to `max_iter` epochs on the classes present
    /// in `data` (at least 2).
    fn fit(&self, data: &Dataset<'a, ClassTarget>) -> Result<SgdClassifier> {
        let target = data.target();
        check_classes(target.name(), target.classes())?;
        let class_weights = self
            .params
            .class_weight
            .weights(target.labels(), target.classes().len());
        let mut model = SgdClassifier::untrained(
            self.clone(),
            target.name().into(),
            target.classes().to_vec(),
            data.features().names().to_vec(),
            class_weights,
        );
        model.train(data, self.params.max_iter)?;
        Ok(model)
    }
}

fit_after_check!(SgdClassifierParams, ClassTarget => SgdClassifier);

/// A linear classifier trained by SGD: one-vs-rest scores `x·wₖ + bₖ`
/// (a single score of the second class when there are two classes).
/// Serialises as JSON (validated when read) and continues training with
/// [`partial_fit`](Self::partial_fit) after a save and load.
///
/// ```
/// use mlrig_core::{Features, Fit, Predict, Predictions, Task, ndarray::array};
/// use mlrig_train::{ClassTarget, Dataset, SgdClassifier, SgdClassifierLoss, SgdClassifierParams};
///
/// let x = Features::dense(
///     vec!["a".into(), "b".into()],
///     array![[0.0, 1.0], [0.2, 0.9], [1.0, 0.0], [0.9, 0.1], [1.0, 1.0], [0.9, 1.1]],
/// )?;
/// let y = ClassTarget::from_labels("kind", ["up", "up", "right", "right", "both", "both"]);
/// let params = SgdClassifierParams::default().with_loss(SgdClassifierLoss::LogLoss).with_shuffle(false);
/// let model = params.fit(&Dataset::new(&x, &y)?)?;
/// assert_eq!(model.classes(), ["both", "right", "up"]);
/// assert_eq!(model.coefficients().len(), 3); // one-vs-rest: one row per class
/// assert_eq!(model.coefficients()[0].len(), 2);
/// assert_eq!(model.intercepts().len(), 3);
/// assert_eq!(model.class_weights(), [1.0, 1.0, 1.0]);
/// assert_eq!((model.feature_names(), model.target()), (&["a".to_string(), "b".into()][..], "kind"));
/// assert_eq!(model.task(), Task::Classification { classes: model.classes().to_vec() });
/// assert!(model.converged() && model.epochs() < 1000);
/// assert_eq!(model.t(), 1 + 6 * model.epochs() as u64);
/// assert_eq!(model.params().loss(), SgdClassifierLoss::LogLoss);
///
/// let Predictions::Classification { probabilities, .. } = model.predict(&x)? else { unreachable!() };
/// assert!((probabilities.row(0).sum() - 1.0).abs() < 1e-12);
/// assert_eq!(model.decision_function(&x)?.dim(), (6, 3));
///
/// let json = serde_json::to_string(&model)?;
/// let loaded: SgdClassifier = serde_json::from_str(&json)?;
/// assert_eq!(loaded, model);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredSgdClassifier")]
pub struct SgdClassifier {
    feature_names: Vec<String>,
    target: String,
    classes: Vec<String>,
    class_weights: Vec<f64>,
    coefficients: Vec<Vec<f64>>,
    intercepts: Vec<f64>,
    params: SgdClassifierValidParams,
    t: u64,
    epochs: usize,
    converged: bool,
}

/// [`SgdClassifier`] as read from JSON, before its shapes are checked.
#[derive(Deserialize)]
struct StoredSgdClassifier {
    feature_names: Vec<String>,
    target: String,
    classes: Vec<String>,
    class_weights: Vec<f64>,
    coefficients: Vec<Vec<f64>>,
    intercepts: Vec<f64>,
    params: SgdClassifierValidParams,
    t: u64,
    epochs: usize,
    converged: bool,
}

impl TryFrom<StoredSgdClassifier> for SgdClassifier {
    type Error = TrainError;

    fn try_from(s: StoredSgdClassifier) -> Result<Self> {
        check_classes(&s.target, &s.classes)?;
        let functions = function_count(s.classes.len());
        let shape_ok = s.class_weights.len() == s.classes.len()
            && s.coefficients.len() == functions
            && s.intercepts.len() == functions
            && s.coefficients
                .iter()
                .all(|row| row.len() == s.feature_names.len());
        if !shape_ok {
            return Err(TrainError::ShapeMismatch {
                expected: format!(
                    "{} class weights, {functions} coefficient rows of {} and {functions} intercepts",
                    s.classes.len(),
                    s.feature_names.len()
                ),
                got: format!(
                    "{} class weights, {} coefficient rows and {} intercepts",
                    s.class_weights.len(),
                    s.coefficients.len(),
                    s.intercepts.len()
                ),
            });
        }
        let finite = s.coefficients.iter().flatten().chain(&s.intercepts);
        if !finite.clone().all(|v| v.is_finite())
            || !s.class_weights.iter().all(|w| w.is_finite() && *w >= 0.0)
            || s.t == 0
        {
            return Err(TrainError::invalid_parameter(
                "sgd classifier",
                "weights must be finite, class weights finite and >= 0, t >= 1",
            ));
        }
        Ok(Self {
            feature_names: s.feature_names,
            target: s.target,
            classes: s.classes,
            class_weights: s.class_weights,
            coefficients: s.coefficients,
            intercepts: s.intercepts,
            params: s.params,
            t: s.t,
            epochs: s.epochs,
            converged: s.converged,
        })
    }
}

/// One function for a binary problem, one per class otherwise.
fn function_count(classes: usize) -> usize {
    if classes == 2 { 1 } else { classes }
}

impl SgdClassifier {
    fn untrained(
        params: SgdClassifierValidParams,
        target: String,
        classes: Vec<String>,
        feature_names: Vec<String>,
        class_weights: Vec<f64>,
    ) -> Self {
        let functions = function_count(classes.len());
        Self {
            coefficients: vec![vec![0.0; feature_names.len()]; functions],
            intercepts: vec![0.0; functions],
            feature_names,
            target,
            classes,
            class_weights,
            params,
            t: 1,
            epochs: 0,
            converged: false,
        }
    }

    /// The feature columns the model was trained on, in order.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The target column.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The classes, in probability-column order.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The weight of each class's rows (all 1 unless `balanced`).
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn class_weights(&self) -> &[f64] {
        &self.class_weights
    }

    /// The coefficients: one row per class (one-vs-rest), or a single row
    /// scoring the second class when there are two.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn coefficients(&self) -> &[Vec<f64>] {
        &self.coefficients
    }

    /// The intercepts, one per coefficient row.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn intercepts(&self) -> &[f64] {
        &self.intercepts
    }

    /// The parameters the model trains with.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn params(&self) -> &SgdClassifierValidParams {
        &self.params
    }

    /// One plus the number of rows trained on (scikit-learn's `t_`), the
    /// counter of the learning-rate schedule.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn t(&self) -> u64 {
        self.t
    }

    /// The epochs of the last training call (the most over the one-vs-rest
    /// problems; scikit-learn's `n_iter_`); 1 after `partial_fit`.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Whether the last training call stopped because the objective stopped
    /// improving (for every class); `false` after `partial_fit`.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// What the model predicts: classification with its classes.
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn task(&self) -> Task {
        Task::Classification {
            classes: self.classes.clone(),
        }
    }

    /// The scores `x·wₖ + bₖ`: `rows × coefficient rows` (one column for a
    /// binary model, positive = the second class).
    ///
    /// See [`SgdClassifier`] for an example.
    pub fn decision_function(&self, features: &Features) -> Result<Array2<f64>> {
        check_feature_names(&self.feature_names, features)?;
        let mut scores = Array2::zeros((features.nrows(), self.coefficients.len()));
        for (mut column, (weights, &intercept)) in scores
            .columns_mut()
            .into_iter()
            .zip(self.coefficients.iter().zip(&self.intercepts))
        {
            for (cell, score) in column
                .iter_mut()
                .zip(linear_scores(features, weights, intercept)?)
            {
                *cell = score;
            }
        }
        Ok(scores)
    }

    /// One epoch over `data`, continuing the learning-rate schedule (`t`
    /// keeps counting), without the data seen before. The classes of `data`
    /// must be among the model's and its features the model's columns. On
    /// error the model is unchanged. An empty batch changes nothing.
    ///
    /// See [`SgdClassifierValidParams::start`] for an example.
    pub fn partial_fit(&mut self, data: &Dataset<'_, ClassTarget>) -> Result<()> {
        self.train(data, 1)
    }

    fn train(&mut self, data: &Dataset<'_, ClassTarget>, max_epochs: usize) -> Result<()> {
        let features = data.features();
        check_feature_names(&self.feature_names, features)?;
        check_finite_features(features)?;
        let n = features.nrows();
        if n == 0 {
            return Ok(());
        }
        let labels = self.model_labels(data.target())?;
        let params = &self.params.params;
        let settings = params.settings(LossFunction::from(params.loss), features, max_epochs);
        let rows = Rows::new(features.matrix());
        let binary = self.classes.len() == 2;
        let mut trained = Vec::with_capacity(self.coefficients.len());
        let mut epochs = 0;
        let mut converged = true;
        for (k, (coefficients, &intercept)) in
            self.coefficients.iter().zip(&self.intercepts).enumerate()
        {
            let positive = if binary { 1 } else { k };
            let targets: Vec<f64> = labels
                .iter()
                .map(|&label| if label == positive { 1.0 } else { -1.0 })
                .collect();
            let weight_of = |class: usize| self.class_weights.get(class).copied().unwrap_or(1.0);
            let problem = Problem {
                rows,
                targets: &targets,
                sample_weights: data.sample_weights(),
                positive_weight: weight_of(positive),
                // Binary: the negative class's weight; one-vs-rest: 1, as in scikit-learn.
                negative_weight: if binary { weight_of(0) } else { 1.0 },
            };
            let mut function = LinearFunction {
                coefficients: coefficients.clone(),
                intercept,
            };
            let what = format!(
                "SGD classifier (class `{}` vs rest)",
                self.classes.get(positive).map_or("?", String::as_str)
            );
            let outcome = run_epochs(&mut function, &problem, &settings, self.t, &what)?;
            epochs = epochs.max(outcome.epochs);
            converged &= outcome.converged;
            trained.push(function);
        }
        self.coefficients = trained.iter().map(|f| f.coefficients.clone()).collect();
        self.intercepts = trained.iter().map(|f| f.intercept).collect();
        self.t = self
            .t
            .saturating_add((epochs as u64).saturating_mul(n as u64));
        self.epochs = epochs;
        self.converged = converged;
        Ok(())
    }

    /// The model's class index of each row of `target`.
    fn model_labels(&self, target: &ClassTarget) -> Result<Vec<usize>> {
        let index_of_batch_class = target
            .classes()
            .iter()
            .map(|class| {
                self.classes.iter().position(|c| c == class).ok_or_else(|| {
                    TrainError::WrongClassCount {
                        column: target.name().into(),
                        expected: format!(
                            "only the model's classes [{}], not `{class}`",
                            self.classes.join(", ")
                        ),
                        classes: target.classes().to_vec(),
                    }
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        Ok(target
            .labels()
            .iter()
            .map(|&label| index_of_batch_class.get(label).copied().unwrap_or(0))
            .collect())
    }
}

impl Predict for SgdClassifier {
    type Error = TrainError;

    /// Class probabilities, see [`SgdClassifierLoss`] for each loss's.
    fn predict(&self, features: &Features) -> Result<Predictions> {
        let scores = self.decision_function(features)?;
        let mut probabilities = Array2::zeros((features.nrows(), self.classes.len()));
        for (scores, mut out) in scores.rows().into_iter().zip(probabilities.rows_mut()) {
            let scores: Vec<f64> = scores.to_vec();
            let mut row = vec![0.0; out.len()];
            row_probabilities(self.params.loss(), &scores, &mut row);
            for (cell, p) in out.iter_mut().zip(row) {
                *cell = p;
            }
        }
        Ok(Predictions::Classification {
            classes: self.classes.clone(),
            probabilities,
        })
    }
}

impl Artifact for SgdClassifier {
    const KIND: &'static str = "mlrig.train.sgd_classifier";
    const FORMAT_VERSION: u32 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_read_from_hand_written_json() {
        let p: SgdClassifierParams = serde_json::from_str(
            r#"{"$schema": "sgd.schema.json", "loss": "log_loss", "tolerance": null}"#,
        )
        .unwrap();
        let expected = SgdClassifierParams::default()
            .with_loss(SgdClassifierLoss::LogLoss)
            .with_tolerance(None);
        assert_eq!(p, expected);
        assert!(!serde_json::to_string(&p).unwrap().contains("$schema"));
        assert!(serde_json::from_str::<SgdClassifierParams>(r#"{"los": "hinge"}"#).is_err());
        let e = serde_json::from_str::<SgdClassifierValidParams>(r#"{"max_iter": 0}"#).unwrap_err();
        assert!(e.to_string().contains("max_iter"), "{e}");
    }

    #[cfg(feature = "schemars")]
    #[test]
    fn schemas_describe_the_hand_written_parameters() {
        let classifier = schemars::schema_for!(SgdClassifierParams);
        let regressor = schemars::schema_for!(crate::SgdRegressorParams);
        for schema in [&classifier, &regressor] {
            assert!(schema.pointer("/properties/$schema").is_some());
            assert!(schema.pointer("/properties/learning_rate").is_some());
            assert_eq!(schema.pointer("/additionalProperties"), Some(&false.into()));
        }
        assert!(classifier.pointer("/properties/class_weight").is_some());
        assert!(regressor.pointer("/properties/epsilon").is_some());
    }

    #[test]
    fn deserialising_checks_shapes() {
        let params = SgdClassifierParams::default().check().unwrap();
        let model = params
            .start(
                "y",
                vec!["a".into(), "b".into(), "c".into()],
                vec!["x".into()],
            )
            .unwrap();
        let mut json = serde_json::to_value(&model).unwrap();
        json["intercepts"] = serde_json::json!([0.0]);
        let e = serde_json::from_value::<SgdClassifier>(json).unwrap_err();
        assert!(e.to_string().contains("3 intercepts"), "{e}");
        let mut json = serde_json::to_value(&model).unwrap();
        json["params"]["max_iter"] = serde_json::json!(0);
        assert!(serde_json::from_value::<SgdClassifier>(json).is_err());
    }
}
