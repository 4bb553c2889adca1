//! Parsing the numbers CSV files are mostly made of — plain decimals such as
//! `-1.039984` or `42` — without the general parser, with the very same
//! results.
//!
//! [`parse_f64`] and [`parse_i64`] read `[+-]?digits[.digits]` (a float) and
//! `[+-]?digits` (an integer) directly; anything else (exponents, `inf`,
//! `NaN`, more digits than fit, other characters) goes to the standard
//! library's `str::parse`, which decides as before. The fast results are the
//! standard library's bit for bit:
//!
//! * an integer of at most 18 digits fits `i64` without overflow;
//! * a float `m / 10^k` with `m ≤ 2^53` and `k ≤ 22` is the quotient of two
//!   exactly representable `f64`s, and IEEE division rounds it correctly —
//!   the same correctly rounded value `str::parse::<f64>` returns (this is
//!   Clinger's fast path, the first step of the standard parser too). A
//!   negative zero stays negative.
//!
//! Property tests compare both on arbitrary text and on generated decimals.

/// `10^k` for `k` in `0..=22`: every one is exactly representable.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Largest mantissa whose conversion to `f64` is exact.
const MAX_EXACT_MANTISSA: u64 = 1 << 53;

/// Digits read at most on the fast path (19 digits cannot overflow `u64`).
const MAX_FAST_DIGITS: usize = 19;

/// The sign and the rest of `bytes`.
#[inline]
fn split_sign(bytes: &[u8]) -> (bool, &[u8]) {
    match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    }
}

/// The plain decimal `[+-]?digits[.digits]` in `text` as `f64`, when it
/// takes the fast path; `None` to ask the general parser.
#[inline]
fn fast_f64(text: &str) -> Option<f64> {
    let (negative, rest) = split_sign(text.as_bytes());
    // At most 19 digits and one point.
    if rest.is_empty() || rest.len() > MAX_FAST_DIGITS + 1 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut point = None;
    for (i, &b) in rest.iter().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit <= 9 {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
        } else if b == b'.' && point.is_none() {
            point = Some(i);
        } else {
            return None;
        }
    }
    let frac_digits = match point {
        None if rest.len() <= MAX_FAST_DIGITS => 0,
        // Digits on both sides of the point.
        Some(p) if p > 0 && p + 1 < rest.len() => rest.len() - p - 1,
        _ => return None,
    };
    if mantissa > MAX_EXACT_MANTISSA {
        return None;
    }
    let magnitude = mantissa as f64 / *POWERS_OF_TEN.get(frac_digits)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// `text.parse::<f64>().ok()`, faster for plain decimals.
#[inline]
pub(crate) fn parse_f64(text: &str) -> Option<f64> {
    match fast_f64(text) {
        Some(value) => Some(value),
        None => text.parse::<f64>().ok(),
    }
}

/// `text.parse::<i64>().ok()`, faster for up to 18 digits.
#[inline]
pub(crate) fn parse_i64(text: &str) -> Option<i64> {
    let (negative, rest) = split_sign(text.as_bytes());
    if (1..=18).contains(&rest.len()) {
        let mut value: i64 = 0;
        let mut all_digits = true;
        for &b in rest {
            let digit = b.wrapping_sub(b'0');
            all_digits &= digit <= 9;
            value = value.wrapping_mul(10).wrapping_add(i64::from(digit));
        }
        if all_digits {
            // At most 18 digits: below 10^18 < i64::MAX, no wrapping.
            return Some(if negative { -value } else { value });
        }
    }
    text.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_f64(text: &str) {
        let expected = text.parse::<f64>().ok().map(f64::to_bits);
        assert_eq!(parse_f64(text).map(f64::to_bits), expected, "{text:?}");
    }

    fn same_i64(text: &str) {
        assert_eq!(parse_i64(text), text.parse::<i64>().ok(), "{text:?}");
    }

    #[test]
    fn edge_cases_match_the_standard_parser() {
        for text in [
            "",
            "-",
            "+",
            ".",
            "-.",
            "0",
            "-0",
            "+0",
            "-0.0",
            "0.000000",
            "-0.000000",
            "1.",
            ".5",
            "-.5",
            "1.5e3",
            "1e5",
            "inf",
            "-inf",
            "NaN",
            "nan",
            "1,5",
            "1..2",
            "1.2.3",
            "--1",
            "+-1",
            " 1",
            "1 ",
            "0x10",
            "9007199254740992",
            "9007199254740993",
            "9007199254740993.0",
            "1234567890123456789",
            "12345678901234567890",
            "0.1234567890123456789",
            "1.0000000000000000000000001",
            "123456.7890123456789",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
            "1e-22",
            "4.9e-324",
            "179769313486231570000000000000000000000",
            "٣",
            "1.5\u{0}",
            "00000000000000000001.5",
        ] {
            same_f64(text);
            same_i64(text);
        }
        for text in [
            "999999999999999999",
            "-999999999999999999",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "+000000000000000042",
        ] {
            same_i64(text);
            same_f64(text);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_parses_as_the_standard_parser_does(text in "\\PC{0,24}") {
            same_f64(&text);
            same_i64(&text);
        }

        #[test]
        fn decimals_parse_as_the_standard_parser_does(
            text in "[+-]?[0-9]{0,20}(\\.[0-9]{0,24})?",
        ) {
            same_f64(&text);
            same_i64(&text);
        }

        #[test]
        fn printed_floats_parse_back_identically(x in any::<f64>(), digits in 0usize..20) {
            same_f64(&format!("{x:.digits$}"));
            same_f64(&format!("{x}"));
        }
    }
}
