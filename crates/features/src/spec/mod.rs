//! [`FeatureSpec`]: which transform each input column gets, declared in
//! JSON, TOML or Rust.
//!
//! ```json
//! {"columns": [
//!   {"name": "age", "impute": "median", "missing_indicator": true,
//!    "encode": {"quantile_bucketize": {"buckets": 4}}},
//!   {"name": "workclass", "impute": {"constant": "unknown"}, "encode": "one_hot"},
//!   {"name": "fnlwgt", "encode": "drop"}
//! ],
//!  "crosses": [{"columns": ["workclass", "education"], "buckets": 64}],
//!  "output": "auto"}
//! ```
//!
//! The same in TOML (e.g. a section of a pipeline config):
//!
//! ```toml
//! output = "auto"
//! [[columns]]
//! name = "age"
//! impute = "mean"
//! encode = { min_max_scale = { feature_range = [-1.0, 1.0] } }
//! ```
//!
//! Every struct rejects unknown fields, so a misspelt key is an error rather
//! than a silently ignored setting. Input columns the spec does not list are
//! ignored (scikit-learn's `ColumnTransformer(remainder="drop")`). An
//! encoding is a name (`"standard_scale"`) or a one-key table of its
//! parameters (`{"hash": {"buckets": 32}}`); an encoding whose parameters all
//! have defaults may be written either way (`"min_max_scale"`).

mod column;
mod cross;
mod encoding;
mod encoding_params;
#[cfg(feature = "schemars")]
mod encoding_schema;
mod imputation;

use std::collections::BTreeSet;

use mlrig_core::arrow_schema::{DataType, Schema};
use serde::{Deserialize, Serialize};

pub use column::ColumnSpec;
pub use cross::CrossSpec;
pub use encoding::Encoding;
pub(crate) use encoding::InputKind;
pub use encoding_params::{
    BucketizeParams, ClipParams, DatePart, DatePartsParams, HashParams, MAX_HASH_BUCKETS,
    MAX_OUTPUT_COLUMNS, MinMaxScaleParams, QuantileBucketizeParams, RobustScaleParams,
    VocabularyParams,
};
pub use imputation::{ConstantValue, Imputation};

use crate::FeaturesError;

/// The storage of the pipeline's output [`Features`](mlrig_core::Features).
///
/// `auto` decides once, at fit, from the fitted structure: sparse (CSR) when
/// the expected density is below [`SPARSE_DENSITY_THRESHOLD`] (0.3). The
/// expected density counts one non-zero per numeric output and per one-hot,
/// bucket, hashed or crossed group, and the training fraction of missing
/// values per missing indicator, divided by the number of outputs. Deciding
/// at fit keeps the storage of a one-row serving batch the same as that of a
/// training batch.
///
/// ```
/// use mlrig_features::OutputLayout;
/// assert_eq!(OutputLayout::default(), OutputLayout::Dense);
/// assert_eq!(serde_json::from_str::<OutputLayout>("\"auto\"").unwrap(), OutputLayout::Auto);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutputLayout {
    /// Always a dense matrix (the default).
    #[default]
    Dense,
    /// Always CSR.
    Sparse,
    /// CSR when the expected density is below [`SPARSE_DENSITY_THRESHOLD`].
    Auto,
}

/// The expected density below which [`OutputLayout::Auto`] chooses CSR.
pub const SPARSE_DENSITY_THRESHOLD: f64 = 0.3;

/// The transforms of a feature pipeline: one entry per input column (the
/// output features follow the order of the entries), then the feature
/// crosses, and the output storage.
///
/// Build it from JSON/TOML (serde), in Rust, or with [`FeatureSpec::infer`].
/// Its JSON Schema, for editors, is `docs/schemas/feature-spec.schema.json`
/// in the repository (feature `schemars`); a `"$schema"` key naming it is
/// accepted and ignored.
///
/// ```
/// use mlrig_features::{ColumnSpec, CrossSpec, FeatureSpec, Imputation, OutputLayout};
/// let spec = FeatureSpec::new()
///     .with_column(ColumnSpec::standard_scale("age").with_impute(Imputation::Mean))
///     .with_column(ColumnSpec::one_hot("workclass"))
///     .with_cross(CrossSpec::new("workclass", "sex", 16))
///     .with_output(OutputLayout::Auto);
/// let json = r#"{"columns": [
///     {"name": "age", "impute": "mean", "encode": "standard_scale"},
///     {"name": "workclass", "encode": "one_hot"}],
///   "crosses": [{"columns": ["workclass", "sex"], "buckets": 16}],
///   "output": "auto"}"#;
/// assert_eq!(FeatureSpec::from_json(json).unwrap(), spec);
///
/// let typo = r#"{"columns": [{"name": "age", "imput": "mean", "encode": "passthrough"}]}"#;
/// let err = FeatureSpec::from_json(typo).unwrap_err();
/// assert!(err.to_string().contains("unknown field `imput`"), "{err}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
// The private unit field is the ignored `$schema` key, not a non-exhaustive marker.
#[allow(clippy::manual_non_exhaustive)]
pub struct FeatureSpec {
    /// One entry per input column, in output order.
    pub columns: Vec<ColumnSpec>,
    /// Feature crosses, output after the columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crosses: Vec<CrossSpec>,
    /// Dense, sparse or automatic output storage (default dense).
    #[serde(default, skip_serializing_if = "is_dense")]
    pub output: OutputLayout,
    /// Distinct values counted exactly per column for `one_hot`, `ordinal`,
    /// `vocabulary` (at least `2 · top_k`) and most-frequent imputation
    /// (default 65,536; at least 2). Beyond it the counts become a bounded
    /// Misra–Gries summary: `one_hot` and `ordinal` fail, `vocabulary` keeps
    /// the values more frequent than the summary's error bound (see the
    /// crate docs). Memory is about 100 bytes per counted value and column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 2)))]
    pub max_distinct_values: Option<usize>,
    /// The JSON Schema of this file, for editors, e.g.
    /// `"$schema": "https://raw.githubusercontent.com/mlrig/mlrig/main/docs/schemas/feature-spec.schema.json"`;
    /// accepted and ignored.
    #[serde(
        rename = "$schema",
        default,
        skip_serializing,
        deserialize_with = "mlrig_core::ignore_schema_reference"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    schema_reference: (),
}

fn is_dense(layout: &OutputLayout) -> bool {
    *layout == OutputLayout::Dense
}

impl FeatureSpec {
    /// An empty spec; add columns with [`FeatureSpec::with_column`].
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// assert!(FeatureSpec::new().columns.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The spec with `column` appended.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, FeatureSpec};
    /// let spec = FeatureSpec::new().with_column(ColumnSpec::passthrough("x"));
    /// assert_eq!(spec.columns.len(), 1);
    /// ```
    pub fn with_column(mut self, column: ColumnSpec) -> Self {
        self.columns.push(column);
        self
    }

    /// The spec with `cross` appended.
    ///
    /// ```
    /// # use mlrig_features::{CrossSpec, FeatureSpec};
    /// let spec = FeatureSpec::new().with_cross(CrossSpec::new("a", "b", 8));
    /// assert_eq!(spec.crosses.len(), 1);
    /// ```
    pub fn with_cross(mut self, cross: CrossSpec) -> Self {
        self.crosses.push(cross);
        self
    }

    /// The spec with at most `n` distinct values counted exactly per column
    /// (see [`FeatureSpec::max_distinct_values`]).
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// let spec = FeatureSpec::new().with_max_distinct_values(1000);
    /// assert_eq!(spec.max_distinct_values, Some(1000));
    /// let json = r#"{"columns": [], "max_distinct_values": 1000}"#;
    /// assert_eq!(FeatureSpec::from_json(json).unwrap(), spec);
    /// ```
    pub fn with_max_distinct_values(mut self, n: usize) -> Self {
        self.max_distinct_values = Some(n);
        self
    }

    /// The spec with output storage `output`.
    ///
    /// ```
    /// # use mlrig_features::{FeatureSpec, OutputLayout};
    /// assert_eq!(FeatureSpec::new().with_output(OutputLayout::Sparse).output, OutputLayout::Sparse);
    /// ```
    pub fn with_output(mut self, output: OutputLayout) -> Self {
        self.output = output;
        self
    }

    /// Parses a JSON spec; errors name the misspelt field, line and column.
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// let spec = FeatureSpec::from_json(r#"{"columns": [{"name": "x", "encode": "drop"}]}"#).unwrap();
    /// assert_eq!(spec.columns[0].name, "x");
    /// assert!(FeatureSpec::from_json(r#"{"columns": [{"name": "x", "encode": "dorp"}]}"#).is_err());
    /// ```
    pub fn from_json(text: &str) -> Result<Self, FeaturesError> {
        serde_json::from_str(text).map_err(|source| FeaturesError::SpecJson { source })
    }

    /// Parses a TOML spec (`[[columns]]` tables); errors name the key, line and column.
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// let spec = FeatureSpec::from_toml(r#"
    ///     [[columns]]
    ///     name = "age"
    ///     impute = "mean"
    ///     encode = "standard_scale"
    /// "#).unwrap();
    /// assert_eq!(spec.columns[0].name, "age");
    /// assert!(FeatureSpec::from_toml("[[columns]]\nname = \"x\"\nencode = \"scael\"").is_err());
    /// ```
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Self, FeaturesError> {
        toml::from_str(text).map_err(|source| FeaturesError::SpecToml { source })
    }

    /// Reads a spec file: `.json`, or `.toml` with the `toml` feature.
    ///
    /// ```
    /// # use mlrig_features::FeatureSpec;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("spec.json");
    /// std::fs::write(&path, r#"{"columns": [{"name": "x", "encode": "drop"}]}"#).unwrap();
    /// assert_eq!(FeatureSpec::load(&path).unwrap().columns.len(), 1);
    /// assert!(FeatureSpec::load(&dir.path().join("spec.yaml")).is_err());
    /// ```
    pub fn load(path: &std::path::Path) -> Result<Self, FeaturesError> {
        let file_error = |reason: String| FeaturesError::SpecFile {
            path: path.to_path_buf(),
            reason,
        };
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !matches!(extension, "json" | "toml") {
            return Err(file_error(format!(
                "unknown extension `.{extension}`; use .json or .toml"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        match extension {
            #[cfg(feature = "toml")]
            "toml" => Self::from_toml(&text),
            #[cfg(not(feature = "toml"))]
            "toml" => Err(file_error(
                "TOML specs need the `toml` feature of mlrig-features".into(),
            )),
            _ => Self::from_json(&text),
        }
        .map_err(|e| match e {
            // The file's name replaces the generic "feature spec" prefix.
            FeaturesError::SpecJson { source } => file_error(source.to_string()),
            #[cfg(feature = "toml")]
            FeaturesError::SpecToml { source } => {
                file_error(mlrig_core::toml_error_message(&source))
            }
            other => file_error(other.to_string()),
        })
    }

    /// A default spec for a table: mean imputation and standard scaling for
    /// `Int64` and `Float64` columns, most-frequent imputation and one-hot
    /// encoding for `Utf8` and `Boolean` columns, in schema order, without
    /// the `target` column.
    ///
    /// Fails when `target` is not in the schema (a misspelt target would
    /// otherwise become a feature) or a column has another Arrow type.
    ///
    /// ```
    /// use mlrig_features::{ColumnSpec, FeatureSpec, Imputation};
    /// use mlrig_core::arrow_schema::{DataType, Field, Schema};
    /// let schema = Schema::new(vec![
    ///     Field::new("age", DataType::Int64, true),
    ///     Field::new("city", DataType::Utf8, true),
    ///     Field::new("income", DataType::Utf8, true),
    /// ]);
    /// let spec = FeatureSpec::infer(&schema, "income").unwrap();
    /// assert_eq!(spec, FeatureSpec::new()
    ///     .with_column(ColumnSpec::standard_scale("age").with_impute(Imputation::Mean))
    ///     .with_column(ColumnSpec::one_hot("city").with_impute(Imputation::MostFrequent)));
    /// assert!(FeatureSpec::infer(&schema, "incme").is_err());
    /// ```
    pub fn infer(schema: &Schema, target: &str) -> Result<Self, FeaturesError> {
        Self::infer_by_type(
            schema,
            target,
            |name| ColumnSpec::standard_scale(name).with_impute(Imputation::Mean),
            |name| ColumnSpec::one_hot(name).with_impute(Imputation::MostFrequent),
        )
    }

    /// A default spec for gradient-boosted trees: `Int64` and `Float64`
    /// columns passed through unchanged, `Utf8` and `Boolean` columns as
    /// [`ordinal`](Encoding::Ordinal) category codes, nothing imputed (a
    /// missing value stays NaN, and trees learn where to send it), dense
    /// output, in schema order, without the `target` column.
    ///
    /// Fails as [`FeatureSpec::infer`] does: when `target` is not in the
    /// schema or a column has another Arrow type.
    ///
    /// ```
    /// use mlrig_features::{ColumnSpec, FeatureSpec, OutputLayout};
    /// use mlrig_core::arrow_schema::{DataType, Field, Schema};
    /// let schema = Schema::new(vec![
    ///     Field::new("age", DataType::Int64, true),
    ///     Field::new("city", DataType::Utf8, true),
    ///     Field::new("income", DataType::Utf8, true),
    /// ]);
    /// let spec = FeatureSpec::infer_for_trees(&schema, "income").unwrap();
    /// assert_eq!(spec, FeatureSpec::new()
    ///     .with_column(ColumnSpec::passthrough("age"))
    ///     .with_column(ColumnSpec::ordinal("city")));
    /// assert_eq!(spec.output, OutputLayout::Dense);
    /// assert!(FeatureSpec::infer_for_trees(&schema, "incme").is_err());
    /// ```
    pub fn infer_for_trees(schema: &Schema, target: &str) -> Result<Self, FeaturesError> {
        Self::infer_by_type(schema, target, ColumnSpec::passthrough, ColumnSpec::ordinal)
    }

    /// The column loop of the `infer` constructors: `numeric(name)` for
    /// `Int64` and `Float64` columns, `categorical(name)` for `Utf8` and
    /// `Boolean` columns, in schema order, without `target` (which must
    /// exist); another type is an error.
    fn infer_by_type(
        schema: &Schema,
        target: &str,
        numeric: impl Fn(String) -> ColumnSpec,
        categorical: impl Fn(String) -> ColumnSpec,
    ) -> Result<Self, FeaturesError> {
        if schema.field_with_name(target).is_err() {
            return Err(FeaturesError::MissingColumn {
                column: target.to_string(),
                available: column_list(schema),
            });
        }
        let mut spec = FeatureSpec::new();
        for field in schema.fields().iter().filter(|f| f.name() != target) {
            let column = match field.data_type() {
                DataType::Int64 | DataType::Float64 => numeric(field.name().clone()),
                DataType::Utf8 | DataType::Boolean => categorical(field.name().clone()),
                other => {
                    return Err(FeaturesError::WrongColumnType {
                        column: field.name().clone(),
                        expected: "Int64, Float64, Utf8 or Boolean".into(),
                        found: other.to_string(),
                    });
                }
            };
            spec.columns.push(column);
        }
        Ok(spec)
    }

    /// Checks every entry, that no column is listed twice, no cross twice,
    /// and that something produces features.
    pub(crate) fn check(&self) -> Result<(), FeaturesError> {
        if let Some(n) = self.max_distinct_values
            && n < 2
        {
            return Err(FeaturesError::InvalidSpec {
                column: "(all)".into(),
                reason: format!("max_distinct_values = {n} must be at least 2"),
            });
        }
        let mut seen = BTreeSet::new();
        for column in &self.columns {
            column.check()?;
            if !seen.insert(column.name.as_str()) {
                return Err(FeaturesError::DuplicateColumn {
                    column: column.name.clone(),
                });
            }
        }
        let mut crosses = BTreeSet::new();
        for cross in &self.crosses {
            cross.check()?;
            if !crosses.insert(&cross.columns) {
                return Err(FeaturesError::DuplicateColumn {
                    column: cross.output_prefix(),
                });
            }
        }
        if self.crosses.is_empty() && self.columns.iter().all(|c| c.encode == Encoding::Drop) {
            return Err(FeaturesError::EmptySpec);
        }
        Ok(())
    }
}

pub(crate) use mlrig_core::column_list;

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_schema::Field;

    #[test]
    fn json_round_trip_and_spelling() {
        let spec = FeatureSpec::new()
            .with_column(ColumnSpec::standard_scale("a").with_impute(Imputation::Mean))
            .with_column(ColumnSpec::one_hot("b").with_impute(Imputation::MostFrequent))
            .with_column(ColumnSpec::passthrough("c"))
            .with_column(ColumnSpec::drop("d"));
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(
            json,
            r#"{"columns":[{"name":"a","impute":"mean","encode":"standard_scale"},{"name":"b","impute":"most_frequent","encode":"one_hot"},{"name":"c","encode":"passthrough"},{"name":"d","encode":"drop"}]}"#
        );
        assert_eq!(FeatureSpec::from_json(&json).unwrap(), spec);
    }

    #[test]
    fn typos_are_errors_that_name_the_field() {
        for (text, needle) in [
            (
                r#"{"columns": [{"name": "a", "encode": "passthrough", "impute": "medain"}]}"#,
                "unknown variant `medain`",
            ),
            (
                r#"{"columns": [{"name": "a", "encode": "hashing"}]}"#,
                "unknown variant `hashing`",
            ),
            (
                r#"{"columns": [{"name": "a", "encode": "hash"}]}"#,
                "missing field `buckets`",
            ),
            (
                r#"{"columns": [{"name": "a", "encode": {"hash": {"buckets": 2, "sign": true}}}]}"#,
                "unknown field `sign`",
            ),
            (
                r#"{"columns": [{"name": "a", "encode": {"log": {}}}]}"#,
                "takes no parameters",
            ),
            (
                r#"{"columns": [{"name": "a", "encoding": "passthrough"}]}"#,
                "unknown field `encoding`",
            ),
            (r#"{"column": []}"#, "unknown field `column`"),
            (r#"{"columns": [{"name": "a"}]}"#, "missing field `encode`"),
        ] {
            let err = FeatureSpec::from_json(text).unwrap_err();
            assert!(matches!(err, FeaturesError::SpecJson { .. }));
            assert!(err.to_string().contains(needle), "{err}");
            assert!(err.to_string().contains("line 1 column"), "{err}");
        }
    }

    #[test]
    fn schema_key_is_accepted_and_ignored() {
        let text = r#"{"$schema": "https://example.com/feature-spec.schema.json",
            "columns": [{"name": "x", "encode": "passthrough"}]}"#;
        let spec = FeatureSpec::from_json(text).unwrap();
        assert_eq!(
            spec,
            FeatureSpec::new().with_column(ColumnSpec::passthrough("x"))
        );
        assert!(!serde_json::to_string(&spec).unwrap().contains("$schema"));
        let err = FeatureSpec::from_json(r#"{"$schema": 1, "columns": []}"#).unwrap_err();
        assert!(err.to_string().contains("line 1 column"), "{err}");
    }

    #[test]
    fn check_rejects_inconsistent_entries() {
        let mean_one_hot = FeatureSpec::new()
            .with_column(ColumnSpec::one_hot("city").with_impute(Imputation::Mean));
        let err = mean_one_hot.check().unwrap_err();
        assert!(
            err.to_string().starts_with("feature spec, column `city`"),
            "{err}"
        );

        let drop_impute = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("x"))
            .with_column(ColumnSpec::drop("id").with_impute(Imputation::MostFrequent));
        assert!(matches!(
            drop_impute.check(),
            Err(FeaturesError::InvalidSpec { column, .. }) if column == "id"
        ));

        let duplicate = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("x"))
            .with_column(ColumnSpec::standard_scale("x"));
        assert!(matches!(
            duplicate.check(),
            Err(FeaturesError::DuplicateColumn { column }) if column == "x"
        ));

        assert!(matches!(
            FeatureSpec::new().check(),
            Err(FeaturesError::EmptySpec)
        ));
        let only_dropped = FeatureSpec::new().with_column(ColumnSpec::drop("x"));
        assert!(matches!(
            only_dropped.check(),
            Err(FeaturesError::EmptySpec)
        ));
        let unnamed = FeatureSpec::new().with_column(ColumnSpec::passthrough(""));
        assert!(unnamed.check().is_err());

        let fine = FeatureSpec::new()
            .with_column(ColumnSpec::passthrough("x").with_impute(Imputation::MostFrequent))
            .with_column(ColumnSpec::drop("id"));
        assert!(fine.check().is_ok());
    }

    #[test]
    fn parametric_encodings_round_trip_and_check() {
        let json = r#"{"columns": [
            {"name": "a", "encode": "min_max_scale"},
            {"name": "b", "impute": "median", "missing_indicator": true,
             "encode": {"robust_scale": {"quantile_range": [10, 90]}}},
            {"name": "c", "impute": {"constant": -1}, "encode": {"clip": {"max": 5}}},
            {"name": "d", "encode": "log1p"},
            {"name": "e", "encode": {"bucketize": {"boundaries": [0, 1.5], "ordinal": true}}},
            {"name": "f", "encode": {"quantile_bucketize": {"buckets": 4}}},
            {"name": "g", "impute": {"constant": "?"}, "encode": {"vocabulary": {"top_k": 3, "oov_buckets": 2}}},
            {"name": "h", "encode": {"hash": {"buckets": 8, "alternate_sign": false}}},
            {"name": "i", "missing_indicator": true, "encode": {"date_parts": {"parts": ["weekday"]}}}
        ], "crosses": [{"columns": ["g", "h"], "buckets": 4}], "output": "sparse"}"#;
        let spec = FeatureSpec::from_json(json).unwrap();
        spec.check().unwrap();
        assert_eq!(
            spec.columns[0].encode,
            Encoding::MinMaxScale(MinMaxScaleParams::default())
        );
        assert_eq!(
            spec.columns[2].impute,
            Some(Imputation::Constant(ConstantValue::Int(-1)))
        );
        let text = serde_json::to_string(&spec).unwrap();
        assert_eq!(FeatureSpec::from_json(&text).unwrap(), spec);

        let bad = [
            Encoding::MinMaxScale(MinMaxScaleParams {
                feature_range: [1.0, 1.0],
                clip: false,
            }),
            Encoding::RobustScale(RobustScaleParams {
                quantile_range: [75.0, 25.0],
            }),
            Encoding::Clip(ClipParams::default()),
            Encoding::Clip(ClipParams {
                min: Some(2.0),
                max: Some(1.0),
            }),
            Encoding::Bucketize(BucketizeParams {
                boundaries: vec![1.0, 1.0],
                ordinal: false,
            }),
            Encoding::QuantileBucketize(QuantileBucketizeParams {
                buckets: 1,
                ordinal: false,
            }),
            Encoding::Vocabulary(VocabularyParams {
                top_k: Some(0),
                ..VocabularyParams::default()
            }),
            Encoding::Hash(HashParams {
                buckets: 0,
                alternate_sign: true,
            }),
            Encoding::DateParts(DatePartsParams {
                parts: vec![DatePart::Day, DatePart::Day],
            }),
        ];
        for encode in bad {
            let spec = FeatureSpec::new().with_column(ColumnSpec::new("x", encode.clone()));
            let err = spec.check().unwrap_err();
            assert!(err.to_string().contains(encode.name()), "{encode:?}: {err}");
        }
        for column in [
            ColumnSpec::one_hot("x").with_impute(Imputation::Median),
            ColumnSpec::new("x", Encoding::DateParts(DatePartsParams::default()))
                .with_impute(Imputation::MostFrequent),
            ColumnSpec::passthrough("x")
                .with_impute(Imputation::Constant(ConstantValue::Text("a".into()))),
            ColumnSpec::passthrough("x")
                .with_impute(Imputation::Constant(ConstantValue::Float(f64::NAN))),
            ColumnSpec::drop("x").with_missing_indicator(),
        ] {
            assert!(FeatureSpec::new().with_column(column).check().is_err());
        }
        let only_cross = FeatureSpec::new().with_cross(CrossSpec::new("a", "b", 3));
        assert!(only_cross.check().is_ok());
        for cross in [CrossSpec::new("a", "a", 3), CrossSpec::new("a", "b", 0)] {
            assert!(FeatureSpec::new().with_cross(cross).check().is_err());
        }
        let twice = only_cross.with_cross(CrossSpec::new("a", "b", 5));
        assert!(matches!(
            twice.check(),
            Err(FeaturesError::DuplicateColumn { column }) if column == "a_x_b"
        ));
    }

    #[test]
    fn ordinal_is_written_by_name_only_and_takes_categorical_imputations() {
        let spec = FeatureSpec::from_json(
            r#"{"columns": [{"name": "c", "impute": "most_frequent", "encode": "ordinal"}]}"#,
        )
        .unwrap();
        assert_eq!(
            spec,
            FeatureSpec::new()
                .with_column(ColumnSpec::ordinal("c").with_impute(Imputation::MostFrequent))
        );
        spec.check().unwrap();
        assert_eq!(
            serde_json::to_string(&spec).unwrap(),
            r#"{"columns":[{"name":"c","impute":"most_frequent","encode":"ordinal"}]}"#
        );
        let err =
            FeatureSpec::from_json(r#"{"columns": [{"name": "c", "encode": {"ordinal": {}}}]}"#)
                .unwrap_err();
        assert!(err.to_string().contains("takes no parameters"), "{err}");
        assert_eq!(Encoding::Ordinal.input_kind(), InputKind::Categorical);
        for impute in [Imputation::Mean, Imputation::Median] {
            let spec = FeatureSpec::new().with_column(ColumnSpec::ordinal("c").with_impute(impute));
            assert!(spec.check().is_err());
        }
        let constant = ColumnSpec::ordinal("c")
            .with_impute(Imputation::Constant(ConstantValue::Text("?".into())))
            .with_missing_indicator();
        assert!(FeatureSpec::new().with_column(constant).check().is_ok());
    }

    #[test]
    fn infer_for_trees_passes_numbers_and_codes_categories() {
        let schema = Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("target", DataType::Float64, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]);
        let spec = FeatureSpec::infer_for_trees(&schema, "target").unwrap();
        assert_eq!(
            spec,
            FeatureSpec::new()
                .with_column(ColumnSpec::passthrough("f"))
                .with_column(ColumnSpec::ordinal("flag"))
                .with_column(ColumnSpec::passthrough("n"))
                .with_column(ColumnSpec::ordinal("s"))
        );
        assert!(spec.columns.iter().all(|c| c.impute.is_none()));
        assert_eq!(spec.output, OutputLayout::Dense);
        assert!(spec.check().is_ok());

        // The same errors as `infer`, from the same loop.
        let err = FeatureSpec::infer_for_trees(&schema, "y").unwrap_err();
        assert_eq!(
            err.to_string(),
            FeatureSpec::infer(&schema, "y").unwrap_err().to_string()
        );
        let dates = Schema::new(vec![
            Field::new("d", DataType::Date32, true),
            Field::new("y", DataType::Int64, true),
        ]);
        let err = FeatureSpec::infer_for_trees(&dates, "y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `d`: expected Int64, Float64, Utf8 or Boolean, found Date32"
        );
    }

    #[test]
    fn infer_by_type_excluding_target() {
        let schema = Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("target", DataType::Float64, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("n", DataType::Int64, false),
        ]);
        let spec = FeatureSpec::infer(&schema, "target").unwrap();
        let names: Vec<_> = spec.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["f", "flag", "n"]);
        assert_eq!(
            spec.columns[1],
            ColumnSpec::one_hot("flag").with_impute(Imputation::MostFrequent)
        );
        assert_eq!(
            spec.columns[2],
            ColumnSpec::standard_scale("n").with_impute(Imputation::Mean)
        );
        assert!(spec.check().is_ok());

        let err = FeatureSpec::infer(&schema, "y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `y` is not in the input; it has: f, target, flag, n"
        );
        let dates = Schema::new(vec![
            Field::new("d", DataType::Date32, true),
            Field::new("y", DataType::Int64, true),
        ]);
        let err = FeatureSpec::infer(&dates, "y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `d`: expected Int64, Float64, Utf8 or Boolean, found Date32"
        );
    }
}
