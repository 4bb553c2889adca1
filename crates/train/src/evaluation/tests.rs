use std::collections::BTreeMap;

use mlrig_core::ndarray::{Array2, array};
use mlrig_core::{Artifact, Predictions, Task};

use super::*;
use crate::TrainError;

fn binary_task() -> Task {
    Task::Classification {
        classes: vec!["no".into(), "yes".into()],
    }
}

fn binary_predictions(positive: &[f64]) -> Predictions {
    Predictions::Classification {
        classes: vec!["no".into(), "yes".into()],
        probabilities: Array2::from_shape_fn((positive.len(), 2), |(i, c)| {
            if c == 1 {
                positive[i]
            } else {
                1.0 - positive[i]
            }
        }),
    }
}

fn close(found: f64, expected: f64, what: &str) {
    assert!(
        (found - expected).abs() <= 1e-12,
        "{what}: {found} vs {expected}"
    );
}

#[test]
fn unknown_classes_match_scikit_learn_on_string_labels() {
    // scikit-learn 1.9.1 with string labels: the label metrics on every row,
    // the probability metrics on the rows of known classes (`labels=classes`).
    let predictions = Predictions::Classification {
        classes: vec!["a".into(), "b".into(), "c".into()],
        probabilities: array![
            [0.7, 0.2, 0.1],
            [0.1, 0.6, 0.3],
            [0.2, 0.2, 0.6],
            [0.5, 0.3, 0.2],
            [0.3, 0.4, 0.3],
            [0.1, 0.1, 0.8],
            [0.4, 0.4, 0.2],
            [0.2, 0.5, 0.3]
        ],
    };
    let truth = Truth::from_labels(["a", "b", "c", "d", "b", "e", "a", "c"]);
    let m = task_metrics(&predictions, &truth).unwrap();
    let expected = [
        ("accuracy", 0.625),
        ("balanced_accuracy", 0.5),
        ("precision_macro", 0.366_666_666_666_666_64),
        ("recall_macro", 0.5),
        ("f1_macro", 0.420_000_000_000_000_04),
        ("f1_weighted", 0.525),
        ("roc_auc_ovr", 0.895_833_333_333_333_4),
        ("roc_auc_ovr_weighted", 0.895_833_333_333_333_4),
        ("log_loss", 0.735_813_409_924_160_1),
        ("brier", 0.420_000_000_000_000_1),
        ("unknown_class_rows", 2.0),
    ];
    assert_eq!(m.values.len(), expected.len(), "{:?}", m.values);
    for (name, value) in expected {
        close(m.values[name], value, name);
    }
    assert!(m.omitted.is_empty(), "{:?}", m.omitted);

    let predictions = binary_predictions(&[0.2, 0.7, 0.6, 0.4, 0.9, 0.55, 0.3]);
    let truth = Truth::from_labels(["no", "yes", "maybe", "yes", "no", "unsure", "no"]);
    let m = task_metrics(&predictions, &truth).unwrap();
    let expected = [
        ("accuracy", 0.428_571_428_571_428_55),
        ("balanced_accuracy", 0.291_666_666_666_666_63),
        ("precision", 0.25),
        ("recall", 0.5),
        ("f1", 0.333_333_333_333_333_3),
        ("roc_auc", 0.666_666_666_666_666_7),
        ("average_precision", 0.583_333_333_333_333_3),
        ("log_loss", 0.831_073_852_811_975_1),
        ("brier", 0.278),
        ("unknown_class_rows", 2.0),
    ];
    for (name, value) in expected {
        close(m.values[name], value, name);
    }
    assert!(m.values.contains_key("expected_calibration_error"));
}

#[test]
fn classes_are_matched_by_name_not_position() {
    let predictions = binary_predictions(&[0.9, 0.2, 0.8]);
    let sorted = Truth::from_labels(["yes", "no", "yes"]);
    // The same truth with its classes listed in the other order.
    let reordered = Truth::Classes {
        classes: vec!["yes".into(), "no".into()],
        labels: vec![0, 1, 0],
    };
    let a = task_metrics(&predictions, &sorted).unwrap();
    assert_eq!(a, task_metrics(&predictions, &reordered).unwrap());
    assert_eq!(a.values["accuracy"], 1.0);
}

#[test]
fn every_task_computes_exactly_its_metric_names() {
    let cases = [
        (
            binary_task(),
            binary_predictions(&[0.1, 0.9, 0.4, 0.6]),
            Truth::from_labels(["no", "yes", "yes", "no"]),
        ),
        (
            Task::Classification {
                classes: vec!["a".into(), "b".into(), "c".into()],
            },
            Predictions::Classification {
                classes: vec!["a".into(), "b".into(), "c".into()],
                probabilities: array![[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]],
            },
            Truth::from_labels(["a", "b", "c"]),
        ),
        (
            Task::Regression,
            Predictions::Regression {
                values: array![1.0, 2.5, 2.0],
            },
            Truth::Values(vec![1.0, 2.0, 3.0]),
        ),
    ];
    for (task, predictions, truth) in cases {
        let m = task_metrics(&predictions, &truth).unwrap();
        let mut names: Vec<&str> = metric_names(&task).to_vec();
        names.sort_unstable();
        assert_eq!(m.values.keys().collect::<Vec<_>>(), names, "{task:?}");
        assert!(m.omitted.is_empty());
        for name in names {
            assert!(higher_is_better(name).is_some(), "{name}");
        }
        assert!(m.values.contains_key(headline_metric(&task).unwrap()));
    }
    assert_eq!(CLASSIFIER_METRICS, metric_names(&binary_task()));
    assert_eq!(REGRESSOR_METRICS, metric_names(&Task::Regression));
}

#[test]
fn undefined_metrics_are_omitted_with_the_reason() {
    let m = task_metrics(
        &binary_predictions(&[0.2, 0.7]),
        &Truth::from_labels(["yes", "yes"]),
    )
    .unwrap();
    assert!(
        m.omitted["roc_auc"].contains("roc_auc is undefined"),
        "{m:?}"
    );
    assert_eq!(m.values["recall"], 0.5);
    // No row of a known class: the probability metrics have no rows.
    let m = task_metrics(
        &binary_predictions(&[0.2, 0.7]),
        &Truth::from_labels(["x", "z"]),
    )
    .unwrap();
    assert_eq!(m.values["accuracy"], 0.0);
    assert_eq!(m.values["unknown_class_rows"], 2.0);
    assert_eq!(
        m.omitted["log_loss"],
        "no row has a true class the model knows"
    );
    // A class of the model absent from the truth: one-vs-rest AUC is undefined.
    let predictions = Predictions::Classification {
        classes: vec!["a".into(), "b".into(), "c".into()],
        probabilities: array![[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]],
    };
    let m = task_metrics(&predictions, &Truth::from_labels(["a", "b"])).unwrap();
    assert!(m.omitted.contains_key("roc_auc_ovr") && m.values.contains_key("log_loss"));
}

#[test]
fn bad_inputs_are_errors() {
    let p = binary_predictions(&[0.2, 0.7]);
    let e = task_metrics(&p, &Truth::from_labels(["no"])).unwrap_err();
    assert!(matches!(e, TrainError::LengthMismatch { .. }), "{e}");
    let e = task_metrics(&p, &Truth::Values(vec![1.0, 2.0])).unwrap_err();
    assert!(e.to_string().contains("real values given"), "{e}");
    let regression = Predictions::Regression {
        values: array![1.0, 2.0],
    };
    let e = task_metrics(&regression, &Truth::from_labels(["a", "b"])).unwrap_err();
    assert!(e.to_string().contains("class labels given"), "{e}");
    let bad_label = Truth::Classes {
        classes: vec!["no".into()],
        labels: vec![0, 1],
    };
    assert!(task_metrics(&p, &bad_label).is_err());
    let nan = binary_predictions(&[0.2, f64::NAN]);
    let e = task_metrics(&nan, &Truth::from_labels(["no", "yes"])).unwrap_err();
    assert!(matches!(e, TrainError::NonFinite { row: 1, .. }), "{e}");
    let one_class = Predictions::Classification {
        classes: vec!["no".into()],
        probabilities: array![[1.0]],
    };
    assert!(task_metrics(&one_class, &Truth::from_labels(["no"])).is_err());
    let empty = Predictions::Regression { values: array![] };
    assert!(task_metrics(&empty, &Truth::Values(vec![])).is_err());
    assert!(evaluate_classifier(&[true], &[1.5]).is_err());
}

#[test]
fn slices_are_bounded_sorted_and_checked() {
    let predictions = Predictions::Regression {
        values: array![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    };
    let truth = Truth::Values(vec![1.0, 2.0, 3.0, 4.0, 5.0, 7.0]);
    let city = SliceColumn::new(
        "city",
        [Some("b"), Some("b"), Some("c"), Some("a"), None, Some("c")],
    )
    .with_max_values(2);
    let group = SliceColumn::new("group", [Some("x"); 6]);
    let slices = slice_metrics(&predictions, &truth, &[group, city.clone()]).unwrap();
    let summary: Vec<(String, u64)> = slices.iter().map(|s| (s.key(), s.rows)).collect();
    // "b" and "c" (2 rows each) are kept; "a" and missing become "(other)".
    assert_eq!(
        summary,
        [
            ("city=(other)".to_string(), 2),
            ("city=b".to_string(), 2),
            ("city=c".to_string(), 2),
            ("group=x".to_string(), 6),
        ]
    );
    assert_eq!(slices[2].metrics["mae"], 0.5);
    let e = slice_metrics(&predictions, &truth, &[city.clone(), city]).unwrap_err();
    assert!(e.to_string().contains("given twice"), "{e}");
    let short = SliceColumn::new("s", [Some("a")]);
    let e = slice_metrics(&predictions, &truth, &[short]).unwrap_err();
    assert!(matches!(e, TrainError::LengthMismatch { .. }), "{e}");
    let none = SliceColumn::new("s", [None::<&str>; 6]).with_max_values(0);
    let slices = slice_metrics(&predictions, &truth, &[none]).unwrap();
    assert_eq!(slices[0].key(), "s=(other)");
}

#[test]
fn non_finite_values_are_rejected() {
    let m = BTreeMap::from([("r2".to_string(), f64::NAN)]);
    let e = Evaluation::new(Task::Regression, m, 1, 1, BlessingThresholds::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid parameter `metrics.r2`: must be finite, got NaN"
    );
    let t = BlessingThresholds::default().with_min("r2", f64::INFINITY);
    let e = Evaluation::new(Task::Regression, BTreeMap::new(), 1, 1, t).unwrap_err();
    assert!(e.to_string().contains("thresholds.min.r2"), "{e}");
}

/// An evaluation of a binary model with one slice column `sex`.
fn binary_evaluation(positive: &[f64], thresholds: BlessingThresholds) -> Evaluation {
    let truth = Truth::from_labels(["no", "yes", "no", "yes", "no", "yes", "no", "yes"]);
    let sex = SliceColumn::new("sex", ["F", "F", "F", "F", "M", "M", "M", "M"].map(Some));
    let predictions = binary_predictions(positive);
    Evaluation::new(
        binary_task(),
        task_metrics(&predictions, &truth).unwrap(),
        80,
        8,
        thresholds,
    )
    .unwrap()
    .with_slices(slice_metrics(&predictions, &truth, &[sex]).unwrap())
    .unwrap()
}

const GOOD: [f64; 8] = [0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6];

#[test]
fn baseline_drops_name_metric_slice_values_and_bound() {
    let baseline = binary_evaluation(&GOOD, BlessingThresholds::default());
    let thresholds = BlessingThresholds::default()
        .with_max_drop("roc_auc", 0.2)
        .with_max_drop("log_loss", 0.05)
        .with_slice(
            "sex=M",
            SliceThresholds::default()
                .with_max_drop("roc_auc", 0.01)
                .with_min("accuracy", 0.9),
        );
    // Worse on the men only: 0.65 for a "no" outranks the "yes" at 0.6.
    let mut worse = GOOD;
    worse[6] = 0.65;
    let candidate = binary_evaluation(&worse, thresholds).against_baseline(&baseline, "version 3");
    assert!(!candidate.blessed());
    assert_eq!(
        candidate.reasons(),
        [
            "slice sex=M: accuracy = 0.75 is below the minimum 0.9",
            "log_loss rose by 0.0674 (0.2990 → 0.3664), more than the allowed 0.05 against baseline version 3",
            "slice sex=M: roc_auc dropped by 0.2500 (1.0000 → 0.7500), more than the allowed 0.01 against baseline version 3",
        ]
    );
    let comparison = candidate.baseline().unwrap();
    let delta = comparison.delta(Some("sex=M"), "roc_auc").unwrap();
    assert_eq!(
        (delta.candidate, delta.baseline, delta.change),
        (0.75, 1.0, -0.25)
    );
    assert_eq!(delta.worse_by, Some(0.25));
    // Every metric of both, overall and per slice.
    assert_eq!(comparison.deltas.len(), 3 * 10);
}

#[test]
fn the_default_drop_watches_the_headline_metric_overall() {
    let baseline = binary_evaluation(&GOOD, BlessingThresholds::default());
    let mut worse = GOOD;
    worse[6] = 0.65;
    let candidate = binary_evaluation(&worse, BlessingThresholds::default())
        .against_baseline(&baseline, "version 3");
    assert_eq!(
        candidate.reasons(),
        [
            "roc_auc dropped by 0.0625 (1.0000 → 0.9375), more than the allowed 0.01 against baseline version 3"
        ]
    );
    // Without a baseline, drops are not checked.
    assert!(binary_evaluation(&worse, BlessingThresholds::default()).blessed());
}

#[test]
fn missing_slices_metrics_and_incomparable_baselines_fail() {
    let thresholds = BlessingThresholds::default()
        .with_max_drop("f1", 0.1)
        .with_slice(
            "sex=X",
            SliceThresholds::default().with_min("accuracy", 0.5),
        );
    let regression = Evaluation::new(
        Task::Regression,
        BTreeMap::from([("r2".to_string(), 0.5)]),
        1,
        1,
        BlessingThresholds::default(),
    )
    .unwrap();
    let e = binary_evaluation(&GOOD, thresholds.clone()).against_baseline(&regression, "v1");
    assert_eq!(
        e.reasons(),
        [
            "slice sex=X has thresholds but was not evaluated (no such column and value among the 2 slices)",
            "baseline v1 cannot be compared: its task (regression) computes other metrics than the candidate's (classification of 2 classes)",
        ]
    );
    // A baseline without slices and without f1.
    let mut metrics = binary_evaluation(&GOOD, BlessingThresholds::default())
        .metrics()
        .clone();
    metrics.remove("f1");
    let old = Evaluation::new(binary_task(), metrics, 1, 1, BlessingThresholds::default()).unwrap();
    let thresholds = thresholds.with_max_drop("unknown_metric", 0.1).with_slice(
        "sex=F",
        SliceThresholds::default().with_max_drop("roc_auc", 0.0),
    );
    let e = binary_evaluation(&GOOD, thresholds).against_baseline(&old, "v1");
    assert_eq!(
        e.reasons(),
        [
            "slice sex=X has thresholds but was not evaluated (no such column and value among the 2 slices)",
            "f1 cannot be compared: baseline v1 has no value for it, and its drop may be at most 0.1",
            "unknown_metric was not computed but may drop by at most 0.1 against baseline v1",
            "slice sex=F: roc_auc cannot be compared: baseline v1 has no value for it, and its drop may be at most 0",
        ]
    );
}

#[test]
fn builders_decide_in_any_order_but_slices_come_before_the_baseline() {
    let baseline = binary_evaluation(&GOOD, BlessingThresholds::default());
    let failed = GateCheck::fail("label_leakage", ["a", "b"]);
    let a = binary_evaluation(&GOOD, BlessingThresholds::default())
        .with_check(failed.clone())
        .against_baseline(&baseline, "v1");
    let b = binary_evaluation(&GOOD, BlessingThresholds::default())
        .against_baseline(&baseline, "v1")
        .with_check(failed);
    assert_eq!(a, b);
    assert_eq!(
        a.reasons(),
        [
            "check label_leakage failed: a",
            "check label_leakage failed: b"
        ]
    );
    let fixed = a.with_check(GateCheck::pass("label_leakage"));
    assert!(fixed.blessed() && fixed.checks().len() == 1);
    let slices = fixed.slices().to_vec();
    let e = fixed.with_slices(slices).unwrap_err();
    assert!(e.to_string().contains("before comparing"), "{e}");
    let unnamed = binary_evaluation(&GOOD, BlessingThresholds::default()).with_check(GateCheck {
        name: "stability".into(),
        passed: false,
        details: vec![],
    });
    assert_eq!(unnamed.reasons(), ["check stability failed"]);
}

#[test]
fn duplicate_or_non_finite_slices_are_rejected() {
    let e = binary_evaluation(&GOOD, BlessingThresholds::default());
    let mut twice = e.slices().to_vec();
    twice.push(twice[0].clone());
    let err = e.clone().with_slices(twice).unwrap_err();
    assert!(
        err.to_string().contains("slice sex=F is given twice"),
        "{err}"
    );
    let mut nan = e.slices().to_vec();
    nan[1].metrics.insert("accuracy".into(), f64::NAN);
    let err = e.with_slices(nan).unwrap_err();
    assert!(err.to_string().contains("slices.sex=M.accuracy"), "{err}");
}

#[test]
fn artifact_round_trip() {
    let baseline = binary_evaluation(&GOOD, BlessingThresholds::default());
    let mut worse = GOOD;
    worse[6] = 0.65;
    let e = binary_evaluation(
        &worse,
        BlessingThresholds::default()
            .with_slice("sex=F", SliceThresholds::default().with_min("roc_auc", 0.9)),
    )
    .against_baseline(&baseline, "version 3")
    .with_check(GateCheck::fail("serveability", ["no"]));
    assert!(!e.blessed());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evaluation.json");
    e.save(&path, &[]).unwrap();
    let back = Evaluation::load(&path).unwrap();
    assert_eq!(back.value, e);
    assert_eq!(back.header.kind, "mlrig.train.evaluation");
    assert_eq!(back.header.format_version, 3);
}
