//! `mlrig rollback`: point a version label of a model config file back to an
//! earlier version (a running `mlrig serve --model-config FILE` applies it at
//! its next poll, or at once on SIGHUP).

use std::path::{Path, PathBuf};

use mlrig_core::write_atomic;
use mlrig_serve::{ConfigFormat, ModelConfig, ModelEntry, VersionPolicy, parse_version_dir};

use crate::CommandResult;
use crate::output::{CliError, Outcome};

/// Arguments of `mlrig rollback`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The model config file the server runs with (JSON or TOML); rewritten in place, atomically.
    #[arg(long = "model-config", value_name = "FILE")]
    model_config: PathBuf,

    /// The model whose label moves.
    #[arg(long, value_name = "NAME")]
    model: String,

    /// The label to move.
    #[arg(long, default_value = "stable", value_name = "LABEL")]
    label: String,

    /// The version to point the label at; default: the highest servable version below
    /// the label's current one.
    #[arg(long, value_name = "VERSION")]
    to: Option<u64>,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let path = &args.model_config;
    let config = ModelConfig::from_file(path)?;
    let Some(entry) = config.models.iter().find(|m| m.name == args.model) else {
        return Err(format!(
            "--model {}: not in {} (it configures: {})",
            args.model,
            path.display(),
            config
                .models
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    };
    let from = entry.labels.get(&args.label).copied();
    let servable = servable_versions(entry)?;
    let to = match (args.to, from) {
        (Some(to), _) => {
            if !servable.contains(&to) {
                return Err(format!(
                    "--to {to}: model `{}` cannot serve version {to} (versions on disk its version policy serves: {}); the server would keep `{}` where it is",
                    entry.name,
                    list(&servable),
                    args.label
                )
                .into());
            }
            to
        }
        (None, Some(current)) => servable
            .iter()
            .rev()
            .copied()
            .find(|v| *v < current)
            .ok_or_else(|| {
                format!(
                    "label `{}` of `{}` points at version {current} and no servable version is below it (servable: {}); pass --to VERSION",
                    args.label,
                    entry.name,
                    list(&servable)
                )
            })?,
        (None, None) => {
            return Err(format!(
                "label `{}` of `{}` is not set in {}; pass --to VERSION",
                args.label,
                entry.name,
                path.display()
            )
            .into());
        }
    };
    rewrite(path, &args.model, &args.label, to)?;
    let text = format!(
        "label `{}` of `{}`: {} -> {to} in {}; a running server applies it at its next poll (or now: kill -HUP <pid>)\n",
        args.label,
        args.model,
        from.map_or_else(|| "unset".to_string(), |v| v.to_string()),
        path.display()
    );
    Ok(Outcome::from_json(
        serde_json::json!({
            "model": args.model,
            "label": args.label,
            "from": from,
            "to": to,
            "model_config": path,
        }),
        text,
    ))
}

/// The versions under the model's base path that open as bundles (manifest
/// and fingerprints verified: the server refuses a half-written or corrupt
/// one, so a label cannot move to it) and that its version policy would
/// serve, ascending.
fn servable_versions(entry: &ModelEntry) -> Result<Vec<u64>, CliError> {
    let base = &entry.base_path;
    let mut versions: Vec<u64> = std::fs::read_dir(base)
        .map_err(|e| format!("{}: {e}", base.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = parse_version_dir(e.file_name().to_str()?)?;
            mlrig_core::ModelBundle::open(&e.path())
                .is_ok()
                .then_some(version)
        })
        .collect();
    versions.sort_unstable();
    versions.dedup();
    Ok(match &entry.version_policy {
        VersionPolicy::Specific { versions: listed } => {
            versions.retain(|v| listed.contains(v));
            versions
        }
        VersionPolicy::Latest { num_versions } => {
            let keep = usize::try_from(*num_versions).unwrap_or(usize::MAX);
            let skip = versions.len().saturating_sub(keep);
            versions.split_off(skip)
        }
        _ => versions,
    })
}

fn list(versions: &[u64]) -> String {
    if versions.is_empty() {
        return "none".into();
    }
    versions
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sets `models[name == model].labels[label] = to` in the file, keeping the
/// rest of the document (TOML keeps its comments and layout; JSON is
/// rewritten pretty-printed with sorted keys), checks the result and writes
/// it atomically.
fn rewrite(path: &Path, model: &str, label: &str, to: u64) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let new_text = match ConfigFormat::of_path(path)? {
        ConfigFormat::Toml => set_toml_label(&text, model, label, to)
            .map_err(|reason| format!("{}: {reason}", path.display()))?,
        ConfigFormat::Json => {
            let mut doc: serde_json::Value = serde_json::from_str(&text)?;
            let entry = doc
                .get_mut("models")
                .and_then(serde_json::Value::as_array_mut)
                .and_then(|models| {
                    models
                        .iter_mut()
                        .find(|m| m.get("name").and_then(serde_json::Value::as_str) == Some(model))
                })
                .and_then(serde_json::Value::as_object_mut)
                .ok_or_else(|| format!("{}: no model `{model}`", path.display()))?;
            let labels = entry
                .entry("labels")
                .or_insert_with(|| serde_json::json!({}));
            let labels = labels.as_object_mut().ok_or_else(|| {
                format!("{}: `labels` of `{model}` is not an object", path.display())
            })?;
            labels.insert(label.to_string(), serde_json::json!(to));
            serde_json::to_string_pretty(&doc)? + "\n"
        }
    };
    // What is written must still be a valid config.
    match ConfigFormat::of_path(path)? {
        ConfigFormat::Toml => ModelConfig::from_toml_str(&new_text).map(drop)?,
        ConfigFormat::Json => ModelConfig::from_json_str(&new_text).map(drop)?,
    }
    write_atomic(path, new_text.as_bytes())?;
    Ok(())
}

/// The TOML document with `labels.<label> = to` set in the model entry named
/// `model` (`[[models]]` tables or an inline array), comments and layout kept.
fn set_toml_label(text: &str, model: &str, label: &str, to: u64) -> Result<String, String> {
    use toml_edit::{DocumentMut, InlineTable, Item, TableLike, Value};
    let to = i64::try_from(to).map_err(|e| e.to_string())?;
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
                .insert(label, toml_edit::value(to));
        }
        None => {
            let mut labels = InlineTable::new();
            labels.insert(label, to.into());
            entry.insert("labels", Item::Value(Value::InlineTable(labels)));
        }
    }
    Ok(doc.to_string())
}
