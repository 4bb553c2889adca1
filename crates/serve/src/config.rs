//! [`ServerConfig`]: request limits and where predictions run.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::InputContractConfig;

/// Limits and execution settings of the HTTP API built by [`router`](crate::router).
///
/// Built in Rust, or read (serde) from a hand-written JSON or TOML file
/// (`mlrig serve --config FILE`, JSON Schema
/// `docs/schemas/server-config.schema.json`): every key is optional, unknown
/// keys are errors, and `request_timeout` is a duration such as `"30s"`,
/// `"500ms"` or `"2m"`.
///
/// ```
/// use mlrig_serve::ServerConfig;
/// use std::time::Duration;
/// let config = ServerConfig::default()
///     .with_max_body_bytes(1 << 20)
///     .with_request_timeout(Duration::from_secs(5));
/// assert_eq!(config.max_body_bytes, 1 << 20);
/// assert_eq!(ServerConfig::default().request_timeout, Duration::from_secs(30));
///
/// let file: ServerConfig = serde_json::from_str(r#"{"max_body_bytes": 1048576, "request_timeout": "5s"}"#)?;
/// assert_eq!(file, config);
/// assert_eq!(serde_json::to_value(&config)?["request_timeout"], "5s");
/// assert!(serde_json::from_str::<ServerConfig>(r#"{"timeout": "5s"}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
// The private unit field is the ignored `$schema` key, not a non-exhaustive marker.
#[allow(clippy::manual_non_exhaustive)]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes (default 4 MiB = 4194304); a
    /// larger body is answered with 413.
    pub max_body_bytes: usize,
    /// Longest time a request may take, body upload included (default
    /// `"30s"`); a slower request is answered with 504. A number and a unit
    /// (`ms`, `s`, `m`, `h`), e.g. `"500ms"`, `"1m 30s"`.
    #[serde(
        serialize_with = "serialize_duration",
        deserialize_with = "deserialize_duration"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String", extend("examples" = ["30s", "500ms", "2m"])))]
    pub request_timeout: Duration,
    /// Prediction requests whose body is at most this many bytes (default
    /// 16 KiB = 16384, a few dozen rows) are converted and predicted directly
    /// on the async worker thread; larger ones run on tokio's blocking thread
    /// pool so they never stall other connections. Set 0 to always use the
    /// pool.
    pub inline_predict_max_bytes: usize,
    /// How strictly each model's input contract (from its training schema)
    /// is enforced, per model and feature (see [`InputContractConfig`]);
    /// by default a missing required field or an unseen category is a 400
    /// and an out-of-range number is scored and counted.
    #[serde(skip_serializing_if = "InputContractConfig::is_default")]
    pub input_contract: InputContractConfig,
    /// The JSON Schema of this file, for editors; accepted and ignored.
    #[serde(
        rename = "$schema",
        skip_serializing,
        deserialize_with = "mlrig_core::ignore_schema_reference"
    )]
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    schema_reference: (),
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            inline_predict_max_bytes: 16 * 1024,
            input_contract: InputContractConfig::default(),
            schema_reference: (),
        }
    }
}

/// Writes a duration as humantime text (`"30s"`, `"1m 30s"`).
fn serialize_duration<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// Reads a duration written as humantime text (`"30s"`, `"500ms"`); a
/// visitor, so a parser's error points at the value itself.
fn deserialize_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
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

impl ServerConfig {
    /// Sets [`ServerConfig::max_body_bytes`].
    ///
    /// ```
    /// assert_eq!(mlrig_serve::ServerConfig::default().with_max_body_bytes(10).max_body_bytes, 10);
    /// ```
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`ServerConfig::request_timeout`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let c = mlrig_serve::ServerConfig::default().with_request_timeout(Duration::from_secs(1));
    /// assert_eq!(c.request_timeout, Duration::from_secs(1));
    /// ```
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::inline_predict_max_bytes`].
    ///
    /// ```
    /// let c = mlrig_serve::ServerConfig::default().with_inline_predict_max_bytes(0);
    /// assert_eq!(c.inline_predict_max_bytes, 0);
    /// ```
    pub fn with_inline_predict_max_bytes(mut self, bytes: usize) -> Self {
        self.inline_predict_max_bytes = bytes;
        self
    }

    /// Sets [`ServerConfig::input_contract`].
    ///
    /// ```
    /// use mlrig_serve::{InputContractConfig, RulesSetting, ServerConfig};
    /// let c = ServerConfig::default()
    ///     .with_input_contract(InputContractConfig::default().with_default(RulesSetting::Lenient));
    /// assert!(serde_json::to_string(&c)?.contains(r#""input_contract":{"default":"lenient"}"#));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn with_input_contract(mut self, input_contract: InputContractConfig) -> Self {
        self.input_contract = input_contract;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trip_defaults_and_errors() {
        let config = ServerConfig::default()
            .with_request_timeout(Duration::from_millis(1500))
            .with_inline_predict_max_bytes(0);
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(
            json,
            r#"{"max_body_bytes":4194304,"request_timeout":"1s 500ms","inline_predict_max_bytes":0}"#
        );
        assert_eq!(serde_json::from_str::<ServerConfig>(&json).unwrap(), config);
        let with_schema = r#"{"$schema": "server-config.schema.json"}"#;
        assert_eq!(
            serde_json::from_str::<ServerConfig>(with_schema).unwrap(),
            ServerConfig::default()
        );
        let err = serde_json::from_str::<ServerConfig>("{\n  \"request_timeout\": \"soon\"\n}")
            .unwrap_err();
        assert!(
            err.to_string().contains("invalid duration \"soon\""),
            "{err}"
        );
        assert_eq!((err.line(), err.column()), (2, 27), "{err}");
        let err = serde_json::from_str::<ServerConfig>(r#"{"request_timeout": 30}"#).unwrap_err();
        assert!(
            err.to_string().contains("expected a duration such as"),
            "{err}"
        );
        let err = serde_json::from_str::<ServerConfig>(r#"{"max_body": 1}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `max_body`"),
            "{err}"
        );
    }
}
