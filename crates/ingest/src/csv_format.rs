//! [`CsvFormat`]: the CSV dialect, how the bytes of a file are cut into
//! records and fields.

use crate::IngestError;

/// The CSV dialect: the field delimiter and whether the first record is a
/// header (the shape of arrow-csv's `Format`). Quoting follows RFC 4180
/// (`"` quotes, `""` escapes a quote); `\n` and `\r\n` end records.
///
/// Only CSV reads it; JSON Lines and Parquet ignore it. Values are checked
/// when a reader opens ([`IngestError::InvalidOption`] for a bad one).
///
/// ```
/// use mlrig_ingest::{CsvFormat, ReadOptions};
/// let tsv = CsvFormat::default().with_delimiter(b'\t').with_header(false);
/// let options = ReadOptions::default().with_csv_format(tsv.clone());
/// assert_eq!(options.csv_format(), &tsv);
/// assert_eq!((tsv.delimiter(), tsv.has_header()), (b'\t', false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CsvFormat {
    delimiter: u8,
    has_header: bool,
}

impl Default for CsvFormat {
    /// Comma-delimited, with a header.
    fn default() -> Self {
        CsvFormat {
            delimiter: b',',
            has_header: true,
        }
    }
}

impl CsvFormat {
    /// The field delimiter (default `b','`). `"`, `\r` and `\n` are rejected
    /// when the reader opens.
    ///
    /// ```
    /// let f = mlrig_ingest::CsvFormat::default().with_delimiter(b';');
    /// assert_eq!(f.delimiter(), b';');
    /// ```
    #[must_use]
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Whether the first record is a header (default `true`). Without a
    /// header, columns are named `column_1` … `column_n`, where `n` is the
    /// number of fields of the first record.
    ///
    /// ```
    /// let f = mlrig_ingest::CsvFormat::default().with_header(false);
    /// assert!(!f.has_header());
    /// ```
    #[must_use]
    pub fn with_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// The field delimiter.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::CsvFormat::default().delimiter(), b',');
    /// ```
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Whether the first record is a header.
    ///
    /// ```
    /// assert!(mlrig_ingest::CsvFormat::default().has_header());
    /// ```
    pub fn has_header(&self) -> bool {
        self.has_header
    }

    /// Checks the delimiter.
    pub(crate) fn validate(&self) -> Result<(), IngestError> {
        if matches!(self.delimiter, b'"' | b'\r' | b'\n') {
            return Err(IngestError::InvalidOption {
                option: "delimiter".into(),
                reason: format!(
                    "{:?} cannot be a delimiter (it is the quote or a line terminator)",
                    char::from(self.delimiter)
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_and_line_terminators_are_not_delimiters() {
        assert!(CsvFormat::default().validate().is_ok());
        assert!(
            CsvFormat::default()
                .with_delimiter(b'\t')
                .validate()
                .is_ok()
        );
        for bad in [b'"', b'\r', b'\n'] {
            match CsvFormat::default().with_delimiter(bad).validate() {
                Err(IngestError::InvalidOption { option, .. }) => assert_eq!(option, "delimiter"),
                other => panic!("expected InvalidOption for {bad}, got {other:?}"),
            }
        }
    }
}
