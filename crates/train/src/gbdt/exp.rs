//! `e^x` for the per-row gradients: inlinable and branch-free, so the
//! gradient loop vectorizes, where `libm::exp` is a call with special-case
//! branches per row and round (a fifth of a small fit). Only `+ − ×` and bit
//! operations on IEEE doubles: the same bits on every machine, as the
//! deterministic-math rule asks (docs/architecture.md).

/// `x = k·ln 2 + r` with `ln 2 = LN2_HI + LN2_LO`; `LN2_HI` has its low 32
/// bits zero, so `k·LN2_HI` is exact for every `|k| ≤ 1100`.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// `1.5·2^52`: adding it rounds to an integer (to nearest, ties to even)
/// and leaves that integer in the low mantissa bits.
const ROUNDER: f64 = 6_755_399_441_055_744.0;
/// Inputs are clamped here: `e^±708` is still a normal double.
const LIMIT: f64 = 708.0;

/// `e^x` within a few units in the last place of `libm::exp` for
/// `|x| ≤ 708`; clamped beyond (`e^±708`), NaN stays NaN.
#[inline(always)]
pub(super) fn exp(x: f64) -> f64 {
    let x = x.clamp(-LIMIT, LIMIT);
    let shifted = x * std::f64::consts::LOG2_E + ROUNDER;
    let k = shifted - ROUNDER;
    // |r| ≤ ln2 / 2 (plus rounding).
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r to r^13 / 13!: the next term is below 2^-56.
    let mut p = 1.0 / 6_227_020_800.0;
    for divisor in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
        1.0,
    ] {
        p = p * r + 1.0 / divisor;
    }
    // 2^k from k in the low mantissa bits of `shifted` (|k| ≤ 1022).
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    p * scale
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use proptest::prelude::*;

    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exact_points_and_limits() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert!(ulps(exp(1.0), std::f64::consts::E) <= 1);
        assert_eq!(exp(1e6), exp(LIMIT));
        assert_eq!(exp(f64::NEG_INFINITY), exp(-LIMIT));
        assert!(exp(-LIMIT) > 0.0 && exp(LIMIT).is_finite());
        assert!(exp(f64::NAN).is_nan());
    }

    proptest! {
        #[test]
        fn within_four_ulps_of_libm(x in -LIMIT..LIMIT) {
            let (ours, reference) = (exp(x), libm::exp(x));
            prop_assert!(ulps(ours, reference) <= 4, "{x}: {ours} vs {reference}");
        }
    }

    #[test]
    fn within_four_ulps_on_a_dense_grid() {
        let worst = (-200_000..=200_000)
            .map(|i| f64::from(i) * 0.003_5)
            .map(|x| ulps(exp(x), libm::exp(x)))
            .max()
            .unwrap();
        assert!(worst <= 4, "{worst} ulps");
    }
}
