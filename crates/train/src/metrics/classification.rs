//! Metrics of predicted labels.

use std::collections::BTreeMap;

use mlrig_core::ExactSum;
use mlrig_core::ndarray::Array2;

use super::{check_class_indices, check_pair, ratio_or_zero};
use crate::error::{Result, TrainError};

/// How the per-class values of a multiclass metric become one number.
///
/// ```
/// use mlrig_train::metrics::{Average, recall_multiclass};
/// // Class 0: recall 1/1; class 1: recall 1/3.
/// let (y_true, y_pred) = ([0, 1, 1, 1], [0, 1, 0, 0]);
/// let macro_recall = recall_multiclass(&y_true, &y_pred, 2, Average::Macro)?;
/// assert!((macro_recall - 2.0 / 3.0).abs() < 1e-15); // (1 + 1/3) / 2
/// assert_eq!(recall_multiclass(&y_true, &y_pred, 2, Average::Weighted)?, 0.5); // (1·1 + 3·1/3) / 4
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive] // room for scikit-learn's "micro"
pub enum Average {
    /// Unweighted mean over the classes (scikit-learn's `average="macro"`).
    Macro,
    /// Mean weighted by each class's number of examples in `y_true`
    /// (scikit-learn's `average="weighted"`).
    Weighted,
}

/// Fraction of examples whose predicted label equals the true label.
///
/// ```
/// use mlrig_train::metrics::accuracy;
/// assert_eq!(accuracy(&["a", "b", "b", "a"], &["a", "b", "a", "a"])?, 0.75);
/// assert!(accuracy::<u8>(&[], &[]).is_err());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn accuracy<T: PartialEq>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    check_pair("accuracy", y_true.len(), "y_pred", y_pred.len())?;
    let correct = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    Ok(correct as f64 / y_true.len() as f64)
}

/// Mean over the classes present in `y_true` of the fraction of that class
/// predicted correctly (its recall). Labels that occur only in `y_pred` are
/// ignored, as scikit-learn does after warning.
///
/// ```
/// use mlrig_train::metrics::balanced_accuracy;
/// // Class "a": 1 of 1 right; class "b": 1 of 3 right → (1 + 1/3) / 2.
/// let score = balanced_accuracy(&["a", "b", "b", "b"], &["a", "b", "a", "c"])?;
/// assert!((score - 2.0 / 3.0).abs() < 1e-15);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn balanced_accuracy<T: Ord>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    check_pair("balanced_accuracy", y_true.len(), "y_pred", y_pred.len())?;
    // Per class of y_true: (examples, correctly predicted).
    let mut per_class: BTreeMap<&T, (u64, u64)> = BTreeMap::new();
    for (t, p) in y_true.iter().zip(y_pred) {
        let counts = per_class.entry(t).or_default();
        counts.0 += 1;
        counts.1 += u64::from(t == p);
    }
    let mut recalls = ExactSum::default();
    for &(support, correct) in per_class.values() {
        recalls.add(correct as f64 / support as f64);
    }
    Ok(recalls.value() / per_class.len() as f64)
}

/// True positives, false positives and false negatives of one class.
#[derive(Debug, Default, Clone, Copy)]
struct ClassCounts {
    true_positives: u64,
    /// Examples of the class in `y_true` (true positives + false negatives).
    support: u64,
    /// Examples predicted as the class (true positives + false positives).
    predicted: u64,
}

impl ClassCounts {
    fn precision(&self) -> f64 {
        ratio_or_zero(self.true_positives, self.predicted)
    }

    fn recall(&self) -> f64 {
        ratio_or_zero(self.true_positives, self.support)
    }

    /// `2 tp / (2 tp + fp + fn)`, scikit-learn's form: it needs no precision
    /// or recall, so it is defined whenever the class occurs at all.
    fn f1(&self) -> f64 {
        ratio_or_zero(2 * self.true_positives, self.support + self.predicted)
    }
}

fn binary_counts(metric: &str, y_true: &[bool], y_pred: &[bool]) -> Result<ClassCounts> {
    check_pair(metric, y_true.len(), "y_pred", y_pred.len())?;
    let mut counts = ClassCounts::default();
    for (&t, &p) in y_true.iter().zip(y_pred) {
        counts.true_positives += u64::from(t && p);
        counts.support += u64::from(t);
        counts.predicted += u64::from(p);
    }
    Ok(counts)
}

/// Counts of every class that occurs in `y_true` or `y_pred` (scikit-learn's
/// classes when `labels=None`).
fn multiclass_counts(
    metric: &str,
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<BTreeMap<usize, ClassCounts>> {
    check_pair(metric, y_true.len(), "y_pred", y_pred.len())?;
    check_class_indices(metric, "y_true", y_true, n_classes)?;
    check_class_indices(metric, "y_pred", y_pred, n_classes)?;
    let mut per_class: BTreeMap<usize, ClassCounts> = BTreeMap::new();
    for (&t, &p) in y_true.iter().zip(y_pred) {
        per_class.entry(t).or_default().support += 1;
        per_class.entry(p).or_default().predicted += 1;
        if t == p {
            per_class.entry(t).or_default().true_positives += 1;
        }
    }
    Ok(per_class)
}

fn averaged(
    metric: &str,
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
    per_class_value: fn(&ClassCounts) -> f64,
) -> Result<f64> {
    let per_class = multiclass_counts(metric, y_true, y_pred, n_classes)?;
    let mut sum = ExactSum::default();
    for counts in per_class.values() {
        let value = per_class_value(counts);
        match average {
            Average::Macro => sum.add(value),
            Average::Weighted => sum.add(value * counts.support as f64),
        }
    }
    let denominator = match average {
        Average::Macro => per_class.len(),
        // The supports add up to the number of examples.
        Average::Weighted => y_true.len(),
    };
    Ok(sum.value() / denominator as f64)
}

/// Precision of the positive class `true`: `tp / (tp + fp)`, 0 when nothing
/// is predicted positive.
///
/// ```
/// use mlrig_train::metrics::precision;
/// // Predicted positive: rows 1 and 2, of which row 1 is right.
/// assert_eq!(precision(&[false, true, false], &[false, true, true])?, 0.5);
/// assert_eq!(precision(&[true], &[false])?, 0.0); // no positive prediction
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn precision(y_true: &[bool], y_pred: &[bool]) -> Result<f64> {
    Ok(binary_counts("precision", y_true, y_pred)?.precision())
}

/// Recall of the positive class `true`: `tp / (tp + fn)`, 0 when `y_true`
/// has no positive.
///
/// ```
/// use mlrig_train::metrics::recall;
/// // Positives: rows 0 and 1, of which row 1 is found.
/// assert_eq!(recall(&[true, true, false], &[false, true, true])?, 0.5);
/// assert_eq!(recall(&[false], &[true])?, 0.0); // no positive example
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn recall(y_true: &[bool], y_pred: &[bool]) -> Result<f64> {
    Ok(binary_counts("recall", y_true, y_pred)?.recall())
}

/// F1 score of the positive class `true`: `2 tp / (2 tp + fp + fn)`, the
/// harmonic mean of precision and recall; 0 when there is no positive in
/// either input.
///
/// ```
/// use mlrig_train::metrics::f1;
/// // tp = 1, fp = 1, fn = 1 → 2 / 4.
/// assert_eq!(f1(&[true, true, false], &[false, true, true])?, 0.5);
/// assert_eq!(f1(&[false], &[false])?, 0.0);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn f1(y_true: &[bool], y_pred: &[bool]) -> Result<f64> {
    Ok(binary_counts("f1", y_true, y_pred)?.f1())
}

/// Precision per class (`tp / (tp + fp)`, 0 for a class never predicted),
/// averaged over the classes that occur in `y_true` or `y_pred`.
///
/// Classes are indices below `n_classes`; a class that occurs in neither
/// input is left out, as scikit-learn does without `labels`.
///
/// ```
/// use mlrig_train::metrics::{Average, precision_multiclass};
/// // Class 0: predicted 3 times, right once; class 1: 1 of 1; class 2: never predicted.
/// let (y_true, y_pred) = ([0, 1, 1, 2], [0, 1, 0, 0]);
/// let p = precision_multiclass(&y_true, &y_pred, 3, Average::Macro)?;
/// assert!((p - (1.0 / 3.0 + 1.0 + 0.0) / 3.0).abs() < 1e-15);
/// assert!(precision_multiclass(&y_true, &[0, 1, 0, 3], 3, Average::Macro).is_err()); // class 3 of 3
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn precision_multiclass(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> Result<f64> {
    averaged(
        "precision_multiclass",
        y_true,
        y_pred,
        n_classes,
        average,
        ClassCounts::precision,
    )
}

/// Recall per class (`tp / (tp + fn)`, 0 for a class absent from `y_true`),
/// averaged over the classes that occur in `y_true` or `y_pred`.
///
/// [`Average::Macro`] recall counts classes that occur only in `y_pred` as 0,
/// unlike [`balanced_accuracy`]; [`Average::Weighted`] recall equals
/// [`accuracy`].
///
/// ```
/// use mlrig_train::metrics::{Average, recall_multiclass};
/// let (y_true, y_pred) = ([0, 1, 1, 2], [0, 1, 0, 0]);
/// // Class 0: 1 of 1; class 1: 1 of 2; class 2: 0 of 1.
/// assert_eq!(recall_multiclass(&y_true, &y_pred, 3, Average::Macro)?, 0.5);
/// assert_eq!(recall_multiclass(&y_true, &y_pred, 3, Average::Weighted)?, 0.5);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn recall_multiclass(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> Result<f64> {
    averaged(
        "recall_multiclass",
        y_true,
        y_pred,
        n_classes,
        average,
        ClassCounts::recall,
    )
}

/// F1 score per class (`2 tp / (2 tp + fp + fn)`), averaged over the classes
/// that occur in `y_true` or `y_pred`.
///
/// ```
/// use mlrig_train::metrics::{Average, f1_multiclass};
/// let (y_true, y_pred) = ([0, 1, 1, 2], [0, 1, 0, 0]);
/// // Class 0: 2·1 / (1 + 3); class 1: 2·1 / (2 + 1); class 2: 0.
/// let f = f1_multiclass(&y_true, &y_pred, 3, Average::Macro)?;
/// assert!((f - (0.5 + 2.0 / 3.0 + 0.0) / 3.0).abs() < 1e-15);
/// let f = f1_multiclass(&y_true, &y_pred, 3, Average::Weighted)?;
/// assert!((f - (0.5 + 2.0 * 2.0 / 3.0) / 4.0).abs() < 1e-15);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn f1_multiclass(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> Result<f64> {
    averaged(
        "f1_multiclass",
        y_true,
        y_pred,
        n_classes,
        average,
        ClassCounts::f1,
    )
}

/// The `n_classes × n_classes` matrix whose entry `[t, p]` counts the
/// examples of true class `t` predicted as class `p` (rows: true classes,
/// columns: predicted classes). Its total is the number of examples.
///
/// ```
/// use mlrig_train::metrics::confusion_matrix;
/// use mlrig_train::ndarray::array;
/// let m = confusion_matrix(&[0, 1, 1, 2], &[0, 1, 0, 0], 3)?;
/// assert_eq!(m, array![[1, 0, 0], [1, 1, 0], [1, 0, 0]]);
/// assert!(confusion_matrix(&[0, 3], &[0, 1], 3).is_err()); // class 3 of 3
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<Array2<u64>> {
    const METRIC: &str = "confusion_matrix";
    check_pair(METRIC, y_true.len(), "y_pred", y_pred.len())?;
    check_class_indices(METRIC, "y_true", y_true, n_classes)?;
    check_class_indices(METRIC, "y_pred", y_pred, n_classes)?;
    // n_classes comes from the caller: a matrix too large to allocate is an
    // error, not an abort.
    let too_large = || {
        TrainError::invalid_parameter(
            "n_classes",
            format!("{METRIC}: a {n_classes} × {n_classes} matrix does not fit in memory"),
        )
    };
    let cells = n_classes.checked_mul(n_classes).ok_or_else(too_large)?;
    let mut counts: Vec<u64> = Vec::new();
    counts.try_reserve_exact(cells).map_err(|_| too_large())?;
    counts.resize(cells, 0);
    for (&t, &p) in y_true.iter().zip(y_pred) {
        // Both indices are below n_classes (checked above).
        if let Some(cell) = counts.get_mut(t * n_classes + p) {
            *cell += 1;
        }
    }
    Array2::from_shape_vec((n_classes, n_classes), counts)
        .map_err(|e| TrainError::invalid_parameter("n_classes", format!("{METRIC}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_division_gives_zero() {
        // No positive anywhere: every denominator is 0.
        let none = [false, false];
        assert_eq!(precision(&none, &none).unwrap(), 0.0);
        assert_eq!(recall(&none, &none).unwrap(), 0.0);
        assert_eq!(f1(&none, &none).unwrap(), 0.0);
        // Class 1 never predicted: its precision counts 0 in the macro mean.
        let p = precision_multiclass(&[0, 1], &[0, 0], 2, Average::Macro).unwrap();
        assert_eq!(p, 0.25);
    }

    #[test]
    fn classes_in_neither_input_are_left_out() {
        // n_classes = 10, but only classes 0 and 1 occur.
        let (t, p) = ([0, 1, 1], [0, 1, 1]);
        for average in [Average::Macro, Average::Weighted] {
            assert_eq!(precision_multiclass(&t, &p, 10, average).unwrap(), 1.0);
            assert_eq!(recall_multiclass(&t, &p, 10, average).unwrap(), 1.0);
            assert_eq!(f1_multiclass(&t, &p, 10, average).unwrap(), 1.0);
        }
    }

    #[test]
    fn binary_agrees_with_the_positive_class_of_multiclass() {
        let t = [true, false, true, true, false];
        let p = [true, true, false, true, false];
        let ti: Vec<usize> = t.iter().map(|&v| usize::from(v)).collect();
        let pi: Vec<usize> = p.iter().map(|&v| usize::from(v)).collect();
        let m = confusion_matrix(&ti, &pi, 2).unwrap();
        // tp = 2, fp = 1, fn = 1.
        assert_eq!(m[[1, 1]], 2);
        assert_eq!(m[[0, 1]], 1);
        assert_eq!(m[[1, 0]], 1);
        assert_eq!(precision(&t, &p).unwrap(), 2.0 / 3.0);
        assert_eq!(recall(&t, &p).unwrap(), 2.0 / 3.0);
        assert_eq!(f1(&t, &p).unwrap(), 2.0 / 3.0);
        assert_eq!(balanced_accuracy(&t, &p).unwrap(), (2.0 / 3.0 + 0.5) / 2.0);
    }

    #[test]
    fn errors_are_precise() {
        let e = f1_multiclass(&[0, 1], &[0, 2], 2, Average::Macro).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameter `y_pred`: f1_multiclass: class index 2 at row 1 is not below \
             the number of classes 2"
        );
        assert!(matches!(
            precision(&[true], &[true, false]).unwrap_err(),
            TrainError::LengthMismatch { .. }
        ));
        assert!(matches!(
            balanced_accuracy::<bool>(&[], &[]).unwrap_err(),
            TrainError::TooFewValues { .. }
        ));
        assert!(confusion_matrix(&[0], &[0], 0).is_err());
        let e = confusion_matrix(&[0], &[0], usize::MAX).unwrap_err();
        assert!(e.to_string().contains("does not fit"), "{e}");
        let e = confusion_matrix(&[0], &[0], 1 << 40).unwrap_err();
        assert!(e.to_string().contains("does not fit"), "{e}");
    }
}
