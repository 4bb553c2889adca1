//! Targets: the column a model learns to predict, extracted from Arrow.
//!
//! * [`RegressionTarget`]: real values from an integer or float column.
//! * [`ClassTarget`]: class labels from a string, boolean or integer column,
//!   with the classes sorted ascending (numerically for integers, `false`
//!   before `true`, byte-wise for strings). For a binary target the positive
//!   class is the second one, e.g. adult's `income` → `["<=50K", ">50K"]`,
//!   positive `>50K`.
//!
//! A missing (null) target value is an error that says how many there are
//! and where the first one is: a model cannot learn from an unknown label,
//! and silently dropping rows would misalign features and targets.

use std::collections::{BTreeMap, BTreeSet};

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use mlrig_core::arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use mlrig_core::arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// What every target offers: its column name and its length.
///
/// ```
/// use mlrig_train::{RegressionTarget, Target};
/// let y = RegressionTarget::new("price", vec![1.0, 2.5])?;
/// assert_eq!((y.name(), y.len(), y.is_empty()), ("price", 2, false));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub trait Target {
    /// The target column's name (used in errors and model metadata).
    fn name(&self) -> &str;
    /// Number of examples.
    fn len(&self) -> usize;
    /// `true` when there are no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A real-valued target.
///
/// ```
/// use mlrig_train::RegressionTarget;
/// use mlrig_core::arrow_array::Float64Array;
/// let y = RegressionTarget::from_array("MedHouseVal", &Float64Array::from(vec![4.526, 2.267]))?;
/// assert_eq!(y.values(), [4.526, 2.267]);
///
/// let e = RegressionTarget::from_array("y", &Float64Array::from(vec![Some(1.0), None])).unwrap_err();
/// assert!(e.to_string().contains("first at row 1"));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionTarget {
    name: String,
    values: Vec<f64>,
}

impl RegressionTarget {
    /// A target from values; every value must be finite.
    ///
    /// ```
    /// use mlrig_train::RegressionTarget;
    /// assert!(RegressionTarget::new("y", vec![1.0, f64::NAN]).is_err());
    /// ```
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Result<Self> {
        let name = name.into();
        if let Some((row, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::NonFinite {
                what: format!("target `{name}`"),
                row,
                column: None,
                value,
            });
        }
        Ok(Self { name, values })
    }

    /// Extracts the target from one Arrow array (integer or float types).
    ///
    /// ```
    /// use mlrig_train::RegressionTarget;
    /// use mlrig_core::arrow_array::Int64Array;
    /// let y = RegressionTarget::from_array("n", &Int64Array::from(vec![3, -1]))?;
    /// assert_eq!(y.values(), [3.0, -1.0]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn from_array(name: &str, array: &dyn Array) -> Result<Self> {
        Self::from_arrays(name, [array])
    }

    /// Extracts the target from consecutive arrays (one per batch of a
    /// stream); rows in errors are counted across all of them.
    ///
    /// ```
    /// use mlrig_train::RegressionTarget;
    /// use mlrig_core::arrow_array::{Array, Float64Array};
    /// let (a, b) = (Float64Array::from(vec![1.0]), Float64Array::from(vec![None, Some(2.0)]));
    /// let e = RegressionTarget::from_arrays("y", [&a as &dyn Array, &b]).unwrap_err();
    /// assert!(e.to_string().contains("first at row 1"));
    /// ```
    pub fn from_arrays<'a>(
        name: &str,
        arrays: impl IntoIterator<Item = &'a dyn Array>,
    ) -> Result<Self> {
        let values = present_values(name, arrays, |array| numeric_column(name, array))?;
        Self::new(name, values)
    }

    /// Extracts the target column `column` of a batch.
    ///
    /// ```
    /// use mlrig_train::RegressionTarget;
    /// use mlrig_core::arrow_array::{RecordBatch, Float64Array, ArrayRef};
    /// use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([("y", Arc::new(Float64Array::from(vec![0.5])) as ArrayRef)]).unwrap();
    /// assert_eq!(RegressionTarget::from_column(&batch, "y")?.values(), [0.5]);
    /// assert!(RegressionTarget::from_column(&batch, "z").is_err());
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn from_column(batch: &RecordBatch, column: &str) -> Result<Self> {
        Self::from_array(column, column_of(batch, column)?.as_ref())
    }

    /// The values, one per example.
    ///
    /// ```
    /// # use mlrig_train::RegressionTarget;
    /// assert_eq!(RegressionTarget::new("y", vec![2.0])?.values(), [2.0]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

impl Target for RegressionTarget {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> usize {
        self.values.len()
    }
}

/// A categorical target: sorted class labels and one class index per example.
///
/// ```
/// use mlrig_train::ClassTarget;
/// use mlrig_core::arrow_array::StringArray;
/// let y = ClassTarget::from_array("income", &StringArray::from(vec![">50K", "<=50K", "<=50K"]))?;
/// assert_eq!(y.classes(), ["<=50K", ">50K"]);
/// assert_eq!(y.labels(), [1, 0, 0]);
/// assert_eq!(y.positive_class()?, ">50K");
/// assert_eq!(y.positive_indicator()?, [true, false, false]);
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassTarget {
    name: String,
    classes: Vec<String>,
    labels: Vec<usize>,
}

/// A class value before it becomes a label string; the derived order is the
/// class order (one variant per column, so variants never mix).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum ClassValue {
    Integer(i128),
    Boolean(bool),
    Text(String),
}

impl ClassValue {
    fn into_label(self) -> String {
        match self {
            ClassValue::Integer(v) => v.to_string(),
            ClassValue::Boolean(v) => v.to_string(),
            ClassValue::Text(v) => v,
        }
    }
}

impl ClassTarget {
    /// A target from label strings; classes are sorted byte-wise.
    ///
    /// ```
    /// use mlrig_train::ClassTarget;
    /// let y = ClassTarget::from_labels("animal", ["dog", "cat", "dog"]);
    /// assert_eq!(y.classes(), ["cat", "dog"]);
    /// assert_eq!(y.labels(), [1, 0, 1]);
    /// ```
    pub fn from_labels<S: Into<String>>(name: &str, labels: impl IntoIterator<Item = S>) -> Self {
        let values: Vec<ClassValue> = labels
            .into_iter()
            .map(|s| ClassValue::Text(s.into()))
            .collect();
        Self::from_values(name, values)
    }

    /// Extracts the target from one Arrow array (string, boolean or integer types).
    ///
    /// ```
    /// use mlrig_train::ClassTarget;
    /// use mlrig_core::arrow_array::{BooleanArray, Int64Array};
    /// let y = ClassTarget::from_array("churn", &BooleanArray::from(vec![true, false]))?;
    /// assert_eq!(y.classes(), ["false", "true"]);
    /// // Integers sort numerically, not as text.
    /// let y = ClassTarget::from_array("grade", &Int64Array::from(vec![10, 9, -1]))?;
    /// assert_eq!(y.classes(), ["-1", "9", "10"]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn from_array(name: &str, array: &dyn Array) -> Result<Self> {
        Self::from_arrays(name, [array])
    }

    /// Extracts the target from consecutive arrays of one type (one per batch
    /// of a stream); rows in errors are counted across all of them.
    ///
    /// ```
    /// use mlrig_train::ClassTarget;
    /// use mlrig_core::arrow_array::{Array, StringArray};
    /// let (a, b) = (StringArray::from(vec!["x"]), StringArray::from(vec![Some("y"), None, None]));
    /// let e = ClassTarget::from_arrays("t", [&a as &dyn Array, &b]).unwrap_err();
    /// assert!(e.to_string().contains("2 missing values (first at row 2)"), "{e}");
    /// ```
    pub fn from_arrays<'a>(
        name: &str,
        arrays: impl IntoIterator<Item = &'a dyn Array>,
    ) -> Result<Self> {
        let mut first_type: Option<DataType> = None;
        let values = present_values(name, arrays, |array| {
            match &first_type {
                None => first_type = Some(array.data_type().clone()),
                Some(t) if t != array.data_type() => {
                    return Err(TrainError::UnsupportedColumnType {
                        column: name.into(),
                        expected: format!("the same type in every batch ({t})"),
                        found: array.data_type().to_string(),
                    });
                }
                Some(_) => {}
            }
            class_column(name, array)
        })?;
        Ok(Self::from_values(name, values))
    }

    /// Extracts the target column `column` of a batch.
    ///
    /// ```
    /// use mlrig_train::ClassTarget;
    /// use mlrig_core::arrow_array::{RecordBatch, StringArray, ArrayRef};
    /// use std::sync::Arc;
    /// let batch = RecordBatch::try_from_iter([("y", Arc::new(StringArray::from(vec!["b", "a"])) as ArrayRef)]).unwrap();
    /// assert_eq!(ClassTarget::from_column(&batch, "y")?.labels(), [1, 0]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn from_column(batch: &RecordBatch, column: &str) -> Result<Self> {
        Self::from_array(column, column_of(batch, column)?.as_ref())
    }

    fn from_values(name: &str, values: Vec<ClassValue>) -> Self {
        let distinct: BTreeSet<&ClassValue> = values.iter().collect();
        let index: BTreeMap<&ClassValue, usize> = distinct
            .into_iter()
            .enumerate()
            .map(|(i, v)| (v, i))
            .collect();
        let labels = values
            .iter()
            .map(|v| index.get(v).copied().unwrap_or_default())
            .collect();
        let classes = index.into_keys().map(|v| v.clone().into_label()).collect();
        Self {
            name: name.into(),
            classes,
            labels,
        }
    }

    /// The class labels, sorted; each appears at least once in the data.
    ///
    /// ```
    /// # use mlrig_train::ClassTarget;
    /// assert_eq!(ClassTarget::from_labels("y", ["b", "a"]).classes(), ["a", "b"]);
    /// ```
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The class index (into [`classes`](Self::classes)) of each example.
    ///
    /// ```
    /// # use mlrig_train::ClassTarget;
    /// assert_eq!(ClassTarget::from_labels("y", ["b", "a"]).labels(), [1, 0]);
    /// ```
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Fails unless there are exactly two classes.
    ///
    /// ```
    /// # use mlrig_train::ClassTarget;
    /// assert!(ClassTarget::from_labels("y", ["a", "b", "c"]).require_binary().is_err());
    /// ```
    pub fn require_binary(&self) -> Result<()> {
        if self.classes.len() == 2 {
            Ok(())
        } else {
            Err(TrainError::WrongClassCount {
                column: self.name.clone(),
                expected: "exactly 2 classes (binary)".into(),
                classes: self.classes.clone(),
            })
        }
    }

    /// The positive class of a binary target: the second in sorted order.
    ///
    /// ```
    /// # use mlrig_train::ClassTarget;
    /// assert_eq!(ClassTarget::from_labels("y", ["yes", "no"]).positive_class()?, "yes");
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn positive_class(&self) -> Result<&str> {
        self.require_binary()?;
        Ok(&self.classes[1])
    }

    /// For a binary target, `true` where the example is of the positive class.
    ///
    /// ```
    /// # use mlrig_train::ClassTarget;
    /// assert_eq!(ClassTarget::from_labels("y", ["yes", "no"]).positive_indicator()?, [true, false]);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn positive_indicator(&self) -> Result<Vec<bool>> {
        self.require_binary()?;
        Ok(self.labels.iter().map(|&l| l == 1).collect())
    }
}

impl Target for ClassTarget {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// Counts missing target values and remembers the first.
#[derive(Default)]
struct MissingCounter {
    count: usize,
    first_row: Option<usize>,
}

impl MissingCounter {
    fn record(&mut self, row: usize) {
        self.count += 1;
        self.first_row.get_or_insert(row);
    }

    fn check(&self, column: &str) -> Result<()> {
        match self.first_row {
            None => Ok(()),
            Some(first_row) => Err(TrainError::MissingTarget {
                column: column.into(),
                count: self.count,
                first_row,
            }),
        }
    }
}

/// Reads every array with `read` and returns the values of all of them in
/// order; any missing value is a [`TrainError::MissingTarget`] that counts them
/// and names the first row (counted across all arrays). An error of `read`
/// comes first.
fn present_values<'a, T>(
    name: &str,
    arrays: impl IntoIterator<Item = &'a dyn Array>,
    mut read: impl FnMut(&'a dyn Array) -> Result<Vec<Option<T>>>,
) -> Result<Vec<T>> {
    let mut values = Vec::new();
    let mut missing = MissingCounter::default();
    let mut row = 0;
    for array in arrays {
        for value in read(array)? {
            match value {
                Some(v) => values.push(v),
                None => missing.record(row),
            }
            row += 1;
        }
    }
    missing.check(name)?;
    Ok(values)
}

pub(crate) fn column_of<'b>(
    batch: &'b RecordBatch,
    column: &str,
) -> Result<&'b mlrig_core::arrow_array::ArrayRef> {
    batch
        .column_by_name(column)
        .ok_or_else(|| TrainError::MissingColumn {
            column: column.into(),
            available: mlrig_core::column_list(batch.schema_ref()),
        })
}

fn unsupported(name: &str, expected: &str, array: &dyn Array) -> TrainError {
    TrainError::UnsupportedColumnType {
        column: name.into(),
        expected: expected.into(),
        found: array.data_type().to_string(),
    }
}

fn primitive_values<T: ArrowPrimitiveType>(
    array: &dyn Array,
    convert: impl Fn(T::Native) -> f64,
) -> Option<Vec<Option<f64>>> {
    let typed: &PrimitiveArray<T> = array.as_primitive_opt::<T>()?;
    Some(typed.iter().map(|v| v.map(&convert)).collect())
}

const NUMERIC_TYPES: &str = "an integer or floating-point column (Int8–64, UInt8–64, Float32/64)";

fn numeric_column(name: &str, array: &dyn Array) -> Result<Vec<Option<f64>>> {
    let values = match array.data_type() {
        DataType::Float64 => primitive_values::<Float64Type>(array, |v| v),
        DataType::Float32 => primitive_values::<Float32Type>(array, f64::from),
        DataType::Int64 => primitive_values::<Int64Type>(array, |v| v as f64),
        DataType::Int32 => primitive_values::<Int32Type>(array, f64::from),
        DataType::Int16 => primitive_values::<Int16Type>(array, f64::from),
        DataType::Int8 => primitive_values::<Int8Type>(array, f64::from),
        DataType::UInt64 => primitive_values::<UInt64Type>(array, |v| v as f64),
        DataType::UInt32 => primitive_values::<UInt32Type>(array, f64::from),
        DataType::UInt16 => primitive_values::<UInt16Type>(array, f64::from),
        DataType::UInt8 => primitive_values::<UInt8Type>(array, f64::from),
        _ => None,
    };
    values.ok_or_else(|| unsupported(name, NUMERIC_TYPES, array))
}

fn integer_classes<T: ArrowPrimitiveType>(array: &dyn Array) -> Option<Vec<Option<ClassValue>>>
where
    T::Native: Into<i128>,
{
    let typed: &PrimitiveArray<T> = array.as_primitive_opt::<T>()?;
    Some(
        typed
            .iter()
            .map(|v| v.map(|v| ClassValue::Integer(v.into())))
            .collect(),
    )
}

const CLASS_TYPES: &str =
    "a string, boolean or integer column (Utf8, LargeUtf8, Utf8View, Boolean, Int8–64, UInt8–64)";

fn class_column(name: &str, array: &dyn Array) -> Result<Vec<Option<ClassValue>>> {
    let text = |v: Option<&str>| v.map(|s| ClassValue::Text(s.to_string()));
    let values = match array.data_type() {
        DataType::Utf8 => array
            .as_string_opt::<i32>()
            .map(|a| a.iter().map(text).collect()),
        DataType::LargeUtf8 => array
            .as_string_opt::<i64>()
            .map(|a| a.iter().map(text).collect()),
        DataType::Utf8View => array
            .as_string_view_opt()
            .map(|a| a.iter().map(text).collect()),
        DataType::Boolean => array
            .as_boolean_opt()
            .map(|a| a.iter().map(|v| v.map(ClassValue::Boolean)).collect()),
        DataType::Int64 => integer_classes::<Int64Type>(array),
        DataType::Int32 => integer_classes::<Int32Type>(array),
        DataType::Int16 => integer_classes::<Int16Type>(array),
        DataType::Int8 => integer_classes::<Int8Type>(array),
        DataType::UInt64 => integer_classes::<UInt64Type>(array),
        DataType::UInt32 => integer_classes::<UInt32Type>(array),
        DataType::UInt16 => integer_classes::<UInt16Type>(array),
        DataType::UInt8 => integer_classes::<UInt8Type>(array),
        _ => None,
    };
    values.ok_or_else(|| unsupported(name, CLASS_TYPES, array))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::{
        BooleanArray, Float32Array, Float64Array, Int64Array, LargeStringArray, StringArray,
        StringViewArray, UInt8Array,
    };
    use proptest::prelude::*;

    #[test]
    fn adult_income_is_binary_with_positive_over_50k() {
        let a = StringArray::from(vec!["<=50K", ">50K", "<=50K"]);
        let y = ClassTarget::from_array("income", &a).unwrap();
        assert_eq!(y.classes(), ["<=50K", ">50K"]);
        assert_eq!(y.positive_class().unwrap(), ">50K");
        assert_eq!(y.name(), "income");
    }

    #[test]
    fn all_string_kinds_give_the_same_target() {
        let labels = vec!["b", "a", "c", "a"];
        let expected = ClassTarget::from_labels("t", labels.clone());
        let arrays: Vec<Box<dyn Array>> = vec![
            Box::new(StringArray::from(labels.clone())),
            Box::new(LargeStringArray::from(labels.clone())),
            Box::new(StringViewArray::from(labels.clone())),
        ];
        for a in arrays {
            assert_eq!(ClassTarget::from_array("t", a.as_ref()).unwrap(), expected);
        }
        assert!(expected.require_binary().is_err());
        let e = expected.positive_indicator().unwrap_err();
        assert!(
            e.to_string().contains("found 3 class(es): [a, b, c]"),
            "{e}"
        );
    }

    #[test]
    fn missing_values_are_counted_and_located() {
        let a = BooleanArray::from(vec![Some(true), None, Some(false), None]);
        let e = ClassTarget::from_array("flag", &a).unwrap_err();
        assert!(
            matches!(e, TrainError::MissingTarget { count: 2, first_row: 1, ref column } if column == "flag"),
            "{e}"
        );
        let a = Int64Array::from(vec![Some(1), Some(2), None]);
        let e = RegressionTarget::from_array("n", &a).unwrap_err();
        assert!(
            matches!(
                e,
                TrainError::MissingTarget {
                    count: 1,
                    first_row: 2,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn unsupported_types_are_named() {
        let e = ClassTarget::from_array("p", &Float64Array::from(vec![0.5])).unwrap_err();
        assert!(e.to_string().contains("column `p`"), "{e}");
        assert!(e.to_string().contains("Float64"), "{e}");
        let e = RegressionTarget::from_array("s", &StringArray::from(vec!["1"])).unwrap_err();
        assert!(matches!(e, TrainError::UnsupportedColumnType { .. }), "{e}");
    }

    #[test]
    fn regression_accepts_numeric_types_and_rejects_nan() {
        let y = RegressionTarget::from_array("a", &Float32Array::from(vec![0.5f32])).unwrap();
        assert_eq!(y.values(), [0.5]);
        let y = RegressionTarget::from_array("a", &UInt8Array::from(vec![7u8])).unwrap();
        assert_eq!(y.values(), [7.0]);
        let e = RegressionTarget::from_array("a", &Float64Array::from(vec![1.0, f64::INFINITY]))
            .unwrap_err();
        assert!(matches!(e, TrainError::NonFinite { row: 1, .. }), "{e}");
    }

    #[test]
    fn mixed_batch_types_are_rejected() {
        let a = StringArray::from(vec!["x"]);
        let b = Int64Array::from(vec![1]);
        let e = ClassTarget::from_arrays("t", [&a as &dyn Array, &b]).unwrap_err();
        assert!(matches!(e, TrainError::UnsupportedColumnType { .. }), "{e}");
    }

    proptest! {
        #[test]
        fn labels_index_sorted_distinct_classes(values in proptest::collection::vec(-5i64..5, 0..40)) {
            let y = ClassTarget::from_array("t", &Int64Array::from(values.clone())).unwrap();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            sorted.dedup();
            let expected: Vec<String> = sorted.iter().map(|v| v.to_string()).collect();
            prop_assert_eq!(y.classes(), expected.as_slice());
            for (label, value) in y.labels().iter().zip(&values) {
                prop_assert_eq!(&y.classes()[*label], &value.to_string());
            }
        }
    }
}
