//! [`DistinctCounter`]: exact counts of distinct string values, bounded in
//! memory, mergeable bit for bit.
//!
//! Up to `cap` distinct values every count is exact. Beyond the cap the
//! counter keeps the `cap` values with the smallest `(hash, value)` — a
//! bottom-k sample whose membership depends only on the *set* of values seen,
//! never on their order or on how the data was split:
//!
//! * a value is dropped only when `cap` kept values are smaller than it, so it
//!   cannot be among the `cap` smallest of any superset; hence
//! * every value kept at the end was never dropped anywhere, and its count is
//!   exact;
//! * `overflowed` is set exactly when more than `cap` distinct values were seen.
//!
//! From the moment a counter overflows it also feeds every value's hash into
//! a [`HyperLogLog`] (seeded with the values it kept, which were then *all*
//! the values it had seen). A merge seeds it the same way from a side that
//! never overflowed, so the registers always describe the full set of values
//! and [`DistinctCounter::distinct_count`] is exact up to the cap and an
//! estimate (≈ 0.8 % standard error) beyond it.
//!
//! The hash (FNV-1a 64 with a SplitMix64 finalizer) is fixed and platform
//! independent, because serialized counters from other machines are merged.

use std::collections::{BTreeMap, HashMap};

use mlrig_core::arrow_array::{Array, StringArray};
use serde::{Deserialize, Serialize};

use crate::hll::HyperLogLog;

/// A value with its fixed hash; ordered by hash, then value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct HashedValue {
    hash: u64,
    value: String,
}

impl HashedValue {
    fn new(value: String) -> Self {
        Self {
            hash: stable_hash(value.as_bytes()),
            value,
        }
    }
}

/// A `(hash, value)` view, so the counts can be looked up by a borrowed
/// `&str` (with its hash) without building a [`HashedValue`].
trait ValueKey {
    fn key(&self) -> (u64, &str);
}

impl ValueKey for HashedValue {
    fn key(&self) -> (u64, &str) {
        (self.hash, &self.value)
    }
}

impl ValueKey for (u64, &str) {
    fn key(&self) -> (u64, &str) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn ValueKey + 'a> for HashedValue {
    fn borrow(&self) -> &(dyn ValueKey + 'a) {
        self
    }
}

impl PartialEq for dyn ValueKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for dyn ValueKey + '_ {}

impl PartialOrd for dyn ValueKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The same order as [`HashedValue`]'s derived one: hash, then value.
impl Ord for dyn ValueKey + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// Hasher of the per-batch tally in [`DistinctCounter::add_all`]: a
/// multiply-rotate hash over 8-byte words (the tally lives for one batch and
/// never leaves the process, so it needs speed, not stability or DoS
/// resistance; the counts do not depend on it).
#[derive(Default)]
struct TallyHasher(u64);

impl std::hash::Hasher for TallyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        // Mix the high bits down: hashbrown takes the top 7 bits as tags and
        // the low bits as the bucket.
        self.0 ^ (self.0 >> 29)
    }
}

type BuildTallyHasher = std::hash::BuildHasherDefault<TallyHasher>;

/// The bytes `data[start..end]` and their length packed into one integer
/// (distinct for distinct byte strings), when there are at most 7 of them.
#[inline]
fn packed(data: &[u8], start: usize, end: usize) -> Option<u64> {
    let len = end.checked_sub(start).filter(|len| *len <= 7)?;
    let mut word = [0u8; 8];
    match data.get(start..start + 8) {
        // One unaligned load, the bytes past the value masked off below.
        Some(eight) => word.copy_from_slice(eight),
        None => word[..len].copy_from_slice(data.get(start..end)?),
    }
    let mask = u64::MAX.checked_shr(64 - 8 * len as u32).unwrap_or(0);
    Some((u64::from_le_bytes(word) & mask) | ((len as u64) << 56))
}

/// FNV-1a 64 followed by the SplitMix64 finalizer (so the low-order
/// structure of FNV does not bias which values are kept).
fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h = mlrig_core::fnv1a_64(bytes);
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Exact, capped counts of distinct values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "DistinctCounterRepr", from = "DistinctCounterRepr")]
pub(crate) struct DistinctCounter {
    cap: usize,
    counts: BTreeMap<HashedValue, u64>,
    overflowed: bool,
    /// Present exactly when `overflowed`.
    distinct_estimate: Option<HyperLogLog>,
}

impl DistinctCounter {
    /// An empty counter that keeps at most `cap` distinct values.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            counts: BTreeMap::new(),
            overflowed: false,
            distinct_estimate: None,
        }
    }

    /// The HyperLogLog, created (from every value kept so far) on first use.
    fn estimator(&mut self) -> &mut HyperLogLog {
        let counts = &self.counts;
        self.distinct_estimate.get_or_insert_with(|| {
            let mut hll = HyperLogLog::default();
            for key in counts.keys() {
                hll.add_hash(key.hash);
            }
            hll
        })
    }

    /// Adds the values of one batch (tallied first, so each distinct value
    /// of the batch costs one map operation).
    #[cfg(test)]
    pub(crate) fn add_all<'a>(&mut self, values: impl Iterator<Item = &'a str>) {
        let mut tally: HashMap<&str, u64, BuildTallyHasher> = HashMap::default();
        for v in values {
            *tally.entry(v).or_insert(0) += 1;
        }
        for (value, count) in tally {
            self.add_str(value, count);
        }
    }

    /// Adds the non-null values of one string column.
    ///
    /// The batch is tallied first, so each distinct value of the batch costs
    /// one map operation on the counts. Values of at most 7 bytes are tallied
    /// by an integer packing their bytes and length (no string hashing or
    /// comparison), longer ones by `&str`.
    pub(crate) fn add_strings(&mut self, values: &StringArray) {
        let data = values.value_data();
        let offsets = values.value_offsets();
        let nulls = values.nulls().filter(|n| n.null_count() > 0);
        // Packed short value → (count, a row holding it).
        let mut short: HashMap<u64, (u64, usize), BuildTallyHasher> = HashMap::default();
        let mut long: HashMap<&str, u64, BuildTallyHasher> = HashMap::default();
        for (row, bounds) in offsets.windows(2).enumerate() {
            if nulls.is_some_and(|n| n.is_null(row)) {
                continue;
            }
            let (start, end) = (bounds[0] as usize, bounds[1] as usize);
            match packed(data, start, end) {
                Some(key) => short.entry(key).or_insert((0, row)).0 += 1,
                None => *long.entry(values.value(row)).or_insert(0) += 1,
            }
        }
        for (count, row) in short.into_values() {
            self.add_str(values.value(row), count);
        }
        for (value, count) in long {
            self.add_str(value, count);
        }
    }

    /// Adds `count` occurrences of `value`.
    fn add_str(&mut self, value: &str, count: u64) {
        let hash = stable_hash(value.as_bytes());
        if let Some(c) = self.counts.get_mut(&(hash, value) as &dyn ValueKey) {
            *c = c.saturating_add(count);
            return;
        }
        self.add(
            HashedValue {
                hash,
                value: value.to_string(),
            },
            count,
        );
    }

    fn add(&mut self, key: HashedValue, count: u64) {
        if let Some(c) = self.counts.get_mut(&key) {
            *c = c.saturating_add(count);
            return;
        }
        if let Some(hll) = &mut self.distinct_estimate {
            hll.add_hash(key.hash);
        }
        if self.counts.len() < self.cap {
            self.counts.insert(key, count);
            return;
        }
        self.overflowed = true;
        self.estimator().add_hash(key.hash);
        let larger_than_all_kept = self
            .counts
            .last_key_value()
            .is_none_or(|(largest, _)| key > *largest);
        if !larger_than_all_kept {
            self.counts.pop_last();
            self.counts.insert(key, count);
        }
    }

    /// Adds everything `other` counted.
    pub(crate) fn merge(&mut self, other: DistinctCounter) {
        self.overflowed |= other.overflowed;
        if let Some(theirs) = &other.distinct_estimate {
            self.estimator().merge(theirs);
        }
        for (key, count) in other.counts {
            self.add(key, count);
        }
    }

    /// `true` when `value` is among the kept values.
    pub(crate) fn contains(&self, value: &str) -> bool {
        self.counts
            .contains_key(&HashedValue::new(value.to_string()))
    }

    /// `true` when more than `cap` distinct values were seen.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Number of distinct values: exact when not [`overflowed`](Self::overflowed),
    /// otherwise the HyperLogLog estimate (never below `cap + 1`, which is
    /// known to be exceeded).
    pub(crate) fn distinct_count(&self) -> u64 {
        match &self.distinct_estimate {
            Some(hll) if self.overflowed => {
                let floor = self.cap as u64 + 1;
                (hll.estimate().round() as u64).max(floor)
            }
            _ => self.counts.len() as u64,
        }
    }

    /// The kept values with their counts, most frequent first, ties by value.
    pub(crate) fn by_frequency(&self) -> Vec<(&str, u64)> {
        let mut entries: Vec<(&str, u64)> = self
            .counts
            .iter()
            .map(|(k, c)| (k.value.as_str(), *c))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        entries
    }
}

/// Serialized form: values in value order (hashes are recomputed on reading).
#[derive(Serialize, Deserialize)]
struct DistinctCounterRepr {
    cap: usize,
    overflowed: bool,
    counts: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    distinct_estimate: Option<HyperLogLog>,
}

impl From<DistinctCounter> for DistinctCounterRepr {
    fn from(counter: DistinctCounter) -> Self {
        Self {
            cap: counter.cap,
            overflowed: counter.overflowed,
            counts: counter
                .counts
                .into_iter()
                .map(|(k, c)| (k.value, c))
                .collect(),
            distinct_estimate: counter.distinct_estimate,
        }
    }
}

impl From<DistinctCounterRepr> for DistinctCounter {
    fn from(repr: DistinctCounterRepr) -> Self {
        let mut counter = DistinctCounter::new(repr.cap);
        counter.overflowed = repr.overflowed;
        counter.distinct_estimate = repr.distinct_estimate;
        for (value, count) in repr.counts {
            counter.add(HashedValue::new(value), count);
        }
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counter_of(cap: usize, values: &[String]) -> DistinctCounter {
        let mut c = DistinctCounter::new(cap);
        c.add_all(values.iter().map(String::as_str));
        c
    }

    #[test]
    fn exact_below_the_cap() {
        let values: Vec<String> = ["a", "b", "a", "c", "a", "b"].map(String::from).to_vec();
        let c = counter_of(10, &values);
        assert!(!c.overflowed());
        assert_eq!(c.by_frequency(), vec![("a", 3), ("b", 2), ("c", 1)]);
    }

    #[test]
    fn beyond_the_cap_unique_is_a_hyperloglog_estimate() {
        let values: Vec<String> = (0..50_000).map(|i| format!("v{i}")).collect();
        let c = counter_of(100, &values);
        assert!(c.overflowed());
        let estimate = c.distinct_count() as f64;
        assert!((estimate - 50_000.0).abs() < 50_000.0 * 0.04, "{estimate}");
        // Split in two, merged: the same registers.
        let (a, b) = values.split_at(20_000);
        let mut left = counter_of(100, a);
        left.merge(counter_of(100, b));
        assert_eq!(left, c);
    }

    #[test]
    fn hash_is_stable() {
        // Pinned: a change would alter which values are kept beyond the cap.
        assert_eq!(stable_hash(b""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(stable_hash(b"Private"), 0x44c2_59e2_b435_53f3);
    }

    proptest! {
        #[test]
        fn string_columns_count_like_value_by_value(
            values in proptest::collection::vec(
                proptest::option::of(prop_oneof!["[a-c]{0,9}", "[äé€x]{0,4}", Just(String::new())]),
                0..200),
            cap in 0usize..40,
            offset in 0usize..5,
        ) {
            let array = StringArray::from(values.clone());
            // A sliced array starts its offsets past zero.
            let offset = offset.min(values.len());
            let sliced = array.slice(offset, values.len() - offset);
            let mut fast = DistinctCounter::new(cap);
            fast.add_strings(&sliced);
            let mut slow = DistinctCounter::new(cap);
            slow.add_all(values[offset..].iter().flatten().map(String::as_str));
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn capped_counts_do_not_depend_on_split_or_order(
            values in proptest::collection::vec("[a-h]{1,2}", 0..120),
            cap in 0usize..12,
            split in 0usize..120,
            reverse in any::<bool>(),
        ) {
            let whole = counter_of(cap, &values);
            let split = split.min(values.len());
            let (left, right) = values.split_at(split);
            let (mut a, b) = if reverse {
                (counter_of(cap, right), counter_of(cap, left))
            } else {
                (counter_of(cap, left), counter_of(cap, right))
            };
            a.merge(b);
            prop_assert_eq!(&a, &whole);
            // Kept counts are exact.
            for (value, count) in whole.by_frequency() {
                prop_assert_eq!(count as usize, values.iter().filter(|v| *v == value).count());
            }
            let distinct: std::collections::BTreeSet<&String> = values.iter().collect();
            prop_assert_eq!(whole.overflowed(), distinct.len() > cap);
            prop_assert_eq!(whole.distinct_estimate.is_some(), whole.overflowed());
            if !whole.overflowed() {
                prop_assert_eq!(whole.distinct_count(), distinct.len() as u64);
            } else {
                // Linear counting is essentially exact for a handful of values.
                prop_assert!(whole.distinct_count().abs_diff(distinct.len() as u64) <= 1);
            }
            // Serde keeps the state.
            let json = serde_json::to_string(&whole).unwrap();
            let back: DistinctCounter = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, whole);
        }
    }
}
