//! `mlrig predict`: static (offline) inference — a data file scored by a
//! model bundle into a prediction table (`mlrig_pipeline::BatchPredictJob`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use mlrig_pipeline::BatchPredictJob;

use super::{CsvArgs, StreamArgs};
use crate::CommandResult;
use crate::output::Outcome;
use crate::progress::rows_spinner;

/// Arguments of `mlrig predict`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The model: a model directory (<base>/<name>; its highest blessed version, as `mlrig serve`)
    /// or a version directory (<base>/<name>/<version>).
    #[arg(long, value_name = "DIR")]
    model: PathBuf,

    /// With a model directory: score with this version, blessed or not.
    #[arg(long, value_name = "N")]
    version: Option<u64>,

    /// The data to score (CSV, JSON Lines or Parquet, by extension; `.gz` is decompressed).
    data: PathBuf,

    /// The prediction table: `.csv`, `.parquet` or `.jsonl`, one row per accepted input row, in
    /// input order; written to a temporary file and renamed into place when complete.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Copy this input column first into the table (e.g. an id, to join the predictions back
    /// or to serve them by key). Unless the model reads it or --column-type types it, it is
    /// copied as text, unchanged (`00000` stays `00000`).
    #[arg(long, value_name = "COLUMN")]
    key: Option<String>,

    /// Copy every input column into the table, before the prediction columns.
    #[arg(long)]
    with_input: bool,

    #[command(flatten)]
    stream: StreamArgs,

    #[command(flatten)]
    csv: CsvArgs,
}

/// Rejected rows the text output lists (the JSON report keeps more).
const REJECTED_SHOWN: usize = 10;

pub(crate) fn run(args: Args) -> CommandResult {
    let options = args.stream.apply(args.csv.options()?)?;
    let spinner = rows_spinner(&format!("predicting {}", args.data.display()));
    let progress = {
        let spinner = spinner.clone();
        Arc::new(move |rows: u64| spinner.inc(rows))
    };
    let mut job = BatchPredictJob::new(&args.model, &args.data, &args.out)
        .with_read_options(options)
        .with_input(args.with_input)
        .with_progress(progress);
    if let Some(version) = args.version {
        job = job.with_version(version);
    }
    if let Some(key) = &args.key {
        job = job.with_key(key);
    }
    let report = job.run();
    spinner.finish_and_clear();
    let report = report?;

    let mut text = format!(
        "{} rows of {} scored by `{}` version {} in {:.2} s ({:.0} rows/s)\n\
         {} rows read = {} predicted + {} quarantined + {} rejected by the model\n\
         table ({} columns: {}) written to {}\n",
        report.rows_predicted,
        report.data.display(),
        report.model,
        report.version,
        report.seconds,
        report.rows_per_second,
        report.rows_read,
        report.rows_predicted,
        report.rows_quarantined,
        report.rows_rejected,
        report.columns.len(),
        report.columns.join(", "),
        report.out.display()
    );
    if let Some(path) = &args.stream.quarantine {
        let _ = writeln!(text, "quarantine written to {}", path.display());
    } else if report.rows_quarantined > 0 {
        let _ = writeln!(
            text,
            "pass --quarantine FILE to keep the quarantined rows with their reasons"
        );
    }
    for row in report.rejected.iter().take(REJECTED_SHOWN) {
        let _ = writeln!(text, "  rejected {}:{}: {}", row.file, row.line, row.reason);
    }
    if report.rows_rejected > REJECTED_SHOWN as u64 {
        let _ = writeln!(
            text,
            "  … and {} more rejected rows (--format json lists the first {})",
            report.rows_rejected - REJECTED_SHOWN as u64,
            mlrig_pipeline::REJECTED_KEEP
        );
    }
    Outcome::new(&report, text)
}
