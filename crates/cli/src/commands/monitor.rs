//! `mlrig monitor`: skew, drift, prediction drift and (with delayed labels)
//! quality per time window over a server's request log.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mlrig_pipeline::{MonitorReport, OfflineMonitorJob};

use crate::CommandResult;
use crate::output::{CliError, Outcome, clip};
use crate::progress::rows_spinner;

/// Arguments of `mlrig monitor`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The model: a version directory, or a model directory (its newest version).
    #[arg(long, value_name = "DIR")]
    model: PathBuf,

    /// Request log files written by `mlrig serve --request-log` (.jsonl, .jsonl.gz,
    /// .parquet; paths or glob patterns, repeatable).
    #[arg(long = "log", value_name = "REQUEST_LOG", required = true, num_args = 1..)]
    logs: Vec<String>,

    /// Delayed labels (CSV, JSON Lines or Parquet) with the join key and the model's target column.
    #[arg(long, value_name = "FILE", requires = "join_key")]
    labels: Option<PathBuf>,

    /// How labels find their rows: `request_id` (+ optional `row`, the instance's
    /// 0-based index in the request), or an input field's name.
    #[arg(long, value_name = "COL", requires = "labels")]
    join_key: Option<String>,

    /// Window length (humantime: 5m, 1h, 1d); windows are aligned to the Unix epoch.
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = parse_window)]
    window: Duration,

    /// Also report quality per value of this input feature (repeatable).
    #[arg(long = "slice", value_name = "COL")]
    slices: Vec<String>,

    /// Write the label rows that were not used (row, key, reason) to FILE (JSON Lines).
    #[arg(long, value_name = "FILE", requires = "labels")]
    quarantine: Option<PathBuf>,

    /// Largest drop of a slice's headline metric against the evaluation before the
    /// slice is listed as dropped (when the evaluation's thresholds set none).
    #[arg(long, default_value_t = mlrig_train::DEFAULT_MAX_DROP, value_name = "X")]
    max_drop: f64,
}

fn parse_window(text: &str) -> Result<Duration, String> {
    let window = humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))?;
    if window.as_millis() == 0 {
        return Err("the window must be at least 1 ms".into());
    }
    Ok(window)
}

pub(crate) fn run(args: Args) -> CommandResult {
    if !(args.max_drop >= 0.0 && args.max_drop.is_finite()) {
        return Err(CliError::from(format!(
            "--max-drop must be a finite number ≥ 0, got {}",
            args.max_drop
        )));
    }
    let bar = rows_spinner("reading request logs");
    let progress = bar.clone();
    let mut job = OfflineMonitorJob::new(&args.model, args.logs.iter().cloned())
        .with_window(args.window)
        .with_max_drop(args.max_drop)
        .with_progress(Arc::new(move |rows| progress.inc(rows)));
    if let (Some(labels), Some(key)) = (&args.labels, &args.join_key) {
        job = job.with_labels(labels, key);
    }
    if let Some(path) = &args.quarantine {
        job = job.with_quarantine(path);
    }
    for column in &args.slices {
        job = job.with_slice(column);
    }
    let report = job.run();
    bar.finish_and_clear();
    let report = report?;
    let text = report_text(&report);
    let failed = !report.alerts.is_empty();
    Ok(Outcome::new(&report, text)?.failed_check(failed))
}

/// Windows listed in full in the text output (the newest ones); JSON has all.
const TEXT_WINDOWS: usize = 24;
/// Features listed in the ranking.
const TEXT_FEATURES: usize = 15;

fn report_text(r: &MonitorReport) -> String {
    let mut t = String::new();
    let rows = &r.rows;
    let _ = writeln!(
        t,
        "{} version {} ({}): {} windows of {}",
        r.model,
        r.version,
        r.bundle.display(),
        r.windows.len(),
        humantime::format_duration(Duration::from_secs(r.window_seconds))
    );
    let skipped: Vec<String> = rows
        .skipped
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        t,
        "rows: {} read = {} used + {} skipped{} ({} entries in {} files; {} unreadable entries)",
        rows.rows_read,
        rows.rows_used,
        rows.rows_skipped,
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" [{}]", skipped.join(", "))
        },
        rows.entries,
        rows.files,
        rows.unreadable_entries
    );
    if let Some(l) = &r.labels {
        let reasons: Vec<String> = l
            .unused_reasons
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            t,
            "labels ({}, by {}): {} read = {} matched + {} unused{}; rows: {} labelled, {} unlabelled",
            l.file.display(),
            l.join_key,
            l.rows_read,
            l.matched,
            l.unused,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" [{}]", reasons.join(", "))
            },
            rows.labelled,
            rows.unlabelled
        );
    }
    for line in &rows.unreadable {
        let _ = writeln!(t, "  unreadable: {line}");
    }
    let metric = r
        .quality
        .as_ref()
        .and_then(|q| headline(&q.metrics).map(|(m, _)| m.to_string()));
    t.push_str("\nwindow                  rows  labelled  skew>thr  drift>thr  pred>thr");
    if let Some(m) = &metric {
        let _ = write!(t, "  {m}");
    }
    t.push('\n');
    let skip = r.windows.len().saturating_sub(TEXT_WINDOWS);
    if skip > 0 {
        let _ = writeln!(t, "  … {skip} older windows (see --format json)");
    }
    for w in &r.windows[skip..] {
        let over = |list: Option<&Vec<mlrig_pipeline::FeatureComparison>>| {
            list.map_or("-".to_string(), |l| {
                l.iter().filter(|c| c.over_threshold).count().to_string()
            })
        };
        let pred = w
            .prediction_drift
            .iter()
            .chain(&w.prediction_window_drift)
            .flatten()
            .filter(|c| c.over_threshold)
            .count();
        let _ = write!(
            t,
            "{:<22} {:>6} {:>9} {:>9} {:>10} {:>9}",
            w.start,
            w.rows,
            w.labelled,
            over(Some(&w.skew)),
            over(w.drift.as_ref()),
            pred
        );
        if let (Some(m), Some(q)) = (&metric, &w.quality) {
            let _ = write!(
                t,
                "  {}",
                q.metrics.get(m).map_or("-".into(), |v| format!("{v:.4}"))
            );
        }
        t.push('\n');
    }
    let incomparable: Vec<String> = r
        .windows
        .iter()
        .flat_map(|w| {
            w.incomparable
                .iter()
                .map(move |e| format!("{}: {e}", w.start))
        })
        .collect();
    if !incomparable.is_empty() {
        let _ = writeln!(t, "not compared ({}):", incomparable.len());
        for line in incomparable.iter().take(10) {
            let _ = writeln!(t, "  ? {line}");
        }
    }
    if let Some(q) = &r.quality {
        let _ = writeln!(t, "\nquality of all {} labelled rows:", q.rows);
        for (name, value) in &q.metrics {
            let _ = writeln!(t, "  {name:<28} {value:.4}");
        }
        if !q.slices.is_empty() {
            let _ = writeln!(
                t,
                "per slice{}:",
                metric
                    .as_ref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            );
            for s in &q.slices {
                let value = metric
                    .as_ref()
                    .and_then(|m| s.metrics.get(m))
                    .map_or("-".into(), |v| format!("{v:.4}"));
                let _ = writeln!(
                    t,
                    "  {:<32} {:>6} rows  {value}",
                    clip(&format!("{}={}", s.column, s.value)),
                    s.rows
                );
            }
        }
    }
    t.push_str("\nfeatures that changed most since training (severity = statistic / threshold):\n");
    for c in r.features_changed.iter().take(TEXT_FEATURES) {
        let _ = writeln!(
            t,
            "  {} {:<24} {:<12} {:.4} (threshold {}) severity {:.2}, over in {} windows",
            if c.over_threshold { "!" } else { " " },
            clip(&c.feature),
            c.test,
            c.value,
            c.threshold,
            c.severity,
            c.windows_over
        );
    }
    if r.presence.is_empty() {
        t.push_str("presence: no feature became never or always missing\n");
    } else {
        t.push_str("presence changed since training:\n");
        for p in &r.presence {
            let _ = writeln!(
                t,
                "  {:<24} {} (training {:.1}% missing, serving {:.1}%)",
                clip(&p.feature),
                p.change.replace('_', " "),
                100.0 * p.training_missing_fraction,
                100.0 * p.serving_missing_fraction
            );
        }
    }
    if !r.slices_dropped.is_empty() {
        t.push_str("slices that lost quality against the evaluation:\n");
        for s in &r.slices_dropped {
            let _ = writeln!(
                t,
                "  {:<32} {} {:.4} → {:.4} (drop {:.4} > {}; {} rows)",
                clip(&s.slice),
                s.metric,
                s.evaluation,
                s.live,
                s.drop,
                s.max_drop,
                s.rows
            );
        }
    }
    if r.alerts.is_empty() {
        t.push_str("no threshold crossed\n");
    } else {
        let _ = writeln!(t, "{} thresholds crossed:", r.alerts.len());
        for a in r.alerts.iter().take(50) {
            let _ = writeln!(t, "  ! {a}");
        }
        if r.alerts.len() > 50 {
            let _ = writeln!(t, "  … {} more (see --format json)", r.alerts.len() - 50);
        }
    }
    t
}

/// The headline metric present in `metrics` (AUC, accuracy or R²).
fn headline(metrics: &std::collections::BTreeMap<String, f64>) -> Option<(&str, f64)> {
    ["roc_auc", "accuracy", "r2"]
        .into_iter()
        .find_map(|m| metrics.get(m).map(|v| (m, *v)))
}
