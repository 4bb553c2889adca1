//! [`ModelConfig`]: which models a server loads, from where, which of their
//! versions, and the labels pointing at them (TF Serving's
//! `model_config_list`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ServeError;
use crate::duration_serde::{deserialize_duration, serialize_duration};

/// The models a server loads and keeps up to date (`mlrig serve
/// --model-config FILE`, JSON or TOML, JSON Schema
/// `docs/schemas/model-config.schema.json`), as TF Serving's
/// `model_config_list`: each model has a base path whose sub-directories
/// named by positive integers (`1`, `2`, `00003` = 3) are its versions, a
/// version policy choosing which of them are served, and labels naming
/// versions (`/v1/models/{name}/labels/{label}`).
///
/// The server re-reads the file when it changes (checked every
/// `poll_interval`) and on SIGHUP. Unknown keys are errors; a relative
/// `base_path` is relative to the file's directory.
///
/// ```
/// use mlrig_serve::{ModelConfig, VersionPolicy};
/// let config = ModelConfig::from_json_str(r#"{
///     "poll_interval": "2s",
///     "models": [{"name": "adult", "base_path": "/srv/models/adult",
///                 "version_policy": {"specific": {"versions": [3, 4]}},
///                 "labels": {"stable": 3, "canary": 4}}]
/// }"#)?;
/// assert_eq!(config.poll_interval, std::time::Duration::from_secs(2));
/// assert_eq!(config.models[0].version_policy, VersionPolicy::Specific { versions: vec![3, 4] });
/// assert_eq!(config.models[0].labels["stable"], 3);
///
/// let minimal = ModelConfig::from_json_str(r#"{"models": [{"name": "m", "base_path": "/srv/m"}]}"#)?;
/// assert_eq!(minimal.poll_interval, std::time::Duration::from_secs(1));
/// assert_eq!(minimal.models[0].version_policy, VersionPolicy::Latest { num_versions: 1 });
/// assert!(ModelConfig::from_json_str(r#"{"models": [], "poll": "1s"}"#).is_err());
/// # Ok::<(), mlrig_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
// The private unit field is the ignored `$schema` key, not a non-exhaustive marker.
#[allow(clippy::manual_non_exhaustive)]
pub struct ModelConfig {
    /// How often the base paths (and this file) are checked for changes
    /// (default `"1s"`). A number and a unit (`ms`, `s`, `m`, `h`).
    #[serde(
        default = "default_poll_interval",
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_duration"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["1s", "500ms", "1m"])))]
    pub poll_interval: Duration,
    /// The models to serve; names must be unique.
    pub models: Vec<ModelEntry>,
    /// The JSON Schema of this file, for editors; accepted and ignored.
    #[serde(
        rename = "$schema",
        default,
        skip_serializing,
        deserialize_with = "mlrig_core::ignore_schema_reference"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    schema_reference: (),
}

fn default_poll_interval() -> Duration {
    Duration::from_secs(1)
}

/// One model of a [`ModelConfig`].
///
/// ```
/// let entry = mlrig_serve::ModelEntry::new("adult", "/srv/models/adult");
/// assert_eq!(entry.version_policy, mlrig_serve::VersionPolicy::default());
/// assert!(entry.labels.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ModelEntry {
    /// The model's name in request paths (`/v1/models/{name}`); no `/` or `:`.
    pub name: String,
    /// The directory holding the model's version directories (`<base_path>/<version>/`).
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    pub base_path: PathBuf,
    /// Which versions found under `base_path` are served (default: the latest one).
    #[serde(default)]
    pub version_policy: VersionPolicy,
    /// Labels (`stable`, `canary`, any name without `/` or `:`) and the
    /// version each points at. A label can only point at a version being
    /// served; otherwise the error is logged and the label keeps its previous
    /// version.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, u64>,
}

impl ModelEntry {
    /// A model served from `base_path` with the default policy (latest 1) and no labels.
    pub fn new(name: impl Into<String>, base_path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            base_path: base_path.into(),
            version_policy: VersionPolicy::default(),
            labels: BTreeMap::new(),
        }
    }

    /// Sets [`ModelEntry::version_policy`].
    ///
    /// ```
    /// use mlrig_serve::{ModelEntry, VersionPolicy};
    /// let e = ModelEntry::new("m", "/srv/m").with_version_policy(VersionPolicy::All {});
    /// assert_eq!(e.version_policy, VersionPolicy::All {});
    /// ```
    pub fn with_version_policy(mut self, policy: VersionPolicy) -> Self {
        self.version_policy = policy;
        self
    }

    /// Points `label` at `version`.
    ///
    /// ```
    /// let e = mlrig_serve::ModelEntry::new("m", "/srv/m").with_label("stable", 2);
    /// assert_eq!(e.labels["stable"], 2);
    /// ```
    pub fn with_label(mut self, label: impl Into<String>, version: u64) -> Self {
        self.labels.insert(label.into(), version);
        self
    }
}

/// Which of the versions found under a base path are served, as TF
/// Serving's `ServableVersionPolicy`: `{"latest": {"num_versions": N}}`
/// (default, N = 1), `{"specific": {"versions": [3, 4]}}` or `{"all": {}}`.
///
/// A version that fails to load never counts: with `latest`, the N highest
/// versions that load are served, so a broken new version leaves the
/// previous one serving.
///
/// ```
/// use mlrig_serve::VersionPolicy;
/// let p: VersionPolicy = serde_json::from_str(r#"{"latest": {"num_versions": 2}}"#)?;
/// assert_eq!(p, VersionPolicy::Latest { num_versions: 2 });
/// let p: VersionPolicy = serde_json::from_str(r#"{"latest": {}}"#)?;
/// assert_eq!(p, VersionPolicy::default());
/// let p: VersionPolicy = serde_json::from_str(r#"{"all": {}}"#)?;
/// assert_eq!(p, VersionPolicy::All {});
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum VersionPolicy {
    /// The `num_versions` highest versions (default 1).
    Latest {
        /// How many versions to serve (at least 1).
        #[serde(default = "one")]
        #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
        num_versions: u32,
    },
    /// Exactly these versions (those that exist and load).
    Specific {
        /// The version numbers (positive, at least one).
        #[cfg_attr(feature = "schemars", schemars(length(min = 1), inner(range(min = 1))))]
        versions: Vec<u64>,
    },
    /// Every version found.
    All {},
}

fn one() -> u32 {
    1
}

impl Default for VersionPolicy {
    fn default() -> Self {
        VersionPolicy::Latest { num_versions: 1 }
    }
}

impl ModelConfig {
    /// A config serving the given models, polling every second.
    ///
    /// ```
    /// use mlrig_serve::{ModelConfig, ModelEntry};
    /// let config = ModelConfig::new(vec![ModelEntry::new("m", "/srv/m")]);
    /// assert_eq!(config.models.len(), 1);
    /// ```
    pub fn new(models: Vec<ModelEntry>) -> Self {
        Self {
            poll_interval: default_poll_interval(),
            models,
            schema_reference: (),
        }
    }

    /// Sets [`ModelConfig::poll_interval`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = mlrig_serve::ModelConfig::new(vec![]).with_poll_interval(Duration::from_millis(200));
    /// assert_eq!(c.poll_interval, Duration::from_millis(200));
    /// ```
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Parses and checks ([`ModelConfig::check`]) a JSON document; relative
    /// base paths are kept as written.
    ///
    /// # Errors
    /// [`ServeError::InvalidConfig`] naming the line and column, or the problem.
    ///
    /// ```
    /// assert!(mlrig_serve::ModelConfig::from_json_str(r#"{"models": [{"name": "a/b", "base_path": "x"}]}"#).is_err());
    /// ```
    pub fn from_json_str(text: &str) -> Result<Self, ServeError> {
        let config: Self = serde_json::from_str(text).map_err(|e| invalid("(JSON)", e))?;
        config.check().map_err(|reason| invalid("(JSON)", reason))?;
        Ok(config)
    }

    /// Parses and checks a TOML document; relative base paths are kept as written.
    ///
    /// # Errors
    /// [`ServeError::InvalidConfig`] naming the line and column, or the problem.
    ///
    /// ```
    /// let config = mlrig_serve::ModelConfig::from_toml_str(r#"
    /// poll_interval = "500ms"
    /// [[models]]
    /// name = "adult"
    /// base_path = "models/adult"
    /// version_policy = { latest = { num_versions = 2 } }
    /// labels = { stable = 1 }
    /// "#)?;
    /// assert_eq!(config.models[0].labels["stable"], 1);
    /// # Ok::<(), mlrig_serve::ServeError>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Self, ServeError> {
        let config: Self = toml::from_str(text)
            .map_err(|e| invalid("(TOML)", mlrig_core::toml_error_message(&e)))?;
        config.check().map_err(|reason| invalid("(TOML)", reason))?;
        Ok(config)
    }

    /// Reads a `.json` or `.toml` file, checks it, and resolves relative
    /// base paths against the file's directory.
    ///
    /// # Errors
    /// [`ServeError::InvalidConfig`] naming the file (and line and column
    /// for a syntax error) when it cannot be read, parsed or checked.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("mlrig-model-config-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("models.json");
    /// std::fs::write(&path, r#"{"models": [{"name": "m", "base_path": "models/m"}]}"#)?;
    /// let config = mlrig_serve::ModelConfig::from_file(&path)?;
    /// assert_eq!(config.models[0].base_path, dir.join("models/m"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: &Path) -> Result<Self, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|e| invalid(path, e))?;
        let parsed = match ConfigFormat::of_path(path)? {
            ConfigFormat::Json => Self::from_json_str(&text),
            ConfigFormat::Toml => Self::from_toml_str(&text),
        };
        let mut config = parsed.map_err(|e| match e {
            ServeError::InvalidConfig { reason, .. } => invalid(path, reason),
            other => other,
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for model in &mut config.models {
            if model.base_path.is_relative() {
                model.base_path = dir.join(&model.base_path);
            }
        }
        Ok(config)
    }

    /// Checks what serde cannot: a non-zero `poll_interval`, unique model
    /// names that can be addressed in a URL, `num_versions` ≥ 1, a non-empty
    /// `specific` list, positive versions and addressable label names.
    /// Returns the first problem.
    ///
    /// ```
    /// use mlrig_serve::{ModelConfig, ModelEntry};
    /// let twice = ModelConfig::new(vec![ModelEntry::new("m", "/a"), ModelEntry::new("m", "/b")]);
    /// assert!(twice.check().unwrap_err().contains("more than once"));
    /// ```
    pub fn check(&self) -> Result<(), String> {
        if self.poll_interval.is_zero() {
            return Err("poll_interval must be longer than 0, e.g. \"1s\"".into());
        }
        let mut names = BTreeSet::new();
        for model in &self.models {
            let name = &model.name;
            if name.is_empty() || name.contains(['/', ':']) {
                return Err(format!(
                    "model name {name:?} cannot be addressed in a URL path (empty, or contains `/` or `:`)"
                ));
            }
            if !names.insert(name.as_str()) {
                return Err(format!("model `{name}` is listed more than once"));
            }
            match &model.version_policy {
                VersionPolicy::Latest { num_versions: 0 } => {
                    return Err(format!(
                        "model `{name}`: latest.num_versions must be at least 1"
                    ));
                }
                VersionPolicy::Specific { versions } if versions.is_empty() => {
                    return Err(format!(
                        "model `{name}`: specific.versions lists no version"
                    ));
                }
                VersionPolicy::Specific { versions } if versions.contains(&0) => {
                    return Err(format!(
                        "model `{name}`: versions are positive integers; 0 is not allowed"
                    ));
                }
                _ => {}
            }
            for (label, version) in &model.labels {
                if label.is_empty() || label.contains(['/', ':']) {
                    return Err(format!(
                        "model `{name}`: label {label:?} cannot be addressed in a URL path (empty, or contains `/` or `:`)"
                    ));
                }
                if *version == 0 {
                    return Err(format!(
                        "model `{name}`: label `{label}` points at version 0; versions are positive integers"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The two formats of a config file, from its extension.
///
/// ```
/// use mlrig_serve::ConfigFormat;
/// assert_eq!(ConfigFormat::of_path("models.toml".as_ref())?, ConfigFormat::Toml);
/// assert!(ConfigFormat::of_path("models.yaml".as_ref()).is_err());
/// # Ok::<(), mlrig_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// `.json`
    Json,
    /// `.toml`
    Toml,
}

impl ConfigFormat {
    /// The format of `path` by its extension.
    ///
    /// # Errors
    /// [`ServeError::InvalidConfig`] for any other extension.
    pub fn of_path(path: &Path) -> Result<Self, ServeError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Ok(ConfigFormat::Json),
            Some("toml") => Ok(ConfigFormat::Toml),
            other => Err(invalid(
                path,
                format!(
                    "unknown extension `.{}`; use .json or .toml",
                    other.unwrap_or_default()
                ),
            )),
        }
    }
}

pub(crate) fn invalid(path: impl AsRef<Path>, reason: impl ToString) -> ServeError {
    ServeError::InvalidConfig {
        path: path.as_ref().to_path_buf(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_round_trip_and_errors_locate() {
        let config = ModelConfig::new(vec![
            ModelEntry::new("a", "/m/a"),
            ModelEntry::new("b", "/m/b")
                .with_version_policy(VersionPolicy::Specific {
                    versions: vec![1, 3],
                })
                .with_label("stable", 1),
            ModelEntry::new("c", "/m/c").with_version_policy(VersionPolicy::All {}),
        ])
        .with_poll_interval(Duration::from_millis(250));
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains(r#""poll_interval":"250ms""#), "{json}");
        assert!(json.contains(r#""version_policy":{"all":{}}"#), "{json}");
        assert_eq!(ModelConfig::from_json_str(&json).unwrap(), config);
        let toml_text = toml::to_string(&config).unwrap();
        assert_eq!(ModelConfig::from_toml_str(&toml_text).unwrap(), config);

        let err = ModelConfig::from_json_str(
            "{\"models\": [\n {\"name\": \"m\", \"base_path\": \"x\", \"policy\": 1}]}",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("unknown field `policy`") && err.contains("line 2"),
            "{err}"
        );
        let err = ModelConfig::from_json_str(
            r#"{"models": [{"name": "m", "base_path": "x", "version_policy": {"latest": {"num_versions": 0}}}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at least 1"), "{err}");
        let err = ModelConfig::from_toml_str(
            "[[models]]\nname = \"m\"\nbase_path = \"x\"\nlabels = { \"a/b\" = 1 }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("label \"a/b\""), "{err}");
        assert!(
            ModelConfig::from_json_str(r#"{"$schema": "model-config.schema.json", "models": []}"#)
                .is_ok()
        );
        let err = ModelConfig::from_json_str(r#"{"poll_interval": "0s", "models": []}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("longer than 0"), "{err}");
    }
}
