//! [`Schema`] in the protobuf text format (`schema.pbtxt`), as TFDV's
//! `write_schema_text` writes it and `load_schema_text` reads it, and
//! [`Schema::load`] / [`Schema::save`], which pick the format from the file
//! extension.
//!
//! ```text
//! feature {
//!   name: "age"
//!   type: INT
//!   presence {
//!     min_fraction: 1.0
//!     min_count: 1
//!   }
//!   shape {
//!     dim {
//!       size: 1
//!     }
//!   }
//! }
//! default_environment: "TRAINING"
//! ```
//!
//! * **Writing** follows Python's `text_format.MessageToString` byte for
//!   byte: fields in field-number order, two-space indent, strings with
//!   C escapes (non-ASCII bytes as octal, as `as_utf8=False` does), doubles
//!   as Python's `repr` (`1.0`, `1e-05`, `inf`). `FloatDomain.min`/`max` are
//!   proto `float`s: they are written with the shortest digits of the `f64`
//!   mlrig holds, so mlrig reads back exactly what it wrote, and a protobuf
//!   reader rounds them to `f32` as it does for the JSON form.
//! * **Reading** accepts the whole text-format syntax (see the parser in
//!   `text_format.rs`): `:` optional before `{`, `< >` delimiters, `[a, b]`
//!   lists, `#` comments, `,`/`;` separators, enum values by name or number,
//!   `inf`/`nan`. **A field mlrig does not model is an error** naming the
//!   field, the message it is in, the fields mlrig reads there, and its line
//!   and column — as in the JSON reader. A curated schema is edited by hand
//!   and written back (`update_schema`, `mlrig infer-schema --update`):
//!   skipping, say, an `annotation` or a misspelt `min_fractoin` would drop
//!   the user's edit on the next write without a word, and keeping opaque
//!   fields mlrig cannot check would suggest they are enforced. Everything
//!   else is checked too: a malformed value, an unknown enum name, a
//!   singular field given twice or a scalar where a message belongs is a
//!   [`ValidateError::TextFormat`] naming the line and column.

use std::path::Path;

use crate::dataset_constraints::{DatasetConstraints, NumericValueComparator};
use crate::schema::{
    BoolDomain, Dim, DistributionConstraints, Feature, FeatureComparator, FeaturePresence,
    FeatureType, FixedShape, FloatDomain, HistogramSelection, HistogramSelectionType, InfinityNorm,
    IntDomain, JensenShannonDivergence, LifecycleStage, NormalizedAbsoluteDifference, StringDomain,
    ValueCount, ValueCountList,
};
use crate::text_format::{
    self, FieldValue, Scalar, TextError, TextField, TextMessage, TextWriter, parse_float, parse_int,
};
use crate::{Schema, ValidateError};

/// File formats [`Schema::load`] and [`Schema::save`] choose between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchemaFileFormat {
    Json,
    Text,
}

const EXTENSIONS: &str = "`.json`, `.pbtxt`, `.textproto` or `.txtpb`";

impl SchemaFileFormat {
    fn of(path: &Path) -> Result<Self, ValidateError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("json") => Ok(Self::Json),
            Some("pbtxt" | "textproto" | "txtpb") => Ok(Self::Text),
            _ => Err(ValidateError::UnknownSchemaFormat {
                path: path.to_path_buf(),
                expected: EXTENSIONS.to_string(),
            }),
        }
    }
}

impl Schema {
    /// The schema in protobuf text format, exactly as TFDV's
    /// `write_schema_text` (Python `text_format.MessageToString`) writes it.
    ///
    /// ```
    /// use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.features.push(Feature::new("age", FeatureType::Int));
    /// schema.default_environment.push("TRAINING".into());
    /// assert_eq!(
    ///     schema.to_pbtxt(),
    ///     "feature {\n  name: \"age\"\n  type: INT\n}\ndefault_environment: \"TRAINING\"\n"
    /// );
    /// ```
    pub fn to_pbtxt(&self) -> String {
        let mut w = TextWriter::default();
        for feature in &self.features {
            w.open("feature");
            write_feature(&mut w, feature);
            w.close();
        }
        for domain in &self.string_domain {
            w.open("string_domain");
            write_string_domain(&mut w, domain);
            w.close();
        }
        for environment in &self.default_environment {
            w.string("default_environment", environment);
        }
        for domain in &self.float_domain {
            w.open("float_domain");
            write_float_domain(&mut w, domain);
            w.close();
        }
        for domain in &self.int_domain {
            w.open("int_domain");
            write_int_domain(&mut w, domain);
            w.close();
        }
        if let Some(c) = &self.dataset_constraints {
            write_dataset_constraints(&mut w, c);
        }
        w.finish()
    }

    /// Parses a schema in protobuf text format. Errors (including a field
    /// mlrig does not model) name the line and column.
    ///
    /// ```
    /// use mlrig_validate::{FeatureType, Schema};
    /// let schema = Schema::from_pbtxt(r#"
    ///     feature { name: "age" type: INT int_domain { min: 17 max: 90 } }
    ///     feature < name: 'job' type: BYTES domain: "job" >  # comment
    ///     string_domain { name: "job" value: ["Private", "State-gov"] }
    ///     dataset_constraints { min_examples_count: 100 }
    /// "#)?;
    /// assert_eq!(schema.feature("age").unwrap().int_domain.as_ref().unwrap().max, Some(90));
    /// assert_eq!(schema.string_domain[0].value, ["Private", "State-gov"]);
    ///
    /// let err = Schema::from_pbtxt("feature {\n  type: NUMBER\n}").unwrap_err();
    /// assert!(err.to_string().starts_with("schema:2:9:"), "{err}");
    /// let err = Schema::from_pbtxt("feature {\n  name: \"x\"\n  annotation { tag: \"t\" }\n}").unwrap_err();
    /// assert!(err.to_string().starts_with("schema:3:3: unknown field `annotation` in `feature`"), "{err}");
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn from_pbtxt(text: &str) -> Result<Self, ValidateError> {
        parse_schema(text).map_err(|e| text_error("schema", e))
    }

    /// Writes [`to_pbtxt`](Self::to_pbtxt) to `path` atomically.
    ///
    /// ```
    /// # use mlrig_validate::Schema;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("schema.pbtxt");
    /// Schema::default().save_pbtxt(&path)?;
    /// assert_eq!(Schema::load_pbtxt(&path)?, Schema::default());
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn save_pbtxt(&self, path: &Path) -> Result<(), ValidateError> {
        mlrig_core::write_atomic(path, self.to_pbtxt().as_bytes())?;
        Ok(())
    }

    /// Reads a text-format schema from `path`; errors name the file, line
    /// and column.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("schema.pbtxt");
    /// std::fs::write(&path, "feature {\n  name: \"x\"\n  type: \n}\n").unwrap();
    /// let err = mlrig_validate::Schema::load_pbtxt(&path).unwrap_err();
    /// assert!(err.to_string().contains("schema.pbtxt:4:1:"), "{err}");
    /// ```
    pub fn load_pbtxt(path: &Path) -> Result<Self, ValidateError> {
        let text = read_text(path)?;
        parse_schema(&text).map_err(|e| text_error(&path.display().to_string(), e))
    }

    /// Reads a schema, choosing the format by extension: `.pbtxt`,
    /// `.textproto`, `.txtpb` → text format; `.json` → tfmd JSON, or an mlrig
    /// artifact envelope (a file written by [`mlrig_core::Artifact::save`],
    /// recognised by its `mlrig_artifact` header and checked against its
    /// fingerprint). Other extensions are an error.
    ///
    /// This inherent function takes precedence over
    /// [`Artifact::load`](mlrig_core::Artifact::load) in `Schema::load(..)`
    /// calls; call `<Schema as Artifact>::load` for the artifact's header.
    ///
    /// ```
    /// use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.features.push(Feature::new("x", FeatureType::Float));
    /// let dir = tempfile::tempdir().unwrap();
    /// for file in ["schema.json", "schema.pbtxt", "schema.textproto"] {
    ///     let path = dir.path().join(file);
    ///     schema.save(&path)?;
    ///     assert_eq!(Schema::load(&path)?, schema);
    /// }
    /// assert!(Schema::load(&dir.path().join("schema.yaml")).is_err());
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn load(path: &Path) -> Result<Self, ValidateError> {
        match SchemaFileFormat::of(path)? {
            SchemaFileFormat::Text => Self::load_pbtxt(path),
            SchemaFileFormat::Json => {
                let text = read_text(path)?;
                let context = path.display().to_string();
                let value: serde_json::Value = crate::proto_json::from_json(&text, &context)?;
                if value.get("mlrig_artifact").is_some() {
                    let stored =
                        <Self as mlrig_core::Artifact>::from_artifact_bytes(text.as_bytes(), path)?;
                    Ok(stored.value)
                } else {
                    crate::proto_json::from_json(&text, &context)
                }
            }
        }
    }

    /// Writes the schema atomically, choosing the format by extension as
    /// [`load`](Self::load) does (`.json` → tfmd JSON). For an artifact
    /// envelope with lineage, use [`mlrig_core::Artifact::save`]
    /// (`Artifact::save(&schema, path, inputs)`), which this inherent method
    /// shadows in `schema.save(..)` calls.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("schema.pbtxt");
    /// mlrig_validate::Schema::default().save(&path)?;
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn save(&self, path: &Path) -> Result<(), ValidateError> {
        match SchemaFileFormat::of(path)? {
            SchemaFileFormat::Text => self.save_pbtxt(path),
            SchemaFileFormat::Json => self.save_tfmd_json(path),
        }
    }
}

fn read_text(path: &Path) -> Result<String, ValidateError> {
    std::fs::read_to_string(path).map_err(|source| ValidateError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn text_error(context: &str, error: TextError) -> ValidateError {
    ValidateError::TextFormat {
        context: context.to_string(),
        line: error.position.line,
        column: error.position.column,
        message: error.message,
    }
}

// ---------------------------------------------------------------- writing

fn write_feature(w: &mut TextWriter, f: &Feature) {
    w.string("name", &f.name);
    if f.deprecated {
        w.bool("deprecated", true);
    }
    if let Some(v) = &f.value_count {
        write_value_count(w, v);
    }
    if f.feature_type != FeatureType::TypeUnknown {
        w.raw("type", feature_type_name(f.feature_type));
    }
    if let Some(domain) = &f.domain {
        w.string("domain", domain);
    }
    if let Some(d) = &f.int_domain {
        w.open("int_domain");
        write_int_domain(w, d);
        w.close();
    }
    if let Some(d) = &f.float_domain {
        w.open("float_domain");
        write_float_domain(w, d);
        w.close();
    }
    if let Some(d) = &f.string_domain {
        w.open("string_domain");
        write_string_domain(w, d);
        w.close();
    }
    if let Some(d) = &f.bool_domain {
        w.open("bool_domain");
        if let Some(name) = &d.name {
            w.string("name", name);
        }
        if let Some(t) = &d.true_value {
            w.string("true_value", t);
        }
        if let Some(fv) = &d.false_value {
            w.string("false_value", fv);
        }
        w.close();
    }
    if let Some(p) = &f.presence {
        w.open("presence");
        if let Some(fraction) = p.min_fraction {
            w.double("min_fraction", fraction);
        }
        if let Some(count) = p.min_count {
            w.int("min_count", count);
        }
        w.close();
    }
    if let Some(d) = &f.distribution_constraints {
        w.open("distribution_constraints");
        if let Some(mass) = d.min_domain_mass {
            w.double("min_domain_mass", mass);
        }
        w.close();
    }
    if let Some(c) = &f.skew_comparator {
        write_comparator(w, "skew_comparator", c);
    }
    for e in &f.not_in_environment {
        w.string("not_in_environment", e);
    }
    for e in &f.in_environment {
        w.string("in_environment", e);
    }
    if let Some(c) = &f.drift_comparator {
        write_comparator(w, "drift_comparator", c);
    }
    if let Some(stage) = f.lifecycle_stage {
        w.raw("lifecycle_stage", lifecycle_stage_name(stage));
    }
    if let Some(shape) = &f.shape {
        w.open("shape");
        for dim in &shape.dim {
            w.open("dim");
            w.int("size", dim.size);
            if let Some(name) = &dim.name {
                w.string("name", name);
            }
            w.close();
        }
        w.close();
    }
    if let Some(list) = &f.value_counts {
        w.open("value_counts");
        for v in &list.value_count {
            write_value_count(w, v);
        }
        w.close();
    }
}

fn write_value_count(w: &mut TextWriter, v: &ValueCount) {
    w.open("value_count");
    if let Some(min) = v.min {
        w.int("min", min);
    }
    if let Some(max) = v.max {
        w.int("max", max);
    }
    w.close();
}

fn write_dataset_constraints(w: &mut TextWriter, c: &DatasetConstraints) {
    w.open("dataset_constraints");
    let comparators = [
        (
            "num_examples_drift_comparator",
            &c.num_examples_drift_comparator,
        ),
        (
            "num_examples_version_comparator",
            &c.num_examples_version_comparator,
        ),
    ];
    for (name, comparator) in comparators {
        if let Some(comparator) = comparator {
            w.open(name);
            if let Some(t) = comparator.min_fraction_threshold {
                w.double("min_fraction_threshold", t);
            }
            if let Some(t) = comparator.max_fraction_threshold {
                w.double("max_fraction_threshold", t);
            }
            w.close();
        }
    }
    if let Some(min) = c.min_examples_count {
        w.int("min_examples_count", min);
    }
    if let Some(max) = c.max_examples_count {
        w.int("max_examples_count", max);
    }
    w.close();
}

fn write_int_domain(w: &mut TextWriter, d: &IntDomain) {
    if let Some(name) = &d.name {
        w.string("name", name);
    }
    if let Some(min) = d.min {
        w.int("min", min);
    }
    if let Some(max) = d.max {
        w.int("max", max);
    }
    if d.is_categorical {
        w.bool("is_categorical", true);
    }
}

fn write_float_domain(w: &mut TextWriter, d: &FloatDomain) {
    if let Some(name) = &d.name {
        w.string("name", name);
    }
    if let Some(min) = d.min {
        w.double("min", min);
    }
    if let Some(max) = d.max {
        w.double("max", max);
    }
    if d.disallow_nan {
        w.bool("disallow_nan", true);
    }
    if d.disallow_inf {
        w.bool("disallow_inf", true);
    }
    if d.is_categorical {
        w.bool("is_categorical", true);
    }
}

fn write_string_domain(w: &mut TextWriter, d: &StringDomain) {
    if let Some(name) = &d.name {
        w.string("name", name);
    }
    for value in &d.value {
        w.string("value", value);
    }
}

fn write_threshold(w: &mut TextWriter, name: &str, threshold: Option<f64>) {
    w.open(name);
    if let Some(t) = threshold {
        w.double("threshold", t);
    }
}

fn write_comparator(w: &mut TextWriter, name: &str, c: &FeatureComparator) {
    w.open(name);
    if let Some(n) = &c.infinity_norm {
        write_threshold(w, "infinity_norm", n.threshold);
        w.close();
    }
    if let Some(j) = &c.jensen_shannon_divergence {
        write_threshold(w, "jensen_shannon_divergence", j.threshold);
        if let Some(source) = &j.source {
            w.open("source");
            if let Some(t) = source.selection_type {
                w.raw("type", histogram_selection_name(t));
            }
            w.close();
        }
        w.close();
    }
    if let Some(d) = &c.normalized_abs_difference {
        write_threshold(w, "normalized_abs_difference", d.threshold);
        w.close();
    }
    w.close();
}

// ---------------------------------------------------------------- enums

/// `(name, number, value)` for every value of tfmd `FeatureType`.
const FEATURE_TYPES: &[(&str, i64, FeatureType)] = &[
    ("TYPE_UNKNOWN", 0, FeatureType::TypeUnknown),
    ("BYTES", 1, FeatureType::Bytes),
    ("INT", 2, FeatureType::Int),
    ("FLOAT", 3, FeatureType::Float),
    ("STRUCT", 4, FeatureType::Struct),
];

/// tfmd `LifecycleStage` (8 is reserved).
const LIFECYCLE_STAGES: &[(&str, i64, LifecycleStage)] = &[
    ("UNKNOWN_STAGE", 0, LifecycleStage::UnknownStage),
    ("PLANNED", 1, LifecycleStage::Planned),
    ("ALPHA", 2, LifecycleStage::Alpha),
    ("BETA", 3, LifecycleStage::Beta),
    ("PRODUCTION", 4, LifecycleStage::Production),
    ("DEPRECATED", 5, LifecycleStage::Deprecated),
    ("DEBUG_ONLY", 6, LifecycleStage::DebugOnly),
    ("DISABLED", 7, LifecycleStage::Disabled),
    ("VALIDATION_DERIVED", 9, LifecycleStage::ValidationDerived),
];

/// tfmd `HistogramSelection.Type`.
const HISTOGRAM_SELECTIONS: &[(&str, i64, HistogramSelectionType)] = &[
    ("DEFAULT", 0, HistogramSelectionType::Default),
    ("QUANTILES", 1, HistogramSelectionType::Quantiles),
    ("STANDARD", 2, HistogramSelectionType::Standard),
];

fn enum_name<T: PartialEq + Copy>(table: &[(&'static str, i64, T)], value: T) -> &'static str {
    table
        .iter()
        .find(|(_, _, v)| *v == value)
        .map_or("", |(name, _, _)| name)
}

fn feature_type_name(t: FeatureType) -> &'static str {
    enum_name(FEATURE_TYPES, t)
}

fn lifecycle_stage_name(s: LifecycleStage) -> &'static str {
    enum_name(LIFECYCLE_STAGES, s)
}

fn histogram_selection_name(t: HistogramSelectionType) -> &'static str {
    enum_name(HISTOGRAM_SELECTIONS, t)
}

// ---------------------------------------------------------------- reading

fn parse_schema(text: &str) -> Result<Schema, TextError> {
    let message = text_format::parse(text)?;
    let mut schema = Schema::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "feature" => schema.features.push(read_feature(message_of(field)?)?),
            "string_domain" => schema
                .string_domain
                .push(read_string_domain(message_of(field)?)?),
            "float_domain" => schema
                .float_domain
                .push(read_float_domain(message_of(field)?)?),
            "int_domain" => schema.int_domain.push(read_int_domain(message_of(field)?)?),
            "default_environment" => schema.default_environment.push(string_of(field)?),
            "dataset_constraints" => {
                schema.dataset_constraints =
                    Some(read_dataset_constraints(message_of(once.check(field)?)?)?);
            }
            _ => return Err(unknown(field, "Schema", SCHEMA_FIELDS)),
        }
    }
    Ok(schema)
}

const SCHEMA_FIELDS: &[&str] = &[
    "feature",
    "string_domain",
    "float_domain",
    "int_domain",
    "default_environment",
    "dataset_constraints",
];

const FEATURE_FIELDS: &[&str] = &[
    "name",
    "deprecated",
    "presence",
    "shape",
    "value_count",
    "value_counts",
    "type",
    "domain",
    "int_domain",
    "float_domain",
    "string_domain",
    "bool_domain",
    "distribution_constraints",
    "skew_comparator",
    "drift_comparator",
    "in_environment",
    "not_in_environment",
    "lifecycle_stage",
];

/// A field mlrig does not read in `message` (one of `known`).
fn unknown(field: &TextField, message: &str, known: &[&str]) -> TextError {
    TextError::new(
        field.name_position,
        format!(
            "unknown field `{}` in `{message}`: mlrig does not model it and would drop it \
             when writing the schema (fields mlrig reads here: {})",
            field.name,
            known.join(", ")
        ),
    )
}

fn read_value_count(message: &TextMessage) -> Result<ValueCount, TextError> {
    let mut v = ValueCount::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "min" => v.min = Some(int_of(once.check(field)?)?),
            "max" => v.max = Some(int_of(once.check(field)?)?),
            _ => return Err(unknown(field, "value_count", &["min", "max"])),
        }
    }
    Ok(v)
}

fn read_dataset_constraints(message: &TextMessage) -> Result<DatasetConstraints, TextError> {
    let mut c = DatasetConstraints::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "num_examples_drift_comparator" => {
                c.num_examples_drift_comparator =
                    Some(read_numeric_comparator(message_of(once.check(field)?)?)?);
            }
            "num_examples_version_comparator" => {
                c.num_examples_version_comparator =
                    Some(read_numeric_comparator(message_of(once.check(field)?)?)?);
            }
            "min_examples_count" => c.min_examples_count = Some(int_of(once.check(field)?)?),
            "max_examples_count" => c.max_examples_count = Some(int_of(once.check(field)?)?),
            _ => {
                return Err(unknown(
                    field,
                    "dataset_constraints",
                    &[
                        "num_examples_drift_comparator",
                        "num_examples_version_comparator",
                        "min_examples_count",
                        "max_examples_count",
                    ],
                ));
            }
        }
    }
    Ok(c)
}

fn read_numeric_comparator(message: &TextMessage) -> Result<NumericValueComparator, TextError> {
    let mut c = NumericValueComparator::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "min_fraction_threshold" => {
                c.min_fraction_threshold = Some(float_of(once.check(field)?)?);
            }
            "max_fraction_threshold" => {
                c.max_fraction_threshold = Some(float_of(once.check(field)?)?);
            }
            _ => {
                return Err(unknown(
                    field,
                    "NumericValueComparator",
                    &["min_fraction_threshold", "max_fraction_threshold"],
                ));
            }
        }
    }
    Ok(c)
}

/// Rejects a second occurrence of a singular field.
#[derive(Default)]
struct Singular<'a>(Vec<&'a str>);

impl<'a> Singular<'a> {
    fn check(&mut self, field: &'a TextField) -> Result<&'a TextField, TextError> {
        if self.0.contains(&field.name.as_str()) {
            return Err(TextError::new(
                field.position,
                format!("field `{}` is given more than once", field.name),
            ));
        }
        self.0.push(&field.name);
        Ok(field)
    }
}

fn read_feature(message: &TextMessage) -> Result<Feature, TextError> {
    let mut f = Feature::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "name" => f.name = string_of(once.check(field)?)?,
            "deprecated" => f.deprecated = bool_of(once.check(field)?)?,
            "type" => f.feature_type = enum_of(once.check(field)?, FEATURE_TYPES)?,
            "domain" => f.domain = Some(string_of(once.check(field)?)?),
            "presence" => {
                let m = message_of(once.check(field)?)?;
                let mut p = FeaturePresence::default();
                let mut inner = Singular::default();
                for field in &m.fields {
                    match field.name.as_str() {
                        "min_fraction" => p.min_fraction = Some(float_of(inner.check(field)?)?),
                        "min_count" => p.min_count = Some(int_of(inner.check(field)?)?),
                        _ => {
                            return Err(unknown(field, "presence", &["min_fraction", "min_count"]));
                        }
                    }
                }
                f.presence = Some(p);
            }
            "value_count" => {
                f.value_count = Some(read_value_count(message_of(once.check(field)?)?)?);
            }
            "value_counts" => {
                let mut list = ValueCountList::default();
                for field in &message_of(once.check(field)?)?.fields {
                    if field.name != "value_count" {
                        return Err(unknown(field, "value_counts", &["value_count"]));
                    }
                    list.value_count.push(read_value_count(message_of(field)?)?);
                }
                f.value_counts = Some(list);
            }
            "shape" => f.shape = Some(read_shape(message_of(once.check(field)?)?)?),
            "int_domain" => {
                f.int_domain = Some(read_int_domain(message_of(once.check(field)?)?)?);
            }
            "float_domain" => {
                f.float_domain = Some(read_float_domain(message_of(once.check(field)?)?)?);
            }
            "string_domain" => {
                f.string_domain = Some(read_string_domain(message_of(once.check(field)?)?)?);
            }
            "bool_domain" => {
                let m = message_of(once.check(field)?)?;
                let mut d = BoolDomain::default();
                let mut inner = Singular::default();
                for field in &m.fields {
                    match field.name.as_str() {
                        "name" => d.name = Some(string_of(inner.check(field)?)?),
                        "true_value" => d.true_value = Some(string_of(inner.check(field)?)?),
                        "false_value" => d.false_value = Some(string_of(inner.check(field)?)?),
                        _ => {
                            return Err(unknown(
                                field,
                                "bool_domain",
                                &["name", "true_value", "false_value"],
                            ));
                        }
                    }
                }
                f.bool_domain = Some(d);
            }
            "distribution_constraints" => {
                let m = message_of(once.check(field)?)?;
                let mut d = DistributionConstraints::default();
                let mut inner = Singular::default();
                for field in &m.fields {
                    if field.name != "min_domain_mass" {
                        return Err(unknown(
                            field,
                            "distribution_constraints",
                            &["min_domain_mass"],
                        ));
                    }
                    d.min_domain_mass = Some(float_of(inner.check(field)?)?);
                }
                f.distribution_constraints = Some(d);
            }
            "in_environment" => f.in_environment.push(string_of(field)?),
            "not_in_environment" => f.not_in_environment.push(string_of(field)?),
            "lifecycle_stage" => {
                f.lifecycle_stage = Some(enum_of(once.check(field)?, LIFECYCLE_STAGES)?);
            }
            "skew_comparator" => {
                f.skew_comparator = Some(read_comparator(message_of(once.check(field)?)?)?);
            }
            "drift_comparator" => {
                f.drift_comparator = Some(read_comparator(message_of(once.check(field)?)?)?);
            }
            _ => return Err(unknown(field, "feature", FEATURE_FIELDS)),
        }
    }
    Ok(f)
}

fn read_shape(message: &TextMessage) -> Result<FixedShape, TextError> {
    let mut shape = FixedShape::default();
    for field in &message.fields {
        if field.name != "dim" {
            return Err(unknown(field, "shape", &["dim"]));
        }
        let mut dim = Dim::default();
        let mut once = Singular::default();
        for field in &message_of(field)?.fields {
            match field.name.as_str() {
                "size" => dim.size = int_of(once.check(field)?)?,
                "name" => dim.name = Some(string_of(once.check(field)?)?),
                _ => return Err(unknown(field, "dim", &["size", "name"])),
            }
        }
        shape.dim.push(dim);
    }
    Ok(shape)
}

fn read_int_domain(message: &TextMessage) -> Result<IntDomain, TextError> {
    let mut d = IntDomain::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "name" => d.name = Some(string_of(once.check(field)?)?),
            "min" => d.min = Some(int_of(once.check(field)?)?),
            "max" => d.max = Some(int_of(once.check(field)?)?),
            "is_categorical" => d.is_categorical = bool_of(once.check(field)?)?,
            _ => {
                return Err(unknown(
                    field,
                    "int_domain",
                    &["name", "min", "max", "is_categorical"],
                ));
            }
        }
    }
    Ok(d)
}

fn read_float_domain(message: &TextMessage) -> Result<FloatDomain, TextError> {
    let mut d = FloatDomain::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "name" => d.name = Some(string_of(once.check(field)?)?),
            "min" => d.min = Some(float_of(once.check(field)?)?),
            "max" => d.max = Some(float_of(once.check(field)?)?),
            "disallow_nan" => d.disallow_nan = bool_of(once.check(field)?)?,
            "disallow_inf" => d.disallow_inf = bool_of(once.check(field)?)?,
            "is_categorical" => d.is_categorical = bool_of(once.check(field)?)?,
            _ => {
                return Err(unknown(
                    field,
                    "float_domain",
                    &[
                        "name",
                        "min",
                        "max",
                        "disallow_nan",
                        "disallow_inf",
                        "is_categorical",
                    ],
                ));
            }
        }
    }
    Ok(d)
}

fn read_string_domain(message: &TextMessage) -> Result<StringDomain, TextError> {
    let mut d = StringDomain::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "name" => d.name = Some(string_of(once.check(field)?)?),
            "value" => d.value.push(string_of(field)?),
            _ => return Err(unknown(field, "string_domain", &["name", "value"])),
        }
    }
    Ok(d)
}

/// The `threshold` of a comparator message that may also hold the fields
/// `others` (read by the caller).
fn read_threshold(
    message: &TextMessage,
    name: &str,
    others: &[&str],
) -> Result<Option<f64>, TextError> {
    let mut threshold = None;
    let mut once = Singular::default();
    for field in &message.fields {
        if field.name == "threshold" {
            threshold = Some(float_of(once.check(field)?)?);
        } else if !others.contains(&field.name.as_str()) {
            let known: Vec<&str> = std::iter::once("threshold")
                .chain(others.iter().copied())
                .collect();
            return Err(unknown(field, name, &known));
        }
    }
    Ok(threshold)
}

fn read_comparator(message: &TextMessage) -> Result<FeatureComparator, TextError> {
    let mut c = FeatureComparator::default();
    let mut once = Singular::default();
    for field in &message.fields {
        match field.name.as_str() {
            "infinity_norm" => {
                let m = message_of(once.check(field)?)?;
                let threshold = read_threshold(m, "infinity_norm", &[])?;
                c.infinity_norm = Some(InfinityNorm { threshold });
            }
            "normalized_abs_difference" => {
                let m = message_of(once.check(field)?)?;
                let threshold = read_threshold(m, "normalized_abs_difference", &[])?;
                c.normalized_abs_difference = Some(NormalizedAbsoluteDifference { threshold });
            }
            "jensen_shannon_divergence" => {
                let m = message_of(once.check(field)?)?;
                let threshold = read_threshold(m, "jensen_shannon_divergence", &["source"])?;
                let mut source = None;
                let mut inner = Singular::default();
                for field in m.fields.iter().filter(|f| f.name == "source") {
                    let mut selection = HistogramSelection::default();
                    let mut innermost = Singular::default();
                    for field in &message_of(inner.check(field)?)?.fields {
                        if field.name != "type" {
                            return Err(unknown(field, "source", &["type"]));
                        }
                        selection.selection_type =
                            Some(enum_of(innermost.check(field)?, HISTOGRAM_SELECTIONS)?);
                    }
                    source = Some(selection);
                }
                c.jensen_shannon_divergence = Some(JensenShannonDivergence { threshold, source });
            }
            _ => {
                return Err(unknown(
                    field,
                    "FeatureComparator",
                    &[
                        "infinity_norm",
                        "jensen_shannon_divergence",
                        "normalized_abs_difference",
                    ],
                ));
            }
        }
    }
    Ok(c)
}

// ---------------------------------------------------------------- values

fn message_of(field: &TextField) -> Result<&TextMessage, TextError> {
    match &field.value {
        FieldValue::Message(m) => Ok(m),
        FieldValue::Scalar(_) => Err(TextError::new(
            field.position,
            format!("field `{}` is a message: expected `{{`", field.name),
        )),
    }
}

fn scalar_of(field: &TextField) -> Result<&Scalar, TextError> {
    match &field.value {
        FieldValue::Scalar(s) => Ok(s),
        FieldValue::Message(_) => Err(TextError::new(
            field.position,
            format!(
                "field `{}` is a scalar: expected a value, found `{{`",
                field.name
            ),
        )),
    }
}

fn describe(scalar: &Scalar) -> String {
    match scalar {
        Scalar::Identifier(s) => format!("`{s}`"),
        Scalar::Number(s) => format!("number `{s}`"),
        Scalar::Bytes(_) => "a string".to_string(),
    }
}

fn mismatch(field: &TextField, expected: &str, scalar: &Scalar) -> TextError {
    TextError::new(
        field.position,
        format!(
            "field `{}`: expected {expected}, found {}",
            field.name,
            describe(scalar)
        ),
    )
}

fn string_of(field: &TextField) -> Result<String, TextError> {
    match scalar_of(field)? {
        Scalar::Bytes(bytes) => String::from_utf8(bytes.clone()).map_err(|e| {
            TextError::new(
                field.position,
                format!(
                    "field `{}`: the string is not valid UTF-8 (invalid byte at offset {})",
                    field.name,
                    e.utf8_error().valid_up_to()
                ),
            )
        }),
        other => Err(mismatch(field, "a quoted string", other)),
    }
}

fn int_of(field: &TextField) -> Result<i64, TextError> {
    match scalar_of(field)? {
        Scalar::Number(n) => parse_int(n).ok_or_else(|| {
            TextError::new(
                field.position,
                format!(
                    "field `{}`: expected a 64-bit integer, found `{n}`",
                    field.name
                ),
            )
        }),
        other => Err(mismatch(field, "an integer", other)),
    }
}

fn float_of(field: &TextField) -> Result<f64, TextError> {
    let scalar = scalar_of(field)?;
    let parsed = match scalar {
        Scalar::Number(n) | Scalar::Identifier(n) => parse_float(n),
        Scalar::Bytes(_) => None,
    };
    parsed.ok_or_else(|| mismatch(field, "a number", scalar))
}

fn bool_of(field: &TextField) -> Result<bool, TextError> {
    let scalar = scalar_of(field)?;
    match scalar {
        Scalar::Identifier(s) if matches!(s.as_str(), "true" | "True" | "t") => Ok(true),
        Scalar::Identifier(s) if matches!(s.as_str(), "false" | "False" | "f") => Ok(false),
        Scalar::Number(n) if n == "1" => Ok(true),
        Scalar::Number(n) if n == "0" => Ok(false),
        other => Err(mismatch(field, "`true` or `false`", other)),
    }
}

fn enum_of<T: Copy>(field: &TextField, table: &[(&str, i64, T)]) -> Result<T, TextError> {
    let scalar = scalar_of(field)?;
    let found = match scalar {
        Scalar::Identifier(s) => table.iter().find(|(name, _, _)| name == s),
        Scalar::Number(n) => parse_int(n).and_then(|k| table.iter().find(|(_, v, _)| *v == k)),
        Scalar::Bytes(_) => None,
    };
    found.map(|(_, _, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(name, _, _)| *name).collect();
        mismatch(field, &format!("one of {}", names.join(", ")), scalar)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_modelled_field_in_field_number_order() {
        let mut f = Feature::new("a\"b", FeatureType::Float);
        f.deprecated = true;
        f.value_count = Some(ValueCount {
            min: Some(1),
            max: Some(2),
        });
        f.domain = Some("d".into());
        f.float_domain = Some(FloatDomain {
            min: Some(-1e-5),
            max: Some(f64::INFINITY),
            disallow_nan: true,
            ..FloatDomain::default()
        });
        f.presence = Some(FeaturePresence {
            min_fraction: Some(1.0),
            min_count: Some(3),
        });
        f.skew_comparator = Some(FeatureComparator::infinity_norm(0.01));
        let mut drift = FeatureComparator::jensen_shannon_divergence(0.1);
        if let Some(j) = drift.jensen_shannon_divergence.as_mut() {
            j.source = Some(HistogramSelection {
                selection_type: Some(HistogramSelectionType::Quantiles),
            });
        }
        f.drift_comparator = Some(drift);
        f.not_in_environment.push("SERVING".into());
        f.lifecycle_stage = Some(LifecycleStage::ValidationDerived);
        f.shape = Some(FixedShape::scalar());
        let mut schema = Schema::default();
        schema.features.push(f);
        let text = schema.to_pbtxt();
        let expected = r#"feature {
  name: "a\"b"
  deprecated: true
  value_count {
    min: 1
    max: 2
  }
  type: FLOAT
  domain: "d"
  float_domain {
    min: -1e-05
    max: inf
    disallow_nan: true
  }
  presence {
    min_fraction: 1.0
    min_count: 3
  }
  skew_comparator {
    infinity_norm {
      threshold: 0.01
    }
  }
  not_in_environment: "SERVING"
  drift_comparator {
    jensen_shannon_divergence {
      threshold: 0.1
      source {
        type: QUANTILES
      }
    }
  }
  lifecycle_stage: VALIDATION_DERIVED
  shape {
    dim {
      size: 1
    }
  }
}
"#;
        assert_eq!(text, expected);
        assert_eq!(Schema::from_pbtxt(&text).unwrap(), schema);
    }

    #[test]
    fn reads_enum_numbers_and_alternative_syntax() {
        let schema = Schema::from_pbtxt(
            "feature: { name: 'x', type: 3; lifecycle_stage: 9 deprecated: True }\n\
             feature: [ < name: \"y\" > ]",
        )
        .unwrap();
        let x = schema.feature("x").unwrap();
        assert_eq!(x.feature_type, FeatureType::Float);
        assert_eq!(x.lifecycle_stage, Some(LifecycleStage::ValidationDerived));
        assert!(x.deprecated);
        assert!(schema.feature("y").is_some());
    }

    #[test]
    fn unmodelled_fields_are_errors_naming_field_message_and_position() {
        let cases = [
            (
                "annotation { tag: \"t\" }",
                "1:1: unknown field `annotation` in `Schema`",
            ),
            (
                "sparse_feature { name: \"s\" }",
                "1:1: unknown field `sparse_feature` in `Schema`",
            ),
            (
                "feature {\n  name: \"x\"\n  natural_language_domain { }\n}",
                "3:3: unknown field `natural_language_domain` in `feature`",
            ),
            (
                "feature { presence { min_fractoin: 1.0 } }",
                "1:22: unknown field `min_fractoin` in `presence`",
            ),
            (
                "feature { value_counts { value_count { min: 1 } count: 2 } }",
                "1:49: unknown field `count` in `value_counts`",
            ),
            (
                "dataset_constraints { min_example_count: 1 }",
                "1:23: unknown field `min_example_count` in `dataset_constraints`",
            ),
            (
                "dataset_constraints { num_examples_drift_comparator { threshold: 1 } }",
                "1:55: unknown field `threshold` in `NumericValueComparator`",
            ),
            (
                "feature { drift_comparator { jensen_shannon_divergence { source { kind: 1 } } } }",
                "1:67: unknown field `kind` in `source`",
            ),
            (
                "feature { skew_comparator { l2: {} } }",
                "1:29: unknown field `l2` in `FeatureComparator`",
            ),
            (
                "feature { shape { dim { size: 1 extra: 2 } } }",
                "1:33: unknown field `extra` in `dim`",
            ),
        ];
        for (text, expected) in cases {
            let err = Schema::from_pbtxt(text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("schema:{expected}")),
                "{text}: {err}"
            );
            assert!(err.contains("fields mlrig reads here: "), "{err}");
        }
        let err = Schema::from_pbtxt("dataset_constraints {}\ndataset_constraints {}").unwrap_err();
        assert!(
            err.to_string()
                .contains("2:21: field `dataset_constraints` is given more than once"),
            "{err}"
        );
    }

    #[test]
    fn dataset_constraints_and_value_counts_round_trip_in_field_number_order() {
        let text = "feature {\n  name: \"x\"\n  type: INT\n  value_counts {\n    value_count {\n      min: 1\n    }\n    value_count {\n      max: 3\n    }\n  }\n}\n\
                    default_environment: \"TRAINING\"\n\
                    int_domain {\n  name: \"d\"\n  min: 0\n}\n\
                    dataset_constraints {\n  num_examples_drift_comparator {\n    min_fraction_threshold: 0.5\n    max_fraction_threshold: 2.0\n  }\n  num_examples_version_comparator {\n    max_fraction_threshold: 1e-05\n  }\n  min_examples_count: 10\n  max_examples_count: 1000\n}\n";
        let schema = Schema::from_pbtxt(text).unwrap();
        let c = schema.dataset_constraints.as_ref().unwrap();
        assert_eq!(c.min_examples_count, Some(10));
        assert_eq!(
            c.num_examples_version_comparator
                .as_ref()
                .unwrap()
                .max_fraction_threshold,
            Some(1e-5)
        );
        assert_eq!(
            schema.features[0]
                .value_counts
                .as_ref()
                .unwrap()
                .value_count
                .len(),
            2
        );
        assert_eq!(schema.to_pbtxt(), text);
        let json = schema.to_tfmd_json().unwrap();
        assert!(json.contains("\"numExamplesDriftComparator\""), "{json}");
        assert_eq!(Schema::from_tfmd_json(&json).unwrap(), schema);
    }

    #[test]
    fn errors_name_the_position_and_the_problem() {
        let cases = [
            (
                "feature { name: \"x\" name: \"y\" }",
                "1:27: field `name` is given more than once",
            ),
            (
                "feature {\n  type: 7\n}",
                "2:9: field `type`: expected one of TYPE_UNKNOWN",
            ),
            (
                "feature { presence: 1 }",
                "1:21: field `presence` is a message",
            ),
            ("feature { name { } }", "1:16: field `name` is a scalar"),
            (
                "int_domain { min: 1.5 }",
                "1:19: field `min`: expected a 64-bit integer, found `1.5`",
            ),
            (
                "feature { name: \"\\377\" }",
                "1:17: field `name`: the string is not valid UTF-8",
            ),
            (
                "feature { deprecated: yes }",
                "1:23: field `deprecated`: expected `true` or `false`, found `yes`",
            ),
            (
                "default_environment: SERVING",
                "1:22: field `default_environment`: expected a quoted string",
            ),
            (
                "feature {",
                "1:10: expected a field name or `}`, found end of input",
            ),
        ];
        for (text, expected) in cases {
            let err = Schema::from_pbtxt(text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("schema:{expected}")),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn file_format_follows_the_extension() {
        let dir = tempfile::tempdir().unwrap();
        let mut schema = Schema::default();
        schema.features.push(Feature::new("é", FeatureType::Bytes));
        let text = dir.path().join("s.PBTXT");
        schema.save(&text).unwrap();
        assert!(
            std::fs::read_to_string(&text)
                .unwrap()
                .contains("name: \"\\303\\251\"")
        );
        let json = dir.path().join("s.json");
        schema.save(&json).unwrap();
        assert!(
            std::fs::read_to_string(&json)
                .unwrap()
                .contains("\"feature\"")
        );
        let artifact = dir.path().join("s.artifact.json");
        mlrig_core::Artifact::save(&schema, &artifact, &[]).unwrap();
        for path in [&text, &json, &artifact] {
            assert_eq!(Schema::load(path).unwrap(), schema, "{}", path.display());
        }
        let err = schema.save(&dir.path().join("s.yaml")).unwrap_err();
        assert!(err.to_string().contains("s.yaml"), "{err}");
        let err = Schema::load(&dir.path().join("missing.pbtxt")).unwrap_err();
        assert!(matches!(err, ValidateError::Io { .. }), "{err}");
    }
}
