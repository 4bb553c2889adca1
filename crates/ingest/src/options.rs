//! [`CsvOptions`]: how a CSV file is parsed, typed and quarantined.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use mlrig_core::arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::{IngestError, Split};

/// Default number of accepted rows per [`RecordBatch`](mlrig_core::arrow_array::RecordBatch).
pub const DEFAULT_BATCH_SIZE: usize = 65_536;
/// Default number of data records read to infer column types.
pub const DEFAULT_INFER_ROWS: usize = 10_000;
/// Default largest fraction of a column's sampled values that may fail to
/// parse as the inferred type (those rows are quarantined).
pub const DEFAULT_INFER_TOLERANCE: f64 = 0.25;
/// Default number of quarantined rows kept in memory for reporting.
pub const DEFAULT_QUARANTINE_KEEP: usize = 1_000;
/// Default largest record size (field bytes plus one per delimiter), 64 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;
/// Default missing-value tokens.
pub const DEFAULT_MISSING_TOKENS: [&str; 6] = ["", "NA", "N/A", "NaN", "null", "?"];

/// The file format of a quarantine file.
///
/// Parses from `csv` and `jsonl` (also `jsonlines`, `json-lines`, `ndjson`),
/// case-insensitively, for command-line flags.
///
/// ```
/// use mlrig_ingest::QuarantineFormat;
/// assert_eq!("jsonl".parse::<QuarantineFormat>()?, QuarantineFormat::JsonLines);
/// assert_eq!(QuarantineFormat::Csv.to_string(), "csv");
/// # Ok::<(), mlrig_ingest::IngestError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineFormat {
    /// CSV with the header `file,line,column,raw_value,reason,record` (absent
    /// values are empty cells).
    Csv,
    /// One JSON object per line, the fields of [`QuarantinedRow`](crate::QuarantinedRow)
    /// (absent values are `null`).
    JsonLines,
}

impl fmt::Display for QuarantineFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuarantineFormat::Csv => "csv",
            QuarantineFormat::JsonLines => "jsonl",
        })
    }
}

impl FromStr for QuarantineFormat {
    type Err = IngestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(QuarantineFormat::Csv),
            "jsonl" | "jsonlines" | "json-lines" | "ndjson" => Ok(QuarantineFormat::JsonLines),
            _ => Err(IngestError::InvalidOption {
                option: "quarantine format".into(),
                reason: format!("expected `csv` or `jsonl`, found {s:?}"),
            }),
        }
    }
}

/// Parses a column type name as used on the command line.
///
/// Accepted (case-insensitive): `boolean`/`bool`; `int64`/`int`/`integer`/`i64`;
/// `float64`/`float`/`double`/`f64`; `utf8`/`string`/`str`/`text`.
///
/// ```
/// use mlrig_ingest::parse_data_type;
/// use mlrig_core::arrow_schema::DataType;
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

/// How to read a CSV file: dialect, batching, type inference, missing values
/// and the quarantine.
///
/// Build it from [`CsvOptions::default`] with the `with_*` methods. Values are
/// checked when a reader is opened ([`CsvReader::open`](crate::CsvReader::open)),
/// which returns [`IngestError::InvalidOption`] for an out-of-range value.
///
/// ```
/// use mlrig_ingest::{CsvOptions, QuarantineFormat};
/// use mlrig_core::arrow_schema::DataType;
/// let options = CsvOptions::default()
///     .with_delimiter(b';')
///     .with_header(false)
///     .with_batch_size(1024)
///     .with_infer_rows(500)
///     .with_missing_tokens(["", "-"])
///     .with_column_type("column_2", DataType::Utf8)
///     .with_quarantine_file("bad_rows.jsonl", QuarantineFormat::JsonLines)
///     .with_quarantine_keep(100);
/// assert_eq!(options.delimiter(), b';');
/// assert_eq!(options.batch_size(), 1024);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    delimiter: u8,
    has_header: bool,
    batch_size: usize,
    infer_rows: usize,
    infer_tolerance: f64,
    missing_tokens: Vec<String>,
    column_types: BTreeMap<String, DataType>,
    quarantine_file: Option<(PathBuf, QuarantineFormat)>,
    quarantine_keep: usize,
    max_record_bytes: usize,
    sample: Option<(f64, u64)>,
    split: Option<Split>,
    threads: usize,
}

impl Default for CsvOptions {
    /// Comma-delimited, with a header, 65,536-row batches, types inferred from
    /// 10,000 rows with a 25% tolerance, the missing tokens
    /// `""`, `NA`, `N/A`, `NaN`, `null`, `?`, no quarantine file, 1,000
    /// quarantined rows kept in memory, records up to 64 MiB.
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            has_header: true,
            batch_size: DEFAULT_BATCH_SIZE,
            infer_rows: DEFAULT_INFER_ROWS,
            infer_tolerance: DEFAULT_INFER_TOLERANCE,
            missing_tokens: DEFAULT_MISSING_TOKENS
                .iter()
                .map(|t| t.to_string())
                .collect(),
            column_types: BTreeMap::new(),
            quarantine_file: None,
            quarantine_keep: DEFAULT_QUARANTINE_KEEP,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            sample: None,
            split: None,
            threads: 1,
        }
    }
}

impl CsvOptions {
    /// The field delimiter (default `b','`). `"`, `\r` and `\n` are rejected
    /// when the reader opens.
    ///
    /// ```
    /// let o = mlrig_ingest::CsvOptions::default().with_delimiter(b'\t');
    /// assert_eq!(o.delimiter(), b'\t');
    /// ```
    #[must_use]
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Whether the first record is a header (default `true`). Without a
    /// header, columns are named `column_1` … `column_n`, where `n` is the
    /// number of fields of the first record.
    ///
    /// ```
    /// let o = mlrig_ingest::CsvOptions::default().with_header(false);
    /// assert!(!o.has_header());
    /// ```
    #[must_use]
    pub fn with_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// The number of accepted rows per batch (default 65,536; must be ≥ 1).
    /// The last batch may be smaller; quarantined rows do not count.
    ///
    /// ```
    /// let o = mlrig_ingest::CsvOptions::default().with_batch_size(100);
    /// assert_eq!(o.batch_size(), 100);
    /// ```
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// The number of data records (after the header) sampled to infer column
    /// types (default 10,000). `0` disables inference: every column without an
    /// override is `Utf8`. The sample is held in memory and then streamed like
    /// every other record, so the file is read once.
    ///
    /// ```
    /// let o = mlrig_ingest::CsvOptions::default().with_infer_rows(0);
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
    /// let o = mlrig_ingest::CsvOptions::default().with_infer_tolerance(0.0);
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
    /// let o = mlrig_ingest::CsvOptions::default().with_missing_tokens(["", "-"]);
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
    /// use mlrig_core::arrow_schema::DataType;
    /// let o = mlrig_ingest::CsvOptions::default().with_column_type("zip", DataType::Utf8);
    /// assert_eq!(o.column_types().get("zip"), Some(&DataType::Utf8));
    /// ```
    #[must_use]
    pub fn with_column_type(mut self, column: impl Into<String>, data_type: DataType) -> Self {
        self.column_types.insert(column.into(), data_type);
        self
    }

    /// Streams every quarantined row to `path` in `format`. The file is
    /// written to a temporary file in the same directory and renamed into
    /// place by [`CsvReader::finish`](crate::CsvReader::finish), so it appears
    /// complete or not at all (an empty quarantine still produces a file).
    ///
    /// ```
    /// use mlrig_ingest::{CsvOptions, QuarantineFormat};
    /// let o = CsvOptions::default().with_quarantine_file("bad.csv", QuarantineFormat::Csv);
    /// assert_eq!(o.quarantine_file().map(|(_, f)| f), Some(QuarantineFormat::Csv));
    /// ```
    #[must_use]
    pub fn with_quarantine_file(
        mut self,
        path: impl Into<PathBuf>,
        format: QuarantineFormat,
    ) -> Self {
        self.quarantine_file = Some((path.into(), format));
        self
    }

    /// How many quarantined rows are kept in memory for
    /// [`CsvReader::quarantined`](crate::CsvReader::quarantined) and the
    /// report (default 1,000; the first ones are kept). Counts stay exact
    /// beyond the cap, and a quarantine file receives every row.
    ///
    /// ```
    /// let o = mlrig_ingest::CsvOptions::default().with_quarantine_keep(10);
    /// assert_eq!(o.quarantine_keep(), 10);
    /// ```
    #[must_use]
    pub fn with_quarantine_keep(mut self, keep: usize) -> Self {
        self.quarantine_keep = keep;
        self
    }

    /// The largest record held in memory, counted as its field bytes plus one
    /// byte per field (default 64 MiB; must be ≥ 1). A larger record (for
    /// example everything after an unbalanced quote) is quarantined whole
    /// without being buffered, which bounds memory on hostile input.
    ///
    /// ```
    /// let o = mlrig_ingest::CsvOptions::default().with_max_record_bytes(1 << 20);
    /// assert_eq!(o.max_record_bytes(), 1 << 20);
    /// ```
    #[must_use]
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Keeps a deterministic sample of about `fraction` of the data rows
    /// (`0.0..=1.0`), chosen by hashing each row's position with `seed`.
    ///
    /// Row `i` (0-based, over every data row of the input in reading order,
    /// across all files) is kept when `(h >> 11) · 2⁻⁵³ < fraction`, where
    /// `h = splitmix64(seed ^ i.wrapping_mul(0x9E3779B97F4A7C15))` and
    /// `splitmix64` is the SplitMix64 output function (`z ^= z >> 30;
    /// z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB;
    /// z ^= z >> 31`, wrapping). A smaller fraction with the same seed
    /// selects a subset of a larger one.
    ///
    /// Rows left out are neither parsed nor quarantined; they are counted in
    /// `rows_sampled_out`, so `rows_read == rows_accepted + rows_quarantined +
    /// rows_sampled_out`. Type inference still uses the unsampled records.
    /// The same seed and fraction select the same rows whatever the batch
    /// size, the number of threads or the machine.
    ///
    /// ```
    /// let o = mlrig_ingest::CsvOptions::default().with_sample(0.1, 42);
    /// assert_eq!(o.sample(), Some((0.1, 42)));
    /// ```
    #[must_use]
    pub fn with_sample(mut self, fraction: f64, seed: u64) -> Self {
        self.sample = Some((fraction, seed));
        self
    }

    /// Keeps one side of a deterministic train/eval split (every reader:
    /// CSV on any number of threads, JSON Lines, Parquet), so training and
    /// evaluation data can be ingested separately without a second copy.
    ///
    /// Rows are numbered over the *accepted* rows (after sampling and the
    /// quarantine), 0-based, across all files in reading order, whatever the
    /// batch size or number of threads; with a key column
    /// ([`Split::with_key_column`], [`SplitRule::HashKey`](crate::SplitRule::HashKey))
    /// a row's side depends only on its key, so not on file or row order. A
    /// row without a key (null, empty, absent, a missing token) is
    /// quarantined with [`MISSING_KEY_REASON`](crate::MISSING_KEY_REASON).
    ///
    /// Rows of the other side are accepted but not put in a batch; they are
    /// counted in `rows_split_off` (a part of `rows_accepted`), so
    /// `rows_read == rows_accepted + rows_quarantined + rows_sampled_out`
    /// still holds and the batches hold `rows_accepted − rows_split_off`
    /// rows. An invalid rule, a key column with the modulo rule, or a key
    /// column that is missing or not `Int64`/`Utf8` is an
    /// [`IngestError::InvalidOption`] when the reader opens.
    ///
    /// ```
    /// use mlrig_ingest::{CsvOptions, Split, SplitRule};
    /// let split = Split::train(SplitRule::hash_key(0.2)?).with_key_column("user_id");
    /// let o = CsvOptions::default().with_split(split.clone());
    /// assert_eq!(o.split(), Some(&split));
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_split(mut self, split: Split) -> Self {
        self.split = Some(split);
        self
    }

    /// The split applied while reading, if any (see [`CsvOptions::with_split`]).
    ///
    /// ```
    /// assert!(mlrig_ingest::CsvOptions::default().split().is_none());
    /// ```
    pub fn split(&self) -> Option<&Split> {
        self.split.as_ref()
    }

    /// The number of threads that parse CSV values (default 1: everything
    /// on the caller's thread; 0: one per available core).
    ///
    /// Otherwise [`CsvReader`](crate::CsvReader) reads and splits records
    /// (gunzip, csv-core) on one dedicated thread, and chunks of
    /// `min(batch_size, 8192)` records are checked and built into Arrow arrays in parallel on a pool
    /// of `threads` threads owned by the reader; the caller's thread merges
    /// them in order. At most one batch's worth of chunks plus `2 × threads`
    /// are dispatched and not yet merged, so memory stays bounded. The batches, the quarantine and the
    /// counts are identical to reading on one thread. JSON Lines and Parquet
    /// ignore this option.
    ///
    /// ```
    /// let o = mlrig_ingest::CsvOptions::default().with_threads(4);
    /// assert_eq!(o.threads(), 4);
    /// ```
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// The number of CSV parsing threads (see [`CsvOptions::with_threads`]).
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvOptions::default().threads(), 1);
    /// ```
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The sampling fraction and seed, if rows are sampled.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvOptions::default().sample(), None);
    /// ```
    pub fn sample(&self) -> Option<(f64, u64)> {
        self.sample
    }

    /// The field delimiter.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvOptions::default().delimiter(), b',');
    /// ```
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Whether the first record is a header.
    ///
    /// ```
    /// assert!(mlrig_ingest::CsvOptions::default().has_header());
    /// ```
    pub fn has_header(&self) -> bool {
        self.has_header
    }

    /// Accepted rows per batch.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvOptions::default().batch_size(), 65_536);
    /// ```
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Records sampled for type inference.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvOptions::default().infer_rows(), 10_000);
    /// ```
    pub fn infer_rows(&self) -> usize {
        self.infer_rows
    }

    /// The inference tolerance (see [`CsvOptions::with_infer_tolerance`]).
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvOptions::default().infer_tolerance(), 0.25);
    /// ```
    pub fn infer_tolerance(&self) -> f64 {
        self.infer_tolerance
    }

    /// The missing-value tokens.
    ///
    /// ```
    /// assert!(mlrig_ingest::CsvOptions::default().missing_tokens().contains(&"?".to_string()));
    /// ```
    pub fn missing_tokens(&self) -> &[String] {
        &self.missing_tokens
    }

    /// The column type overrides, by column name.
    ///
    /// ```
    /// assert!(mlrig_ingest::CsvOptions::default().column_types().is_empty());
    /// ```
    pub fn column_types(&self) -> &BTreeMap<String, DataType> {
        &self.column_types
    }

    /// The quarantine file and its format, if one was asked for.
    ///
    /// ```
    /// assert!(mlrig_ingest::CsvOptions::default().quarantine_file().is_none());
    /// ```
    pub fn quarantine_file(&self) -> Option<(&Path, QuarantineFormat)> {
        self.quarantine_file
            .as_ref()
            .map(|(p, f)| (p.as_path(), *f))
    }

    /// How many quarantined rows are kept in memory.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvOptions::default().quarantine_keep(), 1_000);
    /// ```
    pub fn quarantine_keep(&self) -> usize {
        self.quarantine_keep
    }

    /// The largest record size held in memory.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvOptions::default().max_record_bytes(), 64 << 20);
    /// ```
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// The same options without a quarantine file.
    pub(crate) fn without_quarantine_file(mut self) -> Self {
        self.quarantine_file = None;
        self
    }

    /// Checks every value, returning the first invalid one.
    pub(crate) fn validate(&self) -> Result<(), IngestError> {
        let invalid = |option: &str, reason: String| {
            Err(IngestError::InvalidOption {
                option: option.into(),
                reason,
            })
        };
        if matches!(self.delimiter, b'"' | b'\r' | b'\n') {
            return invalid(
                "delimiter",
                format!(
                    "{:?} cannot be a delimiter (it is the quote or a line terminator)",
                    char::from(self.delimiter)
                ),
            );
        }
        if self.batch_size == 0 {
            return invalid("batch_size", "must be at least 1".into());
        }
        if !(0.0..0.5).contains(&self.infer_tolerance) {
            return invalid(
                "infer_tolerance",
                format!("must be in 0.0..0.5, found {}", self.infer_tolerance),
            );
        }
        if let Some((fraction, _)) = self.sample
            && !(0.0..=1.0).contains(&fraction)
        {
            return invalid(
                "sample",
                format!("the fraction must be in 0.0..=1.0, found {fraction}"),
            );
        }
        if self.max_record_bytes == 0 {
            return invalid("max_record_bytes", "must be at least 1".into());
        }
        if let Some(split) = &self.split {
            split.validate()?;
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
    fn defaults_are_valid_and_documented_values() {
        let o = CsvOptions::default();
        assert!(o.validate().is_ok());
        assert_eq!(o.missing_tokens(), ["", "NA", "N/A", "NaN", "null", "?"]);
        assert_eq!(o.infer_rows(), 10_000);
        assert_eq!(o.batch_size(), 65_536);
    }

    #[test]
    fn invalid_values_are_rejected_with_their_name() {
        let cases = [
            (CsvOptions::default().with_delimiter(b'"'), "delimiter"),
            (CsvOptions::default().with_delimiter(b'\n'), "delimiter"),
            (CsvOptions::default().with_batch_size(0), "batch_size"),
            (
                CsvOptions::default().with_infer_tolerance(0.5),
                "infer_tolerance",
            ),
            (
                CsvOptions::default().with_infer_tolerance(f64::NAN),
                "infer_tolerance",
            ),
            (
                CsvOptions::default().with_infer_tolerance(-0.1),
                "infer_tolerance",
            ),
            (
                CsvOptions::default().with_max_record_bytes(0),
                "max_record_bytes",
            ),
            (CsvOptions::default().with_sample(1.5, 0), "sample"),
            (CsvOptions::default().with_sample(f64::NAN, 0), "sample"),
            (CsvOptions::default().with_sample(-0.1, 0), "sample"),
            (
                CsvOptions::default().with_split(Split::train(crate::SplitRule::HashKey {
                    eval_fraction: -0.5,
                })),
                "split",
            ),
        ];
        for (options, name) in cases {
            match options.validate() {
                Err(IngestError::InvalidOption { option, .. }) => assert_eq!(option, name),
                other => panic!("expected InvalidOption for {name}, got {other:?}"),
            }
        }
    }

    #[test]
    fn unsupported_override_type_is_rejected() {
        let o = CsvOptions::default().with_column_type("d", DataType::Date32);
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

    #[test]
    fn quarantine_format_round_trips_through_strings() {
        for f in [QuarantineFormat::Csv, QuarantineFormat::JsonLines] {
            assert_eq!(f.to_string().parse::<QuarantineFormat>().unwrap(), f);
        }
        assert_eq!(
            "NDJSON".parse::<QuarantineFormat>().unwrap(),
            QuarantineFormat::JsonLines
        );
        assert!("xml".parse::<QuarantineFormat>().is_err());
    }
}
