//! [`RunRecord`]: the lineage of one pipeline run — every step with its
//! inputs, outputs, fingerprints, duration and gate decision — written to
//! `<root>/runs/<run_id>.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::history::RollbackRecord;
use crate::PipelineError;

/// The steps of a pipeline, in the order they run.
///
/// ```
/// use mlrig_pipeline::StepName;
/// assert_eq!("infra_validate".parse::<StepName>()?, StepName::InfraValidate);
/// assert_eq!(StepName::ALL.first(), Some(&StepName::Ingest));
/// assert_eq!(StepName::Push.to_string(), "push");
/// assert!("trian".parse::<StepName>().is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepName {
    /// Read the spans, quarantine bad rows, split into training and evaluation rows.
    Ingest,
    /// Statistics of both splits (tensorflow-metadata).
    Statistics,
    /// Check the data against the curated schema (a gate).
    Validate,
    /// Fit the feature pipeline on the training rows.
    Features,
    /// Fit the model.
    Train,
    /// Score the candidate, compare it with the serving version (a gate).
    Evaluate,
    /// Write the bundle and load and warm it up through the serving path (a gate).
    InfraValidate,
    /// Rename the bundle into the model base path.
    Push,
}

impl StepName {
    /// Every step, in DAG order.
    pub const ALL: [StepName; 8] = [
        StepName::Ingest,
        StepName::Statistics,
        StepName::Validate,
        StepName::Features,
        StepName::Train,
        StepName::Evaluate,
        StepName::InfraValidate,
        StepName::Push,
    ];

    /// The snake_case name (`infra_validate`).
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Ingest => "ingest",
            StepName::Statistics => "statistics",
            StepName::Validate => "validate",
            StepName::Features => "features",
            StepName::Train => "train",
            StepName::Evaluate => "evaluate",
            StepName::InfraValidate => "infra_validate",
            StepName::Push => "push",
        }
    }
}

impl std::fmt::Display for StepName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for StepName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StepName::ALL
            .into_iter()
            .find(|step| step.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown step {s:?}; expected one of {}",
                    StepName::ALL.map(StepName::as_str).join(", ")
                )
            })
    }
}

/// What happened to a step in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepStatus {
    /// Computed in this run.
    Ran,
    /// Its artifact for these inputs already existed.
    Cached,
}

/// A gate's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct GateDecision {
    /// Whether the run may go on.
    pub passed: bool,
    /// Why not (one line each); empty when passed.
    pub reasons: Vec<String>,
}

impl GateDecision {
    /// A decision from its reasons: passed when there are none.
    ///
    /// ```
    /// use mlrig_pipeline::GateDecision;
    /// assert!(GateDecision::from_reasons(vec![]).passed);
    /// assert!(!GateDecision::from_reasons(vec!["age: missing".into()]).passed);
    /// ```
    pub fn from_reasons(reasons: Vec<String>) -> Self {
        GateDecision {
            passed: reasons.is_empty(),
            reasons,
        }
    }
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct StepRecord {
    /// The step.
    pub step: StepName,
    /// Ran or cached.
    pub status: StepStatus,
    /// The fingerprint of its inputs (its artifact directory's name).
    pub key: String,
    /// The fingerprints its key was made of, by name.
    pub inputs: BTreeMap<String, String>,
    /// Its artifact directory (relative to the pipeline root) and, for
    /// steps that write outside it (the schema, the push), those paths.
    pub outputs: Vec<PathBuf>,
    /// Wall-clock seconds in this run (near 0 when cached).
    pub seconds: f64,
    /// The gate decision, for validate, evaluate, infra_validate and push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateDecision>,
    /// What the step decided on the user's behalf.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Its figures: rows, metrics, the version pushed.
    #[serde(default)]
    pub summary: serde_json::Value,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunOutcome {
    /// A new version was pushed.
    Pushed {
        /// The version.
        version: u64,
        /// Its directory.
        dir: PathBuf,
    },
    /// The candidate is the version already pushed: nothing to do.
    Unchanged {
        /// That version.
        version: u64,
    },
    /// A gate stopped the run.
    Blocked {
        /// The gating step.
        step: StepName,
        /// Why.
        reasons: Vec<String>,
    },
    /// The last pushed version was rolled back; the run stopped there.
    RolledBack {
        /// The version taken out of service.
        version: u64,
        /// The version serving again.
        to: u64,
    },
    /// `--step` ran (or found cached) its step.
    StepDone {
        /// The step.
        step: StepName,
    },
    /// A step failed with an error.
    Failed {
        /// The step.
        step: StepName,
        /// The error.
        error: String,
    },
}

impl RunOutcome {
    /// Whether a gate (or a rollback) stopped the run: `mlrig run` exits 1.
    ///
    /// ```
    /// use mlrig_pipeline::{RunOutcome, StepName};
    /// assert!(RunOutcome::Blocked { step: StepName::Validate, reasons: vec![] }.is_blocked());
    /// assert!(!RunOutcome::Unchanged { version: 1 }.is_blocked());
    /// ```
    pub fn is_blocked(&self) -> bool {
        matches!(
            self,
            RunOutcome::Blocked { .. } | RunOutcome::RolledBack { .. }
        )
    }
}

/// The record of one run: `<root>/runs/<run_id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct RunRecord {
    /// `YYYYMMDDTHHMMSSZ-<pid>-<nanoseconds>`: sorts by start time, unique per run.
    pub run_id: String,
    /// The config file.
    pub config: PathBuf,
    /// The fingerprint of the config as it ran (its values, whatever the
    /// file's comments and layout).
    pub config_fingerprint: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 end time.
    pub finished_at: String,
    /// The data files (spans) of this run's window.
    pub spans: Vec<PathBuf>,
    /// The steps, in order, as far as the run went.
    pub steps: Vec<StepRecord>,
    /// What the run could not check (e.g. the rollback check's unreachable
    /// monitoring server) and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A rollback done at the start of this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackRecord>,
    /// How it ended.
    pub outcome: RunOutcome,
}

impl RunRecord {
    /// The step's record in this run.
    pub fn step(&self, step: StepName) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.step == step)
    }

    /// Writes the record to `<root>/runs/<run_id>.json`, atomically; returns the path.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, root: &Path) -> Result<PathBuf, PipelineError> {
        let runs = root.join("runs");
        std::fs::create_dir_all(&runs).map_err(|e| mlrig_core::Error::io(&runs, e))?;
        let path = runs.join(format!("{}.json", self.run_id));
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|source| PipelineError::Json {
            context: "run record".into(),
            source,
        })?;
        bytes.push(b'\n');
        mlrig_core::write_atomic(&path, &bytes)?;
        Ok(path)
    }
}
