//! [`FeatureSpec`]: which transform each input column gets, declared in
//! JSON, TOML or Rust.
//!
//! ```json
//! {"columns": [
//!   {"name": "age", "impute": "mean", "encode": "standard_scale"},
//!   {"name": "workclass", "impute": "most_frequent", "encode": "one_hot"},
//!   {"name": "fnlwgt", "encode": "drop"}
//! ]}
//! ```
//!
//! The same in TOML (e.g. a section of a pipeline config):
//!
//! ```toml
//! [[columns]]
//! name = "age"
//! impute = "mean"
//! encode = "standard_scale"
//! ```
//!
//! Every struct rejects unknown fields, so a misspelt key is an error rather
//! than a silently ignored setting. Input columns the spec does not list are
//! ignored (scikit-learn's `ColumnTransformer(remainder="drop")`). Encodings
//! with parameters, added later, are written as tables
//! (`encode = { bucketize = { boundaries = [18, 65] } }`), so the unit
//! variants used today keep their spelling.

use mlrig_core::arrow_schema::{DataType, Schema};
use serde::{Deserialize, Serialize};

use crate::FeaturesError;

/// How missing values of a column are filled before encoding.
///
/// A value is missing when it is null or, in a `Float64` column, NaN.
/// Statistics are computed on the training data at fit time, as scikit-learn's
/// `SimpleImputer` does.
///
/// ```
/// use mlrig_features::Imputation;
/// let i: Imputation = serde_json::from_str("\"most_frequent\"").unwrap();
/// assert_eq!(i, Imputation::MostFrequent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Imputation {
    /// The mean of the non-missing training values (`Int64` or `Float64`
    /// columns with a numeric encoding).
    Mean,
    /// The most frequent non-missing training value; ties go to the smallest
    /// value (numeric order, `false < true`, or string order by code point),
    /// like `SimpleImputer(strategy="most_frequent")`.
    MostFrequent,
}

/// How a column becomes output features.
///
/// | encoding | input types | outputs |
/// |---|---|---|
/// | `standard_scale` | `Int64`, `Float64` | one: `(x − mean) / std` |
/// | `passthrough` | `Int64`, `Float64` | one: `x` as `f64` |
/// | `one_hot` | `Utf8`, `Boolean`, `Int64` | one per training category, sorted |
/// | `drop` | any | none; the column is not read |
///
/// A missing value that is not imputed becomes NaN for the numeric encodings
/// (as scikit-learn's scalers pass NaN through) and all zeros for one-hot.
///
/// ```
/// use mlrig_features::Encoding;
/// let e: Encoding = serde_json::from_str("\"one_hot\"").unwrap();
/// assert_eq!(e, Encoding::OneHot);
/// assert!(serde_json::from_str::<Encoding>("\"one-hot\"").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Encoding {
    /// Standard scaling: `z = (x − mean) / std`, with the population standard
    /// deviation, and a scale of 1 for a constant column (scikit-learn's
    /// `StandardScaler`). The statistics are those of the imputed column, as
    /// in `Pipeline([SimpleImputer(...), StandardScaler()])`.
    StandardScale,
    /// One-hot encoding over the sorted training categories; an unknown or
    /// missing (not imputed) value encodes as all zeros
    /// (`OneHotEncoder(handle_unknown="ignore")`).
    OneHot,
    /// The numeric value unchanged, cast to `f64`.
    Passthrough,
    /// No output; the column is not read.
    Drop,
}

impl Encoding {
    fn is_numeric(self) -> bool {
        matches!(self, Encoding::StandardScale | Encoding::Passthrough)
    }
}

/// The transform of one input column.
///
/// ```
/// use mlrig_features::{ColumnSpec, Encoding, Imputation};
/// let c = ColumnSpec::standard_scale("age").with_impute(Imputation::Mean);
/// assert_eq!(c.name, "age");
/// assert_eq!(c.encode, Encoding::StandardScale);
/// let json = serde_json::to_string(&c).unwrap();
/// assert_eq!(json, r#"{"name":"age","impute":"mean","encode":"standard_scale"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ColumnSpec {
    /// The input column name (matched exactly).
    pub name: String,
    /// How missing values are filled; `None` leaves them missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impute: Option<Imputation>,
    /// How the column becomes features.
    pub encode: Encoding,
}

impl ColumnSpec {
    /// A column with `encode` and no imputation.
    ///
    /// ```
    /// use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::new("x", Encoding::Passthrough), ColumnSpec::passthrough("x"));
    /// ```
    pub fn new(name: impl Into<String>, encode: Encoding) -> Self {
        Self {
            name: name.into(),
            impute: None,
            encode,
        }
    }

    /// A standard-scaled numeric column.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::standard_scale("x").encode, Encoding::StandardScale);
    /// ```
    pub fn standard_scale(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::StandardScale)
    }

    /// A one-hot encoded categorical column.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::one_hot("city").encode, Encoding::OneHot);
    /// ```
    pub fn one_hot(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::OneHot)
    }

    /// A numeric column passed through as `f64`.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::passthrough("x").encode, Encoding::Passthrough);
    /// ```
    pub fn passthrough(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::Passthrough)
    }

    /// A column that is explicitly not used.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::drop("id").encode, Encoding::Drop);
    /// ```
    pub fn drop(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::Drop)
    }

    /// The same column with missing values filled by `impute`.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Imputation};
    /// let c = ColumnSpec::one_hot("city").with_impute(Imputation::MostFrequent);
    /// assert_eq!(c.impute, Some(Imputation::MostFrequent));
    /// ```
    pub fn with_impute(mut self, impute: Imputation) -> Self {
        self.impute = Some(impute);
        self
    }

    /// Checks that the imputation fits the encoding (types are checked at fit).
    pub(crate) fn check(&self) -> Result<(), FeaturesError> {
        let invalid = |reason: &str| FeaturesError::InvalidSpec {
            column: self.name.clone(),
            reason: reason.to_string(),
        };
        if self.name.is_empty() {
            return Err(invalid("the column name is empty"));
        }
        match (self.impute, self.encode) {
            (Some(_), Encoding::Drop) => Err(invalid(
                "a dropped column is not read, so it cannot be imputed; remove `impute`",
            )),
            (Some(Imputation::Mean), encode) if !encode.is_numeric() => Err(invalid(
                "`impute = \"mean\"` needs a numeric encoding (standard_scale or passthrough); \
                 use \"most_frequent\" for one_hot",
            )),
            _ => Ok(()),
        }
    }
}

/// The transforms of a feature pipeline, one entry per input column; the
/// output features follow the order of the entries.
///
/// Build it from JSON/TOML (serde), in Rust, or with [`FeatureSpec::infer`].
///
/// ```
/// use mlrig_features::{ColumnSpec, FeatureSpec, Imputation};
/// let spec = FeatureSpec::new()
///     .with_column(ColumnSpec::standard_scale("age").with_impute(Imputation::Mean))
///     .with_column(ColumnSpec::one_hot("workclass"));
/// let json = r#"{"columns": [
///     {"name": "age", "impute": "mean", "encode": "standard_scale"},
///     {"name": "workclass", "encode": "one_hot"}]}"#;
/// assert_eq!(FeatureSpec::from_json(json).unwrap(), spec);
///
/// let typo = r#"{"columns": [{"name": "age", "imput": "mean", "encode": "passthrough"}]}"#;
/// let err = FeatureSpec::from_json(typo).unwrap_err();
/// assert!(err.to_string().contains("unknown field `imput`"), "{err}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FeatureSpec {
    /// One entry per input column, in output order.
    pub columns: Vec<ColumnSpec>,
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
        if schema.field_with_name(target).is_err() {
            return Err(FeaturesError::MissingColumn {
                column: target.to_string(),
                available: column_list(schema),
            });
        }
        let mut spec = FeatureSpec::new();
        for field in schema.fields().iter().filter(|f| f.name() != target) {
            let column = match field.data_type() {
                DataType::Int64 | DataType::Float64 => {
                    ColumnSpec::standard_scale(field.name()).with_impute(Imputation::Mean)
                }
                DataType::Utf8 | DataType::Boolean => {
                    ColumnSpec::one_hot(field.name()).with_impute(Imputation::MostFrequent)
                }
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

    /// Checks every entry, that no column is listed twice, and that some
    /// column produces features.
    pub(crate) fn check(&self) -> Result<(), FeaturesError> {
        let mut seen = std::collections::BTreeSet::new();
        for column in &self.columns {
            column.check()?;
            if !seen.insert(column.name.as_str()) {
                return Err(FeaturesError::DuplicateColumn {
                    column: column.name.clone(),
                });
            }
        }
        if self.columns.iter().all(|c| c.encode == Encoding::Drop) {
            return Err(FeaturesError::EmptySpec);
        }
        Ok(())
    }
}

/// The column names of a schema, comma separated, for error messages.
pub(crate) fn column_list(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

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
                r#"{"columns": [{"name": "a", "encode": "passthrough", "impute": "median"}]}"#,
                "unknown variant `median`",
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
