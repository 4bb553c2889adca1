//! The pipeline runner: `mlrig.toml` → cached steps → a pushed version.
//!
//! ```text
//! spans (data.files, newest data.window) ─ingest─▶ train/eval Parquet + quarantine
//!   ─statistics─▶ tfmd statistics ─(first run: curated schema.json written)
//!   ─validate (gate: anomaly policy)─▶ anomalies ─features─▶ features.json ─train─▶ model.json
//!   ─evaluate (gate: blessing, baseline = the serving version)─▶ evaluation.json
//!   ─infra_validate (gate: loads and warms up)─▶ bundle ─push─▶ <base_path>/<name>/<version>
//! ```
//!
//! Every step's outputs live in `<root>/artifacts/<step>/<key>/`, the key
//! being the fingerprint of its inputs (data files, upstream keys, config
//! sections): a step whose directory exists is "cached". Each run writes a
//! [`RunRecord`] to `<root>/runs/`; pushes and rollbacks go to
//! `<root>/history.json` ([`PushHistory`]).

mod history;
mod push_lock;
mod record;
mod rollback;
mod steps;
mod store;
mod watch;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use mlrig_core::{Fingerprint, ModelBundle};
use serde::Serialize;

pub use history::{HISTORY_FILE, PushHistory, PushRecord, RollbackRecord};
pub use record::{GateDecision, RunOutcome, RunRecord, StepName, StepRecord, StepStatus};
pub use watch::WatchOptions;

use crate::pipeline_config::resolve;
use crate::{PipelineConfig, PipelineError, Progress};
use steps::BundleSources;
use store::{ArtifactStore, StepInputs, StepMeta, StepOutcome};

/// A pipeline ready to run: its config and where it lives.
///
/// ```no_run
/// let record = mlrig_pipeline::Pipeline::from_config("mlrig.toml")?.run()?;
/// println!("{:?}", record.outcome);
/// # Ok::<(), mlrig_pipeline::PipelineError>(())
/// ```
#[derive(Clone)]
pub struct Pipeline {
    config: PipelineConfig,
    config_path: PathBuf,
    base: PathBuf,
    root: PathBuf,
    store: ArtifactStore,
    progress: Option<Progress>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("config_path", &self.config_path)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Reads `mlrig.toml` at `path`; relative paths in it are relative to its directory.
    ///
    /// # Errors
    /// [`PipelineError::Config`] for an invalid config.
    pub fn from_config(path: impl AsRef<Path>) -> Result<Self, PipelineError> {
        let path = path.as_ref();
        let config = PipelineConfig::from_file(path)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Ok(Self::new(config, base).with_config_path(path))
    }

    /// A pipeline from a config held in memory; relative paths are relative to `base`.
    pub fn new(config: PipelineConfig, base: impl Into<PathBuf>) -> Self {
        let base = base.into();
        let root = resolve(&base, &config.root);
        Pipeline {
            store: ArtifactStore::new(&root),
            config_path: base.join("mlrig.toml"),
            config,
            base,
            root,
            progress: None,
        }
    }

    fn with_config_path(mut self, path: &Path) -> Self {
        self.config_path = path.to_path_buf();
        self
    }

    /// Called with the name of each step as it starts (a progress display).
    #[must_use]
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The config.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The pipeline's state directory (artifacts, runs, history).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory versions are pushed to: `<push.base_path>/<name>`.
    pub fn model_dir(&self) -> PathBuf {
        resolve(&self.base, &self.config.push.base_path).join(&self.config.name)
    }

    /// Runs every step; cached ones are skipped. A gate that blocks ends the
    /// run with [`RunOutcome::Blocked`] (not an error). The record is also
    /// written to `<root>/runs/<run_id>.json`.
    ///
    /// # Errors
    /// A step that fails (unreadable data, a fit that fails…); the record,
    /// with outcome `failed`, is written first.
    pub fn run(&self) -> Result<RunRecord, PipelineError> {
        self.execute(None)
    }

    /// Runs one step, for an external orchestrator; the steps before it must
    /// have run on the same inputs (else an error names the one to run first).
    ///
    /// # Errors
    /// As [`Pipeline::run`], and a missing upstream artifact.
    pub fn run_step(&self, step: StepName) -> Result<RunRecord, PipelineError> {
        self.execute(Some(step))
    }

    fn execute(&self, only: Option<StepName>) -> Result<RunRecord, PipelineError> {
        let started = SystemTime::now();
        let mut run = RunState {
            run_id: run_id(started),
            pipeline: self,
            only,
            steps: Vec::new(),
            current: StepName::Ingest,
        };
        let mut rollback = None;
        let mut notes = Vec::new();
        let spans = self.config.spans(&self.base);
        let result = spans.and_then(|spans| {
            if only.is_none()
                && let Some(done) = self.roll_back_if_worse(&mut rollback, &mut notes)?
            {
                return Ok((spans, done));
            }
            let outcome = run.steps(&spans);
            outcome.map(|o| (spans, o))
        });
        let (spans, outcome, error) = match result {
            Ok((spans, outcome)) => (spans, outcome, None),
            Err(error) => (
                self.config.spans(&self.base).unwrap_or_default(),
                RunOutcome::Failed {
                    step: run.current,
                    error: error.to_string(),
                },
                Some(error),
            ),
        };
        let record = RunRecord {
            steps: run.steps,
            notes,
            rollback,
            ..self.record(&run.run_id, started, spans, outcome)
        };
        record.write(&self.root)?;
        match error {
            Some(error) => Err(error),
            None => Ok(record),
        }
    }

    /// Runs only the rollback check of the newest push (see [`Pipeline::run`],
    /// which starts with it): `Some(record)` when it rolled a version back
    /// (the record is also written to `<root>/runs/`), `None` when nothing
    /// was rolled back. `--watch` calls it between runs when
    /// `rollback.monitoring_url` is set, so the server's live monitoring can
    /// roll a version back before new data arrives.
    ///
    /// # Errors
    /// The history cannot be read, or the rollback cannot be applied.
    pub fn check_rollback(&self) -> Result<Option<RunRecord>, PipelineError> {
        let started = SystemTime::now();
        let (mut rollback, mut notes) = (None, Vec::new());
        let Some(outcome) = self.roll_back_if_worse(&mut rollback, &mut notes)? else {
            return Ok(None);
        };
        let spans = self.config.spans(&self.base).unwrap_or_default();
        let record = RunRecord {
            notes,
            rollback,
            ..self.record(&run_id(started), started, spans, outcome)
        };
        record.write(&self.root)?;
        Ok(Some(record))
    }

    /// A record of a run that started at `started` and ends now, without
    /// steps, notes or rollback.
    fn record(
        &self,
        run_id: &str,
        started: SystemTime,
        spans: Vec<PathBuf>,
        outcome: RunOutcome,
    ) -> RunRecord {
        RunRecord {
            run_id: run_id.to_string(),
            config: self.config_path.clone(),
            config_fingerprint: Fingerprint::of_json(&self.config)
                .map(|f| f.to_string())
                .unwrap_or_default(),
            started_at: humantime::format_rfc3339_seconds(started).to_string(),
            finished_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            spans,
            steps: Vec::new(),
            notes: Vec::new(),
            rollback: None,
            outcome,
        }
    }

    /// The rollback check of the newest push (within its grace period): when
    /// it fails, the version is rolled back and the run ends there.
    fn roll_back_if_worse(
        &self,
        rollback: &mut Option<RollbackRecord>,
        notes: &mut Vec<String>,
    ) -> Result<Option<RunOutcome>, PipelineError> {
        let mut history = PushHistory::read(&self.root)?;
        let now = unix_now();
        let Some(check) = rollback::rollback_check(&self.config, &self.base, &history, now)? else {
            return Ok(None);
        };
        notes.extend(check.notes);
        if check.reasons.is_empty() {
            return Ok(None);
        }
        let record = rollback::apply_rollback(
            &self.config,
            &self.base,
            &mut history,
            &check.push,
            check.reasons,
            now,
        )?;
        self.write_alert_rules(&self.model_dir().join(record.to.to_string()))?;
        let outcome = RunOutcome::RolledBack {
            version: record.version,
            to: record.to,
        };
        *rollback = Some(record);
        Ok(Some(outcome))
    }

    /// Checks that `push.model_config`, when configured, serves this model,
    /// so that a push never lands without its label.
    fn check_model_config(&self) -> Result<(), PipelineError> {
        self.served_label().map(drop)
    }

    /// `push.model_config` (when configured) and the version its
    /// `push.label` points at for this model.
    ///
    /// # Errors
    /// The file cannot be read, or it does not serve this model.
    fn served_label(&self) -> Result<Option<(PathBuf, Option<u64>)>, PipelineError> {
        let Some(file) = &self.config.push.model_config else {
            return Ok(None);
        };
        let path = resolve(&self.base, file);
        let invalid = |reason: String| PipelineError::InvalidOption {
            option: "push.model_config".into(),
            reason,
        };
        let served = mlrig_serve::ModelConfig::from_file(&path)
            .map_err(|e| invalid(format!("{e}; create it, or remove push.model_config")))?;
        let Some(entry) = served.models.iter().find(|m| m.name == self.config.name) else {
            return Err(invalid(format!(
                "{} has no model `{}`; add a [[models]] entry with name = \"{}\" and base_path = the push base path's `{}` directory",
                path.display(),
                self.config.name,
                self.config.name,
                self.config.name
            )));
        };
        let label = entry.labels.get(&self.config.push.label).copied();
        Ok(Some((path, label)))
    }

    /// Points `push.label` of `push.model_config` (when configured) at
    /// `version`, unless it already does.
    fn point_label_at(&self, version: u64) -> Result<(), PipelineError> {
        match self.served_label()? {
            Some((path, current)) if current != Some(version) => {
                mlrig_serve::set_model_config_label(
                    &path,
                    &self.config.name,
                    &self.config.push.label,
                    version,
                )?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes `push.alert_rules`, when configured, for the version in `version_dir`.
    fn write_alert_rules(&self, version_dir: &Path) -> Result<(), PipelineError> {
        let Some(file) = &self.config.push.alert_rules else {
            return Ok(());
        };
        let rules = crate::alert_rules(version_dir, &crate::AlertRulesParams::default())?;
        let path = resolve(&self.base, file);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| mlrig_core::Error::io(parent, e))?;
        }
        mlrig_core::write_atomic(&path, rules.to_yaml().as_bytes())?;
        Ok(())
    }

    /// The version serving now: the `push.label` version of the model config
    /// when one is configured and sets it, else the highest version in the
    /// model directory.
    fn serving_version(&self) -> Result<Option<u64>, PipelineError> {
        if let Some(file) = &self.config.push.model_config {
            let path = resolve(&self.base, file);
            if path.exists() {
                let config = mlrig_serve::ModelConfig::from_file(&path)?;
                let labelled = config
                    .models
                    .iter()
                    .find(|m| m.name == self.config.name)
                    .and_then(|m| m.labels.get(&self.config.push.label).copied());
                if labelled.is_some() {
                    return Ok(labelled);
                }
            }
        }
        let base = resolve(&self.base, &self.config.push.base_path);
        Ok(ModelBundle::versions(&base, &self.config.name)?
            .last()
            .copied())
    }

    /// The version a new push gets: above every version on disk and every
    /// version ever pushed (a rolled-back number is never reused).
    fn next_version(&self, history: &PushHistory) -> Result<u64, PipelineError> {
        let base = resolve(&self.base, &self.config.push.base_path);
        let on_disk = ModelBundle::versions(&base, &self.config.name)?
            .last()
            .copied()
            .unwrap_or(0);
        Ok(on_disk.max(history.highest_version()) + 1)
    }

    fn stage(&self, step: StepName) {
        if let Some(progress) = &self.progress {
            progress(step.as_str());
        }
    }

    /// A stage within a long step (`train: fitting model`).
    fn stage_detail(&self, step: StepName, stage: &str) {
        if let Some(progress) = &self.progress {
            progress(&format!("{step}: {stage}"));
        }
    }
}

/// A run in progress.
struct RunState<'a> {
    run_id: String,
    pipeline: &'a Pipeline,
    only: Option<StepName>,
    steps: Vec<StepRecord>,
    current: StepName,
}

/// Step settings that change what the ingest step produces.
#[derive(Serialize)]
struct IngestParams<'a> {
    target: &'a str,
    split: &'a mlrig_core::SplitRule,
    delimiter: &'a str,
    header: bool,
    missing: &'a Option<Vec<String>>,
    column_types: &'a std::collections::BTreeMap<String, crate::ColumnType>,
    infer_rows: usize,
    time_column: &'a Option<String>,
}

impl RunState<'_> {
    fn steps(&mut self, spans: &[PathBuf]) -> Result<RunOutcome, PipelineError> {
        let p = self.pipeline;
        let config = &p.config;
        if spans.is_empty() {
            return Err(PipelineError::Config {
                file: p.config_path.clone(),
                message: format!("data.files: no file matches {:?}", config.data.files),
            });
        }
        // ingest
        let span_fingerprints = spans
            .iter()
            .map(|s| {
                Ok((
                    s.display().to_string(),
                    Fingerprint::of_file(s)?.to_string(),
                ))
            })
            .collect::<Result<Vec<_>, PipelineError>>()?;
        let data = &config.data;
        let inputs = StepInputs::new()
            .with_json("spans", &span_fingerprints)?
            .with_json(
                "data",
                &IngestParams {
                    target: &data.target,
                    split: &data.split,
                    delimiter: &data.delimiter,
                    header: data.header,
                    missing: &data.missing,
                    column_types: &data.column_types,
                    infer_rows: data.infer_rows,
                    time_column: &data.time_column,
                },
            )?;
        let (ingest_key, ingest) = self.step(StepName::Ingest, inputs, |dir| {
            steps::ingest(config, spans, dir)
        })?;
        let ingest_dir = p.store.path("ingest", &ingest_key);
        if let Some(done) = self.after(StepName::Ingest, &ingest) {
            return Ok(done);
        }

        // statistics
        let inputs = StepInputs::new().with("ingest", &ingest_key);
        let (statistics_key, statistics) = self.step(StepName::Statistics, inputs, |dir| {
            steps::statistics(&ingest_dir, dir)
        })?;
        let statistics_dir = p.store.path("statistics", &statistics_key);
        if let Some(done) = self.after(StepName::Statistics, &statistics) {
            return Ok(done);
        }

        // validate, against the curated schema (written on the first run)
        self.current = StepName::Validate;
        let schema_path = resolve(&p.base, &config.schema.path);
        let created = steps::create_schema_if_missing(
            &schema_path,
            &mlrig_validate::SchemaInferenceParams::default()
                .with_infer_numeric_ranges(config.schema.infer_numeric_ranges),
            &ingest_dir,
        )?;
        let inputs = StepInputs::new()
            .with("ingest", &ingest_key)
            .with("schema", Fingerprint::of_file(&schema_path)?)
            .with_json("anomalies", &config.gates.anomalies)?;
        let (_, mut validate) = self.step(StepName::Validate, inputs, |dir| {
            steps::validate(config, &schema_path, &ingest_dir, dir)
        })?;
        if created {
            validate.notes.insert(
                0,
                format!(
                    "curated schema created at {} from the statistics of this data; review it, later runs validate against it",
                    schema_path.display()
                ),
            );
            if let Some(last) = self.steps.last_mut() {
                last.notes.clone_from(&validate.notes);
                last.outputs.push(schema_path.clone());
            }
        }
        if let Some(done) = self.after(StepName::Validate, &validate) {
            return Ok(done);
        }

        // features and train (from the serving version when warm-starting)
        self.current = StepName::Features;
        let history = PushHistory::read(&p.root)?;
        let serving = p.serving_version()?;
        let serving_push = serving.and_then(|s| {
            (history.pushes.iter().rev())
                .find(|push| push.version == s && !history.is_rolled_back(s))
        });
        let model_dir = p.model_dir();
        let warm = match (config.model.warm_start, serving) {
            (true, Some(version)) => match serving_push {
                // The serving version was trained on this very window: start
                // from where it started, so the candidate is the same one.
                Some(push) if push.ingest_key == ingest_key => push.warm_start_version,
                _ => Some(version),
            },
            _ => None,
        }
        .map(|version| (version, model_dir.join(version.to_string())))
        .filter(|(_, dir)| dir.is_dir());
        let warm_version = warm.as_ref().map(|(version, _)| *version);
        let warm = warm.map(|(_, dir)| dir);
        let warm_fingerprint = match &warm {
            Some(dir) => Fingerprint::of_file(&dir.join(crate::MODEL_FILE))?.to_string(),
            None => "none".into(),
        };
        let features_config = match &config.features.file {
            Some(file) => Fingerprint::of_file(&resolve(&p.base, file))
                .map_err(|e| PipelineError::InvalidOption {
                    option: "features.file".into(),
                    reason: e.to_string(),
                })?
                .to_string(),
            None => Fingerprint::of_json(&config.features.spec)?.to_string(),
        };
        // Without a spec, the inferred one depends on the model family only
        // through whether trees split raw category codes.
        let tree_encoding = config
            .model
            .spec
            .as_ref()
            .is_some_and(mlrig_train::ModelSpec::splits_categories);
        let inputs = StepInputs::new()
            .with("ingest", &ingest_key)
            .with("features", features_config)
            .with("target", &config.data.target)
            .with("tree_encoding", tree_encoding)
            .with("warm_start", &warm_fingerprint);
        let (features_key, features) = self.step(StepName::Features, inputs, |dir| {
            steps::features(config, &p.base, &ingest_dir, warm.as_deref(), dir)
        })?;
        let features_dir = p.store.path("features", &features_key);
        if let Some(done) = self.after(StepName::Features, &features) {
            return Ok(done);
        }
        let inputs = StepInputs::new()
            .with("ingest", &ingest_key)
            .with("features", &features_key)
            .with_json("model", &config.model)?
            .with("warm_start", &warm_fingerprint);
        let (train_key, train) = self.step(StepName::Train, inputs, |dir| {
            steps::train(
                config,
                &ingest_dir,
                &features_dir,
                warm.as_deref(),
                dir,
                |stage| {
                    p.stage_detail(StepName::Train, stage);
                },
            )
        })?;
        let train_dir = p.store.path("train", &train_key);
        if let Some(done) = self.after(StepName::Train, &train) {
            return Ok(done);
        }
        let candidate = train.summary["model_fingerprint"]
            .as_str()
            .unwrap_or_default()
            .to_string();

        // evaluate, against the serving version (or, when the serving
        // version is this very candidate, the one it replaced)
        self.current = StepName::Evaluate;
        // This candidate is what serves now (pushed by an earlier run).
        let pushed = serving_push.filter(|push| push.model_fingerprint == candidate);
        let baseline = match config.gates.baseline {
            crate::BaselinePolicy::None => None,
            _ => match (serving, pushed) {
                (Some(s), Some(push)) if push.version == s => push.previous,
                (serving, _) => serving,
            },
        }
        .map(|v| model_dir.join(v.to_string()))
        .filter(|dir| dir.is_dir());
        let baseline_fingerprint = match &baseline {
            Some(dir) => format!(
                "{}:{}",
                dir.display(),
                Fingerprint::of_file(&dir.join(crate::MODEL_FILE))?
            ),
            None => "none".into(),
        };
        let inputs = StepInputs::new()
            .with("ingest", &ingest_key)
            .with("train", &train_key)
            .with_json("blessing", &config.gates.blessing)?
            .with_json("slices", &config.data.slices)?
            .with_json("leakage", &config.gates.leakage)?
            .with_json("leakage_policy", &config.gates.leakage_policy)?
            .with("baseline", baseline_fingerprint);
        let (evaluate_key, evaluate) = self.step(StepName::Evaluate, inputs, |dir| {
            steps::evaluate(
                config,
                &ingest_dir,
                &features_dir,
                &train_dir,
                baseline.as_deref(),
                dir,
            )
        })?;
        let evaluate_dir = p.store.path("evaluate", &evaluate_key);
        if let Some(done) = self.after(StepName::Evaluate, &evaluate) {
            return Ok(done);
        }

        // infra_validate: the bundle as it will be pushed
        self.current = StepName::InfraValidate;
        let already = already_pushed(&history, &candidate, serving, &model_dir);
        let version = match already {
            Some(push) => push.version,
            None => p.next_version(&history)?,
        };
        let inputs = StepInputs::new()
            .with("ingest", &ingest_key)
            .with("statistics", &statistics_key)
            .with("schema", Fingerprint::of_file(&schema_path)?)
            .with("features", &features_key)
            .with("train", &train_key)
            .with("evaluate", &evaluate_key)
            .with("name", &config.name)
            .with("version", version);
        let newest_row_unix = ingest.summary["newest_row_unix"].as_i64();
        let (infra_key, infra) = self.step(StepName::InfraValidate, inputs, |dir| {
            let sources = BundleSources {
                spans,
                schema: &schema_path,
                statistics: &statistics_dir,
                features: &features_dir,
                train: &train_dir,
                evaluate: &evaluate_dir,
                newest_row_unix,
            };
            steps::infra_validate(&config.name, version, &sources, dir)
        })?;
        if let Some(done) = self.after(StepName::InfraValidate, &infra) {
            return Ok(done);
        }

        // push, one run at a time: what the history and the base path say
        // now, not when this run started
        self.current = StepName::Push;
        p.stage(StepName::Push);
        let started = Instant::now();
        let _lock = push_lock::PushLock::acquire(&p.root)?;
        let history = PushHistory::read(&p.root)?;
        let serving = p.serving_version()?;
        let already = already_pushed(&history, &candidate, serving, &model_dir);
        let version = already.map_or(version, |push| push.version);
        let target = model_dir.join(version.to_string());
        let mut notes = Vec::new();
        let (status, outcome, gate) = if let Some(push) = already {
            if Some(push.version) == serving || !push.label_set {
                // Serving, or pushed by a run that stopped before moving the label.
                p.point_label_at(push.version)?;
                if !push.label_set {
                    let mut history = history.clone();
                    history.mark_label_set(push.version);
                    history.write(&p.root)?;
                }
            } else {
                notes.push(format!(
                    "this candidate is version {}, but `{}` points at version {} (moved by hand?); left as it is — `mlrig rollback --to {}` serves it",
                    push.version,
                    config.push.label,
                    serving.map_or_else(|| "none".into(), |s| s.to_string()),
                    push.version
                ));
            }
            (
                StepStatus::Cached,
                RunOutcome::Unchanged {
                    version: push.version,
                },
                GateDecision::from_reasons(Vec::new()),
            )
        } else if let Some(rolled) = history.pushes.iter().find(|push| {
            push.model_fingerprint == candidate && history.is_rolled_back(push.version)
        }) {
            let reasons = vec![format!(
                "this candidate is version {}, which was rolled back (see {}); change the data or the config to train another",
                rolled.version,
                p.root.join(HISTORY_FILE).display()
            )];
            (
                StepStatus::Ran,
                RunOutcome::Blocked {
                    step: StepName::Push,
                    reasons: reasons.clone(),
                },
                GateDecision::from_reasons(reasons),
            )
        } else {
            if self.only.is_some_and(|only| only != StepName::Push) {
                return Ok(RunOutcome::StepDone {
                    step: StepName::InfraValidate,
                });
            }
            let bundle = p
                .store
                .path("infra_validate", &infra_key)
                .join(steps::BUNDLE_DIR)
                .join(&config.name)
                .join(version.to_string());
            let next = p.next_version(&history)?;
            if next != version {
                return Err(PipelineError::PipelineState {
                    path: model_dir.clone(),
                    reason: format!(
                        "another run pushed version {} while this one ran; run again to evaluate against it",
                        next - 1
                    ),
                });
            }
            // Refuse before the version lands, not after: a pushed version
            // is always in the history.
            p.check_model_config()?;
            let dir = steps::push(&bundle, &model_dir, version)?;
            let mut history = history.clone();
            history.pushes.push(PushRecord {
                version,
                pushed_at_unix: unix_now(),
                previous: serving.filter(|&s| s != version),
                run_id: self.run_id.clone(),
                model_fingerprint: candidate.clone(),
                ingest_key: ingest_key.clone(),
                span_fingerprints: span_fingerprints.iter().map(|(_, f)| f.clone()).collect(),
                warm_start_version: warm_version,
                label_set: false,
            });
            history.write(&p.root)?;
            p.point_label_at(version)?;
            history.mark_label_set(version);
            history.write(&p.root)?;
            p.write_alert_rules(&dir)?;
            (
                StepStatus::Ran,
                RunOutcome::Pushed { version, dir },
                GateDecision::from_reasons(Vec::new()),
            )
        };
        self.steps.push(StepRecord {
            step: StepName::Push,
            status,
            key: infra_key.clone(),
            inputs: [
                ("infra_validate".to_string(), infra_key.clone()),
                ("model".to_string(), candidate),
            ]
            .into(),
            outputs: std::iter::once(target)
                .chain(
                    config
                        .push
                        .alert_rules
                        .as_ref()
                        .map(|f| resolve(&p.base, f)),
                )
                .collect(),
            seconds: started.elapsed().as_secs_f64(),
            gate: Some(gate),
            notes,
            summary: serde_json::json!({ "version": version }),
        });
        if self.only == Some(StepName::Push) && !outcome.is_blocked() {
            return Ok(RunOutcome::StepDone {
                step: StepName::Push,
            });
        }
        Ok(outcome)
    }

    /// Runs `step` unless its artifact for `inputs` exists; records it.
    fn step(
        &mut self,
        step: StepName,
        inputs: StepInputs,
        produce: impl FnOnce(&Path) -> Result<StepOutcome, PipelineError>,
    ) -> Result<(String, StepMeta), PipelineError> {
        self.current = step;
        let p = self.pipeline;
        let name = step.as_str();
        let key = inputs.key(name)?;
        let started = Instant::now();
        let (status, meta) = match p.store.get(name, &key)? {
            Some(meta) => (StepStatus::Cached, meta),
            None => {
                if self.only.is_some_and(|only| only != step) {
                    return Err(PipelineError::PipelineState {
                        path: p.store.path(name, &key),
                        reason: format!(
                            "step `{name}` has not run on these inputs; run `mlrig run {} --step {name}` first",
                            p.config_path.display()
                        ),
                    });
                }
                p.stage(step);
                (
                    StepStatus::Ran,
                    p.store.put(name, &key, inputs.into_map(), produce)?,
                )
            }
        };
        self.steps.push(StepRecord {
            step,
            status,
            key: key.clone(),
            inputs: meta.inputs.clone(),
            outputs: vec![PathBuf::from("artifacts").join(name).join(&key)],
            seconds: started.elapsed().as_secs_f64(),
            gate: meta.gate.clone(),
            notes: meta.notes.clone(),
            summary: meta.summary.clone(),
        });
        Ok((key, meta))
    }

    /// Where the run stops after `step`: a gate that blocked, or the step
    /// `--step` asked for.
    fn after(&self, step: StepName, meta: &StepMeta) -> Option<RunOutcome> {
        if let Some(gate) = meta.gate.as_ref().filter(|g| !g.passed) {
            return Some(RunOutcome::Blocked {
                step,
                reasons: gate.reasons.clone(),
            });
        }
        (self.only == Some(step)).then_some(RunOutcome::StepDone { step })
    }
}

/// The earlier push of `candidate` that makes pushing it again wrong: the
/// version serving now; one whose run stopped before moving the label (the
/// label move is finished); or one above the serving version (its label was
/// moved back by hand: left so). An older version of the same model (a
/// config changed and changed back) is pushed anew, as the newest version.
fn already_pushed<'h>(
    history: &'h PushHistory,
    candidate: &str,
    serving: Option<u64>,
    model_dir: &Path,
) -> Option<&'h PushRecord> {
    let push = history.pushes.iter().rev().find(|push| {
        push.model_fingerprint == candidate
            && !history.is_rolled_back(push.version)
            && model_dir.join(push.version.to_string()).is_dir()
    })?;
    let wanted = Some(push.version) == serving
        || !push.label_set
        || serving.is_some_and(|s| push.version > s);
    wanted.then_some(push)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `YYYYMMDDTHHMMSSZ-<pid>-<nanoseconds>`: sorts by start time, unique per run.
fn run_id(started: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_seconds(started)
        .to_string()
        .replace(['-', ':'], "");
    let nanos = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{stamp}-{}-{nanos:09}", std::process::id())
}
