//! File names inside a model bundle (DESIGN.md "Model bundle").

/// The training schema, tensorflow-metadata JSON.
pub const SCHEMA_FILE: &str = "schema.json";
/// The training statistics, tensorflow-metadata JSON.
pub const STATISTICS_FILE: &str = "statistics.json";
/// The fitted feature pipeline (an artifact).
pub const FEATURES_FILE: &str = "features.json";
/// The fitted model (an artifact).
pub const MODEL_FILE: &str = "model.json";
/// Metrics and the blessing decision (an artifact).
pub const EVALUATION_FILE: &str = "evaluation.json";
/// A few (at most [`WARMUP_RECORDS`](crate::WARMUP_RECORDS)) evaluation
/// rows as JSON records, one per line: the warm-up requests a server sends
/// a version before making it available.
pub const WARMUP_FILE: &str = "warmup.jsonl";
