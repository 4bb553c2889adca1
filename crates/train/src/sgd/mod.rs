//! Linear models trained by stochastic gradient descent (SGD), with
//! scikit-learn's `SGDClassifier` / `SGDRegressor` semantics and online
//! updates (`partial_fit`).
//!
//! The rest of this documentation is `algorithm.md`, shown on
//! [`SgdClassifierParams`] and [`SgdRegressorParams`] too.
#![doc = include_str!("algorithm.md")]

mod classifier;
mod epochs;
mod learning_rate;
mod loss;
mod params;
mod probabilities;
mod regressor;
mod rows;
mod shuffle;
mod weights;

pub use classifier::{SgdClassifier, SgdClassifierParams, SgdClassifierValidParams};
pub use learning_rate::LearningRate;
pub use loss::{SgdClassifierLoss, SgdRegressorLoss};
pub use regressor::{SgdRegressor, SgdRegressorParams, SgdRegressorValidParams};
