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
