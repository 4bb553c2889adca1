//! [`ColumnSpec`]: the transform of one input column.

use serde::{Deserialize, Serialize};

use super::encoding::{Encoding, InputKind};
use super::imputation::{ConstantValue, Imputation};
use crate::FeaturesError;

/// The transform of one input column.
///
/// ```
/// use mlrig_features::{ColumnSpec, Encoding, Imputation};
/// let c = ColumnSpec::standard_scale("age").with_impute(Imputation::Mean);
/// assert_eq!(c.name, "age");
/// assert_eq!(c.encode, Encoding::StandardScale);
/// let json = serde_json::to_string(&c).unwrap();
/// assert_eq!(json, r#"{"name":"age","impute":"mean","encode":"standard_scale"}"#);
/// let c = c.with_missing_indicator();
/// assert!(serde_json::to_string(&c).unwrap().contains(r#""missing_indicator":true"#));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ColumnSpec {
    /// The input column name (matched exactly).
    #[cfg_attr(feature = "schemars", schemars(length(min = 1)))]
    pub name: String,
    /// How missing values are filled; none (omitted, `None`) leaves them missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impute: Option<Imputation>,
    /// Add an output `name_missing`: 1 where the input value is missing
    /// (null, NaN, or an unparsable date), else 0, whether or not it is
    /// imputed (scikit-learn's `add_indicator=True`, but always present and
    /// placed right after the column's outputs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing_indicator: bool,
    /// How the column becomes features.
    pub encode: Encoding,
}

impl ColumnSpec {
    /// A column with `encode` and no imputation.
    ///
    /// ```
    /// use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::new("x", Encoding::Passthrough), ColumnSpec::passthrough("x"));
    /// ```
    pub fn new(name: impl Into<String>, encode: Encoding) -> Self {
        Self {
            name: name.into(),
            impute: None,
            missing_indicator: false,
            encode,
        }
    }

    /// A standard-scaled numeric column.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::standard_scale("x").encode, Encoding::StandardScale);
    /// ```
    pub fn standard_scale(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::StandardScale)
    }

    /// A one-hot encoded categorical column.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::one_hot("city").encode, Encoding::OneHot);
    /// ```
    pub fn one_hot(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::OneHot)
    }

    /// A categorical column encoded as its index in the sorted training
    /// categories (for gradient-boosted trees).
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::ordinal("city").encode, Encoding::Ordinal);
    /// ```
    pub fn ordinal(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::Ordinal)
    }

    /// A numeric column passed through as `f64`.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::passthrough("x").encode, Encoding::Passthrough);
    /// ```
    pub fn passthrough(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::Passthrough)
    }

    /// A column that is explicitly not used.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Encoding};
    /// assert_eq!(ColumnSpec::drop("id").encode, Encoding::Drop);
    /// ```
    pub fn drop(name: impl Into<String>) -> Self {
        Self::new(name, Encoding::Drop)
    }

    /// The same column with missing values filled by `impute`.
    ///
    /// ```
    /// # use mlrig_features::{ColumnSpec, Imputation};
    /// let c = ColumnSpec::one_hot("city").with_impute(Imputation::MostFrequent);
    /// assert_eq!(c.impute, Some(Imputation::MostFrequent));
    /// ```
    pub fn with_impute(mut self, impute: Imputation) -> Self {
        self.impute = Some(impute);
        self
    }

    /// The same column with a `name_missing` indicator output.
    ///
    /// ```
    /// # use mlrig_features::ColumnSpec;
    /// assert!(ColumnSpec::passthrough("x").with_missing_indicator().missing_indicator);
    /// ```
    pub fn with_missing_indicator(mut self) -> Self {
        self.missing_indicator = true;
        self
    }

    /// Checks that the imputation fits the encoding and the parameters are
    /// valid (types are checked at fit).
    pub(crate) fn check(&self) -> Result<(), FeaturesError> {
        let invalid = |reason: &str| FeaturesError::InvalidSpec {
            column: self.name.clone(),
            reason: reason.to_string(),
        };
        if self.name.is_empty() {
            return Err(invalid("the column name is empty"));
        }
        self.encode.check().map_err(|reason| invalid(&reason))?;
        let kind = self.encode.input_kind();
        if kind == InputKind::Unread && (self.impute.is_some() || self.missing_indicator) {
            return Err(invalid(
                "a dropped column is not read, so it cannot be imputed or get a missing \
                 indicator; remove `impute` and `missing_indicator`",
            ));
        }
        match (&self.impute, kind) {
            (Some(Imputation::Mean | Imputation::Median), InputKind::Categorical) => Err(invalid(
                "`impute = \"mean\"` and `\"median\"` need a numeric encoding; \
                 use \"most_frequent\" or a constant for categorical encodings",
            )),
            (Some(_), InputKind::DateText) => Err(invalid(
                "date_parts columns are not imputed (an unparsable date is missing); \
                 use `missing_indicator`",
            )),
            (Some(Imputation::Constant(ConstantValue::Float(v))), _) if !v.is_finite() => {
                Err(invalid("the constant fill value is not finite"))
            }
            (
                Some(Imputation::Constant(ConstantValue::Bool(_) | ConstantValue::Text(_))),
                InputKind::Numeric,
            ) => Err(invalid(
                "a numeric encoding needs a numeric constant fill value",
            )),
            _ => Ok(()),
        }
    }
}
