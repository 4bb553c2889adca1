//! `mlrig stats`: per-column statistics of a CSV file.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlrig_core::{Accumulator, ParallelAccumulation};
use mlrig_validate::{DatasetStatistics, StatisticsAccumulator, StatisticsParams, TfmdFile};

use super::{CsvArgs, describe_output};
use crate::CommandResult;
use crate::output::{CliError, Outcome, clip};
use crate::progress::rows_spinner;

/// Arguments of `mlrig stats`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Data files (CSV, JSON Lines, Parquet) or glob patterns (`data/*.csv`, `.gz` files are decompressed); read as one data set.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,

    /// Write the statistics (tensorflow-metadata DatasetFeatureStatisticsList) here: `.json`
    /// (proto3 JSON), `.pbtxt` (text format, as tfdv.write_stats_text) or `.pb` (binary, as
    /// tfdv.load_stats_binary reads).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let (stats, summary) = compute(&args.files, &args.csv)?;
    if let Some(out) = &args.out {
        stats.save_file(out)?;
    }
    let mut text = format!(
        "{}: {} examples ({} rows quarantined); statistics {}\n",
        args.files.join(" "),
        stats.num_examples(),
        summary.rows_quarantined,
        describe_output(&args.out)
    );
    let _ = writeln!(
        text,
        "{:<24} {:>10} {:>10} {:>14} {:>14} {:>14}",
        "column", "present", "missing", "min", "mean", "max"
    );
    for feature in stats.features() {
        let (present, missing) = feature
            .common()
            .map(|c| (c.num_non_missing, c.num_missing))
            .unwrap_or_default();
        let (min, mean, max) = match feature.numeric() {
            Some(n) => (
                format!("{:.6}", n.min),
                format!("{:.6}", n.mean),
                format!("{:.6}", n.max),
            ),
            None => {
                let top = feature
                    .string()
                    .and_then(|s| s.top_values.first())
                    .map(|t| format!("top: {}", clip(&t.value)))
                    .unwrap_or_default();
                (String::new(), top, String::new())
            }
        };
        let _ = writeln!(
            text,
            "{:<24} {:>10} {:>10} {:>14} {:>14} {:>14}",
            clip(&feature.name),
            present,
            missing,
            min,
            mean,
            max
        );
    }
    let json = serde_json::json!({
        "files": args.files,
        "out": args.out,
        "ingest": summary,
        "statistics": serde_json::from_str::<serde_json::Value>(&stats.to_tfmd_json()?)?,
    });
    Ok(Outcome::from_json(json, text))
}

/// Streams CSV files through the statistics accumulator.
///
/// This thread reads batches (the CSV reader parses on its own threads)
/// while the rayon pool (`--threads`) updates accumulators, so parsing and
/// statistics overlap; at most one batch per pool thread is in flight, so
/// memory stays bounded. The accumulators merge exactly, so the result is
/// the same as one sequential pass.
pub(crate) fn compute(
    files: &[String],
    csv: &CsvArgs,
) -> Result<(DatasetStatistics, mlrig_ingest::IngestSummary), CliError> {
    let mut reader = super::open_data(files, csv)?;
    let schema = reader.schema();
    let params = StatisticsParams::default();
    let mut accumulation =
        ParallelAccumulation::new(move || StatisticsAccumulator::new(&schema, params.clone()));
    let spinner = rows_spinner(&format!("statistics of {}", files.join(" ")));
    for batch in reader.by_ref() {
        let batch = batch.map_err(mlrig_ingest::IngestError::from)?;
        spinner.inc(batch.num_rows() as u64);
        accumulation.push(batch)?;
    }
    let accumulator = accumulation.finish()?;
    spinner.finish_and_clear();
    let report = reader.finish()?;
    Ok((accumulator.finish(), report.summary))
}
