//! The training job: data file → model bundle.
//!
//! ```text
//! CSV ─ingest─▶ batches ─split─▶ train │ eval
//!   train ─▶ statistics ─▶ schema
//!   train ─▶ fit feature pipeline ─▶ Features ─▶ fit model
//!   eval  ─▶ same pipeline ─▶ Features ─▶ predict ─▶ metrics ─▶ blessing
//!   schema + statistics + features + model + evaluation ─▶ <out>/<name>/<version>/
//! ```

use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_core::arrow_schema::{DataType, SchemaRef};
use mlrig_core::{
    BundleWriter, FeatureMatrix, Features, Fingerprint, Fit, ParamGuard, Predictions, Task,
};
use mlrig_features::{FeaturePipelineParams, FeatureSpec, FittedFeaturePipeline};
use mlrig_ingest::{IngestSummary, ReadOptions, read_csv};
use mlrig_train::{
    BlessingThresholds, CLASSIFIER_METRICS, ClassTarget, Dataset, Evaluation,
    LinearRegressionParams, LogisticRegressionParams, Model, REGRESSOR_METRICS, RegressionTarget,
    SplitRule,
};
use mlrig_validate::{SchemaInferenceParams, StatisticsParams, compute_statistics, infer_schema};
use serde::Serialize;

use crate::PipelineError;
use crate::bundle_files::{
    EVALUATION_FILE, FEATURES_FILE, MODEL_FILE, SCHEMA_FILE, STATISTICS_FILE,
};

/// Which kind of model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskKind {
    /// Classification for string/boolean targets and integer targets with two values; regression otherwise.
    #[default]
    Auto,
    /// Least squares / ridge regression.
    Regression,
    /// Binary logistic regression.
    Classification,
}

/// Everything a training run needs; build with [`TrainingJob::new`] and the `with_*` methods.
///
/// ```no_run
/// use mlrig_pipeline::TrainingJob;
/// let report = TrainingJob::new("data/samples/adult_sample.csv", "income")
///     .with_name("adult")
///     .with_output_dir("models")
///     .run()?;
/// println!("{} AUC {:.3}", report.bundle_dir.display(), report.evaluation.metrics()["roc_auc"]);
/// # Ok::<(), mlrig_pipeline::PipelineError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrainingJob {
    data: PathBuf,
    target: String,
    name: String,
    output_dir: PathBuf,
    version: Option<u64>,
    csv: ReadOptions,
    split: SplitRule,
    spec: Option<FeatureSpec>,
    task: TaskKind,
    l2_penalty: f64,
    c: f64,
    thresholds: BlessingThresholds,
}

/// What a training run did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TrainingReport {
    /// The bundle directory written.
    pub bundle_dir: PathBuf,
    /// Model name and version.
    pub name: String,
    /// Bundle version.
    pub version: u64,
    /// Ingestion totals (rows read = accepted + quarantined).
    pub ingest: IngestSummary,
    /// Rows used for training and for evaluation.
    pub train_rows: usize,
    /// Rows held out for evaluation.
    pub eval_rows: usize,
    /// Number of feature columns after the transforms.
    pub feature_columns: usize,
    /// Metrics on the evaluation rows and the blessing decision.
    pub evaluation: Evaluation,
}

impl TrainingJob {
    /// A job training on `data` (CSV) to predict `target`. Defaults: model
    /// name = the file stem, output `models/`, next version, row `i` held out
    /// for evaluation iff `i % 5 == 4`, features inferred from the column
    /// types, task inferred from the target, ridge penalty 0, logistic C = 1.
    pub fn new(data: impl Into<PathBuf>, target: impl Into<String>) -> Self {
        let data = data.into();
        let name = data
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("model")
            .to_string();
        Self {
            data,
            target: target.into(),
            name,
            output_dir: PathBuf::from("models"),
            version: None,
            csv: ReadOptions::default(),
            split: SplitRule::Modulo {
                modulus: 5,
                eval_remainders: vec![4],
            },
            spec: None,
            task: TaskKind::Auto,
            l2_penalty: 0.0,
            c: 1.0,
            thresholds: BlessingThresholds::default(),
        }
    }

    /// The model name (directory under the output directory).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The base directory bundles are written under.
    pub fn with_output_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.output_dir = dir.into();
        self
    }

    /// A fixed version number (default: one more than the highest existing).
    pub fn with_version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    /// How to read the CSV file.
    pub fn with_csv_options(mut self, options: ReadOptions) -> Self {
        self.csv = options;
        self
    }

    /// How rows are split into training and evaluation.
    pub fn with_split(mut self, split: SplitRule) -> Self {
        self.split = split;
        self
    }

    /// An explicit feature spec instead of the inferred one.
    pub fn with_feature_spec(mut self, spec: FeatureSpec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// Force regression or classification.
    pub fn with_task(mut self, task: TaskKind) -> Self {
        self.task = task;
        self
    }

    /// Ridge penalty for regression (0 = ordinary least squares).
    pub fn with_l2_penalty(mut self, alpha: f64) -> Self {
        self.l2_penalty = alpha;
        self
    }

    /// Inverse regularization strength for logistic regression (scikit-learn's `C`).
    pub fn with_c(mut self, c: f64) -> Self {
        self.c = c;
        self
    }

    /// Metric thresholds the model must meet to be blessed.
    pub fn with_thresholds(mut self, thresholds: BlessingThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Runs the job and writes the bundle (atomically: staging dir + rename).
    pub fn run(&self) -> Result<TrainingReport, PipelineError> {
        let (schema, batches, ingest) = read_csv(&self.data, self.csv.clone())?;
        if schema.field_with_name(&self.target).is_err() {
            return Err(PipelineError::MissingTarget {
                file: self.data.clone(),
                target: self.target.clone(),
                available: mlrig_core::column_list(&schema),
            });
        }
        let (train, eval) = self.split_batches(&batches)?;
        let train_rows: usize = train.iter().map(RecordBatch::num_rows).sum();
        let eval_rows: usize = eval.iter().map(RecordBatch::num_rows).sum();
        if train_rows == 0 || eval_rows == 0 {
            return Err(PipelineError::EmptySplit {
                file: self.data.clone(),
                train: train_rows,
                eval: eval_rows,
            });
        }

        let task = self.resolve_task(&schema, &train)?;
        self.check_threshold_metrics(task)?;

        let statistics = compute_statistics(&train, &schema, &StatisticsParams::default())?;
        let data_schema = infer_schema(&statistics, &SchemaInferenceParams::default());

        let spec = match &self.spec {
            Some(spec) => spec.clone(),
            None => FeatureSpec::infer(&schema, &self.target)?,
        };
        let features = FeaturePipelineParams::new(spec)
            .check()?
            .fit(train.as_slice())?;
        let train_x = transform_all(&features, &train)?;
        let eval_x = transform_all(&features, &eval)?;

        let (model, metrics) = match task {
            TaskKind::Classification => {
                let y = class_target(&self.target, &train)?;
                let model = LogisticRegressionParams::default()
                    .with_c(self.c)
                    .check()?
                    .fit(&Dataset::new(&train_x, &y)?)?;
                let model = Model::from(model);
                let truth = positive_indicator(&self.target, &eval, &model)?;
                let scores = scores(mlrig_core::Predict::predict(&model, &eval_x)?)?;
                (model, mlrig_train::evaluate_classifier(&truth, &scores)?)
            }
            _ => {
                let y = regression_target(&self.target, &train)?;
                let model = LinearRegressionParams::default()
                    .with_l2_penalty(self.l2_penalty)
                    .check()?
                    .fit(&Dataset::new(&train_x, &y)?)?;
                let model = Model::from(model);
                let truth = regression_target(&self.target, &eval)?;
                let predicted = scores(mlrig_core::Predict::predict(&model, &eval_x)?)?;
                (
                    model,
                    mlrig_train::evaluate_regressor(truth.values(), &predicted)?,
                )
            }
        };
        let evaluation = Evaluation::new(
            model.task(),
            metrics,
            train_rows as u64,
            eval_rows as u64,
            self.thresholds.clone(),
        )?;

        let bundle_dir =
            self.write_bundle(&statistics, &data_schema, &features, &model, &evaluation)?;
        let version = bundle_dir.manifest().version;
        Ok(TrainingReport {
            bundle_dir: bundle_dir.dir().to_path_buf(),
            name: self.name.clone(),
            version,
            ingest: ingest.summary,
            train_rows,
            eval_rows,
            feature_columns: features.output_names().len(),
            evaluation,
        })
    }

    fn split_batches(
        &self,
        batches: &[RecordBatch],
    ) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), PipelineError> {
        let mut train = Vec::with_capacity(batches.len());
        let mut eval = Vec::with_capacity(batches.len());
        let mut first_row = 0u64;
        for batch in batches {
            let (t, e) = self.split.split_batch(batch, first_row, None)?;
            first_row += batch.num_rows() as u64;
            train.push(t);
            eval.push(e);
        }
        Ok((train, eval))
    }

    /// Refuses, before any work, a threshold on a metric the task does not compute.
    fn check_threshold_metrics(&self, task: TaskKind) -> Result<(), PipelineError> {
        let available: &[&str] = match task {
            TaskKind::Classification => &CLASSIFIER_METRICS,
            _ => &REGRESSOR_METRICS,
        };
        let named = self.thresholds.min.keys().chain(self.thresholds.max.keys());
        match named.into_iter().find(|m| !available.contains(&m.as_str())) {
            Some(metric) => Err(PipelineError::UnknownMetric {
                metric: metric.clone(),
                available: available.join(", "),
            }),
            None => Ok(()),
        }
    }

    fn resolve_task(
        &self,
        schema: &SchemaRef,
        train: &[RecordBatch],
    ) -> Result<TaskKind, PipelineError> {
        if self.task != TaskKind::Auto {
            return Ok(self.task);
        }
        let data_type = schema
            .field_with_name(&self.target)
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Utf8);
        Ok(match data_type {
            DataType::Utf8 | DataType::Boolean => TaskKind::Classification,
            DataType::Int64 => {
                let target = class_target(&self.target, train)?;
                if target.classes().len() == 2 {
                    TaskKind::Classification
                } else {
                    TaskKind::Regression
                }
            }
            _ => TaskKind::Regression,
        })
    }

    fn write_bundle(
        &self,
        statistics: &mlrig_validate::DatasetStatistics,
        schema: &mlrig_validate::Schema,
        features: &FittedFeaturePipeline,
        model: &Model,
        evaluation: &Evaluation,
    ) -> Result<mlrig_core::ModelBundle, PipelineError> {
        let data = Fingerprint::of_file(&self.data)?;
        let mut writer = BundleWriter::new(&self.output_dir, &self.name, self.version)?;
        writer.add_lineage(data.clone());
        let schema_fp = writer.add_bytes(
            SCHEMA_FILE,
            "tensorflow_metadata.Schema",
            schema.to_tfmd_json()?.as_bytes(),
        )?;
        let stats_fp = writer.add_bytes(
            STATISTICS_FILE,
            "tensorflow_metadata.DatasetFeatureStatisticsList",
            statistics.to_tfmd_json()?.as_bytes(),
        )?;
        let features_fp = writer.add_artifact(
            FEATURES_FILE,
            features,
            &[data.clone(), schema_fp, stats_fp],
        )?;
        let model_fp = writer.add_artifact(MODEL_FILE, model, &[data.clone(), features_fp])?;
        writer.add_artifact(EVALUATION_FILE, evaluation, &[data, model_fp])?;
        Ok(writer.commit()?)
    }
}

/// Transforms every batch (in parallel, in order) and stacks the rows, dense
/// because the models of mlrig-train are dense.
fn transform_all(
    features: &FittedFeaturePipeline,
    batches: &[RecordBatch],
) -> Result<Features, PipelineError> {
    let stacked = features.transform_batches(batches)?;
    Ok(match stacked.matrix() {
        FeatureMatrix::Dense(_) => stacked,
        FeatureMatrix::Sparse(_) => stacked.to_dense_features(),
    })
}

fn target_arrays<'a>(target: &str, batches: &'a [RecordBatch]) -> Vec<&'a dyn Array> {
    batches
        .iter()
        .filter_map(|b| b.column_by_name(target).map(|c| c.as_ref()))
        .collect()
}

fn class_target(target: &str, batches: &[RecordBatch]) -> Result<ClassTarget, PipelineError> {
    Ok(ClassTarget::from_arrays(
        target,
        target_arrays(target, batches),
    )?)
}

fn regression_target(
    target: &str,
    batches: &[RecordBatch],
) -> Result<RegressionTarget, PipelineError> {
    Ok(RegressionTarget::from_arrays(
        target,
        target_arrays(target, batches),
    )?)
}

/// Eval truth as "is the model's positive class", by label text, so an eval
/// set missing a class still lines up with the model's classes.
fn positive_indicator(
    target: &str,
    eval: &[RecordBatch],
    model: &Model,
) -> Result<Vec<bool>, PipelineError> {
    let y = class_target(target, eval)?;
    let positive = match model.task() {
        Task::Classification { classes } => classes.last().cloned().unwrap_or_default(),
        // A regression model (or a task added to mlrig-core later) has no positive class.
        _ => String::new(),
    };
    Ok(y.labels()
        .iter()
        .map(|&l| y.classes().get(l) == Some(&positive))
        .collect())
}

/// One score per example: the regression value, or the probability of the
/// positive (last) class.
fn scores(predictions: Predictions) -> Result<Vec<f64>, PipelineError> {
    match predictions {
        Predictions::Regression { values } => Ok(values.to_vec()),
        Predictions::Classification { probabilities, .. } => {
            let last = probabilities.ncols().saturating_sub(1);
            Ok(probabilities.column(last).to_vec())
        }
        // `Predictions` is non-exhaustive: a kind added to mlrig-core later.
        _ => Err(mlrig_core::Error::InvalidParameter {
            name: "predictions".into(),
            reason: "expected regression values or class probabilities".into(),
        }
        .into()),
    }
}

impl TrainingJob {
    /// The data file.
    pub fn data(&self) -> &Path {
        &self.data
    }
}
