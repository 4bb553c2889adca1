//! The best split of a leaf from its histogram: thresholds over numeric
//! bins with the missing bin tried on either side, and LightGBM's
//! categorical splits (one-vs-rest for few categories, else categories
//! sorted by smoothed mean gradient and cut, with `cat_l2` and
//! `min_data_per_group`). Gains are computed from the exact integer sums,
//! and ties keep the first candidate, so the choice has the same bits
//! everywhere.

use super::bins::BinMapper;
use super::histogram::{BinSums, QuantizedGradients};
use super::params::GradientBoostingParams;

/// Which bins of the split feature go left.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum BinRule {
    /// Bins `1..=bin` go left; the missing bin 0 goes left iff `default_left`.
    Threshold { bin: usize, default_left: bool },
    /// The flagged bins go left (never bin 0).
    Categories { left: Vec<bool> },
}

impl BinRule {
    /// Whether a row in `bin` goes left.
    pub(super) fn goes_left(&self, bin: usize) -> bool {
        match self {
            BinRule::Threshold {
                bin: t,
                default_left,
            } => {
                if bin == 0 {
                    *default_left
                } else {
                    bin <= *t
                }
            }
            BinRule::Categories { left } => left.get(bin).copied().unwrap_or(false),
        }
    }
}

/// A split of a leaf and what it would make.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SplitCandidate {
    pub(super) gain: f64,
    pub(super) feature: usize,
    pub(super) rule: BinRule,
    pub(super) left: BinSums,
    pub(super) right: BinSums,
}

/// The limits a split must respect, and the gain arithmetic.
pub(super) struct SplitSearch<'a> {
    pub(super) params: &'a GradientBoostingParams,
    pub(super) gradients: &'a QuantizedGradients,
}

impl SplitSearch<'_> {
    /// `G² / (H + λ)`: how much a leaf lowers the second-order loss.
    fn score(&self, sums: BinSums, l2: f64) -> f64 {
        let g = self.gradients.g_real(sums);
        g * g / (self.gradients.h_real(sums) + l2)
    }

    /// The leaf value `−G / (H + λ)` (before the learning rate).
    pub(super) fn leaf_value(&self, sums: BinSums) -> f64 {
        let h = self.gradients.h_real(sums) + self.params.l2;
        if h > 0.0 {
            -self.gradients.g_real(sums) / h
        } else {
            0.0
        }
    }

    fn big_enough(&self, side: BinSums) -> bool {
        side.n >= self.params.min_samples_leaf as i64
            && self.gradients.h_real(side) >= self.params.min_hessian_leaf
    }

    /// The best split on feature `feature` given its bins.
    pub(super) fn best_on_feature(
        &self,
        feature: usize,
        mapper: &BinMapper,
        bins: &[BinSums],
        total: BinSums,
    ) -> Option<SplitCandidate> {
        let floor = self.score(total, self.params.l2) + self.params.min_split_gain;
        if mapper.is_categorical() {
            self.categorical(feature, bins, total, floor)
        } else {
            self.numeric(feature, bins, total, floor)
        }
    }

    fn numeric(
        &self,
        feature: usize,
        bins: &[BinSums],
        total: BinSums,
        floor: f64,
    ) -> Option<SplitCandidate> {
        let missing = bins.first().copied().unwrap_or_default();
        let l2 = self.params.l2;
        let mut best: Option<SplitCandidate> = None;
        let mut values_left = BinSums::default();
        // Threshold t sends bins 1..=t left; t = last bin only splits off
        // the missing values.
        let last = bins.len().saturating_sub(1);
        for (t, &cell) in bins.iter().enumerate().skip(1) {
            // An empty bin repeats the previous threshold's sides, whose
            // gains were seen first (ties keep the first).
            if cell.n == 0 && t != last {
                continue;
            }
            values_left += cell;
            let directions: &[bool] = match (missing.n > 0, t == last) {
                (false, true) => &[],
                (false, false) => &[false],
                (true, true) => &[false],
                (true, false) => &[false, true],
            };
            for &missing_left in directions {
                let mut left = values_left;
                if missing_left {
                    left += missing;
                }
                let right = total - left;
                if !(self.big_enough(left) && self.big_enough(right)) {
                    continue;
                }
                let gain = self.score(left, l2) + self.score(right, l2) - floor;
                if gain > 0.0 && best.as_ref().is_none_or(|b| gain > b.gain) {
                    // With no missing rows here, unseen missing values
                    // follow the majority.
                    let default_left = if missing.n > 0 {
                        missing_left
                    } else {
                        left.n >= right.n
                    };
                    best = Some(SplitCandidate {
                        gain,
                        feature,
                        rule: BinRule::Threshold {
                            bin: t,
                            default_left,
                        },
                        left,
                        right,
                    });
                }
            }
        }
        best
    }

    fn categorical(
        &self,
        feature: usize,
        bins: &[BinSums],
        total: BinSums,
        floor: f64,
    ) -> Option<SplitCandidate> {
        let p = self.params;
        let used: Vec<usize> = (1..bins.len()).filter(|&b| bins[b].n > 0).collect();
        let mut best: Option<(f64, Vec<usize>, BinSums)> = None;
        let mut consider = |gain: f64, chosen: &[usize], left: BinSums| {
            if gain > 0.0 && best.as_ref().is_none_or(|(g, _, _)| gain > *g) {
                best = Some((gain, chosen.to_vec(), left));
            }
        };
        if used.len() <= p.max_cat_to_onehot {
            for &b in &used {
                let left = bins[b];
                let right = total - left;
                if self.big_enough(left) && self.big_enough(right) {
                    let gain = self.score(left, p.l2) + self.score(right, p.l2) - floor;
                    consider(gain, &[b], left);
                }
            }
        } else {
            // Each category's smoothed mean gradient, computed once.
            let mut by_ratio: Vec<(f64, usize)> = used
                .into_iter()
                .filter(|&b| bins[b].n as f64 >= p.cat_smooth)
                .map(|b| {
                    let ratio = self.gradients.g_real(bins[b])
                        / (self.gradients.h_real(bins[b]) + p.cat_smooth);
                    (ratio, b)
                })
                .collect();
            by_ratio.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let sorted: Vec<usize> = by_ratio.into_iter().map(|(_, b)| b).collect();
            let l2 = p.l2 + p.cat_l2;
            let most = p.max_cat_threshold.min(sorted.len().div_ceil(2));
            let backwards: Vec<usize> = sorted.iter().rev().copied().collect();
            for order in [&sorted, &backwards] {
                let mut left = BinSums::default();
                let mut group = 0;
                for i in 0..most.min(order.len()) {
                    left += bins[order[i]];
                    group += bins[order[i]].n;
                    if !self.big_enough(left) {
                        continue;
                    }
                    let right = total - left;
                    if !self.big_enough(right) || right.n < p.min_samples_per_group as i64 {
                        break;
                    }
                    if group < p.min_samples_per_group as i64 {
                        continue;
                    }
                    group = 0;
                    let gain = self.score(left, l2) + self.score(right, l2) - floor;
                    consider(gain, &order[..=i], left);
                }
            }
        }
        best.map(|(gain, chosen, left)| {
            let mut flags = vec![false; bins.len()];
            for b in chosen {
                flags[b] = true;
            }
            SplitCandidate {
                gain,
                feature,
                rule: BinRule::Categories { left: flags },
                left,
                right: total - left,
            }
        })
    }
}
