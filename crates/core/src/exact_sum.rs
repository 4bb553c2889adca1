//! [`ExactSum`]: an order-independent, exact floating-point sum (a superaccumulator).
//!
//! Every finite `f64` is an integer multiple of 2⁻¹⁰⁷⁴ below 2¹⁰²⁴, so the sum
//! of any number of them is an integer on a fixed 2,112-bit grid. `ExactSum`
//! keeps that integer in 32-bit digits held in `i64` words (room for 2³⁰
//! additions between carry propagations), so the state after adding a
//! multiset of values is the same whatever their order or grouping, and
//! [`ExactSum::value`] rounds the exact sum once, to nearest. This is what
//! makes statistics mergeable bit for bit across threads and machines.

use serde::{Deserialize, Serialize};

const DIGIT_BITS: u32 = 32;
const DIGIT_MASK: i64 = (1 << DIGIT_BITS) - 1;
/// Digits: 2,098 significant bit positions (2⁻¹⁰⁷⁴ … 2¹⁰²⁴) plus headroom.
const DIGITS: usize = 67;
/// Carry propagation is due before any digit can leave `i64` range.
const ADDS_BEFORE_CARRY: u32 = 1 << 30;

/// An exact sum of `f64` values, independent of order and grouping.
///
/// NaN and infinities are counted apart: the value is NaN if any NaN was
/// added or both infinities were, else ±∞ if one infinity was.
///
/// ```
/// use mlrig_core::ExactSum;
/// let mut a = ExactSum::default();
/// for v in [1e100, 1.0, -1e100] { a.add(v); }
/// assert_eq!(a.value(), 1.0); // naive summation gives 0.0
///
/// let mut b = ExactSum::default();
/// b.add(0.5);
/// a.merge(&b);
/// assert_eq!(a.value(), 1.5);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "ExactSumRepr", from = "ExactSumRepr")]
pub struct ExactSum {
    digits: [i64; DIGITS],
    adds_since_carry: u32,
    nan: u64,
    pos_inf: u64,
    neg_inf: u64,
}

impl Default for ExactSum {
    fn default() -> Self {
        Self {
            digits: [0; DIGITS],
            adds_since_carry: 0,
            nan: 0,
            pos_inf: 0,
            neg_inf: 0,
        }
    }
}

impl PartialEq for ExactSum {
    fn eq(&self, other: &Self) -> bool {
        self.normalized().digits == other.normalized().digits
            && self.nan == other.nan
            && self.pos_inf == other.pos_inf
            && self.neg_inf == other.neg_inf
    }
}

impl ExactSum {
    /// Adds `x` exactly.
    ///
    /// ```
    /// # use mlrig_core::ExactSum;
    /// let mut s = ExactSum::default();
    /// s.add(0.1);
    /// s.add(0.2);
    /// assert_eq!(s.value(), 0.30000000000000004); // the correctly rounded 0.1 + 0.2
    /// ```
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            if x.is_nan() {
                self.nan += 1;
            } else if x > 0.0 {
                self.pos_inf += 1;
            } else {
                self.neg_inf += 1;
            }
            return;
        }
        if x == 0.0 {
            return;
        }
        let bits = x.to_bits();
        let biased_exponent = ((bits >> 52) & 0x7ff) as usize;
        let fraction = bits & ((1u64 << 52) - 1);
        // value = mantissa × 2^(position − 1074)
        let (mantissa, position) = if biased_exponent == 0 {
            (fraction, 0)
        } else {
            (fraction | (1u64 << 52), biased_exponent - 1)
        };
        let index = position / DIGIT_BITS as usize;
        let wide = (mantissa as u128) << (position % DIGIT_BITS as usize);
        let parts = [
            (wide as i64) & DIGIT_MASK,
            ((wide >> DIGIT_BITS) as i64) & DIGIT_MASK,
            (wide >> (2 * DIGIT_BITS)) as i64,
        ];
        let negative = x < 0.0;
        for (offset, part) in parts.into_iter().enumerate() {
            if negative {
                self.digits[index + offset] -= part;
            } else {
                self.digits[index + offset] += part;
            }
        }
        self.adds_since_carry += 1;
        if self.adds_since_carry >= ADDS_BEFORE_CARRY {
            self.propagate_carries();
        }
    }

    /// Adds the exact product `a × b` (not the rounded one), using a fused
    /// multiply-add for the rounding error. Use it for sums of squares.
    ///
    /// ```
    /// # use mlrig_core::ExactSum;
    /// let x = 1.0 + f64::EPSILON;
    /// let mut s = ExactSum::default();
    /// s.add_product(x, x);
    /// s.add(-(x * x)); // leaves exactly the rounding error of x*x
    /// assert_eq!(s.value(), f64::EPSILON * f64::EPSILON);
    /// ```
    pub fn add_product(&mut self, a: f64, b: f64) {
        let product = a * b;
        self.add(product);
        if product.is_finite() {
            self.add(a.mul_add(b, -product));
        }
    }

    /// Adds everything `other` holds.
    ///
    /// ```
    /// # use mlrig_core::ExactSum;
    /// let (mut a, mut b) = (ExactSum::default(), ExactSum::default());
    /// a.add(1.0);
    /// b.add(f64::INFINITY);
    /// a.merge(&b);
    /// assert_eq!(a.value(), f64::INFINITY);
    /// ```
    pub fn merge(&mut self, other: &ExactSum) {
        self.propagate_carries();
        let other = other.normalized();
        for (mine, theirs) in self.digits.iter_mut().zip(other.digits.iter()) {
            *mine += *theirs;
        }
        self.propagate_carries();
        self.nan += other.nan;
        self.pos_inf += other.pos_inf;
        self.neg_inf += other.neg_inf;
    }

    /// The exact sum rounded to the nearest `f64` (±∞ beyond `f64` range).
    ///
    /// ```
    /// # use mlrig_core::ExactSum;
    /// assert_eq!(ExactSum::default().value(), 0.0);
    /// ```
    pub fn value(&self) -> f64 {
        if self.nan > 0 || (self.pos_inf > 0 && self.neg_inf > 0) {
            return f64::NAN;
        }
        if self.pos_inf > 0 {
            return f64::INFINITY;
        }
        if self.neg_inf > 0 {
            return f64::NEG_INFINITY;
        }
        let mut magnitude = self.normalized();
        let negative = magnitude.digits[DIGITS - 1] < 0;
        if negative {
            for d in magnitude.digits.iter_mut() {
                *d = -*d;
            }
            magnitude.propagate_carries();
        }
        let sign = if negative { -1.0 } else { 1.0 };
        let digits = &magnitude.digits;
        let Some(top) = digits.iter().rposition(|d| *d != 0) else {
            return 0.0;
        };
        if top == DIGITS - 1 {
            return sign * f64::INFINITY;
        }
        let base = top.saturating_sub(2);
        let mut wide: u128 = 0;
        for d in digits[base..=top].iter().rev() {
            wide = (wide << DIGIT_BITS) | (*d as u128);
        }
        // A sticky bit far below the rounding position keeps round-to-nearest exact.
        if digits[..base].iter().any(|d| *d != 0) {
            wide |= 1;
        }
        // Integer → float `as` casts round to nearest, ties to even.
        sign * scale_by_power_of_two(wide as f64, (base as i32) * DIGIT_BITS as i32 - 1074)
    }

    /// Number of NaN values added.
    ///
    /// ```
    /// # use mlrig_core::ExactSum;
    /// let mut s = ExactSum::default();
    /// s.add(f64::NAN);
    /// assert_eq!(s.nan_count(), 1);
    /// ```
    pub fn nan_count(&self) -> u64 {
        self.nan
    }

    fn normalized(&self) -> ExactSum {
        let mut copy = self.clone();
        copy.propagate_carries();
        copy
    }

    /// Brings digits 0..DIGITS-1 into [0, 2³²), the top digit keeping the
    /// sign: the unique (canonical) representation of the integer.
    fn propagate_carries(&mut self) {
        let mut carry = 0i64;
        for d in self.digits[..DIGITS - 1].iter_mut() {
            let v = *d + carry;
            carry = v >> DIGIT_BITS;
            *d = v & DIGIT_MASK;
        }
        self.digits[DIGITS - 1] += carry;
        self.adds_since_carry = 0;
    }
}

/// `x × 2^exponent` with a single rounding (x ≥ 1, so intermediate steps never
/// go subnormal before the last one).
fn scale_by_power_of_two(mut x: f64, mut exponent: i32) -> f64 {
    let power = |e: i32| f64::from_bits(((e + 1023) as u64) << 52);
    while exponent > 1000 {
        x *= power(1000);
        exponent -= 1000;
    }
    while exponent < -1000 {
        x *= power(-1000);
        exponent += 1000;
    }
    x * power(exponent)
}

/// Serialized form: the canonical digits with zero digits trimmed.
#[derive(Serialize, Deserialize)]
struct ExactSumRepr {
    #[serde(default)]
    lowest_digit: usize,
    #[serde(default)]
    digits: Vec<i64>,
    #[serde(default)]
    nan: u64,
    #[serde(default)]
    pos_inf: u64,
    #[serde(default)]
    neg_inf: u64,
}

impl From<ExactSum> for ExactSumRepr {
    fn from(sum: ExactSum) -> Self {
        let sum = sum.normalized();
        let first = sum.digits.iter().position(|d| *d != 0);
        let last = sum.digits.iter().rposition(|d| *d != 0);
        let (lowest_digit, digits) = match (first, last) {
            (Some(f), Some(l)) => (f, sum.digits[f..=l].to_vec()),
            _ => (0, Vec::new()),
        };
        ExactSumRepr {
            lowest_digit,
            digits,
            nan: sum.nan,
            pos_inf: sum.pos_inf,
            neg_inf: sum.neg_inf,
        }
    }
}

impl From<ExactSumRepr> for ExactSum {
    fn from(repr: ExactSumRepr) -> Self {
        let mut sum = ExactSum {
            nan: repr.nan,
            pos_inf: repr.pos_inf,
            neg_inf: repr.neg_inf,
            ..ExactSum::default()
        };
        // Out-of-range digits from a hand-edited file are dropped, never a panic.
        for (offset, d) in repr.digits.into_iter().enumerate() {
            if let Some(slot) = sum.digits.get_mut(repr.lowest_digit.saturating_add(offset)) {
                *slot = d;
            }
        }
        sum.propagate_carries();
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
            -1e6..1e6f64,
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
        ]
    }

    fn sum_of(values: &[f64]) -> ExactSum {
        let mut s = ExactSum::default();
        for v in values {
            s.add(*v);
        }
        s
    }

    /// Reference: exact rational sum via i128 is impossible in general, so compare
    /// against compensated summation where magnitudes are moderate.
    #[test]
    fn matches_known_sums() {
        assert_eq!(sum_of(&[0.1; 10]).value(), 1.0);
        assert_eq!(sum_of(&[1e308, 1e308, -1e308]).value(), 1e308);
        assert_eq!(sum_of(&[f64::MAX, f64::MAX]).value(), f64::INFINITY);
        assert_eq!(sum_of(&[-f64::MAX, -f64::MAX]).value(), f64::NEG_INFINITY);
        assert_eq!(sum_of(&[5e-324, 5e-324]).value(), 1e-323);
        assert_eq!(sum_of(&[-3.5, 1.25]).value(), -2.25);
        assert!(sum_of(&[f64::INFINITY, f64::NEG_INFINITY]).value().is_nan());
        assert_eq!(
            sum_of(&[libm::ldexp(1.0, 53), 1.0]).value(),
            libm::ldexp(1.0, 53)
        ); // tie → even
        assert_eq!(
            sum_of(&[libm::ldexp(1.0, 53), 1.0, 1e-300]).value(),
            libm::ldexp(1.0, 53) + 2.0
        );
    }

    #[test]
    fn many_additions_cross_carry_boundary() {
        let mut s = ExactSum {
            adds_since_carry: ADDS_BEFORE_CARRY - 2,
            ..ExactSum::default()
        };
        for _ in 0..10 {
            s.add(f64::MAX / 16.0);
        }
        assert_eq!(s.value(), f64::MAX / 16.0 * 10.0);
    }

    proptest! {
        #[test]
        fn order_and_grouping_do_not_matter(
            values in proptest::collection::vec(any_value(), 0..60),
            split in 0usize..60,
            seed in any::<u64>(),
        ) {
            let whole = sum_of(&values);
            let split = split.min(values.len());
            let mut left = sum_of(&values[..split]);
            let right = sum_of(&values[split..]);
            left.merge(&right);
            prop_assert_eq!(left.value().to_bits(), whole.value().to_bits());
            prop_assert_eq!(&left, &whole);

            let mut shuffled = values.clone();
            let n = shuffled.len();
            if n > 1 {
                let mut state = seed;
                for i in (1..n).rev() {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    shuffled.swap(i, (state >> 33) as usize % (i + 1));
                }
            }
            prop_assert_eq!(sum_of(&shuffled).value().to_bits(), whole.value().to_bits());
        }

        #[test]
        fn close_to_naive_sum_for_moderate_values(values in proptest::collection::vec(-1e6..1e6f64, 0..100)) {
            let naive: f64 = values.iter().sum();
            let exact = sum_of(&values).value();
            prop_assert!((naive - exact).abs() <= 1e-6);
        }

        #[test]
        fn serde_round_trip(values in proptest::collection::vec(any_value(), 0..30)) {
            let s = sum_of(&values);
            let json = serde_json::to_string(&s).unwrap();
            let back: ExactSum = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &s);
            prop_assert_eq!(back.value().to_bits(), s.value().to_bits());
        }
    }
}
