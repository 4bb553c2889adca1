//! The losses: gradients and hessians per row, starting scores, held-out
//! loss, and the link from raw scores to predictions.

use mlrig_core::ExactSum;
use rayon::prelude::*;

use super::ROW_CHUNK;
use super::exp::exp;
use serde::{Deserialize, Serialize};

/// A resolved loss; `y` is a class index (as `f64`) or a value. Internal:
/// reachable only through [`GbdtTarget`](super::GbdtTarget)'s hidden method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Binary log loss on one raw score (the log-odds of class 1).
    Binary,
    /// Softmax over one raw score per class.
    Multiclass { classes: usize },
    /// Squared error.
    Squared,
    /// Poisson deviance with a log link.
    Poisson,
}

/// LightGBM's `max_delta_step` for Poisson: the hessian `exp(f + 0.7)`
/// keeps early steps safe.
const POISSON_MAX_DELTA_STEP: f64 = 0.7;

/// Hessians below this are raised to it so leaves of pure rows stay finite.
const MIN_HESSIAN: f64 = 1e-16;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-x))
}

/// Softmax of `scores` into `out`.
fn softmax(scores: &[f64], out: &mut [f64]) {
    softmax_with(libm::exp, scores, out);
}

/// Softmax of `scores` into `out` with the exponential `exp`.
fn softmax_with(exp: impl Fn(f64) -> f64, scores: &[f64], out: &mut [f64]) {
    let max = scores.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
    let mut total = 0.0;
    for (o, s) in out.iter_mut().zip(scores) {
        *o = exp(s - max);
        total += *o;
    }
    for o in out.iter_mut() {
        *o /= total;
    }
}

impl Objective {
    /// Raw scores (and trees) per row and round.
    pub(super) fn groups(&self) -> usize {
        match self {
            Objective::Multiclass { classes } => *classes,
            _ => 1,
        }
    }

    /// The constant start of every row's scores: the (weighted) log-odds,
    /// log class frequencies, mean or log mean of the training rows.
    pub(super) fn base_scores(&self, y: &[f64], weights: &[f64], rows: &[u32]) -> Vec<f64> {
        let mut total_weight = ExactSum::default();
        let mut per_group = vec![ExactSum::default(); self.groups()];
        for &row in rows {
            let (y, w) = (y[row as usize], weights[row as usize]);
            total_weight.add(w);
            match self {
                Objective::Multiclass { .. } => {
                    if let Some(sum) = per_group.get_mut(y as usize) {
                        sum.add(w);
                    }
                }
                _ => per_group[0].add(w * y),
            }
        }
        let total = total_weight.value();
        let mean = |sum: &ExactSum| {
            if total > 0.0 {
                sum.value() / total
            } else {
                0.0
            }
        };
        let clamp = |p: f64| p.clamp(1e-15, 1.0 - 1e-15);
        match self {
            Objective::Binary => {
                let p = clamp(mean(&per_group[0]));
                vec![libm::log(p / (1.0 - p))]
            }
            Objective::Multiclass { .. } => per_group
                .iter()
                .map(|sum| libm::log(clamp(mean(sum))))
                .collect(),
            Objective::Squared => vec![mean(&per_group[0])],
            Objective::Poisson => vec![libm::log(mean(&per_group[0]).max(1e-15))],
        }
    }

    /// Gradients and hessians of group `group` for every row (weighted).
    /// Chunks of rows in parallel, each a tight loop per loss; `e^x` is
    /// [`exp::exp`] (vectorizable, the same bits everywhere).
    pub(super) fn gradients(
        &self,
        scores: &[f64],
        y: &[f64],
        weights: &[f64],
        group: usize,
        g: &mut Vec<f64>,
        h: &mut Vec<f64>,
    ) {
        let k = self.groups();
        g.resize(y.len(), 0.0);
        h.resize(y.len(), 0.0);
        // Rows are independent, so the chunking does not change the result.
        g.par_chunks_mut(ROW_CHUNK)
            .zip(h.par_chunks_mut(ROW_CHUNK))
            .enumerate()
            .for_each(|(chunk, (g, h))| {
                let rows = chunk * ROW_CHUNK..chunk * ROW_CHUNK + g.len();
                let (y, w) = (&y[rows.clone()], &weights[rows.clone()]);
                let scores = &scores[rows.start * k..rows.end * k];
                let rows = g.iter_mut().zip(h.iter_mut()).zip(y.iter().zip(w));
                match self {
                    Objective::Binary => {
                        for (((g, h), (&y, &w)), &s) in rows.zip(scores) {
                            let p = 1.0 / (1.0 + exp(-s));
                            *g = (p - y) * w;
                            *h = (p * (1.0 - p)).max(MIN_HESSIAN) * w;
                        }
                    }
                    Objective::Multiclass { classes } => {
                        // LightGBM's factor k / (k − 1) on the diagonal hessian.
                        let factor = *classes as f64 / (*classes as f64 - 1.0);
                        let mut probabilities = vec![0.0; k];
                        for (((g, h), (&y, &w)), s) in rows.zip(scores.chunks_exact(k)) {
                            softmax_with(exp, s, &mut probabilities);
                            let p = probabilities[group];
                            let is = if y as usize == group { 1.0 } else { 0.0 };
                            *g = (p - is) * w;
                            *h = (factor * p * (1.0 - p)).max(MIN_HESSIAN) * w;
                        }
                    }
                    Objective::Squared => {
                        for (((g, h), (&y, &w)), &s) in rows.zip(scores) {
                            *g = (s - y) * w;
                            *h = w;
                        }
                    }
                    Objective::Poisson => {
                        for (((g, h), (&y, &w)), &s) in rows.zip(scores) {
                            *g = (exp(s) - y) * w;
                            *h = exp(s + POISSON_MAX_DELTA_STEP).max(MIN_HESSIAN) * w;
                        }
                    }
                }
            });
    }

    /// The mean (weighted) loss of `rows`, summed in row order.
    pub(super) fn loss(&self, scores: &[f64], y: &[f64], weights: &[f64], rows: &[u32]) -> f64 {
        let k = self.groups();
        let mut probabilities = vec![0.0; k];
        let (mut total, mut weight) = (ExactSum::default(), ExactSum::default());
        for &row in rows {
            let row = row as usize;
            let (y, w) = (y[row], weights[row]);
            let s = &scores[row * k..(row + 1) * k];
            let loss = match self {
                Objective::Binary => {
                    let p = sigmoid(s[0]).clamp(1e-15, 1.0 - 1e-15);
                    -(y * libm::log(p) + (1.0 - y) * libm::log(1.0 - p))
                }
                Objective::Multiclass { .. } => {
                    softmax(s, &mut probabilities);
                    let p = probabilities.get(y as usize).copied().unwrap_or(0.0);
                    -libm::log(p.max(1e-15))
                }
                Objective::Squared => (s[0] - y) * (s[0] - y),
                Objective::Poisson => libm::exp(s[0]) - y * s[0],
            };
            total.add(loss * w);
            weight.add(w);
        }
        total.value() / weight.value().max(f64::MIN_POSITIVE)
    }

    /// Predictions from one row's raw scores: class probabilities or a value.
    pub(super) fn link(&self, raw: &[f64], out: &mut [f64]) {
        match self {
            Objective::Binary => {
                let p = sigmoid(raw[0]);
                out[0] = 1.0 - p;
                out[1] = p;
            }
            Objective::Multiclass { .. } => softmax(raw, out),
            Objective::Squared => out[0] = raw[0],
            Objective::Poisson => out[0] = libm::exp(raw[0]),
        }
    }
}
