//! [`Predictions`]: what a model returns for a batch of features.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

/// Model output for a batch of examples.
///
/// ```
/// use mlrig_core::{Predictions, ndarray::array};
/// let p = Predictions::Classification {
///     classes: vec!["<=50K".into(), ">50K".into()],
///     probabilities: array![[0.9, 0.1], [0.3, 0.7]],
/// };
/// assert_eq!(p.len(), 2);
/// assert_eq!(p.labels().unwrap(), vec![0, 1]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Predictions {
    /// One real value per example.
    Regression {
        /// The predicted values.
        values: Array1<f64>,
    },
    /// Class probabilities per example (each row sums to 1).
    Classification {
        /// Class labels, one per probability column.
        classes: Vec<String>,
        /// `examples × classes` probabilities.
        probabilities: Array2<f64>,
    },
}

impl Predictions {
    /// Number of examples.
    ///
    /// ```
    /// # use mlrig_core::{Predictions, ndarray::array};
    /// assert_eq!(Predictions::Regression { values: array![1.0, 2.0] }.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Predictions::Regression { values } => values.len(),
            Predictions::Classification { probabilities, .. } => probabilities.nrows(),
        }
    }

    /// `true` when there are no examples.
    ///
    /// ```
    /// # use mlrig_core::{Predictions, ndarray::Array1};
    /// assert!(Predictions::Regression { values: Array1::zeros(0) }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// For classification, the index of the most probable class per example
    /// (ties go to the lowest index); `None` for regression.
    ///
    /// ```
    /// # use mlrig_core::{Predictions, ndarray::array};
    /// let p = Predictions::Regression { values: array![1.0] };
    /// assert!(p.labels().is_none());
    /// ```
    pub fn labels(&self) -> Option<Vec<usize>> {
        match self {
            Predictions::Regression { .. } => None,
            Predictions::Classification { probabilities, .. } => Some(
                probabilities
                    .rows()
                    .into_iter()
                    .map(|row| {
                        let mut best = 0;
                        for (i, p) in row.iter().enumerate() {
                            if *p > row[best] {
                                best = i;
                            }
                        }
                        best
                    })
                    .collect(),
            ),
        }
    }
}
