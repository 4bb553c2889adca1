//! [`Forest`]: every tree of an ensemble packed for prediction — one array
//! of 24-byte nodes, leaf values apart — and checked once, so a damaged
//! model file cannot send a walk out of bounds or round in a cycle.

use std::sync::OnceLock;

use super::bins::category_code;
use super::tree::{Child, Condition, Tree};

/// A reference with this bit set is a leaf (index into `leaf_values`).
const LEAF: u32 = 1 << 31;
/// Flags of a [`PackedNode`].
const DEFAULT_LEFT: u32 = 1;
const CATEGORICAL: u32 = 2;
/// A categorical node's set index sits above the flag bits.
const SET_SHIFT: u32 = 8;

#[derive(Debug, Clone, Copy)]
struct PackedNode {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
    flags: u32,
}

/// The trees of an ensemble in prediction layout.
#[derive(Debug, Clone)]
pub(super) struct Forest {
    nodes: Vec<PackedNode>,
    roots: Vec<u32>,
    leaf_values: Vec<f64>,
    category_sets: Vec<Vec<u32>>,
}

impl Forest {
    /// Packs `trees`; fails naming the tree and node when a child or
    /// feature index is out of range or a child does not come after its
    /// parent (how trees are built, and what rules out cycles).
    pub(super) fn pack(trees: &[Tree], features: usize) -> Result<Self, String> {
        let mut forest = Forest {
            nodes: Vec::new(),
            roots: Vec::with_capacity(trees.len()),
            leaf_values: Vec::new(),
            category_sets: Vec::new(),
        };
        for (t, tree) in trees.iter().enumerate() {
            let (node_base, leaf_base) = (forest.nodes.len(), forest.leaf_values.len());
            let reference = |child: Child, parent: Option<usize>| -> Result<u32, String> {
                match child {
                    Child::Leaf(l) if (l as usize) < tree.leaves.len() => {
                        Ok((leaf_base + l as usize) as u32 | LEAF)
                    }
                    Child::Node(n)
                        if (n as usize) < tree.nodes.len()
                            && parent.is_none_or(|p| n as usize > p) =>
                    {
                        Ok((node_base + n as usize) as u32)
                    }
                    other => Err(format!(
                        "tree {t}: node {parent:?} leads to {other:?}, which is out of range or not after it"
                    )),
                }
            };
            if tree.leaves.is_empty() {
                return Err(format!("tree {t} has no leaves"));
            }
            forest.roots.push(reference(tree.root(), None)?);
            for (i, node) in tree.nodes.iter().enumerate() {
                if node.feature as usize >= features {
                    return Err(format!(
                        "tree {t}, node {i}: feature {} of {features}",
                        node.feature
                    ));
                }
                let (threshold, flags) = match &node.condition {
                    Condition::LessOrEqual(threshold) => {
                        (*threshold, if node.default_left { DEFAULT_LEFT } else { 0 })
                    }
                    Condition::OneOf(codes) => {
                        let set = forest.category_sets.len() as u32;
                        forest.category_sets.push(codes.clone());
                        (0.0, CATEGORICAL | set << SET_SHIFT)
                    }
                };
                forest.nodes.push(PackedNode {
                    threshold,
                    feature: node.feature,
                    left: reference(node.left, Some(i))?,
                    right: reference(node.right, Some(i))?,
                    flags,
                });
            }
            forest
                .leaf_values
                .extend(tree.leaves.iter().map(|leaf| leaf.value));
        }
        if forest.nodes.len() >= LEAF as usize || forest.leaf_values.len() >= LEAF as usize {
            return Err("more than 2^31 nodes".into());
        }
        Ok(forest)
    }

    /// Adds every tree's output for a row (`row[f]` = feature `f`; the
    /// length was checked against the features at packing) to `scores`,
    /// tree `t` to group `t % scores.len()`, in tree order. Four trees are
    /// walked together: their chains of dependent loads overlap.
    pub(super) fn add_row(&self, row: &[f64], scores: &mut [f64]) {
        let groups = scores.len();
        let mut first = 0;
        for roots in self.roots.chunks(4) {
            let mut at = [LEAF; 4];
            at[..roots.len()].copy_from_slice(roots);
            while at.iter().any(|a| a & LEAF == 0) {
                for a in &mut at {
                    if *a & LEAF == 0 {
                        *a = self.step(*a, row);
                    }
                }
            }
            for (i, a) in at[..roots.len()].iter().enumerate() {
                scores[(first + i) % groups] += self.leaf_values[(a & !LEAF) as usize];
            }
            first += roots.len();
        }
    }

    /// The child a row goes to from node `at`.
    fn step(&self, at: u32, row: &[f64]) -> u32 {
        let node = &self.nodes[at as usize];
        let value = row[node.feature as usize];
        let left = if node.flags & CATEGORICAL != 0 {
            let set = &self.category_sets[(node.flags >> SET_SHIFT) as usize];
            category_code(value).is_some_and(|code| set.binary_search(&code).is_ok())
        } else if value.is_nan() {
            node.flags & DEFAULT_LEFT != 0
        } else {
            value <= node.threshold
        };
        if left { node.left } else { node.right }
    }
}

/// The packed forest of a model, made on first use; invisible to equality
/// and serialisation (it is derived from the trees).
#[derive(Debug, Clone, Default)]
pub(super) struct ForestCache(OnceLock<Result<Forest, String>>);

impl ForestCache {
    pub(super) fn get(&self, trees: &[Tree], features: usize) -> &Result<Forest, String> {
        self.0.get_or_init(|| Forest::pack(trees, features))
    }

    /// Forgets the packed forest (after trees were added).
    pub(super) fn reset(&mut self) {
        self.0 = OnceLock::new();
    }
}

impl PartialEq for ForestCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
