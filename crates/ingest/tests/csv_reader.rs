#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end behaviour of `CsvReader` on shipped samples and crafted files.

mod common;

use common::{Value, assert_totals, rows, sample, write};
use mlrig_core::arrow_schema::DataType;
use mlrig_ingest::{
    CsvFormat, CsvReader, InferenceOptions, IngestError, QuarantineFormat, QuarantineOptions,
    QuarantinedRow, ReadOptions, infer_schema, read_csv,
};

fn types(schema: &mlrig_core::arrow_schema::Schema) -> Vec<(String, DataType)> {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn float(v: f64) -> Value {
    Value::FloatBits(v.to_bits())
}

fn quarantined_row(
    file: &str,
    line: u64,
    column: Option<&str>,
    raw_value: Option<&str>,
    reason: &str,
    record: &str,
) -> QuarantinedRow {
    serde_json::from_value(serde_json::json!({
        "file": file, "line": line, "column": column, "raw_value": raw_value,
        "reason": reason, "record": record,
    }))
    .unwrap()
}

fn broken_quarantine() -> Vec<QuarantinedRow> {
    let row = |line, column: Option<&str>, raw: Option<&str>, reason: &str, record: &str| {
        // QuarantinedRow is #[non_exhaustive]: built the way a reader of a
        // JSON Lines quarantine file gets one.
        quarantined_row(
            &sample("broken.csv").to_string_lossy(),
            line,
            column,
            raw,
            reason,
            record,
        )
    };
    vec![
        row(
            3,
            Some("score"),
            Some("not-a-number"),
            "expected Float64, found \"not-a-number\"",
            "2,beta,not-a-number,false",
        ),
        row(4, None, None, "expected 4 fields, found 3", "3,gamma,1.25"),
        row(
            9,
            None,
            None,
            "expected 4 fields, found 5",
            "7,zeta,4.0,true,extra",
        ),
        row(
            10,
            Some("active"),
            Some("maybe"),
            "expected Boolean, found \"maybe\"",
            "8,eta,?,maybe",
        ),
    ]
}

#[test]
fn broken_sample_quarantines_exact_lines_and_reasons() {
    let (schema, batches, report) = read_csv(sample("broken.csv"), ReadOptions::default()).unwrap();
    assert_eq!(
        types(&schema),
        [
            ("id".to_string(), DataType::Int64),
            ("name".to_string(), DataType::Utf8),
            ("score".to_string(), DataType::Float64),
            ("active".to_string(), DataType::Boolean),
        ]
    );
    assert!(schema.fields().iter().all(|f| f.is_nullable()));
    assert_eq!(
        rows(&batches),
        [
            vec![Value::Int(1), text("alpha"), float(0.5), Value::Bool(true)],
            vec![
                Value::Int(4),
                text("delta, with comma"),
                float(2.0),
                Value::Bool(true)
            ],
            vec![
                Value::Int(5),
                text("multi\nline"),
                float(3.5),
                Value::Bool(false)
            ],
            vec![
                Value::Int(6),
                text("epsilon"),
                Value::Null,
                Value::Bool(true)
            ],
        ]
    );
    assert_eq!(report.quarantined, broken_quarantine());
    let s = &report.summary;
    assert_eq!(
        (
            s.rows_read,
            s.rows_accepted,
            s.rows_quarantined,
            s.batches,
            s.columns
        ),
        (8, 4, 4, 1, 4)
    );
    assert_eq!(s.quarantined_kept, 4);
    assert!(s.file.ends_with("broken.csv"));
    assert_totals(s);
}

#[test]
fn strict_inference_widens_instead_of_quarantining() {
    let options = ReadOptions::default()
        .with_inference(InferenceOptions::default().with_infer_tolerance(0.0));
    let (schema, _, report) = read_csv(sample("broken.csv"), options).unwrap();
    assert_eq!(schema.field(2).data_type(), &DataType::Utf8);
    assert_eq!(schema.field(3).data_type(), &DataType::Utf8);
    let lines: Vec<u64> = report.quarantined.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 9]);
    assert_totals(&report.summary);
}

#[test]
fn rows_after_the_sample_are_checked_against_the_inferred_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "n.csv", b"n\n1\n2\n3.5\nabc\n7\n");
    let options =
        ReadOptions::default().with_inference(InferenceOptions::default().with_infer_rows(2));
    let (schema, batches, report) = read_csv(&path, options).unwrap();
    assert_eq!(schema.field(0).data_type(), &DataType::Int64);
    assert_eq!(
        rows(&batches),
        [[Value::Int(1)], [Value::Int(2)], [Value::Int(7)]]
    );
    let reasons: Vec<(u64, &str)> = report
        .quarantined
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (4, "expected Int64, found \"3.5\""),
            (5, "expected Int64, found \"abc\"")
        ]
    );
}

#[test]
fn adult_sample_reads_every_row_with_question_marks_as_nulls() {
    let (schema, batches, report) =
        read_csv(sample("adult_sample.csv"), ReadOptions::default()).unwrap();
    let expected = [
        ("age", DataType::Int64),
        ("workclass", DataType::Utf8),
        ("fnlwgt", DataType::Int64),
        ("education", DataType::Utf8),
        ("educational-num", DataType::Int64),
        ("marital-status", DataType::Utf8),
        ("occupation", DataType::Utf8),
        ("relationship", DataType::Utf8),
        ("race", DataType::Utf8),
        ("gender", DataType::Utf8),
        ("capital-gain", DataType::Int64),
        ("capital-loss", DataType::Int64),
        ("hours-per-week", DataType::Int64),
        ("native-country", DataType::Utf8),
        ("income", DataType::Utf8),
    ];
    let expected: Vec<(String, DataType)> = expected
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    assert_eq!(types(&schema), expected);
    let s = &report.summary;
    assert_eq!(
        (s.rows_read, s.rows_accepted, s.rows_quarantined),
        (4071, 4071, 0)
    );
    assert_totals(s);
    let nulls = |column: &str| -> usize {
        let i = schema.index_of(column).unwrap();
        batches.iter().map(|b| b.column(i).null_count()).sum()
    };
    assert_eq!(nulls("workclass"), 240);
    assert_eq!(nulls("occupation"), 240);
    assert_eq!(nulls("native-country"), 65);
    assert_eq!(nulls("age"), 0);
    let first = &rows(&batches)[0];
    assert_eq!(first[0], Value::Int(25));
    assert_eq!(first[1], text("Private"));
}

#[test]
fn california_sample_is_all_float() {
    let (schema, _, report) =
        read_csv(sample("california_sample.csv"), ReadOptions::default()).unwrap();
    assert!(
        schema
            .fields()
            .iter()
            .all(|f| f.data_type() == &DataType::Float64)
    );
    assert_eq!(report.summary.rows_accepted, 2580);
    assert_eq!(report.summary.rows_quarantined, 0);
}

#[test]
fn bom_and_crlf_are_handled_with_correct_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "bom.csv",
        b"\xEF\xBB\xBFid,note\r\n1,\"a\r\nb\"\r\n\r\n2,x\r\nbad\r\n3,y\r\n",
    );
    let (schema, batches, report) = read_csv(&path, ReadOptions::default()).unwrap();
    assert_eq!(schema.field(0).name(), "id");
    assert_eq!(schema.field(0).data_type(), &DataType::Int64);
    assert_eq!(
        rows(&batches),
        [
            vec![Value::Int(1), text("a\r\nb")],
            vec![Value::Int(2), text("x")],
            vec![Value::Int(3), text("y")],
        ]
    );
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(report.quarantined[0].line, 6);
    assert_eq!(report.quarantined[0].record, "bad");
}

#[test]
fn empty_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "empty.csv", b"");
    let err = CsvReader::open(&path, ReadOptions::default()).unwrap_err();
    assert!(
        matches!(&err, IngestError::EmptyFile { path: p } if p == &path),
        "{err}"
    );
    assert!(err.to_string().contains("empty.csv"));
    assert!(err.is_invalid_input());
    let blank = write(&dir, "blank.csv", b"\xEF\xBB\xBF\n\r\n");
    assert!(matches!(
        CsvReader::open(
            &blank,
            ReadOptions::default().with_csv_format(CsvFormat::default().with_header(false))
        ),
        Err(IngestError::EmptyFile { .. })
    ));
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = CsvReader::open("/no/such/dir/data.csv", ReadOptions::default()).unwrap_err();
    assert!(matches!(err, IngestError::Io { .. }));
    assert!(
        err.to_string().starts_with("/no/such/dir/data.csv: "),
        "{err}"
    );
}

#[test]
fn header_only_file_has_utf8_columns_and_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "h.csv", b"a,b,c\n");
    let options = ReadOptions::default()
        .with_inference(InferenceOptions::default().with_column_type("c", DataType::Int64));
    let (schema, batches, report) = read_csv(&path, options).unwrap();
    assert_eq!(
        types(&schema),
        [
            ("a".to_string(), DataType::Utf8),
            ("b".to_string(), DataType::Utf8),
            ("c".to_string(), DataType::Int64),
        ]
    );
    assert!(batches.is_empty());
    assert_eq!(report.summary.rows_read, 0);
    assert_eq!(report.summary.batches, 0);
}

#[test]
fn duplicate_column_names_are_an_error_naming_both_positions() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "d.csv", b"x,y,x\n1,2,3\n");
    let err = CsvReader::open(&path, ReadOptions::default()).unwrap_err();
    match &err {
        IngestError::DuplicateColumn {
            name,
            first,
            second,
            ..
        } => assert_eq!((name.as_str(), *first, *second), ("x", 1, 3)),
        other => panic!("expected DuplicateColumn, got {other:?}"),
    }
    assert!(err.to_string().contains("d.csv: line 1"));
}

#[test]
fn invalid_utf8_in_data_quarantines_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "u.csv", b"id,name\n1,ok\n2,caf\xE9\n3,fine\n");
    let (_, batches, report) = read_csv(&path, ReadOptions::default()).unwrap();
    assert_eq!(rows(&batches).len(), 2);
    let bad = &report.quarantined[0];
    assert_eq!(bad.line, 3);
    assert_eq!(bad.column.as_deref(), Some("name"));
    assert_eq!(bad.reason, "invalid UTF-8 in column name");
    assert_eq!(bad.raw_value.as_deref(), Some("caf\u{FFFD}"));
    assert_eq!(bad.record, "2,caf\u{FFFD}");
}

#[test]
fn invalid_utf8_in_the_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "uh.csv", b"id,n\xFFme\n1,2\n");
    let err = CsvReader::open(&path, ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, IngestError::InvalidHeader { column: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("uh.csv: line 1, column 2"));
}

#[test]
fn huge_fields_are_read_or_quarantined_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(5 * 1024 * 1024);
    let path = write(
        &dir,
        "big.csv",
        format!("a,b\n1,{big}\n2,small\n").as_bytes(),
    );
    let (_, batches, report) = read_csv(&path, ReadOptions::default()).unwrap();
    assert_eq!(rows(&batches)[0][1], Value::Text(big.clone()));
    assert_eq!(report.summary.rows_quarantined, 0);

    let capped = ReadOptions::default().with_max_record_bytes(1024 * 1024);
    let (_, batches, report) = read_csv(&path, capped).unwrap();
    assert_eq!(rows(&batches), [[Value::Int(2), text("small")]]);
    let bad = &report.quarantined[0];
    assert_eq!(bad.line, 2);
    assert!(
        bad.reason.contains("larger than max_record_bytes"),
        "{}",
        bad.reason
    );
    assert!(bad.record.starts_with("1xxx") && bad.record.ends_with('…'));
    assert!(bad.record.len() < 2048);
}

#[test]
fn an_unbalanced_quote_swallows_the_rest_into_one_quarantined_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "q.csv", b"a,b,c\n1,\"oops\n2,x,z\n3,y,z\n");
    let (_, batches, report) = read_csv(&path, ReadOptions::default()).unwrap();
    assert!(batches.is_empty());
    assert_eq!(report.summary.rows_read, 1);
    assert_eq!(report.quarantined[0].line, 2);
    assert_totals(&report.summary);
}

#[test]
fn batches_are_bounded_by_batch_size() {
    let options = ReadOptions::default().with_batch_size(100);
    let mut reader = CsvReader::open(sample("adult_sample.csv"), options).unwrap();
    let sizes: Vec<usize> = reader.by_ref().map(|b| b.unwrap().num_rows()).collect();
    assert_eq!(sizes.len(), 41);
    assert!(sizes[..40].iter().all(|&n| n == 100));
    assert_eq!(sizes[40], 71);
    let report = reader.finish().unwrap();
    assert_eq!(report.summary.batches, 41);
}

#[test]
fn batch_size_one_equals_batch_size_one_thousand() {
    let read = |size| {
        read_csv(
            sample("broken.csv"),
            ReadOptions::default().with_batch_size(size),
        )
        .unwrap()
    };
    let (_, small, small_report) = read(1);
    let (_, large, large_report) = read(1000);
    assert_eq!(small.len(), 4);
    assert_eq!(large.len(), 1);
    assert_eq!(rows(&small), rows(&large));
    assert_eq!(small_report.quarantined, large_report.quarantined);
}

#[test]
fn quarantine_file_is_written_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    for format in [QuarantineFormat::Csv, QuarantineFormat::JsonLines] {
        let target = dir.path().join(format!("broken.quarantine.{format}"));
        let options = ReadOptions::default().with_quarantine(
            QuarantineOptions::default()
                .with_file(&target, format)
                .with_keep(1),
        );
        let mut reader = CsvReader::open(sample("broken.csv"), options).unwrap();
        let first = reader.next().unwrap().unwrap();
        assert_eq!(first.num_rows(), 4);
        assert!(!target.exists(), "the file appears only at finish");
        let report = reader.finish().unwrap();
        assert_eq!(
            report.summary.quarantine_file.as_deref(),
            Some(target.as_path())
        );
        // Only one row is kept in memory; counts stay exact and the file has all.
        assert_eq!(report.quarantined, broken_quarantine()[..1]);
        assert_eq!(report.summary.quarantined_kept, 1);
        assert_eq!(report.summary.rows_quarantined, 4);
        let content = std::fs::read_to_string(&target).unwrap();
        let written: Vec<QuarantinedRow> = match format {
            QuarantineFormat::Csv => {
                let mut rdr = csv::Reader::from_reader(content.as_bytes());
                rdr.records()
                    .map(|r| {
                        let r = r.unwrap();
                        let opt = |i: usize| (!r[i].is_empty()).then_some(&r[i]);
                        quarantined_row(&r[0], r[1].parse().unwrap(), opt(2), opt(3), &r[4], &r[5])
                    })
                    .collect()
            }
            QuarantineFormat::JsonLines => content
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            other => panic!("no check for quarantine format {other}"),
        };
        assert_eq!(written, broken_quarantine());
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
}

#[test]
fn a_clean_file_still_gets_an_empty_quarantine_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("q.csv");
    let options = ReadOptions::default()
        .with_quarantine(QuarantineOptions::default().with_file(&target, QuarantineFormat::Csv));
    read_csv(sample("california_sample.csv"), options).unwrap();
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "file,line,column,raw_value,reason,record\n"
    );
}

#[test]
fn the_quarantine_file_cannot_be_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "in.csv", b"a\n1\n");
    let options = ReadOptions::default()
        .with_quarantine(QuarantineOptions::default().with_file(&path, QuarantineFormat::Csv));
    let err = CsvReader::open(&path, options).unwrap_err();
    assert!(matches!(err, IngestError::InvalidOption { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"a\n1\n");
}

#[test]
fn without_a_header_columns_are_numbered() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "nh.tsv", b"1\tx\n2\ty\n3\n");
    let options = ReadOptions::default().with_csv_format(
        CsvFormat::default()
            .with_header(false)
            .with_delimiter(b'\t'),
    );
    let (schema, batches, report) = read_csv(&path, options).unwrap();
    assert_eq!(
        types(&schema),
        [
            ("column_1".to_string(), DataType::Int64),
            ("column_2".to_string(), DataType::Utf8),
        ]
    );
    assert_eq!(rows(&batches).len(), 2);
    assert_eq!(report.quarantined[0].line, 3);
    assert_eq!(report.quarantined[0].record, "3");
}

#[test]
fn overrides_take_priority_and_unknown_columns_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "z.csv", b"zip,flag\n02139,1\n10001,0\n");
    let options = ReadOptions::default().with_inference(
        InferenceOptions::default()
            .with_column_type("zip", DataType::Utf8)
            .with_column_type("flag", DataType::Float64),
    );
    let (_, batches, _) = read_csv(&path, options).unwrap();
    assert_eq!(rows(&batches)[0], [text("02139"), float(1.0)]);

    let err = infer_schema(
        &path,
        &ReadOptions::default().with_inference(
            InferenceOptions::default().with_column_type("zipcode", DataType::Utf8),
        ),
    )
    .unwrap_err();
    assert!(matches!(&err, IngestError::UnknownColumn { column, .. } if column == "zipcode"));
    assert!(err.to_string().contains("zip, flag"), "{err}");
}

#[test]
fn custom_missing_tokens_replace_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "m.csv", b"a,b\n1,-\n2,NA\n3,x\n4,y\n5,z\n");
    let options = ReadOptions::default()
        .with_inference(InferenceOptions::default().with_missing_tokens(["-"]));
    let (_, batches, _) = read_csv(&path, options).unwrap();
    let b: Vec<Value> = rows(&batches).into_iter().map(|r| r[1].clone()).collect();
    assert_eq!(
        b,
        [Value::Null, text("NA"), text("x"), text("y"), text("z")]
    );
}

#[test]
fn infinities_are_floats_and_nan_is_missing_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "f.csv", b"v\n1.5\ninf\n-inf\nNaN\nnan\n");
    let (schema, batches, _) = read_csv(&path, ReadOptions::default()).unwrap();
    assert_eq!(schema.field(0).data_type(), &DataType::Float64);
    let v: Vec<Value> = rows(&batches).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        v[..4],
        [
            float(1.5),
            float(f64::INFINITY),
            float(f64::NEG_INFINITY),
            Value::Null
        ]
    );
    assert!(matches!(v[4], Value::FloatBits(bits) if f64::from_bits(bits).is_nan()));
}

#[test]
fn infer_schema_matches_the_reader() {
    let options = ReadOptions::default();
    let schema = infer_schema(sample("adult_sample.csv"), &options).unwrap();
    let reader = CsvReader::open(sample("adult_sample.csv"), options).unwrap();
    assert_eq!(schema, reader.schema());
}

#[test]
fn the_report_serializes_to_json() {
    let (_, _, report) = read_csv(sample("broken.csv"), ReadOptions::default()).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["summary"]["rows_quarantined"], 4);
    assert!(
        json["summary"]["file"]
            .as_str()
            .unwrap()
            .ends_with("broken.csv")
    );
    assert_eq!(json["quarantined"][0]["line"], 3);
    let back: mlrig_ingest::IngestReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn invalid_options_are_reported_at_open() {
    let err = CsvReader::open(
        sample("broken.csv"),
        ReadOptions::default().with_batch_size(0),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid option `batch_size`: must be at least 1"
    );
}
