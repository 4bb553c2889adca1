//! Properties of the evaluation on arbitrary rows: no panic, no dependence
//! on row order, slice rows adding up, artifacts surviving serialization.

use mlrig_core::ndarray::{Array1, Array2};
use mlrig_core::{Artifact, Predictions, Task};
use proptest::prelude::*;

use super::*;

/// One row: true class (index into the classes of the case, the last one
/// unknown to the model), probability weights, regression target and
/// prediction, slice value, and a second model's weights (the baseline).
type Row = (usize, [u8; 3], f64, f64, Option<u8>, [u8; 3]);

fn row() -> impl Strategy<Value = Row> {
    (
        0usize..4,
        [0u8..4, 0u8..4, 0u8..4],
        -10.0..10.0f64,
        -10.0..10.0f64,
        proptest::option::weighted(0.9, 0u8..5),
        [0u8..4, 0u8..4, 0u8..4],
    )
}

/// Rows and the same rows shuffled.
fn rows_and_shuffle() -> impl Strategy<Value = (Vec<Row>, Vec<Row>)> {
    proptest::collection::vec(row(), 1..40).prop_flat_map(|rows| {
        let shuffled = Just(rows.clone()).prop_shuffle();
        (Just(rows), shuffled)
    })
}

/// Regression (0), binary (2) or multiclass (3).
fn kind() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0), Just(2), Just(3)]
}

/// `k` model classes `c0…`; the truth may also hold `unknown`.
fn classes(k: usize) -> Vec<String> {
    (0..k).map(|c| format!("c{c}")).collect()
}

/// Probabilities of `k` classes from weights (all-zero weights: uniform).
fn probabilities(weights: impl Iterator<Item = [u8; 3]>, n: usize, k: usize) -> Array2<f64> {
    let weights: Vec<[u8; 3]> = weights.collect();
    Array2::from_shape_fn((n, k), |(i, c)| {
        let w = &weights[i][..k];
        let total: u32 = w.iter().map(|&x| u32::from(x)).sum();
        if total == 0 {
            1.0 / k as f64
        } else {
            f64::from(w[c]) / f64::from(total)
        }
    })
}

struct Case {
    task: Task,
    predictions: Predictions,
    baseline: Predictions,
    truth: Truth,
    slice: SliceColumn,
}

/// `k` = 0 is regression, otherwise classification with `k` classes.
fn case(rows: &[Row], k: usize) -> Case {
    let n = rows.len();
    let slice =
        SliceColumn::new("g", rows.iter().map(|r| r.4.map(|v| format!("v{v}")))).with_max_values(3);
    if k == 0 {
        return Case {
            task: Task::Regression,
            predictions: Predictions::Regression {
                values: rows.iter().map(|r| r.3).collect::<Array1<f64>>(),
            },
            baseline: Predictions::Regression {
                values: rows.iter().map(|r| r.3 * 0.5).collect::<Array1<f64>>(),
            },
            truth: Truth::Values(rows.iter().map(|r| r.2).collect()),
            slice,
        };
    }
    let names = classes(k);
    let truth = Truth::from_labels(rows.iter().map(|r| {
        names
            .get(r.0)
            .cloned()
            .unwrap_or_else(|| "unknown".to_string())
    }));
    Case {
        task: Task::Classification {
            classes: names.clone(),
        },
        predictions: Predictions::Classification {
            classes: names.clone(),
            probabilities: probabilities(rows.iter().map(|r| r.1), n, k),
        },
        baseline: Predictions::Classification {
            classes: names,
            probabilities: probabilities(rows.iter().map(|r| r.5), n, k),
        },
        truth,
        slice,
    }
}

fn thresholds() -> BlessingThresholds {
    BlessingThresholds::default()
        .with_min("accuracy", 0.5)
        .with_max("rmse", 3.0)
        .with_max_drop("log_loss", 0.01)
        .with_slice("g=v1", SliceThresholds::default().with_min("roc_auc", 0.6))
        .with_slice("g=v2", SliceThresholds::default().with_max_drop("mae", 0.1))
}

/// The full evaluation of a case against its baseline model.
fn evaluate(case: &Case) -> Result<Evaluation, crate::TrainError> {
    let slices = [case.slice.clone()];
    let n = case.truth.len() as u64;
    let baseline = Evaluation::new(
        case.task.clone(),
        task_metrics(&case.baseline, &case.truth)?,
        10 * n,
        n,
        BlessingThresholds::default(),
    )?
    .with_slices(slice_metrics(&case.baseline, &case.truth, &slices)?)?;
    Ok(Evaluation::new(
        case.task.clone(),
        task_metrics(&case.predictions, &case.truth)?,
        10 * n,
        n,
        thresholds(),
    )?
    .with_slices(slice_metrics(&case.predictions, &case.truth, &slices)?)?
    .against_baseline(&baseline, "version 1")
    .with_check(GateCheck::pass("serveability")))
}

proptest! {
    #[test]
    fn permuted_rows_give_the_same_evaluation(
        (rows, shuffled) in rows_and_shuffle(),
        k in kind(),
    ) {
        let a = evaluate(&case(&rows, k)).map_err(|e| e.to_string());
        let b = evaluate(&case(&shuffled, k)).map_err(|e| e.to_string());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn slice_rows_add_up_to_the_total(rows in proptest::collection::vec(row(), 1..60), k in kind(), max in 0usize..6) {
        let case = case(&rows, k);
        let other = SliceColumn::new("h", rows.iter().map(|r| Some(format!("{}", r.0)))).with_max_values(max);
        let slices = slice_metrics(&case.predictions, &case.truth, &[case.slice.clone(), other]).unwrap();
        for column in ["g", "h"] {
            let of_column: Vec<&SliceMetrics> = slices.iter().filter(|s| s.column == column).collect();
            prop_assert_eq!(of_column.iter().map(|s| s.rows).sum::<u64>(), rows.len() as u64);
            prop_assert!(of_column.iter().all(|s| s.rows > 0));
        }
        let h = slices.iter().filter(|s| s.column == "h").count();
        prop_assert!(h <= max + 1, "{} slices for at most {} values", h, max);
        let keys: Vec<(&str, &str)> = slices.iter().map(|s| (s.column.as_str(), s.value.as_str())).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(keys, sorted);
    }

    #[test]
    fn classifications_always_evaluate(rows in proptest::collection::vec(row(), 1..40), k in 2usize..4) {
        // Normalised probabilities and valid labels: never an error, whatever
        // the slices (single-class slices, unknown classes, one row).
        let evaluation = evaluate(&case(&rows, k)).unwrap();
        for slice in evaluation.slices() {
            prop_assert!(slice.metrics.contains_key("accuracy"));
        }
    }

    #[test]
    fn arbitrary_inputs_never_panic(
        probabilities in proptest::collection::vec(prop_oneof![0.0..=1.0f64, -1.0..2.0f64], 0..30),
        labels in proptest::collection::vec(0usize..5, 0..12),
        n_truth_classes in 0usize..4,
        k in 0usize..4,
        values in proptest::collection::vec(prop_oneof![-1e3..1e3f64, Just(f64::NAN), Just(f64::INFINITY)], 0..12),
        slice in proptest::collection::vec(proptest::option::of(0u8..3), 0..12),
    ) {
        let rows = probabilities.len().checked_div(k).unwrap_or(0);
        let predictions = match Array2::from_shape_vec((rows, k), probabilities[..rows * k].to_vec()) {
            Ok(p) if k > 0 => Predictions::Classification { classes: classes(k), probabilities: p },
            _ => Predictions::Regression { values: values.iter().copied().collect() },
        };
        let truths = [
            Truth::Classes { classes: classes(n_truth_classes), labels },
            Truth::Values(values),
        ];
        let column = SliceColumn::new("s", slice.iter().map(|v| v.map(|v| v.to_string())));
        for truth in &truths {
            let _ = task_metrics(&predictions, truth);
            let _ = slice_metrics(&predictions, truth, std::slice::from_ref(&column));
        }
    }

    #[test]
    fn evaluations_survive_the_artifact_round_trip(rows in proptest::collection::vec(row(), 1..30), k in kind()) {
        let evaluation = evaluate(&case(&rows, k)).unwrap();
        let (_, bytes) = evaluation.to_artifact_bytes(&[]).unwrap();
        let back = Evaluation::from_artifact_bytes(&bytes, std::path::Path::new("evaluation.json")).unwrap();
        prop_assert_eq!(back.value, evaluation);
    }
}
