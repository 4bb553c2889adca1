//! Metrics of predicted probabilities.

use std::collections::BTreeMap;

use mlrig_core::ExactSum;
use mlrig_core::ndarray::ArrayView2;

use super::{
    RowSumTolerance, check_finite, check_pair, check_probability_matrix, check_unit_interval,
    exact_mean,
};
use crate::error::{Result, TrainError};

/// `−ln q` with `q` clipped to `[ε, 1 − ε]`, as scikit-learn's `log_loss`.
fn clipped_negative_log(q: f64) -> f64 {
    let eps = f64::EPSILON;
    -libm::log(q.clamp(eps, 1.0 - eps))
}

/// Mean negative log-likelihood of the positive-class probabilities
/// `probabilities` (each in `[0, 1]`), clipped to `[ε, 1 − ε]` with
/// `ε = f64::EPSILON` as scikit-learn does.
///
/// ```
/// use mlrig_train::metrics::log_loss;
/// let l = log_loss(&[true, false], &[0.8, 0.3])?;
/// assert!((l - (-(0.8f64.ln()) - 0.7f64.ln()) / 2.0).abs() < 1e-15);
/// // A confident mistake is finite: −ln(ε) ≈ 36.04.
/// assert!((log_loss(&[true], &[0.0])? - 36.04365338911715).abs() < 1e-12);
/// assert!(log_loss(&[true], &[1.5]).is_err());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn log_loss(y_true: &[bool], probabilities: &[f64]) -> Result<f64> {
    check_pair(
        "log_loss",
        y_true.len(),
        "probabilities",
        probabilities.len(),
    )?;
    check_finite("log_loss", "probabilities", probabilities)?;
    check_unit_interval("log_loss", "probabilities", probabilities)?;
    let losses = y_true
        .iter()
        .zip(probabilities)
        .map(|(&positive, &p)| clipped_negative_log(if positive { p } else { 1.0 - p }));
    Ok(exact_mean(losses, y_true.len()))
}

/// Multiclass log loss: `mean(−ln P[i, y_true[i]])` over an `n × k`
/// probability matrix, each probability clipped to `[ε, 1 − ε]` like
/// [`log_loss`].
///
/// `y_true` holds class indices `0..k` (`k ≥ 2`; classes may be absent from
/// `y_true`, like scikit-learn with `labels=range(k)`). Rows are used as
/// given, not renormalised, which is what scikit-learn 1.9.1 does; a row
/// whose sum is not 1 within `1e-8 + √ε` (where scikit-learn warns) is an
/// error here.
///
/// ```
/// use mlrig_train::metrics::log_loss_multiclass;
/// use mlrig_train::ndarray::array;
/// let p = array![[0.8, 0.1, 0.1], [0.2, 0.2, 0.6]];
/// let l = log_loss_multiclass(&[0, 2], p.view())?;
/// assert!((l - (-(0.8f64.ln()) - 0.6f64.ln()) / 2.0).abs() < 1e-15);
/// assert!(log_loss_multiclass(&[0, 3], p.view()).is_err()); // class 3 of 3
/// let unnormalised = array![[0.5, 0.3, 0.3]];
/// assert!(log_loss_multiclass(&[0], unnormalised.view()).is_err());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn log_loss_multiclass(y_true: &[usize], probabilities: ArrayView2<'_, f64>) -> Result<f64> {
    check_probability_matrix(
        "log_loss_multiclass",
        y_true,
        probabilities,
        RowSumTolerance::SqrtEpsilon,
    )?;
    let losses = y_true
        .iter()
        .zip(probabilities.rows())
        .map(|(&class, row)| clipped_negative_log(row.get(class).copied().unwrap_or(0.0)));
    Ok(exact_mean(losses, y_true.len()))
}

/// Brier score of the positive-class probabilities: `mean((p − y)²)` with
/// `y = 1` for positives and 0 for negatives (scikit-learn's binary
/// `brier_score_loss`, which is already halved into `[0, 1]`).
///
/// ```
/// use mlrig_train::metrics::brier_score;
/// // scikit-learn's example: brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) == 0.0375
/// let b = brier_score(&[false, true, true, false], &[0.1, 0.9, 0.8, 0.3])?;
/// assert!((b - 0.0375).abs() < 1e-15);
/// assert!(brier_score(&[true], &[-0.1]).is_err());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn brier_score(y_true: &[bool], probabilities: &[f64]) -> Result<f64> {
    const METRIC: &str = "brier_score";
    check_pair(METRIC, y_true.len(), "probabilities", probabilities.len())?;
    check_finite(METRIC, "probabilities", probabilities)?;
    check_unit_interval(METRIC, "probabilities", probabilities)?;
    let squares = y_true.iter().zip(probabilities).map(|(&positive, &p)| {
        let error = p - if positive { 1.0 } else { 0.0 };
        error * error
    });
    Ok(exact_mean(squares, y_true.len()))
}

/// Multiclass Brier score of an `n × k` probability matrix:
/// `mean(Σ_c (P[i, c] − [y_true[i] = c])²)`, in `[0, 2]`; halved when
/// `k = 2`, so that a two-column matrix scores like [`brier_score`]
/// (scikit-learn's `scale_by_half="auto"`).
///
/// `y_true` holds class indices `0..k`; rows must sum to 1 as for
/// [`log_loss_multiclass`].
///
/// ```
/// use mlrig_train::metrics::brier_score_multiclass;
/// use mlrig_train::ndarray::array;
/// // scikit-learn's example: rows 0.06 + 0.14 + 0.24, over 3 = 0.14666….
/// let p = array![[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.2, 0.2, 0.6]];
/// assert!((brier_score_multiclass(&[0, 1, 2], p.view())? - 0.44 / 3.0).abs() < 1e-15);
/// // Two columns: halved, the binary Brier score of column 1.
/// let p = array![[0.9, 0.1], [0.2, 0.8]];
/// assert!((brier_score_multiclass(&[0, 1], p.view())? - 0.025).abs() < 1e-15);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn brier_score_multiclass(y_true: &[usize], probabilities: ArrayView2<'_, f64>) -> Result<f64> {
    check_probability_matrix(
        "brier_score_multiclass",
        y_true,
        probabilities,
        RowSumTolerance::SqrtEpsilon,
    )?;
    let mut squares = ExactSum::default();
    for (&class, row) in y_true.iter().zip(probabilities.rows()) {
        for (column, &p) in row.iter().enumerate() {
            let error = p - if column == class { 1.0 } else { 0.0 };
            squares.add(error * error);
        }
    }
    let mean = squares.value() / y_true.len() as f64;
    Ok(if probabilities.ncols() == 2 {
        mean / 2.0
    } else {
        mean
    })
}

/// One non-empty bin of a [`calibration_curve`].
///
/// ```
/// use mlrig_train::metrics::{CalibrationBin, calibration_curve};
/// let bins = calibration_curve(&[false, true, true], &[0.2, 0.7, 0.9], 2)?;
/// assert_eq!(
///     bins[1],
///     CalibrationBin {
///         index: 1,
///         lower: 0.5,
///         upper: 1.0,
///         count: 2,
///         fraction_of_positives: 1.0,
///         mean_predicted_probability: 0.8,
///     }
/// );
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationBin {
    /// The bin's position among the `n_bins` equal-width bins (0-based).
    pub index: usize,
    /// The left edge: probabilities equal to it belong to the bin before
    /// (except 0, which is in bin 0).
    pub lower: f64,
    /// The right edge, included in the bin.
    pub upper: f64,
    /// Examples whose probability falls in the bin (at least 1).
    pub count: u64,
    /// Fraction of those examples that are positive (scikit-learn's `prob_true`).
    pub fraction_of_positives: f64,
    /// Mean of their probabilities (scikit-learn's `prob_pred`).
    pub mean_predicted_probability: f64,
}

/// Totals of one bin while the examples are read.
#[derive(Default)]
struct BinTotals {
    count: u64,
    positives: u64,
    /// Σ p − positives, exact: the calibration gap times the count.
    gap: ExactSum,
    probabilities: ExactSum,
}

/// The edges scikit-learn gets from `np.linspace(0, 1, n_bins + 1)`:
/// `j · (1 / n_bins)`, with the last edge exactly 1.
fn bin_edge(j: usize, n_bins: usize) -> f64 {
    if j >= n_bins {
        1.0
    } else {
        j as f64 * (1.0 / n_bins as f64)
    }
}

/// The bin of `p` as `np.searchsorted(edges[1:-1], p)` finds it: the number
/// of inner edges strictly below `p`. Binary search keeps the bin rule exact
/// (`p = 0.3` with 10 bins is in the bin ending at `3 · 0.1 = 0.30000000000000004`).
fn bin_index(p: f64, n_bins: usize) -> usize {
    // First inner edge j in 1..n_bins that is not below p.
    let (mut low, mut high) = (1, n_bins);
    while low < high {
        let middle = low + (high - low) / 2;
        if bin_edge(middle, n_bins) < p {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low - 1
}

fn uniform_bins(
    metric: &str,
    y_true: &[bool],
    probabilities: &[f64],
    n_bins: usize,
) -> Result<BTreeMap<usize, BinTotals>> {
    check_pair(metric, y_true.len(), "probabilities", probabilities.len())?;
    check_finite(metric, "probabilities", probabilities)?;
    check_unit_interval(metric, "probabilities", probabilities)?;
    if n_bins == 0 {
        return Err(TrainError::invalid_parameter(
            "n_bins",
            format!("{metric}: need at least 1 bin"),
        ));
    }
    // Only non-empty bins are stored, so any n_bins costs no memory.
    let mut bins: BTreeMap<usize, BinTotals> = BTreeMap::new();
    for (&positive, &p) in y_true.iter().zip(probabilities) {
        let bin = bins.entry(bin_index(p, n_bins)).or_default();
        bin.count += 1;
        bin.probabilities.add(p);
        bin.gap.add(p);
        if positive {
            bin.positives += 1;
            bin.gap.add(-1.0);
        }
    }
    Ok(bins)
}

/// Reliability diagram data: the probabilities are put in `n_bins` bins of
/// equal width over `[0, 1]`, and each non-empty bin reports its fraction of
/// positives and its mean probability (scikit-learn's
/// `calibration_curve(y_true, y_prob, n_bins=n_bins, strategy="uniform")`
/// returns these two as `prob_true`, `prob_pred`).
///
/// The edges are scikit-learn's `np.linspace(0, 1, n_bins + 1)`; a bin holds
/// the probabilities in `(lower, upper]`, the first one also 0, so a
/// probability exactly on an inner edge goes to the bin on its left and
/// 1.0 to the last bin.
///
/// ```
/// use mlrig_train::metrics::calibration_curve;
/// // scikit-learn's example: prob_true [0, 0.5, 1], prob_pred [0.2, 0.525, 0.85].
/// let y = [false, false, false, false, true, true, true, true, true];
/// let p = [0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0];
/// let bins = calibration_curve(&y, &p, 3)?;
/// let prob_true: Vec<f64> = bins.iter().map(|b| b.fraction_of_positives).collect();
/// let counts: Vec<u64> = bins.iter().map(|b| b.count).collect();
/// assert_eq!(prob_true, [0.0, 0.5, 1.0]);
/// assert_eq!(counts, [3, 2, 4]);
/// assert!((bins[1].mean_predicted_probability - 0.525).abs() < 1e-15);
/// // With 10 bins, 0.3 is in the bin (0.2, 0.30000000000000004].
/// assert_eq!(calibration_curve(&[true], &[0.3], 10)?[0].index, 2);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn calibration_curve(
    y_true: &[bool],
    probabilities: &[f64],
    n_bins: usize,
) -> Result<Vec<CalibrationBin>> {
    let bins = uniform_bins("calibration_curve", y_true, probabilities, n_bins)?;
    Ok(bins
        .into_iter()
        .map(|(index, totals)| CalibrationBin {
            index,
            lower: bin_edge(index, n_bins),
            upper: bin_edge(index + 1, n_bins),
            count: totals.count,
            fraction_of_positives: totals.positives as f64 / totals.count as f64,
            mean_predicted_probability: totals.probabilities.value() / totals.count as f64,
        })
        .collect())
}

/// Expected calibration error over the bins of [`calibration_curve`]:
/// `Σ_b (n_b / n) · |mean_pred_b − frac_pos_b|`, computed as the equal
/// `Σ_b |Σ_{i∈b} pᵢ − positives_b| / n` with exact sums.
///
/// scikit-learn has no ECE; the test fixture computes it with NumPy from
/// scikit-learn's binning.
///
/// ```
/// use mlrig_train::metrics::expected_calibration_error;
/// let y = [false, false, false, false, true, true, true, true, true];
/// let p = [0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0];
/// // Bins of 3: |0.6 − 0| + |1.05 − 1| + |3.4 − 4| = 1.25, over 9 examples.
/// let ece = expected_calibration_error(&y, &p, 3)?;
/// assert!((ece - 1.25 / 9.0).abs() < 1e-15);
/// assert!(expected_calibration_error(&y, &p, 0).is_err());
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn expected_calibration_error(
    y_true: &[bool],
    probabilities: &[f64],
    n_bins: usize,
) -> Result<f64> {
    let bins = uniform_bins("expected_calibration_error", y_true, probabilities, n_bins)?;
    let mut total_gap = ExactSum::default();
    for totals in bins.values() {
        total_gap.add(totals.gap.value().abs());
    }
    Ok(total_gap.value() / y_true.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::ndarray::array;

    #[test]
    fn log_loss_clips_like_sklearn() {
        let eps = f64::EPSILON;
        assert_eq!(log_loss(&[false], &[1.0]).unwrap(), -libm::log(eps));
        assert_eq!(log_loss(&[true], &[1.0]).unwrap(), -libm::log(1.0 - eps));
        assert_eq!(
            log_loss(&[false, true], &[0.5, 0.5]).unwrap(),
            std::f64::consts::LN_2
        );
        let p = array![[1.0, 0.0], [0.0, 1.0]];
        assert_eq!(
            log_loss_multiclass(&[1, 1], p.view()).unwrap(),
            (-libm::log(eps) - libm::log(1.0 - eps)) / 2.0
        );
    }

    #[test]
    fn bins_follow_numpy_searchsorted() {
        // Expected bins from np.searchsorted(np.linspace(0, 1, n + 1)[1:-1], p).
        let p = [
            0.0,
            0.3,
            0.6,
            0.7,
            1.0,
            1.0 / 3.0,
            2.0 / 3.0,
            0.1 * 3.0,
            5e-324,
        ];
        let expected: [(usize, [usize; 9]); 4] = [
            (1, [0, 0, 0, 0, 0, 0, 0, 0, 0]),
            (3, [0, 0, 1, 2, 2, 0, 1, 0, 0]),
            (7, [0, 2, 4, 4, 6, 2, 4, 2, 0]),
            (10, [0, 2, 5, 6, 9, 3, 6, 2, 0]),
        ];
        for (n_bins, bins) in expected {
            let found: Vec<usize> = p.iter().map(|&v| bin_index(v, n_bins)).collect();
            assert_eq!(found, bins, "n_bins = {n_bins}");
        }
        assert_eq!(bin_edge(3, 10), 0.300_000_000_000_000_04);
        // Edges near 1 round to 1 with 2⁶⁴ bins: any bin is fine, no panic is the point.
        assert!(bin_index(1.0, usize::MAX) < usize::MAX);
        assert_eq!(bin_index(0.0, usize::MAX), 0);
    }

    #[test]
    fn calibration_reports_edges_and_only_nonempty_bins() {
        let bins = calibration_curve(&[true, false, true], &[1.0, 0.0, 0.95], 4).unwrap();
        let summary: Vec<(usize, f64, f64, u64)> = bins
            .iter()
            .map(|b| (b.index, b.lower, b.upper, b.count))
            .collect();
        assert_eq!(summary, [(0, 0.0, 0.25, 1), (3, 0.75, 1.0, 2)]);
        assert_eq!(bins[1].fraction_of_positives, 1.0);
        // A perfectly calibrated bin has no gap: ECE counts only bin 0 (|0.0 − 0| = 0)
        // and bin 3 (|1.95 − 2| = 0.05) → 0.05 / 3.
        let ece = expected_calibration_error(&[true, false, true], &[1.0, 0.0, 0.95], 4).unwrap();
        assert!((ece - 0.05 / 3.0).abs() < 1e-16);
        // Huge bin counts cost nothing: only non-empty bins are kept.
        assert_eq!(
            calibration_curve(&[true], &[0.5], usize::MAX)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn probability_rows_must_sum_to_one() {
        // 1e-8 + √ε ≈ 2.49e-8: 1 + 2e-8 passes, 1 + 3e-8 does not.
        let nearly = array![[0.5 + 2e-8, 0.5]];
        assert!(log_loss_multiclass(&[0], nearly.view()).is_ok());
        let off = array![[0.5 + 3e-8, 0.5]];
        let e = brier_score_multiclass(&[0], off.view()).unwrap_err();
        assert!(e.to_string().contains("row 0 sums to 1.00000003"), "{e}");
        let negative = array![[1.5, -0.5]];
        let e = log_loss_multiclass(&[0], negative.view()).unwrap_err();
        assert!(
            e.to_string()
                .contains("probability 1.5 at row 0, column 0 is outside [0, 1]"),
            "{e}"
        );
    }

    #[test]
    fn two_column_brier_is_the_binary_brier() {
        // 1 − p is exact for these, so both forms round alike.
        let positive = [0.25, 0.75, 0.5, 1.0];
        let y = [false, true, true, false];
        let matrix = mlrig_core::ndarray::Array2::from_shape_fn((4, 2), |(i, c)| {
            if c == 1 {
                positive[i]
            } else {
                1.0 - positive[i]
            }
        });
        let classes: Vec<usize> = y.iter().map(|&v| usize::from(v)).collect();
        assert_eq!(
            brier_score_multiclass(&classes, matrix.view()).unwrap(),
            brier_score(&y, &positive).unwrap()
        );
    }
}
