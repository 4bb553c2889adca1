//! Integer gradient histograms. Gradients and hessians are quantized to
//! integers with stochastic rounding (Shi et al., "Quantized Training of
//! Gradient Boosting Decision Trees", NeurIPS 2022), so a histogram is a sum
//! of integers: the same bits for any split of the rows, any merge order and
//! any thread count, and `parent − sibling` is exact.

use std::ops::{AddAssign, Sub, SubAssign};

use rayon::prelude::*;

use super::ROW_CHUNK;
use super::bins::{BinColumn, BinnedMatrix};
use super::random::Draws;

/// Below this many row × feature cells a histogram is built on one thread
/// (spawning costs more than it saves).
const PARALLEL_CELLS: usize = 1 << 15;

/// Integer sums over the rows of one bin (or one leaf).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct BinSums {
    /// Sum of quantized gradients.
    pub(super) g: i64,
    /// Sum of quantized hessians.
    pub(super) h: i64,
    /// Rows.
    pub(super) n: i64,
}

impl AddAssign for BinSums {
    fn add_assign(&mut self, other: Self) {
        self.g += other.g;
        self.h += other.h;
        self.n += other.n;
    }
}

impl SubAssign for BinSums {
    fn sub_assign(&mut self, other: Self) {
        self.g -= other.g;
        self.h -= other.h;
        self.n -= other.n;
    }
}

impl Sub for BinSums {
    type Output = Self;
    fn sub(mut self, other: Self) -> Self {
        self -= other;
        self
    }
}

impl From<Quantized> for BinSums {
    fn from(q: Quantized) -> Self {
        Self {
            g: i64::from(q.g()),
            h: i64::from(q.h()),
            n: 1,
        }
    }
}

/// Where each feature's bins start in a flat histogram.
#[derive(Debug, Clone)]
pub(super) struct HistogramLayout {
    offsets: Vec<usize>,
}

impl HistogramLayout {
    pub(super) fn new(binned: &BinnedMatrix) -> Self {
        let mut offsets = vec![0];
        for mapper in &binned.mappers {
            offsets.push(offsets.last().copied().unwrap_or(0) + mapper.bins());
        }
        Self { offsets }
    }

    /// Cells of one histogram.
    pub(super) fn len(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// Feature `f`'s bins within a histogram.
    pub(super) fn feature<'h>(&self, histogram: &'h [BinSums], f: usize) -> &'h [BinSums] {
        &histogram[self.offsets[f]..self.offsets[f + 1]]
    }

    /// The histogram split into one mutable slice per feature.
    fn features_mut<'h>(&self, mut histogram: &'h mut [BinSums]) -> Vec<&'h mut [BinSums]> {
        let mut parts = Vec::with_capacity(self.offsets.len());
        for pair in self.offsets.windows(2) {
            let (head, tail) = histogram.split_at_mut(pair[1] - pair[0]);
            parts.push(head);
            histogram = tail;
        }
        parts
    }
}

/// Quantized gradient and hessian of one row, laid out as the
/// [`Partial`] sum of that one row (gradient, hessian, count 1, padding):
/// adding it to a histogram cell is one 16-byte vector add.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub(super) struct Quantized([i32; 4]);

impl Quantized {
    pub(super) fn new(g: i32, h: i32) -> Self {
        Self([g, h, 1, 0])
    }

    pub(super) fn g(self) -> i32 {
        self.0[0]
    }

    pub(super) fn h(self) -> i32 {
        self.0[1]
    }
}

/// One round's gradients quantized to integers, with the scales that turn
/// integer sums back into real ones.
#[derive(Debug, Clone, Default)]
pub(super) struct QuantizedGradients {
    pub(super) values: Vec<Quantized>,
    pub(super) g_scale: f64,
    pub(super) h_scale: f64,
    bits: u32,
}

impl QuantizedGradients {
    /// Quantizes `g`, `h` (hessians ≥ 0) to `bits` bits: `g / g_scale` and
    /// `h / h_scale` rounded down or up at random with the probability that
    /// keeps the expectation (stochastic rounding). The random draw of a row
    /// depends only on `(seed, stream, row)`, so any partition of the rows
    /// quantizes identically.
    pub(super) fn quantize(&mut self, g: &[f64], h: &[f64], bits: u32, seed: u64, stream: u64) {
        let (max_g, max_h) = g
            .par_chunks(ROW_CHUNK)
            .zip(h.par_chunks(ROW_CHUNK))
            .map(|(g, h)| {
                let max_g = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                (max_g, h.iter().fold(0.0f64, |m, v| m.max(*v)))
            })
            .reduce(|| (0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
        let levels_g = f64::from((1u32 << (bits - 1)) - 1);
        let levels_h = f64::from((1u32 << bits) - 1);
        self.g_scale = if max_g > 0.0 { max_g / levels_g } else { 1.0 };
        self.h_scale = if max_h > 0.0 { max_h / levels_h } else { 1.0 };
        self.bits = bits;
        // Multiplying by the reciprocal (a division per value costs more than
        // the rest of the row); the clamp keeps the rounding error of the
        // reciprocal from pushing a value past its level count.
        let (to_g, to_h) = (1.0 / self.g_scale, 1.0 / self.h_scale);
        let draws = Draws::new(seed, stream);
        self.values.resize(g.len(), Quantized::default());
        // Rows are independent, so the chunking does not change the result.
        self.values
            .par_chunks_mut(ROW_CHUNK)
            .enumerate()
            .for_each(|(chunk, values)| {
                let start = chunk * ROW_CHUNK;
                let rows = start..start + values.len();
                for ((q, (&g, &h)), row) in values
                    .iter_mut()
                    .zip(g[rows.clone()].iter().zip(&h[rows.clone()]))
                    .zip(rows)
                {
                    let (u, v) = draws.pair(row as u64);
                    let g = (g * to_g).clamp(-levels_g, levels_g);
                    let h = (h * to_h).clamp(0.0, levels_h);
                    *q = Quantized::new(
                        floor(g + u).min(levels_g as i32),
                        floor(h + v).min(levels_h as i32),
                    );
                }
            });
    }

    /// Rows whose gradients a [`Partial`] can sum without overflow:
    /// `|g| < 2^(bits−1)` and `h < 2^bits`, so `2^(32−bits)` rows keep the
    /// gradient sum inside `i32` and the hessian sum inside `u32`.
    pub(super) fn segment_rows(&self) -> usize {
        1 << (32 - self.bits.clamp(4, 24))
    }

    /// Real gradient sum of integer sums.
    pub(super) fn g_real(&self, sums: BinSums) -> f64 {
        sums.g as f64 * self.g_scale
    }

    /// Real hessian sum of integer sums.
    pub(super) fn h_real(&self, sums: BinSums) -> f64 {
        sums.h as f64 * self.h_scale
    }
}

/// `⌊x⌋` for `|x| < 2³¹` by truncation: `f64::floor` is a software call
/// on baseline x86-64, and this runs for every row and tree.
fn floor(x: f64) -> i32 {
    let truncated = x as i32;
    truncated - i32::from(x < f64::from(truncated))
}

/// 32-bit sums of one bin over at most
/// [`segment_rows`](QuantizedGradients::segment_rows) rows: gradient,
/// hessian (the bits of a `u32`), rows and padding, so adding a row is one
/// 16-byte vector add instead of three 64-bit ones. Widened into
/// [`BinSums`] before they could overflow; integer sums either way, so the
/// bits do not change.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(16))]
pub(super) struct Partial([i32; 4]);

impl Partial {
    #[inline(always)]
    fn add(&mut self, q: Quantized) {
        for (sum, value) in self.0.iter_mut().zip(q.0) {
            *sum = sum.wrapping_add(value);
        }
    }

    fn widen(self) -> BinSums {
        BinSums {
            g: i64::from(self.0[0]),
            h: i64::from(self.0[1] as u32),
            n: i64::from(self.0[2] as u32),
        }
    }
}

/// `total += partial` (or `=` when `assign`), cell by cell, leaving
/// `partial` zeroed for its next use.
fn flush(total: &mut [BinSums], partial: &mut [Partial], assign: bool) {
    for (t, p) in total.iter_mut().zip(partial.iter_mut()) {
        let sums = std::mem::take(p).widen();
        if assign {
            *t = sums;
        } else {
            *t += sums;
        }
    }
}

/// Rows per parallel block of a row-wise histogram.
const ROW_BLOCK: usize = 1 << 11;

/// Fills `histogram` with the sums of `rows`. `ordered` holds the
/// quantized gradients of `rows` in the same order, so the inner loop
/// reads them sequentially; `segment` is
/// [`QuantizedGradients::segment_rows`]. Row by row when the matrix has a
/// row-major copy (every feature, allowed or not: a row's bins share a
/// cache line), in blocks summed into `spare` partial histograms (kept
/// zeroed between builds) and added in block order; else feature by
/// feature (the parts of features not `allowed` are zeroed).
#[allow(clippy::too_many_arguments)]
pub(super) fn build_histogram(
    binned: &BinnedMatrix,
    layout: &HistogramLayout,
    rows: &[u32],
    ordered: &[Quantized],
    segment: usize,
    allowed: &[bool],
    histogram: &mut [BinSums],
    spare: &mut Vec<Vec<Partial>>,
) {
    match &binned.row_major {
        Some(BinColumn::Small(cells)) => {
            rows_into(cells, layout, rows, ordered, segment, histogram, spare)
        }
        Some(BinColumn::Wide(cells)) => {
            rows_into(cells, layout, rows, ordered, segment, histogram, spare)
        }
        None => columns_into(binned, layout, rows, ordered, segment, allowed, histogram),
    }
}

/// The row-wise build (see [`build_histogram`]).
fn rows_into<B: Copy + Into<usize> + Sync>(
    cells: &[B],
    layout: &HistogramLayout,
    rows: &[u32],
    ordered: &[Quantized],
    segment: usize,
    histogram: &mut [BinSums],
    spare: &mut Vec<Vec<Partial>>,
) {
    let width = layout.offsets.len() - 1;
    let offsets = &layout.offsets[..width];
    // A few blocks per thread (integer sums: the count does not change
    // the result), each at least ROW_BLOCK rows and at most a segment.
    let wanted = if rows.len() < 2 * ROW_BLOCK {
        1
    } else {
        (rows.len() / ROW_BLOCK).clamp(1, 4 * rayon::current_num_threads())
    };
    let block = rows
        .len()
        .div_ceil(wanted.max(rows.len().div_ceil(segment)))
        .max(1);
    let blocks = rows.len().div_ceil(block).max(1);
    while spare.len() < blocks {
        spare.push(vec![Partial::default(); layout.len()]);
    }
    if blocks == 1 {
        accumulate_rows(cells, width, offsets, rows, ordered, &mut spare[0]);
    } else {
        rows.par_chunks(block)
            .zip(ordered.par_chunks(block))
            .zip(spare.par_iter_mut())
            .for_each(|((rows, ordered), out)| {
                accumulate_rows(cells, width, offsets, rows, ordered, out);
            });
    }
    for (i, partial) in spare[..blocks].iter_mut().enumerate() {
        flush(histogram, partial, i == 0);
    }
}

/// The feature-wise build (see [`build_histogram`]).
fn columns_into(
    binned: &BinnedMatrix,
    layout: &HistogramLayout,
    rows: &[u32],
    ordered: &[Quantized],
    segment: usize,
    allowed: &[bool],
    histogram: &mut [BinSums],
) {
    let parts = layout.features_mut(histogram);
    let fill = |(f, part): (usize, &mut [BinSums])| {
        if !allowed[f] {
            part.fill(BinSums::default());
            return;
        }
        SCRATCH.with_borrow_mut(|scratch| match &binned.columns[f] {
            BinColumn::Small(bins) => accumulate(bins, rows, ordered, segment, part, scratch),
            BinColumn::Wide(bins) => accumulate(bins, rows, ordered, segment, part, scratch),
        })
    };
    if rows.len() * parts.len() >= PARALLEL_CELLS {
        parts.into_par_iter().enumerate().for_each(fill);
    } else {
        parts.into_iter().enumerate().for_each(fill);
    }
}

thread_local! {
    /// Each thread's partial histogram of one feature (all its lanes),
    /// reused by every node.
    static SCRATCH: std::cell::RefCell<Vec<Partial>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Adds each row's gradients to its bin of every feature.
fn accumulate_rows<B: Copy + Into<usize>>(
    row_major: &[B],
    width: usize,
    offsets: &[usize],
    rows: &[u32],
    ordered: &[Quantized],
    out: &mut [Partial],
) {
    for (&row, q) in rows.iter().zip(ordered) {
        let start = row as usize * width;
        for (&bin, &offset) in row_major[start..start + width].iter().zip(offsets) {
            out[offset + bin.into()].add(*q);
        }
    }
}

/// Features with at most this many bins (all `u8` ones) are summed into
/// [`LANES`] copies of their histogram, merged at the end.
const SMALL_FEATURE_BINS: usize = 256;
/// Copies of a small feature's histogram: neighbouring rows often fall in
/// the same bin, and updating one cell back to back waits on the previous
/// store; rows `i mod LANES` apart update different copies. Integer sums,
/// so the merged result has the same bits.
const LANES: usize = 4;

/// Fills one feature's `part` of a histogram from `bins`, a segment of
/// rows at a time through `scratch`.
fn accumulate<B: Copy + Into<usize>>(
    bins: &[B],
    rows: &[u32],
    ordered: &[Quantized],
    segment: usize,
    part: &mut [BinSums],
    scratch: &mut Vec<Partial>,
) {
    let cells = part.len();
    if cells == 0 {
        return;
    }
    // Lanes pay only when rows outnumber the cells they add to merge.
    let lanes = if cells <= SMALL_FEATURE_BINS && rows.len() >= LANES * cells {
        LANES
    } else {
        1
    };
    // Zero between uses: every flush zeroes what it read.
    if scratch.len() < lanes * cells {
        scratch.resize(lanes * cells, Partial::default());
    }
    let scratch = &mut scratch[..lanes * cells];
    part.fill(BinSums::default());
    for (rows, ordered) in rows.chunks(segment).zip(ordered.chunks(segment)) {
        if lanes == 1 {
            for (&row, q) in rows.iter().zip(ordered) {
                scratch[bins[row as usize].into()].add(*q);
            }
        } else {
            let mut chunks = rows.chunks_exact(LANES).zip(ordered.chunks_exact(LANES));
            for (rows, quantized) in &mut chunks {
                for lane in 0..LANES {
                    let bin: usize = bins[rows[lane] as usize].into();
                    scratch[lane * cells + bin].add(quantized[lane]);
                }
            }
            let done = rows.len() - rows.len() % LANES;
            for (&row, q) in rows[done..].iter().zip(&ordered[done..]) {
                scratch[bins[row as usize].into()].add(*q);
            }
        }
        for lane in scratch.chunks_mut(cells) {
            flush(part, lane, false);
        }
    }
}

/// `total += part`, cell by cell: merging histograms of parts of the rows
/// (in any order) gives the histogram of all of them, bit for bit: the
/// rule a partitioned, multi-machine fit will merge by, checked here.
#[cfg(test)]
pub(super) fn merge(total: &mut [BinSums], part: &[BinSums]) {
    for (t, p) in total.iter_mut().zip(part) {
        *t += *p;
    }
}

/// `parent −= child`, cell by cell: the sibling's histogram, exactly.
pub(super) fn subtract(parent: &mut [BinSums], child: &[BinSums]) {
    for (p, c) in parent.iter_mut().zip(child) {
        *p -= *c;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use mlrig_core::Features;
    use mlrig_core::ndarray::Array2;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Histograms of any partition of the rows, merged in any order,
        /// equal the one-pass histogram; so does parent − sibling.
        #[test]
        fn any_partition_and_merge_order_gives_the_same_histogram(
            cells in proptest::collection::vec((0u8..6, -1e3f64..1e3, 0f64..1e2, 0usize..4), 1..200),
            order_seed in any::<u64>(),
            bits in 4u32..=24,
        ) {
            let n = cells.len();
            let x = Array2::from_shape_fn((n, 2), |(i, j)| {
                let v = f64::from(cells[i].0);
                if j == 0 { v } else if v == 5.0 { f64::NAN } else { v * 0.5 }
            });
            let features = Features::dense(vec!["a".into(), "b".into()], x).unwrap();
            let binned = BinnedMatrix::build(&features, &[true, false], 255, None, None).unwrap();
            let layout = HistogramLayout::new(&binned);
            let g: Vec<f64> = cells.iter().map(|c| c.1).collect();
            let h: Vec<f64> = cells.iter().map(|c| c.2).collect();
            let mut q = QuantizedGradients::default();
            q.quantize(&g, &h, bits, 3, 9);
            let all = [true, true];
            let histogram = |rows: &[u32]| {
                let ordered: Vec<Quantized> = rows.iter().map(|&r| q.values[r as usize]).collect();
                let mut out = vec![BinSums::default(); layout.len()];
                build_histogram(&binned, &layout, rows, &ordered, q.segment_rows(), &all, &mut out, &mut Vec::new());
                out
            };
            let rows: Vec<u32> = (0..n as u32).collect();
            let whole = histogram(&rows);
            // Parts by the fourth field, merged in a seeded order.
            let mut parts: Vec<Vec<u32>> = (0..4)
                .map(|p| rows.iter().copied().filter(|&r| cells[r as usize].3 == p).collect())
                .collect();
            parts.sort_by_key(|part| super::super::random::unit(order_seed, 0, part.len() as u64).to_bits());
            let mut merged = vec![BinSums::default(); layout.len()];
            for part in &parts {
                merge(&mut merged, &histogram(part));
            }
            prop_assert_eq!(&merged, &whole);
            let mut sibling = whole.clone();
            subtract(&mut sibling, &histogram(&parts[0]));
            let rest: Vec<u32> = parts[1..].concat();
            prop_assert_eq!(sibling, histogram(&rest));
        }
    }

    #[test]
    fn row_wise_blocks_in_parallel_equal_the_feature_wise_histogram() {
        let n = 9 * ROW_BLOCK + 77;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            ((i * (j + 7) * 2_654_435_761) % 300) as f64
        });
        let features = Features::dense(vec!["a".into(), "b".into(), "c".into()], x).unwrap();
        let binned =
            BinnedMatrix::build(&features, &[false, true, false], 255, None, None).unwrap();
        assert!(binned.row_major.is_some());
        let mut by_feature = binned.clone();
        by_feature.row_major = None;
        let layout = HistogramLayout::new(&binned);
        let g: Vec<f64> = (0..n).map(|i| ((i % 13) as f64 - 6.0) / 7.0).collect();
        let h: Vec<f64> = (0..n).map(|i| (i % 5) as f64 / 4.0).collect();
        let mut q = QuantizedGradients::default();
        q.quantize(&g, &h, 16, 1, 2);
        let rows: Vec<u32> = (0..n as u32).filter(|r| r % 7 != 3).collect();
        let ordered: Vec<Quantized> = rows.iter().map(|&r| q.values[r as usize]).collect();
        let build = |matrix: &BinnedMatrix| {
            let mut out = vec![BinSums::default(); layout.len()];
            build_histogram(
                matrix,
                &layout,
                &rows,
                &ordered,
                q.segment_rows(),
                &[true; 3],
                &mut out,
                &mut Vec::new(),
            );
            out
        };
        assert_eq!(build(&binned), build(&by_feature));
    }

    #[test]
    fn floor_by_truncation_is_floor() {
        for x in [
            -2.5, -2.0, -0.5, -0.0, 0.0, 0.25, 1.0, 1.999, 32767.5, -32768.0,
        ] {
            assert_eq!(floor(x), x.floor() as i32, "{x}");
        }
    }

    #[test]
    fn quantization_keeps_signs_scales_and_is_reproducible() {
        let g = [0.5, -1.0, 0.25, 0.0];
        let h = [0.25, 0.1, 0.0, 0.2];
        let mut a = QuantizedGradients::default();
        a.quantize(&g, &h, 8, 7, 1);
        let mut b = QuantizedGradients::default();
        b.quantize(&g, &h, 8, 7, 1);
        assert_eq!(a.values, b.values);
        assert_eq!(a.values[1].g(), -127);
        assert_eq!(a.values[0].h(), 255);
        assert_eq!(a.values[3].g(), 0);
        assert!(a.values.iter().all(|q| q.h() >= 0));
        assert!((a.g_scale * 127.0 - 1.0).abs() < 1e-15);
    }
}
