//! [`Split`]: keep one side of a deterministic train/eval split while
//! reading ([`ReadOptions::with_split`](crate::ReadOptions::with_split)).
//!
//! The assignment is mlrig-core's [`SplitRule`], the same code
//! `mlrig-train` uses, so a row lands on the same side whether it is split
//! at ingestion or later.
//!
//! See [`Split`] for how rows are numbered, what a key is and how rows
//! are counted.

use mlrig_core::arrow_array::{BooleanArray, RecordBatch};
use mlrig_core::arrow_schema::DataType;
use mlrig_core::{SplitRule, is_key_type};
use serde::{Deserialize, Serialize};

use crate::IngestError;

/// The reason given for a quarantined row whose split key is missing.
pub const MISSING_KEY_REASON: &str = "missing split key (null, empty, absent or a missing token); every row needs a key to be assigned to train or eval";

/// Which rows of a [`Split`] a reader returns.
///
/// ```
/// use mlrig_ingest::SplitSide;
/// assert!(SplitSide::Eval.keeps(true) && !SplitSide::Eval.keeps(false));
/// assert!(SplitSide::Train.keeps(false) && SplitSide::Both.keeps(true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SplitSide {
    /// The training rows (those [`SplitRule::is_eval`] sends to training).
    Train,
    /// The evaluation rows.
    Eval,
    /// Every accepted row; nothing is split off. Rows without a key are
    /// still quarantined, so splitting the batches afterwards with
    /// [`Split::split_batch`] (row numbers counted over the batches' rows)
    /// gives exactly the rows of the `Train` and `Eval` readers, in one pass.
    Both,
}

impl SplitSide {
    /// Whether a row that is (or is not) an eval row is kept.
    ///
    /// ```
    /// assert!(mlrig_ingest::SplitSide::Train.keeps(false));
    /// ```
    pub fn keeps(self, is_eval: bool) -> bool {
        match self {
            SplitSide::Train => !is_eval,
            SplitSide::Eval => is_eval,
            SplitSide::Both => true,
        }
    }
}

/// A deterministic train/eval split applied while reading: the rule, the
/// optional key column, and the side kept.
///
/// **Row numbers** are counted over the *accepted* rows (after sampling and
/// quarantine), 0-based, across all files in reading order: the first
/// accepted row of the second file follows the last accepted row of the
/// first. They do not depend on the batch size or the number of threads.
/// With a key column and [`SplitRule::HashKey`], row numbers are not used at
/// all, so the split does not depend on file order or row order either.
///
/// **Keys** are the key column's values as stored in the batch: `Utf8` text
/// byte for byte (not trimmed), `Int64` in decimal (`007` in a CSV `Int64`
/// column is the key `7`). Pin the key column's type with
/// [`with_column_type`](crate::InferenceOptions::with_column_type) when inference
/// could type it differently across inputs. A row whose key is null (empty,
/// a missing token, JSON `null` or absent, a Parquet null) is **quarantined** with the
/// reason [`MISSING_KEY_REASON`]; it is not an accepted row, so it takes no
/// row number.
///
/// **Accounting**: `rows_read == rows_accepted + rows_quarantined +
/// rows_sampled_out` still holds; `rows_split_off ≤ rows_accepted` counts
/// the accepted rows of the other side, which were not put in a batch. The
/// rows in the batches number `rows_accepted − rows_split_off`.
///
/// ```
/// use mlrig_ingest::{ReadOptions, Split, SplitRule, read_csv};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("users.csv");
/// let mut text = String::from("user,clicks\n");
/// for i in 0..100 { text.push_str(&format!("u{i},{i}\n")); }
/// std::fs::write(&path, text)?;
///
/// let split = Split::eval(SplitRule::hash_key(0.2)?).with_key_column("user");
/// let (_, batches, report) = read_csv(&path, ReadOptions::default().with_split(split))?;
/// let eval_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
/// let s = &report.summary;
/// assert_eq!(s.rows_accepted, 100);
/// assert_eq!(eval_rows as u64, s.rows_accepted - s.rows_split_off);
/// assert!(eval_rows > 5 && eval_rows < 40);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Split {
    /// Which rows are eval rows.
    pub rule: SplitRule,
    /// The column whose value is hashed by [`SplitRule::HashKey`] (`None`:
    /// the row number is hashed). Must be an `Int64` or `Utf8` column; not
    /// allowed with [`SplitRule::Modulo`], which only reads row numbers.
    pub key_column: Option<String>,
    /// The rows kept.
    pub side: SplitSide,
}

impl Split {
    /// A split keeping `side`, without a key column.
    ///
    /// ```
    /// use mlrig_ingest::{Split, SplitRule, SplitSide};
    /// let split = Split::new(SplitRule::modulo(5, vec![4])?, SplitSide::Both);
    /// assert_eq!(split.key_column, None);
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn new(rule: SplitRule, side: SplitSide) -> Self {
        Split {
            rule,
            key_column: None,
            side,
        }
    }

    /// A split keeping the training rows.
    ///
    /// ```
    /// use mlrig_ingest::{Split, SplitRule, SplitSide};
    /// assert_eq!(Split::train(SplitRule::hash_key(0.2)?).side, SplitSide::Train);
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn train(rule: SplitRule) -> Self {
        Split::new(rule, SplitSide::Train)
    }

    /// A split keeping the evaluation rows.
    ///
    /// ```
    /// use mlrig_ingest::{Split, SplitRule, SplitSide};
    /// assert_eq!(Split::eval(SplitRule::hash_key(0.2)?).side, SplitSide::Eval);
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    pub fn eval(rule: SplitRule) -> Self {
        Split::new(rule, SplitSide::Eval)
    }

    /// Hashes `column`'s value instead of the row number.
    ///
    /// ```
    /// use mlrig_ingest::{Split, SplitRule};
    /// let split = Split::eval(SplitRule::hash_key(0.2)?).with_key_column("user_id");
    /// assert_eq!(split.key_column.as_deref(), Some("user_id"));
    /// # Ok::<(), mlrig_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_key_column(mut self, column: impl Into<String>) -> Self {
        self.key_column = Some(column.into());
        self
    }

    /// Splits a batch of accepted rows into `(train, eval)`; `first_row` is
    /// the row number (over accepted rows) of the batch's first row. With
    /// [`SplitSide::Both`] this is how one pass yields both sides.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, Split, SplitRule, SplitSide, read_csv};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("n.csv");
    /// std::fs::write(&path, "n\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n")?;
    /// let split = Split::new(SplitRule::modulo(5, vec![4])?, SplitSide::Both);
    /// let options = ReadOptions::default().with_split(split.clone()).with_batch_size(3);
    /// let (_, batches, _) = read_csv(&path, options)?;
    /// let mut first_row = 0;
    /// let mut eval_rows = 0;
    /// for batch in &batches {
    ///     let (_train, eval) = split.split_batch(batch, first_row)?;
    ///     first_row += batch.num_rows() as u64;
    ///     eval_rows += eval.num_rows();
    /// }
    /// assert_eq!(eval_rows, 2); // rows 4 and 9
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split_batch(
        &self,
        batch: &RecordBatch,
        first_row: u64,
    ) -> Result<(RecordBatch, RecordBatch), IngestError> {
        Ok(self
            .rule
            .split_batch(batch, first_row, self.key_column.as_deref())?)
    }

    /// Checks the rule and that a key column comes with a rule that reads it.
    pub(crate) fn validate(&self) -> Result<(), IngestError> {
        let invalid = |reason: String| IngestError::InvalidOption {
            option: "split".into(),
            reason,
        };
        self.rule.check().map_err(|e| invalid(e.to_string()))?;
        if self.key_column.is_some() && !self.rule.uses_key() {
            return Err(invalid(
                "a key column is only read by the hash_key rule; the modulo rule splits by row number"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A [`Split`] resolved against a schema: what the readers apply.
#[derive(Debug, Clone)]
pub(crate) struct RowSplit {
    split: Split,
    /// Index of the key column, when the rule hashes one.
    key_index: Option<usize>,
}

impl RowSplit {
    /// Finds the key column among `columns` (name, type) of the table read
    /// from `file` and checks its type.
    pub(crate) fn resolve<'a>(
        split: &Split,
        columns: impl IntoIterator<Item = (&'a str, &'a DataType)>,
        file: &std::path::Path,
    ) -> Result<Self, IngestError> {
        let columns: Vec<(&str, &DataType)> = columns.into_iter().collect();
        let key_index = match &split.key_column {
            Some(key) if split.rule.uses_key() => {
                let Some(index) = columns.iter().position(|(name, _)| name == key) else {
                    let available: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
                    return Err(IngestError::InvalidOption {
                        option: "split key column".into(),
                        reason: format!(
                            "`{key}` is not a column of {}; the columns are: {}",
                            file.display(),
                            available.join(", ")
                        ),
                    });
                };
                let data_type = columns[index].1;
                if !is_key_type(data_type) {
                    return Err(IngestError::InvalidOption {
                        option: "split key column".into(),
                        reason: format!(
                            "`{key}` is {data_type}; a split key must be an Int64 or Utf8 column \
                             (force its type to Utf8: InferenceOptions::with_column_type, or \
                             `--column-type {key}=utf8` on the command line)"
                        ),
                    });
                }
                Some(index)
            }
            _ => None,
        };
        Ok(RowSplit {
            split: split.clone(),
            key_index,
        })
    }

    /// The index of the key column, if the rule hashes one.
    pub(crate) fn key_index(&self) -> Option<usize> {
        self.key_index
    }

    /// Whether accepted row `row` with key `key` (the key column's value;
    /// `None` without a key column) is kept.
    pub(crate) fn keeps_row(&self, row: u64, key: Option<&str>) -> bool {
        self.split.side.keeps(self.split.rule.is_eval(row, key))
    }

    /// Which rows of a batch of accepted rows starting at row `first_row`
    /// are kept; `None` when all are ([`SplitSide::Both`]).
    pub(crate) fn keep_mask(
        &self,
        batch: &RecordBatch,
        first_row: u64,
    ) -> Result<Option<BooleanArray>, IngestError> {
        if self.split.side == SplitSide::Both {
            return Ok(None);
        }
        let key = self
            .key_index
            .map(|i| batch.schema_ref().field(i).name().clone());
        let eval = self
            .split
            .rule
            .eval_mask(batch, first_row, key.as_deref())?;
        Ok(Some(
            eval.into_iter()
                .map(|e| Some(self.split.side.keeps(e)))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn validation_names_the_problem() {
        let bad = Split::train(SplitRule::HashKey { eval_fraction: 2.0 });
        let e = bad.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid option `split`: invalid parameter `eval_fraction`: must be in [0, 1], got 2"
        );
        let keyed_modulo =
            Split::train(SplitRule::modulo(5, vec![4]).unwrap()).with_key_column("k");
        assert!(
            keyed_modulo
                .validate()
                .unwrap_err()
                .to_string()
                .contains("hash_key")
        );
        assert!(
            Split::eval(SplitRule::hash_key(0.5).unwrap())
                .with_key_column("k")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn the_key_column_must_exist_and_be_text_or_integer() {
        let split = Split::eval(SplitRule::hash_key(0.5).unwrap()).with_key_column("k");
        let (utf8, float) = (DataType::Utf8, DataType::Float64);
        let ok =
            RowSplit::resolve(&split, [("a", &float), ("k", &utf8)], Path::new("t.csv")).unwrap();
        assert_eq!(ok.key_index(), Some(1));
        let e = RowSplit::resolve(&split, [("a", &float)], Path::new("t.csv")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid option `split key column`: `k` is not a column of t.csv; the columns are: a"
        );
        let e = RowSplit::resolve(&split, [("k", &float)], Path::new("t.csv")).unwrap_err();
        assert!(e.to_string().contains("`k` is Float64"), "{e}");
    }

    #[test]
    fn serde_round_trips() {
        let split = Split::eval(SplitRule::hash_key(0.25).unwrap()).with_key_column("id");
        let json = serde_json::to_string(&split).unwrap();
        assert_eq!(
            json,
            r#"{"rule":{"type":"hash_key","eval_fraction":0.25},"key_column":"id","side":"eval"}"#
        );
        assert_eq!(serde_json::from_str::<Split>(&json).unwrap(), split);
    }
}
