//! JSON records → [`RecordBatch`]: how a serving request becomes the same kind
//! of table that training used, so the same transform code runs on it.
//!
//! Rules per column type (the column is looked up by name in the schema):
//!
//! | schema type | accepted JSON | null / absent |
//! |---|---|---|
//! | `Float64` | any number | null (nullable) or [`Error::MissingField`] |
//! | `Int64` | an integer, or a number with no fractional part in `i64` range | as above |
//! | `Boolean` | `true` / `false` | as above |
//! | `Utf8` | a string; a number or boolean is taken as its JSON text (CSV has no types, `3` and `"3"` are the same token) | as above |
//!
//! Anything else is an [`Error::InvalidField`] naming the record index, the
//! field, what was expected and what was found. Fields the schema does not
//! have are rejected with [`Error::UnknownField`], as TF Serving does.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use serde_json::Value;

use crate::{Error, Result};

/// Builds a batch with `schema` from JSON objects, one row per record.
///
/// ```
/// use mlrig_core::records_to_batch;
/// use mlrig_core::arrow_schema::{DataType, Field, Schema};
/// use std::sync::Arc;
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("age", DataType::Int64, true),
///     Field::new("city", DataType::Utf8, true),
/// ]));
/// let records = serde_json::json!([{"age": 39, "city": "Oslo"}, {"age": null}]);
/// let batch = records_to_batch(records.as_array().unwrap(), &schema).unwrap();
/// assert_eq!(batch.num_rows(), 2);
///
/// let bad = serde_json::json!([{"age": "old"}]);
/// let err = records_to_batch(bad.as_array().unwrap(), &schema).unwrap_err();
/// assert_eq!(err.to_string(), "instance 0, field `age`: expected an integer, found string \"old\"");
/// ```
pub fn records_to_batch(records: &[Value], schema: &SchemaRef) -> Result<RecordBatch> {
    let objects = records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            record.as_object().ok_or_else(|| Error::InvalidField {
                instance: Some(i),
                field: "(record)".into(),
                expected: "a JSON object of field names to values".into(),
                found: describe(record),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for (i, object) in objects.iter().enumerate() {
        for key in object.keys() {
            if schema.field_with_name(key).is_err() {
                return Err(Error::UnknownField {
                    instance: Some(i),
                    field: key.clone(),
                    expected: column_list(schema),
                });
            }
        }
    }
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let values = objects.iter().enumerate().map(|(i, o)| {
                let value = o.get(field.name()).filter(|v| !v.is_null());
                if value.is_none() && !field.is_nullable() {
                    return Err(Error::MissingField {
                        instance: Some(i),
                        field: field.name().clone(),
                    });
                }
                Ok((i, value))
            });
            column(field.name(), field.data_type(), objects.len(), values)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Builds a one-row batch from a single JSON object (errors carry no instance index).
///
/// ```
/// use mlrig_core::record_to_batch;
/// use mlrig_core::arrow_schema::{DataType, Field, Schema};
/// use std::sync::Arc;
/// let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
/// let batch = record_to_batch(&serde_json::json!({"x": 1.5}), &schema).unwrap();
/// assert_eq!(batch.num_rows(), 1);
/// let err = record_to_batch(&serde_json::json!({"x": true}), &schema).unwrap_err();
/// assert_eq!(err.to_string(), "field `x`: expected a number, found boolean true");
/// ```
pub fn record_to_batch(record: &Value, schema: &SchemaRef) -> Result<RecordBatch> {
    records_to_batch(std::slice::from_ref(record), schema).map_err(without_instance)
}

fn without_instance(error: Error) -> Error {
    match error {
        Error::InvalidField {
            field,
            expected,
            found,
            ..
        } => Error::InvalidField {
            instance: None,
            field,
            expected,
            found,
        },
        Error::MissingField { field, .. } => Error::MissingField {
            instance: None,
            field,
        },
        Error::UnknownField {
            field, expected, ..
        } => Error::UnknownField {
            instance: None,
            field,
            expected,
        },
        other => other,
    }
}

fn column<'a>(
    name: &str,
    data_type: &DataType,
    rows: usize,
    values: impl Iterator<Item = Result<(usize, Option<&'a Value>)>>,
) -> Result<ArrayRef> {
    let invalid = |i: usize, expected: &str, v: &Value| Error::InvalidField {
        instance: Some(i),
        field: name.to_string(),
        expected: expected.to_string(),
        found: describe(v),
    };
    Ok(match data_type {
        DataType::Float64 => {
            let mut b = Float64Builder::with_capacity(rows);
            for item in values {
                match item? {
                    (_, None) => b.append_null(),
                    (i, Some(v)) => {
                        b.append_value(v.as_f64().ok_or_else(|| invalid(i, "a number", v))?)
                    }
                }
            }
            Arc::new(b.finish())
        }
        DataType::Int64 => {
            let mut b = Int64Builder::with_capacity(rows);
            for item in values {
                match item? {
                    (_, None) => b.append_null(),
                    (i, Some(v)) => {
                        b.append_value(as_integer(v).ok_or_else(|| invalid(i, "an integer", v))?)
                    }
                }
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::with_capacity(rows);
            for item in values {
                match item? {
                    (_, None) => b.append_null(),
                    (i, Some(v)) => {
                        b.append_value(v.as_bool().ok_or_else(|| invalid(i, "true or false", v))?)
                    }
                }
            }
            Arc::new(b.finish())
        }
        DataType::Utf8 => {
            let mut b = StringBuilder::with_capacity(rows, rows * 16);
            for item in values {
                match item? {
                    (_, None) => b.append_null(),
                    (_, Some(Value::String(s))) => b.append_value(s),
                    (_, Some(v @ (Value::Number(_) | Value::Bool(_)))) => {
                        b.append_value(v.to_string())
                    }
                    (i, Some(v)) => return Err(invalid(i, "a string", v)),
                }
            }
            Arc::new(b.finish())
        }
        other => {
            return Err(Error::InvalidParameter {
                name: format!("schema field `{name}`"),
                reason: format!(
                    "type {other} is not supported for JSON records (use Float64, Int64, Boolean or Utf8)"
                ),
            });
        }
    })
}

fn as_integer(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    (f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63)).then_some(f as i64)
}

/// The column names of a schema, comma separated, for error messages that
/// say what is available.
///
/// ```
/// use mlrig_core::arrow_schema::{DataType, Field, Schema};
/// let schema = Schema::new(vec![Field::new("a", DataType::Int64, true), Field::new("b", DataType::Utf8, true)]);
/// assert_eq!(mlrig_core::column_list(&schema), "a, b");
/// ```
pub fn column_list(schema: &arrow_schema::Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A short description of a JSON value for error messages.
///
/// ```
/// assert_eq!(mlrig_core::describe_json(&serde_json::json!([1])), "an array");
/// ```
pub fn describe_json(v: &Value) -> String {
    describe(v)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!(
                "string {:?}… ({} characters)",
                s.chars().take(40).collect::<String>(),
                s.chars().count()
            )
        }
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_schema::{Field, Schema};
    use proptest::prelude::*;
    use serde_json::json;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("required", DataType::Float64, false),
        ]))
    }

    #[test]
    fn converts_each_type_and_reports_errors() {
        let batch = records_to_batch(
            &[
                json!({"x": 1, "n": 3.0, "flag": true, "s": 7, "required": 0.5}),
                json!({"required": 1}),
            ],
            &schema(),
        )
        .unwrap();
        assert_eq!(batch.column(0).as_primitive::<Float64Type>().value(0), 1.0);
        assert_eq!(batch.column(1).as_primitive::<Int64Type>().value(0), 3);
        assert_eq!(batch.column(3).as_string::<i32>().value(0), "7");
        assert!(batch.column(0).is_null(1));

        let err = records_to_batch(&[json!({"required": 1}), json!({})], &schema()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "instance 1, missing required field `required`"
        );
        let err = records_to_batch(&[json!({"required": 1, "bogus": 1})], &schema()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("instance 0, unknown field `bogus`; expected one of: x, n")
        );
        let err = records_to_batch(&[json!({"required": 1, "n": 1.5})], &schema()).unwrap_err();
        assert!(err.is_invalid_input());
        let err = records_to_batch(&[json!([1, 2])], &schema()).unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"));
        let err = records_to_batch(&[json!({"required": 1, "n": 1e300})], &schema()).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected an integer, found number 1e"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(text in "\\PC{0,40}", num in any::<f64>(), key in "[a-z]{1,3}") {
            for v in [json!(text), json!(num), json!({key.clone(): text.clone()}), json!({"x": {key.clone(): 1}}), json!({"n": num, "required": num})] {
                let _ = records_to_batch(std::slice::from_ref(&v), &schema());
            }
        }
    }
}
