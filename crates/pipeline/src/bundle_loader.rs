//! [`BundleLoader`]: model bundles for `mlrig-serve`'s
//! [`ModelManager`](mlrig_serve::ModelManager) — open, verify, warm up —
//! and [`MetricsObserver`], which keeps `mlrig-monitor`'s metrics in step
//! with what the manager loads and unloads.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::SchemaRef;
use mlrig_core::{ModelBundle, Servable, ServableInfo};
use mlrig_monitor::{LiveMonitor, ServingMetrics};
use mlrig_serve::{LifecycleObserver, VersionLoader};

use crate::PipelineError;
use crate::bundle_files::WARMUP_FILE;
use crate::serving::BundleServable;

/// At most this many evaluation rows are written to a bundle's
/// `warmup.jsonl` by training, and sent as warm-up requests before a
/// server makes the version available.
pub const WARMUP_RECORDS: usize = 8;

/// The manifest kind of `warmup.jsonl`.
pub(crate) const WARMUP_KIND: &str = "mlrig.warmup.jsonl";

/// The first [`WARMUP_RECORDS`] rows of `eval`, projected on the serving
/// input `schema`, as JSON Lines.
pub(crate) fn warmup_lines(
    schema: &SchemaRef,
    eval: &[RecordBatch],
) -> Result<Vec<u8>, PipelineError> {
    let mut out = Vec::new();
    let mut written = 0;
    for batch in eval {
        if written == WARMUP_RECORDS {
            break;
        }
        let take = (WARMUP_RECORDS - written).min(batch.num_rows());
        let projected = crate::gates::project(&batch.slice(0, take), schema)?;
        for record in mlrig_core::batch_to_records(&projected)? {
            serde_json::to_writer(&mut out, &record).map_err(|source| mlrig_core::Error::Json {
                context: WARMUP_FILE.into(),
                source,
            })?;
            out.push(b'\n');
            written += 1;
        }
    }
    Ok(out)
}

/// Loads model bundles for a [`ModelManager`](mlrig_serve::ModelManager):
///
/// 1. [`ModelBundle::open`]: the manifest is read and every file's
///    fingerprint checked (a half-written or corrupt directory fails here);
/// 2. the manifest's model name and version must be the ones the base path
///    and the directory name say (a bundle in `5/` whose manifest says 2 is
///    refused, naming both);
/// 3. [`BundleServable::open`] reads the feature pipeline and the model;
/// 4. warm-up: the records of the bundle's `warmup.jsonl` (written by
///    training from evaluation rows) are predicted, one request per
///    record as a client would send them; any failure refuses the version.
///    A bundle without the file (older bundles) loads with a log line saying
///    the warm-up was skipped.
///
/// ```no_run
/// use mlrig_serve::VersionLoader;
/// let servable = mlrig_pipeline::BundleLoader.load("adult", 3, std::path::Path::new("models/adult/3"))?;
/// assert_eq!(servable.info().version, 3);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BundleLoader;

impl VersionLoader for BundleLoader {
    fn load(&self, name: &str, version: u64, dir: &Path) -> Result<Arc<dyn Servable>, String> {
        let (_, servable) = open_version(name, version, dir)?;
        Ok(Arc::new(servable))
    }
}

/// Steps 1–4 of [`BundleLoader`]: the opened bundle and its warmed-up servable.
pub(crate) fn open_version(
    name: &str,
    version: u64,
    dir: &Path,
) -> Result<(ModelBundle, BundleServable), String> {
    let bundle = ModelBundle::open(dir).map_err(|e| e.to_string())?;
    let manifest = bundle.manifest();
    if manifest.name != name || manifest.version != version {
        return Err(format!(
            "{}: manifest.json says model `{}` version {}, but the directory is model `{name}` version {version}; \
             a bundle must be in <base_path>/<its version> of its own model",
            dir.display(),
            manifest.name,
            manifest.version
        ));
    }
    let servable = BundleServable::open(&bundle).map_err(|e| e.to_string())?;
    warm_up(&bundle, &servable)?;
    Ok((bundle, servable))
}

/// Sends the bundle's warm-up records through `servable`, one per request.
fn warm_up(bundle: &ModelBundle, servable: &BundleServable) -> Result<(), String> {
    let info = servable.info();
    if !bundle.manifest().files.contains_key(WARMUP_FILE) {
        tracing::info!(
            model = %info.name,
            version = info.version,
            "no {WARMUP_FILE} in the bundle; warm-up skipped"
        );
        return Ok(());
    }
    let path = bundle.file_path(WARMUP_FILE).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let schema = servable.input_schema();
    let started = Instant::now();
    let mut sent = 0;
    for (line_number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fail = |what: String| {
            format!(
                "warm-up {} line {}: {what}",
                path.display(),
                line_number + 1
            )
        };
        let record: serde_json::Value =
            serde_json::from_str(line).map_err(|e| fail(format!("not JSON: {e}")))?;
        let batch =
            mlrig_core::record_to_batch(&record, &schema).map_err(|e| fail(e.to_string()))?;
        let predictions = servable
            .predict(&batch)
            .map_err(|e| fail(format!("prediction failed: {e}")))?;
        if predictions.len() != 1 {
            return Err(fail(format!(
                "{} predictions for one record",
                predictions.len()
            )));
        }
        sent += 1;
    }
    tracing::info!(
        model = %info.name,
        version = info.version,
        requests = sent,
        warmup_us = started.elapsed().as_micros() as u64,
        "warm-up answered"
    );
    Ok(())
}

/// Keeps [`ServingMetrics`] in step with a
/// [`ModelManager`](mlrig_serve::ModelManager): versions are registered when
/// they become available (their requests get their own `version` label and
/// `mlrig_model_age_seconds`), unregistered when unloaded, and load failures
/// counted in `mlrig_model_load_failures_total{model}`.
///
/// ```
/// use std::sync::Arc;
/// use mlrig_serve::LifecycleObserver;
/// let metrics = Arc::new(mlrig_pipeline::ServingMetrics::new());
/// let observer = mlrig_pipeline::MetricsObserver::new(metrics.clone());
/// observer.load_failed("adult", 4, "no manifest.json");
/// assert!(metrics.render()?.contains("mlrig_model_load_failures_total{model=\"adult\"} 1"));
/// # Ok::<(), mlrig_monitor::MonitorError>(())
/// ```
#[derive(Clone)]
pub struct MetricsObserver {
    metrics: Arc<ServingMetrics>,
    live: Option<Arc<LiveMonitor>>,
}

impl std::fmt::Debug for MetricsObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsObserver")
            .field("live_monitoring", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

impl MetricsObserver {
    /// An observer recording into `metrics`.
    pub fn new(metrics: Arc<ServingMetrics>) -> Self {
        Self {
            metrics,
            live: None,
        }
    }

    /// Also unregisters versions from `live` when they are unloaded or fail
    /// to become available (they were registered by a
    /// [`MonitoredBundleLoader`](crate::MonitoredBundleLoader) as they loaded),
    /// so their monitoring gauges go away with them.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlrig_monitor::{LiveMonitor, MonitoringBaseline, MonitoringConfig};
    /// use mlrig_serve::LifecycleObserver;
    /// let metrics = Arc::new(mlrig_pipeline::ServingMetrics::new());
    /// let live = Arc::new(LiveMonitor::new(MonitoringConfig::default(), metrics.clone())?);
    /// live.register_version("adult", 4, MonitoringBaseline::new(Default::default(), Default::default()));
    /// assert!(live.is_monitored("adult", 4));
    /// let observer = mlrig_pipeline::MetricsObserver::new(metrics).with_live_monitor(live.clone());
    /// observer.unloaded("adult", 4);
    /// assert!(!live.is_monitored("adult", 4));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn with_live_monitor(mut self, live: Arc<LiveMonitor>) -> Self {
        self.live = Some(live);
        self
    }
}

impl LifecycleObserver for MetricsObserver {
    fn available(&self, info: &ServableInfo) {
        self.metrics.register_servable(info);
    }

    fn unloaded(&self, name: &str, version: u64) {
        self.metrics.unregister_model(name, version);
        if let Some(live) = &self.live {
            live.unregister_version(name, version);
        }
    }

    fn load_failed(&self, name: &str, version: u64, _reason: &str) {
        self.metrics.record_model_load_failure(name);
        if let Some(live) = &self.live {
            live.unregister_version(name, version);
        }
    }
}
