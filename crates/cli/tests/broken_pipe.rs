#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `mlrig <verb> --format json | head -c 10`: a reader that goes away early
//! ends the verb quietly with status 0, never with a panic (issue 14).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{ADULT, ADULT_SHIFTED, BROKEN, assert_status, mlrig, train_adult_model};

/// Runs `mlrig --format json ARGS` with stdout closed before it writes
/// anything (every write fails with EPIPE); its status and stderr.
fn with_stdout_closed(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["--format", "json"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn every_verb_that_prints_exits_quietly_when_its_reader_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let models = train_adult_model(dir.path(), &[]);
    let model = models.to_str().unwrap();
    assert_status(
        &mlrig(["infer-schema", ADULT, "--out", &path("schema.json")]),
        0,
    );
    std::fs::copy(ADULT, dir.path().join("adult.csv")).unwrap();
    std::fs::write(
        dir.path().join("mlrig.toml"),
        "name = \"adult\"\n[data]\nfiles = [\"adult.csv\"]\ntarget = \"income\"\n[push]\nbase_path = \"models\"\n",
    )
    .unwrap();
    let schema = path("schema.json");
    let config = path("mlrig.toml");
    let runs: Vec<Vec<&str>> = vec![
        vec!["ingest", BROKEN],
        vec!["stats", ADULT],
        vec!["infer-schema", ADULT],
        vec!["validate", ADULT_SHIFTED, "--schema", &schema],
        vec!["drift", "--reference", ADULT, "--current", ADULT_SHIFTED],
        vec!["evaluate", "--model", model, ADULT],
        vec!["alerts", "--model", model],
        vec!["schema", "pipeline"],
        vec!["init", ADULT, "--target", "income"],
        vec!["run", &config],
        vec!["stats", "no/such/file.csv"],
    ];
    for args in runs {
        let (code, stderr) = with_stdout_closed(&args);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    assert!(Path::new(&config).is_file());
}
