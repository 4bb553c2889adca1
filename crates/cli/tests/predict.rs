//! `mlrig predict` end to end: a model trained with `mlrig train` scores a
//! file into a table equal to the served predictions, byte for byte the
//! same for any batch size and thread count; bad rows are quarantined with
//! totals that add up; bad requests exit 2 with errors that say what to fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{ADULT, assert_status, json_stdout, mlrig, stderr, success_json, train_adult_model};
use mlrig_core::Predictions;
use proptest::prelude::*;

/// A model directory trained once per test binary on the Adult sample.
fn adult_model() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = train_adult_model(dir.path(), &[]);
        (dir, model)
    })
    .1
}

fn predict(extra: &[&str], out: &Path) -> std::process::Output {
    let mut args = vec![
        "--format",
        "json",
        "predict",
        "--model",
        adult_model().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mlrig(args)
}

#[test]
fn the_table_holds_the_served_probabilities_and_the_report_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.csv");
    let report = success_json(&predict(&[ADULT, "--with-input"], &out));
    let read = report["rows_read"].as_u64().unwrap();
    let predicted = report["rows_predicted"].as_u64().unwrap();
    assert_eq!(read, 4_071);
    assert_eq!(
        read,
        predicted
            + report["rows_quarantined"].as_u64().unwrap()
            + report["rows_rejected"].as_u64().unwrap()
    );
    assert_eq!(report["model"], "adult");
    assert_eq!(report["version"], 1);
    assert_eq!(report["format"], "csv");
    assert!(report["rows_per_second"].as_f64().unwrap() > 0.0);
    let columns: Vec<&str> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(columns[0], "age");
    assert_eq!(
        columns[columns.len() - 3..],
        ["prediction", "score_<=50K", "score_>50K"]
    );

    // The scores are the servable's, row for row.
    let servable = mlrig_pipeline::load_model_dir(adult_model()).unwrap();
    let mut inference = mlrig_ingest::InferenceOptions::default();
    for field in servable.input_schema().fields() {
        inference = inference.with_column_type(field.name(), field.data_type().clone());
    }
    let (_, batches, _) = mlrig_ingest::read_data(
        ADULT,
        mlrig_ingest::ReadOptions::default().with_inference(inference),
    )
    .unwrap();
    let mut expected = Vec::new();
    for batch in &batches {
        let Predictions::Classification { probabilities, .. } = servable.predict(batch).unwrap()
        else {
            panic!("a classifier")
        };
        expected.extend(probabilities.column(1).iter().copied());
    }
    let mut table = csv::Reader::from_path(&out).unwrap();
    let score = table
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "score_>50K")
        .unwrap();
    let written: Vec<f64> = table
        .records()
        .map(|r| r.unwrap()[score].parse().unwrap())
        .collect();
    assert_eq!(written, expected);
}

#[test]
fn malformed_rows_are_quarantined_and_rows_out_plus_quarantined_equal_rows_in() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(ADULT).unwrap();
    let mut lines: Vec<String> = text.lines().take(101).map(str::to_string).collect();
    lines[10] = lines[10].replacen(|c: char| c.is_ascii_digit(), "x", 1); // age "x9" or similar
    lines[20] = "only,three,fields".into();
    lines.push("\"unterminated".into());
    let data = dir.path().join("bad.csv");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("p.jsonl");
    let quarantine = dir.path().join("q.jsonl");
    let report = success_json(&predict(
        &[
            data.to_str().unwrap(),
            "--quarantine",
            quarantine.to_str().unwrap(),
            "--quarantine-format",
            "jsonl",
        ],
        &out,
    ));
    let read = report["rows_read"].as_u64().unwrap();
    let predicted = report["rows_predicted"].as_u64().unwrap();
    let quarantined = report["rows_quarantined"].as_u64().unwrap();
    assert_eq!(read, 101);
    assert_eq!(quarantined, 3, "{report}");
    assert_eq!(predicted + quarantined, read);
    let rows_out = std::fs::read_to_string(&out).unwrap().lines().count() as u64;
    assert_eq!(rows_out, predicted);
    let lines_quarantined: Vec<u64> = std::fs::read_to_string(&quarantine)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(lines_quarantined, [11, 21, 102]);
}

#[test]
fn bad_requests_exit_2_naming_the_file_or_column_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.csv");
    let model = adult_model().to_str().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![ADULT.into(), "--key".into(), "user_id".into()],
            "user_id",
        ),
        (
            vec![dir.path().join("gone.csv").to_str().unwrap().into()],
            "gone.csv",
        ),
        (
            vec![ADULT.into(), "--version".into(), "7".into()],
            "no version 7",
        ),
        (
            vec![ADULT.into(), "--batch-size".into(), "0".into()],
            "--batch-size",
        ),
    ];
    for (extra, needle) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let output = predict(&extra, &out);
        assert_status(&output, 2);
        let error = json_stdout(&output)["error"].as_str().unwrap().to_string();
        assert!(error.contains(needle), "{needle}: {error}");
        assert!(!out.exists());
    }
    let copy = dir.path().join("adult.csv");
    std::fs::copy(ADULT, &copy).unwrap();
    let copy = copy.to_str().unwrap();
    let version_dir = adult_model().join("1");
    let cases: [(Vec<&str>, &str); 2] = [
        (
            vec!["--model", model, copy, "--out", copy],
            "--out is also the data file",
        ),
        (
            vec![
                "--model",
                version_dir.to_str().unwrap(),
                ADULT,
                "--out",
                out.to_str().unwrap(),
                "--version",
                "2",
            ],
            "with --version 2",
        ),
    ];
    for (args, needle) in cases {
        let output = mlrig(["--format", "json", "predict"].into_iter().chain(args));
        assert_status(&output, 2);
        let error = json_stdout(&output)["error"].as_str().unwrap().to_string();
        assert!(error.contains(needle), "{needle}: {error}");
        assert!(!out.exists());
    }
    assert_eq!(
        std::fs::read(copy).unwrap(),
        std::fs::read(ADULT).unwrap(),
        "the data is kept"
    );
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let output = mlrig([
        "predict",
        "--model",
        model,
        empty.to_str().unwrap(),
        "--out",
        "p.txt",
    ]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains(".parquet"), "{}", stderr(&output));
    let output = mlrig([
        "predict",
        "--model",
        dir.path().to_str().unwrap(),
        ADULT,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_status(&output, 2);
    assert!(
        stderr(&output).contains("mlrig train"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn text_output_lists_ten_rejected_rows_and_points_to_json_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let california = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/samples/california_sample.csv"
    );
    let output = mlrig([
        "train",
        california,
        "--target",
        "MedHouseVal",
        "--name",
        "housing",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_status(&output, 0);
    // 15 rows with an infinite MedInc: parsed, then refused by the model.
    let text = std::fs::read_to_string(california).unwrap();
    let mut lines = text.lines();
    let mut csv = format!("{}\n", lines.next().unwrap());
    for line in lines.take(15) {
        let rest = line.split_once(',').unwrap().1;
        csv.push_str(&format!("inf,{rest}\n"));
    }
    let data = dir.path().join("inf.csv");
    std::fs::write(&data, csv).unwrap();
    let output = mlrig([
        "predict",
        "--model",
        dir.path().join("housing").to_str().unwrap(),
        data.to_str().unwrap(),
        "--out",
        dir.path().join("p.csv").to_str().unwrap(),
    ]);
    assert_status(&output, 0);
    let text = common::stdout(&output);
    assert_eq!(text.matches("  rejected ").count(), 10, "{text}");
    assert!(
        text.contains("… and 5 more rejected rows (--format json lists the first 1000)"),
        "{text}"
    );
}

#[test]
fn an_explicit_version_scores_with_that_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.parquet");
    let report = success_json(&predict(&[ADULT, "--version", "1"], &out));
    assert_eq!(report["version"], 1);
    assert_eq!(report["format"], "parquet");
    assert!(out.is_file());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// The table has the same bytes whatever the batch size and threads.
    #[test]
    fn tables_are_the_same_bytes_for_any_batch_size_and_thread_count(
        batch_size in 1usize..2_000,
        threads in 1usize..4,
    ) {
        static REFERENCE: OnceLock<Vec<u8>> = OnceLock::new();
        let reference = REFERENCE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("p.csv");
            assert_status(&predict(&[ADULT, "--with-input"], &out), 0);
            std::fs::read(&out).unwrap()
        });
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("p.csv");
        let output = mlrig([
            "--threads", &threads.to_string(), "predict", "--model",
            adult_model().to_str().unwrap(), ADULT, "--with-input",
            "--batch-size", &batch_size.to_string(), "--out", out.to_str().unwrap(),
        ]);
        assert_status(&output, 0);
        prop_assert!(std::fs::read(&out).unwrap() == *reference);
    }
}
