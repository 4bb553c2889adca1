#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `mlrig features apply` writes the same numbers in every format and
//! layout, and `mlrig train --features` trains on them without refitting.

mod common;

use common::{
    ADULT, ADULT_SHIFTED, assert_one_line_error, assert_status, mlrig, read_json, success_json,
    train_adult_model,
};
use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::Float64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn read_parquet(path: &str) -> Vec<mlrig_core::arrow_array::RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn apply(transformer: &str, data: &str, out: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--format",
        "json",
        "features",
        "apply",
        transformer,
        data,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    success_json(&mlrig(args))
}

#[test]
fn dense_sparse_svmlight_and_csv_outputs_hold_the_same_features() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    common::fit_features(ADULT, "income", path("t.json"));

    // --infer lets the layout follow the density: one-hot Adult is sparse.
    let sparse = apply(
        &path("t.json"),
        ADULT,
        &path("s.parquet"),
        &["--target", "income"],
    );
    assert_eq!(sparse["layout"], "sparse");
    assert_eq!(sparse["rows"], 4071);
    let dense = apply(
        &path("t.json"),
        ADULT,
        &path("d.parquet"),
        &["--layout", "dense"],
    );
    assert_eq!(dense["layout"], "dense");
    assert_eq!(
        dense["stored_values"],
        4071 * dense["columns"].as_u64().unwrap()
    );
    let svm = apply(
        &path("t.json"),
        ADULT,
        &path("f.svm"),
        &["--target", "income"],
    );
    assert_eq!(svm["stored_values"], sparse["stored_values"]);
    assert_eq!(svm["classes"].as_array().unwrap().len(), 2);
    apply(&path("t.json"), ADULT, &path("f.csv"), &[]);

    // Dense Parquet: one Float64 column per output name.
    let dense_batches = read_parquet(&path("d.parquet"));
    let schema = dense_batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let width = names.len();
    let row0: Vec<f64> = (0..width)
        .map(|c| {
            dense_batches[0]
                .column(c)
                .as_primitive::<Float64Type>()
                .value(0)
        })
        .collect();

    // CSV: the same header and the same bits.
    let csv_text = std::fs::read_to_string(path("f.csv")).unwrap();
    let mut lines = csv_text.lines();
    assert_eq!(lines.next().unwrap().split(',').collect::<Vec<_>>(), names);
    let first: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(
        first.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        row0.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );

    // Sparse Parquet: the target, then each row's indices and values.
    let sparse_batches = read_parquet(&path("s.parquet"));
    let sparse_schema = sparse_batches[0].schema();
    assert_eq!(
        sparse_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>(),
        ["income", "indices", "values"]
    );
    let indices = sparse_batches[0].column(1).as_list::<i32>().value(0);
    let values = sparse_batches[0].column(2).as_list::<i32>().value(0);
    let mut expanded = vec![0.0; width];
    for (i, v) in indices
        .as_primitive::<mlrig_core::arrow_array::types::UInt32Type>()
        .values()
        .iter()
        .zip(values.as_primitive::<Float64Type>().values())
    {
        expanded[*i as usize] = *v;
    }
    assert_eq!(expanded, row0);

    // svmlight: the same entries, 1-based, the class as its index.
    let svm_text = std::fs::read_to_string(path("f.svm")).unwrap();
    let line = svm_text.lines().nth(1).unwrap();
    let mut fields = line.split(' ');
    let label: usize = fields.next().unwrap().parse().unwrap();
    let income = sparse_batches[0].column(0).as_string::<i32>().value(0);
    assert_eq!(svm["classes"][label], income);
    let mut from_text = vec![0.0; width];
    for pair in fields {
        let (i, v) = pair.split_once(':').unwrap();
        from_text[i.parse::<usize>().unwrap() - 1] = v.parse().unwrap();
    }
    assert_eq!(from_text, row0);
}

#[test]
fn training_on_a_feature_file_gives_the_model_of_training_on_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    // The pipeline the first training fitted, applied to the same data.
    let first = train_adult_model(&dir.path().join("a"), &["--no-baseline"]);
    let transformer = first.join("1").join("features.json").display().to_string();
    for (out, extra) in [
        ("f.parquet", &[][..]),
        ("f.svm", &["--target", "income"][..]),
    ] {
        apply(&transformer, ADULT, &path(out), extra);
        let models = dir.path().join(out.replace('.', "_"));
        let second = train_adult_model(
            &models,
            &[
                "--no-baseline",
                "--features",
                &path(out),
                "--transformer",
                &transformer,
            ],
        );
        let evaluation = |m: &std::path::Path| read_json(&m.join("1").join("evaluation.json"));
        assert_eq!(
            evaluation(&second)["body"]["metrics"],
            evaluation(&first)["body"]["metrics"],
            "{out}"
        );
        let model =
            |m: &std::path::Path| read_json(&m.join("1").join("model.json"))["body"].clone();
        assert_eq!(model(&second), model(&first), "{out}");
    }
}

#[test]
fn a_feature_file_of_other_data_or_another_pipeline_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    common::fit_features(ADULT, "income", path("t.json"));
    // Another pipeline over the same columns (fitted on zeros read as missing).
    let other = [
        "features",
        "fit",
        ADULT,
        "--infer",
        "--target",
        "income",
        "--missing",
        "0",
        "--out",
        &path("other.json"),
    ];
    assert_status(&mlrig(other), 0);
    apply(&path("t.json"), ADULT, &path("f.parquet"), &[]);
    apply(&path("t.json"), ADULT, &path("f.csv"), &[]);
    apply(&path("other.json"), ADULT, &path("o.svm"), &[]);
    let train = |data: &str, features: &str, transformer: &str| {
        mlrig([
            "train",
            data,
            "--target",
            "income",
            "--no-baseline",
            "--out",
            &path("models"),
            "--features",
            &path(features),
            "--transformer",
            &path(transformer),
        ])
    };
    for (output, expected) in [
        (
            train(ADULT_SHIFTED, "f.parquet", "t.json"),
            "transformed from the data",
        ),
        (
            train(ADULT, "f.parquet", "other.json"),
            "written by the pipeline",
        ),
        (train(ADULT, "o.svm", "t.json"), "written by the pipeline"),
        (train(ADULT, "f.csv", "t.json"), "no metadata"),
    ] {
        assert_status(&output, 2);
        let line = assert_one_line_error(&output);
        assert!(line.contains(expected), "{line}");
    }
    // A pipeline that reads the target; the data read with other missing tokens.
    common::fit_features(ADULT, "age", path("reads_income.json"));
    apply(&path("reads_income.json"), ADULT, &path("r.svm"), &[]);
    apply(&path("t.json"), ADULT, &path("m.svm"), &["--missing", "0"]);
    for (output, expected) in [
        (
            train(ADULT, "r.svm", "reads_income.json"),
            "reads the target column `income`",
        ),
        (
            train(ADULT, "m.svm", "t.json"),
            "was read with other options",
        ),
    ] {
        assert_status(&output, 2);
        let line = assert_one_line_error(&output);
        assert!(line.contains(expected), "{line}");
    }
    // The output may not replace the data it is computed from.
    let copy = dir.path().join("data.csv");
    std::fs::copy(ADULT, &copy).unwrap();
    let copy = copy.display().to_string();
    let overwrite = mlrig(["features", "apply", &path("t.json"), &copy, "--out", &copy]);
    assert_status(&overwrite, 2);
    assert!(assert_one_line_error(&overwrite).contains("data.csv"));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(ADULT).unwrap());

    let no_transformer = mlrig([
        "train",
        ADULT,
        "--target",
        "income",
        "--features",
        &path("f.parquet"),
    ]);
    assert_status(&no_transformer, 2);
    assert!(!dir.path().join("models").exists());

    // A layout the format cannot hold, and an unknown target column.
    let sparse_csv = mlrig([
        "features",
        "apply",
        &path("t.json"),
        ADULT,
        "--out",
        &path("x.csv"),
        "--layout",
        "sparse",
    ]);
    assert_status(&sparse_csv, 2);
    assert!(assert_one_line_error(&sparse_csv).contains("cannot hold"));
    let no_column = mlrig([
        "features",
        "apply",
        &path("t.json"),
        ADULT,
        "--out",
        &path("x.svm"),
        "--target",
        "nope",
    ]);
    assert_status(&no_column, 2);
    assert!(assert_one_line_error(&no_column).contains("no target column `nope`"));
    assert!(!dir.path().join("x.csv").exists() && !dir.path().join("x.svm").exists());
}
