//! [`Features`]: the numeric matrix that transforms produce and models consume.

use std::sync::Arc;

use ndarray::Array2;
use serde::{Deserialize, Serialize};
use sprs::{CsMat, TriMat};

use crate::{Error, Result};

/// The storage of a feature matrix: dense, or compressed sparse rows when
/// one-hot encoding or hashing makes most entries zero.
///
/// Deliberately **not** `#[non_exhaustive]`: every model must handle every
/// storage without densifying a sparse matrix, so a new storage is a
/// breaking change that the compiler points out in each `match`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FeatureMatrix {
    /// A dense `rows × columns` matrix.
    Dense(Array2<f64>),
    /// A sparse matrix in CSR layout.
    Sparse(CsMat<f64>),
}

/// A feature matrix with one human-readable name per column
/// (`age`, `color=red`, `age_bucket[3]`).
///
/// ```
/// use mlrig_core::{Features, ndarray::array};
/// let f = Features::dense(vec!["x".into(), "y".into()], array![[1.0, 0.0], [0.0, 2.0]]).unwrap();
/// let sparse = f.to_sparse_features();
/// assert_eq!(sparse.to_dense(), f.to_dense());
/// assert_eq!(f.names(), ["x", "y"]);
/// assert_eq!(f.density(), 0.5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Shared, so a pipeline hands the same names to every batch it makes
    /// without copying them (the serving hot path).
    names: Arc<[String]>,
    matrix: FeatureMatrix,
}

impl Features {
    /// Dense features; fails when the number of names differs from the number of columns.
    /// `names` is a `Vec<String>` or a shared `Arc<[String]>` (no copy).
    ///
    /// ```
    /// use mlrig_core::{Features, ndarray::Array2};
    /// assert!(Features::dense(vec!["a".into()], Array2::zeros((3, 2))).is_err());
    /// ```
    pub fn dense(names: impl Into<Arc<[String]>>, matrix: Array2<f64>) -> Result<Self> {
        let names = names.into();
        check_names(&names, matrix.ncols())?;
        Ok(Self {
            names,
            matrix: FeatureMatrix::Dense(matrix),
        })
    }

    /// Sparse features; the matrix is converted to CSR if it is CSC.
    ///
    /// ```
    /// use mlrig_core::{Features, sprs::TriMat};
    /// let mut t = TriMat::new((2, 3));
    /// t.add_triplet(1, 2, 5.0);
    /// let f = Features::sparse(vec!["a".into(), "b".into(), "c".into()], t.to_csr()).unwrap();
    /// assert_eq!(f.to_dense()[[1, 2]], 5.0);
    /// ```
    pub fn sparse(names: impl Into<Arc<[String]>>, matrix: CsMat<f64>) -> Result<Self> {
        let names = names.into();
        check_names(&names, matrix.cols())?;
        let matrix = if matrix.is_csr() {
            matrix
        } else {
            matrix.to_csr()
        };
        Ok(Self {
            names,
            matrix: FeatureMatrix::Sparse(matrix),
        })
    }

    /// Column names, one per column.
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::Array2};
    /// let f = Features::dense(vec!["a".into()], Array2::zeros((1, 1))).unwrap();
    /// assert_eq!(f.names()[0], "a");
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The underlying matrix.
    ///
    /// ```
    /// # use mlrig_core::{Features, FeatureMatrix, ndarray::Array2};
    /// let f = Features::dense(vec!["a".into()], Array2::zeros((1, 1))).unwrap();
    /// assert!(matches!(f.matrix(), FeatureMatrix::Dense(_)));
    /// ```
    pub fn matrix(&self) -> &FeatureMatrix {
        &self.matrix
    }

    /// Number of rows (examples).
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::Array2};
    /// assert_eq!(Features::dense(vec!["a".into()], Array2::zeros((4, 1))).unwrap().nrows(), 4);
    /// ```
    pub fn nrows(&self) -> usize {
        match &self.matrix {
            FeatureMatrix::Dense(m) => m.nrows(),
            FeatureMatrix::Sparse(m) => m.rows(),
        }
    }

    /// Number of columns (features).
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::Array2};
    /// assert_eq!(Features::dense(vec!["a".into()], Array2::zeros((4, 1))).unwrap().ncols(), 1);
    /// ```
    pub fn ncols(&self) -> usize {
        self.names.len()
    }

    /// Fraction of stored non-zero entries (1.0 for an empty matrix).
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::array};
    /// let f = Features::dense(vec!["a".into()], array![[0.0], [3.0]]).unwrap();
    /// assert_eq!(f.density(), 0.5);
    /// ```
    pub fn density(&self) -> f64 {
        let cells = self.nrows() * self.ncols();
        if cells == 0 {
            return 1.0;
        }
        let nnz = match &self.matrix {
            FeatureMatrix::Dense(m) => m.iter().filter(|v| **v != 0.0).count(),
            FeatureMatrix::Sparse(m) => m.data().iter().filter(|v| **v != 0.0).count(),
        };
        nnz as f64 / cells as f64
    }

    /// A dense copy of the matrix.
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::array};
    /// let f = Features::dense(vec!["a".into()], array![[1.0]]).unwrap();
    /// assert_eq!(f.to_dense(), array![[1.0]]);
    /// ```
    pub fn to_dense(&self) -> Array2<f64> {
        match &self.matrix {
            FeatureMatrix::Dense(m) => m.clone(),
            FeatureMatrix::Sparse(m) => m.to_dense(),
        }
    }

    /// A CSR copy of the matrix; explicit zeros of a dense matrix are not stored.
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::array};
    /// let f = Features::dense(vec!["a".into(), "b".into()], array![[0.0, 1.0]]).unwrap();
    /// assert_eq!(f.to_sparse().nnz(), 1);
    /// ```
    pub fn to_sparse(&self) -> CsMat<f64> {
        match &self.matrix {
            FeatureMatrix::Sparse(m) => m.clone(),
            FeatureMatrix::Dense(m) => {
                let mut tri = TriMat::new((m.nrows(), m.ncols()));
                for ((r, c), v) in m.indexed_iter() {
                    if *v != 0.0 {
                        tri.add_triplet(r, c, *v);
                    }
                }
                tri.to_csr()
            }
        }
    }

    /// The same features stored as CSR.
    ///
    /// ```
    /// # use mlrig_core::{Features, FeatureMatrix, ndarray::array};
    /// let f = Features::dense(vec!["a".into()], array![[2.0]]).unwrap().to_sparse_features();
    /// assert!(matches!(f.matrix(), FeatureMatrix::Sparse(_)));
    /// ```
    pub fn to_sparse_features(&self) -> Features {
        Features {
            names: self.names.clone(),
            matrix: FeatureMatrix::Sparse(self.to_sparse()),
        }
    }

    /// The same features stored densely.
    ///
    /// ```
    /// # use mlrig_core::{Features, FeatureMatrix, ndarray::array};
    /// let f = Features::dense(vec!["a".into()], array![[2.0]]).unwrap();
    /// let back = f.to_sparse_features().to_dense_features();
    /// assert_eq!(back, f);
    /// ```
    pub fn to_dense_features(&self) -> Features {
        Features {
            names: self.names.clone(),
            matrix: FeatureMatrix::Dense(self.to_dense()),
        }
    }

    /// Consumes the features and returns the dense matrix.
    ///
    /// ```
    /// # use mlrig_core::{Features, ndarray::array};
    /// let m = Features::dense(vec!["a".into()], array![[2.0]]).unwrap().into_dense();
    /// assert_eq!(m[[0, 0]], 2.0);
    /// ```
    pub fn into_dense(self) -> Array2<f64> {
        match self.matrix {
            FeatureMatrix::Dense(m) => m,
            FeatureMatrix::Sparse(m) => m.to_dense(),
        }
    }
}

fn check_names(names: &[String], ncols: usize) -> Result<()> {
    if names.len() != ncols {
        return Err(Error::ShapeMismatch {
            expected: format!("{} feature names (one per column)", ncols),
            got: format!("{} names", names.len()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matrix() -> impl Strategy<Value = Array2<f64>> {
        (0usize..6, 1usize..6).prop_flat_map(|(r, c)| {
            proptest::collection::vec(prop_oneof![Just(0.0), -1e6..1e6f64], r * c)
                .prop_map(move |v| Array2::from_shape_vec((r, c), v).unwrap())
        })
    }

    proptest! {
        #[test]
        fn dense_sparse_round_trip(m in matrix()) {
            let names: Vec<String> = (0..m.ncols()).map(|i| format!("f{i}")).collect();
            let f = Features::dense(names, m.clone()).unwrap();
            let s = f.to_sparse_features();
            prop_assert_eq!(s.to_dense(), m.clone());
            prop_assert_eq!(s.to_dense_features(), f.clone());
            prop_assert_eq!(s.nrows(), f.nrows());
            prop_assert!((s.density() - f.density()).abs() < 1e-12);
        }

        #[test]
        fn features_serde_round_trip(m in matrix()) {
            let names: Vec<String> = (0..m.ncols()).map(|i| format!("f{i}")).collect();
            let f = Features::dense(names, m).unwrap();
            for value in [f.clone(), f.to_sparse_features()] {
                let json = serde_json::to_string(&value).unwrap();
                let back: Features = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(back, value);
            }
        }
    }
}
