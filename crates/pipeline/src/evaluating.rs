//! The evaluation job: a model version scored on a data file, per slice,
//! against an optional baseline version scored on the same rows.
//!
//! ```text
//! VERSION_DIR ─▶ features + model ─┐
//! DATA ─DataReader─▶ batches ──────┴─▶ predictions ─▶ metrics (overall, per slice) ─┐
//! BASELINE_DIR ─▶ features + model ─▶ predictions on the same rows ─▶ metrics ──────┴─▶ deltas
//!   ─▶ thresholds (min, max, max_drop, per slice) + checks ─▶ Evaluation (blessed or the reasons)
//! ```

use std::path::{Path, PathBuf};

use mlrig_core::ModelBundle;
use mlrig_ingest::{IngestSummary, ReadOptions, read_data};
use mlrig_train::{BlessingThresholds, Evaluation};
use serde::Serialize;

use crate::PipelineError;
use crate::bundle_files::EVALUATION_FILE;
use crate::gates::{gate_check, stability_problems};
use crate::scoring::{self, score};
use crate::serving::BundleServable;

/// Scores a bundle on data; build with [`EvaluationJob::new`] and the `with_*` methods.
///
/// ```no_run
/// use mlrig_pipeline::EvaluationJob;
/// let report = EvaluationJob::new("models/adult/2", "data/samples/adult_sample.csv")
///     .with_baseline("models/adult/1")
///     .with_slice("gender")
///     .run()?;
/// println!("blessed: {}", report.evaluation.blessed());
/// # Ok::<(), mlrig_pipeline::PipelineError>(())
/// ```
#[derive(Debug, Clone)]
pub struct EvaluationJob {
    model: PathBuf,
    data: PathBuf,
    baseline: Option<PathBuf>,
    slices: Vec<String>,
    thresholds: BlessingThresholds,
    read: ReadOptions,
}

/// What an evaluation run found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct EvaluationReport {
    /// The version directory evaluated.
    pub model: PathBuf,
    /// Its version.
    pub version: u64,
    /// The baseline version directory, if any.
    pub baseline: Option<PathBuf>,
    /// Ingestion totals of the data (rows read = accepted + quarantined).
    pub ingest: IngestSummary,
    /// Metrics, slices, baseline deltas and the blessing decision.
    pub evaluation: Evaluation,
}

impl EvaluationJob {
    /// Evaluates the bundle at `version_dir` on every row of `data` (CSV,
    /// JSON Lines or Parquet), which must hold the model's target column.
    pub fn new(version_dir: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        Self {
            model: version_dir.into(),
            data: data.into(),
            baseline: None,
            slices: Vec::new(),
            thresholds: BlessingThresholds::default(),
            read: ReadOptions::default(),
        }
    }

    /// Compares with the bundle at `version_dir`, scored on the same rows.
    pub fn with_baseline(mut self, version_dir: impl Into<PathBuf>) -> Self {
        self.baseline = Some(version_dir.into());
        self
    }

    /// Also computes the metrics per value of `column` (repeatable).
    pub fn with_slice(mut self, column: impl Into<String>) -> Self {
        self.slices.push(column.into());
        self
    }

    /// The thresholds the model must meet.
    pub fn with_thresholds(mut self, thresholds: BlessingThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// How to read the data file.
    pub fn with_read_options(mut self, options: ReadOptions) -> Self {
        self.read = options;
        self
    }

    /// Runs the evaluation.
    pub fn run(&self) -> Result<EvaluationReport, PipelineError> {
        let bundle = ModelBundle::open(&self.model)?;
        let candidate = BundleServable::open(&bundle)?;
        let target = candidate.model().target().to_string();
        let (schema, batches, ingest) = read_data(&self.data, self.read.clone())?;
        if schema.field_with_name(&target).is_err() {
            return Err(PipelineError::MissingTarget {
                file: self.data.clone(),
                target,
                available: mlrig_core::column_list(&schema),
            });
        }
        let train_rows = trained_rows(&bundle);
        let scored = score(candidate.features(), candidate.model(), &batches, &target)?;
        let mut evaluation = scoring::evaluation(
            candidate.model(),
            &scored,
            &batches,
            &self.slices,
            train_rows,
            &self.thresholds,
        )?;
        evaluation = evaluation.with_check(gate_check(
            "numerical_stability",
            stability_problems(candidate.model(), &scored.predictions),
        ));
        if let Some(dir) = &self.baseline {
            let baseline_bundle = ModelBundle::open(dir)?;
            let baseline = BundleServable::open(&baseline_bundle)?;
            let scored = score(baseline.features(), baseline.model(), &batches, &target)?;
            let baseline_evaluation = scoring::evaluation(
                baseline.model(),
                &scored,
                &batches,
                &self.slices,
                trained_rows(&baseline_bundle),
                &BlessingThresholds::default(),
            )?;
            let label = format!("version {}", baseline_bundle.manifest().version);
            evaluation = evaluation.against_baseline(&baseline_evaluation, label);
        }
        Ok(EvaluationReport {
            model: self.model.clone(),
            version: bundle.manifest().version,
            baseline: self.baseline.clone(),
            ingest: ingest.summary,
            evaluation,
        })
    }

    /// The data file.
    pub fn data(&self) -> &Path {
        &self.data
    }
}

/// The training rows recorded in a bundle's own evaluation (0 if unreadable).
fn trained_rows(bundle: &ModelBundle) -> u64 {
    bundle
        .load::<Evaluation>(EVALUATION_FILE)
        .map(|e| e.value.train_rows())
        .unwrap_or(0)
}
