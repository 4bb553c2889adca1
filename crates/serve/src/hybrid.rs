//! Hybrid inference: the rows of a request whose key is in the model's
//! [`PredictionTable`] are answered from it, the others by the live model
//! (only those rows are predicted), and the answers are merged back in
//! request order into one [`Predictions`], so every protocol encodes them
//! exactly as if the model had answered every row.

use std::borrow::Cow;

use mlrig_core::ndarray::{Array1, Array2, Axis};
use mlrig_core::{Contributions, Predictions, Servable, ServedPredictions};
use serde_json::Value;

use crate::inference::{check_rows, run, served_by};
use crate::{InputContractConfig, PredictionTable, ServeError};

/// What answered a request, and how each row was answered.
pub(crate) struct Answer {
    pub predictions: Predictions,
    pub contributions: Option<Contributions>,
    pub served: ServedPredictions,
    /// Per row, `true` when the table answered it (empty when no table was used).
    pub from_table: Vec<bool>,
}

/// Answers `records` with `servable`, looking keys up in `table` first.
///
/// The table is not used when contributions are asked for (they explain
/// the model's own computation) or when its outputs do not fit the
/// servable's task (a version with other classes). Rows answered from the
/// table are not converted or checked against the input schema; the key
/// field is taken out of the rows the model answers when it is not one of
/// the model's inputs. With `capture_inputs`, what was served carries the
/// input rows the model predicted (not the table's rows).
pub(crate) fn answer(
    servable: &dyn Servable,
    table: Option<&PredictionTable>,
    records: &[Value],
    explain: bool,
    contract: &InputContractConfig,
    capture_inputs: bool,
) -> Result<Answer, ServeError> {
    let table = table.filter(|t| !explain && t.fits(&servable.info().task));
    let Some(table) = table else {
        let (predictions, contributions, served) =
            run(servable, records, explain, contract, capture_inputs)?;
        return Ok(Answer {
            predictions,
            contributions,
            served,
            from_table: Vec::new(),
        });
    };
    if records.is_empty() {
        // The model path's message for an empty request.
        run(servable, records, false, contract, false)?;
    }
    check_rows(records.len(), "the request")?;
    let key = table.key();
    let hits: Vec<Option<usize>> = records
        .iter()
        .map(|r| r.get(key).and_then(|v| table.row_of(v)))
        .collect();
    let from_table: Vec<bool> = hits.iter().map(Option::is_some).collect();
    let model_rows: Vec<usize> = (0..records.len()).filter(|&i| hits[i].is_none()).collect();
    let key_is_input = servable.input_schema().index_of(key).is_ok();
    let model_records: Cow<'_, [Value]> = if model_rows.len() == records.len() && key_is_input {
        Cow::Borrowed(records)
    } else {
        Cow::Owned(
            model_rows
                .iter()
                .map(|&i| without_key(&records[i], key, key_is_input))
                .collect(),
        )
    };
    let table_rows: Vec<usize> = hits.iter().flatten().copied().collect();
    let from_model = if model_rows.is_empty() {
        None
    } else {
        let (predictions, _, served) =
            run(servable, &model_records, false, contract, capture_inputs)
                .map_err(|e| renumber(e, &model_rows))?;
        Some((predictions, served.input_anomalies, served.inputs))
    };
    let from_lookup = table.predictions(&table_rows);
    let (predictions, anomalies, inputs) = match from_model {
        None => (from_lookup, Vec::new(), None),
        Some((model, anomalies, inputs)) if table_rows.is_empty() => (model, anomalies, inputs),
        Some((model, anomalies, inputs)) => {
            (merge(model, from_lookup, &from_table)?, anomalies, inputs)
        }
    };
    let mut served = served_by(servable, &predictions)
        .with_table_rows(&predictions, &from_table)
        .with_input_anomalies(anomalies);
    if let Some(inputs) = inputs {
        served = served.with_inputs(inputs);
    }
    Ok(Answer {
        predictions,
        contributions: None,
        served,
        from_table,
    })
}

/// A record without its key field (unless the model reads it).
fn without_key(record: &Value, key: &str, key_is_input: bool) -> Value {
    match record {
        Value::Object(fields) if !key_is_input && fields.contains_key(key) => {
            let mut fields = fields.clone();
            fields.remove(key);
            Value::Object(fields)
        }
        other => other.clone(),
    }
}

/// A bad-record error of the model's rows, with the instance number of the
/// request (the model saw only the rows `model_rows`).
fn renumber(error: ServeError, model_rows: &[usize]) -> ServeError {
    let ServeError::Core(mut e) = error else {
        return error;
    };
    if let mlrig_core::Error::InvalidField { instance, .. }
    | mlrig_core::Error::MissingField { instance, .. }
    | mlrig_core::Error::UnknownField { instance, .. } = &mut e
        && let Some(i) = instance
        && let Some(&original) = model_rows.get(*i)
    {
        *i = original;
    }
    if let mlrig_core::Error::ContractViolations { violations, .. } = &mut e {
        for violation in violations {
            if let Some(&original) = model_rows.get(violation.instance) {
                violation.instance = original;
            }
        }
    }
    ServeError::Core(e)
}

/// Interleaves the model's and the table's predictions: row `i` is the next
/// table row when `from_table[i]`, else the next model row.
fn merge(
    model: Predictions,
    table: Predictions,
    from_table: &[bool],
) -> Result<Predictions, ServeError> {
    let pick = |n_model: usize, n_table: usize| -> Vec<(bool, usize)> {
        let (mut m, mut t) = (0, 0);
        from_table
            .iter()
            .map(|&is_table| {
                if is_table {
                    t += 1;
                    (true, (t - 1).min(n_table.saturating_sub(1)))
                } else {
                    m += 1;
                    (false, (m - 1).min(n_model.saturating_sub(1)))
                }
            })
            .collect()
    };
    match (model, table) {
        (Predictions::Regression { values: m }, Predictions::Regression { values: t }) => {
            let order = pick(m.len(), t.len());
            Ok(Predictions::Regression {
                values: Array1::from_iter(
                    order
                        .iter()
                        .map(|&(is_table, i)| if is_table { t[i] } else { m[i] }),
                ),
            })
        }
        (
            Predictions::Classification {
                classes,
                probabilities: m,
            },
            Predictions::Classification {
                classes: table_classes,
                probabilities: t,
            },
        ) if classes == table_classes && m.ncols() == t.ncols() => {
            let order = pick(m.nrows(), t.nrows());
            let mut probabilities = Array2::zeros((from_table.len(), m.ncols()));
            for (mut out, &(is_table, i)) in probabilities.axis_iter_mut(Axis(0)).zip(&order) {
                out.assign(&if is_table { t.row(i) } else { m.row(i) });
            }
            Ok(Predictions::Classification {
                classes,
                probabilities,
            })
        }
        _ => Err(ServeError::Internal {
            reason: "the model's predictions do not have the prediction table's classes".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::ndarray::array;

    #[test]
    fn merge_keeps_request_order() {
        let merged = merge(
            Predictions::Regression {
                values: array![1.0, 2.0],
            },
            Predictions::Regression {
                values: array![10.0],
            },
            &[false, true, false],
        )
        .unwrap();
        assert_eq!(
            merged,
            Predictions::Regression {
                values: array![1.0, 10.0, 2.0]
            }
        );
        let classes = vec!["a".to_string(), "b".to_string()];
        let merged = merge(
            Predictions::Classification {
                classes: classes.clone(),
                probabilities: array![[0.9, 0.1]],
            },
            Predictions::Classification {
                classes: classes.clone(),
                probabilities: array![[0.2, 0.8], [0.4, 0.6]],
            },
            &[true, false, true],
        )
        .unwrap();
        assert_eq!(
            merged,
            Predictions::Classification {
                classes,
                probabilities: array![[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]]
            }
        );
    }

    #[test]
    fn errors_name_the_request_instance() {
        let e = ServeError::Core(mlrig_core::Error::MissingField {
            instance: Some(1),
            field: "x".into(),
        });
        assert_eq!(
            renumber(e, &[0, 4]).to_string(),
            "instance 4, missing required field `x`"
        );
    }
}
