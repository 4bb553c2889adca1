//! `mlrig validate`: check a CSV file against a schema.

use std::path::PathBuf;

use mlrig_validate::{Schema, ValidationOptions, Validator};

use super::CsvArgs;
use crate::CommandResult;
use crate::output::Outcome;
use crate::progress::rows_spinner;

/// Arguments of `mlrig validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// CSV files or glob patterns (`data/*.csv`, `.gz` files are decompressed); read as one data set.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,

    /// The schema: `.pbtxt` or `.json` (e.g. from `mlrig infer-schema --out`), TFDV-compatible.
    #[arg(long, value_name = "FILE")]
    schema: PathBuf,

    /// Validate for this environment (e.g. SERVING, where the label may be absent).
    #[arg(long, value_name = "NAME")]
    environment: Option<String>,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let schema = Schema::load(&args.schema)?;
    let mut reader = super::open_csv(&args.files, &args.csv)?;
    let mut options = ValidationOptions::default();
    if let Some(env) = &args.environment {
        options = options.with_environment(env);
    }
    let mut validator = Validator::with_options(&schema, &reader.schema(), &options)?;
    let spinner = rows_spinner(&format!("validating {}", args.files.join(" ")));
    for batch in reader.by_ref() {
        let batch = batch?;
        spinner.inc(batch.num_rows() as u64);
        validator.update(&batch)?;
    }
    spinner.finish_and_clear();
    let report = reader.finish()?;
    let anomalies = validator.finish();

    let text = if anomalies.is_empty() {
        format!(
            "{}: no anomalies ({} rows)\n",
            args.files.join(" "),
            report.summary.rows_accepted
        )
    } else {
        let mut text = format!(
            "{}: {} anomalies\n{anomalies}",
            args.files.join(" "),
            anomalies.len()
        );
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    };
    let json = serde_json::json!({
        "files": args.files,
        "ingest": report.summary,
        "anomaly_count": anomalies.len(),
        "anomalies": anomalies,
    });
    Ok(Outcome::from_json(json, text).failed_check(!anomalies.is_empty()))
}
