//! [`MetricsLayer`]: a tower middleware recording every request in
//! [`ServingMetrics`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::{Request, Response};
use tower::{Layer, Service};

use mlrig_core::ServedPredictions;

use crate::{LiveMonitor, Outcome, RequestLabelValues, ServingMetrics};

/// A [`tower::Layer`] that counts every request, observes its latency and
/// counts errors in [`ServingMetrics`], with labels derived from the request
/// path (see [`ServingMetrics`] for their meaning). Works on any
/// `http::Request` service, so it wraps an axum `Router` without knowing the
/// server's types.
///
/// A response carrying a [`ServedPredictions`] in its extensions (every
/// prediction of mlrig-serve) also counts its predictions per class and
/// observes their scores, and its request is labelled with the version that
/// answered (so `/labels/stable` counts under the version it points at).
///
/// Latency runs from the call to the inner service until it returns the
/// response head (streaming the body is not included). A request dropped
/// before that (the client disconnected) is counted with outcome `cancelled`.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use mlrig_monitor::{MetricsLayer, ServingMetrics, metrics_router};
/// let metrics = Arc::new(ServingMetrics::new());
/// let app: Router = Router::new()
///     .route("/ping", get(|| async { "pong" }))
///     .merge(metrics_router(metrics.clone()))
///     .layer(MetricsLayer::new(metrics));
/// ```
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Arc<ServingMetrics>,
    live: Option<Arc<LiveMonitor>>,
}

impl MetricsLayer {
    /// A layer recording into `metrics`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// let layer = mlrig_monitor::MetricsLayer::new(Arc::new(mlrig_monitor::ServingMetrics::new()));
    /// ```
    pub fn new(metrics: Arc<ServingMetrics>) -> Self {
        Self {
            metrics,
            live: None,
        }
    }

    /// Also feeds every response carrying a [`ServedPredictions`] to `live`
    /// ([`LiveMonitor::observe`]: a non-blocking queue push).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use mlrig_monitor::{LiveMonitor, MetricsLayer, ServingMetrics};
    /// let metrics = Arc::new(ServingMetrics::new());
    /// let live = Arc::new(LiveMonitor::new(Default::default(), metrics.clone())?);
    /// let layer = MetricsLayer::new(metrics).with_live_monitor(live);
    /// # Ok::<(), mlrig_monitor::MonitorError>(())
    /// ```
    pub fn with_live_monitor(mut self, live: Arc<LiveMonitor>) -> Self {
        self.live = Some(live);
        self
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: self.metrics.clone(),
            live: self.live.clone(),
        }
    }
}

/// The service [`MetricsLayer`] wraps around an inner service.
///
/// ```
/// use std::sync::Arc;
/// use tower::Layer;
/// let layer = mlrig_monitor::MetricsLayer::new(Arc::new(mlrig_monitor::ServingMetrics::new()));
/// let service: mlrig_monitor::MetricsService<()> = layer.layer(());
/// ```
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Arc<ServingMetrics>,
    live: Option<Arc<LiveMonitor>>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let labels = self.metrics.labels_for_path(request.uri().path());
        self.metrics.request_started();
        let record = InFlight {
            metrics: self.metrics.clone(),
            live: self.live.clone(),
            labels,
            started: Instant::now(),
            finished: false,
        };
        ResponseFuture {
            inner: Box::pin(self.inner.call(request)),
            record,
        }
    }
}

/// The response future of [`MetricsService`]: the inner future, recorded on
/// completion or drop.
pub struct ResponseFuture<F> {
    inner: Pin<Box<F>>,
    record: InFlight,
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("labels", &self.record.labels)
            .finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin` (the inner future is boxed).
        let this = self.get_mut();
        let result = match this.inner.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        let (outcome, served) = match &result {
            Ok(response) => (
                Outcome::Status(response.status().as_u16()),
                response.extensions().get::<ServedPredictions>(),
            ),
            Err(_) => (Outcome::ServiceError, None),
        };
        if let Some(served) = served {
            this.record.served(served);
        }
        this.record.finish(outcome);
        Poll::Ready(result)
    }
}

/// A request being handled; records itself exactly once.
struct InFlight {
    metrics: Arc<ServingMetrics>,
    live: Option<Arc<LiveMonitor>>,
    labels: RequestLabelValues,
    started: Instant,
    finished: bool,
}

impl InFlight {
    /// Records the predictions and labels the request with the version that answered.
    fn served(&mut self, served: &ServedPredictions) {
        self.metrics.record_served(served);
        if let Some(live) = &self.live {
            live.observe(served);
        }
        if let Some((model, version)) = self.metrics.served_labels(served) {
            self.labels.model = model;
            self.labels.version = version;
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if !self.finished {
            self.finished = true;
            self.metrics.request_ended();
            self.metrics
                .record_request(&self.labels, outcome, self.started.elapsed());
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.finish(Outcome::Cancelled);
    }
}
