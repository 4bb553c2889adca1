//! Benchmarks of `mlrig-ingest`: `read_csv` (type inference, parsing, Arrow
//! batches) of the shipped Adult sample and of a larger synthetic file.
//!
//! Run with `cargo bench --bench ingest`; results land in
//! `target/criterion/ingest/<bench>/new/estimates.json`.
//!
//! The synthetic file (200,000 rows, deterministic) is written once into a
//! temporary directory, or into `$MLRIG_BENCH_CSV_DIR` when that is set (so
//! `scripts/bench_peers.py` can time pandas on the very same bytes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod bench_config;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlrig::ingest::{ReadOptions, read_csv};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};

const ADULT_SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/samples/adult_sample.csv");
const SYNTHETIC_ROWS: usize = 200_000;
const SYNTHETIC_NAME: &str = "synthetic_200k.csv";

const SECTORS: [&str; 8] = [
    "Private",
    "Self-emp-not-inc",
    "Self-emp-inc",
    "Federal-gov",
    "Local-gov",
    "State-gov",
    "Without-pay",
    "Never-worked",
];
const CITIES: [&str; 12] = [
    "Amsterdam",
    "Berlin",
    "Chicago",
    "Delhi",
    "Lagos",
    "Lima",
    "Madrid",
    "Oslo",
    "Osaka",
    "Paris",
    "Seoul",
    "Toronto",
];

/// A deterministic adult-like CSV: integers, fixed-point decimals (written
/// from integers, so every language formats them identically), low- and
/// mid-cardinality strings, booleans, and `?` / empty missing values.
fn synthetic_csv(rows: usize) -> String {
    let mut out = String::with_capacity(rows * 64);
    out.push_str("id,age,income,score,sector,city,member,label\n");
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for id in 0..rows {
        let (a, b, c) = (next(), next(), next());
        let age = 17 + a % 74;
        let income_cents = b % 25_000_000;
        let score_milli = (c % 2_000_001) as i64 - 1_000_000;
        let sector = SECTORS[(a >> 8) as usize % SECTORS.len()];
        let city = CITIES[(b >> 8) as usize % CITIES.len()];
        let member = (c >> 8) & 1 == 1;
        let label = if income_cents > 12_500_000 {
            ">50K"
        } else {
            "<=50K"
        };
        // About 2% missing ages ("?") and 1% missing sectors ("").
        let age = if a % 50 == 0 {
            "?".to_string()
        } else {
            age.to_string()
        };
        let sector = if b % 100 == 0 { "" } else { sector };
        let sign = if score_milli < 0 { "-" } else { "" };
        let score = score_milli.unsigned_abs();
        writeln!(
            out,
            "{id},{age},{}.{:02},{sign}{}.{:03},{sector},{city},{member},{label}",
            income_cents / 100,
            income_cents % 100,
            score / 1000,
            score % 1000,
        )
        .unwrap();
    }
    out
}

/// Writes the synthetic file; the returned guard keeps a temporary directory alive.
fn write_synthetic() -> (PathBuf, Option<tempfile::TempDir>) {
    let text = synthetic_csv(SYNTHETIC_ROWS);
    let (dir, guard) = match std::env::var_os("MLRIG_BENCH_CSV_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            (PathBuf::from(dir), None)
        }
        None => {
            let guard = tempfile::tempdir().unwrap();
            (guard.path().to_path_buf(), Some(guard))
        }
    };
    let path = dir.join(SYNTHETIC_NAME);
    std::fs::write(&path, text).unwrap();
    (path, guard)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Reads the whole file and checks every row was accepted (a bench of a
/// reader that quarantines everything would be meaningless).
fn read_all(path: &Path, expected_rows: usize) -> usize {
    let (_, batches, report) = read_csv(path, ReadOptions::default()).unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, expected_rows, "{:?}", report.summary);
    rows
}

fn ingest(c: &mut Criterion) {
    let adult_rows = read_all(Path::new(ADULT_SAMPLE), 4_071);
    let (synthetic, _guard) = write_synthetic();
    read_all(&synthetic, SYNTHETIC_ROWS);

    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Bytes(file_len(Path::new(ADULT_SAMPLE))));
    group.bench_function("read_csv_adult_sample", |b| {
        b.iter(|| read_all(black_box(Path::new(ADULT_SAMPLE)), adult_rows))
    });
    group.throughput(Throughput::Bytes(file_len(&synthetic)));
    group.bench_function("read_csv_synthetic_200k", |b| {
        b.iter(|| read_all(black_box(&synthetic), SYNTHETIC_ROWS))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = bench_config::criterion();
    targets = ingest
}
criterion_main!(benches);
