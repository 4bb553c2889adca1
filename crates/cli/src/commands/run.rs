//! `mlrig run`: the whole pipeline of a `mlrig.toml` — ingest, statistics,
//! validate, features, train, evaluate, infra_validate, push — with cached
//! steps; one step with `--step`; again and again with `--watch`/`--every`.

use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mlrig_pipeline::{
    Pipeline, PipelineError, RunOutcome, RunRecord, StepName, StepStatus, WatchOptions,
};

use crate::CommandResult;
use crate::output::{Format, Outcome, print_err, print_out};
use crate::progress::stage_spinner;

/// Arguments of `mlrig run`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The pipeline config (`mlrig init DATA --target COL > mlrig.toml` writes a starter).
    #[arg(value_name = "CONFIG")]
    config: PathBuf,

    /// Run only this step (its upstream steps must have run on the same inputs), for an
    /// external orchestrator: ingest, statistics, validate, features, train, evaluate,
    /// infra_validate, push.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["watch", "every"])]
    step: Option<StepName>,

    /// Keep running: a run now, then one whenever the spans of the data window change
    /// (checked every `watch.poll_interval` of the config).
    #[arg(long)]
    watch: bool,

    /// Keep running: a run now and then every DURATION (e.g. 1h), new data or not.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, conflicts_with = "watch")]
    every: Option<Duration>,

    /// With --watch/--every: stop after N runs (exit status of the last run).
    #[arg(long, value_name = "N")]
    max_runs: Option<usize>,

    /// Only the rollback check of the newest push (a full run starts with it), for an
    /// orchestrator that drives the steps with --step: exit 1 when it rolled a version back.
    #[arg(long, conflicts_with_all = ["step", "watch", "every"])]
    check_rollback: bool,
}

pub(crate) fn run(args: Args, format: Format) -> CommandResult {
    let repeating = args.watch || args.every.is_some();
    if args.max_runs.is_some() && !repeating {
        return Err("--max-runs counts the runs of --watch or --every; add one of them".into());
    }
    if args.max_runs == Some(0) {
        return Err("--max-runs: expected at least 1 run, found 0".into());
    }
    if args.every.is_some_and(|period| period.is_zero()) {
        return Err("--every: expected a positive duration such as 1h or 10m, found 0".into());
    }
    let pipeline = Pipeline::from_config(&args.config)?;
    if args.check_rollback {
        return match pipeline.check_rollback()? {
            Some(record) => outcome(&record),
            None => Ok(Outcome::from_json(
                serde_json::json!({ "rolled_back": false }),
                "no rollback: the newest push passes its checks, or none is within its grace period\n"
                    .into(),
            )),
        };
    }
    let spinner = stage_spinner(&format!("pipeline `{}`", pipeline.config().name));
    let progress_bar = spinner.clone();
    let pipeline = pipeline.with_progress(Arc::new(move |step: &str| {
        progress_bar.set_message(step.to_string());
    }));
    if !repeating {
        let record = match args.step {
            Some(step) => pipeline.run_step(step),
            None => pipeline.run(),
        };
        spinner.finish_and_clear();
        return outcome(&record?);
    }
    let options = match args.every {
        Some(period) => WatchOptions::default().with_every(period),
        None => WatchOptions::default(),
    };
    let mut runs = 0;
    let mut last: Option<Result<Outcome, String>> = None;
    pipeline.watch(&options, |result: &Result<RunRecord, PipelineError>| {
        spinner.set_message("waiting for new data");
        runs += 1;
        let this = match result {
            Ok(record) => outcome(record),
            Err(e) => Err(e.to_string().into()),
        };
        // Each run is one line (JSON) or block (text) as it ends.
        match (&this, format) {
            (Ok(o), Format::Json) => print_out(&format!(
                "{}\n",
                serde_json::to_string(&o.json).unwrap_or_default()
            )),
            (Ok(o), Format::Text) => print_out(&o.text),
            (Err(e), Format::Json) => print_out(&format!(
                "{}\n",
                serde_json::json!({ "error": e.to_string() })
            )),
            (Err(e), Format::Text) => print_err(&format!("error: {e}\n")),
        }
        last = Some(this.map_err(|e| e.to_string()));
        if args.max_runs.is_some_and(|max| runs >= max) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    spinner.finish_and_clear();
    // Each run is printed already: a closing line, and the last run's exit status.
    let failed = match last {
        Some(Ok(outcome)) => outcome.check_failed,
        Some(Err(error)) => return Err(format!("the last run failed: {error}").into()),
        None => false,
    };
    Ok(Outcome::from_json(
        serde_json::Value::Null,
        format!("stopped after {runs} runs\n"),
    )
    .with_json_line(serde_json::json!({ "stopped": true, "runs": runs }))
    .failed_check(failed))
}

/// The run's record as JSON and as text; exit status 1 when a gate blocked
/// or a version was rolled back.
fn outcome(record: &RunRecord) -> CommandResult {
    let mut text = String::new();
    for step in &record.steps {
        let status = match step.status {
            StepStatus::Ran => "ran",
            StepStatus::Cached => "cached",
            _ => "?",
        };
        let _ = writeln!(
            text,
            "{:<15} {:<7} {:>7.2} s  {}",
            step.step.as_str(),
            status,
            step.seconds,
            step.key
        );
        for note in &step.notes {
            let _ = writeln!(text, "    note: {note}");
        }
    }
    if let Some(rollback) = &record.rollback {
        let _ = writeln!(
            text,
            "rolled back version {} to {}: {}",
            rollback.version,
            rollback.to,
            rollback.reasons.join("; ")
        );
    }
    let _ = match &record.outcome {
        RunOutcome::Pushed { version, dir } => {
            writeln!(text, "pushed version {version} to {}", dir.display())
        }
        RunOutcome::Unchanged { version } => writeln!(
            text,
            "unchanged: version {version}, serving, is already this candidate; nothing to push"
        ),
        RunOutcome::Blocked { step, reasons } => {
            writeln!(text, "blocked at {step}:\n  {}", reasons.join("\n  "))
        }
        RunOutcome::RolledBack { version, to } => {
            writeln!(
                text,
                "version {version} rolled back; version {to} serves again"
            )
        }
        RunOutcome::StepDone { step } => writeln!(text, "step {step} done"),
        RunOutcome::Failed { step, error } => writeln!(text, "failed at {step}: {error}"),
        _ => Ok(()),
    };
    Ok(Outcome::new(record, text)?.failed_check(record.outcome.is_blocked()))
}
