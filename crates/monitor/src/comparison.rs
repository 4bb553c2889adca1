//! [`compare_windows`]: one window of serving data compared with the
//! training statistics (skew), the previous window (drift) and the
//! evaluation's predictions (prediction drift). Pure: the live monitor and
//! offline tools (`mlrig monitor` over request logs) share it.

use std::sync::Arc;

use mlrig_core::ServedPredictions;
use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use mlrig_core::arrow_schema::{DataType, Field, Schema as ArrowSchema};
use mlrig_validate::{
    Anomalies, Anomaly, AnomalyKind, DatasetStatistics, DriftTest, DriftTestParams,
    FeatureComparator, FeatureStatistics, InfinityNorm, JensenShannonDivergence, Schema,
    SchemaInferenceParams, ValueStatistics, compare, compare_skew, drift_tests, infer_schema,
    l_infinity_distance, sketch_jensen_shannon_divergence, value_counts,
};
use serde::{Deserialize, Serialize};

use crate::{MonitorError, MonitoringThresholds};

// The prediction dataset's column names are the bundle's (one definition, in core).
pub use mlrig_core::{PREDICTED_CLASS_FEATURE, SCORE_FEATURE};

/// The tfmd environment of serving data: training features not in it (e.g.
/// the label) are not expected in requests.
const SERVING_ENVIRONMENT: &str = "SERVING";

/// A comparison test, named as in the gauges' `test` label and the JSON.
///
/// ```
/// use mlrig_monitor::ComparisonTest;
/// assert_eq!(ComparisonTest::Linf.name(), "linf");
/// assert_eq!(serde_json::to_string(&ComparisonTest::Wasserstein)?, "\"wasserstein\"");
/// assert!(ComparisonTest::Ks == "ks");
/// assert!(ComparisonTest::Ks.uses_p_value() && !ComparisonTest::Psi.uses_p_value());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ComparisonTest {
    /// L∞ distance of the value frequencies (categorical; TFDV's `infinityNorm`).
    Linf,
    /// Jensen–Shannon divergence of the histograms (numeric; TFDV's `jensenShannonDivergence`).
    Jsd,
    /// Population stability index over the reference's deciles (numeric).
    Psi,
    /// Two-sample Kolmogorov–Smirnov test (numeric): statistic `D`, p-value.
    Ks,
    /// Wasserstein-1 distance divided by the reference standard deviation (numeric).
    Wasserstein,
    /// Pearson's χ² test of homogeneity (categorical): statistic, p-value.
    Chisquare,
}

impl ComparisonTest {
    /// Every test, in report order.
    ///
    /// ```
    /// assert_eq!(mlrig_monitor::ComparisonTest::ALL.len(), 6);
    /// ```
    pub const ALL: [ComparisonTest; 6] = [
        ComparisonTest::Linf,
        ComparisonTest::Jsd,
        ComparisonTest::Psi,
        ComparisonTest::Ks,
        ComparisonTest::Wasserstein,
        ComparisonTest::Chisquare,
    ];

    /// The label value: `linf`, `jsd`, `psi`, `ks`, `wasserstein`, `chisquare`.
    ///
    /// ```
    /// assert_eq!(mlrig_monitor::ComparisonTest::Chisquare.name(), "chisquare");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ComparisonTest::Linf => "linf",
            ComparisonTest::Jsd => "jsd",
            ComparisonTest::Psi => "psi",
            ComparisonTest::Ks => "ks",
            ComparisonTest::Wasserstein => "wasserstein",
            ComparisonTest::Chisquare => "chisquare",
        }
    }

    /// `true` for the tests whose threshold applies to a p-value (over the
    /// threshold means *below* it): `ks`, `chisquare`.
    ///
    /// ```
    /// assert!(mlrig_monitor::ComparisonTest::Chisquare.uses_p_value());
    /// ```
    pub fn uses_p_value(self) -> bool {
        matches!(self, ComparisonTest::Ks | ComparisonTest::Chisquare)
    }

    fn from_drift_test(test: DriftTest) -> Option<Self> {
        match test {
            DriftTest::KolmogorovSmirnov => Some(ComparisonTest::Ks),
            DriftTest::PopulationStabilityIndex => Some(ComparisonTest::Psi),
            DriftTest::NormalizedWasserstein => Some(ComparisonTest::Wasserstein),
            DriftTest::ChiSquared => Some(ComparisonTest::Chisquare),
            _ => None,
        }
    }
}

impl std::fmt::Display for ComparisonTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq<&str> for ComparisonTest {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl PartialEq<str> for ComparisonTest {
    fn eq(&self, other: &str) -> bool {
        self.name() == other
    }
}

/// One test of one feature: its statistic, p-value (KS, χ²), the threshold
/// applied and whether it is over it.
///
/// `over_threshold` is the test's own verdict (statistic above the
/// threshold, or p-value below it) when the test is one of
/// [`MonitoringThresholds::alerting_tests`], else `false`. Non-finite numbers
/// are written as proto3 JSON does (`"NaN"`, `"Infinity"`, `"-Infinity"`).
///
/// ```
/// use mlrig_monitor::{ComparisonTest, FeatureComparison};
/// let c = FeatureComparison::new("workclass", ComparisonTest::Linf, 0.42, None, 0.1, true);
/// let json = serde_json::to_value(&c)?;
/// assert_eq!(json["test"], "linf");
/// assert_eq!(json["over_threshold"], true);
/// assert_eq!(serde_json::from_value::<FeatureComparison>(json)?, c);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureComparison {
    /// The feature (`predicted_class` or `score` for prediction drift).
    pub feature: String,
    /// The test.
    pub test: ComparisonTest,
    /// The test statistic (distance, divergence, index, `D`, χ²).
    #[serde(with = "finite_or_text")]
    pub value: f64,
    /// The p-value (KS, χ² only).
    #[serde(with = "optional_finite_or_text")]
    pub p_value: Option<f64>,
    /// The threshold applied (to the p-value for KS and χ²).
    #[serde(with = "finite_or_text")]
    pub threshold: f64,
    /// Over the threshold (see the type's docs).
    pub over_threshold: bool,
}

impl FeatureComparison {
    /// A comparison from its parts.
    ///
    /// ```
    /// use mlrig_monitor::{ComparisonTest, FeatureComparison};
    /// let c = FeatureComparison::new("age", ComparisonTest::Ks, 0.02, Some(0.6), 0.05, false);
    /// assert_eq!(c.p_value, Some(0.6));
    /// ```
    pub fn new(
        feature: impl Into<String>,
        test: ComparisonTest,
        value: f64,
        p_value: Option<f64>,
        threshold: f64,
        over_threshold: bool,
    ) -> Self {
        Self {
            feature: feature.into(),
            test,
            value,
            p_value,
            threshold,
            over_threshold,
        }
    }

    /// The number the threshold applies to: the p-value for KS and χ², else
    /// the statistic.
    ///
    /// ```
    /// use mlrig_monitor::{ComparisonTest, FeatureComparison};
    /// let c = FeatureComparison::new("age", ComparisonTest::Ks, 0.02, Some(0.6), 0.05, false);
    /// assert_eq!(c.tested_value(), 0.6);
    /// ```
    pub fn tested_value(&self) -> f64 {
        match (self.test.uses_p_value(), self.p_value) {
            (true, Some(p)) => p,
            _ => self.value,
        }
    }
}

/// The test's own verdict: statistic above the threshold, or p-value below
/// it; `false` for NaN.
fn exceeds(test: ComparisonTest, value: f64, p_value: Option<f64>, threshold: f64) -> bool {
    match (test.uses_p_value(), p_value) {
        (true, Some(p)) => p < threshold,
        (true, None) => false,
        (false, _) => value > threshold,
    }
}

/// What live monitoring compares a model version's traffic with: the
/// bundle's training statistics and schema (`statistics.json`,
/// `schema.json`), the statistics of its predictions on the evaluation rows
/// (`prediction_statistics.json`, when the bundle has them), the time of the
/// newest training row and of training.
///
/// ```
/// use mlrig_monitor::MonitoringBaseline;
/// use mlrig_validate::{DatasetStatistics, Schema};
/// let baseline = MonitoringBaseline::new(DatasetStatistics::default(), Schema::default())
///     .with_created_at_unix(1_700_000_000)
///     .with_data_newest_row_unix(1_699_000_000);
/// assert!(baseline.predictions.is_none());
/// assert_eq!(baseline.data_newest_row_unix, Some(1_699_000_000));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringBaseline {
    /// Training statistics (the reference of skew).
    pub training: DatasetStatistics,
    /// The training schema: its `skewComparator`/`driftComparator` thresholds
    /// override the defaults; features not in its `SERVING` environment
    /// (when it has one) are not expected in requests.
    pub schema: Schema,
    /// Statistics of the model's predictions on the evaluation rows
    /// ([`PREDICTED_CLASS_FEATURE`], [`SCORE_FEATURE`]); no prediction drift without them.
    pub predictions: Option<DatasetStatistics>,
    /// The newest training row's time (Unix seconds), for `mlrig_data_age_seconds`.
    pub data_newest_row_unix: Option<i64>,
    /// When the model was trained (Unix seconds).
    pub created_at_unix: u64,
}

impl MonitoringBaseline {
    /// A baseline with training statistics and schema only.
    ///
    /// ```
    /// use mlrig_monitor::MonitoringBaseline;
    /// let b = MonitoringBaseline::new(Default::default(), Default::default());
    /// assert_eq!(b.created_at_unix, 0);
    /// ```
    pub fn new(training: DatasetStatistics, schema: Schema) -> Self {
        Self {
            training,
            schema,
            predictions: None,
            data_newest_row_unix: None,
            created_at_unix: 0,
        }
    }

    /// Sets the evaluation predictions' statistics.
    ///
    /// ```
    /// use mlrig_monitor::MonitoringBaseline;
    /// let b = MonitoringBaseline::new(Default::default(), Default::default())
    ///     .with_predictions(Default::default());
    /// assert!(b.predictions.is_some());
    /// ```
    pub fn with_predictions(mut self, predictions: DatasetStatistics) -> Self {
        self.predictions = Some(predictions);
        self
    }

    /// Sets the newest training row's time (Unix seconds).
    ///
    /// ```
    /// # use mlrig_monitor::MonitoringBaseline;
    /// let b = MonitoringBaseline::new(Default::default(), Default::default()).with_data_newest_row_unix(5);
    /// assert_eq!(b.data_newest_row_unix, Some(5));
    /// ```
    pub fn with_data_newest_row_unix(mut self, unix_seconds: i64) -> Self {
        self.data_newest_row_unix = Some(unix_seconds);
        self
    }

    /// Sets the training time (Unix seconds).
    ///
    /// ```
    /// # use mlrig_monitor::MonitoringBaseline;
    /// let b = MonitoringBaseline::new(Default::default(), Default::default()).with_created_at_unix(5);
    /// assert_eq!(b.created_at_unix, 5);
    /// ```
    pub fn with_created_at_unix(mut self, unix_seconds: u64) -> Self {
        self.created_at_unix = unix_seconds;
        self
    }

    /// Drops `names` (e.g. the label, which requests do not carry) from the
    /// training statistics and the schema, so they are neither compared nor
    /// reported missing.
    ///
    /// ```
    /// use mlrig_monitor::MonitoringBaseline;
    /// use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.features.push(Feature::new("income", FeatureType::Bytes));
    /// let b = MonitoringBaseline::new(Default::default(), schema).without_features(&["income"]);
    /// assert!(b.schema.feature("income").is_none());
    /// ```
    pub fn without_features(mut self, names: &[&str]) -> Self {
        self.training
            .features
            .retain(|f| !names.contains(&f.name.as_str()));
        self.schema
            .features
            .retain(|f| !names.contains(&f.name.as_str()));
        self
    }

    /// `true` when requests are expected to carry `feature` (it is in the
    /// schema's `SERVING` environment, or the schema has no environments).
    fn expected_in_serving(&self, feature: &str) -> bool {
        if !self.schema.environments().contains(&SERVING_ENVIRONMENT) {
            return true;
        }
        self.schema
            .feature(feature)
            .is_none_or(|f| self.schema.is_in_environment(f, SERVING_ENVIRONMENT))
    }
}

/// One window compared: per-feature test results against the training
/// statistics (`skew`), the previous window (`drift`, empty without one) and
/// the evaluation's predictions (`prediction_drift`, empty without them),
/// plus the tensorflow-metadata anomalies of the schema comparators with the
/// same effective thresholds.
///
/// ```
/// let c = mlrig_monitor::WindowComparison::default();
/// let text = serde_json::to_string(&c)?;
/// assert!(text.contains("\"skew_anomalies\":{}"));
/// assert_eq!(serde_json::from_str::<mlrig_monitor::WindowComparison>(&text)?, c);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WindowComparison {
    /// Rows in the compared window.
    pub rows: u64,
    /// The window vs the training statistics.
    pub skew: Vec<FeatureComparison>,
    /// The window vs the previous window.
    pub drift: Vec<FeatureComparison>,
    /// The window's predictions vs the evaluation's.
    pub prediction_drift: Vec<FeatureComparison>,
    /// tfmd anomalies of the skew comparators (`COMPARATOR_L_INFTY_HIGH`, …).
    #[serde(with = "tfmd_anomalies")]
    pub skew_anomalies: Anomalies,
    /// tfmd anomalies of the drift comparators.
    #[serde(with = "tfmd_anomalies")]
    pub drift_anomalies: Anomalies,
    /// tfmd anomalies of the prediction comparators (L∞ on the predicted
    /// class, JSD on the score).
    #[serde(with = "tfmd_anomalies")]
    pub prediction_drift_anomalies: Anomalies,
    /// Training features requests should carry but the window has no value
    /// of (absent column, or all values missing).
    pub missing_features: Vec<String>,
    /// Features that could not be compared and why (e.g. numeric in
    /// training, categorical in the window).
    pub errors: Vec<String>,
}

impl WindowComparison {
    /// The comparisons over their threshold, skew first, then drift and
    /// prediction drift.
    ///
    /// ```
    /// assert_eq!(mlrig_monitor::WindowComparison::default().over_threshold().count(), 0);
    /// ```
    pub fn over_threshold(&self) -> impl Iterator<Item = &FeatureComparison> {
        self.skew
            .iter()
            .chain(&self.drift)
            .chain(&self.prediction_drift)
            .filter(|c| c.over_threshold)
    }
}

/// Which schema comparator applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Skew,
    Drift,
}

/// Compares `current` (statistics of a window of serving inputs) with the
/// baseline's training statistics (skew) and, when given, with `previous`
/// (the previous non-overlapping window: drift); and `predictions` (the
/// window's prediction statistics, see [`prediction_batch`]) with the
/// baseline's (prediction drift).
///
/// Categorical features get `linf` (and `chisquare`); numeric ones `jsd`,
/// `psi`, `ks` and `wasserstein`. The `linf`/`jsd` thresholds are the
/// schema's `skewComparator` (skew) or `driftComparator` (drift) thresholds
/// when it has them, else `thresholds`' defaults; the tfmd anomalies come
/// from [`mlrig_validate::compare_skew`] / [`mlrig_validate::compare`] with
/// exactly those thresholds. Columns of the window that training did not
/// have are ignored; training features the window lacks are listed in
/// `missing_features`. Never panics: what cannot be compared is listed in
/// `errors`.
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
/// use mlrig_monitor::{ComparisonTest, MonitoringBaseline, MonitoringThresholds, compare_windows};
/// use mlrig_validate::{SchemaInferenceParams, StatisticsParams, compute_statistics, infer_schema};
/// use std::sync::Arc;
///
/// let stats = |values: Vec<&str>| {
///     let batch = RecordBatch::try_from_iter([("job", Arc::new(StringArray::from(values)) as ArrayRef)]).unwrap();
///     compute_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default()).unwrap()
/// };
/// let training = stats(vec!["a", "b", "a", "b"]);
/// let schema = infer_schema(&training, &SchemaInferenceParams::default());
/// let baseline = MonitoringBaseline::new(training, schema);
/// let window = stats(vec!["a", "c", "c", "c"]);
/// let result = compare_windows(&baseline, None, &window, None, &MonitoringThresholds::default());
/// let linf = result.skew.iter().find(|c| c.test == ComparisonTest::Linf).unwrap();
/// assert_eq!((linf.value, linf.threshold, linf.over_threshold), (0.75, 0.1, true));
/// assert!(result.skew_anomalies.get("job", &mlrig_validate::AnomalyKind::ComparatorLInftyHigh).is_some());
/// assert!(result.drift.is_empty() && result.prediction_drift.is_empty());
/// ```
pub fn compare_windows(
    baseline: &MonitoringBaseline,
    previous: Option<&DatasetStatistics>,
    current: &DatasetStatistics,
    predictions: Option<&DatasetStatistics>,
    thresholds: &MonitoringThresholds,
) -> WindowComparison {
    let mut result = WindowComparison {
        rows: current.num_examples,
        ..WindowComparison::default()
    };
    let skew_schema =
        effective_schema(&baseline.schema, &baseline.training, Side::Skew, thresholds);
    result.skew = compare_features(
        &baseline.training,
        current,
        &skew_schema,
        Side::Skew,
        thresholds,
        &mut result.errors,
    );
    match compare_skew(&baseline.training, current, &without_jsd(&skew_schema)) {
        Ok(anomalies) => result.skew_anomalies = with_jsd_anomalies(anomalies, &result.skew),
        Err(e) => result.errors.push(format!("skew anomalies: {e}")),
    }
    if let Some(previous) = previous {
        let drift_schema = effective_schema(
            &baseline.schema,
            &baseline.training,
            Side::Drift,
            thresholds,
        );
        result.drift = compare_features(
            previous,
            current,
            &drift_schema,
            Side::Drift,
            thresholds,
            &mut result.errors,
        );
        match compare(previous, current, &without_jsd(&drift_schema)) {
            Ok(anomalies) => result.drift_anomalies = with_jsd_anomalies(anomalies, &result.drift),
            Err(e) => result.errors.push(format!("drift anomalies: {e}")),
        }
    }
    if let (Some(reference), Some(current_predictions)) = (&baseline.predictions, predictions) {
        let inferred = infer_schema(reference, &SchemaInferenceParams::default());
        let schema = effective_schema(&inferred, reference, Side::Skew, thresholds);
        result.prediction_drift = compare_features(
            reference,
            current_predictions,
            &schema,
            Side::Skew,
            thresholds,
            &mut result.errors,
        );
        match compare_skew(reference, current_predictions, &without_jsd(&schema)) {
            Ok(anomalies) => {
                result.prediction_drift_anomalies =
                    with_jsd_anomalies(anomalies, &result.prediction_drift);
            }
            Err(e) => result
                .errors
                .push(format!("prediction drift anomalies: {e}")),
        }
    }
    if current.num_examples > 0 {
        result.missing_features = baseline
            .training
            .features()
            .iter()
            .filter(|f| baseline.expected_in_serving(&f.name) && has_values(f))
            .filter(|f| !current.feature(&f.name).is_some_and(has_values))
            .map(|f| f.name.clone())
            .collect();
    }
    result
}

/// `schema` without JSD comparators: the monitor computes JSD itself on the
/// quantile sketches (see [`with_jsd_anomalies`]), not on TFDV's histograms.
fn without_jsd(schema: &Schema) -> Schema {
    let mut schema = schema.clone();
    for feature in &mut schema.features {
        for comparator in [&mut feature.skew_comparator, &mut feature.drift_comparator]
            .into_iter()
            .flatten()
        {
            comparator.jensen_shannon_divergence = None;
        }
    }
    schema
}

/// `anomalies` plus a `COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH` anomaly
/// for every `jsd` comparison over its threshold, so that the report's
/// anomalies name exactly the features its gauges flag.
fn with_jsd_anomalies(mut anomalies: Anomalies, comparisons: &[FeatureComparison]) -> Anomalies {
    for c in comparisons
        .iter()
        .filter(|c| c.test == ComparisonTest::Jsd && c.over_threshold)
    {
        let found = format!("{:.6}", c.value);
        let anomaly = Anomaly::new(
            &c.feature,
            AnomalyKind::ComparatorJensenShannonDivergenceHigh,
            format!("Jensen-Shannon divergence at most {}", c.threshold),
            found.clone(),
            1,
            Vec::new(),
        )
        .with_description(format!(
            "The Jensen-Shannon divergence between the two quantile sketches (on the \
             reference's deciles) is {found}, above the threshold {}.",
            c.threshold
        ));
        anomalies.push(anomaly);
    }
    anomalies
}

/// `schema` with a `linf` (categorical) or `jsd` (numeric) threshold on the
/// `side` comparator of every feature that lacks one, from `thresholds`.
fn effective_schema(
    schema: &Schema,
    reference: &DatasetStatistics,
    side: Side,
    thresholds: &MonitoringThresholds,
) -> Schema {
    let mut schema = schema.clone();
    for feature in &mut schema.features {
        let Some(stats) = reference.feature(&feature.name) else {
            continue;
        };
        let slot = match side {
            Side::Skew => &mut feature.skew_comparator,
            Side::Drift => &mut feature.drift_comparator,
        };
        let comparator = slot.get_or_insert_with(FeatureComparator::default);
        match &stats.stats {
            ValueStatistics::String(_) => {
                let norm = comparator
                    .infinity_norm
                    .get_or_insert_with(InfinityNorm::default);
                norm.threshold = norm.threshold.or(Some(thresholds.linf));
            }
            ValueStatistics::Numeric(_) => {
                let jsd = comparator
                    .jensen_shannon_divergence
                    .get_or_insert_with(JensenShannonDivergence::default);
                jsd.threshold = jsd.threshold.or(Some(thresholds.jsd));
            }
            _ => {}
        }
    }
    schema
}

fn has_values(feature: &FeatureStatistics) -> bool {
    feature.common().is_some_and(|c| c.num_non_missing > 0)
}

/// The comparisons of every feature of `reference` with values on both sides.
fn compare_features(
    reference: &DatasetStatistics,
    current: &DatasetStatistics,
    schema: &Schema,
    side: Side,
    thresholds: &MonitoringThresholds,
    errors: &mut Vec<String>,
) -> Vec<FeatureComparison> {
    let mut out = Vec::new();
    for r in reference.features() {
        let Some(c) = current.feature(&r.name) else {
            continue;
        };
        if !has_values(r) || !has_values(c) {
            continue;
        }
        let comparator = schema.feature(&r.name).and_then(|f| match side {
            Side::Skew => f.skew_comparator.as_ref(),
            Side::Drift => f.drift_comparator.as_ref(),
        });
        let push = |out: &mut Vec<FeatureComparison>,
                    test: ComparisonTest,
                    value: f64,
                    p_value: Option<f64>,
                    threshold: f64| {
            let over = thresholds.alerts_on(test) && exceeds(test, value, p_value, threshold);
            out.push(FeatureComparison::new(
                &r.name, test, value, p_value, threshold, over,
            ));
        };
        match (&r.stats, &c.stats) {
            (ValueStatistics::String(_), ValueStatistics::String(_)) => {
                let threshold = thresholds.resolve(comparator, ComparisonTest::Linf);
                let (_, distance) = l_infinity_distance(&value_counts(r), &value_counts(c));
                push(&mut out, ComparisonTest::Linf, distance, None, threshold);
            }
            (ValueStatistics::Numeric(_), ValueStatistics::Numeric(_)) => {
                let threshold = thresholds.resolve(comparator, ComparisonTest::Jsd);
                match sketch_jensen_shannon_divergence(r, c) {
                    Ok(Some(divergence)) => {
                        push(&mut out, ComparisonTest::Jsd, divergence, None, threshold);
                    }
                    Ok(None) => {}
                    Err(e) => errors.push(format!("{}: jsd: {e}", r.name)),
                }
            }
            (ValueStatistics::Numeric(_), ValueStatistics::String(_))
            | (ValueStatistics::String(_), ValueStatistics::Numeric(_)) => {
                errors.push(format!(
                    "{}: numeric on one side, categorical on the other",
                    r.name
                ));
                continue;
            }
            _ => continue,
        }
        match drift_tests(
            &single(reference, r),
            &single(current, c),
            &drift_params(thresholds),
        ) {
            Ok(results) => {
                for result in results {
                    if let Some(test) = ComparisonTest::from_drift_test(result.test) {
                        push(
                            &mut out,
                            test,
                            result.statistic,
                            result.p_value,
                            thresholds.resolve(comparator, test),
                        );
                    }
                }
            }
            Err(e) => errors.push(format!("{}: {e}", r.name)),
        }
    }
    out
}

fn drift_params(thresholds: &MonitoringThresholds) -> DriftTestParams {
    let mut params = DriftTestParams::default();
    params.ks_p_value = thresholds.ks;
    params.psi_threshold = thresholds.psi;
    params.wasserstein_threshold = thresholds.wasserstein;
    params.chi_squared_p_value = thresholds.chisquare;
    params
}

/// A dataset of one feature (so one feature's failure does not stop the others).
fn single(dataset: &DatasetStatistics, feature: &FeatureStatistics) -> DatasetStatistics {
    let mut one = DatasetStatistics::default();
    one.num_examples = dataset.num_examples;
    one.features.push(feature.clone());
    one
}

/// The prediction dataset whose statistics prediction drift compares: a
/// [`PREDICTED_CLASS_FEATURE`] `Utf8` column (when `labels` are given:
/// classifiers) and a [`SCORE_FEATURE`] `Float64` column. The same shape
/// for a bundle's `prediction_statistics.json`, the live monitor and
/// offline tools.
///
/// # Errors
/// [`MonitorError::PredictionShape`] when `labels` and `scores` differ in length.
///
/// ```
/// let batch = mlrig_monitor::prediction_batch(Some(&[Some("no"), Some("yes"), None]), &[0.9, 0.7, 0.5])?;
/// assert_eq!(batch.num_rows(), 3);
/// assert_eq!(batch.schema().field(0).name(), "predicted_class");
/// assert_eq!(batch.column(0).null_count(), 1); // a row without a class is missing, not ""
/// assert_eq!(mlrig_monitor::prediction_batch(None, &[1.5])?.num_columns(), 1);
/// assert!(mlrig_monitor::prediction_batch(Some(&[Some("no")]), &[]).is_err());
/// # Ok::<(), mlrig_monitor::MonitorError>(())
/// ```
pub fn prediction_batch(
    labels: Option<&[Option<&str>]>,
    scores: &[f64],
) -> Result<RecordBatch, MonitorError> {
    let mut fields = Vec::with_capacity(2);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(2);
    if let Some(labels) = labels {
        if labels.len() != scores.len() {
            return Err(MonitorError::PredictionShape {
                labels: labels.len(),
                scores: scores.len(),
            });
        }
        fields.push(Field::new(PREDICTED_CLASS_FEATURE, DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(labels.to_vec())));
    }
    fields.push(Field::new(SCORE_FEATURE, DataType::Float64, true));
    columns.push(Arc::new(Float64Array::from(scores.to_vec())));
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns)
        .map_err(|e| MonitorError::Core(mlrig_core::Error::from(e)))
}

/// The prediction dataset of a served response ([`prediction_batch`]): a
/// classifier's per-class counts expanded to one label per row (rows are
/// not aligned with the scores; only each column's distribution is used).
/// Rows the counts do not cover have a missing class: a classifier's
/// dataset always has both columns, so every batch of a window merges.
///
/// ```
/// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
/// let p = Predictions::Classification {
///     classes: vec!["no".into(), "yes".into()],
///     probabilities: array![[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]],
/// };
/// let batch = mlrig_monitor::served_prediction_batch(&ServedPredictions::new("m", 1, &p))?;
/// assert_eq!((batch.num_rows(), batch.num_columns()), (3, 2));
/// # Ok::<(), mlrig_monitor::MonitorError>(())
/// ```
pub fn served_prediction_batch(served: &ServedPredictions) -> Result<RecordBatch, MonitorError> {
    prediction_batch_of_counts(
        served.is_classification,
        &served.class_counts,
        &served.scores,
    )
}

/// [`served_prediction_batch`] of a response's parts.
pub(crate) fn prediction_batch_of_counts(
    is_classification: bool,
    class_counts: &[(String, u64)],
    scores: &[f64],
) -> Result<RecordBatch, MonitorError> {
    if !is_classification {
        return prediction_batch(None, scores);
    }
    let mut labels: Vec<Option<&str>> = Vec::with_capacity(scores.len());
    for (class, count) in class_counts {
        // Never more labels than scores, whatever the counts claim.
        let count = usize::try_from(*count)
            .unwrap_or(usize::MAX)
            .min(scores.len().saturating_sub(labels.len()));
        labels.extend(std::iter::repeat_n(Some(class.as_str()), count));
    }
    labels.resize(scores.len(), None);
    prediction_batch(Some(&labels), scores)
}

/// Serde of an `f64` that may be NaN or infinite: a JSON number, or the
/// proto3 JSON strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
mod finite_or_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else if x.is_nan() {
            s.serialize_str("NaN")
        } else if *x > 0.0 {
            s.serialize_str("Infinity")
        } else {
            s.serialize_str("-Infinity")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum NumberOrText {
        Number(f64),
        Text(String),
    }

    pub(super) fn from_value<E: serde::de::Error>(v: NumberOrText) -> Result<f64, E> {
        match v {
            NumberOrText::Number(x) => Ok(x),
            NumberOrText::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => Err(E::custom(format!(
                    "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", found {other:?}"
                ))),
            },
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        from_value(NumberOrText::deserialize(d)?)
    }
}

/// [`finite_or_text`] for an optional value (`null` when absent).
mod optional_finite_or_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::finite_or_text::{self, NumberOrText};

    pub(super) fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(x) => finite_or_text::serialize(x, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<NumberOrText>::deserialize(d)?
            .map(finite_or_text::from_value)
            .transpose()
    }
}

/// Serde of [`Anomalies`] as their tensorflow-metadata JSON.
pub(crate) mod tfmd_anomalies {
    use mlrig_validate::Anomalies;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// The tfmd JSON value of `anomalies`.
    pub(crate) fn to_value(anomalies: &Anomalies) -> Result<serde_json::Value, String> {
        let text = anomalies.to_tfmd_json().map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    pub(crate) fn serialize<S: Serializer>(a: &Anomalies, s: S) -> Result<S::Ok, S::Error> {
        to_value(a).map_err(serde::ser::Error::custom)?.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Anomalies, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Anomalies::from_tfmd_json(&value.to_string()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::Accumulator;
    use mlrig_core::arrow_array::Int64Array;
    use mlrig_validate::{
        AnomalyKind, StatisticsAccumulator, StatisticsParams, compute_statistics,
    };
    use proptest::prelude::*;

    fn sample(name: &str) -> Vec<RecordBatch> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/samples")
            .join(name);
        let (_, batches, _) =
            mlrig_ingest::read_csv(path, mlrig_ingest::ReadOptions::default()).unwrap();
        batches
    }

    fn stats_of(batches: &[RecordBatch]) -> DatasetStatistics {
        compute_statistics(batches, &batches[0].schema(), &StatisticsParams::default()).unwrap()
    }

    fn adult_baseline() -> MonitoringBaseline {
        let training = stats_of(&sample("adult_sample.csv"));
        let schema = infer_schema(&training, &SchemaInferenceParams::default());
        MonitoringBaseline::new(training, schema)
    }

    fn find<'a>(
        list: &'a [FeatureComparison],
        feature: &str,
        test: ComparisonTest,
    ) -> &'a FeatureComparison {
        list.iter()
            .find(|c| c.feature == feature && c.test == test)
            .unwrap_or_else(|| panic!("no {test} for {feature} in {list:#?}"))
    }

    #[test]
    fn training_data_against_itself_is_never_over_threshold() {
        let baseline = adult_baseline();
        let t = MonitoringThresholds::default();
        let c = compare_windows(
            &baseline,
            Some(&baseline.training),
            &baseline.training,
            None,
            &t,
        );
        assert_eq!(
            c.over_threshold().count(),
            0,
            "{:#?}",
            c.over_threshold().collect::<Vec<_>>()
        );
        assert!(c.skew_anomalies.is_empty() && c.drift_anomalies.is_empty());
        assert!(
            c.missing_features.is_empty() && c.errors.is_empty(),
            "{c:?}"
        );
        assert_eq!(find(&c.skew, "workclass", ComparisonTest::Linf).value, 0.0);
        assert_eq!(find(&c.skew, "age", ComparisonTest::Jsd).value, 0.0);
        let ks = find(&c.drift, "age", ComparisonTest::Ks);
        assert_eq!((ks.value, ks.p_value), (0.0, Some(1.0)));
        // 14 training features: 6 numeric × 4 tests + 9 categorical × 2.
        assert_eq!(c.skew.len(), 6 * 4 + 9 * 2, "{:#?}", c.skew);
    }

    /// Rows `from..from + n` of the adult sample, with `age` moved by `shift`.
    fn adult_rows(from: usize, n: usize, shift: i64) -> RecordBatch {
        let all = sample("adult_sample.csv");
        let batch = arrow_select::concat::concat_batches(&all[0].schema(), &all).unwrap();
        let batch = batch.slice(from, n);
        let schema = batch.schema();
        let columns = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| {
                match c
                    .as_any()
                    .downcast_ref::<mlrig_core::arrow_array::Int64Array>()
                {
                    Some(ints) if f.name() == "age" => {
                        Arc::new(mlrig_core::arrow_array::Int64Array::from_iter(
                            ints.iter().map(|x| x.map(|x| x + shift)),
                        )) as ArrayRef
                    }
                    _ => c.clone(),
                }
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[test]
    fn unchanged_integer_features_stay_under_the_jsd_threshold() {
        let baseline = adult_baseline();
        let t = MonitoringThresholds::default();
        let window = stats_of(&[adult_rows(1000, 500, 0)]);
        let c = compare_windows(&baseline, None, &window, None, &t);
        let jsd: Vec<&FeatureComparison> = c
            .skew
            .iter()
            .filter(|c| c.test == ComparisonTest::Jsd)
            .collect();
        assert_eq!(jsd.len(), 6, "{jsd:#?}");
        for j in &jsd {
            assert!(j.value < 0.1 && !j.over_threshold, "{j:?}");
        }
        assert!(
            c.skew_anomalies
                .iter()
                .all(|a| a.kind != AnomalyKind::ComparatorJensenShannonDivergenceHigh),
            "{:?}",
            c.skew_anomalies
        );
        // Still caught: the same rows 30 years older.
        let shifted = stats_of(&[adult_rows(1000, 500, 30)]);
        let c = compare_windows(&baseline, None, &shifted, None, &t);
        let age = find(&c.skew, "age", ComparisonTest::Jsd);
        assert!(age.value > 0.1 && age.over_threshold, "{age:?}");
        assert!(
            c.skew_anomalies
                .get("age", &AnomalyKind::ComparatorJensenShannonDivergenceHigh)
                .is_some()
        );
        assert!(find(&c.skew, "hours-per-week", ComparisonTest::Jsd).value < 0.1);
    }

    #[test]
    fn the_shifted_adult_sample_is_skewed_in_workclass() {
        let baseline = adult_baseline();
        let shifted = stats_of(&sample("adult_shifted.csv"));
        let c = compare_windows(
            &baseline,
            None,
            &shifted,
            None,
            &MonitoringThresholds::default(),
        );
        let workclass = find(&c.skew, "workclass", ComparisonTest::Linf);
        assert!(
            workclass.over_threshold && workclass.value > 0.1,
            "{workclass:?}"
        );
        let anomaly = c
            .skew_anomalies
            .get("workclass", &AnomalyKind::ComparatorLInftyHigh)
            .unwrap();
        assert!(
            anomaly.description.contains("training and serving"),
            "{anomaly:?}"
        );
        // The shifted file lacks fnlwgt; its extra `device` column is ignored.
        assert_eq!(c.missing_features, vec!["fnlwgt".to_string()]);
        assert!(c.skew.iter().all(|x| x.feature != "device"));
        assert!(c.skew.iter().all(|x| x.feature != "fnlwgt"));
        // Every over-threshold comparison is of an alerting test, and the tfmd
        // anomalies name exactly the features over their linf/jsd threshold.
        let over: Vec<_> = c.over_threshold().collect();
        assert!(
            over.iter()
                .all(|x| MonitoringThresholds::default().alerts_on(x.test))
        );
        for x in c
            .skew
            .iter()
            .filter(|x| matches!(x.test, ComparisonTest::Linf | ComparisonTest::Jsd))
        {
            let kind = if x.test == ComparisonTest::Linf {
                AnomalyKind::ComparatorLInftyHigh
            } else {
                AnomalyKind::ComparatorJensenShannonDivergenceHigh
            };
            assert_eq!(
                c.skew_anomalies.get(&x.feature, &kind).is_some(),
                x.over_threshold,
                "{x:?}"
            );
        }
    }

    #[test]
    fn schema_comparator_thresholds_override_the_defaults() {
        let mut baseline = adult_baseline();
        baseline
            .schema
            .feature_mut("workclass")
            .unwrap()
            .skew_comparator = Some(FeatureComparator::infinity_norm(0.9));
        baseline.schema.feature_mut("age").unwrap().drift_comparator =
            Some(FeatureComparator::jensen_shannon_divergence(0.001));
        let shifted = stats_of(&sample("adult_shifted.csv"));
        let c = compare_windows(
            &baseline,
            Some(&baseline.training),
            &shifted,
            None,
            &MonitoringThresholds::default(),
        );
        let skew = find(&c.skew, "workclass", ComparisonTest::Linf);
        assert_eq!((skew.threshold, skew.over_threshold), (0.9, false));
        assert!(
            c.skew_anomalies
                .get("workclass", &AnomalyKind::ComparatorLInftyHigh)
                .is_none()
        );
        // Drift of workclass has no schema comparator: the default applies.
        assert_eq!(
            find(&c.drift, "workclass", ComparisonTest::Linf).threshold,
            0.1
        );
        let age = find(&c.drift, "age", ComparisonTest::Jsd);
        assert_eq!(age.threshold, 0.001);
        assert_eq!(
            c.drift_anomalies
                .get("age", &AnomalyKind::ComparatorJensenShannonDivergenceHigh)
                .is_some(),
            age.value > 0.001
        );
    }

    #[test]
    fn labels_outside_the_serving_environment_are_not_missing() {
        let mut baseline = adult_baseline();
        baseline.schema.default_environment = vec!["TRAINING".into(), "SERVING".into()];
        baseline
            .schema
            .feature_mut("fnlwgt")
            .unwrap()
            .not_in_environment
            .push("SERVING".into());
        let shifted = stats_of(&sample("adult_shifted.csv"));
        let c = compare_windows(
            &baseline,
            None,
            &shifted,
            None,
            &MonitoringThresholds::default(),
        );
        assert!(c.missing_features.is_empty(), "{:?}", c.missing_features);
        let b = adult_baseline().without_features(&["fnlwgt"]);
        let c = compare_windows(&b, None, &shifted, None, &MonitoringThresholds::default());
        assert!(c.missing_features.is_empty());
    }

    #[test]
    fn prediction_drift_compares_classes_and_scores() {
        let reference = {
            let labels: Vec<Option<&str>> = (0..400)
                .map(|i| Some(if i % 4 == 0 { "yes" } else { "no" }))
                .collect();
            let scores: Vec<f64> = (0..400).map(|i| 0.5 + f64::from(i % 50) / 100.0).collect();
            stats_of(&[prediction_batch(Some(&labels), &scores).unwrap()])
        };
        let baseline = adult_baseline().with_predictions(reference.clone());
        let t = MonitoringThresholds::default();
        let same = compare_windows(&baseline, None, &baseline.training, Some(&reference), &t);
        assert_eq!(
            same.prediction_drift.len(),
            2 + 4,
            "{:#?}",
            same.prediction_drift
        );
        assert!(same.prediction_drift.iter().all(|c| !c.over_threshold));
        let labels: Vec<Option<&str>> = (0..400)
            .map(|i| Some(if i % 2 == 0 { "yes" } else { "no" }))
            .collect();
        let scores: Vec<f64> = (0..400).map(|i| 0.9 + f64::from(i % 10) / 100.0).collect();
        let shifted = stats_of(&[prediction_batch(Some(&labels), &scores).unwrap()]);
        let c = compare_windows(&baseline, None, &baseline.training, Some(&shifted), &t);
        let class = find(
            &c.prediction_drift,
            PREDICTED_CLASS_FEATURE,
            ComparisonTest::Linf,
        );
        assert!(
            (class.value - 0.25).abs() < 1e-12 && class.over_threshold,
            "{class:?}"
        );
        assert!(find(&c.prediction_drift, SCORE_FEATURE, ComparisonTest::Psi).over_threshold);
        assert!(
            c.prediction_drift_anomalies
                .get(
                    SCORE_FEATURE,
                    &AnomalyKind::ComparatorJensenShannonDivergenceHigh
                )
                .is_some()
        );
        // No baseline predictions: no prediction drift.
        let c = compare_windows(
            &adult_baseline(),
            None,
            &baseline.training,
            Some(&shifted),
            &t,
        );
        assert!(c.prediction_drift.is_empty());
    }

    #[test]
    fn a_classifiers_prediction_dataset_keeps_its_class_column_whatever_the_counts() {
        let scores = [0.9, 0.8, 0.7];
        // Counts short of the scores: the rest is missing, the column stays.
        let short = prediction_batch_of_counts(true, &[("yes".into(), 1)], &scores).unwrap();
        assert_eq!(short.num_columns(), 2);
        assert_eq!((short.num_rows(), short.column(0).null_count()), (3, 2));
        // Counts beyond the scores (even u64::MAX) are cut, not allocated.
        let long = prediction_batch_of_counts(
            true,
            &[("no".into(), u64::MAX), ("yes".into(), 5)],
            &scores,
        )
        .unwrap();
        assert_eq!((long.num_rows(), long.column(0).null_count()), (3, 0));
        assert_eq!(
            short.schema(),
            long.schema(),
            "one schema: the batches merge"
        );
    }

    #[test]
    fn served_predictions_expand_to_one_label_per_row() {
        use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
        let p = Predictions::Classification {
            classes: vec!["no".into(), "yes".into()],
            probabilities: array![[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]],
        };
        let served = ServedPredictions::new("m", 1, &p);
        let batch = served_prediction_batch(&served).unwrap();
        let stats = stats_of(&[batch]);
        let class = stats.feature(PREDICTED_CLASS_FEATURE).unwrap();
        assert_eq!(
            value_counts(class),
            std::collections::BTreeMap::from([("no".into(), 1.0), ("yes".into(), 2.0)])
        );
        assert_eq!(
            stats.feature(SCORE_FEATURE).unwrap().numeric().unwrap().max,
            0.9
        );
        let r = Predictions::Regression {
            values: array![1.0, 2.0],
        };
        let served = ServedPredictions::new("m", 1, &r);
        let batch = served_prediction_batch(&served).unwrap();
        assert_eq!((batch.num_columns(), batch.num_rows()), (1, 2));
    }

    #[test]
    fn kind_changes_are_errors_not_panics() {
        let numbers = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        )])
        .unwrap();
        let words = RecordBatch::try_from_iter([(
            "x",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        )])
        .unwrap();
        let training = stats_of(&[numbers]);
        let schema = infer_schema(&training, &SchemaInferenceParams::default());
        let baseline = MonitoringBaseline::new(training, schema);
        let c = compare_windows(
            &baseline,
            None,
            &stats_of(&[words]),
            None,
            &MonitoringThresholds::default(),
        );
        assert!(c.skew.is_empty());
        assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    }

    /// A batch of arbitrary numeric and categorical columns (NaN, ±∞ and nulls included).
    fn arbitrary_batch() -> impl Strategy<Value = RecordBatch> {
        let float = prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            -1e6..1e6f64
        ];
        (
            proptest::collection::vec(proptest::option::of(float), 1..40),
            proptest::collection::vec(proptest::option::of("[a-d]{0,2}"), 1..40),
            any::<bool>(),
        )
            .prop_map(|(floats, words, swap)| {
                let f: ArrayRef = Arc::new(Float64Array::from(floats.clone()));
                let w: ArrayRef = Arc::new(StringArray::from(words.clone()));
                let n = floats.len().min(words.len());
                let (f, w) = (f.slice(0, n), w.slice(0, n));
                // Sometimes the same name holds the other kind of values.
                let columns = if swap {
                    vec![("x", w), ("y", f)]
                } else {
                    vec![("x", f), ("y", w)]
                };
                RecordBatch::try_from_iter(columns).unwrap()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn compare_windows_never_panics_and_round_trips(
            training in arbitrary_batch(),
            previous in arbitrary_batch(),
            current in arbitrary_batch(),
            drop_sketch in any::<bool>(),
        ) {
            let training = stats_of(&[training]);
            let schema = infer_schema(&training, &SchemaInferenceParams::default());
            let mut current = stats_of(&[current]);
            if drop_sketch {
                for f in &mut current.features { f.custom_stats.clear(); }
            }
            let previous = {
                let mut acc = StatisticsAccumulator::new(&previous.schema(), StatisticsParams::default());
                acc.update(&previous).unwrap();
                acc.finish()
            };
            let baseline = MonitoringBaseline::new(training.clone(), schema).with_predictions(training);
            let c = compare_windows(&baseline, Some(&previous), &current, Some(&current), &MonitoringThresholds::default());
            let text = serde_json::to_string(&c).unwrap();
            let back: WindowComparison = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), text);
            for x in c.over_threshold() {
                prop_assert!(MonitoringThresholds::default().alerts_on(x.test));
            }
        }
    }
}
