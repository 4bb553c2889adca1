//! `mlrig train`: data file → versioned model bundle.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlrig_pipeline::{Baseline, LeakageParams, ModelSpec, TaskKind, TrainingJob};
use mlrig_train::SplitRule;

use super::CsvArgs;
use super::blessing::{GateArgs, evaluation_text};
use crate::output::{CliError, Outcome, print_err};
use crate::{CommandResult, config_file};

/// Arguments of `mlrig train`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The training data: CSV, JSON Lines or Parquet (by extension).
    file: PathBuf,

    /// The column to predict.
    #[arg(long, value_name = "COLUMN")]
    target: String,

    /// Model name (default: the file name without extension).
    #[arg(long)]
    name: Option<String>,

    /// Base directory for bundles: writes <OUT>/<NAME>/<VERSION>/.
    #[arg(long, default_value = "models", value_name = "DIR")]
    out: PathBuf,

    /// Bundle version (default: one more than the highest existing).
    #[arg(long, value_name = "N")]
    bundle_version: Option<u64>,

    /// Regression or classification (default: from the target's type; an
    /// integer target with at most 10 values is taken as classes, with a notice).
    #[arg(long, value_enum, default_value_t = TaskArg::Auto)]
    task: TaskArg,

    /// The model: a family (`logistic_regression`, `linear_regression`), a
    /// JSON spec such as '{"logistic_regression": {"c": 0.1, "class_weight":
    /// "balanced"}}', or a .json/.toml file holding one (schema: `mlrig schema
    /// model-spec`). Default: the task's default model.
    #[arg(long, value_name = "SPEC")]
    model: Option<String>,

    /// Hold out row i for evaluation iff i % N == N - 1.
    #[arg(long, default_value_t = 5, value_name = "N")]
    eval_every: u64,

    /// Compare with this version directory instead of the latest blessed
    /// version under <OUT>/<NAME>/.
    #[arg(long, value_name = "VERSION_DIR", conflicts_with = "no_baseline")]
    baseline: Option<PathBuf>,

    /// Do not compare with an earlier version.
    #[arg(long)]
    no_baseline: bool,

    /// Continue training the SGD or gbdt model of this version directory on
    /// the new data (online learning; a gbdt adds its rounds of trees),
    /// keeping its feature pipeline.
    #[arg(long, value_name = "VERSION_DIR", conflicts_with = "model")]
    warm_start: Option<PathBuf>,

    /// Bless even though COLUMN looks like a label leak (repeatable): the
    /// column is known to be available at prediction time.
    #[arg(long = "allow-leakage", value_name = "COLUMN")]
    allow_leakage: Vec<String>,

    /// Record the newest value of COLUMN (RFC 3339 or YYYY-MM-DD[ HH:MM:SS]
    /// strings, or epoch seconds) in the bundle manifest as
    /// `data_newest_row`, from which a server reports the data's age.
    /// Unreadable values are counted and ignored.
    #[arg(long, value_name = "COLUMN")]
    time_column: Option<String>,

    /// Train on the rows of this feature file (.parquet or .svm, from `mlrig
    /// features apply` on this data file) instead of fitting and applying a
    /// pipeline; needs --transformer, the pipeline that wrote it.
    #[arg(
        long,
        value_name = "FILE",
        requires = "transformer",
        conflicts_with = "warm_start"
    )]
    features: Option<PathBuf>,

    /// With --features: the fitted pipeline that wrote the feature file (it
    /// goes into the bundle).
    #[arg(long, value_name = "FILE", requires = "features")]
    transformer: Option<PathBuf>,

    #[command(flatten)]
    gate: GateArgs,

    #[command(flatten)]
    csv: CsvArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TaskArg {
    Auto,
    Regression,
    Classification,
}

pub(crate) fn run(args: Args) -> CommandResult {
    if args.eval_every < 2 {
        return Err("--eval-every must be at least 2".into());
    }
    let mut job = TrainingJob::new(&args.file, &args.target)
        .with_output_dir(&args.out)
        .with_read_options(args.csv.options()?)
        .with_split(SplitRule::modulo(
            args.eval_every,
            vec![args.eval_every - 1],
        )?)
        .with_task(match args.task {
            TaskArg::Auto => TaskKind::Auto,
            TaskArg::Regression => TaskKind::Regression,
            TaskArg::Classification => TaskKind::Classification,
        })
        .with_thresholds(args.gate.thresholds()?)
        .with_baseline(match (&args.baseline, args.no_baseline) {
            (Some(dir), _) => Baseline::Version(dir.clone()),
            (None, true) => Baseline::None,
            (None, false) => Baseline::LatestBlessed,
        });
    for column in &args.gate.slices {
        job = job.with_slice(column);
    }
    if let Some(dir) = &args.warm_start {
        job = job.with_warm_start(dir);
    }
    if !args.allow_leakage.is_empty() {
        job = job.with_leakage(LeakageParams::default().with_allowed(args.allow_leakage.clone()));
    }
    if let Some(model) = &args.model {
        job = job.with_model(model_spec(model)?);
    }
    if let Some(name) = &args.name {
        job = job.with_name(name);
    }
    if let Some(version) = args.bundle_version {
        job = job.with_version(version);
    }
    if let Some(column) = &args.time_column {
        job = job.with_time_column(column);
    }
    if let (Some(features), Some(transformer)) = (&args.features, &args.transformer) {
        job = job.with_features_file(features, transformer);
    }
    let spinner = crate::progress::stage_spinner(&format!(
        "training on {} (target `{}`)",
        args.file.display(),
        args.target
    ));
    let shown = spinner.clone();
    let report = job
        .with_progress(std::sync::Arc::new(move |stage| {
            shown.set_message(stage.to_string())
        }))
        .run();
    spinner.finish_and_clear();
    let report = report?;
    for notice in &report.notices {
        print_err(&format!("note: {notice}\n"));
    }

    let mut text = format!(
        "model `{}` version {} written to {}\n",
        report.name,
        report.version,
        report.bundle_dir.display()
    );
    let _ = writeln!(
        text,
        "rows: {} read = {} accepted + {} quarantined; {} train, {} eval; {} feature columns ({}); model {} fitted in {:.2} s",
        report.ingest.rows_read,
        report.ingest.rows_accepted,
        report.ingest.rows_quarantined,
        report.train_rows,
        report.eval_rows,
        report.feature_columns,
        if report.sparse_features {
            "sparse"
        } else {
            "dense"
        },
        report.model,
        report.fit_seconds
    );
    if let Some(c) = report.convergence {
        let _ = writeln!(
            text,
            "{} after {} iterations",
            if c.converged {
                "converged"
            } else {
                "NOT converged"
            },
            c.iterations
        );
    }
    if let Some(time) = &report.time_column {
        let _ = writeln!(
            text,
            "newest row: {} (`{}`: {} read, {} missing, {} unreadable)",
            time.newest, time.column, time.parsed, time.missing, time.unparseable
        );
    }
    text.push_str(&evaluation_text(&report.evaluation));
    let blessed = report.evaluation.blessed();
    Ok(Outcome::new(&report, text)?.failed_check(!blessed))
}

/// `--model`: a family name, an inline JSON spec, or a .json/.toml file.
fn model_spec(spec: &str) -> Result<ModelSpec, CliError> {
    let path = std::path::Path::new(spec);
    if spec.trim_start().starts_with('{') {
        serde_json::from_str(spec).map_err(|e| format!("--model: {e}").into())
    } else if path.extension().is_some() {
        config_file::read("--model", path)
    } else {
        serde_json::from_value(serde_json::json!({ spec: {} })).map_err(|e| {
            format!("--model {spec:?}: {e}; or give a JSON spec or a .json/.toml file").into()
        })
    }
}
