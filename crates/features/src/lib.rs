//! # mlrig-features
//!
//! Fitted feature pipelines — scaling (standard, min-max, robust), clipping,
//! logs, imputation (mean, median, most frequent, constant) with optional
//! missing indicators, bucketizing (fixed or quantile boundaries), one-hot and
//! limited vocabularies with out-of-vocabulary buckets, ordinal category
//! codes (for gradient-boosted trees), feature hashing, feature crosses and
//! date parts — declared in a serde [`FeatureSpec`] and
//! applied by **one code path** to training batches and to single serving
//! records, so training/serving skew cannot come from code.
//!
//! ## Data flow
//!
//! ```text
//! FeatureSpec (JSON / TOML / Rust / FeatureSpec::infer)
//!    │ FeaturePipelineParams::new(spec).check()      spec errors: typos, bad parameters, duplicates
//!    ▼
//! FeaturePipelineValidParams ──fit(&[RecordBatch])──▶ FittedFeaturePipeline ──save/load──▶ artifact JSON
//!    pass 1: counts, ExactSum, min/max, value counts,          │
//!            quantile sketches (exact merge, rayon)            │ transform(&RecordBatch) ─▶ Features
//!    pass 2: exact squared deviations (standard scaling)       │   (dense, or CSR per `output`)
//!                                                              │ check(&[RecordBatch]) ─▶ FeatureCheckReport
//! serving: JSON record ──record_to_batch(input_schema)──▶ one-row batch ──(same transform)──▶ Features
//! ```
//!
//! * Many batches: [`FittedFeaturePipeline::transform_batches`] transforms
//!   them in parallel (rayon) with the same code and stacks the rows in
//!   order into one `Features`. A batch is written in blocks of 1,024 rows
//!   (cache-sized); a row's outputs never depend on other rows, so a row has
//!   the same bits alone, in any batch, and as a JSON record.
//! * Columns are looked up **by name**: batches may carry extra columns (the
//!   target) in any order; a missing column or a wrong Arrow type is an error
//!   naming the column and the expected and found types.
//! * Every analyzer is an exactly-mergeable [`Accumulator`]:
//!   fitting on any split of the data gives the same pipeline bit for bit
//!   (for value counts: while a column has at most 65,536 distinct values,
//!   see the next point).
//! * **Bounded memory.** No analyzer grows with the rows. Value counts
//!   (`one_hot`, `ordinal`, `vocabulary`, most-frequent imputation) are exact
//!   up to 65,536 distinct values per column (`2 · top_k` for a larger
//!   `vocabulary` `top_k`); beyond that they become a mergeable Misra–Gries
//!   summary with bound `b ≤ N / (capacity/2 + 1)` over `N` counted values:
//!   a kept count is at most `b` below the true count, a dropped value
//!   occurred at most `b` times, so every value seen more than `b` times is
//!   kept and a `vocabulary` `top_k` holds the true top values whose counts
//!   exceed `b` (which values survive then depends on the split, within the
//!   bound). `one_hot` and `ordinal` keep every category, so past the
//!   capacity they fail with [`FeaturesError::TooManyCategories`] naming
//!   `vocabulary` / `hash` instead; `hash` keeps no vocabulary at all.
//!   [`FeaturePipelineValidParams::fit_scan`] fits on a stream read once per
//!   pass, so the data need not fit in memory either (`mlrig features fit`
//!   uses it).
//!   Quantiles (median, robust scaling, quantile buckets) come from a
//!   DDSketch-style log-bucket sketch ([`mlrig_core::QuantileSketch`],
//!   merge = add counts): exact while a column has at most 1,024 distinct
//!   values, otherwise within relative error α = 0.001 of numpy's `linear`
//!   percentile (precisely: `≤ α · max(|x₍⌊r⌋₎|, |x₍⌈r⌉₎|)`, `r = q(n − 1)`).
//! * Statistics follow scikit-learn (`StandardScaler`, `MinMaxScaler`,
//!   `RobustScaler`, `SimpleImputer`, `OneHotEncoder(handle_unknown="ignore")`,
//!   `OrdinalEncoder` with NaN for unknown and missing values,
//!   `KBinsDiscretizer(strategy="quantile")`), fitted on the imputed column as
//!   in a `Pipeline`; `tests/sklearn_parity.rs` checks it against fixtures.
//! * Output names are stable and readable: `age`, `workclass=Private`,
//!   `color=__oov_0__`, `age_bucket[3]`, `city_hash[5]`, `a_x_b[7]`,
//!   `ts_weekday`, `age_missing`.
//! * Width: a fitted pipeline has at most [`MAX_OUTPUT_COLUMNS`] (2²⁰)
//!   outputs, checked before any output name is built; more is
//!   [`FeaturesError::TooManyOutputs`].
//! * Storage: [`OutputLayout`] `dense` (default), `sparse` (CSR) or `auto`
//!   (CSR when the expected density is below [`SPARSE_DENSITY_THRESHOLD`] =
//!   0.3, decided once at fit so every batch has the same storage).
//!
//! ## Missing, NaN, ±∞, unknown and mistyped values
//!
//! A value is **missing** when it is null, or NaN in a `Float64` column (for
//! `date_parts`: null or unparsable). Imputation (if any) fills it before the
//! encoding; the missing indicator (if any) is 1 for it either way. A column
//! of the wrong Arrow type is always an error (`WrongColumnType`, naming the
//! column, expected and found types), in fitting and in transforming.
//!
//! | encoding | missing, not imputed | ±∞ | unknown value | out of domain |
//! |---|---|---|---|---|
//! | `standard_scale`, `min_max_scale`, `robust_scale`, `passthrough`, `clip` | NaN | error `NonFiniteValue` (column, row) | — | — (min-max of new data may leave `feature_range` unless `clip`) |
//! | `log` / `log1p` | NaN | error | — | error `OutOfDomain` for `x ≤ 0` / `x ≤ −1` (column, row; at fit without row) |
//! | `bucketize`, `quantile_bucketize` | all zeros (one-hot) / NaN (ordinal) | error | — | below the first / above the last boundary: first / last bucket |
//! | `one_hot` | all zeros | — | all zeros | — |
//! | `ordinal` | NaN | — | NaN | — |
//! | `vocabulary` | all zeros | — | its OOV bucket (`FNV-1a mod n`), or all zeros with no OOV buckets | — |
//! | `hash` | all zeros | — | hashed like any value | — |
//! | crosses | all zeros (either side missing) | — | hashed like any value | — |
//! | `date_parts` | NaN per part | — | unparsable text is missing | — |
//! | `drop` | not read | not read | not read | not read |
//!
//! An imputed value is encoded like any other, so a constant fill value
//! not seen in training is an unknown value.
//!
//! A statistic that needs data (mean, median, min/max, quantiles, most
//! frequent value) fails with `NoTrainingValues` when the training column has
//! no non-missing value, and with `NonFiniteStatistic` when it overflows.
//!
//! ## Quick start
//!
//! ```
//! use mlrig_features::{Artifact, Fit, ParamGuard, Transform};
//! use mlrig_features::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
//! use mlrig_features::{FeaturePipelineParams, FeatureSpec, FittedFeaturePipeline};
//! use std::sync::Arc;
//!
//! let train = RecordBatch::try_from_iter([
//!     ("age", Arc::new(Float64Array::from(vec![Some(20.0), None, Some(40.0)])) as ArrayRef),
//!     ("city", Arc::new(StringArray::from(vec![Some("Oslo"), None, Some("Rome")])) as ArrayRef),
//!     ("income", Arc::new(StringArray::from(vec!["low", "high", "low"])) as ArrayRef),
//! ])?;
//!
//! // Mean-impute + scale numbers, most-frequent-impute + one-hot strings, skip the target.
//! let spec = FeatureSpec::infer(&train.schema(), "income")?;
//! let pipeline = FeaturePipelineParams::new(spec).check()?.fit(&[train.clone()])?;
//! assert_eq!(pipeline.output_names(), ["age", "city=Oslo", "city=Rome"]);
//!
//! let features = pipeline.transform(&train)?;
//! // Row 1 is all missing: the mean age, and the most frequent city (a tie: the smallest, "Oslo").
//! assert_eq!(features.to_dense().row(1).to_vec(), [0.0, 1.0, 0.0]);
//!
//! // Serving: one JSON record, the same transform.
//! let one = pipeline.transform_record(&serde_json::json!({"age": 20, "city": "Oslo"}))?;
//! assert_eq!(one.to_dense().row(0), features.to_dense().row(0));
//! assert_eq!(one.names(), features.names());
//!
//! // Save and load as an artifact.
//! let dir = tempfile::tempdir()?;
//! pipeline.save(&dir.path().join("features.json"), &[])?;
//! let loaded = FittedFeaturePipeline::load(&dir.path().join("features.json"))?.value;
//! assert_eq!(loaded, pipeline);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A richer spec, written as JSON, with sparse output and the checks:
//!
//! ```
//! use mlrig_features::{FeatureMatrix, Fit, ParamGuard, Transform};
//! use mlrig_features::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
//! use mlrig_features::{FeaturePipelineParams, FeatureSpec};
//! use std::sync::Arc;
//!
//! let train = RecordBatch::try_from_iter([
//!     ("age", Arc::new(Float64Array::from(vec![Some(17.0), Some(30.0), None, Some(70.0)])) as ArrayRef),
//!     ("color", Arc::new(StringArray::from(vec!["red", "red", "blue", "teal"])) as ArrayRef),
//!     ("seen", Arc::new(StringArray::from(vec!["2024-02-29", "2024-03-01 08:00:00", "x", "2023-01-01T00:00:00Z"])) as ArrayRef),
//! ])?;
//! let spec = FeatureSpec::from_json(r#"{
//!   "columns": [
//!     {"name": "age", "impute": "median", "missing_indicator": true,
//!      "encode": {"bucketize": {"boundaries": [18, 65]}}},
//!     {"name": "color", "encode": {"vocabulary": {"min_frequency": 2, "oov_buckets": 1}}},
//!     {"name": "seen", "encode": {"date_parts": {"parts": ["year", "weekday"]}}}
//!   ],
//!   "crosses": [{"columns": ["color", "seen"], "buckets": 4}],
//!   "output": "sparse"
//! }"#)?;
//! let pipeline = FeaturePipelineParams::new(spec).check()?.fit(&[train.clone()])?;
//! assert_eq!(pipeline.output_names()[..6],
//!     ["age_bucket[0]", "age_bucket[1]", "age_bucket[2]", "age_missing", "color=red", "color=__oov_0__"]);
//! assert_eq!(pipeline.output_names()[6..8], ["seen_year", "seen_weekday"]);
//!
//! let features = pipeline.transform(&train)?;
//! assert!(matches!(features.matrix(), FeatureMatrix::Sparse(_)));
//! let row = features.to_dense().row(0).to_vec();
//! assert_eq!(row[..8], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 2024.0, 3.0]); // a Thursday
//! assert!(pipeline.check(&[train])?.is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Feature flags
//!
//! | feature | enables | default |
//! |---|---|---|
//! | `toml` | `FeatureSpec::from_toml` and `.toml` files in [`FeatureSpec::load`] | no |
//! | `schemars` | `schemars::JsonSchema` for [`FeatureSpec`] and its parts (the schema is `docs/schemas/feature-spec.schema.json`) | no |

mod analyzer;
mod category_index;
mod check;
mod date_parts;
mod error;
mod fitted;
mod fitted_column;
mod hashing;
mod input_column;
mod output_sink;
mod params;
mod sketch;
mod spec;
mod value_counts;

pub use check::{
    BOUND_TOLERANCE, CheckKind, CheckViolation, FeatureCheckReport, STANDARDIZED_TOLERANCE,
};
pub use error::FeaturesError;
pub use fitted::FittedFeaturePipeline;
pub use params::{BatchSink, FeaturePipelineParams, FeaturePipelineValidParams};
pub use spec::{
    BucketizeParams, ClipParams, ColumnSpec, ConstantValue, CrossSpec, DatePart, DatePartsParams,
    Encoding, FeatureSpec, HashParams, Imputation, MAX_HASH_BUCKETS, MAX_OUTPUT_COLUMNS,
    MinMaxScaleParams, OutputLayout, QuantileBucketizeParams, RobustScaleParams,
    SPARSE_DENSITY_THRESHOLD, VocabularyParams,
};

// What users need to name this crate's inputs and outputs, so that depending
// on `mlrig-features` alone is enough (one path each; see docs/architecture.md).
pub use mlrig_core::Error as CoreError;
pub use mlrig_core::{
    Accumulator, Artifact, ArtifactHeader, FeatureMatrix, Features, Fingerprint, Fit, ParamGuard,
    Stored, Transform, arrow_array, arrow_schema, ndarray, sprs,
};

/// The README's code, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
