//! Prometheus alerting rules for a served model bundle (`mlrig alerts`).
//!
//! [`alert_rules`] reads a bundle (its manifest for the model name and data
//! age, `schema.json` for the per-feature skew and drift thresholds, the
//! fitted features for the columns the server sees) and returns one
//! [`AlertRuleGroup`] over the server's metrics: feature skew and drift
//! above their thresholds, prediction drift, error rate, p99 latency, model
//! and data age, non-finite inputs and outputs, monitoring queue drops and a
//! model that is not served at all. [`AlertRuleGroup::to_yaml`] writes it
//! as a Prometheus rules file (`promtool check rules` accepts it); the group
//! also serializes (serde) as the same document in JSON.
//!
//! Thresholds are written into the expressions
//! (`mlrig_feature_skew{model="adult",feature="workclass",test="linf"} > 0.1`)
//! so people can edit them in the file; they are those the live monitor
//! uses when the rules are written: the schema's `skewComparator` /
//! `driftComparator` threshold when set (L∞, JSD), else the monitor's
//! [`MonitoringThresholds`] (the defaults, or a server config's
//! `[monitoring] thresholds`), for the tests that set the server's
//! `over_threshold` (`alerting_tests`: L∞, JSD and PSI by default).
//! Regenerate the rules when a new version changes its schema.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use mlrig_core::arrow_schema::DataType;
use mlrig_core::{ModelBundle, Servable, Task};
use mlrig_monitor::{ComparisonTest, MonitoringThresholds, PREDICTED_CLASS_FEATURE, SCORE_FEATURE};
use mlrig_validate::Schema;
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::PipelineError;
use crate::bundle_files::{SCHEMA_FILE, read_tfmd};
use crate::serving::{BundleServable, latest_blessed};

/// The tests the live monitor runs on a categorical column.
const CATEGORICAL_TESTS: [ComparisonTest; 2] = [ComparisonTest::Linf, ComparisonTest::Chisquare];
/// The tests the live monitor runs on a numeric column.
const NUMERIC_TESTS: [ComparisonTest; 4] = [
    ComparisonTest::Jsd,
    ComparisonTest::Psi,
    ComparisonTest::Ks,
    ComparisonTest::Wasserstein,
];

/// The limits of the rules that do not come from the bundle.
///
/// ```
/// use std::time::Duration;
/// let params = mlrig_pipeline::AlertRulesParams::default()
///     .with_max_error_rate(0.01)
///     .with_max_p99_latency(Duration::from_millis(250));
/// assert_eq!(params.max_error_rate(), 0.01);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRulesParams {
    max_error_rate: f64,
    max_p99_latency: Duration,
    max_model_age: Duration,
    max_data_age: Duration,
    pending: Duration,
    thresholds: MonitoringThresholds,
}

impl Default for AlertRulesParams {
    /// Error rate 5 %, p99 latency 0.5 s, model age 30 days, data age 90
    /// days, conditions held for 5 minutes before firing.
    fn default() -> Self {
        Self {
            max_error_rate: 0.05,
            max_p99_latency: Duration::from_millis(500),
            max_model_age: Duration::from_secs(30 * 86_400),
            max_data_age: Duration::from_secs(90 * 86_400),
            pending: Duration::from_secs(300),
            thresholds: MonitoringThresholds::default(),
        }
    }
}

impl AlertRulesParams {
    /// Alert when more than this fraction of a model's requests fail (over 5 minutes).
    ///
    /// ```
    /// let params = mlrig_pipeline::AlertRulesParams::default().with_max_error_rate(0.2);
    /// assert_eq!(params.max_error_rate(), 0.2);
    /// ```
    pub fn with_max_error_rate(mut self, rate: f64) -> Self {
        self.max_error_rate = rate;
        self
    }

    /// Alert when a model's 99th percentile request latency exceeds this.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let params = mlrig_pipeline::AlertRulesParams::default().with_max_p99_latency(Duration::from_secs(1));
    /// assert_eq!(params.max_p99_latency(), Duration::from_secs(1));
    /// ```
    pub fn with_max_p99_latency(mut self, latency: Duration) -> Self {
        self.max_p99_latency = latency;
        self
    }

    /// Alert when a served version was trained longer ago than this.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let params = mlrig_pipeline::AlertRulesParams::default().with_max_model_age(Duration::from_secs(86_400));
    /// assert_eq!(params.max_model_age(), Duration::from_secs(86_400));
    /// ```
    pub fn with_max_model_age(mut self, age: Duration) -> Self {
        self.max_model_age = age;
        self
    }

    /// Alert when the newest training row of a served version is older than
    /// this (only for bundles that know it: `mlrig train --time-column`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let params = mlrig_pipeline::AlertRulesParams::default().with_max_data_age(Duration::from_secs(86_400));
    /// assert_eq!(params.max_data_age(), Duration::from_secs(86_400));
    /// ```
    pub fn with_max_data_age(mut self, age: Duration) -> Self {
        self.max_data_age = age;
        self
    }

    /// How long skew, drift, prediction drift, error rate, latency and
    /// "not served" conditions must hold before their alerts fire (the
    /// rules' `for:`). The ages, non-finite values and queue drops fire at once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let params = mlrig_pipeline::AlertRulesParams::default().with_pending(Duration::ZERO);
    /// assert_eq!(params.pending(), Duration::ZERO);
    /// ```
    pub fn with_pending(mut self, pending: Duration) -> Self {
        self.pending = pending;
        self
    }

    /// The live monitor's thresholds and alerting tests (a server config's
    /// `[monitoring] thresholds`), for columns whose schema sets none.
    ///
    /// ```
    /// let mut thresholds = mlrig_monitor::MonitoringThresholds::default();
    /// thresholds.psi = 0.25;
    /// let params = mlrig_pipeline::AlertRulesParams::default().with_thresholds(thresholds);
    /// assert_eq!(params.thresholds().psi, 0.25);
    /// ```
    pub fn with_thresholds(mut self, thresholds: MonitoringThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// The monitor's thresholds the rules use.
    ///
    /// ```
    /// assert_eq!(mlrig_pipeline::AlertRulesParams::default().thresholds().linf, 0.1);
    /// ```
    pub fn thresholds(&self) -> &MonitoringThresholds {
        &self.thresholds
    }

    /// The error-rate limit (a fraction of requests).
    ///
    /// ```
    /// assert_eq!(mlrig_pipeline::AlertRulesParams::default().max_error_rate(), 0.05);
    /// ```
    pub fn max_error_rate(&self) -> f64 {
        self.max_error_rate
    }

    /// The p99 latency limit.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(mlrig_pipeline::AlertRulesParams::default().max_p99_latency(), Duration::from_millis(500));
    /// ```
    pub fn max_p99_latency(&self) -> Duration {
        self.max_p99_latency
    }

    /// The model age limit.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(mlrig_pipeline::AlertRulesParams::default().max_model_age(), Duration::from_secs(30 * 86_400));
    /// ```
    pub fn max_model_age(&self) -> Duration {
        self.max_model_age
    }

    /// The data age limit.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(mlrig_pipeline::AlertRulesParams::default().max_data_age(), Duration::from_secs(90 * 86_400));
    /// ```
    pub fn max_data_age(&self) -> Duration {
        self.max_data_age
    }

    /// The `for:` duration of the rules that wait.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(mlrig_pipeline::AlertRulesParams::default().pending(), Duration::from_secs(300));
    /// ```
    pub fn pending(&self) -> Duration {
        self.pending
    }

    fn check(&self) -> Result<(), PipelineError> {
        if !(self.max_error_rate.is_finite() && (0.0..=1.0).contains(&self.max_error_rate)) {
            return Err(PipelineError::InvalidAlertLimit {
                name: "max_error_rate".into(),
                reason: format!("{} is not a fraction in [0, 1]", self.max_error_rate),
            });
        }
        if self.max_p99_latency.is_zero() {
            return Err(PipelineError::InvalidAlertLimit {
                name: "max_p99_latency".into(),
                reason: "must be above zero".into(),
            });
        }
        Ok(())
    }
}

/// One statistical test of one column and its threshold, as the live
/// monitor applies it.
///
/// ```
/// use mlrig_monitor::ComparisonTest;
/// let t = mlrig_pipeline::TestThreshold { test: ComparisonTest::Ks, threshold: 0.05 };
/// assert!(t.is_p_value());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestThreshold {
    /// The test (its name is the gauges' `test` label).
    pub test: ComparisonTest,
    /// Above it (below it for a p-value test) the test alerts.
    pub threshold: f64,
}

impl TestThreshold {
    /// Whether the threshold bounds a p-value from below (`ks`, `chisquare`)
    /// rather than a statistic from above.
    ///
    /// ```
    /// let t = mlrig_pipeline::TestThreshold { test: mlrig_monitor::ComparisonTest::Linf, threshold: 0.1 };
    /// assert!(!t.is_p_value());
    /// ```
    pub fn is_p_value(&self) -> bool {
        self.test.uses_p_value()
    }

    /// The PromQL comparison of the `prefix` gauges (`mlrig_feature_skew`,
    /// `mlrig_feature_drift`, `mlrig_prediction_drift`) for this test,
    /// `selector` being the label matchers of the model and feature.
    fn promql(&self, prefix: &str, selector: &str) -> String {
        let test = promql_string(self.test.name());
        let threshold = number(self.threshold);
        if self.is_p_value() {
            format!("{prefix}_p_value{{{selector},test={test}}} < {threshold}")
        } else {
            format!("{prefix}{{{selector},test={test}}} > {threshold}")
        }
    }

    fn describe(&self) -> String {
        if self.is_p_value() {
            format!("{} p-value < {}", self.test, number(self.threshold))
        } else {
            format!("{} > {}", self.test, number(self.threshold))
        }
    }
}

/// The tests of one column the live monitor compares.
///
/// ```
/// use mlrig_pipeline::{FeatureThresholds, TestThreshold};
/// let f = FeatureThresholds {
///     feature: "workclass".into(),
///     tests: vec![TestThreshold { test: mlrig_monitor::ComparisonTest::Linf, threshold: 0.1 }],
/// };
/// assert_eq!(f.tests.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureThresholds {
    /// The column (the gauges' `feature` label).
    pub feature: String,
    /// Its tests, each with the threshold in force.
    pub tests: Vec<TestThreshold>,
}

/// Which comparator of the schema a threshold comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Skew,
    Drift,
}

/// The alerting tests among `tests` for `feature` under `comparison`, each
/// with the threshold the live monitor applies (mlrig-monitor's
/// `compare_windows`): the schema comparator's L∞ or JSD threshold when set,
/// else `thresholds`'; tests outside `thresholds.alerting_tests` never set
/// the server's `over_threshold`, so they get no rule either.
fn resolve(
    schema: Option<&Schema>,
    feature: &str,
    tests: &[ComparisonTest],
    comparison: Comparison,
    thresholds: &MonitoringThresholds,
) -> Vec<TestThreshold> {
    let comparator = schema
        .and_then(|s| s.feature(feature))
        .and_then(|f| match comparison {
            Comparison::Skew => f.skew_comparator.as_ref(),
            Comparison::Drift => f.drift_comparator.as_ref(),
        });
    tests
        .iter()
        .filter(|test| thresholds.alerts_on(**test))
        .map(|test| TestThreshold {
            test: *test,
            threshold: thresholds.resolve(comparator, *test),
        })
        .collect()
}

/// The monitor's tests of a column of this Arrow type: L∞ for categorical
/// (string, boolean, dictionary) columns (and χ²), JSD/PSI/KS/Wasserstein
/// for numeric ones; none for other types (not compared).
fn tests_of(data_type: &DataType) -> &'static [ComparisonTest] {
    match data_type {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Boolean
        | DataType::Dictionary(_, _) => &CATEGORICAL_TESTS,
        t if t.is_numeric() => &NUMERIC_TESTS,
        _ => &[],
    }
}

/// One Prometheus alerting rule.
///
/// ```
/// let rule = mlrig_pipeline::AlertRule::new("MlrigDown", "up == 0", "critical")
///     .with_annotation("summary", "down");
/// assert_eq!(rule.labels["severity"], "critical");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// The alert's name (several rules may share it, told apart by labels).
    pub alert: String,
    /// The PromQL expression; every series it returns is an alert.
    pub expr: String,
    /// How long the expression must hold before the alert fires (`for:`);
    /// `None` fires at the first evaluation.
    pub pending: Option<Duration>,
    /// Labels added to the alert (`severity`, …).
    pub labels: BTreeMap<String, String>,
    /// `summary`, `description`, `runbook` (Go templates over `$labels` and `$value`).
    pub annotations: BTreeMap<String, String>,
}

impl AlertRule {
    /// A rule with a `severity` label, firing at once.
    ///
    /// ```
    /// let rule = mlrig_pipeline::AlertRule::new("A", "vector(1)", "warning");
    /// assert!(rule.pending.is_none());
    /// ```
    pub fn new(alert: &str, expr: &str, severity: &str) -> Self {
        Self {
            alert: alert.to_string(),
            expr: expr.to_string(),
            pending: None,
            labels: BTreeMap::from([("severity".to_string(), severity.to_string())]),
            annotations: BTreeMap::new(),
        }
    }

    /// Sets the `for:` duration (zero keeps it, as `0s`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let rule = mlrig_pipeline::AlertRule::new("A", "vector(1)", "warning").with_pending(Duration::from_secs(60));
    /// assert_eq!(rule.pending, Some(Duration::from_secs(60)));
    /// ```
    pub fn with_pending(mut self, pending: Duration) -> Self {
        self.pending = Some(pending);
        self
    }

    /// Adds (or replaces) an annotation.
    ///
    /// ```
    /// let rule = mlrig_pipeline::AlertRule::new("A", "vector(1)", "warning").with_annotation("summary", "s");
    /// assert_eq!(rule.annotations["summary"], "s");
    /// ```
    pub fn with_annotation(mut self, key: &str, value: impl Into<String>) -> Self {
        self.annotations.insert(key.to_string(), value.into());
        self
    }

    fn with_summary(self, summary: String, description: String, runbook: String) -> Self {
        self.with_annotation("summary", summary)
            .with_annotation("description", description)
            .with_annotation("runbook", runbook)
    }
}

impl Serialize for AlertRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("alert", &self.alert)?;
        map.serialize_entry("expr", &self.expr)?;
        if let Some(pending) = self.pending {
            map.serialize_entry("for", &prometheus_duration(pending))?;
        }
        map.serialize_entry("labels", &self.labels)?;
        map.serialize_entry("annotations", &self.annotations)?;
        map.end()
    }
}

/// A Prometheus rule group: the rules of one model.
///
/// ```
/// let group = mlrig_pipeline::AlertRuleGroup {
///     name: "mlrig-adult".into(),
///     model: "adult".into(),
///     version: 1,
///     rules: vec![mlrig_pipeline::AlertRule::new("A", "vector(1)", "warning")],
/// };
/// assert!(group.to_yaml().contains("- alert: \"A\""));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRuleGroup {
    /// The group's name (`mlrig-<model>`).
    pub name: String,
    /// The model the rules watch (every version of it).
    pub model: String,
    /// The bundle version whose schema gave the thresholds.
    pub version: u64,
    /// The rules, in a stable order.
    pub rules: Vec<AlertRule>,
}

impl Serialize for AlertRuleGroup {
    /// The Prometheus rules document: `{"groups": [{"name", "rules"}]}`
    /// (a valid rules file: YAML accepts JSON).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Group<'a> {
            name: &'a str,
            rules: &'a [AlertRule],
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(
            "groups",
            &[Group {
                name: &self.name,
                rules: &self.rules,
            }],
        )?;
        map.end()
    }
}

impl AlertRuleGroup {
    /// The rules file as YAML (every string double-quoted with JSON escapes,
    /// which YAML reads the same), with a header comment saying where the
    /// thresholds came from.
    ///
    /// ```
    /// let group = mlrig_pipeline::AlertRuleGroup {
    ///     name: "mlrig-m".into(),
    ///     model: "m".into(),
    ///     version: 2,
    ///     rules: vec![mlrig_pipeline::AlertRule::new("A", "up{job=\"x\"} == 0", "warning")],
    /// };
    /// assert!(group.to_yaml().contains(r#"expr: "up{job=\"x\"} == 0""#));
    /// ```
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Prometheus alerting rules for model `{}`, written by `mlrig alerts` from version {}.\n\
             # Skew/drift thresholds: the bundle's schema.json comparators, else the live monitor's\n\
             # defaults; edit them here. Check with: promtool check rules <this file>",
            comment(&self.model),
            self.version
        );
        out.push_str("groups:\n");
        let _ = writeln!(out, "  - name: {}", quoted(&self.name));
        out.push_str("    rules:\n");
        for rule in &self.rules {
            let _ = writeln!(out, "      - alert: {}", quoted(&rule.alert));
            let _ = writeln!(out, "        expr: {}", quoted(&rule.expr));
            if let Some(pending) = rule.pending {
                let _ = writeln!(out, "        for: {}", prometheus_duration(pending));
            }
            for (key, map) in [("labels", &rule.labels), ("annotations", &rule.annotations)] {
                if map.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "        {key}:");
                for (name, value) in map {
                    let _ = writeln!(out, "          {}: {}", key_text(name), quoted(value));
                }
            }
        }
        out
    }
}

/// A YAML double-quoted scalar: JSON string escapes (which YAML reads the
/// same), and `\uXXXX` for what JSON leaves raw but YAML would not keep:
/// DEL and C1 controls (NEL is a YAML 1.1 line break), the line and paragraph
/// separators, the byte-order mark.
fn quoted(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// A mapping key: bare when it is a Prometheus label name, else quoted.
fn key_text(key: &str) -> String {
    let mut chars = key.chars();
    let bare = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if bare { key.to_string() } else { quoted(key) }
}

/// Characters a YAML scalar or comment must not carry raw.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Text safe in a one-line YAML comment.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if needs_escape(c) { ' ' } else { c })
        .collect()
}

/// A PromQL string literal (double quotes, backslash escapes).
fn promql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number for PromQL: Rust's shortest round-trip decimal (never an exponent).
fn number(value: f64) -> String {
    format!("{value}")
}

/// A Prometheus duration: `30d`, `1h30m`, `500ms`, `0s`.
fn prometheus_duration(duration: Duration) -> String {
    let mut millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if millis >= size {
            let _ = write!(out, "{}{unit}", millis / size);
            millis %= size;
        }
    }
    out
}

/// What the rules of one model are made from: the bundle's name, version,
/// monitored columns and what it knows.
///
/// ```
/// use mlrig_pipeline::{AlertRulesParams, FeatureThresholds, MonitoredModel, TestThreshold};
/// let model = MonitoredModel {
///     name: "adult".into(),
///     version: 1,
///     skew: vec![FeatureThresholds {
///         feature: "workclass".into(),
///         tests: vec![TestThreshold { test: mlrig_monitor::ComparisonTest::Linf, threshold: 0.1 }],
///     }],
///     drift: vec![],
///     prediction_drift: vec![],
///     has_data_age: false,
/// };
/// let group = model.rules(&AlertRulesParams::default())?;
/// assert!(group.rules.iter().any(|r| r.expr == r#"mlrig_feature_skew{model="adult",feature="workclass",test="linf"} > 0.1"#));
/// # Ok::<(), mlrig_pipeline::PipelineError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitoredModel {
    /// The model name (the metrics' `model` label).
    pub name: String,
    /// The version the thresholds come from.
    pub version: u64,
    /// Skew tests per input column (serving window vs training statistics).
    pub skew: Vec<FeatureThresholds>,
    /// Drift tests per input column (window vs previous window).
    pub drift: Vec<FeatureThresholds>,
    /// Prediction drift tests (`predicted_class`, `score`).
    pub prediction_drift: Vec<FeatureThresholds>,
    /// Whether the bundle records its newest training row (`mlrig_data_age_seconds` exists).
    pub has_data_age: bool,
}

impl MonitoredModel {
    /// Reads what the rules need from an opened bundle: the columns the
    /// model reads (features.json), their thresholds (schema.json, when
    /// the bundle has one), the task (for prediction drift) and whether the
    /// manifest records `data_newest_row`; `thresholds` are the live
    /// monitor's (for columns whose schema sets none, and which tests alert).
    ///
    /// ```no_run
    /// let bundle = mlrig_core::ModelBundle::open(std::path::Path::new("models/adult/1"))?;
    /// let thresholds = mlrig_monitor::MonitoringThresholds::default();
    /// let model = mlrig_pipeline::MonitoredModel::from_bundle(&bundle, &thresholds)?;
    /// assert_eq!(model.name, "adult");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_bundle(
        bundle: &ModelBundle,
        thresholds: &MonitoringThresholds,
    ) -> Result<Self, PipelineError> {
        let servable = BundleServable::open(bundle)?;
        let schema = read_tfmd(bundle, SCHEMA_FILE, Schema::from_tfmd_json)?;
        let manifest = bundle.manifest();
        let inputs = servable.input_schema();
        let per_feature = |comparison| {
            inputs
                .fields()
                .iter()
                .filter_map(|field| {
                    let tests = tests_of(field.data_type());
                    (!tests.is_empty()).then(|| FeatureThresholds {
                        feature: field.name().clone(),
                        tests: resolve(
                            schema.as_ref(),
                            field.name(),
                            tests,
                            comparison,
                            thresholds,
                        ),
                    })
                })
                .collect::<Vec<_>>()
        };
        let mut prediction_drift = Vec::new();
        if matches!(servable.info().task, Task::Classification { .. }) {
            prediction_drift.push(FeatureThresholds {
                feature: PREDICTED_CLASS_FEATURE.into(),
                tests: resolve(None, "", &CATEGORICAL_TESTS, Comparison::Skew, thresholds),
            });
        }
        prediction_drift.push(FeatureThresholds {
            feature: SCORE_FEATURE.into(),
            tests: resolve(None, "", &NUMERIC_TESTS, Comparison::Skew, thresholds),
        });
        Ok(Self {
            name: manifest.name.clone(),
            version: manifest.version,
            skew: per_feature(Comparison::Skew),
            drift: per_feature(Comparison::Drift),
            prediction_drift,
            has_data_age: manifest.data_newest_row.is_some(),
        })
    }

    /// The alerting rules of this model under `params`.
    ///
    /// Errors when a limit is out of range (an error rate outside [0, 1], a
    /// zero latency) or a threshold is not finite.
    ///
    /// ```
    /// use mlrig_pipeline::{AlertRulesParams, MonitoredModel};
    /// let model = MonitoredModel { name: "m".into(), version: 1, skew: vec![], drift: vec![], prediction_drift: vec![], has_data_age: true };
    /// let group = model.rules(&AlertRulesParams::default())?;
    /// assert!(group.rules.iter().any(|r| r.alert == "MlrigDataTooOld"));
    /// # Ok::<(), mlrig_pipeline::PipelineError>(())
    /// ```
    pub fn rules(&self, params: &AlertRulesParams) -> Result<AlertRuleGroup, PipelineError> {
        params.check()?;
        for f in self
            .skew
            .iter()
            .chain(&self.drift)
            .chain(&self.prediction_drift)
        {
            if let Some(t) = f.tests.iter().find(|t| !t.threshold.is_finite()) {
                return Err(PipelineError::InvalidAlertLimit {
                    name: format!("threshold of {} ({})", f.feature, t.test),
                    reason: format!("{} is not a finite number", t.threshold),
                });
            }
        }
        let model = promql_string(&self.name);
        let on_model = format!("model={model}");
        let pending = params.pending;
        let monitoring = format!(
            "See GET /v1/models/{}/monitoring for the window's values and anomalies (docs/monitoring.md).",
            self.name
        );
        let mut rules = Vec::new();

        for (alert, kind, gauge, features, against, runbook) in [
            (
                "MlrigFeatureSkew",
                "skew",
                "mlrig_feature_skew",
                &self.skew,
                "the training statistics",
                "Serving data differs from the training data: check the upstream data pipeline (a changed encoding, a new source) or retrain on recent data.",
            ),
            (
                "MlrigFeatureDrift",
                "drift",
                "mlrig_feature_drift",
                &self.drift,
                "the previous monitoring window",
                "The feature's distribution moved between consecutive windows: find what changed in the traffic, then decide whether the model still fits it.",
            ),
            (
                "MlrigPredictionDrift",
                "prediction drift",
                "mlrig_prediction_drift",
                &self.prediction_drift,
                "the predictions on the evaluation rows",
                "The model predicts differently than at evaluation: look for feature skew first, then check quality with delayed labels (mlrig monitor --labels).",
            ),
        ] {
            for feature in features {
                if feature.tests.is_empty() {
                    continue;
                }
                let selector = format!("{on_model},feature={}", promql_string(&feature.feature));
                let expr = feature
                    .tests
                    .iter()
                    .map(|t| t.promql(gauge, &selector))
                    .collect::<Vec<_>>()
                    .join(" or ");
                let limits = feature
                    .tests
                    .iter()
                    .map(TestThreshold::describe)
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut rule = AlertRule::new(alert, &expr, "warning");
                // The series carry it too; as a rule label it keeps the
                // rules of one alert distinct (promtool's duplicate lint).
                rule.labels
                    .insert("feature".to_string(), feature.feature.clone());
                rules.push(
                    rule.with_pending(pending)
                        .with_summary(
                            format!(
                                "{{{{ $labels.model }}}} v{{{{ $labels.version }}}}: {kind} of {} ({{{{ $labels.test }}}}) is {{{{ $value | humanize }}}}",
                                feature.feature
                            ),
                            format!(
                                "The {kind} of `{}` against {against} crossed its threshold ({limits}) for {}.",
                                feature.feature,
                                prometheus_duration(pending)
                            ),
                            format!("{runbook} {monitoring}"),
                        ),
                );
            }
        }

        let rate = number(params.max_error_rate);
        rules.push(
            AlertRule::new(
                "MlrigHighErrorRate",
                &format!(
                    "sum by (model) (rate(mlrig_request_errors_total{{{on_model}}}[5m])) / sum by (model) (rate(mlrig_requests_total{{{on_model}}}[5m])) > {rate}"
                ),
                "critical",
            )
            .with_pending(pending)
            .with_summary(
                "{{ $labels.model }}: {{ $value | humanizePercentage }} of requests fail".into(),
                format!(
                    "More than {} of the requests to the model failed (status >= 400) over 5 minutes.",
                    percentage(params.max_error_rate)
                ),
                "Break mlrig_request_errors_total down by code and endpoint: 4xx are callers' inputs (see the request log), 5xx the server's; a newly loaded version is a rollback candidate (mlrig rollback).".into(),
            ),
        );
        let latency = params.max_p99_latency.as_secs_f64();
        rules.push(
            AlertRule::new(
                "MlrigHighLatencyP99",
                &format!(
                    "histogram_quantile(0.99, sum by (le, model) (rate(mlrig_request_duration_seconds_bucket{{{on_model}}}[5m]))) > {}",
                    number(latency)
                ),
                "warning",
            )
            .with_pending(pending)
            .with_summary(
                "{{ $labels.model }}: p99 latency is {{ $value | humanizeDuration }}".into(),
                format!(
                    "The 99th percentile request latency of the model over 5 minutes is above {}.",
                    prometheus_duration(params.max_p99_latency)
                ),
                "Check mlrig_requests_in_flight and the request rate (overload), the batch sizes, and the server's CPU; scale out or lower the load.".into(),
            ),
        );
        rules.push(
            AlertRule::new(
                "MlrigModelTooOld",
                &format!(
                    "mlrig_model_age_seconds{{{on_model}}} > {}",
                    params.max_model_age.as_secs()
                ),
                "warning",
            )
            .with_summary(
                "{{ $labels.model }} v{{ $labels.version }} was trained {{ $value | humanizeDuration }} ago".into(),
                format!(
                    "A served version of the model is older than {}.",
                    prometheus_duration(params.max_model_age)
                ),
                "Retrain on recent data (mlrig train, or the pipeline's --watch) and push the new version.".into(),
            ),
        );
        if self.has_data_age {
            rules.push(
                AlertRule::new(
                    "MlrigDataTooOld",
                    &format!(
                        "mlrig_data_age_seconds{{{on_model}}} > {}",
                        params.max_data_age.as_secs()
                    ),
                    "warning",
                )
                .with_summary(
                    "{{ $labels.model }} v{{ $labels.version }}: newest training row is {{ $value | humanizeDuration }} old".into(),
                    format!(
                        "The newest row of the served version's training data is older than {}.",
                        prometheus_duration(params.max_data_age)
                    ),
                    "Retrain with recent data (mlrig train --time-column COL records the newest row).".into(),
                ),
            );
        }
        rules.push(
            AlertRule::new(
                "MlrigNonFiniteOutputs",
                &format!(
                    "increase(mlrig_nonfinite_values_total{{{on_model},side=\"output\"}}[5m]) > 0"
                ),
                "critical",
            )
            .with_summary(
                "{{ $labels.model }} v{{ $labels.version }} predicted NaN or infinite values".into(),
                "The model returned non-finite predictions in the last 5 minutes.".into(),
                format!(
                    "Look for extreme or missing inputs in the request log and for input anomalies (mlrig_input_anomalies_total); roll back if the version is new. {monitoring}"
                ),
            ),
        );
        rules.push(
            AlertRule::new(
                "MlrigNonFiniteInputs",
                &format!(
                    "increase(mlrig_nonfinite_values_total{{{on_model},side=\"input\"}}[5m]) > 0"
                ),
                "warning",
            )
            .with_summary(
                "{{ $labels.model }} v{{ $labels.version }}: NaN or infinite values in {{ $labels.feature }}".into(),
                "Requests carried non-finite values in the last 5 minutes.".into(),
                "Find the callers sending them (request log) and fix the producer.".into(),
            ),
        );
        rules.push(
            AlertRule::new(
                "MlrigMonitoringDrops",
                "increase(mlrig_monitoring_dropped_total[10m]) > 0",
                "warning",
            )
            .with_summary(
                "the live monitor dropped {{ $value | humanize }} batches".into(),
                "The live monitor's queue was full, so some requests are missing from the skew and drift windows (they undercount).".into(),
                "Raise the monitoring queue capacity or lower --monitoring-max-rows; the server's CPU may be saturated.".into(),
            ),
        );
        rules.push(
            AlertRule::new(
                "MlrigModelNotServed",
                &format!(
                    "absent(mlrig_model_versions_available{{{on_model}}}) or mlrig_model_versions_available{{{on_model}}} == 0"
                ),
                "critical",
            )
            .with_pending(pending)
            .with_summary(
                format!("model {} is not served (or not scraped)", comment(&self.name)),
                "No version of the model is available, or Prometheus gets no metrics from the server; the other alerts of the model cannot fire.".into(),
                "Check the server's process and logs (mlrig_model_load_failures_total) and Prometheus' target status.".into(),
            ),
        );
        Ok(AlertRuleGroup {
            name: format!("mlrig-{}", self.name),
            model: self.name.clone(),
            version: self.version,
            rules,
        })
    }
}

fn percentage(fraction: f64) -> String {
    format!("{}%", number(fraction * 100.0))
}

/// The alerting rules of the model at `path`: a version directory (its
/// thresholds), or a model directory (the version a server would serve: the
/// highest blessed one).
///
/// ```no_run
/// let group = mlrig_pipeline::alert_rules(
///     std::path::Path::new("models/adult"),
///     &mlrig_pipeline::AlertRulesParams::default(),
/// )?;
/// std::fs::write("rules.yml", group.to_yaml())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn alert_rules(
    path: &Path,
    params: &AlertRulesParams,
) -> Result<AlertRuleGroup, PipelineError> {
    MonitoredModel::from_bundle(&open_served_bundle(path)?, &params.thresholds)?.rules(params)
}

fn open_served_bundle(path: &Path) -> Result<ModelBundle, PipelineError> {
    if path.join(mlrig_core::MANIFEST_FILE).is_file() {
        return Ok(ModelBundle::open(path)?);
    }
    if let Some(bundle) = latest_blessed(path)? {
        return Ok(bundle);
    }
    // No blessed version: the server's error (which names the versions).
    match crate::load_model_dir(path) {
        Err(e) => Err(e),
        Ok(_) => Err(PipelineError::NoModel {
            path: path.to_path_buf(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_validate::{Feature, FeatureComparator};
    use proptest::prelude::*;

    fn model() -> MonitoredModel {
        MonitoredModel {
            name: "adult".into(),
            version: 3,
            skew: vec![
                FeatureThresholds {
                    feature: "workclass".into(),
                    tests: vec![TestThreshold {
                        test: ComparisonTest::Linf,
                        threshold: 0.2,
                    }],
                },
                FeatureThresholds {
                    feature: "age".into(),
                    tests: vec![
                        TestThreshold {
                            test: ComparisonTest::Jsd,
                            threshold: 0.1,
                        },
                        TestThreshold {
                            test: ComparisonTest::Ks,
                            threshold: 0.05,
                        },
                    ],
                },
            ],
            drift: vec![],
            prediction_drift: vec![FeatureThresholds {
                feature: "score".into(),
                tests: vec![TestThreshold {
                    test: ComparisonTest::Psi,
                    threshold: 0.25,
                }],
            }],
            has_data_age: false,
        }
    }

    fn rule<'a>(group: &'a AlertRuleGroup, alert: &str, needle: &str) -> &'a AlertRule {
        group
            .rules
            .iter()
            .find(|r| r.alert == alert && r.expr.contains(needle))
            .unwrap_or_else(|| panic!("no {alert} rule with {needle}"))
    }

    #[test]
    fn skew_rules_carry_each_tests_threshold_and_direction() {
        let group = model().rules(&AlertRulesParams::default()).unwrap();
        assert_eq!(group.name, "mlrig-adult");
        assert_eq!(
            rule(&group, "MlrigFeatureSkew", "workclass").expr,
            r#"mlrig_feature_skew{model="adult",feature="workclass",test="linf"} > 0.2"#
        );
        let age = rule(&group, "MlrigFeatureSkew", "age");
        assert_eq!(
            age.expr,
            r#"mlrig_feature_skew{model="adult",feature="age",test="jsd"} > 0.1 or mlrig_feature_skew_p_value{model="adult",feature="age",test="ks"} < 0.05"#
        );
        assert_eq!(age.pending, Some(Duration::from_secs(300)));
        assert_eq!(age.labels["severity"], "warning");
        assert!(age.annotations["description"].contains("jsd > 0.1, ks p-value < 0.05"));
        assert!(age.annotations["runbook"].contains("/v1/models/adult/monitoring"));
        assert_eq!(
            rule(&group, "MlrigPredictionDrift", "score").expr,
            r#"mlrig_prediction_drift{model="adult",feature="score",test="psi"} > 0.25"#
        );
        // No drift features: no drift rule; no data age: no data-age rule.
        assert!(!group.rules.iter().any(|r| r.alert == "MlrigFeatureDrift"));
        assert!(!group.rules.iter().any(|r| r.alert == "MlrigDataTooOld"));
    }

    #[test]
    fn service_rules_use_the_limits() {
        let params = AlertRulesParams::default()
            .with_max_error_rate(0.01)
            .with_max_p99_latency(Duration::from_millis(250))
            .with_max_model_age(Duration::from_secs(7 * 86_400))
            .with_max_data_age(Duration::from_secs(86_400))
            .with_pending(Duration::from_secs(90));
        let mut m = model();
        m.has_data_age = true;
        let group = m.rules(&params).unwrap();
        let errors = rule(&group, "MlrigHighErrorRate", "");
        assert!(errors.expr.ends_with("> 0.01"), "{}", errors.expr);
        assert!(
            errors
                .expr
                .contains(r#"mlrig_request_errors_total{model="adult"}"#)
        );
        assert_eq!(errors.labels["severity"], "critical");
        assert!(errors.annotations["description"].contains("1%"));
        let latency = rule(&group, "MlrigHighLatencyP99", "");
        assert_eq!(
            latency.expr,
            r#"histogram_quantile(0.99, sum by (le, model) (rate(mlrig_request_duration_seconds_bucket{model="adult"}[5m]))) > 0.25"#
        );
        assert_eq!(latency.pending, Some(Duration::from_secs(90)));
        assert_eq!(
            rule(&group, "MlrigModelTooOld", "").expr,
            r#"mlrig_model_age_seconds{model="adult"} > 604800"#
        );
        assert_eq!(
            rule(&group, "MlrigDataTooOld", "").expr,
            r#"mlrig_data_age_seconds{model="adult"} > 86400"#
        );
        assert_eq!(
            rule(&group, "MlrigNonFiniteOutputs", "").expr,
            r#"increase(mlrig_nonfinite_values_total{model="adult",side="output"}[5m]) > 0"#
        );
        assert!(rule(&group, "MlrigMonitoringDrops", "").pending.is_none());
    }

    #[test]
    fn out_of_range_limits_are_refused() {
        for params in [
            AlertRulesParams::default().with_max_error_rate(1.5),
            AlertRulesParams::default().with_max_error_rate(f64::NAN),
            AlertRulesParams::default().with_max_p99_latency(Duration::ZERO),
        ] {
            assert!(matches!(
                model().rules(&params),
                Err(PipelineError::InvalidAlertLimit { .. })
            ));
        }
        let mut m = model();
        m.skew[0].tests[0].threshold = f64::INFINITY;
        assert!(matches!(
            m.rules(&AlertRulesParams::default()),
            Err(PipelineError::InvalidAlertLimit { .. })
        ));
    }

    #[test]
    fn schema_comparators_override_the_defaults() {
        let mut schema = Schema::default();
        let mut job = Feature::new("job", mlrig_validate::FeatureType::Bytes);
        job.skew_comparator = Some(FeatureComparator::infinity_norm(0.3));
        schema.features.push(job);
        let mut x = Feature::new("x", mlrig_validate::FeatureType::Float);
        x.drift_comparator = Some(FeatureComparator::jensen_shannon_divergence(0.02));
        schema.features.push(x);
        let defaults = MonitoringThresholds::default();
        let skew = resolve(
            Some(&schema),
            "job",
            &CATEGORICAL_TESTS,
            Comparison::Skew,
            &defaults,
        );
        assert_eq!(
            skew,
            vec![TestThreshold {
                test: ComparisonTest::Linf,
                threshold: 0.3
            }]
        );
        let drift = resolve(
            Some(&schema),
            "job",
            &CATEGORICAL_TESTS,
            Comparison::Drift,
            &defaults,
        );
        assert_eq!(drift[0].threshold, 0.1, "no drift comparator: the default");
        let by_test = |tests: Vec<TestThreshold>| -> BTreeMap<&'static str, f64> {
            tests.iter().map(|t| (t.test.name(), t.threshold)).collect()
        };
        // By default only L∞, JSD and PSI set over_threshold (KS and
        // Wasserstein are reported, not alerted on).
        let x = resolve(
            Some(&schema),
            "x",
            &NUMERIC_TESTS,
            Comparison::Drift,
            &defaults,
        );
        assert_eq!(by_test(x), BTreeMap::from([("jsd", 0.02), ("psi", 0.1)]));
        let mut custom = MonitoringThresholds::default();
        custom.psi = 0.25;
        custom.ks = 0.01;
        custom.jsd = 0.3;
        custom.alerting_tests = vec![ComparisonTest::Jsd, ComparisonTest::Psi, ComparisonTest::Ks];
        let x = resolve(
            Some(&schema),
            "x",
            &NUMERIC_TESTS,
            Comparison::Drift,
            &custom,
        );
        assert_eq!(
            by_test(x),
            BTreeMap::from([("jsd", 0.02), ("ks", 0.01), ("psi", 0.25)]),
            "the schema's JSD wins over the config's"
        );
        let x = resolve(
            Some(&schema),
            "x",
            &NUMERIC_TESTS,
            Comparison::Skew,
            &custom,
        );
        assert_eq!(by_test(x)["jsd"], 0.3, "no skew comparator: the config's");
        assert!(resolve(None, "job", &CATEGORICAL_TESTS, Comparison::Skew, &custom).is_empty());
        assert_eq!(tests_of(&DataType::Utf8), &CATEGORICAL_TESTS);
        assert_eq!(tests_of(&DataType::Int64), &NUMERIC_TESTS);
        assert!(tests_of(&DataType::Binary).is_empty());
    }

    #[test]
    fn durations_are_prometheus_durations() {
        assert_eq!(prometheus_duration(Duration::ZERO), "0s");
        assert_eq!(prometheus_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(prometheus_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(prometheus_duration(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(
            prometheus_duration(Duration::from_millis(61_001)),
            "1m1s1ms"
        );
    }

    #[test]
    fn yaml_and_json_are_the_same_document() {
        let group = model().rules(&AlertRulesParams::default()).unwrap();
        let yaml = group.to_yaml();
        assert!(yaml.starts_with("# Prometheus alerting rules for model `adult`"));
        // Every scalar line is `key: "json string"` (or `for: <duration>`),
        // so the YAML can be read back line by line with a JSON parser.
        let json = serde_json::to_value(&group).unwrap();
        let rules = json["groups"][0]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), group.rules.len());
        let exprs: Vec<String> = yaml
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("expr: "))
            .map(|v| serde_json::from_str::<String>(v).unwrap())
            .collect();
        let json_exprs: Vec<&str> = rules.iter().map(|r| r["expr"].as_str().unwrap()).collect();
        assert_eq!(exprs, json_exprs);
        assert_eq!(rules[0]["for"], "5m");
    }

    proptest! {
        /// Any model or feature name stays inside its PromQL string and its
        /// YAML scalar: reading the scalar back gives the expression, whose
        /// selector, unescaped, gives the name.
        #[test]
        fn any_name_is_quoted(
            name in prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
            feature in "[\\x00-\\x7f\\u{85}\\u{2028}\"\\\\]{0,12}",
        ) {
            let mut m = model();
            m.name = name.clone();
            m.skew[0].feature = feature.clone();
            let group = m.rules(&AlertRulesParams::default()).unwrap();
            let yaml = group.to_yaml();
            let line = yaml
                .lines()
                .filter_map(|l| l.trim_start().strip_prefix("expr: "))
                .next()
                .unwrap();
            let expr: String = serde_json::from_str(line).unwrap();
            prop_assert_eq!(&expr, &group.rules[0].expr);
            let model_literal = promql_string(&name);
            let feature_literal = promql_string(&feature);
            let expected = format!("mlrig_feature_skew{{model={model_literal},feature={feature_literal},test=\"linf\"}} > 0.2");
            prop_assert_eq!(expr, expected);
            // Every YAML line is one line (no raw newline escaped the
            // quoting) and carries no character YAML reads as a break or
            // refuses.
            for l in yaml.lines().skip(4) {
                prop_assert!(l.starts_with("  "), "{}", l);
            }
            prop_assert!(!yaml.chars().any(|c| c != '\n' && needs_escape(c)));
        }
    }
}
