//! Linear models trained by stochastic gradient descent (SGD), with
//! scikit-learn's `SGDClassifier` / `SGDRegressor` semantics and online
//! updates (`partial_fit`).
//!
//! # The algorithm
//!
//! A model is one or more linear functions `p = w·x + b`. Each training
//! call runs *epochs* over the rows of a batch, in row order or — with
//! `shuffle` — in a deterministic permutation (see *Shuffling*). For every
//! row `i`, with the running sample counter `t` (1 for the first row a model
//! ever sees, never reset by `partial_fit`):
//!
//! ```text
//! p      = w·xᵢ + b
//! eta    = learning rate at t                       (see below)
//! obj   += loss(yᵢ, p) + alpha/2 · ‖w‖²              (unweighted; only for stopping)
//! g      = dloss/dp (yᵢ, p), clipped to ±1e12
//! u      = −eta · g · (class_weight(yᵢ) · sample_weightᵢ)
//! w      = max(0, 1 − eta·alpha) · w                 (L2 decay, every row)
//! w      = w + u · xᵢ                                (if u ≠ 0)
//! b      = b + u · intercept_decay                   (if fit_intercept and u ≠ 0)
//! t      = t + 1
//! ```
//!
//! `intercept_decay` is 1 for dense features and `sparse_intercept_decay`
//! (scikit-learn's `SPARSE_INTERCEPT_DECAY`, 0.01) for CSR features, so, as
//! in scikit-learn, the same data gives different models dense and sparse
//! unless `sparse_intercept_decay` is set to 1 (then the bits are identical).
//!
//! **Learning rates** ([`LearningRate`]): `constant` uses `eta0`;
//! `invscaling` uses `eta0 / t^power_t`; `optimal` uses
//! `1 / (alpha · (t₀ + t − 1))` with Léon Bottou's heuristic
//! `t₀ = 1 / (η₀·alpha)`, `η₀ = typw / max(1, dloss(y = 1, p = −typw))`,
//! `typw = √(1/√alpha)`; `adaptive` starts at `eta0` and divides it by 5
//! each time the stopping rule fires while it is above `1e-6`.
//!
//! **Stopping** (when a tolerance is set): after each epoch, the mean of
//! `obj` over the batch is compared with the best mean so far; an epoch
//! whose mean is above `best − tol` counts as no improvement, an improving
//! epoch resets the count. After `n_iter_no_change` such epochs in a row
//! training stops ([`SgdClassifier::converged`] is then `true`) — or, for
//! `adaptive`, the rate is divided by 5 and the count restarts. At most
//! `max_iter` epochs run. Without a tolerance all `max_iter` epochs run.
//!
//! **Weight decay in O(1).** `w` is stored as `scale · v`: the decay
//! multiplies `scale`, and `v` is rescaled only when `scale` drops below
//! `1e-9` and at the end of a call, so a step on a sparse row costs
//! O(non-zeros of the row). `‖w‖²` is maintained incrementally for the
//! stopping rule. Rows are visited by their non-zero entries only (for
//! dense and CSR alike), which is why dense and CSR give the same bits.
//!
//! **Classification** is one-vs-rest: with two classes a single function
//! scores the second (positive) class; with `k > 2` classes there is one
//! function per class, trained on `+1` for that class and `−1` for the
//! others, each with its own stopping; the model reports the largest epoch
//! count. `class_weight` multiplies the step of a row by the weight of its
//! class; as in scikit-learn, in the multiclass case the rows of the other
//! classes (the `−1` side) get weight 1.
//!
//! **Online learning.** `partial_fit` runs exactly one epoch over a new
//! batch, continuing `t` (so `optimal` and `invscaling` continue their
//! decay). As in scikit-learn, the `adaptive` rate restarts at `eta0` in
//! every call. A model saved as JSON and loaded again continues with the
//! same bits.
//!
//! # Shuffling
//!
//! With `shuffle`, the rows of an epoch are visited in a Fisher–Yates
//! permutation drawn from SplitMix64 seeded with a mix of `seed` and the
//! value of `t` when the epoch starts. The permutation is therefore a
//! function of (seed, t, number of rows) only — not of threads, machine or
//! an earlier save/load — and consecutive epochs and batches get different
//! orders. It is not scikit-learn's generator: only `shuffle = false` results
//! are comparable with scikit-learn, bit for bit up to libm rounding.
//!
//! # Differences from scikit-learn
//!
//! * Only the L2 penalty (`alpha = 0` is scikit-learn's `penalty=None`); no
//!   L1 / elastic net, averaging, early stopping on a validation split, or the
//!   perceptron / squared hinge / epsilon-insensitive losses.
//! * scikit-learn 1.9 updates `‖w‖²` of the stopping objective over the
//!   entries of the last row only when the input is sparse; here it is the
//!   full norm for dense and CSR alike, so a CSR fit may stop after a
//!   different number of epochs than scikit-learn's CSR fit.
//! * `class_weight = balanced` is computed once by `fit` and kept for later
//!   `partial_fit` calls (scikit-learn refuses `balanced` in `partial_fit`).
//! * Non-finite weights are an error ([`crate::TrainError::Numerical`]), as in
//!   scikit-learn, and leave a model updated by `partial_fit` unchanged.

mod class_weight;
mod classifier;
mod epochs;
mod learning_rate;
mod loss;
mod regressor;
mod rows;
mod shuffle;
mod weights;

pub use class_weight::ClassWeight;
pub use classifier::{SgdClassifier, SgdClassifierParams, SgdClassifierValidParams};
pub use learning_rate::LearningRate;
pub use loss::{SgdClassifierLoss, SgdRegressorLoss};
pub use regressor::{SgdRegressor, SgdRegressorParams, SgdRegressorValidParams};
