//! What `mlrig train` and `mlrig evaluate` share: the blessing-gate
//! arguments (thresholds file, `--min`/`--max`/`--max-drop`, slices) and the
//! text report of an evaluation.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlrig_train::{BlessingThresholds, Evaluation};

use crate::config_file;
use crate::output::CliError;

/// The gate a model must pass to be blessed.
#[derive(Debug, clap::Args)]
pub(crate) struct GateArgs {
    /// Blessing thresholds file, JSON or TOML (`[min]`, `[max]`, `[max_drop]`
    /// tables of METRIC = VALUE, and `[slices."column=value".min]` …; schema:
    /// `mlrig schema blessing-thresholds`); the flags below add to it.
    #[arg(long, value_name = "FILE")]
    thresholds: Option<PathBuf>,

    /// Bless only if METRIC >= VALUE (repeatable), e.g. --min roc_auc=0.85.
    #[arg(long = "min", value_name = "METRIC=VALUE")]
    min: Vec<String>,

    /// Bless only if METRIC <= VALUE (repeatable), e.g. --max rmse=0.8.
    #[arg(long = "max", value_name = "METRIC=VALUE")]
    max: Vec<String>,

    /// Bless only if METRIC is at most D worse than the baseline's
    /// (repeatable), e.g. --max-drop roc_auc=0.005 (default with a baseline:
    /// 0.01 on the task's headline metric).
    #[arg(long = "max-drop", value_name = "METRIC=D")]
    max_drop: Vec<String>,

    /// Also evaluate per value of COLUMN (repeatable); slice thresholds in
    /// the file apply to them.
    #[arg(long = "slice", value_name = "COLUMN")]
    pub(crate) slices: Vec<String>,
}

impl GateArgs {
    /// The thresholds of the file, plus the flags.
    pub(crate) fn thresholds(&self) -> Result<BlessingThresholds, CliError> {
        let mut thresholds: BlessingThresholds = match &self.thresholds {
            Some(path) => config_file::read("--thresholds", path)?,
            None => BlessingThresholds::default(),
        };
        for spec in &self.min {
            let (metric, value) = metric_value("--min", spec)?;
            thresholds = thresholds.with_min(metric, value);
        }
        for spec in &self.max {
            let (metric, value) = metric_value("--max", spec)?;
            thresholds = thresholds.with_max(metric, value);
        }
        for spec in &self.max_drop {
            let (metric, value) = metric_value("--max-drop", spec)?;
            thresholds = thresholds.with_max_drop(metric, value);
        }
        Ok(thresholds)
    }
}

fn metric_value(flag: &str, spec: &str) -> Result<(String, f64), CliError> {
    let parsed = spec.split_once('=').and_then(|(m, v)| {
        v.trim()
            .parse::<f64>()
            .ok()
            .map(|v| (m.trim().to_string(), v))
    });
    parsed.ok_or_else(|| {
        format!("{flag}: expected METRIC=VALUE (e.g. roc_auc=0.85), found {spec:?}").into()
    })
}

/// Features listed in the text output's importance line (all are in the JSON).
const TOP_IMPORTANCES: usize = 5;

/// Metrics, slices, the baseline comparison, the checks and the decision,
/// as lines of text.
pub(crate) fn evaluation_text(evaluation: &Evaluation) -> String {
    let mut text = String::new();
    for (metric, value) in evaluation.metrics() {
        let _ = writeln!(text, "  {metric:<28} {value:.4}");
    }
    for slice in evaluation.slices() {
        let metrics: Vec<String> = slice
            .metrics
            .iter()
            .map(|(m, v)| format!("{m} {v:.4}"))
            .collect();
        let _ = writeln!(
            text,
            "  slice {}={} ({} rows): {}",
            slice.column,
            slice.value,
            slice.rows,
            metrics.join(", ")
        );
    }
    let importances = evaluation.importances();
    let total_gain: f64 = importances.iter().map(|i| i.gain).sum();
    if total_gain > 0.0 {
        let top: Vec<String> = importances
            .iter()
            .take(TOP_IMPORTANCES)
            .map(|i| {
                format!(
                    "{} {:.1}% ({} splits)",
                    i.feature,
                    100.0 * i.gain / total_gain,
                    i.splits
                )
            })
            .collect();
        let _ = writeln!(text, "importance (share of gain): {}", top.join(", "));
    }
    if let Some(baseline) = evaluation.baseline() {
        let _ = writeln!(text, "compared with {}", baseline.label);
    }
    for check in evaluation.checks() {
        let _ = writeln!(
            text,
            "check {}: {}",
            check.name,
            if check.passed { "passed" } else { "FAILED" }
        );
    }
    let blessed = evaluation.blessed();
    let _ = writeln!(text, "blessed: {}", if blessed { "yes" } else { "no" });
    for reason in evaluation.reasons() {
        let _ = writeln!(text, "  {reason}");
    }
    text
}
