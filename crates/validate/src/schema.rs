//! [`Schema`]: what valid data looks like, in the tensorflow-metadata `Schema`
//! JSON mapping.
//!
//! The Rust types mirror `schema.proto` for the fields mlrig reads and writes
//! (names are the proto's, in Rust case; `feature` is [`Schema::features`]).
//! On the wire:
//!
//! ```json
//! {"feature":[{"name":"age","type":"INT","presence":{"minFraction":1.0,"minCount":"1"},
//!              "shape":{"dim":[{"size":"1"}]},"intDomain":{"min":"17","max":"90"}},
//!             {"name":"workclass","type":"BYTES","domain":"workclass","presence":{"minCount":"1"}}],
//!  "stringDomain":[{"name":"workclass","value":["Federal-gov","Private"]}],
//!  "defaultEnvironment":["TRAINING","SERVING"]}
//! ```
//!
//! A tfmd field mlrig does not act on is kept in `unmodelled` and written
//! back unchanged; a field `schema.proto` does not have (a misspelt one) is
//! an error on reading (naming the field and the line and column), in JSON as
//! in text format: a schema is often edited by hand and written back by
//! `update_schema`, and silently dropping a constraint would lose the user's
//! edit without a word. `FloatDomain.min/max`
//! are `float` (32-bit) in the proto; mlrig keeps them as `f64` and schema
//! inference rounds them outwards to `f32` values, so every reader sees the
//! same bounds.

use serde::{Deserialize, Serialize};

use crate::ValidateError;
use crate::proto_json::{is_false, opt_double, opt_int64};

mod comparators;

pub use comparators::{
    DatasetConstraints, FeatureComparator, HistogramSelection, HistogramSelectionType,
    InfinityNorm, JensenShannonDivergence, NormalizedAbsoluteDifference, NumericValueComparator,
};

/// A dataset schema (tfmd `Schema`).
///
/// ```
/// use mlrig_validate::{Feature, FeatureType, Schema};
/// let mut schema = Schema::default();
/// schema.features.push(Feature::new("age", FeatureType::Int));
/// let json = schema.to_tfmd_json()?;
/// assert!(json.contains("\"type\": \"INT\""));
/// assert_eq!(Schema::from_tfmd_json(&json)?, schema);
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Schema {
    /// The features (`feature`).
    #[serde(rename = "feature", skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<Feature>,
    /// Schema-level string domains, referenced by [`Feature::domain`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub string_domain: Vec<StringDomain>,
    /// Schema-level float domains, referenced by [`Feature::domain`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub float_domain: Vec<FloatDomain>,
    /// Schema-level int domains, referenced by [`Feature::domain`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub int_domain: Vec<IntDomain>,
    /// Environments every feature is in unless it says otherwise, e.g.
    /// `["TRAINING", "SERVING"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub default_environment: Vec<String>,
    /// Constraints on the dataset as a whole: example counts, and how much
    /// they may change between spans or versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_constraints: Option<DatasetConstraints>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

impl Schema {
    /// The feature called `name`.
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.features.push(Feature::new("x", FeatureType::Float));
    /// assert_eq!(schema.feature("x").map(|f| f.feature_type), Some(FeatureType::Float));
    /// ```
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The feature called `name`, mutable (to add constraints by hand).
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.features.push(Feature::new("income", FeatureType::Bytes));
    /// schema.feature_mut("income").unwrap().not_in_environment.push("SERVING".into());
    /// ```
    pub fn feature_mut(&mut self, name: &str) -> Option<&mut Feature> {
        self.features.iter_mut().find(|f| f.name == name)
    }

    /// All features, in schema order.
    ///
    /// ```
    /// assert!(mlrig_validate::Schema::default().features().is_empty());
    /// ```
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// Every environment the schema mentions (default, `inEnvironment`,
    /// `notInEnvironment`), sorted and deduplicated.
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.default_environment = vec!["TRAINING".into(), "SERVING".into()];
    /// assert_eq!(schema.environments(), vec!["SERVING", "TRAINING"]);
    /// ```
    pub fn environments(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .default_environment
            .iter()
            .chain(
                self.features
                    .iter()
                    .flat_map(|f| f.in_environment.iter().chain(f.not_in_environment.iter())),
            )
            .map(String::as_str)
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// `true` when `feature` is expected in `environment` (TFDV's rule: the
    /// environment is in `inEnvironment` or the schema's `defaultEnvironment`,
    /// and not in `notInEnvironment`).
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.default_environment = vec!["TRAINING".into(), "SERVING".into()];
    /// let mut label = Feature::new("income", FeatureType::Bytes);
    /// label.not_in_environment.push("SERVING".into());
    /// assert!(schema.is_in_environment(&label, "TRAINING"));
    /// assert!(!schema.is_in_environment(&label, "SERVING"));
    /// ```
    pub fn is_in_environment(&self, feature: &Feature, environment: &str) -> bool {
        let listed = feature.in_environment.iter().any(|e| e == environment)
            || self.default_environment.iter().any(|e| e == environment);
        listed && !feature.not_in_environment.iter().any(|e| e == environment)
    }

    /// `Err(UnknownEnvironment)` when `environment` is given and the schema
    /// does not mention it (the validator's and the updater's first check).
    pub(crate) fn require_environment(
        &self,
        environment: Option<&str>,
    ) -> Result<(), ValidateError> {
        let Some(environment) = environment else {
            return Ok(());
        };
        let known = self.environments();
        if known.contains(&environment) {
            return Ok(());
        }
        Err(ValidateError::UnknownEnvironment {
            environment: environment.to_string(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        })
    }

    /// Whether the data is checked against `feature`: it is validated (not
    /// deprecated) and expected in `environment`, when one is given.
    pub(crate) fn checks_feature(&self, feature: &Feature, environment: Option<&str>) -> bool {
        feature.is_validated() && environment.is_none_or(|env| self.is_in_environment(feature, env))
    }

    /// The string domain of `feature`: inline, or the schema-level domain its
    /// `domain` names. `Err` names a `domain` that does not exist.
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType, Schema, StringDomain};
    /// let mut schema = Schema::default();
    /// schema.string_domain.push(StringDomain::new("colour", ["red", "blue"]));
    /// let mut f = Feature::new("colour", FeatureType::Bytes);
    /// f.domain = Some("colour".into());
    /// assert_eq!(schema.string_domain_of(&f).unwrap().unwrap().value.len(), 2);
    /// ```
    pub fn string_domain_of<'a>(
        &'a self,
        feature: &'a Feature,
    ) -> Result<Option<&'a StringDomain>, ValidateError> {
        if let Some(inline) = &feature.string_domain {
            return Ok(Some(inline));
        }
        let Some(name) = &feature.domain else {
            return Ok(None);
        };
        let by_name = |d: &&StringDomain| d.name.as_deref() == Some(name.as_str());
        let in_ints = self
            .int_domain
            .iter()
            .any(|d| d.name.as_deref() == Some(name));
        let in_floats = self
            .float_domain
            .iter()
            .any(|d| d.name.as_deref() == Some(name));
        match self.string_domain.iter().find(by_name) {
            Some(d) => Ok(Some(d)),
            None if in_ints || in_floats => Ok(None),
            None => Err(ValidateError::InvalidSchema {
                feature: feature.name.clone(),
                reason: format!("`domain` names `{name}`, which the schema does not define"),
            }),
        }
    }

    /// The int domain of `feature` (inline or by `domain` name).
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType, IntDomain, Schema};
    /// let mut f = Feature::new("age", FeatureType::Int);
    /// f.int_domain = Some(IntDomain { min: Some(0), ..IntDomain::default() });
    /// assert_eq!(Schema::default().int_domain_of(&f).unwrap().min, Some(0));
    /// ```
    pub fn int_domain_of<'a>(&'a self, feature: &'a Feature) -> Option<&'a IntDomain> {
        feature.int_domain.as_ref().or_else(|| {
            let name = feature.domain.as_deref()?;
            self.int_domain
                .iter()
                .find(|d| d.name.as_deref() == Some(name))
        })
    }

    /// The float domain of `feature` (inline or by `domain` name).
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType, FloatDomain, Schema};
    /// let f = Feature::new("x", FeatureType::Float);
    /// assert!(Schema::default().float_domain_of(&f).is_none());
    /// ```
    pub fn float_domain_of<'a>(&'a self, feature: &'a Feature) -> Option<&'a FloatDomain> {
        feature.float_domain.as_ref().or_else(|| {
            let name = feature.domain.as_deref()?;
            self.float_domain
                .iter()
                .find(|d| d.name.as_deref() == Some(name))
        })
    }
}

impl mlrig_core::Artifact for Schema {
    const KIND: &'static str = "mlrig.validate.schema";
    const FORMAT_VERSION: u32 = 1;
}

/// The physical type of a feature (tfmd `FeatureType`).
///
/// ```
/// use mlrig_validate::FeatureType;
/// assert_eq!(serde_json::to_string(&FeatureType::Bytes).unwrap(), "\"BYTES\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum FeatureType {
    /// Not specified: no type check.
    #[default]
    TypeUnknown,
    /// Strings or bytes (Arrow `Utf8`).
    Bytes,
    /// Integers (Arrow `Int64`) and booleans.
    Int,
    /// Floating point (Arrow `Float64`).
    Float,
    /// Nested structures (not checked).
    Struct,
}

impl FeatureType {
    fn is_unknown(&self) -> bool {
        *self == FeatureType::TypeUnknown
    }
}

/// The lifecycle stage of a feature (tfmd `LifecycleStage`). Only
/// `UNKNOWN_STAGE`, `BETA`, `PRODUCTION` and `VALIDATION_DERIVED` features are
/// validated, as in TFDV.
///
/// ```
/// use mlrig_validate::LifecycleStage;
/// assert!(LifecycleStage::Production.is_validated());
/// assert!(!LifecycleStage::Deprecated.is_validated());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum LifecycleStage {
    /// Unknown stage (validated).
    #[default]
    UnknownStage,
    /// Planned, may not exist yet.
    Planned,
    /// Prototype.
    Alpha,
    /// In user-facing experiments.
    Beta,
    /// In production.
    Production,
    /// No longer supported.
    Deprecated,
    /// For debugging only.
    DebugOnly,
    /// Disabled.
    Disabled,
    /// Derived for validation.
    ValidationDerived,
}

impl LifecycleStage {
    /// `true` for the stages TFDV validates.
    ///
    /// ```
    /// assert!(mlrig_validate::LifecycleStage::UnknownStage.is_validated());
    /// ```
    pub fn is_validated(&self) -> bool {
        matches!(
            self,
            LifecycleStage::UnknownStage
                | LifecycleStage::Beta
                | LifecycleStage::Production
                | LifecycleStage::ValidationDerived
        )
    }
}

/// One feature of a [`Schema`] (tfmd `Feature`).
///
/// ```
/// use mlrig_validate::{Feature, FeaturePresence, FeatureType};
/// let mut f = Feature::new("age", FeatureType::Int);
/// f.presence = Some(FeaturePresence { unmodelled: Default::default(), min_fraction: Some(1.0), min_count: Some(1) });
/// assert_eq!(
///     serde_json::to_string(&f).unwrap(),
///     r#"{"name":"age","type":"INT","presence":{"minFraction":1.0,"minCount":"1"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Feature {
    /// The feature (column) name.
    pub name: String,
    /// The physical type.
    #[serde(rename = "type", skip_serializing_if = "FeatureType::is_unknown")]
    pub feature_type: FeatureType,
    /// Presence constraints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<FeaturePresence>,
    /// Fixed shape (`[1]` for a scalar that is always present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<FixedShape>,
    /// Bounds on the number of values when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_count: Option<ValueCount>,
    /// Bounds on the number of values at each nesting level (outermost
    /// first), for nested lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_counts: Option<ValueCountList>,
    /// Name of a schema-level domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Inline integer domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub int_domain: Option<IntDomain>,
    /// Inline float domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub float_domain: Option<FloatDomain>,
    /// Inline string domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_domain: Option<StringDomain>,
    /// Boolean domain (an `INT` feature with values 0/1, or strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bool_domain: Option<BoolDomain>,
    /// How much of the values must come from the domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution_constraints: Option<DistributionConstraints>,
    /// Environments the feature is in besides the defaults.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub in_environment: Vec<String>,
    /// Environments the feature is not in (e.g. a label at `SERVING`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_in_environment: Vec<String>,
    /// Lifecycle stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Deprecated in tfmd in favour of `lifecycleStage: DEPRECATED`; honoured.
    #[serde(skip_serializing_if = "is_false")]
    pub deprecated: bool,
    /// Training/serving skew check (see [`compare_skew`](crate::compare_skew)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew_comparator: Option<FeatureComparator>,
    /// Drift check against previous data (see [`compare`](crate::compare)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_comparator: Option<FeatureComparator>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

impl Feature {
    /// A feature with a name and a type and no constraints.
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType};
    /// let f = Feature::new("x", FeatureType::Float);
    /// assert!(f.presence.is_none());
    /// ```
    pub fn new(name: impl Into<String>, feature_type: FeatureType) -> Self {
        Self {
            name: name.into(),
            feature_type,
            ..Self::default()
        }
    }

    /// `false` when the lifecycle stage (or the legacy `deprecated` flag)
    /// excludes the feature from validation.
    ///
    /// ```
    /// # use mlrig_validate::{Feature, FeatureType, LifecycleStage};
    /// let mut f = Feature::new("x", FeatureType::Float);
    /// assert!(f.is_validated());
    /// f.lifecycle_stage = Some(LifecycleStage::Disabled);
    /// assert!(!f.is_validated());
    /// ```
    pub fn is_validated(&self) -> bool {
        !self.deprecated && self.lifecycle_stage.is_none_or(|s| s.is_validated())
    }
}

/// Presence constraints (tfmd `FeaturePresence`).
///
/// ```
/// let p = mlrig_validate::FeaturePresence { unmodelled: Default::default(), min_fraction: None, min_count: Some(1) };
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"minCount":"1"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FeaturePresence {
    /// Minimum fraction of examples that have the feature.
    #[serde(with = "opt_double", skip_serializing_if = "Option::is_none")]
    pub min_fraction: Option<f64>,
    /// Minimum number of examples that have the feature.
    #[serde(with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub min_count: Option<i64>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// A fixed shape (tfmd `FixedShape`).
///
/// ```
/// let s = mlrig_validate::FixedShape::scalar();
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"dim":[{"size":"1"}]}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FixedShape {
    /// The dimensions.
    pub dim: Vec<Dim>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

impl FixedShape {
    /// The shape `[1]`: exactly one value per example.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::FixedShape::scalar().dim[0].size, 1);
    /// ```
    pub fn scalar() -> Self {
        Self {
            unmodelled: Default::default(),
            dim: vec![Dim {
                unmodelled: Default::default(),
                size: 1,
                name: None,
            }],
        }
    }
}

/// One axis of a [`FixedShape`].
///
/// ```
/// let d = mlrig_validate::Dim { unmodelled: Default::default(), size: 3, name: None };
/// assert_eq!(d.size, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Dim {
    /// Number of values along the axis.
    #[serde(with = "crate::proto_json::int64")]
    pub size: i64,
    /// Optional axis name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Bounds on the number of values (tfmd `ValueCount`).
///
/// ```
/// let v = mlrig_validate::ValueCount { unmodelled: Default::default(), min: Some(1), max: Some(1) };
/// assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"min":"1","max":"1"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueCount {
    /// Fewest values.
    #[serde(with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Most values.
    #[serde(with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Bounds on the number of values at each nesting level (tfmd
/// `ValueCountList`): `value_count[0]` bounds the outer list, and so on. A
/// plain column has one level.
///
/// ```
/// use mlrig_validate::{ValueCount, ValueCountList};
/// let v = ValueCountList { unmodelled: Default::default(), value_count: vec![ValueCount { unmodelled: Default::default(), min: Some(1), max: None }] };
/// assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"valueCount":[{"min":"1"}]}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValueCountList {
    /// One bound per nesting level, outermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub value_count: Vec<ValueCount>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// An integer range (tfmd `IntDomain`).
///
/// ```
/// let d = mlrig_validate::IntDomain { min: Some(17), max: Some(90), ..Default::default() };
/// assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"min":"17","max":"90"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IntDomain {
    /// Domain name (for schema-level domains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Smallest allowed value.
    #[serde(with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Largest allowed value.
    #[serde(with = "opt_int64", skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// The integers are ids (categories), not quantities.
    #[serde(skip_serializing_if = "is_false")]
    pub is_categorical: bool,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// A float range (tfmd `FloatDomain`).
///
/// ```
/// let d = mlrig_validate::FloatDomain { min: Some(0.5), disallow_nan: true, ..Default::default() };
/// assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"min":0.5,"disallowNan":true}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FloatDomain {
    /// Domain name (for schema-level domains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Smallest allowed value.
    #[serde(
        with = "crate::proto_json::opt_float",
        skip_serializing_if = "Option::is_none"
    )]
    pub min: Option<f64>,
    /// Largest allowed value.
    #[serde(
        with = "crate::proto_json::opt_float",
        skip_serializing_if = "Option::is_none"
    )]
    pub max: Option<f64>,
    /// NaN is an anomaly.
    #[serde(skip_serializing_if = "is_false")]
    pub disallow_nan: bool,
    /// ±∞ is an anomaly.
    #[serde(skip_serializing_if = "is_false")]
    pub disallow_inf: bool,
    /// The floats are categories.
    #[serde(skip_serializing_if = "is_false")]
    pub is_categorical: bool,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// The allowed values of a string feature (tfmd `StringDomain`).
///
/// ```
/// let d = mlrig_validate::StringDomain::new("colour", ["red"]);
/// assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"name":"colour","value":["red"]}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StringDomain {
    /// Domain name (for schema-level domains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The values.
    pub value: Vec<String>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

impl StringDomain {
    /// A named domain with `values`.
    ///
    /// ```
    /// let d = mlrig_validate::StringDomain::new("d", ["a", "b"]);
    /// assert_eq!(d.value, vec!["a", "b"]);
    /// ```
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            unmodelled: Default::default(),
            name: Some(name.into()),
            value: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// A boolean domain (tfmd `BoolDomain`): an `INT` feature holding 0/1, or a
/// string feature with the given true/false spellings.
///
/// ```
/// let d = mlrig_validate::BoolDomain::default();
/// assert_eq!(serde_json::to_string(&d).unwrap(), "{}");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BoolDomain {
    /// Domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The string meaning true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub true_value: Option<String>,
    /// The string meaning false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_value: Option<String>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

/// Distribution constraints (tfmd `DistributionConstraints`).
///
/// ```
/// let d = mlrig_validate::DistributionConstraints { unmodelled: Default::default(), min_domain_mass: Some(0.99) };
/// assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"minDomainMass":0.99}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DistributionConstraints {
    /// Minimum fraction of values that must come from the domain (default 1.0).
    #[serde(with = "opt_double", skip_serializing_if = "Option::is_none")]
    pub min_domain_mass: Option<f64>,
    /// The fields of the tfmd message that mlrig keeps and writes back but
    /// does not act on (see [`UnmodelledFields`](crate::UnmodelledFields)).
    #[serde(flatten)]
    pub unmodelled: crate::UnmodelledFields,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_json_fields_are_errors_at_every_level() {
        for (json, field) in [
            (r#"{"sparseFeatures":[]}"#, "sparseFeatures"),
            (
                r#"{"feature":[{"name":"a","presence":{"minFractoin":0.5}}]}"#,
                "minFractoin",
            ),
            (
                r#"{"datasetConstraints":{"minExampleCount":"1"}}"#,
                "minExampleCount",
            ),
            (
                r#"{"feature":[{"name":"a","driftComparator":{"infinityNorm":{"threshold":0.1,"x":1}}}]}"#,
                "x",
            ),
        ] {
            let err = Schema::from_tfmd_json(json).unwrap_err().to_string();
            assert!(
                err.contains(&format!("unrecognized field name '{field}'")),
                "{json}: {err}"
            );
        }
    }

    #[test]
    fn tfmd_fields_mlrig_does_not_act_on_are_kept() {
        let json = r#"{"feature":[{"name":"a","annotation":{"tag":["pii"]},
            "presence":{"minCount":"1"},"naturalLanguageDomain":{"vocabulary":"v"}}],
            "sparseFeature":[{"name":"s"}],"representVariableLengthAsRagged":true}"#;
        let schema = Schema::from_tfmd_json(json).unwrap();
        assert_eq!(
            schema.unmodelled_fields(),
            [
                "feature[a].annotation",
                "feature[a].naturalLanguageDomain",
                "representVariableLengthAsRagged",
                "sparseFeature"
            ]
        );
        let text = schema.to_pbtxt().unwrap();
        assert_eq!(Schema::from_pbtxt(&text).unwrap(), schema);
        assert_eq!(
            Schema::from_tfmd_json(&schema.to_tfmd_json().unwrap()).unwrap(),
            schema
        );
    }

    #[test]
    fn reads_tfdv_schema_json_with_every_modelled_part() {
        let json = r#"{
          "feature": [
            {"name": "age", "type": "INT", "presence": {"minFraction": 1.0, "minCount": "1"},
             "shape": {"dim": [{"size": "1"}]}, "intDomain": {"min": 17, "max": "90"},
             "skewComparator": {"infinityNorm": {"threshold": 0.1}}},
            {"name": "workclass", "type": "BYTES", "domain": "workclass",
             "presence": {"minCount": "1"}, "valueCount": {"min": "1", "max": "1"}},
            {"name": "income", "type": "BYTES", "notInEnvironment": ["SERVING"], "lifecycleStage": "PRODUCTION"}
          ],
          "stringDomain": [{"name": "workclass", "value": ["Private", "State-gov"]}],
          "defaultEnvironment": ["TRAINING", "SERVING"],
          "datasetConstraints": {"minExamplesCount": "10"}
        }"#;
        let schema = Schema::from_tfmd_json(json).unwrap();
        let age = schema.feature("age").unwrap();
        assert_eq!(schema.int_domain_of(age).unwrap().min, Some(17));
        let workclass = schema.feature("workclass").unwrap();
        assert_eq!(
            schema
                .string_domain_of(workclass)
                .unwrap()
                .unwrap()
                .value
                .len(),
            2
        );
        assert_eq!(
            age.skew_comparator,
            Some(FeatureComparator::infinity_norm(0.1))
        );
        let income = schema.feature("income").unwrap();
        assert!(!schema.is_in_environment(income, "SERVING"));
        assert_eq!(schema.environments(), vec!["SERVING", "TRAINING"]);
        let text = schema.to_tfmd_json().unwrap();
        assert_eq!(Schema::from_tfmd_json(&text).unwrap(), schema);
        assert!(text.contains("\"min\": \"17\""), "{text}");
    }

    #[test]
    fn dangling_domain_reference_is_an_error() {
        let mut f = Feature::new("x", FeatureType::Bytes);
        f.domain = Some("nowhere".into());
        let err = Schema::default().string_domain_of(&f).unwrap_err();
        assert!(err.to_string().contains("`nowhere`"), "{err}");
    }
}
