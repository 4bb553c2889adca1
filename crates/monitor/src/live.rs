//! [`LiveMonitor`]: live skew, drift and prediction drift of served models,
//! accumulated on a background thread and exported as Prometheus gauges and
//! a JSON report.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mlrig_core::{MonitoringSource, ServedPredictions};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::window::{Observation, Published, SIDE_INPUT, SIDE_OUTPUT, VersionWindow};
use crate::{
    ComparisonSection, FeatureComparison, MonitorError, MonitoringBaseline, MonitoringConfig,
    MonitoringReport, NonFiniteCounts, ServingMetrics, WindowSummary,
};

/// Most queued messages the worker takes at once (their input batches are
/// concatenated per model version before the accumulators see them).
const DRAIN_LIMIT: usize = 1024;

/// Where the live monitor reads the time: injectable so that tests (and
/// replays) are deterministic.
///
/// ```
/// use mlrig_monitor::{Clock, SystemClock};
/// assert!(SystemClock.now() > std::time::UNIX_EPOCH);
/// ```
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
///
/// ```
/// use mlrig_monitor::Clock;
/// let t = mlrig_monitor::SystemClock.now();
/// assert!(t.duration_since(std::time::UNIX_EPOCH).is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to (tests, replays of logged traffic).
///
/// ```
/// use mlrig_monitor::{Clock, ManualClock};
/// use std::time::{Duration, UNIX_EPOCH};
/// let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(100));
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(105));
/// clock.set(UNIX_EPOCH);
/// assert_eq!(clock.now(), UNIX_EPOCH);
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock showing `start`.
    ///
    /// ```
    /// use mlrig_monitor::{Clock, ManualClock};
    /// assert_eq!(ManualClock::new(std::time::UNIX_EPOCH).now(), std::time::UNIX_EPOCH);
    /// ```
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Sets the time.
    ///
    /// ```
    /// use mlrig_monitor::{Clock, ManualClock};
    /// let c = ManualClock::new(std::time::UNIX_EPOCH);
    /// c.set(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1));
    /// assert_eq!(c.now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(), 1);
    /// ```
    pub fn set(&self, now: SystemTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the time forward by `by`.
    ///
    /// ```
    /// use mlrig_monitor::{Clock, ManualClock};
    /// let c = ManualClock::new(std::time::UNIX_EPOCH);
    /// c.advance(std::time::Duration::from_millis(1500));
    /// assert_eq!(c.now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis(), 1500);
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A monitored model version: its baseline and what its window last published.
#[derive(Debug)]
struct Registered {
    baseline: Arc<MonitoringBaseline>,
    published: Mutex<Published>,
}

impl Registered {
    fn published(&self) -> Published {
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Model → version → registration.
type Versions = BTreeMap<String, BTreeMap<u64, Arc<Registered>>>;

/// State shared by the request path, the worker and the metrics collector.
#[derive(Debug)]
struct Shared {
    config: MonitoringConfig,
    clock: Arc<dyn Clock>,
    versions: RwLock<Versions>,
    dropped: AtomicU64,
    budget: RowBudget,
}

/// The rows-per-second budget of [`MonitoringConfig::max_rows_per_second`]:
/// each second's first rows are monitored, the rest only counted. Two
/// atomics on the request path; a race at a second's turn may let a few
/// rows more through, which only makes the sample a little larger.
#[derive(Debug, Default)]
struct RowBudget {
    second: AtomicU64,
    used: AtomicU64,
    sampled_out: AtomicU64,
}

impl RowBudget {
    /// Whether a batch of `rows` at `time` is monitored; a batch is taken
    /// whole while the second's budget is not yet spent.
    fn admit(&self, limit: u64, rows: u64, time: SystemTime) -> bool {
        if limit == 0 {
            return true;
        }
        let second = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let current = self.second.load(Ordering::Relaxed);
        if current != second
            && self
                .second
                .compare_exchange(current, second, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.used.store(0, Ordering::Relaxed);
        }
        if self.used.fetch_add(rows, Ordering::Relaxed) < limit {
            true
        } else {
            self.sampled_out.fetch_add(rows, Ordering::Relaxed);
            false
        }
    }
}

impl Shared {
    fn lookup(&self, model: &str, version: u64) -> Option<Arc<Registered>> {
        self.versions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
            .and_then(|v| v.get(&version))
            .cloned()
    }

    fn all(&self) -> Vec<(String, u64, Arc<Registered>)> {
        let versions = self.versions.read().unwrap_or_else(PoisonError::into_inner);
        versions
            .iter()
            .flat_map(|(m, vs)| vs.iter().map(move |(v, r)| (m.clone(), *v, r.clone())))
            .collect()
    }
}

/// What the request path and control calls send to the worker.
enum Message {
    Observe {
        model: String,
        version: u64,
        observation: Observation,
    },
    Tick,
    Flush(SyncSender<()>),
}

/// Live training/serving skew, drift and prediction drift of every
/// registered model version (see the crate docs for the data flow).
///
/// [`observe`](Self::observe) (called by [`crate::MetricsLayer`] for every
/// response carrying [`ServedPredictions`] with inputs) only copies `Arc`s
/// and the scores into a bounded queue (`try_send`: a full queue drops the
/// batch and counts it in `mlrig_monitoring_dropped_total`). A background
/// thread feeds queued batches per version (small ones concatenated) to the
/// open pane's [`StatisticsAccumulator`](mlrig_validate::StatisticsAccumulator)s;
/// panes close after `window / panes` or `max_rows / panes` rows, and at a
/// pane close or idle tick — at most once a second per version (or pane
/// duration, if shorter), and at [`flush`](Self::flush) — the worker merges
/// the last `panes` panes into the window's statistics and runs
/// [`compare_windows`](crate::compare_windows) against the training
/// statistics, the previous non-overlapping compared window and the
/// evaluation's predictions.
///
/// Gauges (`mlrig_feature_skew`, `mlrig_feature_drift`,
/// `mlrig_prediction_drift` and their `_p_value`, `_threshold`,
/// `_over_threshold` companions, `mlrig_monitoring_window_rows`,
/// `mlrig_data_age_seconds`) and counters (`mlrig_nonfinite_values_total`,
/// `mlrig_monitoring_windows_total`, `mlrig_monitoring_dropped_total`) are
/// read from the last comparison when `/metrics` is scraped, in the
/// registry of the [`ServingMetrics`] given to [`new`](Self::new); series
/// of an unregistered version disappear with it.
///
/// ```
/// use std::sync::Arc;
/// use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
/// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
/// use mlrig_monitor::{LiveMonitor, MonitoringBaseline, MonitoringConfig, ServingMetrics};
/// use mlrig_validate::{SchemaInferenceParams, StatisticsParams, compute_statistics, infer_schema};
///
/// let batch = |v: Vec<&str>| RecordBatch::try_from_iter([("job", Arc::new(StringArray::from(v)) as ArrayRef)]).unwrap();
/// let training = batch(vec!["a", "b", "a", "b"]);
/// let stats = compute_statistics(&[training.clone()], &training.schema(), &StatisticsParams::default())?;
/// let schema = infer_schema(&stats, &SchemaInferenceParams::default());
///
/// let metrics = Arc::new(ServingMetrics::new());
/// let live = LiveMonitor::new(MonitoringConfig::default().with_max_rows(4).with_panes(1), metrics.clone())?;
/// live.register_version("m", 1, MonitoringBaseline::new(stats, schema));
///
/// let p = Predictions::Regression { values: array![1.0, 2.0, 3.0, 4.0] };
/// let served = ServedPredictions::new("m", 1, &p).with_inputs(Arc::new(batch(vec!["c", "c", "c", "a"])));
/// live.observe(&served);
/// live.flush();
/// let report = live.report("m", 1).unwrap();
/// assert_eq!(report.window.rows, 4);
/// assert_eq!(report.over_threshold().next().unwrap().feature, "job");
/// assert!(metrics.render()?.contains(
///     "mlrig_feature_skew_over_threshold{model=\"m\",version=\"1\",feature=\"job\",test=\"linf\"} 1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LiveMonitor {
    shared: Arc<Shared>,
    sender: Option<SyncSender<Message>>,
    worker: Option<JoinHandle<()>>,
}

impl LiveMonitor {
    /// A monitor with `config`, reading the system clock, exporting its
    /// metrics through `metrics` (a second monitor on the same metrics
    /// replaces the first's series), with its worker thread started.
    ///
    /// # Errors
    /// [`MonitorError::Thread`] when the thread cannot be spawned.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let live = mlrig_monitor::LiveMonitor::new(Default::default(), Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// assert!(live.report("m", 1).is_none());
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn new(
        config: MonitoringConfig,
        metrics: Arc<ServingMetrics>,
    ) -> Result<Self, MonitorError> {
        Self::with_clock(config, metrics, Arc::new(SystemClock))
    }

    /// [`new`](Self::new) with the time read from `clock`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlrig_monitor::{LiveMonitor, ManualClock, ServingMetrics};
    /// let clock = Arc::new(ManualClock::new(std::time::UNIX_EPOCH));
    /// let live = LiveMonitor::with_clock(Default::default(), Arc::new(ServingMetrics::new()), clock)?;
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn with_clock(
        config: MonitoringConfig,
        metrics: Arc<ServingMetrics>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, MonitorError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(config.queue_capacity.max(1));
        let shared = Arc::new(Shared {
            config,
            clock,
            versions: RwLock::default(),
            dropped: AtomicU64::new(0),
            budget: RowBudget::default(),
        });
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("mlrig-live-monitor".into())
            .spawn(move || run_worker(&worker_shared, &receiver))
            .map_err(MonitorError::Thread)?;
        metrics.set_live_collector(Arc::new(LiveCollector {
            shared: Arc::downgrade(&shared),
        }));
        Ok(Self {
            shared,
            sender: Some(sender),
            worker: Some(worker),
        })
    }

    /// The configuration.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// let live = mlrig_monitor::LiveMonitor::new(Default::default(), Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// assert_eq!(live.config().panes, 10);
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn config(&self) -> &MonitoringConfig {
        &self.shared.config
    }

    /// Starts monitoring `model` at `version` against `baseline` (again from
    /// an empty window when it was registered already).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use mlrig_monitor::{LiveMonitor, MonitoringBaseline, ServingMetrics};
    /// let live = LiveMonitor::new(Default::default(), Arc::new(ServingMetrics::new()))?;
    /// live.register_version("m", 1, MonitoringBaseline::new(Default::default(), Default::default()));
    /// assert!(live.is_monitored("m", 1));
    /// assert_eq!(live.report("m", 1).unwrap().windows_compared, 0);
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn register_version(&self, model: &str, version: u64, baseline: MonitoringBaseline) {
        let registered = Arc::new(Registered {
            baseline: Arc::new(baseline),
            published: Mutex::default(),
        });
        self.shared
            .versions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(model.to_string())
            .or_default()
            .insert(version, registered);
    }

    /// Stops monitoring `model` at `version` (its series leave `/metrics`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use mlrig_monitor::{LiveMonitor, MonitoringBaseline, ServingMetrics};
    /// let live = LiveMonitor::new(Default::default(), Arc::new(ServingMetrics::new()))?;
    /// live.register_version("m", 1, MonitoringBaseline::new(Default::default(), Default::default()));
    /// live.unregister_version("m", 1);
    /// assert!(!live.is_monitored("m", 1));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn unregister_version(&self, model: &str, version: u64) {
        let mut versions = self
            .shared
            .versions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = versions.get_mut(model) {
            v.remove(&version);
            if v.is_empty() {
                versions.remove(model);
            }
        }
    }

    /// `true` when `model` at `version` is registered.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// let live = mlrig_monitor::LiveMonitor::new(Default::default(), Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// assert!(!live.is_monitored("m", 1));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn is_monitored(&self, model: &str, version: u64) -> bool {
        self.shared.lookup(model, version).is_some()
    }

    /// Queues a served response for monitoring, stamped with the clock's
    /// time; never blocks (see the type's docs). Responses of versions not
    /// registered are ignored.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
    /// let live = mlrig_monitor::LiveMonitor::new(Default::default(), Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// let p = Predictions::Regression { values: array![1.0] };
    /// live.observe(&ServedPredictions::new("not-registered", 1, &p));
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn observe(&self, served: &ServedPredictions) {
        if !self.is_monitored(&served.model, served.version) {
            return;
        }
        self.send_observation(served, self.shared.clock.now());
    }

    /// [`observe`](Self::observe) at an explicit time (replays, tests).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
    /// let live = mlrig_monitor::LiveMonitor::new(Default::default(), Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// let p = Predictions::Regression { values: array![1.0] };
    /// live.observe_at(&ServedPredictions::new("m", 1, &p), std::time::UNIX_EPOCH);
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn observe_at(&self, served: &ServedPredictions, time: SystemTime) {
        if !self.is_monitored(&served.model, served.version) {
            return;
        }
        self.send_observation(served, time);
    }

    fn send_observation(&self, served: &ServedPredictions, time: SystemTime) {
        let Some(sender) = &self.sender else {
            return;
        };
        let limit = self.shared.config.max_rows_per_second;
        if !self.shared.budget.admit(limit, served.rows, time) {
            return;
        }
        let message = Message::Observe {
            model: served.model.clone(),
            version: served.version,
            observation: Observation::of(served, time),
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = sender.try_send(message)
        {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Request batches dropped so far because the queue was full.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// let live = mlrig_monitor::LiveMonitor::new(Default::default(), Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// assert_eq!(live.dropped_batches(), 0);
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn dropped_batches(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Rows left unmonitored so far because the second's
    /// [`max_rows_per_second`](MonitoringConfig::max_rows_per_second) budget
    /// was spent.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
    /// let config = mlrig_monitor::MonitoringConfig::default().with_max_rows_per_second(2);
    /// let live = mlrig_monitor::LiveMonitor::new(config, Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// live.register_version("m", 1, mlrig_monitor::MonitoringBaseline::new(Default::default(), Default::default()));
    /// let p = Predictions::Regression { values: array![1.0, 2.0] };
    /// let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(100);
    /// live.observe_at(&ServedPredictions::new("m", 1, &p), now); // the second's budget: monitored
    /// live.observe_at(&ServedPredictions::new("m", 1, &p), now); // over it: counted only
    /// assert_eq!(live.sampled_out_rows(), 2);
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn sampled_out_rows(&self) -> u64 {
        self.shared.budget.sampled_out.load(Ordering::Relaxed)
    }

    /// Asks the worker to close the panes that are due at the clock's time
    /// (it also does so on its own when the queue is idle). Blocks only if
    /// the queue is full.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// let live = mlrig_monitor::LiveMonitor::new(Default::default(), Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// live.tick();
    /// live.flush();
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn tick(&self) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(Message::Tick);
        }
    }

    /// Waits until the worker has processed everything queued before this
    /// call and compared every window a pane closed in since its last
    /// comparison (tests, graceful shutdown).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// let live = mlrig_monitor::LiveMonitor::new(Default::default(), Arc::new(mlrig_monitor::ServingMetrics::new()))?;
    /// live.flush();
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn flush(&self) {
        let Some(sender) = &self.sender else {
            return;
        };
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        if sender.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }

    /// The monitoring report of `model` at `version`, from its last compared
    /// window; `None` when that version is not registered.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use mlrig_monitor::{LiveMonitor, MonitoringBaseline, ServingMetrics};
    /// let live = LiveMonitor::new(Default::default(), Arc::new(ServingMetrics::new()))?;
    /// live.register_version("m", 2, MonitoringBaseline::new(Default::default(), Default::default()).with_data_newest_row_unix(0));
    /// let report = live.report("m", 2).unwrap();
    /// assert!(report.drift.is_none() && report.data_age_seconds.unwrap() > 0.0);
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn report(&self, model: &str, version: u64) -> Option<MonitoringReport> {
        let registered = self.shared.lookup(model, version)?;
        let published = registered.published();
        let baseline = &registered.baseline;
        let now = self.shared.clock.now();
        let comparison = published.comparison.as_deref();
        let mut nonfinite = NonFiniteCounts::default();
        for ((side, feature), count) in &published.nonfinite {
            let map = if *side == SIDE_INPUT {
                &mut nonfinite.input
            } else {
                &mut nonfinite.output
            };
            map.insert(feature.clone(), *count);
        }
        let section = |features: &[FeatureComparison], anomalies: &mlrig_validate::Anomalies| {
            ComparisonSection::new(features.to_vec(), anomalies.clone())
        };
        let rfc3339 =
            |t: SystemTime| humantime::format_rfc3339_millis(rfc3339_range(t)).to_string();
        Some(MonitoringReport {
            model: model.to_string(),
            version,
            window: WindowSummary {
                start: published.window_start.map(rfc3339),
                end: published.window_end.map(rfc3339),
                rows: published.window_rows,
                max_rows: self.shared.config.max_rows,
                duration_seconds: self.shared.config.window.as_secs_f64(),
            },
            windows_compared: published.windows_compared,
            skew: comparison.map_or_else(ComparisonSection::default, |c| {
                section(&c.skew, &c.skew_anomalies)
            }),
            drift: comparison
                .filter(|_| published.drift_compared)
                .map(|c| section(&c.drift, &c.drift_anomalies)),
            prediction_drift: comparison
                .filter(|_| published.predictions_compared)
                .map(|c| section(&c.prediction_drift, &c.prediction_drift_anomalies)),
            missing_features: comparison.map_or_else(Vec::new, |c| c.missing_features.clone()),
            errors: comparison.map_or_else(Vec::new, |c| c.errors.clone()),
            nonfinite,
            dropped_batches: self.dropped_batches(),
            sampled_out_rows: self.sampled_out_rows(),
            skipped_batches: published.skipped_batches,
            model_age_seconds: age_seconds(now, baseline.created_at_unix as f64),
            data_age_seconds: baseline
                .data_newest_row_unix
                .map(|t| age_seconds(now, t as f64)),
        })
    }
}

/// `t` clamped to the times RFC 3339 writes (1970 to 9999): humantime
/// panics before 1970 and fails after 9999, and a replay
/// ([`LiveMonitor::observe_at`]) may pass any time.
fn rfc3339_range(t: SystemTime) -> SystemTime {
    // 9999-12-31T23:59:59.999Z.
    let last = UNIX_EPOCH + Duration::from_millis(253_402_300_799_999);
    t.clamp(UNIX_EPOCH, last)
}

/// `now − then` in seconds (negative when `then` is in the future).
fn age_seconds(now: SystemTime, then_unix: f64) -> f64 {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    now - then_unix
}

impl MonitoringSource for LiveMonitor {
    fn monitoring_report(&self, model: &str, version: u64) -> Option<serde_json::Value> {
        self.report(model, version)
            .and_then(|r| serde_json::to_value(r).ok())
    }
}

impl Drop for LiveMonitor {
    fn drop(&mut self) {
        // Closing the channel stops the worker once the queue is drained.
        drop(self.sender.take());
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// How often an idle worker checks for panes due by time.
fn tick_interval(config: &MonitoringConfig) -> Duration {
    (config.pane_duration() / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// The worker's windows: (model, version) → (registration, window).
type Windows = HashMap<(String, u64), (Arc<Registered>, VersionWindow)>;

fn run_worker(shared: &Shared, receiver: &Receiver<Message>) {
    let mut windows = Windows::new();
    let interval = tick_interval(&shared.config);
    loop {
        let first = match receiver.recv_timeout(interval) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => {
                tick_all(shared, &mut windows);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut messages = vec![first];
        while messages.len() < DRAIN_LIMIT {
            match receiver.try_recv() {
                Ok(message) => messages.push(message),
                Err(_) => break,
            }
        }
        let mut groups: Vec<((String, u64), Vec<Observation>)> = Vec::new();
        for message in messages {
            match message {
                Message::Observe {
                    model,
                    version,
                    observation,
                } => match groups
                    .iter_mut()
                    .find(|(k, _)| k.0 == model && k.1 == version)
                {
                    Some((_, list)) => list.push(observation),
                    None => groups.push(((model, version), vec![observation])),
                },
                Message::Tick => {
                    observe_groups(shared, &mut windows, std::mem::take(&mut groups));
                    tick_all(shared, &mut windows);
                }
                Message::Flush(ack) => {
                    observe_groups(shared, &mut windows, std::mem::take(&mut groups));
                    let now = shared.clock.now();
                    for (registered, window) in windows.values_mut() {
                        if window.compare_if_dirty(now) {
                            publish(registered, window);
                        }
                    }
                    let _ = ack.send(());
                }
            }
        }
        observe_groups(shared, &mut windows, groups);
    }
}

/// The worker's window of a registration (a new one when the version was
/// registered again); `None` when it is not registered any more.
fn window_of<'a>(
    shared: &Shared,
    windows: &'a mut Windows,
    key: &(String, u64),
) -> Option<&'a mut (Arc<Registered>, VersionWindow)> {
    let Some(registered) = shared.lookup(&key.0, key.1) else {
        windows.remove(key);
        return None;
    };
    let entry = windows.entry(key.clone()).or_insert_with(|| {
        let window = VersionWindow::new(registered.baseline.clone(), shared.config.clone());
        (registered.clone(), window)
    });
    if !Arc::ptr_eq(&entry.0, &registered) {
        *entry = (
            registered.clone(),
            VersionWindow::new(registered.baseline.clone(), shared.config.clone()),
        );
    }
    Some(entry)
}

fn observe_groups(
    shared: &Shared,
    windows: &mut Windows,
    groups: Vec<((String, u64), Vec<Observation>)>,
) {
    for (key, observations) in groups {
        if let Some((registered, window)) = window_of(shared, windows, &key)
            && window.observe(observations)
        {
            publish(registered, window);
        }
    }
}

fn tick_all(shared: &Shared, windows: &mut Windows) {
    let now = shared.clock.now();
    windows.retain(|(model, version), (registered, _)| {
        shared
            .lookup(model, *version)
            .is_some_and(|r| Arc::ptr_eq(&r, registered))
    });
    for (registered, window) in windows.values_mut() {
        if window.tick(now) {
            publish(registered, window);
        }
    }
}

fn publish(registered: &Registered, window: &VersionWindow) {
    debug_assert!(Arc::ptr_eq(&registered.baseline, window.baseline()));
    *registered
        .published
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = window.published().clone();
}

/// Labels of the comparison gauges.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TestLabels {
    model: String,
    version: String,
    feature: String,
    test: &'static str,
}

/// Labels of the NaN/±∞ counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NonFiniteLabels {
    model: String,
    version: String,
    side: &'static str,
    feature: String,
}

/// Labels of per-version gauges.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    model: String,
    version: String,
}

/// Encodes the live monitoring metrics when `/metrics` is scraped (nothing
/// once the monitor is dropped).
#[derive(Debug)]
struct LiveCollector {
    shared: std::sync::Weak<Shared>,
}

/// Which comparisons of a window a gauge family reads.
#[derive(Clone, Copy)]
enum Kind {
    Skew,
    Drift,
    Prediction,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Skew => "mlrig_feature_skew",
            Kind::Drift => "mlrig_feature_drift",
            Kind::Prediction => "mlrig_prediction_drift",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Skew => "the current window vs the training statistics",
            Kind::Drift => "the current window vs the previous window",
            Kind::Prediction => "the current window's predictions vs the evaluation's",
        }
    }

    fn comparisons(self, published: &Published) -> &[FeatureComparison] {
        let Some(c) = published.comparison.as_deref() else {
            return &[];
        };
        match self {
            Kind::Skew => &c.skew,
            Kind::Drift if published.drift_compared => &c.drift,
            Kind::Prediction if published.predictions_compared => &c.prediction_drift,
            _ => &[],
        }
    }
}

type Snapshot = Vec<(String, u64, Arc<Registered>, Published)>;

impl Collector for LiveCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        let snapshot: Snapshot = shared
            .all()
            .into_iter()
            .map(|(m, v, r)| {
                let p = r.published();
                (m, v, r, p)
            })
            .collect();
        for kind in [Kind::Skew, Kind::Drift, Kind::Prediction] {
            encode_comparisons(&mut encoder, kind, &snapshot)?;
        }
        let version_labels = |m: &str, v: u64| VersionLabels {
            model: m.to_string(),
            version: v.to_string(),
        };
        let mut nonfinite = encoder.encode_descriptor(
            "mlrig_nonfinite_values",
            "NaN and infinite values seen: inputs (numeric features) and outputs (score)",
            None,
            MetricType::Counter,
        )?;
        for (m, v, _, p) in &snapshot {
            for ((side, feature), count) in &p.nonfinite {
                let labels = NonFiniteLabels {
                    model: m.clone(),
                    version: v.to_string(),
                    side: if *side == SIDE_INPUT {
                        SIDE_INPUT
                    } else {
                        SIDE_OUTPUT
                    },
                    feature: feature.clone(),
                };
                nonfinite
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(count, None)?;
            }
        }
        let now = shared.clock.now();
        let mut data_age = encoder.encode_descriptor(
            "mlrig_data_age",
            "Time since the newest row of the model's training data",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for (m, v, r, _) in &snapshot {
            if let Some(newest) = r.baseline.data_newest_row_unix {
                data_age
                    .encode_family(&version_labels(m, *v))?
                    .encode_gauge(&age_seconds(now, newest as f64))?;
            }
        }
        let mut rows = encoder.encode_descriptor(
            "mlrig_monitoring_window_rows",
            "Rows in the last compared monitoring window",
            None,
            MetricType::Gauge,
        )?;
        for (m, v, _, p) in &snapshot {
            let n = i64::try_from(p.window_rows).unwrap_or(i64::MAX);
            rows.encode_family(&version_labels(m, *v))?
                .encode_gauge(&n)?;
        }
        let mut windows = encoder.encode_descriptor(
            "mlrig_monitoring_windows",
            "Monitoring windows compared (one per pane close)",
            None,
            MetricType::Counter,
        )?;
        for (m, v, _, p) in &snapshot {
            windows
                .encode_family(&version_labels(m, *v))?
                .encode_counter::<NoLabelSet, _, u64>(&p.windows_compared, None)?;
        }
        let mut dropped = encoder.encode_descriptor(
            "mlrig_monitoring_dropped",
            "Request batches dropped because the monitoring queue was full",
            None,
            MetricType::Counter,
        )?;
        dropped
            .encode_counter::<NoLabelSet, _, u64>(&shared.dropped.load(Ordering::Relaxed), None)?;
        let mut sampled_out = encoder.encode_descriptor(
            "mlrig_monitoring_sampled_out_rows",
            "Rows not monitored because the monitoring row budget (max_rows_per_second) was spent",
            None,
            MetricType::Counter,
        )?;
        sampled_out.encode_counter::<NoLabelSet, _, u64>(
            &shared.budget.sampled_out.load(Ordering::Relaxed),
            None,
        )?;
        Ok(())
    }
}

/// Reads one gauge's value from a comparison (`None`: no series).
type GaugeValue = fn(&FeatureComparison) -> Option<f64>;

fn encode_comparisons(
    encoder: &mut DescriptorEncoder,
    kind: Kind,
    snapshot: &Snapshot,
) -> Result<(), std::fmt::Error> {
    let prefix = kind.prefix();
    let labels = |m: &str, v: u64, c: &FeatureComparison| TestLabels {
        model: m.to_string(),
        version: v.to_string(),
        feature: c.feature.clone(),
        test: c.test.name(),
    };
    let families: [(String, String, GaugeValue); 4] = [
        (
            prefix.to_string(),
            format!(
                "Test statistic of {} (distance, divergence, index or KS D)",
                kind.what()
            ),
            |c| Some(c.value),
        ),
        (
            format!("{prefix}_p_value"),
            format!("p-value of {} (ks, chisquare)", kind.what()),
            |c| c.p_value,
        ),
        (
            format!("{prefix}_threshold"),
            format!(
                "Threshold of the test of {} (on the p-value for ks, chisquare)",
                kind.what()
            ),
            |c| Some(c.threshold),
        ),
        (
            format!("{prefix}_over_threshold"),
            format!(
                "1 when the test of {} is over its threshold (alerting tests only)",
                kind.what()
            ),
            |c| Some(if c.over_threshold { 1.0 } else { 0.0 }),
        ),
    ];
    for (name, help, value) in families {
        let mut metric = encoder.encode_descriptor(&name, &help, None, MetricType::Gauge)?;
        for (m, v, _, p) in snapshot {
            for c in kind.comparisons(p) {
                if let Some(x) = value(c) {
                    metric.encode_family(&labels(m, *v, c))?.encode_gauge(&x)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn at(second: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(second)
    }

    #[test]
    fn the_row_budget_takes_each_seconds_first_rows_and_counts_the_rest() {
        let budget = RowBudget::default();
        assert!(budget.admit(10, 6, at(5)));
        assert!(
            budget.admit(10, 6, at(5)),
            "taken whole while the budget is not spent"
        );
        assert!(!budget.admit(10, 1, at(5)));
        assert!(!budget.admit(10, 3, at(5)));
        assert_eq!(budget.sampled_out.load(Ordering::Relaxed), 4);
        assert!(budget.admit(10, 1, at(6)), "a new second, a new budget");
        assert!(budget.admit(0, u64::MAX, at(6)), "0: every row");
        assert_eq!(budget.sampled_out.load(Ordering::Relaxed), 4);
    }

    proptest::proptest! {
        /// Rows are either monitored or counted as sampled out, and no
        /// second monitors more batches than start within its budget.
        #[test]
        fn every_row_is_monitored_or_counted(
            batches in proptest::collection::vec((0u64..4, 1u64..50), 0..200),
            limit in 1u64..200,
        ) {
            let budget = RowBudget::default();
            let mut seconds: Vec<_> = batches.clone();
            seconds.sort_by_key(|(s, _)| *s);
            let (mut admitted, mut total) = (0u64, 0u64);
            let mut per_second = std::collections::BTreeMap::<u64, (u64, u64)>::new();
            for (second, rows) in seconds {
                total += rows;
                let entry = per_second.entry(second).or_default();
                if budget.admit(limit, rows, at(second)) {
                    proptest::prop_assert!(entry.0 < limit);
                    admitted += rows;
                    entry.0 += rows;
                }
                entry.1 += rows;
            }
            proptest::prop_assert_eq!(admitted + budget.sampled_out.load(Ordering::Relaxed), total);
        }
    }
}
