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
    let h = Draws::new(seed, stream).bits(index);
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The draws of one `(seed, stream)`: the key is mixed once, then each
/// index costs one mix.
#[derive(Debug, Clone, Copy)]
pub(super) struct Draws {
    key: u64,
}

impl Draws {
    pub(super) fn new(seed: u64, stream: u64) -> Self {
        Self {
            key: mix(mix(seed ^ 0x9e37_79b9_7f4a_7c15) ^ stream),
        }
    }

    /// 64 random bits for `index`.
    pub(super) fn bits(self, index: u64) -> u64 {
        mix(self.key ^ index)
    }

    /// Two uniform draws in `[0, 1)` (32 bits each) for `index`.
    pub(super) fn pair(self, index: u64) -> (f64, f64) {
        const SCALE: f64 = 1.0 / (1u64 << 32) as f64;
        let h = self.bits(index);
        ((h >> 32) as f64 * SCALE, (h & 0xffff_ffff) as f64 * SCALE)
    }
}

/// Streams, so different uses of one seed draw independent numbers.
pub(super) mod stream {
    /// Which rows are held out for early stopping.
    pub(in super::super) const VALIDATION: u64 = 1;
    /// Which rows set the numeric bin bounds.
    pub(in super::super) const BIN_SAMPLE: u64 = 2;
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
    fn pairs_are_uniform_enough_and_independent_halves() {
        let draws = Draws::new(5, 6);
        let (mut a, mut b, mut ab) = (0.0, 0.0, 0.0);
        for i in 0..20_000 {
            let (x, y) = draws.pair(i);
            assert!((0.0..1.0).contains(&x) && (0.0..1.0).contains(&y));
            (a, b, ab) = (a + x, b + y, ab + x * y);
        }
        let n = 20_000.0;
        assert!((a / n - 0.5).abs() < 0.02 && (b / n - 0.5).abs() < 0.02);
        assert!((ab / n - 0.25).abs() < 0.02, "{}", ab / n);
    }

    #[test]
    fn draws_are_uniform_enough_and_differ_by_stream() {
        let mean = (0..10_000).map(|i| unit(1, 2, i)).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert_ne!(unit(1, 2, 3), unit(1, 3, 3));
        assert!((0..1000).all(|i| (0.0..1.0).contains(&unit(9, 9, i))));
    }
}
