//! Epochs of SGD over one linear problem (a regression, or one side of a
//! one-vs-rest classification), as described in the [module docs](super).

use super::learning_rate::{LearningRate, StepSize};
use super::loss::LossFunction;
use super::rows::Rows;
use super::shuffle::epoch_order;
use super::weights::ScaledWeights;
use crate::error::{Result, TrainError};

/// Gradients are clipped to this magnitude, so one outlier cannot blow the
/// weights up in a single step.
const MAX_GRADIENT: f64 = 1e12;

/// What one problem learns from: rows, targets (`±1` for classification)
/// and per-row weights.
pub(super) struct Problem<'a> {
    pub(super) rows: Rows<'a>,
    pub(super) targets: &'a [f64],
    pub(super) sample_weights: Option<&'a [f64]>,
    /// Multiplies the step of rows with a target `> 0`.
    pub(super) positive_weight: f64,
    /// Multiplies the step of the other rows.
    pub(super) negative_weight: f64,
}

/// How to train: the validated parameters, resolved for one call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) loss: LossFunction,
    pub(super) alpha: f64,
    pub(super) learning_rate: LearningRate,
    pub(super) eta0: f64,
    pub(super) power_t: f64,
    pub(super) fit_intercept: bool,
    /// Multiplies intercept updates: 1 for dense rows, smaller for sparse ones.
    pub(super) intercept_decay: f64,
    pub(super) max_epochs: usize,
    pub(super) tolerance: Option<f64>,
    pub(super) n_iter_no_change: usize,
    pub(super) shuffle_seed: Option<u64>,
}

/// Coefficients and intercept of one linear function.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LinearFunction {
    pub(super) coefficients: Vec<f64>,
    pub(super) intercept: f64,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Outcome {
    /// Epochs run.
    pub(super) epochs: usize,
    /// Whether the stopping rule ended training before `max_epochs`.
    pub(super) converged: bool,
}

/// Checks the stopping parameters: at least one epoch, a finite tolerance
/// if any, and `n_iter_no_change ≥ 1`.
pub(super) fn check_stopping(
    max_iter: usize,
    tolerance: Option<f64>,
    n_iter_no_change: usize,
) -> Result<()> {
    if max_iter == 0 {
        return Err(TrainError::invalid_parameter(
            "max_iter",
            "must be at least 1",
        ));
    }
    if let Some(tol) = tolerance.filter(|tol| !tol.is_finite()) {
        return Err(TrainError::invalid_parameter(
            "tolerance",
            format!("must be finite (or absent), got {tol}"),
        ));
    }
    if n_iter_no_change == 0 {
        return Err(TrainError::invalid_parameter(
            "n_iter_no_change",
            "must be at least 1",
        ));
    }
    Ok(())
}

/// Checks the factor on intercept updates from sparse rows: finite and > 0.
pub(super) fn check_sparse_intercept_decay(decay: f64) -> Result<()> {
    if !(decay.is_finite() && decay > 0.0) {
        return Err(TrainError::invalid_parameter(
            "sparse_intercept_decay",
            format!("must be finite and > 0, got {decay}"),
        ));
    }
    Ok(())
}

/// The error of a diverging fit: `quantity` became non-finite in `epoch`.
fn diverged(what: &str, epoch: usize, quantity: &str) -> TrainError {
    TrainError::Numerical {
        what: what.into(),
        reason: format!(
            "{quantity} became non-finite in epoch {epoch}; use a smaller eta0 \
             (or another learning rate) or scale the features (e.g. standardise them)"
        ),
    }
}

/// Runs up to `settings.max_epochs` epochs starting at sample counter `t`,
/// updating `function` in place. On a non-finite weight or score
/// `function` is left as it was and a [`TrainError::Numerical`] names
/// `what` and the epoch.
pub(super) fn run_epochs(
    function: &mut LinearFunction,
    problem: &Problem<'_>,
    settings: &Settings,
    t: u64,
    what: &str,
) -> Result<Outcome> {
    let n = problem.targets.len();
    let mut weights = ScaledWeights::new(function.coefficients.clone());
    let mut intercept = function.intercept;
    let mut step_size = StepSize::new(
        settings.learning_rate,
        settings.eta0,
        settings.power_t,
        settings.alpha,
        settings.loss,
    );
    // t counts in f64, as the schedules use it (exact below 2⁵³ rows).
    let mut counter = t as f64;
    let mut best_objective = f64::INFINITY;
    let mut epochs_without_improvement = 0;
    let mut outcome = Outcome {
        epochs: 0,
        converged: false,
    };
    while outcome.epochs < settings.max_epochs {
        let shuffled = settings
            .shuffle_seed
            .map(|seed| epoch_order(n, seed, counter as u64));
        let mut objective = 0.0;
        for position in 0..n {
            let i = shuffled
                .as_ref()
                .and_then(|order| order.get(position).copied())
                .unwrap_or(position);
            let (Some(&y), row) = (problem.targets.get(i), problem.rows.row(i)) else {
                continue;
            };
            let p = weights.dot(row.clone()) + intercept;
            if !p.is_finite() {
                // Finite weights can still overflow the score of a huge row;
                // the clipped gradient would only keep the weights diverging.
                return Err(diverged(what, outcome.epochs + 1, "the score of a row"));
            }
            let eta = step_size.at(counter);
            if settings.tolerance.is_some() {
                objective += settings.loss.value(y, p);
                objective += settings.alpha * (0.5 * weights.squared_norm());
            }
            let gradient = settings
                .loss
                .gradient(y, p)
                .clamp(-MAX_GRADIENT, MAX_GRADIENT);
            let class_weight = if y > 0.0 {
                problem.positive_weight
            } else {
                problem.negative_weight
            };
            let sample_weight = problem
                .sample_weights
                .and_then(|w| w.get(i).copied())
                .unwrap_or(1.0);
            let update = -eta * gradient * (class_weight * sample_weight);
            // Decay towards 0, but never past it when eta·alpha > 1.
            weights.shrink((1.0 - eta * settings.alpha).max(0.0));
            if update != 0.0 {
                weights.add(row, update);
                if settings.fit_intercept {
                    intercept += update * settings.intercept_decay;
                }
            }
            counter += 1.0;
        }
        outcome.epochs += 1;
        if !(intercept.is_finite() && weights.is_finite()) {
            return Err(diverged(what, outcome.epochs, "the weights"));
        }
        if let Some(tol) = settings.tolerance {
            let mean_objective = objective / n as f64;
            if mean_objective > best_objective - tol {
                epochs_without_improvement += 1;
            } else {
                epochs_without_improvement = 0;
            }
            best_objective = best_objective.min(mean_objective);
        }
        if epochs_without_improvement >= settings.n_iter_no_change {
            if step_size.reduce() {
                epochs_without_improvement = 0;
            } else {
                outcome.converged = true;
                break;
            }
        }
    }
    function.coefficients = weights.into_values();
    function.intercept = intercept;
    Ok(outcome)
}
