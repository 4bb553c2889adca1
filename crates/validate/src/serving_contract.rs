//! [`input_contract`]: the [`InputContract`] a training [`Schema`] implies
//! for the records a server receives.

use mlrig_core::arrow_schema::Schema as ArrowSchema;
use mlrig_core::{FieldContract, InputContract, ValueDomain, ValueKind};

use crate::schema::{Feature, FeatureType, Schema};

/// The environment a server's requests are in (tfmd's convention).
const SERVING: &str = "SERVING";

/// The contract of the records sent to a model whose input table is `input`
/// (the feature pipeline's input schema) and whose training data had `schema`.
///
/// Per input field (fields of a type records cannot fill are left out):
///
/// | schema | contract |
/// |---|---|
/// | the field's Arrow type | [`FieldContract::kind`] |
/// | `presence.minFraction: 1`, the feature in the `SERVING` environment (when the schema names environments), validated lifecycle | [`FieldContract::required`] |
/// | a string domain (inline or by `domain` name) of a `BYTES` feature | [`ValueDomain::Strings`]; `distributionConstraints.minDomainMass < 1` sets [`FieldContract::allows_unseen`] |
/// | an `intDomain` / `floatDomain` with a bound | [`ValueDomain::Integers`] / [`ValueDomain::Numbers`] |
///
/// A field the schema does not describe, or a deprecated or disabled
/// feature, gets its type only. A `domain` naming a domain the schema lacks
/// is ignored here (validation reports it).
///
/// ```
/// use mlrig_core::ValueDomain;
/// use mlrig_core::arrow_schema::{DataType, Field, Schema as ArrowSchema};
/// use mlrig_validate::{Feature, FeaturePresence, FeatureType, Schema, StringDomain, input_contract};
/// let mut schema = Schema::default();
/// let mut race = Feature::new("race", FeatureType::Bytes);
/// race.presence = Some(FeaturePresence { min_fraction: Some(1.0), ..Default::default() });
/// race.domain = Some("race".into());
/// schema.features.push(race);
/// schema.string_domain.push(StringDomain::new("race", ["White", "Black"]));
/// let input = ArrowSchema::new(vec![Field::new("race", DataType::Utf8, true)]);
/// let contract = input_contract(&schema, &input);
/// let race = contract.field("race").unwrap();
/// assert!(race.required);
/// assert_eq!(race.domain, Some(ValueDomain::strings(["Black", "White"])));
/// ```
pub fn input_contract(schema: &Schema, input: &ArrowSchema) -> InputContract {
    let environment = schema.environments().contains(&SERVING).then_some(SERVING);
    InputContract::new(
        input
            .fields()
            .iter()
            .filter_map(|field| {
                let kind = ValueKind::of(field.data_type())?;
                let contract = FieldContract::new(field.name(), kind);
                Some(match schema.feature(field.name()) {
                    Some(feature) if schema.checks_feature(feature, environment) => {
                        field_contract(schema, feature, contract)
                    }
                    _ => contract,
                })
            })
            .collect(),
    )
}

fn field_contract(schema: &Schema, feature: &Feature, contract: FieldContract) -> FieldContract {
    let required = feature
        .presence
        .as_ref()
        .and_then(|p| p.min_fraction)
        .is_some_and(|f| f >= 1.0);
    let mut contract = contract.with_required(required);
    let domain = match (contract.kind, feature.feature_type) {
        (ValueKind::String, FeatureType::Bytes | FeatureType::TypeUnknown) => schema
            .string_domain_of(feature)
            .ok()
            .flatten()
            .map(|d| ValueDomain::strings(d.value.iter().cloned())),
        (ValueKind::Integer | ValueKind::Number, _) => numeric_domain(schema, feature),
        _ => None,
    };
    if let Some(domain) = domain {
        contract = contract.with_domain(domain);
    }
    let open = feature
        .distribution_constraints
        .as_ref()
        .and_then(|d| d.min_domain_mass)
        .is_some_and(|mass| mass < 1.0);
    contract.with_allows_unseen(open)
}

fn numeric_domain(schema: &Schema, feature: &Feature) -> Option<ValueDomain> {
    if let Some(d) = schema.int_domain_of(feature)
        && (d.min.is_some() || d.max.is_some())
    {
        return Some(ValueDomain::Integers {
            min: d.min,
            max: d.max,
        });
    }
    let d = schema.float_domain_of(feature)?;
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    let (min, max) = (finite(d.min), finite(d.max));
    (min.is_some() || max.is_some()).then_some(ValueDomain::Numbers { min, max })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{
        DistributionConstraints, FeaturePresence, FloatDomain, IntDomain, StringDomain,
    };
    use crate::{SchemaInferenceParams, StatisticsParams, compute_statistics, infer_schema};
    use mlrig_core::arrow_array::{
        BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    };
    use mlrig_core::arrow_schema::{DataType, Field};
    use std::sync::Arc;

    #[test]
    fn an_inferred_schema_gives_required_fields_categories_and_ranges() {
        let batch = RecordBatch::try_from_iter([
            ("age", Arc::new(Int64Array::from(vec![30, 50, 41])) as _),
            (
                "city",
                Arc::new(StringArray::from(vec![Some("Oslo"), None, Some("Rome")])) as _,
            ),
            ("x", Arc::new(Float64Array::from(vec![0.5, 1.5, -2.0])) as _),
            (
                "flag",
                Arc::new(BooleanArray::from(vec![true, false, true])) as _,
            ),
        ])
        .unwrap();
        let stats = compute_statistics(
            std::slice::from_ref(&batch),
            &batch.schema(),
            &StatisticsParams::default(),
        )
        .unwrap();
        let schema = infer_schema(&stats, &SchemaInferenceParams::default());
        let contract = input_contract(&schema, &batch.schema());
        let age = contract.field("age").unwrap();
        assert_eq!((age.kind, age.required), (ValueKind::Integer, true));
        assert_eq!(
            age.domain,
            Some(ValueDomain::Integers {
                min: Some(30),
                max: Some(50)
            })
        );
        let city = contract.field("city").unwrap();
        assert!(!city.required && !city.allows_unseen);
        assert_eq!(city.domain, Some(ValueDomain::strings(["Oslo", "Rome"])));
        let x = contract.field("x").unwrap();
        assert_eq!(
            x.domain,
            Some(ValueDomain::Numbers {
                min: Some(-2.0),
                max: Some(1.5)
            })
        );
        let flag = contract.field("flag").unwrap();
        assert_eq!((flag.kind, flag.domain.clone()), (ValueKind::Boolean, None));
    }

    #[test]
    fn environments_lifecycle_and_domain_mass_are_honoured() {
        let mut schema = Schema {
            default_environment: vec!["TRAINING".into(), "SERVING".into()],
            ..Default::default()
        };
        let always = Some(FeaturePresence {
            min_fraction: Some(1.0),
            ..Default::default()
        });
        let mut label = Feature::new("label", FeatureType::Bytes);
        label.presence = always.clone();
        label.not_in_environment.push("SERVING".into());
        let mut old = Feature::new("old", FeatureType::Int);
        old.presence = always.clone();
        old.deprecated = true;
        let mut colour = Feature::new("colour", FeatureType::Bytes);
        colour.string_domain = Some(StringDomain::new("colour", ["red"]));
        colour.distribution_constraints = Some(DistributionConstraints {
            min_domain_mass: Some(0.9),
            ..Default::default()
        });
        let mut open = Feature::new("open", FeatureType::Float);
        open.float_domain = Some(FloatDomain {
            min: Some(f64::NEG_INFINITY),
            ..Default::default()
        });
        let mut unbounded = Feature::new("unbounded", FeatureType::Int);
        unbounded.int_domain = Some(IntDomain {
            is_categorical: true,
            ..Default::default()
        });
        schema
            .features
            .extend([label, old, colour, open, unbounded]);
        let input = ArrowSchema::new(vec![
            Field::new("label", DataType::Utf8, true),
            Field::new("old", DataType::Int64, true),
            Field::new("colour", DataType::Utf8, true),
            Field::new("open", DataType::Float64, true),
            Field::new("unbounded", DataType::Int64, true),
            Field::new("extra", DataType::Float64, true),
            Field::new("date", DataType::Date32, true),
        ]);
        let contract = input_contract(&schema, &input);
        assert_eq!(contract.fields().len(), 6, "the Date32 field is left out");
        assert!(!contract.field("label").unwrap().required);
        assert!(!contract.field("old").unwrap().required);
        let colour = contract.field("colour").unwrap();
        assert!(colour.allows_unseen && colour.domain.is_some());
        assert_eq!(contract.field("open").unwrap().domain, None);
        assert_eq!(contract.field("unbounded").unwrap().domain, None);
        assert_eq!(contract.field("extra").unwrap().kind, ValueKind::Number);
    }
}
