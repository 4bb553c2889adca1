//! [`serve`], [`serve_with`] and [`shutdown_signal`]: running an app on a
//! TCP listener, with connection limits, until told to stop.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::head_errors::{HeadErrors, json_response, request_path};
use crate::limits::{ErrorShape, RETRY_AFTER, fit_connections, open_file_limit};
use crate::{ServeError, ServerConfig};

/// Connections over the limit that are answered 503 at the same time; more
/// are closed at once.
const SHED_SLOTS: usize = 64;

/// Open files kept for everything but client connections (the listener,
/// shed connections, model and log files) when `max_connections` is fitted
/// to the process's open-file limit.
const RESERVED_FILES: u64 = SHED_SLOTS as u64 + 128;

/// How long a shed connection is given to send its request and read the
/// 503 (short: a shed slot is held meanwhile).
const SHED_GRACE: Duration = Duration::from_millis(500);

/// How long a shed connection waits for the first bytes of the request.
const SHED_READ: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` with [`ServerConfig::default`]'s connection
/// limits until `shutdown` resolves; see [`serve_with`].
///
/// # Errors
/// [`ServeError::Io`] if the listener's address cannot be read.
///
/// ```no_run
/// # async fn run() -> Result<(), mlrig_serve::ServeError> {
/// use std::sync::Arc;
/// use mlrig_serve::{ModelRegistry, ServerConfig, router, serve, shutdown_signal};
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8501").await
///     .map_err(|source| mlrig_serve::ServeError::Io { context: "binding 0.0.0.0:8501".into(), source })?;
/// let app = router(Arc::new(ModelRegistry::new()), &ServerConfig::default());
/// serve(listener, app, shutdown_signal()).await
/// # }
/// ```
pub async fn serve<F>(listener: TcpListener, app: Router, shutdown: F) -> Result<(), ServeError>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_with(listener, app, &ServerConfig::default(), shutdown).await
}

/// Serves `app` on `listener` over HTTP/1.1 (keep-alive) until `shutdown`
/// resolves, then stops accepting connections, lets in-flight requests
/// finish (idle keep-alive connections are closed) and returns.
///
/// `app` is usually [`crate::router`] built with the same `config`,
/// possibly merged with other routers and wrapped in layers (metrics,
/// tracing). The connection limits of `config`:
///
/// * [`ServerConfig::header_read_timeout`]: a client that has started a
///   request but not finished its headers in time (slowloris) is
///   disconnected without an answer (zero: no limit);
/// * [`ServerConfig::idle_timeout`]: a keep-alive connection idle that long
///   is closed (zero: no limit);
/// * [`ServerConfig::max_header_bytes`]: a larger request head is answered
///   431 with a JSON body (hyper's own answer, rewritten on the way out);
/// * [`ServerConfig::max_connections`], lowered with a warning to fit the
///   open-file limit: a connection over it is answered 503 with
///   `Retry-After` and a JSON body, then closed (or closed at once when
///   64 such answers are already being sent), while established
///   connections keep being served.
///
/// # Errors
/// [`ServeError::Io`] if the listener's address cannot be read.
///
/// ```no_run
/// # async fn run() -> Result<(), mlrig_serve::ServeError> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mlrig_serve::{ModelRegistry, ServerConfig, router, serve_with, shutdown_signal};
/// let config = ServerConfig::default().with_max_connections(1000).with_idle_timeout(Duration::from_secs(30));
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8501").await
///     .map_err(|source| mlrig_serve::ServeError::Io { context: "binding 0.0.0.0:8501".into(), source })?;
/// let app = router(Arc::new(ModelRegistry::new()), &config);
/// serve_with(listener, app, &config, shutdown_signal()).await
/// # }
/// ```
pub async fn serve_with<F>(
    listener: TcpListener,
    app: Router,
    config: &ServerConfig,
    shutdown: F,
) -> Result<(), ServeError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let address = listener.local_addr().map_err(|source| ServeError::Io {
        context: "reading the listener's address".into(),
        source,
    })?;
    let fd_limit = open_file_limit();
    let max_connections = fit_connections(config.max_connections, fd_limit, RESERVED_FILES);
    if max_connections < config.max_connections {
        tracing::warn!(
            configured = config.max_connections,
            open_file_limit = fd_limit,
            max_connections,
            "max_connections lowered to fit the open-file limit; raise `ulimit -n` to allow more"
        );
    }
    tracing::info!(%address, max_connections, "serving HTTP");

    let mut http = http1::Builder::new();
    http.keep_alive(true)
        .max_buf_size(head_limit(config.max_header_bytes));
    let http = Arc::new(http);
    let timeouts = Timeouts {
        header: enabled(config.header_read_timeout),
        idle: enabled(config.idle_timeout),
    };
    let connections = Arc::new(Semaphore::new(max_connections));
    let shed_slots = Arc::new(Semaphore::new(SHED_SLOTS));
    // Dropping `stop` tells every connection to shut down; `done` resolves
    // once every connection task dropped its `alive` receiver.
    let (stop, stopping) = watch::channel(());
    let (done, alive) = watch::channel(());

    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: wait a little rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        if let Ok(permit) = Arc::clone(&connections).try_acquire_owned() {
            tokio::spawn(serve_connection(
                stream,
                app.clone(),
                Arc::clone(&http),
                timeouts,
                config.max_header_bytes,
                stopping.clone(),
                (permit, alive.clone()),
            ));
        } else if let Ok(permit) = Arc::clone(&shed_slots).try_acquire_owned() {
            tokio::spawn(shed(stream, max_connections, (permit, alive.clone())));
        } else {
            tracing::debug!("connection closed at once: over max_connections");
            drop(stream);
        }
    }
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
    drop(listener);
    drop(stop);
    drop(alive);
    done.closed().await;
    tracing::info!(%address, "server stopped");
    Ok(())
}

/// The largest request head for `max_header_bytes`: hyper's smallest
/// `max_buf_size` is 8192.
fn head_limit(max_header_bytes: usize) -> usize {
    max_header_bytes.max(8192)
}

/// A connection timeout of zero disables it: it stands for a year, so the
/// timer code needs no special case (a zero deadline would close every
/// connection as soon as it is read from).
const DISABLED: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// `timeout`, or [`DISABLED`] for zero.
fn enabled(timeout: Duration) -> Duration {
    if timeout.is_zero() { DISABLED } else { timeout }
}

/// The connection timeouts.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header: Duration,
    idle: Duration,
}

/// Where a connection is between requests, for its timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request in flight and no byte of the next one read.
    Idle,
    /// Bytes of a request head arrived; the request is not dispatched yet.
    Head,
    /// This many requests are being answered.
    Busy(usize),
}

/// The phase of a connection, when it began, and when the connection's
/// timer is armed to look at it again.
#[derive(Debug, Clone, Copy)]
struct State {
    phase: Phase,
    since: Instant,
    armed: Instant,
}

/// What the connection's timer finds when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The timeout of this phase (idle or head) has passed.
    Expired(Phase),
    /// Nothing has expired; look again at this instant.
    Later(Instant),
}

/// The phase of one connection, updated by the IO wrapper (bytes read) and
/// the service (request started, answered).
///
/// The timer is re-armed lazily: when it fires it computes the current
/// deadline, so a request costs no timer operation. Only a head starting
/// while the timer is armed later than the head's deadline wakes it early
/// (`rearm`), which happens at most once per armed period.
#[derive(Debug)]
struct Activity {
    state: Mutex<State>,
    rearm: Notify,
    timeouts: Timeouts,
}

impl Activity {
    fn new(timeouts: Timeouts) -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                phase: Phase::Idle,
                since: now,
                armed: now + timeouts.idle,
            }),
            rearm: Notify::new(),
            timeouts,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Bytes of a request arrived; `true` when they start a new head.
    fn bytes_read(&self) -> bool {
        let header = self.timeouts.header;
        let (started, early) = self.with(|state| {
            if state.phase != Phase::Idle {
                return (false, false);
            }
            let now = Instant::now();
            state.phase = Phase::Head;
            state.since = now;
            let deadline = now + header;
            let early = deadline < state.armed;
            if early {
                state.armed = deadline;
            }
            (true, early)
        });
        if early {
            self.rearm.notify_one();
        }
        started
    }

    /// No request is being served: bytes read now belong to a request
    /// head (the next one, or one arriving).
    fn reading_head(&self) -> bool {
        self.with(|state| !matches!(state.phase, Phase::Busy(_)))
    }

    /// A head is arriving and no request is being served (so whatever
    /// hyper writes now is its own answer to that head).
    fn head_pending(&self) -> bool {
        self.with(|state| state.phase == Phase::Head)
    }

    /// Bytes of a response went out: an idle connection still flushing a
    /// response it no longer tracks (hyper drops a body once its last frame
    /// is buffered) is not idle.
    fn bytes_written(&self) {
        self.with(|state| {
            if state.phase == Phase::Idle {
                state.since = Instant::now();
            }
        });
    }

    fn request_started(&self) {
        self.with(|state| {
            state.phase = match state.phase {
                Phase::Busy(n) => Phase::Busy(n + 1),
                Phase::Idle | Phase::Head => Phase::Busy(1),
            };
        });
    }

    fn request_answered(&self) {
        // The idle deadline is later than wherever the timer is armed; it
        // picks the new phase up when it fires.
        self.with(|state| match state.phase {
            Phase::Busy(n) if n > 1 => state.phase = Phase::Busy(n - 1),
            _ => {
                state.phase = Phase::Idle;
                state.since = Instant::now();
            }
        });
    }

    /// Where the timer is armed.
    fn armed(&self) -> Instant {
        self.with(|state| state.armed)
    }

    /// What the timer finds at `now`; re-arms it when nothing expired (a
    /// busy connection is looked at again after the shorter timeout).
    fn check(&self, now: Instant) -> Check {
        let Timeouts { header, idle } = self.timeouts;
        self.with(|state| {
            let deadline = match state.phase {
                Phase::Idle => state.since + idle,
                Phase::Head => state.since + header,
                Phase::Busy(_) => now + header.min(idle),
            };
            if deadline <= now {
                Check::Expired(state.phase)
            } else {
                state.armed = deadline;
                Check::Later(deadline)
            }
        })
    }
}

/// Marks a request answered when dropped (its response body was sent, or
/// the request was cancelled).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_answered();
    }
}

/// A response body that keeps its request in flight until the body ends or
/// is dropped, so a long response write is never cut by the idle timeout.
struct TrackedBody {
    body: Body,
    in_flight: Option<InFlight>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            self.in_flight = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A TCP stream that tells its [`Activity`] when bytes arrive or leave.
struct TrackedStream {
    stream: TcpStream,
    activity: Arc<Activity>,
    /// Replaces hyper's empty-bodied answers to heads it refuses.
    errors: HeadErrors,
    /// The largest request head: hyper's `max_buf_size`, which hyper checks
    /// only between reads, so a read is capped to keep a head's bytes within
    /// it (one read could otherwise bring a head of 1.5 times the limit).
    head_limit: usize,
    /// Bytes of the current head read so far (0 while a request is served).
    head_bytes: usize,
}

impl TrackedStream {
    /// Whether hyper's bytes starting with `first` are its own answer to a
    /// refused head, to be replaced (see [`HeadErrors`]).
    fn swallow(&mut self, first: &[u8]) -> bool {
        let head_pending = first.starts_with(b"HTTP/1.") && self.activity.head_pending();
        self.errors.swallow(head_pending, first)
    }

    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Self { stream, errors, .. } = self;
        errors.poll_drain(Pin::new(stream), cx)
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let reading_head = self.activity.reading_head();
        if !reading_head {
            self.head_bytes = 0;
        }
        // At least one byte: hyper refuses a head that filled its limit
        // before reading again, and a zero-byte read would mean EOF.
        let cap = self.head_limit.saturating_sub(self.head_bytes).max(1);
        let result = if reading_head && cap < buf.remaining() {
            // Read into a part of `buf` at most `cap` long (zeroed first, so
            // no unsafe code is needed to mark it filled).
            let mut limited = ReadBuf::new(buf.initialize_unfilled_to(cap));
            let result = Pin::new(&mut self.stream).poll_read(cx, &mut limited);
            let n = limited.filled().len();
            buf.advance(n);
            result
        } else {
            Pin::new(&mut self.stream).poll_read(cx, buf)
        };
        let n = buf.filled().len() - before;
        if matches!(result, Poll::Ready(Ok(()))) && n > 0 {
            let new_head = self.activity.bytes_read();
            if new_head {
                self.head_bytes = 0;
            }
            if reading_head {
                self.head_bytes += n;
            }
            self.errors.read(new_head, &buf.filled()[before..]);
        }
        result
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.swallow(buf) {
            return Poll::Ready(Ok(buf.len()));
        }
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.bytes_written();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        if self.swallow(first) {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.bytes_written();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serves one connection until the client closes it, a timeout expires or
/// the server shuts down. `_held` (the connection slot and the server's
/// liveness receiver) is released when it returns.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    http: Arc<http1::Builder>,
    timeouts: Timeouts,
    max_header_bytes: usize,
    mut stopping: watch::Receiver<()>,
    _held: (OwnedSemaphorePermit, watch::Receiver<()>),
) {
    let activity = Arc::new(Activity::new(timeouts));
    let io = TokioIo::new(TrackedStream {
        stream,
        activity: Arc::clone(&activity),
        errors: HeadErrors::new(max_header_bytes),
        head_limit: head_limit(max_header_bytes),
        head_bytes: 0,
    });
    let tracked = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        tracked.request_started();
        let in_flight = InFlight(Arc::clone(&tracked));
        let app = app.clone();
        async move {
            let response: Result<Response, Infallible> = app.oneshot(request.map(Body::new)).await;
            response.map(|response| {
                response.map(|body| TrackedBody {
                    body,
                    in_flight: Some(in_flight),
                })
            })
        }
    });
    let connection = http.serve_connection(io, service);
    tokio::pin!(connection);
    let timer = tokio::time::sleep_until(activity.armed());
    tokio::pin!(timer);
    let mut closing = false;
    loop {
        tokio::select! {
            biased;
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = activity.rearm.notified() => timer.as_mut().reset(activity.armed()),
            _ = stopping.changed(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = timer.as_mut() => {
                let now = Instant::now();
                match activity.check(now) {
                    Check::Later(deadline) => timer.as_mut().reset(deadline),
                    Check::Expired(Phase::Head) => {
                        tracing::debug!(timeout = ?timeouts.header, "closing a connection whose request headers did not arrive in time");
                        return;
                    }
                    Check::Expired(_) if !closing => {
                        // Idle: hyper closes an idle connection at once.
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                        timer.as_mut().reset(now + timeouts.header);
                    }
                    Check::Expired(_) => return,
                }
            }
        }
    }
}

/// Answers a connection over `max_connections` with a 503 and closes it:
/// reads what the client sent within [`SHED_READ`] (so closing does not
/// reset the connection before the client read the answer), writes the 503
/// with `Retry-After` and a JSON body in the protocol's shape, and, when
/// more of the request may be unread, drains it until the client closes,
/// all within [`SHED_GRACE`].
async fn shed(
    mut stream: TcpStream,
    max_connections: usize,
    _held: (OwnedSemaphorePermit, watch::Receiver<()>),
) {
    let _ = tokio::time::timeout(SHED_GRACE, async {
        let mut head = [0u8; 2048];
        let read = tokio::time::timeout(SHED_READ, stream.read(&mut head))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        let status = StatusCode::SERVICE_UNAVAILABLE;
        let message = ServeError::Overloaded {
            reason: format!("{max_connections} connections are open"),
            retry_after: RETRY_AFTER,
        }
        .to_string();
        let body = ErrorShape::of_path(request_path(&head[..read]))
            .document(status, &message)
            .to_string();
        let retry_after = format!("retry-after: {}\r\n", RETRY_AFTER.as_secs().max(1));
        let response = json_response(status, &body, &retry_after);
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        if read == head.len() {
            // More of the request may be unread: closing now could reset
            // the connection before the client reads the 503.
            let mut sink = [0u8; 2048];
            while stream.read(&mut sink).await? > 0 {}
        }
        Ok::<_, io::Error>(())
    })
    .await;
}

/// Resolves when the process receives Ctrl-C (SIGINT) or, on Unix, SIGTERM
/// (what `docker stop` and Kubernetes send); pass it to [`serve`].
///
/// If a signal handler cannot be installed, the failure is logged and that
/// signal is ignored (the other one still works).
///
/// ```no_run
/// # async fn run() {
/// mlrig_serve::shutdown_signal().await;
/// println!("stopping");
/// # }
/// ```
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
