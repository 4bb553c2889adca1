#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The server's limits against a real server on a TCP port: slowloris, many
//! idle connections, an instance bomb, `Expect: 100-continue` over the body
//! limit, the prediction concurrency limit, and a JSON body on every error.
//!
//! Assertions are on outcomes only; latencies and memory are printed
//! (`cargo test -p mlrig-serve --test limits -- --nocapture`).

mod fakes;

use fakes::{HttpResponse, parse_response};

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::{DataType, Field, Schema, SchemaRef};
use mlrig_core::ndarray::Array1;
use mlrig_core::{Predictions, Servable, ServableInfo, Task};
use mlrig_serve::{ModelRegistry, ServerConfig, router, serve_with};
use proptest::prelude::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tower::ServiceExt;

/// A generous guard so a broken server fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(60);

const GOOD_BODY: &str = r#"{"instances": [{"x": 1.5}]}"#;
const GOOD_PATH: &str = "/v1/models/linear/versions/1:predict";

/// A running server and how to stop it.
struct Server {
    address: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), mlrig_serve::ServeError>>,
}

impl Server {
    async fn start(config: ServerConfig) -> Self {
        Self::start_with(fakes::registry(), config).await
    }

    async fn start_with(registry: Arc<ModelRegistry>, config: ServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = router(registry, &config);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve_with(listener, app, &config, async {
                let _ = stopped.await;
            })
            .await
        });
        Self {
            address,
            stop: Some(stop),
            task,
        }
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(GUARD, &mut self.task)
            .await
            .expect("the server did not shut down")
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}

/// Reads until a whole response arrived (`Some`) or the server closed or
/// reset the connection first (`None`).
async fn read_response(stream: &mut TcpStream) -> Option<HttpResponse> {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    tokio::time::timeout(GUARD, async {
        loop {
            if let Some(response) = parse_response(&raw) {
                return Some(response);
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => raw.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .expect("no response and no close")
}

fn request(method: &str, path: &str, body: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One request on a new connection; the response (`None` if closed first).
async fn one_shot(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Option<HttpResponse> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    stream
        .write_all(&request(method, path, body, "Connection: close\r\n"))
        .await
        .ok()?;
    read_response(&mut stream).await
}

/// Sends good requests, each on a new connection, until `done` says stop;
/// returns the latencies. Every one must be answered 200.
async fn good_requests_until(
    address: std::net::SocketAddr,
    mut done: oneshot::Receiver<()>,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    loop {
        let started = Instant::now();
        let response = one_shot(address, "POST", GOOD_PATH, GOOD_BODY)
            .await
            .expect("a good request got no response");
        assert_eq!(response.status, 200, "{:?}", response.json());
        latencies.push(started.elapsed());
        if done.try_recv().is_ok() {
            return latencies;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn summary(latencies: &mut [Duration]) -> String {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    format!(
        "{} requests, median {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// The resident set size of this process (client and server), in MiB:
/// `VmRSS` (now) or `VmHWM` (the peak so far).
fn memory_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The soft open-file limit of this process, if known.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_client_is_disconnected_while_good_requests_are_served() {
    let header_timeout = Duration::from_millis(500);
    let server = Server::start(
        ServerConfig::default()
            .with_header_read_timeout(header_timeout)
            .with_idle_timeout(Duration::from_secs(30)),
    )
    .await;
    let address = server.address;
    let (done, stop_good) = oneshot::channel();
    let good = tokio::spawn(good_requests_until(address, stop_good));

    // Several slow clients, each trickling one header line every 100 ms.
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"POST /v1/models/linear:predict HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            let (mut reader, mut writer) = stream.into_split();
            let trickle = async {
                for i in 0.. {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if writer
                        .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            };
            let mut received = Vec::new();
            let closed = async {
                let mut buffer = [0u8; 1024];
                loop {
                    match reader.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => received.extend_from_slice(&buffer[..n]),
                    }
                }
            };
            tokio::time::timeout(GUARD, async {
                tokio::select! {
                    () = closed => {},
                    () = trickle => {
                        // The write failed: the server is gone; the read sees it too.
                    },
                }
            })
            .await
            .expect("the slow client was never disconnected");
            (started.elapsed(), received)
        }));
    }
    for task in slow {
        let (after, received) = task.await.unwrap();
        println!("slowloris client disconnected after {after:?}");
        assert!(
            after >= header_timeout,
            "closed before the header timeout: {after:?}"
        );
        assert!(
            received.is_empty(),
            "a slow client gets no answer: {:?}",
            String::from_utf8_lossy(&received)
        );
    }
    done.send(()).unwrap();
    let mut latencies = good.await.unwrap();
    println!(
        "good requests during slowloris: {}",
        summary(&mut latencies)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_shed_and_idle_ones_closed() {
    let max_connections = 40;
    let idle = 60; // 21 over the limit (the established client holds one slot)
    let server = Server::start(
        ServerConfig::default()
            .with_max_connections(max_connections)
            .with_idle_timeout(Duration::from_secs(2)),
    )
    .await;
    let address = server.address;

    // An established keep-alive client.
    let mut client = TcpStream::connect(address).await.unwrap();
    client
        .write_all(&request("POST", GOOD_PATH, GOOD_BODY, ""))
        .await
        .unwrap();
    assert_eq!(read_response(&mut client).await.unwrap().status, 200);

    let mut sockets = Vec::new();
    for _ in 0..idle {
        sockets.push(TcpStream::connect(address).await.unwrap());
    }
    // The established client is still served, and promptly.
    let started = Instant::now();
    client
        .write_all(&request("POST", GOOD_PATH, GOOD_BODY, ""))
        .await
        .unwrap();
    let response = read_response(&mut client).await.unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json());
    println!(
        "established client with {idle} idle connections open: answered in {:?}",
        started.elapsed()
    );

    // A new connection is over the limit too; an MLflow client gets MLflow's shape.
    let response = one_shot(address, "POST", "/invocations", GOOD_BODY)
        .await
        .expect("a shed connection gets an answer");
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert_eq!(response.json()["error_code"], "TEMPORARILY_UNAVAILABLE");

    // Every idle socket ends: the ones over the limit with a 503, the
    // others closed by the idle timeout without an answer.
    let mut shed = 0;
    let mut closed_idle = 0;
    for mut socket in sockets {
        match read_response(&mut socket).await {
            Some(response) => {
                assert_eq!(response.status, 503);
                assert_eq!(response.header("retry-after"), Some("1"));
                let json = response.json();
                let error = json["error"].as_str().unwrap();
                assert!(error.contains("40 connections are open"), "{error}");
                shed += 1;
            }
            None => closed_idle += 1,
        }
    }
    println!("{shed} connections shed with 503, {closed_idle} closed when idle");
    assert_eq!(shed, idle + 1 - max_connections);
    assert_eq!(closed_idle, max_connections - 1);

    // The established client was closed when idle too; a new one is served.
    let mut rest = Vec::new();
    assert_eq!(client.read_to_end(&mut rest).await.unwrap_or(0), 0);
    let response = tokio::time::timeout(GUARD, async {
        loop {
            // Slots are released once the server has seen the sockets closed.
            if let Some(response) = one_shot(address, "POST", GOOD_PATH, GOOD_BODY).await
                && response.status == 200
            {
                return response;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(response.json()["predictions"][0], 4.0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_of_a_large_response_is_not_cut_by_the_idle_timeout() {
    let server = Server::start(
        ServerConfig::default()
            .with_idle_timeout(Duration::from_secs(1))
            .with_header_read_timeout(Duration::from_secs(1)),
    )
    .await;
    // 100 000 rows of three-class predictions: about 12 MB of JSON, read
    // 16 KiB at a time every 2 ms (over 1.5 s, longer than the idle
    // timeout, with the writes never stalled for as long).
    let instances = vec![r#"{"x": 0.5}"#; 100_000].join(",");
    let body = format!(r#"{{"instances": [{instances}]}}"#);
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(&request("POST", "/v1/models/colors:predict", &body, ""))
        .await
        .unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    let response = tokio::time::timeout(GUARD, async {
        loop {
            if let Some(response) = parse_response(&raw) {
                return Some(response);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => raw.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .unwrap()
    .expect("the connection was closed in the middle of the response");
    println!(
        "read {} bytes slowly in {:?}",
        response.body.len(),
        started.elapsed()
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json()["predictions"].as_array().unwrap().len(),
        100_000
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_slow_a_good_request() {
    let idle = match open_file_limit() {
        Some(limit) if limit >= 4096 => 1000,
        _ => 200,
    };
    let server = Server::start(ServerConfig::default().with_max_connections(idle + 100)).await;
    let address = server.address;
    let mut sockets = Vec::new();
    for _ in 0..idle {
        sockets.push(TcpStream::connect(address).await.unwrap());
    }
    let mut latencies = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let response = one_shot(address, "POST", GOOD_PATH, GOOD_BODY)
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        latencies.push(started.elapsed());
    }
    println!(
        "good requests with {idle} idle connections open: {}",
        summary(&mut latencies)
    );
    drop(sockets);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_bomb_is_refused_and_the_server_keeps_answering() {
    let server = Server::start(ServerConfig::default()).await;
    let address = server.address;
    let (done, stop_good) = oneshot::channel();
    let good = tokio::spawn(good_requests_until(address, stop_good));

    let objects = vec!["{}"; 1_300_000].join(",");
    let numbers = vec!["0"; 1_300_000].join(",");
    let bombs = [
        (GOOD_PATH, format!(r#"{{"instances": [{objects}]}}"#)),
        (
            "/invocations?model=linear",
            format!(r#"{{"instances": [{objects}]}}"#),
        ),
        (
            "/v2/models/linear/versions/1/infer",
            format!(
                r#"{{"inputs": [{{"name": "x", "shape": [1300000], "datatype": "FP64", "data": [{numbers}]}}]}}"#
            ),
        ),
    ];
    let rss = || memory_mib("VmRSS:").unwrap_or(0.0);
    let (before, peak_before) = (rss(), memory_mib("VmHWM:").unwrap_or(0.0));
    for (path, body) in &bombs {
        let started = Instant::now();
        let response = one_shot(address, "POST", path, body).await.unwrap();
        let json = response.json();
        println!(
            "bomb of {} bytes on {path}: {} in {:?} ({json})",
            body.len(),
            response.status,
            started.elapsed()
        );
        assert_eq!(response.status, 400, "{json}");
        let message = json["error"].as_str().or(json["message"].as_str()).unwrap();
        assert!(message.contains("at most 100000 rows"), "{message}");
    }
    done.send(()).unwrap();
    let mut latencies = good.await.unwrap();
    println!(
        "good requests during the bombs: {}",
        summary(&mut latencies)
    );
    println!(
        "RSS of the test process (server and client, bodies built): {before:.0} MiB before the bombs \
         (peak so far {peak_before:.0} MiB), {:.0} MiB after them, peak {:.0} MiB",
        rss(),
        memory_mib("VmHWM:").unwrap_or(0.0)
    );
    // Unbounded, one bomb took the server to 2.7 GB; refused before its
    // records are built, the peak of the whole test process (bodies, the
    // parsed JSON of one bomb, other tests of this binary) stays far lower.
    let peak = memory_mib("VmHWM:").unwrap_or(0.0);
    assert!(
        peak - before < 1024.0,
        "peak RSS {peak:.0} MiB, {before:.0} MiB before the bombs"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_continue_over_the_body_limit_is_refused_before_the_body() {
    let server = Server::start(ServerConfig::default().with_max_body_bytes(1024)).await;
    let address = server.address;
    for (path, expect) in [
        (GOOD_PATH, "Expect: 100-continue\r\n"),
        ("/invocations", "Expect: 100-continue\r\n"),
        (GOOD_PATH, ""),
    ] {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: 52428800\r\n{expect}\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // No body is sent: the answer must come anyway.
        let started = Instant::now();
        let response = read_response(&mut stream).await.unwrap();
        println!(
            "{path} with {expect:?} and 50 MB declared: {} in {:?}",
            response.status,
            started.elapsed()
        );
        assert_eq!(response.status, 413, "no `100 Continue` first");
        let json = response.json();
        let message = json["error"].as_str().or(json["message"].as_str()).unwrap();
        assert!(message.contains("limit of 1024 bytes"), "{json}");
        assert_eq!(response.header("connection"), Some("close"));
    }
    // Within the limit, `100 Continue` comes and the request is answered.
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {GOOD_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        GOOD_BODY.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let continue_ = read_response(&mut stream).await.unwrap();
    assert_eq!(continue_.status, 100);
    stream.write_all(GOOD_BODY.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buffer = [0u8; 1024];
    let response = loop {
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0);
        raw.extend_from_slice(&buffer[..n]);
        // Skip the 100 response if it arrived with the rest.
        let text = String::from_utf8_lossy(&raw).to_string();
        let start = text.find("HTTP/1.1 200").unwrap_or(0);
        if let Some(r) = parse_response(&raw[start..])
            && r.status != 100
        {
            break r;
        }
    };
    assert_eq!(response.status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_over_the_limit_are_431() {
    let server = Server::start(ServerConfig::default().with_max_header_bytes(8192)).await;
    let big = format!("X-Big: {}\r\n", "a".repeat(20_000));
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let _ = stream
        .write_all(&request("POST", GOOD_PATH, GOOD_BODY, &big))
        .await;
    let response = read_response(&mut stream).await.unwrap();
    // hyper's own answer, with the JSON body the connection writes instead of its empty one.
    assert_eq!(response.status, 431);
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("max_header_bytes (8192 bytes)"),
        "{message}"
    );
    // MLflow's shape for an MLflow path; the server keeps serving.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    let _ = stream
        .write_all(&request("POST", "/invocations", GOOD_BODY, &big))
        .await;
    let response = read_response(&mut stream).await.unwrap();
    assert_eq!(response.status, 431);
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["error_code"], "BAD_REQUEST", "{body}");
    // An unparsable head: hyper's 400, with a JSON body too.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
    let response = read_response(&mut stream).await.unwrap();
    assert_eq!(response.status, 400);
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not valid HTTP/1.1"),
        "{body}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_over_the_limit_is_431_however_it_is_read() {
    let limit = ServerConfig::default().max_header_bytes;
    let server = Server::start(ServerConfig::default()).await;
    // One write each: under the limit 200, over it 431 (hyper checks its
    // buffer limit only between reads, which let heads of up to 1.5 times
    // the limit through when they came in one read).
    for (padding, status) in [
        (limit - 1024, 200),
        (limit + 1024, 431),
        (limit * 3 / 2 - 1024, 431),
    ] {
        let header = format!("X-Padding: {}\r\n", "p".repeat(padding));
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        let _ = stream
            .write_all(&request("POST", GOOD_PATH, GOOD_BODY, &header))
            .await;
        let response = read_response(&mut stream).await.unwrap();
        assert_eq!(response.status, status, "a header of {padding} bytes");
    }
    // After a large body on the same keep-alive connection (hyper's read
    // buffer grew), the limit still holds.
    let instances = vec![r#"{"x": 1.5}"#; 20_000].join(",");
    let large = format!(r#"{{"instances": [{instances}]}}"#);
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(&request("POST", GOOD_PATH, &large, ""))
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.unwrap().status, 200);
    let header = format!("X-Padding: {}\r\n", "p".repeat(limit + 1024));
    let _ = stream
        .write_all(&request("POST", GOOD_PATH, GOOD_BODY, &header))
        .await;
    assert_eq!(read_response(&mut stream).await.unwrap().status, 431);
    server.shutdown().await;
}

/// A model whose `predict` says it started, then waits to be released.
struct Latch {
    info: ServableInfo,
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Servable for Latch {
    fn input_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]))
    }
    fn info(&self) -> &ServableInfo {
        &self.info
    }
    fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
        let _ = self.entered.lock().unwrap().send(());
        let _ = self.release.lock().unwrap().recv();
        Ok(Predictions::Regression {
            values: Array1::zeros(batch.num_rows()),
        })
    }
}

/// A registry with one [`Latch`] model, `latch` v1; the receiver hears each
/// `predict` start, the sender lets one finish.
/// A zero timeout disables it (as `0` does in Go's `net/http` and for
/// hyper's `None`): requests are answered, on one connection and several.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_timeouts_disable_them() {
    let config = ServerConfig::default()
        .with_header_read_timeout(Duration::ZERO)
        .with_idle_timeout(Duration::ZERO);
    let server = Server::start(config).await;
    let response = one_shot(server.address, "POST", GOOD_PATH, GOOD_BODY)
        .await
        .expect("a request to a server with zero timeouts got no response");
    assert_eq!(response.status, 200, "{:?}", response.json());
    // Keep-alive: a second request on the same connection after a pause.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    for _ in 0..2 {
        stream
            .write_all(&request("POST", GOOD_PATH, GOOD_BODY, ""))
            .await
            .unwrap();
        let response = tokio::time::timeout(GUARD, read_response(&mut stream))
            .await
            .unwrap()
            .expect("the keep-alive connection was closed");
        assert_eq!(response.status, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stream);
    server.shutdown().await;
}

fn latch_registry() -> (Arc<ModelRegistry>, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let registry = Arc::new(ModelRegistry::new());
    registry
        .insert(Arc::new(Latch {
            info: ServableInfo::new("latch", 1, Task::Regression, "y"),
            entered: Mutex::new(entered_tx),
            release: Mutex::new(release_rx),
        }))
        .unwrap();
    (registry, entered, release)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_requests_in_flight() {
    let (registry, entered, release) = latch_registry();
    let config = ServerConfig::default().with_inline_predict_max_bytes(0);
    let mut server = Server::start_with(registry, config).await;
    let body = r#"{"instances": [{"x": 1}]}"#;
    let running = tokio::spawn(one_shot(
        server.address,
        "POST",
        "/v1/models/latch:predict",
        body,
    ));
    tokio::task::spawn_blocking(move || entered.recv().unwrap())
        .await
        .unwrap();
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !server.task.is_finished(),
        "the server waits for the prediction in flight"
    );
    release.send(()).unwrap();
    let response = running.await.unwrap().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["predictions"][0], 0.0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_over_the_concurrency_limit_are_shed_with_retry_after() {
    let (registry, entered, release) = latch_registry();
    let config = ServerConfig::default()
        .with_max_concurrent_predictions(1)
        .with_max_queued_predictions(1)
        .with_queue_timeout(Duration::from_millis(200))
        .with_inline_predict_max_bytes(0);
    let server = Server::start_with(registry, config).await;
    let address = server.address;
    let body = r#"{"instances": [{"x": 1}]}"#;

    let running = tokio::spawn(one_shot(address, "POST", "/v1/models/latch:predict", body));
    tokio::task::spawn_blocking(move || entered.recv().unwrap())
        .await
        .unwrap();
    // The only slot is taken: a request waits in the queue, then is shed.
    for (path, error_key) in [
        ("/v1/models/latch:predict", "error"),
        ("/v2/models/latch/infer", "error"),
        ("/invocations", "message"),
    ] {
        let body = if path.starts_with("/v2") {
            r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1]}]}"#
        } else {
            body
        };
        let started = Instant::now();
        let response = one_shot(address, "POST", path, body).await.unwrap();
        println!(
            "{path} shed: {} in {:?}",
            response.status,
            started.elapsed()
        );
        assert_eq!(response.status, 503);
        assert_eq!(response.header("retry-after"), Some("1"));
        let json = response.json();
        let message = json[error_key].as_str().unwrap();
        assert!(message.contains("waited 200 ms for a slot"), "{json}");
        if path == "/invocations" {
            assert_eq!(json["error_code"], "TEMPORARILY_UNAVAILABLE");
        }
    }
    release.send(()).unwrap();
    let response = running.await.unwrap().unwrap();
    assert_eq!(response.status, 200);
    // The slot is free again.
    release.send(()).unwrap();
    let response = one_shot(address, "POST", "/v1/models/latch:predict", body)
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_response_over_the_limit_is_413() {
    let app = router(
        fakes::registry(),
        &ServerConfig::default().with_max_response_bytes(64),
    );
    let instances = vec![r#"{"x": 1.25}"#; 20].join(",");
    let (status, json) = fakes::call(
        app.clone(),
        "POST",
        GOOD_PATH,
        format!(r#"{{"instances": [{instances}]}}"#),
    )
    .await;
    assert_eq!(status, 413);
    assert!(
        fakes::error_of(&json).contains("over the server's limit of 64 bytes"),
        "{json}"
    );
    let (status, _) = fakes::call(app, "POST", GOOD_PATH, GOOD_BODY).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_instance_limit_is_configurable() {
    let app = router(
        fakes::registry(),
        &ServerConfig::default().with_max_instances_per_request(3),
    );
    let instances = [r#"{"x": 1}"#; 4].join(",");
    for (path, body) in [
        (GOOD_PATH, format!(r#"{{"instances": [{instances}]}}"#)),
        (
            "/invocations?model=linear",
            format!(r#"{{"dataframe_records": [{instances}]}}"#),
        ),
        (
            "/v2/models/linear/infer",
            r#"{"inputs": [{"name": "x", "shape": [4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}"#
                .to_string(),
        ),
    ] {
        let (status, json) = fakes::call(app.clone(), "POST", path, body).await;
        assert_eq!(status, 400, "{path}: {json}");
        let message = json["error"].as_str().or(json["message"].as_str()).unwrap();
        assert!(message.contains("at most 3 rows"), "{path}: {message}");
    }
    let three = [r#"{"x": 1}"#; 3].join(",");
    let (status, _) = fakes::call(
        app,
        "POST",
        GOOD_PATH,
        format!(r#"{{"instances": [{three}]}}"#),
    )
    .await;
    assert_eq!(status, 200);
}

/// Methods, including odd ones.
fn method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FOO",
    ])
}

/// Paths near and far from the real endpoints.
fn path() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "/v1/models/",
        "/v1/models/linear",
        "/v1/models/linear/versions/",
        "/v1/models/linear/labels/",
        "/v2",
        "/v2/models/",
        "/v2/models/linear/",
        "/v2/health/",
        "/invocations",
        "/ping",
        "/version",
        "/metrics",
        "/",
        "",
    ]);
    let suffix = prop::sample::select(vec![
        "",
        ":predict",
        ":classify",
        ":regress",
        "/metadata",
        "/infer",
        "/ready",
        "/live",
        "1",
        "99",
        "x:y",
        "%2F..%2F",
        "?model=nope",
        "?a=%zz",
        "//",
        "/labels/stable:predict",
    ]);
    (prefix, suffix).prop_map(|(p, s)| format!("{p}{s}"))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(b"not json".to_vec()),
        Just(br#"{"instances": [{"x": "a"}]}"#.to_vec()),
        Just(br#"{"inputs": [{"name": "x"}]}"#.to_vec()),
        Just(vec![b'{'; 3000]),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the method, path, content type and body, a non-2xx answer
    /// has a JSON body (a small body limit adds 413s to the mix).
    #[test]
    fn every_error_has_a_json_body(
        method in method(),
        path in path(),
        body in body(),
        content_type in prop::sample::select(vec!["application/json", "text/csv", "text/plain", ""]),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = router(fakes::registry(), &ServerConfig::default().with_max_body_bytes(2048));
        let uri = if path.starts_with('/') { path.clone() } else { format!("/{path}") };
        let mut builder = Request::builder().method(method).uri(uri);
        if !content_type.is_empty() {
            builder = builder.header("content-type", content_type);
        }
        let request = builder.body(Body::from(body)).unwrap();
        let response = runtime.block_on(app.oneshot(request)).unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX)).unwrap();
        if !status.is_success() && method != "HEAD" {
            prop_assert_eq!(headers.get("content-type").map(|v| v.to_str().unwrap()), Some("application/json"),
                "{} {} → {}", method, path, status);
            let json: Result<Value, _> = serde_json::from_slice(&bytes);
            prop_assert!(json.is_ok(), "{} {} → {} with a non-JSON body {:?}", method, path, status, bytes);
        }
    }
}
