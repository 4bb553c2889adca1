//! `mlrig init`: a commented starter `mlrig.toml` for a data file, on stdout
//! (`mlrig init data.csv --target y > mlrig.toml`).

use std::path::PathBuf;

use mlrig_pipeline::{StarterOptions, starter_config};
use serde_json::json;

use crate::CommandResult;
use crate::output::{Outcome, print_err};

/// Arguments of `mlrig init`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The data file (CSV, JSON Lines or Parquet) the pipeline trains on; written into
    /// `data.files` as given, so save the config in the directory this path is relative to.
    data: PathBuf,

    /// The column to predict.
    #[arg(long, value_name = "COL")]
    target: String,

    /// The model name (default: the data file's name without extensions).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,

    /// Where blessed versions are pushed (`push.base_path`).
    #[arg(long, value_name = "DIR", default_value = "models")]
    base_path: PathBuf,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let mut options = StarterOptions::default().with_base_path(&args.base_path);
    if let Some(name) = &args.name {
        options = options.with_name(name);
    }
    let starter = starter_config(&args.data, &args.target, &options)?;
    if let Some(notice) = &starter.task_notice {
        print_err(&format!("note: {notice}\n"));
    }
    let json = json!({
        "config": starter.toml,
        "task": starter.task,
        "task_notice": starter.task_notice,
        "columns": starter.columns,
    });
    Ok(Outcome::from_json(json, starter.toml))
}
