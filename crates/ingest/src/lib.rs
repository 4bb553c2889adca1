//! # mlrig-ingest
//!
//! CSV, JSON Lines and (feature `parquet`) Parquet files into a stream of
//! Arrow [`RecordBatch`]es, with type
//! inference, deterministic sampling and a quarantine for the rows that do
//! not fit.
//!
//! ## Data flow
//!
//! ```text
//! paths / globs ─▶ FileSet (sorted, deduplicated) ─▶ each file: .gz or gzip magic? ─▶ gunzip
//!   CSV:   BOM skipped ─▶ csv-core records (exact start line, size cap)
//!          header of every file == header of the first (else HeaderMismatch)
//!   JSONL: lines (size cap) ─▶ serde_json objects; columns = keys of the sample
//!   sample: first ceil(infer_rows / files) records of each file ─▶ types + overrides ─▶ schema
//!   every record, files in order (the first file's sample is not read twice;
//!   with_threads(n): records split on a reader thread, typed on n threads, merged in order):
//!     sampled out (hash of row number, seed)?  ─▶ counted in rows_sampled_out
//!     wrong width │ invalid UTF-8/JSON │ value not of its type │ unknown key │ oversized
//!        ├─ yes ─▶ QuarantinedRow {file, line, column, value, reason}
//!        │           ─▶ kept in memory (up to a cap) + quarantine file (CSV / JSON Lines)
//!        │           (with a split on a key column: a null key too)
//!        └─ no  ─▶ accepted row n (0-based over accepted rows, all files in order)
//!                    split (with_split): other side? ─▶ counted in rows_split_off
//!                    ─▶ Arrow builders ─▶ RecordBatch every batch_size rows
//!                    (+ each row's file and start line: last_batch_origins())
//!   Parquet: arrow-rs reader ─▶ lossless cast to Int64/Float64/Boolean/Utf8 ─▶ sampling filter ─▶ split
//! finish() ─▶ quarantine file renamed into place ─▶ IngestReport { summary (+ per file), quarantined }
//! ```
//!
//! * [`read_data`] and [`DataReader`] are the front door: they pick
//!   [`CsvReader`], [`JsonLinesReader`] or `ParquetReader` by file extension
//!   ([`DataFormat`]). Every reader is an arrow [`RecordBatchReader`]
//!   (`Iterator<Item = Result<RecordBatch, ArrowError>>` plus `schema()`),
//!   so anything that takes one (DataFusion, arrow writers) takes ours; an
//!   error is an [`IngestError`] inside [`ArrowError::ExternalError`], and
//!   `IngestError::from` gets it back unchanged. Memory is bounded by the
//!   inference sample plus one batch, whatever the number or size of the
//!   files.
//! * [`ReadOptions`] composes three separate concerns, each with its own
//!   builder: the [`CsvFormat`] (dialect), the [`InferenceOptions`] (how
//!   values get their types: sample, tolerance, missing tokens, overrides)
//!   and the [`QuarantineOptions`] (quarantine file, rows kept in memory);
//!   the batch size, record size limit, sampling, split and threads are
//!   its own.
//! * Types are `Boolean`, `Int64`, `Float64` or `Utf8`, all nullable; missing
//!   tokens (`""`, `NA`, `N/A`, `NaN`, `null`, `?` by default) become nulls.
//!   See [`InferenceOptions::with_infer_tolerance`] for how a few stray
//!   values in a numeric column are quarantined rather than turning it into
//!   text.
//! * A bad row is never dropped silently and never an `Err`: it is
//!   quarantined whole, with its file, starting line, column, value and
//!   reason, and [`IngestSummary`] (in total and per [`FileSummary`]) keeps
//!   `rows_read == rows_accepted + rows_quarantined + rows_sampled_out`.
//!   The reader's `finish` (e.g. [`DataReader::finish`]) commits the
//!   quarantine file and returns the [`IngestReport`].
//! * [`ReadOptions::with_split`] keeps one side ([`SplitSide`]) of a
//!   deterministic train/eval [`Split`] ([`SplitRule`] from `mlrig-core`, the
//!   rule `mlrig-train` uses): the same rows whatever the reader, batch size
//!   or thread count, and with a key column whatever the file or row order.
//!   Rows of the other side are accepted but counted in `rows_split_off`
//!   instead of going into a batch. [`CsvWriter`] writes batches back to CSV
//!   atomically (how `mlrig ingest --out-dir` writes `train.csv` and
//!   `eval.csv`).
//! * Every row of a batch maps back to its input: after each batch,
//!   [`DataReader::last_batch_origins`] gives a [`RowOrigin`] (index into
//!   `files()`, 1-based starting line) per row, the same with any number of
//!   threads; collect them with [`RowOrigins`] to point a validator's row
//!   indices at `file:line`.
//! * [`IngestError`] is for inputs that cannot be read at all: missing,
//!   empty, an unusable or mismatched header, an unsupported Parquet column,
//!   invalid options, corrupt gzip, I/O failures.
//! * The arrow types a user needs to name inputs and outputs are
//!   re-exported ([`RecordBatch`], [`RecordBatchReader`], [`SchemaRef`],
//!   [`DataType`], [`ArrowError`]), so depending on `mlrig-ingest` alone is
//!   enough to read data and consume batches.
//!
//! ## Quick start
//!
//! ```
//! use mlrig_ingest::{
//!     DataType, InferenceOptions, QuarantineFormat, QuarantineOptions, ReadOptions, read_data,
//! };
//!
//! let dir = tempfile::tempdir()?;
//! let data = dir.path().join("people.csv");
//! std::fs::write(&data, "name,age,zip\nada,36,02139\nbob,NA,10001\ncy,old,94105\ndee,41,60601\neve,29,73301\n")?;
//!
//! let options = ReadOptions::default()
//!     // keep the leading zero
//!     .with_inference(InferenceOptions::default().with_column_type("zip", DataType::Utf8))
//!     .with_quarantine(
//!         QuarantineOptions::default()
//!             .with_file(dir.path().join("people.bad.csv"), QuarantineFormat::Csv),
//!     );
//! let (schema, batches, report) = read_data(&data, options)?;
//!
//! assert_eq!(schema.field(1).data_type(), &DataType::Int64);
//! assert_eq!(batches[0].num_rows(), 4); // all but cy; bob's age is null
//! let bad = &report.quarantined[0];
//! assert_eq!((bad.line, bad.reason.as_str()), (4, "expected Int64, found \"old\""));
//! assert_eq!(report.summary.rows_read, 5);
//! assert!(dir.path().join("people.bad.csv").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Streaming, in bounded memory: [`DataReader`] over many files (for
//! example `data/part-*.csv.gz`, a [`FileSet`]) is a [`RecordBatchReader`];
//! [`ReadOptions::with_sample`] keeps a reproducible fraction of the rows
//! and [`ReadOptions::with_split`] one side of a train/eval split:
//!
//! ```
//! use mlrig_ingest::{DataReader, FileSet, ReadOptions, RecordBatchReader, Split, SplitRule};
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("clicks-1.csv"), "user,clicks\nann,3\nbob,5\ncyd,\n")?;
//! std::fs::write(dir.path().join("clicks-2.csv"), "user,clicks\ndan,1\nann,4\n")?;
//! let files = FileSet::new([dir.path().join("clicks-*.csv").to_str().unwrap()])?;
//! let rule = SplitRule::hash_key(0.5)?;
//! let eval = Split::eval(rule.clone()).with_key_column("user");
//!
//! // Any arrow consumer takes the reader; `finish` still gives the report after.
//! fn count_rows(reader: &mut dyn RecordBatchReader) -> Result<usize, mlrig_ingest::ArrowError> {
//!     assert_eq!(reader.schema().fields().len(), 2);
//!     reader.map(|batch| batch.map(|b| b.num_rows())).sum()
//! }
//! let mut reader = DataReader::open_files(&files, ReadOptions::default().with_split(eval))?;
//! let kept = count_rows(&mut reader)?;
//! // A row's side depends only on its user, so both of ann's rows go together.
//! let users = ["ann", "bob", "cyd", "dan", "ann"];
//! let expected = users.iter().filter(|u| rule.is_eval(0, Some(u))).count();
//! assert_eq!(kept, expected);
//! let s = reader.finish()?.summary;
//! assert_eq!((s.rows_accepted, s.rows_split_off), (5, (5 - expected) as u64));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Feature flags
//!
//! | Feature   | Default | Enables |
//! |-----------|---------|---------|
//! | `parquet` | off     | `ParquetReader` and `read_parquet`, through arrow-rs `parquet` (Snappy and Zstandard codecs) |

mod batch_assembler;
mod batch_stream;
mod column_type;
mod csv_format;
mod csv_source;
mod csv_writer;
mod data_reader;
mod decimal_text;
mod error;
mod file_set;
mod header;
mod inference;
mod inference_options;
mod json_lines;
mod parallel_csv;
#[cfg(feature = "parquet")]
mod parquet_reader;
mod quarantine;
mod quarantine_options;
mod read_options;
mod reader;
mod record_check;
mod record_reader;
mod report;
mod row_origin;
mod row_sampling;
mod split;

pub use csv_format::CsvFormat;
pub use csv_writer::{CsvRows, CsvWriter};
pub use data_reader::{DataFormat, DataReader, read_data};
pub use error::IngestError;
pub use file_set::FileSet;
pub use inference_options::{
    DEFAULT_INFER_ROWS, DEFAULT_INFER_TOLERANCE, DEFAULT_MISSING_TOKENS, InferenceOptions,
    parse_data_type,
};
pub use json_lines::{JsonLinesReader, read_json_lines};
// The arrow types of the inputs and outputs, so users need not depend on
// mlrig-core or arrow to name them.
pub use mlrig_core::SplitRule;
pub use mlrig_core::arrow_array::{RecordBatch, RecordBatchReader};
pub use mlrig_core::arrow_schema::{ArrowError, DataType, SchemaRef};
#[cfg(feature = "parquet")]
pub use parquet_reader::{ParquetReader, read_parquet};
pub use quarantine::QuarantinedRow;
pub use quarantine_options::{DEFAULT_QUARANTINE_KEEP, QuarantineFormat, QuarantineOptions};
pub use read_options::{DEFAULT_BATCH_SIZE, DEFAULT_MAX_RECORD_BYTES, ReadOptions};
pub use reader::{CsvReader, infer_schema, read_csv};
pub use report::{FileSummary, IngestReport, IngestSummary};
pub use row_origin::{RowOrigin, RowOrigins};
pub use split::{MISSING_KEY_REASON, Split, SplitSide};
