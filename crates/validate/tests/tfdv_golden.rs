//! Golden tests against files written by TensorFlow Data Validation 1.16.1
//! (tests/fixtures/tfdv, made by make_tfdv_fixtures.py; versions in
//! versions.json):
//!
//! * every TFDV schema (`.pbtxt` and `.json`) and statistics file loads, the
//!   two schema forms load to the same [`Schema`], and mlrig rewrites TFDV's
//!   `.pbtxt` byte for byte;
//! * TFDV's anomalies load, and mlrig's validator finds the same anomalies on
//!   the same data with the same schema;
//! * mlrig's statistics of the same CSV files match TFDV's: counts, missing,
//!   min/max, zeros, unique and top values exactly, mean/std-dev to 1e-9
//!   relative, the median within the sketch's stated accuracy.
//!
//! The CSV files are read with TFDV's missing-value rule (only an empty cell is
//! missing, so `?` and `NA` are values), which makes every column's type agree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{RawTable, read_raw_from, sample_path, to_batches};
use mlrig_validate::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tfdv");

fn fixtures_ending_with(suffix: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().ends_with(suffix))
        .collect();
    paths.sort();
    paths
}

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

#[test]
fn every_tfdv_schema_reads_the_same_from_pbtxt_and_json_and_rewrites_byte_for_byte() {
    let pbtxts = fixtures_ending_with(".schema.pbtxt");
    assert!(pbtxts.len() >= 12, "{pbtxts:?}");
    for pbtxt in pbtxts {
        let text = std::fs::read_to_string(&pbtxt).unwrap();
        let from_text = Schema::load(&pbtxt).unwrap();
        let json = PathBuf::from(pbtxt.to_str().unwrap().replace(".pbtxt", ".json"));
        let from_json = Schema::load_file(&json).unwrap();
        assert!(!from_text.features.is_empty(), "{}", pbtxt.display());
        assert_eq!(from_text, from_json, "{}", pbtxt.display());
        assert_eq!(Schema::load(&pbtxt).unwrap(), from_text);
        assert_eq!(from_text.to_pbtxt().unwrap(), text, "{}", pbtxt.display());
    }
}

#[test]
fn every_tfdv_statistics_file_loads_and_round_trips() {
    // TFDV's statistics of real data; the every-field file (7 datasets) is
    // read as `SlicedStatistics` by tfmd_every_field.rs.
    let files: Vec<PathBuf> = fixtures_ending_with(".stats.json")
        .into_iter()
        .filter(|f| !f.ends_with("every_field.stats.json"))
        .collect();
    assert!(files.len() >= 8, "{files:?}");
    for file in files {
        let stats = DatasetStatistics::load_file(&file).unwrap();
        assert!(stats.num_examples() > 0, "{}", file.display());
        assert!(!stats.features.is_empty(), "{}", file.display());
        let again = DatasetStatistics::from_tfmd_json(&stats.to_tfmd_json().unwrap()).unwrap();
        assert_eq!(again, stats, "{}", file.display());
    }
}

fn anomaly_set(anomalies: &Anomalies) -> BTreeSet<(String, String)> {
    anomalies
        .iter()
        .map(|a| (a.feature.clone(), a.kind.name().to_string()))
        .collect()
}

/// TFDV reports a feature that became partly missing twice (the schema's
/// `shape {dim {size: 1}}` no longer holds, and presence is too low); mlrig
/// reports the presence anomaly only.
const SHAPE_ONLY_IN_TFDV: &str = "INVALID_FEATURE_SHAPE";

#[test]
fn tfdv_anomalies_load_and_mlrig_finds_the_same_ones_with_tfdv_schema() {
    let text = std::fs::read_to_string(fixture("adult_shifted.anomalies.json")).unwrap();
    let tfdv = Anomalies::from_tfmd_json(&text).unwrap();
    let tfdv_set = anomaly_set(&tfdv);
    let expected: BTreeSet<(String, String)> = [
        ("device", "SCHEMA_NEW_COLUMN"),
        ("fnlwgt", "SCHEMA_MISSING_COLUMN"),
        ("hours-per-week", "FEATURE_TYPE_LOW_FRACTION_PRESENT"),
        ("hours-per-week", SHAPE_ONLY_IN_TFDV),
        ("workclass", "ENUM_TYPE_UNEXPECTED_STRING_VALUES"),
    ]
    .into_iter()
    .map(|(f, k)| (f.to_string(), k.to_string()))
    .collect();
    assert_eq!(tfdv_set, expected);

    let schema = Schema::load(&fixture("adult_sample.schema.pbtxt")).unwrap();
    let table = read_raw_from(&sample_path("adult_shifted.csv"), &[""]);
    let (batch_schema, batches) = to_batches(&table, 128);
    let mlrig = validate_batches(
        &schema,
        &batch_schema,
        &batches,
        &ValidationOptions::default(),
    )
    .unwrap();
    let without_shape: BTreeSet<_> = tfdv_set
        .into_iter()
        .filter(|(_, kind)| kind != SHAPE_ONLY_IN_TFDV)
        .collect();
    assert_eq!(anomaly_set(&mlrig), without_shape, "{mlrig}");
}

fn relative_difference(a: f64, b: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    (a - b).abs() / a.abs().max(b.abs())
}

/// The table as TFDV sees it: its CSV decoder reads floating-point columns as
/// `float32`, so every statistic (min, max, mean, ...) is of the f32-rounded
/// values. Integer and string columns are unchanged.
fn as_tfdv_reads_it(mut table: RawTable) -> RawTable {
    for c in 0..table.header.len() {
        let present = || table.rows.iter().filter_map(|r| r[c].as_deref());
        let floats = !present().all(|v| v.parse::<i64>().is_ok())
            && present().all(|v| v.parse::<f64>().is_ok());
        if floats {
            for row in &mut table.rows {
                if let Some(cell) = row[c].as_mut() {
                    *cell = format!("{:?}", f64::from(cell.parse::<f64>().unwrap() as f32));
                }
            }
        }
    }
    table
}

/// Sorted non-missing values of a numeric column.
fn sorted_values(table: &RawTable, name: &str) -> Vec<f64> {
    let mut values: Vec<f64> = table
        .column(name)
        .into_iter()
        .flatten()
        .map(|v| v.parse::<f64>().unwrap())
        .filter(|v| !v.is_nan())
        .collect();
    values.sort_by(f64::total_cmp);
    values
}

/// TFDV's quantiles come from a sketch with rank error ε = 0.01 (its
/// default), so its q-quantile is a sample value whose rank is within
/// `ε·n + 1` of `q·(n − 1)`.
const TFDV_QUANTILE_RANK_ERROR: f64 = 0.01;

/// Checks the q-quantile estimates of both libraries against the exact
/// sample: mlrig's is within `QUANTILE_RELATIVE_ACCURACY` of the sample value
/// of rank `⌊q·(n − 1)⌋` (its documented definition), TFDV's lies between the
/// sample values `ε·n + 1` ranks either side.
fn quantile_problem(values: &[f64], q: f64, tfdv: f64, mlrig: f64) -> Option<String> {
    let n = values.len();
    let rank = (q * (n - 1) as f64).floor() as usize;
    let exact = values[rank];
    let mut problems = Vec::new();
    if (mlrig - exact).abs() > QUANTILE_RELATIVE_ACCURACY * exact.abs() {
        problems.push(format!(
            "mlrig {mlrig} not within α of sample value {exact}"
        ));
    }
    let slack = (TFDV_QUANTILE_RANK_ERROR * n as f64).ceil() as usize + 1;
    let (lo, hi) = (
        values[rank.saturating_sub(slack)],
        values[(rank + slack).min(n - 1)],
    );
    if !(lo..=hi).contains(&tfdv) {
        problems.push(format!("TFDV {tfdv} outside [{lo}, {hi}]"));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Every difference between mlrig's statistics of `csv` and TFDV's
/// `stats_file` (empty when they agree).
fn differences_from_tfdv(csv: &str, stats_file: &Path) -> Vec<String> {
    let tfdv = DatasetStatistics::load_file(stats_file).unwrap();
    let table = as_tfdv_reads_it(read_raw_from(csv, &[""]));
    let (batch_schema, batches) = to_batches(&table, 500);
    let mlrig = compute_statistics(&batches, &batch_schema, &StatisticsParams::default()).unwrap();
    let mut out = Vec::new();
    let mut check = |feature: &str, what: &str, ok: bool, detail: String| {
        if !ok {
            out.push(format!("{csv}: {feature}: {what}: {detail}"));
        }
    };
    check(
        "",
        "num_examples",
        tfdv.num_examples() == mlrig.num_examples(),
        format!("{} vs {}", tfdv.num_examples(), mlrig.num_examples()),
    );
    for t in &tfdv.features {
        let name = t.name.as_str();
        let Some(m) = mlrig.feature(name) else {
            check(name, "feature", false, "missing in mlrig".into());
            continue;
        };
        check(
            name,
            "type",
            t.feature_type == m.feature_type,
            format!("{:?} vs {:?}", t.feature_type, m.feature_type),
        );
        let (tc, mc) = (t.common().unwrap(), m.common().unwrap());
        check(
            name,
            "num_non_missing",
            tc.num_non_missing == mc.num_non_missing,
            format!("{} vs {}", tc.num_non_missing, mc.num_non_missing),
        );
        check(
            name,
            "num_missing",
            tc.num_missing == mc.num_missing,
            format!("{} vs {}", tc.num_missing, mc.num_missing),
        );
        match (&t.stats, &m.stats) {
            (ValueStatistics::Numeric(tn), ValueStatistics::Numeric(mn)) => {
                for (what, a, b) in [("min", tn.min, mn.min), ("max", tn.max, mn.max)] {
                    check(name, what, a == b, format!("{a} vs {b}"));
                }
                check(
                    name,
                    "num_zeros",
                    tn.num_zeros == mn.num_zeros,
                    format!("{} vs {}", tn.num_zeros, mn.num_zeros),
                );
                for (what, a, b) in [
                    ("mean", tn.mean, mn.mean),
                    ("std_dev", tn.std_dev, mn.std_dev),
                ] {
                    check(
                        name,
                        what,
                        relative_difference(a, b) <= 1e-9,
                        format!("{a} vs {b}"),
                    );
                }
                let values = sorted_values(&table, name);
                if let Some(problem) = quantile_problem(&values, 0.5, tn.median, mn.median) {
                    check(name, "median", false, problem);
                }
                let quantiles = |n: &NumericStatistics| -> Vec<f64> {
                    n.histogram(HistogramType::Quantiles)
                        .map(|h| h.buckets.iter().map(|b| b.high_value).collect())
                        .unwrap_or_default()
                };
                let (tq, mq) = (quantiles(tn), quantiles(mn));
                check(
                    name,
                    "quantiles buckets",
                    tq.len() == 10 && mq.len() == 10,
                    format!("{} vs {}", tq.len(), mq.len()),
                );
                for (i, (a, b)) in tq.iter().zip(&mq).enumerate().take(9) {
                    let q = (i + 1) as f64 / 10.0;
                    if let Some(problem) = quantile_problem(&values, q, *a, *b) {
                        check(name, &format!("quantile {q}"), false, problem);
                    }
                }
            }
            (ValueStatistics::String(ts), ValueStatistics::String(ms)) => {
                check(
                    name,
                    "unique",
                    ts.unique == ms.unique,
                    format!("{} vs {}", ts.unique, ms.unique),
                );
                check(
                    name,
                    "avg_length",
                    relative_difference(f64::from(ts.avg_length), f64::from(ms.avg_length)) <= 1e-6,
                    format!("{} vs {}", ts.avg_length, ms.avg_length),
                );
                // Frequencies in rank order are equal; values with equal
                // frequency may be listed in another order, so each mlrig top
                // value is checked against TFDV's count of that value.
                let freqs = |s: &StringStatistics| -> Vec<f64> {
                    s.top_values.iter().map(|v| v.frequency).collect()
                };
                check(
                    name,
                    "top_values frequencies",
                    freqs(ts) == freqs(ms),
                    format!("{:?} vs {:?}", freqs(ts), freqs(ms)),
                );
                let tfdv_count = |value: &str| {
                    ts.rank_histogram.as_ref().and_then(|h| {
                        h.buckets
                            .iter()
                            .find(|b| b.label == value)
                            .map(|b| b.sample_count)
                    })
                };
                for top in &ms.top_values {
                    check(
                        name,
                        "top value",
                        tfdv_count(&top.value) == Some(top.frequency),
                        format!(
                            "`{}` x{} vs TFDV {:?}",
                            top.value,
                            top.frequency,
                            tfdv_count(&top.value)
                        ),
                    );
                }
            }
            (a, b) => check(name, "statistics kind", false, format!("{a:?} vs {b:?}")),
        }
    }
    out
}

#[test]
fn mlrig_statistics_match_tfdv_on_the_sample_files() {
    let mut differences = Vec::new();
    for name in ["adult_sample", "adult_shifted", "california_sample"] {
        differences.extend(differences_from_tfdv(
            &sample_path(&format!("{name}.csv")),
            &fixture(&format!("{name}.stats.json")),
        ));
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn mlrig_statistics_match_tfdv_on_the_small_shared_files() {
    let Ok(dir) = std::env::var("MLRIG_DATA_DIR") else {
        eprintln!(
            "SKIPPED: mlrig_statistics_match_tfdv_on_the_small_shared_files needs the full \
             data sets; set MLRIG_DATA_DIR=../shared/data"
        );
        return;
    };
    let mut differences = Vec::new();
    for name in ["iris", "wine", "penguins", "diabetes", "breast_cancer"] {
        differences.extend(differences_from_tfdv(
            &format!("{dir}/{name}.csv"),
            &fixture(&format!("{name}.stats.json")),
        ));
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
