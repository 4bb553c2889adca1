//! [`RequestLog`]: sampled requests and their predictions, appended to
//! rotating JSON Lines or Parquet files by a dedicated thread.
//!
//! ```text
//! request ─RequestLog::sample (one atomic add)─▶ not sampled: nothing built
//!         └─ sampled: RequestLogEntry ─try_send─▶ bounded queue ─▶ writer thread ─▶ <dir>/.tmpXXXX (hidden)
//!              queue full / writer gone: dropped + counted (never waits)     └─rotate (size, rows, age) or close─▶ rename to requests-<start>-<n>.jsonl|.parquet
//!                                                                                                     └─▶ oldest files beyond max_files deleted
//! ```

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mlrig_core::{AtomicFile, RequestLogCounters};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::ServeError;

/// Where and how the request log is written (`request_log` in the server
/// config file).
///
/// ```
/// use mlrig_serve::{RequestLogConfig, RequestLogFormat};
/// let c: RequestLogConfig = serde_json::from_str(r#"{"dir": "logs", "format": "parquet", "sample_rate": 0.1}"#)?;
/// assert_eq!(c.format, RequestLogFormat::Parquet);
/// assert_eq!(c.queue_capacity, RequestLogConfig::new("logs").queue_capacity);
/// assert!(serde_json::from_str::<RequestLogConfig>(r#"{"dir": "l", "sample_rate": 2}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RequestLogConfig {
    /// Directory of the log files (created if missing).
    pub dir: PathBuf,
    /// `"jsonl"` (default) or `"parquet"`.
    #[serde(default)]
    pub format: RequestLogFormat,
    /// Fraction of prediction requests logged, 0 to 1 (default 1: all).
    /// Sampling is by request count (every 1/rate-th request), so it is
    /// exact and costs one atomic add.
    #[serde(default = "one", deserialize_with = "deserialize_rate")]
    pub sample_rate: f64,
    /// A file is finished (renamed into place) and the next one started
    /// when it reaches this many bytes (default 64 MiB).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// ... or this many entries (default 100000).
    #[serde(default = "default_max_rows")]
    pub max_rows_per_file: u64,
    /// ... or when it is this old and not empty (default `"1m"`), so a quiet
    /// server's entries still appear.
    #[serde(
        default = "default_max_file_age",
        serialize_with = "crate::duration_serde::serialize_duration",
        deserialize_with = "crate::duration_serde::deserialize_duration"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    pub max_file_age: Duration,
    /// Finished files kept; the oldest are deleted beyond it (default 100,
    /// 0 keeps all).
    #[serde(default = "default_max_files")]
    pub max_files: usize,
    /// Entries waiting for the writer (default 10000); a sampled request
    /// that finds the queue full is dropped and counted, never waited for.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// Instances (rows) the waiting entries may hold in all (default
    /// 100000), which bounds the queue's memory when requests are large;
    /// an entry over it is dropped and counted like one finding the queue
    /// full (an entry finding the queue empty is always taken).
    #[serde(default = "default_queue_max_rows")]
    pub queue_max_rows: u64,
}

// `sample_rate` is checked to be in 0..=1 when read, so it is never NaN.
impl Eq for RequestLogConfig {}

fn one() -> f64 {
    1.0
}
fn default_max_file_bytes() -> u64 {
    64 << 20
}
fn default_max_rows() -> u64 {
    100_000
}
fn default_max_file_age() -> Duration {
    Duration::from_secs(60)
}
fn default_max_files() -> usize {
    100
}
fn default_queue_capacity() -> usize {
    10_000
}
fn default_queue_max_rows() -> u64 {
    100_000
}

fn deserialize_rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let rate = f64::deserialize(deserializer)?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(serde::de::Error::custom(format!(
            "sample_rate must be between 0 and 1, found {rate}"
        )))
    }
}

impl RequestLogConfig {
    /// A JSON Lines log in `dir` with the default limits, every request logged.
    ///
    /// ```
    /// let c = mlrig_serve::RequestLogConfig::new("logs");
    /// assert_eq!((c.sample_rate, c.max_files), (1.0, 100));
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RequestLogConfig {
            dir: dir.into(),
            format: RequestLogFormat::default(),
            sample_rate: 1.0,
            max_file_bytes: default_max_file_bytes(),
            max_rows_per_file: default_max_rows(),
            max_file_age: default_max_file_age(),
            max_files: default_max_files(),
            queue_capacity: default_queue_capacity(),
            queue_max_rows: default_queue_max_rows(),
        }
    }

    /// Sets [`RequestLogConfig::format`].
    ///
    /// ```
    /// use mlrig_serve::{RequestLogConfig, RequestLogFormat};
    /// assert_eq!(RequestLogConfig::new("l").with_format(RequestLogFormat::Parquet).format, RequestLogFormat::Parquet);
    /// ```
    pub fn with_format(mut self, format: RequestLogFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets [`RequestLogConfig::sample_rate`], clamped to 0..=1 (NaN is 0).
    ///
    /// ```
    /// assert_eq!(mlrig_serve::RequestLogConfig::new("l").with_sample_rate(3.0).sample_rate, 1.0);
    /// ```
    pub fn with_sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self
    }

    /// Sets the rotation limits: bytes, entries and age of a file.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = mlrig_serve::RequestLogConfig::new("l").with_rotation(1000, 10, Duration::from_secs(5));
    /// assert_eq!((c.max_file_bytes, c.max_rows_per_file), (1000, 10));
    /// ```
    pub fn with_rotation(mut self, max_file_bytes: u64, max_rows: u64, max_age: Duration) -> Self {
        self.max_file_bytes = max_file_bytes;
        self.max_rows_per_file = max_rows;
        self.max_file_age = max_age;
        self
    }

    /// Sets [`RequestLogConfig::max_files`].
    ///
    /// ```
    /// assert_eq!(mlrig_serve::RequestLogConfig::new("l").with_max_files(3).max_files, 3);
    /// ```
    pub fn with_max_files(mut self, max_files: usize) -> Self {
        self.max_files = max_files;
        self
    }

    /// Sets [`RequestLogConfig::queue_capacity`].
    ///
    /// ```
    /// assert_eq!(mlrig_serve::RequestLogConfig::new("l").with_queue_capacity(8).queue_capacity, 8);
    /// ```
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Sets [`RequestLogConfig::queue_max_rows`].
    ///
    /// ```
    /// assert_eq!(mlrig_serve::RequestLogConfig::new("l").with_queue_max_rows(500).queue_max_rows, 500);
    /// ```
    pub fn with_queue_max_rows(mut self, rows: u64) -> Self {
        self.queue_max_rows = rows;
        self
    }
}

/// The file format of the request log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RequestLogFormat {
    /// One JSON object per line (`.jsonl`).
    #[default]
    Jsonl,
    /// Parquet (`.parquet`): one row per entry, `inputs` and `outputs` as
    /// JSON text (needs the crate's `parquet` feature).
    Parquet,
}

impl RequestLogFormat {
    fn extension(self) -> &'static str {
        match self {
            RequestLogFormat::Jsonl => "jsonl",
            RequestLogFormat::Parquet => "parquet",
        }
    }
}

/// One logged request.
///
/// As JSON Lines (one object per line):
///
/// ```json
/// {"timestamp":"2026-12-07T10:00:00.123Z","request_id":"req-1","model":"adult","version":3,"source":"mixed",
///  "inputs":[{"id":7,"age":39}],"outputs":[{"prediction":">50K","score_<=50K":0.2,"score_>50K":0.8,"source":"table"}]}
/// ```
///
/// `inputs` are the JSON records the protocol built (one per instance,
/// whatever the protocol), `outputs` one object per instance: `prediction`
/// (the value, or the most probable class), a classifier's `score_<class>`
/// per class (the columns `mlrig predict` writes), and the `source` that
/// answered the row (`model` or `table`). The entry's `source` is `model`,
/// `table` or `mixed`. Parquet has the same columns, `timestamp` as a UTC
/// millisecond timestamp and `inputs`/`outputs` as JSON text.
///
/// ```
/// use mlrig_serve::RequestLogEntry;
/// let line = r#"{"timestamp":"2026-12-07T10:00:00.123Z","request_id":"r","model":"m","version":1,"source":"model","inputs":[{"x":1}],"outputs":[{"prediction":2.0,"source":"model"}]}"#;
/// let entry: RequestLogEntry = serde_json::from_str(line)?;
/// assert_eq!(entry.version, 1);
/// assert_eq!(serde_json::to_string(&entry)?, line);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestLogEntry {
    /// When the request was answered (RFC 3339, UTC, milliseconds).
    #[serde(
        serialize_with = "serialize_time",
        deserialize_with = "deserialize_time"
    )]
    pub timestamp: SystemTime,
    /// The request's `x-request-id` header, or the id the server gave it
    /// (echoed in the response's `x-request-id`).
    pub request_id: String,
    /// The model that answered.
    pub model: String,
    /// Its version.
    pub version: u64,
    /// `model`, `table` or `mixed`.
    pub source: String,
    /// The request's instances as JSON records.
    pub inputs: Vec<Value>,
    /// One output object per instance.
    pub outputs: Vec<Value>,
}

impl RequestLogEntry {
    /// An entry stamped now (to the millisecond).
    ///
    /// ```
    /// let e = mlrig_serve::RequestLogEntry::new("r", "m", 1, "model", vec![], vec![]);
    /// assert_eq!(e.request_id, "r");
    /// ```
    pub fn new(
        request_id: &str,
        model: &str,
        version: u64,
        source: &str,
        inputs: Vec<Value>,
        outputs: Vec<Value>,
    ) -> Self {
        RequestLogEntry {
            timestamp: truncate_to_millis(SystemTime::now()),
            request_id: request_id.to_string(),
            model: model.to_string(),
            version,
            source: source.to_string(),
            inputs,
            outputs,
        }
    }
}

impl RequestLogEntry {
    /// What the entry counts toward [`RequestLogConfig::queue_max_rows`].
    fn queued_rows(&self) -> u64 {
        self.inputs.len().max(1) as u64
    }
}

fn truncate_to_millis(time: SystemTime) -> SystemTime {
    let millis = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

fn serialize_time<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_millis(*time))
}

fn deserialize_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_rfc3339_weak(&text)
        .map_err(|e| serde::de::Error::custom(format!("invalid RFC 3339 timestamp {text:?}: {e}")))
}

/// What the writer thread receives.
enum Message {
    Entry(Box<RequestLogEntry>),
    Close,
    /// Tests: the writer acknowledges, then waits until the sender side of
    /// the receiver is dropped.
    #[cfg(test)]
    Pause(SyncSender<()>, Receiver<()>),
}

/// A running request log: decides which requests are sampled, queues their
/// entries without ever waiting, and writes them on its own thread.
///
/// ```
/// use mlrig_serve::{RequestLog, RequestLogConfig, RequestLogEntry};
/// let dir = tempfile::tempdir()?;
/// let log = RequestLog::start(&RequestLogConfig::new(dir.path()))?;
/// assert!(log.sample());
/// log.submit(RequestLogEntry::new("r1", "m", 1, "model", vec![serde_json::json!({"x": 1})], vec![]));
/// log.close(); // finishes the open file
/// assert_eq!(log.counters().written(), 1);
/// let file = std::fs::read_dir(dir.path())?.next().unwrap()?.path();
/// assert!(std::fs::read_to_string(file)?.contains("\"request_id\":\"r1\""));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RequestLog {
    sender: SyncSender<Message>,
    counters: Arc<RequestLogCounters>,
    sample_rate: f64,
    seen: AtomicU64,
    /// Instances held by the queued entries (the writer subtracts them).
    queued_rows: Arc<AtomicU64>,
    max_queued_rows: u64,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl RequestLog {
    /// Creates the directory and starts the writer thread.
    ///
    /// # Errors
    /// [`ServeError::Io`] when the directory cannot be created or the
    /// thread cannot start; [`ServeError::Internal`] for Parquet without
    /// the `parquet` feature.
    pub fn start(config: &RequestLogConfig) -> Result<Arc<Self>, ServeError> {
        if config.format == RequestLogFormat::Parquet && !cfg!(feature = "parquet") {
            return Err(ServeError::Internal {
                reason: "this build of mlrig-serve has no Parquet support (feature `parquet`); use format \"jsonl\"".into(),
            });
        }
        fs::create_dir_all(&config.dir).map_err(|source| ServeError::Io {
            context: format!(
                "cannot create the request log directory {}",
                config.dir.display()
            ),
            source,
        })?;
        let (sender, receiver) = sync_channel(config.queue_capacity.max(1));
        let counters = Arc::new(RequestLogCounters::default());
        let queued_rows = Arc::new(AtomicU64::new(0));
        let mut writer = Writer::new(config.clone(), counters.clone(), queued_rows.clone());
        let worker = std::thread::Builder::new()
            .name("mlrig-request-log".into())
            .spawn(move || writer.run(&receiver))
            .map_err(|source| ServeError::Io {
                context: "cannot start the request log thread".into(),
                source,
            })?;
        Ok(Arc::new(RequestLog {
            sender,
            counters,
            sample_rate: config.sample_rate,
            seen: AtomicU64::new(0),
            queued_rows,
            max_queued_rows: config.queue_max_rows,
            worker: Mutex::new(Some(worker)),
        }))
    }

    /// Whether the next request is logged: request `n` is when
    /// `floor((n + 1) · rate) > floor(n · rate)`, so exactly `rate` of the
    /// requests are, spread evenly.
    ///
    /// ```
    /// use mlrig_serve::{RequestLog, RequestLogConfig};
    /// let dir = tempfile::tempdir()?;
    /// let log = RequestLog::start(&RequestLogConfig::new(dir.path()).with_sample_rate(0.25))?;
    /// assert_eq!((0..100).filter(|_| log.sample()).count(), 25);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sample(&self) -> bool {
        if self.sample_rate >= 1.0 {
            return true;
        }
        if self.sample_rate <= 0.0 {
            return false;
        }
        let n = self.seen.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.sample_rate).floor() > (n * self.sample_rate).floor()
    }

    /// Queues `entry` for the writer; when the queue is full or the log is
    /// closed, drops it and counts it ([`RequestLogCounters::dropped`]).
    /// Never waits.
    ///
    /// ```
    /// # use mlrig_serve::{RequestLog, RequestLogConfig, RequestLogEntry};
    /// # let dir = tempfile::tempdir()?;
    /// let log = RequestLog::start(&RequestLogConfig::new(dir.path()))?;
    /// log.close();
    /// log.submit(RequestLogEntry::new("late", "m", 1, "model", vec![], vec![]));
    /// assert_eq!(log.counters().dropped(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit(&self, entry: RequestLogEntry) {
        let rows = entry.queued_rows();
        let before = self.queued_rows.fetch_add(rows, Ordering::Relaxed);
        if before > 0 && before.saturating_add(rows) > self.max_queued_rows {
            self.queued_rows.fetch_sub(rows, Ordering::Relaxed);
            self.counters.add_dropped(1);
            return;
        }
        match self.sender.try_send(Message::Entry(Box::new(entry))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.queued_rows.fetch_sub(rows, Ordering::Relaxed);
                self.counters.add_dropped(1);
            }
        }
    }

    /// The written and dropped counters (for `mlrig-monitor`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let log = mlrig_serve::RequestLog::start(&mlrig_serve::RequestLogConfig::new(dir.path()))?;
    /// assert_eq!(log.counters().written(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counters(&self) -> Arc<RequestLogCounters> {
        self.counters.clone()
    }

    /// Writes what is queued, finishes the open file (renamed into place)
    /// and stops the writer; later entries are dropped and counted. Call it
    /// after the server shut down. Waits for the writer; calling it again
    /// does nothing.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let log = mlrig_serve::RequestLog::start(&mlrig_serve::RequestLogConfig::new(dir.path()))?;
    /// log.close();
    /// log.close();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(&self) {
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker {
            // Blocking here is fine: the writer is draining the queue.
            if self.sender.send(Message::Close).is_ok() && worker.join().is_err() {
                tracing::error!("the request log writer panicked");
            }
        }
    }

    /// Tests: stops the writer until the returned sender is dropped.
    #[cfg(test)]
    fn pause(&self) -> SyncSender<()> {
        let (release, wait) = sync_channel(0);
        let (ack, acked) = sync_channel(1);
        let _ = self.sender.send(Message::Pause(ack, wait));
        let _ = acked.recv();
        release
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread's state.
struct Writer {
    config: RequestLogConfig,
    counters: Arc<RequestLogCounters>,
    /// Shared with [`RequestLog`]: instances of the entries still queued.
    queued_rows: Arc<AtomicU64>,
    /// Names files: `requests-<start ms>-<n>`, so names sort by time.
    started_ms: u128,
    next_file: u64,
    open: Option<OpenFile>,
}

struct OpenFile {
    sink: Sink,
    rows: u64,
    opened: Instant,
}

enum Sink {
    Jsonl {
        out: BufWriter<AtomicFile>,
        bytes: u64,
    },
    #[cfg(feature = "parquet")]
    Parquet(Box<crate::request_log_parquet::ParquetSink>),
}

impl Writer {
    fn new(
        config: RequestLogConfig,
        counters: Arc<RequestLogCounters>,
        queued_rows: Arc<AtomicU64>,
    ) -> Self {
        Writer {
            config,
            counters,
            queued_rows,
            started_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            next_file: 0,
            open: None,
        }
    }

    fn run(&mut self, receiver: &Receiver<Message>) {
        loop {
            let timeout = match &self.open {
                Some(file) => self
                    .config
                    .max_file_age
                    .saturating_sub(file.opened.elapsed()),
                None => Duration::from_secs(3600),
            };
            match receiver.recv_timeout(timeout) {
                Ok(Message::Entry(entry)) => {
                    self.dequeued(&entry);
                    self.write(&entry);
                }
                Ok(Message::Close) | Err(RecvTimeoutError::Disconnected) => break,
                #[cfg(test)]
                Ok(Message::Pause(ack, wait)) => {
                    let _ = ack.send(());
                    let _ = wait.recv();
                }
                Err(RecvTimeoutError::Timeout) => self.finish_file(),
            }
            if self.open.as_ref().is_some_and(|f| self.full(f)) {
                self.finish_file();
            }
        }
        // Entries queued after `Close` are never written: count them.
        while let Ok(message) = receiver.try_recv() {
            if let Message::Entry(entry) = message {
                self.dequeued(&entry);
                self.counters.add_dropped(1);
            }
        }
        self.finish_file();
    }

    fn dequeued(&self, entry: &RequestLogEntry) {
        self.queued_rows
            .fetch_sub(entry.queued_rows(), Ordering::Relaxed);
    }

    fn full(&self, file: &OpenFile) -> bool {
        file.rows >= self.config.max_rows_per_file.max(1)
            || file.sink.bytes() >= self.config.max_file_bytes
            || file.opened.elapsed() >= self.config.max_file_age
    }

    fn write(&mut self, entry: &RequestLogEntry) {
        if self.open.is_none() {
            match self.open_file() {
                Ok(file) => self.open = Some(file),
                Err(e) => {
                    tracing::warn!(error = %e, "request log: cannot start a file; entry dropped");
                    self.counters.add_dropped(1);
                    return;
                }
            }
        }
        let Some(file) = self.open.as_mut() else {
            return;
        };
        match file.sink.append(entry) {
            // Counted as written when the file is finished, so an entry
            // lost with its file is counted once, as dropped.
            Ok(()) => file.rows += 1,
            Err(e) => {
                tracing::warn!(error = %e, "request log: write failed; entry dropped");
                self.counters.add_dropped(1);
            }
        }
    }

    fn open_file(&mut self) -> Result<OpenFile, String> {
        let name = format!(
            "{PREFIX}{:013}-{:06}.{}",
            self.started_ms,
            self.next_file,
            self.config.format.extension()
        );
        self.next_file += 1;
        let path = self.config.dir.join(name);
        // Private: entries hold raw feature values.
        let file = AtomicFile::create_private(&path).map_err(|e| e.to_string())?;
        let sink = match self.config.format {
            RequestLogFormat::Jsonl => Sink::Jsonl {
                out: BufWriter::with_capacity(1 << 16, file),
                bytes: 0,
            },
            #[cfg(feature = "parquet")]
            RequestLogFormat::Parquet => Sink::Parquet(Box::new(
                crate::request_log_parquet::ParquetSink::new(file)?,
            )),
            #[cfg(not(feature = "parquet"))]
            RequestLogFormat::Parquet => {
                return Err("no Parquet support in this build".into());
            }
        };
        Ok(OpenFile {
            sink,
            rows: 0,
            opened: Instant::now(),
        })
    }

    /// Renames the open file into place and deletes the oldest beyond `max_files`.
    fn finish_file(&mut self) {
        let Some(file) = self.open.take() else {
            return;
        };
        if let Err(e) = file.sink.commit() {
            tracing::warn!(error = %e, rows = file.rows, "request log: cannot finish a file; its entries are lost");
            self.counters.add_dropped(file.rows);
            return;
        }
        self.counters.add_written(file.rows);
        if self.config.max_files > 0 {
            prune(&self.config.dir, self.config.max_files);
        }
    }
}

/// The prefix of every finished log file's name.
const PREFIX: &str = "requests-";

/// Deletes the oldest finished log files of `dir` beyond `keep`.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(PREFIX) && (n.ends_with(".jsonl") || n.ends_with(".parquet"))
            })
        })
        .collect();
    // By (start, number): the number may outgrow its zero padding.
    files.sort_by_cached_key(|p| (file_order(p), p.clone()));
    let excess = files.len().saturating_sub(keep);
    for old in &files[..excess] {
        if let Err(e) = fs::remove_file(old) {
            tracing::warn!(error = %e, file = %old.display(), "request log: cannot delete an old file");
        }
    }
}

/// The start time and number in a log file's name (`requests-<ms>-<n>.<ext>`).
fn file_order(path: &Path) -> Option<(u128, u64)> {
    let name = path.file_stem()?.to_str()?.strip_prefix(PREFIX)?;
    let (start, number) = name.split_once('-')?;
    Some((start.parse().ok()?, number.parse().ok()?))
}

impl Sink {
    fn bytes(&self) -> u64 {
        match self {
            Sink::Jsonl { bytes, .. } => *bytes,
            #[cfg(feature = "parquet")]
            Sink::Parquet(sink) => sink.bytes(),
        }
    }

    fn append(&mut self, entry: &RequestLogEntry) -> Result<(), String> {
        match self {
            Sink::Jsonl { out, bytes } => {
                let mut line = serde_json::to_vec(entry).map_err(|e| e.to_string())?;
                line.push(b'\n');
                out.write_all(&line).map_err(|e| e.to_string())?;
                *bytes += line.len() as u64;
                Ok(())
            }
            #[cfg(feature = "parquet")]
            Sink::Parquet(sink) => sink.append(entry),
        }
    }

    fn commit(self) -> Result<(), String> {
        match self {
            Sink::Jsonl { out, .. } => out
                .into_inner()
                .map_err(|e| e.error().to_string())?
                .commit()
                .map_err(|e| e.to_string()),
            #[cfg(feature = "parquet")]
            Sink::Parquet(sink) => (*sink).commit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn entry(id: &str) -> RequestLogEntry {
        RequestLogEntry::new(
            id,
            "adult",
            3,
            "mixed",
            vec![json!({"id": 7, "age": 39}), json!({"age": 52})],
            vec![
                json!({"prediction": "yes", "score_no": 0.25, "score_yes": 0.75, "source": "table"}),
                json!({"prediction": "no", "score_no": 0.5, "score_yes": 0.5, "source": "model"}),
            ],
        )
    }

    fn finished_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(PREFIX))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn jsonl_entries_are_written_and_parse_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = RequestLog::start(&RequestLogConfig::new(dir.path())).unwrap();
        let entries: Vec<_> = (0..5).map(|i| entry(&format!("r{i}"))).collect();
        for e in &entries {
            log.submit(e.clone());
        }
        assert!(
            finished_files(dir.path()).is_empty(),
            "the open file is hidden"
        );
        log.close();
        let files = finished_files(dir.path());
        assert_eq!(files.len(), 1);
        let text = fs::read_to_string(&files[0]).unwrap();
        let back: Vec<RequestLogEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, entries);
        assert_eq!((log.counters().written(), log.counters().dropped()), (5, 0));
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn files_rotate_by_rows_and_size_and_the_oldest_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let config = RequestLogConfig::new(dir.path())
            .with_rotation(u64::MAX, 2, Duration::from_secs(3600))
            .with_max_files(3);
        let log = RequestLog::start(&config).unwrap();
        for i in 0..9 {
            log.submit(entry(&format!("r{i}")));
        }
        log.close();
        let files = finished_files(dir.path());
        assert_eq!(files.len(), 3, "{files:?}");
        // 9 entries in files of 2: files 0..=4; the last three are kept.
        let ids: Vec<String> = files
            .iter()
            .flat_map(|f| {
                fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .map(|l| {
                        serde_json::from_str::<RequestLogEntry>(l)
                            .unwrap()
                            .request_id
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(ids, ["r4", "r5", "r6", "r7", "r8"]);

        let dir = tempfile::tempdir().unwrap();
        let line_bytes = serde_json::to_vec(&entry("r0")).unwrap().len() as u64 + 1;
        let config = RequestLogConfig::new(dir.path())
            .with_rotation(2 * line_bytes, u64::MAX, Duration::from_secs(3600))
            .with_max_files(0);
        let log = RequestLog::start(&config).unwrap();
        for i in 0..5 {
            log.submit(entry(&format!("r{i}")));
        }
        log.close();
        let sizes: Vec<usize> = finished_files(dir.path())
            .iter()
            .map(|f| fs::read_to_string(f).unwrap().lines().count())
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
    }

    #[test]
    fn entries_of_a_file_that_cannot_be_finished_are_counted_once_as_dropped() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("log");
        let log = RequestLog::start(&RequestLogConfig::new(&dir)).unwrap();
        log.submit(entry("r0"));
        log.submit(entry("r1"));
        // The writer has appended both entries when it takes the pause.
        let release = log.pause();
        fs::remove_dir_all(&dir).unwrap();
        drop(release);
        log.close();
        assert_eq!((log.counters().written(), log.counters().dropped()), (0, 2));
    }

    #[test]
    fn pruning_keeps_the_newest_even_past_a_million_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "requests-1700000000000-999998.jsonl",
            "requests-1700000000000-999999.jsonl",
            "requests-1700000000000-1000000.jsonl",
            "requests-1700000000000-1000001.jsonl",
        ] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        prune(dir.path(), 2);
        let names: Vec<String> = finished_files(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "requests-1700000000000-1000000.jsonl",
                "requests-1700000000000-1000001.jsonl"
            ]
        );
    }

    #[test]
    fn an_old_file_is_finished_without_new_entries() {
        let dir = tempfile::tempdir().unwrap();
        let config = RequestLogConfig::new(dir.path()).with_rotation(
            u64::MAX,
            u64::MAX,
            Duration::from_millis(50),
        );
        let log = RequestLog::start(&config).unwrap();
        log.submit(entry("r0"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while finished_files(dir.path()).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(finished_files(dir.path()).len(), 1);
        log.close();
    }

    #[test]
    fn sampling_logs_exactly_the_rate() {
        let dir = tempfile::tempdir().unwrap();
        for (rate, expected) in [
            (0.0, 0),
            (0.1, 100),
            (0.5, 500),
            (1.0 / 3.0, 333),
            (1.0, 1000),
        ] {
            let log = RequestLog::start(&RequestLogConfig::new(dir.path()).with_sample_rate(rate))
                .unwrap();
            assert_eq!(
                (0..1000).filter(|_| log.sample()).count(),
                expected,
                "rate {rate}"
            );
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let log =
            RequestLog::start(&RequestLogConfig::new(dir.path()).with_queue_capacity(2)).unwrap();
        // The writer took the pause message off the queue and waits.
        let release = log.pause();
        // A submit that waited would never return: the writer is paused
        // until after the loop. 98 drops prove they were refused instead.
        for i in 0..100 {
            log.submit(entry(&format!("r{i}")));
        }
        assert_eq!(log.counters().dropped(), 98);
        drop(release);
        log.close();
        assert_eq!(log.counters().written(), 2);
    }

    #[test]
    fn entries_queued_after_close_are_counted_as_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let counters = Arc::new(RequestLogCounters::default());
        let (sender, receiver) = sync_channel(8);
        for message in [
            Message::Entry(Box::new(entry("r0"))),
            Message::Close,
            Message::Entry(Box::new(entry("r1"))),
            Message::Entry(Box::new(entry("r2"))),
        ] {
            sender.send(message).unwrap();
        }
        drop(sender);
        let queued = Arc::new(AtomicU64::new(3 * 2));
        Writer::new(
            RequestLogConfig::new(dir.path()),
            counters.clone(),
            queued.clone(),
        )
        .run(&receiver);
        assert_eq!(queued.load(Ordering::Relaxed), 0);
        assert_eq!((counters.written(), counters.dropped()), (1, 2));
        assert_eq!(finished_files(dir.path()).len(), 1);
    }

    #[test]
    fn queued_rows_are_bounded_too() {
        let dir = tempfile::tempdir().unwrap();
        let log =
            RequestLog::start(&RequestLogConfig::new(dir.path()).with_queue_max_rows(5)).unwrap();
        let release = log.pause();
        // Entries of 2 rows: two fit in 5 rows, the third would not.
        for i in 0..4 {
            log.submit(entry(&format!("r{i}")));
        }
        assert_eq!(log.counters().dropped(), 2);
        drop(release);
        log.close();
        assert_eq!(log.counters().written(), 2);
        assert_eq!(log.queued_rows.load(Ordering::Relaxed), 0);

        // A large entry finding the queue empty is taken; rows are freed as written.
        let dir = tempfile::tempdir().unwrap();
        let log =
            RequestLog::start(&RequestLogConfig::new(dir.path()).with_queue_max_rows(1)).unwrap();
        for i in 0..3 {
            let deadline = Instant::now() + Duration::from_secs(10);
            while log.queued_rows.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            log.submit(entry(&format!("r{i}")));
        }
        log.close();
        assert_eq!((log.counters().written(), log.counters().dropped()), (3, 0));
    }

    #[test]
    fn config_file_keys() {
        let c: RequestLogConfig = serde_json::from_str(
            r#"{"dir": "l", "format": "jsonl", "sample_rate": 0.5, "max_file_bytes": 10, "max_rows_per_file": 3,
                "max_file_age": "5s", "max_files": 2, "queue_capacity": 4, "queue_max_rows": 9}"#,
        )
        .unwrap();
        assert_eq!(
            c,
            RequestLogConfig::new("l")
                .with_sample_rate(0.5)
                .with_rotation(10, 3, Duration::from_secs(5))
                .with_max_files(2)
                .with_queue_capacity(4)
                .with_queue_max_rows(9)
        );
        let e = serde_json::from_str::<RequestLogConfig>(r#"{"dir": "l", "rate": 1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `rate`"), "{e}");
        let e = serde_json::from_str::<RequestLogConfig>(r#"{"dir": "l", "format": "csv"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown variant `csv`"), "{e}");
    }

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e12..1e12f64).prop_map(Value::from),
            "[a-z<>= ]{0,8}".prop_map(Value::from),
        ]
    }

    proptest! {
        #[test]
        fn entries_round_trip_through_json(
            millis in 0u64..4_102_444_800_000,
            id in "[ -~]{0,20}",
            model in "[a-z]{1,8}",
            version in any::<u64>(),
            rows in proptest::collection::vec(proptest::collection::btree_map("[a-z_]{1,6}", json_leaf(), 0..4), 0..4),
        ) {
            let inputs: Vec<Value> = rows.iter().map(|r| Value::Object(r.clone().into_iter().collect())).collect();
            let entry = RequestLogEntry {
                timestamp: UNIX_EPOCH + Duration::from_millis(millis),
                request_id: id,
                model,
                version,
                source: "model".into(),
                outputs: inputs.clone(),
                inputs,
            };
            let line = serde_json::to_string(&entry).unwrap();
            let back: RequestLogEntry = serde_json::from_str(&line).unwrap();
            prop_assert_eq!(back, entry);
        }
    }
}
