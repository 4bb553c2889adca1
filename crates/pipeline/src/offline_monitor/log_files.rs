//! Reading request log files (`mlrig serve --request-log`) entry by entry:
//! JSON Lines (`.jsonl`, optionally gzip-compressed `.jsonl.gz`) and
//! Parquet (`.parquet`), as `mlrig_serve::RequestLogEntry` writes them.
//! Nothing is held beyond the entry being handed over.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{TimestampMillisecondType, UInt64Type};
use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_serve::RequestLogEntry;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::PipelineError;

/// One logged request, as the monitor uses it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoggedRequest {
    /// Unix time in milliseconds.
    pub(crate) unix_millis: i64,
    pub(crate) request_id: String,
    pub(crate) model: String,
    pub(crate) version: u64,
    pub(crate) inputs: Vec<Value>,
    pub(crate) outputs: Vec<Value>,
}

impl From<RequestLogEntry> for LoggedRequest {
    fn from(entry: RequestLogEntry) -> Self {
        let unix_millis = match entry.timestamp.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        LoggedRequest {
            unix_millis,
            request_id: entry.request_id,
            model: entry.model,
            version: entry.version,
            inputs: entry.inputs,
            outputs: entry.outputs,
        }
    }
}

/// What a log file yields: a request, or a line/row that is not one.
#[derive(Debug)]
pub(crate) enum LogItem {
    Request(LoggedRequest),
    Unreadable {
        file: PathBuf,
        /// 1-based line (JSON Lines) or row (Parquet).
        line: u64,
        reason: String,
    },
}

/// Calls `visit` with every item of `file` in file order.
pub(crate) fn read_log_file(
    file: &Path,
    visit: &mut dyn FnMut(LogItem) -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(".parquet") {
        read_parquet(file, visit)
    } else {
        read_jsonl(file, name.ends_with(".gz"), visit)
    }
}

fn read_jsonl(
    file: &Path,
    gzip: bool,
    visit: &mut dyn FnMut(LogItem) -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let opened = File::open(file).map_err(|e| mlrig_core::Error::io(file, e))?;
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(opened))
    } else {
        Box::new(opened)
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| mlrig_core::Error::io(file, e))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        // A line that is not UTF-8 is one unreadable line, not the end of the file.
        let parsed = std::str::from_utf8(&line)
            .map_err(|e| format!("not UTF-8 text: {e}"))
            .and_then(|text| {
                serde_json::from_str::<RequestLogEntry>(text)
                    .map_err(|e| format!("not a request log entry: {e}"))
            });
        let item = match parsed {
            Ok(entry) => LogItem::Request(entry.into()),
            Err(reason) => LogItem::Unreadable {
                file: file.to_path_buf(),
                line: number,
                reason,
            },
        };
        visit(item)?;
    }
}

fn read_parquet(
    file: &Path,
    visit: &mut dyn FnMut(LogItem) -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let invalid = |reason: String| PipelineError::InvalidRequestLog {
        path: file.to_path_buf(),
        reason,
    };
    let opened = File::open(file).map_err(|e| mlrig_core::Error::io(file, e))?;
    let mut reader = without_panics(|| {
        ParquetRecordBatchReaderBuilder::try_new(opened)
            .and_then(|b| b.with_batch_size(1024).build())
    })
    .map_err(&invalid)?
    .map_err(|e| invalid(e.to_string()))?;
    let mut row = 0u64;
    while let Some(batch) = without_panics(|| reader.next()).map_err(&invalid)? {
        let batch = batch.map_err(|e| invalid(e.to_string()))?;
        let columns = ParquetColumns::of(&batch).map_err(invalid)?;
        for i in 0..batch.num_rows() {
            row += 1;
            let item = match columns.request(i) {
                Ok(request) => LogItem::Request(request),
                Err(reason) => LogItem::Unreadable {
                    file: file.to_path_buf(),
                    line: row,
                    reason,
                },
            };
            visit(item)?;
        }
    }
    Ok(())
}

/// Runs a call into the `parquet` decoder, which asserts on some corrupt
/// page and level data instead of returning an error: the panic becomes
/// the reason of an [`PipelineError::InvalidRequestLog`].
fn without_panics<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    mlrig_core::catch_panic(call)
        .map_err(|message| format!("corrupt Parquet data (the decoder failed: {message})"))
}

/// The columns of a Parquet request log batch, typed.
struct ParquetColumns<'a> {
    timestamp: &'a mlrig_core::arrow_array::PrimitiveArray<TimestampMillisecondType>,
    request_id: &'a mlrig_core::arrow_array::StringArray,
    model: &'a mlrig_core::arrow_array::StringArray,
    version: &'a mlrig_core::arrow_array::PrimitiveArray<UInt64Type>,
    inputs: &'a mlrig_core::arrow_array::StringArray,
    outputs: &'a mlrig_core::arrow_array::StringArray,
}

impl<'a> ParquetColumns<'a> {
    fn of(batch: &'a RecordBatch) -> Result<Self, String> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| format!("no `{name}` column; not a request log file"))
        };
        let string = |name: &str| {
            column(name)?
                .as_string_opt::<i32>()
                .ok_or_else(|| format!("column `{name}` is not text"))
        };
        Ok(ParquetColumns {
            timestamp: column("timestamp")?
                .as_primitive_opt::<TimestampMillisecondType>()
                .ok_or("column `timestamp` is not a millisecond timestamp")?,
            request_id: string("request_id")?,
            model: string("model")?,
            version: column("version")?
                .as_primitive_opt::<UInt64Type>()
                .ok_or("column `version` is not an unsigned integer")?,
            inputs: string("inputs")?,
            outputs: string("outputs")?,
        })
    }

    fn request(&self, i: usize) -> Result<LoggedRequest, String> {
        let nulls = [
            self.timestamp.is_null(i),
            self.request_id.is_null(i),
            self.model.is_null(i),
            self.version.is_null(i),
            self.inputs.is_null(i),
            self.outputs.is_null(i),
        ];
        if nulls.iter().any(|&n| n) {
            return Err("a required column is null".into());
        }
        let list = |text: &str, what: &str| -> Result<Vec<Value>, String> {
            serde_json::from_str(text).map_err(|e| format!("`{what}` is not a JSON array: {e}"))
        };
        Ok(LoggedRequest {
            unix_millis: self.timestamp.value(i),
            request_id: self.request_id.value(i).to_string(),
            model: self.model.value(i).to_string(),
            version: self.version.value(i),
            inputs: list(self.inputs.value(i), "inputs")?,
            outputs: list(self.outputs.value(i), "outputs")?,
        })
    }
}
