//! The linear score `x·w + b` of each row, shared by the linear models.
//!
//! Each row is summed left to right over its columns (over stored entries for
//! CSR), with no fused multiply-add, so a row's score has the same bits
//! whether it is predicted alone or inside a batch, on any machine.

use mlrig_core::{FeatureMatrix, Features};

use crate::dataset::check_finite_features;
use crate::error::Result;

/// `x·weights + intercept` for every row; fails on non-finite features.
/// The caller has checked that the columns match `weights`.
pub(crate) fn linear_scores(
    features: &Features,
    weights: &[f64],
    intercept: f64,
) -> Result<Vec<f64>> {
    check_finite_features(features)?;
    let scores = match features.matrix() {
        FeatureMatrix::Dense(m) => m
            .rows()
            .into_iter()
            .map(|row| row.iter().zip(weights).fold(0.0, |sum, (x, w)| sum + x * w) + intercept)
            .collect(),
        FeatureMatrix::Sparse(m) => m
            .outer_iterator()
            .map(|row| {
                row.iter().fold(0.0, |sum, (j, x)| {
                    sum + x * weights.get(j).copied().unwrap_or(0.0)
                }) + intercept
            })
            .collect(),
    };
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::ndarray::array;

    #[test]
    fn dense_and_sparse_agree() {
        let f = Features::dense(
            vec!["a".into(), "b".into()],
            array![[1.0, 0.0], [2.0, -3.0], [0.0, 0.0]],
        )
        .unwrap();
        let w = [0.5, 2.0];
        let dense = linear_scores(&f, &w, 1.0).unwrap();
        assert_eq!(dense, [1.5, -4.0, 1.0]);
        assert_eq!(
            linear_scores(&f.to_sparse_features(), &w, 1.0).unwrap(),
            dense
        );
    }
}
