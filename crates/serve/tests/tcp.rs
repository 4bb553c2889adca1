#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A real server on a TCP port, spoken to by a minimal hand-written HTTP/1.1
//! client, then shut down gracefully.

mod fakes;

use fakes::parse_response;

use std::time::Duration;

use mlrig_serve::serve;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Writes one request on `stream` and reads until a whole response arrived.
async fn exchange(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    body: &str,
    close: bool,
) -> (u16, Vec<(String, String)>, Value) {
    let connection = if close { "close" } else { "keep-alive" };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: {connection}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(response) = parse_response(&raw) {
            let json = serde_json::from_slice(&response.body).unwrap();
            return (response.status, response.headers, json);
        }
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "connection closed before a full response: {raw:?}");
        raw.extend_from_slice(&buffer[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_tcp_and_shuts_down_gracefully() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, fakes::app(), async {
        let _ = stopped.await;
    }));

    let mut stream = TcpStream::connect(address).await.unwrap();
    let (status, headers, json) = exchange(
        &mut stream,
        "POST",
        "/v1/models/linear/versions/1:predict",
        r#"{"instances": [{"x": 1.5}, {"x": -1}]}"#,
        true,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert!(headers.contains(&("content-type".into(), "application/json".into())));
    assert_eq!(json, json!({"predictions": [4.0, -1.0]}));

    // An error over the wire is JSON too.
    let mut stream = TcpStream::connect(address).await.unwrap();
    let (status, _, json) = exchange(
        &mut stream,
        "POST",
        "/v1/models/linear:predict",
        "not json",
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert!(json["error"].as_str().unwrap().contains("not valid JSON"));

    // That keep-alive connection is idle now; graceful shutdown closes it and returns.
    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("the server did not shut down")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let mut rest = Vec::new();
    let n = stream.read_to_end(&mut rest).await.unwrap_or(0);
    assert_eq!(
        n, 0,
        "the idle connection was closed without another response"
    );
    assert!(
        TcpStream::connect(address).await.is_err(),
        "the listener is closed"
    );
}
