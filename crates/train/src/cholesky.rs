//! Solving symmetric positive (semi-)definite systems `A x = b` by Cholesky
//! factorisation, the core of the normal equations and of Newton steps.
//!
//! Three things make the solve robust without a LAPACK dependency:
//!
//! 1. **Equilibration.** `A` is rescaled to unit diagonal,
//!    `B = D^{-1/2} A D^{-1/2}` with `D = diag(A)`, so the singularity test
//!    below does not depend on the units of the features.
//! 2. **Inactive variables.** A variable whose diagonal entry is exactly zero
//!    (a feature that is constant in the training data) cannot be determined;
//!    its solution component is set to 0, the minimum-norm choice.
//! 3. **Stabilising ridge.** A pivot below [`PIVOT_TOLERANCE`] means a
//!    variable is (numerically) a linear combination of the others. The
//!    factorisation is then retried on `B + τ I` for τ in
//!    [`STABILIZING_RIDGES`], the first that succeeds is used and reported,
//!    so the caller can say that a minimal ridge was applied. On the original
//!    scale `τ I` is `τ · diag(A)`, a ridge relative to each variable's scale.

use mlrig_core::ndarray::{Array1, Array2};

use crate::error::{Result, TrainError};

/// The smallest accepted pivot of the unit-diagonal matrix: a variable whose
/// variance unexplained by the previous ones is below this fraction of its
/// own variance is treated as collinear.
pub(crate) const PIVOT_TOLERANCE: f64 = 1e-10;

/// The ridges (relative to each variable's diagonal entry) tried in turn
/// when the matrix is singular or too ill-conditioned.
pub(crate) const STABILIZING_RIDGES: [f64; 6] = [1e-9, 1e-7, 1e-5, 1e-3, 1e-1, 1.0];

/// The solution of `A x = b` and the stabilising ridge that was needed (0 if none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpdSolution {
    /// The solution vector.
    pub(crate) x: Array1<f64>,
    /// The relative ridge τ added to the unit-diagonal matrix; 0 when the plain system was solved.
    pub(crate) ridge: f64,
}

/// Solves `a x = b` for a symmetric positive semi-definite `a` (only the
/// lower triangle is read). `what` names the computation in errors.
pub(crate) fn solve_spd(a: &Array2<f64>, b: &Array1<f64>, what: &str) -> Result<SpdSolution> {
    let n = b.len();
    if a.nrows() != n || a.ncols() != n {
        return Err(TrainError::Numerical {
            what: what.into(),
            reason: format!(
                "matrix is {}x{}, right-hand side has {n} entries",
                a.nrows(),
                a.ncols()
            ),
        });
    }
    if a.iter().chain(b.iter()).any(|v| !v.is_finite()) {
        return Err(TrainError::Numerical {
            what: what.into(),
            reason: "the system has non-finite entries (features or targets too large?)".into(),
        });
    }
    // Equilibrate over the active variables (positive diagonal).
    let active: Vec<usize> = (0..n).filter(|&i| a[[i, i]] > 0.0).collect();
    let scale: Vec<f64> = active.iter().map(|&i| a[[i, i]].sqrt()).collect();
    let m = active.len();
    let mut unit = Array2::<f64>::zeros((m, m));
    for (r, &i) in active.iter().enumerate() {
        for (c, &j) in active.iter().enumerate().take(r + 1) {
            let v = a[[i.max(j), i.min(j)]] / (scale[r] * scale[c]);
            unit[[r, c]] = v;
            unit[[c, r]] = v;
        }
    }
    let rhs: Vec<f64> = active.iter().zip(&scale).map(|(&i, s)| b[i] / s).collect();

    for ridge in std::iter::once(0.0).chain(STABILIZING_RIDGES) {
        let Some(factor) = cholesky(&unit, ridge) else {
            continue;
        };
        let z = solve_factored(&factor, &rhs);
        let mut x = Array1::<f64>::zeros(n);
        for ((&i, s), zi) in active.iter().zip(&scale).zip(z) {
            x[i] = zi / s;
        }
        if x.iter().all(|v| v.is_finite()) {
            return Ok(SpdSolution { x, ridge });
        }
    }
    Err(TrainError::Numerical {
        what: what.into(),
        reason: format!(
            "the matrix is not positive definite even with a relative ridge of {}",
            STABILIZING_RIDGES[STABILIZING_RIDGES.len() - 1]
        ),
    })
}

/// Lower-triangular Cholesky factor of `unit + ridge·I`, or `None` if a pivot
/// falls below [`PIVOT_TOLERANCE`].
fn cholesky(unit: &Array2<f64>, ridge: f64) -> Option<Array2<f64>> {
    let m = unit.nrows();
    let mut l = Array2::<f64>::zeros((m, m));
    for j in 0..m {
        let mut pivot = unit[[j, j]] + ridge;
        for k in 0..j {
            pivot -= l[[j, k]] * l[[j, k]];
        }
        if pivot.is_nan() || pivot < PIVOT_TOLERANCE {
            return None;
        }
        let root = pivot.sqrt();
        l[[j, j]] = root;
        for i in (j + 1)..m {
            let mut v = unit[[i, j]];
            for k in 0..j {
                v -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = v / root;
        }
    }
    Some(l)
}

/// Solves `L Lᵀ z = rhs` by forward and back substitution.
fn solve_factored(l: &Array2<f64>, rhs: &[f64]) -> Vec<f64> {
    let m = rhs.len();
    let mut y = rhs.to_vec();
    for i in 0..m {
        let mut v = y[i];
        for k in 0..i {
            v -= l[[i, k]] * y[k];
        }
        y[i] = v / l[[i, i]];
    }
    for i in (0..m).rev() {
        let mut v = y[i];
        for k in (i + 1)..m {
            v -= l[[k, i]] * y[k];
        }
        y[i] = v / l[[i, i]];
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::ndarray::array;
    use proptest::prelude::*;

    fn residual(a: &Array2<f64>, x: &Array1<f64>, b: &Array1<f64>) -> f64 {
        (a.dot(x) - b).iter().fold(0.0f64, |m, v| m.max(v.abs()))
    }

    #[test]
    fn solves_a_well_conditioned_system_exactly_enough() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let b = array![1.0, -2.0, 0.5];
        let s = solve_spd(&a, &b, "test").unwrap();
        assert_eq!(s.ridge, 0.0);
        assert!(residual(&a, &s.x, &b) < 1e-14);
    }

    #[test]
    fn is_invariant_to_variable_scale() {
        // The same system with the second variable in units 1e8 smaller.
        let a = array![[2.0, 1e-8], [1e-8, 3e-16]];
        let b = array![1.0, 2e-8];
        let s = solve_spd(&a, &b, "test").unwrap();
        assert_eq!(s.ridge, 0.0);
        let unscaled = solve_spd(&array![[2.0, 1.0], [1.0, 3.0]], &array![1.0, 2.0], "t").unwrap();
        assert!((s.x[0] - unscaled.x[0]).abs() < 1e-12);
        assert!((s.x[1] * 1e-8 - unscaled.x[1]).abs() < 1e-12);
    }

    #[test]
    fn zero_diagonal_variables_get_zero() {
        let a = array![[2.0, 0.0], [0.0, 0.0]];
        let s = solve_spd(&a, &array![4.0, 0.0], "test").unwrap();
        assert!((s.x[0] - 2.0).abs() < 1e-15);
        assert_eq!(s.x[1], 0.0);
        assert_eq!(s.ridge, 0.0);
    }

    #[test]
    fn singular_matrices_get_a_reported_minimal_ridge() {
        // Two identical variables: the minimum-norm solution splits the weight.
        let a = array![[1.0, 1.0], [1.0, 1.0]];
        let b = array![2.0, 2.0];
        let s = solve_spd(&a, &b, "test").unwrap();
        assert_eq!(s.ridge, STABILIZING_RIDGES[0]);
        assert!(
            (s.x[0] - 1.0).abs() < 1e-6 && (s.x[1] - 1.0).abs() < 1e-6,
            "{:?}",
            s.x
        );
    }

    #[test]
    fn rejects_non_finite_and_bad_shapes() {
        let e = solve_spd(&array![[f64::NAN]], &array![1.0], "normal equations").unwrap_err();
        assert!(e.to_string().contains("normal equations"), "{e}");
        assert!(solve_spd(&array![[1.0]], &array![1.0, 2.0], "t").is_err());
    }

    #[test]
    fn indefinite_matrices_are_an_error_not_a_panic() {
        let a = array![[1.0, 0.0], [0.0, -50.0]];
        // -50 on the diagonal is inactive (not positive): solved as 1 variable.
        assert!(solve_spd(&a, &array![1.0, 1.0], "t").is_ok());
        let a = array![[1.0, 3.0], [3.0, 1.0]];
        assert!(solve_spd(&a, &array![1.0, 1.0], "t").is_err());
    }

    proptest! {
        #[test]
        fn gram_systems_are_solved_without_panicking(
            rows in 1usize..8, cols in 1usize..5,
            data in proptest::collection::vec(-1e3..1e3f64, 40),
            rhs in proptest::collection::vec(-1e3..1e3f64, 5),
        ) {
            let x = Array2::from_shape_fn((rows, cols), |(i, j)| data[(i * cols + j) % data.len()]);
            let a = x.t().dot(&x);
            // A right-hand side in the range of `a`, so an exact solution exists.
            let b = a.dot(&Array1::from_iter(rhs.iter().take(cols).copied()));
            let s = solve_spd(&a, &b, "t").unwrap();
            prop_assert!(s.x.iter().all(|v| v.is_finite()));
            if s.ridge == 0.0 {
                let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs())) * s.x.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                prop_assert!(residual(&a, &s.x, &b) <= 1e-6 * scale.max(1.0));
            }
        }
    }
}
