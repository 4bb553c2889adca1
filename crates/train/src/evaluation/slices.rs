//! Slices: the task metrics of the rows sharing a value of a column (e.g.
//! every `sex=Female` row), so that a model that is good on average but bad
//! for a group is noticed.

use std::collections::{BTreeMap, BTreeSet};

use mlrig_core::Predictions;
use serde::{Deserialize, Serialize};

use super::task_metrics::{Prepared, Truth};
use crate::error::{Result, TrainError};

/// How many distinct values of a slice column get a slice of their own by
/// default (see [`SliceColumn::with_max_values`]).
///
/// ```
/// let column = mlrig_train::SliceColumn::new("city", [Some("Oslo")]);
/// assert_eq!(column.max_values(), mlrig_train::DEFAULT_MAX_SLICE_VALUES);
/// ```
pub const DEFAULT_MAX_SLICE_VALUES: usize = 100;

/// The slice value of a row whose column value is null.
///
/// ```
/// let column = mlrig_train::SliceColumn::new("city", [None::<&str>]);
/// assert_eq!(column.values(), [mlrig_train::MISSING_SLICE_VALUE]);
/// ```
pub const MISSING_SLICE_VALUE: &str = "(missing)";

/// The slice of the rows whose value is not among a column's most frequent
/// [`SliceColumn::max_values`] values (see [`SliceColumn::with_max_values`]).
///
/// ```
/// assert_eq!(mlrig_train::OTHER_SLICE_VALUE, "(other)");
/// ```
pub const OTHER_SLICE_VALUE: &str = "(other)";

/// A column to slice the evaluation rows by: its name and one value per row
/// (as text; null is [`MISSING_SLICE_VALUE`]).
///
/// At most [`max_values`](Self::max_values) values (default
/// [`DEFAULT_MAX_SLICE_VALUES`]) get a slice each: the most frequent ones,
/// ties broken by the smaller value; the rows of all other values form one
/// slice [`OTHER_SLICE_VALUE`]. A real value spelled `(missing)` or
/// `(other)` shares that slice.
///
/// ```
/// use mlrig_train::SliceColumn;
/// let sex = SliceColumn::new("sex", [Some("Female"), None, Some("Male")]);
/// assert_eq!(sex.name(), "sex");
/// assert_eq!(sex.values(), ["Female", "(missing)", "Male"]);
/// assert_eq!(sex.max_values(), 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceColumn {
    name: String,
    values: Vec<String>,
    max_values: usize,
}

impl SliceColumn {
    /// A column named `name` with one value per evaluation row.
    ///
    /// See [`SliceColumn`] for an example.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = Option<S>>,
    ) -> Self {
        Self {
            name: name.into(),
            values: values
                .into_iter()
                .map(|v| v.map_or_else(|| MISSING_SLICE_VALUE.to_string(), Into::into))
                .collect(),
            max_values: DEFAULT_MAX_SLICE_VALUES,
        }
    }

    /// Keeps a slice for at most `max_values` distinct values (0 puts every
    /// row in [`OTHER_SLICE_VALUE`]).
    ///
    /// ```
    /// use mlrig_train::{Predictions, SliceColumn, Truth, ndarray::array, slice_metrics};
    /// let city = SliceColumn::new("city", ["Oslo", "Oslo", "Lima", "Pune"].map(Some)).with_max_values(1);
    /// let predictions = Predictions::Regression { values: array![1.0, 2.0, 3.0, 4.0] };
    /// let slices = slice_metrics(&predictions, &Truth::Values(vec![1.0, 2.0, 3.0, 5.0]), &[city])?;
    /// let keys: Vec<String> = slices.iter().map(|s| s.key()).collect();
    /// assert_eq!(keys, ["city=(other)", "city=Oslo"]);
    /// assert_eq!(slices[0].metrics["mae"], 0.5);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn with_max_values(mut self, max_values: usize) -> Self {
        self.max_values = max_values;
        self
    }

    /// The column name.
    ///
    /// See [`SliceColumn`] for an example.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One value per row.
    ///
    /// See [`SliceColumn`] for an example.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// How many values get a slice of their own.
    ///
    /// See [`SliceColumn`] for an example.
    pub fn max_values(&self) -> usize {
        self.max_values
    }

    /// Row indices by slice value, values sorted.
    fn groups(&self) -> BTreeMap<&str, Vec<usize>> {
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (row, value) in self.values.iter().enumerate() {
            groups.entry(value.as_str()).or_default().push(row);
        }
        if groups.len() <= self.max_values {
            return groups;
        }
        // Most frequent first; the BTreeMap order breaks ties by value.
        let mut by_count: Vec<(&str, usize)> = groups.iter().map(|(v, r)| (*v, r.len())).collect();
        by_count.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
        let kept: BTreeSet<&str> = by_count
            .into_iter()
            .take(self.max_values)
            .map(|(v, _)| v)
            .collect();
        let mut bounded: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (value, rows) in groups {
            let value = if kept.contains(value) {
                value
            } else {
                OTHER_SLICE_VALUE
            };
            bounded.entry(value).or_default().extend(rows);
        }
        for rows in bounded.values_mut() {
            rows.sort_unstable();
        }
        bounded
    }
}

/// The task metrics of one slice: the rows whose `column` has `value`.
///
/// ```
/// use mlrig_train::{Predictions, SliceColumn, Truth, ndarray::array, slice_metrics};
/// let predictions = Predictions::Regression { values: array![1.0, 2.0, 3.5] };
/// let truth = Truth::Values(vec![1.0, 2.0, 3.0]);
/// let slices = slice_metrics(&predictions, &truth, &[SliceColumn::new("g", ["a", "a", "b"].map(Some))])?;
/// assert_eq!((slices[1].column.as_str(), slices[1].value.as_str(), slices[1].rows), ("g", "b", 1));
/// assert_eq!(slices[1].key(), "g=b");
/// assert_eq!(slices[1].metrics["mae"], 0.5);
/// assert!(slices[1].omitted.contains_key("r2")); // one row
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SliceMetrics {
    /// The slice column.
    pub column: String,
    /// The column's value shared by the slice's rows.
    pub value: String,
    /// Number of rows in the slice.
    pub rows: u64,
    /// Metric values by name.
    pub metrics: BTreeMap<String, f64>,
    /// Metrics undefined on the slice's rows: name → reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub omitted: BTreeMap<String, String>,
}

impl SliceMetrics {
    /// The slice key `"column=value"`, as in
    /// [`BlessingThresholds::slices`](crate::BlessingThresholds::slices).
    ///
    /// See [`SliceMetrics`] for an example.
    pub fn key(&self) -> String {
        format!("{}={}", self.column, self.value)
    }
}

/// The [`task_metrics`](crate::task_metrics) of every slice of every column,
/// sorted by column, then value. A metric undefined on a slice (AUC of a
/// slice with one class, R² of one row) is left out and listed in
/// [`SliceMetrics::omitted`].
///
/// Errors: those of [`task_metrics`](crate::task_metrics), a column whose
/// length differs from the predictions', two columns with the same name.
///
/// ```
/// use mlrig_train::{Predictions, SliceColumn, Truth, ndarray::array, slice_metrics};
/// let predictions = Predictions::Classification {
///     classes: vec!["no".into(), "yes".into()],
///     probabilities: array![[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]],
/// };
/// let truth = Truth::from_labels(["no", "yes", "yes", "yes"]);
/// let sex = SliceColumn::new("sex", [Some("M"), Some("F"), Some("F"), None]);
/// let slices = slice_metrics(&predictions, &truth, &[sex])?;
/// let summary: Vec<(String, u64, f64)> =
///     slices.iter().map(|s| (s.key(), s.rows, s.metrics["accuracy"])).collect();
/// assert_eq!(summary, [
///     ("sex=(missing)".to_string(), 1, 1.0),
///     ("sex=F".to_string(), 2, 0.5),
///     ("sex=M".to_string(), 1, 1.0),
/// ]);
/// assert!(slices[1].omitted.contains_key("roc_auc")); // only "yes" rows
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
pub fn slice_metrics(
    predictions: &Predictions,
    truth: &Truth,
    slices: &[SliceColumn],
) -> Result<Vec<SliceMetrics>> {
    let prepared = Prepared::new(predictions, truth)?;
    let mut names = BTreeSet::new();
    for column in slices {
        if !names.insert(column.name.as_str()) {
            return Err(TrainError::invalid_parameter(
                "slices",
                format!("slice column `{}` is given twice", column.name),
            ));
        }
        if column.values.len() != prepared.len() {
            return Err(TrainError::LengthMismatch {
                what: format!("slice column `{}` vs predictions", column.name),
                expected: prepared.len(),
                found: column.values.len(),
            });
        }
    }
    let mut out = Vec::new();
    for column in slices {
        for (value, rows) in column.groups() {
            let metrics = prepared.select(&rows).metrics()?;
            out.push(SliceMetrics {
                column: column.name.clone(),
                value: value.to_string(),
                rows: rows.len() as u64,
                metrics: metrics.values,
                omitted: metrics.omitted,
            });
        }
    }
    out.sort_by(|a, b| (&a.column, &a.value).cmp(&(&b.column, &b.value)));
    Ok(out)
}
