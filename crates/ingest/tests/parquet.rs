#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `ParquetReader`: lossless conversion to the ingestion types, clear errors
//! for the rest, several files, sampling.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Value, assert_totals, rows, sample};
use mlrig_core::arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float32Array, Float64Array,
    Int8Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, UInt64Array,
    types::Int32Type,
};
use mlrig_core::arrow_schema::DataType;
use mlrig_ingest::{
    FileSet, InferenceOptions, IngestError, ParquetReader, QuarantineFormat, QuarantineOptions,
    ReadOptions, read_csv, read_parquet,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

fn write_parquet(path: &Path, batches: &[RecordBatch], compression: Compression) {
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(1000))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).unwrap();
    for b in batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
}

fn typed_batch() -> RecordBatch {
    let dict: DictionaryArray<Int32Type> = vec![Some("red"), None, Some("blue"), Some("red")]
        .into_iter()
        .collect();
    RecordBatch::try_from_iter([
        (
            "i8",
            Arc::new(Int8Array::from(vec![Some(-1), Some(2), None, Some(127)])) as ArrayRef,
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![1, 2, 3, 4])) as ArrayRef,
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![
                Some(0),
                None,
                Some(7),
                Some(1 << 40),
            ])) as ArrayRef,
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![0.5, -1.25, f32::NAN, 3.0])) as ArrayRef,
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![
                Some(1.0),
                None,
                Some(2.5),
                Some(-0.0),
            ])) as ArrayRef,
        ),
        (
            "b",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
                Some(true),
            ])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(LargeStringArray::from(vec![
                Some("a"),
                Some(""),
                None,
                Some("d"),
            ])) as ArrayRef,
        ),
        ("cat", Arc::new(dict) as ArrayRef),
    ])
    .unwrap()
}

#[test]
fn every_supported_type_converts_losslessly_with_nulls() {
    let dir = tempfile::tempdir().unwrap();
    for (name, compression) in [
        ("plain.parquet", Compression::UNCOMPRESSED),
        ("snappy.parquet", Compression::SNAPPY),
        ("zstd.parquet", Compression::ZSTD(ZstdLevel::default())),
    ] {
        let path = dir.path().join(name);
        write_parquet(&path, &[typed_batch()], compression);
        let (schema, batches, report) = read_parquet(&path, ReadOptions::default()).unwrap();
        assert_totals(&report.summary);
        let types: Vec<DataType> = schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        use DataType::*;
        assert_eq!(
            types,
            [Int64, Int64, Int64, Float64, Float64, Boolean, Utf8, Utf8]
        );
        let got = rows(&batches);
        assert_eq!(got.len(), 4);
        let f = |v: f64| Value::FloatBits(v.to_bits());
        assert_eq!(
            got[0],
            [
                Value::Int(-1),
                Value::Int(1),
                Value::Int(0),
                f(0.5),
                f(1.0),
                Value::Bool(true),
                Value::Text("a".into()),
                Value::Text("red".into())
            ]
        );
        assert_eq!(got[1][2], Value::Null);
        assert_eq!(got[1][7], Value::Null);
        assert_eq!(got[2][0], Value::Null);
        assert_eq!(got[3][2], Value::Int(1 << 40));
        assert!(matches!(got[2][3], Value::FloatBits(b) if f64::from_bits(b).is_nan()));
        assert_eq!(got[3][4], f(-0.0));
        assert_eq!(report.summary.rows_read, 4);
        assert_eq!(report.summary.rows_quarantined, 0);
    }
}

#[test]
fn unsupported_types_are_an_error_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.parquet");
    let batch = RecordBatch::try_from_iter([
        ("ok", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
        ("when", Arc::new(Date32Array::from(vec![19000])) as ArrayRef),
    ])
    .unwrap();
    write_parquet(&path, &[batch], Compression::SNAPPY);
    let err = ParquetReader::open(&path, ReadOptions::default()).unwrap_err();
    assert!(
        matches!(&err, IngestError::UnsupportedColumnType { column, .. } if column == "when"),
        "{err}"
    );
    assert!(err.to_string().contains("Date32"), "{err}");
    assert!(err.is_invalid_input());
}

#[test]
fn unsigned_values_beyond_int64_are_an_error_not_a_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.parquet");
    let batch = RecordBatch::try_from_iter([(
        "big",
        Arc::new(UInt64Array::from(vec![1, u64::MAX])) as ArrayRef,
    )])
    .unwrap();
    write_parquet(&path, &[batch], Compression::UNCOMPRESSED);
    let err = read_parquet(&path, ReadOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`big`") && text.contains("does not fit Int64"),
        "{text}"
    );
}

fn adult_parts(dir: &tempfile::TempDir) -> (Vec<RecordBatch>, Vec<PathBuf>) {
    let (_, batches, _) = read_csv(
        sample("adult_sample.csv"),
        ReadOptions::default().with_batch_size(1500),
    )
    .unwrap();
    let mut paths = Vec::new();
    for (i, b) in batches.iter().enumerate() {
        let path = dir.path().join(format!("part-{i}.parquet"));
        write_parquet(
            &path,
            std::slice::from_ref(b),
            Compression::ZSTD(ZstdLevel::default()),
        );
        paths.push(path);
    }
    (batches, paths)
}

#[test]
fn a_glob_of_parquet_parts_reads_back_the_csv_table() {
    let dir = tempfile::tempdir().unwrap();
    let (batches, _) = adult_parts(&dir);
    let files = FileSet::new([dir.path().join("part-*.parquet").to_str().unwrap()]).unwrap();
    let quarantine = dir.path().join("q.csv");
    let options = ReadOptions::default().with_batch_size(700).with_quarantine(
        QuarantineOptions::default().with_file(&quarantine, QuarantineFormat::Csv),
    );
    let mut reader = ParquetReader::open_files(&files, options).unwrap();
    assert_eq!(reader.schema(), batches[0].schema());
    let read = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    assert!(read.iter().all(|b| b.num_rows() <= 700));
    let report = reader.finish().unwrap();
    assert_totals(&report.summary);
    assert_eq!(rows(&read), rows(&batches));
    let per_file: Vec<u64> = report.summary.files.iter().map(|f| f.rows_read).collect();
    assert_eq!(per_file, [1500, 1500, 1071]);
    assert!(
        std::fs::read_to_string(&quarantine)
            .unwrap()
            .starts_with("file,line")
    );
}

#[test]
fn sampling_selects_the_same_rows_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _) = adult_parts(&dir);
    let files = FileSet::new([dir.path().join("part-*.parquet").to_str().unwrap()]).unwrap();
    let options = ReadOptions::default().with_sample(0.2, 99);
    let mut reader = ParquetReader::open_files(&files, options.clone()).unwrap();
    let read = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    let report = reader.finish().unwrap();
    assert_totals(&report.summary);
    let (_, csv, csv_report) = read_csv(sample("adult_sample.csv"), options).unwrap();
    assert_eq!(rows(&read), rows(&csv));
    assert_eq!(
        report.summary.rows_sampled_out,
        csv_report.summary.rows_sampled_out
    );
}

#[test]
fn files_with_other_columns_or_types_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    let c = dir.path().join("c.parquet");
    let one = |name: &str, array: ArrayRef| RecordBatch::try_from_iter([(name, array)]).unwrap();
    write_parquet(
        &a,
        &[one("x", Arc::new(Int64Array::from(vec![1])))],
        Compression::SNAPPY,
    );
    write_parquet(
        &b,
        &[one("y", Arc::new(Int64Array::from(vec![1])))],
        Compression::SNAPPY,
    );
    write_parquet(
        &c,
        &[one("x", Arc::new(StringArray::from(vec!["1"])))],
        Compression::SNAPPY,
    );
    let err = ParquetReader::open_files(&FileSet::from_paths([&a, &b]), ReadOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, IngestError::HeaderMismatch { column: 1, .. }),
        "{err}"
    );
    let err = ParquetReader::open_files(&FileSet::from_paths([&a, &c]), ReadOptions::default())
        .unwrap_err();
    assert!(
        err.to_string().contains("column `x` is Utf8 but Int64"),
        "{err}"
    );
    let err = ParquetReader::open(
        &a,
        ReadOptions::default()
            .with_inference(InferenceOptions::default().with_column_type("x", DataType::Utf8)),
    )
    .unwrap_err();
    assert!(matches!(err, IngestError::InvalidOption { .. }), "{err}");
    let err = ParquetReader::open(
        &a,
        ReadOptions::default()
            .with_inference(InferenceOptions::default().with_column_type("nope", DataType::Utf8)),
    )
    .unwrap_err();
    assert!(matches!(err, IngestError::UnknownColumn { .. }), "{err}");
    let truncated = dir.path().join("t.parquet");
    let bytes = std::fs::read(&a).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = ParquetReader::open(&truncated, ReadOptions::default()).unwrap_err();
    assert!(matches!(err, IngestError::Format { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&truncated.display().to_string())
    );
    assert!(
        ParquetReader::open(&a, ReadOptions::default())
            .unwrap()
            .summary()
            .rows_read
            == 0
    );
    let null_count = read_parquet(&a, ReadOptions::default()).unwrap().1[0]
        .column(0)
        .null_count();
    assert_eq!(null_count, 0);
}

#[test]
fn a_split_keeps_the_same_rows_as_csv_and_quarantines_null_keys() {
    use mlrig_ingest::{MISSING_KEY_REASON, Split, SplitRule, SplitSide};
    let dir = tempfile::tempdir().unwrap();
    let n = 300usize;
    let ids: Vec<i64> = (0..n as i64).collect();
    let users: Vec<Option<String>> = (0..n)
        .map(|i| (i % 17 != 5).then(|| format!("u{}", i % 50)))
        .collect();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        (
            "user",
            Arc::new(StringArray::from(users.clone())) as ArrayRef,
        ),
    ])
    .unwrap();
    let parquet_path = dir.path().join("t.parquet");
    write_parquet(&parquet_path, &[batch], Compression::SNAPPY);
    let mut csv = String::from("id,user\n");
    for (i, u) in users.iter().enumerate() {
        csv.push_str(&format!("{i},{}\n", u.as_deref().unwrap_or("")));
    }
    let csv_path = dir.path().join("t.csv");
    std::fs::write(&csv_path, csv).unwrap();

    let rule = SplitRule::hash_key(0.3).unwrap();
    let mut sides = Vec::new();
    for side in [SplitSide::Train, SplitSide::Eval] {
        let split = Split::new(rule.clone(), side).with_key_column("user");
        let quarantine = dir.path().join("q.jsonl");
        let options = ReadOptions::default()
            .with_batch_size(64)
            .with_split(split.clone())
            .with_quarantine(
                QuarantineOptions::default().with_file(&quarantine, QuarantineFormat::JsonLines),
            );
        let (_, batches, report) = read_parquet(&parquet_path, options).unwrap();
        assert_totals(&report.summary);
        let (_, csv_batches, csv_report) =
            read_csv(&csv_path, ReadOptions::default().with_split(split)).unwrap();
        assert_eq!(rows(&batches), rows(&csv_batches), "{side:?}");
        let s = &report.summary;
        assert_eq!(s.rows_quarantined, csv_report.summary.rows_quarantined);
        assert_eq!(s.rows_split_off, csv_report.summary.rows_split_off);
        assert_eq!(
            s.rows_quarantined,
            (0..n).filter(|i| i % 17 == 5).count() as u64
        );
        let q = &report.quarantined[0];
        assert_eq!((q.line, q.reason.as_str()), (6, MISSING_KEY_REASON));
        assert_eq!(q.record, r#"{"id":5,"user":null}"#);
        let written = std::fs::read_to_string(&quarantine).unwrap();
        assert_eq!(written.lines().count() as u64, s.rows_quarantined);
        sides.push(rows(&batches));
    }
    let total = sides[0].len() + sides[1].len();
    assert_eq!(total, n - (0..n).filter(|i| i % 17 == 5).count());
    assert!(sides[0].iter().all(|r| !sides[1].contains(r)));
    let _ = Value::Null;
}

#[test]
fn the_parquet_reader_is_an_arrow_record_batch_reader() {
    let dir = tempfile::tempdir().unwrap();
    let (batches, paths) = adult_parts(&dir);
    let files = FileSet::from_paths(&paths);
    let mut reader: Box<dyn mlrig_ingest::RecordBatchReader + Send> =
        Box::new(ParquetReader::open_files(&files, ReadOptions::default()).unwrap());
    let schema = reader.schema();
    let read: Vec<RecordBatch> = reader.by_ref().map(Result::unwrap).collect();
    assert!(read.iter().all(|b| b.schema() == schema));
    assert_eq!(rows(&read), rows(&batches));
}
