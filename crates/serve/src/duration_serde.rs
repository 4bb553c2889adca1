//! Durations in the files users write, as humantime text (`"30s"`,
//! `"500ms"`, `"1m 30s"`): the serde helpers of [`crate::ServerConfig`] and
//! [`crate::ModelConfig`].

use std::time::Duration;

use serde::{Deserializer, Serializer};

/// Writes a duration as humantime text (`"30s"`, `"1m 30s"`).
pub(crate) fn serialize_duration<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// Reads a duration written as humantime text (`"30s"`, `"500ms"`); a
/// visitor, so a parser's error points at the value itself.
pub(crate) fn deserialize_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    deserializer.deserialize_str(DurationVisitor)
}

struct DurationVisitor;

impl serde::de::Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a duration such as \"30s\" or \"500ms\"")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
        humantime::parse_duration(text).map_err(|e| {
            E::custom(format!(
                "invalid duration {text:?} ({e}); write a number and a unit, e.g. \"30s\" or \"500ms\""
            ))
        })
    }
}
