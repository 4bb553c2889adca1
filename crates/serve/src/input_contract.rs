//! [`InputContractConfig`]: how strictly each model's
//! [`InputContract`](mlrig_core::InputContract) is enforced, and the check
//! every protocol runs through (`inference::run`).

use std::collections::BTreeMap;

use mlrig_core::{ContractAction, ContractRules, FieldContract, InputAnomalyCount, Servable};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ServeError;

/// The key of a model's entry that applies to all its features.
const ALL_FEATURES: &str = "*";

/// How strictly the input contract of each model is enforced (the
/// `input_contract` key of the server config).
///
/// A model whose servable has a contract ([`Servable::input_contract`]; every
/// bundle trained by mlrig does, from its `schema.json`) has its requests
/// checked before they are scored: a value of the wrong JSON type is always
/// a 400; a required field missing, a category outside the training values
/// and a number outside the training range follow the rules, each `reject`
/// (400 naming the instance and field) or `accept` (scored, and counted in
/// `mlrig_input_anomalies_total{model,version,feature,kind}` by
/// mlrig-monitor). Rules are looked up per feature: `models.<model>.<feature>`,
/// then `models.<model>."*"`, then `default`, each written as `"strict"`,
/// `"lenient"` or an object setting some of `missing`, `unseen_category`,
/// `out_of_range` (the others come from the next level). The default
/// ([`ContractRules::default`]) rejects missing required fields and unseen
/// categories and accepts (counts) out-of-range numbers.
///
/// ```
/// use mlrig_core::{ContractAction, ContractRules};
/// use mlrig_serve::InputContractConfig;
/// let config: InputContractConfig = serde_json::from_str(r#"{
///     "models": {"adult": {"native-country": "lenient", "age": {"out_of_range": "reject"}}}
/// }"#)?;
/// assert_eq!(config.rules("adult", "native-country"), ContractRules::LENIENT);
/// let age = config.rules("adult", "age");
/// assert_eq!((age.missing, age.out_of_range), (ContractAction::Reject, ContractAction::Reject));
/// assert_eq!(config.rules("iris", "petal"), ContractRules::default());
///
/// let off: InputContractConfig = serde_json::from_str(r#"{"default": "lenient"}"#)?;
/// assert_eq!(off.rules("any", "field"), ContractRules::LENIENT);
/// assert!(serde_json::from_str::<InputContractConfig>(r#"{"default": "loose"}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct InputContractConfig {
    /// Rules of every feature of every model not listed in `models`
    /// (default: missing required fields and unseen categories rejected,
    /// out-of-range numbers accepted and counted).
    #[serde(skip_serializing_if = "RulesSetting::is_unset")]
    pub default: RulesSetting,
    /// Per model name, per feature name (`"*"`: every feature of the
    /// model), rules over `default`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, BTreeMap<String, RulesSetting>>,
}

impl InputContractConfig {
    /// `true` for the default configuration.
    pub(crate) fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Sets the rules of `feature` (or `"*"`, every feature) of `model`.
    ///
    /// ```
    /// use mlrig_core::ContractRules;
    /// use mlrig_serve::{InputContractConfig, RulesSetting};
    /// let c = InputContractConfig::default().with_rules("adult", "*", RulesSetting::Lenient);
    /// assert_eq!(c.rules("adult", "race"), ContractRules::LENIENT);
    /// ```
    pub fn with_rules(
        mut self,
        model: impl Into<String>,
        feature: impl Into<String>,
        rules: RulesSetting,
    ) -> Self {
        self.models
            .entry(model.into())
            .or_default()
            .insert(feature.into(), rules);
        self
    }

    /// Sets [`InputContractConfig::default`].
    ///
    /// ```
    /// use mlrig_core::ContractRules;
    /// use mlrig_serve::{InputContractConfig, RulesSetting};
    /// let c = InputContractConfig::default().with_default(RulesSetting::Strict);
    /// assert_eq!(c.rules("m", "f"), ContractRules::STRICT);
    /// ```
    pub fn with_default(mut self, rules: RulesSetting) -> Self {
        self.default = rules;
        self
    }

    /// The rules of `feature` of `model` (see the type's documentation).
    pub fn rules(&self, model: &str, feature: &str) -> ContractRules {
        let mut rules = self.default.over(ContractRules::default());
        if let Some(features) = self.models.get(model) {
            for key in [ALL_FEATURES, feature] {
                if let Some(setting) = features.get(key) {
                    rules = setting.over(rules);
                }
            }
        }
        rules
    }
}

/// The rules of a feature as written in the config: `"strict"`,
/// `"lenient"`, or some of the rules (the rest inherited).
///
/// ```
/// use mlrig_core::{ContractAction, ContractRules};
/// use mlrig_serve::RulesSetting;
/// let s: RulesSetting = serde_json::from_str(r#"{"unseen_category": "accept"}"#)?;
/// assert_eq!(s.over(ContractRules::STRICT).unseen_category, ContractAction::Accept);
/// assert_eq!(serde_json::to_string(&RulesSetting::Lenient)?, "\"lenient\"");
/// let err = serde_json::from_str::<RulesSetting>(r#"{"unseen": "accept"}"#).unwrap_err();
/// assert!(err.to_string().contains("unknown field `unseen`"), "{err}");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RulesSetting {
    /// Every rule rejects.
    Strict,
    /// Every rule accepts (and counts).
    Lenient,
    /// Some rules; `None` inherits.
    Rules(PartialRules),
}

impl Default for RulesSetting {
    fn default() -> Self {
        RulesSetting::Rules(PartialRules::default())
    }
}

impl RulesSetting {
    fn is_unset(&self) -> bool {
        *self == Self::default()
    }

    /// These rules applied over `base`.
    pub fn over(&self, base: ContractRules) -> ContractRules {
        match self {
            RulesSetting::Strict => ContractRules::STRICT,
            RulesSetting::Lenient => ContractRules::LENIENT,
            RulesSetting::Rules(p) => {
                let mut rules = base;
                rules.missing = p.missing.unwrap_or(base.missing);
                rules.unseen_category = p.unseen_category.unwrap_or(base.unseen_category);
                rules.out_of_range = p.out_of_range.unwrap_or(base.out_of_range);
                rules
            }
        }
    }
}

/// Some of the rules of a feature (the `{"missing": ...}` form of a
/// [`RulesSetting`]).
///
/// ```
/// let p = mlrig_serve::PartialRules::default();
/// assert!(p.missing.is_none());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PartialRules {
    /// A required field absent or null: `reject` or `accept`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<ContractAction>,
    /// A string outside the training values: `reject` or `accept`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unseen_category: Option<ContractAction>,
    /// A number outside the training range: `reject` or `accept`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_range: Option<ContractAction>,
}

impl Serialize for RulesSetting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RulesSetting::Strict => serializer.serialize_str("strict"),
            RulesSetting::Lenient => serializer.serialize_str("lenient"),
            RulesSetting::Rules(p) => p.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for RulesSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RulesVisitor)
    }
}

struct RulesVisitor;

impl<'de> serde::de::Visitor<'de> for RulesVisitor {
    type Value = RulesSetting;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "\"strict\", \"lenient\" or an object with some of `missing`, `unseen_category`, `out_of_range` (each \"reject\" or \"accept\")",
        )
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RulesSetting, E> {
        match text {
            "strict" => Ok(RulesSetting::Strict),
            "lenient" => Ok(RulesSetting::Lenient),
            other => Err(E::invalid_value(serde::de::Unexpected::Str(other), &self)),
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RulesSetting, A::Error> {
        PartialRules::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            .map(RulesSetting::Rules)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for RulesSetting {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RulesSetting".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let partial = generator.subschema_for::<PartialRules>();
        schemars::json_schema!({
            "description": "\"strict\" (every rule rejects), \"lenient\" (every rule accepts and counts), or some of the rules",
            "oneOf": [
                {"type": "string", "enum": ["strict", "lenient"]},
                partial,
            ]
        })
    }
}

/// Checks `records` against `servable`'s contract (if it has one) with the
/// rules `config` gives its features: the accepted anomalies, or a 400
/// listing the violations.
pub(crate) fn check_records(
    servable: &dyn Servable,
    records: &[serde_json::Value],
    config: &InputContractConfig,
) -> Result<Vec<InputAnomalyCount>, ServeError> {
    let Some(contract) = servable.input_contract() else {
        return Ok(Vec::new());
    };
    let model = &servable.info().name;
    let rules = |field: &FieldContract| config.rules(model, &field.name);
    Ok(contract.check(records, &rules).into_result()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_apply_in_order() {
        let config: InputContractConfig = serde_json::from_str(
            r#"{"default": {"out_of_range": "reject"},
                "models": {"m": {"*": {"missing": "accept"}, "f": "lenient", "g": "strict"}}}"#,
        )
        .unwrap();
        let other = config.rules("other", "f");
        assert_eq!(
            (other.missing, other.out_of_range),
            (ContractAction::Reject, ContractAction::Reject)
        );
        let m = config.rules("m", "h");
        assert_eq!(
            (m.missing, m.unseen_category, m.out_of_range),
            (
                ContractAction::Accept,
                ContractAction::Reject,
                ContractAction::Reject
            )
        );
        assert_eq!(config.rules("m", "f"), ContractRules::LENIENT);
        assert_eq!(config.rules("m", "g"), ContractRules::STRICT);
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(
            serde_json::from_value::<InputContractConfig>(json).unwrap(),
            config
        );
        assert_eq!(
            serde_json::to_string(&InputContractConfig::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn bad_settings_say_what_is_expected() {
        for (text, expected) in [
            (
                r#"{"default": "loose"}"#,
                "expected \"strict\", \"lenient\" or an object",
            ),
            (
                r#"{"default": 3}"#,
                "expected \"strict\", \"lenient\" or an object",
            ),
            (
                r#"{"models": {"m": {"f": {"missing": "maybe"}}}}"#,
                "unknown variant `maybe`, expected `reject` or `accept`",
            ),
            (r#"{"strict": true}"#, "unknown field `strict`"),
        ] {
            let err = serde_json::from_str::<InputContractConfig>(text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
