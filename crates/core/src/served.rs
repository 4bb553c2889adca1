//! [`ServedPredictions`]: what one request was answered with, for monitoring.

use std::sync::Arc;

use arrow_array::RecordBatch;

use crate::{InputAnomalyCount, Predictions};

/// A summary of the predictions one HTTP request was answered with.
///
/// `mlrig-serve` attaches it to the response's extensions and
/// `mlrig-monitor`'s metrics layer reads it there, so predictions are
/// counted per model, version and class without the two crates knowing
/// each other (the type lives here, in core, for that reason).
///
/// ```
/// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
/// let p = Predictions::Classification {
///     classes: vec!["no".into(), "yes".into()],
///     probabilities: array![[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]],
/// };
/// let served = ServedPredictions::new("adult", 2, &p);
/// assert_eq!(served.class_counts, vec![("no".to_string(), 1), ("yes".to_string(), 2)]);
/// assert_eq!(served.scores, vec![0.9, 0.7, 0.8]); // the predicted class's probability
///
/// let r = Predictions::Regression { values: array![2.5, -1.0] };
/// let served = ServedPredictions::new("price", 1, &r);
/// assert!(served.class_counts.is_empty());
/// assert_eq!((served.rows, served.scores), (2, vec![2.5, -1.0]));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServedPredictions {
    /// The model that answered.
    pub model: String,
    /// Its version.
    pub version: u64,
    /// Rows predicted.
    pub rows: u64,
    /// Classifiers: how many rows got each class as their label (classes
    /// in the model's order, zero counts included); empty for regression.
    pub class_counts: Vec<(String, u64)>,
    /// One per row: the predicted class's probability (classifiers) or
    /// the predicted value (regression).
    pub scores: Vec<f64>,
    /// `true` for a classifier (scores are probabilities).
    pub is_classification: bool,
    /// Rows answered from a precomputed prediction table (hybrid inference)
    /// rather than by the live model; 0 when every row was predicted.
    pub table_rows: u64,
    /// Of `class_counts`, the rows answered from the table, per class
    /// (empty for regression or when `table_rows` is 0).
    pub table_class_counts: Vec<(String, u64)>,
    /// Input values accepted although unusual (a required field imputed, an
    /// unseen category, an out-of-range number), per feature and kind; see
    /// [`InputContract`](crate::InputContract). Empty when there were none.
    pub input_anomalies: Vec<InputAnomalyCount>,
    /// The request's input rows as the model saw them (after the input
    /// contract's imputation), for live skew and drift monitoring; `None`
    /// when the server does not pass them on (monitoring off).
    pub inputs: Option<Arc<RecordBatch>>,
}

impl ServedPredictions {
    /// Summarises `predictions` made by `model` in `version`.
    pub fn new(model: &str, version: u64, predictions: &Predictions) -> Self {
        let mut served = Self {
            model: model.to_string(),
            version,
            rows: predictions.len() as u64,
            class_counts: Vec::new(),
            scores: Vec::new(),
            is_classification: false,
            table_rows: 0,
            table_class_counts: Vec::new(),
            input_anomalies: Vec::new(),
            inputs: None,
        };
        match predictions {
            Predictions::Regression { values } => served.scores = values.to_vec(),
            Predictions::Classification {
                classes,
                probabilities,
            } => {
                served.is_classification = true;
                let labels = predictions.labels().unwrap_or_default();
                let mut counts = vec![0u64; classes.len()];
                for (row, &label) in labels.iter().enumerate() {
                    if let Some(count) = counts.get_mut(label) {
                        *count += 1;
                    }
                    // NaN, not a panic, for a row without probabilities
                    // (a classification with no class columns).
                    served
                        .scores
                        .push(probabilities.get((row, label)).copied().unwrap_or(f64::NAN));
                }
                served.class_counts = classes.iter().cloned().zip(counts).collect();
            }
        }
        served
    }

    /// Says which rows of `predictions` (the ones this summary was made
    /// from) were answered from a prediction table: `from_table[i]` for
    /// row `i` (a shorter slice leaves the other rows to the model).
    ///
    /// ```
    /// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
    /// let p = Predictions::Classification {
    ///     classes: vec!["no".into(), "yes".into()],
    ///     probabilities: array![[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]],
    /// };
    /// let served = ServedPredictions::new("adult", 2, &p).with_table_rows(&p, &[true, false, true]);
    /// assert_eq!(served.table_rows, 2);
    /// assert_eq!(served.table_class_counts, vec![("no".to_string(), 1), ("yes".to_string(), 1)]);
    /// ```
    pub fn with_table_rows(mut self, predictions: &Predictions, from_table: &[bool]) -> Self {
        self.table_rows = from_table.iter().filter(|&&t| t).count() as u64;
        self.table_class_counts.clear();
        if let (Predictions::Classification { classes, .. }, true) =
            (predictions, self.table_rows > 0)
        {
            let labels = predictions.labels().unwrap_or_default();
            let mut counts = vec![0u64; classes.len()];
            for (&label, _) in labels.iter().zip(from_table).filter(|(_, t)| **t) {
                if let Some(count) = counts.get_mut(label) {
                    *count += 1;
                }
            }
            self.table_class_counts = classes.iter().cloned().zip(counts).collect();
        }
        self
    }

    /// The same summary, with the input anomalies of the request.
    ///
    /// ```
    /// use mlrig_core::{InputAnomalyCount, InputAnomalyKind, Predictions, ServedPredictions, ndarray::array};
    /// let p = Predictions::Regression { values: array![1.0] };
    /// let served = ServedPredictions::new("m", 1, &p)
    ///     .with_input_anomalies(vec![InputAnomalyCount::new("x", InputAnomalyKind::OutOfRange, 1)]);
    /// assert_eq!(served.input_anomalies.len(), 1);
    /// ```
    pub fn with_input_anomalies(mut self, anomalies: Vec<InputAnomalyCount>) -> Self {
        self.input_anomalies = anomalies;
        self
    }

    /// Attaches the request's input rows (shared, not copied).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlrig_core::arrow_array::{ArrayRef, Float64Array, RecordBatch};
    /// use mlrig_core::{Predictions, ServedPredictions, ndarray::array};
    /// let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef)])?;
    /// let p = Predictions::Regression { values: array![1.0] };
    /// let served = ServedPredictions::new("m", 1, &p).with_inputs(Arc::new(batch));
    /// assert_eq!(served.inputs.map(|b| b.num_rows()), Some(1));
    /// # Ok::<(), mlrig_core::arrow_schema::ArrowError>(())
    /// ```
    pub fn with_inputs(mut self, inputs: Arc<RecordBatch>) -> Self {
        self.inputs = Some(inputs);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classification_without_class_columns_scores_nan_instead_of_panicking() {
        let p = Predictions::Classification {
            classes: Vec::new(),
            probabilities: ndarray::Array2::zeros((2, 0)),
        };
        let served = ServedPredictions::new("m", 1, &p);
        assert_eq!(served.rows, 2);
        assert!(served.class_counts.is_empty());
        assert_eq!(served.scores.len(), 2);
        assert!(served.scores.iter().all(|s| s.is_nan()));
    }
}
