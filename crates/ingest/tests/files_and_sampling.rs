#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Several files as one table (globs, header checks, per-file counts), gzip
//! input, and deterministic row sampling.

mod common;

use common::{Value, assert_totals, gzip, rows, sample, write};
use mlrig_core::arrow_schema::DataType;
use mlrig_ingest::{
    CsvFormat, CsvReader, FileSet, InferenceOptions, IngestError, QuarantineFormat,
    QuarantineOptions, ReadOptions, read_csv,
};

fn read_set(
    files: &FileSet,
    options: ReadOptions,
) -> (
    Vec<mlrig_core::arrow_array::RecordBatch>,
    mlrig_ingest::IngestReport,
) {
    let mut reader = CsvReader::open_files(files, options).unwrap();
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    let report = reader.finish().unwrap();
    assert_totals(&report.summary);
    (batches, report)
}

fn glob(dir: &tempfile::TempDir, pattern: &str) -> FileSet {
    FileSet::new([dir.path().join(pattern).to_str().unwrap()]).unwrap()
}

#[test]
fn a_glob_of_parts_reads_like_the_concatenated_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample("adult_sample.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    let parts: Vec<&[&str]> = body.chunks(1500).collect();
    assert_eq!(parts.len(), 3);
    for (i, part) in parts.iter().enumerate() {
        let content = format!("{header}\n{}\n", part.join("\n"));
        if i == 1 {
            write(&dir, &format!("part-{i}.csv.gz"), &gzip(content.as_bytes()));
        } else {
            write(&dir, &format!("part-{i}.csv"), content.as_bytes());
        }
    }
    let files = glob(&dir, "part-*");
    assert_eq!(files.files().len(), 3);
    let (batches, report) = read_set(&files, ReadOptions::default().with_batch_size(1000));
    let (_, whole, whole_report) =
        read_csv(sample("adult_sample.csv"), ReadOptions::default()).unwrap();
    assert_eq!(rows(&batches), rows(&whole));
    assert_eq!(report.summary.rows_read, whole_report.summary.rows_read);
    let per_file: Vec<u64> = report.summary.files.iter().map(|f| f.rows_read).collect();
    assert_eq!(per_file, [1500, 1500, 1071]);
    assert!(report.summary.files[1].file.ends_with("part-1.csv.gz"));
}

#[test]
fn quarantined_rows_name_their_file_and_line_and_counts_are_per_file() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "a.csv", b"id,x\n1,0.5\n2,1.5\n3,2.5\n4,3.5\n");
    write(&dir, "b.csv", b"id,x\n5,4.5\n\n6,oops\n7\n");
    let quarantine = dir.path().join("q.jsonl");
    let options = ReadOptions::default().with_quarantine(
        QuarantineOptions::default().with_file(&quarantine, QuarantineFormat::JsonLines),
    );
    let (batches, report) = read_set(&glob(&dir, "*.csv"), options);
    assert_eq!(rows(&batches).len(), 5);
    let where_: Vec<(String, u64)> = report
        .quarantined
        .iter()
        .map(|q| (q.file.rsplit('/').next().unwrap().to_string(), q.line))
        .collect();
    assert_eq!(where_, [("b.csv".to_string(), 4), ("b.csv".to_string(), 5)]);
    let counts: Vec<(u64, u64, u64)> = report
        .summary
        .files
        .iter()
        .map(|f| (f.rows_read, f.rows_accepted, f.rows_quarantined))
        .collect();
    assert_eq!(counts, [(4, 4, 0), (3, 1, 2)]);
    let written = std::fs::read_to_string(&quarantine).unwrap();
    assert_eq!(written.lines().count(), 2);
    assert!(written.contains("b.csv"));
}

#[test]
fn the_schema_is_inferred_from_every_file() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "1.csv", b"n,flag\n1,true\n2,false\n");
    write(&dir, "2.csv", b"n,flag\n2.5,true\n");
    let files = glob(&dir, "*.csv");
    let reader = CsvReader::open_files(&files, ReadOptions::default()).unwrap();
    assert_eq!(reader.schema().field(0).data_type(), &DataType::Float64);
    assert_eq!(reader.schema().field(1).data_type(), &DataType::Boolean);
    // Each file contributes ceil(infer_rows / files) records: here only the
    // first record of each, which are all integers.
    let reader = CsvReader::open_files(
        &files,
        ReadOptions::default().with_inference(InferenceOptions::default().with_infer_rows(2)),
    )
    .unwrap();
    assert_eq!(reader.schema().field(0).data_type(), &DataType::Float64);
    let reader = CsvReader::open_files(
        &FileSet::from_paths([dir.path().join("1.csv")]),
        ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(reader.schema().field(0).data_type(), &DataType::Int64);
}

#[test]
fn different_headers_are_an_error_naming_both_files_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.csv", b"id,age,city\n1,2,x\n");
    let b = write(&dir, "b.csv", b"id,Age,city\n1,2,x\n");
    let c = write(&dir, "c.csv", b"id,age\n1,2\n");
    let err =
        CsvReader::open_files(&FileSet::from_paths([&a, &b]), ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: line 1, column 2: header differs from {}: expected `age`, found `Age`",
            b.display(),
            a.display()
        )
    );
    assert!(err.is_invalid_input());
    let err =
        CsvReader::open_files(&FileSet::from_paths([&a, &c]), ReadOptions::default()).unwrap_err();
    assert!(
        matches!(
            &err,
            IngestError::HeaderMismatch {
                column: 3,
                found: None,
                ..
            }
        ),
        "{err}"
    );
    let empty = write(&dir, "empty.csv", b"");
    let err = CsvReader::open_files(&FileSet::from_paths([&a, &empty]), ReadOptions::default())
        .unwrap_err();
    assert!(matches!(err, IngestError::EmptyFile { ref path } if path == &empty));
}

#[test]
fn a_header_changed_after_opening_stops_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.csv", b"x\n1\n");
    let b = write(&dir, "b.csv", b"x\n2\n");
    let mut reader =
        CsvReader::open_files(&FileSet::from_paths([&a, &b]), ReadOptions::default()).unwrap();
    std::fs::write(&b, "y\n2\n").unwrap();
    let results: Vec<_> = reader
        .by_ref()
        .map(|r| r.map_err(IngestError::from))
        .collect();
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(IngestError::HeaderMismatch { .. })))
    );
    assert!(matches!(
        reader.finish(),
        Err(IngestError::ReadAborted { .. })
    ));
}

#[test]
fn files_without_a_header_are_all_data() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "a.csv", b"1,x\n2,y\n");
    write(&dir, "b.csv", b"3,z\n");
    let options = ReadOptions::default().with_csv_format(CsvFormat::default().with_header(false));
    let (batches, report) = read_set(&glob(&dir, "*.csv"), options);
    assert_eq!(
        rows(&batches)
            .iter()
            .map(|r| r[0].clone())
            .collect::<Vec<_>>(),
        [Value::Int(1), Value::Int(2), Value::Int(3)]
    );
    assert_eq!(report.summary.files[1].rows_read, 1);
}

#[test]
fn gzip_is_read_by_extension_or_magic_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(sample("broken.csv")).unwrap();
    let by_name = write(&dir, "broken.csv.gz", &gzip(&plain));
    let by_magic = write(&dir, "broken_compressed.csv", &gzip(&plain));
    let (_, expected, expected_report) =
        read_csv(sample("broken.csv"), ReadOptions::default()).unwrap();
    for path in [by_name, by_magic] {
        let (_, batches, report) = read_csv(&path, ReadOptions::default()).unwrap();
        assert_eq!(rows(&batches), rows(&expected));
        let lines: Vec<u64> = report.quarantined.iter().map(|q| q.line).collect();
        let expected_lines: Vec<u64> = expected_report.quarantined.iter().map(|q| q.line).collect();
        assert_eq!(lines, expected_lines);
    }
    let from_memory = CsvReader::from_reader(
        std::io::Cursor::new(gzip(&plain)),
        "stdin",
        ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        from_memory.finish().unwrap().summary.rows_read,
        expected_report.summary.rows_read
    );
}

#[test]
fn corrupt_gzip_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..5000).map(|i| format!("{i},{}\n", i * 7)).collect();
    let mut data = gzip(format!("a,b\n{text}").as_bytes());
    let middle = data.len() / 2;
    data.truncate(middle);
    let path = write(&dir, "cut.csv.gz", &data);
    let mut reader = CsvReader::open(
        &path,
        ReadOptions::default().with_inference(InferenceOptions::default().with_infer_rows(10)),
    )
    .unwrap();
    let err = IngestError::from(reader.find_map(Result::err).unwrap());
    assert!(matches!(err, IngestError::Io { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
    let not_gzip = write(&dir, "plain.csv.gz", b"a,b\n1,2\n");
    assert!(matches!(
        CsvReader::open(&not_gzip, ReadOptions::default()),
        Err(IngestError::Io { .. })
    ));
}

#[test]
fn sampling_is_deterministic_counted_and_independent_of_batching() {
    let options = |batch| {
        ReadOptions::default()
            .with_sample(0.3, 7)
            .with_batch_size(batch)
    };
    let (_, a, ra) = read_csv(sample("adult_sample.csv"), options(100)).unwrap();
    let (_, b, rb) = read_csv(sample("adult_sample.csv"), options(4096)).unwrap();
    assert_totals(&ra.summary);
    assert_eq!(rows(&a), rows(&b));
    assert_eq!(ra.summary, {
        let mut s = rb.summary.clone();
        s.batches = ra.summary.batches;
        s
    });
    let s = &ra.summary;
    assert_eq!(s.rows_read, 4071);
    assert_eq!(s.rows_quarantined, 0);
    let kept = s.rows_accepted as f64 / s.rows_read as f64;
    assert!((0.25..0.35).contains(&kept), "{kept}");
    // A smaller fraction with the same seed keeps a subset of the rows.
    let (_, all, _) = read_csv(sample("adult_sample.csv"), ReadOptions::default()).unwrap();
    let (_, small, _) = read_csv(
        sample("adult_sample.csv"),
        ReadOptions::default().with_sample(0.1, 7),
    )
    .unwrap();
    let (all, large, small) = (rows(&all), rows(&a), rows(&small));
    assert!(small.len() < large.len());
    let mut in_large = large.iter();
    for row in &small {
        assert!(in_large.any(|r| r == row), "subset in order");
    }
    assert!(large.iter().all(|r| all.contains(r)));
}

#[test]
fn sampled_out_rows_are_not_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("n\n");
    for i in 0..1000 {
        text.push_str(if i % 10 == 0 { "bad\n" } else { "1\n" });
    }
    let path = write(&dir, "n.csv", text.as_bytes());
    let (_, _, report) = read_csv(&path, ReadOptions::default().with_sample(0.5, 1)).unwrap();
    assert_totals(&report.summary);
    let s = &report.summary;
    assert!(
        s.rows_sampled_out > 400 && s.rows_sampled_out < 600,
        "{s:?}"
    );
    assert!(s.rows_quarantined > 30 && s.rows_quarantined < 70, "{s:?}");
    let (_, _, none) = read_csv(&path, ReadOptions::default().with_sample(0.0, 1)).unwrap();
    assert_eq!(none.summary.rows_sampled_out, 1000);
    assert_eq!(none.summary.batches, 0);
}
