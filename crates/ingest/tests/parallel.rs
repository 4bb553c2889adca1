#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Parallel CSV parsing (`with_threads`) gives exactly the sequential
//! output: batches, quarantine, counts.

mod common;

use common::{assert_totals, gzip, sample, write};
use mlrig_core::arrow_array::RecordBatch;
use mlrig_ingest::{
    CsvFormat, CsvReader, FileSet, InferenceOptions, IngestError, IngestReport, QuarantineFormat,
    QuarantineOptions, ReadOptions,
};
use proptest::prelude::*;

fn read(files: &FileSet, options: ReadOptions) -> (Vec<RecordBatch>, IngestReport) {
    let mut reader = CsvReader::open_files(files, options).unwrap();
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    let report = reader.finish().unwrap();
    assert_totals(&report.summary);
    (batches, report)
}

fn read_bytes(
    bytes: &[u8],
    options: ReadOptions,
) -> Result<(Vec<RecordBatch>, IngestReport), IngestError> {
    let mut reader =
        CsvReader::from_reader(std::io::Cursor::new(bytes.to_vec()), "p.csv", options)?;
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
    Ok((batches, reader.finish()?))
}

/// The adult sample cut into three files (one gzipped), with bad rows.
fn messy_parts(dir: &tempfile::TempDir) -> FileSet {
    let text = std::fs::read_to_string(sample("adult_sample.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut body: Vec<String> = lines.map(String::from).collect();
    for i in (0..body.len()).step_by(97) {
        body[i] = match i % 3 {
            0 => "too,few".to_string(),
            1 => format!("not-a-number-{}", body[i]),
            _ => format!("\"multi\nline\",{}", body[i]),
        };
    }
    for (i, part) in body.chunks(1400).enumerate() {
        let content = format!("{header}\n{}\n", part.join("\n"));
        if i == 1 {
            write(dir, &format!("p{i}.csv.gz"), &gzip(content.as_bytes()));
        } else {
            write(dir, &format!("p{i}.csv"), content.as_bytes());
        }
    }
    FileSet::new([dir.path().join("p*").to_str().unwrap()]).unwrap()
}

#[test]
fn parallel_equals_sequential_on_messy_multi_file_input() {
    let dir = tempfile::tempdir().unwrap();
    let files = messy_parts(&dir);
    for (batch_size, sample_rows) in [(100, None), (65_536, None), (37, Some((0.4, 11)))] {
        let base = |threads: usize, q: &str| {
            let mut o = ReadOptions::default()
                .with_batch_size(batch_size)
                .with_threads(threads)
                .with_inference(InferenceOptions::default().with_infer_rows(500))
                .with_quarantine(
                    QuarantineOptions::default()
                        .with_keep(50)
                        .with_file(dir.path().join(q), QuarantineFormat::JsonLines),
                );
            if let Some((f, seed)) = sample_rows {
                o = o.with_sample(f, seed);
            }
            o
        };
        let (seq, seq_report) = read(&files, base(1, "q1.jsonl"));
        let seq_quarantine = std::fs::read_to_string(dir.path().join("q1.jsonl")).unwrap();
        assert!(
            seq_report.summary.rows_quarantined > 5,
            "{:?}",
            seq_report.summary
        );
        for threads in [2, 3, 0] {
            let (par, par_report) = read(&files, base(threads, "q2.jsonl"));
            assert_eq!(par, seq, "threads={threads} batch={batch_size}");
            let mut expected = seq_report.clone();
            expected.summary.quarantine_file = par_report.summary.quarantine_file.clone();
            assert_eq!(par_report.summary, expected.summary, "threads={threads}");
            assert_eq!(
                par_report.quarantined, expected.quarantined,
                "threads={threads}"
            );
            let par_quarantine = std::fs::read_to_string(dir.path().join("q2.jsonl")).unwrap();
            assert_eq!(par_quarantine, seq_quarantine);
        }
    }
}

#[test]
fn errors_end_the_parallel_stream_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("a,b\n");
    for i in 0..20_000 {
        body.push_str(&format!("{i},{}\n", i * 3));
    }
    let mut data = gzip(body.as_bytes());
    data.truncate(data.len() / 2);
    let path = write(&dir, "cut.csv.gz", &data);
    let options = ReadOptions::default()
        .with_threads(2)
        .with_batch_size(1000)
        .with_inference(InferenceOptions::default().with_infer_rows(100));
    let mut reader = CsvReader::open(&path, options).unwrap();
    let results: Vec<_> = reader
        .by_ref()
        .map(|r| r.map_err(IngestError::from))
        .collect();
    assert!(matches!(results.last(), Some(Err(IngestError::Io { .. }))));
    assert!(results[..results.len() - 1].iter().all(Result::is_ok));
    assert!(matches!(
        reader.finish(),
        Err(IngestError::ReadAborted { .. })
    ));
    // Dropping a reader in the middle stops its threads without hanging.
    let mut text = String::from("x\n");
    for i in 0..100_000 {
        text.push_str(&format!("{i}\n"));
    }
    let big = write(&dir, "big.csv", text.as_bytes());
    let mut reader = CsvReader::open(
        &big,
        ReadOptions::default().with_threads(2).with_batch_size(10),
    )
    .unwrap();
    assert!(reader.next().unwrap().is_ok());
    drop(reader);
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i16>().prop_map(|v| v.to_string()),
        (-1e3f64..1e3).prop_map(|v| v.to_string()),
        prop::sample::select(vec!["true", "NA", "", "abc", "\"q,\"\"x\"\"\n\""])
            .prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn parallel_equals_sequential(
        rows in prop::collection::vec(prop::collection::vec(cell(), 1..4), 0..120),
        batch_size in 1usize..20,
        threads in prop_oneof![Just(0usize), 2usize..5],
        sample_rows in prop::option::of((0.0f64..=1.0, any::<u64>())),
        header in any::<bool>(),
        infer in 0usize..10,
    ) {
        let mut text = String::from("a,b,c\n");
        for row in &rows {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        let options = |threads: usize| {
            let o = ReadOptions::default()
                .with_batch_size(batch_size)
                .with_threads(threads)
                .with_csv_format(CsvFormat::default().with_header(header))
                .with_inference(InferenceOptions::default().with_infer_rows(infer));
            match sample_rows {
                Some((f, seed)) => o.with_sample(f, seed),
                None => o,
            }
        };
        let (seq, seq_report) = read_bytes(text.as_bytes(), options(1)).unwrap();
        let (par, par_report) = read_bytes(text.as_bytes(), options(threads)).unwrap();
        prop_assert_eq!(par, seq);
        prop_assert_eq!(par_report, seq_report);
    }
}
