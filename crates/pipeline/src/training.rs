//! The training job: data file → model bundle, in bounded memory.
//!
//! ```text
//! CSV / JSON Lines / Parquet ─DataReader─▶ batches ─split (row i eval iff i % 5 == 4)─▶ train │ eval
//!   train ─▶ statistics ─▶ schema
//!   train ─▶ task (infer_task) ─▶ target
//!   train ─▶ fit feature pipeline ─▶ Features, batch by batch, CSR when one-hot makes them sparse
//!         (each Arrow batch is dropped once transformed) ─▶ ModelSpec::fit ─▶ model
//!   eval  ─▶ same pipeline ─▶ Features ─▶ predict ─▶ metrics ─▶ blessing
//!   eval predictions ─▶ prediction statistics (predicted_class, score)
//!   train + eval ─time column (optional)─▶ newest row ─▶ manifest data_newest_row
//!   schema + statistics + features + model + evaluation + prediction statistics ─▶ <out>/<name>/<version>/
//! ```
//!
//! Peak memory is the training rows as Arrow columns plus their feature
//! matrix in its sparse form (the Arrow batches shrink as the matrix grows),
//! never a dense copy of one-hot features.

use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::{
    Artifact, BundleWriter, Features, FeaturesBuilder, Fingerprint, Fit, ModelBundle, ParamGuard,
    Task, Transform,
};
use mlrig_features::{FeaturePipelineParams, FeatureSpec, FittedFeaturePipeline, OutputLayout};
use mlrig_ingest::{DataReader, IngestSummary, ReadOptions};
use mlrig_train::{
    BlessingThresholds, Convergence, Evaluation, LeakageParams, LeakageReport, ModelSpec,
    SplitRule, TaskKind, TrainingTarget,
};
use mlrig_validate::{SchemaInferenceParams, compute_statistics, infer_schema};
use rayon::prelude::*;
use serde::Serialize;

use crate::PipelineError;
use crate::bundle_files::{bundle_statistics_params, prediction_statistics};
use crate::candidate::{
    BundleParts, EvaluationInputs, FittedModel, check_threshold_metrics, convergence_notice,
    decide_model, feature_spec, fit_model, leakage_reasons, split_batches, write_bundle,
};
use crate::feature_file::{read_feature_file, read_options_fingerprint};
use crate::scoring::column_arrays;
use crate::serving::{BundleServable, latest_blessed};
use crate::time_column::{self, TimeColumnSummary, newest_row};

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
#[derive(Clone)]
pub struct TrainingJob {
    data: PathBuf,
    target: String,
    name: String,
    output_dir: PathBuf,
    version: Option<u64>,
    read: ReadOptions,
    split: SplitRule,
    spec: Option<FeatureSpec>,
    task: TaskKind,
    model: Option<ModelSpec>,
    thresholds: BlessingThresholds,
    slices: Vec<String>,
    baseline: Baseline,
    warm_start: Option<PathBuf>,
    leakage: LeakageParams,
    time_column: Option<String>,
    features_file: Option<(PathBuf, PathBuf)>,
    progress: Option<Progress>,
}

/// Called with the name of each stage as the job enters it (`reading`,
/// `checking leakage`, `fitting features`, `transforming`, `fitting model`,
/// `evaluating`, `writing bundle`), for a progress display.
pub type Progress = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for TrainingJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingJob")
            .field("data", &self.data)
            .field("target", &self.target)
            .field("name", &self.name)
            .field("output_dir", &self.output_dir)
            .field("model", &self.model)
            .field("task", &self.task)
            .finish_non_exhaustive()
    }
}

/// Which earlier version a candidate is compared with before blessing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Baseline {
    /// The highest blessed version under `<out>/<name>/`, if there is one
    /// (the default: a sudden drop against what is serving is never blessed).
    #[default]
    LatestBlessed,
    /// No comparison.
    None,
    /// This version directory.
    Version(PathBuf),
}

/// What a training run did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TrainingReport {
    /// The bundle directory written.
    pub bundle_dir: PathBuf,
    /// Model name.
    pub name: String,
    /// Bundle version.
    pub version: u64,
    /// Ingestion totals (rows read = accepted + quarantined).
    pub ingest: IngestSummary,
    /// Rows used for training.
    pub train_rows: usize,
    /// Rows held out for evaluation.
    pub eval_rows: usize,
    /// Number of feature columns after the transforms.
    pub feature_columns: usize,
    /// Whether the features were stored as CSR (sparse) during training.
    pub sparse_features: bool,
    /// The model family fitted (`logistic_regression`, …).
    pub model: String,
    /// How the optimiser ended (`None` for closed-form least squares).
    pub convergence: Option<Convergence>,
    /// Wall-clock seconds of the model fit alone (not reading, features or
    /// evaluation), for comparing with other libraries' fit times.
    pub fit_seconds: f64,
    /// The task trained for.
    pub task: TaskKind,
    /// What mlrig decided on the user's behalf (for example that an
    /// integer target was taken as classes), to be shown to the user.
    pub notices: Vec<String>,
    /// Every input column's single-column score against the target and the
    /// suspected leaks (which fail the `label_leakage` check).
    pub leakage: LeakageReport,
    /// Metrics on the evaluation rows and the blessing decision.
    pub evaluation: Evaluation,
    /// The time column's newest value and how many of its values were
    /// read (`None` when no time column was named; see
    /// [`TrainingJob::with_time_column`]).
    pub time_column: Option<TimeColumnSummary>,
}

impl TrainingJob {
    /// A job training on `data` (CSV, JSON Lines or Parquet, by extension)
    /// to predict `target`. Defaults: model name = the file stem, output
    /// `models/`, next version, row `i` held out for evaluation iff
    /// `i % 5 == 4`, features inferred from the column types (CSR when
    /// sparse), task inferred from the target, the task's default model.
    pub fn new(data: impl Into<PathBuf>, target: impl Into<String>) -> Self {
        let data = data.into();
        let name = data
            .file_stem()
            .and_then(|s| s.to_str())
            .map(|s| s.trim_end_matches(".csv").trim_end_matches(".jsonl"))
            .unwrap_or("model")
            .to_string();
        Self {
            data,
            target: target.into(),
            name,
            output_dir: PathBuf::from("models"),
            version: None,
            read: ReadOptions::default(),
            split: SplitRule::Modulo {
                modulus: 5,
                eval_remainders: vec![4],
            },
            spec: None,
            task: TaskKind::Auto,
            model: None,
            thresholds: BlessingThresholds::default(),
            slices: Vec::new(),
            baseline: Baseline::LatestBlessed,
            warm_start: None,
            leakage: LeakageParams::default(),
            time_column: None,
            features_file: None,
            progress: None,
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

    /// How to read the data file.
    pub fn with_read_options(mut self, options: ReadOptions) -> Self {
        self.read = options;
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

    /// Force regression or classification ([`TaskKind::Auto`] infers it).
    pub fn with_task(mut self, task: TaskKind) -> Self {
        self.task = task;
        self
    }

    /// The model to fit (default: [`ModelSpec::for_task`] of the task).
    pub fn with_model(mut self, model: ModelSpec) -> Self {
        self.model = Some(model);
        self
    }

    /// Metric thresholds the model must meet to be blessed.
    pub fn with_thresholds(mut self, thresholds: BlessingThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Also computes the metrics per value of `column` (repeatable); slice
    /// thresholds (`"column=value"`) apply to them.
    pub fn with_slice(mut self, column: impl Into<String>) -> Self {
        self.slices.push(column.into());
        self
    }

    /// The version the candidate is compared with (default: the latest blessed one).
    pub fn with_baseline(mut self, baseline: Baseline) -> Self {
        self.baseline = baseline;
        self
    }

    /// Continues training the SGD or gbdt model of the bundle at
    /// `version_dir` on this data (online learning: the old data is not
    /// needed; a gbdt adds its `rounds` of trees), keeping that bundle's
    /// feature pipeline so the model's columns do not move.
    pub fn with_warm_start(mut self, version_dir: impl Into<PathBuf>) -> Self {
        self.warm_start = Some(version_dir.into());
        self
    }

    /// How input columns are checked for label leakage before blessing
    /// (thresholds, and the columns accepted as they are: `with_allowed`).
    pub fn with_leakage(mut self, params: LeakageParams) -> Self {
        self.leakage = params;
        self
    }

    /// Records the newest value of `column` among the accepted rows
    /// (training and evaluation) in the bundle manifest as
    /// `data_newest_row`, the origin of the data age a server reports.
    /// Values are RFC 3339 or `YYYY-MM-DD[ HH:MM:SS]` strings (UTC unless
    /// they carry an offset) or epoch seconds (integers or decimals), the
    /// types a data file is read as (a Parquet timestamp column is not read
    /// yet: store it as strings or epoch seconds); unreadable values are
    /// counted in [`TrainingReport::time_column`] and ignored, and the job fails only
    /// when the column is missing or holds no readable time. The column
    /// stays a model input unless the feature spec leaves it out.
    ///
    /// ```
    /// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/california_sample.csv");
    /// let out = tempfile::tempdir()?;
    /// let err = mlrig_pipeline::TrainingJob::new(data, "MedHouseVal")
    ///     .with_output_dir(out.path())
    ///     .with_time_column("day")
    ///     .run()
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("time column `day`: not in the data"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_time_column(mut self, column: impl Into<String>) -> Self {
        self.time_column = Some(column.into());
        self
    }

    /// Trains on the rows of `file`, a feature file written from this data by
    /// [`FeatureApplyJob`](crate::FeatureApplyJob) with the pipeline saved at
    /// `transformer`, instead of fitting a pipeline and transforming the
    /// training rows: the pipeline goes into the bundle as it is, the data
    /// still gives the split, the statistics, the leakage check and the
    /// evaluation rows. The file must be Parquet or svmlight (CSV has no
    /// metadata to check), written by that pipeline from this very data file
    /// (fingerprints) with the same rows accepted; not with
    /// [`with_warm_start`](Self::with_warm_start) or a feature spec.
    pub fn with_features_file(
        mut self,
        file: impl Into<PathBuf>,
        transformer: impl Into<PathBuf>,
    ) -> Self {
        self.features_file = Some((file.into(), transformer.into()));
        self
    }

    /// Reports each stage as the job enters it (see [`Progress`]).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    fn stage(&self, name: &str) {
        if let Some(progress) = &self.progress {
            progress(name);
        }
    }

    /// The data file.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// Runs the job and writes the bundle (atomically: staging dir + rename).
    pub fn run(&self) -> Result<TrainingReport, PipelineError> {
        if self.features_file.is_some() && (self.warm_start.is_some() || self.spec.is_some()) {
            return Err(PipelineError::InvalidOption {
                option: "features file".into(),
                reason: "a feature file brings its own pipeline: train with it, or with a warm start / feature spec, not both".into(),
            });
        }
        self.stage("reading");
        let SplitData {
            schema,
            train,
            eval,
            report: ingest,
        } = self.read_split()?;
        let train_rows: usize = train.iter().map(RecordBatch::num_rows).sum();
        let eval_rows: usize = eval.iter().map(RecordBatch::num_rows).sum();
        if train_rows == 0 || eval_rows == 0 {
            return Err(PipelineError::EmptySplit {
                file: self.data.clone(),
                train: train_rows,
                eval: eval_rows,
            });
        }

        // Before the training batches are consumed by the transform.
        let time_column = self
            .time_column
            .as_deref()
            .map(|column| newest_row(column, &[&train, &eval]))
            .transpose()?;

        let warm = match &self.warm_start {
            Some(dir) => Some(BundleServable::open(&ModelBundle::open(dir)?)?),
            None => None,
        };
        let (choice, model_spec) = decide_model(
            &self.target,
            self.task,
            self.model.as_ref(),
            warm.as_ref().map(|w| w.model()),
            &train,
        )?;

        let statistics = compute_statistics(&train, &schema, &bundle_statistics_params())?;
        let data_schema = infer_schema(&statistics, &SchemaInferenceParams::default());

        let y_train = TrainingTarget::from_arrays(
            choice.task,
            &self.target,
            column_arrays(&self.target, &train),
        )?;
        let task = match &y_train {
            TrainingTarget::Classes(y) => Task::Classification {
                classes: y.classes().to_vec(),
            },
            _ => Task::Regression,
        };
        check_threshold_metrics(&self.thresholds, &task)?;
        // Before the training batches are consumed by the transform.
        self.stage("checking leakage");
        let leakage = self
            .leakage
            .clone()
            .check()?
            .run(&train, &eval, &self.target, &task)?;
        self.stage("fitting features");
        let (features, materialized) = match (&self.features_file, &warm) {
            (Some((file, transformer)), _) => {
                let stored = FittedFeaturePipeline::load(transformer)?;
                (
                    stored.value,
                    Some((file, transformer, stored.header.fingerprint)),
                )
            }
            (None, Some(w)) => (w.features().clone(), None),
            (None, None) => {
                let spec = feature_spec(self.spec.as_ref(), &model_spec, &schema, &self.target)?;
                let fitted = FeaturePipelineParams::new(spec)
                    .check()?
                    .fit(train.as_slice())?;
                (fitted, None)
            }
        };
        if features
            .input_schema()
            .fields()
            .iter()
            .any(|f| f.name() == &self.target)
        {
            return Err(PipelineError::InvalidOption {
                option: "feature pipeline".into(),
                reason: format!(
                    "it reads the target column `{}`, so the model would learn the answer from the question and could not be served without it; fit the pipeline without it (`mlrig features fit --target {}`)",
                    self.target, self.target
                ),
            });
        }
        // Hashed once: the bundle's lineage, and the feature file's check.
        let data_fingerprint = Fingerprint::of_file(&self.data)?;
        self.stage("transforming");
        let x_train = match materialized {
            Some((file, transformer, fingerprint)) => {
                drop(train);
                self.read_features_file(
                    file,
                    (transformer, &fingerprint, &features),
                    (&data_fingerprint, ingest.summary.rows_accepted),
                )?
            }
            None => transform_draining(&features, train)?,
        };
        let FittedModel {
            model,
            fit_seconds,
            sparse_features,
        } = fit_model(
            &features,
            &model_spec,
            warm.map(BundleServable::into_model),
            x_train,
            &y_train,
            |stage| self.stage(stage),
        )?;
        let mut notices: Vec<String> = choice.notice.into_iter().collect();
        let now_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        notices.extend(
            time_column
                .iter()
                .flat_map(|t| TimeColumnSummary::notices(t, now_unix)),
        );
        notices.extend(convergence_notice(&model));

        self.stage("evaluating");
        let candidate = EvaluationInputs {
            features: &features,
            model: &model,
            eval: &eval,
            target: &self.target,
            slices: &self.slices,
            thresholds: &self.thresholds,
        };
        let (evaluation, predictions) =
            candidate.evaluate(train_rows as u64, Some(leakage_reasons(&leakage)))?;
        let evaluation = match self.baseline_bundle()? {
            Some(bundle) => candidate.compare_with_baseline(evaluation, &bundle),
            None => evaluation,
        };

        self.stage("writing bundle");
        let bundle_dir = write_bundle(
            BundleWriter::new(&self.output_dir, &self.name, self.version)?,
            &BundleParts {
                data_lineage: vec![data_fingerprint],
                statistics_json: statistics.to_tfmd_json()?,
                schema_json: data_schema.to_tfmd_json()?,
                features: &features,
                model: &model,
                evaluation: &evaluation,
                prediction_statistics_json: prediction_statistics(&predictions)?.to_tfmd_json()?,
                warmup: crate::bundle_loader::warmup_lines(&features.input_schema(), &eval)?,
                newest_row_unix: time_column.as_ref().map(|t| t.newest_unix),
            },
        )?;
        let version = bundle_dir.manifest().version;
        Ok(TrainingReport {
            bundle_dir: bundle_dir.dir().to_path_buf(),
            name: self.name.clone(),
            version,
            ingest: ingest.summary,
            train_rows,
            eval_rows,
            feature_columns: features.output_names().len(),
            sparse_features,
            model: model.name().to_string(),
            convergence: model.convergence(),
            fit_seconds,
            task: choice.task,
            notices,
            leakage,
            evaluation,
            time_column,
        })
    }

    /// The training rows of a feature file, checked against the pipeline
    /// (fingerprint, output names) and the data (fingerprint, accepted rows).
    fn read_features_file(
        &self,
        file: &Path,
        (transformer, fingerprint, features): (&Path, &Fingerprint, &FittedFeaturePipeline),
        (data, rows_accepted): (&Fingerprint, u64),
    ) -> Result<Features, PipelineError> {
        let refuse = |reason: String| PipelineError::FeatureFile {
            path: file.to_path_buf(),
            reason,
        };
        let split = &self.split;
        let rows = read_feature_file(file, &|row| !split.is_eval(row, None))?;
        if &rows.header.transformer != fingerprint {
            return Err(refuse(format!(
                "written by the pipeline {}, not by {} ({}); pass the transformer `mlrig features apply` used, or apply this one again",
                rows.header.transformer,
                transformer.display(),
                fingerprint
            )));
        }
        if rows.header.feature_names != features.output_names() {
            return Err(refuse(format!(
                "its feature names are not the outputs of {}",
                transformer.display()
            )));
        }
        if rows.header.read_options != read_options_fingerprint(&self.read) {
            return Err(refuse(format!(
                "{} was read with other options (delimiter, missing tokens, column types, sampling) when the file was written; pass the read options `mlrig features apply` had",
                self.data.display()
            )));
        }
        if &rows.summary.data != data {
            return Err(refuse(format!(
                "transformed from the data {}, not from {} ({data}); apply the pipeline to this file again",
                rows.summary.data,
                self.data.display()
            )));
        }
        if rows.summary.rows != rows_accepted {
            return Err(refuse(format!(
                "{} rows, but {} rows of {} are accepted with these read options; read the data the way `mlrig features apply` did",
                rows.summary.rows,
                rows_accepted,
                self.data.display()
            )));
        }
        Ok(rows.features)
    }

    /// Reads the file batch by batch and splits every batch as it arrives.
    fn read_split(&self) -> Result<SplitData, PipelineError> {
        let mut reader = DataReader::open(&self.data, self.read.clone())?;
        let schema = reader.schema();
        if schema.field_with_name(&self.target).is_err() {
            return Err(PipelineError::MissingTarget {
                file: self.data.clone(),
                target: self.target.clone(),
                available: mlrig_core::column_list(&schema),
            });
        }
        // A misspelt slice column fails now, not after the fit.
        if let Some(column) = self
            .slices
            .iter()
            .find(|c| schema.field_with_name(c).is_err())
        {
            return Err(PipelineError::MissingColumn {
                column: column.clone(),
                available: mlrig_core::column_list(&schema),
            });
        }
        if let Some(column) = self
            .time_column
            .as_ref()
            .filter(|c| schema.field_with_name(c).is_err())
        {
            return Err(time_column::not_in_data(column, &schema));
        }
        let (train, eval) = split_batches(&mut reader, &self.split)?;
        let report = reader.finish()?;
        Ok(SplitData {
            schema,
            train,
            eval,
            report,
        })
    }

    /// The version the candidate is compared with, if any.
    fn baseline_bundle(&self) -> Result<Option<ModelBundle>, PipelineError> {
        Ok(match &self.baseline {
            Baseline::None => None,
            Baseline::Version(dir) => Some(ModelBundle::open(dir)?),
            Baseline::LatestBlessed => latest_blessed(&self.output_dir.join(&self.name))?,
        })
    }
}

struct SplitData {
    schema: mlrig_core::arrow_schema::SchemaRef,
    train: Vec<RecordBatch>,
    eval: Vec<RecordBatch>,
    report: mlrig_ingest::IngestReport,
}

/// Batches transformed in parallel before their rows are appended.
const TRANSFORM_WAVE: usize = 8;

/// Transforms the batches in order, a wave at a time in parallel, appending
/// their rows to one matrix and dropping each Arrow batch once it is
/// transformed: the Arrow data shrinks while the (sparse) matrix grows.
pub(crate) fn transform_draining(
    features: &FittedFeaturePipeline,
    batches: Vec<RecordBatch>,
) -> Result<Features, PipelineError> {
    let total_rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let sparse = features.output_layout() == OutputLayout::Sparse;
    let mut builder = FeaturesBuilder::new(features.output_names().to_vec(), sparse);
    let mut batches = batches.into_iter().peekable();
    let mut rows_before = 0;
    while batches.peek().is_some() {
        let wave: Vec<RecordBatch> = batches.by_ref().take(TRANSFORM_WAVE).collect();
        let parts: Vec<_> = wave.par_iter().map(|b| features.transform(b)).collect();
        for (batch, part) in wave.iter().zip(parts) {
            let part = part.map_err(|e| e.with_row_offset(rows_before))?;
            if builder.rows() == 0 && part.nrows() > 0 {
                // One-hot rows have a near-constant number of entries: reserve
                // once for the whole stream instead of doubling the buffers.
                let per_row = stored_entries(&part).div_ceil(part.nrows());
                builder.reserve(total_rows, per_row + per_row / 8 + 1);
            }
            builder.push(&part)?;
            rows_before += batch.num_rows();
        }
    }
    Ok(builder.finish()?)
}

fn stored_entries(features: &Features) -> usize {
    match features.matrix() {
        mlrig_core::FeatureMatrix::Dense(m) => m.len(),
        mlrig_core::FeatureMatrix::Sparse(m) => m.nnz(),
    }
}
