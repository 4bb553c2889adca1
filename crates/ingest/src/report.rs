//! The counts of an ingestion, in total and per file, and the final report.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

use crate::QuarantinedRow;

/// Running totals of one ingestion. `rows_read == rows_accepted +
/// rows_quarantined + rows_sampled_out` holds at every point, in total and
/// for each file in [`files`](IngestSummary::files); `rows_split_off ≤
/// rows_accepted`, and the batches hold `rows_accepted − rows_split_off`
/// rows.
///
/// ```
/// use mlrig_ingest::{ReadOptions, read_csv};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x,y\n1,2\n3\n")?;
/// let (_, _, report) = read_csv(&path, ReadOptions::default())?;
/// let s = &report.summary;
/// assert_eq!((s.rows_read, s.rows_accepted, s.rows_quarantined, s.batches), (2, 1, 1, 1));
/// assert_eq!(s.files[0].rows_quarantined, 1);
/// assert!(serde_json::to_string(s)?.contains("\"rows_read\":2"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IngestSummary {
    /// The file read (the first one when several are read).
    #[serde(serialize_with = "serialize_path_lossy")]
    pub file: PathBuf,
    /// Number of columns of the schema.
    pub columns: usize,
    /// Data records read (a CSV header is not counted; blank lines are not
    /// records).
    pub rows_read: u64,
    /// Rows that passed every check and went into batches (or, with a
    /// split, were split off: see `rows_split_off`).
    pub rows_accepted: u64,
    /// Rows sent to the quarantine.
    pub rows_quarantined: u64,
    /// Rows left out by [`with_sample`](crate::ReadOptions::with_sample)
    /// (neither parsed nor quarantined).
    #[serde(default)]
    pub rows_sampled_out: u64,
    /// Accepted rows of the other side of a
    /// [`with_split`](crate::ReadOptions::with_split) split, not put in a
    /// batch (a part of `rows_accepted`: the batches hold `rows_accepted −
    /// rows_split_off` rows).
    #[serde(default)]
    pub rows_split_off: u64,
    /// Batches produced.
    pub batches: u64,
    /// Quarantined rows kept in memory (at most the
    /// [`keep`](crate::QuarantineOptions::with_keep) cap).
    pub quarantined_kept: u64,
    /// The quarantine file, when one was asked for (complete once the
    /// reader's `finish` returns).
    #[serde(serialize_with = "serialize_opt_path_lossy")]
    pub quarantine_file: Option<PathBuf>,
    /// The counts of each file, in reading order (files not reached yet are
    /// not listed).
    #[serde(default)]
    pub files: Vec<FileSummary>,
}

impl IngestSummary {
    /// An all-zero summary for a table of `columns` columns read from `file`.
    pub(crate) fn new(file: &Path, columns: usize, quarantine_file: Option<PathBuf>) -> Self {
        IngestSummary {
            file: file.to_path_buf(),
            columns,
            rows_read: 0,
            rows_accepted: 0,
            rows_quarantined: 0,
            rows_sampled_out: 0,
            rows_split_off: 0,
            batches: 0,
            quarantined_kept: 0,
            quarantine_file,
            files: Vec::new(),
        }
    }
}

/// The counts of one input file; they add up like the totals.
///
/// ```
/// use mlrig_ingest::{ReadOptions, CsvReader, FileSet};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.csv"), "x\n1\n2\n")?;
/// std::fs::write(dir.path().join("b.csv"), "x\n3\noops\n")?;
/// let files = FileSet::new([dir.path().join("*.csv").to_str().unwrap()])?;
/// let report = CsvReader::open_files(&files, ReadOptions::default())?.finish()?;
/// let per_file: Vec<(u64, u64)> =
///     report.summary.files.iter().map(|f| (f.rows_accepted, f.rows_quarantined)).collect();
/// assert_eq!(per_file, [(2, 0), (1, 1)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileSummary {
    /// The file.
    #[serde(serialize_with = "serialize_path_lossy")]
    pub file: PathBuf,
    /// Data records read from it.
    pub rows_read: u64,
    /// Its rows that went into batches or were split off.
    pub rows_accepted: u64,
    /// Its rows sent to the quarantine.
    pub rows_quarantined: u64,
    /// Its rows left out by sampling.
    pub rows_sampled_out: u64,
    /// Its accepted rows split off (a part of its `rows_accepted`).
    #[serde(default)]
    pub rows_split_off: u64,
}

impl FileSummary {
    pub(crate) fn new(file: &Path) -> Self {
        FileSummary {
            file: file.to_path_buf(),
            rows_read: 0,
            rows_accepted: 0,
            rows_quarantined: 0,
            rows_sampled_out: 0,
            rows_split_off: 0,
        }
    }
}

/// The outcome of reading a whole input: the totals and the kept quarantined
/// rows.
///
/// ```
/// use mlrig_ingest::{ReadOptions, CsvReader};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x\n1\n")?;
/// let report = CsvReader::open(&path, ReadOptions::default())?.finish()?;
/// assert_eq!(report.summary.rows_accepted, 1);
/// assert!(report.quarantined.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IngestReport {
    /// Final totals.
    pub summary: IngestSummary,
    /// The first quarantined rows, up to the cap.
    pub quarantined: Vec<QuarantinedRow>,
}

fn serialize_path_lossy<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

fn serialize_opt_path_lossy<S: Serializer>(
    path: &Option<PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => s.serialize_some(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}
