//! [`Fnv1a64`]: the one hash of mlrig for values that are persisted or
//! must agree between processes (split keys, hashed features and
//! out-of-vocabulary buckets, distinct-value sketches). 64-bit FNV-1a over
//! bytes: fixed forever, the same on every platform and release, and
//! independent of `std`'s `Hasher` (whose `write_u64` & co. depend on
//! endianness and whose `DefaultHasher` may change between releases).
//!
//! Users that need better-mixed bits apply a finalizer on top (the split
//! uses MurmurHash3's `fmix64`, validate's distinct-value sketch
//! SplitMix64's); those are part of each persisted definition.

/// FNV-1a 64 offset basis.
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64 prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An incremental 64-bit FNV-1a hasher: feeding bytes in several pieces
/// gives the hash of their concatenation.
///
/// ```
/// use mlrig_core::Fnv1a64;
/// let mut hasher = Fnv1a64::new();
/// hasher.write(b"foo");
/// hasher.write(b"bar");
/// assert_eq!(hasher.finish(), 0x8594_4171_f739_67e8); // published test vector
/// assert_eq!(Fnv1a64::new().finish(), 0xcbf2_9ce4_8422_2325);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a64 {
    /// A hasher that has seen no bytes (its hash is the offset basis).
    ///
    /// ```
    /// use mlrig_core::Fnv1a64;
    /// assert_eq!(Fnv1a64::new(), Fnv1a64::default());
    /// ```
    pub const fn new() -> Self {
        Fnv1a64(OFFSET_BASIS)
    }

    /// Feeds `bytes`.
    ///
    /// ```
    /// use mlrig_core::Fnv1a64;
    /// let mut hasher = Fnv1a64::new();
    /// hasher.write(b"a");
    /// assert_eq!(hasher.finish(), 0xaf63_dc4c_8601_ec8c);
    /// ```
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    /// The hash of everything fed so far.
    ///
    /// ```
    /// use mlrig_core::Fnv1a64;
    /// assert_eq!(Fnv1a64::new().finish(), mlrig_core::fnv1a_64(b""));
    /// ```
    #[inline]
    pub fn finish(self) -> u64 {
        self.0
    }
}

/// The 64-bit FNV-1a hash of `bytes`.
///
/// ```
/// assert_eq!(mlrig_core::fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
/// ```
#[inline]
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv1a64::new();
    hasher.write(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_test_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    proptest! {
        #[test]
        fn pieces_hash_as_their_concatenation(a in any::<Vec<u8>>(), b in any::<Vec<u8>>()) {
            let mut hasher = Fnv1a64::new();
            hasher.write(&a);
            hasher.write(&b);
            prop_assert_eq!(hasher.finish(), fnv1a_64(&[a, b].concat()));
        }
    }
}
