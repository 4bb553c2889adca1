//! The boosting loop: per round (and class) compute gradients, quantize
//! them, grow a tree on the round's rows, add its leaves to every row's
//! scores; stop early when the held-out loss stalls.

use rayon::prelude::*;

use super::bins::{BinnedMatrix, BoundRows};
use super::grow::{GrownTree, TreeGrower};
use super::histogram::QuantizedGradients;
use super::hot_pool::run_hot;
use super::objective::Objective;
use super::params::GradientBoostingParams;
use super::random::{stream, unit};
use super::tree::Tree;
use crate::error::{Result, TrainError};

/// A fitted ensemble to extend: its base scores, every row's raw scores
/// (row-major, `groups` per row) and its rounds so far.
pub(super) struct Start {
    pub(super) base_scores: Vec<f64>,
    pub(super) scores: Vec<f64>,
    pub(super) rounds: usize,
}

/// The loop's result.
pub(super) struct Boosted {
    pub(super) base_scores: Vec<f64>,
    /// The new trees, round-major (`groups` per round).
    pub(super) trees: Vec<Tree>,
    /// Whether early stopping ended the loop.
    pub(super) stopped_early: bool,
}

/// Rows per parallel block when adding a tree to the scores of rows it was
/// not grown on.
const SCORE_BLOCK: usize = 4096;

/// Below this many training rows a tree's leaves are added on one thread.
const PARALLEL_SCORE_ROWS: usize = 1 << 16;

/// Boosts `params.rounds` rounds of `objective` on `features` / `y`, on a
/// pool whose idle workers wait hot (see [`run_hot`]).
pub(super) fn boost(
    params: &GradientBoostingParams,
    binned: &BinnedMatrix,
    objective: Objective,
    y: &[f64],
    weights: &[f64],
    start: Option<Start>,
) -> Result<Boosted> {
    run_hot(|| {
        let n = binned.rows;
        let groups = objective.groups();
        let roles = RowRoles::new(params, n);
        let validation: Vec<bool> = (0..n).map(|row| roles.held_out(row)).collect();
        let train_rows: Vec<u32> = (0..n as u32).filter(|&r| !validation[r as usize]).collect();
        let valid_rows: Vec<u32> = (0..n as u32).filter(|&r| validation[r as usize]).collect();
        if train_rows.is_empty() || (params.early_stopping.is_some() && valid_rows.is_empty()) {
            return Err(TrainError::TooFewValues {
                what: "gradient boosting: training rows (and early-stopping validation rows)"
                    .into(),
                required: 2,
                found: n,
            });
        }

        let (base_scores, mut scores, rounds_before) = match start {
            Some(start) => (start.base_scores, start.scores, start.rounds),
            None => {
                let base = objective.base_scores(y, weights, &train_rows);
                let scores = (0..n).flat_map(|_| base.iter().copied()).collect();
                (base, scores, 0)
            }
        };

        let mut grower = TreeGrower::new(binned, params);
        let mut quantized = QuantizedGradients::default();
        let (mut g, mut h) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut in_round = vec![false; n];
        let mut trees: Vec<Tree> = Vec::with_capacity(params.rounds * groups);
        let (mut best_loss, mut best_rounds, mut stalled) = (f64::INFINITY, 0, 0);
        let mut stopped_early = false;
        let features_count = binned.mappers.len();
        for round in 0..params.rounds {
            // Counted across warm starts, so added rounds draw new numbers.
            let tree_number = (rounds_before + round) as u64;
            // Without bagging every round grows on all training rows.
            let bagged: Vec<u32>;
            let round_rows: &[u32] = if params.row_subsample >= 1.0 {
                &train_rows
            } else {
                bagged = train_rows
                    .iter()
                    .copied()
                    .filter(|&r| {
                        unit(params.seed, stream::BAGGING + tree_number, u64::from(r))
                            < params.row_subsample
                    })
                    .collect();
                &bagged
            };
            // Rows outside the round (held out or not drawn) need the trees
            // added by walking them.
            let outside = round_rows.len() < n;
            if outside {
                in_round.iter_mut().for_each(|b| *b = false);
                for &r in round_rows {
                    in_round[r as usize] = true;
                }
            }
            // Every class's gradients come from the scores before the round;
            // with one group nothing changes them before they are read.
            let start_scores = (groups > 1).then(|| scores.clone());
            for group in 0..groups {
                let tree_index = tree_number * groups as u64 + group as u64;
                let allowed = allowed_features(params, features_count, tree_index);
                let basis = start_scores.as_deref().unwrap_or(&scores);
                objective.gradients(basis, y, weights, group, &mut g, &mut h);
                quantized.quantize(
                    &g,
                    &h,
                    params.gradient_bits,
                    params.seed,
                    stream::ROUNDING + tree_index,
                );
                let grown = grower.grow(round_rows.iter().copied(), &quantized, &allowed);
                add_leaves(&mut scores, groups, group, &grown, grower.rows());
                if outside {
                    add_tree(&mut scores, groups, group, &grown, binned, &in_round);
                }
                trees.push(grown.tree);
            }
            if let Some(stop) = &params.early_stopping {
                let loss = objective.loss(&scores, y, weights, &valid_rows);
                if loss < best_loss {
                    (best_loss, best_rounds, stalled) = (loss, round + 1, 0);
                } else {
                    stalled += 1;
                    if stalled >= stop.patience {
                        stopped_early = true;
                        break;
                    }
                }
            } else {
                best_rounds = round + 1;
            }
        }
        trees.truncate(best_rounds * groups);
        Ok(Boosted {
            base_scores,
            trees,
            stopped_early,
        })
    })
}

/// Adds each leaf's value to score column `group` of its training rows, in
/// parallel blocks of rows: a leaf's rows are in ascending order (the
/// partition is stable), so a block finds its part of each leaf by binary
/// search and writes only its own scores.
fn add_leaves(scores: &mut [f64], groups: usize, group: usize, grown: &GrownTree, rows: &[u32]) {
    if rows.len() < PARALLEL_SCORE_ROWS {
        for (range, leaf) in grown.leaf_rows.iter().zip(&grown.tree.leaves) {
            for &row in &rows[range.clone()] {
                scores[row as usize * groups + group] += leaf.value;
            }
        }
        return;
    }
    let leaves: Vec<(&[u32], f64)> = grown
        .leaf_rows
        .iter()
        .zip(&grown.tree.leaves)
        .map(|(range, leaf)| (&rows[range.clone()], leaf.value))
        .collect();
    scores
        .par_chunks_mut(SCORE_BLOCK * groups)
        .enumerate()
        .for_each(|(block, chunk)| {
            let first = (block * SCORE_BLOCK) as u32;
            let end = first + (chunk.len() / groups) as u32;
            for &(leaf_rows, value) in &leaves {
                let from = leaf_rows.partition_point(|&r| r < first);
                let to = leaf_rows.partition_point(|&r| r < end);
                for &row in &leaf_rows[from..to] {
                    chunk[(row - first) as usize * groups + group] += value;
                }
            }
        });
}

/// Adds `grown` to score column `group` of every row not flagged in `skip`
/// (rows the tree was grown on already have their leaf added), walking
/// their bins.
fn add_tree(
    scores: &mut [f64],
    groups: usize,
    group: usize,
    grown: &GrownTree,
    binned: &BinnedMatrix,
    skip: &[bool],
) {
    scores
        .par_chunks_mut(SCORE_BLOCK * groups)
        .enumerate()
        .for_each(|(block, chunk)| {
            for (i, row_scores) in chunk.chunks_mut(groups).enumerate() {
                let row = block * SCORE_BLOCK + i;
                if skip[row] {
                    continue;
                }
                row_scores[group] += grown.value_of(binned, row);
            }
        });
}

/// Which rows are held out for early stopping, and which of the others set
/// the numeric bin bounds: both drawn per row number from the seed, so any
/// part of the rows can be told without the others.
pub(super) struct RowRoles {
    seed: u64,
    validation_fraction: Option<f64>,
    /// With more fit rows than `bin_sample_rows`: the chance a fit row is
    /// in the bin sample.
    sample_fraction: Option<f64>,
}

impl RowRoles {
    pub(super) fn new(params: &GradientBoostingParams, rows: usize) -> Self {
        let mut roles = Self {
            seed: params.seed,
            validation_fraction: params
                .early_stopping
                .as_ref()
                .map(|s| s.validation_fraction),
            sample_fraction: None,
        };
        let fit = (0..rows).filter(|&r| !roles.held_out(r)).count();
        if fit > params.bin_sample_rows {
            roles.sample_fraction = Some(params.bin_sample_rows as f64 / fit as f64);
        }
        roles
    }

    pub(super) fn held_out(&self, row: usize) -> bool {
        self.validation_fraction
            .is_some_and(|f| unit(self.seed, stream::VALIDATION, row as u64) < f)
    }
}

impl BoundRows for RowRoles {
    fn fit(&self, row: usize) -> bool {
        !self.held_out(row)
    }

    fn sample(&self, row: usize) -> bool {
        self.fit(row)
            && self
                .sample_fraction
                .is_none_or(|keep| unit(self.seed, stream::BIN_SAMPLE, row as u64) < keep)
    }
}

/// The features tree `tree_index` may split on: all, or the
/// `⌈feature_subsample · F⌉` with the smallest seeded draws.
fn allowed_features(
    params: &GradientBoostingParams,
    features: usize,
    tree_index: u64,
) -> Vec<bool> {
    if params.feature_subsample >= 1.0 {
        return vec![true; features];
    }
    let keep = ((params.feature_subsample * features as f64).ceil() as usize).clamp(1, features);
    let mut order: Vec<(f64, usize)> = (0..features)
        .map(|f| {
            (
                unit(params.seed, stream::FEATURES + tree_index, f as u64),
                f,
            )
        })
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut allowed = vec![false; features];
    for &(_, f) in order.iter().take(keep) {
        allowed[f] = true;
    }
    allowed
}
