//! `mlrig rollback`: point a version label of a model config file back to an
//! earlier version (a running `mlrig serve --model-config FILE` applies it at
//! its next poll, or at once on SIGHUP).

use std::path::PathBuf;

use mlrig_serve::{
    ModelConfig, ModelEntry, VersionPolicy, parse_version_dir, set_model_config_label,
};

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
    set_model_config_label(path, &args.model, &args.label, to)?;
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
