//! [`FeatureApplyJob`] (`mlrig features apply`): a data file through a
//! fitted feature pipeline into a feature file (see
//! [`FeatureFileFormat`] for the formats and layouts), streaming.
//!
//! ```text
//! data ─DataReader (parse threads, quarantine)─▶ waves of batches ─rayon: transform per batch─▶
//!      bounded channel ─writer thread: FeatureFileWriter (CSR → list columns / svmlight text)─▶ temp file
//! data ─second thread: SHA-256─▶ fingerprint ─▶ the file's summary ─commit─▶ out
//! ```
//!
//! Memory is bounded whatever the row count: batches of at most
//! [`APPLY_BATCH_ROWS`] rows (dense output: at most [`DENSE_BATCH_BYTES`]
//! of it per batch); a wave holds at most
//! [`TRANSFORM_WAVE`] batches and at most [`WAVE_BYTES`] of transformed
//! output (fewer batches when the output is wide and dense), the channel
//! one more wave, the writer one Parquet row group (32 MiB) or 1 MiB of text.

use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

use mlrig_core::arrow_array::{ArrayRef, RecordBatch};
use mlrig_core::{Artifact, FeatureMatrix, Features, Fingerprint, Transform};
use mlrig_features::{FittedFeaturePipeline, OutputLayout};
use mlrig_ingest::{DataReader, IngestError, IngestSummary, ReadOptions};
use rayon::prelude::*;
use serde::Serialize;

use crate::PipelineError;
use crate::batch_predict::{RowProgress, check_out_path};
use crate::feature_file::{
    FEATURE_FILE_FORMAT_VERSION, FeatureFileFormat, FeatureFileHeader, FeatureFileLayout,
    FeatureFileWriter, read_options_fingerprint,
};

/// Most batches transformed in parallel at a time.
pub const TRANSFORM_WAVE: usize = 8;
/// Most bytes of transformed output in one wave (a wave shrinks to fit).
pub const WAVE_BYTES: usize = 32 << 20;
/// Largest batch the data is read in: small enough that a wave of
/// [`TRANSFORM_WAVE`] batches of sparse output stays within tens of MiB.
pub const APPLY_BATCH_ROWS: usize = 8_192;
/// Largest dense output of one batch, in bytes: a dense layout of `w`
/// columns reads `DENSE_BATCH_BYTES / 8w` rows per batch (at least 16).
pub const DENSE_BATCH_BYTES: usize = 4 << 20;

/// Streams a data file through a fitted pipeline into a feature file.
///
/// ```
/// use mlrig_pipeline::{FeatureApplyJob, FeatureFileLayout, read_feature_file};
/// use mlrig_features::{FeaturePipelineParams, FeatureSpec, OutputLayout};
/// use mlrig_core::{Artifact, Fit, ParamGuard};
/// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/adult_sample.csv");
/// let dir = tempfile::tempdir()?;
/// let (schema, batches, _) = mlrig_ingest::read_csv(data, Default::default())?;
/// let spec = FeatureSpec::infer(&schema, "income")?.with_output(OutputLayout::Sparse);
/// let fitted = FeaturePipelineParams::new(spec).check()?.fit(&batches)?;
/// let transformer = dir.path().join("t.json");
/// fitted.save(&transformer, &[])?;
///
/// let out = dir.path().join("f.svm");
/// let report = FeatureApplyJob::new(&transformer, data, &out).with_target("income").run()?;
/// assert_eq!(report.layout, FeatureFileLayout::Sparse);
/// let back = read_feature_file(&out, &|_| true)?;
/// assert_eq!(back.features.nrows() as u64, report.rows);
/// assert_eq!(back.summary.classes.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FeatureApplyJob {
    transformer: PathBuf,
    data: PathBuf,
    out: PathBuf,
    read: ReadOptions,
    layout: Option<FeatureFileLayout>,
    target: Option<String>,
    progress: Option<RowProgress>,
}

impl std::fmt::Debug for FeatureApplyJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureApplyJob")
            .field("transformer", &self.transformer)
            .field("data", &self.data)
            .field("out", &self.out)
            .field("layout", &self.layout)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// What [`FeatureApplyJob::run`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureApplyReport {
    /// The feature file.
    pub out: PathBuf,
    /// Its format.
    pub format: FeatureFileFormat,
    /// Its layout.
    pub layout: FeatureFileLayout,
    /// Rows written (the accepted rows).
    pub rows: u64,
    /// Output columns.
    pub columns: usize,
    /// Stored values (every value when dense).
    pub stored_values: u64,
    /// Fingerprint of the data file.
    pub data_fingerprint: Fingerprint,
    /// The text classes of an svmlight target (label `i` is `classes[i]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Rows read, accepted and quarantined.
    pub ingest: IngestSummary,
}

impl FeatureApplyJob {
    /// Transforms `data` with the pipeline saved at `transformer` into `out`
    /// (format by extension; layout: the pipeline's when the format holds it).
    pub fn new(
        transformer: impl Into<PathBuf>,
        data: impl Into<PathBuf>,
        out: impl Into<PathBuf>,
    ) -> Self {
        Self {
            transformer: transformer.into(),
            data: data.into(),
            out: out.into(),
            read: ReadOptions::default(),
            layout: None,
            target: None,
            progress: None,
        }
    }

    /// How the data file is read.
    pub fn with_read_options(mut self, options: ReadOptions) -> Self {
        self.read = options;
        self
    }

    /// Dense or sparse output, instead of the default (sparse when the
    /// pipeline's output is sparse and the format holds it).
    pub fn with_layout(mut self, layout: FeatureFileLayout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Copies `column` into the file as the target (the svmlight label).
    pub fn with_target(mut self, column: impl Into<String>) -> Self {
        self.target = Some(column.into());
        self
    }

    /// Called with the number of rows of each batch as it is written.
    pub fn with_progress(mut self, progress: RowProgress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Runs the job; the file appears complete at `out` or not at all.
    pub fn run(&self) -> Result<FeatureApplyReport, PipelineError> {
        let stored = FittedFeaturePipeline::load(&self.transformer)?;
        let pipeline = stored.value;
        let format = FeatureFileFormat::of_path(&self.out)?;
        let layout = self.layout.unwrap_or_else(|| {
            format.default_layout(pipeline.output_layout() == OutputLayout::Sparse)
        });
        let width = pipeline.output_names().len();
        let batch_rows = match layout {
            FeatureFileLayout::Sparse => APPLY_BATCH_ROWS,
            FeatureFileLayout::Dense => {
                (DENSE_BATCH_BYTES / (8 * width.max(1))).clamp(16, APPLY_BATCH_ROWS)
            }
        };
        let read = self
            .read
            .clone()
            .with_batch_size(self.read.batch_size().min(batch_rows));
        let mut reader = DataReader::open(&self.data, read)?;
        check_out_path(
            &self.out,
            reader.files(),
            self.read.quarantine(),
            "_features",
        )?;
        let schema = reader.schema();
        let target = match &self.target {
            Some(name) => Some(schema.field_with_name(name).cloned().map_err(|_| {
                PipelineError::MissingTarget {
                    file: self.data.clone(),
                    target: name.clone(),
                    available: mlrig_core::column_list(&schema),
                }
            })?),
            None => None,
        };
        let header = FeatureFileHeader {
            format_version: FEATURE_FILE_FORMAT_VERSION,
            layout,
            feature_names: pipeline.output_names().to_vec(),
            transformer: stored.header.fingerprint.clone(),
            read_options: read_options_fingerprint(&self.read),
            target: self.target.clone(),
        };
        let mut writer = FeatureFileWriter::create(&self.out, format, header, target.as_ref())?;
        let target_at = target.as_ref().and_then(|t| schema.index_of(t.name()).ok());

        std::thread::scope(|scope| {
            let fingerprint = scope.spawn(|| Fingerprint::of_file(&self.data));
            let (send, receive) = sync_channel::<Vec<(Features, Option<ArrayRef>)>>(1);
            let written = scope.spawn(move || -> Result<FeatureFileWriter, PipelineError> {
                for wave in receive {
                    for (features, target) in wave {
                        writer.write(&features, target.as_ref())?;
                        if let Some(progress) = &self.progress {
                            progress(features.nrows() as u64);
                        }
                    }
                }
                Ok(writer)
            });
            let transformed = self.transform_all(&pipeline, &mut reader, target_at, &send);
            drop(send);
            let writer = join(written, "the feature file writer")?;
            transformed?;
            let ingest = reader.finish()?.summary;
            let data_fingerprint = join(fingerprint, "the data fingerprint")??;
            let summary = writer?.finish(data_fingerprint.clone())?;
            Ok(FeatureApplyReport {
                out: self.out.clone(),
                format,
                layout,
                rows: summary.rows,
                columns: pipeline.output_names().len(),
                stored_values: summary.stored_values,
                data_fingerprint,
                classes: summary.classes,
                ingest,
            })
        })
    }

    /// Reads and transforms every batch, a wave at a time in parallel,
    /// sending each wave to the writer in order.
    fn transform_all(
        &self,
        pipeline: &FittedFeaturePipeline,
        reader: &mut DataReader,
        target_at: Option<usize>,
        send: &std::sync::mpsc::SyncSender<Vec<(Features, Option<ArrayRef>)>>,
    ) -> Result<(), PipelineError> {
        let mut wave_len = TRANSFORM_WAVE;
        let mut rows_before = 0usize;
        loop {
            let wave: Vec<RecordBatch> = reader
                .by_ref()
                .take(wave_len)
                .collect::<Result<_, _>>()
                .map_err(IngestError::from)?;
            if wave.is_empty() {
                return Ok(());
            }
            let parts: Vec<_> = wave.par_iter().map(|b| pipeline.transform(b)).collect();
            let mut out = Vec::with_capacity(wave.len());
            let mut bytes = 0usize;
            for (batch, part) in wave.iter().zip(parts) {
                let part = part.map_err(|e| e.with_row_offset(rows_before))?;
                rows_before += batch.num_rows();
                bytes += stored_bytes(&part);
                out.push((part, target_at.map(|i| batch.column(i).clone())));
            }
            wave_len = (WAVE_BYTES / (bytes / wave.len()).max(1)).clamp(1, TRANSFORM_WAVE);
            if send.send(out).is_err() {
                // The writer stopped on an error, which `run` reports.
                return Ok(());
            }
        }
    }
}

/// Bytes a transformed batch holds.
fn stored_bytes(features: &Features) -> usize {
    match features.matrix() {
        FeatureMatrix::Dense(m) => m.len() * 8,
        FeatureMatrix::Sparse(m) => m.nnz() * 16 + m.rows() * 8,
    }
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>, what: &str) -> Result<T, PipelineError> {
    handle.join().map_err(|_| PipelineError::Panicked {
        what: what.to_string(),
    })
}
