//! Metrics of predicted labels.

use super::check_pair;
use crate::error::Result;

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
