//! [`InputContract`]: what the records sent to a model must look like — the
//! JSON type of each field, which fields are required, and the values seen in
//! training — and [`InputContract::check`], which holds a request to it.
//!
//! A contract is built from the training schema of a model bundle
//! (`mlrig_validate::input_contract` does it from the tensorflow-metadata
//! schema) and exposed by [`Servable::input_contract`](crate::Servable::input_contract).
//! A server checks the records of a request against it before
//! [`records_to_batch`](crate::records_to_batch): problems it must refuse
//! become one [`Error::ContractViolations`] naming every field (up to
//! [`MAX_REPORTED_VIOLATIONS`]); problems [`ContractRules`] let through are
//! scored and counted as [`InputAnomalyCount`]s, for metrics.
//!
//! | check | source | refused (400) | accepted and counted |
//! |---|---|---|---|
//! | JSON type | the field's Arrow type ([`ValueKind`]) | always | never |
//! | presence | [`FieldContract::required`] | `missing: reject` | `missing: accept` → [`InputAnomalyKind::Missing`] |
//! | category | [`ValueDomain::Strings`] | `unseen_category: reject` | `accept`, or the schema allows other values → [`InputAnomalyKind::UnseenCategory`] |
//! | range | [`ValueDomain::Integers`] / [`ValueDomain::Numbers`] | `out_of_range: reject` | `accept` → [`InputAnomalyKind::OutOfRange`] |

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::arrow_schema::{DataType, Schema};
use crate::records::{as_float, as_integer};
use crate::{Error, describe_json};

/// The most violations one [`Error::ContractViolations`] lists (the total is
/// always given).
pub const MAX_REPORTED_VIOLATIONS: usize = 10;

/// The most training values a message about an unseen category lists.
const DOMAIN_VALUES_SHOWN: usize = 8;

/// The JSON type a field takes: what [`records_to_batch`](crate::records_to_batch)
/// reads into the field's Arrow type, without its CSV-style leniency (a
/// number is not a string).
///
/// ```
/// use mlrig_core::ValueKind;
/// use mlrig_core::arrow_schema::DataType;
/// assert_eq!(ValueKind::of(&DataType::Utf8), Some(ValueKind::String));
/// assert_eq!(ValueKind::Integer.expected(), "an integer");
/// assert_eq!(ValueKind::of(&DataType::Date32), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueKind {
    /// A JSON number, or the literal `"NaN"`, `"Infinity"` or `"-Infinity"` (Arrow `Float64`).
    Number,
    /// A JSON number with no fractional part in `i64` range (Arrow `Int64`).
    Integer,
    /// `true` or `false` (Arrow `Boolean`).
    Boolean,
    /// A JSON string (Arrow `Utf8`).
    String,
}

impl ValueKind {
    /// The kind of an Arrow type records can fill; `None` for other types.
    pub fn of(data_type: &DataType) -> Option<Self> {
        match data_type {
            DataType::Float64 => Some(ValueKind::Number),
            DataType::Int64 => Some(ValueKind::Integer),
            DataType::Boolean => Some(ValueKind::Boolean),
            DataType::Utf8 => Some(ValueKind::String),
            _ => None,
        }
    }

    /// What a message says was expected, e.g. `"a string"`.
    pub fn expected(self) -> &'static str {
        match self {
            ValueKind::Number => "a number",
            ValueKind::Integer => "an integer",
            ValueKind::Boolean => "true or false",
            ValueKind::String => "a string",
        }
    }

    /// `true` when `value` (not null) has this kind.
    fn accepts(self, value: &Value) -> bool {
        match self {
            ValueKind::Number => as_float(value).is_some(),
            ValueKind::Integer => as_integer(value).is_some(),
            ValueKind::Boolean => value.is_boolean(),
            ValueKind::String => value.is_string(),
        }
    }
}

/// The values of a field seen in training.
///
/// ```
/// use mlrig_core::ValueDomain;
/// let d = ValueDomain::strings(["b", "a", "b"]);
/// assert_eq!(d, ValueDomain::Strings(vec!["a".into(), "b".into()]));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueDomain {
    /// The categories, sorted and without duplicates (build with [`ValueDomain::strings`]).
    Strings(Vec<String>),
    /// An integer range; an open side is `None`.
    Integers {
        /// Smallest value.
        min: Option<i64>,
        /// Largest value.
        max: Option<i64>,
    },
    /// A float range; an open side is `None`.
    Numbers {
        /// Smallest value.
        min: Option<f64>,
        /// Largest value.
        max: Option<f64>,
    },
}

impl ValueDomain {
    /// A string domain of `values`, sorted and deduplicated.
    pub fn strings<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut values: Vec<String> = values.into_iter().map(Into::into).collect();
        values.sort_unstable();
        values.dedup();
        ValueDomain::Strings(values)
    }
}

/// The contract of one input field.
///
/// ```
/// use mlrig_core::{FieldContract, ValueDomain, ValueKind};
/// let f = FieldContract::new("race", ValueKind::String)
///     .with_required(true)
///     .with_domain(ValueDomain::strings(["Black", "White"]));
/// assert!(f.required && !f.allows_unseen);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldContract {
    /// The field name.
    pub name: String,
    /// Its JSON type.
    pub kind: ValueKind,
    /// Present (not null) in every training row (tfmd `presence.min_fraction: 1`).
    pub required: bool,
    /// The values seen in training, when the schema records them.
    pub domain: Option<ValueDomain>,
    /// The schema itself accepts values outside a string domain (tfmd
    /// `distribution_constraints.min_domain_mass < 1`): an unseen category
    /// is counted, never refused.
    pub allows_unseen: bool,
}

impl FieldContract {
    /// A field of `kind`, optional, with no domain.
    pub fn new(name: impl Into<String>, kind: ValueKind) -> Self {
        Self {
            name: name.into(),
            kind,
            required: false,
            domain: None,
            allows_unseen: false,
        }
    }

    /// Sets [`FieldContract::required`].
    ///
    /// ```
    /// # use mlrig_core::{FieldContract, ValueKind};
    /// assert!(FieldContract::new("x", ValueKind::Number).with_required(true).required);
    /// ```
    pub fn with_required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Sets [`FieldContract::domain`].
    ///
    /// ```
    /// # use mlrig_core::{FieldContract, ValueDomain, ValueKind};
    /// let f = FieldContract::new("x", ValueKind::Integer).with_domain(ValueDomain::Integers { min: Some(0), max: None });
    /// assert!(f.domain.is_some());
    /// ```
    pub fn with_domain(mut self, domain: ValueDomain) -> Self {
        self.domain = Some(domain);
        self
    }

    /// Sets [`FieldContract::allows_unseen`].
    ///
    /// ```
    /// # use mlrig_core::{FieldContract, ValueKind};
    /// assert!(FieldContract::new("x", ValueKind::String).with_allows_unseen(true).allows_unseen);
    /// ```
    pub fn with_allows_unseen(mut self, allows: bool) -> Self {
        self.allows_unseen = allows;
        self
    }
}

/// What happens to a value that breaks a rule: refused (the request is a
/// 400) or accepted (scored, and counted as an anomaly).
///
/// ```
/// use mlrig_core::ContractAction;
/// assert_eq!(serde_json::to_string(&ContractAction::Accept).unwrap(), "\"accept\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContractAction {
    /// The request is refused with a message naming the field.
    Reject,
    /// The value is scored (the feature pipeline imputes a missing value
    /// and maps an unseen category as in training) and counted.
    Accept,
}

/// How one field's relaxable rules are enforced.
///
/// The default is strict where a bundle's schema is a statement about
/// every row — a required field missing, a category outside the training
/// values — and lenient for numeric ranges, which a bundle's schema records
/// as the training minimum and maximum (observations, not limits: a tree
/// puts a larger value in its last bin, a linear model extrapolates).
///
/// ```
/// use mlrig_core::{ContractAction, ContractRules};
/// let d = ContractRules::default();
/// assert_eq!((d.missing, d.unseen_category, d.out_of_range),
///            (ContractAction::Reject, ContractAction::Reject, ContractAction::Accept));
/// assert_eq!(ContractRules::LENIENT.missing, ContractAction::Accept);
/// assert_eq!(ContractRules::STRICT.out_of_range, ContractAction::Reject);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ContractRules {
    /// A required field absent or null.
    pub missing: ContractAction,
    /// A string outside the field's training values.
    pub unseen_category: ContractAction,
    /// A number outside the field's training range.
    pub out_of_range: ContractAction,
}

impl ContractRules {
    /// Every rule refuses.
    pub const STRICT: Self = Self {
        missing: ContractAction::Reject,
        unseen_category: ContractAction::Reject,
        out_of_range: ContractAction::Reject,
    };
    /// Every rule accepts (and counts).
    pub const LENIENT: Self = Self {
        missing: ContractAction::Accept,
        unseen_category: ContractAction::Accept,
        out_of_range: ContractAction::Accept,
    };
}

impl Default for ContractRules {
    fn default() -> Self {
        Self {
            missing: ContractAction::Reject,
            unseen_category: ContractAction::Reject,
            out_of_range: ContractAction::Accept,
        }
    }
}

/// A kind of value accepted but unusual, counted per model and feature.
///
/// ```
/// assert_eq!(mlrig_core::InputAnomalyKind::UnseenCategory.label(), "unseen_category");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InputAnomalyKind {
    /// A required field was absent or null (the feature pipeline imputed it).
    Missing,
    /// A string outside the training values.
    UnseenCategory,
    /// A number outside the training range.
    OutOfRange,
}

impl InputAnomalyKind {
    /// The metric label value: `missing`, `unseen_category` or `out_of_range`.
    pub fn label(self) -> &'static str {
        match self {
            InputAnomalyKind::Missing => "missing",
            InputAnomalyKind::UnseenCategory => "unseen_category",
            InputAnomalyKind::OutOfRange => "out_of_range",
        }
    }
}

/// How many values of one feature were accepted with one [`InputAnomalyKind`].
///
/// ```
/// use mlrig_core::{InputAnomalyKind, InputAnomalyCount};
/// let c = InputAnomalyCount::new("race", InputAnomalyKind::UnseenCategory, 2);
/// assert_eq!((c.feature.as_str(), c.count), ("race", 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputAnomalyCount {
    /// The feature (input field).
    pub feature: String,
    /// What was unusual.
    pub kind: InputAnomalyKind,
    /// How many values (rows).
    pub count: u64,
}

impl InputAnomalyCount {
    /// `count` values of `feature` accepted with `kind`.
    pub fn new(feature: impl Into<String>, kind: InputAnomalyKind, count: u64) -> Self {
        Self {
            feature: feature.into(),
            kind,
            count,
        }
    }
}

/// One value a request must not send, with the message that names it.
///
/// ```
/// use mlrig_core::{FieldContract, InputContract, ContractRules, ValueKind};
/// use serde_json::json;
/// let contract = InputContract::new(vec![FieldContract::new("age", ValueKind::Integer)]);
/// let check = contract.check(&[json!({"age": "forty"})], &|_| ContractRules::default());
/// let v = &check.violations()[0];
/// assert_eq!((v.instance, v.field.as_str()), (0, "age"));
/// assert_eq!(v.to_string(), "instance 0, field `age`: expected an integer, found string \"forty\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContractViolation {
    /// The record's index in the request.
    pub instance: usize,
    /// The field.
    pub field: String,
    /// What is wrong, as the rest of the message.
    pub problem: String,
}

impl std::fmt::Display for ContractViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "instance {}, {}", self.instance, self.problem)
    }
}

/// What [`InputContract::check`] found in a request.
///
/// ```
/// use mlrig_core::{ContractRules, FieldContract, InputContract, ValueKind};
/// use serde_json::json;
/// let contract = InputContract::new(vec![FieldContract::new("x", ValueKind::Number).with_required(true)]);
/// let lenient = contract.check(&[json!({}), json!({"x": 1})], &|_| ContractRules::LENIENT);
/// assert!(lenient.violations().is_empty());
/// assert_eq!(lenient.anomalies()[0].count, 1);
/// assert!(lenient.into_result().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContractCheck {
    violations: Vec<ContractViolation>,
    violation_count: usize,
    anomalies: Vec<InputAnomalyCount>,
}

impl ContractCheck {
    /// The first [`MAX_REPORTED_VIOLATIONS`] violations, record by record,
    /// fields in contract order.
    pub fn violations(&self) -> &[ContractViolation] {
        &self.violations
    }

    /// How many values break the contract (all of them, not only those listed).
    pub fn violation_count(&self) -> usize {
        self.violation_count
    }

    /// The accepted unusual values, per feature and kind (in the order first met).
    pub fn anomalies(&self) -> &[InputAnomalyCount] {
        &self.anomalies
    }

    /// The anomalies when nothing was refused, else one
    /// [`Error::ContractViolations`] listing the violations.
    ///
    /// ```
    /// use mlrig_core::{ContractRules, FieldContract, InputContract, ValueKind};
    /// use serde_json::json;
    /// let contract = InputContract::new(vec![FieldContract::new("x", ValueKind::Number).with_required(true)]);
    /// let err = contract.check(&[json!({}), json!({"x": "a"})], &|_| ContractRules::default())
    ///     .into_result().unwrap_err();
    /// assert!(err.is_invalid_input());
    /// assert_eq!(err.to_string(), "2 values break the model's input contract: instance 0, missing required field `x`; instance 1, field `x`: expected a number, found string \"a\"");
    /// ```
    pub fn into_result(self) -> Result<Vec<InputAnomalyCount>, Error> {
        if self.violation_count == 0 {
            return Ok(self.anomalies);
        }
        Err(Error::ContractViolations {
            violations: self.violations,
            total: self.violation_count,
        })
    }

    fn violation(&mut self, instance: usize, field: &str, problem: impl FnOnce() -> String) {
        self.violation_count += 1;
        if self.violations.len() < MAX_REPORTED_VIOLATIONS {
            self.violations.push(ContractViolation {
                instance,
                field: field.to_string(),
                problem: problem(),
            });
        }
    }

    fn anomaly(&mut self, field: &str, kind: InputAnomalyKind) {
        match self
            .anomalies
            .iter_mut()
            .find(|a| a.kind == kind && a.feature == field)
        {
            Some(count) => count.count += 1,
            None => self.anomalies.push(InputAnomalyCount::new(field, kind, 1)),
        }
    }

    /// A broken rule: refused or counted as `action` says.
    fn broken(
        &mut self,
        action: ContractAction,
        (instance, field): (usize, &str),
        kind: InputAnomalyKind,
        problem: impl FnOnce() -> String,
    ) {
        match action {
            ContractAction::Reject => self.violation(instance, field, problem),
            ContractAction::Accept => self.anomaly(field, kind),
        }
    }
}

/// What a model's requests must look like, field by field (see the module
/// docs for the checks).
///
/// ```
/// use mlrig_core::{ContractRules, FieldContract, InputContract, ValueDomain, ValueKind};
/// use serde_json::json;
/// let contract = InputContract::new(vec![
///     FieldContract::new("age", ValueKind::Integer).with_required(true)
///         .with_domain(ValueDomain::Integers { min: Some(17), max: Some(90) }),
///     FieldContract::new("race", ValueKind::String)
///         .with_domain(ValueDomain::strings(["Black", "White"])),
/// ]);
/// let ok = contract.check(&[json!({"age": 39, "race": "White"})], &|_| ContractRules::default());
/// assert_eq!(ok.violation_count(), 0);
///
/// let bad = contract.check(&[json!({"race": 3}), json!({"age": 120, "race": "Martian"})],
///                          &|_| ContractRules::default());
/// let messages: Vec<String> = bad.violations().iter().map(ToString::to_string).collect();
/// assert_eq!(messages, [
///     "instance 0, missing required field `age`",
///     "instance 0, field `race`: expected a string, found number 3",
///     "instance 1, field `race`: expected one of the 2 training values (Black, White), found string \"Martian\"",
/// ]);
/// // age 120 is out of range: accepted and counted by default.
/// assert_eq!(bad.anomalies()[0].kind.label(), "out_of_range");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InputContract {
    fields: Vec<FieldContract>,
}

impl InputContract {
    /// A contract of these fields.
    pub fn new(fields: Vec<FieldContract>) -> Self {
        Self { fields }
    }

    /// The types of `schema`'s fields and nothing else (no field required,
    /// no domain); fields of a type records cannot fill are left out.
    ///
    /// ```
    /// use mlrig_core::InputContract;
    /// use mlrig_core::arrow_schema::{DataType, Field, Schema};
    /// let c = InputContract::of_types(&Schema::new(vec![Field::new("x", DataType::Float64, true)]));
    /// assert_eq!(c.fields().len(), 1);
    /// ```
    pub fn of_types(schema: &Schema) -> Self {
        Self::new(
            schema
                .fields()
                .iter()
                .filter_map(|f| Some(FieldContract::new(f.name(), ValueKind::of(f.data_type())?)))
                .collect(),
        )
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[FieldContract] {
        &self.fields
    }

    /// The field called `name`.
    ///
    /// ```
    /// # use mlrig_core::{FieldContract, InputContract, ValueKind};
    /// let c = InputContract::new(vec![FieldContract::new("x", ValueKind::Number)]);
    /// assert!(c.field("x").is_some() && c.field("y").is_none());
    /// ```
    pub fn field(&self, name: &str) -> Option<&FieldContract> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Checks `records` (JSON objects; anything else is left for
    /// [`records_to_batch`](crate::records_to_batch) to report, as are
    /// fields the contract does not have). `rules` says how a field's
    /// relaxable rules are enforced; it is called only for a field that
    /// breaks one. Never panics, whatever the records.
    pub fn check(
        &self,
        records: &[Value],
        rules: &dyn Fn(&FieldContract) -> ContractRules,
    ) -> ContractCheck {
        let mut check = ContractCheck::default();
        for (instance, record) in records.iter().enumerate() {
            let Some(object) = record.as_object() else {
                continue;
            };
            for field in &self.fields {
                let at = (instance, field.name.as_str());
                let value = object.get(&field.name).filter(|v| !v.is_null());
                let Some(value) = value else {
                    if field.required {
                        check.broken(rules(field).missing, at, InputAnomalyKind::Missing, || {
                            format!("missing required field `{}`", field.name)
                        });
                    }
                    continue;
                };
                if !field.kind.accepts(value) {
                    check.violation(instance, &field.name, || {
                        invalid(&field.name, field.kind.expected(), value)
                    });
                    continue;
                }
                let Some(domain) = &field.domain else {
                    continue;
                };
                match domain_problem(field.kind, domain, value) {
                    None => {}
                    Some(Outside::Category) => {
                        let action = if field.allows_unseen {
                            ContractAction::Accept
                        } else {
                            rules(field).unseen_category
                        };
                        check.broken(action, at, InputAnomalyKind::UnseenCategory, || {
                            invalid(&field.name, &domain_text(domain), value)
                        });
                    }
                    Some(Outside::Range) => {
                        check.broken(
                            rules(field).out_of_range,
                            at,
                            InputAnomalyKind::OutOfRange,
                            || invalid(&field.name, &domain_text(domain), value),
                        );
                    }
                }
            }
        }
        check
    }
}

/// How a value of the right kind falls outside its domain.
enum Outside {
    Category,
    Range,
}

fn domain_problem(kind: ValueKind, domain: &ValueDomain, value: &Value) -> Option<Outside> {
    match domain {
        ValueDomain::Strings(values) => {
            let text = value.as_str()?;
            values
                .binary_search_by(|v| v.as_str().cmp(text))
                .is_err()
                .then_some(Outside::Category)
        }
        ValueDomain::Integers { min, max } if kind == ValueKind::Integer => {
            let v = as_integer(value)?;
            (min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m)).then_some(Outside::Range)
        }
        ValueDomain::Integers { min, max } => {
            let v = as_float(value)?;
            // i64 → f64 rounds only beyond 2^53, far outside feature ranges.
            (min.is_some_and(|m| v < m as f64) || max.is_some_and(|m| v > m as f64))
                .then_some(Outside::Range)
        }
        ValueDomain::Numbers { min, max } => {
            let v = as_float(value)?;
            (min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m)).then_some(Outside::Range)
        }
    }
}

/// What a domain expects, for a message.
fn domain_text(domain: &ValueDomain) -> String {
    match domain {
        ValueDomain::Strings(values) => {
            let shown: Vec<&str> = values
                .iter()
                .take(DOMAIN_VALUES_SHOWN)
                .map(String::as_str)
                .collect();
            let more = if values.len() > DOMAIN_VALUES_SHOWN {
                ", …"
            } else {
                ""
            };
            format!(
                "one of the {} training values ({}{more})",
                values.len(),
                shown.join(", ")
            )
        }
        ValueDomain::Integers { min, max } => range_text(*min, *max),
        ValueDomain::Numbers { min, max } => range_text(*min, *max),
    }
}

fn range_text<T: std::fmt::Display>(min: Option<T>, max: Option<T>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("a value in the training range [{min}, {max}]"),
        (Some(min), None) => format!("a value of at least {min}"),
        (None, Some(max)) => format!("a value of at most {max}"),
        (None, None) => "any value".into(),
    }
}

fn invalid(field: &str, expected: &str, found: &Value) -> String {
    format!(
        "field `{field}`: expected {expected}, found {}",
        describe_json(found)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn adult() -> InputContract {
        InputContract::new(vec![
            FieldContract::new("age", ValueKind::Integer)
                .with_required(true)
                .with_domain(ValueDomain::Integers {
                    min: Some(17),
                    max: Some(90),
                }),
            FieldContract::new("workclass", ValueKind::String)
                .with_domain(ValueDomain::strings(["Private", "State-gov"])),
            FieldContract::new("race", ValueKind::String)
                .with_required(true)
                .with_domain(ValueDomain::strings([
                    "Amer-Indian-Eskimo",
                    "Asian-Pac-Islander",
                    "Black",
                    "Other",
                    "White",
                    "a",
                    "b",
                    "c",
                    "d",
                ])),
            FieldContract::new("hours", ValueKind::Number).with_domain(ValueDomain::Numbers {
                min: Some(1.0),
                max: None,
            }),
            FieldContract::new("smoker", ValueKind::Boolean),
            FieldContract::new("country", ValueKind::String)
                .with_domain(ValueDomain::strings(["US"]))
                .with_allows_unseen(true),
        ])
    }

    fn messages(check: &ContractCheck) -> Vec<String> {
        check.violations().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_violation_kind_has_its_message() {
        let records = [
            json!({"age": "forty", "race": "White"}),
            json!({"age": 40, "workclass": 7, "race": "White", "hours": "x", "smoker": 1}),
            json!({"age": 40.5, "race": "Martian", "workclass": "Spy"}),
            json!({"workclass": null}),
        ];
        let check = adult().check(&records, &|_| ContractRules::STRICT);
        assert_eq!(
            messages(&check),
            [
                "instance 0, field `age`: expected an integer, found string \"forty\"",
                "instance 1, field `workclass`: expected a string, found number 7",
                "instance 1, field `hours`: expected a number, found string \"x\"",
                "instance 1, field `smoker`: expected true or false, found number 1",
                "instance 2, field `age`: expected an integer, found number 40.5",
                "instance 2, field `workclass`: expected one of the 2 training values (Private, State-gov), found string \"Spy\"",
                "instance 2, field `race`: expected one of the 9 training values (Amer-Indian-Eskimo, Asian-Pac-Islander, Black, Other, White, a, b, c, …), found string \"Martian\"",
                "instance 3, missing required field `age`",
                "instance 3, missing required field `race`",
            ]
        );
        assert!(check.anomalies().is_empty());
        let ranges = adult().check(
            &[json!({"age": 16, "race": "Black", "hours": 0.5})],
            &|_| ContractRules::STRICT,
        );
        assert_eq!(
            messages(&ranges),
            [
                "instance 0, field `age`: expected a value in the training range [17, 90], found number 16",
                "instance 0, field `hours`: expected a value of at least 1, found number 0.5",
            ]
        );
    }

    #[test]
    fn accepted_values_are_counted_per_feature_and_kind() {
        let records = [
            json!({"age": 99, "race": "Martian", "country": "Atlantis"}),
            json!({"age": 100, "workclass": "Spy"}),
            json!({"age": 40, "race": "White", "hours": "-Infinity"}),
        ];
        let check = adult().check(&records, &|_| ContractRules::LENIENT);
        assert_eq!(check.violation_count(), 0);
        let counts: Vec<(&str, &str, u64)> = check
            .anomalies()
            .iter()
            .map(|a| (a.feature.as_str(), a.kind.label(), a.count))
            .collect();
        assert_eq!(
            counts,
            [
                ("age", "out_of_range", 2),
                ("race", "unseen_category", 1),
                ("country", "unseen_category", 1),
                ("workclass", "unseen_category", 1),
                ("race", "missing", 1),
                ("hours", "out_of_range", 1),
            ]
        );
        // NaN is no range's outlier; a wrong type is refused even when lenient.
        let check = adult().check(
            &[json!({"age": 40, "race": "White", "hours": "NaN", "smoker": "yes"})],
            &|_| ContractRules::LENIENT,
        );
        assert_eq!(check.violation_count(), 1);
        assert!(check.anomalies().is_empty());
    }

    #[test]
    fn rules_are_per_field_and_the_schema_can_open_a_domain() {
        let rules = |f: &FieldContract| {
            if f.name == "race" {
                ContractRules::LENIENT
            } else {
                ContractRules::STRICT
            }
        };
        let check = adult().check(
            &[json!({"age": 40, "race": "Martian", "country": "Atlantis", "workclass": "Spy"})],
            &rules,
        );
        assert_eq!(check.violation_count(), 1, "{:?}", messages(&check));
        assert!(messages(&check)[0].contains("`workclass`"));
        assert_eq!(check.anomalies().len(), 2);
    }

    #[test]
    fn violations_are_capped_but_counted() {
        let records = vec![json!({}); 30];
        let err = adult()
            .check(&records, &|_| ContractRules::default())
            .into_result()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("60 values break the model's input contract: instance 0, missing required field `age`;"),
            "{text}"
        );
        assert!(text.ends_with("(and 50 more)"), "{text}");
        // Not an object: left to records_to_batch.
        assert_eq!(
            adult()
                .check(&[json!([1]), json!(3)], &|_| ContractRules::STRICT)
                .violation_count(),
            0
        );
    }

    #[test]
    fn kinds_follow_arrow_types_and_round_trip() {
        let schema = Schema::new(vec![
            crate::arrow_schema::Field::new("d", DataType::Date32, true),
            crate::arrow_schema::Field::new("b", DataType::Boolean, true),
        ]);
        let contract = InputContract::of_types(&schema);
        assert_eq!(contract.fields().len(), 1);
        assert_eq!(contract.fields()[0].kind, ValueKind::Boolean);
        let json = serde_json::to_string(&adult()).unwrap();
        assert_eq!(
            serde_json::from_str::<InputContract>(&json).unwrap(),
            adult()
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            prop_oneof![
                Just("NaN".to_string()),
                Just("White".to_string()),
                "\\PC{0,6}"
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("age".to_string()),
                        Just("race".to_string()),
                        Just("hours".to_string()),
                        "[a-z]{1,3}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_records_pass_or_name_a_contract_field(
            records in proptest::collection::vec(json_value(), 0..6),
            strict in any::<bool>(),
        ) {
            let contract = adult();
            let rules = if strict { ContractRules::STRICT } else { ContractRules::LENIENT };
            let check = contract.check(&records, &|_| rules);
            prop_assert!(check.violations().len() <= MAX_REPORTED_VIOLATIONS);
            prop_assert!(check.violation_count() >= check.violations().len());
            for v in check.violations() {
                prop_assert!(contract.field(&v.field).is_some());
                prop_assert!(v.instance < records.len());
                let named = format!("`{}`", v.field);
                prop_assert!(v.to_string().contains(&named));
            }
            for a in check.anomalies() {
                prop_assert!(contract.field(&a.feature).is_some());
            }
            if !strict {
                // Lenient: only wrong types are refused.
                for v in check.violations() {
                    prop_assert!(v.problem.contains(": expected ") && !v.problem.contains("training"));
                }
            }
            // A request that passes builds a batch, or fails only for what the contract leaves out.
            if check.violation_count() == 0 && strict {
                let schema = std::sync::Arc::new(Schema::new(vec![
                    crate::arrow_schema::Field::new("age", DataType::Int64, true),
                    crate::arrow_schema::Field::new("workclass", DataType::Utf8, true),
                    crate::arrow_schema::Field::new("race", DataType::Utf8, true),
                    crate::arrow_schema::Field::new("hours", DataType::Float64, true),
                    crate::arrow_schema::Field::new("smoker", DataType::Boolean, true),
                    crate::arrow_schema::Field::new("country", DataType::Utf8, true),
                ]));
                if let Err(e) = crate::records_to_batch(&records, &schema) {
                    prop_assert!(matches!(e, Error::UnknownField { .. }) || e.to_string().contains("JSON object"), "{e}");
                }
            }
        }
    }
}
