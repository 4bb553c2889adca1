//! `mlrig serve` runs with glibc's malloc arenas bounded to one unless the
//! user chose a limit (`src/glibc_arenas.rs`; measured by
//! `scripts/soak_serve.py`, `docs/benchmarks.md` "Server soak").
#![cfg(all(target_os = "linux", target_env = "gnu"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{ServerGuard, get, train_iris};

/// Starts `mlrig --format json serve --model DIR --port 0` with
/// `MALLOC_ARENA_MAX` removed (`None`) or set; once it answered a request,
/// the `MALLOC_ARENA_MAX` entries of the serving process's environment.
fn arena_setting_of_server(model: &std::path::Path, arena_max: Option<&str>) -> Vec<String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlrig"));
    command
        .args(["--format", "json", "serve", "--port", "0", "--model"])
        .arg(model)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match arena_max {
        Some(value) => command.env("MALLOC_ARENA_MAX", value),
        None => command.env_remove("MALLOC_ARENA_MAX"),
    };
    let mut guard = ServerGuard(command.spawn().expect("the mlrig binary starts"));
    let mut stdout = BufReader::new(guard.0.stdout.take().expect("stdout is piped"));
    let mut started = String::new();
    stdout
        .read_line(&mut started)
        .expect("the server says it started");
    let started: serde_json::Value = serde_json::from_str(&started)
        .unwrap_or_else(|e| panic!("the startup line is not JSON ({e}): {started:?}"));
    let address = started["listening"]
        .as_str()
        .unwrap_or_else(|| panic!("no `listening` address: {started}"))
        .trim_start_matches("http://")
        .to_string();
    // The process that was spawned (same pid after a re-execution) serves.
    assert_eq!(get(&address, "/v2/health/ready").0, 200);
    let environ = std::fs::read(format!("/proc/{}/environ", guard.0.id()))
        .expect("the server's environment is readable");
    guard.0.stdout = Some(stdout.into_inner());
    environ
        .split(|&b| b == 0)
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .filter(|entry| entry.starts_with("MALLOC_ARENA_MAX="))
        .collect()
}

#[test]
fn serve_bounds_glibc_arenas_unless_the_user_set_a_limit() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    train_iris(dir.path(), None);
    let model = dir.path().join("iris");
    assert_eq!(
        arena_setting_of_server(&model, None),
        ["MALLOC_ARENA_MAX=1"],
        "without a limit set, the server runs with one arena"
    );
    assert_eq!(
        arena_setting_of_server(&model, Some("4")),
        ["MALLOC_ARENA_MAX=4"],
        "a limit the user set is kept"
    );
}
