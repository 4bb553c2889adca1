//! [`Validator`]: checks record batches against a [`Schema`] in one
//! streaming pass and reports [`Anomalies`] with example rows.
//!
//! | check | anomaly kind |
//! |---|---|
//! | a schema feature (in the environment) has no column and its presence requires one | `SCHEMA_MISSING_COLUMN` |
//! | a column is not in the schema | `SCHEMA_NEW_COLUMN` |
//! | the column's Arrow type does not fit the feature type (`INT` ← integers/booleans, `FLOAT` ← floats, `BYTES` ← strings and types mlrig does not interpret) | `UNEXPECTED_DATA_TYPE` |
//! | string values outside the domain (beyond `1 − distributionConstraints.minDomainMass`, default any) | `ENUM_TYPE_UNEXPECTED_STRING_VALUES` |
//! | integers outside `intDomain` | `INT_TYPE_SMALL_INT` / `INT_TYPE_BIG_INT` |
//! | floats outside `floatDomain` (NaN is never out of range) | `FLOAT_TYPE_SMALL_FLOAT` / `FLOAT_TYPE_BIG_FLOAT` |
//! | NaN / ±∞ where `floatDomain` disallows them | `FLOAT_TYPE_HAS_NAN` / `FLOAT_TYPE_HAS_INF` |
//! | present in fewer examples than `presence.minFraction` / `minCount` | `FEATURE_TYPE_LOW_FRACTION_PRESENT` / `FEATURE_TYPE_LOW_NUMBER_PRESENT` |
//! | a present value is 1 value, below `valueCount.min` / above `valueCount.max` (or the single entry of `valueCounts`) | `FEATURE_TYPE_LOW_NUMBER_VALUES` / `FEATURE_TYPE_HIGH_NUMBER_VALUES` |
//! | `valueCounts` lists more than one nesting level (a column is one level) | `VALUE_NESTEDNESS_MISMATCH` |
//! | `datasetConstraints` example counts, and their ratio to the previous span's / version's ([`ValidationOptions::with_previous_span_num_examples`]) | `DATASET_LOW_NUM_EXAMPLES` / `DATASET_HIGH_NUM_EXAMPLES`, `COMPARATOR_LOW_NUM_EXAMPLES` / `COMPARATOR_HIGH_NUM_EXAMPLES` (see [`DatasetConstraints`](crate::DatasetConstraints)) |
//!
//! Value counts are checked as TFDV checks them from the statistics'
//! `minNumValues` / `maxNumValues`: mlrig's columns hold one value per
//! present example (null is missing, not an empty list), so `valueCount.min:
//! 2` flags every present example, and so does `valueCount.max: 0`; both are
//! row-level kinds, so [`ValidationOptions::with_all_rows`] lists every
//! offending row. Value-count and nestedness descriptions are TFDV's words.
//!
//! Example rows are 0-based indices of data rows across all batches, in the
//! order the batches were given: at most
//! [`max_example_rows`](ValidationOptions::max_example_rows) per anomaly, or,
//! with [`ValidationOptions::with_all_rows`], every offending row of the
//! [row-level](AnomalyKind::is_row_level) kinds (the string, int and float
//! value checks above). Memory then grows with the number of offending rows
//! only (8 bytes each); the column-level kinds (missing or new column,
//! unexpected type, low presence) keep `max_example_rows` examples.
//!
//! Environments work as in TFDV: with [`ValidationOptions::environment`] set,
//! only features in that environment are checked (a label with
//! `notInEnvironment: ["SERVING"]` may be absent at `SERVING`), and a column
//! for a feature outside the environment is not a new column. Without an
//! environment every feature is checked. Features whose lifecycle stage is
//! deprecated, disabled, planned, alpha or debug-only are not checked.

mod feature_check;

use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_core::arrow_schema::SchemaRef;
use serde::{Deserialize, Serialize};

use crate::ValidateError;
use crate::anomalies::{Anomalies, Anomaly, AnomalyKind};
use crate::dataset_constraints::NumExamples;
use crate::schema::{DatasetConstraints, Schema};
use feature_check::{FeatureCheck, Finding};

/// Options of a validation.
///
/// ```
/// use mlrig_validate::ValidationOptions;
/// let o = ValidationOptions::default().with_environment("SERVING");
/// assert_eq!(o.environment.as_deref(), Some("SERVING"));
/// assert_eq!(o.max_example_rows, 5);
/// assert!(!o.all_rows);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValidationOptions {
    /// The environment the data comes from (e.g. `SERVING`); `None` checks every feature.
    pub environment: Option<String>,
    /// Example rows kept per anomaly (default 5).
    pub max_example_rows: usize,
    /// Distinct unexpected string values listed per anomaly (default 10).
    pub max_example_values: usize,
    /// List every offending row of the [row-level](AnomalyKind::is_row_level)
    /// anomalies instead of `max_example_rows` examples (default `false`).
    #[serde(default)]
    pub all_rows: bool,
    /// Examples in the previous span, for the schema's
    /// `datasetConstraints.numExamplesDriftComparator` (default none: not
    /// checked).
    #[serde(default)]
    pub previous_span_num_examples: Option<u64>,
    /// Examples in the previous version, for the schema's
    /// `datasetConstraints.numExamplesVersionComparator` (default none: not
    /// checked).
    #[serde(default)]
    pub previous_version_num_examples: Option<u64>,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            environment: None,
            max_example_rows: 5,
            max_example_values: 10,
            all_rows: false,
            previous_span_num_examples: None,
            previous_version_num_examples: None,
        }
    }
}

impl ValidationOptions {
    /// Sets [`environment`](Self::environment).
    ///
    /// ```
    /// # use mlrig_validate::ValidationOptions;
    /// assert!(ValidationOptions::default().with_environment("TRAINING").environment.is_some());
    /// ```
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Sets [`max_example_rows`](Self::max_example_rows).
    ///
    /// ```
    /// # use mlrig_validate::ValidationOptions;
    /// assert_eq!(ValidationOptions::default().with_max_example_rows(2).max_example_rows, 2);
    /// ```
    pub fn with_max_example_rows(mut self, n: usize) -> Self {
        self.max_example_rows = n;
        self
    }

    /// Lists every offending row of the [row-level](AnomalyKind::is_row_level)
    /// anomalies (sets [`all_rows`](Self::all_rows)); other anomalies keep
    /// [`max_example_rows`](Self::max_example_rows) examples. Memory grows by
    /// 8 bytes per offending row.
    ///
    /// ```
    /// use mlrig_core::arrow_array::{Int64Array, RecordBatch};
    /// use mlrig_validate::*;
    /// use std::sync::Arc;
    /// let mut level = Feature::new("level", FeatureType::Int);
    /// level.int_domain = Some(IntDomain { max: Some(3), ..IntDomain::default() });
    /// let mut schema = Schema::default();
    /// schema.features.push(level);
    /// let values: Vec<i64> = (0..100).map(|i| i % 10).collect();
    /// let batch = RecordBatch::try_from_iter([("level", Arc::new(Int64Array::from(values)) as _)]).unwrap();
    /// let options = ValidationOptions::default().with_all_rows();
    /// let anomalies = validate_batches(&schema, &batch.schema(), [&batch], &options)?;
    /// let big = anomalies.get("level", &AnomalyKind::IntTypeBigInt).unwrap();
    /// assert_eq!(big.count, 60);
    /// assert_eq!(big.example_rows.len(), 60);
    /// assert_eq!(big.example_rows[..3], [4, 5, 6]);
    /// # Ok::<(), ValidateError>(())
    /// ```
    pub fn with_all_rows(mut self) -> Self {
        self.all_rows = true;
        self
    }

    /// Sets [`previous_span_num_examples`](Self::previous_span_num_examples),
    /// e.g. from the previous span's
    /// [`DatasetStatistics::num_examples`](crate::DatasetStatistics::num_examples).
    ///
    /// ```
    /// use mlrig_core::arrow_array::{Int64Array, RecordBatch};
    /// use mlrig_validate::*;
    /// let mut schema = Schema::from_pbtxt(
    ///     "feature { name: 'x' type: INT }
    ///      dataset_constraints { num_examples_drift_comparator { min_fraction_threshold: 0.5 } }")?;
    /// let batch = RecordBatch::try_from_iter([
    ///     ("x", std::sync::Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
    /// ]).unwrap();
    /// let options = ValidationOptions::default().with_previous_span_num_examples(10);
    /// let anomalies = validate_batches(&schema, &batch.schema(), [&batch], &options)?;
    /// assert_eq!(anomalies.to_string(),
    ///     "(dataset): COMPARATOR_LOW_NUM_EXAMPLES: expected at least 0.5 × the previous span's \
    ///      10 examples, found 3 examples, 0.3 × the previous span's 10");
    /// # Ok::<(), ValidateError>(())
    /// ```
    pub fn with_previous_span_num_examples(mut self, count: u64) -> Self {
        self.previous_span_num_examples = Some(count);
        self
    }

    /// Sets [`previous_version_num_examples`](Self::previous_version_num_examples).
    ///
    /// ```
    /// # use mlrig_validate::ValidationOptions;
    /// let o = ValidationOptions::default().with_previous_version_num_examples(7);
    /// assert_eq!(o.previous_version_num_examples, Some(7));
    /// ```
    pub fn with_previous_version_num_examples(mut self, count: u64) -> Self {
        self.previous_version_num_examples = Some(count);
        self
    }

    /// Sets [`max_example_values`](Self::max_example_values).
    ///
    /// ```
    /// # use mlrig_validate::ValidationOptions;
    /// assert_eq!(ValidationOptions::default().with_max_example_values(3).max_example_values, 3);
    /// ```
    pub fn with_max_example_values(mut self, n: usize) -> Self {
        self.max_example_values = n;
        self
    }
}

#[derive(Debug)]
struct NewColumn {
    column: usize,
    present: Finding,
}

/// Streaming validation of batches against a schema.
///
/// ```
/// use mlrig_core::arrow_array::{Int64Array, RecordBatch};
/// use mlrig_validate::{AnomalyKind, Feature, FeatureType, IntDomain, Schema, Validator};
/// use std::sync::Arc;
///
/// let mut age = Feature::new("age", FeatureType::Int);
/// age.int_domain = Some(IntDomain { min: Some(0), max: Some(120), ..IntDomain::default() });
/// let mut schema = Schema::default();
/// schema.features.push(age);
///
/// let batch = RecordBatch::try_from_iter([
///     ("age", Arc::new(Int64Array::from(vec![30, 150, 40, 200])) as _),
/// ]).unwrap();
/// let mut validator = Validator::new(&schema, &batch.schema())?;
/// validator.update(&batch)?;
/// validator.update(&batch)?;
/// let anomalies = validator.finish();
/// let big = anomalies.get("age", &AnomalyKind::IntTypeBigInt).unwrap();
/// assert_eq!((big.count, big.example_rows.clone()), (4, vec![1, 3, 5, 7]));
/// assert_eq!(big.found, "200");
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug)]
pub struct Validator {
    options: ValidationOptions,
    batch_schema: SchemaRef,
    checks: Vec<FeatureCheck>,
    new_columns: Vec<NewColumn>,
    dataset_constraints: Option<DatasetConstraints>,
    num_examples: u64,
}

impl Validator {
    /// A validator for batches with `batch_schema`, checking every feature.
    ///
    /// ```
    /// use mlrig_core::arrow_schema::Schema as ArrowSchema;
    /// use mlrig_validate::{Schema, Validator};
    /// let v = Validator::new(&Schema::default(), &std::sync::Arc::new(ArrowSchema::empty()))?;
    /// assert!(v.finish().data_missing);
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn new(schema: &Schema, batch_schema: &SchemaRef) -> Result<Self, ValidateError> {
        Self::with_options(schema, batch_schema, &ValidationOptions::default())
    }

    /// A validator with options. Fails on an environment the schema does not
    /// define and on a `domain` reference to no domain.
    ///
    /// ```
    /// use mlrig_core::arrow_schema::Schema as ArrowSchema;
    /// use mlrig_validate::{Schema, ValidationOptions, Validator};
    /// let err = Validator::with_options(
    ///     &Schema::default(),
    ///     &std::sync::Arc::new(ArrowSchema::empty()),
    ///     &ValidationOptions::default().with_environment("SERVING"),
    /// ).unwrap_err();
    /// assert!(err.to_string().contains("SERVING"));
    /// ```
    pub fn with_options(
        schema: &Schema,
        batch_schema: &SchemaRef,
        options: &ValidationOptions,
    ) -> Result<Self, ValidateError> {
        schema.require_environment(options.environment.as_deref())?;
        let mut claimed = vec![false; batch_schema.fields().len()];
        let mut checks = Vec::new();
        for feature in schema.features() {
            let column = batch_schema.index_of(&feature.name).ok();
            if let Some(i) = column {
                // Known to the schema: never a new column, even when not checked.
                claimed[i] = true;
            }
            if !schema.checks_feature(feature, options.environment.as_deref()) {
                continue;
            }
            checks.push(FeatureCheck::new(schema, feature, batch_schema, column)?);
        }
        let new_columns = claimed
            .iter()
            .enumerate()
            .filter(|(_, claimed)| !**claimed)
            .map(|(column, _)| NewColumn {
                column,
                present: Finding::default(),
            })
            .collect();
        Ok(Self {
            options: options.clone(),
            batch_schema: batch_schema.clone(),
            checks,
            new_columns,
            dataset_constraints: schema.dataset_constraints.clone(),
            num_examples: 0,
        })
    }

    /// Checks one batch (its schema must be the one given at construction).
    ///
    /// ```
    /// use mlrig_core::arrow_array::{Int64Array, RecordBatch};
    /// use mlrig_validate::{Schema, Validator};
    /// use std::sync::Arc;
    /// let a = RecordBatch::try_from_iter([("a", Arc::new(Int64Array::from(vec![1])) as _)]).unwrap();
    /// let b = RecordBatch::try_from_iter([("b", Arc::new(Int64Array::from(vec![1])) as _)]).unwrap();
    /// let mut v = Validator::new(&Schema::default(), &a.schema())?;
    /// assert!(v.update(&b).is_err());
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn update(&mut self, batch: &RecordBatch) -> Result<(), ValidateError> {
        self.check_batch(batch)?;
        let offset = self.num_examples;
        let max_rows = self.options.max_example_rows;
        let value_rows = if self.options.all_rows {
            usize::MAX
        } else {
            max_rows
        };
        let max_values = self.options.max_example_values;
        for check in &mut self.checks {
            let Some(i) = check.column else { continue };
            let array = batch.column(i);
            check.update(array, offset, max_rows, value_rows, max_values);
        }
        for new in &mut self.new_columns {
            let array = batch.column(new.column);
            for row in 0..array.len() {
                if array.is_valid(row) {
                    new.present.record(offset + row as u64, max_rows);
                }
            }
        }
        self.num_examples += batch.num_rows() as u64;
        Ok(())
    }

    fn check_batch(&self, batch: &RecordBatch) -> Result<(), ValidateError> {
        let expected = self.batch_schema.fields();
        let found = batch.schema();
        let found = found.fields();
        if expected.len() != found.len() {
            return Err(ValidateError::BatchSchemaMismatch {
                column: "(columns)".into(),
                expected: format!("{} columns", expected.len()),
                found: format!("{} columns", found.len()),
            });
        }
        for (e, f) in expected.iter().zip(found.iter()) {
            if e.name() != f.name() || e.data_type() != f.data_type() {
                return Err(ValidateError::BatchSchemaMismatch {
                    column: e.name().clone(),
                    expected: format!("`{}` {}", e.name(), e.data_type()),
                    found: format!("`{}` {}", f.name(), f.data_type()),
                });
            }
        }
        Ok(())
    }

    /// Everything found, ordered by feature name.
    ///
    /// ```
    /// # use mlrig_core::arrow_schema::Schema as ArrowSchema;
    /// # use mlrig_validate::{Schema, Validator};
    /// let v = Validator::new(&Schema::default(), &std::sync::Arc::new(ArrowSchema::empty()))?;
    /// assert!(!v.finish().is_empty()); // no examples at all is an anomaly (dataMissing)
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn finish(self) -> Anomalies {
        let mut anomalies = Anomalies::default();
        let n = self.num_examples;
        if let Some(constraints) = &self.dataset_constraints {
            let counts = NumExamples {
                current: n,
                previous_span: self.options.previous_span_num_examples,
                previous_version: self.options.previous_version_num_examples,
            };
            for anomaly in constraints.check(counts) {
                anomalies.push(anomaly);
            }
        }
        if n == 0 {
            anomalies.data_missing = true;
            return anomalies;
        }
        let max_rows = self.options.max_example_rows as u64;
        for check in self.checks {
            check.finish(n, max_rows, &mut anomalies);
        }
        for new in self.new_columns {
            let field = self.batch_schema.field(new.column);
            anomalies.push(Anomaly::new(
                field.name().clone(),
                AnomalyKind::SchemaNewColumn,
                format!("no column `{}` (it is not in the schema)", field.name()),
                format!("a {} column", field.data_type()),
                new.present.count,
                new.present.rows,
            ));
        }
        anomalies
    }
}

/// Validates `batches` (all with `batch_schema`) against `schema`.
///
/// ```
/// use mlrig_core::arrow_array::{RecordBatch, StringArray};
/// use mlrig_validate::*;
/// use std::sync::Arc;
/// let train = RecordBatch::try_from_iter([
///     ("colour", Arc::new(StringArray::from(vec!["red", "blue"])) as _),
/// ]).unwrap();
/// let stats = compute_statistics(&[train.clone()], &train.schema(), &StatisticsParams::default())?;
/// let schema = infer_schema(&stats, &SchemaInferenceParams::default());
///
/// let serving = RecordBatch::try_from_iter([
///     ("colour", Arc::new(StringArray::from(vec![Some("red"), Some("green"), None])) as _),
/// ]).unwrap();
/// let anomalies = validate_batches(&schema, &serving.schema(), [&serving], &ValidationOptions::default())?;
/// assert_eq!(anomalies.len(), 2);
/// assert_eq!(anomalies.to_string(),
///     "colour: ENUM_TYPE_UNEXPECTED_STRING_VALUES: expected values from domain `colour` (2 values), \
///      found 50.00% of values outside it: \"green\" (1) (1 example; rows 1)\n\
///      colour: FEATURE_TYPE_LOW_FRACTION_PRESENT: expected present in at least 100.00% of examples, \
///      found present in 66.67% (2 of 3) (1 example; rows 2)");
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
pub fn validate_batches<'a>(
    schema: &Schema,
    batch_schema: &SchemaRef,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
    options: &ValidationOptions,
) -> Result<Anomalies, ValidateError> {
    let mut validator = Validator::with_options(schema, batch_schema, options)?;
    for batch in batches {
        validator.update(batch)?;
    }
    Ok(validator.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Feature, FeaturePresence, FeatureType, FloatDomain, StringDomain};
    use mlrig_core::arrow_array::ArrayRef;
    use mlrig_core::arrow_array::{Float64Array, Int64Array, StringArray};
    use std::sync::Arc;

    /// A schema with a bounded int, a NaN-free float, a string domain, a
    /// required feature absent from the data, and data with a new column.
    fn schema_and_batches() -> (Schema, Vec<RecordBatch>) {
        let mut schema = Schema::default();
        let mut level = Feature::new("level", FeatureType::Int);
        level.int_domain = Some(crate::schema::IntDomain {
            min: Some(0),
            max: Some(5),
            ..Default::default()
        });
        level.presence = Some(FeaturePresence {
            min_fraction: Some(1.0),
            ..Default::default()
        });
        schema.features.push(level);
        let mut score = Feature::new("score", FeatureType::Float);
        score.float_domain = Some(FloatDomain {
            disallow_nan: true,
            ..Default::default()
        });
        schema.features.push(score);
        let mut colour = Feature::new("colour", FeatureType::Bytes);
        colour.string_domain = Some(StringDomain {
            value: vec!["red".into(), "blue".into()],
            ..Default::default()
        });
        schema.features.push(colour);
        let mut gone = Feature::new("gone", FeatureType::Int);
        gone.presence = Some(FeaturePresence {
            min_count: Some(1),
            ..Default::default()
        });
        schema.features.push(gone);
        let batches = (0..3)
            .map(|b| {
                let rows = 0..40i64;
                let level: Vec<Option<i64>> = rows
                    .clone()
                    .map(|i| if i % 4 == 0 { None } else { Some((i + b) % 9) })
                    .collect();
                let score: Vec<f64> = rows
                    .clone()
                    .map(|i| if i % 3 == 0 { f64::NAN } else { i as f64 })
                    .collect();
                let colour: Vec<&str> = rows
                    .clone()
                    .map(|i| if i % 5 == 0 { "green" } else { "red" })
                    .collect();
                let extra: Vec<i64> = rows.collect();
                RecordBatch::try_from_iter([
                    ("level", Arc::new(Int64Array::from(level)) as ArrayRef),
                    ("score", Arc::new(Float64Array::from(score)) as ArrayRef),
                    ("colour", Arc::new(StringArray::from(colour)) as ArrayRef),
                    ("extra", Arc::new(Int64Array::from(extra)) as ArrayRef),
                ])
                .unwrap()
            })
            .collect();
        (schema, batches)
    }

    fn validate(options: &ValidationOptions) -> Anomalies {
        let (schema, batches) = schema_and_batches();
        validate_batches(&schema, &batches[0].schema(), &batches, options).unwrap()
    }

    #[test]
    fn all_rows_lists_every_offending_row_of_row_level_kinds_only() {
        let capped = validate(&ValidationOptions::default());
        let all = validate(&ValidationOptions::default().with_all_rows());
        assert_eq!(capped.len(), all.len());
        let kinds: Vec<&str> = all.iter().map(|a| a.kind.name()).collect();
        for kind in [
            "ENUM_TYPE_UNEXPECTED_STRING_VALUES",
            "INT_TYPE_BIG_INT",
            "FLOAT_TYPE_HAS_NAN",
            "FEATURE_TYPE_LOW_FRACTION_PRESENT",
            "SCHEMA_MISSING_COLUMN",
            "SCHEMA_NEW_COLUMN",
        ] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        let mut row_level = 0;
        for (a, c) in all.iter().zip(capped.iter()) {
            assert_eq!(
                (&a.feature, &a.kind, a.count),
                (&c.feature, &c.kind, c.count)
            );
            assert_eq!(c.example_rows.len() as u64, c.count.min(5), "{a}");
            assert!(a.example_rows.windows(2).all(|w| w[0] < w[1]), "{a}");
            assert_eq!(a.example_rows[..c.example_rows.len()], c.example_rows[..]);
            if a.kind.is_row_level() {
                row_level += 1;
                assert_eq!(a.example_rows.len() as u64, a.count, "{a}");
            } else {
                assert_eq!(a.example_rows, c.example_rows, "{a}");
            }
        }
        assert_eq!(row_level, 3);
        // The rows are exactly the offending ones.
        let green = all
            .get("colour", &AnomalyKind::EnumTypeUnexpectedStringValues)
            .unwrap();
        let expected: Vec<u64> = (0..120).filter(|i| i % 40 % 5 == 0).collect();
        assert_eq!(green.example_rows, expected);
        let nan = all.get("score", &AnomalyKind::FloatTypeHasNan).unwrap();
        let expected: Vec<u64> = (0..120).filter(|i| i % 40 % 3 == 0).collect();
        assert_eq!(nan.example_rows, expected);
        let big = all.get("level", &AnomalyKind::IntTypeBigInt).unwrap();
        let expected: Vec<u64> = (0..120u64)
            .filter(|i| {
                let (b, r) = (i / 40, i % 40);
                r % 4 != 0 && (r + b) % 9 > 5
            })
            .collect();
        assert_eq!(big.example_rows, expected);
    }

    #[test]
    fn all_rows_survive_the_json_round_trip() {
        let all = validate(&ValidationOptions::default().with_all_rows());
        let json = all.to_tfmd_json().unwrap();
        assert_eq!(Anomalies::from_tfmd_json(&json).unwrap(), all);
    }

    #[test]
    fn options_without_all_rows_still_deserialize() {
        let options: ValidationOptions = serde_json::from_str(
            r#"{"environment":null,"max_example_rows":2,"max_example_values":3}"#,
        )
        .unwrap();
        assert_eq!(options.max_example_rows, 2);
        assert!(!options.all_rows);
        let all = ValidationOptions::default().with_all_rows();
        let back: ValidationOptions =
            serde_json::from_str(&serde_json::to_string(&all).unwrap()).unwrap();
        assert_eq!(back, all);
    }
}
