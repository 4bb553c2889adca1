//! # mlrig-ingest
//!
//! CSV files into a stream of Arrow [`RecordBatch`](mlrig_core::arrow_array::RecordBatch)es,
//! with type inference and a quarantine for the rows that do not fit.
//!
//! ## Data flow
//!
//! ```text
//! file ─▶ BOM skipped ─▶ csv-core records (exact start line, size cap)
//!   header ─▶ column names (or column_1..column_n)      ──┐
//!   first infer_rows records ─▶ type inference + overrides ─▶ schema
//!   every record (the sample first, then the rest):
//!     wrong field count │ invalid UTF-8 │ value not of its type │ oversized
//!        ├─ yes ─▶ QuarantinedRow ─▶ kept in memory (up to a cap) + quarantine file (CSV / JSON Lines)
//!        └─ no  ─▶ Arrow builders ─▶ RecordBatch every batch_size rows
//! finish() ─▶ quarantine file renamed into place ─▶ IngestReport { summary, quarantined }
//! ```
//!
//! * [`CsvReader`] is an `Iterator<Item = Result<RecordBatch, IngestError>>`;
//!   memory is bounded by the inference sample plus one batch.
//! * Types are `Boolean`, `Int64`, `Float64` or `Utf8`, all nullable; missing
//!   tokens (`""`, `NA`, `N/A`, `NaN`, `null`, `?` by default) become nulls.
//!   See [`CsvOptions::with_infer_tolerance`] for how a few stray values in a
//!   numeric column are quarantined rather than turning it into text.
//! * A bad row is never dropped silently and never an `Err`: it is
//!   quarantined whole, with its starting line, column, value and reason, and
//!   [`IngestSummary`] keeps `rows_read == rows_accepted + rows_quarantined`.
//! * [`IngestError`] is for files that cannot be read at all: missing, empty,
//!   a non-UTF-8 or duplicated header, invalid options, I/O failures.
//!
//! ## Quick start
//!
//! ```
//! use mlrig_ingest::{CsvOptions, QuarantineFormat, read_csv};
//! use mlrig_core::arrow_schema::DataType;
//!
//! let dir = tempfile::tempdir()?;
//! let data = dir.path().join("people.csv");
//! std::fs::write(&data, "name,age,zip\nada,36,02139\nbob,NA,10001\ncy,old,94105\ndee,41,60601\neve,29,73301\n")?;
//!
//! let options = CsvOptions::default()
//!     .with_column_type("zip", DataType::Utf8) // keep the leading zero
//!     .with_quarantine_file(dir.path().join("people.bad.csv"), QuarantineFormat::Csv);
//! let (schema, batches, report) = read_csv(&data, options)?;
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
//! ## Feature flags
//!
//! None.

mod column_type;
mod error;
mod header;
mod inference;
mod options;
mod quarantine;
mod reader;
mod record_reader;

pub use error::IngestError;
pub use options::{
    CsvOptions, DEFAULT_BATCH_SIZE, DEFAULT_INFER_ROWS, DEFAULT_INFER_TOLERANCE,
    DEFAULT_MAX_RECORD_BYTES, DEFAULT_MISSING_TOKENS, DEFAULT_QUARANTINE_KEEP, QuarantineFormat,
    parse_data_type,
};
pub use quarantine::QuarantinedRow;
pub use reader::{CsvReader, IngestReport, IngestSummary, infer_schema, read_csv};
