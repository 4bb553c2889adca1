//! # mlrig-core
//!
//! The types and traits every mlrig component shares. Tiny and stable: the
//! component crates (`mlrig-ingest`, `-validate`, `-features`, `-train`,
//! `-serve`, `-monitor`) depend on this crate and never on each other.
//!
//! ## Data flow
//!
//! ```text
//! CSV / JSON ──ingest──▶ RecordBatch stream ──Accumulator──▶ statistics, vocabularies, sketches
//!                              │
//!                              └──Transform──▶ Features (ndarray / CSR) ──Predict──▶ Predictions
//! serving: JSON record ──records_to_batch──▶ one-row RecordBatch ──(same Transform, same Predict)
//! everything fitted ──Artifact──▶ versioned, fingerprinted JSON ──BundleWriter──▶ <name>/<version>/
//! ```
//!
//! * Tables are Arrow [`RecordBatch`](arrow_array::RecordBatch)es (re-exported
//!   [`arrow_array`], [`arrow_schema`]); streams are iterators of batches.
//! * [`Features`] are a dense [`ndarray::Array2`] or a CSR [`sprs::CsMat`] with
//!   column names; models return [`Predictions`] and, when they can explain
//!   them, per-feature [`Contributions`].
//! * [`Accumulator`]s merge exactly — [`ExactSum`] makes float sums independent
//!   of order — so statistics are the same bits however the data is split.
//! * [`ParamGuard`] / [`Fit`]: params → checked params → fitted value.
//! * [`Artifact`]: format version, content [`Fingerprint`], lineage, atomic writes.
//! * Crash consistency: an [`AtomicFile`] or a [`StagedDir`] appears complete
//!   or not at all; their temporary names record the owner (host and pid), so
//!   the next writer removes what a killed one left ([`remove_abandoned_temps`]).
//! * [`Artifact`]: format version (a newer one refused, an older one migrated
//!   through [`Artifact::migrate`]), content [`Fingerprint`] of the body as
//!   written, lineage, atomic writes.
//! * [`ModelBundle`]: the directory a model travels as; [`Servable`] is what a
//!   server runs, and its [`InputContract`] (built from the training schema)
//!   what a request must look like: [`InputContract::check`] refuses a wrong
//!   JSON type, a missing required field or an unseen category, and counts
//!   what [`ContractRules`] let through ([`InputAnomalyCount`]).
//! * [`QuantileSketch`]: a DDSketch-style quantile sketch with relative value
//!   error `α` ([`SketchParams`]), an optional exact mode and an exact merge.
//! * [`SplitRule`] ([`key_hash`]): the deterministic train/eval split shared by
//!   ingestion and training (a frozen key hash, so a row's side never changes).
//! * [`Fnv1a64`] / [`fnv1a_64`]: the one hash of persisted or shared values;
//!   [`OrderedF64`]: the one total-order `f64` (map keys of float values).
//! * Deterministic math: nothing persisted or merged calls the platform's
//!   math library; transcendental functions come from the pure-Rust
//!   [`libm`](https://docs.rs/libm) crate (clippy's `disallowed-methods`
//!   forbids `f64::ln` & co. in the workspace), so the same input gives the
//!   same bits on every machine.
//!
//! ## Quick start
//!
//! ```
//! use mlrig_core::{Features, records_to_batch, ExactSum};
//! use mlrig_core::arrow_schema::{DataType, Field, Schema};
//! use mlrig_core::ndarray::array;
//! use std::sync::Arc;
//!
//! // A serving request becomes a one-row batch with the training schema.
//! let schema = Arc::new(Schema::new(vec![Field::new("age", DataType::Float64, true)]));
//! let batch = records_to_batch(&[serde_json::json!({"age": 39})], &schema)?;
//! assert_eq!(batch.num_rows(), 1);
//!
//! // Features carry names; dense and sparse convert losslessly.
//! let f = Features::dense(vec!["age".into()], array![[39.0]])?;
//! assert_eq!(f.to_sparse_features().to_dense(), f.to_dense());
//!
//! // Exact sums do not depend on order.
//! let mut s = ExactSum::default();
//! for v in [1e16, 1.0, -1e16] { s.add(v); }
//! assert_eq!(s.value(), 1.0);
//! # Ok::<(), mlrig_core::Error>(())
//! ```
//!
//! ## Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `schemars` | `schemars::JsonSchema` for [`ContractRules`] and [`ContractAction`] (server config files) |

pub use arrow_array;
pub use arrow_schema;
pub use ndarray;
pub use sprs;

mod accumulator;
mod artifact;
mod atomic_file;
mod bundle;
mod caught_panic;
mod contributions;
mod error;
mod exact_sum;
mod features;
mod features_builder;
mod input_contract;
mod monitoring_source;
mod ordered_f64;
mod params;
mod predictions;
mod quantile_sketch;
mod records;
mod request_log_counters;
mod schema_reference;
mod served;
mod split;
mod stable_hash;
mod staged_dir;
mod temp_owner;
mod transform;

pub use accumulator::{Accumulator, ParallelAccumulation, accumulate_par};
pub use artifact::{Artifact, ArtifactHeader, Fingerprint, Stored};
pub use atomic_file::{AtomicFile, write_atomic};
pub use bundle::{
    BUNDLE_FORMAT_VERSION, BUNDLE_STAGING_PREFIX, BundleFile, BundleManifest, BundleWriter,
    MANIFEST_FILE, ModelBundle, PREDICTED_CLASS_FEATURE, PREDICTION_STATISTICS_FILE, SCORE_FEATURE,
};
pub use caught_panic::{catch_panic, quiet_caught_panics};
pub use contributions::Contributions;
pub use error::{Error, Result};
pub use exact_sum::ExactSum;
pub use features::{FeatureMatrix, Features};
pub use features_builder::FeaturesBuilder;
pub use input_contract::{
    ContractAction, ContractCheck, ContractRules, ContractViolation, FieldContract,
    InputAnomalyCount, InputAnomalyKind, InputContract, MAX_REPORTED_VIOLATIONS, ValueDomain,
    ValueKind,
};
pub use monitoring_source::MonitoringSource;
pub use ordered_f64::OrderedF64;
pub use params::{Fit, ParamGuard};
pub use predictions::Predictions;
pub use quantile_sketch::{
    LogBuckets, MAX_RELATIVE_ACCURACY, MIN_RELATIVE_ACCURACY, QuantileSketch, SketchBatch,
    SketchBucket, SketchParams, quantile_of_buckets,
};
pub use records::{
    batch_to_records, column_list, describe_json, record_to_batch, records_to_batch,
};
pub use request_log_counters::RequestLogCounters;
pub use schema_reference::ignore_schema_reference;
#[cfg(feature = "toml")]
pub use schema_reference::toml_error_message;
pub use served::ServedPredictions;
pub use split::{SplitRule, is_key_type, key_hash};
pub use stable_hash::{Fnv1a64, fnv1a_64};
pub use staged_dir::StagedDir;
pub use temp_owner::{
    STAGED_DIR_PREFIX, TEMP_FILE_PREFIX, is_abandoned_temp, owned_temp_prefix,
    remove_abandoned_temps,
};
pub use transform::{Predict, Servable, ServableInfo, Task, Transform};

/// The README's code, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
