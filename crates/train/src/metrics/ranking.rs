//! Metrics of scores that rank the examples.

use super::{check_finite, check_pair};
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
