//! [`ClassWeight`]: scikit-learn's `class_weight`, turned into one weight per example.

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::target::ClassTarget;

/// How much each class counts in a classifier's loss.
///
/// ```
/// use mlrig_train::{ClassTarget, ClassWeight};
/// let y = ClassTarget::from_labels("y", ["a", "a", "a", "b"]);
/// assert_eq!(ClassWeight::Uniform.class_weights(&y), [1.0, 1.0]);
/// // n / (classes · count): the rare class counts 3× as much.
/// assert_eq!(ClassWeight::Balanced.class_weights(&y), [4.0 / 6.0, 2.0]);
/// assert_eq!(serde_json::to_string(&ClassWeight::Balanced).unwrap(), "\"balanced\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClassWeight {
    /// Every class weighs 1 (scikit-learn's `class_weight=None`).
    #[default]
    Uniform,
    /// `n / (classes · count(class))` from the unweighted class counts of the
    /// training rows, so each class carries the same total weight
    /// (scikit-learn's `class_weight="balanced"`).
    Balanced,
}

impl ClassWeight {
    /// One weight per class of `target`, in class order.
    ///
    /// See [`ClassWeight`] for an example.
    pub fn class_weights(self, target: &ClassTarget) -> Vec<f64> {
        self.weights(target.labels(), target.classes().len())
    }

    /// One weight per class for `labels` (class indices below `n_classes`);
    /// under `Balanced` a class without rows weighs 1 (there is nothing to
    /// balance, and a later `partial_fit` batch may bring it).
    ///
    /// ```
    /// use mlrig_train::ClassWeight;
    /// assert_eq!(ClassWeight::Balanced.weights(&[0, 0, 1, 0, 1, 0], 3), [0.5, 1.0, 1.0]);
    /// ```
    pub fn weights(self, labels: &[usize], n_classes: usize) -> Vec<f64> {
        match self {
            ClassWeight::Uniform => vec![1.0; n_classes],
            ClassWeight::Balanced => {
                let mut counts = vec![0u64; n_classes];
                for &label in labels {
                    if let Some(c) = counts.get_mut(label) {
                        *c += 1;
                    }
                }
                let n = labels.len() as f64;
                let k = n_classes as f64;
                counts
                    .iter()
                    .map(|&c| if c == 0 { 1.0 } else { n / (k * c as f64) })
                    .collect()
            }
        }
    }
}

/// Each example's weight: its sample weight times its class's weight.
pub(crate) fn example_weights(
    data: &Dataset<'_, ClassTarget>,
    class_weight: ClassWeight,
) -> Vec<f64> {
    let per_class = class_weight.class_weights(data.target());
    let labels = data.target().labels();
    labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            let sample = data
                .sample_weights()
                .and_then(|w| w.get(i).copied())
                .unwrap_or(1.0);
            sample * per_class.get(label).copied().unwrap_or(0.0)
        })
        .collect()
}
