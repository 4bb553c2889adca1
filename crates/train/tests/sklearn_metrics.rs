//! `mlrig_train::metrics` against values computed by scikit-learn 1.9.1
//! (`tests/fixtures/make_sklearn_metrics.py` writes the fixture).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mlrig_train::metrics::{accuracy, log_loss, mae, r2, rmse, roc_auc};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    sklearn_version: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    y_true: Vec<bool>,
    scores: Vec<f64>,
    probabilities: Vec<f64>,
    y_reg: Vec<f64>,
    y_hat: Vec<f64>,
    accuracy: f64,
    roc_auc: f64,
    log_loss: f64,
    r2: f64,
    rmse: f64,
    mae: f64,
}

fn close(name: &str, case: usize, ours: f64, sklearn: f64) {
    assert!(
        (ours - sklearn).abs() <= 1e-12,
        "case {case}: {name} = {ours}, scikit-learn says {sklearn} (diff {:e})",
        (ours - sklearn).abs()
    );
}

#[test]
fn metrics_agree_with_scikit_learn() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn_metrics.json"
    ))
    .unwrap();
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    assert_eq!(fixture.sklearn_version, "1.9.1");
    assert!(fixture.cases.len() >= 10);
    let mut saturated = 0;
    let mut tied = 0;
    for (i, c) in fixture.cases.iter().enumerate() {
        let predicted: Vec<bool> = c.probabilities.iter().map(|&p| p > 0.5).collect();
        close(
            "accuracy",
            i,
            accuracy(&c.y_true, &predicted).unwrap(),
            c.accuracy,
        );
        close(
            "roc_auc",
            i,
            roc_auc(&c.y_true, &c.scores).unwrap(),
            c.roc_auc,
        );
        close(
            "log_loss",
            i,
            log_loss(&c.y_true, &c.probabilities).unwrap(),
            c.log_loss,
        );
        close("r2", i, r2(&c.y_reg, &c.y_hat).unwrap(), c.r2);
        close("rmse", i, rmse(&c.y_reg, &c.y_hat).unwrap(), c.rmse);
        close("mae", i, mae(&c.y_reg, &c.y_hat).unwrap(), c.mae);
        saturated += usize::from(c.probabilities.iter().any(|&p| p == 0.0 || p == 1.0));
        let mut s = c.scores.clone();
        s.sort_by(f64::total_cmp);
        tied += usize::from(s.windows(2).any(|w| w[0] == w[1]));
    }
    // The fixture exercises clipping and tied scores.
    assert!(
        saturated > 0 && tied > 0,
        "saturated {saturated}, tied {tied}"
    );
}
