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
/// use mlrig_pipeline::{PushHistory, PushRecord};
/// let mut history = PushHistory::default();
/// history.pushes.push(PushRecord { version: 1, pushed_at_unix: 100, previous: None, run_id: "r1".into(), model_fingerprint: "ab".into() });
/// assert_eq!(history.last_push().map(|p| p.version), Some(1));
/// assert_eq!(history.highest_version(), 1);
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
}

/// One rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    /// Whether `version` was rolled back.
    pub fn is_rolled_back(&self, version: u64) -> bool {
        self.rollbacks.iter().any(|r| r.version == version)
    }
}
