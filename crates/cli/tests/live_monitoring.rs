//! Live monitoring in `mlrig serve`, end to end: a model trained on the
//! Adult sample is served, rows whose `workclass` has shifted are sent, and
//! the skew gauges on `/metrics` and the `/monitoring` report say that
//! workclass moved while the unchanged features did not. With
//! `--no-monitoring` there are no feature gauges and no report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{ADULT, ServerGuard, assert_one_line_error, mlrig, train_iris};
use serde_json::{Map, Value, json};

/// Features the shifted rows keep as sampled, each expected under its
/// thresholds — the integer-valued `hours-per-week` and `educational-num`
/// included (the monitor's JSD bins both sides on the training quantiles).
const UNCHANGED: [&str; 7] = [
    "age",
    "fnlwgt",
    "education",
    "capital-gain",
    "race",
    "hours-per-week",
    "educational-num",
];

/// A model directory trained once per test binary on the Adult sample.
fn adult_model() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = common::train_adult_model(dir.path(), &["--no-baseline"]);
        (dir, model)
    })
    .1
}

/// Starts `mlrig serve --model <adult> --port 0 <extra>`; returns the guard,
/// the address and the start-up document.
fn serve(extra: &[&str]) -> (ServerGuard, String, Value) {
    let mut args: Vec<std::ffi::OsString> = vec!["--model".into(), adult_model().into()];
    args.extend(["--port", "0"].iter().chain(extra).map(Into::into));
    let (guard, started, address) = common::start_server(args);
    (guard, address, started)
}

/// One request over a fresh connection: status and body text.
fn request(address: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// `count` rows spread evenly over the Adult sample (target dropped, `?`
/// as null, numbers as numbers), with `workclass` set by `workclass(i)`.
fn sample_rows(count: usize, workclass: impl Fn(usize) -> Option<&'static str>) -> Vec<Value> {
    let text = std::fs::read_to_string(ADULT).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let all: Vec<&str> = lines.collect();
    let step = all.len() / count;
    (0..count)
        .map(|i| {
            let mut row = Map::new();
            for (column, cell) in header.iter().zip(all[i * step].split(',')) {
                let value = match cell {
                    "?" => Value::Null,
                    _ => cell
                        .parse::<i64>()
                        .map_or_else(|_| json!(cell), |n| json!(n)),
                };
                if *column != "income" {
                    row.insert(column.to_string(), value);
                }
            }
            if let Some(shifted) = workclass(i) {
                row.insert("workclass".into(), json!(shifted));
            }
            Value::Object(row)
        })
        .collect()
}

fn predict_all(address: &str, rows: &[Value], per_request: usize) {
    for chunk in rows.chunks(per_request) {
        let body = json!({ "instances": chunk }).to_string();
        let (status, answer) = request(address, "POST", "/v1/models/adult:predict", &body);
        assert_eq!(status, 200, "{answer}");
    }
}

/// One sample of the Prometheus text: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_metrics(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let mut map = BTreeMap::new();
            let mut rest = labels;
            while let Some((key, after)) = rest.split_once("=\"") {
                let end = after.find('"').unwrap();
                map.insert(
                    key.trim_start_matches(',').to_string(),
                    after[..end].to_string(),
                );
                rest = &after[end + 1..];
            }
            Sample {
                name: name.to_string(),
                labels: map,
                value: value.parse().unwrap_or(f64::NAN),
            }
        })
        .collect()
}

fn metrics(address: &str) -> Vec<Sample> {
    let (status, text) = request(address, "GET", "/metrics", "");
    assert_eq!(status, 200);
    parse_metrics(&text)
}

/// The values of `name` for `feature`, by test.
fn by_test(samples: &[Sample], name: &str, feature: &str) -> BTreeMap<String, f64> {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && s.labels.get("model").map(String::as_str) == Some("adult")
                && s.labels.get("feature").map(String::as_str) == Some(feature)
        })
        .map(|s| (s.labels["test"].clone(), s.value))
        .collect()
}

fn window_rows(samples: &[Sample]) -> f64 {
    samples
        .iter()
        .find(|s| s.name == "mlrig_monitoring_window_rows")
        .map_or(0.0, |s| s.value)
}

#[cfg(unix)]
#[test]
fn shifted_workclass_crosses_its_skew_threshold_within_one_window() {
    let (_guard, address, started) =
        serve(&["--monitoring-window", "1h", "--monitoring-max-rows", "400"]);
    assert_eq!(
        started["monitoring"],
        json!({"window": "1h", "max_rows": 400}),
        "{started}"
    );
    // 400 rows from across the sample: 9 in 10 now come from the
    // self-employed (3 % of the training rows), the other features as sampled.
    let rows = sample_rows(400, |i| (i % 10 != 0).then_some("Self-emp-inc"));
    predict_all(&address, &rows, 20);

    // The window fills on the monitoring thread, off the request path.
    let deadline = Instant::now() + Duration::from_secs(60);
    let samples = loop {
        let samples = metrics(&address);
        if window_rows(&samples) >= 400.0 {
            break samples;
        }
        assert!(
            Instant::now() < deadline,
            "the window never held the 400 rows: {:?}",
            samples
                .iter()
                .filter(|s| s.name.starts_with("mlrig_monitoring"))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    let skew = by_test(&samples, "mlrig_feature_skew", "workclass");
    let threshold = by_test(&samples, "mlrig_feature_skew_threshold", "workclass");
    let over = by_test(&samples, "mlrig_feature_skew_over_threshold", "workclass");
    assert!(
        skew["linf"] > threshold["linf"],
        "workclass L∞ {} vs threshold {}",
        skew["linf"],
        threshold["linf"]
    );
    assert_eq!(over["linf"], 1.0, "{over:?}");
    for feature in UNCHANGED {
        let over = by_test(&samples, "mlrig_feature_skew_over_threshold", feature);
        let values = by_test(&samples, "mlrig_feature_skew", feature);
        assert!(!over.is_empty(), "no skew gauges for {feature}");
        assert!(
            over.values().all(|&v| v == 0.0),
            "{feature} is unchanged but over a threshold: {over:?} (values {values:?})"
        );
    }

    for path in [
        "/v1/models/adult/monitoring",
        "/v1/models/adult/versions/1/monitoring",
    ] {
        let (status, body) = request(&address, "GET", path, "");
        assert_eq!(status, 200, "{path}: {body}");
        let report: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(report["model"], "adult");
        assert_eq!(report["version"], 1);
        // The target is in the training statistics but not a model input.
        assert_eq!(report["missing_features"], json!([]), "{path}");
        let skewed: Vec<&str> = report["skew"]["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["over_threshold"] == true)
            .map(|c| c["feature"].as_str().unwrap())
            .collect();
        assert!(skewed.contains(&"workclass"), "{path}: {skewed:?}");
        for unchanged in UNCHANGED {
            assert!(!skewed.contains(&unchanged), "{path}: {skewed:?}");
        }
    }
    let (status, body) = request(
        &address,
        "GET",
        "/v1/models/adult/versions/7/monitoring",
        "",
    );
    assert_eq!(status, 404, "{body}");
}

#[cfg(unix)]
#[test]
fn with_monitoring_off_there_are_no_feature_gauges_and_no_report() {
    let (_guard, address, started) = serve(&["--no-monitoring"]);
    assert_eq!(started["monitoring"], Value::Null, "{started}");
    predict_all(&address, &sample_rows(100, |_| None), 25);
    let samples = metrics(&address);
    assert!(
        samples.iter().any(|s| s.name == "mlrig_predictions_total"),
        "the server's own metrics are there"
    );
    let monitoring: Vec<&str> = samples
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| n.starts_with("mlrig_feature_") || n.starts_with("mlrig_prediction_drift"))
        .collect();
    assert!(monitoring.is_empty(), "{monitoring:?}");
    let (status, body) = request(&address, "GET", "/v1/models/adult/monitoring", "");
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("live monitoring is off on this server"),
        "{body}"
    );
}

#[test]
fn the_config_files_monitoring_section_is_checked_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        "max_body_bytes = 65536\n[monitoring]\nwindw = \"1h\"\n",
    )
    .unwrap();
    let output = mlrig([
        "serve",
        "--model",
        adult_model().to_str().unwrap(),
        "--port",
        "0",
        "--config",
        config.to_str().unwrap(),
    ]);
    let line = assert_one_line_error(&output);
    assert!(line.contains("server.toml"), "{line}");
    assert!(line.contains("unknown field `windw`"), "{line}");
    assert!(line.contains("line 3"), "{line}");
}

/// Series of `name` labelled with model iris and `version`.
fn iris_series(samples: &[Sample], name: &str, version: &str) -> usize {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && s.labels.get("model").map(String::as_str) == Some("iris")
                && s.labels.get("version").map(String::as_str) == Some(version)
        })
        .count()
}

#[cfg(unix)]
#[test]
fn managed_versions_are_monitored_as_they_load_and_forgotten_when_unloaded() {
    let dir = tempfile::tempdir().unwrap();
    train_iris(dir.path(), Some(1));
    let base = dir.path().join("iris");
    let child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["--format", "json", "serve", "--model-base-path"])
        .arg(&base)
        .args(["--port", "0", "--poll-interval", "100ms"])
        .args(["--monitoring-max-rows", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = ServerGuard(child);
    let mut stdout = BufReader::new(guard.0.stdout.take().unwrap());
    let mut started = String::new();
    stdout.read_line(&mut started).unwrap();
    let started: Value = serde_json::from_str(&started).unwrap();
    let address = started["listening"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    let (status, body) = request(&address, "GET", "/v1/models/iris/monitoring", "");
    assert_eq!(status, 200, "{body}");
    let rows: Vec<Value> = (0..20)
        .map(|i| json!({"sepal_length_cm": 5.0 + f64::from(i) / 10.0, "sepal_width_cm": 3.0, "petal_length_cm": 1.5, "petal_width_cm": 0.2}))
        .collect();
    let body = json!({ "instances": rows }).to_string();
    let (status, answer) = request(&address, "POST", "/v1/models/iris:predict", &body);
    assert_eq!(status, 200, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while iris_series(&metrics(&address), "mlrig_feature_skew", "1") == 0 {
        assert!(Instant::now() < deadline, "no skew gauges for version 1");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Version 2 replaces version 1 (policy latest 1): 1 is unregistered.
    train_iris(dir.path(), Some(2));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _) = request(&address, "GET", "/v1/models/iris/versions/1", "");
        if status == 404 {
            break;
        }
        assert!(Instant::now() < deadline, "version 1 was never unloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
    let samples = metrics(&address);
    assert_eq!(iris_series(&samples, "mlrig_feature_skew", "1"), 0);
    assert_eq!(
        iris_series(&samples, "mlrig_monitoring_window_rows", "1"),
        0
    );
    let (status, body) = request(&address, "GET", "/v1/models/iris/monitoring", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["version"], 2);
}
