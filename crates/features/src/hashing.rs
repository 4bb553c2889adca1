//! Stable hashing of category values: 64-bit FNV-1a
//! ([`mlrig_core::Fnv1a64`], the workspace's one persisted hash) over the
//! value's text (`true`/`false`, the decimal integer, or the UTF-8 string),
//! the same on every platform and release, so out-of-vocabulary buckets,
//! hashed features and crosses never move between training and serving.

use mlrig_core::Fnv1a64;

use crate::input_column::CategoryValue;

/// Feeds a category value's text form.
fn write_value(hasher: &mut Fnv1a64, value: CategoryValue<'_>) {
    match value {
        CategoryValue::Bool(b) => hasher.write(if b { b"true" } else { b"false" }),
        CategoryValue::Int(i) => hasher.write(i.to_string().as_bytes()),
        CategoryValue::Text(s) => hasher.write(s.as_bytes()),
    }
}

/// The FNV-1a hash of one value.
pub(crate) fn hash_value(value: CategoryValue<'_>) -> u64 {
    let mut hasher = Fnv1a64::new();
    write_value(&mut hasher, value);
    hasher.finish()
}

/// The FNV-1a hash of a pair of values (a feature cross); the separator byte
/// `0xFF` never occurs in UTF-8, so `("ab", "c")` and `("a", "bc")` differ.
pub(crate) fn hash_pair(first: CategoryValue<'_>, second: CategoryValue<'_>) -> u64 {
    let mut hasher = Fnv1a64::new();
    write_value(&mut hasher, first);
    hasher.write(&[0xFF]);
    write_value(&mut hasher, second);
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
