//! Helpers shared by the pipeline's integration tests: the sample files and
//! one request through an in-process app.

// Each test file uses a part of these.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// `data/samples/<name>`.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/samples")
        .join(name)
}

/// A housing bundle (`california_sample.csv`, target `MedHouseVal`, name
/// `housing`) trained once per test binary; its directory.
pub fn housing_model() -> &'static PathBuf {
    static MODEL: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &MODEL
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            mlrig_pipeline::TrainingJob::new(sample("california_sample.csv"), "MedHouseVal")
                .with_name("housing")
                .with_output_dir(dir.path())
                .run()
                .unwrap();
            let model = dir.path().join("housing");
            (dir, model)
        })
        .1
}

/// One request through `app`: its status, headers and body text.
pub async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}
