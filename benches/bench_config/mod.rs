//! The Criterion settings every mlrig benchmark uses: 20 samples after a
//! one-second warm-up, three seconds of measurement, so that a full
//! `cargo bench` stays short on a small machine.

use criterion::Criterion;
use std::time::Duration;

/// The shared Criterion configuration (used as `config = bench_config::criterion()`).
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
