//! Where a transform writes its outputs: an [`OutputSink`] (a row-major
//! dense buffer, or sparse `(row, column, value)` entries) becomes the
//! [`OutputRows`] of one batch; the rows of several batches stack in order
//! and become one [`Features`].
//!
//! Outputs are *added*, so hashed values colliding in a bucket sum — the same
//! way, in the same order, in both layouts, so a row has the same bits
//! whether it is transformed alone or inside a batch.

use mlrig_core::Features;
use mlrig_core::ndarray::Array2;
use mlrig_core::sprs::CsMat;
use rayon::prelude::*;
use std::sync::Arc;

use crate::FeaturesError;

/// The outputs of one batch while its columns are written, one block of
/// rows at a time ([`OutputSink::begin_rows`]): every column writes the
/// block's rows, then the next block starts. Blocks keep the sparse entries
/// (and the touched part of a dense buffer) in cache; they do not change a
/// single value, because a row's outputs never depend on other rows.
pub(crate) enum OutputSink {
    /// Row-major `rows × width` values.
    Dense {
        values: Vec<f64>,
        rows: usize,
        width: usize,
        /// First row of the current block.
        block_start: usize,
    },
    /// The current block's entries (rows relative to the block, in the
    /// order written) and the CSR arrays of the finished blocks.
    Sparse {
        entries: Vec<(usize, usize, f64)>,
        width: usize,
        block_rows: usize,
        indptr: Vec<usize>,
        indices: Vec<usize>,
        data: Vec<f64>,
        /// Scratch: one row's `(column, value)` entries.
        cells: Vec<(usize, f64)>,
    },
}

impl OutputSink {
    /// An empty sink for `rows × width` outputs; `entries_per_row` sizes the
    /// sparse buffers (a hint, not a limit).
    pub(crate) fn new(rows: usize, width: usize, sparse: bool, entries_per_row: usize) -> Self {
        if sparse {
            let block = rows.min(BLOCK_ROWS);
            let nonzeros = rows.saturating_mul(entries_per_row);
            let mut indptr = Vec::with_capacity(rows + 1);
            indptr.push(0);
            OutputSink::Sparse {
                entries: Vec::with_capacity(block.saturating_mul(entries_per_row)),
                width,
                block_rows: 0,
                indptr,
                indices: Vec::with_capacity(nonzeros),
                data: Vec::with_capacity(nonzeros),
                cells: Vec::new(),
            }
        } else {
            OutputSink::Dense {
                values: vec![0.0; rows * width],
                rows,
                width,
                block_start: 0,
            }
        }
    }

    /// Finishes the current block and starts the block of `len` rows from
    /// row `start` of the batch (blocks must come in row order); `add` then
    /// takes rows relative to `start`.
    pub(crate) fn begin_rows(&mut self, start: usize, len: usize) {
        self.finish_block();
        match self {
            OutputSink::Dense { block_start, .. } => *block_start = start,
            OutputSink::Sparse { block_rows, .. } => *block_rows = len,
        }
    }

    /// Adds `value` to output `column` of row `row` of the current block
    /// (nothing outside `rows × width`).
    #[inline]
    pub(crate) fn add(&mut self, row: usize, column: usize, value: f64) {
        match self {
            OutputSink::Dense {
                values,
                width,
                block_start,
                ..
            } => {
                if column < *width
                    && let Some(slot) = values.get_mut((*block_start + row) * *width + column)
                {
                    *slot += value;
                }
            }
            OutputSink::Sparse { entries, .. } => entries.push((row, column, value)),
        }
    }

    /// Appends the current block's sparse entries to the CSR arrays.
    ///
    /// Each column writes its rows in order, so the entries are a few runs of
    /// non-decreasing rows (one per column, in the order written). Row by
    /// row, each run's entries of that row are taken — written order within
    /// the row, each run read sequentially — then ordered by column (stable:
    /// colliding entries are summed in the order written); zeros and entries
    /// outside the block or `width` are dropped.
    fn finish_block(&mut self) {
        let OutputSink::Sparse {
            entries,
            width,
            block_rows,
            indptr,
            indices,
            data,
            cells,
        } = self
        else {
            return;
        };
        let mut runs = Vec::new();
        let mut run_start = 0;
        for (at, pair) in entries.windows(2).enumerate() {
            if pair[1].0 < pair[0].0 {
                runs.push(run_start..at + 1);
                run_start = at + 1;
            }
        }
        if run_start < entries.len() {
            runs.push(run_start..entries.len());
        }
        for row in 0..*block_rows {
            cells.clear();
            for run in &mut runs {
                while let Some(&(r, column, value)) = entries.get(run.start) {
                    if r != row || run.start >= run.end {
                        break;
                    }
                    if column < *width {
                        cells.push((column, value));
                    }
                    run.start += 1;
                }
            }
            if !cells.is_sorted_by_key(|(column, _)| *column) {
                cells.sort_by_key(|(column, _)| *column);
            }
            let mut position = 0;
            while let Some(&(column, first)) = cells.get(position) {
                let mut value = first;
                position += 1;
                while let Some(&(c, v)) = cells.get(position) {
                    if c != column {
                        break;
                    }
                    value += v;
                    position += 1;
                }
                if value != 0.0 {
                    indices.push(column);
                    data.push(value);
                }
            }
            indptr.push(indices.len());
        }
        entries.clear();
        *block_rows = 0;
    }

    /// The finished rows.
    pub(crate) fn finish(mut self) -> OutputRows {
        self.finish_block();
        match self {
            OutputSink::Dense {
                values,
                rows,
                width,
                ..
            } => OutputRows {
                rows,
                width,
                storage: Storage::Dense(values),
            },
            OutputSink::Sparse {
                width,
                indptr,
                indices,
                data,
                ..
            } => OutputRows {
                rows: indptr.len() - 1,
                width,
                storage: Storage::Sparse {
                    indptr,
                    indices,
                    data,
                },
            },
        }
    }
}

/// Rows per block of [`OutputSink`]: the sparse entries of a block of
/// ~15 outputs per row stay within a typical 1 MiB L2 cache.
pub(crate) const BLOCK_ROWS: usize = 1024;

/// The transformed rows of one or more batches, before they get names.
pub(crate) struct OutputRows {
    rows: usize,
    width: usize,
    storage: Storage,
}

enum Storage {
    /// Row-major values.
    Dense(Vec<f64>),
    /// CSR arrays.
    Sparse {
        indptr: Vec<usize>,
        indices: Vec<usize>,
        data: Vec<f64>,
    },
}

impl OutputRows {
    /// The rows of `parts`, in order, as one block of `width` columns
    /// (`sparse` gives the storage when `parts` is empty). A single part is
    /// returned as is; the values of several are copied in parallel.
    pub(crate) fn stack(mut parts: Vec<OutputRows>, width: usize, sparse: bool) -> OutputRows {
        if parts.len() == 1
            && let Some(only) = parts.pop()
        {
            return only;
        }
        let rows = parts.iter().map(|p| p.rows).sum();
        let storage = if sparse {
            let mut indptr = Vec::with_capacity(rows + 1);
            indptr.push(0);
            let mut pieces = Vec::with_capacity(parts.len());
            for part in parts {
                if let Storage::Sparse {
                    indptr: part_indptr,
                    indices,
                    data,
                } = part.storage
                {
                    let base = indptr.last().copied().unwrap_or(0);
                    indptr.extend(part_indptr.iter().skip(1).map(|p| p + base));
                    pieces.push((indices, data));
                }
            }
            let nonzeros = indptr.last().copied().unwrap_or(0);
            let mut indices = vec![0usize; nonzeros];
            let mut data = vec![0.0f64; nonzeros];
            let mut targets = Vec::with_capacity(pieces.len());
            let (mut indices_rest, mut data_rest) = (indices.as_mut_slice(), data.as_mut_slice());
            for (piece_indices, _) in &pieces {
                let (i, i_rest) = indices_rest.split_at_mut(piece_indices.len());
                let (d, d_rest) = data_rest.split_at_mut(piece_indices.len());
                targets.push((i, d));
                (indices_rest, data_rest) = (i_rest, d_rest);
            }
            targets.into_par_iter().zip(pieces).for_each(
                |((i, d), (piece_indices, piece_data))| {
                    i.copy_from_slice(&piece_indices);
                    d.copy_from_slice(&piece_data);
                },
            );
            Storage::Sparse {
                indptr,
                indices,
                data,
            }
        } else {
            let pieces: Vec<Vec<f64>> = parts
                .into_iter()
                .filter_map(|part| match part.storage {
                    Storage::Dense(values) => Some(values),
                    Storage::Sparse { .. } => None,
                })
                .collect();
            let mut values = vec![0.0f64; pieces.iter().map(Vec::len).sum()];
            let mut targets = Vec::with_capacity(pieces.len());
            let mut rest = values.as_mut_slice();
            for piece in &pieces {
                let (target, after) = rest.split_at_mut(piece.len());
                targets.push(target);
                rest = after;
            }
            targets
                .into_par_iter()
                .zip(pieces)
                .for_each(|(target, piece)| target.copy_from_slice(&piece));
            Storage::Dense(values)
        };
        OutputRows {
            rows,
            width,
            storage,
        }
    }

    /// The rows as [`Features`] with these column names.
    pub(crate) fn into_features(self, names: Arc<[String]>) -> Result<Features, FeaturesError> {
        let (rows, width) = (self.rows, self.width);
        let shape_error = |got: String| mlrig_core::Error::ShapeMismatch {
            expected: format!("{rows} × {width} features"),
            got,
        };
        match self.storage {
            Storage::Dense(values) => {
                let matrix = Array2::from_shape_vec((rows, width), values)
                    .map_err(|e| shape_error(e.to_string()))?;
                Ok(Features::dense(names, matrix)?)
            }
            Storage::Sparse {
                indptr,
                indices,
                data,
            } => {
                let matrix = CsMat::try_new((rows, width), indptr, indices, data)
                    .map_err(|(_, _, _, e)| shape_error(e.to_string()))?;
                Ok(Features::sparse(names, matrix)?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sparse(rows: usize, width: usize, entries: &[(usize, usize, f64)]) -> OutputRows {
        let mut sink = OutputSink::new(rows, width, true, 0);
        sink.begin_rows(0, rows);
        for &(row, column, value) in entries {
            sink.add(row, column, value);
        }
        sink.finish()
    }

    fn dense(rows: usize, width: usize, entries: &[(usize, usize, f64)]) -> OutputRows {
        let mut sink = OutputSink::new(rows, width, false, 0);
        sink.begin_rows(0, rows);
        for &(row, column, value) in entries {
            sink.add(row, column, value);
        }
        sink.finish()
    }

    fn names(width: usize) -> Arc<[String]> {
        (0..width)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn sparse_sorts_sums_in_written_order_and_drops_zeros() {
        let entries = [
            (1, 3, 1.0),
            (0, 2, 0.1),
            (1, 0, 2.0),
            (0, 2, 0.2),
            (0, 2, 0.3),
            (2, 1, 1.0),
            (2, 1, -1.0),
            (0, 9, 5.0), // outside: dropped
            (7, 0, 5.0), // outside: dropped
        ];
        let out = sparse(3, 4, &entries).into_features(names(4)).unwrap();
        let matrix = out.to_sparse();
        assert_eq!(matrix.indptr().raw_storage(), [0, 1, 3, 3]);
        assert_eq!(matrix.indices(), [2, 0, 3]);
        assert_eq!(matrix.data()[0].to_bits(), ((0.1 + 0.2) + 0.3f64).to_bits());
        let reference = dense(3, 4, &entries).into_features(names(4)).unwrap();
        assert_eq!(out.to_dense(), reference.to_dense());
    }

    #[test]
    fn blocks_give_the_same_rows_as_one_block() {
        // Two "columns", each writing rows 0..5 in order.
        let entries: Vec<(usize, usize, f64)> = (0..5)
            .map(|row| (row, 0, row as f64 + 0.5))
            .chain((0..5).filter(|r| r % 2 == 0).map(|row| (row, 1, -1.0)))
            .collect();
        for is_sparse in [false, true] {
            let mut whole = OutputSink::new(5, 2, is_sparse, 2);
            whole.begin_rows(0, 5);
            let mut blocks = OutputSink::new(5, 2, is_sparse, 2);
            for &(start, len) in &[(0, 2), (2, 2), (4, 1)] {
                blocks.begin_rows(start, len);
                for column in 0..2 {
                    for &(row, c, value) in &entries {
                        if c == column && (start..start + len).contains(&row) {
                            blocks.add(row - start, c, value);
                        }
                    }
                }
            }
            for &(row, column, value) in &entries {
                whole.add(row, column, value);
            }
            let whole = whole.finish().into_features(names(2)).unwrap();
            let blocks = blocks.finish().into_features(names(2)).unwrap();
            assert_eq!(whole, blocks);
            assert_eq!(whole.to_dense()[[4, 0]], 4.5);
            assert_eq!(whole.to_dense()[[4, 1]], -1.0);
        }
    }

    #[test]
    fn stacking_keeps_row_order_in_both_layouts() {
        let a = [(0, 1, 1.0), (1, 0, 2.0)];
        let b = [(0, 2, 3.0)];
        for is_sparse in [false, true] {
            let make = |rows, entries: &[(usize, usize, f64)]| {
                if is_sparse {
                    sparse(rows, 3, entries)
                } else {
                    dense(rows, 3, entries)
                }
            };
            let stacked =
                OutputRows::stack(vec![make(2, &a), make(0, &[]), make(1, &b)], 3, is_sparse);
            assert_eq!(stacked.rows, 3);
            let features = stacked.into_features(names(3)).unwrap();
            assert_eq!(
                features.to_dense(),
                mlrig_core::ndarray::array![[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]]
            );
            let empty = OutputRows::stack(Vec::new(), 3, is_sparse);
            assert_eq!(empty.into_features(names(3)).unwrap().nrows(), 0);
        }
    }
}
