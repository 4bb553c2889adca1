//! Metrics of scores that rank the examples.

use mlrig_core::ExactSum;
use mlrig_core::ndarray::ArrayView2;

use super::{Average, RowSumTolerance, check_finite, check_pair, check_probability_matrix};
use crate::error::{Result, TrainError};

/// Area under the ROC curve of `scores` for the positive examples
/// (`y_true[i] == true`), exact, with tied scores counted as half.
///
/// ```
/// use mlrig_train::metrics::roc_auc;
/// // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
/// assert_eq!(roc_auc(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8])?, 0.75);
/// // A tie between a positive and a negative counts one half.
/// assert_eq!(roc_auc(&[false, true], &[0.5, 0.5])?, 0.5);
/// assert!(roc_auc(&[true, true], &[0.1, 0.2]).is_err()); // one class: undefined
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn roc_auc(y_true: &[bool], scores: &[f64]) -> Result<f64> {
    check_pair("roc_auc", y_true.len(), "scores", scores.len())?;
    check_finite("roc_auc", "scores", scores)?;
    let positives = y_true.iter().filter(|&&y| y).count() as u128;
    let negatives = y_true.len() as u128 - positives;
    if positives == 0 || negatives == 0 {
        return Err(TrainError::UndefinedMetric {
            metric: "roc_auc".into(),
            reason: format!(
                "y_true has only one class ({} positive, {} negative examples)",
                positives, negatives
            ),
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Scores are finite, so `partial_cmp` is total here (and −0.0 ties 0.0).
    order.sort_by(|&a, &b| {
        scores[a]
            .partial_cmp(&scores[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    // Twice the rank sum of the positives: a tie group at 0-based positions
    // start..end has average 1-based rank (start + 1 + end) / 2.
    let mut twice_rank_sum: u128 = 0;
    let mut start = 0;
    while start < order.len() {
        let score = scores[order[start]];
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| scores[i] == score)
                .count();
        let group_positives = order[start..end].iter().filter(|&&i| y_true[i]).count() as u128;
        twice_rank_sum += group_positives * (start + 1 + end) as u128;
        start = end;
    }
    let twice_u = twice_rank_sum - positives * (positives + 1);
    Ok(twice_u as f64 / (2 * positives * negatives) as f64)
}

/// One-vs-rest ROC AUC of an `n × k` probability matrix: the [`roc_auc`] of
/// column `c` for the examples of class `c` against all others, averaged over
/// the `k` classes ([`Average::Macro`]) or weighted by each class's number of
/// examples ([`Average::Weighted`]).
///
/// `y_true` holds class indices `0..k`. Every class must occur in `y_true`
/// ([`TrainError::UndefinedMetric`] otherwise: its AUC has no positive), and
/// each row must sum to 1 within scikit-learn's tolerance
/// (`|s − 1| ≤ 1e-8 + 1e-5·|s|`). `k = 2` is accepted (scikit-learn refuses
/// a two-column matrix and wants the positive column alone).
///
/// ```
/// use mlrig_train::metrics::{Average, roc_auc_ovr};
/// use mlrig_train::ndarray::array;
/// let p = array![[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.5, 0.25, 0.25], [0.25, 0.25, 0.5]];
/// let y = [0, 1, 2, 2];
/// // Per class: 5/6 (one tie), 1, 3/4 (one tie) — scikit-learn's 0.8611… and 0.8333….
/// let auc = roc_auc_ovr(&y, p.view(), Average::Macro)?;
/// assert!((auc - 31.0 / 36.0).abs() < 1e-15);
/// let auc = roc_auc_ovr(&y, p.view(), Average::Weighted)?;
/// assert!((auc - 5.0 / 6.0).abs() < 1e-15);
/// assert!(roc_auc_ovr(&[0, 1, 1, 1], p.view(), Average::Macro).is_err()); // no class 2
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn roc_auc_ovr(
    y_true: &[usize],
    probabilities: ArrayView2<'_, f64>,
    average: Average,
) -> Result<f64> {
    const METRIC: &str = "roc_auc_ovr";
    check_probability_matrix(
        METRIC,
        y_true,
        probabilities,
        RowSumTolerance::NumpyAllclose,
    )?;
    let n_classes = probabilities.ncols();
    let mut support = vec![0u64; n_classes];
    for &class in y_true {
        if let Some(count) = support.get_mut(class) {
            *count += 1;
        }
    }
    if let Some(absent) = support.iter().position(|&count| count == 0) {
        return Err(TrainError::UndefinedMetric {
            metric: METRIC.into(),
            reason: format!(
                "class {absent} of {n_classes} does not occur in y_true, so its one-vs-rest \
                 ROC AUC has no positive example"
            ),
        });
    }
    let mut sum = ExactSum::default();
    for ((class, column), &count) in probabilities
        .columns()
        .into_iter()
        .enumerate()
        .zip(&support)
    {
        let is_class: Vec<bool> = y_true.iter().map(|&y| y == class).collect();
        let auc = roc_auc(&is_class, &column.to_vec())?;
        match average {
            Average::Macro => sum.add(auc),
            Average::Weighted => sum.add(auc * count as f64),
        }
    }
    let denominator = match average {
        Average::Macro => n_classes,
        Average::Weighted => y_true.len(),
    };
    Ok(sum.value() / denominator as f64)
}

/// Average precision of `scores` for the positive examples: the area under
/// the step-wise precision–recall curve, `Σₜ (Rₜ − Rₜ₋₁) Pₜ`, where `t` runs
/// over the distinct scores from the highest down and `Pₜ`, `Rₜ` are the
/// precision and recall of predicting positive every score `≥ t`. Tied
/// scores are one threshold, so their order does not matter; no
/// interpolation (scikit-learn's `average_precision_score`).
///
/// Needs a positive example ([`TrainError::UndefinedMetric`] otherwise:
/// recall is 0/0; scikit-learn warns and returns 0).
///
/// ```
/// use mlrig_train::metrics::average_precision;
/// // Highest first: 0.8 (negative), 0.4 (positive: P = 1/2, R = 1/2),
/// // 0.35 (positive: P = 2/3, R = 1) → 1/2 · 1/2 + 1/2 · 2/3 = 7/12.
/// let ap = average_precision(&[false, true, true, false], &[0.1, 0.4, 0.35, 0.8])?;
/// assert!((ap - 7.0 / 12.0).abs() < 1e-15);
/// // A positive tied with a negative at the top: one step with P = 1/2.
/// let ap = average_precision(&[true, false, true], &[0.5, 0.5, 0.2])?;
/// assert!((ap - 7.0 / 12.0).abs() < 1e-15);
/// assert!(average_precision(&[false, false], &[0.3, 0.7]).is_err());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn average_precision(y_true: &[bool], scores: &[f64]) -> Result<f64> {
    const METRIC: &str = "average_precision";
    check_pair(METRIC, y_true.len(), "scores", scores.len())?;
    check_finite(METRIC, "scores", scores)?;
    let positives = y_true.iter().filter(|&&y| y).count() as u128;
    if positives == 0 {
        return Err(TrainError::UndefinedMetric {
            metric: METRIC.into(),
            reason: "y_true has no positive example, so recall is 0/0".into(),
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Highest score first; finite scores make `partial_cmp` total (−0.0 ties 0.0).
    order.sort_by(|&a, &b| {
        scores[b]
            .partial_cmp(&scores[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut area = ExactSum::default();
    let (mut true_positives, mut predicted) = (0u128, 0u128);
    let mut start = 0;
    while start < order.len() {
        let score = scores[order[start]];
        let group = order[start..]
            .iter()
            .take_while(|&&i| scores[i] == score)
            .count();
        let group_positives = order[start..start + group]
            .iter()
            .filter(|&&i| y_true[i])
            .count() as u128;
        true_positives += group_positives;
        predicted += group as u128;
        if group_positives > 0 {
            // ΔR · P = (group_positives / positives) · (true_positives / predicted)
            area.add((group_positives * true_positives) as f64 / (positives * predicted) as f64);
        }
        start += group;
    }
    Ok(area.value())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::ndarray::{Array2, array};
    use proptest::prelude::*;

    /// ROC AUC by its definition: P(score₊ > score₋) + ½ P(score₊ = score₋),
    /// over all positive–negative pairs.
    fn pairwise_auc(y: &[bool], s: &[f64]) -> f64 {
        let mut wins = 0.0;
        let mut pairs = 0.0;
        for (i, &yi) in y.iter().enumerate() {
            for (j, &yj) in y.iter().enumerate() {
                if yi && !yj {
                    pairs += 1.0;
                    if s[i] > s[j] {
                        wins += 1.0;
                    } else if s[i] == s[j] {
                        wins += 0.5;
                    }
                }
            }
        }
        wins / pairs
    }

    /// Average precision by its definition: for every distinct score t,
    /// the precision of `score ≥ t` times the recall it adds.
    fn threshold_by_threshold_ap(y: &[bool], s: &[f64]) -> f64 {
        let mut thresholds = s.to_vec();
        thresholds.sort_by(|a, b| b.total_cmp(a));
        thresholds.dedup();
        let positives = y.iter().filter(|&&v| v).count() as f64;
        let (mut ap, mut previous_recall) = (0.0, 0.0);
        for t in thresholds {
            let selected: Vec<bool> = y
                .iter()
                .zip(s)
                .filter(|(_, v)| **v >= t)
                .map(|(y, _)| *y)
                .collect();
            let tp = selected.iter().filter(|&&v| v).count() as f64;
            let recall = tp / positives;
            ap += (recall - previous_recall) * tp / selected.len() as f64;
            previous_recall = recall;
        }
        ap
    }

    #[test]
    fn roc_auc_by_hand() {
        // Perfect ranking, reversed ranking, all tied.
        assert_eq!(
            roc_auc(&[false, true, true], &[0.0, 1.0, 2.0]).unwrap(),
            1.0
        );
        assert_eq!(roc_auc(&[true, false], &[0.0, 1.0]).unwrap(), 0.0);
        assert_eq!(
            roc_auc(&[true, false, true, false], &[3.0; 4]).unwrap(),
            0.5
        );
        // Positives 0.3 and 0.3, negatives 0.3 and 0.1: each positive ties
        // the 0.3 negative (½) and beats the 0.1 negative (1) → 3 of 4 pairs.
        assert_eq!(
            roc_auc(&[true, true, false, false], &[0.3, 0.3, 0.3, 0.1]).unwrap(),
            0.75
        );
        // −0.0 and 0.0 are the same score.
        assert_eq!(roc_auc(&[true, false], &[-0.0, 0.0]).unwrap(), 0.5);
    }

    #[test]
    fn average_precision_by_hand() {
        // Every positive above every negative, all tied, one positive of all.
        assert_eq!(average_precision(&[true, false], &[0.9, 0.1]).unwrap(), 1.0);
        assert_eq!(
            average_precision(&[true, false, false, true], &[0.5; 4]).unwrap(),
            0.5
        );
        assert_eq!(average_precision(&[true, true], &[0.1, 0.2]).unwrap(), 1.0);
        assert_eq!(
            average_precision(&[false, true], &[-0.0, 0.0]).unwrap(),
            0.5
        );
    }

    #[test]
    fn roc_auc_ovr_checks_its_matrix() {
        let p = array![[0.7, 0.3], [0.4, 0.6]];
        // Two columns are accepted; both classes are perfectly ranked.
        assert_eq!(roc_auc_ovr(&[0, 1], p.view(), Average::Macro).unwrap(), 1.0);
        let e = roc_auc_ovr(&[0, 0], p.view(), Average::Weighted).unwrap_err();
        assert_eq!(
            e.to_string(),
            "roc_auc_ovr is undefined: class 1 of 2 does not occur in y_true, so its \
             one-vs-rest ROC AUC has no positive example"
        );
        // numpy.allclose tolerance: 1 + 1e-6 passes, 1 + 1e-4 does not.
        let nearly = array![[0.7 + 1e-6, 0.3], [0.4, 0.6]];
        assert!(roc_auc_ovr(&[0, 1], nearly.view(), Average::Macro).is_ok());
        let off = array![[0.7 + 1e-4, 0.3], [0.4, 0.6]];
        let e = roc_auc_ovr(&[0, 1], off.view(), Average::Macro).unwrap_err();
        assert!(e.to_string().contains("row 0 sums to"), "{e}");
        let empty = Array2::<f64>::zeros((2, 0));
        assert!(matches!(
            roc_auc_ovr(&[0, 1], empty.view(), Average::Macro).unwrap_err(),
            TrainError::TooFewValues {
                required: 2,
                found: 0,
                ..
            }
        ));
        let nan = array![[f64::NAN, 0.3], [0.4, 0.6]];
        assert!(matches!(
            roc_auc_ovr(&[0, 1], nan.view(), Average::Macro).unwrap_err(),
            TrainError::NonFinite { row: 0, .. }
        ));
    }

    proptest! {
        #[test]
        fn roc_auc_equals_the_pairwise_definition(
            data in proptest::collection::vec((any::<bool>(), 0u8..6), 2..40)
        ) {
            let y: Vec<bool> = data.iter().map(|d| d.0).collect();
            let s: Vec<f64> = data.iter().map(|d| f64::from(d.1) / 4.0).collect();
            match roc_auc(&y, &s) {
                Ok(auc) => prop_assert!((auc - pairwise_auc(&y, &s)).abs() < 1e-12),
                Err(_) => prop_assert!(y.iter().all(|&v| v) || y.iter().all(|&v| !v)),
            }
        }

        #[test]
        fn average_precision_equals_the_threshold_definition(
            data in proptest::collection::vec((any::<bool>(), 0u8..6), 1..40)
        ) {
            let y: Vec<bool> = data.iter().map(|d| d.0).collect();
            let s: Vec<f64> = data.iter().map(|d| f64::from(d.1) / 4.0).collect();
            match average_precision(&y, &s) {
                Ok(ap) => prop_assert!((ap - threshold_by_threshold_ap(&y, &s)).abs() < 1e-12),
                Err(_) => prop_assert!(y.iter().all(|&v| !v)),
            }
        }
    }
}
