//! Bounded memory under adversarial cardinality (issue 14, part 4): a
//! column of unique strings through `stats`, `infer-schema`, `features fit`
//! (a capped vocabulary, and hashing) and `drift`, measuring each child's
//! peak resident set (`VmHWM` in `/proc/<pid>/status`, Linux only).
//!
//! * **flat**: the peak at `N` rows exceeds the peak at `N/2` rows by less
//!   than what unbounded code must add for the extra `N/2` rows: keeping one
//!   entry per distinct value costs at least [`BYTES_PER_UNIQUE`] (a
//!   `String` header, its bytes, a map node), and holding the whole file (as
//!   `features fit` did) at least [`BYTES_PER_ROW`] (the Arrow columns of a
//!   row). The feature specs set `max_distinct_values` to 4,096 — the same
//!   cap logic as the default 65,536, reached at this small `N` — so both
//!   sizes run with full counters (`stats`, `infer-schema` and `drift` count
//!   at most 1,000 distinct strings, mlrig-validate's cap). `--threads 1`
//!   keeps the number of batches in flight, and so the run-to-run noise,
//!   small (about 1–3 MB; up to 10 MB with two threads).
//! * **absolute**: every peak stays under [`CAP_MB`], the issue's 200 MB.
//!
//! `scripts/bench_cardinality.py` runs the same verbs on 10M rows with the
//! release binary (figures in `docs/benchmarks.md`).

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// Rows of the large file (the small one has half).
const ROWS: usize = 400_000;
/// The least an unbounded counter keeps per distinct string.
const BYTES_PER_UNIQUE: f64 = 60.0;
/// The least a reader that holds the whole file keeps per row (the `id`
/// bytes and offset, `x`, `city` and `y`: ≈ 49 bytes).
const BYTES_PER_ROW: f64 = 40.0;
/// The issue's cap on any verb's peak resident set.
const CAP_MB: f64 = 200.0;

/// Streams a CSV of `rows` rows: `id` unique (the adversarial column), `x`
/// numeric, `city` with 50 values, `y` a 0/1 target.
fn write_csv(path: &Path, rows: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,x,city,y").unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..rows {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let x = (state >> 40) as f64 / 16_777_216.0 * 100.0;
        writeln!(
            out,
            "user-{i:08}-{:06x},{x:.3},c{},{}",
            state >> 40,
            i % 50,
            u8::from(x > 50.0)
        )
        .unwrap();
    }
    out.flush().unwrap();
}

/// `VmHWM` of a live process, in MB.
fn peak_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs `mlrig --threads 1 args` to completion (status 0 or 1), polling its peak resident
/// set; returns the last (largest) value read.
fn peak_of(args: &[String]) -> f64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlrig"))
        .args(["--threads", "1"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0.0f64;
    loop {
        if let Some(mb) = peak_mb(child.id()) {
            peak = peak.max(mb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
            }
            // 1: the data failed the check (drift found), still a full run.
            assert!(
                matches!(status.code(), Some(0 | 1)),
                "mlrig {args:?}: {status}\n{stderr}"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(peak > 0.0, "no /proc reading for mlrig {args:?}");
    peak
}

/// The verbs measured, on `data` (and `other` for drift), writing into `dir`.
/// Each verb with the least bytes per extra row its unbounded form keeps.
fn verbs(data: &str, other: &str, dir: &Path) -> Vec<(&'static str, f64, Vec<String>)> {
    let vocabulary = dir.join("vocabulary.json");
    std::fs::write(
        &vocabulary,
        r#"{"columns": [
            {"name": "id", "encode": {"vocabulary": {"top_k": 1000, "oov_buckets": 8}}},
            {"name": "city", "encode": "one_hot"},
            {"name": "x", "encode": "min_max_scale"}],
            "max_distinct_values": 4096}"#,
    )
    .unwrap();
    let hashing = dir.join("hashing.json");
    std::fs::write(
        &hashing,
        r#"{"columns": [
            {"name": "id", "impute": {"constant": "?"}, "encode": {"hash": {"buckets": 1024}}},
            {"name": "city", "impute": "most_frequent", "encode": {"hash": {"buckets": 16}}},
            {"name": "x", "encode": "robust_scale"}],
            "max_distinct_values": 4096}"#,
    )
    .unwrap();
    let out = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        (
            "stats",
            BYTES_PER_UNIQUE,
            strings(&["stats", data, "--format", "json"]),
        ),
        (
            "infer-schema",
            BYTES_PER_UNIQUE,
            strings(&["infer-schema", data, "--format", "json"]),
        ),
        (
            "features fit (vocabulary top_k)",
            BYTES_PER_UNIQUE + BYTES_PER_ROW,
            strings(&[
                "features",
                "fit",
                data,
                "--spec",
                &vocabulary.to_string_lossy(),
                "--out",
                &out("vocabulary.out.json"),
            ]),
        ),
        (
            "features fit (hash)",
            BYTES_PER_ROW,
            strings(&[
                "features",
                "fit",
                data,
                "--spec",
                &hashing.to_string_lossy(),
                "--out",
                &out("hashing.out.json"),
            ]),
        ),
        (
            "drift",
            BYTES_PER_UNIQUE,
            strings(&[
                "drift",
                "--reference",
                data,
                "--current",
                other,
                "--format",
                "json",
            ]),
        ),
    ]
}

#[test]
fn unique_strings_keep_every_verb_flat_and_under_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.csv");
    let large = dir.path().join("large.csv");
    write_csv(&small, ROWS / 2);
    write_csv(&large, ROWS);
    let (small, large) = (
        small.to_string_lossy().into_owned(),
        large.to_string_lossy().into_owned(),
    );
    let mut report = String::new();
    let mut failures = Vec::new();
    let at_small = verbs(&small, &small, dir.path());
    let at_large = verbs(&large, &small, dir.path());
    for ((name, per_row, small_args), (_, _, large_args)) in at_small.iter().zip(&at_large) {
        let low = peak_of(small_args);
        let high = peak_of(large_args);
        let margin = (ROWS / 2) as f64 * per_row / 1_048_576.0;
        let line = format!(
            "{name}: {low:.1} MB at {} rows, {high:.1} MB at {ROWS} rows (may grow < {margin:.1} MB)\n",
            ROWS / 2
        );
        eprint!("{line}");
        report.push_str(&line);
        if high - low >= margin || high > CAP_MB {
            failures.push(*name);
        }
    }
    assert!(
        failures.is_empty(),
        "memory grows with the number of unique strings for {failures:?}:\n{report}"
    );

    // The fits are real: `city` (50 values) is exact next to the capped `id`.
    let fitted = read_json(&dir.path().join("vocabulary.out.json")).to_string();
    assert!(
        (0..50).all(|c| fitted.contains(&format!("\"c{c}\""))),
        "{fitted:.300}"
    );
}

#[test]
fn one_hot_of_unique_strings_is_a_clear_error_not_unbounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.csv");
    write_csv(&data, 5_000);
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{"columns": [{"name": "id", "encode": "one_hot"}], "max_distinct_values": 1000}"#,
    )
    .unwrap();
    let out = dir.path().join("out.json");
    let output = mlrig([
        std::ffi::OsStr::new("features"),
        "fit".as_ref(),
        data.as_os_str(),
        "--spec".as_ref(),
        spec.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_status(&output, 2);
    let line = assert_one_line_error(&output);
    assert!(
        line.contains("column `id`: more than 1000 distinct training values")
            && line.contains("top_k"),
        "{line}"
    );
    assert!(!out.exists());
}
