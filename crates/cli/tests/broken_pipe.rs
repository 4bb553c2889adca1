#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `mlrig <verb> --format json | head -c 10`, and a closed stderr: every verb
//! ends with the status it would have had with both streams open, never with
//! a panic (issue 14). The verbs come from `mlrig --help` itself, so a new
//! verb fails [`every_verb_and_sub_verb_is_covered`] until it is added here.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{
    ADULT, ADULT_SHIFTED, BROKEN, IRIS, ServerGuard, assert_status, fit_features, get, mlrig, post,
    stdout, train_iris, train_iris_args, wait_until,
};

/// Verbs run by a test of their own rather than [`runs`] (a server does
/// not end by itself).
const COVERED_BY_OWN_TEST: &[(&str, &str)] = &[(
    "serve",
    "serve_keeps_serving_when_stdout_and_stderr_are_closed",
)];

/// The verb paths of `mlrig PREFIX --help` (`features fit`, …), recursing
/// into verbs that have sub-verbs; `help` left out.
fn verbs_of(prefix: &[String]) -> Vec<String> {
    let mut args = prefix.to_vec();
    args.push("--help".into());
    let output = mlrig(&args);
    assert_status(&output, 0);
    let help = stdout(&output);
    let Some((_, commands)) = help.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    let mut verbs = Vec::new();
    for line in commands.lines() {
        if line.trim().is_empty() {
            break;
        }
        // `  name  description`; deeper-indented lines continue a description.
        let Some(entry) = line.strip_prefix("  ") else {
            break;
        };
        if entry.starts_with(' ') {
            continue;
        }
        let name = entry.split_whitespace().next().unwrap().to_string();
        if name == "help" {
            continue;
        }
        let mut path = prefix.to_vec();
        path.push(name);
        let sub = verbs_of(&path);
        if sub.is_empty() {
            verbs.push(path.join(" "));
        } else {
            verbs.extend(sub);
        }
    }
    verbs
}

/// Every verb and sub-verb of the `mlrig` binary, from its own help.
fn all_verbs() -> BTreeSet<String> {
    let verbs: BTreeSet<String> = verbs_of(&[]).into_iter().collect();
    assert!(
        verbs.len() >= 19,
        "too few verbs parsed from --help: {verbs:?}"
    );
    assert!(verbs.contains("features apply"), "{verbs:?}");
    verbs
}

/// The inputs the runs need, in a temporary directory.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Self { dir };
        let models = fixture.path("models");
        // Two versions: `rollback` moves a label from 2 to 1.
        train_iris(Path::new(&models), None);
        train_iris(Path::new(&models), None);
        std::fs::write(
            fixture.path("models/models.toml"),
            "[[models]]\nname = \"iris\"\nbase_path = \"iris\"\nversion_policy = { all = {} }\nlabels = { stable = 2 }\n",
        )
        .unwrap();
        assert_status(
            &mlrig(["infer-schema", ADULT, "--out", &fixture.path("schema.json")]),
            0,
        );
        fit_features(IRIS, "species", fixture.path("transformer.json"));
        std::fs::write(fixture.path("requests.jsonl"), iris_request_log()).unwrap();
        std::fs::copy(IRIS, fixture.dir.path().join("iris.csv")).unwrap();
        std::fs::write(
            fixture.path("mlrig.toml"),
            "name = \"iris\"\n[data]\nfiles = [\"iris.csv\"]\ntarget = \"species\"\n[push]\nbase_path = \"pushed\"\n",
        )
        .unwrap();
        fixture
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

/// A request log of the iris model as `mlrig serve --request-log` writes it.
fn iris_request_log() -> String {
    let text = std::fs::read_to_string(IRIS).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut log = String::new();
    for (i, line) in lines.enumerate().take(60) {
        let mut inputs = serde_json::Map::new();
        let mut species = "";
        for (column, cell) in header.iter().zip(line.split(',')) {
            if *column == "species" {
                species = cell;
            } else {
                inputs.insert(column.to_string(), cell.parse::<f64>().unwrap().into());
            }
        }
        let mut outputs = serde_json::json!({ "prediction": species });
        for class in ["setosa", "versicolor", "virginica"] {
            outputs[format!("score_{class}")] = f64::from(u8::from(class == species)).into();
        }
        let entry = serde_json::json!({
            "timestamp": format!("2026-12-07T10:{:02}:00.000Z", i % 60),
            "request_id": format!("r{i}"),
            "model": "iris",
            "version": 1,
            "source": "model",
            "inputs": [inputs],
            "outputs": [outputs],
        });
        log.push_str(&format!("{entry}\n"));
    }
    log
}

/// The runs: (verb path, arguments after `--format json`). Several runs
/// may share a verb (its success and its error paths).
fn runs(f: &Fixture) -> Vec<(&'static str, Vec<String>)> {
    let model = f.path("models/iris");
    let version = f.path("models/iris/1");
    let transformer = f.path("transformer.json");
    let list = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        ("ingest", list(&["ingest", BROKEN])),
        ("ingest", list(&["ingest", ADULT])),
        ("stats", list(&["stats", ADULT])),
        ("stats", list(&["stats", "no/such/file.csv"])),
        ("infer-schema", list(&["infer-schema", ADULT])),
        (
            "validate",
            list(&[
                "validate",
                ADULT_SHIFTED,
                "--schema",
                &f.path("schema.json"),
            ]),
        ),
        (
            "drift",
            list(&["drift", "--reference", ADULT, "--current", ADULT_SHIFTED]),
        ),
        (
            "features fit",
            list(&[
                "features",
                "fit",
                IRIS,
                "--infer",
                "--target",
                "species",
                "--out",
                &f.path("refit.json"),
            ]),
        ),
        (
            "features apply",
            list(&[
                "features",
                "apply",
                &transformer,
                IRIS,
                "--out",
                &f.path("features.csv"),
            ]),
        ),
        (
            "features check",
            list(&["features", "check", &transformer, IRIS]),
        ),
        ("train", train_iris_args(&f.path("trained"))),
        ("evaluate", list(&["evaluate", "--model", &version, IRIS])),
        (
            "predict",
            list(&[
                "predict",
                "--model",
                &model,
                IRIS,
                "--out",
                &f.path("predictions.jsonl"),
            ]),
        ),
        (
            "monitor",
            list(&[
                "monitor",
                "--model",
                &version,
                "--log",
                &f.path("requests.jsonl"),
            ]),
        ),
        (
            "rollback",
            list(&[
                "rollback",
                "--model-config",
                &f.path("models/models.toml"),
                "--model",
                "iris",
                "--label",
                "stable",
                "--to",
                "1",
            ]),
        ),
        ("alerts", list(&["alerts", "--model", &model])),
        ("init", list(&["init", ADULT, "--target", "income"])),
        ("schema", list(&["schema", "pipeline"])),
        (
            "schema",
            list(&["schema", "--out-dir", f.dir.path().to_str().unwrap()]),
        ),
        (
            "report",
            list(&[
                "report",
                "--data",
                IRIS,
                "--model",
                &version,
                "--out",
                &f.path("report.html"),
            ]),
        ),
        ("run", list(&["run", &f.path("mlrig.toml")])),
    ]
}

/// What to do with the child's stdout and stderr.
#[derive(Debug, Clone, Copy)]
enum Streams {
    /// Stdout closed before the verb writes anything; stderr read.
    StdoutClosed,
    /// Stdout read for 10 bytes, then closed (`| head -c 10`); stderr read.
    StdoutHead,
    /// Stderr closed (with debug logs on, so there is something to write); stdout read.
    StderrClosed,
    /// Both closed.
    BothClosed,
}

/// Runs `mlrig --format json ARGS` with `streams`; its status and whatever
/// stderr said (empty when stderr was closed).
fn run_with(args: &[String], streams: Streams) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["--format", "json"])
        .args(args)
        .env("RUST_LOG", "debug")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let mut stderr = String::new();
    match streams {
        Streams::StdoutClosed => {
            drop(out);
            err.read_to_string(&mut stderr).unwrap();
        }
        Streams::StdoutHead => {
            let mut head = Vec::new();
            (&mut out).take(10).read_to_end(&mut head).unwrap();
            drop(out);
            err.read_to_string(&mut stderr).unwrap();
        }
        Streams::StderrClosed => {
            drop(err);
            let mut sink = Vec::new();
            out.read_to_end(&mut sink).unwrap();
        }
        Streams::BothClosed => {
            drop(out);
            drop(err);
        }
    }
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn every_verb_and_sub_verb_is_covered() {
    let verbs = all_verbs();
    // Only the paths of a fixture: nothing runs.
    let fixture = Fixture {
        dir: tempfile::tempdir().unwrap(),
    };
    let mut covered: BTreeSet<String> = runs(&fixture)
        .into_iter()
        .map(|(verb, _)| verb.to_string())
        .collect();
    covered.extend(COVERED_BY_OWN_TEST.iter().map(|(verb, _)| verb.to_string()));
    let missing: Vec<_> = verbs.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "`mlrig --help` lists verbs that broken_pipe.rs does not run with closed streams: {missing:?}; add them to `runs`"
    );
    let unknown: Vec<_> = covered.difference(&verbs).collect();
    assert!(
        unknown.is_empty(),
        "broken_pipe.rs runs verbs `mlrig --help` does not list: {unknown:?}"
    );
}

#[test]
fn every_verb_keeps_its_status_and_never_panics_when_stdout_or_stderr_is_closed() {
    let fixture = Fixture::new();
    let mut runs = runs(&fixture);
    // Not verbs, but they print too: help, version and a usage error.
    runs.push(("", vec!["--help".into()]));
    runs.push(("", vec!["--version".into()]));
    runs.push(("", vec!["features".into(), "--help".into()]));
    runs.push(("", vec!["stats".into(), "--no-such-flag".into()]));
    for (_, args) in runs {
        let open = Command::new(env!("CARGO_BIN_EXE_mlrig"))
            .args(["--format", "json"])
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let expected = open.status.code();
        assert!(
            matches!(expected, Some(0..=2)),
            "{args:?}: status {expected:?}\n{}",
            String::from_utf8_lossy(&open.stderr)
        );
        for streams in [
            Streams::StdoutClosed,
            Streams::StdoutHead,
            Streams::StderrClosed,
            Streams::BothClosed,
        ] {
            let (code, stderr) = run_with(&args, streams);
            assert!(
                !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
                "{args:?} with {streams:?}: {stderr}"
            );
            assert_eq!(
                code, expected,
                "{args:?} with {streams:?}: the status changed\n{stderr}"
            );
        }
    }
}

#[test]
fn a_closed_stdout_hides_no_error() {
    // The error still reaches stderr, with status 2, when stdout is gone.
    let (code, stderr) = run_with(
        &["stats".into(), "no/such/file.csv".into()],
        Streams::StdoutClosed,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: no/such/file.csv: "), "{stderr}");
}

/// A real shell pipeline: the reader takes 10 bytes of a large output
/// (`stats` of Adult is ~200 kB, more than a pipe holds, so mlrig is still
/// writing when `head` exits) and mlrig ends with status 0, silently.
#[test]
fn a_shell_pipeline_into_head_ends_quietly() {
    let Ok(bash) = which("bash") else {
        eprintln!("SKIPPED a_shell_pipeline_into_head_ends_quietly: no bash on PATH");
        return;
    };
    let fixture = tempfile::tempdir().unwrap();
    let err_file = fixture.path().join("stderr");
    for args in [
        vec!["stats", ADULT],
        vec!["schema", "pipeline"],
        vec!["init", ADULT, "--target", "income"],
        vec!["drift", "--reference", ADULT, "--current", ADULT_SHIFTED],
    ] {
        let output = Command::new(&bash)
            .args([
                "-o",
                "pipefail",
                "-c",
                "\"$0\" --format json \"$@\" 2>\"$ERR\" | head -c 10",
                env!("CARGO_BIN_EXE_mlrig"),
            ])
            .args(&args)
            .env("ERR", &err_file)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = std::fs::read_to_string(&err_file).unwrap();
        let expected = mlrig(
            ["--format", "json"]
                .iter()
                .copied()
                .chain(args.iter().copied()),
        )
        .status
        .code();
        assert_eq!(output.status.code(), expected, "{args:?}: {stderr}");
        assert_eq!(output.stdout.len(), 10, "{args:?}");
        assert!(output.stdout.starts_with(b"{"), "{args:?}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

/// The path of `program` on `PATH`.
fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|path| path.is_file())
        })
        .ok_or(())
}

/// A port nobody listens on now (the server binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_keeps_serving_when_stdout_and_stderr_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    train_iris(dir.path(), None);
    let model = dir.path().join("iris");
    let port = free_port().to_string();
    // Its start-up line and debug logs have nowhere to go.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["--format", "json", "serve", "--port", &port, "--model"])
        .arg(&model)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let mut guard = ServerGuard(child);
    let address = format!("127.0.0.1:{port}");
    wait_until("the server is ready", || {
        assert_eq!(guard.0.try_wait().unwrap(), None, "the server died");
        std::net::TcpStream::connect(&address).is_ok() && get(&address, "/v2/health/ready").0 == 200
    });
    let instance = r#"{"instances":[{"sepal_length_cm":5.1,"sepal_width_cm":3.5,"petal_length_cm":1.4,"petal_width_cm":0.2}]}"#;
    for _ in 0..20 {
        let (status, _, body) = post(&address, "/v1/models/iris:predict", "", instance);
        assert_eq!(status, 200, "{body}");
        let (status, _, _) = post(&address, "/v1/models/iris:predict", "", "{not json");
        assert_eq!(status, 400);
    }
    assert_eq!(guard.0.try_wait().unwrap(), None, "the server died");
    // SIGTERM: it stops cleanly (its `stopped` line goes nowhere), status 0.
    let kill = Command::new("kill")
        .args(["-TERM", &guard.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    wait_until("the server stops", || guard.0.try_wait().unwrap().is_some());
    assert_eq!(guard.0.wait().unwrap().code(), Some(0));
}
