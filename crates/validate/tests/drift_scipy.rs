//! Drift tests and comparator metrics against scipy (fixture written by
//! `tests/fixtures/make_scipy_drift.py`, scipy 1.17.1).
//!
//! KS statistic, χ² statistic and p-value, and the Jensen–Shannon divergence
//! agree to 1e-9 on the same (binned) inputs; the asymptotic KS p-value
//! agrees with `scipy.stats.kstwobign.sf` to 1e-9; Wasserstein agrees within
//! the sketch's stated error bound. TFDV's approximate JSD on the Adult
//! samples' `STANDARD` histograms matches a Python transcription of TFDV's
//! `metrics.cc` (scipy's JS distance on the re-bucketed counts) to 1e-9.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use mlrig_core::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use mlrig_validate::*;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scipy_drift.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn statistics(column: ArrayRef) -> DatasetStatistics {
    let batch = RecordBatch::try_from_iter([("x", column)]).unwrap();
    // Two batches, to go through a merge as well.
    let (a, b) = (
        batch.slice(0, batch.num_rows() / 2),
        batch.slice(
            batch.num_rows() / 2,
            batch.num_rows() - batch.num_rows() / 2,
        ),
    );
    compute_statistics(&[a, b], &batch.schema(), &StatisticsParams::default()).unwrap()
}

fn int_statistics(values: &Value) -> DatasetStatistics {
    let ints: Vec<i64> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    statistics(Arc::new(Int64Array::from(ints)))
}

fn string_statistics(values: &Value) -> DatasetStatistics {
    let strings: Vec<&str> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    statistics(Arc::new(StringArray::from(strings)))
}

fn assert_close(name: &str, what: &str, got: f64, expected: f64, relative: f64) {
    let tolerance = relative * expected.abs().max(f64::MIN_POSITIVE);
    assert!(
        (got - expected).abs() <= tolerance || got == expected,
        "{name}: {what}: got {got:e}, scipy {expected:e}"
    );
}

fn result(results: &[DriftTestResult], test: DriftTest) -> &DriftTestResult {
    results.iter().find(|r| r.test == test).unwrap()
}

#[test]
fn numeric_drift_tests_match_scipy() {
    let fixture = fixture();
    let cases = fixture["numeric"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let reference = int_statistics(&case["reference"]);
        let current = int_statistics(&case["current"]);
        let results = drift_tests(&reference, &current, &DriftTestParams::default()).unwrap();

        let ks = result(&results, DriftTest::KolmogorovSmirnov);
        let d = case["ks_statistic"].as_f64().unwrap();
        assert!(
            (ks.statistic - d).abs() <= 1e-9,
            "{name}: D {} vs {d}",
            ks.statistic
        );
        let p = case["ks_p_value_asymptotic"].as_f64().unwrap();
        assert_close(name, "KS p-value", ks.p_value.unwrap(), p, 1e-9);
        assert_eq!(ks.drift_detected, p < 0.05, "{name}");

        let psi = result(&results, DriftTest::PopulationStabilityIndex);
        let expected_psi = case["psi"].as_f64().unwrap();
        assert_close(name, "PSI", psi.statistic, expected_psi, 1e-9);

        // W₁ from the sketch moves each value by at most α·|x|.
        let wasserstein = result(&results, DriftTest::NormalizedWasserstein);
        let std = case["reference_std"].as_f64().unwrap();
        let w1 = case["wasserstein"].as_f64().unwrap();
        let bound = QUANTILE_RELATIVE_ACCURACY
            * (case["mean_abs_reference"].as_f64().unwrap()
                + case["mean_abs_current"].as_f64().unwrap())
            / std;
        assert!(
            (wasserstein.statistic - w1 / std).abs() <= bound + 1e-12,
            "{name}: W1/σ {} vs scipy {} (bound {bound})",
            wasserstein.statistic,
            w1 / std
        );
    }
}

#[test]
fn chi_squared_drift_test_matches_scipy() {
    let fixture = fixture();
    for case in fixture["categorical"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let reference = string_statistics(&case["reference"]);
        let current = string_statistics(&case["current"]);
        let results = drift_tests(&reference, &current, &DriftTestParams::default()).unwrap();
        let chi2 = result(&results, DriftTest::ChiSquared);
        let statistic = case["chi2_statistic"].as_f64().unwrap();
        let p = case["chi2_p_value"].as_f64().unwrap();
        assert_close(name, "chi² statistic", chi2.statistic, statistic, 1e-9);
        assert_close(name, "chi² p-value", chi2.p_value.unwrap(), p, 1e-9);
        assert_eq!(chi2.drift_detected, p < 0.05);
    }
    for case in fixture["chi2"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (statistic, p) = chi_squared(&floats(&case["observed"]), &floats(&case["expected"]));
        assert_close(
            name,
            "statistic",
            statistic,
            case["statistic"].as_f64().unwrap(),
            1e-9,
        );
        assert_close(name, "p-value", p, case["p_value"].as_f64().unwrap(), 1e-9);
    }
}

#[test]
fn jensen_shannon_divergence_matches_scipy_on_the_same_bins() {
    let fixture = fixture();
    for case in fixture["binned"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let histogram = |counts: Vec<f64>| Histogram {
            buckets: counts
                .iter()
                .enumerate()
                .map(|(i, c)| HistogramBucket {
                    unmodelled: Default::default(),
                    low_value: i as f64,
                    high_value: (i + 1) as f64,
                    sample_count: *c,
                })
                .collect(),
            ..Histogram::default()
        };
        let got = jensen_shannon_divergence(
            &histogram(floats(&case["p"])),
            &histogram(floats(&case["q"])),
        )
        .unwrap();
        let expected = case["jsd"].as_f64().unwrap();
        assert!(
            (got - expected).abs() <= 1e-9,
            "{name}: {got} vs {expected}"
        );
    }
}

#[test]
fn tfdv_jensen_shannon_divergence_on_adult_histograms_matches_the_reference() {
    let stats = |file: &str| {
        let (_, schema, batches) = common::read_batches(file, 1000);
        compute_statistics(&batches, &schema, &StatisticsParams::default()).unwrap()
    };
    let (train, shifted) = (stats("adult_sample.csv"), stats("adult_shifted.csv"));
    let fixture = fixture();
    let cases = fixture["adult_jsd"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let name = case["feature"].as_str().unwrap();
        let histogram = |s: &DatasetStatistics| {
            s.feature(name)
                .unwrap()
                .numeric()
                .unwrap()
                .histogram(HistogramType::Standard)
                .unwrap()
                .clone()
        };
        let got = jensen_shannon_divergence(&histogram(&train), &histogram(&shifted)).unwrap();
        let expected = case["jsd"].as_f64().unwrap();
        assert!(
            (got - expected).abs() <= 1e-9,
            "{name}: {got} vs {expected}"
        );
    }
}
