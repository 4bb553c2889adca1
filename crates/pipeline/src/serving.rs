//! Serving a bundle: [`BundleServable`] (fitted features + model behind
//! `mlrig_core::Servable`), [`load_model_dir`], and [`server_app`], which joins
//! the TF Serving router of `mlrig-serve` with the metrics of `mlrig-monitor`.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::SchemaRef;
use mlrig_core::{
    Contributions, InputContract, ModelBundle, Predict, Predictions, Servable, ServableInfo, Task,
    Transform,
};
use mlrig_features::FittedFeaturePipeline;
use mlrig_monitor::{LiveMonitor, ServingMetrics};
use mlrig_serve::{ModelRegistry, ServerConfig, ServingExtras};
use mlrig_train::{Evaluation, Model};

use crate::PipelineError;
use crate::bundle_files::{EVALUATION_FILE, FEATURES_FILE, MODEL_FILE, SCHEMA_FILE, read_tfmd};

/// A model bundle ready to serve: the fitted feature pipeline and the model,
/// run one after the other on the request's one-row (or n-row) batch — the
/// same code that produced the training features.
///
/// [`Servable::contributions`] explains a gbdt model's predictions by
/// TreeSHAP ([`Model::contributions`]) per model feature (the fitted
/// pipeline's outputs); the groups are the positive class `classes[1]` of a
/// binary classifier, every class of a multiclass one, the target of a
/// regression model. Other model families answer an error that is the
/// caller's ([`is_invalid_input`](mlrig_core::Error::is_invalid_input)).
///
/// ```no_run
/// use mlrig_core::{ModelBundle, Servable};
/// let bundle = ModelBundle::open(std::path::Path::new("models/adult/1"))?;
/// let servable = mlrig_pipeline::BundleServable::open(&bundle)?;
/// println!("{} v{}", servable.info().name, servable.info().version);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BundleServable {
    info: ServableInfo,
    features: FittedFeaturePipeline,
    model: Model,
    /// From the bundle's `schema.json` (none for a candidate not yet bundled).
    contract: Option<InputContract>,
}

impl BundleServable {
    /// Loads `features.json` and `model.json` from an opened (fingerprint-checked) bundle.
    pub fn open(bundle: &ModelBundle) -> Result<Self, PipelineError> {
        let features = bundle.load::<FittedFeaturePipeline>(FEATURES_FILE)?.value;
        let model = bundle.load::<Model>(MODEL_FILE)?.value;
        check_fit(&features, &model).map_err(|reason| PipelineError::InconsistentBundle {
            path: bundle.dir().to_path_buf(),
            reason,
        })?;
        let manifest = bundle.manifest();
        let info = ServableInfo::new(
            manifest.name.clone(),
            manifest.version,
            model.task(),
            model.target(),
        )
        .with_created_at_unix(bundle.created_at_unix()?);
        let contract = input_contract_of(bundle, &features)?;
        Ok(Self {
            info,
            features,
            model,
            contract,
        })
    }
}

impl BundleServable {
    /// A servable from parts already in memory (the pre-blessing
    /// serveability check serves a candidate before its bundle exists).
    pub(crate) fn from_parts(
        info: ServableInfo,
        features: FittedFeaturePipeline,
        model: Model,
    ) -> Result<Self, PipelineError> {
        check_fit(&features, &model).map_err(|reason| PipelineError::InconsistentBundle {
            path: "(candidate)".into(),
            reason,
        })?;
        Ok(Self {
            info,
            features,
            model,
            contract: None,
        })
    }
}

/// The input contract of a bundle's servable: its training schema
/// (`schema.json`) applied to the feature pipeline's input fields
/// ([`mlrig_validate::input_contract`]); `None` for a bundle without a
/// schema (written before bundles had one).
fn input_contract_of(
    bundle: &ModelBundle,
    features: &FittedFeaturePipeline,
) -> Result<Option<InputContract>, PipelineError> {
    let schema = read_tfmd(bundle, SCHEMA_FILE, mlrig_validate::Schema::from_tfmd_json)?;
    Ok(schema.map(|schema| mlrig_validate::input_contract(&schema, &features.input_schema())))
}

impl BundleServable {
    /// The fitted feature pipeline.
    pub(crate) fn features(&self) -> &FittedFeaturePipeline {
        &self.features
    }

    /// The model.
    pub(crate) fn model(&self) -> &Model {
        &self.model
    }

    /// The model, taking the servable apart (for a warm start).
    pub(crate) fn into_model(self) -> Model {
        self.model
    }
}

/// The highest version under the model directory `dir` whose evaluation
/// blessed it; `None` when there is none (or no directory yet). A version
/// directory that cannot be opened or whose evaluation cannot be read
/// (half-written, corrupt, written by a newer mlrig) is logged and skipped:
/// one broken version stops neither a training job's default baseline nor a
/// server.
pub(crate) fn latest_blessed(dir: &Path) -> Result<Option<ModelBundle>, PipelineError> {
    let search = search_blessed(dir)?;
    search.warn_skipped(dir);
    Ok(search.blessed)
}

/// What [`search_blessed`] found under a model directory.
struct BlessedSearch {
    /// The highest blessed version.
    blessed: Option<ModelBundle>,
    /// How many versions opened but were not blessed.
    unblessed: usize,
    /// The versions above the blessed one that could not be opened, newest first.
    unopened: Vec<(u64, mlrig_core::Error)>,
}

impl BlessedSearch {
    /// Logs the versions that were skipped because they could not be opened.
    fn warn_skipped(&self, dir: &Path) {
        for (version, error) in &self.unopened {
            tracing::warn!(
                model_dir = %dir.display(),
                version,
                %error,
                "skipping a version that cannot be opened"
            );
        }
    }
}

fn search_blessed(dir: &Path) -> Result<BlessedSearch, PipelineError> {
    let mut search = BlessedSearch {
        blessed: None,
        unblessed: 0,
        unopened: Vec::new(),
    };
    let (base, name) = base_and_name(dir);
    if !dir.is_dir() {
        return Ok(search);
    }
    for &version in ModelBundle::versions(base, name)?.iter().rev() {
        let opened = ModelBundle::open(&dir.join(version.to_string())).and_then(|bundle| {
            let blessed = bundle.load::<Evaluation>(EVALUATION_FILE)?.value.blessed();
            Ok((bundle, blessed))
        });
        match opened {
            Ok((bundle, true)) => {
                search.blessed = Some(bundle);
                return Ok(search);
            }
            Ok((_, false)) => search.unblessed += 1,
            Err(error) => search.unopened.push((version, error)),
        }
    }
    Ok(search)
}

/// The model must read exactly the columns the feature pipeline writes.
fn check_fit(features: &FittedFeaturePipeline, model: &Model) -> Result<(), String> {
    if features.output_names() == model.feature_names() {
        Ok(())
    } else {
        Err(format!(
            "the feature pipeline produces {} columns but the model expects {}",
            features.output_names().len(),
            model.feature_names().len()
        ))
    }
}

impl Servable for BundleServable {
    fn input_schema(&self) -> SchemaRef {
        self.features.input_schema()
    }

    fn info(&self) -> &ServableInfo {
        &self.info
    }

    /// From the bundle's training schema (see [`mlrig_validate::input_contract`]).
    fn input_contract(&self) -> Option<&InputContract> {
        self.contract.as_ref()
    }

    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        let features = self.features.transform(batch)?;
        self.model.predict(&features).map_err(train_error)
    }

    /// See the type's documentation: TreeSHAP of gbdt models.
    fn contributions(&self, batch: &RecordBatch) -> mlrig_core::Result<Contributions> {
        let features = self.features.transform(batch)?;
        let values = self.model.contributions(&features).map_err(train_error)?;
        let groups = group_names(&self.info.task, &self.info.target, values.dim().1);
        Contributions::new(self.model.feature_names().to_vec(), groups, values)
    }
}

fn train_error(e: mlrig_train::TrainError) -> mlrig_core::Error {
    let invalid_input = e.is_invalid_input();
    mlrig_core::Error::component("mlrig-train", e, invalid_input)
}

/// What each of `n` contribution groups explains: every class when there is
/// one group per class, the positive class `classes[1]` when a two-class
/// model has one (log-odds), the target for regression. Any other count is
/// left to [`Contributions::new`] to report as a shape error.
fn group_names(task: &Task, target: &str, n: usize) -> Vec<String> {
    match task {
        Task::Classification { classes } if classes.len() == n => classes.clone(),
        Task::Classification { classes } if n == 1 && classes.len() == 2 => classes[1..].to_vec(),
        Task::Classification { classes } => classes.clone(),
        _ => vec![target.to_string()],
    }
}

/// Loads what `path` names:
///
/// * a version directory (`<base>/<name>/<version>`, holding `manifest.json`):
///   exactly that version, blessed or not (an explicit choice);
/// * a model directory (`<base>/<name>`): the highest **blessed** version, as
///   TF Serving serves the highest version that TFX's pusher let through.
///   Versions whose evaluation did not pass the gate are skipped, and so are
///   version directories that cannot be opened (half-written, corrupt;
///   logged): one broken version does not stop the server. When no version
///   opens at all, the error is the newest version's.
pub fn load_model_dir(path: &Path) -> Result<Arc<dyn Servable>, PipelineError> {
    if path.join(mlrig_core::MANIFEST_FILE).is_file() {
        return Ok(Arc::new(BundleServable::open(&ModelBundle::open(path)?)?));
    }
    let mut search = search_blessed(path)?;
    if search.blessed.is_none() && search.unblessed == 0 && !search.unopened.is_empty() {
        // No version opened at all: why the newest did not is the answer (a
        // newer format_version, a corrupt file), not "none was blessed".
        let (_, error) = search.unopened.swap_remove(0);
        return Err(error.into());
    }
    search.warn_skipped(path);
    if let Some(bundle) = search.blessed {
        return Ok(Arc::new(BundleServable::open(&bundle)?));
    }
    let (base, name) = base_and_name(path);
    let versions = if path.is_dir() {
        ModelBundle::versions(base, name)?
    } else {
        Vec::new()
    };
    if !versions.is_empty() {
        return Err(PipelineError::NoBlessedModel {
            path: path.to_path_buf(),
            versions,
        });
    }
    Err(not_a_model_dir(path))
}

/// Loads version `version` of the model directory `model_dir`, blessed or
/// not; errors say which directory to pass when `model_dir` is a version
/// directory or a directory of models.
pub fn load_model_version(
    model_dir: &Path,
    version: u64,
) -> Result<Arc<dyn Servable>, PipelineError> {
    let dir = model_dir.join(version.to_string());
    if dir.join(mlrig_core::MANIFEST_FILE).is_file() {
        return load_model_dir(&dir);
    }
    if model_dir.join(mlrig_core::MANIFEST_FILE).is_file() {
        return Err(PipelineError::VersionOfVersion {
            path: model_dir.to_path_buf(),
            model_dir: base_and_name(model_dir).0.to_path_buf(),
            version,
        });
    }
    if let Some(models) = models_under(model_dir) {
        return Err(PipelineError::ModelsNotVersions {
            path: model_dir.to_path_buf(),
            models,
        });
    }
    let (base, name) = base_and_name(model_dir);
    Err(PipelineError::NoSuchVersion {
        path: model_dir.to_path_buf(),
        version,
        versions: ModelBundle::versions(base, name).unwrap_or_default(),
    })
}

/// A model directory `<base>/<name>` taken apart.
fn base_and_name(model_dir: &Path) -> (&Path, &str) {
    let name = model_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    (model_dir.parent().unwrap_or(Path::new(".")), name)
}

/// The error for a path holding no version: a directory of models names
/// them, anything else says how to make one.
fn not_a_model_dir(path: &Path) -> PipelineError {
    match models_under(path) {
        Some(models) => PipelineError::ModelsNotVersions {
            path: path.to_path_buf(),
            models,
        },
        None => PipelineError::NoModel {
            path: path.to_path_buf(),
        },
    }
}

/// The names of the model directories (holding at least one version) in
/// `dir`, when it is a directory of models rather than of versions.
fn models_under(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| ModelBundle::versions(dir, name).is_ok_and(|versions| !versions.is_empty()))
        .collect();
    names.sort();
    (!names.is_empty()).then(|| names.join(", "))
}

/// The complete HTTP app: TF Serving REST routes for the registry's models,
/// `GET /metrics`, and request metrics recorded for every route.
pub fn server_app(
    registry: Arc<ModelRegistry>,
    metrics: Arc<ServingMetrics>,
    config: &ServerConfig,
) -> Router {
    server_app_with(registry, metrics, config, ServingExtras::new())
}

/// [`server_app`] with prediction tables and a request log
/// ([`serving_extras`](crate::serving_extras) builds them from the
/// config); the request log's counters are reported in `metrics`.
///
/// ```
/// use std::sync::Arc;
/// use mlrig_pipeline::{ServingMetrics, server_app_with};
/// use mlrig_serve::{ModelRegistry, ServerConfig, ServingExtras};
/// let app = server_app_with(Arc::new(ModelRegistry::new()), Arc::new(ServingMetrics::new()),
///                           &ServerConfig::default(), ServingExtras::new());
/// ```
pub fn server_app_with(
    registry: Arc<ModelRegistry>,
    metrics: Arc<ServingMetrics>,
    config: &ServerConfig,
    extras: ServingExtras,
) -> Router {
    server_app_parts(registry, metrics, config, extras, None)
}

/// The server app, with the metrics layer feeding `live` when given.
pub(crate) fn server_app_parts(
    registry: Arc<ModelRegistry>,
    metrics: Arc<ServingMetrics>,
    config: &ServerConfig,
    extras: ServingExtras,
    live: Option<Arc<LiveMonitor>>,
) -> Router {
    if let Some(log) = extras.request_log() {
        metrics.register_request_log(log.counters());
    }
    for name in registry.models() {
        for version in registry.versions(&name) {
            if let Ok(servable) = registry.get(&name, Some(version)) {
                metrics.register_servable(servable.info());
            }
        }
    }
    let layer = mlrig_monitor::MetricsLayer::new(metrics.clone());
    let layer = match live {
        Some(live) => layer.with_live_monitor(live),
        None => layer,
    };
    mlrig_serve::router_with(registry, config, extras)
        .merge(mlrig_monitor::metrics_router(metrics))
        .layer(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_name_what_each_contribution_group_explains() {
        let binary = Task::Classification {
            classes: vec!["no".into(), "yes".into()],
        };
        assert_eq!(group_names(&binary, "t", 1), ["yes"]);
        assert_eq!(group_names(&binary, "t", 2), ["no", "yes"]);
        let three = Task::Classification {
            classes: vec!["a".into(), "b".into(), "c".into()],
        };
        assert_eq!(group_names(&three, "t", 3), ["a", "b", "c"]);
        assert_eq!(group_names(&Task::Regression, "price", 1), ["price"]);
        // A count that fits nothing is a shape error of Contributions::new.
        let e = Contributions::new(
            vec!["x".into()],
            group_names(&three, "t", 1),
            mlrig_core::ndarray::Array3::zeros((1, 1, 2)),
        )
        .unwrap_err();
        assert!(!e.is_invalid_input(), "{e}");
    }
}
