//! The quarantine: rows that could not be accepted, why, and where they go.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mlrig_core::AtomicFile;
use serde::{Deserialize, Serialize};

use crate::record_reader::CsvRecord;
use crate::{IngestError, QuarantineFormat};

/// The longest value quoted in a [`QuarantinedRow::reason`]; longer values are
/// cut (the full value is in [`QuarantinedRow::raw_value`]).
const REASON_VALUE_CHARS: usize = 80;

/// A row that was not accepted, with the reason. The whole row is
/// quarantined: none of its fields reach a batch.
///
/// ```
/// use mlrig_ingest::{ReadOptions, read_csv};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "n\n1\n2\n3\nabc\n")?;
/// let (_, _, report) = read_csv(&path, ReadOptions::default())?;
/// let row = &report.quarantined[0];
/// assert_eq!(row.line, 5);
/// assert!(row.file.ends_with("a.csv"));
/// assert_eq!(row.column.as_deref(), Some("n"));
/// assert_eq!(row.raw_value.as_deref(), Some("abc"));
/// assert_eq!(row.reason, "expected Int64, found \"abc\"");
/// assert_eq!(row.record, "abc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuarantinedRow {
    /// The file the row comes from (as given, lossily converted to UTF-8).
    #[serde(default)]
    pub file: String,
    /// The 1-based line where the record starts in its file (a CSV header
    /// is line 1); for Parquet, the 1-based row number in the file.
    pub line: u64,
    /// The column whose value was rejected; `None` when the row as a whole is
    /// wrong (number of fields, size).
    pub column: Option<String>,
    /// The rejected value (invalid UTF-8 replaced by U+FFFD); `None` when the
    /// row as a whole is wrong.
    pub raw_value: Option<String>,
    /// Why, e.g. `expected Int64, found "abc"`, `expected 4 fields, found 3`,
    /// `invalid UTF-8 in column name`.
    pub reason: String,
    /// The record joined back with the file's delimiter, fields quoted where
    /// needed (invalid UTF-8 replaced by U+FFFD; an oversized record is cut
    /// after its first KiB and ends in `…`).
    pub record: String,
}

/// The reason for a value that does not parse as its column's type.
pub(crate) fn type_mismatch_reason(type_name: &str, value: &str) -> String {
    let shown: Cow<'_, str> = if value.chars().count() > REASON_VALUE_CHARS {
        let cut: String = value.chars().take(REASON_VALUE_CHARS).collect();
        Cow::Owned(format!("{cut}…"))
    } else {
        Cow::Borrowed(value)
    };
    format!("expected {type_name}, found {shown:?}")
}

/// The record as one line of CSV text (for [`QuarantinedRow::record`]).
pub(crate) fn join_record(record: &impl CsvRecord, delimiter: u8) -> String {
    if record.oversize().is_some() {
        return format!("{}…", String::from_utf8_lossy(record.preview()));
    }
    let delimiter = char::from(delimiter);
    let mut out = String::new();
    for (i, bytes) in record.fields().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        let field = String::from_utf8_lossy(bytes);
        if field.contains([delimiter, '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out
}

/// A quarantine file being written: a temporary file beside the target,
/// renamed into place by [`QuarantineSink::commit`] (dropped uncommitted, it
/// is deleted).
pub(crate) struct QuarantineSink {
    path: PathBuf,
    writer: SinkWriter,
}

enum SinkWriter {
    Csv(Box<csv::Writer<AtomicFile>>),
    JsonLines(BufWriter<AtomicFile>),
}

impl QuarantineSink {
    /// Creates the temporary file (and, for CSV, writes the header).
    /// The file is private (0600 on Unix): quarantined rows are raw input
    /// that may hold data which should not spread.
    pub(crate) fn create(path: &Path, format: QuarantineFormat) -> Result<Self, IngestError> {
        let file = AtomicFile::create_private(path)?;
        let mut writer = match format {
            QuarantineFormat::Csv => SinkWriter::Csv(Box::new(csv::Writer::from_writer(file))),
            QuarantineFormat::JsonLines => SinkWriter::JsonLines(BufWriter::new(file)),
        };
        if let SinkWriter::Csv(w) = &mut writer {
            w.write_record(["file", "line", "column", "raw_value", "reason", "record"])
                .map_err(|e| csv_error(path, e))?;
        }
        Ok(QuarantineSink {
            path: path.to_path_buf(),
            writer,
        })
    }

    /// The final path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row.
    pub(crate) fn write(&mut self, row: &QuarantinedRow) -> Result<(), IngestError> {
        match &mut self.writer {
            SinkWriter::Csv(w) => w
                .write_record([
                    row.file.as_str(),
                    row.line.to_string().as_str(),
                    row.column.as_deref().unwrap_or(""),
                    row.raw_value.as_deref().unwrap_or(""),
                    &row.reason,
                    &row.record,
                ])
                .map_err(|e| csv_error(&self.path, e)),
            SinkWriter::JsonLines(w) => {
                serde_json::to_writer(&mut *w, row).map_err(|e| {
                    // A write that failed (a full disk) is an I/O error on the file.
                    match e.io_error_kind() {
                        Some(_) => IngestError::io(&self.path, std::io::Error::from(e)),
                        None => IngestError::from(mlrig_core::Error::Json {
                            context: self.path.display().to_string(),
                            source: e,
                        }),
                    }
                })?;
                w.write_all(b"\n")
                    .map_err(|e| IngestError::io(&self.path, e))
            }
        }
    }

    /// Flushes, syncs and renames the file into place.
    pub(crate) fn commit(self) -> Result<(), IngestError> {
        let path = self.path;
        let file = match self.writer {
            SinkWriter::Csv(w) => w
                .into_inner()
                .map_err(|e| IngestError::io(&path, e.into_error()))?,
            SinkWriter::JsonLines(w) => w
                .into_inner()
                .map_err(|e| IngestError::io(&path, e.into_error()))?,
        };
        Ok(file.commit()?)
    }
}

/// A `csv` writer error as an I/O error on `path` (writing strings to a file
/// can only fail in I/O).
pub(crate) fn csv_error(path: &Path, error: csv::Error) -> IngestError {
    let source = match error.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    };
    IngestError::io(path, source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_reader::{RawRecord, RecordReader};

    fn record(bytes: &[u8], max: usize) -> RawRecord {
        let mut reader = RecordReader::new(
            Box::new(std::io::Cursor::new(bytes.to_vec())),
            Path::new("r.csv"),
            b',',
            max,
        );
        let mut r = RawRecord::default();
        assert!(reader.read(&mut r).unwrap());
        r
    }

    fn row(line: u64) -> QuarantinedRow {
        QuarantinedRow {
            file: "data/in.csv".into(),
            line,
            column: Some("score".into()),
            raw_value: Some("x,\"y\"".into()),
            reason: "expected Float64, found \"x\"".into(),
            record: "1,\"x,\"\"y\"\"\"".into(),
        }
    }

    #[test]
    fn records_are_joined_back_as_csv() {
        let r = record(
            b"1,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\xff\n",
            1 << 20,
        );
        assert_eq!(
            join_record(&r, b','),
            "1,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\u{fffd}"
        );
        let big = record(&[b'z'; 5000], 100);
        let joined = join_record(&big, b',');
        assert!(joined.ends_with('…'));
        assert!(joined.len() < 1100);
    }

    #[test]
    fn long_values_are_cut_in_reasons() {
        let reason = type_mismatch_reason("Int64", &"9".repeat(1000));
        assert!(reason.starts_with("expected Int64, found \"999"));
        assert!(reason.ends_with("…\""));
        assert!(reason.chars().count() < 110);
    }

    #[test]
    fn csv_and_json_lines_files_are_committed_atomically() {
        let dir = tempfile::tempdir().unwrap();
        for format in [QuarantineFormat::Csv, QuarantineFormat::JsonLines] {
            let path = dir.path().join(format!("q.{format}"));
            let mut sink = QuarantineSink::create(&path, format).unwrap();
            assert_eq!(sink.path(), path);
            sink.write(&row(3)).unwrap();
            sink.write(&row(9)).unwrap();
            assert!(!path.exists(), "nothing is visible before commit");
            sink.commit().unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            match format {
                QuarantineFormat::Csv => {
                    let mut rdr = csv::Reader::from_reader(text.as_bytes());
                    let headers = rdr.headers().unwrap().clone();
                    assert_eq!(
                        &headers,
                        vec!["file", "line", "column", "raw_value", "reason", "record"]
                    );
                    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
                    assert_eq!(rows.len(), 2);
                    assert_eq!(&rows[0][0], "data/in.csv");
                    assert_eq!(&rows[0][1], "3");
                    assert_eq!(&rows[0][3], "x,\"y\"");
                    assert_eq!(&rows[0][5], row(3).record);
                }
                QuarantineFormat::JsonLines => {
                    let rows: Vec<QuarantinedRow> = text
                        .lines()
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect();
                    assert_eq!(rows, [row(3), row(9)]);
                }
            }
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".mlrig-tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn an_uncommitted_sink_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.csv");
        let mut sink = QuarantineSink::create(&path, QuarantineFormat::Csv).unwrap();
        sink.write(&row(1)).unwrap();
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_the_file() {
        let e = QuarantineSink::create(
            Path::new("/nonexistent-dir-mlrig/q.csv"),
            QuarantineFormat::Csv,
        )
        .err()
        .unwrap();
        assert!(
            e.to_string().starts_with("/nonexistent-dir-mlrig/q.csv: "),
            "{e}"
        );
    }
}
