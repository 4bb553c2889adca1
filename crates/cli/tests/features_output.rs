#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `mlrig features apply --out X.parquet|X.csv` write the same numbers.

mod common;

use common::{ADULT, assert_status, mlrig};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

#[test]
fn parquet_and_csv_outputs_hold_the_same_features() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let fit = [
        "features",
        "fit",
        ADULT,
        "--infer",
        "--target",
        "income",
        "--out",
        &path("t.json"),
    ];
    assert_status(&mlrig(fit), 0);
    for out in ["f.parquet", "f.csv"] {
        let apply = [
            "features",
            "apply",
            &path("t.json"),
            ADULT,
            "--out",
            &path(out),
        ];
        assert_status(&mlrig(apply), 0);
    }

    let file = std::fs::File::open(path("f.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 4071);

    let csv_text = std::fs::read_to_string(path("f.csv")).unwrap();
    let mut lines = csv_text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(header, names);
    let first: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    for (column, expected) in first.iter().enumerate() {
        let array = batches[0]
            .column(column)
            .as_any()
            .downcast_ref::<mlrig_core::arrow_array::Float64Array>()
            .unwrap();
        assert_eq!(
            array.value(0).to_bits(),
            expected.to_bits(),
            "column {}",
            names[column]
        );
    }
}
