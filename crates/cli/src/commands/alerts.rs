//! `mlrig alerts`: Prometheus alerting rules for a model bundle (the rules
//! themselves are built by `mlrig_pipeline::alert_rules`).

use std::path::PathBuf;
use std::time::Duration;

use mlrig_core::write_atomic;
use mlrig_monitor::{MonitoringConfig, MonitoringThresholds};
use mlrig_pipeline::{AlertRulesParams, alert_rules};

use crate::output::{CliError, Format, Outcome};
use crate::{CommandResult, config_file};

/// Arguments of `mlrig alerts`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The model directory (`<base>/<name>`: the version a server would serve, its highest
    /// blessed one) or a version directory (`<base>/<name>/<version>`) whose schema gives the
    /// skew and drift thresholds.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,

    /// Write the rules to this file (YAML, atomically); default: print them on stdout
    /// (YAML, or with `--format json` the same rules document in JSON).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// The server config file `mlrig serve --config` runs with (JSON or TOML): its
    /// `[monitoring] thresholds` (default thresholds and `alerting_tests`) are the rules' too.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Alert when more than this fraction of the model's requests fail over 5 minutes.
    #[arg(long, default_value_t = 0.05, value_name = "FRACTION")]
    max_error_rate: f64,

    /// Alert when the model's p99 request latency over 5 minutes is above this.
    #[arg(long, default_value = "500ms", value_name = "DURATION", value_parser = humantime::parse_duration)]
    max_p99_latency: Duration,

    /// Alert when a served version was trained longer ago than this.
    #[arg(long, default_value = "30d", value_name = "DURATION", value_parser = humantime::parse_duration)]
    max_model_age: Duration,

    /// Alert when the newest training row is older than this (bundles trained with
    /// `--time-column` only).
    #[arg(long, default_value = "90d", value_name = "DURATION", value_parser = humantime::parse_duration)]
    max_data_age: Duration,

    /// How long skew, drift, prediction drift, error rate, latency and "not served"
    /// must hold before the alert fires (the rules' `for:`; `0s` fires at once).
    #[arg(long = "for", default_value = "5m", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pending: Duration,
}

pub(crate) fn run(args: Args, format: Format) -> CommandResult {
    let params = AlertRulesParams::default()
        .with_max_error_rate(args.max_error_rate)
        .with_max_p99_latency(args.max_p99_latency)
        .with_max_model_age(args.max_model_age)
        .with_max_data_age(args.max_data_age)
        .with_pending(args.pending)
        .with_thresholds(thresholds(args.config.as_deref())?);
    let group = alert_rules(&args.model, &params)?;
    let document = serde_json::to_value(&group)?;
    let Some(out) = &args.out else {
        let text = match format {
            Format::Text => group.to_yaml(),
            Format::Json => String::new(),
        };
        // JSON on stdout is the rules document itself (a valid rules file).
        return Ok(Outcome::from_json(document, text));
    };
    write_atomic(out, group.to_yaml().as_bytes())?;
    let alerts: std::collections::BTreeSet<&str> =
        group.rules.iter().map(|r| r.alert.as_str()).collect();
    let text = format!(
        "{} alerting rules for model `{}` (thresholds from version {}) written to {}\ncheck them with: promtool check rules {}\n",
        group.rules.len(),
        group.model,
        group.version,
        out.display(),
        out.display()
    );
    Ok(Outcome::from_json(
        serde_json::json!({
            "model": group.model,
            "version": group.version,
            "out": out,
            "rules": group.rules.len(),
            "alerts": alerts,
            "document": document,
        }),
        text,
    ))
}

/// The monitoring thresholds of the server config at `path` (its
/// `monitoring` section, checked as the server checks it), or the defaults.
fn thresholds(path: Option<&std::path::Path>) -> Result<MonitoringThresholds, CliError> {
    let Some(path) = path else {
        return Ok(MonitoringThresholds::default());
    };
    let config: serde_json::Value = config_file::read("--config", path)?;
    let Some(section) = config.get("monitoring") else {
        return Ok(MonitoringThresholds::default());
    };
    let monitoring: MonitoringConfig = serde_json::from_value(section.clone())
        .map_err(|e| format!("--config {}: [monitoring]: {e}", path.display()))?;
    Ok(monitoring.thresholds)
}
