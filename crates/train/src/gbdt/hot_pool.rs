//! Runs a fit on a private thread pool whose other workers wait hot.
//!
//! A fit is a chain of short parallel steps (a histogram, a partition, a
//! round's gradients), tens of thousands of them on a large file. Rayon
//! workers with nothing to do go to sleep, and waking one costs more than
//! a small step saves (on a virtual machine, a sleeping vCPU takes tens of
//! microseconds to come back), so a small fit ran no faster on two threads
//! than on one. OpenMP, which LightGBM uses, spins between parallel regions
//! for the same reason. Here, for the length of one fit, every worker but
//! the fitting one runs a waiter that executes whatever work appears and
//! otherwise yields its core (`sched_yield`, so other processes still run).
//!
//! The pool is private, so only this fit's jobs run on it, and the fit
//! starts only after every waiter has started: a waiter is then always the
//! bottom job of its worker, never picked up by a worker in the middle of a
//! job that the fit waits for (which would block until the fit ended).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// `fit()` on a private pool of `rayon::current_num_threads()` workers
/// whose others wait hot; on the current pool when that is one thread or
/// a pool cannot be built.
pub(super) fn run_hot<R: Send>(fit: impl FnOnce() -> R + Send) -> R {
    let threads = rayon::current_num_threads();
    if threads < 2 {
        return fit();
    }
    let Ok(pool) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("mlrig-gbdt-{i}"))
        .build()
    else {
        return fit();
    };
    let done = AtomicBool::new(false);
    let started = AtomicUsize::new(0);
    pool.install(|| {
        rayon::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(|_| {
                    started.fetch_add(1, Ordering::AcqRel);
                    while !done.load(Ordering::Acquire) {
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::thread::yield_now();
                        }
                    }
                });
            }
            while started.load(Ordering::Acquire) < threads - 1 {
                std::thread::yield_now();
            }
            let result = fit();
            done.store(true, Ordering::Release);
            result
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use rayon::prelude::*;

    use super::*;

    #[test]
    fn parallel_work_inside_gives_the_same_result_on_any_pool() {
        let work = || {
            (0..100_000u64)
                .into_par_iter()
                .map(|i| i * i % 7)
                .sum::<u64>()
        };
        let expected = work();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            assert_eq!(pool.install(|| run_hot(work)), expected);
            assert_eq!(
                pool.install(|| run_hot(rayon::current_num_threads)),
                threads
            );
        }
    }

    #[test]
    fn concurrent_fits_finish() {
        let sums: Vec<u64> = (0..8)
            .into_par_iter()
            .map(|k| run_hot(|| (0..10_000u64).into_par_iter().map(|i| i ^ k).sum::<u64>()))
            .collect();
        assert_eq!(sums.len(), 8);
    }
}
