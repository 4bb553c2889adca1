#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `ReadOptions::with_split`: one side of a deterministic train/eval split,
//! the same with every reader, batch size and thread count; counts that add
//! up; rows without a key quarantined, never lost.

mod common;

use std::collections::BTreeSet;

use common::{Value, assert_totals, rows};
use mlrig_core::arrow_array::RecordBatch;
use mlrig_ingest::{
    CsvReader, FileSet, InferenceOptions, IngestReport, JsonLinesReader, MISSING_KEY_REASON,
    ReadOptions, Split, SplitRule, SplitSide,
};
use proptest::prelude::*;

/// One input row: a unique row id, a key (None: missing), a value that may
/// not parse.
#[derive(Debug, Clone)]
struct Row {
    id: usize,
    key: Option<String>,
    value: String,
}

fn csv_text(rows: &[Row]) -> String {
    let mut text = String::from("id,key,value\n");
    for r in rows {
        text.push_str(&format!(
            "{},{},{}\n",
            r.id,
            r.key.as_deref().unwrap_or("NA"),
            r.value
        ));
    }
    text
}

fn jsonl_text(rows: &[Row]) -> String {
    let mut text = String::new();
    for r in rows {
        let value: serde_json::Value = match r.value.parse::<f64>() {
            Ok(v) => serde_json::json!(v),
            Err(_) => serde_json::json!(r.value),
        };
        let line = match &r.key {
            Some(k) => serde_json::json!({"id": r.id, "key": k, "value": value}),
            None => serde_json::json!({"id": r.id, "value": value}),
        };
        text.push_str(&format!("{line}\n"));
    }
    text
}

fn read_csv_files(files: &FileSet, options: ReadOptions) -> (Vec<RecordBatch>, IngestReport) {
    let mut reader = CsvReader::open_files(files, options).unwrap();
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    let report = reader.finish().unwrap();
    assert_totals(&report.summary);
    let in_batches: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let s = &report.summary;
    assert_eq!(
        in_batches as u64,
        s.rows_accepted - s.rows_split_off,
        "{s:?}"
    );
    (batches, report)
}

fn read_jsonl(files: &FileSet, options: ReadOptions) -> (Vec<RecordBatch>, IngestReport) {
    let mut reader = JsonLinesReader::open_files(files, options).unwrap();
    let batches = reader.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    let report = reader.finish().unwrap();
    assert_totals(&report.summary);
    (batches, report)
}

/// The `id` of every row (column 0).
fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    rows(batches)
        .into_iter()
        .map(|r| match &r[0] {
            Value::Int(v) => *v,
            other => panic!("id is {other:?}"),
        })
        .collect()
}

/// The `key` of every row (column 1), as text.
fn keys(batches: &[RecordBatch]) -> BTreeSet<String> {
    rows(batches)
        .into_iter()
        .map(|r| match &r[1] {
            Value::Text(k) => k.clone(),
            Value::Int(k) => k.to_string(),
            other => panic!("key is {other:?}"),
        })
        .collect()
}

fn split(rule: &SplitRule, keyed: bool, side: SplitSide) -> Split {
    let split = Split::new(rule.clone(), side);
    if keyed {
        split.with_key_column("key")
    } else {
        split
    }
}

fn options(batch_size: usize, threads: usize) -> ReadOptions {
    ReadOptions::default()
        .with_batch_size(batch_size)
        .with_threads(threads)
        .with_inference(
            InferenceOptions::default()
                .with_infer_rows(1000)
                .with_column_type("key", mlrig_core::arrow_schema::DataType::Utf8)
                .with_column_type("value", mlrig_core::arrow_schema::DataType::Float64),
        )
}

fn row_strategy() -> impl Strategy<Value = Vec<(Option<u16>, u8)>> {
    prop::collection::vec((prop::option::weighted(0.9, 0u16..400), 0u8..10), 0..120)
}

fn build_rows(spec: &[(Option<u16>, u8)]) -> Vec<Row> {
    spec.iter()
        .enumerate()
        .map(|(id, (key, v))| Row {
            id,
            key: key.map(|k| format!("user-{k}")),
            // One value in ten does not parse: that row is quarantined.
            value: if *v == 0 {
                "oops".into()
            } else {
                format!("{v}.5")
            },
        })
        .collect()
}

fn rule_strategy() -> impl Strategy<Value = SplitRule> {
    prop_oneof![
        (0.0..=1.0f64).prop_map(|f| SplitRule::hash_key(f).unwrap()),
        (1u64..6).prop_map(|m| SplitRule::modulo(m, vec![m - 1]).unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// (a) train ∪ eval == the accepted rows, disjoint, in order; they are
    /// core's `split_batch` of the `Both` stream; (b) the same for any batch
    /// size and thread count; counts add up.
    #[test]
    fn sides_partition_the_accepted_rows_for_any_batch_size_and_threads(
        spec in row_strategy(),
        rule in rule_strategy(),
        keyed in any::<bool>(),
        batch_size in 1usize..40,
        threads in 1usize..4,
    ) {
        let keyed = keyed && rule.uses_key();
        let dir = tempfile::tempdir().unwrap();
        let rows_in = build_rows(&spec);
        // Two files, so row numbers continue across files.
        let cut = rows_in.len() / 3;
        std::fs::write(dir.path().join("a.csv"), csv_text(&rows_in[..cut])).unwrap();
        std::fs::write(dir.path().join("b.csv"), csv_text(&rows_in[cut..])).unwrap();
        let files = FileSet::new([dir.path().join("*.csv").to_str().unwrap()]).unwrap();

        let read = |side: SplitSide, batch_size: usize, threads: usize| {
            read_csv_files(&files, options(batch_size, threads).with_split(split(&rule, keyed, side)))
        };
        let (all, all_report) = read(SplitSide::Both, 65_536, 1);
        let (train, train_report) = read(SplitSide::Train, batch_size, threads);
        let (eval, eval_report) = read(SplitSide::Eval, batch_size, threads);

        // Expected accepted rows: value parses and (when keyed) key present.
        let expected: Vec<i64> = rows_in
            .iter()
            .filter(|r| r.value != "oops" && (!keyed || r.key.is_some()))
            .map(|r| r.id as i64)
            .collect();
        prop_assert_eq!(ids(&all), expected.clone());

        let mut union: Vec<i64> = ids(&train).into_iter().chain(ids(&eval)).collect();
        let train_ids: BTreeSet<i64> = ids(&train).into_iter().collect();
        prop_assert!(ids(&eval).iter().all(|id| !train_ids.contains(id)));
        union.sort_unstable();
        prop_assert_eq!(union, expected);

        // The same rows as core's split of the unsplit stream.
        let key = keyed.then_some("key");
        let mut first_row = 0;
        let (mut core_train, mut core_eval) = (Vec::new(), Vec::new());
        for batch in &all {
            let (t, e) = rule.split_batch(batch, first_row, key).unwrap();
            first_row += batch.num_rows() as u64;
            core_train.push(t);
            core_eval.push(e);
        }
        prop_assert_eq!(rows(&train), rows(&core_train));
        prop_assert_eq!(rows(&eval), rows(&core_eval));

        // Counts: accepted and quarantined do not depend on the side.
        let (a, t, e) = (&all_report.summary, &train_report.summary, &eval_report.summary);
        prop_assert_eq!(a.rows_split_off, 0);
        prop_assert_eq!((t.rows_accepted, t.rows_quarantined), (a.rows_accepted, a.rows_quarantined));
        prop_assert_eq!((e.rows_accepted, e.rows_quarantined), (a.rows_accepted, a.rows_quarantined));
        prop_assert_eq!(t.rows_split_off, ids(&eval).len() as u64);
        prop_assert_eq!(e.rows_split_off, ids(&train).len() as u64);
        prop_assert_eq!(&train_report.quarantined, &all_report.quarantined);

        // (b) against one thread and one big batch.
        let (train_ref, train_ref_report) = read(SplitSide::Train, 65_536, 1);
        prop_assert_eq!(rows(&train), rows(&train_ref));
        let mut expected_summary = train_ref_report.summary.clone();
        expected_summary.batches = train_report.summary.batches;
        prop_assert_eq!(&train_report.summary, &expected_summary);

        // JSON Lines gives the same sides.
        std::fs::write(dir.path().join("a.jsonl"), jsonl_text(&rows_in[..cut])).unwrap();
        std::fs::write(dir.path().join("b.jsonl"), jsonl_text(&rows_in[cut..])).unwrap();
        let json_files = FileSet::new([dir.path().join("*.jsonl").to_str().unwrap()]).unwrap();
        let (json_eval, json_report) = read_jsonl(
            &json_files,
            options(batch_size, 1).with_split(split(&rule, keyed, SplitSide::Eval)),
        );
        prop_assert_eq!(ids(&json_eval), ids(&eval));
        prop_assert_eq!(json_report.summary.rows_split_off, e.rows_split_off);
    }

    /// (c) with a key column, shuffling the rows (and cutting them into
    /// files differently) does not change which keys land in eval.
    #[test]
    fn keyed_split_does_not_depend_on_row_or_file_order(
        spec in row_strategy(),
        shuffle_seed in any::<u64>(),
        fraction in 0.0..=1.0f64,
        threads in 1usize..3,
    ) {
        let rule = SplitRule::hash_key(fraction).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let rows_in = build_rows(&spec);
        std::fs::write(dir.path().join("in.csv"), csv_text(&rows_in)).unwrap();
        // A deterministic shuffle (xorshift-driven Fisher–Yates).
        let mut shuffled = rows_in.clone();
        let mut state = shuffle_seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let cut = shuffled.len() / 2;
        std::fs::write(dir.path().join("s1.csv"), csv_text(&shuffled[cut..])).unwrap();
        std::fs::write(dir.path().join("s2.csv"), csv_text(&shuffled[..cut])).unwrap();

        let eval_keys = |pattern: &str| {
            let files = FileSet::new([dir.path().join(pattern).to_str().unwrap()]).unwrap();
            let options = options(7, threads).with_split(split(&rule, true, SplitSide::Eval));
            keys(&read_csv_files(&files, options).0)
        };
        let original = eval_keys("in.csv");
        prop_assert_eq!(eval_keys("s*.csv"), original.clone());
        // And each eval key is exactly one the rule sends to eval.
        let present: BTreeSet<String> = rows_in
            .iter()
            .filter(|r| r.value != "oops")
            .filter_map(|r| r.key.clone())
            .collect();
        let expected: BTreeSet<String> = present
            .into_iter()
            .filter(|k| rule.is_eval(0, Some(k)))
            .collect();
        prop_assert_eq!(original, expected);
    }
}

#[test]
fn rows_without_a_key_are_quarantined_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.csv");
    std::fs::write(&path, "id,key\n1,a\n2,\n3,NA\n4,d\n").unwrap();
    let split = Split::train(SplitRule::hash_key(0.0).unwrap()).with_key_column("key");
    for threads in [1, 2] {
        let options = ReadOptions::default()
            .with_split(split.clone())
            .with_threads(threads);
        let (batches, report) = read_csv_files(&FileSet::from(path.as_path()), options);
        assert_eq!(ids(&batches), [1, 4]);
        let s = &report.summary;
        assert_eq!(
            (s.rows_read, s.rows_accepted, s.rows_quarantined),
            (4, 2, 2)
        );
        assert_eq!(s.rows_split_off, 0);
        let lines: Vec<u64> = report.quarantined.iter().map(|q| q.line).collect();
        assert_eq!(lines, [3, 4]);
        assert_eq!(report.quarantined[1].column.as_deref(), Some("key"));
        assert_eq!(report.quarantined[1].raw_value.as_deref(), Some("NA"));
        assert_eq!(report.quarantined[0].reason, MISSING_KEY_REASON);
    }

    let jsonl = dir.path().join("k.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\":1,\"key\":\"a\"}\n{\"id\":2}\n{\"id\":3,\"key\":null}\n",
    )
    .unwrap();
    let (batches, report) = read_jsonl(
        &FileSet::from(jsonl.as_path()),
        ReadOptions::default().with_split(split),
    );
    assert_eq!(ids(&batches), [1]);
    assert_eq!(report.summary.rows_quarantined, 2);
    assert!(
        report
            .quarantined
            .iter()
            .all(|q| q.reason == MISSING_KEY_REASON)
    );
}

#[test]
fn row_numbers_count_accepted_rows_across_files_after_sampling_and_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    // Rows 0..30 over three files; ids divisible by 7 are bad.
    for (f, range) in [(0, 0..10), (1, 10..20), (2, 20..30)] {
        let mut text = String::from("id,value\n");
        for i in range {
            let value = if i % 7 == 0 {
                "bad".to_string()
            } else {
                i.to_string()
            };
            text.push_str(&format!("{i},{value}\n"));
        }
        std::fs::write(dir.path().join(format!("part{f}.csv")), text).unwrap();
    }
    let files = FileSet::new([dir.path().join("part*.csv").to_str().unwrap()]).unwrap();
    let base = ReadOptions::default().with_sample(0.7, 3).with_inference(
        InferenceOptions::default()
            .with_column_type("value", mlrig_core::arrow_schema::DataType::Int64),
    );
    let (accepted, _) = read_csv_files(&files, base.clone());
    let accepted = ids(&accepted);
    let rule = SplitRule::modulo(4, vec![3]).unwrap();
    let (eval, report) = read_csv_files(
        &files,
        base.with_batch_size(2).with_split(Split::eval(rule)),
    );
    let expected: Vec<i64> = accepted.iter().skip(3).step_by(4).copied().collect();
    assert_eq!(ids(&eval), expected);
    let s = &report.summary;
    assert_eq!(s.rows_split_off, s.rows_accepted - expected.len() as u64);
    assert!(s.rows_sampled_out > 0 && s.rows_quarantined > 0, "{s:?}");
}

#[test]
fn bad_split_options_are_errors_when_opening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "id,score\n1,0.5\n").unwrap();
    let open = |split: Split| {
        CsvReader::open(&path, ReadOptions::default().with_split(split))
            .unwrap_err()
            .to_string()
    };
    let hash = SplitRule::hash_key(0.5).unwrap();
    assert!(
        open(Split::eval(hash.clone()).with_key_column("nope")).contains("`nope` is not a column")
    );
    assert!(open(Split::eval(hash).with_key_column("score")).contains("`score` is Float64"));
    let modulo = SplitRule::modulo(3, vec![0]).unwrap();
    assert!(open(Split::eval(modulo).with_key_column("id")).contains("hash_key"));
    assert!(
        open(Split::eval(SplitRule::HashKey {
            eval_fraction: f64::NAN
        }))
        .contains("eval_fraction")
    );
}
