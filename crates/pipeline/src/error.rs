//! The error type of `mlrig-pipeline`: the component errors it composes, and its own.

use std::path::PathBuf;

/// Everything that can go wrong while training or serving a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Reading the data failed.
    #[error(transparent)]
    Ingest(#[from] mlrig_ingest::IngestError),
    /// Statistics, schema inference or validation failed.
    #[error(transparent)]
    Validate(#[from] mlrig_validate::ValidateError),
    /// Fitting or applying the feature pipeline failed.
    #[error(transparent)]
    Features(#[from] mlrig_features::FeaturesError),
    /// Training or evaluating the model failed.
    #[error(transparent)]
    Train(#[from] mlrig_train::TrainError),
    /// Writing or reading the bundle failed.
    #[error(transparent)]
    Core(#[from] mlrig_core::Error),
    /// A prediction table or the request log of a server cannot be set up.
    #[error(transparent)]
    Serve(#[from] mlrig_serve::ServeError),
    /// A monitoring error (e.g. predictions that cannot form a prediction dataset).
    #[error(transparent)]
    Monitor(#[from] mlrig_monitor::MonitorError),
    /// The target column is not in the data.
    #[error("{}: no target column `{target}`; the columns are: {available}", file.display())]
    MissingTarget {
        /// The data file.
        file: PathBuf,
        /// The requested target.
        target: String,
        /// The columns found, comma separated.
        available: String,
    },
    /// The split left no rows on one side.
    #[error("{}: the split put {train} rows in training and {eval} in evaluation; both need rows (use more data or another split)", file.display())]
    EmptySplit {
        /// The data file.
        file: PathBuf,
        /// Rows for training.
        train: usize,
        /// Rows for evaluation.
        eval: usize,
    },
    /// A bundle's files do not fit together.
    #[error("{}: inconsistent bundle: {reason}", path.display())]
    InconsistentBundle {
        /// The bundle directory.
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// A model directory holds no version to serve.
    #[error("{}: no model version found; expected <base>/<name>/<version>/manifest.json (create one with `mlrig train`)", path.display())]
    NoModel {
        /// The directory given.
        path: PathBuf,
    },
    /// A model directory has versions, but none passed its evaluation gate.
    #[error(
        "{}: no blessed version to serve (versions {versions:?} all failed their evaluation thresholds); \
         pass a version directory (or, to mlrig predict, --version N) to use one anyway, or retrain",
        path.display()
    )]
    NoBlessedModel {
        /// The model directory.
        path: PathBuf,
        /// The versions found.
        versions: Vec<u64>,
    },
    /// A limit of the alerting rules (`mlrig alerts`) is out of range.
    #[error("alert rules: {name}: {reason}")]
    InvalidAlertLimit {
        /// The limit (or threshold) named.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A blessing threshold names a metric the task does not compute.
    #[error("threshold on unknown metric `{metric}`; this task computes: {available}")]
    UnknownMetric {
        /// The metric named.
        metric: String,
        /// The metrics the task computes, comma separated.
        available: String,
    },
    /// A column named by the user (a slice) is not in the data.
    #[error("no column `{column}`; the columns are: {available}")]
    MissingColumn {
        /// The column asked for.
        column: String,
        /// The columns found, comma separated.
        available: String,
    },
    /// The time column named for the data age
    /// ([`TrainingJob::with_time_column`](crate::TrainingJob::with_time_column))
    /// is missing, has a type that is not a time, or holds no readable time.
    #[error("time column `{column}`: {reason}")]
    TimeColumn {
        /// The column.
        column: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A slice column has a type that cannot be sliced on.
    #[error(
        "cannot slice on column `{column}` of type {found}; slice on a string, integer, float or boolean column"
    )]
    UnsupportedSlice {
        /// The column.
        column: String,
        /// Its Arrow type.
        found: String,
    },
    /// The model asked for solves another task than the one asked for.
    #[error(
        "model `{model}` solves {model_task} but the task is {task}; pick a {task} model, or change the task (--task for mlrig train, model.task in mlrig.toml)"
    )]
    ModelTaskMismatch {
        /// The model family.
        model: String,
        /// What the model solves.
        model_task: String,
        /// The task asked for.
        task: String,
    },
    /// The prediction table's file name has no known extension.
    #[error("{}: unknown output format; name the file .csv, .parquet or .jsonl", path.display())]
    UnsupportedOutput {
        /// The output path.
        path: PathBuf,
    },
    /// The key column asked for is not in the data.
    #[error("{}: no key column `{column}`; the columns are: {available} (pick one of them with --key)", file.display())]
    MissingKey {
        /// The data file.
        file: PathBuf,
        /// The key column asked for.
        column: String,
        /// The columns found, comma separated.
        available: String,
    },
    /// Columns the model reads are not in the data.
    #[error(
        "{}: model `{model}` reads columns the data lacks: {missing}; the columns are: {available} \
         (add the columns, empty if unknown, or score data with the training columns)",
        file.display()
    )]
    MissingModelInputs {
        /// The data file.
        file: PathBuf,
        /// The model's name.
        model: String,
        /// The missing columns, comma separated.
        missing: String,
        /// The columns found, comma separated.
        available: String,
    },
    /// Two columns of the prediction table would have the same name.
    #[error(
        "the prediction table would have two columns named `{column}` (an input column has the name of a \
         prediction column); rename the input column or drop --with-input"
    )]
    OutputColumnClash {
        /// The duplicated name.
        column: String,
    },
    /// The directory given holds model directories, not versions.
    #[error("{}: a directory of models ({models}), not of versions; pass one model directory, e.g. {}", path.display(), path.join(models.split(", ").next().unwrap_or_default()).display())]
    ModelsNotVersions {
        /// The directory given.
        path: PathBuf,
        /// The models found in it, comma separated.
        models: String,
    },
    /// A version was asked for in a version directory rather than a model directory.
    #[error(
        "{}: a version directory, not a model directory; pass its model directory ({}) with --version {version}, \
         or drop --version to use this version",
        path.display(), model_dir.display()
    )]
    VersionOfVersion {
        /// The version directory given.
        path: PathBuf,
        /// Its model directory.
        model_dir: PathBuf,
        /// The version asked for.
        version: u64,
    },
    /// The prediction table's directory does not exist.
    #[error(
        "{}: directory {} does not exist; create it (mkdir -p {}) or write the table elsewhere",
        out.display(), dir.display(), dir.display()
    )]
    OutputDirMissing {
        /// The table's path.
        out: PathBuf,
        /// Its missing directory.
        dir: PathBuf,
    },
    /// The prediction table would replace a file the run reads or writes.
    #[error(
        "{}: --out is also the {what} ({}); write the predictions to another file, e.g. {}",
        out.display(), other.display(), suggestion.display()
    )]
    OutputOverwrites {
        /// The table's path.
        out: PathBuf,
        /// Which file it would replace: "data file" or "quarantine file".
        what: String,
        /// That file's path.
        other: PathBuf,
        /// A path that would not clash.
        suggestion: PathBuf,
    },
    /// The version asked for is not in the model directory.
    #[error("{}: no version {version} (versions found: {versions:?}); pick one of them or drop --version", path.display())]
    NoSuchVersion {
        /// The model directory.
        path: PathBuf,
        /// The version asked for.
        version: u64,
        /// The versions found.
        versions: Vec<u64>,
    },
    /// A worker thread panicked (a bug: please report it).
    #[error("{what} panicked; this is a bug, please report it")]
    Panicked {
        /// Which thread.
        what: String,
    },
    /// A request log file (or the offline monitor's options) cannot be used.
    #[error("{}: not a usable request log: {reason}", path.display())]
    InvalidRequestLog {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An option of a job is out of range.
    #[error("{option}: {reason}")]
    InvalidOption {
        /// The option.
        option: String,
        /// What is wrong.
        reason: String,
    },
    /// A report input is not what its option expects.
    #[error("{}: {reason}; expected {expected}", path.display())]
    ReportInput {
        /// The file.
        path: std::path::PathBuf,
        /// What the option expects (e.g. `the JSON output of mlrig drift`).
        expected: String,
        /// What is wrong with the file.
        reason: String,
    },
    /// The pipeline config (`mlrig.toml`) is not valid.
    #[error("{}: {message}", file.display())]
    Config {
        /// The config file.
        file: PathBuf,
        /// Where (line, column or key) and what is wrong.
        message: String,
    },
    /// The pipeline's state (its artifact store, run records) cannot be used.
    #[error("{}: {reason}", path.display())]
    PipelineState {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A feature file that cannot be written or read as asked.
    #[error("{}: {reason}", path.display())]
    FeatureFile {
        /// The feature file.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// JSON could not be written.
    #[error("{context}: {source}")]
    Json {
        /// What was being written.
        context: String,
        /// The serde_json error.
        #[source]
        source: serde_json::Error,
    },
}

impl PipelineError {
    /// `true` when the error is caused by the caller's input (data, files,
    /// options, the model directory given) rather than by the system; a
    /// component's error keeps its own crate's answer (e.g.
    /// [`FeaturesError::is_invalid_input`](mlrig_features::FeaturesError::is_invalid_input)),
    /// and its [`source`](std::error::Error::source) chain.
    ///
    /// ```
    /// use mlrig_pipeline::PipelineError;
    /// let e = PipelineError::from(mlrig_validate::ValidateError::UnknownEnvironment {
    ///     environment: "SERVING".into(),
    ///     known: "TRAINING".into(),
    /// });
    /// assert!(e.is_invalid_input());
    /// let e = PipelineError::from(mlrig_features::FeaturesError::MissingColumn {
    ///     column: "age".into(),
    ///     available: "sex".into(),
    /// });
    /// assert!(e.is_invalid_input());
    /// let e = PipelineError::from(mlrig_train::TrainError::Numerical {
    ///     what: "normal equations".into(),
    ///     reason: "singular".into(),
    /// });
    /// assert!(!e.is_invalid_input());
    /// let io = PipelineError::from(mlrig_core::Error::io(
    ///     "bundle/manifest.json",
    ///     std::io::Error::other("disk on fire"),
    /// ));
    /// assert!(!io.is_invalid_input());
    /// assert!(std::error::Error::source(&io).is_some());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        match self {
            PipelineError::Ingest(e) => e.is_invalid_input(),
            PipelineError::Validate(e) => e.is_invalid_input(),
            PipelineError::Features(e) => e.is_invalid_input(),
            PipelineError::Train(e) => e.is_invalid_input(),
            PipelineError::Core(e) => e.is_invalid_input(),
            // A bad table file is the caller's input.
            PipelineError::Serve(e) => {
                e.is_invalid_input() || matches!(e, mlrig_serve::ServeError::PredictionTable { .. })
            }
            PipelineError::MissingTarget { .. }
            | PipelineError::EmptySplit { .. }
            | PipelineError::InconsistentBundle { .. }
            | PipelineError::NoModel { .. }
            | PipelineError::NoBlessedModel { .. }
            | PipelineError::UnknownMetric { .. }
            | PipelineError::InvalidAlertLimit { .. }
            | PipelineError::ModelTaskMismatch { .. }
            | PipelineError::MissingColumn { .. }
            | PipelineError::TimeColumn { .. }
            | PipelineError::UnsupportedSlice { .. }
            | PipelineError::UnsupportedOutput { .. }
            | PipelineError::MissingKey { .. }
            | PipelineError::MissingModelInputs { .. }
            | PipelineError::OutputColumnClash { .. }
            | PipelineError::NoSuchVersion { .. }
            | PipelineError::ModelsNotVersions { .. }
            | PipelineError::OutputOverwrites { .. }
            | PipelineError::VersionOfVersion { .. }
            | PipelineError::OutputDirMissing { .. }
            | PipelineError::InvalidRequestLog { .. }
            | PipelineError::InvalidOption { .. }
            | PipelineError::ReportInput { .. }
            | PipelineError::Config { .. }
            | PipelineError::FeatureFile { .. } => true,
            PipelineError::Json { .. }
            | PipelineError::Panicked { .. }
            | PipelineError::PipelineState { .. }
            | PipelineError::Monitor(_) => false,
        }
    }
}
