//! The losses SGD minimises, and their derivatives with respect to the score.

use serde::{Deserialize, Serialize};

/// The loss of an [`SgdClassifier`](crate::SgdClassifier) (scikit-learn's
/// `loss`); the default is `hinge`, as in scikit-learn. For a label
/// `y ∈ {−1, +1}` and a score `p`, with `z = y·p`:
///
/// | loss | value | probabilities |
/// |---|---|---|
/// | `log_loss` | `log(1 + e^(−z))` (logistic regression) | `σ(p)` per class (normalised over classes when `k > 2`) |
/// | `hinge` | `max(0, 1 − z)` (linear SVM) | one-hot of the highest score |
/// | `modified_huber` | `max(0, 1 − z)²` for `z ≥ −1`, else `−4z` | `(clip(p, −1, 1) + 1) / 2` (normalised when `k > 2`) |
///
/// ```
/// use mlrig_train::SgdClassifierLoss;
/// assert_eq!(SgdClassifierLoss::default(), SgdClassifierLoss::Hinge);
/// assert_eq!(serde_json::to_string(&SgdClassifierLoss::LogLoss)?, "\"log_loss\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SgdClassifierLoss {
    /// Logistic loss: probabilistic, like logistic regression.
    LogLoss,
    /// Hinge loss: a linear support vector machine.
    #[default]
    Hinge,
    /// Quadratically smoothed hinge: tolerant to outliers, gives probabilities.
    ModifiedHuber,
}

/// The loss of an [`SgdRegressor`](crate::SgdRegressor) (scikit-learn's
/// `loss`); the default is `squared_error`. With the residual `r = p − y`:
///
/// | loss | value |
/// |---|---|
/// | `squared_error` | `r² / 2` (least squares) |
/// | `huber` | `r² / 2` for `|r| ≤ epsilon`, else `epsilon·(|r| − epsilon/2)` (robust to outliers) |
///
/// ```
/// use mlrig_train::SgdRegressorLoss;
/// assert_eq!(SgdRegressorLoss::default(), SgdRegressorLoss::SquaredError);
/// assert_eq!(serde_json::to_string(&SgdRegressorLoss::Huber)?, "\"huber\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SgdRegressorLoss {
    /// Half the squared residual: ordinary least squares.
    #[default]
    SquaredError,
    /// Huber's loss: quadratic near 0, linear beyond `epsilon`.
    Huber,
}

/// A loss as SGD uses it: its value (for the stopping rule) and its
/// derivative in the score. Classification labels are `−1` / `+1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum LossFunction {
    Logistic,
    Hinge,
    ModifiedHuber,
    Squared,
    Huber { epsilon: f64 },
}

impl From<SgdClassifierLoss> for LossFunction {
    fn from(loss: SgdClassifierLoss) -> Self {
        match loss {
            SgdClassifierLoss::LogLoss => LossFunction::Logistic,
            SgdClassifierLoss::Hinge => LossFunction::Hinge,
            SgdClassifierLoss::ModifiedHuber => LossFunction::ModifiedHuber,
        }
    }
}

/// Below this score `exp(−p)` would be huge; `σ(p) = e^p` to double precision there.
const LOGISTIC_TAIL: f64 = -37.0;

impl LossFunction {
    /// The loss of score `p` for label `y`.
    pub(super) fn value(self, y: f64, p: f64) -> f64 {
        match self {
            LossFunction::Logistic => {
                // log(1 + e^(−z)) without overflow.
                let z = y * p;
                (-z).max(0.0) + libm::log1p(libm::exp(-z.abs()))
            }
            LossFunction::Hinge => (1.0 - y * p).max(0.0),
            LossFunction::ModifiedHuber => {
                let z = y * p;
                if z >= 1.0 {
                    0.0
                } else if z >= -1.0 {
                    (1.0 - z) * (1.0 - z)
                } else {
                    -4.0 * z
                }
            }
            LossFunction::Squared => 0.5 * (p - y) * (p - y),
            LossFunction::Huber { epsilon } => {
                let r = (p - y).abs();
                if r <= epsilon {
                    0.5 * r * r
                } else {
                    epsilon * (r - 0.5 * epsilon)
                }
            }
        }
    }

    /// The derivative of the loss with respect to the score `p`.
    pub(super) fn gradient(self, y: f64, p: f64) -> f64 {
        match self {
            LossFunction::Logistic => {
                // σ(p) − [y = +1], written so that neither branch overflows
                // and the positive case avoids the cancellation of σ(p) − 1.
                let positive = y > 0.0;
                if p > LOGISTIC_TAIL {
                    let e = libm::exp(-p);
                    if positive {
                        -e / (1.0 + e)
                    } else {
                        1.0 / (1.0 + e)
                    }
                } else {
                    libm::exp(p) - if positive { 1.0 } else { 0.0 }
                }
            }
            LossFunction::Hinge => {
                if y * p <= 1.0 {
                    -y
                } else {
                    0.0
                }
            }
            LossFunction::ModifiedHuber => {
                let z = y * p;
                if z >= 1.0 {
                    0.0
                } else if z >= -1.0 {
                    2.0 * (1.0 - z) * -y
                } else {
                    -4.0 * y
                }
            }
            LossFunction::Squared => p - y,
            LossFunction::Huber { epsilon } => {
                let r = p - y;
                if r.abs() <= epsilon {
                    r
                } else if r > 0.0 {
                    epsilon
                } else {
                    -epsilon
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central finite difference of the loss.
    fn numeric_gradient(loss: LossFunction, y: f64, p: f64) -> f64 {
        let h = 1e-6;
        (loss.value(y, p + h) - loss.value(y, p - h)) / (2.0 * h)
    }

    #[test]
    fn gradients_are_derivatives_of_the_values() {
        let classification = [
            LossFunction::Logistic,
            LossFunction::Hinge,
            LossFunction::ModifiedHuber,
        ];
        let regression = [LossFunction::Squared, LossFunction::Huber { epsilon: 0.75 }];
        let cases = classification
            .iter()
            .flat_map(|&loss| [(loss, -1.0), (loss, 1.0)])
            .chain(
                regression
                    .iter()
                    .flat_map(|&loss| [(loss, -1.0), (loss, 0.3), (loss, 2.0)]),
            );
        for (loss, y) in cases {
            for p in [-5.0, -1.7, -0.4, 0.2, 0.6, 1.3, 4.0] {
                let (analytic, numeric) = (loss.gradient(y, p), numeric_gradient(loss, y, p));
                assert!(
                    (analytic - numeric).abs() < 1e-6,
                    "{loss:?} y={y} p={p}: {analytic} vs {numeric}"
                );
            }
        }
    }

    #[test]
    fn logistic_loss_is_finite_far_out() {
        let loss = LossFunction::Logistic;
        assert_eq!(loss.value(1.0, 1000.0), 0.0);
        assert_eq!(loss.value(1.0, -1000.0), 1000.0);
        assert_eq!(loss.gradient(1.0, -1000.0), -1.0);
        assert_eq!(loss.gradient(-1.0, -1000.0), 0.0);
        assert_eq!(loss.gradient(1.0, 1000.0), -0.0);
        assert_eq!(loss.gradient(-1.0, 1000.0), 1.0);
    }
}
