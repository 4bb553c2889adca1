//! [`TaskKind`] and its inference from the target column: classification or
//! regression, decided before any model is fitted.
//!
//! | target column | task |
//! |---|---|
//! | string, boolean | classification |
//! | integer with at most [`MAX_INTEGER_CLASSES`] distinct values in the training rows | classification, **with a notice** saying so and naming `--task regression` |
//! | integer with more distinct values, float | regression |
//!
//! An explicit task always wins. The notice exists because a class column
//! coded `0/1/2` (scikit-learn's wine) is the usual case, but a small count
//! (number of children) may be a regression target: the user is told which
//! one mlrig picked and how to pick the other.

use std::collections::BTreeSet;

use mlrig_core::arrow_array::Array;
use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use mlrig_core::arrow_schema::DataType;
use serde::{Deserialize, Serialize};

/// The most distinct values an integer target may have to be taken as classes.
pub const MAX_INTEGER_CLASSES: usize = 10;

/// Which kind of model to train.
///
/// ```
/// use mlrig_train::TaskKind;
/// assert_eq!(serde_json::to_string(&TaskKind::Classification).unwrap(), "\"classification\"");
/// assert_eq!(TaskKind::default(), TaskKind::Auto);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskKind {
    /// Decided from the target column (see the module docs).
    #[default]
    Auto,
    /// A real-valued target.
    Regression,
    /// A categorical target (two or more classes).
    Classification,
}

/// The task picked for a target, and what to tell the user about the pick.
///
/// ```
/// use mlrig_core::arrow_array::{Array, Int64Array, StringArray};
/// use mlrig_train::{TaskKind, infer_task};
/// let wine = Int64Array::from(vec![0, 1, 2, 1, 0]);
/// let choice = infer_task("class", TaskKind::Auto, [&wine as &dyn Array]);
/// assert_eq!(choice.task, TaskKind::Classification);
/// assert!(choice.notice.as_deref().unwrap().contains("--task regression"));
///
/// let explicit = infer_task("class", TaskKind::Regression, [&wine as &dyn Array]);
/// assert_eq!((explicit.task, explicit.notice), (TaskKind::Regression, None));
///
/// let income = StringArray::from(vec!["<=50K", ">50K"]);
/// assert_eq!(infer_task("income", TaskKind::Auto, [&income as &dyn Array]).task, TaskKind::Classification);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TaskChoice {
    /// Regression or classification (never [`TaskKind::Auto`]).
    pub task: TaskKind,
    /// A sentence for the user when the choice was not obvious.
    pub notice: Option<String>,
}

/// Decides the task for `column` from its arrays (one per batch of the
/// training rows): `requested` unless it is [`TaskKind::Auto`], else by the
/// rules of the module docs.
///
/// See [`TaskChoice`] for an example.
pub fn infer_task<'a>(
    column: &str,
    requested: TaskKind,
    arrays: impl IntoIterator<Item = &'a dyn Array>,
) -> TaskChoice {
    let chosen = |task| TaskChoice { task, notice: None };
    if requested != TaskKind::Auto {
        return chosen(requested);
    }
    let mut arrays = arrays.into_iter().peekable();
    let data_type = arrays.peek().map(|a| a.data_type().clone());
    match data_type {
        Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean) => {
            chosen(TaskKind::Classification)
        }
        Some(t) if t.is_integer() => {
            let mut distinct = BTreeSet::new();
            for array in arrays {
                if !insert_integers(array, &mut distinct) {
                    break;
                }
            }
            if distinct.len() <= MAX_INTEGER_CLASSES {
                let values: Vec<String> = distinct.iter().map(i128::to_string).collect();
                TaskChoice {
                    task: TaskKind::Classification,
                    notice: Some(format!(
                        "target `{column}` is an integer column with {} distinct values ({}): \
                         training a classifier; to predict it as a number set the task to regression \
                         (--task regression for mlrig train, task = \"regression\" under [model] in mlrig.toml)",
                        values.len(),
                        values.join(", ")
                    )),
                }
            } else {
                chosen(TaskKind::Regression)
            }
        }
        _ => chosen(TaskKind::Regression),
    }
}

/// Adds the array's integer values to `distinct`; `false` once there are
/// more than [`MAX_INTEGER_CLASSES`] (no need to look further).
fn insert_integers(array: &dyn Array, distinct: &mut BTreeSet<i128>) -> bool {
    fn add<T: mlrig_core::arrow_array::ArrowPrimitiveType>(
        array: &dyn Array,
        distinct: &mut BTreeSet<i128>,
    ) -> bool
    where
        T::Native: Into<i128>,
    {
        for value in array.as_primitive::<T>().iter().flatten() {
            distinct.insert(value.into());
            if distinct.len() > MAX_INTEGER_CLASSES {
                return false;
            }
        }
        true
    }
    match array.data_type() {
        DataType::Int8 => add::<Int8Type>(array, distinct),
        DataType::Int16 => add::<Int16Type>(array, distinct),
        DataType::Int32 => add::<Int32Type>(array, distinct),
        DataType::Int64 => add::<Int64Type>(array, distinct),
        DataType::UInt8 => add::<UInt8Type>(array, distinct),
        DataType::UInt16 => add::<UInt16Type>(array, distinct),
        DataType::UInt32 => add::<UInt32Type>(array, distinct),
        DataType::UInt64 => add::<UInt64Type>(array, distinct),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::{Float64Array, Int64Array};

    #[test]
    fn many_integers_and_floats_are_regression() {
        let counts = Int64Array::from((0..50).collect::<Vec<i64>>());
        let choice = infer_task("target", TaskKind::Auto, [&counts as &dyn Array]);
        assert_eq!(
            choice,
            TaskChoice {
                task: TaskKind::Regression,
                notice: None
            }
        );
        let price = Float64Array::from(vec![1.0, 2.0]);
        assert_eq!(
            infer_task("p", TaskKind::Auto, [&price as &dyn Array]).task,
            TaskKind::Regression
        );
        let binary = Int64Array::from(vec![Some(0), None, Some(1)]);
        let choice = infer_task("big_tipper", TaskKind::Auto, [&binary as &dyn Array]);
        assert_eq!(choice.task, TaskKind::Classification);
        assert!(choice.notice.unwrap().contains("2 distinct values (0, 1)"));
        let none = infer_task("x", TaskKind::Auto, std::iter::empty::<&dyn Array>());
        assert_eq!(none.task, TaskKind::Regression);
    }
}
