//! [`RecordSource`]: the raw CSV records of a list of files, in order, with
//! the first file's inference sample served first and every later header
//! checked against the first.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::file_set::open_file;
use crate::header::header_names;
use crate::record_reader::{RawRecord, RecordReader};
use crate::{IngestError, ReadOptions};

/// The first record of a file and the reader positioned after it.
pub(crate) struct FileStart {
    pub(crate) records: RecordReader,
    pub(crate) first: Start,
}

/// What the first record of a file is.
pub(crate) enum Start {
    /// The column names of the header.
    Header(Vec<String>),
    /// The first data record (files without a header).
    Data(RawRecord),
}

/// What [`RecordSource::next`] produced.
#[derive(Debug)]
pub(crate) enum SourceItem {
    /// A record was read into the buffer.
    Record,
    /// The next records come from this file.
    NewFile(PathBuf),
    /// No record is left.
    End,
}

/// Every record of every file, in order.
pub(crate) struct RecordSource {
    files: Vec<PathBuf>,
    next_file: usize,
    records: Option<RecordReader>,
    pending: VecDeque<RawRecord>,
    names: Vec<String>,
    options: ReadOptions,
}

impl RecordSource {
    /// A source positioned in the first file (`records`), with its sampled
    /// records `pending`; `names` are the first file's columns.
    pub(crate) fn new(
        files: Vec<PathBuf>,
        records: RecordReader,
        pending: VecDeque<RawRecord>,
        names: Vec<String>,
        options: ReadOptions,
    ) -> Self {
        RecordSource {
            files,
            next_file: 1,
            records: Some(records),
            pending,
            names,
            options,
        }
    }

    /// Reads the next record into `record`, or reports a new file or the end.
    pub(crate) fn next(&mut self, record: &mut RawRecord) -> Result<SourceItem, IngestError> {
        loop {
            if let Some(sampled) = self.pending.pop_front() {
                *record = sampled;
                return Ok(SourceItem::Record);
            }
            match self.records.as_mut() {
                Some(reader) => {
                    if reader.read(record)? {
                        return Ok(SourceItem::Record);
                    }
                    self.records = None;
                }
                None => return self.open_next_file(),
            }
        }
    }

    /// Moves on to the next file, checking its header again (it may have
    /// changed since opening).
    fn open_next_file(&mut self) -> Result<SourceItem, IngestError> {
        let Some(path) = self.files.get(self.next_file).cloned() else {
            return Ok(SourceItem::End);
        };
        self.next_file += 1;
        let FileStart { records, first } = file_start(open_file(&path)?, &path, &self.options)?;
        self.records = Some(records);
        match first {
            Start::Header(names) => {
                let first_path = self.files.first().cloned().unwrap_or_default();
                check_header(&self.names, &first_path, &names, &path)?;
            }
            Start::Data(record) => self.pending.push_back(record),
        }
        Ok(SourceItem::NewFile(path))
    }
}

/// Reads the first record of a file: its header, or its first data record.
pub(crate) fn file_start(
    source: Box<dyn Read + Send>,
    path: &Path,
    options: &ReadOptions,
) -> Result<FileStart, IngestError> {
    let mut records = RecordReader::new(
        source,
        path,
        options.csv_format().delimiter(),
        options.max_record_bytes(),
    );
    let mut first = RawRecord::default();
    if !records.read(&mut first)? {
        return Err(IngestError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let first = if options.csv_format().has_header() {
        Start::Header(header_names(&first, path)?)
    } else {
        Start::Data(first.compact())
    };
    Ok(FileStart { records, first })
}

/// Checks that `names` (of `file`) equal `expected` (of `first`).
pub(crate) fn check_header(
    expected: &[String],
    first: &Path,
    names: &[String],
    file: &Path,
) -> Result<(), IngestError> {
    let width = expected.len().max(names.len());
    for i in 0..width {
        let (a, b) = (expected.get(i), names.get(i));
        if a != b {
            return Err(IngestError::HeaderMismatch {
                first: first.to_path_buf(),
                file: file.to_path_buf(),
                column: i + 1,
                expected: a.cloned(),
                found: b.cloned(),
            });
        }
    }
    Ok(())
}
