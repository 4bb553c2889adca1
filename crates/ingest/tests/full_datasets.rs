#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Reads every full data set in `$MLRIG_DATA_DIR` (see `shared/data/SOURCES.md`)
//! and checks row counts with nothing quarantined. Skipped when unset.

mod common;

use std::path::PathBuf;

use common::assert_totals;
use mlrig_core::arrow_schema::DataType;
use mlrig_ingest::{CsvReader, ReadOptions};

const EXPECTED_ROWS: [(&str, u64); 9] = [
    ("adult.csv", 48_842),
    ("california_housing.csv", 20_640),
    ("chicago_taxi.csv", 15_002),
    ("diamonds.csv", 53_940),
    ("penguins.csv", 344),
    ("iris.csv", 150),
    ("wine.csv", 178),
    ("breast_cancer.csv", 569),
    ("diabetes.csv", 442),
];

fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("MLRIG_DATA_DIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!(
                "SKIPPED: full data set tests need the data directory; set MLRIG_DATA_DIR=../shared/data"
            );
            None
        }
    }
}

#[test]
fn every_csv_in_the_data_dir_reads_completely() {
    let Some(dir) = data_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.csv in {}", dir.display());
    let mut checked = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut reader = CsvReader::open(path, ReadOptions::default()).unwrap();
        let schema = reader.schema();
        let mut rows = 0u64;
        for batch in reader.by_ref() {
            let batch = batch.unwrap();
            assert_eq!(batch.schema(), schema);
            assert!(batch.num_rows() <= 65_536);
            rows += batch.num_rows() as u64;
        }
        let report = reader.finish().unwrap();
        let s = &report.summary;
        assert_totals(s);
        assert_eq!(
            s.rows_quarantined,
            0,
            "{name}: first quarantined rows {:?}",
            &report.quarantined[..report.quarantined.len().min(3)]
        );
        assert_eq!(rows, s.rows_accepted);
        if let Some((_, expected)) = EXPECTED_ROWS.iter().find(|(n, _)| *n == name) {
            assert_eq!(s.rows_read, *expected, "{name}");
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        EXPECTED_ROWS.len(),
        "expected data sets missing from {}",
        dir.display()
    );
}

#[test]
fn diamonds_quoted_header_and_levels_are_text() {
    let Some(dir) = data_dir() else { return };
    let reader = CsvReader::open(dir.join("diamonds.csv"), ReadOptions::default()).unwrap();
    let schema = reader.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "carat", "cut", "color", "clarity", "depth", "table", "price", "x", "y", "z"
        ]
    );
    assert_eq!(
        schema.field_with_name("cut").unwrap().data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        schema.field_with_name("carat").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        schema.field_with_name("price").unwrap().data_type(),
        &DataType::Int64
    );
}

#[test]
fn penguins_na_tokens_are_nulls() {
    let Some(dir) = data_dir() else { return };
    let mut reader = CsvReader::open(dir.join("penguins.csv"), ReadOptions::default()).unwrap();
    let schema = reader.schema();
    let sex = schema.index_of("sex").unwrap();
    let nulls: usize = reader
        .by_ref()
        .map(|b| b.unwrap().column(sex).null_count())
        .sum();
    assert_eq!(nulls, 11);
}
