//! File names inside a model bundle (DESIGN.md "Model bundle") and the
//! monitoring baselines read from them ([`BundleBaselines`]).

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use mlrig_core::arrow_schema::{DataType, Field, Schema as ArrowSchema};
use mlrig_core::{ModelBundle, Predictions, ServedPredictions};
use mlrig_validate::{DatasetStatistics, Schema, StatisticsParams, compute_statistics};

use crate::PipelineError;

pub use mlrig_core::{PREDICTED_CLASS_FEATURE, PREDICTION_STATISTICS_FILE, SCORE_FEATURE};

/// The training schema, tensorflow-metadata JSON.
pub const SCHEMA_FILE: &str = "schema.json";
/// The training statistics, tensorflow-metadata JSON.
pub const STATISTICS_FILE: &str = "statistics.json";
/// The fitted feature pipeline (an artifact).
pub const FEATURES_FILE: &str = "features.json";
/// The fitted model (an artifact).
pub const MODEL_FILE: &str = "model.json";
/// Metrics and the blessing decision (an artifact).
pub const EVALUATION_FILE: &str = "evaluation.json";
/// A few (at most [`WARMUP_RECORDS`](crate::WARMUP_RECORDS)) evaluation
/// rows as JSON records, one per line: the warm-up requests a server sends
/// a version before making it available.
pub const WARMUP_FILE: &str = "warmup.jsonl";

/// What a server compares live traffic with, read from one bundle version:
/// the training statistics and schema, the statistics of the model's
/// predictions on the evaluation rows, and when the training data's newest
/// row dates from. Each part is `None` in a bundle written before it existed.
///
/// ```
/// use mlrig_pipeline::{BundleBaselines, ModelBundle, TrainingJob};
/// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/california_sample.csv");
/// let out = tempfile::tempdir()?;
/// let report = TrainingJob::new(data, "MedHouseVal").with_output_dir(out.path()).run()?;
/// let baselines = BundleBaselines::read(&ModelBundle::open(&report.bundle_dir)?)?;
/// assert!(baselines.statistics.is_some() && baselines.schema.is_some());
/// let predictions = baselines.predictions.unwrap();
/// assert_eq!(predictions.num_examples(), report.eval_rows as u64);
/// assert!(predictions.feature(mlrig_pipeline::SCORE_FEATURE).is_some());
/// assert_eq!(baselines.data_newest_row_unix, None); // no time column named
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BundleBaselines {
    /// `statistics.json`: the training rows' statistics (the skew reference).
    pub statistics: Option<DatasetStatistics>,
    /// `schema.json`: the training schema (its drift/skew comparators).
    pub schema: Option<Schema>,
    /// `prediction_statistics.json`: statistics of the model's predictions on
    /// the evaluation rows (the prediction-drift reference).
    pub predictions: Option<DatasetStatistics>,
    /// The manifest's `data_newest_row`, as seconds since the Unix epoch.
    pub data_newest_row_unix: Option<i64>,
    /// The manifest's `created_at`, as seconds since the Unix epoch.
    pub created_at_unix: u64,
}

impl BundleBaselines {
    /// Reads the baselines of an opened bundle (its files were checked
    /// against the manifest when it was opened). A file the manifest does
    /// not list is `None`; a listed file that does not parse is an error
    /// naming it.
    pub fn read(bundle: &ModelBundle) -> Result<Self, PipelineError> {
        Ok(Self {
            statistics: read_tfmd(bundle, STATISTICS_FILE, DatasetStatistics::from_tfmd_json)?,
            schema: read_tfmd(bundle, SCHEMA_FILE, Schema::from_tfmd_json)?,
            predictions: read_tfmd(
                bundle,
                PREDICTION_STATISTICS_FILE,
                DatasetStatistics::from_tfmd_json,
            )?,
            data_newest_row_unix: bundle.data_newest_row_unix()?,
            created_at_unix: bundle.created_at_unix()?,
        })
    }
}

/// Parses `file` of `bundle` when the manifest lists it.
fn read_tfmd<T>(
    bundle: &ModelBundle,
    file: &str,
    parse: impl FnOnce(&str) -> Result<T, mlrig_validate::ValidateError>,
) -> Result<Option<T>, PipelineError> {
    if !bundle.manifest().files.contains_key(file) {
        return Ok(None);
    }
    let path = bundle.file_path(file)?;
    let text = std::fs::read_to_string(&path).map_err(|e| mlrig_core::Error::io(&path, e))?;
    parse(&text)
        .map(Some)
        .map_err(|e| PipelineError::InconsistentBundle {
            path: bundle.dir().to_path_buf(),
            reason: format!("{file}: {e}"),
        })
}

/// The statistics parameters of `statistics.json` and
/// `prediction_statistics.json` (the same, so they compare like for like).
pub(crate) fn bundle_statistics_params() -> StatisticsParams {
    StatisticsParams::default()
}

/// Predictions as the rows of `prediction_statistics.json`:
/// [`PREDICTED_CLASS_FEATURE`] (classifiers: the predicted label) and
/// [`SCORE_FEATURE`] (the predicted class's probability, or the predicted
/// value), exactly what [`ServedPredictions`] carries for served requests.
///
/// ```
/// use mlrig_core::{Predictions, ndarray::array};
/// use mlrig_core::arrow_array::cast::AsArray;
/// let p = Predictions::Classification {
///     classes: vec!["no".into(), "yes".into()],
///     probabilities: array![[0.9, 0.1], [0.3, 0.7]],
/// };
/// let batch = mlrig_pipeline::prediction_batch(&p)?;
/// assert_eq!(batch.column(0).as_string::<i32>().value(1), "yes");
/// assert_eq!(batch.column(1).as_primitive::<mlrig_core::arrow_array::types::Float64Type>().value(1), 0.7);
/// let r = Predictions::Regression { values: array![2.5] };
/// assert_eq!(mlrig_pipeline::prediction_batch(&r)?.num_columns(), 1); // score only
/// # Ok::<(), mlrig_pipeline::PipelineError>(())
/// ```
pub fn prediction_batch(predictions: &Predictions) -> Result<RecordBatch, PipelineError> {
    let served = ServedPredictions::new("", 0, predictions);
    let mut fields = Vec::with_capacity(2);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(2);
    if let (Predictions::Classification { classes, .. }, Some(labels)) =
        (predictions, predictions.labels())
    {
        let names: Vec<Option<&str>> = labels
            .iter()
            .map(|&l| classes.get(l).map(String::as_str))
            .collect();
        fields.push(Field::new(PREDICTED_CLASS_FEATURE, DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(names)));
    }
    fields.push(Field::new(SCORE_FEATURE, DataType::Float64, true));
    columns.push(Arc::new(Float64Array::from(served.scores)));
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns)
        .map_err(|e| PipelineError::from(mlrig_core::Error::from(e)))
}

/// The statistics of `predictions` written as `prediction_statistics.json`.
pub(crate) fn prediction_statistics(
    predictions: &Predictions,
) -> Result<DatasetStatistics, PipelineError> {
    let batch = prediction_batch(predictions)?;
    let schema = batch.schema();
    Ok(compute_statistics(
        &[batch],
        &schema,
        &bundle_statistics_params(),
    )?)
}
