//! A weight vector stored as `scale · values`, so that the L2 decay of
//! every SGD step costs O(1) instead of O(features).

/// When the scale falls below this, it is folded into the values, so that
/// `c / scale` in [`ScaledWeights::add`] stays far from overflow.
const RESCALE_BELOW: f64 = 1e-9;

/// The relative accuracy kept for `‖w‖²`: when the rounding errors that
/// incremental updates may have accumulated could exceed this fraction of
/// it, `‖w‖²` is recomputed from the weights (O(features), rarely).
const NORM_ACCURACY: f64 = 1e-9;

/// `w = scale · values`, with `‖w‖²` kept up to date in O(1) per update.
#[derive(Debug, Clone)]
pub(super) struct ScaledWeights {
    values: Vec<f64>,
    scale: f64,
    squared_norm: f64,
    /// A bound on the rounding error accumulated in `squared_norm`.
    squared_norm_error: f64,
}

impl ScaledWeights {
    pub(super) fn new(values: Vec<f64>) -> Self {
        let mut weights = Self {
            values,
            scale: 1.0,
            squared_norm: 0.0,
            squared_norm_error: 0.0,
        };
        weights.recompute_squared_norm();
        weights
    }

    /// `w·x` over the entries of a row, summed left to right, then scaled.
    pub(super) fn dot(&self, row: impl Iterator<Item = (usize, f64)>) -> f64 {
        let sum = row.fold(0.0, |sum, (j, x)| {
            sum + self.values.get(j).copied().unwrap_or(0.0) * x
        });
        sum * self.scale
    }

    /// `w ← factor · w` (`factor ≥ 0`).
    pub(super) fn shrink(&mut self, factor: f64) {
        self.scale *= factor;
        let squared_factor = factor * factor;
        self.squared_norm *= squared_factor;
        self.squared_norm_error =
            self.squared_norm_error * squared_factor + 2.0 * f64::EPSILON * self.squared_norm;
        if self.scale < RESCALE_BELOW {
            self.fold_scale();
        }
    }

    /// `w ← w + c · x` over the entries of a row.
    pub(super) fn add(&mut self, row: impl Iterator<Item = (usize, f64)>, c: f64) {
        let step = c / self.scale;
        let (mut inner, mut inner_magnitude, mut row_norm, mut entries) = (0.0, 0.0, 0.0, 0.0);
        for (j, x) in row {
            if let Some(v) = self.values.get_mut(j) {
                inner += *v * x;
                inner_magnitude += (*v * x).abs();
                row_norm += x * x;
                entries += 1.0;
                *v += x * step;
            }
        }
        // ‖w + c·x‖² = ‖w‖² + c²‖x‖² + 2c·(w·x), in O(1). When the weights
        // shrink by orders of magnitude this cancels, so the error is
        // bounded and the norm recomputed before it matters.
        let square = row_norm * c * c;
        let cross = 2.0 * inner * self.scale * c;
        let cross_magnitude = 2.0 * inner_magnitude * self.scale * c.abs();
        self.squared_norm_error +=
            (entries + 4.0) * f64::EPSILON * (self.squared_norm + square + cross_magnitude);
        self.squared_norm = (self.squared_norm + square + cross).max(0.0);
        if self.squared_norm_error > NORM_ACCURACY * self.squared_norm {
            self.recompute_squared_norm();
        }
    }

    /// `‖w‖²`, to a relative accuracy of about `1e-9`.
    pub(super) fn squared_norm(&self) -> f64 {
        self.squared_norm
    }

    /// Whether every weight is finite.
    pub(super) fn is_finite(&self) -> bool {
        self.scale.is_finite() && self.values.iter().all(|v| v.is_finite())
    }

    /// The weights `w`, with the scale folded in.
    pub(super) fn into_values(mut self) -> Vec<f64> {
        self.fold_scale();
        self.values
    }

    fn fold_scale(&mut self) {
        for v in &mut self.values {
            *v *= self.scale;
        }
        self.scale = 1.0;
        self.squared_norm_error += 2.0 * f64::EPSILON * self.squared_norm;
    }

    fn recompute_squared_norm(&mut self) {
        let sum = self.values.iter().fold(0.0, |sum, v| sum + v * v);
        self.squared_norm = sum * (self.scale * self.scale);
        self.squared_norm_error =
            (self.values.len() as f64 + 2.0) * f64::EPSILON * self.squared_norm;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_updates_equal_plain_arithmetic() {
        let mut w = ScaledWeights::new(vec![1.0, -2.0, 0.5]);
        let row = [(0, 2.0), (2, -1.0)];
        w.shrink(0.5);
        assert_eq!(w.dot(row.into_iter()), 0.5 * (2.0 - 0.5));
        w.add(row.into_iter(), 3.0);
        // w = [0.5 + 6, −1, 0.25 − 3]
        let expected = [6.5, -1.0, -2.75];
        assert!((w.squared_norm() - expected.iter().map(|v| v * v).sum::<f64>()).abs() < 1e-12);
        assert_eq!(w.clone().into_values(), expected);
        // Cancellation: adding −w leaves 0, exactly, after a recomputation.
        let mut v = ScaledWeights::new(vec![1e8, 3.0]);
        v.add([(0, 1.0)].into_iter(), -1e8);
        assert_eq!(v.squared_norm(), 9.0);
        w.shrink(1e-10);
        assert_eq!(w.scale, 1.0);
        assert!(w.is_finite());
        w.shrink(0.0);
        assert_eq!(w.into_values(), [0.0, -0.0, -0.0]);
    }
}
