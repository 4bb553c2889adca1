//! `mlrig_train::metrics` against values computed by scikit-learn 1.9.1
//! (`tests/fixtures/make_sklearn_metrics.py` writes the fixture).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mlrig_train::metrics::{
    Average, accuracy, average_precision, balanced_accuracy, brier_score, brier_score_multiclass,
    calibration_curve, confusion_matrix, expected_calibration_error, f1, f1_multiclass, log_loss,
    log_loss_multiclass, mae, mape, precision, precision_multiclass, r2, recall, recall_multiclass,
    rmse, roc_auc, roc_auc_ovr,
};
use mlrig_train::ndarray::Array2;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    sklearn_version: String,
    cases: Vec<Case>,
    multiclass_cases: Vec<MulticlassCase>,
}

/// A binary classification problem and a regression problem.
#[derive(Deserialize)]
struct Case {
    y_true: Vec<bool>,
    scores: Vec<f64>,
    probabilities: Vec<f64>,
    y_reg: Vec<f64>,
    y_hat: Vec<f64>,
    accuracy: f64,
    balanced_accuracy: f64,
    precision: f64,
    recall: f64,
    f1: f64,
    roc_auc: f64,
    average_precision: f64,
    log_loss: f64,
    brier_score: f64,
    n_bins: usize,
    calibration_prob_true: Vec<f64>,
    calibration_prob_pred: Vec<f64>,
    calibration_counts: Vec<u64>,
    expected_calibration_error: f64,
    r2: f64,
    rmse: f64,
    mae: f64,
    mape: f64,
}

#[derive(Deserialize)]
struct MulticlassCase {
    name: String,
    n_classes: usize,
    y_true: Vec<usize>,
    y_pred: Vec<usize>,
    probabilities: Vec<Vec<f64>>,
    confusion_matrix: Vec<Vec<u64>>,
    accuracy: f64,
    balanced_accuracy: f64,
    log_loss: f64,
    brier_score: f64,
    precision_macro: f64,
    precision_weighted: f64,
    recall_macro: f64,
    recall_weighted: f64,
    f1_macro: f64,
    f1_weighted: f64,
    /// `None` where scikit-learn raises: a class missing from `y_true`, or k = 2.
    roc_auc_ovr_macro: Option<f64>,
    roc_auc_ovr_weighted: Option<f64>,
}

/// Agreement to 1e-9, relative for values above 1 (MAPE with zero targets
/// reaches 1e15).
fn close(name: &str, case: &str, ours: f64, sklearn: f64) {
    let tolerance = 1e-9 * sklearn.abs().max(1.0);
    assert!(
        (ours - sklearn).abs() <= tolerance,
        "case {case}: {name} = {ours}, scikit-learn says {sklearn} (diff {:e})",
        (ours - sklearn).abs()
    );
}

fn close_all(name: &str, case: &str, ours: &[f64], sklearn: &[f64]) {
    assert_eq!(ours.len(), sklearn.len(), "case {case}: {name} lengths");
    for (o, s) in ours.iter().zip(sklearn) {
        close(name, case, *o, *s);
    }
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn_metrics.json"
    ))
    .unwrap();
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    assert_eq!(fixture.sklearn_version, "1.9.1");
    fixture
}

#[test]
fn binary_and_regression_metrics_agree_with_scikit_learn() {
    let fixture = fixture();
    assert!(fixture.cases.len() >= 10);
    let (mut saturated, mut tied, mut on_edges, mut zero_targets, mut no_predicted) =
        (0, 0, 0, 0, 0);
    for (i, c) in fixture.cases.iter().enumerate() {
        let case = &i.to_string();
        let predicted: Vec<bool> = c.probabilities.iter().map(|&p| p > 0.5).collect();
        let (y, p) = (&c.y_true, &c.probabilities);
        close(
            "accuracy",
            case,
            accuracy(y, &predicted).unwrap(),
            c.accuracy,
        );
        close(
            "balanced_accuracy",
            case,
            balanced_accuracy(y, &predicted).unwrap(),
            c.balanced_accuracy,
        );
        close(
            "precision",
            case,
            precision(y, &predicted).unwrap(),
            c.precision,
        );
        close("recall", case, recall(y, &predicted).unwrap(), c.recall);
        close("f1", case, f1(y, &predicted).unwrap(), c.f1);
        close("roc_auc", case, roc_auc(y, &c.scores).unwrap(), c.roc_auc);
        close(
            "average_precision",
            case,
            average_precision(y, &c.scores).unwrap(),
            c.average_precision,
        );
        close("log_loss", case, log_loss(y, p).unwrap(), c.log_loss);
        close(
            "brier_score",
            case,
            brier_score(y, p).unwrap(),
            c.brier_score,
        );

        let bins = calibration_curve(y, p, c.n_bins).unwrap();
        let prob_true: Vec<f64> = bins.iter().map(|b| b.fraction_of_positives).collect();
        let prob_pred: Vec<f64> = bins.iter().map(|b| b.mean_predicted_probability).collect();
        let counts: Vec<u64> = bins.iter().map(|b| b.count).collect();
        close_all("prob_true", case, &prob_true, &c.calibration_prob_true);
        close_all("prob_pred", case, &prob_pred, &c.calibration_prob_pred);
        assert_eq!(counts, c.calibration_counts, "case {case}: bin counts");
        close(
            "expected_calibration_error",
            case,
            expected_calibration_error(y, p, c.n_bins).unwrap(),
            c.expected_calibration_error,
        );

        close("r2", case, r2(&c.y_reg, &c.y_hat).unwrap(), c.r2);
        close("rmse", case, rmse(&c.y_reg, &c.y_hat).unwrap(), c.rmse);
        close("mae", case, mae(&c.y_reg, &c.y_hat).unwrap(), c.mae);
        close("mape", case, mape(&c.y_reg, &c.y_hat).unwrap(), c.mape);

        saturated += usize::from(p.iter().any(|&v| v == 0.0 || v == 1.0));
        let mut s = c.scores.clone();
        s.sort_by(f64::total_cmp);
        tied += usize::from(s.windows(2).any(|w| w[0] == w[1]));
        on_edges += usize::from(p.contains(&0.3) && p.contains(&0.6));
        zero_targets += usize::from(c.y_reg.contains(&0.0));
        no_predicted += usize::from(!predicted.contains(&true));
    }
    // The fixture exercises clipping, tied scores, bin edges, MAPE's epsilon
    // and precision's zero division.
    for (what, count) in [
        ("saturated", saturated),
        ("tied", tied),
        ("on_edges", on_edges),
        ("zero_targets", zero_targets),
        ("no_predicted", no_predicted),
    ] {
        assert!(count > 0, "no case is {what}");
    }
}

#[test]
fn multiclass_metrics_agree_with_scikit_learn() {
    let fixture = fixture();
    assert!(fixture.multiclass_cases.len() >= 6);
    let mut ovr_errors = 0;
    for c in &fixture.multiclass_cases {
        let (case, k, y, y_pred) = (c.name.as_str(), c.n_classes, &c.y_true, &c.y_pred);
        let cells: Vec<f64> = c.probabilities.iter().flatten().copied().collect();
        let probabilities = Array2::from_shape_vec((y.len(), k), cells).unwrap();
        let p = probabilities.view();

        let matrix = confusion_matrix(y, y_pred, k).unwrap();
        let expected: Vec<u64> = c.confusion_matrix.iter().flatten().copied().collect();
        assert_eq!(
            matrix.iter().copied().collect::<Vec<_>>(),
            expected,
            "case {case}"
        );
        close("accuracy", case, accuracy(y, y_pred).unwrap(), c.accuracy);
        close(
            "balanced_accuracy",
            case,
            balanced_accuracy(y, y_pred).unwrap(),
            c.balanced_accuracy,
        );
        for (average, name, sklearn) in [
            (Average::Macro, "precision macro", c.precision_macro),
            (
                Average::Weighted,
                "precision weighted",
                c.precision_weighted,
            ),
        ] {
            close(
                name,
                case,
                precision_multiclass(y, y_pred, k, average).unwrap(),
                sklearn,
            );
        }
        for (average, name, sklearn) in [
            (Average::Macro, "recall macro", c.recall_macro),
            (Average::Weighted, "recall weighted", c.recall_weighted),
        ] {
            close(
                name,
                case,
                recall_multiclass(y, y_pred, k, average).unwrap(),
                sklearn,
            );
        }
        for (average, name, sklearn) in [
            (Average::Macro, "f1 macro", c.f1_macro),
            (Average::Weighted, "f1 weighted", c.f1_weighted),
        ] {
            close(
                name,
                case,
                f1_multiclass(y, y_pred, k, average).unwrap(),
                sklearn,
            );
        }
        close(
            "log_loss",
            case,
            log_loss_multiclass(y, p).unwrap(),
            c.log_loss,
        );
        close(
            "brier_score",
            case,
            brier_score_multiclass(y, p).unwrap(),
            c.brier_score,
        );
        for (average, sklearn) in [
            (Average::Macro, c.roc_auc_ovr_macro),
            (Average::Weighted, c.roc_auc_ovr_weighted),
        ] {
            match (roc_auc_ovr(y, p, average), sklearn) {
                (Ok(ours), Some(sklearn)) => close("roc_auc_ovr", case, ours, sklearn),
                // Two columns: defined here, refused by scikit-learn.
                (Ok(_), None) => assert_eq!(k, 2, "case {case}"),
                (Err(e), None) => {
                    assert!(e.to_string().contains("does not occur in y_true"), "{e}");
                    ovr_errors += 1;
                }
                (Err(e), Some(_)) => panic!("case {case}: roc_auc_ovr failed: {e}"),
            }
        }
    }
    assert!(ovr_errors > 0, "no case has a class missing from y_true");
}
