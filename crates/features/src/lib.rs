//! # mlrig-features
//!
//! Fitted feature pipelines: standard scaling, mean / most-frequent
//! imputation, one-hot encoding, passthrough and drop, declared in a serde
//! [`FeatureSpec`] and applied by **one code path** to training batches and to
//! single serving records, so training/serving skew cannot come from code.
//!
//! ## Data flow
//!
//! ```text
//! FeatureSpec (JSON / TOML / Rust / FeatureSpec::infer)
//!    │ FeaturePipelineParams::new(spec).check()            spec errors: typos, duplicates, mean+one_hot
//!    ▼
//! FeaturePipelineValidParams ──fit(&[RecordBatch])──▶ FittedFeaturePipeline ──save/load──▶ artifact JSON
//!    two passes of exactly-mergeable Accumulators              │
//!    (rayon over batches; counts, ExactSum, BTreeMap)          │ transform(&RecordBatch) ─▶ Features (dense)
//!                                                              │
//! serving: JSON record ──record_to_batch(input_schema)──▶ one-row batch ──(same transform)──▶ Features
//! ```
//!
//! * Columns are looked up **by name**: batches may carry extra columns (the
//!   target) in any order; a missing column or a wrong Arrow type is an error
//!   naming the column and the expected and found types.
//! * Numeric inputs are `Int64` (cast to `f64`) or `Float64`. A null or NaN
//!   is a **missing** value (imputed, or NaN out of a numeric encoding and
//!   all zeros out of one-hot); **±∞ is an error** naming the column and row.
//! * Statistics match scikit-learn: `StandardScaler` (population std, scale 1
//!   for a constant column, fitted on the imputed column as in a `Pipeline`),
//!   `SimpleImputer` (`mean`; `most_frequent` with ties to the smallest value),
//!   `OneHotEncoder(handle_unknown="ignore")` with sorted categories.
//! * Fitting on any split of the data gives the same pipeline bit for bit, and
//!   the output names are stable and readable (`age`, `workclass=Private`).
//!
//! ## Quick start
//!
//! ```
//! use mlrig_core::{Artifact, Fit, ParamGuard, Transform};
//! use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
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
//! ## Feature flags
//!
//! none.

mod analyzer;
mod error;
mod fitted;
mod input_column;
mod params;
mod spec;

pub use error::FeaturesError;
pub use fitted::FittedFeaturePipeline;
pub use params::{FeaturePipelineParams, FeaturePipelineValidParams};
pub use spec::{ColumnSpec, Encoding, FeatureSpec, Imputation};
