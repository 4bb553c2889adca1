//! [`PipelineConfig`]: the one file (`mlrig.toml`) that declares a pipeline —
//! its data, curated schema, features, model, gates, push target, rollback
//! and watch settings. Typed with serde (unknown keys are errors) and, with
//! the `schemars` feature, published as `docs/schemas/pipeline.schema.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mlrig_core::SplitRule;
use mlrig_features::FeatureSpec;
use mlrig_ingest::{CsvFormat, DataType, FileSet, InferenceOptions, ReadOptions};
use mlrig_train::{BlessingThresholds, LeakageParams, ModelSpec, TaskKind};
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// A pipeline, as declared in `mlrig.toml`. Relative paths are relative to
/// the directory of the config file.
///
/// ```
/// use mlrig_pipeline::PipelineConfig;
/// let config = PipelineConfig::from_toml_str(r#"
/// name = "adult"
/// [data]
/// files = ["data/adult_*.csv"]
/// target = "income"
/// [push]
/// base_path = "models"
/// "#, "mlrig.toml")?;
/// assert_eq!(config.name, "adult");
/// assert_eq!(config.root, std::path::PathBuf::from("pipeline"));
/// assert_eq!(config.schema.path, std::path::PathBuf::from("schema.json"));
///
/// let zero = PipelineConfig::from_toml_str("name = \"m\"\n[push]\nbase_path = \"models\"\n[data]\nfiles = [\"d.csv\"]\ntarget = \"y\"\nwindow = 0\n", "mlrig.toml");
/// assert!(zero.unwrap_err().to_string().contains("line 7, column 1: data.window: expected at least 1 span"));
///
/// let typo = PipelineConfig::from_toml_str("name = \"m\"\n[data]\nfiles = []\ntarget = \"y\"\ntarget_col = 1\n", "mlrig.toml");
/// let message = typo.unwrap_err().to_string();
/// assert!(message.contains("mlrig.toml") && message.contains("line 5, column 1"), "{message}");
/// # Ok::<(), mlrig_pipeline::PipelineError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
// The private unit field is the ignored `$schema` key, not a non-exhaustive marker.
#[allow(clippy::manual_non_exhaustive)]
pub struct PipelineConfig {
    /// The model name: versions are pushed to `<push.base_path>/<name>/<version>`.
    pub name: String,
    /// Where the pipeline keeps its state: artifacts of every step, run
    /// records, the rollback history (default `pipeline`).
    #[serde(default = "default_root")]
    pub root: PathBuf,
    /// The training data.
    pub data: DataConfig,
    /// The curated schema the data is validated against.
    #[serde(default)]
    pub schema: SchemaConfig,
    /// The feature pipeline (default: inferred from the column types).
    #[serde(default)]
    pub features: FeaturesConfig,
    /// The model (default: the task's default model).
    #[serde(default)]
    pub model: ModelConfig,
    /// What blocks a run: anomalies, blessing thresholds, the baseline, leakage.
    #[serde(default)]
    pub gates: GatesConfig,
    /// Where blessed versions go.
    pub push: PushConfig,
    /// When a pushed version is rolled back.
    #[serde(default)]
    pub rollback: RollbackConfig,
    /// How `mlrig run --watch` looks for new data.
    #[serde(default)]
    pub watch: WatchConfig,
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

fn default_root() -> PathBuf {
    PathBuf::from("pipeline")
}

/// The training data: files or glob patterns (CSV, JSON Lines, Parquet, by
/// extension, optionally gzip-compressed), the target and how to read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DataConfig {
    /// Paths or glob patterns, e.g. `["spans/day-*.csv"]`. Every matching
    /// file is a span; spans are ordered by file name.
    pub files: Vec<String>,
    /// The column to predict.
    pub target: String,
    /// Train on the newest `window` spans only (default: all of them). With
    /// `mlrig run --watch`, a new span moves the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    /// How rows are split into training and evaluation rows (default: row
    /// `i` is held out iff `i % 5 == 4`).
    #[serde(default = "default_split")]
    pub split: SplitRule,
    /// CSV field delimiter, one ASCII character (default `,`; `\t` for tab).
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Whether CSV files start with a header row (default true).
    #[serde(default = "default_true")]
    pub header: bool,
    /// Tokens read as missing values (default: "", NA, N/A, NaN, null, ?).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
    /// Forced column types, e.g. `{ zip = "utf8" }`: bool, int64, float64 or utf8.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_types: BTreeMap<String, ColumnType>,
    /// Rows read to infer column types (default 10,000).
    #[serde(default = "default_infer_rows")]
    pub infer_rows: usize,
    /// A timestamp column whose newest value is recorded in the bundle (the
    /// data age at serving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_column: Option<String>,
    /// Columns whose values slice the evaluation (per-slice metrics and thresholds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<String>,
}

fn default_split() -> SplitRule {
    SplitRule::Modulo {
        modulus: 5,
        eval_remainders: vec![4],
    }
}

fn default_delimiter() -> String {
    ",".into()
}

fn default_true() -> bool {
    true
}

fn default_infer_rows() -> usize {
    10_000
}

/// A column type users can force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ColumnType {
    /// `true`/`false`.
    Bool,
    /// 64-bit integers.
    Int64,
    /// 64-bit floats.
    Float64,
    /// Text.
    Utf8,
}

impl ColumnType {
    fn data_type(self) -> DataType {
        match self {
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Utf8 => DataType::Utf8,
        }
    }
}

/// The curated schema (tensorflow-metadata JSON). The first run writes it,
/// inferred from the training statistics; afterwards the pipeline only reads
/// it, so changing it is a reviewed edit (by hand, or `mlrig infer-schema DATA --update schema.json --out schema.json`), never a
/// side effect of new data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SchemaConfig {
    /// The schema file (default `schema.json`).
    #[serde(default = "default_schema_path")]
    pub path: PathBuf,
    /// Whether the first run's schema bounds numeric features by the ranges
    /// seen (default false: new spans move numbers, and a range is then a
    /// reviewed edit, not a side effect of the first span).
    #[serde(default)]
    pub infer_numeric_ranges: bool,
}

impl Default for SchemaConfig {
    fn default() -> Self {
        SchemaConfig {
            path: default_schema_path(),
            infer_numeric_ranges: false,
        }
    }
}

fn default_schema_path() -> PathBuf {
    PathBuf::from("schema.json")
}

/// The feature pipeline: a spec inline (`[features.spec]`) or in a file
/// (`file = "features.json"`), or neither to infer one from the column types.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FeaturesConfig {
    /// The spec, inline (schema: `feature-spec.schema.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<FeatureSpec>,
    /// A JSON or TOML file holding the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// The model to fit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ModelConfig {
    /// `classification`, `regression` or `auto` (default: from the target).
    #[serde(default)]
    pub task: TaskKind,
    /// The model family and its parameters, e.g. `[model.spec.gbdt]`
    /// (schema: `model-spec.schema.json`; default: the task's default model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ModelSpec>,
    /// Continue training the serving version on the new window instead of
    /// fitting from scratch (SGD models: more epochs; gbdt: added rounds).
    /// The feature pipeline is then the serving version's.
    #[serde(default)]
    pub warm_start: bool,
}

/// What blocks a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GatesConfig {
    /// Which anomalies found against the curated schema block the run.
    #[serde(default)]
    pub anomalies: AnomalyPolicy,
    /// Metric thresholds the candidate must meet, overall and per slice, and
    /// the largest drop against the baseline (schema: `blessing-thresholds.schema.json`).
    #[serde(default)]
    pub blessing: BlessingThresholds,
    /// What the candidate is compared with (default: the serving version).
    #[serde(default)]
    pub baseline: BaselinePolicy,
    /// How input columns are screened for label leakage.
    #[serde(default)]
    pub leakage: LeakageParams,
    /// Whether a suspected leak blocks the run (default) or is only reported.
    #[serde(default)]
    pub leakage_policy: LeakagePolicy,
}

/// Which anomaly kinds (tensorflow-metadata names such as
/// `SCHEMA_MISSING_COLUMN`, or `"all"`) block a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AnomalyPolicy {
    /// Kinds that block (default `["all"]`).
    #[serde(default = "default_block")]
    pub block: Vec<String>,
    /// Kinds that are reported but never block, e.g. `["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
}

impl Default for AnomalyPolicy {
    fn default() -> Self {
        AnomalyPolicy {
            block: default_block(),
            allow: Vec::new(),
        }
    }
}

fn default_block() -> Vec<String> {
    vec!["all".into()]
}

impl AnomalyPolicy {
    /// Whether an anomaly of `kind` (its tensorflow-metadata name) blocks.
    ///
    /// ```
    /// let policy = mlrig_pipeline::AnomalyPolicy::default();
    /// assert!(policy.blocks("SCHEMA_MISSING_COLUMN"));
    /// ```
    pub fn blocks(&self, kind: &str) -> bool {
        let named = |list: &[String]| list.iter().any(|k| k == "all" || k == kind);
        named(&self.block) && !self.allow.iter().any(|k| k == kind)
    }
}

/// What a candidate is compared with before blessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BaselinePolicy {
    /// The version serving now (the `push.label` version, else the highest
    /// pushed one); no comparison before the first push.
    #[default]
    Serving,
    /// No comparison.
    None,
}

/// Whether a suspected label leak blocks a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LeakagePolicy {
    /// The `label_leakage` check fails the blessing.
    #[default]
    Block,
    /// Reported in the run record only.
    Warn,
}

/// Where blessed versions go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PushConfig {
    /// The servers' model base path: a version lands in
    /// `<base_path>/<name>/<version>` by an atomic rename, so a polling
    /// `mlrig serve` picks it up whole.
    pub base_path: PathBuf,
    /// A server model config file (`mlrig serve --model-config`) whose
    /// `label` the pipeline moves to each pushed version and back on rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_config: Option<PathBuf>,
    /// The label moved on push and rollback (default `stable`).
    #[serde(default = "default_label")]
    pub label: String,
    /// A Prometheus rules file (as `mlrig alerts` writes) for the version
    /// serving, rewritten on each push and rollback; point Prometheus's
    /// `rule_files` at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_rules: Option<PathBuf>,
}

fn default_label() -> String {
    "stable".into()
}

/// When a pushed version is rolled back: within `grace_period` of its push,
/// each run first scores it and the version before it on the newest span
/// (whose labels have arrived); if it is worse by more than `max_drop`, or
/// the server's live monitoring flags it, the pipeline moves it out of the
/// base path, points the label back and records why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RollbackConfig {
    /// How long after its push a version can still be rolled back (default `"7d"`).
    #[serde(
        default = "default_grace_period",
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_grace_period"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["1h", "7d"])))]
    pub grace_period: Duration,
    /// The most each metric may be worse than the previous version's on the
    /// newest span, e.g. `{ roc_auc = 0.02 }` (default: 0.01 on the task's
    /// headline metric).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub max_drop: BTreeMap<String, f64>,
    /// A running `mlrig serve` (e.g. `http://127.0.0.1:8501`) whose live
    /// monitoring of the new version is consulted: a feature or the
    /// predictions over their drift/skew thresholds roll it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_url: Option<String>,
    /// Whether rollback is on (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl Default for RollbackConfig {
    fn default() -> Self {
        RollbackConfig {
            grace_period: default_grace_period(),
            max_drop: BTreeMap::new(),
            monitoring_url: None,
            enabled: true,
        }
    }
}

fn default_grace_period() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}

/// How `mlrig run --watch` looks for new spans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WatchConfig {
    /// How often the data files are listed (default `"10s"`).
    #[serde(
        default = "default_poll_interval",
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_poll_interval"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["10s", "1m"])))]
    pub poll_interval: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            poll_interval: default_poll_interval(),
        }
    }
}

fn default_poll_interval() -> Duration {
    Duration::from_secs(10)
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

fn deserialize_grace_period<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    deserialize_duration(d, "rollback.grace_period")
}

fn deserialize_poll_interval<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    deserialize_duration(d, "watch.poll_interval")
}

/// A humantime duration; the error names `key` (serde's custom errors only
/// carry the value's position).
fn deserialize_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
    key: &str,
) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "{key}: invalid duration {text:?} ({e}); expected a number and a unit, e.g. \"10s\", \"5m\", \"7d\""
        ))
    })
}

impl PipelineConfig {
    /// Reads and checks `mlrig.toml` at `path`.
    ///
    /// # Errors
    /// [`PipelineError::Config`] naming the file, line and column of a
    /// syntax error, an unknown key or a wrong value, or the key of a value
    /// that fails [`PipelineConfig::check`].
    pub fn from_file(path: &Path) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|e| PipelineError::Config {
            file: path.to_path_buf(),
            message: format!("cannot read it: {e}"),
        })?;
        Self::from_toml_str(&text, path)
    }

    /// Parses and checks a config held in memory; `path` names it in errors.
    ///
    /// # Errors
    /// As [`PipelineConfig::from_file`].
    pub fn from_toml_str(text: &str, path: impl AsRef<Path>) -> Result<Self, PipelineError> {
        let path = path.as_ref();
        let config: PipelineConfig = toml::from_str(text).map_err(|e| PipelineError::Config {
            file: path.to_path_buf(),
            message: mlrig_core::toml_error_message(&e),
        })?;
        config.check().map_err(|message| PipelineError::Config {
            file: path.to_path_buf(),
            message: match key_location(text, &message) {
                Some((line, column)) => format!("line {line}, column {column}: {message}"),
                None => message,
            },
        })?;
        Ok(config)
    }

    /// Checks what serde cannot: names, one feature source, the window,
    /// the delimiter, the split rule, the anomaly kinds.
    ///
    /// # Errors
    /// The key and what is wrong with its value.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty()
            || self.name.contains(['/', '\\', ':'])
            || self.name.starts_with('.')
        {
            return Err(format!(
                "name: expected a model name without `/`, `\\` or `:` that does not start with `.`, found {:?}",
                self.name
            ));
        }
        if self.data.files.is_empty() {
            return Err("data.files: expected at least one path or glob pattern, found []".into());
        }
        if self.data.window == Some(0) {
            return Err("data.window: expected at least 1 span, found 0".into());
        }
        self.data.delimiter_byte()?;
        self.data
            .split
            .check()
            .map_err(|e| format!("data.split: {e}"))?;
        if self.features.spec.is_some() && self.features.file.is_some() {
            return Err("features: expected either `spec` (inline) or `file`, found both".into());
        }
        for (key, kinds) in [
            ("gates.anomalies.block", &self.gates.anomalies.block),
            ("gates.anomalies.allow", &self.gates.anomalies.allow),
        ] {
            if let Some(kind) = kinds.iter().find(|k| {
                k.as_str() != "all"
                    && matches!(
                        mlrig_validate::AnomalyKind::from_name(k),
                        mlrig_validate::AnomalyKind::Other(_)
                    )
            }) {
                return Err(format!(
                    "{key}: expected \"all\" or a tensorflow-metadata anomaly kind such as SCHEMA_MISSING_COLUMN, found {kind:?}"
                ));
            }
        }
        if self.push.label.is_empty() || self.push.label.contains(['/', ':']) {
            return Err(format!(
                "push.label: expected a label without `/` or `:`, found {:?}",
                self.push.label
            ));
        }
        if self.watch.poll_interval.is_zero() {
            return Err(
                "watch.poll_interval: expected a positive duration such as \"10s\", found 0".into(),
            );
        }
        if let Some((metric, drop)) = self
            .rollback
            .max_drop
            .iter()
            .find(|(_, d)| !(d.is_finite() && **d >= 0.0))
        {
            return Err(format!(
                "rollback.max_drop.{metric}: expected a finite number ≥ 0, found {drop}"
            ));
        }
        Ok(())
    }

    /// The options the data files are read with.
    ///
    /// # Errors
    /// An invalid delimiter (already refused by [`PipelineConfig::check`]).
    pub fn read_options(&self) -> Result<ReadOptions, PipelineError> {
        let data = &self.data;
        let delimiter = data
            .delimiter_byte()
            .map_err(|reason| PipelineError::InvalidOption {
                option: "data.delimiter".into(),
                reason,
            })?;
        let mut inference = InferenceOptions::default().with_infer_rows(data.infer_rows);
        if let Some(missing) = &data.missing {
            inference = inference.with_missing_tokens(missing.clone());
        }
        for (column, column_type) in &data.column_types {
            inference = inference.with_column_type(column, column_type.data_type());
        }
        Ok(ReadOptions::default()
            .with_csv_format(
                CsvFormat::default()
                    .with_delimiter(delimiter)
                    .with_header(data.header),
            )
            .with_inference(inference)
            .with_threads(rayon::current_num_threads()))
    }

    /// The spans the next run trains on: every file matching `data.files`
    /// (relative to `base`, the config's directory), ordered by name with
    /// numbers compared as numbers (`day-9` before `day-10`), the newest
    /// `data.window` of them.
    ///
    /// # Errors
    /// A pattern matching no file, or an unreadable directory.
    pub fn spans(&self, base: &Path) -> Result<Vec<PathBuf>, PipelineError> {
        let patterns: Vec<String> = self
            .data
            .files
            .iter()
            .map(|p| resolve(base, Path::new(p)).to_string_lossy().into_owned())
            .collect();
        let mut files = FileSet::new(&patterns)
            .map_err(|e| PipelineError::InvalidOption {
                option: "data.files".into(),
                reason: e.to_string(),
            })?
            .files()
            .to_vec();
        files.sort_by(|a, b| {
            let name = |p: &PathBuf| p.file_name().map(|n| n.to_string_lossy().into_owned());
            natural_order(&name(a).unwrap_or_default(), &name(b).unwrap_or_default())
                .then_with(|| natural_order(&a.to_string_lossy(), &b.to_string_lossy()))
        });
        files.dedup();
        if let Some(window) = self.data.window {
            let skip = files.len().saturating_sub(window);
            files.drain(..skip);
        }
        Ok(files)
    }
}

impl DataConfig {
    fn delimiter_byte(&self) -> Result<u8, String> {
        match self.delimiter.as_str() {
            "\\t" | "\t" | "tab" => Ok(b'\t'),
            d if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
            other => Err(format!(
                "data.delimiter: expected one ASCII character (or \"\\t\"), found {other:?}"
            )),
        }
    }
}

/// Where the key a [`PipelineConfig::check`] message starts with (`data.window: …`)
/// is written in `text`: its 1-based line and column.
fn key_location(text: &str, message: &str) -> Option<(usize, usize)> {
    let (path, _) = message.split_once(": ")?;
    let document = toml_edit::Document::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = document.as_table();
    let mut span = None;
    for segment in path.split('.') {
        let (key, item) = table.get_key_value(segment)?;
        span = key.span();
        match item.as_table_like() {
            Some(inner) => table = inner,
            None => break,
        }
    }
    let offset = span?.start;
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}

/// Orders names with their runs of digits compared as numbers, so that
/// `day-9.csv` comes before `day-10.csv` (and `day-09` equals `day-9` only
/// when everything else does).
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (left, right) = (chunks(a), chunks(b));
    for (x, y) in left.iter().zip(&right) {
        let order = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if order.is_ne() {
            return order;
        }
    }
    left.len().cmp(&right.len()).then_with(|| a.cmp(b))
}

/// `path` if absolute, else `base/path`.
pub(crate) fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use mlrig_features::ColumnSpec;
    use proptest::prelude::*;

    const MINIMAL: &str = "name = \"m\"\n[data]\nfiles = [\"d.csv\"]\ntarget = \"y\"\n[push]\nbase_path = \"models\"\n";

    fn config_error(text: &str) -> String {
        PipelineConfig::from_toml_str(text, "conf/mlrig.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn pipeline_config_defaults() {
        let config = PipelineConfig::from_toml_str(MINIMAL, "mlrig.toml").unwrap();
        assert_eq!(config.root, PathBuf::from("pipeline"));
        assert_eq!(config.data.split, default_split());
        assert_eq!(config.data.delimiter, ",");
        assert!(config.data.header);
        assert_eq!(config.data.infer_rows, 10_000);
        assert_eq!(config.model.task, TaskKind::Auto);
        assert_eq!(config.gates.anomalies, AnomalyPolicy::default());
        assert_eq!(config.gates.baseline, BaselinePolicy::Serving);
        assert_eq!(config.gates.leakage_policy, LeakagePolicy::Block);
        assert_eq!(config.push.label, "stable");
        assert_eq!(config.rollback, RollbackConfig::default());
        assert_eq!(config.watch.poll_interval, Duration::from_secs(10));
    }

    #[test]
    fn pipeline_config_typos_and_wrong_types_name_file_line_and_column() {
        let message = config_error(&MINIMAL.replace("target = ", "targte = "));
        assert!(message.starts_with("conf/mlrig.toml: "), "{message}");
        assert!(message.contains("line 4, column 1"), "{message}");
        assert!(message.contains("unknown field `targte`"), "{message}");
        assert!(message.contains("expected one of"), "{message}");

        let message = config_error(&MINIMAL.replace("base_path = \"models\"", "base_path = 7"));
        assert!(message.contains("line 6, column 13"), "{message}");
        assert!(message.contains("invalid type: integer `7`"), "{message}");

        let message = config_error(&format!("{MINIMAL}[watch]\npoll_interval = \"soon\"\n"));
        assert!(message.contains("line 8, column 17"), "{message}");
        assert!(
            message.contains("watch.poll_interval: invalid duration \"soon\""),
            "{message}"
        );
        let message = config_error(&format!(
            "{MINIMAL}[rollback]\ngrace_period = \"3 fortnights\"\n"
        ));
        assert!(
            message.contains("rollback.grace_period: invalid duration"),
            "{message}"
        );
    }

    #[test]
    fn pipeline_config_checks_name_the_key() {
        let cases = [
            (
                format!("{MINIMAL}[gates.anomalies]\nblock = [\"SCHEMA_MISSING_COLUMNS\"]\n"),
                "gates.anomalies.block: expected \"all\" or a tensorflow-metadata anomaly kind",
            ),
            (
                format!("{MINIMAL}[gates.anomalies]\nallow = [\"drift\"]\n"),
                "gates.anomalies.allow:",
            ),
            (
                format!(
                    "{MINIMAL}[features]\nfile = \"f.json\"\n[features.spec]\ncolumns = [{{ name = \"a\", encode = \"one_hot\" }}]\n"
                ),
                "features: expected either `spec` (inline) or `file`, found both",
            ),
            (
                MINIMAL.replace("name = \"m\"", "name = \"a/b\""),
                "name: expected",
            ),
            (
                MINIMAL.replace("[\"d.csv\"]", "[]"),
                "data.files: expected at least one",
            ),
            (
                MINIMAL.replace("target", "window = 0\ntarget"),
                "data.window: expected at least 1",
            ),
            (
                MINIMAL.replace("target", "delimiter = \";;\"\ntarget"),
                "data.delimiter:",
            ),
            (
                MINIMAL.replace(
                    "target",
                    "split = { type = \"modulo\", modulus = 2, eval_remainders = [3] }\ntarget",
                ),
                "data.split:",
            ),
            (format!("{MINIMAL}label = \"a:b\"\n"), "push.label:"),
            (
                format!("{MINIMAL}[rollback]\nmax_drop = {{ accuracy = -0.5 }}\n"),
                "rollback.max_drop.accuracy: expected a finite number",
            ),
        ];
        for (text, expected) in cases {
            let message = config_error(&text);
            assert!(message.starts_with("conf/mlrig.toml: "), "{message}");
            assert!(message.contains(expected), "{text}\n{message}");
            // The key's own line and column come first.
            let (key, _) = expected.split_once(':').unwrap();
            let last = key.rsplit('.').next().unwrap();
            let (line, column) = text
                .lines()
                .enumerate()
                .find_map(|(i, l)| {
                    let header = l.find(&format!("[{last}]")).map(|c| c + 1);
                    header
                        .or_else(|| l.find(&format!("{last} ")))
                        .map(|c| (i + 1, c + 1))
                })
                .unwrap_or_else(|| panic!("{last} not in {text}"));
            assert!(
                message.contains(&format!("line {line}, column {column}: {key}:")),
                "{text}\n{message}"
            );
        }
    }

    #[test]
    fn spans_sort_with_numbers_as_numbers() {
        let mut names = vec![
            "day-10.csv",
            "day-9.csv",
            "day-1.csv",
            "day-09b.csv",
            "a.csv",
        ];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            names,
            [
                "a.csv",
                "day-1.csv",
                "day-9.csv",
                "day-09b.csv",
                "day-10.csv"
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        for day in [1, 2, 9, 10, 11] {
            std::fs::write(dir.path().join(format!("day-{day}.csv")), "y\n1\n").unwrap();
        }
        let config = PipelineConfig::from_toml_str(
            &MINIMAL.replace("[\"d.csv\"]", "[\"day-*.csv\"]\nwindow = 2"),
            "mlrig.toml",
        )
        .unwrap();
        let spans = config.spans(dir.path()).unwrap();
        let names: Vec<_> = spans
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["day-10.csv", "day-11.csv"]);
    }

    proptest! {
        #[test]
        fn natural_order_is_a_total_order(a in "[a-c0-9é]{0,6}", b in "[a-c0-9é]{0,6}", c in "[a-c0-9é]{0,6}") {
            use std::cmp::Ordering;
            prop_assert_eq!(natural_order(&a, &b), natural_order(&b, &a).reverse());
            prop_assert_eq!(natural_order(&a, &b) == Ordering::Equal, a == b);
            if natural_order(&a, &b).is_le() && natural_order(&b, &c).is_le() {
                prop_assert!(natural_order(&a, &c).is_le());
            }
        }
    }

    #[test]
    fn pipeline_config_read_from_a_missing_file_names_it() {
        let message = PipelineConfig::from_file(Path::new("no/such/mlrig.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("no/such/mlrig.toml: cannot read it"),
            "{message}"
        );
    }

    fn kinds() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(
            prop_oneof![
                Just("all"),
                Just("SCHEMA_MISSING_COLUMN"),
                Just("ENUM_TYPE_UNEXPECTED_STRING_VALUES"),
            ]
            .prop_map(String::from),
            0..3,
        )
    }

    fn metrics() -> impl Strategy<Value = BTreeMap<String, f64>> {
        proptest::collection::btree_map(
            prop_oneof![Just("accuracy"), Just("roc_auc"), Just("rmse")].prop_map(String::from),
            0.0..1.0f64,
            0..3,
        )
    }

    fn data() -> impl Strategy<Value = DataConfig> {
        (
            proptest::collection::vec("[a-z]{1,6}/(day-\\*|[a-z]{1,4})\\.csv", 1..3),
            "[a-z][a-z_ ]{0,6}",
            proptest::option::of(1usize..30),
            prop_oneof![
                (1u64..10, 0u64..10).prop_map(|(m, r)| SplitRule::Modulo {
                    modulus: m,
                    eval_remainders: vec![r % m],
                }),
                (0.0..=1.0f64).prop_map(|f| SplitRule::HashKey { eval_fraction: f }),
            ],
            prop_oneof![Just(","), Just(";"), Just("\t")].prop_map(String::from),
            any::<bool>(),
            proptest::option::of(proptest::collection::vec("[A-Z?]{0,3}", 0..3)),
            proptest::collection::btree_map(
                "[a-z]{1,4}",
                prop_oneof![
                    Just(ColumnType::Bool),
                    Just(ColumnType::Int64),
                    Just(ColumnType::Float64),
                    Just(ColumnType::Utf8),
                ],
                0..3,
            ),
            (
                1usize..100_000,
                proptest::option::of("[a-z]{1,5}"),
                proptest::collection::vec("[a-z]{1,5}", 0..3),
            ),
        )
            .prop_map(
                |(
                    files,
                    target,
                    window,
                    split,
                    delimiter,
                    header,
                    missing,
                    column_types,
                    (infer_rows, time_column, slices),
                )| {
                    DataConfig {
                        files,
                        target,
                        window,
                        split,
                        delimiter,
                        header,
                        missing,
                        column_types,
                        infer_rows,
                        time_column,
                        slices,
                    }
                },
            )
    }

    fn config() -> impl Strategy<Value = PipelineConfig> {
        (
            (
                "[a-z][a-z0-9_-]{0,8}",
                "[a-z]{1,6}(/[a-z]{1,6})?",
                data(),
                "[a-z]{1,8}\\.json",
                any::<bool>(),
            ),
            (
                0u8..3,
                prop_oneof![
                    Just(TaskKind::Auto),
                    Just(TaskKind::Classification),
                    Just(TaskKind::Regression)
                ],
                0u8..4,
                any::<bool>(),
            ),
            (
                kinds(),
                kinds(),
                metrics(),
                metrics(),
                any::<bool>(),
                any::<bool>(),
            ),
            (
                "[a-z]{1,8}",
                proptest::option::of("[a-z]{1,6}\\.toml"),
                "[a-z]{1,8}",
            ),
            (
                0u64..10_000_000,
                metrics(),
                proptest::option::of(1u16..65535),
                any::<bool>(),
                1u64..100_000,
            ),
        )
            .prop_map(
                |(
                    (name, root, data, schema_path, infer_numeric_ranges),
                    (features, task, model, warm_start),
                    (block, allow, min, max_drop, baseline, warn),
                    (base_path, model_config, label),
                    (grace, rollback_drop, port, enabled, poll),
                )| PipelineConfig {
                    name,
                    root: PathBuf::from(root),
                    data,
                    schema: SchemaConfig {
                        path: PathBuf::from(schema_path),
                        infer_numeric_ranges,
                    },
                    features: match features {
                        0 => FeaturesConfig::default(),
                        1 => FeaturesConfig {
                            spec: Some(
                                FeatureSpec::new()
                                    .with_column(ColumnSpec::standard_scale("age"))
                                    .with_column(ColumnSpec::one_hot("city")),
                            ),
                            file: None,
                        },
                        _ => FeaturesConfig {
                            spec: None,
                            file: Some(PathBuf::from("features.toml")),
                        },
                    },
                    model: ModelConfig {
                        task,
                        spec: match model {
                            0 => None,
                            1 => Some(ModelSpec::for_task(TaskKind::Classification)),
                            2 => Some(ModelSpec::for_task(TaskKind::Regression)),
                            _ => Some(ModelSpec::Gbdt(
                                mlrig_train::GradientBoostingParams::default(),
                            )),
                        },
                        warm_start,
                    },
                    gates: GatesConfig {
                        anomalies: AnomalyPolicy { block, allow },
                        blessing: max_drop.iter().fold(
                            min.iter()
                                .fold(BlessingThresholds::default(), |t, (m, v)| t.with_min(m, *v)),
                            |t, (m, v)| t.with_max_drop(m, *v),
                        ),
                        baseline: if baseline {
                            BaselinePolicy::Serving
                        } else {
                            BaselinePolicy::None
                        },
                        leakage: LeakageParams::default().with_allowed(["tips"]),
                        leakage_policy: if warn {
                            LeakagePolicy::Warn
                        } else {
                            LeakagePolicy::Block
                        },
                    },
                    push: PushConfig {
                        base_path: PathBuf::from(base_path),
                        model_config: model_config.clone().map(PathBuf::from),
                        label,
                        alert_rules: model_config.map(|c| PathBuf::from(c).with_extension("yml")),
                    },
                    rollback: RollbackConfig {
                        grace_period: Duration::from_secs(grace),
                        max_drop: rollback_drop,
                        monitoring_url: port.map(|p| format!("http://127.0.0.1:{p}")),
                        enabled,
                    },
                    watch: WatchConfig {
                        poll_interval: Duration::from_millis(poll),
                    },
                    schema_reference: (),
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// A config written as TOML reads back equal (and passes its checks).
        #[test]
        fn pipeline_config_toml_round_trip(config in config()) {
            prop_assert!(config.check().is_ok(), "{:?}", config.check());
            let text = toml::to_string(&config).unwrap();
            let back = PipelineConfig::from_toml_str(&text, "mlrig.toml")
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(back, config, "{}", text);
        }

        #[test]
        fn pipeline_config_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
            let _ = PipelineConfig::from_toml_str(&text, "mlrig.toml");
        }

        /// Edits of a valid config (a slice replaced by arbitrary text) are
        /// read or refused, never a panic, and refusals name the file.
        #[test]
        fn pipeline_config_never_panics_on_edited_configs(
            start in 0usize..200,
            len in 0usize..8,
            insert in "[a-z0-9=\\[\\]\"{},. \\n#-]{0,12}",
        ) {
            let full = format!(
                "{MINIMAL}[gates.anomalies]\nblock = [\"all\"]\n[rollback]\ngrace_period = \"1h\"\nmax_drop = {{ accuracy = 0.1 }}\n[watch]\npoll_interval = \"5s\"\n"
            );
            let start = start.min(full.len());
            let end = (start + len).min(full.len());
            let edited = format!("{}{insert}{}", &full[..start], &full[end..]);
            if let Err(e) = PipelineConfig::from_toml_str(&edited, "mlrig.toml") {
                prop_assert!(e.to_string().starts_with("mlrig.toml: "), "{}", e);
            }
        }
    }
}
