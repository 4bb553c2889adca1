//! `mlrig monitor`: a request log written by a real `mlrig serve`, delayed
//! labels keyed by request id, quality per window and slice checked against
//! an independent computation; a shifted window fails with exit status 1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    ADULT, assert_one_line_error, assert_status, json_stdout, mlrig, start_server,
    train_adult_model,
};
use serde_json::{Map, Value, json};

const INTS: [&str; 6] = [
    "age",
    "fnlwgt",
    "educational-num",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
];

/// The sample's rows as (record without the target, income); missing
/// values (`?` or empty) are left out of the record.
fn adult_rows() -> Vec<(Map<String, Value>, String)> {
    let text = std::fs::read_to_string(ADULT).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            let mut record = Map::new();
            let mut income = String::new();
            for (column, cell) in header.iter().zip(line.split(',')) {
                if *column == "income" {
                    income = cell.to_string();
                } else if !cell.is_empty() && cell != "?" {
                    let value = if INTS.contains(column) {
                        json!(cell.parse::<i64>().unwrap())
                    } else {
                        json!(cell)
                    };
                    record.insert(column.to_string(), value);
                }
            }
            (record, income)
        })
        .collect()
}

fn train(dir: &Path) -> std::path::PathBuf {
    train_adult_model(&dir.join("models"), &["--slice", "gender"])
}

/// `mlrig predict --with-input` of the whole Adult sample by `model`: the CSV text.
fn predictions_with_inputs(model: &Path, dir: &Path) -> String {
    let table = dir.join("predictions.csv");
    assert_status(
        &mlrig([
            "predict",
            "--model",
            model.to_str().unwrap(),
            ADULT,
            "--with-input",
            "--out",
            table.to_str().unwrap(),
        ]),
        0,
    );
    std::fs::read_to_string(&table).unwrap()
}

fn post(address: &str, path: &str, request_id: &str, body: &str) -> (u16, Value) {
    let (status, _, body) = common::post(
        address,
        path,
        &format!("X-Request-Id: {request_id}\r\n"),
        body,
    );
    (status, body)
}

/// A request id and the instance's index in the request.
type Key = (String, u64);
/// What the server answered for an instance: predicted class, probabilities
/// by class, gender, and the true class.
type Answer = (String, BTreeMap<String, f64>, String, String);

/// Accuracy and log loss of (predicted class, probability of the true class, true class) rows.
// The platform `ln` is fine here: the test compares with a tolerance.
#[allow(clippy::disallowed_methods)]
fn accuracy_and_log_loss(rows: &[(String, f64, String)]) -> (f64, f64) {
    let n = rows.len() as f64;
    let correct = rows.iter().filter(|(p, _, t)| p == t).count() as f64;
    let loss = rows
        .iter()
        .map(|(_, p, _)| -p.clamp(1e-15, 1.0 - 1e-15).ln())
        .sum::<f64>();
    (correct / n, loss / n)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

#[cfg(unix)]
#[test]
fn monitor_reports_quality_per_window_and_slice_from_a_served_log_and_delayed_labels() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path());
    let log_dir = dir.path().join("requests");
    let (mut guard, _, address) = start_server([
        "--model".as_ref(),
        model.as_os_str(),
        "--port".as_ref(),
        "0".as_ref(),
        "--request-log".as_ref(),
        log_dir.as_os_str(),
    ]);

    // 60 requests of 4 instances; the label of every 7th instance never arrives.
    let rows = adult_rows();
    let mut labels = String::from("request_id,row,income\n");
    // (request id, row) → (predicted class, probabilities by class, gender, true class)
    let mut answers: BTreeMap<Key, Answer> = BTreeMap::new();
    let mut instance = 0;
    for request in 0..60 {
        let id = format!("req-{request}");
        let chunk = &rows[request * 4..request * 4 + 4];
        let instances: Vec<Value> = chunk
            .iter()
            .map(|(r, _)| Value::Object(r.clone()))
            .collect();
        let body = json!({ "instances": instances }).to_string();
        let (status, answer) = post(&address, "/v1/models/adult:predict", &id, &body);
        assert_eq!(status, 200, "{answer}");
        for (row, ((record, income), prediction)) in chunk
            .iter()
            .zip(answer["predictions"].as_array().unwrap())
            .enumerate()
        {
            let classes = prediction["classes"].as_array().unwrap();
            let scores = prediction["scores"].as_array().unwrap();
            let probabilities = classes
                .iter()
                .zip(scores)
                .map(|(c, s)| (c.as_str().unwrap().to_string(), s.as_f64().unwrap()))
                .collect();
            answers.insert(
                (id.clone(), row as u64),
                (
                    prediction["label"].as_str().unwrap().to_string(),
                    probabilities,
                    record["gender"].as_str().unwrap().to_string(),
                    income.clone(),
                ),
            );
            if instance % 7 != 6 {
                labels.push_str(&format!("{id},{row},{income}\n"));
            }
            instance += 1;
        }
    }
    // A label for a request that was never made.
    labels.push_str("req-999,0,>50K\n");
    let labels_file = dir.path().join("labels.csv");
    std::fs::write(&labels_file, &labels).unwrap();

    let kill = Command::new("kill")
        .args(["-TERM", &guard.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while guard.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The windows each logged request falls in, from the log itself.
    let mut window_of: BTreeMap<String, String> = BTreeMap::new();
    for file in std::fs::read_dir(&log_dir).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        for line in text.lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            let time = entry["timestamp"].as_str().unwrap();
            // One-minute windows: "2026-12-07T13:08:03.300Z" → "2026-12-07T13:08:00Z".
            window_of.insert(
                entry["request_id"].as_str().unwrap().to_string(),
                format!("{}:00Z", &time[..16]),
            );
        }
    }
    assert_eq!(window_of.len(), 60);

    let quarantine = dir.path().join("unused_labels.jsonl");
    let output = mlrig([
        "--format",
        "json",
        "monitor",
        "--model",
        model.to_str().unwrap(),
        "--log",
        &format!("{}/*.jsonl", log_dir.display()),
        "--labels",
        labels_file.to_str().unwrap(),
        "--join-key",
        "request_id",
        "--slice",
        "gender",
        "--window",
        "1m",
        "--quarantine",
        quarantine.to_str().unwrap(),
    ]);
    let report = json_stdout(&output);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report["model"], "adult");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../docs/schemas/monitor-report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the report does not match its schema: {errors:?}"
    );
    let totals = &report["rows"];
    assert_eq!(totals["rows_read"], 240);
    assert_eq!(totals["rows_used"], 240);
    assert_eq!(totals["rows_skipped"], 0);
    let unlabelled = (0..240).filter(|i| i % 7 == 6).count() as u64;
    assert_eq!(totals["unlabelled"], unlabelled);
    assert_eq!(totals["labelled"], 240 - unlabelled);
    let label_totals = &report["labels"];
    assert_eq!(label_totals["rows_read"], 240 - unlabelled + 1);
    assert_eq!(label_totals["matched"], 240 - unlabelled);
    assert_eq!(label_totals["unused"], 1);
    assert_eq!(label_totals["unused_reasons"]["no_logged_row"], 1);
    let unused: Value = serde_json::from_str(
        std::fs::read_to_string(&quarantine)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(unused["key"], "req-999#0");
    assert_eq!(unused["reason"], "no_logged_row");

    // Independent computation, per window and per gender within all rows.
    let labelled: Vec<(&Key, &Answer)> = answers
        .iter()
        .filter(|((id, row), _)| {
            let request: usize = id.trim_start_matches("req-").parse().unwrap();
            (request * 4 + *row as usize) % 7 != 6
        })
        .collect();
    let as_row = |(_, (predicted, probabilities, _, truth)): &(&Key, &Answer)| {
        (predicted.clone(), probabilities[truth], truth.clone())
    };
    let mut by_window: BTreeMap<&str, Vec<(String, f64, String)>> = BTreeMap::new();
    for item in &labelled {
        by_window
            .entry(window_of[&item.0.0].as_str())
            .or_default()
            .push(as_row(item));
    }
    let windows = report["windows"].as_array().unwrap();
    assert_eq!(windows.len(), by_window.len());
    for (window, (start, rows)) in windows.iter().zip(&by_window) {
        assert_eq!(window["start"], *start);
        let (accuracy, log_loss) = accuracy_and_log_loss(rows);
        let quality = &window["quality"];
        assert_eq!(quality["rows"], rows.len() as u64);
        assert!(
            close(quality["metrics"]["accuracy"].as_f64().unwrap(), accuracy),
            "{quality}"
        );
        assert!(
            close(quality["metrics"]["log_loss"].as_f64().unwrap(), log_loss),
            "{quality}"
        );
    }
    let overall = &report["quality"];
    let all: Vec<_> = labelled.iter().map(as_row).collect();
    let (accuracy, _) = accuracy_and_log_loss(&all);
    assert!(close(
        overall["metrics"]["accuracy"].as_f64().unwrap(),
        accuracy
    ));
    let slices = overall["slices"].as_array().unwrap();
    assert_eq!(slices.len(), 2, "{slices:?}");
    for slice in slices {
        assert_eq!(slice["column"], "gender");
        let rows: Vec<_> = labelled
            .iter()
            .filter(|(_, (_, _, gender, _))| *gender == slice["value"].as_str().unwrap())
            .map(as_row)
            .collect();
        let (accuracy, _) = accuracy_and_log_loss(&rows);
        assert_eq!(slice["rows"], rows.len() as u64);
        assert!(
            close(slice["metrics"]["accuracy"].as_f64().unwrap(), accuracy),
            "{slice}"
        );
    }

    // The text output has the same numbers.
    let output = mlrig([
        "monitor",
        "--model",
        model.to_str().unwrap(),
        "--log",
        &format!("{}/*.jsonl", log_dir.display()),
        "--labels",
        labels_file.to_str().unwrap(),
        "--join-key",
        "request_id",
        "--slice",
        "gender",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("rows: 240 read = 240 used + 0 skipped"),
        "{text}"
    );
    assert!(text.contains("gender=Female"), "{text}");
}

/// `mlrig predict --with-input` rows as request log entries, one instance each.
fn log_lines(table: &str, range: std::ops::Range<usize>, hour: u32, shift: Option<&str>) -> String {
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut out = String::new();
    for (i, line) in lines.enumerate().skip(range.start).take(range.len()) {
        let mut inputs = Map::new();
        let mut outputs = Map::new();
        for (column, cell) in header.iter().zip(line.split(',')) {
            if *column == "prediction" {
                outputs.insert("prediction".into(), json!(cell));
            } else if column.starts_with("score_") {
                outputs.insert(column.to_string(), json!(cell.parse::<f64>().unwrap()));
            } else if *column != "income" && !cell.is_empty() && cell != "?" {
                let value = if INTS.contains(column) {
                    json!(cell.parse::<i64>().unwrap())
                } else {
                    json!(cell)
                };
                inputs.insert(column.to_string(), value);
            }
        }
        if let Some(workclass) = shift {
            inputs.insert("workclass".into(), json!(workclass));
        }
        let entry = json!({
            "timestamp": format!("2026-12-07T{hour:02}:{:02}:00.000Z", i % 60),
            "request_id": format!("r{i}"),
            "model": "adult",
            "version": 1,
            "source": "model",
            "inputs": [inputs],
            "outputs": [outputs],
        });
        out.push_str(&entry.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn a_window_whose_workclass_shifted_fails_and_names_workclass() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path());
    let table = predictions_with_inputs(&model, dir.path());
    let steady = dir.path().join("requests-1.jsonl");
    std::fs::write(&steady, log_lines(&table, 0..1000, 10, None)).unwrap();
    let shifted = dir.path().join("requests-2.jsonl");
    std::fs::write(
        &shifted,
        log_lines(&table, 1000..2000, 11, Some("Self-emp-inc")),
    )
    .unwrap();

    let output = mlrig([
        "--format",
        "json",
        "monitor",
        "--model",
        model.to_str().unwrap(),
        "--log",
        steady.to_str().unwrap(),
        "--log",
        shifted.to_str().unwrap(),
    ]);
    assert_status(&output, 1);
    let report = json_stdout(&output);
    let windows = report["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2);
    let workclass = |window: &Value| {
        window["skew"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["feature"] == "workclass" && c["test"] == "linf")
            .unwrap()
            .clone()
    };
    assert_eq!(workclass(&windows[0])["over_threshold"], false);
    // The steady window crosses nothing: only the shift alerts.
    assert_eq!(windows[0]["alerts"], json!([]), "{}", windows[0]);
    assert_eq!(workclass(&windows[1])["over_threshold"], true);
    // Unchanged categorical features stay under their thresholds.
    for c in windows[1]["skew"].as_array().unwrap() {
        if c["test"] == "linf" && c["feature"] != "workclass" {
            assert_eq!(c["over_threshold"], false, "{c}");
        }
    }
    assert_eq!(report["features_changed"][0]["feature"], "workclass");
    assert!(
        report["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("skew of `workclass`")),
        "{}",
        report["alerts"]
    );

    let output = mlrig([
        "monitor",
        "--model",
        model.to_str().unwrap(),
        "--log",
        &format!("{}/requests-*.jsonl", dir.path().display()),
    ]);
    assert_status(&output, 1);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("! workclass"), "{text}");
}

#[test]
fn usage_and_input_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    std::fs::write(&log, "").unwrap();
    let output = mlrig([
        "monitor",
        "--model",
        dir.path().to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ]);
    assert_status(&output, 2);
    assert_one_line_error(&output);
    let output = mlrig([
        "monitor",
        "--model",
        dir.path().to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--window",
        "soon",
    ]);
    assert_status(&output, 2);
}

#[test]
fn quality_below_the_blessing_thresholds_fails_and_names_the_slice_that_dropped() {
    let dir = tempfile::tempdir().unwrap();
    // Blessed at training (accuracy ≈ 0.84 on the evaluation rows).
    let model = train_adult_model(
        &dir.path().join("models"),
        &["--slice", "gender", "--min", "accuracy=0.7"],
    );
    let table = predictions_with_inputs(&model, dir.path());
    let log = dir.path().join("requests.jsonl");
    std::fs::write(&log, log_lines(&table, 0..1000, 10, None)).unwrap();
    // The outcomes of women arrive inverted (a broken label pipeline for one slice).
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (income, gender) = (column("income"), column("gender"));
    let mut labels = String::from("request_id,income\n");
    for (i, line) in lines.take(1000).enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let truth = match (cells[gender], cells[income]) {
            ("Female", "<=50K") => ">50K",
            ("Female", _) => "<=50K",
            (_, value) => value,
        };
        labels.push_str(&format!("r{i},{truth}\n"));
    }
    let labels_file = dir.path().join("labels.csv");
    std::fs::write(&labels_file, labels).unwrap();

    let output = mlrig([
        "--format",
        "json",
        "monitor",
        "--model",
        model.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--labels",
        labels_file.to_str().unwrap(),
        "--join-key",
        "request_id",
        "--slice",
        "gender",
        "--max-drop",
        "0.2",
    ]);
    assert_status(&output, 1);
    let report = json_stdout(&output);
    assert_eq!(report["rows"]["labelled"], 1000);
    let accuracy = report["quality"]["metrics"]["accuracy"].as_f64().unwrap();
    assert!(accuracy < 0.7, "{accuracy}");
    let alerts: Vec<&str> = report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        alerts
            .iter()
            .any(|a| a.contains("accuracy") && a.contains("below the minimum 0.7")),
        "{alerts:?}"
    );
    let dropped = report["slices_dropped"].as_array().unwrap();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(dropped[0]["slice"], "gender=Female");
    assert_eq!(dropped[0]["metric"], "roc_auc");
    assert!(dropped[0]["drop"].as_f64().unwrap() > 0.5, "{}", dropped[0]);
}

#[test]
fn presence_lists_features_never_and_always_missing_in_serving() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path());
    let table = predictions_with_inputs(&model, dir.path());
    // Every request has a workclass (training has 5.8 % missing) and none has a native-country.
    let log: String = log_lines(&table, 0..500, 10, Some("Private"))
        .lines()
        .map(|line| {
            let mut entry: Value = serde_json::from_str(line).unwrap();
            entry["inputs"][0]
                .as_object_mut()
                .unwrap()
                .remove("native-country");
            entry.to_string() + "\n"
        })
        .collect();
    let log_file = dir.path().join("requests.jsonl");
    std::fs::write(&log_file, log).unwrap();
    let output = mlrig([
        "--format",
        "json",
        "monitor",
        "--model",
        model.to_str().unwrap(),
        "--log",
        log_file.to_str().unwrap(),
    ]);
    let report = json_stdout(&output);
    let presence: BTreeMap<&str, &str> = report["presence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["feature"].as_str().unwrap(),
                p["change"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        presence.get("workclass"),
        Some(&"never_missing"),
        "{presence:?}"
    );
    assert_eq!(
        presence.get("native-country"),
        Some(&"always_missing"),
        "{presence:?}"
    );
    assert!(!presence.contains_key("age"), "{presence:?}");
}
