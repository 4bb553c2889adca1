//! Label leakage: input columns that give the target away, found before a
//! model is blessed.
//!
//! [`LeakageParams`] → [`ParamGuard::check`] → [`LeakageCheck::run`]`(train,
//! eval, target, task)` → [`LeakageReport`]: every raw Arrow input column
//! (not the one-hot outputs of a transform) with its score, and the
//! [`suspects`](LeakageReport::suspects), each with a sentence saying what was
//! measured and what to do.
//!
//! ## How a column is scored
//!
//! 1. **Buckets, placed on the training rows.** Numeric columns (integers,
//!    floats, dates, timestamps): one bucket per value when there are at most
//!    `bins` (64) distinct values, else quantile bins whose edges are observed
//!    values of an every-k-th-row sample (≤ 65 536 values); a value holding
//!    a bin's share of the rows gets a bucket of its own (chicago's
//!    `tips = 0`, 68 % of the rows). Categorical columns (strings, booleans,
//!    string dictionaries): the `max_categories` (256) most frequent values,
//!    the rest "other". Null and NaN: a bucket of their own.
//! 2. **Target statistics per bucket, from the training rows**: class counts,
//!    or the target's mean; a bucket without training rows predicts the
//!    training prior (mean). No smoothing: scoring out of sample already
//!    punishes buckets too small to generalise, and shrinking would cost a
//!    copy of the target on small data (R² 0.98 instead of 0.9998 with six
//!    rows per bucket).
//! 3. **The score, on the evaluation rows.** Out of sample, so a unique ID
//!    (every evaluation value unseen) scores like a constant:
//!
//!    | target | metric | a row's prediction |
//!    |---|---|---|
//!    | two classes | ROC AUC (from bucket counts; the definition of [`crate::metrics::roc_auc`]) | its bucket's positive rate |
//!    | three or more classes | balanced accuracy (mean recall over the classes present) | the class most over-represented in its bucket (count / class total) |
//!    | regression | R² ([`crate::metrics::r2`]'s definition) | its bucket's mean |
//!
//!    Balanced accuracy rather than accuracy: with a 99 % majority class any
//!    column would reach accuracy 0.99.
//! 4. **A lower bound.** Thresholds apply to the score's one-sided 95 %
//!    lower confidence bound (normal approximation): Hanley & McNeil's
//!    variance for ROC AUC, binomial recalls for balanced accuracy,
//!    `4R²(1−R²)²/n` for R². A strong feature scored on 113 rows is not
//!    mistaken for a leak (breast_cancer's `worst_radius` reaches 0.9809 on
//!    one fold, bound 0.9605); a perfect score keeps its bound of 1.
//!
//! ## Rules: a column is a suspect when one fires
//!
//! * **function**: the target is a function of the column. Every bucket holds
//!   one class (one target value) on the training and evaluation rows and
//!   every evaluation row falls in a bucket with training rows; or, for a
//!   regression target and a numeric column, the target's ranges over the
//!   ordered buckets follow each other without overlap, all rising or all
//!   falling, over at least 4 buckets (a copy or monotone transform of a
//!   continuous target, which 64 bins alone leave at R² 0.96 on chicago's
//!   heavy-tailed `tips`).
//! * **score**: the column alone reaches the threshold (its lower bound does).
//! * **partner**: a numeric column scoring at least `partner_floor` (0.9)
//!   alone reaches the threshold combined with another numeric column
//!   (`a + b`, `a − b`, `a × b`, `a / b`). Only the `max_partner_candidates`
//!   (4) best columns, and only with at least `partner_min_eval_rows` (1000)
//!   evaluation rows.
//!
//! Fewer than `min_eval_rows` (20) evaluation rows and nothing is judged.
//! Allowed columns ([`LeakageParams::with_allowed`]) are reported under
//! [`LeakageReport::allowed`] instead.
//!
//! ## Thresholds: 0.99 for all three metrics, from these measurements
//!
//! Evaluation rows are those with `i % 5 == 4` (mlrig's default split);
//! "score (bound)"; "best pair" pairs every numeric column with every other
//! (floor and candidate limit off; in brackets: would not run, too few rows).
//!
//! | data set | target | metric | eval rows | best column alone | best pair | suspects |
//! |---|---|---|---:|---|---|---|
//! | adult | `income` | ROC AUC | 9 768 | `relationship` 0.7795 (0.7696) | `age` × `educational-num` 0.7732 | — |
//! | california_housing | `MedHouseVal` | R² | 4 128 | `MedInc` 0.4800 (0.4616) | `AveOccup` / `MedInc` 0.5781 | — |
//! | chicago_taxi | `big_tipper` | ROC AUC | 3 000 | `tips` 0.9806 (0.9743); `payment_type` 0.9353 | `tips` / `fare` 0.9999 (0.9993) | `tips` (partner) |
//! | diamonds | `price` | R² | 10 788 | `y` 0.8745 (0.8707) | `carat` + `y` 0.8753 | — |
//! | iris | `species` | balanced accuracy | 30 | `petal_length_cm` 0.9667 (0.9147) | [0.9333] | — |
//! | penguins | `species` | balanced accuracy | 68 | `island` 0.7778 (0.7306) | [0.9622] | — |
//! | wine | `class` | balanced accuracy | 35 | `color_intensity` 0.8114 (0.7111) | [0.8808] | — |
//! | breast_cancer | `target` | ROC AUC | 113 | `worst_perimeter` 0.9645 (0.9374) | [0.9980] | — |
//! | diabetes | `target` | R² | 88 | `s5` 0.2536 (0.1218) | [0.3543] | — |
//!
//! On the four other folds (`i % 5 == 0…3`) the small data sets' highest
//! bound is 0.9605 (breast_cancer). `tests/leakage_real_data.rs` checks all
//! of this. The choices it supports:
//!
//! * **Why a partner rule.** `big_tipper` is `tips > 0.2 × fare`. `tips` alone
//!   cannot be near-perfect: untipped rides (68 %) are all negative, but among
//!   tipped ones the label depends on the fare (ROC AUC 0.67 there). Its 0.9806
//!   sits among legitimate features (0.9353, 0.9645, 0.9809 on another
//!   fold): no single-column threshold separates them with a margin.
//!   `tips / fare` reaches 0.9999.
//! * **Why the floor (0.9).** `fare / tips` reaches 0.9997 too; `fare` alone
//!   scores 0.61. The floor names the column that gives the target away, not
//!   its legitimate partner.
//! * **Why 1000 evaluation rows.** The partner rule tries up to
//!   `4 × 4 × columns` combinations, and a per-score bound does not account
//!   for the best of many: on its 113 rows breast_cancer's
//!   `worst_perimeter + worst_texture` reaches 0.9980 (bound 0.9917) and would
//!   flag `worst_perimeter`. On the large data sets the best pair stays at
//!   0.88 or below.
//! * **Why 0.99.** The strongest legitimate features' bounds: ROC AUC 0.9605
//!   (breast_cancer, another fold; 0.9374 on this one; chicago's
//!   `payment_type` 0.9241), balanced accuracy 0.9147 (iris), R² 0.8707
//!   (diamonds): a margin of at least 0.03. `tips` alone (0.9743) stays
//!   below too; its partner score's bound is 0.9993. Copies of the target
//!   are caught by the function rule whatever the threshold.
//!
//! ## Limits
//!
//! * One partner and four operations: a target computed from three columns,
//!   or by a rule no sum, difference, product or ratio exposes, is caught only
//!   if a column alone gives it away.
//! * A coarse function *of* the target (e.g. `big_tipper` when predicting
//!   `tips`) predicts the target poorly and is not caught.
//! * Memory per column: buckets × classes counters (two bucket tables), the
//!   quantile sample while buckets are placed (≤ 512 KiB; columns are scored
//!   32 at a time, so ≤ 16 MiB), at most `4 × max_categories` distinct
//!   strings counted; one batch of target values. No copy of the data.
//! * Deterministic: sorted vectors and `BTreeMap`s, a sample chosen by row
//!   number, exact sums, each column's state sees the rows in order (columns
//!   run in parallel with rayon): the same report for any batch cuts or
//!   thread count.
//! * Speed: 1 M rows × 15 columns (12 numeric, 3 string) take 0.3 s in a
//!   release build on 2 cores, up to 0.85 s on a busy machine (three passes:
//!   place buckets, learn, score; the test `one_million_rows_fifteen_columns`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use mlrig_core::arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use mlrig_core::arrow_schema::{DataType, TimeUnit};
use mlrig_core::{ExactSum, ParamGuard, Task};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Default for [`LeakageParams::with_auc_threshold`].
const AUC_THRESHOLD: f64 = 0.99;
/// Default for [`LeakageParams::with_balanced_accuracy_threshold`].
const BALANCED_ACCURACY_THRESHOLD: f64 = 0.99;
/// Default for [`LeakageParams::with_r2_threshold`].
const R2_THRESHOLD: f64 = 0.99;
/// Default for [`LeakageParams::with_bins`].
const BINS: usize = 64;
/// Default for [`LeakageParams::with_max_categories`].
const MAX_CATEGORIES: usize = 256;
/// Default for [`LeakageParams::with_min_eval_rows`].
const MIN_EVAL_ROWS: usize = 20;
/// Default for [`LeakageParams::with_partner_floor`].
const PARTNER_FLOOR: f64 = 0.9;
/// Default for [`LeakageParams::with_partner_min_eval_rows`].
const PARTNER_MIN_EVAL_ROWS: usize = 1000;
/// Default for [`LeakageParams::with_max_partner_candidates`].
const MAX_PARTNER_CANDIDATES: usize = 4;
/// Training values kept per numeric column to place quantile bins: a
/// deterministic every-k-th-row sample, so memory stays bounded.
const QUANTILE_SAMPLE: usize = 65_536;
/// Columns scored in the same passes over the data: bounds the quantile
/// samples held at once (wide tables and the partner check's many
/// combinations are scored in groups).
const COLUMNS_PER_PASS: usize = 32;
/// Distinct strings counted per categorical column, as a multiple of
/// `max_categories`, before further new values go to the "other" bucket.
const CATEGORY_TRACKING_FACTOR: usize = 4;
/// Regression's monotone rule needs this many ordered buckets with rows:
/// fewer could line up by chance.
const MONOTONE_MIN_BUCKETS: usize = 4;

/// Settings of the leakage check, before validation; [`ParamGuard::check`]
/// them into a [`LeakageCheck`].
///
/// Serialized with these field names (every field optional, unknown keys
/// are errors), so the settings can live in a configuration file.
///
/// ```
/// use mlrig_core::ParamGuard;
/// use mlrig_train::LeakageParams;
///
/// let params = LeakageParams::default().with_auc_threshold(0.995).with_allowed(["tips"]);
/// let json = serde_json::to_value(&params)?;
/// assert_eq!(json["auc_threshold"], 0.995);
/// assert_eq!(json["allowed"], serde_json::json!(["tips"]));
/// let read: LeakageParams = serde_json::from_str(r#"{"r2_threshold": 0.98}"#)?;
/// assert_eq!(read, LeakageParams::default().with_r2_threshold(0.98));
/// assert!(serde_json::from_str::<LeakageParams>(r#"{"auc": 0.9}"#).is_err());
/// assert!(params.check().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct LeakageParams {
    /// Binary targets: a column whose out-of-sample ROC AUC reaches this is a suspect.
    auc_threshold: f64,
    /// Multiclass targets: a column whose out-of-sample balanced accuracy reaches this is a suspect.
    balanced_accuracy_threshold: f64,
    /// Regression targets: a column whose out-of-sample R² reaches this is a suspect.
    r2_threshold: f64,
    /// Quantile bins of a numeric column with more distinct training values than this.
    bins: usize,
    /// Most frequent values of a categorical column that get their own bucket.
    max_categories: usize,
    /// Fewer evaluation rows than this and no column is judged.
    min_eval_rows: usize,
    /// A numeric column scoring at least this alone is also scored with each partner column.
    partner_floor: f64,
    /// The partner check needs at least this many evaluation rows.
    partner_min_eval_rows: usize,
    /// At most this many columns (the best scoring) get the partner check.
    max_partner_candidates: usize,
    /// Columns reported under `allowed` instead of `suspects`.
    allowed: BTreeSet<String>,
}

impl Default for LeakageParams {
    /// ROC AUC, balanced accuracy and R² thresholds 0.99; 64 bins; 256
    /// categories; 20 evaluation rows; partner check for up to 4 columns
    /// scoring ≥ 0.9 alone, on ≥ 1000 evaluation rows; nothing allowed.
    fn default() -> Self {
        Self {
            auc_threshold: AUC_THRESHOLD,
            balanced_accuracy_threshold: BALANCED_ACCURACY_THRESHOLD,
            r2_threshold: R2_THRESHOLD,
            bins: BINS,
            max_categories: MAX_CATEGORIES,
            min_eval_rows: MIN_EVAL_ROWS,
            partner_floor: PARTNER_FLOOR,
            partner_min_eval_rows: PARTNER_MIN_EVAL_ROWS,
            max_partner_candidates: MAX_PARTNER_CANDIDATES,
            allowed: BTreeSet::new(),
        }
    }
}

impl LeakageParams {
    /// ROC AUC (binary targets) at or above which a column is a suspect;
    /// in `(0.5, 1]`, default 0.99.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// assert!(LeakageParams::default().with_auc_threshold(0.5).check().is_err());
    /// ```
    pub fn with_auc_threshold(mut self, threshold: f64) -> Self {
        self.auc_threshold = threshold;
        self
    }

    /// Balanced accuracy (targets with three or more classes) at or above
    /// which a column is a suspect; in `(0, 1]`, default 0.99.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// assert!(LeakageParams::default().with_balanced_accuracy_threshold(1.5).check().is_err());
    /// ```
    pub fn with_balanced_accuracy_threshold(mut self, threshold: f64) -> Self {
        self.balanced_accuracy_threshold = threshold;
        self
    }

    /// R² (regression targets) at or above which a column is a suspect; in
    /// `(0, 1]`, default 0.99.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// assert!(LeakageParams::default().with_r2_threshold(f64::NAN).check().is_err());
    /// ```
    pub fn with_r2_threshold(mut self, threshold: f64) -> Self {
        self.r2_threshold = threshold;
        self
    }

    /// Quantile bins of a numeric column (2 to 4096, default 64). A column
    /// with at most this many distinct training values gets one bucket per
    /// value instead.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// assert!(LeakageParams::default().with_bins(1).check().is_err());
    /// ```
    pub fn with_bins(mut self, bins: usize) -> Self {
        self.bins = bins;
        self
    }

    /// Categorical values (the most frequent on the training rows) that get
    /// their own bucket; the rest share an "other" bucket. 1 to 65 536,
    /// default 256.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// assert!(LeakageParams::default().with_max_categories(0).check().is_err());
    /// ```
    pub fn with_max_categories(mut self, max_categories: usize) -> Self {
        self.max_categories = max_categories;
        self
    }

    /// Fewer evaluation rows than this (≥ 1, default 20) and columns are
    /// scored but not judged: a near-perfect score on a handful of rows is
    /// no evidence.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// assert!(LeakageParams::default().with_min_eval_rows(0).check().is_err());
    /// ```
    pub fn with_min_eval_rows(mut self, rows: usize) -> Self {
        self.min_eval_rows = rows;
        self
    }

    /// A numeric column scoring at least this alone (finite, ≤ 1, default
    /// 0.9) is scored again combined with each other numeric column (sum,
    /// difference, product, ratio), see the module docs.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// assert!(LeakageParams::default().with_partner_floor(2.0).check().is_err());
    /// ```
    pub fn with_partner_floor(mut self, floor: f64) -> Self {
        self.partner_floor = floor;
        self
    }

    /// The partner check runs only with at least this many evaluation rows
    /// (default 1000): it tries many combinations, and on small data the
    /// best of them is near-perfect by chance.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// let check = LeakageParams::default().with_partner_min_eval_rows(500).check()?;
    /// assert_eq!(check.params().partner_min_eval_rows(), 500);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_partner_min_eval_rows(mut self, rows: usize) -> Self {
        self.partner_min_eval_rows = rows;
        self
    }

    /// At most this many columns (the best scoring above the partner floor)
    /// get the partner check; default 4, 0 turns it off.
    ///
    /// ```
    /// use mlrig_core::ParamGuard;
    /// use mlrig_train::LeakageParams;
    /// let check = LeakageParams::default().with_max_partner_candidates(0).check()?;
    /// assert_eq!(check.params().max_partner_candidates(), 0);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_max_partner_candidates(mut self, candidates: usize) -> Self {
        self.max_partner_candidates = candidates;
        self
    }

    /// Columns known to be fine: a suspect among them is reported under
    /// [`LeakageReport::allowed`] instead of [`LeakageReport::suspects`].
    /// Adds to the names already allowed.
    ///
    /// ```
    /// use mlrig_train::LeakageParams;
    /// let params = LeakageParams::default().with_allowed(["tips"]).with_allowed(["fare"]);
    /// assert_eq!(params.allowed().iter().collect::<Vec<_>>(), ["fare", "tips"]);
    /// ```
    pub fn with_allowed<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.allowed.extend(columns.into_iter().map(Into::into));
        self
    }

    /// The ROC AUC threshold.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().auc_threshold(), 0.99);
    /// ```
    pub fn auc_threshold(&self) -> f64 {
        self.auc_threshold
    }

    /// The balanced-accuracy threshold.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().balanced_accuracy_threshold(), 0.99);
    /// ```
    pub fn balanced_accuracy_threshold(&self) -> f64 {
        self.balanced_accuracy_threshold
    }

    /// The R² threshold.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().r2_threshold(), 0.99);
    /// ```
    pub fn r2_threshold(&self) -> f64 {
        self.r2_threshold
    }

    /// Quantile bins per numeric column.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().bins(), 64);
    /// ```
    pub fn bins(&self) -> usize {
        self.bins
    }

    /// Categorical values with their own bucket.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().max_categories(), 256);
    /// ```
    pub fn max_categories(&self) -> usize {
        self.max_categories
    }

    /// Evaluation rows needed to judge a column.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().min_eval_rows(), 20);
    /// ```
    pub fn min_eval_rows(&self) -> usize {
        self.min_eval_rows
    }

    /// Single-column score from which a column gets the partner check.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().partner_floor(), 0.9);
    /// ```
    pub fn partner_floor(&self) -> f64 {
        self.partner_floor
    }

    /// Evaluation rows needed for the partner check.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().partner_min_eval_rows(), 1000);
    /// ```
    pub fn partner_min_eval_rows(&self) -> usize {
        self.partner_min_eval_rows
    }

    /// Columns that get the partner check at most.
    ///
    /// ```
    /// assert_eq!(mlrig_train::LeakageParams::default().max_partner_candidates(), 4);
    /// ```
    pub fn max_partner_candidates(&self) -> usize {
        self.max_partner_candidates
    }

    /// Columns allowed to be suspects.
    ///
    /// See [`LeakageParams::with_allowed`] for an example.
    pub fn allowed(&self) -> &BTreeSet<String> {
        &self.allowed
    }

    /// The threshold that applies to `metric`.
    fn threshold(&self, metric: LeakageMetric) -> f64 {
        match metric {
            LeakageMetric::RocAuc => self.auc_threshold,
            LeakageMetric::BalancedAccuracy => self.balanced_accuracy_threshold,
            LeakageMetric::R2 => self.r2_threshold,
        }
    }
}

impl ParamGuard for LeakageParams {
    type Checked = LeakageCheck;
    type Error = TrainError;

    fn check(self) -> Result<LeakageCheck> {
        let in_range = |name: &str, value: f64, low: f64, what: &str| {
            if value.is_finite() && value > low && value <= 1.0 {
                Ok(())
            } else {
                Err(TrainError::invalid_parameter(
                    name,
                    format!("must be in {what}, got {value}"),
                ))
            }
        };
        in_range("auc_threshold", self.auc_threshold, 0.5, "(0.5, 1]")?;
        in_range(
            "balanced_accuracy_threshold",
            self.balanced_accuracy_threshold,
            0.0,
            "(0, 1]",
        )?;
        in_range("r2_threshold", self.r2_threshold, 0.0, "(0, 1]")?;
        if !(self.partner_floor.is_finite() && self.partner_floor <= 1.0) {
            return Err(TrainError::invalid_parameter(
                "partner_floor",
                format!("must be finite and ≤ 1, got {}", self.partner_floor),
            ));
        }
        if !(2..=4096).contains(&self.bins) {
            return Err(TrainError::invalid_parameter(
                "bins",
                format!("must be in 2..=4096, got {}", self.bins),
            ));
        }
        if !(1..=65_536).contains(&self.max_categories) {
            return Err(TrainError::invalid_parameter(
                "max_categories",
                format!("must be in 1..=65536, got {}", self.max_categories),
            ));
        }
        if self.min_eval_rows == 0 {
            return Err(TrainError::invalid_parameter(
                "min_eval_rows",
                "must be at least 1",
            ));
        }
        Ok(LeakageCheck { params: self })
    }
}

/// Validated leakage settings; [`run`](LeakageCheck::run) them on the
/// training and evaluation rows of a data set.
///
/// ```
/// use std::sync::Arc;
/// use mlrig_core::{ParamGuard, Task};
/// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
/// use mlrig_train::LeakageParams;
///
/// // `paid` is the label's own source; `hour` is noise.
/// let rows = |range: std::ops::Range<usize>| {
///     let label: Vec<&str> = range.clone().map(|i| if i % 3 == 0 { "yes" } else { "no" }).collect();
///     let paid: Vec<f64> = range.clone().map(|i| if i % 3 == 0 { 5.0 + (i % 7) as f64 } else { 0.0 }).collect();
///     let hour: Vec<f64> = range.map(|i| ((i / 3) % 24) as f64).collect();
///     RecordBatch::try_from_iter([
///         ("paid", Arc::new(Float64Array::from(paid)) as ArrayRef),
///         ("hour", Arc::new(Float64Array::from(hour)) as ArrayRef),
///         ("label", Arc::new(StringArray::from(label)) as ArrayRef),
///     ])
/// };
/// let (train, eval) = (rows(0..400)?, rows(400..500)?);
/// let task = Task::Classification { classes: vec!["no".into(), "yes".into()] };
///
/// let check = LeakageParams::default().check()?;
/// let report = check.run(&[train.clone()], &[eval.clone()], "label", &task)?;
/// assert_eq!(report.suspects().len(), 1);
/// assert_eq!(report.suspects()[0].column, "paid");
/// assert!(report.suspects()[0].reason.contains("--allow-leakage paid"), "{}", report.suspects()[0].reason);
///
/// let report = LeakageParams::default().with_allowed(["paid"]).check()?.run(&[train], &[eval], "label", &task)?;
/// assert!(report.is_clean());
/// assert_eq!(report.allowed()[0].column, "paid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LeakageCheck {
    params: LeakageParams,
}

impl LeakageCheck {
    /// The validated settings.
    ///
    /// See [`LeakageParams::with_partner_min_eval_rows`] for an example.
    pub fn params(&self) -> &LeakageParams {
        &self.params
    }

    /// Scores every input column of `train`/`eval` (all columns but
    /// `target`) against the target: buckets and their target statistics
    /// come from the training rows, scores from the evaluation rows.
    ///
    /// Rows whose target is missing, not one of the task's classes, or not
    /// finite are ignored (counted in [`LeakageReport::ignored_rows`]).
    /// Columns are those of the first batch; a column missing from another
    /// batch or typed differently there, or of an unsupported Arrow type
    /// (nested, binary, decimal, …), is reported unchecked with the reason.
    ///
    /// Errors: the target column is missing from a batch, or its type does
    /// not suit the task (a class target needs string, boolean or integer
    /// values; a regression target numbers).
    ///
    /// See [`LeakageCheck`] for an example.
    pub fn run(
        &self,
        train: &[RecordBatch],
        eval: &[RecordBatch],
        target: &str,
        task: &Task,
    ) -> Result<LeakageReport> {
        let labels = Labels::new(task)?;
        for batch in train.iter().chain(eval) {
            labels.validate(batch, target)?;
        }
        let summary = TargetSummary::new(&labels, train, eval, target);
        let metric = labels.metric();
        let threshold = self.params.threshold(metric);
        let context = Context {
            params: &self.params,
            train,
            eval,
            target,
            labels: &labels,
            summary: &summary,
        };
        let mut notes = Vec::new();
        let columns = discover_columns(train, eval, target);
        let specs: Vec<Spec> = columns
            .iter()
            .filter_map(|c| c.checkable().map(|kind| Spec::raw(&c.name, kind)))
            .collect();
        let mut outcomes = evaluate(&context, &specs).into_iter();
        let judged = summary.eval_rows >= self.params.min_eval_rows as u64;
        let mut report_columns: Vec<ColumnLeakage> = columns
            .iter()
            .map(|c| {
                let outcome = c.checkable().and_then(|_| outcomes.next());
                ColumnLeakage::new(c, outcome, judged, &summary, &self.params)
            })
            .collect();
        if !judged {
            notes.push(format!(
                "only {} evaluation rows (fewer than min_eval_rows = {}): no column is judged",
                summary.eval_rows, self.params.min_eval_rows
            ));
        } else {
            self.check_partners(&context, threshold, &mut report_columns, &mut notes);
        }
        let mut suspects = Vec::new();
        let mut allowed = Vec::new();
        for column in &report_columns {
            if let Some(suspect) = column.suspect(metric, threshold, summary.eval_rows) {
                if self.params.allowed.contains(&column.name) {
                    allowed.push(suspect);
                } else {
                    suspects.push(suspect);
                }
            }
        }
        Ok(LeakageReport {
            target: target.to_string(),
            metric,
            threshold,
            train_rows: summary.train_rows,
            eval_rows: summary.eval_rows,
            ignored_rows: summary.ignored_rows,
            columns: report_columns,
            suspects,
            allowed,
            notes,
        })
    }

    /// Scores the best single columns again combined with every other
    /// numeric column, and records each one's best combination.
    fn check_partners(
        &self,
        context: &Context<'_>,
        threshold: f64,
        columns: &mut [ColumnLeakage],
        notes: &mut Vec<String>,
    ) {
        let params = &self.params;
        let mut candidates: Vec<usize> = (0..columns.len())
            .filter(|&i| {
                let c = &columns[i];
                c.kind == ColumnKind::Numeric
                    && c.unchecked.is_none()
                    && !c.function
                    && c.score.is_some_and(|s| s >= params.partner_floor)
                    && c.lower_bound.is_none_or(|b| b < threshold)
            })
            .collect();
        // Best first; the stable sort keeps column order among ties.
        candidates.sort_by(|&a, &b| {
            let score = |i: usize| columns[i].score.unwrap_or(f64::NEG_INFINITY);
            score(b).total_cmp(&score(a))
        });
        candidates.truncate(params.max_partner_candidates);
        if candidates.is_empty() {
            return;
        }
        if context.summary.eval_rows < params.partner_min_eval_rows as u64 {
            notes.push(format!(
                "partner check skipped: {} evaluation rows (fewer than partner_min_eval_rows = {})",
                context.summary.eval_rows, params.partner_min_eval_rows
            ));
            return;
        }
        let partners: Vec<usize> = (0..columns.len())
            .filter(|&i| columns[i].kind == ColumnKind::Numeric && columns[i].unchecked.is_none())
            .collect();
        let mut specs = Vec::new();
        let mut owners = Vec::new();
        for &candidate in &candidates {
            for &partner in partners.iter().filter(|&&p| p != candidate) {
                for operation in PairOperation::ALL {
                    specs.push(Spec::pair(
                        &columns[candidate].name,
                        &columns[partner].name,
                        operation,
                    ));
                    owners.push(candidate);
                }
            }
        }
        let outcomes = evaluate(context, &specs);
        for ((spec, outcome), owner) in specs.iter().zip(outcomes).zip(owners) {
            let Some((partner, operation)) = &spec.partner else {
                continue;
            };
            let flagged = outcome.function.is_some();
            let candidate = PartnerScore {
                column: partner.clone(),
                operation: *operation,
                score: outcome.score.map(|s| s.0),
                lower_bound: outcome.score.map(|s| s.1),
                function: flagged,
            };
            let better = match &columns[owner].partner {
                None => true,
                Some(best) => candidate.rank() > best.rank(),
            };
            if better {
                columns[owner].partner = Some(candidate);
            }
        }
    }
}

/// The score a column is judged by, chosen by the task.
///
/// ```
/// use mlrig_train::LeakageMetric;
/// assert_eq!(LeakageMetric::RocAuc.to_string(), "ROC AUC");
/// assert_eq!(serde_json::to_string(&LeakageMetric::BalancedAccuracy)?, r#""balanced_accuracy""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakageMetric {
    /// Binary targets: ROC AUC of the bucket's training positive rate.
    RocAuc,
    /// Three or more classes: balanced accuracy (mean recall over the
    /// classes present) of the bucket's most over-represented class.
    BalancedAccuracy,
    /// Regression: R² of the bucket's training mean.
    R2,
}

impl fmt::Display for LeakageMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LeakageMetric::RocAuc => "ROC AUC",
            LeakageMetric::BalancedAccuracy => "balanced accuracy",
            LeakageMetric::R2 => "R²",
        })
    }
}

/// How a column was bucketed.
///
/// ```
/// use mlrig_train::ColumnKind;
/// assert_eq!(serde_json::to_string(&ColumnKind::Categorical)?, r#""categorical""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Integers, floats, dates and timestamps: exact values or quantile bins.
    Numeric,
    /// Strings, booleans and string dictionaries: one bucket per frequent value.
    Categorical,
    /// Any other Arrow type: not checked.
    Unsupported,
}

/// How two numeric columns are combined by the partner check.
///
/// ```
/// use mlrig_train::PairOperation;
/// assert_eq!(PairOperation::Ratio.symbol(), "/");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairOperation {
    /// `a + b`
    Sum,
    /// `a − b`
    Difference,
    /// `a × b`
    Product,
    /// `a / b`
    Ratio,
}

impl PairOperation {
    const ALL: [PairOperation; 4] = [
        PairOperation::Sum,
        PairOperation::Difference,
        PairOperation::Product,
        PairOperation::Ratio,
    ];

    /// The operator as written between the column names: `+`, `-`, `*`, `/`.
    ///
    /// See [`PairOperation`] for an example.
    pub fn symbol(self) -> &'static str {
        match self {
            PairOperation::Sum => "+",
            PairOperation::Difference => "-",
            PairOperation::Product => "*",
            PairOperation::Ratio => "/",
        }
    }

    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            PairOperation::Sum => a + b,
            PairOperation::Difference => a - b,
            PairOperation::Product => a * b,
            PairOperation::Ratio => a / b,
        }
    }
}

/// A column's best combination with a partner column.
///
/// ```
/// use mlrig_train::{PairOperation, PartnerScore};
/// let p: PartnerScore = serde_json::from_str(
///     r#"{"column": "fare", "operation": "ratio", "score": 0.9999, "lower_bound": 0.9993, "function": false}"#,
/// )?;
/// assert_eq!(p.describe("tips"), "`tips` / `fare`");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartnerScore {
    /// The partner column.
    pub column: String,
    /// How the two were combined (this column first).
    pub operation: PairOperation,
    /// The combination's score on the evaluation rows (same metric as the report).
    pub score: Option<f64>,
    /// The score's one-sided 95 % lower confidence bound, what the threshold is applied to.
    pub lower_bound: Option<f64>,
    /// The target is a function of the combination on every row.
    pub function: bool,
}

impl PartnerScore {
    /// `` `column` op `partner` ``, for messages.
    ///
    /// See [`PartnerScore`] for an example.
    pub fn describe(&self, column: &str) -> String {
        format!("`{column}` {} `{}`", self.operation.symbol(), self.column)
    }

    /// Orders combinations: a function beats any score, then higher
    /// lower bounds, then higher scores.
    fn rank(&self) -> (bool, f64, f64) {
        let value = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
        (self.function, value(self.lower_bound), value(self.score))
    }
}

/// One input column's result.
///
/// ```
/// # use mlrig_train::{ColumnKind, ColumnLeakage};
/// // see `LeakageReport` for a complete example
/// fn describe(c: &ColumnLeakage) -> String {
///     format!("{}: {:?} over {} buckets", c.name, c.score, c.buckets)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ColumnLeakage {
    /// The column name.
    pub name: String,
    /// How it was bucketed.
    pub kind: ColumnKind,
    /// Buckets holding training rows.
    pub buckets: usize,
    /// The column's score alone on the evaluation rows ([`LeakageReport::metric`]);
    /// `None` when undefined (e.g. the evaluation rows hold one class).
    pub score: Option<f64>,
    /// The score's one-sided 95 % lower confidence bound, what the threshold
    /// is applied to (see the module docs).
    pub lower_bound: Option<f64>,
    /// The target is a function of this column on every training and
    /// evaluation row (a copy or re-coding of the target).
    pub function: bool,
    /// The best combination with a partner column, when the partner check ran.
    pub partner: Option<PartnerScore>,
    /// Why the column was not judged (unsupported type, too few rows, …).
    pub unchecked: Option<String>,
}

impl ColumnLeakage {
    fn new(
        column: &ColumnInfo,
        outcome: Option<Outcome>,
        judged: bool,
        summary: &TargetSummary,
        params: &LeakageParams,
    ) -> Self {
        let mut result = ColumnLeakage {
            name: column.name.clone(),
            kind: column.kind.map_or(ColumnKind::Unsupported, Kind::public),
            buckets: 0,
            score: None,
            lower_bound: None,
            function: false,
            partner: None,
            unchecked: column.unchecked.clone(),
        };
        let Some(outcome) = outcome else {
            return result;
        };
        result.buckets = outcome.buckets;
        result.score = outcome.score.map(|s| s.0);
        result.lower_bound = outcome.score.map(|s| s.1);
        result.function = outcome.function.is_some();
        if result.unchecked.is_none() {
            result.unchecked = if summary.train_rows == 0 {
                Some("no training rows with a target".into())
            } else if !judged {
                Some(format!(
                    "only {} evaluation rows (fewer than min_eval_rows = {})",
                    summary.eval_rows, params.min_eval_rows
                ))
            } else {
                None
            };
        }
        if result.unchecked.is_some() {
            result.function = false;
        }
        result
    }

    /// This column as a suspect, if it is one.
    fn suspect(&self, metric: LeakageMetric, threshold: f64, eval_rows: u64) -> Option<Suspect> {
        if self.unchecked.is_some() {
            return None;
        }
        let name = &self.name;
        let advice = format!(
            "drop it, or allow it: --allow-leakage {name} (mlrig train), `allowed = [\"{name}\"]` under [gates.leakage] (mlrig.toml)"
        );
        if self.function {
            return Some(Suspect {
                column: name.clone(),
                rule: LeakageRule::Function,
                score: self.score,
                reason: format!(
                    "the target is a function of `{name}` on every training and evaluation row \
                     ({} buckets): `{name}` is a copy, a re-coding or a monotone transform of the \
                     target; {advice}",
                    self.buckets
                ),
            });
        }
        let alone = self.score.map_or("undefined".into(), |s| format!("{s:.4}"));
        if let (Some(score), Some(bound)) = (self.score, self.lower_bound)
            && bound >= threshold
        {
            return Some(Suspect {
                column: name.clone(),
                rule: LeakageRule::Score,
                score: Some(score),
                reason: format!(
                    "`{name}` alone reaches {metric} {score:.4} on the {eval_rows} evaluation \
                     rows (95 % lower bound {bound:.4} ≥ threshold {threshold}): it is likely \
                     derived from the target; {advice}"
                ),
            });
        }
        let partner = self.partner.as_ref()?;
        let combined = partner.describe(name);
        if partner.function {
            return Some(Suspect {
                column: name.clone(),
                rule: LeakageRule::Partner,
                score: partner.score,
                reason: format!(
                    "the target is a function of {combined} on every training and evaluation row \
                     (`{name}` alone: {metric} {alone}): the target is likely computed from \
                     `{name}`; {advice}"
                ),
            });
        }
        let (score, bound) = (partner.score?, partner.lower_bound?);
        (bound >= threshold).then(|| Suspect {
            column: name.clone(),
            rule: LeakageRule::Partner,
            score: Some(score),
            reason: format!(
                "{combined} reaches {metric} {score:.4} on the {eval_rows} evaluation rows \
                 (95 % lower bound {bound:.4} ≥ threshold {threshold}; `{name}` alone {alone}): \
                 the target is likely computed from `{name}`; {advice}"
            ),
        })
    }
}

/// Which rule made a column a suspect.
///
/// ```
/// use mlrig_train::LeakageRule;
/// assert_eq!(serde_json::to_string(&LeakageRule::Partner)?, r#""partner""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakageRule {
    /// The target is a function of the column on every row.
    Function,
    /// The column alone scores at least the threshold (its lower bound does).
    Score,
    /// The column combined with a partner column scores at least the
    /// threshold (its lower bound does), or determines the target.
    Partner,
}

/// A column that likely leaks the target.
///
/// ```
/// use mlrig_train::{LeakageRule, Suspect};
/// let s: Suspect = serde_json::from_str(
///     r#"{"column": "tips", "rule": "partner", "score": 0.9999, "reason": "…"}"#,
/// )?;
/// assert_eq!((s.column.as_str(), s.rule), ("tips", LeakageRule::Partner));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Suspect {
    /// The column.
    pub column: String,
    /// The rule that fired.
    pub rule: LeakageRule,
    /// The score that fired ([`LeakageReport::metric`]); for the function
    /// rule the column's single score, if defined.
    pub score: Option<f64>,
    /// One sentence for the user: what was measured and what to do.
    pub reason: String,
}

/// The result of a leakage check: every column's score and the suspects.
///
/// ```
/// use std::sync::Arc;
/// use mlrig_core::{ParamGuard, Task};
/// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
/// use mlrig_train::{LeakageMetric, LeakageParams, LeakageRule};
///
/// // y = 3·x exactly; z is noise.
/// let batch = |offset: usize| {
///     let x: Vec<f64> = (offset..offset + 200).map(|i| (i * 37 % 1000) as f64).collect();
///     let z: Vec<f64> = (offset..offset + 200).map(|i| (i * 7919 % 113) as f64).collect();
///     let y: Vec<f64> = x.iter().map(|v| 3.0 * v).collect();
///     RecordBatch::try_from_iter([
///         ("x", Arc::new(Float64Array::from(x)) as ArrayRef),
///         ("z", Arc::new(Float64Array::from(z)) as ArrayRef),
///         ("y", Arc::new(Float64Array::from(y)) as ArrayRef),
///     ])
/// };
/// let report = LeakageParams::default().check()?.run(&[batch(0)?, batch(200)?], &[batch(400)?], "y", &Task::Regression)?;
/// assert_eq!(report.metric(), LeakageMetric::R2);
/// assert_eq!((report.train_rows(), report.eval_rows(), report.ignored_rows()), (400, 200, 0));
/// assert_eq!(report.columns().len(), 2);
/// assert!(report.columns()[0].score.unwrap() > 0.99);
/// assert!(report.columns()[1].score.unwrap() < 0.5);
/// assert_eq!(report.suspects()[0].rule, LeakageRule::Function); // y rises with x, no overlap
/// assert_eq!(report.suspects().len(), 1);
/// assert!(report.notes().is_empty());
/// assert_eq!(report.target(), "y");
/// assert_eq!(report.threshold(), 0.99);
/// assert!(!report.is_clean());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakageReport {
    target: String,
    metric: LeakageMetric,
    threshold: f64,
    train_rows: u64,
    eval_rows: u64,
    ignored_rows: u64,
    columns: Vec<ColumnLeakage>,
    suspects: Vec<Suspect>,
    allowed: Vec<Suspect>,
    notes: Vec<String>,
}

impl LeakageReport {
    /// The target column.
    ///
    /// See [`LeakageReport`] for an example.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The metric columns were scored with.
    ///
    /// See [`LeakageReport`] for an example.
    pub fn metric(&self) -> LeakageMetric {
        self.metric
    }

    /// The threshold of that metric.
    ///
    /// See [`LeakageReport`] for an example.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Training rows with a usable target.
    ///
    /// See [`LeakageReport`] for an example.
    pub fn train_rows(&self) -> u64 {
        self.train_rows
    }

    /// Evaluation rows with a usable target (the rows scores are computed on).
    ///
    /// See [`LeakageReport`] for an example.
    pub fn eval_rows(&self) -> u64 {
        self.eval_rows
    }

    /// Rows ignored because their target is missing, not finite or not one
    /// of the task's classes.
    ///
    /// See [`LeakageReport`] for an example.
    pub fn ignored_rows(&self) -> u64 {
        self.ignored_rows
    }

    /// Every input column, in schema order.
    ///
    /// See [`LeakageReport`] for an example.
    pub fn columns(&self) -> &[ColumnLeakage] {
        &self.columns
    }

    /// Columns that likely leak the target and are not allowed, in schema order.
    ///
    /// See [`LeakageReport`] for an example.
    pub fn suspects(&self) -> &[Suspect] {
        &self.suspects
    }

    /// Suspects named in [`LeakageParams::with_allowed`].
    ///
    /// See [`LeakageCheck`] for an example.
    pub fn allowed(&self) -> &[Suspect] {
        &self.allowed
    }

    /// Checks that could not run (too few rows for a rule), one sentence each.
    ///
    /// See [`LeakageReport`] for an example.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// `true` when there are no suspects (allowed ones do not count).
    ///
    /// See [`LeakageReport`] for an example.
    pub fn is_clean(&self) -> bool {
        self.suspects.is_empty()
    }
}

// ---------------------------------------------------------------------------
// Reading Arrow columns.

/// A column's kind as read from Arrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Numeric,
    Text,
}

impl Kind {
    fn of(data_type: &DataType) -> Option<Kind> {
        match data_type {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(_, _) => Some(Kind::Numeric),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean => {
                Some(Kind::Text)
            }
            DataType::Dictionary(_, values)
                if matches!(
                    values.as_ref(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                Some(Kind::Text)
            }
            _ => None,
        }
    }

    fn public(self) -> ColumnKind {
        match self {
            Kind::Numeric => ColumnKind::Numeric,
            Kind::Text => ColumnKind::Categorical,
        }
    }
}

fn primitive<T: ArrowPrimitiveType>(
    array: &dyn Array,
    to_f64: impl Fn(T::Native) -> f64,
) -> Option<Vec<f64>> {
    let typed: &PrimitiveArray<T> = array.as_primitive_opt::<T>()?;
    Some(typed.iter().map(|v| v.map_or(f64::NAN, &to_f64)).collect())
}

/// The values of a numeric column as `f64`, NaN for null.
fn numbers(array: &dyn Array) -> Option<Vec<f64>> {
    match array.data_type() {
        DataType::Float64 => primitive::<Float64Type>(array, |v| v),
        DataType::Float32 => primitive::<Float32Type>(array, f64::from),
        DataType::Float16 => primitive::<Float16Type>(array, |v| v.to_f64()),
        DataType::Int8 => primitive::<Int8Type>(array, f64::from),
        DataType::Int16 => primitive::<Int16Type>(array, f64::from),
        DataType::Int32 => primitive::<Int32Type>(array, f64::from),
        DataType::Int64 => primitive::<Int64Type>(array, |v| v as f64),
        DataType::UInt8 => primitive::<UInt8Type>(array, f64::from),
        DataType::UInt16 => primitive::<UInt16Type>(array, f64::from),
        DataType::UInt32 => primitive::<UInt32Type>(array, f64::from),
        DataType::UInt64 => primitive::<UInt64Type>(array, |v| v as f64),
        DataType::Date32 => primitive::<Date32Type>(array, f64::from),
        DataType::Date64 => primitive::<Date64Type>(array, |v| v as f64),
        DataType::Timestamp(TimeUnit::Second, _) => {
            primitive::<TimestampSecondType>(array, |v| v as f64)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            primitive::<TimestampMillisecondType>(array, |v| v as f64)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive::<TimestampMicrosecondType>(array, |v| v as f64)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            primitive::<TimestampNanosecondType>(array, |v| v as f64)
        }
        _ => None,
    }
}

/// The values of a categorical column as text, `None` for null.
fn texts(array: &dyn Array) -> Option<Vec<Option<&str>>> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string_opt::<i32>()?.iter().collect()),
        DataType::LargeUtf8 => Some(array.as_string_opt::<i64>()?.iter().collect()),
        DataType::Utf8View => Some(array.as_string_view_opt()?.iter().collect()),
        DataType::Boolean => Some(
            array
                .as_boolean_opt()?
                .iter()
                .map(|v| v.map(|b| if b { "true" } else { "false" }))
                .collect(),
        ),
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary_opt()?;
            let values = texts(dictionary.values().as_ref())?;
            if values.is_empty() {
                return Some(vec![None; array.len()]);
            }
            let keys = dictionary.normalized_keys();
            Some(
                keys.iter()
                    .enumerate()
                    .map(|(row, &key)| {
                        if array.is_valid(row) {
                            values.get(key).copied().flatten()
                        } else {
                            None
                        }
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

fn integers<T: ArrowPrimitiveType>(array: &dyn Array) -> Option<Vec<Option<i128>>>
where
    T::Native: Into<i128>,
{
    let typed: &PrimitiveArray<T> = array.as_primitive_opt::<T>()?;
    Some(typed.iter().map(|v| v.map(Into::into)).collect())
}

/// The values of an integer column, `None` for null.
fn integer_values(array: &dyn Array) -> Option<Vec<Option<i128>>> {
    match array.data_type() {
        DataType::Int8 => integers::<Int8Type>(array),
        DataType::Int16 => integers::<Int16Type>(array),
        DataType::Int32 => integers::<Int32Type>(array),
        DataType::Int64 => integers::<Int64Type>(array),
        DataType::UInt8 => integers::<UInt8Type>(array),
        DataType::UInt16 => integers::<UInt16Type>(array),
        DataType::UInt32 => integers::<UInt32Type>(array),
        DataType::UInt64 => integers::<UInt64Type>(array),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The target.

/// Class index of a row whose target is unusable.
const NO_CLASS: u32 = u32::MAX;

/// How target values become class indices or numbers.
enum Labels {
    Classes {
        count: usize,
        by_text: BTreeMap<String, u32>,
        by_integer: BTreeMap<i128, u32>,
    },
    Regression,
}

/// One batch's target: a class index (`NO_CLASS` when unusable) or a
/// number (NaN when unusable) per row.
enum Decoded {
    Classes(Vec<u32>),
    Values(Vec<f64>),
}

impl Labels {
    fn new(task: &Task) -> Result<Self> {
        Ok(match task {
            Task::Regression => Labels::Regression,
            Task::Classification { classes } => {
                let mut by_text = BTreeMap::new();
                let mut by_integer = BTreeMap::new();
                for (index, class) in classes.iter().enumerate().take(NO_CLASS as usize) {
                    let index = index as u32;
                    by_text.entry(class.clone()).or_insert(index);
                    if let Ok(value) = class.parse::<i128>() {
                        by_integer.entry(value).or_insert(index);
                    }
                }
                Labels::Classes {
                    count: classes.len().min(NO_CLASS as usize),
                    by_text,
                    by_integer,
                }
            }
            other => {
                return Err(TrainError::invalid_parameter(
                    "task",
                    format!(
                        "the leakage check supports regression and classification, not {other:?}"
                    ),
                ));
            }
        })
    }

    fn metric(&self) -> LeakageMetric {
        match self {
            Labels::Classes { count, .. } if *count > 2 => LeakageMetric::BalancedAccuracy,
            Labels::Classes { .. } => LeakageMetric::RocAuc,
            Labels::Regression => LeakageMetric::R2,
        }
    }

    fn validate(&self, batch: &RecordBatch, target: &str) -> Result<()> {
        let column = batch
            .column_by_name(target)
            .ok_or_else(|| TrainError::MissingColumn {
                column: target.into(),
                available: mlrig_core::column_list(batch.schema_ref()),
            })?;
        let data_type = column.data_type();
        let fits = match self {
            Labels::Classes { .. } => {
                Kind::of(data_type) == Some(Kind::Text) || data_type.is_integer()
            }
            Labels::Regression => Kind::of(data_type) == Some(Kind::Numeric),
        };
        if fits {
            Ok(())
        } else {
            Err(TrainError::UnsupportedColumnType {
                column: target.into(),
                expected: match self {
                    Labels::Classes { .. } => {
                        "a class column (string, boolean, string dictionary or integer)".into()
                    }
                    Labels::Regression => {
                        "a numeric column (integer, float, date, timestamp)".into()
                    }
                },
                found: data_type.to_string(),
            })
        }
    }

    /// The target of `batch` (validated beforehand; an unreadable batch
    /// decodes as all unusable).
    fn decode(&self, batch: &RecordBatch, target: &str) -> Decoded {
        let rows = batch.num_rows();
        let Some(column) = batch.column_by_name(target) else {
            return match self {
                Labels::Classes { .. } => Decoded::Classes(vec![NO_CLASS; rows]),
                Labels::Regression => Decoded::Values(vec![f64::NAN; rows]),
            };
        };
        match self {
            Labels::Classes {
                by_text,
                by_integer,
                ..
            } => {
                let classes = if let Some(values) = integer_values(column.as_ref()) {
                    values
                        .iter()
                        .map(|v| {
                            v.and_then(|v| by_integer.get(&v).copied())
                                .unwrap_or(NO_CLASS)
                        })
                        .collect()
                } else if let Some(values) = texts(column.as_ref()) {
                    values
                        .iter()
                        .map(|v| v.and_then(|v| by_text.get(v).copied()).unwrap_or(NO_CLASS))
                        .collect()
                } else {
                    vec![NO_CLASS; rows]
                };
                Decoded::Classes(classes)
            }
            Labels::Regression => {
                let mut values = numbers(column.as_ref()).unwrap_or_else(|| vec![f64::NAN; rows]);
                for v in &mut values {
                    if !v.is_finite() {
                        *v = f64::NAN;
                    }
                }
                Decoded::Values(values)
            }
        }
    }
}

/// Target facts shared by every column: usable rows, class counts, the
/// evaluation rows' total sum of squares.
struct TargetSummary {
    train_rows: u64,
    eval_rows: u64,
    ignored_rows: u64,
    /// Training rows per class (classification).
    train_classes: Vec<u64>,
    /// Mean of the training targets (regression).
    train_mean: f64,
    /// `Σ (y − ȳ)²` over the evaluation rows (regression).
    eval_total_squares: f64,
}

impl TargetSummary {
    fn new(labels: &Labels, train: &[RecordBatch], eval: &[RecordBatch], target: &str) -> Self {
        let mut summary = TargetSummary {
            train_rows: 0,
            eval_rows: 0,
            ignored_rows: 0,
            train_classes: match labels {
                Labels::Classes { count, .. } => vec![0; *count],
                Labels::Regression => Vec::new(),
            },
            train_mean: 0.0,
            eval_total_squares: 0.0,
        };
        let mut train_sum = ExactSum::default();
        let mut eval_sum = ExactSum::default();
        let mut count = |batches: &[RecordBatch], is_train: bool, sum: &mut ExactSum| {
            for batch in batches {
                match labels.decode(batch, target) {
                    Decoded::Classes(classes) => {
                        for &class in &classes {
                            if class == NO_CLASS {
                                summary.ignored_rows += 1;
                            } else if is_train {
                                summary.train_rows += 1;
                                summary.train_classes[class as usize] += 1;
                            } else {
                                summary.eval_rows += 1;
                            }
                        }
                    }
                    Decoded::Values(values) => {
                        for &v in &values {
                            if v.is_nan() {
                                summary.ignored_rows += 1;
                                continue;
                            }
                            if is_train {
                                summary.train_rows += 1;
                            } else {
                                summary.eval_rows += 1;
                            }
                            sum.add(v);
                        }
                    }
                }
            }
        };
        count(train, true, &mut train_sum);
        count(eval, false, &mut eval_sum);
        if let Labels::Regression = labels {
            if summary.train_rows > 0 {
                summary.train_mean = train_sum.value() / summary.train_rows as f64;
            }
            if summary.eval_rows > 0 {
                let mean = eval_sum.value() / summary.eval_rows as f64;
                let mut squares = ExactSum::default();
                for batch in eval {
                    if let Decoded::Values(values) = labels.decode(batch, target) {
                        for v in values.into_iter().filter(|v| !v.is_nan()) {
                            squares.add((v - mean) * (v - mean));
                        }
                    }
                }
                summary.eval_total_squares = squares.value();
            }
        }
        summary
    }

    /// The training share of each class (its prior).
    fn priors(&self) -> Vec<f64> {
        let total = self.train_rows.max(1) as f64;
        self.train_classes
            .iter()
            .map(|&n| n as f64 / total)
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Columns and what is scored.

/// A column of the first batch and whether it can be checked.
struct ColumnInfo {
    name: String,
    kind: Option<Kind>,
    unchecked: Option<String>,
}

impl ColumnInfo {
    /// The kind, when the column can be checked.
    fn checkable(&self) -> Option<Kind> {
        self.kind.filter(|_| self.unchecked.is_none())
    }
}

/// The input columns (all but the target) of the first batch, each with
/// its kind, or the reason it cannot be checked.
fn discover_columns(train: &[RecordBatch], eval: &[RecordBatch], target: &str) -> Vec<ColumnInfo> {
    let mut batches = train.iter().chain(eval);
    let Some(first) = batches.next() else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    first
        .schema_ref()
        .fields()
        .iter()
        .filter(|field| field.name() != target)
        .map(|field| {
            let name = field.name().clone();
            let data_type = field.data_type();
            let mut info = ColumnInfo {
                name: name.clone(),
                kind: Kind::of(data_type),
                unchecked: None,
            };
            if !seen.insert(name.clone()) {
                info.unchecked = Some("duplicate column name: only the first is checked".into());
            } else if info.kind.is_none() {
                info.unchecked = Some(format!(
                    "unsupported Arrow type {data_type} (not a number, date, string or boolean)"
                ));
            } else {
                let other =
                    train.iter().chain(eval).enumerate().find_map(|(i, batch)| {
                        match batch.column_by_name(&name) {
                            None => Some(format!("missing from batch {i}")),
                            Some(c) if c.data_type() != data_type => Some(format!(
                                "Arrow type {} in batch {i} differs from {data_type}",
                                c.data_type()
                            )),
                            Some(_) => None,
                        }
                    });
                info.unchecked = other;
            }
            info
        })
        .collect()
}

/// A column to score: a raw input column, or a numeric column combined
/// with a partner.
struct Spec {
    column: String,
    kind: Kind,
    partner: Option<(String, PairOperation)>,
}

/// One batch's values of a [`Spec`].
enum Values<'a> {
    Numbers(Vec<f64>),
    Texts(Vec<Option<&'a str>>),
}

impl Spec {
    fn raw(column: &str, kind: Kind) -> Self {
        Spec {
            column: column.to_string(),
            kind,
            partner: None,
        }
    }

    fn pair(column: &str, partner: &str, operation: PairOperation) -> Self {
        Spec {
            column: column.to_string(),
            kind: Kind::Numeric,
            partner: Some((partner.to_string(), operation)),
        }
    }

    /// The values in `batch`; `None` if the column cannot be read (checked
    /// beforehand by `discover_columns`).
    fn values<'b>(&self, batch: &'b RecordBatch) -> Option<Values<'b>> {
        let array = batch.column_by_name(&self.column)?;
        match (self.kind, &self.partner) {
            (Kind::Text, _) => texts(array.as_ref()).map(Values::Texts),
            (Kind::Numeric, None) => numbers(array.as_ref()).map(Values::Numbers),
            (Kind::Numeric, Some((partner, operation))) => {
                let mut left = numbers(array.as_ref())?;
                let right = numbers(batch.column_by_name(partner)?.as_ref())?;
                for (a, &b) in left.iter_mut().zip(&right) {
                    *a = operation.apply(*a, b);
                }
                Some(Values::Numbers(left))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Buckets.

/// Maps values to bucket ids. Numeric ids follow value order (the
/// monotone rule relies on it); the last id is the missing bucket.
#[derive(Debug, Clone, PartialEq)]
enum Buckets {
    /// Interval `i` (values above edge `i − 1`, up to edge `i`) is id `2i`;
    /// a heavy edge (one holding at least a bin's share of the rows) is a
    /// bucket of its own, id `2i + 1`, so that a column that is mostly
    /// zeros keeps its zeros apart. With few distinct training values the
    /// edges are those values, all heavy: one bucket per value, and an
    /// unseen value falls in the interval between its neighbours.
    Numeric { edges: Vec<f64>, heavy: Vec<bool> },
    /// One bucket per kept value (sorted); then "other", then missing.
    Text(Vec<String>),
}

impl Buckets {
    /// Number of bucket ids, missing included.
    fn len(&self) -> usize {
        match self {
            Buckets::Numeric { edges, .. } => 2 * edges.len() + 2,
            Buckets::Text(values) => values.len() + 2,
        }
    }

    fn missing(&self) -> usize {
        self.len() - 1
    }

    /// Ids in value order (numeric buckets only; missing excluded).
    fn ordered(&self) -> Option<std::ops::Range<usize>> {
        match self {
            Buckets::Numeric { edges, .. } => Some(0..2 * edges.len() + 1),
            Buckets::Text(_) => None,
        }
    }

    fn of_number(&self, value: f64) -> usize {
        match self {
            Buckets::Numeric { edges, heavy } if !value.is_nan() => {
                let value = value + 0.0; // −0.0 and 0.0 are one value
                let i = edges.partition_point(|&e| e < value);
                if i < edges.len() && edges[i] == value && heavy[i] {
                    2 * i + 1
                } else {
                    2 * i
                }
            }
            _ => self.missing(),
        }
    }

    fn of_text(&self, value: Option<&str>) -> usize {
        match (self, value) {
            (Buckets::Text(values), Some(v)) => values
                .binary_search_by(|k| k.as_str().cmp(v))
                .unwrap_or(values.len()),
            _ => self.missing(),
        }
    }

    fn ids(&self, values: &Values<'_>) -> Vec<usize> {
        match values {
            Values::Numbers(v) => v.iter().map(|&x| self.of_number(x)).collect(),
            Values::Texts(v) => v.iter().map(|&x| self.of_text(x)).collect(),
        }
    }
}

/// What one pass over the training rows learns to place buckets.
enum Collector {
    Numeric {
        /// Distinct values (sorted) while there are at most `bins`.
        distinct: Vec<f64>,
        overflow: bool,
        /// Every `stride`-th training row's value (by global row number).
        sample: Vec<f64>,
    },
    Text {
        counts: BTreeMap<String, u64>,
    },
}

impl Collector {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Numeric => Collector::Numeric {
                distinct: Vec::new(),
                overflow: false,
                sample: Vec::new(),
            },
            Kind::Text => Collector::Text {
                counts: BTreeMap::new(),
            },
        }
    }

    fn observe(
        &mut self,
        values: &Values<'_>,
        first_row: u64,
        stride: u64,
        params: &LeakageParams,
    ) {
        match (self, values) {
            (
                Collector::Numeric {
                    distinct,
                    overflow,
                    sample,
                },
                Values::Numbers(values),
            ) => {
                for (row, &value) in (first_row..).zip(values) {
                    if value.is_nan() {
                        continue;
                    }
                    let value = value + 0.0;
                    if row % stride == 0 {
                        sample.push(value);
                    }
                    if *overflow {
                        continue;
                    }
                    if let Err(at) = distinct.binary_search_by(|v| v.total_cmp(&value)) {
                        if distinct.len() == params.bins {
                            *overflow = true;
                        } else {
                            distinct.insert(at, value);
                        }
                    }
                }
            }
            (Collector::Text { counts }, Values::Texts(values)) => {
                let cap = params
                    .max_categories
                    .saturating_mul(CATEGORY_TRACKING_FACTOR);
                for value in values.iter().flatten() {
                    if let Some(n) = counts.get_mut(*value) {
                        *n += 1;
                    } else if counts.len() < cap {
                        counts.insert((*value).to_string(), 1);
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(self, params: &LeakageParams) -> Buckets {
        match self {
            Collector::Numeric {
                distinct,
                overflow,
                mut sample,
            } => {
                if !overflow {
                    let heavy = vec![true; distinct.len()];
                    return Buckets::Numeric {
                        edges: distinct,
                        heavy,
                    };
                }
                if sample.is_empty() {
                    sample = distinct;
                }
                sample.sort_by(f64::total_cmp);
                quantile_buckets(&sample, params.bins)
            }
            Collector::Text { counts } => {
                let mut by_count: Vec<(String, u64)> = counts.into_iter().collect();
                // Most frequent first; the stable sort keeps value order among ties.
                by_count.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
                by_count.truncate(params.max_categories);
                let mut kept: Vec<String> = by_count.into_iter().map(|(v, _)| v).collect();
                kept.sort();
                Buckets::Text(kept)
            }
        }
    }
}

/// Quantile bins of a sorted, non-empty sample: edges at the `k / bins`
/// order statistics (observed values), duplicates merged; an edge holding at
/// least one bin's share of the sample is heavy.
fn quantile_buckets(sorted: &[f64], bins: usize) -> Buckets {
    let m = sorted.len();
    let mut edges: Vec<f64> = (1..bins)
        .filter_map(|k| sorted.get((k * m / bins).min(m.saturating_sub(1))).copied())
        .collect();
    edges.dedup();
    let share = m.div_ceil(bins).max(2);
    let heavy = edges
        .iter()
        .map(|&e| {
            let low = sorted.partition_point(|&v| v < e);
            let high = sorted.partition_point(|&v| v <= e);
            high - low >= share
        })
        .collect();
    Buckets::Numeric { edges, heavy }
}

// ---------------------------------------------------------------------------
// Per-bucket target statistics and scores.

/// Target statistics of one numeric bucket.
#[derive(Debug, Clone)]
struct Moments {
    rows: u64,
    sum: ExactSum,
    min: f64,
    max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            rows: 0,
            sum: ExactSum::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    fn add(&mut self, y: f64) {
        self.rows += 1;
        self.sum.add(y);
        self.min = self.min.min(y);
        self.max = self.max.max(y);
    }
}

/// Per-bucket statistics of one column.
enum Table {
    Classes {
        classes: usize,
        /// `train[b · classes + k]`: training rows of class `k` in bucket `b`.
        train: Vec<u64>,
        eval: Vec<u64>,
    },
    Values {
        train: Vec<Moments>,
        eval: Vec<Moments>,
        /// Each bucket's prediction, set between the passes.
        means: Vec<f64>,
        residual_squares: Box<ExactSum>,
    },
}

impl Table {
    fn new(buckets: usize, labels: &Labels) -> Self {
        match labels {
            Labels::Classes { count, .. } => Table::Classes {
                classes: *count,
                train: vec![0; buckets * count],
                eval: vec![0; buckets * count],
            },
            Labels::Regression => Table::Values {
                train: vec![Moments::default(); buckets],
                eval: vec![Moments::default(); buckets],
                means: Vec::new(),
                residual_squares: Box::default(),
            },
        }
    }

    fn add(&mut self, ids: &[usize], target: &Decoded, is_train: bool) {
        match (self, target) {
            (
                Table::Classes {
                    classes,
                    train,
                    eval,
                },
                Decoded::Classes(y),
            ) => {
                let table = if is_train { train } else { eval };
                for (&b, &k) in ids.iter().zip(y) {
                    if k == NO_CLASS {
                        continue;
                    }
                    if let Some(cell) = table.get_mut(b * *classes + k as usize) {
                        *cell += 1;
                    }
                }
            }
            (
                Table::Values {
                    train,
                    eval,
                    means,
                    residual_squares,
                },
                Decoded::Values(y),
            ) => {
                for (&b, &v) in ids.iter().zip(y) {
                    if v.is_nan() {
                        continue;
                    }
                    if is_train {
                        if let Some(m) = train.get_mut(b) {
                            m.add(v);
                        }
                    } else {
                        if let Some(m) = eval.get_mut(b) {
                            m.rows += 1;
                            m.min = m.min.min(v);
                            m.max = m.max.max(v);
                        }
                        if let Some(&mean) = means.get(b) {
                            residual_squares.add((v - mean) * (v - mean));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Fixes each bucket's prediction from the training rows: its mean, or
    /// the training mean when it has no training rows.
    fn prepare(&mut self, summary: &TargetSummary) {
        if let Table::Values { train, means, .. } = self {
            *means = train
                .iter()
                .map(|m| match m.rows {
                    0 => summary.train_mean,
                    rows => m.sum.value() / rows as f64,
                })
                .collect();
        }
    }

    fn finish(self, buckets: &Buckets, summary: &TargetSummary) -> Outcome {
        match self {
            Table::Classes {
                classes,
                train,
                eval,
            } => classes_outcome(classes, &train, &eval, buckets, summary),
            Table::Values {
                train,
                eval,
                residual_squares,
                ..
            } => values_outcome(&train, &eval, &residual_squares, buckets, summary),
        }
    }
}

/// Why the target is a function of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    /// Every bucket holds one class (or one target value).
    Recoding,
    /// The target's range in each bucket lies above (or below) the previous
    /// bucket's, over the ordered buckets.
    Monotone,
}

/// A column's scores.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    buckets: usize,
    /// The score and its one-sided 95 % lower confidence bound.
    score: Option<(f64, f64)>,
    function: Option<Function>,
}

/// z of a one-sided 95 % normal bound.
const Z_95: f64 = 1.644_853_626_951_472_2;

/// `value − z · √variance`, the normal-approximation lower bound.
fn lower_bound(value: f64, variance: f64) -> f64 {
    value - Z_95 * variance.max(0.0).sqrt()
}

fn classes_outcome(
    classes: usize,
    train: &[u64],
    eval: &[u64],
    buckets: &Buckets,
    summary: &TargetSummary,
) -> Outcome {
    fn rows(table: &[u64], b: usize, classes: usize) -> &[u64] {
        table.get(b * classes..(b + 1) * classes).unwrap_or(&[])
    }
    let count = buckets.len();
    let occupied = (0..count)
        .filter(|&b| rows(train, b, classes).iter().any(|&n| n > 0))
        .count();
    let score = if classes == 2 {
        binary_auc(train, eval, count, summary)
    } else {
        balanced_accuracy(classes, train, eval, count, summary)
    };
    // Recoding: each bucket holds one class on train and eval rows, every
    // eval row falls where training rows are, and two classes occur.
    let mut seen_classes = BTreeSet::new();
    let mut recoding = summary.eval_rows > 0;
    for b in 0..count {
        let (t, e) = (rows(train, b, classes), rows(eval, b, classes));
        let present: Vec<usize> = (0..classes)
            .filter(|&k| t.get(k).copied().unwrap_or(0) + e.get(k).copied().unwrap_or(0) > 0)
            .collect();
        let train_rows: u64 = t.iter().sum();
        let eval_rows: u64 = e.iter().sum();
        if present.len() > 1 || (eval_rows > 0 && train_rows == 0) {
            recoding = false;
            break;
        }
        seen_classes.extend(present);
    }
    Outcome {
        buckets: occupied,
        score,
        function: (recoding && seen_classes.len() > 1).then_some(Function::Recoding),
    }
}

/// ROC AUC on the evaluation rows of each bucket's smoothed training
/// positive rate (class 1 is positive).
fn binary_auc(
    train: &[u64],
    eval: &[u64],
    buckets: usize,
    summary: &TargetSummary,
) -> Option<(f64, f64)> {
    let prior = summary.priors().get(1).copied().unwrap_or(0.0);
    let cells: Vec<(f64, u64, u64)> = (0..buckets)
        .map(|b| {
            let negatives = train.get(2 * b).copied().unwrap_or(0);
            let positives = train.get(2 * b + 1).copied().unwrap_or(0);
            let rate = match positives + negatives {
                0 => prior,
                rows => positives as f64 / rows as f64,
            };
            (
                rate,
                eval.get(2 * b + 1).copied().unwrap_or(0),
                eval.get(2 * b).copied().unwrap_or(0),
            )
        })
        .collect();
    let positives: u64 = cells.iter().map(|c| c.1).sum();
    let negatives: u64 = cells.iter().map(|c| c.2).sum();
    let auc = auc_from_counts(cells)?;
    Some((
        auc,
        lower_bound(auc, auc_variance(auc, positives, negatives)),
    ))
}

/// Hanley & McNeil's (1982) variance of an AUC `a` from `p` positive and
/// `n` negative examples: `[a(1−a) + (p−1)(q₁−a²) + (n−1)(q₂−a²)] / (p n)`
/// with `q₁ = a / (2−a)`, `q₂ = 2a² / (1+a)`.
fn auc_variance(a: f64, p: u64, n: u64) -> f64 {
    let (p, n) = (p as f64, n as f64);
    let (q1, q2) = (a / (2.0 - a), 2.0 * a * a / (1.0 + a));
    (a * (1.0 - a) + (p - 1.0) * (q1 - a * a) + (n - 1.0) * (q2 - a * a)) / (p * n)
}

/// ROC AUC of scores given as `(score, positives, negatives)` per group of
/// rows sharing the score: the Mann–Whitney statistic with tied scores
/// counted half, as [`crate::metrics::roc_auc`] computes it row by row, in
/// O(groups) memory. `None` without both classes.
fn auc_from_counts(mut cells: Vec<(f64, u64, u64)>) -> Option<f64> {
    cells.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives: u128 = cells.iter().map(|c| u128::from(c.1)).sum();
    let negatives: u128 = cells.iter().map(|c| u128::from(c.2)).sum();
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut twice_u: u128 = 0;
    let mut negatives_below: u128 = 0;
    let mut i = 0;
    while i < cells.len() {
        let score = cells[i].0;
        let (mut p, mut n) = (0u128, 0u128);
        while i < cells.len() && cells[i].0 == score {
            p += u128::from(cells[i].1);
            n += u128::from(cells[i].2);
            i += 1;
        }
        twice_u += 2 * p * negatives_below + p * n;
        negatives_below += n;
    }
    Some(twice_u as f64 / (2 * positives * negatives) as f64)
}

/// Balanced accuracy on the evaluation rows when each bucket predicts the
/// class most over-represented in it on the training rows (highest
/// `count / class total`: the balanced-accuracy choice); an empty bucket
/// predicts the most frequent class. `None` with fewer than two classes
/// among the evaluation rows. The bound treats each class's recall as a
/// binomial proportion: variance `Σ r(1−r)/n_k / K²`.
fn balanced_accuracy(
    classes: usize,
    train: &[u64],
    eval: &[u64],
    buckets: usize,
    summary: &TargetSummary,
) -> Option<(f64, f64)> {
    let totals = &summary.train_classes;
    let majority = (0..classes)
        .max_by(|&a, &b| totals[a].cmp(&totals[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    let mut correct = vec![0u64; classes];
    let mut present = vec![0u64; classes];
    for b in 0..buckets {
        let t = train.get(b * classes..(b + 1) * classes).unwrap_or(&[]);
        // a beats b when t[a] / n[a] > t[b] / n[b]; classes absent from training never win.
        let predicted = (0..classes)
            .filter(|&k| totals[k] > 0 && t.get(k).copied().unwrap_or(0) > 0)
            .max_by(|&a, &b| {
                let left = u128::from(t[a]) * u128::from(totals[b]);
                let right = u128::from(t[b]) * u128::from(totals[a]);
                left.cmp(&right).then(b.cmp(&a))
            })
            .unwrap_or(majority);
        for k in 0..classes {
            let n = eval.get(b * classes + k).copied().unwrap_or(0);
            present[k] += n;
            if k == predicted {
                correct[k] += n;
            }
        }
    }
    let recalls: Vec<(f64, f64)> = (0..classes)
        .filter(|&k| present[k] > 0)
        .map(|k| (correct[k] as f64 / present[k] as f64, present[k] as f64))
        .collect();
    if recalls.len() < 2 {
        return None;
    }
    let count = recalls.len() as f64;
    let value = recalls.iter().map(|r| r.0).sum::<f64>() / count;
    let variance = recalls.iter().map(|(r, n)| r * (1.0 - r) / n).sum::<f64>() / (count * count);
    Some((value, lower_bound(value, variance)))
}

fn values_outcome(
    train: &[Moments],
    eval: &[Moments],
    residual_squares: &ExactSum,
    buckets: &Buckets,
    summary: &TargetSummary,
) -> Outcome {
    let occupied = train.iter().filter(|m| m.rows > 0).count();
    // The bound uses the large-sample variance of a squared correlation,
    // 4R²(1−R²)²/n (R² clamped to [0, 1]).
    let score = (summary.eval_rows > 0 && summary.eval_total_squares > 0.0).then(|| {
        let r2 = 1.0 - residual_squares.value() / summary.eval_total_squares;
        let c = r2.clamp(0.0, 1.0);
        let variance = 4.0 * c * (1.0 - c) * (1.0 - c) / summary.eval_rows as f64;
        (r2, lower_bound(r2, variance))
    });
    // Ranges over train and eval rows together.
    let ranges: Vec<Option<(f64, f64)>> = train
        .iter()
        .zip(eval)
        .map(|(t, e)| (t.rows + e.rows > 0).then(|| (t.min.min(e.min), t.max.max(e.max))))
        .collect();
    let confirmed = summary.eval_rows > 0
        && train
            .iter()
            .zip(eval)
            .all(|(t, e)| e.rows == 0 || t.rows > 0);
    let recoding = {
        let mut values = ranges.iter().flatten();
        let all_constant = ranges.iter().flatten().all(|(low, high)| low == high);
        let first = values.next().map(|r| r.0);
        all_constant && values.any(|r| Some(r.0) != first)
    };
    // A monotone target needs no out-of-sample confirmation: eval values
    // between training values are placed in order and must fit too.
    let function = if confirmed && recoding {
        Some(Function::Recoding)
    } else if summary.eval_rows > 0 && monotone(&ranges, buckets) {
        Some(Function::Monotone)
    } else {
        None
    };
    Outcome {
        buckets: occupied,
        score,
        function,
    }
}

/// Whether the target ranges of the ordered buckets (rows with the column
/// present) follow each other without overlap, all rising or all falling,
/// over at least `MONOTONE_MIN_BUCKETS` buckets.
fn monotone(ranges: &[Option<(f64, f64)>], buckets: &Buckets) -> bool {
    let Some(order) = buckets.ordered() else {
        return false;
    };
    let ordered: Vec<(f64, f64)> = order
        .filter_map(|b| ranges.get(b).copied().flatten())
        .collect();
    if ordered.len() < MONOTONE_MIN_BUCKETS {
        return false;
    }
    let rising = ordered.windows(2).all(|w| w[0].1 <= w[1].0);
    let falling = ordered.windows(2).all(|w| w[0].0 >= w[1].1);
    let varies = ordered.first().map(|r| r.0) != ordered.last().map(|r| r.0);
    (rising || falling) && varies
}

// ---------------------------------------------------------------------------
// The passes.

/// What every pass needs.
struct Context<'a> {
    params: &'a LeakageParams,
    train: &'a [RecordBatch],
    eval: &'a [RecordBatch],
    target: &'a str,
    labels: &'a Labels,
    summary: &'a TargetSummary,
}

/// Scores every spec: one pass over the training rows places buckets, a
/// second learns their target statistics, one over the evaluation rows
/// scores them. Columns run in parallel within a batch; each column's
/// state sees rows in order, so results do not depend on threads or on
/// how the rows are cut into batches.
fn evaluate(context: &Context<'_>, specs: &[Spec]) -> Vec<Outcome> {
    specs
        .chunks(COLUMNS_PER_PASS)
        .flat_map(|chunk| evaluate_together(context, chunk))
        .collect()
}

/// [`evaluate`] for a few specs at once.
fn evaluate_together(context: &Context<'_>, specs: &[Spec]) -> Vec<Outcome> {
    let params = context.params;
    let total_train: u64 = context.train.iter().map(|b| b.num_rows() as u64).sum();
    let stride = total_train.div_ceil(QUANTILE_SAMPLE as u64).max(1);

    let mut collectors: Vec<Collector> = specs.iter().map(|s| Collector::new(s.kind)).collect();
    let mut first_row = 0u64;
    for batch in context.train {
        collectors
            .par_iter_mut()
            .zip(specs.par_iter())
            .for_each(|(collector, spec)| {
                if let Some(values) = spec.values(batch) {
                    collector.observe(&values, first_row, stride, params);
                }
            });
        first_row += batch.num_rows() as u64;
    }
    let buckets: Vec<Buckets> = collectors
        .into_par_iter()
        .map(|c| c.finish(params))
        .collect();

    let mut tables: Vec<Table> = buckets
        .iter()
        .map(|b| Table::new(b.len(), context.labels))
        .collect();
    for (batches, is_train) in [(context.train, true), (context.eval, false)] {
        if !is_train {
            tables
                .par_iter_mut()
                .for_each(|t| t.prepare(context.summary));
        }
        for batch in batches {
            let target = context.labels.decode(batch, context.target);
            tables
                .par_iter_mut()
                .zip(specs.par_iter())
                .zip(buckets.par_iter())
                .for_each(|((table, spec), buckets)| {
                    if let Some(values) = spec.values(batch) {
                        table.add(&buckets.ids(&values), &target, is_train);
                    }
                });
        }
    }
    tables
        .into_par_iter()
        .zip(buckets.par_iter())
        .map(|(table, buckets)| table.finish(buckets, context.summary))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mlrig_core::arrow_array::builder::{ListBuilder, StringDictionaryBuilder};
    use mlrig_core::arrow_array::types::Int32Type as Key;
    use mlrig_core::arrow_array::{
        ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampSecondArray,
    };
    use proptest::prelude::*;

    use super::*;
    use crate::metrics;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn floats(values: &[f64]) -> ArrayRef {
        Arc::new(Float64Array::from(values.to_vec()))
    }

    fn strings(values: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn binary() -> Task {
        Task::Classification {
            classes: vec!["0".into(), "1".into()],
        }
    }

    fn run(
        train: &[RecordBatch],
        eval: &[RecordBatch],
        target: &str,
        task: &Task,
    ) -> LeakageReport {
        LeakageParams::default()
            .check()
            .unwrap()
            .run(train, eval, target, task)
            .unwrap()
    }

    fn suspects(report: &LeakageReport) -> Vec<&str> {
        report
            .suspects()
            .iter()
            .map(|s| s.column.as_str())
            .collect()
    }

    fn column<'r>(report: &'r LeakageReport, name: &str) -> &'r ColumnLeakage {
        report.columns().iter().find(|c| c.name == name).unwrap()
    }

    /// A deterministic pseudo-random sequence in `[0, 1)` (64-bit LCG).
    fn noise(seed: u64, n: usize) -> Vec<f64> {
        let mut state = seed
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(3_037_000_493);
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    #[test]
    fn auc_from_counts_matches_roc_auc_row_by_row() {
        let cells = vec![(0.2, 3, 1), (0.7, 2, 0), (0.2, 1, 4), (0.1, 0, 2)];
        let (mut y, mut s) = (Vec::new(), Vec::new());
        for &(score, p, n) in &cells {
            for _ in 0..p {
                y.push(true);
                s.push(score);
            }
            for _ in 0..n {
                y.push(false);
                s.push(score);
            }
        }
        assert_eq!(
            auc_from_counts(cells),
            Some(metrics::roc_auc(&y, &s).unwrap())
        );
        assert_eq!(auc_from_counts(vec![(0.5, 3, 0)]), None);
        assert_eq!(auc_from_counts(Vec::new()), None);
    }

    #[test]
    fn quantile_buckets_keep_a_heavy_value_apart() {
        // 70 % zeros, then 1..=30: zero is heavy and gets its own bucket.
        let mut sample: Vec<f64> = vec![0.0; 70];
        sample.extend((1..=30).map(f64::from));
        let buckets = quantile_buckets(&sample, 10);
        let Buckets::Numeric { edges, heavy } = &buckets else {
            panic!("{buckets:?}")
        };
        assert_eq!(edges, &[0.0, 1.0, 11.0, 21.0]);
        assert_eq!(heavy, &[true, false, false, false]);
        assert_eq!(buckets.of_number(-1.0), 0);
        assert_eq!(buckets.of_number(0.0), 1);
        assert_eq!(buckets.of_number(-0.0), 1);
        assert_eq!(buckets.of_number(0.5), 2);
        assert_eq!(buckets.of_number(1.0), 2);
        assert_eq!(buckets.of_number(4.5), 4);
        assert_eq!(buckets.of_number(f64::INFINITY), 8);
        assert_eq!(buckets.of_number(f64::NAN), 9);
        assert_eq!(buckets.len(), 10);
    }

    #[test]
    fn exact_and_text_buckets() {
        // Few distinct values: one bucket each, unseen values in between.
        let params = LeakageParams::default();
        let mut collector = Collector::new(Kind::Numeric);
        collector.observe(
            &Values::Numbers(vec![2.0, 1.0, f64::NAN, 2.0]),
            0,
            1,
            &params,
        );
        let exact = collector.finish(&params);
        assert_eq!(
            [0.0, 1.0, 1.5, 2.0, 3.0, f64::NAN].map(|v| exact.of_number(v)),
            [0, 1, 2, 3, 4, 5]
        );
        let text = Buckets::Text(vec!["a".into(), "c".into()]);
        assert_eq!(
            [Some("a"), Some("b"), Some("c"), None].map(|v| text.of_text(v)),
            [0, 2, 1, 3]
        );
        // The most frequent values are kept, ties in value order.
        let params = LeakageParams::default().with_max_categories(2);
        let mut collector = Collector::new(Kind::Text);
        let values = Values::Texts(["b", "a", "c", "c", "b", "d"].map(Some).to_vec());
        collector.observe(&values, 0, 1, &params);
        assert_eq!(
            collector.finish(&params),
            Buckets::Text(vec!["b".into(), "c".into()])
        );
    }

    #[test]
    fn r2_is_metrics_r2_of_the_bucket_means() {
        // x has two values; x = 3 is unseen and predicts the training mean.
        let x_train = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        let y_train = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0];
        let (x_eval, y_eval) = ([1.0, 2.0, 2.0, 3.0], [2.5, 9.0, 12.5, 6.0]);
        let train = batch(vec![("x", floats(&x_train)), ("y", floats(&y_train))]);
        let eval = batch(vec![("x", floats(&x_eval)), ("y", floats(&y_eval))]);
        let report = run(&[train], &[eval], "y", &Task::Regression);
        let mean = 39.0 / 6.0;
        let predicted = [2.0, 11.0, 11.0, mean];
        let expected = metrics::r2(&y_eval, &predicted).unwrap();
        assert!((column(&report, "x").score.unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn copies_and_recodings_are_functions() {
        let n = 200;
        let class: Vec<String> = (0..n)
            .map(|i| ["a", "b", "c"][i * 7 % 3].to_string())
            .collect();
        let code: Vec<i64> = class
            .iter()
            .map(|c| {
                if c == "a" {
                    10
                } else if c == "b" {
                    20
                } else {
                    30
                }
            })
            .collect();
        let noise_values = noise(1, n);
        let make = |rows: std::ops::Range<usize>| {
            batch(vec![
                (
                    "code",
                    Arc::new(Int64Array::from(code[rows.clone()].to_vec())) as ArrayRef,
                ),
                ("noise", floats(&noise_values[rows.clone()])),
                (
                    "class",
                    Arc::new(StringArray::from(
                        class[rows].iter().map(String::as_str).collect::<Vec<_>>(),
                    )),
                ),
            ])
        };
        let task = Task::Classification {
            classes: vec!["a".into(), "b".into(), "c".into()],
        };
        let report = run(&[make(0..150)], &[make(150..200)], "class", &task);
        assert_eq!(report.metric(), LeakageMetric::BalancedAccuracy);
        assert_eq!(suspects(&report), ["code"]);
        assert_eq!(report.suspects()[0].rule, LeakageRule::Function);
        assert_eq!(column(&report, "code").score, Some(1.0));
        assert!(column(&report, "noise").score.unwrap() < 0.8);
    }

    #[test]
    fn a_unique_id_is_not_a_leak() {
        let n = 1000;
        let ids: Vec<String> = (0..n).map(|i| format!("row-{i}")).collect();
        let y: Vec<&str> = (0..n).map(|i| if i % 3 == 0 { "1" } else { "0" }).collect();
        let make = |rows: std::ops::Range<usize>| {
            batch(vec![
                (
                    "id",
                    strings(
                        &ids[rows.clone()]
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>(),
                    ),
                ),
                (
                    "number",
                    floats(&rows.clone().map(|i| i as f64).collect::<Vec<_>>()),
                ),
                ("y", strings(&y[rows])),
            ])
        };
        let report = run(&[make(0..800)], &[make(800..1000)], "y", &binary());
        assert!(report.is_clean(), "{report:#?}");
        assert_eq!(column(&report, "id").score, Some(0.5));
        assert!(!column(&report, "id").function);
    }

    #[test]
    fn partner_check_names_the_source_not_the_partner() {
        // big = tip > 20 % of fare: `tip` is strong alone, `fare` is not.
        let n = 6000;
        let (u, v) = (noise(2, n), noise(3, n));
        let fare: Vec<f64> = u.iter().map(|u| 5.0 + 40.0 * u).collect();
        let tip: Vec<f64> = fare
            .iter()
            .zip(&v)
            .enumerate()
            .map(|(i, (f, v))| if i % 3 == 0 { 0.0 } else { f * 0.35 * v })
            .collect();
        let big: Vec<&str> = tip
            .iter()
            .zip(&fare)
            .map(|(t, f)| if *t > 0.2 * f { "1" } else { "0" })
            .collect();
        let make = |rows: std::ops::Range<usize>| {
            batch(vec![
                ("fare", floats(&fare[rows.clone()])),
                ("tip", floats(&tip[rows.clone()])),
                ("big", strings(&big[rows])),
            ])
        };
        let report = run(&[make(0..4500)], &[make(4500..6000)], "big", &binary());
        let tip_column = column(&report, "tip");
        assert!(tip_column.score.unwrap() < 0.99, "{tip_column:?}");
        let partner = tip_column.partner.as_ref().unwrap();
        assert_eq!(partner.column, "fare");
        assert_eq!(suspects(&report), ["tip"]);
        assert_eq!(report.suspects()[0].rule, LeakageRule::Partner);
        // Too few evaluation rows for the partner check: a note, no suspect.
        let report = run(&[make(0..4500)], &[make(4500..4600)], "big", &binary());
        assert!(report.is_clean());
        assert!(
            report.notes()[0].contains("partner check skipped"),
            "{:?}",
            report.notes()
        );
    }

    #[test]
    fn odd_columns_are_reported_not_fatal() {
        let n = 100;
        let y: Vec<&str> = (0..n).map(|i| if i % 2 == 0 { "1" } else { "0" }).collect();
        let mut list = ListBuilder::new(mlrig_core::arrow_array::builder::Int32Builder::new());
        for _ in 0..n {
            list.append(true);
        }
        let list: ArrayRef = Arc::new(list.finish());
        let mut dictionary = StringDictionaryBuilder::<Key>::new();
        for i in 0..n {
            if i % 10 == 0 {
                dictionary.append_null();
            } else {
                dictionary.append_value(if i % 2 == 0 { "even" } else { "odd" });
            }
        }
        let dictionary: ArrayRef = Arc::new(dictionary.finish());
        let nulls: ArrayRef = Arc::new(Float64Array::from(vec![None::<f64>; n]));
        let specials: ArrayRef = floats(
            &(0..n)
                .map(|i| [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1.0][i % 5])
                .collect::<Vec<_>>(),
        );
        let flags: ArrayRef = Arc::new(BooleanArray::from(
            (0..n).map(|i| i % 3 == 0).collect::<Vec<_>>(),
        ));
        let times: ArrayRef = Arc::new(TimestampSecondArray::from(
            (0..n as i64).collect::<Vec<_>>(),
        ));
        let all = batch(vec![
            ("list", list),
            ("dictionary", dictionary),
            ("nulls", nulls),
            ("specials", specials),
            ("flags", flags),
            ("times", times),
            ("y", strings(&y)),
        ]);
        let (train, eval) = (all.slice(0, 70), all.slice(70, 30));
        let report = run(
            std::slice::from_ref(&train),
            std::slice::from_ref(&eval),
            "y",
            &binary(),
        );
        assert_eq!(column(&report, "list").kind, ColumnKind::Unsupported);
        assert!(
            column(&report, "list")
                .unchecked
                .as_ref()
                .unwrap()
                .contains("unsupported Arrow type")
        );
        assert_eq!(column(&report, "dictionary").kind, ColumnKind::Categorical);
        assert_eq!(column(&report, "nulls").score, Some(0.5));
        assert_eq!(column(&report, "times").kind, ColumnKind::Numeric);
        // `dictionary` is y re-coded (apart from its nulls, which mix both classes).
        assert_eq!(suspects(&report), ["dictionary"]);

        // No evaluation rows, one class, a column missing from a batch: no panic, no suspects.
        let report = run(std::slice::from_ref(&train), &[], "y", &binary());
        assert!(report.is_clean() && report.notes()[0].contains("0 evaluation rows"));
        let one_class = Task::Classification {
            classes: vec!["1".into()],
        };
        assert!(
            run(
                std::slice::from_ref(&train),
                std::slice::from_ref(&eval),
                "y",
                &one_class
            )
            .is_clean()
        );
        let other = batch(vec![("y", strings(&y[..10]))]);
        let report = run(
            &[train.clone(), other],
            std::slice::from_ref(&eval),
            "y",
            &binary(),
        );
        assert!(
            column(&report, "flags")
                .unchecked
                .as_ref()
                .unwrap()
                .contains("missing from batch 1")
        );
        assert_eq!(column(&report, "flags").kind, ColumnKind::Categorical);
        let report = run(&[], &[], "y", &binary());
        assert!(report.columns().is_empty() && report.is_clean());

        // The target must exist and suit the task.
        let check = LeakageParams::default().check().unwrap();
        let e = check
            .run(std::slice::from_ref(&train), &[], "z", &binary())
            .unwrap_err();
        assert!(matches!(e, TrainError::MissingColumn { .. }), "{e}");
        let e = check
            .run(&[train], &[], "y", &Task::Regression)
            .unwrap_err();
        assert!(matches!(e, TrainError::UnsupportedColumnType { .. }), "{e}");
    }

    #[test]
    fn unusable_targets_are_ignored_and_counted() {
        let x = floats(&[1.0, 2.0, 3.0, 4.0]);
        let y: ArrayRef = Arc::new(StringArray::from(vec![
            Some("0"),
            None,
            Some("2"),
            Some("1"),
        ]));
        let report = run(&[batch(vec![("x", x), ("y", y)])], &[], "y", &binary());
        assert_eq!((report.train_rows(), report.ignored_rows()), (2, 2));
        let y: ArrayRef = Arc::new(Int64Array::from(vec![Some(0), None, Some(2), Some(1)]));
        let x = floats(&[1.0, 2.0, 3.0, 4.0]);
        let report = run(&[batch(vec![("x", x), ("y", y)])], &[], "y", &binary());
        assert_eq!((report.train_rows(), report.ignored_rows()), (2, 2));
        let y = floats(&[1.0, f64::NAN, f64::INFINITY, 2.0]);
        let x = floats(&[1.0, 2.0, 3.0, 4.0]);
        let report = run(
            &[batch(vec![("x", x), ("y", y)])],
            &[],
            "y",
            &Task::Regression,
        );
        assert_eq!((report.train_rows(), report.ignored_rows()), (2, 2));
    }

    #[test]
    fn params_are_checked_and_round_trip() {
        let bad = [
            LeakageParams::default().with_auc_threshold(1.01),
            LeakageParams::default().with_r2_threshold(0.0),
            LeakageParams::default().with_partner_floor(f64::INFINITY),
            LeakageParams::default().with_bins(5000),
            LeakageParams::default().with_max_categories(100_000),
        ];
        for params in bad {
            assert!(params.clone().check().is_err(), "{params:?}");
        }
        let params = LeakageParams::default().with_bins(16).with_allowed(["a"]);
        let json = serde_json::to_string(&params).unwrap();
        assert_eq!(
            serde_json::from_str::<LeakageParams>(&json).unwrap(),
            params
        );
    }

    /// One row of generated data: a number (with specials), a category, a
    /// flag, a class and a real target.
    type Row = (Option<f64>, Option<u8>, Option<bool>, u8, f64);

    fn row() -> impl Strategy<Value = Row> {
        let number = prop_oneof![
            4 => any::<f64>().prop_map(Some),
            2 => (-5i8..5).prop_map(|v| Some(f64::from(v))),
            1 => Just(Some(f64::NAN)),
            1 => Just(Some(f64::INFINITY)),
            1 => Just(None),
        ];
        (
            number,
            proptest::option::of(0u8..6),
            proptest::option::of(any::<bool>()),
            0u8..3,
            -1e6..1e6f64,
        )
    }

    /// Batches of `rows` cut at `cuts` (positions modulo the row count).
    fn batches(rows: &[Row], cuts: &[usize], classes: u8) -> Vec<RecordBatch> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (rows.len() + 1)).collect();
        points.extend([0, rows.len()]);
        points.sort_unstable();
        points.dedup();
        points
            .windows(2)
            .map(|w| {
                let part = &rows[w[0]..w[1]];
                let labels: Vec<String> =
                    part.iter().map(|r| (r.3 % classes).to_string()).collect();
                batch(vec![
                    (
                        "number",
                        Arc::new(Float64Array::from(
                            part.iter().map(|r| r.0).collect::<Vec<_>>(),
                        )) as ArrayRef,
                    ),
                    (
                        "category",
                        Arc::new(StringArray::from(
                            part.iter()
                                .map(|r| r.1.map(|c| format!("c{c}")))
                                .collect::<Vec<_>>(),
                        )),
                    ),
                    (
                        "flag",
                        Arc::new(BooleanArray::from(
                            part.iter().map(|r| r.2).collect::<Vec<_>>(),
                        )),
                    ),
                    (
                        "copy",
                        strings(&labels.iter().map(String::as_str).collect::<Vec<_>>()),
                    ),
                    (
                        "class",
                        strings(&labels.iter().map(String::as_str).collect::<Vec<_>>()),
                    ),
                    (
                        "value",
                        floats(&part.iter().map(|r| r.4).collect::<Vec<_>>()),
                    ),
                    (
                        "value_copy",
                        floats(&part.iter().map(|r| r.4).collect::<Vec<_>>()),
                    ),
                ])
            })
            .collect()
    }

    fn class_task(classes: u8) -> Task {
        Task::Classification {
            classes: (0..classes).map(|c| c.to_string()).collect(),
        }
    }

    /// Runs every task on `rows` with the first `train` rows for training.
    fn reports(rows: &[Row], train: usize, cuts: &[usize], classes: u8) -> Vec<LeakageReport> {
        let (head, tail) = rows.split_at(train.min(rows.len()));
        let (train, eval) = (batches(head, cuts, classes), batches(tail, cuts, classes));
        let drop = |batches: &[RecordBatch], column: &str| -> Vec<RecordBatch> {
            batches
                .iter()
                .map(|b| {
                    let mut b = b.clone();
                    if let Ok(i) = b.schema().index_of(column) {
                        b.remove_column(i);
                    }
                    b
                })
                .collect()
        };
        let check = LeakageParams::default()
            .with_min_eval_rows(1)
            .check()
            .unwrap();
        vec![
            check
                .run(
                    &drop(&train, "value"),
                    &drop(&eval, "value"),
                    "class",
                    &class_task(classes),
                )
                .unwrap(),
            check
                .run(
                    &drop(&train, "class"),
                    &drop(&eval, "class"),
                    "value",
                    &Task::Regression,
                )
                .unwrap(),
        ]
    }

    proptest! {
        #[test]
        fn never_panics(
            rows in proptest::collection::vec(row(), 0..60),
            train in 0usize..60,
            cuts in proptest::collection::vec(0usize..60, 0..4),
            classes in 1u8..4,
            bins in 2usize..8,
        ) {
            let (head, tail) = rows.split_at(train.min(rows.len()));
            let check = LeakageParams::default()
                .with_bins(bins)
                .with_max_categories(2)
                .with_min_eval_rows(1)
                .with_partner_min_eval_rows(1)
                .with_partner_floor(-1.0)
                .check()
                .unwrap();
            for (target, task) in [("class", class_task(classes)), ("value", Task::Regression), ("number", Task::Regression), ("flag", class_task(2))] {
                let result = check.run(&batches(head, &cuts, classes), &batches(tail, &cuts, classes), target, &task);
                if let Ok(report) = result {
                    let json = serde_json::to_string(&report);
                    prop_assert!(json.is_ok() || report.columns().iter().any(|c| c.score.is_some_and(|s| !s.is_finite())));
                }
            }
        }

        #[test]
        fn a_copy_of_the_target_is_always_flagged(
            rows in proptest::collection::vec(row(), 40..120),
            cuts in proptest::collection::vec(0usize..120, 0..3),
            classes in 2u8..4,
        ) {
            let train = rows.len() * 3 / 4;
            let present = |part: &[Row]| part.iter().map(|r| r.3 % classes).collect::<BTreeSet<_>>().len();
            let distinct = |part: &[Row]| part.iter().map(|r| r.4.to_bits()).collect::<BTreeSet<_>>().len();
            prop_assume!(present(&rows[..train]) >= 2 && distinct(&rows[..train]) >= MONOTONE_MIN_BUCKETS);
            let reports = reports(&rows, train, &cuts, classes);
            prop_assert!(reports[0].suspects().iter().any(|s| s.column == "copy"), "{:#?}", reports[0]);
            prop_assert!(reports[1].suspects().iter().any(|s| s.column == "value_copy"), "{:#?}", reports[1]);
        }

        #[test]
        fn pure_noise_is_never_flagged(
            rows in proptest::collection::vec(row(), 300..600),
            cuts in proptest::collection::vec(0usize..600, 0..3),
            classes in 2u8..4,
        ) {
            let reports = reports(&rows, rows.len() * 4 / 5, &cuts, classes);
            for report in &reports {
                let flagged: Vec<&str> = report.suspects().iter().map(|s| s.column.as_str())
                    .filter(|c| ["number", "category", "flag"].contains(c)).collect();
                prop_assert!(flagged.is_empty(), "{:#?}", report);
            }
        }

        #[test]
        fn batch_cuts_do_not_matter(
            rows in proptest::collection::vec(row(), 0..150),
            cuts in proptest::collection::vec(0usize..150, 0..5),
            classes in 2u8..4,
        ) {
            let train = rows.len() * 4 / 5;
            let whole = reports(&rows, train, &[], classes);
            let cut = reports(&rows, train, &cuts, classes);
            prop_assert_eq!(
                serde_json::to_string(&whole).unwrap(),
                serde_json::to_string(&cut).unwrap()
            );
        }
    }
}
