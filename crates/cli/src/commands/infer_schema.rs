//! `mlrig infer-schema`: a schema from a data file or a statistics file.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlrig_validate::{DatasetStatistics, SchemaInferenceParams, infer_schema};

use super::{CsvArgs, describe_output};
use crate::CommandResult;
use crate::output::Outcome;

/// Arguments of `mlrig infer-schema`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["file", "stats"])))]
pub(crate) struct Args {
    /// A CSV file to compute statistics from.
    file: Option<PathBuf>,

    /// A statistics file written by `mlrig stats --out` (instead of a CSV file).
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,

    /// Write the schema here: `.pbtxt` (protobuf text, as TFDV writes) or `.json` (tensorflow-metadata JSON).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Largest number of distinct strings recorded as a string domain.
    #[arg(long, default_value_t = 100, value_name = "N")]
    max_string_domain_size: usize,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let stats = match (&args.stats, &args.file) {
        (Some(path), _) => DatasetStatistics::load_tfmd_json(path)?,
        (None, Some(file)) => super::stats::compute(&[file.display().to_string()], &args.csv)?.0,
        (None, None) => return Err("give a CSV file or --stats FILE".into()),
    };
    let params =
        SchemaInferenceParams::default().with_max_string_domain_size(args.max_string_domain_size);
    let schema = infer_schema(&stats, &params);
    if let Some(out) = &args.out {
        schema.save(out)?;
    }
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
    let json = serde_json::json!({
        "out": args.out,
        "schema": serde_json::from_str::<serde_json::Value>(&schema.to_tfmd_json()?)?,
    });
    Ok(Outcome::from_json(json, text))
}
