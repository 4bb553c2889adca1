//! The error type of `mlrig-ingest`.
//!
//! Bad *rows* are not errors: they go to the quarantine (see
//! [`QuarantinedRow`](crate::QuarantinedRow)). An [`IngestError`] means the
//! file as a whole cannot be read: it is missing or empty, its header is
//! unusable, an option is invalid, or the disk failed.
//!
//! The readers are arrow [`RecordBatchReader`](crate::RecordBatchReader)s,
//! so their items carry an [`ArrowError`]: an `IngestError` travels inside it
//! as [`ArrowError::ExternalError`] (its `source()`), and
//! `IngestError::from(arrow_error)` takes it back out unchanged.

use std::path::PathBuf;

use mlrig_core::arrow_schema::ArrowError;

/// Everything that can stop a CSV file from being ingested.
///
/// Every variant that concerns a file names it; header problems also name the
/// column position (1-based), so the CLI can print one precise line.
///
/// **Through arrow.** A reader's `Iterator` items are
/// `Result<RecordBatch, ArrowError>` (the [`RecordBatchReader`](crate::RecordBatchReader)
/// contract); an error is `ArrowError::ExternalError(Box<IngestError>)`, with
/// the `IngestError` as its [`source`](std::error::Error::source).
/// `IngestError::from` an [`ArrowError`] recovers that `IngestError` as it
/// was (variant, fields, [`is_invalid_input`](IngestError::is_invalid_input));
/// any other arrow error becomes [`IngestError::Core`].
///
/// ```
/// use mlrig_ingest::{ArrowError, DataReader, IngestError, ReadOptions};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x\n1\n")?;
/// let mut reader = DataReader::open(&path, ReadOptions::default())?;
/// let batch = reader.next().transpose().map_err(IngestError::from)?;
/// assert_eq!(batch.map(|b| b.num_rows()), Some(1));
///
/// let arrow: ArrowError = IngestError::EmptyFile { path: "e.csv".into() }.into();
/// assert!(matches!(arrow, ArrowError::ExternalError(_)));
/// let back = IngestError::from(arrow);
/// assert!(matches!(back, IngestError::EmptyFile { .. }) && back.is_invalid_input());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ```
/// use mlrig_ingest::IngestError;
/// let e = IngestError::DuplicateColumn {
///     path: "data.csv".into(),
///     name: "age".into(),
///     first: 1,
///     second: 4,
/// };
/// assert_eq!(
///     e.to_string(),
///     "data.csv: line 1: duplicate column name `age` at positions 1 and 4"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// Reading the input or writing the quarantine file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no record at all (0 bytes, or only a byte-order mark and
    /// blank lines), so not even a header can be read.
    #[error("{}: the file is empty (expected at least a header line)", path.display())]
    EmptyFile {
        /// The empty file.
        path: PathBuf,
    },
    /// The header line cannot be used as column names.
    #[error("{}: line 1, column {column}: invalid header: {reason}", path.display())]
    InvalidHeader {
        /// The file.
        path: PathBuf,
        /// 1-based position of the offending header field.
        column: usize,
        /// What is wrong, e.g. `invalid UTF-8`.
        reason: String,
    },
    /// Two header fields have the same name.
    #[error(
        "{}: line 1: duplicate column name `{name}` at positions {first} and {second}",
        path.display()
    )]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        name: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the second occurrence.
        second: usize,
    },
    /// A type override names a column the file does not have.
    #[error(
        "{}: type override for unknown column `{column}`; the columns are: {available}",
        path.display()
    )]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The column named in the override.
        column: String,
        /// The file's column names, comma separated.
        available: String,
    },
    /// A type override asks for an Arrow type that CSV ingestion does not produce.
    #[error(
        "column `{column}`: unsupported column type {data_type}; expected one of Boolean, Int64, Float64, Utf8"
    )]
    UnsupportedType {
        /// The column named in the override.
        column: String,
        /// The requested type.
        data_type: String,
    },
    /// A type name given to [`parse_data_type`](crate::parse_data_type) is not known.
    #[error("unknown data type `{name}`; expected one of: boolean, int64, float64, utf8")]
    UnknownDataType {
        /// The name that was given.
        name: String,
    },
    /// A [`ReadOptions`](crate::ReadOptions) value is out of range.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option, e.g. `batch_size`.
        option: String,
        /// Why the value is invalid.
        reason: String,
    },
    /// [`CsvReader::finish`](crate::CsvReader::finish) was called after the
    /// reader had already returned an error; the counts and the quarantine
    /// would be incomplete, so the quarantine file is not committed.
    #[error("{}: reading stopped after an earlier error; the results are incomplete", path.display())]
    ReadAborted {
        /// The file.
        path: PathBuf,
    },
    /// A glob pattern matched no file (or no path was given at all; then
    /// `pattern` is empty).
    #[error("no input file matches `{pattern}`")]
    NoFiles {
        /// The pattern as given.
        pattern: String,
    },
    /// A file of a [`FileSet`](crate::FileSet) has a different header than
    /// the first file, so the files cannot be read as one table.
    #[error(
        "{}: line 1, column {column}: header differs from {}: expected {}, found {}",
        file.display(),
        first.display(),
        describe_column(expected),
        describe_column(found)
    )]
    HeaderMismatch {
        /// The first file of the set, whose header is the reference.
        first: PathBuf,
        /// The file whose header differs.
        file: PathBuf,
        /// 1-based position of the first differing column.
        column: usize,
        /// The name in the first file (`None`: the first file has fewer columns).
        expected: Option<String>,
        /// The name in `file` (`None`: `file` has fewer columns).
        found: Option<String>,
    },
    /// A column of a Parquet file has an Arrow type that ingestion cannot
    /// convert losslessly to `Boolean`, `Int64`, `Float64` or `Utf8`.
    #[error(
        "{}: column `{column}`: unsupported type {data_type}; expected a boolean, integer, floating-point or string type",
        path.display()
    )]
    UnsupportedColumnType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The column's Arrow type.
        data_type: String,
    },
    /// A file is not valid in its format (for example a corrupt Parquet
    /// footer).
    #[error("{}: {source}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An error from `mlrig-core` (Arrow array assembly, JSON, atomic writes).
    #[error(transparent)]
    Core(#[from] mlrig_core::Error),
}

impl IngestError {
    /// An [`IngestError::Io`] for `path`.
    ///
    /// ```
    /// use mlrig_ingest::IngestError;
    /// let e = IngestError::io("in.csv", std::io::Error::from(std::io::ErrorKind::NotFound));
    /// assert!(e.to_string().starts_with("in.csv: "));
    /// ```
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IngestError::Io {
            path: path.into(),
            source,
        }
    }

    /// `true` when the error is caused by the caller's file or options (exit
    /// status 2 in the CLI) rather than by the system (disk, permissions).
    ///
    /// ```
    /// use mlrig_ingest::IngestError;
    /// assert!(IngestError::EmptyFile { path: "a.csv".into() }.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        match self {
            IngestError::EmptyFile { .. }
            | IngestError::InvalidHeader { .. }
            | IngestError::DuplicateColumn { .. }
            | IngestError::UnknownColumn { .. }
            | IngestError::UnsupportedType { .. }
            | IngestError::UnknownDataType { .. }
            | IngestError::InvalidOption { .. }
            | IngestError::NoFiles { .. }
            | IngestError::HeaderMismatch { .. }
            | IngestError::UnsupportedColumnType { .. }
            | IngestError::Format { .. } => true,
            IngestError::Core(e) => e.is_invalid_input(),
            _ => false,
        }
    }
}

impl From<IngestError> for ArrowError {
    /// `ArrowError::ExternalError`, keeping the `IngestError` whole as its
    /// source.
    fn from(error: IngestError) -> Self {
        ArrowError::ExternalError(Box::new(error))
    }
}

impl From<ArrowError> for IngestError {
    /// The `IngestError` inside an `ArrowError::ExternalError`, unchanged;
    /// any other arrow error as [`IngestError::Core`].
    fn from(error: ArrowError) -> Self {
        match error {
            ArrowError::ExternalError(source) => match source.downcast::<IngestError>() {
                Ok(error) => *error,
                Err(other) => IngestError::Core(ArrowError::ExternalError(other).into()),
            },
            other => IngestError::Core(other.into()),
        }
    }
}

/// A column name in a message, or `no column`.
fn describe_column(name: &Option<String>) -> String {
    match name {
        Some(name) => format!("`{name}`"),
        None => "no column".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_line_and_column() {
        let e = IngestError::InvalidHeader {
            path: "x.csv".into(),
            column: 2,
            reason: "invalid UTF-8".into(),
        };
        assert_eq!(
            e.to_string(),
            "x.csv: line 1, column 2: invalid header: invalid UTF-8"
        );
        assert!(e.is_invalid_input());
        let io = IngestError::io("x.csv", std::io::Error::other("disk on fire"));
        assert!(!io.is_invalid_input());
        assert!(std::error::Error::source(&io).is_some());
    }

    #[test]
    fn header_mismatches_name_both_files_and_the_column() {
        let e = IngestError::HeaderMismatch {
            first: "a.csv".into(),
            file: "b.csv".into(),
            column: 3,
            expected: Some("age".into()),
            found: None,
        };
        assert_eq!(
            e.to_string(),
            "b.csv: line 1, column 3: header differs from a.csv: expected `age`, found no column"
        );
        assert!(e.is_invalid_input());
    }

    #[test]
    fn errors_survive_a_trip_through_arrow() {
        let original = IngestError::io("x.csv", std::io::Error::other("disk on fire"));
        let arrow = ArrowError::from(original);
        let source = std::error::Error::source(&arrow).unwrap();
        assert_eq!(source.to_string(), "x.csv: disk on fire");
        match IngestError::from(arrow) {
            e @ IngestError::Io { .. } => {
                assert!(!e.is_invalid_input());
                assert_eq!(e.to_string(), "x.csv: disk on fire");
            }
            other => panic!("expected Io, got {other:?}"),
        }
        let plain = IngestError::from(ArrowError::ComputeError("overflow".into()));
        assert!(matches!(
            plain,
            IngestError::Core(mlrig_core::Error::Arrow(ArrowError::ComputeError(_)))
        ));
        let foreign = ArrowError::ExternalError(Box::new(std::io::Error::other("elsewhere")));
        assert!(matches!(
            IngestError::from(foreign),
            IngestError::Core(mlrig_core::Error::Arrow(ArrowError::ExternalError(_)))
        ));
    }

    #[test]
    fn core_errors_convert() {
        let core = mlrig_core::Error::InvalidParameter {
            name: "n".into(),
            reason: "negative".into(),
        };
        let e: IngestError = core.into();
        assert_eq!(e.to_string(), "invalid parameter `n`: negative");
    }
}
