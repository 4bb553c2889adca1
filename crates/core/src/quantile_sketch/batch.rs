//! [`SketchBatch`]: the keys of one batch of values, counted into a
//! sketch at once.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use super::SketchParams;
use super::key_mapping::LogBuckets;
use super::sketch::add_count;

/// Counts `keys` (emptied) into `map`, one map operation per distinct key.
pub(super) fn count_keys(map: &mut BTreeMap<i32, u64>, keys: &mut Vec<i32>) {
    let (Some(&min), Some(&max)) = (keys.iter().min(), keys.iter().max()) else {
        return;
    };
    let span = (i64::from(max) - i64::from(min)) as usize + 1;
    // Dense counting when the keys are close together (u32 counts suffice).
    if span <= 4 * keys.len() + 1024 && u32::try_from(keys.len()).is_ok() {
        let mut counts = vec![0u32; span];
        for key in keys.iter() {
            counts[(key - min) as usize] += 1;
        }
        for (offset, count) in counts.into_iter().enumerate() {
            if count > 0 {
                add_count(map, min + offset as i32, u64::from(count));
            }
        }
    } else {
        keys.sort_unstable();
        for run in keys.chunk_by(|a, b| a == b) {
            add_count(map, run[0], run.len() as u64);
        }
    }
    keys.clear();
}

/// Sketch input gathered over one batch: the keys of the values, counted
/// into a sketch at once by
/// [`QuantileSketch::absorb`](super::QuantileSketch::absorb) (one map
/// operation per distinct key instead of one per value).
///
/// ```
/// use mlrig_core::{QuantileSketch, SketchBatch, SketchParams};
/// struct P;
/// impl SketchParams for P { const RELATIVE_ACCURACY: f64 = 0.005; }
///
/// let mut batch = SketchBatch::<P>::with_capacity(3);
/// batch.push(2.5);
/// batch.push(f64::NAN); // ignored
/// batch.push_int(-7);
/// let mut s = QuantileSketch::new();
/// s.absorb(&mut batch);
/// let mut one_by_one = QuantileSketch::new();
/// one_by_one.add(2.5);
/// one_by_one.add(-7.0);
/// assert_eq!(s, one_by_one);
/// ```
pub struct SketchBatch<P: SketchParams> {
    /// Keys of the magnitudes of positive (`[0]`) and negative (`[1]`)
    /// finite values. Indexed by the sign bit, so random signs cost no
    /// mispredicted branches.
    pub(super) keys: [Vec<i32>; 2],
    pub(super) zeros: u64,
    /// Positive (`[0]`) and negative (`[1]`) infinities.
    pub(super) infinities: [u64; 2],
    /// The values themselves, when `P` keeps exact counts.
    pub(super) values: Vec<f64>,
    buckets: &'static LogBuckets,
    params: PhantomData<fn() -> P>,
}

impl<P: SketchParams> Default for SketchBatch<P> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<P: SketchParams> fmt::Debug for SketchBatch<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SketchBatch")
            .field("keys", &self.keys)
            .field("zeros", &self.zeros)
            .field("infinities", &self.infinities)
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

impl<P: SketchParams> SketchBatch<P> {
    /// An empty batch with room for `values` values.
    pub fn with_capacity(values: usize) -> Self {
        let exact = P::EXACT_DISTINCT_LIMIT > 0;
        Self {
            keys: [Vec::with_capacity(values), Vec::with_capacity(values)],
            zeros: 0,
            infinities: [0; 2],
            values: Vec::with_capacity(if exact { values } else { 0 }),
            buckets: LogBuckets::of::<P>(),
            params: PhantomData,
        }
    }

    /// Adds one value; NaN is ignored.
    #[inline]
    pub fn push(&mut self, x: f64) {
        let magnitude = x.abs();
        let sign = usize::from(x.is_sign_negative());
        if P::EXACT_DISTINCT_LIMIT > 0 && !x.is_nan() {
            self.values.push(x);
        }
        if magnitude == 0.0 {
            self.zeros += 1;
        } else if magnitude == f64::INFINITY {
            self.infinities[sign] += 1;
        } else if !x.is_nan() {
            self.keys[sign].push(self.buckets.key(magnitude));
        }
    }

    /// Adds one integer: the same as `push(x as f64)`, with the keys of
    /// small magnitudes from a table.
    #[inline]
    pub fn push_int(&mut self, x: i64) {
        if P::EXACT_DISTINCT_LIMIT > 0 {
            self.values.push(x as f64);
        }
        let magnitude = x.unsigned_abs();
        if magnitude == 0 {
            self.zeros += 1;
            return;
        }
        self.keys[usize::from(x < 0)].push(self.buckets.integer_key(magnitude));
    }
}
