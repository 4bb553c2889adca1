//! Histogram gradient-boosted trees (LightGBM's algorithm) with exact
//! integer histograms.
//!
//! ```text
//! Features (dense or CSR, one matrix or parts; NaN = missing; categories as codes)
//!   ──BinnedMatrix::from_parts (pass 1: bounds from a seeded sample; pass 2: bins)
//!   ──▶ u8/u16 bins per column (bin 0 = missing)
//!   per round and class: gradients ──quantize (stochastic rounding, seeded per row)──▶ integers
//!     ──TreeGrower::grow (leaf-wise; smaller child's histogram from its rows,
//!        the sibling's by exact subtraction; split search per feature)──▶ Tree
//!   ──▶ GradientBoosting (flat trees on raw values) ──predict / raw_scores / importances
//!         └──contributions (exact path-dependent TreeSHAP over the node
//!            counts)──▶ rows × groups × (features + 1), summing to raw_scores
//! ```
//!
//! Histograms add integers, so their bits do not depend on how the rows are
//! split between threads (or machines) or in which order parts are merged:
//! a model fitted with any thread count has the same bytes.
//!
//! Features can also arrive in parts
//! ([`GradientBoostingValidParams::fit_parts`]): two passes bin them
//! without ever holding the `f64` matrix, so a fit holds the binned matrix
//! and the gradients.

/// Rows per parallel chunk of per-row work (gradients, quantization):
/// rows are independent, so the chunking never changes a result.
const ROW_CHUNK: usize = 1 << 13;

mod bins;
mod boost;
mod ensemble;
mod exp;
mod forest;
mod grow;
mod histogram;
mod hot_pool;
mod objective;
mod params;
mod random;
mod shap;
mod split;
mod tree;

pub use ensemble::{FeatureImportance, GbdtTarget, GradientBoosting};
pub use params::{EarlyStopping, GbdtLoss, GradientBoostingParams, GradientBoostingValidParams};
pub use tree::{Child, Condition, Leaf, Node, Tree};
