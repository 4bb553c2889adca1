//! Helpers shared by the command-line tests: the sample files, running the
//! `mlrig` binary, and reading its exit status, streams and JSON output.

// Each test file uses a part of these.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `data/samples/broken.csv`: 8 rows, 4 of them malformed.
pub const BROKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/broken.csv");
/// `data/samples/adult_sample.csv`: 4,071 rows of UCI Adult.
pub const ADULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/adult_sample.csv"
);
/// `data/samples/adult_shifted.csv`: 400 rows of Adult with documented drift.
pub const ADULT_SHIFTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/samples/adult_shifted.csv"
);

/// Runs `mlrig` with `args` to completion (stdin empty).
pub fn mlrig<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the mlrig binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// The exit status, with both streams in the message when it differs.
pub fn assert_status(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "expected exit status {expected}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Stdout as one JSON document.
pub fn json_stdout(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\n--- stderr ---\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

/// Exit status 0 and the JSON report on stdout.
pub fn success_json(output: &Output) -> Value {
    assert_status(output, 0);
    json_stdout(output)
}

/// The string `key` of every object of the JSON array `array`.
pub fn strings_at<'a>(array: &'a Value, key: &str) -> Vec<&'a str> {
    array
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {array}"))
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("no string `{key}` in {item}"))
        })
        .collect()
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// An error report: exit status 2 and exactly one `error:` line on stderr,
/// without panic or backtrace text. Returns that line.
pub fn assert_one_line_error(output: &Output) -> String {
    assert_status(output, 2);
    let err = stderr(output);
    assert!(
        !err.contains("panicked") && !err.contains("backtrace") && !err.contains("RUST_BACKTRACE"),
        "stderr shows a panic: {err}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "stderr is not one line: {err:?}");
    assert!(lines[0].starts_with("error: "), "stderr: {err:?}");
    lines[0].to_string()
}

/// A spawned `mlrig serve`, killed if the test fails before it stops it.
pub struct ServerGuard(pub Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Trains the Adult sample (`--target income --name adult`, plus `extra`)
/// into `out`; the model directory `out/adult`.
pub fn train_adult_model(out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "train",
        ADULT,
        "--target",
        "income",
        "--name",
        "adult",
        "--out",
        out.to_str().expect("a UTF-8 temporary path"),
    ];
    args.extend_from_slice(extra);
    assert_status(&mlrig(args), 0);
    out.join("adult")
}

/// Starts `mlrig --format json serve ARGS` (give it `--port 0`); the guard,
/// the startup JSON line and the `host:port` address it listens on.
pub fn start_server<I, S>(args: I) -> (ServerGuard, Value, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["--format", "json", "serve"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mlrig binary starts");
    let mut guard = ServerGuard(child);
    let mut stdout = BufReader::new(guard.0.stdout.take().expect("stdout is piped"));
    let mut started = String::new();
    stdout
        .read_line(&mut started)
        .expect("the server says it started");
    let started: Value = serde_json::from_str(&started)
        .unwrap_or_else(|e| panic!("the startup line is not JSON ({e}): {started:?}"));
    let address = started["listening"]
        .as_str()
        .unwrap_or_else(|| panic!("no `listening` address: {started}"))
        .trim_start_matches("http://")
        .to_string();
    // Keep the pipe open: a server writing to a closed stdout (its
    // shutdown line) would die of EPIPE.
    guard.0.stdout = Some(stdout.into_inner());
    (guard, started, address)
}

/// One POST over a fresh connection (`headers`: extra header lines, each
/// ending in `\r\n`): status, headers (lowercase names), JSON body.
pub fn post(
    address: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, Vec<(String, String)>, Value) {
    let mut stream = TcpStream::connect(address).expect("the server accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("the request is sent");
    let mut raw = String::new();
    stream
        .read_to_string(&mut raw)
        .expect("the response is read");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head: {raw:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {body:?}"));
    (status, headers, body)
}

/// GET `path` over a fresh connection: (status, JSON body or null).
pub fn get(address: &str, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).expect("a GET over a fresh connection");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a GET over a fresh connection");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("a GET over a fresh connection");
    let mut raw = String::new();
    stream
        .read_to_string(&mut raw)
        .expect("a GET over a fresh connection");
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Polls `done` every 50 ms until it holds (at most 60 s); the time it took.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// `data/samples/iris.csv`: 150 rows, target `species`.
pub const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/iris.csv");

/// The arguments of `mlrig train` for the iris sample as model `iris` into
/// `out`, without a baseline (the base path may hold a broken version).
pub fn train_iris_args(out: &str) -> Vec<String> {
    [
        "train",
        IRIS,
        "--target",
        "species",
        "--name",
        "iris",
        "--out",
        out,
        "--no-baseline",
    ]
    .map(String::from)
    .to_vec()
}

/// Trains the iris sample as model `iris` into `out` (version `version`,
/// else the next), without a baseline: the base path may hold a broken version.
pub fn train_iris(out: &Path, version: Option<u64>) {
    let mut args = train_iris_args(out.to_str().expect("a UTF-8 temporary path"));
    if let Some(version) = version {
        args.extend(["--bundle-version".to_string(), version.to_string()]);
    }
    assert_status(&mlrig(args), 0);
}

/// `mlrig features fit <data> --infer --target <target> --out <out>`, which
/// must succeed.
pub fn fit_features(data: &str, target: &str, out: impl AsRef<Path>) {
    let out = out.as_ref().to_str().expect("a UTF-8 temporary path");
    let args = [
        "features", "fit", data, "--infer", "--target", target, "--out", out,
    ];
    assert_status(&mlrig(args), 0);
}
