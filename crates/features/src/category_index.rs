//! In-memory hash maps over category values: [`CategoryIndex`] (a one-hot
//! column's fitted categories → output position, built when a pipeline is
//! assembled or loaded) and [`FastMap`] (also used to count values at fit).
//!
//! Text categories of at most 15 bytes (country codes, most vocabularies)
//! are packed into a `u128` key, so a lookup hashes and compares integers.
//!
//! Both maps use [`WordHasher`], a multiply–rotate hasher over 8-byte words
//! (the `FxHash` family, as in rustc): several times faster than the default
//! SipHash on short category strings. It is *not* the stable FNV-1a of
//! [`hashing`](crate::hashing) — these maps never leave the process, so
//! their hash values never reach a feature. HashDoS resistance is not
//! needed: a serving lookup only reads a map fixed at fit, and fit counts
//! training data.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::input_column::{Category, CategoryValue};

const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

/// A fast, non-cryptographic hasher for in-process maps (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WordHasher {
    hash: u64,
}

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    #[inline]
    fn write_i64(&mut self, value: i64) {
        self.add(value as u64);
    }

    #[inline]
    fn write_u128(&mut self, value: u128) {
        self.add(value as u64);
        self.add((value >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the best-mixed bits at the top; hashbrown
        // takes the bucket from the low bits.
        self.hash.rotate_left(26)
    }
}

/// A `HashMap` with [`WordHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// The position of each fitted category of a one-hot column (categories
/// are of one type, the column's).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CategoryIndex {
    /// `false`, `true`.
    Bool([Option<usize>; 2]),
    /// Integer categories.
    Int(FastMap<i64, usize>),
    /// Text categories: those of at most 15 bytes packed into a `u128`
    /// (one multiply to hash, one compare to match), longer ones as strings.
    Text {
        short: FastMap<u128, usize>,
        long: FastMap<Box<str>, usize>,
    },
}

/// Longest text packed by [`pack_short`].
const SHORT_TEXT: usize = 15;

/// `text` (at most 15 bytes) and its length in one `u128`: two texts pack
/// equal iff they are equal.
#[inline]
fn pack_short(text: &str) -> Option<u128> {
    let bytes = text.as_bytes();
    if bytes.len() > SHORT_TEXT {
        return None;
    }
    let mut word = [0u8; 16];
    word[..bytes.len()].copy_from_slice(bytes);
    word[SHORT_TEXT] = bytes.len() as u8;
    Some(u128::from_le_bytes(word))
}

impl CategoryIndex {
    /// The index of `categories` (in their order).
    pub(crate) fn new(categories: &[Category]) -> Self {
        let mut bools = [None; 2];
        let mut ints = FastMap::default();
        let mut short = FastMap::default();
        let mut long = FastMap::default();
        for (position, category) in categories.iter().enumerate() {
            match category {
                Category::Bool(b) => bools[usize::from(*b)] = Some(position),
                Category::Int(i) => {
                    ints.insert(*i, position);
                }
                Category::Text(s) => match pack_short(s) {
                    Some(packed) => {
                        short.insert(packed, position);
                    }
                    None => {
                        long.insert(Box::from(s.as_str()), position);
                    }
                },
            }
        }
        match categories.first() {
            Some(Category::Int(_)) => CategoryIndex::Int(ints),
            Some(Category::Text(_)) => CategoryIndex::Text { short, long },
            _ => CategoryIndex::Bool(bools),
        }
    }

    /// The position of `value`, if it is a fitted category.
    #[inline]
    pub(crate) fn get(&self, value: CategoryValue<'_>) -> Option<usize> {
        match (self, value) {
            (CategoryIndex::Bool(positions), CategoryValue::Bool(b)) => positions[usize::from(b)],
            (CategoryIndex::Int(map), CategoryValue::Int(i)) => map.get(&i).copied(),
            (CategoryIndex::Text { short, long }, CategoryValue::Text(s)) => match pack_short(s) {
                Some(packed) => short.get(&packed).copied(),
                None => long.get(s).copied(),
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::hash::BuildHasher;

    fn text(values: &[&str]) -> Vec<Category> {
        values
            .iter()
            .map(|s| Category::Text(s.to_string()))
            .collect()
    }

    #[test]
    fn finds_exactly_the_fitted_categories() {
        let categories = text(&[
            "",
            "123456789012345",
            "1234567890123456",
            "Private",
            "Self-emp",
            "United-States-of-America",
            "a\0",
        ]);
        let index = CategoryIndex::new(&categories);
        for (position, category) in categories.iter().enumerate() {
            assert_eq!(index.get(category.as_value()), Some(position));
        }
        assert_eq!(index.get(CategoryValue::Text("a")), None);
        assert_eq!(index.get(CategoryValue::Text("12345678901234")), None);
        assert_eq!(index.get(CategoryValue::Text("123456789012345\0")), None);
        assert_eq!(index.get(CategoryValue::Text("United-States")), None);
        assert_eq!(index.get(CategoryValue::Text("private")), None);
        assert_eq!(index.get(CategoryValue::Int(0)), None);

        let ints = CategoryIndex::new(&[Category::Int(-3), Category::Int(7)]);
        assert_eq!(ints.get(CategoryValue::Int(7)), Some(1));
        assert_eq!(ints.get(CategoryValue::Int(8)), None);
        let bools = CategoryIndex::new(&[Category::Bool(true)]);
        assert_eq!(bools.get(CategoryValue::Bool(true)), Some(0));
        assert_eq!(bools.get(CategoryValue::Bool(false)), None);
        assert_eq!(CategoryIndex::new(&[]).get(CategoryValue::Bool(true)), None);
    }

    #[test]
    fn word_hasher_separates_lengths_and_bytes() {
        let hash = |s: &str| BuildHasherDefault::<WordHasher>::default().hash_one(s);
        assert_ne!(hash("a"), hash("a\0"));
        assert_ne!(hash("c4_001"), hash("c4_010"));
        assert_ne!(hash("abcdefgh"), hash("abcdefgh\0"));
    }

    proptest! {
        #[test]
        fn index_agrees_with_binary_search(
            fitted in proptest::collection::btree_set("[a-c\\x00é]{0,20}", 0..20),
            probes in proptest::collection::vec("[a-c\\x00é]{0,20}", 0..20),
        ) {
            let categories: Vec<Category> = fitted.into_iter().map(Category::Text).collect();
            let index = CategoryIndex::new(&categories);
            for probe in probes.iter().map(String::as_str).chain(categories.iter().filter_map(|c| match c {
                Category::Text(s) => Some(s.as_str()),
                _ => None,
            })) {
                let value = CategoryValue::Text(probe);
                let expected = categories.binary_search_by(|c| c.cmp_value(value)).ok();
                prop_assert_eq!(index.get(value), expected);
            }
        }
    }
}
