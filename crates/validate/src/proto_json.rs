//! Serde helpers for the proto3 JSON mapping of tensorflow-metadata messages.
//!
//! * 64-bit integers are written as JSON strings (`"numExamples": "100"`) and
//!   read from strings or numbers.
//! * `double`/`float` are written as JSON numbers, except NaN and ±∞, which
//!   are written `"NaN"`, `"Infinity"`, `"-Infinity"`; they are read from
//!   numbers or those strings (and numeric strings).
//! * Files are read and written through [`TfmdFile`](crate::TfmdFile), which
//!   uses [`to_pretty_json`] (pretty, trailing newline) for JSON.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Serialize, Serializer};

use crate::ValidateError;

/// Serializes 64-bit integers as JSON strings, reads strings or numbers.
pub(crate) mod int64 {
    use super::*;

    pub(crate) fn serialize<T: fmt::Display, S: Serializer>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
    where
        T: ProtoInt,
        D: Deserializer<'de>,
    {
        deserializer.deserialize_any(IntVisitor(PhantomData))
    }
}

/// [`int64`] for `Option` fields (absent when `None`).
pub(crate) mod opt_int64 {
    use super::*;

    pub(crate) fn serialize<T: fmt::Display, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => serializer.collect_str(v),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        T: ProtoInt,
        D: Deserializer<'de>,
    {
        deserializer.deserialize_option(OptionVisitor(PhantomData))
    }

    struct OptionVisitor<T>(PhantomData<T>);

    impl<'de, T: ProtoInt> Visitor<'de> for OptionVisitor<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer, an integer string or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(IntVisitor(PhantomData)).map(Some)
        }
    }
}

/// Integer types that the proto JSON helpers read and write.
pub(crate) trait ProtoInt: FromStr + TryFrom<u64> + TryFrom<i64> + fmt::Display {}
impl ProtoInt for u64 {}
impl ProtoInt for i64 {}

struct IntVisitor<T>(PhantomData<T>);

impl<T: ProtoInt> Visitor<'_> for IntVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer or an integer string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom(format!("integer {v} out of range")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom(format!("integer {v} out of range")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // proto3 JSON allows `1e3`-style exponents for integers.
        if v.fract() == 0.0 && v.abs() < 9.2e18 {
            if v < 0.0 {
                self.visit_i64(v as i64)
            } else {
                self.visit_u64(v as u64)
            }
        } else {
            Err(E::custom(format!("expected an integer, found {v}")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format!("expected an integer string, found {v:?}")))
    }
}

/// Serializes `f64` as a JSON number, NaN/±∞ as proto3 JSON strings.
pub(crate) mod double {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_str(non_finite_name(*value))
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        deserializer.deserialize_any(DoubleVisitor)
    }
}

/// [`double`] for `Option<f64>` fields (absent when `None`).
/// [`opt_double`] for proto `float` fields: a value read is rounded to the
/// nearest `f32` (what every protobuf reader stores), and written with the
/// digits of that `f32` as an `f64`, so JSON, text and binary agree exactly.
pub(crate) mod opt_float {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        opt_double::serialize(value, serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        Ok(opt_double::deserialize(deserializer)?.map(|v| f64::from(v as f32)))
    }
}

pub(crate) mod opt_double {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => double::serialize(v, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        deserializer.deserialize_option(OptionDoubleVisitor)
    }

    struct OptionDoubleVisitor;

    impl<'de> Visitor<'de> for OptionDoubleVisitor {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, \"NaN\", \"Infinity\", \"-Infinity\" or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(DoubleVisitor).map(Some)
        }
    }
}

/// Serializes `f32` (proto `float`) like [`double`].
pub(crate) mod float {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &f32, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f32(*value)
        } else {
            serializer.serialize_str(non_finite_name(f64::from(*value)))
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
        deserializer
            .deserialize_any(DoubleVisitor)
            .map(|v| v as f32)
    }
}

fn non_finite_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

struct DoubleVisitor;

impl Visitor<'_> for DoubleVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or one of \"NaN\", \"Infinity\", \"-Infinity\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .trim()
                .parse()
                .map_err(|_| E::custom(format!("expected a number, found {other:?}"))),
        }
    }
}

/// `true` for `false`: lets `skip_serializing_if` drop proto default booleans.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// `true` for zero: lets `skip_serializing_if` drop proto default integers.
pub(crate) fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// Pretty JSON with a trailing newline.
pub(crate) fn to_pretty_json<T: Serialize>(
    value: &T,
    context: &str,
) -> Result<String, ValidateError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| ValidateError::Json {
        context: context.to_string(),
        source,
    })?;
    text.push('\n');
    Ok(text)
}

/// Parses JSON text; `context` names the document in errors.
pub(crate) fn from_json<T: DeserializeOwned>(
    text: &str,
    context: &str,
) -> Result<T, ValidateError> {
    serde_json::from_str(text).map_err(|source| ValidateError::Json {
        context: context.to_string(),
        source,
    })
}
