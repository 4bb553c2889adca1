#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The live monitor end to end: an adult baseline, served batches with a
//! shifted `workclass`, the gauges on `/metrics` and the JSON report.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use mlrig_core::arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use mlrig_core::ndarray::Array2;
use mlrig_core::{Predictions, ServedPredictions};
use mlrig_monitor::{
    ComparisonTest, LiveMonitor, ManualClock, MonitoringBaseline, MonitoringConfig,
    MonitoringThresholds, ServingMetrics, served_prediction_batch,
};
use mlrig_validate::{SchemaInferenceParams, StatisticsParams, compute_statistics, infer_schema};

const MODEL: &str = "adult";

/// The adult sample's rows without the label, in one batch.
fn adult_rows() -> RecordBatch {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/samples/adult_sample.csv");
    let (schema, batches, _) =
        mlrig_ingest::read_csv(path, mlrig_ingest::ReadOptions::default()).unwrap();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn without_label(batch: &RecordBatch) -> RecordBatch {
    let keep: Vec<usize> = (0..batch.num_columns())
        .filter(|i| batch.schema().field(*i).name() != "income")
        .collect();
    batch.project(&keep).unwrap()
}

/// `batch` with `workclass` replaced by a category training never saw in
/// every row but each fifth.
fn shift_workclass(batch: &RecordBatch) -> RecordBatch {
    let index = batch.schema().index_of("workclass").unwrap();
    let old = batch
        .column(index)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let new: StringArray = (0..old.len())
        .map(|i| {
            if i % 5 == 0 {
                old.value(i)
            } else {
                "Space-agency"
            }
        })
        .map(Some)
        .collect();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[index] = Arc::new(new);
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// A classifier's made-up but deterministic predictions of `rows` rows.
fn predictions(rows: usize, offset: usize) -> Predictions {
    let p = Array2::from_shape_fn((rows, 2), |(r, c)| {
        let yes = 0.05 + 0.9 * (((r + offset) * 37) % 100) as f64 / 100.0;
        if c == 1 { yes } else { 1.0 - yes }
    });
    Predictions::Classification {
        classes: vec!["<=50K".into(), ">50K".into()],
        probabilities: p,
    }
}

fn baseline(training: &RecordBatch) -> MonitoringBaseline {
    let stats = compute_statistics(
        std::slice::from_ref(training),
        &training.schema(),
        &StatisticsParams::default(),
    )
    .unwrap();
    let schema = infer_schema(&stats, &SchemaInferenceParams::default());
    // The evaluation's predictions: the same made-up model on 2,000 rows.
    let served = ServedPredictions::new(MODEL, 1, &predictions(2000, 0));
    let p = served_prediction_batch(&served).unwrap();
    let prediction_stats = compute_statistics(
        std::slice::from_ref(&p),
        &p.schema(),
        &StatisticsParams::default(),
    )
    .unwrap();
    MonitoringBaseline::new(stats, schema)
        .with_predictions(prediction_stats)
        .with_created_at_unix(1_000)
        .with_data_newest_row_unix(500)
        .without_features(&["income"])
}

/// Sends `rows` in requests of `per_request` rows.
fn serve(live: &LiveMonitor, rows: &RecordBatch, per_request: usize) {
    let mut offset = 0;
    while offset < rows.num_rows() {
        let n = per_request.min(rows.num_rows() - offset);
        let inputs = rows.slice(offset, n);
        let served =
            ServedPredictions::new(MODEL, 1, &predictions(n, offset)).with_inputs(Arc::new(inputs));
        live.observe(&served);
        offset += n;
    }
    live.flush();
}

/// The value of the sample `name{labels}` in `text`.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().unwrap())
}

#[test]
fn a_shifted_workclass_crosses_its_skew_threshold_within_one_window_and_nothing_else_does() {
    let rows = without_label(&adult_rows());
    let metrics = Arc::new(ServingMetrics::new());
    let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(10_000)));
    let config = MonitoringConfig::default()
        .with_max_rows(1000)
        .with_panes(10);
    let live = LiveMonitor::with_clock(config, metrics.clone(), clock.clone()).unwrap();
    live.register_version(MODEL, 1, baseline(&adult_rows()));

    // One window of unchanged rows (from the middle of the data), in requests of 8 rows.
    serve(&live, &rows.slice(1000, 1000), 8);
    let text = metrics.render().unwrap();
    let report = live.report(MODEL, 1).unwrap();
    assert_eq!(report.window.rows, 1000);
    // The clock does not move: the first pane close and the flush compare
    // (panes closing by row count within a second only roll the window).
    assert_eq!(report.windows_compared, 2);
    assert!(
        report.missing_features.is_empty(),
        "{:?}",
        report.missing_features
    );
    let over: Vec<_> = report.over_threshold().collect();
    assert!(over.is_empty(), "unchanged rows flagged: {over:#?}");
    assert!(
        report.skew.anomalies.is_empty(),
        "{}",
        report.skew.anomalies
    );
    let workclass = r#"model="adult",version="1",feature="workclass",test="linf""#;
    let before = sample(&text, "mlrig_feature_skew", workclass).unwrap();
    assert!(before < 0.1, "{before}");
    assert_eq!(
        sample(&text, "mlrig_feature_skew_over_threshold", workclass),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "mlrig_feature_skew_threshold", workclass),
        Some(0.1)
    );

    // One window of shifted rows.
    serve(&live, &shift_workclass(&rows.slice(2000, 1000)), 8);
    let text = metrics.render().unwrap();
    let after = sample(&text, "mlrig_feature_skew", workclass).unwrap();
    assert!(after > 0.5, "{after}");
    assert_eq!(
        sample(&text, "mlrig_feature_skew_over_threshold", workclass),
        Some(1.0)
    );
    // Unchanged features stay under every threshold that alerts.
    let thresholds = MonitoringThresholds::default();
    let report = live.report(MODEL, 1).unwrap();
    for c in &report.skew.features {
        if c.feature == "workclass" {
            continue;
        }
        assert!(!c.over_threshold, "{c:?}");
        if thresholds.alerts_on(c.test) {
            assert!(c.value < c.threshold, "{c:?}");
        }
    }
    for feature in ["age", "education", "hours-per-week"] {
        let test = if feature == "education" {
            "linf"
        } else {
            "jsd"
        };
        let labels = format!(r#"model="adult",version="1",feature="{feature}",test="{test}""#);
        assert_eq!(
            sample(&text, "mlrig_feature_skew_over_threshold", &labels),
            Some(0.0),
            "{feature}"
        );
    }
    // Drift against the previous (unchanged) window names workclass too;
    // the predictions did not change.
    let drift = report.drift.as_ref().unwrap();
    assert!(
        drift.features.iter().any(|c| c.feature == "workclass"
            && c.test == ComparisonTest::Linf
            && c.over_threshold)
    );
    assert!(
        report
            .prediction_drift
            .as_ref()
            .unwrap()
            .features
            .iter()
            .all(|c| !c.over_threshold)
    );
    assert!(
        sample(
            &text,
            "mlrig_prediction_drift",
            r#"model="adult",version="1",feature="score",test="psi""#
        )
        .is_some()
    );
    // The tfmd anomalies and the JSON name workclass.
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("COMPARATOR_L_INFTY_HIGH"), "{json}");
    let over: Vec<&str> = report
        .over_threshold()
        .map(|c| c.feature.as_str())
        .collect();
    assert!(over.iter().all(|f| *f == "workclass"), "{over:?}");
    // Ages and counters.
    assert_eq!(report.model_age_seconds, 9_000.0);
    assert_eq!(report.data_age_seconds, Some(9_500.0));
    assert_eq!(
        sample(
            &text,
            "mlrig_data_age_seconds",
            r#"model="adult",version="1""#
        ),
        Some(9_500.0)
    );
    assert_eq!(
        sample(
            &text,
            "mlrig_monitoring_window_rows",
            r#"model="adult",version="1""#
        ),
        Some(1000.0)
    );
    assert_eq!(
        sample(
            &text,
            "mlrig_monitoring_windows_total",
            r#"model="adult",version="1""#
        ),
        Some(3.0),
        "the first close and the two flushes compared"
    );
    assert_eq!(sample(&text, "mlrig_monitoring_dropped_total", ""), None);
    assert!(text.contains("mlrig_monitoring_dropped_total 0"), "{text}");

    // Unregistered: the series leave /metrics and there is no report.
    live.unregister_version(MODEL, 1);
    assert!(live.report(MODEL, 1).is_none());
    assert!(!metrics.render().unwrap().contains("feature=\"workclass\""));
}

#[test]
fn nonfinite_inputs_and_outputs_are_counted() {
    let metrics = Arc::new(ServingMetrics::new());
    let live = LiveMonitor::new(MonitoringConfig::default(), metrics.clone()).unwrap();
    let training = RecordBatch::try_from_iter([(
        "x",
        Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])) as ArrayRef,
    )])
    .unwrap();
    let stats = compute_statistics(
        std::slice::from_ref(&training),
        &training.schema(),
        &StatisticsParams::default(),
    )
    .unwrap();
    let schema = infer_schema(&stats, &SchemaInferenceParams::default());
    live.register_version("m", 1, MonitoringBaseline::new(stats, schema));
    let inputs = RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Float64Array::from(vec![f64::NAN, 1.0, f64::INFINITY])) as ArrayRef,
        ),
        // Not a training feature: ignored.
        (
            "y",
            Arc::new(Float64Array::from(vec![f64::NAN, f64::NAN, f64::NAN])) as ArrayRef,
        ),
    ])
    .unwrap();
    let p = Predictions::Regression {
        values: mlrig_core::ndarray::array![f64::NAN, 1.0, 2.0],
    };
    live.observe(&ServedPredictions::new("m", 1, &p).with_inputs(Arc::new(inputs)));
    live.flush();
    let report = live.report("m", 1).unwrap();
    assert_eq!(report.nonfinite.input.get("x"), Some(&2));
    assert_eq!(report.nonfinite.input.get("y"), None);
    assert_eq!(report.nonfinite.output.get("score"), Some(&1));
    let text = metrics.render().unwrap();
    assert!(
        text.contains(
            r#"mlrig_nonfinite_values_total{model="m",version="1",side="input",feature="x"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"mlrig_nonfinite_values_total{model="m",version="1",side="output",feature="score"} 1"#
    ));
}

#[test]
fn a_full_queue_drops_batches_and_counts_them() {
    // One row per pane: every processed batch closes a pane (comparisons are
    // at most one a second, plus the flush's).
    let metrics = Arc::new(ServingMetrics::new());
    let config = MonitoringConfig::default()
        .with_max_rows(1)
        .with_panes(1)
        .with_queue_capacity(1);
    let live = LiveMonitor::new(config, metrics.clone()).unwrap();
    let rows = without_label(&adult_rows());
    live.register_version(MODEL, 1, baseline(&adult_rows()));
    let sent = 300;
    for i in 0..sent {
        let served = ServedPredictions::new(MODEL, 1, &predictions(1, i))
            .with_inputs(Arc::new(rows.slice(i, 1)));
        live.observe(&served);
    }
    live.flush();
    let report = live.report(MODEL, 1).unwrap();
    assert!(report.dropped_batches < sent as u64);
    assert!(report.windows_compared >= 1);
    assert_eq!(report.window.rows, 1);
    assert_eq!(live.dropped_batches(), report.dropped_batches);
    let text = metrics.render().unwrap();
    assert!(text.contains(&format!(
        "mlrig_monitoring_dropped_total {}",
        report.dropped_batches
    )));
}

#[test]
fn the_metrics_layer_feeds_the_live_monitor() {
    use axum::{Router, body::Body, http::Request, routing::post};
    use mlrig_monitor::MetricsLayer;
    use tower::ServiceExt;

    let metrics = Arc::new(ServingMetrics::new());
    metrics.register_model(MODEL, 1, 0);
    let config = MonitoringConfig::default().with_max_rows(4).with_panes(1);
    let live = Arc::new(LiveMonitor::new(config, metrics.clone()).unwrap());
    live.register_version(MODEL, 1, baseline(&adult_rows()));
    let rows = Arc::new(without_label(&adult_rows()).slice(0, 4));
    let app = Router::new()
        .route(
            "/v1/models/{*rest}",
            post(move || {
                let rows = rows.clone();
                async move {
                    let served =
                        ServedPredictions::new(MODEL, 1, &predictions(4, 0)).with_inputs(rows);
                    let mut response = axum::response::Response::new(Body::from("{}"));
                    response.extensions_mut().insert(served);
                    response
                }
            }),
        )
        .layer(MetricsLayer::new(metrics.clone()).with_live_monitor(live.clone()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let request = Request::post("/v1/models/adult:predict")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        runtime.block_on(app.oneshot(request)).unwrap().status(),
        200
    );
    live.flush();
    let report = live.report(MODEL, 1).unwrap();
    assert_eq!((report.window.rows, report.windows_compared), (4, 1));
    let json = mlrig_core::MonitoringSource::monitoring_report(live.as_ref(), MODEL, 1).unwrap();
    assert_eq!(json["window"]["rows"], 4);
    assert_eq!(json["model"], "adult");
}

#[test]
fn a_replay_timed_outside_rfc3339_years_reports_clamped_times() {
    let rows = without_label(&adult_rows()).slice(0, 40);
    for time in [
        UNIX_EPOCH - Duration::from_secs(86_400),
        UNIX_EPOCH + Duration::from_secs(300_000_000_000),
    ] {
        let config = MonitoringConfig::default().with_max_rows(20).with_panes(2);
        let clock = Arc::new(ManualClock::new(time));
        let live = LiveMonitor::with_clock(config, Arc::new(ServingMetrics::new()), clock).unwrap();
        live.register_version(MODEL, 1, baseline(&adult_rows()));
        let served = ServedPredictions::new(MODEL, 1, &predictions(40, 0))
            .with_inputs(Arc::new(rows.clone()));
        live.observe_at(&served, time);
        live.flush();
        let report = live.report(MODEL, 1).unwrap();
        assert_eq!(report.window.rows, 20, "{time:?}");
        let start = report.window.start.unwrap();
        assert!(
            start == "1970-01-01T00:00:00.000Z" || start == "9999-12-31T23:59:59.999Z",
            "{start}"
        );
    }
}
