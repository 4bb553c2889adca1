//! The blessing gate end to end on iris: a candidate that sees only the
//! sepals is compared with a baseline that sees every measurement; it loses
//! most on long-petalled flowers (versicolor against virginica), and the
//! gate says so by slice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use mlrig_core::ndarray::{Array2, Axis};
use mlrig_core::{Artifact, Features, Fit, ParamGuard, Predict, Task};
use mlrig_train::{
    BlessingThresholds, ClassTarget, Dataset, Evaluation, LogisticRegressionParams, Model,
    SliceColumn, SliceThresholds, Truth, metric_names, slice_metrics, task_metrics,
};

struct Iris {
    x: Array2<f64>,
    species: Vec<String>,
}

fn iris() -> Iris {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/samples/iris.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let x = Array2::from_shape_fn((records.len(), 4), |(i, j)| records[i][j].parse().unwrap());
    let species = records.iter().map(|r| r[4].to_string()).collect();
    Iris { x, species }
}

/// Evaluates a model fitted on the training rows' `columns`.
fn evaluate(iris: &Iris, columns: &[usize], thresholds: BlessingThresholds) -> Evaluation {
    let (train, eval): (Vec<usize>, Vec<usize>) = (0..iris.species.len()).partition(|i| i % 5 != 4);
    let names = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    let features = |rows: &[usize]| {
        let x = iris.x.select(Axis(0), rows).select(Axis(1), columns);
        Features::dense(
            columns
                .iter()
                .map(|&c| names[c].to_string())
                .collect::<Vec<_>>(),
            x,
        )
        .unwrap()
    };
    let labels = |rows: &[usize]| {
        ClassTarget::from_labels("species", rows.iter().map(|&i| iris.species[i].clone()))
    };
    let fitted = LogisticRegressionParams::default()
        .check()
        .unwrap()
        .fit(&Dataset::new(&features(&train), &labels(&train)).unwrap())
        .unwrap();
    let model = Model::from(fitted);
    let predictions = model.predict(&features(&eval)).unwrap();
    let truth = Truth::from(labels(&eval));
    let petal = SliceColumn::new(
        "petal",
        eval.iter().map(|&i| {
            Some(if iris.x[[i, 2]] >= 4.0 {
                "long"
            } else {
                "short"
            })
        }),
    );
    Evaluation::new(
        model.task(),
        task_metrics(&predictions, &truth).unwrap(),
        train.len() as u64,
        eval.len() as u64,
        thresholds,
    )
    .unwrap()
    .with_slices(slice_metrics(&predictions, &truth, &[petal]).unwrap())
    .unwrap()
}

#[test]
fn a_worse_candidate_is_not_blessed_and_the_reason_names_metric_and_slice() {
    let iris = iris();
    let baseline = evaluate(&iris, &[0, 1, 2, 3], BlessingThresholds::default());
    assert!(baseline.blessed());
    let Task::Classification { classes } = baseline.task() else {
        panic!("iris is classification")
    };
    assert_eq!(classes.len(), 3);
    for name in metric_names(baseline.task()) {
        assert!(baseline.metrics().contains_key(*name), "{name}");
    }
    let keys: Vec<String> = baseline.slices().iter().map(|s| s.key()).collect();
    assert_eq!(keys, ["petal=long", "petal=short"]);

    // The same model against itself passes the default gate.
    let same = evaluate(&iris, &[0, 1, 2, 3], BlessingThresholds::default())
        .against_baseline(&baseline, "version 1");
    assert!(same.blessed(), "{:?}", same.reasons());

    let thresholds = BlessingThresholds::default()
        .with_max_drop("accuracy", 0.5)
        .with_slice(
            "petal=long",
            SliceThresholds::default().with_max_drop("accuracy", 0.02),
        )
        .with_slice(
            "petal=short",
            SliceThresholds::default().with_max_drop("accuracy", 0.02),
        );
    let candidate = evaluate(&iris, &[0, 1], thresholds).against_baseline(&baseline, "version 1");
    assert!(!candidate.blessed());
    // Setosa (short petals) stays separable by its sepals; only the long
    // slice fails, and the overall drop is within the allowed 0.5.
    assert_eq!(candidate.reasons().len(), 1, "{:?}", candidate.reasons());
    let reason = &candidate.reasons()[0];
    assert!(
        reason.starts_with("slice petal=long: accuracy dropped by ")
            && reason.ends_with(", more than the allowed 0.02 against baseline version 1"),
        "{reason}"
    );
    let delta = candidate
        .baseline()
        .unwrap()
        .delta(Some("petal=long"), "accuracy")
        .unwrap();
    assert!(
        delta.worse_by.unwrap() > 0.02 && delta.change < 0.0,
        "{delta:?}"
    );
    let shown = format!("({:.4} → {:.4})", delta.baseline, delta.candidate);
    assert!(reason.contains(&shown), "{reason} lacks {shown}");

    // The decision and its reasons survive the artifact file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evaluation.json");
    candidate.save(&path, &[]).unwrap();
    assert_eq!(Evaluation::load(&path).unwrap().value, candidate);
}
