//! Deterministic row sampling: which rows are kept by
//! [`ReadOptions::with_sample`](crate::ReadOptions::with_sample).
//!
//! Row `i` (0-based, counting every data row of the input in reading order,
//! across all files) is kept when
//!
//! ```text
//! h = splitmix64(seed XOR (i · 0x9E3779B97F4A7C15))      (wrapping multiply)
//! keep  ⇔  (h >> 11) · 2⁻⁵³ < fraction
//! ```
//!
//! where `splitmix64` is the finalizer of Steele, Lea and Flood's SplitMix64
//! (`z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27;
//! z *= 0x94D049BB133111EB; z ^= z >> 31`). The decision depends only on the
//! seed, the fraction and the row's position, never on the data, the batch
//! size, the number of threads or the machine, so a sample is reproducible
//! and a smaller fraction with the same seed gives a subset of a larger one.

/// Decides which rows are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowSampler {
    fraction: f64,
    seed: u64,
}

impl RowSampler {
    /// A sampler keeping about `fraction` of the rows (`fraction` checked by
    /// the options to be in `0.0..=1.0`).
    pub(crate) fn new(fraction: f64, seed: u64) -> Self {
        RowSampler { fraction, seed }
    }

    /// Whether row `index` (0-based over the whole input) is kept.
    pub(crate) fn keeps(&self, index: u64) -> bool {
        if self.fraction >= 1.0 {
            return true;
        }
        let h = splitmix64(self.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        ((h >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < self.fraction
    }
}

/// The SplitMix64 output function.
fn splitmix64(mut z: u64) -> u64 {
    z ^= z >> 30;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^= z >> 27;
    z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_fraction_is_close_and_deterministic() {
        let s = RowSampler::new(0.1, 42);
        let kept: Vec<u64> = (0..100_000).filter(|&i| s.keeps(i)).collect();
        let n = kept.len() as f64;
        assert!((9_500.0..10_500.0).contains(&n), "{n}");
        let again: Vec<u64> = (0..100_000).filter(|&i| s.keeps(i)).collect();
        assert_eq!(kept, again);
        let other_seed: Vec<u64> = (0..100_000)
            .filter(|&i| RowSampler::new(0.1, 43).keeps(i))
            .collect();
        assert_ne!(kept, other_seed);
    }

    #[test]
    fn smaller_fractions_are_subsets_and_the_extremes_are_exact() {
        let small = RowSampler::new(0.05, 7);
        let large = RowSampler::new(0.3, 7);
        assert!((0..50_000).all(|i| !small.keeps(i) || large.keeps(i)));
        assert!((0..10_000).all(|i| RowSampler::new(1.0, 1).keeps(i)));
        assert!((0..10_000).all(|i| !RowSampler::new(0.0, 1).keeps(i)));
    }

    #[test]
    fn the_documented_hash_is_the_implemented_one() {
        // Reference value of the SplitMix64 finalizer for input 0 after one
        // increment of the golden gamma (the first output of SplitMix64(0)).
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0xE220_A839_7B1D_CDAF);
    }
}
