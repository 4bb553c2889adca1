#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `JsonLinesReader`: the same types, counts and quarantine as CSV.

mod common;

use common::{Value, assert_totals, gzip, rows, sample, write};
use mlrig_core::arrow_array::RecordBatch;
use mlrig_core::arrow_schema::DataType;
use mlrig_ingest::{
    FileSet, InferenceOptions, IngestError, IngestReport, JsonLinesReader, QuarantineFormat,
    QuarantineOptions, ReadOptions, read_csv, read_json_lines,
};
use proptest::prelude::*;

/// The rows of `batches` as JSON Lines (nulls written as `null`).
fn to_json_lines(batches: &[RecordBatch]) -> String {
    let schema = batches[0].schema();
    let mut out = String::new();
    for row in rows(batches) {
        let mut object = serde_json::Map::new();
        for (field, value) in schema.fields().iter().zip(row) {
            let v = match value {
                Value::Null => serde_json::Value::Null,
                Value::Bool(b) => b.into(),
                Value::Int(i) => i.into(),
                Value::FloatBits(bits) => f64::from_bits(bits).into(),
                Value::Text(s) => s.into(),
            };
            object.insert(field.name().clone(), v);
        }
        out.push_str(&serde_json::Value::Object(object).to_string());
        out.push('\n');
    }
    out
}

fn read_all(
    bytes: Vec<u8>,
    options: ReadOptions,
) -> Result<(Vec<RecordBatch>, IngestReport), IngestError> {
    let mut reader =
        JsonLinesReader::from_reader(std::io::Cursor::new(bytes), "prop.jsonl", options)?;
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
    Ok((batches, reader.finish()?))
}

#[test]
fn the_adult_sample_as_json_lines_gives_the_same_table() {
    let (csv_schema, csv_batches, _) =
        read_csv(sample("adult_sample.csv"), ReadOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "adult.jsonl.gz",
        &gzip(to_json_lines(&csv_batches).as_bytes()),
    );
    let (schema, batches, report) = read_json_lines(&path, ReadOptions::default()).unwrap();
    assert_totals(&report.summary);
    // JSON objects are written with sorted keys here; compare by name.
    for field in csv_schema.fields() {
        let (_, f) = schema.column_with_name(field.name()).unwrap();
        assert_eq!(f.data_type(), field.data_type(), "{}", field.name());
    }
    let order: Vec<usize> = csv_schema
        .fields()
        .iter()
        .map(|f| schema.index_of(f.name()).unwrap())
        .collect();
    let reordered: Vec<Vec<Value>> = rows(&batches)
        .into_iter()
        .map(|r| order.iter().map(|&i| r[i].clone()).collect())
        .collect();
    assert_eq!(reordered, rows(&csv_batches));
    assert_eq!(report.summary.rows_quarantined, 0);
}

#[test]
fn bad_lines_are_quarantined_with_line_field_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let text = concat!(
        "{\"id\": 1, \"name\": \"a\", \"score\": 0.5, \"ok\": true}\n",
        "{\"id\": 2, \"name\": \"b\", \"score\": 1, \"ok\": false}\n",
        "\n",
        "{\"id\": 3, \"name\": \"c\", \"score\": 2.5, \"ok\": \"NA\"}\n",
        "{\"id\": 4.5, \"name\": \"d\", \"score\": 1.5, \"ok\": true}\n",
        "{\"id\": 5, \"name\": 17, \"score\": null}\n",
        "not json\n",
        "\"just a string\"\n",
        "{\"id\": 6, \"name\": \"f\", \"score\": 1.0, \"ok\": 1}\n",
        "{\"id\": 7, \"name\": \"g\", \"score\": 2.0, \"ok\": true, \"late\": [1]}\n",
        "{\"id\": 8, \"name\": {\"first\": \"h\"}, \"score\": 3.0, \"ok\": false}\n",
    );
    let path = write(&dir, "e.jsonl", text.as_bytes());
    let quarantine = dir.path().join("q.csv");
    let options = ReadOptions::default()
        .with_inference(InferenceOptions::default().with_infer_rows(3))
        .with_quarantine(
            QuarantineOptions::default().with_file(&quarantine, QuarantineFormat::Csv),
        );
    let (schema, batches, report) = read_json_lines(&path, options).unwrap();
    assert_totals(&report.summary);
    let types: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [
            DataType::Int64,
            DataType::Utf8,
            DataType::Float64,
            DataType::Boolean
        ]
    );
    let got = rows(&batches);
    assert_eq!(got.len(), 5);
    assert_eq!(
        got[2],
        [
            Value::Int(3),
            Value::Text("c".into()),
            Value::FloatBits(2.5f64.to_bits()),
            Value::Null
        ]
    );
    assert_eq!(
        got[3][1],
        Value::Text("17".into()),
        "numbers in a text column are their JSON text"
    );
    assert_eq!(got[4][1], Value::Text("{\"first\":\"h\"}".into()));
    let q: Vec<(u64, Option<&str>, &str)> = report
        .quarantined
        .iter()
        .map(|q| (q.line, q.column.as_deref(), q.reason.as_str()))
        .collect();
    assert_eq!(q[0], (5, Some("id"), "expected Int64, found number 4.5"));
    assert_eq!(q[1].0, 7);
    assert!(q[1].2.starts_with("invalid JSON: "), "{}", q[1].2);
    assert_eq!(
        q[2],
        (
            8,
            None,
            "expected a JSON object, found string \"just a string\""
        )
    );
    assert_eq!(q[3], (9, Some("ok"), "expected Boolean, found number 1"));
    assert_eq!(q[4].0, 10);
    assert_eq!(q[4].1, Some("late"));
    assert!(q[4].2.starts_with("unknown field `late`"));
    assert_eq!(report.quarantined[4].raw_value.as_deref(), Some("[1]"));
    assert!(
        report
            .quarantined
            .iter()
            .all(|r| r.file == path.to_string_lossy())
    );
    let written = std::fs::read_to_string(&quarantine).unwrap();
    assert_eq!(written.lines().count(), 6);
}

#[test]
fn overrides_declare_sparse_fields_and_force_types() {
    let data = "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3, \"rare\": \"x\"}\n";
    let options = ReadOptions::default().with_inference(
        InferenceOptions::default()
            .with_infer_rows(2)
            .with_column_type("rare", DataType::Utf8)
            .with_column_type("a", DataType::Float64),
    );
    let (batches, report) = read_all(data.as_bytes().to_vec(), options).unwrap();
    assert_eq!(report.summary.rows_accepted, 3);
    let schema = batches[0].schema();
    assert_eq!(schema.field(0).data_type(), &DataType::Float64);
    assert_eq!(schema.field(1).name(), "rare");
    assert_eq!(rows(&batches)[2][1], Value::Text("x".into()));
    // Without the override, the late field quarantines its row.
    let (_, report) = read_all(
        data.as_bytes().to_vec(),
        ReadOptions::default().with_inference(InferenceOptions::default().with_infer_rows(2)),
    )
    .unwrap();
    assert_eq!(report.summary.rows_quarantined, 1);
    assert_eq!(report.quarantined[0].line, 3);
}

#[test]
fn files_are_read_in_order_with_per_file_counts() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "b.jsonl", b"{\"x\": 3}\n{\"x\": \"three\"}\n");
    write(
        &dir,
        "a.jsonl",
        b"{\"x\": 1}\n{\"x\": 2}\n{\"x\": 2}\n{\"x\": 2}\n",
    );
    let files = FileSet::new([dir.path().join("*.jsonl").to_str().unwrap()]).unwrap();
    let mut reader = JsonLinesReader::open_files(&files, ReadOptions::default()).unwrap();
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    let report = reader.finish().unwrap();
    assert_totals(&report.summary);
    let xs: Vec<Value> = rows(&batches).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(xs, [1, 2, 2, 2, 3].map(Value::Int));
    let counts: Vec<(u64, u64)> = report
        .summary
        .files
        .iter()
        .map(|f| (f.rows_read, f.rows_quarantined))
        .collect();
    assert_eq!(counts, [(4, 0), (2, 1)]);
    assert!(report.quarantined[0].file.ends_with("b.jsonl"));
    assert_eq!(report.quarantined[0].line, 2);
}

#[test]
fn sampling_and_oversized_lines_keep_the_counts() {
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("{{\"i\": {i}}}\n"));
    }
    text.push_str(&format!("{{\"i\": \"{}\"}}\n", "x".repeat(5000)));
    let options = ReadOptions::default()
        .with_sample(0.5, 3)
        .with_max_record_bytes(1000);
    let (batches, report) = read_all(text.into_bytes(), options).unwrap();
    assert_totals(&report.summary);
    let s = &report.summary;
    assert_eq!(s.rows_read, 2001);
    assert!(
        s.rows_sampled_out > 900 && s.rows_sampled_out < 1100,
        "{s:?}"
    );
    assert_eq!(rows(&batches).len() as u64, s.rows_accepted);
}

#[test]
fn an_empty_input_is_an_error_unless_columns_are_declared() {
    assert!(matches!(
        read_all(Vec::new(), ReadOptions::default()),
        Err(IngestError::EmptyFile { .. })
    ));
    let options = ReadOptions::default()
        .with_inference(InferenceOptions::default().with_column_type("a", DataType::Int64));
    let (batches, report) = read_all(b"\n".to_vec(), options).unwrap();
    assert!(batches.is_empty());
    assert_eq!(report.summary.columns, 1);
}

fn jsonish_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        6 => prop::sample::select(b"{}[]\":,.-0123456789 \nabtruefalsn\\".to_vec()),
        1 => any::<u8>(),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(Into::into),
        any::<i64>().prop_map(Into::into),
        (-1e9f64..1e9).prop_map(Into::into),
        prop::sample::select(vec!["NA", "", "x", "12"]).prop_map(Into::into),
        Just(serde_json::json!([1, {"a": null}])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic_and_totals_add_up(
        bytes in prop::collection::vec(jsonish_byte(), 0..400),
        infer in 0usize..5,
        batch in 1usize..5,
        max in prop_oneof![Just(1usize << 20), 1usize..40],
    ) {
        let options = ReadOptions::default()
            .with_batch_size(batch)
            .with_max_record_bytes(max)
            .with_inference(InferenceOptions::default().with_infer_rows(infer));
        match read_all(bytes, options) {
            Ok((batches, report)) => {
                assert_totals(&report.summary);
                prop_assert_eq!(batches.iter().map(|b| b.num_rows() as u64).sum::<u64>(), report.summary.rows_accepted);
                prop_assert!(batches.iter().all(|b| b.num_rows() <= batch));
            }
            Err(e) => prop_assert!(matches!(e, IngestError::EmptyFile { .. }), "{e}"),
        }
    }

    #[test]
    fn batch_size_does_not_change_the_data(
        objects in prop::collection::vec(prop::collection::btree_map("[abc]", json_value(), 0..4), 1..40),
        infer in 1usize..10,
    ) {
        let text: String = objects
            .iter()
            .map(|o| serde_json::to_string(o).unwrap() + "\n")
            .collect();
        let read = |batch: usize| {
            let options = ReadOptions::default()
                .with_batch_size(batch)
                .with_inference(InferenceOptions::default().with_infer_rows(infer));
            read_all(text.clone().into_bytes(), options).unwrap()
        };
        let (one, one_report) = read(1);
        let (many, many_report) = read(1000);
        prop_assert_eq!(rows(&one), rows(&many));
        prop_assert_eq!(&one_report.quarantined, &many_report.quarantined);
        assert_totals(&one_report.summary);
    }
}
