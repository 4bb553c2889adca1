//! `mlrig alerts` on a real trained bundle. `promtool check rules` runs on
//! the written files when promtool is on PATH (scripts/prometheus_check.sh,
//! run by scripts/ci.sh, provides it and also runs a real Prometheus).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_one_line_error, assert_status, json_stdout, mlrig, stdout, train_adult_model};

/// `promtool check rules FILE` when promtool is installed; says SKIPPED otherwise.
fn promtool_check(file: &Path) {
    match Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(file)
        .output()
    {
        Ok(output) => assert!(
            output.status.success(),
            "promtool check rules {}: {}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => eprintln!(
            "SKIPPED: promtool check rules (promtool not on PATH; scripts/prometheus_check.sh runs it)"
        ),
    }
}

#[test]
fn alerts_writes_rules_for_every_input_column_with_the_limits_given() {
    let dir = tempfile::tempdir().unwrap();
    train_adult_model(dir.path(), &[]);
    let rules = dir.path().join("rules.yml");
    let output = mlrig([
        "alerts",
        "--model",
        dir.path().join("adult").to_str().unwrap(),
        "--out",
        rules.to_str().unwrap(),
        "--max-error-rate",
        "0.02",
        "--max-p99-latency",
        "250ms",
        "--max-model-age",
        "7d",
        "--for",
        "10m",
        "--format",
        "json",
    ]);
    assert_status(&output, 0);
    let report = json_stdout(&output);
    assert_eq!(report["model"], "adult");
    assert_eq!(report["version"], 1);
    let yaml = std::fs::read_to_string(&rules).unwrap();
    assert_eq!(
        report["rules"].as_u64().unwrap() as usize,
        yaml.matches("- alert: ").count()
    );
    // Categorical input: L∞ at the monitor's default; numeric: the four tests.
    assert!(yaml.contains(
        r#"expr: "mlrig_feature_skew{model=\"adult\",feature=\"workclass\",test=\"linf\"} > 0.1""#
    ));
    assert!(yaml.contains(
        r#"mlrig_feature_drift{model=\"adult\",feature=\"age\",test=\"jsd\"} > 0.1 or mlrig_feature_drift{model=\"adult\",feature=\"age\",test=\"psi\"} > 0.1""#
    ));
    // KS and Wasserstein do not set the server's over_threshold by default: no rule.
    assert!(!yaml.contains(r#"test=\"ks\""#) && !yaml.contains(r#"test=\"wasserstein\""#));
    // The target is not a served input; a classifier's predicted class drifts.
    assert!(!yaml.contains(r#"feature=\"income\""#));
    assert!(yaml.contains(
        r#"mlrig_prediction_drift{model=\"adult\",feature=\"predicted_class\",test=\"linf\"} > 0.1"#
    ));
    assert!(yaml.contains(
        r#"mlrig_prediction_drift{model=\"adult\",feature=\"score\",test=\"jsd\"} > 0.1"#
    ));
    // The limits given.
    assert!(yaml.contains(r#"[5m])) > 0.02""#));
    assert!(yaml.contains(r#"[5m]))) > 0.25""#));
    assert!(yaml.contains(r#"mlrig_model_age_seconds{model=\"adult\"} > 604800"#));
    assert!(yaml.contains("for: 10m"));
    // No time column at training: no data-age rule.
    assert!(!yaml.contains("MlrigDataTooOld"));
    assert!(yaml.contains(
        r#"increase(mlrig_nonfinite_values_total{model=\"adult\",side=\"output\"}[5m]) > 0"#
    ));
    promtool_check(&rules);

    // Without --out: the rules on stdout, YAML (text) or the same document in JSON.
    let version = dir.path().join("adult").join("1");
    let printed = mlrig(["alerts", "--model", version.to_str().unwrap()]);
    assert_status(&printed, 0);
    assert!(stdout(&printed).contains("- alert: \"MlrigFeatureSkew\""));
    let json = mlrig([
        "alerts",
        "--model",
        version.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_status(&json, 0);
    let document = json_stdout(&json);
    let exprs: Vec<&str> = document["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["expr"].as_str().unwrap())
        .collect();
    assert!(
        exprs.contains(
            &r#"mlrig_feature_skew{model="adult",feature="workclass",test="linf"} > 0.1"#
        )
    );
    let json_file = dir.path().join("rules.json");
    std::fs::write(&json_file, stdout(&json)).unwrap();
    promtool_check(&json_file);
}

#[test]
fn alerts_refuses_bad_limits_and_missing_models_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = mlrig([
        "alerts",
        "--model",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert_status(&missing, 2);
    let error = assert_one_line_error(&missing);
    assert!(error.contains("no model version found"), "{error}");

    train_adult_model(dir.path(), &[]);
    let model = dir.path().join("adult");
    for (flag, value, expected) in [
        ("--max-error-rate", "1.5", "max_error_rate"),
        ("--max-p99-latency", "0s", "max_p99_latency"),
    ] {
        let output = mlrig(["alerts", "--model", model.to_str().unwrap(), flag, value]);
        assert_status(&output, 2);
        let error = assert_one_line_error(&output);
        assert!(error.contains(expected), "{error}");
    }
    let help = mlrig(["alerts", "--help"]);
    assert_status(&help, 0);
    assert!(stdout(&help).contains("promtool check rules"));
}

#[test]
fn alerts_takes_the_thresholds_of_the_servers_config() {
    let dir = tempfile::tempdir().unwrap();
    train_adult_model(dir.path(), &[]);
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        "max_body_bytes = 1000000\n[monitoring]\nwindow = \"1m\"\n[monitoring.thresholds]\nlinf = 0.2\nks = 0.01\nalerting_tests = [\"linf\", \"ks\"]\n",
    )
    .unwrap();
    let model = dir.path().join("adult");
    let alerts = || {
        mlrig([
            "alerts",
            "--model",
            model.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
    };
    let output = alerts();
    assert_status(&output, 0);
    let yaml = stdout(&output);
    assert!(yaml.contains(
        r#"expr: "mlrig_feature_skew{model=\"adult\",feature=\"workclass\",test=\"linf\"} > 0.2""#
    ));
    assert!(yaml.contains(
        r#"expr: "mlrig_feature_skew_p_value{model=\"adult\",feature=\"age\",test=\"ks\"} < 0.01""#
    ));
    assert!(
        !yaml.contains(r#"test=\"jsd\""#),
        "jsd is not an alerting test here"
    );

    // A typo in the section is refused as the server refuses it.
    std::fs::write(&config, "[monitoring]\nwindw = \"1m\"\n").unwrap();
    let output = alerts();
    assert_status(&output, 2);
    let error = assert_one_line_error(&output);
    assert!(error.contains("windw"), "{error}");

    // So is a threshold that could never be crossed.
    for (bad, says) in [
        ("linf = nan", "expected f64"), // NaN reaches serde as null
        ("ks = 2.0", "p-value threshold"),
        ("psi = -1", "threshold"),
    ] {
        std::fs::write(&config, format!("[monitoring.thresholds]\n{bad}\n")).unwrap();
        let output = alerts();
        assert_status(&output, 2);
        let error = assert_one_line_error(&output);
        assert!(error.contains(says), "{bad}: {error}");
    }
}
