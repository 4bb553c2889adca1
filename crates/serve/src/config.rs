//! [`ServerConfig`]: request limits and where predictions run.

use std::time::Duration;

/// Limits and execution settings of the HTTP API built by [`crate::router`].
///
/// ```
/// use mlrig_serve::ServerConfig;
/// use std::time::Duration;
/// let config = ServerConfig::default()
///     .with_max_body_bytes(1 << 20)
///     .with_request_timeout(Duration::from_secs(5));
/// assert_eq!(config.max_body_bytes, 1 << 20);
/// assert_eq!(ServerConfig::default().request_timeout, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes (default 4 MiB); a larger body
    /// is answered with 413.
    pub max_body_bytes: usize,
    /// Longest time a request may take, body upload included (default 30 s);
    /// a slower request is answered with 504.
    pub request_timeout: Duration,
    /// Prediction requests whose body is at most this many bytes (default
    /// 16 KiB, a few dozen rows) are converted and predicted directly on the
    /// async worker thread; larger ones run on tokio's blocking thread pool so
    /// they never stall other connections. Set 0 to always use the pool.
    pub inline_predict_max_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            inline_predict_max_bytes: 16 * 1024,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::max_body_bytes`].
    ///
    /// ```
    /// assert_eq!(mlrig_serve::ServerConfig::default().with_max_body_bytes(10).max_body_bytes, 10);
    /// ```
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`ServerConfig::request_timeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = mlrig_serve::ServerConfig::default().with_request_timeout(Duration::from_secs(1));
    /// assert_eq!(c.request_timeout, Duration::from_secs(1));
    /// ```
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::inline_predict_max_bytes`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_inline_predict_max_bytes(0);
    /// assert_eq!(c.inline_predict_max_bytes, 0);
    /// ```
    pub fn with_inline_predict_max_bytes(mut self, bytes: usize) -> Self {
        self.inline_predict_max_bytes = bytes;
        self
    }
}
