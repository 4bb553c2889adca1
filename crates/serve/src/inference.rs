//! The one prediction path every protocol shares: JSON records →
//! [`records_to_batch`] with the model's input schema → [`Servable::predict`]
//! (and, on request, [`Servable::contributions`]).
//!
//! Protocol modules (`tf_serving`, `open_inference`, `mlflow`) only turn
//! their request format into records and the [`Predictions`] into their
//! response format, so a row scores the same whichever protocol carried it.

use std::sync::Arc;

use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use mlrig_core::arrow_schema::{DataType, Schema};
use mlrig_core::{
    Contributions, Predictions, Servable, ServedPredictions, describe_json, records_to_batch,
};
use serde_json::{Map, Value, json};

use crate::input_contract::check_records;
use crate::{InputContractConfig, ServeError};

/// The default of [`ServerConfig::max_instances_per_request`](crate::ServerConfig::max_instances_per_request):
/// the most rows one request may carry, whatever its protocol.
///
/// Every row becomes a JSON record (a map with its own copy of each field
/// name) before the batch is built, so a small body of tiny rows (one byte
/// per row in a binary `UINT8` tensor, `1,` per bare TF Serving instance,
/// one line per CSV row) would otherwise cost far more memory than its size.
/// Protocols check the limit before building records; a larger request is a
/// 400 that says to split it.
pub const MAX_ROWS_PER_REQUEST: usize = 100_000;

thread_local! {
    /// The row limit of the request being predicted on this thread, set by
    /// [`with_row_limit`] (every protocol parses and predicts inside
    /// `ApiState::run_predict`, which sets it), [`MAX_ROWS_PER_REQUEST`]
    /// elsewhere.
    static ROW_LIMIT: std::cell::Cell<usize> = const { std::cell::Cell::new(MAX_ROWS_PER_REQUEST) };
}

/// Runs `run` with `limit` as the row limit of [`check_rows`] on this
/// thread (restored afterwards), so the protocols' parsers read the
/// server's configured limit without passing it through every call.
pub(crate) fn with_row_limit<T>(limit: usize, run: impl FnOnce() -> T) -> T {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            ROW_LIMIT.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(ROW_LIMIT.with(|cell| cell.replace(limit)));
    run()
}

/// The row limit in force on this thread (see [`with_row_limit`]).
pub(crate) fn row_limit() -> usize {
    ROW_LIMIT.with(std::cell::Cell::get)
}

/// A 400 when `rows` rows (of `what`) exceed the row limit in force
/// ([`ServerConfig::max_instances_per_request`](crate::ServerConfig::max_instances_per_request)).
pub(crate) fn check_rows(rows: usize, what: &str) -> Result<(), ServeError> {
    let limit = row_limit();
    if rows > limit {
        return Err(ServeError::bad_request(format!(
            "{what} has {rows} rows; a request takes at most {limit} rows, so split it into several requests"
        )));
    }
    Ok(())
}

/// How a field type is named on the wire: (Open Inference datatype, TF
/// Serving dtype). Only the four types [`records_to_batch`] reads have a
/// name of their own; any other type cannot be served (predict refuses it)
/// and is listed as text.
pub(crate) fn wire_types(data_type: &DataType) -> (&'static str, &'static str) {
    match data_type {
        DataType::Float64 => ("FP64", "DT_DOUBLE"),
        DataType::Int64 => ("INT64", "DT_INT64"),
        DataType::Boolean => ("BOOL", "DT_BOOL"),
        _ => ("BYTES", "DT_STRING"),
    }
}

/// The name of the only input field of a single-input model.
pub(crate) fn single_input_field(servable: &dyn Servable) -> Option<String> {
    let schema = servable.input_schema();
    match schema.fields().as_ref() {
        [field] => Some(field.name().clone()),
        _ => None,
    }
}

/// What `servable` answered, for the metrics layer (a response extension).
pub(crate) fn served_by(servable: &dyn Servable, predictions: &Predictions) -> ServedPredictions {
    let info = servable.info();
    ServedPredictions::new(&info.name, info.version, predictions)
}

/// A JSON response body, with what was predicted in its extensions.
pub(crate) fn json_response(body: Vec<u8>, served: ServedPredictions) -> Response {
    let mut response = with_json_content_type(body.into_response());
    response.extensions_mut().insert(served);
    response
}

/// `response` with `Content-Type: application/json`.
pub(crate) fn with_json_content_type(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A response document as body bytes.
pub(crate) fn json_bytes(document: &Value) -> Result<Vec<u8>, ServeError> {
    serde_json::to_vec(document).map_err(|e| ServeError::Internal {
        reason: format!("cannot serialize the response: {e}"),
    })
}

/// The error for a kind of [`Predictions`] (a non-exhaustive enum) added to
/// mlrig-core after this server was written.
pub(crate) fn unencodable_predictions() -> ServeError {
    ServeError::Internal {
        reason: "the model returned a kind of predictions this server cannot encode".into(),
    }
}

/// Predicts for `records` (at least one, at most the row limit,
/// checked here once for every protocol, then held to the servable's input
/// contract with `contract`'s rules) and, when `explain`, computes the
/// contributions of the same batch (after the predictions, so a bad record
/// is reported the same way with or without them). Also returns what was
/// served, for the metrics layer (input anomalies included, and with
/// `capture_inputs` the batch the model predicted, shared rather than
/// copied, for live monitoring).
pub(crate) fn run(
    servable: &dyn Servable,
    records: &[Value],
    explain: bool,
    contract: &InputContractConfig,
    capture_inputs: bool,
) -> Result<(Predictions, Option<Contributions>, ServedPredictions), ServeError> {
    if records.is_empty() {
        return Err(ServeError::bad_request(
            "the request has no rows; send at least one instance",
        ));
    }
    check_rows(records.len(), "the request")?;
    let anomalies = check_records(servable, records, contract)?;
    let batch = records_to_batch(records, &servable.input_schema())?;
    let predictions = servable.predict(&batch)?;
    if predictions.len() != records.len() {
        return Err(ServeError::Internal {
            reason: format!(
                "model `{}` version {} returned {} predictions for {} instances",
                servable.info().name,
                servable.info().version,
                predictions.len(),
                records.len()
            ),
        });
    }
    if let Predictions::Classification {
        classes,
        probabilities,
    } = &predictions
        && (classes.is_empty() || classes.len() != probabilities.ncols())
    {
        return Err(ServeError::Internal {
            reason: format!(
                "model `{}` returned {} classes but {} probability columns",
                servable.info().name,
                classes.len(),
                probabilities.ncols()
            ),
        });
    }
    let mut served = served_by(servable, &predictions).with_input_anomalies(anomalies);
    let batch = Arc::new(batch);
    if capture_inputs {
        served = served.with_inputs(Arc::clone(&batch));
    }
    if !explain {
        return Ok((predictions, None, served));
    }
    let contributions = servable.contributions(&batch)?;
    if contributions.len() != records.len() {
        return Err(ServeError::Internal {
            reason: format!(
                "model `{}` version {} returned contributions for {} rows for {} instances",
                servable.info().name,
                servable.info().version,
                contributions.len(),
                records.len()
            ),
        });
    }
    Ok((predictions, Some(contributions), served))
}

/// Parses a JSON request body. TF Serving (and pandas, behind MLflow)
/// accept the bare literals `NaN`, `Infinity` and `-Infinity`, which JSON
/// does not have: a body that fails to parse is retried with them quoted
/// (`"NaN"`), the form [`records_to_batch`] reads into a float field.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, ServeError> {
    serde_json::from_slice(body).or_else(|first_error| {
        quote_non_finite_literals(body)
            .and_then(|quoted| serde_json::from_slice(&quoted).ok())
            .ok_or_else(|| {
                ServeError::bad_request(format!("request body is not valid JSON: {first_error}"))
            })
    })
}

/// `body` with every `NaN`, `Infinity` and `-Infinity` outside strings put
/// in quotes, or `None` when it has none.
fn quote_non_finite_literals(body: &[u8]) -> Option<Vec<u8>> {
    const LITERALS: [&[u8]; 3] = [b"NaN", b"Infinity", b"-Infinity"];
    let mut out = Vec::with_capacity(body.len() + 16);
    let (mut in_string, mut escaped, mut found) = (false, false, false);
    let mut i = 0;
    while i < body.len() {
        let byte = body[i];
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if let Some(literal) = LITERALS.iter().find(|l| body[i..].starts_with(l)) {
            out.push(b'"');
            out.extend_from_slice(literal);
            out.push(b'"');
            i += literal.len();
            found = true;
            continue;
        }
        out.push(byte);
        i += 1;
    }
    found.then_some(out)
}

/// A columnar object `{"field": [values...], ...}` (`key` names it in
/// messages) → one record per row.
pub(crate) fn columns_to_records(
    key: &str,
    columns: Map<String, Value>,
) -> Result<Vec<Value>, ServeError> {
    let lists = columns
        .into_iter()
        .map(|(field, value)| match value {
            Value::Array(values) => Ok((field, values)),
            other => Err(ServeError::bad_request(format!(
                "`{key}.{field}` must be a list with one value per instance, found {}",
                describe_json(&other)
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    lists_to_records(lists, |field| format!("`{key}.{field}`"))
}

/// One equal-length list of values per field → one record per row (the
/// shared core of columnar JSON and one-tensor-per-field requests); `name`
/// says how a field's list is called in messages.
pub(crate) fn lists_to_records(
    lists: Vec<(String, Vec<Value>)>,
    name: impl Fn(&str) -> String,
) -> Result<Vec<Value>, ServeError> {
    let n = lists.first().map_or(0, |(_, values)| values.len());
    if let (Some((first, _)), Some((field, values))) =
        (lists.first(), lists.iter().find(|(_, v)| v.len() != n))
    {
        return Err(ServeError::bad_request(format!(
            "{} has {} values but {} has {n}; every input needs one value per row",
            name(field),
            values.len(),
            name(first)
        )));
    }
    check_rows(n, "the request")?;
    let mut records = vec![Map::with_capacity(lists.len()); n];
    for (field, values) in lists {
        for (record, value) in records.iter_mut().zip(values) {
            record.insert(field.clone(), value);
        }
    }
    Ok(records.into_iter().map(Value::Object).collect())
}

/// For a single-input model, a bare value `v` stands for `{"<field>": v}`;
/// `what` names the list in messages.
pub(crate) fn wrap_bare(
    values: Vec<Value>,
    single_field: Option<&str>,
    what: &str,
) -> Result<Vec<Value>, ServeError> {
    check_rows(values.len(), what)?;
    Ok(match single_field {
        Some(field) => values
            .into_iter()
            .map(|v| match v {
                Value::Object(_) => v,
                bare => json!({ field: bare }),
            })
            .collect(),
        None => values,
    })
}

/// Rows of values in the schema's field order (a `[N, F]` tensor, a list
/// of lists) → records; `what` names the input in messages.
pub(crate) fn matrix_to_records(
    rows: Vec<Vec<Value>>,
    schema: &Schema,
    what: &str,
) -> Result<Vec<Value>, ServeError> {
    check_rows(rows.len(), what)?;
    let fields = schema.fields();
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            if row.len() != fields.len() {
                return Err(ServeError::bad_request(format!(
                    "{what}: row {i} has {} values but the model has {} input fields ({}); \
                     a row lists one value per field in that order",
                    row.len(),
                    fields.len(),
                    mlrig_core::column_list(schema)
                )));
            }
            Ok(Value::Object(
                fields
                    .iter()
                    .zip(row)
                    .map(|(f, v)| (f.name().clone(), v))
                    .collect(),
            ))
        })
        .collect()
}

/// A list that must be a list of values (`what` names it in messages).
pub(crate) fn as_list(value: Value, what: &str) -> Result<Vec<Value>, ServeError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(ServeError::bad_request(format!(
            "{what} must be a list, found {}",
            describe_json(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_become_records() {
        let columns = json!({"a": [1, 2], "b": ["x", "y"]});
        let Value::Object(columns) = columns else {
            unreachable!()
        };
        let records = columns_to_records("inputs", columns).unwrap();
        assert_eq!(
            records,
            vec![json!({"a": 1, "b": "x"}), json!({"a": 2, "b": "y"})]
        );
        let Value::Object(ragged) = json!({"a": [1, 2], "b": ["x"]}) else {
            unreachable!()
        };
        let err = columns_to_records("inputs", ragged)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`inputs.b` has 1 values but `inputs.a` has 2"),
            "{err}"
        );
    }

    #[test]
    fn bare_values_wrap_only_for_single_input_models() {
        assert_eq!(
            wrap_bare(vec![json!(1.5), json!({"x": 2})], Some("x"), "`instances`").unwrap(),
            vec![json!({"x": 1.5}), json!({"x": 2})]
        );
        assert_eq!(
            wrap_bare(vec![json!(1.5)], None, "`instances`").unwrap(),
            vec![json!(1.5)]
        );
        let err = wrap_bare(
            vec![json!(1); MAX_ROWS_PER_REQUEST + 1],
            Some("x"),
            "`instances`",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at most 100000 rows"), "{err}");
        let err = with_row_limit(2, || wrap_bare(vec![json!(1); 3], None, "`instances`"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has 3 rows; a request takes at most 2 rows"),
            "{err}"
        );
        assert_eq!(row_limit(), MAX_ROWS_PER_REQUEST, "the limit is restored");
    }
    #[test]
    fn non_finite_literals_are_quoted_outside_strings_only() {
        let body = br#"{"x": [NaN, -Infinity, Infinity, "NaN \" Infinity"]}"#;
        let value = parse_json(body).unwrap();
        assert_eq!(
            value,
            json!({"x": ["NaN", "-Infinity", "Infinity", "NaN \" Infinity"]})
        );
        assert!(quote_non_finite_literals(br#"{"x": "NaN"}"#).is_none());
        let err = parse_json(b"{NaN").unwrap_err().to_string();
        assert!(err.starts_with("request body is not valid JSON"), "{err}");
    }

    #[test]
    fn matrices_map_to_fields_in_schema_order() {
        use mlrig_core::arrow_schema::{DataType, Field};
        let schema = Schema::new(vec![
            Field::new("a", DataType::Float64, true),
            Field::new("b", DataType::Utf8, true),
        ]);
        let records =
            matrix_to_records(vec![vec![json!(1), json!("x")]], &schema, "`data`").unwrap();
        assert_eq!(records, vec![json!({"a": 1, "b": "x"})]);
        let err = matrix_to_records(vec![vec![json!(1)]], &schema, "`data`")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 0 has 1 values but the model has 2 input fields (a, b)"),
            "{err}"
        );
    }
}
