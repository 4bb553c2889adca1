//! # mlrig-validate
//!
//! Data validation for mlrig, compatible with TensorFlow Data Validation's
//! formats: statistics, schemas and anomalies are the tensorflow-metadata
//! protos in their JSON mapping, so files move between mlrig and TFDV/Facets.
//!
//! ## Data flow
//!
//! ```text
//! RecordBatches ──StatisticsAccumulator (rayon, exact merge)──▶ DatasetStatistics  (statistics.json)
//!                                                                    │
//!                                                        infer_schema│
//!                                                                    ▼
//! RecordBatches ──Validator (streaming, row offsets) ◀────────── Schema            (schema.json)
//!                      │
//!                      ▼
//!                 Anomalies  (feature, kind, expected vs found, count, example rows)
//! ```
//!
//! * [`StatisticsAccumulator`] is an [`mlrig_core::Accumulator`]: counts, exact
//!   min/max and [`mlrig_core::ExactSum`]s, so [`compute_statistics`] gives the
//!   same bits however the batches are split across threads.
//! * [`infer_schema`] applies TFDV's rules (type, presence, shape, string
//!   domains) plus optional numeric ranges.
//! * [`Validator`] / [`validate_batches`] check data against a [`Schema`] in
//!   one pass and name up to five example rows (0-based) per anomaly;
//!   environments (`TRAINING`/`SERVING`) let a label be absent at serving.
//!
//! Input columns are Arrow `Int64`, `Float64`, `Boolean` and `Utf8` (nullable;
//! null is "missing"). Narrower integers, `Float32`, `LargeUtf8` and
//! `Utf8View` are widened; other types are summarised by presence only.
//!
//! ## Quick start
//!
//! ```
//! use mlrig_core::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
//! use mlrig_validate::*;
//! use std::sync::Arc;
//!
//! let batch = |ages: Vec<Option<i64>>, jobs: Vec<&str>| {
//!     RecordBatch::try_from_iter([
//!         ("age", Arc::new(Int64Array::from(ages)) as ArrayRef),
//!         ("job", Arc::new(StringArray::from(jobs)) as ArrayRef),
//!     ])
//!     .unwrap()
//! };
//! let train = batch(vec![Some(25), Some(40), Some(61)], vec!["Private", "State-gov", "Private"]);
//!
//! // 1. statistics (tfmd DatasetFeatureStatisticsList JSON)
//! let stats = compute_statistics(&[train.clone()], &train.schema(), &StatisticsParams::default())?;
//! assert_eq!(stats.feature("job").unwrap().string().unwrap().top_values[0].value, "Private");
//! assert!(stats.to_tfmd_json()?.contains("\"numExamples\": \"3\""));
//!
//! // 2. schema (tfmd Schema JSON)
//! let schema = infer_schema(&stats, &SchemaInferenceParams::default());
//! assert_eq!(schema.feature("age").unwrap().int_domain.as_ref().unwrap().max, Some(61));
//!
//! // 3. validation
//! let serving = batch(vec![Some(30), None, Some(95)], vec!["Private", "Space-agency", "Private"]);
//! let anomalies = validate_batches(&schema, &serving.schema(), [&serving], &ValidationOptions::default())?;
//! let kinds: Vec<_> = anomalies.iter().map(|a| (a.feature.as_str(), a.kind.name())).collect();
//! assert_eq!(kinds, [
//!     ("age", "INT_TYPE_BIG_INT"),
//!     ("age", "FEATURE_TYPE_LOW_FRACTION_PRESENT"),
//!     ("job", "ENUM_TYPE_UNEXPECTED_STRING_VALUES"),
//! ]);
//! assert_eq!(anomalies.get("age", &AnomalyKind::IntTypeBigInt).unwrap().example_rows, [2]);
//! println!("{anomalies}"); // one line per anomaly
//! # Ok::<(), ValidateError>(())
//! ```
//!
//! ## Feature flags
//!
//! None.

mod anomalies;
mod column_values;
mod distinct_values;
mod error;
mod proto_json;
mod schema;
mod schema_inference;
mod statistics;
mod statistics_accumulator;
mod validator;

pub use anomalies::{Anomalies, Anomaly, AnomalyKind, Severity};
pub use error::ValidateError;
pub use schema::{
    BoolDomain, Dim, DistributionConstraints, Feature, FeaturePresence, FeatureType, FixedShape,
    FloatDomain, IntDomain, LifecycleStage, Schema, StringDomain, ValueCount,
};
pub use schema_inference::{SchemaInferenceParams, infer_schema};
pub use statistics::{
    BytesStatistics, CommonStatistics, CustomStatistic, DISTINCT_CAPPED, DatasetStatistics,
    FeatureStatistics, FreqAndValue, Histogram, HistogramBucket, HistogramType, NumericStatistics,
    RankBucket, RankHistogram, StatisticsType, StringStatistics, ValueStatistics,
};
pub use statistics_accumulator::{StatisticsAccumulator, StatisticsParams, compute_statistics};
pub use validator::{ValidationOptions, Validator, validate_batches};
