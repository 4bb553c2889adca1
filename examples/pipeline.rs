//! The pipeline runner as a library: the adult example config
//! (`examples/pipeline/adult/mlrig.toml`) run twice — the first run trains,
//! gates and pushes version 1, the second finds every step cached — with the
//! state and the pushed versions in a temporary directory.
//!
//! ```sh
//! cargo run --example pipeline
//! ```

use std::error::Error;
use std::path::Path;

use mlrig::pipeline::{Pipeline, PipelineConfig, RunRecord};

fn main() -> Result<(), Box<dyn Error>> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipeline/adult");
    let mut config = PipelineConfig::from_file(&example.join("mlrig.toml"))?;
    // Keep the repository clean: state, curated schema and versions in a temp dir.
    let work = tempfile::tempdir()?;
    config.root = work.path().join("pipeline");
    config.schema.path = work.path().join("schema.json");
    config.push.base_path = work.path().join("models");
    config.push.model_config = None;
    let pipeline = Pipeline::new(config, &example);

    for run in 1..=2 {
        let record = pipeline.run()?;
        println!("run {run}:");
        print_steps(&record);
        println!("  outcome: {}\n", serde_json::to_string(&record.outcome)?);
    }
    Ok(())
}

fn print_steps(record: &RunRecord) {
    for step in &record.steps {
        let gate = match &step.gate {
            Some(g) if g.passed => "gate passed",
            Some(_) => "gate BLOCKED",
            None => "",
        };
        println!(
            "  {:<15} {:<7} {:>6.2} s  {gate}",
            step.step.to_string(),
            serde_json::to_value(step.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            step.seconds
        );
    }
}
