//! `mlrig infer-schema`: a schema from a data file or a statistics file, or,
//! with `--update`, a curated schema brought up to date with new data.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlrig_validate::{
    DatasetStatistics, Schema, SchemaChange, SchemaChangeKind, SchemaInferenceParams,
    SchemaUpdateOptions, TfmdFile, infer_schema, update_schema,
};
use serde_json::json;

use super::{CsvArgs, describe_output};
use crate::CommandResult;
use crate::output::Outcome;

/// Arguments of `mlrig infer-schema`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["file", "stats"])))]
pub(crate) struct Args {
    /// A data file (CSV, JSON Lines or Parquet) to compute statistics from.
    file: Option<PathBuf>,

    /// A statistics file written by `mlrig stats --out` or TFDV (.json, .pbtxt or .pb), instead of a data file.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,

    /// Write the schema here: `.pbtxt` (protobuf text, as TFDV writes), `.json` (tensorflow-metadata
    /// JSON) or `.pb` (binary protobuf). Every field of a schema given with --update is kept.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Update this (curated, hand-edited) schema instead of inferring one.
    ///
    /// Like TFDV's `update_schema`: the schema is kept; only what the data
    /// violates changes. New columns are inferred and added, new string
    /// values added to their domains, ranges, presence and value counts
    /// relaxed to what the data shows, and a required column that is missing
    /// or of another type is marked DEPRECATED. Constraints the data meets
    /// (a deliberately tight range, a deprecated feature, comparators,
    /// environments, dataset constraints) stay as written. The output lists
    /// every change; `--out` may be the same file.
    ///
    /// Example: mlrig infer-schema --stats new.json --update schema.pbtxt --out schema.pbtxt
    #[arg(long, value_name = "SCHEMA")]
    update: Option<PathBuf>,

    /// With --update: the environment the data comes from (e.g. SERVING);
    /// features outside it are left alone.
    #[arg(long, value_name = "NAME", requires = "update")]
    environment: Option<String>,

    /// Largest number of distinct strings recorded as a string domain.
    #[arg(long, default_value_t = 100, value_name = "N")]
    max_string_domain_size: usize,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    // Read the base schema first: a bad schema is reported before the data is read.
    let base = match &args.update {
        Some(path) => Some(Schema::load(path)?),
        None => None,
    };
    let stats = match (&args.stats, &args.file) {
        (Some(path), _) => DatasetStatistics::load_file(path)?,
        (None, Some(file)) => super::stats::compute(&[file.display().to_string()], &args.csv)?.0,
        (None, None) => return Err("give a data file or --stats FILE".into()),
    };
    let params =
        SchemaInferenceParams::default().with_max_string_domain_size(args.max_string_domain_size);
    let (schema, changes) = match &base {
        Some(base) => {
            let mut options = SchemaUpdateOptions::default().with_inference(params);
            if let Some(environment) = &args.environment {
                options = options.with_environment(environment);
            }
            let update = update_schema(base, &stats, &options)?;
            (update.schema, Some(update.changes))
        }
        None => (infer_schema(&stats, &params), None),
    };
    if let Some(out) = &args.out {
        schema.save(out)?;
    }
    let text = match &changes {
        Some(changes) => update_text(&args, &schema, changes),
        None => inferred_text(&args, &schema)?,
    };
    let mut json = json!({
        "out": args.out,
        "schema": serde_json::from_str::<serde_json::Value>(&schema.to_tfmd_json()?)?,
    });
    if let Some(changes) = &changes {
        json["updated"] = json!(args.update);
        json["changes"] = changes_json(changes);
    }
    Ok(Outcome::from_json(json, text))
}

fn inferred_text(args: &Args, schema: &Schema) -> Result<String, crate::output::CliError> {
    let mut text = format!(
        "schema of {} features {}\n",
        schema.features().len(),
        describe_output(&args.out)
    );
    for feature in schema.features() {
        let required = feature.presence.as_ref().and_then(|p| p.min_fraction) == Some(1.0);
        let domain = schema
            .string_domain_of(feature)?
            .map(|d| format!(", {} allowed values", d.value.len()))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "  {:<24} {:?}, {}{domain}",
            feature.name,
            feature.feature_type,
            if required { "required" } else { "optional" }
        );
    }
    Ok(text)
}

fn update_text(args: &Args, schema: &Schema, changes: &[SchemaChange]) -> String {
    let base = args
        .update
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut text = if changes.is_empty() {
        format!(
            "{base}: unchanged, the data meets every constraint ({} features) {}\n",
            schema.features().len(),
            describe_output(&args.out)
        )
    } else {
        format!(
            "{base}: {} changes ({} features) {}\n",
            changes.len(),
            schema.features().len(),
            describe_output(&args.out)
        )
    };
    for change in changes {
        let _ = writeln!(text, "  {change}");
    }
    text
}

/// `{"added_features": [...], "extended_domains": [...],
/// "relaxed_constraints": [...], "deprecated_features": [...]}`, each entry
/// `{feature, field, before, after, reason}`.
fn changes_json(changes: &[SchemaChange]) -> serde_json::Value {
    let group = |kind: SchemaChangeKind| -> Vec<serde_json::Value> {
        changes
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| {
                json!({
                    "feature": c.feature,
                    "field": c.field,
                    "before": c.before,
                    "after": c.after,
                    "reason": c.reason,
                })
            })
            .collect()
    };
    json!({
        "count": changes.len(),
        "added_features": group(SchemaChangeKind::AddedFeature),
        "extended_domains": group(SchemaChangeKind::ExtendedDomain),
        "relaxed_constraints": group(SchemaChangeKind::RelaxedConstraint),
        "deprecated_features": group(SchemaChangeKind::DeprecatedFeature),
    })
}
