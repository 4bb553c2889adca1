//! [`TrainError`]: everything that can go wrong while training, predicting,
//! scoring or splitting.

use mlrig_core::arrow_schema::ArrowError;

/// A `Result` whose error is [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// The error type of `mlrig-train`.
///
/// Variants carry structured fields (row, column, expected vs found) so the
/// CLI and the server can report precisely what is wrong;
/// [`TrainError::is_invalid_input`] tells a caller's bad input apart from a
/// failure of the system.
///
/// ```
/// use mlrig_train::TrainError;
/// let e = TrainError::MissingTarget { column: "income".into(), count: 2, first_row: 17 };
/// assert_eq!(
///     e.to_string(),
///     "target column `income`: 2 missing values (first at row 17); drop or impute them before training"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// An error from `mlrig-core` (artifact I/O, features construction, …).
    #[error(transparent)]
    Core(#[from] mlrig_core::Error),
    /// An error reported by Arrow.
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    /// A parameter is outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter name, e.g. `l2_penalty`.
        name: String,
        /// Why the value is invalid.
        reason: String,
    },
    /// An input that must have at least `required` elements has fewer.
    #[error("{what}: need at least {required} value(s), found {found}")]
    TooFewValues {
        /// What was too short, e.g. `roc_auc: y_true`.
        what: String,
        /// The minimum length.
        required: usize,
        /// The length found.
        found: usize,
    },
    /// Two inputs that must have the same length do not.
    #[error("length mismatch in {what}: expected {expected}, found {found}")]
    LengthMismatch {
        /// What was compared, e.g. `r2: y_pred vs y_true`.
        what: String,
        /// The expected length.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A value is NaN or infinite where a finite number is required.
    #[error("{what}: non-finite value {value} at row {row}{}", column_suffix(column.as_deref()))]
    NonFinite {
        /// What holds the value, e.g. `features` or `r2: y_pred`.
        what: String,
        /// The row (0-based).
        row: usize,
        /// The column, when the value is in a matrix.
        column: Option<String>,
        /// The value found.
        value: f64,
    },
    /// Features given to a fitted model do not match the features it was trained on.
    #[error("feature shape mismatch: expected {expected}, got {got}")]
    ShapeMismatch {
        /// What the model was trained on.
        expected: String,
        /// What was given.
        got: String,
    },
    /// A target column has missing (null) values.
    #[error(
        "target column `{column}`: {count} missing values (first at row {first_row}); \
         drop or impute them before training"
    )]
    MissingTarget {
        /// The target column.
        column: String,
        /// How many values are missing.
        count: usize,
        /// The first row (0-based) with a missing value.
        first_row: usize,
    },
    /// A column has an Arrow type this operation does not accept.
    #[error("column `{column}`: expected {expected}, found Arrow type {found}")]
    UnsupportedColumnType {
        /// The column.
        column: String,
        /// The accepted types.
        expected: String,
        /// The type found.
        found: String,
    },
    /// A classification target does not have the number of classes a model needs.
    #[error("target `{column}`: expected {expected}, found {} class(es): [{}]", classes.len(), classes.join(", "))]
    WrongClassCount {
        /// The target column.
        column: String,
        /// What was expected, e.g. `exactly 2 classes (binary)`.
        expected: String,
        /// The classes found, sorted.
        classes: Vec<String>,
    },
    /// A metric is mathematically undefined for this input.
    #[error("{metric} is undefined: {reason}")]
    UndefinedMetric {
        /// The metric, e.g. `roc_auc`.
        metric: String,
        /// Why, e.g. `y_true has only one class`.
        reason: String,
    },
    /// A column named by the caller is not in the batch.
    #[error("column `{column}` not found; available columns: {available}")]
    MissingColumn {
        /// The column asked for.
        column: String,
        /// The columns present, comma separated.
        available: String,
    },
    /// A linear system could not be solved even after stabilisation.
    #[error("numerical failure in {what}: {reason}")]
    Numerical {
        /// The computation, e.g. `linear regression normal equations`.
        what: String,
        /// What went wrong.
        reason: String,
    },
}

fn column_suffix(column: Option<&str>) -> String {
    column
        .map(|c| format!(", column `{c}`"))
        .unwrap_or_default()
}

impl TrainError {
    /// `true` when the error is caused by the caller's input (features that
    /// do not match the model, non-finite values, bad targets), so a server
    /// answers 400 rather than 500.
    ///
    /// ```
    /// use mlrig_train::TrainError;
    /// let e = TrainError::ShapeMismatch { expected: "3 features".into(), got: "2".into() };
    /// assert!(e.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        match self {
            TrainError::Core(e) => e.is_invalid_input(),
            TrainError::Arrow(_) | TrainError::Numerical { .. } => false,
            TrainError::InvalidParameter { .. }
            | TrainError::TooFewValues { .. }
            | TrainError::LengthMismatch { .. }
            | TrainError::NonFinite { .. }
            | TrainError::ShapeMismatch { .. }
            | TrainError::MissingTarget { .. }
            | TrainError::UnsupportedColumnType { .. }
            | TrainError::WrongClassCount { .. }
            | TrainError::UndefinedMetric { .. }
            | TrainError::MissingColumn { .. } => true,
        }
    }

    pub(crate) fn invalid_parameter(name: &str, reason: impl Into<String>) -> Self {
        TrainError::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_row_and_column() {
        let e = TrainError::NonFinite {
            what: "features".into(),
            row: 3,
            column: Some("age".into()),
            value: f64::NAN,
        };
        assert_eq!(
            e.to_string(),
            "features: non-finite value NaN at row 3, column `age`"
        );
        let e = TrainError::WrongClassCount {
            column: "y".into(),
            expected: "exactly 2 classes (binary)".into(),
            classes: vec!["a".into()],
        };
        assert_eq!(
            e.to_string(),
            "target `y`: expected exactly 2 classes (binary), found 1 class(es): [a]"
        );
    }

    #[test]
    fn core_errors_keep_their_classification() {
        let e: TrainError = mlrig_core::Error::MissingField {
            instance: None,
            field: "x".into(),
        }
        .into();
        assert!(e.is_invalid_input());
        let e: TrainError = mlrig_core::Error::io("f", std::io::Error::other("disk")).into();
        assert!(!e.is_invalid_input());
    }
}
