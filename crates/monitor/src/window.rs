//! The sliding window of one model version: panes of mergeable
//! [`StatisticsAccumulator`]s, closed by time or row count, merged into the
//! window's statistics and compared at every pane close. Deterministic:
//! every time is passed in (the live monitor's worker owns one per version).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use arrow_select::concat::concat_batches;
use mlrig_core::Accumulator;
use mlrig_core::arrow_array::{Array, Float32Array, Float64Array, RecordBatch};
use mlrig_core::arrow_schema::{DataType, SchemaRef};
use mlrig_validate::{DatasetStatistics, StatisticsAccumulator, StatisticsParams};

use crate::comparison::served_prediction_batch;
use crate::{
    MonitoringBaseline, MonitoringConfig, SCORE_FEATURE, WindowComparison, compare_windows,
};

/// `side` label of input values in `mlrig_nonfinite_values_total`.
pub(crate) const SIDE_INPUT: &str = "input";
/// `side` label of output values (scores).
pub(crate) const SIDE_OUTPUT: &str = "output";

/// One served response, as the worker sees it (copied on the request path
/// without any computation: the prediction batch is built by the worker).
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    /// When it was served.
    pub(crate) time: SystemTime,
    /// The request's input rows, when the server passes them on.
    pub(crate) inputs: Option<Arc<RecordBatch>>,
    /// Classifiers: rows per predicted class.
    pub(crate) class_counts: Vec<(String, u64)>,
    /// One score per row.
    pub(crate) scores: Vec<f64>,
    /// `true` for a classifier.
    pub(crate) is_classification: bool,
    /// Rows predicted.
    pub(crate) rows: u64,
}

impl Observation {
    /// The observation of `served` at `time`.
    pub(crate) fn of(served: &mlrig_core::ServedPredictions, time: SystemTime) -> Self {
        Self {
            time,
            inputs: served.inputs.clone(),
            class_counts: served.class_counts.clone(),
            scores: served.scores.clone(),
            is_classification: served.is_classification,
            rows: served
                .inputs
                .as_ref()
                .map_or(served.rows, |b| b.num_rows() as u64),
        }
    }

    /// The prediction dataset (`predicted_class`, `score`); `None` without scores.
    fn prediction_batch(&self) -> Option<RecordBatch> {
        if self.scores.is_empty() {
            return None;
        }
        served_prediction_batch(self.is_classification, &self.class_counts, &self.scores).ok()
    }
}

/// What a window comparison published: read by `/metrics` and the JSON report.
#[derive(Debug, Clone, Default)]
pub(crate) struct Published {
    /// The last comparison (`None` before the first pane closed, or when the
    /// window emptied).
    pub(crate) comparison: Option<Arc<WindowComparison>>,
    /// `true` when the last comparison had a previous window (drift).
    pub(crate) drift_compared: bool,
    /// `true` when the last comparison had prediction statistics on both sides.
    pub(crate) predictions_compared: bool,
    /// First and last time of the compared window.
    pub(crate) window_start: Option<SystemTime>,
    /// End of the compared window (the close of its last pane).
    pub(crate) window_end: Option<SystemTime>,
    /// Rows in the compared window.
    pub(crate) window_rows: u64,
    /// Windows compared so far (one per pane close).
    pub(crate) windows_compared: u64,
    /// NaN/±∞ values seen: (side, feature) → count.
    pub(crate) nonfinite: BTreeMap<(&'static str, String), u64>,
    /// Request batches whose inputs did not match the window's columns and
    /// were skipped.
    pub(crate) skipped_batches: u64,
}

/// A pane: accumulators of inputs and predictions over a span of time.
#[derive(Debug, Clone)]
struct Pane {
    start: SystemTime,
    end: SystemTime,
    rows: u64,
    inputs: Option<StatisticsAccumulator>,
    predictions: Option<StatisticsAccumulator>,
}

impl Pane {
    fn new(start: SystemTime) -> Self {
        Self {
            start,
            end: start,
            rows: 0,
            inputs: None,
            predictions: None,
        }
    }
}

/// The sliding window of one model version.
#[derive(Debug)]
pub(crate) struct VersionWindow {
    baseline: Arc<MonitoringBaseline>,
    config: MonitoringConfig,
    params: StatisticsParams,
    /// Input schema → (columns kept, their schema): the training features only.
    projection: Option<(SchemaRef, Vec<usize>, SchemaRef)>,
    open: Option<Pane>,
    /// Closed panes, oldest first: at most `2 × panes` (window + previous window).
    closed: VecDeque<Pane>,
    pending: Vec<Observation>,
    pending_rows: u64,
    /// Panes in the last published window.
    published_panes: usize,
    published: Published,
}

impl VersionWindow {
    pub(crate) fn new(baseline: Arc<MonitoringBaseline>, config: MonitoringConfig) -> Self {
        Self {
            baseline,
            config,
            params: StatisticsParams::default(),
            projection: None,
            open: None,
            closed: VecDeque::new(),
            pending: Vec::new(),
            pending_rows: 0,
            published_panes: 0,
            published: Published::default(),
        }
    }

    pub(crate) fn baseline(&self) -> &Arc<MonitoringBaseline> {
        &self.baseline
    }

    pub(crate) fn published(&self) -> &Published {
        &self.published
    }

    /// Adds observations (in time order); closes panes that are due by time
    /// or full by rows, comparing the window at each close. Returns `true`
    /// when something was published.
    pub(crate) fn observe(&mut self, observations: impl IntoIterator<Item = Observation>) -> bool {
        let pane_duration = self.config.pane_duration();
        let pane_rows = self.config.pane_rows();
        let mut changed = false;
        for observation in observations {
            changed |= self.count_nonfinite(&observation);
            if let Some(pane) = &self.open
                && observation.time >= pane.start + pane_duration
            {
                let end = pane.start + pane_duration;
                self.close_pane(end);
                changed = true;
            }
            if self.open.is_none() {
                self.open = Some(Pane::new(observation.time));
            }
            let time = observation.time;
            self.pending_rows += observation.rows;
            self.pending.push(observation);
            let open_rows = self.open.as_ref().map_or(0, |p| p.rows);
            if open_rows + self.pending_rows >= pane_rows {
                self.close_pane(time);
                changed = true;
            }
        }
        self.flush_pending();
        changed
    }

    /// Closes the open pane if it is due at `now`, and compares the window
    /// again when panes left it by time. Returns `true` when something was
    /// published.
    pub(crate) fn tick(&mut self, now: SystemTime) -> bool {
        if let Some(pane) = &self.open
            && now >= pane.start + self.config.pane_duration()
        {
            let end = pane.start + self.config.pane_duration();
            self.close_pane(end);
            return true;
        }
        let in_window = self
            .current_range(now)
            .map_or(0, |(first, last)| last - first);
        if in_window < self.published_panes {
            self.compare(now);
            return true;
        }
        false
    }

    /// Counts the NaN/±∞ inputs (float columns of training features) and scores.
    fn count_nonfinite(&mut self, observation: &Observation) -> bool {
        let mut changed = false;
        if let Some(inputs) = &observation.inputs {
            for (field, column) in inputs.schema().fields().iter().zip(inputs.columns()) {
                if self.baseline.training.feature(field.name()).is_none() {
                    continue;
                }
                let n = nonfinite_count(column.as_ref());
                if n > 0 {
                    *self
                        .published
                        .nonfinite
                        .entry((SIDE_INPUT, field.name().clone()))
                        .or_insert(0) += n;
                    changed = true;
                }
            }
        }
        {
            let n = observation.scores.iter().filter(|x| !x.is_finite()).count() as u64;
            if n > 0 {
                *self
                    .published
                    .nonfinite
                    .entry((SIDE_OUTPUT, SCORE_FEATURE.to_string()))
                    .or_insert(0) += n;
                changed = true;
            }
        }
        changed
    }

    /// The input columns that training has statistics of.
    fn project(&mut self, batch: &RecordBatch) -> Option<RecordBatch> {
        let schema = batch.schema();
        let stale = self
            .projection
            .as_ref()
            .is_none_or(|(seen, _, _)| *seen != schema);
        if stale {
            let indices: Vec<usize> = schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| self.baseline.training.feature(f.name()).is_some())
                .map(|(i, _)| i)
                .collect();
            let projected = Arc::new(schema.project(&indices).ok()?);
            self.projection = Some((schema.clone(), indices, projected));
        }
        let (_, indices, _) = self.projection.as_ref()?;
        batch.project(indices).ok()
    }

    /// Adds the pending observations to the open pane: one concatenated batch
    /// per side, so the accumulators' per-batch cost is paid once.
    fn flush_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let rows = std::mem::take(&mut self.pending_rows);
        let inputs: Vec<RecordBatch> = pending
            .iter()
            .filter_map(|o| o.inputs.as_deref())
            .filter_map(|b| self.project(b))
            .collect();
        let predictions: Vec<RecordBatch> = pending
            .iter()
            .filter_map(Observation::prediction_batch)
            .collect();
        let params = self.params.clone();
        let Some(pane) = self.open.as_mut() else {
            return;
        };
        pane.rows += rows;
        let skipped = add_batches(&mut pane.inputs, &inputs, &params)
            + add_batches(&mut pane.predictions, &predictions, &params);
        self.published.skipped_batches += skipped;
    }

    /// Closes the open pane at `end` and compares the window.
    fn close_pane(&mut self, end: SystemTime) {
        self.flush_pending();
        let Some(mut pane) = self.open.take() else {
            return;
        };
        pane.end = end.max(pane.start);
        self.closed.push_back(pane);
        let keep = 2 * self.config.panes.max(1);
        while self.closed.len() > keep {
            self.closed.pop_front();
        }
        self.compare(end);
    }

    /// Indices `[first, last)` of the closed panes in the window at `now`:
    /// the last `panes` panes that ended less than `window` ago.
    fn current_range(&self, now: SystemTime) -> Option<(usize, usize)> {
        let len = self.closed.len();
        let mut first = len;
        while first > 0
            && len - first < self.config.panes.max(1)
            && self.closed[first - 1].end + self.config.window > now
        {
            first -= 1;
        }
        (first < len).then_some((first, len))
    }

    /// Compares the window at `now` with training, the previous window and
    /// the evaluation's predictions, and publishes the result.
    fn compare(&mut self, now: SystemTime) {
        let panes = self.config.panes.max(1);
        // Panes older than two windows are of no use any more.
        while self
            .closed
            .front()
            .is_some_and(|p| p.end + 2 * self.config.window <= now)
        {
            self.closed.pop_front();
        }
        let Some((first, last)) = self.current_range(now) else {
            self.published_panes = 0;
            self.published.comparison = None;
            self.published.window_rows = 0;
            self.published.window_start = None;
            self.published.window_end = None;
            return;
        };
        self.published_panes = last - first;
        let current: Vec<&Pane> = self.closed.range(first..last).collect();
        let previous: Vec<&Pane> = self
            .closed
            .range(first.saturating_sub(panes)..first)
            .filter(|p| p.end + 2 * self.config.window > now)
            .collect();
        let inputs = merged(current.iter().map(|p| p.inputs.as_ref()));
        let predictions = merged(current.iter().map(|p| p.predictions.as_ref()));
        let previous_inputs = merged(previous.iter().map(|p| p.inputs.as_ref()));
        let current_stats = inputs.unwrap_or_default();
        let comparison = compare_windows(
            &self.baseline,
            previous_inputs.as_ref(),
            &current_stats,
            predictions.as_ref(),
            &self.config.thresholds,
        );
        self.published.drift_compared = previous_inputs.is_some();
        self.published.predictions_compared =
            predictions.is_some() && self.baseline.predictions.is_some();
        self.published.window_rows = current.iter().map(|p| p.rows).sum();
        self.published.window_start = current.first().map(|p| p.start);
        self.published.window_end = current.last().map(|p| p.end);
        self.published.windows_compared += 1;
        self.published.comparison = Some(Arc::new(comparison));
    }
}

/// Adds `batches` (concatenated) to `accumulator`, creating it for their
/// schema; returns how many batches were skipped (schema mismatch).
fn add_batches(
    accumulator: &mut Option<StatisticsAccumulator>,
    batches: &[RecordBatch],
    params: &StatisticsParams,
) -> u64 {
    let Some(first) = batches.first() else {
        return 0;
    };
    let schema = first.schema();
    let (same, other): (Vec<&RecordBatch>, Vec<&RecordBatch>) =
        batches.iter().partition(|b| b.schema() == schema);
    let mut skipped = other.len() as u64;
    let acc =
        accumulator.get_or_insert_with(|| StatisticsAccumulator::new(&schema, params.clone()));
    let update = match concat_batches(&schema, same.iter().copied()) {
        Ok(batch) => acc.update(&batch).is_ok(),
        Err(_) => false,
    };
    if !update {
        skipped += same.len() as u64;
    }
    skipped
}

/// The statistics of the merged accumulators (clones: the panes stay).
fn merged<'a>(
    accumulators: impl Iterator<Item = Option<&'a StatisticsAccumulator>>,
) -> Option<DatasetStatistics> {
    let mut total: Option<StatisticsAccumulator> = None;
    for acc in accumulators.flatten() {
        match &mut total {
            None => total = Some(acc.clone()),
            Some(t) => {
                // Panes of one version share a schema; a pane whose inputs
                // changed shape cannot be merged and is left out.
                let _ = t.merge(acc.clone());
            }
        }
    }
    total.map(Accumulator::finish)
}

/// NaN and ±∞ values of a float column (0 for other types).
fn nonfinite_count(column: &dyn Array) -> u64 {
    match column.data_type() {
        DataType::Float64 => column
            .as_any()
            .downcast_ref::<Float64Array>()
            .map_or(0, |a| {
                a.iter().flatten().filter(|x| !x.is_finite()).count() as u64
            }),
        DataType::Float32 => column
            .as_any()
            .downcast_ref::<Float32Array>()
            .map_or(0, |a| {
                a.iter().flatten().filter(|x| !x.is_finite()).count() as u64
            }),
        _ => 0,
    }
}
