//! The leakage check on the real data sets of `MLRIG_DATA_DIR`: chicago's
//! `tips` is caught as the source of `big_tipper`; no column of the other
//! eight data sets is flagged. Rows with `i % 5 == 4` are the evaluation
//! rows (mlrig's default split). Prints each data set's best scores, the
//! numbers behind the thresholds in the `leakage` module docs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_csv::ReaderBuilder;
use arrow_csv::reader::Format;
use mlrig_train::arrow_array::{BooleanArray, RecordBatch};
use mlrig_train::{LeakageParams, LeakageReport, LeakageRule, ParamGuard, SplitRule, Task};
use regex::Regex;

fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("MLRIG_DATA_DIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("SKIPPED: leakage check on real data; set MLRIG_DATA_DIR=../shared/data");
            None
        }
    }
}

/// Reads a CSV file (empty, `?` and `NA` are null) into 4096-row batches.
fn read(path: &Path) -> Vec<RecordBatch> {
    let format = Format::default()
        .with_header(true)
        .with_null_regex(Regex::new(r"^(|\?|NA)$").unwrap());
    let mut file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (schema, _) = format.infer_schema(&mut file, None).unwrap();
    let file = File::open(path).unwrap();
    ReaderBuilder::new(Arc::new(schema))
        .with_format(format)
        .with_batch_size(4096)
        .build(file)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Splits batches into training and evaluation rows by global row number
/// (`i % 5 == 4` are evaluation rows).
fn split(batches: &[RecordBatch]) -> (Vec<RecordBatch>, Vec<RecordBatch>) {
    split_at(batches, 4)
}

/// Splits batches: rows with `i % 5 == fold` are evaluation rows.
fn split_at(batches: &[RecordBatch], fold: u64) -> (Vec<RecordBatch>, Vec<RecordBatch>) {
    let rule = SplitRule::modulo(5, vec![fold]).unwrap();
    let mut first = 0u64;
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    for batch in batches {
        let is_eval: BooleanArray = (0..batch.num_rows() as u64)
            .map(|i| Some(rule.is_eval(first + i, None)))
            .collect();
        let is_train: BooleanArray = is_eval.iter().map(|v| v.map(|e| !e)).collect();
        eval.push(arrow_select::filter::filter_record_batch(batch, &is_eval).unwrap());
        train.push(arrow_select::filter::filter_record_batch(batch, &is_train).unwrap());
        first += batch.num_rows() as u64;
    }
    (train, eval)
}

fn classes(batches: &[RecordBatch], target: &str) -> Task {
    let arrays: Vec<_> = batches
        .iter()
        .map(|b| b.column_by_name(target).unwrap().clone())
        .collect();
    let y =
        mlrig_train::ClassTarget::from_arrays(target, arrays.iter().map(|a| a.as_ref())).unwrap();
    Task::Classification {
        classes: y.classes().to_vec(),
    }
}

/// The default check on `batches` split as mlrig splits (row i eval iff i % 5 == 4).
fn run_check(batches: &[RecordBatch], target: &str, classification: bool) -> LeakageReport {
    let task = if classification {
        classes(batches, target)
    } else {
        Task::Regression
    };
    let (train, eval) = split(batches);
    LeakageParams::default()
        .check()
        .unwrap()
        .run(&train, &eval, target, &task)
        .unwrap()
}

fn check(dir: &Path, file: &str, target: &str, classification: bool) -> LeakageReport {
    let batches = read(&dir.join(file));
    let report = run_check(&batches, target, classification);
    let mut scored: Vec<_> = report
        .columns()
        .iter()
        .filter_map(|c| Some((c.score?, c.lower_bound?, c)))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top: Vec<String> = scored
        .iter()
        .take(2)
        .map(|(s, b, c)| format!("`{}` {s:.4} ({b:.4})", c.name))
        .collect();
    let partners: Vec<String> = report
        .columns()
        .iter()
        .filter_map(|c| {
            let p = c.partner.as_ref()?;
            Some(format!(
                "{} {:.4} ({:.4})",
                p.describe(&c.name),
                p.score?,
                p.lower_bound?
            ))
        })
        .collect();
    eprintln!(
        "| {file} | `{target}` | {} | {} | {} | {} | {} |",
        report.metric(),
        report.eval_rows(),
        top.join(", "),
        if partners.is_empty() {
            "—".to_string()
        } else {
            partners.join(", ")
        },
        report
            .suspects()
            .iter()
            .map(|s| s.column.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for note in report.notes() {
        eprintln!("  note: {note}");
    }
    for suspect in report.suspects() {
        eprintln!("  suspect: {}", suspect.reason);
    }
    report
}

#[test]
fn chicago_tips_is_the_source_of_big_tipper() {
    let Some(dir) = data_dir() else { return };
    let report = check(&dir, "chicago_taxi.csv", "big_tipper", true);
    let names: Vec<&str> = report
        .suspects()
        .iter()
        .map(|s| s.column.as_str())
        .collect();
    assert_eq!(names, ["tips"], "{report:#?}");
    let suspect = &report.suspects()[0];
    assert_eq!(suspect.rule, LeakageRule::Partner);
    assert!(
        suspect.reason.contains("--allow-leakage tips"),
        "{}",
        suspect.reason
    );
    // `payment_type` (cash tips are not recorded) is a strong, legitimate feature.
    let payment = report
        .columns()
        .iter()
        .find(|c| c.name == "payment_type")
        .unwrap();
    assert!(payment.score.unwrap() > 0.9 && payment.score.unwrap() < 0.99);

    // Allowed, it moves out of the suspects.
    let batches = read(&dir.join("chicago_taxi.csv"));
    let (train, eval) = split(&batches);
    let allowed = LeakageParams::default()
        .with_allowed(["tips"])
        .check()
        .unwrap()
        .run(
            &train,
            &eval,
            "big_tipper",
            &classes(&batches, "big_tipper"),
        )
        .unwrap();
    assert!(allowed.is_clean());
    assert_eq!(allowed.allowed()[0].column, "tips");
}

#[test]
fn legitimate_features_are_not_flagged() {
    let Some(dir) = data_dir() else { return };
    for (file, target, classification) in [
        ("adult.csv", "income", true),
        ("california_housing.csv", "MedHouseVal", false),
        ("iris.csv", "species", true),
        ("penguins.csv", "species", true),
        ("wine.csv", "class", true),
        ("diamonds.csv", "price", false),
        ("breast_cancer.csv", "target", true),
        ("diabetes.csv", "target", false),
    ] {
        let report = check(&dir, file, target, classification);
        assert!(report.is_clean(), "{file}: {:#?}", report.suspects());
        assert!(
            report.columns().iter().all(|c| c.unchecked.is_none()),
            "{file}: {report:#?}"
        );
    }
}

#[test]
fn a_copy_of_the_target_is_caught_on_every_data_set() {
    let Some(dir) = data_dir() else { return };
    for (file, target, classification) in [
        ("chicago_taxi.csv", "tips", false),
        ("diamonds.csv", "price", false),
        ("iris.csv", "species", true),
        ("breast_cancer.csv", "target", true),
    ] {
        let batches: Vec<RecordBatch> = read(&dir.join(file))
            .into_iter()
            .map(|b| {
                let copy = b.column_by_name(target).unwrap().clone();
                let mut columns: Vec<(String, _)> = b
                    .schema()
                    .fields()
                    .iter()
                    .zip(b.columns())
                    .map(|(f, c)| (f.name().clone(), c.clone()))
                    .collect();
                columns.push(("copy".into(), copy));
                RecordBatch::try_from_iter(columns).unwrap()
            })
            .collect();
        let report = run_check(&batches, target, classification);
        let names: Vec<&str> = report
            .suspects()
            .iter()
            .map(|s| s.column.as_str())
            .collect();
        assert!(names.contains(&"copy"), "{file}: {names:?}");
    }
}

#[test]
fn every_pair_on_the_large_data_sets_stays_far_below_the_threshold() {
    let Some(dir) = data_dir() else { return };
    for (file, target, classification) in [
        ("adult.csv", "income", true),
        ("california_housing.csv", "MedHouseVal", false),
        ("diamonds.csv", "price", false),
    ] {
        let batches = read(&dir.join(file));
        let task = if classification {
            classes(&batches, target)
        } else {
            Task::Regression
        };
        let (train, eval) = split(&batches);
        // Every numeric column is a candidate: the worst case for false alarms.
        let report = LeakageParams::default()
            .with_partner_floor(-1e300)
            .with_max_partner_candidates(usize::MAX)
            .check()
            .unwrap()
            .run(&train, &eval, target, &task)
            .unwrap();
        let mut best: Vec<(f64, String)> = report
            .columns()
            .iter()
            .filter_map(|c| {
                let p = c.partner.as_ref()?;
                Some((p.score?, p.describe(&c.name)))
            })
            .collect();
        best.sort_by(|a, b| b.0.total_cmp(&a.0));
        eprintln!("{file}: best pairs {:?}", &best[..best.len().min(2)]);
        assert!(best[0].0 < 0.9, "{file}: {best:?}");
        assert!(report.is_clean(), "{file}: {:#?}", report.suspects());
    }
}

#[test]
fn small_data_sets_stay_clean_on_every_fold() {
    let Some(dir) = data_dir() else { return };
    let check = LeakageParams::default().check().unwrap();
    for (file, target, classification) in [
        ("iris.csv", "species", true),
        ("penguins.csv", "species", true),
        ("wine.csv", "class", true),
        ("breast_cancer.csv", "target", true),
        ("diabetes.csv", "target", false),
    ] {
        let batches = read(&dir.join(file));
        let task = if classification {
            classes(&batches, target)
        } else {
            Task::Regression
        };
        let mut best = Vec::new();
        for fold in 0..5 {
            let (train, eval) = split_at(&batches, fold);
            let report = check.run(&train, &eval, target, &task).unwrap();
            assert!(
                report.is_clean(),
                "{file} fold {fold}: {:#?}",
                report.suspects()
            );
            let top = report
                .columns()
                .iter()
                .filter_map(|c| Some((c.score?, c.lower_bound?, c.name.clone())))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap();
            best.push(format!("{} {:.4} ({:.4})", top.2, top.0, top.1));
        }
        eprintln!("{file}: best column per fold: {}", best.join(", "));
    }
}
