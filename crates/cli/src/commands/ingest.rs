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

    /// Directory for train.csv and eval.csv (and the --quarantine file when it is named inside
    /// it): replaced as a whole when complete, so it holds the previous split or the new one,
    /// never a mix. It may hold nothing else.
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

pub(crate) fn run(mut args: Args) -> CommandResult {
    // The split is staged beside --out-dir and swapped into place when complete.
    let staged = match &args.out_dir {
        Some(dir) => Some(stage_out_dir(dir, args.stream.quarantine.as_deref())?),
        None => None,
    };
    let quarantine_file = args.stream.quarantine.clone();
    if let (Some(staged), Some(quarantine)) = (&staged, &args.stream.quarantine)
        && let Some(name) = quarantine.file_name()
        && is_inside(staged.target(), quarantine)
    {
        args.stream.quarantine = Some(staged.path().join(name));
    }
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
    // Errors about the staged files name their destination in --out-dir.
    let at_dest = |e: CliError| match (&staged, &args.out_dir) {
        (Some(staged), Some(dir)) => at_destination(&*e, staged.path(), dir),
        _ => e,
    };
    let mut output = match (&split, &staged, &args.out_dir) {
        (Some(split), Some(staged), Some(dir)) => {
            Some(open_split_output(split, staged.path(), dir, &schema).map_err(at_dest)?)
        }
        _ => None,
    };
    let spinner = rows_spinner(&format!("reading {}", args.files.join(" ")));
    for batch in reader.by_ref() {
        let batch = batch.map_err(IngestError::from)?;
        spinner.inc(batch.num_rows() as u64);
        if let Some(output) = output.as_mut() {
            output.write(&batch).map_err(at_dest)?;
        }
    }
    spinner.finish_and_clear();
    let report = reader.finish().map_err(|e| at_dest(e.into()))?;
    let split_json = match output {
        Some(mut output) => {
            // Both files on disk before the split directory is swapped in:
            // a full disk fails here and leaves the previous split whole.
            let committed = (|| -> Result<(u64, u64), CliError> {
                output.train.sync()?;
                output.eval.sync()?;
                Ok((output.train.commit()?, output.eval.commit()?))
            })();
            let (train_rows, eval_rows) = committed.map_err(at_dest)?;
            if let Some(staged) = staged {
                staged.commit()?;
            }
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
    if let Some(path) = &quarantine_file {
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
        "quarantine_file": quarantine_file,
    });
    if let Some(split) = split_json {
        json["split"] = split;
    }
    Ok(Outcome::from_json(json, text))
}

/// The files of a split directory.
const TRAIN_FILE: &str = "train.csv";
const EVAL_FILE: &str = "eval.csv";

/// Starts the new content of `--out-dir`, after checking that the directory
/// holds only what a split writes (its two files and the quarantine file when
/// named inside it, as regular files; temporaries of crashed mlrig runs are
/// removed first): replacing it must not delete anything else.
fn stage_out_dir(dir: &Path, quarantine: Option<&Path>) -> Result<mlrig_core::StagedDir, CliError> {
    let quarantine_name = quarantine
        .filter(|q| is_inside(dir, q))
        .and_then(Path::file_name);
    // Only names exactly as mlrig makes them, of processes that are gone.
    mlrig_core::remove_abandoned_temps(dir, mlrig_core::TEMP_FILE_PREFIX);
    mlrig_core::remove_abandoned_temps(dir, mlrig_core::STAGED_DIR_PREFIX);
    let replaced = "the directory is replaced as a whole (so a crash leaves the previous split or \
                    the new one)";
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| format!("--out-dir {}: {e}", dir.display()))?;
                let name = entry.file_name();
                let shown = name.to_string_lossy();
                let split_file = name == TRAIN_FILE
                    || name == EVAL_FILE
                    || Some(name.as_os_str()) == quarantine_name;
                let regular = entry.file_type().is_ok_and(|t| t.is_file());
                if split_file && !regular {
                    return Err(format!(
                        "--out-dir {}: `{shown}` is not a regular file, so not a split's; {replaced}, \
                         so move it away or give the split a directory of its own",
                        dir.display(),
                    )
                    .into());
                }
                if !split_file {
                    return Err(format!(
                        "--out-dir {}: holds `{shown}`, which is not part of this split; {replaced}: \
                         delete `{shown}` (or, if it is the quarantine file of an earlier run, pass \
                         the same --quarantine), or give the split a directory of its own",
                        dir.display(),
                    )
                    .into());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("--out-dir {}: {e}", dir.display()).into()),
    }
    Ok(mlrig_core::StagedDir::create(dir)?)
}

/// Whether `file` is directly inside `dir` (compared as real paths when both
/// exist, else as absolute paths).
fn is_inside(dir: &Path, file: &Path) -> bool {
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(dir), std::fs::canonicalize(parent)) {
        (Ok(dir), Ok(parent)) => dir == parent,
        _ => match (std::path::absolute(dir), std::path::absolute(parent)) {
            (Ok(dir), Ok(parent)) => dir == parent,
            _ => parent == dir,
        },
    }
}

/// `error` as one line, with the staging directory's paths replaced by their
/// destination in `dir` (what the user named), and, for a full disk, advice
/// naming `--out-dir`.
fn at_destination(
    error: &(dyn std::error::Error + 'static),
    staging: &Path,
    dir: &Path,
) -> CliError {
    let (message, disk_full) = crate::output::one_line(error);
    let message = message.replace(&staging.display().to_string(), &dir.display().to_string());
    if disk_full {
        format!(
            "{message}; free space on the disk holding {} or choose another --out-dir",
            dir.display()
        )
        .into()
    } else {
        message.into()
    }
}

/// The two (temporary until committed) output files in the staging
/// directory; the report names them by their place in `dir`.
fn open_split_output(
    split: &Split,
    staging: &Path,
    dir: &Path,
    schema: &mlrig_core::arrow_schema::SchemaRef,
) -> Result<SplitOutput, CliError> {
    let train_path = dir.join(TRAIN_FILE);
    let eval_path = dir.join(EVAL_FILE);
    Ok(SplitOutput {
        split: split.clone(),
        train: CsvWriter::create(staging.join(TRAIN_FILE), schema.clone())?,
        eval: CsvWriter::create(staging.join(EVAL_FILE), schema.clone())?,
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
