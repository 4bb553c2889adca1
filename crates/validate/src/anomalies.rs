//! [`Anomalies`]: what validation found, in the tensorflow-metadata
//! `Anomalies` JSON mapping with mlrig's details added.
//!
//! ```json
//! {"anomalyInfo":{"age":{"path":{"step":["age"]},"severity":"ERROR",
//!   "shortDescription":"Out-of-range values","description":"…",
//!   "reason":[{"type":"INT_TYPE_BIG_INT","shortDescription":"Out-of-range values","description":"…",
//!              "expected":"at most 90","found":"120","count":"3","exampleRows":["0","4","7"]}]}}}
//! ```
//!
//! `anomalyInfo`, `path`, `severity`, `shortDescription`, `description`,
//! `reason[].type/shortDescription/description` and `dataMissing` are tfmd's;
//! `expected`, `found`, `count` and `exampleRows` (0-based data row indices)
//! are mlrig's additions to each reason, which proto parsers that ignore
//! unknown fields skip.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValidateError;
use crate::proto_json::{self, is_false, is_zero};

/// The kind of an anomaly, named as in tfmd's `AnomalyInfo.Type`.
///
/// ```
/// use mlrig_validate::AnomalyKind;
/// assert_eq!(AnomalyKind::IntTypeBigInt.name(), "INT_TYPE_BIG_INT");
/// assert_eq!(AnomalyKind::from_name("SCHEMA_NEW_COLUMN"), AnomalyKind::SchemaNewColumn);
/// assert_eq!(AnomalyKind::from_name("COMPARATOR_L_INFTY_HIGH"), AnomalyKind::ComparatorLInftyHigh);
/// assert_eq!(AnomalyKind::from_name("DATASET_LOW_NUM_EXAMPLES"), AnomalyKind::DatasetLowNumExamples);
/// assert_eq!(AnomalyKind::from_name("SPARSE_FEATURE_MISSING_VALUE"),
///            AnomalyKind::Other("SPARSE_FEATURE_MISSING_VALUE".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AnomalyKind {
    /// A schema feature has no column in the data.
    SchemaMissingColumn,
    /// A data column is not in the schema.
    SchemaNewColumn,
    /// The column's data type does not match the feature's type.
    UnexpectedDataType,
    /// String values outside the feature's domain.
    EnumTypeUnexpectedStringValues,
    /// Integers above the domain's `max`.
    IntTypeBigInt,
    /// Integers below the domain's `min`.
    IntTypeSmallInt,
    /// Floats above the domain's `max`.
    FloatTypeBigFloat,
    /// Floats below the domain's `min`.
    FloatTypeSmallFloat,
    /// NaN in a feature whose domain disallows it.
    FloatTypeHasNan,
    /// ±∞ in a feature whose domain disallows it.
    FloatTypeHasInf,
    /// The feature is present in too small a fraction of examples.
    FeatureTypeLowFractionPresent,
    /// The feature is present in too few examples.
    FeatureTypeLowNumberPresent,
    /// The L∞ distance between two datasets' value distributions is above
    /// the comparator's threshold.
    ComparatorLInftyHigh,
    /// The Jensen–Shannon divergence between two datasets' histograms is
    /// above the comparator's threshold.
    ComparatorJensenShannonDivergenceHigh,
    /// The normalized absolute count difference between two datasets is
    /// above the comparator's threshold.
    ComparatorNormalizedAbsoluteDifferenceHigh,
    /// Some examples have fewer values than `valueCount.min`.
    FeatureTypeLowNumberValues,
    /// Some examples have more values than `valueCount.max`.
    FeatureTypeHighNumberValues,
    /// `valueCounts` lists a different number of nesting levels than the
    /// data has (value counts are then not checked).
    ValueNestednessMismatch,
    /// The dataset has fewer examples than `datasetConstraints.minExamplesCount`
    /// (dataset-level).
    DatasetLowNumExamples,
    /// The dataset has more examples than `datasetConstraints.maxExamplesCount`
    /// (dataset-level).
    DatasetHighNumExamples,
    /// The ratio of examples to the previous span's or version's is below
    /// the comparator's `minFractionThreshold` (dataset-level).
    ComparatorLowNumExamples,
    /// The ratio of examples to the previous span's or version's is above
    /// the comparator's `maxFractionThreshold` (dataset-level).
    ComparatorHighNumExamples,
    /// Any other tfmd anomaly type (read from a file written elsewhere).
    Other(String),
}

const KIND_NAMES: [(AnomalyKind, &str); 22] = [
    (AnomalyKind::SchemaMissingColumn, "SCHEMA_MISSING_COLUMN"),
    (AnomalyKind::SchemaNewColumn, "SCHEMA_NEW_COLUMN"),
    (AnomalyKind::UnexpectedDataType, "UNEXPECTED_DATA_TYPE"),
    (
        AnomalyKind::EnumTypeUnexpectedStringValues,
        "ENUM_TYPE_UNEXPECTED_STRING_VALUES",
    ),
    (AnomalyKind::IntTypeBigInt, "INT_TYPE_BIG_INT"),
    (AnomalyKind::IntTypeSmallInt, "INT_TYPE_SMALL_INT"),
    (AnomalyKind::FloatTypeBigFloat, "FLOAT_TYPE_BIG_FLOAT"),
    (AnomalyKind::FloatTypeSmallFloat, "FLOAT_TYPE_SMALL_FLOAT"),
    (AnomalyKind::FloatTypeHasNan, "FLOAT_TYPE_HAS_NAN"),
    (AnomalyKind::FloatTypeHasInf, "FLOAT_TYPE_HAS_INF"),
    (
        AnomalyKind::FeatureTypeLowFractionPresent,
        "FEATURE_TYPE_LOW_FRACTION_PRESENT",
    ),
    (
        AnomalyKind::FeatureTypeLowNumberPresent,
        "FEATURE_TYPE_LOW_NUMBER_PRESENT",
    ),
    (AnomalyKind::ComparatorLInftyHigh, "COMPARATOR_L_INFTY_HIGH"),
    (
        AnomalyKind::ComparatorJensenShannonDivergenceHigh,
        "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH",
    ),
    (
        AnomalyKind::ComparatorNormalizedAbsoluteDifferenceHigh,
        "COMPARATOR_NORMALIZED_ABSOLUTE_DIFFERENCE_HIGH",
    ),
    (
        AnomalyKind::FeatureTypeLowNumberValues,
        "FEATURE_TYPE_LOW_NUMBER_VALUES",
    ),
    (
        AnomalyKind::FeatureTypeHighNumberValues,
        "FEATURE_TYPE_HIGH_NUMBER_VALUES",
    ),
    (
        AnomalyKind::ValueNestednessMismatch,
        "VALUE_NESTEDNESS_MISMATCH",
    ),
    (
        AnomalyKind::DatasetLowNumExamples,
        "DATASET_LOW_NUM_EXAMPLES",
    ),
    (
        AnomalyKind::DatasetHighNumExamples,
        "DATASET_HIGH_NUM_EXAMPLES",
    ),
    (
        AnomalyKind::ComparatorLowNumExamples,
        "COMPARATOR_LOW_NUM_EXAMPLES",
    ),
    (
        AnomalyKind::ComparatorHighNumExamples,
        "COMPARATOR_HIGH_NUM_EXAMPLES",
    ),
];

impl AnomalyKind {
    /// The tfmd name, e.g. `SCHEMA_MISSING_COLUMN`.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::AnomalyKind::SchemaMissingColumn.name(), "SCHEMA_MISSING_COLUMN");
    /// ```
    pub fn name(&self) -> &str {
        if let AnomalyKind::Other(name) = self {
            return name;
        }
        KIND_NAMES
            .iter()
            .find(|(kind, _)| kind == self)
            .map_or("UNKNOWN_TYPE", |(_, name)| name)
    }

    /// The kind named `name` ([`AnomalyKind::Other`] for names mlrig does not check).
    ///
    /// ```
    /// use mlrig_validate::AnomalyKind;
    /// assert_eq!(AnomalyKind::from_name("INT_TYPE_SMALL_INT"), AnomalyKind::IntTypeSmallInt);
    /// ```
    pub fn from_name(name: &str) -> Self {
        KIND_NAMES.iter().find(|(_, n)| *n == name).map_or_else(
            || AnomalyKind::Other(name.to_string()),
            |(kind, _)| kind.clone(),
        )
    }

    /// `true` for the kinds that are about individual values, whose rows
    /// [`ValidationOptions::with_all_rows`](crate::ValidationOptions::with_all_rows)
    /// lists in full: `ENUM_TYPE_UNEXPECTED_STRING_VALUES`,
    /// `INT_TYPE_SMALL_INT` / `INT_TYPE_BIG_INT`,
    /// `FLOAT_TYPE_SMALL_FLOAT` / `FLOAT_TYPE_BIG_FLOAT`, `FLOAT_TYPE_HAS_NAN`,
    /// `FLOAT_TYPE_HAS_INF`, and the value counts
    /// `FEATURE_TYPE_LOW_NUMBER_VALUES` / `FEATURE_TYPE_HIGH_NUMBER_VALUES`
    /// (every example with too few or too many values).
    ///
    /// The others are about a whole column (missing, new, of the wrong type,
    /// present too rarely) or a whole distribution (comparators); their
    /// example rows, if any, stay capped at
    /// [`max_example_rows`](crate::ValidationOptions::max_example_rows).
    ///
    /// ```
    /// use mlrig_validate::AnomalyKind;
    /// assert!(AnomalyKind::IntTypeBigInt.is_row_level());
    /// assert!(!AnomalyKind::SchemaMissingColumn.is_row_level());
    /// assert!(!AnomalyKind::FeatureTypeLowFractionPresent.is_row_level());
    /// ```
    pub fn is_row_level(&self) -> bool {
        matches!(
            self,
            AnomalyKind::EnumTypeUnexpectedStringValues
                | AnomalyKind::IntTypeSmallInt
                | AnomalyKind::IntTypeBigInt
                | AnomalyKind::FloatTypeSmallFloat
                | AnomalyKind::FloatTypeBigFloat
                | AnomalyKind::FloatTypeHasNan
                | AnomalyKind::FloatTypeHasInf
                | AnomalyKind::FeatureTypeLowNumberValues
                | AnomalyKind::FeatureTypeHighNumberValues
        )
    }

    /// `true` for the kinds about the dataset as a whole (example counts),
    /// which tfmd reports in `datasetAnomalyInfo` and mlrig under the
    /// feature name [`Anomaly::DATASET`].
    ///
    /// ```
    /// use mlrig_validate::AnomalyKind;
    /// assert!(AnomalyKind::DatasetLowNumExamples.is_dataset_level());
    /// assert!(!AnomalyKind::SchemaNewColumn.is_dataset_level());
    /// ```
    pub fn is_dataset_level(&self) -> bool {
        matches!(
            self,
            AnomalyKind::DatasetLowNumExamples
                | AnomalyKind::DatasetHighNumExamples
                | AnomalyKind::ComparatorLowNumExamples
                | AnomalyKind::ComparatorHighNumExamples
        )
    }

    /// A short, UI-sized description (tfmd's `shortDescription`).
    ///
    /// ```
    /// assert_eq!(mlrig_validate::AnomalyKind::SchemaNewColumn.short_description(), "New column");
    /// ```
    pub fn short_description(&self) -> &str {
        match self {
            AnomalyKind::SchemaMissingColumn => "Column dropped",
            AnomalyKind::SchemaNewColumn => "New column",
            AnomalyKind::UnexpectedDataType => "Unexpected data type",
            AnomalyKind::EnumTypeUnexpectedStringValues => "Unexpected string values",
            AnomalyKind::IntTypeBigInt
            | AnomalyKind::IntTypeSmallInt
            | AnomalyKind::FloatTypeBigFloat
            | AnomalyKind::FloatTypeSmallFloat => "Out-of-range values",
            AnomalyKind::FloatTypeHasNan => "Invalid values (NaN)",
            AnomalyKind::FloatTypeHasInf => "Invalid values (infinity)",
            AnomalyKind::FeatureTypeLowFractionPresent => "Column dropped (partially)",
            AnomalyKind::FeatureTypeLowNumberPresent => "Column dropped (too few examples)",
            AnomalyKind::ComparatorLInftyHigh => "High Linfty distance",
            AnomalyKind::ComparatorJensenShannonDivergenceHigh => {
                "High approximate Jensen-Shannon divergence"
            }
            AnomalyKind::ComparatorNormalizedAbsoluteDifferenceHigh => {
                "High normalized absolute difference"
            }
            AnomalyKind::FeatureTypeLowNumberValues => "Missing values",
            AnomalyKind::FeatureTypeHighNumberValues => "Superfluous values",
            AnomalyKind::ValueNestednessMismatch => "Mismatched value nest level",
            AnomalyKind::DatasetLowNumExamples => "Low num examples in dataset.",
            AnomalyKind::DatasetHighNumExamples => "High num examples in dataset.",
            AnomalyKind::ComparatorLowNumExamples => {
                "Low num examples in current dataset versus the previous span or version."
            }
            AnomalyKind::ComparatorHighNumExamples => {
                "High num examples in current dataset versus the previous span or version."
            }
            AnomalyKind::Other(_) => "Anomaly",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for AnomalyKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for AnomalyKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(AnomalyKind::from_name(&name))
    }
}

/// How serious an anomaly is (tfmd `AnomalyInfo.Severity`).
///
/// ```
/// use mlrig_validate::Severity;
/// assert!(Severity::Error > Severity::Warning);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Severity {
    /// Not specified (the proto default).
    #[default]
    Unknown,
    /// Worth a look.
    Warning,
    /// The data is not fit for use (everything mlrig reports today).
    Error,
}

/// One anomaly: a feature, a kind, and the evidence.
///
/// ```
/// use mlrig_validate::{Anomaly, AnomalyKind};
/// let a = Anomaly::new("age", AnomalyKind::IntTypeBigInt, "at most 90", "120", 3, vec![0, 4, 7]);
/// assert_eq!(a.to_string(),
///     "age: INT_TYPE_BIG_INT: expected at most 90, found 120 (3 examples; rows 0, 4, 7)");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Anomaly {
    /// The feature (column) name, or [`Anomaly::DATASET`] for an anomaly
    /// about the whole dataset.
    pub feature: String,
    /// The kind.
    pub kind: AnomalyKind,
    /// Severity.
    pub severity: Severity,
    /// A one-sentence description.
    pub description: String,
    /// What the schema expects, e.g. `at most 90`.
    pub expected: String,
    /// What the data has, e.g. `120`.
    pub found: String,
    /// How many examples (rows) or values are affected.
    pub count: u64,
    /// Affected 0-based data row indices, in increasing order: up to
    /// [`max_example_rows`](crate::ValidationOptions::max_example_rows), or
    /// every affected row for [row-level](AnomalyKind::is_row_level) kinds
    /// with [`all_rows`](crate::ValidationOptions::all_rows).
    pub example_rows: Vec<u64>,
    /// The fields of this tfmd `AnomalyInfo.Reason` that mlrig keeps and
    /// writes back but does not act on.
    pub unmodelled: crate::UnmodelledFields,
}

impl Anomaly {
    /// The [`feature`](Self::feature) of dataset-level anomalies (the empty
    /// name: tfmd reports them in `datasetAnomalyInfo`, not under a feature).
    /// They are listed first and displayed as `(dataset)`.
    ///
    /// ```
    /// use mlrig_validate::{Anomaly, AnomalyKind};
    /// let a = Anomaly::new(Anomaly::DATASET, AnomalyKind::DatasetLowNumExamples,
    ///     "at least 10 examples", "4 examples", 0, vec![]);
    /// assert_eq!(a.to_string(),
    ///     "(dataset): DATASET_LOW_NUM_EXAMPLES: expected at least 10 examples, found 4 examples");
    /// ```
    pub const DATASET: &'static str = "";

    /// Replaces the generated [`description`](Self::description) (e.g. with
    /// TFDV's wording).
    ///
    /// ```
    /// use mlrig_validate::{Anomaly, AnomalyKind};
    /// let a = Anomaly::new("x", AnomalyKind::FeatureTypeLowNumberValues, "2", "1", 1, vec![])
    ///     .with_description("Some examples have fewer values than expected.");
    /// assert_eq!(a.description, "Some examples have fewer values than expected.");
    /// ```
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// An anomaly of severity `ERROR` with a generated description.
    ///
    /// ```
    /// use mlrig_validate::{Anomaly, AnomalyKind};
    /// let a = Anomaly::new("x", AnomalyKind::SchemaNewColumn, "no column `x`", "a Utf8 column", 1, vec![]);
    /// assert!(a.description.contains("New column"));
    /// ```
    pub fn new(
        feature: impl Into<String>,
        kind: AnomalyKind,
        expected: impl Into<String>,
        found: impl Into<String>,
        count: u64,
        example_rows: Vec<u64>,
    ) -> Self {
        let (expected, found) = (expected.into(), found.into());
        let description = format!(
            "{}: expected {expected}, found {found} ({}).",
            kind.short_description(),
            examples(count)
        );
        Self {
            feature: feature.into(),
            kind,
            severity: Severity::Error,
            description,
            expected,
            found,
            count,
            example_rows,
            unmodelled: crate::UnmodelledFields::new(),
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.feature == Anomaly::DATASET {
            return write!(
                f,
                "(dataset): {}: expected {}, found {}",
                self.kind, self.expected, self.found
            );
        }
        write!(
            f,
            "{}: {}: expected {}, found {} ({}",
            self.feature,
            self.kind,
            self.expected,
            self.found,
            examples(self.count)
        )?;
        if !self.example_rows.is_empty() {
            let rows: Vec<String> = self.example_rows.iter().map(u64::to_string).collect();
            write!(f, "; rows {}", rows.join(", "))?;
        }
        f.write_str(")")
    }
}

/// Everything a validation found (tfmd `Anomalies`).
///
/// Anomalies are ordered by feature name, then in the order the checks run
/// (columns, types, values, presence).
///
/// ```
/// use mlrig_validate::{Anomalies, Anomaly, AnomalyKind};
/// let mut found = Anomalies::default();
/// assert!(found.is_empty());
/// assert_eq!(found.to_string(), "no anomalies");
/// found.push(Anomaly::new("device", AnomalyKind::SchemaNewColumn,
///     "no column `device`", "a Utf8 column", 400, vec![0, 1]));
/// assert_eq!(found.len(), 1);
/// let json = found.to_tfmd_json()?;
/// assert!(json.contains("\"type\": \"SCHEMA_NEW_COLUMN\""));
/// assert_eq!(Anomalies::from_tfmd_json(&json)?, found);
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Anomalies {
    anomalies: Vec<Anomaly>,
    /// `true` when the data had no examples at all (tfmd `dataMissing`).
    pub data_missing: bool,
    /// The top-level fields of the tfmd `Anomalies` message that mlrig keeps
    /// and writes back but does not act on (`baseline`, `driftSkewInfo`, …).
    pub unmodelled: crate::UnmodelledFields,
    /// Per feature (`""` for the dataset), the fields of its tfmd
    /// `AnomalyInfo` that mlrig keeps but does not act on (`diffRegions`, …).
    pub unmodelled_info: BTreeMap<String, crate::UnmodelledFields>,
}

impl Anomalies {
    /// `true` when nothing was found (and data was not missing).
    ///
    /// ```
    /// assert!(mlrig_validate::Anomalies::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.anomalies.is_empty() && !self.data_missing
    }

    /// Number of anomalies: one per feature and kind, plus one when the data
    /// had no examples (`data_missing`), so `len() == 0` exactly when
    /// [`is_empty`](Self::is_empty).
    ///
    /// ```
    /// let mut anomalies = mlrig_validate::Anomalies::default();
    /// assert_eq!(anomalies.len(), 0);
    /// anomalies.data_missing = true;
    /// assert_eq!((anomalies.len(), anomalies.iter().count()), (1, 0));
    /// ```
    pub fn len(&self) -> usize {
        self.anomalies.len() + usize::from(self.data_missing)
    }

    /// The anomalies, in order.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::Anomalies::default().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, Anomaly> {
        self.anomalies.iter()
    }

    /// The anomaly of `kind` for `feature`, if any.
    ///
    /// ```
    /// use mlrig_validate::{Anomalies, AnomalyKind};
    /// assert!(Anomalies::default().get("age", &AnomalyKind::IntTypeBigInt).is_none());
    /// ```
    pub fn get(&self, feature: &str, kind: &AnomalyKind) -> Option<&Anomaly> {
        self.anomalies
            .iter()
            .find(|a| a.feature == feature && a.kind == *kind)
    }

    /// Adds an anomaly, keeping the order by feature name (stable within a feature).
    ///
    /// ```
    /// use mlrig_validate::{Anomalies, Anomaly, AnomalyKind};
    /// let mut all = Anomalies::default();
    /// all.push(Anomaly::new("b", AnomalyKind::SchemaNewColumn, "-", "-", 1, vec![]));
    /// all.push(Anomaly::new("a", AnomalyKind::SchemaNewColumn, "-", "-", 1, vec![]));
    /// assert_eq!(all.iter().map(|a| a.feature.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn push(&mut self, anomaly: Anomaly) {
        let at = self
            .anomalies
            .partition_point(|a| a.feature <= anomaly.feature);
        self.anomalies.insert(at, anomaly);
    }

    /// Pretty JSON with a trailing newline.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::Anomalies::default().to_tfmd_json()?, "{}\n");
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn to_tfmd_json(&self) -> Result<String, ValidateError> {
        proto_json::to_pretty_json(self, "anomalies")
    }

    /// Parses JSON (tfmd `Anomalies`, with or without mlrig's additions).
    ///
    /// ```
    /// let a = mlrig_validate::Anomalies::from_tfmd_json(
    ///     r#"{"anomalyInfo":{"x":{"severity":"WARNING","reason":[{"type":"SCHEMA_NEW_COLUMN"}]}}}"#)?;
    /// assert_eq!(a.len(), 1);
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn from_tfmd_json(text: &str) -> Result<Self, ValidateError> {
        proto_json::from_json(text, "anomalies")
    }
}

impl<'a> IntoIterator for &'a Anomalies {
    type Item = &'a Anomaly;
    type IntoIter = std::slice::Iter<'a, Anomaly>;
    fn into_iter(self) -> Self::IntoIter {
        self.anomalies.iter()
    }
}

/// One line per anomaly; `no anomalies` when empty.
impl fmt::Display for Anomalies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no anomalies");
        }
        let mut first = true;
        if self.data_missing {
            f.write_str("(dataset): no examples")?;
            first = false;
        }
        for anomaly in &self.anomalies {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{anomaly}")?;
        }
        Ok(())
    }
}

/// `1 example`, `3 examples`.
fn examples(count: u64) -> String {
    if count == 1 {
        "1 example".to_string()
    } else {
        format!("{count} examples")
    }
}

// ---- wire format -------------------------------------------------------

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct PathWire {
    step: Vec<String>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ReasonWire {
    #[serde(rename = "type")]
    kind: Option<AnomalyKind>,
    #[serde(skip_serializing_if = "String::is_empty")]
    short_description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    expected: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    found: String,
    #[serde(with = "proto_json::int64", skip_serializing_if = "is_zero")]
    count: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    example_rows: Vec<RowWire>,
    #[serde(flatten)]
    unmodelled: crate::UnmodelledFields,
}

/// A row index written as a proto int64 string.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct RowWire(#[serde(with = "proto_json::int64")] u64);

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct InfoWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<PathWire>,
    severity: Severity,
    #[serde(skip_serializing_if = "String::is_empty")]
    short_description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    reason: Vec<ReasonWire>,
    #[serde(flatten)]
    unmodelled: crate::UnmodelledFields,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AnomaliesWire {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    anomaly_info: BTreeMap<String, InfoWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset_anomaly_info: Option<InfoWire>,
    #[serde(skip_serializing_if = "is_false")]
    data_missing: bool,
    #[serde(flatten)]
    unmodelled: crate::UnmodelledFields,
}

impl crate::TfmdFile for Anomalies {
    const MESSAGE: &'static str = "tensorflow.metadata.v0.Anomalies";
    const WHAT: &'static str = "anomalies";
    const JSON_EXTENSIONS: bool = true;
}

const SHORT_DESCRIPTION: &str = "shortDescription";
const DESCRIPTION: &str = "description";
const PATH: &str = "path";

/// An `AnomalyInfo`'s short description and description as mlrig writes
/// them: the one reason's, or "Multiple errors" and the reasons' joined.
fn summary(reasons: &[ReasonWire]) -> (String, String) {
    let short = match reasons {
        [single] => single.short_description.clone(),
        _ => "Multiple errors".to_string(),
    };
    let descriptions: Vec<&str> = reasons.iter().map(|r| r.description.as_str()).collect();
    (short, descriptions.join(" "))
}

impl Serialize for Anomalies {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut infos: BTreeMap<String, InfoWire> = BTreeMap::new();
        let mut dataset: Option<InfoWire> = None;
        for a in &self.anomalies {
            let info = if a.feature == Anomaly::DATASET {
                dataset.get_or_insert_with(|| InfoWire {
                    severity: a.severity,
                    ..InfoWire::default()
                })
            } else {
                infos.entry(a.feature.clone()).or_insert_with(|| InfoWire {
                    path: Some(PathWire {
                        step: vec![a.feature.clone()],
                    }),
                    severity: a.severity,
                    ..InfoWire::default()
                })
            };
            info.severity = info.severity.max(a.severity);
            let mut unmodelled = a.unmodelled.clone();
            let short_description = match unmodelled.remove(SHORT_DESCRIPTION) {
                Some(serde_json::Value::String(kept)) => kept,
                _ => a.kind.short_description().to_string(),
            };
            info.reason.push(ReasonWire {
                kind: Some(a.kind.clone()),
                short_description,
                description: a.description.clone(),
                expected: a.expected.clone(),
                found: a.found.clone(),
                count: a.count,
                example_rows: a.example_rows.iter().map(|r| RowWire(*r)).collect(),
                unmodelled,
            });
        }
        for info in infos.values_mut().chain(dataset.as_mut()) {
            (info.short_description, info.description) = summary(&info.reason);
        }
        // What was read and differs from what mlrig would write wins.
        for (feature, kept) in &self.unmodelled_info {
            let info = if feature == Anomaly::DATASET {
                dataset.as_mut()
            } else {
                infos.get_mut(feature)
            };
            let Some(info) = info else { continue };
            let mut kept = kept.clone();
            if let Some(serde_json::Value::String(s)) = kept.remove(SHORT_DESCRIPTION) {
                info.short_description = s;
            }
            if let Some(serde_json::Value::String(s)) = kept.remove(DESCRIPTION) {
                info.description = s;
            }
            if let Some(path) = kept.remove(PATH) {
                info.path = serde_json::from_value(path).ok();
            }
            info.unmodelled = kept;
        }
        AnomaliesWire {
            anomaly_info: infos,
            dataset_anomaly_info: dataset,
            data_missing: self.data_missing,
            unmodelled: self.unmodelled.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Anomalies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = AnomaliesWire::deserialize(deserializer)?;
        let mut anomalies = Vec::new();
        let mut unmodelled_info = BTreeMap::new();
        let dataset = wire
            .dataset_anomaly_info
            .map(|info| (Anomaly::DATASET.to_string(), info));
        for (feature, info) in dataset.into_iter().chain(wire.anomaly_info) {
            // Keep what differs from what mlrig would write back.
            let mut kept = info.unmodelled;
            let (short_description, description) = summary(&info.reason);
            if info.short_description != short_description {
                kept.insert(SHORT_DESCRIPTION.into(), info.short_description.into());
            }
            if info.description != description {
                kept.insert(DESCRIPTION.into(), info.description.into());
            }
            let own_path = (feature != Anomaly::DATASET).then(|| vec![feature.clone()]);
            if info.path.as_ref().map(|p| p.step.clone()) != own_path {
                kept.insert(
                    PATH.into(),
                    serde_json::to_value(&info.path).unwrap_or_default(),
                );
            }
            if !kept.is_empty() {
                unmodelled_info.insert(feature.clone(), kept);
            }
            for mut reason in info.reason {
                let kind = reason
                    .kind
                    .unwrap_or_else(|| AnomalyKind::Other("UNKNOWN_TYPE".into()));
                if reason.short_description != kind.short_description() {
                    reason
                        .unmodelled
                        .insert(SHORT_DESCRIPTION.into(), reason.short_description.into());
                }
                anomalies.push(Anomaly {
                    feature: feature.clone(),
                    kind,
                    severity: info.severity,
                    description: reason.description,
                    expected: reason.expected,
                    found: reason.found,
                    count: reason.count,
                    example_rows: reason.example_rows.into_iter().map(|r| r.0).collect(),
                    unmodelled: reason.unmodelled,
                });
            }
        }
        Ok(Anomalies {
            anomalies,
            data_missing: wire.data_missing,
            unmodelled: wire.unmodelled,
            unmodelled_info,
        })
    }
}
