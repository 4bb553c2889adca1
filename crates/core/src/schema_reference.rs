//! The `"$schema"` key of a hand-written file (feature spec, blessing
//! thresholds, server config): it points editors at the file's JSON Schema,
//! and mlrig reads and drops it, so a file read from disk equals the same
//! value built in Rust.

/// Reads a `"$schema"` string and drops it; for
/// `#[serde(rename = "$schema", default, skip_serializing, deserialize_with =
/// "mlrig_core::ignore_schema_reference")] schema_reference: ()`.
///
/// ```
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Config {
///     #[serde(rename = "$schema", default, deserialize_with = "mlrig_core::ignore_schema_reference")]
///     schema_reference: (),
///     port: u16,
/// }
/// let config: Config = serde_json::from_str(r#"{"$schema": "config.schema.json", "port": 80}"#).unwrap();
/// assert_eq!(config, Config { schema_reference: (), port: 80 });
/// assert!(serde_json::from_str::<Config>(r#"{"$schema": 1, "port": 80}"#).is_err());
/// ```
pub fn ignore_schema_reference<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<(), D::Error> {
    <String as serde::Deserialize>::deserialize(deserializer).map(drop)
}
