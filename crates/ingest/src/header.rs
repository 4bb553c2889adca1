//! Column names: from the header record, or generated when there is none.

use std::collections::HashMap;
use std::path::Path;

use crate::IngestError;
use crate::record_reader::{CsvRecord, RawRecord};

/// The names `column_1` … `column_n`, used when a file has no header.
pub(crate) fn generated_names(n: usize) -> Vec<String> {
    (1..=n).map(generated_name).collect()
}

fn generated_name(position: usize) -> String {
    format!("column_{position}")
}

/// The column names in a header record.
///
/// Names are kept exactly as written (no trimming); an empty name becomes
/// `column_<position>` (pandas writes an empty first header cell for its
/// index). The header must be valid UTF-8 and names must be unique.
pub(crate) fn header_names(header: &RawRecord, path: &Path) -> Result<Vec<String>, IngestError> {
    if header.oversize().is_some() {
        return Err(IngestError::InvalidHeader {
            path: path.to_path_buf(),
            column: 1,
            reason: "the header is larger than max_record_bytes".into(),
        });
    }
    let mut names = Vec::with_capacity(header.len());
    let mut positions: HashMap<String, usize> = HashMap::with_capacity(header.len());
    for (i, bytes) in header.fields().enumerate() {
        let position = i + 1;
        let name = match std::str::from_utf8(bytes) {
            Ok("") => generated_name(position),
            Ok(name) => name.to_string(),
            Err(e) => {
                return Err(IngestError::InvalidHeader {
                    path: path.to_path_buf(),
                    column: position,
                    reason: format!(
                        "invalid UTF-8 after {} valid bytes ({:?})",
                        e.valid_up_to(),
                        String::from_utf8_lossy(bytes)
                    ),
                });
            }
        };
        if let Some(&first) = positions.get(&name) {
            return Err(IngestError::DuplicateColumn {
                path: path.to_path_buf(),
                name,
                first,
                second: position,
            });
        }
        positions.insert(name.clone(), position);
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_reader::RecordReader;

    fn header(bytes: &[u8]) -> RawRecord {
        let mut reader = RecordReader::new(
            Box::new(std::io::Cursor::new(bytes.to_vec())),
            Path::new("h.csv"),
            b',',
            1 << 20,
        );
        let mut record = RawRecord::default();
        assert!(reader.read(&mut record).unwrap());
        record
    }

    #[test]
    fn names_are_kept_and_empty_ones_generated() {
        let names = header_names(&header(b",age, income\n"), Path::new("h.csv")).unwrap();
        assert_eq!(names, ["column_1", "age", " income"]);
        assert_eq!(generated_names(2), ["column_1", "column_2"]);
    }

    #[test]
    fn duplicates_name_both_positions() {
        let e = header_names(&header(b"a,b,c,b\n"), Path::new("h.csv")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "h.csv: line 1: duplicate column name `b` at positions 2 and 4"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_column() {
        let e = header_names(&header(b"a,b\xff\n"), Path::new("h.csv")).unwrap_err();
        assert!(
            matches!(e, IngestError::InvalidHeader { column: 2, .. }),
            "{e}"
        );
    }
}
