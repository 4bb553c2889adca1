//! [`RequestLogCounters`]: what a request log wrote and dropped, for monitoring.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a request log: entries written to its files (counted when
/// their file is finished) and entries dropped (queue full, writer
/// stopped, or a write that failed); an entry is counted once.
///
/// `mlrig-serve`'s request log increments them and `mlrig-monitor` reads
/// them when scraped (`mlrig_request_log_written_total`,
/// `mlrig_request_log_dropped_total`), so neither crate knows the other
/// (the type lives in core for that reason, as [`ServedPredictions`](crate::ServedPredictions)).
///
/// ```
/// let counters = mlrig_core::RequestLogCounters::default();
/// counters.add_written(3);
/// counters.add_dropped(1);
/// assert_eq!((counters.written(), counters.dropped()), (3, 1));
/// ```
#[derive(Debug, Default)]
pub struct RequestLogCounters {
    written: AtomicU64,
    dropped: AtomicU64,
}

impl RequestLogCounters {
    /// Entries written so far.
    ///
    /// ```
    /// assert_eq!(mlrig_core::RequestLogCounters::default().written(), 0);
    /// ```
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Entries dropped so far.
    ///
    /// ```
    /// assert_eq!(mlrig_core::RequestLogCounters::default().dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Counts `n` more entries written.
    ///
    /// ```
    /// let c = mlrig_core::RequestLogCounters::default();
    /// c.add_written(2);
    /// assert_eq!(c.written(), 2);
    /// ```
    pub fn add_written(&self, n: u64) {
        self.written.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` more entries dropped.
    ///
    /// ```
    /// let c = mlrig_core::RequestLogCounters::default();
    /// c.add_dropped(1);
    /// assert_eq!(c.dropped(), 1);
    /// ```
    pub fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }
}
