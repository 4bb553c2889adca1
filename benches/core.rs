//! Benchmarks of `mlrig-core`'s hot path: the exact, order-independent float
//! sum every accumulator uses (`ExactSum::add`, `ExactSum::merge`).
//!
//! Run with `cargo bench --bench core`; results land in
//! `target/criterion/exact_sum/<bench>/new/estimates.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod bench_config;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mlrig::core::ExactSum;
use std::hint::black_box;

const VALUES: usize = 1_000_000;

/// Deterministic values spread over many magnitudes and both signs (a
/// xorshift64 stream), the hard case for an exact sum: the carries land in
/// many different digits.
fn mixed_values(count: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Mantissa in [1, 2), exponent in [-20, 20), random sign.
            let mantissa = 1.0 + (state >> 11) as f64 / (1u64 << 53) as f64;
            let exponent = ((state >> 3) % 40) as i32 - 20;
            let sign = if state & 1 == 0 { 1.0 } else { -1.0 };
            sign * mantissa * libm::ldexp(1.0, exponent)
        })
        .collect()
}

fn sum_of(values: &[f64]) -> ExactSum {
    let mut sum = ExactSum::default();
    for &v in values {
        sum.add(v);
    }
    sum
}

fn exact_sum(c: &mut Criterion) {
    let values = mixed_values(VALUES, 0x9E37_79B9_7F4A_7C15);
    let mut group = c.benchmark_group("exact_sum");
    group.throughput(Throughput::Elements(VALUES as u64));
    group.bench_function("add_1m", |b| {
        b.iter(|| black_box(sum_of(black_box(&values))).value())
    });
    // The naive (order-dependent, rounding) sum, for scale.
    group.bench_function("naive_f64_sum_1m", |b| {
        b.iter(|| black_box(&values).iter().sum::<f64>())
    });
    group.finish();

    let (left, right) = values.split_at(VALUES / 2);
    let (left, right) = (sum_of(left), sum_of(right));
    let mut group = c.benchmark_group("exact_sum");
    group.throughput(Throughput::Elements(1));
    group.bench_function("merge", |b| {
        b.iter_batched_ref(
            || left.clone(),
            |sum| sum.merge(black_box(&right)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = bench_config::criterion();
    targets = exact_sum
}
criterion_main!(benches);
