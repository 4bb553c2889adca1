//! `mlrig validate`: check a CSV file against a schema.
//!
//! The schema's `dataset_constraints` are checked too: example counts
//! always, and their ratio to a previous span's / version's with
//! `--previous-stats` / `--previous-version-stats` (TFDV's
//! `num_examples_drift_comparator` / `num_examples_version_comparator`).
//!
//! With `--rows`, every offending row of the value-level anomalies
//! ([`mlrig_validate::AnomalyKind::is_row_level`]) is listed as `file:line`.
//! The validator names rows by their 0-based index in the accepted stream,
//! known only at the end, so the line of every accepted row is recorded while
//! reading ([`RowOrigins`], 8 bytes per row: 80 MB for 10 million rows) and
//! the offending indices are mapped through it afterwards. This keeps one
//! pass over the input (which may be gzipped or a glob of many files) rather
//! than reading it twice.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlrig_ingest::RowOrigins;
use mlrig_validate::{
    Anomalies, DatasetStatistics, Schema, TfmdFile, ValidationOptions, Validator,
};
use serde_json::json;

use super::CsvArgs;
use crate::CommandResult;
use crate::output::{CliError, Outcome, anomalies_text, clipped_anomaly, count_of};
use crate::progress::rows_spinner;

/// Arguments of `mlrig validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// CSV files or glob patterns (`data/*.csv`, `.gz` files are decompressed); read as one data set.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,

    /// The schema: `.pbtxt`, `.json` or `.pb` (e.g. from `mlrig infer-schema --out`, or TFDV's).
    #[arg(long, value_name = "FILE")]
    schema: PathBuf,

    /// Validate for this environment (e.g. SERVING, where the label may be absent).
    #[arg(long, value_name = "NAME")]
    environment: Option<String>,

    /// List every offending row (FILE:LINE) of the value-level anomalies.
    ///
    /// For unexpected string values, out-of-range ints and floats, NaN,
    /// infinity and value counts (FEATURE_TYPE_LOW_NUMBER_VALUES /
    /// FEATURE_TYPE_HIGH_NUMBER_VALUES), print each offending row as FILE:LINE (the line where the
    /// CSV record starts) under the anomaly; with --format json, each such
    /// anomaly's reason gets "rows": [{"file": …, "line": …}, …].
    /// Column-level anomalies (missing or new column, wrong type, low
    /// presence) keep up to 5 example row indices. Costs 8 bytes of memory
    /// per data row.
    ///
    /// Example: mlrig validate serving.csv --schema schema.json --rows
    #[arg(long)]
    rows: bool,

    /// Statistics of the previous span (`mlrig stats --out`), for the
    /// schema's dataset_constraints.num_examples_drift_comparator
    /// (COMPARATOR_LOW_NUM_EXAMPLES / COMPARATOR_HIGH_NUM_EXAMPLES).
    #[arg(long, value_name = "FILE")]
    previous_stats: Option<PathBuf>,

    /// Statistics of the previous version, for the schema's
    /// dataset_constraints.num_examples_version_comparator.
    #[arg(long, value_name = "FILE")]
    previous_version_stats: Option<PathBuf>,

    #[command(flatten)]
    csv: CsvArgs,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let schema = Schema::load(&args.schema)?;
    let unchecked = schema.unmodelled_fields();
    if !unchecked.is_empty() {
        tracing::info!(
            "{}: kept but not checked (mlrig does not act on these tensorflow-metadata fields): {}",
            args.schema.display(),
            unchecked.join(", ")
        );
    }
    let mut reader = super::open_data(&args.files, &args.csv)?;
    if args.rows && reader.last_batch_origins().is_none() {
        return Err(
            "--rows lists file:line of each offending row, and Parquet input has no lines; \
                    validate without --rows"
                .into(),
        );
    }
    let mut options = ValidationOptions::default();
    if let Some(env) = &args.environment {
        options = options.with_environment(env);
    }
    if args.rows {
        options = options.with_all_rows();
    }
    if let Some(path) = &args.previous_stats {
        let previous = DatasetStatistics::load_file(path)?;
        options = options.with_previous_span_num_examples(previous.num_examples);
    }
    if let Some(path) = &args.previous_version_stats {
        let previous = DatasetStatistics::load_file(path)?;
        options = options.with_previous_version_num_examples(previous.num_examples);
    }
    let mut validator = Validator::with_options(&schema, &reader.schema(), &options)?;
    let mut origins = args.rows.then(RowOrigins::new);
    let spinner = rows_spinner(&format!("validating {}", args.files.join(" ")));
    while let Some(batch) = reader.next() {
        let batch = batch.map_err(mlrig_ingest::IngestError::from)?;
        spinner.inc(batch.num_rows() as u64);
        validator.update(&batch)?;
        if let (Some(origins), Some(batch_origins)) =
            (origins.as_mut(), reader.last_batch_origins())
        {
            origins.extend_from(batch_origins);
        }
    }
    spinner.finish_and_clear();
    let files: Vec<String> = reader
        .files()
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let report = reader.finish()?;
    let anomalies = validator.finish();
    let located = match &origins {
        Some(origins) => Some(locate_rows(&anomalies, origins, &files)?),
        None => None,
    };

    let text = if anomalies.is_empty() {
        format!(
            "{}: no anomalies ({} rows)\n",
            args.files.join(" "),
            report.summary.rows_accepted
        )
    } else {
        // `len()` counts a dataset without examples (tfmd `dataMissing`) as
        // one anomaly, as the lines below list it.
        let mut text = format!(
            "{}: {}\n",
            args.files.join(" "),
            count_of(anomalies.len(), "anomaly", "anomalies")
        );
        match &located {
            Some(located) => text.push_str(&rows_text(&anomalies, located)),
            None => text.push_str(&anomalies_text(&anomalies)),
        }
        text
    };
    let mut anomalies_json = serde_json::to_value(&anomalies)?;
    if let Some(located) = &located {
        add_json_rows(&mut anomalies_json, &anomalies, located);
    }
    let json = json!({
        "files": args.files,
        "ingest": report.summary,
        "anomaly_count": anomalies.len(),
        "anomalies": anomalies_json,
        "unchecked_schema_fields": unchecked,
    });
    Ok(Outcome::from_json(json, text).failed_check(!anomalies.is_empty()))
}

/// One offending row: the file it was read from and its starting line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SourceRow<'a> {
    file: &'a str,
    line: u64,
}

/// The source rows of each anomaly, in order: `Some` for the row-level
/// kinds, `None` for the others.
fn locate_rows<'a>(
    anomalies: &Anomalies,
    origins: &RowOrigins,
    files: &'a [String],
) -> Result<Vec<Option<Vec<SourceRow<'a>>>>, CliError> {
    anomalies
        .iter()
        .map(|anomaly| {
            if !anomaly.kind.is_row_level() {
                return Ok(None);
            }
            let rows = anomaly
                .example_rows
                .iter()
                .map(|&row| {
                    let origin = usize::try_from(row).ok().and_then(|r| origins.get(r));
                    let file = origin.and_then(|o| files.get(o.file_index as usize));
                    match (origin, file) {
                        (Some(origin), Some(file)) => Ok(SourceRow {
                            file: file.as_str(),
                            line: origin.line,
                        }),
                        _ => Err(CliError::from(format!(
                            "{}: {}: row {row} is not among the {} rows read",
                            anomaly.feature,
                            anomaly.kind,
                            origins.len()
                        ))),
                    }
                })
                .collect::<Result<Vec<_>, CliError>>()?;
            Ok(Some(rows))
        })
        .collect()
}

/// One line per anomaly; the row-level ones are followed by one indented
/// `file:line` per offending row instead of their row indices.
fn rows_text(anomalies: &Anomalies, located: &[Option<Vec<SourceRow<'_>>>]) -> String {
    let mut text = String::new();
    if anomalies.data_missing {
        text.push_str("(dataset): no examples\n");
    }
    for (anomaly, rows) in anomalies.iter().zip(located) {
        match rows {
            Some(rows) => {
                let mut summary = clipped_anomaly(anomaly);
                summary.example_rows.clear();
                let _ = writeln!(text, "{summary}");
                for row in rows {
                    let _ = writeln!(text, "  {}:{}", row.file, row.line);
                }
            }
            None => {
                let _ = writeln!(text, "{}", clipped_anomaly(anomaly));
            }
        }
    }
    text
}

/// Adds `"rows": [{"file", "line"}, …]` to the reason of every row-level
/// anomaly in the tfmd JSON of `anomalies`.
fn add_json_rows(
    json: &mut serde_json::Value,
    anomalies: &Anomalies,
    located: &[Option<Vec<SourceRow<'_>>>],
) {
    for (anomaly, rows) in anomalies.iter().zip(located) {
        let Some(rows) = rows else { continue };
        let reasons = json
            .pointer_mut(&format!(
                "/anomalyInfo/{}/reason",
                json_pointer_token(&anomaly.feature)
            ))
            .and_then(serde_json::Value::as_array_mut);
        let Some(reasons) = reasons else { continue };
        let kind = anomaly.kind.name();
        let reason = reasons
            .iter_mut()
            .find(|r| r["type"] == kind && r.get("rows").is_none());
        if let Some(serde_json::Value::Object(reason)) = reason {
            let rows = rows
                .iter()
                .map(|r| json!({ "file": r.file, "line": r.line }))
                .collect();
            reason.insert("rows".into(), serde_json::Value::Array(rows));
        }
    }
}

/// `name` escaped as one JSON Pointer token (RFC 6901).
fn json_pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_ingest::RowOrigin;
    use mlrig_validate::{Anomaly, AnomalyKind};

    fn anomalies() -> Anomalies {
        let mut found = Anomalies::default();
        found.push(Anomaly::new(
            "a/b",
            AnomalyKind::IntTypeBigInt,
            "at most 1",
            "9",
            2,
            vec![0, 2],
        ));
        found.push(Anomaly::new(
            "a/b",
            AnomalyKind::FeatureTypeLowFractionPresent,
            "present",
            "absent",
            1,
            vec![1],
        ));
        found
    }

    fn origins() -> RowOrigins {
        let mut origins = RowOrigins::new();
        for (file_index, line) in [(0, 2), (0, 4), (1, 2)] {
            origins.push(RowOrigin { file_index, line });
        }
        origins
    }

    #[test]
    fn rows_are_located_and_rendered_for_row_level_kinds_only() {
        let files = vec!["x.csv".to_string(), "y.csv".to_string()];
        let anomalies = anomalies();
        let located = locate_rows(&anomalies, &origins(), &files).unwrap();
        assert_eq!(
            located[0],
            Some(vec![
                SourceRow {
                    file: "x.csv",
                    line: 2
                },
                SourceRow {
                    file: "y.csv",
                    line: 2
                },
            ])
        );
        assert_eq!(located[1], None);
        let text = rows_text(&anomalies, &located);
        assert_eq!(
            text,
            "a/b: INT_TYPE_BIG_INT: expected at most 1, found 9 (2 examples)\n  x.csv:2\n  y.csv:2\n\
             a/b: FEATURE_TYPE_LOW_FRACTION_PRESENT: expected present, found absent (1 example; rows 1)\n"
        );
        let mut json = serde_json::to_value(&anomalies).unwrap();
        add_json_rows(&mut json, &anomalies, &located);
        let reasons = json["anomalyInfo"]["a/b"]["reason"].as_array().unwrap();
        assert_eq!(
            reasons[0]["rows"],
            json!([{"file": "x.csv", "line": 2}, {"file": "y.csv", "line": 2}])
        );
        assert!(reasons[1].get("rows").is_none());
    }

    #[test]
    fn a_row_without_origin_is_an_error_not_a_panic() {
        let mut found = Anomalies::default();
        found.push(Anomaly::new(
            "a",
            AnomalyKind::FloatTypeHasNan,
            "no NaN",
            "NaN",
            1,
            vec![7],
        ));
        let files = vec!["x.csv".to_string()];
        let err = locate_rows(&found, &origins(), &files).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a: FLOAT_TYPE_HAS_NAN: row 7 is not among the 3 rows read"
        );
    }
}
