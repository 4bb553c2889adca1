//! [`Dataset`]: features and a target of the same length, what models are fitted on.

use mlrig_core::{FeatureMatrix, Features};

use crate::error::{Result, TrainError};
use crate::target::Target;

/// Borrowed training data: a feature matrix and a target with one value per row.
///
/// ```
/// use mlrig_core::{Features, ndarray::array};
/// use mlrig_train::{Dataset, RegressionTarget};
/// let x = Features::dense(vec!["x".into()], array![[1.0], [2.0]])?;
/// let y = RegressionTarget::new("y", vec![2.0, 4.0])?;
/// let data = Dataset::new(&x, &y)?;
/// assert_eq!(data.features().nrows(), 2);
///
/// let short = RegressionTarget::new("y", vec![2.0])?;
/// assert!(Dataset::new(&x, &short).is_err());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Dataset<'a, T> {
    features: &'a Features,
    target: &'a T,
    sample_weights: Option<&'a [f64]>,
}

impl<'a, T: Target> Dataset<'a, T> {
    /// Pairs features with a target; fails when their lengths differ.
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::Array2};
    /// # use mlrig_train::{Dataset, ClassTarget};
    /// let x = Features::dense(vec![], Array2::zeros((3, 0)))?;
    /// let y = ClassTarget::from_labels("y", ["a", "b"]);
    /// let e = Dataset::new(&x, &y).unwrap_err();
    /// assert!(e.to_string().contains("expected 3, found 2"));
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn new(features: &'a Features, target: &'a T) -> Result<Self> {
        if features.nrows() != target.len() {
            return Err(TrainError::LengthMismatch {
                what: format!("target `{}` vs feature rows", target.name()),
                expected: features.nrows(),
                found: target.len(),
            });
        }
        Ok(Self {
            features,
            target,
            sample_weights: None,
        })
    }

    /// Weighs each example (scikit-learn's `sample_weight`): a weight of 2
    /// counts a row twice in the loss. Fails unless there is one finite,
    /// non-negative weight per row and their sum is positive.
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::array};
    /// # use mlrig_train::{Dataset, RegressionTarget};
    /// let x = Features::dense(vec!["x".into()], array![[1.0], [2.0]])?;
    /// let y = RegressionTarget::new("y", vec![2.0, 4.0])?;
    /// let data = Dataset::new(&x, &y)?.with_sample_weights(&[1.0, 3.0])?;
    /// assert_eq!(data.sample_weights(), Some(&[1.0, 3.0][..]));
    /// assert!(Dataset::new(&x, &y)?.with_sample_weights(&[1.0]).is_err());
    /// assert!(Dataset::new(&x, &y)?.with_sample_weights(&[1.0, -1.0]).is_err());
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_sample_weights(mut self, weights: &'a [f64]) -> Result<Self> {
        check_sample_weights(weights, self.features.nrows())?;
        self.sample_weights = Some(weights);
        Ok(self)
    }

    /// Pairs features with a target and, when given, sample weights.
    pub(crate) fn weighted(
        features: &'a Features,
        target: &'a T,
        sample_weights: Option<&'a [f64]>,
    ) -> Result<Self> {
        let data = Self::new(features, target)?;
        match sample_weights {
            Some(weights) => data.with_sample_weights(weights),
            None => Ok(data),
        }
    }

    /// The per-example weights, if any (`None` = every weight is 1).
    ///
    /// See [`Dataset::with_sample_weights`] for an example.
    pub fn sample_weights(&self) -> Option<&'a [f64]> {
        self.sample_weights
    }

    /// The features.
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::array};
    /// # use mlrig_train::{Dataset, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[1.0]])?;
    /// # let y = RegressionTarget::new("y", vec![2.0])?;
    /// assert_eq!(Dataset::new(&x, &y)?.features().names(), ["x"]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn features(&self) -> &'a Features {
        self.features
    }

    /// The target.
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::array};
    /// # use mlrig_train::{Dataset, RegressionTarget};
    /// # let x = Features::dense(vec!["x".into()], array![[1.0]])?;
    /// # let y = RegressionTarget::new("y", vec![2.0])?;
    /// assert_eq!(Dataset::new(&x, &y)?.target().values(), [2.0]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn target(&self) -> &'a T {
        self.target
    }
}

/// Fails on the first NaN or infinite feature value, naming its row and column.
pub(crate) fn check_finite_features(features: &Features) -> Result<()> {
    let non_finite = |row: usize, col: usize, value: f64| TrainError::NonFinite {
        what: "features".into(),
        row,
        column: Some(
            features
                .names()
                .get(col)
                .cloned()
                .unwrap_or_else(|| col.to_string()),
        ),
        value,
    };
    match features.matrix() {
        FeatureMatrix::Dense(m) => {
            for (row, values) in m.rows().into_iter().enumerate() {
                if let Some((col, &v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                    return Err(non_finite(row, col, v));
                }
            }
        }
        FeatureMatrix::Sparse(m) => {
            for (row, values) in m.outer_iterator().enumerate() {
                if let Some((col, &v)) = values.iter().find(|(_, v)| !v.is_finite()) {
                    return Err(non_finite(row, col, v));
                }
            }
        }
    }
    Ok(())
}

/// Fails unless `features` has exactly the columns the model was trained on, in order.
pub(crate) fn check_feature_names(expected: &[String], features: &Features) -> Result<()> {
    let got = features.names();
    if got.len() != expected.len() {
        return Err(TrainError::ShapeMismatch {
            expected: format!("{} feature columns (as in training)", expected.len()),
            got: format!("{} columns", got.len()),
        });
    }
    if let Some((i, (e, g))) = expected
        .iter()
        .zip(got)
        .enumerate()
        .find(|(_, (e, g))| e != g)
    {
        return Err(TrainError::ShapeMismatch {
            expected: format!("feature column {i} named `{e}` (as in training)"),
            got: format!("`{g}`"),
        });
    }
    Ok(())
}

/// Implements `Fit<Dataset<$target>>` for unchecked parameters `$params`:
/// check them, then fit the checked ones, so that every model's parameters
/// can be fitted with or without an explicit `check()`.
macro_rules! fit_after_check {
    ($params:ty, $target:ty => $model:ty) => {
        impl<'a> mlrig_core::Fit<$crate::Dataset<'a, $target>> for $params {
            type Fitted = $model;
            type Error = $crate::TrainError;

            /// Checks the parameters, then fits.
            fn fit(&self, data: &$crate::Dataset<'a, $target>) -> $crate::Result<$model> {
                mlrig_core::ParamGuard::check(self.clone())?.fit(data)
            }
        }
    };
}

pub(crate) use fit_after_check;

/// One weight per row (`rows`), each finite and ≥ 0, at least one > 0.
pub(crate) fn check_sample_weights(weights: &[f64], rows: usize) -> Result<()> {
    if weights.len() != rows {
        return Err(TrainError::LengthMismatch {
            what: "sample weights vs feature rows".into(),
            expected: rows,
            found: weights.len(),
        });
    }
    if let Some((row, &value)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        return Err(TrainError::NonFinite {
            what: "sample weights (must be finite and >= 0)".into(),
            row,
            column: None,
            value,
        });
    }
    if !weights.iter().any(|&w| w > 0.0) {
        return Err(TrainError::invalid_parameter(
            "sample_weights",
            "at least one weight must be > 0",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::ndarray::array;

    #[test]
    fn feature_names_are_checked_in_order() {
        let f = Features::dense(vec!["a".into(), "b".into()], array![[1.0, 2.0]]).unwrap();
        assert!(check_feature_names(&["a".into(), "b".into()], &f).is_ok());
        let e = check_feature_names(&["b".into(), "a".into()], &f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "feature shape mismatch: expected feature column 0 named `b` (as in training), got `a`"
        );
        let e = check_feature_names(&["a".into()], &f).unwrap_err();
        assert!(e.is_invalid_input());
        assert!(e.to_string().contains("1 feature columns"), "{e}");
    }

    #[test]
    fn non_finite_features_are_located_dense_and_sparse() {
        let f = Features::dense(
            vec!["a".into(), "b".into()],
            array![[1.0, 2.0], [0.0, f64::INFINITY]],
        )
        .unwrap();
        for f in [f.clone(), f.to_sparse_features()] {
            let e = check_finite_features(&f).unwrap_err();
            assert!(
                matches!(&e, TrainError::NonFinite { row: 1, column: Some(c), .. } if c == "b"),
                "{e}"
            );
        }
    }
}
