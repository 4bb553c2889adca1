//! Live monitoring of served bundles: each version's
//! [`MonitoringBaseline`] read from its bundle ([`monitoring_baseline`]),
//! registered with a [`LiveMonitor`] when the version is loaded
//! ([`monitor_bundle`], [`MonitoredBundleLoader`]) and unregistered when it
//! is unloaded ([`MetricsObserver::with_live_monitor`](crate::MetricsObserver::with_live_monitor)),
//! and the server app that feeds the monitor ([`server_app_monitored`]).

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use mlrig_core::{ModelBundle, Servable};
use mlrig_monitor::{LiveMonitor, MonitoringBaseline, ServingMetrics};
use mlrig_serve::{ModelRegistry, ServerConfig, ServingExtras, VersionLoader};

use crate::PipelineError;
use crate::bundle_files::{BundleBaselines, STATISTICS_FILE};
use crate::bundle_loader::open_version;
use crate::serving::server_app_parts;

/// What live monitoring compares a bundle's traffic with: its training
/// statistics and schema (`statistics.json`, `schema.json`), the statistics
/// of its evaluation predictions (`prediction_statistics.json`), its
/// training data's newest row (manifest `data_newest_row`) and its creation
/// time. `None` when the bundle has no `statistics.json` (nothing to compare
/// with: the version is served unmonitored); a bundle without `schema.json`
/// is compared with the default thresholds.
///
/// ```
/// use mlrig_pipeline::{ModelBundle, TrainingJob, monitoring_baseline};
/// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/california_sample.csv");
/// let out = tempfile::tempdir()?;
/// let report = TrainingJob::new(data, "MedHouseVal").with_output_dir(out.path()).run()?;
/// let baseline = monitoring_baseline(&ModelBundle::open(&report.bundle_dir)?)?.unwrap();
/// assert!(baseline.training.feature("MedInc").is_some());
/// assert!(baseline.predictions.is_some());
/// assert!(baseline.created_at_unix > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn monitoring_baseline(
    bundle: &ModelBundle,
) -> Result<Option<MonitoringBaseline>, PipelineError> {
    let baselines = BundleBaselines::read(bundle)?;
    let Some(training) = baselines.statistics else {
        return Ok(None);
    };
    let mut baseline = MonitoringBaseline::new(training, baselines.schema.unwrap_or_default());
    baseline.predictions = baselines.predictions;
    baseline.data_newest_row_unix = baselines.data_newest_row_unix;
    baseline.created_at_unix = baselines.created_at_unix;
    Ok(Some(baseline))
}

/// Registers `bundle`'s version with `live` (replacing an earlier
/// registration of the same version) and returns `true`. Only the features
/// `servable` (the version loaded from `bundle`) reads are compared: the
/// training statistics also describe the target, which requests do not
/// carry. A bundle without
/// training statistics, or whose baseline files cannot be read, is served
/// unmonitored: a warning is logged and `false` returned (monitoring never
/// stops a version from being served).
///
/// ```
/// use std::sync::Arc;
/// use mlrig_monitor::{LiveMonitor, MonitoringConfig};
/// use mlrig_pipeline::{ModelBundle, ServingMetrics, TrainingJob, monitor_bundle};
/// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/california_sample.csv");
/// let out = tempfile::tempdir()?;
/// let report = TrainingJob::new(data, "MedHouseVal").with_name("housing").with_output_dir(out.path()).run()?;
/// let live = LiveMonitor::new(MonitoringConfig::default(), Arc::new(ServingMetrics::new()))?;
/// let bundle = ModelBundle::open(&report.bundle_dir)?;
/// let servable = mlrig_pipeline::BundleServable::open(&bundle)?;
/// assert!(monitor_bundle(&live, &bundle, &servable));
/// assert!(live.is_monitored("housing", 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn monitor_bundle(live: &LiveMonitor, bundle: &ModelBundle, servable: &dyn Servable) -> bool {
    let manifest = bundle.manifest();
    let (name, version) = (manifest.name.as_str(), manifest.version);
    match monitoring_baseline(bundle) {
        Ok(Some(mut baseline)) => {
            let inputs = servable.input_schema();
            baseline
                .training
                .features
                .retain(|f| inputs.field_with_name(&f.name).is_ok());
            live.register_version(name, version, baseline);
            true
        }
        Ok(None) => {
            tracing::warn!(
                model = name,
                version,
                "the bundle has no {STATISTICS_FILE}: served without live monitoring"
            );
            false
        }
        Err(error) => {
            tracing::warn!(
                model = name,
                version,
                %error,
                "cannot read the monitoring baseline: served without live monitoring"
            );
            false
        }
    }
}

/// [`BundleLoader`](crate::BundleLoader) for a server with live monitoring:
/// loads, checks and warms up a version exactly as it does, then registers
/// the version's [`monitoring_baseline`] with the [`LiveMonitor`] (see
/// [`monitor_bundle`]). Pair it with
/// [`MetricsObserver::with_live_monitor`](crate::MetricsObserver::with_live_monitor),
/// which unregisters versions that are unloaded or fail after loading.
///
/// ```no_run
/// use std::sync::Arc;
/// use mlrig_monitor::{LiveMonitor, MonitoringConfig};
/// use mlrig_serve::VersionLoader;
/// let live = Arc::new(LiveMonitor::new(MonitoringConfig::default(), Arc::new(mlrig_pipeline::ServingMetrics::new()))?);
/// let loader = mlrig_pipeline::MonitoredBundleLoader::new(live.clone());
/// let servable = loader.load("adult", 3, std::path::Path::new("models/adult/3"))?;
/// assert!(live.is_monitored("adult", 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MonitoredBundleLoader {
    live: Arc<LiveMonitor>,
}

impl std::fmt::Debug for MonitoredBundleLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoredBundleLoader")
            .finish_non_exhaustive()
    }
}

impl MonitoredBundleLoader {
    /// A loader registering every version it loads with `live`.
    pub fn new(live: Arc<LiveMonitor>) -> Self {
        Self { live }
    }
}

impl VersionLoader for MonitoredBundleLoader {
    fn load(&self, name: &str, version: u64, dir: &Path) -> Result<Arc<dyn Servable>, String> {
        let (bundle, servable) = open_version(name, version, dir)?;
        monitor_bundle(&self.live, &bundle, &servable);
        Ok(Arc::new(servable))
    }
}

/// [`server_app_with`](crate::server_app_with) with live monitoring: the
/// router attaches each prediction's input rows to the response
/// ([`ServingExtras::with_monitoring`]), the metrics layer hands them to
/// `live` (off the request path) and
/// `GET /v1/models/{name}[/versions/{n}|/labels/{l}]/monitoring` answers
/// `live`'s report. `live` must record into `metrics` (the gauges are
/// rendered at `/metrics`). Versions are monitored once registered
/// ([`monitor_bundle`]).
///
/// ```
/// use std::sync::Arc;
/// use mlrig_monitor::{LiveMonitor, MonitoringConfig};
/// use mlrig_pipeline::{ServingMetrics, server_app_monitored};
/// use mlrig_serve::{ModelRegistry, ServerConfig, ServingExtras};
/// let metrics = Arc::new(ServingMetrics::new());
/// let live = Arc::new(LiveMonitor::new(MonitoringConfig::default(), metrics.clone())?);
/// let app = server_app_monitored(Arc::new(ModelRegistry::new()), metrics, &ServerConfig::default(),
///                                ServingExtras::new(), live);
/// # Ok::<(), mlrig_monitor::MonitorError>(())
/// ```
pub fn server_app_monitored(
    registry: Arc<ModelRegistry>,
    metrics: Arc<ServingMetrics>,
    config: &ServerConfig,
    extras: ServingExtras,
    live: Arc<LiveMonitor>,
) -> Router {
    let extras = extras.with_monitoring(live.clone());
    server_app_parts(registry, metrics, config, extras, Some(live))
}
