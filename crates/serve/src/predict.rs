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
//! | `:classify` | 400 | `{"result": [[["no", 0.2], ["yes", 0.8]], ...]}` |
//! | `:regress` | `{"result": [2.5, 3.1]}` | 400 |
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

use mlrig_core::{Contributions, Predictions, Servable, Task, describe_json, records_to_batch};
use serde_json::{Map, Value, json};

use crate::ServeError;
use crate::model_path::Verb;

/// The optional `:predict` key asking for per-feature contributions.
const CONTRIBUTIONS_KEY: &str = "contributions";

/// How the caller laid out the instances, which decides the response layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Rows,
    Columns,
}

/// Runs one inference request and returns the serialized JSON response body.
pub(crate) fn infer(
    servable: &dyn Servable,
    verb: Verb,
    body: &[u8],
) -> Result<Vec<u8>, ServeError> {
    let mut request = parse_body(body)?;
    let single_field = single_input_field(servable);
    let response = match verb {
        Verb::Predict => {
            let explain = contributions_flag(&mut request)?;
            let (records, layout) = predict_records(request, single_field.as_deref())?;
            let (predictions, contributions) = run(servable, &records, explain)?;
            let mut response = encode_predict(predictions, layout)?;
            if let (Some(contributions), Value::Object(response)) = (contributions, &mut response) {
                response.insert("contributions".into(), encode_contributions(&contributions));
            }
            response
        }
        Verb::Classify | Verb::Regress => {
            check_task(servable, verb)?;
            let records = example_records(request)?;
            let (predictions, _) = run(servable, &records, false)?;
            encode_result(predictions, verb)?
        }
    };
    serde_json::to_vec(&response).map_err(|e| ServeError::Internal {
        reason: format!("cannot serialize the response: {e}"),
    })
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ServeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ServeError::bad_request(
            "request body is empty; expected a JSON object such as {\"instances\": [{...}]}",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ServeError::bad_request(format!("request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ServeError::bad_request(format!(
            "request body must be a JSON object such as {{\"instances\": [{{...}}]}}, found {}",
            describe_json(&other)
        ))),
    }
}

fn single_input_field(servable: &dyn Servable) -> Option<String> {
    let schema = servable.input_schema();
    match schema.fields().as_ref() {
        [field] => Some(field.name().clone()),
        _ => None,
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
                non_empty(wrap_bare(instances, single_field), "instances")?,
                Layout::Rows,
            ))
        }
        (None, Some(inputs)) => {
            let records = match inputs {
                Value::Object(columns) => columns_to_records(columns)?,
                Value::Array(values) if single_field.is_some() => wrap_bare(values, single_field),
                other => {
                    return Err(ServeError::bad_request(format!(
                        "`inputs` must be an object mapping each field to a list of values, found {}",
                        describe_json(&other)
                    )));
                }
            };
            Ok((non_empty(records, "inputs")?, Layout::Columns))
        }
    }
}

/// For a single-input model, a bare value `v` stands for `{"<field>": v}`.
fn wrap_bare(values: Vec<Value>, single_field: Option<&str>) -> Vec<Value> {
    match single_field {
        Some(field) => values
            .into_iter()
            .map(|v| match v {
                Value::Object(_) => v,
                bare => json!({ field: bare }),
            })
            .collect(),
        None => values,
    }
}

fn non_empty(records: Vec<Value>, key: &str) -> Result<Vec<Value>, ServeError> {
    if records.is_empty() {
        Err(ServeError::bad_request(format!(
            "`{key}` is empty; send at least one instance"
        )))
    } else {
        Ok(records)
    }
}

fn columns_to_records(columns: Map<String, Value>) -> Result<Vec<Value>, ServeError> {
    let mut rows: Option<(String, usize)> = None;
    let mut lists = Vec::with_capacity(columns.len());
    for (field, value) in columns {
        let Value::Array(values) = value else {
            return Err(ServeError::bad_request(format!(
                "`inputs.{field}` must be a list with one value per instance, found {}",
                describe_json(&value)
            )));
        };
        match &rows {
            Some((first, n)) if *n != values.len() => {
                return Err(ServeError::bad_request(format!(
                    "`inputs.{field}` has {} values but `inputs.{first}` has {n}; every input needs one value per instance",
                    values.len()
                )));
            }
            Some(_) => {}
            None => rows = Some((field.clone(), values.len())),
        }
        lists.push((field, values));
    }
    let n = rows.map_or(0, |(_, n)| n);
    let mut records = vec![Map::with_capacity(lists.len()); n];
    for (field, values) in lists {
        for (record, value) in records.iter_mut().zip(values) {
            record.insert(field.clone(), value);
        }
    }
    Ok(records.into_iter().map(Value::Object).collect())
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
    let examples = non_empty(examples, "examples")?;
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

/// Predicts for `records` and, when `explain`, computes the contributions
/// of the same batch (after the predictions, so a bad record is reported
/// the same way with or without them).
fn run(
    servable: &dyn Servable,
    records: &[Value],
    explain: bool,
) -> Result<(Predictions, Option<Contributions>), ServeError> {
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
    if !explain {
        return Ok((predictions, None));
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
    Ok((predictions, Some(contributions)))
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

/// Index of the most probable class per row (ties to the lowest index).
fn argmax_labels(predictions: &Predictions) -> Vec<usize> {
    predictions.labels().unwrap_or_default()
}

fn encode_predict(predictions: Predictions, layout: Layout) -> Result<Value, ServeError> {
    let labels = argmax_labels(&predictions);
    Ok(match (predictions, layout) {
        (Predictions::Regression { values }, Layout::Rows) => {
            json!({ "predictions": values.to_vec() })
        }
        (Predictions::Regression { values }, Layout::Columns) => {
            json!({ "outputs": values.to_vec() })
        }
        (
            Predictions::Classification {
                classes,
                probabilities,
            },
            Layout::Rows,
        ) => {
            let rows: Vec<Value> = probabilities
                .rows()
                .into_iter()
                .zip(&labels)
                .map(|(scores, &label)| {
                    json!({ "classes": classes, "scores": scores.to_vec(), "label": classes[label] })
                })
                .collect();
            json!({ "predictions": rows })
        }
        (
            Predictions::Classification {
                classes,
                probabilities,
            },
            Layout::Columns,
        ) => {
            let n = probabilities.nrows();
            json!({ "outputs": {
                "classes": vec![&classes; n],
                "scores": probabilities.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                "label": labels.iter().map(|&l| &classes[l]).collect::<Vec<_>>(),
            }})
        }
        // `Predictions` is non-exhaustive: a kind added to mlrig-core later.
        (_, _) => {
            return Err(ServeError::Internal {
                reason: "the model returned a kind of predictions this server cannot encode".into(),
            });
        }
    })
}

fn encode_result(predictions: Predictions, verb: Verb) -> Result<Value, ServeError> {
    match (predictions, verb) {
        (Predictions::Regression { values }, Verb::Regress) => {
            Ok(json!({ "result": values.to_vec() }))
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
            Ok(json!({ "result": result }))
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
    fn columns_become_records() {
        let columns = json!({"a": [1, 2], "b": ["x", "y"]});
        let Value::Object(columns) = columns else {
            unreachable!()
        };
        let records = columns_to_records(columns).unwrap();
        assert_eq!(
            records,
            vec![json!({"a": 1, "b": "x"}), json!({"a": 2, "b": "y"})]
        );
        let Value::Object(ragged) = json!({"a": [1, 2], "b": ["x"]}) else {
            unreachable!()
        };
        let err = columns_to_records(ragged).unwrap_err().to_string();
        assert!(
            err.contains("`inputs.b` has 1 values but `inputs.a` has 2"),
            "{err}"
        );
    }

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

    #[test]
    fn bare_values_wrap_only_for_single_input_models() {
        assert_eq!(
            wrap_bare(vec![json!(1.5), json!({"x": 2})], Some("x")),
            vec![json!({"x": 1.5}), json!({"x": 2})]
        );
        assert_eq!(wrap_bare(vec![json!(1.5)], None), vec![json!(1.5)]);
    }
}
