//! The whole path on the data shipped in `data/samples/`:
//! ingest → statistics → schema → validate a shifted batch → fit features →
//! train → evaluate → serve one request in-process → Prometheus metrics.
//!
//! ```sh
//! cargo run --example end_to_end
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mlrig::ingest::{ReadOptions, read_csv};
use mlrig::monitor::ServingMetrics;
use mlrig::pipeline::{TrainingJob, load_model_dir, server_app};
use mlrig::serve::{ModelRegistry, ServerConfig};
use mlrig::validate::{
    SchemaInferenceParams, StatisticsParams, ValidationOptions, compute_statistics, infer_schema,
    validate_batches,
};
use tower::ServiceExt;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples")
}

fn main() -> Result<(), Box<dyn Error>> {
    let samples = samples();
    let work = tempfile::tempdir()?;

    step("1. ingest: every row is accepted or quarantined, with its line");
    let (_, _, broken) = read_csv(samples.join("broken.csv"), ReadOptions::default())?;
    let s = &broken.summary;
    println!(
        "broken.csv: {} read = {} accepted + {} quarantined",
        s.rows_read, s.rows_accepted, s.rows_quarantined
    );
    for row in &broken.quarantined {
        println!("  line {:>2}: {}", row.line, row.reason);
    }
    let (schema, batches, report) =
        read_csv(samples.join("adult_sample.csv"), ReadOptions::default())?;
    println!(
        "adult_sample.csv: {} rows, {} columns ('?' read as missing)",
        report.summary.rows_accepted,
        schema.fields().len()
    );

    step("2. statistics (tensorflow-metadata JSON, mergeable, exact)");
    let statistics = compute_statistics(&batches, &schema, &StatisticsParams::default())?;
    for name in ["age", "hours-per-week", "workclass"] {
        if let Some(feature) = statistics.feature(name) {
            match (feature.numeric(), feature.string()) {
                (Some(n), _) => println!(
                    "  {name:<16} mean {:>8.3}  std {:>8.3}  min {:>4}  max {:>4}",
                    n.mean, n.std_dev, n.min, n.max
                ),
                (_, Some(t)) => println!(
                    "  {name:<16} {} distinct, top {:?}",
                    t.unique,
                    t.top_values.first().map(|v| v.value.as_str()).unwrap_or("")
                ),
                _ => {}
            }
        }
    }

    step("3. schema inference");
    let data_schema = infer_schema(&statistics, &SchemaInferenceParams::default());
    println!(
        "  {} features; string domains for categorical columns, ranges for numeric ones",
        data_schema.features().len()
    );

    step("4. validate a shifted serving-day batch against the schema");
    let (shifted_schema, shifted, _) =
        read_csv(samples.join("adult_shifted.csv"), ReadOptions::default())?;
    let anomalies = validate_batches(
        &data_schema,
        &shifted_schema,
        &shifted,
        &ValidationOptions::default(),
    )?;
    println!("  {} anomalies:\n{anomalies}", anomalies.len());

    step(
        "5–7. fit features, train logistic regression, evaluate on held-out rows (i % 5 == 4), write the bundle",
    );
    let report = TrainingJob::new(samples.join("adult_sample.csv"), "income")
        .with_name("adult")
        .with_output_dir(work.path())
        .run()?;
    println!(
        "  bundle {} ({} feature columns)",
        report.bundle_dir.display(),
        report.feature_columns
    );
    for (metric, value) in report.evaluation.metrics() {
        println!("  {metric:<9} {value:.4}");
    }
    println!("  blessed: {}", report.evaluation.blessed());

    step("8. serve one TF Serving REST request in-process");
    let registry = Arc::new(ModelRegistry::new());
    registry.insert(load_model_dir(&work.path().join("adult"))?)?;
    let metrics = Arc::new(ServingMetrics::new());
    let app = server_app(registry, metrics, &ServerConfig::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let body = r#"{"instances":[{"age":45,"workclass":"Private","fnlwgt":160000,"education":"Masters","educational-num":14,"marital-status":"Married-civ-spouse","occupation":"Exec-managerial","relationship":"Husband","race":"White","gender":"Male","capital-gain":0,"capital-loss":0,"hours-per-week":50,"native-country":"United-States"}]}"#;
        let (status, text) = call(&app, "POST", "/v1/models/adult:predict", body).await?;
        println!("  POST /v1/models/adult:predict → {status}\n  {text}");
        let (status, text) = call(&app, "POST", "/v1/models/adult:predict", r#"{"instances":[{"age":"forty","race":"Martian"}]}"#).await?;
        println!("  input breaking the model's contract (from its training schema) → {status}\n  {text}");

        step("9. Prometheus metrics from the same server");
        let (_, text) = call(&app, "GET", "/metrics", "").await?;
        for line in text.lines().filter(|l| l.starts_with("mlrig_requests_total") || l.starts_with("mlrig_model_age")) {
            println!("  {line}");
        }
        Ok::<_, Box<dyn Error>>(())
    })?;
    Ok(())
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: &str,
) -> Result<(StatusCode, String), Box<dyn Error>> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body.to_string()))?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

fn step(title: &str) {
    println!("\n== {title}");
}
