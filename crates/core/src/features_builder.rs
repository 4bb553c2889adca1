//! [`FeaturesBuilder`]: stacks feature batches into one matrix as they are
//! produced, so a stream of batches never needs all its parts in memory at
//! once and a sparse stream never becomes dense.

use std::sync::Arc;

use ndarray::Array2;
use sprs::CsMat;

use crate::features::{FeatureMatrix, Features};
use crate::{Error, Result};

/// Appends the rows of [`Features`] batches; [`finish`](Self::finish)
/// returns one matrix, CSR if the builder is sparse (a dense part's zeros
/// are not stored), dense otherwise.
///
/// ```
/// use mlrig_core::{FeatureMatrix, Features, FeaturesBuilder, ndarray::array};
/// let names = vec!["a".to_string(), "b".to_string()];
/// let mut builder = FeaturesBuilder::new(names.clone(), true);
/// builder.push(&Features::dense(names.clone(), array![[0.0, 1.0]])?)?;
/// builder.push(&Features::dense(names.clone(), array![[2.0, 0.0], [0.0, 0.0]])?.to_sparse_features())?;
/// let all = builder.finish()?;
/// assert!(matches!(all.matrix(), FeatureMatrix::Sparse(m) if m.nnz() == 2));
/// assert_eq!(all.to_dense(), array![[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]]);
///
/// let mut builder = FeaturesBuilder::new(names, false);
/// assert!(builder.push(&Features::dense(vec!["z".into(), "b".into()], array![[1.0, 1.0]])?).is_err());
/// # Ok::<(), mlrig_core::Error>(())
/// ```
#[derive(Debug)]
pub struct FeaturesBuilder {
    names: Arc<[String]>,
    rows: usize,
    storage: Storage,
}

#[derive(Debug)]
enum Storage {
    Dense(Vec<f64>),
    Sparse {
        indptr: Vec<usize>,
        indices: Vec<usize>,
        data: Vec<f64>,
    },
}

impl FeaturesBuilder {
    /// An empty builder for columns `names`, sparse (CSR) or dense.
    ///
    /// See [`FeaturesBuilder`] for an example.
    pub fn new(names: impl Into<Arc<[String]>>, sparse: bool) -> Self {
        let storage = if sparse {
            Storage::Sparse {
                indptr: vec![0],
                indices: Vec::new(),
                data: Vec::new(),
            }
        } else {
            Storage::Dense(Vec::new())
        };
        Self {
            names: names.into(),
            rows: 0,
            storage,
        }
    }

    /// Reserves room for `rows` more rows of about `entries_per_row` stored
    /// values each (sparse) — so a stream of known length grows its buffers
    /// once instead of doubling them.
    ///
    /// ```
    /// use mlrig_core::FeaturesBuilder;
    /// let mut b = FeaturesBuilder::new(vec!["a".to_string()], true);
    /// b.reserve(1000, 1);
    /// assert_eq!(b.rows(), 0);
    /// ```
    pub fn reserve(&mut self, rows: usize, entries_per_row: usize) {
        match &mut self.storage {
            Storage::Dense(values) => values.reserve(rows.saturating_mul(self.names.len())),
            Storage::Sparse {
                indptr,
                indices,
                data,
            } => {
                let entries = rows.saturating_mul(entries_per_row);
                indptr.reserve(rows);
                indices.reserve(entries);
                data.reserve(entries);
            }
        }
    }

    /// Rows appended so far.
    ///
    /// See [`FeaturesBuilder::reserve`] for an example.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends the rows of `part`; fails unless its columns are the builder's.
    ///
    /// See [`FeaturesBuilder`] for an example.
    pub fn push(&mut self, part: &Features) -> Result<()> {
        if part.names() != &self.names[..] {
            return Err(Error::ShapeMismatch {
                expected: format!("the builder's {} feature columns", self.names.len()),
                got: format!("{} columns ({})", part.ncols(), part.names().join(", ")),
            });
        }
        match (&mut self.storage, part.matrix()) {
            (Storage::Dense(values), FeatureMatrix::Dense(m)) => values.extend(m.iter()),
            (Storage::Dense(values), FeatureMatrix::Sparse(m)) => {
                for row in m.outer_iterator() {
                    let start = values.len();
                    values.resize(start + self.names.len(), 0.0);
                    for (j, &v) in row.iter() {
                        values[start + j] = v;
                    }
                }
            }
            (
                Storage::Sparse {
                    indptr,
                    indices,
                    data,
                },
                matrix,
            ) => match matrix {
                FeatureMatrix::Sparse(m) => {
                    for row in m.outer_iterator() {
                        for (j, &v) in row.iter() {
                            indices.push(j);
                            data.push(v);
                        }
                        indptr.push(indices.len());
                    }
                }
                FeatureMatrix::Dense(m) => {
                    for row in m.rows() {
                        for (j, &v) in row.iter().enumerate().filter(|(_, v)| **v != 0.0) {
                            indices.push(j);
                            data.push(v);
                        }
                        indptr.push(indices.len());
                    }
                }
            },
        }
        self.rows += part.nrows();
        Ok(())
    }

    /// The stacked features.
    ///
    /// See [`FeaturesBuilder`] for an example.
    pub fn finish(self) -> Result<Features> {
        let shape = (self.rows, self.names.len());
        match self.storage {
            Storage::Dense(values) => {
                let matrix =
                    Array2::from_shape_vec(shape, values).map_err(|e| Error::ShapeMismatch {
                        expected: format!("{} × {} values", shape.0, shape.1),
                        got: e.to_string(),
                    })?;
                Features::dense(self.names, matrix)
            }
            Storage::Sparse {
                indptr,
                indices,
                data,
            } => {
                let matrix = CsMat::try_new(shape, indptr, indices, data).map_err(|(.., e)| {
                    Error::ShapeMismatch {
                        expected: format!("a valid {} × {} CSR matrix", shape.0, shape.1),
                        got: e.to_string(),
                    }
                })?;
                Features::sparse(self.names, matrix)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Axis;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn stacking_any_split_in_any_storage_gives_the_whole(
            rows in 0usize..12, cols in 1usize..5, cut in 0usize..12, seed in 0u64..1000, sparse in any::<bool>(), part_sparse in any::<bool>(),
        ) {
            let cut = cut.min(rows);
            let whole = Array2::from_shape_fn((rows, cols), |(i, j)| {
                if (i as u64 * 7 + j as u64 * 3 + seed).is_multiple_of(3) { (i + j) as f64 - 2.0 } else { 0.0 }
            });
            let names: Vec<String> = (0..cols).map(|j| format!("c{j}")).collect();
            let mut builder = FeaturesBuilder::new(names.clone(), sparse);
            builder.reserve(rows, cols);
            for part in [whole.slice_axis(Axis(0), (..cut).into()), whole.slice_axis(Axis(0), (cut..).into())] {
                let f = Features::dense(names.clone(), part.to_owned()).unwrap();
                builder.push(&if part_sparse { f.to_sparse_features() } else { f }).unwrap();
            }
            let stacked = builder.finish().unwrap();
            prop_assert_eq!(stacked.to_dense(), whole);
            prop_assert_eq!(matches!(stacked.matrix(), FeatureMatrix::Sparse(_)), sparse);
        }
    }
}
