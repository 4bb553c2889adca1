//! One module per verb. Each exposes `Args` (clap) and `run(args) -> CommandResult`.

pub(crate) mod alerts;
pub(crate) mod blessing;
pub(crate) mod drift;
pub(crate) mod evaluate;
pub(crate) mod features;
pub(crate) mod infer_schema;
pub(crate) mod ingest;
pub(crate) mod init;
pub(crate) mod model_lifecycle;
pub(crate) mod monitor;
pub(crate) mod predict;
pub(crate) mod report;
pub(crate) mod rollback;
pub(crate) mod run;
pub(crate) mod schema;
pub(crate) mod serve;
pub(crate) mod stats;
pub(crate) mod train;
pub(crate) mod validate;

use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::SchemaRef;
use mlrig_ingest::{
    CsvFormat, DataReader, InferenceOptions, IngestReport, QuarantineFormat, QuarantineOptions,
    ReadOptions, parse_data_type,
};

use crate::output::CliError;

/// Where quarantined rows go and how many rows a batch holds; shared by the
/// verbs that stream a data file through (`ingest`, `predict`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StreamArgs {
    /// Write the quarantined rows (line, column, value, reason, raw record) to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) quarantine: Option<PathBuf>,

    /// Format of the quarantine file.
    #[arg(long, default_value = "csv", value_name = "csv|jsonl")]
    quarantine_format: QuarantineFormat,

    /// Rows per Arrow batch (the unit read, and scored on one core, at a time).
    #[arg(long, default_value_t = 65_536, value_name = "N")]
    batch_size: usize,
}

impl StreamArgs {
    /// `options` with the batch size and the quarantine file.
    pub(crate) fn apply(&self, options: ReadOptions) -> Result<ReadOptions, CliError> {
        if self.batch_size == 0 {
            return Err("--batch-size must be at least 1".into());
        }
        let options = options.with_batch_size(self.batch_size);
        Ok(match &self.quarantine {
            Some(path) => options.with_quarantine(
                QuarantineOptions::default().with_file(path, self.quarantine_format),
            ),
            None => options,
        })
    }
}

/// How to read input data (CSV options; JSON Lines and Parquet files ignore
/// the ones that do not apply); shared by every verb that reads data.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CsvArgs {
    /// Field delimiter (one ASCII character; `\t` for tab).
    #[arg(long, default_value = ",", value_name = "CHAR")]
    delimiter: String,

    /// The file has no header row (columns are named column_1, column_2, …).
    #[arg(long)]
    no_header: bool,

    /// Tokens read as missing values (repeat the flag); default: "", NA, N/A, NaN, null, ?.
    #[arg(long = "missing", value_name = "TOKEN")]
    missing: Vec<String>,

    /// Force a column's type: NAME=TYPE with TYPE one of bool, int64, float64, utf8 (repeatable).
    #[arg(long = "column-type", value_name = "NAME=TYPE")]
    column_types: Vec<String>,

    /// Rows read to infer column types.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    infer_rows: usize,
}

impl CsvArgs {
    pub(crate) fn options(&self) -> Result<ReadOptions, CliError> {
        let delimiter = match self.delimiter.as_str() {
            "\\t" | "tab" => b'\t',
            d if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
            other => {
                return Err(
                    format!("--delimiter: expected one ASCII character, found {other:?}").into(),
                );
            }
        };
        // Parse on as many threads as `--threads` gives rayon (default: all cores).
        let mut inference = InferenceOptions::default().with_infer_rows(self.infer_rows);
        if !self.missing.is_empty() {
            inference = inference.with_missing_tokens(self.missing.clone());
        }
        for spec in &self.column_types {
            let Some((name, type_name)) = spec.split_once('=') else {
                return Err(format!(
                    "--column-type: expected NAME=TYPE (e.g. zip=utf8), found {spec:?}"
                )
                .into());
            };
            inference = inference.with_column_type(name, parse_data_type(type_name)?);
        }
        let format = CsvFormat::default()
            .with_delimiter(delimiter)
            .with_header(!self.no_header);
        Ok(ReadOptions::default()
            .with_csv_format(format)
            .with_inference(inference)
            .with_threads(rayon::current_num_threads()))
    }
}

/// Opens data files (paths or glob patterns; CSV, JSON Lines or Parquet by
/// extension, optionally gzip-compressed) as one stream.
pub(crate) fn open_data(files: &[String], csv: &CsvArgs) -> Result<DataReader, CliError> {
    let set = mlrig_ingest::FileSet::new(files)?;
    Ok(DataReader::open_files(&set, csv.options()?)?)
}

/// Reads one data file whole: its schema, batches and ingestion report.
/// Errors when no row was accepted (nothing to fit or check), naming the file.
pub(crate) fn read_data(
    path: &Path,
    csv: &CsvArgs,
) -> Result<(SchemaRef, Vec<RecordBatch>, IngestReport), CliError> {
    let (schema, batches, report) = mlrig_ingest::read_data(path, csv.options()?)?;
    if report.summary.rows_accepted == 0 {
        return Err(format!(
            "{}: no usable rows ({} read, {} quarantined); nothing to work on",
            path.display(),
            report.summary.rows_read,
            report.summary.rows_quarantined
        )
        .into());
    }
    Ok((schema, batches, report))
}

/// `--out` handling shared by the verbs that write a file.
pub(crate) fn describe_output(out: &Option<PathBuf>) -> String {
    match out {
        Some(path) => format!("written to {}", path.display()),
        None => "not written (pass --out FILE to save it)".into(),
    }
}
