//! The JSON Schema of [`Encoding`] (feature `schemars`), written by hand
//! because its `Deserialize` is.

use super::encoding::Encoding;
use super::encoding_params::{
    BucketizeParams, ClipParams, DatePartsParams, HashParams, MinMaxScaleParams,
    QuantileBucketizeParams, RobustScaleParams, VocabularyParams,
};

/// The JSON Schema of an encoding: one of the names that need no parameters
/// (or whose parameters all have defaults), or a one-key table of parameters.
/// It mirrors the hand-written `Deserialize` of [`Encoding`].
impl schemars::JsonSchema for Encoding {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Encoding".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        concat!(module_path!(), "::Encoding").into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use schemars::json_schema;
        let name = |name: &str, description: &str| json_schema!({"const": name, "description": description});
        let table = |name: &str, description: &str, params: schemars::Schema| {
            json_schema!({
                "type": "object",
                "description": description,
                "properties": {name: params},
                "required": [name],
                "additionalProperties": false,
            })
        };
        let one_of = vec![
            name("standard_scale", STANDARD_SCALE),
            name(
                "min_max_scale",
                "Min-max scaling to [0, 1] (scikit-learn's MinMaxScaler).",
            ),
            name(
                "robust_scale",
                "Robust scaling by the interquartile range (scikit-learn's RobustScaler).",
            ),
            name("log", LOG),
            name("log1p", LOG1P),
            name("passthrough", PASSTHROUGH),
            name("one_hot", ONE_HOT),
            name("ordinal", ORDINAL),
            name(
                "vocabulary",
                "One-hot encoding over every training category (a vocabulary without limits).",
            ),
            name(
                "date_parts",
                "Year, month, day, weekday and hour of a date/time string.",
            ),
            name("drop", DROP),
            table(
                "min_max_scale",
                MIN_MAX_SCALE,
                generator.subschema_for::<MinMaxScaleParams>(),
            ),
            table(
                "robust_scale",
                ROBUST_SCALE,
                generator.subschema_for::<RobustScaleParams>(),
            ),
            table("clip", CLIP, generator.subschema_for::<ClipParams>()),
            table(
                "bucketize",
                BUCKETIZE,
                generator.subschema_for::<BucketizeParams>(),
            ),
            table(
                "quantile_bucketize",
                QUANTILE_BUCKETIZE,
                generator.subschema_for::<QuantileBucketizeParams>(),
            ),
            table(
                "vocabulary",
                VOCABULARY,
                generator.subschema_for::<VocabularyParams>(),
            ),
            table("hash", HASH, generator.subschema_for::<HashParams>()),
            table(
                "date_parts",
                DATE_PARTS,
                generator.subschema_for::<DatePartsParams>(),
            ),
        ];
        json_schema!({
            "description": "How a column becomes output features: an encoding name \
                (\"standard_scale\") or a one-key table of its parameters \
                ({\"hash\": {\"buckets\": 32}}).",
            "oneOf": one_of,
        })
    }
}

// One-line descriptions of the encodings for the JSON Schema (the variant
// documentation of `Encoding` is the long form).
const STANDARD_SCALE: &str =
    "Standard scaling (x − mean) / std with the population std (scikit-learn's StandardScaler).";
const MIN_MAX_SCALE: &str = "Min-max scaling to feature_range (scikit-learn's MinMaxScaler).";
const ROBUST_SCALE: &str =
    "Robust scaling (x − median) / (q_high − q_low) (scikit-learn's RobustScaler).";
const CLIP: &str = "Clamping into [min, max]; give min, max or both.";
const LOG: &str = "The natural logarithm; a value ≤ 0 is an error.";
const LOG1P: &str = "ln(1 + x); a value ≤ −1 is an error.";
const PASSTHROUGH: &str = "The numeric value unchanged, as a float.";
const BUCKETIZE: &str = "Buckets with fixed boundaries (one-hot, or the bucket index if ordinal).";
const QUANTILE_BUCKETIZE: &str = "Buckets with boundaries at training quantiles \
    (scikit-learn's KBinsDiscretizer(strategy=\"quantile\")).";
const ONE_HOT: &str = "One-hot encoding over the sorted training categories; unknown values \
    encode as all zeros.";
const ORDINAL: &str = "The index of the value in the sorted training categories, as a float; \
    unknown and missing values encode as NaN (for gradient-boosted trees).";
const VOCABULARY: &str = "One-hot encoding over a vocabulary limited by frequency, plus hashed \
    out-of-vocabulary buckets.";
const HASH: &str = "Feature hashing into a fixed number of columns (the hashing trick).";
const DATE_PARTS: &str = "Calendar parts of a date/time string.";
const DROP: &str = "No output; the column is not read.";

#[cfg(test)]
mod tests {
    use super::super::encoding::ENCODING_NAMES;
    use super::*;

    /// The schema accepts a bare name exactly when the deserializer and the
    /// spec check do, and offers a parameter table for every other name.
    #[test]
    fn schema_names_match_the_deserializer() {
        let schema = schemars::schema_for!(Encoding);
        let alternatives = schema
            .get("oneOf")
            .and_then(|v| v.as_array())
            .unwrap()
            .clone();
        let bare: Vec<&str> = alternatives
            .iter()
            .filter_map(|a| a.get("const").and_then(|c| c.as_str()))
            .collect();
        let tables: Vec<&str> = alternatives
            .iter()
            .filter_map(|a| a.pointer("/required/0").and_then(|c| c.as_str()))
            .collect();
        for name in ENCODING_NAMES {
            let by_name = serde_json::from_value::<Encoding>(serde_json::json!(name));
            let valid = by_name.is_ok_and(|e| e.check().is_ok());
            assert_eq!(bare.contains(name), valid, "{name}");
            assert!(valid || tables.contains(name), "{name} cannot be written");
        }
        assert_eq!(bare.len() + tables.len(), alternatives.len());
        for table in tables {
            assert!(ENCODING_NAMES.contains(&table), "{table}");
        }
    }
}
