#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `alert_rules` on trained bundles: what the bundle knows decides the rules
//! (data age with a time column, prediction drift by task, the served columns).

use std::path::{Path, PathBuf};
use std::time::Duration;

use mlrig_pipeline::{AlertRuleGroup, AlertRulesParams, PipelineError, TrainingJob, alert_rules};

/// A small regression data set: `x`, a date column `when`, target `y`.
fn dated_csv(dir: &Path) -> PathBuf {
    let mut text = String::from("x,when,y\n");
    for i in 0..60 {
        let x = i as f64 / 10.0;
        let y = 2.0 * x + 1.0 + (i % 3) as f64 * 0.1;
        text.push_str(&format!("{x},2024-03-{:02},{y}\n", 1 + i % 28));
    }
    let path = dir.join("dated.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn alerts(group: &AlertRuleGroup, name: &str) -> Vec<String> {
    group
        .rules
        .iter()
        .filter(|r| r.alert == name)
        .map(|r| r.expr.clone())
        .collect()
}

#[test]
fn a_time_column_adds_the_data_age_rule_and_a_regression_has_no_predicted_class() {
    let dir = tempfile::tempdir().unwrap();
    let data = dated_csv(dir.path());
    let dated = TrainingJob::new(&data, "y")
        .with_name("dated")
        .with_output_dir(dir.path())
        .with_time_column("when")
        .run()
        .unwrap();
    let params = AlertRulesParams::default().with_max_data_age(Duration::from_secs(7 * 86_400));
    let group = alert_rules(&dated.bundle_dir, &params).unwrap();
    assert_eq!((group.model.as_str(), group.version), ("dated", 1));
    assert_eq!(
        alerts(&group, "MlrigDataTooOld"),
        [r#"mlrig_data_age_seconds{model="dated"} > 604800"#]
    );
    let prediction = alerts(&group, "MlrigPredictionDrift");
    assert_eq!(prediction.len(), 1, "{prediction:?}");
    assert!(prediction[0].contains(r#"feature="score",test="jsd"} > 0.1"#));
    assert!(
        alerts(&group, "MlrigFeatureSkew")
            .iter()
            .any(|e| e.contains(r#"feature="x",test="psi"} > 0.1"#))
    );
    assert!(
        !group.to_yaml().contains(r#"feature=\"y\""#),
        "the target is not served"
    );

    // The same data without the time column: the bundle cannot know its data's age.
    let undated = TrainingJob::new(&data, "y")
        .with_name("undated")
        .with_output_dir(dir.path())
        .run()
        .unwrap();
    let group = alert_rules(&undated.bundle_dir, &params).unwrap();
    assert!(alerts(&group, "MlrigDataTooOld").is_empty());
    // A model directory resolves to the version a server would serve.
    let by_model_dir = alert_rules(&dir.path().join("undated"), &params).unwrap();
    assert_eq!(by_model_dir, group);
}

#[test]
fn a_directory_without_versions_is_the_servers_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = alert_rules(dir.path(), &AlertRulesParams::default()).unwrap_err();
    assert!(matches!(error, PipelineError::NoModel { .. }), "{error}");
}
