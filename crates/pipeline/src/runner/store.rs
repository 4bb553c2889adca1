//! [`ArtifactStore`]: each step's outputs in `<root>/artifacts/<step>/<key>/`,
//! where the key is the fingerprint of everything the outputs depend on.
//!
//! A step writes into a fresh `.tmp-*` directory beside its final place and
//! renames it into place when every file is written, so a directory named by
//! a key is always complete: a crash leaves only a `.tmp-*` directory, which
//! the next run of that step removes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlrig_core::Fingerprint;
use serde::{Deserialize, Serialize};

use super::record::GateDecision;
use crate::PipelineError;

/// The file in every artifact directory describing it.
pub(crate) const STEP_FILE: &str = "step.json";

/// What a step directory records about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepMeta {
    /// The step.
    pub(crate) step: String,
    /// The key (directory name).
    pub(crate) key: String,
    /// The named fingerprints the key was made of.
    pub(crate) inputs: BTreeMap<String, String>,
    /// The gate decision, for gating steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gate: Option<GateDecision>,
    /// What the step decided on the user's behalf or wants them to know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) notes: Vec<String>,
    /// Step-specific figures (rows, metrics, the version) for the run record.
    #[serde(default)]
    pub(crate) summary: serde_json::Value,
}

/// The inputs of a step: named fingerprints, hashed together into its key.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepInputs(BTreeMap<String, String>);

impl StepInputs {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds an input known by its fingerprint (a file, an upstream key).
    pub(crate) fn with(mut self, name: &str, fingerprint: impl std::fmt::Display) -> Self {
        self.0.insert(name.to_string(), fingerprint.to_string());
        self
    }

    /// Adds a parameter, fingerprinted by its JSON form.
    pub(crate) fn with_json<T: Serialize + ?Sized>(
        self,
        name: &str,
        value: &T,
    ) -> Result<Self, PipelineError> {
        let fingerprint = Fingerprint::of_json(value)?;
        Ok(self.with(name, fingerprint))
    }

    /// The key: 16 hex digits of the fingerprint of the step name, the
    /// format version of the store and every input.
    pub(crate) fn key(&self, step: &str) -> Result<String, PipelineError> {
        let fingerprint = Fingerprint::of_json(&(step, STORE_FORMAT_VERSION, &self.0))?;
        let hex = fingerprint.as_str().trim_start_matches("sha256:");
        Ok(hex.chars().take(16).collect())
    }

    pub(crate) fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }
}

/// Bumped when a step's outputs change meaning, so old artifacts are not reused.
const STORE_FORMAT_VERSION: u32 = 1;

/// The artifact directories under a pipeline root.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactStore {
    dir: PathBuf,
}

impl ArtifactStore {
    pub(crate) fn new(root: &Path) -> Self {
        ArtifactStore {
            dir: root.join("artifacts"),
        }
    }

    /// The directory of `step`'s artifact with `key`.
    pub(crate) fn path(&self, step: &str, key: &str) -> PathBuf {
        self.dir.join(step).join(key)
    }

    /// The metadata of a complete artifact, or `None` when there is none.
    pub(crate) fn get(&self, step: &str, key: &str) -> Result<Option<StepMeta>, PipelineError> {
        let path = self.path(step, key).join(STEP_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| PipelineError::PipelineState {
                        path: path.clone(),
                        reason: format!(
                            "not a step record ({e}); delete {} to recompute it",
                            self.path(step, key).display()
                        ),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PipelineError::PipelineState {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Runs `produce` in a fresh temporary directory and renames it to the
    /// artifact's place once `produce` and the step record are written.
    /// Leftovers of crashed attempts of this step are removed first.
    pub(crate) fn put(
        &self,
        step: &str,
        key: &str,
        inputs: BTreeMap<String, String>,
        produce: impl FnOnce(&Path) -> Result<StepOutcome, PipelineError>,
    ) -> Result<StepMeta, PipelineError> {
        let step_dir = self.dir.join(step);
        std::fs::create_dir_all(&step_dir).map_err(|e| mlrig_core::Error::io(&step_dir, e))?;
        mlrig_core::remove_abandoned_temps(&step_dir, ".tmp-");
        let tmp = tempfile::Builder::new()
            .prefix(&mlrig_core::owned_temp_prefix(".tmp-"))
            .tempdir_in(&step_dir)
            .map_err(|e| mlrig_core::Error::io(&step_dir, e))?;
        let outcome = produce(tmp.path())?;
        let meta = StepMeta {
            step: step.to_string(),
            key: key.to_string(),
            inputs,
            gate: outcome.gate,
            notes: outcome.notes,
            summary: outcome.summary,
        };
        let bytes = serde_json::to_vec_pretty(&meta).map_err(|source| PipelineError::Json {
            context: STEP_FILE.into(),
            source,
        })?;
        mlrig_core::write_atomic(&tmp.path().join(STEP_FILE), &bytes)?;
        let final_dir = self.path(step, key);
        let tmp = tmp.keep();
        if let Err(e) = std::fs::rename(&tmp, &final_dir) {
            let _ = std::fs::remove_dir_all(&tmp);
            // A concurrent run produced the same artifact first: same
            // inputs, same outputs, so its copy serves.
            return match self.get(step, key)? {
                Some(theirs) => Ok(theirs),
                None => Err(mlrig_core::Error::io(&final_dir, e).into()),
            };
        }
        Ok(meta)
    }
}

/// What a step's producer reports besides its files.
#[derive(Debug, Default)]
pub(crate) struct StepOutcome {
    pub(crate) gate: Option<GateDecision>,
    pub(crate) notes: Vec<String>,
    pub(crate) summary: serde_json::Value,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_depend_on_every_input_and_the_step() {
        let a = StepInputs::new().with("data", "sha256:aa");
        let b = StepInputs::new().with("data", "sha256:ab");
        assert_ne!(a.key("ingest").unwrap(), b.key("ingest").unwrap());
        assert_ne!(a.key("ingest").unwrap(), a.key("train").unwrap());
        assert_eq!(a.key("ingest").unwrap().len(), 16);
        let c = a.clone().with_json("split", &[4, 5]).unwrap();
        assert_ne!(a.key("ingest").unwrap(), c.key("ingest").unwrap());
    }

    #[test]
    fn a_concurrent_producer_of_the_same_artifact_is_not_an_error() {
        let root = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(root.path());
        let outer = store
            .put("ingest", "k", BTreeMap::new(), |_| {
                // Another run finishes the same step while this one works.
                store
                    .put("ingest", "k", BTreeMap::new(), |dir| {
                        std::fs::write(dir.join("data"), b"first").unwrap();
                        Ok(StepOutcome::default())
                    })
                    .unwrap();
                Ok(StepOutcome {
                    notes: vec!["second".into()],
                    ..StepOutcome::default()
                })
            })
            .unwrap();
        assert!(
            outer.notes.is_empty(),
            "the first artifact is kept: {outer:?}"
        );
        assert_eq!(
            std::fs::read(store.path("ingest", "k").join("data")).unwrap(),
            b"first"
        );
        let leftovers = std::fs::read_dir(root.path().join("artifacts/ingest"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "the losing temporary directory is removed");
    }

    #[test]
    fn leftovers_of_gone_processes_are_removed_and_live_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let step_dir = root.path().join("artifacts/train");
        let live = step_dir.join(format!("{}abc", mlrig_core::owned_temp_prefix(".tmp-")));
        // Far above any pid_max: no such process.
        let host = mlrig_core::owned_temp_prefix("");
        let host = host.split('-').next().unwrap();
        let gone = step_dir.join(format!(".tmp-{host}-4294967295-abcdef"));
        // Another host's: its processes cannot be seen from here.
        let elsewhere = step_dir.join(".tmp-otherhost-4294967295-abcdef");
        for dir in [&live, &gone, &elsewhere] {
            std::fs::create_dir_all(dir).unwrap();
        }
        mlrig_core::remove_abandoned_temps(&step_dir, ".tmp-");
        assert!(live.is_dir());
        assert!(elsewhere.is_dir());
        assert_eq!(!gone.exists(), cfg!(target_os = "linux"));
    }

    #[test]
    fn a_failed_producer_leaves_no_artifact() {
        let root = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(root.path());
        let err = store.put("train", "k1", BTreeMap::new(), |dir| {
            std::fs::write(dir.join("model.json"), b"half").unwrap();
            Err(PipelineError::InvalidOption {
                option: "x".into(),
                reason: "crash".into(),
            })
        });
        assert!(err.is_err());
        assert!(store.get("train", "k1").unwrap().is_none());
        assert!(!store.path("train", "k1").exists());

        let meta = store
            .put("train", "k1", BTreeMap::new(), |dir| {
                std::fs::write(dir.join("model.json"), b"whole").unwrap();
                Ok(StepOutcome::default())
            })
            .unwrap();
        assert_eq!(store.get("train", "k1").unwrap(), Some(meta));
        assert_eq!(
            std::fs::read(store.path("train", "k1").join("model.json")).unwrap(),
            b"whole"
        );
    }
}
