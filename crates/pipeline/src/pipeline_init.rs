//! [`starter_config`]: a commented `mlrig.toml` for one data file (what
//! `mlrig init` prints). It reads the file's header and first batch, checks
//! the target, infers the task, and writes every section with its defaults
//! either set or shown as commented examples that use the file's own columns.

use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::Array;
use mlrig_core::arrow_schema::{DataType, Schema};
use mlrig_ingest::{DataFormat, DataReader, IngestError, ReadOptions};
use mlrig_train::{TaskKind, infer_task};
use serde::Serialize;

use crate::{PipelineConfig, PipelineError};

/// The published JSON Schema of `mlrig.toml`, named on the starter's first
/// line so that editors (taplo, Even Better TOML) complete and check keys.
pub const PIPELINE_SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/mlrig/mlrig/main/docs/schemas/pipeline.schema.json";

/// What [`starter_config`] writes besides what it reads from the data.
///
/// ```
/// use mlrig_pipeline::StarterOptions;
/// let options = StarterOptions::default().with_name("adult").with_base_path("/srv/models");
/// assert_eq!(options.name.as_deref(), Some("adult"));
/// assert_eq!(StarterOptions::default().base_path, std::path::PathBuf::from("models"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StarterOptions {
    /// The model name (default: the data file's name without extensions).
    pub name: Option<String>,
    /// `push.base_path` (default `models`).
    pub base_path: PathBuf,
    /// How the data file is read (default: [`ReadOptions::default`]).
    pub read_options: ReadOptions,
}

impl Default for StarterOptions {
    fn default() -> Self {
        StarterOptions {
            name: None,
            base_path: PathBuf::from("models"),
            read_options: ReadOptions::default(),
        }
    }
}

impl StarterOptions {
    /// Sets the model name.
    ///
    /// ```
    /// let options = mlrig_pipeline::StarterOptions::default().with_name("housing");
    /// assert_eq!(options.name.as_deref(), Some("housing"));
    /// ```
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the push base path.
    ///
    /// ```
    /// let options = mlrig_pipeline::StarterOptions::default().with_base_path("serving/models");
    /// assert_eq!(options.base_path, std::path::PathBuf::from("serving/models"));
    /// ```
    pub fn with_base_path(mut self, base_path: impl Into<PathBuf>) -> Self {
        self.base_path = base_path.into();
        self
    }

    /// Sets how the data file is read (delimiter, missing tokens, forced types).
    ///
    /// ```
    /// use mlrig_ingest::ReadOptions;
    /// let options = mlrig_pipeline::StarterOptions::default()
    ///     .with_read_options(ReadOptions::default().with_batch_size(1_000));
    /// # let _ = options;
    /// ```
    pub fn with_read_options(mut self, read_options: ReadOptions) -> Self {
        self.read_options = read_options;
        self
    }
}

/// A starter `mlrig.toml` and what it was inferred from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StarterConfig {
    /// The config text: valid as it is, with commented examples.
    pub toml: String,
    /// The task inferred from the target's values (never `auto`).
    pub task: TaskKind,
    /// Why that task, when the choice was not obvious (an integer target).
    pub task_notice: Option<String>,
    /// The data file's columns, in file order (the target among them).
    pub columns: Vec<String>,
}

/// A commented starter `mlrig.toml` for the data file `data` (CSV, JSON
/// Lines or Parquet) predicting `target`.
///
/// `data` is written into `data.files` as given, so the config is meant to
/// be saved in the directory `data` is relative to (paths in `mlrig.toml`
/// are relative to its own directory). The task is inferred from the target
/// values of the first batch. The text parses as a [`PipelineConfig`].
///
/// ```
/// use mlrig_pipeline::{PipelineConfig, StarterOptions, TaskKind, starter_config};
/// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/adult_sample.csv");
/// let starter = starter_config(data.as_ref(), "income", &StarterOptions::default())?;
/// assert_eq!(starter.task, TaskKind::Classification);
/// let config = PipelineConfig::from_toml_str(&starter.toml, "mlrig.toml")?;
/// assert_eq!(config.name, "adult_sample");
/// assert_eq!(config.data.target, "income");
///
/// let typo = starter_config(data.as_ref(), "incme", &StarterOptions::default()).unwrap_err();
/// assert!(typo.to_string().contains("gender"), "{typo}");
/// # Ok::<(), mlrig_pipeline::PipelineError>(())
/// ```
///
/// # Errors
/// An unreadable data file, a file without rows, a `target` that is not a
/// column ([`PipelineError::MissingTarget`], listing the columns), or a
/// name that is not a valid model name ([`PipelineError::Config`]).
pub fn starter_config(
    data: &Path,
    target: &str,
    options: &StarterOptions,
) -> Result<StarterConfig, PipelineError> {
    let mut reader = DataReader::open(data, options.read_options.clone())?;
    let format = reader.format();
    let schema = reader.schema();
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let Ok(target_index) = schema.index_of(target) else {
        return Err(PipelineError::MissingTarget {
            file: data.to_path_buf(),
            target: target.into(),
            available: columns.join(", "),
        });
    };
    let batch = reader.next().transpose().map_err(IngestError::from)?;
    let Some(batch) = batch.filter(|b| b.num_rows() > 0) else {
        return Err(PipelineError::InvalidOption {
            option: data.display().to_string(),
            reason: "no usable rows; a starter config infers the task from the target's values"
                .into(),
        });
    };
    let choice = infer_task(
        target,
        TaskKind::Auto,
        [batch.column(target_index).as_ref() as &dyn Array],
    );
    let name = match &options.name {
        Some(name) => name.clone(),
        None => default_name(data),
    };
    let starter = Starter {
        data,
        format,
        schema: &schema,
        target,
        name: &name,
        task: choice.task,
        base_path: &options.base_path,
    };
    let toml = starter.lines().render(false);
    // The name is the only free text that `check` can refuse: report it
    // against the file the user will save.
    PipelineConfig::from_toml_str(&toml, "mlrig.toml")?;
    Ok(StarterConfig {
        toml,
        task: choice.task,
        task_notice: choice.notice,
        columns,
    })
}

/// The data file's name without its extensions (`day-1.csv.gz` → `day-1`),
/// made a valid model name.
fn default_name(data: &Path) -> String {
    let file = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = file.strip_suffix(".gz").unwrap_or(&file);
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match name.trim_start_matches('.') {
        "" => "model".into(),
        name => name.into(),
    }
}

/// A TOML string literal of `text`, escaped as the toml crate writes it.
fn quoted(text: &str) -> String {
    toml::Value::String(text.into()).to_string()
}

/// `name` as a TOML key: bare when it can be, else quoted.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { name.into() } else { quoted(name) }
}

/// One line of the starter: explanation, a key that is set, or an example
/// that is commented out (and set by the tests, which check that every
/// example parses).
#[derive(Debug)]
enum Line {
    Prose(String),
    Active(String),
    Example(String),
    Blank,
}

#[derive(Debug, Default)]
struct Lines(Vec<Line>);

impl Lines {
    fn prose(&mut self, text: impl Into<String>) -> &mut Self {
        self.0.push(Line::Prose(text.into()));
        self
    }

    fn active(&mut self, text: impl Into<String>) -> &mut Self {
        self.0.push(Line::Active(text.into()));
        self
    }

    fn example(&mut self, text: impl Into<String>) -> &mut Self {
        self.0.push(Line::Example(text.into()));
        self
    }

    fn blank(&mut self) -> &mut Self {
        self.0.push(Line::Blank);
        self
    }

    /// The text; with `activate`, the examples are set instead of commented.
    fn render(&self, activate: bool) -> String {
        let mut out = String::new();
        for line in &self.0 {
            match line {
                Line::Prose(text) => {
                    out.push_str("# ");
                    out.push_str(text);
                }
                Line::Active(text) => out.push_str(text),
                Line::Example(text) if activate => out.push_str(text),
                Line::Example(text) => {
                    out.push_str("# ");
                    out.push_str(text);
                }
                Line::Blank => {}
            }
            out.push('\n');
        }
        out
    }
}

/// What the starter is written from.
struct Starter<'a> {
    data: &'a Path,
    format: DataFormat,
    schema: &'a Schema,
    target: &'a str,
    name: &'a str,
    task: TaskKind,
    base_path: &'a Path,
}

impl Starter<'_> {
    fn lines(&self) -> Lines {
        let mut lines = Lines::default();
        self.header(&mut lines);
        self.data_section(&mut lines);
        self.schema_section(&mut lines);
        self.features_section(&mut lines);
        self.model_section(&mut lines);
        self.gates_section(&mut lines);
        self.push_section(&mut lines);
        self.rollback_and_watch(&mut lines);
        lines
    }

    /// The feature columns (every column but the target).
    fn features(&self) -> impl Iterator<Item = (&String, &DataType)> {
        self.schema
            .fields()
            .iter()
            .filter(|f| f.name() != self.target)
            .map(|f| (f.name(), f.data_type()))
    }

    /// The metric the examples put thresholds on.
    fn metric(&self) -> &'static str {
        match self.task {
            TaskKind::Regression => "r2",
            _ => "accuracy",
        }
    }

    fn header(&self, lines: &mut Lines) {
        let file = self
            .data
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        lines
            .active(format!("#:schema {PIPELINE_SCHEMA_URL}"))
            .prose(format!(
                "mlrig.toml: a pipeline that predicts `{}` from {file} (written by `mlrig init`).",
                self.target
            ))
            .prose("Run it with `mlrig run mlrig.toml`; the guide is docs/pipeline.md.")
            .prose("Relative paths are relative to the directory of this file. Commented lines")
            .prose(
                "show options with an example value; the defaults apply while they stay commented.",
            )
            .blank()
            .prose("Versions are pushed as <push.base_path>/<name>/<version>.")
            .active(format!("name = {}", quoted(self.name)))
            .prose("Where the pipeline keeps its state: step artifacts, run records, history.json.")
            .example("root = \"pipeline\"")
            .blank();
    }

    fn data_section(&self, lines: &mut Lines) {
        let file = self.data.to_string_lossy();
        lines
            .active("[data]")
            .prose("Files or glob patterns; every matching file is a span, ordered by file name")
            .prose(
                "(e.g. [\"spans/day-*.csv\"]: a new file is a new span for `mlrig run --watch`).",
            )
            .active(format!("files = [{}]", quoted(&file)))
            .active(format!("target = {}", quoted(self.target)))
            .prose("Train on the newest N spans only (default: all of them).")
            .example("window = 7")
            .prose("Evaluation rows: row i is held out iff i % 5 == 4 (the default below), or")
            .prose("{ type = \"hash_key\", eval_fraction = 0.2 } to hold out a stable fraction.")
            .example("split = { type = \"modulo\", modulus = 5, eval_remainders = [4] }");
        if self.format == DataFormat::Csv {
            lines
                .prose("CSV files: the delimiter (\"\\t\" for tab) and whether they have a header row.")
                .example("delimiter = \",\"")
                .example("header = true");
        }
        lines
            .prose("Tokens read as missing values (default: \"\", NA, N/A, NaN, null, ?).")
            .example("missing = [\"\", \"NA\", \"?\"]");
        if let Some((column, _)) = self.features().next() {
            lines
                .prose("Forced column types: bool, int64, float64 or utf8.")
                .example(format!("column_types = {{ {} = \"utf8\" }}", key(column)));
        }
        if let Some((column, _)) = self
            .features()
            .find(|(_, t)| matches!(t, DataType::Utf8 | DataType::Boolean))
        {
            lines
                .prose(
                    "Columns whose values slice the evaluation (per-slice metrics and thresholds).",
                )
                .example(format!("slices = [{}]", quoted(column)));
        }
        lines
            .prose("A timestamp column whose newest value the bundle records (the data age at serving).")
            .example("time_column = \"event_time\"")
            .blank();
    }

    fn schema_section(&self, lines: &mut Lines) {
        lines
            .active("[schema]")
            .prose("The curated schema (tensorflow-metadata JSON) the data is validated against:")
            .prose(
                "the first run writes it from the training statistics; afterwards only you change",
            )
            .prose(
                "it (by hand or with `mlrig infer-schema --update`), so new data never relaxes it.",
            )
            .active("path = \"schema.json\"")
            .prose("Bound numeric columns by the ranges of the first run's data (default: numbers may move).")
            .example("infer_numeric_ranges = true")
            .blank();
    }

    fn features_section(&self, lines: &mut Lines) {
        lines
            .prose("The feature pipeline (default: inferred from the column types). Either a spec")
            .prose("here, or `file = \"features.toml\"` (docs/schemas/feature-spec.schema.json), e.g.:")
            .example("[features.spec]")
            .example("columns = [");
        for (name, data_type) in self.features() {
            let transform = match data_type {
                DataType::Int64 | DataType::Float64 => {
                    "impute = \"mean\", encode = \"standard_scale\""
                }
                DataType::Utf8 | DataType::Boolean => {
                    "impute = \"most_frequent\", encode = \"one_hot\""
                }
                _ => "encode = \"drop\"",
            };
            lines.example(format!("    {{ name = {}, {transform} }},", quoted(name)));
        }
        lines.example("]").blank();
    }

    fn model_section(&self, lines: &mut Lines) {
        let (task, why) = match self.task {
            TaskKind::Regression => ("regression", "numeric values"),
            _ => ("classification", "classes"),
        };
        lines
            .active("[model]")
            .prose(format!(
                "Inferred from the values of `{}` ({why}); \"auto\" decides at every run.",
                self.target
            ))
            .active(format!("task = \"{task}\""))
            .prose("Keep training the serving version on the new window instead of refitting")
            .prose("(sgd_classifier / sgd_regressor: more epochs; gbdt: added rounds).")
            .example("warm_start = true")
            .prose(format!(
                "The model (default: {} regression). Any family of docs/schemas/model-spec.schema.json:",
                match self.task {
                    TaskKind::Regression => "linear",
                    _ => "logistic",
                }
            ))
            .example("[model.spec.gbdt]")
            .example("rounds = 200")
            .example("learning_rate = 0.05")
            .example("max_leaves = 31")
            .blank();
    }

    fn gates_section(&self, lines: &mut Lines) {
        let metric = self.metric();
        let floor = match self.task {
            TaskKind::Regression => "0.5",
            _ => "0.8",
        };
        lines
            .active("[gates]")
            .prose("The candidate is compared with the version serving now (\"serving\") or nothing (\"none\").")
            .active("baseline = \"serving\"")
            .prose("A suspected label leak blocks the run (\"block\") or is only reported (\"warn\").")
            .active("leakage_policy = \"block\"")
            .blank()
            .prose("Anomalies against the curated schema that block the run: \"all\" or kinds such as")
            .prose("\"SCHEMA_MISSING_COLUMN\"; `allow` lists kinds that are only reported.")
            .active("[gates.anomalies]")
            .active("block = [\"all\"]")
            .example("allow = [\"ENUM_TYPE_UNEXPECTED_STRING_VALUES\"]")
            .blank()
            .prose("Thresholds the candidate must meet (docs/schemas/blessing-thresholds.schema.json);")
            .prose("by default it may be at most 0.01 worse than the baseline on the headline metric.")
            .example("[gates.blessing]")
            .example(format!("min = {{ {metric} = {floor} }}"))
            .example(format!("max_drop = {{ {metric} = 0.01 }}"))
            .blank();
    }

    fn push_section(&self, lines: &mut Lines) {
        let base_path = self.base_path.to_string_lossy();
        lines
            .active("[push]")
            .prose("Blessed versions land in <base_path>/<name>/<version> by an atomic rename, so")
            .prose(format!(
                "`mlrig serve --model-base-path {}` picks each one up whole.",
                Path::new(base_path.as_ref()).join(self.name).display()
            ))
            .active(format!("base_path = {}", quoted(&base_path)))
            .prose("A server model config (`mlrig serve --model-config FILE`) whose label follows")
            .prose("each push and rollback.")
            .example("model_config = \"models.toml\"")
            .example("label = \"stable\"")
            .blank();
    }

    fn rollback_and_watch(&self, lines: &mut Lines) {
        lines
            .prose(
                "Within grace_period of its push, each run scores the pushed version and the one",
            )
            .prose("before it on the newest span: worse by more than max_drop (default 0.01 on the")
            .prose("headline metric), or flagged by the server's live monitoring, rolls it back.")
            .example("[rollback]")
            .example("grace_period = \"7d\"")
            .example(format!("max_drop = {{ {} = 0.02 }}", self.metric()))
            .example("monitoring_url = \"http://127.0.0.1:8501\"")
            .example("enabled = true")
            .blank()
            .prose("How often `mlrig run --watch` lists the data files.")
            .example("[watch]")
            .example("poll_interval = \"10s\"");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use mlrig_core::ParamGuard;

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/samples")
            .join(name)
    }

    /// The shipped samples, their targets and tasks.
    const SAMPLES: [(&str, &str, TaskKind); 6] = [
        ("adult_sample.csv", "income", TaskKind::Classification),
        ("california_sample.csv", "MedHouseVal", TaskKind::Regression),
        ("iris.csv", "species", TaskKind::Classification),
        ("penguins.csv", "body_mass_g", TaskKind::Regression),
        ("wine.csv", "class", TaskKind::Classification),
        ("adult_shifted.csv", "hours-per-week", TaskKind::Regression),
    ];

    /// The starter's lines, rebuilt the way `starter_config` builds them.
    fn lines_of(data: &Path, target: &str, task: TaskKind) -> Lines {
        let reader = DataReader::open(data, ReadOptions::default()).unwrap();
        let schema = reader.schema();
        Starter {
            data,
            format: reader.format(),
            schema: &schema,
            target,
            name: "m",
            task,
            base_path: Path::new("models"),
        }
        .lines()
    }

    #[test]
    fn starter_configs_of_the_samples_parse_with_their_defaults() {
        for (file, target, task) in SAMPLES {
            let data = sample(file);
            let starter = starter_config(&data, target, &StarterOptions::default()).unwrap();
            assert_eq!(starter.task, task, "{file}");
            let config = PipelineConfig::from_toml_str(&starter.toml, "mlrig.toml")
                .unwrap_or_else(|e| panic!("{file}: {e}\n{}", starter.toml));
            assert_eq!(config.name, file.trim_end_matches(".csv"));
            assert_eq!(config.data.files, [data.to_string_lossy()]);
            assert_eq!(config.data.target, target);
            assert_eq!(config.model.task, task);
            assert_eq!(config.push.base_path, PathBuf::from("models"));
            assert_eq!(config.gates.anomalies.block, ["all"]);
            assert!(config.features.spec.is_none() && config.model.spec.is_none());
            assert!(starter.columns.iter().any(|c| c == target), "{file}");
            // Every column is named in the features example.
            for column in starter.columns.iter().filter(|c| *c != target) {
                assert!(
                    starter
                        .toml
                        .contains(&format!("#     {{ name = {},", quoted(column))),
                    "{file}: {column} is not in the features example\n{}",
                    starter.toml
                );
            }
            assert!(starter.toml.starts_with("#:schema "), "{}", starter.toml);
        }
    }

    #[test]
    fn starter_examples_parse_when_uncommented() {
        for (file, target, task) in SAMPLES {
            let text = lines_of(&sample(file), target, task).render(true);
            let config = PipelineConfig::from_toml_str(&text, "mlrig.toml")
                .unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
            let spec = config.features.spec.clone().expect("the features example");
            assert_eq!(spec.columns.len(), config_columns(&sample(file)) - 1);
            mlrig_features::FeaturePipelineParams::new(spec)
                .check()
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(matches!(
                config.model.spec,
                Some(mlrig_train::ModelSpec::Gbdt(_))
            ));
            assert!(config.model.warm_start);
            assert_eq!(config.data.window, Some(7));
            assert!(config.schema.infer_numeric_ranges);
            assert_eq!(config.rollback.grace_period.as_secs(), 7 * 24 * 3600);
            assert_eq!(config.watch.poll_interval.as_secs(), 10);
            let metric = if task == TaskKind::Regression {
                "r2"
            } else {
                "accuracy"
            };
            assert!(config.gates.blessing.min.contains_key(metric), "{file}");
            assert!(config.rollback.max_drop.contains_key(metric), "{file}");
            assert_eq!(
                config.gates.anomalies.allow,
                ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]
            );
        }
    }

    fn config_columns(data: &Path) -> usize {
        DataReader::open(data, ReadOptions::default())
            .unwrap()
            .schema()
            .fields()
            .len()
    }

    #[test]
    fn starter_names_file_and_columns_when_the_target_is_missing() {
        let data = sample("california_sample.csv");
        let error = starter_config(&data, "price", &StarterOptions::default()).unwrap_err();
        assert!(matches!(error, PipelineError::MissingTarget { .. }));
        let message = error.to_string();
        assert!(message.contains("california_sample.csv"), "{message}");
        assert!(
            message.contains("MedHouseVal") && message.contains("MedInc"),
            "{message}"
        );
        assert!(error.is_invalid_input());
    }

    #[test]
    fn starter_options_set_name_and_base_path_and_bad_names_are_refused() {
        let data = sample("iris.csv");
        let options = StarterOptions::default()
            .with_name("flowers \"v2\"")
            .with_base_path("serving models");
        let starter = starter_config(&data, "species", &options).unwrap();
        let config = PipelineConfig::from_toml_str(&starter.toml, "mlrig.toml").unwrap();
        assert_eq!(config.name, "flowers \"v2\"");
        assert_eq!(config.push.base_path, PathBuf::from("serving models"));

        let error = starter_config(
            &data,
            "species",
            &StarterOptions::default().with_name("a/b"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("name: expected"), "{error}");
    }

    #[test]
    fn starter_of_an_empty_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("empty.csv");
        std::fs::write(&data, "a,b\n").unwrap();
        let error = starter_config(&data, "b", &StarterOptions::default()).unwrap_err();
        assert!(error.to_string().contains("no usable rows"), "{error}");
    }

    #[test]
    fn default_names_drop_extensions_and_unusable_characters() {
        assert_eq!(default_name(Path::new("spans/day-1.csv.gz")), "day-1");
        assert_eq!(default_name(Path::new("adult_sample.csv")), "adult_sample");
        assert_eq!(default_name(Path::new(".hidden.csv")), "hidden");
        assert_eq!(default_name(Path::new("my data.jsonl")), "my_data");
        assert_eq!(default_name(Path::new("..")), "model");
    }

    #[test]
    fn keys_are_bare_when_toml_allows() {
        assert_eq!(key("age"), "age");
        assert_eq!(key("hours-per-week"), "hours-per-week");
        assert_eq!(key("native country"), "\"native country\"");
        assert_eq!(key("é"), "\"é\"");
    }

    #[test]
    fn written_starters_with_a_typo_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let starter = starter_config(
            &sample("adult_sample.csv"),
            "income",
            &StarterOptions::default(),
        )
        .unwrap();
        let path = dir.path().join("mlrig.toml");
        let cases = [
            ("target = ", "targte = ", "unknown field `targte`"),
            ("base_path = \"models\"", "base_path = 3", "invalid type"),
            ("block = [\"all\"]", "block = \"all\"", "invalid type"),
            ("[gates]", "[gate]", "unknown field `gate`"),
        ];
        for (from, to, expected) in cases {
            assert!(starter.toml.contains(from), "{from}");
            let edited = starter.toml.replacen(from, to, 1);
            std::fs::write(&path, &edited).unwrap();
            let line = edited
                .lines()
                .position(|l| l.contains(to.trim_end()))
                .unwrap()
                + 1;
            let message = PipelineConfig::from_file(&path).unwrap_err().to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(
                message.contains(&format!("line {line}, column")),
                "{to}: {message}"
            );
            assert!(message.contains(expected), "{to}: {message}");
        }
    }
}
