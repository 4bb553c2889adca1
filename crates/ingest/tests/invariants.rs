#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests: arbitrary input never panics, totals always add up, and
//! the batch size never changes the data.

mod common;

use common::{assert_totals, rows};
use mlrig_ingest::{
    CsvFormat, CsvReader, InferenceOptions, IngestError, IngestReport, QuarantineOptions,
    ReadOptions,
};
use proptest::prelude::*;

/// Bytes that are mostly CSV punctuation, digits and a few invalid UTF-8 bytes.
fn csvish_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(b"a1.-,;\"\n\r \t?N".to_vec()),
        1 => any::<u8>(),
    ]
}

fn options() -> impl Strategy<Value = ReadOptions> {
    (
        any::<bool>(),
        prop::sample::select(vec![b',', b';', b'\t', b' ', b'a']),
        1usize..8,
        0usize..12,
        0.0f64..0.49,
        prop_oneof![Just(64 * 1024 * 1024), 1usize..64],
        0usize..4,
        prop::option::of((0.0f64..=1.0, any::<u64>())),
    )
        .prop_map(
            |(header, delimiter, batch, infer, tolerance, max, keep, sample)| {
                let options = match sample {
                    Some((fraction, seed)) => ReadOptions::default().with_sample(fraction, seed),
                    None => ReadOptions::default(),
                };
                options
                    .with_csv_format(
                        CsvFormat::default()
                            .with_header(header)
                            .with_delimiter(delimiter),
                    )
                    .with_batch_size(batch)
                    .with_inference(
                        InferenceOptions::default()
                            .with_infer_rows(infer)
                            .with_infer_tolerance(tolerance),
                    )
                    .with_max_record_bytes(max)
                    .with_quarantine(QuarantineOptions::default().with_keep(keep))
            },
        )
}

/// Reads everything in memory; `Err` only for whole-file errors.
fn read_all(
    bytes: Vec<u8>,
    options: ReadOptions,
) -> Result<(Vec<mlrig_core::arrow_array::RecordBatch>, IngestReport), IngestError> {
    let mut reader = CsvReader::from_reader(std::io::Cursor::new(bytes), "prop.csv", options)?;
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
    Ok((batches, reader.finish()?))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic_and_totals_add_up(
        bytes in prop::collection::vec(csvish_byte(), 0..600),
        options in options(),
    ) {
        let batch_size = options.batch_size();
        let keep = options.quarantine().keep();
        match read_all(bytes, options) {
            Ok((batches, report)) => {
                let s = &report.summary;
                assert_totals(s);
                let accepted: usize = batches.iter().map(|b| b.num_rows()).sum();
                prop_assert_eq!(accepted as u64, s.rows_accepted);
                prop_assert_eq!(batches.len() as u64, s.batches);
                prop_assert!(batches.iter().all(|b| (1..=batch_size).contains(&b.num_rows())));
                prop_assert_eq!(report.quarantined.len() as u64, s.quarantined_kept);
                prop_assert_eq!(s.quarantined_kept, s.rows_quarantined.min(keep as u64));
                prop_assert!(report.quarantined.windows(2).all(|w| w[0].line <= w[1].line));
                prop_assert!(report.quarantined.iter().all(|r| r.line >= 1));
            }
            Err(e) => prop_assert!(
                matches!(
                    e,
                    IngestError::EmptyFile { .. }
                        | IngestError::InvalidHeader { .. }
                        | IngestError::DuplicateColumn { .. }
                ),
                "unexpected error: {e}"
            ),
        }
    }
}

/// One generated cell: numbers, booleans, words, missing tokens, and quoted
/// text with delimiters, quotes and line breaks.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i32>().prop_map(|v| v.to_string()),
        (-1e6f64..1e6).prop_map(|v| v.to_string()),
        prop::sample::select(vec!["true", "False", "NA", "", "?", "null", "abc", "x y"])
            .prop_map(String::from),
        "[a-z,\"\n ]{0,6}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
    ]
}

fn csv_text() -> impl Strategy<Value = String> {
    (1usize..5)
        .prop_flat_map(|width| {
            let row = prop::collection::vec(cell(), width - 1..=width + 1);
            (
                Just(width),
                prop::collection::vec(row, 0..60),
                any::<bool>(),
            )
        })
        .prop_map(|(width, rows, crlf)| {
            let header: Vec<String> = (0..width).map(|i| format!("c{i}")).collect();
            let mut text = header.join(",");
            for row in rows {
                text.push_str(if crlf { "\r\n" } else { "\n" });
                text.push_str(&row.join(","));
            }
            text.push('\n');
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn batch_size_does_not_change_the_data(text in csv_text(), infer in 0usize..30) {
        let read = |batch_size: usize| {
            let options = ReadOptions::default()
                .with_batch_size(batch_size)
                .with_inference(InferenceOptions::default().with_infer_rows(infer));
            read_all(text.clone().into_bytes(), options).unwrap()
        };
        let (one, one_report) = read(1);
        let (many, many_report) = read(1000);
        prop_assert_eq!(rows(&one), rows(&many));
        prop_assert_eq!(&one_report.quarantined, &many_report.quarantined);
        prop_assert_eq!(one_report.summary.rows_read, many_report.summary.rows_read);
        prop_assert_eq!(one_report.summary.rows_accepted, many_report.summary.rows_accepted);
        prop_assert_eq!(one.len() as u64, one_report.summary.rows_accepted);
        assert_totals(&one_report.summary);
        if let (Some(a), Some(b)) = (one.first(), many.first()) {
            prop_assert_eq!(a.schema(), b.schema());
        }
    }

    #[test]
    fn reports_survive_a_json_round_trip(text in csv_text()) {
        let (_, report) = read_all(text.into_bytes(), ReadOptions::default()).unwrap();
        let json = serde_json::to_string(&report).unwrap();
        let back: IngestReport = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, report);
    }
}
