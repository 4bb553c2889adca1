//! The exact side of the key mapping: whether a magnitude `m` lies at or
//! below `γⁿ`, with `γⁿ` carried in double-double precision (about 106
//! significant bits per operation) and a separate binary exponent, so that
//! neither overflow nor subnormal numbers cost precision.
//!
//! Only IEEE-754 additions and multiplications are used (products are split
//! exactly with Dekker's method, no `fma`), so the decision is the same on
//! every platform. `γⁿ` is formed by binary powering; its relative error is
//! about `|n|·2⁻¹⁰³` (squaring doubles a relative error, each product adds
//! a few `2⁻¹⁰⁶`): `2⁻⁷⁴` at the largest key (`≈ 3.6·10⁸`, for α = 10⁻⁶),
//! `2⁻⁸⁴` for α = 0.1 %. An `f64` `m` that close to `γⁿ` without being `γⁿ`
//! is a coincidence far beyond double precision:
//! `scripts/make_sketch_key_vectors.py --check-all-edges` finds, with 300-bit
//! arithmetic, no `f64` closer than `2⁻⁶⁹·⁸` (α = 0.5 %) or `2⁻⁷⁴·³`
//! (α = 0.1 %) to any edge, so for those accuracies every key is exact.

/// A positive number `(hi + lo)·2^exp`, `hi` in `[1, 2]`, `|lo| ≤ ulp(hi)`.
#[derive(Debug, Clone, Copy)]
struct Scaled {
    hi: f64,
    lo: f64,
    exp: i64,
}

/// `2⁶⁴`, to bring subnormal numbers into the normal range exactly.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

impl Scaled {
    const ONE: Scaled = Scaled {
        hi: 1.0,
        lo: 0.0,
        exp: 0,
    };

    /// A positive finite `f64` (normal or subnormal), exactly.
    fn of(x: f64) -> Self {
        let (x, offset) = if x < f64::MIN_POSITIVE {
            (x * TWO_POW_64, -64)
        } else {
            (x, 0)
        };
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i64;
        Scaled {
            hi: f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52)),
            lo: 0.0,
            exp: biased - 1023 + offset,
        }
    }

    /// The product, renormalized (`hi` back into `[1, 2]`, exact halvings).
    fn mul(self, other: Scaled) -> Scaled {
        let (product, error) = two_product(self.hi, other.hi);
        let error = error + (self.hi * other.lo + self.lo * other.hi);
        let (mut hi, mut lo) = fast_two_sum(product, error);
        let mut exp = self.exp + other.exp;
        while hi > 2.0 {
            hi *= 0.5;
            lo *= 0.5;
            exp += 1;
        }
        Scaled { hi, lo, exp }
    }

    /// `self^n` by binary powering.
    fn pow(self, mut n: u64) -> Scaled {
        let (mut result, mut base) = (Scaled::ONE, self);
        while n > 0 {
            if n & 1 == 1 {
                result = result.mul(base);
            }
            n >>= 1;
            if n > 0 {
                base = base.mul(base);
            }
        }
        result
    }

    /// Whether `self ≤ other`.
    fn at_most(self, other: Scaled) -> bool {
        // Both values lie in [2^exp·(1 − 2⁻⁵²), 2^(exp+1)·(1 + 2⁻⁵²)].
        match self.exp - other.exp {
            d if d < -1 => return true,
            d if d > 1 => return false,
            _ => {}
        }
        let shift = match self.exp - other.exp {
            -1 => 0.5,
            1 => 2.0,
            _ => 1.0,
        };
        // Exact: multiplying by a power of two in the normal range.
        let (hi, lo) = (self.hi * shift, self.lo * shift);
        if hi > 2.0 * other.hi {
            return false;
        }
        if other.hi > 2.0 * hi {
            return true;
        }
        // Exact by Sterbenz's lemma (within a factor of two).
        let difference = hi - other.hi;
        difference <= other.lo - lo
    }
}

/// `a·b = product + error` exactly (Dekker; no overflow for `|a|, |b| ≤ 4`).
fn two_product(a: f64, b: f64) -> (f64, f64) {
    let product = a * b;
    let (a_hi, a_lo) = split(a);
    let (b_hi, b_lo) = split(b);
    let error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo;
    (product, error)
}

/// `a = hi + lo` with `hi` holding the top 26 bits (Veltkamp).
fn split(a: f64) -> (f64, f64) {
    let c = 134_217_729.0 * a; // 2²⁷ + 1
    let hi = c - (c - a);
    (hi, a - hi)
}

/// `a + b = sum + error` exactly, for `|a| ≥ |b|`.
fn fast_two_sum(a: f64, b: f64) -> (f64, f64) {
    let sum = a + b;
    (sum, b - (sum - a))
}

/// Whether `magnitude ≤ γⁿ` (`magnitude` positive and finite, `γ > 1`).
pub(super) fn at_most_power(magnitude: f64, gamma: f64, n: i32) -> bool {
    let m = Scaled::of(magnitude);
    let power = Scaled::of(gamma).pow(u64::from(n.unsigned_abs()));
    if n >= 0 {
        m.at_most(power)
    } else {
        // m ≤ γ⁻ᵏ  ⇔  m·γᵏ ≤ 1.
        m.mul(power).at_most(Scaled::ONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_cases() {
        let gamma = 1.005 / 0.995;
        assert!(at_most_power(1.0, gamma, 0));
        assert!(!at_most_power(
            f64::from_bits(1.0f64.to_bits() + 1),
            gamma,
            0
        ));
        assert!(at_most_power(
            f64::from_bits(1.0f64.to_bits() - 1),
            gamma,
            0
        ));
        assert!(at_most_power(gamma, gamma, 1));
        assert!(!at_most_power(
            f64::from_bits(gamma.to_bits() + 1),
            gamma,
            1
        ));
        // γ² is not an f64: its neighbours fall on either side.
        let square = gamma * gamma;
        let (below, above) = if at_most_power(square, gamma, 2) {
            (square, f64::from_bits(square.to_bits() + 1))
        } else {
            (f64::from_bits(square.to_bits() - 1), square)
        };
        assert!(at_most_power(below, gamma, 2) && !at_most_power(above, gamma, 2));
        // 1/γ: m·γ ≤ 1.
        let inverse = 1.0 / gamma;
        assert_ne!(
            at_most_power(inverse, gamma, -1),
            at_most_power(f64::from_bits(inverse.to_bits() + 1), gamma, -1)
        );
    }

    #[test]
    fn scaled_handles_subnormals_and_extremes() {
        let tiny = Scaled::of(5e-324);
        assert_eq!((tiny.hi, tiny.exp), (1.0, -1074));
        let max = Scaled::of(f64::MAX);
        assert_eq!(max.exp, 1023);
        assert!(tiny.at_most(max) && !max.at_most(tiny));
        assert!(tiny.at_most(tiny));
        // γ^70000 for α = 0.005 is beyond f64::MAX; the exponent carries it.
        let big = Scaled::of(1.005 / 0.995).pow(80_000);
        assert!(max.at_most(big) && big.exp > 1023);
    }
}
