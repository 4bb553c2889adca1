//! The work of each step: reads its inputs' artifact directories, writes its
//! outputs into the directory it is given (renamed into place by the store).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlrig_core::arrow_array::{Array, BooleanArray, RecordBatch};
use mlrig_core::arrow_schema::SchemaRef;
use mlrig_core::{Artifact, BundleWriter, Fit, ModelBundle, ParamGuard};
use mlrig_features::{FeaturePipelineParams, FeatureSpec, FittedFeaturePipeline};
use mlrig_ingest::{
    CsvWriter, DataReader, FileSet, QuarantineFormat, QuarantineOptions, ReadOptions,
};
use mlrig_serve::VersionLoader;
use mlrig_train::{Model, TrainingTarget};
use mlrig_validate::{
    Schema, SchemaInferenceParams, ValidationOptions, compute_statistics, infer_schema,
    validate_batches,
};
use parquet::arrow::ArrowWriter;
use serde_json::json;

use super::record::GateDecision;
use super::store::StepOutcome;
use crate::bundle_files::{bundle_statistics_params, prediction_statistics};
use crate::candidate::{
    BundleParts, EvaluationInputs, check_threshold_metrics, convergence_notice, decide_model,
    feature_spec, fit_model, leakage_reasons, split_batches, write_bundle,
};
use crate::pipeline_config::resolve;
use crate::scoring::column_arrays;
use crate::serving::BundleServable;
use crate::{BundleLoader, LeakagePolicy, PipelineConfig, PipelineError};

/// Files of the ingest step.
pub(crate) const TRAIN_FILE: &str = "train.parquet";
pub(crate) const EVAL_FILE: &str = "eval.parquet";
const QUARANTINE_FILE: &str = "quarantine.jsonl";
/// Rows whose target is missing, as CSV.
const UNLABELLED_FILE: &str = "unlabelled.csv";
/// Files of the statistics step.
pub(crate) const TRAIN_STATISTICS_FILE: &str = "train_statistics.json";
const EVAL_STATISTICS_FILE: &str = "eval_statistics.json";
/// Files of the later steps.
const ANOMALIES_FILE: &str = "anomalies.json";
pub(crate) const FEATURES_FILE: &str = "features.json";
pub(crate) const MODEL_FILE: &str = "model.json";
const EVALUATION_FILE: &str = "evaluation.json";
const LEAKAGE_FILE: &str = "leakage.json";
const PREDICTION_STATISTICS_FILE: &str = "prediction_statistics.json";
const WARMUP_FILE: &str = "warmup.jsonl";
/// The directory under the infra_validate artifact holding `<name>/<version>`.
pub(crate) const BUNDLE_DIR: &str = "bundle";

/// Reads the spans, quarantines bad rows, splits and writes both splits as Parquet.
pub(crate) fn ingest(
    config: &PipelineConfig,
    spans: &[PathBuf],
    dir: &Path,
) -> Result<StepOutcome, PipelineError> {
    let options = config.read_options()?.with_quarantine(
        QuarantineOptions::default()
            .with_file(dir.join(QUARANTINE_FILE), QuarantineFormat::JsonLines),
    );
    let mut reader = DataReader::open_files(&FileSet::from_paths(spans), options)?;
    let schema = reader.schema();
    let first = spans.first().cloned().unwrap_or_default();
    let data = &config.data;
    if schema.field_with_name(&data.target).is_err() {
        return Err(PipelineError::MissingTarget {
            file: first,
            target: data.target.clone(),
            available: mlrig_core::column_list(&schema),
        });
    }
    if let Some(column) = data
        .time_column
        .as_ref()
        .filter(|c| schema.field_with_name(c).is_err())
    {
        return Err(crate::time_column::not_in_data(column, &schema));
    }
    let (train, eval) = split_batches(&mut reader, &data.split)?;
    let report = reader.finish()?;
    // A row without a label can be neither trained on nor scored: quarantined too.
    let mut unlabelled = None;
    let train = drop_unlabelled(train, &data.target, dir, &mut unlabelled)?;
    let eval = drop_unlabelled(eval, &data.target, dir, &mut unlabelled)?;
    let unlabelled_rows = match unlabelled {
        Some(writer) => writer.commit()?,
        None => 0,
    };
    let rows = |b: &[RecordBatch]| b.iter().map(RecordBatch::num_rows).sum::<usize>();
    let (train_rows, eval_rows) = (rows(&train), rows(&eval));
    if train_rows == 0 || eval_rows == 0 {
        return Err(PipelineError::EmptySplit {
            file: first,
            train: train_rows,
            eval: eval_rows,
        });
    }
    let newest = data
        .time_column
        .as_deref()
        .map(|column| crate::time_column::newest_row(column, &[&train, &eval]))
        .transpose()?;
    write_parquet(&dir.join(TRAIN_FILE), &schema, &train)?;
    write_parquet(&dir.join(EVAL_FILE), &schema, &eval)?;
    let summary = &report.summary;
    let mut notes = Vec::new();
    if summary.rows_quarantined > 0 {
        notes.push(format!(
            "{} of {} rows quarantined (reasons in {QUARANTINE_FILE})",
            summary.rows_quarantined, summary.rows_read
        ));
    }
    if unlabelled_rows > 0 {
        notes.push(format!(
            "{unlabelled_rows} rows without a `{}` value quarantined ({UNLABELLED_FILE})",
            data.target
        ));
    }
    Ok(StepOutcome {
        gate: None,
        notes,
        summary: json!({
            "rows_read": summary.rows_read,
            "rows_accepted": summary.rows_accepted - unlabelled_rows,
            "rows_quarantined": summary.rows_quarantined + unlabelled_rows,
            "rows_unlabelled": unlabelled_rows,
            "train_rows": train_rows,
            "eval_rows": eval_rows,
            "newest_row_unix": newest.map(|t| t.newest_unix),
        }),
    })
}

/// `batches` without the rows whose `target` is null; those go to
/// `<dir>/unlabelled.csv` (its writer created at the first one).
fn drop_unlabelled(
    batches: Vec<RecordBatch>,
    target: &str,
    dir: &Path,
    unlabelled: &mut Option<CsvWriter>,
) -> Result<Vec<RecordBatch>, PipelineError> {
    let mut kept = Vec::with_capacity(batches.len());
    for batch in batches {
        let Some(column) = batch.column_by_name(target).filter(|c| c.null_count() > 0) else {
            kept.push(batch);
            continue;
        };
        let labelled: BooleanArray = (0..column.len())
            .map(|i| Some(column.is_valid(i)))
            .collect();
        let missing: BooleanArray = (0..column.len()).map(|i| Some(column.is_null(i))).collect();
        let rows = |mask: &BooleanArray| {
            arrow_select::filter::filter_record_batch(&batch, mask)
                .map_err(|e| PipelineError::from(mlrig_core::Error::from(e)))
        };
        let writer = match unlabelled {
            Some(writer) => writer,
            None => unlabelled.insert(CsvWriter::create(
                dir.join(UNLABELLED_FILE),
                batch.schema(),
            )?),
        };
        writer.write(&rows(&missing)?)?;
        let part = rows(&labelled)?;
        if part.num_rows() > 0 {
            kept.push(part);
        }
    }
    Ok(kept)
}

/// Statistics of both splits, tensorflow-metadata JSON.
pub(crate) fn statistics(ingest_dir: &Path, dir: &Path) -> Result<StepOutcome, PipelineError> {
    let mut summary = serde_json::Map::new();
    for (input, output) in [
        (TRAIN_FILE, TRAIN_STATISTICS_FILE),
        (EVAL_FILE, EVAL_STATISTICS_FILE),
    ] {
        let (schema, batches) = read_parquet(&ingest_dir.join(input))?;
        let statistics = compute_statistics(&batches, &schema, &bundle_statistics_params())?;
        write_text(&dir.join(output), &statistics.to_tfmd_json()?)?;
        summary.insert(output.into(), json!(statistics.num_examples));
    }
    Ok(StepOutcome {
        summary: json!({ "num_examples": summary }),
        ..StepOutcome::default()
    })
}

/// Writes the curated schema, inferred from the statistics of every
/// ingested row (both splits, so that no value of the evaluation rows is
/// outside the schema's domains), when the file does not exist yet; returns
/// whether it did.
pub(crate) fn create_schema_if_missing(
    schema_path: &Path,
    params: &SchemaInferenceParams,
    ingest_dir: &Path,
) -> Result<bool, PipelineError> {
    if schema_path.exists() {
        return Ok(false);
    }
    let (schema, batches) = read_both_splits(ingest_dir)?;
    let statistics = compute_statistics(&batches, &schema, &bundle_statistics_params())?;
    let schema = infer_schema(&statistics, params);
    if let Some(parent) = schema_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| mlrig_core::Error::io(parent, e))?;
    }
    schema.save(schema_path)?;
    Ok(true)
}

/// Checks both splits against the curated schema; the anomaly policy decides
/// which anomalies block.
pub(crate) fn validate(
    config: &PipelineConfig,
    schema_path: &Path,
    ingest_dir: &Path,
    dir: &Path,
) -> Result<StepOutcome, PipelineError> {
    let schema = Schema::load(schema_path)?;
    let (batch_schema, batches) = read_both_splits(ingest_dir)?;
    let anomalies = validate_batches(
        &schema,
        &batch_schema,
        &batches,
        &ValidationOptions::default(),
    )?;
    write_text(&dir.join(ANOMALIES_FILE), &anomalies.to_tfmd_json()?)?;
    let (mut reasons, mut notes) = (Vec::new(), Vec::new());
    for anomaly in anomalies.iter() {
        let line = format!(
            "{}: {} ({})",
            anomaly.feature,
            anomaly.kind.name(),
            anomaly.description
        );
        if config.gates.anomalies.blocks(anomaly.kind.name()) {
            reasons.push(line);
        } else {
            notes.push(format!("allowed anomaly: {line}"));
        }
    }
    if !reasons.is_empty() {
        reasons.push(format!(
            "the data does not match the curated schema {}: fix the data, or update the schema on purpose (mlrig infer-schema DATA --update SCHEMA --out SCHEMA, or by hand), or allow these kinds in gates.anomalies.allow",
            schema_path.display()
        ));
    }
    Ok(StepOutcome {
        summary: json!({ "anomalies": anomalies.len() }),
        gate: Some(GateDecision::from_reasons(reasons)),
        notes,
    })
}

/// Fits the feature pipeline on the training rows (or takes the warm-start
/// version's).
pub(crate) fn features(
    config: &PipelineConfig,
    base: &Path,
    ingest_dir: &Path,
    warm: Option<&Path>,
    dir: &Path,
) -> Result<StepOutcome, PipelineError> {
    let features = match warm {
        Some(version_dir) => BundleServable::open(&ModelBundle::open(version_dir)?)?
            .features()
            .clone(),
        None => {
            let (schema, train) = read_parquet(&ingest_dir.join(TRAIN_FILE))?;
            let spec = configured_feature_spec(config, base)?;
            let (_, model_spec) = decide_model(
                &config.data.target,
                config.model.task,
                config.model.spec.as_ref(),
                None,
                &train,
            )?;
            let spec = feature_spec(spec.as_ref(), &model_spec, &schema, &config.data.target)?;
            FeaturePipelineParams::new(spec)
                .check()?
                .fit(train.as_slice())?
        }
    };
    features.save(&dir.join(FEATURES_FILE), &[])?;
    Ok(StepOutcome {
        summary: json!({
            "inputs": features.input_schema().fields().len(),
            "outputs": features.output_names().len(),
            "warm_start": warm.is_some(),
        }),
        ..StepOutcome::default()
    })
}

/// The user's feature spec, inline or from its file.
fn configured_feature_spec(
    config: &PipelineConfig,
    base: &Path,
) -> Result<Option<FeatureSpec>, PipelineError> {
    if let Some(spec) = &config.features.spec {
        return Ok(Some(spec.clone()));
    }
    let Some(file) = &config.features.file else {
        return Ok(None);
    };
    let path = resolve(base, file);
    let text = std::fs::read_to_string(&path).map_err(|e| mlrig_core::Error::io(&path, e))?;
    let parsed = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| mlrig_core::toml_error_message(&e))
    } else {
        FeatureSpec::from_json(&text).map_err(|e| e.to_string())
    };
    parsed.map(Some).map_err(|message| PipelineError::Config {
        file: path,
        message: format!("features.file: {message}"),
    })
}

/// Fits the model on the transformed training rows (or continues training
/// the warm-start version's).
pub(crate) fn train(
    config: &PipelineConfig,
    ingest_dir: &Path,
    features_dir: &Path,
    warm: Option<&Path>,
    dir: &Path,
    stage: impl Fn(&str),
) -> Result<StepOutcome, PipelineError> {
    let (_, train) = read_parquet(&ingest_dir.join(TRAIN_FILE))?;
    let train_rows: usize = train.iter().map(RecordBatch::num_rows).sum();
    let features = FittedFeaturePipeline::load(&features_dir.join(FEATURES_FILE))?.value;
    let warm = match warm {
        Some(version_dir) => {
            Some(BundleServable::open(&ModelBundle::open(version_dir)?)?.into_model())
        }
        None => None,
    };
    let target = &config.data.target;
    let (choice, model_spec) = decide_model(
        target,
        config.model.task,
        config.model.spec.as_ref(),
        warm.as_ref(),
        &train,
    )?;
    let y_train = TrainingTarget::from_arrays(choice.task, target, column_arrays(target, &train))?;
    let warm_start = warm.is_some();
    stage("transforming");
    let x_train = crate::training::transform_draining(&features, train)?;
    let fitted = fit_model(&features, &model_spec, warm, x_train, &y_train, stage)?;
    let model = &fitted.model;
    model.save(&dir.join(MODEL_FILE), &[])?;
    let notes = choice
        .notice
        .into_iter()
        .chain(convergence_notice(model))
        .collect();
    Ok(StepOutcome {
        gate: None,
        notes,
        summary: json!({
            "model": model.name(),
            "model_fingerprint": model.fingerprint()?.to_string(),
            "task": choice.task,
            "train_rows": train_rows,
            "warm_start": warm_start,
            "fit_seconds": fitted.fit_seconds,
            "sparse_features": fitted.sparse_features,
            "convergence": model.convergence(),
        }),
    })
}

/// Scores the candidate on the evaluation rows, checks leakage, stability
/// and serveability, compares it with the baseline: the blessing gate.
pub(crate) fn evaluate(
    config: &PipelineConfig,
    ingest_dir: &Path,
    features_dir: &Path,
    train_dir: &Path,
    baseline: Option<&Path>,
    dir: &Path,
) -> Result<StepOutcome, PipelineError> {
    let (_, train) = read_parquet(&ingest_dir.join(TRAIN_FILE))?;
    let (_, eval) = read_parquet(&ingest_dir.join(EVAL_FILE))?;
    let features = FittedFeaturePipeline::load(&features_dir.join(FEATURES_FILE))?.value;
    let model = Model::load(&train_dir.join(MODEL_FILE))?.value;
    let target = &config.data.target;
    check_threshold_metrics(&config.gates.blessing, &model.task()).map_err(|e| {
        PipelineError::InvalidOption {
            option: "gates.blessing".into(),
            reason: e.to_string(),
        }
    })?;
    if let Some(column) = (config.data.slices.iter()).find(|c| {
        eval.first()
            .is_some_and(|b| b.schema().field_with_name(c).is_err())
    }) {
        return Err(PipelineError::InvalidOption {
            option: "data.slices".into(),
            reason: format!(
                "no column `{column}` in the data; the columns are: {}",
                eval.first()
                    .map(|b| mlrig_core::column_list(&b.schema()))
                    .unwrap_or_default()
            ),
        });
    }
    let leakage =
        config
            .gates
            .leakage
            .clone()
            .check()?
            .run(&train, &eval, target, &model.task())?;
    let train_rows = train.iter().map(RecordBatch::num_rows).sum::<usize>() as u64;
    drop(train);
    write_json(&dir.join(LEAKAGE_FILE), &leakage)?;
    let leaks = leakage_reasons(&leakage);
    let mut notes = Vec::new();
    let gated_leaks = match config.gates.leakage_policy {
        LeakagePolicy::Block => Some(leaks),
        LeakagePolicy::Warn => {
            notes.extend(leaks.into_iter().map(|l| format!("suspected leak: {l}")));
            None
        }
    };
    let candidate = EvaluationInputs {
        features: &features,
        model: &model,
        eval: &eval,
        target,
        slices: &config.data.slices,
        thresholds: &config.gates.blessing,
    };
    let (mut evaluation, predictions) = candidate.evaluate(train_rows, gated_leaks)?;
    let mut baseline_version = None;
    if let Some(version_dir) = baseline {
        let bundle = ModelBundle::open(version_dir)?;
        baseline_version = Some(bundle.manifest().version);
        evaluation = candidate.compare_with_baseline(evaluation, &bundle);
    }
    evaluation.save(&dir.join(EVALUATION_FILE), &[])?;
    write_text(
        &dir.join(PREDICTION_STATISTICS_FILE),
        &prediction_statistics(&predictions)?.to_tfmd_json()?,
    )?;
    let warmup = crate::bundle_loader::warmup_lines(&features.input_schema(), &eval)?;
    std::fs::write(dir.join(WARMUP_FILE), warmup)
        .map_err(|e| mlrig_core::Error::io(dir.join(WARMUP_FILE), e))?;
    Ok(StepOutcome {
        gate: Some(GateDecision::from_reasons(evaluation.reasons().to_vec())),
        notes,
        summary: json!({
            "metrics": evaluation.metrics(),
            "blessed": evaluation.blessed(),
            "baseline_version": baseline_version,
        }),
    })
}

/// The artifact directories a bundle is assembled from.
pub(crate) struct BundleSources<'a> {
    pub(crate) spans: &'a [PathBuf],
    pub(crate) schema: &'a Path,
    pub(crate) statistics: &'a Path,
    pub(crate) features: &'a Path,
    pub(crate) train: &'a Path,
    pub(crate) evaluate: &'a Path,
    pub(crate) newest_row_unix: Option<i64>,
}

/// Writes the bundle as `<dir>/bundle/<name>/<version>` and loads it the way
/// a server does (fingerprints, name and version, warm-up requests).
pub(crate) fn infra_validate(
    name: &str,
    version: u64,
    sources: &BundleSources<'_>,
    dir: &Path,
) -> Result<StepOutcome, PipelineError> {
    let features = FittedFeaturePipeline::load(&sources.features.join(FEATURES_FILE))?.value;
    let model = Model::load(&sources.train.join(MODEL_FILE))?.value;
    let evaluation = mlrig_train::Evaluation::load(&sources.evaluate.join(EVALUATION_FILE))?.value;
    let read = |path: PathBuf| {
        std::fs::read(&path).map_err(|e| PipelineError::from(mlrig_core::Error::io(&path, e)))
    };
    let text = |path: PathBuf| read(path).map(|b| String::from_utf8_lossy(&b).into_owned());
    let schema_json = Schema::load(sources.schema)?.to_tfmd_json()?;
    let data_lineage = sources
        .spans
        .iter()
        .map(|s| mlrig_core::Fingerprint::of_file(s))
        .collect::<Result<Vec<_>, _>>()?;
    let bundle = write_bundle(
        BundleWriter::new(&dir.join(BUNDLE_DIR), name, Some(version))?,
        &BundleParts {
            data_lineage,
            schema_json,
            statistics_json: text(sources.statistics.join(TRAIN_STATISTICS_FILE))?,
            features: &features,
            model: &model,
            evaluation: &evaluation,
            prediction_statistics_json: text(sources.evaluate.join(PREDICTION_STATISTICS_FILE))?,
            warmup: read(sources.evaluate.join(WARMUP_FILE))?,
            newest_row_unix: sources.newest_row_unix,
        },
    )?;
    let reasons = match BundleLoader.load(name, version, bundle.dir()) {
        Ok(_) => Vec::new(),
        Err(reason) => vec![format!(
            "the bundle does not load through the serving path: {reason}"
        )],
    };
    Ok(StepOutcome {
        gate: Some(GateDecision::from_reasons(reasons)),
        notes: Vec::new(),
        summary: json!({ "version": version }),
    })
}

/// Copies the validated bundle into `<base_path>/<name>/` under a dot name
/// (which servers ignore) and renames it to its version.
pub(crate) fn push(
    bundle_dir: &Path,
    model_dir: &Path,
    version: u64,
) -> Result<PathBuf, PipelineError> {
    std::fs::create_dir_all(model_dir).map_err(|e| mlrig_core::Error::io(model_dir, e))?;
    let final_dir = model_dir.join(version.to_string());
    if final_dir.exists() {
        return Err(PipelineError::PipelineState {
            path: final_dir,
            reason: "this version already exists in the model base path (pushed by another process?); run again to push as the next version".into(),
        });
    }
    mlrig_core::remove_abandoned_temps(model_dir, ".push-");
    let staging = tempfile::Builder::new()
        .prefix(&mlrig_core::owned_temp_prefix(".push-"))
        .tempdir_in(model_dir)
        .map_err(|e| mlrig_core::Error::io(model_dir, e))?;
    copy_tree(bundle_dir, staging.path())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| mlrig_core::Error::io(staging.path(), e))?;
    }
    // The copy must open (fingerprints intact) before it becomes a version.
    ModelBundle::open(staging.path())?;
    let staging = staging.keep();
    std::fs::rename(&staging, &final_dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staging);
        mlrig_core::Error::io(&final_dir, e)
    })?;
    Ok(final_dir)
}

/// Copies the directory tree `from` into `to` (created if needed).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), PipelineError> {
    std::fs::create_dir_all(to).map_err(|e| mlrig_core::Error::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| mlrig_core::Error::io(from, e))? {
        let entry = entry.map_err(|e| mlrig_core::Error::io(from, e))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| mlrig_core::Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

fn write_parquet(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), PipelineError> {
    let io = |e: std::io::Error| PipelineError::from(mlrig_core::Error::io(path, e));
    let parquet = |e: parquet::errors::ParquetError| PipelineError::PipelineState {
        path: path.to_path_buf(),
        reason: format!("cannot write Parquet: {e}"),
    };
    let file = File::create(path).map_err(io)?;
    let mut writer = ArrowWriter::try_new(file, Arc::clone(schema), None).map_err(parquet)?;
    for batch in batches {
        writer.write(batch).map_err(parquet)?;
    }
    writer.close().map_err(parquet)?;
    Ok(())
}

/// Every ingested row: the training batches, then the evaluation ones.
fn read_both_splits(ingest_dir: &Path) -> Result<(SchemaRef, Vec<RecordBatch>), PipelineError> {
    let (schema, mut batches) = read_parquet(&ingest_dir.join(TRAIN_FILE))?;
    batches.extend(read_parquet(&ingest_dir.join(EVAL_FILE))?.1);
    Ok((schema, batches))
}

/// Reads one split back: its schema and batches.
pub(crate) fn read_parquet(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>), PipelineError> {
    let (schema, batches, _) = mlrig_ingest::read_parquet(path, ReadOptions::default())?;
    Ok((schema, batches))
}

fn write_text(path: &Path, text: &str) -> Result<(), PipelineError> {
    Ok(mlrig_core::write_atomic(path, text.as_bytes())?)
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), PipelineError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| PipelineError::Json {
        context: path.display().to_string(),
        source,
    })?;
    Ok(mlrig_core::write_atomic(path, &bytes)?)
}
