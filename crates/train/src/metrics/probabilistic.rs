//! Metrics of predicted probabilities.

use super::{check_finite, check_pair, exact_mean};
use crate::error::{Result, TrainError};

/// Mean negative log-likelihood of the positive-class probabilities
/// `probabilities` (each in `[0, 1]`), clipped to `[ε, 1 − ε]` with
/// `ε = f64::EPSILON` as scikit-learn does.
///
/// ```
/// use mlrig_train::metrics::log_loss;
/// let l = log_loss(&[true, false], &[0.8, 0.3])?;
/// assert!((l - (-(0.8f64.ln()) - 0.7f64.ln()) / 2.0).abs() < 1e-15);
/// // A confident mistake is finite: −ln(ε) ≈ 36.04.
/// assert!((log_loss(&[true], &[0.0])? - 36.04365338911715).abs() < 1e-12);
/// assert!(log_loss(&[true], &[1.5]).is_err());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn log_loss(y_true: &[bool], probabilities: &[f64]) -> Result<f64> {
    check_pair(
        "log_loss",
        y_true.len(),
        "probabilities",
        probabilities.len(),
    )?;
    check_finite("log_loss", "probabilities", probabilities)?;
    if let Some((row, &value)) = probabilities
        .iter()
        .enumerate()
        .find(|(_, p)| !(0.0..=1.0).contains(*p))
    {
        return Err(TrainError::InvalidParameter {
            name: "probabilities".into(),
            reason: format!("log_loss: probability {value} at row {row} is outside [0, 1]"),
        });
    }
    let eps = f64::EPSILON;
    let losses = y_true.iter().zip(probabilities).map(|(&positive, &p)| {
        let q = if positive { p } else { 1.0 - p };
        -libm::log(q.clamp(eps, 1.0 - eps))
    });
    Ok(exact_mean(losses, y_true.len()))
}
