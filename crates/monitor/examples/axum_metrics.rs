//! Prometheus metrics for your own axum app, with `mlrig-monitor` (and the
//! tokio runtime every axum server runs on):
//!
//! ```text
//! cargo run -p mlrig-monitor --example axum_metrics
//! ```
//!
//! The app has a health check and a TF Serving-style predict route answered
//! by a toy handler. `MetricsLayer` records every request (count, latency,
//! outcome, per registered model) and `metrics_router` adds `GET /metrics`.
//! The example serves on 127.0.0.1 with a port chosen by the system, sends
//! itself three requests, prints what `/metrics` answers (without the
//! latency histogram's bucket lines) and shuts down gracefully.

use std::error::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use mlrig_monitor::axum::body::Bytes;
use mlrig_monitor::axum::routing::{get, post};
use mlrig_monitor::axum::{self, Router};
use mlrig_monitor::{MetricsLayer, ServingMetrics, metrics_router};
use tokio::net::TcpListener;

fn main() -> Result<(), Box<dyn Error>> {
    let metrics = Arc::new(ServingMetrics::new());
    // Only registered models get their own label values (and a model-age gauge).
    metrics.register_model("greeter", 1, 1_700_000_000);

    let app = Router::new()
        .route("/ping", get(|| async { "ok" }))
        .route(
            "/v1/models/{*rest}",
            post(|body: Bytes| async move {
                format!("{{\"predictions\": [\"hello, {} bytes\"]}}", body.len())
            }),
        )
        .merge(metrics_router(metrics.clone()))
        .layer(MetricsLayer::new(metrics));

    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let address = listener.local_addr()?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let server = runtime.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // Waits on a blocking-pool thread, so the server's workers stay free.
                let _ = tokio::task::spawn_blocking(move || stopped.recv()).await;
            })
            .await
    });
    println!("serving on http://{address}");

    let requests = [
        ("GET", "/ping", ""),
        (
            "POST",
            "/v1/models/greeter:predict",
            r#"{"instances": [1]}"#,
        ),
        (
            "POST",
            "/v1/models/greeter:predict",
            r#"{"instances": [2]}"#,
        ),
        ("GET", "/metrics", ""),
    ];
    let mut answers = Vec::new();
    for (method, path, body) in requests {
        answers.push(request(address, method, path, body));
    }
    // Stop the server whatever the requests gave, then report.
    stop.send(())?;
    runtime.block_on(server)??;

    let Some(exposition) = answers.pop() else {
        return Err("no /metrics answer".into());
    };
    for ((method, path, _), answer) in requests.iter().zip(answers) {
        println!("{method} {path} → {}", answer?.0);
    }
    let (status, exposition) = exposition?;
    let buckets = exposition
        .lines()
        .filter(|line| line.contains("_bucket{"))
        .count();
    println!("GET /metrics → {status} ({buckets} histogram bucket lines not shown):");
    for line in exposition.lines().filter(|line| !line.contains("_bucket{")) {
        println!("  {line}");
    }
    println!("server stopped");
    Ok(())
}

/// Sends one HTTP/1.1 request and returns the status line and the body.
fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(String, String), Box<dyn Error>> {
    let mut stream = TcpStream::connect(address)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("no end of HTTP headers")?;
    let status = head.lines().next().unwrap_or_default();
    Ok((status.to_string(), body.to_string()))
}
