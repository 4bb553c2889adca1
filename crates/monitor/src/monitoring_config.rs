//! [`MonitoringConfig`] and [`MonitoringThresholds`]: how live monitoring
//! windows the traffic and when a comparison counts as over its threshold.

use std::time::Duration;

use mlrig_validate::FeatureComparator;
use serde::{Deserialize, Serialize};

use crate::ComparisonTest;

/// Default [`MonitoringConfig::window`]: 5 minutes.
///
/// ```
/// assert_eq!(mlrig_monitor::DEFAULT_WINDOW, std::time::Duration::from_secs(300));
/// ```
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);
/// Default [`MonitoringConfig::max_rows`].
///
/// ```
/// assert_eq!(mlrig_monitor::DEFAULT_MAX_ROWS, 10_000);
/// ```
pub const DEFAULT_MAX_ROWS: u64 = 10_000;
/// Default [`MonitoringConfig::panes`].
///
/// ```
/// assert_eq!(mlrig_monitor::DEFAULT_PANES, 10);
/// ```
pub const DEFAULT_PANES: usize = 10;
/// Default [`MonitoringConfig::queue_capacity`] (request batches waiting for
/// the monitoring thread).
///
/// ```
/// assert_eq!(mlrig_monitor::DEFAULT_QUEUE_CAPACITY, 4096);
/// ```
pub const DEFAULT_QUEUE_CAPACITY: usize = 4096;

/// Default [`MonitoringConfig::max_rows_per_second`].
///
/// ```
/// assert_eq!(mlrig_monitor::DEFAULT_MAX_ROWS_PER_SECOND, 2000);
/// ```
pub const DEFAULT_MAX_ROWS_PER_SECOND: u64 = 2000;

/// Live skew/drift monitoring settings of a model server (the `[monitoring]`
/// section of its config). Durations are humantime text (`"5m"`, `"30s"`).
///
/// The window is a sliding window of the last [`panes`](Self::panes) panes;
/// a pane closes after `window / panes` of time or `max_rows / panes` rows,
/// whichever comes first, and every pane close compares the window.
///
/// ```
/// let config: mlrig_monitor::MonitoringConfig =
///     serde_json::from_str(r#"{"window": "1m", "max_rows": 2000, "thresholds": {"psi": 0.2}}"#)?;
/// assert_eq!(config.window, std::time::Duration::from_secs(60));
/// assert_eq!((config.max_rows, config.panes), (2000, 10));
/// assert_eq!((config.thresholds.psi, config.thresholds.linf), (0.2, 0.1));
/// assert!(config.enabled);
/// assert_eq!(config.pane_rows(), 200);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MonitoringConfig {
    /// Monitor every model version whose bundle has training statistics
    /// (default `true`).
    pub enabled: bool,
    /// Time span of the sliding window (default `"5m"`).
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_duration"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["5m", "1h"])))]
    pub window: Duration,
    /// Most rows in the window (default 10,000): under heavy traffic the
    /// window is the latest `max_rows` rows rather than `window` of time.
    pub max_rows: u64,
    /// Panes the window is made of (default 10): the window slides, and is
    /// compared, one pane at a time.
    pub panes: usize,
    /// Request batches that may wait for the monitoring thread (default
    /// 4096); beyond it batches are dropped and counted in
    /// `mlrig_monitoring_dropped_total`, never waited for.
    pub queue_capacity: usize,
    /// Rows monitored per second at most (default 2,000; 0: every row).
    /// Under heavier traffic the monitor takes each second's first rows up
    /// to this budget and counts the rest in
    /// `mlrig_monitoring_sampled_out_rows_total`: the window stays a sample
    /// of the traffic, and the monitoring thread's CPU — which a busy server
    /// would otherwise lose to it — stays bounded.
    pub max_rows_per_second: u64,
    /// Default thresholds, for features whose schema has no comparator.
    pub thresholds: MonitoringThresholds,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: DEFAULT_WINDOW,
            max_rows: DEFAULT_MAX_ROWS,
            panes: DEFAULT_PANES,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_rows_per_second: DEFAULT_MAX_ROWS_PER_SECOND,
            thresholds: MonitoringThresholds::default(),
        }
    }
}

impl MonitoringConfig {
    /// Sets [`window`](Self::window).
    ///
    /// ```
    /// let c = mlrig_monitor::MonitoringConfig::default().with_window(std::time::Duration::from_secs(60));
    /// assert_eq!(c.pane_duration(), std::time::Duration::from_secs(6));
    /// ```
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Sets [`max_rows`](Self::max_rows).
    ///
    /// ```
    /// let c = mlrig_monitor::MonitoringConfig::default().with_max_rows(1000);
    /// assert_eq!(c.pane_rows(), 100);
    /// ```
    pub fn with_max_rows(mut self, max_rows: u64) -> Self {
        self.max_rows = max_rows;
        self
    }

    /// Sets [`panes`](Self::panes) (at least 1).
    ///
    /// ```
    /// let c = mlrig_monitor::MonitoringConfig::default().with_panes(0);
    /// assert_eq!(c.panes, 1);
    /// ```
    pub fn with_panes(mut self, panes: usize) -> Self {
        self.panes = panes.max(1);
        self
    }

    /// Sets [`max_rows_per_second`](Self::max_rows_per_second) (0: no limit).
    ///
    /// ```
    /// let c = mlrig_monitor::MonitoringConfig::default().with_max_rows_per_second(0);
    /// assert_eq!(c.max_rows_per_second, 0);
    /// ```
    pub fn with_max_rows_per_second(mut self, rows: u64) -> Self {
        self.max_rows_per_second = rows;
        self
    }

    /// Sets [`queue_capacity`](Self::queue_capacity) (at least 1).
    ///
    /// ```
    /// let c = mlrig_monitor::MonitoringConfig::default().with_queue_capacity(8);
    /// assert_eq!(c.queue_capacity, 8);
    /// ```
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Sets [`thresholds`](Self::thresholds).
    ///
    /// ```
    /// use mlrig_monitor::{MonitoringConfig, MonitoringThresholds};
    /// let c = MonitoringConfig::default().with_thresholds(MonitoringThresholds::default());
    /// assert_eq!(c.thresholds.ks, 0.05);
    /// ```
    pub fn with_thresholds(mut self, thresholds: MonitoringThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Sets [`enabled`](Self::enabled).
    ///
    /// ```
    /// assert!(!mlrig_monitor::MonitoringConfig::default().with_enabled(false).enabled);
    /// ```
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// How long a pane stays open: `window / panes` (at least 1 ms).
    ///
    /// ```
    /// assert_eq!(mlrig_monitor::MonitoringConfig::default().pane_duration().as_secs(), 30);
    /// ```
    pub fn pane_duration(&self) -> Duration {
        let panes = u32::try_from(self.panes.max(1)).unwrap_or(u32::MAX);
        (self.window / panes).max(Duration::from_millis(1))
    }

    /// Rows after which a pane closes: `ceil(max_rows / panes)`, at least 1.
    ///
    /// ```
    /// assert_eq!(mlrig_monitor::MonitoringConfig::default().pane_rows(), 1000);
    /// ```
    pub fn pane_rows(&self) -> u64 {
        let panes = u64::try_from(self.panes.max(1)).unwrap_or(u64::MAX);
        self.max_rows.div_ceil(panes).max(1)
    }
}

/// The thresholds of the comparisons, used when the schema has no
/// comparator for a feature (a schema's `skewComparator` /
/// `driftComparator` thresholds win for `linf` and `jsd`), and which tests
/// decide `over_threshold`.
///
/// Read from a configuration, a statistic's threshold must be a finite
/// number ≥ 0 and a p-value's one in \[0, 1\] (a NaN threshold would
/// silently never be crossed).
///
/// Every test is computed and reported with its threshold; only the tests in
/// [`alerting_tests`](Self::alerting_tests) (default: `linf`, `jsd`, `psi`)
/// can set `over_threshold`. KS and χ² p-values on windows of thousands of
/// rows flag differences too small to matter (and 5 % of unchanged features
/// per window by construction), and the normalized Wasserstein distance of
/// heavy-tailed features is noisy, so they are reported, not alerted on, by
/// default (see docs/architecture.md).
///
/// ```
/// use mlrig_monitor::{ComparisonTest, MonitoringThresholds};
/// let t = MonitoringThresholds::default();
/// assert_eq!((t.linf, t.jsd, t.psi, t.wasserstein, t.ks, t.chisquare), (0.1, 0.1, 0.1, 0.1, 0.05, 0.05));
/// assert!(t.alerts_on(ComparisonTest::Psi));
/// assert!(!t.alerts_on(ComparisonTest::Ks));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MonitoringThresholds {
    /// L∞ distance of categorical features' value frequencies (default 0.1).
    #[serde(deserialize_with = "non_negative")]
    pub linf: f64,
    /// Jensen–Shannon divergence of numeric features' histograms (default 0.1).
    #[serde(deserialize_with = "non_negative")]
    pub jsd: f64,
    /// Population stability index of numeric features (default 0.1).
    #[serde(deserialize_with = "non_negative")]
    pub psi: f64,
    /// Wasserstein-1 distance / reference standard deviation (default 0.1).
    #[serde(deserialize_with = "non_negative")]
    pub wasserstein: f64,
    /// Kolmogorov–Smirnov p-value: over the threshold when below it (default 0.05).
    #[serde(deserialize_with = "probability")]
    pub ks: f64,
    /// χ² p-value of categorical features: over when below it (default 0.05).
    #[serde(deserialize_with = "probability")]
    pub chisquare: f64,
    /// The tests whose verdict sets `over_threshold` (default `linf`, `jsd`, `psi`).
    pub alerting_tests: Vec<ComparisonTest>,
}

impl Default for MonitoringThresholds {
    fn default() -> Self {
        Self {
            linf: 0.1,
            jsd: 0.1,
            psi: 0.1,
            wasserstein: 0.1,
            ks: 0.05,
            chisquare: 0.05,
            alerting_tests: vec![
                ComparisonTest::Linf,
                ComparisonTest::Jsd,
                ComparisonTest::Psi,
            ],
        }
    }
}

impl MonitoringThresholds {
    /// The default threshold of `test`.
    ///
    /// ```
    /// use mlrig_monitor::{ComparisonTest, MonitoringThresholds};
    /// assert_eq!(MonitoringThresholds::default().threshold(ComparisonTest::Ks), 0.05);
    /// ```
    pub fn threshold(&self, test: ComparisonTest) -> f64 {
        match test {
            ComparisonTest::Linf => self.linf,
            ComparisonTest::Jsd => self.jsd,
            ComparisonTest::Psi => self.psi,
            ComparisonTest::Wasserstein => self.wasserstein,
            ComparisonTest::Ks => self.ks,
            ComparisonTest::Chisquare => self.chisquare,
        }
    }

    /// The threshold in force for `test` of a feature whose schema has
    /// `comparator` (its `skewComparator` for skew, `driftComparator` for
    /// drift): the comparator's L∞ (`linf`) or JSD (`jsd`) threshold when it
    /// sets one, else [`threshold`](Self::threshold). The one resolution
    /// the live monitor ([`compare_windows`](crate::compare_windows)), the
    /// offline monitor and the alerting rules share.
    ///
    /// ```
    /// use mlrig_monitor::{ComparisonTest, MonitoringThresholds};
    /// use mlrig_validate::FeatureComparator;
    /// let t = MonitoringThresholds::default();
    /// let schema_says = FeatureComparator::infinity_norm(0.3);
    /// assert_eq!(t.resolve(Some(&schema_says), ComparisonTest::Linf), 0.3);
    /// assert_eq!(t.resolve(Some(&schema_says), ComparisonTest::Jsd), 0.1); // no JSD threshold
    /// assert_eq!(t.resolve(Some(&schema_says), ComparisonTest::Psi), 0.1); // schemas set only L∞/JSD
    /// assert_eq!(t.resolve(None, ComparisonTest::Ks), 0.05);
    /// ```
    pub fn resolve(&self, comparator: Option<&FeatureComparator>, test: ComparisonTest) -> f64 {
        let from_schema = comparator.and_then(|c| match test {
            ComparisonTest::Linf => c.infinity_norm.as_ref()?.threshold,
            ComparisonTest::Jsd => c.jensen_shannon_divergence.as_ref()?.threshold,
            _ => None,
        });
        from_schema.unwrap_or_else(|| self.threshold(test))
    }

    /// `true` when `test`'s verdict sets `over_threshold`.
    ///
    /// ```
    /// use mlrig_monitor::{ComparisonTest, MonitoringThresholds};
    /// let mut t = MonitoringThresholds::default();
    /// t.alerting_tests.push(ComparisonTest::Ks);
    /// assert!(t.alerts_on(ComparisonTest::Ks));
    /// ```
    pub fn alerts_on(&self, test: ComparisonTest) -> bool {
        self.alerting_tests.contains(&test)
    }
}

/// A statistic's threshold: finite and ≥ 0.
fn non_negative<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let x = f64::deserialize(d)?;
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(serde::de::Error::custom(format!(
            "{x} is not a threshold: a finite number ≥ 0 is"
        )))
    }
}

/// A p-value's threshold: in [0, 1].
fn probability<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let x = f64::deserialize(d)?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(serde::de::Error::custom(format!(
            "{x} is not a p-value threshold: a number from 0 to 1 is"
        )))
    }
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

fn deserialize_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?} ({e}); write a number and a unit, e.g. \"5m\" or \"30s\""
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_rejects_unknown_keys() {
        let config = MonitoringConfig::default()
            .with_window(Duration::from_secs(90))
            .with_panes(3);
        let text = serde_json::to_string(&config).unwrap();
        assert!(text.contains("\"1m 30s\""), "{text}");
        assert_eq!(
            serde_json::from_str::<MonitoringConfig>(&text).unwrap(),
            config
        );
        assert!(serde_json::from_str::<MonitoringConfig>(r#"{"windw":"1m"}"#).is_err());
        let err = serde_json::from_str::<MonitoringConfig>(r#"{"window":"soon"}"#).unwrap_err();
        assert!(err.to_string().contains("invalid duration"), "{err}");
        let t: MonitoringThresholds =
            serde_json::from_str(r#"{"alerting_tests":["ks","linf"]}"#).unwrap();
        assert!(t.alerts_on(ComparisonTest::Ks) && !t.alerts_on(ComparisonTest::Psi));
    }

    #[test]
    fn thresholds_that_could_never_be_crossed_are_refused() {
        for bad in [
            r#"{"linf": -0.1}"#,
            r#"{"ks": 1.5}"#,
            r#"{"chisquare": -0.01}"#,
        ] {
            let e = serde_json::from_str::<MonitoringThresholds>(bad).unwrap_err();
            assert!(e.to_string().contains("threshold"), "{bad}: {e}");
        }
        // TOML can spell NaN and infinity; neither is a threshold.
        for bad in ["jsd = nan", "wasserstein = inf"] {
            assert!(
                toml::from_str::<MonitoringThresholds>(bad).is_err(),
                "{bad}"
            );
        }
        let ok: MonitoringThresholds = serde_json::from_str(r#"{"ks": 0, "linf": 2}"#).unwrap();
        assert_eq!((ok.ks, ok.linf), (0.0, 2.0));
    }

    #[test]
    fn panes_never_divide_by_zero() {
        let c = MonitoringConfig {
            panes: 0,
            max_rows: 0,
            window: Duration::ZERO,
            ..MonitoringConfig::default()
        };
        assert_eq!(c.pane_rows(), 1);
        assert_eq!(c.pane_duration(), Duration::from_millis(1));
    }
}
