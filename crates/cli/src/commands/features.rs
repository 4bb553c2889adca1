//! `mlrig features fit | apply | check`: fitted feature pipelines from the command line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
use mlrig_core::arrow_schema::{DataType, Field, Schema, SchemaRef};
use mlrig_core::{Artifact, FeatureMatrix, Features, Fingerprint, ParamGuard, Transform};
use mlrig_features::{FeaturePipelineParams, FeatureSpec, FittedFeaturePipeline};

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
    /// Transform a data file with a fitted pipeline and write the features (CSV or Parquet).
    #[command(
        after_help = "Example:\n  mlrig features apply transformer.json data.csv --out features.csv"
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
    /// Infer the spec from the column types (numbers: mean impute + scale; strings: most-frequent + one-hot); needs --target.
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
    /// Where to write the features: `.csv` or `.parquet`, one column per output name.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    csv: CsvArgs,
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
        (None, Some(target)) => FeatureSpec::infer(&schema, target)?,
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
    let pipeline = FittedFeaturePipeline::load(&args.transformer)?.value;
    let mut reader = mlrig_ingest::DataReader::open(&args.data, args.csv.options()?)?;
    let output = mlrig_core::AtomicFile::create(&args.out)?;
    // Writer errors (a full disk) name the output file; the temporary file is
    // deleted when `output` is dropped uncommitted.
    let out_error = |e: CliError| -> CliError { format!("{}: {e}", args.out.display()).into() };
    let mut writer = FeatureWriter::create(&args.out, output.reopen()?, pipeline.output_names())
        .map_err(out_error)?;
    let spinner = rows_spinner(&format!("transforming {}", args.data.display()));
    let mut rows = 0u64;
    for batch in reader.by_ref() {
        let features = pipeline.transform(&batch.map_err(mlrig_ingest::IngestError::from)?)?;
        writer.write(&features).map_err(out_error)?;
        rows += features.nrows() as u64;
        spinner.inc(features.nrows() as u64);
    }
    spinner.finish_and_clear();
    let report = reader.finish()?;
    writer.finish().map_err(out_error)?;
    output.commit()?;
    let text = format!(
        "{} rows × {} features written to {} ({} rows quarantined)\n",
        rows,
        pipeline.output_names().len(),
        args.out.display(),
        report.summary.rows_quarantined
    );
    let json = serde_json::json!({"out": args.out, "rows": rows, "columns": pipeline.output_names().len(), "ingest": report.summary});
    Ok(Outcome::from_json(json, text))
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

/// Where `features apply` writes: CSV (one column per output name, shortest
/// round-trip floats) or Parquet (one `Float64` column per output name),
/// chosen by the output file's extension.
enum FeatureWriter {
    Csv(csv::Writer<std::io::BufWriter<std::fs::File>>),
    Parquet(parquet::arrow::ArrowWriter<std::fs::File>, SchemaRef),
}

impl FeatureWriter {
    fn create(path: &Path, file: std::fs::File, names: &[String]) -> Result<Self, CliError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("parquet") => {
                let fields: Vec<Field> = names
                    .iter()
                    .map(|n| Field::new(n, DataType::Float64, false))
                    .collect();
                let schema = Arc::new(Schema::new(fields));
                Ok(Self::Parquet(
                    parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None)?,
                    schema,
                ))
            }
            Some("csv") => {
                let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(file));
                writer.write_record(names)?;
                Ok(Self::Csv(writer))
            }
            _ => Err("use a .csv or .parquet file name for --out".into()),
        }
    }

    fn write(&mut self, features: &Features) -> Result<(), CliError> {
        let dense;
        let matrix = match features.matrix() {
            FeatureMatrix::Dense(m) => m,
            FeatureMatrix::Sparse(_) => {
                dense = features.to_dense();
                &dense
            }
        };
        match self {
            Self::Csv(writer) => {
                let mut record = Vec::with_capacity(matrix.ncols());
                for row in matrix.rows() {
                    record.clear();
                    record.extend(row.iter().map(|v| v.to_string()));
                    writer.write_record(&record)?;
                }
            }
            Self::Parquet(writer, schema) => {
                let columns: Vec<ArrayRef> = matrix
                    .columns()
                    .into_iter()
                    .map(|c| Arc::new(Float64Array::from(c.to_vec())) as ArrayRef)
                    .collect();
                writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), CliError> {
        match self {
            Self::Csv(mut writer) => writer.flush()?,
            Self::Parquet(writer, _) => {
                writer.close()?;
            }
        }
        Ok(())
    }
}
