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

/// A TOML parse error of a hand-written file on one line: where (`TOML
/// parse error at line L, column C`) and what, without the multi-line
/// source excerpt toml's `Display` adds (feature `toml`).
///
/// ```
/// let error = toml::from_str::<toml::Table>("a = \n").unwrap_err();
/// let message = mlrig_core::toml_error_message(&error);
/// assert!(message.starts_with("TOML parse error at line 1, column 5: "), "{message}");
/// assert!(!message.contains('\n'));
/// ```
#[cfg(feature = "toml")]
pub fn toml_error_message(error: &toml::de::Error) -> String {
    let text = error.to_string();
    match text.lines().next() {
        Some(location) if location.starts_with("TOML parse error") => {
            format!("{location}: {}", error.message())
        }
        _ => error.message().to_string(),
    }
}
