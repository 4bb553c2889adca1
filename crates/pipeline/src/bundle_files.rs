//! File names inside a model bundle (DESIGN.md "Model bundle") and the
//! monitoring baselines read from them ([`BundleBaselines`]).

use mlrig_core::arrow_array::RecordBatch;
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
pub(crate) fn read_tfmd<T>(
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
    // A classifier's row without a class (no class columns) is a missing class.
    let labels: Option<Vec<Option<&str>>> = match predictions {
        Predictions::Classification { classes, .. } => Some(match predictions.labels() {
            Some(labels) => labels
                .iter()
                .map(|&l| classes.get(l).map(String::as_str))
                .collect(),
            None => vec![None; served.scores.len()],
        }),
        _ => None,
    };
    mlrig_monitor::prediction_batch(labels.as_deref(), &served.scores).map_err(PipelineError::from)
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

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::Array;
    use mlrig_core::arrow_array::cast::AsArray;
    use mlrig_core::arrow_array::types::Float64Type;
    use mlrig_core::ndarray::Array2;
    use proptest::prelude::*;

    #[test]
    fn a_classification_without_class_columns_is_null_classes_not_a_panic() {
        let predictions = Predictions::Classification {
            classes: Vec::new(),
            probabilities: Array2::zeros((3, 0)),
        };
        let batch = prediction_batch(&predictions).unwrap();
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(batch.column(0).null_count(), 3);
        let scores = batch.column(1).as_primitive::<Float64Type>();
        assert!(scores.values().iter().all(|s| s.is_nan()));
    }

    proptest! {
        /// The rows of `prediction_statistics.json` are what a server
        /// summarises for the same predictions: one predicted class per
        /// row whose counts are `ServedPredictions::class_counts`, and the
        /// scores `ServedPredictions::scores`, row by row (ties included:
        /// probabilities come from a few levels so rows often tie).
        #[test]
        fn prediction_rows_match_served_predictions(
            classes in 2usize..5,
            levels in proptest::collection::vec(0u8..4, 1..60),
        ) {
            let rows = levels.len() / classes;
            prop_assume!(rows > 0);
            let values: Vec<f64> = levels[..rows * classes].iter().map(|&l| f64::from(l) / 4.0).collect();
            let predictions = Predictions::Classification {
                classes: (0..classes).map(|c| format!("c{c}")).collect(),
                probabilities: Array2::from_shape_vec((rows, classes), values).unwrap(),
            };
            let served = ServedPredictions::new("m", 1, &predictions);
            let batch = prediction_batch(&predictions).unwrap();
            prop_assert_eq!(batch.num_rows(), rows);
            let names = batch.column_by_name(PREDICTED_CLASS_FEATURE).unwrap().as_string::<i32>();
            prop_assert_eq!(names.null_count(), 0);
            let counts: Vec<(String, u64)> = served
                .class_counts
                .iter()
                .map(|(class, _)| {
                    let n = names.iter().filter(|n| *n == Some(class.as_str())).count();
                    (class.clone(), n as u64)
                })
                .collect();
            prop_assert_eq!(counts, served.class_counts.clone());
            let scores = batch.column_by_name(SCORE_FEATURE).unwrap().as_primitive::<Float64Type>();
            prop_assert_eq!(scores.values().to_vec(), served.scores.clone());
            // The score is the probability of the named class.
            if let Predictions::Classification { probabilities, .. } = &predictions {
                for (row, name) in names.iter().enumerate() {
                    let class: usize = name.unwrap()[1..].parse().unwrap();
                    prop_assert_eq!(probabilities[[row, class]], scores.value(row));
                }
            }
        }

        /// Regression: one `score` column, the predicted values.
        #[test]
        fn regression_rows_are_the_values(values in proptest::collection::vec(-1e9f64..1e9, 1..40)) {
            let predictions = Predictions::Regression { values: values.clone().into() };
            let batch = prediction_batch(&predictions).unwrap();
            prop_assert_eq!(batch.num_columns(), 1);
            let scores = batch.column_by_name(SCORE_FEATURE).unwrap().as_primitive::<Float64Type>();
            prop_assert_eq!(scores.values().to_vec(), values.clone());
            prop_assert_eq!(ServedPredictions::new("m", 1, &predictions).scores, values);
        }
    }
}
