#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every reader is an arrow `RecordBatchReader`: usable as a trait object,
//! the same rows as the typed API, errors that survive the trip through
//! `ArrowError`. Only `mlrig_ingest` paths are used, to check that its
//! re-exports are enough to read data and consume batches.

mod common;

use common::{assert_totals, gzip, rows, write};
use mlrig_ingest::{
    ArrowError, CsvFormat, CsvReader, DataReader, FileSet, InferenceOptions, IngestError,
    JsonLinesReader, ReadOptions, RecordBatch, RecordBatchReader, SchemaRef, read_data,
};
use proptest::prelude::*;

/// Drains any arrow reader, checking every batch against its `schema()`.
fn drain(reader: &mut (dyn RecordBatchReader + Send)) -> (SchemaRef, Vec<RecordBatch>) {
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert!(batches.iter().all(|b| b.schema() == schema));
    (schema, batches)
}

#[test]
fn every_reader_is_a_send_record_batch_reader_with_the_typed_api_rows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(&dir, "t.csv", b"a,b\n1,x\n2,\nbad\n4,z\n");
    let jsonl = write(
        &dir,
        "t.jsonl",
        b"{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":null}\n[]\n{\"a\":4,\"b\":\"z\"}\n",
    );
    let options = ReadOptions::default().with_batch_size(2);
    let (expected_schema, expected, _) = read_data(&csv, options.clone()).unwrap();
    let mut readers: Vec<Box<dyn RecordBatchReader + Send>> = vec![
        Box::new(CsvReader::open(&csv, options.clone()).unwrap()),
        Box::new(CsvReader::open(&csv, options.clone().with_threads(2)).unwrap()),
        Box::new(JsonLinesReader::open(&jsonl, options.clone()).unwrap()),
        Box::new(DataReader::open(&csv, options.clone()).unwrap()),
        Box::new(DataReader::open(&jsonl, options.clone()).unwrap()),
    ];
    for reader in &mut readers {
        let (schema, batches) = drain(reader.as_mut());
        assert_eq!(schema, expected_schema);
        assert_eq!(rows(&batches), rows(&expected));
        assert_eq!(batches.len(), 2, "batch size 2, three good rows");
    }
}

#[test]
fn a_stream_error_is_the_ingest_error_inside_an_external_arrow_error() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..5000).map(|i| format!("{i},{}\n", i * 7)).collect();
    let mut data = gzip(format!("a,b\n{text}").as_bytes());
    data.truncate(data.len() / 2);
    let path = write(&dir, "cut.csv.gz", &data);
    // A small inference sample, so the cut is met while streaming.
    let options =
        ReadOptions::default().with_inference(InferenceOptions::default().with_infer_rows(10));
    let mut reader = DataReader::open(&path, options).unwrap();
    let error = reader.find_map(Result::err).unwrap();
    let ArrowError::ExternalError(source) = &error else {
        panic!("expected an external error, got {error:?}");
    };
    let inner = source.downcast_ref::<IngestError>().unwrap();
    assert!(matches!(inner, IngestError::Io { .. }));
    let shown = inner.to_string();
    assert!(shown.starts_with(&path.display().to_string()), "{shown}");
    assert!(reader.next().is_none(), "the stream ends after an error");
    let recovered = IngestError::from(error);
    assert_eq!(recovered.to_string(), shown);
    assert!(!recovered.is_invalid_input());
    assert!(matches!(
        reader.finish(),
        Err(IngestError::ReadAborted { .. })
    ));
}

#[test]
fn invalid_input_keeps_its_meaning_through_arrow() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.csv", b"x\n1\n");
    let b = write(&dir, "b.csv", b"x\n2\n");
    let mut reader =
        DataReader::open_files(&FileSet::from_paths([&a, &b]), ReadOptions::default()).unwrap();
    std::fs::write(&b, "y\n2\n").unwrap(); // the header changes after opening
    let error = reader.find_map(Result::err).unwrap();
    let recovered = IngestError::from(error);
    assert!(matches!(recovered, IngestError::HeaderMismatch { .. }));
    assert!(recovered.is_invalid_input());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Through the trait object, any batch size and thread count gives the
    /// rows of one whole read, and the totals still add up at `finish`.
    #[test]
    fn the_arrow_view_changes_nothing(
        cells in prop::collection::vec(
            prop::sample::select(vec!["1", "2.5", "x", "", "NA", "true", "\"a,b\""]),
            0..90,
        ),
        batch_size in 1usize..12,
        threads in 1usize..4,
        semicolon in any::<bool>(),
    ) {
        let delimiter = if semicolon { b';' } else { b',' };
        let mut text = format!("p{0}q{0}r\n", char::from(delimiter));
        for row in cells.chunks(3) {
            text.push_str(&row.join(&char::from(delimiter).to_string()));
            text.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "p.csv", text.as_bytes());
        let format = CsvFormat::default().with_delimiter(delimiter);
        let whole = ReadOptions::default().with_csv_format(format.clone());
        let (_, expected, expected_report) = read_data(&path, whole).unwrap();
        let options = ReadOptions::default()
            .with_csv_format(format)
            .with_batch_size(batch_size)
            .with_threads(threads);
        let mut reader = DataReader::open(&path, options).unwrap();
        let (_, batches) = drain(&mut reader);
        prop_assert!(batches.iter().all(|b| (1..=batch_size).contains(&b.num_rows())));
        prop_assert_eq!(rows(&batches), rows(&expected));
        let report = reader.finish().unwrap();
        assert_totals(&report.summary);
        prop_assert_eq!(report.quarantined, expected_report.quarantined);
        prop_assert_eq!(report.summary.rows_accepted, expected_report.summary.rows_accepted);
    }
}
