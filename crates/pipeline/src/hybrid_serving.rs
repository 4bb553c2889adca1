//! Setting up what `mlrig serve` adds to the live models: prediction tables
//! read with mlrig-ingest's readers ([`load_prediction_table`]) and checked
//! against the served models, and the request log ([`serving_extras`]).

use mlrig_core::arrow_schema::DataType;
use mlrig_ingest::{DataFormat, DataReader, IngestError, ReadOptions};
use mlrig_serve::{
    ModelRegistry, PREDICTION_COLUMN, PredictionTable, PredictionTableConfig, RequestLog,
    SCORE_PREFIX, ServeError, ServerConfig, ServingExtras,
};

use crate::PipelineError;

/// Reads the prediction table `config.path` (CSV, Parquet or JSON Lines,
/// as `mlrig predict --key` writes it) for `config.model`, keyed by
/// `config.key` (default: its first column).
///
/// In CSV and JSON Lines the key column is read as text and only an empty
/// field is missing (so a key such as `NA` or `007` stays as written); the
/// score columns are read as numbers. Any row the reader quarantines makes
/// the table an error, so a table is loaded whole or not at all.
///
/// ```
/// use mlrig_pipeline::{BatchPredictJob, TrainingJob, load_prediction_table};
/// use mlrig_serve::PredictionTableConfig;
/// let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/california_sample.csv");
/// let dir = tempfile::tempdir()?;
/// TrainingJob::new(data, "MedHouseVal").with_name("housing").with_output_dir(dir.path()).run()?;
/// let out = dir.path().join("p.parquet");
/// BatchPredictJob::new(dir.path().join("housing"), data, &out).with_key("Latitude").run()?;
/// let e = load_prediction_table(&PredictionTableConfig::new("housing", &out)).unwrap_err();
/// assert!(e.to_string().contains("is repeated"), "{e}"); // latitudes are not unique keys
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`PipelineError::Ingest`] when the file cannot be read,
/// [`PipelineError::Serve`] ([`ServeError::PredictionTable`], naming the
/// file) when its columns or rows are not a prediction table.
pub fn load_prediction_table(
    config: &PredictionTableConfig,
) -> Result<PredictionTable, PipelineError> {
    let path = &config.path;
    let origin = path.display().to_string();
    let mut read = ReadOptions::default().with_threads(0);
    let probe = DataReader::open(path, read.clone())?;
    let columns = probe.schema();
    drop(probe);
    let key = match &config.key {
        Some(key) => key.clone(),
        None => columns
            .fields()
            .first()
            .map(|f| f.name().clone())
            .unwrap_or_default(),
    };
    if config.key.is_none() && key == PREDICTION_COLUMN {
        return Err(ServeError::PredictionTable {
            origin,
            reason: "its first column is `prediction`, so it has no key; write it with `mlrig predict --key COLUMN`".into(),
        }
        .into());
    }
    if DataFormat::of_path(path) != DataFormat::Parquet {
        let classifier = columns
            .fields()
            .iter()
            .any(|f| f.name().starts_with(SCORE_PREFIX) && f.name() != &key);
        let mut inference = read
            .inference()
            .clone()
            .with_missing_tokens([""])
            .with_column_type(&key, DataType::Utf8)
            .with_column_type(
                PREDICTION_COLUMN,
                if classifier {
                    DataType::Utf8
                } else {
                    DataType::Float64
                },
            );
        for field in columns.fields() {
            if field.name().starts_with(SCORE_PREFIX) && field.name() != &key {
                inference = inference.with_column_type(field.name(), DataType::Float64);
            }
        }
        read = read.with_inference(inference);
    }
    let mut reader = DataReader::open(path, read)?;
    let schema = reader.schema();
    let mut failure: Option<IngestError> = None;
    let batches = std::iter::from_fn(|| match reader.next()? {
        Ok(batch) => Some(batch),
        Err(e) => {
            failure = Some(e.into());
            None
        }
    });
    let table = PredictionTable::from_batches(&config.model, &key, &origin, &schema, batches);
    if let Some(e) = failure {
        return Err(e.into());
    }
    let table = table?;
    let report = reader.finish()?;
    if let Some(row) = report.quarantined.first() {
        return Err(ServeError::PredictionTable {
            origin,
            reason: format!(
                "{} rows cannot be read (first: line {}{}: {}); a table is loaded whole",
                report.summary.rows_quarantined,
                row.line,
                row.column
                    .as_ref()
                    .map(|c| format!(", column `{c}`"))
                    .unwrap_or_default(),
                row.reason
            ),
        }
        .into());
    }
    Ok(table)
}

/// The prediction tables and the request log `config` asks for, for the
/// models of `registry`: each table is loaded and must fit its model's
/// latest version ([`PredictionTable::check_model`]); the request log's
/// writer is started (close it with [`RequestLog::close`] after the server
/// stops).
///
/// ```
/// use std::sync::Arc;
/// use mlrig_pipeline::serving_extras;
/// use mlrig_serve::{ModelRegistry, ServerConfig};
/// let extras = serving_extras(&ServerConfig::default(), &ModelRegistry::new())?;
/// assert!(extras.is_empty());
/// # Ok::<(), mlrig_pipeline::PipelineError>(())
/// ```
///
/// # Errors
/// A table that cannot be read, names a model that is not served or does
/// not fit it; a request log directory that cannot be created.
pub fn serving_extras(
    config: &ServerConfig,
    registry: &ModelRegistry,
) -> Result<ServingExtras, PipelineError> {
    let mut extras = ServingExtras::new();
    for table_config in &config.prediction_tables {
        let servable =
            registry
                .get(&table_config.model, None)
                .map_err(|_| ServeError::PredictionTable {
                    origin: table_config.path.display().to_string(),
                    reason: format!(
                        "it is for model `{}`, which is not served (models: {})",
                        table_config.model,
                        registry.models().join(", ")
                    ),
                })?;
        let table = load_prediction_table(table_config)?;
        table.check_model(servable.info())?;
        extras = extras.with_prediction_table(table);
    }
    if let Some(log) = &config.request_log {
        extras = extras.with_request_log(RequestLog::start(log)?);
    }
    Ok(extras)
}
