//! Deterministic train/eval splits: the same rows go to evaluation on every
//! run, on every machine, however the file is cut into batches.
//!
//! * [`SplitRule::Modulo`]: row `i` (0-based, counted over the whole input)
//!   is an eval row iff `i % modulus` is one of `eval_remainders`; e.g.
//!   `i % 5 == 4` holds out every fifth row.
//! * [`SplitRule::HashKey`]: a key — a key column's value, or the row number
//!   written in decimal when there is no key column — is hashed with
//!   [`key_hash`]; the row is an eval row iff the top 53 bits of the hash, as
//!   a fraction of 2⁵³, are below `eval_fraction`. With a key column the
//!   split also survives reordering the file or appending rows: a key always
//!   lands on the same side.
//!
//! [`key_hash`] is FNV-1a 64 (offset basis `0xcbf29ce484222325`, prime
//! `0x100000001b3`) over the key's UTF-8 bytes, followed by MurmurHash3's
//! 64-bit finaliser (`fmix64`), which spreads FNV's weakly mixed high bits.
//! It is fixed forever: changing it would silently move rows between train
//! and eval. In Python:
//!
//! ```text
//! def key_hash(key: str) -> int:
//!     h = 0xcbf29ce484222325
//!     for b in key.encode():
//!         h = ((h ^ b) * 0x100000001b3) % 2**64
//!     h ^= h >> 33; h = (h * 0xff51afd7ed558ccd) % 2**64
//!     h ^= h >> 33; h = (h * 0xc4ceb9fe1a85ec53) % 2**64
//!     return h ^ (h >> 33)
//! ```

use mlrig_core::arrow_array::cast::AsArray;
use mlrig_core::arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use mlrig_core::arrow_array::{
    Array, ArrowPrimitiveType, BooleanArray, PrimitiveArray, RecordBatch,
};
use mlrig_core::arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::target::column_of;

/// How rows are assigned to training or evaluation.
///
/// ```
/// use mlrig_train::SplitRule;
/// let rule = SplitRule::modulo(5, vec![4])?;
/// assert!(rule.is_eval(4, None) && rule.is_eval(9, None));
/// assert!(!rule.is_eval(0, None) && !rule.is_eval(5, None));
///
/// let rule = SplitRule::hash_key(0.2)?;
/// assert_eq!(rule.is_eval(123, Some("user-42")), rule.is_eval(999, Some("user-42")));
/// // Without a key, the row number is the key.
/// assert_eq!(rule.is_eval(7, None), rule.is_eval(0, Some("7")));
/// # Ok::<(), mlrig_train::TrainError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SplitRule {
    /// Row `i` is an eval row iff `i % modulus ∈ eval_remainders`.
    Modulo {
        /// The modulus (≥ 1).
        modulus: u64,
        /// Remainders (each `< modulus`) that select eval rows.
        eval_remainders: Vec<u64>,
    },
    /// A row is an eval row iff its key hashes below `eval_fraction` (see the module docs).
    HashKey {
        /// Expected fraction of eval rows, in `[0, 1]`.
        eval_fraction: f64,
    },
}

impl SplitRule {
    /// A checked [`SplitRule::Modulo`].
    ///
    /// ```
    /// use mlrig_train::SplitRule;
    /// assert!(SplitRule::modulo(0, vec![]).is_err());
    /// assert!(SplitRule::modulo(5, vec![5]).is_err());
    /// ```
    pub fn modulo(modulus: u64, eval_remainders: Vec<u64>) -> Result<Self> {
        let rule = SplitRule::Modulo {
            modulus,
            eval_remainders,
        };
        rule.check()?;
        Ok(rule)
    }

    /// A checked [`SplitRule::HashKey`].
    ///
    /// ```
    /// use mlrig_train::SplitRule;
    /// assert!(SplitRule::hash_key(1.5).is_err());
    /// assert!(SplitRule::hash_key(0.25).is_ok());
    /// ```
    pub fn hash_key(eval_fraction: f64) -> Result<Self> {
        let rule = SplitRule::HashKey { eval_fraction };
        rule.check()?;
        Ok(rule)
    }

    /// Validates the rule (useful after deserialising one from a config).
    ///
    /// ```
    /// use mlrig_train::SplitRule;
    /// let rule: SplitRule = serde_json::from_str(r#"{"type":"modulo","modulus":5,"eval_remainders":[4]}"#).unwrap();
    /// assert!(rule.check().is_ok());
    /// let rule: SplitRule = serde_json::from_str(r#"{"type":"hash_key","eval_fraction":-1}"#).unwrap();
    /// assert!(rule.check().is_err());
    /// ```
    pub fn check(&self) -> Result<()> {
        match self {
            SplitRule::Modulo {
                modulus,
                eval_remainders,
            } => {
                if *modulus == 0 {
                    return Err(TrainError::invalid_parameter(
                        "modulus",
                        "must be at least 1",
                    ));
                }
                if let Some(r) = eval_remainders.iter().find(|r| *r >= modulus) {
                    return Err(TrainError::invalid_parameter(
                        "eval_remainders",
                        format!("remainder {r} is not below the modulus {modulus}"),
                    ));
                }
            }
            SplitRule::HashKey { eval_fraction } => {
                if !(0.0..=1.0).contains(eval_fraction) {
                    return Err(TrainError::invalid_parameter(
                        "eval_fraction",
                        format!("must be in [0, 1], got {eval_fraction}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `true` when the row goes to evaluation. `row_number` is the 0-based
    /// row index over the whole input; `key` is the key column's value for
    /// [`SplitRule::HashKey`] (the row number in decimal when `None`) and is
    /// ignored by [`SplitRule::Modulo`]. An unchecked rule with modulus 0
    /// sends every row to training.
    ///
    /// ```
    /// use mlrig_train::SplitRule;
    /// let all = SplitRule::hash_key(1.0)?;
    /// let none = SplitRule::hash_key(0.0)?;
    /// assert!(all.is_eval(3, None) && !none.is_eval(3, None));
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn is_eval(&self, row_number: u64, key: Option<&str>) -> bool {
        match self {
            SplitRule::Modulo {
                modulus,
                eval_remainders,
            } => row_number
                .checked_rem(*modulus)
                .is_some_and(|r| eval_remainders.contains(&r)),
            SplitRule::HashKey { eval_fraction } => {
                let hash = match key {
                    Some(k) => key_hash(k),
                    None => key_hash(&row_number.to_string()),
                };
                hash_fraction(hash) < *eval_fraction
            }
        }
    }

    /// Splits a batch into `(train, eval)` batches (same schema, rows in
    /// their original order). `first_row` is the global row number of the
    /// batch's first row; `key_column` names the key column for
    /// [`SplitRule::HashKey`] (string or integer type, no nulls) and is not
    /// read by [`SplitRule::Modulo`].
    ///
    /// ```
    /// use mlrig_train::SplitRule;
    /// use mlrig_core::arrow_array::{RecordBatch, Int64Array, ArrayRef, cast::AsArray, types::Int64Type};
    /// use std::sync::Arc;
    /// let ids: Vec<i64> = (10..20).collect();
    /// let batch = RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(ids)) as ArrayRef)]).unwrap();
    /// // The batch starts at global row 10, so rows 14 and 19 are held out.
    /// let (train, eval) = SplitRule::modulo(5, vec![4])?.split_batch(&batch, 10, None)?;
    /// assert_eq!(eval.column(0).as_primitive::<Int64Type>().values(), &[14, 19]);
    /// assert_eq!(train.num_rows(), 8);
    /// # Ok::<(), mlrig_train::TrainError>(())
    /// ```
    pub fn split_batch(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        key_column: Option<&str>,
    ) -> Result<(RecordBatch, RecordBatch)> {
        self.check()?;
        let rows = batch.num_rows();
        let row_number = |i: usize| first_row.saturating_add(i as u64);
        let eval: Vec<bool> = match (self, key_column) {
            (SplitRule::HashKey { .. }, Some(column)) => {
                let keys = key_strings(column, column_of(batch, column)?.as_ref(), first_row)?;
                keys.iter()
                    .enumerate()
                    .map(|(i, key)| self.is_eval(row_number(i), Some(key)))
                    .collect()
            }
            _ => (0..rows)
                .map(|i| self.is_eval(row_number(i), None))
                .collect(),
        };
        let train_mask = BooleanArray::from(eval.iter().map(|e| !e).collect::<Vec<_>>());
        let eval_mask = BooleanArray::from(eval);
        Ok((
            arrow_select::filter::filter_record_batch(batch, &train_mask)?,
            arrow_select::filter::filter_record_batch(batch, &eval_mask)?,
        ))
    }
}

/// The stable split hash: FNV-1a 64 of the UTF-8 bytes, then `fmix64`
/// (see the module docs for the exact definition).
///
/// ```
/// use mlrig_train::split::key_hash;
/// assert_eq!(key_hash(""), 0xefd0_1f60_ba99_2926);
/// assert_eq!(key_hash("a"), key_hash("a"));
/// assert_ne!(key_hash("a"), key_hash("b"));
/// ```
pub fn key_hash(key: &str) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET_BASIS;
    for byte in key.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(PRIME);
    }
    fmix64(h)
}

/// MurmurHash3's 64-bit finaliser.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The top 53 bits of a hash as a fraction in `[0, 1)`.
fn hash_fraction(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

fn integer_keys<T: ArrowPrimitiveType>(array: &dyn Array) -> Option<Vec<Option<String>>>
where
    T::Native: std::fmt::Display,
{
    let typed: &PrimitiveArray<T> = array.as_primitive_opt::<T>()?;
    Some(typed.iter().map(|v| v.map(|v| v.to_string())).collect())
}

/// The key of every row as text; nulls are an error naming the global row.
fn key_strings(column: &str, array: &dyn Array, first_row: u64) -> Result<Vec<String>> {
    let owned = |v: Option<&str>| v.map(str::to_string);
    let keys: Option<Vec<Option<String>>> = match array.data_type() {
        DataType::Utf8 => array
            .as_string_opt::<i32>()
            .map(|a| a.iter().map(owned).collect()),
        DataType::LargeUtf8 => array
            .as_string_opt::<i64>()
            .map(|a| a.iter().map(owned).collect()),
        DataType::Utf8View => array
            .as_string_view_opt()
            .map(|a| a.iter().map(owned).collect()),
        DataType::Int64 => integer_keys::<Int64Type>(array),
        DataType::Int32 => integer_keys::<Int32Type>(array),
        DataType::Int16 => integer_keys::<Int16Type>(array),
        DataType::Int8 => integer_keys::<Int8Type>(array),
        DataType::UInt64 => integer_keys::<UInt64Type>(array),
        DataType::UInt32 => integer_keys::<UInt32Type>(array),
        DataType::UInt16 => integer_keys::<UInt16Type>(array),
        DataType::UInt8 => integer_keys::<UInt8Type>(array),
        _ => None,
    };
    let keys = keys.ok_or_else(|| TrainError::UnsupportedColumnType {
        column: column.into(),
        expected: "a string or integer split key column".into(),
        found: array.data_type().to_string(),
    })?;
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            key.ok_or_else(|| TrainError::NullKey {
                column: column.into(),
                row: first_row.saturating_add(i as u64),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::types::Int64Type;
    use mlrig_core::arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn reference_hash(key: &str) -> u64 {
        // A transcription of the Python definition in the module docs, with u128 arithmetic.
        let m: u128 = 1 << 64;
        let mut h: u128 = 0xcbf29ce484222325;
        for b in key.bytes() {
            h = ((h ^ u128::from(b)) * 0x100000001b3) % m;
        }
        h ^= h >> 33;
        h = (h * 0xff51afd7ed558ccd) % m;
        h ^= h >> 33;
        h = (h * 0xc4ceb9fe1a85ec53) % m;
        (h ^ (h >> 33)) as u64
    }

    #[test]
    fn hash_is_fnv1a_then_fmix64_and_frozen() {
        // FNV-1a 64 published test vectors, before the finaliser.
        let fnv = |s: &str| {
            s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
            })
        };
        assert_eq!(fnv(""), 0xcbf29ce484222325);
        assert_eq!(fnv("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv("foobar"), 0x85944171f73967e8);
        for key in ["", "a", "foobar", "4", "user-42", "ü"] {
            assert_eq!(key_hash(key), reference_hash(key), "{key}");
        }
        // Frozen values: a change here moves rows between train and eval.
        assert_eq!(key_hash("0"), reference_hash("0"));
        let frozen: Vec<bool> = (0..16)
            .map(|i| SplitRule::HashKey { eval_fraction: 0.5 }.is_eval(i, None))
            .collect();
        let expected: Vec<bool> = (0..16)
            .map(|i| hash_fraction(reference_hash(&i.to_string())) < 0.5)
            .collect();
        assert_eq!(frozen, expected);
    }

    #[test]
    fn hash_split_fraction_is_close_to_the_target() {
        let rule = SplitRule::hash_key(0.2).unwrap();
        let n = 100_000u64;
        let eval = (0..n).filter(|&i| rule.is_eval(i, None)).count() as f64 / n as f64;
        // Binomial standard deviation is 0.00126; allow 5 of them.
        assert!((eval - 0.2).abs() < 0.0065, "{eval}");
    }

    #[test]
    fn batches_split_the_same_as_one_pass() {
        let ids: Vec<i64> = (0..23).collect();
        let names: Vec<String> = ids.iter().map(|i| format!("k{i}")).collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
            ("key", Arc::new(StringArray::from(names)) as ArrayRef),
        ])
        .unwrap();
        for (rule, key) in [
            (SplitRule::modulo(5, vec![4]).unwrap(), None),
            (SplitRule::modulo(3, vec![0, 2]).unwrap(), None),
            (SplitRule::hash_key(0.3).unwrap(), None),
            (SplitRule::hash_key(0.3).unwrap(), Some("key")),
            (SplitRule::hash_key(0.6).unwrap(), Some("id")),
        ] {
            let (train, eval) = rule.split_batch(&batch, 0, key).unwrap();
            let mut train_ids = Vec::new();
            let mut eval_ids = Vec::new();
            for (start, len) in [(0usize, 8usize), (8, 7), (15, 8)] {
                let part = batch.slice(start, len);
                let (t, e) = rule.split_batch(&part, start as u64, key).unwrap();
                train_ids.extend(
                    t.column(0)
                        .as_primitive::<Int64Type>()
                        .values()
                        .iter()
                        .copied(),
                );
                eval_ids.extend(
                    e.column(0)
                        .as_primitive::<Int64Type>()
                        .values()
                        .iter()
                        .copied(),
                );
            }
            assert_eq!(
                train_ids,
                train
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            );
            assert_eq!(
                eval_ids,
                eval.column(0).as_primitive::<Int64Type>().values().to_vec()
            );
            assert_eq!(train.num_rows() + eval.num_rows(), 23);
        }
    }

    #[test]
    fn modulo_five_four_holds_out_every_fifth_row() {
        let batch = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from((0..10).collect::<Vec<i64>>())) as ArrayRef,
        )])
        .unwrap();
        let (train, eval) = SplitRule::modulo(5, vec![4])
            .unwrap()
            .split_batch(&batch, 0, None)
            .unwrap();
        assert_eq!(eval.column(0).as_primitive::<Int64Type>().values(), &[4, 9]);
        assert_eq!(train.num_rows(), 8);
        assert_eq!(train.schema(), batch.schema());
    }

    #[test]
    fn key_column_errors_name_column_and_row() {
        let batch = RecordBatch::try_from_iter([
            (
                "k",
                Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let rule = SplitRule::hash_key(0.5).unwrap();
        let e = rule.split_batch(&batch, 100, Some("k")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "split key column `k`: null key at row 101; every row needs a key"
        );
        let e = rule.split_batch(&batch, 0, Some("f")).unwrap_err();
        assert!(matches!(e, TrainError::UnsupportedColumnType { .. }), "{e}");
        let e = rule.split_batch(&batch, 0, Some("nope")).unwrap_err();
        assert!(e.to_string().contains("available columns: k, f"), "{e}");
        let bad = SplitRule::Modulo {
            modulus: 0,
            eval_remainders: vec![],
        };
        assert!(bad.split_batch(&batch, 0, None).is_err());
        assert!(!bad.is_eval(3, None));
    }

    #[test]
    fn serde_is_config_friendly() {
        let rule = SplitRule::modulo(5, vec![4]).unwrap();
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(
            json,
            r#"{"type":"modulo","modulus":5,"eval_remainders":[4]}"#
        );
        assert_eq!(serde_json::from_str::<SplitRule>(&json).unwrap(), rule);
    }

    proptest! {
        #[test]
        fn is_eval_matches_the_definition(row in any::<u64>(), modulus in 1u64..10, fraction in 0.0..=1.0f64, key in "\\PC{0,12}") {
            let rule = SplitRule::modulo(modulus, vec![modulus - 1]).unwrap();
            prop_assert_eq!(rule.is_eval(row, Some(&key)), row % modulus == modulus - 1);
            let rule = SplitRule::hash_key(fraction).unwrap();
            prop_assert_eq!(rule.is_eval(row, Some(&key)), hash_fraction(reference_hash(&key)) < fraction);
        }
    }
}
