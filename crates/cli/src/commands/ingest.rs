//! `mlrig ingest`: read CSV files, account for every row, and optionally
//! write a deterministic train/eval split (`--eval-fraction`, `--out-dir`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mlrig_ingest::{CsvWriter, DataReader, IngestError, Split, SplitRule, SplitSide};

use super::{CsvArgs, StreamArgs};
use crate::CommandResult;
use crate::output::{CliError, Outcome};
use crate::progress::rows_spinner;

/// Arguments of `mlrig ingest`.
#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Examples:\n  mlrig ingest data/samples/broken.csv --quarantine bad_rows.csv --format json\n  mlrig ingest 'data/part-*.csv.gz' --split-key user_id --eval-fraction 0.2 --out-dir split/\n\nSplit: a row is an eval row iff the top 53 bits of key_hash(key) / 2^53 < eval fraction, where\nkey_hash is FNV-1a 64 followed by MurmurHash3's fmix64 (see the mlrig-core split docs). With\n--split-key the key is the column's value (text as read, integers in decimal), so a key lands on\nthe same side whatever the file or row order; rows without a key are quarantined. Without\n--split-key the key is the 0-based row number among accepted rows, across all files in order."
)]
pub(crate) struct Args {
    /// Data files or glob patterns (`data/*.csv`; `.jsonl`/`.ndjson` are JSON Lines, `.parquet` Parquet; `.gz` files are decompressed); read as one data set.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,

    #[command(flatten)]
    stream: StreamArgs,

    /// Split train/eval by hashing this column's value (a string or integer column; rows without
    /// a value are quarantined). The split then does not depend on file or row order.
    #[arg(long, value_name = "COLUMN", requires = "eval_fraction")]
    split_key: Option<String>,

    /// Send about this fraction (0 to 1) of the accepted rows to eval.csv, the rest to train.csv,
    /// by a stable hash. Without --split-key the hashed key is the row number (0-based, over
    /// accepted rows, all files in order), so reordering the input changes the split.
    #[arg(long, value_name = "FRACTION", requires = "out_dir")]
    eval_fraction: Option<f64>,

    /// Directory for train.csv and eval.csv (created if missing; each file appears complete or
    /// not at all).
    #[arg(long, value_name = "DIR", requires = "eval_fraction")]
    out_dir: Option<PathBuf>,

    #[command(flatten)]
    csv: CsvArgs,
}

/// The two output files of a split and their writers.
struct SplitOutput {
    split: Split,
    train: CsvWriter,
    eval: CsvWriter,
    train_path: PathBuf,
    eval_path: PathBuf,
    /// Row number (over accepted rows) of the next batch's first row.
    next_row: u64,
}

impl SplitOutput {
    fn write(&mut self, batch: &mlrig_core::arrow_array::RecordBatch) -> Result<(), CliError> {
        let (train, eval) = self.split.split_batch(batch, self.next_row)?;
        self.next_row += batch.num_rows() as u64;
        self.train.write(&train)?;
        self.eval.write(&eval)?;
        Ok(())
    }
}

pub(crate) fn run(args: Args) -> CommandResult {
    let mut options = args.stream.apply(args.csv.options()?)?;
    let split = match args.eval_fraction {
        Some(fraction) => {
            let rule =
                SplitRule::hash_key(fraction).map_err(|e| format!("--eval-fraction: {e}"))?;
            // Every accepted row comes back; rows without a key are quarantined by the reader.
            let split = Split::new(rule, SplitSide::Both);
            Some(match &args.split_key {
                Some(column) => split.with_key_column(column),
                None => split,
            })
        }
        None => None,
    };
    if let Some(split) = &split {
        options = options.with_split(split.clone());
    }
    let set = mlrig_ingest::FileSet::new(&args.files)?;
    let mut reader = DataReader::open_files(&set, options)?;
    let schema = reader.schema();
    let mut output = match (&split, &args.out_dir) {
        (Some(split), Some(dir)) => Some(open_split_output(split, dir, &schema)?),
        _ => None,
    };
    let spinner = rows_spinner(&format!("reading {}", args.files.join(" ")));
    for batch in reader.by_ref() {
        let batch = batch.map_err(IngestError::from)?;
        spinner.inc(batch.num_rows() as u64);
        if let Some(output) = output.as_mut() {
            output.write(&batch)?;
        }
    }
    spinner.finish_and_clear();
    let report = reader.finish()?;
    let split_json = match output {
        Some(mut output) => {
            // Both files on disk before either is renamed: a full disk
            // leaves the previous pair, never a new train with an old eval.
            output.train.sync()?;
            output.eval.sync()?;
            let train_rows = output.train.commit()?;
            let eval_rows = output.eval.commit()?;
            Some(serde_json::json!({
                "rule": output.split.rule,
                "key_column": output.split.key_column,
                "train": {"file": output.train_path, "rows": train_rows},
                "eval": {"file": output.eval_path, "rows": eval_rows},
            }))
        }
        None => None,
    };

    let s = &report.summary;
    let mut text = format!(
        "{}: {} rows read = {} accepted + {} quarantined\n",
        args.files.join(" "),
        s.rows_read,
        s.rows_accepted,
        s.rows_quarantined
    );
    if let Some(split) = &split_json {
        let by = match &args.split_key {
            Some(column) => format!("hash of `{column}`"),
            None => "hash of the row number".to_string(),
        };
        let _ = writeln!(
            text,
            "split ({by}, eval fraction {}): {} train rows → {}, {} eval rows → {}",
            args.eval_fraction.unwrap_or_default(),
            split["train"]["rows"],
            display(&split["train"]["file"]),
            split["eval"]["rows"],
            display(&split["eval"]["file"]),
        );
    }
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
    if let Some(path) = &args.stream.quarantine {
        let _ = writeln!(text, "quarantine written to {}", path.display());
    }
    let columns: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string()}))
        .collect();
    let mut json = serde_json::json!({
        "summary": report.summary,
        "columns": columns,
        "quarantined": report.quarantined,
        "quarantine_file": args.stream.quarantine,
    });
    if let Some(split) = split_json {
        json["split"] = split;
    }
    Ok(Outcome::from_json(json, text))
}

/// Creates `dir` and the two (temporary until committed) output files.
fn open_split_output(
    split: &Split,
    dir: &Path,
    schema: &mlrig_core::arrow_schema::SchemaRef,
) -> Result<SplitOutput, CliError> {
    std::fs::create_dir_all(dir).map_err(|e| format!("--out-dir {}: {e}", dir.display()))?;
    let train_path = dir.join("train.csv");
    let eval_path = dir.join("eval.csv");
    Ok(SplitOutput {
        split: split.clone(),
        train: CsvWriter::create(&train_path, schema.clone())?,
        eval: CsvWriter::create(&eval_path, schema.clone())?,
        train_path,
        eval_path,
        next_row: 0,
    })
}

/// A JSON string value without quotes.
fn display(value: &serde_json::Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}
