//! [`ValueCounts`]: the value counts behind vocabularies and most-frequent
//! imputation, bounded in memory.
//!
//! Counts are exact while a column has at most `capacity` distinct values
//! (default [`DEFAULT_COUNT_CAPACITY`]). In that regime a merge is exact:
//! any split of the data, merged in any order, gives the same counts as one
//! pass, bit for bit (no part ever holds more distinct values than the
//! whole, so no part is ever pruned).
//!
//! Beyond it the counter becomes a Misra–Gries summary (the mergeable form of
//! Agarwal et al., *Mergeable Summaries*, 2012): when more than `capacity`
//! values are held, the `(capacity/2 + 1)`-th largest count `c` is
//! subtracted from every count and the values left at zero or below are
//! dropped, which leaves at most `capacity/2` values. `c` is added to
//! the counter's `error_bound` (a merge adds both sides' bounds). Each
//! prune removes at least `(capacity/2 + 1) · c` from the total count, so
//! with `N` counted values:
//!
//! * the bound is at most `N / (capacity/2 + 1)`;
//! * a kept count is at most the bound *below* the true count (never above);
//! * a value not kept occurred at most `bound` times, so every value seen
//!   more than `bound` times is kept: the most frequent values are found.
//!
//! In the capped regime which values survive, and their counts, depend on
//! how the data was split and merged (within the bound): the fitted result
//! is reproducible for a fixed split, not across splits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyzer::count_pairs;

/// The default number of distinct values counted exactly per column: far
/// more than a one-hot encoding is useful for, a few MB of memory.
pub(crate) const DEFAULT_COUNT_CAPACITY: usize = 65_536;

/// Value counts, exact up to `capacity` distinct values and a bounded
/// Misra–Gries summary beyond (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize", deserialize = "K: Deserialize<'de>"))]
pub(crate) struct ValueCounts<K: Ord> {
    capacity: usize,
    #[serde(with = "count_pairs")]
    counts: BTreeMap<K, u64>,
    /// The sum of the counts subtracted by pruning: 0 while exact.
    error_bound: u64,
}

impl<K: Ord> Default for ValueCounts<K> {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_COUNT_CAPACITY)
    }
}

impl<K: Ord> ValueCounts<K> {
    /// Empty counts, exact up to `capacity` (at least 2) distinct values.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(2),
            counts: BTreeMap::new(),
            error_bound: 0,
        }
    }

    /// The number of distinct values counted exactly.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counts `value` `count` more times.
    pub(crate) fn add(&mut self, value: K, count: u64) {
        *self.counts.entry(value).or_insert(0) += count;
        if self.counts.len() > self.capacity {
            self.prune();
        }
    }

    /// Adds `other`'s counts (and bound). Exact while the two together hold
    /// at most `capacity` distinct values.
    pub(crate) fn merge(&mut self, other: ValueCounts<K>) {
        self.capacity = self.capacity.max(other.capacity);
        self.error_bound += other.error_bound;
        for (value, count) in other.counts {
            *self.counts.entry(value).or_insert(0) += count;
        }
        if self.counts.len() > self.capacity {
            self.prune();
        }
    }

    /// `true` while every count is exact (no value was ever pruned).
    pub(crate) fn is_exact(&self) -> bool {
        self.error_bound == 0
    }

    /// How far below its true count a kept count may be; also the most a
    /// value that is not kept can have occurred. 0 while exact.
    pub(crate) fn error_bound(&self) -> u64 {
        self.error_bound
    }

    /// The kept values and their (lower-bound) counts, sorted by value.
    pub(crate) fn counts(&self) -> &BTreeMap<K, u64> {
        &self.counts
    }

    /// The kept values and their counts, sorted by value.
    pub(crate) fn into_counts(self) -> BTreeMap<K, u64> {
        self.counts
    }

    /// Subtracts the `(capacity/2 + 1)`-th largest count from every count
    /// and drops the values left at zero.
    fn prune(&mut self) {
        let keep = self.capacity / 2;
        let mut sorted: Vec<u64> = self.counts.values().copied().collect();
        if sorted.len() <= keep {
            return;
        }
        let (_, cut, _) = sorted.select_nth_unstable_by(keep, |a, b| b.cmp(a));
        let cut = *cut;
        self.counts.retain(|_, count| {
            *count = count.saturating_sub(cut);
            *count > 0
        });
        self.error_bound += cut;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(values: &[u16]) -> BTreeMap<u16, u64> {
        let mut counts = BTreeMap::new();
        for v in values {
            *counts.entry(*v).or_insert(0) += 1;
        }
        counts
    }

    /// Counts `values` split at `cuts`, merged in the order `order` picks.
    fn split_merge(
        values: &[u16],
        cuts: &[usize],
        capacity: usize,
        reverse: bool,
    ) -> ValueCounts<u16> {
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (values.len() + 1)).collect();
        bounds.extend([0, values.len()]);
        bounds.sort_unstable();
        let mut parts: Vec<ValueCounts<u16>> = bounds
            .windows(2)
            .map(|w| {
                let mut part = ValueCounts::with_capacity(capacity);
                for v in &values[w[0]..w[1]] {
                    part.add(*v, 1);
                }
                part
            })
            .collect();
        if reverse {
            parts.reverse();
        }
        let mut merged = ValueCounts::with_capacity(capacity);
        for part in parts {
            merged.merge(part);
        }
        merged
    }

    #[test]
    fn exact_up_to_the_capacity_then_bounded() {
        let mut counts = ValueCounts::with_capacity(4);
        for v in [1, 2, 3, 4, 1, 1] {
            counts.add(v, 1);
        }
        assert!(counts.is_exact());
        assert_eq!(
            counts.counts(),
            &BTreeMap::from([(1, 3), (2, 1), (3, 1), (4, 1)])
        );
        counts.add(5, 1);
        // Five values > 4: subtract the 3rd largest count (1), keep ≤ 2.
        assert!(!counts.is_exact());
        assert_eq!(counts.error_bound, 1);
        assert_eq!(counts.counts(), &BTreeMap::from([(1, 2)]));
        assert_eq!(counts.capacity(), 4);
        assert_eq!(counts.into_counts(), BTreeMap::from([(1, 2)]));
    }

    #[test]
    fn unique_values_stay_within_the_capacity() {
        let mut counts = ValueCounts::with_capacity(1000);
        for v in 0..100_000u32 {
            counts.add(v, 1);
            assert!(counts.counts().len() <= 1000);
        }
        counts.add(7, 500);
        assert!(counts.counts().len() <= 1000);
        assert!(counts.error_bound <= 100_500 / 501);
        assert!(counts.counts()[&7] >= 501 - counts.error_bound);
    }

    #[test]
    fn serde_round_trip() {
        let mut counts = ValueCounts::with_capacity(3);
        for v in ["b", "a", "b", "c", "d"] {
            counts.add(v.to_string(), 1);
        }
        let json = serde_json::to_string(&counts).unwrap();
        assert_eq!(json, r#"{"capacity":3,"counts":[["b",1]],"error_bound":1}"#);
        assert_eq!(
            serde_json::from_str::<ValueCounts<String>>(&json).unwrap(),
            counts
        );
    }

    proptest! {
        /// Exact regime: any split, either merge order == one pass, exactly.
        #[test]
        fn merge_of_parts_is_a_single_pass_while_exact(
            values in proptest::collection::vec(0u16..40, 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            reverse in any::<bool>(),
        ) {
            let merged = split_merge(&values, &cuts, 40, reverse);
            let single = split_merge(&values, &[], 40, false);
            prop_assert!(merged.is_exact());
            prop_assert_eq!(&merged, &single);
            prop_assert_eq!(merged.counts(), &exact(&values));
        }

        /// Capped regime: whatever the split, every kept count is within the
        /// bound below the truth, every dropped value occurred at most
        /// `bound` times, and the bound is at most N / (capacity/2 + 1).
        #[test]
        fn capped_counts_are_within_the_bound(
            values in proptest::collection::vec(
                prop_oneof![3 => 0u16..5, 2 => 0u16..2000], 0..3000),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            reverse in any::<bool>(),
            capacity in 2usize..64,
        ) {
            let merged = split_merge(&values, &cuts, capacity, reverse);
            let truth = exact(&values);
            let bound = merged.error_bound;
            prop_assert!(merged.counts().len() <= capacity);
            prop_assert!(bound <= values.len() as u64 / (capacity as u64 / 2 + 1));
            for (value, count) in &truth {
                match merged.counts().get(value) {
                    Some(kept) => prop_assert!(*kept <= *count && *kept + bound >= *count),
                    None => prop_assert!(*count <= bound),
                }
            }
            for value in merged.counts().keys() {
                prop_assert!(truth.contains_key(value));
            }
        }
    }
}
