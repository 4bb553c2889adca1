//! Test support shared by the `arbitrary_input` tests of mlrig's crates.
//!
//! Not published: each crate lists it as a path dev-dependency without a
//! version, which `cargo package` strips.
//!
//! - [`capped_allocator!`] gives a test binary a global allocator with a hard
//!   heap limit, so a decoder that trusts a length from a small adversarial
//!   input fails the test (the failed allocation aborts the binary) instead
//!   of passing or swapping the machine.
//! - [`cases`] is a [`ProptestConfig`] whose case count follows
//!   `PROPTEST_CASES` when it is set.
//! - [`Edit`] and [`Mix`] mutate a valid input the way a fuzzer would, plus
//!   structure-aware edits (duplicated runs and lines, spliced tokens,
//!   replaced numbers).
//!
//! ```
//! use mlrig_testkit::{Mix, cases};
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mix = Mix::splicing(vec!["{", "}", "NaN"]);
//! let mut runner = TestRunner::new(cases(16));
//! let tree = mix.mutate_text("{\"a\": 1}", 1..5).new_tree(&mut runner).unwrap();
//! let _mutated: String = tree.current();
//! ```

use std::ops::Range;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

#[doc(hidden)]
pub use cap;

/// Declares the test binary's global allocator with a hard heap limit, the
/// constant `HEAP_LIMIT` and the test `the_allocation_cap_is_armed`.
///
/// Written `capped_allocator!(256 MiB)` or with any `usize` expression in
/// bytes. A `#[global_allocator]` is per binary, hence a macro: call it once
/// at the top level of each test file that wants the limit.
///
/// ```
/// mlrig_testkit::capped_allocator!(64 MiB);
///
/// fn main() {
///     assert_eq!(HEAP_LIMIT, 64 * 1024 * 1024);
///     mlrig_testkit::assert_armed(&ALLOCATOR, HEAP_LIMIT);
/// }
/// ```
#[macro_export]
macro_rules! capped_allocator {
    ($mib:literal MiB) => {
        $crate::capped_allocator!($mib * 1024 * 1024);
    };
    ($limit:expr) => {
        /// The most heap the whole test binary may hold at once.
        const HEAP_LIMIT: usize = $limit;

        #[global_allocator]
        static ALLOCATOR: $crate::cap::Cap<::std::alloc::System> =
            $crate::cap::Cap::new(::std::alloc::System, HEAP_LIMIT);

        #[cfg(test)]
        #[test]
        fn the_allocation_cap_is_armed() {
            $crate::assert_armed(&ALLOCATOR, HEAP_LIMIT);
        }
    };
}

/// Asserts that `allocator` refuses a reservation just over `limit` (one any
/// test machine would otherwise grant) and holds less than `limit` now.
///
/// ```
/// use std::alloc::System;
/// use mlrig_testkit::cap::Cap;
///
/// // Not the global allocator: nothing goes through it, so nothing is held.
/// let allocator = Cap::new(System, 1024);
/// assert_eq!(allocator.allocated(), 0);
/// ```
pub fn assert_armed<H>(allocator: &cap::Cap<H>, limit: usize) {
    assert!(
        Vec::<u8>::new().try_reserve_exact(limit + 1).is_err(),
        "a reservation over the heap limit succeeded: is the capped allocator the global one?"
    );
    assert!(allocator.allocated() < limit);
}

/// A [`ProptestConfig`] with `default` cases, or `PROPTEST_CASES` when that
/// is set to a number.
///
/// ```
/// let config = mlrig_testkit::cases(64);
/// assert!(config.cases > 0);
/// ```
pub fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(cases)
}

/// One edit of a byte string. Positions are taken modulo the length, so any
/// edit applies to any input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Keep the first `i` bytes.
    Truncate(usize),
    /// XOR the byte at `i` with `b | 1` (so it always changes).
    Flip(usize, u8),
    /// Insert bytes at `i`.
    Insert(usize, Vec<u8>),
    /// Remove up to `n` bytes from `i`.
    Delete(usize, usize),
    /// Repeat the run of up to `n` bytes from `i` right after itself:
    /// duplicate fields, list elements, broken structure.
    Duplicate(usize, usize),
    /// Repeat the `i`-th line (its newline included) right after itself.
    DuplicateLine(usize),
    /// Insert a token at `i`.
    Splice(usize, &'static str),
    /// Replace the `i`-th number — a maximal run of `[-0-9.eE+]` that starts
    /// with a digit or `-` — by a token.
    Number(usize, &'static str),
}

impl Edit {
    /// Applies the edit to `bytes`.
    ///
    /// ```
    /// use mlrig_testkit::Edit;
    ///
    /// let mut bytes = b"{\"a\": 12, \"b\": 3}".to_vec();
    /// Edit::Number(1, "NaN").apply(&mut bytes);
    /// assert_eq!(bytes, b"{\"a\": 12, \"b\": NaN}");
    /// Edit::Truncate(4).apply(&mut bytes);
    /// assert_eq!(bytes, b"{\"a\"");
    /// ```
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        let at = |i: usize, len: usize| i % (len + 1);
        match self {
            Edit::Truncate(i) => {
                let n = at(*i, bytes.len());
                bytes.truncate(n);
            }
            Edit::Flip(i, b) => {
                let len = bytes.len();
                if let Some(byte) = bytes.get_mut(i.checked_rem(len).unwrap_or(0)) {
                    *byte ^= b | 1;
                }
            }
            Edit::Insert(i, new) => {
                let n = at(*i, bytes.len());
                bytes.splice(n..n, new.iter().copied());
            }
            Edit::Delete(i, len) => {
                let n = at(*i, bytes.len());
                let end = n.saturating_add(*len).min(bytes.len());
                bytes.drain(n..end);
            }
            Edit::Duplicate(i, len) => {
                let n = at(*i, bytes.len());
                let end = n.saturating_add(*len).min(bytes.len());
                let run = bytes[n..end].to_vec();
                bytes.splice(end..end, run);
            }
            Edit::DuplicateLine(i) => {
                let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
                if !lines.is_empty() {
                    let which = *i % lines.len();
                    let mut out = Vec::with_capacity(bytes.len() + lines[which].len());
                    for (k, line) in lines.iter().enumerate() {
                        out.extend_from_slice(line);
                        if k == which {
                            out.extend_from_slice(line);
                        }
                    }
                    *bytes = out;
                }
            }
            Edit::Splice(i, token) => {
                let n = at(*i, bytes.len());
                bytes.splice(n..n, token.bytes());
            }
            Edit::Number(i, replacement) => {
                let mut spans = Vec::new();
                let mut k = 0;
                while k < bytes.len() {
                    if bytes[k].is_ascii_digit() || bytes[k] == b'-' {
                        let start = k;
                        while k < bytes.len()
                            && matches!(bytes[k], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                        {
                            k += 1;
                        }
                        spans.push(start..k);
                    } else {
                        k += 1;
                    }
                }
                if !spans.is_empty() {
                    let span = spans[*i % spans.len()].clone();
                    bytes.splice(span, replacement.bytes());
                }
            }
        }
    }
}

/// Applies `edits` in order.
///
/// ```
/// use mlrig_testkit::{Edit, apply_all};
///
/// let mut bytes = b"a\nb\n".to_vec();
/// apply_all(&mut bytes, &[Edit::DuplicateLine(1), Edit::Splice(0, "#")]);
/// assert_eq!(bytes, b"#a\nb\nb\n");
/// ```
pub fn apply_all(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        edit.apply(bytes);
    }
}

/// The JSON punctuation every [`Mix::splicing`] splices, besides its own
/// tokens.
///
/// ```
/// assert!(mlrig_testkit::PUNCTUATION.contains(&"{"));
/// ```
pub const PUNCTUATION: [&str; 7] = ["\"", "{", "}", "[", "]", ":", ","];

/// How often each kind of [`Edit`] is drawn (relative weights; 0 leaves a
/// kind out) and its parameters.
///
/// ```
/// use mlrig_testkit::Mix;
///
/// // Mostly bit flips and replaced numbers; no truncation or insertion.
/// let mix = Mix {
///     truncate: 0,
///     insert: 0,
///     number: 6,
///     numbers: vec!["0", "-1", "1e308", "NaN"],
///     ..Mix::splicing(vec!["{", "}"])
/// };
/// let _strategy = mix.edit();
/// ```
#[derive(Debug, Clone)]
pub struct Mix {
    /// Weight of [`Edit::Truncate`].
    pub truncate: u32,
    /// Weight of [`Edit::Flip`].
    pub flip: u32,
    /// Weight of [`Edit::Insert`] (1–7 random bytes, or a run below).
    pub insert: u32,
    /// Inserts may also be a run of one byte, 1–4095 long (long strings).
    pub insert_runs: bool,
    /// Inserts may also be an invalid UTF-8 sequence.
    pub insert_invalid_utf8: bool,
    /// Weight of [`Edit::Delete`].
    pub delete: u32,
    /// Deletions remove fewer than this many bytes.
    pub delete_max: usize,
    /// Weight of [`Edit::Duplicate`].
    pub duplicate: u32,
    /// Duplicated runs are shorter than this.
    pub duplicate_max: usize,
    /// Weight of [`Edit::DuplicateLine`].
    pub duplicate_line: u32,
    /// Weight of [`Edit::Splice`].
    pub splice: u32,
    /// The tokens [`Edit::Splice`] inserts.
    pub tokens: Vec<&'static str>,
    /// Weight of [`Edit::Number`].
    pub number: u32,
    /// The replacements [`Edit::Number`] puts in place of a number.
    pub numbers: Vec<&'static str>,
}

impl Mix {
    /// The usual mix for text formats: truncations (1), flips (3), inserts
    /// with long runs (1), deletions under 64 bytes (1), duplicated runs under
    /// 256 bytes (1) and spliced tokens (4): [`PUNCTUATION`] and `tokens`.
    ///
    /// ```
    /// let mix = mlrig_testkit::Mix::splicing(vec!["NaN"]);
    /// assert_eq!((mix.flip, mix.splice, mix.tokens.len()), (3, 4, 8));
    /// ```
    pub fn splicing(tokens: Vec<&'static str>) -> Self {
        let mut all = PUNCTUATION.to_vec();
        all.extend(tokens.into_iter().filter(|t| !PUNCTUATION.contains(t)));
        Mix {
            truncate: 1,
            flip: 3,
            insert: 1,
            insert_runs: true,
            insert_invalid_utf8: false,
            delete: 1,
            delete_max: 64,
            duplicate: 1,
            duplicate_max: 256,
            duplicate_line: 0,
            splice: 4,
            tokens: all,
            number: 0,
            numbers: Vec::new(),
        }
    }

    /// A strategy drawing one [`Edit`] from the mix (an empty insertion
    /// when every weight is 0).
    ///
    /// ```
    /// use mlrig_testkit::{Edit, Mix};
    /// use proptest::strategy::{Strategy, ValueTree};
    /// use proptest::test_runner::TestRunner;
    ///
    /// let only_flips = Mix { truncate: 0, insert: 0, delete: 0, duplicate: 0, splice: 0,
    ///     ..Mix::splicing(Vec::new()) };
    /// let mut runner = TestRunner::default();
    /// let edit = only_flips.edit().new_tree(&mut runner).unwrap().current();
    /// assert!(matches!(edit, Edit::Flip(..)));
    /// ```
    pub fn edit(&self) -> BoxedStrategy<Edit> {
        let mut arms: Vec<(u32, BoxedStrategy<Edit>)> = Vec::new();
        if self.truncate > 0 {
            arms.push((
                self.truncate,
                any::<usize>().prop_map(Edit::Truncate).boxed(),
            ));
        }
        if self.flip > 0 {
            let flip = (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b));
            arms.push((self.flip, flip.boxed()));
        }
        if self.insert > 0 {
            let mut inserted = vec![prop::collection::vec(any::<u8>(), 1..8).boxed()];
            if self.insert_runs {
                let run = (any::<u8>(), 1usize..4096).prop_map(|(b, n)| vec![b; n]);
                inserted.push(run.boxed());
            }
            if self.insert_invalid_utf8 {
                inserted.push(Just(vec![0xff, 0xfe, 0xc3, 0x28]).boxed());
            }
            let insert = (any::<usize>(), Union::new(inserted))
                .prop_map(|(i, bytes)| Edit::Insert(i, bytes));
            arms.push((self.insert, insert.boxed()));
        }
        if self.delete > 0 {
            let delete =
                (any::<usize>(), 1..self.delete_max.max(2)).prop_map(|(i, n)| Edit::Delete(i, n));
            arms.push((self.delete, delete.boxed()));
        }
        if self.duplicate > 0 {
            let duplicate = (any::<usize>(), 1..self.duplicate_max.max(2))
                .prop_map(|(i, n)| Edit::Duplicate(i, n));
            arms.push((self.duplicate, duplicate.boxed()));
        }
        if self.duplicate_line > 0 {
            let line = any::<usize>().prop_map(Edit::DuplicateLine);
            arms.push((self.duplicate_line, line.boxed()));
        }
        if self.splice > 0 && !self.tokens.is_empty() {
            let splice = (any::<usize>(), prop::sample::select(self.tokens.clone()))
                .prop_map(|(i, t)| Edit::Splice(i, t));
            arms.push((self.splice, splice.boxed()));
        }
        if self.number > 0 && !self.numbers.is_empty() {
            let number = (any::<usize>(), prop::sample::select(self.numbers.clone()))
                .prop_map(|(i, t)| Edit::Number(i, t));
            arms.push((self.number, number.boxed()));
        }
        if arms.is_empty() {
            // Every weight 0: an edit that changes nothing.
            return Just(Edit::Insert(0, Vec::new())).boxed();
        }
        Union::new_weighted(arms).boxed()
    }

    /// A strategy for `edits` edits (a count in that range) from the mix.
    ///
    /// ```
    /// let _strategy = mlrig_testkit::Mix::splicing(vec!["["]).edits(1..4);
    /// ```
    pub fn edits(&self, edits: Range<usize>) -> BoxedStrategy<Vec<Edit>> {
        prop::collection::vec(self.edit(), edits).boxed()
    }

    /// `valid` after a number of edits in `edits`.
    ///
    /// ```
    /// let _strategy = mlrig_testkit::Mix::splicing(vec!["["]).mutate(b"[1, 2]".to_vec(), 1..5);
    /// ```
    pub fn mutate(&self, valid: Vec<u8>, edits: Range<usize>) -> BoxedStrategy<Vec<u8>> {
        self.edits(edits)
            .prop_map(move |edits| {
                let mut bytes = valid.clone();
                apply_all(&mut bytes, &edits);
                bytes
            })
            .boxed()
    }

    /// `valid` after a number of edits in `edits`, as text: invalid UTF-8 is
    /// replaced, as a reader that takes `&str` (or `read_to_string`) must.
    ///
    /// ```
    /// let _strategy = mlrig_testkit::Mix::splicing(vec!["="]).mutate_text("a = 1\n", 1..5);
    /// ```
    pub fn mutate_text(&self, valid: &str, edits: Range<usize>) -> BoxedStrategy<String> {
        self.mutate(valid.as_bytes().to_vec(), edits)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn edits_apply_to_empty_input() {
        for edit in [
            Edit::Truncate(3),
            Edit::Flip(5, 0),
            Edit::Insert(9, vec![1]),
            Edit::Delete(2, 4),
            Edit::Duplicate(1, 8),
            Edit::DuplicateLine(4),
            Edit::Splice(7, "x"),
            Edit::Number(1, "0"),
        ] {
            let mut bytes = Vec::new();
            edit.apply(&mut bytes);
            assert!(bytes.len() <= 1, "{edit:?} gave {bytes:?}");
        }
    }

    #[test]
    fn positions_wrap() {
        let mut bytes = b"abc".to_vec();
        Edit::Flip(4, 0).apply(&mut bytes); // 4 % 3 = 1, b ^= 1
        assert_eq!(bytes, b"acc");
        Edit::Duplicate(5, 2).apply(&mut bytes); // 5 % 4 = 1: "cc" again
        assert_eq!(bytes, b"acccc");
        Edit::Delete(usize::MAX, usize::MAX).apply(&mut bytes);
        assert_eq!(bytes, b"acc");
    }
}
