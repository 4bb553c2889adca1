//! [`ReadOptions`]: everything a reader is opened with — batching, limits,
//! row selection (sampling, a train/eval split), parallelism, and the three
//! separate concerns it composes: the [`CsvFormat`], the
//! [`InferenceOptions`] and the [`QuarantineOptions`].

use crate::{CsvFormat, InferenceOptions, IngestError, QuarantineOptions, Split};

/// Default number of accepted rows per [`RecordBatch`](crate::RecordBatch).
pub const DEFAULT_BATCH_SIZE: usize = 65_536;
/// Default largest record size (field bytes plus one per delimiter), 64 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

/// How to read data (any format): the batch size, the record size limit,
/// sampling, a train/eval split and the number of parsing threads, plus
/// the [`CsvFormat`] (CSV dialect), the [`InferenceOptions`] (how values get
/// their types) and the [`QuarantineOptions`] (where bad rows go).
///
/// Build it from [`ReadOptions::default`] with the `with_*` methods; each
/// part has its own builder. Values are checked when a reader opens
/// ([`DataReader::open`](crate::DataReader::open) and the format readers),
/// which returns [`IngestError::InvalidOption`] for an out-of-range value.
/// Options a format does not use are ignored (the delimiter for JSON Lines,
/// say).
///
/// ```
/// use mlrig_ingest::{
///     CsvFormat, DataType, InferenceOptions, QuarantineFormat, QuarantineOptions, ReadOptions,
/// };
/// let options = ReadOptions::default()
///     .with_batch_size(1024)
///     .with_csv_format(CsvFormat::default().with_delimiter(b';').with_header(false))
///     .with_inference(
///         InferenceOptions::default()
///             .with_infer_rows(500)
///             .with_column_type("column_2", DataType::Utf8),
///     )
///     .with_quarantine(
///         QuarantineOptions::default().with_file("bad_rows.jsonl", QuarantineFormat::JsonLines),
///     );
/// assert_eq!(options.csv_format().delimiter(), b';');
/// assert_eq!(options.batch_size(), 1024);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    csv_format: CsvFormat,
    inference: InferenceOptions,
    quarantine: QuarantineOptions,
    batch_size: usize,
    max_record_bytes: usize,
    sample: Option<(f64, u64)>,
    split: Option<Split>,
    threads: usize,
}

impl Default for ReadOptions {
    /// 65,536-row batches, records up to 64 MiB, every row, one thread, and
    /// the defaults of [`CsvFormat`], [`InferenceOptions`] and
    /// [`QuarantineOptions`].
    fn default() -> Self {
        ReadOptions {
            csv_format: CsvFormat::default(),
            inference: InferenceOptions::default(),
            quarantine: QuarantineOptions::default(),
            batch_size: DEFAULT_BATCH_SIZE,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            sample: None,
            split: None,
            threads: 1,
        }
    }
}

impl ReadOptions {
    /// The CSV dialect (see [`CsvFormat`]).
    ///
    /// ```
    /// use mlrig_ingest::{CsvFormat, ReadOptions};
    /// let o = ReadOptions::default().with_csv_format(CsvFormat::default().with_delimiter(b'\t'));
    /// assert_eq!(o.csv_format().delimiter(), b'\t');
    /// ```
    #[must_use]
    pub fn with_csv_format(mut self, csv_format: CsvFormat) -> Self {
        self.csv_format = csv_format;
        self
    }

    /// How values get their types (see [`InferenceOptions`]).
    ///
    /// ```
    /// use mlrig_ingest::{InferenceOptions, ReadOptions};
    /// let o = ReadOptions::default().with_inference(InferenceOptions::default().with_infer_rows(10));
    /// assert_eq!(o.inference().infer_rows(), 10);
    /// ```
    #[must_use]
    pub fn with_inference(mut self, inference: InferenceOptions) -> Self {
        self.inference = inference;
        self
    }

    /// Where quarantined rows go (see [`QuarantineOptions`]).
    ///
    /// ```
    /// use mlrig_ingest::{QuarantineOptions, ReadOptions};
    /// let o = ReadOptions::default().with_quarantine(QuarantineOptions::default().with_keep(5));
    /// assert_eq!(o.quarantine().keep(), 5);
    /// ```
    #[must_use]
    pub fn with_quarantine(mut self, quarantine: QuarantineOptions) -> Self {
        self.quarantine = quarantine;
        self
    }

    /// The number of accepted rows per batch (default 65,536; must be ≥ 1).
    /// The last batch may be smaller; quarantined rows do not count.
    ///
    /// ```
    /// let o = mlrig_ingest::ReadOptions::default().with_batch_size(100);
    /// assert_eq!(o.batch_size(), 100);
    /// ```
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// The largest record held in memory (a CSV record, counted as its
    /// field bytes plus one byte per field, or a JSON Lines line; default
    /// 64 MiB; must be ≥ 1). A larger record (for example everything after
    /// an unbalanced quote) is quarantined whole without being buffered,
    /// which bounds memory on hostile input.
    ///
    /// ```
    /// let o = mlrig_ingest::ReadOptions::default().with_max_record_bytes(1 << 20);
    /// assert_eq!(o.max_record_bytes(), 1 << 20);
    /// ```
    #[must_use]
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Keeps a deterministic sample of about `fraction` of the data rows
    /// (`0.0..=1.0`), chosen by hashing each row's position with `seed`.
    ///
    /// Row `i` (0-based, over every data row of the input in reading order,
    /// across all files) is kept when `(h >> 11) · 2⁻⁵³ < fraction`, where
    /// `h = splitmix64(seed ^ i.wrapping_mul(0x9E3779B97F4A7C15))` and
    /// `splitmix64` is the SplitMix64 output function (`z ^= z >> 30;
    /// z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB;
    /// z ^= z >> 31`, wrapping). A smaller fraction with the same seed
    /// selects a subset of a larger one.
    ///
    /// Rows left out are neither parsed nor quarantined; they are counted in
    /// `rows_sampled_out`, so `rows_read == rows_accepted + rows_quarantined +
    /// rows_sampled_out`. Type inference still uses the unsampled records.
    /// The same seed and fraction select the same rows whatever the batch
    /// size, the number of threads or the machine.
    ///
    /// ```
    /// let o = mlrig_ingest::ReadOptions::default().with_sample(0.1, 42);
    /// assert_eq!(o.sample(), Some((0.1, 42)));
    /// ```
    #[must_use]
    pub fn with_sample(mut self, fraction: f64, seed: u64) -> Self {
        self.sample = Some((fraction, seed));
        self
    }

    /// Keeps one side of a deterministic train/eval split (every reader:
    /// CSV on any number of threads, JSON Lines, Parquet), so training and
    /// evaluation data can be ingested separately without a second copy.
    ///
    /// Rows are numbered over the *accepted* rows (after sampling and the
    /// quarantine), 0-based, across all files in reading order, whatever the
    /// batch size or number of threads; with a key column
    /// ([`Split::with_key_column`], [`SplitRule::HashKey`](crate::SplitRule::HashKey))
    /// a row's side depends only on its key, so not on file or row order. A
    /// row without a key (null, empty, absent, a missing token) is
    /// quarantined with [`MISSING_KEY_REASON`](crate::MISSING_KEY_REASON).
    ///
    /// Rows of the other side are accepted but not put in a batch; they are
    /// counted in `rows_split_off` (a part of `rows_accepted`), so
    /// `rows_read == rows_accepted + rows_quarantined + rows_sampled_out`
    /// still holds and the batches hold `rows_accepted − rows_split_off`
    /// rows. An invalid rule, a key column with the modulo rule, or a key
    /// column that is missing or not `Int64`/`Utf8` is an
    /// [`IngestError::InvalidOption`] when the reader opens.
    ///
    /// ```
    /// use mlrig_ingest::{ReadOptions, Split, SplitRule};
    /// let split = Split::train(SplitRule::hash_key(0.2)?).with_key_column("user_id");
    /// let o = ReadOptions::default().with_split(split.clone());
    /// assert_eq!(o.split(), Some(&split));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_split(mut self, split: Split) -> Self {
        self.split = Some(split);
        self
    }

    /// The number of threads that parse CSV values (default 1: everything
    /// on the caller's thread; 0: one per available core).
    ///
    /// Otherwise [`CsvReader`](crate::CsvReader) reads and splits records
    /// (gunzip, csv-core) on one dedicated thread, and chunks of
    /// `min(batch_size, 8192)` records are checked and built into Arrow
    /// arrays in parallel on a pool of `threads` threads owned by the
    /// reader; the caller's thread merges them in order. At most one batch's
    /// worth of chunks plus `2 × threads` are dispatched and not yet merged,
    /// so memory stays bounded. The batches, the quarantine and the counts
    /// are identical to reading on one thread. JSON Lines and Parquet ignore
    /// this option.
    ///
    /// ```
    /// let o = mlrig_ingest::ReadOptions::default().with_threads(4);
    /// assert_eq!(o.threads(), 4);
    /// ```
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// The CSV dialect.
    ///
    /// ```
    /// assert!(mlrig_ingest::ReadOptions::default().csv_format().has_header());
    /// ```
    pub fn csv_format(&self) -> &CsvFormat {
        &self.csv_format
    }

    /// The type inference options.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::ReadOptions::default().inference().infer_rows(), 10_000);
    /// ```
    pub fn inference(&self) -> &InferenceOptions {
        &self.inference
    }

    /// The quarantine options.
    ///
    /// ```
    /// assert!(mlrig_ingest::ReadOptions::default().quarantine().file().is_none());
    /// ```
    pub fn quarantine(&self) -> &QuarantineOptions {
        &self.quarantine
    }

    /// Accepted rows per batch.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::ReadOptions::default().batch_size(), 65_536);
    /// ```
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The largest record size held in memory.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::ReadOptions::default().max_record_bytes(), 64 << 20);
    /// ```
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// The sampling fraction and seed, if rows are sampled.
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::ReadOptions::default().sample(), None);
    /// ```
    pub fn sample(&self) -> Option<(f64, u64)> {
        self.sample
    }

    /// The split applied while reading, if any (see [`ReadOptions::with_split`]).
    ///
    /// ```
    /// assert!(mlrig_ingest::ReadOptions::default().split().is_none());
    /// ```
    pub fn split(&self) -> Option<&Split> {
        self.split.as_ref()
    }

    /// The number of CSV parsing threads (see [`ReadOptions::with_threads`]).
    ///
    /// ```
    /// assert_eq!(mlrig_ingest::ReadOptions::default().threads(), 1);
    /// ```
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The same options without a quarantine file.
    pub(crate) fn without_quarantine_file(mut self) -> Self {
        self.quarantine = self.quarantine.without_file();
        self
    }

    /// Checks every value, returning the first invalid one.
    pub(crate) fn validate(&self) -> Result<(), IngestError> {
        let invalid = |option: &str, reason: String| {
            Err(IngestError::InvalidOption {
                option: option.into(),
                reason,
            })
        };
        self.csv_format.validate()?;
        if self.batch_size == 0 {
            return invalid("batch_size", "must be at least 1".into());
        }
        if let Some((fraction, _)) = self.sample
            && !(0.0..=1.0).contains(&fraction)
        {
            return invalid(
                "sample",
                format!("the fraction must be in 0.0..=1.0, found {fraction}"),
            );
        }
        if self.max_record_bytes == 0 {
            return invalid("max_record_bytes", "must be at least 1".into());
        }
        if let Some(split) = &self.split {
            split.validate()?;
        }
        self.inference.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let o = ReadOptions::default();
        assert!(o.validate().is_ok());
        assert_eq!(o.batch_size(), 65_536);
        assert_eq!(o.threads(), 1);
        assert_eq!(o.inference(), &InferenceOptions::default());
    }

    #[test]
    fn invalid_values_are_rejected_with_their_name() {
        let cases = [
            (
                ReadOptions::default().with_csv_format(CsvFormat::default().with_delimiter(b'"')),
                "delimiter",
            ),
            (ReadOptions::default().with_batch_size(0), "batch_size"),
            (
                ReadOptions::default()
                    .with_inference(InferenceOptions::default().with_infer_tolerance(0.5)),
                "infer_tolerance",
            ),
            (
                ReadOptions::default().with_max_record_bytes(0),
                "max_record_bytes",
            ),
            (ReadOptions::default().with_sample(1.5, 0), "sample"),
            (ReadOptions::default().with_sample(f64::NAN, 0), "sample"),
            (ReadOptions::default().with_sample(-0.1, 0), "sample"),
            (
                ReadOptions::default().with_split(Split::train(crate::SplitRule::HashKey {
                    eval_fraction: -0.5,
                })),
                "split",
            ),
        ];
        for (options, name) in cases {
            match options.validate() {
                Err(IngestError::InvalidOption { option, .. }) => assert_eq!(option, name),
                other => panic!("expected InvalidOption for {name}, got {other:?}"),
            }
        }
    }

    #[test]
    fn without_quarantine_file_changes_nothing_else() {
        let with = ReadOptions::default().with_batch_size(3).with_quarantine(
            QuarantineOptions::default()
                .with_file("q.csv", crate::QuarantineFormat::Csv)
                .with_keep(2),
        );
        let without = with.clone().without_quarantine_file();
        assert!(without.quarantine().file().is_none());
        assert_eq!(without.quarantine().keep(), 2);
        assert_eq!(without.batch_size(), 3);
    }
}
