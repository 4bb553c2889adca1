//! Parallel CSV parsing ([`ReadOptions::with_threads`]): one thread reads and
//! splits records, the rayon pool types them, the caller's thread merges.
//!
//! ```text
//! reader thread: RecordSource (gunzip, record splitting: quote-free
//!                records by memchr, the rest by csv-core; header checks)
//!     ─▶ chunks of min(batch_size, CHUNK_RECORDS) records (never across
//!        files), numbered
//!     ─▶ one task per chunk on the reader's own rayon pool (at most
//!        ceil(batch_size / chunk) + 2 × threads chunks dispatched and not
//!        merged yet)
//! task: sample / check (split key too) / build Arrow arrays ─▶ results channel
//! caller: results in chunk order ─▶ BatchAssembler: counts, quarantine
//!     (same order as sequential), split (row numbers known in order),
//!     kept rows re-cut into batch_size batches (a slice, not a copy, when
//!     one chunk covers the batch)
//! ```
//!
//! Splitting records is inherently sequential (a quote changes the meaning
//! of every later newline), so it stays on one thread; it is the cheap part.
//! The expensive part (UTF-8 checks, number parsing, missing tokens, Arrow
//! builders) runs in parallel. Every decision depends only on a record and
//! its global position, so the output is the same as the sequential one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use mlrig_core::arrow_array::{RecordBatch, RecordBatchOptions};
use mlrig_core::arrow_schema::SchemaRef;

use crate::batch_assembler::{BatchAssembler, Rejection};
use crate::column_type::{Cell, ColumnBuilder, ColumnType, MissingTokens};
use crate::csv_source::{RecordSource, SourceItem};
use crate::quarantine::join_record;
use crate::record_check::{check_record, text_field};
use crate::record_reader::{CsvRecord, RawRecord, RecordBlock};
use crate::row_sampling::RowSampler;
use crate::{IngestError, ReadOptions};

/// Most records per chunk: large enough to amortize scheduling, small
/// enough to keep a few chunks per thread in memory. Smaller batches make
/// smaller chunks (`min(batch_size, CHUNK_RECORDS)`), so a chunk's rows
/// rarely span batches.
const CHUNK_RECORDS: usize = 8 * 1024;

/// Consecutive records of one file.
struct RecordChunk {
    /// Set on the first chunk of every file after the first.
    file_start: Option<PathBuf>,
    /// Global 0-based position of the first record (for sampling).
    first_index: u64,
    records: RecordBlock,
}

impl RecordChunk {
    fn new(file_start: Option<PathBuf>, first_index: u64, capacity: usize) -> Self {
        RecordChunk {
            file_start,
            first_index,
            records: RecordBlock::with_capacity(capacity),
        }
    }

    /// Whether it carries anything the merger must see.
    fn is_worth_sending(&self) -> bool {
        self.records.len() > 0 || self.file_start.is_some()
    }
}

/// What the workers need to know about the table.
struct ParseContext {
    schema: SchemaRef,
    names: Vec<String>,
    types: Vec<ColumnType>,
    missing: MissingTokens,
    sampler: Option<RowSampler>,
    /// The split key column (rows with a null key are quarantined).
    split_key: Option<usize>,
    delimiter: u8,
}

/// A chunk after typing.
struct ParsedChunk {
    file_start: Option<PathBuf>,
    rows: u64,
    sampled_out: u64,
    accepted: Result<RecordBatch, IngestError>,
    /// The starting line of every accepted row, in order.
    accepted_lines: Vec<u64>,
    /// Line, reason and rendered record of each quarantined row, in order.
    rejections: Vec<(u64, Rejection, String)>,
}

/// What the reader thread and the parse tasks report, numbered in input
/// order.
enum Message {
    Parsed(ParsedChunk),
    Failed(IngestError),
    End,
}

/// The parallel engine of a [`CsvReader`](crate::CsvReader).
pub(crate) struct ParallelCsv {
    results: Receiver<(u64, Message)>,
    /// One token per chunk dispatched and not merged yet; the reader thread
    /// blocks when all are taken, which bounds memory.
    slots: Receiver<()>,
    /// Messages that arrived ahead of their turn.
    waiting: BTreeMap<u64, Message>,
    next_seq: u64,
    input_done: bool,
}

impl ParallelCsv {
    /// Starts the reader thread over `source` and a pool of `threads` parse
    /// threads (0: one per available core).
    pub(crate) fn start(
        source: RecordSource,
        out: &BatchAssembler,
        options: &ReadOptions,
        threads: usize,
    ) -> Result<Self, IngestError> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let spawn_error =
            |e: String| IngestError::io(&out.summary().file, std::io::Error::other(e));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mlrig-csv-parse-{i}"))
            .build()
            .map_err(|e| spawn_error(e.to_string()))?;
        let context = Arc::new(ParseContext {
            schema: out.schema(),
            names: out.names().to_vec(),
            types: out.types().to_vec(),
            missing: out.missing().clone(),
            sampler: out.sampler(),
            split_key: out.split_key(),
            delimiter: options.csv_format().delimiter(),
        });
        let (results_sender, results) = channel();
        let chunk_records = options.batch_size().clamp(1, CHUNK_RECORDS);
        // The caller takes a batch only once all of its chunks are merged:
        // room for one batch's chunks plus two per thread keeps the pool
        // busy while the caller works on the previous batch.
        let batch_chunks = options.batch_size().div_ceil(chunk_records);
        let (slot_sender, slots) = sync_channel(batch_chunks + 2 * threads);
        std::thread::Builder::new()
            .name("mlrig-csv-reader".into())
            .spawn(move || {
                produce(
                    source,
                    chunk_records,
                    &pool,
                    &context,
                    &results_sender,
                    &slot_sender,
                );
            })
            .map_err(|e| spawn_error(e.to_string()))?;
        Ok(ParallelCsv {
            results,
            slots,
            waiting: BTreeMap::new(),
            next_seq: 0,
            input_done: false,
        })
    }

    /// The next batch of `batch_size` rows (fewer at the end), `None` when
    /// every record has been merged.
    pub(crate) fn next_batch(
        &mut self,
        out: &mut BatchAssembler,
    ) -> Result<Option<RecordBatch>, IngestError> {
        loop {
            if let Some(batch) = out.take_ready(false)? {
                return Ok(Some(batch));
            }
            if self.input_done {
                return out.take_ready(true);
            }
            let message = loop {
                if let Some(message) = self.waiting.remove(&self.next_seq) {
                    break message;
                }
                match self.results.recv() {
                    Ok((seq, message)) => {
                        self.waiting.insert(seq, message);
                    }
                    Err(_) => {
                        break Message::Failed(IngestError::io(
                            &out.summary().file,
                            std::io::Error::other("the CSV reader thread stopped unexpectedly"),
                        ));
                    }
                }
            };
            self.next_seq += 1;
            match message {
                Message::Parsed(chunk) => {
                    // Frees the chunk's slot for the reader thread.
                    let _ = self.slots.try_recv();
                    absorb(out, chunk)?;
                }
                Message::End => self.input_done = true,
                Message::Failed(e) => {
                    self.input_done = true;
                    return Err(e);
                }
            }
        }
    }
}

/// The reader thread: cuts the input into chunks and hands each to the pool,
/// until the input ends, an error occurs or the reader is dropped.
fn produce(
    mut source: RecordSource,
    chunk_records: usize,
    pool: &rayon::ThreadPool,
    context: &Arc<ParseContext>,
    results: &Sender<(u64, Message)>,
    slots: &SyncSender<()>,
) {
    let mut seq: u64 = 0;
    let mut dispatch = |chunk: RecordChunk| -> bool {
        if slots.send(()).is_err() {
            return false;
        }
        let (context, results) = (Arc::clone(context), results.clone());
        let this = seq;
        seq += 1;
        pool.spawn(move || {
            let parsed = parse_chunk(chunk, &context);
            let _ = results.send((this, Message::Parsed(parsed)));
        });
        true
    };
    let mut index: u64 = 0;
    let mut chunk = RecordChunk::new(None, 0, chunk_records);
    let mut record = RawRecord::default();
    let last = loop {
        match source.next(&mut record) {
            Ok(SourceItem::Record) => {
                chunk.records.push(&record);
                index += 1;
                if chunk.records.len() >= chunk_records {
                    // The next chunk starts with the room this one needed
                    // (records are alike): no growing by copies.
                    let next = RecordChunk {
                        file_start: None,
                        first_index: index,
                        records: RecordBlock::with_room_of(&chunk.records),
                    };
                    let full = std::mem::replace(&mut chunk, next);
                    if !dispatch(full) {
                        return;
                    }
                }
            }
            Ok(SourceItem::NewFile(path)) => {
                let done = std::mem::replace(
                    &mut chunk,
                    RecordChunk::new(Some(path), index, chunk_records),
                );
                if done.is_worth_sending() && !dispatch(done) {
                    return;
                }
            }
            Ok(SourceItem::End) => break Message::End,
            Err(e) => break Message::Failed(e),
        }
    };
    if chunk.is_worth_sending() && !dispatch(chunk) {
        return;
    }
    let _ = results.send((seq, last));
}

/// Samples, checks and builds one chunk (on a rayon thread): column by
/// column when every record is well-formed text and every value fits its
/// type ([`parse_chunk_by_columns`]), else record by record.
fn parse_chunk(chunk: RecordChunk, context: &ParseContext) -> ParsedChunk {
    match parse_chunk_by_columns(&chunk, context) {
        Some(parsed) => parsed,
        None => parse_chunk_by_records(chunk, context),
    }
}

/// The fast path of [`parse_chunk`] for a chunk that quarantines nothing:
/// after one pass over the records (sampling, width, size, text), each
/// column is parsed and appended in its own loop, with the type known
/// outside the loop. `None` as soon as anything would be quarantined (or a
/// field is not text on its own): the chunk then goes record by record,
/// which names the first bad field exactly as before.
///
/// The output is the record-by-record output: the same cells (each value
/// goes through [`ColumnType::parse`]) appended to the same builders in
/// the same order, only column after column instead of row after row.
fn parse_chunk_by_columns(chunk: &RecordChunk, context: &ParseContext) -> Option<ParsedChunk> {
    let block = &chunk.records;
    let text = block.text()?;
    let width = context.names.len();
    let mut rows = Vec::with_capacity(block.len());
    let mut sampled_out = 0;
    for k in 0..block.len() {
        if context
            .sampler
            .is_some_and(|s| !s.keeps(chunk.first_index + k as u64))
        {
            sampled_out += 1;
            continue;
        }
        if !block.is_plain(k, width, text) {
            return None;
        }
        rows.push(k);
    }
    let mut columns = Vec::with_capacity(width);
    for (i, &column_type) in context.types.iter().enumerate() {
        let mut builder = ColumnBuilder::new(column_type, rows.len());
        let nullable = context.split_key != Some(i);
        let values = rows.iter().map(|&k| block.plain_field(text, k, i));
        let complete = builder.append_column(column_type, values, &context.missing, nullable);
        if !complete {
            return None;
        }
        columns.push(builder.finish());
    }
    let accepted = RecordBatch::try_new_with_options(
        Arc::clone(&context.schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )
    .map_err(|e| IngestError::from(mlrig_core::Error::from(e)));
    Some(ParsedChunk {
        file_start: chunk.file_start.clone(),
        rows: block.len() as u64,
        sampled_out,
        accepted,
        accepted_lines: rows.iter().map(|&k| block.line(k)).collect(),
        rejections: Vec::new(),
    })
}

/// [`parse_chunk`] record by record: each record checked whole, then
/// appended or quarantined.
fn parse_chunk_by_records(chunk: RecordChunk, context: &ParseContext) -> ParsedChunk {
    let mut builders: Vec<ColumnBuilder> = context
        .types
        .iter()
        .map(|&t| ColumnBuilder::new(t, chunk.records.len()))
        .collect();
    let mut cells = Vec::with_capacity(context.names.len());
    let mut accepted = 0;
    let mut accepted_lines = Vec::with_capacity(chunk.records.len());
    let mut sampled_out = 0;
    let mut rejections = Vec::new();
    for (k, record) in chunk.records.records().enumerate() {
        let index = chunk.first_index + k as u64;
        if context.sampler.is_some_and(|s| !s.keeps(index)) {
            sampled_out += 1;
            continue;
        }
        match check_record(
            &record,
            &context.names,
            &context.types,
            &context.missing,
            context.split_key,
            &mut cells,
        ) {
            Ok(text) => {
                for (i, (builder, &cell)) in builders.iter_mut().zip(&cells).enumerate() {
                    // Only text cells read their field.
                    let value = if cell == Cell::Text {
                        text_field(&record, text, i)
                    } else {
                        ""
                    };
                    builder.append(cell, value);
                }
                accepted += 1;
                accepted_lines.push(record.line());
            }
            Err(rejection) => rejections.push((
                record.line(),
                rejection,
                join_record(&record, context.delimiter),
            )),
        }
    }
    let columns = builders.iter_mut().map(ColumnBuilder::finish).collect();
    let accepted = RecordBatch::try_new_with_options(
        Arc::clone(&context.schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(accepted)),
    )
    .map_err(|e| IngestError::from(mlrig_core::Error::from(e)));
    ParsedChunk {
        file_start: chunk.file_start,
        rows: chunk.records.len() as u64,
        sampled_out,
        accepted,
        accepted_lines,
        rejections,
    }
}

/// Merges one parsed chunk into the counts, the quarantine and the batches.
fn absorb(out: &mut BatchAssembler, chunk: ParsedChunk) -> Result<(), IngestError> {
    if let Some(path) = &chunk.file_start {
        out.start_file(path);
    }
    out.count_read(chunk.rows, chunk.sampled_out);
    for (line, rejection, record) in chunk.rejections {
        out.quarantine(line, rejection, || record)?;
    }
    out.accept_batch(chunk.accepted?, &chunk.accepted_lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_reader::RecordReader;
    use mlrig_core::arrow_schema::{Field, Schema};
    use proptest::prelude::*;
    use std::path::Path;

    const TYPES: [ColumnType; 4] = [
        ColumnType::Boolean,
        ColumnType::Int64,
        ColumnType::Float64,
        ColumnType::Utf8,
    ];

    fn chunk_of(input: &[u8], first_index: u64) -> RecordChunk {
        let mut reader = RecordReader::new(
            Box::new(std::io::Cursor::new(input.to_vec())),
            Path::new("p.csv"),
            b',',
            64,
        );
        let mut chunk = RecordChunk::new(None, first_index, 8);
        let mut record = RawRecord::default();
        while reader.read(&mut record).unwrap() {
            chunk.records.push(&record);
        }
        chunk
    }

    fn context(types: &[usize], sampled: bool, split_key: Option<usize>) -> ParseContext {
        let types: Vec<ColumnType> = types.iter().map(|&t| TYPES[t]).collect();
        let names: Vec<String> = (0..types.len()).map(|i| format!("c{i}")).collect();
        let fields: Vec<Field> = names
            .iter()
            .zip(&types)
            .map(|(n, t)| Field::new(n, t.data_type(), true))
            .collect();
        ParseContext {
            schema: Arc::new(Schema::new(fields)),
            names,
            types,
            missing: MissingTokens::new(&crate::DEFAULT_MISSING_TOKENS.map(String::from)),
            sampler: sampled.then(|| RowSampler::new(0.5, 7)),
            split_key,
            delimiter: b',',
        }
    }

    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("NA".to_string()),
            Just(" true ".to_string()),
            Just("FALSE".to_string()),
            "-?[0-9]{1,20}",
            "[+-]?[0-9]{0,4}\\.[0-9]{0,8}",
            "-?[0-9]\\.[0-9]{1,3}e-?[0-9]{1,3}",
            "[ a-z0-9é\"]{0,6}",
            Just("\u{fffd}".to_string()),
        ]
    }

    proptest! {
        /// The column-by-column path, when it applies, gives what the
        /// record-by-record path gives; it applies whenever nothing is
        /// quarantined.
        #[test]
        fn columns_equal_records(
            types in prop::collection::vec(0usize..4, 1..5),
            rows in prop::collection::vec(prop::collection::vec(field(), 1..6), 0..12),
            sampled in any::<bool>(),
            split_key in prop::option::of(0usize..5),
            first_index in 0u64..100,
        ) {
            let text: String = rows.iter().map(|r| r.join(",") + "\n").collect();
            let context = context(&types, sampled, split_key.filter(|&k| k < types.len()));
            let by_records = parse_chunk_by_records(chunk_of(text.as_bytes(), first_index), &context);
            match parse_chunk_by_columns(&chunk_of(text.as_bytes(), first_index), &context) {
                Some(by_columns) => {
                    prop_assert_eq!(by_columns.rows, by_records.rows);
                    prop_assert_eq!(by_columns.sampled_out, by_records.sampled_out);
                    prop_assert_eq!(&by_columns.accepted_lines, &by_records.accepted_lines);
                    prop_assert!(by_columns.rejections.is_empty() && by_records.rejections.is_empty());
                    prop_assert_eq!(by_columns.accepted.unwrap(), by_records.accepted.unwrap());
                }
                None => prop_assert!(!by_records.rejections.is_empty()),
            }
        }
    }
}
