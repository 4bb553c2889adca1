//! Reading the small files users write by hand (blessing thresholds, server
//! config) as JSON or TOML, with errors that name the file, line and column.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::output::CliError;

/// Reads `path` (`.json` or `.toml`) as a `T`; `what` names the file's role
/// in errors (`--thresholds`).
pub(crate) fn read<T: DeserializeOwned>(what: &str, path: &Path) -> Result<T, CliError> {
    let fail =
        |reason: String| -> CliError { format!("{what} {}: {reason}", path.display()).into() };
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    if !matches!(extension, "json" | "toml") {
        return Err(fail(format!(
            "unknown extension `.{extension}`; use .json or .toml"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    if extension == "toml" {
        toml::from_str(&text).map_err(|e| fail(mlrig_core::toml_error_message(&e)))
    } else {
        // serde_json's message ends in "at line L column C".
        serde_json::from_str(&text).map_err(|e| fail(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_serve::ServerConfig;

    #[test]
    fn errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("server.json");
        std::fs::write(&json, "{\n  \"max_body_byte\": 10\n}").unwrap();
        let err = read::<ServerConfig>("--config", &json)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("--config "), "{err}");
        assert!(err.contains("server.json"), "{err}");
        assert!(err.contains("unknown field `max_body_byte`"), "{err}");
        assert!(err.contains("line 2 column"), "{err}");

        let toml = dir.path().join("server.toml");
        std::fs::write(&toml, "max_body_bytes = 10\nrequest_timeout = \"later\"\n").unwrap();
        let err = read::<ServerConfig>("--config", &toml)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 2, column"), "{err}");
        assert!(err.contains("invalid duration \"later\""), "{err}");
        assert!(!err.contains('\n'), "{err}");

        let yaml = dir.path().join("server.yaml");
        let err = read::<ServerConfig>("--config", &yaml)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("use .json or .toml"), "{err}");
    }
}
