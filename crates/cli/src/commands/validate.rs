//! `mlrig validate`: check a CSV file against a schema.

use std::path::PathBuf;

use mlrig_ingest::CsvReader;
use mlrig_validate::{Schema, ValidationOptions, Validator};

use super::CsvArgs;
use crate::CommandResult;
use crate::output::Outcome;
use crate::progress::rows_spinner;

/// Arguments of `mlrig validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The CSV file to check.
    file: PathBuf,

    /// The schema (tensorflow-metadata Schema JSON, e.g. from `mlrig infer-schema --out`).
    #[arg(long, value_name = "FILE")]
    schema: PathBuf,

    /// Validate for this environment (e.g. SERVING, where the label may be absent).
    #[arg(long, value_name = "NAME")]
    environment: Option<String>,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let schema = Schema::load_tfmd_json(&args.schema)?;
    let mut reader = CsvReader::open(&args.file, args.csv.options()?)?;
    let mut options = ValidationOptions::default();
    if let Some(env) = &args.environment {
        options = options.with_environment(env);
    }
    let mut validator = Validator::with_options(&schema, &reader.schema(), &options)?;
    let spinner = rows_spinner(&format!("validating {}", args.file.display()));
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
            args.file.display(),
            report.summary.rows_accepted
        )
    } else {
        let mut text = format!(
            "{}: {} anomalies\n{anomalies}",
            args.file.display(),
            anomalies.len()
        );
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    };
    let json = serde_json::json!({
        "file": args.file,
        "ingest": report.summary,
        "anomaly_count": anomalies.len(),
        "anomalies": anomalies,
    });
    Ok(Outcome::from_json(json, text).failed_check(!anomalies.is_empty()))
}
