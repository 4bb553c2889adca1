//! [`set_model_config_label`]: move a version label in a model config file
//! in place — what `mlrig rollback` and the pipeline's push and rollback do
//! to the file a running `mlrig serve --model-config` polls.

use std::path::Path;

use crate::model_config::invalid;
use crate::{ConfigFormat, ModelConfig, ServeError};

/// Points label `label` of model `model` at `version` in the model config
/// file at `path` (JSON or TOML, by extension) and returns the version it
/// pointed at before (`None` when it was not set).
///
/// The rest of the document is kept: a TOML file keeps its comments and
/// layout (`[[models]]` tables or an inline array; a missing `labels` table
/// is added inline); a JSON file is rewritten pretty-printed. The result must
/// still be a valid [`ModelConfig`], and it replaces the file atomically
/// (temporary file + rename), so a server polling the file never reads half
/// of it; it applies the new label at its next poll (or on SIGHUP).
///
/// # Errors
/// [`ServeError::InvalidConfig`] naming the file when it cannot be read or
/// parsed, has no model `model`, has a `labels` entry that is not a table, or
/// would become invalid (a label name that cannot be addressed in a URL,
/// version 0); [`ServeError::Core`] when it cannot be written.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("mlrig-set-label-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("models.toml");
/// std::fs::write(&path, "# served by mlrig\n[[models]]\nname = \"adult\"\nbase_path = \"models/adult\"\nlabels = { stable = 2 } # moved by the pipeline\n")?;
///
/// let previous = mlrig_serve::set_model_config_label(&path, "adult", "stable", 1)?;
/// assert_eq!(previous, Some(2));
/// let text = std::fs::read_to_string(&path)?;
/// assert!(text.contains("# served by mlrig") && text.contains("# moved by the pipeline"));
/// assert_eq!(mlrig_serve::ModelConfig::from_file(&path)?.models[0].labels["stable"], 1);
///
/// // A new label is added; an unknown model is an error naming the file.
/// assert_eq!(mlrig_serve::set_model_config_label(&path, "adult", "canary", 2)?, None);
/// let missing = mlrig_serve::set_model_config_label(&path, "iris", "stable", 1).unwrap_err();
/// assert!(missing.to_string().contains("models.toml") && missing.to_string().contains("no model `iris`"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn set_model_config_label(
    path: &Path,
    model: &str,
    label: &str,
    version: u64,
) -> Result<Option<u64>, ServeError> {
    let format = ConfigFormat::of_path(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| invalid(path, e))?;
    let at_path = |e: ServeError| match e {
        ServeError::InvalidConfig { reason, .. } => invalid(path, reason),
        other => other,
    };
    let parse = |text: &str| match format {
        ConfigFormat::Toml => ModelConfig::from_toml_str(text),
        ConfigFormat::Json => ModelConfig::from_json_str(text),
    };
    let before = parse(&text).map_err(at_path)?;
    let Some(entry) = before.models.iter().find(|m| m.name == model) else {
        return Err(invalid(
            path,
            format!(
                "no model `{model}` (it configures: {})",
                before
                    .models
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let previous = entry.labels.get(label).copied();
    let new_text = match format {
        ConfigFormat::Toml => set_toml_label(&text, model, label, version),
        ConfigFormat::Json => set_json_label(&text, model, label, version),
    }
    .map_err(|reason| invalid(path, reason))?;
    // What is written must still be a valid config.
    parse(&new_text).map_err(at_path)?;
    mlrig_core::write_atomic(path, new_text.as_bytes())?;
    Ok(previous)
}

/// The JSON document with `labels.<label> = version` set in the model entry
/// named `model`, pretty-printed.
fn set_json_label(text: &str, model: &str, label: &str, version: u64) -> Result<String, String> {
    use serde_json::Value;
    let mut doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let entry = doc
        .get_mut("models")
        .and_then(Value::as_array_mut)
        .and_then(|models| {
            models
                .iter_mut()
                .find(|m| m.get("name").and_then(Value::as_str) == Some(model))
        })
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("no model `{model}`"))?;
    entry
        .entry("labels")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .ok_or_else(|| format!("`labels` of `{model}` is not an object"))?
        .insert(label.to_string(), serde_json::json!(version));
    serde_json::to_string_pretty(&doc)
        .map(|text| text + "\n")
        .map_err(|e| e.to_string())
}

/// The TOML document with `labels.<label> = version` set in the model entry
/// named `model` (`[[models]]` tables or an inline array), comments and
/// layout kept.
fn set_toml_label(text: &str, model: &str, label: &str, version: u64) -> Result<String, String> {
    use toml_edit::{DocumentMut, InlineTable, Item, TableLike, Value};
    let version = i64::try_from(version)
        .map_err(|_| format!("version {version} is larger than TOML integers allow"))?;
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("not TOML: {e}"))?;
    let entries: Vec<&mut dyn TableLike> = match doc.get_mut("models") {
        Some(Item::ArrayOfTables(tables)) => {
            tables.iter_mut().map(|t| t as &mut dyn TableLike).collect()
        }
        Some(Item::Value(Value::Array(array))) => array
            .iter_mut()
            .filter_map(|v| v.as_inline_table_mut().map(|t| t as &mut dyn TableLike))
            .collect(),
        _ => Vec::new(),
    };
    let entry = entries
        .into_iter()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(model))
        .ok_or_else(|| format!("no model `{model}`"))?;
    match entry.get_mut("labels") {
        Some(labels) => {
            labels
                .as_table_like_mut()
                .ok_or_else(|| format!("`labels` of `{model}` is not a table"))?
                .insert(label, toml_edit::value(version));
        }
        None => {
            let mut labels = InlineTable::new();
            labels.insert(label, version.into());
            entry.insert("labels", Item::Value(Value::InlineTable(labels)));
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn toml_tables_and_inline_arrays_keep_their_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models.toml");
        let text = "poll_interval = \"1s\" # fast\n\n# the served model\n[[models]]\nname = \"a\"\nbase_path = \"m/a\"\n\n[models.labels] # labels\nstable = 3\ncanary = 4\n\n[[models]]\nname = \"b\"\nbase_path = \"m/b\"\n";
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            set_model_config_label(&path, "a", "stable", 2).unwrap(),
            Some(3)
        );
        assert_eq!(
            set_model_config_label(&path, "b", "stable", 7).unwrap(),
            None
        );
        let new_text = std::fs::read_to_string(&path).unwrap();
        for comment in ["# fast", "# the served model", "# labels"] {
            assert!(new_text.contains(comment), "{new_text}");
        }
        let config = ModelConfig::from_file(&path).unwrap();
        assert_eq!(config.models[0].labels["stable"], 2);
        assert_eq!(config.models[0].labels["canary"], 4);
        assert_eq!(config.models[1].labels["stable"], 7);

        let inline = dir.path().join("inline.toml");
        std::fs::write(
            &inline,
            "# inline\nmodels = [{ name = \"a\", base_path = \"m/a\", labels = { stable = 1 } }]\n",
        )
        .unwrap();
        assert_eq!(
            set_model_config_label(&inline, "a", "stable", 5).unwrap(),
            Some(1)
        );
        let new_text = std::fs::read_to_string(&inline).unwrap();
        assert!(new_text.starts_with("# inline\n"), "{new_text}");
        assert_eq!(
            ModelConfig::from_file(&inline).unwrap().models[0].labels["stable"],
            5
        );
    }

    #[test]
    fn json_is_rewritten_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models.json");
        std::fs::write(
            &path,
            r#"{"poll_interval": "2s", "models": [{"name": "a", "base_path": "m/a"}]}"#,
        )
        .unwrap();
        assert_eq!(
            set_model_config_label(&path, "a", "stable", 2).unwrap(),
            None
        );
        assert_eq!(
            set_model_config_label(&path, "a", "stable", 1).unwrap(),
            Some(2)
        );
        let config = ModelConfig::from_file(&path).unwrap();
        assert_eq!(config.models[0].labels["stable"], 1);
        assert_eq!(config.poll_interval, std::time::Duration::from_secs(2));

        // An invalid result is refused and the file left as it was.
        let before = std::fs::read_to_string(&path).unwrap();
        for (label, version) in [("a/b", 1), ("stable", 0)] {
            let error = set_model_config_label(&path, "a", label, version).unwrap_err();
            assert!(
                matches!(&error, ServeError::InvalidConfig { path: p, .. } if p == &path),
                "{error}"
            );
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }

    #[test]
    fn unreadable_or_unknown_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.toml");
        let error = set_model_config_label(&missing, "a", "stable", 1).unwrap_err();
        assert!(error.to_string().contains("absent.toml"), "{error}");
        let yaml = dir.path().join("models.yaml");
        std::fs::write(&yaml, "models: []").unwrap();
        assert!(set_model_config_label(&yaml, "a", "stable", 1).is_err());
        let broken = dir.path().join("broken.toml");
        std::fs::write(&broken, "[[models]\n").unwrap();
        let error = set_model_config_label(&broken, "a", "stable", 1).unwrap_err();
        assert!(error.to_string().contains("broken.toml"), "{error}");
        let empty_labels = dir.path().join("labels.toml");
        std::fs::write(
            &empty_labels,
            "[[models]]\nname = \"a\"\nbase_path = \"m\"\nlabels = {}\n",
        )
        .unwrap();
        assert_eq!(
            set_model_config_label(&empty_labels, "a", "x", 1).unwrap(),
            None
        );
        assert_eq!(
            ModelConfig::from_file(&empty_labels).unwrap().models[0].labels["x"],
            1
        );
    }
}
