//! The model bundle directory: [`ModelBundle`], [`BundleWriter`], [`BundleManifest`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::artifact::{Artifact, Fingerprint, Stored};
use crate::atomic_file::write_atomic;
use crate::temp_owner::{owned_temp_prefix, remove_abandoned_temps};
use crate::{Error, Result};

/// The manifest format version this build writes and reads.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;
/// The prefix of a bundle's staging directory beside the versions
/// (`.staging-<host>-<pid>-<random>`); [`BundleWriter::new`] removes those of
/// writers that are gone.
///
/// ```
/// assert_eq!(mlrig_core::BUNDLE_STAGING_PREFIX, ".staging-");
/// ```
pub const BUNDLE_STAGING_PREFIX: &str = ".staging-";
/// The manifest's file name inside a bundle.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The statistics of the model's predictions on the evaluation rows
/// (tensorflow-metadata `DatasetFeatureStatisticsList` JSON, computed like
/// `statistics.json`): the reference for prediction drift at serving. Its
/// features are [`PREDICTED_CLASS_FEATURE`] (classifiers only) and
/// [`SCORE_FEATURE`]. Bundles written before it existed do not have it.
///
/// ```
/// assert_eq!(mlrig_core::PREDICTION_STATISTICS_FILE, "prediction_statistics.json");
/// ```
pub const PREDICTION_STATISTICS_FILE: &str = "prediction_statistics.json";
/// The feature of [`PREDICTION_STATISTICS_FILE`] holding a classifier's
/// predicted label (a string: one of the model's classes, as
/// [`ServedPredictions::class_counts`](crate::ServedPredictions::class_counts) names them).
///
/// ```
/// assert_eq!(mlrig_core::PREDICTED_CLASS_FEATURE, "predicted_class");
/// ```
pub const PREDICTED_CLASS_FEATURE: &str = "predicted_class";
/// The feature of [`PREDICTION_STATISTICS_FILE`] holding each row's score:
/// the predicted class's probability (classifiers) or the predicted value
/// (regression), as [`ServedPredictions::scores`](crate::ServedPredictions::scores) carries it.
///
/// ```
/// assert_eq!(mlrig_core::SCORE_FEATURE, "score");
/// ```
pub const SCORE_FEATURE: &str = "score";

/// One file of a bundle as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BundleFile {
    /// What the file holds (an artifact kind or a format name).
    pub kind: String,
    /// SHA-256 of the file's bytes.
    pub fingerprint: Fingerprint,
}

/// `manifest.json`: what a bundle contains and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BundleManifest {
    /// Manifest format version ([`BUNDLE_FORMAT_VERSION`]).
    pub format_version: u32,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: u64,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// The crate and version that wrote the bundle.
    pub created_by: String,
    /// Every file of the bundle but the manifest, by file name.
    pub files: BTreeMap<String, BundleFile>,
    /// Fingerprints of the data the model was trained on.
    #[serde(default)]
    pub lineage: Vec<Fingerprint>,
    /// The newest value of the training data's time column (RFC 3339 UTC,
    /// whole seconds), the origin of the data age a server reports; absent
    /// when training named no time column (and in bundles written before
    /// this field existed). See [`ModelBundle::data_newest_row_unix`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_newest_row: Option<String>,
}

/// 9999-12-31T23:59:59Z, the last second RFC 3339 (a four-digit year) can write.
const MAX_RFC3339_UNIX: u64 = 253_402_300_799;

/// Builds a bundle in a staging directory; nothing is visible until [`commit`](Self::commit).
///
/// ```
/// use mlrig_core::{Artifact, BundleWriter, ModelBundle};
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Model { w: Vec<f64> }
/// impl Artifact for Model { const KIND: &'static str = "example.model"; const FORMAT_VERSION: u32 = 1; }
///
/// let base = tempfile::tempdir().unwrap();
/// let mut writer = BundleWriter::new(base.path(), "demo", None).unwrap();
/// writer.add_artifact("model.json", &Model { w: vec![1.0] }, &[]).unwrap();
/// let bundle = writer.commit().unwrap();
/// assert_eq!(bundle.manifest().version, 1);
///
/// let reopened = ModelBundle::open(&base.path().join("demo/1")).unwrap();
/// assert_eq!(reopened.load::<Model>("model.json").unwrap().value, Model { w: vec![1.0] });
/// ```
#[derive(Debug)]
pub struct BundleWriter {
    staging: tempfile::TempDir,
    final_dir: PathBuf,
    manifest: BundleManifest,
}

impl BundleWriter {
    /// Starts `<base>/<name>/<version>`; with `version = None`, one more than
    /// the highest existing version (1 for a new model). Fails if the version exists.
    /// Staging directories left by killed writers of this model are removed first.
    pub fn new(base: &Path, name: &str, version: Option<u64>) -> Result<Self> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(Error::InvalidParameter {
                name: "model name".into(),
                reason: format!(
                    "`{name}` must be non-empty, not start with '.', and contain no path separator"
                ),
            });
        }
        let model_dir = base.join(name);
        std::fs::create_dir_all(&model_dir).map_err(|e| Error::io(&model_dir, e))?;
        let version = match version {
            Some(0) => {
                return Err(Error::InvalidParameter {
                    name: "version".into(),
                    reason: "must be a positive integer".into(),
                });
            }
            Some(v) => v,
            None => list_versions(&model_dir)?.last().map_or(1, |v| v + 1),
        };
        let final_dir = model_dir.join(version.to_string());
        if final_dir.exists() {
            return Err(Error::InvalidBundle {
                path: final_dir,
                reason: "this version already exists; choose another version or remove it".into(),
            });
        }
        remove_abandoned_temps(&model_dir, BUNDLE_STAGING_PREFIX);
        let staging = tempfile::Builder::new()
            .prefix(&owned_temp_prefix(BUNDLE_STAGING_PREFIX))
            .tempdir_in(&model_dir)
            .map_err(|e| Error::io(&model_dir, e))?;
        let now = SystemTime::now();
        Ok(Self {
            staging,
            final_dir,
            manifest: BundleManifest {
                format_version: BUNDLE_FORMAT_VERSION,
                name: name.to_string(),
                version,
                created_at: humantime::format_rfc3339_seconds(now).to_string(),
                created_by: concat!("mlrig-core ", env!("CARGO_PKG_VERSION")).to_string(),
                files: BTreeMap::new(),
                lineage: Vec::new(),
                data_newest_row: None,
            },
        })
    }

    /// Writes an [`Artifact`] file and records it.
    pub fn add_artifact<T: Artifact>(
        &mut self,
        file_name: &str,
        value: &T,
        inputs: &[Fingerprint],
    ) -> Result<Fingerprint> {
        let (_, bytes) = value.to_artifact_bytes(inputs)?;
        self.add_bytes(file_name, T::KIND, &bytes)
    }

    /// Writes a file in a foreign format (e.g. tensorflow-metadata JSON) and records it.
    pub fn add_bytes(&mut self, file_name: &str, kind: &str, bytes: &[u8]) -> Result<Fingerprint> {
        if file_name == MANIFEST_FILE || file_name.contains(['/', '\\']) || file_name.is_empty() {
            return Err(Error::InvalidParameter {
                name: "file name".into(),
                reason: format!("`{file_name}` is reserved or not a plain file name"),
            });
        }
        self.write_staged(file_name, bytes)?;
        let fingerprint = Fingerprint::of_bytes(bytes);
        self.manifest.files.insert(
            file_name.to_string(),
            BundleFile {
                kind: kind.to_string(),
                fingerprint: fingerprint.clone(),
            },
        );
        Ok(fingerprint)
    }

    /// Writes `file_name` into the staging directory; an error names the
    /// file's place in the bundle (`<base>/<name>/<version>/<file>`), not the
    /// staging directory, which is deleted when the writer is dropped.
    fn write_staged(&self, file_name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.staging.path().join(file_name), bytes).map_err(|e| match e {
            Error::Io { source, .. } => Error::io(self.final_dir.join(file_name), source),
            other => other,
        })
    }

    /// Records the fingerprint of training data (lineage).
    pub fn add_lineage(&mut self, input: Fingerprint) {
        self.manifest.lineage.push(input);
    }

    /// Records the newest row of the training data, as seconds since the
    /// Unix epoch (the manifest's `data_newest_row`, written as RFC 3339
    /// UTC). Fails for a time before 1970 or after 9999.
    ///
    /// ```
    /// let base = tempfile::tempdir().unwrap();
    /// let mut writer = mlrig_core::BundleWriter::new(base.path(), "m", None).unwrap();
    /// writer.set_data_newest_row(1_700_000_000).unwrap();
    /// assert!(writer.set_data_newest_row(-1).is_err());
    /// let bundle = writer.commit().unwrap();
    /// assert_eq!(bundle.manifest().data_newest_row.as_deref(), Some("2023-11-14T22:13:20Z"));
    /// assert_eq!(bundle.data_newest_row_unix().unwrap(), Some(1_700_000_000));
    /// ```
    pub fn set_data_newest_row(&mut self, unix_seconds: i64) -> Result<()> {
        let text = u64::try_from(unix_seconds)
            .ok()
            .filter(|&s| s <= MAX_RFC3339_UNIX)
            .map(|s| {
                humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(s)).to_string()
            })
            .ok_or_else(|| Error::InvalidParameter {
                name: "data_newest_row".into(),
                reason: format!(
                    "{unix_seconds} s since the Unix epoch is outside 1970-01-01..9999-12-31"
                ),
            })?;
        self.manifest.data_newest_row = Some(text);
        Ok(())
    }

    /// Writes the manifest and moves the bundle into place.
    pub fn commit(self) -> Result<ModelBundle> {
        let mut bytes =
            serde_json::to_vec_pretty(&self.manifest).map_err(|source| Error::Json {
                context: MANIFEST_FILE.into(),
                source,
            })?;
        bytes.push(b'\n');
        self.write_staged(MANIFEST_FILE, &bytes)?;
        // The staging directory is private (0700); the bundle is an ordinary, readable directory.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(self.staging.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io(self.staging.path(), e))?;
        }
        // Renamed before `keep`: if the rename fails, dropping the staging
        // directory deletes it.
        std::fs::rename(self.staging.path(), &self.final_dir)
            .map_err(|e| Error::io(&self.final_dir, e))?;
        let _moved = self.staging.keep();
        Ok(ModelBundle {
            dir: self.final_dir,
            manifest: self.manifest,
        })
    }
}

/// A bundle on disk whose files all matched the manifest when it was opened.
///
/// [`ModelBundle`]: the directory a trained model travels as.
///
/// ```text
/// <base>/<name>/<version>/     version = positive integer, as TF Serving's model base path
///   manifest.json              format_version, created_at, fingerprint of every file, lineage
///   schema.json                the training schema (tensorflow-metadata JSON)
///   statistics.json            training statistics
///   features.json              the fitted feature pipeline (an Artifact)
///   model.json                 the fitted model (an Artifact)
///   evaluation.json            metrics and the blessing decision (an Artifact)
///   warmup.jsonl               (mlrig-pipeline) a few evaluation rows, a server's warm-up requests
///   prediction_statistics.json (mlrig-pipeline) statistics of the model's predictions on the
///                              evaluation rows: `predicted_class` (classifiers) and `score`;
///                              the reference for prediction drift (absent in older bundles)
/// ```
///
/// The manifest's optional `data_newest_row` is the newest value of the
/// training data's time column, when training named one (the data age a
/// server reports is measured from it).
///
/// [`BundleWriter`] fills a hidden staging directory and renames it into place
/// on [`BundleWriter::commit`], so a server polling the base path never sees
/// half a bundle. [`ModelBundle::open`] re-hashes every file against the
/// manifest before anything is loaded.
#[derive(Debug, Clone)]
pub struct ModelBundle {
    dir: PathBuf,
    manifest: BundleManifest,
}

impl ModelBundle {
    /// Opens a bundle directory, checking the manifest version and every file's fingerprint.
    pub fn open(dir: &Path) -> Result<Self> {
        let manifest_path = dir.join(MANIFEST_FILE);
        if !manifest_path.is_file() {
            return Err(Error::InvalidBundle {
                path: dir.to_path_buf(),
                reason: format!(
                    "no {MANIFEST_FILE}; pass a version directory such as <base>/<name>/1 (see `mlrig train --out`)"
                ),
            });
        }
        let bytes = std::fs::read(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
        let manifest = parse_manifest(&bytes, &manifest_path)?;
        for (file_name, entry) in &manifest.files {
            let path = dir.join(file_name);
            let content = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let found = Fingerprint::of_bytes(&content);
            if found != entry.fingerprint {
                return Err(Error::FingerprintMismatch {
                    path,
                    expected: entry.fingerprint.to_string(),
                    found: found.to_string(),
                });
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Opens the highest version under `<base>/<name>`, as TF Serving's default
    /// version policy does; `None` when there is no version yet.
    ///
    /// ```
    /// let base = tempfile::tempdir().unwrap();
    /// assert!(mlrig_core::ModelBundle::open_latest(base.path(), "m").unwrap().is_none());
    /// ```
    pub fn open_latest(base: &Path, name: &str) -> Result<Option<Self>> {
        let model_dir = base.join(name);
        if !model_dir.is_dir() {
            return Ok(None);
        }
        match list_versions(&model_dir)?.last() {
            Some(v) => Ok(Some(Self::open(&model_dir.join(v.to_string()))?)),
            None => Ok(None),
        }
    }

    /// The versions under `<base>/<name>`, ascending (directories whose names
    /// are positive integers); empty when the model directory does not exist.
    ///
    /// ```
    /// let base = tempfile::tempdir().unwrap();
    /// std::fs::create_dir_all(base.path().join("m/3")).unwrap();
    /// std::fs::create_dir_all(base.path().join("m/.staging-x")).unwrap();
    /// assert_eq!(mlrig_core::ModelBundle::versions(base.path(), "m").unwrap(), vec![3]);
    /// ```
    pub fn versions(base: &Path, name: &str) -> Result<Vec<u64>> {
        let model_dir = base.join(name);
        if !model_dir.is_dir() {
            return Ok(Vec::new());
        }
        list_versions(&model_dir)
    }

    /// The bundle directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &BundleManifest {
        &self.manifest
    }

    /// Creation time as seconds since the Unix epoch.
    pub fn created_at_unix(&self) -> Result<u64> {
        let t = humantime::parse_rfc3339(&self.manifest.created_at).map_err(|e| {
            Error::InvalidBundle {
                path: self.dir.join(MANIFEST_FILE),
                reason: format!("created_at `{}`: {e}", self.manifest.created_at),
            }
        })?;
        Ok(t.duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs())
    }

    /// The manifest's `data_newest_row` (the newest row of the training
    /// data) as seconds since the Unix epoch; `None` when the bundle does
    /// not record it.
    ///
    /// ```
    /// let base = tempfile::tempdir().unwrap();
    /// let bundle = mlrig_core::BundleWriter::new(base.path(), "m", None).unwrap().commit().unwrap();
    /// assert_eq!(bundle.data_newest_row_unix().unwrap(), None);
    /// ```
    pub fn data_newest_row_unix(&self) -> Result<Option<i64>> {
        let Some(text) = &self.manifest.data_newest_row else {
            return Ok(None);
        };
        let t = humantime::parse_rfc3339(text).map_err(|e| Error::InvalidBundle {
            path: self.dir.join(MANIFEST_FILE),
            reason: format!("data_newest_row `{text}`: {e}"),
        })?;
        let secs = t
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        Ok(Some(i64::try_from(secs).unwrap_or(i64::MAX)))
    }

    /// The path of a file listed in the manifest.
    pub fn file_path(&self, file_name: &str) -> Result<PathBuf> {
        if !self.manifest.files.contains_key(file_name) {
            return Err(Error::InvalidBundle {
                path: self.dir.clone(),
                reason: format!(
                    "no `{file_name}` in the manifest (it lists: {})",
                    self.manifest
                        .files
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        Ok(self.dir.join(file_name))
    }

    /// Loads an [`Artifact`] file of the bundle.
    pub fn load<T: Artifact>(&self, file_name: &str) -> Result<Stored<T>> {
        T::load(&self.file_path(file_name)?)
    }

    /// Reads a foreign-format JSON file of the bundle.
    pub fn read_json<T: DeserializeOwned>(&self, file_name: &str) -> Result<T> {
        let path = self.file_path(file_name)?;
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            context: path.display().to_string(),
            source,
        })
    }
}

/// The manifest's kind in version errors.
const MANIFEST_KIND: &str = "mlrig.bundle.manifest";

/// Parses a manifest: its `format_version` is read first, so a manifest
/// from a newer mlrig gets [`Error::NewerFormatVersion`] even when its other
/// fields changed shape; an older version goes through [`migrate_manifest`].
/// Unknown fields are ignored (a newer writer may add optional ones).
fn parse_manifest(bytes: &[u8], path: &Path) -> Result<BundleManifest> {
    let json_error = |source| Error::Json {
        context: path.display().to_string(),
        source,
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(json_error)?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| Error::InvalidBundle {
            path: path.to_path_buf(),
            reason: "the manifest has no `format_version` (a positive integer); \
                     re-create the bundle with `mlrig train`"
                .into(),
        })?;
    if version > BUNDLE_FORMAT_VERSION {
        return Err(Error::NewerFormatVersion {
            path: path.to_path_buf(),
            kind: MANIFEST_KIND.into(),
            found: version,
            supported: BUNDLE_FORMAT_VERSION,
        });
    }
    let value = if version < BUNDLE_FORMAT_VERSION {
        let migrated =
            migrate_manifest(version, value).map_err(|e| Error::UnsupportedFormatVersion {
                path: path.to_path_buf(),
                kind: MANIFEST_KIND.into(),
                found: version,
                supported: BUNDLE_FORMAT_VERSION,
                reason: e.to_string(),
            })?;
        tracing::warn!(
            file = %path.display(),
            "bundle manifest format_version {version} migrated to version {BUNDLE_FORMAT_VERSION} on loading"
        );
        migrated
    } else {
        value
    };
    serde_json::from_value(value).map_err(json_error)
}

/// Turns a manifest of an older format version into the current one.
/// Version 1 is the first manifest format, so there is no older version to
/// migrate yet; when version 2 comes, version 1 is migrated here.
fn migrate_manifest(from_version: u32, value: serde_json::Value) -> Result<serde_json::Value> {
    drop(value);
    Err(Error::NoMigration {
        kind: MANIFEST_KIND.into(),
        from: from_version,
        to: BUNDLE_FORMAT_VERSION,
    })
}

/// Version numbers (directory names that are positive integers), ascending.
fn list_versions(model_dir: &Path) -> Result<Vec<u64>> {
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(model_dir).map_err(|e| Error::io(model_dir, e))? {
        let entry = entry.map_err(|e| Error::io(model_dir, e))?;
        if let Some(v) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u64>().ok())
            && v > 0
            && entry.path().is_dir()
        {
            versions.push(v);
        }
    }
    versions.sort_unstable();
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_tampering_is_detected() {
        let base = tempfile::tempdir().unwrap();
        for expected in 1..=2 {
            let mut w = BundleWriter::new(base.path(), "m", None).unwrap();
            w.add_bytes("schema.json", "tfmd.Schema", b"{}").unwrap();
            w.add_lineage(Fingerprint::of_bytes(b"data"));
            assert_eq!(w.commit().unwrap().manifest().version, expected);
        }
        let latest = ModelBundle::open_latest(base.path(), "m").unwrap().unwrap();
        assert_eq!(latest.manifest().version, 2);
        assert!(latest.created_at_unix().unwrap() > 1_700_000_000);
        assert!(BundleWriter::new(base.path(), "m", Some(2)).is_err());

        std::fs::write(base.path().join("m/2/schema.json"), b"{\"x\":1}").unwrap();
        let err = ModelBundle::open(&base.path().join("m/2")).unwrap_err();
        assert!(matches!(err, Error::FingerprintMismatch { .. }), "{err}");

        let err = ModelBundle::open(base.path()).unwrap_err();
        assert!(err.to_string().contains("no manifest.json"), "{err}");
        assert!(latest.file_path("model.json").is_err());
    }

    #[test]
    fn no_half_bundle_is_visible_before_commit() {
        let base = tempfile::tempdir().unwrap();
        let mut w = BundleWriter::new(base.path(), "m", None).unwrap();
        w.add_bytes("a.json", "x", b"1").unwrap();
        assert!(
            ModelBundle::open_latest(base.path(), "m")
                .unwrap()
                .is_none()
        );
        drop(w); // abandoned: the staging directory is removed
        assert_eq!(std::fs::read_dir(base.path().join("m")).unwrap().count(), 0);
    }

    #[test]
    fn data_newest_row_is_optional_and_round_trips() {
        let base = tempfile::tempdir().unwrap();
        // Written without a time column: no key at all (manifests stay as before).
        let plain = BundleWriter::new(base.path(), "m", None)
            .unwrap()
            .commit()
            .unwrap();
        let text = std::fs::read_to_string(plain.dir().join(MANIFEST_FILE)).unwrap();
        assert!(!text.contains("data_newest_row"), "{text}");
        assert_eq!(plain.data_newest_row_unix().unwrap(), None);

        let mut w = BundleWriter::new(base.path(), "m", None).unwrap();
        assert!(w.set_data_newest_row(MAX_RFC3339_UNIX as i64 + 1).is_err());
        w.set_data_newest_row(MAX_RFC3339_UNIX as i64).unwrap();
        w.set_data_newest_row(1_400_269_500).unwrap();
        let dated = w.commit().unwrap();
        let reopened = ModelBundle::open(dated.dir()).unwrap();
        assert_eq!(
            reopened.manifest().data_newest_row.as_deref(),
            Some("2014-05-16T19:45:00Z")
        );
        assert_eq!(
            reopened.data_newest_row_unix().unwrap(),
            Some(1_400_269_500)
        );

        // An unreadable value is an error naming the manifest, not a silent None.
        let mut bad = reopened.clone();
        bad.manifest.data_newest_row = Some("yesterday".into());
        let err = bad.data_newest_row_unix().unwrap_err();
        assert!(
            err.to_string().contains("data_newest_row `yesterday`"),
            "{err}"
        );
    }

    #[test]
    fn manifest_versions_newer_refused_older_unknown_refused_extra_fields_ignored() {
        let base = tempfile::tempdir().unwrap();
        let mut w = BundleWriter::new(base.path(), "m", None).unwrap();
        w.add_bytes("a.json", "x", b"1").unwrap();
        let bundle = w.commit().unwrap();
        let path = bundle.dir().join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let set_version = |v: &str| text.replace("\"format_version\": 1", v);

        // A newer writer that changed a field's shape: still the version message.
        let newer =
            set_version("\"format_version\": 7").replace("\"lineage\": []", "\"lineage\": {}");
        assert_ne!(newer, text);
        std::fs::write(&path, &newer).unwrap();
        let err = ModelBundle::open(bundle.dir()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NewerFormatVersion {
                    found: 7,
                    supported: 1,
                    ..
                }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert!(
            message.contains("upgrade mlrig to a release that reads version 7"),
            "{message}"
        );

        std::fs::write(&path, set_version("\"format_version\": 0")).unwrap();
        let err = ModelBundle::open(bundle.dir()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedFormatVersion {
                    found: 0,
                    supported: 1,
                    ..
                }
            ),
            "{err}"
        );

        std::fs::write(&path, set_version("\"format_version\": \"one\"")).unwrap();
        let err = ModelBundle::open(bundle.dir()).unwrap_err();
        assert!(err.to_string().contains("no `format_version`"), "{err}");

        // An optional field a newer writer adds at the same version is ignored.
        let extra = text.replacen('{', "{\n  \"signed_by\": \"ci\",", 1);
        std::fs::write(&path, extra).unwrap();
        let reopened = ModelBundle::open(bundle.dir()).unwrap();
        assert_eq!(reopened.manifest(), bundle.manifest());
    }

    #[test]
    fn rejects_bad_names() {
        let base = tempfile::tempdir().unwrap();
        assert!(BundleWriter::new(base.path(), "../x", None).is_err());
        assert!(BundleWriter::new(base.path(), "m", Some(0)).is_err());
        let mut w = BundleWriter::new(base.path(), "m", None).unwrap();
        assert!(w.add_bytes(MANIFEST_FILE, "x", b"").is_err());
    }
}
