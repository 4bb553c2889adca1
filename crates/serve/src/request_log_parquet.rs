//! The Parquet sink of the request log (feature `parquet`): entries are
//! buffered into Arrow batches of up to [`BATCH_ROWS`] rows and written
//! with parquet's `ArrowWriter` to a file that is renamed into place when
//! finished.

use std::sync::Arc;

use mlrig_core::AtomicFile;
use mlrig_core::arrow_array::builder::{StringBuilder, TimestampMillisecondBuilder, UInt64Builder};
use mlrig_core::arrow_array::{ArrayRef, RecordBatch};
use mlrig_core::arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::request_log::RequestLogEntry;

/// Entries buffered before they are handed to the Parquet writer.
const BATCH_ROWS: usize = 1024;
/// ... or this many bytes of their text, whichever comes first, so large
/// requests do not pile up in memory.
const BATCH_BYTES: u64 = 8 << 20;

/// The schema of a Parquet request log file.
pub(crate) fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("request_id", DataType::Utf8, false),
        Field::new("model", DataType::Utf8, false),
        Field::new("version", DataType::UInt64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("inputs", DataType::Utf8, false),
        Field::new("outputs", DataType::Utf8, false),
    ]))
}

/// The Unix time of an entry in milliseconds.
fn unix_millis(entry: &RequestLogEntry) -> i64 {
    entry
        .timestamp
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) struct ParquetSink {
    writer: ArrowWriter<AtomicFile>,
    schema: SchemaRef,
    pending: Vec<PendingRow>,
    /// Size of the text of `pending`, for rotation by size.
    pending_bytes: u64,
}

/// An entry as the columns hold it (`inputs` and `outputs` already JSON text).
struct PendingRow {
    millis: i64,
    request_id: String,
    model: String,
    version: u64,
    source: String,
    inputs: String,
    outputs: String,
}

impl ParquetSink {
    pub(crate) fn new(file: AtomicFile) -> Result<Self, String> {
        let schema = schema();
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
            .map_err(|e| e.to_string())?;
        Ok(ParquetSink {
            writer,
            schema,
            pending: Vec::with_capacity(BATCH_ROWS),
            pending_bytes: 0,
        })
    }

    /// Bytes written, in the writer's buffers and pending (an estimate
    /// before compression, so a file ends at most about this large).
    pub(crate) fn bytes(&self) -> u64 {
        (self.writer.bytes_written() + self.writer.in_progress_size()) as u64 + self.pending_bytes
    }

    pub(crate) fn append(&mut self, entry: &RequestLogEntry) -> Result<(), String> {
        let row = PendingRow {
            millis: unix_millis(entry),
            request_id: entry.request_id.clone(),
            model: entry.model.clone(),
            version: entry.version,
            source: entry.source.clone(),
            inputs: serde_json::to_string(&entry.inputs).map_err(|e| e.to_string())?,
            outputs: serde_json::to_string(&entry.outputs).map_err(|e| e.to_string())?,
        };
        self.pending_bytes += (row.request_id.len()
            + row.model.len()
            + row.source.len()
            + row.inputs.len()
            + row.outputs.len()
            + 16) as u64;
        self.pending.push(row);
        if self.pending.len() >= BATCH_ROWS || self.pending_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let n = self.pending.len();
        let mut timestamp = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut request_id = StringBuilder::new();
        let mut model = StringBuilder::new();
        let mut version = UInt64Builder::with_capacity(n);
        let mut source = StringBuilder::new();
        let mut inputs = StringBuilder::new();
        let mut outputs = StringBuilder::new();
        for row in self.pending.drain(..) {
            timestamp.append_value(row.millis);
            request_id.append_value(&row.request_id);
            model.append_value(&row.model);
            version.append_value(row.version);
            source.append_value(&row.source);
            inputs.append_value(&row.inputs);
            outputs.append_value(&row.outputs);
        }
        self.pending_bytes = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(timestamp.finish()),
            Arc::new(request_id.finish()),
            Arc::new(model.finish()),
            Arc::new(version.finish()),
            Arc::new(source.finish()),
            Arc::new(inputs.finish()),
            Arc::new(outputs.finish()),
        ];
        let batch =
            RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| e.to_string())?;
        self.writer.write(&batch).map_err(|e| e.to_string())
    }

    pub(crate) fn commit(mut self) -> Result<(), String> {
        self.flush()?;
        self.writer
            .into_inner()
            .map_err(|e| e.to_string())?
            .commit()
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use mlrig_core::arrow_array::cast::AsArray;
    use mlrig_core::arrow_array::types::{TimestampMillisecondType, UInt64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use serde_json::{Value, json};

    use crate::{RequestLog, RequestLogConfig, RequestLogEntry, RequestLogFormat};

    #[test]
    fn parquet_entries_read_back_with_the_parquet_crate() {
        let dir = tempfile::tempdir().unwrap();
        let config = RequestLogConfig::new(dir.path()).with_format(RequestLogFormat::Parquet);
        let log = RequestLog::start(&config).unwrap();
        let mut entries = Vec::new();
        for i in 0..1500u64 {
            let mut e = RequestLogEntry::new(
                &format!("r{i}"),
                "price",
                2,
                "model",
                vec![json!({"x": i})],
                vec![json!({"prediction": i as f64 * 0.5, "source": "model"})],
            );
            e.timestamp = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + i);
            entries.push(e.clone());
            log.submit(e);
        }
        log.close();
        assert_eq!(log.counters().written(), 1500);
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().unwrap(), "parquet");
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&files[0]).unwrap())
                .unwrap()
                .build()
                .unwrap();
        let mut row = 0;
        for batch in reader {
            let batch = batch.unwrap();
            let time = batch.column(0).as_primitive::<TimestampMillisecondType>();
            let id = batch.column(1).as_string::<i32>();
            let version = batch.column(3).as_primitive::<UInt64Type>();
            let inputs = batch.column(5).as_string::<i32>();
            let outputs = batch.column(6).as_string::<i32>();
            for i in 0..batch.num_rows() {
                let e = &entries[row];
                assert_eq!(time.value(i), 1_700_000_000_000 + row as i64);
                assert_eq!(id.value(i), e.request_id);
                assert_eq!(version.value(i), 2);
                let back: Vec<Value> = serde_json::from_str(inputs.value(i)).unwrap();
                assert_eq!(back, e.inputs);
                let back: Vec<Value> = serde_json::from_str(outputs.value(i)).unwrap();
                assert_eq!(back, e.outputs);
                row += 1;
            }
        }
        assert_eq!(row, 1500);
    }

    #[test]
    fn large_entries_count_toward_the_file_size() {
        let dir = tempfile::tempdir().unwrap();
        let config = RequestLogConfig::new(dir.path())
            .with_format(RequestLogFormat::Parquet)
            .with_rotation(20_000, u64::MAX, Duration::from_secs(3600))
            .with_max_files(0);
        let log = RequestLog::start(&config).unwrap();
        for i in 0..50 {
            let text: String = (0..1000)
                .map(|j| char::from(b'a' + ((i + j) % 26) as u8))
                .collect();
            log.submit(RequestLogEntry::new(
                &format!("r{i}"),
                "m",
                1,
                "model",
                vec![json!({ "text": text })],
                vec![json!({"prediction": 1.0, "source": "model"})],
            ));
        }
        log.close();
        assert_eq!(log.counters().written(), 50);
        // About 50 kB of inputs in files of at most about 20 kB.
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(files >= 3, "{files} files");
    }
}
