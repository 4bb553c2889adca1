//! [`CsvReader`]: one CSV file, or a [`FileSet`] of CSV files with the same
//! header, as a stream of Arrow record batches, with the rows that do not fit
//! the schema sent to the quarantine.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::{RecordBatch, RecordBatchReader};
use mlrig_core::arrow_schema::{ArrowError, SchemaRef};

use crate::batch_assembler::{BatchAssembler, input_paths};
use crate::batch_stream::BatchStream;
use crate::column_type::Cell;
use crate::csv_source::{FileStart, RecordSource, SourceItem, Start, check_header, file_start};
use crate::file_set::{decompressed, open_file};
use crate::header::generated_names;
use crate::inference::SampleProfile;
use crate::parallel_csv::ParallelCsv;
use crate::quarantine::{QuarantinedRow, join_record};
use crate::record_check::{check_record, text_field};
use crate::record_reader::{CsvRecord, RawRecord};
use crate::{FileSet, IngestError, IngestReport, IngestSummary, ReadOptions};

/// Streams CSV as Arrow [`RecordBatch`]es of at most
/// [`batch_size`](ReadOptions::with_batch_size) rows.
///
/// Opening reads the header and the inference sample (the first
/// [`infer_rows`](crate::InferenceOptions::with_infer_rows) records, kept in memory and
/// then streamed like the rest), so memory is bounded by the sample plus one
/// batch, never by the file size.
///
/// Several files ([`CsvReader::open_files`]) are one table: every header must
/// equal the first file's ([`IngestError::HeaderMismatch`] otherwise, checked
/// when opening), the types are inferred from the first
/// `ceil(infer_rows / files)` records of each file, and the files are
/// streamed in order. Files ending in `.gz` or starting with the gzip magic
/// bytes are decompressed while streaming.
///
/// Every record is either accepted into a batch or quarantined whole
/// ([`QuarantinedRow`], naming its file and line): wrong number of fields, a
/// value that does not parse as its column's type, invalid UTF-8, or a record
/// over [`max_record_bytes`](ReadOptions::with_max_record_bytes); or, with
/// [`with_sample`](ReadOptions::with_sample), left out by sampling and
/// counted. Bad rows never produce `Err` items; an `Err` item means the
/// input could not be read (or the quarantine file could not be written),
/// after which the iterator ends.
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
/// use mlrig_ingest::{ReadOptions, CsvReader};
/// use mlrig_ingest::DataType;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "id,score\n1,0.5\n2,NA\n3,oops\n4,1.5\n5,2.5\n")?;
/// let mut reader = CsvReader::open(&path, ReadOptions::default().with_batch_size(2))?;
/// assert_eq!(reader.schema().field(1).data_type(), &DataType::Float64);
/// let sizes: Vec<usize> = reader.by_ref().map(|b| b.map(|b| b.num_rows())).collect::<Result<_, _>>()?;
/// assert_eq!(sizes, [2, 2]);
/// assert_eq!(reader.quarantined()[0].line, 4);
/// let report = reader.finish()?;
/// assert_eq!(report.summary.rows_quarantined, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CsvReader {
    /// Every input, in reading order.
    files: Vec<PathBuf>,
    engine: Engine,
    /// Reused buffer for the record being processed.
    scratch: RawRecord,
    /// Reused parsed fields of the row being checked.
    cells: Vec<Cell>,
    delimiter: u8,
    out: BatchAssembler,
    /// The input is exhausted; rows may remain in the builders.
    exhausted: bool,
    /// An error was returned; nothing more is read.
    failed: bool,
}

/// Who turns records into rows.
enum Engine {
    /// Records are read and typed on the caller's thread.
    Sequential(Box<RecordSource>),
    /// Records are read on a reader thread and typed in parallel.
    Parallel(ParallelCsv),
}

impl std::fmt::Debug for CsvReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("files", &self.files)
            .field("schema", &self.out.schema())
            .field("summary", self.out.summary())
            .field("exhausted", &self.exhausted)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl CsvReader {
    /// Opens `path` (gzip-compressed or not), reads the header and the
    /// inference sample, and prepares the quarantine file if one was asked
    /// for.
    ///
    /// Errors: the file cannot be opened or read ([`IngestError::Io`]), it is
    /// empty ([`IngestError::EmptyFile`]), the header is not UTF-8 or repeats
    /// a name, an option is invalid, or an override names an unknown column.
    /// A header-only file opens fine: zero rows, every column `Utf8` unless
    /// overridden.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, CsvReader, IngestError};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("empty.csv");
    /// std::fs::write(&path, "")?;
    /// let err = CsvReader::open(&path, ReadOptions::default()).unwrap_err();
    /// assert!(matches!(err, IngestError::EmptyFile { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, options: ReadOptions) -> Result<CsvReader, IngestError> {
        CsvReader::open_files(&FileSet::from(path.as_ref()), options)
    }

    /// Opens every file of `files` as one table (see the type docs): checks
    /// that every header equals the first file's, infers one schema from a
    /// sample of each file, and prepares the quarantine file.
    ///
    /// Errors: those of [`CsvReader::open`] for any file, an empty set
    /// ([`IngestError::NoFiles`]), and [`IngestError::HeaderMismatch`] naming
    /// both files and the first differing column.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, CsvReader, FileSet, IngestError};
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("a.csv"), "id,x\n1,0.5\n2,1.5\n3,2.5\n")?;
    /// std::fs::write(dir.path().join("b.csv"), "id,x\n4,bad\n5,3.5\n")?;
    /// let files = FileSet::new([dir.path().join("*.csv").to_str().unwrap()])?;
    /// let mut reader = CsvReader::open_files(&files, ReadOptions::default())?;
    /// let rows: usize = reader.by_ref().map(|b| b.map(|b| b.num_rows())).sum::<Result<_, _>>()?;
    /// assert_eq!(rows, 4);
    /// let bad = &reader.quarantined()[0];
    /// assert!(bad.file.ends_with("b.csv") && bad.line == 2);
    ///
    /// std::fs::write(dir.path().join("c.csv"), "id,y\n4,2.5\n")?;
    /// let files = FileSet::new([dir.path().join("*.csv").to_str().unwrap()])?;
    /// let err = CsvReader::open_files(&files, ReadOptions::default()).unwrap_err();
    /// assert!(matches!(err, IngestError::HeaderMismatch { column: 2, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_files(files: &FileSet, options: ReadOptions) -> Result<CsvReader, IngestError> {
        let paths = input_paths(files, &options)?;
        let first = &paths[0];
        let start = file_start(open_file(first)?, first, &options)?;
        CsvReader::start(paths, start, options)
    }

    /// Reads CSV from any byte source (standard input, a decompressor, a
    /// buffer); `name` stands for it in errors and the summary. Gzip data is
    /// recognized by its magic bytes and decompressed.
    ///
    /// ```
    /// use mlrig_ingest::{CsvFormat, CsvReader, ReadOptions};
    /// let data = b"a;b\n1;x\n".to_vec();
    /// let options = ReadOptions::default().with_csv_format(CsvFormat::default().with_delimiter(b';'));
    /// let mut reader = CsvReader::from_reader(std::io::Cursor::new(data), "<memory>", options)?;
    /// let batch = reader.next().unwrap()?;
    /// assert_eq!(batch.num_rows(), 1);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn from_reader(
        source: impl Read + Send + 'static,
        name: impl AsRef<Path>,
        options: ReadOptions,
    ) -> Result<CsvReader, IngestError> {
        options.validate()?;
        let path = name.as_ref().to_path_buf();
        let source = decompressed(source, false).map_err(|e| IngestError::io(&path, e))?;
        let start = file_start(source, &path, &options)?;
        CsvReader::start(vec![path], start, options)
    }

    /// Samples every file, infers the schema and prepares the first file for
    /// streaming.
    fn start(
        files: Vec<PathBuf>,
        start: FileStart,
        options: ReadOptions,
    ) -> Result<CsvReader, IngestError> {
        let first_path = files.first().cloned().unwrap_or_default();
        let FileStart { mut records, first } = start;
        let per_file = options
            .inference()
            .infer_rows()
            .div_ceil(files.len().max(1));
        let mut pending = VecDeque::new();
        let names = match first {
            Start::Header(names) => names,
            Start::Data(record) => {
                let names = generated_names(record.len());
                pending.push_back(record);
                names
            }
        };
        let mut scratch = RawRecord::default();
        while pending.len() < per_file && records.read(&mut scratch)? {
            pending.push_back(scratch.compact());
        }
        let mut profile = SampleProfile::new(names.len(), &options);
        // Without a header, the first record is data but must not count
        // against a zero-row sample.
        for record in pending.iter().take(per_file) {
            profile.observe_record(record);
        }
        for path in files.iter().skip(1) {
            let FileStart { mut records, first } = file_start(open_file(path)?, path, &options)?;
            let mut sampled = 0;
            match first {
                Start::Header(other) => check_header(&names, &first_path, &other, path)?,
                Start::Data(record) => {
                    if per_file > 0 {
                        profile.observe_record(&record);
                        sampled += 1;
                    }
                }
            }
            while sampled < per_file && records.read(&mut scratch)? {
                profile.observe_record(&scratch);
                sampled += 1;
            }
        }
        let types = profile.column_types(&names, &options, &first_path)?;
        let mut out = BatchAssembler::new(names.clone(), types, &options, &first_path)?;
        out.start_file(&first_path);
        let source = RecordSource::new(files.clone(), records, pending, names, options.clone());
        let engine = match options.threads() {
            1 => Engine::Sequential(Box::new(source)),
            threads => Engine::Parallel(ParallelCsv::start(source, &out, &options, threads)?),
        };
        Ok(CsvReader {
            files,
            engine,
            scratch,
            cells: Vec::with_capacity(out.names().len()),
            delimiter: options.csv_format().delimiter(),
            out,
            exhausted: false,
            failed: false,
        })
    }

    /// The schema of every batch: inferred from the sample, with the
    /// overrides applied; every field is nullable.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, CsvReader};
    /// use mlrig_ingest::DataType;
    /// let reader = CsvReader::from_reader(&b"a,b\n1,true\n"[..], "m.csv", ReadOptions::default())?;
    /// assert_eq!(reader.schema().field(1).data_type(), &DataType::Boolean);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn schema(&self) -> SchemaRef {
        self.out.schema()
    }

    /// The totals so far.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, CsvReader};
    /// let mut reader = CsvReader::from_reader(&b"a\n1\n"[..], "m.csv", ReadOptions::default())?;
    /// assert_eq!(reader.summary().rows_read, 0);
    /// reader.next();
    /// assert_eq!(reader.summary().rows_read, 1);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn summary(&self) -> &IngestSummary {
        self.out.summary()
    }

    /// The quarantined rows so far, up to the
    /// [`keep`](crate::QuarantineOptions::with_keep) cap.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, CsvReader};
    /// let mut reader = CsvReader::from_reader(&b"a,b\n1\n"[..], "m.csv", ReadOptions::default())?;
    /// assert!(reader.next().is_none());
    /// assert_eq!(reader.quarantined()[0].reason, "expected 2 fields, found 1");
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn quarantined(&self) -> &[QuarantinedRow] {
        self.out.quarantined()
    }

    /// The input files, in reading order; [`RowOrigin::file_index`] indexes
    /// this list.
    ///
    /// [`RowOrigin::file_index`]: crate::RowOrigin::file_index
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, CsvReader};
    /// let reader = CsvReader::from_reader(&b"a\n1\n"[..], "m.csv", ReadOptions::default())?;
    /// assert_eq!(reader.files(), [std::path::PathBuf::from("m.csv")]);
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Where each row of the batch most recently returned by `next` comes
    /// from: the index of its file in [`CsvReader::files`] and the 1-based
    /// line on which its record starts (the first line of a quoted field
    /// spanning several lines), in row order; empty before the first batch.
    ///
    /// Sampled-out and quarantined records have no row, hence no origin.
    /// The same with any number of threads. Costs one `u64` per row of a
    /// batch (plus one entry per change of file); to map rows of the whole
    /// stream, append each batch's origins with
    /// [`RowOrigins::extend_from`](crate::RowOrigins::extend_from).
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, CsvReader, RowOrigin};
    /// let data = "id,note\n1,a\n2,\"two\nlines\"\nbad,row,here\n4,d\n";
    /// let mut reader = CsvReader::from_reader(data.as_bytes(), "m.csv", ReadOptions::default())?;
    /// let batch = reader.next().unwrap()?;
    /// assert_eq!(batch.num_rows(), 3);
    /// assert_eq!(reader.last_batch_origins().lines(), [2, 3, 6]);
    /// assert_eq!(reader.last_batch_origins().get(1), Some(RowOrigin { file_index: 0, line: 3 }));
    /// # Ok::<(), mlrig_ingest::IngestError>(())
    /// ```
    pub fn last_batch_origins(&self) -> &crate::RowOrigins {
        self.out.last_origins()
    }

    /// Reads the remaining rows (their batches are dropped), commits the
    /// quarantine file and returns the final report.
    ///
    /// Returns [`IngestError::ReadAborted`] if the reader already returned an
    /// error, since the counts would be incomplete.
    ///
    /// ```
    /// use mlrig_ingest::{CsvReader, QuarantineFormat, QuarantineOptions, ReadOptions};
    /// let dir = tempfile::tempdir()?;
    /// let quarantine = dir.path().join("bad.jsonl");
    /// let quarantine_options = QuarantineOptions::default().with_file(&quarantine, QuarantineFormat::JsonLines);
    /// let options = ReadOptions::default().with_quarantine(quarantine_options);
    /// let reader = CsvReader::from_reader(&b"a,b\n1,2\n3\n"[..], "m.csv", options)?;
    /// let report = reader.finish()?;
    /// assert_eq!(report.summary.rows_quarantined, 1);
    /// assert_eq!(std::fs::read_to_string(&quarantine)?.lines().count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(self) -> Result<IngestReport, IngestError> {
        self.finish_stream()
    }

    /// Accepts one record into the builders or quarantines it.
    fn process(&mut self, record: &RawRecord) -> Result<(), IngestError> {
        if !self.out.admit() {
            return Ok(());
        }
        match check_record(
            record,
            self.out.names(),
            self.out.types(),
            self.out.missing(),
            self.out.split_key(),
            &mut self.cells,
        ) {
            Ok(text) => {
                // Only text cells read their field.
                self.out
                    .accept(record.line(), &self.cells, |i| text_field(record, text, i));
                Ok(())
            }
            Err(rejection) => {
                let delimiter = self.delimiter;
                self.out
                    .quarantine(record.line(), rejection, || join_record(record, delimiter))
            }
        }
    }
}

impl BatchStream for CsvReader {
    fn assembler(&self) -> &BatchAssembler {
        &self.out
    }

    fn into_assembler(self) -> BatchAssembler {
        self.out
    }

    fn failed(&mut self) -> &mut bool {
        &mut self.failed
    }

    /// Reads records until a batch is full or the input ends.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>, IngestError> {
        if let Engine::Parallel(parallel) = &mut self.engine {
            let batch = parallel.next_batch(&mut self.out)?;
            if batch.is_none() {
                self.exhausted = true;
            }
            return Ok(batch);
        }
        while !self.exhausted && !self.out.is_full() {
            let Engine::Sequential(source) = &mut self.engine else {
                break;
            };
            let mut record = std::mem::take(&mut self.scratch);
            let result = match source.next(&mut record) {
                Ok(SourceItem::Record) => self.process(&record),
                Ok(SourceItem::NewFile(path)) => {
                    self.out.start_file(&path);
                    Ok(())
                }
                Ok(SourceItem::End) => {
                    self.exhausted = true;
                    Ok(())
                }
                Err(e) => Err(e),
            };
            self.scratch = record;
            result?;
        }
        self.out.flush()
    }
}

/// Batches in order; an error (an [`IngestError`] inside
/// [`ArrowError::ExternalError`]) ends the stream.
impl Iterator for CsvReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_arrow()
    }
}

impl RecordBatchReader for CsvReader {
    fn schema(&self) -> SchemaRef {
        self.assembler().schema()
    }
}

impl std::iter::FusedIterator for CsvReader {}

/// Reads a whole CSV file into memory: the schema, every batch, and the
/// report (the quarantine file, if asked for, is committed).
///
/// ```
/// use mlrig_ingest::{ReadOptions, read_csv};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "a,b\n1,x\n2,y\n")?;
/// let (schema, batches, report) = read_csv(&path, ReadOptions::default())?;
/// assert_eq!(schema.fields().len(), 2);
/// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
/// assert_eq!(report.summary.rows_accepted, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_csv(
    path: impl AsRef<Path>,
    options: ReadOptions,
) -> Result<(SchemaRef, Vec<RecordBatch>, IngestReport), IngestError> {
    CsvReader::open(path, options)?.read_whole()
}

/// Infers the schema of a CSV file from its header and the first
/// [`infer_rows`](crate::InferenceOptions::with_infer_rows) records, with the overrides
/// applied; nothing else is read and no quarantine file is written.
///
/// ```
/// use mlrig_ingest::{InferenceOptions, ReadOptions, infer_schema};
/// use mlrig_ingest::DataType;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "zip,n\n02139,1\n")?;
/// let inference = InferenceOptions::default().with_column_type("zip", DataType::Utf8);
/// let schema = infer_schema(&path, &ReadOptions::default().with_inference(inference))?;
/// assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
/// assert_eq!(schema.field(1).data_type(), &DataType::Int64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn infer_schema(
    path: impl AsRef<Path>,
    options: &ReadOptions,
) -> Result<SchemaRef, IngestError> {
    let options = options.clone().without_quarantine_file();
    Ok(CsvReader::open(path, options)?.schema())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InferenceOptions, QuarantineOptions};

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
        let options =
            ReadOptions::default().with_inference(InferenceOptions::default().with_infer_rows(1));
        let mut reader = CsvReader::from_reader(source, "dev.csv", options).unwrap();
        let err = reader.next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "External error: dev.csv: device gone");
        let err = IngestError::from(err);
        assert!(matches!(err, IngestError::Io { .. }));
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
        let options = ReadOptions::default()
            .with_inference(InferenceOptions::default().with_infer_rows(7))
            .with_batch_size(5);
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
    fn utf8_is_checked_per_record_yet_names_the_bad_column() {
        // Line 3: a character split by the delimiter (the record's bytes
        // without delimiters would be UTF-8); line 4: bad bytes in column b
        // after a good multi-byte value; line 5 is quoted (csv-core path).
        let data =
            b"a,b\n\xC3\xA9,\xC3\xBC\n\xC3,\xA9\nok\xC3\xA9,x\xFF\n\"\xC3\",\"\xA9\"\n".to_vec();
        for threads in [1, 2] {
            let options = ReadOptions::default().with_threads(threads);
            let reader =
                CsvReader::from_reader(std::io::Cursor::new(data.clone()), "u.csv", options)
                    .unwrap();
            let report = reader.finish().unwrap();
            let bad: Vec<(u64, Option<&str>, &str)> = report
                .quarantined
                .iter()
                .map(|q| (q.line, q.column.as_deref(), q.reason.as_str()))
                .collect();
            assert_eq!(
                bad,
                [
                    (3, Some("a"), "invalid UTF-8 in column a"),
                    (4, Some("b"), "invalid UTF-8 in column b"),
                    (5, Some("a"), "invalid UTF-8 in column a"),
                ],
                "threads {threads}"
            );
            assert_eq!(report.summary.rows_accepted, 1);
        }
    }

    #[test]
    fn the_quarantine_keep_cap_bounds_memory_but_not_counts() {
        let mut text = String::from("a,b\n");
        for _ in 0..100 {
            text.push_str("only-one-field\n");
        }
        let options =
            ReadOptions::default().with_quarantine(QuarantineOptions::default().with_keep(3));
        let reader = CsvReader::from_reader(std::io::Cursor::new(text), "k.csv", options).unwrap();
        let report = reader.finish().unwrap();
        assert_eq!(report.quarantined.len(), 3);
        assert_eq!(report.summary.rows_quarantined, 100);
        assert_eq!(report.summary.quarantined_kept, 3);
        assert_eq!(report.quarantined[2].line, 4);
    }
}
