//! The four column types CSV ingestion produces: how a text value is
//! classified, parsed, and appended to an Arrow array.

use std::collections::HashSet;
use std::sync::Arc;

use mlrig_core::arrow_array::ArrayRef;
use mlrig_core::arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
};
use mlrig_core::arrow_schema::DataType;

use crate::decimal_text::{parse_f64, parse_i64};

/// A column type of an ingested table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Boolean,
    Int64,
    Float64,
    Utf8,
}

impl ColumnType {
    /// The column type for an Arrow type, if CSV ingestion supports it.
    pub(crate) fn from_data_type(data_type: &DataType) -> Option<Self> {
        match data_type {
            DataType::Boolean => Some(ColumnType::Boolean),
            DataType::Int64 => Some(ColumnType::Int64),
            DataType::Float64 => Some(ColumnType::Float64),
            DataType::Utf8 => Some(ColumnType::Utf8),
            _ => None,
        }
    }

    /// The Arrow type.
    pub(crate) fn data_type(self) -> DataType {
        match self {
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Utf8 => DataType::Utf8,
        }
    }

    /// Parses one field that is valid UTF-8. `None` when the value does not
    /// parse as this type; missing tokens are [`Cell::Null`] in every type.
    #[inline]
    pub(crate) fn parse(self, value: &str, missing: &MissingTokens) -> Option<Cell> {
        let trimmed = value.trim_ascii();
        if missing.contains(trimmed) {
            return Some(Cell::Null);
        }
        match self {
            ColumnType::Boolean => parse_bool(trimmed).map(Cell::Bool),
            ColumnType::Int64 => parse_i64(trimmed).map(Cell::Int),
            ColumnType::Float64 => parse_f64(trimmed).map(Cell::Float),
            ColumnType::Utf8 => Some(Cell::Text),
        }
    }
}

/// `true`/`false`, case-insensitive.
fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The narrowest type a single non-missing value fits, used by inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    Boolean,
    Int,
    Float,
    Text,
}

/// Classifies a value that is not a missing token (after trimming).
pub(crate) fn classify(trimmed: &str) -> ValueKind {
    if parse_bool(trimmed).is_some() {
        ValueKind::Boolean
    } else if parse_i64(trimmed).is_some() {
        ValueKind::Int
    } else if parse_f64(trimmed).is_some() {
        ValueKind::Float
    } else {
        ValueKind::Text
    }
}

/// The set of missing-value tokens, matched exactly against trimmed values.
///
/// This runs for every field, so it rejects by length first (numbers and
/// most words are longer than every token) and compares a few tokens
/// directly instead of hashing.
#[derive(Debug, Clone)]
pub(crate) struct MissingTokens {
    /// The tokens when there are few of them.
    few: Vec<String>,
    /// The tokens when there are many.
    many: HashSet<String>,
    longest: usize,
}

/// Up to this many tokens, a linear scan beats hashing.
const LINEAR_TOKENS: usize = 16;

impl MissingTokens {
    pub(crate) fn new(tokens: &[String]) -> Self {
        let set: HashSet<String> = tokens.iter().map(|t| t.trim_ascii().to_string()).collect();
        let longest = set.iter().map(String::len).max().unwrap_or(0);
        if set.len() <= LINEAR_TOKENS {
            let mut few: Vec<String> = set.into_iter().collect();
            few.sort();
            MissingTokens {
                few,
                many: HashSet::new(),
                longest,
            }
        } else {
            MissingTokens {
                few: Vec::new(),
                many: set,
                longest,
            }
        }
    }

    pub(crate) fn contains(&self, trimmed: &str) -> bool {
        if trimmed.len() > self.longest {
            return false;
        }
        if self.many.is_empty() {
            self.few.iter().any(|t| t == trimmed)
        } else {
            self.many.contains(trimmed)
        }
    }
}

/// One parsed field of a row that has not been appended yet. Text is not
/// copied: it is read again from the record when the row is accepted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text,
}

/// An Arrow array under construction for one column.
#[derive(Debug)]
pub(crate) enum ColumnBuilder {
    Boolean(BooleanBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Utf8(StringBuilder),
}

impl ColumnBuilder {
    pub(crate) fn new(column_type: ColumnType, rows: usize) -> Self {
        match column_type {
            ColumnType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(rows)),
            ColumnType::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(rows)),
            ColumnType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(rows)),
            ColumnType::Utf8 => ColumnBuilder::Utf8(StringBuilder::with_capacity(rows, rows * 8)),
        }
    }

    /// Appends a cell produced by [`ColumnType::parse`] for this column's
    /// type; `text` is the field, used for [`Cell::Text`].
    #[inline]
    pub(crate) fn append(&mut self, cell: Cell, text: &str) {
        match (self, cell) {
            (ColumnBuilder::Boolean(b), Cell::Bool(v)) => b.append_value(v),
            (ColumnBuilder::Int64(b), Cell::Int(v)) => b.append_value(v),
            (ColumnBuilder::Float64(b), Cell::Float(v)) => b.append_value(v),
            (ColumnBuilder::Utf8(b), Cell::Text) => b.append_value(text),
            (ColumnBuilder::Boolean(b), _) => b.append_null(),
            (ColumnBuilder::Int64(b), _) => b.append_null(),
            (ColumnBuilder::Float64(b), _) => b.append_null(),
            (ColumnBuilder::Utf8(b), _) => b.append_null(),
        }
    }

    /// Parses every value of one column of type `column_type` (this
    /// builder's type) and appends it, with the type dispatched once for
    /// the column instead of once per value: the same cells
    /// ([`ColumnType::parse`]) and the same appends as value by value.
    /// `false` (stop) at a value that is `None` (not text), does not parse,
    /// or is missing when the column is not `nullable`.
    pub(crate) fn append_column<'t>(
        &mut self,
        column_type: ColumnType,
        values: impl Iterator<Item = Option<&'t str>>,
        missing: &MissingTokens,
        nullable: bool,
    ) -> bool {
        match (column_type, self) {
            (ColumnType::Boolean, ColumnBuilder::Boolean(b)) => fill(
                values,
                nullable,
                |v| ColumnType::Boolean.parse(v, missing),
                |cell, _| match cell {
                    Cell::Bool(v) => b.append_value(v),
                    _ => b.append_null(),
                },
            ),
            (ColumnType::Int64, ColumnBuilder::Int64(b)) => fill(
                values,
                nullable,
                |v| ColumnType::Int64.parse(v, missing),
                |cell, _| match cell {
                    Cell::Int(v) => b.append_value(v),
                    _ => b.append_null(),
                },
            ),
            (ColumnType::Float64, ColumnBuilder::Float64(b)) => fill(
                values,
                nullable,
                |v| ColumnType::Float64.parse(v, missing),
                |cell, _| match cell {
                    Cell::Float(v) => b.append_value(v),
                    _ => b.append_null(),
                },
            ),
            (ColumnType::Utf8, ColumnBuilder::Utf8(b)) => fill(
                values,
                nullable,
                |v| ColumnType::Utf8.parse(v, missing),
                |cell, text| match cell {
                    Cell::Text => b.append_value(text),
                    _ => b.append_null(),
                },
            ),
            // A builder of another type: let the caller go value by value.
            _ => false,
        }
    }

    /// The array built so far; the builder starts over empty.
    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
        }
    }
}

/// The loop of [`ColumnBuilder::append_column`] for one type.
#[inline(always)]
fn fill<'t>(
    values: impl Iterator<Item = Option<&'t str>>,
    nullable: bool,
    parse: impl Fn(&str) -> Option<Cell>,
    mut append: impl FnMut(Cell, &str),
) -> bool {
    for value in values {
        let Some(value) = value else {
            return false;
        };
        match parse(value) {
            Some(Cell::Null) if !nullable => return false,
            Some(cell) => append(cell, value),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::{Array, Float64Array};

    fn missing() -> MissingTokens {
        MissingTokens::new(&crate::DEFAULT_MISSING_TOKENS.map(String::from))
    }

    #[test]
    fn values_are_classified_narrowest_first() {
        assert_eq!(classify("TRUE"), ValueKind::Boolean);
        assert_eq!(classify("false"), ValueKind::Boolean);
        assert_eq!(classify("-12"), ValueKind::Int);
        assert_eq!(classify("+7"), ValueKind::Int);
        assert_eq!(classify("1.5e3"), ValueKind::Float);
        assert_eq!(classify("inf"), ValueKind::Float);
        assert_eq!(classify("-Infinity"), ValueKind::Float);
        assert_eq!(classify("99999999999999999999"), ValueKind::Float);
        assert_eq!(classify("1,5"), ValueKind::Text);
        assert_eq!(classify("yes"), ValueKind::Text);
        assert_eq!(classify("0"), ValueKind::Int);
    }

    #[test]
    fn parsing_trims_and_maps_missing_tokens_to_null() {
        let m = missing();
        assert_eq!(ColumnType::Int64.parse(" 42 ", &m), Some(Cell::Int(42)));
        assert_eq!(ColumnType::Int64.parse("3.5", &m), None);
        assert_eq!(ColumnType::Int64.parse("NA", &m), Some(Cell::Null));
        assert_eq!(ColumnType::Float64.parse(" NaN", &m), Some(Cell::Null));
        // Only the exact token `NaN` is missing; other spellings are float NaN.
        assert!(matches!(ColumnType::Float64.parse("nan", &m), Some(Cell::Float(v)) if v.is_nan()));
        assert_eq!(
            ColumnType::Boolean.parse("True", &m),
            Some(Cell::Bool(true))
        );
        assert_eq!(ColumnType::Boolean.parse("maybe", &m), None);
        assert_eq!(ColumnType::Utf8.parse("   ", &m), Some(Cell::Null));
        assert_eq!(ColumnType::Utf8.parse(" x ", &m), Some(Cell::Text));
    }

    #[test]
    fn missing_tokens_match_exactly_with_few_or_many_tokens() {
        let few = missing();
        assert!(few.contains("") && few.contains("NA") && few.contains("?"));
        assert!(!few.contains("na") && !few.contains("NAN") && !few.contains("12345"));
        let tokens: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
        let many = MissingTokens::new(&tokens);
        assert!(many.contains("m39") && many.contains("m0"));
        assert!(!many.contains("m40") && !many.contains(""));
        let none = MissingTokens::new(&[]);
        assert!(!none.contains("") && !none.contains("x"));
        let padded = MissingTokens::new(&[" - ".to_string()]);
        assert!(padded.contains("-"));
    }

    #[test]
    fn builders_append_values_and_nulls() {
        let mut b = ColumnBuilder::new(ColumnType::Float64, 4);
        b.append(Cell::Float(1.5), "");
        b.append(Cell::Null, "");
        let array = b.finish();
        let floats = array.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(floats.len(), 2);
        assert_eq!(floats.value(0), 1.5);
        assert!(floats.is_null(1));
        assert_eq!(b.finish().len(), 0);
    }

    #[test]
    fn supported_types_round_trip() {
        for t in [
            ColumnType::Boolean,
            ColumnType::Int64,
            ColumnType::Float64,
            ColumnType::Utf8,
        ] {
            assert_eq!(ColumnType::from_data_type(&t.data_type()), Some(t));
        }
        assert_eq!(ColumnType::from_data_type(&DataType::Int32), None);
    }
}
