//! Learning-rate schedules: the step size `eta` as a function of the sample counter `t`.

use serde::{Deserialize, Serialize};

use super::loss::LossFunction;
use crate::error::{Result, TrainError};

/// How the step size `eta` changes during training (scikit-learn's
/// `learning_rate`; `t` counts the rows seen, starting at 1):
///
/// | schedule | `eta` |
/// |---|---|
/// | `constant` | `eta0` |
/// | `optimal` | `1 / (alpha · (t₀ + t − 1))`, `t₀` from Bottou's heuristic (see [Learning rates](crate::SgdClassifierParams#learning-rates)) |
/// | `invscaling` | `eta0 / t^power_t` |
/// | `adaptive` | `eta0`, divided by 5 whenever `n_iter_no_change` epochs in a row do not improve the objective by `tol` |
///
/// ```
/// use mlrig_train::LearningRate;
/// assert_eq!(serde_json::to_string(&LearningRate::InvScaling)?, "\"invscaling\"");
/// let rate: LearningRate = serde_json::from_str("\"optimal\"")?;
/// assert_eq!(rate, LearningRate::Optimal);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LearningRate {
    /// The same step `eta0` for every row.
    Constant,
    /// `1 / (alpha · (t₀ + t − 1))`: the classifier's default; needs `alpha > 0`.
    Optimal,
    /// `eta0 / t^power_t`: the regressor's default.
    #[serde(rename = "invscaling")]
    InvScaling,
    /// `eta0`, divided by 5 when the objective stops improving.
    Adaptive,
}

/// Below this, `adaptive` no longer divides the step: training stops instead.
const ADAPTIVE_FLOOR: f64 = 1e-6;

/// Checks the parameters of a schedule: `alpha` finite and ≥ 0 (> 0 for
/// `optimal`, whose step is `1/(alpha·…)`), `eta0` finite (> 0 where it is
/// the step), `power_t` finite.
pub(super) fn check_schedule(
    rate: LearningRate,
    alpha: f64,
    eta0: f64,
    power_t: f64,
) -> Result<()> {
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(TrainError::invalid_parameter(
            "alpha",
            format!("must be finite and >= 0, got {alpha}"),
        ));
    }
    if rate == LearningRate::Optimal && alpha == 0.0 {
        return Err(TrainError::invalid_parameter(
            "alpha",
            "must be > 0 with the `optimal` learning rate (its step is 1 / (alpha · t))",
        ));
    }
    let eta0_is_step = rate != LearningRate::Optimal;
    if !eta0.is_finite() || (eta0_is_step && eta0 <= 0.0) || eta0 < 0.0 {
        return Err(TrainError::invalid_parameter(
            "eta0",
            format!("must be finite and > 0 with the {rate:?} learning rate, got {eta0}"),
        ));
    }
    if !power_t.is_finite() {
        return Err(TrainError::invalid_parameter(
            "power_t",
            format!("must be finite, got {power_t}"),
        ));
    }
    Ok(())
}

/// The step size of one training call.
#[derive(Debug, Clone, Copy)]
pub(super) struct StepSize {
    rate: LearningRate,
    eta0: f64,
    power_t: f64,
    alpha: f64,
    /// `t₀` of the `optimal` schedule.
    optimal_offset: f64,
    /// The current step of `constant` and `adaptive`.
    current: f64,
}

impl StepSize {
    /// The schedule at the start of a training call (`adaptive` restarts at `eta0`).
    pub(super) fn new(
        rate: LearningRate,
        eta0: f64,
        power_t: f64,
        alpha: f64,
        loss: LossFunction,
    ) -> Self {
        let optimal_offset = if rate == LearningRate::Optimal {
            // Bottou's heuristic: the first step is about the size of a
            // typical weight, typw = 1/√(√alpha), damped by a steep loss.
            let typical_weight = libm::sqrt(1.0 / libm::sqrt(alpha));
            let first_eta = typical_weight / loss.gradient(1.0, -typical_weight).max(1.0);
            1.0 / (first_eta * alpha)
        } else {
            0.0
        };
        Self {
            rate,
            eta0,
            power_t,
            alpha,
            optimal_offset,
            current: eta0,
        }
    }

    /// `eta` for the row with counter `t`.
    pub(super) fn at(&self, t: f64) -> f64 {
        match self.rate {
            LearningRate::Optimal => 1.0 / (self.alpha * (self.optimal_offset + t - 1.0)),
            LearningRate::InvScaling => self.eta0 / libm::pow(t, self.power_t),
            LearningRate::Constant | LearningRate::Adaptive => self.current,
        }
    }

    /// Called when the objective stopped improving: `adaptive` divides its
    /// step by 5 and returns `true` (keep training) while the step is above
    /// `1e-6`; otherwise returns `false` (stop).
    pub(super) fn reduce(&mut self) -> bool {
        if self.rate == LearningRate::Adaptive && self.current > ADAPTIVE_FLOOR {
            self.current /= 5.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_starts_at_the_typical_weight() {
        let alpha = 1e-4;
        let step = StepSize::new(LearningRate::Optimal, 0.0, 0.5, alpha, LossFunction::Hinge);
        // typw = 1/√(√1e-4) = 10; the first step equals typw.
        assert!((step.at(1.0) - 10.0).abs() < 1e-12);
        assert!(step.at(2.0) < step.at(1.0));
    }

    #[test]
    fn invscaling_and_adaptive() {
        let step = StepSize::new(
            LearningRate::InvScaling,
            0.1,
            0.5,
            0.0,
            LossFunction::Squared,
        );
        assert_eq!(step.at(4.0), 0.05);
        let mut adaptive = StepSize::new(
            LearningRate::Adaptive,
            1e-5,
            0.5,
            0.0,
            LossFunction::Squared,
        );
        assert!(adaptive.reduce());
        assert_eq!(adaptive.at(100.0), 1e-5 / 5.0);
        assert!(adaptive.reduce());
        assert!(!adaptive.reduce());
        let mut constant =
            StepSize::new(LearningRate::Constant, 0.5, 0.5, 0.0, LossFunction::Squared);
        assert!(!constant.reduce());
        assert_eq!(constant.at(7.0), 0.5);
    }
}
