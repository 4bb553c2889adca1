//! Leaf-wise growth of one tree: split the leaf with the largest gain until
//! `max_leaves`, building the smaller child's histogram from its rows and
//! the larger one's by subtraction. Buffers (histogram pool, row partition,
//! ordered gradients) live in the [`TreeGrower`] and are reused by every
//! tree, so the loop does not allocate per node.

use std::ops::Range;

use rayon::prelude::*;

use super::bins::{BinColumn, BinnedMatrix};
use super::histogram::{
    BinSums, HistogramLayout, Partial, Quantized, QuantizedGradients, build_histogram, subtract,
};
use super::params::GradientBoostingParams;
use super::split::{BinRule, SplitCandidate, SplitSearch};
use super::tree::{Child, Condition, Leaf, Node, Tree};

/// A grown tree and the training rows of each of its leaves.
pub(super) struct GrownTree {
    pub(super) tree: Tree,
    /// `rows()[range]` are the rows of leaf `i`.
    pub(super) leaf_rows: Vec<Range<usize>>,
    /// The split of node `i` on its feature's bins.
    rules: Vec<BinRule>,
}

impl GrownTree {
    /// The tree's output for row `row` of `binned`, walked on its bins: the
    /// same leaf as the walk on raw values (a value is at most the
    /// threshold of bin `t` iff its bin is at most `t`; a missing value or
    /// an unseen category is bin 0, which follows the default direction or
    /// goes right), so rows that are not in a round need no raw features.
    pub(super) fn value_of(&self, binned: &BinnedMatrix, row: usize) -> f64 {
        let mut child = self.tree.root();
        loop {
            match child {
                Child::Leaf(leaf) => return self.tree.leaves[leaf as usize].value,
                Child::Node(index) => {
                    let node = &self.tree.nodes[index as usize];
                    let bin = binned.columns[node.feature as usize].bin(row);
                    child = if self.rules[index as usize].goes_left(bin) {
                        node.left
                    } else {
                        node.right
                    };
                }
            }
        }
    }
}

/// A leaf that may still be split.
struct OpenLeaf {
    rows: Range<usize>,
    depth: usize,
    sums: BinSums,
    slot: usize,
    best: Option<SplitCandidate>,
    /// The node whose branch leads here, and whether it is the left one.
    parent: Option<(usize, bool)>,
}

/// Grows trees over one binned matrix.
pub(super) struct TreeGrower<'a> {
    binned: &'a BinnedMatrix,
    params: &'a GradientBoostingParams,
    layout: HistogramLayout,
    pool: Vec<Vec<BinSums>>,
    rows: Vec<u32>,
    scratch: Vec<u32>,
    ordered: Vec<Quantized>,
    /// Per-block partial histograms of a row-wise build.
    spare: Vec<Vec<Partial>>,
}

impl<'a> TreeGrower<'a> {
    pub(super) fn new(binned: &'a BinnedMatrix, params: &'a GradientBoostingParams) -> Self {
        let layout = HistogramLayout::new(binned);
        Self {
            binned,
            params,
            pool: Vec::new(),
            rows: Vec::with_capacity(binned.rows),
            scratch: Vec::with_capacity(binned.rows),
            ordered: Vec::with_capacity(binned.rows),
            spare: Vec::new(),
            layout,
        }
    }

    /// The row partition of the last grown tree (see [`GrownTree::leaf_rows`]).
    pub(super) fn rows(&self) -> &[u32] {
        &self.rows
    }

    /// Grows one tree on `rows` with `gradients`, splitting only on the
    /// `allowed` features; leaf values are scaled by the learning rate.
    pub(super) fn grow(
        &mut self,
        rows: impl Iterator<Item = u32>,
        gradients: &QuantizedGradients,
        allowed: &[bool],
    ) -> GrownTree {
        self.rows.clear();
        self.rows.extend(rows);
        let search = SplitSearch {
            params: self.params,
            gradients,
        };
        let mut leaves = vec![OpenLeaf {
            rows: 0..self.rows.len(),
            depth: 0,
            sums: BinSums::default(),
            slot: 0,
            best: None,
            parent: None,
        }];
        if self.rows.len() < gradients.values.len() {
            gather(&gradients.values, &self.rows, &mut self.ordered);
        }
        self.fill_histogram(0, 0..self.rows.len(), gradients, allowed);
        leaves[0].sums = self.root_sums(gradients, allowed);
        leaves[0].best = self.best_split(&search, &leaves[0], allowed);
        let mut nodes: Vec<Node> = Vec::new();
        let mut rules: Vec<BinRule> = Vec::new();
        while leaves.len() < self.params.max_leaves {
            let Some(index) = best_leaf(&leaves) else {
                break;
            };
            let leaf = &mut leaves[index];
            let Some(split) = leaf.best.take() else {
                break;
            };
            let node_index = nodes.len();
            nodes.push(self.node(&split, leaf.sums.n));
            rules.push(split.rule.clone());
            if let Some((parent, is_left)) = leaf.parent {
                link(&mut nodes[parent], is_left, Child::Node(node_index as u32));
            }
            // The smaller child gets a fresh histogram from its rows; the
            // parent's becomes the larger child's by subtraction.
            let left_smaller = split.left.n <= split.right.n;
            let (left_rows, right_rows) =
                self.partition(leaf.rows.clone(), &split, gradients, left_smaller);
            let depth = leaf.depth + 1;
            let parent_slot = leaf.slot;
            let new_slot = leaves.len();
            let small_rows = if left_smaller {
                left_rows.clone()
            } else {
                right_rows.clone()
            };
            self.fill_histogram(new_slot, small_rows, gradients, allowed);
            let (head, tail) = self.pool.split_at_mut(new_slot);
            subtract(&mut head[parent_slot], &tail[0]);
            let (left_slot, right_slot) = if left_smaller {
                (new_slot, parent_slot)
            } else {
                (parent_slot, new_slot)
            };
            let mut children = [
                OpenLeaf {
                    rows: left_rows,
                    depth,
                    sums: split.left,
                    slot: left_slot,
                    best: None,
                    parent: Some((node_index, true)),
                },
                OpenLeaf {
                    rows: right_rows,
                    depth,
                    sums: split.right,
                    slot: right_slot,
                    best: None,
                    parent: Some((node_index, false)),
                },
            ];
            if self.layout.len() >= PARALLEL_SEARCH_CELLS {
                let [left, right] = &children;
                let (l, r) = rayon::join(
                    || self.best_split(&search, left, allowed),
                    || self.best_split(&search, right, allowed),
                );
                (children[0].best, children[1].best) = (l, r);
            } else {
                for child in &mut children {
                    child.best = self.best_split(&search, child, allowed);
                }
            }
            let [left, right] = children;
            leaves[index] = left;
            leaves.push(right);
        }
        let mut tree_leaves = Vec::with_capacity(leaves.len());
        let mut leaf_rows = Vec::with_capacity(leaves.len());
        for (i, leaf) in leaves.iter().enumerate() {
            if let Some((parent, is_left)) = leaf.parent {
                link(&mut nodes[parent], is_left, Child::Leaf(i as u32));
            }
            tree_leaves.push(Leaf {
                value: search.leaf_value(leaf.sums) * self.params.learning_rate,
                count: leaf.sums.n as u64,
            });
            leaf_rows.push(leaf.rows.clone());
        }
        GrownTree {
            tree: Tree {
                nodes,
                leaves: tree_leaves,
            },
            leaf_rows,
            rules,
        }
    }

    fn fill_histogram(
        &mut self,
        slot: usize,
        rows: Range<usize>,
        gradients: &QuantizedGradients,
        allowed: &[bool],
    ) {
        while self.pool.len() <= slot {
            self.pool.push(vec![BinSums::default(); self.layout.len()]);
        }
        let rows = &self.rows[rows];
        // All rows (the root without subsampling) are `0..n` in order, so
        // their gradients are already in row order; any other leaf's were
        // gathered by the partition that made it (the bagged root's by `grow`).
        let ordered = if rows.len() == gradients.values.len() {
            &gradients.values
        } else {
            &self.ordered
        };
        build_histogram(
            self.binned,
            &self.layout,
            rows,
            ordered,
            gradients.segment_rows(),
            allowed,
            &mut self.pool[slot],
            &mut self.spare,
        );
    }

    /// The root's sums: those of any one feature's histogram (every row
    /// falls in one of its bins), not another pass over the rows.
    fn root_sums(&self, gradients: &QuantizedGradients, allowed: &[bool]) -> BinSums {
        // The row-wise build fills every feature, the feature-wise one the allowed.
        let built = if self.binned.row_major.is_some() {
            (!allowed.is_empty()).then_some(0)
        } else {
            allowed.iter().position(|&a| a)
        };
        let total = |cells: &[BinSums]| {
            cells.iter().fold(BinSums::default(), |mut sum, &c| {
                sum += c;
                sum
            })
        };
        match built {
            Some(f) => total(self.layout.feature(&self.pool[0], f)),
            None => self.rows.iter().fold(BinSums::default(), |mut sum, &r| {
                sum += BinSums::from(gradients.values[r as usize]);
                sum
            }),
        }
    }

    fn best_split(
        &self,
        search: &SplitSearch<'_>,
        leaf: &OpenLeaf,
        allowed: &[bool],
    ) -> Option<SplitCandidate> {
        let too_deep = self.params.max_depth.is_some_and(|d| leaf.depth >= d);
        if too_deep || leaf.sums.n < 2 * self.params.min_samples_leaf as i64 {
            return None;
        }
        let histogram = &self.pool[leaf.slot];
        let features = self.binned.mappers.len();
        let candidate = |f: usize| {
            allowed[f]
                .then(|| {
                    search.best_on_feature(
                        f,
                        &self.binned.mappers[f],
                        self.layout.feature(histogram, f),
                        leaf.sums,
                    )
                })
                .flatten()
        };
        // Features in order, the first of equal gains wins: the same split
        // for any thread count.
        let found: Vec<Option<SplitCandidate>> = if self.layout.len() >= PARALLEL_SEARCH_CELLS {
            (0..features).into_par_iter().map(candidate).collect()
        } else {
            (0..features).map(candidate).collect()
        };
        found
            .into_iter()
            .flatten()
            .fold(None, |best, c| match best {
                Some(b) if b.gain >= c.gain => Some(b),
                _ => Some(c),
            })
    }

    fn node(&self, split: &SplitCandidate, count: i64) -> Node {
        let mapper = &self.binned.mappers[split.feature];
        let (condition, default_left) = match &split.rule {
            BinRule::Threshold { bin, default_left } => (
                Condition::LessOrEqual(mapper.threshold(*bin)),
                *default_left,
            ),
            BinRule::Categories { left } => {
                let codes = (0..left.len())
                    .filter(|&b| left[b])
                    .filter_map(|b| mapper.code(b))
                    .collect();
                (Condition::OneOf(codes), false)
            }
        };
        Node {
            feature: split.feature as u32,
            condition,
            default_left,
            left: Child::Leaf(0),
            right: Child::Leaf(0),
            gain: split.gain,
            count: count as u64,
        }
    }

    /// Reorders `rows[range]` so the rows going left come first (each side
    /// keeps its order) and gathers the gradients of the smaller side
    /// (`left_smaller`) into `ordered`; returns the two ranges.
    fn partition(
        &mut self,
        range: Range<usize>,
        split: &SplitCandidate,
        gradients: &QuantizedGradients,
        left_smaller: bool,
    ) -> (Range<usize>, Range<usize>) {
        // One flag per bin, so the row loop is a table lookup.
        let bins = self.binned.mappers[split.feature].bins();
        let left: Vec<bool> = (0..bins).map(|b| split.rule.goes_left(b)).collect();
        let rows = &mut self.rows[range.clone()];
        let gather = Gather {
            values: &gradients.values,
            left: left_smaller,
            ordered: &mut self.ordered,
        };
        let write = range.start
            + match &self.binned.columns[split.feature] {
                BinColumn::Small(bins) => {
                    stable_partition(rows, &mut self.scratch, bins, &left, gather)
                }
                BinColumn::Wide(bins) => {
                    stable_partition(rows, &mut self.scratch, bins, &left, gather)
                }
            };
        (range.start..write, write..range.end)
    }
}

/// Histogram cells from which a leaf's split search runs in parallel (over
/// features, and the two children at once): the search costs about one
/// gain per cell.
const PARALLEL_SEARCH_CELLS: usize = 512;

/// Rows per parallel block of a partition; smaller leaves are split on
/// one thread.
const PARTITION_BLOCK: usize = 1 << 13;

/// Where a partition gathers the gradients of one side: `values[row]` of
/// the left (`left`) or right side's rows, in order, into `ordered`.
struct Gather<'a> {
    values: &'a [Quantized],
    left: bool,
    ordered: &'a mut Vec<Quantized>,
}

/// Moves the rows whose bin is flagged in `left` to the front of `rows`,
/// both sides in their order, gathering one side's gradients on the way;
/// returns how many went left. Large ranges take two parallel passes: each
/// block partitioned into its part of `scratch`, then each block's sides
/// copied to their places (and its gathered side's gradients to theirs):
/// the same result as one pass.
fn stable_partition<B: Copy + Into<usize> + Sync>(
    rows: &mut [u32],
    scratch: &mut Vec<u32>,
    bins: &[B],
    left: &[bool],
    gather_side: Gather<'_>,
) -> usize {
    let Gather {
        values,
        left: gather_left,
        ordered,
    } = gather_side;
    scratch.clear();
    scratch.resize(rows.len(), 0);
    if rows.len() < 2 * PARTITION_BLOCK {
        let count = partition_block(rows, scratch, bins, left);
        gather(values, side(rows, count, gather_left), ordered);
        return count;
    }
    let counts: Vec<usize> = rows
        .par_chunks(PARTITION_BLOCK)
        .zip(scratch.par_chunks_mut(PARTITION_BLOCK))
        .map(|(block, out)| partition_into(block, out, bins, left))
        .collect();
    let total_left: usize = counts.iter().sum();
    let side_len = |block: usize, count: usize| if gather_left { count } else { block - count };
    ordered.resize(side_len(rows.len(), total_left), Quantized::default());
    // Each block's sides and gathered gradients go to disjoint places.
    let (mut lefts, mut rights) = rows.split_at_mut(total_left);
    let mut gathered: &mut [Quantized] = ordered;
    let mut places = Vec::with_capacity(counts.len());
    for (block, &count) in scratch.chunks(PARTITION_BLOCK).zip(&counts) {
        let (l, rest) = std::mem::take(&mut lefts).split_at_mut(count);
        let (r, rest_right) = std::mem::take(&mut rights).split_at_mut(block.len() - count);
        let (g, rest_gathered) =
            std::mem::take(&mut gathered).split_at_mut(side_len(block.len(), count));
        (lefts, rights, gathered) = (rest, rest_right, rest_gathered);
        places.push((block, count, l, r, g));
    }
    places.into_par_iter().for_each(|(block, count, l, r, g)| {
        l.copy_from_slice(&block[..count]);
        r.copy_from_slice(&block[count..]);
        gather_into(values, side(block, count, gather_left), g);
    });
    total_left
}

/// The left (`rows[..count]`) or the right side of partitioned rows.
fn side(rows: &[u32], count: usize, left: bool) -> &[u32] {
    if left { &rows[..count] } else { &rows[count..] }
}

/// `out = values[rows]`, in parallel chunks for large row sets.
fn gather(values: &[Quantized], rows: &[u32], out: &mut Vec<Quantized>) {
    out.resize(rows.len(), Quantized::default());
    if rows.len() < 2 * PARTITION_BLOCK {
        gather_into(values, rows, out);
    } else {
        out.par_chunks_mut(PARTITION_BLOCK)
            .zip(rows.par_chunks(PARTITION_BLOCK))
            .for_each(|(out, rows)| gather_into(values, rows, out));
    }
}

/// `out[i] = values[rows[i]]` on one thread.
fn gather_into(values: &[Quantized], rows: &[u32], out: &mut [Quantized]) {
    for (o, &r) in out.iter_mut().zip(rows) {
        *o = values[r as usize];
    }
}

/// One block partitioned into `out` (as long as `block`): the rows going
/// left first, then the others, both in order; returns how many went left.
/// The right side is written from the back (one store per row, at an index
/// chosen without a branch) and reversed at the end.
fn partition_into<B: Copy + Into<usize>>(
    block: &[u32],
    out: &mut [u32],
    bins: &[B],
    left: &[bool],
) -> usize {
    let (mut l, mut r) = (0, out.len());
    for &row in block {
        let goes_left = left[bins[row as usize].into()];
        let at = if goes_left { l } else { r - 1 };
        out[at] = row;
        l += usize::from(goes_left);
        r -= usize::from(!goes_left);
    }
    out[l..].reverse();
    l
}

/// The sequential stable partition of one block, with `spare` (as long as
/// `rows`) holding the right side meanwhile. Every row is written to both
/// sides and only the side's cursor moves: no branch to mispredict on a
/// split that sends rows either way at random.
fn partition_block<B: Copy + Into<usize>>(
    rows: &mut [u32],
    spare: &mut [u32],
    bins: &[B],
    left: &[bool],
) -> usize {
    let (mut l, mut r) = (0, 0);
    for read in 0..rows.len() {
        let row = rows[read];
        let goes_left = left[bins[row as usize].into()];
        // `l <= read`: the slot was read already.
        rows[l] = row;
        spare[r] = row;
        l += usize::from(goes_left);
        r += usize::from(!goes_left);
    }
    rows[l..].copy_from_slice(&spare[..r]);
    l
}

/// The open leaf with the largest gain (the first of equals).
fn best_leaf(leaves: &[OpenLeaf]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, leaf) in leaves.iter().enumerate() {
        if let Some(split) = &leaf.best
            && best.is_none_or(|(_, g)| split.gain > g)
        {
            best = Some((i, split.gain));
        }
    }
    best.map(|(i, _)| i)
}

fn link(node: &mut Node, is_left: bool, child: Child) {
    if is_left {
        node.left = child;
    } else {
        node.right = child;
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
        /// A grown tree sends every row, including rows whose values or
        /// categories the bins never saw, to the same leaf on its bins as on
        /// its raw values.
        #[test]
        fn the_walk_on_bins_reaches_the_leaf_of_the_walk_on_values(
            cells in proptest::collection::vec((-50i32..50, 0u8..9, any::<bool>()), 40..160),
            seed in any::<u64>(),
        ) {
            let n = cells.len();
            let x = Array2::from_shape_fn((n, 2), |(i, j)| {
                let (v, code, missing) = cells[i];
                match j {
                    0 if missing => f64::NAN,
                    0 => f64::from(v) / 4.0,
                    _ => f64::from(code),
                }
            });
            let features = Features::dense(vec!["v".into(), "c".into()], x.clone()).unwrap();
            // Bins from the first half only: the rest may lie outside them.
            let fit: Vec<bool> = (0..n).map(|i| i < n / 2).collect();
            let binned = BinnedMatrix::build(&features, &[false, true], 8, Some(&fit), None).unwrap();
            let params = GradientBoostingParams::default()
                .with_max_leaves(6)
                .with_min_samples_leaf(2);
            let g: Vec<f64> = (0..n).map(|i| f64::from(cells[i].0) / 50.0 - 0.2).collect();
            let mut gradients = QuantizedGradients::default();
            gradients.quantize(&g, &vec![1.0; n], 16, seed, 1);
            let mut grower = TreeGrower::new(&binned, &params);
            let grown = grower.grow(0..(n / 2) as u32, &gradients, &[true, true]);
            for row in 0..n {
                prop_assert_eq!(
                    grown.value_of(&binned, row).to_bits(),
                    grown.tree.value(|f| x[[row, f]]).to_bits(),
                    "row {}", row
                );
            }
        }
    }

    #[test]
    fn the_parallel_partition_equals_the_one_pass_partition() {
        let n = 5 * PARTITION_BLOCK + 123;
        let bins: Vec<u8> = (0..n).map(|i| ((i * 2_654_435_761) % 7) as u8).collect();
        let left = [true, false, true, true, false, false, true];
        let rows: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 1).collect();
        let values: Vec<Quantized> = (0..n as i32).map(|r| Quantized::new(r, 2 * r)).collect();
        for gather_left in [true, false] {
            for rows in [rows.clone(), rows[..PARTITION_BLOCK].to_vec()] {
                let (expected_left, expected_right): (Vec<u32>, Vec<u32>) = rows
                    .iter()
                    .partition(|&&r| left[usize::from(bins[r as usize])]);
                let mut partitioned = rows.clone();
                let (mut scratch, mut ordered) = (Vec::new(), Vec::new());
                let gather = Gather {
                    values: &values,
                    left: gather_left,
                    ordered: &mut ordered,
                };
                let count = stable_partition(&mut partitioned, &mut scratch, &bins, &left, gather);
                assert_eq!(count, expected_left.len());
                assert_eq!(partitioned[..count], expected_left[..]);
                assert_eq!(partitioned[count..], expected_right[..]);
                let side = if gather_left {
                    &expected_left
                } else {
                    &expected_right
                };
                let expected: Vec<Quantized> = side.iter().map(|&r| values[r as usize]).collect();
                assert_eq!(ordered, expected);
            }
        }
        // The first set takes the parallel path, the second the one-pass one.
        assert!(rows.len() >= 2 * PARTITION_BLOCK);
    }
}
