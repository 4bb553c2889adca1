#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `mlrig run`: text and JSON output, caching, one step at a time, config
//! errors, and repeated runs with `--every`.

mod common;

use std::path::{Path, PathBuf};

use common::{ADULT, assert_one_line_error, assert_status, json_stdout, mlrig, stdout};

fn adult_pipeline(dir: &Path, extra: &str) -> PathBuf {
    std::fs::copy(ADULT, dir.join("adult.csv")).unwrap();
    let config = dir.join("mlrig.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"adult\"\n[data]\nfiles = [\"adult.csv\"]\ntarget = \"income\"\n[push]\nbase_path = \"models\"\n{extra}"
        ),
    )
    .unwrap();
    config
}

#[test]
fn a_second_run_is_fully_cached_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = adult_pipeline(dir.path(), "");
    let config = config.to_str().unwrap();

    let first = mlrig(["run", config]);
    assert_status(&first, 0);
    let text = stdout(&first);
    assert!(text.contains("pushed version 1 to"), "{text}");
    assert!(text.contains("curated schema created at"), "{text}");
    for step in [
        "ingest",
        "statistics",
        "validate",
        "features",
        "train",
        "evaluate",
        "infra_validate",
        "push",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(step) && l.contains(" ran ")),
            "{step} ran: {text}"
        );
    }

    let second = mlrig(["--format", "json", "run", config]);
    assert_status(&second, 0);
    let record = json_stdout(&second);
    assert_eq!(record["outcome"]["status"], "unchanged", "{record:#}");
    let steps = record["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 8);
    assert!(steps.iter().all(|s| s["status"] == "cached"), "{record:#}");
    let path = dir
        .path()
        .join("pipeline/runs")
        .join(format!("{}.json", record["run_id"].as_str().unwrap()));
    assert_eq!(common::read_json(&path), record);
}

#[test]
fn one_step_runs_after_its_upstream_steps_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = adult_pipeline(dir.path(), "");
    let config = config.to_str().unwrap();

    let early = mlrig(["run", config, "--step", "train"]);
    assert_status(&early, 2);
    let message = assert_one_line_error(&early);
    assert!(message.contains("step `ingest` has not run"), "{message}");

    let ingest = mlrig(["--format", "json", "run", config, "--step", "ingest"]);
    assert_status(&ingest, 0);
    let record = json_stdout(&ingest);
    assert_eq!(
        record["outcome"],
        serde_json::json!({"status": "step_done", "step": "ingest"})
    );
    assert_eq!(record["steps"][0]["summary"]["rows_read"], 4071);

    let unknown = mlrig(["run", config, "--step", "trian"]);
    assert_status(&unknown, 2);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown step \"trian\""));
}

#[test]
fn a_config_typo_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = adult_pipeline(dir.path(), "[gates]\nbaselin = \"none\"\n");
    let output = mlrig(["run", config.to_str().unwrap()]);
    assert_status(&output, 2);
    let message = assert_one_line_error(&output);
    assert!(message.contains("mlrig.toml"), "{message}");
    assert!(message.contains("line 8, column 1"), "{message}");
    assert!(message.contains("unknown field `baselin`"), "{message}");
}

#[test]
fn every_runs_again_and_stops_after_max_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = adult_pipeline(dir.path(), "");
    let output = mlrig([
        "--format",
        "json",
        "run",
        config.to_str().unwrap(),
        "--every",
        "50ms",
        "--max-runs",
        "2",
    ]);
    assert_status(&output, 0);
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(lines[0]["outcome"]["status"], "pushed");
    assert_eq!(lines[1]["outcome"]["status"], "unchanged");
    assert_eq!(lines[2], serde_json::json!({"stopped": true, "runs": 2}));
}

#[test]
fn flags_that_make_no_sense_alone_are_refused_and_the_rollback_check_runs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let config = adult_pipeline(dir.path(), "");
    let config = config.to_str().unwrap();
    let alone = mlrig(["run", config, "--max-runs", "2"]);
    assert!(
        assert_one_line_error(&alone).contains("--max-runs counts the runs of --watch or --every")
    );
    let zero = mlrig(["run", config, "--every", "0s"]);
    assert!(assert_one_line_error(&zero).contains("--every: expected a positive duration"));

    let check = mlrig(["--format", "json", "run", config, "--check-rollback"]);
    assert_status(&check, 0);
    assert_eq!(
        json_stdout(&check),
        serde_json::json!({"rolled_back": false})
    );
}
