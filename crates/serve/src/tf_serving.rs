//! TF Serving `:predict`, `:classify` and `:regress`: JSON request body →
//! records → one [`RecordBatch`](mlrig_core::arrow_array::RecordBatch) →
//! [`Servable::predict`] → JSON response body.
//!
//! Request formats (TF Serving REST):
//!
//! * `:predict`, row format: `{"instances": [{"age": 39, "city": "Oslo"}, ...]}`.
//!   For a model with a single input field an instance may also be the bare
//!   value (`{"instances": [1.0, 2.0]}`), as in TF Serving.
//! * `:predict`, columnar format: `{"inputs": {"age": [39, 52], "city": ["Oslo", "Lima"]}}`
//!   (every list has one value per instance; a single-input model also takes
//!   `{"inputs": [1.0, 2.0]}`).
//! * `:classify` / `:regress`: `{"examples": [{...}, ...], "context": {...}}`;
//!   the optional `context` holds fields common to every example.
//! * An optional `"signature_name"` must be `"serving_default"` (or empty).
//! * `:predict` only (an mlrig extension): an optional `"contributions": true`
//!   asks for per-feature contributions ([`Servable::contributions`]) in
//!   either format; `false` or absent leaves the response exactly as without
//!   the key, anything but a boolean is a 400. `:classify` and `:regress`
//!   refuse the key as unknown.
//!
//! Responses:
//!
//! | request | regression model | classification model |
//! |---|---|---|
//! | `:predict`, rows | `{"predictions": [2.5, 3.1]}` | `{"predictions": [{"classes": ["no","yes"], "scores": [0.2, 0.8], "label": "yes"}, ...]}` |
//! | `:predict`, columnar | `{"outputs": [2.5, 3.1]}` | `{"outputs": {"classes": [[..], ..], "scores": [[..], ..], "label": [..]}}` |
//! | `:predict` with `"contributions": true` | the above plus `"contributions": [{"x": 1.5, "(bias)": 1.0}, ...]` | binary: the above plus `"contributions": [{"age": 0.3, "hours": -0.1, "(bias)": -1.2}, ...]`; multiclass: plus `"contributions": [{"a": {"x": 0.4, "(bias)": 0.1}, "b": {...}, "c": {...}}, ...]` |
//! | `:classify` | 400 | `{"results": [[["no", 0.2], ["yes", 0.8]], ...]}` |
//! | `:regress` | `{"results": [2.5, 3.1]}` | 400 |
//!
//! A columnar request is answered in columnar form (`outputs`), as TF Serving
//! does. Non-finite predictions are written as `null` (JSON has no NaN).
//!
//! Contributions (`"contributions"`, next to `predictions` or `outputs`): a
//! list with one entry per instance, in request order, in both formats.
//! An entry maps each model feature to how much it moved the instance's raw
//! score, plus the key `"(bias)"` ([`Contributions::BIAS`], the score before
//! any feature is known; always this name, which no feature may have). A
//! model with one group — regression (the target), binary classification
//! (the log-odds of the second class, `classes[1]`) — answers that flat
//! object; a multiclass model answers one such object per class, keyed by
//! class name (its softmax logit). The values are on the raw margin scale
//! and sum, bias included, to the raw score: `logit(scores[1])` for a binary
//! classifier, the predicted value for least-squares regression. Object keys
//! have no meaningful order. A model that cannot explain its predictions
//! answers 400 with its reason.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Json, Response};
use mlrig_core::{Contributions, Predictions, Servable, ServedPredictions, Task, describe_json};
use serde_json::{Map, Value, json};

use crate::inference::{
    columns_to_records, json_bytes, json_response, parse_json, single_input_field, wrap_bare,
};
use crate::model_path::{ModelEndpoint, Verb, parse_model_path};
use crate::router::{ApiState, body_error, check_method};
use crate::serving_extras::RequestContext;
use crate::tf_json::{Layout, encode_predict};
use crate::{InputContractConfig, ServeError, VersionSelector};

/// The optional `:predict` key asking for per-feature contributions.
const CONTRIBUTIONS_KEY: &str = "contributions";

/// The axum handler of every `/v1/models/...` path.
pub(crate) async fn handle(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    rest: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServeError> {
    let rest = rest.map_err(|r| ServeError::bad_request(r.body_text()))?;
    let target = parse_model_path(&rest, uri.path())?;
    let expected = match target.endpoint {
        ModelEndpoint::Infer(_) => Method::POST,
        ModelEndpoint::Status | ModelEndpoint::Metadata | ModelEndpoint::Monitoring => Method::GET,
    };
    check_method(&method, expected, &uri)?;
    match target.endpoint {
        ModelEndpoint::Status => {
            let versions = status_versions(&state.registry, &target.name, &target.version)?;
            Ok(Json(crate::model_status::model_status(&versions)).into_response())
        }
        ModelEndpoint::Metadata => {
            let servable = state.registry.select(&target.name, &target.version)?;
            Ok(Json(crate::model_status::model_metadata(servable.as_ref())).into_response())
        }
        ModelEndpoint::Monitoring => {
            let servable = state.registry.select(&target.name, &target.version)?;
            let info = servable.info();
            Ok(Json(monitoring_report(&state, &info.name, info.version)?).into_response())
        }
        ModelEndpoint::Infer(verb) => {
            let body = body.map_err(|rejection| body_error(&rejection, state.max_body_bytes))?;
            let servable = state.registry.select(&target.name, &target.version)?;
            let context = state.extras.context(&servable.info().name, &headers);
            let contract = state.input_contract.clone();
            let (encoded, served) = state
                .run_predict(body.len(), move || {
                    infer(servable.as_ref(), &context, verb, &body, &contract)
                })
                .await?;
            Ok(json_response(encoded, served))
        }
    }
}

/// The live monitoring report of `name` at `version` (a loaded version):
/// 404 when the server has no monitoring or the version is not monitored.
fn monitoring_report(state: &ApiState, name: &str, version: u64) -> Result<Value, ServeError> {
    let not_monitored = |reason| ServeError::NotMonitored {
        name: name.to_string(),
        version,
        reason,
    };
    let source = state
        .extras
        .monitoring()
        .ok_or_else(|| not_monitored("live monitoring is off on this server"))?;
    source.monitoring_report(name, version).ok_or_else(|| {
        not_monitored(
            "the version is served unmonitored (its bundle has no training statistics to compare with)",
        )
    })
}

/// The versions a status request lists, newest first (as TF Serving):
/// loaded ones, and those that failed to load with the reason. A model or
/// version neither loaded nor failed answers the same 404 as the other
/// endpoints.
fn status_versions(
    registry: &crate::ModelRegistry,
    name: &str,
    selector: &VersionSelector,
) -> Result<Vec<(u64, Option<String>)>, ServeError> {
    let mut failed = registry.failed(name);
    match selector {
        VersionSelector::Latest if !failed.is_empty() => {
            for version in registry.versions(name) {
                failed.remove(&version);
            }
            let mut all: Vec<(u64, Option<String>)> = registry
                .versions(name)
                .into_iter()
                .map(|v| (v, None))
                .chain(failed.into_iter().map(|(v, reason)| (v, Some(reason))))
                .collect();
            all.sort_by_key(|entry| std::cmp::Reverse(entry.0));
            Ok(all)
        }
        VersionSelector::Specific(v) if !registry.versions(name).contains(v) => {
            match failed.remove(v) {
                Some(reason) => Ok(vec![(*v, Some(reason))]),
                None => registry.select(name, selector).map(|_| Vec::new()),
            }
        }
        _ => {
            // Resolving first gives the same 404 messages as the other endpoints.
            let servable = registry.select(name, selector)?;
            Ok(match selector {
                VersionSelector::Latest => registry
                    .versions(name)
                    .into_iter()
                    .rev()
                    .map(|v| (v, None))
                    .collect(),
                _ => vec![(servable.info().version, None)],
            })
        }
    }
}

/// Runs one inference request and returns the serialized JSON response
/// body and what was predicted.
pub(crate) fn infer(
    servable: &dyn Servable,
    context: &RequestContext,
    verb: Verb,
    body: &[u8],
    contract: &InputContractConfig,
) -> Result<(Vec<u8>, ServedPredictions), ServeError> {
    let mut request = parse_body(body)?;
    let single_field = single_input_field(servable);
    let (response, served) = match verb {
        Verb::Predict => {
            let explain = contributions_flag(&mut request)?;
            let (records, layout) = predict_records(request, single_field.as_deref())?;
            let (predictions, contributions, served) =
                context.answer(servable, &records, explain, contract)?;
            let mut response = encode_predict(predictions, layout)?;
            if let (Some(contributions), Value::Object(response)) = (contributions, &mut response) {
                response.insert("contributions".into(), encode_contributions(&contributions));
            }
            (response, served)
        }
        Verb::Classify | Verb::Regress => {
            check_task(servable, verb)?;
            let records = example_records(request)?;
            let (predictions, _, served) = context.answer(servable, &records, false, contract)?;
            (encode_result(predictions, verb)?, served)
        }
    };
    Ok((json_bytes(&response)?, served))
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ServeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ServeError::bad_request(
            "request body is empty; expected a JSON object such as {\"instances\": [{...}]}",
        ));
    }
    let value = parse_json(body)?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ServeError::bad_request(format!(
            "request body must be a JSON object such as {{\"instances\": [{{...}}]}}, found {}",
            describe_json(&other)
        ))),
    }
}

/// Checks `signature_name` and that every key is one of `allowed`;
/// `optional` names the other keys the verb takes (already taken out of
/// `request`) for the message.
///
/// (`contributions` is taken out of a `:predict` request before, so it is
/// an unknown key of `:classify` and `:regress`.)
fn check_keys(
    request: &Map<String, Value>,
    allowed: &[&str],
    optional: &[&str],
) -> Result<(), ServeError> {
    for (key, value) in request {
        if key == "signature_name" {
            match value.as_str() {
                Some("" | "serving_default") => {}
                _ => {
                    return Err(ServeError::bad_request(format!(
                        "unknown signature_name {}; the only signature is \"serving_default\"",
                        describe_json(value)
                    )));
                }
            }
        } else if !allowed.contains(&key.as_str()) {
            return Err(ServeError::bad_request(format!(
                "unknown key `{key}` in the request; expected {} (and optionally {})",
                allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                optional
                    .iter()
                    .chain(&["signature_name"])
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

/// Takes the optional `"contributions": true|false` out of a `:predict`
/// request (absent = `false`).
fn contributions_flag(request: &mut Map<String, Value>) -> Result<bool, ServeError> {
    match request.remove(CONTRIBUTIONS_KEY) {
        None => Ok(false),
        Some(Value::Bool(explain)) => Ok(explain),
        Some(other) => Err(ServeError::bad_request(format!(
            "`{CONTRIBUTIONS_KEY}` must be true or false, found {}",
            describe_json(&other)
        ))),
    }
}

fn predict_records(
    mut request: Map<String, Value>,
    single_field: Option<&str>,
) -> Result<(Vec<Value>, Layout), ServeError> {
    check_keys(&request, &["instances", "inputs"], &[CONTRIBUTIONS_KEY])?;
    match (request.remove("instances"), request.remove("inputs")) {
        (Some(_), Some(_)) => Err(ServeError::bad_request(
            "the request has both `instances` (row format) and `inputs` (columnar format); send exactly one",
        )),
        (None, None) => Err(ServeError::bad_request(
            "the request has neither `instances` (row format) nor `inputs` (columnar format)",
        )),
        (Some(instances), None) => {
            let Value::Array(instances) = instances else {
                return Err(ServeError::bad_request(format!(
                    "`instances` must be a list of instances, found {}",
                    describe_json(&instances)
                )));
            };
            Ok((
                wrap_bare(instances, single_field, "`instances`")?,
                Layout::Rows,
            ))
        }
        (None, Some(inputs)) => {
            let records = match inputs {
                Value::Object(columns) => columns_to_records("inputs", columns)?,
                Value::Array(values) if single_field.is_some() => {
                    wrap_bare(values, single_field, "`inputs`")?
                }
                other => {
                    return Err(ServeError::bad_request(format!(
                        "`inputs` must be an object mapping each field to a list of values, found {}",
                        describe_json(&other)
                    )));
                }
            };
            Ok((records, Layout::Columns))
        }
    }
}

fn example_records(mut request: Map<String, Value>) -> Result<Vec<Value>, ServeError> {
    check_keys(&request, &["examples", "context"], &[])?;
    let context = match request.remove("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(context)) => context,
        Some(other) => {
            return Err(ServeError::bad_request(format!(
                "`context` must be an object of fields common to every example, found {}",
                describe_json(&other)
            )));
        }
    };
    let examples = match request.remove("examples") {
        Some(Value::Array(examples)) => examples,
        Some(other) => {
            return Err(ServeError::bad_request(format!(
                "`examples` must be a list of objects, found {}",
                describe_json(&other)
            )));
        }
        None => {
            return Err(ServeError::bad_request(
                "the request has no `examples`; expected {\"examples\": [{...}, ...]}",
            ));
        }
    };
    examples
        .into_iter()
        .enumerate()
        .map(|(i, example)| match example {
            Value::Object(mut fields) => {
                for (key, value) in &context {
                    if fields.contains_key(key) {
                        return Err(ServeError::bad_request(format!(
                            "example {i}: field `{key}` is given both in `context` and in the example"
                        )));
                    }
                    fields.insert(key.clone(), value.clone());
                }
                Ok(Value::Object(fields))
            }
            other => Err(ServeError::bad_request(format!(
                "example {i}: expected an object of field names to values, found {}",
                describe_json(&other)
            ))),
        })
        .collect()
}

fn check_task(servable: &dyn Servable, verb: Verb) -> Result<(), ServeError> {
    let info = servable.info();
    match (&info.task, verb) {
        (Task::Regression, Verb::Classify) => Err(ServeError::bad_request(format!(
            "model `{}` is a regression model; :classify needs a classification model (use :regress or :predict)",
            info.name
        ))),
        (Task::Classification { .. }, Verb::Regress) => Err(ServeError::bad_request(format!(
            "model `{}` is a classification model; :regress needs a regression model (use :classify or :predict)",
            info.name
        ))),
        _ => Ok(()),
    }
}

/// One entry per instance: `{feature: value, ..., "(bias)": b}` for one
/// group, `{group: {feature: value, ..., "(bias)": b}, ...}` for several.
/// Non-finite values become `null`.
fn encode_contributions(contributions: &Contributions) -> Value {
    let features = contributions.features();
    let groups = contributions.groups();
    let values = contributions.values();
    let group_object = |row: usize, group: usize| -> Value {
        let mut entry = Map::with_capacity(features.len() + 1);
        for (f, feature) in features.iter().enumerate() {
            entry.insert(feature.clone(), Value::from(values[[row, group, f]]));
        }
        entry.insert(
            Contributions::BIAS.into(),
            Value::from(values[[row, group, features.len()]]),
        );
        Value::Object(entry)
    };
    Value::Array(
        (0..contributions.len())
            .map(|row| match groups {
                [_] => group_object(row, 0),
                _ => Value::Object(
                    groups
                        .iter()
                        .enumerate()
                        .map(|(g, group)| (group.clone(), group_object(row, g)))
                        .collect(),
                ),
            })
            .collect(),
    )
}

fn encode_result(predictions: Predictions, verb: Verb) -> Result<Value, ServeError> {
    match (predictions, verb) {
        (Predictions::Regression { values }, Verb::Regress) => {
            Ok(json!({ "results": values.to_vec() }))
        }
        (
            Predictions::Classification {
                classes,
                probabilities,
            },
            Verb::Classify,
        ) => {
            let result: Vec<Vec<(&String, f64)>> = probabilities
                .rows()
                .into_iter()
                .map(|row| classes.iter().zip(row.iter().copied()).collect())
                .collect();
            Ok(json!({ "results": result }))
        }
        (predictions, verb) => Err(ServeError::Internal {
            reason: format!(
                "the model's declared task does not match its predictions ({} for {verb:?})",
                match predictions {
                    Predictions::Regression { .. } => "regression values",
                    Predictions::Classification { .. } => "class probabilities",
                    _ => "another kind of predictions",
                }
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_merges_into_examples() {
        let Value::Object(request) = json!({"examples": [{"a": 1}], "context": {"b": 2}}) else {
            unreachable!()
        };
        assert_eq!(
            example_records(request).unwrap(),
            vec![json!({"a": 1, "b": 2})]
        );
        let Value::Object(clash) = json!({"examples": [{"a": 1}], "context": {"a": 2}}) else {
            unreachable!()
        };
        assert!(
            example_records(clash)
                .unwrap_err()
                .to_string()
                .contains("example 0: field `a` is given both")
        );
    }
}
