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
//! RecordBatches ──Validator (streaming, row offsets) ◀────────── Schema   (schema.json / .pbtxt)
//!                      │                                             │ drift/skew comparators
//!                      ▼                                             ▼
//!                 Anomalies ◀──compare / compare_skew── DatasetStatistics × 2
//!                                                        update_schema(Schema, DatasetStatistics) ──▶ Schema + changes
//!                                    drift_tests (KS, PSI, Wasserstein, χ²) ──▶ DriftTestResults
//! ```
//!
//! * [`StatisticsAccumulator`] is an [`mlrig_core::Accumulator`]: counts, exact
//!   min/max and [`mlrig_core::ExactSum`]s, a [`mlrig_core::QuantileSketch`]
//!   (median, histograms; relative value error [`QUANTILE_RELATIVE_ACCURACY`])
//!   and HyperLogLog registers for high-cardinality strings — all integer or
//!   exact state, so [`compute_statistics`] gives the same bits however the
//!   batches are split across threads.
//! * [`StatisticsParams::with_weight_feature`] adds TFDV's weighted
//!   statistics (weighted counts, mean, std-dev, median, histograms, top
//!   values), from exact sums of weights.
//! * [`SlicedStatisticsAccumulator`] / [`compute_sliced_statistics`] add one
//!   dataset per value of a categorical feature (TFDV slice keys such as
//!   `sex_Female`, plus `All Examples`), merged just as exactly.
//! * [`infer_schema`] applies TFDV's rules (type, presence, shape, string
//!   domains) plus optional numeric ranges. A [`Schema`] is read and written
//!   as tfmd JSON or in protobuf text format (`schema.pbtxt`, byte-identical
//!   to TFDV's `write_schema_text`); [`Schema::load`] / [`Schema::save`]
//!   choose by extension.
//! * [`Validator`] / [`validate_batches`] check data against a [`Schema`] in
//!   one pass and name up to five example rows (0-based) per anomaly, or
//!   every offending row of the value-level kinds with
//!   [`ValidationOptions::with_all_rows`] (see [`AnomalyKind::is_row_level`]);
//!   environments (`TRAINING`/`SERVING`) let a label be absent at serving.
//! * Schemas, statistics and anomalies are read and written as proto3 JSON,
//!   text format or binary protobuf ([`TfmdFile`], [`TfmdFormat`]) with
//!   **every** tensorflow-metadata field: what mlrig does not act on is kept
//!   in each message's `unmodelled` map ([`UnmodelledFields`]) and written
//!   back unchanged; in a schema or statistics file, a field tfmd does not have
//!   is an error naming its line (anomalies JSON also carries mlrig's row
//!   details, so it is read leniently).
//!   [`update_schema`] (TFDV's `update_schema`) brings a curated schema up
//!   to date with new statistics, changing only what they violate and
//!   listing each [`SchemaChange`].
//! * [`DatasetConstraints`] (example counts, and their ratio to the previous
//!   span's / version's) are checked by the [`Validator`] and by
//!   [`check_dataset_constraints`]; their anomalies are dataset-level
//!   (feature [`Anomaly::DATASET`], tfmd `datasetAnomalyInfo`).
//! * [`compare`] / [`compare_skew`] apply the schema's `driftComparator` /
//!   `skewComparator` (TFDV's L∞ distance, normalized absolute difference and
//!   Jensen–Shannon divergence); [`drift_tests`] runs Evidently's tests with
//!   Evidently's default thresholds, from statistics alone.
//!
//! Input columns are Arrow `Int64`, `Float64`, `Boolean` and `Utf8` (nullable;
//! null is "missing"). Narrower integers, `Float32`, `LargeUtf8` and
//! `Utf8View` are widened; other types are summarised by presence only.
//!
//! ## Quick start
//!
//! ```
//! use mlrig_validate::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
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
//! // ... or TFDV's text format (schema.pbtxt)
//! assert_eq!(Schema::from_pbtxt(&schema.to_pbtxt()?)?, schema);
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
mod comparator;
mod dataset_constraints;
mod distinct_values;
mod drift;
mod error;
mod hll;
mod probability_distributions;
mod proto_json;
mod schema;
mod schema_file;
mod schema_inference;
mod schema_update;
mod serving_contract;
mod sketch;
mod sliced_statistics;
mod statistics;
mod statistics_accumulator;
mod text_format;
mod tfmd;
mod validator;
mod weighted_statistics;

pub use anomalies::{Anomalies, Anomaly, AnomalyKind, Severity};
pub use comparator::{
    compare, compare_skew, jensen_shannon_divergence, l_infinity_distance,
    normalized_absolute_difference, value_counts,
};
pub use dataset_constraints::{NumExamples, check_dataset_constraints};
pub use drift::{
    DriftTest, DriftTestParams, DriftTestResult, UntestedFeature, UntestedReason, chi_squared,
    chi_squared_two_sample, drift_tests, sketch_jensen_shannon_divergence, untested_features,
};
pub use error::ValidateError;
pub use schema::{
    BoolDomain, DatasetConstraints, Dim, DistributionConstraints, Feature, FeatureComparator,
    FeaturePresence, FeatureType, FixedShape, FloatDomain, HistogramSelection,
    HistogramSelectionType, InfinityNorm, IntDomain, JensenShannonDivergence, LifecycleStage,
    NormalizedAbsoluteDifference, NumericValueComparator, Schema, StringDomain, ValueCount,
    ValueCountList,
};
pub use schema_inference::{SchemaInferenceParams, infer_schema};
pub use schema_update::{
    SchemaChange, SchemaChangeKind, SchemaUpdate, SchemaUpdateOptions, update_schema,
};
pub use serving_contract::input_contract;
pub use sketch::QUANTILE_RELATIVE_ACCURACY;
pub use sliced_statistics::{
    DEFAULT_SLICE_KEY, SlicedStatistics, SlicedStatisticsAccumulator, compute_sliced_statistics,
};
pub use statistics::{
    BytesStatistics, CommonStatistics, CustomStatistic, DISTINCT_CAPPED, DatasetStatistics,
    FeatureStatistics, FreqAndValue, Histogram, HistogramBucket, HistogramType, NumericStatistics,
    RankBucket, RankHistogram, StatisticsType, StringStatistics, VALUE_SKETCH, ValueStatistics,
    WeightedCommonStatistics, WeightedNumericStatistics, WeightedStringStatistics,
};
pub use statistics_accumulator::{StatisticsAccumulator, StatisticsParams, compute_statistics};
pub use tfmd::{TfmdFile, TfmdFormat, UnmodelledFields};
pub use validator::{ValidationOptions, Validator, validate_batches};

// What users need to name this crate's inputs and outputs, so that depending
// on `mlrig-validate` alone is enough (one path each; see docs/architecture.md).
pub use mlrig_core::Error as CoreError;
pub use mlrig_core::{Accumulator, arrow_array, arrow_schema};

/// Helpers shared by the unit tests of several modules.
#[cfg(test)]
pub(crate) mod test_support {
    use mlrig_core::arrow_array::{ArrayRef, RecordBatch};

    /// The statistics of one batch made of `columns`.
    pub(crate) fn stats_of(columns: Vec<(&str, ArrayRef)>) -> crate::DatasetStatistics {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        crate::compute_statistics(
            std::slice::from_ref(&batch),
            &batch.schema(),
            &crate::StatisticsParams::default(),
        )
        .unwrap()
    }
}

/// The README's code, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
