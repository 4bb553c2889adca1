//! [`OrderedF64`]: the one total-order `f64` of mlrig, a key for maps and
//! sets of float values (vocabularies of numbers, exact value counts).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// An `f64` with a total order ([`f64::total_cmp`]) and the equality that
/// goes with it, so it can key a `BTreeMap`/`BTreeSet`. `-0.0` is stored as
/// `0.0`, so the two zeros are one key; NaNs are ordered too (a positive NaN
/// after `+∞`), though mlrig never stores them.
///
/// Serialized as the plain number (a `-0.0` read back becomes `0.0`).
///
/// ```
/// use mlrig_core::OrderedF64;
/// use std::collections::BTreeSet;
///
/// let set: BTreeSet<OrderedF64> = [2.5, -0.0, 0.0, -1.0, f64::INFINITY]
///     .into_iter()
///     .map(OrderedF64::new)
///     .collect();
/// let values: Vec<f64> = set.iter().map(|v| v.get()).collect();
/// assert_eq!(values, [-1.0, 0.0, 2.5, f64::INFINITY]);
/// assert!(values[1].is_sign_positive());
/// assert_eq!(serde_json::to_string(&OrderedF64::new(2.5))?, "2.5");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(into = "f64", from = "f64")]
pub struct OrderedF64(f64);

impl OrderedF64 {
    /// `value`, with `-0.0` replaced by `0.0`.
    ///
    /// ```
    /// use mlrig_core::OrderedF64;
    /// assert!(OrderedF64::new(-0.0).get().is_sign_positive());
    /// assert_eq!(OrderedF64::new(-0.0), OrderedF64::new(0.0));
    /// ```
    pub fn new(value: f64) -> Self {
        // `-0.0 + 0.0 == +0.0` (round to nearest); every other value is unchanged.
        OrderedF64(value + 0.0)
    }

    /// The value.
    ///
    /// ```
    /// use mlrig_core::OrderedF64;
    /// assert_eq!(OrderedF64::new(1.5).get(), 1.5);
    /// ```
    pub fn get(self) -> f64 {
        self.0
    }
}

impl From<f64> for OrderedF64 {
    fn from(value: f64) -> Self {
        OrderedF64::new(value)
    }
}

impl From<OrderedF64> for f64 {
    fn from(value: OrderedF64) -> Self {
        value.0
    }
}

impl PartialEq for OrderedF64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}

impl Eq for OrderedF64 {}

impl PartialOrd for OrderedF64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedF64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl std::hash::Hash for OrderedF64 {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal values have equal bits (zeros are normalized).
        self.0.to_bits().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_is_total_and_matches_f64_on_numbers(a in any::<f64>(), b in any::<f64>()) {
            let (x, y) = (OrderedF64::new(a), OrderedF64::new(b));
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
            prop_assert_eq!(x == y, x.cmp(&y).is_eq());
            if !a.is_nan() && !b.is_nan() {
                prop_assert_eq!(x.cmp(&y), a.partial_cmp(&b).unwrap());
            }
            let json = serde_json::to_string(&x).unwrap();
            if a.is_finite() {
                prop_assert_eq!(serde_json::from_str::<OrderedF64>(&json).unwrap(), x);
            }
        }
    }

    #[test]
    fn zeros_are_one_key() {
        assert_eq!(OrderedF64::new(-0.0), OrderedF64::new(0.0));
        let back: OrderedF64 = serde_json::from_str("-0.0").unwrap();
        assert!(back.get().is_sign_positive());
    }
}
