//! Thread-count-independent passes over a feature matrix, dense or CSR.
//!
//! The rows are cut into blocks of a fixed size that depends only on the
//! matrix's shape, never on the number of threads. Each block is processed by
//! one rayon task in row order; the per-block results are then added in block
//! order on one thread. So every sum has the same operands in the same order
//! whatever `--threads` is: a model fitted with 1 thread has the same bits as
//! one fitted with 16. Blocks run in waves of [`WAVE_BLOCKS`], which bounds
//! the memory of the per-block partial gradients to `WAVE_BLOCKS × p × k`.
//!
//! Sparse input is read through its stored entries only; nothing here ever
//! densifies a CSR matrix.

use mlrig_core::FeatureMatrix;
use rayon::prelude::*;

/// The fewest rows in a block (more when the matrix is wide, so adding the
/// `p × k` partial gradients stays cheap next to computing them).
const MIN_BLOCK_ROWS: usize = 4096;
/// Blocks computed in parallel before their partials are added up.
pub(crate) const WAVE_BLOCKS: usize = 16;

/// The rows of one block: `start..end`.
pub(crate) type BlockRows = std::ops::Range<usize>;

/// The block size for a matrix of `ncols` columns.
fn block_rows(ncols: usize) -> usize {
    MIN_BLOCK_ROWS.max(ncols)
}

/// A row-major `k`-column view of the rows' linear scores `x·Wᵀ + b`.
///
/// `coefficients` is `k × p` row-major (one row per output), each score is
/// summed left to right over the row's stored entries (no fused
/// multiply-add), so a row scores the same alone or inside any block.
pub(crate) fn row_scores(
    matrix: &FeatureMatrix,
    row: usize,
    coefficients: &[f64],
    intercepts: &[f64],
    out: &mut [f64],
) {
    let p = ncols(matrix);
    for (c, (slot, b)) in out.iter_mut().zip(intercepts).enumerate() {
        let w = &coefficients[c * p..(c + 1) * p];
        *slot = dot_row(matrix, row, w) + b;
    }
}

/// `x_row · w`, left to right over the stored entries.
fn dot_row(matrix: &FeatureMatrix, row: usize, w: &[f64]) -> f64 {
    match matrix {
        FeatureMatrix::Dense(m) => m
            .row(row)
            .iter()
            .zip(w)
            .fold(0.0, |sum, (x, w)| sum + x * w),
        FeatureMatrix::Sparse(m) => m.outer_view(row).map_or(0.0, |r| {
            r.iter().fold(0.0, |sum, (j, x)| {
                sum + x * w.get(j).copied().unwrap_or(0.0)
            })
        }),
    }
}

/// Number of columns of either storage.
pub(crate) fn ncols(matrix: &FeatureMatrix) -> usize {
    match matrix {
        FeatureMatrix::Dense(m) => m.ncols(),
        FeatureMatrix::Sparse(m) => m.cols(),
    }
}

/// Number of rows of either storage.
pub(crate) fn nrows(matrix: &FeatureMatrix) -> usize {
    match matrix {
        FeatureMatrix::Dense(m) => m.nrows(),
        FeatureMatrix::Sparse(m) => m.rows(),
    }
}

/// `gradient[c·p + j] += r · x_row[j]` for the row's stored entries.
pub(crate) fn add_scaled_row(
    matrix: &FeatureMatrix,
    row: usize,
    r: f64,
    gradient: &mut [f64],
    c: usize,
) {
    let p = ncols(matrix);
    let g = &mut gradient[c * p..(c + 1) * p];
    match matrix {
        FeatureMatrix::Dense(m) => {
            for (g, x) in g.iter_mut().zip(m.row(row)) {
                *g += r * x;
            }
        }
        FeatureMatrix::Sparse(m) => {
            if let Some(view) = m.outer_view(row) {
                for (j, x) in view.iter() {
                    if let Some(g) = g.get_mut(j) {
                        *g += r * x;
                    }
                }
            }
        }
    }
}

/// `sums[j] += w · x_row[j]²` for the row's stored entries.
pub(crate) fn add_squared_row(matrix: &FeatureMatrix, row: usize, w: f64, sums: &mut [f64]) {
    match matrix {
        FeatureMatrix::Dense(m) => {
            for (s, x) in sums.iter_mut().zip(m.row(row)) {
                *s += w * x * x;
            }
        }
        FeatureMatrix::Sparse(m) => {
            if let Some(view) = m.outer_view(row) {
                for (j, x) in view.iter() {
                    if let Some(s) = sums.get_mut(j) {
                        *s += w * x * x;
                    }
                }
            }
        }
    }
}

/// Runs `per_block` over every block (in parallel, waves of
/// [`WAVE_BLOCKS`]) and folds the results into `total` with `combine` in
/// block order: the result is independent of the number of threads.
pub(crate) fn fold_blocks<T, B, F, C>(
    matrix: &FeatureMatrix,
    total: &mut T,
    per_block: F,
    combine: C,
) where
    B: Send,
    F: Fn(BlockRows) -> B + Sync,
    C: Fn(&mut T, B),
{
    let n = nrows(matrix);
    let size = block_rows(ncols(matrix));
    let blocks: Vec<BlockRows> = (0..n.div_ceil(size))
        .map(|b| b * size..((b + 1) * size).min(n))
        .collect();
    for wave in blocks.chunks(WAVE_BLOCKS) {
        let results: Vec<B> = wave.par_iter().cloned().map(&per_block).collect();
        for result in results {
            combine(total, result);
        }
    }
}

/// Every row's `k` scores `x·Wᵀ + b`, row-major `n × k`, computed in parallel.
pub(crate) fn all_scores(
    matrix: &FeatureMatrix,
    coefficients: &[f64],
    intercepts: &[f64],
) -> Vec<f64> {
    let k = intercepts.len();
    let n = nrows(matrix);
    let mut scores = vec![0.0; n * k];
    let size = block_rows(ncols(matrix)) * k.max(1);
    scores
        .par_chunks_mut(size.max(1))
        .enumerate()
        .for_each(|(b, chunk)| {
            let first = b * size / k.max(1);
            for (i, out) in chunk.chunks_mut(k.max(1)).enumerate() {
                row_scores(matrix, first + i, coefficients, intercepts, out);
            }
        });
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::Features;
    use mlrig_core::ndarray::Array2;

    fn matrix(n: usize, p: usize) -> Features {
        let values = Array2::from_shape_fn((n, p), |(i, j)| {
            if (i * 7 + j * 3) % 5 == 0 {
                0.0
            } else {
                ((i * 31 + j * 17) % 13) as f64 / 7.0 - 0.9
            }
        });
        let names: Vec<String> = (0..p).map(|j| format!("x{j}")).collect();
        Features::dense(names, values).unwrap()
    }

    /// `Xᵀ r` by blocks, as the solvers compute it.
    fn gradient(m: &FeatureMatrix, r: &[f64]) -> Vec<f64> {
        let p = ncols(m);
        let mut total = vec![0.0; p];
        fold_blocks(
            m,
            &mut total,
            |rows| {
                let mut g = vec![0.0; p];
                for i in rows {
                    add_scaled_row(m, i, r[i], &mut g, 0);
                }
                g
            },
            |t, g| t.iter_mut().zip(g).for_each(|(t, g)| *t += g),
        );
        total
    }

    #[test]
    fn dense_and_sparse_give_the_same_bits_for_any_thread_count() {
        let f = matrix(10_000, 7);
        let sparse = f.to_sparse_features();
        let r: Vec<f64> = (0..10_000).map(|i| ((i % 11) as f64 - 5.0) / 3.0).collect();
        let w: Vec<f64> = (0..14).map(|j| j as f64 / 10.0 - 0.6).collect();
        let reference = gradient(f.matrix(), &r);
        let scores = all_scores(f.matrix(), &w, &[0.5, -0.25]);
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                for m in [f.matrix(), sparse.matrix()] {
                    assert_eq!(gradient(m, &r), reference);
                    assert_eq!(all_scores(m, &w, &[0.5, -0.25]), scores);
                }
            });
        }
        let mut one = [0.0; 2];
        row_scores(f.matrix(), 9_999, &w, &[0.5, -0.25], &mut one);
        assert_eq!(one[..], scores[19_998..]);
    }
}
