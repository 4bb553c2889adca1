//! The offline monitor (`mlrig monitor`): request logs (+ delayed labels)
//! against a model bundle, window by window.
//!
//! ```text
//! request log files (.jsonl, .jsonl.gz, .parquet; globs) ─entry by entry─▶ model/version check
//!   inputs ─records_to_batch (the model's input schema)─▶ window (epoch-aligned) StatisticsAccumulator
//!   outputs ─predicted_class, score─▶ window prediction StatisticsAccumulator
//!   labels file ─join (request_id + row, or an input field)─▶ window quality rows
//! per window: skew (vs statistics.json), drift (vs previous window), prediction drift
//!   (vs prediction_statistics.json, and vs previous window), quality (task metrics, per slice)
//! all rows: features ranked by change, never/always missing features, slices that lost quality
//! ```
//!
//! Memory is one pair of accumulators per window (bounded by their sketch
//! parameters, not by rows) plus, with labels, the labels file and a few
//! numbers per labelled row.

mod comparison;
mod labels;
mod log_files;
mod report;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::{Schema as ArrowSchema, SchemaRef};
use mlrig_core::{Accumulator, ModelBundle, Predictions, Servable, Task, records_to_batch};
use mlrig_monitor::{MonitoringBaseline, compare_windows, prediction_batch};
use mlrig_train::{
    DEFAULT_MAX_DROP, Evaluation, SliceColumn, Truth, headline_metric, higher_is_better,
    slice_metrics, task_metrics,
};
use mlrig_validate::{DatasetStatistics, StatisticsAccumulator, StatisticsParams};
use serde_json::Value;

pub use comparison::FeatureComparison;
pub use labels::{REQUEST_ID_KEY, ROW_COLUMN};
/// The live monitor's thresholds, which the offline monitor applies too.
pub use mlrig_monitor::MonitoringThresholds;
pub use report::{
    FeatureChange, LabelTotals, MonitorReport, PresenceChange, QualityReport, RowTotals, SliceDrop,
    SliceQuality, WindowReport,
};

use crate::batch_predict::RowProgress;
use crate::bundle_files::{BundleBaselines, EVALUATION_FILE, STATISTICS_FILE};
use crate::serving::BundleServable;
use crate::{PREDICTION_COLUMN, PipelineError, SCORE_PREFIX};
use comparison::{
    compare_predictions, compare_window, converted, missing, monitor_error, non_missing,
};
use labels::{LabelKey, LabelValue, Labels};
use log_files::{LogItem, LoggedRequest, read_log_file};

/// Unreadable entries listed in the report.
const UNREADABLE_LISTED: usize = 10;

/// Monitors request logs against a model bundle; build with
/// [`OfflineMonitorJob::new`] and the `with_*` methods, then [`run`](Self::run).
///
/// ```
/// use mlrig_pipeline::{OfflineMonitorJob, TrainingJob};
/// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/california_sample.csv");
/// let dir = tempfile::tempdir()?;
/// TrainingJob::new(data, "MedHouseVal").with_name("housing").with_output_dir(dir.path()).run()?;
/// let log = dir.path().join("requests.jsonl");
/// std::fs::write(&log, concat!(
///     r#"{"timestamp":"2026-12-07T10:00:00.000Z","request_id":"r1","model":"housing","version":1,"source":"model","#,
///     r#""inputs":[{"MedInc":8.3,"HouseAge":41.0}],"outputs":[{"prediction":4.1,"source":"model"}]}"#, "\n",
///     r#"{"timestamp":"2026-12-07T11:30:00.000Z","request_id":"r2","model":"other","version":1,"source":"model","#,
///     r#""inputs":[{"MedInc":1.0}],"outputs":[{"prediction":1.2,"source":"model"}]}"#, "\n",
/// ))?;
/// let report = OfflineMonitorJob::new(dir.path().join("housing"), [log.display().to_string()]).run()?;
/// assert_eq!((report.rows.rows_read, report.rows.rows_used, report.rows.skipped["other_model"]), (2, 1, 1));
/// assert_eq!(report.windows.len(), 1);
/// assert_eq!(report.windows[0].start, "2026-12-07T10:00:00Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct OfflineMonitorJob {
    model: PathBuf,
    logs: Vec<String>,
    labels: Option<(PathBuf, String)>,
    window: Duration,
    slices: Vec<String>,
    quarantine: Option<PathBuf>,
    thresholds: MonitoringThresholds,
    max_drop: f64,
    progress: Option<RowProgress>,
}

impl std::fmt::Debug for OfflineMonitorJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineMonitorJob")
            .field("model", &self.model)
            .field("logs", &self.logs)
            .field("labels", &self.labels)
            .field("window", &self.window)
            .field("slices", &self.slices)
            .finish_non_exhaustive()
    }
}

/// Per-window state while reading.
struct WindowState {
    rows: u64,
    labelled: u64,
    features: StatisticsAccumulator,
    predictions: StatisticsAccumulator,
    /// Requests' batches not yet accumulated (one accumulator update per
    /// [`PENDING_ROWS`] rows rather than per request).
    pending_inputs: Vec<RecordBatch>,
    pending_predictions: Vec<RecordBatch>,
    pending_rows: usize,
    quality: QualityRows,
}

/// Rows a window buffers before updating its accumulators.
const PENDING_ROWS: usize = 4096;

impl WindowState {
    fn add(&mut self, inputs: RecordBatch, predictions: RecordBatch) -> Result<(), PipelineError> {
        self.rows += inputs.num_rows() as u64;
        self.pending_rows += inputs.num_rows();
        self.pending_inputs.push(inputs);
        self.pending_predictions.push(predictions);
        if self.pending_rows >= PENDING_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Accumulates the buffered batches.
    fn flush(&mut self) -> Result<(), PipelineError> {
        for (pending, accumulator) in [
            (&mut self.pending_inputs, &mut self.features),
            (&mut self.pending_predictions, &mut self.predictions),
        ] {
            let Some(first) = pending.first() else {
                continue;
            };
            let batch = arrow_select::concat::concat_batches(&first.schema(), pending.iter())
                .map_err(|e| PipelineError::from(mlrig_core::Error::from(e)))?;
            accumulator.update(&batch)?;
            pending.clear();
        }
        self.pending_rows = 0;
        Ok(())
    }
}

/// The labelled rows of a window: predictions, truth and slice values.
#[derive(Default)]
struct QualityRows {
    /// Class probabilities (row-major, one row per labelled row) or values.
    predicted: Vec<f64>,
    classes: Vec<String>,
    values: Vec<f64>,
    slices: Vec<Vec<Option<String>>>,
}

impl QualityRows {
    fn len(&self) -> usize {
        self.classes.len().max(self.values.len())
    }

    fn append(&mut self, mut other: QualityRows) {
        self.predicted.append(&mut other.predicted);
        self.classes.append(&mut other.classes);
        self.values.append(&mut other.values);
        if self.slices.len() < other.slices.len() {
            self.slices.resize(other.slices.len(), Vec::new());
        }
        for (mine, theirs) in self.slices.iter_mut().zip(other.slices) {
            mine.extend(theirs);
        }
    }
}

/// A logged output, read for the model's task.
struct Output {
    predicted_class: Option<String>,
    score: f64,
    /// Class probabilities in the model's class order, or the value.
    predicted: Vec<f64>,
}

/// What the reading pass needs to know about the model.
struct Target {
    name: String,
    version: u64,
    input_schema: SchemaRef,
    /// Model classes (empty for regression).
    classes: Vec<String>,
    /// The schema of the window's prediction dataset.
    prediction_schema: SchemaRef,
}

impl OfflineMonitorJob {
    /// Monitors the request log files `logs` (paths or glob patterns) with
    /// the bundle at `model`: a version directory, or a model directory
    /// (its newest version).
    pub fn new<I, S>(model: impl Into<PathBuf>, logs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            model: model.into(),
            logs: logs.into_iter().map(Into::into).collect(),
            labels: None,
            window: Duration::from_secs(3600),
            slices: Vec::new(),
            quarantine: None,
            thresholds: MonitoringThresholds::default(),
            max_drop: DEFAULT_MAX_DROP,
            progress: None,
        }
    }

    /// Joins the delayed labels of `file` on `join_key`: `request_id` (with
    /// the optional `row` column) or an input field (see the module docs of
    /// `mlrig monitor` and [`REQUEST_ID_KEY`]).
    pub fn with_labels(mut self, file: impl Into<PathBuf>, join_key: impl Into<String>) -> Self {
        self.labels = Some((file.into(), join_key.into()));
        self
    }

    /// The window length (default one hour; windows are aligned to the Unix epoch).
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Also reports quality per value of the input feature `column` (repeatable).
    pub fn with_slice(mut self, column: impl Into<String>) -> Self {
        self.slices.push(column.into());
        self
    }

    /// Writes the unused label rows (row, key, reason) to `file` as JSON Lines.
    pub fn with_quarantine(mut self, file: impl Into<PathBuf>) -> Self {
        self.quarantine = Some(file.into());
        self
    }

    /// The thresholds used where the schema has no comparator, and the
    /// tests that alert (the live monitor's; default: `linf`, `jsd`, `psi`
    /// at 0.1).
    pub fn with_thresholds(mut self, thresholds: MonitoringThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// The drop of a slice's headline metric (vs the evaluation) that puts it
    /// in `slices_dropped` when the evaluation's thresholds set none (default 0.01).
    pub fn with_max_drop(mut self, max_drop: f64) -> Self {
        self.max_drop = max_drop;
        self
    }

    /// Called with the number of rows of each request read.
    pub fn with_progress(mut self, progress: RowProgress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Reads the logs and builds the report.
    pub fn run(&self) -> Result<MonitorReport, PipelineError> {
        if self.window.as_millis() == 0 {
            return Err(PipelineError::InvalidOption {
                option: "window".into(),
                reason: "must be at least 1 ms".into(),
            });
        }
        let bundle = open_bundle(&self.model)?;
        let servable = BundleServable::open(&bundle)?;
        let info = servable.info().clone();
        let classes = match &info.task {
            Task::Classification { classes } => classes.clone(),
            _ => Vec::new(),
        };
        let target = Target {
            name: info.name.clone(),
            version: info.version,
            input_schema: servable.input_schema(),
            prediction_schema: prediction_schema(!classes.is_empty())?,
            classes,
        };
        for column in &self.slices {
            if target.input_schema.field_with_name(column).is_err() {
                return Err(PipelineError::MissingColumn {
                    column: column.clone(),
                    available: mlrig_core::column_list(&target.input_schema),
                });
            }
        }
        let baselines = BundleBaselines::read(&bundle)?;
        let Some(training) = baselines.statistics else {
            return Err(PipelineError::InconsistentBundle {
                path: bundle.dir().to_path_buf(),
                reason: format!(
                    "no {STATISTICS_FILE}: the bundle has no training statistics to compare with"
                ),
            });
        };
        // Requests do not carry the label: it is neither compared nor missing.
        let mut baseline = MonitoringBaseline::new(training, baselines.schema.unwrap_or_default())
            .without_features(&[info.target.as_str()]);
        baseline.predictions = baselines.predictions;
        baseline.data_newest_row_unix = baselines.data_newest_row_unix;
        baseline.created_at_unix = baselines.created_at_unix;
        let evaluation = bundle
            .load::<Evaluation>(EVALUATION_FILE)
            .ok()
            .map(|e| e.value);
        let mut labels = match &self.labels {
            Some((file, key)) => Some(Labels::read(
                file,
                key,
                &info.target,
                !target.classes.is_empty(),
            )?),
            None => None,
        };
        let files = mlrig_ingest::FileSet::new(&self.logs)?;

        let mut reading = Reading {
            job: self,
            target: &target,
            labels: labels.as_mut(),
            totals: RowTotals::default(),
            windows: BTreeMap::new(),
            window_millis: i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX),
        };
        for file in files.files() {
            reading.totals.files += 1;
            read_log_file(file, &mut |item| reading.visit(item))?;
        }
        let Reading {
            totals, windows, ..
        } = reading;

        let context = Context {
            baseline: &baseline,
            evaluation: evaluation.as_ref(),
            thresholds: &self.thresholds,
            task: &info.task,
            classes: &target.classes,
            slices: &self.slices,
            max_drop: self.max_drop,
        };
        let mut report = context.report(windows, totals, self.window)?;
        report.model = info.name;
        report.version = info.version;
        report.bundle = bundle.dir().to_path_buf();
        if let Some(labels) = &labels {
            report.labels = Some(self.label_totals(labels)?);
        }
        report.alerts = report
            .windows
            .iter()
            .flat_map(|w| w.alerts.iter().map(move |a| format!("{}: {a}", w.start)))
            .chain(report.alerts.drain(..))
            .collect();
        Ok(report)
    }

    fn label_totals(&self, labels: &Labels) -> Result<LabelTotals, PipelineError> {
        let unused = labels.unused();
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        for u in &unused {
            *reasons.entry(u.reason.to_string()).or_default() += 1;
        }
        if labels.unreadable > 0 {
            reasons.insert("unreadable".into(), labels.unreadable);
        }
        if let Some(path) = &self.quarantine {
            let mut text = Vec::new();
            for u in &unused {
                let line = serde_json::to_string(u).map_err(|source| PipelineError::Json {
                    context: format!("writing {}", path.display()),
                    source,
                })?;
                text.extend_from_slice(line.as_bytes());
                text.push(b'\n');
            }
            mlrig_core::write_atomic(path, &text)?;
        }
        Ok(LabelTotals {
            file: labels.file.clone(),
            join_key: labels.join_key.clone(),
            rows_read: labels.rows_read,
            matched: labels.matched(),
            unused: unused.len() as u64 + labels.unreadable,
            unused_reasons: reasons,
        })
    }
}

/// A version directory as is; a model directory's newest version.
fn open_bundle(path: &Path) -> Result<ModelBundle, PipelineError> {
    if path.join(mlrig_core::MANIFEST_FILE).is_file() {
        return Ok(ModelBundle::open(path)?);
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let base = path.parent().unwrap_or(Path::new("."));
    match ModelBundle::open_latest(base, name)? {
        Some(bundle) => Ok(bundle),
        None => Err(PipelineError::NoModel {
            path: path.to_path_buf(),
        }),
    }
}

/// The schema of a window's prediction dataset (`predicted_class` for
/// classifiers, `score`).
fn prediction_schema(classifier: bool) -> Result<SchemaRef, PipelineError> {
    let no_labels: &[Option<&str>] = &[];
    Ok(prediction_batch(classifier.then_some(no_labels), &[])
        .map_err(monitor_error)?
        .schema())
}

/// The reading pass: entries into windows.
struct Reading<'a> {
    job: &'a OfflineMonitorJob,
    target: &'a Target,
    labels: Option<&'a mut Labels>,
    totals: RowTotals,
    windows: BTreeMap<i64, WindowState>,
    window_millis: i64,
}

impl Reading<'_> {
    fn visit(&mut self, item: LogItem) -> Result<(), PipelineError> {
        match item {
            LogItem::Unreadable { file, line, reason } => {
                self.totals.unreadable_entries += 1;
                if self.totals.unreadable.len() < UNREADABLE_LISTED {
                    self.totals
                        .unreadable
                        .push(format!("{}:{line}: {reason}", file.display()));
                }
                Ok(())
            }
            LogItem::Request(request) => {
                let rows = request.inputs.len() as u64;
                self.totals.entries += 1;
                self.totals.rows_read += rows;
                if let Some(progress) = &self.job.progress {
                    progress(rows);
                }
                match self.use_request(&request)? {
                    Ok(()) => {
                        self.totals.rows_used += rows;
                        Ok(())
                    }
                    Err(reason) => {
                        self.totals.rows_skipped += rows;
                        *self.totals.skipped.entry(reason.to_string()).or_default() += rows;
                        Ok(())
                    }
                }
            }
        }
    }

    /// Adds a request to its window, or says why its rows are skipped.
    fn use_request(
        &mut self,
        request: &LoggedRequest,
    ) -> Result<Result<(), &'static str>, PipelineError> {
        let target = self.target;
        if request.model != target.name {
            return Ok(Err("other_model"));
        }
        if request.version != target.version {
            return Ok(Err("other_version"));
        }
        if !(0..MAX_RFC3339_MILLIS).contains(&request.unix_millis) {
            return Ok(Err("invalid_timestamp"));
        }
        if request.inputs.is_empty() {
            return Ok(Ok(()));
        }
        if request.outputs.len() != request.inputs.len() {
            return Ok(Err("invalid_output"));
        }
        let Some(outputs) = request
            .outputs
            .iter()
            .map(|o| read_output(o, &target.classes))
            .collect::<Option<Vec<Output>>>()
        else {
            return Ok(Err("invalid_output"));
        };
        let records: Vec<Value> = request
            .inputs
            .iter()
            .map(|record| known_fields(record, &target.input_schema))
            .collect();
        let Ok(inputs) = records_to_batch(&records, &target.input_schema) else {
            return Ok(Err("invalid_input"));
        };
        let predictions = predictions_of(&outputs, !target.classes.is_empty())?;
        let start = request.unix_millis.div_euclid(self.window_millis) * self.window_millis;
        let slices = &self.job.slices;
        let window = self.windows.entry(start).or_insert_with(|| WindowState {
            rows: 0,
            labelled: 0,
            features: StatisticsAccumulator::new(&target.input_schema, StatisticsParams::default()),
            predictions: StatisticsAccumulator::new(
                &target.prediction_schema,
                StatisticsParams::default(),
            ),
            pending_inputs: Vec::new(),
            pending_predictions: Vec::new(),
            pending_rows: 0,
            quality: QualityRows {
                slices: vec![Vec::new(); slices.len()],
                ..QualityRows::default()
            },
        });
        let rows = inputs.num_rows() as u64;
        window.add(inputs, predictions)?;
        let Some(labels) = self.labels.as_deref_mut() else {
            self.totals.unlabelled += rows;
            return Ok(Ok(()));
        };
        let by_request = labels.join_key == REQUEST_ID_KEY;
        for (i, (record, output)) in request.inputs.iter().zip(&outputs).enumerate() {
            let key = if by_request {
                Some(LabelKey::Request(request.request_id.clone(), i as u64))
            } else {
                record
                    .get(&labels.join_key)
                    .and_then(value_text)
                    .map(LabelKey::Field)
            };
            let Some(truth) = key.and_then(|k| labels.take(&k)) else {
                self.totals.unlabelled += 1;
                continue;
            };
            self.totals.labelled += 1;
            window.labelled += 1;
            let quality = &mut window.quality;
            quality.predicted.extend_from_slice(&output.predicted);
            match truth {
                LabelValue::Class(c) => quality.classes.push(c),
                LabelValue::Value(v) => quality.values.push(v),
            }
            for (column, values) in slices.iter().zip(quality.slices.iter_mut()) {
                values.push(record.get(column).and_then(value_text));
            }
        }
        Ok(Ok(()))
    }
}

/// The record with only the fields of `schema` (a logged request may carry
/// keys the model does not read, e.g. a prediction table's key).
fn known_fields(record: &Value, schema: &ArrowSchema) -> Value {
    match record {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| schema.field_with_name(k).is_ok())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A JSON scalar as the text a key or slice value is compared by (strings
/// as they are, numbers and booleans as written); `None` for null and
/// containers.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => f.to_string(),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A logged output: `prediction` and, for a classifier, `score_<class>` of
/// every model class.
fn read_output(output: &Value, classes: &[String]) -> Option<Output> {
    let prediction = output.get(PREDICTION_COLUMN)?;
    if classes.is_empty() {
        let value = prediction.as_f64()?;
        return Some(Output {
            predicted_class: None,
            score: value,
            predicted: vec![value],
        });
    }
    let predicted_class = value_text(prediction)?;
    let probabilities = classes
        .iter()
        .map(|c| output.get(format!("{SCORE_PREFIX}{c}"))?.as_f64())
        .collect::<Option<Vec<f64>>>()?;
    let index = classes.iter().position(|c| *c == predicted_class)?;
    Some(Output {
        predicted_class: Some(predicted_class),
        score: probabilities[index],
        predicted: probabilities,
    })
}

fn predictions_of(outputs: &[Output], classifier: bool) -> Result<RecordBatch, PipelineError> {
    let labels: Vec<Option<&str>> = outputs
        .iter()
        .map(|o| o.predicted_class.as_deref())
        .collect();
    let scores: Vec<f64> = outputs.iter().map(|o| o.score).collect();
    prediction_batch(classifier.then_some(labels.as_slice()), &scores).map_err(monitor_error)
}

/// What the comparisons and metrics need.
struct Context<'a> {
    baseline: &'a MonitoringBaseline,
    evaluation: Option<&'a Evaluation>,
    thresholds: &'a MonitoringThresholds,
    task: &'a Task,
    classes: &'a [String],
    slices: &'a [String],
    max_drop: f64,
}

impl Context<'_> {
    fn report(
        &self,
        windows: BTreeMap<i64, WindowState>,
        totals: RowTotals,
        window: Duration,
    ) -> Result<MonitorReport, PipelineError> {
        let window_millis = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let mut reports = Vec::with_capacity(windows.len());
        let mut overall: Option<StatisticsAccumulator> = None;
        let mut all_quality = QualityRows {
            slices: vec![Vec::new(); self.slices.len()],
            ..QualityRows::default()
        };
        let mut previous: Option<(DatasetStatistics, DatasetStatistics)> = None;
        let mut windows_over: HashMap<String, u64> = HashMap::new();
        for (start, mut state) in windows {
            state.flush()?;
            match overall.as_mut() {
                Some(all) => all.merge(state.features.clone())?,
                None => overall = Some(state.features.clone()),
            }
            let features = state.features.finish();
            let predictions = state.predictions.finish();
            let comparison = compare_window(
                self.baseline,
                previous.as_ref().map(|(p, _)| p),
                &features,
                &predictions,
                self.thresholds,
            );
            let skew = converted(&comparison.skew);
            let mut over: Vec<&str> = skew
                .iter()
                .filter(|c| c.over_threshold)
                .map(|c| c.feature.as_str())
                .collect();
            over.dedup();
            for feature in over {
                *windows_over.entry(feature.to_string()).or_default() += 1;
            }
            let drift = previous.as_ref().map(|_| converted(&comparison.drift));
            let prediction_drift = self
                .baseline
                .predictions
                .as_ref()
                .map(|_| converted(&comparison.prediction_drift));
            let prediction_window_drift = previous
                .as_ref()
                .map(|(_, p)| compare_predictions(p, &predictions, self.thresholds));
            let quality = if state.quality.len() > 0 {
                Some(self.quality(&state.quality)?)
            } else {
                None
            };
            let mut alerts = Vec::new();
            crossed(&mut alerts, "skew", &skew);
            crossed(&mut alerts, "drift", drift.as_deref().unwrap_or_default());
            crossed(
                &mut alerts,
                "prediction drift",
                prediction_drift.as_deref().unwrap_or_default(),
            );
            crossed(
                &mut alerts,
                "prediction drift vs the previous window",
                prediction_window_drift.as_deref().unwrap_or_default(),
            );
            if let (Some(q), Some(e)) = (&quality, self.evaluation) {
                for failure in e.thresholds().failures(&q.metrics) {
                    if !failure.contains("was not computed") {
                        alerts.push(format!("quality: {failure}"));
                    }
                }
            }
            reports.push(WindowReport {
                incomparable: comparison.errors,
                start: rfc3339(start),
                end: rfc3339(start.saturating_add(window_millis)),
                rows: state.rows,
                labelled: state.labelled,
                unlabelled: state.rows - state.labelled,
                skew,
                drift,
                prediction_drift,
                prediction_window_drift,
                quality,
                alerts,
            });
            all_quality.append(state.quality);
            previous = Some((features, predictions));
        }
        let mut alerts = Vec::new();
        let (features_changed, presence) = match overall {
            Some(all) => {
                let serving = all.finish();
                (
                    self.features_changed(&serving, &windows_over)?,
                    self.presence(&serving),
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        let quality = if all_quality.len() > 0 {
            Some(self.quality(&all_quality)?)
        } else {
            None
        };
        if let (Some(q), Some(e)) = (&quality, self.evaluation) {
            for failure in e.thresholds().failures(&q.metrics) {
                if !failure.contains("was not computed") {
                    alerts.push(format!("quality of all labelled rows: {failure}"));
                }
            }
        }
        let slices_dropped = match (&quality, self.evaluation) {
            (Some(q), Some(e)) => self.slices_dropped(q, e),
            _ => Vec::new(),
        };
        Ok(MonitorReport {
            model: String::new(),
            version: 0,
            bundle: PathBuf::new(),
            window_seconds: window.as_secs(),
            thresholds: self.thresholds.clone(),
            prediction_baseline: self.baseline.predictions.is_some(),
            rows: totals,
            labels: None,
            windows: reports,
            features_changed,
            presence,
            quality,
            slices_dropped,
            alerts,
        })
    }

    fn quality(&self, rows: &QualityRows) -> Result<QualityReport, PipelineError> {
        let n = rows.len();
        let (predictions, truth) = if self.classes.is_empty() {
            (
                Predictions::Regression {
                    values: mlrig_core::ndarray::Array1::from(rows.predicted.clone()),
                },
                Truth::Values(rows.values.clone()),
            )
        } else {
            let probabilities = mlrig_core::ndarray::Array2::from_shape_vec(
                (n, self.classes.len()),
                rows.predicted.clone(),
            )
            .map_err(|e| PipelineError::Panicked {
                what: format!("quality rows: {e}"),
            })?;
            (
                Predictions::Classification {
                    classes: self.classes.to_vec(),
                    probabilities,
                },
                Truth::from_labels(rows.classes.iter().cloned()),
            )
        };
        let metrics = task_metrics(&predictions, &truth)?;
        let columns: Vec<SliceColumn> = self
            .slices
            .iter()
            .zip(&rows.slices)
            .map(|(name, values)| SliceColumn::new(name, values.iter().map(|v| v.as_deref())))
            .collect();
        let slices = if columns.is_empty() {
            Vec::new()
        } else {
            slice_metrics(&predictions, &truth, &columns)?
                .into_iter()
                .map(|s| SliceQuality {
                    column: s.column,
                    value: s.value,
                    rows: s.rows,
                    metrics: s.metrics,
                })
                .collect()
        };
        Ok(QualityReport {
            rows: n as u64,
            metrics: metrics.values,
            omitted: metrics.omitted,
            slices,
        })
    }

    fn features_changed(
        &self,
        serving: &DatasetStatistics,
        windows_over: &HashMap<String, u64>,
    ) -> Result<Vec<FeatureChange>, PipelineError> {
        let all =
            converted(&compare_windows(self.baseline, None, serving, None, self.thresholds).skew);
        // Ranked by the alerting tests (their thresholds mean "changed too
        // much"); a feature without one is ranked by its other tests.
        let alerting = |c: &FeatureComparison| {
            self.thresholds
                .alerting_tests
                .iter()
                .any(|t| t.name() == c.test)
        };
        let with_alerting: std::collections::HashSet<&str> = all
            .iter()
            .filter(|c| alerting(c))
            .map(|c| c.feature.as_str())
            .collect();
        let mut best: BTreeMap<&str, &FeatureComparison> = BTreeMap::new();
        for c in all
            .iter()
            .filter(|c| alerting(c) || !with_alerting.contains(c.feature.as_str()))
        {
            let entry = best.entry(c.feature.as_str()).or_insert(c);
            if c.severity() > entry.severity() {
                *entry = c;
            }
        }
        let mut changes: Vec<FeatureChange> = best
            .into_values()
            .map(|c| FeatureChange {
                feature: c.feature.clone(),
                test: c.test.clone(),
                value: c.value,
                threshold: c.threshold,
                severity: c.severity(),
                over_threshold: c.over_threshold,
                windows_over: windows_over.get(&c.feature).copied().unwrap_or(0),
            })
            .collect();
        changes.sort_by(|a, b| {
            b.severity
                .total_cmp(&a.severity)
                .then(a.feature.cmp(&b.feature))
        });
        Ok(changes)
    }

    fn presence(&self, serving: &DatasetStatistics) -> Vec<PresenceChange> {
        let fraction = |missing: u64, present: u64| {
            let total = missing + present;
            if total == 0 {
                0.0
            } else {
                missing as f64 / total as f64
            }
        };
        let mut out = Vec::new();
        for s in serving.features() {
            let Some(t) = self.baseline.training.feature(&s.name) else {
                continue;
            };
            let (s_missing, s_present) = (missing(s), non_missing(s));
            let (t_missing, t_present) = (missing(t), non_missing(t));
            if s_missing + s_present == 0 {
                continue;
            }
            let change = if s_missing == 0 && t_missing > 0 {
                "never_missing"
            } else if s_present == 0 && t_present > 0 {
                "always_missing"
            } else {
                continue;
            };
            out.push(PresenceChange {
                feature: s.name.clone(),
                change: change.to_string(),
                training_missing_fraction: fraction(t_missing, t_present),
                serving_missing_fraction: fraction(s_missing, s_present),
            });
        }
        out
    }

    fn slices_dropped(&self, quality: &QualityReport, evaluation: &Evaluation) -> Vec<SliceDrop> {
        let Some(metric) = headline_metric(self.task) else {
            return Vec::new();
        };
        let higher = higher_is_better(metric).unwrap_or(true);
        let thresholds = evaluation.thresholds();
        let mut out = Vec::new();
        for live in &quality.slices {
            let key = format!("{}={}", live.column, live.value);
            let Some(reference) = evaluation.slices().iter().find(|s| s.key() == key) else {
                continue;
            };
            let (Some(&was), Some(&now)) =
                (reference.metrics.get(metric), live.metrics.get(metric))
            else {
                continue;
            };
            let drop = if higher { was - now } else { now - was };
            let max_drop = thresholds
                .slices
                .get(&key)
                .and_then(|s| s.max_drop.get(metric))
                .or_else(|| thresholds.max_drop.get(metric))
                .copied()
                .unwrap_or(self.max_drop);
            if drop > max_drop {
                out.push(SliceDrop {
                    slice: key,
                    metric: metric.to_string(),
                    evaluation: was,
                    live: now,
                    drop,
                    max_drop,
                    rows: live.rows,
                });
            }
        }
        out.sort_by(|a, b| b.drop.total_cmp(&a.drop));
        out
    }
}

/// One alert per test over its threshold.
fn crossed(alerts: &mut Vec<String>, what: &str, comparisons: &[FeatureComparison]) {
    for c in comparisons.iter().filter(|c| c.over_threshold) {
        let detail = match c.p_value {
            Some(p) => format!("p-value {p:.4} < {}", c.threshold),
            None => format!("{:.4} > {}", c.value, c.threshold),
        };
        alerts.push(format!("{what} of `{}` ({} {detail})", c.feature, c.test));
    }
}

/// Unix milliseconds as RFC 3339 UTC (seconds precision when whole).
/// 10000-01-01T00:00:00Z in Unix milliseconds: RFC 3339 years have four digits.
const MAX_RFC3339_MILLIS: i64 = 253_402_300_800_000;

/// RFC 3339 text of a time in Unix milliseconds, clamped to the years RFC
/// 3339 can write (1970 to 9999: a request's time is checked to be in them,
/// a window end past 9999 says 9999-12-31T23:59:59.999Z).
fn rfc3339(unix_millis: i64) -> String {
    let unix_millis = unix_millis.clamp(0, MAX_RFC3339_MILLIS - 1);
    let time = std::time::UNIX_EPOCH + Duration::from_millis(unix_millis.unsigned_abs());
    if unix_millis % 1000 == 0 {
        humantime::format_rfc3339_seconds(time).to_string()
    } else {
        humantime::format_rfc3339_millis(time).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::{ArrayRef, Float64Array};
    use std::sync::Arc;

    #[test]
    fn times_outside_rfc3339_years_are_written_clamped_never_panicking() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.500Z");
        assert_eq!(rfc3339(-1), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MIN), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(MAX_RFC3339_MILLIS), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn a_window_buffering_requests_accumulates_like_one_pass() {
        let batch = |values: Vec<f64>| {
            RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(values)) as ArrayRef)])
                .unwrap()
        };
        let all = batch((0..10_000).map(|i| f64::from(i % 97) / 7.0).collect());
        let schema = all.schema();
        let new = || StatisticsAccumulator::new(&schema, StatisticsParams::default());
        let mut window = WindowState {
            rows: 0,
            labelled: 0,
            features: new(),
            predictions: new(),
            pending_inputs: Vec::new(),
            pending_predictions: Vec::new(),
            pending_rows: 0,
            quality: QualityRows::default(),
        };
        for i in 0..10_000 {
            let row = all.slice(i, 1);
            window.add(row.clone(), row).unwrap();
        }
        assert!(window.pending_rows < PENDING_ROWS, "flushed on the way");
        window.flush().unwrap();
        let mut once = new();
        once.update(&all).unwrap();
        let expected = once.finish();
        assert_eq!(window.rows, 10_000);
        assert_eq!(window.features.finish(), expected);
        assert_eq!(window.predictions.finish(), expected);
    }
}
