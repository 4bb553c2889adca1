//! [`PushHistory`]: what the pipeline pushed and rolled back, kept in
//! `<root>/history.json` so that a restarted pipeline (or `--watch` after a
//! crash) knows which version is within its rollback grace period.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// The file under the pipeline root.
pub const HISTORY_FILE: &str = "history.json";

/// Every push and rollback of a pipeline, oldest first.
///
/// ```
/// use mlrig_pipeline::PushHistory;
/// let history: PushHistory = serde_json::from_str(r#"{"pushes": [
///     {"version": 1, "pushed_at_unix": 100, "previous": null, "run_id": "r1", "model_fingerprint": "sha256:ab"},
///     {"version": 2, "pushed_at_unix": 200, "previous": 1, "run_id": "r2", "model_fingerprint": "sha256:cd"}]}"#)?;
/// assert_eq!(history.last_push().map(|p| p.version), Some(2));
/// assert_eq!(history.highest_version(), 2);
/// assert!(!history.is_rolled_back(2));
///
/// let dir = tempfile::tempdir()?;
/// assert_eq!(PushHistory::read(dir.path())?, PushHistory::default());
/// history.write(dir.path())?;
/// assert_eq!(PushHistory::read(dir.path())?, history);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PushHistory {
    /// Versions pushed, oldest first.
    #[serde(default)]
    pub pushes: Vec<PushRecord>,
    /// Versions rolled back, oldest first.
    #[serde(default)]
    pub rollbacks: Vec<RollbackRecord>,
}

/// One push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PushRecord {
    /// The version pushed.
    pub version: u64,
    /// When (seconds since the Unix epoch).
    pub pushed_at_unix: i64,
    /// The version serving before it (its rollback target), if any.
    pub previous: Option<u64>,
    /// The run that pushed it.
    pub run_id: String,
    /// The fingerprint of its `model.json`.
    pub model_fingerprint: String,
    /// The key of the ingest step it was trained on (its window of spans
    /// and read options).
    #[serde(default)]
    pub ingest_key: String,
    /// The content fingerprints of the spans it was trained on (the
    /// post-push check waits for a span that is not among them).
    #[serde(default)]
    pub span_fingerprints: Vec<String>,
    /// The version it continued training from (`model.warm_start`).
    #[serde(default)]
    pub warm_start_version: Option<u64>,
    /// Whether `push.label` was moved to it (a run that stopped in between
    /// leaves `false`; the next run finishes the move).
    #[serde(default = "label_set_default")]
    pub label_set: bool,
}

/// Records written before the flag existed had their label moved.
fn label_set_default() -> bool {
    true
}

/// One rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct RollbackRecord {
    /// The version taken out of service.
    pub version: u64,
    /// The version serving again.
    pub to: u64,
    /// When (seconds since the Unix epoch).
    pub at_unix: i64,
    /// Why: one line per failed check.
    pub reasons: Vec<String>,
    /// Where the rolled-back version directory now lives (out of the base path).
    pub moved_to: std::path::PathBuf,
}

impl PushHistory {
    /// Reads `<root>/history.json`; an absent file is an empty history.
    ///
    /// # Errors
    /// [`PipelineError::PipelineState`] for an unreadable or invalid file.
    pub fn read(root: &Path) -> Result<Self, PipelineError> {
        let path = root.join(HISTORY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| PipelineError::PipelineState {
                path,
                reason: format!(
                    "not a push history ({e}); restore it or delete it to start a new history"
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(PipelineError::PipelineState {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Writes `<root>/history.json` atomically.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, root: &Path) -> Result<(), PipelineError> {
        let text = serde_json::to_string_pretty(self).map_err(|source| PipelineError::Json {
            context: "push history".into(),
            source,
        })?;
        std::fs::create_dir_all(root).map_err(|e| mlrig_core::Error::io(root, e))?;
        mlrig_core::write_atomic(&root.join(HISTORY_FILE), text.as_bytes())?;
        Ok(())
    }

    /// The newest push.
    pub fn last_push(&self) -> Option<&PushRecord> {
        self.pushes.last()
    }

    /// The highest version ever pushed (0 if none), so a rolled-back
    /// version's number is never reused.
    pub fn highest_version(&self) -> u64 {
        self.pushes.iter().map(|p| p.version).max().unwrap_or(0)
    }

    /// Marks the push of `version` as having its label moved.
    pub fn mark_label_set(&mut self, version: u64) {
        for push in self.pushes.iter_mut().filter(|p| p.version == version) {
            push.label_set = true;
        }
    }

    /// Whether `version` was rolled back.
    pub fn is_rolled_back(&self, version: u64) -> bool {
        self.rollbacks.iter().any(|r| r.version == version)
    }
}
