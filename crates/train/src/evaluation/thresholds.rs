//! [`BlessingThresholds`]: the bounds a model must meet to be blessed, on
//! the whole evaluation set, per slice, and against a baseline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Lower and upper bounds on metrics, by metric name (`roc_auc`, `r2`, …),
/// the largest allowed drop against a baseline, and the same per slice: the
/// blessing gate, in Rust or as a hand-written JSON/TOML file
/// (`mlrig train --thresholds FILE`, JSON Schema
/// `docs/schemas/blessing-thresholds.schema.json`). Unknown keys are errors.
///
/// * `min` / `max`: bounds on the overall metrics (inclusive).
/// * `max_drop`: the most a metric may get **worse** than the baseline's,
///   in the metric's own direction ([`higher_is_better`](crate::higher_is_better)):
///   `baseline − candidate` for scores, `candidate − baseline` for losses.
///   Applies only when the evaluation is compared with a baseline
///   ([`Evaluation::against_baseline`](crate::Evaluation::against_baseline)).
///   When it is empty, the comparison uses
///   [`DEFAULT_MAX_DROP`](crate::DEFAULT_MAX_DROP) (0.01) on the task's
///   [`headline_metric`](crate::headline_metric) (`roc_auc`, `accuracy` or
///   `r2`), on the overall metrics only.
/// * `slices`: [`SliceThresholds`] by slice key `"column=value"` (e.g.
///   `"sex=Female"`), applied to that slice's metrics.
///
/// A bound on a metric that was not computed fails, as does a slice
/// threshold for a slice that was not evaluated: a typo must not bless a
/// model.
///
/// ```
/// use mlrig_train::{BlessingThresholds, SliceThresholds};
/// let t = BlessingThresholds::default().with_min("roc_auc", 0.9).with_max("log_loss", 0.4);
/// assert_eq!(t.min["roc_auc"], 0.9);
/// let json = serde_json::to_string(&t).unwrap();
/// assert_eq!(json, r#"{"min":{"roc_auc":0.9},"max":{"log_loss":0.4}}"#);
/// assert_eq!(serde_json::from_str::<BlessingThresholds>(&json).unwrap(), t);
/// assert!(serde_json::from_str::<BlessingThresholds>(r#"{"mni": {}}"#).is_err());
///
/// let t = t
///     .with_max_drop("roc_auc", 0.02)
///     .with_slice("sex=Female", SliceThresholds::default().with_min("roc_auc", 0.8));
/// let json = serde_json::to_string(&t).unwrap();
/// assert_eq!(
///     json,
///     r#"{"min":{"roc_auc":0.9},"max":{"log_loss":0.4},"max_drop":{"roc_auc":0.02},"slices":{"sex=Female":{"min":{"roc_auc":0.8}}}}"#
/// );
/// assert_eq!(serde_json::from_str::<BlessingThresholds>(&json).unwrap(), t);
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
    /// The most each metric may get worse than the baseline's (at least 0),
    /// e.g. `{"roc_auc": 0.01}`; empty means 0.01 on the task's headline metric.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "schemars", schemars(schema_with = "metric_bounds_schema"))]
    pub max_drop: BTreeMap<String, f64>,
    /// Thresholds of slices, by key `"column=value"`, e.g. `{"sex=Female": {"min": {"roc_auc": 0.8}}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slices: BTreeMap<String, SliceThresholds>,
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

/// The thresholds of one slice: bounds on its metrics and the largest drop
/// against the baseline's same slice (no default drop for slices).
///
/// ```
/// use mlrig_train::SliceThresholds;
/// let t = SliceThresholds::default().with_min("accuracy", 0.8).with_max_drop("accuracy", 0.05);
/// assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"min":{"accuracy":0.8},"max_drop":{"accuracy":0.05}}"#);
/// assert!(serde_json::from_str::<SliceThresholds>(r#"{"min_drop": {}}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SliceThresholds {
    /// Metrics of the slice that must be at least the given value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "schemars", schemars(schema_with = "metric_bounds_schema"))]
    pub min: BTreeMap<String, f64>,
    /// Metrics of the slice that must be at most the given value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "schemars", schemars(schema_with = "metric_bounds_schema"))]
    pub max: BTreeMap<String, f64>,
    /// The most each metric of the slice may get worse than in the baseline's same slice.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "schemars", schemars(schema_with = "metric_bounds_schema"))]
    pub max_drop: BTreeMap<String, f64>,
}

/// The JSON Schema of a `min`, `max` or `max_drop` table: numbers keyed by
/// the metrics a task computes ([`metric_names`](crate::metric_names); a
/// bound on any other name could never pass).
#[cfg(feature = "schemars")]
fn metric_bounds_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let properties: serde_json::Map<String, serde_json::Value> = super::task_metrics::METRICS
        .into_iter()
        .map(|(name, _, description)| {
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

    /// Adds a largest allowed drop against the baseline.
    ///
    /// See [`BlessingThresholds`] for an example.
    pub fn with_max_drop(mut self, metric: impl Into<String>, value: f64) -> Self {
        self.max_drop.insert(metric.into(), value);
        self
    }

    /// Sets the thresholds of the slice `key` (`"column=value"`).
    ///
    /// See [`BlessingThresholds`] for an example.
    pub fn with_slice(mut self, key: impl Into<String>, thresholds: SliceThresholds) -> Self {
        self.slices.insert(key.into(), thresholds);
        self
    }

    /// Why `metrics` fail the overall `min` and `max` bounds, one sentence
    /// per failed bound; empty when they pass.
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
        bound_failures(
            &mut reasons,
            "",
            &self.min,
            &self.max,
            metrics,
            &BTreeMap::new(),
        );
        reasons
    }

    /// Fails on a bound that is not finite or a negative `max_drop`.
    pub(super) fn check(&self) -> Result<()> {
        let overall = [
            ("min", &self.min),
            ("max", &self.max),
            ("max_drop", &self.max_drop),
        ]
        .map(|(kind, bounds)| (format!("thresholds.{kind}"), kind, bounds));
        let slices = self.slices.iter().flat_map(|(key, t)| {
            [("min", &t.min), ("max", &t.max), ("max_drop", &t.max_drop)]
                .map(|(kind, bounds)| (format!("thresholds.slices.{key}.{kind}"), kind, bounds))
        });
        for (path, kind, bounds) in overall.into_iter().chain(slices) {
            for (name, &v) in bounds {
                if !v.is_finite() {
                    return Err(TrainError::invalid_parameter(
                        &format!("{path}.{name}"),
                        format!("must be finite, got {v}"),
                    ));
                }
                if kind == "max_drop" && v < 0.0 {
                    return Err(TrainError::invalid_parameter(
                        &format!("{path}.{name}"),
                        format!("an allowed drop is at least 0, got {v}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl SliceThresholds {
    /// Adds a lower bound.
    ///
    /// See [`SliceThresholds`] for an example.
    pub fn with_min(mut self, metric: impl Into<String>, value: f64) -> Self {
        self.min.insert(metric.into(), value);
        self
    }

    /// Adds an upper bound.
    ///
    /// See [`SliceThresholds`] for an example.
    pub fn with_max(mut self, metric: impl Into<String>, value: f64) -> Self {
        self.max.insert(metric.into(), value);
        self
    }

    /// Adds a largest allowed drop against the baseline's same slice.
    ///
    /// See [`SliceThresholds`] for an example.
    pub fn with_max_drop(mut self, metric: impl Into<String>, value: f64) -> Self {
        self.max_drop.insert(metric.into(), value);
        self
    }
}

/// Appends one sentence per failed `min`/`max` bound, each starting with
/// `prefix`; a missing metric's sentence gives the reason it was omitted
/// when `omitted` has one.
pub(super) fn bound_failures(
    reasons: &mut Vec<String>,
    prefix: &str,
    min: &BTreeMap<String, f64>,
    max: &BTreeMap<String, f64>,
    metrics: &BTreeMap<String, f64>,
    omitted: &BTreeMap<String, String>,
) {
    let bounds = min
        .iter()
        .map(|b| (b, "minimum", "below"))
        .chain(max.iter().map(|b| (b, "maximum", "above")));
    for ((name, &bound), kind, side) in bounds {
        let fails = |v: f64| match kind {
            "minimum" => v.is_nan() || v < bound,
            _ => v.is_nan() || v > bound,
        };
        match metrics.get(name) {
            None => reasons.push(format!(
                "{prefix}{name} was not computed{} but has a {kind} of {bound}",
                why(omitted.get(name))
            )),
            Some(&v) if fails(v) => {
                reasons.push(format!("{prefix}{name} = {v} is {side} the {kind} {bound}"));
            }
            Some(_) => {}
        }
    }
}

/// ` (reason)` when a reason is known.
pub(super) fn why(reason: Option<&String>) -> String {
    reason.map(|r| format!(" ({r})")).unwrap_or_default()
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
    fn bounds_must_be_finite_and_drops_not_negative() {
        let t = BlessingThresholds::default().with_max_drop("r2", -0.1);
        let e = t.check().unwrap_err().to_string();
        assert!(
            e.contains("thresholds.max_drop.r2") && e.contains("at least 0"),
            "{e}"
        );
        let t = BlessingThresholds::default().with_slice(
            "sex=Female",
            SliceThresholds::default().with_min("accuracy", f64::NAN),
        );
        let e = t.check().unwrap_err().to_string();
        assert!(
            e.contains("thresholds.slices.sex=Female.min.accuracy"),
            "{e}"
        );
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
        let err = serde_json::from_str::<BlessingThresholds>(
            r#"{"slices": {"sex=Female": {"mni": {}}}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `mni`"), "{err}");
    }

    #[cfg(feature = "schemars")]
    #[test]
    fn schema_lists_exactly_the_computed_metrics() {
        use crate::{Task, metric_names};
        let schema = schemars::schema_for!(BlessingThresholds);
        let tasks = [
            Task::Regression,
            Task::Classification {
                classes: vec!["a".into(), "b".into()],
            },
            Task::Classification {
                classes: vec!["a".into(), "b".into(), "c".into()],
            },
        ];
        let mut computed: Vec<&str> = tasks.iter().flat_map(metric_names).copied().collect();
        computed.sort_unstable();
        computed.dedup();
        let slice = schema
            .pointer("/properties/slices/additionalProperties/$ref")
            .and_then(|r| r.as_str())
            .and_then(|r| r.strip_prefix("#"))
            .unwrap();
        let tables = ["/properties/min", "/properties/max", "/properties/max_drop"]
            .map(String::from)
            .into_iter()
            .chain(["min", "max", "max_drop"].map(|b| format!("{slice}/properties/{b}")));
        for table in tables {
            let properties = schema
                .pointer(&format!("{table}/properties"))
                .and_then(|p| p.as_object())
                .unwrap_or_else(|| panic!("{table} in {schema:?}"));
            let mut listed: Vec<&str> = properties.keys().map(String::as_str).collect();
            listed.sort_unstable();
            assert_eq!(listed, computed, "{table}");
            assert_eq!(
                schema.pointer(&format!("{table}/additionalProperties")),
                Some(&false.into()),
                "{table}"
            );
        }
        assert!(schema.pointer("/properties/$schema").is_some());
        assert_eq!(schema.pointer("/additionalProperties"), Some(&false.into()));
        assert_eq!(
            schema.pointer(&format!("{slice}/additionalProperties")),
            Some(&false.into())
        );
    }
}
