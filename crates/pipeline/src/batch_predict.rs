//! Static (offline) inference: [`BatchPredictJob`] streams a data file
//! through a model bundle's [`Servable`] — the very code `mlrig serve`
//! answers with — into a prediction table (see
//! [`TableFormat`](crate::TableFormat) for its columns).
//!
//! ```text
//! model dir (+ version) ─load─▶ Servable ─input schema─▶ column types forced at ingest
//! data ─DataReader (parse threads, quarantine)─▶ reader thread ─▶ bounded channel (in-flight batches)
//!      ─▶ chunk of batches ─rayon: Servable::predict per batch─▶ results in input order
//!      ─▶ TableLayout (key, inputs, prediction columns) ─▶ TableEncoder (same worker)
//!      ─▶ TableWriter appends in order (temp file) ─commit─▶ out
//! ```
//!
//! Each worker also encodes its batch's table rows (CSV or JSON text), so
//! the one writer only appends bytes in order.
//!
//! Memory is bounded whatever the file's size. With `n` batches in flight
//! (default twice the rayon threads) it holds at most: `n` input batches in
//! the channel, one more the reader thread is blocked sending, `n` in the
//! chunk being scored with their `n` table batches and encoded outputs, the
//! reader's parse buffers (CSV: one batch's worth of records plus
//! `2 × parse threads` chunks of at most 8,192 records) and, for a Parquet
//! table, the row group being built (at most 64 MiB). That is about
//! `2n + 1` input batches plus `n` table batches. A batch the model
//! refuses as invalid input (an infinite number, say) is scored row by row:
//! the rows it refuses are counted as rejected with their file, line and
//! reason (the report keeps the first [`REJECTED_KEEP`]; they are not in
//! the quarantine file, whose writer belongs to the reader), the others are
//! written. Totals:
//! `rows_read = rows_predicted + rows_quarantined (ingest) + rows_rejected (model)`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Instant;

use mlrig_core::Servable;
use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::DataType;
use mlrig_core::arrow_schema::SchemaRef;
use mlrig_ingest::{
    DataFormat, DataReader, InferenceOptions, IngestError, IngestSummary, QuarantineOptions,
    ReadOptions, RowOrigins,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::PipelineError;
use crate::prediction_table::{EncodedRows, TableEncoder, TableFormat, TableLayout, TableWriter};
use crate::serving::{load_model_dir, load_model_version};

/// How many rejected rows a report keeps (all are counted).
pub const REJECTED_KEEP: usize = 1_000;

/// Called with the number of rows just written, for a progress display.
pub type RowProgress = Arc<dyn Fn(u64) + Send + Sync>;

/// Scores a data file (CSV, JSON Lines or Parquet, as [`DataReader`] reads
/// it) with a model bundle and writes one table row per accepted input row,
/// in input order, to a `.csv`, `.parquet` or `.jsonl` file.
///
/// ```
/// use mlrig_pipeline::{BatchPredictJob, TrainingJob};
/// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/california_sample.csv");
/// let dir = tempfile::tempdir()?;
/// TrainingJob::new(data, "MedHouseVal").with_name("housing").with_output_dir(dir.path()).run()?;
///
/// let out = dir.path().join("predictions.csv");
/// let report = BatchPredictJob::new(dir.path().join("housing"), data, &out).run()?;
/// assert_eq!(report.rows_predicted, report.ingest.rows_accepted);
/// let table = std::fs::read_to_string(&out)?;
/// assert_eq!(table.lines().next(), Some("prediction"));
/// assert_eq!(table.lines().count() as u64, 1 + report.rows_predicted);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BatchPredictJob {
    model: PathBuf,
    version: Option<u64>,
    data: PathBuf,
    out: PathBuf,
    key: Option<String>,
    with_input: bool,
    read: ReadOptions,
    in_flight: usize,
    progress: Option<RowProgress>,
}

impl std::fmt::Debug for BatchPredictJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchPredictJob")
            .field("model", &self.model)
            .field("version", &self.version)
            .field("data", &self.data)
            .field("out", &self.out)
            .field("key", &self.key)
            .field("with_input", &self.with_input)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

/// What a static inference run did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BatchPredictReport {
    /// The model's name.
    pub model: String,
    /// The version that scored the data.
    pub version: u64,
    /// The data file.
    pub data: PathBuf,
    /// The prediction table written.
    pub out: PathBuf,
    /// Its format.
    pub format: TableFormat,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// Rows read from the data (= predicted + quarantined + rejected, without
    /// sampling or splitting in the read options).
    pub rows_read: u64,
    /// Rows written to the table.
    pub rows_predicted: u64,
    /// Rows the reader quarantined (see `ingest` and its quarantine file).
    pub rows_quarantined: u64,
    /// Rows the model refused (see `rejected`).
    pub rows_rejected: u64,
    /// The first [`REJECTED_KEEP`] rows the model refused.
    pub rejected: Vec<RejectedRow>,
    /// Ingestion totals.
    pub ingest: IngestSummary,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    /// `rows_read / seconds`.
    pub rows_per_second: f64,
}

/// A row that was read and accepted but that the model refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RejectedRow {
    /// The file the row comes from.
    pub file: String,
    /// Its 1-based starting line (0 for Parquet, which has no lines).
    pub line: u64,
    /// Why the model refused it.
    pub reason: String,
}

impl BatchPredictJob {
    /// Scores `data` with the model at `model` (a model directory
    /// `<base>/<name>`: its highest blessed version; or a version directory
    /// `<base>/<name>/<version>`, as `mlrig serve` takes) into `out`.
    pub fn new(
        model: impl Into<PathBuf>,
        data: impl Into<PathBuf>,
        out: impl Into<PathBuf>,
    ) -> Self {
        BatchPredictJob {
            model: model.into(),
            version: None,
            data: data.into(),
            out: out.into(),
            key: None,
            with_input: false,
            read: ReadOptions::default().with_threads(rayon::current_num_threads()),
            in_flight: 2 * rayon::current_num_threads(),
            progress: None,
        }
    }

    /// Scores with version `version` of the model directory, blessed or not.
    pub fn with_version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    /// Copies column `column` of the data first into the table (an error
    /// naming the column and the data's columns if there is none).
    pub fn with_key(mut self, column: impl Into<String>) -> Self {
        self.key = Some(column.into());
        self
    }

    /// Copies every column of the data into the table, before the predictions.
    pub fn with_input(mut self, with_input: bool) -> Self {
        self.with_input = with_input;
        self
    }

    /// How to read the data (dialect, missing tokens, quarantine file,
    /// batch size, parse threads). The options replace the job's defaults
    /// whole, parse threads included: [`ReadOptions::default`] parses CSV on
    /// one thread, so pass `with_threads(0)` (one per core) or a count to
    /// keep parsing parallel. The types of the model's input columns
    /// are always the model's: a value that does not parse as its type is
    /// quarantined, as at ingest. The other columns of a CSV or JSON Lines
    /// file (the key among them) are read as text and copied unchanged,
    /// unless typed in the options' column types. With a sample or split option, the rows
    /// left out are counted in the report's `ingest` summary only.
    pub fn with_read_options(mut self, options: ReadOptions) -> Self {
        self.read = options;
        self
    }

    /// Batches scored at once in parallel (at least 1; default twice the
    /// rayon threads); memory holds about twice that many input batches plus
    /// as many table batches (see the module docs).
    pub fn with_batches_in_flight(mut self, batches: usize) -> Self {
        self.in_flight = batches.max(1);
        self
    }

    /// Reports the rows written after each batch.
    pub fn with_progress(mut self, progress: RowProgress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Loads the model, streams the data through it and commits the table,
    /// then the quarantine file (nothing is written if reading or scoring
    /// fails; the table stays if only the quarantine file cannot be
    /// committed). Refuses an `out` that is the data or the quarantine file.
    pub fn run(&self) -> Result<BatchPredictReport, PipelineError> {
        let started = Instant::now();
        let format = TableFormat::of_path(&self.out)?;
        let servable = self.load_model()?;
        let input_schema = servable.input_schema();
        let (data_format, columns) = self.probe_columns()?;
        // A JSON Lines row without a key has a null there (as when served):
        // forcing the model's types declares the columns the sample lacks.
        if data_format != DataFormat::JsonLines {
            check_model_inputs(&self.data, &columns, &input_schema, &servable.info().name)?;
        }
        let read = forced_types(&self.read, &input_schema, &columns, data_format);
        let mut reader = DataReader::open(&self.data, read)?;
        check_out_path(
            &self.out,
            reader.files(),
            self.read.quarantine(),
            "_predictions",
        )?;
        let schema = reader.schema();
        let layout = TableLayout::new(
            &schema,
            &servable.info().task,
            self.key.as_deref(),
            self.with_input,
            &self.data,
        )?;
        let files: Vec<String> = reader
            .files()
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        let encoder = TableEncoder::new(format, layout.schema())?;
        let mut writer = TableWriter::create(&self.out, format, layout.schema())?;
        let mut tally = Tally::default();

        let (sender, receiver) = sync_channel(self.in_flight);
        let reader = std::thread::scope(|scope| {
            let producer = scope.spawn(move || {
                while let Some(batch) = reader.next() {
                    let item = batch
                        .map_err(IngestError::from)
                        .map(|b| (b, reader.last_batch_origins().cloned()));
                    let failed = item.is_err();
                    // The consumer stopped (it failed): stop reading.
                    if sender.send(item).is_err() || failed {
                        break;
                    }
                }
                reader
            });
            let scorer = Scorer {
                servable: servable.as_ref(),
                layout: &layout,
                encoder: &encoder,
                files: &files,
            };
            let consumed = self.consume(&receiver, &scorer, &mut writer, &mut tally);
            // Unblocks the reader if the consumer stopped early.
            drop(receiver);
            let reader = producer.join().map_err(|_| PipelineError::Panicked {
                what: "the data reader thread".into(),
            })?;
            consumed.map(|()| reader)
        })?;
        // The table first: the quarantine file only explains a table that exists.
        writer.commit()?;
        let ingest = reader.finish()?.summary;
        let seconds = started.elapsed().as_secs_f64();
        let rows_per_second = if seconds > 0.0 {
            ingest.rows_read as f64 / seconds
        } else {
            0.0
        };
        Ok(BatchPredictReport {
            model: servable.info().name.clone(),
            version: servable.info().version,
            data: self.data.clone(),
            out: self.out.clone(),
            format,
            columns: layout
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            rows_read: ingest.rows_read,
            rows_predicted: tally.predicted,
            rows_quarantined: ingest.rows_quarantined,
            rows_rejected: tally.rejected,
            rejected: tally.kept,
            ingest,
            seconds,
            rows_per_second,
        })
    }

    /// Takes chunks of up to `in_flight` batches off the channel, predicts
    /// them in parallel and writes them in input order.
    fn consume(
        &self,
        receiver: &Receiver<Result<(RecordBatch, Option<RowOrigins>), IngestError>>,
        scorer: &Scorer<'_>,
        writer: &mut TableWriter,
        tally: &mut Tally,
    ) -> Result<(), PipelineError> {
        let mut chunk = Vec::with_capacity(self.in_flight);
        loop {
            chunk.clear();
            // Block for the first batch, then take what is ready up to the chunk size.
            match receiver.recv() {
                Ok(item) => chunk.push(item?),
                Err(_) => return Ok(()),
            }
            while chunk.len() < self.in_flight {
                match receiver.try_recv() {
                    Ok(item) => chunk.push(item?),
                    Err(_) => break,
                }
            }
            let scored: Vec<Result<Encoded, PipelineError>> = chunk
                .par_iter()
                .map(|(batch, origins)| scorer.score(batch, origins.as_ref()))
                .collect();
            for result in scored {
                let scored = result?;
                let written = scored.rows.rows() as u64;
                writer.append(scored.rows)?;
                tally.add(written, scored.rejected);
                if let Some(progress) = &self.progress {
                    progress(written);
                }
            }
        }
    }

    /// The data's format and columns, reading as little as it takes: the
    /// header of a CSV file, the footer of a Parquet file, the inference
    /// sample of a JSON Lines file (whose columns are the sampled keys).
    fn probe_columns(&self) -> Result<(DataFormat, SchemaRef), PipelineError> {
        let probe = DataReader::open(&self.data, header_probe(&self.read, 1))?;
        let format = probe.format();
        if format != DataFormat::JsonLines {
            return Ok((format, probe.schema()));
        }
        let infer_rows = self.read.inference().infer_rows();
        let probe = DataReader::open(&self.data, header_probe(&self.read, infer_rows))?;
        Ok((format, probe.schema()))
    }

    /// The servable the job's model path (and version) names.
    fn load_model(&self) -> Result<Arc<dyn Servable>, PipelineError> {
        match self.version {
            Some(version) => load_model_version(&self.model, version),
            None => load_model_dir(&self.model),
        }
    }
}

/// Options that read just enough of the data to name its columns
/// (`infer_rows` records for type inference, no quarantine file).
fn header_probe(read: &ReadOptions, infer_rows: usize) -> ReadOptions {
    let inference = read.inference().clone().with_infer_rows(infer_rows);
    read.clone()
        .with_inference(inference)
        .with_quarantine(QuarantineOptions::default())
}

/// The read options with every model input column's type set to the
/// model's, so a value of another type is quarantined at ingest. In text
/// formats (CSV, JSON Lines) every other column of `data` (the key, say) is
/// read as `Utf8` unless the user typed it, so it is copied unchanged
/// (`00000` stays `00000`) and never quarantines a row; Parquet columns keep
/// their own types.
fn forced_types(
    read: &ReadOptions,
    inputs: &SchemaRef,
    data: &SchemaRef,
    format: DataFormat,
) -> ReadOptions {
    let mut inference: InferenceOptions = read.inference().clone();
    if format != DataFormat::Parquet {
        let user_typed = read.inference().column_types();
        for field in data.fields() {
            let name = field.name();
            if inputs.field_with_name(name).is_err() && !user_typed.contains_key(name) {
                inference = inference.with_column_type(name, DataType::Utf8);
            }
        }
    }
    for field in inputs.fields() {
        inference = inference.with_column_type(field.name(), field.data_type().clone());
    }
    read.clone().with_inference(inference)
}

/// `out` must be in an existing directory, and neither a data file nor the
/// quarantine file: the output's commit would replace it. The suggestion
/// adds `suffix` to the file stem.
pub(crate) fn check_out_path(
    out: &Path,
    data: &[PathBuf],
    quarantine: &QuarantineOptions,
    suffix: &str,
) -> Result<(), PipelineError> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(PipelineError::OutputDirMissing {
            out: out.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    let clash = |other: &Path, what: &str| {
        same_file(out, other).then(|| PipelineError::OutputOverwrites {
            out: out.to_path_buf(),
            what: what.into(),
            other: other.to_path_buf(),
            suggestion: out.with_file_name(format!(
                "{}{suffix}.{}",
                out.file_stem().and_then(|s| s.to_str()).unwrap_or("table"),
                out.extension().and_then(|e| e.to_str()).unwrap_or("csv")
            )),
        })
    };
    let found = data
        .iter()
        .find_map(|file| clash(file, "data file"))
        .or_else(|| {
            quarantine
                .file()
                .and_then(|(q, _)| clash(q, "quarantine file"))
        });
    found.map_or(Ok(()), Err)
}

/// Whether `a` and `b` name the same file (the same path, or the same file
/// once their directories are resolved; either may not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    fn resolved(path: &Path) -> Option<PathBuf> {
        if let Ok(path) = path.canonicalize() {
            return Some(path);
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Some(parent.canonicalize().ok()?.join(path.file_name()?))
    }
    a == b || resolved(a).is_some_and(|a| resolved(b).is_some_and(|b| a == b))
}

/// Every column the model reads must be in the data.
fn check_model_inputs(
    file: &Path,
    data: &SchemaRef,
    inputs: &SchemaRef,
    model: &str,
) -> Result<(), PipelineError> {
    let missing: Vec<&str> = inputs
        .fields()
        .iter()
        .filter(|f| data.field_with_name(f.name()).is_err())
        .map(|f| f.name().as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(PipelineError::MissingModelInputs {
        file: file.to_path_buf(),
        model: model.to_string(),
        missing: missing.join(", "),
        available: mlrig_core::column_list(data),
    })
}

/// Rows written and refused so far.
#[derive(Default)]
struct Tally {
    predicted: u64,
    rejected: u64,
    kept: Vec<RejectedRow>,
}

impl Tally {
    fn add(&mut self, predicted: u64, rejected: Vec<RejectedRow>) {
        self.predicted += predicted;
        self.rejected += rejected.len() as u64;
        let room = REJECTED_KEEP.saturating_sub(self.kept.len());
        self.kept.extend(rejected.into_iter().take(room));
    }
}

/// One batch's encoded table rows and the rows the model refused.
struct Encoded {
    rows: EncodedRows,
    rejected: Vec<RejectedRow>,
}

/// What a worker needs to turn a batch into encoded table rows.
struct Scorer<'a> {
    servable: &'a dyn Servable,
    layout: &'a TableLayout,
    encoder: &'a TableEncoder,
    /// The data files, for the origin of rejected rows.
    files: &'a [String],
}

impl Scorer<'_> {
    /// Predicts `batch` and encodes its table rows; when the model refuses
    /// the batch as invalid input, predicts it row by row and keeps the rows
    /// it accepts.
    fn score(
        &self,
        batch: &RecordBatch,
        origins: Option<&RowOrigins>,
    ) -> Result<Encoded, PipelineError> {
        let (rows, rejected) = match self.servable.predict(batch) {
            Ok(predictions) => (self.layout.rows(batch, &predictions)?, Vec::new()),
            Err(e) if e.is_invalid_input() => self.row_by_row(batch, origins)?,
            Err(e) => return Err(e.into()),
        };
        Ok(Encoded {
            rows: self.encoder.encode(rows)?,
            rejected,
        })
    }

    fn row_by_row(
        &self,
        batch: &RecordBatch,
        origins: Option<&RowOrigins>,
    ) -> Result<(RecordBatch, Vec<RejectedRow>), PipelineError> {
        let mut parts = Vec::new();
        let mut rejected = Vec::new();
        for row in 0..batch.num_rows() {
            let one = batch.slice(row, 1);
            match self.servable.predict(&one) {
                Ok(predictions) => parts.push(self.layout.rows(&one, &predictions)?),
                Err(e) if e.is_invalid_input() => {
                    rejected.push(rejected_row(origins, self.files, row, &e))
                }
                Err(e) => return Err(e.into()),
            }
        }
        let rows = arrow_select::concat::concat_batches(self.layout.schema(), &parts)
            .map_err(|e| mlrig_core::Error::component("arrow", e, false))?;
        Ok((rows, rejected))
    }
}

fn rejected_row(
    origins: Option<&RowOrigins>,
    files: &[String],
    row: usize,
    error: &mlrig_core::Error,
) -> RejectedRow {
    let origin = origins.and_then(|o| o.get(row));
    RejectedRow {
        file: origin
            .and_then(|o| files.get(o.file_index as usize))
            .or(files.first())
            .cloned()
            .unwrap_or_default(),
        line: origin.map_or(0, |o| o.line),
        reason: error.to_string(),
    }
}
