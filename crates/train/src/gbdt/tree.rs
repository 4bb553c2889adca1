//! [`Tree`]: one fitted regression tree in a flat layout — nodes and leaves
//! in two vectors, children by index — walked on raw feature values.

use mlrig_core::{FeatureMatrix, Features};
use serde::{Deserialize, Serialize};

use super::bins::category_code;

/// Where a branch leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Child {
    /// An inner node, by index into [`Tree::nodes`].
    Node(u32),
    /// A leaf, by index into [`Tree::leaves`].
    Leaf(u32),
}

/// The test of an inner node; a row that passes goes left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// `value ≤ threshold` (a missing value goes the learned default way).
    LessOrEqual(f64),
    /// The value is one of these category codes (sorted); a missing or
    /// unseen category goes right.
    OneOf(Vec<u32>),
}

/// An inner node of a [`Tree`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The feature column tested.
    pub feature: u32,
    /// The test.
    pub condition: Condition,
    /// Where a missing (NaN) value goes for a numeric test.
    pub default_left: bool,
    /// Where a row that passes goes.
    pub left: Child,
    /// Where the others go.
    pub right: Child,
    /// The split's gain (loss reduction), for importances.
    pub gain: f64,
    /// Training rows that reached the node (the cover of TreeSHAP).
    pub count: u64,
}

/// A leaf of a [`Tree`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Leaf {
    /// The leaf's contribution to the raw score (learning rate applied).
    pub value: f64,
    /// Training rows that reached the leaf.
    pub count: u64,
}

/// A regression tree: `nodes[0]` is the root (no nodes: a single leaf).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Inner nodes; the root first.
    pub nodes: Vec<Node>,
    /// Leaves.
    pub leaves: Vec<Leaf>,
}

impl Node {
    /// Whether a row with `value` in this node's feature goes left.
    pub(super) fn goes_left(&self, value: f64) -> bool {
        match &self.condition {
            Condition::LessOrEqual(threshold) => {
                if value.is_nan() {
                    self.default_left
                } else {
                    value <= *threshold
                }
            }
            Condition::OneOf(codes) => {
                category_code(value).is_some_and(|code| codes.binary_search(&code).is_ok())
            }
        }
    }

    /// Where a row with `value` in this node's feature goes (the walk on
    /// raw values that TreeSHAP's brute-force tests check against;
    /// prediction walks the packed `Forest`, training the bins).
    #[cfg(test)]
    pub(super) fn next(&self, value: f64) -> Child {
        if self.goes_left(value) {
            self.left
        } else {
            self.right
        }
    }
}

impl Tree {
    /// Where every row starts: the root node, or the only leaf.
    pub(super) fn root(&self) -> Child {
        match self.nodes.first() {
            Some(_) => Child::Node(0),
            None => Child::Leaf(0),
        }
    }

    /// The leaf a row reaches; `value(f)` reads the row's feature `f`.
    #[cfg(test)]
    pub(super) fn leaf(&self, value: impl Fn(usize) -> f64) -> usize {
        let mut child = self.root();
        loop {
            match child {
                Child::Leaf(leaf) => return leaf as usize,
                Child::Node(node) => {
                    let node = &self.nodes[node as usize];
                    child = node.next(value(node.feature as usize));
                }
            }
        }
    }

    /// The tree's output for a row.
    #[cfg(test)]
    pub(super) fn value(&self, value: impl Fn(usize) -> f64) -> f64 {
        self.leaves[self.leaf(value)].value
    }
}

/// Reads single cells of a feature matrix by row (a CSR row's absent
/// entries are 0).
#[derive(Clone, Copy)]
pub(super) enum RowReader<'a> {
    Dense(&'a mlrig_core::ndarray::Array2<f64>),
    Sparse(&'a mlrig_core::sprs::CsMat<f64>),
}

impl<'a> RowReader<'a> {
    pub(super) fn new(features: &'a Features) -> Self {
        match features.matrix() {
            FeatureMatrix::Dense(m) => RowReader::Dense(m),
            FeatureMatrix::Sparse(m) => RowReader::Sparse(m),
        }
    }

    /// Row `row`'s cells as a slice: borrowed from a standard-layout dense
    /// matrix, else copied into `buffer` (which has one cell per feature).
    pub(super) fn cells<'b>(self, row: usize, buffer: &'b mut [f64]) -> &'b [f64]
    where
        'a: 'b,
    {
        match self {
            RowReader::Dense(m) => {
                if let Some(cells) = m.row(row).to_slice() {
                    return cells;
                }
                for (b, v) in buffer.iter_mut().zip(m.row(row)) {
                    *b = *v;
                }
            }
            RowReader::Sparse(m) => {
                buffer.fill(0.0);
                if let Some(r) = m.outer_view(row) {
                    for (f, &v) in r.iter() {
                        if let Some(b) = buffer.get_mut(f) {
                            *b = v;
                        }
                    }
                }
            }
        }
        buffer
    }

    /// A reader of row `row`'s cells.
    pub(super) fn row(self, row: usize) -> impl Fn(usize) -> f64 + 'a {
        move |f| match self {
            RowReader::Dense(m) => m[[row, f]],
            RowReader::Sparse(m) => m
                .outer_view(row)
                .and_then(|r| r.get(f).copied())
                .unwrap_or(0.0),
        }
    }
}
