//! [`Imputation`] and its [`ConstantValue`]: how missing values are filled.

use serde::{Deserialize, Serialize};

/// How missing values of a column are filled before encoding.
///
/// A value is missing when it is null or, in a `Float64` column, NaN.
/// Statistics are computed on the training data at fit time, as scikit-learn's
/// `SimpleImputer` does.
///
/// | imputation | inputs | fill value |
/// |---|---|---|
/// | `"mean"` | numeric encodings | mean of the non-missing values (exact sum) |
/// | `"median"` | numeric encodings | median from the quantile sketch (relative error ≤ 0.001) |
/// | `"most_frequent"` | numeric and categorical | most frequent value; ties to the smallest |
/// | `{"constant": v}` | numeric and categorical | `v`: a number for numeric encodings, else a value of the column's type |
///
/// ```
/// use mlrig_features::{ConstantValue, Imputation};
/// let i: Imputation = serde_json::from_str("\"most_frequent\"").unwrap();
/// assert_eq!(i, Imputation::MostFrequent);
/// let c: Imputation = serde_json::from_str(r#"{"constant": "unknown"}"#).unwrap();
/// assert_eq!(c, Imputation::Constant(ConstantValue::Text("unknown".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Imputation {
    /// The mean of the non-missing training values (numeric encodings).
    Mean,
    /// The median of the non-missing training values (numeric encodings),
    /// from the mergeable quantile sketch: within relative error 0.001 of
    /// the two middle values that `SimpleImputer(strategy="median")` averages.
    Median,
    /// The most frequent non-missing training value; ties go to the smallest
    /// value (numeric order, `false < true`, or string order by code point),
    /// like `SimpleImputer(strategy="most_frequent")`.
    MostFrequent,
    /// A fixed value, like `SimpleImputer(strategy="constant", fill_value=v)`.
    Constant(ConstantValue),
}

/// The fill value of [`Imputation::Constant`], written as a plain JSON/TOML
/// value (`0`, `2.5`, `true`, `"unknown"`).
///
/// ```
/// use mlrig_features::ConstantValue;
/// let v: Vec<ConstantValue> = serde_json::from_str(r#"[1, 1.5, false, "x"]"#).unwrap();
/// assert_eq!(v[0], ConstantValue::Int(1));
/// assert_eq!(v[1], ConstantValue::Float(1.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(untagged)]
#[non_exhaustive]
pub enum ConstantValue {
    /// A boolean (for `Boolean` columns).
    Bool(bool),
    /// An integer (numeric encodings, or categorical `Int64` columns).
    Int(i64),
    /// A number (numeric encodings).
    Float(f64),
    /// A string (for `Utf8` columns).
    Text(String),
}
