//! The offline monitor's row accounting: however a request log is split into
//! files and windows, every row read is used or skipped with a reason, and
//! the windows' contents do not depend on the split.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use mlrig_pipeline::{MonitorReport, OfflineMonitorJob};
use proptest::prelude::*;
use serde_json::{Value, json};

/// What a generated entry is.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Good,
    OtherModel,
    OtherVersion,
    BadInput,
    BadOutput,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        6 => Just(Kind::Good),
        1 => Just(Kind::OtherModel),
        1 => Just(Kind::OtherVersion),
        1 => Just(Kind::BadInput),
        1 => Just(Kind::BadOutput),
    ]
}

/// (second of the day, rows, kind) → a JSON Lines entry.
fn line(i: usize, second: u32, rows: usize, kind: Kind) -> String {
    let inputs: Vec<Value> = (0..rows)
        .map(|r| match kind {
            Kind::BadInput => json!({"MedInc": "lots"}),
            _ => json!({"MedInc": 1.0 + (i * 7 + r) as f64 % 9.0, "HouseAge": 20 + r}),
        })
        .collect();
    let outputs_len = if matches!(kind, Kind::BadOutput) {
        rows + 1
    } else {
        rows
    };
    let outputs: Vec<Value> = (0..outputs_len)
        .map(|r| json!({"prediction": 1.5 + r as f64, "source": "model"}))
        .collect();
    json!({
        "timestamp": format!("2026-12-07T{:02}:{:02}:{:02}.000Z", second / 3600, second / 60 % 60, second % 60),
        "request_id": format!("r{i}"),
        "model": if matches!(kind, Kind::OtherModel) { "other" } else { "housing" },
        "version": if matches!(kind, Kind::OtherVersion) { 7 } else { 1 },
        "source": "model",
        "inputs": inputs,
        "outputs": outputs,
    })
    .to_string()
}

fn run(files: &[PathBuf], window: Duration) -> MonitorReport {
    OfflineMonitorJob::new(
        common::housing_model(),
        files.iter().map(|f| f.display().to_string()),
    )
    .with_window(window)
    .run()
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn rows_read_are_used_or_skipped_whatever_the_files_and_windows(
        entries in proptest::collection::vec((0u32..86_399, 0usize..4, kind()), 1..40),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
        garbage in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        window_minutes in 1u64..240,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut lines: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, &(second, rows, kind))| line(i, second, rows, kind))
            .collect();
        for g in &garbage {
            lines.insert(g.index(lines.len() + 1), "{not a log entry".to_string());
        }
        // The same lines in one file, and split at the cut points.
        let whole = dir.path().join("all.jsonl");
        std::fs::write(&whole, lines.join("\n") + "\n").unwrap();
        let mut cut_points: Vec<usize> = cuts.iter().map(|c| c.index(lines.len() + 1)).collect();
        cut_points.push(0);
        cut_points.push(lines.len());
        cut_points.sort_unstable();
        cut_points.dedup();
        let parts: Vec<PathBuf> = cut_points
            .windows(2)
            .enumerate()
            .map(|(n, pair)| {
                let path = dir.path().join(format!("part-{n}.jsonl"));
                std::fs::write(&path, lines[pair[0]..pair[1]].join("\n")).unwrap();
                path
            })
            .collect();
        let window = Duration::from_secs(60 * window_minutes);
        let one = run(&[whole], window);
        let split = run(&parts, window);

        let total: u64 = entries.iter().map(|e| e.1 as u64).sum();
        let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
        for &(_, rows, kind) in &entries {
            let reason = match kind {
                Kind::Good => continue,
                Kind::OtherModel => "other_model",
                Kind::OtherVersion => "other_version",
                Kind::BadInput => "invalid_input",
                Kind::BadOutput => "invalid_output",
            };
            *skipped.entry(reason.to_string()).or_default() += rows as u64;
        }
        for report in [&one, &split] {
            let r = &report.rows;
            prop_assert_eq!(r.entries, entries.len() as u64);
            prop_assert_eq!(r.unreadable_entries, garbage.len() as u64);
            prop_assert_eq!(r.rows_read, total);
            prop_assert_eq!(r.rows_used + r.rows_skipped, r.rows_read);
            prop_assert_eq!(r.rows_used, r.labelled + r.unlabelled);
            let in_windows: u64 = report.windows.iter().map(|w| w.rows).sum();
            prop_assert_eq!(in_windows, r.rows_used);
            let nonzero: BTreeMap<String, u64> =
                r.skipped.iter().filter(|(_, v)| **v > 0).map(|(k, v)| (k.clone(), *v)).collect();
            skipped.retain(|_, v| *v > 0);
            prop_assert_eq!(&nonzero, &skipped);
        }
        // The split changes nothing but the file count.
        prop_assert_eq!(&one.windows, &split.windows);
        prop_assert_eq!(&one.features_changed, &split.features_changed);
    }
}

/// 30 requests of one instance each: an input the model does not read
/// (`block`, the join key), a prediction, one a minute from a fixed time.
fn entries() -> Vec<mlrig_serve::RequestLogEntry> {
    (0..30)
        .map(|i| {
            let mut entry = mlrig_serve::RequestLogEntry::new(
                &format!("r{i}"),
                "housing",
                1,
                "model",
                vec![json!({"MedInc": 2.0 + i as f64 / 10.0, "HouseAge": 10 + i, "block": format!("b{i}")})],
                vec![json!({"prediction": 1.0 + i as f64 / 20.0, "source": "model"})],
            );
            entry.timestamp =
                std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + 60 * i as u64);
            entry
        })
        .collect()
}

fn write_log(dir: &std::path::Path, format: mlrig_serve::RequestLogFormat) -> Vec<PathBuf> {
    let log = mlrig_serve::RequestLog::start(
        &mlrig_serve::RequestLogConfig::new(dir).with_format(format),
    )
    .unwrap();
    for entry in entries() {
        log.submit(entry);
    }
    log.close();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn parquet_and_gzip_logs_read_like_json_lines_and_labels_join_on_an_input_field() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = write_log(
        &dir.path().join("jsonl"),
        mlrig_serve::RequestLogFormat::Jsonl,
    );
    let parquet = write_log(
        &dir.path().join("parquet"),
        mlrig_serve::RequestLogFormat::Parquet,
    );
    assert!(parquet[0].to_string_lossy().ends_with(".parquet"));
    let gzip = dir.path().join("requests.jsonl.gz");
    {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&gzip).unwrap(),
            flate2::Compression::fast(),
        );
        for file in &jsonl {
            encoder.write_all(&std::fs::read(file).unwrap()).unwrap();
        }
        encoder.finish().unwrap();
    }
    // Labels for the even blocks, and one for a block never served.
    let mut labels = String::from("block,MedHouseVal\n");
    let mut expected: Vec<(f64, f64)> = Vec::new();
    for i in (0..30).step_by(2) {
        let truth = 1.2 + i as f64 / 15.0;
        labels.push_str(&format!("b{i},{truth}\n"));
        expected.push((1.0 + i as f64 / 20.0, truth));
    }
    labels.push_str("b99,3.0\n");
    let labels_file = dir.path().join("labels.csv");
    std::fs::write(&labels_file, labels).unwrap();

    let run = |files: &[PathBuf]| {
        OfflineMonitorJob::new(
            common::housing_model(),
            files.iter().map(|f| f.display().to_string()),
        )
        .with_window(Duration::from_secs(600))
        .with_labels(&labels_file, "block")
        .run()
        .unwrap()
    };
    let from_jsonl = run(&jsonl);
    let from_parquet = run(&parquet);
    let from_gzip = run(std::slice::from_ref(&gzip));
    assert_eq!(from_jsonl.windows, from_parquet.windows);
    assert_eq!(from_jsonl.windows, from_gzip.windows);
    assert_eq!(
        from_jsonl.windows.len(),
        3,
        "30 minutes in 10-minute windows"
    );

    let r = &from_jsonl;
    assert_eq!((r.rows.rows_read, r.rows.rows_used), (30, 30));
    assert_eq!((r.rows.labelled, r.rows.unlabelled), (15, 15));
    let labels = r.labels.as_ref().unwrap();
    assert_eq!(
        (labels.rows_read, labels.matched, labels.unused),
        (16, 15, 1)
    );
    assert_eq!(labels.unused_reasons["no_logged_row"], 1);
    // RMSE and MAE of all labelled rows, computed here.
    let n = expected.len() as f64;
    let mae = expected.iter().map(|(p, t)| (p - t).abs()).sum::<f64>() / n;
    let mse = expected.iter().map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / n;
    let quality = r.quality.as_ref().unwrap();
    assert_eq!(quality.rows, 15);
    assert!((quality.metrics["mae"] - mae).abs() < 1e-12, "{quality:?}");
    assert!(
        (quality.metrics["rmse"] - mse.sqrt()).abs() < 1e-12,
        "{quality:?}"
    );
    let per_window: u64 = r
        .windows
        .iter()
        .map(|w| w.quality.as_ref().map_or(0, |q| q.rows))
        .sum();
    assert_eq!(per_window, 15);
}

#[test]
fn parquet_rows_timed_outside_rfc3339_years_are_skipped_not_a_panic() {
    use mlrig_core::arrow_array::{ArrayRef, RecordBatch, TimestampMillisecondArray};
    let dir = tempfile::tempdir().unwrap();
    let written = write_log(
        &dir.path().join("parquet"),
        mlrig_serve::RequestLogFormat::Parquet,
    );
    let file = std::fs::File::open(&written[0]).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let batch = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
    // A log written elsewhere: two rows before 1970, one in year 10000+.
    let index = batch.schema().index_of("timestamp").unwrap();
    let timestamps = batch
        .column(index)
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .unwrap();
    let mut values: Vec<i64> = timestamps.values().to_vec();
    values[0] = -86_400_000;
    values[1] = i64::MIN;
    values[2] = i64::MAX;
    let column = TimestampMillisecondArray::from(values).with_timezone_opt(timestamps.timezone());
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[index] = std::sync::Arc::new(column);
    let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let path = dir.path().join("edited.parquet");
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let report = run(&[path], Duration::from_secs(600));
    let rows = &report.rows;
    assert_eq!(rows.rows_read, 30);
    assert_eq!(
        rows.skipped.get("invalid_timestamp"),
        Some(&3),
        "{:?}",
        rows.skipped
    );
    assert_eq!(rows.rows_used + rows.rows_skipped, rows.rows_read);
}
