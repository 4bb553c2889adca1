//! Per-prediction feature contributions: exact path-dependent TreeSHAP
//! (Lundberg, Erion & Lee 2018, "Consistent Individualized Feature
//! Attribution for Tree Ensembles", Algorithm 2).
//!
//! The value of a set S of features is the tree's expected output when the
//! features in S are fixed to the row's values and the others are
//! integrated out along the training cover: at a node splitting on a
//! feature of S the row's branch is followed, at any other node both
//! children are averaged, weighted by the training rows that reached them.
//! A feature's contribution is its Shapley value in that game. Instead of
//! enumerating the 2^F sets, one walk of the tree carries, for the distinct
//! features of the path to the current node, the summed Shapley weights of
//! their subsets per subset size: EXTEND adds a feature to the path, UNWIND
//! takes one out again, O(leaves · depth²) per tree and row.

use mlrig_core::Features;
use mlrig_core::ndarray::Array3;
use rayon::prelude::*;

use super::ensemble::GradientBoosting;
use super::tree::{Child, Node, RowReader, Tree};
use crate::dataset::check_feature_names;
use crate::error::{Result, TrainError};

/// Rows per parallel block: a row costs a walk of every tree's every leaf,
/// so blocks are smaller than prediction's.
const BLOCK: usize = 128;

impl GradientBoosting {
    /// Per-feature contributions to each raw score (exact path-dependent
    /// TreeSHAP), `rows × groups × (features + 1)`: entry `[r, g, f]` is how
    /// much feature `f` moves row `r`'s raw score of group `g` (the class for
    /// softmax, else the only one) away from the bias, the last entry
    /// `[r, g, features]`; LightGBM's `pred_contrib` layout per group.
    ///
    /// The scale is the raw margin (log-odds, log rate, value), before the
    /// link, where the trees add up: each row's and group's entries sum to
    /// [`raw_scores`](Self::raw_scores). The bias is the base score plus
    /// every tree's mean output over its training rows. A missing value or
    /// an unseen category is explained like any other value: the branch the
    /// row took is credited to its feature.
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ParamGuard, ndarray::{Array2, Axis}};
    /// use mlrig_train::{Dataset, GradientBoostingParams, RegressionTarget};
    ///
    /// // y jumps from 0 to 10 at x = 10; z is noise.
    /// let cells = Array2::from_shape_fn((200, 2), |(i, j)| [i % 20, i * 7 % 13][j] as f64);
    /// let x = Features::dense(vec!["x".into(), "z".into()], cells)?;
    /// let y = RegressionTarget::new("y", (0..200).map(|i| if i % 20 < 10 { 0.0 } else { 10.0 }).collect())?;
    /// let model = GradientBoostingParams::default().with_rounds(20).check()?.fit(&Dataset::new(&x, &y)?)?;
    ///
    /// let contributions = model.contributions(&x)?;
    /// assert_eq!(contributions.dim(), (200, 1, 3)); // rows × groups × (x, z, bias)
    /// let sums = contributions.sum_axis(Axis(2));
    /// let raw = model.raw_scores(&x)?;
    /// assert!(sums.iter().zip(&raw).all(|(s, r)| (s - r).abs() < 1e-9));
    /// assert!((contributions[[15, 0, 2]] - 5.0).abs() < 1e-6); // the mean of y
    /// assert!(contributions[[15, 0, 0]] > 4.0 && contributions[[15, 0, 1]].abs() < 0.1);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn contributions(&self, features: &Features) -> Result<Array3<f64>> {
        check_feature_names(self.feature_names(), features)?;
        let columns = self.feature_names().len();
        let width = columns + 1;
        let groups = self.groups();
        let trees = self.trees();
        let mut bias = self.base_scores().to_vec();
        if groups == 0 || bias.len() != groups {
            return Err(TrainError::invalid_parameter(
                "base_scores",
                format!("{} base scores for {groups} score groups", bias.len()),
            ));
        }
        let mut deepest = 0;
        for (t, tree) in trees.iter().enumerate() {
            let depth = checked_depth(tree, columns).map_err(|reason| {
                TrainError::invalid_parameter("trees", format!("tree {t}: {reason}"))
            })?;
            deepest = deepest.max(depth);
            bias[t % groups] += expected_value(tree);
        }

        let rows = features.nrows();
        let reader = RowReader::new(features);
        let mut out = vec![0.0; rows * groups * width];
        out.par_chunks_mut(BLOCK * groups * width)
            .enumerate()
            .for_each_init(
                || Explainer::new(deepest, columns),
                |explainer, (block, chunk)| {
                    for (i, row_out) in chunk.chunks_mut(groups * width).enumerate() {
                        let row = reader.row(block * BLOCK + i);
                        for (t, tree) in trees.iter().enumerate() {
                            let group = &mut row_out[(t % groups) * width..][..columns];
                            explainer.explain(tree, &row, group);
                        }
                        for (group, &b) in row_out.chunks_mut(width).zip(&bias) {
                            group[columns] = b;
                        }
                    }
                },
            );
        // `out` has rows × groups × width entries by construction.
        Array3::from_shape_vec((rows, groups, width), out).map_err(|e| {
            TrainError::invalid_parameter("features", format!("contribution array shape: {e}"))
        })
    }
}

/// One slot of a path buffer segment holding the path's `len` distinct
/// features: slot `k` carries the `k`-th feature (for `k < len`) and the
/// weight of the subsets of size `k` (for `k ≤ len`).
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    feature: u32,
    /// The share of the cover that follows the path through this feature's
    /// splits: their value when the feature is left out.
    zero: f64,
    /// 1 if the row itself follows the path through them, else 0: their
    /// value when the feature is fixed to the row's.
    one: f64,
    /// Σ over the subsets S of the path's features with |S| = k of
    /// Π_{i∈S} one_i · Π_{i∉S} zero_i · k!(len−k)!/(len+1)!.
    weight: f64,
}

/// A pending node or leaf of the walk, with its path segment.
#[derive(Debug, Clone, Copy)]
struct Visit {
    child: Child,
    /// The segment's first slot in the path buffer.
    at: usize,
    /// Distinct features on the path.
    len: usize,
}

/// The walk's buffers, one per thread, sized once for the deepest tree so
/// that explaining a row allocates nothing.
struct Explainer {
    path: Vec<Slot>,
    stack: Vec<Visit>,
}

impl Explainer {
    fn new(depth: usize, features: usize) -> Self {
        // A node at depth d has at most min(d, features) distinct features on
        // its path and writes its two children's segments (one slot more
        // each) after its own; the second child's subtree only reuses slots
        // past the first's segment, which waits on the stack.
        let mut slots = 0;
        for d in 0..depth {
            slots += 2 * d.min(features) + 3;
        }
        slots += depth.min(features) + 2;
        Self {
            path: vec![Slot::default(); slots],
            stack: Vec::with_capacity(depth + 2),
        }
    }

    /// Adds one tree's contributions for the row `value(f)` to `phi` (one
    /// entry per feature).
    fn explain(&mut self, tree: &Tree, value: &impl Fn(usize) -> f64, phi: &mut [f64]) {
        if tree.nodes.is_empty() {
            // A single leaf is the same for every row: all bias.
            return;
        }
        let path = &mut self.path;
        let stack = &mut self.stack;
        path[0].weight = 1.0;
        stack.clear();
        stack.push(Visit {
            child: tree.root(),
            at: 0,
            len: 0,
        });
        while let Some(Visit { child, at, len }) = stack.pop() {
            let segment = &mut path[at..];
            match child {
                Child::Leaf(leaf) => {
                    let leaf_value = tree.leaves[leaf as usize].value;
                    for slot in &segment[..len] {
                        let weight = unwound_sum(&segment[..=len], slot.zero, slot.one);
                        phi[slot.feature as usize] += weight * (slot.one - slot.zero) * leaf_value;
                    }
                }
                Child::Node(node) => {
                    let node = &tree.nodes[node as usize];
                    // A feature met again on the path is one player: take out
                    // its earlier entry and carry its fractions into this one.
                    let (mut zero, mut one, mut len) = (1.0, 1.0, len);
                    if let Some(k) = segment[..len]
                        .iter()
                        .position(|s| s.feature == node.feature)
                    {
                        (zero, one) = (segment[k].zero, segment[k].one);
                        unwind(&mut segment[..=len], k);
                        len -= 1;
                    }
                    let left = node.goes_left(value(node.feature as usize));
                    let (left_share, right_share) = cover_shares(tree, node);
                    let mut next = at + len + 1;
                    for (child, share, taken) in [
                        (node.left, left_share, left),
                        (node.right, right_share, !left),
                    ] {
                        let (zero, one) = (zero * share, if taken { one } else { 0.0 });
                        if zero == 0.0 && one == 0.0 {
                            // Every weight below would be 0, and UNWIND would
                            // divide by that 0 (a branch no training row took).
                            continue;
                        }
                        if path.len() < next + len + 2 {
                            // Not reached: `new` sized the buffer for this tree.
                            path.resize(next + len + 2, Slot::default());
                        }
                        path.copy_within(at..=at + len, next);
                        extend(&mut path[next..=next + len + 1], node.feature, zero, one);
                        stack.push(Visit {
                            child,
                            at: next,
                            len: len + 1,
                        });
                        next += len + 2;
                    }
                }
            }
        }
    }
}

/// EXTEND: adds a feature to the path whose `len = path.len() − 2` features
/// and `len + 1` weights are in `path` (the last slot is scratch).
fn extend(path: &mut [Slot], feature: u32, zero: f64, one: f64) {
    let len = path.len() - 2;
    let (slot, scratch) = (&mut path[len], len + 1);
    (slot.feature, slot.zero, slot.one) = (feature, zero, one);
    path[scratch].weight = 0.0;
    // A subset of the longer path either leaves the feature out (zero, same
    // size) or holds it (one, one larger); the factorials' ratios rescale.
    let n = (len + 2) as f64;
    for k in (1..=len + 1).rev() {
        path[k].weight = (zero * path[k].weight * (len + 1 - k) as f64
            + one * path[k - 1].weight * k as f64)
            / n;
    }
    path[0].weight = zero * path[0].weight * (len + 1) as f64 / n;
}

/// UNWIND: takes the `k`-th feature out of the path whose `len =
/// path.len() − 1` features and weights are in `path` (EXTEND backwards).
fn unwind(path: &mut [Slot], k: usize) {
    let len = path.len() - 1;
    let Slot { zero, one, .. } = path[k];
    let n = (len + 1) as f64;
    if one != 0.0 {
        // From the top down, each weight from the one above it.
        let (mut above, mut extended) = (0.0, path[len].weight);
        for i in (0..len).rev() {
            let weight =
                (extended * n - zero * above * (len - 1 - i) as f64) / ((i + 1) as f64 * one);
            extended = path[i].weight;
            path[i].weight = weight;
            above = weight;
        }
    } else {
        // The walk never keeps a feature with zero and one both 0, so zero > 0.
        for (i, slot) in path[..len].iter_mut().enumerate() {
            slot.weight = slot.weight * n / (zero * (len - i) as f64);
        }
    }
    for i in k..len - 1 {
        let next = path[i + 1];
        (path[i].feature, path[i].zero, path[i].one) = (next.feature, next.zero, next.one);
    }
}

/// The sum of the weights [`unwind`] would leave after taking out a feature
/// with these fractions, without changing the path.
fn unwound_sum(path: &[Slot], zero: f64, one: f64) -> f64 {
    let len = path.len() - 1;
    let n = (len + 1) as f64;
    let mut sum = 0.0;
    if one != 0.0 {
        let mut above = 0.0;
        for i in (0..len).rev() {
            let weight = (path[i + 1].weight * n - zero * above * (len - 1 - i) as f64)
                / ((i + 1) as f64 * one);
            sum += weight;
            above = weight;
        }
    } else {
        for (i, slot) in path[..len].iter().enumerate() {
            sum += slot.weight * n / (zero * (len - i) as f64);
        }
    }
    sum
}

/// The shares of `node`'s cover that go left and right: each child's
/// training rows over both children's (the node's own count in a fitted
/// tree); halves when neither saw a row.
fn cover_shares(tree: &Tree, node: &Node) -> (f64, f64) {
    let cover = |child| match child {
        Child::Node(j) => tree.nodes[j as usize].count as f64,
        Child::Leaf(l) => tree.leaves[l as usize].count as f64,
    };
    let (left, right) = (cover(node.left), cover(node.right));
    if left + right > 0.0 {
        (left / (left + right), right / (left + right))
    } else {
        (0.5, 0.5)
    }
}

/// The tree's output averaged over its training cover: its share of the bias.
fn expected_value(tree: &Tree) -> f64 {
    let mut total = 0.0;
    let mut stack = vec![(tree.root(), 1.0)];
    while let Some((child, share)) = stack.pop() {
        match child {
            Child::Leaf(l) => total += share * tree.leaves[l as usize].value,
            Child::Node(j) => {
                let node = &tree.nodes[j as usize];
                let (left, right) = cover_shares(tree, node);
                stack.push((node.left, share * left));
                stack.push((node.right, share * right));
            }
        }
    }
    total
}

/// The depth of the deepest leaf, after checking that `tree` is one (every
/// index in range, no node reached twice from the root): a corrupt model
/// file must neither loop nor index out of bounds.
fn checked_depth(tree: &Tree, features: usize) -> std::result::Result<usize, String> {
    let mut seen = vec![false; tree.nodes.len()];
    let mut stack = vec![(tree.root(), 0)];
    let mut deepest = 0;
    while let Some((child, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match child {
            Child::Leaf(l) => {
                if l as usize >= tree.leaves.len() {
                    return Err(format!(
                        "leaf {l} does not exist ({} leaves)",
                        tree.leaves.len()
                    ));
                }
            }
            Child::Node(j) => {
                let (Some(node), Some(seen)) =
                    (tree.nodes.get(j as usize), seen.get_mut(j as usize))
                else {
                    return Err(format!(
                        "node {j} does not exist ({} nodes)",
                        tree.nodes.len()
                    ));
                };
                if std::mem::replace(seen, true) {
                    return Err(format!("node {j} is reached twice"));
                }
                if node.feature as usize >= features {
                    return Err(format!(
                        "node {j} splits feature {} of {features}",
                        node.feature
                    ));
                }
                stack.push((node.left, depth + 1));
                stack.push((node.right, depth + 1));
            }
        }
    }
    Ok(deepest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use mlrig_core::ndarray::{Array2, Axis};
    use mlrig_core::{Fit, ParamGuard};
    use proptest::prelude::*;

    use super::*;
    use crate::gbdt::GradientBoostingParams;
    use crate::gbdt::tree::{Condition, Leaf};
    use crate::{ClassTarget, Dataset, RegressionTarget};

    /// E[f(x) | x_S] by its definition: at a node on a feature of `set` (a
    /// bit mask) follow the row, elsewhere average both children weighted by
    /// their counts over the node's.
    fn coalition_value(tree: &Tree, child: Child, x: &[f64], set: u32) -> f64 {
        match child {
            Child::Leaf(l) => tree.leaves[l as usize].value,
            Child::Node(j) => {
                let node = &tree.nodes[j as usize];
                if set & (1 << node.feature) != 0 {
                    return coalition_value(tree, node.next(x[node.feature as usize]), x, set);
                }
                let count = |c| match c {
                    Child::Node(j) => tree.nodes[j as usize].count as f64,
                    Child::Leaf(l) => tree.leaves[l as usize].count as f64,
                };
                let (left, right) = if node.count == 0 {
                    (0.5, 0.5)
                } else {
                    (
                        count(node.left) / node.count as f64,
                        count(node.right) / node.count as f64,
                    )
                };
                left * coalition_value(tree, node.left, x, set)
                    + right * coalition_value(tree, node.right, x, set)
            }
        }
    }

    /// Shapley values by enumerating every subset of the other features, and
    /// the value of the empty set.
    fn brute_force(tree: &Tree, x: &[f64]) -> (Vec<f64>, f64) {
        let m = x.len();
        let value = |set| coalition_value(tree, tree.root(), x, set);
        let factorial = |n: usize| (1..=n).product::<usize>() as f64;
        let mut phi = vec![0.0; m];
        for (i, phi) in phi.iter_mut().enumerate() {
            for set in (0..1u32 << m).filter(|s| s & (1 << i) == 0) {
                let s = set.count_ones() as usize;
                let weight = factorial(s) * factorial(m - s - 1) / factorial(m);
                *phi += weight * (value(set | 1 << i) - value(set));
            }
        }
        (phi, value(0))
    }

    /// TreeSHAP of one tree and row; checks the buffer was sized right.
    fn tree_shap(tree: &Tree, x: &[f64]) -> Vec<f64> {
        let depth = checked_depth(tree, x.len()).unwrap();
        let mut explainer = Explainer::new(depth, x.len());
        let slots = explainer.path.len();
        let mut phi = vec![0.0; x.len()];
        explainer.explain(tree, &|f| x[f], &mut phi);
        assert_eq!(explainer.path.len(), slots, "the path buffer grew");
        phi
    }

    fn assert_close(a: f64, b: f64, what: &str) {
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{what}: {a} vs {b}"
        );
    }

    /// TreeSHAP equals brute force, and the contributions plus the expected
    /// value give the tree's output.
    fn check_row(tree: &Tree, x: &[f64]) {
        let phi = tree_shap(tree, x);
        let (exact, empty) = brute_force(tree, x);
        for (f, (p, e)) in phi.iter().zip(&exact).enumerate() {
            assert_close(*p, *e, &format!("feature {f} of row {x:?}"));
        }
        assert_close(expected_value(tree), empty, "expected value");
        let output = tree.value(|f| x[f]);
        assert_close(phi.iter().sum::<f64>() + empty, output, "additivity");
    }

    fn node(feature: u32, condition: Condition, left: Child, right: Child, count: u64) -> Node {
        Node {
            feature,
            condition,
            default_left: true,
            left,
            right,
            gain: 1.0,
            count,
        }
    }

    fn leaf(value: f64, count: u64) -> Leaf {
        Leaf { value, count }
    }

    /// x0 twice on two paths (0→1→3 and 0→2→4), a categorical node on x1,
    /// NaN going left at x2 and right at x0's root, x4 unused.
    fn mixed_tree() -> Tree {
        use Child::{Leaf as L, Node as N};
        let mut root = node(0, Condition::LessOrEqual(0.5), N(1), N(2), 100);
        root.default_left = false;
        Tree {
            nodes: vec![
                root,
                node(1, Condition::OneOf(vec![1, 3]), N(3), L(0), 60),
                node(2, Condition::LessOrEqual(1.0), L(1), N(4), 40),
                node(0, Condition::LessOrEqual(-1.0), L(2), L(3), 35),
                node(0, Condition::LessOrEqual(2.0), L(4), N(5), 25),
                node(3, Condition::LessOrEqual(0.0), L(5), L(6), 10),
            ],
            leaves: vec![
                leaf(1.0, 25),
                leaf(-2.0, 15),
                leaf(3.0, 10),
                leaf(0.5, 25),
                leaf(-1.0, 15),
                leaf(4.0, 4),
                leaf(2.0, 6),
            ],
        }
    }

    #[test]
    fn hand_built_tree_matches_brute_force() {
        let tree = mixed_tree();
        let nan = f64::NAN;
        for x in [
            [0.0, 1.0, 0.0, 0.0, 0.0],
            [-2.0, 3.0, 5.0, 1.0, 9.0],
            [-2.0, 2.0, 5.0, 1.0, 9.0],
            [nan, 1.0, nan, -1.0, 0.0],
            [3.0, 7.0, 2.0, 1.0, 0.0],
            [1.5, nan, nan, 1.0, 0.0],
            [2.5, 1.0, 1.5, -1.0, 0.0],
            [2.5, 1.5, 1.5, 1.0, nan],
        ] {
            check_row(&tree, &x);
            assert_eq!(tree_shap(&tree, &x)[4], 0.0, "x4 is not in the tree");
        }
    }

    #[test]
    fn a_stump_credits_its_feature_with_the_distance_to_the_mean() {
        let tree = Tree {
            nodes: vec![node(
                0,
                Condition::LessOrEqual(0.0),
                Child::Leaf(0),
                Child::Leaf(1),
                4,
            )],
            leaves: vec![leaf(0.0, 1), leaf(10.0, 3)],
        };
        assert_eq!(expected_value(&tree), 7.5);
        assert_eq!(tree_shap(&tree, &[1.0, 5.0]), [2.5, 0.0]);
        assert_eq!(tree_shap(&tree, &[-1.0, 5.0]), [-7.5, 0.0]);
    }

    #[test]
    fn a_single_leaf_is_all_bias() {
        let tree = Tree {
            nodes: vec![],
            leaves: vec![leaf(2.5, 9)],
        };
        assert_eq!(expected_value(&tree), 2.5);
        assert_eq!(tree_shap(&tree, &[1.0, 2.0]), [0.0, 0.0]);
    }

    #[test]
    fn branches_without_training_rows_give_no_nan() {
        use Child::{Leaf as L, Node as N};
        let tree = Tree {
            nodes: vec![
                node(0, Condition::LessOrEqual(0.0), N(1), L(0), 5),
                node(1, Condition::LessOrEqual(0.0), L(1), N(2), 5),
                node(0, Condition::LessOrEqual(-1.0), L(2), L(3), 0),
            ],
            leaves: vec![leaf(1.0, 0), leaf(2.0, 5), leaf(3.0, 0), leaf(4.0, 0)],
        };
        for x in [
            [1.0, 1.0],
            [-2.0, 1.0],
            [-0.5, 1.0],
            [-0.5, -1.0],
            [f64::NAN; 2],
        ] {
            check_row(&tree, &x);
            assert!(tree_shap(&tree, &x).iter().all(|p| p.is_finite()));
        }
    }

    #[test]
    fn corrupt_trees_are_refused() {
        let looped = Tree {
            nodes: vec![node(
                0,
                Condition::LessOrEqual(0.0),
                Child::Node(0),
                Child::Leaf(0),
                1,
            )],
            leaves: vec![leaf(1.0, 1)],
        };
        assert!(
            checked_depth(&looped, 1)
                .unwrap_err()
                .contains("reached twice")
        );
        let mut missing = looped.clone();
        missing.nodes[0].left = Child::Leaf(3);
        assert!(checked_depth(&missing, 1).unwrap_err().contains("leaf 3"));
        missing.nodes[0].left = Child::Node(2);
        assert!(checked_depth(&missing, 1).unwrap_err().contains("node 2"));
        missing.nodes[0].left = Child::Leaf(0);
        assert_eq!(checked_depth(&missing, 1), Ok(1));
        assert!(
            checked_depth(&missing, 0)
                .unwrap_err()
                .contains("feature 0 of 0")
        );
        let empty = Tree {
            nodes: vec![],
            leaves: vec![],
        };
        assert!(checked_depth(&empty, 1).is_err());
    }

    /// 300 rows: x0 numeric with NaNs, x1 category codes 0..5, x2 noise.
    fn features() -> Features {
        let cells = Array2::from_shape_fn((300, 3), |(i, j)| match j {
            0 if i % 11 == 0 => f64::NAN,
            0 => (i * 37 % 100) as f64 / 10.0,
            1 => (i % 5) as f64,
            _ => (i * 13 % 17) as f64,
        });
        Features::dense(vec!["x0".into(), "x1".into(), "x2".into()], cells).unwrap()
    }

    fn params() -> GradientBoostingParams {
        GradientBoostingParams::default()
            .with_rounds(15)
            .with_min_samples_leaf(5)
            .with_categorical(vec!["x1".into()])
    }

    fn regression() -> GradientBoosting {
        let x = features();
        let dense = x.to_dense();
        let y: Vec<f64> = dense
            .rows()
            .into_iter()
            .map(|r| {
                let x0 = if r[0].is_nan() { 5.0 } else { r[0] };
                x0 + [0.0, 3.0, -2.0, 1.0, 4.0][r[1] as usize]
            })
            .collect();
        let y = RegressionTarget::new("y", y).unwrap();
        params()
            .check()
            .unwrap()
            .fit(&Dataset::new(&x, &y).unwrap())
            .unwrap()
    }

    fn assert_additive(model: &GradientBoosting, x: &Features) {
        let contributions = model.contributions(x).unwrap();
        let raw = model.raw_scores(x).unwrap();
        assert_eq!(contributions.dim(), (x.nrows(), raw.ncols(), x.ncols() + 1));
        let sums = contributions.sum_axis(Axis(2));
        for ((row, group), &r) in raw.indexed_iter() {
            assert_close(sums[[row, group]], r, &format!("row {row}, group {group}"));
        }
    }

    #[test]
    fn contributions_add_up_to_the_raw_scores() {
        let model = regression();
        let x = features();
        assert!(model.trees().iter().any(|t| {
            t.nodes
                .iter()
                .any(|n| matches!(n.condition, Condition::OneOf(_)))
        }));
        assert_additive(&model, &x);
        assert_additive(&model, &x.to_sparse_features());
        let contributions = model.contributions(&x).unwrap();
        let bias =
            (model.trees().iter()).fold(model.base_scores()[0], |b, t| b + expected_value(t));
        assert!(
            contributions
                .index_axis(Axis(2), 3)
                .iter()
                .all(|&b| b == bias)
        );
        // x2 is noise: it moves the scores far less than x0 and x1.
        let mean_abs = |f| {
            contributions
                .index_axis(Axis(2), f)
                .mapv(f64::abs)
                .mean()
                .unwrap()
        };
        assert!(mean_abs(2) < 0.2 * mean_abs(0).min(mean_abs(1)));
    }

    #[test]
    fn classes_get_one_group_each() {
        let x = features();
        let labels: Vec<String> = (0..300)
            .map(|i| ["a", "b", "c"][(i % 5 + i % 7) % 3].to_string())
            .collect();
        let y = ClassTarget::from_labels("y", labels);
        let model = params()
            .check()
            .unwrap()
            .fit(&Dataset::new(&x, &y).unwrap())
            .unwrap();
        assert_eq!(model.contributions(&x).unwrap().dim(), (300, 3, 4));
        assert_additive(&model, &x);
    }

    #[test]
    fn fitted_trees_match_brute_force() {
        let model = regression();
        let dense = features().to_dense();
        for tree in model.trees() {
            for row in dense.rows().into_iter().step_by(23) {
                check_row(tree, &row.to_vec());
            }
        }
    }

    #[test]
    fn other_columns_are_refused() {
        let model = regression();
        let x = Features::dense(vec!["x0".into()], Array2::zeros((2, 1))).unwrap();
        assert!(matches!(
            model.contributions(&x),
            Err(TrainError::ShapeMismatch { .. })
        ));
    }

    /// A random tree before flattening.
    #[derive(Debug, Clone)]
    enum Shape {
        Leaf(f64, u64),
        Split(u32, Condition, bool, Box<Shape>, Box<Shape>),
    }

    fn shape() -> impl Strategy<Value = Shape> {
        // Some leaves without training rows, to reach the shortcuts for them.
        let leaf = (-10.0..10.0f64, prop_oneof![1 => Just(0u64), 4 => 1u64..20])
            .prop_map(|(v, c)| Shape::Leaf(v, c));
        let condition = prop_oneof![
            prop_oneof![Just(-1.0), Just(0.0), Just(0.5), Just(1.0), Just(2.0)]
                .prop_map(Condition::LessOrEqual),
            proptest::sample::subsequence(vec![0u32, 1, 2, 3], 0..=4).prop_map(Condition::OneOf),
        ];
        leaf.prop_recursive(7, 40, 2, move |inner| {
            (
                0u32..5,
                condition.clone(),
                any::<bool>(),
                inner.clone(),
                inner,
            )
                .prop_map(|(feature, condition, default_left, left, right)| {
                    Shape::Split(
                        feature,
                        condition,
                        default_left,
                        Box::new(left),
                        Box::new(right),
                    )
                })
        })
    }

    /// Appends `shape` to `tree` (pre-order, so the root is node 0); node
    /// counts are their children's, as in a fitted tree.
    fn flatten(shape: &Shape, tree: &mut Tree) -> (Child, u64) {
        match shape {
            Shape::Leaf(value, count) => {
                tree.leaves.push(leaf(*value, *count));
                (Child::Leaf(tree.leaves.len() as u32 - 1), *count)
            }
            Shape::Split(feature, condition, default_left, left, right) => {
                let j = tree.nodes.len();
                let mut n = node(
                    *feature,
                    condition.clone(),
                    Child::Leaf(0),
                    Child::Leaf(0),
                    0,
                );
                n.default_left = *default_left;
                tree.nodes.push(n);
                let (left, l) = flatten(left, tree);
                let (right, r) = flatten(right, tree);
                (tree.nodes[j].left, tree.nodes[j].right, tree.nodes[j].count) =
                    (left, right, l + r);
                (Child::Node(j as u32), l + r)
            }
        }
    }

    fn cell() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::NAN),
            Just(-1.0),
            Just(0.0),
            Just(0.5),
            Just(1.0),
            Just(2.0),
            Just(3.0),
            Just(7.0),
            -2.0..3.0f64,
        ]
    }

    proptest! {
        #[test]
        fn random_trees_match_brute_force(shape in shape(), x in [cell(), cell(), cell(), cell(), cell()]) {
            let mut tree = Tree { nodes: vec![], leaves: vec![] };
            flatten(&shape, &mut tree);
            check_row(&tree, &x);
        }
    }
}
