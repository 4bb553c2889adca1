//! [`Contributions`]: how much each feature moved each prediction.

use std::collections::HashSet;

use ndarray::{Array3, Axis};

use crate::{Error, Result};

/// Per-feature contributions to a batch's predictions (e.g. TreeSHAP values),
/// as returned by [`Servable::contributions`](crate::Servable::contributions).
///
/// `values` is `rows × groups × (features + 1)`: entry `[r, g, f]` is how much
/// feature `features[f]` moved row `r`'s score of group `g` away from the
/// bias, which is the last entry `[r, g, features.len()]`. Each row's and
/// group's entries sum to the model's score for it, on the model's **raw
/// margin scale** (before the link function): log-odds for a binary
/// classifier, the softmax logit of the class for a multiclass one, the
/// predicted value (or its log for a log-link objective) for regression.
///
/// What each group explains, [`groups`](Self::groups):
///
/// | model | groups |
/// |---|---|
/// | binary classification | one: the positive class `classes[1]` (the log-odds of `classes[1]` against `classes[0]`) |
/// | multiclass classification | one per class, in class order |
/// | regression | one: the target name |
///
/// Built with [`Contributions::new`], which checks the shape and the names,
/// so a value of this type can always be written as a JSON object per row
/// keyed by feature name plus [`Contributions::BIAS`].
///
/// ```
/// use mlrig_core::{Contributions, ndarray::array};
/// // Two rows of a binary classifier with features `age` and `hours`.
/// let c = Contributions::new(
///     vec!["age".into(), "hours".into()],
///     vec![">50K".into()],
///     array![[[0.5, -0.25, -1.0]], [[1.0, 0.5, -1.0]]],
/// )?;
/// assert_eq!((c.len(), c.groups(), c.features().len()), (2, &[">50K".to_string()][..], 2));
/// // age + hours + bias = the log-odds of `>50K` for row 1
/// assert_eq!(c.row_sum(1, 0), Some(0.5));
/// assert_eq!(c.bias(1, 0), Some(-1.0));
/// # Ok::<(), mlrig_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Contributions {
    features: Vec<String>,
    groups: Vec<String>,
    values: Array3<f64>,
}

impl Contributions {
    /// The name of the bias entry wherever contributions are keyed by
    /// feature name (the JSON response of `mlrig-serve`). It is
    /// parenthesized so it cannot be mistaken for a feature, and it is used
    /// for every model; [`Contributions::new`] refuses a feature of this name.
    ///
    /// ```
    /// assert_eq!(mlrig_core::Contributions::BIAS, "(bias)");
    /// ```
    pub const BIAS: &'static str = "(bias)";

    /// Contributions of `features` to the scores of `groups`, `values` being
    /// `rows × groups.len() × (features.len() + 1)` with the bias last.
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidParameter`] when `values` does not have that shape
    ///   (a bug of the model that computed them);
    /// * [`Error::Unsupported`] (the caller's request cannot be answered,
    ///   [`Error::is_invalid_input`]) when a feature or a group name appears
    ///   twice or a feature is named [`Contributions::BIAS`]: such
    ///   contributions cannot be told apart by name.
    ///
    /// ```
    /// use mlrig_core::{Contributions, ndarray::{Array3, array}};
    /// let ok = Contributions::new(vec!["x".into()], vec!["y".into()], array![[[2.0, 1.0]]])?;
    /// assert_eq!(ok.values()[[0, 0, 1]], 1.0);
    ///
    /// let e = Contributions::new(vec!["x".into()], vec!["y".into()], Array3::zeros((1, 1, 3))).unwrap_err();
    /// assert!(e.to_string().contains("1 rows × 1 groups × 2"), "{e}");
    /// let e = Contributions::new(vec!["(bias)".into()], vec!["y".into()], Array3::zeros((1, 1, 2))).unwrap_err();
    /// assert!(e.is_invalid_input() && e.to_string().contains("`(bias)`"), "{e}");
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn new(features: Vec<String>, groups: Vec<String>, values: Array3<f64>) -> Result<Self> {
        let (rows, n_groups, width) = values.dim();
        if n_groups != groups.len() || width != features.len() + 1 {
            return Err(Error::InvalidParameter {
                name: "values".into(),
                reason: format!(
                    "contributions of {} features to {} groups must be \
                     {rows} rows × {} groups × {} (the features and the bias), found {rows} × {n_groups} × {width}",
                    features.len(),
                    groups.len(),
                    groups.len(),
                    features.len() + 1
                ),
            });
        }
        if let Some(clash) = features.iter().find(|f| f.as_str() == Self::BIAS) {
            return Err(unnameable(format!(
                "the model has a feature named `{clash}`, the name reserved for the bias"
            )));
        }
        if let Some(twice) = first_repeated(&features) {
            return Err(unnameable(format!(
                "the model has two features named `{twice}`"
            )));
        }
        if let Some(twice) = first_repeated(&groups) {
            return Err(unnameable(format!(
                "the model has two groups (classes) named `{twice}`"
            )));
        }
        Ok(Self {
            features,
            groups,
            values,
        })
    }

    /// The feature names, in the order of the third axis of
    /// [`values`](Self::values) (the bias follows them).
    ///
    /// ```
    /// # use mlrig_core::{Contributions, ndarray::array};
    /// let c = Contributions::new(vec!["x".into()], vec!["y".into()], array![[[2.0, 1.0]]])?;
    /// assert_eq!(c.features(), ["x"]);
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// What each group explains (see the [type docs](Self)): the positive
    /// class of a binary classifier, every class of a multiclass one, the
    /// target of a regression model.
    ///
    /// ```
    /// # use mlrig_core::{Contributions, ndarray::Array3};
    /// let c = Contributions::new(vec!["x".into()], vec!["a".into(), "b".into(), "c".into()], Array3::zeros((4, 3, 2)))?;
    /// assert_eq!(c.groups(), ["a", "b", "c"]);
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// `rows × groups × (features + 1)`, the bias last.
    ///
    /// ```
    /// # use mlrig_core::{Contributions, ndarray::Array3};
    /// let c = Contributions::new(vec!["x".into()], vec!["y".into()], Array3::zeros((4, 1, 2)))?;
    /// assert_eq!(c.values().dim(), (4, 1, 2));
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn values(&self) -> &Array3<f64> {
        &self.values
    }

    /// Number of rows (predictions explained).
    ///
    /// ```
    /// # use mlrig_core::{Contributions, ndarray::Array3};
    /// let c = Contributions::new(vec![], vec!["y".into()], Array3::zeros((3, 1, 1)))?;
    /// assert_eq!(c.len(), 3);
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.values.dim().0
    }

    /// `true` when there are no rows.
    ///
    /// ```
    /// # use mlrig_core::{Contributions, ndarray::Array3};
    /// let c = Contributions::new(vec![], vec!["y".into()], Array3::zeros((0, 1, 1)))?;
    /// assert!(c.is_empty());
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bias of row `row` and group `group`: the model's score before
    /// any feature is known (for trees, their mean output over the training
    /// rows); `None` when either index is out of range.
    ///
    /// ```
    /// # use mlrig_core::{Contributions, ndarray::array};
    /// let c = Contributions::new(vec!["x".into()], vec!["y".into()], array![[[2.0, 1.0]]])?;
    /// assert_eq!((c.bias(0, 0), c.bias(1, 0)), (Some(1.0), None));
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn bias(&self, row: usize, group: usize) -> Option<f64> {
        self.values.get([row, group, self.features.len()]).copied()
    }

    /// The sum of row `row`'s contributions to group `group`, bias
    /// included: the model's raw score; `None` when either index is out of
    /// range.
    ///
    /// ```
    /// # use mlrig_core::{Contributions, ndarray::array};
    /// let c = Contributions::new(vec!["x".into()], vec!["y".into()], array![[[2.0, 1.0]]])?;
    /// assert_eq!((c.row_sum(0, 0), c.row_sum(0, 1)), (Some(3.0), None));
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn row_sum(&self, row: usize, group: usize) -> Option<f64> {
        let (rows, groups, _) = self.values.dim();
        (row < rows && group < groups)
            .then(|| self.values.index_axis(Axis(0), row).row(group).iter().sum())
    }

    /// The parts: `(features, groups, values)`.
    ///
    /// ```
    /// # use mlrig_core::{Contributions, ndarray::array};
    /// let c = Contributions::new(vec!["x".into()], vec!["y".into()], array![[[2.0, 1.0]]])?;
    /// let (features, groups, values) = c.into_parts();
    /// assert_eq!((features.len(), groups.len(), values.len()), (1, 1, 2));
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn into_parts(self) -> (Vec<String>, Vec<String>, Array3<f64>) {
        (self.features, self.groups, self.values)
    }
}

fn unnameable(reason: String) -> Error {
    Error::Unsupported {
        what: "contributions".into(),
        reason: format!("{reason}, so contributions cannot be reported by name"),
    }
}

fn first_repeated(names: &[String]) -> Option<&str> {
    let mut seen = HashSet::with_capacity(names.len());
    names
        .iter()
        .find(|n| !seen.insert(n.as_str()))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_distinct() {
        let e = Contributions::new(
            vec!["a".into(), "a".into()],
            vec!["y".into()],
            Array3::zeros((1, 1, 3)),
        )
        .unwrap_err();
        assert!(e.is_invalid_input());
        assert!(
            e.to_string()
                .contains("two features named `a`, so contributions cannot"),
            "{e}"
        );
        let e = Contributions::new(
            vec!["a".into()],
            vec!["k".into(), "k".into()],
            Array3::zeros((1, 2, 2)),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("two groups (classes) named `k`"),
            "{e}"
        );
    }

    #[test]
    fn a_wrong_shape_is_not_the_callers_fault() {
        let e = Contributions::new(
            vec!["a".into()],
            vec!["y".into(), "z".into()],
            Array3::zeros((2, 1, 2)),
        )
        .unwrap_err();
        assert!(!e.is_invalid_input());
        assert!(e.to_string().contains("found 2 × 1 × 2"), "{e}");
    }
}
