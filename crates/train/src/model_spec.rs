//! [`ModelSpec`]: which model to fit and with which parameters — one enum
//! over every model family, the `model` part of a training configuration —
//! and [`TrainingTarget`], the target extracted for the chosen task.

use mlrig_core::arrow_array::Array;
use mlrig_core::{Features, Fit};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Result, TrainError};
use crate::gbdt::{GbdtLoss, GradientBoostingParams};
use crate::linear_regression::LinearRegressionParams;
use crate::logistic_regression::LogisticRegressionParams;
use crate::model::Model;
use crate::sgd::{SgdClassifierParams, SgdRegressorParams};
use crate::target::{ClassTarget, RegressionTarget, Target};
use crate::task::TaskKind;

/// A model family and its parameters; serialises as
/// `{"logistic_regression": {"c": 0.5}}` (omitted parameters take their
/// defaults; unknown ones are errors; a `"$schema"` key for editors is
/// accepted and ignored). JSON Schema: `docs/schemas/model-spec.schema.json`.
///
/// ```
/// use mlrig_core::{Features, ndarray::array};
/// use mlrig_train::{ClassTarget, ModelSpec, TaskKind, TrainingTarget};
/// let spec: ModelSpec = serde_json::from_str(r#"{"logistic_regression": {"c": 0.5}}"#).unwrap();
/// assert_eq!(spec.task(), TaskKind::Classification);
/// assert_eq!(ModelSpec::for_task(TaskKind::Regression).task(), TaskKind::Regression);
///
/// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0], [2.0], [3.0]])?;
/// let y = TrainingTarget::Classes(ClassTarget::from_labels("y", ["a", "b", "a", "b"]));
/// let model = spec.fit(&x, &y, None)?;
/// assert_eq!(model.target(), "y");
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schemars", schemars(transform = accept_schema_key))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModelSpec {
    /// Least squares / ridge regression (scikit-learn's `LinearRegression`, `Ridge`).
    LinearRegression(LinearRegressionParams),
    /// L2 logistic regression, binary or multinomial (scikit-learn's `LogisticRegression`).
    LogisticRegression(LogisticRegressionParams),
    /// A linear classifier trained by SGD, updatable batch by batch
    /// (scikit-learn's `SGDClassifier`).
    SgdClassifier(SgdClassifierParams),
    /// A linear regressor trained by SGD, updatable batch by batch
    /// (scikit-learn's `SGDRegressor`).
    SgdRegressor(SgdRegressorParams),
    /// Histogram gradient-boosted trees, classification or regression by
    /// the target (LightGBM's algorithm and defaults).
    Gbdt(GradientBoostingParams),
}

/// The family names, as in the serialised spec.
const FAMILIES: &[&str] = &[
    "linear_regression",
    "logistic_regression",
    "sgd_classifier",
    "sgd_regressor",
    "gbdt",
];

/// One family key (and an optional `"$schema"` key, dropped), by hand
/// because a derived enum cannot skip the editor's `"$schema"` key.
impl<'de> Deserialize<'de> for ModelSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> serde::de::Visitor<'de> for SpecVisitor {
            type Value = ModelSpec;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "an object with one model family key, e.g. {\"logistic_regression\": {}}",
                )
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ModelSpec, A::Error> {
                use serde::de::Error;
                let mut spec = None;
                while let Some(key) = map.next_key::<String>()? {
                    let family = match key.as_str() {
                        "$schema" => {
                            map.next_value::<String>()?;
                            continue;
                        }
                        "linear_regression" => ModelSpec::LinearRegression(map.next_value()?),
                        "logistic_regression" => ModelSpec::LogisticRegression(map.next_value()?),
                        "sgd_classifier" => ModelSpec::SgdClassifier(map.next_value()?),
                        "sgd_regressor" => ModelSpec::SgdRegressor(map.next_value()?),
                        "gbdt" => ModelSpec::Gbdt(map.next_value()?),
                        other => return Err(A::Error::unknown_variant(other, FAMILIES)),
                    };
                    if spec.replace(family).is_some() {
                        return Err(A::Error::custom("expected one model family, found several"));
                    }
                }
                spec.ok_or_else(|| {
                    A::Error::custom(format!(
                        "expected one model family: {}",
                        FAMILIES.join(", ")
                    ))
                })
            }
        }
        deserializer.deserialize_map(SpecVisitor)
    }
}

/// Lets the schema accept the `"$schema"` key next to the family key.
#[cfg(feature = "schemars")]
fn accept_schema_key(schema: &mut schemars::Schema) {
    let key = serde_json::json!({
        "type": "string",
        "description": "The JSON Schema of this file, for editors; accepted and ignored."
    });
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(branches) = object.get_mut("oneOf").and_then(|b| b.as_array_mut()) {
        for branch in branches {
            if let Some(properties) = branch.get_mut("properties").and_then(|p| p.as_object_mut()) {
                properties.insert("$schema".into(), key.clone());
            }
        }
    }
    object.insert("type".into(), "object".into());
    object.insert("properties".into(), serde_json::json!({ "$schema": key }));
}

impl ModelSpec {
    /// The default model for a task: logistic regression for classification,
    /// least squares for regression (and for [`TaskKind::Auto`], which the
    /// caller resolves first with [`infer_task`](crate::infer_task)).
    ///
    /// See [`ModelSpec`] for an example.
    pub fn for_task(task: TaskKind) -> Self {
        match task {
            TaskKind::Classification => {
                ModelSpec::LogisticRegression(LogisticRegressionParams::default())
            }
            _ => ModelSpec::LinearRegression(LinearRegressionParams::default()),
        }
    }

    /// The task this model solves ([`TaskKind::Auto`] for a family that
    /// solves either, decided by the target).
    ///
    /// See [`ModelSpec`] for an example.
    pub fn task(&self) -> TaskKind {
        match self {
            ModelSpec::Gbdt(p) => match p.loss {
                GbdtLoss::LogLoss => TaskKind::Classification,
                GbdtLoss::SquaredError | GbdtLoss::Poisson => TaskKind::Regression,
                _ => TaskKind::Auto,
            },
            ModelSpec::LinearRegression(_) | ModelSpec::SgdRegressor(_) => TaskKind::Regression,
            ModelSpec::LogisticRegression(_) | ModelSpec::SgdClassifier(_) => {
                TaskKind::Classification
            }
        }
    }

    /// The family's name as in the serialised spec (`logistic_regression`).
    ///
    /// ```
    /// use mlrig_train::{ModelSpec, TaskKind};
    /// assert_eq!(ModelSpec::for_task(TaskKind::Classification).name(), "logistic_regression");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::LinearRegression(_) => "linear_regression",
            ModelSpec::LogisticRegression(_) => "logistic_regression",
            ModelSpec::SgdClassifier(_) => "sgd_classifier",
            ModelSpec::SgdRegressor(_) => "sgd_regressor",
            ModelSpec::Gbdt(_) => "gbdt",
        }
    }

    /// Whether the family splits category codes natively (trees), so a
    /// pipeline should encode categories as `ordinal` codes and numbers
    /// unscaled instead of one-hot and standardised.
    ///
    /// ```
    /// use mlrig_train::{ModelSpec, TaskKind};
    /// let gbdt: ModelSpec = serde_json::from_str(r#"{"gbdt": {}}"#).unwrap();
    /// assert!(gbdt.splits_categories());
    /// assert!(!ModelSpec::for_task(TaskKind::Regression).splits_categories());
    /// ```
    pub fn splits_categories(&self) -> bool {
        matches!(self, ModelSpec::Gbdt(_))
    }

    /// The same spec told which feature columns hold category codes (added
    /// to those it names itself); families without native categories are
    /// unchanged.
    ///
    /// ```
    /// use mlrig_train::ModelSpec;
    /// let gbdt: ModelSpec = serde_json::from_str(r#"{"gbdt": {"categorical": ["a"]}}"#).unwrap();
    /// let gbdt = gbdt.with_categorical_features(["b".to_string(), "a".to_string()]);
    /// assert!(serde_json::to_string(&gbdt).unwrap().contains(r#""categorical":["a","b"]"#));
    /// ```
    pub fn with_categorical_features(self, columns: impl IntoIterator<Item = String>) -> Self {
        match self {
            ModelSpec::Gbdt(mut p) => {
                for column in columns {
                    if !p.categorical.contains(&column) {
                        p.categorical.push(column);
                    }
                }
                ModelSpec::Gbdt(p)
            }
            other => other,
        }
    }

    /// The same spec limited to `iterations` optimiser iterations (for
    /// families with an iterative solver; the closed-form least squares is
    /// unchanged).
    ///
    /// ```
    /// use mlrig_train::{ModelSpec, TaskKind};
    /// let spec = ModelSpec::for_task(TaskKind::Classification).with_max_iterations(1);
    /// assert!(serde_json::to_string(&spec).unwrap().contains("\"max_iterations\":1"));
    /// ```
    pub fn with_max_iterations(self, iterations: usize) -> Self {
        match self {
            ModelSpec::LogisticRegression(p) => {
                ModelSpec::LogisticRegression(p.with_max_iterations(iterations))
            }
            ModelSpec::SgdClassifier(p) => ModelSpec::SgdClassifier(p.with_max_iter(iterations)),
            ModelSpec::SgdRegressor(p) => ModelSpec::SgdRegressor(p.with_max_iter(iterations)),
            ModelSpec::Gbdt(p) => ModelSpec::Gbdt(p.with_rounds(iterations)),
            other => other,
        }
    }

    /// Checks the parameters and fits the model to `features` and `target`
    /// (with optional per-row weights). A target of the other task is an
    /// error that names the way out.
    ///
    /// ```
    /// use mlrig_core::{Features, ndarray::array};
    /// use mlrig_train::{ModelSpec, RegressionTarget, TaskKind, TrainingTarget};
    /// let x = Features::dense(vec!["x".into()], array![[0.0], [1.0]])?;
    /// let y = TrainingTarget::Values(RegressionTarget::new("y", vec![1.0, 3.0])?);
    /// let e = ModelSpec::for_task(TaskKind::Classification).fit(&x, &y, None).unwrap_err();
    /// assert!(e.to_string().contains("--task"), "{e}");
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn fit(
        &self,
        features: &Features,
        target: &TrainingTarget,
        sample_weights: Option<&[f64]>,
    ) -> Result<Model> {
        // Every family's parameters fit after checking themselves.
        macro_rules! fit {
            ($params:expr, $target:expr) => {
                Ok(Model::from($params.fit(&Dataset::weighted(
                    features,
                    $target,
                    sample_weights,
                )?)?))
            };
        }
        match (self, target) {
            (ModelSpec::LinearRegression(p), TrainingTarget::Values(y)) => fit!(p, y),
            (ModelSpec::LogisticRegression(p), TrainingTarget::Classes(y)) => fit!(p, y),
            (ModelSpec::SgdClassifier(p), TrainingTarget::Classes(y)) => fit!(p, y),
            (ModelSpec::SgdRegressor(p), TrainingTarget::Values(y)) => fit!(p, y),
            (ModelSpec::Gbdt(p), TrainingTarget::Classes(y)) => fit!(p, y),
            (ModelSpec::Gbdt(p), TrainingTarget::Values(y)) => fit!(p, y),
            _ => Err(TrainError::invalid_parameter(
                "model",
                format!(
                    "{} is a {} model but the target `{}` was read for {}; \
                     pick the model of the task or pass --task",
                    self.name(),
                    task_name(self.task()),
                    target.name(),
                    task_name(target.task())
                ),
            )),
        }
    }
}

/// One optimiser step of `spec` on seeded random data (64 rows, 5
/// features, a binary target or a real one, by the spec's task): fails
/// unless the step changed the weights from their start and kept them
/// finite. A cheap check for user test suites that a configuration can
/// train at all (the same `seed` gives the same data and result).
///
/// ```
/// use mlrig_train::{ModelSpec, TaskKind, smoke_step};
/// let weight = smoke_step(&ModelSpec::for_task(TaskKind::Classification), 7)?;
/// assert!(weight > 0.0 && weight.is_finite());
/// smoke_step(&ModelSpec::for_task(TaskKind::Regression), 7)?;
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn smoke_step(spec: &ModelSpec, seed: u64) -> Result<f64> {
    const ROWS: usize = 64;
    const COLUMNS: usize = 5;
    // SplitMix64: a tiny, well-known generator, so the data depend on the seed only.
    let mut state = seed;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let x = mlrig_core::ndarray::Array2::from_shape_simple_fn((ROWS, COLUMNS), || {
        uniform() * 2.0 - 1.0
    });
    let score: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(j, v)| v * (j as f64 - 2.0))
                .sum::<f64>()
        })
        .collect();
    let names: Vec<String> = (0..COLUMNS).map(|j| format!("x{j}")).collect();
    let features = Features::dense(names, x)?;
    let target = match spec.task() {
        TaskKind::Classification => TrainingTarget::Classes(ClassTarget::from_labels(
            "y",
            score
                .iter()
                .map(|&s| if s + uniform() - 0.5 > 0.0 { "b" } else { "a" }),
        )),
        _ => TrainingTarget::Values(RegressionTarget::new(
            "y",
            score.iter().map(|s| s + uniform() - 0.5).collect(),
        )?),
    };
    let model = spec
        .clone()
        .with_max_iterations(1)
        .fit(&features, &target, None)?;
    let largest = model.largest_weight();
    if largest.is_nan() {
        return Err(TrainError::Numerical {
            what: format!("smoke step of {}", spec.name()),
            reason: "a weight is not finite after one step".into(),
        });
    }
    if largest == 0.0 {
        return Err(TrainError::Numerical {
            what: format!("smoke step of {}", spec.name()),
            reason: "one step left every weight at 0 (is the learning rate or C zero?)".into(),
        });
    }
    Ok(largest)
}

fn task_name(task: TaskKind) -> &'static str {
    match task {
        TaskKind::Classification => "classification",
        TaskKind::Regression => "regression",
        _ => "an undecided task",
    }
}

/// The target column read for a task: classes or real values.
///
/// ```
/// use mlrig_core::arrow_array::{Array, Int64Array};
/// use mlrig_train::{TaskKind, TrainingTarget};
/// let column = Int64Array::from(vec![0, 2, 1]);
/// let y = TrainingTarget::from_arrays(TaskKind::Classification, "class", [&column as &dyn Array])?;
/// assert_eq!((y.name(), y.len(), y.task()), ("class", 3, TaskKind::Classification));
/// let y = TrainingTarget::from_arrays(TaskKind::Regression, "class", [&column as &dyn Array])?;
/// assert!(matches!(y, TrainingTarget::Values(_)));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TrainingTarget {
    /// Class labels (classification).
    Classes(ClassTarget),
    /// Real values (regression).
    Values(RegressionTarget),
}

impl TrainingTarget {
    /// Reads `column`'s arrays (one per batch) for `task`
    /// ([`TaskKind::Auto`] reads classes; resolve it first).
    ///
    /// See [`TrainingTarget`] for an example.
    pub fn from_arrays<'a>(
        task: TaskKind,
        column: &str,
        arrays: impl IntoIterator<Item = &'a dyn Array>,
    ) -> Result<Self> {
        Ok(match task {
            TaskKind::Regression => {
                TrainingTarget::Values(RegressionTarget::from_arrays(column, arrays)?)
            }
            _ => TrainingTarget::Classes(ClassTarget::from_arrays(column, arrays)?),
        })
    }

    /// The target column's name.
    ///
    /// See [`TrainingTarget`] for an example.
    pub fn name(&self) -> &str {
        match self {
            TrainingTarget::Classes(y) => y.name(),
            TrainingTarget::Values(y) => y.name(),
        }
    }

    /// Number of examples.
    ///
    /// See [`TrainingTarget`] for an example.
    pub fn len(&self) -> usize {
        match self {
            TrainingTarget::Classes(y) => y.len(),
            TrainingTarget::Values(y) => y.len(),
        }
    }

    /// `true` without examples.
    ///
    /// ```
    /// use mlrig_train::{RegressionTarget, TrainingTarget};
    /// assert!(!TrainingTarget::Values(RegressionTarget::new("y", vec![1.0])?).is_empty());
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The task the target was read for.
    ///
    /// See [`TrainingTarget`] for an example.
    pub fn task(&self) -> TaskKind {
        match self {
            TrainingTarget::Classes(_) => TaskKind::Classification,
            TrainingTarget::Values(_) => TaskKind::Regression,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_round_trips_through_json_and_solves_its_task() {
        for (text, task) in [
            (
                r#"{"linear_regression":{"l2_penalty":0.5}}"#,
                TaskKind::Regression,
            ),
            (
                r#"{"logistic_regression":{"c":0.1,"class_weight":"balanced"}}"#,
                TaskKind::Classification,
            ),
            (
                r#"{"sgd_classifier":{"loss":"log_loss"}}"#,
                TaskKind::Classification,
            ),
            (r#"{"sgd_regressor":{}}"#, TaskKind::Regression),
        ] {
            let spec: ModelSpec = serde_json::from_str(text).unwrap();
            let back: ModelSpec =
                serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
            assert_eq!(back, spec);
            assert!(smoke_step(&spec, 3).is_ok(), "{text}");
            assert_eq!(spec.task(), task, "{text}");
        }
        let typo = serde_json::from_str::<ModelSpec>(r#"{"logistic_regression":{"cc":1}}"#);
        assert!(typo.unwrap_err().to_string().contains("unknown field `cc`"));
        assert!(serde_json::from_str::<ModelSpec>(r#"{"forest":{}}"#).is_err());
        let both = r#"{"linear_regression":{},"sgd_regressor":{}}"#;
        assert!(
            serde_json::from_str::<ModelSpec>(both)
                .unwrap_err()
                .to_string()
                .contains("several")
        );
        assert!(serde_json::from_str::<ModelSpec>("{}").is_err());
        let with_schema = r#"{"$schema":"model-spec.schema.json","sgd_regressor":{}}"#;
        assert_eq!(
            serde_json::from_str::<ModelSpec>(with_schema).unwrap(),
            serde_json::from_str::<ModelSpec>(r#"{"sgd_regressor":{}}"#).unwrap()
        );
    }
}
