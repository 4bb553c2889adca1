//! `mlrig ingest --eval-fraction … --out-dir DIR [--split-key COL]`: the two
//! files of a deterministic train/eval split, their counts, and their
//! independence from row order when a key column is hashed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_status, mlrig, stdout, strings_at, success_json};
use mlrig_core::SplitRule;

/// `mlrig ingest INPUT SPLIT... --out-dir OUT EXTRA...`.
fn ingest_split(input: &Path, split: &[&str], out: &Path, extra: &[&str]) -> Output {
    let input = ["ingest", input.to_str().unwrap()];
    let out = ["--out-dir", out.to_str().unwrap()];
    mlrig([&input[..], split, &out[..], extra].concat())
}

/// A split on the hash of `user`, one fifth to eval.
const KEYED: [&str; 4] = ["--split-key", "user", "--eval-fraction", "0.2"];

/// `user,clicks` rows: 600 users (u0 … u599), a few without a user, one
/// with clicks that are not a number.
fn data(order: impl Iterator<Item = usize>) -> String {
    let mut text = String::from("user,clicks\n");
    for i in order {
        let user = if i % 97 == 13 {
            String::new()
        } else {
            format!("u{i}")
        };
        let clicks = if i == 42 {
            "many".to_string()
        } else {
            (i * 3).to_string()
        };
        text.push_str(&format!("{user},{clicks}\n"));
    }
    text
}

/// A temporary directory with `in.csv` holding `data(rows)`: the directory,
/// that file, and an output directory to split into.
fn split_input(rows: Range<usize>) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, data(rows)).unwrap();
    let out = dir.path().join("split");
    (dir, input, out)
}

/// The data rows of a written CSV file (no quoting in this data).
fn data_rows(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user,clicks"), "{}", path.display());
    lines.map(str::to_string).collect()
}

fn users(rows: &[String]) -> BTreeSet<String> {
    rows.iter()
        .map(|r| r.split(',').next().unwrap().to_string())
        .collect()
}

#[test]
fn a_keyed_split_writes_two_disjoint_files_that_ignore_row_order() {
    let (dir, input, out) = split_input(0..600);
    let extra = ["--batch-size", "37", "--format", "json"];
    let report = success_json(&ingest_split(&input, &KEYED, &out, &extra));
    let train = data_rows(&out.join("train.csv"));
    let eval = data_rows(&out.join("eval.csv"));
    let summary = &report["summary"];
    let without_user = (0..600).filter(|i| i % 97 == 13).count() as u64;
    assert_eq!(summary["rows_read"], 600);
    assert_eq!(summary["rows_quarantined"], without_user + 1);
    assert_eq!(summary["rows_split_off"], 0);
    let accepted = summary["rows_accepted"].as_u64().unwrap();
    assert_eq!((train.len() + eval.len()) as u64, accepted);
    assert_eq!(report["split"]["train"]["rows"], train.len() as u64);
    assert_eq!(report["split"]["eval"]["rows"], eval.len() as u64);
    assert_eq!(report["split"]["key_column"], "user");
    assert_eq!(report["split"]["rule"]["eval_fraction"], 0.2);
    let (train_users, eval_users) = (users(&train), users(&eval));
    assert!(train_users.is_disjoint(&eval_users));
    // Exactly the users the frozen hash sends to eval.
    let rule = SplitRule::hash_key(0.2).unwrap();
    assert!(eval_users.iter().all(|u| rule.is_eval(0, Some(u))));
    assert!(train_users.iter().all(|u| !rule.is_eval(0, Some(u))));
    assert!((60..180).contains(&eval.len()), "{}", eval.len());
    let reasons = strings_at(&report["quarantined"], "reason");
    assert!(
        reasons.iter().any(|r| r.starts_with("missing split key")),
        "{reasons:?}"
    );
    // Only the two files, no temporary left behind.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["eval.csv", "train.csv"]);

    // Reversed and cut into two files: the same users on each side.
    std::fs::write(dir.path().join("r1.csv"), data((300..600).rev())).unwrap();
    std::fs::write(dir.path().join("r2.csv"), data((0..300).rev())).unwrap();
    let out2 = dir.path().join("split2");
    let pattern = dir.path().join("r*.csv");
    let again = ingest_split(&pattern, &KEYED, &out2, &["--threads", "2"]);
    assert_status(&again, 0);
    let text = stdout(&again);
    assert!(
        text.contains("split (hash of `user`, eval fraction 0.2)"),
        "{text}"
    );
    assert_eq!(users(&data_rows(&out2.join("eval.csv"))), eval_users);
    assert_eq!(users(&data_rows(&out2.join("train.csv"))), train_users);
}

#[test]
fn without_a_key_the_row_number_among_accepted_rows_is_hashed() {
    let (_dir, input, out) = split_input(0..300);
    let report = success_json(&ingest_split(
        &input,
        &["--eval-fraction", "0.3"],
        &out,
        &["--format", "json"],
    ));
    // Only the row with bad clicks is quarantined (an empty user is a null, not an error).
    assert_eq!(report["summary"]["rows_quarantined"], 1);
    let accepted: Vec<usize> = (0..300).filter(|&i| i != 42).collect();
    let rule = SplitRule::hash_key(0.3).unwrap();
    let expected_eval: Vec<String> = accepted
        .iter()
        .enumerate()
        .filter(|(row, _)| rule.is_eval(*row as u64, None))
        .map(|(_, &i)| data(i..i + 1).lines().nth(1).unwrap().to_string())
        .collect();
    assert_eq!(data_rows(&out.join("eval.csv")), expected_eval);
    assert_eq!(
        data_rows(&out.join("train.csv")).len() + expected_eval.len(),
        accepted.len()
    );
}

#[test]
fn split_flags_are_checked() {
    let (_dir, input, out) = split_input(0..10);
    let input = input.to_str().unwrap();
    let out = out.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--eval-fraction", "1.5", "--out-dir", out],
            "eval_fraction",
        ),
        (vec!["--split-key", "user"], "--eval-fraction"),
        (vec!["--eval-fraction", "0.2"], "--out-dir"),
        (
            vec![
                "--split-key",
                "clicks2",
                "--eval-fraction",
                "0.2",
                "--out-dir",
                out,
            ],
            "`clicks2` is not a column",
        ),
    ] {
        let mut all = vec!["ingest", input];
        all.extend(args);
        let output = mlrig(&all);
        assert_eq!(output.status.code(), Some(2), "{all:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{all:?}: {stderr}");
    }
    assert!(!Path::new(out).join("train.csv").exists());
}
