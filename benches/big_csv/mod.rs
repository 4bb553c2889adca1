//! The 1,000,000-row synthetic file of `../shared/tools/make_big.py`,
//! which the `*_1m` benchmarks read when `MLRIG_BENCH_BIG_CSV` names it
//! (reading it is never timed).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use mlrig::core::arrow_array::RecordBatch;
use mlrig::core::arrow_schema::SchemaRef;
use mlrig::ingest::{ReadOptions, read_csv};
use std::time::Duration;

/// Environment variable naming the big synthetic CSV.
pub const VAR: &str = "MLRIG_BENCH_BIG_CSV";

/// The file as `read_csv` returns it with default options, with its row
/// count; `None`, after a loud `SKIPPED <bench>` line, when [`VAR`] is unset.
pub fn read(bench: &str) -> Option<(SchemaRef, Vec<RecordBatch>, usize)> {
    let Some(path) = std::env::var_os(VAR) else {
        eprintln!(
            "SKIPPED {bench}: set {VAR} to the CSV of \
             `make_big.py --rows 1000000` (see docs/benchmarks.md)"
        );
        return None;
    };
    let (schema, batches, _) = read_csv(&path, ReadOptions::default())
        .unwrap_or_else(|e| panic!("{VAR}={}: {e}", path.to_string_lossy()));
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    Some((schema, batches, rows))
}

/// A benchmark group for whole passes over the file's `rows` rows: flat
/// sampling, 10 samples in 10 seconds of measurement.
pub fn group<'a>(c: &'a mut Criterion, name: &str, rows: usize) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(rows as u64));
    group
}
