#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Row origins ([`CsvReader::last_batch_origins`]): every accepted row maps
//! back to its file and starting line, with any number of threads, batch
//! size, files, sampling and multi-line records.

mod common;

use common::{gzip, sample, write};
use mlrig_core::arrow_array::{Array, Int64Array, RecordBatch};
use mlrig_ingest::{
    CsvReader, FileSet, InferenceOptions, JsonLinesReader, ReadOptions, RowOrigin, RowOrigins,
};
use proptest::prelude::*;

/// The `id` column of every row with the origin of the row, read in batches.
fn ids_with_origins(mut reader: CsvReader) -> (Vec<i64>, RowOrigins) {
    let mut ids = Vec::new();
    let mut all = RowOrigins::new();
    while let Some(batch) = reader.next() {
        let batch = batch.unwrap();
        let origins = reader.last_batch_origins();
        assert_eq!(origins.len(), batch.num_rows(), "one origin per row");
        ids.extend(int_column(&batch, "id"));
        all.extend_from(origins);
    }
    reader.finish().unwrap();
    (ids, all)
}

fn int_column(batch: &RecordBatch, name: &str) -> Vec<i64> {
    let column = batch.column_by_name(name).unwrap();
    let values = column.as_any().downcast_ref::<Int64Array>().unwrap();
    (0..values.len()).map(|i| values.value(i)).collect()
}

fn pairs(origins: &RowOrigins) -> Vec<(u32, u64)> {
    origins.iter().map(|o| (o.file_index, o.line)).collect()
}

#[test]
fn broken_sample_accepted_rows_map_to_their_lines() {
    // broken.csv: ids 1, 4, 5 (a quoted field over lines 6-7) and 6 are
    // accepted; 2, 3, 7 and 8 are quarantined.
    for threads in [1, 2] {
        for batch_size in [1, 2, 3, 64] {
            let options = ReadOptions::default()
                .with_threads(threads)
                .with_batch_size(batch_size);
            let reader = CsvReader::open(sample("broken.csv"), options).unwrap();
            assert_eq!(reader.files(), [sample("broken.csv")]);
            assert!(reader.last_batch_origins().is_empty());
            let (ids, origins) = ids_with_origins(reader);
            let context = format!("threads={threads} batch_size={batch_size}");
            assert_eq!(ids, [1, 4, 5, 6], "{context}");
            assert_eq!(
                pairs(&origins),
                [(0, 2), (0, 5), (0, 6), (0, 8)],
                "{context}"
            );
        }
    }
}

#[test]
fn each_batch_has_exactly_its_own_origins() {
    for threads in [1, 2] {
        let options = ReadOptions::default()
            .with_threads(threads)
            .with_batch_size(1);
        let mut reader = CsvReader::open(sample("broken.csv"), options).unwrap();
        let mut per_batch = Vec::new();
        while let Some(batch) = reader.next() {
            assert_eq!(batch.unwrap().num_rows(), 1);
            per_batch.push(pairs(reader.last_batch_origins()));
        }
        assert_eq!(
            per_batch,
            [[(0, 2)], [(0, 5)], [(0, 6)], [(0, 8)]],
            "threads={threads}"
        );
    }
}

/// Files where the `id` of every good row is its own starting line and
/// `file` its file index, with blank lines, CRLF, quoted multi-line fields
/// and bad rows in between; the second file is gzipped.
fn self_describing_files(dir: &tempfile::TempDir, rows_per_file: usize) -> FileSet {
    for file in 0..3u32 {
        let mut text = String::from("id,file,note\n");
        let mut line = 2u64;
        for i in 0..rows_per_file {
            match i % 7 {
                0 => {
                    text.push_str(&format!("{line},{file},\"two\nlines\"\n"));
                    line += 2;
                }
                1 => {
                    text.push('\n');
                    line += 1;
                }
                2 => {
                    text.push_str("bad,row\n");
                    line += 1;
                }
                3 => {
                    text.push_str(&format!("{line},{file},crlf\r\n"));
                    line += 1;
                }
                4 => {
                    text.push_str(&format!("{line},{file},\"a\r\nb\nc\"\n"));
                    line += 3;
                }
                _ => {
                    text.push_str(&format!("{line},{file},plain\n"));
                    line += 1;
                }
            }
        }
        let name = format!("part-{file}.csv");
        if file == 1 {
            write(dir, &format!("{name}.gz"), &gzip(text.as_bytes()));
        } else {
            write(dir, &name, text.as_bytes());
        }
    }
    FileSet::new([dir.path().join("part-*").to_str().unwrap()]).unwrap()
}

/// Checks that every row's origin is the line and file its values name.
fn assert_origins_match_values(files: &FileSet, options: ReadOptions) -> RowOrigins {
    let mut reader = CsvReader::open_files(files, options).unwrap();
    let mut all = RowOrigins::new();
    while let Some(batch) = reader.next() {
        let batch = batch.unwrap();
        let origins = reader.last_batch_origins();
        let expected: Vec<(u32, u64)> = int_column(&batch, "id")
            .into_iter()
            .zip(int_column(&batch, "file"))
            .map(|(id, file)| (file as u32, id as u64))
            .collect();
        assert_eq!(pairs(origins), expected);
        all.extend_from(origins);
    }
    let report = reader.finish().unwrap();
    assert_eq!(all.len() as u64, report.summary.rows_accepted);
    all
}

#[test]
fn origins_name_file_and_line_across_files_threads_and_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let files = self_describing_files(&dir, 500);
    assert_eq!(files.files().len(), 3);
    for sample_rows in [None, Some((0.3, 5))] {
        let options = |threads: usize, batch_size: usize| {
            let o = ReadOptions::default()
                .with_threads(threads)
                .with_batch_size(batch_size)
                .with_inference(InferenceOptions::default().with_infer_rows(20));
            match sample_rows {
                Some((fraction, seed)) => o.with_sample(fraction, seed),
                None => o,
            }
        };
        let sequential = assert_origins_match_values(&files, options(1, 33));
        assert!(sequential.iter().any(|o| o.file_index == 2));
        for (threads, batch_size) in [(1, 1), (2, 1), (2, 33), (3, 1000), (0, 7)] {
            let origins = assert_origins_match_values(&files, options(threads, batch_size));
            assert_eq!(
                origins, sequential,
                "threads={threads} batch_size={batch_size} sample={sample_rows:?}"
            );
        }
    }
}

#[test]
fn json_lines_rows_map_to_their_lines_and_files() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir,
        "a.jsonl",
        b"{\"id\": 1}\n\n{\"id\": \"x\"}\n{\"id\": 4}\n",
    );
    write(&dir, "b.jsonl", b"not json\n{\"id\": 2}\n");
    let files = FileSet::new([dir.path().join("*.jsonl").to_str().unwrap()]).unwrap();
    let options = ReadOptions::default()
        .with_batch_size(2)
        .with_inference(InferenceOptions::default().with_infer_rows(1));
    let mut reader = JsonLinesReader::open_files(&files, options).unwrap();
    assert_eq!(reader.files().len(), 2);
    let mut all = RowOrigins::new();
    while let Some(batch) = reader.next() {
        let batch = batch.unwrap();
        assert_eq!(reader.last_batch_origins().len(), batch.num_rows());
        all.extend_from(reader.last_batch_origins());
    }
    assert_eq!(pairs(&all), [(0, 1), (0, 4), (1, 2)]);
    assert_eq!(
        all.get(2),
        Some(RowOrigin {
            file_index: 1,
            line: 2
        })
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any batch size, thread count and sample: origins follow the values.
    #[test]
    fn origins_always_follow_the_rows(
        rows in 1usize..120,
        batch_size in 1usize..40,
        threads in prop_oneof![Just(1usize), 2usize..4],
        fraction in prop_oneof![Just(1.0f64), 0.0f64..1.0],
        seed in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let files = self_describing_files(&dir, rows);
        let options = ReadOptions::default()
            .with_threads(threads)
            .with_batch_size(batch_size)
            .with_sample(fraction, seed)
            .with_inference(InferenceOptions::default().with_infer_rows(5));
        assert_origins_match_values(&files, options);
    }
}
