//! Reading Arrow columns as the four value kinds mlrig validates: integers,
//! floats, booleans and strings.
//!
//! The canonical Arrow types are `Int64`, `Float64`, `Boolean` and `Utf8`
//! (what `mlrig-ingest` produces); narrower integers, `Float32`, `LargeUtf8`
//! and `Utf8View` are widened to them so batches from other sources work too.
//! Any other type is [`ColumnKind::Other`]: only its presence is summarised.

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type,
};
use mlrig_core::arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray,
};
use mlrig_core::arrow_schema::DataType;
use serde::{Deserialize, Serialize};

/// The value kind of an Arrow column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ColumnKind {
    /// Signed integers and `UInt8/16/32`, read as `i64`.
    Int,
    /// `Float64` and `Float32`, read as `f64`.
    Float,
    /// `Boolean`.
    Bool,
    /// `Utf8`, `LargeUtf8`, `Utf8View`.
    Str,
    /// Anything else: only nulls are counted.
    Other,
}

impl ColumnKind {
    /// The kind of an Arrow data type.
    pub(crate) fn of(data_type: &DataType) -> Self {
        match data_type {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => ColumnKind::Int,
            DataType::Float32 | DataType::Float64 => ColumnKind::Float,
            DataType::Boolean => ColumnKind::Bool,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnKind::Str,
            _ => ColumnKind::Other,
        }
    }
}

/// A column's values in canonical form.
pub(crate) enum ColumnValues {
    /// Integers.
    Int(Int64Array),
    /// Floats.
    Float(Float64Array),
    /// Booleans.
    Bool(BooleanArray),
    /// Strings.
    Str(StringArray),
    /// A type mlrig does not read (only its nulls count).
    Other,
}

/// Reads `array` in canonical form (zero-copy for the canonical types).
pub(crate) fn column_values(array: &ArrayRef) -> ColumnValues {
    match array.data_type() {
        DataType::Int64 => ColumnValues::Int(array.as_primitive::<Int64Type>().clone()),
        DataType::Int32 => ColumnValues::Int(widen_int(array.as_primitive::<Int32Type>().iter())),
        DataType::Int16 => ColumnValues::Int(widen_int(array.as_primitive::<Int16Type>().iter())),
        DataType::Int8 => ColumnValues::Int(widen_int(array.as_primitive::<Int8Type>().iter())),
        DataType::UInt32 => ColumnValues::Int(widen_int(array.as_primitive::<UInt32Type>().iter())),
        DataType::UInt16 => ColumnValues::Int(widen_int(array.as_primitive::<UInt16Type>().iter())),
        DataType::UInt8 => ColumnValues::Int(widen_int(array.as_primitive::<UInt8Type>().iter())),
        DataType::Float64 => ColumnValues::Float(array.as_primitive::<Float64Type>().clone()),
        DataType::Float32 => ColumnValues::Float(
            array
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        DataType::Boolean => ColumnValues::Bool(array.as_boolean().clone()),
        DataType::Utf8 => ColumnValues::Str(array.as_string::<i32>().clone()),
        DataType::LargeUtf8 => ColumnValues::Str(array.as_string::<i64>().iter().collect()),
        DataType::Utf8View => ColumnValues::Str(array.as_string_view().iter().collect()),
        _ => ColumnValues::Other,
    }
}

fn widen_int<T: Into<i64>>(values: impl Iterator<Item = Option<T>>) -> Int64Array {
    values.map(|v| v.map(Into::into)).collect()
}
