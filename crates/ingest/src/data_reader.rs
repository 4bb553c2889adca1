//! [`DataReader`]: one reader for CSV, JSON Lines and Parquet files, chosen
//! by file extension, so a tool can take "a data file" without asking which.

use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::{RecordBatch, RecordBatchReader};
use mlrig_core::arrow_schema::{ArrowError, SchemaRef};

use crate::batch_stream::BatchStream;
use crate::{
    CsvReader, FileSet, IngestError, IngestReport, JsonLinesReader, ReadOptions, RowOrigins,
};

/// The format of a data file, by its extension (a trailing `.gz` is
/// ignored): `.jsonl` / `.ndjson` are JSON Lines, `.parquet` / `.pq` are
/// Parquet, anything else is CSV (the delimiter is an option).
///
/// ```
/// use mlrig_ingest::DataFormat;
/// assert_eq!(DataFormat::of_path("events.jsonl.gz"), DataFormat::JsonLines);
/// assert_eq!(DataFormat::of_path("part-0.parquet"), DataFormat::Parquet);
/// assert_eq!(DataFormat::of_path("adult.tsv"), DataFormat::Csv);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DataFormat {
    /// Delimited text.
    Csv,
    /// One JSON object per line.
    JsonLines,
    /// Apache Parquet (needs the `parquet` feature to read).
    Parquet,
}

impl DataFormat {
    /// The format `path`'s extension names.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::DataFormat::of_path("x.ndjson"), mlrig_ingest::DataFormat::JsonLines);
    /// ```
    pub fn of_path(path: impl AsRef<Path>) -> DataFormat {
        let path = path.as_ref();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        match Path::new(name).extension().and_then(|e| e.to_str()) {
            Some("jsonl" | "ndjson") => DataFormat::JsonLines,
            Some("parquet" | "pq") => DataFormat::Parquet,
            _ => DataFormat::Csv,
        }
    }
}

/// The front door for reading data: a (boxed) [`CsvReader`],
/// [`JsonLinesReader`] or (feature `parquet`) `ParquetReader`, picked by
/// [`DataFormat::of_path`]; all files of one reader must share a format.
///
/// Like each of them, it is an arrow [`RecordBatchReader`]: an `Iterator` of
/// `Result<RecordBatch, ArrowError>` (an error is an [`IngestError`] inside
/// [`ArrowError::ExternalError`]; `IngestError::from` recovers it) with a
/// [`schema`](Self::schema). [`finish`](Self::finish) drains the rest,
/// commits the quarantine file and returns the [`IngestReport`] with its
/// typed error. [`ReadOptions`] that do not apply to a format (the
/// delimiter for JSON Lines, say) are ignored.
///
/// ```
/// use mlrig_ingest::{DataFormat, DataReader, ReadOptions};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rows.jsonl");
/// std::fs::write(&path, "{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": null}\n")?;
/// let mut reader = DataReader::open(&path, ReadOptions::default())?;
/// assert_eq!(reader.format(), DataFormat::JsonLines);
/// let rows: usize = reader.by_ref().map(|b| b.map(|b| b.num_rows())).sum::<Result<_, _>>()?;
/// assert_eq!(rows, 2);
/// assert_eq!(reader.finish()?.summary.rows_accepted, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DataReader {
    /// CSV input.
    Csv(Box<CsvReader>),
    /// JSON Lines input.
    JsonLines(Box<JsonLinesReader>),
    /// Parquet input.
    #[cfg(feature = "parquet")]
    Parquet(Box<crate::ParquetReader>),
}

impl DataReader {
    /// Opens one file (gzip-compressed or not): reads its header and
    /// inference sample and prepares the quarantine file; the errors are
    /// those of the format's reader (for example [`CsvReader::open`]).
    ///
    /// ```
    /// use mlrig_ingest::{DataReader, IngestError, ReadOptions};
    /// let error = DataReader::open("no/such/file.csv", ReadOptions::default()).unwrap_err();
    /// assert!(matches!(error, IngestError::NoFiles { .. } | IngestError::Io { .. }), "{error}");
    /// ```
    pub fn open(path: impl AsRef<Path>, options: ReadOptions) -> Result<DataReader, IngestError> {
        Self::open_files(&FileSet::from_paths([path.as_ref()]), options)
    }

    /// Opens several files of one format as one data set.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, DataReader, FileSet, IngestError};
    /// let files = FileSet::from_paths(["a.csv", "b.jsonl"]);
    /// let error = DataReader::open_files(&files, ReadOptions::default()).unwrap_err();
    /// assert!(matches!(error, IngestError::InvalidOption { .. }), "{error}");
    /// ```
    pub fn open_files(files: &FileSet, options: ReadOptions) -> Result<DataReader, IngestError> {
        let format = one_format(files.files())?;
        Ok(match format {
            DataFormat::Csv => DataReader::Csv(Box::new(CsvReader::open_files(files, options)?)),
            DataFormat::JsonLines => {
                DataReader::JsonLines(Box::new(JsonLinesReader::open_files(files, options)?))
            }
            #[cfg(feature = "parquet")]
            DataFormat::Parquet => {
                DataReader::Parquet(Box::new(crate::ParquetReader::open_files(files, options)?))
            }
            #[cfg(not(feature = "parquet"))]
            DataFormat::Parquet => {
                return Err(IngestError::InvalidOption {
                    option: "files".into(),
                    reason: "Parquet input needs mlrig-ingest's `parquet` feature".into(),
                });
            }
        })
    }

    /// The format being read.
    ///
    /// ```
    /// use mlrig_ingest::{DataFormat, DataReader, ReadOptions};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.csv");
    /// std::fs::write(&path, "x\n1\n")?;
    /// assert_eq!(DataReader::open(&path, ReadOptions::default())?.format(), DataFormat::Csv);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn format(&self) -> DataFormat {
        match self {
            DataReader::Csv(_) => DataFormat::Csv,
            DataReader::JsonLines(_) => DataFormat::JsonLines,
            #[cfg(feature = "parquet")]
            DataReader::Parquet(_) => DataFormat::Parquet,
        }
    }

    /// The schema of every batch (also [`RecordBatchReader::schema`]).
    ///
    /// ```
    /// use mlrig_ingest::{DataReader, DataType, ReadOptions};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.jsonl");
    /// std::fs::write(&path, "{\"ok\": true}\n")?;
    /// let reader = DataReader::open(&path, ReadOptions::default())?;
    /// assert_eq!(reader.schema().field(0).data_type(), &DataType::Boolean);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schema(&self) -> SchemaRef {
        match self {
            DataReader::Csv(r) => r.schema(),
            DataReader::JsonLines(r) => r.schema(),
            #[cfg(feature = "parquet")]
            DataReader::Parquet(r) => r.schema(),
        }
    }

    /// The files, in reading order; [`RowOrigin::file_index`](crate::RowOrigin::file_index)
    /// indexes this list.
    ///
    /// ```
    /// use mlrig_ingest::{DataReader, ReadOptions};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.csv");
    /// std::fs::write(&path, "x\n1\n")?;
    /// assert_eq!(DataReader::open(&path, ReadOptions::default())?.files(), [path]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn files(&self) -> &[PathBuf] {
        match self {
            DataReader::Csv(r) => r.files(),
            DataReader::JsonLines(r) => r.files(),
            #[cfg(feature = "parquet")]
            DataReader::Parquet(r) => r.files(),
        }
    }

    /// Where each row of the last batch came from (file and line); `None`
    /// for Parquet, which has no lines.
    ///
    /// ```
    /// use mlrig_ingest::{DataReader, ReadOptions};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.csv");
    /// std::fs::write(&path, "x\n1\nbad,row\n3\n")?;
    /// let mut reader = DataReader::open(&path, ReadOptions::default())?;
    /// reader.next().transpose()?;
    /// assert_eq!(reader.last_batch_origins().map(|o| o.lines()), Some(&[2, 4][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn last_batch_origins(&self) -> Option<&RowOrigins> {
        match self {
            DataReader::Csv(r) => Some(r.last_batch_origins()),
            DataReader::JsonLines(r) => Some(r.last_batch_origins()),
            #[cfg(feature = "parquet")]
            DataReader::Parquet(_) => None,
        }
    }

    /// Reads the remaining rows (their batches are dropped), commits the
    /// quarantine file and returns the report;
    /// [`IngestError::ReadAborted`] if the reader already returned an error,
    /// since the counts would be incomplete.
    ///
    /// ```
    /// use mlrig_ingest::{DataReader, ReadOptions};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.csv");
    /// std::fs::write(&path, "x,y\n1,2\n3\n")?;
    /// let report = DataReader::open(&path, ReadOptions::default())?.finish()?;
    /// let s = &report.summary;
    /// assert_eq!((s.rows_read, s.rows_accepted, s.rows_quarantined), (2, 1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(self) -> Result<IngestReport, IngestError> {
        match self {
            DataReader::Csv(r) => r.finish(),
            DataReader::JsonLines(r) => r.finish(),
            #[cfg(feature = "parquet")]
            DataReader::Parquet(r) => r.finish(),
        }
    }
}

/// Batches in order, as the reader of the format gives them; an error (an
/// [`IngestError`] inside [`ArrowError::ExternalError`]) ends the stream.
impl Iterator for DataReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            DataReader::Csv(r) => r.next(),
            DataReader::JsonLines(r) => r.next(),
            #[cfg(feature = "parquet")]
            DataReader::Parquet(r) => r.next(),
        }
    }
}

impl std::iter::FusedIterator for DataReader {}

impl RecordBatchReader for DataReader {
    fn schema(&self) -> SchemaRef {
        DataReader::schema(self)
    }
}

/// Reads a whole data file of any format ([`DataFormat::of_path`]) into
/// memory: the schema, every batch and the report, as [`read_csv`] and its
/// kin do for one format.
///
/// [`read_csv`]: crate::read_csv
///
/// ```
/// use mlrig_ingest::{ReadOptions, read_data};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rows.jsonl");
/// std::fs::write(&path, "{\"a\": 1}\n{\"a\": 2}\n")?;
/// let (schema, batches, report) = read_data(&path, ReadOptions::default())?;
/// assert_eq!((schema.field(0).name().as_str(), batches[0].num_rows()), ("a", 2));
/// assert_eq!(report.summary.rows_accepted, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_data(
    path: impl AsRef<Path>,
    options: ReadOptions,
) -> Result<(SchemaRef, Vec<RecordBatch>, IngestReport), IngestError> {
    match DataReader::open(path, options)? {
        DataReader::Csv(r) => (*r).read_whole(),
        DataReader::JsonLines(r) => (*r).read_whole(),
        #[cfg(feature = "parquet")]
        DataReader::Parquet(r) => (*r).read_whole(),
    }
}

/// The one format all `files` share.
fn one_format(files: &[PathBuf]) -> Result<DataFormat, IngestError> {
    let mut formats = files.iter().map(|f| (f, DataFormat::of_path(f)));
    let Some((first_file, first)) = formats.next() else {
        return Ok(DataFormat::Csv); // the reader reports the empty set
    };
    match formats.find(|(_, format)| *format != first) {
        Some((other_file, other)) => Err(IngestError::InvalidOption {
            option: "files".into(),
            reason: format!(
                "{} is {first:?} but {} is {other:?}; read one format at a time",
                first_file.display(),
                other_file.display()
            ),
        }),
        None => Ok(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_lines_give_the_same_batches() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("x.csv");
        let jsonl = dir.path().join("x.jsonl");
        std::fs::write(&csv, "a,b\n1,x\n2,\n").unwrap();
        std::fs::write(&jsonl, "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":null}\n").unwrap();
        let read = |path: &Path| {
            let reader = DataReader::open(path, ReadOptions::default()).unwrap();
            reader.map(Result::unwrap).collect::<Vec<_>>()
        };
        assert_eq!(read(&csv), read(&jsonl));
    }

    #[cfg(not(feature = "parquet"))]
    #[test]
    fn parquet_without_the_feature_is_a_clear_error() {
        let error = DataReader::open("x.parquet", ReadOptions::default()).unwrap_err();
        assert!(error.to_string().contains("`parquet` feature"), "{error}");
    }
}
