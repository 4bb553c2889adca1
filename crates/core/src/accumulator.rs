//! [`Accumulator`]: one streaming pass over record batches, mergeable exactly.

use arrow_array::RecordBatch;
use rayon::prelude::*;
use serde::{Serialize, de::DeserializeOwned};

/// A streaming summary of record batches: statistics, vocabularies, sketches,
/// transform analyzers.
///
/// Contract: for any split of the data into parts, accumulating each part and
/// merging the results in any order gives the same [`finish`](Accumulator::finish)
/// output **bit for bit** as one pass over all the data. Implementations keep
/// counts, integer-bucket sketches and [`ExactSum`](crate::ExactSum)s rather than
/// order-dependent floating-point state.
///
/// ```
/// use mlrig_core::{Accumulator, ExactSum, Result};
/// use mlrig_core::arrow_array::{Float64Array, RecordBatch, cast::AsArray, types::Float64Type};
/// use std::sync::Arc;
///
/// /// Sum of column 0.
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// struct Total(ExactSum);
///
/// impl Accumulator for Total {
///     type Output = f64;
///     type Error = mlrig_core::Error;
///     fn update(&mut self, batch: &RecordBatch) -> Result<()> {
///         for v in batch.column(0).as_primitive::<Float64Type>().iter().flatten() {
///             self.0.add(v);
///         }
///         Ok(())
///     }
///     fn merge(&mut self, other: Self) -> Result<()> {
///         self.0.merge(&other.0);
///         Ok(())
///     }
///     fn finish(self) -> f64 {
///         self.0.value()
///     }
/// }
///
/// let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![0.1, 0.2, 0.3])) as _)]).unwrap();
/// let total = mlrig_core::accumulate_par(Total::default, &[batch.clone(), batch]).unwrap();
/// assert_eq!(total.finish(), 1.2);
/// ```
pub trait Accumulator: Sized + Serialize + DeserializeOwned {
    /// The finished summary.
    type Output;
    /// The error `update` and `merge` report.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Adds one batch.
    fn update(&mut self, batch: &RecordBatch) -> Result<(), Self::Error>;

    /// Adds everything `other` has seen; fails if the two were configured differently.
    fn merge(&mut self, other: Self) -> Result<(), Self::Error>;

    /// The summary of everything seen.
    fn finish(self) -> Self::Output;
}

/// Accumulates `batches` in parallel (rayon) with fresh accumulators from
/// `init` and merges the parts. Because merge is exact, the result does not
/// depend on how rayon splits the work.
///
/// ```
/// # use mlrig_core::{accumulate_par, Accumulator};
/// // see the `Accumulator` example
/// ```
pub fn accumulate_par<A, F>(init: F, batches: &[RecordBatch]) -> Result<A, A::Error>
where
    A: Accumulator + Send,
    F: Fn() -> A + Sync + Send,
{
    batches
        .par_iter()
        .try_fold(&init, |mut acc, batch| {
            acc.update(batch)?;
            Ok(acc)
        })
        .try_reduce(&init, |mut left, right| {
            left.merge(right)?;
            Ok(left)
        })
}

/// Accumulates a *stream* of batches on the rayon pool while the caller keeps
/// producing them (e.g. parsing the next batch of a file), with at most one
/// batch per pool thread in flight so memory stays bounded. Like
/// [`accumulate_par`], the result is the same as one sequential pass because
/// merges are exact.
///
/// Called from inside a rayon pool thread, waiting for pool tasks could
/// deadlock, so batches are then accumulated in place on the calling thread.
/// An update error surfaces at the next [`push`](Self::push) or at
/// [`finish`](Self::finish). A panicking update aborts the process (rayon's
/// default for spawned tasks), so no state is silently lost.
///
/// ```
/// use mlrig_core::{Accumulator, ExactSum, ParallelAccumulation, Result};
/// use mlrig_core::arrow_array::{Float64Array, RecordBatch, cast::AsArray, types::Float64Type};
/// use std::sync::Arc;
///
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// struct Total(ExactSum);
/// impl Accumulator for Total {
///     type Output = f64;
///     type Error = mlrig_core::Error;
///     fn update(&mut self, batch: &RecordBatch) -> Result<()> {
///         batch.column(0).as_primitive::<Float64Type>().iter().flatten().for_each(|v| self.0.add(v));
///         Ok(())
///     }
///     fn merge(&mut self, other: Self) -> Result<()> {
///         self.0.merge(&other.0);
///         Ok(())
///     }
///     fn finish(self) -> f64 { self.0.value() }
/// }
///
/// let mut accumulation = ParallelAccumulation::new(Total::default);
/// for i in 0..10 {
///     let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![0.1 * i as f64])) as _)])?;
///     accumulation.push(batch)?; // returns while the batch is being accumulated
/// }
/// assert_eq!(accumulation.finish()?.finish(), 4.5);
/// # Ok::<(), mlrig_core::Error>(())
/// ```
pub struct ParallelAccumulation<A: Accumulator, F> {
    init: F,
    /// Accumulators not being updated right now.
    idle: Vec<A>,
    in_flight: usize,
    max_in_flight: usize,
    done_tx: std::sync::mpsc::Sender<Updated<A>>,
    done_rx: std::sync::mpsc::Receiver<Updated<A>>,
}

/// An accumulator back from the pool with the result of its update.
type Updated<A> = (A, Result<(), <A as Accumulator>::Error>);

impl<A, F> ParallelAccumulation<A, F>
where
    A: Accumulator + Send + 'static,
    A::Error: From<crate::Error>,
    F: Fn() -> A,
{
    /// An empty accumulation whose accumulators come from `init`.
    pub fn new(init: F) -> Self {
        let max_in_flight = match rayon::current_thread_index() {
            Some(_) => 0,
            None => rayon::current_num_threads(),
        };
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        Self {
            init,
            idle: Vec::new(),
            in_flight: 0,
            max_in_flight,
            done_tx,
            done_rx,
        }
    }

    /// Queues `batch`, first waiting while every pool thread is busy.
    /// Returns the error of an earlier update, if one failed.
    pub fn push(&mut self, batch: RecordBatch) -> Result<(), A::Error> {
        if self.max_in_flight == 0 {
            let mut accumulator = self.idle.pop().unwrap_or_else(&self.init);
            let result = accumulator.update(&batch);
            self.idle.push(accumulator);
            return result;
        }
        while self.in_flight >= self.max_in_flight {
            self.collect_one()?;
        }
        let mut accumulator = self.idle.pop().unwrap_or_else(&self.init);
        let done = self.done_tx.clone();
        self.in_flight += 1;
        rayon::spawn(move || {
            let result = accumulator.update(&batch);
            drop(batch);
            // The receiver is gone only when the accumulation was dropped
            // after an error: nobody wants the state any more.
            let _ = done.send((accumulator, result));
        });
        Ok(())
    }

    /// Waits for every queued batch and merges the accumulators.
    pub fn finish(mut self) -> Result<A, A::Error> {
        while self.in_flight > 0 {
            self.collect_one()?;
        }
        let mut merged = (self.init)();
        for accumulator in self.idle.drain(..) {
            merged.merge(accumulator)?;
        }
        Ok(merged)
    }

    fn collect_one(&mut self) -> Result<(), A::Error> {
        // `self` holds a sender, so `recv` cannot fail while tasks are out.
        let (accumulator, result) = self.done_rx.recv().map_err(|_| crate::Error::Component {
            component: "mlrig-core".into(),
            source: "an accumulation task ended without returning its state".into(),
            invalid_input: false,
        })?;
        self.in_flight -= 1;
        self.idle.push(accumulator);
        result
    }
}

impl<A: Accumulator, F> std::fmt::Debug for ParallelAccumulation<A, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelAccumulation")
            .field("idle", &self.idle.len())
            .field("in_flight", &self.in_flight)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExactSum;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use arrow_array::{Float64Array, Int64Array};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// Exact sum of column 0; fails on a batch whose column 0 is not Float64.
    #[derive(Default, serde::Serialize, serde::Deserialize)]
    struct Total(ExactSum);

    impl Accumulator for Total {
        type Output = f64;
        type Error = crate::Error;
        fn update(&mut self, batch: &RecordBatch) -> crate::Result<()> {
            let values = batch
                .column(0)
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| crate::Error::InvalidField {
                    instance: None,
                    field: "x".into(),
                    expected: "Float64".into(),
                    found: batch.column(0).data_type().to_string(),
                })?;
            values.iter().flatten().for_each(|v| self.0.add(v));
            Ok(())
        }
        fn merge(&mut self, other: Self) -> crate::Result<()> {
            self.0.merge(&other.0);
            Ok(())
        }
        fn finish(self) -> f64 {
            self.0.value()
        }
    }

    fn batch(values: Vec<f64>) -> RecordBatch {
        RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(values)) as _)]).unwrap()
    }

    fn parallel(batches: &[RecordBatch]) -> f64 {
        let mut accumulation = ParallelAccumulation::new(Total::default);
        for b in batches {
            accumulation.push(b.clone()).unwrap();
        }
        accumulation.finish().unwrap().finish()
    }

    proptest! {
        #[test]
        fn streaming_equals_one_sequential_pass(
            parts in prop::collection::vec(prop::collection::vec(-1e12f64..1e12, 0..20), 0..30),
        ) {
            let batches: Vec<RecordBatch> = parts.into_iter().map(batch).collect();
            let mut sequential = Total::default();
            for b in &batches {
                sequential.update(b).unwrap();
            }
            let expected = sequential.finish();
            prop_assert_eq!(parallel(&batches).to_bits(), expected.to_bits());
            // From inside a pool thread the batches are accumulated in place.
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            prop_assert_eq!(pool.install(|| parallel(&batches)).to_bits(), expected.to_bits());
        }
    }

    #[test]
    fn an_update_error_is_reported() {
        let wrong =
            RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1])) as _)]).unwrap();
        let mut accumulation = ParallelAccumulation::new(Total::default);
        let result = accumulation
            .push(batch(vec![1.0]))
            .and_then(|()| accumulation.push(wrong))
            .and_then(|()| accumulation.finish().map(|_| ()));
        let error = result.unwrap_err().to_string();
        assert!(error.contains("expected Float64, found Int64"), "{error}");
    }
}
