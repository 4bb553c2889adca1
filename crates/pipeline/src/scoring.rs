//! Scoring a model on rows: predictions, the truth read for the model's
//! task, metrics overall and per slice — the one path shared by the
//! training job's evaluation, its baseline and `mlrig evaluate`.

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_core::arrow_schema::DataType;
use mlrig_core::{Predict, Predictions, Task};
use mlrig_features::FittedFeaturePipeline;
use mlrig_train::{
    BlessingThresholds, ClassTarget, Evaluation, Model, RegressionTarget, SliceColumn, Truth,
    evaluation_curves, slice_metrics, task_metrics,
};

use crate::PipelineError;

/// A model's predictions on some rows, with their truth.
pub(crate) struct Scored {
    pub(crate) predictions: Predictions,
    pub(crate) truth: Truth,
}

/// Transforms `batches` with `features`, predicts with `model`, and reads
/// the `target` column as the model's task needs it.
pub(crate) fn score(
    features: &FittedFeaturePipeline,
    model: &Model,
    batches: &[RecordBatch],
    target: &str,
) -> Result<Scored, PipelineError> {
    let x = features.transform_batches(batches)?;
    let predictions = model.predict(&x)?;
    let arrays = column_arrays(target, batches);
    let truth = match model.task() {
        Task::Regression => Truth::from(RegressionTarget::from_arrays(target, arrays)?),
        _ => Truth::from(ClassTarget::from_arrays(target, arrays)?),
    };
    Ok(Scored { predictions, truth })
}

/// The evaluation of `scored`: the task's metrics, per-slice metrics for
/// each column of `slices`, judged against `thresholds`.
pub(crate) fn evaluation(
    model: &Model,
    scored: &Scored,
    batches: &[RecordBatch],
    slices: &[String],
    train_rows: u64,
    thresholds: &BlessingThresholds,
) -> Result<Evaluation, PipelineError> {
    let metrics = task_metrics(&scored.predictions, &scored.truth)?;
    let eval_rows = scored.truth.len() as u64;
    let evaluation = Evaluation::new(
        model.task(),
        metrics,
        train_rows,
        eval_rows,
        thresholds.clone(),
    )?
    .with_importances(model.importances().unwrap_or_default())
    .with_curves(evaluation_curves(&scored.predictions, &scored.truth)?);
    if slices.is_empty() {
        return Ok(evaluation);
    }
    let columns = slices
        .iter()
        .map(|name| slice_column(name, batches))
        .collect::<Result<Vec<_>, _>>()?;
    let per_slice = slice_metrics(&scored.predictions, &scored.truth, &columns)?;
    Ok(evaluation.with_slices(per_slice)?)
}

/// `column`'s values as slice keys (strings; integers and booleans as
/// written, floats in their shortest form).
fn slice_column(column: &str, batches: &[RecordBatch]) -> Result<SliceColumn, PipelineError> {
    let mut values: Vec<Option<String>> = Vec::new();
    for batch in batches {
        let Some(array) = batch.column_by_name(column) else {
            return Err(PipelineError::MissingColumn {
                column: column.to_string(),
                available: mlrig_core::column_list(&batch.schema()),
            });
        };
        let part: Vec<Option<String>> = match array.data_type() {
            DataType::Utf8 => array
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
            DataType::Int64 => {
                let values = array.as_primitive::<Int64Type>();
                values.iter().map(|v| v.map(|v| v.to_string())).collect()
            }
            DataType::Float64 => {
                let values = array.as_primitive::<Float64Type>();
                values.iter().map(|v| v.map(|v| v.to_string())).collect()
            }
            DataType::Boolean => array
                .as_boolean()
                .iter()
                .map(|v| v.map(|v| v.to_string()))
                .collect(),
            other => {
                return Err(PipelineError::UnsupportedSlice {
                    column: column.to_string(),
                    found: other.to_string(),
                });
            }
        };
        values.extend(part);
    }
    Ok(SliceColumn::new(column, values))
}

/// The arrays of `column`, one per batch that has it.
pub(crate) fn column_arrays<'a>(column: &str, batches: &'a [RecordBatch]) -> Vec<&'a dyn Array> {
    batches
        .iter()
        .filter_map(|b| b.column_by_name(column).map(|c| c.as_ref()))
        .collect()
}
