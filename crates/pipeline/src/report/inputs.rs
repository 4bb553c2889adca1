//! Reading a report's input files, with errors that name the file and what
//! was expected.

use std::path::{Path, PathBuf};

use mlrig_core::Artifact;
use mlrig_train::Evaluation;
use mlrig_validate::{Anomalies, DatasetStatistics, TfmdFile};
use serde_json::Value;

use super::DriftResults;
use crate::{EVALUATION_FILE, PipelineError};

fn input_error(path: &Path, expected: &str, reason: impl Into<String>) -> PipelineError {
    PipelineError::ReportInput {
        path: path.to_path_buf(),
        expected: expected.into(),
        reason: reason.into(),
    }
}

fn read_json(path: &Path, expected: &str) -> Result<Value, PipelineError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| input_error(path, expected, e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| input_error(path, expected, format!("not JSON: {e}")))
}

/// Statistics from a tensorflow-metadata statistics file (`.json`,
/// `.pbtxt`, `.pb`, e.g. `mlrig stats --out` or a bundle's `statistics.json`).
///
/// ```
/// let err = mlrig_pipeline::report::load_statistics("missing.json".as_ref()).unwrap_err();
/// assert!(err.to_string().starts_with("missing.json: "));
/// assert!(err.to_string().contains("expected a statistics file"));
/// ```
pub fn load_statistics(path: &Path) -> Result<DatasetStatistics, PipelineError> {
    const EXPECTED: &str = "a statistics file (tensorflow-metadata DatasetFeatureStatisticsList .json/.pbtxt/.pb, e.g. from `mlrig stats --out`)";
    DatasetStatistics::load_file(path).map_err(|e| input_error(path, EXPECTED, e.to_string()))
}

/// Drift results from the JSON output of `mlrig drift --format json` or a
/// monitoring report (see [`DriftResults::from_json`]).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("drift.json");
/// std::fs::write(&path, r#"{"rows": []}"#)?;
/// let err = mlrig_pipeline::report::load_drift(&path).unwrap_err();
/// assert!(err.to_string().contains("expected the JSON output of `mlrig drift"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_drift(path: &Path) -> Result<Vec<DriftResults>, PipelineError> {
    const EXPECTED: &str = "the JSON output of `mlrig drift --format json` or a monitoring report";
    let json = read_json(path, EXPECTED)?;
    DriftResults::from_json(&json).map_err(|reason| input_error(path, EXPECTED, reason))
}

/// Anomalies from tensorflow-metadata Anomalies JSON, or from the JSON
/// output of `mlrig validate --format json` (its `anomalies`).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("anomalies.json");
/// std::fs::write(&path, r#"{"anomaly_count": 0, "anomalies": {}}"#)?;
/// assert!(mlrig_pipeline::report::load_anomalies(&path)?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_anomalies(path: &Path) -> Result<Anomalies, PipelineError> {
    const EXPECTED: &str =
        "tensorflow-metadata Anomalies JSON or the JSON output of `mlrig validate --format json`";
    let json = read_json(path, EXPECTED)?;
    let anomalies = match json.get("anomalies") {
        Some(inner) if json.get("anomalyInfo").is_none() => inner.clone(),
        _ => json,
    };
    Anomalies::from_tfmd_json(&anomalies.to_string())
        .map_err(|e| input_error(path, EXPECTED, e.to_string()))
}

/// An evaluation from an `evaluation.json` artifact (a bundle's, or
/// `mlrig evaluate --out`), the JSON output of `mlrig evaluate --format
/// json`, or a model version directory (its `evaluation.json`).
///
/// ```
/// let err = mlrig_pipeline::report::load_evaluation("no/such/dir".as_ref()).unwrap_err();
/// assert!(err.to_string().contains("expected an evaluation"), "{err}");
/// ```
pub fn load_evaluation(path: &Path) -> Result<Evaluation, PipelineError> {
    const EXPECTED: &str = "an evaluation (a bundle's evaluation.json, `mlrig evaluate --out FILE` or `--format json`) or a model version directory";
    let file: PathBuf = if path.is_dir() {
        path.join(EVALUATION_FILE)
    } else {
        path.to_path_buf()
    };
    if let Ok(stored) = Evaluation::load(&file) {
        return Ok(stored.value);
    }
    let json = read_json(&file, EXPECTED)?;
    let inner = json.get("evaluation").cloned().unwrap_or(json);
    serde_json::from_value(inner).map_err(|e| input_error(&file, EXPECTED, e.to_string()))
}
