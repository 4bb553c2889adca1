//! [`CsvReader`]: a CSV file as a stream of Arrow record batches, with the
//! rows that do not fit the schema sent to the quarantine.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::{Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize, Serializer};

use crate::column_type::{Cell, ColumnBuilder, ColumnType, MissingTokens};
use crate::header::{generated_names, header_names};
use crate::inference::infer_column_types;
use crate::quarantine::{QuarantineSink, QuarantinedRow, join_record, type_mismatch_reason};
use crate::record_reader::{RawRecord, RecordReader};
use crate::{CsvOptions, IngestError};

/// Running totals of one ingestion. `rows_read == rows_accepted +
/// rows_quarantined` holds at every point.
///
/// ```
/// use mlrig_ingest::{CsvOptions, read_csv};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x,y\n1,2\n3\n")?;
/// let (_, _, report) = read_csv(&path, CsvOptions::default())?;
/// let s = &report.summary;
/// assert_eq!((s.rows_read, s.rows_accepted, s.rows_quarantined, s.batches), (2, 1, 1, 1));
/// assert!(serde_json::to_string(s)?.contains("\"rows_read\":2"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestSummary {
    /// The file read.
    #[serde(serialize_with = "serialize_path_lossy")]
    pub file: PathBuf,
    /// Number of columns of the schema.
    pub columns: usize,
    /// Data records read (the header is not counted; blank lines are not
    /// records).
    pub rows_read: u64,
    /// Rows that went into batches.
    pub rows_accepted: u64,
    /// Rows sent to the quarantine.
    pub rows_quarantined: u64,
    /// Batches produced.
    pub batches: u64,
    /// Quarantined rows kept in memory (at most the
    /// [`quarantine_keep`](CsvOptions::with_quarantine_keep) cap).
    pub quarantined_kept: u64,
    /// The quarantine file, when one was asked for (complete once
    /// [`CsvReader::finish`] returns).
    #[serde(serialize_with = "serialize_opt_path_lossy")]
    pub quarantine_file: Option<PathBuf>,
}

fn serialize_path_lossy<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

fn serialize_opt_path_lossy<S: Serializer>(
    path: &Option<PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => s.serialize_some(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// The outcome of reading a whole file: the totals and the kept quarantined
/// rows.
///
/// ```
/// use mlrig_ingest::{CsvOptions, CsvReader};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x\n1\n")?;
/// let report = CsvReader::open(&path, CsvOptions::default())?.finish()?;
/// assert_eq!(report.summary.rows_accepted, 1);
/// assert!(report.quarantined.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Final totals.
    pub summary: IngestSummary,
    /// The first quarantined rows, up to the cap.
    pub quarantined: Vec<QuarantinedRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Records remain to be read.
    Reading,
    /// The input is exhausted; rows may remain in the builders.
    Exhausted,
    /// An error was returned; nothing more is read.
    Failed,
}

/// Streams a CSV file as Arrow [`RecordBatch`]es of at most
/// [`batch_size`](CsvOptions::with_batch_size) rows.
///
/// Opening reads the header and the inference sample (the first
/// [`infer_rows`](CsvOptions::with_infer_rows) records, kept in memory and
/// then streamed like the rest), so memory is bounded by the sample plus one
/// batch, never by the file size.
///
/// Every record is either accepted into a batch or quarantined whole
/// ([`QuarantinedRow`]): wrong number of fields, a value that does not parse
/// as its column's type, invalid UTF-8, or a record over
/// [`max_record_bytes`](CsvOptions::with_max_record_bytes). Bad rows never
/// produce `Err` items; an `Err` item means the input could not be read (or
/// the quarantine file could not be written), after which the iterator ends.
///
/// Call [`CsvReader::finish`] at the end: it reads what is left, commits the
/// quarantine file and returns the report. Dropping the reader instead
/// discards the quarantine file.
///
/// Values: fields are trimmed of ASCII whitespace before missing-token
/// matching and typed parsing (`Utf8` values are stored untrimmed). Booleans
/// are `true`/`false` in any case; integers are `i64`; floats are Rust's `f64`
/// syntax, so `inf`, `-inf`, `infinity` and (when `NaN` is removed from the
/// missing tokens) `nan` are accepted. Blank lines are skipped and are not
/// rows.
///
/// ```
/// use mlrig_ingest::{CsvOptions, CsvReader};
/// use mlrig_core::arrow_schema::DataType;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "id,score\n1,0.5\n2,NA\n3,oops\n4,1.5\n5,2.5\n")?;
/// let mut reader = CsvReader::open(&path, CsvOptions::default().with_batch_size(2))?;
/// assert_eq!(reader.schema().field(1).data_type(), &DataType::Float64);
/// let sizes: Vec<usize> = reader.by_ref().map(|b| b.map(|b| b.num_rows())).collect::<Result<_, _>>()?;
/// assert_eq!(sizes, [2, 2]);
/// assert_eq!(reader.quarantined()[0].line, 4);
/// let report = reader.finish()?;
/// assert_eq!(report.summary.rows_quarantined, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CsvReader {
    path: PathBuf,
    schema: SchemaRef,
    names: Vec<String>,
    types: Vec<ColumnType>,
    records: RecordReader,
    /// Sampled records not yet streamed.
    pending: VecDeque<RawRecord>,
    /// Reused buffer for the record being processed.
    scratch: RawRecord,
    /// Reused parsed fields of the row being checked.
    cells: Vec<Cell>,
    builders: Vec<ColumnBuilder>,
    rows_in_batch: usize,
    batch_size: usize,
    delimiter: u8,
    missing: MissingTokens,
    summary: IngestSummary,
    kept: Vec<QuarantinedRow>,
    keep: usize,
    sink: Option<QuarantineSink>,
    state: State,
}

impl std::fmt::Debug for CsvReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("path", &self.path)
            .field("schema", &self.schema)
            .field("summary", &self.summary)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl CsvReader {
    /// Opens `path`, reads the header and the inference sample, and prepares
    /// the quarantine file if one was asked for.
    ///
    /// Errors: the file cannot be opened or read ([`IngestError::Io`]), it is
    /// empty ([`IngestError::EmptyFile`]), the header is not UTF-8 or repeats
    /// a name, an option is invalid, or an override names an unknown column.
    /// A header-only file opens fine: zero rows, every column `Utf8` unless
    /// overridden.
    ///
    /// ```
    /// use mlrig_ingest::{CsvOptions, CsvReader, IngestError};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("empty.csv");
    /// std::fs::write(&path, "")?;
    /// let err = CsvReader::open(&path, CsvOptions::default()).unwrap_err();
    /// assert!(matches!(err, IngestError::EmptyFile { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, options: CsvOptions) -> Result<CsvReader, IngestError> {
        let path = path.as_ref();
        options.validate()?;
        if let Some((quarantine, _)) = options.quarantine_file() {
            reject_same_file(path, quarantine)?;
        }
        let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
        CsvReader::from_reader(file, path, options)
    }

    /// Reads CSV from any byte source (standard input, a decompressor, a
    /// buffer); `name` stands for it in errors and the summary.
    ///
    /// ```
    /// use mlrig_ingest::{CsvOptions, CsvReader};
    /// let data = b"a;b\n1;x\n".to_vec();
    /// let options = CsvOptions::default().with_delimiter(b';');
    /// let mut reader = CsvReader::from_reader(std::io::Cursor::new(data), "<memory>", options)?;
    /// let batch = reader.next().unwrap()?;
    /// assert_eq!(batch.num_rows(), 1);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn from_reader(
        source: impl Read + Send + 'static,
        name: impl AsRef<Path>,
        options: CsvOptions,
    ) -> Result<CsvReader, IngestError> {
        options.validate()?;
        let path = name.as_ref().to_path_buf();
        let mut records = RecordReader::new(
            Box::new(source),
            &path,
            options.delimiter(),
            options.max_record_bytes(),
        );

        let mut first = RawRecord::default();
        if !records.read(&mut first)? {
            return Err(IngestError::EmptyFile { path });
        }
        let mut pending = VecDeque::new();
        let names = if options.has_header() {
            header_names(&first, &path)?
        } else {
            let names = generated_names(first.len());
            pending.push_back(first.compact());
            names
        };
        let mut scratch = RawRecord::default();
        while pending.len() < options.infer_rows() && records.read(&mut scratch)? {
            pending.push_back(scratch.compact());
        }
        // Without a header, the first record is data but must not count
        // against a zero-row sample.
        let sample = pending.iter().take(options.infer_rows());
        let types = infer_column_types(&names, sample, &options, &path)?;

        let schema: SchemaRef = Arc::new(Schema::new(
            names
                .iter()
                .zip(&types)
                .map(|(name, t)| Field::new(name, t.data_type(), true))
                .collect::<Vec<_>>(),
        ));
        let batch_size = options.batch_size();
        let capacity = batch_size.min(8 * 1024);
        let builders = types
            .iter()
            .map(|&t| ColumnBuilder::new(t, capacity))
            .collect();
        let sink = match options.quarantine_file() {
            Some((quarantine, format)) => Some(QuarantineSink::create(quarantine, format)?),
            None => None,
        };
        let summary = IngestSummary {
            file: path.clone(),
            columns: names.len(),
            rows_read: 0,
            rows_accepted: 0,
            rows_quarantined: 0,
            batches: 0,
            quarantined_kept: 0,
            quarantine_file: sink.as_ref().map(|s| s.path().to_path_buf()),
        };
        Ok(CsvReader {
            path,
            schema,
            cells: Vec::with_capacity(names.len()),
            names,
            types,
            records,
            pending,
            scratch,
            builders,
            rows_in_batch: 0,
            batch_size,
            delimiter: options.delimiter(),
            missing: MissingTokens::new(options.missing_tokens()),
            summary,
            kept: Vec::new(),
            keep: options.quarantine_keep(),
            sink,
            state: State::Reading,
        })
    }

    /// The schema of every batch: inferred from the sample, with the
    /// overrides applied; every field is nullable.
    ///
    /// ```
    /// use mlrig_ingest::{CsvOptions, CsvReader};
    /// use mlrig_core::arrow_schema::DataType;
    /// let reader = CsvReader::from_reader(&b"a,b\n1,true\n"[..], "m.csv", CsvOptions::default())?;
    /// assert_eq!(reader.schema().field(1).data_type(), &DataType::Boolean);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// The totals so far.
    ///
    /// ```
    /// use mlrig_ingest::{CsvOptions, CsvReader};
    /// let mut reader = CsvReader::from_reader(&b"a\n1\n"[..], "m.csv", CsvOptions::default())?;
    /// assert_eq!(reader.summary().rows_read, 0);
    /// reader.next();
    /// assert_eq!(reader.summary().rows_read, 1);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn summary(&self) -> &IngestSummary {
        &self.summary
    }

    /// The quarantined rows so far, up to the
    /// [`quarantine_keep`](CsvOptions::with_quarantine_keep) cap.
    ///
    /// ```
    /// use mlrig_ingest::{CsvOptions, CsvReader};
    /// let mut reader = CsvReader::from_reader(&b"a,b\n1\n"[..], "m.csv", CsvOptions::default())?;
    /// assert!(reader.next().is_none());
    /// assert_eq!(reader.quarantined()[0].reason, "expected 2 fields, found 1");
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn quarantined(&self) -> &[QuarantinedRow] {
        &self.kept
    }

    /// Reads the remaining rows (their batches are dropped), commits the
    /// quarantine file and returns the final report.
    ///
    /// Returns [`IngestError::ReadAborted`] if the reader already returned an
    /// error, since the counts would be incomplete.
    ///
    /// ```
    /// use mlrig_ingest::{CsvOptions, CsvReader, QuarantineFormat};
    /// let dir = tempfile::tempdir()?;
    /// let quarantine = dir.path().join("bad.jsonl");
    /// let options = CsvOptions::default().with_quarantine_file(&quarantine, QuarantineFormat::JsonLines);
    /// let reader = CsvReader::from_reader(&b"a,b\n1,2\n3\n"[..], "m.csv", options)?;
    /// let report = reader.finish()?;
    /// assert_eq!(report.summary.rows_quarantined, 1);
    /// assert_eq!(std::fs::read_to_string(&quarantine)?.lines().count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<IngestReport, IngestError> {
        if self.state == State::Failed {
            return Err(IngestError::ReadAborted { path: self.path });
        }
        for batch in self.by_ref() {
            batch?;
        }
        if let Some(sink) = self.sink.take() {
            sink.commit()?;
        }
        Ok(IngestReport {
            summary: self.summary,
            quarantined: self.kept,
        })
    }

    /// Reads records until a batch is full or the input ends.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>, IngestError> {
        while self.state == State::Reading && self.rows_in_batch < self.batch_size {
            if let Some(record) = self.pending.pop_front() {
                self.process(&record)?;
                continue;
            }
            let mut record = std::mem::take(&mut self.scratch);
            let more = self.records.read(&mut record);
            let result = match more {
                Ok(true) => self.process(&record),
                Ok(false) => {
                    self.state = State::Exhausted;
                    Ok(())
                }
                Err(e) => Err(e),
            };
            self.scratch = record;
            result?;
        }
        if self.rows_in_batch == 0 {
            return Ok(None);
        }
        let columns = self
            .builders
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(mlrig_core::Error::from)?;
        self.rows_in_batch = 0;
        self.summary.batches += 1;
        Ok(Some(batch))
    }

    /// Accepts one record into the builders or quarantines it.
    fn process(&mut self, record: &RawRecord) -> Result<(), IngestError> {
        self.summary.rows_read += 1;
        if let Some(size) = record.oversize() {
            return self.quarantine(
                record,
                None,
                None,
                format!("record of {size} bytes is larger than max_record_bytes"),
            );
        }
        if record.len() != self.names.len() {
            let reason = format!(
                "expected {} fields, found {}",
                self.names.len(),
                record.len()
            );
            return self.quarantine(record, None, None, reason);
        }
        self.cells.clear();
        for (i, bytes) in record.fields().enumerate() {
            let value = match std::str::from_utf8(bytes) {
                Ok(value) => value,
                Err(_) => {
                    let column = self.names[i].clone();
                    let reason = format!("invalid UTF-8 in column {column}");
                    let raw = String::from_utf8_lossy(bytes).into_owned();
                    return self.quarantine(record, Some(column), Some(raw), reason);
                }
            };
            match self.types[i].parse(value, &self.missing) {
                Some(cell) => self.cells.push(cell),
                None => {
                    let reason =
                        type_mismatch_reason(&self.types[i].data_type().to_string(), value);
                    let column = self.names[i].clone();
                    return self.quarantine(record, Some(column), Some(value.to_string()), reason);
                }
            }
        }
        for ((builder, &cell), bytes) in self
            .builders
            .iter_mut()
            .zip(&self.cells)
            .zip(record.fields())
        {
            // Fields were checked to be UTF-8 above; only text cells read them.
            let text = if cell == Cell::Text {
                std::str::from_utf8(bytes).unwrap_or_default()
            } else {
                ""
            };
            builder.append(cell, text);
        }
        self.rows_in_batch += 1;
        self.summary.rows_accepted += 1;
        Ok(())
    }

    fn quarantine(
        &mut self,
        record: &RawRecord,
        column: Option<String>,
        raw_value: Option<String>,
        reason: String,
    ) -> Result<(), IngestError> {
        self.summary.rows_quarantined += 1;
        if self.sink.is_none() && self.kept.len() >= self.keep {
            return Ok(());
        }
        let row = QuarantinedRow {
            line: record.line(),
            column,
            raw_value,
            reason,
            record: join_record(record, self.delimiter),
        };
        if let Some(sink) = self.sink.as_mut() {
            sink.write(&row)?;
        }
        if self.kept.len() < self.keep {
            self.kept.push(row);
            self.summary.quarantined_kept += 1;
        }
        Ok(())
    }
}

impl Iterator for CsvReader {
    type Item = Result<RecordBatch, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == State::Failed {
            return None;
        }
        match self.next_batch() {
            Ok(batch) => batch.map(Ok),
            Err(e) => {
                self.state = State::Failed;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for CsvReader {}

/// Refuses a quarantine file that is the input file itself (committing it
/// would replace the data).
fn reject_same_file(input: &Path, quarantine: &Path) -> Result<(), IngestError> {
    let same = match (input.canonicalize(), quarantine.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(IngestError::InvalidOption {
            option: "quarantine_file".into(),
            reason: format!(
                "{} is the input file; choose another path",
                quarantine.display()
            ),
        });
    }
    Ok(())
}

/// Reads a whole CSV file into memory: the schema, every batch, and the
/// report (the quarantine file, if asked for, is committed).
///
/// ```
/// use mlrig_ingest::{CsvOptions, read_csv};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "a,b\n1,x\n2,y\n")?;
/// let (schema, batches, report) = read_csv(&path, CsvOptions::default())?;
/// assert_eq!(schema.fields().len(), 2);
/// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
/// assert_eq!(report.summary.rows_accepted, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_csv(
    path: impl AsRef<Path>,
    options: CsvOptions,
) -> Result<(SchemaRef, Vec<RecordBatch>, IngestReport), IngestError> {
    let mut reader = CsvReader::open(path, options)?;
    let schema = reader.schema();
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
    let report = reader.finish()?;
    Ok((schema, batches, report))
}

/// Infers the schema of a CSV file from its header and the first
/// [`infer_rows`](CsvOptions::with_infer_rows) records, with the overrides
/// applied; nothing else is read and no quarantine file is written.
///
/// ```
/// use mlrig_ingest::{CsvOptions, infer_schema};
/// use mlrig_core::arrow_schema::DataType;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "zip,n\n02139,1\n")?;
/// let schema = infer_schema(&path, &CsvOptions::default().with_column_type("zip", DataType::Utf8))?;
/// assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
/// assert_eq!(schema.field(1).data_type(), &DataType::Int64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn infer_schema(
    path: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<SchemaRef, IngestError> {
    let options = options.clone().without_quarantine_file();
    Ok(CsvReader::open(path, options)?.schema())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `data`, then fails every read.
    struct FailingAfter {
        data: std::io::Cursor<Vec<u8>>,
    }

    impl Read for FailingAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.data.read(buf)? {
                0 => Err(std::io::Error::other("device gone")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn an_io_error_ends_the_stream_and_finish_refuses_partial_results() {
        let source = FailingAfter {
            data: std::io::Cursor::new(b"a,b\n1,2\n3,4\n".to_vec()),
        };
        let options = CsvOptions::default().with_infer_rows(1);
        let mut reader = CsvReader::from_reader(source, "dev.csv", options).unwrap();
        let err = reader.next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "dev.csv: device gone");
        assert!(reader.next().is_none());
        assert!(matches!(
            reader.finish(),
            Err(IngestError::ReadAborted { .. })
        ));
    }

    #[test]
    fn the_sample_is_streamed_before_the_rest_without_loss() {
        let mut text = String::from("n\n");
        for i in 0..50 {
            text.push_str(&format!("{i}\n"));
        }
        let options = CsvOptions::default().with_infer_rows(7).with_batch_size(5);
        let mut reader =
            CsvReader::from_reader(std::io::Cursor::new(text), "n.csv", options).unwrap();
        let mut seen = Vec::new();
        for batch in reader.by_ref() {
            let batch = batch.unwrap();
            assert!(batch.num_rows() <= 5);
            let values = batch
                .column(0)
                .as_any()
                .downcast_ref::<mlrig_core::arrow_array::Int64Array>()
                .unwrap();
            seen.extend(values.values().iter().copied());
        }
        assert_eq!(seen, (0..50).collect::<Vec<i64>>());
        assert_eq!(reader.summary().batches, 10);
        assert!(reader.next().is_none(), "fused after the end");
    }

    #[test]
    fn the_quarantine_keep_cap_bounds_memory_but_not_counts() {
        let mut text = String::from("a,b\n");
        for _ in 0..100 {
            text.push_str("only-one-field\n");
        }
        let options = CsvOptions::default().with_quarantine_keep(3);
        let reader = CsvReader::from_reader(std::io::Cursor::new(text), "k.csv", options).unwrap();
        let report = reader.finish().unwrap();
        assert_eq!(report.quarantined.len(), 3);
        assert_eq!(report.summary.rows_quarantined, 100);
        assert_eq!(report.summary.quarantined_kept, 3);
        assert_eq!(report.quarantined[2].line, 4);
    }
}
