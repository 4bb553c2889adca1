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
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::limits::{ErrorShape, RETRY_AFTER, fit_connections, open_file_limit};
use crate::{ServeError, ServerConfig};

/// Connections over the limit that are answered 503 at the same time; more
/// are closed at once.
const SHED_SLOTS: usize = 64;

/// Open files kept for everything but client connections (the listener,
/// shed connections, model and log files) when `max_connections` is fitted
/// to the process's open-file limit.
const RESERVED_FILES: u64 = SHED_SLOTS as u64 + 128;

/// How long a shed connection is given to send its request and read the 503.
const SHED_GRACE: Duration = Duration::from_secs(1);

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
///   disconnected without an answer;
/// * [`ServerConfig::idle_timeout`]: a keep-alive connection idle that long
///   is closed;
/// * [`ServerConfig::max_header_bytes`]: a larger request head is answered
///   431 (by hyper, with an empty body);
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
        .max_buf_size(config.max_header_bytes.max(8192));
    let http = Arc::new(http);
    let timeouts = Timeouts {
        header: config.header_read_timeout,
        idle: config.idle_timeout,
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

/// The phase of one connection and when it began; updated by the IO
/// wrapper (bytes read) and the service (request started, answered), which
/// wake the connection's timer when a timeout starts.
#[derive(Debug)]
struct Activity {
    state: Mutex<(Phase, Instant)>,
    timeout_started: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new((Phase::Idle, Instant::now())),
            timeout_started: Notify::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut (Phase, Instant)) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn bytes_read(&self) {
        let started = self.with(|state| {
            let idle = state.0 == Phase::Idle;
            if idle {
                *state = (Phase::Head, Instant::now());
            }
            idle
        });
        if started {
            self.timeout_started.notify_one();
        }
    }

    fn request_started(&self) {
        self.with(|state| {
            state.0 = match state.0 {
                Phase::Busy(n) => Phase::Busy(n + 1),
                Phase::Idle | Phase::Head => Phase::Busy(1),
            };
        });
    }

    fn request_answered(&self) {
        let idle = self.with(|state| {
            *state = match state.0 {
                Phase::Busy(n) if n > 1 => (Phase::Busy(n - 1), state.1),
                _ => (Phase::Idle, Instant::now()),
            };
            state.0 == Phase::Idle
        });
        if idle {
            self.timeout_started.notify_one();
        }
    }

    /// The phase and when its timeout expires (`None` while busy).
    fn deadline(&self, timeouts: Timeouts) -> (Phase, Option<Instant>) {
        self.with(|&mut (phase, since)| match phase {
            Phase::Idle => (phase, Some(since + timeouts.idle)),
            Phase::Head => (phase, Some(since + timeouts.header)),
            Phase::Busy(_) => (phase, None),
        })
    }
}

/// Marks a request answered when dropped (its response is ready, or it was
/// cancelled).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_answered();
    }
}

/// A TCP stream that tells its [`Activity`] when bytes arrive.
struct TrackedStream {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
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
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
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
    mut stopping: watch::Receiver<()>,
    _held: (OwnedSemaphorePermit, watch::Receiver<()>),
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(TrackedStream {
        stream,
        activity: Arc::clone(&activity),
    });
    let tracked = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        tracked.request_started();
        let in_flight = InFlight(Arc::clone(&tracked));
        let app = app.clone();
        async move {
            let response: Result<Response, Infallible> = app.oneshot(request.map(Body::new)).await;
            drop(in_flight);
            response
        }
    });
    let connection = http.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        let (phase, deadline) = activity.deadline(timeouts);
        let phase_changed = activity.timeout_started.notified();
        let expired = async move {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = phase_changed => {}
            _ = stopping.changed(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = expired => match phase {
                Phase::Head => {
                    tracing::debug!(timeout = ?timeouts.header, "closing a connection whose request headers did not arrive in time");
                    return;
                }
                Phase::Idle if !closing => {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                // Still idle after a graceful shutdown, or busy: close.
                Phase::Idle | Phase::Busy(_) => return,
            },
        }
    }
}

/// Answers a connection over `max_connections` with a 503 and closes it:
/// reads what the client sent first (so closing does not reset the
/// connection before the client read the answer), writes the 503 with
/// `Retry-After` and a JSON body in the protocol's shape, and waits up to
/// [`SHED_GRACE`] for the client to close.
async fn shed(
    mut stream: TcpStream,
    max_connections: usize,
    _held: (OwnedSemaphorePermit, watch::Receiver<()>),
) {
    let _ = tokio::time::timeout(SHED_GRACE, async {
        let mut head = [0u8; 2048];
        let read = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut head))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        let path = std::str::from_utf8(&head[..read])
            .ok()
            .and_then(|text| text.split(' ').nth(1))
            .map(|target| target.split('?').next().unwrap_or(target))
            .unwrap_or("/");
        let status = StatusCode::SERVICE_UNAVAILABLE;
        let message = ServeError::Overloaded {
            reason: format!("{max_connections} connections are open"),
            retry_after: RETRY_AFTER,
        }
        .to_string();
        let body = ErrorShape::of_path(path)
            .document(status, &message)
            .to_string();
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nretry-after: {}\r\nconnection: close\r\n\r\n{body}",
            body.len(),
            RETRY_AFTER.as_secs().max(1)
        );
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 2048];
        while stream.read(&mut sink).await? > 0 {}
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
