//! Feature files: a fitted feature pipeline's output written to disk by
//! [`FeatureApplyJob`](crate::FeatureApplyJob) (`mlrig features apply`) and
//! read back for training by
//! [`TrainingJob::with_features_file`](crate::TrainingJob::with_features_file)
//! (`mlrig train --features`), so the rows are not transformed twice.
//!
//! | format | extension | layouts | one row | metadata |
//! |---|---|---|---|---|
//! | CSV | `.csv` | dense | `[target,] f1, f2, …` under a header of the output names | none (cannot be trained from) |
//! | Parquet | `.parquet` | dense | one `Float64` column per output name | key `mlrig.features` (a [`FeatureFileHeader`]), `mlrig.features.end` (a [`FeatureFileSummary`]) |
//! | Parquet | `.parquet` | sparse | `indices: list<u32>` (0-based, ascending) + `values: list<f64>` | as above |
//! | svmlight / libsvm | `.svm`, `.svmlight`, `.libsvm` | sparse | `label index:value …` (1-based, ascending) | first line `# mlrig.features {header}`, last line `# mlrig.features.end {summary}` |
//!
//! With a target column, Parquet and CSV files carry it as their first
//! column (its own type, nulls kept); svmlight lines start with it as a number:
//! integers and floats as written, booleans `1`/`0`, text classes as their
//! index in order of first appearance (listed in the summary's `classes`),
//! nulls `nan`. Without a target, svmlight lines start with `0`.
//!
//! Memory is bounded whatever the row count: the writer buffers at most one
//! Parquet row group (32 MiB) or 1 MiB of text.

mod parquet_file;
mod svmlight;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use mlrig_core::arrow_array::ArrayRef;
use mlrig_core::ndarray::Array2;
use mlrig_core::sprs::CsMat;
use mlrig_core::{FeatureMatrix, Features, Fingerprint};
use mlrig_ingest::ReadOptions;
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// The format version of [`FeatureFileHeader`]; a reader refuses newer ones.
pub const FEATURE_FILE_FORMAT_VERSION: u32 = 1;

/// The Parquet key-value metadata key (and the svmlight comment tag) of the header.
pub(crate) const HEADER_KEY: &str = "mlrig.features";
/// The key (and comment tag) of the summary written when the file is complete.
pub(crate) const SUMMARY_KEY: &str = "mlrig.features.end";

/// The file format of a feature file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FeatureFileFormat {
    /// `.csv`: dense rows under a header of the output names.
    Csv,
    /// `.parquet`: dense columns, or one indices/values list pair per row.
    Parquet,
    /// `.svm`, `.svmlight`, `.libsvm`: `label index:value …` text lines.
    Svmlight,
}

impl FeatureFileFormat {
    /// The format `path`'s extension names.
    ///
    /// ```
    /// use mlrig_pipeline::FeatureFileFormat;
    /// assert_eq!(FeatureFileFormat::of_path("f.libsvm".as_ref())?, FeatureFileFormat::Svmlight);
    /// assert!(FeatureFileFormat::of_path("f.xlsx".as_ref()).is_err());
    /// # Ok::<(), mlrig_pipeline::PipelineError>(())
    /// ```
    pub fn of_path(path: &Path) -> Result<Self, PipelineError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Ok(Self::Csv),
            Some("parquet") => Ok(Self::Parquet),
            Some("svm" | "svmlight" | "libsvm") => Ok(Self::Svmlight),
            _ => Err(feature_file_error(
                path,
                "unknown feature file format; name it .parquet (dense or sparse), .svm / .svmlight / .libsvm (sparse) or .csv (dense)",
            )),
        }
    }

    /// The layout used when none is asked for: sparse when the pipeline's
    /// output is sparse and the format can hold it (always for svmlight).
    pub fn default_layout(self, pipeline_sparse: bool) -> FeatureFileLayout {
        match self {
            Self::Svmlight => FeatureFileLayout::Sparse,
            Self::Parquet if pipeline_sparse => FeatureFileLayout::Sparse,
            _ => FeatureFileLayout::Dense,
        }
    }

    /// Whether the format can store `layout`.
    pub fn holds(self, layout: FeatureFileLayout) -> bool {
        matches!(
            (self, layout),
            (Self::Parquet, _)
                | (Self::Csv, FeatureFileLayout::Dense)
                | (Self::Svmlight, FeatureFileLayout::Sparse)
        )
    }
}

/// How the feature values of a row are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureFileLayout {
    /// Every output value, one column per output name.
    Dense,
    /// The stored entries of each row: column indices and their values.
    Sparse,
}

/// What a feature file holds, written when it is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureFileHeader {
    /// [`FEATURE_FILE_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Dense or sparse.
    pub layout: FeatureFileLayout,
    /// The pipeline's output names: column `i` of the file is `feature_names[i]`.
    pub feature_names: Vec<String>,
    /// Fingerprint of the fitted pipeline (its artifact header's) that made the rows.
    pub transformer: Fingerprint,
    /// [`read_options_fingerprint`] of how the data was read.
    pub read_options: Fingerprint,
    /// The target column copied into the file, if any.
    pub target: Option<String>,
}

/// What a complete feature file holds, written when it is finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureFileSummary {
    /// Rows written (the accepted rows of the data, in order).
    pub rows: u64,
    /// Stored feature values (every value when dense).
    pub stored_values: u64,
    /// Fingerprint of the data file the rows were transformed from.
    pub data: Fingerprint,
    /// svmlight with a text target: label `i` stands for `classes[i]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
}

/// The rows of a feature file that a reader kept, with the file's metadata.
#[derive(Debug, Clone)]
pub struct FeatureRows {
    /// The file's header.
    pub header: FeatureFileHeader,
    /// The file's summary.
    pub summary: FeatureFileSummary,
    /// The kept rows (CSR when the file is sparse).
    pub features: Features,
}

/// Writes a feature file to a temporary name that [`FeatureFileWriter::finish`]
/// renames into place.
pub struct FeatureFileWriter {
    path: PathBuf,
    sink: Sink,
    rows: u64,
    stored_values: u64,
}

enum Sink {
    Table(parquet_file::TableSink),
    Svmlight(svmlight::SvmlightWriter),
}

impl FeatureFileWriter {
    /// Starts the file at `path` in `format`; `target` is the target
    /// column's name and type when the rows come with one.
    ///
    /// Errors: `format` cannot hold `header.layout`; the target's name is
    /// one of the file's other columns; the file cannot be created.
    pub fn create(
        path: &Path,
        format: FeatureFileFormat,
        header: FeatureFileHeader,
        target: Option<&mlrig_core::arrow_schema::Field>,
    ) -> Result<Self, PipelineError> {
        if !format.holds(header.layout) {
            return Err(feature_file_error(
                path,
                &format!(
                    "a {format:?} file cannot hold the {:?} layout; use .parquet (either layout), .svm (sparse) or .csv (dense)",
                    header.layout
                )
                .to_lowercase(),
            ));
        }
        let sink = match format {
            FeatureFileFormat::Svmlight => {
                Sink::Svmlight(svmlight::SvmlightWriter::create(path, &header)?)
            }
            FeatureFileFormat::Csv | FeatureFileFormat::Parquet => Sink::Table(
                parquet_file::TableSink::create(path, format, &header, target)?,
            ),
        };
        Ok(Self {
            path: path.to_path_buf(),
            sink,
            rows: 0,
            stored_values: 0,
        })
    }

    /// Appends the rows of `features` (with their target values, when the
    /// file was created with a target).
    pub fn write(
        &mut self,
        features: &Features,
        target: Option<&ArrayRef>,
    ) -> Result<(), PipelineError> {
        if let Some(t) = target
            && t.len() != features.nrows()
        {
            return Err(feature_file_error(
                &self.path,
                &format!("{} target values for {} rows", t.len(), features.nrows()),
            ));
        }
        self.stored_values += match &mut self.sink {
            Sink::Table(sink) => sink.write(features, target)?,
            Sink::Svmlight(writer) => writer.write(features, target)?,
        };
        self.rows += features.nrows() as u64;
        Ok(())
    }

    /// Writes the summary (rows, stored values, `data`'s fingerprint),
    /// finishes the file and renames it into place.
    pub fn finish(self, data: Fingerprint) -> Result<FeatureFileSummary, PipelineError> {
        let summary = FeatureFileSummary {
            rows: self.rows,
            stored_values: self.stored_values,
            data,
            classes: Vec::new(),
        };
        match self.sink {
            Sink::Table(sink) => sink.finish(summary),
            Sink::Svmlight(writer) => writer.finish(summary),
        }
    }
}

/// Reads a Parquet or svmlight feature file written by [`FeatureFileWriter`],
/// keeping the rows whose 0-based row number `keep` accepts.
///
/// Errors (naming the file, and the line for svmlight): another format
/// (CSV has no metadata), no or an unreadable header or summary (not written
/// by mlrig, or not finished), a newer format version, a malformed row, an
/// index out of range or out of order, a row count that disagrees with the
/// summary.
pub fn read_feature_file(
    path: &Path,
    keep: &dyn Fn(u64) -> bool,
) -> Result<FeatureRows, PipelineError> {
    match FeatureFileFormat::of_path(path)? {
        FeatureFileFormat::Parquet => parquet_file::read(path, keep),
        FeatureFileFormat::Svmlight => svmlight::read(path, keep),
        FeatureFileFormat::Csv => Err(feature_file_error(
            path,
            "a CSV feature file has no metadata to check it against the data and the pipeline; write the features as .parquet or .svm with `mlrig features apply`",
        )),
    }
}

/// A fingerprint of what decides the values read from a data file: the CSV
/// format, type inference (column types, missing tokens, rows inspected),
/// sampling, the split and the record limit — not batch size, threads or
/// where the quarantine goes. Equal options give equal fingerprints within
/// one mlrig release.
pub fn read_options_fingerprint(read: &ReadOptions) -> Fingerprint {
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{}",
        read.csv_format(),
        read.inference(),
        read.sample(),
        read.split(),
        read.max_record_bytes()
    );
    Fingerprint::of_bytes(text.as_bytes())
}

/// The error for a header or summary that is not in the file.
pub(crate) fn missing_metadata(path: &Path, key: &str) -> PipelineError {
    feature_file_error(
        path,
        &format!(
            "no `{key}` metadata: not a feature file written by `mlrig features apply`, or its writing did not finish"
        ),
    )
}

/// Parses a header or summary stored as JSON, refusing newer format versions.
pub(crate) fn parse_metadata<T: serde::de::DeserializeOwned>(
    path: &Path,
    key: &str,
    text: &str,
) -> Result<T, PipelineError> {
    if key == HEADER_KEY {
        let version = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("format_version").and_then(serde_json::Value::as_u64));
        if let Some(v) = version.filter(|&v| v > u64::from(FEATURE_FILE_FORMAT_VERSION)) {
            return Err(feature_file_error(
                path,
                &format!(
                    "feature file format_version {v} was written by a newer mlrig; this build reads versions up to {FEATURE_FILE_FORMAT_VERSION}: upgrade mlrig, or write the file again with this one"
                ),
            ));
        }
    }
    serde_json::from_str(text)
        .map_err(|e| feature_file_error(path, &format!("unreadable `{key}` metadata: {e}")))
}

/// Checks the rows read against the summary and the header's width.
pub(crate) fn check_rows_read(
    path: &Path,
    rows_read: u64,
    summary: &FeatureFileSummary,
) -> Result<(), PipelineError> {
    if rows_read != summary.rows {
        return Err(feature_file_error(
            path,
            &format!(
                "{rows_read} rows read but the summary says {}; the file was changed after it was written",
                summary.rows
            ),
        ));
    }
    Ok(())
}

/// The rows as CSR, converted only when they are dense.
pub(crate) fn as_csr(features: &Features) -> Cow<'_, CsMat<f64>> {
    match features.matrix() {
        FeatureMatrix::Sparse(m) => Cow::Borrowed(m),
        FeatureMatrix::Dense(_) => Cow::Owned(features.to_sparse()),
    }
}

/// The rows as a dense matrix, converted only when they are CSR.
pub(crate) fn as_dense(features: &Features) -> Cow<'_, Array2<f64>> {
    match features.matrix() {
        FeatureMatrix::Dense(m) => Cow::Borrowed(m),
        FeatureMatrix::Sparse(_) => Cow::Owned(features.to_dense()),
    }
}

pub(crate) fn feature_file_error(path: &Path, reason: &str) -> PipelineError {
    PipelineError::FeatureFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests;
