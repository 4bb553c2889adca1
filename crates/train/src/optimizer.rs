//! Minimisation of smooth convex objectives: limited-memory BFGS (Nocedal &
//! Wright, *Numerical Optimization*, algorithms 7.4 and 3.5/3.6), finished
//! by truncated Newton (Newton-CG, algorithm 7.1) once L-BFGS stalls.
//!
//! L-BFGS gets close to the optimum cheaply, but with one-hot features the
//! objective has directions whose only curvature is the penalty's
//! `1/(C·n)`: there the objective's decrease falls below its own rounding
//! long before the gradient is small, and L-BFGS stalls. Newton-CG steps
//! use the curvature itself (Hessian-vector products, one pass over the
//! data each, never a `p × p` matrix) and converge to the tolerance.
//!
//! Memory is `2 · HISTORY` vectors of the parameter size, whatever the
//! number of rows, so the models using it scale in the number of features.
//! The line search keeps the strong Wolfe conditions (`c₁ = 1e-4`,
//! `c₂ = 0.9`, with Hager & Zhang's allowance for rounding in the values),
//! which keeps every stored curvature pair positive. All arithmetic is
//! sequential: the same objective values give the same iterates on every
//! machine.

use serde::{Deserialize, Serialize};

/// Curvature pairs kept (scikit-learn's `lbfgs` keeps 10 as well).
const HISTORY: usize = 10;
/// Sufficient decrease constant of the Wolfe conditions.
const C1: f64 = 1e-4;
/// Curvature constant of the Wolfe conditions.
const C2: f64 = 0.9;
/// The most objective evaluations in one line search.
const MAX_LINE_SEARCH: usize = 40;
/// Relative objective decrease below which an iteration made no progress at
/// working precision (scikit-learn passes `ftol = 64 · ε` to SciPy's
/// L-BFGS-B).
const STALL: f64 = 64.0 * f64::EPSILON;
/// Consecutive iterations without progress before stopping: near the optimum
/// the objective's decrease drowns in rounding while the gradient still
/// improves, so one stalled step is not yet the end.
const STALLED_ITERATIONS: usize = 5;
/// Relative rounding allowance on objective values in the line search
/// (Hager & Zhang's approximate Wolfe conditions): once the decrease is below
/// the objective's own rounding, the curvature condition alone decides.
const VALUE_NOISE: f64 = 16.0 * f64::EPSILON;

/// Why the optimiser stopped; recorded in fitted models as their convergence report.
///
/// ```
/// use mlrig_train::StopReason;
/// assert_eq!(serde_json::to_string(&StopReason::GradientTolerance).unwrap(), "\"gradient_tolerance\"");
/// assert!(StopReason::GradientTolerance.converged());
/// assert!(!StopReason::MaxIterations.converged());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// The largest gradient component fell to the tolerance: converged.
    GradientTolerance,
    /// The objective stopped decreasing at working precision: converged as
    /// far as `f64` can tell (SciPy's `factr` criterion, which scikit-learn
    /// also accepts as convergence).
    NoFurtherDecrease,
    /// The iteration limit was reached first.
    MaxIterations,
}

impl StopReason {
    /// Whether the optimum was reached (every reason but the iteration limit).
    ///
    /// See [`StopReason`] for an example.
    pub fn converged(self) -> bool {
        !matches!(self, StopReason::MaxIterations)
    }
}

/// The outcome of a minimisation.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub iterations: usize,
    pub gradient_norm: f64,
    pub stop: StopReason,
}

/// Objective and gradient at a point; must be convex and smooth.
pub(crate) trait Objective {
    /// Writes the gradient into `gradient` and returns the value.
    fn value_and_gradient(&self, x: &[f64], gradient: &mut [f64]) -> f64;

    /// A positive estimate of the Hessian's diagonal, used as the initial
    /// inverse-Hessian scaling (a Jacobi preconditioner): with one-hot
    /// features whose frequencies differ by orders of magnitude, plain
    /// L-BFGS crawls along the rare categories. `None` = identity.
    fn diagonal(&self) -> Option<Vec<f64>> {
        None
    }

    /// Writes `H(x)·v` into `out` and returns `true`, or returns `false`
    /// when the objective does not offer Hessian-vector products (then the
    /// optimiser stops where L-BFGS stalls).
    fn hessian_vector(&self, _x: &[f64], _v: &[f64], _out: &mut [f64]) -> bool {
        false
    }
}

/// The most conjugate-gradient iterations for one Newton step.
const MAX_CG: usize = 100;
/// Consecutive stalled L-BFGS iterations before switching to Newton-CG.
const STALLS_BEFORE_NEWTON: usize = 2;

/// An approximate Newton direction: preconditioned conjugate gradients on
/// `H d = −g`, stopped at a relative residual of `min(½, √‖g‖)` (Eisenstat
/// & Walker's forcing term: loose far from the optimum, tight near it), or
/// at negative curvature. `None` when the objective has no Hessian products.
fn newton_direction(
    objective: &impl Objective,
    x: &[f64],
    g: &[f64],
    inverse_diagonal: &[f64],
) -> Option<Vec<f64>> {
    let dim = g.len();
    let mut d = vec![0.0; dim];
    let mut r: Vec<f64> = g.iter().map(|v| -v).collect();
    let mut z: Vec<f64> = r.iter().zip(inverse_diagonal).map(|(r, m)| r * m).collect();
    let mut p = z.clone();
    let mut hp = vec![0.0; dim];
    let mut rz = dot(&r, &z);
    let g_norm = dot(g, g).sqrt();
    let target = g_norm * g_norm.sqrt().min(0.5);
    for iteration in 0..MAX_CG {
        if !objective.hessian_vector(x, &p, &mut hp) {
            return None;
        }
        let curvature = dot(&p, &hp);
        if curvature.is_nan() || curvature <= 0.0 {
            // Negative or zero curvature (rounding): use what we have, or
            // the preconditioned gradient on the first iteration.
            return Some(if iteration == 0 { p } else { d });
        }
        let alpha = rz / curvature;
        d.iter_mut().zip(&p).for_each(|(d, p)| *d += alpha * p);
        r.iter_mut().zip(&hp).for_each(|(r, h)| *r -= alpha * h);
        if dot(&r, &r).sqrt() <= target {
            break;
        }
        z = r.iter().zip(inverse_diagonal).map(|(r, m)| r * m).collect();
        let rz_next = dot(&r, &z);
        let beta = rz_next / rz;
        rz = rz_next;
        p.iter_mut().zip(&z).for_each(|(p, z)| *p = z + beta * *p);
    }
    Some(d)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |s, (a, b)| s + a * b)
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, g| m.max(g.abs()))
}

/// Minimises `objective` from `x0` until the max-abs gradient is at most
/// `tolerance`, progress stalls, or `max_iterations` steps were taken.
/// Returns `None` when the objective or gradient is not finite.
pub(crate) fn minimize(
    objective: &impl Objective,
    x0: Vec<f64>,
    tolerance: f64,
    max_iterations: usize,
) -> Option<Minimum> {
    let dim = x0.len();
    let inverse_diagonal: Vec<f64> = match objective.diagonal() {
        Some(d) if d.len() == dim && d.iter().all(|v| v.is_finite() && *v > 0.0) => {
            d.iter().map(|v| 1.0 / v).collect()
        }
        _ => vec![1.0; dim],
    };
    let mut x = x0;
    let mut g = vec![0.0; dim];
    let mut f = objective.value_and_gradient(&x, &mut g);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::with_capacity(HISTORY);
    let mut iterations = 0;
    let mut stalled = 0;
    let mut newton_mode = false;
    let mut lowest_gradient = f64::INFINITY;
    loop {
        let norm = max_abs(&g);
        if !(f.is_finite() && norm.is_finite()) {
            return None;
        }
        let stop = if norm <= tolerance {
            Some(StopReason::GradientTolerance)
        } else if iterations >= max_iterations {
            Some(StopReason::MaxIterations)
        } else {
            None
        };
        if let Some(stop) = stop {
            return Some(Minimum {
                x,
                iterations,
                gradient_norm: norm,
                stop,
            });
        }

        newton_mode |= stalled >= STALLS_BEFORE_NEWTON;
        let newton = if newton_mode {
            newton_direction(objective, &x, &g, &inverse_diagonal)
        } else {
            None
        };
        let is_newton = newton.is_some();
        let mut direction = newton.unwrap_or_else(|| two_loop(&g, &history, &inverse_diagonal));
        let mut slope = dot(&g, &direction);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction (rounding): restart from steepest descent.
            history.clear();
            direction = g
                .iter()
                .zip(&inverse_diagonal)
                .map(|(v, d)| -v * d)
                .collect();
            slope = dot(&g, &direction);
        }
        // The first step has no curvature information: scale it to unit length.
        let initial = if history.is_empty() && !is_newton {
            (1.0 / dot(&direction, &direction).sqrt()).min(1.0)
        } else {
            1.0
        };
        let step = Search {
            objective,
            x: &x,
            direction: &direction,
            f0: f,
            slope0: slope,
            best: None,
        }
        .run(initial)?;
        iterations += 1;
        let s: Vec<f64> = direction.iter().map(|d| d * step.alpha).collect();
        let y: Vec<f64> = step.gradient.iter().zip(&g).map(|(a, b)| a - b).collect();
        let decrease = f - step.value;
        let scale = f.abs().max(step.value.abs()).max(1.0);
        x = step.x;
        g = step.gradient;
        f = step.value;
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / sy));
        }
        let norm = max_abs(&g);
        let progress = decrease > STALL * scale || (newton_mode && norm < lowest_gradient);
        lowest_gradient = lowest_gradient.min(norm);
        stalled = if !progress { stalled + 1 } else { 0 };
        if stalled == STALLS_BEFORE_NEWTON + STALLED_ITERATIONS
            || (stalled >= STALLED_ITERATIONS && newton_mode && !is_newton)
        {
            return Some(Minimum {
                x,
                iterations,
                gradient_norm: max_abs(&g),
                stop: StopReason::NoFurtherDecrease,
            });
        }
    }
}

/// `−H·g` by the two-loop recursion over the stored pairs, with the initial
/// inverse Hessian `γ · D⁻¹` (`γ = sᵀy / yᵀD⁻¹y` from the latest pair).
fn two_loop(
    g: &[f64],
    history: &std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    inverse_diagonal: &[f64],
) -> Vec<f64> {
    let mut q: Vec<f64> = g.to_vec();
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let a = rho * dot(s, &q);
        q.iter_mut().zip(y).for_each(|(q, y)| *q -= a * y);
        alphas.push(a);
    }
    let gamma = match history.back() {
        Some((s, y, _)) => {
            let scaled = y
                .iter()
                .zip(inverse_diagonal)
                .fold(0.0, |a, (y, d)| a + y * y * d);
            dot(s, y) / scaled
        }
        None => 1.0,
    };
    q.iter_mut()
        .zip(inverse_diagonal)
        .for_each(|(q, d)| *q *= gamma * d);
    for ((s, y, rho), a) in history.iter().zip(alphas.into_iter().rev()) {
        let b = rho * dot(y, &q);
        q.iter_mut().zip(s).for_each(|(q, s)| *q += (a - b) * s);
    }
    q.iter_mut().for_each(|q| *q = -*q);
    q
}

/// A point evaluated along the search direction.
#[derive(Clone)]
struct Step {
    alpha: f64,
    x: Vec<f64>,
    value: f64,
    gradient: Vec<f64>,
    /// Directional derivative `∇f(x)·d`.
    slope: f64,
}

impl Step {
    fn trial(&self) -> Trial {
        Trial {
            alpha: self.alpha,
            value: self.value,
            slope: self.slope,
        }
    }
}

/// The scalars of a step that the bracketing logic needs.
#[derive(Clone, Copy)]
struct Trial {
    alpha: f64,
    value: f64,
    slope: f64,
}

/// Evaluates points along `direction` from `x` and remembers the best one
/// that meets the sufficient-decrease condition.
struct Search<'a, O> {
    objective: &'a O,
    x: &'a [f64],
    direction: &'a [f64],
    f0: f64,
    slope0: f64,
    best: Option<Step>,
}

impl<O: Objective> Search<'_, O> {
    fn evaluate(&mut self, alpha: f64) -> Step {
        let x: Vec<f64> = self
            .x
            .iter()
            .zip(self.direction)
            .map(|(x, d)| x + alpha * d)
            .collect();
        let mut gradient = vec![0.0; x.len()];
        let value = self.objective.value_and_gradient(&x, &mut gradient);
        let slope = dot(&gradient, self.direction);
        let step = Step {
            alpha,
            x,
            value,
            gradient,
            slope,
        };
        if self.sufficient(&step) && self.best.as_ref().is_none_or(|b| step.value < b.value) {
            self.best = Some(step.clone());
        }
        step
    }

    /// Armijo's condition, with Hager & Zhang's allowance for rounding.
    fn sufficient(&self, step: &Step) -> bool {
        step.value.is_finite()
            && step.value <= self.f0 + C1 * step.alpha * self.slope0 + VALUE_NOISE * self.f0.abs()
    }

    /// The strong Wolfe curvature condition.
    fn flat_enough(&self, step: &Step) -> bool {
        step.slope.abs() <= -C2 * self.slope0
    }

    /// Strong-Wolfe line search: bracketing, then zoom by safeguarded cubic
    /// interpolation; falls back to the best sufficient point seen.
    fn run(mut self, initial: f64) -> Option<Step> {
        let mut previous = Trial {
            alpha: 0.0,
            value: self.f0,
            slope: self.slope0,
        };
        let mut alpha = initial;
        for evaluation in 0..MAX_LINE_SEARCH {
            let step = self.evaluate(alpha);
            if !step.value.is_finite() {
                // Overshot into overflow: shrink towards the last good point.
                alpha = previous.alpha + (alpha - previous.alpha) * 0.1;
                continue;
            }
            if !self.sufficient(&step) || (evaluation > 0 && step.value >= previous.value) {
                return self.zoom(previous, step.trial());
            }
            if self.flat_enough(&step) {
                return Some(step);
            }
            if step.slope >= 0.0 {
                return self.zoom(step.trial(), previous);
            }
            previous = step.trial();
            alpha *= 2.0;
        }
        self.best
    }

    /// Shrinks the bracket `[low, high]` (low = the end with the lower value)
    /// until a point meets the strong Wolfe conditions.
    fn zoom(mut self, mut low: Trial, mut high: Trial) -> Option<Step> {
        for _ in 0..MAX_LINE_SEARCH {
            let step = self.evaluate(interpolate(low, high));
            if !self.sufficient(&step) || step.value >= low.value {
                high = step.trial();
            } else {
                if self.flat_enough(&step) {
                    return Some(step);
                }
                if step.slope * (high.alpha - low.alpha) >= 0.0 {
                    high = low;
                }
                low = step.trial();
            }
            if (high.alpha - low.alpha).abs() <= f64::EPSILON * low.alpha.abs().max(1e-300) {
                break;
            }
        }
        self.best
    }
}

/// The minimiser of the cubic through two trials, kept inside the middle 80%
/// of the bracket (bisection when the cubic is not usable).
fn interpolate(a: Trial, b: Trial) -> f64 {
    let (lo, hi) = if a.alpha < b.alpha {
        (a.alpha, b.alpha)
    } else {
        (b.alpha, a.alpha)
    };
    let width = hi - lo;
    let bisect = lo + 0.5 * width;
    if !(b.value.is_finite() && a.value.is_finite() && b.slope.is_finite()) {
        return bisect;
    }
    let d1 = a.slope + b.slope - 3.0 * (a.value - b.value) / (a.alpha - b.alpha);
    let radicand = d1 * d1 - a.slope * b.slope;
    if radicand < 0.0 {
        return bisect;
    }
    let d2 = (b.alpha - a.alpha).signum() * radicand.sqrt();
    let candidate =
        b.alpha - (b.alpha - a.alpha) * (b.slope + d2 - d1) / (b.slope - a.slope + 2.0 * d2);
    if candidate.is_finite() && candidate > lo + 0.1 * width && candidate < hi - 0.1 * width {
        candidate
    } else {
        bisect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ill-conditioned convex quadratic ½ Σ cᵢ (xᵢ − i)².
    struct Quadratic;
    impl Objective for Quadratic {
        fn value_and_gradient(&self, x: &[f64], gradient: &mut [f64]) -> f64 {
            let mut f = 0.0;
            for (i, (x, g)) in x.iter().zip(gradient.iter_mut()).enumerate() {
                let c = [1.0, 10.0, 100.0, 1e3, 1e4][i % 5];
                let d = x - i as f64;
                f += 0.5 * c * d * d;
                *g = c * d;
            }
            f
        }
    }

    /// Rosenbrock's non-convex valley: a hard test of the line search.
    struct Rosenbrock;
    impl Objective for Rosenbrock {
        fn value_and_gradient(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a) * (1.0 - a) + 100.0 * (b - a * a) * (b - a * a)
        }
    }

    #[test]
    fn finds_the_minimum_of_a_quadratic() {
        let m = minimize(&Quadratic, vec![0.0; 12], 1e-8, 500).unwrap();
        assert!(m.stop.converged(), "{m:?}");
        for (i, x) in m.x.iter().enumerate() {
            assert!((x - i as f64).abs() < 1e-6, "{i}: {x}");
        }
    }

    #[test]
    fn follows_the_rosenbrock_valley() {
        let m = minimize(&Rosenbrock, vec![-1.2, 1.0], 1e-8, 1000).unwrap();
        assert!(m.stop.converged(), "{m:?}");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }

    #[test]
    fn reports_the_iteration_limit() {
        let m = minimize(&Quadratic, vec![0.0; 12], 1e-12, 2).unwrap();
        assert_eq!((m.stop, m.iterations), (StopReason::MaxIterations, 2));
    }
}
