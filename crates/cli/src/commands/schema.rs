//! `mlrig schema`: the JSON Schemas of the files users write by hand (feature
//! spec, blessing thresholds, server config, model spec, model config,
//! pipeline config), and of the
//! `mlrig monitor --format json` report, as committed in `docs/schemas/`.
//!
//! The schemas come from the types' `schemars::JsonSchema` derives (their doc
//! comments are the descriptions an editor shows), cleaned of rustdoc markup,
//! with a stable `$id` and title. `tests/schemas.rs` fails when a committed
//! schema differs from what this verb prints.

use std::path::PathBuf;

use mlrig_core::write_atomic;
use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value};

use crate::CommandResult;
use crate::output::{CliError, Outcome};

/// Where the committed schemas are published (the `$id` of each).
const SCHEMA_BASE_URL: &str = "https://raw.githubusercontent.com/mlrig/mlrig/main/docs/schemas/";

/// Arguments of `mlrig schema`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file format whose schema to print or write (all of them with --out-dir).
    #[arg(value_enum, required_unless_present = "out_dir")]
    name: Option<SchemaName>,

    /// Write the schema to FILE instead of stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "out_dir")]
    out: Option<PathBuf>,

    /// Write every schema (or NAME's) to DIR/<name>.schema.json (DIR is created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// A hand-written file format with a JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SchemaName {
    /// A feature spec (`mlrig features fit --spec FILE`, JSON or TOML).
    FeatureSpec,
    /// Blessing thresholds (`mlrig train --thresholds FILE`, JSON or TOML).
    BlessingThresholds,
    /// Server limits (`mlrig serve --config FILE`, JSON or TOML).
    ServerConfig,
    /// A model family and its parameters (`mlrig train --model FILE`, JSON or TOML).
    ModelSpec,
    /// Served models, version policies and labels (`mlrig serve --model-config FILE`, JSON or TOML).
    ModelConfig,
    /// The report `mlrig monitor --format json` prints (an output, not a hand-written file).
    MonitorReport,
    /// A pipeline config (`mlrig run mlrig.toml`; `mlrig init` writes a starter).
    Pipeline,
}

impl SchemaName {
    const ALL: [SchemaName; 7] = [
        SchemaName::FeatureSpec,
        SchemaName::BlessingThresholds,
        SchemaName::ServerConfig,
        SchemaName::ModelSpec,
        SchemaName::ModelConfig,
        SchemaName::MonitorReport,
        SchemaName::Pipeline,
    ];

    /// The name on the command line and in the file name (`feature-spec`).
    fn name(self) -> &'static str {
        match self {
            SchemaName::FeatureSpec => "feature-spec",
            SchemaName::BlessingThresholds => "blessing-thresholds",
            SchemaName::ServerConfig => "server-config",
            SchemaName::ModelSpec => "model-spec",
            SchemaName::ModelConfig => "model-config",
            SchemaName::MonitorReport => "monitor-report",
            SchemaName::Pipeline => "pipeline",
        }
    }

    fn file_name(self) -> String {
        format!("{}.schema.json", self.name())
    }

    fn title(self) -> &'static str {
        match self {
            SchemaName::FeatureSpec => "mlrig feature spec",
            SchemaName::BlessingThresholds => "mlrig blessing thresholds",
            SchemaName::ServerConfig => "mlrig server config",
            SchemaName::ModelSpec => "mlrig model spec",
            SchemaName::ModelConfig => "mlrig model config",
            SchemaName::MonitorReport => "mlrig monitor report",
            SchemaName::Pipeline => "mlrig pipeline config",
        }
    }

    /// The schema document, as committed in `docs/schemas/`.
    fn document(self) -> Value {
        let schema = match self {
            SchemaName::FeatureSpec => generate::<mlrig_features::FeatureSpec>(),
            SchemaName::BlessingThresholds => generate::<mlrig_train::BlessingThresholds>(),
            SchemaName::ServerConfig => generate::<mlrig_serve::ServerConfig>(),
            SchemaName::ModelSpec => generate::<mlrig_train::ModelSpec>(),
            SchemaName::ModelConfig => generate::<mlrig_serve::ModelConfig>(),
            SchemaName::MonitorReport => generate::<mlrig_pipeline::MonitorReport>(),
            SchemaName::Pipeline => generate::<mlrig_pipeline::PipelineConfig>(),
        };
        let mut document = schema.to_value();
        if self == SchemaName::ServerConfig {
            splice_monitoring(&mut document);
        }
        if let Value::Object(object) = &mut document {
            object.insert(
                "$id".into(),
                Value::String(format!("{SCHEMA_BASE_URL}{}", self.file_name())),
            );
            object.insert("title".into(), Value::String(self.title().into()));
        }
        sorted(document)
    }

    /// The document as written to a file: pretty JSON and a final newline.
    fn render(self) -> Result<String, CliError> {
        Ok(serde_json::to_string_pretty(&self.document())? + "\n")
    }
}

pub(crate) fn run(args: Args) -> CommandResult {
    let names = match args.name {
        Some(name) => vec![name],
        None => SchemaName::ALL.to_vec(),
    };
    let written: Vec<(SchemaName, PathBuf)> = match (&args.out, &args.out_dir) {
        (Some(out), _) => names.iter().map(|&n| (n, out.clone())).collect(),
        (None, Some(dir)) => names
            .iter()
            .map(|&n| (n, dir.join(n.file_name())))
            .collect(),
        (None, None) => {
            // One schema on stdout, whatever --format: the schema is the JSON.
            let document = names.first().map(|n| n.document()).unwrap_or_default();
            let text = serde_json::to_string_pretty(&document)? + "\n";
            return Ok(Outcome::from_json(document, text));
        }
    };
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("creating --out-dir {}: {e}", dir.display()))?;
    }
    let mut text = String::new();
    let mut json = Vec::new();
    for (name, path) in &written {
        write_atomic(path, name.render()?.as_bytes())?;
        text.push_str(&format!(
            "{} schema written to {}\n",
            name.name(),
            path.display()
        ));
        json.push(serde_json::json!({"schema": name.name(), "out": path}));
    }
    Ok(Outcome::from_json(
        serde_json::json!({ "written": json }),
        text,
    ))
}

/// The server config's `monitoring` section is kept as written by
/// `mlrig-serve` (which does not know the monitor's types) and read by
/// `mlrig serve` as `mlrig_monitor::MonitoringConfig`: the published schema
/// describes it with that type's schema (under `$defs`), keeping the field's
/// description.
fn splice_monitoring(document: &mut Value) {
    let Value::Object(monitoring) = generate::<mlrig_monitor::MonitoringConfig>().to_value() else {
        return;
    };
    let Value::Object(server) = document else {
        return;
    };
    let mut monitoring = monitoring;
    let defs = server
        .entry("$defs")
        .or_insert_with(|| Value::Object(Map::new()));
    if let (Value::Object(defs), Some(Value::Object(own))) = (defs, monitoring.remove("$defs")) {
        defs.extend(own);
    }
    monitoring.remove("$schema");
    let title = monitoring
        .remove("title")
        .and_then(|t| t.as_str().map(String::from))
        .unwrap_or_else(|| "MonitoringConfig".into());
    if let Some(Value::Object(defs)) = server.get_mut("$defs") {
        defs.insert(title.clone(), Value::Object(monitoring));
    }
    if let Some(Value::Object(field)) = server
        .get_mut("properties")
        .and_then(|p| p.get_mut("monitoring"))
    {
        let description = field.remove("description");
        field.clear();
        if let Some(description) = description {
            field.insert("description".into(), description);
        }
        field.insert(
            "anyOf".into(),
            serde_json::json!([{"$ref": format!("#/$defs/{title}")}, {"type": "null"}]),
        );
    }
}

/// The JSON Schema (draft 2020-12, deserialization contract) of `T` with
/// rustdoc markup removed from the descriptions.
fn generate<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .with_transform(PlainDescriptions)
        .into_generator()
        .into_root_schema_for::<T>()
}

/// Turns doc comments into descriptions an editor can show: no doctests, no
/// intra-doc link targets, paragraphs on one line.
#[derive(Debug, Clone, Copy)]
struct PlainDescriptions;

impl Transform for PlainDescriptions {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(Value::String(description)) = schema.get_mut("description") {
            *description = plain_description(description);
        }
        transform_subschemas(self, schema);
    }
}

/// `doc` without fenced code blocks and link targets, each paragraph on one
/// line (tables and lists keep their lines).
fn plain_description(doc: &str) -> String {
    let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
    let mut in_code = false;
    for line in doc.lines() {
        let line = line.trim_end();
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if line.trim().is_empty() {
            paragraphs.push(Vec::new());
        } else if let Some(last) = paragraphs.last_mut() {
            last.push(line);
        }
    }
    paragraphs
        .iter()
        .filter(|lines| !lines.is_empty())
        .map(|lines| {
            let structured = lines.iter().any(|l| {
                let l = l.trim_start();
                l.starts_with('|') || l.starts_with("- ") || l.starts_with("* ")
            });
            let joined = if structured {
                lines.join("\n")
            } else {
                lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
            };
            strip_links(&joined)
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `[text](target)` and `[text]` (rustdoc links) become `text`.
fn strip_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let label = &after[..close];
        let tail = &after[close + 1..];
        // Only links whose label is code (rustdoc) or that have a target.
        let target_end = tail
            .strip_prefix('(')
            .and_then(|t| t.find(')').map(|end| end + 2));
        if let Some(end) = target_end {
            out.push_str(label);
            rest = &tail[end..];
        } else if label.starts_with('`') && label.ends_with('`') {
            out.push_str(label);
            rest = tail;
        } else {
            out.push('[');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `value` with every object's keys in sorted order, so the committed files
/// do not depend on serde_json's `preserve_order` feature.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_lose_doctests_and_link_targets() {
        let doc = "The transforms, see [`FeatureSpec::infer`] and\n[`Features`](mlrig_core::Features).\n\n```\nlet x = 1;\n```\n\n| a | b |\n|---|---|\n\nA [plain] bracket.";
        assert_eq!(
            plain_description(doc),
            "The transforms, see `FeatureSpec::infer` and `Features`.\n\n| a | b |\n|---|---|\n\nA [plain] bracket."
        );
    }

    #[test]
    fn every_schema_has_id_title_and_no_rustdoc_left() {
        for name in SchemaName::ALL {
            let document = name.document();
            assert_eq!(document["title"], name.title());
            let id = document["$id"].as_str().unwrap_or_default();
            assert!(id.ends_with(&name.file_name()), "{id}");
            let text = name.render().unwrap_or_default();
            assert!(!text.contains("```"), "{}: a doctest is left", name.name());
            assert!(
                !text.contains("[`"),
                "{}: a rustdoc link is left",
                name.name()
            );
            if name == SchemaName::MonitorReport {
                continue; // printed by mlrig, not written by hand: no `$schema` key
            }
            let key = &document["properties"]["$schema"];
            assert_eq!(
                key["type"],
                "string",
                "{}: `$schema` is accepted",
                name.name()
            );
        }
    }
}
