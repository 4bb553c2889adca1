//! MLflow's scoring server protocol: `POST /invocations`, `GET /ping`,
//! `/health` and `/version`.
//!
//! `/invocations` reads `application/json` or `text/csv` (other content
//! types are a 415). A JSON body is an object with exactly one of:
//!
//! | key | value | rows |
//! |---|---|---|
//! | `dataframe_split` | `{"columns": [...], "data": [[...], ...]}` (an `index` is ignored) | one per `data` row |
//! | `dataframe_records` | `[{field: value, ...}, ...]` | one per object |
//! | `instances` / `inputs` | a list of objects, an object of equal-length lists, a list of `[F]` lists (fields in schema order), or, for a single-input model, a list of values | one per instance |
//!
//! and optionally `params` (mlrig models take none: only an empty object
//! is accepted). A CSV body has a header row of field names; each cell is
//! read as a number when it parses as one, `true`/`false` as a boolean, an
//! empty cell as missing, anything else as text (the schema then decides).
//!
//! The answer is `{"predictions": [...]}`, each prediction as in TF
//! Serving's row format (a value, or `{"classes", "scores", "label"}`).
//! Errors are MLflow's JSON `{"error_code": "BAD_REQUEST", "message": "..."}`.
//!
//! MLflow serves one model: `/invocations` answers with the only loaded
//! model (its latest version). With several, the query parameters
//! `?model=NAME[&version=N]` choose one.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use mlrig_core::arrow_schema::{DataType, Schema};
use mlrig_core::{Servable, describe_json};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::inference::{
    as_list, check_rows, columns_to_records, json_bytes, json_response, matrix_to_records,
    parse_json, single_input_field, with_json_content_type, wrap_bare,
};
use crate::router::{ApiState, body_error, check_method};
use crate::tf_json::{Layout, encode_predict};
use crate::{ServeError, VersionSelector};

/// The content types `/invocations` reads.
const CONTENT_TYPES: &str = "application/json, text/csv (with no parameter but charset=utf-8)";

/// The JSON keys of the input formats.
const INPUT_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// A [`ServeError`] answered in MLflow's shape.
pub(crate) struct MlflowError(ServeError);

impl From<ServeError> for MlflowError {
    fn from(error: ServeError) -> Self {
        Self(error)
    }
}

impl From<mlrig_core::Error> for MlflowError {
    fn from(error: mlrig_core::Error) -> Self {
        Self(ServeError::from(error))
    }
}

/// MLflow's `error_code` for an HTTP status.
pub(crate) fn error_code(status: axum::http::StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "RESOURCE_DOES_NOT_EXIST",
        413 => "REQUEST_LIMIT_EXCEEDED",
        503 => "TEMPORARILY_UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        400..=499 => "BAD_REQUEST",
        _ => "INTERNAL_ERROR",
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let code = error_code(self.0.status_code());
        self.0
            .response_with(|message| json!({"error_code": code, "message": message}))
    }
}

/// `?model=NAME&version=N` of `/invocations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Selection {
    model: Option<String>,
    version: Option<u64>,
}

/// `GET /ping` and `GET /health`: 200 once a model is loaded.
pub(crate) async fn ping(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
) -> Result<Response, MlflowError> {
    check_method(&method, Method::GET, &uri)?;
    if state.registry.is_empty() {
        return Err(ServeError::NoModelLoaded.into());
    }
    Ok(with_json_content_type("\n".into_response()))
}

/// `GET /version`: the mlrig version (MLflow answers its own version).
pub(crate) async fn version(method: Method, uri: Uri) -> Result<Response, MlflowError> {
    check_method(&method, Method::GET, &uri)?;
    Ok(env!("CARGO_PKG_VERSION").into_response())
}

/// `POST /invocations`.
pub(crate) async fn invocations(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    selection: Result<Query<Selection>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, MlflowError> {
    check_method(&method, Method::POST, &uri)?;
    let Query(selection) = selection.map_err(|r| {
        ServeError::bad_request(format!(
            "bad query string ({}); /invocations takes ?model=NAME&version=N",
            r.body_text()
        ))
    })?;
    let format = content_format(&headers)?;
    let body = body.map_err(|rejection| body_error(&rejection, state.max_body_bytes))?;
    let servable = select_model(&state, selection)?;
    let context = state.extras.context(&servable.info().name, &headers);
    let contract = state.input_contract.clone();
    let (encoded, served) = state
        .run_predict(body.len(), move || {
            let records = match format {
                Format::Json => json_records(servable.as_ref(), &body)?,
                Format::Csv => csv_records(&servable.input_schema(), &body, context.key())?,
            };
            let (predictions, _, served) =
                context.answer(servable.as_ref(), &records, false, &contract)?;
            let document = encode_predict(predictions, Layout::Rows)?;
            Ok((json_bytes(&document)?, served))
        })
        .await?;
    Ok(json_response(encoded, served))
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Json,
    Csv,
}

/// The body format from `Content-Type`: its media type, and no parameter
/// but `charset=utf-8`; as MLflow, any other parameter (`format=pandas-split`
/// included) or charset is a 415.
fn content_format(headers: &HeaderMap) -> Result<Format, ServeError> {
    let raw = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let mut parts = raw.split(';').map(str::trim);
    let format = match parts.next().map(str::to_ascii_lowercase).as_deref() {
        Some("application/json") => Format::Json,
        Some("text/csv") => Format::Csv,
        _ => {
            return Err(ServeError::UnsupportedMediaType {
                found: raw,
                supported: CONTENT_TYPES,
            });
        }
    };
    let utf8_charset = |parameter: &str| {
        parameter.split_once('=').is_some_and(|(key, value)| {
            key.trim().eq_ignore_ascii_case("charset")
                && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
    };
    if parts.filter(|p| !p.is_empty()).all(utf8_charset) {
        Ok(format)
    } else {
        Err(ServeError::UnsupportedMediaType {
            found: raw,
            supported: CONTENT_TYPES,
        })
    }
}

fn select_model(
    state: &ApiState,
    selection: Selection,
) -> Result<std::sync::Arc<dyn Servable>, ServeError> {
    let version = VersionSelector::from(selection.version);
    match selection.model {
        Some(name) => state.registry.select(&name, &version),
        None => match state.registry.models().as_slice() {
            [only] => state.registry.select(only, &version),
            models => Err(ServeError::bad_request(format!(
                "{} models are loaded ({}); choose one with /invocations?model=NAME",
                models.len(),
                models.join(", ")
            ))),
        },
    }
}

/// A JSON body → records (see the module docs for the formats).
fn json_records(servable: &dyn Servable, body: &[u8]) -> Result<Vec<Value>, ServeError> {
    let Value::Object(mut request) = parse_json(body)? else {
        return Err(ServeError::bad_request(format!(
            "the body must be a JSON object with exactly one of the keys {}",
            INPUT_KEYS.join(", ")
        )));
    };
    match request.remove("params") {
        None => {}
        Some(Value::Object(params)) if params.is_empty() => {}
        Some(other) => {
            return Err(ServeError::bad_request(format!(
                "this model takes no `params`, found {}",
                describe_json(&other)
            )));
        }
    }
    let keys: Vec<String> = request.keys().cloned().collect();
    let (key, value) = match (request.len(), request.into_iter().next()) {
        (1, Some((key, value))) if INPUT_KEYS.contains(&key.as_str()) => (key, value),
        _ => {
            return Err(ServeError::bad_request(format!(
                "the body must have exactly one of the keys {} (and optionally `params`); found keys: {}",
                INPUT_KEYS.join(", "),
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            )));
        }
    };
    let schema = servable.input_schema();
    let records = match key.as_str() {
        "dataframe_split" => split_records(value)?,
        "dataframe_records" => as_list(value, "`dataframe_records`")?,
        _ => match value {
            Value::Object(columns) => columns_to_records(&key, columns)?,
            Value::Array(items) if items.iter().all(Value::is_array) && !items.is_empty() => {
                let rows = items
                    .into_iter()
                    .map(|row| as_list(row, &format!("a row of `{key}`")))
                    .collect::<Result<Vec<_>, _>>()?;
                matrix_to_records(rows, &schema, &format!("`{key}`"))?
            }
            Value::Array(items) => wrap_bare(
                items,
                single_input_field(servable).as_deref(),
                &format!("`{key}`"),
            )?,
            other => {
                return Err(ServeError::bad_request(format!(
                    "`{key}` must be a list of rows or an object of columns, found {}",
                    describe_json(&other)
                )));
            }
        },
    };
    Ok(records)
}

/// pandas' split orientation: `{"columns": [...], "data": [[...], ...]}`.
fn split_records(value: Value) -> Result<Vec<Value>, ServeError> {
    let Value::Object(mut split) = value else {
        return Err(ServeError::bad_request(format!(
            "`dataframe_split` must be an object {{\"columns\": [...], \"data\": [[...], ...]}}, found {}",
            describe_json(&value)
        )));
    };
    let columns = as_list(
        split.remove("columns").ok_or_else(|| {
            ServeError::bad_request("`dataframe_split` has no `columns` (the field names)")
        })?,
        "`dataframe_split.columns`",
    )?;
    let names = columns
        .into_iter()
        .map(|c| match c {
            Value::String(name) => Ok(name),
            other => Err(ServeError::bad_request(format!(
                "`dataframe_split.columns` must hold field names, found {}",
                describe_json(&other)
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data = as_list(
        split
            .remove("data")
            .ok_or_else(|| ServeError::bad_request("`dataframe_split` has no `data` (the rows)"))?,
        "`dataframe_split.data`",
    )?;
    split.remove("index");
    if let Some(key) = split.keys().next() {
        return Err(ServeError::bad_request(format!(
            "unknown key `{key}` in `dataframe_split`; expected columns, data and optionally index"
        )));
    }
    check_rows(data.len(), "`dataframe_split.data`")?;
    data.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let row = as_list(row, &format!("`dataframe_split.data` row {i}"))?;
            if row.len() != names.len() {
                return Err(ServeError::bad_request(format!(
                    "`dataframe_split.data` row {i} has {} values for {} columns",
                    row.len(),
                    names.len()
                )));
            }
            Ok(Value::Object(
                names.iter().cloned().zip(row).collect::<Map<_, _>>(),
            ))
        })
        .collect()
}

/// A CSV body (header row of field names) → records. A column of a text
/// field keeps its cells' raw text (`007` stays `"007"`); other columns are
/// typed by [`csv_cell`] and the schema then checks them like JSON values.
///
/// The key column of the model's prediction table (`key`) is kept as text
/// too, so `007` finds key `007`.
fn csv_records(schema: &Schema, body: &[u8], key: Option<&str>) -> Result<Vec<Value>, ServeError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let bad = |e: csv::Error| ServeError::bad_request(format!("the CSV body cannot be read: {e}"));
    let columns: Vec<(String, bool)> = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(|name| {
            let text = key == Some(name)
                || schema
                    .field_with_name(name)
                    .is_ok_and(|f| f.data_type() == &DataType::Utf8);
            (name.to_string(), text)
        })
        .collect();
    let mut records = Vec::new();
    for row in reader.records() {
        check_rows(records.len() + 1, "the CSV body")?;
        let row = row.map_err(bad)?;
        records.push(Value::Object(
            columns
                .iter()
                .zip(row.iter())
                .map(|((name, text), cell)| {
                    let value = if *text && !cell.is_empty() {
                        Value::from(cell)
                    } else {
                        csv_cell(cell)
                    };
                    (name.clone(), value)
                })
                .collect(),
        ));
    }
    Ok(records)
}

/// A CSV cell as JSON: empty → null, a number, a boolean, else text.
fn csv_cell(cell: &str) -> Value {
    if cell.is_empty() {
        return Value::Null;
    }
    if let Ok(integer) = cell.parse::<i64>() {
        return Value::from(integer);
    }
    match cell {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        "NaN" | "Infinity" | "-Infinity" => return Value::from(cell),
        _ => {}
    }
    match cell.parse::<f64>() {
        Ok(x) if x.is_finite() => Value::from(x),
        _ => Value::from(cell),
    }
}

#[cfg(test)]
mod tests {
    use mlrig_core::arrow_schema::Field;

    use super::*;

    #[test]
    fn csv_cells_take_the_most_specific_json_type() {
        assert_eq!(csv_cell(""), Value::Null);
        assert_eq!(csv_cell("3"), json!(3));
        assert_eq!(csv_cell("2.5"), json!(2.5));
        assert_eq!(csv_cell("True"), json!(true));
        assert_eq!(csv_cell("NaN"), json!("NaN"));
        assert_eq!(csv_cell("inf"), json!("inf"));
        assert_eq!(csv_cell("Oslo"), json!("Oslo"));
    }

    #[test]
    fn csv_text_fields_keep_their_raw_text() {
        let schema = Schema::new(vec![
            Field::new("code", DataType::Utf8, true),
            Field::new("x", DataType::Float64, true),
        ]);
        let records = csv_records(
            &schema,
            b"code,x,other\n007,1.50,007\nTrue,,True\n,NaN,\n",
            None,
        )
        .unwrap();
        assert_eq!(
            records,
            vec![
                json!({"code": "007", "x": 1.5, "other": 7}),
                json!({"code": "True", "x": null, "other": true}),
                json!({"code": null, "x": "NaN", "other": null}),
            ]
        );
    }

    #[test]
    fn split_rows_must_match_columns() {
        let records =
            split_records(json!({"columns": ["a", "b"], "data": [[1, "x"]], "index": [7]}))
                .unwrap();
        assert_eq!(records, vec![json!({"a": 1, "b": "x"})]);
        let err = split_records(json!({"columns": ["a"], "data": [[1, 2]]}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 0 has 2 values for 1 columns"), "{err}");
        let err = split_records(json!({"data": []})).unwrap_err().to_string();
        assert!(err.contains("no `columns`"), "{err}");
    }
}
