//! Deterministic train/eval splits: [`SplitRule`], [`key_hash`], [`is_key_type`].

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, BooleanArray, PrimitiveArray, RecordBatch};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How rows are assigned to training or evaluation.
///
/// Deterministic train/eval splits: the same rows go to evaluation on every
/// run, on every machine, however the input is cut into batches or threads.
///
/// Shared by `mlrig-ingest` (keep one side while reading) and `mlrig-train`
/// (split batches already in memory), so both assign every row the same way.
///
/// * [`SplitRule::Modulo`]: row `i` (0-based, counted over the whole input)
///   is an eval row iff `i % modulus` is one of `eval_remainders`; e.g.
///   `i % 5 == 4` holds out every fifth row.
/// * [`SplitRule::HashKey`]: a key — a key column's value, or the row number
///   written in decimal when there is no key column — is hashed with
///   [`key_hash`]; the row is an eval row iff the top 53 bits of the hash, as
///   a fraction of 2⁵³, are below `eval_fraction`. With a key column the
///   split also survives reordering the file or appending rows: a key always
///   lands on the same side.
///
/// A key column holds strings (`Utf8`, `LargeUtf8`, `Utf8View`; the key is
/// the stored text, byte for byte) or integers (any signed or unsigned width;
/// the key is the value in decimal, e.g. `-7`), and no nulls.
///
/// [`key_hash`] is FNV-1a 64 (offset basis `0xcbf29ce484222325`, prime
/// `0x100000001b3`) over the key's UTF-8 bytes, followed by MurmurHash3's
/// 64-bit finaliser (`fmix64`), which spreads FNV's weakly mixed high bits.
/// It is fixed forever: changing it would silently move rows between train
/// and eval. In Python:
///
/// ```text
/// def key_hash(key: str) -> int:
///     h = 0xcbf29ce484222325
///     for b in key.encode():
///         h = ((h ^ b) * 0x100000001b3) % 2**64
///     h ^= h >> 33; h = (h * 0xff51afd7ed558ccd) % 2**64
///     h ^= h >> 33; h = (h * 0xc4ceb9fe1a85ec53) % 2**64
///     return h ^ (h >> 33)
///
/// def is_eval(key: str, eval_fraction: float) -> bool:
///     return (key_hash(key) >> 11) / 2**53 < eval_fraction
///
/// assert key_hash("") == 0xefd01f60ba992926
/// assert key_hash("user-42") == 0xa39532c7ab051e8d
/// ```
///
/// ```
/// use mlrig_core::SplitRule;
/// let rule = SplitRule::modulo(5, vec![4])?;
/// assert!(rule.is_eval(4, None) && rule.is_eval(9, None));
/// assert!(!rule.is_eval(0, None) && !rule.is_eval(5, None));
///
/// let rule = SplitRule::hash_key(0.2)?;
/// assert_eq!(rule.is_eval(123, Some("user-42")), rule.is_eval(999, Some("user-42")));
/// // Without a key, the row number is the key.
/// assert_eq!(rule.is_eval(7, None), rule.is_eval(0, Some("7")));
/// # Ok::<(), mlrig_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
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
    /// use mlrig_core::SplitRule;
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
    /// use mlrig_core::SplitRule;
    /// assert!(SplitRule::hash_key(1.5).is_err());
    /// assert!(SplitRule::hash_key(0.25).is_ok());
    /// ```
    pub fn hash_key(eval_fraction: f64) -> Result<Self> {
        let rule = SplitRule::HashKey { eval_fraction };
        rule.check()?;
        Ok(rule)
    }

    /// Validates the rule (useful after deserialising one from a config):
    /// an [`Error::InvalidParameter`] naming `modulus`, `eval_remainders` or
    /// `eval_fraction`.
    ///
    /// ```
    /// use mlrig_core::SplitRule;
    /// let rule: SplitRule = serde_json::from_str(r#"{"type":"modulo","modulus":5,"eval_remainders":[4]}"#).unwrap();
    /// assert!(rule.check().is_ok());
    /// let rule: SplitRule = serde_json::from_str(r#"{"type":"hash_key","eval_fraction":-1}"#).unwrap();
    /// assert_eq!(rule.check().unwrap_err().to_string(), "invalid parameter `eval_fraction`: must be in [0, 1], got -1");
    /// ```
    pub fn check(&self) -> Result<()> {
        let invalid = |name: &str, reason: String| {
            Err(Error::InvalidParameter {
                name: name.into(),
                reason,
            })
        };
        match self {
            SplitRule::Modulo {
                modulus,
                eval_remainders,
            } => {
                if *modulus == 0 {
                    return invalid("modulus", "must be at least 1".into());
                }
                if let Some(r) = eval_remainders.iter().find(|r| *r >= modulus) {
                    return invalid(
                        "eval_remainders",
                        format!("remainder {r} is not below the modulus {modulus}"),
                    );
                }
            }
            SplitRule::HashKey { eval_fraction } => {
                if !(0.0..=1.0).contains(eval_fraction) {
                    return invalid(
                        "eval_fraction",
                        format!("must be in [0, 1], got {eval_fraction}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Whether the rule reads a key column when one is given: `true` for
    /// [`SplitRule::HashKey`], `false` for [`SplitRule::Modulo`] (which only
    /// looks at row numbers).
    ///
    /// ```
    /// use mlrig_core::SplitRule;
    /// assert!(SplitRule::hash_key(0.1)?.uses_key());
    /// assert!(!SplitRule::modulo(5, vec![4])?.uses_key());
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn uses_key(&self) -> bool {
        matches!(self, SplitRule::HashKey { .. })
    }

    /// `true` when the row goes to evaluation. `row_number` is the 0-based
    /// row index over the whole input; `key` is the key column's value for
    /// [`SplitRule::HashKey`] (the row number in decimal when `None`) and is
    /// ignored by [`SplitRule::Modulo`]. An unchecked rule with modulus 0
    /// sends every row to training.
    ///
    /// ```
    /// use mlrig_core::SplitRule;
    /// let all = SplitRule::hash_key(1.0)?;
    /// let none = SplitRule::hash_key(0.0)?;
    /// assert!(all.is_eval(3, None) && !none.is_eval(3, None));
    /// # Ok::<(), mlrig_core::Error>(())
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

    /// For every row of `batch`, whether it goes to evaluation. `first_row`
    /// is the global row number of the batch's first row; `key_column` names
    /// the key column for [`SplitRule::HashKey`] and is not read by
    /// [`SplitRule::Modulo`].
    ///
    /// Errors: the rule is invalid ([`Error::InvalidParameter`]); the key
    /// column is absent ([`Error::InvalidParameter`] for `key_column`,
    /// listing the columns); it is not a string or integer column, or a key
    /// is null ([`Error::InvalidField`], the null one naming its global row
    /// as the instance).
    ///
    /// ```
    /// use mlrig_core::SplitRule;
    /// use mlrig_core::arrow_array::{ArrayRef, RecordBatch, StringArray};
    /// use std::sync::Arc;
    /// let keys = StringArray::from(vec![Some("a"), None]);
    /// let batch = RecordBatch::try_from_iter([("user", Arc::new(keys) as ArrayRef)]).unwrap();
    /// let rule = SplitRule::hash_key(0.5)?;
    /// let e = rule.eval_mask(&batch, 100, Some("user")).unwrap_err();
    /// assert_eq!(e.to_string(), "instance 101, field `user`: expected a split key, found null");
    /// assert_eq!(rule.eval_mask(&batch.slice(0, 1), 0, Some("user"))?, [rule.is_eval(0, Some("a"))]);
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn eval_mask(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        key_column: Option<&str>,
    ) -> Result<Vec<bool>> {
        self.check()?;
        let row_number = |i: usize| first_row.saturating_add(i as u64);
        match key_column {
            Some(column) if self.uses_key() => {
                let array =
                    batch
                        .column_by_name(column)
                        .ok_or_else(|| Error::InvalidParameter {
                            name: "key_column".into(),
                            reason: format!(
                                "column `{column}` not found; available columns: {}",
                                crate::column_list(batch.schema_ref())
                            ),
                        })?;
                let keys = key_strings(column, array.as_ref(), first_row)?;
                Ok(keys
                    .iter()
                    .enumerate()
                    .map(|(i, key)| self.is_eval(row_number(i), Some(key)))
                    .collect())
            }
            _ => Ok((0..batch.num_rows())
                .map(|i| self.is_eval(row_number(i), None))
                .collect()),
        }
    }

    /// Splits a batch into `(train, eval)` batches (same schema, rows in
    /// their original order); the rows are those of
    /// [`SplitRule::eval_mask`], with the same errors.
    ///
    /// ```
    /// use mlrig_core::SplitRule;
    /// use mlrig_core::arrow_array::{RecordBatch, Int64Array, ArrayRef, cast::AsArray, types::Int64Type};
    /// use std::sync::Arc;
    /// let ids: Vec<i64> = (10..20).collect();
    /// let batch = RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(ids)) as ArrayRef)]).unwrap();
    /// // The batch starts at global row 10, so rows 14 and 19 are held out.
    /// let (train, eval) = SplitRule::modulo(5, vec![4])?.split_batch(&batch, 10, None)?;
    /// assert_eq!(eval.column(0).as_primitive::<Int64Type>().values(), &[14, 19]);
    /// assert_eq!(train.num_rows(), 8);
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn split_batch(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        key_column: Option<&str>,
    ) -> Result<(RecordBatch, RecordBatch)> {
        let eval = self.eval_mask(batch, first_row, key_column)?;
        let train_mask = BooleanArray::from(eval.iter().map(|e| !e).collect::<Vec<_>>());
        let eval_mask = BooleanArray::from(eval);
        Ok((
            arrow_select::filter::filter_record_batch(batch, &train_mask)?,
            arrow_select::filter::filter_record_batch(batch, &eval_mask)?,
        ))
    }
}

/// Whether a column of this type can hold split keys: strings (`Utf8`,
/// `LargeUtf8`, `Utf8View`) and integers of any width.
///
/// ```
/// use mlrig_core::arrow_schema::DataType;
/// use mlrig_core::is_key_type;
/// assert!(is_key_type(&DataType::Utf8) && is_key_type(&DataType::UInt16));
/// assert!(!is_key_type(&DataType::Float64) && !is_key_type(&DataType::Boolean));
/// ```
pub fn is_key_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// The stable split hash: FNV-1a 64 of the UTF-8 bytes, then `fmix64`
/// (see the module docs for the exact definition).
///
/// ```
/// use mlrig_core::key_hash;
/// assert_eq!(key_hash(""), 0xefd0_1f60_ba99_2926);
/// assert_eq!(key_hash("a"), key_hash("a"));
/// assert_ne!(key_hash("a"), key_hash("b"));
/// ```
pub fn key_hash(key: &str) -> u64 {
    fmix64(crate::fnv1a_64(key.as_bytes()))
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
    let keys = keys.ok_or_else(|| Error::InvalidField {
        instance: None,
        field: column.into(),
        expected: "a string or integer split key column".into(),
        found: format!("Arrow type {}", array.data_type()),
    })?;
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            key.ok_or_else(|| Error::InvalidField {
                instance: Some(
                    usize::try_from(first_row.saturating_add(i as u64)).unwrap_or(usize::MAX),
                ),
                field: column.into(),
                expected: "a split key".into(),
                found: "null".into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
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

    fn ids(batch: &RecordBatch) -> Vec<i64> {
        batch
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
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
        assert_eq!(key_hash(""), 0xefd0_1f60_ba99_2926);
        // The values asserted by the Python snippet of the module docs.
        assert_eq!(key_hash("user-42"), 0xa395_32c7_ab05_1e8d);
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
        let values: Vec<i64> = (0..23).collect();
        let names: Vec<String> = values.iter().map(|i| format!("k{i}")).collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(values.clone())) as ArrayRef),
            ("key", Arc::new(StringArray::from(names)) as ArrayRef),
        ])
        .unwrap();
        for (rule, key) in [
            (SplitRule::modulo(5, vec![4]).unwrap(), None),
            (SplitRule::modulo(3, vec![0, 2]).unwrap(), None),
            (SplitRule::modulo(3, vec![1]).unwrap(), Some("key")),
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
                train_ids.extend(ids(&t));
                eval_ids.extend(ids(&e));
            }
            assert_eq!(train_ids, ids(&train));
            assert_eq!(eval_ids, ids(&eval));
            assert_eq!(train.num_rows() + eval.num_rows(), 23);
        }
    }

    #[test]
    fn integer_and_string_keys_hash_their_decimal_text() {
        let batch = RecordBatch::try_from_iter([
            ("i", Arc::new(Int64Array::from(vec![-7, 0, 42])) as ArrayRef),
            (
                "s",
                Arc::new(StringArray::from(vec!["-7", "0", "42"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let rule = SplitRule::hash_key(0.5).unwrap();
        let by_int = rule.eval_mask(&batch, 0, Some("i")).unwrap();
        assert_eq!(by_int, rule.eval_mask(&batch, 9, Some("s")).unwrap());
        let expected: Vec<bool> = ["-7", "0", "42"]
            .iter()
            .map(|k| hash_fraction(reference_hash(k)) < 0.5)
            .collect();
        assert_eq!(by_int, expected);
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
        assert_eq!(ids(&eval), [4, 9]);
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
            "instance 101, field `k`: expected a split key, found null"
        );
        assert!(e.is_invalid_input());
        let e = rule.split_batch(&batch, 0, Some("f")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `f`: expected a string or integer split key column, found Arrow type Float64"
        );
        let e = rule.split_batch(&batch, 0, Some("nope")).unwrap_err();
        assert!(e.to_string().contains("available columns: k, f"), "{e}");
        // Modulo never reads the key column.
        let modulo = SplitRule::modulo(2, vec![1]).unwrap();
        assert_eq!(
            modulo.eval_mask(&batch, 0, Some("nope")).unwrap(),
            [false, true]
        );
        let bad = SplitRule::Modulo {
            modulus: 0,
            eval_remainders: vec![],
        };
        assert!(matches!(
            bad.split_batch(&batch, 0, None),
            Err(Error::InvalidParameter { .. })
        ));
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
        let rule = SplitRule::hash_key(0.2).unwrap();
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(json, r#"{"type":"hash_key","eval_fraction":0.2}"#);
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

        #[test]
        fn train_and_eval_partition_any_batch(
            rows in 0usize..60,
            cut in 0usize..60,
            fraction in 0.0..=1.0f64,
            first_row in 0u64..1_000_000,
            keyed in any::<bool>(),
        ) {
            let values: Vec<i64> = (0..rows as i64).collect();
            let batch = RecordBatch::try_from_iter([(
                "id",
                Arc::new(Int64Array::from(values.clone())) as ArrayRef,
            )])
            .unwrap();
            let rule = SplitRule::hash_key(fraction).unwrap();
            let key = keyed.then_some("id");
            let (train, eval) = rule.split_batch(&batch, first_row, key).unwrap();
            let mut all: Vec<i64> = ids(&train).into_iter().chain(ids(&eval)).collect();
            all.sort_unstable();
            prop_assert_eq!(all, values);
            // Two pieces give the same sides as one.
            let cut = cut.min(rows);
            let (t1, e1) = rule.split_batch(&batch.slice(0, cut), first_row, key).unwrap();
            let (t2, e2) = rule
                .split_batch(&batch.slice(cut, rows - cut), first_row + cut as u64, key)
                .unwrap();
            prop_assert_eq!([ids(&t1), ids(&t2)].concat(), ids(&train));
            prop_assert_eq!([ids(&e1), ids(&e2)].concat(), ids(&eval));
        }
    }
}
