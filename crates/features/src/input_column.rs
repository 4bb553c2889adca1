//! Reading input columns of a record batch by name: the one place where Arrow
//! values become feature values, shared by fitting and transforming (and so by
//! training batches and one-row serving batches alike).
//!
//! Numeric columns are `Int64` (cast to `f64`) or `Float64`; a null or NaN is
//! missing and ±∞ is an error. Categorical columns are `Utf8`, `Boolean` or
//! `Int64`; a null is missing.

use std::cmp::Ordering;
use std::sync::Arc;

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{Float64Type, Int64Type};
use mlrig_core::arrow_array::{
    Array, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use mlrig_core::arrow_schema::{DataType, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::FeaturesError;
use crate::spec::column_list;

/// The Arrow types a feature pipeline reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ColumnType {
    Int64,
    Float64,
    Boolean,
    Utf8,
}

impl ColumnType {
    pub(crate) fn from_arrow(data_type: &DataType) -> Option<Self> {
        match data_type {
            DataType::Int64 => Some(ColumnType::Int64),
            DataType::Float64 => Some(ColumnType::Float64),
            DataType::Boolean => Some(ColumnType::Boolean),
            DataType::Utf8 => Some(ColumnType::Utf8),
            _ => None,
        }
    }

    pub(crate) fn to_arrow(self) -> DataType {
        match self {
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Utf8 => DataType::Utf8,
        }
    }

    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int64 | ColumnType::Float64)
    }

    pub(crate) fn is_categorical(self) -> bool {
        !matches!(self, ColumnType::Float64)
    }
}

/// What numeric transforms accept, for error messages.
pub(crate) const NUMERIC_TYPES: &str = "Int64 or Float64";
/// What one-hot encoding accepts, for error messages.
pub(crate) const CATEGORICAL_TYPES: &str = "Utf8, Boolean or Int64";

fn find<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, FeaturesError> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| missing_column(batch, name))
}

fn missing_column(batch: &RecordBatch, name: &str) -> FeaturesError {
    FeaturesError::MissingColumn {
        column: name.to_string(),
        available: column_list(batch.schema_ref()),
    }
}

/// The arrays of a batch for the inputs of a fitted pipeline, looked up by
/// name once per batch (input `i` is field `i` of the pipeline's input
/// schema). A batch built with that very schema (a serving record) needs no
/// lookup at all.
pub(crate) struct BatchInputs<'a> {
    batch: &'a RecordBatch,
    /// `None`: the batch has no column of that name (an error when read).
    arrays: Vec<Option<&'a dyn Array>>,
}

impl<'a> BatchInputs<'a> {
    /// Resolves the fields of `inputs` in `batch`.
    pub(crate) fn resolve(batch: &'a RecordBatch, inputs: &SchemaRef) -> Self {
        let arrays = if Arc::ptr_eq(batch.schema_ref(), inputs) {
            batch.columns().iter().map(|c| Some(c.as_ref())).collect()
        } else {
            inputs
                .fields()
                .iter()
                .map(|field| batch.column_by_name(field.name()).map(|c| c.as_ref()))
                .collect()
        };
        BatchInputs { batch, arrays }
    }

    /// The array of input `index`, named `name`.
    pub(crate) fn get(&self, index: usize, name: &str) -> Result<&'a dyn Array, FeaturesError> {
        self.arrays
            .get(index)
            .copied()
            .flatten()
            .ok_or_else(|| missing_column(self.batch, name))
    }

    /// Number of rows of the batch.
    pub(crate) fn rows(&self) -> usize {
        self.batch.num_rows()
    }
}

fn wrong_type(name: &str, expected: &str, found: &DataType) -> FeaturesError {
    FeaturesError::WrongColumnType {
        column: name.to_string(),
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// A numeric input column.
pub(crate) enum NumericColumn<'a> {
    Int64(&'a Int64Array),
    Float64(&'a Float64Array),
}

impl<'a> NumericColumn<'a> {
    /// Finds `name` in `batch`; it must be `Int64` or `Float64`.
    pub(crate) fn read(batch: &'a RecordBatch, name: &str) -> Result<Self, FeaturesError> {
        Self::from_array(find(batch, name)?, name)
    }

    /// Reads `array`, the column `name`; it must be `Int64` or `Float64`.
    pub(crate) fn from_array(array: &'a dyn Array, name: &str) -> Result<Self, FeaturesError> {
        match array.data_type() {
            DataType::Int64 => Ok(NumericColumn::Int64(array.as_primitive::<Int64Type>())),
            DataType::Float64 => Ok(NumericColumn::Float64(array.as_primitive::<Float64Type>())),
            other => Err(wrong_type(name, NUMERIC_TYPES, other)),
        }
    }

    /// Calls `f(row, value)` for every row in order; `value` is `None` for a
    /// null or NaN. Stops at the first ±∞ (an error naming `name` and the row)
    /// or the first error of `f`.
    pub(crate) fn try_for_each(
        &self,
        name: &str,
        mut f: impl FnMut(usize, Option<f64>) -> Result<(), FeaturesError>,
    ) -> Result<(), FeaturesError> {
        match self {
            NumericColumn::Int64(array) => {
                for (row, value) in array.iter().enumerate() {
                    f(row, value.map(|v| v as f64))?;
                }
            }
            NumericColumn::Float64(array) => {
                for (row, value) in array.iter().enumerate() {
                    let value = match value {
                        Some(v) if v.is_infinite() => {
                            return Err(FeaturesError::NonFiniteValue {
                                column: name.to_string(),
                                row,
                                value: v,
                            });
                        }
                        Some(v) if v.is_nan() => None,
                        other => other,
                    };
                    f(row, value)?;
                }
            }
        }
        Ok(())
    }
}

/// A category value: what one-hot encoding and most-frequent imputation of a
/// categorical column count. Serialized untagged (`true`, `3`, `"Private"`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Category {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl Category {
    /// Orders like `Ord` on the owned value (variants first, then values).
    pub(crate) fn cmp_value(&self, value: CategoryValue<'_>) -> Ordering {
        match (self, value) {
            (Category::Bool(a), CategoryValue::Bool(b)) => a.cmp(&b),
            (Category::Int(a), CategoryValue::Int(b)) => a.cmp(&b),
            (Category::Text(a), CategoryValue::Text(b)) => a.as_str().cmp(b),
            (a, b) => a.rank().cmp(&b.to_owned().rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Category::Bool(_) => 0,
            Category::Int(_) => 1,
            Category::Text(_) => 2,
        }
    }

    /// The borrowed form of this category.
    pub(crate) fn as_value(&self) -> CategoryValue<'_> {
        match self {
            Category::Bool(b) => CategoryValue::Bool(*b),
            Category::Int(i) => CategoryValue::Int(*i),
            Category::Text(s) => CategoryValue::Text(s),
        }
    }

    /// The type of column this category comes from.
    pub(crate) fn column_type(&self) -> ColumnType {
        match self {
            Category::Bool(_) => ColumnType::Boolean,
            Category::Int(_) => ColumnType::Int64,
            Category::Text(_) => ColumnType::Utf8,
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Category::Bool(b) => write!(f, "{b}"),
            Category::Int(i) => write!(f, "{i}"),
            Category::Text(s) => f.write_str(s),
        }
    }
}

/// A borrowed [`Category`], read from a batch without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CategoryValue<'a> {
    Bool(bool),
    Int(i64),
    Text(&'a str),
}

impl CategoryValue<'_> {
    pub(crate) fn to_owned(self) -> Category {
        match self {
            CategoryValue::Bool(b) => Category::Bool(b),
            CategoryValue::Int(i) => Category::Int(i),
            CategoryValue::Text(s) => Category::Text(s.to_string()),
        }
    }
}

/// A categorical input column.
pub(crate) enum CategoricalColumn<'a> {
    Boolean(&'a BooleanArray),
    Int64(&'a Int64Array),
    Utf8(&'a StringArray),
}

impl<'a> CategoricalColumn<'a> {
    /// Finds `name` in `batch`; it must have type `expected`.
    pub(crate) fn read(
        batch: &'a RecordBatch,
        name: &str,
        expected: ColumnType,
    ) -> Result<Self, FeaturesError> {
        Self::from_array(find(batch, name)?, name, expected)
    }

    /// Reads `array`, the column `name`; it must have type `expected`.
    pub(crate) fn from_array(
        array: &'a dyn Array,
        name: &str,
        expected: ColumnType,
    ) -> Result<Self, FeaturesError> {
        let column = match (expected, array.data_type()) {
            (ColumnType::Boolean, DataType::Boolean) => {
                CategoricalColumn::Boolean(array.as_boolean())
            }
            (ColumnType::Int64, DataType::Int64) => {
                CategoricalColumn::Int64(array.as_primitive::<Int64Type>())
            }
            (ColumnType::Utf8, DataType::Utf8) => CategoricalColumn::Utf8(array.as_string::<i32>()),
            (_, found) => {
                return Err(wrong_type(name, &expected.to_arrow().to_string(), found));
            }
        };
        Ok(column)
    }

    /// Calls `f(row, value)` for every row in order; `value` is `None` for a null.
    pub(crate) fn try_for_each(
        &self,
        mut f: impl FnMut(usize, Option<CategoryValue<'a>>) -> Result<(), FeaturesError>,
    ) -> Result<(), FeaturesError> {
        match self {
            CategoricalColumn::Boolean(array) => {
                for (row, value) in array.iter().enumerate() {
                    f(row, value.map(CategoryValue::Bool))?;
                }
            }
            CategoricalColumn::Int64(array) => {
                for (row, value) in array.iter().enumerate() {
                    f(row, value.map(CategoryValue::Int))?;
                }
            }
            CategoricalColumn::Utf8(array) => {
                for (row, value) in array.iter().enumerate() {
                    f(row, value.map(CategoryValue::Text))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::ArrayRef;
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "i",
                Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![f64::NAN, 2.5])) as ArrayRef,
            ),
            (
                "inf",
                Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NEG_INFINITY)])) as ArrayRef,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn numeric(name: &str) -> Result<Vec<Option<f64>>, FeaturesError> {
        let batch = batch();
        let column = NumericColumn::read(&batch, name)?;
        let mut out = Vec::new();
        column.try_for_each(name, |_, v| {
            out.push(v);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn numeric_reads_cast_and_treat_nan_as_missing() {
        assert_eq!(numeric("i").unwrap(), [Some(1.0), None]);
        assert_eq!(numeric("f").unwrap(), [None, Some(2.5)]);
        assert_eq!(
            numeric("inf").unwrap_err().to_string(),
            "column `inf`, row 1: value -inf is not finite (±inf is rejected; NaN is read as missing)"
        );
        assert_eq!(
            numeric("s").unwrap_err().to_string(),
            "column `s`: expected Int64 or Float64, found Utf8"
        );
        assert_eq!(
            numeric("x").unwrap_err().to_string(),
            "column `x` is not in the input; it has: i, f, inf, s"
        );
    }

    #[test]
    fn categorical_reads_exact_type() {
        let batch = batch();
        let column = CategoricalColumn::read(&batch, "s", ColumnType::Utf8).unwrap();
        let mut out = Vec::new();
        column
            .try_for_each(|_, v| {
                out.push(v.map(CategoryValue::to_owned));
                Ok(())
            })
            .unwrap();
        assert_eq!(out, [Some(Category::Text("a".into())), None]);
        let err = CategoricalColumn::read(&batch, "s", ColumnType::Int64)
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "column `s`: expected Int64, found Utf8");
    }

    #[test]
    fn category_order_matches_borrowed_order() {
        let values = [
            CategoryValue::Bool(false),
            CategoryValue::Bool(true),
            CategoryValue::Int(-3),
            CategoryValue::Int(7),
            CategoryValue::Text(""),
            CategoryValue::Text("B"),
            CategoryValue::Text("a"),
            CategoryValue::Text("é"),
        ];
        for a in values {
            for b in values {
                assert_eq!(a.to_owned().cmp_value(b), a.to_owned().cmp(&b.to_owned()));
            }
        }
        let json = serde_json::to_string(&[
            Category::Bool(true),
            Category::Int(3),
            Category::Text("x".into()),
        ])
        .unwrap();
        assert_eq!(json, r#"[true,3,"x"]"#);
        let back: Vec<Category> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[1], Category::Int(3));
        assert_eq!(Category::Text("Private".into()).to_string(), "Private");
    }
}
