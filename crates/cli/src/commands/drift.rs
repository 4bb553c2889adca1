//! `mlrig drift`: compare two data sets (or their statistics) for drift or skew.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mlrig_validate::{
    DatasetStatistics, DriftTestParams, Schema, TfmdFile, TfmdFormat, compare, compare_skew,
    drift_tests, untested_features,
};

use super::CsvArgs;
use crate::CommandResult;
use crate::output::{CliError, Outcome, anomalies_text, clip, count_of};

/// Arguments of `mlrig drift`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The reference: a data file or a statistics file from `mlrig stats --out` (.json, .pbtxt, .pb; e.g. training data).
    #[arg(long, value_name = "FILE")]
    reference: PathBuf,

    /// The data to compare: a data file or a statistics file (e.g. today's serving data).
    #[arg(long, value_name = "FILE")]
    current: PathBuf,

    /// A schema whose drift/skew comparators (infinity_norm, jensen_shannon_divergence) to apply.
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,

    /// Apply the schema's skew comparators (training vs serving) instead of its drift comparators.
    #[arg(long)]
    skew: bool,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    // The two data sets are read and summarised at the same time.
    let (reference, current) = std::thread::scope(|scope| {
        let reference = scope.spawn(|| statistics_of(&args.reference, &args.csv));
        let current = statistics_of(&args.current, &args.csv);
        let reference = reference
            .join()
            .map_err(|_| CliError::from("reading the reference data panicked"))?;
        Ok::<_, CliError>((reference?, current?))
    })?;
    let tests = drift_tests(&reference, &current, &DriftTestParams::default())?;
    let untested = untested_features(&reference, &current)?;
    let anomalies = match &args.schema {
        Some(path) => {
            let schema = Schema::load(path)?;
            Some(if args.skew {
                compare_skew(&reference, &current, &schema)?
            } else {
                compare(&reference, &current, &schema)?
            })
        }
        None => None,
    };

    let drifted: Vec<_> = tests.iter().filter(|t| t.drift_detected).collect();
    // A column that vanished, appeared, changed kind or emptied fails the
    // check too: "no drift" must not mean "nothing was compared".
    let incomparable = untested
        .iter()
        .filter(|u| u.reason.signals_a_problem())
        .count();
    let mut text = format!(
        "{} vs {}: {} of {} tests detect drift",
        args.reference.display(),
        args.current.display(),
        drifted.len(),
        tests.len()
    );
    if incomparable > 0 {
        let features = count_of(incomparable, "feature", "features");
        let _ = write!(text, "; {features} could not be compared");
    }
    text.push('\n');
    for t in &tests {
        let p = t
            .p_value
            .map(|p| format!(", p = {p:.4}"))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "  {} {:<24} {:?}: {:.4}{p} (threshold {}){}",
            if t.drift_detected { "!" } else { " " },
            clip(&t.feature),
            t.test,
            t.statistic,
            t.threshold,
            if t.drift_detected { "  DRIFT" } else { "" }
        );
    }
    for u in &untested {
        let mark = if u.reason.signals_a_problem() {
            "!"
        } else {
            "?"
        };
        let _ = writeln!(
            text,
            "  {mark} {:<24} not compared: {}",
            clip(&u.feature),
            u.detail
        );
    }
    if let Some(anomalies) = &anomalies {
        let _ = writeln!(
            text,
            "schema comparators: {}",
            count_of(anomalies.len(), "anomaly", "anomalies")
        );
        text.push_str(&anomalies_text(anomalies));
    }
    let comparator_failed = anomalies.as_ref().is_some_and(|a| !a.is_empty());
    let json = serde_json::json!({
        "reference": args.reference,
        "current": args.current,
        "drift_detected": !drifted.is_empty() || comparator_failed,
        "incomparable_features": incomparable,
        "tests": tests,
        "untested": untested,
        "anomalies": anomalies,
    });
    let failed = !drifted.is_empty() || comparator_failed || incomparable > 0;
    Ok(Outcome::from_json(json, text).failed_check(failed))
}

/// Statistics from a statistics file (`.json`, `.pbtxt` or `.pb`) or computed from a data file.
fn statistics_of(path: &Path, csv: &CsvArgs) -> Result<DatasetStatistics, CliError> {
    if TfmdFormat::from_path(path).is_ok() {
        return Ok(DatasetStatistics::load_file(path)?);
    }
    Ok(super::stats::compute(&[path.display().to_string()], csv)?.0)
}
