//! The stages of making a candidate model, shared by [`TrainingJob`]
//! (one call) and the pipeline runner (one cached step each): split the
//! rows, choose the feature spec, fit the model, evaluate it with the gate
//! checks, compare it with a baseline, write the bundle.
//!
//! [`TrainingJob`]: crate::TrainingJob

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::{BundleWriter, Fingerprint, ModelBundle, SplitRule};
use mlrig_features::{FeatureSpec, FittedFeaturePipeline, OutputLayout};
use mlrig_ingest::{DataReader, IngestError};
use mlrig_train::{
    BlessingThresholds, Evaluation, GateCheck, LeakageReport, Model, ModelSpec, TaskChoice,
    TaskKind, TrainingTarget, infer_task,
};

use crate::PipelineError;
use crate::bundle_files::{
    EVALUATION_FILE, FEATURES_FILE, MODEL_FILE, PREDICTION_STATISTICS_FILE, SCHEMA_FILE,
    STATISTICS_FILE, WARMUP_FILE,
};
use crate::gates::{gate_check, serveability_problems, stability_problems};
use crate::scoring::{self, score};
use crate::serving::BundleServable;

/// The feature spec to fit: the user's, else one inferred from the column
/// types — raw numbers and category codes for trees, encodings otherwise.
pub(crate) fn feature_spec(
    spec: Option<&FeatureSpec>,
    model_spec: &ModelSpec,
    schema: &mlrig_core::arrow_schema::Schema,
    target: &str,
) -> Result<FeatureSpec, PipelineError> {
    Ok(match spec {
        Some(spec) => spec.clone(),
        None if model_spec.splits_categories() => FeatureSpec::infer_for_trees(schema, target)?,
        None => FeatureSpec::infer(schema, target)?.with_output(OutputLayout::Auto),
    })
}

/// The task (the user's, else the warm-start model's, else the model
/// spec's, else inferred from the target column) and the model spec (the
/// user's, else the task's default); a spec for the other task is an error.
pub(crate) fn decide_model(
    target: &str,
    task: TaskKind,
    model: Option<&ModelSpec>,
    warm: Option<&Model>,
    train: &[RecordBatch],
) -> Result<(TaskChoice, ModelSpec), PipelineError> {
    let requested = match (warm, model, task) {
        (Some(w), _, TaskKind::Auto) => match w.task() {
            mlrig_core::Task::Regression => TaskKind::Regression,
            _ => TaskKind::Classification,
        },
        (None, Some(model), TaskKind::Auto) => model.task(),
        _ => task,
    };
    let choice = infer_task(target, requested, scoring::column_arrays(target, train));
    let spec = model
        .cloned()
        .unwrap_or_else(|| ModelSpec::for_task(choice.task));
    if warm.is_none() && ![TaskKind::Auto, choice.task].contains(&spec.task()) {
        let name = |task: TaskKind| format!("{task:?}").to_lowercase();
        return Err(PipelineError::ModelTaskMismatch {
            model: spec.name().to_string(),
            model_task: name(spec.task()),
            task: name(choice.task),
        });
    }
    Ok((choice, spec))
}

/// Refuses, before any fitting, a threshold on a metric the task does not compute.
pub(crate) fn check_threshold_metrics(
    thresholds: &BlessingThresholds,
    task: &mlrig_core::Task,
) -> Result<(), PipelineError> {
    let available = mlrig_train::metric_names(task);
    let t = thresholds;
    let per_slice = t
        .slices
        .values()
        .flat_map(|s| s.min.keys().chain(s.max.keys()).chain(s.max_drop.keys()));
    let mut named = t
        .min
        .keys()
        .chain(t.max.keys())
        .chain(t.max_drop.keys())
        .chain(per_slice);
    match named.find(|m| !available.contains(&m.as_str())) {
        Some(metric) => Err(PipelineError::UnknownMetric {
            metric: metric.clone(),
            available: available.join(", "),
        }),
        None => Ok(()),
    }
}

/// A fitted model and how its fit went.
pub(crate) struct FittedModel {
    pub(crate) model: Model,
    /// Seconds of the fit alone.
    pub(crate) fit_seconds: f64,
    /// Whether the features were CSR.
    pub(crate) sparse_features: bool,
}

/// Fits `model_spec` on the transformed training rows, or continues training
/// `warm` (`Model::partial_fit`).
pub(crate) fn fit_model(
    features: &FittedFeaturePipeline,
    model_spec: &ModelSpec,
    warm: Option<Model>,
    x_train: mlrig_core::Features,
    y_train: &TrainingTarget,
    stage: impl Fn(&str),
) -> Result<FittedModel, PipelineError> {
    let model_spec = model_spec.clone().with_categorical_features(
        features
            .categorical_outputs()
            .into_iter()
            .map(|(name, _)| name),
    );
    let sparse_features = matches!(x_train.matrix(), mlrig_core::FeatureMatrix::Sparse(_));
    stage("fitting model");
    let fit_started = std::time::Instant::now();
    let model = match warm {
        Some(mut model) => {
            model.partial_fit(&x_train, y_train, None)?;
            model
        }
        None => model_spec.fit(&x_train, y_train, None)?,
    };
    Ok(FittedModel {
        model,
        fit_seconds: fit_started.elapsed().as_secs_f64(),
        sparse_features,
    })
}

/// What to tell the user when the optimiser stopped before converging.
pub(crate) fn convergence_notice(model: &Model) -> Option<String> {
    model.convergence().filter(|c| !c.converged).map(|c| {
        format!(
            "{} did not converge in {} iterations; raise max_iterations (max_iter for SGD) in the model spec, or scale the features",
            model.name(),
            c.iterations
        )
    })
}

/// The reasons of the suspected leaks (the `label_leakage` check).
pub(crate) fn leakage_reasons(leakage: &LeakageReport) -> Vec<String> {
    leakage
        .suspects()
        .iter()
        .map(|s| s.reason.clone())
        .collect()
}

/// A candidate and the rows it is scored on.
pub(crate) struct EvaluationInputs<'a> {
    pub(crate) features: &'a FittedFeaturePipeline,
    pub(crate) model: &'a Model,
    pub(crate) eval: &'a [RecordBatch],
    pub(crate) target: &'a str,
    pub(crate) slices: &'a [String],
    pub(crate) thresholds: &'a BlessingThresholds,
}

impl EvaluationInputs<'_> {
    /// Metrics, slices and the gate checks (numerical stability,
    /// serveability, and label leakage when `leaks` is given), with the
    /// evaluation predictions.
    pub(crate) fn evaluate(
        &self,
        train_rows: u64,
        leaks: Option<Vec<String>>,
    ) -> Result<(Evaluation, mlrig_core::Predictions), PipelineError> {
        let scored = score(self.features, self.model, self.eval, self.target)?;
        let mut evaluation = scoring::evaluation(
            self.model,
            &scored,
            self.eval,
            self.slices,
            train_rows,
            self.thresholds,
        )?
        .with_check(gate_check(
            "numerical_stability",
            stability_problems(self.model, &scored.predictions),
        ))
        .with_check(gate_check(
            "serveability",
            serveability_problems(self.features, self.model, self.eval, &scored.predictions)?,
        ));
        if let Some(leaks) = leaks {
            evaluation = evaluation.with_check(gate_check("label_leakage", leaks));
        }
        Ok((evaluation, scored.predictions))
    }

    /// `evaluation` compared with `baseline` scored on the same rows; a
    /// baseline that cannot score them fails the `baseline` check.
    pub(crate) fn compare_with_baseline(
        &self,
        evaluation: Evaluation,
        baseline: &ModelBundle,
    ) -> Evaluation {
        let label = format!("version {}", baseline.manifest().version);
        let scored = BundleServable::open(baseline).and_then(|b| {
            let scored = score(b.features(), b.model(), self.eval, self.target)?;
            scoring::evaluation(
                b.model(),
                &scored,
                self.eval,
                self.slices,
                0,
                &BlessingThresholds::default(),
            )
        });
        match scored {
            Ok(b) => evaluation.against_baseline(&b, label),
            Err(e) => evaluation.with_check(GateCheck::fail(
                "baseline",
                [format!(
                    "{label} ({}) could not be scored on these evaluation rows: {e}; choose another baseline or none",
                    baseline.dir().display()
                )],
            )),
        }
    }
}

/// Everything a bundle holds, serialised where it is not an artifact.
pub(crate) struct BundleParts<'a> {
    /// Fingerprints of the data files trained on.
    pub(crate) data_lineage: Vec<Fingerprint>,
    pub(crate) schema_json: String,
    pub(crate) statistics_json: String,
    pub(crate) features: &'a FittedFeaturePipeline,
    pub(crate) model: &'a Model,
    pub(crate) evaluation: &'a Evaluation,
    pub(crate) prediction_statistics_json: String,
    pub(crate) warmup: Vec<u8>,
    pub(crate) newest_row_unix: Option<i64>,
}

/// Writes the bundle's files through `writer` and commits it (rename into place).
pub(crate) fn write_bundle(
    mut writer: BundleWriter,
    parts: &BundleParts<'_>,
) -> Result<ModelBundle, PipelineError> {
    for data in &parts.data_lineage {
        writer.add_lineage(data.clone());
    }
    let schema_fp = writer.add_bytes(
        SCHEMA_FILE,
        "tensorflow_metadata.Schema",
        parts.schema_json.as_bytes(),
    )?;
    let stats_fp = writer.add_bytes(
        STATISTICS_FILE,
        "tensorflow_metadata.DatasetFeatureStatisticsList",
        parts.statistics_json.as_bytes(),
    )?;
    let with = |extra: Fingerprint| {
        let mut inputs = parts.data_lineage.clone();
        inputs.push(extra);
        inputs
    };
    let mut inputs = with(schema_fp);
    inputs.push(stats_fp);
    let features_fp = writer.add_artifact(FEATURES_FILE, parts.features, &inputs)?;
    let model_fp = writer.add_artifact(MODEL_FILE, parts.model, &with(features_fp))?;
    writer.add_artifact(EVALUATION_FILE, parts.evaluation, &with(model_fp))?;
    writer.add_bytes(
        PREDICTION_STATISTICS_FILE,
        "tensorflow_metadata.DatasetFeatureStatisticsList",
        parts.prediction_statistics_json.as_bytes(),
    )?;
    if let Some(newest) = parts.newest_row_unix {
        writer.set_data_newest_row(newest)?;
    }
    writer.add_bytes(
        WARMUP_FILE,
        crate::bundle_loader::WARMUP_KIND,
        &parts.warmup,
    )?;
    Ok(writer.commit()?)
}

/// Reads every batch of `reader`, split into training and evaluation rows
/// by `split` (row numbers count accepted rows across files).
pub(crate) fn split_batches(
    reader: &mut DataReader,
    split: &SplitRule,
) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), PipelineError> {
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    let mut first_row = 0u64;
    for batch in reader.by_ref() {
        let batch = batch.map_err(IngestError::from)?;
        let (t, e) = split.split_batch(&batch, first_row, None)?;
        first_row += batch.num_rows() as u64;
        for (side, part) in [(&mut train, t), (&mut eval, e)] {
            if part.num_rows() > 0 {
                side.push(part);
            }
        }
    }
    Ok((train, eval))
}
