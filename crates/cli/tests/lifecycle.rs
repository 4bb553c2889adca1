//! `mlrig serve --model-base-path` (hot reload, broken versions, SIGHUP) and
//! `mlrig rollback` against real trained bundles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{
    ServerGuard, assert_status, get, mlrig, stderr, success_json, train_iris, wait_until,
};
use serde_json::Value;

fn newest(address: &str) -> (String, String) {
    let (_, body) = get(address, "/v1/models/iris");
    let first = &body["model_version_status"][0];
    (
        first["version"].as_str().unwrap_or_default().to_string(),
        first["state"].as_str().unwrap_or_default().to_string(),
    )
}

#[cfg(unix)]
#[test]
fn serve_model_base_path_loads_new_versions_and_survives_broken_ones_and_sighup() {
    let dir = tempfile::tempdir().unwrap();
    train_iris(dir.path(), None);
    let base = dir.path().join("iris");
    // A broken version directory at start-up: a manifest that is not JSON.
    std::fs::create_dir_all(base.join("2")).unwrap();
    std::fs::write(base.join("2/manifest.json"), "{").unwrap();

    let stderr_path = dir.path().join("serve.stderr");
    let child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["serve", "--model-base-path"])
        .arg(&base)
        .args([
            "--port",
            "0",
            "--poll-interval",
            "200ms",
            "--format",
            "json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let mut guard = ServerGuard(child);
    let server_stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let stdout = guard.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no startup line; stderr: {}", server_stderr()));
    let started: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(
        started["models"],
        serde_json::json!([{"name": "iris", "version": 1}])
    );
    assert_eq!(started["failed"][0]["version"], 2, "{started}");
    assert!(
        server_stderr().contains("version failed to load"),
        "{}",
        server_stderr()
    );
    let address = started["listening"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    assert_eq!(newest(&address), ("2".into(), "END".into()));

    // `mlrig train` into the served directory: version 3 is picked up.
    train_iris(dir.path(), None);
    let took = wait_until("version 3 is available", || {
        newest(&address) == ("3".into(), "AVAILABLE".into())
    });
    eprintln!(
        "version 3 available {} ms after `mlrig train` returned",
        took.as_millis()
    );
    let (code, metrics) = {
        let mut stream = TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        (raw.split(' ').nth(1).unwrap_or_default().to_string(), raw)
    };
    assert_eq!(code, "200");
    assert!(
        metrics.contains("mlrig_model_load_failures_total{model=\"iris\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mlrig_model_age_seconds{model=\"iris\",version=\"3\"}"),
        "{metrics}"
    );

    // SIGHUP reloads; the server keeps serving.
    let pid = guard.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        guard.0.try_wait().unwrap().is_none(),
        "the server exited on SIGHUP"
    );
    assert_eq!(newest(&address), ("3".into(), "AVAILABLE".into()));

    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{}", server_stderr());
}

#[test]
fn rollback_moves_a_label_in_a_toml_or_json_config() {
    let dir = tempfile::tempdir().unwrap();
    train_iris(dir.path(), None);
    train_iris(dir.path(), None);
    train_iris(dir.path(), None);
    let toml_path = dir.path().join("models.toml");
    let original = "#:schema ../docs/schemas/model-config.schema.json\n\
        # Served models.\n\
        poll_interval = \"1s\"\n\n\
        [[models]]\n\
        name = \"iris\"\n\
        base_path = \"iris\"   # relative to this file\n\
        version_policy = { all = {} }\n\
        labels = { stable = 3, canary = 3 }\n";
    std::fs::write(&toml_path, original).unwrap();
    let rollback = |args: &[&str]| {
        let mut all = vec![
            "rollback",
            "--model-config",
            toml_path.to_str().unwrap(),
            "--model",
            "iris",
        ];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        mlrig(all)
    };

    let moved = success_json(&rollback(&["--label", "stable"]));
    assert_eq!(
        (moved["from"].as_u64(), moved["to"].as_u64()),
        (Some(3), Some(2))
    );
    let text = std::fs::read_to_string(&toml_path).unwrap();
    assert!(
        text.starts_with("#:schema ../docs/schemas/model-config.schema.json\n# Served models.\n"),
        "{text}"
    );
    assert!(text.contains("# relative to this file"), "{text}");
    let config = mlrig_serve::ModelConfig::from_file(&toml_path).unwrap();
    assert_eq!(config.models[0].labels["stable"], 2);
    assert_eq!(config.models[0].labels["canary"], 3);

    let moved = success_json(&rollback(&[]));
    assert_eq!(moved["to"], 1, "the default label is stable");
    let output = rollback(&[]);
    assert_status(&output, 2);
    assert!(
        stderr(&output).contains("no servable version is below it"),
        "{}",
        stderr(&output)
    );
    let output = rollback(&["--to", "9"]);
    assert_status(&output, 2);
    assert!(
        stderr(&output).contains("cannot serve version 9"),
        "{}",
        stderr(&output)
    );
    let output = rollback(&["--label", "shadow"]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains("pass --to"), "{}", stderr(&output));
    success_json(&rollback(&["--label", "shadow", "--to", "3"]));
    assert_eq!(
        mlrig_serve::ModelConfig::from_file(&toml_path)
            .unwrap()
            .models[0]
            .labels["shadow"],
        3
    );

    // JSON, with the latest-2 policy: version 1 is not served, so it is no rollback target.
    let json_path = dir.path().join("models.json");
    std::fs::write(
        &json_path,
        r#"{"models": [{"name": "iris", "base_path": "iris", "version_policy": {"latest": {"num_versions": 2}}, "labels": {"stable": 3}}]}"#,
    )
    .unwrap();
    let json_rollback = |args: &[&str]| {
        let mut all = vec![
            "rollback",
            "--model-config",
            json_path.to_str().unwrap(),
            "--model",
            "iris",
            "--format",
            "json",
        ];
        all.extend_from_slice(args);
        mlrig(all)
    };
    assert_eq!(success_json(&json_rollback(&[]))["to"], 2);
    assert_status(&json_rollback(&[]), 2);
    assert_status(&json_rollback(&["--to", "1"]), 2);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(written["models"][0]["labels"]["stable"], 2);
    let output = mlrig([
        "rollback",
        "--model-config",
        json_path.to_str().unwrap(),
        "--model",
        "nope",
    ]);
    assert_status(&output, 2);
    assert!(
        stderr(&output).contains("it configures: iris"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rollback_never_picks_a_version_the_server_cannot_load() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..3 {
        train_iris(dir.path(), None);
    }
    // Version 2 is half-written: its manifest is there, a file it lists is not.
    std::fs::remove_file(dir.path().join("iris/2").join(mlrig_pipeline::MODEL_FILE)).unwrap();
    let config = dir.path().join("models.json");
    std::fs::write(
        &config,
        r#"{"models": [{"name": "iris", "base_path": "iris", "version_policy": {"all": {}}, "labels": {"stable": 3}}]}"#,
    )
    .unwrap();
    let rollback = |extra: &[&str]| {
        let config = config.to_str().unwrap();
        let mut args = vec!["rollback", "--model-config", config, "--model", "iris"];
        args.extend_from_slice(extra);
        mlrig(args)
    };
    assert_eq!(success_json(&rollback(&["--format", "json"]))["to"], 1);
    let output = rollback(&["--to", "2"]);
    assert_status(&output, 2);
    assert!(
        stderr(&output).contains("cannot serve version 2"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rollback_and_serve_help_show_examples_of_the_lifecycle_flags() {
    let output = mlrig(["rollback", "--help"]);
    assert_status(&output, 0);
    let help = common::stdout(&output);
    for expected in ["Example", "mlrig rollback", "--format", "--to", "--label"] {
        assert!(help.contains(expected), "{expected}:\n{help}");
    }
    let output = mlrig(["serve", "--help"]);
    assert_status(&output, 0);
    let help = common::stdout(&output);
    for expected in ["--model-base-path", "--model-config", "--poll-interval"] {
        assert!(help.contains(expected), "{expected}:\n{help}");
    }
    // --model-config and --model-base-path are alternatives.
    let output = mlrig([
        "serve",
        "--model-config",
        "a.toml",
        "--model-base-path",
        "b",
    ]);
    assert_status(&output, 2);
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );
}
