//! The deterministic row order of a shuffled epoch.
//!
//! SplitMix64 (Steele, Lea & Flood, 2014) is small, fast, has a 64-bit state
//! and passes BigCrush; its output function also serves to mix the seed with
//! the epoch's starting `t`, so every epoch gets an independent stream.

/// The SplitMix64 increment (2⁶⁴ / φ, odd).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A SplitMix64 generator.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// A uniform integer in `0..bound` (`bound ≥ 1`), without modulo bias
    /// (Lemire's multiply-and-reject).
    fn below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }
}

/// Rows `0..n` in the order of the epoch that starts at sample counter `t`:
/// a Fisher–Yates permutation drawn from SplitMix64 seeded with `seed` and `t`.
pub(super) fn epoch_order(n: usize, seed: u64, t: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64 {
        state: mix(seed ^ mix(t)),
    };
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs for seed 1234567 published with the algorithm.
        let mut rng = SplitMix64 { state: 1234567 };
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn orders_are_permutations_that_depend_on_seed_and_t() {
        let a = epoch_order(50, 7, 1);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(50, 7, 1));
        assert_ne!(a, epoch_order(50, 8, 1));
        assert_ne!(a, epoch_order(50, 7, 51));
        assert!(epoch_order(0, 1, 1).is_empty());
        assert_eq!(epoch_order(1, 1, 1), [0]);
    }

    #[test]
    fn bounded_draws_are_roughly_uniform() {
        let mut rng = SplitMix64 { state: 42 };
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[rng.below(3) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
    }
}
