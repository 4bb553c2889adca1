//! [`Evaluation`]: the metrics of a model on held-out rows and the blessing
//! decision — whether the model is good enough to be pushed to serving.
//!
//! A model is *blessed* when every metric named in
//! [`BlessingThresholds::min`] is at least its threshold and every metric in
//! [`BlessingThresholds::max`] is at most its threshold. A threshold on a
//! metric that was not computed fails (a typo must not bless a model).

use std::collections::BTreeMap;

use mlrig_core::{Artifact, Task};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::metrics;

/// Lower and upper bounds on metrics, by metric name (`roc_auc`, `r2`, …):
/// the blessing gate, in Rust or as a hand-written JSON/TOML file
/// (`mlrig train --thresholds FILE`, JSON Schema
/// `docs/schemas/blessing-thresholds.schema.json`). Unknown keys are errors.
///
/// ```
/// use mlrig_train::BlessingThresholds;
/// let t = BlessingThresholds::default().with_min("roc_auc", 0.9).with_max("log_loss", 0.4);
/// assert_eq!(t.min["roc_auc"], 0.9);
/// let json = serde_json::to_string(&t).unwrap();
/// assert_eq!(json, r#"{"min":{"roc_auc":0.9},"max":{"log_loss":0.4}}"#);
/// assert_eq!(serde_json::from_str::<BlessingThresholds>(&json).unwrap(), t);
/// assert!(serde_json::from_str::<BlessingThresholds>(r#"{"mni": {}}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
// The private unit field is the ignored `$schema` key, not a non-exhaustive marker.
#[allow(clippy::manual_non_exhaustive)]
pub struct BlessingThresholds {
    /// Metrics that must be at least the given value, e.g. `{"roc_auc": 0.85}`.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(schema_with = "metric_bounds_schema"))]
    pub min: BTreeMap<String, f64>,
    /// Metrics that must be at most the given value, e.g. `{"rmse": 0.8}`.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(schema_with = "metric_bounds_schema"))]
    pub max: BTreeMap<String, f64>,
    /// The JSON Schema of this file, for editors; accepted and ignored.
    #[serde(
        rename = "$schema",
        default,
        skip_serializing,
        deserialize_with = "mlrig_core::ignore_schema_reference"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    schema_reference: (),
}

/// The JSON Schema of a `min` or `max` table: bounds keyed by the metrics
/// that [`evaluate_classifier`] and [`evaluate_regressor`] compute (a bound
/// on any other name could never pass).
#[cfg(feature = "schemars")]
fn metric_bounds_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let descriptions = [
        (
            "accuracy",
            "Fraction of correct class predictions (classification).",
        ),
        (
            "log_loss",
            "Mean negative log-likelihood of the true class (classification).",
        ),
        (
            "roc_auc",
            "Area under the ROC curve (binary classification).",
        ),
        ("mae", "Mean absolute error (regression)."),
        ("r2", "Coefficient of determination R² (regression)."),
        ("rmse", "Root mean squared error (regression)."),
    ];
    let properties: serde_json::Map<String, serde_json::Value> = descriptions
        .into_iter()
        .map(|(name, description)| {
            (
                name.to_string(),
                serde_json::json!({"type": "number", "description": description}),
            )
        })
        .collect();
    schemars::json_schema!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    })
}

impl BlessingThresholds {
    /// Adds a lower bound.
    ///
    /// See [`BlessingThresholds`] for an example.
    pub fn with_min(mut self, metric: impl Into<String>, value: f64) -> Self {
        self.min.insert(metric.into(), value);
        self
    }

    /// Adds an upper bound.
    ///
    /// See [`BlessingThresholds`] for an example.
    pub fn with_max(mut self, metric: impl Into<String>, value: f64) -> Self {
        self.max.insert(metric.into(), value);
        self
    }

    /// Why `metrics` fail the thresholds, one sentence per failed bound;
    /// empty when they pass.
    ///
    /// ```
    /// use mlrig_train::BlessingThresholds;
    /// use std::collections::BTreeMap;
    /// let t = BlessingThresholds::default().with_min("r2", 0.6).with_max("rmse", 1.0);
    /// let metrics = BTreeMap::from([("r2".to_string(), 0.55)]);
    /// assert_eq!(t.failures(&metrics), [
    ///     "r2 = 0.55 is below the minimum 0.6",
    ///     "rmse was not computed but has a maximum of 1",
    /// ]);
    /// ```
    pub fn failures(&self, metrics: &BTreeMap<String, f64>) -> Vec<String> {
        let mut reasons = Vec::new();
        for (name, &bound) in &self.min {
            match metrics.get(name) {
                None => reasons.push(format!(
                    "{name} was not computed but has a minimum of {bound}"
                )),
                Some(&v) if v.is_nan() || v < bound => {
                    reasons.push(format!("{name} = {v} is below the minimum {bound}"));
                }
                Some(_) => {}
            }
        }
        for (name, &bound) in &self.max {
            match metrics.get(name) {
                None => reasons.push(format!(
                    "{name} was not computed but has a maximum of {bound}"
                )),
                Some(&v) if v.is_nan() || v > bound => {
                    reasons.push(format!("{name} = {v} is above the maximum {bound}"));
                }
                Some(_) => {}
            }
        }
        reasons
    }

    fn check(&self) -> Result<()> {
        for (kind, bounds) in [("min", &self.min), ("max", &self.max)] {
            if let Some((name, v)) = bounds.iter().find(|(_, v)| !v.is_finite()) {
                return Err(TrainError::invalid_parameter(
                    &format!("thresholds.{kind}.{name}"),
                    format!("must be finite, got {v}"),
                ));
            }
        }
        Ok(())
    }
}

/// Metrics of a model on evaluation rows and the blessing decision; the
/// content of a bundle's `evaluation.json` (artifact kind
/// `mlrig.train.evaluation`, format version 1).
///
/// ```
/// use mlrig_core::Task;
/// use mlrig_train::{BlessingThresholds, Evaluation, evaluate_classifier};
///
/// let metrics = evaluate_classifier(&[false, true, true, false], &[0.2, 0.9, 0.6, 0.4])?;
/// let thresholds = BlessingThresholds::default().with_min("roc_auc", 0.9);
/// let task = Task::Classification { classes: vec!["<=50K".into(), ">50K".into()] };
/// let evaluation = Evaluation::new(task, metrics, 16, 4, thresholds)?;
/// assert!(evaluation.blessed());
/// assert_eq!(evaluation.metrics()["accuracy"], 1.0);
/// assert!(evaluation.reasons().is_empty());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    task: Task,
    metrics: BTreeMap<String, f64>,
    train_rows: u64,
    eval_rows: u64,
    thresholds: BlessingThresholds,
    blessed: bool,
    reasons: Vec<String>,
}

impl Evaluation {
    /// Records the metrics and decides the blessing. Fails when a metric or
    /// threshold is not finite (it could not be written as JSON).
    ///
    /// ```
    /// use mlrig_core::Task;
    /// use mlrig_train::{BlessingThresholds, Evaluation};
    /// use std::collections::BTreeMap;
    /// let metrics = BTreeMap::from([("r2".to_string(), 0.5)]);
    /// let t = BlessingThresholds::default().with_min("r2", 0.58);
    /// let e = Evaluation::new(Task::Regression, metrics, 80, 20, t)?;
    /// assert!(!e.blessed());
    /// assert_eq!(e.reasons(), ["r2 = 0.5 is below the minimum 0.58"]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn new(
        task: Task,
        metrics: BTreeMap<String, f64>,
        train_rows: u64,
        eval_rows: u64,
        thresholds: BlessingThresholds,
    ) -> Result<Self> {
        thresholds.check()?;
        if let Some((name, value)) = metrics.iter().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::invalid_parameter(
                &format!("metrics.{name}"),
                format!("must be finite, got {value}"),
            ));
        }
        let reasons = thresholds.failures(&metrics);
        Ok(Self {
            task,
            metrics,
            train_rows,
            eval_rows,
            thresholds,
            blessed: reasons.is_empty(),
            reasons,
        })
    }

    /// The prediction task.
    ///
    /// See [`Evaluation`] for an example.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// Metric values by name.
    ///
    /// See [`Evaluation`] for an example.
    pub fn metrics(&self) -> &BTreeMap<String, f64> {
        &self.metrics
    }

    /// Number of training rows.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn train_rows(&self) -> u64 {
        self.train_rows
    }

    /// Number of evaluation rows the metrics were computed on.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn eval_rows(&self) -> u64 {
        self.eval_rows
    }

    /// The thresholds the decision was made against.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn thresholds(&self) -> &BlessingThresholds {
        &self.thresholds
    }

    /// `true` when every threshold passed.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn blessed(&self) -> bool {
        self.blessed
    }

    /// Why the model is not blessed (one sentence per failed threshold); empty when blessed.
    ///
    /// See [`Evaluation::new`] for an example.
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }
}

impl Artifact for Evaluation {
    const KIND: &'static str = "mlrig.train.evaluation";
    // Version 2: values computed with the `libm` crate (deterministic math, issue 8) may differ in the last bit from version 1 files.
    const FORMAT_VERSION: u32 = 2;
}

/// `accuracy` (positive iff probability > 0.5), `roc_auc` and `log_loss`
/// of positive-class probabilities.
///
/// ```
/// use mlrig_train::evaluate_classifier;
/// let m = evaluate_classifier(&[true, false, true], &[0.8, 0.5, 0.4])?;
/// assert_eq!(m.keys().collect::<Vec<_>>(), ["accuracy", "log_loss", "roc_auc"]);
/// assert!((m["accuracy"] - 2.0 / 3.0).abs() < 1e-15); // 0.5 counts as negative
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn evaluate_classifier(
    y_true: &[bool],
    probabilities: &[f64],
) -> Result<BTreeMap<String, f64>> {
    let predicted: Vec<bool> = probabilities.iter().map(|&p| p > 0.5).collect();
    Ok(BTreeMap::from([
        (
            "accuracy".to_string(),
            metrics::accuracy(y_true, &predicted)?,
        ),
        (
            "roc_auc".to_string(),
            metrics::roc_auc(y_true, probabilities)?,
        ),
        (
            "log_loss".to_string(),
            metrics::log_loss(y_true, probabilities)?,
        ),
    ]))
}

/// The metrics [`evaluate_classifier`] computes (thresholds may name these).
pub const CLASSIFIER_METRICS: [&str; 3] = ["accuracy", "log_loss", "roc_auc"];

/// The metrics [`evaluate_regressor`] computes (thresholds may name these).
pub const REGRESSOR_METRICS: [&str; 3] = ["mae", "r2", "rmse"];

/// `r2`, `rmse` and `mae` of predicted values.
///
/// ```
/// use mlrig_train::evaluate_regressor;
/// let m = evaluate_regressor(&[1.0, 2.0, 3.0], &[1.5, 2.0, 2.5])?;
/// assert_eq!(m["r2"], 0.75);
/// assert_eq!(m["mae"], 1.0 / 3.0);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn evaluate_regressor(y_true: &[f64], y_pred: &[f64]) -> Result<BTreeMap<String, f64>> {
    Ok(BTreeMap::from([
        ("r2".to_string(), metrics::r2(y_true, y_pred)?),
        ("rmse".to_string(), metrics::rmse(y_true, y_pred)?),
        ("mae".to_string(), metrics::mae(y_true, y_pred)?),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_bless_only_when_all_pass() {
        let metrics =
            BTreeMap::from([("roc_auc".to_string(), 0.91), ("log_loss".to_string(), 0.3)]);
        let t = BlessingThresholds::default()
            .with_min("roc_auc", 0.9)
            .with_max("log_loss", 0.3);
        assert!(t.failures(&metrics).is_empty(), "bounds are inclusive");
        let t = t.with_min("accuracy", 0.8);
        assert_eq!(
            t.failures(&metrics),
            ["accuracy was not computed but has a minimum of 0.8"]
        );
        let t = BlessingThresholds::default().with_max("log_loss", 0.2);
        assert_eq!(
            t.failures(&metrics),
            ["log_loss = 0.3 is above the maximum 0.2"]
        );
    }

    #[test]
    fn non_finite_values_are_rejected() {
        let m = BTreeMap::from([("r2".to_string(), f64::NAN)]);
        let e =
            Evaluation::new(Task::Regression, m, 1, 1, BlessingThresholds::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter `metrics.r2`: must be finite, got NaN"
        );
        let t = BlessingThresholds::default().with_min("r2", f64::INFINITY);
        let e = Evaluation::new(Task::Regression, BTreeMap::new(), 1, 1, t).unwrap_err();
        assert!(e.to_string().contains("thresholds.min.r2"), "{e}");
    }

    #[test]
    fn artifact_round_trip() {
        let metrics = evaluate_regressor(&[1.0, 2.0, 4.0], &[1.1, 2.2, 3.7]).unwrap();
        let t = BlessingThresholds::default()
            .with_min("r2", 0.9)
            .with_max("rmse", 0.1);
        let e = Evaluation::new(Task::Regression, metrics, 10, 3, t).unwrap();
        assert!(!e.blessed());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evaluation.json");
        e.save(&path, &[]).unwrap();
        let back = Evaluation::load(&path).unwrap();
        assert_eq!(back.value, e);
        assert_eq!(back.header.kind, "mlrig.train.evaluation");
    }

    #[test]
    fn thresholds_file_accepts_schema_key_and_rejects_typos() {
        let text = r#"{"$schema": "blessing-thresholds.schema.json", "min": {"r2": 0.5}}"#;
        let t: BlessingThresholds = serde_json::from_str(text).unwrap();
        assert_eq!(t, BlessingThresholds::default().with_min("r2", 0.5));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"min":{"r2":0.5},"max":{}}"#
        );
        let err = serde_json::from_str::<BlessingThresholds>("{\n \"maxi\": {}}").unwrap_err();
        assert!(err.to_string().contains("unknown field `maxi`"), "{err}");
        assert_eq!((err.line(), err.column()), (2, 7));
    }

    #[cfg(feature = "schemars")]
    #[test]
    fn schema_lists_exactly_the_computed_metrics() {
        let schema = schemars::schema_for!(BlessingThresholds);
        for bound in ["min", "max"] {
            let properties = schema
                .pointer(&format!("/properties/{bound}/properties"))
                .and_then(|p| p.as_object())
                .unwrap();
            let mut listed: Vec<&str> = properties.keys().map(String::as_str).collect();
            let mut computed: Vec<&str> = CLASSIFIER_METRICS
                .iter()
                .chain(&REGRESSOR_METRICS)
                .copied()
                .collect();
            listed.sort_unstable();
            computed.sort_unstable();
            assert_eq!(listed, computed, "{bound}");
        }
        assert!(schema.pointer("/properties/$schema").is_some());
        assert_eq!(schema.pointer("/additionalProperties"), Some(&false.into()));
    }
}
