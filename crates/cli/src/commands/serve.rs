//! `mlrig serve`: answer TF Serving REST, Open Inference Protocol v2 and
//! MLflow scoring requests for model bundles.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlrig_monitor::{LiveMonitor, MonitoringConfig, ServingMetrics};
use mlrig_serve::{
    ModelRegistry, PredictionTableConfig, RequestLogConfig, RequestLogFormat, ServerConfig,
};

use std::fmt::Write as _;

use crate::output::{CliError, Format, Outcome, print_out_best_effort};
use crate::{CommandResult, config_file};

/// Arguments of `mlrig serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A model directory (<base>/<name>, serves its highest blessed version) or a
    /// version directory (<base>/<name>/<version>), loaded once at start-up;
    /// repeat for several models.
    #[arg(long = "model", value_name = "DIR", required_unless_present_any = ["model_base_paths", "model_config"])]
    models: Vec<PathBuf>,

    /// A model base path (<base>/<name>) watched for new versions, as TF Serving's
    /// --model_base_path: the model is named after the directory, its latest version
    /// is served, and versions written into it later are loaded (and the previous one
    /// unloaded) without a restart; repeat for several models.
    #[arg(long = "model-base-path", value_name = "DIR")]
    model_base_paths: Vec<PathBuf>,

    /// A model config file, JSON or TOML (models, base paths, version policy, labels,
    /// poll_interval; schema: `mlrig schema model-config`), re-read when it changes
    /// and on SIGHUP.
    #[arg(
        long = "model-config",
        value_name = "FILE",
        conflicts_with = "model_base_paths"
    )]
    model_config: Option<PathBuf>,

    /// How often model base paths are checked for new versions with
    /// --model-base-path (default 1s; with --model-config, set poll_interval in the file).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, conflicts_with = "model_config")]
    poll_interval: Option<std::time::Duration>,

    /// Port to listen on.
    #[arg(long, default_value_t = 8501)]
    port: u16,

    /// Address to bind (use 0.0.0.0 to accept connections from other machines).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,

    /// Server limits file, JSON or TOML (`max_body_bytes`, `request_timeout = "30s"`,
    /// `max_instances_per_request`, `max_connections`, `header_read_timeout`, `idle_timeout`,
    /// `max_concurrent_predictions`, `queue_timeout`, ..., and a `[monitoring]` section;
    /// schema: `mlrig schema server-config`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Largest request body accepted, in bytes (default 4 MiB); overrides the config file.
    #[arg(long, value_name = "BYTES")]
    max_body_bytes: Option<usize>,

    /// Answer requests whose key is in a prediction table written by
    /// `mlrig predict --key KEY` from the table, the others from the model
    /// (hybrid inference): MODEL=FILE[:KEY], KEY defaulting to the table's
    /// first column; repeat for several models. Adds to the config file's
    /// `prediction_tables`.
    #[arg(long = "prediction-table", value_name = "MODEL=FILE[:KEY]", value_parser = PredictionTableConfig::parse)]
    prediction_tables: Vec<PredictionTableConfig>,

    /// Append sampled requests and their predictions to rotating files in
    /// DIR (the config file's `request_log` sets rotation and queue limits).
    #[arg(long, value_name = "DIR")]
    request_log: Option<PathBuf>,

    /// Request log file format: jsonl or parquet (default jsonl).
    #[arg(long, value_name = "FORMAT", value_parser = parse_log_format, requires = "request_log")]
    request_log_format: Option<RequestLogFormat>,

    /// Fraction of prediction requests logged, 0 to 1 (default 1).
    #[arg(long, value_name = "RATE", requires = "request_log")]
    request_log_sample_rate: Option<f64>,

    /// Turn live monitoring off: no input statistics, skew/drift gauges or
    /// /monitoring reports (by default every version whose bundle has
    /// statistics.json is monitored; the config file's `[monitoring]` section
    /// sets `enabled`, `window`, `max_rows`, `panes`, `queue_capacity`, `max_rows_per_second`, `thresholds`).
    #[arg(long, conflicts_with_all = ["monitoring_window", "monitoring_max_rows"])]
    no_monitoring: bool,

    /// Span of live monitoring's sliding window (default 5m); overrides the config file.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    monitoring_window: Option<std::time::Duration>,

    /// Most rows in live monitoring's window (default 10000): under heavy traffic
    /// the window is the latest N rows; overrides the config file.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    monitoring_max_rows: Option<u64>,
}

/// The `[monitoring]` section of a `--config` file, read on its own so its
/// errors name the line and column like the rest of the file's.
#[derive(Debug, Default, serde::Deserialize)]
struct MonitoringSection {
    #[serde(default)]
    monitoring: Option<MonitoringConfig>,
}

/// The live monitoring settings: the config file's `[monitoring]` section
/// with the command line on top; `None` when monitoring is off.
fn monitoring_config(
    config: &ServerConfig,
    args: &Args,
) -> Result<Option<MonitoringConfig>, CliError> {
    let mut monitoring = match (&args.config, &config.monitoring) {
        (Some(path), Some(_)) => config_file::read::<MonitoringSection>("--config", path)?
            .monitoring
            .unwrap_or_default(),
        _ => MonitoringConfig::default(),
    };
    if args.no_monitoring || !monitoring.enabled {
        return Ok(None);
    }
    if let Some(window) = args.monitoring_window {
        monitoring = monitoring.with_window(window);
    }
    if let Some(rows) = args.monitoring_max_rows {
        monitoring = monitoring.with_max_rows(rows);
    }
    if monitoring.window.is_zero() {
        return Err("the monitoring window must be longer than zero (--monitoring-window, or `window` in [monitoring])".into());
    }
    Ok(Some(monitoring))
}

fn parse_log_format(text: &str) -> Result<RequestLogFormat, String> {
    serde_json::from_value(serde_json::Value::from(text))
        .map_err(|_| format!("expected jsonl or parquet, got {text:?}"))
}

/// The config file's request log with the command line's settings on top.
fn request_log_config(config: &mut ServerConfig, args: &Args) -> Result<(), String> {
    if let Some(dir) = &args.request_log {
        let mut log = config
            .request_log
            .take()
            .unwrap_or_else(|| RequestLogConfig::new(dir));
        log.dir = dir.clone();
        config.request_log = Some(log);
    }
    if let Some(log) = config.request_log.as_mut() {
        if let Some(format) = args.request_log_format {
            log.format = format;
        }
        if let Some(rate) = args.request_log_sample_rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!(
                    "--request-log-sample-rate must be between 0 and 1, got {rate}"
                ));
            }
            log.sample_rate = rate;
        }
    }
    Ok(())
}

/// Registers the bundle a `--model DIR` serves as `servable` (the
/// directory itself, or its version) with `live`.
fn monitor_model_dir(
    live: &LiveMonitor,
    dir: &Path,
    servable: &dyn mlrig_core::Servable,
) -> Result<(), CliError> {
    let version_dir = if dir.join(mlrig_core::MANIFEST_FILE).is_file() {
        dir.to_path_buf()
    } else {
        dir.join(servable.info().version.to_string())
    };
    let bundle = mlrig_core::ModelBundle::open(&version_dir)?;
    mlrig_pipeline::monitor_bundle(live, &bundle, servable);
    Ok(())
}

pub(crate) fn run(args: Args, format: Format) -> CommandResult {
    let mut config: ServerConfig = match &args.config {
        Some(path) => config_file::read("--config", path)?,
        None => ServerConfig::default(),
    };
    if let Some(bytes) = args.max_body_bytes {
        config = config.with_max_body_bytes(bytes);
    }
    let monitoring = monitoring_config(&config, &args)?;
    let metrics = Arc::new(ServingMetrics::new());
    let live = match &monitoring {
        Some(monitoring) => Some(Arc::new(
            LiveMonitor::new(monitoring.clone(), metrics.clone())
                .map_err(|e| format!("cannot start live monitoring: {e}"))?,
        )),
        None => None,
    };
    let registry = Arc::new(ModelRegistry::new());
    let mut loaded = Vec::new();
    for dir in &args.models {
        let servable = mlrig_pipeline::load_model_dir(dir)?;
        let info = servable.info().clone();
        if let Some(live) = &live {
            monitor_model_dir(live, dir, servable.as_ref())?;
        }
        registry.insert(servable)?;
        loaded.push(info);
    }
    let mut manager = crate::commands::model_lifecycle::manager(
        &args.model_base_paths,
        args.model_config.as_deref(),
        args.poll_interval,
        &registry,
        &metrics,
        live.as_ref(),
    )?;
    let mut failed = Vec::new();
    if let Some(manager) = manager.as_mut() {
        failed = crate::commands::model_lifecycle::initial_pass(manager, &registry, &loaded)?;
        for name in registry.models() {
            for version in registry.versions(&name) {
                if !loaded
                    .iter()
                    .any(|i| i.name == name && i.version == version)
                    && let Ok(servable) = registry.get(&name, Some(version))
                {
                    loaded.push(servable.info().clone());
                }
            }
        }
    }
    config
        .prediction_tables
        .extend(args.prediction_tables.iter().cloned());
    request_log_config(&mut config, &args)?;
    let extras = mlrig_pipeline::serving_extras(&config, &registry)?;
    let tables: Vec<serde_json::Value> = extras
        .prediction_tables()
        .map(|t| serde_json::json!({"model": t.model(), "table": t.origin(), "key": t.key(), "rows": t.len(), "memory_bytes": t.memory_bytes()}))
        .collect();
    let request_log = extras.request_log().cloned();
    let app = match live {
        Some(live) => {
            mlrig_pipeline::server_app_monitored(registry, metrics, &config, extras, live)
        }
        None => mlrig_pipeline::server_app_with(registry, metrics, &config, extras),
    };
    let monitoring_json = monitoring.as_ref().map(|m| {
        serde_json::json!({
            "window": humantime::format_duration(m.window).to_string(),
            "max_rows": m.max_rows,
        })
    });
    let address = SocketAddr::new(args.host, args.port);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Polls the base paths on its own thread; stops when dropped.
    let manager = manager.map(mlrig_serve::ModelManager::start).transpose()?;
    runtime.block_on(async move {
        if let Some(handle) = &manager {
            tokio::spawn(mlrig_serve::reload_on_sighup(handle.reloader()));
        }
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e} (is the port in use? try --port)"))?;
        let bound = listener.local_addr()?;
        let started = serde_json::json!({
            "listening": format!("http://{bound}"),
            "models": loaded.iter().map(|i| serde_json::json!({"name": i.name, "version": i.version})).collect::<Vec<_>>(),
            "prediction_tables": tables,
            "monitoring": monitoring_json,
            "failed": failed.iter().map(|(name, version, reason)| serde_json::json!({"name": name, "version": version, "error": reason})).collect::<Vec<_>>(),
        });
        // Nobody reading these lines is no reason to stop serving.
        let mut lines = String::new();
        match format {
            Format::Json => lines = format!("{started}\n"),
            Format::Text => {
                for info in &loaded {
                    let _ = writeln!(lines, "serving `{}` version {} at http://{bound}/v1/models/{}", info.name, info.version, info.name);
                }
                for (name, version, reason) in &failed {
                    let _ = writeln!(lines, "not serving `{name}` version {version}: {reason}");
                }
                let _ = writeln!(lines, "also Open Inference v2 at http://{bound}/v2/models/{{name}} and MLflow at http://{bound}/invocations");
                for table in &tables {
                    let _ = writeln!(lines, "answering known `{}` keys of `{}` from {} ({} rows)", table["key"].as_str().unwrap_or_default(), table["model"].as_str().unwrap_or_default(), table["table"].as_str().unwrap_or_default(), table["rows"]);
                }
                let _ = match &monitoring {
                    Some(m) => writeln!(lines,
                        "live monitoring: {} window (at most {} rows) at http://{bound}/v1/models/{{name}}/monitoring",
                        humantime::format_duration(m.window),
                        m.max_rows
                    ),
                    None => writeln!(lines, "live monitoring off"),
                };
                let _ = writeln!(lines, "metrics at http://{bound}/metrics; Ctrl-C to stop");
            }
        }
        print_out_best_effort(&lines);
        mlrig_serve::serve_with(listener, app, &config, mlrig_serve::shutdown_signal()).await?;
        Ok::<_, crate::output::CliError>(())
    })?;
    // Finishes the open request log file (renamed into place).
    if let Some(log) = request_log {
        log.close();
    }
    // A server's JSON output is one document per line (started, stopped).
    Ok(
        Outcome::from_json(serde_json::Value::Null, "server stopped\n".into())
            .with_json_line(serde_json::json!({"stopped": true})),
    )
}
