//! Counter-based random numbers: a draw is a hash of `(seed, stream,
//! index)`, so it does not depend on which thread or machine asks, or in
//! which order (unlike a sequential generator).

/// SplitMix64's finaliser: a bijective 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` for `(seed, stream, index)`.
pub(super) fn unit(seed: u64, stream: u64, index: u64) -> f64 {
    let h = mix(mix(mix(seed ^ 0x9e37_79b9_7f4a_7c15) ^ stream) ^ index);
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Streams, so different uses of one seed draw independent numbers.
pub(super) mod stream {
    /// Which rows are held out for early stopping.
    pub(in super::super) const VALIDATION: u64 = 1;
    /// Row subsampling of round `r`: `BAGGING + r`.
    pub(in super::super) const BAGGING: u64 = 1 << 40;
    /// Feature subsampling of tree `t`: `FEATURES + t`.
    pub(in super::super) const FEATURES: u64 = 2 << 40;
    /// Gradient rounding of tree `t`: `ROUNDING + t`.
    pub(in super::super) const ROUNDING: u64 = 3 << 40;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_enough_and_differ_by_stream() {
        let mean = (0..10_000).map(|i| unit(1, 2, i)).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert_ne!(unit(1, 2, 3), unit(1, 3, 3));
        assert!((0..1000).all(|i| (0.0..1.0).contains(&unit(9, 9, i))));
    }
}
