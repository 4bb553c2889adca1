#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The monitoring baselines a training run leaves in its bundle:
//! `prediction_statistics.json` (the model's predictions on the evaluation
//! rows) and the manifest's `data_newest_row` (the time column's newest value).

mod common;

use std::path::{Path, PathBuf};

use common::sample;
use mlrig_core::{ModelBundle, ServedPredictions, SplitRule};
use mlrig_ingest::{DataReader, ReadOptions};
use mlrig_pipeline::{
    BundleBaselines, PREDICTED_CLASS_FEATURE, PREDICTION_STATISTICS_FILE, PipelineError,
    SCORE_FEATURE, TrainingJob, TrainingReport, load_model_dir,
};
use mlrig_validate::DatasetStatistics;

/// The rows the training job holds out (row `i` iff `i % 5 == 4`), read as it reads them.
fn eval_rows(data: &Path) -> Vec<mlrig_core::arrow_array::RecordBatch> {
    let rule = SplitRule::modulo(5, vec![4]).unwrap();
    let mut first_row = 0;
    let mut eval = Vec::new();
    for batch in DataReader::open(data, ReadOptions::default()).unwrap() {
        let batch = batch.unwrap();
        let (_, e) = rule.split_batch(&batch, first_row, None).unwrap();
        first_row += batch.num_rows() as u64;
        eval.push(e);
    }
    eval
}

/// What a server would report for the evaluation rows: the served model's
/// predictions, summarised as for a request.
fn served_on_eval_rows(report: &TrainingReport, data: &Path) -> ServedPredictions {
    let servable = load_model_dir(&report.bundle_dir).unwrap();
    let mut class_counts: Vec<(String, u64)> = Vec::new();
    let mut scores = Vec::new();
    let mut last = None;
    for batch in eval_rows(data) {
        let served = ServedPredictions::new("m", 1, &servable.predict(&batch).unwrap());
        for (class, count) in &served.class_counts {
            match class_counts.iter_mut().find(|(c, _)| c == class) {
                Some((_, total)) => *total += count,
                None => class_counts.push((class.clone(), *count)),
            }
        }
        scores.extend(served.scores.iter().copied());
        last = Some(served);
    }
    let mut all = last.unwrap();
    all.rows = scores.len() as u64;
    all.class_counts = class_counts;
    all.scores = scores;
    all
}

fn prediction_statistics(report: &TrainingReport) -> DatasetStatistics {
    let bundle = ModelBundle::open(&report.bundle_dir).unwrap();
    assert!(
        bundle
            .manifest()
            .files
            .contains_key(PREDICTION_STATISTICS_FILE)
    );
    let baselines = BundleBaselines::read(&bundle).unwrap();
    let from_reader = baselines.predictions.unwrap();
    let text = std::fs::read_to_string(report.bundle_dir.join(PREDICTION_STATISTICS_FILE)).unwrap();
    let from_file = DatasetStatistics::from_tfmd_json(&text).unwrap();
    assert_eq!(from_reader, from_file);
    from_file
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn a_classifier_bundle_holds_the_statistics_of_its_evaluation_predictions() {
    let out = tempfile::tempdir().unwrap();
    let data = sample("adult_sample.csv");
    let report = TrainingJob::new(&data, "income")
        .with_output_dir(out.path())
        .run()
        .unwrap();
    let stats = prediction_statistics(&report);
    assert_eq!(stats.num_examples(), report.eval_rows as u64);
    assert_eq!(
        stats
            .features()
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        [PREDICTED_CLASS_FEATURE, SCORE_FEATURE]
    );

    let served = served_on_eval_rows(&report, &data);
    assert_eq!(served.rows, report.eval_rows as u64);
    // predicted_class: every predicted class with its count, as a server counts them.
    let class = stats
        .feature(PREDICTED_CLASS_FEATURE)
        .unwrap()
        .string()
        .unwrap();
    let mut top: Vec<(String, u64)> = class
        .top_values
        .iter()
        .map(|v| (v.value.clone(), v.frequency as u64))
        .collect();
    top.sort();
    let mut expected: Vec<(String, u64)> = served
        .class_counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(top, expected);
    assert!(expected.len() == 2, "both classes predicted: {expected:?}");
    assert_eq!(class.common_stats.num_non_missing, report.eval_rows as u64);

    // score: the predicted class's probability, so in [0.5, 1] for two classes.
    let score = stats.feature(SCORE_FEATURE).unwrap().numeric().unwrap();
    assert_eq!(score.common_stats.num_non_missing, report.eval_rows as u64);
    assert!(score.min >= 0.5 && score.max <= 1.0, "{score:?}");
    assert!((score.mean - mean(&served.scores)).abs() < 1e-9);
}

#[test]
fn a_regression_bundle_holds_the_statistics_of_its_evaluation_predictions() {
    let out = tempfile::tempdir().unwrap();
    let data = sample("california_sample.csv");
    let report = TrainingJob::new(&data, "MedHouseVal")
        .with_output_dir(out.path())
        .run()
        .unwrap();
    let stats = prediction_statistics(&report);
    assert_eq!(stats.num_examples(), report.eval_rows as u64);
    assert_eq!(stats.features().len(), 1, "score only");
    let score = stats.feature(SCORE_FEATURE).unwrap().numeric().unwrap();
    assert_eq!(score.common_stats.num_non_missing, report.eval_rows as u64);

    let served = served_on_eval_rows(&report, &data);
    assert!(served.class_counts.is_empty());
    assert!((score.mean - mean(&served.scores)).abs() < 1e-9);
    let min = served.scores.iter().copied().fold(f64::INFINITY, f64::min);
    let max = served
        .scores
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!((score.min, score.max), (min, max));

    // Without a time column the manifest says nothing about the data's age.
    let bundle = ModelBundle::open(&report.bundle_dir).unwrap();
    assert_eq!(bundle.manifest().data_newest_row, None);
    assert_eq!(
        BundleBaselines::read(&bundle).unwrap().data_newest_row_unix,
        None
    );
}

#[test]
fn a_bundle_without_the_new_files_still_loads() {
    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(sample("california_sample.csv"), "MedHouseVal")
        .with_output_dir(out.path())
        .run()
        .unwrap();
    // An older bundle: the same files but prediction_statistics.json, and no data_newest_row.
    let dir = &report.bundle_dir;
    std::fs::remove_file(dir.join(PREDICTION_STATISTICS_FILE)).unwrap();
    let manifest_path = dir.join(mlrig_core::MANIFEST_FILE);
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["files"]
        .as_object_mut()
        .unwrap()
        .remove(PREDICTION_STATISTICS_FILE);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();

    let bundle = ModelBundle::open(dir).unwrap();
    let baselines = BundleBaselines::read(&bundle).unwrap();
    assert_eq!(baselines.predictions, None);
    assert!(baselines.statistics.is_some());
    assert!(baselines.created_at_unix > 1_700_000_000);
    load_model_dir(dir).unwrap();
}

/// A small regression data set with a time column `when` written by `value(i)`.
fn dated_csv(dir: &Path, value: impl Fn(usize) -> String) -> PathBuf {
    let mut text = String::from("x,when,y\n");
    for i in 0..60 {
        let x = i as f64 / 10.0;
        text.push_str(&format!(
            "{x},{},{}\n",
            value(i),
            2.0 * x + 1.0 + (i % 3) as f64 * 0.1
        ));
    }
    let path = dir.join("dated.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn train_with_time(data: &Path, out: &Path) -> Result<TrainingReport, PipelineError> {
    TrainingJob::new(data, "y")
        .with_output_dir(out)
        .with_time_column("when")
        .run()
}

fn newest_in_manifest(report: &TrainingReport) -> (Option<String>, Option<i64>) {
    let bundle = ModelBundle::open(&report.bundle_dir).unwrap();
    let baselines = BundleBaselines::read(&bundle).unwrap();
    (
        bundle.manifest().data_newest_row.clone(),
        baselines.data_newest_row_unix,
    )
}

#[test]
fn the_newest_date_of_the_time_column_is_recorded_and_bad_values_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    // Row 34 (an evaluation row: 34 % 5 == 4) holds the newest date; three
    // values are not dates and one is empty.
    let data = dated_csv(dir.path(), |i| match i {
        34 => "2024-03-09 18:30:00".into(),
        7 => "not a date".into(),
        8 => "31/12/2030".into(),
        9 => "2099-02-30".into(),
        10 => String::new(),
        i if i % 2 == 0 => format!("2024-01-{:02}", i / 2 + 1),
        i => format!("2024-02-{:02}T06:00:00Z", i / 4 + 1),
    });
    let report = train_with_time(&data, &dir.path().join("models")).unwrap();
    let time = report.time_column.clone().unwrap();
    assert_eq!(time.column, "when");
    assert_eq!(
        (time.parsed, time.missing, time.unparseable),
        (56, 1, 3),
        "{time:?}"
    );
    assert_eq!(time.unparseable_example.as_deref(), Some("not a date"));
    assert_eq!(time.newest, "2024-03-09T18:30:00Z");
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("time column `when`: 3 of 60 values")),
        "{:?}",
        report.notices
    );
    assert_eq!(
        newest_in_manifest(&report),
        (Some("2024-03-09T18:30:00Z".into()), Some(1_710_009_000))
    );
}

#[test]
fn integer_epoch_seconds_are_a_time_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = dated_csv(dir.path(), |i| {
        (1_600_000_000 + (i as i64 * 7_919) % 50_000).to_string()
    });
    let report = train_with_time(&data, &dir.path().join("models")).unwrap();
    let newest = (0..60)
        .map(|i| 1_600_000_000 + (i as i64 * 7_919) % 50_000)
        .max()
        .unwrap();
    let time = report.time_column.clone().unwrap();
    assert_eq!((time.parsed, time.unparseable), (60, 0));
    assert!(report.notices.iter().all(|n| !n.contains("time column")));
    assert_eq!(newest_in_manifest(&report).1, Some(newest));
    assert_eq!(time.newest_unix, newest);
}

#[test]
fn a_time_column_that_is_missing_or_unreadable_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dated_csv(dir.path(), |i| format!("day {i}"));
    let err = train_with_time(&data, &dir.path().join("models")).unwrap_err();
    assert!(matches!(err, PipelineError::TimeColumn { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("time column `when`: no value could be read as a time (0 missing, 60 unreadable, e.g. `day 0`)"),
        "{text}"
    );
    assert!(err.is_invalid_input());

    let err = TrainingJob::new(&data, "y")
        .with_output_dir(dir.path().join("models"))
        .with_time_column("wen")
        .run()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "time column `wen`: not in the data; the columns are: x, when, y"
    );
    // Nothing was written by the failed runs.
    assert!(!dir.path().join("models/dated").exists());
}

/// chicago_taxi.csv (with MLRIG_DATA_DIR): `trip_start_timestamp` holds
/// integer epoch seconds; the manifest records their maximum.
#[test]
fn chicago_taxi_records_its_newest_trip() {
    let Some(dir) = std::env::var_os("MLRIG_DATA_DIR") else {
        eprintln!(
            "SKIPPED: full-data test on chicago_taxi.csv: set MLRIG_DATA_DIR=../shared/data to run it"
        );
        return;
    };
    let data = Path::new(&dir).join("chicago_taxi.csv");
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines = text.lines();
    let column = lines
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "trip_start_timestamp")
        .unwrap();
    let newest = lines
        .filter_map(|line| line.split(',').nth(column)?.parse::<i64>().ok())
        .max()
        .unwrap();

    let out = tempfile::tempdir().unwrap();
    let report = TrainingJob::new(&data, "big_tipper")
        .with_output_dir(out.path())
        .with_time_column("trip_start_timestamp")
        .run()
        .unwrap();
    let time = report.time_column.clone().unwrap();
    assert_eq!(time.newest_unix, newest);
    assert_eq!(time.unparseable, 0);
    assert_eq!(time.parsed + time.missing, report.ingest.rows_accepted);
    assert_eq!(newest_in_manifest(&report).1, Some(newest));
    let stats = prediction_statistics(&report);
    assert_eq!(stats.num_examples(), report.eval_rows as u64);
}
