//! `mlrig`: the command-line front of the mlrig components.
//!
//! Thin by design: each verb parses its arguments, calls the component crates
//! (through `mlrig-pipeline` where several compose), and prints a report —
//! text for people, `--format json` on stdout for scripts. Progress and logs
//! go to stderr. Exit status: 0 success, 1 the data failed a check
//! (anomalies, drift or features that could not be compared, gate not
//! passed), 2 usage or input error. A closed stdout (`… | head`) ends a
//! verb quietly with the status it would have had (0 when it succeeded), a
//! closed stderr changes nothing, and a full disk is one `error:` line
//! naming the file, status 2 (`output`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod config_file;
mod glibc_arenas;
mod output;
mod progress;

use output::{Format, Outcome};

/// Production ML components: read data (ingest), verify it (stats, infer-schema, validate,
/// drift), transform it (features), train, evaluate and serve models (train, evaluate, serve,
/// rollback), score files offline (predict), and run the whole loop from one config (init writes
/// a starter mlrig.toml, run runs its pipeline).
#[derive(Debug, Parser)]
#[command(name = "mlrig", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Output format: `text` for people, `json` (on stdout) for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Worker threads for parallel work (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read CSV, JSON Lines or Parquet files; report rows accepted and quarantined (with line numbers).
    #[command(
        after_help = "Example:\n  mlrig ingest data/samples/broken.csv --quarantine bad_rows.csv --format json"
    )]
    Ingest(commands::ingest::Args),
    /// Compute per-column statistics (tensorflow-metadata: JSON, text or binary protobuf).
    #[command(
        after_help = "Example:\n  mlrig stats data/samples/adult_sample.csv --out stats.json"
    )]
    Stats(commands::stats::Args),
    /// Infer a schema from a data file or a statistics file.
    #[command(
        name = "infer-schema",
        after_help = "Examples:\n  mlrig infer-schema data/samples/adult_sample.csv --out schema.json\n  mlrig infer-schema --stats stats.json --out schema.json"
    )]
    InferSchema(commands::infer_schema::Args),
    /// Check a data file against a schema; exit status 1 when anomalies are found.
    #[command(
        after_help = "Example:\n  mlrig validate data/samples/adult_shifted.csv --schema schema.json\n  mlrig validate serving.csv --schema schema.pbtxt --environment SERVING\n  mlrig validate 'data/day-*.csv.gz' --schema schema.pbtxt --rows"
    )]
    Validate(commands::validate::Args),
    /// Compare two data sets (or statistics files) for drift or training/serving skew; exit 1 on drift or when features cannot be compared.
    #[command(
        after_help = "Examples:\n  mlrig drift --reference data/samples/adult_sample.csv --current data/samples/adult_shifted.csv\n  mlrig drift --reference train_stats.json --current serving_stats.json --schema schema.json --skew"
    )]
    Drift(commands::drift::Args),
    /// Fit, apply and check feature pipelines.
    #[command(
        after_help = "Examples:\n  mlrig features fit data.csv --spec spec.toml --out transformer.json\n  mlrig features apply transformer.json data.csv --out features.csv\n  mlrig features check transformer.json data.csv"
    )]
    Features(commands::features::Args),
    /// Train a model and write a versioned model bundle; exit status 1 if not blessed.
    #[command(
        after_help = "Examples:\n  mlrig train data/samples/adult_sample.csv --target income --name adult --out models --slice gender\n  mlrig train data/samples/wine.csv --target class --model '{\"logistic_regression\": {\"c\": 0.5}}'\n  mlrig train day2.csv --target income --warm-start models/adult/3   # an sgd_classifier bundle"
    )]
    Train(commands::train::Args),
    /// Score a model version on data, per slice and against a baseline version; exit status 1 if not blessed.
    #[command(
        after_help = "Example:\n  mlrig evaluate --model models/adult/2 data/samples/adult_sample.csv --baseline models/adult/1 --slice gender --max-drop roc_auc=0.005"
    )]
    Evaluate(commands::evaluate::Args),
    /// Score a data file with a model bundle into a prediction table (CSV, Parquet or JSON Lines).
    #[command(
        // `--version N` picks the model version here (as TF Serving's version labels do), not mlrig's.
        disable_version_flag = true,
        after_help = "Examples:\n  mlrig predict --model models/adult data/samples/adult_sample.csv --out predictions.csv\n  mlrig predict --model models/adult --version 1 data/samples/adult_sample.csv --out scores.parquet --key age --quarantine bad.csv\n\nColumns: the --key column, then every input column with --with-input, then `prediction` (the\nvalue, or the most probable class) and, for a classifier, `score_<class>` per class.\nrows read = predicted + quarantined (ingest) + rejected (by the model); rejected rows are\nlisted in the report (the first 1,000 with --format json), not in the --quarantine file."
    )]
    Predict(commands::predict::Args),
    /// Serve model bundles over HTTP (TF Serving REST, Open Inference Protocol v2, MLflow
    /// /invocations, Prometheus /metrics).
    #[command(
        after_help = "Example:\n  mlrig serve --model models/adult --port 8501\n  mlrig serve --model-base-path models/adult --model-base-path models/housing   # hot reload of new versions\n  mlrig serve --model-config models.toml   # several models, version policy, labels; reload on SIGHUP\n  curl -s localhost:8501/v1/models/adult:predict -d '{\"instances\":[{\"age\":40}]}'\n  curl -s localhost:8501/invocations -H 'Content-Type: text/csv' --data-binary $'age\\n40\\n'"
    )]
    Serve(commands::serve::Args),
    /// Skew, drift, prediction drift and (with delayed labels) quality per time window over
    /// request logs; exit status 1 when a threshold is crossed.
    #[command(
        after_help = "Examples:\n  mlrig monitor --model models/adult --log 'requests/requests-*.jsonl' --window 1h\n  mlrig monitor --model models/adult/3 --log requests/ --labels outcomes.csv --join-key request_id --slice sex --format json\n\nLabels: a file with the join key and the model's target column. With --join-key request_id, a\nlabel row has `request_id` and optionally `row` (the 0-based instance in the request; default 0);\nwith any other COL, a label applies to every logged row whose input COL has the label's value.\nrows read = used + skipped (by reason); used = labelled + unlabelled; labels read = matched + unused."
    )]
    Monitor(commands::monitor::Args),
    /// Point a version label of a model config file back to an earlier version (rollback);
    /// a running `mlrig serve --model-config FILE` applies it at its next poll or on SIGHUP.
    #[command(
        after_help = "Examples:\n  mlrig rollback --model-config models.toml --model adult --label stable\n  mlrig rollback --model-config models.json --model adult --label stable --to 3 --format json"
    )]
    Rollback(commands::rollback::Args),
    /// Write Prometheus alerting rules for a model: feature skew and drift above the schema's
    /// thresholds, prediction drift, error rate, p99 latency, model and data age, NaN outputs.
    #[command(
        after_help = "Examples:\n  mlrig alerts --model models/adult --out adult-rules.yml\n  mlrig alerts --model models/adult/3 --max-error-rate 0.01 --max-p99-latency 250ms --for 10m --out rules.yml\n  promtool check rules adult-rules.yml\n\nThresholds are written into the rules (edit them there); regenerate when a new version changes\nits schema's skewComparator/driftComparator."
    )]
    Alerts(commands::alerts::Args),
    /// Write a commented starter pipeline config (`mlrig.toml`) for a data file to stdout:
    /// data, target, inferred task, schema, gates and push sections, with examples over its columns.
    #[command(
        after_help = "Examples:\n  mlrig init data/samples/adult_sample.csv --target income > mlrig.toml\n  mlrig init spans/day-1.csv --target label --name churn --base-path /srv/models > mlrig.toml\n  mlrig init data.parquet --target y --format json   # {\"config\": \"<toml>\", \"task\": …, \"columns\": […]}\n\nThe data path is written as given: save the config in the directory it is relative to."
    )]
    Init(commands::init::Args),
    /// Print or write the JSON Schema of a hand-written file (feature spec, blessing thresholds, server config, model spec, model config, pipeline config).
    #[command(
        after_help = "Examples:\n  mlrig schema feature-spec > feature-spec.schema.json\n  mlrig schema --out-dir docs/schemas\n\nPoint an editor at a schema with a \"$schema\" key (JSON) or a `#:schema URL` first line (TOML, taplo)."
    )]
    Schema(commands::schema::Args),
    /// Write statistics, drift results, anomalies and evaluations as one self-contained HTML page
    /// (inline CSS and SVG charts; opens offline in any browser).
    #[command(
        after_help = "Examples:\n  mlrig report --data data/samples/adult_sample.csv --compare-data data/samples/adult_shifted.csv --out compare.html\n  mlrig report --stats train_stats.json --drift drift.json --anomalies anomalies.json --out data.html\n  mlrig report --model models/adult/1 --out evaluation.html --title 'adult v1'"
    )]
    Report(commands::report::Args),
    #[command(
        after_help = "Examples:\n  mlrig run mlrig.toml\n  mlrig run mlrig.toml --step validate --format json   # one step, for Airflow/Argo/cron\n  mlrig run mlrig.toml --watch                          # retrain when new spans arrive\n  mlrig run mlrig.toml --every 1h\n\nSteps: ingest, statistics, validate (gate), features, train, evaluate (gate), infra_validate\n(gate), push. A step whose inputs did not change is cached. Exit status: 0 pushed, unchanged or\nstep done; 1 a gate blocked or a version was rolled back; 2 a config or input error.\nThe run record (lineage) is <root>/runs/<run_id>.json."
    )]
    /// Run the pipeline of a mlrig.toml: ingest → validate → train → evaluate → push, cached steps.
    Run(commands::run::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    // A decoder panic that is caught and reported as an error prints nothing else.
    mlrig_core::quiet_caught_panics();
    if matches!(cli.command, Command::Serve(_)) {
        // Before any thread starts: may re-execute the process (same pid).
        glibc_arenas::limit_to_one();
    }
    if let Some(threads) = cli.threads
        && let Err(e) = rayon_pool(threads)
    {
        return output::fail(cli.format, e.as_ref());
    }
    let result = match cli.command {
        Command::Ingest(args) => commands::ingest::run(args),
        Command::Stats(args) => commands::stats::run(args),
        Command::InferSchema(args) => commands::infer_schema::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Drift(args) => commands::drift::run(args),
        Command::Features(args) => commands::features::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Serve(args) => commands::serve::run(args, cli.format),
        Command::Monitor(args) => commands::monitor::run(args),
        Command::Rollback(args) => commands::rollback::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Alerts(args) => commands::alerts::run(args, cli.format),
        Command::Report(args) => commands::report::run(args),
        Command::Run(args) => commands::run::run(args, cli.format),
    };
    match result {
        Ok(outcome) => output::emit(cli.format, &outcome),
        Err(e) => output::fail(cli.format, e.as_ref()),
    }
}

/// Logs go to stderr, quiet by default; `RUST_LOG=info` (or `debug`, or a
/// per-crate filter) turns them up. A log line that cannot be written (a
/// closed stderr) is dropped: tracing-subscriber would report it with
/// `eprintln!`, which panics when stderr is closed.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .try_init();
}

fn rayon_pool(threads: usize) -> Result<(), output::CliError> {
    if threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| format!("--threads {threads}: {e}").into())
}

/// Used by every command: the result a verb hands back to `main`.
pub(crate) type CommandResult = Result<Outcome, output::CliError>;

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// The verbs clap knows (so a new verb is checked without editing this test).
    fn verbs() -> Vec<String> {
        super::Cli::command()
            .get_subcommands()
            .map(|verb| verb.get_name().to_string())
            .filter(|name| name != "help")
            .collect()
    }

    #[test]
    fn top_level_help_names_every_verb_in_its_summary_and_command_list() {
        let verbs = verbs();
        assert!(verbs.len() >= 8, "{verbs:?}");
        let help = super::Cli::command().render_help().to_string();
        let (summary, rest) = help.split_once("Usage:").unwrap();
        let commands = rest.split_once("Commands:").unwrap().1;
        for verb in &verbs {
            let named = |text: &str| {
                text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
                    .any(|word| word == verb)
            };
            assert!(
                named(summary),
                "the summary of `mlrig --help` lacks `{verb}`:\n{help}"
            );
            assert!(
                commands
                    .lines()
                    .any(|line| line.trim_start().starts_with(&format!("{verb} "))),
                "the command list of `mlrig --help` lacks `{verb}`:\n{help}"
            );
        }
    }

    #[test]
    fn readme_documents_every_verb() {
        let readme = include_str!("../README.md");
        for verb in verbs() {
            assert!(
                readme.contains(&format!("| `{verb}` |")),
                "crates/cli/README.md has no row for `{verb}` in its verb table"
            );
            assert!(
                readme.contains(&format!("`mlrig {verb} ")),
                "crates/cli/README.md has no example of `mlrig {verb}`"
            );
        }
    }
}
