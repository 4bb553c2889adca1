//! [`ClassWeight`]: how much each class's rows count in an SGD classifier.

use serde::{Deserialize, Serialize};

/// Per-class weights of an [`SgdClassifier`](crate::SgdClassifier)
/// (scikit-learn's `class_weight`), multiplied into each row's step together
/// with its sample weight.
///
/// ```
/// use mlrig_train::ClassWeight;
/// // 6 rows: 4 of class 0, 2 of class 1 → n / (k · count).
/// assert_eq!(ClassWeight::Balanced.weights(&[0, 0, 1, 0, 1, 0], 2), vec![0.75, 1.5]);
/// assert_eq!(ClassWeight::Uniform.weights(&[0, 1], 2), vec![1.0, 1.0]);
/// assert_eq!(serde_json::to_string(&ClassWeight::Balanced)?, "\"balanced\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every class weighs 1 (scikit-learn's `class_weight=None`).
    #[default]
    Uniform,
    /// `n_rows / (n_classes · rows of the class)`: rare classes weigh more.
    /// Computed from the labels given to `fit` (sample weights are not used,
    /// as in scikit-learn), and kept for later `partial_fit` calls.
    Balanced,
}

impl ClassWeight {
    /// One weight per class, for `labels` (class indices below `n_classes`).
    /// A class without rows gets weight 1 under `Balanced`.
    ///
    /// See [`ClassWeight`] for an example.
    pub fn weights(self, labels: &[usize], n_classes: usize) -> Vec<f64> {
        match self {
            ClassWeight::Uniform => vec![1.0; n_classes],
            ClassWeight::Balanced => {
                let mut counts = vec![0usize; n_classes];
                for &label in labels {
                    if let Some(count) = counts.get_mut(label) {
                        *count += 1;
                    }
                }
                counts
                    .into_iter()
                    .map(|count| {
                        if count == 0 {
                            1.0
                        } else {
                            labels.len() as f64 / (n_classes * count) as f64
                        }
                    })
                    .collect()
            }
        }
    }
}
