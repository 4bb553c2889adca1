//! Type inference: the narrowest type that (almost) every sampled value of a
//! column parses as, then the caller's overrides on top.
//!
//! Each non-missing sampled value is classified as a boolean, an integer, a
//! float or text ([`classify`]). With `n` such values in a column and the
//! tolerance `t` ([`InferenceOptions::with_infer_tolerance`](crate::InferenceOptions::with_infer_tolerance)):
//!
//! 1. if at most `t·n` values are neither integers nor floats, the column is
//!    `Float64` when any value is a float, else `Int64` (integers and floats
//!    mix freely: a float among integers widens, it is never an error);
//! 2. otherwise, if at most `t·n` values are not booleans, it is `Boolean`;
//! 3. otherwise it is `Utf8`, as is a column with no non-missing value.
//!
//! The values that do not fit are quarantined when their rows are read.
//! Records with the wrong number of fields, an oversized record and fields
//! that are not UTF-8 are left out of the sample (they are quarantined too).
//! With several files, the sample is the first `ceil(infer_rows / files)`
//! records of each file, so every file is represented and the sample stays
//! bounded. JSON Lines values are classified by their JSON type
//! (see the `json_lines` module).

use std::path::Path;

use crate::column_type::{ColumnType, MissingTokens, ValueKind, classify};
use crate::record_reader::{CsvRecord, RawRecord};
use crate::{IngestError, ReadOptions};

/// Counts of value kinds seen in one column of the sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ColumnProfile {
    booleans: u64,
    ints: u64,
    floats: u64,
    texts: u64,
}

impl ColumnProfile {
    pub(crate) fn observe(&mut self, kind: ValueKind) {
        match kind {
            ValueKind::Boolean => self.booleans += 1,
            ValueKind::Int => self.ints += 1,
            ValueKind::Float => self.floats += 1,
            ValueKind::Text => self.texts += 1,
        }
    }

    /// The inferred type (see the module docs).
    pub(crate) fn infer(&self, tolerance: f64) -> ColumnType {
        let n = self.booleans + self.ints + self.floats + self.texts;
        if n == 0 {
            return ColumnType::Utf8;
        }
        let allowed = tolerance * n as f64;
        let numeric = self.ints + self.floats;
        if numeric > 0 && (n - numeric) as f64 <= allowed {
            return if self.floats > 0 {
                ColumnType::Float64
            } else {
                ColumnType::Int64
            };
        }
        if self.booleans > 0 && (n - self.booleans) as f64 <= allowed {
            return ColumnType::Boolean;
        }
        ColumnType::Utf8
    }
}

/// The value kinds seen in each column of a sample, possibly gathered from
/// several files.
#[derive(Debug, Clone)]
pub(crate) struct SampleProfile {
    columns: Vec<ColumnProfile>,
    missing: MissingTokens,
}

impl SampleProfile {
    /// An empty profile of `columns` columns.
    pub(crate) fn new(columns: usize, options: &ReadOptions) -> Self {
        SampleProfile {
            columns: vec![ColumnProfile::default(); columns],
            missing: MissingTokens::new(options.inference().missing_tokens()),
        }
    }

    /// Adds one CSV record; records of the wrong width, oversized records and
    /// fields that are not UTF-8 are left out.
    pub(crate) fn observe_record(&mut self, record: &RawRecord) {
        if record.oversize().is_some() || record.len() != self.columns.len() {
            return;
        }
        for (profile, bytes) in self.columns.iter_mut().zip(record.fields()) {
            let Ok(value) = std::str::from_utf8(bytes) else {
                continue;
            };
            let trimmed = value.trim_ascii();
            if !self.missing.contains(trimmed) {
                profile.observe(classify(trimmed));
            }
        }
    }

    /// Adds one value of kind `kind` to column `column` (a new column when
    /// `column` is the current count).
    pub(crate) fn observe(&mut self, column: usize, kind: ValueKind) {
        if column >= self.columns.len() {
            self.columns.resize(column + 1, ColumnProfile::default());
        }
        self.columns[column].observe(kind);
    }

    /// Whether a text value is a missing token.
    pub(crate) fn is_missing(&self, value: &str) -> bool {
        self.missing.contains(value.trim_ascii())
    }

    /// The column types for `names`, with the overrides of `options`
    /// applied; an override of a column not in `names` is an error.
    pub(crate) fn column_types(
        &self,
        names: &[String],
        options: &ReadOptions,
        path: &Path,
    ) -> Result<Vec<ColumnType>, IngestError> {
        let mut types: Vec<ColumnType> = (0..names.len())
            .map(|i| {
                self.columns.get(i).map_or(ColumnType::Utf8, |p| {
                    p.infer(options.inference().infer_tolerance())
                })
            })
            .collect();
        for (column, data_type) in options.inference().column_types() {
            let Some(position) = names.iter().position(|n| n == column) else {
                return Err(IngestError::UnknownColumn {
                    path: path.to_path_buf(),
                    column: column.clone(),
                    available: names.join(", "),
                });
            };
            types[position] = ColumnType::from_data_type(data_type).ok_or_else(|| {
                IngestError::UnsupportedType {
                    column: column.clone(),
                    data_type: data_type.to_string(),
                }
            })?;
        }
        Ok(types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(values: &[&str]) -> ColumnProfile {
        let mut p = ColumnProfile::default();
        for v in values {
            p.observe(classify(v));
        }
        p
    }

    #[test]
    fn numbers_widen_from_int_to_float() {
        assert_eq!(profile(&["1", "2"]).infer(0.0), ColumnType::Int64);
        assert_eq!(profile(&["1", "2.5"]).infer(0.0), ColumnType::Float64);
        assert_eq!(profile(&["1", "2.5"]).infer(0.25), ColumnType::Float64);
    }

    #[test]
    fn strict_tolerance_widens_to_text() {
        assert_eq!(profile(&["1", "x"]).infer(0.0), ColumnType::Utf8);
        assert_eq!(profile(&["true", "x"]).infer(0.0), ColumnType::Utf8);
        assert_eq!(profile(&["true", "1"]).infer(0.0), ColumnType::Utf8);
    }

    #[test]
    fn a_few_stray_words_keep_the_type() {
        let p = profile(&["0.5", "not-a-number", "2.0", "3.5", "4.0"]);
        assert_eq!(p.infer(0.25), ColumnType::Float64);
        assert_eq!(p.infer(0.1), ColumnType::Utf8);
        let p = profile(&["true", "false", "true", "false", "true", "maybe"]);
        assert_eq!(p.infer(0.25), ColumnType::Boolean);
        // Half text is never a number column.
        assert_eq!(profile(&["1", "x"]).infer(0.49), ColumnType::Utf8);
    }

    #[test]
    fn empty_columns_are_text() {
        assert_eq!(ColumnProfile::default().infer(0.25), ColumnType::Utf8);
    }
}
