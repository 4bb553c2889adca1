#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Arbitrary bytes into the tensorflow-metadata readers (issue 14, item 6):
//! schema, statistics and anomalies in proto3 JSON, text format and binary
//! protobuf. Never a panic, never an allocation out of proportion to a small
//! input (the allocator below has a hard limit), errors that name the line
//! and column (JSON, text); and statistics that parse go through the
//! drift and skew comparisons without a panic either.
//!
//! Case counts follow `PROPTEST_CASES` when it is set.

use mlrig_testkit::{Mix, cases};
use mlrig_validate::{
    Anomalies, DatasetStatistics, DriftTestParams, Schema, TfmdFile, TfmdFormat, ValidateError,
    compare, compare_skew, drift_tests,
};
use proptest::prelude::*;

// The whole test binary may hold at most this much heap at once: every
// input is under 100 KiB, so a decoder that trusts a length or count from
// its input hits the limit and the failed allocation aborts the binary.
mlrig_testkit::capped_allocator!(256 MiB);

const SCHEMA_PBTXT: &str = include_str!("fixtures/tfdv/california_sample.schema.pbtxt");
const SCHEMA_JSON: &str = include_str!("fixtures/tfdv/california_sample.schema.json");
const STATS_JSON: &str = include_str!("fixtures/tfdv/california_sample.stats.json");
const ANOMALIES_JSON: &str = include_str!("fixtures/tfdv/adult_shifted.anomalies.json");

fn valid_stats() -> DatasetStatistics {
    DatasetStatistics::from_bytes(STATS_JSON.as_bytes(), TfmdFormat::Json).unwrap()
}

fn valid_schema() -> Schema {
    Schema::from_bytes(SCHEMA_PBTXT.as_bytes(), TfmdFormat::Text).unwrap()
}

/// Fuzzer-style and structure-aware edits of a valid document.
fn mix() -> Mix {
    Mix {
        insert_invalid_utf8: true,
        splice: 3,
        ..Mix::splicing(vec![
            "<",
            ">",
            "#",
            "\n",
            "-",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "\"NaN\"",
            "\"-Infinity\"",
            "1e999999",
            "99999999999999999999999999999999",
            "-9223372036854775809",
            "18446744073709551616",
            "\"18446744073709551616\"",
            "0x7fffffffffffffff",
            "null",
            "true",
            "\\u0000",
            "\\ud800",
            "\\377\\377",
            "\"numBuckets\": 4294967295, ",
            "num_buckets: 4294967295 ",
            "\"numExamples\": \"-1\", ",
            "feature { name: \"dup\" } feature { name: \"dup\" } ",
            "\"feature\": [], \"feature\": [{}], ",
            "struct_domain { feature { struct_domain { ",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
        ])
    }
}

fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    mix().mutate(valid, 1..5)
}

fn any_format() -> impl Strategy<Value = TfmdFormat> {
    prop::sample::select(vec![TfmdFormat::Json, TfmdFormat::Text, TfmdFormat::Binary])
}

/// Whatever parses can be written back in every format.
fn writes_back<T: TfmdFile>(value: &T) {
    for format in [TfmdFormat::Json, TfmdFormat::Text, TfmdFormat::Binary] {
        let _ = value.to_bytes(format);
    }
}

/// A parsed statistics file goes through the comparisons that read it
/// (`mlrig drift`, `mlrig validate --baseline`, live skew) without a panic.
fn compared(stats: &DatasetStatistics) {
    let reference = valid_stats();
    let schema = valid_schema();
    let _ = compare(&reference, stats, &schema);
    let _ = compare(stats, &reference, &schema);
    let _ = compare_skew(stats, &reference, &schema);
    let _ = drift_tests(&reference, stats, &DriftTestParams::default());
    let _ = drift_tests(stats, &reference, &DriftTestParams::default());
}

fn valid_in(format: TfmdFormat, json: &str, parse: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    match format {
        TfmdFormat::Json => json.as_bytes().to_vec(),
        _ => parse(json.as_bytes()),
    }
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), format in any_format()) {
        if let Ok(s) = Schema::from_bytes(&bytes, format) { writes_back(&s); }
        if let Ok(s) = DatasetStatistics::from_bytes(&bytes, format) { writes_back(&s); compared(&s); }
        if let Ok(a) = Anomalies::from_bytes(&bytes, format) { writes_back(&a); }
    }

    #[test]
    fn arbitrary_protobuf_fields_never_panic(
        fields in prop::collection::vec((1u32..40, 0u8..6, prop::collection::vec(any::<u8>(), 0..12)), 0..24)
    ) {
        // Well-formed tags with arbitrary wire types and payloads: reaches
        // the decoders of nested messages, packed fields and lengths.
        let mut bytes = Vec::new();
        for (field, wire, payload) in fields {
            bytes.push(((field << 3) | u32::from(wire)) as u8 & 0x7f);
            bytes.extend_from_slice(&payload);
        }
        if let Ok(s) = Schema::from_bytes(&bytes, TfmdFormat::Binary) { writes_back(&s); }
        if let Ok(s) = DatasetStatistics::from_bytes(&bytes, TfmdFormat::Binary) { writes_back(&s); compared(&s); }
        if let Ok(a) = Anomalies::from_bytes(&bytes, TfmdFormat::Binary) { writes_back(&a); }
    }

    #[test]
    fn mutated_schemas_never_panic(
        (format, bytes) in any_format().prop_flat_map(|format| {
            let valid = valid_in(format, SCHEMA_JSON, |json| {
                Schema::from_bytes(json, TfmdFormat::Json).unwrap().to_bytes(format).unwrap()
            });
            (Just(format), mutated(valid))
        })
    ) {
        match Schema::from_bytes(&bytes, format) {
            Ok(schema) => writes_back(&schema),
            Err(e) => located(&e, format)?,
        }
    }

    #[test]
    fn mutated_statistics_never_panic(
        (format, bytes) in any_format().prop_flat_map(|format| {
            let valid = valid_in(format, STATS_JSON, |json| {
                DatasetStatistics::from_bytes(json, TfmdFormat::Json).unwrap().to_bytes(format).unwrap()
            });
            (Just(format), mutated(valid))
        })
    ) {
        match DatasetStatistics::from_bytes(&bytes, format) {
            Ok(stats) => { writes_back(&stats); compared(&stats); }
            Err(e) => located(&e, format)?,
        }
    }

    #[test]
    fn mutated_anomalies_never_panic(
        (format, bytes) in any_format().prop_flat_map(|format| {
            let valid = valid_in(format, ANOMALIES_JSON, |json| {
                Anomalies::from_bytes(json, TfmdFormat::Json).unwrap().to_bytes(format).unwrap()
            });
            (Just(format), mutated(valid))
        })
    ) {
        match Anomalies::from_bytes(&bytes, format) {
            Ok(anomalies) => writes_back(&anomalies),
            Err(e) => located(&e, format)?,
        }
    }
}

/// A JSON or text-format error names a line and column.
fn located(error: &ValidateError, format: TfmdFormat) -> Result<(), TestCaseError> {
    let text = error.to_string();
    match (format, error) {
        (TfmdFormat::Json, ValidateError::Json { source, .. }) => {
            prop_assert!(source.line() >= 1, "{text}");
            prop_assert!(text.contains("line ") && text.contains("column "), "{text}");
        }
        (TfmdFormat::Text, ValidateError::TextFormat { line, column, .. }) => {
            prop_assert!(*line >= 1 && *column >= 1, "{text}");
        }
        _ => {}
    }
    Ok(())
}

#[test]
fn errors_name_the_line_and_column() {
    let err = Schema::from_bytes(
        b"feature {\n  name: \"a\"\n  tpye: INT\n}\n",
        TfmdFormat::Text,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("schema:3:3:"), "{err}");
    let err = DatasetStatistics::from_bytes(
        b"{\"datasets\": [\n  {\"numExamples\": tru}\n]}",
        TfmdFormat::Json,
    )
    .unwrap_err();
    assert!(err.to_string().contains("line 2 column"), "{err}");
    let err = Anomalies::from_bytes(b"{\n\"anomalyInfo\": 5}", TfmdFormat::Json).unwrap_err();
    assert!(err.to_string().contains("line 2 column"), "{err}");
}

/// A schema of `depth` levels of `feature { struct_domain { … } }` in `format`.
fn nested_schema(depth: usize, format: TfmdFormat) -> Vec<u8> {
    match format {
        TfmdFormat::Text => {
            let mut text = String::new();
            for _ in 0..depth {
                text.push_str("feature { name: \"s\" struct_domain { ");
            }
            text.push_str(&"} }".repeat(depth));
            text.into_bytes()
        }
        TfmdFormat::Json => {
            let mut json = String::new();
            for _ in 0..depth {
                json.push_str("{\"feature\": [{\"name\": \"s\", \"structDomain\": ");
            }
            json.push_str("{}");
            json.push_str(&"}]}".repeat(depth));
            json.into_bytes()
        }
        _ => {
            // Schema.feature (1) → Feature.struct_domain (29) → StructDomain.feature (1) …
            let mut binary: Vec<u8> = Vec::new();
            for level in 0..2 * depth {
                let tag: &[u8] = if level % 2 == 1 {
                    &[0x0a]
                } else {
                    &[0xea, 0x01]
                };
                let mut outer = tag.to_vec();
                let mut len = binary.len();
                loop {
                    let byte = (len & 0x7f) as u8;
                    len >>= 7;
                    if len == 0 {
                        outer.push(byte);
                        break;
                    }
                    outer.push(byte | 0x80);
                }
                outer.extend_from_slice(&binary);
                binary = outer;
            }
            binary
        }
    }
}

#[test]
fn deep_nesting_is_an_error_in_every_format() {
    for format in [TfmdFormat::Json, TfmdFormat::Text, TfmdFormat::Binary] {
        let shallow = Schema::from_bytes(&nested_schema(3, format), format);
        assert!(shallow.is_ok(), "{format:?}: {shallow:?}");
        let deep = Schema::from_bytes(&nested_schema(10_000, format), format);
        assert!(deep.is_err(), "{format:?}");
    }
}

#[test]
fn a_huge_length_prefix_is_an_error_not_an_allocation() {
    // Field 1 (datasets), length-delimited, claiming 2^62 bytes.
    let mut bytes = vec![0x0a];
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]);
    bytes.extend_from_slice(b"short");
    let err = DatasetStatistics::from_bytes(&bytes, TfmdFormat::Binary).unwrap_err();
    assert!(
        err.to_string().starts_with("statistics: not a binary"),
        "{err}"
    );
}
