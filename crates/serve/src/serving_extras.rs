//! [`ServingExtras`]: what a router may add to answering from the live
//! model — prediction tables (hybrid inference), a request log and live
//! monitoring — and
//! how each request uses them ([`RequestContext`], and the middleware that
//! sets the `x-request-id` and `mlrig-prediction-source` response headers).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use mlrig_core::{Contributions, MonitoringSource, Predictions, Servable, ServedPredictions};
use serde_json::{Map, Value};

use crate::InputContractConfig;
use crate::hybrid::answer;
use crate::prediction_table::{PREDICTION_COLUMN, SCORE_PREFIX};
use crate::{PredictionTable, RequestLog, RequestLogEntry, ServeError};

/// The request and response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The response header saying which source answered a model with a
/// prediction table: `table`, `model` or `mixed`, then the row counts, e.g.
/// `mixed; table=3; model=2`.
pub const PREDICTION_SOURCE_HEADER: &str = "mlrig-prediction-source";
/// The longest client request id kept (longer ones are replaced).
const MAX_REQUEST_ID_LEN: usize = 128;

/// Prediction tables by model and an optional request log, for
/// [`router_with`](crate::router_with).
///
/// ```
/// use mlrig_serve::ServingExtras;
/// # use std::sync::Arc;
/// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
/// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
/// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
/// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
/// # let table = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
/// let extras = ServingExtras::new().with_prediction_table(table);
/// assert_eq!(extras.prediction_table("price").map(|t| t.len()), Some(2));
/// assert!(extras.request_log().is_none());
/// ```
#[derive(Clone, Default)]
pub struct ServingExtras {
    tables: HashMap<String, Arc<PredictionTable>>,
    request_log: Option<Arc<RequestLog>>,
    monitoring: Option<Arc<dyn MonitoringSource>>,
}

impl std::fmt::Debug for ServingExtras {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingExtras")
            .field("tables", &self.tables)
            .field("request_log", &self.request_log)
            .field("monitoring", &self.monitoring.is_some())
            .finish()
    }
}

impl ServingExtras {
    /// Nothing added: every row is answered by the model, nothing is logged.
    ///
    /// ```
    /// assert!(mlrig_serve::ServingExtras::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers the keys of `table` from it for its model (replacing an
    /// earlier table of the same model).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let table = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// let e = mlrig_serve::ServingExtras::new().with_prediction_table(table);
    /// assert!(!e.is_empty());
    /// ```
    pub fn with_prediction_table(mut self, table: PredictionTable) -> Self {
        self.tables
            .insert(table.model().to_string(), Arc::new(table));
        self
    }

    /// Logs sampled prediction requests to `log`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let log = mlrig_serve::RequestLog::start(&mlrig_serve::RequestLogConfig::new(dir.path()))?;
    /// let e = mlrig_serve::ServingExtras::new().with_request_log(log);
    /// assert!(e.request_log().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_request_log(mut self, log: Arc<RequestLog>) -> Self {
        self.request_log = Some(log);
        self
    }

    /// Turns live monitoring on: every prediction's response extension
    /// ([`ServedPredictions`]) carries the input rows the model saw
    /// ([`ServedPredictions::inputs`], shared, not copied) for a metrics
    /// layer that accumulates them, and
    /// `GET /v1/models/{name}[/versions/{n}|/labels/{l}]/monitoring`
    /// answers `source`'s report of the addressed version (404 when it has
    /// none). Without it (the default) inputs are not attached and the
    /// endpoint answers 404.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlrig_core::MonitoringSource;
    /// struct Reports;
    /// impl MonitoringSource for Reports {
    ///     fn monitoring_report(&self, model: &str, version: u64) -> Option<serde_json::Value> {
    ///         Some(serde_json::json!({ "model": model, "version": version }))
    ///     }
    /// }
    /// let extras = mlrig_serve::ServingExtras::new().with_monitoring(Arc::new(Reports));
    /// assert!(extras.monitoring().is_some());
    /// ```
    pub fn with_monitoring(mut self, source: Arc<dyn MonitoringSource>) -> Self {
        self.monitoring = Some(source);
        self
    }

    /// The monitoring source, when live monitoring is on.
    ///
    /// ```
    /// assert!(mlrig_serve::ServingExtras::new().monitoring().is_none());
    /// ```
    pub fn monitoring(&self) -> Option<&Arc<dyn MonitoringSource>> {
        self.monitoring.as_ref()
    }

    /// The prediction table of model `model`.
    ///
    /// ```
    /// assert!(mlrig_serve::ServingExtras::new().prediction_table("m").is_none());
    /// ```
    pub fn prediction_table(&self, model: &str) -> Option<&Arc<PredictionTable>> {
        self.tables.get(model)
    }

    /// Every prediction table, in no particular order.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use mlrig_serve::arrow_array::{RecordBatch, StringArray, Float64Array};
    /// # use mlrig_serve::arrow_schema::{DataType, Field, Schema};
    /// # let schema = Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("prediction", DataType::Float64, false)]);
    /// # let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![Arc::new(StringArray::from(vec!["a", "42"])), Arc::new(Float64Array::from(vec![1.5, 2.5]))]).unwrap();
    /// # let table = mlrig_serve::PredictionTable::from_batches("price", "id", "p.csv", &schema, [batch]).unwrap();
    /// let e = mlrig_serve::ServingExtras::new().with_prediction_table(table);
    /// assert_eq!(e.prediction_tables().count(), 1);
    /// ```
    pub fn prediction_tables(&self) -> impl Iterator<Item = &Arc<PredictionTable>> {
        self.tables.values()
    }

    /// The request log.
    ///
    /// ```
    /// assert!(mlrig_serve::ServingExtras::new().request_log().is_none());
    /// ```
    pub fn request_log(&self) -> Option<&Arc<RequestLog>> {
        self.request_log.as_ref()
    }

    /// `true` when there is no table, no log and no monitoring.
    ///
    /// ```
    /// assert!(mlrig_serve::ServingExtras::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.request_log.is_none() && self.monitoring.is_none()
    }

    /// `true` when responses need the [`annotate`] middleware (a table or a
    /// log; monitoring needs no header).
    pub(crate) fn annotates(&self) -> bool {
        !self.tables.is_empty() || self.request_log.is_some()
    }

    /// What one request to model `model` uses: its table, and the log with
    /// the request's id when the request is sampled.
    pub(crate) fn context(&self, model: &str, headers: &HeaderMap) -> RequestContext {
        let log = self
            .request_log
            .as_ref()
            .filter(|log| log.sample())
            .map(|log| {
                let id = headers
                    .get(REQUEST_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map_or_else(new_request_id, str::to_string);
                (log.clone(), id)
            });
        RequestContext {
            table: self.tables.get(model).cloned(),
            log,
            capture_inputs: self.monitoring.is_some(),
        }
    }
}

/// What one prediction request answers with besides the model.
pub(crate) struct RequestContext {
    table: Option<Arc<PredictionTable>>,
    /// The log and the request id, when this request is logged.
    log: Option<(Arc<RequestLog>, String)>,
    /// Attach the model's input rows to what was served (live monitoring).
    capture_inputs: bool,
}

impl RequestContext {
    /// The request field holding the key of the model's prediction table.
    pub(crate) fn key(&self) -> Option<&str> {
        self.table.as_deref().map(PredictionTable::key)
    }

    /// Answers `records` (table rows first, the model for the others), logs
    /// the request when sampled, and says what answered.
    pub(crate) fn answer(
        &self,
        servable: &dyn Servable,
        records: &[Value],
        explain: bool,
        contract: &InputContractConfig,
    ) -> Result<(Predictions, Option<Contributions>, ServedPredictions), ServeError> {
        let answer = answer(
            servable,
            self.table.as_deref(),
            records,
            explain,
            contract,
            self.capture_inputs,
        )?;
        if let Some((log, id)) = &self.log {
            let info = servable.info();
            let source = source_kind(answer.served.table_rows, answer.served.rows);
            let outputs = row_outputs(&answer.predictions, &answer.from_table);
            log.submit(RequestLogEntry::new(
                id,
                &info.name,
                info.version,
                source,
                records.to_vec(),
                outputs,
            ));
        }
        Ok((answer.predictions, answer.contributions, answer.served))
    }
}

/// `table`, `model` or `mixed`.
fn source_kind(table_rows: u64, rows: u64) -> &'static str {
    match table_rows {
        0 => "model",
        t if t >= rows => "table",
        _ => "mixed",
    }
}

/// One output object per row: `prediction`, a classifier's `score_<class>`,
/// and the row's `source`.
fn row_outputs(predictions: &Predictions, from_table: &[bool]) -> Vec<Value> {
    let source = |row: usize| {
        Value::from(if from_table.get(row).copied().unwrap_or(false) {
            "table"
        } else {
            "model"
        })
    };
    match predictions {
        Predictions::Regression { values } => values
            .iter()
            .enumerate()
            .map(|(row, v)| {
                let mut out = Map::with_capacity(2);
                out.insert(PREDICTION_COLUMN.into(), Value::from(*v));
                out.insert("source".into(), source(row));
                Value::Object(out)
            })
            .collect(),
        Predictions::Classification {
            classes,
            probabilities,
        } => {
            let labels = predictions.labels().unwrap_or_default();
            probabilities
                .rows()
                .into_iter()
                .enumerate()
                .map(|(row, scores)| {
                    let mut out = Map::with_capacity(classes.len() + 2);
                    let label = labels.get(row).and_then(|&l| classes.get(l));
                    out.insert(
                        PREDICTION_COLUMN.into(),
                        label.map_or(Value::Null, |l| Value::from(l.as_str())),
                    );
                    for (class, p) in classes.iter().zip(scores) {
                        out.insert(format!("{SCORE_PREFIX}{class}"), Value::from(*p));
                    }
                    out.insert("source".into(), source(row));
                    Value::Object(out)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A new request id: this process's start time and a counter, in hex.
fn new_request_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{nanos:x}-{:x}", std::process::id())
    });
    format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The request's id: its own `x-request-id` when usable (visible ASCII, at
/// most 128 bytes), else a new one.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(REQUEST_ID_HEADER)
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID_LEN
                && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
        .or_else(|| HeaderValue::from_str(&new_request_id()).ok())
        .unwrap_or_else(|| HeaderValue::from_static("unknown"))
}

/// The middleware of a router with extras: gives every request an id when
/// there is a request log (echoed in the response), and says which source
/// answered a model that has a prediction table.
pub(crate) async fn annotate(
    State(extras): State<Arc<ServingExtras>>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = extras.request_log.is_some().then(|| {
        let id = request_id(request.headers());
        request
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), id.clone());
        id
    });
    let mut response = next.run(request).await;
    if let Some(id) = id {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), id);
    }
    let source = response
        .extensions()
        .get::<ServedPredictions>()
        .filter(|served| extras.tables.contains_key(&served.model))
        .map(|served| {
            format!(
                "{}; table={}; model={}",
                source_kind(served.table_rows, served.rows),
                served.table_rows,
                served.rows - served.table_rows.min(served.rows)
            )
        });
    if let Some(value) = source.and_then(|s| HeaderValue::from_str(&s).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(PREDICTION_SOURCE_HEADER), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::ndarray::array;
    use serde_json::json;

    #[test]
    fn outputs_name_each_rows_source() {
        let p = Predictions::Classification {
            classes: vec!["no".into(), "yes".into()],
            probabilities: array![[0.25, 0.75], [0.5, 0.5]],
        };
        assert_eq!(
            row_outputs(&p, &[true, false]),
            vec![
                json!({"prediction": "yes", "score_no": 0.25, "score_yes": 0.75, "source": "table"}),
                json!({"prediction": "no", "score_no": 0.5, "score_yes": 0.5, "source": "model"}),
            ]
        );
        let r = Predictions::Regression {
            values: array![2.5],
        };
        assert_eq!(
            row_outputs(&r, &[]),
            vec![json!({"prediction": 2.5, "source": "model"})]
        );
        assert_eq!(source_kind(0, 3), "model");
        assert_eq!(source_kind(3, 3), "table");
        assert_eq!(source_kind(1, 3), "mixed");
    }

    #[test]
    fn request_ids_are_kept_when_usable_and_made_up_otherwise() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-1"));
        assert_eq!(request_id(&headers), "abc-1");
        headers.insert(
            REQUEST_ID_HEADER,
            HeaderValue::from_str(&"x".repeat(200)).unwrap(),
        );
        let made_up = request_id(&headers);
        assert_ne!(made_up, "x".repeat(200).as_str());
        assert_ne!(request_id(&HeaderMap::new()), made_up, "ids are unique");
    }
}
