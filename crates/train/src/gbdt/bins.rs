//! Binning: every feature column becomes small integers (`u8`, or `u16` for
//! a feature with more than 255 categories), stored column by column.
//! Bin 0 holds missing values (NaN); numeric bins follow the sorted values,
//! one per distinct value when there are few, else cut at quantiles;
//! category codes get one bin each.

use mlrig_core::sprs::CsMat;
use mlrig_core::{FeatureMatrix, Features};
use rayon::prelude::*;

use crate::error::{Result, TrainError};

/// The largest category code a categorical feature may hold.
pub(super) const MAX_CATEGORY_CODE: u32 = 1 << 24;

/// How one feature's values map to bins.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum BinMapper {
    /// Bin `b ≥ 1` holds the values in `(upper_bounds[b − 2], upper_bounds[b − 1]]`;
    /// the last bound is +∞.
    Numeric { upper_bounds: Vec<f64> },
    /// Bin `b ≥ 1` holds the code `codes[b − 1]` (sorted); `bin_of[code]` is
    /// its bin (0 for a code not seen in training).
    Categorical { codes: Vec<u32>, bin_of: Vec<u16> },
}

impl BinMapper {
    /// Bins including the missing bin 0.
    pub(super) fn bins(&self) -> usize {
        1 + match self {
            BinMapper::Numeric { upper_bounds } => upper_bounds.len(),
            BinMapper::Categorical { codes, .. } => codes.len(),
        }
    }

    fn bin(&self, value: f64) -> u16 {
        if value.is_nan() {
            return 0;
        }
        match self {
            BinMapper::Numeric { upper_bounds } => {
                // Bins are at most 255, so the cast cannot truncate.
                1 + upper_bounds.partition_point(|&bound| bound < value) as u16
            }
            BinMapper::Categorical { bin_of, .. } => category_code(value)
                .and_then(|code| bin_of.get(code as usize).copied())
                .unwrap_or(0),
        }
    }

    /// The raw threshold of a numeric split after bin `bin` (values ≤ it go
    /// left). After the last bin (a split of the missing values from all
    /// others) it is `f64::MAX`, not +∞, which JSON cannot hold.
    pub(super) fn threshold(&self, bin: usize) -> f64 {
        match self {
            BinMapper::Numeric { upper_bounds } => upper_bounds
                .get(bin.saturating_sub(1))
                .copied()
                .unwrap_or(f64::MAX)
                .min(f64::MAX),
            BinMapper::Categorical { .. } => f64::NAN,
        }
    }

    /// The category code of bin `bin` of a categorical feature.
    pub(super) fn code(&self, bin: usize) -> Option<u32> {
        match self {
            BinMapper::Categorical { codes, .. } => codes.get(bin.checked_sub(1)?).copied(),
            BinMapper::Numeric { .. } => None,
        }
    }

    pub(super) fn is_categorical(&self) -> bool {
        matches!(self, BinMapper::Categorical { .. })
    }
}

/// The integer code of a categorical value: a whole number in
/// `0..=MAX_CATEGORY_CODE` (anything else is no category).
pub(super) fn category_code(value: f64) -> Option<u32> {
    // A cast and a compare, not `fract()` (a libm call on the serving path).
    let code = value as u32;
    (value >= 0.0 && value <= f64::from(MAX_CATEGORY_CODE) && f64::from(code) == value)
        .then_some(code)
}

/// One binned feature column.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum BinColumn {
    /// At most 256 bins.
    Small(Vec<u8>),
    /// More bins (many categories).
    Wide(Vec<u16>),
}

impl BinColumn {
    /// The bin of row `row`.
    pub(super) fn bin(&self, row: usize) -> usize {
        match self {
            BinColumn::Small(bins) => usize::from(bins[row]),
            BinColumn::Wide(bins) => usize::from(bins[row]),
        }
    }
}

/// The binned training matrix: one mapper and one column per feature.
#[derive(Debug, Clone)]
pub(super) struct BinnedMatrix {
    pub(super) mappers: Vec<BinMapper>,
    pub(super) columns: Vec<BinColumn>,
    pub(super) rows: usize,
    /// The same bins row by row (`rows × features`; `u8` cells when every
    /// column is `u8`, else `u16`) when the histogram is small enough for a
    /// row-wise build: a leaf's histogram then reads one or two cache lines
    /// per row instead of one per feature.
    pub(super) row_major: Option<BinColumn>,
}

/// Which rows shape the bin bounds, by row number: the fit rows (not held
/// out) set the categories, the sample rows among them the numeric bounds.
pub(super) trait BoundRows: Sync {
    fn fit(&self, row: usize) -> bool;
    fn sample(&self, row: usize) -> bool;
}

/// Flags per row (every row when `None`).
#[cfg(test)]
pub(super) struct FlaggedRows<'a> {
    pub(super) fit: Option<&'a [bool]>,
    pub(super) sample: Option<&'a [bool]>,
}

#[cfg(test)]
impl BoundRows for FlaggedRows<'_> {
    fn fit(&self, row: usize) -> bool {
        self.fit
            .is_none_or(|f| f.get(row).copied().unwrap_or(false))
    }

    fn sample(&self, row: usize) -> bool {
        match self.sample {
            Some(s) => s.get(row).copied().unwrap_or(false),
            None => self.fit(row),
        }
    }
}

impl BinnedMatrix {
    /// Bins features that arrive in parts (one part: a whole matrix), in
    /// two passes over `parts()`: the first keeps only what sets the bounds
    /// (the sample rows' numeric values, the fit rows' distinct category
    /// codes), the second bins each part and drops it — so the parts are
    /// never all held at once. Columns are processed in parallel. Every
    /// part must have the same column names, and both passes the same rows.
    pub(super) fn from_parts<P, E, I>(
        parts: impl Fn() -> I,
        categorical: &[bool],
        max_bins: usize,
        bounds: &dyn BoundRows,
    ) -> Result<Self>
    where
        P: std::borrow::Borrow<Features>,
        TrainError: From<E>,
        I: IntoIterator<Item = std::result::Result<P, E>>,
    {
        let mut names: Option<Vec<String>> = None;
        let mut kept: Vec<Vec<f64>> = Vec::new();
        let mut rows = 0;
        for part in parts() {
            let part = part?;
            let part = part.borrow();
            let expected = names.get_or_insert_with(|| part.names().to_vec());
            same_columns(expected, part, rows)?;
            kept.resize_with(part.ncols(), Vec::new);
            let csc = csc_of(part);
            let offset = rows;
            let found: Vec<Vec<f64>> = (0..part.ncols())
                .into_par_iter()
                .map(|j| {
                    let values = finite_column(part, csc.as_ref(), j, offset)?;
                    let is_category = categorical.get(j).copied().unwrap_or(false);
                    let mut keep: Vec<f64> = values
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| {
                            if is_category {
                                bounds.fit(offset + i)
                            } else {
                                bounds.sample(offset + i)
                            }
                        })
                        .map(|(_, &v)| v)
                        .collect();
                    if is_category {
                        distinct(&mut keep);
                    }
                    Ok(keep)
                })
                .collect::<Result<_>>()?;
            for (j, (all, new)) in kept.iter_mut().zip(found).enumerate() {
                all.extend(new);
                if categorical.get(j).copied().unwrap_or(false) {
                    distinct(all);
                }
            }
            rows += part.nrows();
        }
        let names = names.unwrap_or_default();
        let mappers: Vec<BinMapper> = kept
            .into_par_iter()
            .enumerate()
            .map(|(j, values)| {
                let name = || names.get(j).cloned().unwrap_or_default();
                if categorical.get(j).copied().unwrap_or(false) {
                    categorical_mapper(values.into_iter(), &name)
                } else {
                    Ok(numeric_mapper(values.into_iter(), max_bins))
                }
            })
            .collect::<Result<_>>()?;
        let mut columns: Vec<BinColumn> = mappers
            .iter()
            .map(|m| {
                if m.bins() <= 256 {
                    BinColumn::Small(Vec::with_capacity(rows))
                } else {
                    BinColumn::Wide(Vec::with_capacity(rows))
                }
            })
            .collect();
        let mut binned_rows = 0;
        for part in parts() {
            let part = part?;
            let part = part.borrow();
            same_columns(&names, part, binned_rows)?;
            let csc = csc_of(part);
            columns
                .par_iter_mut()
                .zip(&mappers)
                .enumerate()
                .for_each(|(j, (column, mapper))| {
                    let values = column_values(part, csc.as_ref(), j);
                    match column {
                        BinColumn::Small(bins) => {
                            bins.extend(values.iter().map(|&v| mapper.bin(v) as u8));
                        }
                        BinColumn::Wide(bins) => bins.extend(values.iter().map(|&v| mapper.bin(v))),
                    }
                });
            binned_rows += part.nrows();
        }
        if binned_rows != rows {
            return Err(TrainError::LengthMismatch {
                what: "feature parts: rows of the binning pass vs the bounds pass".into(),
                expected: rows,
                found: binned_rows,
            });
        }
        let row_major = row_major(&mappers, &columns, rows);
        Ok(Self {
            mappers,
            columns,
            rows,
            row_major,
        })
    }

    /// Bins one in-memory matrix ([`from_parts`](Self::from_parts) with
    /// one part).
    #[cfg(test)]
    pub(super) fn build(
        features: &Features,
        categorical: &[bool],
        max_bins: usize,
        fit_rows: Option<&[bool]>,
        sample_rows: Option<&[bool]>,
    ) -> Result<Self> {
        let bounds = FlaggedRows {
            fit: fit_rows,
            sample: sample_rows,
        };
        Self::from_parts(
            || std::iter::once(Ok::<_, TrainError>(features)),
            categorical,
            max_bins,
            &bounds,
        )
    }
}

/// A part's columns must be the first part's, in order.
fn same_columns(expected: &[String], part: &Features, first_row: usize) -> Result<()> {
    if part.names() == expected {
        return Ok(());
    }
    Err(TrainError::invalid_parameter(
        "features",
        format!(
            "the part starting at row {first_row} has columns [{}], the first part [{}]; every \
             part must have the same columns in the same order",
            part.names().join(", "),
            expected.join(", ")
        ),
    ))
}

/// A CSC copy of a sparse part, so columns read fast.
fn csc_of(part: &Features) -> Option<CsMat<f64>> {
    match part.matrix() {
        FeatureMatrix::Sparse(m) => Some(m.to_csc()),
        FeatureMatrix::Dense(_) => None,
    }
}

/// Column `j` of a part whose first row is row `offset`; an infinity is a
/// broken input upstream (NaN is missing).
fn finite_column(
    part: &Features,
    csc: Option<&CsMat<f64>>,
    j: usize,
    offset: usize,
) -> Result<Vec<f64>> {
    let values = column_values(part, csc, j);
    match values.iter().position(|v| v.is_infinite()) {
        Some(row) => Err(TrainError::NonFinite {
            what: "features".into(),
            row: offset + row,
            column: Some(part.names().get(j).cloned().unwrap_or_default()),
            value: values[row],
        }),
        None => Ok(values),
    }
}

/// Keeps one of each category code, in code order, and the first value
/// that is no code (the mapper reports it); drops missing values. A bitmap
/// over the codes, so it costs one pass.
fn distinct(values: &mut Vec<f64>) {
    let mut seen: Vec<bool> = Vec::new();
    let mut not_a_code = None;
    for &v in values.iter() {
        match category_code(v) {
            Some(code) => {
                let code = code as usize;
                if seen.len() <= code {
                    seen.resize(code + 1, false);
                }
                seen[code] = true;
            }
            None if !v.is_nan() => {
                not_a_code = not_a_code.or(Some(v));
            }
            None => {}
        }
    }
    values.clear();
    values.extend(not_a_code);
    values.extend((0..seen.len()).filter(|&c| seen[c]).map(|c| c as f64));
}

/// Histogram cells (all features' bins) up to which a row-wise build pays:
/// 1,536 cells of 24 bytes stay in a 48 KB L1 cache while every row
/// touches one cell per feature; larger histograms are built feature by
/// feature, each feature's part staying in cache.
const ROW_WISE_MAX_CELLS: usize = 1536;

/// The columns interleaved row by row, in the narrowest cell type that
/// holds every column's bins; `None` when the histogram is too large for
/// a row-wise build (or there are no columns).
fn row_major(mappers: &[BinMapper], columns: &[BinColumn], rows: usize) -> Option<BinColumn> {
    let cells: usize = mappers.iter().map(BinMapper::bins).sum();
    if columns.is_empty() || cells > ROW_WISE_MAX_CELLS {
        return None;
    }
    if columns.iter().all(|c| matches!(c, BinColumn::Small(_))) {
        Some(BinColumn::Small(interleave(
            columns,
            rows,
            |c, r| match c {
                BinColumn::Small(bins) => bins[r],
                BinColumn::Wide(_) => 0,
            },
        )))
    } else {
        Some(BinColumn::Wide(interleave(columns, rows, |c, r| match c {
            BinColumn::Small(bins) => u16::from(bins[r]),
            BinColumn::Wide(bins) => bins[r],
        })))
    }
}

fn interleave<T: Copy + Default + Send>(
    columns: &[BinColumn],
    rows: usize,
    cell: impl Fn(&BinColumn, usize) -> T + Sync,
) -> Vec<T> {
    let width = columns.len();
    let mut out = vec![T::default(); rows * width];
    out.par_chunks_mut(width)
        .enumerate()
        .for_each(|(row, cells)| {
            for (value, column) in cells.iter_mut().zip(columns) {
                *value = cell(column, row);
            }
        });
    out
}

/// Column `j` of a dense matrix, or of a CSC copy of a sparse one (absent
/// entries are 0): one column at a time, so binning never holds a second
/// full `f64` copy of the features.
fn column_values(features: &Features, csc: Option<&CsMat<f64>>, j: usize) -> Vec<f64> {
    match (features.matrix(), csc) {
        (FeatureMatrix::Dense(m), _) => m.column(j).to_vec(),
        (FeatureMatrix::Sparse(_), Some(csc)) => {
            let mut values = vec![0.0; features.nrows()];
            if let Some(column) = csc.outer_view(j) {
                for (row, &v) in column.iter() {
                    values[row] = v;
                }
            }
            values
        }
        (FeatureMatrix::Sparse(_), None) => vec![0.0; features.nrows()],
    }
}

/// Bin bounds from the sorted distinct values: one bin per value when there
/// are at most `max_bins`, else greedy cuts so bins hold about equal counts,
/// a value heavier than a bin's share getting a bin of its own (the rule of
/// LightGBM's `GreedyFindBin`, so equal settings cut alike). Bounds sit
/// halfway between neighbours.
fn numeric_mapper(values: impl Iterator<Item = f64>, max_bins: usize) -> BinMapper {
    let mut sorted: Vec<f64> = values.filter(|v| !v.is_nan()).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for v in sorted {
        match distinct.last_mut() {
            // -0.0 and 0.0 are one value.
            Some((last, count)) if *last == v => *count += 1,
            _ => distinct.push((v, 1)),
        }
    }
    let mut upper_bounds = Vec::new();
    if distinct.len() <= max_bins {
        for pair in distinct.windows(2) {
            upper_bounds.push(midpoint(pair[0].0, pair[1].0));
        }
    } else {
        // Values heavier than a bin's share get bins of their own; the
        // others share the remaining bins about equally.
        let total: usize = distinct.iter().map(|(_, c)| c).sum();
        let first_share = total as f64 / max_bins as f64;
        let big: Vec<bool> = distinct
            .iter()
            .map(|&(_, c)| c as f64 >= first_share)
            .collect();
        let big_rows: usize = distinct
            .iter()
            .zip(&big)
            .filter(|(_, b)| **b)
            .map(|((_, c), _)| c)
            .sum();
        let mut rest_bins = (max_bins - big.iter().filter(|b| **b).count()).max(1);
        let mut rest_rows = total - big_rows;
        let mut share = rest_rows as f64 / rest_bins as f64;
        let mut in_bin = 0;
        for (i, pair) in distinct.windows(2).enumerate() {
            let ((v, count), (next, _)) = (pair[0], pair[1]);
            if !big[i] {
                rest_rows -= count;
            }
            in_bin += count;
            let next_big = big[i + 1];
            if big[i]
                || in_bin as f64 >= share
                || (next_big && in_bin as f64 >= (share * 0.5).max(1.0))
            {
                upper_bounds.push(midpoint(v, next));
                if upper_bounds.len() + 1 >= max_bins {
                    break;
                }
                in_bin = 0;
                if !big[i] && rest_bins > 1 {
                    rest_bins -= 1;
                    share = rest_rows as f64 / rest_bins as f64;
                }
            }
        }
    }
    upper_bounds.push(f64::INFINITY);
    BinMapper::Numeric { upper_bounds }
}

/// A bound with `low ≤ bound < high`.
fn midpoint(low: f64, high: f64) -> f64 {
    let mid = low + (high - low) / 2.0;
    if mid < high { mid } else { low }
}

/// One bin per category code seen (codes must be whole numbers ≥ 0).
fn categorical_mapper(
    values: impl Iterator<Item = f64>,
    name: &dyn Fn() -> String,
) -> Result<BinMapper> {
    let mut seen: Vec<bool> = Vec::new();
    for v in values.filter(|v| !v.is_nan()) {
        let code = category_code(v).ok_or_else(|| {
            TrainError::invalid_parameter(
                "categorical",
                format!(
                    "column `{}` is split as categories, so its values must be whole numbers in \
                     0..={MAX_CATEGORY_CODE} (the `ordinal` encoding writes them), found {v}",
                    name()
                ),
            )
        })? as usize;
        if seen.len() <= code {
            seen.resize(code + 1, false);
        }
        seen[code] = true;
    }
    let codes: Vec<u32> = (0..seen.len() as u32)
        .filter(|&c| seen[c as usize])
        .collect();
    if codes.len() >= usize::from(u16::MAX) {
        return Err(TrainError::invalid_parameter(
            "categorical",
            format!(
                "column `{}` has {} categories; at most {} can be split natively — \
                 hash or drop it",
                name(),
                codes.len(),
                u16::MAX - 1
            ),
        ));
    }
    let mut bin_of = vec![0u16; seen.len()];
    for (bin, &code) in codes.iter().enumerate() {
        bin_of[code as usize] = bin as u16 + 1;
    }
    Ok(BinMapper::Categorical { codes, bin_of })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn few_distinct_values_get_a_bin_each_and_nan_bin_zero() {
        let m = numeric_mapper([3.0, 1.0, 2.0, 1.0].into_iter(), 255);
        assert_eq!(m.bins(), 4);
        assert_eq!(
            [1.0, 1.4, 2.0, 3.0, 99.0, f64::NAN].map(|v| m.bin(v)),
            [1, 1, 2, 3, 3, 0]
        );
        assert_eq!(m.threshold(1), 1.5);
    }

    #[test]
    fn many_values_are_cut_into_at_most_max_bins() {
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i % 1000)).collect();
        let m = numeric_mapper(values.iter().copied(), 16);
        assert!(m.bins() <= 17, "{}", m.bins());
        assert!(m.bins() >= 15, "{}", m.bins());
        let mut last = 0;
        for v in values.iter().take(1000) {
            let b = m.bin(*v);
            assert!(b >= last);
            last = b;
        }
    }

    #[test]
    fn categories_bin_by_code_and_reject_fractions() {
        let m = categorical_mapper([5.0, 2.0, 5.0].into_iter(), &String::new).unwrap();
        assert_eq!(
            [2.0, 5.0, 3.0, -1.0, f64::NAN].map(|v| m.bin(v)),
            [1, 2, 0, 0, 0]
        );
        assert_eq!(m.code(2), Some(5));
        let e = categorical_mapper([1.5].into_iter(), &|| "c".into()).unwrap_err();
        assert!(e.to_string().contains("`c`"), "{e}");
    }
}
