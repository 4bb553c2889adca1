//! [`GradientBoostingParams`]: what a boosted ensemble is fitted with, and
//! its checked form.

use mlrig_core::ParamGuard;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// The loss a boosted ensemble minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GbdtLoss {
    /// Log loss for a class target (binary, or softmax over ≥ 3 classes),
    /// squared error for a numeric one.
    #[default]
    Auto,
    /// Binary log loss (one tree per round) or multiclass softmax (one tree
    /// per class and round); LightGBM's `binary` / `multiclass`.
    LogLoss,
    /// Squared error (LightGBM's `regression`).
    SquaredError,
    /// Poisson deviance with a log link, for counts ≥ 0 (LightGBM's
    /// `poisson`, `max_delta_step` 0.7).
    Poisson,
}

/// Early stopping: hold out a seeded fraction of the training rows and stop
/// when their loss has not improved for `patience` rounds; the model keeps
/// the rounds up to the best one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct EarlyStopping {
    /// Rounds without improvement before stopping, ≥ 1 (default 10).
    pub patience: usize,
    /// Fraction of the training rows held out for validation, in (0, 1)
    /// (default 0.1, scikit-learn's `validation_fraction`).
    pub validation_fraction: f64,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self {
            patience: 10,
            validation_fraction: 0.1,
        }
    }
}

/// Parameters of a histogram gradient-boosted tree ensemble. The defaults
/// are LightGBM's (100 rounds, learning rate 0.1, 31 leaves grown leaf-wise,
/// no depth limit, 20 rows and 1e-3 hessian per leaf, 255 bins, no
/// subsampling, categorical smoothing 10 / L2 10 / at most 32 categories on
/// a side / one-vs-rest up to 4 categories / 100 rows per group), so equal
/// work can be compared.
///
/// ```
/// use mlrig_core::ParamGuard;
/// use mlrig_train::GradientBoostingParams;
/// let p: GradientBoostingParams = serde_json::from_str(r#"{"rounds": 50, "max_leaves": 15}"#).unwrap();
/// assert_eq!(p.rounds(), 50);
/// assert!(p.check().is_ok());
/// assert!(GradientBoostingParams::default().with_learning_rate(0.0).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct GradientBoostingParams {
    /// The loss (default `auto`: by the target).
    pub loss: GbdtLoss,
    /// Boosting rounds, ≥ 1 (LightGBM's `num_iterations`).
    pub rounds: usize,
    /// Shrinkage of every tree, in (0, 1].
    pub learning_rate: f64,
    /// The most leaves of a tree, ≥ 2 (leaf-wise growth, LightGBM's `num_leaves`).
    pub max_leaves: usize,
    /// The deepest a leaf may be; `null` for no limit.
    pub max_depth: Option<usize>,
    /// The fewest training rows in a leaf, ≥ 1 (LightGBM's `min_data_in_leaf`).
    pub min_samples_leaf: usize,
    /// The smallest hessian sum in a leaf, ≥ 0 (`min_sum_hessian_in_leaf`).
    pub min_hessian_leaf: f64,
    /// L2 penalty on leaf values, ≥ 0 (`lambda_l2`).
    pub l2: f64,
    /// The smallest gain that makes a split, ≥ 0 (`min_gain_to_split`).
    pub min_split_gain: f64,
    /// Fraction of the rows each round sees, in (0, 1] (`bagging_fraction`
    /// with `bagging_freq` 1; drawn per row from the seed).
    pub row_subsample: f64,
    /// Fraction of the features each tree may split on, in (0, 1]
    /// (`feature_fraction`).
    pub feature_subsample: f64,
    /// The most bins of a numeric feature, in 2..=255 (`max_bin`); a feature
    /// with fewer distinct values gets one bin per value.
    pub max_bins: usize,
    /// Rows whose values set numeric bin bounds, ≥ 1 (LightGBM's
    /// `bin_construct_sample_cnt`): with more training rows, a seeded sample
    /// of about this many (categories always come from every row).
    pub bin_sample_rows: usize,
    /// Columns to split as categories (integer codes, as the `ordinal`
    /// encoding of mlrig-features writes them); the training pipeline fills
    /// this from its feature spec. Codes are bins of their own (up to 65,535).
    pub categorical: Vec<String>,
    /// Smoothing of the category ordering and the fewest rows for a category
    /// to be ordered (`cat_smooth`).
    pub cat_smooth: f64,
    /// Extra L2 in the gain of a many-category split (`cat_l2`).
    pub cat_l2: f64,
    /// The most categories on the side of a sorted-gradient split (`max_cat_threshold`).
    pub max_cat_threshold: usize,
    /// Up to this many categories, one-vs-rest splits (`max_cat_to_onehot`).
    pub max_cat_to_onehot: usize,
    /// The fewest rows of a group of categories (`min_data_per_group`).
    pub min_samples_per_group: usize,
    /// Bits of the quantized gradients and hessians, in 4..=24: the
    /// histograms add integers, so they have the same bits for any split of
    /// the rows and any thread count. 16 bits move held-out metrics by less
    /// than 1e-4 on the shared data sets.
    pub gradient_bits: u32,
    /// Early stopping on a held-out part of the training rows; `null` (the
    /// default) trains every round.
    pub early_stopping: Option<EarlyStopping>,
    /// Seed of the stochastic rounding, the subsampling and the validation rows.
    pub seed: u64,
}

impl Default for GradientBoostingParams {
    fn default() -> Self {
        Self {
            loss: GbdtLoss::Auto,
            rounds: 100,
            learning_rate: 0.1,
            max_leaves: 31,
            max_depth: None,
            min_samples_leaf: 20,
            min_hessian_leaf: 1e-3,
            l2: 0.0,
            min_split_gain: 0.0,
            row_subsample: 1.0,
            feature_subsample: 1.0,
            max_bins: 255,
            bin_sample_rows: 200_000,
            categorical: Vec::new(),
            cat_smooth: 10.0,
            cat_l2: 10.0,
            max_cat_threshold: 32,
            max_cat_to_onehot: 4,
            min_samples_per_group: 100,
            gradient_bits: 16,
            early_stopping: None,
            seed: 0,
        }
    }
}

impl GradientBoostingParams {
    /// The number of boosting rounds.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// Sets the number of boosting rounds (≥ 1).
    pub fn with_rounds(mut self, rounds: usize) -> Self {
        self.rounds = rounds;
        self
    }

    /// Sets the learning rate, in (0, 1].
    pub fn with_learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = learning_rate;
        self
    }

    /// Sets the most leaves per tree (≥ 2).
    pub fn with_max_leaves(mut self, max_leaves: usize) -> Self {
        self.max_leaves = max_leaves;
        self
    }

    /// Sets the fewest training rows per leaf (≥ 1).
    pub fn with_min_samples_leaf(mut self, rows: usize) -> Self {
        self.min_samples_leaf = rows;
        self
    }

    /// Sets the loss.
    pub fn with_loss(mut self, loss: GbdtLoss) -> Self {
        self.loss = loss;
        self
    }

    /// Names the columns split as categories (integer codes).
    pub fn with_categorical(mut self, columns: Vec<String>) -> Self {
        self.categorical = columns;
        self
    }

    /// Sets row and feature subsampling fractions, in (0, 1].
    pub fn with_subsample(mut self, rows: f64, features: f64) -> Self {
        self.row_subsample = rows;
        self.feature_subsample = features;
        self
    }

    /// Turns on early stopping.
    pub fn with_early_stopping(mut self, early_stopping: EarlyStopping) -> Self {
        self.early_stopping = Some(early_stopping);
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the bits of the quantized gradients (4..=24).
    pub fn with_gradient_bits(mut self, bits: u32) -> Self {
        self.gradient_bits = bits;
        self
    }
}

/// [`GradientBoostingParams`] that passed [`ParamGuard::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct GradientBoostingValidParams(pub(super) GradientBoostingParams);

impl GradientBoostingValidParams {
    /// The checked parameters.
    pub fn params(&self) -> &GradientBoostingParams {
        &self.0
    }
}

fn fraction(name: &str, value: f64, closed_at_one: bool) -> Result<()> {
    let ok = value > 0.0 && (value < 1.0 || (closed_at_one && value == 1.0));
    if ok {
        Ok(())
    } else {
        let range = if closed_at_one { "(0, 1]" } else { "(0, 1)" };
        Err(TrainError::invalid_parameter(
            name,
            format!("must be in {range}, got {value}"),
        ))
    }
}

fn non_negative(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(TrainError::invalid_parameter(
            name,
            format!("must be finite and ≥ 0, got {value}"),
        ))
    }
}

fn at_least(name: &str, value: usize, least: usize) -> Result<()> {
    if value >= least {
        Ok(())
    } else {
        Err(TrainError::invalid_parameter(
            name,
            format!("must be at least {least}, got {value}"),
        ))
    }
}

impl ParamGuard for GradientBoostingParams {
    type Checked = GradientBoostingValidParams;
    type Error = TrainError;

    fn check(self) -> Result<GradientBoostingValidParams> {
        at_least("rounds", self.rounds, 1)?;
        fraction("learning_rate", self.learning_rate, true)?;
        at_least("max_leaves", self.max_leaves, 2)?;
        if self.max_leaves > 65_536 {
            return Err(TrainError::invalid_parameter(
                "max_leaves",
                format!("must be at most 65536, got {}", self.max_leaves),
            ));
        }
        if let Some(depth) = self.max_depth {
            at_least("max_depth", depth, 1)?;
        }
        at_least("min_samples_leaf", self.min_samples_leaf, 1)?;
        non_negative("min_hessian_leaf", self.min_hessian_leaf)?;
        non_negative("l2", self.l2)?;
        non_negative("min_split_gain", self.min_split_gain)?;
        fraction("row_subsample", self.row_subsample, true)?;
        fraction("feature_subsample", self.feature_subsample, true)?;
        if !(2..=255).contains(&self.max_bins) {
            return Err(TrainError::invalid_parameter(
                "max_bins",
                format!("must be in 2..=255, got {}", self.max_bins),
            ));
        }
        at_least("bin_sample_rows", self.bin_sample_rows, 1)?;
        non_negative("cat_smooth", self.cat_smooth)?;
        non_negative("cat_l2", self.cat_l2)?;
        at_least("max_cat_threshold", self.max_cat_threshold, 1)?;
        at_least("min_samples_per_group", self.min_samples_per_group, 1)?;
        if !(4..=24).contains(&self.gradient_bits) {
            return Err(TrainError::invalid_parameter(
                "gradient_bits",
                format!("must be in 4..=24, got {}", self.gradient_bits),
            ));
        }
        if let Some(stop) = &self.early_stopping {
            at_least("early_stopping.patience", stop.patience, 1)?;
            fraction(
                "early_stopping.validation_fraction",
                stop.validation_fraction,
                false,
            )?;
        }
        Ok(GradientBoostingValidParams(self))
    }
}
