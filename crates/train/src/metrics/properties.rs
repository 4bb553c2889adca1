//! Properties every metric keeps on arbitrary input: no panic, no dependence
//! on the order of the examples, averages within their per-class range.

use mlrig_core::ndarray::{Array2, ArrayView2};
use proptest::prelude::*;

use super::*;

/// One example: binary label, score, probability, regression target and
/// prediction, true and predicted class of 4, weights of a probability row.
type Example = (bool, f64, f64, f64, f64, usize, usize, [u8; 4]);

fn example() -> impl Strategy<Value = Example> {
    (
        any::<bool>(),
        // Few distinct scores and probabilities, so that ties are common.
        (0u8..8).prop_map(|s| f64::from(s) / 4.0 - 1.0),
        prop_oneof![(0u8..=10).prop_map(|p| f64::from(p) / 10.0), 0.0..=1.0f64],
        -1e3..1e3f64,
        -1e3..1e3f64,
        0usize..4,
        0usize..4,
        [1u8..5, 1u8..5, 1u8..5, 1u8..5],
    )
}

/// Rows of examples and the same rows shuffled.
fn examples_and_shuffle() -> impl Strategy<Value = (Vec<Example>, Vec<Example>)> {
    proptest::collection::vec(example(), 1..40).prop_flat_map(|rows| {
        let shuffled = Just(rows.clone()).prop_shuffle();
        (Just(rows), shuffled)
    })
}

fn probability_matrix(rows: &[Example]) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), 4), |(i, c)| {
        let weights = rows[i].7;
        let total: u32 = weights.iter().map(|&w| u32::from(w)).sum();
        f64::from(weights[c]) / f64::from(total)
    })
}

/// Every metric of the rows, as bits (or the error's text), for comparison.
fn all_metrics(rows: &[Example]) -> Vec<String> {
    let labels: Vec<bool> = rows.iter().map(|r| r.0).collect();
    let scores: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let probabilities: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let y_reg: Vec<f64> = rows.iter().map(|r| r.3).collect();
    let y_hat: Vec<f64> = rows.iter().map(|r| r.4).collect();
    let classes: Vec<usize> = rows.iter().map(|r| r.5).collect();
    let predicted: Vec<usize> = rows.iter().map(|r| r.6).collect();
    let matrix = probability_matrix(rows);
    let predicted_labels: Vec<bool> = probabilities.iter().map(|&p| p > 0.5).collect();
    let show = |r: Result<f64>| match r {
        Ok(v) => format!("{:016x}", v.to_bits()),
        Err(e) => e.to_string(),
    };
    let mut out = vec![
        show(accuracy(&labels, &predicted_labels)),
        show(balanced_accuracy(&classes, &predicted)),
        show(precision(&labels, &predicted_labels)),
        show(recall(&labels, &predicted_labels)),
        show(f1(&labels, &predicted_labels)),
        show(roc_auc(&labels, &scores)),
        show(average_precision(&labels, &scores)),
        show(log_loss(&labels, &probabilities)),
        show(brier_score(&labels, &probabilities)),
        show(expected_calibration_error(&labels, &probabilities, 7)),
        show(log_loss_multiclass(&classes, matrix.view())),
        show(brier_score_multiclass(&classes, matrix.view())),
        show(r2(&y_reg, &y_hat)),
        show(rmse(&y_reg, &y_hat)),
        show(mae(&y_reg, &y_hat)),
        show(mape(&y_reg, &y_hat)),
        format!("{:?}", confusion_matrix(&classes, &predicted, 4).ok()),
        format!("{:?}", calibration_curve(&labels, &probabilities, 7).ok()),
    ];
    for average in [Average::Macro, Average::Weighted] {
        out.push(show(precision_multiclass(&classes, &predicted, 4, average)));
        out.push(show(recall_multiclass(&classes, &predicted, 4, average)));
        out.push(show(f1_multiclass(&classes, &predicted, 4, average)));
        out.push(show(roc_auc_ovr(&classes, matrix.view(), average)));
    }
    out
}

/// Any f64, NaN and infinities included.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-0.0),
        0.0..=1.0f64
    ]
}

/// Inputs for every metric at once; lengths and values may be anything.
struct Inputs<'a> {
    bools: &'a [bool],
    values: &'a [f64],
    others: &'a [f64],
    classes: &'a [usize],
    predicted: &'a [usize],
    n_classes: usize,
    matrix: ArrayView2<'a, f64>,
    n_bins: usize,
}

fn call_everything(inputs: &Inputs<'_>) {
    let Inputs {
        bools,
        values,
        others,
        classes,
        predicted,
        n_classes,
        matrix,
        n_bins,
    } = *inputs;
    let _ = accuracy(bools, &bools[..bools.len().min(values.len())]);
    let _ = balanced_accuracy(classes, predicted);
    let _ = balanced_accuracy(bools, &bools[..bools.len() / 2]);
    let _ = precision(bools, &bools[..bools.len().min(classes.len())]);
    let _ = recall(bools, bools);
    let _ = f1(bools, bools);
    let _ = confusion_matrix(classes, predicted, n_classes);
    for average in [Average::Macro, Average::Weighted] {
        let _ = precision_multiclass(classes, predicted, n_classes, average);
        let _ = recall_multiclass(classes, predicted, n_classes, average);
        let _ = f1_multiclass(classes, predicted, n_classes, average);
        let _ = roc_auc_ovr(classes, matrix, average);
    }
    let _ = roc_auc(bools, values);
    let _ = average_precision(bools, values);
    let _ = log_loss(bools, values);
    let _ = log_loss_multiclass(classes, matrix);
    let _ = brier_score(bools, values);
    let _ = brier_score_multiclass(classes, matrix);
    let _ = calibration_curve(bools, values, n_bins);
    let _ = expected_calibration_error(bools, values, n_bins);
    let _ = r2(values, others);
    let _ = rmse(values, others);
    let _ = mae(values, others);
    let _ = mape(values, others);
}

proptest! {
    #[test]
    fn metrics_never_panic(
        bools in proptest::collection::vec(any::<bool>(), 0..12),
        values in proptest::collection::vec(any_value(), 0..12),
        others in proptest::collection::vec(any_value(), 0..12),
        classes in proptest::collection::vec(0usize..6, 0..12),
        predicted in proptest::collection::vec(0usize..6, 0..12),
        n_classes in prop_oneof![0usize..6, Just(usize::MAX)],
        (rows, columns) in (0usize..12, 0usize..5),
        cells in proptest::collection::vec(any_value(), 60),
        n_bins in prop_oneof![0usize..12, Just(usize::MAX)],
    ) {
        let matrix = Array2::from_shape_fn((rows, columns), |(i, c)| cells[i * 5 + c]);
        call_everything(&Inputs {
            bools: &bools, values: &values, others: &others, classes: &classes,
            predicted: &predicted, n_classes, matrix: matrix.view(), n_bins,
        });
        // Valid-looking inputs reach the arithmetic too.
        let n = bools.len().min(classes.len()).min(predicted.len());
        let unit: Vec<f64> = values.iter().map(|v| if v.is_finite() { v.abs().fract() } else { 0.5 }).collect();
        let uniform = Array2::from_elem((n, 6), 1.0 / 6.0);
        call_everything(&Inputs {
            bools: &bools[..n], values: &unit[..unit.len().min(n)], others: &unit,
            classes: &classes[..n], predicted: &predicted[..n], n_classes: 6,
            matrix: uniform.view(), n_bins,
        });
    }

    #[test]
    fn metrics_do_not_depend_on_example_order((rows, shuffled) in examples_and_shuffle()) {
        prop_assert_eq!(all_metrics(&rows), all_metrics(&shuffled));
    }

    #[test]
    fn averaged_f1_lies_between_the_per_class_extremes(
        pairs in proptest::collection::vec((0usize..5, 0usize..5), 1..60),
    ) {
        let (classes, predicted): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
        // Per-class F1 of the classes that occur, each as a binary problem.
        let per_class: Vec<f64> = (0..5)
            .filter(|c| classes.contains(c) || predicted.contains(c))
            .map(|c| {
                let t: Vec<bool> = classes.iter().map(|&y| y == c).collect();
                let p: Vec<bool> = predicted.iter().map(|&y| y == c).collect();
                f1(&t, &p).unwrap()
            })
            .collect();
        let low = per_class.iter().copied().fold(f64::INFINITY, f64::min);
        let high = per_class.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // The mean of values is rounded once after an exact sum: allow that one rounding.
        let slack = 1e-15;
        for average in [Average::Macro, Average::Weighted] {
            let averaged = f1_multiclass(&classes, &predicted, 5, average).unwrap();
            prop_assert!(low - slack <= averaged && averaged <= high + slack,
                "{:?}: {} outside [{}, {}]", average, averaged, low, high);
        }
        let macro_f1 = f1_multiclass(&classes, &predicted, 5, Average::Macro).unwrap();
        let mean = per_class.iter().sum::<f64>() / per_class.len() as f64;
        prop_assert!((macro_f1 - mean).abs() < 1e-12);
    }

    #[test]
    fn confusion_matrix_counts_every_example_once(
        pairs in proptest::collection::vec((0usize..6, 0usize..6), 1..80),
        extra_classes in 0usize..3,
    ) {
        let (classes, predicted): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
        let n_classes = 6 + extra_classes;
        let m = confusion_matrix(&classes, &predicted, n_classes).unwrap();
        prop_assert_eq!(m.dim(), (n_classes, n_classes));
        prop_assert_eq!(m.sum(), classes.len() as u64);
        for c in 0..n_classes {
            prop_assert_eq!(m.row(c).sum(), classes.iter().filter(|&&y| y == c).count() as u64);
            prop_assert_eq!(m.column(c).sum(), predicted.iter().filter(|&&y| y == c).count() as u64);
        }
        let correct = m.diag().sum() as f64 / classes.len() as f64;
        prop_assert_eq!(correct, accuracy(&classes, &predicted).unwrap());
        // Weighted recall is accuracy, up to the rounding of (tp / support) · support.
        let weighted_recall = recall_multiclass(&classes, &predicted, n_classes, Average::Weighted).unwrap();
        prop_assert!((weighted_recall - correct).abs() < 1e-15);
    }
}
