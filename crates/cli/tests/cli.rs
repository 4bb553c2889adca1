//! End-to-end tests of the `mlrig` binary: the documented command-line flow
//! (ingest → stats → infer-schema → validate → train → serve), its JSON
//! contract on stdout, its exit statuses and its error messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{
    ADULT, ADULT_SHIFTED, BROKEN, assert_one_line_error, assert_status, json_stdout, mlrig,
    read_json, stderr, stdout, strings_at, success_json,
};
use serde_json::Value;

/// Every verb of the command line.
const VERBS: [&str; 9] = [
    "ingest",
    "stats",
    "infer-schema",
    "validate",
    "drift",
    "features",
    "train",
    "serve",
    "schema",
];

/// Trains a classifier of the adult sample's `income` into
/// `<base>/<name>/<next version>`.
fn train(base: &Path, name: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        ADULT,
        "--target",
        "income",
        "--name",
        name,
        "--out",
        base.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mlrig(args)
}

/// [`train`] as `adult`, with the JSON report.
fn train_adult(base: &Path, extra: &[&str]) -> Output {
    train(base, "adult", &[&["--format", "json"], extra].concat())
}

// ---------------------------------------------------------------- ingest

#[test]
fn ingest_accounts_for_every_row_of_the_broken_sample() {
    let output = mlrig(["ingest", BROKEN, "--format", "json"]);
    assert_status(&output, 0);
    let report = json_stdout(&output);
    let summary = &report["summary"];
    let read = summary["rows_read"].as_u64().unwrap();
    let accepted = summary["rows_accepted"].as_u64().unwrap();
    let quarantined = summary["rows_quarantined"].as_u64().unwrap();
    assert_eq!(read, 8);
    assert_eq!(accepted + quarantined, read);
    assert_eq!(quarantined, 4);

    let rows = report["quarantined"].as_array().unwrap();
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 4, 9, 10]);
    assert_eq!(rows[0]["column"], "score");
    assert_eq!(rows[0]["raw_value"], "not-a-number");
    assert_eq!(rows[3]["column"], "active");
    assert_eq!(rows[3]["raw_value"], "maybe");
    assert!(
        rows.iter()
            .all(|r| !r["reason"].as_str().unwrap().is_empty())
    );

    let columns = strings_at(&report["columns"], "name");
    assert_eq!(columns, ["id", "name", "score", "active"]);
    assert!(report["quarantine_file"].is_null());
}

#[test]
fn ingest_text_report_names_the_quarantined_lines() {
    let output = mlrig(["ingest", BROKEN]);
    assert_status(&output, 0);
    let text = stdout(&output);
    assert!(
        text.contains("8 rows read = 4 accepted + 4 quarantined"),
        "{text}"
    );
    for line in ["line 3 ", "line 4 ", "line 9 ", "line 10 "] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn ingest_writes_the_quarantine_file_as_csv_and_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = |quarantine: &Path, extra: &[&str]| {
        let args = [
            "ingest",
            BROKEN,
            "--quarantine",
            quarantine.to_str().unwrap(),
        ];
        let output = mlrig([&args[..], extra].concat());
        assert_status(&output, 0);
        output
    };

    let csv_path = dir.path().join("q.csv");
    let output = ingest(&csv_path, &["--format", "json"]);
    assert_eq!(
        json_stdout(&output)["quarantine_file"],
        csv_path.to_str().unwrap()
    );
    let csv_text = std::fs::read_to_string(&csv_path).unwrap();
    let csv_lines: Vec<&str> = csv_text.lines().collect();
    assert_eq!(csv_lines.len(), 5, "header + 4 rows:\n{csv_text}");
    assert!(csv_lines[0].starts_with("file,line,"), "{csv_text}");
    for (row, line) in csv_lines[1..].iter().zip(["3,", "4,", "9,", "10,"]) {
        let after_file = row
            .split_once("broken.csv,")
            .map(|(_, rest)| rest)
            .unwrap_or(row);
        assert!(
            after_file.starts_with(line),
            "{row:?} should name line {line:?}"
        );
    }
    assert!(csv_text.contains("7,zeta,4.0,true,extra"), "{csv_text}");

    let jsonl_path = dir.path().join("q.jsonl");
    ingest(&jsonl_path, &["--quarantine-format", "jsonl"]);
    let jsonl = std::fs::read_to_string(&jsonl_path).unwrap();
    let records: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let lines: Vec<u64> = records
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 9, 10]);
    assert_eq!(records[1]["record"], "3,gamma,1.25");
}

// ------------------------------------------- stats, infer-schema, validate

#[test]
fn stats_then_schema_then_validate_finds_the_documented_drift() {
    let dir = tempfile::tempdir().unwrap();
    let stats_path = dir.path().join("stats.json");
    let schema_path = dir.path().join("schema.json");
    let direct_schema_path = dir.path().join("schema_direct.json");

    // stats --out: tensorflow-metadata DatasetFeatureStatisticsList.
    let output = mlrig(["stats", ADULT, "--out", stats_path.to_str().unwrap()]);
    assert_status(&output, 0);
    let stats = read_json(&stats_path);
    let datasets = stats["datasets"].as_array().expect("`datasets` array");
    assert_eq!(datasets.len(), 1);
    assert_eq!(datasets[0]["numExamples"], "4071");
    let feature_names: Vec<&str> = datasets[0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"]["step"][0].as_str().unwrap())
        .collect();
    assert_eq!(feature_names.len(), 15);
    assert!(feature_names.contains(&"fnlwgt") && feature_names.contains(&"income"));

    // infer-schema from the statistics file.
    let output = mlrig([
        "infer-schema",
        "--stats",
        stats_path.to_str().unwrap(),
        "--out",
        schema_path.to_str().unwrap(),
    ]);
    assert_status(&output, 0);
    let schema = read_json(&schema_path);
    let features = schema["feature"].as_array().expect("`feature` array");
    assert_eq!(features.len(), 15);
    let workclass = features
        .iter()
        .find(|f| f["name"] == "workclass")
        .expect("workclass in the schema");
    assert_eq!(workclass["type"], "BYTES");

    // infer-schema straight from the CSV file gives the same schema.
    let output = mlrig([
        "infer-schema",
        ADULT,
        "--out",
        direct_schema_path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_status(&output, 0);
    let direct = read_json(&direct_schema_path);
    assert_eq!(
        direct, schema,
        "schema from the CSV file != schema from stats"
    );
    assert_eq!(json_stdout(&output)["schema"], schema);

    // The shifted batch fails validation (exit 1) ...
    let schema_arg = schema_path.to_str().unwrap();
    let output = validate(ADULT_SHIFTED, schema_arg, &[]);
    assert_status(&output, 1);
    let text = stdout(&output);
    assert!(text.contains("SCHEMA_MISSING_COLUMN"), "{text}");
    assert!(text.ends_with('\n'), "text report ends without a newline");

    // ... and its JSON report names the anomalies.
    let output = validate(ADULT_SHIFTED, schema_arg, &["--format", "json"]);
    assert_status(&output, 1);
    let report = json_stdout(&output);
    assert!(report["anomaly_count"].as_u64().unwrap() >= 2);
    let info = report["anomalies"]["anomalyInfo"]
        .as_object()
        .expect("anomalies.anomalyInfo object");
    assert_eq!(info.len() as u64, report["anomaly_count"].as_u64().unwrap());
    let types_of = |feature: &str| -> Vec<String> {
        info.get(feature)
            .unwrap_or_else(|| panic!("no anomaly for `{feature}`: {report:#}"))["reason"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(types_of("fnlwgt").contains(&"SCHEMA_MISSING_COLUMN".to_string()));
    assert!(types_of("workclass").contains(&"ENUM_TYPE_UNEXPECTED_STRING_VALUES".to_string()));
    assert!(types_of("device").contains(&"SCHEMA_NEW_COLUMN".to_string()));
    assert!(!info.contains_key("education"), "education did not drift");

    // The data the schema was inferred from passes.
    let output = validate(ADULT, schema_arg, &["--format", "json"]);
    assert_status(&output, 0);
    let report = json_stdout(&output);
    assert_eq!(report["anomaly_count"], 0);
    assert_eq!(report["ingest"]["rows_accepted"], 4071);
}

/// Runs `mlrig validate DATA --schema SCHEMA EXTRA...`.
fn validate(data: &str, schema: &str, extra: &[&str]) -> Output {
    mlrig([&["validate", data, "--schema", schema][..], extra].concat())
}

/// The reason of type `kind` among the anomalies of `feature` in a JSON
/// validation report.
fn anomaly_reason<'a>(report: &'a Value, feature: &str, kind: &str) -> &'a Value {
    report["anomalies"]["anomalyInfo"][feature]["reason"]
        .as_array()
        .unwrap_or_else(|| panic!("no anomaly for `{feature}`: {report:#}"))
        .iter()
        .find(|r| r["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} for `{feature}`: {report:#}"))
}

/// The 1-based lines of the data rows of `path` whose `column` is `value`
/// (the file has no quoted fields, so data row `i` is on line `i + 2`).
fn lines_where(path: &str, column: &str, value: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.contains('"'), "{path} has quoted fields");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let index = header.iter().position(|h| *h == column).unwrap();
    lines
        .enumerate()
        .filter(|(_, line)| line.split(',').nth(index) == Some(value))
        .map(|(i, _)| i as u64 + 2)
        .collect()
}

/// Writes the schema `mlrig infer-schema` infers from the adult sample to
/// `dir/schema.json`; returns its path.
fn adult_schema(dir: &Path) -> String {
    let schema = dir.join("schema.json").to_str().unwrap().to_string();
    assert_status(&mlrig(["infer-schema", ADULT, "--out", &schema]), 0);
    schema
}

#[test]
fn validate_rows_lists_the_file_and_line_of_every_offending_row() {
    let dir = tempfile::tempdir().unwrap();
    let schema_arg = &adult_schema(dir.path());
    let expected = lines_where(ADULT_SHIFTED, "workclass", "Space-agency");
    assert!(expected.len() > 5, "more rows than the default 5 examples");

    // Text: the anomaly line, then one indented FILE:LINE per row.
    let output = validate(ADULT_SHIFTED, schema_arg, &["--rows"]);
    assert_status(&output, 1);
    let text = stdout(&output);
    let mut lines = text.lines();
    let anomaly = lines
        .find(|l| l.starts_with("workclass: ENUM_TYPE_UNEXPECTED_STRING_VALUES"))
        .unwrap_or_else(|| panic!("no workclass anomaly in:\n{text}"));
    assert!(
        anomaly.contains(&format!("({} examples)", expected.len())),
        "{anomaly}"
    );
    let listed: Vec<u64> = lines
        .map_while(|l| l.strip_prefix("  "))
        .map(|row| {
            let (file, line) = row.rsplit_once(':').unwrap();
            assert_eq!(file, ADULT_SHIFTED);
            line.parse().unwrap()
        })
        .collect();
    assert_eq!(listed, expected);
    // Column-level anomalies keep their one-line form with example indices.
    let missing = text
        .lines()
        .find(|l| l.starts_with("fnlwgt: SCHEMA_MISSING_COLUMN"))
        .unwrap_or_else(|| panic!("no fnlwgt anomaly in:\n{text}"));
    assert!(missing.ends_with("; rows 0, 1, 2, 3, 4)"), "{missing}");

    // JSON: the same rows under the anomaly's reason.
    let output = validate(ADULT_SHIFTED, schema_arg, &["--rows", "--format", "json"]);
    assert_status(&output, 1);
    let report = json_stdout(&output);
    assert_eq!(report["ingest"]["rows_quarantined"], 0);
    let reason = anomaly_reason(&report, "workclass", "ENUM_TYPE_UNEXPECTED_STRING_VALUES");
    let rows = reason["rows"].as_array().expect("`rows` array");
    assert!(rows.iter().all(|r| r["file"] == ADULT_SHIFTED), "{rows:?}");
    let json_lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(json_lines, expected);
    assert_eq!(
        reason["exampleRows"].as_array().unwrap().len(),
        expected.len()
    );
    let fnlwgt = &report["anomalies"]["anomalyInfo"]["fnlwgt"]["reason"][0];
    assert!(fnlwgt.get("rows").is_none(), "{fnlwgt}");

    // Without --rows: five example indices and no `rows`.
    let output = validate(ADULT_SHIFTED, schema_arg, &["--format", "json"]);
    let report = json_stdout(&output);
    let reason = &report["anomalies"]["anomalyInfo"]["workclass"]["reason"][0];
    assert_eq!(reason["exampleRows"].as_array().unwrap().len(), 5);
    assert!(reason.get("rows").is_none());
}

#[test]
fn validate_rows_names_each_file_of_a_glob() {
    let dir = tempfile::tempdir().unwrap();
    let schema_arg = &adult_schema(dir.path());
    // adult_shifted.csv cut in two files; the second starts at data row 200.
    let text = std::fs::read_to_string(ADULT_SHIFTED).unwrap();
    let all: Vec<&str> = text.lines().collect();
    let (header, body) = (all[0], &all[1..]);
    let parts = [dir.path().join("part-1.csv"), dir.path().join("part-2.csv")];
    for (part, rows) in parts.iter().zip(body.chunks(200)) {
        std::fs::write(part, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    }
    let pattern = dir.path().join("part-*.csv");
    let output = validate(
        pattern.to_str().unwrap(),
        schema_arg,
        &["--rows", "--format", "json"],
    );
    assert_status(&output, 1);
    let report = json_stdout(&output);
    let reason = anomaly_reason(&report, "workclass", "ENUM_TYPE_UNEXPECTED_STRING_VALUES");
    let got: Vec<(String, u64)> = reason["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let file = r["file"].as_str().unwrap();
            let name = Path::new(file).file_name().unwrap().to_str().unwrap();
            (name.to_string(), r["line"].as_u64().unwrap())
        })
        .collect();
    let expected: Vec<(String, u64)> = lines_where(ADULT_SHIFTED, "workclass", "Space-agency")
        .into_iter()
        .map(|line| {
            if line < 202 {
                ("part-1.csv".to_string(), line)
            } else {
                ("part-2.csv".to_string(), line - 200)
            }
        })
        .collect();
    assert!(expected.iter().any(|(f, _)| f == "part-2.csv"));
    assert_eq!(got, expected);
}

#[test]
fn stats_json_report_includes_ingest_summary_and_statistics() {
    let output = mlrig(["stats", BROKEN, "--format", "json"]);
    assert_status(&output, 0);
    let report = json_stdout(&output);
    assert_eq!(report["ingest"]["rows_read"], 8);
    assert_eq!(report["ingest"]["rows_quarantined"], 4);
    assert!(report["out"].is_null());
    assert_eq!(report["statistics"]["datasets"][0]["numExamples"], "4");
}

// ------------------------------------------------------------------ errors

#[test]
fn missing_file_is_a_one_line_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no_such_file.csv");
    let missing = missing.to_str().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, r#"{"feature": []}"#).unwrap();
    let schema = schema.to_str().unwrap();
    let cases: [Vec<&str>; 4] = [
        vec!["ingest", missing],
        vec!["stats", missing],
        vec!["infer-schema", missing],
        vec!["validate", missing, "--schema", schema],
    ];
    for args in cases {
        let output = mlrig(&args);
        let line = assert_one_line_error(&output);
        assert!(line.contains(missing), "{args:?}: {line}");
        assert!(
            output.stdout.is_empty(),
            "{args:?}: text mode prints nothing on stdout"
        );

        let mut json_args = args.clone();
        json_args.extend(["--format", "json"]);
        let output = mlrig(&json_args);
        let line = assert_one_line_error(&output);
        assert!(line.contains(missing), "{json_args:?}: {line}");
        let report = json_stdout(&output);
        let message = report["error"].as_str().expect("{\"error\": string}");
        assert!(message.contains(missing), "{message}");
        assert_eq!(report.as_object().unwrap().len(), 1, "{report}");
    }
}

#[test]
fn missing_schema_and_training_file_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let missing = missing.to_str().unwrap();
    let output = validate(ADULT, missing, &[]);
    assert!(assert_one_line_error(&output).contains(missing));

    // train reports progress on stderr first; the error is still one line.
    let missing_csv = dir.path().join("missing.csv");
    let output = mlrig([
        "train",
        missing_csv.to_str().unwrap(),
        "--target",
        "income",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_status(&output, 2);
    let err = stderr(&output);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains(missing_csv.to_str().unwrap()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let output = mlrig(["ingest", BROKEN, "--no-such-flag"]);
    assert_status(&output, 2);
    let err = stderr(&output);
    assert!(err.contains("--no-such-flag"), "{err}");
    assert!(err.contains("Usage:"), "{err}");

    let output = mlrig(["no-such-verb"]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains("Usage:"));

    let output = mlrig(["ingest", BROKEN, "--format", "yaml"]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains("yaml"));

    // Missing required argument.
    let output = mlrig(["validate", BROKEN]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains("--schema"));

    // Values the command checks itself.
    for (args, needle) in [
        (vec!["--threads", "0", "ingest", BROKEN], "--threads"),
        (vec!["ingest", BROKEN, "--delimiter", "ab"], "--delimiter"),
        (
            vec!["ingest", BROKEN, "--column-type", "score"],
            "NAME=TYPE",
        ),
        (
            vec!["ingest", BROKEN, "--column-type", "score=decimal"],
            "decimal",
        ),
    ] {
        let output = mlrig(&args);
        let line = assert_one_line_error(&output);
        assert!(line.contains(needle), "{args:?}: {line}");
    }
}

#[test]
fn unknown_target_names_the_column_and_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let output = mlrig([
        "train",
        ADULT,
        "--target",
        "nope",
        "--out",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_status(&output, 2);
    let message = json_stdout(&output)["error"].as_str().unwrap().to_string();
    assert!(message.contains("nope"), "{message}");
    for column in ["age", "workclass", "income"] {
        assert!(message.contains(column), "{column} not listed: {message}");
    }
    assert!(stderr(&output).contains(&message));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn empty_file_is_a_clear_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    for verb in ["ingest", "stats", "infer-schema"] {
        let output = mlrig([verb, empty]);
        let line = assert_one_line_error(&output);
        assert!(line.contains(empty), "{verb}: {line}");
        assert!(line.contains("empty"), "{verb}: {line}");
    }
}

#[test]
fn statistics_file_that_is_not_json_is_rejected() {
    let output = mlrig(["infer-schema", "--stats", BROKEN]);
    let line = assert_one_line_error(&output);
    assert!(line.contains("broken.csv"), "{line}");
}

// ------------------------------------------------------------------- train

#[test]
fn train_writes_versioned_bundles_and_blessing_gates_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let output = train_adult(dir.path(), &[]);
    assert_status(&output, 0);
    let report = json_stdout(&output);
    assert_eq!(report["name"], "adult");
    assert_eq!(report["version"], 1);
    assert_eq!(report["evaluation"]["blessed"], true);
    let roc_auc = report["evaluation"]["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(roc_auc > 0.85, "roc_auc {roc_auc}");
    let train_rows = report["train_rows"].as_u64().unwrap();
    let eval_rows = report["eval_rows"].as_u64().unwrap();
    assert_eq!(train_rows + eval_rows, 4071);
    assert_eq!(
        report["evaluation"]["task"]["classification"]["classes"],
        serde_json::json!(["<=50K", ">50K"])
    );

    let bundle = dir.path().join("adult").join("1");
    assert_eq!(
        PathBuf::from(report["bundle_dir"].as_str().unwrap()),
        bundle
    );
    for file in [
        "manifest.json",
        "schema.json",
        "statistics.json",
        "features.json",
        "model.json",
        "evaluation.json",
    ] {
        read_json(&bundle.join(file));
    }
    let manifest = read_json(&bundle.join("manifest.json"));
    assert_eq!(manifest["name"], "adult");
    assert_eq!(manifest["version"], 1);

    // Training again makes version 2; a threshold it cannot meet fails the gate.
    let output = train_adult(dir.path(), &["--min", "roc_auc=0.99"]);
    assert_status(&output, 1);
    let report = json_stdout(&output);
    assert_eq!(report["version"], 2);
    assert_eq!(report["evaluation"]["blessed"], false);
    let reasons = report["evaluation"]["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(
            |r| r.as_str().unwrap().contains("roc_auc") && r.as_str().unwrap().contains("0.99")
        ),
        "{reasons:?}"
    );
    assert!(dir.path().join("adult/2/manifest.json").is_file());

    // The text report says why, too.
    let output = train(dir.path(), "adult", &["--min", "roc_auc=0.99"]);
    assert_status(&output, 1);
    let text = stdout(&output);
    assert!(text.contains("version 3"), "{text}");
    assert!(text.contains("blessed: no"), "{text}");
    assert!(text.contains("roc_auc") && text.contains("0.99"), "{text}");
}

#[test]
fn train_never_overwrites_an_existing_version() {
    let dir = tempfile::tempdir().unwrap();
    assert_status(&train_adult(dir.path(), &[]), 0);
    let manifest_path = dir.path().join("adult/1/manifest.json");
    let before = std::fs::read(&manifest_path).unwrap();
    let output = train_adult(dir.path(), &["--bundle-version", "1"]);
    assert_status(&output, 2);
    let message = json_stdout(&output)["error"].as_str().unwrap().to_string();
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(std::fs::read(&manifest_path).unwrap(), before);
    assert!(!dir.path().join("adult/2").exists());
}

#[test]
fn train_rejects_malformed_thresholds_and_split() {
    let dir = tempfile::tempdir().unwrap();
    let line = assert_one_line_error(&train_adult(dir.path(), &["--min", "roc_auc"]));
    assert!(line.contains("METRIC=VALUE"), "{line}");
    let output = train_adult(dir.path(), &["--eval-every", "1"]);
    let message = json_stdout(&output)["error"].as_str().unwrap().to_string();
    assert!(message.contains("--eval-every"), "{message}");
    assert_status(&output, 2);
    let output = train(dir.path(), "../escape", &["--format", "json"]);
    assert_status(&output, 2);
    let message = json_stdout(&output)["error"].as_str().unwrap().to_string();
    assert!(message.contains("../escape"), "{message}");
    assert!(!dir.path().join("..").join("escape").exists());
}

// ------------------------------------------------------------------- serve

/// Kills the server if a test fails before it stops it.
struct ServerGuard {
    child: Child,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A parsed HTTP response.
struct Response {
    status: u16,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
fn http(address: &str, method: &str, path: &str, body: Option<&str>) -> Response {
    let mut stream = TcpStream::connect(address).expect("connect to the server");
    let timeout = Some(Duration::from_secs(30));
    stream.set_read_timeout(timeout).unwrap();
    stream.set_write_timeout(timeout).unwrap();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("read the whole response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = std::str::from_utf8(&raw[..split]).expect("headers are UTF-8");
    let mut content = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        content = dechunk(&content);
    }
    Response {
        status,
        body: String::from_utf8(content).expect("body is UTF-8"),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&data[..end]).unwrap();
        let size_text = size_text.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size_text, 16).expect("hex chunk size");
        data = &data[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Waits (bounded) for the child to exit; kills it and fails if it does not.
fn wait_for_exit(guard: &mut ServerGuard, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = guard.child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = guard.child.kill();
            let _ = guard.child.wait();
            panic!("the server did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn serve_answers_tf_serving_requests_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    assert_status(&train_adult(dir.path(), &[]), 0);
    let model_dir = dir.path().join("adult");
    let stderr_path = dir.path().join("serve.stderr");
    let stderr_file = std::fs::File::create(&stderr_path).unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["serve", "--model"])
        .arg(&model_dir)
        .args(["--port", "0", "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr_file))
        .spawn()
        .expect("start mlrig serve");
    let mut guard = ServerGuard { child };
    let server_stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();

    // Stdout lines arrive on a channel so every wait for them is bounded.
    let child_stdout = guard.child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(child_stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let first = lines_rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no startup line; stderr: {}", server_stderr()));
    let started: Value = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("startup line is not JSON ({e}): {first}"));
    let url = started["listening"].as_str().expect("`listening` URL");
    let address = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http URL: {url}"))
        .to_string();
    let (host, port) = address.rsplit_once(':').unwrap();
    assert_eq!(host, "127.0.0.1");
    assert_ne!(port.parse::<u16>().unwrap(), 0, "the real port is reported");
    assert_eq!(started["models"][0]["name"], "adult");
    assert_eq!(started["models"][0]["version"], 1);

    // Predict.
    let instance = r#"{"instances":[{"age":45,"workclass":"Private","fnlwgt":160000,
        "education":"Masters","educational-num":14,"marital-status":"Married-civ-spouse",
        "occupation":"Exec-managerial","relationship":"Husband","race":"White",
        "gender":"Male","capital-gain":0,"capital-loss":0,"hours-per-week":50,
        "native-country":"United-States"}]}"#;
    let response = http(&address, "POST", "/v1/models/adult:predict", Some(instance));
    assert_eq!(response.status, 200, "{}", response.body);
    let prediction = &response.json()["predictions"][0];
    let label = prediction["label"].as_str().expect("a label");
    assert!(["<=50K", ">50K"].contains(&label), "label {label}");
    let scores: Vec<f64> = prediction["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), 2);
    assert!(
        (scores.iter().sum::<f64>() - 1.0).abs() < 1e-9,
        "{scores:?}"
    );

    // A field of the wrong type is the client's error, and says which field.
    let response = http(
        &address,
        "POST",
        "/v1/models/adult:predict",
        Some(r#"{"instances":[{"age":"forty-five","workclass":"Private"}]}"#),
    );
    assert_eq!(response.status, 400, "{}", response.body);
    let error = response.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains("age"), "{error}");

    // Malformed JSON is a 400 too, and an unknown model a 404.
    let response = http(&address, "POST", "/v1/models/adult:predict", Some("{"));
    assert_eq!(response.status, 400, "{}", response.body);
    let response = http(
        &address,
        "POST",
        "/v1/models/nope:predict",
        Some(r#"{"instances":[{"age":45}]}"#),
    );
    assert_eq!(response.status, 404, "{}", response.body);

    // Model status.
    let response = http(&address, "GET", "/v1/models/adult", None);
    assert_eq!(response.status, 200, "{}", response.body);
    let status = response.json();
    assert_eq!(status["model_version_status"][0]["state"], "AVAILABLE");
    assert_eq!(status["model_version_status"][0]["version"], "1");

    // Prometheus metrics.
    let response = http(&address, "GET", "/metrics", None);
    assert_eq!(response.status, 200, "{}", response.body);
    let metrics = response.body;
    let predict_requests = metrics.lines().find(|l| {
        l.starts_with("mlrig_requests_total{")
            && l.contains(r#"model="adult""#)
            && l.contains(r#"endpoint="predict""#)
            && l.contains(r#"outcome="success""#)
    });
    let predict_requests =
        predict_requests.unwrap_or_else(|| panic!("no predict request counter in:\n{metrics}"));
    let count: f64 = predict_requests
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 1.0, "{predict_requests}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("mlrig_model_age_seconds") && l.contains(r#"model="adult""#)),
        "no model age gauge in:\n{metrics}"
    );

    // SIGTERM stops the server cleanly.
    let pid = guard.child.id().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let status = wait_for_exit(&mut guard, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr: {}", server_stderr());

    // After the startup line, stdout holds one more JSON document.
    reader.join().unwrap();
    let rest: String = lines_rx.try_iter().collect::<Vec<_>>().join("\n");
    let stopped: Value = serde_json::from_str(&rest)
        .unwrap_or_else(|e| panic!("shutdown report is not JSON ({e}): {rest}"));
    assert_eq!(stopped["stopped"], true);
}

#[test]
fn serve_on_a_port_in_use_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_status(&train_adult(dir.path(), &[]), 0);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = mlrig([
        "serve",
        "--model",
        dir.path().join("adult").to_str().unwrap(),
        "--port",
        &port,
    ]);
    let line = assert_one_line_error(&output);
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(line.contains("--port"), "{line}");
    drop(taken);
}

#[test]
fn serve_without_a_model_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("models").join("adult");
    let output = mlrig(["serve", "--model", missing.to_str().unwrap(), "--port", "0"]);
    let line = assert_one_line_error(&output);
    assert!(line.contains(missing.to_str().unwrap()), "{line}");
    assert!(line.contains("mlrig train"), "{line}");
}

// -------------------------------------------------------------------- help

#[test]
fn every_verb_has_help_with_an_example() {
    for verb in VERBS {
        let output = mlrig([verb, "--help"]);
        assert_status(&output, 0);
        let help = stdout(&output);
        assert!(help.contains("Usage: mlrig"), "{verb}:\n{help}");
        assert!(
            help.contains("Example"),
            "{verb} help has no example:\n{help}"
        );
        assert!(help.contains(&format!("mlrig {verb}")), "{verb}:\n{help}");
        assert!(help.contains("--format"), "{verb}:\n{help}");
    }
    let output = mlrig(["--help"]);
    assert_status(&output, 0);
    let help = stdout(&output);
    for verb in VERBS {
        assert!(help.contains(verb), "top-level help lacks {verb}:\n{help}");
    }
    let output = mlrig(["--version"]);
    assert_status(&output, 0);
    assert!(stdout(&output).starts_with("mlrig "));
}

#[test]
fn features_fit_apply_check_from_a_toml_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        "[[columns]]\nname = \"age\"\nimpute = \"mean\"\nencode = \"standard_scale\"\n\n\
         [[columns]]\nname = \"workclass\"\nimpute = \"most_frequent\"\nencode = \"one_hot\"\n",
    )
    .unwrap();
    let transformer = dir.path().join("t.json");
    let fit = mlrig(
        ["features", "fit", ADULT, "--spec"]
            .map(String::from)
            .into_iter()
            .chain([
                spec.display().to_string(),
                "--out".into(),
                transformer.display().to_string(),
                "--format".into(),
                "json".into(),
            ]),
    );
    assert_status(&fit, 0);
    let names = json_stdout(&fit)["output_names"].as_array().unwrap().len();
    assert_eq!(names, 8, "age + 7 workclass levels");

    let features = dir.path().join("f.csv");
    let apply = mlrig([
        "features".to_string(),
        "apply".into(),
        transformer.display().to_string(),
        ADULT_SHIFTED.into(),
        "--out".into(),
        features.display().to_string(),
    ]);
    assert_status(&apply, 0);
    let text = std::fs::read_to_string(&features).unwrap();
    assert_eq!(text.lines().count(), 401, "header + 400 rows");
    assert!(
        text.starts_with("age,workclass=Federal-gov,"),
        "{}",
        &text[..80]
    );

    let check = |data: &str, extra: &[&str]| {
        let args = [
            "features",
            "check",
            &transformer.display().to_string(),
            data,
        ];
        mlrig([&args[..], extra].concat())
    };
    assert_status(&check(ADULT, &[]), 0);
    let on_shifted = check(ADULT_SHIFTED, &["--format", "json"]);
    assert_status(&on_shifted, 1);
    assert!(
        json_stdout(&on_shifted)["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["column"] == "age")
    );

    let typo = dir.path().join("typo.toml");
    std::fs::write(
        &typo,
        "[[columns]]\nname = \"age\"\nencode = \"standard_scael\"\n",
    )
    .unwrap();
    let out = dir.path().join("never.json");
    let bad = mlrig([
        "features".to_string(),
        "fit".into(),
        ADULT.into(),
        "--spec".into(),
        typo.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    assert_status(&bad, 2);
    assert!(assert_one_line_error(&bad).contains("standard_scael"));
    assert!(!out.exists());
}

#[test]
fn drift_flags_the_shifted_batch_and_not_the_reference_itself() {
    let shifted = mlrig([
        "drift",
        "--reference",
        ADULT,
        "--current",
        ADULT_SHIFTED,
        "--format",
        "json",
    ]);
    assert_status(&shifted, 1);
    let report = json_stdout(&shifted);
    let drifted: Vec<_> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["drift_detected"] == true)
        .map(|t| t["feature"].as_str().unwrap().to_string())
        .collect();
    assert!(
        drifted.contains(&"age".to_string()) && drifted.contains(&"workclass".to_string()),
        "{drifted:?}"
    );

    let same = mlrig(["drift", "--reference", ADULT, "--current", ADULT]);
    assert_status(&same, 0);
}

#[test]
fn drift_and_validate_fail_on_a_file_with_nothing_to_compare() {
    let dir = tempfile::tempdir().unwrap();
    let header_only = dir.path().join("header_only.csv");
    let header = std::fs::read_to_string(ADULT).unwrap();
    std::fs::write(
        &header_only,
        format!("{}\n", header.lines().next().unwrap()),
    )
    .unwrap();
    let header_only = header_only.to_str().unwrap();

    // Every column is empty (typed as text): not "no drift" but a failed check.
    let drift = mlrig([
        "drift",
        "--reference",
        ADULT,
        "--current",
        header_only,
        "--format",
        "json",
    ]);
    assert_status(&drift, 1);
    let report = json_stdout(&drift);
    assert_eq!(report["drift_detected"], false);
    assert_eq!(report["incomparable_features"], 15);
    // Empty columns are typed as text; the reason is the missing values, not
    // a change of kind.
    let reasons = strings_at(&report["untested"], "reason");
    assert_eq!(reasons, ["no_values_in_current"; 15]);
    let text = mlrig(["drift", "--reference", ADULT, "--current", header_only]);
    assert_status(&text, 1);
    assert!(
        stdout(&text).contains("15 features could not be compared"),
        "{}",
        stdout(&text)
    );

    // No examples is one anomaly (tfmd dataMissing), in text and JSON alike.
    let schema = dir.path().join("schema.pbtxt");
    let inferred = mlrig(["infer-schema", ADULT, "--out", schema.to_str().unwrap()]);
    assert_status(&inferred, 0);
    let validate = mlrig([
        "validate",
        header_only,
        "--schema",
        schema.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_status(&validate, 1);
    assert_eq!(json_stdout(&validate)["anomaly_count"], 1);
    let validate = mlrig([
        "validate",
        header_only,
        "--schema",
        schema.to_str().unwrap(),
    ]);
    assert!(
        stdout(&validate).ends_with(": 1 anomaly\n(dataset): no examples\n"),
        "{}",
        stdout(&validate)
    );
}

#[test]
fn data_verbs_read_json_lines_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("rows.jsonl");
    std::fs::write(
        &jsonl,
        "{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \"y\"}\n{\"a\": oops\n",
    )
    .unwrap();
    let ingest = mlrig(["ingest", jsonl.to_str().unwrap(), "--format", "json"]);
    let summary = &success_json(&ingest)["summary"];
    assert_eq!(
        (
            summary["rows_accepted"].as_u64(),
            summary["rows_quarantined"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let stats = mlrig(["stats", jsonl.to_str().unwrap(), "--format", "json"]);
    let stats = success_json(&stats);
    let names: Vec<&str> = stats["statistics"]["datasets"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"]["step"][0].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn drift_fails_when_the_files_share_no_columns() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "colour,size\nred,1\nblue,2\nred,3\n").unwrap();
    let other = other.to_str().unwrap();
    let json = mlrig([
        "drift",
        "--reference",
        ADULT,
        "--current",
        other,
        "--format",
        "json",
    ]);
    assert_status(&json, 1);
    let report = json_stdout(&json);
    assert_eq!(report["drift_detected"], false);
    assert_eq!(report["tests"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["incomparable_features"], 15 + 2);
    let untested = report["untested"].as_array().unwrap();
    let only_current: Vec<(&str, &str)> = untested
        .iter()
        .filter(|u| u["reason"] == "only_in_current")
        .map(|u| {
            (
                u["feature"].as_str().unwrap(),
                u["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        only_current,
        [
            ("colour", "only in the current data"),
            ("size", "only in the current data")
        ]
    );
    let reasons = strings_at(&report["untested"], "reason");
    assert_eq!(
        reasons
            .iter()
            .filter(|r| **r == "only_in_reference")
            .count(),
        15
    );

    let text = mlrig(["drift", "--reference", ADULT, "--current", other]);
    assert_status(&text, 1);
    let text = stdout(&text);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with(": 0 of 0 tests detect drift; 17 features could not be compared"),
        "{text}"
    );
    assert!(text.contains("  ! colour "), "{text}");
}

#[test]
fn an_empty_reference_column_cannot_drift_and_does_not_fail_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.csv");
    let current = dir.path().join("current.csv");
    let rows = |second: &dyn Fn(usize) -> String| {
        let mut csv = String::from("x,y\n");
        for i in 0..50 {
            csv.push_str(&format!("{},{}\n", i % 10, second(i)));
        }
        csv
    };
    std::fs::write(&reference, rows(&|_| String::new())).unwrap();
    std::fs::write(&current, rows(&|i| (i % 7).to_string())).unwrap();
    let output = mlrig([
        "drift",
        "--reference",
        reference.to_str().unwrap(),
        "--current",
        current.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report = json_stdout(&output);
    assert_eq!(report["incomparable_features"], 0, "{report}");
    assert_eq!(strings_at(&report["untested"], "feature"), ["y"]);
    assert_eq!(
        strings_at(&report["untested"], "reason"),
        ["no_values_in_reference"]
    );
    assert_status(&output, 0);
}

#[test]
fn text_output_clips_long_values_and_json_keeps_them() {
    const LONG: usize = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let long = "é".repeat(LONG);
    let data = dir.path().join("long.csv");
    std::fs::write(&data, format!("colour,n\n{long},1\n{long},2\nred,3\n")).unwrap();
    let data = data.to_str().unwrap();
    let longest_line = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap();

    let text = mlrig(["stats", data]);
    assert_status(&text, 0);
    let text = stdout(&text);
    assert!(
        longest_line(&text) < 200,
        "{}",
        &text[..text.len().min(2_000)]
    );
    assert!(text.contains("top: éééé"), "{text}");
    assert!(text.contains('…'), "{text}");
    let out = dir.path().join("stats.json");
    let json = mlrig([
        "stats",
        data,
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_status(&json, 0);
    assert!(stdout(&json).contains(&long));
    assert!(std::fs::read_to_string(&out).unwrap().contains(&long));

    // An unexpected string value in a validation anomaly.
    let train = dir.path().join("train.csv");
    let mut csv = String::from("colour,n\n");
    for i in 0..40 {
        csv.push_str(&format!("{},{i}\n", ["red", "blue"][i % 2]));
    }
    std::fs::write(&train, csv).unwrap();
    let schema = dir.path().join("schema.pbtxt");
    let schema = schema.to_str().unwrap();
    assert_status(
        &mlrig(["infer-schema", train.to_str().unwrap(), "--out", schema]),
        0,
    );
    for rows in [&[][..], &["--rows"][..]] {
        let text = mlrig([&["validate", data, "--schema", schema][..], rows].concat());
        assert_status(&text, 1);
        let text = stdout(&text);
        assert!(
            longest_line(&text) < 600,
            "{}",
            &text[..text.len().min(2_000)]
        );
        assert!(
            text.contains(
                "colour: ENUM_TYPE_UNEXPECTED_STRING_VALUES: expected values from domain"
            ),
            "{text}"
        );
        assert!(text.contains("éééé…"), "{text}");
    }
    let json = mlrig(["validate", data, "--schema", schema, "--format", "json"]);
    assert_status(&json, 1);
    assert!(stdout(&json).contains(&long));
}
