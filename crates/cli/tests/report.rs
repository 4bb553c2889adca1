//! `mlrig report` end to end: each input kind from the commands that
//! produce it, several in one page, JSON output, and errors that name the
//! file and what was expected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ADULT, ADULT_SHIFTED, assert_one_line_error, assert_status, mlrig, success_json};

#[test]
fn every_input_kind_in_one_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    assert_status(&mlrig(["stats", ADULT, "--out", &path("stats.json")]), 0);
    assert_status(
        &mlrig(["infer-schema", ADULT, "--out", &path("schema.json")]),
        0,
    );
    let drift = mlrig([
        "--format",
        "json",
        "drift",
        "--reference",
        ADULT,
        "--current",
        ADULT_SHIFTED,
    ]);
    assert_status(&drift, 1);
    std::fs::write(path("drift.json"), &drift.stdout).unwrap();
    let validate = mlrig([
        "--format",
        "json",
        "validate",
        ADULT_SHIFTED,
        "--schema",
        &path("schema.json"),
    ]);
    assert_status(&validate, 1);
    std::fs::write(path("anomalies.json"), &validate.stdout).unwrap();
    let base = path("models");
    let trained = mlrig([
        "train", ADULT, "--target", "income", "--name", "adult", "--out", &base, "--slice",
        "gender",
    ]);
    assert!(matches!(trained.status.code(), Some(0 | 1)));
    let out = path("all.html");
    let report = success_json(&mlrig([
        "--format",
        "json",
        "report",
        "--stats",
        &path("stats.json"),
        "--compare-data",
        ADULT_SHIFTED,
        "--drift",
        &path("drift.json"),
        "--anomalies",
        &path("anomalies.json"),
        "--model",
        &format!("{base}/adult/1"),
        "--title",
        "<all>",
        "--out",
        &out,
    ]));
    assert_eq!(
        report["sections"],
        serde_json::json!(["statistics", "drift", "anomalies", "evaluation"])
    );
    assert_eq!(report["inputs"].as_array().unwrap().len(), 5);
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(report["bytes"].as_u64(), Some(html.len() as u64));
    assert!(html.contains("<title>&lt;all&gt;</title>") && html.contains("Statistics: comparison"));
    assert!(html.contains("ROC curve") && html.contains("workclass"));
}

#[test]
fn errors_name_the_file_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let out = out.to_str().unwrap();
    let wrong = mlrig(["report", "--drift", ADULT, "--out", out]);
    assert_status(&wrong, 2);
    let line = assert_one_line_error(&wrong);
    assert!(
        line.contains("adult_sample.csv")
            && line.contains("expected the JSON output of `mlrig drift"),
        "{line}"
    );
    let nothing = mlrig(["report", "--out", out]);
    assert_status(&nothing, 2);
    assert!(assert_one_line_error(&nothing).contains("nothing to report"));
    assert!(!dir.path().join("r.html").exists());
}

#[test]
fn help_has_an_example() {
    let output = mlrig(["report", "--help"]);
    assert_status(&output, 0);
    let help = common::stdout(&output);
    for needle in [
        "Usage: mlrig",
        "Example",
        "mlrig report",
        "--format",
        "--compare-data",
        "--model",
    ] {
        assert!(help.contains(needle), "{needle}:\n{help}");
    }
    assert!(common::stdout(&mlrig(["--help"])).contains("report"));
}
