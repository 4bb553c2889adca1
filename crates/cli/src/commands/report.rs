//! `mlrig report`: statistics, drift, anomalies and evaluations as one self-contained HTML page.

use std::path::{Path, PathBuf};

use mlrig_pipeline::report::{
    Report, load_anomalies, load_drift, load_evaluation, load_statistics,
};
use mlrig_validate::DatasetStatistics;

use super::CsvArgs;
use crate::CommandResult;
use crate::output::{CliError, Outcome};

/// Arguments of `mlrig report`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("first").args(["stats", "data"])))]
pub(crate) struct Args {
    /// Statistics of a data set (`mlrig stats --out`, a bundle's statistics.json; .json/.pbtxt/.pb).
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,

    /// Statistics of a second data set, shown side by side with the first (--stats or --data).
    #[arg(
        long,
        value_name = "FILE",
        requires = "first",
        conflicts_with = "compare_data"
    )]
    compare: Option<PathBuf>,

    /// A data file (CSV, JSON Lines, Parquet) whose statistics to show.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,

    /// A second data file, shown side by side with the first (--stats or --data).
    #[arg(long, value_name = "FILE", requires = "first")]
    compare_data: Option<PathBuf>,

    /// Drift results: the JSON output of `mlrig drift --format json`, or a monitoring report.
    #[arg(long, value_name = "FILE")]
    drift: Option<PathBuf>,

    /// Anomalies: tensorflow-metadata Anomalies JSON or the output of `mlrig validate --format json`.
    #[arg(long, value_name = "FILE")]
    anomalies: Option<PathBuf>,

    /// An evaluation: a bundle's evaluation.json, `mlrig evaluate --out FILE` or its JSON output.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    evaluation: Option<PathBuf>,

    /// A model version directory (<base>/<name>/<version>): its evaluation.json.
    #[arg(long, value_name = "VERSION_DIR")]
    model: Option<PathBuf>,

    /// The HTML file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// The page's title.
    #[arg(long, default_value = "mlrig report")]
    title: String,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let mut report = Report::new(&args.title);
    let mut inputs: Vec<serde_json::Value> = Vec::new();
    let mut add_statistics = |report: Report, path: &Path, kind: &str, data: bool| {
        let mut stats = if data {
            statistics_of_data(path, &args.csv)?
        } else {
            load_statistics(path)?
        };
        if stats.name.trim().is_empty() {
            stats.name = path.display().to_string();
        }
        inputs.push(serde_json::json!({"kind": kind, "path": path}));
        Ok::<_, CliError>(
            report
                .with_statistics(stats)
                .with_source(path.display().to_string()),
        )
    };
    // The first data set (--stats or --data), then the second (--compare or --compare-data).
    let data_sets = [
        (&args.stats, false),
        (&args.data, true),
        (&args.compare, false),
        (&args.compare_data, true),
    ];
    for (path, is_data) in data_sets {
        if let Some(path) = path {
            let kind = if is_data { "data" } else { "statistics" };
            report = add_statistics(report, path, kind, is_data)?;
        }
    }
    if let Some(path) = &args.drift {
        for group in load_drift(path)? {
            report = report.with_drift(group);
        }
        report = report.with_source(path.display().to_string());
        inputs.push(serde_json::json!({"kind": "drift", "path": path}));
    }
    if let Some(path) = &args.anomalies {
        report = report
            .with_anomalies(load_anomalies(path)?)
            .with_source(path.display().to_string());
        inputs.push(serde_json::json!({"kind": "anomalies", "path": path}));
    }
    if let Some(path) = args.evaluation.as_ref().or(args.model.as_ref()) {
        report = report
            .with_evaluation(load_evaluation(path)?)
            .with_source(path.display().to_string());
        inputs.push(serde_json::json!({"kind": "evaluation", "path": path}));
    }
    if inputs.is_empty() {
        return Err(CliError::from(
            "nothing to report: pass --stats, --data, --drift, --anomalies, --evaluation or --model",
        ));
    }
    report.write(&args.out)?;
    let sections = report.sections();
    let bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    let text = format!(
        "{}: report with {} written ({} bytes)\n",
        args.out.display(),
        sections.join(", "),
        bytes
    );
    let json = serde_json::json!({
        "out": args.out,
        "title": args.title,
        "sections": sections,
        "inputs": inputs,
        "bytes": bytes,
    });
    Ok(Outcome::from_json(json, text))
}

fn statistics_of_data(path: &Path, csv: &CsvArgs) -> Result<DatasetStatistics, CliError> {
    Ok(super::stats::compute(&[path.display().to_string()], csv)?.0)
}
