//! Checking one CSV record against the schema: every field parsed into a
//! [`Cell`] of its column's type, or the reason the row is quarantined. The
//! sequential [`CsvReader`](crate::CsvReader) and the parallel engine
//! (`parallel_csv`) both type records with it, which is why their output is
//! the same.

use crate::MISSING_KEY_REASON;
use crate::batch_assembler::Rejection;
use crate::column_type::{Cell, ColumnType, MissingTokens};
use crate::quarantine::type_mismatch_reason;
use crate::record_reader::CsvRecord;

/// Parses every field of `record` into `cells`, or says why the row is
/// rejected (including a null value in the split key column `split_key`).
/// On success, returns the record's text (every field is UTF-8), to read the
/// [`Cell::Text`] values with [`text_field`].
///
/// The record is checked to be UTF-8 as a whole (or by its block, see
/// [`CsvRecord::text`]); a field is then one `str::get`. Only a record that
/// is not UTF-8 is checked field by field, to name the first bad column.
pub(crate) fn check_record<'r>(
    record: &'r impl CsvRecord,
    names: &[String],
    types: &[ColumnType],
    missing: &MissingTokens,
    split_key: Option<usize>,
    cells: &mut Vec<Cell>,
) -> Result<Option<&'r str>, Rejection> {
    if let Some(size) = record.oversize() {
        return Err(Rejection::row(format!(
            "record of {size} bytes is larger than max_record_bytes"
        )));
    }
    if record.len() != names.len() {
        return Err(Rejection::row(format!(
            "expected {} fields, found {}",
            names.len(),
            record.len()
        )));
    }
    cells.clear();
    let text = record.text();
    let ranges = record.field_ranges();
    for (i, ((name, column_type), range)) in names.iter().zip(types).zip(ranges).enumerate() {
        let value = match text.and_then(|t| t.get(range.clone())) {
            Some(value) => value,
            None => {
                let bytes = record.bytes().get(range).unwrap_or(&[]);
                match std::str::from_utf8(bytes) {
                    Ok(value) => value,
                    Err(_) => {
                        return Err(Rejection::value(
                            name,
                            String::from_utf8_lossy(bytes).into_owned(),
                            format!("invalid UTF-8 in column {name}"),
                        ));
                    }
                }
            }
        };
        match column_type.parse(value, missing) {
            Some(Cell::Null) if split_key == Some(i) => {
                return Err(Rejection::value(
                    name,
                    value.to_string(),
                    MISSING_KEY_REASON.to_string(),
                ));
            }
            Some(cell) => cells.push(cell),
            None => {
                let reason = type_mismatch_reason(&column_type.data_type().to_string(), value);
                return Err(Rejection::value(name, value.to_string(), reason));
            }
        }
    }
    Ok(text)
}

/// Field `i` of a record accepted by [`check_record`], which returned
/// `text` (its fields are UTF-8; empty if not, which cannot happen).
pub(crate) fn text_field<'r>(
    record: &'r impl CsvRecord,
    text: Option<&'r str>,
    i: usize,
) -> &'r str {
    let range = record.field_range(i);
    match text.and_then(|t| t.get(range)) {
        Some(value) => value,
        None => std::str::from_utf8(record.field(i)).unwrap_or_default(),
    }
}
