//! [`update_schema`]: a curated schema brought up to date with new
//! statistics, as TFDV's `tfdv.update_schema(schema, statistics)` does.
//!
//! The user's schema is kept as it is; only what the statistics violate is
//! changed, by the smallest change that makes the statistics valid, and
//! every change is listed as a [`SchemaChange`]:
//!
//! | the statistics show | change ([`SchemaChangeKind`]) |
//! |---|---|
//! | a feature the schema lacks | the feature is inferred with [`infer_schema`](crate::infer_schema)'s rules ([`SchemaUpdateOptions::inference`]) and appended, with its string domain (`added_feature`) |
//! | string values outside the domain (beyond `1 − distributionConstraints.minDomainMass`) | the values, sorted, are appended to the domain — the schema-level one when the feature names it, shared with the features that use it (`extended_domain`) |
//! | integers / floats outside `intDomain` / `floatDomain` | the bound moves to the observed min / max (floats rounded outwards to `f32`; an infinite value removes the bound) (`relaxed_constraint`) |
//! | NaN / ±∞ where `floatDomain` disallows them | `disallowNan` / `disallowInf` cleared (`relaxed_constraint`) |
//! | present in a smaller fraction / fewer examples than `presence` asks | `minFraction` / `minCount` lowered to what was observed; a `shape` (which needs a value in every example) is removed (`relaxed_constraint`) |
//! | fewer / more values per example than `valueCount` allows | `min` / `max` moved to the observed `minNumValues` / `maxNumValues`; a `valueCounts` with the wrong nesting becomes a `valueCount` of what was observed (`relaxed_constraint`) |
//! | a column the schema requires is missing, or has another type | the feature is marked `lifecycle_stage: DEPRECATED`, as TFDV does (`deprecated_feature`) |
//!
//! A constraint the statistics satisfy is never touched, so a deliberate
//! tightening stays. Features that are not validated (deprecated, disabled,
//! planned, …) and, with [`SchemaUpdateOptions::environment`], features
//! outside that environment are left alone, so a deprecated feature stays
//! deprecated and a label absent at `SERVING` is not deprecated.
//! `datasetConstraints`, comparators and environments are never changed
//! (TFDV does not relax dataset constraints either: they describe the
//! expected size of every span). Statistics of no examples change nothing.
//!
//! The result validates the data the statistics describe: a feature whose
//! string statistics list only some of its values (more distinct values
//! than the statistics' cap) gets the listed values only.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidateError;
use crate::schema::{Feature, FeatureType, LifecycleStage, Schema, ValueCount};
use crate::schema_inference::{
    SchemaInferenceParams, f32_ceil, f32_floor, infer_feature, int_ceil, int_floor,
};
use crate::statistics::{
    DatasetStatistics, FeatureStatistics, StatisticsType, StringStatistics, ValueStatistics,
};

/// Options of [`update_schema`].
///
/// ```
/// use mlrig_validate::{SchemaInferenceParams, SchemaUpdateOptions};
/// let o = SchemaUpdateOptions::default()
///     .with_environment("SERVING")
///     .with_inference(SchemaInferenceParams::default().with_infer_numeric_ranges(false));
/// assert_eq!(o.environment.as_deref(), Some("SERVING"));
/// assert!(!o.inference.infer_numeric_ranges);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchemaUpdateOptions {
    /// How features the schema lacks are inferred (default: [`infer_schema`](crate::infer_schema)'s defaults).
    pub inference: SchemaInferenceParams,
    /// The environment the statistics come from (e.g. `SERVING`): only
    /// features in it are updated. `None` (default) updates every feature,
    /// as TFDV does.
    pub environment: Option<String>,
}

impl SchemaUpdateOptions {
    /// Sets [`inference`](Self::inference).
    ///
    /// ```
    /// # use mlrig_validate::{SchemaInferenceParams, SchemaUpdateOptions};
    /// let p = SchemaInferenceParams::default().with_max_string_domain_size(5);
    /// assert_eq!(SchemaUpdateOptions::default().with_inference(p).inference.max_string_domain_size, 5);
    /// ```
    pub fn with_inference(mut self, inference: SchemaInferenceParams) -> Self {
        self.inference = inference;
        self
    }

    /// Sets [`environment`](Self::environment).
    ///
    /// ```
    /// # use mlrig_validate::SchemaUpdateOptions;
    /// assert!(SchemaUpdateOptions::default().with_environment("TRAINING").environment.is_some());
    /// ```
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }
}

/// What kind of change [`update_schema`] made.
///
/// ```
/// use mlrig_validate::SchemaChangeKind;
/// assert_eq!(SchemaChangeKind::ExtendedDomain.name(), "extended_domain");
/// assert_eq!(serde_json::to_string(&SchemaChangeKind::AddedFeature).unwrap(), "\"added_feature\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SchemaChangeKind {
    /// A feature the schema lacked was inferred and added.
    AddedFeature,
    /// String values were added to a domain.
    ExtendedDomain,
    /// A constraint (range, presence, value count, shape, NaN/∞) was relaxed.
    RelaxedConstraint,
    /// A feature was marked `DEPRECATED` (its column is missing or has another type).
    DeprecatedFeature,
}

impl SchemaChangeKind {
    /// The snake-case name used in JSON output.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::SchemaChangeKind::RelaxedConstraint.name(), "relaxed_constraint");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            SchemaChangeKind::AddedFeature => "added_feature",
            SchemaChangeKind::ExtendedDomain => "extended_domain",
            SchemaChangeKind::RelaxedConstraint => "relaxed_constraint",
            SchemaChangeKind::DeprecatedFeature => "deprecated_feature",
        }
    }
}

/// One change [`update_schema`] made.
///
/// ```
/// use mlrig_validate::{SchemaChange, SchemaChangeKind};
/// let c = SchemaChange::new("age", SchemaChangeKind::RelaxedConstraint, "int_domain.max", "90", "95",
///     "the statistics' max is 95");
/// assert_eq!(c.to_string(), "age: relaxed_constraint int_domain.max: 90 -> 95 (the statistics' max is 95)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchemaChange {
    /// The feature changed (or added).
    pub feature: String,
    /// The kind of change.
    pub kind: SchemaChangeKind,
    /// The schema field changed, e.g. `presence.min_fraction`,
    /// `string_domain "workclass"`.
    pub field: String,
    /// The value before (`unset` when there was none).
    pub before: String,
    /// The value after (`removed` when the field was removed).
    pub after: String,
    /// Why, in terms of the statistics.
    pub reason: String,
}

impl SchemaChange {
    /// A change record.
    ///
    /// ```
    /// use mlrig_validate::{SchemaChange, SchemaChangeKind};
    /// let c = SchemaChange::new("x", SchemaChangeKind::AddedFeature, "feature", "unset", "INT", "new column");
    /// assert_eq!(c.kind, SchemaChangeKind::AddedFeature);
    /// ```
    pub fn new(
        feature: impl Into<String>,
        kind: SchemaChangeKind,
        field: impl Into<String>,
        before: impl Into<String>,
        after: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            feature: feature.into(),
            kind,
            field: field.into(),
            before: before.into(),
            after: after.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {}: {} -> {} ({})",
            self.feature,
            self.kind.name(),
            self.field,
            self.before,
            self.after,
            self.reason
        )
    }
}

/// The result of [`update_schema`]: the updated schema and what changed.
///
/// ```
/// use mlrig_validate::*;
/// let update = update_schema(&Schema::default(), &DatasetStatistics::default(),
///                            &SchemaUpdateOptions::default())?;
/// assert!(update.is_unchanged());
/// # Ok::<(), ValidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SchemaUpdate {
    /// The updated schema.
    pub schema: Schema,
    /// Every change, in schema order, added features last.
    pub changes: Vec<SchemaChange>,
}

impl SchemaUpdate {
    /// `true` when the statistics needed no change.
    ///
    /// ```
    /// # use mlrig_validate::*;
    /// let u = update_schema(&Schema::default(), &DatasetStatistics::default(), &SchemaUpdateOptions::default())?;
    /// assert!(u.is_unchanged());
    /// # Ok::<(), ValidateError>(())
    /// ```
    pub fn is_unchanged(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes of `kind`.
    ///
    /// ```
    /// # use mlrig_validate::*;
    /// let u = update_schema(&Schema::default(), &DatasetStatistics::default(), &SchemaUpdateOptions::default())?;
    /// assert_eq!(u.changes_of(SchemaChangeKind::AddedFeature).count(), 0);
    /// # Ok::<(), ValidateError>(())
    /// ```
    pub fn changes_of(&self, kind: SchemaChangeKind) -> impl Iterator<Item = &SchemaChange> {
        self.changes.iter().filter(move |c| c.kind == kind)
    }
}

/// Updates a (curated) schema so that `statistics` are valid against it,
/// keeping everything the statistics do not violate (see the module docs
/// for the rules). Errors: an environment the schema does not define, a
/// feature whose `domain` names no domain.
///
/// ```
/// use mlrig_core::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
/// use mlrig_validate::*;
/// use std::sync::Arc;
///
/// let schema = Schema::from_pbtxt(r#"
///     feature { name: "age" type: INT int_domain { min: 18 max: 65 } }
///     feature { name: "job" type: BYTES domain: "job" presence { min_fraction: 1.0 } }
///     string_domain { name: "job" value: "Private" }
/// "#)?;
/// let batch = RecordBatch::try_from_iter([
///     ("age", Arc::new(Int64Array::from(vec![30, 70])) as ArrayRef),
///     ("job", Arc::new(StringArray::from(vec![Some("Private"), Some("State-gov")])) as ArrayRef),
///     ("city", Arc::new(StringArray::from(vec!["Oslo", "Rome"])) as ArrayRef),
/// ]).unwrap();
/// let stats = compute_statistics(&[batch.clone()], &batch.schema(), &StatisticsParams::default())?;
/// let update = update_schema(&schema, &stats, &SchemaUpdateOptions::default())?;
/// let changes: Vec<String> = update.changes.iter().map(|c| c.to_string()).collect();
/// assert_eq!(changes, [
///     "age: relaxed_constraint int_domain.max: 65 -> 70 (the largest value is 70)",
///     "job: extended_domain string_domain \"job\": 1 values -> 2 values (new values: \"State-gov\")",
///     "city: added_feature feature: unset -> BYTES (a column the schema did not have)",
/// ]);
/// // The tightened min (18 > 30 is not violated) and job's presence stay as written.
/// assert_eq!(update.schema.feature("age").unwrap().int_domain.as_ref().unwrap().min, Some(18));
/// // Validating the same data against the updated schema finds nothing.
/// let found = validate_batches(&update.schema, &batch.schema(), [&batch], &ValidationOptions::default())?;
/// assert!(found.is_empty(), "{found}");
/// // ... and a second update is a no-op.
/// assert!(update_schema(&update.schema, &stats, &SchemaUpdateOptions::default())?.is_unchanged());
/// # Ok::<(), ValidateError>(())
/// ```
pub fn update_schema(
    schema: &Schema,
    statistics: &DatasetStatistics,
    options: &SchemaUpdateOptions,
) -> Result<SchemaUpdate, ValidateError> {
    schema.require_environment(options.environment.as_deref())?;
    let mut updater = Updater {
        schema: schema.clone(),
        changes: Vec::new(),
        num_examples: statistics.num_examples,
    };
    if statistics.num_examples == 0 {
        return Ok(updater.finish());
    }
    for index in 0..schema.features.len() {
        let feature = &schema.features[index];
        if !schema.checks_feature(feature, options.environment.as_deref()) {
            continue;
        }
        // Fail on a dangling `domain` reference, as the validator does.
        schema.string_domain_of(feature)?;
        match statistics.feature(&feature.name) {
            None => updater.missing_column(index),
            Some(stats) => updater.update_feature(index, stats),
        }
    }
    for stats in statistics.features() {
        if schema.feature(&stats.name).is_none() {
            updater.add_feature(stats, &options.inference);
        }
    }
    Ok(updater.finish())
}

struct Updater {
    schema: Schema,
    changes: Vec<SchemaChange>,
    num_examples: u64,
}

/// One relaxed constraint: field, before, after, reason.
type Relaxation = (String, String, String, String);

/// The domain of a feature an update changes: its inline domain, or the
/// schema-level one its `domain` names; with the field a change names
/// (`kind`, or `kind "name"` for a schema-level domain).
fn domain_to_update<'a, D>(
    kind: &str,
    inline: Option<&'a mut D>,
    domain_name: Option<&str>,
    schema_level: &'a mut [D],
    name_of: impl Fn(&D) -> Option<&str>,
) -> Option<(String, &'a mut D)> {
    if let Some(inline) = inline {
        return Some((kind.to_string(), inline));
    }
    let domain_name = domain_name?;
    let domain = schema_level
        .iter_mut()
        .find(|d| name_of(d) == Some(domain_name))?;
    Some((format!("{kind} \"{domain_name}\""), domain))
}

/// How the bounds of a domain of `T` compare with observed values, and the
/// bound that holds an observed value (`None`: no bound).
struct Bounds<T> {
    to_f64: fn(T) -> f64,
    floor: fn(f64) -> Option<T>,
    ceil: fn(f64) -> Option<T>,
}

/// `int_domain` bounds.
const INT_BOUNDS: Bounds<i64> = Bounds {
    to_f64: |bound| bound as f64,
    floor: int_floor,
    ceil: int_ceil,
};

/// `float_domain` bounds (`f32` values, as TFDV writes them).
const FLOAT_BOUNDS: Bounds<f64> = Bounds {
    to_f64: |bound| bound,
    floor: f32_floor,
    ceil: f32_ceil,
};

/// Widens the bounds `[lo, hi]` that are set so that they hold `[min, max]`,
/// and lists each change as `field.min` / `field.max`.
fn widen_range<T: Copy + fmt::Display>(
    field: &str,
    (lo, hi): (&mut Option<T>, &mut Option<T>),
    (min, max): (f64, f64),
    Bounds {
        to_f64,
        floor,
        ceil,
    }: Bounds<T>,
    changes: &mut Vec<Relaxation>,
) {
    if let Some(bound) = *lo
        && min < to_f64(bound)
    {
        *lo = floor(min);
        changes.push((
            format!("{field}.min"),
            bound.to_string(),
            shown_after(*lo),
            format!("the smallest value is {min}"),
        ));
    }
    if let Some(bound) = *hi
        && max > to_f64(bound)
    {
        *hi = ceil(max);
        changes.push((
            format!("{field}.max"),
            bound.to_string(),
            shown_after(*hi),
            format!("the largest value is {max}"),
        ));
    }
}

/// `removed` or the value.
fn shown_after<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "removed".to_string(), |v| v.to_string())
}

fn is_required(feature: &Feature) -> bool {
    feature.presence.as_ref().is_some_and(|p| {
        p.min_count.is_some_and(|c| c > 0) || p.min_fraction.is_some_and(|f| f > 0.0)
    })
}

/// Whether statistics of `found` type fit a feature of `expected` type
/// (the validator's rule, on statistics).
fn type_fits(expected: FeatureType, found: StatisticsType) -> bool {
    match expected {
        FeatureType::TypeUnknown | FeatureType::Struct => true,
        FeatureType::Int => found == StatisticsType::Int,
        FeatureType::Float => found == StatisticsType::Float,
        FeatureType::Bytes => matches!(found, StatisticsType::String | StatisticsType::Bytes),
    }
}

fn type_name(t: StatisticsType) -> &'static str {
    match t {
        StatisticsType::Int => "INT",
        StatisticsType::Float => "FLOAT",
        StatisticsType::String => "STRING",
        StatisticsType::Bytes => "BYTES",
        StatisticsType::Struct => "STRUCT",
    }
}

fn feature_type_name(t: FeatureType) -> &'static str {
    match t {
        FeatureType::TypeUnknown => "TYPE_UNKNOWN",
        FeatureType::Bytes => "BYTES",
        FeatureType::Int => "INT",
        FeatureType::Float => "FLOAT",
        FeatureType::Struct => "STRUCT",
    }
}

fn stage_name(stage: Option<LifecycleStage>) -> String {
    match stage {
        None => "unset".into(),
        Some(s) => serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{s:?}")),
    }
}

impl Updater {
    fn finish(self) -> SchemaUpdate {
        SchemaUpdate {
            schema: self.schema,
            changes: self.changes,
        }
    }

    fn change(
        &mut self,
        feature: &str,
        kind: SchemaChangeKind,
        field: &str,
        before: String,
        after: String,
        reason: String,
    ) {
        self.changes.push(SchemaChange::new(
            feature, kind, field, before, after, reason,
        ));
    }

    /// Records `relaxations` of feature `name` as relaxed constraints.
    fn relaxed(&mut self, name: &str, relaxations: Vec<Relaxation>) {
        for (field, before, after, reason) in relaxations {
            self.change(
                name,
                SchemaChangeKind::RelaxedConstraint,
                &field,
                before,
                after,
                reason,
            );
        }
    }

    fn deprecate(&mut self, index: usize, reason: String) {
        let feature = &mut self.schema.features[index];
        let before = stage_name(feature.lifecycle_stage);
        feature.lifecycle_stage = Some(LifecycleStage::Deprecated);
        let name = feature.name.clone();
        self.change(
            &name,
            SchemaChangeKind::DeprecatedFeature,
            "lifecycle_stage",
            before,
            "DEPRECATED".into(),
            reason,
        );
    }

    fn missing_column(&mut self, index: usize) {
        if is_required(&self.schema.features[index]) {
            self.deprecate(
                index,
                "the column is missing from the statistics, and its presence is required".into(),
            );
        }
    }

    fn update_feature(&mut self, index: usize, stats: &FeatureStatistics) {
        let expected = self.schema.features[index].feature_type;
        if !type_fits(expected, stats.feature_type) {
            self.deprecate(
                index,
                format!(
                    "the statistics' type is {}, the schema's {}",
                    type_name(stats.feature_type),
                    feature_type_name(expected)
                ),
            );
            return;
        }
        let Some(common) = stats.common() else {
            return;
        };
        let present = common.num_non_missing;
        self.relax_presence(index, present);
        if present > 0 {
            self.relax_value_count(index, common.min_num_values, common.max_num_values);
        }
        match &stats.stats {
            ValueStatistics::Numeric(numeric) => {
                let non_nan = present.saturating_sub(numeric.num_nan());
                let range = (non_nan > 0).then_some((numeric.min, numeric.max));
                match expected {
                    FeatureType::Int => {
                        if let Some((min, max)) = range {
                            self.relax_int_domain(index, min, max);
                        }
                    }
                    FeatureType::Float => self.relax_float_domain(index, range, numeric.num_nan()),
                    _ => {}
                }
            }
            ValueStatistics::String(strings) if expected == FeatureType::Bytes => {
                self.extend_string_domain(index, strings);
            }
            _ => {}
        }
    }

    fn relax_presence(&mut self, index: usize, present: u64) {
        let n = self.num_examples;
        let observed = if n == 0 {
            0.0
        } else {
            present as f64 / n as f64
        };
        let feature = &mut self.schema.features[index];
        let name = feature.name.clone();
        let mut changes = Vec::new();
        if let Some(presence) = feature.presence.as_mut() {
            if let Some(min_fraction) = presence.min_fraction
                && observed < min_fraction
            {
                presence.min_fraction = Some(observed);
                changes.push((
                    "presence.min_fraction".into(),
                    min_fraction.to_string(),
                    observed.to_string(),
                    format!("present in {present} of {n} examples"),
                ));
            }
            if let Some(min_count) = presence.min_count
                && i128::from(present) < i128::from(min_count)
            {
                presence.min_count = Some(i64::try_from(present).unwrap_or(i64::MAX));
                changes.push((
                    "presence.min_count".into(),
                    min_count.to_string(),
                    present.to_string(),
                    format!("present in {present} of {n} examples"),
                ));
            }
        }
        if present < n && feature.shape.take().is_some() {
            changes.push((
                "shape".into(),
                "[1]".into(),
                "removed".into(),
                format!(
                    "a shape needs a value in every example; present in {present} of {n} examples"
                ),
            ));
        }
        self.relaxed(&name, changes);
    }

    fn relax_value_count(&mut self, index: usize, min_values: u64, max_values: u64) {
        let feature = &mut self.schema.features[index];
        let name = feature.name.clone();
        let min_values = i64::try_from(min_values).unwrap_or(i64::MAX);
        let max_values = i64::try_from(max_values).unwrap_or(i64::MAX);
        let mut changes = Vec::new();
        let relax = |v: &mut ValueCount, field: &str, changes: &mut Vec<_>| {
            if let Some(min) = v.min
                && min > min_values
            {
                v.min = Some(min_values);
                changes.push((
                    format!("{field}.min"),
                    min.to_string(),
                    min_values.to_string(),
                    format!("an example has {min_values} values"),
                ));
            }
            if let Some(max) = v.max
                && max < max_values
            {
                v.max = Some(max_values);
                changes.push((
                    format!("{field}.max"),
                    max.to_string(),
                    max_values.to_string(),
                    format!("an example has {max_values} values"),
                ));
            }
        };
        if let Some(v) = feature.value_count.as_mut() {
            relax(v, "value_count", &mut changes);
        } else if let Some(list) = feature.value_counts.as_mut() {
            match list.value_count.as_mut_slice() {
                [] => {}
                [single] => relax(single, "value_counts.value_count[0]", &mut changes),
                levels => {
                    let before = levels.len();
                    feature.value_counts = None;
                    feature.value_count = Some(ValueCount {
                        unmodelled: Default::default(),
                        min: Some(min_values),
                        max: Some(max_values),
                    });
                    changes.push((
                        "value_counts".into(),
                        format!("{before} levels"),
                        format!("value_count {{ min: {min_values} max: {max_values} }}"),
                        "the values are not nested (one level)".into(),
                    ));
                }
            }
        }
        self.relaxed(&name, changes);
    }

    fn relax_int_domain(&mut self, index: usize, min: f64, max: f64) {
        let feature = &mut self.schema.features[index];
        let name = feature.name.clone();
        let Some((field, domain)) = domain_to_update(
            "int_domain",
            feature.int_domain.as_mut(),
            feature.domain.as_deref(),
            &mut self.schema.int_domain,
            |d| d.name.as_deref(),
        ) else {
            return;
        };
        let mut changes = Vec::new();
        widen_range(
            &field,
            (&mut domain.min, &mut domain.max),
            (min, max),
            INT_BOUNDS,
            &mut changes,
        );
        self.relaxed(&name, changes);
    }

    fn relax_float_domain(&mut self, index: usize, range: Option<(f64, f64)>, num_nan: u64) {
        let feature = &mut self.schema.features[index];
        let name = feature.name.clone();
        let Some((field, domain)) = domain_to_update(
            "float_domain",
            feature.float_domain.as_mut(),
            feature.domain.as_deref(),
            &mut self.schema.float_domain,
            |d| d.name.as_deref(),
        ) else {
            return;
        };
        let mut changes = Vec::new();
        if let Some((min, max)) = range {
            widen_range(
                &field,
                (&mut domain.min, &mut domain.max),
                (min, max),
                FLOAT_BOUNDS,
                &mut changes,
            );
            if domain.disallow_inf && (min.is_infinite() || max.is_infinite()) {
                domain.disallow_inf = false;
                changes.push((
                    format!("{field}.disallow_inf"),
                    "true".into(),
                    "false".into(),
                    "the values include infinity".into(),
                ));
            }
        }
        if domain.disallow_nan && num_nan > 0 {
            domain.disallow_nan = false;
            changes.push((
                format!("{field}.disallow_nan"),
                "true".into(),
                "false".into(),
                format!("{num_nan} values are NaN"),
            ));
        }
        self.relaxed(&name, changes);
    }

    fn extend_string_domain(&mut self, index: usize, strings: &StringStatistics) {
        let feature = &mut self.schema.features[index];
        let name = feature.name.clone();
        let min_domain_mass = feature
            .distribution_constraints
            .as_ref()
            .and_then(|d| d.min_domain_mass)
            .unwrap_or(1.0);
        let Some((field, domain)) = domain_to_update(
            "string_domain",
            feature.string_domain.as_mut(),
            feature.domain.as_deref(),
            &mut self.schema.string_domain,
            |d| d.name.as_deref(),
        ) else {
            return;
        };
        let known: BTreeSet<&str> = domain.value.iter().map(String::as_str).collect();
        let mut unexpected: BTreeSet<String> = BTreeSet::new();
        let mut unexpected_count = 0.0;
        for (label, count) in value_counts(strings) {
            if !known.contains(label) && unexpected.insert(label.to_string()) {
                unexpected_count += count;
            }
        }
        let present = strings.common_stats.num_non_missing as f64;
        let fraction = if present > 0.0 {
            unexpected_count / present
        } else {
            0.0
        };
        if unexpected.is_empty() || 1.0 - fraction >= min_domain_mass {
            return;
        }
        let before = domain.value.len();
        let listed: Vec<String> = unexpected.iter().map(|v| format!("{v:?}")).collect();
        domain.value.extend(unexpected);
        let after = domain.value.len();
        self.change(
            &name,
            SchemaChangeKind::ExtendedDomain,
            &field,
            format!("{before} values"),
            format!("{after} values"),
            format!("new values: {}", listed.join(", ")),
        );
    }

    fn add_feature(&mut self, stats: &FeatureStatistics, params: &SchemaInferenceParams) {
        let (mut feature, domain) = infer_feature(stats, params);
        if let Some(mut domain) = domain {
            let base = domain.name.clone().unwrap_or_else(|| feature.name.clone());
            let taken = |name: &str| {
                let named = |n: &Option<String>| n.as_deref() == Some(name);
                self.schema.string_domain.iter().any(|d| named(&d.name))
                    || self.schema.int_domain.iter().any(|d| named(&d.name))
                    || self.schema.float_domain.iter().any(|d| named(&d.name))
            };
            let mut unique = base.clone();
            let mut k = 1;
            while taken(&unique) {
                unique = format!("{base}_{k}");
                k += 1;
            }
            domain.name = Some(unique.clone());
            feature.domain = Some(unique);
            self.schema.string_domain.push(domain);
        }
        let after = feature_type_name(feature.feature_type).to_string();
        let name = feature.name.clone();
        self.schema.features.push(feature);
        self.change(
            &name,
            SchemaChangeKind::AddedFeature,
            "feature",
            "unset".into(),
            after,
            "a column the schema did not have".into(),
        );
    }
}

/// Every value the string statistics list with its count: the rank
/// histogram, or the top values when there is none.
fn value_counts(strings: &StringStatistics) -> Vec<(&str, f64)> {
    match &strings.rank_histogram {
        Some(h) if !h.buckets.is_empty() => h
            .buckets
            .iter()
            .map(|b| (b.label.as_str(), b.sample_count))
            .collect(),
        _ => strings
            .top_values
            .iter()
            .map(|v| (v.value.as_str(), v.frequency))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::stats_of;
    use mlrig_core::arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn relaxes_only_what_is_violated_and_keeps_deprecated_features() {
        let schema = Schema::from_pbtxt(
            r#"
            feature { name: "f" type: FLOAT float_domain { min: 0.0 max: 4.0 disallow_nan: true disallow_inf: true }
                      presence { min_fraction: 1.0 min_count: 1 } shape { dim { size: 1 } } }
            feature { name: "dep" type: INT presence { min_fraction: 1.0 } lifecycle_stage: DEPRECATED }
            feature { name: "gone" type: INT presence { min_count: 1 } }
            feature { name: "typed" type: INT }
            feature { name: "vc" type: INT value_count { min: 2 max: 0 } }
            feature { name: "nested" type: INT value_counts { value_count { min: 1 } value_count { min: 1 } } }
            feature { name: "keep" type: INT int_domain { min: 0 max: 10 } presence { min_count: 2 } }
            "#,
        )
        .unwrap();
        let stats = stats_of(vec![
            (
                "f",
                Arc::new(Float64Array::from(vec![
                    Some(-1.5),
                    Some(f64::NAN),
                    Some(f64::INFINITY),
                    None,
                ])) as ArrayRef,
            ),
            (
                "dep",
                Arc::new(Int64Array::from(vec![None, None, None, Some(1)])) as ArrayRef,
            ),
            (
                "typed",
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])) as ArrayRef,
            ),
            (
                "vc",
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef,
            ),
            (
                "nested",
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef,
            ),
            (
                "keep",
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef,
            ),
        ]);
        let update = update_schema(&schema, &stats, &SchemaUpdateOptions::default()).unwrap();
        let lines: Vec<String> = update.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "f: relaxed_constraint presence.min_fraction: 1 -> 0.75 (present in 3 of 4 examples)",
                "f: relaxed_constraint shape: [1] -> removed (a shape needs a value in every example; present in 3 of 4 examples)",
                "f: relaxed_constraint float_domain.min: 0 -> -1.5 (the smallest value is -1.5)",
                "f: relaxed_constraint float_domain.max: 4 -> removed (the largest value is inf)",
                "f: relaxed_constraint float_domain.disallow_inf: true -> false (the values include infinity)",
                "f: relaxed_constraint float_domain.disallow_nan: true -> false (1 values are NaN)",
                "gone: deprecated_feature lifecycle_stage: unset -> DEPRECATED (the column is missing from the statistics, and its presence is required)",
                "typed: deprecated_feature lifecycle_stage: unset -> DEPRECATED (the statistics' type is STRING, the schema's INT)",
                "vc: relaxed_constraint value_count.min: 2 -> 1 (an example has 1 values)",
                "vc: relaxed_constraint value_count.max: 0 -> 1 (an example has 1 values)",
                "nested: relaxed_constraint value_counts: 2 levels -> value_count { min: 1 max: 1 } (the values are not nested (one level))",
            ]
        );
        let dep = update.schema.feature("dep").unwrap();
        assert_eq!(dep, schema.feature("dep").unwrap());
        assert_eq!(
            update.schema.feature("keep").unwrap(),
            schema.feature("keep").unwrap()
        );
        let again = update_schema(&update.schema, &stats, &SchemaUpdateOptions::default()).unwrap();
        assert!(again.is_unchanged(), "{:?}", again.changes);
    }

    #[test]
    fn shared_domains_are_extended_once_and_new_domains_get_unique_names() {
        let schema = Schema::from_pbtxt(
            r#"
            feature { name: "a" type: BYTES domain: "colour" }
            feature { name: "b" type: BYTES domain: "colour" }
            string_domain { name: "colour" value: "red" }
            string_domain { name: "c" value: "taken" }
            "#,
        )
        .unwrap();
        let stats = stats_of(vec![
            (
                "a",
                Arc::new(StringArray::from(vec!["red", "blue"])) as ArrayRef,
            ),
            (
                "b",
                Arc::new(StringArray::from(vec!["green", "red"])) as ArrayRef,
            ),
            ("c", Arc::new(StringArray::from(vec!["x", "y"])) as ArrayRef),
        ]);
        let update = update_schema(&schema, &stats, &SchemaUpdateOptions::default()).unwrap();
        assert_eq!(
            update.schema.string_domain[0].value,
            ["red", "blue", "green"]
        );
        let c = update.schema.feature("c").unwrap();
        assert_eq!(c.domain.as_deref(), Some("c_1"));
        assert_eq!(update.schema.string_domain[2].name.as_deref(), Some("c_1"));
        assert_eq!(update.schema.string_domain[1].value, ["taken"]);
    }

    #[test]
    fn domain_mass_tolerates_a_few_unexpected_values() {
        let schema = Schema::from_pbtxt(
            r#"feature { name: "a" type: BYTES string_domain { value: "x" }
                         distribution_constraints { min_domain_mass: 0.5 } }"#,
        )
        .unwrap();
        let few = stats_of(vec![(
            "a",
            Arc::new(StringArray::from(vec!["x", "x", "y"])) as ArrayRef,
        )]);
        let options = SchemaUpdateOptions::default();
        assert!(
            update_schema(&schema, &few, &options)
                .unwrap()
                .is_unchanged()
        );
        let many = stats_of(vec![(
            "a",
            Arc::new(StringArray::from(vec!["x", "z", "y"])) as ArrayRef,
        )]);
        let update = update_schema(&schema, &many, &options).unwrap();
        let a = update.schema.feature("a").unwrap();
        assert_eq!(a.string_domain.as_ref().unwrap().value, ["x", "y", "z"]);
    }

    #[test]
    fn environment_limits_the_update_and_must_exist() {
        let schema = Schema::from_pbtxt(
            r#"feature { name: "label" type: INT presence { min_count: 1 } not_in_environment: "SERVING" }
               default_environment: "TRAINING" default_environment: "SERVING""#,
        )
        .unwrap();
        let stats = stats_of(vec![("x", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
        let serving = SchemaUpdateOptions::default().with_environment("SERVING");
        let update = update_schema(&schema, &stats, &serving).unwrap();
        assert_eq!(
            update
                .changes_of(SchemaChangeKind::DeprecatedFeature)
                .count(),
            0
        );
        assert_eq!(update.changes_of(SchemaChangeKind::AddedFeature).count(), 1);
        let everywhere = update_schema(&schema, &stats, &SchemaUpdateOptions::default()).unwrap();
        assert_eq!(
            everywhere
                .changes_of(SchemaChangeKind::DeprecatedFeature)
                .count(),
            1
        );
        let err = update_schema(
            &schema,
            &stats,
            &SchemaUpdateOptions::default().with_environment("NOPE"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
    }
}
