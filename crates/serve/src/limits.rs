//! Request limits every protocol shares: the prediction concurrency limit
//! (a short queue, then 503 + `Retry-After`), the early 413 for a declared
//! `Content-Length` over the body limit (before any `100 Continue`), the
//! response-size bound, and a JSON body on every error response.
//!
//! Connection limits (header-read and idle timeouts, max connections) are
//! in [`crate::serve_with`]'s accept loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::mlflow::{MlflowError, error_code};
use crate::{ServeError, ServerConfig};

/// What a shed request is told to wait before retrying.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The longest error body of an inner layer that is kept as the message
/// when it is wrapped in JSON; a longer one is replaced by the status text.
const MAX_WRAPPED_MESSAGE: usize = 4096;

/// The error document of the protocol a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorShape {
    /// TF Serving's and the Open Inference Protocol's `{"error": "..."}`
    /// (also for paths of no protocol).
    Error,
    /// MLflow's `{"error_code": "...", "message": "..."}`.
    Mlflow,
}

impl ErrorShape {
    /// The shape of the protocol serving `path`.
    pub(crate) fn of_path(path: &str) -> Self {
        match path {
            "/invocations" | "/ping" | "/health" | "/version" => ErrorShape::Mlflow,
            _ => ErrorShape::Error,
        }
    }

    /// The error document for `status` and `message`.
    pub(crate) fn document(self, status: StatusCode, message: &str) -> Value {
        match self {
            ErrorShape::Error => json!({ "error": message }),
            ErrorShape::Mlflow => json!({"error_code": error_code(status), "message": message}),
        }
    }

    /// `error` as a response in this shape.
    pub(crate) fn respond(self, error: ServeError) -> Response {
        match self {
            ErrorShape::Error => error.into_response(),
            ErrorShape::Mlflow => MlflowError::from(error).into_response(),
        }
    }
}

/// The prediction concurrency limit: at most `slots` predictions run at
/// once, at most `max_queued` more wait, each at most `queue_timeout`;
/// beyond that a request is shed with [`ServeError::Overloaded`].
pub(crate) struct PredictionLimiter {
    slots: Arc<Semaphore>,
    running_max: usize,
    queued: AtomicUsize,
    max_queued: usize,
    queue_timeout: Duration,
}

/// Leaves the queue when dropped (admitted, timed out or cancelled).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PredictionLimiter {
    /// The limiter `config` describes.
    pub(crate) fn new(config: &ServerConfig) -> Self {
        let running_max = config.concurrent_predictions();
        Self {
            slots: Arc::new(Semaphore::new(running_max)),
            running_max,
            queued: AtomicUsize::new(0),
            max_queued: config.queued_predictions(),
            queue_timeout: config.queue_timeout,
        }
    }

    /// A slot to run one prediction in (released when the permit drops),
    /// after waiting in the queue if every slot is taken.
    ///
    /// # Errors
    /// [`ServeError::Overloaded`] when the queue is full or the wait
    /// exceeded the queue timeout.
    pub(crate) async fn acquire(&self) -> Result<OwnedSemaphorePermit, ServeError> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(self.overloaded(format!(
                "{} predictions are running and {} are queued",
                self.running_max, self.max_queued
            )));
        }
        let _queued = Queued(&self.queued);
        match tokio::time::timeout(self.queue_timeout, Arc::clone(&self.slots).acquire_owned())
            .await
        {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(ServeError::Internal {
                reason: format!("the prediction limiter is closed: {closed}"),
            }),
            Err(_) => Err(self.overloaded(format!(
                "{} predictions are running and this one waited {} ms for a slot",
                self.running_max,
                self.queue_timeout.as_millis()
            ))),
        }
    }

    fn overloaded(&self, reason: String) -> ServeError {
        tracing::debug!(%reason, "prediction shed");
        ServeError::Overloaded {
            reason,
            retry_after: RETRY_AFTER,
        }
    }
}

/// The limits [`harden`] enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpLimits {
    pub max_body_bytes: usize,
    pub max_response_bytes: usize,
}

/// The outermost layer of [`crate::router`]:
///
/// * a request declaring a `Content-Length` over the body limit is a 413
///   at once, before the body is read (so `Expect: 100-continue` never gets
///   a `100 Continue`), and the connection is closed;
/// * a response whose (known) size is over the response limit becomes a
///   413 saying to send fewer instances;
/// * an error response (4xx/5xx) whose body is not JSON (an axum or tower
///   rejection, an empty body) gets the protocol's JSON error document,
///   keeping its status and headers (`Allow`, `Retry-After`).
pub(crate) async fn harden(
    State(limits): State<HttpLimits>,
    request: Request,
    next: Next,
) -> Response {
    let shape = ErrorShape::of_path(request.uri().path());
    if declared_length(request.headers()).is_some_and(|n| n > limits.max_body_bytes as u64) {
        let mut response = shape.respond(ServeError::PayloadTooLarge {
            limit: limits.max_body_bytes,
        });
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let response = next.run(request).await;
    let size = HttpBody::size_hint(response.body()).exact();
    if let Some(size) = size
        && size > limits.max_response_bytes as u64
    {
        return shape.respond(ServeError::ResponseTooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit: limits.max_response_bytes,
        });
    }
    let status = response.status();
    if (status.is_client_error() || status.is_server_error())
        && (size == Some(0) || !is_json(response.headers()))
    {
        return with_json_error_body(response, shape).await;
    }
    response
}

/// The request's `Content-Length`, if it has a valid one.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// `response` (an error) with its body replaced by the JSON error document:
/// the old body as the message when it is short text, else the status text.
async fn with_json_error_body(response: Response, shape: ErrorShape) -> Response {
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_WRAPPED_MESSAGE)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    let message = text.unwrap_or_else(|| {
        format!(
            "{} {}",
            parts.status.as_u16(),
            parts.status.canonical_reason().unwrap_or("error")
        )
    });
    let document = shape.document(parts.status, &message).to_string();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(document))
}

/// The soft limit on open files of this process (`ulimit -n`), read from
/// `/proc/self/limits` on Linux; `None` elsewhere or when unreadable.
pub(crate) fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&text)
}

/// The soft "Max open files" limit in `/proc/self/limits` text
/// (`None` when absent or `unlimited`).
fn parse_open_file_limit(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `configured` lowered to fit an open-file limit of `fd_limit` with
/// `reserved` descriptors kept for everything else (at least 1).
pub(crate) fn fit_connections(configured: usize, fd_limit: Option<u64>, reserved: u64) -> usize {
    match fd_limit {
        Some(limit) => {
            let room = usize::try_from(limit.saturating_sub(reserved)).unwrap_or(usize::MAX);
            configured.min(room).max(1)
        }
        None => configured.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_file_limit_is_the_soft_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max cpu time              unlimited            unlimited            seconds\n\
                    Max open files            1024                 524288               files\n";
        assert_eq!(parse_open_file_limit(text), Some(1024));
        assert_eq!(
            parse_open_file_limit("Max open files unlimited unlimited files"),
            None
        );
        assert_eq!(fit_connections(10_000, Some(1024), 192), 832);
        assert_eq!(fit_connections(100, Some(1024), 192), 100);
        assert_eq!(fit_connections(100, Some(10), 192), 1);
        assert_eq!(fit_connections(100, None, 192), 100);
        if cfg!(target_os = "linux") {
            assert!(open_file_limit().is_some_and(|n| n > 0));
        }
    }

    #[test]
    fn error_shapes_follow_the_protocol() {
        assert_eq!(ErrorShape::of_path("/invocations"), ErrorShape::Mlflow);
        assert_eq!(ErrorShape::of_path("/v2/models/m/infer"), ErrorShape::Error);
        assert_eq!(
            ErrorShape::Mlflow.document(StatusCode::SERVICE_UNAVAILABLE, "busy"),
            json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})
        );
        assert_eq!(
            ErrorShape::Error.document(StatusCode::NOT_FOUND, "x"),
            json!({"error": "x"})
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_queue_sheds_when_full_or_too_slow() {
        let config = ServerConfig::default()
            .with_max_concurrent_predictions(1)
            .with_max_queued_predictions(1)
            .with_queue_timeout(Duration::from_millis(20));
        let limiter = PredictionLimiter::new(&config);
        let running = limiter.acquire().await.unwrap();
        // One waits in the queue (and times out); a second finds it full.
        let (waited, full) = tokio::join!(limiter.acquire(), async {
            tokio::task::yield_now().await;
            limiter.acquire().await
        });
        let waited = waited.unwrap_err().to_string();
        assert!(waited.contains("waited 20 ms"), "{waited}");
        let full = full.unwrap_err().to_string();
        assert!(full.contains("1 are queued"), "{full}");
        drop(running);
        assert!(limiter.acquire().await.is_ok());
        assert_eq!(limiter.queued.load(Ordering::Acquire), 0);
    }
}
