//! The linear score `x·w + b` of each row, shared by the linear models.
//!
//! Each row is summed left to right over its columns (over stored entries for
//! CSR), with no fused multiply-add, so a row's score has the same bits
//! whether it is predicted alone or inside a batch, on any machine.

use mlrig_core::Features;

use crate::dataset::check_finite_features;
use crate::error::Result;
use crate::row_blocks::all_scores;

/// `x·weights + intercept` for every row; fails on non-finite features.
/// The caller has checked that the columns match `weights`. The one
/// scoring loop is `row_blocks::all_scores` (rows in parallel, each summed
/// alone), shared with logistic regression.
pub(crate) fn linear_scores(
    features: &Features,
    weights: &[f64],
    intercept: f64,
) -> Result<Vec<f64>> {
    check_finite_features(features)?;
    Ok(all_scores(features.matrix(), weights, &[intercept]))
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
