//! `mlrig features fit | apply | check`: fitted feature pipelines from the command line.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use mlrig_core::{Artifact, Fingerprint, ParamGuard};
use mlrig_features::{FeaturePipelineParams, FeatureSpec, FittedFeaturePipeline, OutputLayout};
use mlrig_pipeline::{FeatureApplyJob, FeatureFileLayout};

use super::{CsvArgs, describe_output};
use crate::CommandResult;
use crate::output::{CliError, Outcome};
use crate::progress::rows_spinner;

/// Arguments of `mlrig features`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: FeaturesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum FeaturesCommand {
    /// Fit a feature pipeline on a data file and save it.
    #[command(
        after_help = "Examples:\n  mlrig features fit data.csv --spec spec.toml --out transformer.json\n  mlrig features fit data/samples/adult_sample.csv --infer --target income --out transformer.json"
    )]
    Fit(FitArgs),
    /// Transform a data file with a fitted pipeline and write the features (Parquet, svmlight or CSV; dense or sparse).
    #[command(
        after_help = "Examples:\n  mlrig features apply transformer.json data.csv --out features.parquet --target income\n  mlrig features apply transformer.json data.csv --out features.svm --target income\n  mlrig features apply transformer.json data.csv --out features.csv --layout dense"
    )]
    Apply(ApplyArgs),
    /// Check a fitted pipeline on data: scaled columns, one-hot groups, no NaN, bounds; exit 1 on violations.
    #[command(after_help = "Example:\n  mlrig features check transformer.json data.csv")]
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
struct FitArgs {
    /// The training data (CSV, JSON Lines or Parquet, by extension).
    data: PathBuf,
    /// The feature spec (.toml or .json).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "infer",
        conflicts_with = "infer"
    )]
    spec: Option<PathBuf>,
    /// Infer the spec from the column types (numbers: mean impute + scale; strings: most-frequent + one-hot; output sparse when mostly zeros); needs --target.
    #[arg(long, requires = "target")]
    infer: bool,
    /// With --infer (required there): the label column, left out of the features.
    #[arg(long, value_name = "COLUMN")]
    target: Option<String>,
    /// Where to write the fitted pipeline (an mlrig artifact, JSON).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    csv: CsvArgs,
}

#[derive(Debug, clap::Args)]
struct ApplyArgs {
    /// The fitted pipeline (from `mlrig features fit`).
    transformer: PathBuf,
    /// The data to transform (CSV, JSON Lines or Parquet, by extension).
    data: PathBuf,
    /// Where to write the features: `.parquet` (dense or sparse), `.svm` /
    /// `.svmlight` / `.libsvm` (sparse text) or `.csv` (dense).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Dense (every value, one column per output name) or sparse (each row's
    /// indices and values); auto: sparse when the pipeline's output is sparse
    /// and the format holds it.
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    layout: LayoutArg,
    /// Copy this column into the file as the target (first column; the
    /// svmlight label, text classes numbered in order of appearance).
    #[arg(long, value_name = "COLUMN")]
    target: Option<String>,
    #[command(flatten)]
    csv: CsvArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LayoutArg {
    Auto,
    Dense,
    Sparse,
}

impl LayoutArg {
    fn chosen(self) -> Option<FeatureFileLayout> {
        match self {
            LayoutArg::Auto => None,
            LayoutArg::Dense => Some(FeatureFileLayout::Dense),
            LayoutArg::Sparse => Some(FeatureFileLayout::Sparse),
        }
    }
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The fitted pipeline.
    transformer: PathBuf,
    /// The data to check it on (CSV; the training data for the scaling checks).
    data: PathBuf,
    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    match args.command {
        FeaturesCommand::Fit(args) => fit(args),
        FeaturesCommand::Apply(args) => apply(args),
        FeaturesCommand::Check(args) => check(args),
    }
}

/// Fits by streaming the data file once per pass (two when a column is
/// standard-scaled), so memory is bounded by the batch size and the
/// analyzers' bounded state, not by the rows.
fn fit(args: FitArgs) -> CommandResult {
    let schema = mlrig_ingest::DataReader::open(&args.data, args.csv.options()?)?.schema();
    let spec = match (&args.spec, &args.target) {
        (Some(path), _) => FeatureSpec::load(path)?,
        (None, Some(target)) => {
            FeatureSpec::infer(&schema, target)?.with_output(OutputLayout::Auto)
        }
        (None, None) => return Err("give --spec FILE, or --infer --target COLUMN".into()),
    };
    let mut report = None;
    let fitted = FeaturePipelineParams::new(spec)
        .check()?
        .fit_scan::<CliError>(&schema, |sink| {
            let mut reader = mlrig_ingest::DataReader::open(&args.data, args.csv.options()?)?;
            if reader.schema() != schema {
                return Err(format!(
                    "{}: the schema changed between two reads of the file",
                    args.data.display()
                )
                .into());
            }
            let spinner = rows_spinner(&format!("fitting on {}", args.data.display()));
            for batch in reader.by_ref() {
                let batch = batch.map_err(mlrig_ingest::IngestError::from)?;
                spinner.inc(batch.num_rows() as u64);
                sink(batch)?;
            }
            spinner.finish_and_clear();
            let finished = reader.finish()?;
            if finished.summary.rows_accepted == 0 {
                return Err(format!(
                    "{}: no usable rows ({} read, {} quarantined); nothing to work on",
                    args.data.display(),
                    finished.summary.rows_read,
                    finished.summary.rows_quarantined
                )
                .into());
            }
            report.get_or_insert(finished);
            Ok(())
        })?;
    let report = report.ok_or("no data was read")?;
    let header = fitted.save(&args.out, &[Fingerprint::of_file(&args.data)?])?;
    let text = format!(
        "fitted on {} rows of {} → {} output columns; pipeline {}\n",
        report.summary.rows_accepted,
        args.data.display(),
        fitted.output_names().len(),
        describe_output(&Some(args.out.clone()))
    );
    let json = serde_json::json!({
        "out": args.out,
        "fingerprint": header.fingerprint,
        "ingest": report.summary,
        "output_names": fitted.output_names(),
    });
    Ok(Outcome::from_json(json, text))
}

fn apply(args: ApplyArgs) -> CommandResult {
    let mut job = FeatureApplyJob::new(&args.transformer, &args.data, &args.out)
        .with_read_options(args.csv.options()?);
    if let Some(layout) = args.layout.chosen() {
        job = job.with_layout(layout);
    }
    if let Some(target) = &args.target {
        job = job.with_target(target);
    }
    let spinner = rows_spinner(&format!("transforming {}", args.data.display()));
    let shown = spinner.clone();
    let report = job
        .with_progress(Arc::new(move |rows| shown.inc(rows)))
        .run();
    spinner.finish_and_clear();
    let report = report?;
    let text = format!(
        "{} rows × {} features written to {} ({}, {} values stored; {} rows quarantined)\n",
        report.rows,
        report.columns,
        args.out.display(),
        match report.layout {
            FeatureFileLayout::Dense => "dense",
            FeatureFileLayout::Sparse => "sparse",
        },
        report.stored_values,
        report.ingest.rows_quarantined
    );
    Outcome::new(&report, text)
}

fn check(args: CheckArgs) -> CommandResult {
    let pipeline = FittedFeaturePipeline::load(&args.transformer)?.value;
    let (_, batches, _) = super::read_data(&args.data, &args.csv)?;
    let report = pipeline.check(&batches)?;
    let mut text = format!("{} rows, {} checks: ", report.rows, report.checks);
    if report.violations.is_empty() {
        text.push_str("all passed\n");
    } else {
        let _ = writeln!(text, "{} violations", report.violations.len());
        for v in &report.violations {
            let _ = writeln!(
                text,
                "  {:<28} {:?}: {} rows; {}",
                v.column, v.kind, v.count, v.detail
            );
        }
    }
    let failed = !report.violations.is_empty();
    Ok(Outcome::new(&report, text)?.failed_check(failed))
}
