//! The model manager of `mlrig serve` (`--model-base-path`, `--model-config`):
//! built from the flags, run once before the server listens.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mlrig_core::ServableInfo;
use mlrig_monitor::{LiveMonitor, ServingMetrics};
use mlrig_pipeline::{BundleLoader, MetricsObserver, MonitoredBundleLoader};
use mlrig_serve::{ModelConfig, ModelEntry, ModelManager, ModelRegistry, VersionLoader};

use crate::output::CliError;

/// The manager for `--model-base-path DIR...` (each model named after its
/// directory, policy latest 1) or `--model-config FILE`; `None` without either.
pub(crate) fn manager(
    base_paths: &[PathBuf],
    config_file: Option<&Path>,
    poll_interval: Option<Duration>,
    registry: &Arc<ModelRegistry>,
    metrics: &Arc<ServingMetrics>,
    live: Option<&Arc<LiveMonitor>>,
) -> Result<Option<ModelManager>, CliError> {
    // With live monitoring, each version's baseline is registered as it
    // loads and unregistered (by the observer) when it is unloaded.
    let loader: Arc<dyn VersionLoader> = match live {
        Some(live) => Arc::new(MonitoredBundleLoader::new(live.clone())),
        None => Arc::new(BundleLoader),
    };
    let manager = match config_file {
        Some(path) => ModelManager::from_file(path, registry.clone(), loader)?,
        None if base_paths.is_empty() => return Ok(None),
        None => {
            let mut entries = Vec::new();
            for dir in base_paths {
                let name = dir
                    .canonicalize()
                    .ok()
                    .and_then(|d| d.file_name().and_then(|n| n.to_str()).map(String::from))
                    .or_else(|| dir.file_name().and_then(|n| n.to_str()).map(String::from))
                    .ok_or_else(|| {
                        format!(
                            "--model-base-path {}: cannot name the model after this path; pass <base>/<name>",
                            dir.display()
                        )
                    })?;
                entries.push(ModelEntry::new(name, dir));
            }
            let config = ModelConfig::new(entries)
                .with_poll_interval(poll_interval.unwrap_or(Duration::from_secs(1)));
            config
                .check()
                .map_err(|reason| format!("--model-base-path: {reason}"))?;
            ModelManager::new(config, registry.clone(), loader)
        }
    };
    let mut observer = MetricsObserver::new(metrics.clone());
    if let Some(live) = live {
        observer = observer.with_live_monitor(live.clone());
    }
    Ok(Some(manager.with_observer(Arc::new(observer))))
}

/// Checks that no `--model` shares a name with a managed model, then runs
/// the first pass: returns the versions that failed (the server serves the
/// others) and warns about models with no version yet.
pub(crate) fn initial_pass(
    manager: &mut ModelManager,
    registry: &ModelRegistry,
    fixed: &[ServableInfo],
) -> Result<Vec<(String, u64, String)>, CliError> {
    for model in &manager.config().models {
        if fixed.iter().any(|info| info.name == model.name) {
            return Err(format!(
                "model `{}` is given both with --model and as a managed model (--model-base-path / --model-config); give it once",
                model.name
            )
            .into());
        }
    }
    let report = manager.reconcile();
    for model in &manager.config().models {
        if registry.versions(&model.name).is_empty() {
            tracing::warn!(
                model = %model.name,
                base_path = %model.base_path.display(),
                "no version available yet; waiting for one"
            );
        }
    }
    Ok(report.failed)
}
