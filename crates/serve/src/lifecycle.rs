//! [`ModelManager`]: keeps a [`ModelRegistry`] in step with model base paths
//! on disk and a [`ModelConfig`] — TF Serving's model server semantics
//! (poll, version policy, load before serve, labels, drain, hot reload).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use mlrig_core::{Servable, ServableInfo};

use crate::{ModelConfig, ModelEntry, ModelRegistry, ServeError, VersionPolicy};

/// Loads one version of a model from its directory: reads it, verifies it
/// and warms it up, so that what it returns can answer requests at once.
/// `mlrig-pipeline`'s `BundleLoader` loads model bundles; this crate does not
/// know the bundle format.
///
/// The error is the reason, shown in logs and in the model status.
///
/// ```
/// use std::{path::Path, sync::Arc};
/// use mlrig_serve::{Servable, VersionLoader};
/// struct Refuse;
/// impl VersionLoader for Refuse {
///     fn load(&self, name: &str, version: u64, dir: &Path) -> Result<Arc<dyn Servable>, String> {
///         Err(format!("{name} {version} in {}: not supported", dir.display()))
///     }
/// }
/// assert!(Refuse.load("m", 1, Path::new("m/1")).is_err());
/// ```
pub trait VersionLoader: Send + Sync {
    /// Loads `version` of model `name` from `dir`; the servable's
    /// [`ServableInfo`] must carry that name and version.
    ///
    /// # Errors
    /// Why the version cannot be served (missing or corrupt file, name or
    /// version mismatch, failed warm-up).
    fn load(&self, name: &str, version: u64, dir: &Path) -> Result<Arc<dyn Servable>, String>;
}

/// Told about lifecycle events, e.g. to keep metrics in step; every method
/// does nothing by default. Called from the manager's thread.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// struct CountFailures(AtomicU64);
/// impl mlrig_serve::LifecycleObserver for CountFailures {
///     fn load_failed(&self, _name: &str, _version: u64, _reason: &str) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// let observer = CountFailures(AtomicU64::new(0));
/// mlrig_serve::LifecycleObserver::load_failed(&observer, "m", 2, "corrupt");
/// assert_eq!(observer.0.load(Ordering::Relaxed), 1);
/// ```
pub trait LifecycleObserver: Send + Sync {
    /// A version was loaded, warmed up and is now served.
    fn available(&self, _info: &ServableInfo) {}
    /// A version is no longer served (in-flight requests still finish).
    fn unloaded(&self, _name: &str, _version: u64) {}
    /// A version failed to load and is skipped.
    fn load_failed(&self, _name: &str, _version: u64, _reason: &str) {}
}

/// The version a directory name under a base path stands for: a non-empty
/// string of ASCII digits whose value is a positive `u64` (`"3"` and
/// `"00003"` are 3); anything else (`"0"`, `"+3"`, `"3a"`, `".staging-1"`,
/// too large a number) is not a version.
///
/// ```
/// use mlrig_serve::parse_version_dir;
/// assert_eq!(parse_version_dir("00003"), Some(3));
/// assert_eq!(parse_version_dir("12"), Some(12));
/// assert_eq!(parse_version_dir("0"), None);
/// assert_eq!(parse_version_dir("+3"), None);
/// assert_eq!(parse_version_dir(".staging-x"), None);
/// assert_eq!(parse_version_dir("99999999999999999999999"), None);
/// ```
pub fn parse_version_dir(name: &str) -> Option<u64> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse::<u64>().ok().filter(|&v| v > 0)
}

/// What one [`ModelManager::reconcile`] pass changed.
///
/// ```
/// let report = mlrig_serve::ReconcileReport::default();
/// assert!(report.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Versions that became available: (model, version).
    pub available: Vec<(String, u64)>,
    /// Versions no longer served: (model, version).
    pub unloaded: Vec<(String, u64)>,
    /// Versions that failed to load: (model, version, reason).
    pub failed: Vec<(String, u64, String)>,
}

impl ReconcileReport {
    /// `true` when nothing changed.
    ///
    /// ```
    /// assert!(mlrig_serve::ReconcileReport::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.available.is_empty() && self.unloaded.is_empty() && self.failed.is_empty()
    }
}

/// What a version directory looked like: its entries' names, sizes and
/// modification times. A failed version is retried only when this changes.
type DirStamp = Vec<(String, u64, Option<SystemTime>)>;

fn dir_stamp(dir: &Path) -> DirStamp {
    let mut stamp: DirStamp = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let meta = e.metadata().ok();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        meta.as_ref().map_or(0, std::fs::Metadata::len),
                        meta.and_then(|m| m.modified().ok()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    stamp.sort();
    stamp
}

/// The stamp of a version found under `base` in the directories `names`:
/// the directory's when there is one, the list of names for a conflict.
fn stamp_of(base: &Path, names: &[String]) -> DirStamp {
    match names {
        [one] => dir_stamp(&base.join(one)),
        _ => names.iter().map(|n| (n.clone(), 0, None)).collect(),
    }
}

/// The version directories under `base`: version → directory names (more
/// than one name is a conflict, e.g. `3` and `00003`). Hidden entries
/// (staging directories), files and other names are ignored.
fn scan_base_path(base: &Path) -> Result<BTreeMap<u64, Vec<String>>, String> {
    let entries = std::fs::read_dir(base)
        .map_err(|e| format!("cannot list the base path {}: {e}", base.display()))?;
    let mut found: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for entry in entries.filter_map(Result::ok) {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if let Some(version) = parse_version_dir(&name)
            && entry.path().is_dir()
        {
            found.entry(version).or_default().push(name);
        }
    }
    for names in found.values_mut() {
        names.sort();
    }
    Ok(found)
}

enum VersionState {
    Available,
    /// The reason is in the registry ([`ModelRegistry::failed`]).
    Failed,
}

struct Tracked {
    stamp: DirStamp,
    state: VersionState,
}

#[derive(Default)]
struct ModelState {
    /// The base path the versions were loaded from.
    base_path: PathBuf,
    versions: BTreeMap<u64, Tracked>,
    /// The last error listing the base path, logged once.
    base_error: Option<String>,
    /// The last error of each label, logged once.
    label_errors: BTreeMap<String, String>,
}

/// An unloaded version whose in-flight requests may still hold it.
struct Draining {
    name: String,
    version: u64,
    servable: Weak<dyn Servable>,
    since: Instant,
}

/// Keeps a [`ModelRegistry`] in step with the models of a [`ModelConfig`]:
/// each [`reconcile`](ModelManager::reconcile) pass lists every model's base
/// path, applies its [`VersionPolicy`], loads new versions through a
/// [`VersionLoader`] (loaded, verified and warmed up *before* they enter the
/// registry, so a request never meets a half-loaded version), removes the
/// versions no longer wanted (requests in flight hold their own `Arc` and
/// finish: the version drains; the log says when the last one let go) and
/// points the config's labels at available versions.
///
/// A version that fails to load (half-written, corrupt, a manifest naming
/// another model or version, two directories for one number) is logged with
/// the reason, reported to the [`LifecycleObserver`], listed in the model
/// status with state `END` ([`ModelRegistry::set_failed`]) and skipped: it
/// never unloads a live version or touches another model. It is tried again
/// only when its directory changes (names, sizes, modification times), so a
/// directory completed later loads, and a broken one is not retried (and
/// logged) at every poll.
///
/// [`start`](ModelManager::start) runs the passes on a thread of its own
/// every `poll_interval`, and at once on [`ManagerHandle::reload`] (SIGHUP
/// with [`reload_on_sighup`]); a manager built from a file re-reads it when
/// its modification time changes and on reload (an invalid file is logged
/// and the previous config kept).
///
/// ```
/// use std::{path::Path, sync::Arc};
/// use mlrig_serve::{ModelConfig, ModelEntry, ModelManager, ModelRegistry, Servable, ServableInfo, Task, VersionLoader};
/// # use mlrig_serve::{Predictions, arrow_array::RecordBatch, arrow_schema::{Schema, SchemaRef}};
/// # struct Constant(ServableInfo);
/// # impl Servable for Constant {
/// #     fn input_schema(&self) -> SchemaRef { Arc::new(Schema::empty()) }
/// #     fn info(&self) -> &ServableInfo { &self.0 }
/// #     fn predict(&self, b: &RecordBatch) -> Result<Predictions, mlrig_serve::CoreError> {
/// #         Ok(Predictions::Regression { values: mlrig_serve::ndarray::Array1::zeros(b.num_rows()) })
/// #     }
/// # }
/// /// Serves any directory holding a file `ok`.
/// struct Loader;
/// impl VersionLoader for Loader {
///     fn load(&self, name: &str, version: u64, dir: &Path) -> Result<Arc<dyn Servable>, String> {
///         if !dir.join("ok").is_file() { return Err("no `ok` file".into()); }
///         Ok(Arc::new(Constant(ServableInfo::new(name, version, Task::Regression, "y"))))
///     }
/// }
/// let base = std::env::temp_dir().join(format!("mlrig-manager-doc-{}", std::process::id()));
/// for (dir, ok) in [("1", true), ("00002", true), ("3", false)] {
///     std::fs::create_dir_all(base.join(dir))?;
///     if ok { std::fs::write(base.join(dir).join("ok"), "")?; }
/// }
/// let registry = Arc::new(ModelRegistry::new());
/// let config = ModelConfig::new(vec![ModelEntry::new("m", &base).with_label("stable", 2)]);
/// let mut manager = ModelManager::new(config, registry.clone(), Arc::new(Loader));
/// let report = manager.reconcile();
/// // 3 is broken: the latest version that loads (2) is served, 3 is reported.
/// assert_eq!(registry.versions("m"), vec![2]);
/// assert_eq!(registry.labels("m")["stable"], 2);
/// assert_eq!(report.failed[0].1, 3);
/// assert!(registry.failed("m")[&3].contains("no `ok` file"));
///
/// std::fs::write(base.join("3/ok"), "")?; // completed later: loads, 2 is unloaded
/// manager.reconcile();
/// assert_eq!(registry.versions("m"), vec![3]);
/// # std::fs::remove_dir_all(&base)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ModelManager {
    registry: Arc<ModelRegistry>,
    loader: Arc<dyn VersionLoader>,
    observer: Option<Arc<dyn LifecycleObserver>>,
    config: ModelConfig,
    /// The config file and what it looked like when last read.
    source: Option<(PathBuf, Option<(SystemTime, u64)>)>,
    models: BTreeMap<String, ModelState>,
    draining: Vec<Draining>,
    /// Configured models whose name the registry already serves from
    /// elsewhere (`mlrig serve --model`): left alone, logged once.
    foreign: BTreeSet<String>,
}

impl std::fmt::Debug for ModelManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelManager")
            .field("config", &self.config)
            .field("source", &self.source.as_ref().map(|(p, _)| p))
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl ModelManager {
    /// A manager for a fixed `config`, filling `registry` with what `loader`
    /// loads. Nothing is loaded before the first
    /// [`reconcile`](ModelManager::reconcile).
    pub fn new(
        config: ModelConfig,
        registry: Arc<ModelRegistry>,
        loader: Arc<dyn VersionLoader>,
    ) -> Self {
        Self {
            registry,
            loader,
            observer: None,
            config,
            source: None,
            models: BTreeMap::new(),
            draining: Vec::new(),
            foreign: BTreeSet::new(),
        }
    }

    /// A manager for the config file `path` ([`ModelConfig::from_file`]),
    /// re-read when it changes and on reload.
    ///
    /// # Errors
    /// [`ServeError::InvalidConfig`] when the file cannot be read or is invalid now.
    ///
    /// ```
    /// # use std::{path::Path, sync::Arc};
    /// # struct Never;
    /// # impl mlrig_serve::VersionLoader for Never {
    /// #     fn load(&self, _: &str, _: u64, _: &Path) -> Result<Arc<dyn mlrig_serve::Servable>, String> { Err("no".into()) }
    /// # }
    /// let registry = Arc::new(mlrig_serve::ModelRegistry::new());
    /// assert!(mlrig_serve::ModelManager::from_file(Path::new("missing.json"), registry, Arc::new(Never)).is_err());
    /// ```
    pub fn from_file(
        path: &Path,
        registry: Arc<ModelRegistry>,
        loader: Arc<dyn VersionLoader>,
    ) -> Result<Self, ServeError> {
        let stamp = file_stamp(path);
        let config = ModelConfig::from_file(path)?;
        let mut manager = Self::new(config, registry, loader);
        manager.source = Some((path.to_path_buf(), stamp));
        Ok(manager)
    }

    /// Reports lifecycle events to `observer` (metrics, for instance).
    ///
    /// ```
    /// # use std::{path::Path, sync::Arc};
    /// # struct Never;
    /// # impl mlrig_serve::VersionLoader for Never {
    /// #     fn load(&self, _: &str, _: u64, _: &Path) -> Result<Arc<dyn mlrig_serve::Servable>, String> { Err("no".into()) }
    /// # }
    /// struct Quiet;
    /// impl mlrig_serve::LifecycleObserver for Quiet {}
    /// let manager = mlrig_serve::ModelManager::new(
    ///     mlrig_serve::ModelConfig::new(vec![]), Arc::new(mlrig_serve::ModelRegistry::new()), Arc::new(Never),
    /// ).with_observer(Arc::new(Quiet));
    /// ```
    pub fn with_observer(mut self, observer: Arc<dyn LifecycleObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The config in effect.
    ///
    /// ```
    /// # use std::{path::Path, sync::Arc};
    /// # struct Never;
    /// # impl mlrig_serve::VersionLoader for Never {
    /// #     fn load(&self, _: &str, _: u64, _: &Path) -> Result<Arc<dyn mlrig_serve::Servable>, String> { Err("no".into()) }
    /// # }
    /// let config = mlrig_serve::ModelConfig::new(vec![]);
    /// let manager = mlrig_serve::ModelManager::new(config.clone(), Arc::new(mlrig_serve::ModelRegistry::new()), Arc::new(Never));
    /// assert_eq!(manager.config(), &config);
    /// ```
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Re-reads the config file (if any) when `force` or its modification
    /// time or size changed; an invalid file is logged and ignored.
    fn reread_config(&mut self, force: bool) {
        let Some((path, last)) = &mut self.source else {
            return;
        };
        let now = file_stamp(path);
        if !force && now == *last {
            return;
        }
        *last = now;
        match ModelConfig::from_file(path) {
            Ok(config) if config != self.config => {
                tracing::info!(path = %path.display(), "model config reloaded");
                self.config = config;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "model config not reloaded; keeping the previous one");
            }
        }
    }

    /// One pass: re-reads the config file if it changed, then brings every
    /// model in line with its base path, version policy and labels, and
    /// unloads the models no longer configured. Blocks while versions load.
    pub fn reconcile(&mut self) -> ReconcileReport {
        self.reread_config(false);
        let mut report = ReconcileReport::default();
        let configured: BTreeSet<String> =
            self.config.models.iter().map(|m| m.name.clone()).collect();
        let gone: Vec<String> = self
            .models
            .keys()
            .filter(|name| !configured.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            if let Some(state) = self.models.remove(&name) {
                for (version, tracked) in state.versions {
                    match tracked.state {
                        VersionState::Available => self.unload(&name, version, &mut report),
                        VersionState::Failed => self.registry.clear_failed(&name, version),
                    }
                }
                tracing::info!(model = %name, "model removed from the config; unloaded");
            }
        }
        self.foreign.retain(|name| configured.contains(name));
        for entry in self.config.models.clone() {
            // A model the registry holds that this manager never loaded came
            // from elsewhere: managing it would replace or unload its versions.
            if !self.models.contains_key(&entry.name)
                && !self.registry.versions(&entry.name).is_empty()
            {
                if self.foreign.insert(entry.name.clone()) {
                    tracing::error!(
                        model = %entry.name,
                        "model not managed: a model of this name is already served from elsewhere (--model); rename one of them"
                    );
                }
                continue;
            }
            self.foreign.remove(&entry.name);
            self.reconcile_model(&entry, &mut report);
        }
        self.check_draining();
        report
    }

    fn reconcile_model(&mut self, entry: &ModelEntry, report: &mut ReconcileReport) {
        let name = entry.name.as_str();
        // A new base path: its versions are loaded afresh; the old ones serve
        // until then and are unloaded below unless replaced.
        let mut stale = BTreeSet::new();
        let state = self.state(name);
        if state.base_path != entry.base_path {
            if !state.versions.is_empty() {
                tracing::info!(model = name, base_path = %entry.base_path.display(), "base path changed; loading its versions");
            }
            state.base_path = entry.base_path.clone();
            for (version, tracked) in std::mem::take(&mut state.versions) {
                match tracked.state {
                    VersionState::Available => {
                        stale.insert(version);
                    }
                    VersionState::Failed => self.registry.clear_failed(name, version),
                }
            }
        }
        let found = match scan_base_path(&entry.base_path) {
            Ok(found) => {
                self.state(name).base_error = None;
                found
            }
            Err(reason) => {
                let state = self.state(name);
                if state.base_error.as_ref() != Some(&reason) {
                    tracing::error!(model = name, %reason, "base path unreadable; loaded versions keep serving");
                    state.base_error = Some(reason);
                }
                self.apply_labels(entry);
                return;
            }
        };

        // Forget what left the disk; retry failures whose directory changed.
        let tracked: Vec<(u64, bool)> = self
            .state(name)
            .versions
            .iter()
            .map(|(v, t)| (*v, matches!(t.state, VersionState::Available)))
            .collect();
        for (version, available) in tracked {
            match (available, found.get(&version)) {
                (true, Some(_)) => {}
                (true, None) => {
                    self.state(name).versions.remove(&version);
                    tracing::info!(model = name, version, "version directory removed");
                    self.unload(name, version, report);
                }
                (false, names) => {
                    let stamp = names.map(|names| stamp_of(&entry.base_path, names));
                    let state = self.state(name);
                    let unchanged = state
                        .versions
                        .get(&version)
                        .is_some_and(|t| Some(&t.stamp) == stamp.as_ref());
                    if !unchanged {
                        state.versions.remove(&version);
                        self.registry.clear_failed(name, version);
                    }
                }
            }
        }

        // Two directories for one version: both refused.
        for (version, names) in found.iter().filter(|(_, names)| names.len() > 1) {
            let stamp = stamp_of(&entry.base_path, names);
            let state = self.state(name);
            match state.versions.get(version) {
                Some(Tracked {
                    state: VersionState::Available,
                    ..
                }) => {}
                Some(t) if t.stamp == stamp => {}
                _ => {
                    let reason = format!(
                        "directories {} in {} all name version {version}; remove or rename all but one",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" and "),
                        entry.base_path.display()
                    );
                    self.fail(name, *version, stamp, reason, report);
                }
            }
        }

        let candidates: Vec<(u64, &String)> = found
            .iter()
            .rev()
            .filter(|(_, names)| names.len() == 1)
            .map(|(v, names)| (*v, &names[0]))
            .collect();
        let mut serving = BTreeSet::new();
        let wanted: Box<dyn Fn(u64) -> bool> = match &entry.version_policy {
            VersionPolicy::Specific { versions } => {
                let versions = versions.clone();
                Box::new(move |v| versions.contains(&v))
            }
            _ => Box::new(|_| true),
        };
        let limit = match entry.version_policy {
            VersionPolicy::Latest { num_versions } => {
                usize::try_from(num_versions).unwrap_or(usize::MAX)
            }
            _ => usize::MAX,
        };
        for (version, dir_name) in candidates {
            if serving.len() >= limit {
                break;
            }
            if !wanted(version) {
                continue;
            }
            let dir = entry.base_path.join(dir_name);
            if self.ensure_loaded(name, version, &dir, report) {
                serving.insert(version);
            }
        }

        // Labels move to the versions just loaded before the old ones go
        // (unloading a version removes the labels still pointing at it), so
        // a label the config moves is never missing in between.
        self.apply_labels(entry);
        let available: Vec<u64> = self
            .state(name)
            .versions
            .iter()
            .filter(|(_, t)| matches!(t.state, VersionState::Available))
            .map(|(v, _)| *v)
            .collect();
        for version in available.into_iter().chain(stale) {
            if !serving.contains(&version) {
                self.state(name).versions.remove(&version);
                self.unload(name, version, report);
            }
        }
        self.apply_labels(entry);
    }

    fn state(&mut self, name: &str) -> &mut ModelState {
        self.models.entry(name.to_string()).or_default()
    }

    /// `true` when `version` is available, loading it first if it is new
    /// (or changed since it failed).
    fn ensure_loaded(
        &mut self,
        name: &str,
        version: u64,
        dir: &Path,
        report: &mut ReconcileReport,
    ) -> bool {
        match self.state(name).versions.get(&version) {
            Some(Tracked {
                state: VersionState::Available,
                ..
            }) => return true,
            Some(Tracked {
                state: VersionState::Failed,
                ..
            }) => return false,
            None => {}
        }
        let stamp = dir_stamp(dir);
        let started = Instant::now();
        let loaded = mlrig_core::catch_panic(|| self.loader.load(name, version, dir))
            .unwrap_or_else(|message| Err(format!("the loader panicked: {message}")))
        .and_then(|servable| {
            let info = servable.info();
            if info.name != name || info.version != version {
                return Err(format!(
                    "the loaded servable is model `{}` version {}, not model `{name}` version {version} as its directory says",
                    info.name, info.version
                ));
            }
            Ok(servable)
        })
        .and_then(|servable| {
            self.registry
                .insert(servable.clone())
                .map(|_| servable)
                .map_err(|e| e.to_string())
        });
        match loaded {
            Ok(servable) => {
                self.registry.clear_failed(name, version);
                self.state(name).versions.insert(
                    version,
                    Tracked {
                        stamp,
                        state: VersionState::Available,
                    },
                );
                tracing::info!(
                    model = name,
                    version,
                    dir = %dir.display(),
                    load_ms = started.elapsed().as_millis() as u64,
                    "version available"
                );
                if let Some(observer) = &self.observer {
                    observer.available(servable.info());
                }
                report.available.push((name.to_string(), version));
                true
            }
            Err(reason) => {
                self.fail(name, version, stamp, reason, report);
                false
            }
        }
    }

    fn fail(
        &mut self,
        name: &str,
        version: u64,
        stamp: DirStamp,
        reason: String,
        report: &mut ReconcileReport,
    ) {
        tracing::warn!(
            model = name,
            version,
            %reason,
            "version failed to load; skipped (tried again when its directory changes)"
        );
        self.registry.set_failed(name, version, reason.clone());
        if let Some(observer) = &self.observer {
            observer.load_failed(name, version, &reason);
        }
        report
            .failed
            .push((name.to_string(), version, reason.clone()));
        self.state(name).versions.insert(
            version,
            Tracked {
                stamp,
                state: VersionState::Failed,
            },
        );
    }

    /// Takes a version out of the registry; requests holding it finish.
    fn unload(&mut self, name: &str, version: u64, report: &mut ReconcileReport) {
        if let Some(servable) = self.registry.remove(name, version) {
            let in_flight = Arc::strong_count(&servable).saturating_sub(1);
            tracing::info!(
                model = name,
                version,
                in_flight,
                "version unloaded; no new requests reach it"
            );
            self.draining.push(Draining {
                name: name.to_string(),
                version,
                servable: Arc::downgrade(&servable),
                since: Instant::now(),
            });
            if let Some(observer) = &self.observer {
                observer.unloaded(name, version);
            }
            report.unloaded.push((name.to_string(), version));
        }
    }

    /// Logs the unloaded versions whose last request has finished.
    fn check_draining(&mut self) {
        self.draining.retain(|d| {
            if d.servable.strong_count() > 0 {
                return true;
            }
            tracing::info!(
                model = %d.name,
                version = d.version,
                drain_ms = d.since.elapsed().as_millis() as u64,
                "version drained: its last in-flight request finished, memory released"
            );
            false
        });
    }

    /// Number of unloaded versions still held by in-flight requests.
    ///
    /// ```
    /// # use std::{path::Path, sync::Arc};
    /// # struct Never;
    /// # impl mlrig_serve::VersionLoader for Never {
    /// #     fn load(&self, _: &str, _: u64, _: &Path) -> Result<Arc<dyn mlrig_serve::Servable>, String> { Err("no".into()) }
    /// # }
    /// let manager = mlrig_serve::ModelManager::new(
    ///     mlrig_serve::ModelConfig::new(vec![]), Arc::new(mlrig_serve::ModelRegistry::new()), Arc::new(Never));
    /// assert_eq!(manager.draining(), 0);
    /// ```
    pub fn draining(&self) -> usize {
        self.draining
            .iter()
            .filter(|d| d.servable.strong_count() > 0)
            .count()
    }

    /// Points the config's labels at available versions; a label naming a
    /// version that is not available keeps its previous version (logged
    /// once); labels gone from the config are removed.
    fn apply_labels(&mut self, entry: &ModelEntry) {
        let name = entry.name.as_str();
        let current = self.registry.labels(name);
        for (label, version) in &entry.labels {
            if current.get(label) == Some(version) {
                self.state(name).label_errors.remove(label);
                continue;
            }
            match self.registry.set_label(name, label, *version) {
                Ok(previous) => {
                    tracing::info!(model = name, label = %label, version, ?previous, "label set");
                    self.state(name).label_errors.remove(label);
                }
                Err(error) => {
                    let message = error.to_string();
                    let state = self.state(name);
                    if state.label_errors.get(label) != Some(&message) {
                        tracing::error!(
                            model = name,
                            label = %label,
                            version,
                            previous = ?current.get(label),
                            %message,
                            "label not moved: a label can only point at an available version; it keeps its previous version"
                        );
                        state.label_errors.insert(label.clone(), message);
                    }
                }
            }
        }
        for label in current.keys() {
            if !entry.labels.contains_key(label) {
                self.registry.remove_label(name, label);
                tracing::info!(model = name, label = %label, "label removed (not in the config)");
            }
        }
    }

    /// Runs [`reconcile`](ModelManager::reconcile) on a thread of its own:
    /// every `poll_interval` (of the config in effect), and at once on
    /// [`ManagerHandle::reload`] (which also re-reads the config file).
    /// The thread stops when the handle is dropped or
    /// [`ManagerHandle::stop`] is called.
    ///
    /// # Errors
    /// [`ServeError::Io`] if the thread cannot be spawned.
    ///
    /// ```
    /// # use std::{path::Path, sync::Arc};
    /// # struct Never;
    /// # impl mlrig_serve::VersionLoader for Never {
    /// #     fn load(&self, _: &str, _: u64, _: &Path) -> Result<Arc<dyn mlrig_serve::Servable>, String> { Err("no".into()) }
    /// # }
    /// let manager = mlrig_serve::ModelManager::new(
    ///     mlrig_serve::ModelConfig::new(vec![]), Arc::new(mlrig_serve::ModelRegistry::new()), Arc::new(Never));
    /// let handle = manager.start()?;
    /// handle.reload();
    /// handle.stop();
    /// # Ok::<(), mlrig_serve::ServeError>(())
    /// ```
    pub fn start(mut self) -> Result<ManagerHandle, ServeError> {
        let (sender, receiver) = mpsc::channel::<Command>();
        let thread = std::thread::Builder::new()
            .name("mlrig-model-manager".into())
            .spawn(move || {
                loop {
                    match receiver.recv_timeout(self.config.poll_interval) {
                        Ok(Command::Reload) => {
                            tracing::info!("reload requested");
                            self.reread_config(true);
                        }
                        Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                    self.reconcile();
                }
            })
            .map_err(|source| ServeError::Io {
                context: "starting the model manager thread".into(),
                source,
            })?;
        Ok(ManagerHandle {
            sender,
            thread: Some(thread),
        })
    }
}

enum Command {
    Reload,
    Stop,
}

/// Controls a started [`ModelManager`]; dropping it stops the manager's
/// thread (without waiting for it).
#[derive(Debug)]
pub struct ManagerHandle {
    sender: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl ManagerHandle {
    /// Asks for a pass now, re-reading the config file first.
    pub fn reload(&self) {
        // A stopped manager has nothing to reload.
        let _ = self.sender.send(Command::Reload);
    }

    /// A cheap, cloneable way to ask for reloads from elsewhere (a signal task).
    pub fn reloader(&self) -> Reloader {
        Reloader(self.sender.clone())
    }

    /// Stops the manager and waits for its current pass to finish.
    pub fn stop(mut self) {
        let _ = self.sender.send(Command::Stop);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the model manager thread panicked");
        }
    }
}

impl Drop for ManagerHandle {
    fn drop(&mut self) {
        let _ = self.sender.send(Command::Stop);
    }
}

/// Asks a started [`ModelManager`] for a reload ([`ManagerHandle::reloader`]).
///
/// ```
/// # use std::{path::Path, sync::Arc};
/// # struct Never;
/// # impl mlrig_serve::VersionLoader for Never {
/// #     fn load(&self, _: &str, _: u64, _: &Path) -> Result<Arc<dyn mlrig_serve::Servable>, String> { Err("no".into()) }
/// # }
/// # let manager = mlrig_serve::ModelManager::new(
/// #     mlrig_serve::ModelConfig::new(vec![]), Arc::new(mlrig_serve::ModelRegistry::new()), Arc::new(Never));
/// let handle = manager.start()?;
/// let reloader = handle.reloader();
/// reloader.reload();
/// # Ok::<(), mlrig_serve::ServeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Reloader(mpsc::Sender<Command>);

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Reload => "Reload",
            Command::Stop => "Stop",
        })
    }
}

impl Reloader {
    /// Asks for a pass now, re-reading the config file first.
    pub fn reload(&self) {
        let _ = self.0.send(Command::Reload);
    }
}

/// Forwards every SIGHUP to `reloader` until the process ends (spawn it on
/// the server's runtime). On other platforms, or if the handler cannot be
/// installed (logged), it waits forever.
///
/// ```no_run
/// # async fn run(handle: mlrig_serve::ManagerHandle) {
/// tokio::spawn(mlrig_serve::reload_on_sighup(handle.reloader()));
/// # }
/// ```
pub async fn reload_on_sighup(reloader: Reloader) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hangup) => {
                while hangup.recv().await.is_some() {
                    tracing::info!("received SIGHUP: reloading the model config");
                    reloader.reload();
                }
            }
            Err(error) => tracing::error!(%error, "cannot listen for SIGHUP"),
        }
    }
    #[cfg(not(unix))]
    let _ = reloader;
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_servable::Constant;
    use mlrig_core::Task;
    use proptest::prelude::*;

    /// Loads a directory holding a file `ok`; a file `version` overrides the
    /// version it claims to be; a file `panic` makes it panic.
    struct FakeLoader;
    impl VersionLoader for FakeLoader {
        fn load(&self, name: &str, version: u64, dir: &Path) -> Result<Arc<dyn Servable>, String> {
            if dir.join("panic").exists() {
                panic!("fake loader panics");
            }
            if !dir.join("ok").is_file() {
                return Err("no `ok` file".into());
            }
            let claimed = std::fs::read_to_string(dir.join("version"))
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(version);
            Ok(Arc::new(Constant(ServableInfo::new(
                name,
                claimed,
                Task::Regression,
                "y",
            ))))
        }
    }

    fn version_dir(base: &Path, name: &str, ok: bool) {
        std::fs::create_dir_all(base.join(name)).unwrap();
        if ok {
            std::fs::write(base.join(name).join("ok"), "").unwrap();
        }
    }

    fn manager(base: &Path, policy: VersionPolicy) -> (ModelManager, Arc<ModelRegistry>) {
        let registry = Arc::new(ModelRegistry::new());
        let config = ModelConfig::new(vec![ModelEntry::new("m", base).with_version_policy(policy)]);
        (
            ModelManager::new(config, registry.clone(), Arc::new(FakeLoader)),
            registry,
        )
    }

    #[test]
    fn latest_n_skips_broken_versions_and_keeps_live_ones() {
        let base = tempfile::tempdir().unwrap();
        for v in ["1", "2", "3"] {
            version_dir(base.path(), v, true);
        }
        version_dir(base.path(), "4", false);
        let (mut m, registry) = manager(base.path(), VersionPolicy::Latest { num_versions: 2 });
        let report = m.reconcile();
        assert_eq!(registry.versions("m"), [2, 3]);
        assert_eq!(report.failed.len(), 1);
        // Unchanged broken directory: not retried.
        assert!(m.reconcile().is_empty());
        version_dir(base.path(), "5", true);
        let report = m.reconcile();
        assert_eq!(registry.versions("m"), [3, 5]);
        assert_eq!(report.unloaded, [("m".to_string(), 2)]);
        // The directory of a live version disappears: it is unloaded.
        std::fs::remove_dir_all(base.path().join("5")).unwrap();
        m.reconcile();
        assert_eq!(registry.versions("m"), [2, 3]);
    }

    #[test]
    fn specific_and_all_policies() {
        let base = tempfile::tempdir().unwrap();
        for v in ["1", "2", "3"] {
            version_dir(base.path(), v, true);
        }
        let (mut m, registry) = manager(
            base.path(),
            VersionPolicy::Specific {
                versions: vec![3, 1, 9],
            },
        );
        m.reconcile();
        assert_eq!(registry.versions("m"), [1, 3]);
        let (mut m, registry) = manager(base.path(), VersionPolicy::All {});
        m.reconcile();
        assert_eq!(registry.versions("m"), [1, 2, 3]);
    }

    #[test]
    fn duplicates_mismatches_and_panics_are_refused() {
        let base = tempfile::tempdir().unwrap();
        version_dir(base.path(), "1", true);
        version_dir(base.path(), "2", true);
        version_dir(base.path(), "002", true);
        version_dir(base.path(), "3", true);
        std::fs::write(base.path().join("3/version"), "1").unwrap();
        version_dir(base.path(), "4", true);
        std::fs::write(base.path().join("4/panic"), "").unwrap();
        std::fs::write(base.path().join("7"), "a file, not a version").unwrap();
        let (mut m, registry) = manager(base.path(), VersionPolicy::All {});
        let report = m.reconcile();
        assert_eq!(registry.versions("m"), [1]);
        let failed = registry.failed("m");
        assert_eq!(failed.keys().copied().collect::<Vec<_>>(), [2, 3, 4]);
        assert!(failed[&2].contains("`002` and `2`"), "{}", failed[&2]);
        assert!(failed[&3].contains("version 1"), "{}", failed[&3]);
        assert!(failed[&4].contains("panicked"), "{}", failed[&4]);
        assert_eq!(report.failed.len(), 3);
        assert!(
            m.reconcile().is_empty(),
            "failures are not retried unchanged"
        );
        std::fs::remove_dir_all(base.path().join("002")).unwrap();
        m.reconcile();
        assert_eq!(registry.versions("m"), [1, 2]);
        assert!(!registry.failed("m").contains_key(&2));
    }

    #[test]
    fn a_new_base_path_replaces_the_versions_of_the_old_one() {
        let (old, new) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        version_dir(old.path(), "1", true);
        version_dir(old.path(), "2", true);
        version_dir(new.path(), "1", true);
        let (mut m, registry) = manager(old.path(), VersionPolicy::All {});
        m.reconcile();
        let before = registry.get("m", Some(1)).unwrap();
        m.config = ModelConfig::new(vec![
            ModelEntry::new("m", new.path()).with_version_policy(VersionPolicy::All {}),
        ]);
        let report = m.reconcile();
        assert_eq!(registry.versions("m"), [1]);
        assert_eq!(report.unloaded, [("m".to_string(), 2)]);
        assert!(!Arc::ptr_eq(&before, &registry.get("m", Some(1)).unwrap()));
    }

    #[test]
    fn unloaded_versions_drain() {
        let base = tempfile::tempdir().unwrap();
        version_dir(base.path(), "1", true);
        let (mut m, registry) = manager(base.path(), VersionPolicy::default());
        m.reconcile();
        let in_flight = registry.get("m", None).unwrap();
        version_dir(base.path(), "2", true);
        m.reconcile();
        assert_eq!(registry.versions("m"), [2]);
        assert_eq!(m.draining(), 1);
        assert_eq!(
            in_flight.info().version,
            1,
            "the request finishes on version 1"
        );
        drop(in_flight);
        m.reconcile();
        assert_eq!(m.draining(), 0);
    }

    /// Records, at each unload, where the label `stable` points.
    struct LabelAtUnload(Arc<ModelRegistry>, std::sync::Mutex<Vec<Option<u64>>>);
    impl LifecycleObserver for LabelAtUnload {
        fn unloaded(&self, name: &str, _version: u64) {
            let stable = self.0.labels(name).get("stable").copied();
            self.1.lock().unwrap().push(stable);
        }
    }

    #[test]
    fn a_label_moves_to_its_new_version_before_the_old_one_is_unloaded() {
        let base = tempfile::tempdir().unwrap();
        for v in ["1", "2"] {
            version_dir(base.path(), v, true);
        }
        let registry = Arc::new(ModelRegistry::new());
        let entry = |versions: Vec<u64>, stable: u64| {
            ModelEntry::new("m", base.path())
                .with_version_policy(VersionPolicy::Specific { versions })
                .with_label("stable", stable)
        };
        let observer = Arc::new(LabelAtUnload(registry.clone(), Default::default()));
        let mut m = ModelManager::new(
            ModelConfig::new(vec![entry(vec![1], 1)]),
            registry.clone(),
            Arc::new(FakeLoader),
        )
        .with_observer(observer.clone());
        m.reconcile();
        assert_eq!(registry.labels("m")["stable"], 1);
        // Promote: one config change loads 2, moves `stable` to it and unloads 1.
        m.config = ModelConfig::new(vec![entry(vec![2], 2)]);
        let report = m.reconcile();
        assert_eq!(report.unloaded, [("m".to_string(), 1)]);
        assert_eq!(registry.labels("m")["stable"], 2);
        assert_eq!(
            *observer.1.lock().unwrap(),
            [Some(2)],
            "requests to /labels/stable never find the label missing"
        );
    }

    #[test]
    fn a_reload_rereads_the_config_at_once() {
        let base = tempfile::tempdir().unwrap();
        for v in ["1", "2"] {
            version_dir(base.path(), v, true);
        }
        let path = base.path().join("models.json");
        let write = |stable: u64| {
            let text = format!(
                r#"{{"poll_interval": "1h", "models": [{{"name": "m", "base_path": ".", "version_policy": {{"all": {{}}}}, "labels": {{"stable": {stable}}}}}]}}"#
            );
            std::fs::write(&path, text).unwrap();
        };
        write(1);
        let registry = Arc::new(ModelRegistry::new());
        let mut m = ModelManager::from_file(&path, registry.clone(), Arc::new(FakeLoader)).unwrap();
        m.reconcile();
        assert_eq!(registry.labels("m")["stable"], 1);
        let handle = m.start().unwrap();
        let wait_for = |stable: u64| {
            let started = Instant::now();
            while registry.labels("m").get("stable") != Some(&stable) {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(10),
                    "stable never moved to {stable}"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        };
        // With an hour between polls, only the reload can apply these.
        std::fs::write(&path, r#"{"models": ["#).unwrap();
        handle.reload();
        write(2);
        handle.reload();
        wait_for(2);
        assert_eq!(
            registry.versions("m"),
            [1, 2],
            "the invalid file unloaded nothing"
        );
        handle.stop();
    }

    #[test]
    fn a_configured_model_never_touches_one_served_from_elsewhere() {
        let base = tempfile::tempdir().unwrap();
        version_dir(base.path(), "1", true);
        let registry = Arc::new(ModelRegistry::new());
        let fixed: Arc<dyn Servable> =
            Arc::new(Constant(ServableInfo::new("m", 1, Task::Regression, "y")));
        registry.insert(fixed.clone()).unwrap();
        let mut m = ModelManager::new(
            ModelConfig::new(vec![]),
            registry.clone(),
            Arc::new(FakeLoader),
        );
        m.reconcile();
        // A reload adds a model of the same name, then removes it again.
        m.config = ModelConfig::new(vec![ModelEntry::new("m", base.path())]);
        assert!(m.reconcile().is_empty());
        m.config = ModelConfig::new(vec![]);
        assert!(m.reconcile().is_empty());
        assert!(Arc::ptr_eq(&registry.get("m", Some(1)).unwrap(), &fixed));
    }

    proptest! {
        #[test]
        fn version_dir_parsing_never_panics(name in ".{0,30}") {
            if let Some(v) = parse_version_dir(&name) {
                prop_assert!(v > 0);
                prop_assert!(name.bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn zero_padded_versions_parse_to_their_value(v in 1u64.., zeros in 0usize..5) {
            let name = format!("{}{v}", "0".repeat(zeros));
            prop_assert_eq!(parse_version_dir(&name), Some(v));
        }
    }
}
