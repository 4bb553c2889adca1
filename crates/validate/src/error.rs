//! The error type of `mlrig-validate`.
//!
//! Anomalies in the *data* are not errors: they are reported in
//! [`Anomalies`](crate::Anomalies). A [`ValidateError`] means the work itself
//! cannot be done: a batch does not match the schema it was announced with, two
//! accumulators configured differently are merged, a file cannot be read or
//! parsed, or an option names something that does not exist.

use std::path::PathBuf;

/// Everything that can go wrong in `mlrig-validate`.
///
/// ```
/// use mlrig_validate::ValidateError;
/// let e = ValidateError::BatchSchemaMismatch {
///     column: "age".into(),
///     expected: "Int64".into(),
///     found: "Utf8".into(),
/// };
/// assert_eq!(e.to_string(), "column `age`: expected Int64, found Utf8");
/// assert!(e.is_invalid_input());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidateError {
    /// A record batch does not have the columns (names, order, types) of the
    /// Arrow schema the accumulator or validator was created with.
    #[error("column `{column}`: expected {expected}, found {found}")]
    BatchSchemaMismatch {
        /// The column (or `(columns)` when the column count differs).
        column: String,
        /// What the announced schema says.
        expected: String,
        /// What the batch has.
        found: String,
    },
    /// Two statistics accumulators with different columns or parameters were merged.
    #[error("cannot merge statistics accumulators: {reason}")]
    IncompatibleMerge {
        /// What differs.
        reason: String,
    },
    /// A validation environment that the schema does not mention.
    #[error("environment `{environment}` is not defined in the schema (known: {known})")]
    UnknownEnvironment {
        /// The environment asked for.
        environment: String,
        /// The environments the schema defines, comma separated.
        known: String,
    },
    /// The schema is inconsistent (e.g. a `domain` that names no domain).
    #[error("schema feature `{feature}`: {reason}")]
    InvalidSchema {
        /// The feature concerned.
        feature: String,
        /// What is wrong.
        reason: String,
    },
    /// Two statistics cannot be compared the way a comparator or drift test
    /// asks (e.g. a numeric feature whose statistics carry no histogram).
    #[error("feature `{feature}`: cannot compare statistics: {reason}")]
    IncomparableStatistics {
        /// The feature concerned.
        feature: String,
        /// What is missing or inconsistent.
        reason: String,
    },
    /// A weight column value is missing, negative, NaN or infinite.
    #[error(
        "weight column `{column}`, batch row {row}: expected a finite weight >= 0, found {found}"
    )]
    InvalidWeight {
        /// The weight column.
        column: String,
        /// The 0-based row within the batch.
        row: usize,
        /// The offending value (`null` when missing).
        found: String,
    },
    /// A sliced statistics pass saw more slices than it may keep.
    #[error(
        "slicing feature `{feature}` has more than {max_slices} distinct values; \
         slice by a feature with fewer values or raise the cap"
    )]
    TooManySlices {
        /// The slicing feature.
        feature: String,
        /// The cap.
        max_slices: usize,
    },
    /// A JSON document could not be parsed or written.
    #[error("{context}: invalid tensorflow-metadata JSON: {source}")]
    Json {
        /// What was being read or written (a file path or a type name).
        context: String,
        /// The underlying serde_json error.
        #[source]
        source: serde_json::Error,
    },
    /// A protobuf text-format document (`schema.pbtxt`) could not be parsed.
    #[error("{context}:{line}:{column}: {message}")]
    TextFormat {
        /// What was being read (a file path, or `schema`).
        context: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// A protobuf document (binary, or a message that does not fit its
    /// tensorflow-metadata type) could not be read or written.
    #[error("{context}: {message}")]
    Protobuf {
        /// What was being read or written (a file path or a type name).
        context: String,
        /// What went wrong.
        message: String,
        /// The underlying decoding error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A file name whose extension names no format mlrig reads or writes.
    #[error("{}: unknown file extension (expected {expected})", path.display())]
    UnknownFileFormat {
        /// The file.
        path: PathBuf,
        /// The extensions that are understood.
        expected: String,
    },
    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An error from `mlrig-core` (atomic writes, artifacts, Arrow).
    #[error(transparent)]
    Core(#[from] mlrig_core::Error),
}

impl ValidateError {
    /// `true` when the error is caused by the caller's input — a file that
    /// cannot be parsed, a schema that does not fit the data, an unknown
    /// environment or file extension, statistics that cannot be compared, bad
    /// weights — so the CLI exits with status 2 and a server answers 400;
    /// `false` for failures of the system (I/O) or of the program (merging
    /// accumulators configured differently). Errors from `mlrig-core` keep
    /// [`mlrig_core::Error::is_invalid_input`]'s answer.
    ///
    /// ```
    /// use mlrig_validate::{Schema, ValidateError};
    /// let bad = Schema::from_pbtxt("feature { name: \"age\" type: TEXT }").unwrap_err();
    /// assert!(bad.is_invalid_input());
    /// let io = ValidateError::Io {
    ///     path: "schema.pbtxt".into(),
    ///     source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    /// };
    /// assert!(!io.is_invalid_input());
    /// assert!(std::error::Error::source(&io).is_some());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        match self {
            ValidateError::BatchSchemaMismatch { .. }
            | ValidateError::UnknownEnvironment { .. }
            | ValidateError::InvalidSchema { .. }
            | ValidateError::IncomparableStatistics { .. }
            | ValidateError::InvalidWeight { .. }
            | ValidateError::TooManySlices { .. }
            | ValidateError::TextFormat { .. }
            | ValidateError::Protobuf { .. }
            | ValidateError::UnknownFileFormat { .. } => true,
            // A document that does not parse or does not fit its type; not a
            // failing writer underneath.
            ValidateError::Json { source, .. } => !source.is_io(),
            ValidateError::Core(e) => e.is_invalid_input(),
            ValidateError::IncompatibleMerge { .. } | ValidateError::Io { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_are_told_apart_from_system_errors() {
        let json = serde_json::from_str::<crate::Schema>("{").unwrap_err();
        let input = [
            ValidateError::UnknownEnvironment {
                environment: "SERVING".into(),
                known: "TRAINING".into(),
            },
            ValidateError::Json {
                context: "schema.json".into(),
                source: json,
            },
            ValidateError::UnknownFileFormat {
                path: "schema.yaml".into(),
                expected: ".json, .pbtxt, .pb".into(),
            },
            ValidateError::Core(mlrig_core::Error::MissingField {
                instance: None,
                field: "age".into(),
            }),
        ];
        for e in &input {
            assert!(e.is_invalid_input(), "{e}");
        }
        let system = [
            ValidateError::IncompatibleMerge {
                reason: "different columns".into(),
            },
            ValidateError::Io {
                path: "schema.pbtxt".into(),
                source: std::io::Error::other("disk on fire"),
            },
            ValidateError::Core(mlrig_core::Error::io(
                "stats.json",
                std::io::Error::other("disk on fire"),
            )),
        ];
        for e in &system {
            assert!(!e.is_invalid_input(), "{e}");
        }
    }

    #[test]
    fn causes_are_kept_as_sources() {
        let e = ValidateError::Json {
            context: "stats.json".into(),
            source: serde_json::from_str::<crate::DatasetStatistics>("[").unwrap_err(),
        };
        assert!(std::error::Error::source(&e).is_some());
        use crate::TfmdFile;
        let binary =
            crate::DatasetStatistics::from_bytes(&[0xff, 0xff, 0xff], crate::TfmdFormat::Binary)
                .unwrap_err();
        assert!(
            matches!(binary, ValidateError::Protobuf { .. }),
            "{binary:?}"
        );
        assert!(binary.is_invalid_input());
        assert!(std::error::Error::source(&binary).is_some());
    }
}
