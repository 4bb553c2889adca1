//! [`GradientBoosting`]: a fitted ensemble — fit, predict, extend, explain.

use mlrig_core::ndarray::Array2;
use mlrig_core::{Features, Fit, Predict, Predictions, Task};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bins::BinnedMatrix;
use super::boost::{RowRoles, Start, boost};
use super::forest::ForestCache;
use super::objective::Objective;
use super::params::{GbdtLoss, GradientBoostingParams, GradientBoostingValidParams};
use super::tree::{RowReader, Tree};
use crate::dataset::{Dataset, check_feature_names, check_sample_weights};
use crate::error::{Result, TrainError};
use crate::target::{ClassTarget, RegressionTarget, Target};

/// Rows per parallel block in batch prediction.
const PREDICT_BLOCK: usize = 1024;

/// A fitted gradient-boosted tree ensemble.
///
/// ```
/// use mlrig_core::{Features, Fit, ParamGuard, Predict, Predictions, ndarray::Array2};
/// use mlrig_train::{ClassTarget, Dataset, GradientBoostingParams};
///
/// // y = 1 when x > 50, with a missing x in every tenth row.
/// let x = Array2::from_shape_fn((200, 1), |(i, _)| if i % 10 == 3 { f64::NAN } else { (i % 100) as f64 });
/// let labels: Vec<&str> = (0..200).map(|i| if i % 100 > 50 { "yes" } else { "no" }).collect();
/// let x = Features::dense(vec!["x".into()], x)?;
/// let y = ClassTarget::from_labels("y", labels);
/// let model = GradientBoostingParams::default()
///     .with_rounds(20)
///     .check()?
///     .fit(&Dataset::new(&x, &y)?)?;
/// assert_eq!(model.trees().len(), 20);
/// let Predictions::Classification { probabilities, .. } = model.predict(&x)? else { unreachable!() };
/// assert!(probabilities[[90, 1]] > 0.9 && probabilities[[10, 1]] < 0.1);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientBoosting {
    target: String,
    feature_names: Vec<String>,
    /// Whether each feature is split as categories.
    categorical: Vec<bool>,
    objective: Objective,
    /// The class labels (classification), in score order.
    classes: Option<Vec<String>>,
    base_scores: Vec<f64>,
    /// Round-major: `groups` trees per round (one per class for softmax).
    trees: Vec<Tree>,
    /// Whether early stopping ended the last fit.
    stopped_early: bool,
    params: GradientBoostingParams,
    #[serde(skip)]
    forest: ForestCache,
}

/// Split count and total gain of one feature over the ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureImportance {
    /// The feature column.
    pub feature: String,
    /// Splits on it.
    pub splits: u64,
    /// Summed gain (loss reduction) of those splits.
    pub gain: f64,
}

impl FeatureImportance {
    /// The importance of `feature`.
    pub fn new(feature: impl Into<String>, splits: u64, gain: f64) -> Self {
        Self {
            feature: feature.into(),
            splits,
            gain,
        }
    }
}

impl GradientBoosting {
    /// The feature columns the model expects, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The target column the model was trained on.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The trees, round-major (one per class and round for 3+ classes).
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Boosting rounds in the model.
    pub fn rounds(&self) -> usize {
        self.trees.len() / self.objective.groups()
    }

    /// Whether early stopping ended training before `rounds`.
    pub fn stopped_early(&self) -> bool {
        self.stopped_early
    }

    /// The parameters it was fitted with.
    pub fn params(&self) -> &GradientBoostingParams {
        &self.params
    }

    /// What the model predicts.
    pub fn task(&self) -> Task {
        match &self.classes {
            Some(classes) => Task::Classification {
                classes: classes.clone(),
            },
            None => Task::Regression,
        }
    }

    /// Raw scores per row: one per class for softmax, else one.
    pub(super) fn groups(&self) -> usize {
        self.objective.groups()
    }

    /// The starting raw score of each group (log-odds, log prior, mean).
    pub fn base_scores(&self) -> &[f64] {
        &self.base_scores
    }

    /// Split counts and gains per feature, in feature order (LightGBM's
    /// `importance_type="split"` and `"gain"`).
    ///
    /// See [`GradientBoosting`] for how to fit one.
    pub fn importances(&self) -> Vec<FeatureImportance> {
        let mut importances: Vec<FeatureImportance> = self
            .feature_names
            .iter()
            .map(|f| FeatureImportance::new(f.clone(), 0, 0.0))
            .collect();
        for node in self.trees.iter().flat_map(|t| &t.nodes) {
            if let Some(i) = importances.get_mut(node.feature as usize) {
                i.splits += 1;
                i.gain += node.gain;
            }
        }
        importances
    }

    /// Raw scores (before the link), `rows × groups`.
    pub fn raw_scores(&self, features: &Features) -> Result<Array2<f64>> {
        check_feature_names(&self.feature_names, features)?;
        let groups = self.groups();
        // An edited file may carry more or fewer base scores than score
        // groups; each row takes exactly `groups` scores below.
        if groups == 0 || self.base_scores.len() != groups {
            return Err(TrainError::invalid_parameter(
                "base_scores",
                format!(
                    "{} base scores for {groups} score groups",
                    self.base_scores.len()
                ),
            ));
        }
        let forest = self
            .forest
            .get(&self.trees, self.feature_names.len())
            .as_ref()
            .map_err(|reason| {
                TrainError::invalid_parameter(
                    "trees",
                    format!(
                        "the model's trees are damaged ({reason}); retrain or restore the file"
                    ),
                )
            })?;
        let reader = RowReader::new(features);
        let mut scores: Vec<f64> = (0..features.nrows())
            .flat_map(|_| self.base_scores.iter().copied())
            .collect();
        let width = self.feature_names.len();
        let score_block = |(block, chunk): (usize, &mut [f64])| {
            let mut buffer = vec![0.0; width];
            for (i, row_scores) in chunk.chunks_mut(groups).enumerate() {
                let row = reader.cells(block * PREDICT_BLOCK + i, &mut buffer);
                forest.add_row(row, row_scores);
            }
        };
        // One block (a served record) stays on the calling thread: handing
        // it to the pool costs more than the trees.
        if features.nrows() <= PREDICT_BLOCK {
            score_block((0, &mut scores));
        } else {
            scores
                .par_chunks_mut(PREDICT_BLOCK * groups)
                .enumerate()
                .for_each(score_block);
        }
        // `scores` has rows × groups entries by construction.
        Array2::from_shape_vec((features.nrows(), groups), scores).map_err(|e| {
            TrainError::invalid_parameter("features", format!("score matrix shape: {e}"))
        })
    }

    /// Adds `params().rounds` rounds fitted on new rows to the ensemble
    /// (dynamic training: the existing trees stay, the new ones correct
    /// their errors on the new data).
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ParamGuard, ndarray::Array2};
    /// use mlrig_train::{Dataset, GradientBoostingParams, RegressionTarget};
    /// let x = Features::dense(vec!["x".into()], Array2::from_shape_fn((100, 1), |(i, _)| i as f64))?;
    /// let y = RegressionTarget::new("y", (0..100).map(|i| (i * i) as f64).collect())?;
    /// let data = Dataset::new(&x, &y)?;
    /// let mut model = GradientBoostingParams::default().with_rounds(5).check()?.fit(&data)?;
    /// model.fit_more(&data)?;
    /// assert_eq!(model.rounds(), 10);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn fit_more<T: GbdtTarget>(&mut self, data: &Dataset<'_, T>) -> Result<()> {
        check_feature_names(&self.feature_names, data.features())?;
        let (objective, y) = data.target().objective(self.params.loss)?;
        if objective != self.objective || data.target().classes() != self.classes.as_deref() {
            return Err(TrainError::invalid_parameter(
                "warm start",
                format!(
                    "the new target `{}` does not match the model's (loss or classes differ); \
                     retrain instead",
                    data.target().name()
                ),
            ));
        }
        let weights = weights(data);
        let binned = bin_in_memory(&self.params, data.features(), &self.categorical)?;
        let boosted = boost(
            &self.params,
            &binned,
            objective,
            &y,
            &weights,
            Some(Start {
                base_scores: self.base_scores.clone(),
                // Through the checked forest: a damaged file is an error here too.
                scores: self
                    .raw_scores(data.features())?
                    .into_raw_vec_and_offset()
                    .0,
                rounds: self.rounds(),
            }),
        )?;
        self.trees.extend(boosted.trees);
        self.forest.reset();
        self.stopped_early = boosted.stopped_early;
        Ok(())
    }
}

impl Predict for GradientBoosting {
    type Error = TrainError;

    fn predict(&self, features: &Features) -> Result<Predictions> {
        let raw = self.raw_scores(features)?;
        let width = self.classes.as_ref().map_or(1, Vec::len);
        let mut out = Array2::zeros((raw.nrows(), width));
        // Both are standard-layout, so rows are contiguous slices.
        if let (Some(raw), Some(out)) = (raw.as_slice(), out.as_slice_mut()) {
            let groups = self.objective.groups();
            for (raw_row, out_row) in raw.chunks(groups).zip(out.chunks_mut(width)) {
                self.objective.link(raw_row, out_row);
            }
        }
        Ok(match &self.classes {
            Some(classes) => Predictions::Classification {
                classes: classes.clone(),
                probabilities: out,
            },
            None => Predictions::Regression {
                values: out.column(0).to_owned(),
            },
        })
    }
}

/// A target a boosted ensemble can fit: classes or values.
pub trait GbdtTarget: Target {
    /// The class labels, for a class target.
    fn classes(&self) -> Option<&[String]>;
    /// The objective `loss` resolves to for this target, and `y` per row
    /// (class index or value); a loss of the other task is an error.
    #[doc(hidden)]
    fn objective(&self, loss: GbdtLoss) -> Result<(Objective, Vec<f64>)>;
}

impl GbdtTarget for ClassTarget {
    fn classes(&self) -> Option<&[String]> {
        Some(ClassTarget::classes(self))
    }

    fn objective(&self, loss: GbdtLoss) -> Result<(Objective, Vec<f64>)> {
        if !matches!(loss, GbdtLoss::Auto | GbdtLoss::LogLoss) {
            return Err(wrong_loss(loss, "classes"));
        }
        let k = ClassTarget::classes(self).len();
        if k < 2 {
            return Err(TrainError::TooFewValues {
                what: format!("classes of target `{}`", self.name()),
                required: 2,
                found: k,
            });
        }
        let objective = if k == 2 {
            Objective::Binary
        } else {
            Objective::Multiclass { classes: k }
        };
        Ok((objective, self.labels().iter().map(|&l| l as f64).collect()))
    }
}

impl GbdtTarget for RegressionTarget {
    fn classes(&self) -> Option<&[String]> {
        None
    }

    fn objective(&self, loss: GbdtLoss) -> Result<(Objective, Vec<f64>)> {
        let objective = match loss {
            GbdtLoss::Auto | GbdtLoss::SquaredError => Objective::Squared,
            GbdtLoss::Poisson => {
                if let Some(row) = self.values().iter().position(|&v| v < 0.0) {
                    return Err(TrainError::invalid_parameter(
                        "loss",
                        format!(
                            "poisson needs a target ≥ 0; `{}` is {} at row {row}",
                            self.name(),
                            self.values()[row]
                        ),
                    ));
                }
                Objective::Poisson
            }
            GbdtLoss::LogLoss => return Err(wrong_loss(loss, "values")),
        };
        Ok((objective, self.values().to_vec()))
    }
}

fn wrong_loss(loss: GbdtLoss, found: &str) -> TrainError {
    TrainError::invalid_parameter(
        "loss",
        format!(
            "{loss:?} does not fit a target of {found}; use `auto` or pass --task for the other task"
        ),
    )
}

fn weights<T: Target>(data: &Dataset<'_, T>) -> Vec<f64> {
    data.sample_weights()
        .map(<[f64]>::to_vec)
        .unwrap_or_else(|| vec![1.0; data.features().nrows()])
}

impl GradientBoostingValidParams {
    /// Fits on features that arrive in parts — batches transformed one at
    /// a time, rows in the order of `target` — without holding them
    /// together: `parts()` is read twice, once for the bin bounds (a seeded
    /// sample of `bin_sample_rows` rows) and once to bin each part (and its
    /// first part once more, for the column names), so the
    /// fit holds the `u8`/`u16` binned matrix and the gradients, not the
    /// `f64` features. The model has the same bytes as
    /// [`fit`](Fit::fit) on the parts stacked into one matrix. Every part
    /// must have the same columns; `weights`, when given, one per row. A
    /// part's error is any that converts into [`TrainError`] (a transform's
    /// `FeaturesError` through `mlrig_core::Error`).
    ///
    /// ```
    /// use mlrig_core::{Features, Fit, ParamGuard};
    /// use mlrig_core::ndarray::Array2;
    /// use mlrig_train::{ClassTarget, Dataset, GradientBoostingParams};
    /// let part = |from: usize| {
    ///     let x = Array2::from_shape_fn((50, 1), |(i, _)| ((from + i) % 10) as f64);
    ///     Features::dense(vec!["x".into()], x)
    /// };
    /// let y = ClassTarget::from_labels("y", (0..100).map(|i| if i % 10 < 5 { "a" } else { "b" }));
    /// let params = GradientBoostingParams::default().with_rounds(5).with_min_samples_leaf(5).check()?;
    /// let streamed = params.fit_parts(|| [0, 50].map(part), &y, None)?;
    /// let whole = Features::dense(vec!["x".into()], Array2::from_shape_fn((100, 1), |(i, _)| (i % 10) as f64))?;
    /// assert_eq!(streamed, params.fit(&Dataset::new(&whole, &y)?)?);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn fit_parts<T, P, E, I>(
        &self,
        parts: impl Fn() -> I,
        target: &T,
        weights: Option<&[f64]>,
    ) -> Result<GradientBoosting>
    where
        T: GbdtTarget,
        P: std::borrow::Borrow<Features>,
        TrainError: From<E>,
        I: IntoIterator<Item = std::result::Result<P, E>>,
    {
        let params = self.params();
        let names = match parts().into_iter().next() {
            Some(first) => first?.borrow().names().to_vec(),
            None => Vec::new(),
        };
        let categorical = categorical_flags(params, &names)?;
        let (objective, y) = target.objective(params.loss)?;
        let weights = match weights {
            Some(w) => {
                check_sample_weights(w, y.len())?;
                w.to_vec()
            }
            None => vec![1.0; y.len()],
        };
        let roles = RowRoles::new(params, y.len());
        let binned = BinnedMatrix::from_parts(parts, &categorical, params.max_bins, &roles)?;
        if binned.rows != y.len() {
            return Err(TrainError::LengthMismatch {
                what: "gradient boosting: feature rows vs target rows".into(),
                expected: y.len(),
                found: binned.rows,
            });
        }
        let boosted = boost(params, &binned, objective, &y, &weights, None)?;
        Ok(GradientBoosting {
            target: target.name().to_string(),
            feature_names: names,
            categorical,
            objective,
            classes: target.classes().map(<[String]>::to_vec),
            base_scores: boosted.base_scores,
            trees: boosted.trees,
            stopped_early: boosted.stopped_early,
            params: params.clone(),
            forest: ForestCache::default(),
        })
    }
}

/// Which of `names` are split as categories; every named category column
/// must exist.
fn categorical_flags(params: &GradientBoostingParams, names: &[String]) -> Result<Vec<bool>> {
    if names.is_empty() {
        return Err(TrainError::TooFewValues {
            what: "gradient boosting: feature columns".into(),
            required: 1,
            found: 0,
        });
    }
    if let Some(unknown) = params.categorical.iter().find(|c| !names.contains(c)) {
        return Err(TrainError::invalid_parameter(
            "categorical",
            format!(
                "`{unknown}` is not a feature column; the columns are {}",
                names.join(", ")
            ),
        ));
    }
    Ok(names
        .iter()
        .map(|n| params.categorical.contains(n))
        .collect())
}

/// The binned matrix of in-memory features, with the rows' roles of `params`.
fn bin_in_memory(
    params: &GradientBoostingParams,
    features: &Features,
    categorical: &[bool],
) -> Result<BinnedMatrix> {
    let roles = RowRoles::new(params, features.nrows());
    BinnedMatrix::from_parts(
        || std::iter::once(Ok::<_, TrainError>(features)),
        categorical,
        params.max_bins,
        &roles,
    )
}

impl<'a, T: GbdtTarget> Fit<Dataset<'a, T>> for GradientBoostingValidParams {
    type Fitted = GradientBoosting;
    type Error = TrainError;

    fn fit(&self, data: &Dataset<'a, T>) -> Result<GradientBoosting> {
        let features = data.features();
        self.fit_parts(
            || std::iter::once(Ok::<_, TrainError>(features)),
            data.target(),
            data.sample_weights(),
        )
    }
}

crate::dataset::fit_after_check!(GradientBoostingParams, ClassTarget => GradientBoosting);
crate::dataset::fit_after_check!(GradientBoostingParams, RegressionTarget => GradientBoosting);
