#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The whole loop, four days of it, through the `mlrig` binary:
//!
//! - day 1: `mlrig run` trains v1, blesses and pushes it; `mlrig serve` serves it;
//! - day 2: shifted data (and a changed relation to the label) → v2 is trained,
//!   pushed, and the server switches to it with no failed request under load;
//! - day 3: broken data (a column missing, a type changed) → the validate gate
//!   blocks, v2 stays live, the run record says why;
//! - day 4: the labels of new data show v2 worse than v1 → the run rolls the
//!   `stable` label (and the served version) back to v1 and records why.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{get, json_stdout, mlrig, start_server, wait_until};
use serde_json::Value;

/// A deterministic day of data: `rows` rows of x1, x2, color and the label
/// y. `flipped` turns the label's relation to the inputs around (what a
/// model of the other days gets wrong); `shift` moves x1.
fn day_csv(seed: u64, rows: usize, flipped: bool, shift: f64) -> String {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::from("x1,x2,color,y\n");
    for _ in 0..rows {
        let x1 = uniform() * 2.0 - 1.0 + shift;
        let x2 = uniform() * 2.0 - 1.0;
        let color = ["red", "green", "blue"][(uniform() * 3.0) as usize % 3];
        let score = x1 + 0.8 * x2 + if color == "red" { 0.3 } else { 0.0 } - shift
            + (uniform() - 0.5) * 0.4;
        let positive = (score > 0.0) != flipped;
        let y = if positive { "yes" } else { "no" };
        text.push_str(&format!("{x1:.4},{x2:.4},{color},{y}\n"));
    }
    text
}

/// Day 3: x2 is gone and x1 holds words.
fn broken_day_csv() -> String {
    let mut text = String::from("x1,color,y\n");
    for i in 0..400 {
        let x1 = ["low", "high", "medium"][i % 3];
        text.push_str(&format!(
            "{x1},red,{}\n",
            if i % 2 == 0 { "yes" } else { "no" }
        ));
    }
    text
}

/// A span lands whole: written under a temporary name, then renamed.
fn land_span(spans: &Path, name: &str, text: &str) {
    let tmp = spans.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, spans.join(name)).unwrap();
}

fn run(config: &Path) -> (i32, Value) {
    let output = mlrig(["--format", "json", "run", config.to_str().unwrap()]);
    let code = output.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "mlrig run exited {code}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (code, json_stdout(&output))
}

/// One predict request over a fresh connection; the status, or 0 when the
/// connection failed.
fn predict(address: &str, path: &str) -> u16 {
    let body = r#"{"instances": [{"x1": 0.2, "x2": -0.1, "color": "red"}]}"#;
    let attempt = || -> std::io::Result<u16> {
        let mut stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut raw = String::new();
        stream.read_to_string(&mut raw)?;
        Ok(raw
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    };
    attempt().unwrap_or(0)
}

/// The versions the server reports AVAILABLE, ascending.
fn available(address: &str) -> Vec<String> {
    let (_, body) = get(address, "/v1/models/loop");
    let mut versions: Vec<String> = body["model_version_status"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|s| s["state"] == "AVAILABLE")
                .filter_map(|s| s["version"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
}

/// The version the `stable` label points at, as the server reports it.
fn stable(address: &str) -> String {
    let (_, body) = get(address, "/v1/models/loop/labels/stable");
    body["model_version_status"][0]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[cfg(unix)]
#[test]
fn four_days_of_the_loop_push_switch_block_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let spans = dir.path().join("spans");
    std::fs::create_dir_all(&spans).unwrap();
    std::fs::create_dir_all(dir.path().join("models/loop")).unwrap();
    let serving = dir.path().join("serving.toml");
    std::fs::write(
        &serving,
        "# The server's models; the pipeline moves the `stable` label.\n\
         poll_interval = \"200ms\"\n\n\
         [[models]]\n\
         name = \"loop\"\n\
         base_path = \"models/loop\"\n\
         version_policy = { all = {} }\n",
    )
    .unwrap();
    let config = dir.path().join("mlrig.toml");
    std::fs::write(
        &config,
        r#"name = "loop"
[data]
files = ["spans/day-*.csv"]
target = "y"
window = 1
[model]
task = "classification"
[push]
base_path = "models"
model_config = "serving.toml"
alert_rules = "alerts/loop.yml"
[rollback]
grace_period = "1d"
"#,
    )
    .unwrap();

    // Day 1: v1 trained, blessed, pushed, then served.
    land_span(&spans, "day-1.csv", &day_csv(1, 1500, false, 0.0));
    let (code, day1) = run(&config);
    assert_eq!(code, 0, "{day1:#}");
    assert_eq!(day1["outcome"]["status"], "pushed", "{day1:#}");
    assert_eq!(day1["outcome"]["version"], 1);
    let model_config = std::fs::read_to_string(&serving).unwrap();
    assert!(model_config.contains("stable = 1"), "{model_config}");
    assert!(
        model_config.starts_with("# The server's models"),
        "comments kept"
    );
    let rules = || std::fs::read_to_string(dir.path().join("alerts/loop.yml")).unwrap();
    assert!(rules().contains("from version 1."), "{}", rules());

    let (_server, _, address) =
        start_server(["--model-config", serving.to_str().unwrap(), "--port", "0"]);
    assert_eq!(available(&address), ["1"]);
    assert_eq!(predict(&address, "/v1/models/loop:predict"), 200);

    // Day 2: shifted data; v2 is pushed while requests keep coming.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (stop, sent, failed, address) = (
            Arc::clone(&stop),
            Arc::clone(&sent),
            Arc::clone(&failed),
            address.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for path in [
                    "/v1/models/loop:predict",
                    "/v1/models/loop/labels/stable:predict",
                ] {
                    sent.fetch_add(1, Ordering::Relaxed);
                    if predict(&address, path) != 200 {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    wait_until("requests flow", || sent.load(Ordering::Relaxed) > 20);
    land_span(&spans, "day-2.csv", &day_csv(2, 1500, true, 0.4));
    let (code, day2) = run(&config);
    assert_eq!(code, 0, "{day2:#}");
    assert_eq!(day2["outcome"]["status"], "pushed", "{day2:#}");
    assert_eq!(day2["outcome"]["version"], 2);
    let evaluate = day2["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "evaluate")
        .unwrap();
    assert_eq!(evaluate["summary"]["baseline_version"], 1, "{evaluate:#}");
    assert!(rules().contains("from version 2."), "{}", rules());
    wait_until("the server serves version 2 as stable", || {
        available(&address).contains(&"2".to_string()) && stable(&address) == "2"
    });
    let switched_at = sent.load(Ordering::Relaxed);
    wait_until("more requests after the switch", || {
        sent.load(Ordering::Relaxed) > switched_at + 20
    });
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("day 2: {sent} requests during the switch, {failed} failed");
    assert_eq!(
        failed, 0,
        "{failed} of {sent} requests failed during the switch"
    );

    // Day 3: broken data is blocked by the curated schema; v2 stays live.
    land_span(&spans, "day-3.csv", &broken_day_csv());
    let (code, day3) = run(&config);
    assert_eq!(code, 1, "{day3:#}");
    assert_eq!(day3["outcome"]["status"], "blocked", "{day3:#}");
    assert_eq!(day3["outcome"]["step"], "validate");
    let reasons = day3["outcome"]["reasons"].to_string();
    assert!(reasons.contains("x2: SCHEMA_MISSING_COLUMN"), "{reasons}");
    assert!(reasons.contains("x1:"), "the type change of x1: {reasons}");
    let records = std::fs::read_dir(dir.path().join("pipeline/runs")).unwrap();
    let on_disk: Vec<Value> = records
        .map(|r| serde_json::from_slice(&std::fs::read(r.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert!(
        on_disk.iter().any(|r| r == &day3),
        "the printed record is the one in pipeline/runs"
    );
    assert_eq!(stable(&address), "2");
    assert!(dir.path().join("models/loop/2").is_dir());
    assert!(!dir.path().join("models/loop/3").exists());

    // Day 4: labels of new data make v2 look worse than v1: rollback.
    land_span(&spans, "day-4.csv", &day_csv(4, 1500, false, 0.0));
    let (code, day4) = run(&config);
    assert_eq!(code, 1, "{day4:#}");
    assert_eq!(day4["outcome"]["status"], "rolled_back", "{day4:#}");
    assert_eq!(day4["outcome"]["version"], 2);
    assert_eq!(day4["outcome"]["to"], 1);
    let why = day4["rollback"]["reasons"].to_string();
    assert!(
        why.contains("roc_auc") && why.contains("day-4.csv"),
        "{why}"
    );
    assert!(!dir.path().join("models/loop/2").exists());
    assert!(
        dir.path()
            .join("pipeline/rolled_back/loop/2/manifest.json")
            .is_file()
    );
    let history: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("pipeline/history.json")).unwrap())
            .unwrap();
    assert_eq!(history["rollbacks"][0]["version"], 2, "{history:#}");
    wait_until("the server serves version 1 again", || {
        available(&address) == ["1"] && stable(&address) == "1"
    });
    assert_eq!(predict(&address, "/v1/models/loop:predict"), 200);
    assert!(
        std::fs::read_to_string(&serving)
            .unwrap()
            .contains("stable = 1")
    );
}
