//! [`InferenceOptions`]: how text values get their column types — the
//! inference sample, its tolerance, the missing-value tokens and the type
//! overrides.

use std::collections::BTreeMap;

use mlrig_core::arrow_schema::DataType;

use crate::IngestError;

/// Default number of data records read to infer column types.
pub const DEFAULT_INFER_ROWS: usize = 10_000;
/// Default largest fraction of a column's sampled values that may fail to
/// parse as the inferred type (those rows are quarantined).
pub const DEFAULT_INFER_TOLERANCE: f64 = 0.25;
/// Default missing-value tokens.
pub const DEFAULT_MISSING_TOKENS: [&str; 6] = ["", "NA", "N/A", "NaN", "null", "?"];

/// Parses a column type name as used on the command line.
///
/// Accepted (case-insensitive): `boolean`/`bool`; `int64`/`int`/`integer`/`i64`;
/// `float64`/`float`/`double`/`f64`; `utf8`/`string`/`str`/`text`.
///
/// ```
/// use mlrig_ingest::{DataType, parse_data_type};
/// assert_eq!(parse_data_type("int64")?, DataType::Int64);
/// assert_eq!(parse_data_type("String")?, DataType::Utf8);
/// assert!(parse_data_type("decimal").is_err());
/// # Ok::<(), mlrig_ingest::IngestError>(())
/// ```
pub fn parse_data_type(name: &str) -> Result<DataType, IngestError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "boolean" | "bool" => Ok(DataType::Boolean),
        "int64" | "int" | "integer" | "i64" => Ok(DataType::Int64),
        "float64" | "float" | "double" | "f64" => Ok(DataType::Float64),
        "utf8" | "string" | "str" | "text" => Ok(DataType::Utf8),
        _ => Err(IngestError::UnknownDataType { name: name.into() }),
    }
}

/// How values get their types: the records sampled to infer each column's
/// type, how many stray values a typed column tolerates, which tokens mean
/// "missing", and per-column type overrides.
///
/// CSV and JSON Lines use all of it (a JSON string equal to a missing token
/// is a null). Parquet is typed: it only checks that an override agrees with
/// the column's converted type. Values are checked when a reader opens.
///
/// ```
/// use mlrig_ingest::{DataType, InferenceOptions, ReadOptions};
/// let inference = InferenceOptions::default()
///     .with_infer_rows(500)
///     .with_missing_tokens(["", "-"])
///     .with_column_type("zip", DataType::Utf8);
/// let options = ReadOptions::default().with_inference(inference);
/// assert_eq!(options.inference().infer_rows(), 500);
/// assert_eq!(options.inference().column_types().get("zip"), Some(&DataType::Utf8));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceOptions {
    infer_rows: usize,
    infer_tolerance: f64,
    missing_tokens: Vec<String>,
    column_types: BTreeMap<String, DataType>,
}

impl Default for InferenceOptions {
    /// Types inferred from 10,000 records with a 25% tolerance; the missing
    /// tokens `""`, `NA`, `N/A`, `NaN`, `null`, `?`; no override.
    fn default() -> Self {
        InferenceOptions {
            infer_rows: DEFAULT_INFER_ROWS,
            infer_tolerance: DEFAULT_INFER_TOLERANCE,
            missing_tokens: DEFAULT_MISSING_TOKENS
                .iter()
                .map(|t| t.to_string())
                .collect(),
            column_types: BTreeMap::new(),
        }
    }
}

impl InferenceOptions {
    /// The number of data records (after the header) sampled to infer column
    /// types (default 10,000). `0` disables inference: every column without an
    /// override is `Utf8`. The sample is held in memory and then streamed like
    /// every other record, so the file is read once.
    ///
    /// ```
    /// let o = mlrig_ingest::InferenceOptions::default().with_infer_rows(0);
    /// assert_eq!(o.infer_rows(), 0);
    /// ```
    #[must_use]
    pub fn with_infer_rows(mut self, infer_rows: usize) -> Self {
        self.infer_rows = infer_rows;
        self
    }

    /// The largest fraction of a column's non-missing sampled values that may
    /// fail to parse as the inferred type (default 0.25; must be in
    /// `0.0..0.5`). A column whose values are mostly numbers (or booleans)
    /// but with a few stray words keeps its numeric type and the rows with
    /// the stray words are quarantined, instead of the whole column silently
    /// becoming text. `0.0` gives strict widening: one non-number in the
    /// sample makes the column `Utf8`.
    ///
    /// ```
    /// let o = mlrig_ingest::InferenceOptions::default().with_infer_tolerance(0.0);
    /// assert_eq!(o.infer_tolerance(), 0.0);
    /// ```
    #[must_use]
    pub fn with_infer_tolerance(mut self, fraction: f64) -> Self {
        self.infer_tolerance = fraction;
        self
    }

    /// The tokens that mean "missing" (default `""`, `NA`, `N/A`, `NaN`,
    /// `null`, `?`). A field equal to one of them after trimming ASCII
    /// whitespace becomes a null, whatever the column type. Matching is
    /// case-sensitive.
    ///
    /// ```
    /// let o = mlrig_ingest::InferenceOptions::default().with_missing_tokens(["", "-"]);
    /// assert_eq!(o.missing_tokens(), ["", "-"]);
    /// ```
    #[must_use]
    pub fn with_missing_tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.missing_tokens = tokens.into_iter().map(Into::into).collect();
        self
    }

    /// Forces the type of a column (by its name, or `column_<i>` without a
    /// header); overrides take priority over inference. Supported types:
    /// `Boolean`, `Int64`, `Float64`, `Utf8`. Setting the same column twice
    /// keeps the last type. An unknown column or unsupported type is an error
    /// when the reader opens.
    ///
    /// ```
    /// use mlrig_ingest::{DataType, InferenceOptions};
    /// let o = InferenceOptions::default().with_column_type("zip", DataType::Utf8);
    /// assert_eq!(o.column_types().get("zip"), Some(&DataType::Utf8));
    /// ```
    #[must_use]
    pub fn with_column_type(mut self, column: impl Into<String>, data_type: DataType) -> Self {
        self.column_types.insert(column.into(), data_type);
        self
    }

    /// Records sampled for type inference.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::InferenceOptions::default().infer_rows(), 10_000);
    /// ```
    pub fn infer_rows(&self) -> usize {
        self.infer_rows
    }

    /// The inference tolerance (see [`InferenceOptions::with_infer_tolerance`]).
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::InferenceOptions::default().infer_tolerance(), 0.25);
    /// ```
    pub fn infer_tolerance(&self) -> f64 {
        self.infer_tolerance
    }

    /// The missing-value tokens.
    ///
    /// ```
    /// let o = mlrig_ingest::InferenceOptions::default();
    /// assert!(o.missing_tokens().contains(&"?".to_string()));
    /// ```
    pub fn missing_tokens(&self) -> &[String] {
        &self.missing_tokens
    }

    /// The column type overrides, by column name.
    ///
    /// ```
    /// assert!(mlrig_ingest::InferenceOptions::default().column_types().is_empty());
    /// ```
    pub fn column_types(&self) -> &BTreeMap<String, DataType> {
        &self.column_types
    }

    /// Checks the tolerance and the override types.
    pub(crate) fn validate(&self) -> Result<(), IngestError> {
        if !(0.0..0.5).contains(&self.infer_tolerance) {
            return Err(IngestError::InvalidOption {
                option: "infer_tolerance".into(),
                reason: format!("must be in 0.0..0.5, found {}", self.infer_tolerance),
            });
        }
        for (column, data_type) in &self.column_types {
            if !matches!(
                data_type,
                DataType::Boolean | DataType::Int64 | DataType::Float64 | DataType::Utf8
            ) {
                return Err(IngestError::UnsupportedType {
                    column: column.clone(),
                    data_type: data_type.to_string(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let o = InferenceOptions::default();
        assert!(o.validate().is_ok());
        assert_eq!(o.missing_tokens(), ["", "NA", "N/A", "NaN", "null", "?"]);
        assert_eq!(o.infer_rows(), 10_000);
        assert_eq!(o.infer_tolerance(), 0.25);
    }

    #[test]
    fn tolerance_outside_its_range_is_rejected() {
        for bad in [0.5, f64::NAN, -0.1] {
            match InferenceOptions::default()
                .with_infer_tolerance(bad)
                .validate()
            {
                Err(IngestError::InvalidOption { option, .. }) => {
                    assert_eq!(option, "infer_tolerance");
                }
                other => panic!("expected InvalidOption for {bad}, got {other:?}"),
            }
        }
    }

    #[test]
    fn unsupported_override_type_is_rejected() {
        let o = InferenceOptions::default().with_column_type("d", DataType::Date32);
        let e = o.validate().unwrap_err();
        assert!(matches!(e, IngestError::UnsupportedType { ref column, .. } if column == "d"));
        assert!(e.to_string().contains("Date32"));
    }

    #[test]
    fn data_type_names() {
        for (name, ty) in [
            ("bool", DataType::Boolean),
            ("BOOLEAN", DataType::Boolean),
            ("int", DataType::Int64),
            (" Int64 ", DataType::Int64),
            ("double", DataType::Float64),
            ("float64", DataType::Float64),
            ("text", DataType::Utf8),
            ("utf8", DataType::Utf8),
        ] {
            assert_eq!(parse_data_type(name).unwrap(), ty, "{name}");
        }
        let e = parse_data_type("date").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown data type `date`; expected one of: boolean, int64, float64, utf8"
        );
    }
}
