//! [`QuarantineOptions`]: where the rows that do not fit go — a quarantine
//! file and how many rows are kept in memory for the report.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::IngestError;

/// Default number of quarantined rows kept in memory for reporting.
pub const DEFAULT_QUARANTINE_KEEP: usize = 1_000;

/// The file format of a quarantine file.
///
/// Parses from `csv` and `jsonl` (also `jsonlines`, `json-lines`, `ndjson`),
/// case-insensitively, for command-line flags.
///
/// ```
/// use mlrig_ingest::QuarantineFormat;
/// assert_eq!("jsonl".parse::<QuarantineFormat>()?, QuarantineFormat::JsonLines);
/// assert_eq!(QuarantineFormat::Csv.to_string(), "csv");
/// # Ok::<(), mlrig_ingest::IngestError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum QuarantineFormat {
    /// CSV with the header `file,line,column,raw_value,reason,record` (absent
    /// values are empty cells).
    Csv,
    /// One JSON object per line, the fields of [`QuarantinedRow`](crate::QuarantinedRow)
    /// (absent values are `null`).
    JsonLines,
}

impl fmt::Display for QuarantineFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuarantineFormat::Csv => "csv",
            QuarantineFormat::JsonLines => "jsonl",
        })
    }
}

impl FromStr for QuarantineFormat {
    type Err = IngestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(QuarantineFormat::Csv),
            "jsonl" | "jsonlines" | "json-lines" | "ndjson" => Ok(QuarantineFormat::JsonLines),
            _ => Err(IngestError::InvalidOption {
                option: "quarantine format".into(),
                reason: format!("expected `csv` or `jsonl`, found {s:?}"),
            }),
        }
    }
}

/// Where quarantined rows go: every reader keeps the first
/// [`keep`](QuarantineOptions::with_keep) of them in memory for its report,
/// and streams all of them to a quarantine [`file`](QuarantineOptions::with_file)
/// when one is asked for. What is quarantined does not depend on these
/// options (see the readers).
///
/// ```
/// use mlrig_ingest::{QuarantineFormat, QuarantineOptions, ReadOptions};
/// let quarantine = QuarantineOptions::default()
///     .with_file("bad_rows.jsonl", QuarantineFormat::JsonLines)
///     .with_keep(100);
/// let options = ReadOptions::default().with_quarantine(quarantine);
/// assert_eq!(options.quarantine().keep(), 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineOptions {
    file: Option<(PathBuf, QuarantineFormat)>,
    keep: usize,
}

impl Default for QuarantineOptions {
    /// No quarantine file; 1,000 quarantined rows kept in memory.
    fn default() -> Self {
        QuarantineOptions {
            file: None,
            keep: DEFAULT_QUARANTINE_KEEP,
        }
    }
}

impl QuarantineOptions {
    /// Streams every quarantined row to `path` in `format`. The file is
    /// written to a temporary file in the same directory and renamed into
    /// place by the reader's `finish` (for example
    /// [`DataReader::finish`](crate::DataReader::finish)), so it appears
    /// complete or not at all (an empty quarantine still produces a file).
    /// An input file cannot be its own quarantine file.
    ///
    /// ```
    /// use mlrig_ingest::{QuarantineFormat, QuarantineOptions};
    /// let q = QuarantineOptions::default().with_file("bad.csv", QuarantineFormat::Csv);
    /// assert_eq!(q.file().map(|(_, f)| f), Some(QuarantineFormat::Csv));
    /// ```
    #[must_use]
    pub fn with_file(mut self, path: impl Into<PathBuf>, format: QuarantineFormat) -> Self {
        self.file = Some((path.into(), format));
        self
    }

    /// How many quarantined rows are kept in memory for the readers'
    /// `quarantined()` and the report (default 1,000; the first ones are
    /// kept). Counts stay exact beyond the cap, and a quarantine file
    /// receives every row.
    ///
    /// ```
    /// let q = mlrig_ingest::QuarantineOptions::default().with_keep(10);
    /// assert_eq!(q.keep(), 10);
    /// ```
    #[must_use]
    pub fn with_keep(mut self, keep: usize) -> Self {
        self.keep = keep;
        self
    }

    /// The quarantine file and its format, if one was asked for.
    ///
    /// ```
    /// assert!(mlrig_ingest::QuarantineOptions::default().file().is_none());
    /// ```
    pub fn file(&self) -> Option<(&Path, QuarantineFormat)> {
        self.file.as_ref().map(|(p, f)| (p.as_path(), *f))
    }

    /// How many quarantined rows are kept in memory.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::QuarantineOptions::default().keep(), 1_000);
    /// ```
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// The same options without a quarantine file.
    pub(crate) fn without_file(mut self) -> Self {
        self.file = None;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantine_format_round_trips_through_strings() {
        for f in [QuarantineFormat::Csv, QuarantineFormat::JsonLines] {
            assert_eq!(f.to_string().parse::<QuarantineFormat>().unwrap(), f);
        }
        assert_eq!(
            "NDJSON".parse::<QuarantineFormat>().unwrap(),
            QuarantineFormat::JsonLines
        );
        assert!("xml".parse::<QuarantineFormat>().is_err());
    }

    #[test]
    fn without_file_keeps_the_cap() {
        let q = QuarantineOptions::default()
            .with_file("q.csv", QuarantineFormat::Csv)
            .with_keep(3)
            .without_file();
        assert_eq!((q.file(), q.keep()), (None, 3));
    }
}
