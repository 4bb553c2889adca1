//! [`serve`] and [`shutdown_signal`]: running an app on a TCP listener until
//! told to stop.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

use crate::ServeError;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting
/// connections, lets in-flight requests finish (idle keep-alive connections
/// are closed) and returns.
///
/// `app` is usually [`crate::router`], possibly merged with other routers and
/// wrapped in layers (metrics, tracing).
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
    let address = listener.local_addr().map_err(|source| ServeError::Io {
        context: "reading the listener's address".into(),
        source,
    })?;
    tracing::info!(%address, "serving HTTP");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
        })
        .await
        .map_err(|source| ServeError::Io {
            context: format!("serving HTTP on {address}"),
            source,
        })?;
    tracing::info!(%address, "server stopped");
    Ok(())
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
