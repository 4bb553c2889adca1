//! The sliding window of one model version: panes of mergeable
//! [`StatisticsAccumulator`]s, closed by time or row count, merged into the
//! window's statistics and compared when a pane closes — at most once per
//! [`MIN_COMPARE_INTERVAL`] (or pane duration, if shorter): under heavy
//! traffic panes close by row count many times a second, and a pane that
//! closes sooner only rolls the accumulators; the window is compared at the
//! next close or tick after the interval (or at a flush). Deterministic:
//! every time is passed in (the live monitor's worker owns one per version).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use arrow_select::concat::concat_batches;
use mlrig_core::Accumulator;
use mlrig_core::arrow_array::{Array, Float32Array, Float64Array, RecordBatch};
use mlrig_core::arrow_schema::{DataType, SchemaRef};
use mlrig_validate::{DatasetStatistics, StatisticsAccumulator, StatisticsParams};

use crate::comparison::prediction_batch_of_counts;
use crate::{
    MonitoringBaseline, MonitoringConfig, SCORE_FEATURE, WindowComparison, compare_windows,
};

/// Least time between two comparisons of a version's window (capped by the
/// pane duration): comparing costs ~100 µs per feature set, and under load
/// panes close by row count far more often than gauges are scraped.
pub(crate) const MIN_COMPARE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Batches averaging fewer rows than this are concatenated before they are
/// added to a pane's accumulators (the accumulators' per-batch cost is paid
/// once); bigger ones are added one by one, without a copy.
const CONCAT_BELOW_ROWS: usize = 64;

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
        prediction_batch_of_counts(self.is_classification, &self.class_counts, &self.scores).ok()
    }
}

/// Rows of one observation on their way into a pane.
#[derive(Debug, Clone, Default)]
struct Part {
    /// The training features of the inputs.
    inputs: Option<RecordBatch>,
    /// The prediction dataset.
    predictions: Option<RecordBatch>,
    rows: u64,
}

impl Part {
    /// The first `k` rows and the rest.
    fn split(self, k: u64) -> (Part, Part) {
        if self.rows <= k {
            return (self, Part::default());
        }
        let cut = |b: &RecordBatch| {
            let at = usize::try_from(k).unwrap_or(usize::MAX).min(b.num_rows());
            (b.slice(0, at), b.slice(at, b.num_rows() - at))
        };
        let (hi, ti) = match &self.inputs {
            Some(b) => {
                let (h, t) = cut(b);
                (Some(h), Some(t))
            }
            None => (None, None),
        };
        let (hp, tp) = match &self.predictions {
            Some(b) => {
                let (h, t) = cut(b);
                (Some(h), Some(t))
            }
            None => (None, None),
        };
        (
            Part {
                inputs: hi,
                predictions: hp,
                rows: k,
            },
            Part {
                inputs: ti,
                predictions: tp,
                rows: self.rows - k,
            },
        )
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
    rows: u64,
    inputs: Option<StatisticsAccumulator>,
    predictions: Option<StatisticsAccumulator>,
}

impl Pane {
    fn new(start: SystemTime) -> Self {
        Self {
            start,
            rows: 0,
            inputs: None,
            predictions: None,
        }
    }
}

/// A closed pane's place in time.
#[derive(Debug, Clone, Copy)]
struct PaneSpan {
    start: SystemTime,
    end: SystemTime,
    rows: u64,
}

/// The merge of a sliding sequence of accumulators ("two stacks"): pushing
/// at the back and popping at the front cost O(1) merges amortized, and
/// the total costs two clones and a merge, instead of merging every pane
/// again at each slide. Merges are exact and order-independent, so the
/// total is the same bits as merging the panes one by one.
#[derive(Debug, Default)]
struct SlidingMerge {
    /// Oldest last: each entry merges its pane and every newer pane of `front`.
    front: Vec<Option<StatisticsAccumulator>>,
    /// Panes pushed since the last flip, oldest first.
    back: Vec<Option<StatisticsAccumulator>>,
    /// The merge of `back`.
    back_total: Option<StatisticsAccumulator>,
}

impl SlidingMerge {
    fn push(&mut self, accumulator: Option<StatisticsAccumulator>) {
        if let Some(a) = &accumulator {
            merge_into(&mut self.back_total, a.clone());
        }
        self.back.push(accumulator);
    }

    fn pop_front(&mut self) {
        if self.front.is_empty() {
            let mut running: Option<StatisticsAccumulator> = None;
            for accumulator in self.back.drain(..).rev() {
                if let Some(a) = accumulator {
                    merge_into(&mut running, a);
                }
                self.front.push(running.clone());
            }
            self.back_total = None;
        }
        self.front.pop();
    }

    fn total(&self) -> Option<StatisticsAccumulator> {
        let mut total = self.front.last().cloned().flatten();
        if let Some(b) = &self.back_total {
            merge_into(&mut total, b.clone());
        }
        total
    }
}

/// Merges `accumulator` into `total` (a pane whose inputs changed shape
/// cannot be merged and is left out).
fn merge_into(total: &mut Option<StatisticsAccumulator>, accumulator: StatisticsAccumulator) {
    match total {
        None => *total = Some(accumulator),
        Some(t) => {
            let _ = t.merge(accumulator);
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
    /// The window's closed panes, oldest first (at most `panes`).
    closed: VecDeque<PaneSpan>,
    /// Their input accumulators, merged as the window slides.
    inputs: SlidingMerge,
    /// Their prediction accumulators.
    predictions: SlidingMerge,
    /// Input statistics of the last compared windows (time, sequence number
    /// of their last pane, statistics), oldest first: the oldest is the
    /// newest that does not overlap the window (the previous window).
    history: VecDeque<(SystemTime, u64, Arc<DatasetStatistics>)>,
    /// The previous window of the last comparison.
    previous: Option<Arc<DatasetStatistics>>,
    /// Sequence number of the next pane to close (panes are numbered from 0).
    next_seq: u64,
    /// Sequence numbers of the closed panes in `closed`.
    closed_seqs: VecDeque<u64>,
    /// Least time between two comparisons.
    compare_interval: std::time::Duration,
    /// When the window was last compared after a pane closed.
    last_compared: Option<SystemTime>,
    /// A pane closed since the last comparison.
    dirty: bool,
    pending: Vec<Part>,
    pending_rows: u64,
    published: Published,
}

impl VersionWindow {
    pub(crate) fn new(baseline: Arc<MonitoringBaseline>, config: MonitoringConfig) -> Self {
        let compare_interval = MIN_COMPARE_INTERVAL.min(config.pane_duration());
        Self {
            baseline,
            config,
            params: StatisticsParams::default(),
            projection: None,
            open: None,
            closed: VecDeque::new(),
            inputs: SlidingMerge::default(),
            predictions: SlidingMerge::default(),
            history: VecDeque::new(),
            previous: None,
            next_seq: 0,
            closed_seqs: VecDeque::new(),
            compare_interval,
            last_compared: None,
            dirty: false,
            pending: Vec::new(),
            pending_rows: 0,
            published: Published::default(),
        }
    }

    /// Sets the least time between two comparisons (tests: zero compares
    /// at every pane close).
    #[cfg(test)]
    pub(crate) fn with_compare_interval(mut self, interval: std::time::Duration) -> Self {
        self.compare_interval = interval;
        self
    }

    /// Compares the window now if a pane closed since its last comparison
    /// (a flush: the report then reflects every closed pane). Returns `true`
    /// when something was published.
    pub(crate) fn compare_if_dirty(&mut self, now: SystemTime) -> bool {
        if !self.dirty {
            return false;
        }
        let end = self.closed.back().map_or(now, |p| p.end);
        self.compare(end, true);
        true
    }

    pub(crate) fn baseline(&self) -> &Arc<MonitoringBaseline> {
        &self.baseline
    }

    pub(crate) fn published(&self) -> &Published {
        &self.published
    }

    /// Adds observations (in time order); closes panes that are due by time
    /// or full by rows (a batch that fills a pane is split at the pane's row
    /// bound), comparing the window at each close. Returns `true` when
    /// something was published.
    pub(crate) fn observe(&mut self, observations: impl IntoIterator<Item = Observation>) -> bool {
        let pane_duration = self.config.pane_duration();
        let pane_rows = self.config.pane_rows();
        let mut changed = false;
        for observation in observations {
            changed |= self.count_nonfinite(&observation);
            if let Some(pane) = &self.open
                && is_due(pane.start, pane_duration, observation.time)
            {
                let end = pane_end(pane.start, pane_duration);
                changed |= self.close_pane(end);
            }
            let mut part = self.part_of(&observation);
            while part.rows > 0 {
                if self.open.is_none() {
                    self.open = Some(Pane::new(observation.time));
                }
                let filled = self.open.as_ref().map_or(0, |p| p.rows) + self.pending_rows;
                let room = pane_rows.saturating_sub(filled).max(1);
                let (head, tail) = part.split(room);
                let head_rows = head.rows;
                self.pending_rows += head_rows;
                self.pending.push(head);
                if filled + head_rows >= pane_rows {
                    changed |= self.close_pane(observation.time);
                }
                part = tail;
            }
        }
        self.flush_pending();
        changed
    }

    /// The rows of `observation` this window keeps: the training features of
    /// its inputs and its prediction dataset.
    fn part_of(&mut self, observation: &Observation) -> Part {
        let inputs = observation.inputs.as_deref().and_then(|b| self.project(b));
        let predictions = observation.prediction_batch();
        let rows = inputs
            .as_ref()
            .map(|b| b.num_rows() as u64)
            .or_else(|| predictions.as_ref().map(|b| b.num_rows() as u64))
            .unwrap_or(observation.rows);
        Part {
            inputs,
            predictions,
            rows,
        }
    }

    /// Closes the open pane if it is due at `now`, and compares the window
    /// again when panes left it by time. Returns `true` when something was
    /// published.
    pub(crate) fn tick(&mut self, now: SystemTime) -> bool {
        if let Some(pane) = &self.open
            && is_due(pane.start, self.config.pane_duration(), now)
        {
            let end = pane_end(pane.start, self.config.pane_duration());
            return self.close_pane(end);
        }
        if self.dirty && self.may_compare(now) {
            self.compare(now, true);
            return true;
        }
        if self
            .closed
            .front()
            .is_some_and(|p| !within(p.end, self.config.window, now))
        {
            self.compare(now, false);
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
        let inputs: Vec<RecordBatch> = pending.iter().filter_map(|p| p.inputs.clone()).collect();
        let predictions: Vec<RecordBatch> =
            pending.into_iter().filter_map(|p| p.predictions).collect();
        let params = self.params.clone();
        let Some(pane) = self.open.as_mut() else {
            return;
        };
        pane.rows += rows;
        let skipped = add_batches(&mut pane.inputs, &inputs, &params)
            + add_batches(&mut pane.predictions, &predictions, &params);
        self.published.skipped_batches += skipped;
    }

    /// Closes the open pane at `end` and compares the window if the last
    /// comparison is at least the compare interval old (else the window is
    /// compared later: at a tick, the next close or a flush). Returns `true`
    /// when it compared.
    fn close_pane(&mut self, end: SystemTime) -> bool {
        self.flush_pending();
        let Some(pane) = self.open.take() else {
            return false;
        };
        self.closed.push_back(PaneSpan {
            start: pane.start,
            end: end.max(pane.start),
            rows: pane.rows,
        });
        self.closed_seqs.push_back(self.next_seq);
        self.next_seq += 1;
        self.inputs.push(pane.inputs);
        self.predictions.push(pane.predictions);
        self.dirty = true;
        if self.may_compare(end) {
            self.compare(end, true);
            return true;
        }
        // Panes beyond the window's count leave it without waiting for the
        // comparison, so the merged accumulators stay bounded.
        while self.closed.len() > self.config.panes.max(1) {
            self.pop_pane();
        }
        false
    }

    /// `true` when the window may be compared at `now` (interval elapsed).
    fn may_compare(&self, now: SystemTime) -> bool {
        self.last_compared.is_none_or(|last| {
            last.checked_add(self.compare_interval)
                .is_none_or(|due| now >= due)
        })
    }

    /// Drops the oldest closed pane.
    fn pop_pane(&mut self) {
        self.closed.pop_front();
        self.closed_seqs.pop_front();
        self.inputs.pop_front();
        self.predictions.pop_front();
    }

    /// Compares the window at `now` (after dropping the panes that left it)
    /// with training, the previous window and the evaluation's predictions,
    /// and publishes the result. `closed`: a pane just closed (the window
    /// moved on; else panes only expired).
    fn compare(&mut self, now: SystemTime, closed: bool) {
        let panes = self.config.panes.max(1);
        while self.closed.len() > panes
            || self
                .closed
                .front()
                .is_some_and(|p| !within(p.end, self.config.window, now))
        {
            self.pop_pane();
        }
        if self.closed.is_empty() {
            self.published.comparison = None;
            self.published.window_rows = 0;
            self.published.window_start = None;
            self.published.window_end = None;
            return;
        }
        let first_seq = self.closed_seqs.front().copied().unwrap_or(0);
        if closed {
            // The previous window: the newest compared window whose last
            // pane closed before this one's first pane (non-overlapping);
            // one older than two windows is of no use.
            while self
                .history
                .get(1)
                .is_some_and(|(_, last, _)| *last < first_seq)
            {
                self.history.pop_front();
            }
            self.previous = self
                .history
                .front()
                .filter(|(_, last, _)| *last < first_seq)
                .filter(|(end, _, _)| within(*end, self.config.window.saturating_mul(2), now))
                .map(|(_, _, stats)| stats.clone());
        }
        let current = Arc::new(
            self.inputs
                .total()
                .map(Accumulator::finish)
                .unwrap_or_default(),
        );
        let predictions = self.predictions.total().map(Accumulator::finish);
        let comparison = compare_windows(
            &self.baseline,
            self.previous.as_deref(),
            &current,
            predictions.as_ref(),
            &self.config.thresholds,
        );
        if closed {
            let last_seq = self.closed_seqs.back().copied().unwrap_or(0);
            self.history.push_back((now, last_seq, current));
            // Bounded even when no window qualifies as previous yet.
            while self.history.len() > panes + 1 {
                self.history.pop_front();
            }
            self.last_compared = Some(now);
            self.dirty = false;
        }
        self.published.drift_compared = self.previous.is_some();
        self.published.predictions_compared =
            predictions.is_some() && self.baseline.predictions.is_some();
        self.published.window_rows = self.closed.iter().map(|p| p.rows).sum();
        self.published.window_start = self.closed.front().map(|p| p.start);
        self.published.window_end = self.closed.back().map(|p| p.end);
        self.published.windows_compared += 1;
        self.published.comparison = Some(Arc::new(comparison));
    }
}

/// `true` when a pane that started at `start` and lasts `span` is due at `now`.
fn is_due(start: SystemTime, span: std::time::Duration, now: SystemTime) -> bool {
    start.checked_add(span).is_some_and(|end| now >= end)
}

/// The end of a pane that started at `start` and lasts `span`.
fn pane_end(start: SystemTime, span: std::time::Duration) -> SystemTime {
    start.checked_add(span).unwrap_or(start)
}

/// `true` when `end + span` is still after `now` (or beyond what a time can hold).
fn within(end: SystemTime, span: std::time::Duration, now: SystemTime) -> bool {
    end.checked_add(span).is_none_or(|limit| limit > now)
}

/// Adds `batches` to `accumulator` (concatenated when they are small, see
/// [`CONCAT_BELOW_ROWS`]), creating it for their schema; returns how many
/// batches were skipped (schema mismatch).
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
    let rows: usize = same.iter().map(|b| b.num_rows()).sum();
    if same.len() > 1 && rows < CONCAT_BELOW_ROWS * same.len() {
        let update = match concat_batches(&schema, same.iter().copied()) {
            Ok(batch) => acc.update(&batch).is_ok(),
            Err(_) => false,
        };
        if !update {
            skipped += same.len() as u64;
        }
    } else {
        skipped += same.iter().filter(|b| acc.update(b).is_err()).count() as u64;
    }
    skipped
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

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::{ArrayRef, Int64Array, StringArray};
    use mlrig_validate::{SchemaInferenceParams, compute_statistics, infer_schema};
    use proptest::prelude::*;
    use std::time::Duration;

    use crate::ComparisonTest;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + seconds)
    }

    fn batch(jobs: &[&str]) -> RecordBatch {
        let n = jobs.len() as i64;
        RecordBatch::try_from_iter([
            (
                "job",
                Arc::new(StringArray::from(jobs.to_vec())) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn observation(jobs: &[&str], time: SystemTime) -> Observation {
        let scores = vec![0.5; jobs.len()];
        Observation {
            time,
            inputs: Some(Arc::new(batch(jobs))),
            class_counts: vec![("yes".into(), jobs.len() as u64)],
            scores,
            is_classification: true,
            rows: jobs.len() as u64,
        }
    }

    /// A window over training data of jobs `a` and `b`, with `panes` panes of
    /// `pane_rows` rows or 10 s.
    fn window(panes: usize, pane_rows: u64) -> VersionWindow {
        let training = batch(&["a", "b", "a", "b"]);
        let stats = compute_statistics(
            std::slice::from_ref(&training),
            &training.schema(),
            &StatisticsParams::default(),
        )
        .unwrap();
        let schema = infer_schema(&stats, &SchemaInferenceParams::default());
        let config = MonitoringConfig::default()
            .with_panes(panes)
            .with_max_rows(pane_rows * panes as u64)
            .with_window(Duration::from_secs(10 * panes as u64));
        VersionWindow::new(Arc::new(MonitoringBaseline::new(stats, schema)), config)
            .with_compare_interval(Duration::ZERO)
    }

    #[test]
    fn row_closed_panes_are_compared_at_most_once_per_interval() {
        let mut w = window(2, 2).with_compare_interval(Duration::from_secs(1));
        // Three panes close at t = 0: one comparison; the window keeps two panes.
        assert!(w.observe([observation(&["a"; 6], at(0))]));
        assert_eq!(w.published().windows_compared, 1);
        assert_eq!(w.published().window_rows, 2);
        assert_eq!(w.closed.len(), 2);
        // Within the interval: rolled, not compared; a tick after it compares.
        assert!(!w.observe([observation(&["b"; 2], at(0))]));
        assert!(!w.tick(at(0)));
        assert!(w.tick(at(1)));
        let p = w.published();
        assert_eq!((p.windows_compared, p.window_rows), (2, 4));
        // The latest panes (a, b) are compared.
        assert_eq!(linf(p, false), 0.0);
        // A flush compares what closed since.
        w.observe([observation(&["b"; 2], at(1))]);
        assert!(w.compare_if_dirty(at(1)));
        assert!(!w.compare_if_dirty(at(1)));
        assert_eq!(w.published().windows_compared, 3);
        assert_eq!(linf(w.published(), false), 0.5);
    }

    fn linf(published: &Published, drift: bool) -> f64 {
        let c = published.comparison.as_ref().unwrap();
        let list = if drift { &c.drift } else { &c.skew };
        list.iter()
            .find(|c| c.feature == "job" && c.test == ComparisonTest::Linf)
            .unwrap()
            .value
    }

    #[test]
    fn panes_close_by_row_count_and_split_batches_at_the_bound() {
        let mut w = window(3, 10);
        assert!(!w.observe([observation(&["a"; 6], at(0))]));
        assert!(w.published().comparison.is_none());
        // 6 + 6 rows: the pane closes at 10, 2 rows go to the next pane.
        assert!(w.observe([observation(&["b"; 6], at(1))]));
        assert_eq!(
            (w.published().windows_compared, w.published().window_rows),
            (1, 10)
        );
        // One batch of 25 rows closes two more panes (10 + 10), 7 rows wait.
        assert!(w.observe([observation(&["a"; 25], at(2))]));
        let p = w.published();
        assert_eq!((p.windows_compared, p.window_rows), (3, 30));
        assert_eq!(w.open.as_ref().unwrap().rows, 7);
        assert_eq!((p.window_start, p.window_end), (Some(at(0)), Some(at(2))));
        // The window holds the last 3 panes only.
        assert!(w.observe([observation(&["a"; 3], at(3))]));
        assert_eq!(w.published().window_rows, 30);
        assert_eq!(w.published().windows_compared, 4);
    }

    #[test]
    fn panes_close_by_time_and_old_panes_leave_the_window() {
        let mut w = window(3, 1000);
        w.observe([observation(&["a", "b"], at(0))]);
        // 11 s later: the first pane (0–10 s) closes before the new rows join.
        assert!(w.observe([observation(&["a", "a", "a"], at(11))]));
        let p = w.published();
        assert_eq!((p.windows_compared, p.window_rows), (1, 2));
        assert_eq!((p.window_start, p.window_end), (Some(at(0)), Some(at(10))));
        assert_eq!(linf(p, false), 0.0);
        // Nothing due at 20 s; at 21 s the second pane (11–21 s) closes.
        assert!(!w.tick(at(20)));
        assert!(w.tick(at(21)));
        assert_eq!(w.published().window_rows, 5);
        // The 30-s window forgets the first pane at 40 s, the second at 51 s.
        assert!(!w.tick(at(39)));
        assert!(w.tick(at(40)));
        assert_eq!(w.published().window_rows, 3);
        assert!(!w.tick(at(45)));
        assert!(w.tick(at(51)));
        assert!(w.published().comparison.is_none());
        assert_eq!(w.published().window_rows, 0);
        assert!(!w.tick(at(1000)));
    }

    #[test]
    fn drift_compares_with_the_previous_non_overlapping_window() {
        let mut w = window(2, 4);
        w.observe([observation(&["a"; 4], at(0))]);
        w.observe([observation(&["a"; 4], at(1))]);
        // Two panes: one window, nothing before it.
        assert!(!w.published().drift_compared);
        assert!(w.published().comparison.as_ref().unwrap().drift.is_empty());
        w.observe([observation(&["b"; 4], at(2))]);
        assert!(w.published().drift_compared);
        // Window = panes 2–3 (a, b), previous = pane 1 (a).
        assert_eq!(linf(w.published(), true), 0.5);
        w.observe([observation(&["b"; 4], at(3))]);
        // Window = panes 3–4 (b, b), previous = panes 1–2 (a, a).
        assert_eq!(linf(w.published(), true), 1.0);
        assert_eq!(linf(w.published(), false), 0.5);
        assert_eq!((w.closed.len(), w.history.len()), (2, 3));
        w.observe([observation(&["b"; 4], at(4))]);
        assert_eq!(
            (w.closed.len(), w.history.len()),
            (2, 3),
            "one window of panes (and the previous window's comparison) is kept"
        );
        // Window = panes 4–5 (b, b), previous = panes 2–3 (a, b).
        assert_eq!(linf(w.published(), true), 0.5);
        // Predictions are compared only when the baseline has them.
        assert!(!w.published().predictions_compared);
    }

    #[test]
    fn inputs_of_another_shape_are_skipped_and_counted() {
        let mut w = window(1, 100);
        w.observe([observation(&["a", "b"], at(0))]);
        let odd = RecordBatch::try_from_iter([(
            "job",
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        )])
        .unwrap();
        let mut o = observation(&["a", "b"], at(1));
        o.inputs = Some(Arc::new(odd));
        w.observe([o]);
        w.tick(at(100));
        assert_eq!(w.published().skipped_batches, 1);
        assert_eq!(w.published().window_rows, 4);
    }

    #[test]
    fn nonfinite_values_of_training_features_and_scores_are_counted() {
        let mut w = window(1, 100);
        let mut o = observation(&["a"], at(0));
        o.scores = vec![f64::NAN];
        o.inputs = Some(Arc::new(
            RecordBatch::try_from_iter([(
                "n",
                Arc::new(Float64Array::from(vec![f64::INFINITY])) as ArrayRef,
            )])
            .unwrap(),
        ));
        assert!(w.observe([o]));
        let counts = &w.published().nonfinite;
        assert_eq!(counts.get(&(SIDE_INPUT, "n".to_string())), Some(&1));
        assert_eq!(
            counts.get(&(SIDE_OUTPUT, SCORE_FEATURE.to_string())),
            Some(&1)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Whatever the request sizes and pane bounds, the panes of a window
        /// merge to the statistics of its rows in one pass.
        #[test]
        fn panes_merge_to_the_single_pass_statistics(
            sizes in proptest::collection::vec(1usize..30, 1..20),
            pane_rows in 1u64..40,
        ) {
            let total: usize = sizes.iter().sum();
            let mut w = window(100_000, pane_rows);
            let jobs: Vec<String> = (0..total).map(|i| format!("j{}", i % 7)).collect();
            let all = batch(&jobs.iter().map(String::as_str).collect::<Vec<_>>());
            let mut offset = 0;
            for (i, size) in sizes.iter().enumerate() {
                let slice = all.slice(offset, *size);
                let mut o = observation(&vec!["x"; *size], at(i as u64 / 1000));
                o.inputs = Some(Arc::new(slice));
                w.observe([o]);
                offset += size;
            }
            let closed = w.closed.len() as u64;
            prop_assert_eq!(closed, total as u64 / pane_rows);
            let mut merged = w.inputs.total();
            if let Some(open) = w.open.as_ref().and_then(|p| p.inputs.clone()) {
                merge_into(&mut merged, open);
            }
            let merged = merged.unwrap().finish();
            let single = compute_statistics(std::slice::from_ref(&all), &all.schema(), &StatisticsParams::default()).unwrap();
            prop_assert_eq!(merged, single);
        }

        /// As the window slides, its merged panes are the statistics of
        /// exactly the rows of its last `panes` panes.
        #[test]
        fn the_sliding_window_holds_the_rows_of_its_last_panes(
            sizes in proptest::collection::vec(1usize..30, 1..30),
            pane_rows in 1u64..20,
            panes in 1usize..5,
        ) {
            let total: usize = sizes.iter().sum();
            let mut w = window(panes, pane_rows);
            let values: Vec<i64> = (0..total as i64).map(|i| (i * 7919) % 101).collect();
            let all = RecordBatch::try_from_iter([
                ("job", Arc::new(StringArray::from(values.iter().map(|v| format!("j{}", v % 5)).collect::<Vec<_>>())) as ArrayRef),
                ("n", Arc::new(Int64Array::from(values.clone())) as ArrayRef),
            ]).unwrap();
            let mut offset = 0;
            for size in &sizes {
                let mut o = observation(&vec!["x"; *size], at(0));
                o.inputs = Some(Arc::new(all.slice(offset, *size)));
                w.observe([o]);
                offset += size;
            }
            let closes = total / pane_rows as usize;
            prop_assume!(closes > 0);
            let first = closes.saturating_sub(panes) * pane_rows as usize;
            let last = closes * pane_rows as usize;
            let expected = all.slice(first, last - first);
            let single = compute_statistics(std::slice::from_ref(&expected), &expected.schema(), &StatisticsParams::default()).unwrap();
            prop_assert_eq!(w.inputs.total().unwrap().finish(), single);
            prop_assert_eq!(w.published().window_rows, (last - first) as u64);
        }
    }
}
