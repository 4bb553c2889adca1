//! `mlrig ingest`: read a CSV file, account for every row.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlrig_ingest::{CsvReader, QuarantineFormat};

use super::CsvArgs;
use crate::CommandResult;
use crate::output::Outcome;
use crate::progress::rows_spinner;

/// Arguments of `mlrig ingest`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// CSV files or glob patterns (`data/*.csv`, `.gz` files are decompressed); read as one data set.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,

    /// Write the quarantined rows (line, column, value, reason, raw record) to this file.
    #[arg(long, value_name = "FILE")]
    quarantine: Option<PathBuf>,

    /// Format of the quarantine file.
    #[arg(long, default_value = "csv", value_name = "csv|jsonl")]
    quarantine_format: QuarantineFormat,

    /// Rows per Arrow batch.
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    batch_size: usize,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let mut options = args.csv.options()?.with_batch_size(args.batch_size);
    if let Some(path) = &args.quarantine {
        options = options.with_quarantine_file(path, args.quarantine_format);
    }
    let set = mlrig_ingest::FileSet::new(&args.files)?;
    let mut reader = CsvReader::open_files(&set, options)?;
    let schema = reader.schema();
    let spinner = rows_spinner(&format!("reading {}", args.files.join(" ")));
    for batch in reader.by_ref() {
        spinner.inc(batch?.num_rows() as u64);
    }
    spinner.finish_and_clear();
    let report = reader.finish()?;

    let s = &report.summary;
    let mut text = format!(
        "{}: {} rows read = {} accepted + {} quarantined\n",
        args.files.join(" "),
        s.rows_read,
        s.rows_accepted,
        s.rows_quarantined
    );
    let _ = writeln!(text, "columns:");
    for field in schema.fields() {
        let _ = writeln!(text, "  {:<24} {}", field.name(), field.data_type());
    }
    if !report.quarantined.is_empty() {
        let _ = writeln!(text, "quarantined rows:");
        for row in &report.quarantined {
            let column = row
                .column
                .as_deref()
                .map(|c| format!("column `{c}`: "))
                .unwrap_or_default();
            let _ = writeln!(text, "  line {:<6} {column}{}", row.line, row.reason);
        }
    }
    if let Some(path) = &args.quarantine {
        let _ = writeln!(text, "quarantine written to {}", path.display());
    }
    let columns: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string()}))
        .collect();
    let json = serde_json::json!({
        "summary": report.summary,
        "columns": columns,
        "quarantined": report.quarantined,
        "quarantine_file": args.quarantine,
    });
    Ok(Outcome::from_json(json, text))
}
