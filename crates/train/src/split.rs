//! Deterministic train/eval splits: the same rows go to evaluation on every
//! run, on every machine, however the file is cut into batches.
//!
//! The rule lives in mlrig-core ([`mlrig_core::SplitRule`], so `mlrig-ingest` can keep one
//! side while reading, with exactly the same assignment) and is re-exported:
//! [`SplitRule`] at the crate root, [`key_hash`] and [`is_key_type`] here.
//! Its errors are [`mlrig_core::Error`]s, which convert into
//! [`TrainError::Core`](crate::TrainError::Core) with `?`.
//!
//! * [`SplitRule::Modulo`]: row `i` (0-based, counted over the whole input)
//!   is an eval row iff `i % modulus` is one of `eval_remainders`.
//! * [`SplitRule::HashKey`]: a key (a key column's value, or the row number
//!   in decimal) is hashed with [`key_hash`] (FNV-1a 64 then `fmix64`, fixed
//!   forever; a Python definition is on [`mlrig_core::SplitRule`]); the row is an
//!   eval row iff the top 53 bits of the hash, as a fraction of 2⁵³, are below
//!   `eval_fraction`.
//!
//! ```
//! use mlrig_train::{SplitRule, split::key_hash};
//! assert_eq!(key_hash(""), 0xefd0_1f60_ba99_2926);
//! let rule = SplitRule::modulo(5, vec![4])?;
//! assert!(rule.is_eval(9, None));
//! # Ok::<(), mlrig_train::TrainError>(())
//! ```

pub use mlrig_core::{is_key_type, key_hash};

#[cfg(doc)]
use crate::SplitRule;
