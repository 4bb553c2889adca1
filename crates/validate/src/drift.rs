//! [`drift_tests`]: the statistical drift tests users know from Evidently,
//! computed from two [`DatasetStatistics`] (no second pass over the data).
//!
//! | test | features | statistic | drift when (default) |
//! |------|----------|-----------|----------------------|
//! | [`DriftTest::KolmogorovSmirnov`] | numeric | `D = max_x |F_ref(x) − F_cur(x)|` | p-value < 0.05 |
//! | [`DriftTest::PopulationStabilityIndex`] | numeric | `Σ (c_i − r_i) ln(c_i / r_i)` over 10 reference-quantile bins | PSI > 0.1 |
//! | [`DriftTest::NormalizedWasserstein`] | numeric | `W₁(ref, cur) / σ_ref` | > 0.1 |
//! | [`DriftTest::ChiSquared`] | categorical | Pearson's χ² test of homogeneity of the two samples' counts ([`chi_squared_two_sample`]) | p-value < 0.05 |
//!
//! The thresholds are Evidently's defaults ([`DriftTestParams::default`]).
//!
//! **Numeric features** are read from the [`VALUE_SKETCH`](crate::VALUE_SKETCH)
//! custom statistic: the full log-bucket quantile sketch, whose buckets are
//! identical in both datasets (same `α`), so both CDFs are evaluated at the
//! same points. Each bucket counts as a point mass at its representative
//! value (within relative error `α` of every value in it; for `INT` features
//! the exact integer when the bucket can hold only one). Hence:
//!
//! * KS: `D` is exact whenever no sketch bucket holds two *different* values
//!   from the two samples (e.g. `INT` features with |x| < 200, or values
//!   more than `2α` apart); otherwise it is `D` of the data rounded to
//!   buckets. The
//!   p-value is the asymptotic one, `Q_KS(√(nm/(n+m)) · D)` with Kolmogorov's
//!   limit distribution (scipy `kstwobign.sf`); Evidently calls scipy's
//!   `ks_2samp`, whose exact small-sample p-value differs for small `n`.
//! * Wasserstein: moving every value by at most `α·|x|` moves `W₁` by at most
//!   `α·(E|x_ref| + E|x_cur|)`; it is divided by the reference's population
//!   standard deviation (exact, from the statistics), as Evidently does.
//! * PSI: the bin edges are the reference's 0.1, …, 0.9 quantiles (sketch
//!   values, duplicates merged); empty bins count as proportion 0.0001 on
//!   either side, as Evidently does.
//!
//! **Categorical features** (string and boolean statistics) use the value
//! counts of the rank histogram in Pearson's χ² test of homogeneity on the
//! 2 × k table of both samples' counts (scipy's
//! `chi2_contingency(table, correction=False)`), `df = k − 1` over the values
//! seen on either side. Values the statistics did not keep (beyond the
//! distinct cap or the rank histogram) are pooled into one extra category so
//! no count is lost. Evidently instead runs scipy's one-sample
//! `chisquare(current, reference scaled to n_cur)`, which treats the
//! reference proportions as exact: with hundreds of categories it flags two
//! samples of the same distribution (on a 1M-row file: χ² ≈ 2 × df for a
//! 1,000-level column that did not change), and a value new in the current
//! data makes it infinite. The two-sample test has neither problem.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ValidateError;
use crate::probability_distributions::{chi_squared_sf, kolmogorov_sf};
use crate::sketch::{SketchBucket, buckets_from_histogram, quantile_of_buckets, snap_to_integers};
use crate::statistics::StatisticsType;
use crate::statistics::{DatasetStatistics, FeatureStatistics, ValueStatistics};

/// Thresholds of the drift tests (Evidently's defaults).
///
/// ```
/// let p = mlrig_validate::DriftTestParams::default();
/// assert_eq!((p.ks_p_value, p.psi_threshold, p.wasserstein_threshold, p.chi_squared_p_value),
///            (0.05, 0.1, 0.1, 0.05));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriftTestParams {
    /// KS drift when the p-value is below this (default 0.05).
    pub ks_p_value: f64,
    /// PSI drift when the index is above this (default 0.1).
    pub psi_threshold: f64,
    /// Wasserstein drift when `W₁ / σ_ref` is above this (default 0.1).
    pub wasserstein_threshold: f64,
    /// χ² drift when the p-value is below this (default 0.05).
    pub chi_squared_p_value: f64,
}

impl Default for DriftTestParams {
    fn default() -> Self {
        Self {
            ks_p_value: 0.05,
            psi_threshold: 0.1,
            wasserstein_threshold: 0.1,
            chi_squared_p_value: 0.05,
        }
    }
}

/// A statistical drift test.
///
/// ```
/// assert_eq!(mlrig_validate::DriftTest::ChiSquared.name(), "chisquare");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DriftTest {
    /// Two-sample Kolmogorov–Smirnov (numeric).
    KolmogorovSmirnov,
    /// Population stability index (numeric).
    PopulationStabilityIndex,
    /// Wasserstein-1 distance normalized by the reference standard deviation (numeric).
    NormalizedWasserstein,
    /// Pearson's chi-squared test (categorical).
    ChiSquared,
}

impl DriftTest {
    /// Evidently's name of the test (`ks`, `psi`, `wasserstein`, `chisquare`).
    ///
    /// ```
    /// assert_eq!(mlrig_validate::DriftTest::KolmogorovSmirnov.name(), "ks");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            DriftTest::KolmogorovSmirnov => "ks",
            DriftTest::PopulationStabilityIndex => "psi",
            DriftTest::NormalizedWasserstein => "wasserstein",
            DriftTest::ChiSquared => "chisquare",
        }
    }
}

/// The outcome of one test on one feature.
///
/// ```
/// use mlrig_validate::{DriftTest, DriftTestResult};
/// let r = DriftTestResult::new("age", DriftTest::PopulationStabilityIndex, 0.25, None, 0.1, true);
/// assert!(r.drift_detected);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriftTestResult {
    /// The feature.
    pub feature: String,
    /// The test.
    pub test: DriftTest,
    /// The test statistic (`D`, PSI, `W₁/σ`, χ²).
    pub statistic: f64,
    /// The p-value, for KS and χ².
    pub p_value: Option<f64>,
    /// The threshold applied (to the p-value when there is one, else to the statistic).
    pub threshold: f64,
    /// `true` when the test says the distribution drifted.
    pub drift_detected: bool,
}

impl DriftTestResult {
    /// A result from its parts.
    ///
    /// ```
    /// use mlrig_validate::{DriftTest, DriftTestResult};
    /// let r = DriftTestResult::new("x", DriftTest::KolmogorovSmirnov, 0.3, Some(0.01), 0.05, true);
    /// assert_eq!(r.p_value, Some(0.01));
    /// ```
    pub fn new(
        feature: impl Into<String>,
        test: DriftTest,
        statistic: f64,
        p_value: Option<f64>,
        threshold: f64,
        drift_detected: bool,
    ) -> Self {
        Self {
            feature: feature.into(),
            test,
            statistic,
            p_value,
            threshold,
            drift_detected,
        }
    }
}

/// Runs the drift tests on every feature present in both statistics with
/// values on both sides: KS, PSI and normalized Wasserstein on numeric
/// features, χ² on categorical ones. Results are in the reference's feature
/// order.
///
/// Errors when a numeric feature has values but no
/// [`VALUE_SKETCH`](crate::VALUE_SKETCH) (statistics not computed by mlrig).
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use mlrig_validate::*;
/// use std::sync::Arc;
///
/// let stats = |values: Vec<i64>| {
///     let batch = RecordBatch::try_from_iter([("age", Arc::new(Int64Array::from(values)) as ArrayRef)]).unwrap();
///     compute_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default()).unwrap()
/// };
/// let reference = stats((0..200).map(|i| 20 + i % 40).collect());
/// let current = stats((0..200).map(|i| 35 + i % 40).collect());
/// let results = drift_tests(&reference, &current, &DriftTestParams::default())?;
/// let ks = results.iter().find(|r| r.test == DriftTest::KolmogorovSmirnov).unwrap();
/// assert!((ks.statistic - 0.375).abs() < 1e-12);
/// assert!(ks.drift_detected);
/// # Ok::<(), ValidateError>(())
/// ```
pub fn drift_tests(
    reference: &DatasetStatistics,
    current: &DatasetStatistics,
    params: &DriftTestParams,
) -> Result<Vec<DriftTestResult>, ValidateError> {
    let mut results = Vec::new();
    for r in reference.features() {
        let Some(c) = current.feature(&r.name) else {
            continue;
        };
        match pair(r, c)? {
            Pairing::Numeric {
                reference: rb,
                current: cb,
                reference_std,
            } => {
                results.extend(numeric_tests(&r.name, &rb, &cb, reference_std, params));
            }
            Pairing::Categorical {
                reference: rc,
                current: cc,
            } => {
                let (statistic, p_value) = chi_squared_test(&rc, &cc);
                results.push(DriftTestResult::new(
                    &r.name,
                    DriftTest::ChiSquared,
                    statistic,
                    Some(p_value),
                    params.chi_squared_p_value,
                    p_value < params.chi_squared_p_value,
                ));
            }
            Pairing::Untested(..) => {}
        }
    }
    Ok(results)
}

/// A feature [`drift_tests`] could not test, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UntestedFeature {
    /// The feature's name.
    pub feature: String,
    /// Why no test ran.
    pub reason: UntestedReason,
    /// The reason in words, e.g. `numeric in the reference, categorical in
    /// the current data`.
    pub detail: String,
}

/// Why a feature could not be tested for drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UntestedReason {
    /// The current data lacks the feature.
    OnlyInReference,
    /// The reference lacks the feature.
    OnlyInCurrent,
    /// Numeric on one side, categorical on the other.
    KindChanged,
    /// The reference has no values for it.
    NoValuesInReference,
    /// The current data has no values for it.
    NoValuesInCurrent,
}

impl UntestedReason {
    /// `true` when the reason is itself a sign of bad data (a column that
    /// vanished, appeared, changed kind or emptied); `false` for a reference
    /// column that never had values, which cannot drift.
    ///
    /// ```
    /// use mlrig_validate::UntestedReason;
    /// assert!(UntestedReason::OnlyInReference.signals_a_problem());
    /// assert!(!UntestedReason::NoValuesInReference.signals_a_problem());
    /// ```
    pub fn signals_a_problem(self) -> bool {
        !matches!(self, UntestedReason::NoValuesInReference)
    }
}

/// The features [`drift_tests`] skips, with the reason: present on one side
/// only, numeric on one side and categorical on the other, or without values
/// on a side (whatever its kind: an empty column's type says nothing).
/// Reference features first (in their order), then features only
/// in the current statistics. Report these next to the test results: a
/// column that vanished or changed type is at least as alarming as drift
/// ([`UntestedReason::signals_a_problem`]).
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use mlrig_validate::*;
/// use std::sync::Arc;
///
/// let stats = |name: &str| {
///     let batch = RecordBatch::try_from_iter([(name, Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef)]).unwrap();
///     compute_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default()).unwrap()
/// };
/// let untested = untested_features(&stats("age"), &stats("years"))?;
/// assert_eq!((untested[0].feature.as_str(), untested[0].reason), ("age", UntestedReason::OnlyInReference));
/// assert_eq!(untested[1].detail, "only in the current data");
/// # Ok::<(), ValidateError>(())
/// ```
pub fn untested_features(
    reference: &DatasetStatistics,
    current: &DatasetStatistics,
) -> Result<Vec<UntestedFeature>, ValidateError> {
    let mut untested = Vec::new();
    for r in reference.features() {
        let (reason, detail) = match current.feature(&r.name) {
            None => (
                UntestedReason::OnlyInReference,
                "only in the reference".to_string(),
            ),
            Some(c) => match pair(r, c)? {
                Pairing::Untested(reason, detail) => (reason, detail),
                _ => continue,
            },
        };
        untested.push(UntestedFeature {
            feature: r.name.clone(),
            reason,
            detail,
        });
    }
    for c in current.features() {
        if reference.feature(&c.name).is_none() {
            untested.push(UntestedFeature {
                feature: c.name.clone(),
                reason: UntestedReason::OnlyInCurrent,
                detail: "only in the current data".into(),
            });
        }
    }
    Ok(untested)
}

/// What the drift tests compare for one feature present on both sides.
enum Pairing {
    Numeric {
        reference: Vec<SketchBucket>,
        current: Vec<SketchBucket>,
        reference_std: f64,
    },
    Categorical {
        reference: BTreeMap<Option<String>, f64>,
        current: BTreeMap<Option<String>, f64>,
    },
    Untested(UntestedReason, String),
}

fn pair(r: &FeatureStatistics, c: &FeatureStatistics) -> Result<Pairing, ValidateError> {
    let no_values = |in_reference: bool| {
        Ok(if in_reference {
            Pairing::Untested(
                UntestedReason::NoValuesInReference,
                "no values in the reference".into(),
            )
        } else {
            Pairing::Untested(
                UntestedReason::NoValuesInCurrent,
                "no values in the current data".into(),
            )
        })
    };
    match (&r.stats, &c.stats) {
        (ValueStatistics::Numeric(rn), ValueStatistics::Numeric(_)) => {
            match (sketch_buckets(r)?, sketch_buckets(c)?) {
                (None, _) => no_values(true),
                (_, None) => no_values(false),
                (Some(reference), Some(current)) => Ok(Pairing::Numeric {
                    reference,
                    current,
                    reference_std: rn.std_dev,
                }),
            }
        }
        (ValueStatistics::String(_), ValueStatistics::String(_)) => {
            let (reference, current) = (categorical_counts(r), categorical_counts(c));
            if reference.values().sum::<f64>() <= 0.0 {
                no_values(true)
            } else if current.values().sum::<f64>() <= 0.0 {
                no_values(false)
            } else {
                Ok(Pairing::Categorical { reference, current })
            }
        }
        // An empty column's kind says nothing (a CSV reader types a column
        // without values as text): report the missing values instead.
        _ if !has_values(r) => no_values(true),
        _ if !has_values(c) => no_values(false),
        (rs, cs) => Ok(Pairing::Untested(
            UntestedReason::KindChanged,
            format!(
                "{} in the reference, {} in the current data",
                kind_of(rs),
                kind_of(cs)
            ),
        )),
    }
}

/// `true` when the feature has at least one value that is not NaN.
fn has_values(feature: &FeatureStatistics) -> bool {
    let present = feature.common().map_or(0, |c| c.num_non_missing);
    present > feature.numeric().map_or(0, |n| n.num_nan())
}

fn kind_of(stats: &ValueStatistics) -> &'static str {
    match stats {
        ValueStatistics::Numeric(_) => "numeric",
        ValueStatistics::String(_) => "categorical",
        ValueStatistics::Bytes(_) => "bytes",
        ValueStatistics::None => "without value statistics",
    }
}

/// The sketch buckets of a numeric feature; `None` when it has no values.
fn sketch_buckets(feature: &FeatureStatistics) -> Result<Option<Vec<SketchBucket>>, ValidateError> {
    let present = feature.numeric().map_or(0, |n| {
        n.common_stats.num_non_missing.saturating_sub(n.num_nan())
    });
    match feature.value_sketch() {
        Some(h) => {
            let mut buckets = buckets_from_histogram(h);
            if feature.feature_type == StatisticsType::Int {
                snap_to_integers(&mut buckets);
            }
            Ok((!buckets.is_empty()).then_some(buckets))
        }
        None if present == 0 => Ok(None),
        None => Err(ValidateError::IncomparableStatistics {
            feature: feature.name.clone(),
            reason: format!(
                "no `{}` custom statistic (compute the statistics with mlrig)",
                crate::VALUE_SKETCH
            ),
        }),
    }
}

fn numeric_tests(
    name: &str,
    reference: &[SketchBucket],
    current: &[SketchBucket],
    reference_std_dev: f64,
    params: &DriftTestParams,
) -> Vec<DriftTestResult> {
    let (d, p_value) = kolmogorov_smirnov(reference, current);
    let psi = population_stability_index(reference, current);
    let w1 = wasserstein_distance(reference, current);
    let normalized = if reference_std_dev > 0.0 {
        w1 / reference_std_dev
    } else if w1 == 0.0 {
        0.0
    } else {
        f64::INFINITY
    };
    vec![
        DriftTestResult::new(
            name,
            DriftTest::KolmogorovSmirnov,
            d,
            Some(p_value),
            params.ks_p_value,
            p_value < params.ks_p_value,
        ),
        DriftTestResult::new(
            name,
            DriftTest::PopulationStabilityIndex,
            psi,
            None,
            params.psi_threshold,
            psi > params.psi_threshold,
        ),
        DriftTestResult::new(
            name,
            DriftTest::NormalizedWasserstein,
            normalized,
            None,
            params.wasserstein_threshold,
            normalized > params.wasserstein_threshold,
        ),
    ]
}

/// The union of both samples' bucket values, ascending, with each sample's
/// count at that value.
fn merged_points(a: &[SketchBucket], b: &[SketchBucket]) -> Vec<(f64, f64, f64)> {
    let mut points: BTreeMap<u64, (f64, f64, f64)> = BTreeMap::new();
    // Order key: total order of f64 mapped to u64.
    let key = |x: f64| {
        let bits = x.to_bits();
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | (1 << 63)
        }
    };
    for bucket in a {
        points
            .entry(key(bucket.value))
            .or_insert((bucket.value, 0.0, 0.0))
            .1 += bucket.count as f64;
    }
    for bucket in b {
        points
            .entry(key(bucket.value))
            .or_insert((bucket.value, 0.0, 0.0))
            .2 += bucket.count as f64;
    }
    points.into_values().collect()
}

/// Two-sample KS statistic and asymptotic p-value.
fn kolmogorov_smirnov(reference: &[SketchBucket], current: &[SketchBucket]) -> (f64, f64) {
    let points = merged_points(reference, current);
    let n: f64 = points.iter().map(|p| p.1).sum();
    let m: f64 = points.iter().map(|p| p.2).sum();
    let (mut fa, mut fb, mut d) = (0.0f64, 0.0f64, 0.0f64);
    for (_, ca, cb) in &points {
        fa += ca;
        fb += cb;
        d = d.max((fa / n - fb / m).abs());
    }
    let en = n * m / (n + m);
    (d, kolmogorov_sf(en.sqrt() * d))
}

/// `W₁ = ∫ |F_a − F_b| dx` between the two point-mass distributions.
fn wasserstein_distance(reference: &[SketchBucket], current: &[SketchBucket]) -> f64 {
    let points = merged_points(reference, current);
    let n: f64 = points.iter().map(|p| p.1).sum();
    let m: f64 = points.iter().map(|p| p.2).sum();
    let (mut fa, mut fb, mut total) = (0.0f64, 0.0f64, 0.0f64);
    for pair in points.windows(2) {
        let (x, ca, cb) = pair[0];
        fa += ca;
        fb += cb;
        let gap = (fa / n - fb / m).abs();
        if gap > 0.0 {
            total += gap * (pair[1].0 - x);
        }
    }
    total
}

/// PSI over bins bounded by the reference's deciles.
fn population_stability_index(reference: &[SketchBucket], current: &[SketchBucket]) -> f64 {
    const MIN_PROPORTION: f64 = 0.0001;
    let edges = decile_edges(reference);
    let proportions = |buckets: &[SketchBucket]| -> Vec<f64> {
        bin_proportions(&edges, buckets)
            .into_iter()
            .map(|p| p.max(MIN_PROPORTION))
            .collect()
    };
    let (r, c) = (proportions(reference), proportions(current));
    r.iter()
        .zip(&c)
        .map(|(r, c)| (c - r) * libm::log(c / r))
        .sum()
}

/// Jensen–Shannon divergence (base 2, so in `[0, 1]`) between two numeric
/// features' distributions, on common bins read from both sides'
/// [`VALUE_SKETCH`](crate::VALUE_SKETCH) quantile sketches: the bin edges are
/// the `reference`'s 0.1, …, 0.9 quantiles (duplicates merged, the same bins
/// as PSI), and each side's mass in a bin is the count of its sketch buckets
/// there (`INT` features: the exact integers). NaN values are left out.
///
/// Unlike TFDV's JSD on the two `STANDARD` histograms (each with its own
/// min/max edges, re-bucketed as if values were spread uniformly inside a
/// bucket), this does not flag an unchanged integer feature whose values sit
/// on a few integers (adult's `hours-per-week`: TFDV's 0.31, this < 0.01).
/// `None` when either side has no value.
///
/// # Errors
/// [`ValidateError::IncomparableStatistics`] when a feature with values has no
/// sketch (statistics not computed by mlrig).
///
/// ```
/// use mlrig_validate::arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use mlrig_validate::{StatisticsParams, compute_statistics, sketch_jensen_shannon_divergence};
/// use std::sync::Arc;
///
/// let stats = |v: Vec<i64>| {
///     let b = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(v)) as ArrayRef)]).unwrap();
///     compute_statistics(&[b.clone()], &b.schema(), &StatisticsParams::default()).unwrap()
/// };
/// let training = stats((0..1000).map(|i| 40 + i % 3).collect());
/// let same = stats((0..300).map(|i| 40 + i % 3).collect());
/// let shifted = stats((0..300).map(|i| 70 + i % 3).collect());
/// let jsd = |s: &mlrig_validate::DatasetStatistics| {
///     sketch_jensen_shannon_divergence(&training.features[0], &s.features[0]).unwrap().unwrap()
/// };
/// assert!(jsd(&same) < 0.01);
/// assert!(jsd(&shifted) > 0.9);
/// ```
pub fn sketch_jensen_shannon_divergence(
    reference: &FeatureStatistics,
    current: &FeatureStatistics,
) -> Result<Option<f64>, ValidateError> {
    let (Some(r), Some(c)) = (sketch_buckets(reference)?, sketch_buckets(current)?) else {
        return Ok(None);
    };
    let edges = decile_edges(&r);
    let (p, q) = (bin_proportions(&edges, &r), bin_proportions(&edges, &c));
    if p.iter().sum::<f64>() <= 0.0 || q.iter().sum::<f64>() <= 0.0 {
        return Ok(None);
    }
    let term = |a: f64, m: f64| if a > 0.0 { a * libm::log2(a / m) } else { 0.0 };
    let divergence: f64 = p
        .iter()
        .zip(&q)
        .map(|(a, b)| {
            let m = 0.5 * (a + b);
            0.5 * (term(*a, m) + term(*b, m))
        })
        .sum();
    Ok(Some(divergence.clamp(0.0, 1.0)))
}

/// The reference's 0.1, …, 0.9 quantiles (sketch values, duplicates merged).
fn decile_edges(reference: &[SketchBucket]) -> Vec<f64> {
    let mut edges: Vec<f64> = (1..10)
        .filter_map(|j| {
            quantile_of_buckets(
                reference,
                f64::from(j) / 10.0,
                f64::NEG_INFINITY,
                f64::INFINITY,
            )
        })
        .filter(|x| !x.is_nan())
        .collect();
    edges.dedup();
    edges
}

/// The proportion of `buckets`' (non-NaN) count in each bin `(e_{i-1}, e_i]`
/// of `edges` (all zero when there is none).
fn bin_proportions(edges: &[f64], buckets: &[SketchBucket]) -> Vec<f64> {
    let mut counts = vec![0.0f64; edges.len() + 1];
    for b in buckets.iter().filter(|b| !b.value.is_nan()) {
        counts[edges.partition_point(|e| *e < b.value)] += b.count as f64;
    }
    let total: f64 = counts.iter().sum();
    if total > 0.0 {
        for c in &mut counts {
            *c /= total;
        }
    }
    counts
}

/// Value counts of a categorical feature (rank histogram, else top values),
/// plus one pooled category for values not kept.
fn categorical_counts(feature: &FeatureStatistics) -> BTreeMap<Option<String>, f64> {
    let mut counts = BTreeMap::new();
    let ValueStatistics::String(s) = &feature.stats else {
        return counts;
    };
    match &s.rank_histogram {
        Some(rank) if !rank.buckets.is_empty() => {
            for b in &rank.buckets {
                *counts.entry(Some(b.label.clone())).or_insert(0.0) += b.sample_count;
            }
        }
        _ => {
            for v in &s.top_values {
                *counts.entry(Some(v.value.clone())).or_insert(0.0) += v.frequency;
            }
        }
    }
    let kept: f64 = counts.values().sum();
    let other = s.common_stats.num_non_missing as f64 - kept;
    if other > 0.0 {
        counts.insert(None, other);
    }
    counts
}

/// Pearson's χ² of `current` counts against `reference` proportions, and
/// its p-value with `k − 1` degrees of freedom (1 when `k = 1`).
fn chi_squared_test(
    reference: &BTreeMap<Option<String>, f64>,
    current: &BTreeMap<Option<String>, f64>,
) -> (f64, f64) {
    let mut keys: Vec<&Option<String>> = reference.keys().chain(current.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    let counts = |side: &BTreeMap<Option<String>, f64>| -> Vec<f64> {
        keys.iter()
            .map(|k| side.get(*k).copied().unwrap_or(0.0))
            .collect()
    };
    chi_squared_two_sample(&counts(reference), &counts(current))
}

/// Pearson's χ² test of homogeneity of two samples' category counts: the
/// statistic `Σ (o − e)² / e` over the 2 × k table, with `e` = row total ×
/// column total / grand total, and its p-value with `k − 1` degrees of
/// freedom, `k` the categories seen on either side (scipy's
/// `chi2_contingency([reference, current], correction=False)`). Both samples
/// vary, so two samples of one distribution are not flagged more often than
/// the p-value threshold says — unlike a one-sample test against the
/// reference's proportions, which at large `k` flags them about half the
/// time. Empty sides or a single category give statistic 0 and p-value 1.
///
/// ```
/// let (stat, p) = mlrig_validate::chi_squared_two_sample(&[70.0, 30.0], &[55.0, 45.0]);
/// assert!((stat - 4.8).abs() < 1e-12);
/// assert!(p < 0.05);
/// ```
pub fn chi_squared_two_sample(reference: &[f64], current: &[f64]) -> (f64, f64) {
    let (n_ref, n_cur): (f64, f64) = (reference.iter().sum(), current.iter().sum());
    let total = n_ref + n_cur;
    if n_ref <= 0.0 || n_cur <= 0.0 {
        return (0.0, 1.0);
    }
    let mut statistic = 0.0;
    let mut categories = 0usize;
    for (r, c) in reference.iter().zip(current) {
        let column = r + c;
        if column <= 0.0 {
            continue;
        }
        categories += 1;
        let (e_ref, e_cur) = (column * n_ref / total, column * n_cur / total);
        statistic += (r - e_ref) * (r - e_ref) / e_ref + (c - e_cur) * (c - e_cur) / e_cur;
    }
    if categories < 2 {
        return (0.0, 1.0);
    }
    (
        statistic,
        chi_squared_sf(statistic, (categories - 1) as f64),
    )
}

/// Pearson's χ² statistic `Σ (o − e)² / e` and its p-value with `k − 1`
/// degrees of freedom (scipy's `chisquare(f_obs, f_exp)`). A category with
/// `e = 0 < o` makes the statistic infinite (p-value 0); a single category
/// gives statistic 0 and p-value 1.
///
/// ```
/// let (stat, p) = mlrig_validate::chi_squared(&[10.0, 20.0, 30.0], &[20.0, 20.0, 20.0]);
/// assert_eq!(stat, 10.0);
/// assert!((p - (-5.0f64).exp()).abs() < 1e-12); // df = 2: sf(x) = e^(−x/2)
/// ```
pub fn chi_squared(observed: &[f64], expected: &[f64]) -> (f64, f64) {
    let mut statistic = 0.0;
    for (o, e) in observed.iter().zip(expected) {
        if *e > 0.0 {
            statistic += (o - e) * (o - e) / e;
        } else if *o > 0.0 {
            statistic = f64::INFINITY;
        }
    }
    let df = observed.len().min(expected.len()).saturating_sub(1);
    if df == 0 {
        return (0.0, 1.0);
    }
    (statistic, chi_squared_sf(statistic, df as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::QuantileSketch;

    fn buckets(values: &[f64]) -> Vec<SketchBucket> {
        let mut s = QuantileSketch::default();
        for v in values {
            s.add(*v);
        }
        s.buckets()
    }

    #[test]
    fn identical_samples_show_no_drift() {
        let values: Vec<f64> = (0..500).map(|i| f64::from(i % 37)).collect();
        let b = buckets(&values);
        assert_eq!(kolmogorov_smirnov(&b, &b), (0.0, 1.0));
        assert_eq!(wasserstein_distance(&b, &b), 0.0);
        assert_eq!(population_stability_index(&b, &b), 0.0);
    }

    #[test]
    fn shifted_samples_drift() {
        let a: Vec<f64> = (0..1000).map(|i| f64::from(i % 50)).collect();
        let b: Vec<f64> = (0..1000).map(|i| f64::from(i % 50) + 10.0).collect();
        let (ba, bb) = (buckets(&a), buckets(&b));
        let (d, p) = kolmogorov_smirnov(&ba, &bb);
        assert!((d - 0.2).abs() < 1e-12, "{d}");
        assert!(p < 1e-10);
        // Shift by 10, within the sketch's relative error.
        let w = wasserstein_distance(&ba, &bb);
        assert!((w - 10.0).abs() <= 0.005 * (24.5 + 34.5), "{w}");
        assert!(population_stability_index(&ba, &bb) > 0.1);
    }

    #[test]
    fn chi_squared_edge_cases() {
        assert_eq!(chi_squared(&[5.0], &[5.0]), (0.0, 1.0));
        let (stat, p) = chi_squared(&[1.0, 1.0], &[2.0, 0.0]);
        assert_eq!((stat, p), (f64::INFINITY, 0.0));
        let (stat, p) = chi_squared(&[], &[]);
        assert_eq!((stat, p), (0.0, 1.0));
    }

    #[test]
    fn untested_features_say_why() {
        use crate::test_support::stats_of as stats;
        use mlrig_core::arrow_array::{ArrayRef, Float64Array, StringArray};
        use std::sync::Arc;
        let numbers = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
        let words = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
        let reference = stats(vec![
            ("kept", numbers(vec![Some(1.0), Some(2.0)])),
            ("retyped", numbers(vec![Some(1.0), Some(2.0)])),
            ("emptied", numbers(vec![Some(1.0), Some(2.0)])),
            ("emptied_and_retyped", numbers(vec![Some(1.0), Some(2.0)])),
            ("dropped", words(vec!["a", "b"])),
        ]);
        let current = stats(vec![
            ("kept", numbers(vec![Some(3.0), Some(4.0)])),
            ("retyped", words(vec!["x", "y"])),
            ("emptied", numbers(vec![None, None])),
            (
                "emptied_and_retyped",
                Arc::new(StringArray::from(vec![None::<&str>, None])) as ArrayRef,
            ),
            ("added", words(vec!["a", "b"])),
        ]);
        let untested: Vec<(String, UntestedReason, String)> =
            untested_features(&reference, &current)
                .unwrap()
                .into_iter()
                .map(|u| (u.feature, u.reason, u.detail))
                .collect();
        let expected = [
            (
                "retyped",
                UntestedReason::KindChanged,
                "numeric in the reference, categorical in the current data",
            ),
            (
                "emptied",
                UntestedReason::NoValuesInCurrent,
                "no values in the current data",
            ),
            (
                "emptied_and_retyped",
                UntestedReason::NoValuesInCurrent,
                "no values in the current data",
            ),
            (
                "dropped",
                UntestedReason::OnlyInReference,
                "only in the reference",
            ),
            (
                "added",
                UntestedReason::OnlyInCurrent,
                "only in the current data",
            ),
        ];
        let expected: Vec<(String, UntestedReason, String)> = expected
            .iter()
            .map(|(f, reason, detail)| (f.to_string(), *reason, detail.to_string()))
            .collect();
        assert!(
            untested
                .iter()
                .all(|(_, reason, _)| reason.signals_a_problem())
        );
        assert_eq!(untested, expected);
        // Exactly the features with tests are the ones not listed.
        let tested: std::collections::BTreeSet<String> =
            drift_tests(&reference, &current, &DriftTestParams::default())
                .unwrap()
                .into_iter()
                .map(|t| t.feature)
                .collect();
        assert_eq!(tested, ["kept".to_string()].into_iter().collect());
    }

    #[test]
    fn an_empty_reference_column_is_untested_but_not_a_problem() {
        use crate::test_support::stats_of as stats;
        use mlrig_core::arrow_array::{ArrayRef, Float64Array, StringArray};
        use std::sync::Arc;
        let numbers = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
        let empty_text = Arc::new(StringArray::from(vec![None::<&str>, None])) as ArrayRef;
        let reference = stats(vec![("x", numbers(vec![None, None])), ("y", empty_text)]);
        let current = stats(vec![
            ("x", numbers(vec![Some(1.0), Some(2.0)])),
            ("y", numbers(vec![Some(1.0), Some(2.0)])),
        ]);
        let untested = untested_features(&reference, &current).unwrap();
        assert_eq!(untested.len(), 2);
        assert_eq!(untested[1].reason, UntestedReason::NoValuesInReference);
        assert_eq!(untested[0].reason, UntestedReason::NoValuesInReference);
        assert_eq!(untested[0].detail, "no values in the reference");
        assert!(!untested[0].reason.signals_a_problem());
    }

    #[test]
    fn untested_reasons_serialize_in_snake_case() {
        let names: Vec<String> = [
            UntestedReason::OnlyInReference,
            UntestedReason::OnlyInCurrent,
            UntestedReason::KindChanged,
            UntestedReason::NoValuesInReference,
            UntestedReason::NoValuesInCurrent,
        ]
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"only_in_reference\"",
                "\"only_in_current\"",
                "\"kind_changed\"",
                "\"no_values_in_reference\"",
                "\"no_values_in_current\"",
            ]
        );
        let feature = UntestedFeature {
            feature: "age".into(),
            reason: UntestedReason::KindChanged,
            detail: "numeric in the reference, categorical in the current data".into(),
        };
        let json = serde_json::to_value(&feature).unwrap();
        assert_eq!(json["reason"], "kind_changed");
        let back: UntestedFeature = serde_json::from_value(json).unwrap();
        assert_eq!(back, feature);
    }

    mod sketch_jsd {
        use crate::sketch_jensen_shannon_divergence;
        use crate::test_support::stats_of;
        use mlrig_core::arrow_array::{ArrayRef, Float64Array};
        use proptest::prelude::*;
        use std::sync::Arc;

        fn feature(values: &[f64]) -> crate::FeatureStatistics {
            let column = Arc::new(Float64Array::from(values.to_vec())) as ArrayRef;
            stats_of(vec![("x", column)]).features.remove(0)
        }

        proptest! {
            #[test]
            fn is_a_bounded_divergence(
                a in prop::collection::vec(-1e6f64..1e6, 1..200),
                b in prop::collection::vec(-1e6f64..1e6, 1..200),
            ) {
                let (fa, fb) = (feature(&a), feature(&b));
                let ab = sketch_jensen_shannon_divergence(&fa, &fb).unwrap().unwrap();
                prop_assert!((0.0..=1.0).contains(&ab), "{ab}");
                prop_assert_eq!(sketch_jensen_shannon_divergence(&fa, &fa).unwrap(), Some(0.0));
                // Everything beyond the reference's largest value shares the
                // top bin with less than all of the reference.
                let far: Vec<f64> = b.iter().map(|x| x + 1e7).collect();
                let d = sketch_jensen_shannon_divergence(&fa, &feature(&far)).unwrap().unwrap();
                prop_assert!(d > 0.0, "{d}");
                // Symmetric when both sides have the same bins (the same sample).
                let ba = sketch_jensen_shannon_divergence(&fb, &fa).unwrap().unwrap();
                prop_assert!((0.0..=1.0).contains(&ba));
            }
        }

        #[test]
        fn features_without_values_are_not_compared() {
            let empty = feature(&[f64::NAN]);
            assert_eq!(
                sketch_jensen_shannon_divergence(&empty, &feature(&[1.0])).unwrap(),
                None
            );
        }
    }
}
