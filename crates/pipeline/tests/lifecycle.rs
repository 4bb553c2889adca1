#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hot reload against a real TCP server: versions trained into a served base
//! path become available under load with no failed request; half-written,
//! mislabelled and zero-padded version directories; labels from a config
//! file that is rewritten while the server runs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mlrig_monitor::ServingMetrics;
use mlrig_pipeline::{BundleLoader, MetricsObserver, TrainingJob, WARMUP_FILE, server_app};
use mlrig_serve::{
    ManagerHandle, ModelConfig, ModelEntry, ModelManager, ModelRegistry, ServerConfig,
    VersionPolicy,
};
use serde_json::{Value, json};

fn iris() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/samples/iris.csv")
}

/// Trains iris version `version` of model `name` into `<out>/<name>/<version>`
/// (the training job's staging directory + rename).
fn train(out: &Path, name: &str, version: u64) -> PathBuf {
    TrainingJob::new(iris(), "species")
        .with_name(name)
        .with_output_dir(out)
        .with_version(version)
        .run()
        .unwrap()
        .bundle_dir
}

/// A server on 127.0.0.1 for the registry, on a runtime of its own thread.
struct Server {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    metrics: Arc<ServingMetrics>,
}

impl Server {
    fn start(registry: Arc<ModelRegistry>, metrics: Arc<ServingMetrics>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let app = server_app(registry, metrics.clone(), &ServerConfig::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                mlrig_serve::serve(listener, app, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        Self {
            address,
            stop: Some(stop),
            thread: Some(thread),
            metrics,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One HTTP/1.1 request on a new connection: (status, body).
fn http(address: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn get_json(address: SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) = http(address, "GET", path, "");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The `model_version_status` entries: (version, state, error_message).
fn status(address: SocketAddr, model: &str) -> Vec<(u64, String, String)> {
    let (code, body) = get_json(address, &format!("/v1/models/{model}"));
    assert_eq!(code, 200, "{body}");
    body["model_version_status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["version"].as_str().unwrap().parse().unwrap(),
                s["state"].as_str().unwrap().to_string(),
                s["status"]["error_message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Waits (up to 30 s, failing after) until `done`, returning how long it took.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

const IRIS_PREDICT: &str = r#"{"instances": [{"sepal_length_cm": 5.9, "sepal_width_cm": 3.0, "petal_length_cm": 5.1, "petal_width_cm": 1.8}]}"#;

fn start_manager(
    config: ModelConfig,
    registry: &Arc<ModelRegistry>,
    metrics: &Arc<ServingMetrics>,
) -> (ManagerHandle, mlrig_serve::ReconcileReport) {
    let mut manager = ModelManager::new(config, registry.clone(), Arc::new(BundleLoader))
        .with_observer(Arc::new(MetricsObserver::new(metrics.clone())));
    let report = manager.reconcile();
    (manager.start().unwrap(), report)
}

fn metric(server: &Server, line_prefix: &str) -> Option<String> {
    let text = server.metrics.render().unwrap();
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .map(String::from)
}

#[test]
fn a_version_trained_into_the_served_base_path_becomes_latest_with_no_failed_request() {
    let out = tempfile::tempdir().unwrap();
    train(out.path(), "iris", 1);
    let registry = Arc::new(ModelRegistry::new());
    let metrics = Arc::new(ServingMetrics::new());
    // The default poll interval (1 s), as `mlrig serve --model-base-path` uses.
    let config = ModelConfig::new(vec![ModelEntry::new("iris", out.path().join("iris"))]);
    let (manager, report) = start_manager(config, &registry, &metrics);
    assert_eq!(report.available, [("iris".to_string(), 1)]);
    let server = Server::start(registry.clone(), metrics);
    let address = server.address;

    // Clients send predict requests continuously for the whole reload.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (code, body) =
                        http(address, "POST", "/v1/models/iris:predict", IRIS_PREDICT);
                    if code == 200 && body.contains("\"predictions\"") {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        failures.push(format!("{code} {body}"));
                    }
                }
                failures
            })
        })
        .collect();
    wait_until("the clients are running", || {
        ok.load(Ordering::Relaxed) > 20
    });

    // Train version 2 straight into the served base path.
    let bundle = train(out.path(), "iris", 2);
    assert!(bundle.join(WARMUP_FILE).is_file());
    let written = Instant::now();
    wait_until("version 2 is the latest", || {
        status(address, "iris").first().map(|s| s.0) == Some(2)
    });
    let available_after = written.elapsed();
    let requests_before = ok.load(Ordering::Relaxed);
    wait_until("requests keep being answered after the switch", || {
        ok.load(Ordering::Relaxed) > requests_before + 50
    });
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    eprintln!(
        "version 2 available {:.0} ms after its directory was renamed into place; {} requests answered, {} failed",
        available_after.as_secs_f64() * 1000.0,
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    // The issue's bar (available within 2 s with the default 1 s poll) is a
    // timing: printed above and measured by scripts/bench_serve.py, never
    // asserted (a loaded CI machine would make it flaky).
    assert!(
        failures.is_empty(),
        "{} failed requests: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    // Latest 1: version 1 was unloaded once 2 was available.
    assert_eq!(
        status(address, "iris"),
        [(2, "AVAILABLE".into(), String::new())]
    );
    assert_eq!(registry.versions("iris"), [2]);
    let (code, _) = get_json(address, "/v1/models/iris/versions/1");
    assert_eq!(code, 404);
    assert_eq!(
        metric(&server, "mlrig_model_versions_available{model=\"iris\"}").as_deref(),
        Some("mlrig_model_versions_available{model=\"iris\"} 1")
    );
    manager.stop();
}

/// Copies a trained bundle's files into `dir`, only those named in `only`
/// when given (a half-written version).
fn copy_bundle(from: &Path, dir: &Path, only: Option<&[&str]>) {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if only.is_none_or(|files| files.contains(&name.as_str())) {
            std::fs::copy(entry.path(), dir.join(&name)).unwrap();
        }
    }
}

#[test]
fn broken_mislabelled_and_padded_versions_never_stop_the_server() {
    let scratch = tempfile::tempdir().unwrap();
    let served = tempfile::tempdir().unwrap();
    let base = served.path().join("iris");
    train(served.path(), "iris", 1);
    // `00003` is version 3.
    let three = train(scratch.path(), "iris", 3);
    copy_bundle(&three, &base.join("00003"), None);
    // Half-written: only manifest.json and model.json.
    let four = train(scratch.path(), "iris", 4);
    copy_bundle(
        &four,
        &base.join("4"),
        Some(&["manifest.json", "model.json"]),
    );
    // Directory 5, manifest version 2.
    let two = train(scratch.path(), "iris", 2);
    copy_bundle(&two, &base.join("5"), None);
    // Hidden and non-numeric entries are not versions.
    std::fs::create_dir_all(base.join(".staging-abc")).unwrap();
    std::fs::create_dir_all(base.join("notes")).unwrap();

    let registry = Arc::new(ModelRegistry::new());
    let metrics = Arc::new(ServingMetrics::new());
    let config = ModelConfig::new(vec![ModelEntry::new("iris", &base)])
        .with_poll_interval(Duration::from_millis(100));
    let (manager, report) = start_manager(config, &registry, &metrics);
    let failed: Vec<u64> = report.failed.iter().map(|f| f.1).collect();
    assert_eq!(failed, [5, 4], "{:?}", report.failed);
    assert_eq!(registry.versions("iris"), [3]);
    let server = Server::start(registry.clone(), metrics);
    let address = server.address;

    let (code, body) = http(address, "POST", "/v1/models/iris:predict", IRIS_PREDICT);
    assert_eq!(code, 200, "{body}");
    let listed = status(address, "iris");
    assert_eq!(
        listed
            .iter()
            .map(|s| (s.0, s.1.as_str()))
            .collect::<Vec<_>>(),
        [(5, "END"), (4, "END"), (3, "AVAILABLE")]
    );
    assert!(
        listed[0].2.contains("version 2") && listed[0].2.contains("version 5"),
        "{}",
        listed[0].2
    );
    // The first file of the manifest that is missing is named.
    assert!(listed[1].2.contains("evaluation.json"), "{}", listed[1].2);
    let (code, body) = get_json(address, "/v1/models/iris/versions/4");
    assert_eq!(code, 200);
    assert_eq!(body["model_version_status"][0]["state"], "END");
    assert_eq!(
        metric(&server, "mlrig_model_load_failures_total{model=\"iris\"}").as_deref(),
        Some("mlrig_model_load_failures_total{model=\"iris\"} 2")
    );

    // Later: version 6 arrives half-written; the server keeps serving 3 and
    // does not retry (or count) it again while the directory is unchanged.
    let six = train(scratch.path(), "iris", 6);
    // (Written aside and renamed, so that no poll sees it with one file only.)
    copy_bundle(
        &six,
        &base.join(".partial-6"),
        Some(&["manifest.json", "model.json"]),
    );
    std::fs::rename(base.join(".partial-6"), base.join("6")).unwrap();
    wait_until("version 6 is reported as failed", || {
        status(address, "iris").first().map(|s| (s.0, s.1.clone())) == Some((6, "END".into()))
    });
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        metric(&server, "mlrig_model_load_failures_total{model=\"iris\"}").as_deref(),
        Some("mlrig_model_load_failures_total{model=\"iris\"} 3")
    );
    let (code, _) = http(address, "POST", "/v1/models/iris:predict", IRIS_PREDICT);
    assert_eq!(code, 200);
    assert_eq!(registry.versions("iris"), [3]);

    // Its writer finishes: the directory changed, so it is tried again and loads.
    copy_bundle(&six, &base.join("6"), None);
    let took = wait_until("version 6 is available", || {
        registry.versions("iris") == [6]
    });
    eprintln!(
        "completed version 6 available after {} ms",
        took.as_millis()
    );
    let listed = status(address, "iris");
    assert_eq!(listed[0], (6, "AVAILABLE".into(), String::new()));
    let (code, _) = http(
        address,
        "POST",
        "/v1/models/iris/versions/6:predict",
        IRIS_PREDICT,
    );
    assert_eq!(code, 200);
    manager.stop();
}

#[test]
fn labels_follow_the_config_file_and_a_label_never_points_at_an_unavailable_version() {
    let served = tempfile::tempdir().unwrap();
    train(served.path(), "iris", 1);
    train(served.path(), "iris", 2);
    let config_path = served.path().join("models.json");
    let write_config = |stable: u64, canary: u64| {
        let text = json!({
            "poll_interval": "100ms",
            "models": [{"name": "iris", "base_path": "iris",
                        "version_policy": {"all": {}},
                        "labels": {"stable": stable, "canary": canary}}]
        });
        mlrig_core::write_atomic(&config_path, text.to_string().as_bytes()).unwrap();
    };
    write_config(1, 2);
    let registry = Arc::new(ModelRegistry::new());
    let metrics = Arc::new(ServingMetrics::new());
    let mut manager =
        ModelManager::from_file(&config_path, registry.clone(), Arc::new(BundleLoader))
            .unwrap()
            .with_observer(Arc::new(MetricsObserver::new(metrics.clone())));
    manager.reconcile();
    let handle = manager.start().unwrap();
    let server = Server::start(registry.clone(), metrics);
    let address = server.address;
    let label_version = |label: &str| {
        let (code, body) = get_json(address, &format!("/v1/models/iris/labels/{label}"));
        (code == 200).then(|| {
            body["model_version_status"][0]["version"]
                .as_str()
                .unwrap()
                .to_string()
        })
    };
    assert_eq!(label_version("stable").as_deref(), Some("1"));
    assert_eq!(label_version("canary").as_deref(), Some("2"));
    let (code, _) = http(
        address,
        "POST",
        "/v1/models/iris/labels/stable:predict",
        IRIS_PREDICT,
    );
    assert_eq!(code, 200);

    // Promote: stable moves to 2 when the file changes.
    write_config(2, 2);
    let took = wait_until("stable points at 2", || {
        label_version("stable").as_deref() == Some("2")
    });
    eprintln!(
        "label moved {} ms after the config was rewritten",
        took.as_millis()
    );

    // A label to a version that is not available keeps its previous version.
    write_config(9, 1);
    wait_until("canary points at 1", || {
        label_version("canary").as_deref() == Some("1")
    });
    assert_eq!(label_version("stable").as_deref(), Some("2"));

    // An invalid file is ignored; a reload request applies a valid one at once.
    mlrig_core::write_atomic(&config_path, b"{\"models\": [").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(label_version("stable").as_deref(), Some("2"));
    write_config(1, 2);
    handle.reload();
    wait_until("stable is rolled back to 1", || {
        label_version("stable").as_deref() == Some("1")
    });

    // A model removed from the config is unloaded.
    mlrig_core::write_atomic(&config_path, br#"{"poll_interval": "100ms", "models": []}"#).unwrap();
    wait_until("the model is unloaded", || registry.is_empty());
    let (code, _) = http(address, "POST", "/v1/models/iris:predict", IRIS_PREDICT);
    assert_eq!(code, 404);
    handle.stop();
}

#[test]
fn specific_policy_serves_the_listed_versions() {
    let served = tempfile::tempdir().unwrap();
    for v in 1..=3 {
        train(served.path(), "iris", v);
    }
    let registry = Arc::new(ModelRegistry::new());
    let metrics = Arc::new(ServingMetrics::new());
    let config = ModelConfig::new(vec![
        ModelEntry::new("iris", served.path().join("iris")).with_version_policy(
            VersionPolicy::Specific {
                versions: vec![1, 3, 7],
            },
        ),
    ]);
    let (handle, report) = start_manager(config, &registry, &metrics);
    assert_eq!(registry.versions("iris"), [1, 3]);
    assert!(report.failed.is_empty());
    handle.stop();
}
