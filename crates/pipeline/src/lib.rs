//! # mlrig-pipeline
//!
//! Composition of the mlrig components — the only crate (with the CLI and the
//! facade) that depends on several of them. Component crates never depend on
//! each other; what joins them lives here.
//!
//! ## Data flow
//!
//! ```text
//! training:  CSV / JSON Lines / Parquet ─DataReader─▶ batches ─split (row i eval iff i % 5 == 4)─▶ train │ eval
//!            train ─validate─▶ statistics, schema;  train + eval ─train::LeakageCheck─▶ leakage report
//!            train ─features (fit)─▶ Features (CSR when sparse, Arrow batches dropped as transformed)
//!                  ─ModelSpec::fit (or Model::partial_fit for --warm-start)─▶ model
//!            eval  ─features─▶ Features ─model─▶ metrics, slices ─┬─ baseline scored on the same rows
//!                  + checks (label_leakage, numerical_stability, serveability) ─▶ blessing
//!            ─▶ BundleWriter ─▶ <out>/<name>/<version>/{manifest,schema,statistics,features,model,evaluation}.json
//!               + warmup.jsonl (≤ 8 evaluation rows as JSON records, the server's warm-up requests)
//!               + prediction_statistics.json (statistics of the evaluation predictions: predicted_class, score)
//!               + manifest data_newest_row (newest value of the --time-column, when named)
//! monitoring baselines: version dir ─BundleBaselines::read─▶ training statistics + schema,
//!            prediction statistics, data_newest_row (each None in older bundles)
//! evaluation: version dir + data (+ baseline dir) ─▶ the same scoring ─▶ Evaluation (EvaluationJob, `mlrig evaluate`)
//! serving:   bundle ─▶ BundleServable (features + model as one `Servable`; gbdt models also
//!            answer `Servable::contributions`, TreeSHAP, for `"contributions": true` requests)
//!            ─▶ ModelRegistry ─▶ server_app = serve::router + monitor::metrics_router + MetricsLayer
//! hot reload: base path ─serve::ModelManager (poll, version policy, labels)─▶ BundleLoader: open
//!            (fingerprints), manifest name/version == directory, warm-up on warmup.jsonl
//!            ─▶ ModelRegistry (only then available); MetricsObserver ─▶ ServingMetrics
//! live monitoring: MonitoredBundleLoader (= BundleLoader + monitor_bundle: the version's
//!            monitoring_baseline registered with monitor::LiveMonitor; unregistered on unload)
//!            server_app_monitored = server_app_with + ServingExtras::with_monitoring (inputs
//!            attached to ServedPredictions, GET …/monitoring) + MetricsLayer::with_live_monitor
//! static inference (BatchPredictJob, `mlrig predict`): data ─DataReader (model's input types
//!            forced; bad rows quarantined)─▶ reader thread ─bounded channel─▶ BundleServable::predict
//!            per batch on rayon ─in input order─▶ key/inputs + `prediction` (+ `score_<class>`)
//!            ─▶ .csv/.parquet/.jsonl table, written atomically
//! hybrid:    table ─load_prediction_table (DataReader; key as text)─▶ PredictionTable, checked against
//!            the served model (serving_extras, + the RequestLog) ─▶ server_app_with = serve::router_with + …
//! offline monitor (OfflineMonitorJob, `mlrig monitor`): request log files ─entry by entry─▶
//!            records_to_batch (input schema) ─▶ epoch-aligned windows of StatisticsAccumulators
//!            (+ delayed labels joined by request id/row or a field) ─▶ skew vs statistics.json, drift
//!            vs the previous window, prediction drift, quality per window/slice ─▶ MonitorReport
//! alerting:  bundle (manifest, schema.json comparators, features' inputs, task) ─alert_rules─▶
//!            Prometheus rules over the server's metrics (AlertRuleGroup::to_yaml, `mlrig alerts`)
//! runner (Pipeline, `mlrig run`): mlrig.toml (PipelineConfig) ─spans (newest data.window files)─▶
//!            ingest (Parquet splits) ─▶ statistics ─▶ validate vs the curated schema (gate)
//!            ─▶ features ─▶ train (warm start: the serving version) ─▶ evaluate vs the serving
//!            version (gate) ─▶ infra_validate (the bundle loads and warms up; gate) ─▶ push
//!            (rename into the base path, label moved); each step cached in
//!            <root>/artifacts/<step>/<fingerprint of its inputs>/, RunRecord in <root>/runs/;
//!            rollback (first in a run): the newest push scored against the one it replaced on
//!            the newest span (+ live monitoring) ─worse─▶ moved to <root>/rolled_back/, label back
//! reports:   statistics (one or two data sets), drift JSON, anomalies, evaluation.json ─report::load_*─▶
//!            report::Report ─render─▶ one self-contained HTML page (inline CSS, SVG, script), written atomically
//! ```
//!
//! ## Quick start
//!
//! ```
//! use mlrig_pipeline::{TrainingJob, load_model_dir};
//! let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/california_sample.csv");
//! let out = tempfile::tempdir()?;
//! let report = TrainingJob::new(data, "MedHouseVal").with_name("housing").with_output_dir(out.path()).run()?;
//! assert!(report.evaluation.metrics()["r2"] > 0.5);
//!
//! let servable = load_model_dir(&out.path().join("housing"))?; // latest version
//! let batch = mlrig_core::records_to_batch(
//!     &[serde_json::json!({"MedInc": 8.3, "HouseAge": 41.0, "AveRooms": 7.0, "AveBedrms": 1.0,
//!                          "Population": 322.0, "AveOccup": 2.5, "Latitude": 37.88, "Longitude": -122.23})],
//!     &servable.input_schema(),
//! )?;
//! assert_eq!(servable.predict(&batch)?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Feature flags
//!
//! | feature | enables |
//! |---|---|
//! | `schemars` | `schemars::JsonSchema` for [`PipelineConfig`], [`RunRecord`] and [`MonitorReport`] (the CLI publishes the schemas of the config and the report) |

mod alert_rules;
mod batch_predict;
mod bundle_files;
mod bundle_loader;
mod candidate;
mod error;
mod evaluating;
mod feature_apply;
mod feature_file;
mod gates;
mod hybrid_serving;
mod live_monitoring;
mod offline_monitor;
mod pipeline_config;
mod pipeline_init;
mod prediction_table;
pub mod report;
mod runner;
mod scoring;
mod serving;
mod time_column;
mod training;

pub use alert_rules::{
    AlertRule, AlertRuleGroup, AlertRulesParams, FeatureThresholds, MonitoredModel, TestThreshold,
    alert_rules,
};
pub use batch_predict::{
    BatchPredictJob, BatchPredictReport, REJECTED_KEEP, RejectedRow, RowProgress,
};
pub use bundle_files::{
    BundleBaselines, EVALUATION_FILE, FEATURES_FILE, MODEL_FILE, PREDICTED_CLASS_FEATURE,
    PREDICTION_STATISTICS_FILE, SCHEMA_FILE, SCORE_FEATURE, STATISTICS_FILE, WARMUP_FILE,
    prediction_batch,
};
pub use bundle_loader::{BundleLoader, MetricsObserver, WARMUP_RECORDS};
pub use error::PipelineError;
pub use evaluating::{EvaluationJob, EvaluationReport};
pub use feature_apply::{
    APPLY_BATCH_ROWS, DENSE_BATCH_BYTES, FeatureApplyJob, FeatureApplyReport, TRANSFORM_WAVE,
    WAVE_BYTES,
};
pub use feature_file::{
    FEATURE_FILE_FORMAT_VERSION, FeatureFileFormat, FeatureFileHeader, FeatureFileLayout,
    FeatureFileSummary, FeatureFileWriter, FeatureRows, read_feature_file,
    read_options_fingerprint,
};
pub use gates::{MAX_STABLE_WEIGHT, WARMUP_ROWS};
pub use hybrid_serving::{load_prediction_table, serving_extras};
pub use live_monitoring::{
    MonitoredBundleLoader, monitor_bundle, monitoring_baseline, server_app_monitored,
};
pub use offline_monitor::{
    FeatureChange, FeatureComparison, LabelTotals, MonitorReport, MonitoringThresholds,
    OfflineMonitorJob, PresenceChange, QualityReport, REQUEST_ID_KEY, ROW_COLUMN, RowTotals,
    SliceDrop, SliceQuality, WindowReport,
};
pub use pipeline_config::{
    AnomalyPolicy, BaselinePolicy, ColumnType, DataConfig, FeaturesConfig, GatesConfig,
    LeakagePolicy, ModelConfig, PipelineConfig, PushConfig, RollbackConfig, SchemaConfig,
    WatchConfig,
};
pub use pipeline_init::{PIPELINE_SCHEMA_URL, StarterConfig, StarterOptions, starter_config};
pub use prediction_table::{PREDICTION_COLUMN, SCORE_PREFIX, TableFormat};
pub use runner::{
    GateDecision, HISTORY_FILE, Pipeline, PushHistory, PushRecord, RollbackRecord, RunOutcome,
    RunRecord, StepName, StepRecord, StepStatus, WatchOptions,
};
pub use serving::{
    BundleServable, load_model_dir, load_model_version, server_app, server_app_with,
};
pub use time_column::TimeColumnSummary;
pub use training::{Baseline, Progress, TrainingJob, TrainingReport};

// What users need to name this crate's inputs and outputs (one path each; see
// docs/architecture.md). The ingest options and summary are named through
// `mlrig-ingest` until its reader API settles.
pub use mlrig_core::Error as CoreError;
pub use mlrig_core::{
    Contributions, ModelBundle, Predictions, Servable, ServableInfo, Task, arrow_array,
    arrow_schema,
};
pub use mlrig_features::FeatureSpec;
pub use mlrig_monitor::ServingMetrics;
pub use mlrig_serve::{ModelRegistry, ServerConfig, axum};
pub use mlrig_train::{
    BlessingThresholds, Evaluation, LeakageParams, LeakageReport, ModelSpec, SplitRule, TaskKind,
};

/// The README's code, compiled and run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
