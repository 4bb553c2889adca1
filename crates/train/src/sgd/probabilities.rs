//! From one-vs-rest scores to class probabilities, per loss (as scikit-learn's `predict_proba`).

use super::loss::SgdClassifierLoss;
use crate::logistic_regression::sigmoid;

/// The probabilities of one row from its scores (see [`SgdClassifierLoss`]).
pub(super) fn row_probabilities(loss: SgdClassifierLoss, scores: &[f64], out: &mut [f64]) {
    if let [score] = scores {
        let positive = match loss {
            SgdClassifierLoss::LogLoss => sigmoid(*score),
            SgdClassifierLoss::ModifiedHuber => (score.clamp(-1.0, 1.0) + 1.0) / 2.0,
            SgdClassifierLoss::Hinge => f64::from(u8::from(*score > 0.0)),
        };
        if let [negative_out, positive_out] = out {
            *negative_out = 1.0 - positive;
            *positive_out = positive;
        }
        return;
    }
    match loss {
        SgdClassifierLoss::Hinge => {
            let best = first_argmax(scores);
            for (k, p) in out.iter_mut().enumerate() {
                *p = f64::from(u8::from(k == best));
            }
        }
        SgdClassifierLoss::LogLoss => {
            for (p, &score) in out.iter_mut().zip(scores) {
                *p = sigmoid(score);
            }
            if !normalise(out) {
                // Every σ underflowed to 0: σ(s) ≈ e^s there, so the
                // normalised values tend to the softmax of the scores.
                let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                for (p, &score) in out.iter_mut().zip(scores) {
                    *p = libm::exp(score - top);
                }
                normalise(out);
            }
        }
        SgdClassifierLoss::ModifiedHuber => {
            for (p, &score) in out.iter_mut().zip(scores) {
                *p = (score.clamp(-1.0, 1.0) + 1.0) / 2.0;
            }
            if !normalise(out) {
                // Every class scored ≤ −1: no preference (as scikit-learn).
                let uniform = 1.0 / out.len() as f64;
                out.iter_mut().for_each(|p| *p = uniform);
            }
        }
    }
}

/// Divides by the sum; `false` (and unchanged) when the sum is 0.
fn normalise(values: &mut [f64]) -> bool {
    let sum: f64 = values.iter().sum();
    if sum == 0.0 {
        return false;
    }
    values.iter_mut().for_each(|v| *v /= sum);
    true
}

/// The index of the largest value, the first on ties.
fn first_argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (k, v) in values.iter().enumerate() {
        if values.get(best).is_some_and(|b| v > b) {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_of_each_loss() {
        let mut out = [0.0; 2];
        row_probabilities(SgdClassifierLoss::ModifiedHuber, &[0.5], &mut out);
        assert_eq!(out, [0.25, 0.75]);
        row_probabilities(SgdClassifierLoss::Hinge, &[-0.1], &mut out);
        assert_eq!(out, [1.0, 0.0]);
        row_probabilities(SgdClassifierLoss::LogLoss, &[0.0], &mut out);
        assert_eq!(out, [0.5, 0.5]);
        let mut out = [0.0; 3];
        row_probabilities(SgdClassifierLoss::Hinge, &[1.0, 3.0, 3.0], &mut out);
        assert_eq!(out, [0.0, 1.0, 0.0]);
        row_probabilities(
            SgdClassifierLoss::ModifiedHuber,
            &[-2.0, -5.0, -1.0],
            &mut out,
        );
        assert_eq!(out, [1.0 / 3.0; 3]);
        row_probabilities(
            SgdClassifierLoss::LogLoss,
            &[-2000.0, -2001.0, -3000.0],
            &mut out,
        );
        assert!(
            (out[0] - 1.0 / (1.0 + libm::exp(-1.0))).abs() < 1e-15,
            "{out:?}"
        );
        assert_eq!(out[2], 0.0);
    }
}
