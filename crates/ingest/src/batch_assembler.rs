//! [`BatchAssembler`]: the format-independent end of every reader. Rows come
//! in already split into fields; each is sampled out, quarantined, split off
//! or appended to the Arrow builders, and full builders become a batch. It
//! owns the counts, so every reader keeps the same guarantees.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use arrow_select::concat::concat_batches;
use std::sync::Arc;

use mlrig_core::arrow_array::{BooleanArray, RecordBatch, RecordBatchOptions};
use mlrig_core::arrow_schema::{Field, Schema, SchemaRef};

use crate::column_type::{Cell, ColumnBuilder, ColumnType, MissingTokens};
use crate::quarantine::{QuarantineSink, QuarantinedRow};
use crate::report::{FileSummary, IngestReport, IngestSummary};
use crate::row_origin::{RowOrigin, RowOrigins};
use crate::row_sampling::RowSampler;
use crate::split::RowSplit;
use crate::{FileSet, IngestError, ReadOptions};

/// Why a row is quarantined, with where in the row.
#[derive(Debug)]
pub(crate) struct Rejection {
    /// The offending column, `None` for the row as a whole.
    pub(crate) column: Option<String>,
    /// The offending value.
    pub(crate) raw_value: Option<String>,
    /// The reason.
    pub(crate) reason: String,
}

impl Rejection {
    /// A problem with the whole row.
    pub(crate) fn row(reason: String) -> Self {
        Rejection {
            column: None,
            raw_value: None,
            reason,
        }
    }

    /// A problem with one value.
    pub(crate) fn value(column: &str, raw_value: String, reason: String) -> Self {
        Rejection {
            column: Some(column.to_string()),
            raw_value: Some(raw_value),
            reason,
        }
    }
}

/// Builds batches from accepted rows and keeps every count.
pub(crate) struct BatchAssembler {
    schema: SchemaRef,
    names: Vec<String>,
    types: Vec<ColumnType>,
    missing: MissingTokens,
    builders: Vec<ColumnBuilder>,
    rows_in_batch: usize,
    batch_size: usize,
    summary: IngestSummary,
    /// Lossy display of the current file, for quarantined rows.
    current_file: String,
    kept: Vec<QuarantinedRow>,
    keep: usize,
    sink: Option<QuarantineSink>,
    sampler: Option<RowSampler>,
    /// The train/eval split, resolved against the schema.
    split: Option<RowSplit>,
    /// Accepted rows built elsewhere (parallel parsing), not yet in a batch.
    ready: VecDeque<RecordBatch>,
    ready_rows: usize,
    /// Index of the current file among the inputs (files started − 1).
    file_index: u32,
    /// Whether a file was started yet.
    file_started: bool,
    /// Origins of the rows in the builders (sequential parsing).
    building_origins: RowOrigins,
    /// Origins of the `ready` rows (parallel parsing).
    ready_origins: RowOrigins,
    /// Origins of the rows of the last batch returned.
    last_origins: RowOrigins,
}

impl BatchAssembler {
    /// An assembler for columns `names` of `types`; creates the quarantine
    /// file if `options` asks for one. `first_file` names the input.
    pub(crate) fn new(
        names: Vec<String>,
        types: Vec<ColumnType>,
        options: &ReadOptions,
        first_file: &Path,
    ) -> Result<Self, IngestError> {
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
        let sink = match options.quarantine().file() {
            Some((quarantine, format)) => Some(QuarantineSink::create(quarantine, format)?),
            None => None,
        };
        let split = match options.split() {
            Some(split) => Some(RowSplit::resolve(
                split,
                schema
                    .fields()
                    .iter()
                    .map(|f| (f.name().as_str(), f.data_type())),
                first_file,
            )?),
            None => None,
        };
        let summary = IngestSummary::new(
            first_file,
            names.len(),
            sink.as_ref().map(|s| s.path().to_path_buf()),
        );
        Ok(BatchAssembler {
            schema,
            names,
            types,
            missing: MissingTokens::new(options.inference().missing_tokens()),
            builders,
            rows_in_batch: 0,
            batch_size,
            summary,
            current_file: String::new(),
            kept: Vec::new(),
            keep: options.quarantine().keep(),
            sink,
            sampler: options.sample().map(|(f, seed)| RowSampler::new(f, seed)),
            split,
            ready: VecDeque::new(),
            ready_rows: 0,
            file_index: 0,
            file_started: false,
            building_origins: RowOrigins::new(),
            ready_origins: RowOrigins::new(),
            last_origins: RowOrigins::new(),
        })
    }

    pub(crate) fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn types(&self) -> &[ColumnType] {
        &self.types
    }

    pub(crate) fn missing(&self) -> &MissingTokens {
        &self.missing
    }

    pub(crate) fn sampler(&self) -> Option<RowSampler> {
        self.sampler
    }

    /// The index of the split key column: rows whose key is null must be
    /// quarantined before they are accepted.
    pub(crate) fn split_key(&self) -> Option<usize> {
        self.split.as_ref().and_then(RowSplit::key_index)
    }

    pub(crate) fn summary(&self) -> &IngestSummary {
        &self.summary
    }

    pub(crate) fn quarantined(&self) -> &[QuarantinedRow] {
        &self.kept
    }

    /// Where the rows of the last batch returned come from.
    pub(crate) fn last_origins(&self) -> &RowOrigins {
        &self.last_origins
    }

    /// Rows from now on come from `file`.
    pub(crate) fn start_file(&mut self, file: &Path) {
        self.current_file = file.to_string_lossy().into_owned();
        self.summary.files.push(FileSummary::new(file));
        if self.file_started {
            self.file_index = self.file_index.saturating_add(1);
        }
        self.file_started = true;
    }

    fn file_summary(&mut self) -> Option<&mut FileSummary> {
        self.summary.files.last_mut()
    }

    /// Counts one row read; `false` when sampling leaves it out (it is then
    /// fully accounted for and must not be processed).
    pub(crate) fn admit(&mut self) -> bool {
        let index = self.summary.rows_read;
        self.summary.rows_read += 1;
        let kept = self.sampler.is_none_or(|s| s.keeps(index));
        if !kept {
            self.summary.rows_sampled_out += 1;
        }
        if let Some(f) = self.file_summary() {
            f.rows_read += 1;
            if !kept {
                f.rows_sampled_out += 1;
            }
        }
        kept
    }

    /// Whether the batch under construction is full.
    pub(crate) fn is_full(&self) -> bool {
        self.rows_in_batch >= self.batch_size
    }

    /// Accepts an admitted row starting on `line` whose values were all
    /// checked (and whose split key is not null); `text(i)` is the value of
    /// column `i` for [`Cell::Text`] cells. The row is appended to the
    /// builders unless the split sends it to the other side.
    pub(crate) fn accept<'a>(
        &mut self,
        line: u64,
        cells: &[Cell],
        text: impl Fn(usize) -> &'a str,
    ) {
        let row_number = self.summary.rows_accepted;
        self.summary.rows_accepted += 1;
        if let Some(f) = self.file_summary() {
            f.rows_accepted += 1;
        }
        if let Some(split) = &self.split {
            let key = split.key_index().map(|k| match cells.get(k) {
                Some(Cell::Int(v)) => std::borrow::Cow::Owned(v.to_string()),
                // Text: the stored value. Other cells cannot occur: the key
                // column is Int64 or Utf8 and null keys were quarantined.
                _ => std::borrow::Cow::Borrowed(text(k)),
            });
            if !split.keeps_row(row_number, key.as_deref()) {
                self.count_split_off(1);
                return;
            }
        }
        for (i, (builder, &cell)) in self.builders.iter_mut().zip(cells).enumerate() {
            let value = if cell == Cell::Text { text(i) } else { "" };
            builder.append(cell, value);
        }
        self.rows_in_batch += 1;
        self.building_origins.push(RowOrigin {
            file_index: self.file_index,
            line,
        });
    }

    fn count_split_off(&mut self, rows: u64) {
        self.summary.rows_split_off += rows;
        if let Some(f) = self.file_summary() {
            f.rows_split_off += rows;
        }
    }

    /// Quarantines an admitted row that starts on `line`; `record` renders
    /// the whole row (only called when the row is kept or written).
    pub(crate) fn quarantine(
        &mut self,
        line: u64,
        rejection: Rejection,
        record: impl FnOnce() -> String,
    ) -> Result<(), IngestError> {
        self.summary.rows_quarantined += 1;
        if let Some(f) = self.file_summary() {
            f.rows_quarantined += 1;
        }
        if self.sink.is_none() && self.kept.len() >= self.keep {
            return Ok(());
        }
        let row = QuarantinedRow {
            file: self.current_file.clone(),
            line,
            column: rejection.column,
            raw_value: rejection.raw_value,
            reason: rejection.reason,
            record: record(),
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

    /// The rows accepted since the last batch as a batch, if there are any.
    pub(crate) fn flush(&mut self) -> Result<Option<RecordBatch>, IngestError> {
        if self.rows_in_batch == 0 {
            return Ok(None);
        }
        let columns = self
            .builders
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect();
        // The row count is explicit so that a table without columns (JSON
        // objects with no known key) still has rows.
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(self.rows_in_batch)),
        )
        .map_err(mlrig_core::Error::from)?;
        self.rows_in_batch = 0;
        std::mem::swap(&mut self.last_origins, &mut self.building_origins);
        self.building_origins.clear();
        self.summary.batches += 1;
        Ok(Some(batch))
    }

    /// Counts `read` rows parsed elsewhere, `sampled_out` of them left out by
    /// sampling (the others are then quarantined or accepted).
    pub(crate) fn count_read(&mut self, read: u64, sampled_out: u64) {
        self.summary.rows_read += read;
        self.summary.rows_sampled_out += sampled_out;
        if let Some(f) = self.file_summary() {
            f.rows_read += read;
            f.rows_sampled_out += sampled_out;
        }
    }

    /// Accepts rows already built into a batch elsewhere (checked, split
    /// keys not null), starting on `lines` of the current file; the rows the
    /// split keeps leave in batches of `batch_size` rows through
    /// [`BatchAssembler::take_ready`].
    pub(crate) fn accept_batch(
        &mut self,
        batch: RecordBatch,
        lines: &[u64],
    ) -> Result<(), IngestError> {
        let (batch, mask) = self.accept_rows(batch)?;
        let lines = match mask {
            Some(mask) => std::borrow::Cow::Owned(
                lines
                    .iter()
                    .zip(mask.values().iter())
                    .filter_map(|(&line, keep)| keep.then_some(line))
                    .collect(),
            ),
            None => std::borrow::Cow::Borrowed(lines),
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.ready_origins.extend_lines(self.file_index, &lines);
        self.ready_rows += batch.num_rows();
        self.ready.push_back(batch);
        Ok(())
    }

    /// Counts the rows of `batch` (built elsewhere: checked, split keys not
    /// null) as accepted and applies the split: returns the rows it keeps,
    /// and the mask that chose them (`None` when every row is kept).
    pub(crate) fn accept_rows(
        &mut self,
        batch: RecordBatch,
    ) -> Result<(RecordBatch, Option<BooleanArray>), IngestError> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok((batch, None));
        }
        let first_row = self.summary.rows_accepted;
        self.summary.rows_accepted += rows as u64;
        if let Some(f) = self.file_summary() {
            f.rows_accepted += rows as u64;
        }
        let mask = match &self.split {
            Some(split) => split.keep_mask(&batch, first_row)?,
            None => None,
        };
        match mask {
            Some(mask) => {
                let kept = arrow_select::filter::filter_record_batch(&batch, &mask)
                    .map_err(mlrig_core::Error::from)?;
                self.count_split_off((rows - kept.num_rows()) as u64);
                Ok((kept, Some(mask)))
            }
            None => Ok((batch, None)),
        }
    }

    /// Counts a batch handed out as it is (not through this assembler's
    /// builders or [`BatchAssembler::take_ready`]).
    #[cfg(feature = "parquet")]
    pub(crate) fn count_batch(&mut self) {
        self.summary.batches += 1;
    }

    /// The next batch of `batch_size` rows from [`BatchAssembler::accept_batch`]
    /// rows, or (when `last`) the remaining rows.
    pub(crate) fn take_ready(&mut self, last: bool) -> Result<Option<RecordBatch>, IngestError> {
        if self.ready_rows == 0 || (!last && self.ready_rows < self.batch_size) {
            return Ok(None);
        }
        let rows = self.ready_rows.min(self.batch_size);
        let batch = match self.ready.pop_front() {
            // The front piece covers the batch (chunks line up with batches
            // unless rows were quarantined, sampled or split off): a slice,
            // no copy.
            Some(front) if front.num_rows() >= rows => {
                let n = front.num_rows();
                if n > rows {
                    self.ready.push_front(front.slice(rows, n - rows));
                    front.slice(0, rows)
                } else {
                    front
                }
            }
            front => {
                if let Some(front) = front {
                    self.ready.push_front(front);
                }
                self.concat_front(rows)?
            }
        };
        self.ready_origins
            .move_front_into(rows, &mut self.last_origins);
        self.ready_rows -= rows;
        self.summary.batches += 1;
        Ok(Some(batch))
    }

    /// The first `rows` ready rows as one batch, copied out of the pieces
    /// they span.
    fn concat_front(&mut self, rows: usize) -> Result<RecordBatch, IngestError> {
        let mut parts = Vec::new();
        let mut needed = rows;
        while needed > 0 {
            let Some(piece) = self.ready.pop_front() else {
                break;
            };
            let n = piece.num_rows();
            if n <= needed {
                needed -= n;
                parts.push(piece);
            } else {
                parts.push(piece.slice(0, needed));
                self.ready.push_front(piece.slice(needed, n - needed));
                needed = 0;
            }
        }
        Ok(concat_batches(&self.schema, &parts).map_err(mlrig_core::Error::from)?)
    }

    /// Commits the quarantine file and returns the report.
    pub(crate) fn finish(mut self) -> Result<IngestReport, IngestError> {
        if let Some(sink) = self.sink.take() {
            sink.commit()?;
        }
        Ok(IngestReport {
            summary: self.summary,
            quarantined: self.kept,
        })
    }
}

/// The files a reader will read, checked the same way by every reader: the
/// options are valid, there is at least one file (so `paths[0]` exists), and
/// none of them is the quarantine file.
pub(crate) fn input_paths(
    files: &FileSet,
    options: &ReadOptions,
) -> Result<Vec<PathBuf>, IngestError> {
    options.validate()?;
    let paths = files.files().to_vec();
    if paths.is_empty() {
        return Err(IngestError::NoFiles {
            pattern: String::new(),
        });
    }
    reject_input_as_quarantine(&paths, options)?;
    Ok(paths)
}

/// Refuses a quarantine file that is one of the input files (committing it
/// would replace the data).
fn reject_input_as_quarantine(
    inputs: &[PathBuf],
    options: &ReadOptions,
) -> Result<(), IngestError> {
    let Some((quarantine, _)) = options.quarantine().file() else {
        return Ok(());
    };
    let Ok(canonical) = quarantine.canonicalize() else {
        return Ok(());
    };
    for input in inputs {
        if input.canonicalize().is_ok_and(|i| i == canonical) {
            return Err(IngestError::InvalidOption {
                option: "quarantine_file".into(),
                reason: format!(
                    "{} is an input file; choose another path",
                    quarantine.display()
                ),
            });
        }
    }
    Ok(())
}
