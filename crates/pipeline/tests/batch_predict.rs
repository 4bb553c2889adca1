#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Static inference: a data file through a trained bundle into a prediction
//! table equals the servable's own predictions row for row, whatever the
//! batch size, chunk size or thread count; totals add up with bad rows.

mod common;

use common::sample;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::Float64Type;
use mlrig_core::arrow_array::{Array, RecordBatch};
use mlrig_core::{Predictions, Servable};
use mlrig_ingest::{InferenceOptions, ReadOptions, read_data};
use mlrig_pipeline::{
    BatchPredictJob, BlessingThresholds, PipelineError, TrainingJob, load_model_dir,
};
use proptest::prelude::*;

/// A model trained once per test binary on `data` (kept alive with its directory).
struct Trained {
    _dir: tempfile::TempDir,
    model_dir: PathBuf,
    servable: Arc<dyn Servable>,
}

fn train(data: &str, target: &str, name: &str) -> Trained {
    let dir = tempfile::tempdir().unwrap();
    TrainingJob::new(sample(data), target)
        .with_name(name)
        .with_output_dir(dir.path())
        .run()
        .unwrap();
    let model_dir = dir.path().join(name);
    let servable = load_model_dir(&model_dir).unwrap();
    Trained {
        _dir: dir,
        model_dir,
        servable,
    }
}

fn housing() -> &'static Trained {
    static MODEL: OnceLock<Trained> = OnceLock::new();
    MODEL.get_or_init(|| train("california_sample.csv", "MedHouseVal", "housing"))
}

fn adult() -> &'static Trained {
    static MODEL: OnceLock<Trained> = OnceLock::new();
    MODEL.get_or_init(|| train("adult_sample.csv", "income", "adult"))
}

/// The servable's predictions for the whole file, read in one go with the
/// model's column types.
fn served(model: &Trained, data: &Path) -> Predictions {
    let mut inference = InferenceOptions::default();
    for field in model.servable.input_schema().fields() {
        inference = inference.with_column_type(field.name(), field.data_type().clone());
    }
    let options = ReadOptions::default()
        .with_inference(inference)
        .with_batch_size(usize::MAX >> 1);
    let (_, batches, _) = read_data(data, options).unwrap();
    let batch = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
    model.servable.predict(&batch).unwrap()
}

/// The table written at `path`, read back as one batch.
fn table(path: &Path) -> RecordBatch {
    table_with(path, ReadOptions::default())
}

fn table_with(path: &Path, options: ReadOptions) -> RecordBatch {
    let (schema, batches, report) = read_data(path, options).unwrap();
    assert_eq!(report.summary.rows_quarantined, 0, "{path:?}");
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn floats(batch: &RecordBatch, column: &str) -> Vec<f64> {
    let array = batch.column_by_name(column).unwrap();
    array.as_primitive::<Float64Type>().values().to_vec()
}

#[test]
fn regression_tables_in_every_format_equal_the_served_predictions() {
    let model = housing();
    let data = sample("california_sample.csv");
    let Predictions::Regression { values } = served(model, &data) else {
        panic!("a regression model")
    };
    let dir = tempfile::tempdir().unwrap();
    for name in ["p.csv", "p.parquet", "p.jsonl"] {
        let out = dir.path().join(name);
        let report = BatchPredictJob::new(&model.model_dir, &data, &out)
            .run()
            .unwrap();
        assert_eq!(report.columns, ["prediction"]);
        assert_eq!(report.rows_predicted as usize, values.len(), "{name}");
        assert_eq!(
            report.rows_read,
            report.rows_predicted + report.rows_quarantined + report.rows_rejected
        );
        assert_eq!((report.model.as_str(), report.version), ("housing", 1));
        assert_eq!(
            floats(&table(&out), "prediction"),
            values.to_vec(),
            "{name}"
        );
    }
}

#[test]
fn classification_tables_have_the_key_inputs_label_and_one_score_per_class() {
    let model = adult();
    let data = sample("adult_sample.csv");
    let Predictions::Classification {
        classes,
        probabilities,
    } = served(model, &data)
    else {
        panic!("a classifier")
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.csv");
    let report = BatchPredictJob::new(&model.model_dir, &data, &out)
        .with_key("age")
        .with_input(true)
        .run()
        .unwrap();
    let header = std::fs::read_to_string(&data).unwrap();
    let inputs: Vec<&str> = header.lines().next().unwrap().split(',').collect();
    assert_eq!(report.columns[0], "age");
    assert_eq!(report.columns.len(), inputs.len() + 1 + classes.len());
    assert_eq!(
        report.columns[inputs.len()..],
        ["prediction", "score_<=50K", "score_>50K"]
    );
    let written = table(&out);
    for (c, class) in classes.iter().enumerate() {
        assert_eq!(
            floats(&written, &format!("score_{class}")),
            probabilities.column(c).to_vec()
        );
    }
    let labels = written
        .column_by_name("prediction")
        .unwrap()
        .as_string::<i32>();
    let rows: Vec<&str> = (0..labels.len()).map(|i| labels.value(i)).collect();
    let expected: Vec<&str> = Predictions::Classification {
        classes: classes.clone(),
        probabilities,
    }
    .labels()
    .unwrap()
    .into_iter()
    .map(|l| classes[l].as_str())
    .collect();
    assert_eq!(rows, expected);
    // The input columns come back unchanged, in input order.
    let (_, input, _) = read_data(&data, ReadOptions::default()).unwrap();
    assert_eq!(
        written.column_by_name("education").unwrap().as_ref(),
        input[0].column_by_name("education").unwrap().as_ref()
    );
}

#[test]
fn malformed_rows_are_quarantined_or_rejected_and_the_totals_add_up() {
    let model = housing();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample("california_sample.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let good_rows = lines.len() - 1;
    let width = lines[0].split(',').count();
    // Line 3: a word in a numeric column; line 5: a field short; line 7: an
    // infinite number, which parses but the model refuses.
    let mut fields: Vec<&str> = lines[2].split(',').collect();
    fields[0] = "lots";
    lines[2] = fields.join(",");
    lines[4] = lines[4].rsplit_once(',').unwrap().0.to_string();
    let mut fields: Vec<&str> = lines[6].split(',').collect();
    fields[0] = "inf";
    lines[6] = fields.join(",");
    assert_eq!(lines[1].split(',').count(), width);
    let data = dir.path().join("bad.csv");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let quarantine = dir.path().join("bad.quarantine.csv");
    let out = dir.path().join("p.jsonl");
    let options = ReadOptions::default().with_batch_size(7).with_quarantine(
        mlrig_ingest::QuarantineOptions::default()
            .with_file(&quarantine, mlrig_ingest::QuarantineFormat::Csv),
    );
    let report = BatchPredictJob::new(&model.model_dir, &data, &out)
        .with_read_options(options)
        .run()
        .unwrap();
    assert_eq!(report.rows_read as usize, good_rows);
    assert_eq!(report.rows_quarantined, 2);
    assert_eq!(report.rows_rejected, 1, "{report:?}");
    assert_eq!(report.rejected[0].line, 7);
    assert!(
        report.rejected[0].reason.contains("MedInc"),
        "{:?}",
        report.rejected
    );
    assert_eq!(
        report.rows_read,
        report.rows_predicted + report.rows_quarantined + report.rows_rejected
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.lines().count() as u64, report.rows_predicted);
    assert_eq!(
        std::fs::read_to_string(&quarantine)
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
fn bad_requests_are_errors_that_name_what_to_fix_and_write_nothing() {
    let model = housing();
    let dir = tempfile::tempdir().unwrap();
    let data = sample("california_sample.csv");
    let out = dir.path().join("p.csv");
    let run = |job: BatchPredictJob| job.run().unwrap_err();

    let e = run(BatchPredictJob::new(&model.model_dir, &data, &out).with_key("house_id"));
    assert!(matches!(e, PipelineError::MissingKey { .. }), "{e}");
    assert!(
        e.to_string().contains("`house_id`") && e.to_string().contains("MedInc"),
        "{e}"
    );

    let e = run(BatchPredictJob::new(
        &model.model_dir,
        &data,
        dir.path().join("p.xlsx"),
    ));
    assert!(e.to_string().contains(".parquet"), "{e}");

    let e = run(BatchPredictJob::new(&model.model_dir, &data, &out).with_version(9));
    assert!(
        e.to_string().contains("no version 9") && e.to_string().contains("[1]"),
        "{e}"
    );

    let base = model.model_dir.parent().unwrap();
    for job in [
        BatchPredictJob::new(base, &data, &out),
        BatchPredictJob::new(base, &data, &out).with_version(1),
    ] {
        let e = run(job);
        assert!(matches!(e, PipelineError::ModelsNotVersions { .. }), "{e}");
        assert!(
            e.to_string()
                .contains(&model.model_dir.display().to_string()),
            "{e}"
        );
    }

    // `mlrig serve` loads with the same function, so it gets the same hint.
    let e = load_model_dir(base).err().unwrap();
    assert!(matches!(e, PipelineError::ModelsNotVersions { .. }), "{e}");

    let e = run(BatchPredictJob::new(model.model_dir.join("1"), &data, &out).with_version(2));
    assert!(matches!(e, PipelineError::VersionOfVersion { .. }), "{e}");
    assert!(
        e.to_string().contains(&format!(
            "pass its model directory ({}) with --version 2",
            model.model_dir.display()
        )),
        "{e}"
    );

    let e = run(BatchPredictJob::new(
        dir.path().join("nothing"),
        &data,
        &out,
    ));
    assert!(matches!(e, PipelineError::NoModel { .. }), "{e}");

    let narrow = dir.path().join("narrow.csv");
    std::fs::write(&narrow, "MedInc,HouseAge\n8.3,41\n").unwrap();
    let e = run(BatchPredictJob::new(&model.model_dir, &narrow, &out));
    assert!(matches!(e, PipelineError::MissingModelInputs { .. }), "{e}");
    assert!(e.to_string().contains("AveRooms"), "{e}");

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let e = run(BatchPredictJob::new(&model.model_dir, &empty, &out));
    assert!(
        e.is_invalid_input() && e.to_string().contains("empty.csv"),
        "{e}"
    );

    let e = run(BatchPredictJob::new(
        &model.model_dir,
        dir.path().join("gone.csv"),
        &out,
    ));
    assert!(e.to_string().contains("gone.csv"), "{e}");
    assert!(!out.exists(), "no table after a failed run");

    let nodir = dir.path().join("nodir");
    let e = run(BatchPredictJob::new(
        &model.model_dir,
        &data,
        nodir.join("p.csv"),
    ));
    assert!(matches!(e, PipelineError::OutputDirMissing { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("create it (mkdir -p {})", nodir.display())),
        "{e}"
    );
}

#[test]
fn an_out_that_is_the_data_or_the_quarantine_file_is_refused_and_nothing_is_replaced() {
    let model = housing();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample("california_sample.csv")).unwrap();
    let data = dir.path().join("extra.csv");
    std::fs::write(&data, &text).unwrap();

    // The same file, by the same path and by another spelling of it.
    let other_spelling = dir.path().join(".").join("extra.csv");
    for out in [data.clone(), other_spelling] {
        let e = BatchPredictJob::new(&model.model_dir, &data, &out)
            .run()
            .unwrap_err();
        assert!(matches!(e, PipelineError::OutputOverwrites { .. }), "{e}");
        assert!(
            e.to_string().contains("data file") && e.to_string().contains("extra_predictions.csv"),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&data).unwrap(), text, "data kept");
    }

    let quarantine = dir.path().join("q.csv");
    std::fs::write(&quarantine, "kept\n").unwrap();
    let options = ReadOptions::default().with_quarantine(
        mlrig_ingest::QuarantineOptions::default()
            .with_file(&quarantine, mlrig_ingest::QuarantineFormat::Csv),
    );
    let e = BatchPredictJob::new(&model.model_dir, &data, &quarantine)
        .with_read_options(options)
        .run()
        .unwrap_err();
    assert!(
        matches!(e, PipelineError::OutputOverwrites { .. })
            && e.to_string().contains("quarantine file"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&quarantine).unwrap(), "kept\n");
}

#[test]
fn the_key_and_columns_the_model_does_not_read_are_copied_as_text() {
    let model = housing();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample("california_sample.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut csv = format!("id,{header},note\n");
    let mut ids = Vec::new();
    let mut notes = Vec::new();
    for (i, line) in lines.enumerate() {
        // Numbers in the first rows (more than the inference sample), then text.
        let id = if i < 20 {
            format!("{i:05}")
        } else {
            format!("A{i}")
        };
        let note = if i < 20 {
            format!("{i}")
        } else {
            "late".into()
        };
        csv.push_str(&format!("{id},{line},{note}\n"));
        ids.push(id);
        notes.push(note);
    }
    let data = dir.path().join("keyed.csv");
    std::fs::write(&data, csv).unwrap();
    let options = |inference: InferenceOptions| {
        ReadOptions::default()
            .with_batch_size(16)
            .with_inference(inference.with_infer_rows(10))
    };
    let out = dir.path().join("p.csv");
    let report = BatchPredictJob::new(&model.model_dir, &data, &out)
        .with_key("id")
        .with_input(true)
        .with_read_options(options(InferenceOptions::default()))
        .run()
        .unwrap();
    assert_eq!(report.rows_quarantined, 0, "{:?}", report.ingest);
    assert_eq!(report.rows_predicted as usize, ids.len());
    let written = std::fs::read_to_string(&out).unwrap();
    let mut rows = written.lines();
    let columns: Vec<&str> = rows.next().unwrap().split(',').collect();
    let note_at = columns.iter().position(|c| *c == "note").unwrap();
    assert_eq!(columns[0], "id");
    let (keys, copied_notes): (Vec<String>, Vec<String>) = rows
        .map(|row| {
            let fields: Vec<&str> = row.split(',').collect();
            (fields[0].to_string(), fields[note_at].to_string())
        })
        .unzip();
    assert_eq!(keys, ids, "zero-padded and textual keys unchanged");
    assert_eq!(copied_notes, notes);
    let Predictions::Regression { values } = served(model, &sample("california_sample.csv")) else {
        panic!("a regression model")
    };
    let as_text = InferenceOptions::default()
        .with_column_type("id", mlrig_ingest::DataType::Utf8)
        .with_column_type("note", mlrig_ingest::DataType::Utf8);
    let table = table_with(&out, options(as_text));
    assert_eq!(floats(&table, "prediction"), values.to_vec());

    // A type the user gives an unused column still applies.
    let typed = InferenceOptions::default().with_column_type("note", mlrig_ingest::DataType::Int64);
    let report = BatchPredictJob::new(&model.model_dir, &data, &out)
        .with_read_options(options(typed))
        .run()
        .unwrap();
    assert_eq!(report.rows_quarantined as usize, ids.len() - 20);
}

/// California rows as JSON Lines, the first without `HouseAge`.
fn california_json_lines() -> String {
    let text = std::fs::read_to_string(sample("california_sample.csv")).unwrap();
    let mut lines = text.lines();
    let names: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut out = String::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<String> = names
            .iter()
            .zip(line.split(','))
            .filter(|(name, _)| !(i == 0 && **name == "HouseAge"))
            .map(|(name, value)| format!("\"{name}\": {value}"))
            .collect();
        out.push_str(&format!("{{{}}}\n", fields.join(", ")));
    }
    out
}

#[test]
fn json_lines_input_with_a_field_missing_on_the_first_line_is_scored() {
    let model = housing();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("houses.jsonl");
    std::fs::write(&data, california_json_lines()).unwrap();
    let out = dir.path().join("p.csv");
    let report = BatchPredictJob::new(&model.model_dir, &data, &out)
        .with_read_options(ReadOptions::default().with_batch_size(5))
        .run()
        .unwrap();
    let Predictions::Regression { values } = served(model, &sample("california_sample.csv")) else {
        panic!("a regression model")
    };
    assert_eq!(report.rows_read as usize, values.len());
    assert_eq!(report.rows_quarantined, 0, "{:?}", report.ingest);
    assert_eq!(
        report.rows_read,
        report.rows_predicted + report.rows_quarantined + report.rows_rejected
    );
    // Line 1 lacks HouseAge (a null): scored or refused, the others as served.
    let written = floats(&table(&out), "prediction");
    assert_eq!(written.len() as u64, report.rows_predicted);
    let tail = &written[written.len() - (values.len() - 1)..];
    assert_eq!(tail, &values.to_vec()[1..]);
}

#[test]
fn parquet_input_is_scored_like_the_csv_it_was_written_from() {
    let model = housing();
    let dir = tempfile::tempdir().unwrap();
    let mut inference = InferenceOptions::default();
    for field in model.servable.input_schema().fields() {
        inference = inference.with_column_type(field.name(), field.data_type().clone());
    }
    let (schema, batches, _) = read_data(
        sample("california_sample.csv"),
        ReadOptions::default().with_inference(inference),
    )
    .unwrap();
    let data = dir.path().join("houses.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&data).unwrap(), schema, None)
            .unwrap();
    for batch in &batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
    let out = dir.path().join("p.jsonl");
    let report = BatchPredictJob::new(&model.model_dir, &data, &out)
        .with_key("MedHouseVal")
        .run()
        .unwrap();
    let Predictions::Regression { values } = served(model, &sample("california_sample.csv")) else {
        panic!("a regression model")
    };
    assert_eq!(report.rows_predicted as usize, values.len());
    let written = table(&out);
    assert_eq!(floats(&written, "prediction"), values.to_vec());
    assert_eq!(
        written.schema().field(0).data_type(),
        &mlrig_ingest::DataType::Float64,
        "Parquet columns keep their own types"
    );
}

#[test]
fn a_read_failure_after_some_batches_are_written_leaves_no_table_and_no_temp_file() {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    let model = housing();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample("california_sample.csv")).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(header.as_bytes()).unwrap();
    encoder.write_all(b"\n").unwrap();
    for _ in 0..40 {
        encoder.write_all(rows.as_bytes()).unwrap();
    }
    let gz = encoder.finish().unwrap();
    // Cut the stream in its middle: the reader fails after many rows.
    let data = dir.path().join("cut.csv.gz");
    std::fs::write(&data, &gz[..gz.len() / 2]).unwrap();
    let out = dir.path().join("p.csv");
    let written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&written);
    let e = BatchPredictJob::new(&model.model_dir, &data, &out)
        .with_read_options(ReadOptions::default().with_batch_size(16))
        .with_batches_in_flight(1)
        .with_progress(Arc::new(move |rows| {
            counter.fetch_add(rows, Ordering::Relaxed);
        }))
        .run()
        .unwrap_err();
    assert!(e.to_string().contains("cut.csv.gz"), "{e}");
    assert!(
        written.load(Ordering::Relaxed) > 0,
        "batches were written before the failure"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left, ["cut.csv.gz"], "no table, no temporary file");
}

#[test]
fn a_header_only_file_gives_a_header_only_table() {
    let model = housing();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample("california_sample.csv")).unwrap();
    let data = dir.path().join("header.csv");
    std::fs::write(&data, format!("{}\n", text.lines().next().unwrap())).unwrap();
    let out = dir.path().join("p.csv");
    let report = BatchPredictJob::new(&model.model_dir, &data, &out)
        .run()
        .unwrap();
    assert_eq!((report.rows_read, report.rows_predicted), (0, 0));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "prediction\n");
}

#[test]
fn a_model_directory_without_a_blessed_version_needs_an_explicit_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample("california_sample.csv");
    let impossible = BlessingThresholds::default().with_min("r2", 1.5);
    TrainingJob::new(&data, "MedHouseVal")
        .with_name("strict")
        .with_output_dir(dir.path())
        .with_thresholds(impossible)
        .run()
        .unwrap();
    let out = dir.path().join("p.csv");
    let e = BatchPredictJob::new(dir.path().join("strict"), &data, &out)
        .run()
        .unwrap_err();
    assert!(matches!(e, PipelineError::NoBlessedModel { .. }), "{e}");
    assert!(e.to_string().contains("--version N"), "{e}");
    let report = BatchPredictJob::new(dir.path().join("strict"), &data, &out)
        .with_version(1)
        .run()
        .unwrap();
    assert_eq!(report.version, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The table equals the servable's predictions row for row, whatever the
    /// batch size, the batches scored at once and the threads.
    #[test]
    fn tables_equal_served_predictions_for_any_batching_and_threads(
        batch_size in 1usize..400,
        in_flight in 1usize..5,
        threads in 1usize..4,
    ) {
        let model = adult();
        let data = sample("adult_sample.csv");
        let Predictions::Classification { probabilities, .. } = served(model, &data) else {
            panic!("a classifier")
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("p.parquet");
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let report = pool.install(|| {
            BatchPredictJob::new(&model.model_dir, &data, &out)
                .with_read_options(
                    ReadOptions::default().with_batch_size(batch_size).with_threads(threads),
                )
                .with_batches_in_flight(in_flight)
                .run()
                .unwrap()
        });
        prop_assert_eq!(report.rows_predicted as usize, probabilities.nrows());
        let written = table(&out);
        prop_assert_eq!(floats(&written, "score_>50K"), probabilities.column(1).to_vec());
    }
}

#[test]
fn the_full_adult_file_scores_every_accepted_row() {
    let Some(dir) = std::env::var_os("MLRIG_DATA_DIR") else {
        eprintln!(
            "SKIPPED: full-data test on adult.csv: set MLRIG_DATA_DIR=../shared/data to run it"
        );
        return;
    };
    let data = Path::new(&dir).join("adult.csv");
    let model = adult();
    let out = tempfile::tempdir().unwrap();
    let report = BatchPredictJob::new(&model.model_dir, &data, out.path().join("p.parquet"))
        .with_input(true)
        .run()
        .unwrap();
    assert!(report.rows_read > 40_000, "{report:?}");
    assert_eq!(
        report.rows_read,
        report.rows_predicted + report.rows_quarantined + report.rows_rejected
    );
    assert_eq!(
        report.rows_predicted,
        report.ingest.rows_accepted - report.rows_rejected
    );
}
