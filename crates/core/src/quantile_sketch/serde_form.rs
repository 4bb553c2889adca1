//! The serialized form of a [`QuantileSketch`] and its consistency checks
//! on reading.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SketchParams;
use super::sketch::{QuantileSketch, add_count};
use crate::OrderedF64;

/// Exact value counts, written as a list of `[value, count]` pairs (JSON
/// object keys can only be strings).
struct ExactPairs<'a>(&'a BTreeMap<OrderedF64, u64>);

impl Serialize for ExactPairs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(v, c)| (v.get(), *c)))
    }
}

/// The serialized form: `{"negative", "zeros", "positive"}` (bucket key →
/// count), plus `"exact"` (`[[value, count], …]`) and `"overflowed"` when
/// `P` keeps exact counts.
impl<P: SketchParams> Serialize for QuantileSketch<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let exact_mode = P::EXACT_DISTINCT_LIMIT > 0;
        let fields = if exact_mode { 5 } else { 3 };
        let mut s = serializer.serialize_struct("QuantileSketch", fields)?;
        s.serialize_field("negative", &self.negative)?;
        s.serialize_field("zeros", &self.zeros)?;
        s.serialize_field("positive", &self.positive)?;
        if exact_mode {
            s.serialize_field("exact", &ExactPairs(&self.exact))?;
            s.serialize_field("overflowed", &self.overflowed)?;
        }
        s.end()
    }
}

#[derive(Deserialize)]
struct SketchRepr {
    negative: BTreeMap<i32, u64>,
    zeros: u64,
    positive: BTreeMap<i32, u64>,
    #[serde(default)]
    exact: Vec<(f64, u64)>,
    #[serde(default)]
    overflowed: bool,
}

/// Reads the form written by `Serialize` and checks that it is consistent
/// (exact counts add up to the bucket counts, at most the limit, no NaN).
impl<'de, P: SketchParams> Deserialize<'de> for QuantileSketch<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = SketchRepr::deserialize(deserializer)?;
        let mut sketch = Self {
            negative: repr.negative,
            zeros: repr.zeros,
            positive: repr.positive,
            exact: BTreeMap::new(),
            overflowed: repr.overflowed && P::EXACT_DISTINCT_LIMIT > 0,
            params: PhantomData,
        };
        if P::EXACT_DISTINCT_LIMIT == 0 {
            return Ok(sketch);
        }
        if sketch.overflowed {
            if !repr.exact.is_empty() {
                return Err(D::Error::custom(
                    "quantile sketch: `exact` must be empty when `overflowed` is true",
                ));
            }
            return Ok(sketch);
        }
        for (value, count) in repr.exact {
            if !value.is_finite() {
                return Err(D::Error::custom(format!(
                    "quantile sketch: `exact` holds the non-finite value {value}"
                )));
            }
            add_count(&mut sketch.exact, OrderedF64::new(value), count);
        }
        let exact_total = sketch
            .exact
            .values()
            .fold(0u64, |sum, c| sum.saturating_add(*c));
        if sketch.exact.len() > P::EXACT_DISTINCT_LIMIT || exact_total != sketch.count() {
            return Err(D::Error::custom(format!(
                "quantile sketch: `exact` holds {} distinct values counted {exact_total} times; \
                 expected at most {} distinct values counted {} times (the bucket total)",
                sketch.exact.len(),
                P::EXACT_DISTINCT_LIMIT,
                sketch.count()
            )));
        }
        Ok(sketch)
    }
}
