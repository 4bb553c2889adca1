//! Stable hashing of category values: 64-bit FNV-1a over the value's text
//! (`true`/`false`, the decimal integer, or the UTF-8 string), the same on
//! every platform and release, so out-of-vocabulary buckets, hashed features
//! and crosses never move between training and serving.

use crate::input_column::CategoryValue;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// An FNV-1a 64 hasher.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv1a(u64);

impl Fnv1a {
    pub(crate) fn new() -> Self {
        Fnv1a(FNV_OFFSET)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// Feeds a category value's text form.
    pub(crate) fn write_value(&mut self, value: CategoryValue<'_>) {
        match value {
            CategoryValue::Bool(b) => self.write(if b { b"true" } else { b"false" }),
            CategoryValue::Int(i) => self.write(i.to_string().as_bytes()),
            CategoryValue::Text(s) => self.write(s.as_bytes()),
        }
    }

    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

/// The FNV-1a hash of one value.
pub(crate) fn hash_value(value: CategoryValue<'_>) -> u64 {
    let mut hasher = Fnv1a::new();
    hasher.write_value(value);
    hasher.finish()
}

/// The FNV-1a hash of a pair of values (a feature cross); the separator byte
/// `0xFF` never occurs in UTF-8, so `("ab", "c")` and `("a", "bc")` differ.
pub(crate) fn hash_pair(first: CategoryValue<'_>, second: CategoryValue<'_>) -> u64 {
    let mut hasher = Fnv1a::new();
    hasher.write_value(first);
    hasher.write(&[0xFF]);
    hasher.write_value(second);
    hasher.finish()
}

/// The bucket (`hash mod buckets`) and sign (`+1` when the top bit is clear,
/// `−1` otherwise) of a hash.
pub(crate) fn bucket_and_sign(hash: u64, buckets: u32) -> (usize, f64) {
    let bucket = (hash % u64::from(buckets.max(1))) as usize;
    let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
    (bucket, sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(hash_value(CategoryValue::Text("")), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash_value(CategoryValue::Text("a")), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            hash_value(CategoryValue::Text("foobar")),
            0x8594_4171_f739_67e8
        );
        assert_eq!(
            hash_value(CategoryValue::Int(12)),
            hash_value(CategoryValue::Text("12"))
        );
        assert_eq!(
            hash_value(CategoryValue::Bool(true)),
            hash_value(CategoryValue::Text("true"))
        );
        assert_ne!(
            hash_pair(CategoryValue::Text("ab"), CategoryValue::Text("c")),
            hash_pair(CategoryValue::Text("a"), CategoryValue::Text("bc"))
        );
        assert_eq!(bucket_and_sign(7, 4), (3, 1.0));
        assert_eq!(bucket_and_sign(u64::MAX, 4), (3, -1.0));
    }
}
