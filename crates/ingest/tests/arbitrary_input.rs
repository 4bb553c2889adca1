#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Arbitrary bytes into the CSV, JSON Lines and Parquet readers (issue 14,
//! item 6): never a panic, never an allocation out of proportion to a small
//! input (the allocator below has a hard limit), and the quarantine or the
//! error names the line of a bad record.
//!
//! Case counts follow `PROPTEST_CASES` when it is set.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlrig_ingest::{
    CsvReader, IngestError, IngestReport, JsonLinesReader, ParquetReader, ReadOptions,
};
use mlrig_testkit::{Edit, Mix, cases};
use proptest::prelude::*;

// The whole test binary may hold at most this much heap at once: every
// input here is under 64 KiB, so a decoder that trusts a length field from
// its input (a Parquet footer, a row-group size) hits the limit, and the
// failed allocation aborts the binary instead of passing.
mlrig_testkit::capped_allocator!(256 MiB);

/// Small reads, so the readers' batch buffers stay small too.
fn options() -> ReadOptions {
    ReadOptions::default()
        .with_batch_size(64)
        .with_max_record_bytes(1 << 20)
}

/// Reads everything; errors are fine, panics are not.
fn read_csv_bytes(bytes: Vec<u8>) -> Result<(Vec<RecordBatch>, IngestReport), IngestError> {
    let mut reader = CsvReader::from_reader(Cursor::new(bytes), "fuzz.csv", options())?;
    let batches = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .map_err(IngestError::from)?;
    Ok((batches, reader.finish()?))
}

fn read_jsonl_bytes(bytes: Vec<u8>) -> Result<(Vec<RecordBatch>, IngestReport), IngestError> {
    let mut reader = JsonLinesReader::from_reader(Cursor::new(bytes), "fuzz.jsonl", options())?;
    let batches = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .map_err(IngestError::from)?;
    Ok((batches, reader.finish()?))
}

fn read_parquet_file(path: &Path) -> Result<usize, IngestError> {
    let mut reader = ParquetReader::open(path, options())?;
    let rows = reader
        .by_ref()
        .map(|b| b.map(|b| b.num_rows()))
        .sum::<Result<usize, _>>()
        .map_err(IngestError::from)?;
    reader.finish()?;
    Ok(rows)
}

const VALID_CSV: &str =
    "id,age,name,score\n1,39,\"Smith, J\",0.5\n2,50,Doe,1e3\n3,,\"a \"\"q\"\"\",NaN\n4,28,x,-inf\n";

const VALID_JSONL: &str = concat!(
    "{\"id\": 1, \"age\": 39, \"name\": \"Smith\", \"score\": 0.5, \"tags\": [1, 2]}\n",
    "{\"id\": 2, \"age\": null, \"name\": \"D\\u00f6e\", \"score\": 1e3}\n",
    "{\"id\": 3, \"age\": 28, \"name\": \"x\", \"score\": -2.25, \"extra\": {\"a\": true}}\n",
);

/// Edits of a valid input: the mutations a fuzzer would make, plus the
/// structure-aware ones (duplicated lines, huge numbers, deep nesting, long
/// strings, invalid UTF-8, NaN/Inf literals).
fn mix() -> Mix {
    Mix {
        // every kind equally often; whole lines duplicated
        flip: 1,
        insert_invalid_utf8: true,
        delete_max: 16,
        duplicate: 0,
        duplicate_line: 1,
        splice: 1,
        ..Mix::splicing(vec![
            "\n",
            "\r",
            "\r\n",
            "\"\"\"",
            "NaN",
            "Infinity",
            "-inf",
            "1e999999",
            "-1e-999999",
            "99999999999999999999999999999999999999",
            "-9223372036854775809",
            "18446744073709551616",
            "0x10",
            "true",
            "null",
            "\u{feff}",
            "\u{0}",
            "\\u0000",
            "\\ud800",
            "\"id\": 7, \"id\": 8, ",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
        ])
    }
}

fn mutated(valid: &'static str) -> impl Strategy<Value = Vec<u8>> {
    mix().mutate(valid.as_bytes().to_vec(), 1..6)
}

/// Every quarantined row names a line of the input.
fn lines_in_range(report: &IngestReport, bytes: &[u8]) -> Result<(), TestCaseError> {
    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    for row in &report.quarantined {
        prop_assert!(
            row.line >= 1 && row.line <= lines,
            "quarantined line {} of a {lines}-line input",
            row.line
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn csv_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok((_, report)) = read_csv_bytes(bytes.clone()) {
            lines_in_range(&report, &bytes)?;
        }
    }

    #[test]
    fn csv_mutations_of_a_valid_file_never_panic(bytes in mutated(VALID_CSV)) {
        if let Ok((_, report)) = read_csv_bytes(bytes.clone()) {
            lines_in_range(&report, &bytes)?;
        }
    }

    #[test]
    fn jsonl_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok((_, report)) = read_jsonl_bytes(bytes.clone()) {
            lines_in_range(&report, &bytes)?;
        }
    }

    #[test]
    fn jsonl_mutations_of_a_valid_file_never_panic(bytes in mutated(VALID_JSONL)) {
        if let Ok((_, report)) = read_jsonl_bytes(bytes.clone()) {
            lines_in_range(&report, &bytes)?;
        }
    }

    #[test]
    fn gzip_of_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // A gzip header, then garbage: the decompressor's error, not a panic.
        let mut input = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff];
        input.extend_from_slice(&bytes);
        let _ = read_csv_bytes(input.clone());
        let _ = read_jsonl_bytes(input);
    }
}

/// Binary edits: mostly flips, no tokens.
fn parquet_mix() -> Mix {
    Mix {
        insert_runs: false,
        delete_max: 16,
        duplicate: 0,
        splice: 0,
        ..Mix::splicing(Vec::new())
    }
}

/// A small valid Parquet file (two row groups, dictionary and plain pages).
fn valid_parquet() -> Vec<u8> {
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4]))),
        (
            "x",
            Arc::new(Float64Array::from(vec![
                Some(0.5),
                None,
                Some(f64::NAN),
                Some(-1.0),
            ])),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some("bb"),
                None,
                Some("a"),
            ])),
        ),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(2))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn parquet_mutations_never_panic(edits in parquet_mix().edits(1..4), tail_flip in any::<bool>()) {
        let mut bytes = valid_parquet();
        for e in &edits {
            // Half the cases aim at the footer (metadata lengths, row-group
            // sizes, page offsets), where a trusted length would do harm.
            let e = match (e, tail_flip) {
                (Edit::Flip(i, b), true) if !bytes.is_empty() => {
                    let footer = bytes.len().saturating_sub(400);
                    Edit::Flip(footer + i % (bytes.len() - footer), *b)
                }
                _ => e.clone(),
            };
            e.apply(&mut bytes);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.parquet");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = read_parquet_file(&path) {
            // The error names the file.
            prop_assert!(e.to_string().contains("fuzz.parquet"), "{e}");
        }
    }

    #[test]
    fn parquet_arbitrary_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..512), magic in any::<bool>()) {
        if magic {
            bytes.splice(0..0, *b"PAR1");
            bytes.extend_from_slice(b"PAR1");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.parquet");
        std::fs::write(&path, &bytes).unwrap();
        let _ = read_parquet_file(&path);
    }
}

#[test]
fn the_valid_inputs_read() {
    let (batches, report) = read_csv_bytes(VALID_CSV.as_bytes().to_vec()).unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 4);
    assert_eq!(report.summary.rows_quarantined, 0);
    let (batches, _) = read_jsonl_bytes(VALID_JSONL.as_bytes().to_vec()).unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.parquet");
    std::fs::write(&path, valid_parquet()).unwrap();
    assert_eq!(read_parquet_file(&path).unwrap(), 4);
}

#[test]
fn bad_records_name_their_line() {
    // CSV: a row with too many fields on line 3.
    let (_, report) = read_csv_bytes(b"a,b\n1,2\n3,4,5\n6,7\n".to_vec()).unwrap();
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(report.quarantined[0].line, 3);
    // JSON Lines: invalid JSON on line 2; the reason carries the column.
    let (_, report) =
        read_jsonl_bytes(b"{\"a\": 1}\n{\"a\": 1,, }\n{\"a\": 2}\n".to_vec()).unwrap();
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(report.quarantined[0].line, 2);
    assert!(
        report.quarantined[0].reason.contains("column"),
        "{}",
        report.quarantined[0].reason
    );
    // A header that is not UTF-8 names line 1 and its column.
    let err = read_csv_bytes(b"a,\xff\xfe\n1,2\n".to_vec()).unwrap_err();
    assert!(err.to_string().contains("line 1, column 2"), "{err}");
}

#[test]
fn a_deeply_nested_json_line_is_a_quarantined_row() {
    let mut line = "{\"a\": 1}\n".to_string();
    line.push_str(&"[".repeat(100_000));
    line.push('\n');
    let (_, report) = read_jsonl_bytes(line.into_bytes()).unwrap();
    assert_eq!(report.summary.rows_quarantined, 1);
    assert_eq!(report.quarantined[0].line, 2);
}

#[test]
fn a_huge_parquet_footer_length_is_an_error_not_an_allocation() {
    let mut bytes = valid_parquet();
    let n = bytes.len();
    // The 4-byte little-endian metadata length before the trailing magic.
    bytes[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.parquet");
    std::fs::write(&path, &bytes).unwrap();
    let err = read_parquet_file(&path).unwrap_err();
    assert!(err.to_string().contains("huge.parquet"), "{err}");
}

#[test]
fn a_parquet_decoder_panic_is_an_error_naming_the_file() {
    // Found by `parquet_mutations_never_panic`: the parquet crate asserts
    // ("offset + len out of bounds") on these definition levels.
    let mut bytes = valid_parquet();
    Edit::Delete(36962694797268616, 7).apply(&mut bytes);
    Edit::Flip(2470310873743761315, 128).apply(&mut bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.parquet");
    std::fs::write(&path, &bytes).unwrap();
    let err = read_parquet_file(&path).unwrap_err();
    assert!(matches!(err, IngestError::Format { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
}
