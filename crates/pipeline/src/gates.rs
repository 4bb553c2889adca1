//! The checks a candidate must pass before it is blessed, besides its
//! metrics: numerical stability and serveability (label leakage is checked
//! by mlrig-train's `leakage` module). Each yields a named list of problems;
//! an empty list passes.

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::{Artifact, Predictions, Servable, ServableInfo};
use mlrig_features::FittedFeaturePipeline;
use mlrig_train::{GateCheck, Model};

use crate::PipelineError;
use crate::serving::BundleServable;

/// The largest absolute weight a blessed model may have. Features are
/// standardised or one-hot, so a weight this large means a degenerate fit
/// (near-separable data with a very weak penalty, a constant-but-huge
/// column) whose predictions swing on rounding.
pub const MAX_STABLE_WEIGHT: f64 = 1e6;

/// Evaluation rows sent through the serving path before blessing.
pub const WARMUP_ROWS: usize = 16;

/// A named gate check from its list of problems (none = passed).
pub(crate) fn gate_check(name: &str, problems: Vec<String>) -> GateCheck {
    if problems.is_empty() {
        GateCheck::pass(name)
    } else {
        GateCheck::fail(name, problems)
    }
}

/// Numerical stability: every weight finite and at most
/// [`MAX_STABLE_WEIGHT`], every evaluation prediction finite.
pub(crate) fn stability_problems(model: &Model, predictions: &Predictions) -> Vec<String> {
    let mut problems = Vec::new();
    let largest = model.largest_weight();
    if largest.is_nan() {
        problems.push("a coefficient or intercept is not finite".to_string());
    } else if largest > MAX_STABLE_WEIGHT {
        problems.push(format!(
            "the largest weight is {largest:.3e}, above {MAX_STABLE_WEIGHT:.0e}: the fit is \
             degenerate (separable classes with a weak penalty? lower C or add l2_penalty)"
        ));
    }
    let outputs: Box<dyn Iterator<Item = &f64>> = match predictions {
        Predictions::Regression { values } => Box::new(values.iter()),
        Predictions::Classification { probabilities, .. } => Box::new(probabilities.iter()),
        // A prediction kind added to mlrig-core later: nothing to check yet.
        _ => Box::new(std::iter::empty()),
    };
    if let Some(bad) = outputs.into_iter().position(|v| !v.is_finite()) {
        problems.push(format!("evaluation output {bad} is not finite"));
    }
    problems
}

/// Serveability: the model and feature pipeline, written to their bundle
/// form and read back as a server would, answer the first
/// [`WARMUP_ROWS`] evaluation rows — sent as JSON records, one request per
/// row — with the same bits as the batch evaluation path.
pub(crate) fn serveability_problems(
    features: &FittedFeaturePipeline,
    model: &Model,
    eval: &[RecordBatch],
    predictions: &Predictions,
) -> Result<Vec<String>, PipelineError> {
    let origin = std::path::Path::new("(candidate bundle)");
    let reloaded_features =
        FittedFeaturePipeline::from_artifact_bytes(&features.to_artifact_bytes(&[])?.1, origin)?
            .value;
    let reloaded_model =
        Model::from_artifact_bytes(&model.to_artifact_bytes(&[])?.1, origin)?.value;
    let info = ServableInfo::new("candidate", 0, model.task(), model.target());
    let servable = BundleServable::from_parts(info, reloaded_features, reloaded_model)?;
    let schema = servable.input_schema();
    let mut problems = Vec::new();
    let mut row = 0;
    for batch in eval {
        for local in 0..batch.num_rows() {
            if row == WARMUP_ROWS {
                return Ok(problems);
            }
            let projected = project(&batch.slice(local, 1), &schema)?;
            let answer = mlrig_core::batch_to_records(&projected)
                .and_then(|records| {
                    let record = records.into_iter().next().unwrap_or_default();
                    mlrig_core::record_to_batch(&record, &schema)
                })
                .and_then(|one| servable.predict(&one));
            match answer {
                Ok(served) if same_row(&served, 0, predictions, row) => {}
                Ok(_) => problems.push(format!(
                    "evaluation row {row}: the serving path predicts other values than the batch path"
                )),
                Err(e) => problems.push(format!("evaluation row {row}: the serving path failed: {e}")),
            }
            row += 1;
        }
    }
    Ok(problems)
}

/// The columns of `schema` from `batch`, in schema order.
pub(crate) fn project(
    batch: &RecordBatch,
    schema: &mlrig_core::arrow_schema::SchemaRef,
) -> Result<RecordBatch, PipelineError> {
    let indices = schema
        .fields()
        .iter()
        .map(|f| batch.schema().index_of(f.name()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| mlrig_core::Error::InvalidParameter {
            name: "evaluation batch".into(),
            reason: e.to_string(),
        })?;
    batch.project(&indices).map_err(|e| {
        mlrig_core::Error::InvalidParameter {
            name: "evaluation batch".into(),
            reason: e.to_string(),
        }
        .into()
    })
}

/// Whether row `a` of `left` and row `b` of `right` have the same bits.
fn same_row(left: &Predictions, a: usize, right: &Predictions, b: usize) -> bool {
    match (left, right) {
        (Predictions::Regression { values: l }, Predictions::Regression { values: r }) => {
            l.get(a).map(|v| v.to_bits()) == r.get(b).map(|v| v.to_bits())
        }
        (
            Predictions::Classification {
                classes: lc,
                probabilities: lp,
            },
            Predictions::Classification {
                classes: rc,
                probabilities: rp,
            },
        ) => {
            lc == rc
                && a < lp.nrows()
                && b < rp.nrows()
                && lp
                    .row(a)
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(rp.row(b).iter().map(|v| v.to_bits()))
        }
        _ => false,
    }
}
