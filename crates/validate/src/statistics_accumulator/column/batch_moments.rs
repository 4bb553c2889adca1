//! The per-batch fast path of [`Moments`]: exact sums of one batch's values
//! and of their squares kept as plain integers, added to the column's
//! [`ExactSum`]s once per batch instead of once per value.
//!
//! The state an [`ExactSum`] reaches is a function of the exact (real) sum
//! of what was added, whatever the order or grouping. So adding a batch's
//! exact sum in a few exactly representable pieces gives the very same
//! state as adding every value (and every square, via `add_product`) one by
//! one: merges stay bit for bit, and results do not change.
//!
//! * Integers with `|x| ≤ 2⁵³` (the values `Moments::add_int` adds as one
//!   exact `f64`): `Σx` in an `i128`, `Σx²` in a `u128`.
//! * Floats with `2⁻⁴⁰⁰ ≤ |x| < 2⁴⁰⁰`: `x = m·2^(p−1074)` with a 53-bit
//!   integer `m`, so `x` and `x² = m²·2^(2p−2148)` are integers on
//!   [`ExactSum`]'s grid of multiples of `2⁻¹⁰⁷⁴`, added into 32-bit digits
//!   (positive and negative values apart, so every digit stays
//!   non-negative). In that window `add_product(x, x)` adds exactly `x²`
//!   too (no underflow or overflow), so both paths add the same amount.
//!
//! Everything else (zeros, larger integers, tiny, huge or non-finite
//! floats) goes through `Moments` value by value, as before.

use mlrig_core::ExactSum;

use super::Moments;

/// Values added between two flushes: keeps every digit, `Σx` and `Σx²`
/// far inside their integer types (`2²⁰ · 2³³ < 2⁶³`, `2²⁰ · 2¹⁰⁶ < 2¹²⁸`).
pub(super) const MAX_VALUES_PER_FLUSH: usize = 1 << 20;

const DIGIT_BITS: usize = 32;
const DIGIT_MASK: i64 = (1 << DIGIT_BITS) - 1;
/// Digits of the 2⁻¹⁰⁷⁴ grid, as in [`ExactSum`].
const DIGITS: usize = 67;
const FRACTION_MASK: u64 = (1 << 52) - 1;
/// Biased exponents of `2⁻⁴⁰⁰` and `2⁴⁰⁰`: the window of the float fast path.
const MIN_BIASED_EXPONENT: u64 = 1023 - 400;
const END_BIASED_EXPONENT: u64 = 1023 + 400;
/// Largest integer magnitude on the integer fast path.
const MAX_EXACT_INT: u64 = 1 << 53;

/// `2^exponent` for exponents of normal numbers.
fn power_of_two(exponent: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&exponent));
    f64::from_bits(((exponent + 1023) as u64) << 52)
}

/// Adds `value · 2^(position − 1074)` (`value < 2⁶⁴`) to `digits`.
#[inline]
fn add_at(digits: &mut [i64; DIGITS], position: usize, value: u128) {
    let index = position / DIGIT_BITS;
    let wide = value << (position % DIGIT_BITS);
    digits[index] += (wide as i64) & DIGIT_MASK;
    digits[index + 1] += ((wide >> DIGIT_BITS) as i64) & DIGIT_MASK;
    digits[index + 2] += (wide >> (2 * DIGIT_BITS)) as i64;
}

/// Adds the non-negative integer in `digits` (then zeroed), negated when
/// `negative`, to `target` as one exactly representable piece per digit.
fn flush_digits(digits: &mut [i64; DIGITS], negative: bool, target: &mut ExactSum) {
    let mut carry = 0i64;
    for digit in digits.iter_mut() {
        let v = *digit + carry;
        carry = v >> DIGIT_BITS;
        *digit = v & DIGIT_MASK;
    }
    // The window keeps every sum below 2⁹⁰⁰: nothing reaches the top digit.
    debug_assert_eq!(carry, 0);
    for (index, digit) in digits.iter_mut().enumerate() {
        if *digit != 0 {
            // < 2³² times a power of two between 2⁻⁹¹⁴ and 2⁹⁰⁰: exact.
            let piece = *digit as f64 * power_of_two((index * DIGIT_BITS) as i32 - 1074);
            target.add(if negative { -piece } else { piece });
            *digit = 0;
        }
    }
}

/// Adds the integer `value` to `target` in 48-bit pieces (each exact).
fn add_wide_integer(target: &mut ExactSum, magnitude: u128, negative: bool) {
    for k in 0..3i32 {
        let piece = ((magnitude >> (48 * k)) & ((1 << 48) - 1)) as f64;
        if piece != 0.0 {
            let piece = piece * power_of_two(48 * k);
            target.add(if negative { -piece } else { piece });
        }
    }
}

/// Exact sums of the floats of one batch (at most
/// [`MAX_VALUES_PER_FLUSH`] between flushes).
///
/// Values are first summed per binary exponent: for each exponent seen,
/// `Σm` of the positive values, `Σm` of the negative ones and `Σm²` (`m` the
/// 53-bit integer mantissa; at most 2²⁰ values keep them below 2⁷³ and
/// 2¹²⁶), so a value costs two additions and a multiplication. At the flush
/// each exponent's sums go to the digits at that exponent's position: the
/// same exact integers as adding every value there, so the same digits.
pub(super) struct FloatSums {
    /// Magnitudes of the positive (`[0]`) and negative (`[1]`) values.
    sums: [[i64; DIGITS]; 2],
    squares: [i64; DIGITS],
    /// `[Σm positive, Σm negative, Σm²]` of the values whose biased exponent
    /// is `first_exponent + i`, for a range of exponents grown as met.
    by_exponent: Vec<[u128; 3]>,
    first_exponent: u64,
}

impl FloatSums {
    pub(super) fn new() -> Self {
        Self {
            sums: [[0; DIGITS]; 2],
            squares: [0; DIGITS],
            by_exponent: Vec::new(),
            first_exponent: 0,
        }
    }

    /// Adds `x` and `x²` exactly if `x` is in the window; `false` (nothing
    /// added) otherwise.
    #[inline]
    pub(super) fn add(&mut self, x: f64) -> bool {
        let bits = x.to_bits();
        let biased_exponent = (bits >> 52) & 0x7ff;
        if !(MIN_BIASED_EXPONENT..END_BIASED_EXPONENT).contains(&biased_exponent) {
            return false;
        }
        let mantissa = u128::from((bits & FRACTION_MASK) | (1 << 52));
        let mut index = biased_exponent.wrapping_sub(self.first_exponent) as usize;
        if index >= self.by_exponent.len() {
            index = self.make_room(biased_exponent);
        }
        if let Some(bucket) = self.by_exponent.get_mut(index) {
            bucket[(bits >> 63) as usize] += mantissa;
            bucket[2] += mantissa * mantissa;
        }
        true
    }

    /// Grows the exponent range to hold `biased_exponent`; its index.
    #[cold]
    fn make_room(&mut self, biased_exponent: u64) -> usize {
        if self.by_exponent.is_empty() {
            self.first_exponent = biased_exponent;
            self.by_exponent.push([0; 3]);
        } else if biased_exponent < self.first_exponent {
            let missing = (self.first_exponent - biased_exponent) as usize;
            self.by_exponent
                .splice(0..0, std::iter::repeat_n([0; 3], missing));
            self.first_exponent = biased_exponent;
        } else {
            let len = (biased_exponent - self.first_exponent) as usize + 1;
            self.by_exponent.resize(len, [0; 3]);
        }
        (biased_exponent - self.first_exponent) as usize
    }

    /// Adds what was gathered to `moments` and starts over.
    pub(super) fn flush(&mut self, moments: &mut Moments) {
        for (offset, bucket) in self.by_exponent.iter_mut().enumerate() {
            let [positive, negative, squares] = std::mem::take(bucket);
            // x = m · 2^(position − 1074), as in ExactSum.
            let position = (self.first_exponent + offset as u64 - 1) as usize;
            add_wide_at(&mut self.sums[0], position, positive);
            add_wide_at(&mut self.sums[1], position, negative);
            // x² = m² · 2^((2·position − 1074) − 1074).
            add_wide_at(&mut self.squares, 2 * position - 1074, squares);
        }
        let [positive, negative] = &mut self.sums;
        flush_digits(positive, false, &mut moments.sum);
        flush_digits(negative, true, &mut moments.sum);
        flush_digits(&mut self.squares, false, &mut moments.sum_squares);
    }
}

/// Adds `value · 2^(position − 1074)` (any `u128`) to `digits`, in two
/// 64-bit halves.
fn add_wide_at(digits: &mut [i64; DIGITS], position: usize, value: u128) {
    if value != 0 {
        add_at(digits, position, value & u128::from(u64::MAX));
        add_at(digits, position + 64, value >> 64);
    }
}

/// Exact sums of the integers of one batch (at most
/// [`MAX_VALUES_PER_FLUSH`] between flushes).
#[derive(Default)]
pub(super) struct IntSums {
    sum: i128,
    squares: u128,
}

impl IntSums {
    /// Adds `x` and `x²` exactly if `|x| ≤ 2⁵³`; `false` (nothing added)
    /// otherwise.
    #[inline]
    pub(super) fn add(&mut self, x: i64) -> bool {
        let magnitude = x.unsigned_abs();
        if magnitude > MAX_EXACT_INT {
            return false;
        }
        self.sum += i128::from(x);
        self.squares += u128::from(magnitude) * u128::from(magnitude);
        true
    }

    /// Adds what was gathered to `moments` and starts over.
    pub(super) fn flush(&mut self, moments: &mut Moments) {
        let sum = std::mem::take(&mut self.sum);
        add_wide_integer(&mut moments.sum, sum.unsigned_abs(), sum < 0);
        let squares = std::mem::take(&mut self.squares);
        add_wide_integer(&mut moments.sum_squares, squares, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn per_value_floats(values: &[f64]) -> Moments {
        let mut m = Moments::default();
        for x in values {
            m.add_float(*x);
        }
        m
    }

    fn batched_floats(values: &[f64]) -> Moments {
        let mut m = Moments::default();
        let mut sums = FloatSums::new();
        for x in values {
            if sums.add(*x) {
                m.count += 1;
            } else {
                m.add_float(*x);
            }
        }
        sums.flush(&mut m);
        m
    }

    fn per_value_ints(values: &[i64]) -> Moments {
        let mut m = Moments::default();
        for x in values {
            m.add_int(*x);
        }
        m
    }

    fn batched_ints(values: &[i64]) -> Moments {
        let mut m = Moments::default();
        let mut sums = IntSums::default();
        for x in values {
            if *x != 0 && sums.add(*x) {
                m.count += 1;
            } else {
                m.add_int(*x);
            }
        }
        sums.flush(&mut m);
        m
    }

    #[test]
    fn window_edges_and_extremes_match_per_value_sums() {
        let edges = [
            libm::ldexp(1.0, -400),
            -(libm::ldexp(1.0, -400)),
            libm::ldexp(1.0, 400) * (1.0 - f64::EPSILON),
            libm::ldexp(1.0, 400),
            libm::ldexp(1.0, -401),
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            -f64::MAX,
            1.0 + f64::EPSILON,
            -0.1,
            0.0,
            -0.0,
        ];
        assert_eq!(batched_floats(&edges), per_value_floats(&edges));
        let ints = [
            1i64 << 53,
            -(1 << 53),
            (1 << 53) + 1,
            i64::MAX,
            i64::MIN,
            -1,
            0,
        ];
        assert_eq!(batched_ints(&ints), per_value_ints(&ints));
    }

    proptest! {
        #[test]
        fn batch_sums_equal_per_value_sums(
            floats in proptest::collection::vec(
                prop_oneof![any::<f64>().prop_filter("not NaN", |x| !x.is_nan()), -1e9f64..1e9, Just(0.0)],
                0..300),
            ints in proptest::collection::vec(
                prop_oneof![any::<i64>(), -1_000_000i64..1_000_000, Just(1i64 << 53)], 0..300),
        ) {
            let (fast, slow) = (batched_floats(&floats), per_value_floats(&floats));
            prop_assert_eq!(&fast, &slow);
            prop_assert_eq!(fast.mean_and_std_dev().0.to_bits(), slow.mean_and_std_dev().0.to_bits());
            prop_assert_eq!(batched_ints(&ints), per_value_ints(&ints));
        }
    }
}
