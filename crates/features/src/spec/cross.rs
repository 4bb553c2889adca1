//! [`CrossSpec`]: a hashed cross of two categorical columns.

use serde::{Deserialize, Serialize};

use super::encoding_params::MAX_HASH_BUCKETS;
use crate::FeaturesError;

/// A feature cross: the pair of values of two categorical columns, hashed
/// (FNV-1a) into `buckets` one-hot columns named `a_x_b[i]`. A row with
/// either value missing has all zeros (crosses are not imputed).
///
/// ```
/// use mlrig_features::CrossSpec;
/// let c: CrossSpec = serde_json::from_str(r#"{"columns": ["city", "job"], "buckets": 32}"#).unwrap();
/// assert_eq!(c, CrossSpec::new("city", "job", 32));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CrossSpec {
    /// The two input columns (`Utf8`, `Boolean` or `Int64`), distinct.
    #[cfg_attr(feature = "schemars", schemars(extend("uniqueItems" = true)))]
    pub columns: [String; 2],
    /// Number of output columns, 1 to [`MAX_HASH_BUCKETS`] (2²⁴).
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = MAX_HASH_BUCKETS)))]
    pub buckets: u32,
}

impl CrossSpec {
    /// A cross of columns `a` and `b` into `buckets` columns.
    ///
    /// ```
    /// # use mlrig_features::CrossSpec;
    /// assert_eq!(CrossSpec::new("a", "b", 4).columns, ["a", "b"]);
    /// ```
    pub fn new(a: impl Into<String>, b: impl Into<String>, buckets: u32) -> Self {
        Self {
            columns: [a.into(), b.into()],
            buckets,
        }
    }

    /// The prefix of the output names, `a_x_b`.
    pub(crate) fn output_prefix(&self) -> String {
        format!("{}_x_{}", self.columns[0], self.columns[1])
    }

    pub(super) fn check(&self) -> Result<(), FeaturesError> {
        let invalid = |reason: String| FeaturesError::InvalidSpec {
            column: self.output_prefix(),
            reason,
        };
        let [a, b] = &self.columns;
        if a.is_empty() || b.is_empty() || a == b {
            return Err(invalid(
                "a cross needs two distinct, non-empty column names".into(),
            ));
        }
        if !(1..=MAX_HASH_BUCKETS).contains(&self.buckets) {
            return Err(invalid(format!(
                "cross: buckets = {} must be 1 to {MAX_HASH_BUCKETS}",
                self.buckets
            )));
        }
        Ok(())
    }
}
