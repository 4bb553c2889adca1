//! Row access for SGD: the non-zero entries of one row, dense or CSR alike.

use mlrig_core::FeatureMatrix;
use mlrig_core::ndarray::ArrayView1;
use mlrig_core::sprs::CsMat;

/// The rows of a feature matrix; a CSR matrix is read in place, never densified.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rows<'a> {
    Dense(&'a mlrig_core::ndarray::Array2<f64>),
    Sparse(&'a CsMat<f64>),
}

impl<'a> Rows<'a> {
    pub(super) fn new(matrix: &'a FeatureMatrix) -> Self {
        match matrix {
            FeatureMatrix::Dense(m) => Rows::Dense(m),
            FeatureMatrix::Sparse(m) => Rows::Sparse(m),
        }
    }

    /// `(column, value)` for the non-zero entries of row `i`, by increasing
    /// column. Zeros are skipped in both storages so that dense and CSR
    /// features take the same floating-point steps.
    pub(super) fn row(&self, i: usize) -> RowEntries<'a> {
        match *self {
            Rows::Dense(m) => RowEntries::Dense {
                values: m.row(i),
                next: 0,
            },
            Rows::Sparse(m) => {
                let range = m.indptr().outer_inds_sz(i);
                RowEntries::Sparse {
                    columns: m.indices().get(range.clone()).unwrap_or_default(),
                    values: m.data().get(range).unwrap_or_default(),
                    next: 0,
                }
            }
        }
    }
}

/// The iterator of [`Rows::row`].
#[derive(Debug, Clone)]
pub(super) enum RowEntries<'a> {
    Dense {
        values: ArrayView1<'a, f64>,
        next: usize,
    },
    Sparse {
        columns: &'a [usize],
        values: &'a [f64],
        next: usize,
    },
}

impl Iterator for RowEntries<'_> {
    type Item = (usize, f64);

    fn next(&mut self) -> Option<(usize, f64)> {
        match self {
            RowEntries::Dense { values, next } => {
                while let Some(&x) = values.get(*next) {
                    let column = *next;
                    *next += 1;
                    if x != 0.0 {
                        return Some((column, x));
                    }
                }
                None
            }
            RowEntries::Sparse {
                columns,
                values,
                next,
            } => {
                while let (Some(&column), Some(&x)) = (columns.get(*next), values.get(*next)) {
                    *next += 1;
                    if x != 0.0 {
                        return Some((column, x));
                    }
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::Features;
    use mlrig_core::ndarray::array;

    #[test]
    fn dense_and_sparse_rows_list_the_same_entries() {
        let f = Features::dense(
            vec!["a".into(), "b".into(), "c".into()],
            array![[0.0, 2.0, -1.0], [0.0, 0.0, 0.0], [3.0, 0.0, 0.5]],
        )
        .unwrap();
        let sparse = f.to_sparse_features();
        let (dense, sparse) = (Rows::new(f.matrix()), Rows::new(sparse.matrix()));
        for i in 0..3 {
            let d: Vec<_> = dense.row(i).collect();
            assert_eq!(d, sparse.row(i).collect::<Vec<_>>());
        }
        assert_eq!(dense.row(0).collect::<Vec<_>>(), [(1, 2.0), (2, -1.0)]);
        assert_eq!(dense.row(1).count(), 0);
    }
}
