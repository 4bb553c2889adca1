//! `mlrig evaluate`: a model version scored on data, per slice, against a baseline.

use std::path::PathBuf;

use mlrig_core::Artifact;
use mlrig_pipeline::EvaluationJob;

use super::CsvArgs;
use super::blessing::{GateArgs, evaluation_text};
use crate::CommandResult;
use crate::output::Outcome;

/// Arguments of `mlrig evaluate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The model version directory (<base>/<name>/<version>).
    #[arg(long, value_name = "VERSION_DIR")]
    model: PathBuf,

    /// The data to score (CSV, JSON Lines or Parquet) with the model's target column.
    data: PathBuf,

    /// A baseline version directory, scored on the same rows; the candidate
    /// must not be worse than it by more than --max-drop.
    #[arg(long, value_name = "VERSION_DIR")]
    baseline: Option<PathBuf>,

    /// Also write the evaluation (an `mlrig.train.evaluation` artifact) to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    #[command(flatten)]
    gate: GateArgs,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let mut job = EvaluationJob::new(&args.model, &args.data)
        .with_thresholds(args.gate.thresholds()?)
        .with_read_options(args.csv.options()?);
    if let Some(baseline) = &args.baseline {
        job = job.with_baseline(baseline);
    }
    for column in &args.gate.slices {
        job = job.with_slice(column);
    }
    let report = job.run()?;
    if let Some(path) = &args.out {
        report.evaluation.save(path, &[])?;
    }
    let mut text = format!(
        "{} (version {}) on {}: {} rows\n",
        report.model.display(),
        report.version,
        args.data.display(),
        report.evaluation.eval_rows()
    );
    text.push_str(&evaluation_text(&report.evaluation));
    let blessed = report.evaluation.blessed();
    Ok(Outcome::new(&report, text)?.failed_check(!blessed))
}
