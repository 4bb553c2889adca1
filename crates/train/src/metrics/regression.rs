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

/// Mean absolute percentage error `mean(|y − ŷ| / max(|y|, ε))` with
/// `ε = f64::EPSILON`, as a fraction (0.25 means 25 %), like scikit-learn's
/// `mean_absolute_percentage_error`. A zero in `y_true` divides by `ε`: the
/// result is huge but finite, as in scikit-learn.
///
/// ```
/// use mlrig_train::metrics::mape;
/// // (0.5 / 1 + 1 / 2 + 0 / 4) / 3
/// assert!((mape(&[1.0, -2.0, 4.0], &[1.5, -1.0, 4.0])? - 1.0 / 3.0).abs() < 1e-15);
/// // y = 0: the error 1e-16 is divided by ε ≈ 2.2e-16.
/// let m = mape(&[0.0, 2.0], &[1e-16, 3.0])?;
/// assert!((m - (1e-16 / f64::EPSILON + 0.5) / 2.0).abs() < 1e-15);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn mape(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check_regression("mape", y_true, y_pred)?;
    let errors = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).abs() / t.abs().max(f64::EPSILON));
    Ok(exact_mean(errors, y_true.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_by_hand() {
        let t = [3.0, -0.5, 2.0, 7.0];
        let p = [2.5, 0.0, 2.0, 8.0];
        // sklearn docs example: r2_score = 0.9486081370449679, MAE = 0.5, RMSE = sqrt(0.375).
        assert!((r2(&t, &p).unwrap() - 0.948_608_137_044_967_9).abs() < 1e-15);
        assert_eq!(mae(&t, &p).unwrap(), 0.5);
        assert_eq!(rmse(&t, &p).unwrap(), 0.375f64.sqrt());
        // mean_absolute_percentage_error of the same: 0.3273809523809524.
        assert!((mape(&t, &p).unwrap() - 0.327_380_952_380_952_4).abs() < 1e-15);
    }

    #[test]
    fn mape_divides_zero_targets_by_epsilon() {
        assert_eq!(mape(&[0.0], &[1.0]).unwrap(), 1.0 / f64::EPSILON);
        assert_eq!(mape(&[-0.0], &[0.0]).unwrap(), 0.0);
        assert!(mape(&[1.0], &[f64::NAN]).is_err());
    }
}
