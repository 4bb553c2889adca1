//! JSON records ↔ Arrow batches: [`records_to_batch`], [`record_to_batch`]
//! and the inverse, [`batch_to_records`].

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder as _, BooleanBufferBuilder, NullBufferBuilder, StringBuilder,
};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Fields, SchemaRef};
use serde_json::Value;

use crate::{Error, Result};

/// Builds a batch with `schema` from JSON objects, one row per record.
///
/// JSON records → [`RecordBatch`]: how a serving request becomes the same kind
/// of table that training used, so the same transform code runs on it.
///
/// Rules per column type (the column is looked up by name in the schema):
///
/// | schema type | accepted JSON | null / absent |
/// |---|---|---|
/// | `Float64` | any number, or the string `"NaN"`, `"Infinity"` or `"-Infinity"` (JSON has no non-finite numbers; TF Serving's and pandas' readers take these literals) | null (nullable) or [`Error::MissingField`] |
/// | `Int64` | an integer, or a number with no fractional part in `i64` range | as above |
/// | `Boolean` | `true` / `false` | as above |
/// | `Utf8` | a string; a number or boolean is taken as its JSON text (CSV has no types, `3` and `"3"` are the same token) | as above |
///
/// Anything else is an [`Error::InvalidField`] naming the record index, the
/// field, what was expected and what was found. Fields the schema does not
/// have are rejected with [`Error::UnknownField`], as TF Serving does.
///
/// Errors come in this order: a record that is not an object (first such
/// record), then an unknown field (records in order, fields in the record's
/// order), then column by column in schema order, record by record, a
/// missing required field or a value of the wrong JSON type.
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
        .map(|(i, record)| record.as_object().ok_or_else(|| not_an_object(i, record)))
        .collect::<Result<Vec<_>>>()?;
    let rows = objects.len();
    let fields = schema.fields();
    // The present (non-null) value of every cell, column by column: each
    // record's fields are looked up once, in the record's own order.
    let lookup = FieldLookup::new(fields);
    let mut cells: Vec<Option<&Value>> = vec![None; fields.len() * rows];
    for (i, object) in objects.iter().enumerate() {
        for (key, value) in object.iter() {
            let present = (!value.is_null()).then_some(value);
            let known = lookup.for_each(key, |column| {
                if let Some(cell) = cells.get_mut(column * rows + i) {
                    *cell = present;
                }
            });
            if !known {
                return Err(unknown_field(i, key, schema));
            }
        }
    }
    let mut store = ColumnStore::new(fields, rows);
    for (f, field) in fields.iter().enumerate() {
        store.push(
            field,
            cells.get(f * rows..(f + 1) * rows).unwrap_or_default(),
        )?;
    }
    Ok(RecordBatch::try_new(Arc::clone(schema), store.finish()?)?)
}

/// Finds the fields of a schema named like a record's keys.
enum FieldLookup<'a> {
    /// A small schema is scanned: comparing names for equality is mostly
    /// comparing lengths, cheaper than sorting the names for each call.
    Scan(&'a Fields),
    /// `(name, field index)` sorted, for schemas wider than [`SCAN_FIELDS`].
    Sorted(Vec<(&'a str, usize)>),
}

/// Widest schema whose fields [`FieldLookup`] scans.
const SCAN_FIELDS: usize = 32;

impl<'a> FieldLookup<'a> {
    fn new(fields: &'a Fields) -> Self {
        if fields.len() <= SCAN_FIELDS {
            return FieldLookup::Scan(fields);
        }
        let mut by_name: Vec<(&str, usize)> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().as_str(), i))
            .collect();
        by_name.sort_unstable();
        FieldLookup::Sorted(by_name)
    }

    /// Calls `found(field index)` for every field named `key` (a schema
    /// may repeat a name); returns whether there was one.
    fn for_each(&self, key: &str, mut found: impl FnMut(usize)) -> bool {
        let mut any = false;
        match self {
            FieldLookup::Scan(fields) => {
                for (i, field) in fields.iter().enumerate() {
                    if field.name() == key {
                        found(i);
                        any = true;
                    }
                }
            }
            FieldLookup::Sorted(by_name) => {
                let start = by_name.partition_point(|(name, _)| *name < key);
                for &(name, i) in by_name.iter().skip(start) {
                    if name != key {
                        break;
                    }
                    found(i);
                    any = true;
                }
            }
        }
        any
    }
}

/// Where a column's values are in a [`ColumnStore`].
struct ColumnSlot {
    kind: ColumnKind,
    /// The column's first row in the store's array of that kind.
    start: usize,
}

#[derive(Clone, Copy)]
enum ColumnKind {
    Float64,
    Int64,
    Boolean,
    Utf8,
}

/// The values of all columns of a batch, one array per type rather than
/// a builder per column: the columns of a type are appended one after the
/// other and each becomes a zero-copy slice of its type's array, so a
/// one-row batch costs a few allocations, not several per column.
struct ColumnStore {
    rows: usize,
    slots: Vec<ColumnSlot>,
    floats: Vec<f64>,
    float_nulls: NullBufferBuilder,
    ints: Vec<i64>,
    int_nulls: NullBufferBuilder,
    bools: BooleanBufferBuilder,
    bool_nulls: NullBufferBuilder,
    strings: StringBuilder,
}

impl ColumnStore {
    /// An empty store sized for the columns of `fields` (unsupported types
    /// are reported by [`ColumnStore::push`], in column order).
    fn new(fields: &Fields, rows: usize) -> Self {
        let (mut floats, mut ints, mut bools, mut strings) = (0, 0, 0, 0);
        for field in fields.iter() {
            match field.data_type() {
                DataType::Float64 => floats += rows,
                DataType::Int64 => ints += rows,
                DataType::Boolean => bools += rows,
                DataType::Utf8 => strings += rows,
                _ => {}
            }
        }
        ColumnStore {
            rows,
            slots: Vec::with_capacity(fields.len()),
            floats: Vec::with_capacity(floats),
            float_nulls: NullBufferBuilder::new(floats),
            ints: Vec::with_capacity(ints),
            int_nulls: NullBufferBuilder::new(ints),
            bools: BooleanBufferBuilder::new(bools),
            bool_nulls: NullBufferBuilder::new(bools),
            strings: StringBuilder::with_capacity(strings, strings.saturating_mul(16)),
        }
    }

    /// Appends the column of `field` whose present values are `cells`
    /// (one per row; empty when there are no rows).
    fn push(&mut self, field: &Field, cells: &[Option<&Value>]) -> Result<()> {
        let name = field.name();
        let (kind, start) = match field.data_type() {
            DataType::Float64 => (ColumnKind::Float64, self.floats.len()),
            DataType::Int64 => (ColumnKind::Int64, self.ints.len()),
            DataType::Boolean => (ColumnKind::Boolean, self.bools.len()),
            DataType::Utf8 => (ColumnKind::Utf8, self.strings.len()),
            other => return Err(unsupported_type(name, other)),
        };
        let invalid = |i: usize, expected: &str, v: &Value| invalid_field(i, name, expected, v);
        for (i, cell) in cells.iter().enumerate() {
            let Some(v) = *cell else {
                if !field.is_nullable() {
                    return Err(missing_field(i, name));
                }
                match kind {
                    ColumnKind::Float64 => {
                        self.floats.push(0.0);
                        self.float_nulls.append_null();
                    }
                    ColumnKind::Int64 => {
                        self.ints.push(0);
                        self.int_nulls.append_null();
                    }
                    ColumnKind::Boolean => {
                        self.bools.append(false);
                        self.bool_nulls.append_null();
                    }
                    ColumnKind::Utf8 => self.strings.append_null(),
                }
                continue;
            };
            match kind {
                ColumnKind::Float64 => {
                    self.floats
                        .push(as_float(v).ok_or_else(|| invalid(i, "a number", v))?);
                    self.float_nulls.append_non_null();
                }
                ColumnKind::Int64 => {
                    self.ints
                        .push(as_integer(v).ok_or_else(|| invalid(i, "an integer", v))?);
                    self.int_nulls.append_non_null();
                }
                ColumnKind::Boolean => {
                    self.bools
                        .append(v.as_bool().ok_or_else(|| invalid(i, "true or false", v))?);
                    self.bool_nulls.append_non_null();
                }
                ColumnKind::Utf8 => {
                    let text = match v {
                        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                        // CSV has no types: `3` and `"3"` are the same token.
                        Value::Number(_) | Value::Bool(_) => std::borrow::Cow::Owned(v.to_string()),
                        _ => return Err(invalid(i, "a string", v)),
                    };
                    // Utf8 offsets are `i32`: past 2 GiB the builder would panic.
                    let total = self.strings.values_slice().len().saturating_add(text.len());
                    if i32::try_from(total).is_err() {
                        return Err(invalid(
                            i,
                            "at most 2 GiB of text in the string fields of one batch",
                            v,
                        ));
                    }
                    self.strings.append_value(text);
                }
            }
        }
        self.slots.push(ColumnSlot { kind, start });
        Ok(())
    }

    /// The columns, in the order pushed.
    fn finish(mut self) -> Result<Vec<ArrayRef>> {
        let rows = self.rows;
        let floats = Float64Array::try_new(self.floats.into(), self.float_nulls.finish())?;
        let ints = Int64Array::try_new(self.ints.into(), self.int_nulls.finish())?;
        let bools = BooleanArray::new(self.bools.finish(), self.bool_nulls.finish());
        let strings = self.strings.finish();
        Ok(self
            .slots
            .iter()
            .map(|slot| -> ArrayRef {
                match slot.kind {
                    ColumnKind::Float64 => Arc::new(floats.slice(slot.start, rows)),
                    ColumnKind::Int64 => Arc::new(ints.slice(slot.start, rows)),
                    ColumnKind::Boolean => Arc::new(bools.slice(slot.start, rows)),
                    ColumnKind::Utf8 => Arc::new(strings.slice(slot.start, rows)),
                }
            })
            .collect())
    }
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

/// The rows of `batch` as JSON objects, one per row: the records a client
/// would send to a server for those rows (the inverse of
/// [`records_to_batch`] for its four column types). A null is JSON `null`;
/// a non-finite float, which JSON cannot hold, is `null` too; a column of
/// another type is an [`Error::InvalidField`].
///
/// ```
/// use mlrig_core::{batch_to_records, records_to_batch};
/// use mlrig_core::arrow_schema::{DataType, Field, Schema};
/// use std::sync::Arc;
/// let schema = Arc::new(Schema::new(vec![
///     Field::new("age", DataType::Int64, true),
///     Field::new("city", DataType::Utf8, true),
/// ]));
/// let records = serde_json::json!([{"age": 39, "city": "Oslo"}, {"age": null, "city": null}]);
/// let batch = records_to_batch(records.as_array().unwrap(), &schema)?;
/// assert_eq!(batch_to_records(&batch)?, records.as_array().unwrap().clone());
/// # Ok::<(), mlrig_core::Error>(())
/// ```
pub fn batch_to_records(batch: &RecordBatch) -> Result<Vec<Value>> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    let schema = batch.schema();
    let mut records = vec![serde_json::Map::new(); batch.num_rows()];
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let value = |row: usize| -> Result<Value> {
            if column.is_null(row) {
                return Ok(Value::Null);
            }
            Ok(match field.data_type() {
                DataType::Int64 => Value::from(column.as_primitive::<Int64Type>().value(row)),
                DataType::Float64 => {
                    let v = column.as_primitive::<Float64Type>().value(row);
                    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
                }
                DataType::Boolean => Value::from(column.as_boolean().value(row)),
                DataType::Utf8 => Value::from(column.as_string::<i32>().value(row)),
                other => {
                    return Err(Error::InvalidField {
                        instance: Some(row),
                        field: field.name().clone(),
                        expected: "an Int64, Float64, Boolean or Utf8 column".into(),
                        found: other.to_string(),
                    });
                }
            })
        };
        for (row, record) in records.iter_mut().enumerate() {
            record.insert(field.name().clone(), value(row)?);
        }
    }
    Ok(records.into_iter().map(Value::Object).collect())
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

/// Record `instance` is not a JSON object.
fn not_an_object(instance: usize, record: &Value) -> Error {
    Error::InvalidField {
        instance: Some(instance),
        field: "(record)".into(),
        expected: "a JSON object of field names to values".into(),
        found: describe(record),
    }
}

/// Record `instance` has a field `key` that `schema` does not.
fn unknown_field(instance: usize, key: &str, schema: &SchemaRef) -> Error {
    Error::UnknownField {
        instance: Some(instance),
        field: key.to_string(),
        expected: column_list(schema),
    }
}

/// Record `instance` lacks the non-nullable field `field`.
fn missing_field(instance: usize, field: &str) -> Error {
    Error::MissingField {
        instance: Some(instance),
        field: field.to_string(),
    }
}

/// The value `found` of `field` in record `instance` is not `expected`.
fn invalid_field(instance: usize, field: &str, expected: &str, found: &Value) -> Error {
    Error::InvalidField {
        instance: Some(instance),
        field: field.to_string(),
        expected: expected.to_string(),
        found: describe(found),
    }
}

/// Schema field `field` has a type JSON records cannot fill.
fn unsupported_type(field: &str, data_type: &DataType) -> Error {
    Error::InvalidParameter {
        name: format!("schema field `{field}`"),
        reason: format!(
            "type {data_type} is not supported for JSON records (use Float64, Int64, Boolean or Utf8)"
        ),
    }
}

pub(crate) fn as_integer(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f)).then_some(f as i64)
}

/// A float value: a JSON number, or one of the non-finite literals as a string.
pub(crate) fn as_float(v: &Value) -> Option<f64> {
    match v {
        Value::String(text) => match text.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        other => other.as_f64(),
    }
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
    fn float_fields_read_non_finite_literals() {
        let records = [
            json!({"x": "NaN", "required": "Infinity"}),
            json!({"x": "-Infinity", "required": 0, "s": "NaN"}),
        ];
        let batch = records_to_batch(&records, &schema()).unwrap();
        let x = batch.column(0).as_primitive::<Float64Type>();
        assert!(x.value(0).is_nan());
        assert_eq!(x.value(1), f64::NEG_INFINITY);
        let required = batch.column(4).as_primitive::<Float64Type>();
        assert_eq!(required.value(0), f64::INFINITY);
        assert_eq!(batch.column(3).as_string::<i32>().value(1), "NaN");
        let err = records_to_batch(&[json!({"required": "nan"})], &schema()).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a number, found string \"nan\""),
            "{err}"
        );
        let err = records_to_batch(&[json!({"required": 1, "n": "NaN"})], &schema()).unwrap_err();
        assert!(err.to_string().contains("expected an integer"), "{err}");
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

    /// The column-at-a-time implementation this module had before
    /// [`ColumnStore`] (an array per column, a map lookup per cell): the
    /// oracle for values, nulls and error precedence.
    fn reference_records_to_batch(records: &[Value], schema: &SchemaRef) -> Result<RecordBatch> {
        use arrow_array::StringArray;
        let objects = records
            .iter()
            .enumerate()
            .map(|(i, record)| record.as_object().ok_or_else(|| not_an_object(i, record)))
            .collect::<Result<Vec<_>>>()?;
        for (i, object) in objects.iter().enumerate() {
            for key in object.keys() {
                if schema.field_with_name(key).is_err() {
                    return Err(unknown_field(i, key, schema));
                }
            }
        }
        let mut columns: Vec<ArrayRef> = Vec::new();
        for field in schema.fields() {
            let name = field.name();
            let column = (&objects[..], &**field);
            columns.push(match field.data_type() {
                DataType::Float64 => Arc::new(Float64Array::from(reference_column(
                    column,
                    "a number",
                    Value::as_f64,
                )?)),
                DataType::Int64 => Arc::new(Int64Array::from(reference_column(
                    column,
                    "an integer",
                    as_integer,
                )?)),
                DataType::Boolean => Arc::new(BooleanArray::from(reference_column(
                    column,
                    "true or false",
                    Value::as_bool,
                )?)),
                DataType::Utf8 => Arc::new(StringArray::from(reference_column(
                    column,
                    "a string",
                    |v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
                        _ => None,
                    },
                )?)),
                other => return Err(unsupported_type(name, other)),
            });
        }
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }

    /// One column of the reference: the cells in record order, `None` for an
    /// absent or null field (an error when it is not nullable), else the
    /// `convert`ed value (`None`: not `expected`).
    fn reference_column<T>(
        (objects, field): (&[&serde_json::Map<String, Value>], &Field),
        expected: &str,
        convert: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<Option<T>>> {
        objects
            .iter()
            .enumerate()
            .map(
                |(i, o)| match o.get(field.name()).filter(|v| !v.is_null()) {
                    None if !field.is_nullable() => Err(missing_field(i, field.name())),
                    None => Ok(None),
                    Some(v) => convert(v)
                        .map(Some)
                        .ok_or_else(|| invalid_field(i, field.name(), expected, v)),
                },
            )
            .collect()
    }

    /// Same batch (values, nulls, types) or the same error, and every
    /// column sliced consistently (offsets, null counts).
    fn assert_same(records: &[Value], schema: &SchemaRef) {
        let expected = reference_records_to_batch(records, schema);
        let got = records_to_batch(records, schema);
        match (&expected, &got) {
            (Ok(expected), Ok(got)) => {
                assert_eq!(got, expected);
                for (g, e) in got.columns().iter().zip(expected.columns()) {
                    assert_eq!(g.len(), e.len());
                    assert_eq!(g.null_count(), e.null_count());
                    assert_eq!(g.to_data(), e.to_data());
                }
            }
            (Err(expected), Err(got)) => {
                assert_eq!(got.to_string(), expected.to_string());
                assert_eq!(got.is_invalid_input(), expected.is_invalid_input());
                assert_eq!(
                    std::mem::discriminant(got),
                    std::mem::discriminant(expected)
                );
            }
            _ => panic!("{records:?}: expected {expected:?}, got {got:?}"),
        }
    }

    #[test]
    fn columns_of_one_type_share_a_buffer_but_not_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("i", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
            Field::new("j", DataType::Int64, true),
            Field::new("p", DataType::Boolean, true),
            Field::new("q", DataType::Boolean, true),
        ]));
        let records = [
            json!({"a": "x", "b": "yy", "i": 1, "p": true}),
            json!({"a": null, "b": 3, "j": 2, "q": false}),
            json!({"a": "é", "i": null, "j": 4, "p": false, "q": true}),
        ];
        let batch = records_to_batch(&records, &schema).unwrap();
        let text =
            |c: usize| -> Vec<Option<&str>> { batch.column(c).as_string::<i32>().iter().collect() };
        assert_eq!(text(0), [Some("x"), None, Some("é")]);
        assert_eq!(text(2), [Some("yy"), Some("3"), None]);
        let ints = |c: usize| -> Vec<Option<i64>> {
            batch.column(c).as_primitive::<Int64Type>().iter().collect()
        };
        assert_eq!(ints(1), [Some(1), None, None]);
        assert_eq!(ints(3), [None, Some(2), Some(4)]);
        let bools =
            |c: usize| -> Vec<Option<bool>> { batch.column(c).as_boolean().iter().collect() };
        assert_eq!(bools(4), [Some(true), None, Some(false)]);
        assert_eq!(bools(5), [None, Some(false), Some(true)]);
        assert_same(&records, &schema);
        assert_same(&[], &schema);
        assert_same(&records[..1], &schema);
    }

    #[test]
    fn repeated_names_and_wide_schemas_match_the_reference() {
        // A repeated name: both fields get the value, as `Map::get` gave them.
        let repeated = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Float64, false),
        ]));
        assert_same(&[json!({"a": 7, "b": 1.5})], &repeated);
        assert_same(&[json!({"a": 7, "c": 1}), json!({"b": 1})], &repeated);
        assert_same(&[json!({"a": 7}), json!({"b": "x"})], &repeated);

        // Wider than `SCAN_FIELDS`: the sorted lookup.
        let wide = Arc::new(Schema::new(
            (0..SCAN_FIELDS + 8)
                .map(|i| {
                    Field::new(
                        format!("f{}", i % (SCAN_FIELDS + 4)),
                        DataType::Int64,
                        i != 3,
                    )
                })
                .collect::<Vec<_>>(),
        ));
        let full: serde_json::Map<String, Value> = (0..SCAN_FIELDS + 4)
            .map(|i| (format!("f{i}"), json!(i)))
            .collect();
        assert_same(&[Value::Object(full.clone())], &wide);
        assert_same(
            &[json!({"f3": 1, "f10": null}), json!({"f3": 2, "g": 1})],
            &wide,
        );
        assert_same(&[json!({"f3": 1}), json!({"f1": 2})], &wide);
        assert_same(&[Value::Object(full), json!({"f35": "x", "f3": 1})], &wide);

        let unsupported = Arc::new(Schema::new(vec![
            Field::new("ok", DataType::Int64, false),
            Field::new("d", DataType::Date32, true),
        ]));
        assert_same(&[json!({"d": 1, "ok": 1})], &unsupported);
        assert_same(&[json!({"d": 1})], &unsupported);
        assert_same(&[], &unsupported);
    }

    fn data_type() -> impl Strategy<Value = DataType> {
        prop_oneof![
            15 => Just(DataType::Float64),
            15 => Just(DataType::Int64),
            15 => Just(DataType::Boolean),
            15 => Just(DataType::Utf8),
            1 => Just(DataType::Int32),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e3f64..1e3).prop_map(Value::from),
            prop_oneof![Just(3.0), Just(1e19), Just(-0.0), Just(2.5)].prop_map(Value::from),
            "\\PC{0,6}".prop_map(Value::from),
            Just(json!([1])),
            Just(json!({"k": 1})),
        ]
    }

    /// A value `data_type` accepts, from `seed`.
    fn conforming(data_type: &DataType, seed: u16) -> Value {
        match (data_type, seed % 3) {
            (_, 0) => Value::Null,
            (DataType::Float64, _) => json!(f64::from(seed) / 7.0),
            (DataType::Boolean, _) => json!(seed.is_multiple_of(2)),
            (DataType::Utf8, 1) => json!(format!("s{seed}")),
            _ => json!(seed),
        }
    }

    proptest! {
        #[test]
        fn batch_matches_the_reference(
            fields in prop_oneof![4 => 0..10usize, 1 => 30..40usize].prop_flat_map(|n| {
                proptest::collection::vec(("[a-e]{1,2}", data_type(), prop::bool::weighted(0.97)), n)
            }),
            records in proptest::collection::vec(
                prop_oneof![
                    8 => proptest::collection::vec(
                        (any::<prop::sample::Index>(), json_value(), 0..40u8, any::<u16>()),
                        0..8,
                    )
                    .prop_map(Some),
                    1 => Just(None),
                ],
                0..6,
            ),
            not_an_object in json_value(),
        ) {
            let schema = Arc::new(Schema::new(
                fields
                    .iter()
                    .map(|(name, data_type, nullable)| Field::new(name, data_type.clone(), *nullable))
                    .collect::<Vec<_>>(),
            ));
            // Keys are mostly the schema's names (so most batches build),
            // sometimes an unknown one.
            let records: Vec<Value> = records
                .into_iter()
                .map(|record| match record {
                    None => not_an_object.clone(),
                    Some(entries) => Value::Object(
                        entries
                            .into_iter()
                            .map(|(key, value, kind, seed)| {
                                // 1 in 40 unknown, 2 in 40 of any JSON type, the rest valid.
                                match (key.index(fields.len().max(1)), kind) {
                                    (i, 2..) if i < fields.len() => {
                                        (fields[i].0.clone(), conforming(&fields[i].1, seed))
                                    }
                                    (i, 1) if i < fields.len() => (fields[i].0.clone(), value),
                                    _ => ("zz".to_string(), value),
                                }
                            })
                            .collect(),
                    ),
                })
                .collect();
            assert_same(&records, &schema);
            // Rows back to JSON and again to a batch: the same batch (names
            // must be unique for a JSON object to hold every column).
            let unique = fields.iter().map(|f| &f.0).collect::<std::collections::BTreeSet<_>>().len() == fields.len();
            if let (true, Ok(batch)) = (unique, records_to_batch(&records, &schema)) {
                let back = batch_to_records(&batch).unwrap();
                prop_assert_eq!(records_to_batch(&back, &schema).unwrap(), batch);
            }
            for record in &records {
                let one = record_to_batch(record, &schema);
                let alone = reference_records_to_batch(std::slice::from_ref(record), &schema)
                    .map_err(without_instance);
                prop_assert_eq!(one.map_err(|e| e.to_string()), alone.map_err(|e| e.to_string()));
            }
        }
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
