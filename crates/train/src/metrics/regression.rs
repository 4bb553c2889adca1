//! Metrics of real-valued predictions.

use mlrig_core::ExactSum;

use super::{check_finite, check_pair, exact_mean};
use crate::error::{Result, TrainError};

fn check_regression(metric: &str, y_true: &[f64], y_pred: &[f64]) -> Result<()> {
    check_pair(metric, y_true.len(), "y_pred", y_pred.len())?;
    check_finite(metric, "y_true", y_true)?;
    check_finite(metric, "y_pred", y_pred)
}

/// Coefficient of determination `1 − SS_res / SS_tot` (needs two or more examples).
///
/// ```
/// use mlrig_train::metrics::r2;
/// // ȳ = 2, SS_tot = 2, SS_res = 0.25 + 0 + 0.25 = 0.5
/// assert_eq!(r2(&[1.0, 2.0, 3.0], &[1.5, 2.0, 2.5])?, 0.75);
/// assert_eq!(r2(&[4.0, 4.0], &[4.0, 4.0])?, 1.0); // constant target, perfect fit
/// assert_eq!(r2(&[4.0, 4.0], &[4.0, 5.0])?, 0.0); // constant target, imperfect fit
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check_regression("r2", y_true, y_pred)?;
    if y_true.len() < 2 {
        return Err(TrainError::TooFewValues {
            what: "r2: y_true".into(),
            required: 2,
            found: y_true.len(),
        });
    }
    let mean = exact_mean(y_true.iter().copied(), y_true.len());
    let mut residual = ExactSum::default();
    let mut total = ExactSum::default();
    for (&t, &p) in y_true.iter().zip(y_pred) {
        residual.add((t - p) * (t - p));
        total.add((t - mean) * (t - mean));
    }
    let (residual, total) = (residual.value(), total.value());
    Ok(if total == 0.0 {
        if residual == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - residual / total
    })
}

/// Root mean squared error.
///
/// ```
/// use mlrig_train::metrics::rmse;
/// assert_eq!(rmse(&[0.0, 0.0], &[3.0, -3.0])?, 3.0);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check_regression("rmse", y_true, y_pred)?;
    let squares = y_true.iter().zip(y_pred).map(|(t, p)| (t - p) * (t - p));
    Ok(exact_mean(squares, y_true.len()).sqrt())
}

/// Mean absolute error.
///
/// ```
/// use mlrig_train::metrics::mae;
/// assert_eq!(mae(&[1.0, 2.0], &[2.0, 0.0])?, 1.5);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn mae(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check_regression("mae", y_true, y_pred)?;
    let errors = y_true.iter().zip(y_pred).map(|(t, p)| (t - p).abs());
    Ok(exact_mean(errors, y_true.len()))
}
